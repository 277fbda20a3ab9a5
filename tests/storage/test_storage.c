/*
 * test_storage.c - cmocka tests of storage/: push, group commit, durability
 * counters, barriers, back-pressure, failure, meta checks, events, replay and
 * the batch decoder.
 */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "storage/st.h"

#define T_DIR_TEMPLATE "/tmp/st_test_XXXXXX"
#define T_WAIT_NS_MAX (20ull * 1000000000ull)
#define T_NAP_NS 100000l
#define T_SETTLE_NS 50000000l
#define T_RECORDS_MAX 200000
#define T_MAP_SMALL_BYTES (1ull << 20)
#define T_MAP_FULL_PUSHES_MAX 1000000u

/* ---- helpers ---------------------------------------------------------- */

struct t_fixture {
	char dir[sizeof(T_DIR_TEMPLATE)];
	struct st_options opts;
	struct st_env *env;
};

static void t_nap(long ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000l, .tv_nsec = ns % 1000000000l};
	nanosleep(&ts, NULL);
}

static uint64_t t_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int t_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int t_setup(void **state)
{
	struct t_fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	memcpy(f->dir, T_DIR_TEMPLATE, sizeof(T_DIR_TEMPLATE));
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->opts.dir = f->dir;
	f->opts.nosync = true;
	f->opts.workers = 1;
	*state = f;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_fixture *f = *state;
	if (f->env != NULL) {
		st_writer_stop(f->env);
		st_env_close(f->env);
	}
	nftw(f->dir, t_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void t_open(struct t_fixture *f)
{
	assert_null(f->env);
	int rc = st_env_open(&f->opts, &f->env);
	if (rc != 0)
		fail_msg("st_env_open: %d %s", rc, st_strerror(rc));
	assert_non_null(f->env);
}

static void t_close(struct t_fixture *f)
{
	st_env_close(f->env);
	f->env = NULL;
}

static struct st_record t_rec(unsigned worker, uint64_t id, unsigned n_items)
{
	struct st_record r;
	memset(&r, 0, sizeof(r));
	r.type = (uint8_t)(ST_REC_HOLD + id % 4);
	r.worker = (uint8_t)worker;
	r.kind = (uint8_t)(id % 2 ? ST_KIND_GA : ST_KIND_SEAT);
	r.n_items = (uint8_t)n_items;
	r.event_id = 7;
	r.part_id = (uint32_t)(worker * 100 + 1);
	r.hold_id = id * 31 + worker;
	r.client_id = 1000 + worker;
	r.request_id = id;
	r.fingerprint = id ^ 0xabcdefull;
	r.time_ms = 1700000000000ull + id;
	r.expiry_ms = r.time_ms + 600000;
	r.order_id = id * 7;
	for (unsigned i = 0; i < ST_PAYMENT_REF_SIZE; i++)
		r.payment_ref[i] = (uint8_t)(id + i);
	for (unsigned i = 0; i < n_items; i++)
		r.items[i] = (uint32_t)(id * 16 + i);
	return r;
}

static struct st_record t_barrier(unsigned worker, unsigned dep_worker, uint64_t dep_seq)
{
	struct st_record r;
	memset(&r, 0, sizeof(r));
	r.type = ST_REC_BARRIER;
	r.worker = (uint8_t)worker;
	r.hold_id = dep_worker;
	r.order_id = dep_seq;
	return r;
}

/* Push, waiting while the ring is full. Returns the seq. */
static uint64_t t_push(struct st_log *log, const struct st_record *r)
{
	uint64_t seq = UINT64_MAX;
	int rc;
	while ((rc = st_log_push(log, r, &seq)) == -ENOBUFS)
		t_nap(T_NAP_NS);
	assert_int_equal(rc, 0);
	return seq;
}

static void t_wait_durable(struct st_log *log, uint64_t target)
{
	uint64_t t0 = t_now_ns();
	while (st_log_durable(log) < target) {
		if (t_now_ns() - t0 > T_WAIT_NS_MAX)
			fail_msg("durable stuck at %llu < %llu", (unsigned long long)st_log_durable(log),
				 (unsigned long long)target);
		t_nap(T_NAP_NS);
	}
}

/* Replay collector. */
struct t_replay {
	struct st_record *recs;
	size_t n;
	size_t cap;
};

static int t_collect(void *ctx, const struct st_record *rec)
{
	struct t_replay *r = ctx;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct st_record *p = realloc(r->recs, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		r->recs = p;
		r->cap = cap;
	}
	r->recs[r->n++] = *rec;
	return 0;
}

static int t_replay_all(struct st_env *env, struct t_replay *out)
{
	memset(out, 0, sizeof(*out));
	return st_env_replay(env, t_collect, out);
}

static void t_replay_free(struct t_replay *r)
{
	free(r->recs);
	memset(r, 0, sizeof(*r));
}

static void t_assert_rec_equal(const struct st_record *a, const struct st_record *b)
{
	assert_memory_equal(a, b, st_record_encoded_size(a));
	assert_int_equal(a->n_items, b->n_items);
}

static size_t t_count_worker(const struct t_replay *r, unsigned worker)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->recs[i].worker == worker;
	return n;
}

/* Write one raw value into `log` directly with LMDB, bypassing storage. */
static void t_raw_log_put(const char *dir, uint64_t key, const void *val, size_t len)
{
	MDB_env *menv;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&menv), 0);
	assert_int_equal(mdb_env_set_maxdbs(menv, 8), 0);
	assert_int_equal(mdb_env_open(menv, dir, MDB_NOTLS, 0640), 0);
	assert_int_equal(mdb_txn_begin(menv, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "log", MDB_CREATE | MDB_INTEGERKEY, &dbi), 0);
	MDB_val k = {.mv_size = sizeof(key), .mv_data = &key};
	MDB_val v = {.mv_size = len, .mv_data = (void *)val};
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(menv);
}

