/*
 * test_waitdp.c - the waiting room in the reservation core (dataplane/dp_queue.c,
 * docs/waiting-room.md "Integration contract"): join and poll positions, a
 * refresh keeps the place (also across a restart with recovery), admission in
 * join order, the pre-queue permutation, every token refusal, holds gated by
 * access tokens, key rotation, the durable reservation, an old (version
 * 1) sale record still loading, and the purchase window running from the
 * admission (admission steps), with nothing allocated and no system call on
 * the worker path (malloc is interposed here unless ALLOC_COUNT_OFF: a
 * sanitized build).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "dataplane/dp_token.h"
#include "tests/engine/helpers.h"
#include "tests/common/alloc_count.h"
#include "tests/common/no_syscall.h"

#define EV2 200u
#define T_ON_SALE_AHEAD_MS 60000u
#define T_WINDOW_MS 60000u

static void secret_of(uint8_t seed, uint8_t *s)
{
	for (unsigned i = 0; i < DP_KEY_SIZE; i++)
		s[i] = (uint8_t)(seed * 7 + i);
}

/* A key set with one key (id, secret from seed); the engine owns it. */
static void set_keys(struct fx *f, uint8_t id, uint8_t seed)
{
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	uint8_t s[DP_KEY_SIZE];
	secret_of(seed, s);
	assert_int_equal(dp_keys_add(ks, id, s), 0);
	dp_engine_keys_set(f->eng, ks);
}

/* Load (or reload) the standard event under id with a waiting room and a
 * purchase window of window_ms. */
static void load_wr_window(struct fx *f, uint32_t id, uint8_t mode, uint64_t on_sale_ms, uint32_t window_ms)
{
	struct tevent *te = malloc(sizeof(*te));
	assert_non_null(te);
	tevent_std(te, id);
	struct dp_sale_settings sale = {.on_sale_ms = on_sale_ms, .wr_mode = mode, .purchase_window_ms = window_ms};
	char err[256] = "";
	int rc = dp_engine_load_event(f->eng, &te->def, &sale, NULL, err, sizeof(err));
	free(te);
	if (rc)
		print_error("load: %d %s\n", rc, err);
	assert_int_equal(rc, 0);
}

/* Load the standard event under id with a waiting room (window T_WINDOW_MS). */
static void load_wr(struct fx *f, uint32_t id, uint8_t mode, uint64_t on_sale_ms)
{
	load_wr_window(f, id, mode, on_sale_ms, T_WINDOW_MS);
}

/* The expiry (ms) of an access token: bytes 24..31, little-endian. */
static uint64_t tok_expiry_ms(const uint8_t *tok)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | tok[24 + i];
	return v;
}

static void open_wr(struct fx *f, uint8_t mode, uint64_t on_sale_ms)
{
	fx_open(f, 2, true);
	load_wr(f, EV1, mode, on_sale_ms);
	set_keys(f, 1, 1);
}

static struct dp_queue_answer join_ok(struct fx *f, uint32_t ev, uint64_t client)
{
	struct dp_queue_answer a;
	assert_int_equal(dp_queue_join(f->eng, ev, client, f->now, &a), DP_S_OK);
	return a;
}

static struct dp_queue_answer poll_ok(struct fx *f, uint32_t ev, uint64_t client, const uint8_t *tok)
{
	struct dp_queue_answer a;
	int rc = dp_queue_poll(f->eng, ev, client, tok, f->now, &a);
	if (rc != DP_S_OK)
		print_error("poll: %s/%s\n", dp_status_name(rc), dp_detail_name(a.detail));
	assert_int_equal(rc, DP_S_OK);
	return a;
}

static struct dp_queue_view view(struct fx *f, uint32_t ev)
{
	struct dp_queue_view v;
	assert_int_equal(dp_queue_get(f->eng, ev, &v), 0);
	return v;
}

static int hold_with(struct fx *f, uint64_t client, const uint8_t *tok, uint8_t *detail)
{
	struct dp_request rq;
	rq_hold_ga(&rq, client, ++f->next_req, EV1, G1, 1);
	return dp_queue_hold_check(f->eng, &rq, tok, f->now, detail);
}

/* Queue requests count in the event's request counters (auto-activation reads them). */
static void test_counted(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	struct dp_event_stats a, b;
	assert_int_equal(dp_event_stats_get(f->eng, EV1, &a), 0);
	dp_worker_count_event(fx_worker(f, 0), EV1, DP_S_OK);
	dp_worker_count_event(fx_worker(f, 1), EV1, DP_S_NOT_ADMITTED);
	dp_worker_count_event(fx_worker(f, 1), 999, DP_S_OK);     /* unknown event: not counted */
	dp_worker_count_event(fx_worker(f, 1), EV1, DP_S__COUNT); /* bad status: not counted */
	assert_int_equal(dp_event_stats_get(f->eng, EV1, &b), 0);
	assert_int_equal(b.requests, a.requests + 2);
	assert_int_equal(b.status[DP_S_OK], a.status[DP_S_OK] + 1);
	assert_int_equal(b.status[DP_S_NOT_ADMITTED], a.status[DP_S_NOT_ADMITTED] + 1);
}

