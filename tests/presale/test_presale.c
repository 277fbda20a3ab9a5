/*
 * test_presale.c - presale windows in the reservation core (dataplane/
 * dp_presale*.c, dp_queue.c; docs/waiting-room.md "Presale windows"): every
 * rule of the contract's table, use limits, code_pending until durable, two
 * threads racing one client, recovery and reload keeping redemptions,
 * presale holds before the on-sale time, the stored form of the windows
 * (round trip and garbage), and a redeem path that neither allocates nor
 * makes a system call (malloc interposed unless ALLOC_COUNT_OFF).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_presale.h"
#include "dataplane/dp_token.h"
#include "tests/common/alloc_count.h"
#include "tests/common/no_syscall.h"
#include "tests/engine/helpers.h"

#define MIN_MS 60000ull
#define T_WINDOW_MS (10u * 60u * 1000u) /* purchase window */

/* Window 0 "fans": open now, 30 min; window 1 "later": starts in 10 min;
 * window 2 "past": over. On sale in 1 h. */
struct pdef {
	struct dp_presale_def def;
	struct dp_presale_code c0[4], c1[1], c2[1];
};

static void pdef_std(struct pdef *p, uint64_t now, uint32_t fan_uses)
{
	memset(p, 0, sizeof(*p));
	p->def.n_windows = 3;
	struct dp_presale_window *w = p->def.windows;
	snprintf(w[0].name, DP_NAME_MAX, "fans");
	w[0].start_ms = now - MIN_MS;
	w[0].end_ms = now + 30 * MIN_MS;
	snprintf(p->c0[0].code, sizeof(p->c0[0].code), "FAN");
	p->c0[0].uses = fan_uses;
	snprintf(p->c0[1].code, sizeof(p->c0[1].code), "member-0001");
	p->c0[1].uses = 1;
	snprintf(p->c0[2].code, sizeof(p->c0[2].code), "RACE");
	p->c0[2].uses = 64;
	snprintf(p->c0[3].code, sizeof(p->c0[3].code), "0123456789abcdef0123456789ABCDEF");
	p->c0[3].uses = 1;
	w[0].n_codes = 4;
	w[0].codes = p->c0;
	snprintf(w[1].name, DP_NAME_MAX, "later");
	w[1].start_ms = now + 10 * MIN_MS;
	w[1].end_ms = now + 20 * MIN_MS;
	snprintf(p->c1[0].code, sizeof(p->c1[0].code), "LATER");
	p->c1[0].uses = 5;
	w[1].n_codes = 1;
	w[1].codes = p->c1;
	snprintf(w[2].name, DP_NAME_MAX, "past");
	w[2].start_ms = now - 20 * MIN_MS;
	w[2].end_ms = now - 10 * MIN_MS;
	snprintf(p->c2[0].code, sizeof(p->c2[0].code), "OLD");
	p->c2[0].uses = 5;
	w[2].n_codes = 1;
	w[2].codes = p->c2;
}

static void secret_of(uint8_t seed, uint8_t *s)
{
	for (unsigned i = 0; i < DP_KEY_SIZE; i++)
		s[i] = (uint8_t)(seed * 7 + i);
}

static struct dp_keys *keys_new(void)
{
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	uint8_t s[DP_KEY_SIZE];
	secret_of(1, s);
	assert_int_equal(dp_keys_add(ks, 1, s), 0);
	return ks;
}

/* Load (or reload) EV1 with presale def (may be NULL), room mode, on sale at on_sale. */
static int load_ps(struct fx *f, const struct dp_presale_def *def, uint8_t mode, uint64_t on_sale, int *action,
		   char *err, size_t errlen)
{
	struct tevent *te = malloc(sizeof(*te));
	assert_non_null(te);
	tevent_std(te, EV1);
	struct dp_sale_settings sale = {.on_sale_ms = on_sale, .wr_mode = mode, .purchase_window_ms = T_WINDOW_MS,
					.presale = def};
	int rc = dp_engine_load_event(f->eng, &te->def, &sale, action, err, errlen);
	free(te);
	return rc;
}

static void open_ps(struct fx *f, uint8_t mode, uint32_t fan_uses, struct pdef *p)
{
	fx_open(f, 2, true);
	pdef_std(p, f->now, fan_uses);
	char err[256] = "";
	int rc = load_ps(f, &p->def, mode, f->now + 60 * MIN_MS, NULL, err, sizeof(err));
	if (rc)
		print_error("load: %d %s\n", rc, err);
	assert_int_equal(rc, 0);
	dp_engine_keys_set(f->eng, keys_new());
}

