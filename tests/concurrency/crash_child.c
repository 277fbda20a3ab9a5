/*
 * crash_child.c - the workload test_crash kills with SIGKILL.
 *
 *   crash_child DIR ACKFILE EVENT_ID SEED READY_FD
 *
 * Opens DIR with full sync, recovers, starts the group-commit writer, loads
 * event EVENT_ID unless it is there already, then runs CR_WORKERS worker
 * threads at full speed: named-seat, best-seat and GA holds, confirms and
 * releases of its own acknowledged holds. A reply is "acknowledged" - one
 * line appended to ACKFILE (format in crash_common.h) - only once
 * dp_worker_durable() has reached its wait_seq, exactly when a real
 * dataplane would let it leave. Writes one byte to READY_FD when the
 * workload runs, then waits to be killed (exits 12 after 120 s).
 *
 * Each worker issues only requests dp_route() gives to itself (its own
 * sections; GA with clients hashing to it), so no hand-off is needed.
 * Wall clock for now_ms; the hold ttl is an hour, nothing expires.
 * Exit codes: 2 usage, 10 recovery failed, 11 setup failed, 12 not killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"
#include "storage/st.h"
#include "tests/concurrency/conc_common.h"
#include "tests/concurrency/crash_common.h"

#define CC_PENDING 256   /* replies waiting for durability per worker */
#define CC_ACKED 65536   /* acknowledged holds kept for confirm/release */
#define CC_CLIENTS 128   /* clients per worker */
#define CC_LINE 256

static struct dp_engine *g_eng;
static int g_ack_fd;
static uint32_t g_event;
static uint64_t g_seed;

struct pend {
	uint64_t wait_seq;
	char line[CC_LINE];
	int len;
	/* for an H line: the hold, to confirm or release later */
	bool is_hold;
	uint64_t hold_id, client;
};

struct acked {
	uint64_t hold_id, client;
};

struct wk {
	unsigned idx;
	pthread_t tid;
	struct dp_worker *w;
	uint64_t rng;
	uint64_t req;
	uint64_t clients[CC_CLIENTS]; /* GA clients routed to this worker */
	uint32_t sections[CR_N_SEC];  /* section ids this worker owns */
	unsigned n_sections;
	struct pend pend[CC_PENDING];
	unsigned pend_head, pend_n;
	struct acked *acked;
	unsigned n_acked;
	/* a GA hold that got BUSY/rebalancing, retried as is */
	bool retry;
	struct dp_request retry_rq;
};

static struct wk g_wk[CR_WORKERS];