/* Mode off: no queue, holds need no token. */
static void test_off(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_OFF, 0);
	struct dp_queue_answer a = join_ok(f, EV1, 5);
	assert_int_equal(a.state, DP_QS_NO_QUEUE);
	static const uint8_t zero[DP_TOKEN_SIZE];
	assert_memory_equal(a.token, zero, DP_TOKEN_SIZE);
	uint8_t d;
	assert_int_equal(hold_with(f, 5, NULL, &d), DP_S_OK);
	assert_int_equal(dp_queue_set_active(f->eng, EV1, 1), -EPERM);
	struct dp_queue_answer b;
	assert_int_equal(dp_queue_join(f->eng, 999, 5, f->now, &b), DP_S_NOT_FOUND);
	assert_int_equal(b.detail, DP_D_EVENT);
}

/* Positions in join order; a poll with the same ticket gives the same place. */
static void test_join_poll(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_true(view(f, EV1).opened);
	struct dp_queue_answer a[5];
	for (unsigned i = 0; i < 5; i++) {
		a[i] = join_ok(f, EV1, 100 + i);
		assert_int_equal(a[i].state, DP_QS_WAITING);
		assert_int_equal(a[i].position, i);
		assert_int_equal(a[i].ahead, i);
		assert_int_equal(a[i].token[1], DP_TOKEN_TICKET);
	}
	uint32_t rate = 10;
	assert_int_equal(dp_queue_admit(f->eng, EV1, 0, &rate, f->now), 0);
	for (int round = 0; round < 3; round++)
		for (unsigned i = 0; i < 5; i++) {
			f->now += 1000;
			struct dp_queue_answer p = poll_ok(f, EV1, 100 + i, a[i].token);
			assert_int_equal(p.state, DP_QS_WAITING);
			assert_int_equal(p.position, i);
			assert_int_equal(p.wait_ms, i * 100);
			assert_memory_equal(p.token, a[i].token, DP_TOKEN_SIZE);
		}
	struct dp_queue_view v = view(f, EV1);
	assert_int_equal(v.joined, 5);
	assert_int_equal(v.prequeue, 0);
	assert_int_equal(v.rate_per_s, 10);
}

/* Admission strictly in join order; holds need the access token while active. */
static void test_admission_order(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	enum { N = 8 };
	struct dp_queue_answer a[N];
	for (unsigned i = 0; i < N; i++)
		a[i] = join_ok(f, EV1, 100 + i);
	for (unsigned k = 1; k <= N; k++) {
		assert_int_equal(dp_queue_admit(f->eng, EV1, k, NULL, f->now), 0);
		for (unsigned i = 0; i < N; i++) {
			struct dp_queue_answer p = poll_ok(f, EV1, 100 + i, a[i].token);
			assert_int_equal(p.state, i < k ? DP_QS_ADMITTED : DP_QS_WAITING);
			assert_int_equal(p.position, i);
			if (i >= k)
				assert_int_equal(p.ahead, i - k);
		}
	}
	/* never backwards: nothing changes */
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, f->now), -ERANGE);
	assert_int_equal(view(f, EV1).admitted, N);
	assert_int_equal(dp_queue_admit(f->eng, 999, 9, NULL, f->now), -ENOENT);

	struct dp_queue_answer t = poll_ok(f, EV1, 100, a[0].token);
	assert_int_equal(t.state, DP_QS_ADMITTED);
	assert_int_equal(t.token[1], DP_TOKEN_ACCESS);
	uint8_t d;
	assert_int_equal(hold_with(f, 100, NULL, &d), DP_S_NOT_ADMITTED);
	assert_int_equal(hold_with(f, 100, a[0].token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_WRONG_KIND);
	assert_int_equal(hold_with(f, 100, t.token, &d), DP_S_OK);
	/* the hold itself then runs as always */
	struct dp_request rq;
	struct dp_reply r;
	rq_hold_ga(&rq, 100, ++f->next_req, EV1, G1, 1);
	assert_int_equal(fx_exec(f, &rq, &r), DP_S_OK);
}

