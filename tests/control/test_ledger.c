/*
 * test_ledger.c - cmocka tests of control/ctl_ledger: a forked child writes
 * events and HOLD/CONFIRM/RELEASE/EXPIRE records through the storage API (a
 * process must not open one LMDB environment twice), the parent follows the
 * directory read-only and checks live holds, filters, due holds, export rows,
 * incremental following, and clear errors for garbage.
 */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "control/ctl_ledger.h"
#include "storage/st.h"
#include "tests/control/t_events.h"

#define T_DIR_TEMPLATE "/tmp/ctl_ledger_XXXXXX"
#define T_NAP_NS 1000000l
#define T_WAIT_MS 20000u
#define T_NOW_MS 1800000000000ull /* a fixed clock: records carry their own times */
#define T_HOLDS_MAX 64

struct t_fix {
	char dir[sizeof(T_DIR_TEMPLATE)];
	struct ctl_ledger *l;
	char err[CTL_LEDGER_ERR_BYTES];
};

/* ---- the writer child ------------------------------------------------------ */

struct t_write {
	struct st_record recs[T_HOLDS_MAX];
	unsigned n;
	int events; /* 1: store t_events; 2: store event 1 as garbage */
};

/* Sleep T_NAP_NS. */
static void t_nap(void)
{
	struct timespec ts = {0, T_NAP_NS};
	nanosleep(&ts, NULL);
}

/* A HOLD record as the dataplane writes it; items has n (<= ST_HOLD_ITEMS_MAX) entries, may be NULL when n is 0. */
static struct st_record t_hold(uint64_t id, uint32_t event, uint32_t part, uint8_t kind, uint64_t client,
			       uint64_t created_ms, uint64_t expiry_ms, unsigned n, const uint32_t *items)
{
	struct st_record r;
	memset(&r, 0, sizeof(r));
	r.type = ST_REC_HOLD;
	r.kind = kind;
	r.event_id = event;
	r.part_id = part;
	r.hold_id = id;
	r.client_id = client;
	r.time_ms = created_ms;
	r.expiry_ms = expiry_ms;
	r.n_items = (uint8_t)n;
	if (n > 0)
		memcpy(r.items, items, n * sizeof(*items));
	return r;
}

/* An end record (CONFIRM/RELEASE/EXPIRE) of hold id, as the dataplane writes it. */
static struct st_record t_end(uint8_t type, const struct st_record *hold, uint64_t time_ms, uint64_t order_id)
{
	struct st_record r = *hold;
	r.type = type;
	r.n_items = 0;
	memset(r.items, 0, sizeof(r.items));
	r.time_ms = time_ms;
	r.order_id = order_id;
	return r;
}

/* Child body: open, write, wait until durable, close. Exit status 0 = ok. */
static int t_child(const char *dir, const struct t_write *w)
{
	struct st_options o = {.dir = dir, .nosync = true, .workers = 1};
	struct st_env *env;
	if (st_env_open(&o, &env) != 0)
		return 2;
	if (w->events == 1 && t_events_store(env) != 0)
		return 3;
	if (w->events == 2 && st_env_put_event(env, T_EV_ARENA, "garbage!", 8) != 0)
		return 4;
	if (st_writer_start(env) != 0)
		return 5;
	struct st_log *log = st_env_log(env, 0);
	uint64_t seq = 0;
	for (unsigned i = 0; i < w->n; i++)
		while (st_log_push(log, &w->recs[i], &seq) == -ENOBUFS)
			t_nap();
	for (unsigned waited = 0; w->n > 0 && st_log_durable(log) <= seq; waited++) {
		if (waited > T_WAIT_MS)
			return 6;
		t_nap();
	}
	if (st_writer_stop(env) != 0)
		return 7;
	st_env_close(env);
	return 0;
}

/* Run t_child in a forked process and assert it exited 0. */
static void t_write_child(const char *dir, const struct t_write *w)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(t_child(dir, w));
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Append a raw value under the next log key (a garbage batch) with plain LMDB,
 * in a child. */
