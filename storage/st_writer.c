/*
 * st_writer.c - the group-commit thread.
 *
 * loop:
 *   gather: pass over every worker ring (zero-copy dequeue), copying encoded
 *     records into one preallocated buffer, honouring BARRIERs, until a pass
 *     moves nothing or the batch is full;
 *   nothing moved: nap ST_WRITER_IDLE_NS and retry;
 *   records gathered: one write transaction, a single MDB_APPEND put of the
 *     whole buffer under the next batch number, commit;
 *   then publish each worker's durable count = records taken from it.
 * The first LMDB error fails the env: durable counts freeze, pushes get -EIO,
 * and the thread idles until stopped.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

#include "storage/st_internal.h"

#define ST_WRITER_ESIZE ((unsigned)sizeof(struct st_record))
#define ST_WRITER_THREAD_NAME "st_writer"
#define ST_NS_PER_S 1000000000ull

struct st_writer {
	struct st_env *env;
	pthread_t thread;
	_Atomic bool stop;
	unsigned char *buf;     /* batch_records_max * sizeof(struct st_record) */
	size_t buf_bytes;
	size_t len;             /* encoded bytes in buf */
	unsigned n_records;     /* records (not barriers) in buf */
};

static uint64_t st_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * ST_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void st_nap(long ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
	nanosleep(&ts, NULL);
}

static const struct st_record *st_zc_at(const struct rte_ring_zc_data *zcd, unsigned i)
{
	if (i < zcd->n1)
		return (const struct st_record *)zcd->ptr1 + i;
	return (const struct st_record *)zcd->ptr2 + (i - zcd->n1);
}

/* May a barrier pass? Only once its dependency has had dep_seq records taken. */
static bool st_barrier_ready(const struct st_writer *w, const struct st_record *rec)
{
	unsigned dep = st_barrier_dep_worker(rec);
	assert(dep < w->env->workers);
	return w->env->logs[dep]->taken >= st_barrier_dep_seq(rec);
}

/*
 * Take what may be taken from one worker's ring into the batch: stop at a
 * barrier that is not ready or when the batch is full. Returns the number of
 * ring entries consumed (records plus barriers).
 */
static unsigned st_take_from(struct st_writer *w, struct st_log *log)
{
	unsigned room = w->env->batch_records_max - w->n_records;
	struct rte_ring_zc_data zcd;
	unsigned n = rte_ring_dequeue_zc_burst_elem_start(log->ring, ST_WRITER_ESIZE, room, &zcd, NULL);
	unsigned k = 0;
	for (; k < n; k++) {
		const struct st_record *rec = st_zc_at(&zcd, k);
		assert(rec->type >= ST_REC_HOLD && rec->type <= ST_REC_BARRIER);
		if (rec->type == ST_REC_BARRIER) {
			if (!st_barrier_ready(w, rec))
				break;
			log->taken++;
			continue;
		}
		assert(rec->n_items <= ST_HOLD_ITEMS_MAX);
		size_t size = st_record_encoded_size(rec);
		assert(w->len + size <= w->buf_bytes);
		unsigned char *dst = w->buf + w->len;
		memcpy(dst, rec, size);
		/* The ring says who produced it; the stored copy agrees. */
		dst[offsetof(struct st_record, worker)] = (unsigned char)log->worker;
		w->len += size;
		w->n_records++;
		log->taken++;
	}
	if (n != 0)
		rte_ring_dequeue_zc_elem_finish(log->ring, k);
	assert(w->n_records <= w->env->batch_records_max);
	return k;
}

/* Passes over all rings while any pass makes progress and room remains.
 * Returns the ring entries consumed in total (0 = nothing to do). */
static unsigned st_gather(struct st_writer *w)
{
	struct st_env *env = w->env;
	unsigned total = 0;
	unsigned moved;
	w->len = 0;
	w->n_records = 0;
	do {
		moved = 0;
		for (unsigned i = 0; i < env->workers && w->n_records < env->batch_records_max; i++)
			moved += st_take_from(w, env->logs[i]);
		total += moved;
	} while (moved != 0 && w->n_records < env->batch_records_max);
	return total;
}

static void st_stats_max(_Atomic uint64_t *slot, uint64_t v)
{
	if (v > atomic_load_explicit(slot, memory_order_relaxed))
		atomic_store_explicit(slot, v, memory_order_relaxed);
}

