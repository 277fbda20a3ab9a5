/*
 * test_lg_req.c - the loadgen's wire behaviour against a scripted fake
 * transport, on a clock the test moves: several buyers' requests share one
 * datagram, each with its own client id; a resend after a timeout and a
 * retry after busy keep the request id; a mutation is not resent past the
 * retry horizon (its outcome is counted unknown) and the next attempt is a
 * new request id; a reply is matched by (client id, request id), a stray
 * one is not used.
 *
 * Usage: test_lg_req DOCS_EXAMPLES_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_types.h"
#include "tools/loadgen/lg_run.h"
#include "tools/loadgen/lg_scenario.h"

#define CHECK(c)                                                                         \
	do {                                                                             \
		if (!(c)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

/* ---- the fake transport: records what is sent, hands out what the test queues ---- */
#define SENT_MAX 256
static struct lg_dgram sent[SENT_MAX], inbox[SENT_MAX];
static unsigned n_sent, n_inbox;

/* Record the datagrams; take them all. */
static unsigned fake_send(struct lg_transport *t, const struct lg_dgram *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		CHECK(n_sent < SENT_MAX);
		sent[n_sent++] = d[i];
	}
	t->stats.sent += n;
	return n;
}

/* Hand out the queued replies, oldest first. */
static unsigned fake_recv(struct lg_transport *t, struct lg_dgram *d, unsigned max)
{
	unsigned k = n_inbox < max ? n_inbox : max;
	memcpy(d, inbox, k * sizeof(*d));
	memmove(inbox, inbox + k, (n_inbox - k) * sizeof(*d));
	n_inbox -= k;
	t->stats.received += k;
	return k;
}

/* Nothing to wait for: the test moves the clock. */
static void fake_wait(struct lg_transport *t, unsigned us)
{
	(void)t;
	(void)us;
}

/* Nothing to release. */
static void fake_close(struct lg_transport *t)
{
	(void)t;
}

static struct lg_transport fake = {"fake", fake_send, fake_recv, fake_wait, fake_close, {0}};

/* One request as sent. */
struct sent_msg {
	uint8_t op;
	uint64_t cid, rid;
	uint8_t n;          /* holds: n */
	uint32_t seats[16]; /* HOLD_SEATS: the seats */
	uint64_t hold_id;   /* CONFIRM */
};

/* Decode every message sent since the last call into out; returns the
 * count. Checks each datagram holds whole, valid requests. */
static unsigned take_sent(struct sent_msg *out, unsigned max, unsigned *dgrams)
{
	unsigned k = 0;
	*dgrams = n_sent;
	for (unsigned i = 0; i < n_sent; i++) {
		size_t off = 0;
		while (off < sent[i].len) {
			struct proto_msg m;
			int hdr_ok;
			CHECK(proto_decode_msg(sent[i].data, sent[i].len, &off, &m, &hdr_ok) == PROTO_OK);
			CHECK(k < max);
			out[k] = (struct sent_msg){m.hdr.opcode, m.hdr.client_id, m.hdr.request_id, 0, {0}, 0};
			if (m.hdr.opcode >= PROTO_OP_HOLD_SEATS && m.hdr.opcode <= PROTO_OP_HOLD_GA) {
				out[k].n = m.u.hold.h.n;
				memcpy(out[k].seats, m.u.hold.seats, sizeof(out[k].seats));
			}
			if (m.hdr.opcode == PROTO_OP_CONFIRM)
				out[k].hold_id = m.u.confirm.hold_id;
			k++;
		}
	}
	n_sent = 0;
	return k;
}