/* Before opening: PREQUEUE tickets; at opening a random, stable permutation. */
static void test_prequeue(void **state)
{
	struct fx *f = *state;
	const uint64_t on_sale = f->now + T_ON_SALE_AHEAD_MS;
	open_wr(f, DP_WR_ON, on_sale);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_false(view(f, EV1).opened);
	enum { N = 40 };
	struct dp_queue_answer a[N];
	for (unsigned i = 0; i < N; i++) {
		a[i] = join_ok(f, EV1, 100 + i);
		assert_int_equal(a[i].state, DP_QS_PREQUEUE);
		assert_int_equal(a[i].position, 0);
		assert_int_equal(a[i].wait_ms, T_ON_SALE_AHEAD_MS);
		assert_int_equal(a[i].token[3], DP_TOKEN_F_PREQUEUE);
	}
	f->now = on_sale + 5;
	/* opened but not yet frozen by the control path: still PREQUEUE */
	assert_int_equal(poll_ok(f, EV1, 100, a[0].token).state, DP_QS_PREQUEUE);
	/* a join after the on-sale time is a regular one, after every pre-queue joiner */
	struct dp_queue_answer late = join_ok(f, EV1, 999);
	assert_int_equal(late.state, DP_QS_WAITING);
	assert_int_equal(late.position, N);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_view v = view(f, EV1);
	assert_true(v.opened);
	assert_int_equal(v.prequeue, N);
	assert_int_equal(v.joined, 1);
	uint64_t pos[N];
	int seen[N] = {0};
	unsigned in_order = 0;
	for (unsigned i = 0; i < N; i++) {
		struct dp_queue_answer p = poll_ok(f, EV1, 100 + i, a[i].token);
		assert_int_equal(p.state, DP_QS_WAITING);
		assert_true(p.position < N);
		pos[i] = p.position;
		assert_int_equal(seen[pos[i]], 0);
		seen[pos[i]] = 1;
		in_order += pos[i] == i;
	}
	assert_true(in_order < N / 2); /* not join order (40 fixed points: 1 / 40! ) */
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(poll_ok(f, EV1, 100 + i, a[i].token).position, pos[i]);
	assert_int_equal(poll_ok(f, EV1, 999, late.token).position, N);
}

/* The operator opens the sale before its on-sale time: the queue opens then
 * (pre-queue frozen, admission possible), and a later pause does not reopen
 * the pre-queue. */
static void test_operator_open_early(void **state)
{
	struct fx *f = *state;
	const uint64_t on_sale = f->now + T_ON_SALE_AHEAD_MS;
	open_wr(f, DP_WR_ON, on_sale);
	struct dp_queue_answer pre = join_ok(f, EV1, 100);
	assert_int_equal(pre.state, DP_QS_PREQUEUE);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_false(view(f, EV1).opened);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_OPEN), 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_view v = view(f, EV1);
	assert_true(v.opened);
	assert_int_equal(v.prequeue, 1);
	/* the pre-queue joiner is first, a join now is regular, after it */
	assert_int_equal(poll_ok(f, EV1, 100, pre.token).position, 0);
	struct dp_queue_answer now = join_ok(f, EV1, 101);
	assert_int_equal(now.state, DP_QS_WAITING);
	assert_int_equal(now.position, 1);
	assert_int_equal(now.token[3], 0);
	/* admitted: the access token works before the on-sale time */
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, f->now), 0);
	struct dp_queue_answer adm = poll_ok(f, EV1, 101, now.token);
	assert_int_equal(adm.state, DP_QS_ADMITTED);
	uint8_t d;
	assert_int_equal(hold_with(f, 101, adm.token, &d), DP_S_OK);
	/* paused (the opening moves back to the on-sale time): joins stay regular */
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_PAUSED), 0);
	struct dp_queue_answer paused = join_ok(f, EV1, 102);
	assert_int_equal(paused.state, DP_QS_WAITING);
	assert_int_equal(paused.position, 2);
}

