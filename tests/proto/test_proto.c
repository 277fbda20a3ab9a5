/*
 * test_proto.c - cmocka tests of the wire protocol codec (dataplane/dp_proto.c):
 * request and reply round trips of every opcode, every decoder error on a
 * crafted datagram (with *off and hdr_ok), multi-message datagrams and the
 * 32-message bound, encoder overflow and rollback, the bytes docs/protocol.md
 * shows, and a loop of 200,000 random and mutated datagrams (run it under
 * ASan: every datagram ends at the end of its allocation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

#define T_CLIENT 0x1122334455667788ull
#define T_REQ 42ull
#define T_EVENT 7u
#define T_PART 3u
#define T_GARBAGE_ROUNDS 200000u
#define T_GARBAGE_SEED 0x5eed5eedu
#define T_ARENA 2048u /* > PROTO_DGRAM_MAX: garbage may be longer than a datagram */

/* ---- helpers ---------------------------------------------------------- */

static uint8_t t_token[PROTO_TOKEN_SIZE];
static uint8_t t_pay[PROTO_PAYMENT_REF_SIZE];

static int t_setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < PROTO_TOKEN_SIZE; i++)
		t_token[i] = (uint8_t)(0xa0 + i);
	for (unsigned i = 0; i < PROTO_PAYMENT_REF_SIZE; i++)
		t_pay[i] = (uint8_t)('a' + i % 26);
	return 0;
}

/* A raw message: header with the given fields, then body. Returns its size. */
static size_t t_raw(uint8_t *out, uint16_t magic, uint8_t version, uint8_t opcode, uint16_t flags,
		    uint16_t body_len, uint64_t client, uint64_t req, const void *body, size_t body_bytes)
{
	struct proto_hdr h = {.magic = magic,
			      .version = version,
			      .opcode = opcode,
			      .flags = flags,
			      .body_len = body_len,
			      .client_id = client,
			      .request_id = req};
	memcpy(out, &h, sizeof(h));
	if (body_bytes)
		memcpy(out + sizeof(h), body, body_bytes);
	return sizeof(h) + body_bytes;
}

/* A well-formed raw message (body_len = body_bytes). */
static size_t t_msg(uint8_t *out, uint8_t opcode, uint16_t flags, uint64_t client, const void *body, size_t n)
{
	return t_raw(out, PROTO_MAGIC, PROTO_VERSION, opcode, flags, (uint16_t)n, client, T_REQ, body, n);
}

/* Decode a single-message datagram; checks the *off / hdr_ok contract. */
static enum proto_err t_dec1(const uint8_t *buf, size_t len, struct proto_msg *m, int *hdr_ok)
{
	size_t off = 0;
	int ok = -1;
	enum proto_err e = proto_decode_msg(buf, len, &off, m, &ok);
	if (e == PROTO_OK) {
		assert_int_equal(off, len);
		assert_int_equal(m->bad_detail, DP_D_NONE);
	} else {
		assert_int_equal(off, len);
		assert_int_equal(ok, e == PROTO_E_NOT_STAMPEDE ? 0 : 1);
	}
	if (hdr_ok)
		*hdr_ok = ok;
	return e;
}

/* Expect one specific error from a single-message datagram. */
static void t_expect(const uint8_t *buf, size_t len, enum proto_err want, uint8_t want_detail)
{
	struct proto_msg m;
	int hdr_ok;
	enum proto_err e = t_dec1(buf, len, &m, &hdr_ok);
	if (e != want)
		fail_msg("want %s, got %s", proto_err_name(want), proto_err_name(e));
	if (e != PROTO_E_NOT_STAMPEDE) {
		assert_int_equal(m.hdr.request_id, T_REQ);
		assert_int_equal(m.bad_detail, want_detail);
	}
}

/* Re-encode a decoded request with the public encoders. */
static int t_reencode_msg(const struct proto_msg *m, struct proto_buf *b)
{
	const uint64_t c = m->hdr.client_id, r = m->hdr.request_id;
	const struct proto_hold *h = &m->u.hold.h;
	switch (m->hdr.opcode) {
	case PROTO_OP_PING:
		return proto_put_ping(b, c, r, m->u.ping.bytes, m->u.ping.len);
	case PROTO_OP_SEAT_MAP:
		return proto_put_seat_map(b, c, r, m->u.seat_map.event_id, m->u.seat_map.part_id, m->u.seat_map.first,
					  m->u.seat_map.count);
	case PROTO_OP_HOLD_SEATS:
		return proto_put_hold_seats(b, c, r, h->event_id, h->part_id, h->n, m->u.hold.seats, m->token);
	case PROTO_OP_HOLD_BEST:
		return proto_put_hold_best(b, c, r, h->event_id, h->part_id, h->n, h->tier, m->token);
	case PROTO_OP_HOLD_GA:
		return proto_put_hold_ga(b, c, r, h->event_id, h->part_id, h->n, m->token);
	case PROTO_OP_CONFIRM:
		return proto_put_confirm(b, c, r, m->u.confirm.hold_id, m->u.confirm.payment_ref);
	case PROTO_OP_RELEASE:
		return proto_put_release(b, c, r, m->u.release.hold_id);
	case PROTO_OP_ORDER:
		return proto_put_order(b, c, r, m->u.order.order_id);
	case PROTO_OP_QUEUE_JOIN:
		return proto_put_queue_join(b, c, r, m->u.queue.event_id);
	case PROTO_OP_QUEUE_POLL:
		return proto_put_queue_poll(b, c, r, m->u.queue.event_id, m->token);
	}
	return -1;
}

/* Re-encode a decoded reply with begin/put/end. */
static int t_reencode_reply(const struct proto_reply *r, struct proto_buf *b)
{
	long at = proto_begin_msg(b, r->hdr.opcode, r->hdr.flags, r->hdr.client_id, r->hdr.request_id);
	proto_put(b, &r->head, sizeof(r->head));
	switch (r->kind) {
	case PROTO_R_STATUS:
		break;
	case PROTO_R_PING:
		proto_put(b, &r->u.ping.body, sizeof(r->u.ping.body));
		proto_put(b, r->u.ping.echo, r->u.ping.echo_len);
		break;
	case PROTO_R_HOLD:
		proto_put(b, &r->u.hold.body, sizeof(r->u.hold.body));
		proto_put(b, r->u.hold.items, 4u * r->u.hold.body.n_items);
		proto_put(b, r->u.hold.alt, 4u * r->u.hold.body.n_alt);
		break;
	case PROTO_R_SEAT_MAP:
		proto_put(b, &r->u.seat_map.body, sizeof(r->u.seat_map.body));
		proto_put(b, r->u.seat_map.seats, r->u.seat_map.count);
		break;
	case PROTO_R_ORDER:
		proto_put(b, &r->u.order.body, sizeof(r->u.order.body));
		proto_put(b, r->u.order.items, 4u * r->u.order.body.n_items);
		break;
	default:
		return -1;
	}
	return proto_end_msg(b, at);
}

