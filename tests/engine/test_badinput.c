/*
 * test_badinput.c - the reservation core refuses bad input with a clear
 * status and detail and changes nothing: quantities, seat lists, unknown
 * ids, wrong kinds, bad client, bad op, forged and foreign holds, requests
 * on the wrong worker, invalid event definitions; plus a fixed-seed random
 * request loop (pure garbage) and a structured random history whose
 * invariants are checked after every step and across a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "tests/engine/helpers.h"

#define FUZZ_ITERATIONS 100000u
#define HISTORY_STEPS 12000u
#define HISTORY_CLIENTS 20u

/* Existing state every bad request must leave alone. */
struct prepared {
	uint64_t hold_c1;  /* client 1: S1 {0,1} held */
	uint64_t order_c2; /* client 2: S1 {5} sold */
	uint64_t hold_c3;  /* client 3: G1 x2 held */
};

static void prepare(struct fx *f, unsigned workers, struct prepared *p)
{
	fx_open(f, workers, true);
	fx_add_std(f, EV1);
	const uint32_t a[2] = { 0, 1 }, b[1] = { 5 };
	p->hold_c1 = fx_hold_seats_ok(f, 1, S1, 2, a, NULL);
	uint64_t h2 = fx_hold_seats_ok(f, 2, S1, 1, b, NULL);
	p->order_c2 = fx_confirm_ok(f, 2, h2, NULL);
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_ga(&rq, 3, 1, EV1, G1, 2);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	p->hold_c3 = out.hold_id;
}

/*
 * Execute rq (on worker `on`, or the routed one when on < 0), expect
 * status/detail (detail < 0: any), no mutation reported, nothing changed.
 */
static void expect_refused_at(struct fx *f, const struct dp_request *rq, int on, int status, int detail,
			      const char *file, int line)
{
	struct snap before, after;
	struct dp_reply out;
	snap_take(f, &before);
	uint32_t buyer = fx_buyer(f, EV1, rq->client_id);
	uint64_t orders = 0;
	for (unsigned i = 0; i < f->workers; i++)
		orders += dp_worker_orders(fx_worker(f, i));
	if (on < 0)
		fx_exec(f, rq, &out);
	else
		fx_exec_on(f, (unsigned)on, rq, &out);
	reply_expect(&out, status, detail, file, line);
	if (out.wait_seq != 0) {
		print_error("%s:%d: refused request reports a mutation (wait_seq %llu)\n", file, line,
			    (unsigned long long)out.wait_seq);
		_fail(file, line);
	}
	snap_take(f, &after);
	snap_assert_equal(&before, &after, file, line);
	if (fx_buyer(f, EV1, rq->client_id) != buyer) {
		print_error("%s:%d: buyer count changed %u -> %u\n", file, line, buyer,
			    fx_buyer(f, EV1, rq->client_id));
		_fail(file, line);
	}
	uint64_t orders_after = 0;
	for (unsigned i = 0; i < f->workers; i++)
		orders_after += dp_worker_orders(fx_worker(f, i));
	if (orders_after != orders)
		_fail(file, line);
}
#define REFUSED(rq, st, det) expect_refused_at(f, &(rq), -1, (st), (det), __FILE__, __LINE__)
#define REFUSED_ON(rq, w, st, det) expect_refused_at(f, &(rq), (int)(w), (st), (det), __FILE__, __LINE__)