static void t_raw_meta_put_u32(const char *dir, const char *key, uint32_t value)
{
	MDB_env *menv;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&menv), 0);
	assert_int_equal(mdb_env_set_maxdbs(menv, 8), 0);
	assert_int_equal(mdb_env_open(menv, dir, MDB_NOTLS, 0640), 0);
	assert_int_equal(mdb_txn_begin(menv, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
	MDB_val v = {.mv_size = sizeof(value), .mv_data = &value};
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(menv);
}

/* ---- tests ------------------------------------------------------------ */

/* Several workers, records of every size, small batches; per-worker order and
 * content survive commit, replay and a reopen. Full sync. */
static void test_round_trip(void **state)
{
	struct t_fixture *f = *state;
	enum { WORKERS = 3, FIRST = 200, MORE = 800 };
	f->opts.workers = WORKERS;
	f->opts.nosync = false;
	f->opts.ring_size = 256;
	f->opts.batch_records_max = 64;
	t_open(f);

	/* First wave with the writer stopped, so batches hold many records. */
	for (uint64_t i = 0; i < FIRST; i++)
		for (unsigned w = 0; w < WORKERS; w++) {
			struct st_record r = t_rec(w, i, (unsigned)((i + w) % (ST_HOLD_ITEMS_MAX + 1)));
			assert_int_equal(t_push(st_env_log(f->env, w), &r), i);
		}
	assert_int_equal(st_writer_start(f->env), 0);
	for (uint64_t i = FIRST; i < FIRST + MORE; i++)
		for (unsigned w = 0; w < WORKERS; w++) {
			struct st_record r = t_rec(w, i, (unsigned)((i + w) % (ST_HOLD_ITEMS_MAX + 1)));
			assert_int_equal(t_push(st_env_log(f->env, w), &r), i);
		}
	for (unsigned w = 0; w < WORKERS; w++) {
		t_wait_durable(st_env_log(f->env, w), FIRST + MORE);
		assert_int_equal(st_log_pushed(st_env_log(f->env, w)), FIRST + MORE);
	}
	assert_int_equal(st_writer_stop(f->env), 0);

	struct st_stats s;
	st_env_stats(f->env, &s);
	assert_int_equal(s.records, WORKERS * (FIRST + MORE));
	assert_true(s.batches >= WORKERS * (FIRST + MORE) / 64);
	assert_int_equal(s.batch_records_max, 64);
	assert_true(s.bytes > s.records * 104);
	assert_true(s.commit_ns_total >= s.commit_ns_max && s.commit_ns_max > 0);

	for (int pass = 0; pass < 2; pass++) {
		struct t_replay rp;
		assert_int_equal(t_replay_all(f->env, &rp), 0);
		assert_int_equal(rp.n, WORKERS * (FIRST + MORE));
		uint64_t next[WORKERS] = {0};
		for (size_t i = 0; i < rp.n; i++) {
			const struct st_record *got = &rp.recs[i];
			assert_true(got->worker < WORKERS);
			uint64_t id = next[got->worker]++;
			struct st_record want = t_rec(got->worker, id,
						      (unsigned)((id + got->worker) % (ST_HOLD_ITEMS_MAX + 1)));
			t_assert_rec_equal(got, &want);
		}
		t_replay_free(&rp);
		t_close(f);
		t_open(f);
	}
}

/* Nothing is durable before the writer commits it. */
static void test_durable_after_commit(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 2;
	t_open(f);
	struct st_log *log = st_env_log(f->env, 1);
	for (uint64_t i = 0; i < 10; i++) {
		struct st_record r = t_rec(1, i, 1);
		assert_int_equal(t_push(log, &r), i);
	}
	assert_int_equal(st_log_pushed(log), 10);
	t_nap(T_SETTLE_NS);
	assert_int_equal(st_log_durable(log), 0);
	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 0);
	t_replay_free(&rp);

	assert_int_equal(st_writer_start(f->env), 0);
	assert_int_equal(st_writer_start(f->env), -EALREADY);
	t_wait_durable(log, 10);
	assert_int_equal(st_writer_stop(f->env), 0);
	assert_int_equal(st_writer_stop(f->env), -EALREADY);
	assert_int_equal(st_log_durable(log), 10);
	assert_int_equal(st_log_durable(st_env_log(f->env, 0)), 0);
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 10);
	t_replay_free(&rp);
}