static int join(struct fx *f, uint64_t client, const char *code, struct dp_queue_answer *a)
{
	return dp_queue_join_code(f->eng, EV1, client, (const uint8_t *)code, code ? (unsigned)strlen(code) : 0,
				  f->now, a);
}

static void expect_join(struct fx *f, uint64_t client, const char *code, int status, int detail)
{
	struct dp_queue_answer a;
	int rc = join(f, client, code, &a);
	if (rc != status || a.detail != detail)
		fail_msg("join %llu %s: %s/%s, expected %s/%s", (unsigned long long)client, code ? code : "(none)",
			 dp_status_name(rc), dp_detail_name(a.detail), dp_status_name(status), dp_detail_name(detail));
	if (status == DP_S_BUSY)
		assert_int_equal(a.retry_after_ms, DP_PRESALE_PENDING_RETRY_MS);
}

/* The control thread's flushes (DP_PRESALE_FLUSH_MAX per event each) until nothing is pending. */
static void flush(struct fx *f)
{
	uint64_t left = 1;
	for (unsigned i = 0; i < 64 && left; i++)
		assert_int_equal(dp_presale_flush(f->eng, &left), 0);
	assert_int_equal(left, 0);
}

/* Join with code: code_pending, then (stored) ok. */
static struct dp_queue_answer redeem_ok(struct fx *f, uint64_t client, const char *code)
{
	expect_join(f, client, code, DP_S_BUSY, DP_D_CODE_PENDING);
	flush(f);
	struct dp_queue_answer a;
	int rc = join(f, client, code, &a);
	if (rc != DP_S_OK)
		fail_msg("join %s after flush: %s/%s", code, dp_status_name(rc), dp_detail_name(a.detail));
	return a;
}

static uint32_t used_of(struct fx *f, uint32_t code_index)
{
	struct dp_presale_code_view cv;
	assert_int_equal(dp_presale_code_get(f->eng, EV1, code_index, &cv), 0);
	return cv.used;
}

static int hold_check(struct fx *f, struct dp_request *rq, uint64_t client, const uint8_t *tok, uint8_t *detail)
{
	rq_hold_ga(rq, client, ++f->next_req, EV1, G1, 1);
	return dp_queue_hold_check(f->eng, rq, tok, f->now, detail);
}

static void mint(uint8_t kind, uint8_t flags, uint64_t client, uint64_t expiry, uint8_t *tok)
{
	struct dp_keys *ks = keys_new();
	struct dp_token_fields t = {.kind = kind, .flags = flags, .event_id = EV1, .client_id = client,
				    .time_ms = expiry};
	assert_int_equal(dp_token_mint(ks, &t, tok), 0);
	dp_keys_free(ks);
}

/* Every join row of the contract table, room not active. */
static void test_join_rules(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 2, &p);
	expect_join(f, 1, NULL, DP_S_CLOSED, DP_D_PRESALE_ONLY);
	expect_join(f, 1, "NOPE", DP_S_NOT_FOUND, DP_D_CODE_UNKNOWN);
	expect_join(f, 1, "fan", DP_S_NOT_FOUND, DP_D_CODE_UNKNOWN); /* compared exactly */
	expect_join(f, 1, "OLD", DP_S_CLOSED, DP_D_CODE_WINDOW);
	expect_join(f, 1, "LATER", DP_S_CLOSED, DP_D_CODE_WINDOW); /* not started, room not active */
	assert_int_equal(dp_presale_pending(f->eng), 0);             /* no refusal took a use */
	struct dp_queue_answer a = redeem_ok(f, 1, "FAN");
	assert_int_equal(a.state, DP_QS_ADMITTED);
	assert_int_equal(a.position, 0);
	struct dp_token_fields tf;
	struct dp_keys *ks = keys_new();
	assert_int_equal(dp_token_verify(ks, a.token, DP_TOKEN_ACCESS, EV1, 1, f->now, &tf), DP_TOKEN_OK);
	dp_keys_free(ks);
	assert_int_equal(tf.flags, DP_TOKEN_PRESALE_FLAGS(0));
	assert_int_equal(tf.time_ms, f->now + T_WINDOW_MS); /* before the window's end */
	/* 25 min later the window's end comes first */
	f->now += 25 * MIN_MS;
	a = redeem_ok(f, 2, "FAN");
	ks = keys_new();
	assert_int_equal(dp_token_verify(ks, a.token, DP_TOKEN_ACCESS, EV1, 2, f->now, &tf), DP_TOKEN_OK);
	dp_keys_free(ks);
	assert_int_equal(tf.time_ms, p.def.windows[0].end_ms);
	/* the code's two uses are taken: another buyer is refused, a known one is not */
	expect_join(f, 3, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP);
	expect_join(f, 1, "FAN", DP_S_OK, DP_D_NONE);
	/* window over */
	f->now = p.def.windows[0].end_ms;
	expect_join(f, 1, "FAN", DP_S_CLOSED, DP_D_CODE_WINDOW);
	/* without keys: unavailable, no use taken */
	f->now = p.def.windows[0].start_ms;
	dp_engine_keys_set(f->eng, NULL);
	expect_join(f, 9, "member-0001", DP_S_UNAVAILABLE, DP_D_NO_KEYS);
	assert_int_equal(dp_presale_pending(f->eng), 0);
	/* from the on-sale time: as without presale, the code ignored */
	dp_engine_keys_set(f->eng, keys_new());
	f->now += 61 * MIN_MS;
	struct dp_queue_answer n;
	assert_int_equal(join(f, 7, "member-0001", &n), DP_S_OK);
	assert_int_equal(n.state, DP_QS_NO_QUEUE);
	assert_int_equal(join(f, 7, NULL, &n), DP_S_OK);
	assert_int_equal(dp_presale_pending(f->eng), 0);
	assert_int_equal(used_of(f, 1), 0);
}