static void test_bad_quantity(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 1, &p);
	struct dp_request rq;
	const uint32_t nine[9] = { 10, 11, 12, 13, 14, 15, 16, 17, 18 };
	const uint32_t many[DP_HOLD_TICKETS_MAX] = { 10, 11, 12, 13, 14, 15, 16, 17,
						     18, 19, 20, 21, 22, 23, 24, 25 };

	rq_hold_seats(&rq, 9, 1, EV1, S1, 0, nine);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_ZERO);
	rq_hold_best(&rq, 9, 2, EV1, S1, 0, 0);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_ZERO);
	rq_hold_ga(&rq, 9, 3, EV1, G1, 0);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_ZERO);

	const unsigned too_many[2] = { DP_HOLD_TICKETS_MAX + 1, 255 };
	for (unsigned i = 0; i < 2; i++) {
		rq_hold_seats(&rq, 9, 10 + i, EV1, S1, DP_HOLD_TICKETS_MAX, many);
		rq.n = (uint8_t)too_many[i];
		REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_TOO_MANY);
		rq_hold_best(&rq, 9, 20 + i, EV1, S1, too_many[i], 0);
		REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_TOO_MANY);
		rq_hold_ga(&rq, 9, 30 + i, EV1, G1, too_many[i]);
		REFUSED(rq, DP_S_BAD_REQUEST, DP_D_QTY_TOO_MANY);
	}

	/* more than the buyer limit (8) in one request, within DP_HOLD_TICKETS_MAX */
	rq_hold_seats(&rq, 9, 40, EV1, S1, 9, nine);
	REFUSED(rq, DP_S_LIMIT, -1);
	rq_hold_seats(&rq, 9, 41, EV1, S1, DP_HOLD_TICKETS_MAX, many);
	REFUSED(rq, DP_S_LIMIT, -1);
	rq_hold_best(&rq, 9, 42, EV1, S1, 9, 0);
	REFUSED(rq, DP_S_LIMIT, -1);
	rq_hold_ga(&rq, 9, 43, EV1, G1, 9);
	REFUSED(rq, DP_S_LIMIT, -1);

	/* the refused requests left the buyer's quota intact */
	const uint32_t eight[8] = { 10, 11, 12, 13, 14, 15, 16, 17 };
	fx_hold_seats_ok(f, 9, S1, 8, eight, NULL);
	assert_int_equal(fx_buyer(f, EV1, 9), 8);
}

static void test_bad_seats(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 1, &p);
	struct dp_request rq;

	const uint32_t dup3[3] = { 3, 6, 3 };
	rq_hold_seats(&rq, 9, 1, EV1, S1, 3, dup3);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_DUP_SEAT);
	const uint32_t dup2[2] = { 7, 7 };
	rq_hold_seats(&rq, 9, 2, EV1, S1, 2, dup2);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_DUP_SEAT);
	const uint32_t dup_s2[4] = { 0, 1, 2, 1 };
	rq_hold_seats(&rq, 9, 3, EV1, S2, 4, dup_s2);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_DUP_SEAT);

	const uint32_t r1[2] = { 3, S1_SEATS };
	rq_hold_seats(&rq, 9, 4, EV1, S1, 2, r1);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_SEAT_RANGE);
	const uint32_t r2[1] = { 0xffffffffu };
	rq_hold_seats(&rq, 9, 5, EV1, S1, 1, r2);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_SEAT_RANGE);
	const uint32_t r3[1] = { S2_SEATS };
	rq_hold_seats(&rq, 9, 6, EV1, S2, 1, r3);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_SEAT_RANGE);
	const uint32_t r4[3] = { 8, 9, DP_PART_SEATS_MAX };
	rq_hold_seats(&rq, 9, 7, EV1, S1, 3, r4);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_SEAT_RANGE);

	/* seats after n are ignored, whatever they hold */
	const uint32_t ok2[2] = { 3, 4 };
	rq_hold_seats(&rq, 9, 8, EV1, S1, 2, ok2);
	rq.seats[2] = 3;
	rq.seats[3] = 0xffffffffu;
	struct dp_reply out;
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_equal(out.n_items, 2);
}

