/*
 * dp_types.h - the reservation core's public types: limits, status codes,
 * event definitions, requests and replies. Functions are in dp_engine.h.
 */
#ifndef STAMPEDE_DP_TYPES_H
#define STAMPEDE_DP_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/st_record.h"

/* ---- named limits (compile time) ---- */
#define DP_WORKERS_MAX 64            /* worker lcores; hold/order ids carry 8 bits */
#define DP_EVENTS_MAX 256            /* events loaded at once */
#define DP_PARTS_MAX 4096            /* sections + GA types in one event */
#define DP_PART_SEATS_MAX (1u << 20) /* seats in one section / tickets in one GA type */
#define DP_HOLD_TICKETS_MAX ST_HOLD_ITEMS_MAX /* tickets in one hold */
#define DP_NAME_MAX 48               /* names, NUL included */
#define DP_ROW_LABEL_MAX 8           /* row labels, NUL included */
#define DP_TIERS_MAX 64              /* price tiers in one event */
#define DP_GA_TRANSFER_MAX 256       /* serials moved between GA slices at once */

/* ---- defaults and bounds of per-event settings ---- */
#define DP_HOLD_TTL_MS_DEFAULT (10u * 60u * 1000u)
#define DP_HOLD_TTL_MS_MIN (5u * 1000u) /* short holds for rehearsals and tests; on-sales use minutes */
#define DP_HOLD_TTL_MS_MAX (24u * 60u * 60u * 1000u)
#define DP_BUYER_LIMIT_DEFAULT 8
#define DP_BUYER_LIMIT_MAX 1000

/* ---- status of every reply (the wire protocol carries these numbers) ---- */
enum dp_status {
	DP_S_OK = 0,
	DP_S_TAKEN = 1,       /* a named seat is held or sold; alt[] offers others */
	DP_S_SOLD_OUT = 2,    /* not enough free tickets; `available` says how many are */
	DP_S_EXPIRED = 3,     /* the hold lapsed before confirm */
	DP_S_LIMIT = 4,       /* per-buyer limit (held + bought) would be passed */
	DP_S_NOT_FOUND = 5,   /* unknown event, section, type, hold or order (see detail) */
	DP_S_BAD_REQUEST = 6, /* malformed or inconsistent request (see detail) */
	DP_S_BAD_TOKEN = 7,   /* waiting-room token refused */
	DP_S_NOT_ADMITTED = 8,/* waiting room: not yet admitted */
	DP_S_BUSY = 9,        /* overloaded or rebalancing: retry after retry_after_ms */
	DP_S_UNAVAILABLE = 10,/* storage stopped or a table is full: mutations refused */
	DP_S_NOT_YOURS = 11,  /* the hold belongs to another client */
	DP_S_RELEASED = 12,   /* the hold was already released */
	DP_S_CLOSED = 13,     /* the event is not on sale (paused, closed, not open yet) */
	DP_S__COUNT
};

