/*
 * test_engine.c - unit tests of the reservation core (dataplane/dp_engine.h):
 * holds (named, best available, general admission), confirm, release,
 * expiry, per-buyer limit, idempotency, counts, GA rebalancing between
 * workers, and recovery from storage.
 *
 * The test thread plays every worker in turn; the clock is fake (fx->now).
 * The standard event (helpers.h): S1 4x10 seats (rows 0-1 tier A, rows 2-3
 * tier B, seat 39 withheld), S2 one row 1 2 3 | 5 6 7 (tier B), G1 GA 50.
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

static void expect_items(const uint32_t *got, unsigned n_got, const uint32_t *want, unsigned n_want)
{
	assert_int_equal(n_got, n_want);
	uint32_t a[DP_HOLD_TICKETS_MAX], b[DP_HOLD_TICKETS_MAX];
	memcpy(a, got, n_got * sizeof(*a));
	memcpy(b, want, n_want * sizeof(*b));
	sort_u32(a, n_got);
	sort_u32(b, n_want);
	for (unsigned i = 0; i < n_got; i++) {
		if (a[i] != b[i]) {
			print_error("items differ at sorted position %u: got %u, want %u\n", i, a[i], b[i]);
			fail();
		}
	}
}

/* Every item of the hold is HELD in the part, by the hold's slot. */
static void expect_held_by(struct fx *f, uint32_t part, const struct dp_reply *r)
{
	for (unsigned i = 0; i < r->n_items; i++) {
		uint64_t w = fx_word(f, EV1, part, r->items[i]);
		if (dp_seat_word_state(w) != DP_SEAT_HELD) {
			print_error("part %u item %u: state %d, expected HELD\n", part, r->items[i],
				    (int)dp_seat_word_state(w));
			fail();
		}
		uint32_t ref = (uint32_t)dp_hold_worker(r->hold_id) << 24 | dp_hold_slot(r->hold_id);
		assert_int_equal(dp_seat_word_hold_ref(w), ref);
	}
}

static void expect_state_all(struct fx *f, uint32_t part, const uint32_t *idx, unsigned n, enum dp_seat_state st)
{
	for (unsigned i = 0; i < n; i++) {
		enum dp_seat_state got = fx_state(f, EV1, part, idx[i]);
		if (got != st) {
			print_error("part %u idx %u: state %d, expected %d\n", part, idx[i], (int)got, (int)st);
			fail();
		}
	}
}

/* S1 items of a HOLD_BEST reply: same row, consecutive numbers. */
static void expect_adjacent_s1(const struct dp_reply *r)
{
	uint32_t a[DP_HOLD_TICKETS_MAX];
	memcpy(a, r->items, r->n_items * sizeof(*a));
	sort_u32(a, r->n_items);
	for (unsigned i = 1; i < r->n_items; i++) {
		assert_int_equal(a[i] / S1_PER_ROW, a[0] / S1_PER_ROW);
		assert_int_equal(a[i], a[i - 1] + 1);
	}
}

/* Change the client (then the request id) until rq routes to worker widx. */
static void route_to(struct fx *f, struct dp_request *rq, unsigned widx)
{
	for (unsigned k = 0; k < 4096; k++) {
		rq->client_id = f->next_client++;
		if (fx_route(f, rq) == (int)widx)
			return;
	}
	for (unsigned k = 0; k < 4096; k++) {
		rq->request_id = f->next_req++;
		if (fx_route(f, rq) == (int)widx)
			return;
	}
	fail_msg("no client or request id routes op %u part %u to worker %u", rq->op, rq->part_id, widx);
}

/* ------------------------------------------------------------------ tests */

static void test_initial_counts(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);
	EXPECT_COUNTS(fx_counts(f, EV1, S2), S2_SEATS, 0, 0, 0, S2_SEATS);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 0, G1_CAP);
	EXPECT_COUNTS(fx_ev_counts(f, EV1), S1_SEATS + S2_SEATS + G1_CAP, 1, 0, 0, S1_SEATS + S2_SEATS + G1_CAP - 1);
	for (uint32_t i = 0; i < S1_SEATS; i++)
		assert_int_equal(fx_state(f, EV1, S1, i), i == S1_WITHHELD ? DP_SEAT_OFF : DP_SEAT_FREE);
	for (uint32_t i = 0; i < G1_CAP; i++)
		assert_int_equal(fx_state(f, EV1, G1, i), DP_SEAT_FREE);

	struct dp_part_counts c;
	uint64_t w;
	urcu_qsbr_read_lock();
	assert_int_equal(dp_part_counts_get(f->eng, EV1, 77, &c), -ENOENT);
	assert_int_equal(dp_part_counts_get(f->eng, 999, S1, &c), -ENOENT);
	assert_int_equal(dp_event_counts_get(f->eng, 999, &c), -ENOENT);
	assert_int_equal(dp_seat_word(f->eng, EV1, S1, S1_SEATS, &w), -ERANGE);
	assert_int_equal(dp_seat_word(f->eng, EV1, G1, G1_CAP, &w), -ERANGE);
	assert_int_equal(dp_seat_word(f->eng, EV1, 77, 0, &w), -ENOENT);
	assert_int_equal(dp_seat_word(f->eng, 999, S1, 0, &w), -ENOENT);
	assert_int_equal(dp_buyer_count(f->eng, EV1, 12345), 0);
	urcu_qsbr_read_unlock();
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 0);
}

static void test_hold_seats_basic(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);

	const uint32_t seats[3] = { 12, 11, 13 }; /* deliberately unsorted */
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_seats(&rq, 7, 1, EV1, S1, 3, seats);
	assert_int_equal(fx_route(f, &rq), 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_not_equal(out.hold_id, 0);
	assert_int_equal(dp_hold_worker(out.hold_id), 0);
	assert_int_equal(out.event_id, EV1);
	assert_int_equal(out.part_id, S1);
	assert_int_equal(out.expiry_ms, FX_T0 + EV_TTL_MS);
	assert_int_not_equal(out.wait_seq, 0);
	assert_true(dp_worker_durable(fx_worker(f, 0)) >= out.wait_seq);
	expect_items(out.items, out.n_items, seats, 3);
	expect_held_by(f, S1, &out);
	const uint32_t around[2] = { 10, 14 };
	expect_state_all(f, S1, around, 2, DP_SEAT_FREE);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 3, 0, S1_SEATS - 4);
	EXPECT_COUNTS(fx_ev_counts(f, EV1), S1_SEATS + S2_SEATS + G1_CAP, 1, 3, 0, S1_SEATS + S2_SEATS + G1_CAP - 4);
	assert_int_equal(fx_buyer(f, EV1, 7), 3);
	assert_int_equal(fx_buyer(f, EV1, 8), 0);
	uint64_t first = out.hold_id;
	uint64_t first_seq = out.wait_seq;

	/* a second hold in another section by the same buyer */
	const uint32_t s2seats[2] = { 4, 5 };
	f->now += 1234;
	rq_hold_seats(&rq, 7, 2, EV1, S2, 2, s2seats);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_not_equal(out.hold_id, first);
	assert_int_equal(out.expiry_ms, FX_T0 + 1234 + EV_TTL_MS);
	assert_true(out.wait_seq > first_seq);
	expect_items(out.items, out.n_items, s2seats, 2);
	expect_held_by(f, S2, &out);
	EXPECT_COUNTS(fx_counts(f, EV1, S2), S2_SEATS, 0, 2, 0, S2_SEATS - 2);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 3, 0, S1_SEATS - 4);
	assert_int_equal(fx_buyer(f, EV1, 7), 5);
}

static void test_hold_seats_taken_alt(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);

	const uint32_t a12[1] = { 12 };
	uint64_t ha = fx_hold_seats_ok(f, 1, S1, 1, a12, NULL);

	/* B wants 13 and 12: 12 is held -> TAKEN, nothing held, 13 stays free */
	struct snap before, after;
	snap_take(f, &before);
	const uint32_t b[2] = { 13, 12 };
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_seats(&rq, 2, 100, EV1, S1, 2, b);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, -1);
	assert_int_not_equal(out.detail, DP_D_WITHHELD);
	assert_int_equal(out.wait_seq, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_state(f, EV1, S1, 13), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 2), 0);
	/* alternatives: as many as asked, distinct, free, tier A, nearest (row 1) */
	assert_int_equal(out.n_alt, 2);
	assert_int_not_equal(out.alt[0], out.alt[1]);
	for (unsigned i = 0; i < out.n_alt; i++) {
		uint32_t s = out.alt[i];
		assert_int_not_equal(s, 12);
		assert_true(s < S1_SEATS);
		assert_int_equal(fx_state(f, EV1, S1, s), DP_SEAT_FREE);
		assert_int_equal(s / S1_PER_ROW, 1); /* row 1 has 9 free tier-A seats: nearest are there */
		assert_true(s >= 12 - 3 && s <= 12 + 3);
	}

	/* sold seat: same answer */
	fx_confirm_ok(f, 1, ha, NULL);
	assert_int_equal(fx_state(f, EV1, S1, 12), DP_SEAT_SOLD);
	snap_take(f, &before);
	rq_hold_seats(&rq, 2, 101, EV1, S1, 1, a12);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(out.n_alt, 1);
	assert_true(out.alt[0] >= 10 && out.alt[0] < 20);
	assert_int_equal(fx_state(f, EV1, S1, out.alt[0]), DP_SEAT_FREE);

	/* tier B seat taken -> alternatives of tier B (rows 2-3, never the withheld seat) */
	const uint32_t a25[1] = { 25 };
	fx_hold_seats_ok(f, 1, S1, 1, a25, NULL);
	snap_take(f, &before);
	rq_hold_seats(&rq, 3, 102, EV1, S1, 1, a25);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(out.n_alt, 1);
	assert_true(out.alt[0] >= 20 && out.alt[0] < S1_SEATS && out.alt[0] != S1_WITHHELD && out.alt[0] != 25);
	assert_int_equal(fx_state(f, EV1, S1, out.alt[0]), DP_SEAT_FREE);

	/* no free seat of that tier left in the section: no alternative */
	const uint32_t all2[S2_SEATS] = { 0, 1, 2, 3, 4, 5 };
	fx_hold_seats_ok(f, 4, S2, S2_SEATS, all2, NULL);
	snap_take(f, &before);
	const uint32_t s2_2[1] = { 2 };
	rq_hold_seats(&rq, 3, 103, EV1, S2, 1, s2_2);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, -1);
	assert_int_equal(out.n_alt, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
}