static int t_raw_child(const char *dir, const void *val, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t key = 1;
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_set_mapsize(env, 1ull << 30) ||
	    mdb_env_open(env, dir, 0, 0640))
		return 2;
	if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "log", MDB_INTEGERKEY, &dbi) ||
	    mdb_cursor_open(txn, dbi, &cur))
		return 3;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
		memcpy(&key, k.mv_data, sizeof(key)), key++;
	mdb_cursor_close(cur);
	k.mv_size = sizeof(key);
	k.mv_data = &key;
	v.mv_size = len;
	v.mv_data = (void *)val;
	if (mdb_put(txn, dbi, &k, &v, MDB_APPEND) || mdb_txn_commit(txn))
		return 4;
	mdb_env_close(env);
	return 0;
}

/* Run t_raw_child in a forked process and assert it exited 0. */
static void t_write_raw(const char *dir, const void *val, size_t len)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(t_raw_child(dir, val, len));
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- fixture ----------------------------------------------------------------- */

/* nftw callback: remove one entry. */
static int t_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* A fresh temp directory per test. */
static int t_setup(void **state)
{
	struct t_fix *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	memcpy(f->dir, T_DIR_TEMPLATE, sizeof(T_DIR_TEMPLATE));
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Close the ledger (if open) and remove the directory. */
static int t_teardown(void **state)
{
	struct t_fix *f = *state;
	ctl_ledger_close(f->l);
	nftw(f->dir, t_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Open the ledger or fail the test with its message. */
static void t_open(struct t_fix *f)
{
	int rc = ctl_ledger_open(f->dir, &f->l, f->err, sizeof(f->err));
	if (rc != 0)
		fail_msg("ctl_ledger_open: %d %s", rc, f->err);
}

/* Follow, failing the test on an error; the records applied. */
static long long t_follow(struct t_fix *f)
{
	long long n = ctl_ledger_follow(f->l, f->err, sizeof(f->err));
	if (n < 0)
		fail_msg("ctl_ledger_follow: %lld %s", n, f->err);
	return n;
}

struct t_ids {
	uint64_t ids[T_HOLDS_MAX];
	struct ctl_hold holds[T_HOLDS_MAX];
	unsigned n;
};

/* ctl_ledger_holds callback: keep ids and copies in a struct t_ids. */
static int t_collect(void *ctx, const struct ctl_hold *h)
{
	struct t_ids *c = ctx;
	if (c->n == T_HOLDS_MAX)
		return -1;
	c->holds[c->n] = *h;
	c->ids[c->n++] = h->hold_id;
	return 0;
}

/* Live holds matching (event, part, older_than_ms) at T_NOW_MS. */
static struct t_ids t_live(struct t_fix *f, uint32_t event, uint32_t part, uint64_t older_than_ms)
{
	struct t_ids c;
	memset(&c, 0, sizeof(c));
	struct ctl_hold_filter flt = {event, part, older_than_ms, T_NOW_MS};
	assert_int_equal(ctl_ledger_holds(f->l, &flt, t_collect, &c), 0);
	return c;
}

struct t_rows {
	struct ctl_export_row rows[T_HOLDS_MAX];
	char row_labels[T_HOLDS_MAX][8];
	char tier_names[T_HOLDS_MAX][48];
	char part_names[T_HOLDS_MAX][48];
	unsigned n;
};

/* ctl_ledger_export callback: keep rows and copies of their strings. */
static int t_collect_row(void *ctx, const struct ctl_export_row *r)
{
	struct t_rows *c = ctx;
	if (c->n == T_HOLDS_MAX)
		return -1;
	c->rows[c->n] = *r;
	snprintf(c->row_labels[c->n], 8, "%s", r->row ? r->row : "(null)");
	snprintf(c->tier_names[c->n], 48, "%s", r->tier_name ? r->tier_name : "(null)");
	snprintf(c->part_names[c->n], 48, "%s", r->part_name ? r->part_name : "(null)");
	c->n++;
	return 0;
}

/* ---- the scenario most tests share -------------------------------------------- */

#define H_ORDERED 0x0000000100000001ull  /* arena floor seats 0,1; confirmed (order 777) */
#define H_DUE 0x0000000200000001ull      /* arena GA serials 5,6,7; expired clock-wise, still live */
#define H_THEATRE 0x0000000300000001ull  /* theatre dress seat 1; live, not due */
#define H_RELEASED 0x0000000400000001ull /* arena floor seat 3; released */
#define ORDER_ID 777ull

/* Events plus six records: H_ORDERED held and confirmed, H_DUE and H_THEATRE
 * live, H_RELEASED held and released. */
static void t_scenario(struct t_write *w)
{
	memset(w, 0, sizeof(*w));
	w->events = 1;
	uint32_t floor01[] = {0, 1}, ga[] = {5, 6, 7}, dress1[] = {1}, floor3[] = {3};
	w->recs[w->n++] = t_hold(H_ORDERED, T_EV_ARENA, T_PART_FLOOR, ST_KIND_SEAT, 41, T_NOW_MS - 5000,
				 T_NOW_MS + 100000, 2, floor01);
	w->recs[w->n++] = t_hold(H_DUE, T_EV_ARENA, T_PART_STANDING, ST_KIND_GA, 42, T_NOW_MS - 600000,
				 T_NOW_MS - 1000, 3, ga);
	w->recs[w->n++] = t_hold(H_THEATRE, T_EV_THEATRE, T_PART_DRESS, ST_KIND_SEAT, 43, T_NOW_MS - 10,
				 T_NOW_MS + 5000, 1, dress1);
	w->recs[w->n++] = t_hold(H_RELEASED, T_EV_ARENA, T_PART_FLOOR, ST_KIND_SEAT, 44, T_NOW_MS - 20,
				 T_NOW_MS + 5000, 1, floor3);
	w->recs[w->n] = t_end(ST_REC_CONFIRM, &w->recs[0], T_NOW_MS - 100, ORDER_ID);
	w->n++;
	w->recs[w->n] = t_end(ST_REC_RELEASE, &w->recs[3], T_NOW_MS - 50, 0);
	w->n++;
}

/* ---- tests ------------------------------------------------------------------------ */

/* An empty directory: -ENOENT naming data.mdb, nothing open. */
static void t_open_missing(void **state)
{
	struct t_fix *f = *state;
	assert_int_equal(ctl_ledger_open(f->dir, &f->l, f->err, sizeof(f->err)), -ENOENT);
	assert_null(f->l);
	assert_non_null(strstr(f->err, "data.mdb"));
}

/* Live holds, each filter, due holds and their retry interval, stats. */
static void t_live_filters_due(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	t_scenario(&w);
	t_write_child(f->dir, &w);
	t_open(f);
	assert_int_equal(ctl_ledger_refresh_events(f->l, f->err, sizeof(f->err)), 2);
	assert_int_equal(t_follow(f), 6);
	assert_int_equal(t_follow(f), 0);

	struct t_ids all = t_live(f, 0, 0, 0);
	assert_int_equal(all.n, 2);
	assert_true(all.ids[0] == H_DUE && all.ids[1] == H_THEATRE); /* oldest first */
	const struct ctl_hold *h = &all.holds[0];
	assert_int_equal(h->event_id, T_EV_ARENA);
	assert_int_equal(h->part_id, T_PART_STANDING);
	assert_int_equal(h->kind, ST_KIND_GA);
	assert_int_equal(h->client_id, 42);
	assert_int_equal(h->n_items, 3);
	assert_int_equal(h->items[2], 7);
	assert_true(h->created_ms == T_NOW_MS - 600000 && h->expiry_ms == T_NOW_MS - 1000);

	struct t_ids ev1 = t_live(f, T_EV_ARENA, 0, 0);
	assert_int_equal(ev1.n, 1);
	assert_true(ev1.ids[0] == H_DUE);
	struct t_ids dress = t_live(f, T_EV_THEATRE, T_PART_DRESS, 0);
	assert_int_equal(dress.n, 1);
	assert_true(dress.ids[0] == H_THEATRE);
	assert_int_equal(t_live(f, T_EV_THEATRE, T_PART_FLOOR, 0).n, 0);
	struct t_ids old = t_live(f, 0, 0, 60000);
	assert_int_equal(old.n, 1);
	assert_true(old.ids[0] == H_DUE);
	assert_false(ctl_ledger_hold_live(f->l, H_ORDERED));
	assert_false(ctl_ledger_hold_live(f->l, H_RELEASED));

	uint64_t ids[8];
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS, ids, 8), 1);
	assert_true(ids[0] == H_DUE);
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS, ids, 8), 0); /* offered: not again at once */
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS + CTL_LEDGER_RETRY_MS - 1, ids, 8), 0);
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS + CTL_LEDGER_RETRY_MS, ids, 8), 1);
	assert_true(ids[0] == H_DUE);
	/* The theatre hold comes due at its expiry, together with the retry. */
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS + 5000, ids, 8), 2);

	struct ctl_ledger_stats st;
	ctl_ledger_stats(f->l, &st);
	assert_int_equal(st.records, 6);
	assert_int_equal(st.holds_live, 2);
	assert_int_equal(st.orders, 1);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.ended_unknown, 0);
	assert_string_equal(ctl_ledger_part_name(f->l, T_EV_ARENA, T_PART_STANDING), "Standing");
	assert_null(ctl_ledger_part_name(f->l, T_EV_ARENA, 99));
}

