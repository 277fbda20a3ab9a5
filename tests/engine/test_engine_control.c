/*
 * test_engine_control.c - the reservation core's control-path features:
 * sale states (closed refusals, scheduled opening on time, confirm and
 * release while paused), durable sale settings across recovery, reload
 * keeping holds and orders, reload refusing each kind of layout change with
 * its message and changing nothing, operator expire/release by hold id, and
 * per-event request counters. Run by test_engine.c (engine_tests.h).
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

#include "dataplane/dp_codec.h"
#include "tests/engine/helpers.h"
#include "tests/engine/engine_tests.h"

static const uint32_t seat0[1] = {0};
static const uint32_t seat1[1] = {1};

static int hold_status(struct fx *f, uint32_t seat)
{
	struct dp_request rq;
	struct dp_reply r;
	rq_hold_seats(&rq, 77, f->next_req++, EV1, S1, 1, &seat);
	return fx_exec(f, &rq, &r);
}

static int sale_state(struct fx *f)
{
	struct dp_sale_view sv;
	assert_int_equal(dp_event_sale_get(f->eng, EV1, f->now, &sv), 0);
	return sv.state;
}

static int load(struct fx *f, struct tevent *te, uint64_t on_sale_ms, int *action, char *err, size_t errlen)
{
	struct dp_sale_settings sale = {.on_sale_ms = on_sale_ms, .max_active_shoppers = 10, .admission_per_s = 5};
	return dp_engine_load_event(f->eng, &te->def, &sale, action, err, errlen);
}

void test_sale_states(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	fx_add_std(f, EV1);
	assert_int_equal(sale_state(f), DP_SALE_OPEN);
	struct dp_reply r;
	uint64_t h0 = fx_hold_seats_ok(f, 11, S1, 1, seat0, &r);
	uint64_t h1 = fx_hold_seats_ok(f, 12, S1, 1, seat1, &r);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_PAUSED), 0);
	assert_int_equal(sale_state(f), DP_SALE_PAUSED);
	struct snap before, after;
	snap_take(f, &before);
	struct dp_request rq;
	rq_hold_best(&rq, 13, f->next_req++, EV1, S1, 2, 0);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_CLOSED, DP_D_NONE);
	rq_hold_ga(&rq, 13, f->next_req++, EV1, G1, 2);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_CLOSED, DP_D_NONE);
	assert_int_equal(hold_status(f, 5), DP_S_CLOSED);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	/* A buyer who is paying finishes; a release goes on too. */
	fx_confirm_ok(f, 11, h0, NULL);
	fx_release_ok(f, 12, h1);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_CLOSED), 0);
	assert_int_equal(hold_status(f, 5), DP_S_CLOSED);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_OPEN), 0);
	assert_int_equal(hold_status(f, 5), DP_S_OK);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_SCHEDULED), -EINVAL);
	assert_int_equal(dp_engine_sale_set_state(f->eng, 999, DP_SALE_PAUSED), -ENOENT);
}

void test_sale_scheduled(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	struct tevent *te = malloc(sizeof(*te));
	tevent_std(te, EV1);
	int action = 0;
	char err[256];
	assert_int_equal(load(f, te, FX_T0 + 1000, &action, err, sizeof(err)), 0);
	assert_int_equal(action, DP_LOAD_ADDED);
	struct dp_sale_view sv;
	assert_int_equal(dp_event_sale_get(f->eng, EV1, f->now, &sv), 0);
	assert_int_equal(sv.state, DP_SALE_SCHEDULED);
	assert_int_equal(sv.on_sale_ms, FX_T0 + 1000);
	assert_int_equal(sv.max_active_shoppers, 10);
	assert_int_equal(hold_status(f, 0), DP_S_CLOSED);
	f->now = FX_T0 + 999;
	assert_int_equal(hold_status(f, 0), DP_S_CLOSED);
	f->now = FX_T0 + 1000;
	assert_int_equal(sale_state(f), DP_SALE_OPEN);
	assert_int_equal(hold_status(f, 0), DP_S_OK);
	/* `open` on a scheduled event opens it at once. */
	tevent_std(te, EV1 + 1);
	assert_int_equal(load(f, te, FX_T0 + 100000, &action, err, sizeof(err)), 0);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1 + 1, DP_SALE_OPEN), 0);
	assert_int_equal(dp_event_sale_get(f->eng, EV1 + 1, f->now, &sv), 0);
	assert_int_equal(sv.stored_state, DP_SALE_OPEN);
	free(te);
}