struct t_pusher {
	struct st_log *log;
	unsigned worker;
	uint64_t n;
};

static void *t_pusher_main(void *arg)
{
	struct t_pusher *p = arg;
	for (uint64_t i = 0; i < p->n; i++) {
		struct st_record r = t_rec(p->worker, i, (unsigned)(i % 3));
		uint64_t seq;
		int rc;
		while ((rc = st_log_push(p->log, &r, &seq)) == -ENOBUFS)
			;
		if (rc != 0 || seq != i)
			abort();
	}
	return NULL;
}

/* While the writer runs, whatever a worker sees as durable is in a replay. */
static void test_durable_implies_replayable(void **state)
{
	struct t_fixture *f = *state;
	f->opts.ring_size = 1024;
	f->opts.batch_records_max = 128;
	t_open(f);
	struct st_log *log = st_env_log(f->env, 0);
	assert_int_equal(st_writer_start(f->env), 0);
	struct t_pusher p = {.log = log, .worker = 0, .n = 50000};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, t_pusher_main, &p), 0);
	unsigned checks = 0;
	uint64_t durable;
	do {
		durable = st_log_durable(log);
		assert_true(durable <= st_log_pushed(log));
		struct t_replay rp;
		assert_int_equal(t_replay_all(f->env, &rp), 0);
		assert_true(rp.n >= durable);
		t_replay_free(&rp);
		checks++;
	} while (durable < p.n);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(st_writer_stop(f->env), 0);
	assert_true(checks > 1);
}

/* A barrier really holds back the records behind it until its dependency's
 * records have been taken, even if those are pushed later. */
static void test_barrier_blocks(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 2;
	t_open(f);
	struct st_log *w0 = st_env_log(f->env, 0);
	struct st_log *w1 = st_env_log(f->env, 1);

	struct st_record r = t_rec(1, 100, 1);
	assert_int_equal(t_push(w1, &r), 0);
	r = t_barrier(1, 0, 5);
	assert_int_equal(t_push(w1, &r), 1);
	r = t_rec(1, 101, 2);
	assert_int_equal(t_push(w1, &r), 2);
	r = t_rec(1, 102, 3);
	assert_int_equal(t_push(w1, &r), 3);
	for (uint64_t i = 0; i < 2; i++) {
		r = t_rec(0, i, 1);
		assert_int_equal(t_push(w0, &r), i);
	}

	assert_int_equal(st_writer_start(f->env), 0);
	t_wait_durable(w0, 2);
	t_wait_durable(w1, 1);
	t_nap(T_SETTLE_NS);
	assert_int_equal(st_log_durable(w1), 1); /* blocked at the barrier */
	assert_int_equal(st_log_durable(w0), 2);

	for (uint64_t i = 2; i < 6; i++) {
		r = t_rec(0, i, 1);
		assert_int_equal(t_push(w0, &r), i);
	}
	t_wait_durable(w0, 6);
	t_wait_durable(w1, 4);
	assert_int_equal(st_writer_stop(f->env), 0);

	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 9); /* the barrier is never stored */
	size_t seen0 = 0;
	for (size_t i = 0; i < rp.n; i++) {
		assert_int_not_equal(rp.recs[i].type, ST_REC_BARRIER);
		if (rp.recs[i].worker == 0)
			seen0++;
		else if (rp.recs[i].request_id >= 101)
			assert_true(seen0 >= 5);
	}
	t_replay_free(&rp);
}

struct t_barrier_pusher {
	struct st_log *log;
	struct st_log *dep_log;
	uint64_t n;
};

/* Worker 1: records whose fingerprint names the dep seq of the barrier in front. */
static void *t_barrier_pusher_main(void *arg)
{
	struct t_barrier_pusher *p = arg;
	uint64_t dep = 0;
	for (uint64_t i = 0; i < p->n; i++) {
		if (i % 10 == 0) {
			/* Often ahead of what worker 0 has pushed so far. */
			dep = st_log_pushed(p->dep_log) + (i % 70);
			if (dep > p->n)
				dep = p->n;
			struct st_record b = t_barrier(1, 0, dep);
			uint64_t seq;
			while (st_log_push(p->log, &b, &seq) == -ENOBUFS)
				;
		}
		struct st_record r = t_rec(1, i, 1);
		r.fingerprint = dep;
		uint64_t seq;
		int rc;
		while ((rc = st_log_push(p->log, &r, &seq)) == -ENOBUFS)
			;
		if (rc != 0)
			abort();
	}
	return NULL;
}

