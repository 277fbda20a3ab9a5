/*
 * ctl_ledger.h - stampede-control's read-only view of the dataplane's LMDB
 * data directory (docs/control.md, "Hold expiry").
 *
 * The ledger opens the environment with MDB_RDONLY from another process and
 * FOLLOWS the `log` database: each ctl_ledger_follow() reads the batches
 * whose key is above the last one it read, in short read transactions (never
 * one held across calls, so the writer can reuse its pages), and applies
 * their records:
 *
 *   HOLD                      a live hold (event, part, kind, client, items,
 *                             created time_ms, expiry_ms)
 *   CONFIRM                   ends the hold; an order (order id, hold id,
 *                             time, and the hold's event/part/kind/client/items)
 *   RELEASE, EXPIRE           end the hold
 *
 * Event definitions (the `events` database, dp_codec.h blobs) are read by
 * ctl_ledger_refresh_events() for names, row labels, seat numbers, tiers and
 * prices.
 *
 * Single-threaded: one thread owns a ledger. Nothing here blocks for long.
 *
 * Error convention: 0 (or a count) on success, or a negative errno-style code
 * or an LMDB code (negative, -30799..-30780); every function lists its own.
 * Functions that take `err`/`errlen` also write one line for a person there
 * (err may be NULL).
 */
#ifndef STAMPEDE_CTL_LEDGER_H
#define STAMPEDE_CTL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_types.h"
#include "storage/st_record.h"

/* Limits. Tables grow on demand up to these; passing one is an error. */
#define CTL_LEDGER_HOLDS_MAX (4u << 20)      /* live holds tracked at once */
#define CTL_LEDGER_ORDERS_MAX (4u << 20)     /* orders kept for export */
#define CTL_LEDGER_EVENTS_MAX DP_EVENTS_MAX  /* event definitions kept */
#define CTL_LEDGER_FOLLOW_BATCHES_MAX 1024u  /* batches read in one read transaction */
/* A due hold is offered again after this. Short, because a `not_due` answer
 * (the dataplane's clock a little behind ours) must not cost the buyers a
 * second; longer than a sweep plus a commit, so an EXPIRE on its way to LMDB
 * is seen before the hold would be offered twice. */
#define CTL_LEDGER_RETRY_MS 200u
#define CTL_LEDGER_ERR_BYTES 256             /* suggested size of err buffers */
/* ctl_ledger_buyers_since examines at most this many of the newest orders
 * (its cost per call, and so per pacing sweep, is bounded by it) ... */
#define CTL_LEDGER_BUYERS_SCAN_MAX 65536u
/* ... and stops at the first order this much older than `since` (log order
 * follows commit order, so order times are nearly but not strictly sorted). */
#define CTL_LEDGER_ORDER_SKEW_MS 5000u

struct ctl_ledger;

/* One live hold (a copy; valid until the next call on the ledger). */
struct ctl_hold {
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t created_ms; /* the HOLD record's time_ms */
	uint64_t expiry_ms;
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind;    /* enum st_part_kind */
	uint8_t n_items; /* 0..ST_HOLD_ITEMS_MAX */
	uint32_t items[ST_HOLD_ITEMS_MAX];
};

/* One order (a confirmed hold). items are the hold's. */
struct ctl_order {
	uint64_t order_id;
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t time_ms; /* the CONFIRM record's time_ms */
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind;
	uint8_t n_items;
	uint32_t items[ST_HOLD_ITEMS_MAX];
};

/* Filters for live-hold iteration. 0 / false means "any". */
struct ctl_hold_filter {
	uint32_t event_id;      /* 0: every event */
	uint32_t part_id;       /* 0: every part (needs event_id to be meaningful) */
	uint64_t older_than_ms; /* 0: any age; else created_ms + older_than_ms <= now_ms */
	uint64_t now_ms;        /* the clock older_than_ms is measured against */
};

/* One exported ticket (docs/control.md, "export"). Strings point into the
 * ledger and are valid until the next call on it; NULL when unknown (the
 * event definition is missing or does not name that part). */
struct ctl_export_row {
	uint64_t order_id;
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t time_ms;
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind;          /* ST_KIND_SEAT: row/seat set; ST_KIND_GA: serial set */
	const char *part_name;
	const char *row;       /* seat only */
	uint32_t seat;         /* seat only: the seat number in its row */
	uint32_t serial;       /* GA only */
	bool tier_known;
	uint8_t tier;
	const char *tier_name;
	uint32_t price_cents;  /* valid when tier_known and tier_name != NULL */
	bool item_known;       /* false: the item is outside the event definition */
};

/* Counters of what the ledger has seen (for status and tests). */
struct ctl_ledger_stats {
	uint64_t last_batch;     /* key of the last batch applied (0: none) */
	uint64_t records;        /* records applied */
	uint64_t holds_live;
	uint64_t orders;
	uint64_t ended_unknown;  /* CONFIRM/RELEASE/EXPIRE of a hold never seen */
	uint64_t holds_repeated; /* HOLD of an id already live (replaced) */
	unsigned events;         /* event definitions known */
	uint64_t last_record_ms; /* time_ms of the newest record applied (0: none) */
};