/* N distinct clients redeem, the N+1th is used up, the same client again uses nothing. */
static void test_use_limits(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 3, &p);
	for (uint64_t c = 1; c <= 3; c++)
		redeem_ok(f, 100 + c, "FAN");
	assert_int_equal(used_of(f, 0), 3);
	expect_join(f, 200, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP);
	for (uint64_t c = 1; c <= 3; c++)
		expect_join(f, 100 + c, "FAN", DP_S_OK, DP_D_NONE);
	assert_int_equal(dp_presale_pending(f->eng), 0);
	assert_int_equal(used_of(f, 0), 3);
	/* a member is a code of its own with one use; the 32-byte code works */
	redeem_ok(f, 5, "member-0001");
	expect_join(f, 6, "member-0001", DP_S_LIMIT, DP_D_CODE_USED_UP);
	redeem_ok(f, 6, "0123456789abcdef0123456789ABCDEF");
	struct dp_presale_view v;
	assert_int_equal(dp_presale_get(f->eng, EV1, &v), 0);
	assert_int_equal(v.n_windows, 3);
	assert_string_equal(v.w[0].name, "fans");
	assert_int_equal(v.w[0].codes, 4);
	assert_int_equal(v.w[0].uses, 3 + 1 + 64 + 1);
	assert_int_equal(v.w[0].used, 5);
	assert_int_equal(v.w[1].used, 0);
}

/* code_pending until the control thread's flush made it durable; a retry takes no second slot. */
static void test_pending_until_durable(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 2, &p);
	for (int i = 0; i < 3; i++)
		expect_join(f, 1, "FAN", DP_S_BUSY, DP_D_CODE_PENDING);
	assert_int_equal(dp_presale_pending(f->eng), 1);
	assert_int_equal(used_of(f, 0), 0);
	expect_join(f, 2, "FAN", DP_S_BUSY, DP_D_CODE_PENDING);
	expect_join(f, 3, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP); /* pending uses count */
	flush(f);
	expect_join(f, 1, "FAN", DP_S_OK, DP_D_NONE);
	expect_join(f, 2, "FAN", DP_S_OK, DP_D_NONE);
	assert_int_equal(used_of(f, 0), 2);
}

/* Two threads racing the same clients on the same code never take two slots. */
#define RACE_CLIENTS 40000u
#define RACE_CODES 8u
struct racer {
	struct fx *f;
	pthread_barrier_t *go;
	unsigned long bad;
	int bad_status, bad_detail; /* the first unexpected answer */
};
static const char *const race_code[RACE_CODES] = {"B0", "B1", "B2", "B3", "B4", "B5", "B6", "B7"};

