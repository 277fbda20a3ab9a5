/*
 * test_crash.c - SIGKILL the reservation core in the middle of its work,
 * recover, and check that everything it acknowledged survived.
 *
 *   test_crash PATH_TO_CRASH_CHILD
 *
 * Rounds (STAMPEDE_CRASH_ROUNDS, default 30) on one data directory, state
 * accumulating: fork/exec crash_child (full sync, CR_WORKERS workers, round
 * r loads event CR_EVENT_BASE + r), let it run 50-400 ms after it reports
 * ready (every fifth round: kill it 0-40 ms after the exec, during recovery
 * or start-up), SIGKILL it, then open the directory here, recover with the
 * same configuration and check, against every acknowledgement of every
 * round so far (format in crash_common.h):
 *
 *   - recovery succeeds;
 *   - every acknowledged confirm is an order with the same hold, client,
 *     part, items and payment reference, its tickets SOLD with its id, and a
 *     retry of the very confirm answers the same order;
 *   - no ticket is in two orders; every SOLD word is in its order; no order
 *     comes from a hold whose release was acknowledged;
 *   - every acknowledged hold that no confirm or release was even attempted
 *     for is still HELD by it, with exactly the acknowledged expiry, and can
 *     be confirmed by its client (checked on a sample); one whose confirm was
 *     attempted but not acknowledged is either still held or an order of
 *     exactly its tickets;
 *   - a retry of an acknowledged release answers OK (replayed);
 *   - what a reply the engine let leave at once (wait_seq 0) told a client
 *     is still true: "already order X" (a release right after the confirm)
 *     means order X exists; "already released" (a confirm right after the
 *     release) means the release is there (a retry of it replays);
 *   - counts equal the words, free + held + sold + withheld == capacity;
 *   - in the latest event every free ticket can be held (no ticket lost by
 *     recovery, GA stock redistributed), and no more.
 * The checks mutate only this process's memory: the writer never runs here,
 * so nothing it does reaches the log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"
#include "storage/st.h"
#include "tests/concurrency/conc_common.h"
#include "tests/concurrency/crash_common.h"

#define CT_ROUNDS_DEFAULT 30
#define CT_PROBES 1500 /* confirm probes of live holds per round */

static unsigned g_failures;
static unsigned g_round;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		if (g_failures++ < 40) {                                                           \
			fprintf(stderr, "FAIL round %u %s:%d: ", g_round, __FILE__, __LINE__);     \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FAIL(__VA_ARGS__);                                                         \
	} while (0)

/* ------------------------------------------------------------ the model */

enum { AH_LIVE = 0, AH_CONFIRMING, AH_RELEASING, AH_CONFIRMED, AH_RELEASED };

struct ahold {
	uint64_t hold_id, client, expiry, order_id, end_req;
	uint32_t event, part;
	uint8_t n, state;
	uint32_t items[DP_HOLD_TICKETS_MAX];
};

static struct ahold *g_holds;
static size_t g_n_holds, g_cap_holds;
/* hold id -> index + 1, open addressing */
static uint64_t *g_hkey;
static uint32_t *g_hval;
static size_t g_hmask;

struct aorder {
	uint64_t order_id, hold_id, client, request_id;
	uint8_t n;
	uint32_t items[DP_HOLD_TICKETS_MAX];
};
static struct aorder *g_orders;
static size_t g_n_orders, g_cap_orders;

/* replies with wait_seq 0 that revealed an order (K) or a release (Q) */
struct reveal {
	uint64_t hold_id, order_id, client, request_id;
	char kind;
};
static struct reveal *g_reveals;
static size_t g_n_reveals, g_cap_reveals;

static uint64_t g_acks_h, g_acks_c, g_acks_r, g_intents;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap : 1024;
	while (n < need)
		n *= 2;
	p = realloc(p, n * elem);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	*cap = n;
	return p;
}

static size_t hslot(uint64_t id)
{
	uint64_t h = id;
	size_t i = (size_t)cc_rng(&h) & g_hmask;
	while (g_hkey[i] != 0 && g_hkey[i] != id)
		i = (i + 1) & g_hmask;
	return i;
}

static void hindex_rebuild(void)
{
	free(g_hkey);
	free(g_hval);
	size_t slots = 1u << 16;
	while (slots < 4 * (g_n_holds + 1))
		slots *= 2;
	g_hmask = slots - 1;
	g_hkey = calloc(slots, sizeof(*g_hkey));
	g_hval = calloc(slots, sizeof(*g_hval));
	for (size_t i = 0; i < g_n_holds; i++) {
		size_t s = hslot(g_holds[i].hold_id);
		g_hkey[s] = g_holds[i].hold_id;
		g_hval[s] = (uint32_t)(i + 1);
	}
}