/*
 * Open the LMDB environment in dir read-only. Reads nothing yet: call
 * ctl_ledger_refresh_events() and ctl_ledger_follow(). dir must be non-NULL.
 * Reader slots left by dead processes (a killed stampede-control) are
 * cleared (mdb_reader_check) so they do not pin old pages.
 * Errors: -EINVAL (dir empty or longer than 4000 bytes), -ENOENT (no environment there yet, or its
 * `log`/`events` database does not exist yet: the dataplane has never run
 * on it), -EACCES, -ENOMEM, or an LMDB code (MDB_INVALID, MDB_VERSION_MISMATCH,
 * ...). On error *out is NULL and nothing is left open.
 */
int ctl_ledger_open(const char *dir, struct ctl_ledger **out, char *err, size_t errlen);

/* Close and free everything. NULL is accepted. */
void ctl_ledger_close(struct ctl_ledger *l);

/*
 * Read the batches committed since the last call (at most
 * CTL_LEDGER_FOLLOW_BATCHES_MAX per read transaction, as many transactions
 * as needed) and apply them. Returns the number of records applied (>= 0),
 * or:
 *   MDB_CORRUPTED  a batch or key that does not decode: err names its key;
 *                  nothing of that batch is applied and following stops
 *                  before it (later calls return the same error)
 *   -ENOSPC        applying the batch would pass CTL_LEDGER_HOLDS_MAX or
 *                  CTL_LEDGER_ORDERS_MAX: nothing of it is applied
 *   -ENOMEM, or an LMDB code from the read transaction.
 * Records of batches before a failing one stay applied (their count is lost
 * from the return value but shows in ctl_ledger_stats).
 */
long long ctl_ledger_follow(struct ctl_ledger *l, char *err, size_t errlen);

/*
 * Re-read the `events` database; definitions whose bytes changed are decoded
 * again (dp_event_def_decode), removed ones are dropped. Returns the number
 * of definitions now known, or:
 *   -EINVAL   a blob does not decode (err names the event and where): that
 *             event keeps its previous definition (if any); the others are
 *             still refreshed
 *   MDB_CORRUPTED  a key is not a u32
 *   -ENOSPC   more than CTL_LEDGER_EVENTS_MAX events
 *   -ENOMEM, or an LMDB code.
 */
int ctl_ledger_refresh_events(struct ctl_ledger *l, char *err, size_t errlen);

/* The definition of one event, or NULL (unknown or never decoded). Valid
 * until the next ctl_ledger_refresh_events(). */
const struct dp_event_def *ctl_ledger_event(const struct ctl_ledger *l, uint32_t event_id);

/* Name of a part of an event (section or GA type), or NULL. */
const char *ctl_ledger_part_name(const struct ctl_ledger *l, uint32_t event_id, uint32_t part_id);

/* Counters. l and out must be non-NULL. */
void ctl_ledger_stats(const struct ctl_ledger *l, struct ctl_ledger_stats *out);

/* Whether hold_id is live now. */
bool ctl_ledger_hold_live(const struct ctl_ledger *l, uint64_t hold_id);

/*
 * Call cb for each live hold matching f (NULL: all), oldest first (created_ms,
 * then hold_id). A non-zero return of cb stops the walk and is returned.
 * Returns 0, cb's value, or -ENOMEM.
 */
typedef int (*ctl_hold_cb)(void *ctx, const struct ctl_hold *h);
int ctl_ledger_holds(const struct ctl_ledger *l, const struct ctl_hold_filter *f, ctl_hold_cb cb, void *ctx);

/*
 * Due holds: fill ids with at most max live holds whose expiry_ms <= now_ms
 * and that were not offered in the last CTL_LEDGER_RETRY_MS; each one
 * returned is offered again only after CTL_LEDGER_RETRY_MS if it is still
 * live then (so a hold the dataplane answers `not_due` for is retried, and
 * one it expired is not sent twice while its EXPIRE record is on its way).
 * Returns how many were written (0..max). ids must hold max entries.
 */
size_t ctl_ledger_due(struct ctl_ledger *l, uint64_t now_ms, uint64_t *ids, size_t max);

/*
 * Call cb for every ticket of every order (of event_id, 0: all), in log
 * order, items in hold order. Returns 0, cb's first non-zero value.
 */
/*
 * Distinct buyers (client ids) of event_id with an order (a CONFIRM record)
 * whose time_ms >= since_ms, for the waiting room's active-shopper count
 * (docs/waiting-room.md, "Pacing"). Walks back from the newest order, over at
 * most CTL_LEDGER_BUYERS_SCAN_MAX orders, stopping at the first order older
 * than since_ms - CTL_LEDGER_ORDER_SKEW_MS; so with more orders than that in
 * the window it undercounts (which admits fewer buyers, never more).
 * Returns the count (>= 0), -EINVAL (l NULL or event_id 0, nothing done), or
 * -ENOMEM.
 */
long long ctl_ledger_buyers_since(const struct ctl_ledger *l, uint32_t event_id, uint64_t since_ms);

typedef int (*ctl_export_cb)(void *ctx, const struct ctl_export_row *row);
int ctl_ledger_export(const struct ctl_ledger *l, uint32_t event_id, ctl_export_cb cb, void *ctx);

#endif