/* Finer reason carried with a status, for logs, counters and clients. */
enum dp_detail {
	DP_D_NONE = 0,
	DP_D_QTY_ZERO,          /* BAD_REQUEST: quantity 0 */
	DP_D_QTY_TOO_MANY,      /* BAD_REQUEST: more than DP_HOLD_TICKETS_MAX or the buyer limit */
	DP_D_DUP_SEAT,          /* BAD_REQUEST: the same seat twice in one request */
	DP_D_SEAT_RANGE,        /* BAD_REQUEST: seat index outside the section */
	DP_D_IDEM_MISMATCH,     /* BAD_REQUEST: request id reused for a different request */
	DP_D_BAD_CLIENT,        /* BAD_REQUEST: client id 0 */
	DP_D_BAD_OP,            /* BAD_REQUEST: unknown operation */
	DP_D_WRONG_WORKER,      /* BAD_REQUEST: routed to a worker that does not own it */
	DP_D_WRONG_KIND,        /* BAD_REQUEST: seat op on a GA type or the reverse */
	DP_D_EVENT,             /* NOT_FOUND: event */
	DP_D_PART,              /* NOT_FOUND: section or GA type */
	DP_D_HOLD,              /* NOT_FOUND: hold */
	DP_D_ORDER,             /* NOT_FOUND: order */
	DP_D_WITHHELD,          /* TAKEN: seat withheld from sale */
	DP_D_REBALANCING,       /* BUSY: stock is moving between workers */
	DP_D_LOG_FULL,          /* BUSY: storage ring full */
	DP_D_STORAGE,           /* UNAVAILABLE: storage failed */
	DP_D_HOLDS_FULL,        /* UNAVAILABLE: hold table full */
	DP_D_ORDERS_FULL,       /* UNAVAILABLE: order table full */
	DP_D_BUYERS_FULL,       /* UNAVAILABLE: buyer table full */
	DP_D_CONFIRMED,         /* OK: hold was already confirmed; order repeated */
	DP_D_REPLAY,            /* OK/any: answered from the idempotency record */
	DP_D_RETRY_MEMORY,      /* BUSY: the retry memory is full of entries younger than its horizon */
	DP_D_TOKEN_MALFORMED,   /* BAD_TOKEN: version, kind or flags wrong */
	DP_D_TOKEN_UNKNOWN_KEY, /* BAD_TOKEN: signed by a key not live (older than two rotations) */
	DP_D_TOKEN_FORGED,      /* BAD_TOKEN: MAC does not match */
	DP_D_TOKEN_WRONG_KIND,  /* BAD_TOKEN: a ticket where an access token is needed, or the reverse */
	DP_D_TOKEN_WRONG_EVENT, /* BAD_TOKEN: signed for another event */
	DP_D_TOKEN_WRONG_CLIENT,/* BAD_TOKEN: signed for another client id */
	DP_D_TOKEN_EXPIRED,     /* BAD_TOKEN: the access token's purchase window is over */
	DP_D_QUEUE_RESERVE,     /* BUSY: the queue's reserved positions are used up; retry */
	DP_D_NO_KEYS,           /* UNAVAILABLE: waiting room active but the dataplane has no keys */
	DP_D_PRESALE_ONLY,      /* CLOSED: before the on-sale time only presale buyers may join or hold */
	DP_D_CODE_UNKNOWN,      /* NOT_FOUND: no presale window of this event has that code */
	DP_D_CODE_WINDOW,       /* CLOSED: the code's (or the access token's) presale window is not open now */
	DP_D_CODE_USED_UP,      /* LIMIT: the code's uses are all taken by other buyers */
	DP_D_CODE_PENDING,      /* BUSY: this buyer's use of the code is being made durable; retry */
	DP_D__COUNT
};

/* ---- seat flags in definitions ---- */
#define DP_SEAT_ACCESSIBLE 0x01u
#define DP_SEAT_WITHHELD 0x02u  /* never sold through buyer requests */

/* ---- event definitions (what inventory loading produces) ---- */
struct dp_seat_def {
	uint16_t row;    /* row index in the section; seats are adjacent when rows match and numbers differ by 1 */
	uint16_t number; /* seat number within the row */
	uint8_t tier;    /* price tier id */
	uint8_t flags;   /* DP_SEAT_* */
};

struct dp_section_def {
	uint32_t id;
	char name[DP_NAME_MAX];
	uint32_t n_rows;
	char (*row_labels)[DP_ROW_LABEL_MAX]; /* n_rows labels */
	uint32_t n_seats;                     /* 1..DP_PART_SEATS_MAX, best first */
	struct dp_seat_def *seats;
};

struct dp_ga_def {
	uint32_t id;     /* shares the id space of sections within an event */
	char name[DP_NAME_MAX];
	uint32_t capacity; /* 1..DP_PART_SEATS_MAX serials 0..capacity-1 */
	uint8_t tier;
};

struct dp_tier_def {
	uint8_t id;
	char name[DP_NAME_MAX];
	uint32_t price_cents;
};