/* A restart keeps every place: counters, admitted, frozen n and secret. */
static void test_restart(void **state)
{
	struct fx *f = *state;
	const uint64_t on_sale = f->now + T_ON_SALE_AHEAD_MS;
	open_wr(f, DP_WR_ON, on_sale);
	enum { N = 10 };
	struct dp_queue_answer a[N];
	for (unsigned i = 0; i < N; i++)
		a[i] = join_ok(f, EV1, 100 + i);
	f->now = on_sale;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer r0 = join_ok(f, EV1, 500);
	assert_int_equal(dp_queue_admit(f->eng, EV1, 3, NULL, f->now), 0);
	uint64_t pos[N];
	for (unsigned i = 0; i < N; i++)
		pos[i] = poll_ok(f, EV1, 100 + i, a[i].token).position;
	fx_shutdown(f);
	fx_reopen(f);
	set_keys(f, 1, 1);
	struct dp_queue_view v = view(f, EV1);
	assert_true(v.active && v.opened);
	assert_int_equal(v.prequeue, N);
	assert_int_equal(v.admitted, 3);
	/* the counter resumes from the reservation: a gap, never a reuse */
	struct dp_queue_answer b;
	assert_int_equal(dp_queue_join(f->eng, EV1, 501, f->now, &b), DP_S_BUSY);
	assert_int_equal(b.detail, DP_D_QUEUE_RESERVE);
	f->now += 5000;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0); /* as at start: seeds the admission steps */
	for (unsigned i = 0; i < N; i++) {
		struct dp_queue_answer p = poll_ok(f, EV1, 100 + i, a[i].token);
		assert_int_equal(p.position, pos[i]);
		assert_int_equal(p.state, pos[i] < 3 ? DP_QS_ADMITTED : DP_QS_WAITING);
		if (p.state == DP_QS_ADMITTED) { /* a fresh window from the restart */
			assert_int_equal(tok_expiry_ms(p.token), f->now + T_WINDOW_MS);
		}
	}
	assert_int_equal(poll_ok(f, EV1, 500, r0.token).position, N);
	b = join_ok(f, EV1, 501);
	assert_true(b.position >= N + DP_QUEUE_RESERVE);
}