static void st_stats_add(_Atomic uint64_t *slot, uint64_t v)
{
	/* Single writer: a load and a store, no RMW needed. */
	atomic_store_explicit(slot, atomic_load_explicit(slot, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Append the gathered buffer as the next batch and commit. 0 or an error. */
static int st_commit(struct st_writer *w)
{
	struct st_env *env = w->env;
	assert(w->n_records > 0 && w->len > 0);
	uint64_t t0_ns = st_now_ns();
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	uint64_t key = env->next_batch;
	MDB_val k = {.mv_size = sizeof(key), .mv_data = &key};
	MDB_val v = {.mv_size = w->len, .mv_data = w->buf};
	rc = mdb_put(txn, env->dbi_log, &k, &v, MDB_APPEND);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return st_mdb_err(rc);
	}
	rc = mdb_txn_commit(txn); /* frees txn whatever the outcome */
	if (rc != 0)
		return st_mdb_err(rc);
	uint64_t commit_ns = st_now_ns() - t0_ns;
	env->next_batch = key + 1;

	struct st_stats_atomic *s = &env->stats;
	st_stats_add(&s->batches, 1);
	st_stats_add(&s->records, w->n_records);
	st_stats_add(&s->bytes, w->len);
	st_stats_add(&s->commit_ns_total, commit_ns);
	st_stats_max(&s->commit_ns_max, commit_ns);
	st_stats_max(&s->batch_records_max, w->n_records);
	const uint64_t commit_us = commit_ns / 1000;
	st_stats_add(&s->commit_us[st_hist_bucket(commit_us)], 1);
	st_stats_add(&s->commit_us_sum, commit_us);
	st_stats_add(&s->batch_records[st_hist_bucket(w->n_records)], 1);
	st_stats_add(&s->batch_records_sum, w->n_records);
	return 0;
}

/* Everything taken so far is committed (or was a barrier): publish it. */
static void st_publish_durable(struct st_env *env)
{
	for (unsigned i = 0; i < env->workers; i++) {
		struct st_log *log = env->logs[i];
		assert(log->taken >= atomic_load_explicit(&log->durable, memory_order_relaxed));
		atomic_store_explicit(&log->durable, log->taken, memory_order_release);
	}
}

/* One gather and, if it found records, one commit. Returns whether anything
 * was consumed; on a commit error fails the env. */
static bool st_writer_step(struct st_writer *w)
{
	if (st_gather(w) == 0)
		return false;
	if (w->n_records > 0) {
		int rc = st_commit(w);
		if (rc != 0) {
			st_env_set_failed(w->env, rc);
			return true;
		}
	}
	st_publish_durable(w->env);
	return true;
}

static void *st_writer_main(void *arg)
{
	struct st_writer *w = arg;
	for (;;) {
		/* Read stop before gathering: pushes that preceded stop are seen. */
		bool stopping = atomic_load_explicit(&w->stop, memory_order_acquire);
		if (st_env_failed(w->env) != 0) {
			if (stopping)
				break;
			st_nap(ST_WRITER_FAILED_NAP_NS);
			continue;
		}
		if (st_writer_step(w))
			continue;
		if (stopping)
			break;
		st_nap(ST_WRITER_IDLE_NS);
	}
	return NULL;
}

/*
 * Start the group-commit thread (its batch buffer is allocated here, once).
 * Returns 0, -EALREADY if it runs, -ENOMEM, or a pthread error (negated).
 */
int st_writer_start(struct st_env *env)
{
	if (env == NULL)
		return -EINVAL;
	if (env->writer != NULL)
		return -EALREADY;
	struct st_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->env = env;
	atomic_init(&w->stop, false);
	w->buf_bytes = (size_t)env->batch_records_max * sizeof(struct st_record);
	w->buf = malloc(w->buf_bytes);
	if (w->buf == NULL) {
		free(w);
		return -ENOMEM;
	}
	int rc = pthread_create(&w->thread, NULL, st_writer_main, w);
	if (rc != 0) {
		free(w->buf);
		free(w);
		return -rc;
	}
	pthread_setname_np(w->thread, ST_WRITER_THREAD_NAME);
	env->writer = w;
	return 0;
}

/*
 * Stop the writer: it drains every ring as far as barriers allow, commits,
 * and exits; then join. After a storage failure it exits without writing.
 * Returns 0, -EALREADY when no writer runs, or a pthread error (negated).
 */
int st_writer_stop(struct st_env *env)
{
	if (env == NULL)
		return -EINVAL;
	struct st_writer *w = env->writer;
	if (w == NULL)
		return -EALREADY;
	atomic_store_explicit(&w->stop, true, memory_order_release);
	int rc = pthread_join(w->thread, NULL);
	if (rc != 0)
		return -rc;
	env->writer = NULL;
	free(w->buf);
	free(w);
	return 0;
}
