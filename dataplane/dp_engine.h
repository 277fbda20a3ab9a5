/*
 * dp_engine.h - the reservation core the dataplane's worker lcores run.
 *
 * Threads:
 *   - worker threads (one per lcore): each is the only writer of the
 *     partitions it owns (sections assigned to it, its slice of every GA type)
 *     and of its hold, order and idempotency tables. It must be registered
 *     with liburcu QSBR (urcu_qsbr_register_thread) and call
 *     urcu_qsbr_quiescent_state() once per loop turn, plus dp_worker_tick().
 *   - any other QSBR-registered thread may read: dp_part_counts_get,
 *     dp_seat_word, dp_order_get (inside urcu_qsbr_read_lock/unlock).
 *   - the control path (one thread at a time): dp_engine_add_event,
 *     dp_engine_load_check, dp_engine_load_event, dp_engine_remove_event,
 *     dp_engine_sale_set_state, dp_engine_sale_set_limits, dp_event_def_get,
 *     dp_engine_recover. It may block.
 *
 * The per-request functions (dp_route, dp_execute, dp_worker_tick) do no
 * malloc, no syscall, no lock and no logging.
 */
#ifndef STAMPEDE_DP_ENGINE_H
#define STAMPEDE_DP_ENGINE_H

#include "dataplane/dp_types.h"
#include "storage/st.h"

struct dp_engine;
struct dp_worker;
struct dp_keys;

/* Fill a config with the defaults for `workers` workers. */
void dp_config_defaults(struct dp_config *cfg, unsigned workers);

/*
 * Create an engine whose workers log to env (env's worker count must equal
 * cfg->workers). All tables are allocated here.
 * Errors: -EINVAL (bad config), -ENOMEM.
 */
int dp_engine_create(const struct dp_config *cfg, struct st_env *env, struct dp_engine **out);
/* Free everything. No worker may be running. NULL is accepted. */
void dp_engine_destroy(struct dp_engine *eng);

struct dp_worker *dp_engine_worker(struct dp_engine *eng, unsigned idx);
unsigned dp_engine_workers(const struct dp_engine *eng);
struct st_env *dp_engine_env(struct dp_engine *eng);

/*
 * Check a definition without loading it. Returns 0, or -EINVAL and writes a
 * one-line reason into err (errlen bytes) naming the field at fault.
 */
int dp_event_def_check(const struct dp_event_def *def, char *err, size_t errlen);

/*
 * Store the definition durably (st_env_put_event) and publish the event to
 * every worker by RCU pointer swap. Control path only; the caller must be a
 * QSBR-registered thread that is online or offline (it is put offline while
 * waiting for the grace period).
 * Errors: -EINVAL (bad def: see err), -EEXIST (id loaded), -ENOSPC
 * (DP_EVENTS_MAX), -ENOMEM, or a storage error.
 */
int dp_engine_add_event(struct dp_engine *eng, const struct dp_event_def *def, char *err, size_t errlen);

/*
 * Check whether def could be loaded by dp_engine_load_event without changing
 * anything: the definition itself and, when its id is loaded, that the layout
 * is the loaded one. Control path.
 * Errors: -EINVAL (bad def), -EEXIST (loaded with another layout: err names
 * the part, e.g. "event 1: section 3 (Floor): 120 seats loaded, 130 in the
 * file; a loaded event keeps its layout").
 */
int dp_engine_load_check(struct dp_engine *eng, const struct dp_event_def *def, char *err, size_t errlen);

/*
 * Load one event: an id not loaded is added (stored, sale state SCHEDULED
 * when sale->on_sale_ms != 0, else OPEN); a loaded id is reloaded: its holds,
 * orders, counters and sale state are kept and only its settings change
 * (name, hold TTL, buyer limit, tier names and prices, part names, on-sale
 * time, waiting-room settings); the new definition and sale settings are
 * stored before they are published. sale NULL means all zero. *action_out
 * (may be NULL) says what happened. Control path, QSBR-registered thread.
 * Errors: those of dp_engine_load_check (nothing changed), -ENOSPC
 * (DP_EVENTS_MAX), -ENOMEM, or a storage error (err says which step).
 */