/* Every refusal: bad_token with its detail, nothing changes. */
static void test_refusals(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	load_wr(f, EV2, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer a = join_ok(f, EV1, 100);
	struct dp_queue_answer other = join_ok(f, EV2, 100);
	assert_int_equal(dp_queue_admit(f->eng, EV1, 1, NULL, f->now), 0);
	struct dp_queue_answer acc = poll_ok(f, EV1, 100, a.token);
	assert_int_equal(acc.state, DP_QS_ADMITTED);
	const struct dp_queue_view before = view(f, EV1);
	struct {
		const uint8_t *tok;
		int byte, val; /* byte to change (-1: none) */
		uint64_t client;
		uint8_t detail;
	} cases[] = {
		{a.token, 0, 9, 100, DP_D_TOKEN_MALFORMED},    {a.token, 2, 77, 100, DP_D_TOKEN_UNKNOWN_KEY},
		{a.token, 40, -1, 100, DP_D_TOKEN_FORGED},     {a.token, 16, -1, 100, DP_D_TOKEN_FORGED},
		{acc.token, -1, 0, 100, DP_D_TOKEN_WRONG_KIND}, {other.token, -1, 0, 100, DP_D_TOKEN_WRONG_EVENT},
		{a.token, -1, 0, 101, DP_D_TOKEN_WRONG_CLIENT},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t t[DP_TOKEN_SIZE];
		memcpy(t, cases[i].tok, DP_TOKEN_SIZE);
		if (cases[i].byte >= 0)
			t[cases[i].byte] = cases[i].val >= 0 ? (uint8_t)cases[i].val : (uint8_t)(t[cases[i].byte] ^ 1);
		struct dp_queue_answer p;
		assert_int_equal(dp_queue_poll(f->eng, EV1, cases[i].client, t, f->now, &p), DP_S_BAD_TOKEN);
		assert_int_equal(p.detail, cases[i].detail);
		const struct dp_queue_view after = view(f, EV1);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	/* garbage tickets: always refused, never a crash, nothing changes */
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < 2000; i++) {
		uint8_t g[DP_TOKEN_SIZE];
		for (unsigned k = 0; k < DP_TOKEN_SIZE; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			g[k] = (uint8_t)seed;
		}
		if (i & 1) { /* keep a plausible header so later checks are reached */
			memcpy(g, a.token, 32);
			g[16 + i % 16] ^= (uint8_t)(1u << (i % 8));
		}
		struct dp_queue_answer p;
		assert_int_equal(dp_queue_poll(f->eng, EV1, 100, g, f->now, &p), DP_S_BAD_TOKEN);
		assert_true(p.detail >= DP_D_TOKEN_MALFORMED && p.detail <= DP_D_TOKEN_EXPIRED);
		uint8_t d;
		assert_int_equal(hold_with(f, 100, g, &d), DP_S_BAD_TOKEN);
	}
	{
		const struct dp_queue_view after = view(f, EV1);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	/* the same on holds, with the access token */
	uint8_t d, t[DP_TOKEN_SIZE];
	memcpy(t, acc.token, DP_TOKEN_SIZE);
	t[50] ^= 1;
	assert_int_equal(hold_with(f, 100, t, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_FORGED);
	assert_int_equal(hold_with(f, 101, acc.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_WRONG_CLIENT);
	memcpy(t, acc.token, DP_TOKEN_SIZE);
	t[0] = 2;
	assert_int_equal(hold_with(f, 100, t, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_MALFORMED);
	f->now += 60000; /* the purchase window (load_wr: 60 s) is over */
	assert_int_equal(hold_with(f, 100, acc.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_EXPIRED);
	f->now -= 1;
	assert_int_equal(hold_with(f, 100, acc.token, &d), DP_S_OK);
	/* EV2's token does not open EV1 */
	assert_int_equal(dp_queue_admit(f->eng, EV2, 1, NULL, f->now), 0);
	struct dp_queue_answer acc2 = poll_ok(f, EV2, 100, other.token);
	assert_int_equal(hold_with(f, 100, acc2.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_WRONG_EVENT);
	/* no keys: join unavailable, holds not_admitted */
	dp_engine_keys_set(f->eng, NULL);
	struct dp_queue_answer n;
	assert_int_equal(dp_queue_join(f->eng, EV1, 100, f->now, &n), DP_S_UNAVAILABLE);
	assert_int_equal(n.detail, DP_D_NO_KEYS);
	assert_int_equal(hold_with(f, 100, acc.token, &d), DP_S_NOT_ADMITTED);
}

/* Auto: inactive until switched; no token needed then; switch is durable. */
static void test_auto(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_AUTO, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_int_equal(join_ok(f, EV1, 100).state, DP_QS_NO_QUEUE);
	uint8_t d;
	assert_int_equal(hold_with(f, 100, NULL, &d), DP_S_OK);
	assert_int_equal(dp_queue_set_active(f->eng, EV1, 1), 0);
	assert_int_equal(dp_queue_set_active(f->eng, 999, 1), -ENOENT);
	struct dp_queue_answer a = join_ok(f, EV1, 100);
	assert_int_equal(a.state, DP_QS_WAITING);
	assert_int_equal(hold_with(f, 100, NULL, &d), DP_S_NOT_ADMITTED);
	fx_shutdown(f);
	fx_reopen(f);
	set_keys(f, 1, 1);
	assert_true(view(f, EV1).active);
	assert_int_equal(poll_ok(f, EV1, 100, a.token).position, 0);
	assert_int_equal(dp_queue_set_active(f->eng, EV1, 0), 0);
	assert_int_equal(poll_ok(f, EV1, 100, a.token).state, DP_QS_NO_QUEUE);
	assert_int_equal(hold_with(f, 100, NULL, &d), DP_S_OK);
}

/* Rotation through key files: the previous key still works, a dropped one not. */
static void test_rotation(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	char path[512], err[DP_KEYS_ERR_MAX];
	snprintf(path, sizeof(path), "%s/keys", f->dir);
	assert_int_equal(dp_keys_generate(path, 1, err, sizeof(err)), 0);
	struct dp_keys *ks;
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	dp_engine_keys_set(f->eng, ks);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer a = join_ok(f, EV1, 100);
	assert_int_equal(dp_keys_rotate_file(path, NULL, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	dp_engine_keys_set(f->eng, ks);
	assert_int_equal(poll_ok(f, EV1, 100, a.token).position, 0);
	struct dp_queue_answer b = join_ok(f, EV1, 101);
	assert_int_not_equal(b.token[2], a.token[2]); /* signed with the new key */
	assert_int_equal(dp_keys_rotate_file(path, NULL, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	dp_engine_keys_set(f->eng, ks);
	struct dp_queue_answer p;
	assert_int_equal(dp_queue_poll(f->eng, EV1, 100, a.token, f->now, &p), DP_S_BAD_TOKEN);
	assert_int_equal(p.detail, DP_D_TOKEN_UNKNOWN_KEY);
	assert_int_equal(poll_ok(f, EV1, 101, b.token).position, 1);
}

/* The reservation: a join past it answers busy, takes nothing; a tick tops it up. */
static void test_reservation(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	struct dp_queue_view v = view(f, EV1);
	assert_int_equal(v.reg_reserve, DP_QUEUE_RESERVE);
	for (uint32_t i = 0; i < DP_QUEUE_RESERVE; i++) {
		struct dp_queue_answer a;
		assert_int_equal(dp_queue_join(f->eng, EV1, 1000 + i, f->now, &a), DP_S_OK);
	}
	struct dp_queue_answer b;
	assert_int_equal(dp_queue_join(f->eng, EV1, 7, f->now, &b), DP_S_BUSY);
	assert_int_equal(b.detail, DP_D_QUEUE_RESERVE);
	assert_true(b.retry_after_ms > 0);
	assert_int_equal(view(f, EV1).joined, DP_QUEUE_RESERVE);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	v = view(f, EV1);
	assert_int_equal(v.reg_reserve, 2 * DP_QUEUE_RESERVE);
	assert_int_equal(join_ok(f, EV1, 7).position, DP_QUEUE_RESERVE);
	/* not within half a block: no new reservation */
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_int_equal(view(f, EV1).reg_reserve, 2 * DP_QUEUE_RESERVE);
	/* the reservation is durable */
	fx_shutdown(f);
	fx_reopen(f);
	assert_int_equal(view(f, EV1).joined, 2 * DP_QUEUE_RESERVE);
}

/* A version 1 sale record (72 bytes) still loads, as version 2 with the room off. */
static void test_old_record(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	fx_add_std(f, EV1);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_PAUSED), 0);
	fx_shutdown(f);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "sale", MDB_INTEGERKEY, &dbi), 0);
	uint8_t v1[ST_SALE_V1_SIZE] = {0};
	v1[0] = 1;                  /* version 1 */
	v1[4] = DP_SALE_PAUSED;     /* state */
	v1[16] = 0x2a;              /* max_active_shoppers 42 */
	uint32_t key = EV1;
	MDB_val k = {.mv_size = sizeof(key), .mv_data = &key}, val = {.mv_size = sizeof(v1), .mv_data = v1};
	assert_int_equal(mdb_put(txn, dbi, &k, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fx_reopen(f);
	struct st_sale s;
	assert_int_equal(st_env_get_sale(f->env, EV1, &s), 0);
	assert_int_equal(s.version, ST_SALE_VERSION);
	assert_int_equal(s.wr_mode, DP_WR_OFF);
	struct dp_sale_view sv;
	assert_int_equal(dp_event_sale_get(f->eng, EV1, f->now, &sv), 0);
	assert_int_equal(sv.state, DP_SALE_PAUSED);
	assert_int_equal(sv.max_active_shoppers, 42);
	assert_false(view(f, EV1).active);
	/* only version 2 is written */
	assert_int_equal(st_env_put_sale(f->env, EV1, &s), 0);
	s.version = 1;
	assert_int_equal(st_env_put_sale(f->env, EV1, &s), -EINVAL);
	/* garbage records: 72 bytes not version 1, another size: corrupt */
	fx_shutdown(f);
	const struct {
		size_t len;
		uint8_t version;
	} bad[] = {{ST_SALE_V1_SIZE, 2}, {ST_SALE_V1_SIZE, 0}, {100, 2}, {sizeof(struct st_sale) + 1, 2}, {4, 1}};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mdb_env_create(&env), 0);
		assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
		assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
		assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
		assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_dbi_open(txn, "sale", MDB_INTEGERKEY, &dbi), 0);
		uint8_t rec[sizeof(struct st_sale) + 1];
		memset(rec, 0, sizeof(rec));
		rec[0] = bad[i].version;
		rec[4] = DP_SALE_OPEN;
		MDB_val bv = {.mv_size = bad[i].len, .mv_data = rec};
		assert_int_equal(mdb_put(txn, dbi, &k, &bv, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
		struct st_options so = {.dir = f->dir, .nosync = true, .workers = 2};
		struct st_env *se;
		assert_int_equal(st_env_open(&so, &se), 0);
		struct st_sale out;
		assert_int_equal(st_env_get_sale(se, EV1, &out), MDB_CORRUPTED);
		st_env_close(se);
	}
}

/* The window runs from the admission: polling again gives the same expiry;
 * once it is over the poll and a hold with the old token say token_expired;
 * buyers admitted in different steps get different expiries. */
static void test_window_from_admission(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer a = join_ok(f, EV1, 100), b = join_ok(f, EV1, 101);
	const uint64_t t0 = f->now;
	assert_int_equal(dp_queue_admit(f->eng, EV1, 1, NULL, f->now), 0);
	struct dp_queue_answer p0 = poll_ok(f, EV1, 100, a.token);
	assert_int_equal(p0.state, DP_QS_ADMITTED);
	assert_int_equal(tok_expiry_ms(p0.token), t0 + T_WINDOW_MS);
	for (int i = 0; i < 5; i++) { /* polling never extends it */
		f->now += 10000;
		struct dp_queue_answer p = poll_ok(f, EV1, 100, a.token);
		assert_int_equal(p.state, DP_QS_ADMITTED);
		assert_int_equal(tok_expiry_ms(p.token), t0 + T_WINDOW_MS);
		assert_memory_equal(p.token, p0.token, DP_TOKEN_SIZE);
	}
	/* a later step: a later expiry */
	const uint64_t t1 = f->now;
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, f->now), 0);
	struct dp_queue_answer p1 = poll_ok(f, EV1, 101, b.token);
	assert_int_equal(tok_expiry_ms(p1.token), t1 + T_WINDOW_MS);
	assert_int_not_equal(tok_expiry_ms(p1.token), tok_expiry_ms(p0.token));
	/* the same position again (a rate refresh) is no new step */
	f->now += 1000;
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, f->now), 0);
	assert_int_equal(tok_expiry_ms(poll_ok(f, EV1, 101, b.token).token), t1 + T_WINDOW_MS);
	/* the first buyer's window ends: window over, join again */
	f->now = t0 + T_WINDOW_MS - 1;
	assert_int_equal(poll_ok(f, EV1, 100, a.token).state, DP_QS_ADMITTED);
	uint8_t d;
	assert_int_equal(hold_with(f, 100, p0.token, &d), DP_S_OK);
	f->now = t0 + T_WINDOW_MS;
	struct dp_queue_answer over;
	assert_int_equal(dp_queue_poll(f->eng, EV1, 100, a.token, f->now, &over), DP_S_BAD_TOKEN);
	assert_int_equal(over.detail, DP_D_TOKEN_EXPIRED);
	assert_int_equal(hold_with(f, 100, p0.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_EXPIRED);
	assert_int_equal(poll_ok(f, EV1, 101, b.token).state, DP_QS_ADMITTED); /* still in its window */
	/* joining again gives a new place at the end */
	struct dp_queue_answer again = join_ok(f, EV1, 100);
	assert_int_equal(again.state, DP_QS_WAITING);
	assert_int_equal(again.position, 2);
}

/* Admissions closer together than window / DP_ADMIT_STEPS_MAX share a step
 * (the later time); further apart they do not. */
static void test_window_steps_merge(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0); /* 60 s window: steps begin >= 14 ms apart */
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer a = join_ok(f, EV1, 100), b = join_ok(f, EV1, 101), c = join_ok(f, EV1, 102);
	const uint64_t t0 = f->now;
	assert_int_equal(dp_queue_admit(f->eng, EV1, 1, NULL, t0), 0);
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, t0 + 5), 0);
	assert_int_equal(dp_queue_admit(f->eng, EV1, 3, NULL, t0 + T_WINDOW_MS / DP_ADMIT_STEPS_MAX), 0);
	assert_int_equal(tok_expiry_ms(poll_ok(f, EV1, 100, a.token).token), t0 + 5 + T_WINDOW_MS);
	assert_int_equal(tok_expiry_ms(poll_ok(f, EV1, 101, b.token).token), t0 + 5 + T_WINDOW_MS);
	assert_int_equal(tok_expiry_ms(poll_ok(f, EV1, 102, c.token).token),
			 t0 + T_WINDOW_MS / DP_ADMIT_STEPS_MAX + T_WINDOW_MS);
}

/* An admission older than the DP_ADMIT_STEPS_MAX steps remembered answers
 * window over, even when its window (made longer by a reload) would not be. */
static void test_window_older_than_ring(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	enum { STEPS = DP_ADMIT_STEPS_MAX + 4 };
	static struct dp_queue_answer t[STEPS + 1];
	for (unsigned i = 0; i <= STEPS; i++)
		t[i] = join_ok(f, EV1, 1000 + i);
	const uint64_t t0 = f->now;
	const uint64_t gap = T_WINDOW_MS / DP_ADMIT_STEPS_MAX + 1; /* no merging */
	for (unsigned k = 1; k <= STEPS; k++) /* step k admits position k - 1 at t0 + k * gap */
		assert_int_equal(dp_queue_admit(f->eng, EV1, k, NULL, t0 + k * gap), 0);
	const uint32_t long_window = 10u * T_WINDOW_MS;
	load_wr_window(f, EV1, DP_WR_ON, 0, long_window); /* a reload keeps the steps */
	f->now = t0 + STEPS * gap;
	/* positions 0..3: admitted before the oldest step remembered */
	for (unsigned i = 0; i < 4; i++) {
		struct dp_queue_answer p;
		assert_int_equal(dp_queue_poll(f->eng, EV1, 1000 + i, t[i].token, f->now, &p), DP_S_BAD_TOKEN);
		assert_int_equal(p.detail, DP_D_TOKEN_EXPIRED);
	}
	/* remembered: each its own step's time */
	for (unsigned i = 5; i < STEPS; i += 1000) {
		struct dp_queue_answer p = poll_ok(f, EV1, 1000 + i, t[i].token);
		assert_int_equal(p.state, DP_QS_ADMITTED);
		assert_int_equal(tok_expiry_ms(p.token), t0 + (i + 1) * gap + long_window);
	}
	assert_int_equal(poll_ok(f, EV1, 1000 + STEPS, t[STEPS].token).state, DP_QS_WAITING);
}

/* A restart reports the positions it skipped (the reservation above the
 * counters last stored) as unissued: durable, not counted twice, summed. */
static void test_restart_unissued(void **state)
{
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	for (unsigned i = 0; i < 5; i++)
		join_ok(f, EV1, 100 + i);
	f->now += 1000;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0); /* stores 5 */
	join_ok(f, EV1, 105);
	f->now += DP_QUEUE_SAVE_MS / 2;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0); /* too soon: 6 not stored */
	assert_int_equal(view(f, EV1).unissued, 0);
	fx_shutdown(f);
	fx_reopen(f);
	/* the one join of the last second is counted too: a known imprecision */
	const uint64_t first = DP_QUEUE_RESERVE - 5;
	assert_int_equal(view(f, EV1).unissued, first);
	fx_shutdown(f); /* a crash before the tick stored it: recomputed the same */
	fx_reopen(f);
	assert_int_equal(view(f, EV1).unissued, first);
	set_keys(f, 1, 1);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer b = join_ok(f, EV1, 200);
	assert_int_equal(b.position, DP_QUEUE_RESERVE);
	f->now += DP_QUEUE_SAVE_MS;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0); /* stores RESERVE + 1 */
	fx_shutdown(f);
	fx_reopen(f);
	struct dp_queue_view v = view(f, EV1);
	assert_int_equal(v.unissued, first + (2 * DP_QUEUE_RESERVE - (DP_QUEUE_RESERVE + 1)));
	assert_int_equal(v.joined, 2 * DP_QUEUE_RESERVE);
}