/* Decode one message of a datagram and check it re-encodes to the same bytes. */
static void t_roundtrip_req(const uint8_t *buf, size_t len, struct proto_msg *m)
{
	int hdr_ok;
	enum proto_err e = t_dec1(buf, len, m, &hdr_ok);
	if (e != PROTO_OK)
		fail_msg("decode: %s", proto_err_name(e));
	uint8_t again[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_msg(m, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(again, buf, len);
}

/* Reply builders (what the dataplane writes). */
static long t_reply_begin(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
			  uint32_t retry)
{
	long at = proto_begin_msg(b, (uint8_t)(op | PROTO_OP_REPLY), 0, client, T_REQ);
	struct proto_reply_head head = {.status = status, .detail = detail, .retry_after_ms = retry};
	proto_put(b, &head, sizeof(head));
	return at;
}

static void t_reply_status(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
			   uint32_t retry)
{
	assert_int_equal(proto_end_msg(b, t_reply_begin(b, op, client, status, detail, retry)), 0);
}

static void t_reply_hold(struct proto_buf *b, uint8_t op, uint8_t status, const struct proto_hold_reply *body,
			 const uint32_t *items, const uint32_t *alt)
{
	long at = t_reply_begin(b, op, T_CLIENT, status, DP_D_NONE, 0);
	proto_put(b, body, sizeof(*body));
	proto_put(b, items, 4u * body->n_items);
	proto_put(b, alt, 4u * body->n_alt);
	assert_int_equal(proto_end_msg(b, at), 0);
}

static enum proto_err t_rdec1(const uint8_t *buf, size_t len, struct proto_reply *r)
{
	size_t off = 0;
	enum proto_err e = proto_decode_reply(buf, len, &off, r);
	assert_int_equal(off, len);
	return e;
}

static void t_rexpect(const uint8_t *buf, size_t len, enum proto_err want)
{
	struct proto_reply r;
	enum proto_err e = t_rdec1(buf, len, &r);
	if (e != want)
		fail_msg("reply: want %s, got %s", proto_err_name(want), proto_err_name(e));
}

/* Decode a one-reply datagram and check it re-encodes to the same bytes. */
static void t_roundtrip_reply(const uint8_t *buf, size_t len, struct proto_reply *r)
{
	enum proto_err e = t_rdec1(buf, len, r);
	if (e != PROTO_OK)
		fail_msg("reply decode: %s", proto_err_name(e));
	uint8_t again[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_reply(r, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(again, buf, len);
}

static void t_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* ---- layout and names -------------------------------------------------- */

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct proto_hdr), 24);
	assert_int_equal(offsetof(struct proto_hdr, body_len), 6);
	assert_int_equal(offsetof(struct proto_hdr, client_id), 8);
	assert_int_equal(offsetof(struct proto_hdr, request_id), 16);
	assert_int_equal(sizeof(struct proto_seat_map), 16);
	assert_int_equal(sizeof(struct proto_hold), 12);
	assert_int_equal(sizeof(struct proto_confirm), 40);
	assert_int_equal(sizeof(struct proto_queue), 8);
	assert_int_equal(sizeof(struct proto_reply_head), 8);
	assert_int_equal(sizeof(struct proto_ping_reply), 16);
	assert_int_equal(sizeof(struct proto_hold_reply), 40);
	assert_int_equal(sizeof(struct proto_seat_map_reply), 32);
	assert_int_equal(sizeof(struct proto_order_reply), 68);
	/* "ST" on the wire */
	uint8_t buf[64];
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, 1, 2, NULL, 0), 0);
	assert_int_equal(buf[0], 'S');
	assert_int_equal(buf[1], 'T');
	assert_int_equal(buf[2], PROTO_VERSION);
}

static void test_names(void **state)
{
	(void)state;
	const char *seen[PROTO_E_TOO_MANY + 1];
	for (int e = PROTO_OK; e <= PROTO_E_TOO_MANY; e++) {
		seen[e] = proto_err_name((enum proto_err)e);
		assert_string_not_equal(seen[e], "unknown");
		for (int k = 0; k < e; k++)
			assert_string_not_equal(seen[k], seen[e]);
	}
	assert_string_equal(proto_err_name((enum proto_err)99), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_HOLD_SEATS), "hold_seats");
	assert_string_equal(proto_op_name(PROTO_OP_HOLD_SEATS | PROTO_OP_REPLY), "hold_seats_reply");
	for (unsigned op = PROTO_OP_PING; op <= PROTO_OP__MAX; op++) {
		assert_string_not_equal(proto_op_name(op), "unknown");
		assert_string_not_equal(proto_op_name(op | PROTO_OP_REPLY), "unknown");
	}
	assert_string_equal(proto_op_name(0), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP__MAX + 1), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_REPLY), "unknown");
	assert_string_equal(proto_op_name(0x1ff), "unknown");
}

/* ---- request round trips ------------------------------------------------ */

static void test_rt_ping(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], echo[PROTO_PING_ECHO_MAX];
	for (unsigned i = 0; i < sizeof(echo); i++)
		echo[i] = (uint8_t)i;
	const size_t lens[] = {0, 1, 5, PROTO_PING_ECHO_MAX};
	for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, lens[k] ? echo : NULL, lens[k]), 0);
		assert_int_equal(b.len, 24 + lens[k]);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_PING);
		assert_int_equal(m.hdr.client_id, T_CLIENT);
		assert_int_equal(m.hdr.request_id, T_REQ);
		assert_int_equal(m.u.ping.len, lens[k]);
		if (lens[k])
			assert_memory_equal(m.u.ping.bytes, echo, lens[k]);
		assert_null(m.token);
	}
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, echo, PROTO_PING_ECHO_MAX + 1), -1);
	assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, NULL, 3), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.overflow, 0);
}

static void test_rt_seat_map(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	const uint16_t counts[] = {1, 100, PROTO_SEATMAP_PAGE_MAX};
	for (unsigned k = 0; k < 3; k++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 5000, counts[k]), 0);
		assert_int_equal(b.len, 24 + 16);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_SEAT_MAP);
		assert_int_equal(m.u.seat_map.event_id, T_EVENT);
		assert_int_equal(m.u.seat_map.part_id, T_PART);
		assert_int_equal(m.u.seat_map.first, 5000);
		assert_int_equal(m.u.seat_map.count, counts[k]);
	}
}

static void test_rt_hold_seats(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	uint32_t seats[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++)
		seats[i] = 1000u * i + 7u;
	const unsigned ns[] = {1, 2, PROTO_ITEMS_MAX};
	for (unsigned k = 0; k < 3; k++) {
		for (int tok = 0; tok < 2; tok++) {
			struct proto_buf b;
			struct proto_msg m;
			proto_buf_init(&b, buf, sizeof(buf));
			assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, ns[k], seats,
							      tok ? t_token : NULL),
					 0);
			assert_int_equal(b.len, 24 + 12 + 4 * ns[k] + (tok ? PROTO_TOKEN_SIZE : 0));
			t_roundtrip_req(buf, b.len, &m);
			assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_SEATS);
			assert_int_equal(m.hdr.flags, tok ? PROTO_F_TOKEN : 0);
			assert_int_equal(m.u.hold.h.event_id, T_EVENT);
			assert_int_equal(m.u.hold.h.part_id, T_PART);
			assert_int_equal(m.u.hold.h.n, ns[k]);
			assert_int_equal(m.u.hold.h.tier, 0);
			assert_memory_equal(m.u.hold.seats, seats, 4 * ns[k]);
			if (tok)
				assert_memory_equal(m.token, t_token, PROTO_TOKEN_SIZE);
			else
				assert_null(m.token);
		}
	}
}

static void test_rt_hold_best_ga(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	for (int tok = 0; tok < 2; tok++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(
			proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 4, 9, tok ? t_token : NULL), 0);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_BEST);
		assert_int_equal(m.u.hold.h.n, 4);
		assert_int_equal(m.u.hold.h.tier, 9);
		assert_true(tok ? m.token != NULL : m.token == NULL);

		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 1, 0, NULL), 0);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.u.hold.h.tier, 0);

		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, PROTO_ITEMS_MAX,
						   tok ? t_token : NULL),
				 0);
		assert_int_equal(b.len, 24 + 12 + (tok ? PROTO_TOKEN_SIZE : 0));
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_GA);
		assert_int_equal(m.u.hold.h.n, PROTO_ITEMS_MAX);
		assert_int_equal(m.u.hold.h.event_id, T_EVENT);
		assert_int_equal(m.u.hold.h.part_id, T_PART);
	}
}