static struct ahold *hfind(uint64_t id)
{
	if (!g_hkey)
		return NULL;
	size_t s = hslot(id);
	return g_hkey[s] == id ? &g_holds[g_hval[s] - 1] : NULL;
}

static int parse_items(char **p, uint8_t n, uint32_t *items)
{
	for (unsigned k = 0; k < n; k++) {
		char *end;
		unsigned long v = strtoul(*p, &end, 10);
		if (end == *p)
			return -1;
		items[k] = (uint32_t)v;
		*p = end;
	}
	return 0;
}

/* Read one child's acknowledgement file into the model. */
static void read_acks(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return; /* killed before it opened the file */
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			break; /* a partial last line */
		char *p = line + 2;
		char *end;
		switch (line[0]) {
		case 'H': {
			g_holds = grow(g_holds, &g_cap_holds, g_n_holds + 1, sizeof(*g_holds));
			struct ahold *h = &g_holds[g_n_holds];
			memset(h, 0, sizeof(*h));
			unsigned n;
			if (sscanf(p, "%" SCNu64 " %" SCNu64 " %u %u %" SCNu64 " %u", &h->hold_id, &h->client, &h->event,
				   &h->part, &h->expiry, &n) != 6 ||
			    n == 0 || n > DP_HOLD_TICKETS_MAX) {
				FAIL("bad ack line: %s", line);
				break;
			}
			h->n = (uint8_t)n;
			for (int k = 0; k < 6; k++) { /* skip the six fields */
				strtoull(p, &end, 10);
				p = end;
			}
			if (parse_items(&p, h->n, h->items) != 0) {
				FAIL("bad ack line: %s", line);
				break;
			}
			CHECK(hfind(h->hold_id) == NULL, "hold id %" PRIu64 " acknowledged twice", h->hold_id);
			g_n_holds++;
			g_acks_h++;
			if (g_n_holds * 2 > g_hmask)
				hindex_rebuild();
			size_t s = hslot(h->hold_id);
			g_hkey[s] = h->hold_id;
			g_hval[s] = (uint32_t)g_n_holds;
			break;
		}
		case 'c':
		case 'r': {
			uint64_t id = strtoull(p, NULL, 10);
			struct ahold *h = hfind(id);
			if (!h || h->state != AH_LIVE) {
				FAIL("intent for hold %" PRIu64 " that is not an acknowledged live hold", id);
				break;
			}
			h->state = line[0] == 'c' ? AH_CONFIRMING : AH_RELEASING;
			g_intents++;
			break;
		}
		case 'C': {
			g_orders = grow(g_orders, &g_cap_orders, g_n_orders + 1, sizeof(*g_orders));
			struct aorder *o = &g_orders[g_n_orders];
			unsigned n;
			if (sscanf(p, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %u", &o->order_id, &o->hold_id,
				   &o->client, &o->request_id, &n) != 5 ||
			    n == 0 || n > DP_HOLD_TICKETS_MAX) {
				FAIL("bad ack line: %s", line);
				break;
			}
			o->n = (uint8_t)n;
			for (int k = 0; k < 5; k++) {
				strtoull(p, &end, 10);
				p = end;
			}
			if (parse_items(&p, o->n, o->items) != 0) {
				FAIL("bad ack line: %s", line);
				break;
			}
			struct ahold *h = hfind(o->hold_id);
			if (!h || h->state != AH_CONFIRMING) {
				FAIL("confirm ack for hold %" PRIu64 " without its intent", o->hold_id);
				break;
			}
			CHECK(h->n == o->n && memcmp(h->items, o->items, o->n * sizeof(uint32_t)) == 0 &&
				      h->client == o->client,
			      "confirm ack of %" PRIu64 " with other items than its hold", o->hold_id);
			h->state = AH_CONFIRMED;
			h->order_id = o->order_id;
			g_n_orders++;
			g_acks_c++;
			break;
		}
		case 'R': {
			uint64_t id, client, req;
			if (sscanf(p, "%" SCNu64 " %" SCNu64 " %" SCNu64, &id, &client, &req) != 3) {
				FAIL("bad ack line: %s", line);
				break;
			}
			struct ahold *h = hfind(id);
			if (!h || h->state != AH_RELEASING) {
				FAIL("release ack for hold %" PRIu64 " without its intent", id);
				break;
			}
			h->state = AH_RELEASED;
			h->end_req = req;
			g_acks_r++;
			break;
		}
		case 'K':
		case 'Q': {
			g_reveals = grow(g_reveals, &g_cap_reveals, g_n_reveals + 1, sizeof(*g_reveals));
			struct reveal *r = &g_reveals[g_n_reveals];
			memset(r, 0, sizeof(*r));
			r->kind = line[0];
			int ok = line[0] == 'K' ? sscanf(p, "%" SCNu64 " %" SCNu64, &r->order_id, &r->hold_id) == 2
						: sscanf(p, "%" SCNu64 " %" SCNu64 " %" SCNu64, &r->hold_id, &r->client,
							 &r->request_id) == 3;
			if (!ok || !hfind(r->hold_id)) {
				FAIL("bad ack line: %s", line);
				break;
			}
			g_n_reveals++;
			break;
		}
		case 'X':
			FAIL("the child reported: %s", line + 2);
			break;
		default:
			FAIL("unknown ack line: %s", line);
		}
	}
	fclose(f);
}