struct dp_event_def {
	uint32_t id;                /* non-zero */
	char name[DP_NAME_MAX];
	uint32_t hold_ttl_ms;       /* DP_HOLD_TTL_MS_MIN..MAX */
	uint32_t buyer_limit;       /* 1..DP_BUYER_LIMIT_MAX tickets held plus bought */
	uint32_t n_tiers;
	struct dp_tier_def *tiers;
	uint32_t n_sections;
	struct dp_section_def *sections;
	uint32_t n_ga;
	struct dp_ga_def *ga;
};

/* ---- sale state of an event (docs/control.md, "Sale state") ---- */
enum dp_sale_state {
	DP_SALE_SCHEDULED = 1, /* loaded with an on-sale time: open once now_ms >= on_sale_ms */
	DP_SALE_OPEN = 2,
	DP_SALE_PAUSED = 3,
	DP_SALE_CLOSED = 4,
};

/* ---- presale windows (docs/waiting-room.md, "Presale windows") ---- */
#define DP_PRESALE_WINDOWS_MAX 8          /* windows per event (token bits 2..4) */
#define DP_PRESALE_CODE_MAX 32            /* bytes of a code: printable ASCII, no space */
#define DP_PRESALE_SLOTS_MAX (1u << 20)   /* redemption slots per event: the sum of every code's uses */
#define DP_PRESALE_PENDING_RETRY_MS 2u    /* code_pending: retry after this long */
#define DP_PRESALE_FLUSH_MS 2u            /* the control thread stores new redemptions at most this often */
#define DP_PRESALE_FLUSH_MAX 65536u       /* redemptions stored in one write transaction at most */

/* One code (or member) of a presale window and its use limit. */
struct dp_presale_code {
	char code[DP_PRESALE_CODE_MAX + 1]; /* NUL-terminated */
	uint32_t uses;                      /* 1..: distinct client ids that may redeem it */
};

/* One presale window: codes and members alike (a member is a code of its own). */
struct dp_presale_window {
	char name[DP_NAME_MAX];
	uint64_t start_ms; /* Unix ms, inclusive */
	uint64_t end_ms;   /* Unix ms, exclusive; > start_ms */
	uint32_t n_codes;
	const struct dp_presale_code *codes;
};

/* An event's presale windows as loaded (n_windows 0: none). */
struct dp_presale_def {
	uint32_t n_windows; /* 0..DP_PRESALE_WINDOWS_MAX */
	struct dp_presale_window windows[DP_PRESALE_WINDOWS_MAX];
};

/* Waiting-room mode of an event (inventory `waiting_room.enabled`). */
enum dp_wr_mode {
	DP_WR_OFF = 0,  /* never active */
	DP_WR_ON = 1,   /* always active */
	DP_WR_AUTO = 2, /* starts inactive; switched by stampede-control (`waiting-room`) */
};

/* What loading an inventory sets beside the definition. */
struct dp_sale_settings {
	uint64_t on_sale_ms;          /* Unix ms; 0 = open as soon as loaded */
	uint32_t max_active_shoppers; /* waiting room (paced by stampede-control) */
	uint32_t admission_per_s;
	uint8_t wr_mode;              /* enum dp_wr_mode */
	uint32_t purchase_window_ms;  /* access-token lifetime; 0 = DP_PURCHASE_WINDOW_MS_DEFAULT */
	uint32_t threshold_rps;       /* auto: kept for stampede-control (`queue` reports it) */
	const struct dp_presale_def *presale; /* NULL or no windows: no presale (copied at load) */
	uint8_t presale_keep; /* reload: keep the loaded windows and codes (a member list was not sent) */
};

/* ---- waiting room (docs/waiting-room.md) ---- */
#define DP_QUEUE_RESERVE 65536u              /* positions reserved durably ahead of a counter */
#define DP_QUEUE_SEQ_MAX (UINT64_C(1) << 32) /* sequences of one counter (pre-queue permutation domain) */
#define DP_PURCHASE_WINDOW_MS_DEFAULT (10u * 60u * 1000u)
#define DP_WAIT_MS_MAX UINT32_MAX
#define DP_QUEUE_SAVE_MS 1000u    /* the tick stores changed counters at most this often */
#define DP_ADMIT_STEPS_MAX 4096u  /* admission steps remembered per event (access-token windows) */
#define DP_ADMIT_READ_TRIES 4u    /* lookups retried when the ring is overwritten under a reader */