static void test_hold_seats_withheld(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct snap before, after;
	snap_take(f, &before);
	struct dp_request rq;
	struct dp_reply out;

	const uint32_t w1[1] = { S1_WITHHELD };
	rq_hold_seats(&rq, 5, 1, EV1, S1, 1, w1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, DP_D_WITHHELD);
	assert_int_equal(out.wait_seq, 0);

	const uint32_t w2[2] = { S1_WITHHELD - 1, S1_WITHHELD };
	rq_hold_seats(&rq, 5, 2, EV1, S1, 2, w2);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_TAKEN, DP_D_WITHHELD);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_state(f, EV1, S1, S1_WITHHELD - 1), DP_SEAT_FREE);
	assert_int_equal(fx_state(f, EV1, S1, S1_WITHHELD), DP_SEAT_OFF);
	assert_int_equal(fx_buyer(f, EV1, 5), 0);

	/* best available never hands out the withheld seat: take all 19 tier-B seats */
	uint8_t seen[S1_SEATS] = { 0 };
	for (unsigned k = 0; k < 19; k++) {
		rq_hold_best(&rq, 100 + k / 4, 10 + k, EV1, S1, 1, TIER_B);
		fx_exec(f, &rq, &out);
		EXPECT_REPLY(out, DP_S_OK, -1);
		assert_int_equal(out.n_items, 1);
		assert_true(out.items[0] >= 20 && out.items[0] < S1_WITHHELD);
		assert_int_equal(seen[out.items[0]], 0);
		seen[out.items[0]] = 1;
	}
	rq_hold_best(&rq, 999, 999, EV1, S1, 1, TIER_B);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(fx_state(f, EV1, S1, S1_WITHHELD), DP_SEAT_OFF);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 19, 0, 20);
}

static uint64_t hold_best_expect(struct fx *f, uint64_t client, unsigned n, uint8_t tier, const uint32_t *want)
{
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_best(&rq, client, f->next_req++, EV1, S1, n, tier);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_equal(out.part_id, S1);
	assert_int_equal(out.expiry_ms, f->now + EV_TTL_MS);
	assert_int_not_equal(out.wait_seq, 0);
	expect_adjacent_s1(&out);
	expect_items(out.items, out.n_items, want, n);
	expect_held_by(f, S1, &out);
	return out.hold_id;
}

static void test_hold_best_adjacent(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);

	const uint32_t w1[3] = { 0, 1, 2 };
	hold_best_expect(f, 1, 3, 0, w1);
	const uint32_t w2[3] = { 3, 4, 5 };
	hold_best_expect(f, 2, 3, 0, w2);
	const uint32_t s7[1] = { 7 };
	fx_hold_seats_ok(f, 3, S1, 1, s7, NULL);
	/* row 0 has 6, 8, 9 free: no run of 3; the run must not cross to row 1 (8 9 | 10) */
	const uint32_t w4[3] = { 10, 11, 12 };
	hold_best_expect(f, 4, 3, 0, w4);
	const uint32_t w5[2] = { 8, 9 };
	hold_best_expect(f, 5, 2, 0, w5);
	const uint32_t w6[2] = { 20, 21 };
	hold_best_expect(f, 6, 2, TIER_B, w6);
	const uint32_t w7[4] = { 13, 14, 15, 16 };
	hold_best_expect(f, 7, 4, TIER_A, w7);
	const uint32_t w8[1] = { 6 };
	hold_best_expect(f, 8, 1, 0, w8);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 19, 0, S1_SEATS - 1 - 19);

	/* a tier with no seat in the section: sold out, nothing changes */
	struct snap before, after;
	snap_take(f, &before);
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_best(&rq, 9, f->next_req++, EV1, S1, 1, TIER_GA);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	/* tier A: 17, 18, 19 left -> 4 adjacent impossible */
	rq_hold_best(&rq, 9, f->next_req++, EV1, S1, 4, TIER_A);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	const uint32_t w9[3] = { 17, 18, 19 };
	hold_best_expect(f, 9, 3, TIER_A, w9);
}

static void test_hold_best_no_split(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct snap before, after;
	struct dp_request rq;
	struct dp_reply out;

	/* S2 numbers 1 2 3 | 5 6 7: no 4 adjacent although 6 are free */
	snap_take(f, &before);
	rq_hold_best(&rq, 1, 1, EV1, S2, 4, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 6);
	assert_int_equal(out.wait_seq, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	rq_hold_best(&rq, 1, 2, EV1, S2, 3, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	const uint32_t w012[3] = { 0, 1, 2 };
	expect_items(out.items, out.n_items, w012, 3);
	expect_held_by(f, S2, &out);

	const uint32_t s4[1] = { 4 }; /* number 6 */
	fx_hold_seats_ok(f, 2, S2, 1, s4, NULL);
	/* free: index 3 (number 5) and index 5 (number 7): not adjacent */
	snap_take(f, &before);
	rq_hold_best(&rq, 3, 3, EV1, S2, 2, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 2);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	rq_hold_best(&rq, 3, 4, EV1, S2, 1, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_equal(out.n_items, 1);
	assert_int_equal(out.items[0], 3);

	snap_take(f, &before);
	rq_hold_best(&rq, 3, 5, EV1, S2, 7, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	EXPECT_COUNTS(fx_counts(f, EV1, S2), S2_SEATS, 0, 5, 0, 1);
}

static void test_hold_ga_basic(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct dp_request rq;
	struct dp_reply out;
	uint8_t seen[G1_CAP] = { 0 };
	uint64_t first_hold = 0;
	uint32_t first_items[5];

	unsigned held = 0;
	for (unsigned k = 0; k < 10; k++) {
		unsigned n = k == 9 ? 3 : 5;
		rq_hold_ga(&rq, 10 + k, 1, EV1, G1, n);
		fx_exec(f, &rq, &out);
		EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
		assert_int_equal(out.part_id, G1);
		assert_int_equal(out.n_items, n);
		assert_int_equal(out.expiry_ms, f->now + EV_TTL_MS);
		assert_int_not_equal(out.wait_seq, 0);
		for (unsigned i = 0; i < n; i++) {
			assert_true(out.items[i] < G1_CAP);
			assert_int_equal(seen[out.items[i]], 0);
			seen[out.items[i]] = 1;
		}
		expect_held_by(f, G1, &out);
		held += n;
		EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, held, 0, G1_CAP - held);
		assert_int_equal(fx_buyer(f, EV1, 10 + k), n);
		if (k == 0) {
			first_hold = out.hold_id;
			memcpy(first_items, out.items, sizeof(first_items));
		}
	}
	assert_int_equal(held, 48);

	struct snap before, after;
	snap_take(f, &before);
	rq_hold_ga(&rq, 30, 1, EV1, G1, 5);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 2);
	assert_int_equal(out.wait_seq, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 30), 0);

	rq_hold_ga(&rq, 30, 2, EV1, G1, 2);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(seen[out.items[i]], 0);
		seen[out.items[i]] = 1;
	}
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, G1_CAP, 0, 0);

	rq_hold_ga(&rq, 31, 1, EV1, G1, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 0);

	/* release the first hold: exactly its serials come back, and only those can be held */
	fx_release_ok(f, 10, first_hold);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, G1_CAP - 5, 0, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(fx_state(f, EV1, G1, first_items[i]), DP_SEAT_FREE);
	rq_hold_ga(&rq, 31, 2, EV1, G1, 5);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	expect_items(out.items, out.n_items, first_items, 5);
}

/*
 * W=2: sell G1 out completely through both workers. A dry slice answers
 * BUSY/REBALANCING while others have stock; one tick round (the other
 * worker, then the dry one) makes the retry succeed. Every serial ends up
 * sold exactly once.
 */
