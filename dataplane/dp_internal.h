/*
 * dp_internal.h - the reservation core's private structures, shared by the
 * dataplane/dp_*.c files and nothing else.
 */
#ifndef STAMPEDE_DP_INTERNAL_H
#define STAMPEDE_DP_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"
#include "dataplane/dp_prequeue.h"
#include "dataplane/dp_presale.h"
#include "dataplane/dp_token.h"

#define DP_CACHE_LINE 64
/* A GA need not asked for again (by a buyer's retry) within this is dropped. */
#define DP_GA_NEED_TTL_MS 200
#define DP_ALIGNED __attribute__((aligned(DP_CACHE_LINE)))

/* Seat words: [63:62] state; HELD: [61:30] hold ref, [29:0] expiry s since
 * DP_EPOCH_S; SOLD: [61:0] order id. */
#define DP_EPOCH_S 1704067200ull /* 2024-01-01T00:00:00Z */
#define DP_WORD_EXPIRY_MASK ((1ull << 30) - 1)

static inline uint64_t dp_word_held(uint32_t hold_ref, uint64_t expiry_ms)
{
	uint64_t s = expiry_ms / 1000;
	s = s > DP_EPOCH_S ? s - DP_EPOCH_S : 0;
	if (s > DP_WORD_EXPIRY_MASK)
		s = DP_WORD_EXPIRY_MASK;
	return ((uint64_t)DP_SEAT_HELD << 62) | ((uint64_t)hold_ref << 30) | s;
}

static inline uint64_t dp_word_sold(uint64_t order_id)
{
	assert(order_id < (1ull << 62));
	return ((uint64_t)DP_SEAT_SOLD << 62) | order_id;
}

#define DP_WORD_FREE 0ull
#define DP_WORD_OFF ((uint64_t)DP_SEAT_OFF << 62)

/* Single-slot handoff of free GA serials from a donor slice to a dry one. */
enum { DP_INBOX_EMPTY = 0, DP_INBOX_FILLING = 1, DP_INBOX_FULL = 2 };
struct dp_inbox {
	_Atomic uint32_t state;
	uint32_t n;
	uint32_t dep_worker;
	uint64_t dep_seq; /* donor's log position when it gave the serials */
	uint32_t serials[DP_GA_TRANSFER_MAX];
};

/*
 * A slice of a part. A section has one slice, written by its owner worker; a
 * GA type has one slice per worker, slice w written only by worker w.
 * Counters are single-writer atomics so readers on other threads can sum them.
 */
struct dp_slice {
	_Atomic uint32_t version; /* seqlock over held/sold: odd while they change */
	_Atomic uint32_t held;
	_Atomic uint32_t sold;
	uint32_t hint;      /* section: no free seat below this index */
	uint32_t n_free;    /* GA: serials on the free stack */
	uint32_t *free;     /* GA: free stack, room for the whole capacity */
	_Atomic uint32_t need; /* GA: tickets wanted by a dry slice (0: none) */
	uint64_t need_ms;      /* GA: when the need was last asked for */
	struct dp_inbox inbox;
} DP_ALIGNED;

struct dp_part {
	uint32_t id;
	uint8_t kind;        /* ST_KIND_* */
	uint8_t ga_tier;
	uint16_t owner;      /* section: the worker that writes it */
	uint32_t def_index;  /* index in ev->def's sections or ga arrays (control path) */
	uint32_t capacity;
	uint32_t withheld;
	_Atomic uint64_t *words;          /* capacity seat words */
	const struct dp_seat_def *seats;  /* section: capacity defs, immutable */
	unsigned n_slices;
	struct dp_slice *slices;
};

struct dp_buyer_slot {
	_Atomic uint64_t client_id;
	_Atomic uint32_t count;
	uint32_t _pad;
};

struct dp_buyers {
	uint32_t mask; /* slots - 1 */
	struct dp_buyer_slot *slots;
};

/* One worker's buyer requests of one event: written by that worker only
 * (relaxed load + store, no RMW), read by the control thread. */
struct dp_event_counters {
	_Atomic uint64_t requests;
	_Atomic uint64_t status[DP_S__COUNT];
} DP_ALIGNED;

/*
 * Settings that a reload or the operator may change are atomics written in
 * place by the control path and read (relaxed) by workers. A reload keeps
 * this shell rather than publishing a copy: parts, buyer counts and counters
 * are shared by every hold and order of the event, and each setting is read
 * on its own, so no reader needs two of them to change together; a copy would
 * have to share all of that and make ownership at free time ambiguous.
 */