static void *race_main(void *arg)
{
	struct racer *r = arg;
	urcu_qsbr_register_thread();
	for (unsigned k = 0; k < RACE_CODES; k++) {
		pthread_barrier_wait(r->go);
		for (uint64_t c = 1; c <= RACE_CLIENTS; c++) { /* both threads in the same order */
			struct dp_queue_answer a;
			int rc = dp_queue_join_code(r->f->eng, EV1, c, (const uint8_t *)race_code[k], 2, r->f->now, &a);
			if (!(rc == DP_S_BUSY && a.detail == DP_D_CODE_PENDING) && r->bad++ == 0) {
				r->bad_status = rc;
				r->bad_detail = a.detail;
			}
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* Distinct clients racing for the last uses: exactly `uses` of them get one. */
#define EDGE_USES 1000u
struct edger {
	struct fx *f;
	pthread_barrier_t *go;
	uint64_t first; /* clients first .. first + 2 * EDGE_USES - 1 */
	unsigned long pending, used_up, other;
};

static void *edge_main(void *arg)
{
	struct edger *r = arg;
	urcu_qsbr_register_thread();
	pthread_barrier_wait(r->go);
	for (uint64_t c = r->first; c < r->first + 2 * EDGE_USES; c++) {
		struct dp_queue_answer a;
		int rc = dp_queue_join_code(r->f->eng, EV1, c, (const uint8_t *)"EDGE", 4, r->f->now, &a);
		if (rc == DP_S_BUSY && a.detail == DP_D_CODE_PENDING)
			r->pending++;
		else if (rc == DP_S_LIMIT && a.detail == DP_D_CODE_USED_UP)
			r->used_up++;
		else
			r->other++;
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void test_race(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	struct dp_presale_code big[RACE_CODES + 1];
	for (unsigned k = 0; k < RACE_CODES; k++) {
		snprintf(big[k].code, sizeof(big[k].code), "%s", race_code[k]);
		big[k].uses = RACE_CLIENTS;
	}
	snprintf(big[RACE_CODES].code, sizeof(big[0].code), "EDGE");
	big[RACE_CODES].uses = EDGE_USES;
	struct dp_presale_def def = {.n_windows = 1};
	snprintf(def.windows[0].name, DP_NAME_MAX, "race");
	def.windows[0].start_ms = f->now - MIN_MS;
	def.windows[0].end_ms = f->now + MIN_MS;
	def.windows[0].n_codes = RACE_CODES + 1;
	def.windows[0].codes = big;
	char err[256];
	assert_int_equal(load_ps(f, &def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), 0);
	dp_engine_keys_set(f->eng, keys_new());
	pthread_barrier_t go;
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	struct racer r[2] = {{f, &go, 0, 0, 0}, {f, &go, 0, 0, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_main, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	/* every answer was code_pending (none used up): one slot per client */
	for (int i = 0; i < 2; i++)
		if (r[i].bad)
			fail_msg("thread %d: %lu unexpected answers, the first %s/%s", i, r[i].bad,
				 dp_status_name(r[i].bad_status), dp_detail_name(r[i].bad_detail));
	assert_int_equal(dp_presale_pending(f->eng), RACE_CODES * RACE_CLIENTS);
	flush(f);
	for (unsigned k = 0; k < RACE_CODES; k++) {
		assert_int_equal(used_of(f, k), RACE_CLIENTS);
		expect_join(f, RACE_CLIENTS + 1, race_code[k], DP_S_LIMIT, DP_D_CODE_USED_UP);
		expect_join(f, 7, race_code[k], DP_S_OK, DP_D_NONE);
	}
	/* 4,000 distinct clients (two threads, 2,000 each) for 1,000 uses */
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	struct edger e[2] = {{f, &go, 100000, 0, 0, 0}, {f, &go, 200000, 0, 0, 0}};
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, edge_main, &e[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	assert_int_equal(e[0].other + e[1].other, 0);
	assert_int_equal(e[0].pending + e[1].pending, EDGE_USES);
	assert_int_equal(e[0].used_up + e[1].used_up, 3 * EDGE_USES);
	flush(f);
	assert_int_equal(used_of(f, RACE_CODES), EDGE_USES);
}

/* Recovery refills the durable redemptions; a pending one is gone and redeems again. */
static void test_recovery(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 2, &p);
	redeem_ok(f, 1, "FAN");
	redeem_ok(f, 8, "member-0001");
	expect_join(f, 2, "FAN", DP_S_BUSY, DP_D_CODE_PENDING); /* never stored */
	fx_shutdown(f);
	fx_reopen(f);
	dp_engine_keys_set(f->eng, keys_new());
	assert_int_equal(dp_presale_pending(f->eng), 0);
	assert_int_equal(used_of(f, 0), 1);
	assert_int_equal(used_of(f, 1), 1);
	expect_join(f, 1, "FAN", DP_S_OK, DP_D_NONE); /* durable: ok at once */
	expect_join(f, 9, "member-0001", DP_S_LIMIT, DP_D_CODE_USED_UP);
	expect_join(f, 2, "FAN", DP_S_BUSY, DP_D_CODE_PENDING);
	flush(f);
	expect_join(f, 2, "FAN", DP_S_OK, DP_D_NONE);
	expect_join(f, 3, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP);
	/* the windows came back too */
	expect_join(f, 3, NULL, DP_S_CLOSED, DP_D_PRESALE_ONLY);
	expect_join(f, 3, "OLD", DP_S_CLOSED, DP_D_CODE_WINDOW);
	/* removing the event removes its redemptions */
	assert_int_equal(dp_engine_remove_event(f->eng, EV1), 0);
	char err[256];
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), 0);
	assert_int_equal(used_of(f, 0), 0);
}

/* A reload keeps redemptions by code string; a lowered limit keeps them all. */
static void test_reload(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 3, &p);
	redeem_ok(f, 1, "FAN");
	redeem_ok(f, 2, "FAN");
	redeem_ok(f, 3, "member-0001");
	char err[256];
	int action = 0;
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, &action, err, sizeof(err)), 0);
	assert_int_equal(action, DP_LOAD_UNCHANGED);
	/* FAN down to 1 use and moved to window "later"'s place; the member gone */
	struct pdef q;
	pdef_std(&q, f->now, 1);
	q.c1[0] = q.c0[0]; /* FAN in window 1 */
	q.c0[0] = q.c0[1]; /* window 0: member-0001 replaced below */
	snprintf(q.c0[0].code, sizeof(q.c0[0].code), "NEWCODE");
	snprintf(q.c0[1].code, sizeof(q.c0[1].code), "OTHER");
	q.def.windows[1].start_ms = f->now - MIN_MS; /* open now */
	assert_int_equal(load_ps(f, &q.def, DP_WR_OFF, f->now + 60 * MIN_MS, &action, err, sizeof(err)), 0);
	assert_int_equal(action, DP_LOAD_RELOADED);
	expect_join(f, 1, "FAN", DP_S_OK, DP_D_NONE);
	expect_join(f, 2, "FAN", DP_S_OK, DP_D_NONE);
	expect_join(f, 4, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP);
	expect_join(f, 3, "member-0001", DP_S_NOT_FOUND, DP_D_CODE_UNKNOWN);
	struct dp_queue_answer a = redeem_ok(f, 1, "NEWCODE");
	assert_int_equal(a.state, DP_QS_ADMITTED);
	struct dp_presale_view v;
	assert_int_equal(dp_presale_get(f->eng, EV1, &v), 0);
	assert_int_equal(v.w[1].used, 2);
	assert_int_equal(v.w[1].uses, 1);
	/* the old definition back: the member's redemption is there again */
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, &action, err, sizeof(err)), 0);
	expect_join(f, 3, "member-0001", DP_S_OK, DP_D_NONE);
	/* a reload while a redemption is pending drops it unanswered: it redeems again */
	expect_join(f, 5, "FAN", DP_S_BUSY, DP_D_CODE_PENDING);
	assert_int_equal(load_ps(f, &q.def, DP_WR_OFF, f->now + 60 * MIN_MS, &action, err, sizeof(err)), 0);
	expect_join(f, 5, "FAN", DP_S_LIMIT, DP_D_CODE_USED_UP);
	/* windows removed: no presale rules any more (holds closed until on sale as before) */
	assert_int_equal(load_ps(f, NULL, DP_WR_OFF, f->now + 60 * MIN_MS, &action, err, sizeof(err)), 0);
	struct dp_queue_answer n;
	assert_int_equal(join(f, 5, "FAN", &n), DP_S_OK);
	assert_int_equal(n.state, DP_QS_NO_QUEUE);
}