static void test_rt_confirm_release_order(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_msg m;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, T_CLIENT, T_REQ, 0x0102030405060708ull, t_pay), 0);
	assert_int_equal(b.len, 24 + 40);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_CONFIRM);
	assert_int_equal(m.u.confirm.hold_id, 0x0102030405060708ull);
	assert_memory_equal(m.u.confirm.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_release(&b, T_CLIENT, T_REQ, 99), 0);
	assert_int_equal(b.len, 32);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_RELEASE);
	assert_int_equal(m.u.release.hold_id, 99);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_order(&b, T_CLIENT, T_REQ, 1ull << 60), 0);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_ORDER);
	assert_int_equal(m.u.order.order_id, 1ull << 60);
}

static void test_rt_queue(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_msg m;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join(&b, T_CLIENT, T_REQ, T_EVENT), 0);
	assert_int_equal(b.len, 32);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_QUEUE_JOIN);
	assert_int_equal(m.u.queue.event_id, T_EVENT);
	assert_null(m.token);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, NULL), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, t_token), 0);
	assert_int_equal(b.len, 32 + PROTO_TOKEN_SIZE);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_QUEUE_POLL);
	assert_int_equal(m.hdr.flags, PROTO_F_TOKEN);
	assert_memory_equal(m.token, t_token, PROTO_TOKEN_SIZE);
}

/* ---- reply round trips ------------------------------------------------- */

static void test_rt_reply_status(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	/* Every refusal can come head-only, for every opcode. */
	for (unsigned op = PROTO_OP_PING; op <= PROTO_OP__MAX; op++) {
		for (unsigned s = 1; s < DP_S__COUNT; s++) {
			proto_buf_init(&b, buf, sizeof(buf));
			t_reply_status(&b, (uint8_t)op, T_CLIENT, (uint8_t)s, DP_D_NONE, s == DP_S_BUSY ? 5 : 0);
			t_roundtrip_reply(buf, b.len, &r);
			assert_int_equal(r.kind, PROTO_R_STATUS);
			assert_int_equal(r.hdr.opcode, op | PROTO_OP_REPLY);
			assert_int_equal(r.head.status, s);
		}
	}
	/* busy with retry_after_ms */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_BUSY, DP_D_LOG_FULL, 250);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.head.retry_after_ms, 250);
	assert_int_equal(r.head.detail, DP_D_LOG_FULL);
	/* the answer to a request with client id 0, and to an unknown opcode */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, 0, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT, 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.hdr.client_id, 0);
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, 0x55, T_CLIENT, DP_S_BAD_REQUEST, DP_D_BAD_OP, 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.hdr.opcode, 0xd5);
	/* QUEUE_* replies are head-only in version 1, ok included */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_QUEUE_JOIN, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	t_roundtrip_reply(buf, b.len, &r);
}

static void test_rt_reply_ping(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	const uint8_t echo[5] = "hello";
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_ping_reply body = {.server_time_ms = 1700000000000ull, .workers = 2};
	proto_put(&b, &body, sizeof(body));
	proto_put(&b, echo, sizeof(echo));
	assert_int_equal(proto_end_msg(&b, at), 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.kind, PROTO_R_PING);
	assert_int_equal(r.u.ping.body.server_time_ms, 1700000000000ull);
	assert_int_equal(r.u.ping.body.workers, 2);
	assert_int_equal(r.u.ping.echo_len, 5);
	assert_memory_equal(r.u.ping.echo, "hello", 5);
}

static void test_rt_reply_hold(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	uint32_t items[PROTO_ITEMS_MAX], alt[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++) {
		items[i] = i + 1;
		alt[i] = 100 + i;
	}
	const uint8_t ops[] = {PROTO_OP_HOLD_SEATS, PROTO_OP_HOLD_BEST, PROTO_OP_HOLD_GA, PROTO_OP_CONFIRM,
			       PROTO_OP_RELEASE};
	for (unsigned k = 0; k < sizeof(ops); k++) {
		/* ok with items */
		struct proto_hold_reply body = {.event_id = T_EVENT,
						.part_id = T_PART,
						.hold_id = 0xabcdef,
						.order_id = ops[k] == PROTO_OP_CONFIRM ? 77 : 0,
						.expiry_ms = 1700000600000ull,
						.n_items = ops[k] == PROTO_OP_RELEASE ? 0 : PROTO_ITEMS_MAX};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_OK, &body, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.kind, PROTO_R_HOLD);
		assert_int_equal(r.u.hold.body.hold_id, 0xabcdef);
		assert_int_equal(r.u.hold.body.expiry_ms, 1700000600000ull);
		assert_int_equal(r.u.hold.body.n_items, body.n_items);
		assert_memory_equal(r.u.hold.items, items, 4u * body.n_items);
		/* taken with alternatives */
		struct proto_hold_reply taken = {.event_id = T_EVENT, .part_id = T_PART, .n_alt = 3};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_TAKEN, &taken, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.head.status, DP_S_TAKEN);
		assert_int_equal(r.u.hold.body.n_items, 0);
		assert_int_equal(r.u.hold.body.n_alt, 3);
		assert_memory_equal(r.u.hold.alt, alt, 12);
		/* sold out with available; both arrays full */
		struct proto_hold_reply so = {.available = 3, .n_items = PROTO_ITEMS_MAX, .n_alt = PROTO_ITEMS_MAX};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_SOLD_OUT, &so, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.u.hold.body.available, 3);
		assert_memory_equal(r.u.hold.alt, alt, sizeof(alt));
	}
}

static void test_rt_reply_seat_map(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], seats[PROTO_SEATMAP_PAGE_MAX];
	for (unsigned i = 0; i < sizeof(seats); i++)
		seats[i] = (uint8_t)((i % 4) | ((i % 64) << 2));
	const uint16_t counts[] = {0, 1, PROTO_SEATMAP_PAGE_MAX};
	for (unsigned k = 0; k < 3; k++) {
		struct proto_buf b;
		struct proto_reply r;
		proto_buf_init(&b, buf, sizeof(buf));
		long at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		struct proto_seat_map_reply body = {.event_id = T_EVENT,
						    .part_id = T_PART,
						    .capacity = 5000,
						    .first = 10,
						    .count = counts[k],
						    .free = 4000,
						    .held = 600,
						    .sold = 400};
		proto_put(&b, &body, sizeof(body));
		proto_put(&b, seats, counts[k]);
		assert_int_equal(proto_end_msg(&b, at), 0);
		assert_true(b.len <= PROTO_DGRAM_MAX);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.kind, PROTO_R_SEAT_MAP);
		assert_int_equal(r.u.seat_map.count, counts[k]);
		assert_int_equal(r.u.seat_map.body.capacity, 5000);
		assert_int_equal(r.u.seat_map.body.sold, 400);
		if (counts[k])
			assert_memory_equal(r.u.seat_map.seats, seats, counts[k]);
	}
}

