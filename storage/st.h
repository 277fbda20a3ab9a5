/*
 * st.h - Stampede storage: one LMDB environment, a group-commit writer fed by
 * per-worker record rings, and recovery.
 *
 * Shape (see docs/architecture.md, "Durability"):
 *   worker lcore --st_log_push()--> SPSC rte_ring --> st_writer thread
 *   st_writer drains every ring into one batch, appends it to the `log`
 *   database under the next batch number (MDB_APPEND, monotonic keys: the fast
 *   path BRIEF.md measured), commits, and only then advances each worker's
 *   durable count. A worker releases a reply for record seq S only once
 *   st_log_durable() > S.
 *
 * Databases inside the environment:
 *   log     u64 batch number (MDB_INTEGERKEY) -> encoded records, in order
 *   events  u32 event id (MDB_INTEGERKEY)     -> opaque event definition blob
 *   sale    u32 event id (MDB_INTEGERKEY)     -> struct st_sale (versioned, fixed size)
 *   meta    string key                        -> value (format, workers)
 *   presale      event id u32 BE, code, 0, client id u64 BE -> empty: presale redemptions
 *   presale_def  u32 event id (MDB_INTEGERKEY) -> opaque presale windows blob
 *
 * Error convention: functions returning int return 0 on success or a negative
 * errno-style code (-ENOSPC, -EIO, -EINVAL, ...), or an LMDB code
 * (MDB_MAP_FULL, MDB_CORRUPTED, ...) where LMDB itself refused. LMDB's codes
 * are negative too (-30799..-30780), so they never collide with -errno;
 * system errors LMDB reports (EIO, ENOSPC) are returned as -EIO, -ENOSPC.
 * st_strerror() turns any of them into text.
 */
#ifndef STAMPEDE_ST_H
#define STAMPEDE_ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/st_record.h"

/* Limits, all set at start. */
#define ST_WORKERS_MAX 64                /* producer rings one writer drains */
#define ST_RING_SIZE_DEFAULT 65536       /* records per worker ring (power of 2) */
#define ST_BATCH_RECORDS_MAX_DEFAULT 8192 /* records per write transaction */
#define ST_MAP_SIZE_DEFAULT (8ull << 30) /* LMDB map size, bytes (sparse) */
#define ST_FORMAT_VERSION 1

struct st_env;
struct st_log;
struct st_writer;

struct st_options {
	const char *dir;          /* data directory; created if missing */
	uint64_t map_size_bytes;  /* 0 = ST_MAP_SIZE_DEFAULT */
	bool nosync;              /* benchmark only: no fsync at commit */
	unsigned workers;         /* producer rings, 1..ST_WORKERS_MAX */
	unsigned ring_size;       /* 0 = default; power of two */
	unsigned batch_records_max; /* 0 = default */
};

/*
 * Open (creating if needed) the environment in opts->dir. `workers` is stored
 * on first open; a later open with another count fails with -EINVAL, because
 * hold and order ids name the worker that owns them.
 * Errors: -EINVAL (bad options, worker count mismatch, format mismatch),
 * -ENOMEM, -EACCES/-ENOENT (directory), or an LMDB code.
 */
int st_env_open(const struct st_options *opts, struct st_env **out);
/* Close; the writer must have been stopped first. NULL is accepted. */
void st_env_close(struct st_env *env);

/* Store or replace the definition blob of one event (own write transaction;
 * control path, not per request). Errors: -EINVAL, MDB_MAP_FULL, -EIO. */
int st_env_put_event(struct st_env *env, uint32_t event_id, const void *blob, size_t len);
/* Remove an event's definition. Errors: -ENOENT, LMDB codes. */
int st_env_del_event(struct st_env *env, uint32_t event_id);

/*
 * Sale settings of one event (the `sale` database), written by the control
 * path in its own write transaction and read back at recovery, so a
 * restarted dataplane keeps an operator's pause/close and `set` values.
 * Stored as this struct's bytes (little-endian hosts only), version first.
 */
