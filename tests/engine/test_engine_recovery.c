/*
 * test_engine_recovery.c - recovery and restart tests of the reservation
 * core: state rebuilt from storage after a restart, and hold slot reuse in
 * memory and across a restart. Run by test_engine.c (engine_tests.h).
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
void test_recovery(void **state)
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
void test_hold_slot_reuse(void **state)
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
