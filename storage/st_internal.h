/*
 * st_internal.h - private structures shared by the storage files.
 *
 * Not part of the storage API: only the .c files of storage/ include it.
 * Ownership of every field is written next to it, because three kinds of
 * thread touch these structs: the worker that owns a log (producer), the
 * group-commit writer (consumer) and any thread that reads counters or stats.
 */
#ifndef STAMPEDE_ST_INTERNAL_H
#define STAMPEDE_ST_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "storage/st.h"

#define ST_CACHE_LINE_BYTES 64
#define ST_RING_SIZE_MAX (1u << 22)            /* records per worker ring */
#define ST_BATCH_RECORDS_LIMIT (1u << 20)      /* upper bound of batch_records_max */
#define ST_WRITER_IDLE_NS 20000l               /* nap when every ring is empty */
#define ST_WRITER_FAILED_NAP_NS 1000000l       /* nap of a failed writer */
#define ST_BATCH_FIRST 1ull                    /* key of the first batch ever */
#define ST_DB_LOG "log"
#define ST_DB_EVENTS "events"
#define ST_DB_META "meta"
#define ST_DB_SALE "sale"
#define ST_DB_PRESALE "presale"
#define ST_DB_PRESALE_DEF "presale_def"
#define ST_META_FORMAT "format"
#define ST_META_WORKERS "workers"
#define ST_MAXDBS 8
#define ST_DIR_MODE 0750
#define ST_FILE_MODE 0640

struct rte_ring;

/* One worker's producer ring and its counters. */
struct st_log {
	/* Set at open, read-only afterwards; `pushed` is written by the worker only. */
	alignas(ST_CACHE_LINE_BYTES) struct rte_ring *ring;
	const _Atomic int *failed; /* &env->failed */
	unsigned worker;
	unsigned workers;
	_Atomic uint64_t pushed;
	/* Written by the writer only: `durable` is read by the worker. */
	alignas(ST_CACHE_LINE_BYTES) _Atomic uint64_t durable;
	uint64_t taken; /* records (and barriers) taken into batches; writer-private */
};

/* Commit statistics, written by the writer, read by anyone (relaxed). */
struct st_stats_atomic {
	_Atomic uint64_t batches;
	_Atomic uint64_t records;
	_Atomic uint64_t bytes;
	_Atomic uint64_t commit_ns_total;
	_Atomic uint64_t commit_ns_max;
	_Atomic uint64_t batch_records_max;
	_Atomic uint64_t commit_us[ST_HIST_BUCKETS]; /* log2 histograms, see st_hist */
	_Atomic uint64_t commit_us_sum;
	_Atomic uint64_t batch_records[ST_HIST_BUCKETS];
	_Atomic uint64_t batch_records_sum;
};

struct st_env {
	MDB_env *mdb;
	MDB_dbi dbi_log;
	MDB_dbi dbi_events;
	MDB_dbi dbi_meta;
	MDB_dbi dbi_sale;
	MDB_dbi dbi_presale;
	MDB_dbi dbi_presale_def;
	unsigned workers;
	unsigned ring_size;
	unsigned batch_records_max;
	uint64_t next_batch;       /* writer-owned once started */
	struct st_writer *writer;  /* non-NULL while the writer thread runs */
	struct st_log *logs[ST_WORKERS_MAX];
	struct st_stats_atomic stats;
	/* Read on every push by every worker; written once. */
	alignas(ST_CACHE_LINE_BYTES) _Atomic int failed;
};

/* st_log.c: create/destroy one worker's ring (start and close only). */
int st_log_create(struct st_env *env, unsigned worker, unsigned ring_size, struct st_log **out);
void st_log_destroy(struct st_log *log);

/* st_error.c: turn an LMDB return code into this library's convention:
 * system errors become negative errno values, MDB_* codes stay as they are. */
int st_mdb_err(int rc);

/* Control-path records keyed by a u32 (event definitions, sale settings):
 * put or replace (len bytes from val), or delete, in a write transaction of
 * their own. Errors: st_mdb_err codes; del also -ENOENT when absent. */
int st_db_put_u32(struct st_env *env, MDB_dbi dbi, uint32_t key, const void *val, size_t len);
int st_db_del_u32(struct st_env *env, MDB_dbi dbi, uint32_t key);

/* st_env.c: record the first storage failure; later ones are ignored. */
void st_env_set_failed(struct st_env *env, int err);

#endif