/* Bad definitions are refused naming the problem; nothing is loaded. */
static void test_limits(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	struct pdef p;
	pdef_std(&p, f->now, DP_PRESALE_SLOTS_MAX - 64 - 1 - 1 - 5 - 5 + 1);
	char err[256] = "";
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "DP_PRESALE_SLOTS_MAX"));
	struct dp_queue_view qv;
	assert_int_equal(dp_queue_get(f->eng, EV1, &qv), -ENOENT);
	pdef_std(&p, f->now, DP_PRESALE_SLOTS_MAX - 64 - 1 - 1 - 5 - 5); /* exactly the limit */
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), 0);
	pdef_std(&p, f->now, 1);
	snprintf(p.c1[0].code, sizeof(p.c1[0].code), "FAN");
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"FAN\" is listed twice"));
	pdef_std(&p, f->now, 1);
	snprintf(p.c1[0].code, sizeof(p.c1[0].code), "has space");
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), -EINVAL);
	pdef_std(&p, f->now, 0);
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), -EINVAL);
	pdef_std(&p, f->now, 1);
	p.def.windows[2].end_ms = p.def.windows[2].start_ms;
	assert_int_equal(load_ps(f, &p.def, DP_WR_OFF, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), -EINVAL);
	/* the loaded one is still the first */
	struct dp_presale_code_view cv;
	assert_int_equal(dp_presale_code_get(f->eng, EV1, 0, &cv), 0);
	assert_int_equal(cv.uses, DP_PRESALE_SLOTS_MAX - 64 - 1 - 1 - 5 - 5);
}