static void test_bad_ids_kinds_ops(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 1, &p);
	struct dp_request rq;
	const uint32_t s[1] = { 10 };

	const uint32_t bad_events[3] = { 999, 0, 0xffffffffu };
	for (unsigned i = 0; i < 3; i++) {
		rq_hold_seats(&rq, 9, 10 + i, bad_events[i], S1, 1, s);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_EVENT);
		rq_hold_best(&rq, 9, 20 + i, bad_events[i], S1, 1, 0);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_EVENT);
		rq_hold_ga(&rq, 9, 30 + i, bad_events[i], G1, 1);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_EVENT);
	}

	const uint32_t bad_parts[3] = { 77, 0, 0xffffffffu };
	for (unsigned i = 0; i < 3; i++) {
		rq_hold_seats(&rq, 9, 40 + i, EV1, bad_parts[i], 1, s);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_PART);
		rq_hold_best(&rq, 9, 50 + i, EV1, bad_parts[i], 1, 0);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_PART);
		rq_hold_ga(&rq, 9, 60 + i, EV1, bad_parts[i], 1);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_PART);
	}

	rq_hold_seats(&rq, 9, 70, EV1, G1, 1, s);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_WRONG_KIND);
	rq_hold_best(&rq, 9, 71, EV1, G1, 1, 0);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_WRONG_KIND);
	rq_hold_ga(&rq, 9, 72, EV1, S1, 1);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_WRONG_KIND);
	rq_hold_ga(&rq, 9, 73, EV1, S2, 1);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_WRONG_KIND);

	rq_hold_seats(&rq, 0, 80, EV1, S1, 1, s);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);
	rq_hold_best(&rq, 0, 81, EV1, S1, 1, 0);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);
	rq_hold_ga(&rq, 0, 82, EV1, G1, 1);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);
	rq_confirm(&rq, 0, 83, p.hold_c1, 0);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);
	rq_release(&rq, 0, 84, p.hold_c1);
	REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);

	const uint8_t bad_ops[5] = { 0, 6, 99, 128, 255 };
	for (unsigned i = 0; i < 5; i++) {
		rq_hold_seats(&rq, 9, 90 + i, EV1, S1, 1, s);
		rq.op = bad_ops[i];
		REFUSED(rq, DP_S_BAD_REQUEST, DP_D_BAD_OP);
	}

	/* the hold of client 1 is still confirmable after all that */
	fx_confirm_ok(f, 1, p.hold_c1, NULL);
}

static void test_bad_holds(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 1, &p);
	struct dp_request rq;
	uint64_t rng = 0x5eedf00dull;

	for (unsigned i = 0; i < 32; i++) {
		uint64_t forged = rng_next(&rng);
		if (forged == p.hold_c1 || forged == p.hold_c3)
			continue;
		rq_confirm(&rq, 1, 100 + i, forged, 0);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_HOLD);
		rq_release(&rq, 1, 200 + i, forged);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_HOLD);
	}
	/* near misses of a real id: other generation, other slot */
	const uint64_t near[3] = { p.hold_c1 + 1, p.hold_c1 - 1, p.hold_c1 ^ (0x800000ull << 32) };
	for (unsigned i = 0; i < 3; i++) {
		rq_confirm(&rq, 1, 300 + i, near[i], 0);
		REFUSED(rq, DP_S_NOT_FOUND, DP_D_HOLD);
	}

	/* another buyer's hold */
	rq_confirm(&rq, 4, 400, p.hold_c1, 0);
	REFUSED(rq, DP_S_NOT_YOURS, -1);
	rq_release(&rq, 4, 401, p.hold_c1);
	REFUSED(rq, DP_S_NOT_YOURS, -1);
	rq_confirm(&rq, 4, 402, p.hold_c3, 0);
	REFUSED(rq, DP_S_NOT_YOURS, -1);
	rq_release(&rq, 1, 403, p.hold_c3);
	REFUSED(rq, DP_S_NOT_YOURS, -1);

	/* the owners still can */
	fx_confirm_ok(f, 1, p.hold_c1, NULL);
	fx_release_ok(f, 3, p.hold_c3);
}