/* ------------------------------------------------------------ checks */

static int part_ix(uint32_t part)
{
	for (int i = 0; i < CR_N_PARTS; i++)
		if (cr_part_ids[i] == part)
			return i;
	return -1;
}

static uint64_t word_of(struct dp_engine *eng, uint32_t ev, uint32_t part, uint32_t item)
{
	uint64_t w = ~0ull;
	int rc = dp_seat_word(eng, ev, part, item, &w);
	CHECK(rc == 0, "dp_seat_word(%u,%u,%u) = %d", ev, part, item, rc);
	return w;
}

static bool held_by(uint64_t w, const struct ahold *h)
{
	return dp_seat_word_state(w) == DP_SEAT_HELD && dp_seat_word_hold_ref(w) == (uint32_t)(h->hold_id >> 32) &&
	       (w & DP_WORD_EXPIRY_MASK) == cc_word_expiry(h->expiry);
}

/* How far the verifier has waited out busy/retry_memory_full this round. */
static uint64_t g_waited_ms;

/*
 * Execute one request as the recovered engine's client. Right after recovery
 * the retry memory holds the last moments before the crash, all younger than
 * the horizon: a new mutation is answered busy/retry_memory_full until they
 * age, and a real client waits retry_after_ms. So does this one, on its own
 * clock (holds live an hour here, so waiting expires nothing).
 */
static struct dp_reply exec1(struct dp_engine *eng, const struct dp_request *rq, uint64_t now)
{
	struct dp_reply rp;
	int wk = dp_route(eng, rq);
	if (wk < 0 || wk >= CR_WORKERS) {
		memset(&rp, 0, sizeof(rp));
		rp.status = DP_S__COUNT;
		return rp;
	}
	for (int tries = 0;; tries++) {
		dp_execute(dp_engine_worker(eng, (unsigned)wk), rq, now + g_waited_ms, &rp);
		if (rp.status != DP_S_BUSY || rp.detail != DP_D_RETRY_MEMORY || tries == 100)
			return rp;
		CHECK(rp.retry_after_ms > 0 && rp.retry_after_ms <= CR_IDEM_HORIZON_MS,
		      "retry_memory_full with a wait of %u ms", rp.retry_after_ms);
		g_waited_ms += rp.retry_after_ms;
	}
}

struct stats {
	uint64_t live, confirming_held, confirming_sold, releasing, probes, retries_c, retries_r, drained, reveals;
};

