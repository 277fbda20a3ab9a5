/*
 * helpers.c - fixture, request builders and assertions shared by the
 * reservation-core unit tests (see helpers.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "tests/engine/helpers.h"

#define FX_DURABLE_WAIT_NS (5ull * 1000 * 1000 * 1000) /* 5 s */
#define FX_DURABLE_NAP_NS 100000l                      /* 100 us */
#define FX_MAP_SIZE (256ull << 20)
#define FX_TABLE_SIZE 4096u

/* ---------------------------------------------------------------- event */

void tevent_std(struct tevent *te, uint32_t event_id)
{
	memset(te, 0, sizeof(*te));
	struct dp_event_def *d = &te->def;
	d->id = event_id;
	snprintf(d->name, sizeof(d->name), "test event %u", event_id);
	d->hold_ttl_ms = EV_TTL_MS;
	d->buyer_limit = EV_LIMIT;

	te->tiers[0] = (struct dp_tier_def){ .id = TIER_A, .price_cents = 9000 };
	te->tiers[1] = (struct dp_tier_def){ .id = TIER_B, .price_cents = 5000 };
	te->tiers[2] = (struct dp_tier_def){ .id = TIER_GA, .price_cents = 3000 };
	snprintf(te->tiers[0].name, DP_NAME_MAX, "A");
	snprintf(te->tiers[1].name, DP_NAME_MAX, "B");
	snprintf(te->tiers[2].name, DP_NAME_MAX, "GA");
	d->n_tiers = 3;
	d->tiers = te->tiers;

	for (unsigned r = 0; r < S1_ROWS; r++)
		snprintf(te->s1_rows[r], DP_ROW_LABEL_MAX, "%c", 'A' + r);
	for (unsigned i = 0; i < S1_SEATS; i++) {
		te->s1[i].row = (uint16_t)(i / S1_PER_ROW);
		/* numbered through the section (row 1 starts at 11), so only the row
		 * tells that index 9 and index 10 are not adjacent */
		te->s1[i].number = (uint16_t)(i + 1);
		te->s1[i].tier = (uint8_t)(i / S1_PER_ROW < 2 ? TIER_A : TIER_B);
		te->s1[i].flags = 0;
	}
	te->s1[S1_WITHHELD].flags = DP_SEAT_WITHHELD;
	te->sec[0].id = S1;
	snprintf(te->sec[0].name, DP_NAME_MAX, "Stalls");
	te->sec[0].n_rows = S1_ROWS;
	te->sec[0].row_labels = te->s1_rows;
	te->sec[0].n_seats = S1_SEATS;
	te->sec[0].seats = te->s1;

	static const uint16_t s2_numbers[S2_SEATS] = { 1, 2, 3, 5, 6, 7 };
	snprintf(te->s2_rows[0], DP_ROW_LABEL_MAX, "Z");
	for (unsigned i = 0; i < S2_SEATS; i++) {
		te->s2[i].row = 0;
		te->s2[i].number = s2_numbers[i];
		te->s2[i].tier = TIER_B;
	}
	te->sec[1].id = S2;
	snprintf(te->sec[1].name, DP_NAME_MAX, "Box");
	te->sec[1].n_rows = 1;
	te->sec[1].row_labels = te->s2_rows;
	te->sec[1].n_seats = S2_SEATS;
	te->sec[1].seats = te->s2;
	d->n_sections = 2;
	d->sections = te->sec;

	te->ga[0].id = G1;
	snprintf(te->ga[0].name, DP_NAME_MAX, "Floor");
	te->ga[0].capacity = G1_CAP;
	te->ga[0].tier = TIER_GA;
	d->n_ga = 1;
	d->ga = te->ga;
}

/* -------------------------------------------------------------- fixture */