static void test_ga_rebalance_sellout(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	uint64_t owner[G1_CAP] = { 0 };
	uint64_t orders[G1_CAP];
	unsigned n_orders = 0, sold = 0, busy_seen = 0, step = 0;
	unsigned holds_on[2] = { 0, 0 };
	bool partial_checked = false;

	while (sold < G1_CAP) {
		unsigned remaining = G1_CAP - sold;
		unsigned widx = busy_seen == 0 ? 0 : (step & 1);
		step++;
		assert_true(step < 200);
		struct dp_request rq;
		struct dp_reply out;
		struct dp_part_counts c0 = fx_counts(f, EV1, G1);
		assert_int_equal(c0.free, remaining);

		if (remaining < 4 && !partial_checked) {
			/* fewer than asked in total: SOLD_OUT with the total free, not BUSY */
			struct snap before, after;
			snap_take(f, &before);
			rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, 4);
			route_to(f, &rq, widx);
			fx_exec_on(f, widx, &rq, &out);
			EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
			assert_int_equal(out.available, remaining);
			snap_take(f, &after);
			SNAP_SAME(&before, &after);
			partial_checked = true;
		}

		unsigned n = remaining < 4 ? remaining : 4;
		rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, n);
		route_to(f, &rq, widx);
		unsigned rounds = 0;
		for (;;) {
			fx_exec_on(f, widx, &rq, &out);
			if (out.status == DP_S_OK)
				break;
			EXPECT_REPLY(out, DP_S_BUSY, DP_D_REBALANCING);
			assert_true(out.retry_after_ms > 0);
			struct dp_part_counts c1 = fx_counts(f, EV1, G1);
			EXPECT_COUNTS(c1, c0.capacity, c0.withheld, c0.held, c0.sold, c0.free);
			busy_seen++;
			if (rounds >= 1)
				fail_msg("worker %u still BUSY after a tick round (free %u, asked %u)", widx, c1.free, n);
			rounds++;
			for (unsigned o = 0; o < 2; o++)
				if (o != widx)
					dp_worker_tick(fx_worker(f, o), f->now);
			dp_worker_tick(fx_worker(f, widx), f->now);
		}
		EXPECT_REPLY(out, DP_S_OK, -1);
		assert_int_equal(out.n_items, n);
		assert_int_equal(dp_hold_worker(out.hold_id), widx);
		holds_on[widx]++;
		for (unsigned i = 0; i < n; i++) {
			assert_true(out.items[i] < G1_CAP);
			assert_int_equal(owner[out.items[i]], 0);
			for (unsigned j = 0; j < i; j++)
				assert_int_not_equal(out.items[i], out.items[j]);
		}
		expect_held_by(f, G1, &out);

		struct dp_request cq;
		struct dp_reply co;
		rq_confirm(&cq, rq.client_id, f->next_req++, out.hold_id, 7);
		assert_int_equal(fx_route(f, &cq), (int)widx);
		fx_exec(f, &cq, &co);
		EXPECT_REPLY(co, DP_S_OK, DP_D_NONE);
		assert_int_equal(dp_order_worker(co.order_id), widx);
		for (unsigned i = 0; i < n; i++)
			owner[out.items[i]] = co.order_id;
		orders[n_orders++] = co.order_id;
		sold += n;
		EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, sold, G1_CAP - sold);
	}
	assert_true(busy_seen >= 1);
	assert_true(holds_on[0] >= 1 && holds_on[1] >= 1);
	assert_true(partial_checked);

	/* every serial sold exactly once, to the order that confirmed it */
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, G1_CAP, 0);
	for (uint32_t s = 0; s < G1_CAP; s++) {
		uint64_t w = fx_word(f, EV1, G1, s);
		assert_int_equal(dp_seat_word_state(w), DP_SEAT_SOLD);
		assert_int_not_equal(owner[s], 0);
		assert_int_equal(dp_seat_word_order(w), owner[s]);
	}
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)) + dp_worker_orders(fx_worker(f, 1)), n_orders);
	unsigned items_total = 0;
	for (unsigned k = 0; k < n_orders; k++) {
		struct dp_order_view v;
		urcu_qsbr_read_lock();
		int rc = dp_order_get(f->eng, orders[k], &v);
		urcu_qsbr_read_unlock();
		assert_int_equal(rc, 0);
		assert_int_equal(v.order_id, orders[k]);
		assert_int_equal(v.kind, ST_KIND_GA);
		assert_int_equal(v.part_id, G1);
		for (unsigned i = 0; i < v.n_items; i++)
			assert_int_equal(owner[v.items[i]], orders[k]);
		items_total += v.n_items;
	}
	assert_int_equal(items_total, G1_CAP);

	/* sold out everywhere: SOLD_OUT, available 0, on both workers, even after ticks */
	for (unsigned t = 0; t < 2; t++) {
		dp_worker_tick(fx_worker(f, 0), f->now);
		dp_worker_tick(fx_worker(f, 1), f->now);
	}
	for (unsigned widx = 0; widx < 2; widx++) {
		struct dp_request rq;
		struct dp_reply out;
		rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, 1);
		route_to(f, &rq, widx);
		fx_exec_on(f, widx, &rq, &out);
		EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
		assert_int_equal(out.available, 0);
	}
}

/*
 * W=2, writer stopped: a GA serial released on the donor worker moves to the
 * receiver and is held there before anything is committed. Once the writer
 * runs, the log must keep the release ahead of the new hold (the BARRIER):
 * recovery rebuilds the same state. Both directions, since the writer drains
 * the rings in index order.
 */
static void ga_transfer_then_recover(struct fx *f, unsigned recv, unsigned donor)
{
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	assert_int_equal(st_writer_stop(f->env), 0);
	f->writer_running = false;
	f->no_wait = true;
	struct dp_request rq;
	struct dp_reply out;
	uint64_t hold0 = 0, client0 = 0;
	uint32_t serial0 = 0;
	unsigned held = 0;

	/* the receiver takes what it has until it is dry */
	for (unsigned k = 0; k <= G1_CAP; k++) {
		rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, 1);
		route_to(f, &rq, recv);
		fx_exec_on(f, recv, &rq, &out);
		if (out.status != DP_S_OK)
			break;
		held++;
	}
	EXPECT_REPLY(out, DP_S_BUSY, DP_D_REBALANCING);
	/* the donor takes everything else */
	for (unsigned k = 0; k <= G1_CAP; k++) {
		rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, 1);
		route_to(f, &rq, donor);
		fx_exec_on(f, donor, &rq, &out);
		if (out.status != DP_S_OK)
			break;
		held++;
		hold0 = out.hold_id;
		client0 = rq.client_id;
		serial0 = out.items[0];
	}
	EXPECT_REPLY(out, DP_S_SOLD_OUT, -1);
	assert_int_equal(out.available, 0);
	assert_int_equal(held, G1_CAP);
	assert_int_not_equal(hold0, 0);

	/* the donor releases one serial; the receiver gets it through a transfer */
	fx_release_ok(f, client0, hold0);
	rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, 1);
	route_to(f, &rq, recv);
	fx_exec_on(f, recv, &rq, &out);
	EXPECT_REPLY(out, DP_S_BUSY, DP_D_REBALANCING);
	dp_worker_tick(fx_worker(f, donor), f->now);
	dp_worker_tick(fx_worker(f, recv), f->now);
	fx_exec_on(f, recv, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_equal(out.items[0], serial0);
	uint64_t moved_hold = out.hold_id;
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, G1_CAP, 0, 0);

	/* commit everything, restart, compare */
	assert_int_equal(st_writer_start(f->env), 0);
	f->writer_running = true;
	f->no_wait = false;
	for (unsigned w = 0; w < 2; w++)
		assert_true(fx_wait_durable(f, w, st_log_pushed(st_env_log(f->env, w))));
	struct snap s0, s1;
	snap_take(f, &s0);
	fx_shutdown(f);
	fx_reopen(f);
	snap_take(f, &s1);
	EXPECT_COUNTS(s1.g1, G1_CAP, 0, G1_CAP, 0, 0);
	for (unsigned i = 0; i < G1_CAP; i++) {
		assert_int_equal(dp_seat_word_state(s1.wg[i]), DP_SEAT_HELD);
		assert_int_equal(dp_seat_word_hold_ref(s1.wg[i]), dp_seat_word_hold_ref(s0.wg[i]));
	}
	assert_int_equal(dp_seat_word_hold_ref(s1.wg[serial0]),
			 (uint32_t)dp_hold_worker(moved_hold) << 24 | dp_hold_slot(moved_hold));
	fx_confirm_ok(f, rq.client_id, moved_hold, NULL);
}

/* Two dry slices that both need stock must not trade it back and forth
 * forever (a livelock seen in the demo): within a few tick rounds one of
 * the two waiting holds succeeds and the other gets a definite answer. */