int dp_engine_load_event(struct dp_engine *eng, const struct dp_event_def *def, const struct dp_sale_settings *sale,
			 int *action_out, char *err, size_t errlen);

/*
 * Set an event's sale state (DP_SALE_OPEN, PAUSED or CLOSED; OPEN on a
 * scheduled event opens it at once), durably first. Control path.
 * Errors: -ENOENT (event), -EINVAL (state), or a storage error (nothing changed).
 */
int dp_engine_sale_set_state(struct dp_engine *eng, uint32_t event_id, int state);

/*
 * Set an event's waiting-room limits; a NULL pointer keeps that value.
 * Stored durably first. Control path. Errors: -ENOENT, or a storage error.
 */
int dp_engine_sale_set_limits(struct dp_engine *eng, uint32_t event_id, const uint32_t *max_active_shoppers,
			      const uint32_t *admission_per_s);

/* A deep copy of an event's current definition (dp_event_def_free it from
 * dp_codec.h). Control path. Errors: -ENOENT, -ENOMEM. */
int dp_event_def_get(struct dp_engine *eng, uint32_t event_id, struct dp_event_def **out);

/* Ids of the loaded events in order, at most max of them; returns how many
 * are loaded (may exceed max). Control path. */
uint32_t dp_engine_event_ids(struct dp_engine *eng, uint32_t *ids, uint32_t max);

/*
 * Unpublish an event and free it after a grace period. Its stored definition
 * is deleted; its log records stay (recovery skips records of unknown events).
 * Errors: -ENOENT.
 */
int dp_engine_remove_event(struct dp_engine *eng, uint32_t event_id);

/*
 * Rebuild every event, hold, order and idempotency record from storage. Call
 * once, after dp_engine_create and before workers or the writer start.
 * Errors: MDB_CORRUPTED (log inconsistent with the events), LMDB codes, -ENOMEM.
 */
int dp_engine_recover(struct dp_engine *eng);

/*
 * Which worker must execute rq. Any thread; lock-free. Returns the worker
 * index, or -1 when the event or part is unknown (dp_execute on any worker
 * then answers NOT_FOUND).
 */
int dp_route(struct dp_engine *eng, const struct dp_request *rq);

/*
 * Execute one request on its owning worker (the calling thread must be that
 * worker's). Always fills *out; returns out->status. When out->wait_seq is
 * non-zero the reply reports a mutation (or a refusal that depends on one)
 * and must not leave before the worker's log is durable up to it
 * (dp_worker_durable).
 * rq must not be NULL; any content is accepted and checked.
 */
int dp_execute(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out);

/*
 * Once per loop turn on the worker thread: expires up to
 * cfg.expire_scan_per_tick hold slots that are due, moves GA stock to slices
 * that ran dry. Returns the number of holds expired.
 */
unsigned dp_worker_tick(struct dp_worker *w, uint64_t now_ms);

/*
 * Operator expire (expire != 0) or release of one hold, on the worker thread
 * the hold id names. Any hold_id is accepted. Expire ends the hold (logged
 * ST_REC_EXPIRE) only if its expiry_ms <= now_ms; release ends an active hold
 * whatever its age or owner (ST_REC_RELEASE with ST_REC_F_OPERATOR). Returns
 * an enum dp_end_result; *wait_seq is the log position the answer may be
 * given at (dp_worker_durable() >= *wait_seq), 0 when at once. Refusals
 * (NOT_DUE, NOT_FOUND, BUSY, UNAVAILABLE) change nothing. No malloc, syscall,
 * lock or logging.
 */
int dp_worker_end_hold(struct dp_worker *w, uint64_t hold_id, int expire, uint64_t now_ms, uint64_t *wait_seq);

/* Expire every due hold of this worker now (tests, shutdown). */
unsigned dp_worker_expire_all(struct dp_worker *w, uint64_t now_ms);