static void rm_dir(const char *dir)
{
	DIR *dh = opendir(dir);
	if (dh) {
		struct dirent *de;
		char path[512];
		while ((de = readdir(dh)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(dh);
	}
	rmdir(dir);
}

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	urcu_qsbr_register_thread();
	f->registered = true;
	f->now = FX_T0;
	f->next_req = 1ull << 40; /* never collides with the small ids tests pick */
	f->next_client = 1000000;
	*state = f;
	return 0;
}

static void fx_close_all(struct fx *f)
{
	if (f->writer_running && f->env) {
		st_writer_stop(f->env);
		f->writer_running = false;
	}
	dp_engine_destroy(f->eng);
	f->eng = NULL;
	st_env_close(f->env);
	f->env = NULL;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;
	if (!f)
		return 0;
	fx_close_all(f);
	if (f->registered)
		urcu_qsbr_unregister_thread();
	if (f->dir_made)
		rm_dir(f->dir);
	free(f);
	*state = NULL;
	return 0;
}

static void fx_start(struct fx *f, bool recover)
{
	struct st_options o = {
		.dir = f->dir,
		.map_size_bytes = FX_MAP_SIZE,
		.nosync = f->nosync,
		.workers = f->workers,
		.ring_size = f->ring_size,
	};
	int rc = st_env_open(&o, &f->env);
	if (rc != 0)
		print_error("st_env_open(%s): %d %s\n", f->dir, rc, st_strerror(rc));
	assert_int_equal(rc, 0);
	assert_non_null(f->env);

	rc = dp_engine_create(&f->cfg, f->env, &f->eng);
	assert_int_equal(rc, 0);
	assert_non_null(f->eng);
	assert_int_equal(dp_engine_workers(f->eng), f->workers);
	assert_ptr_equal(dp_engine_env(f->eng), f->env);
	for (unsigned i = 0; i < f->workers; i++) {
		assert_non_null(dp_engine_worker(f->eng, i));
		assert_int_equal(dp_worker_index(dp_engine_worker(f->eng, i)), i);
	}

	if (recover) {
		rc = dp_engine_recover(f->eng);
		if (rc != 0)
			print_error("dp_engine_recover: %d %s\n", rc, st_strerror(rc));
		assert_int_equal(rc, 0);
	}

	rc = st_writer_start(f->env);
	assert_int_equal(rc, 0);
	f->writer_running = true;
}

void fx_open(struct fx *f, unsigned workers, bool nosync)
{
	fx_open_tuned(f, workers, nosync, 0, 0, 0);
}

void fx_open_tuned(struct fx *f, unsigned workers, bool nosync, uint32_t holds_max, uint32_t orders_max,
		   unsigned ring_size)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/stampede-engine-XXXXXX", tmp);
	assert_non_null(mkdtemp(f->dir));
	f->dir_made = true;
	f->workers = workers;
	f->nosync = nosync;

	dp_config_defaults(&f->cfg, workers);
	assert_int_equal(f->cfg.workers, workers);
	f->cfg.holds_max = holds_max ? holds_max : FX_TABLE_SIZE;
	f->cfg.orders_max = orders_max ? orders_max : FX_TABLE_SIZE;
	f->ring_size = ring_size;
	f->cfg.idem_max = f->idem_tuned ? f->idem_max : FX_TABLE_SIZE;
	if (f->idem_tuned)
		f->cfg.idem_horizon_ms = f->idem_horizon_ms;
	f->cfg.buyers_max = FX_TABLE_SIZE;
	fx_start(f, false);
}

void fx_add_std(struct fx *f, uint32_t event_id)
{
	struct tevent *te = malloc(sizeof(*te));
	assert_non_null(te);
	tevent_std(te, event_id);
	char err[256] = "";
	int rc = dp_engine_add_event(f->eng, &te->def, err, sizeof(err));
	free(te);
	if (rc != 0)
		print_error("dp_engine_add_event(%u): %d %s\n", event_id, rc, err);
	assert_int_equal(rc, 0);
}

void fx_shutdown(struct fx *f)
{
	assert_non_null(f->env);
	if (f->writer_running) {
		assert_int_equal(st_writer_stop(f->env), 0);
		f->writer_running = false;
	}
	dp_engine_destroy(f->eng);
	f->eng = NULL;
	st_env_close(f->env);
	f->env = NULL;
}

void fx_reopen(struct fx *f)
{
	assert_null(f->env);
	fx_start(f, true);
}

/* ------------------------------------------------------------- execute */

struct dp_worker *fx_worker(struct fx *f, unsigned idx)
{
	assert_true(idx < f->workers);
	struct dp_worker *w = dp_engine_worker(f->eng, idx);
	assert_non_null(w);
	return w;
}

int fx_route(struct fx *f, const struct dp_request *rq)
{
	int r = dp_route(f->eng, rq);
	if (r < -1 || r >= (int)f->workers) {
		print_error("dp_route returned %d (workers %u)\n", r, f->workers);
		fail();
	}
	return r;
}