static void test_ga_two_needy_slices(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	/* Leave 1 free on slice 0 and 2 on slice 1 (G1 is split 25 / 25). */
	const unsigned leave[2] = {1, 2};
	for (unsigned widx = 0; widx < 2; widx++) {
		unsigned take = G1_CAP / 2 - leave[widx];
		while (take > 0) {
			unsigned n = take < 4 ? take : 4;
			struct dp_request rq;
			struct dp_reply out;
			rq_hold_ga(&rq, 0, f->next_req++, EV1, G1, n);
			route_to(f, &rq, widx);
			fx_exec_on(f, widx, &rq, &out);
			EXPECT_REPLY(out, DP_S_OK, -1);
			take -= n;
		}
	}
	assert_int_equal(fx_counts(f, EV1, G1).free, 3);
	struct dp_request a, b;
	struct dp_reply ra, rb;
	rq_hold_ga(&a, 0, f->next_req++, EV1, G1, 2);
	route_to(f, &a, 0);
	rq_hold_ga(&b, 0, f->next_req++, EV1, G1, 3);
	route_to(f, &b, 1);
	fx_exec_on(f, 0, &a, &ra);
	EXPECT_REPLY(ra, DP_S_BUSY, DP_D_REBALANCING);
	fx_exec_on(f, 1, &b, &rb);
	EXPECT_REPLY(rb, DP_S_BUSY, DP_D_REBALANCING);
	unsigned rounds = 0;
	while (ra.status == DP_S_BUSY || rb.status == DP_S_BUSY) {
		if (++rounds > 8)
			fail_msg("still busy after 8 tick rounds: a %s, b %s", dp_status_name(ra.status),
				 dp_status_name(rb.status));
		for (unsigned k = 0; k < 2; k++) {
			dp_worker_tick(fx_worker(f, 0), f->now);
			dp_worker_tick(fx_worker(f, 1), f->now);
		}
		if (ra.status == DP_S_BUSY)
			fx_exec_on(f, 0, &a, &ra);
		if (rb.status == DP_S_BUSY)
			fx_exec_on(f, 1, &b, &rb);
	}
	/* 3 free: at most one of 2 and 3 fits. */
	assert_true((ra.status == DP_S_OK) != (rb.status == DP_S_OK));
	struct dp_reply *loser = ra.status == DP_S_OK ? &rb : &ra;
	EXPECT_REPLY(*loser, DP_S_SOLD_OUT, -1);
	struct dp_part_counts c = fx_counts(f, EV1, G1);
	assert_int_equal(c.free, ra.status == DP_S_OK ? 1 : 0);
	assert_int_equal(loser->available, c.free);
}

static void test_ga_transfer_1_to_0_recover(void **state)
{
	ga_transfer_then_recover(*state, 0, 1);
}

static void test_ga_transfer_0_to_1_recover(void **state)
{
	ga_transfer_then_recover(*state, 1, 0);
}

static void test_confirm(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);

	const uint32_t seats[2] = { 5, 6 };
	struct dp_reply hr;
	uint64_t h = fx_hold_seats_ok(f, 21, S1, 2, seats, &hr);
	f->now += 5000;

	struct dp_request rq;
	struct dp_reply out;
	rq_confirm(&rq, 21, 9001, h, 0x11);
	assert_int_equal(fx_route(f, &rq), 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	uint64_t order = out.order_id;
	assert_int_not_equal(order, 0);
	assert_int_equal(dp_order_worker(order), 0);
	assert_int_equal(dp_order_seq(order), 1);
	assert_int_not_equal(out.wait_seq, 0);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 1);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t w = fx_word(f, EV1, S1, seats[i]);
		assert_int_equal(dp_seat_word_state(w), DP_SEAT_SOLD);
		assert_int_equal(dp_seat_word_order(w), order);
	}
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 2, S1_SEATS - 3);
	assert_int_equal(fx_buyer(f, EV1, 21), 2);

	struct dp_order_view v;
	memset(&v, 0, sizeof(v));
	urcu_qsbr_read_lock();
	int rc = dp_order_get(f->eng, order, &v);
	urcu_qsbr_read_unlock();
	assert_int_equal(rc, 0);
	assert_int_equal(v.order_id, order);
	assert_int_equal(v.hold_id, h);
	assert_int_equal(v.client_id, 21);
	assert_int_equal(v.event_id, EV1);
	assert_int_equal(v.part_id, S1);
	assert_int_equal(v.kind, ST_KIND_SEAT);
	assert_int_equal(v.time_ms, f->now);
	expect_items(v.items, v.n_items, seats, 2);
	assert_memory_equal(v.payment_ref, rq.payment_ref, ST_PAYMENT_REF_SIZE);

	/* confirming again with a new request id: same order, no new order */
	struct snap before, after;
	snap_take(f, &before);
	rq_confirm(&rq, 21, 9002, h, 0x11);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_CONFIRMED);
	assert_int_equal(out.order_id, order);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 1);
	assert_int_equal(fx_buyer(f, EV1, 21), 2);
	/* releasing a confirmed hold does not unsell it */
	rq_release(&rq, 21, 9003, h);
	fx_exec(f, &rq, &out);
	assert_int_not_equal(out.status, DP_S_OK);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* GA confirm */
	rq_hold_ga(&rq, 22, 1, EV1, G1, 3);
	fx_exec(f, &rq, &hr);
	EXPECT_REPLY(hr, DP_S_OK, DP_D_NONE);
	uint64_t o2 = fx_confirm_ok(f, 22, hr.hold_id, &out);
	assert_int_not_equal(o2, order);
	assert_int_equal(dp_order_seq(o2), 2);
	urcu_qsbr_read_lock();
	rc = dp_order_get(f->eng, o2, &v);
	urcu_qsbr_read_unlock();
	assert_int_equal(rc, 0);
	assert_int_equal(v.kind, ST_KIND_GA);
	assert_int_equal(v.part_id, G1);
	assert_int_equal(v.client_id, 22);
	assert_int_equal(v.hold_id, hr.hold_id);
	expect_items(v.items, v.n_items, hr.items, 3);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t w = fx_word(f, EV1, G1, hr.items[i]);
		assert_int_equal(dp_seat_word_state(w), DP_SEAT_SOLD);
		assert_int_equal(dp_seat_word_order(w), o2);
	}
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 3, G1_CAP - 3);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 2);

	urcu_qsbr_read_lock();
	assert_int_equal(dp_order_get(f->eng, dp_order_id(0, 99), &v), -ENOENT);
	assert_int_equal(dp_order_get(f->eng, 0, &v), -ENOENT);
	urcu_qsbr_read_unlock();
}

static void test_confirm_expired(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	const uint32_t s01[2] = { 0, 1 }, s2[1] = { 2 };
	uint64_t ha = fx_hold_seats_ok(f, 31, S1, 2, s01, NULL);
	uint64_t hb = fx_hold_seats_ok(f, 32, S1, 1, s2, NULL);
	struct dp_request rq;
	struct dp_reply gr, out;
	rq_hold_ga(&rq, 33, 1, EV1, G1, 2);
	fx_exec(f, &rq, &gr);
	EXPECT_REPLY(gr, DP_S_OK, -1);

	/* last millisecond: still confirmable */
	f->now = FX_T0 + EV_TTL_MS - 1;
	fx_confirm_ok(f, 32, hb, NULL);

	/* at expiry: refused, seats free again */
	f->now = FX_T0 + EV_TTL_MS;
	rq_confirm(&rq, 31, 100, ha, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_EXPIRED, -1);
	expect_state_all(f, S1, s01, 2, DP_SEAT_FREE);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 1, S1_SEATS - 2);
	assert_int_equal(fx_buyer(f, EV1, 31), 0);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 1);

	/* asked again: still expired, nothing changes */
	struct snap before, after;
	snap_take(f, &before);
	rq_confirm(&rq, 31, 101, ha, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_EXPIRED, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* GA hold expired too */
	rq_confirm(&rq, 33, 2, gr.hold_id, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_EXPIRED, -1);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 0, G1_CAP);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(fx_state(f, EV1, G1, gr.items[i]), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 33), 0);

	/* the seats can be held again by someone else */
	uint64_t hc = fx_hold_seats_ok(f, 34, S1, 2, s01, NULL);
	assert_int_not_equal(hc, ha);
	/* the old hold id does not confirm the new hold */
	rq_confirm(&rq, 31, 102, ha, 1);
	fx_exec(f, &rq, &out);
	assert_int_not_equal(out.status, DP_S_OK);
	expect_state_all(f, S1, s01, 2, DP_SEAT_HELD);
}

static void test_release(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	const uint32_t s[3] = { 3, 4, 5 };
	uint64_t h = fx_hold_seats_ok(f, 41, S1, 3, s, NULL);
	assert_int_equal(fx_buyer(f, EV1, 41), 3);

	struct dp_request rq;
	struct dp_reply out;
	rq_release(&rq, 41, 1, h);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	assert_int_not_equal(out.wait_seq, 0);
	expect_state_all(f, S1, s, 3, DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 41), 0);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);

	struct snap before, after;
	snap_take(f, &before);
	rq_release(&rq, 41, 2, h);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_RELEASED, -1);
	rq_confirm(&rq, 41, 3, h, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_RELEASED, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 0);

	/* GA release */
	struct dp_reply gr;
	rq_hold_ga(&rq, 42, 1, EV1, G1, 4);
	fx_exec(f, &rq, &gr);
	EXPECT_REPLY(gr, DP_S_OK, -1);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 4, 0, G1_CAP - 4);
	fx_release_ok(f, 42, gr.hold_id);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 0, G1_CAP);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fx_state(f, EV1, G1, gr.items[i]), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 42), 0);

	/* operator release of any buyer's hold */
	const uint32_t s7[1] = { 7 };
	uint64_t h7 = fx_hold_seats_ok(f, 43, S1, 1, s7, NULL);
	rq_release(&rq, 9999, 1, h7);
	rq.flags = DP_REQ_F_OPERATOR;
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(fx_state(f, EV1, S1, 7), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 43), 0);
	rq_confirm(&rq, 43, 2, h7, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_RELEASED, -1);
}