/* Export rows of a confirmed seat hold: rows, seat numbers, tiers, prices. */
static void t_export_rows(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	t_scenario(&w);
	t_write_child(f->dir, &w);
	t_open(f);
	assert_int_equal(ctl_ledger_refresh_events(f->l, f->err, sizeof(f->err)), 2);
	t_follow(f);
	struct t_rows r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ctl_ledger_export(f->l, 0, t_collect_row, &r), 0);
	assert_int_equal(r.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		const struct ctl_export_row *x = &r.rows[i];
		assert_true(x->order_id == ORDER_ID && x->hold_id == H_ORDERED);
		assert_int_equal(x->client_id, 41);
		assert_true(x->time_ms == T_NOW_MS - 100);
		assert_int_equal(x->event_id, T_EV_ARENA);
		assert_int_equal(x->part_id, T_PART_FLOOR);
		assert_int_equal(x->kind, ST_KIND_SEAT);
		assert_string_equal(r.part_names[i], "Floor");
		assert_string_equal(r.row_labels[i], "A");
		assert_int_equal(x->seat, i + 1);
		assert_true(x->tier_known && x->item_known);
		assert_int_equal(x->tier, 1);
		assert_string_equal(r.tier_names[i], "Stalls");
		assert_int_equal(x->price_cents, 4500);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(ctl_ledger_export(f->l, T_EV_THEATRE, t_collect_row, &r), 0);
	assert_int_equal(r.n, 0);
}