#ifndef ALLOC_COUNT_OFF /* only the counted test below uses it */
/* The worker calls of an admitted buyer: join, polls (admitted, waiting,
 * window over), holds; returns how many answered as expected (of 4 * n). */
static unsigned long worker_loop(struct fx *f, const struct dp_queue_answer *a, const struct dp_queue_answer *acc,
				 unsigned n)
{
	unsigned long ok = 0;
	for (unsigned i = 0; i < n; i++) {
		struct dp_queue_answer p;
		uint8_t d;
		ok += dp_queue_poll(f->eng, EV1, 100, a[0].token, f->now, &p) == DP_S_OK && p.state == DP_QS_ADMITTED;
		ok += dp_queue_poll(f->eng, EV1, 102, a[2].token, f->now, &p) == DP_S_OK && p.state == DP_QS_WAITING;
		ok += dp_queue_poll(f->eng, EV1, 101, a[1].token, f->now + T_WINDOW_MS, &p) == DP_S_BAD_TOKEN;
		ok += hold_with(f, 100, acc->token, &d) == DP_S_OK;
	}
	return ok;
}
#endif

#ifndef ALLOC_COUNT_OFF
struct worker_args {
	struct fx *f;
	const struct dp_queue_answer *a, *acc;
	unsigned n;
};