/* Records of this worker that are durable (replies with wait_seq <= this may leave). */
uint64_t dp_worker_durable(const struct dp_worker *w);
unsigned dp_worker_index(const struct dp_worker *w);

/* ---- readers (any QSBR thread, inside a read-side critical section) ---- */

/* Counts of a part; -ENOENT if unknown. */
int dp_part_counts_get(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, struct dp_part_counts *out);
/* Sum over every part of an event; -ENOENT if unknown. */
int dp_event_counts_get(struct dp_engine *eng, uint32_t event_id, struct dp_part_counts *out);
/* The raw state word of one seat or serial; -ENOENT / -ERANGE. */
int dp_seat_word(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, uint32_t idx, uint64_t *word_out);
/*
 * One page of a part's seat map: for seats first..first+count-1 (clipped to
 * the part), one byte each: state in bits 0-1 (enum dp_seat_state), tier in
 * bits 2-7. *got_out is the number written; counts are the part's.
 * Errors: -ENOENT (event or part), -ERANGE (first past the end, or count 0).
 */
int dp_seat_map_page(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, uint32_t first, uint32_t count,
		     uint8_t *out, uint32_t *got_out, struct dp_part_counts *counts);
/* An event's sale settings; state is the effective one at now_ms.
 * Errors: -ENOENT. */
int dp_event_sale_get(struct dp_engine *eng, uint32_t event_id, uint64_t now_ms, struct dp_sale_view *out);
/* Buyer requests and replies by status of one event, summed over workers
 * (each worker's counts may be a request old). Errors: -ENOENT. */
int dp_event_stats_get(struct dp_engine *eng, uint32_t event_id, struct dp_event_stats *out);
/* Tickets held plus bought by one client in one event (0 if unknown). */
uint32_t dp_buyer_count(struct dp_engine *eng, uint32_t event_id, uint64_t client_id);
/* Look up an order; -ENOENT if unknown. */
int dp_order_get(struct dp_engine *eng, uint64_t order_id, struct dp_order_view *out);
/* Orders made so far by one worker (order ids are dp_order_id(worker, 1..n)). */
uint64_t dp_worker_orders(const struct dp_worker *w);

/* ---- waiting room (dp_queue.c, docs/waiting-room.md) ----
 *
 * Workers (per request, lock-free, no malloc/syscall/log) answer QUEUE_JOIN
 * and QUEUE_POLL and check HOLD_* tokens with the engine's RCU-published key
 * set; the control path freezes the pre-queue at opening, tops up the
 * durable reservations, admits and switches the room.
 */

/*
 * QUEUE_JOIN of client_id for event_id at now_ms (worker thread, QSBR
 * online). Always fills *out and returns out->status: OK (state NO_QUEUE
 * when the room is not active; PREQUEUE with a pre-queue ticket before
 * the on-sale time; else WAITING or ADMITTED with a ticket or access
 * token), NOT_FOUND/event, BUSY/queue_reserve_full (retry_after_ms set:
 * the reservation is used up; nothing taken), UNAVAILABLE/no_keys.
 */
int dp_queue_join(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, uint64_t now_ms,
		  struct dp_queue_answer *out);

/*
 * QUEUE_POLL with ticket (DP_TOKEN_SIZE bytes, any content; not NULL).
 * Stateless: the same ticket gives the same position. Returns out->status:
 * OK as dp_queue_join (the ticket itself in out->token while WAITING or
 * PREQUEUE; once ADMITTED, an access token expiring at the admission time +
 * the purchase window, the same at every poll), NOT_FOUND/event, BAD_TOKEN
 * with a token_* detail (nothing changes; token_expired for an admitted
 * ticket whose purchase window is over, or whose admission is older than the
 * DP_ADMIT_STEPS_MAX steps remembered: join again), UNAVAILABLE/no_keys
 * while active without keys.
 */
int dp_queue_poll(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, const uint8_t *ticket,
		  uint64_t now_ms, struct dp_queue_answer *out);

