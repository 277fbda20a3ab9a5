/*
 * st_env.c - opening and closing the LMDB environment: options, the three
 * databases, the meta checks (format version, worker count), the next batch
 * number, the per-worker logs, and the small accessors.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "storage/st_internal.h"

static bool st_is_pow2(unsigned v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Fill env's limits from opts, or -EINVAL. */
static int st_env_apply_options(struct st_env *env, const struct st_options *opts)
{
	if (opts->dir == NULL || opts->dir[0] == '\0')
		return -EINVAL;
	if (opts->workers < 1 || opts->workers > ST_WORKERS_MAX)
		return -EINVAL;
	unsigned ring_size = opts->ring_size ? opts->ring_size : ST_RING_SIZE_DEFAULT;
	if (!st_is_pow2(ring_size) || ring_size > ST_RING_SIZE_MAX)
		return -EINVAL;
	unsigned batch = opts->batch_records_max ? opts->batch_records_max : ST_BATCH_RECORDS_MAX_DEFAULT;
	if (batch > ST_BATCH_RECORDS_LIMIT)
		return -EINVAL;
	env->workers = opts->workers;
	env->ring_size = ring_size;
	env->batch_records_max = batch;
	return 0;
}

/* Read a u32 meta value; MDB_NOTFOUND when absent, MDB_CORRUPTED when malformed. */
static int st_meta_get_u32(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *out)
{
	MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
	MDB_val v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc != 0)
		return rc;
	if (v.mv_size != sizeof(uint32_t))
		return MDB_CORRUPTED;
	memcpy(out, v.mv_data, sizeof(*out));
	return 0;
}

static int st_meta_put_u32(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t value)
{
	MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
	MDB_val v = {.mv_size = sizeof(value), .mv_data = &value};
	return mdb_put(txn, dbi, &k, &v, 0);
}

/* First open stores format and worker count; later opens must match them. */
static int st_env_check_meta(struct st_env *env, MDB_txn *txn)
{
	uint32_t format = 0;
	int rc = st_meta_get_u32(txn, env->dbi_meta, ST_META_FORMAT, &format);
	if (rc == MDB_NOTFOUND) {
		rc = st_meta_put_u32(txn, env->dbi_meta, ST_META_FORMAT, ST_FORMAT_VERSION);
		if (rc == 0)
			rc = st_meta_put_u32(txn, env->dbi_meta, ST_META_WORKERS, env->workers);
		return st_mdb_err(rc);
	}
	if (rc != 0)
		return st_mdb_err(rc);
	if (format != ST_FORMAT_VERSION)
		return -EINVAL;
	uint32_t workers = 0;
	rc = st_meta_get_u32(txn, env->dbi_meta, ST_META_WORKERS, &workers);
	if (rc == MDB_NOTFOUND)
		return -EINVAL;
	if (rc != 0)
		return st_mdb_err(rc);
	return workers == env->workers ? 0 : -EINVAL;
}

/* next_batch = last log key + 1, or ST_BATCH_FIRST for an empty log. */
static int st_env_find_next_batch(struct st_env *env, MDB_txn *txn)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, env->dbi_log, &cur);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_val k, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		env->next_batch = ST_BATCH_FIRST;
		rc = 0;
	} else if (rc == 0) {
		uint64_t last;
		if (k.mv_size != sizeof(last)) {
			rc = MDB_CORRUPTED;
		} else {
			memcpy(&last, k.mv_data, sizeof(last));
			env->next_batch = last + 1;
		}
	}
	mdb_cursor_close(cur);
	return st_mdb_err(rc);
}

/* One write transaction: open (create) the four databases, check meta. */
static int st_env_open_dbs(struct st_env *env)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	rc = mdb_dbi_open(txn, ST_DB_LOG, MDB_CREATE | MDB_INTEGERKEY, &env->dbi_log);
	if (rc == 0)
		rc = mdb_dbi_open(txn, ST_DB_EVENTS, MDB_CREATE | MDB_INTEGERKEY, &env->dbi_events);
	if (rc == 0)
		rc = mdb_dbi_open(txn, ST_DB_META, MDB_CREATE, &env->dbi_meta);
	if (rc == 0)
		rc = mdb_dbi_open(txn, ST_DB_SALE, MDB_CREATE | MDB_INTEGERKEY, &env->dbi_sale);
	if (rc == 0)
		rc = mdb_dbi_open(txn, ST_DB_PRESALE, MDB_CREATE, &env->dbi_presale);
	if (rc == 0)
		rc = mdb_dbi_open(txn, ST_DB_PRESALE_DEF, MDB_CREATE | MDB_INTEGERKEY, &env->dbi_presale_def);
	rc = st_mdb_err(rc);
	if (rc == 0)
		rc = st_env_check_meta(env, txn);
	if (rc == 0)
		rc = st_env_find_next_batch(env, txn);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return st_mdb_err(mdb_txn_commit(txn));
}