bool fx_wait_durable(struct fx *f, unsigned idx, uint64_t seq)
{
	struct dp_worker *w = fx_worker(f, idx);
	const struct timespec nap = { 0, FX_DURABLE_NAP_NS };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (dp_worker_durable(w) >= seq)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec -
			      (uint64_t)t0.tv_nsec;
		if (ns > FX_DURABLE_WAIT_NS)
			return dp_worker_durable(w) >= seq;
		nanosleep(&nap, NULL);
	}
}

int fx_exec_on(struct fx *f, unsigned idx, const struct dp_request *rq, struct dp_reply *out)
{
	struct dp_worker *w = fx_worker(f, idx);
	memset(out, 0xa5, sizeof(*out)); /* dp_execute must fill every field it reports */
	int rc = dp_execute(w, rq, f->now, out);
	assert_int_equal(rc, out->status);
	if (out->status >= DP_S__COUNT || out->detail >= DP_D__COUNT || out->n_items > DP_HOLD_TICKETS_MAX ||
	    out->n_alt > DP_HOLD_TICKETS_MAX) {
		print_error("insane reply: status %u detail %u n_items %u n_alt %u (op %u)\n", out->status,
			    out->detail, out->n_items, out->n_alt, rq->op);
		fail();
	}
	if (out->wait_seq != 0 && !f->no_wait && !fx_wait_durable(f, idx, out->wait_seq)) {
		print_error("reply wait_seq %llu never durable on worker %u (durable %llu)\n",
			    (unsigned long long)out->wait_seq, idx,
			    (unsigned long long)dp_worker_durable(w));
		fail();
	}
	return rc;
}

int fx_exec(struct fx *f, const struct dp_request *rq, struct dp_reply *out)
{
	int r = fx_route(f, rq);
	return fx_exec_on(f, r < 0 ? 0u : (unsigned)r, rq, out);
}

/* ------------------------------------------------------------ requests */

void rq_base(struct dp_request *rq, uint8_t op, uint32_t ev, uint32_t part, uint64_t client, uint64_t req)
{
	memset(rq, 0, sizeof(*rq));
	rq->op = op;
	rq->event_id = ev;
	rq->part_id = part;
	rq->client_id = client;
	rq->request_id = req;
}

void rq_hold_seats(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part,
		   unsigned n, const uint32_t *seats)
{
	rq_base(rq, DP_OP_HOLD_SEATS, ev, part, client, req);
	rq->n = (uint8_t)n;
	for (unsigned i = 0; i < n && i < DP_HOLD_TICKETS_MAX; i++)
		rq->seats[i] = seats[i];
}

void rq_hold_best(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part,
		  unsigned n, uint8_t tier)
{
	rq_base(rq, DP_OP_HOLD_BEST, ev, part, client, req);
	rq->n = (uint8_t)n;
	rq->tier = tier;
}

void rq_hold_ga(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part, unsigned n)
{
	rq_base(rq, DP_OP_HOLD_GA, ev, part, client, req);
	rq->n = (uint8_t)n;
}

void rq_confirm(struct dp_request *rq, uint64_t client, uint64_t req, uint64_t hold_id, uint8_t payfill)
{
	rq_base(rq, DP_OP_CONFIRM, 0, 0, client, req);
	rq->hold_id = hold_id;
	for (unsigned i = 0; i < ST_PAYMENT_REF_SIZE; i++)
		rq->payment_ref[i] = (uint8_t)(payfill + i);
}

void rq_release(struct dp_request *rq, uint64_t client, uint64_t req, uint64_t hold_id)
{
	rq_base(rq, DP_OP_RELEASE, 0, 0, client, req);
	rq->hold_id = hold_id;
}

uint64_t fx_hold_seats_ok(struct fx *f, uint64_t client, uint32_t part, unsigned n, const uint32_t *seats,
			  struct dp_reply *out)
{
	struct dp_request rq;
	struct dp_reply tmp;
	if (!out)
		out = &tmp;
	rq_hold_seats(&rq, client, f->next_req++, EV1, part, n, seats);
	fx_exec(f, &rq, out);
	EXPECT_REPLY(*out, DP_S_OK, -1);
	assert_int_not_equal(out->hold_id, 0);
	assert_int_equal(out->n_items, n);
	return out->hold_id;
}