/*
 * May rq (a HOLD_* of rq->client_id in rq->event_id) run, given the access
 * token (DP_TOKEN_SIZE bytes, or NULL when none was sent)? Worker thread.
 * Returns DP_S_OK (room not active, unknown event, or a valid token),
 * DP_S_NOT_ADMITTED (active, no token or no keys) or DP_S_BAD_TOKEN with
 * *detail set to the token_* reason; *detail is DP_D_NONE otherwise.
 * Before the on-sale time of an event with presale windows: DP_S_CLOSED
 * with presale_only (no token, or one not flagged PRESALE) or code_window
 * (its window not open now), BAD_TOKEN as above, or DP_S_OK with
 * DP_REQ_F_PRESALE set in rq->flags (the hold may then run while the sale
 * is still `scheduled`).
 */
int dp_queue_hold_check(struct dp_engine *eng, struct dp_request *rq, const uint8_t *token, uint64_t now_ms,
			uint8_t *detail);

/*
 * Control path, periodically (every few ms) and at start: for every event,
 * freeze the pre-queue once now_ms >= on_sale_ms (draw the per-opening
 * secret, store n and it, then publish the permutation) and top up each
 * reservation (durably) when its counter is within DP_QUEUE_RESERVE / 2 of
 * it. The first call after a restart also seeds the admission steps with
 * {admitted, now_ms}: buyers admitted before the restart get a purchase
 * window from now (the steps are not stored). Returns 0, or the first storage / OpenSSL error (-EIO); what failed is
 * retried at the next call, nothing is published before it is stored.
 */
int dp_queue_tick(struct dp_engine *eng, uint64_t now_ms);

/*
 * Set the admitted position (positions below it are admitted) and the
 * measured admission rate (for wait estimates; rate_per_s may be NULL to
 * keep it) at now_ms. Durable first. A position that moves appends an
 * admission step {admitted, now_ms}: the access tokens of the positions it
 * admits expire at now_ms + the purchase window, however often they poll.
 * Control path. Errors: -ENOENT (event), -ERANGE (admitted below the current
 * admitted position; nothing changes), or a storage error.
 */
int dp_queue_admit(struct dp_engine *eng, uint32_t event_id, uint64_t admitted, const uint32_t *rate_per_s,
		   uint64_t now_ms);

/*
 * Switch the room of an `auto` event on or off (durable first). Control
 * path. Errors: -ENOENT, -EPERM (mode on or off: fixed by the inventory),
 * or a storage error.
 */
int dp_queue_set_active(struct dp_engine *eng, uint32_t event_id, int active);

/* An event's waiting-room state. Control path or any QSBR reader.
 * Errors: -ENOENT. */
int dp_queue_get(struct dp_engine *eng, uint32_t event_id, struct dp_queue_view *out);

/*
 * Publish a new key set (ownership passes to the engine; NULL = no keys)
 * and free the old one after a grace period. Control path, QSBR-registered
 * thread. Never fails.
 */
void dp_engine_keys_set(struct dp_engine *eng, struct dp_keys *ks);

/*
 * Count one buyer request answered outside dp_execute (queue opcodes, holds
 * refused by the token check) in event_id's request counters, as dp_execute
 * counts its own: worker thread of w only; an unknown event or a status out
 * of range is not counted. No malloc, syscall, lock or log.
 */
void dp_worker_count_event(struct dp_worker *w, uint32_t event_id, int status);

/* "off", "on", "auto" ("unknown" otherwise). */
const char *dp_wr_mode_name(int mode);

/* ---- presale windows (dp_presale_ctl.c, docs/waiting-room.md "Presale windows") ---- */

/*
 * QUEUE_JOIN with a presale code (code_len bytes, 1..DP_PRESALE_CODE_MAX;
 * code NULL: none, as dp_queue_join). Worker thread. Before the on-sale time
 * of an event with presale windows: CLOSED/presale_only (no code),
 * NOT_FOUND/code_unknown, CLOSED/code_window, LIMIT/code_used_up,
 * BUSY/code_pending (retry_after_ms DP_PRESALE_PENDING_RETRY_MS), or OK:
 * a ticket flagged PRESALE (room active) or ADMITTED with a presale access
 * token (room not active). Otherwise the code is ignored.
 */