static void test_rt_reply_order(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	const uint32_t items[2] = {4, 5};
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_order_reply body = {.order_id = 1ull << 54,
					 .hold_id = 0x1234,
					 .time_ms = 1700000000000ull,
					 .event_id = T_EVENT,
					 .part_id = T_PART,
					 .kind = ST_KIND_SEAT,
					 .n_items = 2};
	memcpy(body.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);
	proto_put(&b, &body, sizeof(body));
	proto_put(&b, items, sizeof(items));
	assert_int_equal(proto_end_msg(&b, at), 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.kind, PROTO_R_ORDER);
	assert_int_equal(r.u.order.body.order_id, 1ull << 54);
	assert_int_equal(r.u.order.body.kind, ST_KIND_SEAT);
	assert_int_equal(r.u.order.body.n_items, 2);
	assert_memory_equal(r.u.order.items, items, sizeof(items));
	assert_memory_equal(r.u.order.body.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);
}

/* ---- request decoder errors -------------------------------------------- */

static void test_err_not_stampede(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct proto_msg m;
	size_t off;
	int hdr_ok;
	/* empty, one byte, 23 bytes */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(t_dec1(buf, 0, &m, NULL), PROTO_E_NOT_STAMPEDE);
	size_t n = t_msg(buf, PROTO_OP_PING, 0, T_CLIENT, NULL, 0);
	assert_int_equal(t_dec1(buf, 1, &m, NULL), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(t_dec1(buf, n - 1, &m, NULL), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(t_dec1(buf, n, &m, NULL), PROTO_OK);
	/* bad magic: byte-swapped, and zero */
	n = t_raw(buf, 0x5354, PROTO_VERSION, PROTO_OP_PING, 0, 0, T_CLIENT, T_REQ, NULL, 0);
	assert_int_equal(t_dec1(buf, n, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(hdr_ok, 0);
	assert_int_equal(m.hdr.request_id, 0); /* not filled */
	/* bad magic beats every other fault */
	n = t_raw(buf, 0, 9, 0xff, 0xffff, 60000, 0, T_REQ, NULL, 0);
	assert_int_equal(t_dec1(buf, n, &m, NULL), PROTO_E_NOT_STAMPEDE);
	/* *off past the end */
	n = t_msg(buf, PROTO_OP_PING, 0, T_CLIENT, NULL, 0);
	off = n + 5;
	assert_int_equal(proto_decode_msg(buf, n, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(off, n);
	assert_int_equal(hdr_ok, 0);
	/* a NULL buffer of length 0 */
	off = 0;
	assert_int_equal(proto_decode_msg(NULL, 0, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(off, 0);
}

static void test_err_version(void **state)
{
	(void)state;
	uint8_t buf[128];
	const uint8_t versions[] = {0, 2, 0xff};
	for (unsigned k = 0; k < 3; k++) {
		size_t n = t_raw(buf, PROTO_MAGIC, versions[k], PROTO_OP_PING, 0, 0, T_CLIENT, T_REQ, NULL, 0);
		t_expect(buf, n, PROTO_E_VERSION, DP_D_NONE);
	}
	/* version is checked before everything but the magic */
	size_t n = t_raw(buf, PROTO_MAGIC, 2, 0xee, 0xffff, 1000, 0, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_VERSION, DP_D_NONE);
}

static void test_err_truncated(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t body[40] = {0};
	/* body_len 40, only 39 bytes present */
	size_t n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_CONFIRM, 0, 40, T_CLIENT, T_REQ, body, 39);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
	/* body_len 65535 with nothing after the header */
	n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING, 0, 0xffff, T_CLIENT, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
	/* truncation is found before a bad opcode */
	n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, 0x7f, 0, 8, T_CLIENT, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
}

static void test_err_opcode(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t body[8] = {0};
	const uint8_t ops[] = {0, PROTO_OP__MAX + 1, 0x7f, PROTO_OP_REPLY, PROTO_OP_RELEASE | PROTO_OP_REPLY, 0xff};
	for (unsigned k = 0; k < sizeof(ops); k++) {
		size_t n = t_msg(buf, ops[k], 0, T_CLIENT, body, sizeof(body));
		t_expect(buf, n, PROTO_E_OPCODE, DP_D_BAD_OP);
	}
}

static void test_err_flags(void **state)
{
	(void)state;
	uint8_t buf[256], body[128];
	memset(body, 0, sizeof(body));
	body[8] = 1; /* n = 1 for holds */
	/* unknown bits, on an op that takes a token */
	size_t n = t_msg(buf, PROTO_OP_HOLD_GA, 0x0002, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_GA, 0x8000 | PROTO_F_TOKEN, T_CLIENT, body, 12 + PROTO_TOKEN_SIZE);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	/* a token where none is allowed (well-sized body + token) */
	const struct {
		uint8_t op;
		size_t body;
	} no_token[] = {{PROTO_OP_PING, 0},    {PROTO_OP_SEAT_MAP, 16},  {PROTO_OP_CONFIRM, 40},
			{PROTO_OP_RELEASE, 8}, {PROTO_OP_ORDER, 8},      {PROTO_OP_QUEUE_JOIN, 8}};
	for (unsigned k = 0; k < sizeof(no_token) / sizeof(no_token[0]); k++) {
		n = t_msg(buf, no_token[k].op, PROTO_F_TOKEN, T_CLIENT, body, no_token[k].body + PROTO_TOKEN_SIZE);
		t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	}
	/* QUEUE_POLL without its token */
	n = t_msg(buf, PROTO_OP_QUEUE_POLL, 0, T_CLIENT, body, 8);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_QUEUE_POLL, 0, T_CLIENT, body, 8 + PROTO_TOKEN_SIZE);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	/* flags are checked before body_len */
	n = t_msg(buf, PROTO_OP_CONFIRM, PROTO_F_TOKEN, T_CLIENT, body, 3);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
}

static void test_err_body_len(void **state)
{
	(void)state;
	uint8_t buf[512], body[256];
	memset(body, 0, sizeof(body));
	body[8] = 2; /* n = 2 */
	const struct {
		uint8_t op;
		uint16_t flags;
		size_t len;
	} bad[] = {
		{PROTO_OP_PING, 0, PROTO_PING_ECHO_MAX + 1},
		{PROTO_OP_SEAT_MAP, 0, 15},
		{PROTO_OP_SEAT_MAP, 0, 17},
		{PROTO_OP_HOLD_SEATS, 0, 11},             /* shorter than the fixed part */
		{PROTO_OP_HOLD_SEATS, 0, 12 + 4},         /* n = 2 needs 8 bytes of seats */
		{PROTO_OP_HOLD_SEATS, 0, 12 + 12},
		{PROTO_OP_HOLD_SEATS, 0, 12 + 8 + 1},
		{PROTO_OP_HOLD_SEATS, PROTO_F_TOKEN, 12 + 8 + PROTO_TOKEN_SIZE - 1},
		{PROTO_OP_HOLD_SEATS, PROTO_F_TOKEN, 12 + 8}, /* token flag, no token */
		{PROTO_OP_HOLD_BEST, 0, 0},
		{PROTO_OP_HOLD_BEST, 0, 13},
		{PROTO_OP_HOLD_BEST, PROTO_F_TOKEN, 12},
		{PROTO_OP_HOLD_BEST, PROTO_F_TOKEN, 12 + PROTO_TOKEN_SIZE + 1},
		{PROTO_OP_HOLD_GA, 0, 11},
		{PROTO_OP_HOLD_GA, PROTO_F_TOKEN, PROTO_TOKEN_SIZE - 1},
		{PROTO_OP_CONFIRM, 0, 39},
		{PROTO_OP_CONFIRM, 0, 41},
		{PROTO_OP_RELEASE, 0, 0},
		{PROTO_OP_RELEASE, 0, 16},
		{PROTO_OP_ORDER, 0, 7},
		{PROTO_OP_QUEUE_JOIN, 0, 9},
		{PROTO_OP_QUEUE_POLL, PROTO_F_TOKEN, 8 + PROTO_TOKEN_SIZE + 4},
		{PROTO_OP_QUEUE_POLL, PROTO_F_TOKEN, 8},
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		size_t n = t_msg(buf, bad[k].op, bad[k].flags, T_CLIENT, body, bad[k].len);
		struct proto_msg m;
		int hdr_ok;
		enum proto_err e = t_dec1(buf, n, &m, &hdr_ok);
		if (e != PROTO_E_BODY_LEN)
			fail_msg("case %u (%s len %zu): got %s", k, proto_op_name(bad[k].op), bad[k].len,
				 proto_err_name(e));
		assert_int_equal(hdr_ok, 1);
	}
	/* body_len is checked before fields: client id 0 and wrong size */
	size_t n = t_msg(buf, PROTO_OP_RELEASE, 0, 0, body, 9);
	t_expect(buf, n, PROTO_E_BODY_LEN, DP_D_NONE);
}

static void test_err_field(void **state)
{
	(void)state;
	uint8_t buf[512], body[256];
	struct proto_buf b;
	uint32_t seats[PROTO_ITEMS_MAX + 1] = {0};
	/* client id 0, on every opcode */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, 0, T_REQ, NULL, 0), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, 0, T_REQ, T_EVENT, T_PART, 1, seats, NULL), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, 0, T_REQ, 1, t_pay), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, 0, T_REQ, 1, t_token), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);

	/* n = 0 and n = PROTO_ITEMS_MAX + 1 on the three holds */
	for (int tok = 0; tok < 2; tok++) {
		const uint8_t *tk = tok ? t_token : NULL;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, NULL, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(
			proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, PROTO_ITEMS_MAX + 1, seats, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 0, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 255, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
	}
	/* tier on HOLD_SEATS / HOLD_GA, padding in holds */
	memset(body, 0, sizeof(body));
	body[8] = 1;
	body[9] = 3; /* tier */
	size_t n = t_msg(buf, PROTO_OP_HOLD_GA, 0, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_SEATS, 0, T_CLIENT, body, 16);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_BEST, 0, T_CLIENT, body, 12);
	assert_int_equal(t_dec1(buf, n, &(struct proto_msg){0}, NULL), PROTO_OK);
	body[9] = 0;
	body[11] = 1; /* _pad */
	n = t_msg(buf, PROTO_OP_HOLD_BEST, 0, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);

	/* seat map: count 0, count 1025, padding */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 0), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, PROTO_SEATMAP_PAGE_MAX + 1), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 1), 0);
	buf[24 + 14] = 1;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);

	/* queue padding */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join(&b, T_CLIENT, T_REQ, T_EVENT), 0);
	buf[24 + 7] = 0x80;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, t_token), 0);
	buf[24 + 4] = 1;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);
}