uint64_t fx_confirm_ok(struct fx *f, uint64_t client, uint64_t hold_id, struct dp_reply *out)
{
	struct dp_request rq;
	struct dp_reply tmp;
	if (!out)
		out = &tmp;
	rq_confirm(&rq, client, f->next_req++, hold_id, 0x40);
	fx_exec(f, &rq, out);
	EXPECT_REPLY(*out, DP_S_OK, DP_D_NONE);
	assert_int_not_equal(out->order_id, 0);
	return out->order_id;
}

void fx_release_ok(struct fx *f, uint64_t client, uint64_t hold_id)
{
	struct dp_request rq;
	struct dp_reply out;
	rq_release(&rq, client, f->next_req++, hold_id);
	fx_exec(f, &rq, &out);
	EXPECT_REPLY(out, DP_S_OK, -1);
}

/* ------------------------------------------------------------- readers */

uint64_t fx_word(struct fx *f, uint32_t ev, uint32_t part, uint32_t idx)
{
	uint64_t w = 0;
	urcu_qsbr_read_lock();
	int rc = dp_seat_word(f->eng, ev, part, idx, &w);
	urcu_qsbr_read_unlock();
	if (rc != 0) {
		print_error("dp_seat_word(ev %u, part %u, idx %u) = %d\n", ev, part, idx, rc);
		fail();
	}
	return w;
}

enum dp_seat_state fx_state(struct fx *f, uint32_t ev, uint32_t part, uint32_t idx)
{
	return dp_seat_word_state(fx_word(f, ev, part, idx));
}

static void counts_sane(struct dp_part_counts c, const char *what)
{
	if ((uint64_t)c.free + c.held + c.sold + c.withheld != c.capacity) {
		print_error("%s: free %u + held %u + sold %u + withheld %u != capacity %u\n", what, c.free, c.held,
			    c.sold, c.withheld, c.capacity);
		fail();
	}
}

struct dp_part_counts fx_counts(struct fx *f, uint32_t ev, uint32_t part)
{
	struct dp_part_counts c;
	memset(&c, 0xa5, sizeof(c));
	urcu_qsbr_read_lock();
	int rc = dp_part_counts_get(f->eng, ev, part, &c);
	urcu_qsbr_read_unlock();
	assert_int_equal(rc, 0);
	counts_sane(c, "part counts");
	return c;
}

struct dp_part_counts fx_ev_counts(struct fx *f, uint32_t ev)
{
	struct dp_part_counts c;
	memset(&c, 0xa5, sizeof(c));
	urcu_qsbr_read_lock();
	int rc = dp_event_counts_get(f->eng, ev, &c);
	urcu_qsbr_read_unlock();
	assert_int_equal(rc, 0);
	counts_sane(c, "event counts");
	return c;
}

uint32_t fx_buyer(struct fx *f, uint32_t ev, uint64_t client)
{
	urcu_qsbr_read_lock();
	uint32_t n = dp_buyer_count(f->eng, ev, client);
	urcu_qsbr_read_unlock();
	return n;
}

void snap_take(struct fx *f, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->s1 = fx_counts(f, EV1, S1);
	s->s2 = fx_counts(f, EV1, S2);
	s->g1 = fx_counts(f, EV1, G1);
	s->ev = fx_ev_counts(f, EV1);
	for (uint32_t i = 0; i < S1_SEATS; i++)
		s->w1[i] = fx_word(f, EV1, S1, i);
	for (uint32_t i = 0; i < S2_SEATS; i++)
		s->w2[i] = fx_word(f, EV1, S2, i);
	for (uint32_t i = 0; i < G1_CAP; i++)
		s->wg[i] = fx_word(f, EV1, G1, i);
	/* the event total is the sum of its parts */
	assert_int_equal(s->ev.capacity, s->s1.capacity + s->s2.capacity + s->g1.capacity);
	assert_int_equal(s->ev.held, s->s1.held + s->s2.held + s->g1.held);
	assert_int_equal(s->ev.sold, s->s1.sold + s->s2.sold + s->g1.sold);
	assert_int_equal(s->ev.withheld, s->s1.withheld + s->s2.withheld + s->g1.withheld);
	assert_int_equal(s->ev.free, s->s1.free + s->s2.free + s->g1.free);
}