/* Holds before the on-sale time: a good presale token runs while scheduled; every wrong one is refused. */
static void test_holds(void **state)
{
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 2, &p);
	struct dp_queue_answer a = redeem_ok(f, 1, "FAN");
	struct dp_request rq;
	struct dp_reply out;
	uint8_t d, tok[DP_TOKEN_SIZE];
	assert_int_equal(hold_check(f, &rq, 1, NULL, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_PRESALE_ONLY);
	mint(DP_TOKEN_ACCESS, 0, 1, f->now + MIN_MS, tok); /* not presale */
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_PRESALE_ONLY);
	assert_int_equal(hold_check(f, &rq, 2, a.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_WRONG_CLIENT);
	mint(DP_TOKEN_TICKET, DP_TOKEN_PRESALE_FLAGS(0), 1, f->now, tok);
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_WRONG_KIND);
	memcpy(tok, a.token, sizeof(tok));
	tok[40] ^= 1;
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_FORGED);
	{ /* another event's presale token; one signed by a key the dataplane does not have */
		struct dp_keys *ks = keys_new();
		struct dp_token_fields t = {.kind = DP_TOKEN_ACCESS, .flags = DP_TOKEN_PRESALE_FLAGS(0), .event_id = EV1 + 1,
					    .client_id = 1, .time_ms = f->now + MIN_MS};
		assert_int_equal(dp_token_mint(ks, &t, tok), 0);
		dp_keys_free(ks);
		assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_BAD_TOKEN);
		assert_int_equal(d, DP_D_TOKEN_WRONG_EVENT);
		ks = dp_keys_new();
		uint8_t sec[DP_KEY_SIZE];
		secret_of(9, sec);
		assert_int_equal(dp_keys_add(ks, 9, sec), 0);
		t.event_id = EV1;
		assert_int_equal(dp_token_mint(ks, &t, tok), 0);
		dp_keys_free(ks);
		assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_BAD_TOKEN);
		assert_int_equal(d, DP_D_TOKEN_UNKNOWN_KEY);
		tok[3] = 0x04; /* a window index without the presale flag */
		assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_BAD_TOKEN);
		assert_int_equal(d, DP_D_TOKEN_MALFORMED);
	}
	mint(DP_TOKEN_ACCESS, DP_TOKEN_PRESALE_FLAGS(1), 1, f->now + MIN_MS, tok); /* "later": not open */
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_CODE_WINDOW);
	mint(DP_TOKEN_ACCESS, DP_TOKEN_PRESALE_FLAGS(5), 1, f->now + MIN_MS, tok); /* no such window */
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_CODE_WINDOW);
	/* without the check's flag the scheduled sale refuses the hold */
	rq_hold_ga(&rq, 1, ++f->next_req, EV1, G1, 1);
	assert_int_equal(fx_exec(f, &rq, &out), DP_S_CLOSED);
	/* the good token: allowed, and the hold runs while scheduled */
	assert_int_equal(hold_check(f, &rq, 1, a.token, &d), DP_S_OK);
	assert_true(rq.flags & DP_REQ_F_PRESALE);
	struct dp_sale_view sv;
	assert_int_equal(dp_event_sale_get(f->eng, EV1, f->now, &sv), 0);
	assert_int_equal(sv.stored_state, DP_SALE_SCHEDULED);
	assert_int_equal(fx_exec(f, &rq, &out), DP_S_OK);
	/* paused: refused as any hold */
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_PAUSED), 0);
	assert_int_equal(hold_check(f, &rq, 1, a.token, &d), DP_S_OK);
	assert_int_equal(fx_exec(f, &rq, &out), DP_S_CLOSED);
	assert_int_equal(dp_engine_sale_set_state(f->eng, EV1, DP_SALE_OPEN), 0);
	/* the token's expiry passed: refused by the token check */
	f->now += T_WINDOW_MS;
	assert_int_equal(hold_check(f, &rq, 1, a.token, &d), DP_S_BAD_TOKEN);
	assert_int_equal(d, DP_D_TOKEN_EXPIRED);
	/* window over with a token still valid */
	f->now = p.def.windows[0].end_ms;
	mint(DP_TOKEN_ACCESS, DP_TOKEN_PRESALE_FLAGS(0), 1, f->now + MIN_MS, tok);
	assert_int_equal(hold_check(f, &rq, 1, tok, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_CODE_WINDOW);
	/* from the on-sale time: room off, any hold goes (the flag is cleared) */
	f->now = p.def.windows[0].start_ms + 61 * MIN_MS;
	assert_int_equal(hold_check(f, &rq, 1, NULL, &d), DP_S_OK);
	assert_false(rq.flags & DP_REQ_F_PRESALE);
}