#define ST_SALE_VERSION 2
#define ST_SALE_V1_SIZE 72 /* version 1: the first 24 bytes, then 48 reserved zero bytes */
#define ST_SALE_SECRET_SIZE 32
struct st_sale {
	uint32_t version;             /* ST_SALE_VERSION */
	uint8_t state;                /* enum dp_sale_state (dataplane/dp_types.h), 1..4 */
	uint8_t _pad[3];
	uint64_t on_sale_ms;          /* Unix ms; 0 = on sale as soon as loaded */
	uint32_t max_active_shoppers; /* waiting room: buyers shopping at once */
	uint32_t admission_per_s;     /* waiting room: admissions per second */
	/* ---- version 2: the waiting room's durable state (all 0 in a version 1 record) ---- */
	uint8_t wr_mode;              /* enum dp_wr_mode: 0 off, 1 on, 2 auto */
	uint8_t wr_active;            /* 1: holds need an access token */
	uint8_t wr_opened;            /* 1: the pre-queue is frozen (prequeue_n, secret valid) */
	uint8_t issued_known;         /* 1: pre_issued, reg_issued are valid (0 in older records) */
	uint32_t rate_per_s;          /* admissions/s last reported by the control process (wait estimates) */
	uint64_t pre_reserve;         /* pre-queue sequences below this may have been issued */
	uint64_t reg_reserve;         /* regular sequences below this may have been issued */
	uint64_t admitted;            /* positions below this are admitted */
	uint64_t prequeue_n;          /* wr_opened: pre-queue joiners frozen at opening */
	uint32_t purchase_window_ms;  /* access token lifetime; 0 = the default */
	uint32_t _pad3;
	uint8_t secret[ST_SALE_SECRET_SIZE]; /* wr_opened: the per-opening pre-queue secret */
	uint32_t threshold_rps;       /* auto rooms: requests/s that switch them on (stampede-control) */
	uint32_t pre_issued;          /* issued_known: pre-queue sequences really issued (a lower bound) */
	uint64_t reg_issued;          /* issued_known: regular sequences really issued (a lower bound) */
	uint64_t unissued;            /* positions skipped at restarts, never issued (sum since created) */
};
_Static_assert(sizeof(struct st_sale) == 128, "st_sale is a stored format");

/* Store or replace one event's sale settings (own write transaction; control
 * path). Errors: -EINVAL (NULL, version not ST_SALE_VERSION), MDB_MAP_FULL,
 * -EIO, -ENOSPC or another LMDB code. */
int st_env_put_sale(struct st_env *env, uint32_t event_id, const struct st_sale *sale);
/* Read one event's sale settings. A version 1 record (ST_SALE_V1_SIZE
 * bytes) is read as version 2 with every waiting-room field 0. Errors:
 * -EINVAL (NULL), -ENOENT (none stored), MDB_CORRUPTED (wrong size or
 * version), LMDB codes. */
int st_env_get_sale(struct st_env *env, uint32_t event_id, struct st_sale *out);
/* Remove one event's sale settings. Errors: -EINVAL, -ENOENT, LMDB codes. */
int st_env_del_sale(struct st_env *env, uint32_t event_id);

/* ---- presale windows (docs/waiting-room.md, "Presale windows") ---- */
#define ST_PRESALE_CODE_MAX 32 /* bytes of a code */

/* One redemption: client_id used code (code_len bytes, 1..ST_PRESALE_CODE_MAX) of event_id. */
struct st_presale_use {
	uint32_t event_id;
	uint8_t code_len;
	char code[ST_PRESALE_CODE_MAX];
	uint64_t client_id;
};

/* Store n redemptions in one write transaction (committed, synced unless
 * nosync). Errors: -EINVAL (NULL, a code length out of 1..32), MDB_MAP_FULL,
 * -EIO, LMDB codes; nothing is stored then. */
int st_env_put_presale(struct st_env *env, const struct st_presale_use *uses, size_t n);
/* Call cb once per stored redemption of event_id (in key order). A stored
 * key that does not decode gives MDB_CORRUPTED; a non-zero return of cb
 * stops the walk and is returned. */
typedef int (*st_presale_cb)(void *ctx, const struct st_presale_use *use);
int st_env_for_each_presale(struct st_env *env, uint32_t event_id, st_presale_cb cb, void *ctx);
/* Delete every redemption of event_id (0 when there are none). */
int st_env_del_presale(struct st_env *env, uint32_t event_id);
/* An event's presale windows blob: put (replace), get (a malloc'd copy in
 * *blob, free it; -ENOENT when none), delete (-ENOENT when none). */
int st_env_put_presale_def(struct st_env *env, uint32_t event_id, const void *blob, size_t len);
int st_env_get_presale_def(struct st_env *env, uint32_t event_id, void **blob, size_t *len);
int st_env_del_presale_def(struct st_env *env, uint32_t event_id);

/* Call cb once per stored event, in id order. A non-zero return from cb stops
 * the walk and is returned. */