void test_sale_durable(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	fx_add_std(f, EV1);
	uint32_t shoppers = 600, rate = 50;
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_PAUSED), 0);
	assert_int_equal(dp_engine_sale_set_limits(f->eng, EV1, &shoppers, &rate), 0);
	rate = 70;
	assert_int_equal(dp_engine_sale_set_limits(f->eng, EV1, NULL, &rate), 0);
	fx_shutdown(f);
	fx_reopen(f);
	struct dp_sale_view sv;
	assert_int_equal(dp_event_sale_get(f->eng, EV1, f->now, &sv), 0);
	assert_int_equal(sv.state, DP_SALE_PAUSED);
	assert_int_equal(sv.max_active_shoppers, 600);
	assert_int_equal(sv.admission_per_s, 70);
	assert_int_equal(hold_status(f, 0), DP_S_CLOSED);
	/* A reload (the --inventory at start) keeps the pause. */
	struct tevent *te = malloc(sizeof(*te));
	tevent_std(te, EV1);
	int action = 0;
	assert_int_equal(load(f, te, 0, &action, NULL, 0), 0);
	assert_int_equal(action, DP_LOAD_RELOADED); /* waiting-room values differ */
	assert_int_equal(sale_state(f), DP_SALE_PAUSED);
	free(te);
}

void test_reload_keeps_holds(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	fx_add_std(f, EV1);
	struct dp_reply r;
	uint64_t h0 = fx_hold_seats_ok(f, 21, S1, 1, seat0, &r);
	uint64_t h1 = fx_hold_seats_ok(f, 22, S1, 1, seat1, &r);
	uint64_t order = fx_confirm_ok(f, 22, h1, NULL);
	struct snap before, after;
	snap_take(f, &before);
	struct tevent *te = malloc(sizeof(*te));
	tevent_std(te, EV1);
	int action = 0;
	char err[256] = "";
	/* Same definition, sale settings all zero as fx_add_std stored them. */
	assert_int_equal(dp_engine_load_event(f->eng, &te->def, NULL, &action, err, sizeof(err)), 0);
	assert_int_equal(action, DP_LOAD_UNCHANGED);
	snprintf(te->def.name, DP_NAME_MAX, "renamed");
	snprintf(te->sec[0].name, DP_NAME_MAX, "Stalls renamed");
	te->tiers[0].price_cents = 12345;
	te->def.hold_ttl_ms = EV_TTL_MS * 2;
	te->def.buyer_limit = EV_LIMIT - 1;
	assert_int_equal(dp_engine_load_event(f->eng, &te->def, NULL, &action, err, sizeof(err)), 0);
	assert_int_equal(action, DP_LOAD_RELOADED);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	struct dp_order_view ov;
	assert_int_equal(dp_order_get(f->eng, order, &ov), 0);
	/* The kept hold still confirms; a new hold takes the new TTL. */
	fx_confirm_ok(f, 21, h0, NULL);
	uint32_t s2 = 2;
	fx_hold_seats_ok(f, 23, S1, 1, &s2, &r);
	assert_int_equal(r.expiry_ms, f->now + EV_TTL_MS * 2);
	struct dp_event_def *d;
	assert_int_equal(dp_event_def_get(f->eng, EV1, &d), 0);
	assert_string_equal(d->name, "renamed");
	assert_int_equal(d->tiers[0].price_cents, 12345);
	dp_event_def_free(d);
	/* The stored definition is the new one. */
	fx_shutdown(f);
	fx_reopen(f);
	assert_int_equal(dp_event_def_get(f->eng, EV1, &d), 0);
	assert_string_equal(d->sections[0].name, "Stalls renamed");
	dp_event_def_free(d);
	assert_int_equal(fx_state(f, EV1, S1, 0), DP_SEAT_SOLD);
	assert_int_equal(fx_state(f, EV1, S1, 2), DP_SEAT_HELD);
	free(te);
}