/* Queue a reply datagram: a head-only status (busy with retry_ms) ... */
static void reply_status(uint8_t op, uint64_t cid, uint64_t rid, uint8_t status, uint32_t retry_ms)
{
	struct proto_buf b;
	proto_buf_init(&b, inbox[n_inbox].data, LG_DGRAM_MAX);
	long h = proto_begin_msg(&b, (uint8_t)(op | PROTO_OP_REPLY), 0, cid, rid);
	struct proto_reply_head head = {.status = status, .retry_after_ms = retry_ms};
	CHECK(h >= 0 && proto_put(&b, &head, sizeof(head)) == 0 && proto_end_msg(&b, h) == 0);
	inbox[n_inbox++].len = (uint16_t)b.len;
}

/* ... or a queue reply (ok) in state st. */
static void reply_queue(uint64_t cid, uint64_t rid, uint32_t event, uint8_t st)
{
	struct proto_buf b;
	proto_buf_init(&b, inbox[n_inbox].data, LG_DGRAM_MAX);
	struct proto_hdr rq = {.opcode = PROTO_OP_QUEUE_JOIN, .client_id = cid, .request_id = rid};
	struct proto_queue_reply q = {.event_id = event, .state = st};
	CHECK(proto_put_queue_reply(&b, &rq, &q) == 0);
	inbox[n_inbox++].len = (uint16_t)b.len;
}

/* ... or a hold reply (status st) for op with items and alternatives. */
static void reply_hold(uint8_t op, uint64_t cid, uint64_t rid, uint8_t st, uint64_t hold_id, uint64_t order_id,
		       const uint32_t *items, uint8_t n_items, const uint32_t *alt, uint8_t n_alt)
{
	struct proto_buf b;
	proto_buf_init(&b, inbox[n_inbox].data, LG_DGRAM_MAX);
	long h = proto_begin_msg(&b, (uint8_t)(op | PROTO_OP_REPLY), 0, cid, rid);
	struct proto_reply_head head = {.status = st};
	struct proto_hold_reply hr = {.event_id = 909, .part_id = 1, .hold_id = hold_id, .order_id = order_id,
				      .expiry_ms = UINT64_C(4000000000000), .n_items = n_items, .n_alt = n_alt};
	CHECK(h >= 0 && proto_put(&b, &head, sizeof(head)) == 0 && proto_put(&b, &hr, sizeof(hr)) == 0);
	CHECK(proto_put(&b, items, 4u * n_items) == 0 && proto_put(&b, alt, 4u * n_alt) == 0);
	CHECK(proto_end_msg(&b, h) == 0);
	inbox[n_inbox++].len = (uint16_t)b.len;
}

static struct lg_run run;

/* Move the clock to t_ms after the start and take one loop turn. */
static void at(uint64_t t_ms)
{
	run.now_us = run.t0_us + t_ms * 1000u;
	run.now_ms = run.now_us / 1000u;
	lg_run_step(&run);
}

/* Run turns until a request is sent (at most 200 ms on the test clock);
 * its decoded message. */
static struct sent_msg next_sent(uint64_t *t)
{
	struct sent_msg m[8];
	unsigned dg, k = 0;
	for (uint64_t end = *t + 200; k == 0 && *t < end; (*t)++) {
		at(*t);
		k = take_sent(m, 8, &dg);
	}
	CHECK(k == 1);
	return m[0];
}

/* Named seats (theatre): taken -> the offered alternatives (a new request
 * id), limit_reached -> one fewer, ok -> confirm of that hold -> the order
 * acknowledged and recorded as answered. */