static void check_round(struct dp_engine *eng, uint32_t n_events, struct stats *s, uint64_t *rng)
{
	uint64_t now = cc_wall_ms();
	/* events present: those of rounds whose child got far enough */
	bool present[512] = {false};
	for (uint32_t e = 0; e < n_events && e < 512; e++) {
		struct dp_part_counts c;
		present[e] = dp_event_counts_get(eng, CR_EVENT_BASE + e, &c) == 0;
	}

	/* 1. all orders: no ticket twice, words agree */
	uint8_t *seen[512][CR_N_PARTS];
	memset(seen, 0, sizeof(seen));
	uint32_t sold_items[512][CR_N_PARTS];
	memset(sold_items, 0, sizeof(sold_items));
	for (uint32_t e = 0; e < n_events; e++)
		if (present[e])
			for (int p = 0; p < CR_N_PARTS; p++)
				seen[e][p] = calloc(cr_part_caps[p], 1);
	uint64_t n_orders = 0;
	for (unsigned wk = 0; wk < CR_WORKERS; wk++) {
		uint64_t n = dp_worker_orders(dp_engine_worker(eng, wk));
		n_orders += n;
		for (uint64_t q = 1; q <= n; q++) {
			uint64_t oid = dp_order_id(wk, q);
			struct dp_order_view v;
			if (dp_order_get(eng, oid, &v) != 0) {
				FAIL("order %#" PRIx64 " missing", oid);
				continue;
			}
			uint32_t e = v.event_id - CR_EVENT_BASE;
			int p = part_ix(v.part_id);
			if (v.event_id < CR_EVENT_BASE || e >= n_events || !present[e] || p < 0 || v.n_items == 0 ||
			    v.n_items > DP_HOLD_TICKETS_MAX) {
				FAIL("order %#" PRIx64 ": event %u part %u n %u", oid, v.event_id, v.part_id, v.n_items);
				continue;
			}
			struct ahold *h = hfind(v.hold_id);
			if (h) {
				CHECK(h->state != AH_RELEASED, "order %#" PRIx64 " from hold %" PRIu64
				      " whose release was acknowledged", oid, v.hold_id);
				CHECK(h->state == AH_CONFIRMING || h->state == AH_CONFIRMED,
				      "order %#" PRIx64 " from hold %" PRIu64 " nobody tried to confirm", oid, v.hold_id);
				CHECK(v.n_items == h->n && memcmp(v.items, h->items, h->n * sizeof(uint32_t)) == 0 &&
					      v.client_id == h->client && v.event_id == h->event && v.part_id == h->part,
				      "order %#" PRIx64 " differs from its acknowledged hold %" PRIu64, oid, v.hold_id);
			}
			for (unsigned k = 0; k < v.n_items; k++) {
				uint32_t it = v.items[k];
				if (it >= cr_part_caps[p]) {
					FAIL("order %#" PRIx64 " item %u out of range", oid, it);
					continue;
				}
				CHECK(!seen[e][p][it], "ticket %u/%u/%u sold twice (again in %#" PRIx64 ")", v.event_id,
				      v.part_id, it, oid);
				seen[e][p][it] = 1;
				sold_items[e][p]++;
				uint64_t w = word_of(eng, v.event_id, v.part_id, it);
				CHECK(dp_seat_word_state(w) == DP_SEAT_SOLD && dp_seat_word_order(w) == oid,
				      "ticket %u/%u/%u of order %#" PRIx64 ": word %#" PRIx64, v.event_id, v.part_id, it, oid,
				      w);
			}
		}
	}

	CHECK(n_orders >= g_n_orders, "%" PRIu64 " orders after recovery, %zu were acknowledged", n_orders, g_n_orders);

	/* 2. every acknowledged order, as acknowledged; a retry gives it again */
	for (size_t i = 0; i < g_n_orders; i++) {
		const struct aorder *o = &g_orders[i];
		const struct ahold *h = hfind(o->hold_id);
		struct dp_order_view v;
		if (dp_order_get(eng, o->order_id, &v) != 0) {
			FAIL("acknowledged order %#" PRIx64 " (hold %" PRIu64 ") lost", o->order_id, o->hold_id);
			continue;
		}
		uint8_t pay[ST_PAYMENT_REF_SIZE];
		crash_payref(o->request_id, pay);
		CHECK(h && v.hold_id == o->hold_id && v.client_id == o->client && v.event_id == h->event &&
			      v.part_id == h->part && v.n_items == o->n &&
			      memcmp(v.items, o->items, o->n * sizeof(uint32_t)) == 0 &&
			      memcmp(v.payment_ref, pay, sizeof(pay)) == 0,
		      "order %#" PRIx64 " differs from its acknowledgement", o->order_id);
		if (h)
			for (unsigned k = 0; k < h->n; k++) {
				uint64_t w = word_of(eng, h->event, h->part, h->items[k]);
				CHECK(dp_seat_word_state(w) == DP_SEAT_SOLD && dp_seat_word_order(w) == o->order_id,
				      "ticket %u/%u/%u of acknowledged order %#" PRIx64 ": word %#" PRIx64, h->event,
				      h->part, h->items[k], o->order_id, w);
			}
		if (h && cc_below(rng, 8) == 0) { /* the client retries its confirm */
			struct dp_request rq;
			memset(&rq, 0, sizeof(rq));
			rq.op = DP_OP_CONFIRM;
			rq.client_id = o->client;
			rq.request_id = o->request_id;
			rq.hold_id = o->hold_id;
			crash_payref(o->request_id, rq.payment_ref);
			struct dp_reply rp = exec1(eng, &rq, now);
			CHECK((rp.status == DP_S_OK && (rp.detail == DP_D_REPLAY || rp.detail == DP_D_CONFIRMED) &&
			       rp.order_id == o->order_id) ||
				      (rp.status == DP_S_NOT_FOUND && rp.detail == DP_D_HOLD),
			      "retried confirm of hold %" PRIu64 ": %s/%s order %#" PRIx64 " (acknowledged %#" PRIx64 ")",
			      o->hold_id, dp_status_name(rp.status), dp_detail_name(rp.detail), rp.order_id,
			      o->order_id);
			s->retries_c++;
		}
	}

	/* 2b. what immediate replies told the clients is true */
	for (size_t i = 0; i < g_n_reveals; i++) {
		const struct reveal *r = &g_reveals[i];
		if (r->kind == 'K') {
			struct dp_order_view v;
			int rc = dp_order_get(eng, r->order_id, &v);
			CHECK(rc == 0 && v.hold_id == r->hold_id,
			      "a reply told the client of hold %" PRIu64 " it is order %#" PRIx64
			      " (release right after the confirm, wait_seq 0); after the crash that order %s",
			      r->hold_id, r->order_id, rc == 0 ? "belongs to another hold" : "does not exist");
			s->reveals++;
		} else {
			struct dp_request rq;
			memset(&rq, 0, sizeof(rq));
			rq.op = DP_OP_RELEASE;
			rq.client_id = r->client;
			rq.request_id = r->request_id;
			rq.hold_id = r->hold_id;
			struct dp_reply rp = exec1(eng, &rq, now);
			CHECK((rp.status == DP_S_OK && rp.detail == DP_D_REPLAY) ||
				      (rp.status == DP_S_NOT_FOUND && rp.detail == DP_D_HOLD),
			      "a reply told the client hold %" PRIu64 " is released (confirm right after the release, "
			      "wait_seq 0); after the crash a retry of that release answers %s/%s%s",
			      r->hold_id, dp_status_name(rp.status), dp_detail_name(rp.detail),
			      rp.status == DP_S_OK && rp.detail == DP_D_NONE ? " (the release was lost)" : "");
			s->reveals++;
		}
	}

	/* 3. acknowledged holds */
	unsigned probes = 0;
	for (size_t i = 0; i < g_n_holds; i++) {
		struct ahold *h = &g_holds[i];
		uint32_t e = h->event - CR_EVENT_BASE;
		if (e >= n_events || !present[e]) {
			FAIL("acknowledged hold %" PRIu64 " of event %u, which is gone", h->hold_id, h->event);
			continue;
		}
		uint64_t w0 = word_of(eng, h->event, h->part, h->items[0]);
		switch (h->state) {
		case AH_LIVE:
			s->live++;
			for (unsigned k = 0; k < h->n; k++) {
				uint64_t w = k ? word_of(eng, h->event, h->part, h->items[k]) : w0;
				CHECK(held_by(w, h),
				      "acknowledged hold %" PRIu64 " (ref %#x, expiry %" PRIu64
				      "): ticket %u/%u/%u has word %#" PRIx64,
				      h->hold_id, (uint32_t)(h->hold_id >> 32), h->expiry, h->event, h->part, h->items[k], w);
			}
			break;
		case AH_CONFIRMING: {
			/* all still held by it, or all sold in one order of this hold */
			bool all_held = true, all_sold = true;
			uint64_t oid = dp_seat_word_order(w0);
			for (unsigned k = 0; k < h->n; k++) {
				uint64_t w = word_of(eng, h->event, h->part, h->items[k]);
				all_held &= held_by(w, h);
				all_sold &= dp_seat_word_state(w) == DP_SEAT_SOLD && dp_seat_word_order(w) == oid;
			}
			struct dp_order_view v;
			if (all_sold && dp_order_get(eng, oid, &v) == 0 && v.hold_id == h->hold_id) {
				s->confirming_sold++;
			} else {
				CHECK(all_held, "hold %" PRIu64 " (confirm attempted, not acknowledged) is neither held "
				      "nor sold as one order: first word %#" PRIx64, h->hold_id, w0);
				s->confirming_held++;
			}
			break;
		}
		case AH_RELEASING:
			s->releasing++;
			break;
		case AH_RELEASED:
			if (cc_below(rng, 8) == 0) { /* the client retries its release */
				struct dp_request rq;
				memset(&rq, 0, sizeof(rq));
				rq.op = DP_OP_RELEASE;
				rq.client_id = h->client;
				rq.request_id = h->end_req;
				rq.hold_id = h->hold_id;
				struct dp_reply rp = exec1(eng, &rq, now);
				CHECK((rp.status == DP_S_OK && rp.detail == DP_D_REPLAY) ||
					      (rp.status == DP_S_NOT_FOUND && rp.detail == DP_D_HOLD),
				      "retried release of hold %" PRIu64 ": %s/%s", h->hold_id, dp_status_name(rp.status),
				      dp_detail_name(rp.detail));
				s->retries_r++;
			}
			break;
		default:
			break;
		}
	}

	/* 4. words against counts, SOLD words against orders */
	for (uint32_t e = 0; e < n_events; e++) {
		if (!present[e])
			continue;
		uint32_t ev = CR_EVENT_BASE + e;
		for (int p = 0; p < CR_N_PARTS; p++) {
			uint32_t nf = 0, nh = 0, ns = 0, no = 0;
			for (uint32_t i = 0; i < cr_part_caps[p]; i++) {
				uint64_t w = word_of(eng, ev, cr_part_ids[p], i);
				bool wh = p < CR_N_SEC && (i % 41 == 40);
				switch (dp_seat_word_state(w)) {
				case DP_SEAT_FREE:
					nf++;
					CHECK(!wh && w == 0, "%u/%u/%u FREE word %#" PRIx64, ev, cr_part_ids[p], i, w);
					break;
				case DP_SEAT_HELD:
					nh++;
					CHECK(!wh && (dp_seat_word_hold_ref(w) >> 24) < CR_WORKERS, "%u/%u/%u HELD word %#" PRIx64,
					      ev, cr_part_ids[p], i, w);
					break;
				case DP_SEAT_SOLD:
					ns++;
					CHECK(seen[e][p][i], "%u/%u/%u SOLD in %#" PRIx64 " but in no order", ev, cr_part_ids[p],
					      i, dp_seat_word_order(w));
					break;
				case DP_SEAT_OFF:
					no++;
					CHECK(wh, "%u/%u/%u OFF but not withheld", ev, cr_part_ids[p], i);
					break;
				}
			}
			CHECK(ns == sold_items[e][p], "%u/%u: %u SOLD words, orders have %u tickets", ev, cr_part_ids[p], ns,
			      sold_items[e][p]);
			struct dp_part_counts c;
			int rc = dp_part_counts_get(eng, ev, cr_part_ids[p], &c);
			CHECK(rc == 0 && c.capacity == cr_part_caps[p] && c.free == nf && c.held == nh && c.sold == ns &&
				      c.withheld == no,
			      "%u/%u: counts free %u held %u sold %u withheld %u, words %u %u %u %u", ev, cr_part_ids[p],
			      c.free, c.held, c.sold, c.withheld, nf, nh, ns, no);
		}
	}
	for (uint32_t e = 0; e < n_events; e++)
		for (int p = 0; p < CR_N_PARTS; p++)
			free(seen[e][p]);

	/* 5. a sample of the live acknowledged holds: the client can still pay */
	size_t start = g_n_holds ? (size_t)(cc_rng(rng) % g_n_holds) : 0;
	for (size_t i = 0; i < g_n_holds && probes < CT_PROBES; i++) {
		struct ahold *h = &g_holds[(start + i) % g_n_holds]; /* each at most once */
		if (h->state != AH_LIVE)
			continue;
		struct dp_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_CONFIRM;
		rq.client_id = h->client;
		rq.request_id = (1ull << 62) | (uint64_t)g_round << 32 | probes; /* never used by the child */
		rq.hold_id = h->hold_id;
		struct dp_reply rp = exec1(eng, &rq, now);
		CHECK(rp.status == DP_S_OK && rp.detail == DP_D_NONE && rp.n_items == h->n &&
			      memcmp(rp.items, h->items, h->n * sizeof(uint32_t)) == 0 && rp.expiry_ms == h->expiry,
		      "confirm of acknowledged hold %" PRIu64 " after recovery: %s/%s n %u expiry %" PRIu64
		      " (acknowledged %" PRIu64 ")",
		      h->hold_id, dp_status_name(rp.status), dp_detail_name(rp.detail), rp.n_items, rp.expiry_ms,
		      h->expiry);
		probes++;
	}
	s->probes += probes;
}