/* Two threads racing, barriers often ahead of their dependency. */
static void test_barrier_stress(void **state)
{
	struct t_fixture *f = *state;
	enum { N = 20000 };
	f->opts.workers = 2;
	f->opts.ring_size = 512;
	f->opts.batch_records_max = 100;
	t_open(f);
	assert_int_equal(st_writer_start(f->env), 0);
	struct t_pusher p0 = {.log = st_env_log(f->env, 0), .worker = 0, .n = N};
	struct t_barrier_pusher p1 = {
		.log = st_env_log(f->env, 1), .dep_log = st_env_log(f->env, 0), .n = N};
	pthread_t th0, th1;
	assert_int_equal(pthread_create(&th1, NULL, t_barrier_pusher_main, &p1), 0);
	assert_int_equal(pthread_create(&th0, NULL, t_pusher_main, &p0), 0);
	assert_int_equal(pthread_join(th0, NULL), 0);
	assert_int_equal(pthread_join(th1, NULL), 0);
	assert_int_equal(st_writer_stop(f->env), 0);
	assert_int_equal(st_log_durable(st_env_log(f->env, 0)), N);
	assert_int_equal(st_log_durable(st_env_log(f->env, 1)), st_log_pushed(st_env_log(f->env, 1)));

	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 2 * N);
	uint64_t seen0 = 0, next1 = 0;
	for (size_t i = 0; i < rp.n; i++) {
		const struct st_record *r = &rp.recs[i];
		if (r->worker == 0) {
			assert_int_equal(r->request_id, seen0);
			seen0++;
		} else {
			assert_int_equal(r->request_id, next1);
			next1++;
			assert_true(seen0 >= r->fingerprint);
		}
	}
	t_replay_free(&rp);
}

/* A full ring refuses with -ENOBUFS and nothing changes. */
static void test_ring_full(void **state)
{
	struct t_fixture *f = *state;
	enum { RING = 8 };
	f->opts.ring_size = RING;
	t_open(f);
	struct st_log *log = st_env_log(f->env, 0);
	assert_int_equal(st_log_free(log), RING);
	for (uint64_t i = 0; i < RING; i++) {
		struct st_record r = t_rec(0, i, 1);
		uint64_t seq = UINT64_MAX;
		assert_int_equal(st_log_push(log, &r, &seq), 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(st_log_free(log), 0);
	struct st_record extra = t_rec(0, 999, 1);
	uint64_t seq = 12345;
	assert_int_equal(st_log_push(log, &extra, &seq), -ENOBUFS);
	assert_int_equal(seq, 12345);
	assert_int_equal(st_log_pushed(log), RING);
	assert_int_equal(st_log_free(log), 0);

	assert_int_equal(st_writer_start(f->env), 0);
	t_wait_durable(log, RING);
	assert_int_equal(st_writer_stop(f->env), 0);
	assert_int_equal(st_log_free(log), RING);
	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, RING);
	for (size_t i = 0; i < rp.n; i++)
		assert_int_equal(rp.recs[i].request_id, i);
	t_replay_free(&rp);
}

/* Map full: the env fails, pushes get -EIO, durable freezes, and everything
 * durable before the failure replays after reopen. */
static void test_map_full(void **state)
{
	struct t_fixture *f = *state;
	f->opts.map_size_bytes = T_MAP_SMALL_BYTES;
	f->opts.ring_size = 1024;
	f->opts.batch_records_max = 256;
	t_open(f);
	struct st_log *log = st_env_log(f->env, 0);
	assert_int_equal(st_writer_start(f->env), 0);
	int rc = 0;
	uint64_t pushed = 0;
	for (unsigned i = 0; i < T_MAP_FULL_PUSHES_MAX; i++) {
		struct st_record r = t_rec(0, pushed, 4);
		uint64_t seq;
		rc = st_log_push(log, &r, &seq);
		if (rc == -ENOBUFS) {
			t_nap(T_NAP_NS);
			continue;
		}
		if (rc != 0)
			break;
		assert_int_equal(seq, pushed);
		pushed++;
	}
	assert_int_equal(rc, -EIO);
	int failed = st_env_failed(f->env);
	assert_int_equal(failed, MDB_MAP_FULL);
	assert_non_null(st_strerror(failed));
	uint64_t durable = st_log_durable(log);
	assert_true(durable > 0 && durable < pushed);
	struct st_record r = t_rec(0, pushed, 1);
	uint64_t seq;
	assert_int_equal(st_log_push(log, &r, &seq), -EIO);
	t_nap(T_SETTLE_NS);
	assert_int_equal(st_log_durable(log), durable);
	assert_int_equal(st_writer_stop(f->env), 0);
	assert_int_equal(st_log_durable(log), durable);
	t_close(f);

	t_open(f);
	assert_int_equal(st_env_failed(f->env), 0);
	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, durable);
	for (size_t i = 0; i < rp.n; i++) {
		struct st_record want = t_rec(0, i, 4);
		t_assert_rec_equal(&rp.recs[i], &want);
	}
	t_replay_free(&rp);
}