/* One layout change and the message it must give. */
static void expect_layout_refused(struct fx *f, struct tevent *te, const char *want)
{
	struct snap before, after;
	snap_take(f, &before);
	char err[512] = "";
	int action = -1;
	assert_int_equal(dp_engine_load_check(f->eng, &te->def, err, sizeof(err)), -EEXIST);
	int rc = dp_engine_load_event(f->eng, &te->def, NULL, &action, err, sizeof(err));
	if (rc != -EEXIST || strstr(err, want) == NULL || strstr(err, "a loaded event keeps its layout") == NULL) {
		print_error("rc %d err \"%s\", expected -EEXIST and \"%s\"\n", rc, err, want);
		fail();
	}
	assert_int_equal(action, -1);
	snap_take(f, &after);
	SNAP_SAME(&before, &after);
	struct dp_event_def *d;
	assert_int_equal(dp_event_def_get(f->eng, EV1, &d), 0);
	assert_string_equal(d->name, "test event 100");
	assert_int_equal(d->n_sections, 2);
	assert_int_equal(d->sections[0].n_seats, S1_SEATS);
	dp_event_def_free(d);
	tevent_std(te, EV1);
	snprintf(te->def.name, DP_NAME_MAX, "changed"); /* would be a reload, if the layout were kept */
}

void test_reload_layout_refused(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	fx_add_std(f, EV1);
	fx_hold_seats_ok(f, 31, S1, 1, seat0, NULL);
	struct tevent *te = malloc(sizeof(*te));
	tevent_std(te, EV1);
	snprintf(te->def.name, DP_NAME_MAX, "changed");

	te->sec[0].n_seats = S1_SEATS - 1;
	expect_layout_refused(f, te, "event 100: section 1 (Stalls): 40 seats loaded, 39 in the file;");
	te->s1[5].tier = TIER_B;
	expect_layout_refused(f, te, "section 1 (Stalls): seat 5: row A number 6 tier 1 flags 0x0 loaded, row A number 6 tier 2");
	te->s1[6].flags = DP_SEAT_ACCESSIBLE;
	expect_layout_refused(f, te, "seat 6: row A number 7 tier 1 flags 0x0 loaded, row A number 7 tier 1 flags 0x1");
	te->s1[7].number = 99;
	expect_layout_refused(f, te, "number 99");
	te->s1[8].row = 1;
	expect_layout_refused(f, te, "seat 8: row A number 9 tier 1 flags 0x0 loaded, row B number 9");
	snprintf(te->s2_rows[0], DP_ROW_LABEL_MAX, "Y");
	expect_layout_refused(f, te, "section 2 (Box): row 1 label \"Z\" loaded, \"Y\" in the file");
	te->def.n_sections = 1;
	expect_layout_refused(f, te, "event 100: section 2 (Box): loaded, not in the file;");
	te->ga[0].capacity = G1_CAP + 1;
	expect_layout_refused(f, te, "general-admission type 10 (");
	te->ga[0].id = 11;
	expect_layout_refused(f, te, "general-admission type 11 (");
	te->ga[0].id = S2; /* the Box section's id as a GA type */
	te->def.n_sections = 1;
	expect_layout_refused(f, te, "part 2 (");
	free(te);
}