static void test_not_yours(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	const uint32_t s[2] = { 8, 9 };
	struct dp_reply hr;
	uint64_t h = fx_hold_seats_ok(f, 51, S1, 2, s, &hr);

	struct snap before, after;
	snap_take(f, &before);
	struct dp_request rq;
	struct dp_reply out;
	rq_confirm(&rq, 52, 1, h, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_NOT_YOURS, -1);
	assert_int_equal(out.wait_seq, 0);
	rq_release(&rq, 52, 2, h);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_NOT_YOURS, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	expect_held_by(f, S1, &hr);
	assert_int_equal(fx_buyer(f, EV1, 51), 2);
	assert_int_equal(fx_buyer(f, EV1, 52), 0);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 0);

	uint64_t order = fx_confirm_ok(f, 51, h, NULL);
	/* still not yours once confirmed: no order is given away */
	snap_take(f, &before);
	rq_confirm(&rq, 52, 3, h, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_NOT_YOURS, -1);
	assert_int_equal(fx_state(f, EV1, S1, 8), DP_SEAT_SOLD);
	assert_int_equal(dp_seat_word_order(fx_word(f, EV1, S1, 8)), order);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
}

static void test_unknown_hold(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	const uint32_t s[1] = { 0 };
	uint64_t h = fx_hold_seats_ok(f, 61, S1, 1, s, NULL);

	const uint64_t forged[] = {
		0,
		h ^ 1,                                  /* right slot, wrong generation */
		h + ((uint64_t)1 << 32),                /* next slot, same generation */
		((uint64_t)0 << 56) | (0xffffffull << 32) | 1, /* slot past the table */
		0x0123456789abcdefull,
		~0ull,
	};
	struct snap before, after;
	snap_take(f, &before);
	for (unsigned i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		struct dp_request rq;
		struct dp_reply out;
		rq_confirm(&rq, 61, 100 + i, forged[i], 0);
		fx_exec(f, &rq, &out);
		EXPECT_REPLY(out, DP_S_NOT_FOUND, DP_D_HOLD);
		rq_release(&rq, 61, 200 + i, forged[i]);
		fx_exec(f, &rq, &out);
		EXPECT_REPLY(out, DP_S_NOT_FOUND, DP_D_HOLD);
	}
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	fx_confirm_ok(f, 61, h, NULL);
}

static void test_expire_all(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	const uint32_t s1[2] = { 0, 1 }, s2[1] = { 5 };
	uint64_t h1 = fx_hold_seats_ok(f, 71, S1, 2, s1, NULL);
	fx_hold_seats_ok(f, 72, S2, 1, s2, NULL);
	struct dp_request rq;
	struct dp_reply gr, out;
	rq_hold_ga(&rq, 73, 1, EV1, G1, 2);
	fx_exec(f, &rq, &gr);
	EXPECT_REPLY(gr, DP_S_OK, -1);
	/* a later hold that must survive the first sweep */
	f->now = FX_T0 + 1000;
	const uint32_t s3[1] = { 20 };
	fx_hold_seats_ok(f, 74, S1, 1, s3, NULL);
	/* a confirmed hold never expires */
	f->now = FX_T0;
	const uint32_t s4[1] = { 30 };
	uint64_t h4 = fx_hold_seats_ok(f, 75, S1, 1, s4, NULL);
	fx_confirm_ok(f, 75, h4, NULL);

	struct dp_worker *w = fx_worker(f, 0);
	struct snap before, after;
	snap_take(f, &before);
	assert_int_equal(dp_worker_expire_all(w, FX_T0 + EV_TTL_MS - 1), 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	f->now = FX_T0 + EV_TTL_MS;
	assert_int_equal(dp_worker_expire_all(w, f->now), 3);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 1, 1, S1_SEATS - 3);
	EXPECT_COUNTS(fx_counts(f, EV1, S2), S2_SEATS, 0, 0, 0, S2_SEATS);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 0, G1_CAP);
	expect_state_all(f, S1, s1, 2, DP_SEAT_FREE);
	assert_int_equal(fx_state(f, EV1, S2, 5), DP_SEAT_FREE);
	assert_int_equal(fx_state(f, EV1, S1, 20), DP_SEAT_HELD);
	assert_int_equal(fx_state(f, EV1, S1, 30), DP_SEAT_SOLD);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(fx_state(f, EV1, G1, gr.items[i]), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 71), 0);
	assert_int_equal(fx_buyer(f, EV1, 72), 0);
	assert_int_equal(fx_buyer(f, EV1, 73), 0);
	assert_int_equal(fx_buyer(f, EV1, 74), 1);
	assert_int_equal(fx_buyer(f, EV1, 75), 1);
	/* the expiries are logged and become durable */
	uint64_t pushed = st_log_pushed(st_env_log(f->env, 0));
	assert_true(fx_wait_durable(f, 0, pushed));

	assert_int_equal(dp_worker_expire_all(w, f->now), 0);
	/* the expired hold cannot be confirmed (expired, or forgotten) */
	snap_take(f, &before);
	rq_confirm(&rq, 71, 50, h1, 0);
	fx_exec(f, &rq, &out);
	if (!(out.status == DP_S_EXPIRED || (out.status == DP_S_NOT_FOUND && out.detail == DP_D_HOLD)))
		EXPECT_REPLY(out, DP_S_EXPIRED, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	/* and the seats can be held again */
	fx_hold_seats_ok(f, 76, S1, 2, s1, NULL);

	f->now = FX_T0 + 1000 + EV_TTL_MS;
	assert_int_equal(dp_worker_expire_all(w, f->now), 1);
	assert_int_equal(fx_buyer(f, EV1, 74), 0);
}

static void test_expire_tick(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct dp_worker *w = fx_worker(f, 0);
	for (unsigned k = 0; k < 5; k++) {
		const uint32_t s[2] = { 2 * k, 2 * k + 1 };
		fx_hold_seats_ok(f, 80 + k, S1, 2, s, NULL);
	}
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 10, 0, S1_SEATS - 11);

	/* before expiry, a full sweep of ticks reclaims nothing */
	unsigned sum = 0;
	for (unsigned t = 0; t < 2 * 4096 / 16; t++)
		sum += dp_worker_tick(w, FX_T0 + EV_TTL_MS - 1);
	assert_int_equal(sum, 0);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 10, 0, S1_SEATS - 11);

	f->now = FX_T0 + EV_TTL_MS;
	unsigned ticks = 0;
	while (sum < 5 && ticks < 100000) {
		sum += dp_worker_tick(w, f->now);
		ticks++;
	}
	assert_int_equal(sum, 5);
	for (unsigned t = 0; t < 1000; t++)
		assert_int_equal(dp_worker_tick(w, f->now), 0);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);
	for (unsigned k = 0; k < 5; k++)
		assert_int_equal(fx_buyer(f, EV1, 80 + k), 0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(fx_state(f, EV1, S1, i), DP_SEAT_FREE);
}