/* Every free ticket of the latest event can be held, and no more. */
static void drain_latest(struct dp_engine *eng, uint32_t ev, struct stats *s)
{
	struct dp_part_counts c;
	if (dp_event_counts_get(eng, ev, &c) != 0)
		return; /* the child died before loading it */
	uint64_t now = cc_wall_ms();
	uint64_t client = (uint64_t)ev << 40 | 1ull << 39, req = 1ull << 61;
	unsigned on_client = 0;
	for (int p = 0; p < CR_N_PARTS; p++) {
		struct dp_part_counts before;
		dp_part_counts_get(eng, ev, cr_part_ids[p], &before);
		uint32_t got = 0;
		unsigned spins = 0;
		for (;;) {
			if (++on_client > CR_LIMIT) {
				client++;
				on_client = 1;
			}
			struct dp_request rq;
			memset(&rq, 0, sizeof(rq));
			rq.op = p < CR_N_SEC ? DP_OP_HOLD_BEST : DP_OP_HOLD_GA;
			rq.n = 1;
			rq.event_id = ev;
			rq.part_id = cr_part_ids[p];
			rq.client_id = client;
			rq.request_id = ++req;
			struct dp_reply rp = exec1(eng, &rq, now);
			if (rp.status == DP_S_OK) {
				got++;
				spins = 0;
				continue;
			}
			on_client--;
			if (rp.status == DP_S_BUSY && rp.detail == DP_D_REBALANCING && ++spins < 1000) {
				for (unsigned wk = 0; wk < CR_WORKERS; wk++)
					dp_worker_tick(dp_engine_worker(eng, wk), now);
				continue;
			}
			CHECK(rp.status == DP_S_SOLD_OUT, "drain %u/%u after %u of %u: %s/%s", ev, cr_part_ids[p], got,
			      before.free, dp_status_name(rp.status), dp_detail_name(rp.detail));
			break;
		}
		CHECK(got == before.free, "drain %u/%u: %u tickets obtainable, counts said %u free", ev, cr_part_ids[p],
		      got, before.free);
		s->drained += got;
	}
}