/* Room active: presale buyers queue (pre-queue before `opens`, the earliest window start). */
static void test_active_room(void **state)
{
	struct fx *f = *state;
	fx_open(f, 2, true);
	struct pdef p;
	pdef_std(&p, f->now, 2);
	p.def.windows[0].start_ms = f->now + 5 * MIN_MS; /* every window in the future */
	p.def.windows[2].start_ms = f->now + 6 * MIN_MS;
	p.def.windows[2].end_ms = f->now + 50 * MIN_MS;
	char err[256];
	assert_int_equal(load_ps(f, &p.def, DP_WR_ON, f->now + 60 * MIN_MS, NULL, err, sizeof(err)), 0);
	dp_engine_keys_set(f->eng, keys_new());
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	struct dp_queue_view qv;
	assert_int_equal(dp_queue_get(f->eng, EV1, &qv), 0);
	assert_int_equal(qv.opened, 0);
	expect_join(f, 1, NULL, DP_S_CLOSED, DP_D_PRESALE_ONLY);
	/* not started, room active: pre-queue ticket flagged presale */
	struct dp_queue_answer a = redeem_ok(f, 1, "FAN");
	assert_int_equal(a.state, DP_QS_PREQUEUE);
	assert_int_equal(a.wait_ms, 5 * MIN_MS); /* until opens, not on_sale */
	assert_int_equal(a.token[3], DP_TOKEN_F_PREQUEUE | DP_TOKEN_PRESALE_FLAGS(0));
	/* opens at the earliest window start */
	f->now += 5 * MIN_MS;
	assert_int_equal(dp_queue_tick(f->eng, f->now), 0);
	assert_int_equal(dp_queue_get(f->eng, EV1, &qv), 0);
	assert_int_equal(qv.opened, 1);
	assert_int_equal(qv.prequeue, 1);
	/* window 2 "past" starts at +6 min: once the queue is open, a later
	 * window's code is refused until its window opens (queued now, its buyer
	 * would be admitted to holds refused code_window) */
	expect_join(f, 2, "OLD", DP_S_CLOSED, DP_D_CODE_WINDOW);
	f->now += MIN_MS;
	struct dp_queue_answer b = redeem_ok(f, 2, "OLD");
	assert_int_equal(b.state, DP_QS_WAITING);
	assert_int_equal(b.position, 1);
	assert_int_equal(b.token[3], DP_TOKEN_PRESALE_FLAGS(2));
	assert_int_equal(dp_queue_admit(f->eng, EV1, 2, NULL, f->now), 0);
	struct dp_queue_answer t;
	assert_int_equal(dp_queue_poll(f->eng, EV1, 2, b.token, f->now, &t), DP_S_OK);
	assert_int_equal(t.state, DP_QS_ADMITTED);
	assert_int_equal(t.token[3], DP_TOKEN_PRESALE_FLAGS(2));
	struct dp_request rq;
	uint8_t d;
	assert_int_equal(hold_check(f, &rq, 2, t.token, &d), DP_S_OK);
	/* a token of a window not open yet is still refused by the hold check */
	f->now -= MIN_MS;
	assert_int_equal(hold_check(f, &rq, 2, t.token, &d), DP_S_CLOSED);
	assert_int_equal(d, DP_D_CODE_WINDOW);
	f->now += MIN_MS;
	assert_int_equal(dp_queue_poll(f->eng, EV1, 1, a.token, f->now, &t), DP_S_OK);
	assert_int_equal(t.state, DP_QS_ADMITTED); /* perm of 1 joiner: position 0 */
	assert_int_equal(t.token[3], DP_TOKEN_PRESALE_FLAGS(0));
}

