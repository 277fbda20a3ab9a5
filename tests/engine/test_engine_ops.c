/*
 * test_engine_ops.c - confirm, release, expiry, buyer limit, idempotency,
 * full tables and log, and event removal tests of the reservation core.
 * Run by test_engine.c (engine_tests.h).
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

void test_confirm(void **state)
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

void test_confirm_expired(void **state)
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

void test_release(void **state)
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

void test_not_yours(void **state)
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

void test_unknown_hold(void **state)
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

void test_expire_all(void **state)
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

void test_expire_tick(void **state)
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

void test_buyer_limit(void **state)
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

void test_idempotency(void **state)
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
void test_buyer_limit_two_workers(void **state)
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
void test_tables_full(void **state)
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
void test_log_full_busy(void **state)
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

void test_remove_event(void **state)
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

/*
 * The retry memory never forgets an entry younger than its horizon: when it
 * is full of such entries a new mutation is answered busy / retry_memory_full
 * with the wait, and changes nothing; a retry of a remembered one is still
 * answered from memory. (Before, the oldest entry was dropped at once, so at
 * high rates a retry 0.5 s later could be applied a second time.)
 */
void test_idem_horizon(void **state)
{
	struct fx *f = *state;
	f->idem_tuned = true;
	f->idem_max = 4;
	f->idem_horizon_ms = 1000;
	fx_open(f, 1, true);
	fx_add_std(f, EV1);
	struct dp_request rq;
	struct dp_reply r, first, again;
	const uint64_t t0 = f->now;
	for (uint64_t c = 201; c <= 204; c++) {
		rq_hold_ga(&rq, c, 1, EV1, G1, 1);
		fx_exec(f, &rq, &r);
		EXPECT_REPLY(r, DP_S_OK, DP_D_NONE);
		if (c == 201)
			first = r;
	}
	struct dp_part_counts before = fx_counts(f, EV1, G1);
	assert_int_equal(before.held, 4);

	/* Full of entries younger than 1 s: busy with the exact wait. */
	f->now = t0 + 10;
	rq_hold_ga(&rq, 205, 1, EV1, G1, 1);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_BUSY, DP_D_RETRY_MEMORY);
	assert_int_equal(r.retry_after_ms, 990);
	assert_int_equal(r.wait_seq, 0);
	struct dp_part_counts after = fx_counts(f, EV1, G1);
	assert_int_equal(after.held, before.held);
	assert_int_equal(fx_buyer(f, EV1, 205), 0);

	/* A retry of a remembered mutation is answered from memory. */
	rq_hold_ga(&rq, 201, 1, EV1, G1, 1);
	fx_exec(f, &rq, &again);
	EXPECT_REPLY(again, DP_S_OK, DP_D_REPLAY);
	assert_int_equal(again.hold_id, first.hold_id);
	assert_int_equal(fx_counts(f, EV1, G1).held, 4);

	/* Once the oldest is past the horizon, the new mutation goes through. */
	f->now = t0 + 1000;
	rq_hold_ga(&rq, 205, 1, EV1, G1, 1);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_OK, DP_D_NONE);
	assert_int_equal(fx_counts(f, EV1, G1).held, 5);
}