/* The worker count and format version are pinned at first open. */
static void test_meta_mismatch(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 2;
	t_open(f);
	t_close(f);

	struct st_env *env = (struct st_env *)0x1;
	f->opts.workers = 3;
	assert_int_equal(st_env_open(&f->opts, &env), -EINVAL);
	assert_null(env);
	f->opts.workers = 2;
	t_open(f);
	assert_null(st_env_log(f->env, 2));
	assert_non_null(st_env_log(f->env, 1));
	t_close(f);

	t_raw_meta_put_u32(f->dir, "format", ST_FORMAT_VERSION + 1);
	assert_int_equal(st_env_open(&f->opts, &env), -EINVAL);
	assert_null(env);
}

/* Options are checked before anything is touched. */
static void test_bad_options(void **state)
{
	struct t_fixture *f = *state;
	struct st_env *env = NULL;
	struct st_options o = f->opts;
	o.workers = 0;
	assert_int_equal(st_env_open(&o, &env), -EINVAL);
	o.workers = ST_WORKERS_MAX + 1;
	assert_int_equal(st_env_open(&o, &env), -EINVAL);
	o = f->opts;
	o.ring_size = 3;
	assert_int_equal(st_env_open(&o, &env), -EINVAL);
	o = f->opts;
	o.dir = NULL;
	assert_int_equal(st_env_open(&o, &env), -EINVAL);
	o = f->opts;
	o.dir = "/nonexistent-st-parent/x";
	assert_int_equal(st_env_open(&o, &env), -ENOENT);
	assert_null(env);
	assert_int_equal(st_env_open(NULL, &env), -EINVAL);
}

struct t_events {
	uint32_t ids[8];
	char blobs[8][32];
	size_t n;
	int stop_after;
};

static int t_event_cb(void *ctx, uint32_t id, const void *blob, size_t len)
{
	struct t_events *e = ctx;
	if (e->n >= 8 || len >= sizeof(e->blobs[0]))
		return -E2BIG;
	e->ids[e->n] = id;
	memcpy(e->blobs[e->n], blob, len);
	e->blobs[e->n][len] = '\0';
	e->n++;
	return (int)e->n == e->stop_after ? 42 : 0;
}

static void test_events(void **state)
{
	struct t_fixture *f = *state;
	t_open(f);
	assert_int_equal(st_env_put_event(f->env, 7, "seven", 5), 0);
	assert_int_equal(st_env_put_event(f->env, 1000, "thousand", 8), 0);
	assert_int_equal(st_env_put_event(f->env, 3, "three", 5), 0);
	assert_int_equal(st_env_put_event(f->env, 7, "SEVEN!", 6), 0);
	assert_int_equal(st_env_put_event(f->env, 9, NULL, 1), -EINVAL);

	struct t_events e = {.stop_after = -1};
	assert_int_equal(st_env_for_each_event(f->env, t_event_cb, &e), 0);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.ids[0], 3);
	assert_string_equal(e.blobs[0], "three");
	assert_int_equal(e.ids[1], 7);
	assert_string_equal(e.blobs[1], "SEVEN!");
	assert_int_equal(e.ids[2], 1000);
	assert_string_equal(e.blobs[2], "thousand");

	memset(&e, 0, sizeof(e));
	e.stop_after = 2;
	assert_int_equal(st_env_for_each_event(f->env, t_event_cb, &e), 42);
	assert_int_equal(e.n, 2);

	assert_int_equal(st_env_del_event(f->env, 3), 0);
	assert_int_equal(st_env_del_event(f->env, 3), -ENOENT);
	t_close(f);
	t_open(f);
	memset(&e, 0, sizeof(e));
	e.stop_after = -1;
	assert_int_equal(st_env_for_each_event(f->env, t_event_cb, &e), 0);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.ids[0], 7);
	assert_int_equal(e.ids[1], 1000);
}

/* Small batch bound: batches are cut at it; barrier-only gathers commit
 * nothing yet make the barrier durable. */