/* ---- multi-message datagrams -------------------------------------------- */

static size_t t_fill(uint8_t *buf, size_t cap, unsigned count)
{
	struct proto_buf b;
	proto_buf_init(&b, buf, cap);
	for (unsigned i = 0; i < count; i++) {
		uint32_t seat = i;
		int rc;
		switch (i % 4) {
		case 0:
			rc = proto_put_ping(&b, T_CLIENT, i + 1, NULL, 0);
			break;
		case 1:
			rc = proto_put_release(&b, T_CLIENT, i + 1, i);
			break;
		case 2:
			rc = proto_put_queue_join(&b, T_CLIENT, i + 1, i);
			break;
		default:
			rc = proto_put_hold_seats(&b, T_CLIENT, i + 1, T_EVENT, T_PART, 1, &seat, NULL);
			break;
		}
		assert_int_equal(rc, 0);
	}
	return b.len;
}

static void test_multi(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_msg m;
	int hdr_ok;
	/* 32 messages: all decode, in order */
	size_t len = t_fill(buf, sizeof(buf), PROTO_MSGS_MAX);
	assert_true(len <= PROTO_DGRAM_MAX);
	size_t off = 0;
	for (unsigned i = 0; i < PROTO_MSGS_MAX; i++) {
		size_t before = off;
		assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
		assert_true(off > before);
		assert_int_equal(m.hdr.request_id, i + 1);
	}
	assert_int_equal(off, len);

	/* 33: the 33rd is refused, with its header readable, and *off = len */
	len = t_fill(buf, sizeof(buf), PROTO_MSGS_MAX + 1);
	off = 0;
	for (unsigned i = 0; i < PROTO_MSGS_MAX; i++)
		assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_true(off < len);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_E_TOO_MANY);
	assert_int_equal(hdr_ok, 1);
	assert_int_equal(m.hdr.request_id, PROTO_MSGS_MAX + 1);
	assert_int_equal(off, len);

	/* 33 minimal (24-byte) pings: the count is still found */
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	for (unsigned i = 0; i <= PROTO_MSGS_MAX; i++)
		assert_int_equal(proto_put_ping(&b, T_CLIENT, i + 1, NULL, 0), 0);
	off = 0;
	unsigned ok = 0;
	enum proto_err e;
	while ((e = proto_decode_msg(buf, b.len, &off, &m, &hdr_ok)) == PROTO_OK)
		ok++;
	assert_int_equal(ok, PROTO_MSGS_MAX);
	assert_int_equal(e, PROTO_E_TOO_MANY);

	/* A bad message in the middle: those before it decode, the rest is not read */
	len = t_fill(buf, sizeof(buf), 6);
	size_t third = 0;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(proto_decode_msg(buf, len, &third, &m, &hdr_ok), PROTO_OK);
	buf[third + 3] = 0x7e; /* opcode of the 3rd */
	off = 0;
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(off, third);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_E_OPCODE);
	assert_int_equal(hdr_ok, 1);
	assert_int_equal(m.hdr.request_id, 3);
	assert_int_equal(off, len);

	/* Trailing bytes too short for a header after good messages */
	len = t_fill(buf, sizeof(buf), 2);
	memset(buf + len, 0x53, 10);
	off = 0;
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(hdr_ok, 0);
	assert_int_equal(off, len + 10);

	/* Replies: 32 in a datagram, and the 33rd refused */
	proto_buf_init(&b, buf, sizeof(buf));
	for (unsigned i = 0; i <= PROTO_MSGS_MAX; i++)
		t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	off = 0;
	struct proto_reply r;
	ok = 0;
	while ((e = proto_decode_reply(buf, b.len, &off, &r)) == PROTO_OK)
		ok++;
	assert_int_equal(ok, PROTO_MSGS_MAX);
	assert_int_equal(e, PROTO_E_TOO_MANY);
	assert_int_equal(off, b.len);
}

/* ---- encoder bounds ---------------------------------------------------- */