/* A second writer session is picked up by the next follow only. */
static void t_incremental(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	t_scenario(&w);
	t_write_child(f->dir, &w);
	t_open(f);
	assert_int_equal(ctl_ledger_refresh_events(f->l, f->err, sizeof(f->err)), 2);
	assert_int_equal(t_follow(f), 6);

	/* A second writer session: expire the due hold, hold and confirm GA, and
	 * an end of a hold never seen. */
	struct t_write w2;
	memset(&w2, 0, sizeof(w2));
	uint32_t serials[] = {98, 99};
	struct st_record due = t_hold(H_DUE, T_EV_ARENA, T_PART_STANDING, ST_KIND_GA, 42, 0, T_NOW_MS - 1000, 0, NULL);
	w2.recs[w2.n++] = t_end(ST_REC_EXPIRE, &due, T_NOW_MS + 1, 0);
	w2.recs[w2.n++] = t_hold(0x500000001ull, T_EV_ARENA, T_PART_STANDING, ST_KIND_GA, 45, T_NOW_MS,
				 T_NOW_MS + 600000, 2, serials);
	w2.recs[w2.n] = t_end(ST_REC_CONFIRM, &w2.recs[1], T_NOW_MS + 2, 778);
	w2.n++;
	struct st_record ghost = t_hold(0x600000001ull, T_EV_ARENA, T_PART_FLOOR, ST_KIND_SEAT, 46, 0, 0, 0, NULL);
	w2.recs[w2.n++] = t_end(ST_REC_RELEASE, &ghost, T_NOW_MS + 3, 0);
	t_write_child(f->dir, &w2);

	assert_int_equal(t_follow(f), 4);
	struct t_ids all = t_live(f, 0, 0, 0);
	assert_int_equal(all.n, 1);
	assert_true(all.ids[0] == H_THEATRE);
	uint64_t ids[4];
	assert_int_equal(ctl_ledger_due(f->l, T_NOW_MS + 1000, ids, 4), 0); /* the expired one is gone */

	struct t_rows r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(ctl_ledger_export(f->l, T_EV_ARENA, t_collect_row, &r), 0);
	assert_int_equal(r.n, 4);
	for (unsigned i = 2; i < 4; i++) {
		const struct ctl_export_row *x = &r.rows[i];
		assert_true(x->order_id == 778);
		assert_int_equal(x->kind, ST_KIND_GA);
		assert_int_equal(x->serial, 96 + i);
		assert_string_equal(r.row_labels[i], "(null)");
		assert_string_equal(r.part_names[i], "Standing");
		assert_int_equal(x->tier, 2);
		assert_string_equal(r.tier_names[i], "Circle");
		assert_int_equal(x->price_cents, 3000);
	}
	struct ctl_ledger_stats st;
	ctl_ledger_stats(f->l, &st);
	assert_int_equal(st.ended_unknown, 1);
	assert_int_equal(st.records, 10);
}