static void test_batch_cut_and_barrier_only(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 2;
	f->opts.ring_size = 16;
	f->opts.batch_records_max = 4;
	t_open(f);
	struct st_log *w0 = st_env_log(f->env, 0);
	struct st_log *w1 = st_env_log(f->env, 1);
	struct st_record b = t_barrier(1, 0, 0);
	assert_int_equal(t_push(w1, &b), 0);
	assert_int_equal(st_writer_start(f->env), 0);
	t_wait_durable(w1, 1);
	struct st_stats s;
	st_env_stats(f->env, &s);
	assert_int_equal(s.batches, 0);
	assert_int_equal(st_writer_stop(f->env), 0);

	for (uint64_t i = 0; i < 10; i++) {
		struct st_record r = t_rec(0, i, 2);
		assert_int_equal(t_push(w0, &r), i);
	}
	assert_int_equal(st_writer_start(f->env), 0);
	t_wait_durable(w0, 10);
	assert_int_equal(st_writer_stop(f->env), 0);
	st_env_stats(f->env, &s);
	assert_int_equal(s.batches, 3);
	assert_int_equal(s.records, 10);
	assert_int_equal(s.batch_records_max, 4);
	assert_int_equal(s.bytes, 10 * (104 + 2 * 4));
}

/* Stop right after a burst: everything pushed becomes durable. */
static void test_stop_drains(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 4;
	f->opts.ring_size = 4096;
	t_open(f);
	assert_int_equal(st_writer_start(f->env), 0);
	for (uint64_t i = 0; i < 4000; i++)
		for (unsigned w = 0; w < 4; w++) {
			struct st_record r = t_rec(w, i, 0);
			t_push(st_env_log(f->env, w), &r);
		}
	assert_int_equal(st_writer_stop(f->env), 0);
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(st_log_durable(st_env_log(f->env, w)), 4000);
	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 16000);
	for (unsigned w = 0; w < 4; w++)
		assert_int_equal(t_count_worker(&rp, w), 4000);
	t_replay_free(&rp);
}

/* The writer stamps the producing worker whatever the record claimed. */
static void test_worker_stamped(void **state)
{
	struct t_fixture *f = *state;
	f->opts.workers = 2;
	t_open(f);
	struct st_record r = t_rec(0, 1, 1); /* claims worker 0 */
	assert_int_equal(t_push(st_env_log(f->env, 1), &r), 0);
	assert_int_equal(st_writer_stop(f->env), -EALREADY);
	assert_int_equal(st_writer_start(f->env), 0);
	assert_int_equal(st_writer_stop(f->env), 0);
	struct t_replay rp;
	assert_int_equal(t_replay_all(f->env, &rp), 0);
	assert_int_equal(rp.n, 1);
	assert_int_equal(rp.recs[0].worker, 1);
	t_replay_free(&rp);
}

static int t_count_cb(void *ctx, const struct st_record *rec)
{
	size_t *n = ctx;
	if (rec->type < ST_REC_HOLD || rec->type > ST_REC_EXPIRE || rec->n_items > ST_HOLD_ITEMS_MAX)
		abort();
	(*n)++;
	return 0;
}

/* A damaged log value gives MDB_CORRUPTED after the good records. */
static void test_replay_corrupt(void **state)
{
	struct t_fixture *f = *state;
	t_open(f);
	for (uint64_t i = 0; i < 5; i++) {
		struct st_record r = t_rec(0, i, 3);
		t_push(st_env_log(f->env, 0), &r);
	}
	assert_int_equal(st_writer_start(f->env), 0);
	assert_int_equal(st_writer_stop(f->env), 0);
	t_close(f);

	struct st_record good = t_rec(0, 50, 2);
	unsigned char buf[2 * sizeof(struct st_record)];
	size_t good_len = st_record_encoded_size(&good);
	memcpy(buf, &good, good_len);
	struct {
		const char *what;
		size_t len;
		unsigned off;
		unsigned char byte;
	} cases[] = {
		{"bad type", 2 * good_len, 0, 9},
		{"barrier stored", 2 * good_len, 0, ST_REC_BARRIER},
		{"bad kind", 2 * good_len, 2, 0},
		{"too many items", 2 * good_len, 3, ST_HOLD_ITEMS_MAX + 1},
		{"items past end", good_len + 104 + 4, 3, 2},
		{"truncated head", good_len + 50, 0, ST_REC_HOLD},
		{"bad worker", 2 * good_len, 1, ST_WORKERS_MAX},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memcpy(buf + good_len, &good, good_len);
		buf[good_len + cases[c].off] = cases[c].byte;
		t_raw_log_put(f->dir, 1000, buf, cases[c].len);
		t_open(f);
		size_t n = 0;
		int rc = st_env_replay(f->env, t_count_cb, &n);
		if (rc != MDB_CORRUPTED)
			fail_msg("%s: replay gave %d", cases[c].what, rc);
		assert_int_equal(n, 5 + 1); /* earlier batch, then the good record */
		t_close(f);
	}
	t_raw_log_put(f->dir, 1000, buf, 0);
	t_open(f);
	size_t n = 0;
	assert_int_equal(st_env_replay(f->env, t_count_cb, &n), MDB_CORRUPTED);
	/* A writer appends after the damaged key, and the env keeps working. */
	struct st_record r = t_rec(0, 77, 1);
	t_push(st_env_log(f->env, 0), &r);
	assert_int_equal(st_writer_start(f->env), 0);
	t_wait_durable(st_env_log(f->env, 0), 1);
	assert_int_equal(st_env_failed(f->env), 0);
}