static void test_encoder_overflow(void **state)
{
	(void)state;
	uint8_t buf[100];
	struct proto_buf b;
	uint32_t seats[2] = {1, 2};
	/* 100 bytes: a 44-byte hold, then a 32-byte release, then no room for 44 */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 1, T_EVENT, T_PART, 2, seats, NULL), 0);
	assert_int_equal(proto_put_release(&b, T_CLIENT, 2, 9), 0);
	assert_int_equal(b.len, 44 + 32);
	uint8_t snapshot[100];
	memcpy(snapshot, buf, b.len);
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 3, T_EVENT, T_PART, 2, seats, NULL), -1);
	assert_int_equal(b.len, 76);
	assert_int_equal(b.overflow, 0);
	assert_memory_equal(buf, snapshot, 76);
	assert_int_equal(proto_put_hold_best(&b, T_CLIENT, 3, T_EVENT, T_PART, 2, 0, t_token), -1);
	assert_int_equal(proto_put_confirm(&b, T_CLIENT, 3, 1, t_pay), -1);
	assert_int_equal(b.len, 76);
	/* the partial message was rolled back: the datagram still decodes whole */
	size_t off = 0;
	struct proto_msg m;
	int hdr_ok;
	assert_int_equal(proto_decode_msg(buf, b.len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, b.len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(off, b.len);
	/* exactly full is fine */
	assert_int_equal(proto_put_ping(&b, T_CLIENT, 4, NULL, 0), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(proto_put_ping(&b, T_CLIENT, 5, NULL, 0), -1);
	assert_int_equal(b.len, 100);
	/* n over 255 cannot be encoded */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, 1, T_EVENT, T_PART, 256, NULL), -1);
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 1, T_EVENT, T_PART, 1, NULL, NULL), -1);
	assert_int_equal(b.len, 0);

	/* low level: overflow is sticky; end refuses after it */
	proto_buf_init(&b, buf, 30);
	long at = proto_begin_msg(&b, PROTO_OP_PING | PROTO_OP_REPLY, 0, 1, 2);
	assert_int_equal(at, 0);
	assert_int_equal(proto_put(&b, buf, 8), -1);
	assert_int_equal(b.overflow, 1);
	assert_int_equal(proto_put(&b, buf, 1), -1);
	assert_int_equal(proto_end_msg(&b, at), -1);
	assert_int_equal(proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2), -1);
	/* bad offsets */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_end_msg(&b, -1), -1);
	assert_int_equal(proto_end_msg(&b, 0), -1); /* no header there */
	at = proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2);
	assert_int_equal(proto_end_msg(&b, at + 1), -1);
	assert_int_equal(proto_end_msg(&b, at), 0);
	/* a body over 65535 bytes cannot be framed */
	static uint8_t big[70000], filler[65536];
	proto_buf_init(&b, big, sizeof(big));
	at = proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2);
	assert_int_equal(proto_put(&b, filler, sizeof(filler)), 0);
	assert_int_equal(proto_end_msg(&b, at), -1);
	/* a buffer without memory */
	proto_buf_init(&b, NULL, 100);
	assert_int_equal(proto_put_ping(&b, 1, 2, NULL, 0), -1);
	assert_int_equal(b.len, 0);
}

/* ---- reply decoder errors ---------------------------------------------- */

static void test_reply_errors(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	uint32_t items[PROTO_ITEMS_MAX + 1] = {0};

	/* not stampede: short, bad magic */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	t_rexpect(buf, 23, PROTO_E_NOT_STAMPEDE);
	buf[1] = 0;
	t_rexpect(buf, b.len, PROTO_E_NOT_STAMPEDE);
	/* version */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	buf[2] = 2;
	t_rexpect(buf, b.len, PROTO_E_VERSION);
	/* truncated */
	buf[2] = PROTO_VERSION;
	t_rexpect(buf, b.len - 1, PROTO_E_TRUNCATED);
	/* opcode: a request opcode, or an unknown one with a body or another status */
	buf[3] = PROTO_OP_HOLD_GA;
	t_rexpect(buf, b.len, PROTO_E_OPCODE);
	buf[3] = 0xd5;
	t_rexpect(buf, b.len, PROTO_E_OPCODE); /* busy, not bad_request */
	/* flags: none are defined in replies */
	buf[3] = PROTO_OP_HOLD_GA | PROTO_OP_REPLY;
	buf[4] = PROTO_F_TOKEN;
	t_rexpect(buf, b.len, PROTO_E_FLAGS);
	buf[4] = 0;
	t_rexpect(buf, b.len, PROTO_OK);
	/* head fields: status, detail, padding */
	buf[24] = DP_S__COUNT;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[24] = DP_S_BUSY;
	buf[25] = DP_D__COUNT;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[25] = 0;
	buf[26] = 1;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[26] = 0;
	/* client id 0 only on a bare bad_request */
	memset(buf + 8, 0, 8);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[24] = DP_S_BAD_REQUEST;
	t_rexpect(buf, b.len, PROTO_OK);

	/* body shorter than the head */
	size_t n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING | PROTO_OP_REPLY, 0, 7, T_CLIENT, T_REQ,
			 items, 7);
	t_rexpect(buf, n, PROTO_E_BODY_LEN);
	/* ok must carry a body (but queue replies are head-only) */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_QUEUE_POLL, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, items, 4);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);

	/* hold body: too short, counts disagree with length, counts too large, padding */
	struct proto_hold_reply hb = {.n_items = 2};
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, &hb, sizeof(hb) - 1);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, &hb, sizeof(hb));
	proto_put(&b, items, 4); /* one item for n_items 2 */
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	hb.n_items = PROTO_ITEMS_MAX + 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_HOLD_SEATS, DP_S_OK, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	hb.n_items = 1;
	hb.n_alt = PROTO_ITEMS_MAX + 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_HOLD_SEATS, DP_S_TAKEN, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	hb.n_alt = 0;
	hb._pad = 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_CONFIRM, DP_S_OK, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* ping body: too short, echo too long, padding */
	uint8_t pb[16 + PROTO_PING_ECHO_MAX + 1] = {0};
	const size_t ping_lens[] = {15, sizeof(pb)};
	for (unsigned k = 0; k < 2; k++) {
		proto_buf_init(&b, buf, sizeof(buf));
		at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		proto_put(&b, pb, ping_lens[k]);
		proto_end_msg(&b, at);
		t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	}
	pb[12] = 1;
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, pb, 16);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* seat map body: count disagrees with length, count too large, padding */
	static uint8_t sm[32 + PROTO_SEATMAP_PAGE_MAX + 1];
	struct proto_seat_map_reply smb = {.count = 10};
	memcpy(sm, &smb, sizeof(smb));
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, 32 + 9);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	smb.count = PROTO_SEATMAP_PAGE_MAX + 1;
	memcpy(sm, &smb, sizeof(smb));
	uint8_t bigbuf[2048];
	proto_buf_init(&b, bigbuf, sizeof(bigbuf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, sizeof(sm));
	proto_end_msg(&b, at);
	t_rexpect(bigbuf, b.len, PROTO_E_FIELD);
	smb.count = 0;
	smb._pad = 2;
	memcpy(sm, &smb, sizeof(smb));
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, 32);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* order body: no items, bad kind, padding, length */
	const struct proto_order_reply obs[] = {
		{.kind = ST_KIND_SEAT, .n_items = 0},
		{.kind = 3, .n_items = 1},
		{.kind = ST_KIND_GA, .n_items = 1, ._pad = 1},
		{.kind = ST_KIND_GA, .n_items = PROTO_ITEMS_MAX + 1},
	};
	for (unsigned k = 0; k < sizeof(obs) / sizeof(obs[0]); k++) {
		proto_buf_init(&b, buf, sizeof(buf));
		at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		proto_put(&b, &obs[k], sizeof(obs[k]));
		proto_put(&b, items, 4u * obs[k].n_items);
		proto_end_msg(&b, at);
		t_rexpect(buf, b.len, PROTO_E_FIELD);
	}
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_order_reply ob = {.kind = ST_KIND_GA, .n_items = 2};
	proto_put(&b, &ob, sizeof(ob));
	proto_put(&b, items, 4);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);

	/* a request is not a reply, and a reply is not a request */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_release(&b, T_CLIENT, T_REQ, 5), 0);
	t_rexpect(buf, b.len, PROTO_E_OPCODE);
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_RELEASE, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	t_expect(buf, b.len, PROTO_E_OPCODE, DP_D_BAD_OP);
}