struct dp_event {
	uint32_t id;
	_Atomic uint32_t hold_ttl_ms;
	_Atomic uint32_t buyer_limit;
	_Atomic uint32_t sale_state;   /* enum dp_sale_state as stored */
	_Atomic uint64_t on_sale_ms;
	_Atomic uint32_t max_active_shoppers;
	_Atomic uint32_t admission_per_s;
	/* Waiting room (dp_queue.c): written by the control path, read and
	 * counted lock-free by workers. */
	_Atomic uint32_t wr_mode;            /* enum dp_wr_mode */
	_Atomic uint32_t wr_active;
	_Atomic uint32_t purchase_window_ms;
	_Atomic uint32_t rate_per_s;
	_Atomic uint32_t threshold_rps;
	_Atomic uint64_t q_pre;       /* pre-queue joins; DP_QUEUE_CLOSED once frozen */
	_Atomic uint64_t q_reg;       /* regular joins */
	_Atomic uint64_t q_pre_limit; /* durable reservations: sequences issued only below */
	_Atomic uint64_t q_reg_limit;
	_Atomic uint64_t q_admitted;
	_Atomic uint64_t q_unissued;  /* positions skipped at restarts (durable) */
	uint64_t q_saved_pre, q_saved_reg, q_saved_ms; /* control path: counters last stored, when */
	struct dp_queue_open *q_open; /* RCU-published once at opening; NULL before */
	struct dp_admit_ring *q_steps; /* admission steps (control thread writes, workers read) */
	struct dp_presale *presale;   /* RCU-published presale windows (dp_presale.h); NULL: none */
	uint32_t n_parts;
	struct dp_part *parts; /* sorted by id */
	struct dp_buyers buyers;
	struct dp_event_counters *counters; /* one per worker */
	/* Deep copy, for names, export and re-encoding; RCU-published (a
	 * reload replaces it; the seat arrays parts point to move with it). */
	struct dp_event_def *def;
};

/* Bit of dp_event.q_pre set when the pre-queue is frozen (n below it). */
#define DP_QUEUE_CLOSED (UINT64_C(1) << 63)

/*
 * One admission step: positions below to_pos were admitted by time_ms (the
 * step before it, if any, covers the positions below its own to_pos). seq is
 * the step's index + 1 once the step is complete, 0 while it is written.
 */
struct dp_admit_step {
	_Atomic uint64_t seq;
	_Atomic uint64_t to_pos;
	_Atomic uint64_t time_ms;
};

/*
 * The admission steps of one event, a ring of the DP_ADMIT_STEPS_MAX newest.
 * One writer (the control thread: dp_queue_admit, and dp_queue_tick's seed
 * after a restart). An admission less than purchase window / DP_ADMIT_STEPS_MAX
 * after the newest step began joins it (its to_pos and time_ms move up), so
 * the ring always covers at least one purchase window. Workers read lock-free: a step is written (seqlock style,
 * per slot) before count is advanced with release; readers load count with
 * acquire and check each slot's seq around their read, so an overwritten
 * slot is noticed, never misread.
 */
struct dp_admit_ring {
	_Atomic uint64_t count; /* steps ever appended */
	uint64_t newest_first_ms; /* writer only: when the newest step began (steps merge) */
	struct dp_admit_step step[DP_ADMIT_STEPS_MAX];
};

/* What the opening froze: n pre-queue joiners and their permutation. */
struct dp_queue_open {
	uint64_t n;
	uint8_t secret[ST_SALE_SECRET_SIZE];
	struct dp_prequeue pq; /* valid when n > 0 */
};

struct dp_catalog {
	uint32_t n;
	uint32_t ids[DP_EVENTS_MAX]; /* sorted */
	struct dp_event *ev[DP_EVENTS_MAX];
};

enum dp_hold_state {
	DP_H_FREE = 0,
	DP_H_ACTIVE = 1,
	DP_H_CONFIRMED = 2,
	DP_H_RELEASED = 3,
	DP_H_EXPIRED = 4,
};

struct dp_hold {
	uint32_t gen;
	uint8_t state; /* enum dp_hold_state */
	uint8_t kind;
	uint8_t n;
	uint8_t _pad;
	uint32_t event_id;
	uint32_t part_id;
	uint64_t client_id;
	uint64_t request_id;
	uint64_t expiry_ms;
	uint64_t order_id;
	uint64_t end_request_id; /* the confirm or release that ended it */
	uint64_t end_seq;        /* log seq + 1 of the record that ended it */
	uint32_t items[DP_HOLD_TICKETS_MAX];
};

struct dp_order {
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t time_ms;
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind;
	uint8_t n;
	uint32_t items[DP_HOLD_TICKETS_MAX];
	uint8_t payment_ref[ST_PAYMENT_REF_SIZE];
};

/*
 * One remembered mutation. Only successful mutations are remembered, so the
 * reply is kept compactly (no alternatives, no retry-after): dp_idem_reply
 * rebuilds the whole struct dp_reply.
 */