static void write_line(const char *buf, int len)
{
	/* one complete line per write(2); O_APPEND keeps the threads' lines whole */
	ssize_t n = write(g_ack_fd, buf, (size_t)len);
	if (n != len) {
		fprintf(stderr, "crash_child: ack write: %s\n", strerror(errno));
		_exit(11);
	}
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	char buf[CC_LINE];
	int n = snprintf(buf, sizeof(buf), "X ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n > CC_LINE - 2)
		n = CC_LINE - 2;
	buf[n++] = '\n';
	write_line(buf, n);
	fprintf(stderr, "crash_child: %.*s", n, buf);
}

static int fmt_items(char *buf, size_t cap, const uint32_t *items, unsigned n)
{
	int len = 0;
	for (unsigned k = 0; k < n && (size_t)len < cap; k++)
		len += snprintf(buf + len, cap - (size_t)len, " %u", items[k]);
	return len;
}

static void pend_push(struct wk *k, const struct dp_reply *rp, const char *line, int len, bool is_hold,
		      uint64_t client)
{
	if (k->pend_n == CC_PENDING) {
		bad("pending queue overflow");
		_exit(11);
	}
	struct pend *p = &k->pend[(k->pend_head + k->pend_n++) % CC_PENDING];
	p->wait_seq = rp->wait_seq;
	memcpy(p->line, line, (size_t)len);
	p->len = len;
	p->is_hold = is_hold;
	p->hold_id = rp->hold_id;
	p->client = client;
}

/* Acknowledge what is durable, in order. */
static void flush(struct wk *k)
{
	uint64_t durable = dp_worker_durable(k->w);
	while (k->pend_n > 0) {
		struct pend *p = &k->pend[k->pend_head];
		if (p->wait_seq > durable)
			break;
		write_line(p->line, p->len);
		if (p->is_hold && k->n_acked < CC_ACKED)
			k->acked[k->n_acked++] = (struct acked){p->hold_id, p->client};
		k->pend_head = (k->pend_head + 1) % CC_PENDING;
		k->pend_n--;
	}
}

static void on_hold_reply(struct wk *k, const struct dp_request *rq, const struct dp_reply *rp, uint64_t now)
{
	if (rp->status == DP_S_OK) {
		if (rp->detail != DP_D_NONE || rp->wait_seq == 0 || rp->n_items != rq->n ||
		    rp->expiry_ms != now + CR_TTL_MS || dp_hold_worker(rp->hold_id) != k->idx) {
			bad("hold reply %s/%s n %u/%u wait %" PRIu64, dp_status_name(rp->status),
			    dp_detail_name(rp->detail), rp->n_items, rq->n, rp->wait_seq);
			return;
		}
		char line[CC_LINE];
		int len = snprintf(line, sizeof(line), "H %" PRIu64 " %" PRIu64 " %u %u %" PRIu64 " %u", rp->hold_id,
				   rq->client_id, rp->event_id, rp->part_id, rp->expiry_ms, rp->n_items);
		len += fmt_items(line + len, sizeof(line) - (size_t)len - 1, rp->items, rp->n_items);
		line[len++] = '\n';
		pend_push(k, rp, line, len, true, rq->client_id);
		return;
	}
	if (rp->status == DP_S_BUSY && rq->op == DP_OP_HOLD_GA) {
		k->retry = true; /* stock is on the other worker: ask again next turn */
		k->retry_rq = *rq;
		return;
	}
	if (rp->status == DP_S_TAKEN || rp->status == DP_S_SOLD_OUT || rp->status == DP_S_LIMIT ||
	    rp->status == DP_S_BUSY)
		return;
	bad("hold op %u: %s/%s", rq->op, dp_status_name(rp->status), dp_detail_name(rp->detail));
}

/*
 * The client changes its mind right away (a double click): a release of the
 * hold it just confirmed, or a confirm of the hold it just released. The
 * answer (BAD_REQUEST/already_confirmed with the order id, or RELEASED)
 * reveals the first request's outcome; it leaves when dp_worker_durable()
 * reaches its wait_seq - at once when that is 0 - and is acknowledged then:
 *   K <order_id> <hold_id>                  "your hold is already order X"
 *   Q <hold_id> <client> <release_req_id>   "your hold is already released"
 */
static void second_thoughts(struct wk *k, const struct dp_request *first, const struct dp_reply *first_rp,
			    uint64_t now)
{
	struct dp_request rq = *first;
	struct dp_reply rp;
	bool was_confirm = first->op == DP_OP_CONFIRM;
	rq.op = was_confirm ? DP_OP_RELEASE : DP_OP_CONFIRM;
	rq.request_id = ++k->req;
	memset(rq.payment_ref, 0, sizeof(rq.payment_ref));
	if (!was_confirm)
		crash_payref(rq.request_id, rq.payment_ref);
	dp_execute(k->w, &rq, now, &rp);
	char line[CC_LINE];
	int len;
	if (was_confirm) {
		if (rp.status != DP_S_BAD_REQUEST || rp.detail != DP_D_CONFIRMED || rp.order_id != first_rp->order_id) {
			bad("release right after the confirm of %" PRIu64 ": %s/%s", first->hold_id,
			    dp_status_name(rp.status), dp_detail_name(rp.detail));
			return;
		}
		len = snprintf(line, sizeof(line), "K %" PRIu64 " %" PRIu64 "\n", rp.order_id, first->hold_id);
	} else {
		if (rp.status != DP_S_RELEASED) {
			bad("confirm right after the release of %" PRIu64 ": %s/%s", first->hold_id,
			    dp_status_name(rp.status), dp_detail_name(rp.detail));
			return;
		}
		len = snprintf(line, sizeof(line), "Q %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", first->hold_id,
			       first->client_id, first->request_id);
	}
	if (rp.wait_seq == 0 || rp.wait_seq <= dp_worker_durable(k->w))
		write_line(line, len); /* the reply may leave now: the client knows */
	else
		pend_push(k, &rp, line, len, false, first->client_id);
}

static void one_op(struct wk *k, uint64_t now)
{
	struct dp_request rq;
	struct dp_reply rp;
	memset(&rq, 0, sizeof(rq));
	if (k->retry) {
		k->retry = false;
		rq = k->retry_rq;
		dp_execute(k->w, &rq, now, &rp);
		on_hold_reply(k, &rq, &rp, now);
		return;
	}
	rq.request_id = ++k->req;
	unsigned roll = cc_below(&k->rng, 100);
	if (roll < 40 && k->n_acked > 0) {
		/* confirm or release one acknowledged hold, never twice */
		unsigned i = cc_below(&k->rng, k->n_acked);
		struct acked a = k->acked[i];
		k->acked[i] = k->acked[--k->n_acked];
		bool confirm = roll < 8;
		rq.op = confirm ? DP_OP_CONFIRM : DP_OP_RELEASE;
		rq.client_id = a.client;
		rq.hold_id = a.hold_id;
		if (confirm)
			crash_payref(rq.request_id, rq.payment_ref);
		char line[CC_LINE];
		int len = snprintf(line, sizeof(line), "%c %" PRIu64 "\n", confirm ? 'c' : 'r', a.hold_id);
		write_line(line, len); /* intent first: the kill may come during the execute */
		int r = dp_route(g_eng, &rq);
		if (r != (int)k->idx) {
			bad("route of hold %" PRIu64 ": %d", a.hold_id, r);
			return;
		}
		for (;;) {
			dp_execute(k->w, &rq, now, &rp);
			if (rp.status != DP_S_BUSY)
				break;
			flush(k); /* log ring full: let the writer catch up */
		}
		if (rp.status != DP_S_OK || rp.detail != DP_D_NONE || rp.wait_seq == 0 || rp.hold_id != a.hold_id) {
			bad("%s of acked hold %" PRIu64 ": %s/%s", confirm ? "confirm" : "release", a.hold_id,
			    dp_status_name(rp.status), dp_detail_name(rp.detail));
			return;
		}
		if (confirm) {
			len = snprintf(line, sizeof(line), "C %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u",
				       rp.order_id, a.hold_id, a.client, rq.request_id, rp.n_items);
			len += fmt_items(line + len, sizeof(line) - (size_t)len - 1, rp.items, rp.n_items);
			line[len++] = '\n';
		} else {
			len = snprintf(line, sizeof(line), "R %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", a.hold_id, a.client,
				       rq.request_id);
		}
		pend_push(k, &rp, line, len, false, a.client);
		if (cc_below(&k->rng, 4) == 0)
			second_thoughts(k, &rq, &rp, now);
		return;
	}
	rq.event_id = g_event;
	rq.client_id = k->clients[cc_below(&k->rng, CC_CLIENTS)];
	unsigned kind = cc_below(&k->rng, 100);
	if (kind < 45) {
		rq.op = DP_OP_HOLD_SEATS;
		rq.part_id = k->sections[cc_below(&k->rng, k->n_sections)];
		rq.n = (uint8_t)(1 + cc_below(&k->rng, 4));
		uint32_t base = cc_below(&k->rng, CR_SEATS);
		for (unsigned j = 0; j < rq.n; j++) {
			bool dup;
			do {
				rq.seats[j] = (base + cc_below(&k->rng, 12)) % CR_SEATS;
				dup = false;
				for (unsigned x = 0; x < j; x++)
					dup |= rq.seats[x] == rq.seats[j];
			} while (dup);
		}
	} else if (kind < 65) {
		rq.op = DP_OP_HOLD_BEST;
		rq.part_id = k->sections[cc_below(&k->rng, k->n_sections)];
		rq.n = (uint8_t)(1 + cc_below(&k->rng, 5));
		rq.tier = (uint8_t)cc_below(&k->rng, 3);
	} else {
		rq.op = DP_OP_HOLD_GA;
		rq.part_id = cr_part_ids[CR_N_SEC + (cc_below(&k->rng, 3) == 0)];
		rq.n = (uint8_t)(1 + cc_below(&k->rng, 4));
	}
	if (dp_route(g_eng, &rq) != (int)k->idx) {
		bad("hold routed to %d, not %u", dp_route(g_eng, &rq), k->idx);
		return;
	}
	dp_execute(k->w, &rq, now, &rp);
	on_hold_reply(k, &rq, &rp, now);
}

static void *worker_main(void *arg)
{
	struct wk *k = arg;
	urcu_qsbr_register_thread();
	for (;;) {
		urcu_qsbr_quiescent_state();
		uint64_t now = cc_wall_ms();
		dp_worker_tick(k->w, now);
		flush(k);
		if (k->pend_n < CC_PENDING - 1)
			one_op(k, now);
		else
			sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crash_child DIR ACKFILE EVENT_ID SEED READY_FD\n");
		return 2;
	}
	const char *dir = argv[1];
	g_event = (uint32_t)strtoul(argv[3], NULL, 10);
	g_seed = strtoull(argv[4], NULL, 0);
	int ready_fd = atoi(argv[5]);
	g_ack_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (g_ack_fd < 0) {
		perror("crash_child: ack file");
		return 11;
	}

	struct st_options so = {.dir = dir, .map_size_bytes = CR_MAP_SIZE, .nosync = false, .workers = CR_WORKERS};
	struct st_env *env;
	int rc = st_env_open(&so, &env);
	if (rc != 0) {
		fprintf(stderr, "crash_child: st_env_open: %s\n", st_strerror(rc));
		return 11;
	}
	struct dp_config cfg;
	crash_config(&cfg);
	rc = dp_engine_create(&cfg, env, &g_eng);
	if (rc != 0) {
		fprintf(stderr, "crash_child: dp_engine_create: %d\n", rc);
		return 11;
	}
	urcu_qsbr_register_thread();
	rc = dp_engine_recover(g_eng);
	if (rc != 0) {
		fprintf(stderr, "crash_child: dp_engine_recover: %s\n", st_strerror(rc));
		return 10;
	}
	rc = st_writer_start(env);
	if (rc != 0) {
		fprintf(stderr, "crash_child: st_writer_start: %d\n", rc);
		return 11;
	}
	static struct crash_event ce;
	crash_event_build(&ce, g_event);
	char err[200] = "";
	rc = dp_engine_add_event(g_eng, &ce.def, err, sizeof(err));
	if (rc != 0 && rc != -EEXIST) {
		fprintf(stderr, "crash_child: dp_engine_add_event: %d %s\n", rc, err);
		return 11;
	}

	for (unsigned i = 0; i < CR_WORKERS; i++) {
		struct wk *k = &g_wk[i];
		k->idx = i;
		k->w = dp_engine_worker(g_eng, i);
		k->rng = g_seed * 31 + i + 1;
		k->req = (uint64_t)i << 56 | (g_seed & 0xffffffffull) << 20; /* fresh ids per run */
		k->acked = calloc(CC_ACKED, sizeof(struct acked));
		if (!k->acked)
			return 11;
		struct dp_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_HOLD_SEATS;
		rq.event_id = g_event;
		for (unsigned s = 0; s < CR_N_SEC; s++) {
			rq.part_id = cr_part_ids[s];
			if (dp_route(g_eng, &rq) == (int)i)
				k->sections[k->n_sections++] = cr_part_ids[s];
		}
		rq.op = DP_OP_HOLD_GA;
		rq.part_id = cr_part_ids[CR_N_SEC];
		unsigned n = 0;
		/* clients of this run: distinct per event so buyer limits stay far */
		for (uint64_t c = (uint64_t)g_event << 32 | 1; n < CC_CLIENTS; c++) {
			rq.client_id = c;
			if (dp_route(g_eng, &rq) == (int)i)
				k->clients[n++] = c;
		}
		if (k->n_sections == 0) {
			fprintf(stderr, "crash_child: worker %u owns no section\n", i);
			return 11;
		}
	}
	for (unsigned i = 0; i < CR_WORKERS; i++)
		pthread_create(&g_wk[i].tid, NULL, worker_main, &g_wk[i]);
	urcu_qsbr_thread_offline();
	if (write(ready_fd, "R", 1) != 1)
		return 11;
	close(ready_fd);
	sleep(120);
	fprintf(stderr, "crash_child: not killed after 120 s\n");
	_exit(12);
}