/* ---- the bytes docs/protocol.md shows ---------------------------------- */

static void t_unhex(const char *hex, uint8_t *out, size_t *n)
{
	*n = strlen(hex) / 2;
	for (size_t i = 0; i < *n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The example datagrams of docs/protocol.md, byte for byte. */
#define DOC_CLIENT 0x0123456789abcdefull
#define DOC_HOLD 0x0100000500000001ull
#define DOC_ORDER 0x0040000000000001ull
#define DOC_EXPIRY 1767226200000ull
#define DOC_PING "5354010100000200efcdab896745230101000000000000006869"
#define DOC_HOLD_SEATS "5354010500001400efcdab896745230102000000000000000700000003000000020000000e0000000f000000"
#define DOC_HOLD_OK "5354018500003800efcdab89674523010200000000000000000000000000000007000000030000000100000005000001" \
	"0000000000000000c0cfe3769b01000000000000020000000e0000000f000000"
#define DOC_CONFIRM "5354010800002800efcdab8967452301030000000000000001000000050000017061792d303030310000000000000000" \
	"00000000000000000000000000000000"
#define DOC_BUSY "5354018500000800efcdab896745230102000000000000000900000005000000"

static void test_doc_bytes(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], raw[PROTO_DGRAM_MAX];
	char hex[2 * PROTO_DGRAM_MAX + 1];
	struct proto_buf b;
	size_t n;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, DOC_CLIENT, 1, (const uint8_t *)"hi", 2), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_PING);

	const uint32_t seats[2] = {14, 15};
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, DOC_CLIENT, 2, 7, 3, 2, seats, NULL), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_HOLD_SEATS);

	uint8_t pay[PROTO_PAYMENT_REF_SIZE] = "pay-0001";
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, DOC_CLIENT, 3, DOC_HOLD, pay), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_CONFIRM);

	struct proto_reply r;
	t_unhex(DOC_HOLD_OK, raw, &n);
	t_roundtrip_reply(raw, n, &r);
	assert_int_equal(r.hdr.opcode, PROTO_OP_HOLD_SEATS | PROTO_OP_REPLY);
	assert_int_equal(r.hdr.client_id, DOC_CLIENT);
	assert_int_equal(r.hdr.request_id, 2);
	assert_int_equal(r.head.status, DP_S_OK);
	assert_int_equal(r.kind, PROTO_R_HOLD);
	assert_int_equal(r.u.hold.body.event_id, 7);
	assert_int_equal(r.u.hold.body.part_id, 3);
	assert_int_equal(r.u.hold.body.hold_id, DOC_HOLD);
	assert_int_equal(r.u.hold.body.expiry_ms, DOC_EXPIRY);
	assert_int_equal(r.u.hold.body.n_items, 2);
	assert_memory_equal(r.u.hold.items, seats, sizeof(seats));

	t_unhex(DOC_BUSY, raw, &n);
	t_roundtrip_reply(raw, n, &r);
	assert_int_equal(r.kind, PROTO_R_STATUS);
	assert_int_equal(r.head.status, DP_S_BUSY);
	assert_int_equal(r.head.retry_after_ms, 5);
	assert_int_equal(r.hdr.request_id, 2);
	(void)DOC_ORDER;
}

/* ---- garbage ------------------------------------------------------------ */

static uint64_t t_rng;

static uint32_t t_rand(void)
{
	t_rng ^= t_rng << 13;
	t_rng ^= t_rng >> 7;
	t_rng ^= t_rng << 17;
	return (uint32_t)(t_rng >> 11);
}

/* A random valid request or reply message appended to b. */
static void t_random_msg(struct proto_buf *b, int reply)
{
	uint32_t seats[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++)
		seats[i] = t_rand() % 3000;
	const uint64_t c = 1 + t_rand() % 5, r = t_rand();
	const unsigned n = 1 + t_rand() % PROTO_ITEMS_MAX;
	const uint8_t *tok = (t_rand() & 1) ? t_token : NULL;
	if (!reply) {
		switch (1 + t_rand() % PROTO_OP__MAX) {
		case PROTO_OP_PING:
			proto_put_ping(b, c, r, t_pay, t_rand() % (PROTO_PAYMENT_REF_SIZE + 1));
			break;
		case PROTO_OP_QUEUE_JOIN:
			proto_put_queue_join(b, c, r, t_rand());
			break;
		case PROTO_OP_QUEUE_POLL:
			proto_put_queue_poll(b, c, r, t_rand(), t_token);
			break;
		case PROTO_OP_SEAT_MAP: {
			const uint32_t first = t_rand() % 5000;
			proto_put_seat_map(b, c, r, 1, 2, first, (uint16_t)(1 + t_rand() % 1024));
			break;
		}
		case PROTO_OP_HOLD_SEATS:
			proto_put_hold_seats(b, c, r, 1, 2, n, seats, tok);
			break;
		case PROTO_OP_HOLD_BEST:
			proto_put_hold_best(b, c, r, 1, 2, n, (uint8_t)(t_rand() % 4), tok);
			break;
		case PROTO_OP_HOLD_GA:
			proto_put_hold_ga(b, c, r, 1, 2, n, tok);
			break;
		case PROTO_OP_CONFIRM:
			proto_put_confirm(b, c, r, t_rand(), t_pay);
			break;
		case PROTO_OP_RELEASE:
			proto_put_release(b, c, r, t_rand());
			break;
		default:
			proto_put_order(b, c, r, t_rand());
			break;
		}
		return;
	}
	const size_t len0 = b->len;
	const unsigned op = 1 + t_rand() % PROTO_OP__MAX;
	const uint8_t status = (uint8_t)(t_rand() % DP_S__COUNT);
	const uint8_t detail = (uint8_t)(t_rand() % DP_D__COUNT);
	long at = t_reply_begin(b, (uint8_t)op, c, status, detail, t_rand() % 100);
	if (op == PROTO_OP_QUEUE_JOIN || op == PROTO_OP_QUEUE_POLL || (status != DP_S_OK && t_rand() % 2)) {
		/* head only */
	} else if (op == PROTO_OP_PING) {
		struct proto_ping_reply p = {.server_time_ms = t_rand(), .workers = 2};
		proto_put(b, &p, sizeof(p));
		proto_put(b, t_pay, t_rand() % 20);
	} else if (op == PROTO_OP_SEAT_MAP) {
		static uint8_t page[256];
		struct proto_seat_map_reply s = {.count = (uint16_t)(t_rand() % sizeof(page)), .capacity = 1000};
		for (unsigned i = 0; i < s.count; i++)
			page[i] = (uint8_t)t_rand();
		proto_put(b, &s, sizeof(s));
		proto_put(b, page, s.count);
	} else if (op == PROTO_OP_ORDER) {
		struct proto_order_reply o = {.kind = ST_KIND_GA, .n_items = (uint8_t)n, .order_id = t_rand()};
		proto_put(b, &o, sizeof(o));
		proto_put(b, seats, 4u * n);
	} else {
		struct proto_hold_reply h = {.n_items = (uint8_t)(t_rand() % (n + 1)),
					     .n_alt = (uint8_t)(t_rand() % 3),
					     .hold_id = t_rand()};
		proto_put(b, &h, sizeof(h));
		proto_put(b, seats, 4u * h.n_items);
		proto_put(b, seats, 4u * h.n_alt);
	}
	if (proto_end_msg(b, at) != 0) {
		b->len = len0;
		b->overflow = 0;
	}
}