static void test_buyer_limit(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	fx_add_std(f, EV1 + 1);
	const uint64_t c = 91;
	struct dp_request rq;
	struct dp_reply out;
	struct snap before, after;

	const uint32_t a[5] = { 0, 1, 2, 3, 4 };
	uint64_t ha = fx_hold_seats_ok(f, c, S1, 5, a, NULL);
	assert_int_equal(fx_buyer(f, EV1, c), 5);

	snap_take(f, &before);
	const uint32_t b4[4] = { 10, 11, 12, 13 };
	rq_hold_seats(&rq, c, f->next_req++, EV1, S1, 4, b4);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);
	assert_int_equal(out.wait_seq, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, c), 5);

	const uint32_t b3[3] = { 10, 11, 12 };
	uint64_t hb = fx_hold_seats_ok(f, c, S1, 3, b3, NULL);
	assert_int_equal(fx_buyer(f, EV1, c), 8);

	/* the limit is event-wide: GA and best-available count too */
	snap_take(f, &before);
	rq_hold_ga(&rq, c, f->next_req++, EV1, G1, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);
	rq_hold_best(&rq, c, f->next_req++, EV1, S2, 1, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* releasing frees quota */
	fx_release_ok(f, c, ha);
	assert_int_equal(fx_buyer(f, EV1, c), 3);
	const uint32_t d[4] = { 20, 21, 22, 23 };
	uint64_t hd = fx_hold_seats_ok(f, c, S1, 4, d, NULL);
	assert_int_equal(fx_buyer(f, EV1, c), 7);
	/* confirmed tickets keep counting */
	fx_confirm_ok(f, c, hd, NULL);
	assert_int_equal(fx_buyer(f, EV1, c), 7);
	rq_hold_ga(&rq, c, f->next_req++, EV1, G1, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(fx_buyer(f, EV1, c), 8);
	snap_take(f, &before);
	const uint32_t e[1] = { 30 };
	rq_hold_seats(&rq, c, f->next_req++, EV1, S1, 1, e);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* releasing the 3-seat hold frees 3, not more */
	fx_release_ok(f, c, hb);
	assert_int_equal(fx_buyer(f, EV1, c), 5);
	const uint32_t g[3] = { 0, 1, 2 };
	fx_hold_seats_ok(f, c, S2, 3, g, NULL);
	assert_int_equal(fx_buyer(f, EV1, c), 8);
	rq_hold_ga(&rq, c, f->next_req++, EV1, G1, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);

	/* other buyers and other events are not affected */
	const uint32_t h8[8] = { 30, 31, 32, 33, 34, 35, 36, 37 };
	fx_hold_seats_ok(f, c + 1, S1, 8, h8, NULL);
	assert_int_equal(fx_buyer(f, EV1, c + 1), 8);
	rq_hold_seats(&rq, c, f->next_req++, EV1 + 1, S1, 8, h8);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(fx_buyer(f, EV1 + 1, c), 8);
	assert_int_equal(fx_buyer(f, EV1, c), 8);
}

static void expect_same_reply(const struct dp_reply *a, const struct dp_reply *b)
{
	assert_int_equal(a->status, b->status);
	if (b->detail != a->detail)
		assert_int_equal(b->detail, DP_D_REPLAY);
	assert_int_equal(a->hold_id, b->hold_id);
	assert_int_equal(a->expiry_ms, b->expiry_ms);
	assert_int_equal(a->n_items, b->n_items);
	assert_memory_equal(a->items, b->items, a->n_items * sizeof(a->items[0]));
	if (a->status == DP_S_OK && (a->order_id != 0 || b->order_id != 0))
		assert_int_equal(a->order_id, b->order_id);
}

static void test_idempotency(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct dp_request rq;
	struct dp_reply r1, r2;
	struct snap before, after;

	/* hold seats: replay is identical and changes nothing, even later */
	const uint32_t s12[2] = { 1, 2 };
	rq_hold_seats(&rq, 101, 500, EV1, S1, 2, s12);
	fx_exec(f, &rq, &r1);
	EXPECT_REPLY(r1, DP_S_OK, DP_D_NONE);
	snap_take(f, &before);
	f->now += 1000;
	fx_exec(f, &rq, &r2);
	expect_same_reply(&r1, &r2);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 101), 2);

	/* same request id, different content: mismatch, nothing changes */
	const uint32_t s13[2] = { 1, 3 };
	rq_hold_seats(&rq, 101, 500, EV1, S1, 2, s13);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_BAD_REQUEST, DP_D_IDEM_MISMATCH);
	assert_int_equal(r2.wait_seq, 0);
	rq_hold_seats(&rq, 101, 500, EV1, S2, 2, s12);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_BAD_REQUEST, DP_D_IDEM_MISMATCH);
	rq_hold_ga(&rq, 101, 500, EV1, G1, 2);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_BAD_REQUEST, DP_D_IDEM_MISMATCH);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_state(f, EV1, S1, 3), DP_SEAT_FREE);

	/* the key is (client, request id): another client's request 500 is its own */
	const uint32_t s56[2] = { 5, 6 };
	rq_hold_seats(&rq, 102, 500, EV1, S1, 2, s56);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_OK, DP_D_NONE);
	assert_int_not_equal(r2.hold_id, r1.hold_id);
	uint64_t h102 = r2.hold_id;

	/* confirm replay: same order, no new order */
	struct dp_reply c1, c2;
	rq_confirm(&rq, 101, 501, r1.hold_id, 0x33);
	fx_exec(f, &rq, &c1);
	EXPECT_REPLY(c1, DP_S_OK, DP_D_NONE);
	snap_take(f, &before);
	uint64_t orders = dp_worker_orders(fx_worker(f, 0));
	fx_exec(f, &rq, &c2);
	EXPECT_REPLY(c2, DP_S_OK, -1);
	assert_int_equal(c2.order_id, c1.order_id);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), orders);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* the original hold request replayed after the confirm: same answer, nothing changes */
	rq_hold_seats(&rq, 101, 500, EV1, S1, 2, s12);
	fx_exec(f, &rq, &r2);
	expect_same_reply(&r1, &r2);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);

	/* confirm request id reused for another hold: mismatch */
	struct dp_reply hb;
	rq_hold_best(&rq, 101, 502, EV1, S1, 1, 0);
	fx_exec(f, &rq, &hb);
	EXPECT_REPLY(hb, DP_S_OK, DP_D_NONE);
	snap_take(f, &before);
	fx_exec(f, &rq, &r2); /* best-available replay: same seat, not a second one */
	expect_same_reply(&hb, &r2);
	rq_confirm(&rq, 101, 501, hb.hold_id, 0x33);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_BAD_REQUEST, DP_D_IDEM_MISMATCH);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_state(f, EV1, S1, hb.items[0]), DP_SEAT_HELD);

	/* release replay */
	rq_release(&rq, 101, 503, hb.hold_id);
	fx_exec(f, &rq, &r1);
	EXPECT_REPLY(r1, DP_S_OK, DP_D_NONE);
	snap_take(f, &before);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_OK, -1);
	if (r2.detail != DP_D_NONE)
		assert_int_equal(r2.detail, DP_D_REPLAY);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 101), 2);

	/* GA replay: same serials */
	rq_hold_ga(&rq, 103, 600, EV1, G1, 3);
	fx_exec(f, &rq, &r1);
	EXPECT_REPLY(r1, DP_S_OK, DP_D_NONE);
	snap_take(f, &before);
	fx_exec(f, &rq, &r2);
	expect_same_reply(&r1, &r2);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 103), 3);

	/* a refused request is not remembered: its retry runs again once the seat frees */
	const uint32_t s5[1] = { 5 };
	rq_hold_seats(&rq, 104, 700, EV1, S1, 1, s5);
	fx_exec(f, &rq, &r1);
	EXPECT_REPLY(r1, DP_S_TAKEN, -1);
	fx_release_ok(f, 102, h102);
	fx_exec(f, &rq, &r2);
	EXPECT_REPLY(r2, DP_S_OK, DP_D_NONE);
	assert_int_equal(fx_state(f, EV1, S1, 5), DP_SEAT_HELD);

	/* replay after the hold expired and was swept: the first answer, no new hold */
	const uint32_t s30[2] = { 30, 31 };
	rq_hold_seats(&rq, 105, 800, EV1, S1, 2, s30);
	fx_exec(f, &rq, &r1);
	EXPECT_REPLY(r1, DP_S_OK, DP_D_NONE);
	f->now = r1.expiry_ms;
	assert_true(dp_worker_expire_all(fx_worker(f, 0), f->now) >= 1);
	expect_state_all(f, S1, s30, 2, DP_SEAT_FREE);
	snap_take(f, &before);
	fx_exec(f, &rq, &r2);
	expect_same_reply(&r1, &r2);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 105), 0);
}

/* W=2: the buyer limit is per event, whichever worker owns the part. */
static void test_buyer_limit_two_workers(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	const uint64_t c = 300;
	struct dp_request rq;
	struct dp_reply out;
	struct snap before, after;

	const uint32_t a[5] = { 0, 1, 2, 3, 4 };
	struct dp_reply ha;
	fx_hold_seats_ok(f, c, S1, 5, a, &ha);
	unsigned wa = dp_hold_worker(ha.hold_id);

	/* a GA hold on the other worker when the routing allows it */
	rq_hold_ga(&rq, c, f->next_req++, EV1, G1, 4);
	for (unsigned k = 0; k < 4096 && fx_route(f, &rq) != (int)(1 - wa); k++)
		rq.request_id = f->next_req++;
	int wg = fx_route(f, &rq);
	print_message("sections on worker %u, this GA request on worker %d\n", wa, wg);
	snap_take(f, &before);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, c), 5);

	rq.n = 3;
	rq.request_id = f->next_req++;
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(fx_buyer(f, EV1, c), 8);
	const uint32_t b[1] = { 0 };
	rq_hold_seats(&rq, c, f->next_req++, EV1, S2, 1, b);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_LIMIT, -1);

	fx_release_ok(f, c, ha.hold_id);
	assert_int_equal(fx_buyer(f, EV1, c), 3);
	rq_hold_ga(&rq, c, f->next_req++, EV1, G1, 5);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(fx_buyer(f, EV1, c), 8);
}