/* Distinct buyers with an order since a time, per event (waiting-room pacing). */
static void t_buyers_since(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	memset(&w, 0, sizeof(w));
	w.events = 1;
	/* client 41 orders twice, 42 once (arena); 43 once (theatre); 44 orders
	 * long before (arena). Times: 44 at -60 s, others at -3 s .. -1 s. */
	static const struct {
		uint64_t client;
		uint32_t event;
		uint64_t age_ms;
	} o[] = {{44, T_EV_ARENA, 60000}, {41, T_EV_ARENA, 3000}, {42, T_EV_ARENA, 2000},
		 {41, T_EV_ARENA, 1500}, {43, T_EV_THEATRE, 1000}};
	for (unsigned i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
		uint32_t part = o[i].event == T_EV_ARENA ? T_PART_FLOOR : T_PART_DRESS;
		uint32_t item = i % 2;
		struct st_record h = t_hold(((uint64_t)(i + 1) << 32) | 1u, o[i].event, part, ST_KIND_SEAT, o[i].client,
					    T_NOW_MS - o[i].age_ms - 10, T_NOW_MS + 600000, 1, &item);
		w.recs[w.n++] = h;
		w.recs[w.n++] = t_end(ST_REC_CONFIRM, &h, T_NOW_MS - o[i].age_ms, 900 + i);
	}
	t_write_child(f->dir, &w);
	t_open(f);
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_ARENA, 0), 0); /* nothing followed yet */
	assert_int_equal(t_follow(f), 10);
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_ARENA, T_NOW_MS - 5000), 2);  /* 41 once, 42 */
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_ARENA, T_NOW_MS - 1800), 1);  /* 41's second */
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_ARENA, T_NOW_MS - 100000), 3); /* and 44 */
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_ARENA, T_NOW_MS), 0);
	assert_int_equal(ctl_ledger_buyers_since(f->l, T_EV_THEATRE, T_NOW_MS - 5000), 1);
	assert_int_equal(ctl_ledger_buyers_since(f->l, 0, 0), -EINVAL);
	assert_int_equal(ctl_ledger_buyers_since(NULL, T_EV_ARENA, 0), -EINVAL);
}

