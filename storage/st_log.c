/*
 * st_log.c - the per-worker producer side: an SPSC rte_ring of fixed-size
 * records and the pushed/durable counters.
 *
 * The ring lives in plain aligned_alloc memory and is set up with
 * rte_ring_init(), so no EAL is needed. The push path does no syscall, no
 * malloc and takes no lock: one relaxed load of the env's failed flag, one
 * single-producer enqueue, one release store of the pushed count.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "storage/st_internal.h"

#define ST_LOG_RING_FLAGS (RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ)
#define ST_LOG_ESIZE ((unsigned)sizeof(struct st_record))

_Static_assert(ST_CACHE_LINE_BYTES == RTE_CACHE_LINE_SIZE, "cache line size");
_Static_assert(ST_RING_SIZE_MAX <= RTE_RING_SZ_MASK / 2, "ring size limit fits rte_ring");

static size_t st_round_up(size_t n, size_t align)
{
	return (n + align - 1) / align * align;
}

/*
 * Allocate and initialise the log of worker `worker` with room for exactly
 * ring_size records (a power of two, checked by st_env_open). Start-time
 * only. Returns 0, -ENOMEM or the rte_ring_init() error.
 */
int st_log_create(struct st_env *env, unsigned worker, unsigned ring_size, struct st_log **out)
{
	assert(env != NULL && out != NULL);
	assert(worker < env->workers && worker < ST_WORKERS_MAX);
	assert(ring_size >= 1 && ring_size <= ST_RING_SIZE_MAX);

	struct st_log *log = aligned_alloc(ST_CACHE_LINE_BYTES,
					   st_round_up(sizeof(*log), ST_CACHE_LINE_BYTES));
	if (log == NULL)
		return -ENOMEM;
	memset(log, 0, sizeof(*log));

	/* RING_F_EXACT_SZ: storage is the next power of two above the count. */
	ssize_t mem_bytes = rte_ring_get_memsize_elem(ST_LOG_ESIZE, rte_align32pow2(ring_size + 1));
	if (mem_bytes < 0) {
		free(log);
		return (int)mem_bytes;
	}
	void *mem = aligned_alloc(ST_CACHE_LINE_BYTES,
				  st_round_up((size_t)mem_bytes, ST_CACHE_LINE_BYTES));
	if (mem == NULL) {
		free(log);
		return -ENOMEM;
	}

	/* Touch every page now so the push path never takes a first-touch fault. */
	memset(mem, 0, (size_t)mem_bytes);

	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "st_log_%u", worker);
	int rc = rte_ring_init(mem, name, ring_size, ST_LOG_RING_FLAGS);
	if (rc != 0) {
		free(mem);
		free(log);
		return rc < 0 ? rc : -rc;
	}
	log->ring = mem;
	log->failed = &env->failed;
	log->worker = worker;
	log->workers = env->workers;
	atomic_init(&log->pushed, 0);
	atomic_init(&log->durable, 0);
	log->taken = 0;
	assert(rte_ring_get_capacity(log->ring) == ring_size);
	*out = log;
	return 0;
}

/* Free a log and its ring. The writer must be stopped. NULL is accepted. */
void st_log_destroy(struct st_log *log)
{
	if (log == NULL)
		return;
	free(log->ring);
	free(log);
}

/*
 * Append one record to this worker's ring; the writer commits it later. The
 * record is copied (all sizeof(struct st_record) bytes; only its encoded
 * prefix reaches disk). Returns 0 with the record's seq in *seq_out, -ENOBUFS
 * when the ring is full (nothing changes), -EIO once storage has failed.
 */
int st_log_push(struct st_log *log, const struct st_record *rec, uint64_t *seq_out)
{
	assert(log != NULL && rec != NULL && seq_out != NULL);
	assert(rec->type >= ST_REC_HOLD && rec->type <= ST_REC_BARRIER);
	assert(rec->n_items <= ST_HOLD_ITEMS_MAX);
	assert(rec->type == ST_REC_BARRIER || rec->kind == ST_KIND_SEAT || rec->kind == ST_KIND_GA);
	/* A barrier names another worker; waiting on oneself could never end. */
	assert(rec->type != ST_REC_BARRIER ||
	       (st_barrier_dep_worker(rec) < log->workers && st_barrier_dep_worker(rec) != log->worker));

	if (atomic_load_explicit(log->failed, memory_order_relaxed) != 0)
		return -EIO;
	/*
	 * Only this thread enqueues, so a free slot seen now is still free at
	 * the enqueue. Publishing `pushed` before the record keeps
	 * durable <= pushed for every observer that reads durable first.
	 */
	if (rte_ring_free_count(log->ring) == 0)
		return -ENOBUFS;
	uint64_t seq = atomic_load_explicit(&log->pushed, memory_order_relaxed);
	atomic_store_explicit(&log->pushed, seq + 1, memory_order_release);
	int rc = rte_ring_sp_enqueue_elem(log->ring, (void *)rec, ST_LOG_ESIZE);
	assert(rc == 0);
	(void)rc;
	*seq_out = seq;
	return 0;
}

/* Records pushed so far by this log's worker, i.e. the next seq. */
uint64_t st_log_pushed(const struct st_log *log)
{
	assert(log != NULL);
	return atomic_load_explicit(&log->pushed, memory_order_acquire);
}

/* Every seq below the returned value is committed (or was a barrier). */
uint64_t st_log_durable(const struct st_log *log)
{
	assert(log != NULL);
	uint64_t durable = atomic_load_explicit(&log->durable, memory_order_acquire);
	assert(durable <= atomic_load_explicit(&log->pushed, memory_order_acquire));
	return durable;
}

/* Free slots in this worker's ring right now (a lower bound for the owner). */
unsigned st_log_free(const struct st_log *log)
{
	assert(log != NULL);
	return rte_ring_free_count(log->ring);
}