/* Full hold and order tables refuse cleanly (UNAVAILABLE) and change nothing. */
static void test_tables_full(void **state)
{
	struct fx *f = *state;
	fx_open_tuned(f, 1, true, 16, 4, 0);
	fx_add_std(f, EV1);
	struct dp_request rq;
	struct dp_reply out;
	struct snap before, after;
	uint64_t holds[16];
	for (unsigned k = 0; k < 16; k++) {
		const uint32_t s[1] = { k };
		holds[k] = fx_hold_seats_ok(f, 1 + k, S1, 1, s, NULL);
	}
	snap_take(f, &before);
	const uint32_t s16[1] = { 16 };
	rq_hold_seats(&rq, 50, 1, EV1, S1, 1, s16);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_UNAVAILABLE, DP_D_HOLDS_FULL);
	assert_int_equal(out.wait_seq, 0);
	rq_hold_ga(&rq, 50, 2, EV1, G1, 1);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_UNAVAILABLE, DP_D_HOLDS_FULL);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_buyer(f, EV1, 50), 0);

	/* a release makes room */
	fx_release_ok(f, 16, holds[15]);
	rq_hold_seats(&rq, 50, 3, EV1, S1, 1, s16);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);

	/* orders: 4 fit */
	for (unsigned k = 0; k < 4; k++)
		fx_confirm_ok(f, 1 + k, holds[k], NULL);
	snap_take(f, &before);
	rq_confirm(&rq, 5, 4, holds[4], 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_UNAVAILABLE, DP_D_ORDERS_FULL);
	assert_int_equal(out.wait_seq, 0);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	assert_int_equal(fx_state(f, EV1, S1, 4), DP_SEAT_HELD);
	assert_int_equal(dp_worker_orders(fx_worker(f, 0)), 4);
}

/*
 * Storage ring full (writer stopped): mutations answer BUSY/LOG_FULL with a
 * retry delay and change nothing; replies given before are not durable until
 * the writer runs again; then the retry succeeds.
 */
static void test_log_full_busy(void **state)
{
	struct fx *f = *state;
	fx_open_tuned(f, 1, true, 0, 0, 16);
	fx_add_std(f, EV1);
	assert_int_equal(st_writer_stop(f->env), 0);
	f->writer_running = false;
	f->no_wait = true;
	struct dp_worker *w = fx_worker(f, 0);
	uint64_t durable0 = dp_worker_durable(w);

	struct dp_request rq;
	struct dp_reply out;
	unsigned oks = 0;
	uint64_t last_seq = 0;
	bool busy = false;
	for (unsigned k = 0; k < 40 && !busy; k++) {
		rq_hold_ga(&rq, 1000 + k, 1, EV1, G1, 1);
		struct snap before, after;
		snap_take(f, &before);
		fx_exec(f, &rq, &out);
		if (out.status == DP_S_OK) {
			oks++;
			assert_true(out.wait_seq > last_seq);
			last_seq = out.wait_seq;
			assert_true(dp_worker_durable(w) < out.wait_seq);
			continue;
		}
		EXPECT_REPLY(out, DP_S_BUSY, DP_D_LOG_FULL);
		assert_true(out.retry_after_ms > 0);
		assert_int_equal(out.wait_seq, 0);
		snap_take(f, &after);
		SNAP_SAME(&before, &after);
		assert_int_equal(fx_buyer(f, EV1, rq.client_id), 0);
		busy = true;
	}
	assert_true(busy);
	assert_true(oks >= 1 && oks <= 16);
	assert_int_equal(dp_worker_durable(w), durable0);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, oks, 0, G1_CAP - oks);

	assert_int_equal(st_writer_start(f->env), 0);
	f->writer_running = true;
	f->no_wait = false;
	assert_true(fx_wait_durable(f, 0, last_seq));
	fx_exec(f, &rq, &out); /* the refused request, retried */
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, oks + 1, 0, G1_CAP - oks - 1);
}

static void test_remove_event(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	fx_add_std(f, EV1 + 1);
	const uint32_t s[1] = { 0 };
	fx_hold_seats_ok(f, 1, S1, 1, s, NULL);
	assert_int_equal(dp_engine_remove_event(f->eng, EV1 + 1), 0);
	assert_int_equal(dp_engine_remove_event(f->eng, EV1 + 1), -ENOENT);
	assert_int_equal(dp_engine_remove_event(f->eng, 4242), -ENOENT);
	struct dp_part_counts c;
	urcu_qsbr_read_lock();
	assert_int_equal(dp_event_counts_get(f->eng, EV1 + 1, &c), -ENOENT);
	urcu_qsbr_read_unlock();
	struct dp_request rq;
	struct dp_reply out;
	rq_hold_seats(&rq, 1, 99, EV1 + 1, S1, 1, s);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_NOT_FOUND, DP_D_EVENT);
	/* the other event is untouched */
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 1, 0, S1_SEATS - 2);
	/* the id can be loaded again */
	fx_add_std(f, EV1 + 1);
	EXPECT_COUNTS(fx_counts(f, EV1 + 1, S1), S1_SEATS, 1, 0, 0, S1_SEATS - 1);
}

/* ---- recovery ---- */

struct rec_state {
	struct snap snap;
	uint32_t buyers[6];
	uint64_t worker_orders[2];
};

static const uint64_t rec_clients[6] = { 81, 82, 83, 84, 85, 86 };

static void rec_capture(struct fx *f, struct rec_state *r)
{
	snap_take(f, &r->snap);
	for (unsigned i = 0; i < 6; i++)
		r->buyers[i] = fx_buyer(f, EV1, rec_clients[i]);
	for (unsigned i = 0; i < f->workers; i++)
		r->worker_orders[i] = dp_worker_orders(fx_worker(f, i));
}

static void word_equiv(uint64_t a, uint64_t b, const char *what, unsigned idx)
{
	enum dp_seat_state sa = dp_seat_word_state(a), sb = dp_seat_word_state(b);
	bool ok = sa == sb;
	if (ok && sa == DP_SEAT_SOLD)
		ok = dp_seat_word_order(a) == dp_seat_word_order(b);
	if (ok && sa == DP_SEAT_HELD)
		ok = dp_seat_word_hold_ref(a) == dp_seat_word_hold_ref(b);
	if (!ok) {
		print_error("%s %u: word %#llx before recovery, %#llx after\n", what, idx, (unsigned long long)a,
			    (unsigned long long)b);
		fail();
	}
}

static void rec_compare(const struct rec_state *a, const struct rec_state *b, unsigned workers)
{
	EXPECT_COUNTS(b->snap.s1, a->snap.s1.capacity, a->snap.s1.withheld, a->snap.s1.held, a->snap.s1.sold,
		      a->snap.s1.free);
	EXPECT_COUNTS(b->snap.s2, a->snap.s2.capacity, a->snap.s2.withheld, a->snap.s2.held, a->snap.s2.sold,
		      a->snap.s2.free);
	EXPECT_COUNTS(b->snap.g1, a->snap.g1.capacity, a->snap.g1.withheld, a->snap.g1.held, a->snap.g1.sold,
		      a->snap.g1.free);
	for (unsigned i = 0; i < S1_SEATS; i++)
		word_equiv(a->snap.w1[i], b->snap.w1[i], "S1 seat", i);
	for (unsigned i = 0; i < S2_SEATS; i++)
		word_equiv(a->snap.w2[i], b->snap.w2[i], "S2 seat", i);
	for (unsigned i = 0; i < G1_CAP; i++)
		word_equiv(a->snap.wg[i], b->snap.wg[i], "G1 serial", i);
	for (unsigned i = 0; i < 6; i++) {
		if (a->buyers[i] != b->buyers[i]) {
			print_error("buyer %llu: count %u before recovery, %u after\n",
				    (unsigned long long)rec_clients[i], a->buyers[i], b->buyers[i]);
			fail();
		}
	}
	for (unsigned i = 0; i < workers; i++)
		assert_int_equal(a->worker_orders[i], b->worker_orders[i]);
}

static void order_get_ok(struct fx *f, uint64_t id, struct dp_order_view *v)
{
	memset(v, 0, sizeof(*v));
	urcu_qsbr_read_lock();
	int rc = dp_order_get(f->eng, id, v);
	urcu_qsbr_read_unlock();
	if (rc != 0)
		fail_msg("dp_order_get(%#llx) = %d", (unsigned long long)id, rc);
}

static void order_equal(const struct dp_order_view *a, const struct dp_order_view *b)
{
	assert_int_equal(a->order_id, b->order_id);
	assert_int_equal(a->hold_id, b->hold_id);
	assert_int_equal(a->client_id, b->client_id);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->event_id, b->event_id);
	assert_int_equal(a->part_id, b->part_id);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->n_items, b->n_items);
	assert_memory_equal(a->items, b->items, a->n_items * sizeof(a->items[0]));
	assert_memory_equal(a->payment_ref, b->payment_ref, ST_PAYMENT_REF_SIZE);
}

/*
 * W=2, full sync: holds, confirms, releases; restart (writer stop, engine
 * destroy, env close, reopen, recover); everything is back, the open hold is
 * still confirmable and an idempotent retry of its request returns it.
 */