typedef int (*st_event_cb)(void *ctx, uint32_t event_id, const void *blob, size_t len);
int st_env_for_each_event(struct st_env *env, st_event_cb cb, void *ctx);

/* Replay the whole log in commit order, calling cb for every record (never a
 * BARRIER). A record that does not decode gives MDB_CORRUPTED. A non-zero
 * return from cb stops the replay and is returned. */
typedef int (*st_record_cb)(void *ctx, const struct st_record *rec);
int st_env_replay(struct st_env *env, st_record_cb cb, void *ctx);

/* Decode one stored batch value (what the writer appends to `log`: encoded
 * records back to back) and call cb for each record, in order, with an
 * aligned copy whose unused items are zero; buf need not be aligned. Checks
 * each record's type (HOLD..EXPIRE), kind, worker < ST_WORKERS_MAX, n_items
 * <= ST_HOLD_ITEMS_MAX and that it fits the remaining bytes. Returns 0,
 * MDB_CORRUPTED at the first bad record (earlier ones were delivered), or the
 * first non-zero return of cb. Used by replay; exposed for tests and fuzzing. */
int st_decode_batch(const void *buf, size_t len, st_record_cb cb, void *ctx);

/* Per-worker producer ring, owned by the env (index 0..workers-1); NULL for
 * an index out of range. */
struct st_log *st_env_log(struct st_env *env, unsigned worker);

/*
 * Push one record. Only the owning worker thread may call it. Returns the
 * record's sequence number (0, 1, 2, ... per worker) in *seq_out and 0, or
 * -ENOBUFS when the ring is full (answer busy), or -EIO once storage has
 * failed (answer unavailable). No syscall, no malloc, no lock.
 * The stored copy's `worker` is this log's index whatever rec->worker says.
 * Asserted (caller bugs): type 1..5, kind valid unless BARRIER, n_items <=
 * ST_HOLD_ITEMS_MAX, a BARRIER's dep worker < workers and not this worker.
 * A BARRIER takes a seq like any record and is durable once passed.
 */
int st_log_push(struct st_log *log, const struct st_record *rec, uint64_t *seq_out);
/* Records pushed so far by this worker (the next seq). */
uint64_t st_log_pushed(const struct st_log *log);
/* Records of this worker durably committed: every seq < this is durable. */
uint64_t st_log_durable(const struct st_log *log);
/* Free slots left in the ring (for admission control). */
unsigned st_log_free(const struct st_log *log);

/* 0 while storage is healthy; the first commit error (negative errno or LMDB
 * code) once it has stopped. Readable from any thread. */
int st_env_failed(const struct st_env *env);

/* Start/stop the group-commit writer thread. Stop drains every ring (as far
 * as barriers allow), commits and joins; after a storage failure it just
 * joins. A stopped writer may be started again. Errors: -EALREADY (start:
 * already running; stop: not running), -ENOMEM, pthread errors (negated). */
int st_writer_start(struct st_env *env);
int st_writer_stop(struct st_env *env);

/*
 * A log2 histogram: counts[i] counts observations v with
 * ST_HIST_LE(i-1) < v <= ST_HIST_LE(i) (counts[0]: v <= 1); the last bucket
 * takes everything above ST_HIST_LE(ST_HIST_BUCKETS - 2) (+Inf).
 */
#define ST_HIST_BUCKETS 32
#define ST_HIST_LE(i) (1ull << (i))
struct st_hist {
	uint64_t counts[ST_HIST_BUCKETS];
	uint64_t sum;
	uint64_t count;
};
/* The bucket of value v. */
static inline unsigned st_hist_bucket(uint64_t v)
{
	if (v <= 1)
		return 0;
	unsigned b = 64u - (unsigned)__builtin_clzll(v - 1);
	return b < ST_HIST_BUCKETS - 1 ? b : ST_HIST_BUCKETS - 1;
}

struct st_stats {
	uint64_t batches;          /* committed write transactions */
	uint64_t records;          /* committed records */
	uint64_t bytes;            /* encoded bytes committed */
	uint64_t commit_ns_total;  /* sum of commit latency */
	uint64_t commit_ns_max;
	uint64_t batch_records_max;
	struct st_hist commit_us;     /* commit latency (begin to commit), microseconds */
	struct st_hist batch_records; /* records per committed batch */
};
/* A snapshot of the writer's counters and histograms; any thread. Each field
 * is monotonic; fields may be from different instants. */
void st_env_stats(const struct st_env *env, struct st_stats *out);

const char *st_strerror(int err);

#endif