static int st_env_open_mdb(struct st_env *env, const struct st_options *opts)
{
	int rc = mdb_env_create(&env->mdb);
	if (rc != 0) {
		env->mdb = NULL;
		return st_mdb_err(rc);
	}
	uint64_t map_bytes = opts->map_size_bytes ? opts->map_size_bytes : ST_MAP_SIZE_DEFAULT;
	rc = mdb_env_set_mapsize(env->mdb, (size_t)map_bytes);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env->mdb, ST_MAXDBS);
	unsigned flags = MDB_NOTLS | (opts->nosync ? MDB_NOSYNC : 0);
	if (rc == 0)
		rc = mdb_env_open(env->mdb, opts->dir, flags, ST_FILE_MODE);
	return st_mdb_err(rc);
}

/*
 * Open or create the environment in opts->dir (the directory itself is made
 * if missing, one level), check meta, and allocate every worker's ring. On
 * failure nothing is left open and *out is NULL.
 */
int st_env_open(const struct st_options *opts, struct st_env **out)
{
	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (opts == NULL)
		return -EINVAL;

	struct st_env *env = aligned_alloc(ST_CACHE_LINE_BYTES,
					   (sizeof(*env) + ST_CACHE_LINE_BYTES - 1) /
						   ST_CACHE_LINE_BYTES * ST_CACHE_LINE_BYTES);
	if (env == NULL)
		return -ENOMEM;
	memset(env, 0, sizeof(*env));
	atomic_init(&env->failed, 0);

	int rc = st_env_apply_options(env, opts);
	if (rc == 0 && mkdir(opts->dir, ST_DIR_MODE) != 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0)
		rc = st_env_open_mdb(env, opts);
	if (rc == 0)
		rc = st_env_open_dbs(env);
	for (unsigned w = 0; rc == 0 && w < env->workers; w++)
		rc = st_log_create(env, w, env->ring_size, &env->logs[w]);
	if (rc != 0) {
		st_env_close(env);
		return rc;
	}
	*out = env;
	return 0;
}

/* Close the environment and free the rings. The writer must be stopped. */
void st_env_close(struct st_env *env)
{
	if (env == NULL)
		return;
	assert(env->writer == NULL && "st_writer_stop() before st_env_close()");
	for (unsigned w = 0; w < ST_WORKERS_MAX; w++)
		st_log_destroy(env->logs[w]);
	if (env->mdb != NULL)
		mdb_env_close(env->mdb);
	free(env);
}

/* The producer ring of one worker, or NULL when worker is out of range. */
struct st_log *st_env_log(struct st_env *env, unsigned worker)
{
	assert(env != NULL);
	if (worker >= env->workers)
		return NULL;
	assert(env->logs[worker] != NULL);
	return env->logs[worker];
}

/* 0 while healthy, else the first commit error. Any thread. */
int st_env_failed(const struct st_env *env)
{
	assert(env != NULL);
	return atomic_load_explicit(&env->failed, memory_order_acquire);
}

/* Keep the first failure: later errors are consequences, not causes. */
void st_env_set_failed(struct st_env *env, int err)
{
	assert(env != NULL && err != 0);
	int expected = 0;
	atomic_compare_exchange_strong_explicit(&env->failed, &expected, err, memory_order_acq_rel,
						memory_order_acquire);
}

/* A relaxed snapshot of the writer's counters; fields may be from different
 * instants but each is monotonic. */
void st_env_stats(const struct st_env *env, struct st_stats *out)
{
	assert(env != NULL && out != NULL);
	const struct st_stats_atomic *s = &env->stats;
	out->batches = atomic_load_explicit(&s->batches, memory_order_relaxed);
	out->records = atomic_load_explicit(&s->records, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
	out->commit_ns_total = atomic_load_explicit(&s->commit_ns_total, memory_order_relaxed);
	out->commit_ns_max = atomic_load_explicit(&s->commit_ns_max, memory_order_relaxed);
	out->batch_records_max = atomic_load_explicit(&s->batch_records_max, memory_order_relaxed);
	memset(&out->commit_us, 0, sizeof(out->commit_us));
	memset(&out->batch_records, 0, sizeof(out->batch_records));
	for (unsigned i = 0; i < ST_HIST_BUCKETS; i++) {
		out->commit_us.counts[i] = atomic_load_explicit(&s->commit_us[i], memory_order_relaxed);
		out->commit_us.count += out->commit_us.counts[i];
		out->batch_records.counts[i] = atomic_load_explicit(&s->batch_records[i], memory_order_relaxed);
		out->batch_records.count += out->batch_records.counts[i];
	}
	out->commit_us.sum = atomic_load_explicit(&s->commit_us_sum, memory_order_relaxed);
	out->batch_records.sum = atomic_load_explicit(&s->batch_records_sum, memory_order_relaxed);
}