static void test_recovery(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, false);
	fx_add_std(f, EV1);
	struct dp_request rq, rq_a, rq_b_confirm, rq_c_release;
	struct dp_reply out, ra, rb, re;

	/* A: open hold */
	const uint32_t sa[2] = { 0, 1 };
	rq_hold_seats(&rq_a, 81, 800, EV1, S1, 2, sa);
	fx_exec(f, &rq_a, &ra);
	EXPECT_REPLY(ra, DP_S_OK, DP_D_NONE);
	/* B: hold + confirm */
	const uint32_t sb[2] = { 2, 3 };
	rq_hold_seats(&rq, 82, 801, EV1, S1, 2, sb);
	fx_exec(f, &rq, &rb);
	EXPECT_REPLY(rb, DP_S_OK, DP_D_NONE);
	f->now += 100;
	rq_confirm(&rq_b_confirm, 82, 802, rb.hold_id, 0x5a);
	fx_exec(f, &rq_b_confirm, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	uint64_t ob = out.order_id;
	/* C: hold + release */
	const uint32_t sc[1] = { 0 };
	rq_hold_seats(&rq, 83, 803, EV1, S2, 1, sc);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	rq_release(&rq_c_release, 83, 804, out.hold_id);
	fx_exec(f, &rq_c_release, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	/* D: GA hold + confirm */
	rq_hold_ga(&rq, 84, 805, EV1, G1, 3);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	rq_confirm(&rq, 84, 806, out.hold_id, 0x77);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	uint64_t od = out.order_id;
	/* E: GA open hold */
	rq_hold_ga(&rq, 85, 807, EV1, G1, 2);
	fx_exec(f, &rq, &re);
	EXPECT_REPLY(re, DP_S_OK, DP_D_NONE);
	/* F: best available, open */
	rq_hold_best(&rq, 86, 808, EV1, S1, 3, TIER_B);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	/* a bad definition is never stored */
	struct tevent *bad = malloc(sizeof(*bad));
	assert_non_null(bad);
	tevent_std(bad, EV1 + 5);
	bad->def.buyer_limit = 0;
	char err[128];
	assert_int_equal(dp_engine_add_event(f->eng, &bad->def, err, sizeof(err)), -EINVAL);
	free(bad);

	struct rec_state r0, r1;
	struct dp_order_view vb0, vd0, v;
	rec_capture(f, &r0);
	order_get_ok(f, ob, &vb0);
	order_get_ok(f, od, &vd0);
	EXPECT_COUNTS(r0.snap.s1, S1_SEATS, 1, 5, 2, S1_SEATS - 8);
	EXPECT_COUNTS(r0.snap.g1, G1_CAP, 0, 2, 3, G1_CAP - 5);
	assert_int_equal(r0.buyers[0], 2);
	assert_int_equal(r0.buyers[2], 0);

	fx_shutdown(f);
	fx_reopen(f);

	rec_capture(f, &r1);
	rec_compare(&r0, &r1, 2);
	order_get_ok(f, ob, &v);
	order_equal(&vb0, &v);
	order_get_ok(f, od, &v);
	order_equal(&vd0, &v);
	struct dp_part_counts c;
	urcu_qsbr_read_lock();
	assert_int_equal(dp_event_counts_get(f->eng, EV1 + 5, &c), -ENOENT);
	urcu_qsbr_read_unlock();

	/* idempotent retries survive the restart */
	f->now = FX_T0 + 10000;
	fx_exec(f, &rq_a, &out);
	expect_same_reply(&ra, &out);
	fx_exec(f, &rq_b_confirm, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	assert_int_equal(out.order_id, ob);
	struct rec_state r2;
	rec_capture(f, &r2);
	rec_compare(&r0, &r2, 2);

	/* ended holds keep their answers; another buyer still cannot confirm A */
	snap_take(f, &r2.snap);
	rq_confirm(&rq, 82, 850, rb.hold_id, 0x5a);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_CONFIRMED);
	assert_int_equal(out.order_id, ob);
	rq_release(&rq, 83, 851, rq_c_release.hold_id);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_RELEASED, -1);
	rq_confirm(&rq, 82, 852, ra.hold_id, 0x5a);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_NOT_YOURS, -1);
	{
		struct snap after_ended;
		snap_take(f, &after_ended);
		SNAP_SAME(&r2.snap, &after_ended);
	}

	/* the open hold is still confirmable by its id, before expiry */
	rq_confirm(&rq, 81, 900, ra.hold_id, 0x21);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, DP_D_NONE);
	uint64_t oa = out.order_id;
	assert_int_not_equal(oa, ob);
	assert_int_not_equal(oa, od);
	unsigned wa = dp_order_worker(oa);
	assert_int_equal(dp_order_seq(oa), r0.worker_orders[wa] + 1);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t w = fx_word(f, EV1, S1, sa[i]);
		assert_int_equal(dp_seat_word_state(w), DP_SEAT_SOLD);
		assert_int_equal(dp_seat_word_order(w), oa);
	}
	struct dp_order_view va0;
	order_get_ok(f, oa, &va0);

	/* second restart: the post-recovery confirm is durable too */
	struct rec_state r3, r4;
	rec_capture(f, &r3);
	fx_shutdown(f);
	fx_reopen(f);
	rec_capture(f, &r4);
	rec_compare(&r3, &r4, 2);
	order_get_ok(f, oa, &v);
	order_equal(&va0, &v);
	assert_int_equal(fx_buyer(f, EV1, 81), 2);

	/* the recovered open GA hold expires on time */
	f->now = re.expiry_ms;
	rq_confirm(&rq, 85, 901, re.hold_id, 0);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_EXPIRED, -1);
	for (unsigned i = 0; i < re.n_items; i++)
		assert_int_equal(fx_state(f, EV1, G1, re.items[i]), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 85), 0);
	EXPECT_COUNTS(fx_counts(f, EV1, G1), G1_CAP, 0, 0, 3, G1_CAP - 3);
	/* the recovered open best-available hold (F) is reclaimed by the sweep */
	unsigned swept = 0;
	for (unsigned w = 0; w < 2; w++)
		swept += dp_worker_expire_all(fx_worker(f, w), f->now);
	assert_int_equal(swept, 1);
	EXPECT_COUNTS(fx_counts(f, EV1, S1), S1_SEATS, 1, 0, 4, S1_SEATS - 5);
	assert_int_equal(fx_buyer(f, EV1, 86), 0);

	/* a buyer's release retried after the restarts: same answer, nothing changes */
	struct snap before, after;
	snap_take(f, &before);
	fx_exec(f, &rq_c_release, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
}

/*
 * A hold slot is reused (tiny hold table) in memory and after a restart: the
 * old hold id never reaches the new hold, new ids never repeat old ones, and
 * the old hold request's retry still returns its first answer.
 */
static void test_hold_slot_reuse(void **state)
{
	struct fx *f = *state;
	fx_open_tuned(f, 1, true, 8, 0, 0);
	fx_add_std(f, EV1);
	struct dp_request rq_x, rq;
	struct dp_reply rx, out;
	struct snap before, after;
	uint64_t ids[32];
	unsigned n_ids = 0;

	for (unsigned round = 0; round < 2; round++) {
		/* X: hold and release */
		const uint32_t sx[1] = { 30 + round };
		rq_hold_seats(&rq_x, 1, 100 + round, EV1, S1, 1, sx);
		fx_exec(f, &rq_x, &rx);
		EXPECT_REPLY(rx, DP_S_OK, DP_D_NONE);
		for (unsigned i = 0; i < n_ids; i++)
			assert_int_not_equal(rx.hold_id, ids[i]);
		ids[n_ids++] = rx.hold_id;
		fx_release_ok(f, 1, rx.hold_id);
		if (round == 1) {
			fx_shutdown(f);
			fx_reopen(f);
		}
		/* fill the whole table: one of these takes X's slot */
		uint64_t fresh[8];
		bool reused = false;
		for (unsigned k = 0; k < 8; k++) {
			const uint32_t s[1] = { k };
			fresh[k] = fx_hold_seats_ok(f, 10 + k, S1, 1, s, NULL);
			for (unsigned i = 0; i < n_ids; i++)
				assert_int_not_equal(fresh[k], ids[i]);
			reused |= dp_hold_slot(fresh[k]) == dp_hold_slot(rx.hold_id);
		}
		assert_true(reused);
		snap_take(f, &before);
		rq_confirm(&rq, 1, 200 + round, rx.hold_id, 0);
		fx_exec(f, &rq, &out);
		if (out.status != DP_S_RELEASED)
			EXPECT_REPLY(out, DP_S_NOT_FOUND, DP_D_HOLD);
		rq_release(&rq, 1, 210 + round, rx.hold_id);
		fx_exec(f, &rq, &out);
		if (out.status != DP_S_RELEASED)
			EXPECT_REPLY(out, DP_S_NOT_FOUND, DP_D_HOLD);
		/* X's hold request retried: its first answer, nothing held */
		fx_exec(f, &rq_x, &out);
		expect_same_reply(&rx, &out);
		snap_take(f, &after);
		SNAP_SAME(&before, &after);
		for (unsigned k = 0; k < 8; k++) {
			ids[n_ids++] = fresh[k];
			fx_release_ok(f, 10 + k, fresh[k]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initial_counts, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_seats_basic, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_seats_taken_alt, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_seats_withheld, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_best_adjacent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_best_no_split, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_ga_basic, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ga_rebalance_sellout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ga_two_needy_slices, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ga_transfer_1_to_0_recover, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ga_transfer_0_to_1_recover, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_confirm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_confirm_expired, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_release, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_not_yours, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_hold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expire_all, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expire_tick, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_buyer_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_buyer_limit_two_workers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tables_full, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_log_full_busy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_event, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovery, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_slot_reuse, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