/* ------------------------------------------------------------ main */

static pid_t spawn(const char *child, const char *dir, const char *ack, uint32_t ev, uint64_t seed, int *ready_rd)
{
	int pfd[2];
	if (pipe(pfd) != 0) {
		perror("pipe");
		exit(2);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(pfd[0]);
		char s_ev[16], s_seed[32], s_fd[16];
		snprintf(s_ev, sizeof(s_ev), "%u", ev);
		snprintf(s_seed, sizeof(s_seed), "%" PRIu64, seed);
		snprintf(s_fd, sizeof(s_fd), "%d", pfd[1]);
		execl(child, child, dir, ack, s_ev, s_seed, s_fd, (char *)NULL);
		perror("exec crash_child");
		_exit(127);
	}
	close(pfd[1]);
	*ready_rd = pfd[0];
	return pid;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_crash PATH_TO_CRASH_CHILD\n");
		return 2;
	}
	const char *child = argv[1];
	unsigned rounds = CT_ROUNDS_DEFAULT;
	const char *s = getenv("STAMPEDE_CRASH_ROUNDS");
	if (s && *s)
		rounds = (unsigned)strtoul(s, NULL, 10);
	if (rounds > 500)
		rounds = 500;
	s = getenv("STAMPEDE_CRASH_SEED");
	uint64_t seed = (s && *s) ? strtoull(s, NULL, 0) : (cc_mono_ns() ^ (uint64_t)getpid() << 32);
	uint64_t rng = seed;
	printf("crash: %u rounds, seed %#" PRIx64 " (STAMPEDE_CRASH_SEED to repeat)\n", rounds, seed);
	fflush(stdout);
	uint64_t t0 = cc_mono_ns();

	char base[] = "/tmp/stampede-crash-XXXXXX";
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 2;
	}
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/data", base);
	urcu_qsbr_register_thread();
	hindex_rebuild();
	struct stats st_tot;
	memset(&st_tot, 0, sizeof(st_tot));
	uint64_t recover_ns_max = 0;

	for (g_round = 0; g_round < rounds; g_round++) {
		g_waited_ms = 0;
		char ack[320];
		snprintf(ack, sizeof(ack), "%s/ack.%u", base, g_round);
		uint32_t ev = CR_EVENT_BASE + g_round;
		int ready;
		pid_t pid = spawn(child, dir, ack, ev, cc_rng(&rng), &ready);
		bool early = g_round % 5 == 2;
		unsigned ran_ms;
		if (early) {
			ran_ms = cc_below(&rng, 41);
			cc_sleep_us(ran_ms * 1000);
		} else {
			struct pollfd pf = {.fd = ready, .events = POLLIN};
			int pr = poll(&pf, 1, 60000);
			char c;
			if (pr != 1 || read(ready, &c, 1) != 1) {
				FAIL("crash_child never became ready (see its stderr)");
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				close(ready);
				break;
			}
			ran_ms = 50 + cc_below(&rng, 351);
			cc_sleep_us(ran_ms * 1000);
		}
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		close(ready);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			FAIL("crash_child ended by itself: %s %d (see its stderr)",
			     WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			break;
		}
		uint64_t h0 = g_acks_h, c0 = g_acks_c, r0 = g_acks_r;
		read_acks(ack);

		/* recover what the killed process left */
		uint64_t tr = cc_mono_ns();
		struct st_options so = {.dir = dir, .map_size_bytes = CR_MAP_SIZE, .nosync = true, .workers = CR_WORKERS};
		struct st_env *env = NULL;
		struct dp_engine *eng = NULL;
		int rc = st_env_open(&so, &env);
		if (rc != 0) {
			FAIL("st_env_open after the kill: %s", st_strerror(rc));
			break;
		}
		struct dp_config cfg;
		crash_config(&cfg);
		rc = dp_engine_create(&cfg, env, &eng);
		if (rc != 0) {
			FAIL("dp_engine_create: %d", rc);
			st_env_close(env);
			break;
		}
		rc = dp_engine_recover(eng);
		uint64_t rec_ns = cc_mono_ns() - tr;
		if (rec_ns > recover_ns_max)
			recover_ns_max = rec_ns;
		if (rc != 0) {
			FAIL("dp_engine_recover after the kill: %s (%d)", st_strerror(rc), rc);
			dp_engine_destroy(eng);
			st_env_close(env);
			break;
		}
		struct stats rs;
		memset(&rs, 0, sizeof(rs));
		unsigned f0 = g_failures;
		check_round(eng, g_round + 1, &rs, &rng);
		drain_latest(eng, ev, &rs);
		printf("round %2u: ran %3u ms%s; acks +%" PRIu64 " holds +%" PRIu64 " confirms +%" PRIu64
		       " releases; recovered in %.0f ms; %" PRIu64 " live holds held, %" PRIu64 "/%" PRIu64
		       " unacknowledged confirms held/sold, %" PRIu64 " probes, %" PRIu64 " drained: %s\n",
		       g_round, ran_ms, early ? " (early kill)" : "", g_acks_h - h0, g_acks_c - c0, g_acks_r - r0,
		       (double)rec_ns / 1e6, rs.live, rs.confirming_held, rs.confirming_sold, rs.probes, rs.drained,
		       g_failures == f0 ? "ok" : "FAILED");
		fflush(stdout);
		st_tot.probes += rs.probes;
		st_tot.retries_c += rs.retries_c;
		st_tot.retries_r += rs.retries_r;
		st_tot.confirming_sold += rs.confirming_sold;
		st_tot.confirming_held += rs.confirming_held;
		dp_engine_destroy(eng);
		st_env_close(env);
		if (g_failures > 0)
			break; /* state is suspect from here on */
	}

	printf("crash: %u rounds in %.1f s; acknowledged %" PRIu64 " holds, %" PRIu64 " confirms, %" PRIu64
	       " releases (%" PRIu64 " intents); unacknowledged confirms found done %" PRIu64 ", not done %" PRIu64
	       "; %" PRIu64 " confirm probes, %" PRIu64 "+%" PRIu64 " confirm/release retries; slowest recovery %.0f ms\n",
	       g_round, (double)(cc_mono_ns() - t0) / 1e9, g_acks_h, g_acks_c, g_acks_r, g_intents,
	       st_tot.confirming_sold, st_tot.confirming_held, st_tot.probes, st_tot.retries_c, st_tot.retries_r,
	       (double)recover_ns_max / 1e6);
	CHECK(g_acks_c > 0 && g_acks_h > 0 && g_acks_r > 0, "the workload acknowledged nothing");
	urcu_qsbr_unregister_thread();
	free(g_holds);
	free(g_orders);
	free(g_reveals);
	free(g_hkey);
	free(g_hval);
	if (g_failures == 0)
		cc_rm_rf(base);
	else
		fprintf(stderr, "data left in %s\n", base);
	printf("crash: %s (%u failures)\n", g_failures ? "FAILED" : "passed", g_failures);
	return g_failures ? 1 : 0;
}