static void test_refusals(const char *dir)
{
	char path[512], err[256];
	struct lg_plan plan;
	snprintf(path, sizeof(path), "%s/theatre.json", dir);
	CHECK(lg_plan_load(&plan, path, 0, err, sizeof(err)) == 0);
	struct lg_config cfg = {
		.sc = *lg_scenario_find("theatre"), .inflight = 8, .time_scale = 0.001, .seconds = 60,
		.timeout_ms = 250, .timeout_max_ms = 1000, .horizon_ms = 1800, .attempts_max = 10,
		.exhausted_ms = 5000, .client_base = 7000, .seed = 3, .transport = "fake", .qty_fixed = 2,
	};
	cfg.sc.buyers = 1;
	cfg.sc.codes = 0;
	cfg.sc.abandon_permille = 0;
	n_sent = n_inbox = 0;
	CHECK(lg_run_init(&run, &cfg, &plan, &fake, err, sizeof(err)) == 0);
	uint64_t t = 0;
	struct sent_msg m = next_sent(&t);
	CHECK(m.op == PROTO_OP_QUEUE_JOIN && m.cid == 7001 && m.rid == 1);
	reply_queue(7001, 1, 909, PROTO_QS_NO_QUEUE);
	m = next_sent(&t);
	CHECK(m.op == PROTO_OP_HOLD_SEATS && m.rid == 2 && m.n == 2 && m.seats[1] == m.seats[0] + 1);
	const uint32_t alt[2] = {100, 101};
	reply_hold(PROTO_OP_HOLD_SEATS, 7001, 2, DP_S_TAKEN, 0, 0, NULL, 0, alt, 2);
	m = next_sent(&t);
	CHECK(m.op == PROTO_OP_HOLD_SEATS && m.rid == 3 && m.n == 2 && m.seats[0] == 100 && m.seats[1] == 101);
	reply_status(PROTO_OP_HOLD_SEATS, 7001, 3, DP_S_LIMIT, 0); /* head only is accepted too */
	m = next_sent(&t);
	CHECK(m.op == PROTO_OP_HOLD_SEATS && m.rid == 4 && m.n == 1);
	const uint32_t got[1] = {m.seats[0]};
	reply_hold(PROTO_OP_HOLD_SEATS, 7001, 4, DP_S_OK, 0x77, 0, got, 1, NULL, 0);
	m = next_sent(&t);
	CHECK(m.op == PROTO_OP_CONFIRM && m.rid == 5 && m.hold_id == 0x77);
	CHECK(run.st.held == 1 && run.st.holds_taken == 1 && run.st.holds_limit == 1);
	reply_hold(PROTO_OP_CONFIRM, 7001, 5, DP_S_OK, 0x77, 0x99, got, 1, NULL, 0);
	at(t);
	CHECK(run.st.orders_acked == 1 && run.st.sold_acked == 1 && run.st.held == 0 && run.st.bought == 1);
	CHECK(run.n_orders == 1 && run.orders[0].order_id == 0x99 && run.orders[0].hold_id == 0x77 &&
	      run.orders[0].client_id == 7001 && run.orders[0].n_items == 1 && run.orders[0].items[0] == got[0]);
	lg_run_free(&run);
	lg_plan_free(&plan);
}