void test_end_hold(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, false);
	fx_add_std(f, EV1);
	struct dp_reply r;
	uint64_t h0 = fx_hold_seats_ok(f, 41, S1, 1, seat0, &r);
	uint64_t h1 = fx_hold_seats_ok(f, 42, S1, 1, seat1, &r);
	unsigned wk = dp_hold_worker(h0);
	struct dp_worker *w = fx_worker(f, wk);
	uint64_t seq = 0;
	assert_int_equal(dp_worker_end_hold(w, h0, 1, f->now, &seq), DP_END_NOT_DUE);
	assert_int_equal(seq, 0);
	assert_int_equal(dp_worker_end_hold(w, h0 ^ 1, 1, f->now, &seq), DP_END_NOT_FOUND); /* forged generation */
	assert_int_equal(dp_worker_end_hold(w, h0 + (1ull << 32) * 7, 0, f->now, &seq), DP_END_NOT_FOUND); /* slot */
	assert_int_equal(dp_worker_end_hold(fx_worker(f, 1 - wk), h0, 0, f->now, &seq), DP_END_NOT_FOUND);
	assert_int_equal(dp_worker_end_hold(w, (uint64_t)63 << 56, 0, f->now, &seq), DP_END_NOT_FOUND);
	/* Operator release of another buyer's hold, whatever its age. */
	assert_int_equal(dp_worker_end_hold(w, h1, 0, f->now, &seq), DP_END_RELEASED);
	assert_true(seq > 0);
	assert_true(fx_wait_durable(f, wk, seq));
	assert_int_equal(fx_state(f, EV1, S1, 1), DP_SEAT_FREE);
	assert_int_equal(fx_buyer(f, EV1, 42), 0);
	assert_int_equal(dp_worker_end_hold(w, h1, 0, f->now, &seq), DP_END_ENDED);
	assert_int_equal(dp_worker_end_hold(w, h1, 1, f->now, &seq), DP_END_ENDED);
	/* The buyer's own release now answers released. */
	struct dp_request rq;
	rq_release(&rq, 42, f->next_req++, h1);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_RELEASED, DP_D_NONE);
	f->now += EV_TTL_MS;
	assert_int_equal(dp_worker_end_hold(w, h0, 1, f->now, &seq), DP_END_EXPIRED);
	assert_true(fx_wait_durable(f, wk, seq));
	assert_int_equal(fx_state(f, EV1, S1, 0), DP_SEAT_FREE);
	assert_int_equal(dp_worker_end_hold(w, h0, 1, f->now, &seq), DP_END_ENDED);
	rq_confirm(&rq, 41, f->next_req++, h0, 1);
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_EXPIRED, DP_D_NONE);
	/* Recovery replays both. */
	fx_shutdown(f);
	fx_reopen(f);
	w = fx_worker(f, wk);
	assert_int_equal(fx_state(f, EV1, S1, 0), DP_SEAT_FREE);
	assert_int_equal(fx_state(f, EV1, S1, 1), DP_SEAT_FREE);
	assert_int_equal(dp_worker_end_hold(w, h0, 1, f->now, &seq), DP_END_ENDED);
	assert_int_equal(dp_worker_end_hold(w, h1, 0, f->now, &seq), DP_END_ENDED);
	assert_string_equal(dp_end_result_name(DP_END_NOT_DUE), "not_due");
}

void test_event_counters(void **state)
{
	struct fx *f = *state;
	fx_open(f, 1, false);
	fx_add_std(f, EV1);
	fx_add_std(f, EV1 + 1);
	struct dp_reply r;
	uint64_t h0 = fx_hold_seats_ok(f, 51, S1, 1, seat0, &r);
	assert_int_equal(hold_status(f, 0), DP_S_TAKEN);
	fx_confirm_ok(f, 51, h0, NULL);
	struct dp_request rq;
	rq_confirm(&rq, 52, f->next_req++, h0, 1); /* not yours: counted for the hold's event */
	fx_exec(f, &rq, &r);
	EXPECT_REPLY(r, DP_S_NOT_YOURS, DP_D_NONE);
	uint64_t seq;
	dp_worker_end_hold(fx_worker(f, 0), h0, 0, f->now, &seq); /* operator: not a buyer request */
	struct dp_event_stats es;
	assert_int_equal(dp_event_stats_get(f->eng, EV1, &es), 0);
	assert_int_equal(es.requests, 4);
	assert_int_equal(es.status[DP_S_OK], 2);
	assert_int_equal(es.status[DP_S_TAKEN], 1);
	assert_int_equal(es.status[DP_S_NOT_YOURS], 1);
	assert_int_equal(dp_event_stats_get(f->eng, EV1 + 1, &es), 0);
	assert_int_equal(es.requests, 0);
	assert_int_equal(dp_event_stats_get(f->eng, 999, &es), -ENOENT);
	/* A reload keeps them. */
	struct tevent *te = malloc(sizeof(*te));
	tevent_std(te, EV1);
	snprintf(te->def.name, DP_NAME_MAX, "renamed");
	int action;
	assert_int_equal(dp_engine_load_event(f->eng, &te->def, NULL, &action, NULL, 0), 0);
	assert_int_equal(action, DP_LOAD_RELOADED);
	assert_int_equal(dp_event_stats_get(f->eng, EV1, &es), 0);
	assert_int_equal(es.requests, 4);
	free(te);
}