/* worker_loop for no_syscall_run (arg: a struct worker_args). */
static unsigned long worker_child(void *arg)
{
	const struct worker_args *w = arg;
	return worker_loop(w->f, w->a, w->acc, w->n);
}
#endif

/* Nothing on the worker path (poll with the admission-step lookup, hold
 * check) allocates or makes a system call (a lock would need futex). */
static void test_window_worker_path(void **state)
{
#ifdef ALLOC_COUNT_OFF
	(void)state;
	skip(); /* sanitized build: the sanitizer owns malloc and makes system calls */
#else
	struct fx *f = *state;
	open_wr(f, DP_WR_ON, 0);
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_answer a[3];
	for (unsigned i = 0; i < 3; i++)
		a[i] = join_ok(f, EV1, 100 + i);
	for (unsigned k = 1; k <= 2; k++)
		assert_int_equal(dp_queue_admit(f->eng, EV1, k, NULL, f->now + k * 1000), 0);
	f->now += 2000;
	struct dp_queue_answer acc = poll_ok(f, EV1, 100, a[0].token);
	enum { N = 2000 };
	alloc_count_armed = 1; /* the interposer works: an allocation while armed is counted */
	void *volatile probe = malloc(16);
	alloc_count_armed = 0;
	free(probe);
	assert_int_equal(alloc_count_calls, 1);
	alloc_count_calls = 0;
	alloc_count_armed = 1;
	unsigned long ok = worker_loop(f, a, &acc, N);
	alloc_count_armed = 0;
	assert_int_equal(alloc_count_calls, 0);
	assert_int_equal(ok, 4ul * N);
	struct worker_args args = {.f = f, .a = a, .acc = &acc, .n = N};
	unsigned long in_child = 0;
	const int killed = no_syscall_run(worker_child, &args, &in_child);
	if (killed > 0)
		fail_msg("child killed by signal %d: a system call on the worker path", killed);
	assert_int_equal(killed, 0);
	assert_int_equal(in_child, 4ul * N);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_counted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_join_poll, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_admission_order, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_prequeue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_auto, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reservation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_window_from_admission, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_window_steps_merge, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_window_older_than_ring, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_window_worker_path, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_unissued, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_operator_open_early, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
