/*
 * test_engine.c - unit tests of the reservation core (dataplane/dp_engine.h):
 * holds (named, best available, general admission), confirm, release,
 * expiry, per-buyer limit, idempotency, counts, GA rebalancing between
 * workers, and recovery from storage.
 *
 * The test thread plays every worker in turn; the clock is fake (fx->now).
 * The standard event (helpers.h): S1 4x10 seats (rows 0-1 tier A, rows 2-3
 * tier B, seat 39 withheld), S2 one row 1 2 3 | 5 6 7 (tier B), G1 GA 50.
 *
 * This file holds main (the one cmocka group, in the original order) and the
 * hold tests; the others are in test_engine_ga.c, test_engine_ops.c and
 * test_engine_recovery.c (prototypes in engine_tests.h), and the assertions
 * they share in helpers.c.
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
#include "tests/engine/engine_tests.h"

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

/* ------------------------------------------------------------------ tests */

void test_initial_counts(void **state)
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

void test_hold_seats_basic(void **state)
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

void test_hold_seats_taken_alt(void **state)
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

void test_hold_seats_withheld(void **state)
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

void test_hold_best_adjacent(void **state)
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

void test_hold_best_no_split(void **state)
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
		cmocka_unit_test_setup_teardown(test_idem_horizon, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_buyer_limit_two_workers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tables_full, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_log_full_busy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_event, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovery, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold_slot_reuse, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sale_states, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sale_scheduled, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sale_durable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_holds, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reload_layout_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_end_hold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_event_counters, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