static int counts_cmp(const struct dp_part_counts *a, const struct dp_part_counts *b, const char *what,
		      const char *file, int line)
{
	if (a->capacity == b->capacity && a->withheld == b->withheld && a->held == b->held && a->sold == b->sold &&
	    a->free == b->free)
		return 0;
	print_error("%s:%d: %s counts changed: cap %u->%u withheld %u->%u held %u->%u sold %u->%u free %u->%u\n",
		    file, line, what, a->capacity, b->capacity, a->withheld, b->withheld, a->held, b->held, a->sold,
		    b->sold, a->free, b->free);
	return 1;
}

void snap_assert_equal(const struct snap *a, const struct snap *b, const char *file, int line)
{
	int bad = 0;
	bad |= counts_cmp(&a->s1, &b->s1, "S1", file, line);
	bad |= counts_cmp(&a->s2, &b->s2, "S2", file, line);
	bad |= counts_cmp(&a->g1, &b->g1, "G1", file, line);
	bad |= counts_cmp(&a->ev, &b->ev, "event", file, line);
	for (unsigned i = 0; i < S1_SEATS && !bad; i++)
		if (a->w1[i] != b->w1[i]) {
			print_error("%s:%d: S1 seat %u word changed %#llx -> %#llx\n", file, line, i,
				    (unsigned long long)a->w1[i], (unsigned long long)b->w1[i]);
			bad = 1;
		}
	for (unsigned i = 0; i < S2_SEATS && !bad; i++)
		if (a->w2[i] != b->w2[i]) {
			print_error("%s:%d: S2 seat %u word changed %#llx -> %#llx\n", file, line, i,
				    (unsigned long long)a->w2[i], (unsigned long long)b->w2[i]);
			bad = 1;
		}
	for (unsigned i = 0; i < G1_CAP && !bad; i++)
		if (a->wg[i] != b->wg[i]) {
			print_error("%s:%d: G1 serial %u word changed %#llx -> %#llx\n", file, line, i,
				    (unsigned long long)a->wg[i], (unsigned long long)b->wg[i]);
			bad = 1;
		}
	if (bad)
		_fail(file, line);
}

/* ---------------------------------------------------------- assertions */

void reply_expect(const struct dp_reply *r, int status, int detail, const char *file, int line)
{
	if (r->status == status && (detail < 0 || r->detail == detail))
		return;
	print_error("%s:%d: reply %s/%s (%u/%u), expected %s/%s\n", file, line, dp_status_name(r->status),
		    dp_detail_name(r->detail), r->status, r->detail, dp_status_name(status),
		    detail < 0 ? "*" : dp_detail_name(detail));
	_fail(file, line);
}

void counts_expect(struct dp_part_counts c, uint32_t capacity, uint32_t withheld, uint32_t held, uint32_t sold,
		   uint32_t free_, const char *file, int line)
{
	if (c.capacity == capacity && c.withheld == withheld && c.held == held && c.sold == sold && c.free == free_)
		return;
	print_error("%s:%d: counts cap %u withheld %u held %u sold %u free %u, expected %u %u %u %u %u\n", file,
		    line, c.capacity, c.withheld, c.held, c.sold, c.free, capacity, withheld, held, sold, free_);
	_fail(file, line);
}

/* ---------------------------------------------------------------- misc */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void sort_u32(uint32_t *a, unsigned n)
{
	qsort(a, n, sizeof(*a), cmp_u32);
}

uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ------------------------------------------- assertions of test_engine*.c */

void expect_items(const uint32_t *got, unsigned n_got, const uint32_t *want, unsigned n_want)
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
void expect_held_by(struct fx *f, uint32_t part, const struct dp_reply *r)
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

void expect_state_all(struct fx *f, uint32_t part, const uint32_t *idx, unsigned n, enum dp_seat_state st)
{
	for (unsigned i = 0; i < n; i++) {
		enum dp_seat_state got = fx_state(f, EV1, part, idx[i]);
		if (got != st) {
			print_error("part %u idx %u: state %d, expected %d\n", part, idx[i], (int)got, (int)st);
			fail();
		}
	}
}

/* Change the client (then the request id) until rq routes to worker widx. */
void route_to(struct fx *f, struct dp_request *rq, unsigned widx)
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

void expect_same_reply(const struct dp_reply *a, const struct dp_reply *b)
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