/* Queue reply states (= enum proto_queue_state on the wire). */
enum dp_queue_state { DP_QS_WAITING = 0, DP_QS_ADMITTED = 1, DP_QS_NO_QUEUE = 2, DP_QS_PREQUEUE = 3 };

/* The answer to QUEUE_JOIN / QUEUE_POLL. status DP_S_OK: state, position,
 * ahead, wait_ms and token are set; otherwise only status, detail and
 * retry_after_ms (BUSY). */
struct dp_queue_answer {
	uint8_t status; /* enum dp_status */
	uint8_t detail; /* enum dp_detail */
	uint8_t state;  /* enum dp_queue_state */
	uint32_t retry_after_ms;
	uint32_t wait_ms;
	uint64_t position;
	uint64_t ahead;
	uint8_t token[64]; /* DP_TOKEN_SIZE: ticket, access token, or zeros */
};

/* An event's waiting-room state as read back (dp_queue_get). */
struct dp_queue_view {
	uint8_t mode;   /* enum dp_wr_mode */
	uint8_t active;
	uint8_t opened; /* the pre-queue is frozen and its order drawn */
	uint64_t prequeue;    /* pre-queue joins (n once frozen) */
	uint64_t joined;      /* regular joins so far */
	uint64_t admitted;    /* positions below this are admitted */
	uint64_t pre_reserve; /* durable reservations */
	uint64_t reg_reserve;
	uint32_t rate_per_s;
	uint32_t purchase_window_ms;
	uint32_t threshold_rps;
	uint64_t unissued; /* positions below the counters skipped at restarts, never issued */
};

/* An event's sale settings as read back (dp_event_sale_get). */
struct dp_sale_view {
	uint8_t state;        /* effective: SCHEDULED reads OPEN once its time has come */
	uint8_t stored_state; /* as stored (SCHEDULED stays SCHEDULED) */
	uint64_t on_sale_ms;
	uint32_t max_active_shoppers;
	uint32_t admission_per_s;
};

/* What dp_engine_load_event did. */
enum dp_load_action { DP_LOAD_ADDED = 1, DP_LOAD_RELOADED = 2, DP_LOAD_UNCHANGED = 3 };

/* Result of an operator expire/release of one hold (dp_worker_end_hold). */
enum dp_end_result {
	DP_END_EXPIRED = 0,     /* expire: the hold was due and is expired now */
	DP_END_NOT_DUE = 1,     /* expire: the hold's expiry has not come */
	DP_END_RELEASED = 2,    /* release: the hold was active and is released now */
	DP_END_ENDED = 3,       /* already confirmed, released or expired */
	DP_END_NOT_FOUND = 4,   /* bad worker, slot or generation */
	DP_END_BUSY = 5,        /* the worker's log ring is full: nothing changed, retry */
	DP_END_UNAVAILABLE = 6, /* storage has failed: nothing changed */
	DP_END__COUNT
};

/* Buyer requests of one event since start, summed over workers. */
struct dp_event_stats {
	uint64_t requests;
	uint64_t status[DP_S__COUNT];
};

/* ---- requests ---- */
enum dp_op {
	DP_OP_HOLD_SEATS = 1, /* named seats in one section */
	DP_OP_HOLD_BEST = 2,  /* n best adjacent seats in one section (tier 0 = any) */
	DP_OP_HOLD_GA = 3,    /* n general-admission tickets of one type */
	DP_OP_CONFIRM = 4,    /* hold_id -> order, with payment_ref */
	DP_OP_RELEASE = 5,    /* give hold_id back */
};

struct dp_request {
	uint8_t op;       /* enum dp_op */
	uint8_t n;        /* seats listed, or quantity wanted */
	uint8_t tier;     /* HOLD_BEST: 0 = any tier */
	uint8_t flags;    /* DP_REQ_F_* */
	uint32_t event_id;
	uint32_t part_id; /* section id or GA type id */
	uint64_t client_id;  /* non-zero */
	uint64_t request_id;
	uint64_t hold_id; /* CONFIRM, RELEASE */
	uint32_t seats[DP_HOLD_TICKETS_MAX]; /* HOLD_SEATS: seat indexes */
	uint8_t payment_ref[ST_PAYMENT_REF_SIZE];
};