/* A garbage definition: -EINVAL naming the event; the old one stays. */
static void t_garbage_event(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	t_scenario(&w);
	t_write_child(f->dir, &w);
	t_open(f);
	assert_int_equal(ctl_ledger_refresh_events(f->l, f->err, sizeof(f->err)), 2);
	struct t_write g;
	memset(&g, 0, sizeof(g));
	g.events = 2;
	t_write_child(f->dir, &g);
	f->err[0] = '\0';
	assert_int_equal(ctl_ledger_refresh_events(f->l, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "event 1: definition (8 bytes) does not decode"));
	/* The previous definition stays; the other event is still there. */
	const struct dp_event_def *def = ctl_ledger_event(f->l, T_EV_ARENA);
	assert_non_null(def);
	assert_string_equal(def->name, "Arena");
	assert_non_null(ctl_ledger_event(f->l, T_EV_THEATRE));
}

/* A garbage batch: MDB_CORRUPTED naming its key, nothing of it applied. */
static void t_garbage_batch(void **state)
{
	struct t_fix *f = *state;
	struct t_write w;
	t_scenario(&w);
	t_write_child(f->dir, &w);
	/* A batch holding one good HOLD then a truncated record. */
	unsigned char bad[ST_RECORD_HEAD_SIZE + 4 + 20];
	uint32_t item[] = {2};
	struct st_record good = t_hold(0x700000001ull, T_EV_ARENA, T_PART_FLOOR, ST_KIND_SEAT, 47, T_NOW_MS,
				       T_NOW_MS - 1, 1, item);
	memcpy(bad, &good, ST_RECORD_HEAD_SIZE);
	memcpy(bad + ST_RECORD_HEAD_SIZE, item, 4);
	memset(bad + ST_RECORD_HEAD_SIZE + 4, 0xff, 20);
	t_write_raw(f->dir, bad, sizeof(bad));
	t_open(f);
	long long n = ctl_ledger_follow(f->l, f->err, sizeof(f->err));
	assert_int_equal(n, MDB_CORRUPTED);
	assert_non_null(strstr(f->err, "log batch 2 (128 bytes): record 2 does not decode"));
	struct ctl_ledger_stats st;
	ctl_ledger_stats(f->l, &st);
	assert_int_equal(st.records, 6); /* the first batch only */
	assert_int_equal(st.last_batch, 1);
	assert_false(ctl_ledger_hold_live(f->l, 0x700000001ull));
	/* Stuck there, the same error again, nothing more applied. */
	assert_int_equal(ctl_ledger_follow(f->l, f->err, sizeof(f->err)), MDB_CORRUPTED);
	ctl_ledger_stats(f->l, &st);
	assert_int_equal(st.records, 6);
	/* Pure noise is refused the same way. */
	ctl_ledger_close(f->l);
	f->l = NULL;
	char noise[7] = "\x09garbag";
	t_write_raw(f->dir, noise, sizeof(noise));
	t_open(f);
	assert_int_equal(ctl_ledger_follow(f->l, f->err, sizeof(f->err)), MDB_CORRUPTED);
	assert_non_null(strstr(f->err, "log batch 2"));
}

/* Run the ledger tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_open_missing, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_live_filters_due, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_export_rows, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_incremental, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_garbage_event, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_garbage_batch, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_buyers_since, t_setup, t_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