static int t_stop_cb(void *ctx, const struct st_record *rec)
{
	(void)rec;
	int *left = ctx;
	return --*left == 0 ? 77 : 0;
}

/* Decoder on valid input: every record, in order; a callback can stop it. */
static void test_decode_valid(void **state)
{
	(void)state;
	unsigned char buf[8 * sizeof(struct st_record)];
	size_t len = 0;
	for (unsigned i = 0; i < 8; i++) {
		struct st_record r = t_rec(i % 3, i, i * 2);
		memcpy(buf + len, &r, st_record_encoded_size(&r));
		len += st_record_encoded_size(&r);
	}
	/* Unaligned copy: the decoder must not care. */
	unsigned char *odd = malloc(len + 1);
	assert_non_null(odd);
	memcpy(odd + 1, buf, len);
	struct t_replay rp = {0};
	assert_int_equal(st_decode_batch(odd + 1, len, t_collect, &rp), 0);
	assert_int_equal(rp.n, 8);
	for (unsigned i = 0; i < 8; i++) {
		struct st_record want = t_rec(i % 3, i, i * 2);
		assert_memory_equal(&rp.recs[i], &want, sizeof(want));
	}
	t_replay_free(&rp);
	int left = 3;
	assert_int_equal(st_decode_batch(odd + 1, len, t_stop_cb, &left), 77);
	assert_int_equal(st_decode_batch(NULL, 0, t_stop_cb, &left), 0);
	free(odd);
}

static uint64_t t_rand_state = 0x9e3779b97f4a7c15ull;

static uint64_t t_rand(void)
{
	uint64_t x = t_rand_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t_rand_state = x;
	return x;
}

/* Random and mutated buffers never crash the decoder; it answers 0 or
 * MDB_CORRUPTED and only delivers well-formed records. */
static void test_decode_garbage(void **state)
{
	(void)state;
	enum { ROUNDS = 20000, BUF_MAX = 4096 };
	for (unsigned round = 0; round < ROUNDS; round++) {
		size_t len = t_rand() % BUF_MAX;
		unsigned char *buf = malloc(len ? len : 1);
		assert_non_null(buf);
		if (round % 2) {
			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)t_rand();
		} else {
			/* Valid records, then a few flipped bytes. */
			size_t off = 0;
			while (off < len) {
				struct st_record r = t_rec((unsigned)(t_rand() % 4), t_rand(),
							   (unsigned)(t_rand() % (ST_HOLD_ITEMS_MAX + 1)));
				size_t sz = st_record_encoded_size(&r);
				size_t take = sz < len - off ? sz : len - off;
				memcpy(buf + off, &r, take);
				off += take;
			}
			for (unsigned k = 0; len && k < 3; k++)
				buf[t_rand() % len] = (unsigned char)t_rand();
		}
		size_t n = 0;
		int rc = st_decode_batch(buf, len, t_count_cb, &n);
		if (rc != 0 && rc != MDB_CORRUPTED)
			fail_msg("round %u: %d", round, rc);
		free(buf);
	}
}

static void test_strerror(void **state)
{
	(void)state;
	assert_non_null(st_strerror(0));
	assert_string_equal(st_strerror(-ENOBUFS), strerror(ENOBUFS));
	assert_string_equal(st_strerror(MDB_MAP_FULL), mdb_strerror(MDB_MAP_FULL));
	assert_string_equal(st_strerror(MDB_CORRUPTED), mdb_strerror(MDB_CORRUPTED));
}

/* Presale redemptions seen by t_presale_cb. */
struct t_uses {
	unsigned n, stop_after;
	struct st_presale_use u[8];
};

static int t_presale_cb(void *ctx, const struct st_presale_use *use)
{
	struct t_uses *t = ctx;
	if (t->n < 8)
		t->u[t->n] = *use;
	return ++t->n == t->stop_after ? 42 : 0;
}

static struct st_presale_use t_use(uint32_t ev, const char *code, uint64_t client)
{
	struct st_presale_use u;
	memset(&u, 0, sizeof(u));
	u.event_id = ev;
	u.code_len = (uint8_t)strlen(code);
	memcpy(u.code, code, u.code_len);
	u.client_id = client;
	return u;
}