/* The stored form: round trip, then truncations and random bytes refused, never a crash. */
static void test_def_codec(void **state)
{
	(void)state;
	struct pdef p;
	pdef_std(&p, FX_T0, 7);
	void *blob;
	size_t len;
	assert_int_equal(dp_presale_def_encode(&p.def, &blob, &len), 0);
	struct dp_presale_def d;
	struct dp_presale_code *mem;
	assert_int_equal(dp_presale_def_decode(blob, len, &d, &mem), 0);
	assert_int_equal(d.n_windows, 3);
	assert_string_equal(d.windows[0].name, "fans");
	assert_int_equal(d.windows[0].n_codes, 4);
	assert_string_equal(d.windows[0].codes[3].code, "0123456789abcdef0123456789ABCDEF");
	assert_int_equal(d.windows[0].codes[0].uses, 7);
	assert_int_equal(d.windows[2].end_ms, p.def.windows[2].end_ms);
	free(mem);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(dp_presale_def_decode(blob, n, &d, &mem), -EINVAL);
	uint8_t *b = blob;
	uint64_t rng = 42;
	unsigned accepted = 0;
	for (unsigned k = 0; k < 20000; k++) {
		uint8_t g[512];
		memcpy(g, b, len < sizeof(g) ? len : sizeof(g));
		const size_t gl = len < sizeof(g) ? len : sizeof(g);
		for (unsigned j = 0; j < 1 + k % 4; j++)
			g[rng_next(&rng) % gl] = (uint8_t)rng_next(&rng);
		if (dp_presale_def_decode(g, gl, &d, &mem) == 0) {
			accepted++; /* a change the checks allow (a name byte, a time, a use count) */
			assert_int_equal(dp_presale_def_check(&d, 1, NULL, 0), 0);
			free(mem);
		}
	}
	assert_true(accepted < 20000);
	free(blob);
}

#ifndef ALLOC_COUNT_OFF
/* Joins with codes (new, pending, durable), the hold check; how many answered as expected. */
static unsigned long redeem_loop(struct fx *f, const uint8_t *acc, unsigned n, uint64_t fresh)
{
	unsigned long ok = 0;
	for (unsigned i = 0; i < n; i++) {
		struct dp_queue_answer a;
		struct dp_request rq;
		uint8_t d;
		ok += join(f, 1, "FAN", &a) == DP_S_OK && a.state == DP_QS_ADMITTED;
		ok += join(f, fresh + i % 60, "RACE", &a) == DP_S_BUSY || a.detail == DP_D_CODE_USED_UP;
		ok += join(f, 3, "nope", &a) == DP_S_NOT_FOUND;
		ok += hold_check(f, &rq, 1, acc, &d) == DP_S_OK;
	}
	return ok;
}
#endif

#ifndef ALLOC_COUNT_OFF
struct redeem_args {
	struct fx *f;
	const uint8_t *tok;
	unsigned n;
};

/* redeem_loop for no_syscall_run (arg: a struct redeem_args). */
static unsigned long redeem_child(void *arg)
{
	const struct redeem_args *r = arg;
	return redeem_loop(r->f, r->tok, r->n, 20000);
}
#endif

/* The redeem path: no allocation, no system call. */
static void test_worker_path(void **state)
{
#ifdef ALLOC_COUNT_OFF
	(void)state;
	skip();
#else
	struct fx *f = *state;
	struct pdef p;
	open_ps(f, DP_WR_OFF, 2, &p);
	struct dp_queue_answer a = redeem_ok(f, 1, "FAN");
	enum { N = 2000 };
	alloc_count_armed = 1;
	void *volatile probe = malloc(16);
	alloc_count_armed = 0;
	free(probe);
	assert_int_equal(alloc_count_calls, 1);
	alloc_count_calls = 0;
	alloc_count_armed = 1;
	unsigned long ok = redeem_loop(f, a.token, N, 10000);
	alloc_count_armed = 0;
	assert_int_equal(alloc_count_calls, 0);
	assert_int_equal(ok, 4ul * N);
	struct redeem_args args = {.f = f, .tok = a.token, .n = N};
	unsigned long in_child = 0;
	const int killed = no_syscall_run(redeem_child, &args, &in_child);
	if (killed > 0)
		fail_msg("child killed by signal %d: a system call on the redeem path", killed);
	assert_int_equal(killed, 0);
	assert_int_equal(in_child, 4ul * N);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_rules, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_use_limits, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_until_durable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_race, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recovery, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reload, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_limits, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_holds, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_active_room, fx_setup, fx_teardown),
		cmocka_unit_test(test_def_codec),
		cmocka_unit_test_setup_teardown(test_worker_path, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