int dp_queue_join_code(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, const uint8_t *code,
		       unsigned code_len, uint64_t now_ms, struct dp_queue_answer *out);

/*
 * Store every event's new redemptions (at most DP_PRESALE_FLUSH_MAX each),
 * then mark them durable. Control thread only (the single flusher). Returns
 * 0 or the first storage error; *pending_out (may be NULL): redemptions
 * still not durable afterwards.
 */
int dp_presale_flush(struct dp_engine *eng, uint64_t *pending_out);
/* Redemptions taken and not yet durable, all events. Control path. */
uint64_t dp_presale_pending(struct dp_engine *eng);

struct dp_presale_window_view {
	char name[DP_NAME_MAX];
	uint64_t start_ms, end_ms;
	uint32_t codes;  /* codes and members */
	uint64_t uses;   /* their limits summed */
	uint64_t used;   /* durable redemptions */
};
struct dp_presale_view {
	uint32_t n_windows; /* 0: no presale */
	uint32_t n_codes;   /* all windows */
	struct dp_presale_window_view w[DP_PRESALE_WINDOWS_MAX];
};
struct dp_presale_code_view {
	char code[DP_PRESALE_CODE_MAX + 1];
	uint8_t window;
	uint32_t uses;
	uint32_t used; /* durable redemptions (may exceed uses after a reload lowered them) */
};
/* An event's presale windows. Control path. Errors: -ENOENT. */
int dp_presale_get(struct dp_engine *eng, uint32_t event_id, struct dp_presale_view *out);
/* Code i (0..n_codes-1, windows in order). Errors: -ENOENT, -ERANGE. */
int dp_presale_code_get(struct dp_engine *eng, uint32_t event_id, uint32_t i, struct dp_presale_code_view *out);

/* ---- seat word decoding ---- */
static inline enum dp_seat_state dp_seat_word_state(uint64_t w) { return (enum dp_seat_state)(w >> 62); }
/* HELD: the hold reference (worker << 24 | slot). */
static inline uint32_t dp_seat_word_hold_ref(uint64_t w) { return (uint32_t)(w >> 30); }
/* SOLD: the order id. */
static inline uint64_t dp_seat_word_order(uint64_t w) { return w & ((1ull << 62) - 1); }

/* Order ids: worker in the top bits, 1-based sequence below. */
#define DP_ORDER_SEQ_BITS 54
static inline uint64_t dp_order_id(unsigned worker, uint64_t seq) { return ((uint64_t)worker << DP_ORDER_SEQ_BITS) | seq; }
static inline unsigned dp_order_worker(uint64_t id) { return (unsigned)(id >> DP_ORDER_SEQ_BITS); }
static inline uint64_t dp_order_seq(uint64_t id) { return id & ((1ull << DP_ORDER_SEQ_BITS) - 1); }

/* Hold ids: worker 8 bits, slot 24 bits, generation 32 bits. */
static inline unsigned dp_hold_worker(uint64_t id) { return (unsigned)(id >> 56); }
static inline uint32_t dp_hold_slot(uint64_t id) { return (uint32_t)(id >> 32) & 0xffffffu; }
static inline uint32_t dp_hold_gen(uint64_t id) { return (uint32_t)id; }

/* The effective state: SCHEDULED becomes OPEN once now_ms >= on_sale_ms. */
static inline int dp_sale_effective(int state, uint64_t on_sale_ms, uint64_t now_ms)
{
	return state == DP_SALE_SCHEDULED && now_ms >= on_sale_ms ? DP_SALE_OPEN : state;
}
/* "scheduled", "open", "paused", "closed" ("unknown" otherwise). */
const char *dp_sale_state_name(int state);
/* "expired", "not_due", "released", "ended", "not_found", "busy", "unavailable". */
const char *dp_end_result_name(int result);

const char *dp_status_name(int status);
const char *dp_detail_name(int detail);

#endif