static void test_wrong_worker(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 2, &p);
	struct dp_request rq;
	struct dp_reply out;

	const uint32_t s[1] = { 20 };
	rq_hold_seats(&rq, 9, 1, EV1, S1, 1, s);
	int r = fx_route(f, &rq);
	assert_true(r == 0 || r == 1);
	REFUSED_ON(rq, 1 - r, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
	rq_hold_best(&rq, 9, 2, EV1, S1, 1, 0);
	assert_int_equal(fx_route(f, &rq), r);
	REFUSED_ON(rq, 1 - r, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
	const uint32_t s2[1] = { 3 };
	rq_hold_seats(&rq, 9, 3, EV1, S2, 1, s2);
	int r2 = fx_route(f, &rq);
	assert_true(r2 == 0 || r2 == 1);
	REFUSED_ON(rq, 1 - r2, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
	rq_hold_ga(&rq, 9, 4, EV1, G1, 1);
	int rg = fx_route(f, &rq);
	assert_true(rg == 0 || rg == 1);
	REFUSED_ON(rq, 1 - rg, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);

	/* on the right worker the same request works */
	rq_hold_seats(&rq, 9, 1, EV1, S1, 1, s);
	fx_exec_on(f, (unsigned)r, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	uint64_t h = out.hold_id;
	assert_int_equal(dp_hold_worker(h), (unsigned)r);

	/* confirm / release of a hold owned by the other worker */
	rq_confirm(&rq, 9, 5, h, 0);
	assert_int_equal(fx_route(f, &rq), r);
	REFUSED_ON(rq, 1 - r, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
	rq_release(&rq, 9, 6, h);
	REFUSED_ON(rq, 1 - r, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
	rq_confirm(&rq, 9, 5, h, 0);
	fx_exec_on(f, (unsigned)r, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);

	/* unknown event: dp_route says -1 and any worker answers NOT_FOUND */
	rq_hold_seats(&rq, 9, 7, 4242, S1, 1, s);
	assert_int_equal(fx_route(f, &rq), -1);
	REFUSED_ON(rq, 0, DP_S_NOT_FOUND, DP_D_EVENT);
	REFUSED_ON(rq, 1, DP_S_NOT_FOUND, DP_D_EVENT);
}

/* 100,000 requests of pure random bytes: never a crash, always a sane reply,
 * never a change unless the reply is OK (and with garbage none is). */
static void test_fuzz_random(void **state)
{
	struct fx *f = *state;
	struct prepared p;
	prepare(f, 2, &p);
	struct snap before, after;
	snap_take(f, &before);
	uint64_t rng = 0xC0FFEE1234ull;
	struct dp_part_counts prev = fx_ev_counts(f, EV1);
	unsigned oks = 0;
	unsigned per_status[DP_S__COUNT] = { 0 };

	for (unsigned it = 0; it < FUZZ_ITERATIONS; it++) {
		struct dp_request rq;
		uint64_t words[(sizeof(rq) + 7) / 8];
		for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			words[i] = rng_next(&rng);
		memcpy(&rq, words, sizeof(rq));
		uint64_t pick = rng_next(&rng);
		int r = dp_route(f->eng, &rq);
		if (r < -1 || r >= 2)
			fail_msg("iteration %u: dp_route = %d", it, r);
		unsigned w = (r < 0 || (pick & 3) == 0) ? (unsigned)((pick >> 8) & 1) : (unsigned)r;
		struct dp_reply out;
		memset(&out, 0xa5, sizeof(out));
		int rc = dp_execute(fx_worker(f, w), &rq, f->now, &out);
		if (rc != out.status || out.status >= DP_S__COUNT || out.detail >= DP_D__COUNT ||
		    out.n_items > DP_HOLD_TICKETS_MAX || out.n_alt > DP_HOLD_TICKETS_MAX)
			fail_msg("iteration %u (op %u): rc %d status %u detail %u n_items %u n_alt %u", it, rq.op,
				 rc, out.status, out.detail, out.n_items, out.n_alt);
		per_status[out.status]++;
		struct dp_part_counts now = fx_ev_counts(f, EV1);
		if (out.status == DP_S_OK) {
			oks++;
		} else if (memcmp(&now, &prev, sizeof(now)) != 0) {
			fail_msg("iteration %u (op %u status %s detail %s): event counts changed", it, rq.op,
				 dp_status_name(out.status), dp_detail_name(out.detail));
		}
		prev = now;
	}
	print_message("random requests: %u ok, %u bad request, %u not found\n", oks, per_status[DP_S_BAD_REQUEST],
		      per_status[DP_S_NOT_FOUND]);
	assert_int_equal(oks, 0);
	assert_int_equal(per_status[DP_S_BAD_REQUEST] + per_status[DP_S_NOT_FOUND] + per_status[DP_S_NOT_YOURS],
			 FUZZ_ITERATIONS - oks);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* the engine still works */
	fx_confirm_ok(f, 1, p.hold_c1, NULL);
	const uint32_t s[2] = { 30, 31 };
	fx_hold_seats_ok(f, 9, S1, 2, s, NULL);
}

/* ---- structured random history (W=2) ---- */

struct history {
	uint64_t holds[64]; /* recent hold ids */
	uint64_t owner[64];
	unsigned n_holds;
};

static void consistency(struct fx *f, const char *when, unsigned step)
{
	const uint32_t parts[3] = { S1, S2, G1 };
	const uint32_t sizes[3] = { S1_SEATS, S2_SEATS, G1_CAP };
	for (unsigned p = 0; p < 3; p++) {
		struct dp_part_counts c = fx_counts(f, EV1, parts[p]);
		uint32_t st[4] = { 0, 0, 0, 0 };
		for (uint32_t i = 0; i < sizes[p]; i++) {
			uint64_t w = fx_word(f, EV1, parts[p], i);
			st[dp_seat_word_state(w)]++;
			if (dp_seat_word_state(w) == DP_SEAT_SOLD) {
				struct dp_order_view v;
				urcu_qsbr_read_lock();
				int rc = dp_order_get(f->eng, dp_seat_word_order(w), &v);
				urcu_qsbr_read_unlock();
				if (rc != 0)
					fail_msg("%s step %u: part %u item %u sold to unknown order %#llx", when, step,
						 parts[p], i, (unsigned long long)dp_seat_word_order(w));
				bool found = false;
				for (unsigned k = 0; k < v.n_items; k++)
					found |= v.items[k] == i;
				if (!found || v.part_id != parts[p])
					fail_msg("%s step %u: part %u item %u not in its order", when, step, parts[p], i);
			}
		}
		if (st[DP_SEAT_FREE] != c.free || st[DP_SEAT_HELD] != c.held || st[DP_SEAT_SOLD] != c.sold ||
		    st[DP_SEAT_OFF] != c.withheld)
			fail_msg("%s step %u: part %u words free %u held %u sold %u off %u, counts %u %u %u %u", when,
				 step, parts[p], st[0], st[1], st[2], st[3], c.free, c.held, c.sold, c.withheld);
	}
	uint32_t sum = 0;
	for (uint64_t c = 1; c <= HISTORY_CLIENTS; c++) {
		uint32_t n = fx_buyer(f, EV1, c);
		if (n > EV_LIMIT)
			fail_msg("%s step %u: buyer %llu has %u > limit", when, step, (unsigned long long)c, n);
		sum += n;
	}
	struct dp_part_counts e = fx_ev_counts(f, EV1);
	if (sum != e.held + e.sold)
		fail_msg("%s step %u: buyer counts sum %u != held %u + sold %u", when, step, sum, e.held, e.sold);
}

static void build_random_request(struct fx *f, uint64_t *rng, struct history *h, struct dp_request *rq)
{
	uint64_t x = rng_next(rng);
	uint64_t client = 1 + x % HISTORY_CLIENTS;
	if ((x >> 8) % 64 == 0)
		client = 0;
	uint64_t req = f->next_req++;
	unsigned kind = (unsigned)((x >> 16) % 100);
	unsigned n = 1 + (unsigned)((x >> 24) % 4);
	if ((x >> 32) % 32 == 0)
		n = (unsigned)((x >> 40) % 20);
	uint32_t part = (x >> 48) % 2 ? S1 : S2;
	uint32_t size = part == S1 ? S1_SEATS : S2_SEATS;
	if (kind < 30) {
		uint32_t seats[DP_HOLD_TICKETS_MAX];
		uint64_t y = rng_next(rng);
		uint32_t base = (uint32_t)(y % (size + 1));
		for (unsigned i = 0; i < DP_HOLD_TICKETS_MAX; i++)
			seats[i] = (y >> 40) % 4 == 0 ? (uint32_t)(rng_next(rng) % (size + 2)) : base + i;
		rq_hold_seats(rq, client, req, EV1, part, n, seats);
		if (n > DP_HOLD_TICKETS_MAX)
			rq->n = (uint8_t)n;
	} else if (kind < 45) {
		rq_hold_best(rq, client, req, EV1, part, n, (uint8_t)(rng_next(rng) % 4));
	} else if (kind < 65) {
		rq_hold_ga(rq, client, req, EV1, (x >> 56) % 16 == 0 ? S1 : G1, n);
	} else if (kind < 90 && h->n_holds > 0) {
		unsigned k = (unsigned)(rng_next(rng) % (h->n_holds < 64 ? h->n_holds : 64));
		uint64_t hid = h->holds[k];
		uint64_t who = (x >> 56) % 5 == 0 ? client : h->owner[k];
		/* few confirms, so the 95 tickets last the whole history */
		if (kind < 71)
			rq_confirm(rq, who, req, hid, (uint8_t)x);
		else
			rq_release(rq, who, req, hid);
		if (kind == 89)
			rq->flags = DP_REQ_F_OPERATOR;
	} else {
		rq_base(rq, (uint8_t)(rng_next(rng) % 8), EV1, part, client, req);
		rq->n = (uint8_t)n;
		rq->hold_id = rng_next(rng);
	}
}

static void test_random_history(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	uint64_t rng = 0xABCDEF0123ull;
	struct history h;
	memset(&h, 0, sizeof(h));
	struct dp_request rq, last_rq;
	struct dp_reply out, last_out;
	memset(&rq, 0, sizeof(rq));
	memset(&last_rq, 0, sizeof(last_rq));
	memset(&last_out, 0, sizeof(last_out));
	bool have_last = false;
	unsigned oks = 0, replays = 0;
	unsigned per_status[DP_S__COUNT] = { 0 };

	for (unsigned step = 0; step < HISTORY_STEPS; step++) {
		uint64_t x = rng_next(&rng);
		f->now += x % 6000;
		for (unsigned w = 0; w < 2; w++)
			dp_worker_tick(fx_worker(f, w), f->now);

		bool replay = have_last && (x >> 32) % 8 == 0;
		if (replay)
			rq = last_rq;
		else
			build_random_request(f, &rng, &h, &rq);
		int r = fx_route(f, &rq);
		unsigned w = r < 0 ? 0 : (unsigned)r;
		memset(&out, 0xa5, sizeof(out));
		int rc = dp_execute(fx_worker(f, w), &rq, f->now, &out);
		if (rc != out.status || out.status >= DP_S__COUNT || out.detail >= DP_D__COUNT ||
		    out.n_items > DP_HOLD_TICKETS_MAX || out.n_alt > DP_HOLD_TICKETS_MAX)
			fail_msg("step %u: insane reply rc %d status %u detail %u", step, rc, out.status, out.detail);
		per_status[out.status]++;

		if (replay && last_out.status == DP_S_OK && !(last_rq.flags & DP_REQ_F_OPERATOR)) {
			/* an immediate retry of a success returns the same answer */
			replays++;
			if (out.status != DP_S_OK || out.hold_id != last_out.hold_id ||
			    (last_rq.op == DP_OP_CONFIRM && out.order_id != last_out.order_id) ||
			    out.n_items != last_out.n_items)
				fail_msg("step %u: replay of op %u gave %s/%s hold %#llx (first: hold %#llx)", step,
					 rq.op, dp_status_name(out.status), dp_detail_name(out.detail),
					 (unsigned long long)out.hold_id, (unsigned long long)last_out.hold_id);
		} else if (out.status == DP_S_OK) {
			oks++;
			if (rq.op == DP_OP_HOLD_SEATS || rq.op == DP_OP_HOLD_BEST || rq.op == DP_OP_HOLD_GA) {
				for (unsigned i = 0; i < out.n_items; i++) {
					uint64_t wd = fx_word(f, EV1, rq.part_id, out.items[i]);
					if (dp_seat_word_state(wd) != DP_SEAT_HELD)
						fail_msg("step %u: item %u of a new hold is not HELD", step,
							 out.items[i]);
				}
				h.holds[h.n_holds % 64] = out.hold_id;
				h.owner[h.n_holds % 64] = rq.client_id;
				h.n_holds++;
			}
		}
		if (step % 500 == 0)
			consistency(f, "history", step);
		else {
			(void)fx_counts(f, EV1, S1);
			(void)fx_counts(f, EV1, S2);
			(void)fx_counts(f, EV1, G1);
		}
		last_rq = rq;
		last_out = out;
		have_last = true;
	}
	print_message("history: %u fresh successes, %u replays checked;", oks, replays);
	for (unsigned i = 0; i < DP_S__COUNT; i++)
		if (per_status[i])
			print_message(" %s %u", dp_status_name((int)i), per_status[i]);
	print_message("\n");
	assert_true(oks > HISTORY_STEPS / 20);
	consistency(f, "end", HISTORY_STEPS);

	/* everything reaches the disk, and a restart rebuilds the same state */
	for (unsigned w = 0; w < 2; w++)
		assert_true(fx_wait_durable(f, w, st_log_pushed(st_env_log(f->env, w))));
	struct snap s0, s1;
	snap_take(f, &s0);
	uint32_t buyers0[HISTORY_CLIENTS + 1];
	for (uint64_t c = 1; c <= HISTORY_CLIENTS; c++)
		buyers0[c] = fx_buyer(f, EV1, c);
	fx_shutdown(f);
	fx_reopen(f);
	snap_take(f, &s1);
	EXPECT_COUNTS(s1.s1, s0.s1.capacity, s0.s1.withheld, s0.s1.held, s0.s1.sold, s0.s1.free);
	EXPECT_COUNTS(s1.s2, s0.s2.capacity, s0.s2.withheld, s0.s2.held, s0.s2.sold, s0.s2.free);
	EXPECT_COUNTS(s1.g1, s0.g1.capacity, s0.g1.withheld, s0.g1.held, s0.g1.sold, s0.g1.free);
	for (unsigned i = 0; i < S1_SEATS; i++)
		assert_int_equal(dp_seat_word_state(s0.w1[i]), dp_seat_word_state(s1.w1[i]));
	for (unsigned i = 0; i < S2_SEATS; i++)
		assert_int_equal(dp_seat_word_state(s0.w2[i]), dp_seat_word_state(s1.w2[i]));
	for (unsigned i = 0; i < G1_CAP; i++) {
		assert_int_equal(dp_seat_word_state(s0.wg[i]), dp_seat_word_state(s1.wg[i]));
		if (dp_seat_word_state(s0.wg[i]) == DP_SEAT_SOLD)
			assert_int_equal(dp_seat_word_order(s0.wg[i]), dp_seat_word_order(s1.wg[i]));
	}
	for (uint64_t c = 1; c <= HISTORY_CLIENTS; c++)
		assert_int_equal(buyers0[c], fx_buyer(f, EV1, c));
	consistency(f, "recovered", HISTORY_STEPS);

	/* far in the future every hold is gone; only sales remain */
	f->now += 2ull * EV_TTL_MS;
	for (unsigned w = 0; w < 2; w++)
		dp_worker_expire_all(fx_worker(f, w), f->now);
	struct dp_part_counts e = fx_ev_counts(f, EV1);
	assert_int_equal(e.held, 0);
	consistency(f, "expired", HISTORY_STEPS);
}

/* ---- event definitions ---- */

static void expect_def_rejected(struct fx *f, const struct tevent *te, const char *what)
{
	char err[256];
	memset(err, 0, sizeof(err));
	int rc = dp_event_def_check(&te->def, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("%s: dp_event_def_check = %d, expected -EINVAL", what, rc);
	if (err[0] == '\0')
		fail_msg("%s: empty reason", what);
	/* a short buffer is still terminated */
	char small[12];
	memset(small, 'X', sizeof(small));
	rc = dp_event_def_check(&te->def, small, sizeof(small));
	assert_int_equal(rc, -EINVAL);
	if (memchr(small, '\0', sizeof(small)) == NULL)
		fail_msg("%s: reason not terminated in a %zu-byte buffer", what, sizeof(small));

	/* adding it loads nothing */
	if (f) {
		memset(err, 0, sizeof(err));
		rc = dp_engine_add_event(f->eng, &te->def, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("%s: dp_engine_add_event = %d, expected -EINVAL", what, rc);
		assert_true(err[0] != '\0');
		struct dp_part_counts c;
		urcu_qsbr_read_lock();
		int rc1 = dp_event_counts_get(f->eng, te->def.id, &c);
		int rc2 = dp_part_counts_get(f->eng, te->def.id, S1, &c);
		urcu_qsbr_read_unlock();
		if (te->def.id != EV1 && (rc1 != -ENOENT || rc2 != -ENOENT))
			fail_msg("%s: rejected event %u is visible", what, te->def.id);
	}
}

static void test_event_def_check(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	struct tevent *te = malloc(sizeof(*te));
	assert_non_null(te);
	char err[256];

	tevent_std(te, 500);
	assert_int_equal(dp_event_def_check(&te->def, err, sizeof(err)), 0);

	for (unsigned v = 0; v < 12; v++) {
		tevent_std(te, 500);
		const char *what = "?";
		switch (v) {
		case 0: te->def.id = 0; what = "id 0"; break;
		case 1: te->def.hold_ttl_ms = DP_HOLD_TTL_MS_MIN - 1; what = "ttl below min"; break;
		case 2: te->def.hold_ttl_ms = DP_HOLD_TTL_MS_MAX + 1; what = "ttl above max"; break;
		case 3: te->def.hold_ttl_ms = 0; what = "ttl 0"; break;
		case 4: te->def.buyer_limit = 0; what = "buyer limit 0"; break;
		case 5: te->def.buyer_limit = DP_BUYER_LIMIT_MAX + 1; what = "buyer limit above max"; break;
		case 6: te->sec[0].n_seats = 0; what = "section with 0 seats"; break;
		case 7: te->sec[1].id = S1; what = "duplicate section id"; break;
		case 8: te->ga[0].id = S2; what = "GA id equal to a section id"; break;
		case 9: te->s1[5].tier = 9; what = "seat tier not in tiers"; break;
		case 10: te->ga[0].capacity = 0; what = "GA capacity 0"; break;
		case 11: te->ga[0].capacity = DP_PART_SEATS_MAX + 1; what = "GA capacity too big"; break;
		}
		expect_def_rejected(f, te, what);
	}

	/* nothing of the rejected attempts remains: the id loads cleanly */
	tevent_std(te, 500);
	assert_int_equal(dp_engine_add_event(f->eng, &te->def, err, sizeof(err)), 0);
	EXPECT_COUNTS(fx_counts(f, 500, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);

	/* the same id twice */
	fx_add_std(f, EV1);
	const uint32_t s[2] = { 0, 1 };
	uint64_t hold = fx_hold_seats_ok(f, 1, S1, 2, s, NULL);
	tevent_std(te, EV1);
	te->sec[0].n_seats = 10; /* a different definition under the same id */
	memset(err, 0, sizeof(err));
	assert_int_equal(dp_engine_add_event(f->eng, &te->def, err, sizeof(err)), -EEXIST);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 2, 0, S1_SEATS - 3);
	fx_confirm_ok(f, 1, hold, NULL);

	/* bad definitions were never stored: not there after a restart */
	fx_shutdown(f);
	fx_reopen(f);
	struct dp_part_counts c;
	urcu_qsbr_read_lock();
	assert_int_equal(dp_event_counts_get(f->eng, 0, &c), -ENOENT);
	urcu_qsbr_read_unlock();
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 2, S1_SEATS - 3);
	EXPECT_COUNTS(fx_counts(f, 500, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);
	free(te);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_quantity, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_seats, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids_kinds_ops, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_holds, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_worker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_random, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_random_history, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_event_def_check, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