/* RELEASE issued by the operator: any client's hold, not a buyer reply. */
#define DP_REQ_F_OPERATOR 0x01u
/* HOLD_*: set by dp_queue_hold_check only, after a valid presale access token
 * whose window is open: the hold may run before the on-sale time. */
#define DP_REQ_F_PRESALE 0x02u

/* ---- replies ---- */
struct dp_reply {
	uint8_t status;  /* enum dp_status */
	uint8_t detail;  /* enum dp_detail */
	uint8_t n_items; /* tickets held or ordered */
	uint8_t n_alt;   /* TAKEN: alternative seats offered (not held) */
	uint32_t event_id;
	uint32_t part_id;
	uint32_t retry_after_ms; /* BUSY */
	uint32_t available;      /* SOLD_OUT: tickets still free in the part */
	uint32_t _pad;
	uint64_t hold_id;
	uint64_t order_id;
	uint64_t expiry_ms;      /* hold expiry */
	/*
	 * 0: may leave now. Otherwise the reply reports a mutation, or a refusal
	 * that depends on earlier ones, and may leave only once
	 * st_log_durable(worker's log) >= wait_seq.
	 */
	uint64_t wait_seq;
	uint32_t items[DP_HOLD_TICKETS_MAX]; /* seat indexes or GA serials */
	uint32_t alt[DP_HOLD_TICKETS_MAX];
};

/* ---- engine configuration: table sizes fixed at start ---- */
struct dp_config {
	unsigned workers;        /* 1..DP_WORKERS_MAX */
	uint32_t holds_max;      /* per worker, <= 2^24 */
	uint32_t orders_max;     /* per worker */
	uint32_t idem_max;       /* per worker: mutations remembered for retries */
	uint32_t idem_horizon_ms; /* an entry younger than this is never forgotten: new mutations get BUSY */
	uint32_t buyers_max;     /* per event: distinct buyers tracked for the limit */
	uint32_t expire_scan_per_tick; /* hold slots examined per dp_worker_tick (0: no sweep) */
	uint32_t busy_retry_ms;  /* retry_after_ms given with BUSY */
};

#define DP_HOLDS_MAX_DEFAULT (1u << 18)
#define DP_ORDERS_MAX_DEFAULT (1u << 19)
#define DP_IDEM_MAX_DEFAULT (1u << 21) /* 144 B each: ~300 MiB per worker; the horizon at 1 M mutations/s */
/* libstampede-client finishes its retries within 1.2 s (6 x 200 ms); buyers
 * count anything past 2-3 s as a failure. */
#define DP_IDEM_HORIZON_MS_DEFAULT 2000u
#define DP_IDEM_HORIZON_MS_MAX (10u * 60u * 1000u)
#define DP_BUYERS_MAX_DEFAULT (1u << 19)
#define DP_EXPIRE_SCAN_DEFAULT 64
#define DP_BUSY_RETRY_MS_DEFAULT 5

/* Counts of one part (section or GA type), summed over its slices. */
struct dp_part_counts {
	uint32_t capacity;
	uint32_t withheld;
	uint32_t held;
	uint32_t sold;
	uint32_t free; /* capacity - withheld - held - sold */
};

/* One order as read back (order lookup, export). */
struct dp_order_view {
	uint64_t order_id;
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t time_ms;
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind; /* ST_KIND_* */
	uint8_t n_items;
	uint32_t items[DP_HOLD_TICKETS_MAX];
	uint8_t payment_ref[ST_PAYMENT_REF_SIZE];
};

/* Seat word states (dp_seat_word_state). */
enum dp_seat_state { DP_SEAT_FREE = 0, DP_SEAT_HELD = 1, DP_SEAT_SOLD = 2, DP_SEAT_OFF = 3 };

#endif