/* Mutate a datagram in place; returns its new length. */
static size_t t_mutate(uint8_t *d, size_t len, size_t cap)
{
	const unsigned k = 1 + t_rand() % 6;
	for (unsigned i = 0; i < k; i++) {
		switch (t_rand() % 7) {
		case 0: /* flip a bit */
			if (len) {
				const size_t at = t_rand() % len;
				d[at] ^= (uint8_t)(1u << (t_rand() % 8));
			}
			break;
		case 1: /* a random byte */
			if (len) {
				const size_t at = t_rand() % len;
				d[at] = (uint8_t)t_rand();
			}
			break;
		case 2: /* truncate */
			if (len)
				len = t_rand() % len;
			break;
		case 3: /* extend with random bytes */ {
			size_t add = t_rand() % 64;
			if (len + add > cap)
				add = cap - len;
			for (size_t j = 0; j < add; j++)
				d[len + j] = (uint8_t)t_rand();
			len += add;
			break;
		}
		case 4: /* interesting 16-bit value at a random even offset (often body_len or flags) */
			if (len >= 2) {
				static const uint16_t vals[] = {0, 1, 7, 8, 12, 16, 40, 64, 0x7fff, 0xffff};
				size_t at = (t_rand() % (len / 2)) * 2;
				uint16_t v = vals[t_rand() % (sizeof(vals) / sizeof(vals[0]))];
				memcpy(d + at, &v, 2);
			}
			break;
		case 5: /* small change of a header's body_len (offset 6 of the first message) */
			if (len >= 8)
				d[6] = (uint8_t)(d[6] + (t_rand() % 9) - 4);
			break;
		default: /* duplicate a chunk */
			if (len > 4) {
				size_t from = t_rand() % len, n = 1 + t_rand() % (len - from);
				if (len + n <= cap) {
					memmove(d + from + n, d + from, len - from);
					len += n;
				}
			}
			break;
		}
	}
	return len;
}

/* Check one decoded request against the contract. */
static void t_check_msg(const uint8_t *d, size_t before, size_t after, const struct proto_msg *m)
{
	assert_true(after > before);
	assert_int_equal(after - before, 24u + m->hdr.body_len);
	assert_int_not_equal(m->hdr.client_id, 0);
	assert_true(m->hdr.opcode >= PROTO_OP_PING && m->hdr.opcode <= PROTO_OP__MAX);
	uint8_t again[PROTO_DGRAM_MAX + 1024];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_msg(m, &b), 0);
	assert_int_equal(b.len, after - before);
	assert_memory_equal(again, d + before, b.len);
}

static void t_check_reply(const uint8_t *d, size_t before, size_t after, const struct proto_reply *r)
{
	assert_true(after > before);
	assert_true(r->hdr.opcode & PROTO_OP_REPLY);
	assert_true(r->head.status < DP_S__COUNT);
	uint8_t again[PROTO_DGRAM_MAX + 1024];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_reply(r, &b), 0);
	assert_int_equal(b.len, after - before);
	assert_memory_equal(again, d + before, b.len);
}

static void test_garbage(void **state)
{
	(void)state;
	uint8_t *arena = malloc(T_ARENA);
	uint8_t work[T_ARENA];
	assert_non_null(arena);
	t_rng = T_GARBAGE_SEED;
	unsigned long ok_msgs = 0, ok_replies = 0, errs[PROTO_E_TOO_MANY + 1] = {0};
	for (unsigned round = 0; round < T_GARBAGE_ROUNDS; round++) {
		size_t len;
		const int reply_shaped = t_rand() & 1;
		if (t_rand() % 8 == 0) {
			/* pure random bytes, sometimes with the magic in front */
			len = t_rand() % (T_ARENA / 2);
			for (size_t i = 0; i < len; i++)
				work[i] = (uint8_t)t_rand();
			if (len >= 2 && (t_rand() & 1)) {
				work[0] = 'S';
				work[1] = 'T';
			}
		} else {
			struct proto_buf b;
			proto_buf_init(&b, work, PROTO_DGRAM_MAX);
			if (t_rand() % 16 == 0) {
				/* many small messages: around the 32-message bound */
				const unsigned count = PROTO_MSGS_MAX - 2 + t_rand() % 5;
				for (unsigned i = 0; i < count; i++) {
					if (reply_shaped)
						t_reply_status(&b, PROTO_OP_HOLD_GA, 1 + i, DP_S_BUSY, DP_D_NONE, 5);
					else
						proto_put_ping(&b, 1 + i, i, t_pay, t_rand() % 4);
				}
			} else {
				const unsigned count = 1 + t_rand() % 40;
				for (unsigned i = 0; i < count; i++)
					t_random_msg(&b, reply_shaped);
			}
			len = b.len;
			if (t_rand() % 16 != 0)
				len = t_mutate(work, len, T_ARENA);
		}
		/* The datagram ends where the allocation ends: ASan sees any overread. */
		uint8_t *d = arena + (T_ARENA - len);
		memcpy(d, work, len);

		size_t off = 0;
		unsigned n = 0;
		for (;;) {
			struct proto_msg m;
			int hdr_ok = -1;
			size_t before = off;
			enum proto_err e = proto_decode_msg(d, len, &off, &m, &hdr_ok);
			if (e != PROTO_OK) {
				assert_int_equal(off, len);
				assert_int_equal(hdr_ok, e == PROTO_E_NOT_STAMPEDE ? 0 : 1);
				assert_true(e <= PROTO_E_TOO_MANY);
				errs[e]++;
				break;
			}
			t_check_msg(d, before, off, &m);
			ok_msgs++;
			assert_true(++n <= PROTO_MSGS_MAX);
			if (off == len)
				break;
		}
		off = 0;
		n = 0;
		for (;;) {
			struct proto_reply r;
			size_t before = off;
			enum proto_err e = proto_decode_reply(d, len, &off, &r);
			if (e != PROTO_OK) {
				assert_int_equal(off, len);
				break;
			}
			t_check_reply(d, before, off, &r);
			ok_replies++;
			assert_true(++n <= PROTO_MSGS_MAX);
			if (off == len)
				break;
		}
	}
	free(arena);
	printf("garbage: %u datagrams, %lu requests and %lu replies decoded; errors:", T_GARBAGE_ROUNDS, ok_msgs,
	       ok_replies);
	for (int e = PROTO_E_NOT_STAMPEDE; e <= PROTO_E_TOO_MANY; e++)
		printf(" %s %lu", proto_err_name((enum proto_err)e), errs[e]);
	printf("\n");
	/* the generator reaches every outcome */
	assert_true(ok_msgs > 100000 && ok_replies > 100000);
	for (int e = PROTO_E_NOT_STAMPEDE; e <= PROTO_E_TOO_MANY; e++)
		assert_true(errs[e] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rt_ping),
		cmocka_unit_test(test_rt_seat_map),
		cmocka_unit_test(test_rt_hold_seats),
		cmocka_unit_test(test_rt_hold_best_ga),
		cmocka_unit_test(test_rt_confirm_release_order),
		cmocka_unit_test(test_rt_queue),
		cmocka_unit_test(test_rt_reply_status),
		cmocka_unit_test(test_rt_reply_ping),
		cmocka_unit_test(test_rt_reply_hold),
		cmocka_unit_test(test_rt_reply_seat_map),
		cmocka_unit_test(test_rt_reply_order),
		cmocka_unit_test(test_err_not_stampede),
		cmocka_unit_test(test_err_version),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_err_opcode),
		cmocka_unit_test(test_err_flags),
		cmocka_unit_test(test_err_body_len),
		cmocka_unit_test(test_err_field),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_encoder_overflow),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_doc_bytes),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, t_setup, NULL);
}