/* The `presale` and `presale_def` databases: per-event walks in key order,
 * deletes, bad input refused with nothing stored, a corrupt key reported. */
static void test_presale_db(void **state)
{
	struct t_fixture *f = *state;
	t_open(f);
	const struct st_presale_use uses[] = {
		t_use(1, "A", 5), t_use(1, "BB", 1ull << 40), t_use(1, "A", 3), t_use(2, "A", 9),
		t_use(256, "A", 1), t_use(1, "0123456789abcdef0123456789ABCDEF", 7),
	};
	assert_int_equal(st_env_put_presale(f->env, uses, 6), 0);
	assert_int_equal(st_env_put_presale(f->env, uses, 2), 0); /* the same keys again: no duplicates */
	struct t_uses t = {0};
	assert_int_equal(st_env_for_each_presale(f->env, 1, t_presale_cb, &t), 0);
	assert_int_equal(t.n, 4);
	/* key order: code bytes, then the client id big-endian */
	assert_memory_equal(t.u[0].code, "0123456789abcdef0123456789ABCDEF", 32);
	assert_int_equal(t.u[0].code_len, 32);
	assert_int_equal(t.u[1].client_id, 3);
	assert_int_equal(t.u[2].client_id, 5);
	assert_int_equal(t.u[3].client_id, 1ull << 40);
	assert_int_equal(t.u[3].code_len, 2);
	assert_int_equal(t.u[3].event_id, 1);
	t = (struct t_uses){.stop_after = 2};
	assert_int_equal(st_env_for_each_presale(f->env, 1, t_presale_cb, &t), 42);
	/* a bad code length stores nothing, not even the good ones before it */
	struct st_presale_use bad[2] = {t_use(3, "OK", 1), t_use(3, "", 2)};
	assert_int_equal(st_env_put_presale(f->env, bad, 2), -EINVAL);
	bad[1].code_len = 33;
	assert_int_equal(st_env_put_presale(f->env, bad, 2), -EINVAL);
	t = (struct t_uses){0};
	assert_int_equal(st_env_for_each_presale(f->env, 3, t_presale_cb, &t), 0);
	assert_int_equal(t.n, 0);
	/* delete one event's: the others stay */
	assert_int_equal(st_env_del_presale(f->env, 1), 0);
	assert_int_equal(st_env_del_presale(f->env, 1), 0);
	t = (struct t_uses){0};
	assert_int_equal(st_env_for_each_presale(f->env, 1, t_presale_cb, &t), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(st_env_for_each_presale(f->env, 2, t_presale_cb, &t), 0);
	assert_int_equal(st_env_for_each_presale(f->env, 256, t_presale_cb, &t), 0);
	assert_int_equal(t.n, 2);
	/* the windows blob */
	void *blob = NULL;
	size_t len = 0;
	assert_int_equal(st_env_get_presale_def(f->env, 4, &blob, &len), -ENOENT);
	assert_int_equal(st_env_put_presale_def(f->env, 4, "windows", 7), 0);
	assert_int_equal(st_env_get_presale_def(f->env, 4, &blob, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(blob, "windows", 7);
	free(blob);
	assert_int_equal(st_env_del_presale_def(f->env, 4), 0);
	assert_int_equal(st_env_del_presale_def(f->env, 4), -ENOENT);
	t_close(f);
	/* a key that does not decode (no 0 before the client id) */
	MDB_env *e;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&e), 0);
	assert_int_equal(mdb_env_set_maxdbs(e, 8), 0);
	assert_int_equal(mdb_env_open(e, f->dir, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(e, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "presale", 0, &dbi), 0);
	uint8_t k[14] = {0, 0, 0, 2, 'Z', 1, 0, 0, 0, 0, 0, 0, 0, 1};
	MDB_val kv = {.mv_size = sizeof(k), .mv_data = k}, v = {.mv_size = 0, .mv_data = k};
	assert_int_equal(mdb_put(txn, dbi, &kv, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(e);
	t_open(f);
	t = (struct t_uses){0};
	assert_int_equal(st_env_for_each_presale(f->env, 2, t_presale_cb, &t), MDB_CORRUPTED);
	assert_int_equal(st_env_del_presale(f->env, 2), MDB_CORRUPTED);
	assert_int_equal(st_env_put_presale(NULL, uses, 1), -EINVAL);
	assert_int_equal(st_env_for_each_presale(f->env, 2, NULL, NULL), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_durable_after_commit),
		T(test_durable_implies_replayable),
		T(test_barrier_blocks),
		T(test_barrier_stress),
		T(test_ring_full),
		T(test_map_full),
		T(test_meta_mismatch),
		T(test_bad_options),
		T(test_events),
		T(test_presale_db),
		T(test_batch_cut_and_barrier_only),
		T(test_stop_drains),
		T(test_worker_stamped),
		T(test_replay_corrupt),
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