struct dp_idem_entry {
	uint64_t client_id;
	uint64_t request_id;
	uint64_t fingerprint;
	uint64_t time_ms;  /* when it was applied: not forgotten before time_ms + horizon */
	uint64_t hold_id;
	uint64_t order_id;
	uint64_t expiry_ms;
	uint64_t wait_seq; /* the record's seq + 1 */
	uint32_t event_id;
	uint32_t part_id;
	uint8_t status;
	uint8_t detail;
	uint8_t n_items;
	uint8_t _pad[5];
	uint32_t items[DP_HOLD_TICKETS_MAX];
};
_Static_assert(sizeof(struct dp_idem_entry) == 144, "idempotency entries stay compact");

/* Per-worker FIFO of remembered mutations with an open-addressing index. */
struct dp_idem {
	uint32_t cap;       /* entries */
	uint32_t n;         /* entries in use */
	uint32_t head;      /* next entry to write (oldest when full) */
	uint32_t index_mask;
	uint64_t *index;    /* hash << 32 | entry + 1; 0 = empty */
	struct dp_idem_entry *entries;
};

struct dp_worker {
	struct dp_engine *eng;
	unsigned idx;
	struct st_log *log;

	struct dp_hold *holds;
	uint32_t *free_slots; /* FIFO ring of free hold slots */
	uint32_t free_head, free_n;
	uint32_t expire_cursor;

	struct dp_order *orders;
	_Atomic uint64_t n_orders; /* published with release after the order is written */

	struct dp_idem idem;

	uint64_t status_count[DP_S__COUNT];
	uint64_t expired_total;
} DP_ALIGNED;

struct dp_engine {
	struct dp_config cfg;
	struct st_env *env;
	struct dp_catalog *catalog; /* RCU-published */
	_Atomic uint32_t ga_needs; /* GA slices whose `need` is set: workers scan while > 0 */
	struct dp_worker *workers;
	struct dp_keys *keys; /* RCU-published waiting-room key set; NULL: none */
};

/*
 * Change a slice's counters (owner thread only). Readers sum many slices;
 * the version lets them take a snapshot no change overlapped, so a GA ticket
 * moving between slices is never counted on both or on neither.
 */