/* Packing, resends, busy, strays and the horizon (comiccon), then refusals (theatre). */
int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_lg_req DOCS_EXAMPLES_DIR\n");
		return 2;
	}
	char path[512], err[256];
	struct lg_plan plan;
	snprintf(path, sizeof(path), "%s/comiccon.json", argv[1]);
	CHECK(lg_plan_load(&plan, path, 0, err, sizeof(err)) == 0);
	struct lg_config cfg = {
		.sc = *lg_scenario_find("comiccon"), .inflight = 64, .time_scale = 0.001, .seconds = 60,
		.timeout_ms = 250, .timeout_max_ms = 1000, .horizon_ms = 1800, .attempts_max = 10,
		.exhausted_ms = 5000, .client_base = 5000, .seed = 7, .transport = "fake", .qty_fixed = 2,
	};
	cfg.sc.buyers = 3;
	cfg.sc.arrival = LG_ARRIVE_ONCE;
	cfg.sc.abandon_permille = 0;
	CHECK(lg_run_init(&run, &cfg, &plan, &fake, err, sizeof(err)) == 0);
	struct sent_msg m[64];
	unsigned dg;

	/* t=0: three joins, one datagram, client ids 5001..5003, request id 1 each. */
	at(0);
	CHECK(take_sent(m, 64, &dg) == 3 && dg == 1);
	for (unsigned i = 0; i < 3; i++)
		CHECK(m[i].op == PROTO_OP_QUEUE_JOIN && m[i].cid == 5001 + i && m[i].rid == 1);

	/* No answer: nothing before the first timeout (1 s before any answer), then the same ids. */
	at(900);
	CHECK(take_sent(m, 64, &dg) == 0);
	at(1001);
	CHECK(take_sent(m, 64, &dg) == 3 && dg == 1);
	unsigned seen = 0; /* bit per buyer: each resent once, in any order */
	for (unsigned i = 0; i < 3; i++) {
		CHECK(m[i].op == PROTO_OP_QUEUE_JOIN && m[i].cid >= 5001 && m[i].cid <= 5003 && m[i].rid == 1);
		seen |= 1u << (m[i].cid - 5001);
	}
	CHECK(seen == 7 && run.st.retransmits == 3);

	/* Buyer 5001: busy, retry after 5 ms. 5002, 5003: no queue. A stray reply (wrong request id) is not used. */
	reply_status(PROTO_OP_QUEUE_JOIN, 5001, 1, DP_S_BUSY, 5);
	reply_queue(5002, 1, 2016, PROTO_QS_NO_QUEUE);
	reply_queue(5003, 1, 2016, PROTO_QS_NO_QUEUE);
	reply_queue(5003, 99, 2016, PROTO_QS_NO_QUEUE);
	at(1002);
	CHECK(run.st.busy == 1 && run.st.stray_replies == 1 && run.st.replies == 3);
	CHECK(take_sent(m, 64, &dg) == 0);
	at(1008);
	CHECK(take_sent(m, 64, &dg) == 1 && m[0].cid == 5001 && m[0].rid == 1 && m[0].op == PROTO_OP_QUEUE_JOIN);

	/* 5002 and 5003 think (at most 20 ms at this scale), then hold: request id 2. */
	at(1040);
	unsigned k = take_sent(m, 64, &dg);
	CHECK(k == 2 && dg == 1);
	for (unsigned i = 0; i < k; i++)
		CHECK(m[i].op == PROTO_OP_HOLD_GA && m[i].rid == 2 && (m[i].cid == 5002 || m[i].cid == 5003));

	/* Nobody answers the holds: resent with request id 2 only while within the horizon (1.8 s from the
	 * first send), then given up as unknown outcomes; the next hold is request id 3. */
	uint64_t last_resend = 0;
	for (uint64_t t = 1041; t <= 1040 + 1800 + 1000; t++) {
		at(t);
		k = take_sent(m, 64, &dg);
		for (unsigned i = 0; i < k; i++) {
			if (m[i].cid == 5001)
				continue; /* the first buyer's join, resent meanwhile */
			if (m[i].rid == 2) {
				CHECK(m[i].op == PROTO_OP_HOLD_GA);
				CHECK(t - 1040 < 1800);
				last_resend = t;
			}
		}
		if (run.st.unknown_outcomes == 2)
			break;
	}
	CHECK(last_resend > 1040 && run.st.unknown_outcomes == 2);
	/* Past the horizon, the buyers hold again with a new request id. */
	int new_ids = 0;
	for (uint64_t t = run.now_ms - run.t0_us / 1000u + 1; !new_ids && t < 1040 + 6000; t++) {
		at(t);
		k = take_sent(m, 64, &dg);
		for (unsigned i = 0; i < k; i++) {
			if (m[i].cid == 5001)
				continue;
			CHECK(m[i].rid != 2);
			if (m[i].op == PROTO_OP_HOLD_GA && m[i].rid == 3)
				new_ids++;
		}
	}
	CHECK(new_ids > 0);
	lg_run_free(&run);
	lg_plan_free(&plan);
	test_refusals(argv[1]);
	printf("test_lg_req: ok\n");
	return 0;
}