static inline void dp_slice_counts_add(struct dp_slice *sl, int32_t held_delta, int32_t sold_delta)
{
	uint32_t v = atomic_load_explicit(&sl->version, memory_order_relaxed);
	atomic_store_explicit(&sl->version, v + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	uint32_t held = atomic_load_explicit(&sl->held, memory_order_relaxed);
	uint32_t sold = atomic_load_explicit(&sl->sold, memory_order_relaxed);
	assert((int64_t)held + held_delta >= 0 && (int64_t)sold + sold_delta >= 0);
	atomic_store_explicit(&sl->held, (uint32_t)((int64_t)held + held_delta), memory_order_relaxed);
	atomic_store_explicit(&sl->sold, (uint32_t)((int64_t)sold + sold_delta), memory_order_relaxed);
	atomic_store_explicit(&sl->version, v + 2, memory_order_release);
}

/* ---- dp_event.c ---- */
/* Check, build and publish an event; store its sale settings (from sale,
 * NULL: open at once) and then its definition first if store. */
int dp_event_publish(struct dp_engine *eng, const struct dp_event_def *def, int store,
		     const struct dp_sale_settings *sale, char *err, size_t errlen);
void dp_event_free(struct dp_event *ev);
void dp_ga_distribute(struct dp_part *p);
struct dp_event *dp_event_lookup(struct dp_engine *eng, uint32_t event_id);
struct dp_part *dp_part_lookup(struct dp_event *ev, uint32_t part_id);
uint32_t dp_part_available(const struct dp_part *p);

/* ---- dp_sale.c ---- */
/* The stored form of ev's sale settings with state replaced by `state`. */
void dp_sale_record(const struct dp_event *ev, int state, struct st_sale *out);
/* Publish stored sale settings into ev's atomics (control path, recovery). */
void dp_sale_apply(struct dp_event *ev, const struct st_sale *sale);
/* Count one buyer request and its reply for the event it concerns (worker). */
void dp_event_count(struct dp_worker *w, const struct dp_request *rq, const struct dp_reply *out);

/* ---- dp_queue.c ---- */
/* Apply the waiting-room part of a stored sale record to ev (control path:
 * load, recovery). recover: counters resume from the stored reservations
 * and the opening is rebuilt. Returns 0, or -EIO/-ENOMEM from rebuilding
 * the permutation. */
int dp_queue_apply(struct dp_event *ev, const struct st_sale *sale, int recover);
/* Fill the waiting-room part of a sale record from ev. */
void dp_queue_record(const struct dp_event *ev, struct st_sale *out);

/* ---- dp_presale_ctl.c ---- */
/* Build ev's presale table from def (NULL: none) and store def (or delete
 * the stored one) for ev->id; *out the new table (NULL: none). Nothing is
 * published. Control path. Errors: -EINVAL (err), -ENOMEM, storage. */
int dp_presale_prepare(struct dp_engine *eng, uint32_t event_id, const struct dp_presale_def *def,
		       struct dp_presale **out, char *err, size_t errlen);
/* Rebuild ev's presale table from storage (recovery). */
int dp_presale_recover(struct dp_engine *eng, struct dp_event *ev);
/* Whether def is what ev's table was built from. */
int dp_presale_same(const struct dp_event *ev, const struct dp_presale_def *def);
uint64_t dp_presale_def_fingerprint(const struct dp_presale_def *def);

/* ---- dp_buyers.c ---- */
int dp_buyers_init(struct dp_buyers *b, uint32_t slots_min);
void dp_buyers_fini(struct dp_buyers *b);
/* Add n to the client's count if it stays <= limit: DP_S_OK, DP_S_LIMIT, or
 * DP_S_UNAVAILABLE (table full). */
int dp_buyers_add(struct dp_buyers *b, uint64_t client_id, uint32_t n, uint32_t limit);
void dp_buyers_sub(struct dp_buyers *b, uint64_t client_id, uint32_t n);
uint32_t dp_buyers_get(const struct dp_buyers *b, uint64_t client_id);

/* ---- dp_idem.c ---- */
int dp_idem_init(struct dp_idem *t, uint32_t cap);
void dp_idem_fini(struct dp_idem *t);
const struct dp_idem_entry *dp_idem_find(const struct dp_idem *t, uint64_t client_id, uint64_t request_id);
void dp_idem_put(struct dp_idem *t, uint64_t client_id, uint64_t request_id, uint64_t fingerprint, uint64_t time_ms,
		 const struct dp_reply *reply);
/* The remembered reply of e, as first given. */
void dp_idem_reply(const struct dp_idem_entry *e, struct dp_reply *out);
/* May a mutation be remembered now without forgetting an entry younger than
 * horizon_ms? 1 if so; else 0 and *retry_after_ms until it may (>= 1). */
int dp_idem_room(const struct dp_idem *t, uint64_t now_ms, uint32_t horizon_ms, uint32_t *retry_after_ms);
uint64_t dp_request_fingerprint(const struct dp_request *rq);

/* ---- dp_hold.c ---- */
void dp_hold_seats(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);
void dp_hold_best(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);
void dp_hold_ga(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);
/* Commit a hold of items already checked free; pushes the record first.
 * Returns DP_S_OK or a refusal (nothing changed). */
int dp_hold_commit(struct dp_worker *w, const struct dp_request *rq, struct dp_event *ev, struct dp_part *p,
		   const uint32_t *items, unsigned n, uint64_t now_ms, struct dp_reply *out);

/* ---- dp_order.c ---- */
void dp_confirm(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);
void dp_release(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);
/* End an active hold (RELEASE or EXPIRE record). Returns 0, or -ENOBUFS/-EIO
 * from the log (nothing changed). */
int dp_hold_end(struct dp_worker *w, struct dp_hold *h, uint32_t slot, uint8_t rec_type, uint64_t request_id,
		uint64_t fingerprint, uint32_t flags, uint64_t now_ms);
/* Give a hold's items back to their part (words, counters, free lists). */
void dp_items_free(struct dp_worker *w, struct dp_part *p, const uint32_t *items, unsigned n);
uint64_t dp_hold_id_make(unsigned worker, uint32_t slot, uint32_t gen);
/* Append the order of hold h (owner thread; the table has room) and publish it. */
void dp_order_append(struct dp_worker *w, const struct dp_hold *h, uint64_t hold_id, uint64_t time_ms,
		     const uint8_t *payment_ref);
void dp_free_slot_push(struct dp_worker *w, uint32_t slot);

/* ---- dp_ga.c ---- */
void dp_ga_tick(struct dp_worker *w, uint64_t now_ms);
/* Set or clear my slice's need (owner thread only), keeping eng->ga_needs. */
void dp_ga_need(struct dp_engine *eng, struct dp_slice *sl, uint32_t n);


/* ---- small helpers ---- */

/* malloc + memset: tables are touched at start so that no page fault (a
 * syscall in all but name) lands on the per-request path. NULL on ENOMEM. */
void *dp_alloc_zeroed(size_t bytes);
static inline void dp_reply_status(struct dp_reply *out, int status, int detail)
{
	out->status = (uint8_t)status;
	out->detail = (uint8_t)detail;
}

static inline uint64_t dp_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* GA holds go to the worker a client hashes to, so a retry lands where the
 * first attempt did. */
static inline unsigned dp_ga_worker(const struct dp_engine *eng, uint64_t client_id)
{
	return (unsigned)(dp_mix64(client_id) % eng->cfg.workers);
}

#endif
