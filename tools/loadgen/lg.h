/*
 * lg.h - stampede-loadgen (docs/loadgen.md): simulated buyers against a
 * running dataplane. Shared types of the buyer state machine (lg_buyer.c),
 * the request table (lg_req.c), the timer wheel (lg_timer.c), scenarios
 * (lg_scenario.c), the run loop (lg_run.c), the report (lg_report.c) and
 * the verifier (lg_verify.c).
 *
 * One thread, event-driven; every table is allocated at start from the
 * named limits below and never grows during the run.
 */
#ifndef LG_H
#define LG_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_proto.h"
#include "tools/loadgen/lg_hist.h"
#include "tools/loadgen/lg_transport.h"

/* ---- named limits ---- */
#define LG_BUYERS_MAX 320000u      /* buyers in one run (300,000 + margin) */
#define LG_INFLIGHT_DEFAULT 16384u /* requests in flight at once (--inflight) */
#define LG_INFLIGHT_MAX 262144u
#define LG_PARTS_MAX 64u           /* sections or GA types of the event the loadgen shops in */
#define LG_MSG_MAX 192u            /* one encoded request: 24 + 12 + 16*4 + 64 = 164 bytes at most */
#define LG_CODES_MAX 4096u         /* presale codes the theatre scenario spreads over its buyers */
#define LG_SECONDS_MAX 86400u      /* --seconds cap; also the per-second series length */
#define LG_CWND_START 64u        /* congestion window at the start (requests in flight) */
#define LG_CWND_MIN 64u          /* and never below, after losses */
#define LG_NONE UINT32_MAX

/* ---- scenarios (lg_scenario.c) ---- */
enum lg_hold_kind { LG_HOLD_GA = 1, LG_HOLD_BEST = 2, LG_HOLD_SEATS = 3 };
enum lg_arrival { LG_ARRIVE_ONCE = 1, LG_ARRIVE_RATE = 2, LG_ARRIVE_CLOSED = 3 };

#define LG_QTY_MAX 16 /* = PROTO_ITEMS_MAX */

struct lg_scenario {
	const char *name;      /* "comiccon", ... */
	const char *inventory; /* file name under docs/examples */
	uint32_t buyers;
	uint8_t arrival;       /* enum lg_arrival */
	uint32_t rate_per_s;   /* LG_ARRIVE_RATE: buyers arriving per second */
	uint32_t concurrency;  /* LG_ARRIVE_CLOSED: buyers shopping at once */
	uint32_t poll_ms;      /* queue poll interval */
	uint8_t hold;          /* enum lg_hold_kind */
	uint16_t qty_weight[LG_QTY_MAX + 1]; /* [n]: relative weight of a party of n */
	uint32_t think_min_ms, think_max_ms; /* before the hold */
	uint32_t pay_min_ms, pay_max_ms;     /* between hold and confirm */
	uint16_t abandon_permille;           /* buyers who let their hold expire */
	uint8_t codes;                       /* QUEUE_JOIN with a presale code */
};

/* One part (section or GA type) of the event, as the loadgen shops in it. */
struct lg_part {
	uint32_t id;
	uint8_t ga;          /* 1 general admission, 0 reserved seats */
	uint32_t seats;      /* seats or GA capacity */
	uint32_t sellable;   /* seats not withheld (GA: = seats) */
	uint64_t exhausted_ms; /* last sold_out with nothing available (0 never) */
};

/* The event a run shops in, from the inventory (lg_scenario.c). */
struct lg_plan {
	uint32_t event_id;
	uint32_t buyer_limit;
	uint64_t capacity;  /* sellable tickets: all parts, withheld seats not counted */
	uint64_t withheld;
	uint32_t n_parts;
	struct lg_part parts[LG_PARTS_MAX];
	uint32_t n_codes;
	char (*codes)[PROTO_PAYMENT_REF_SIZE + 1]; /* presale codes, NUL-terminated */
	uint32_t *code_uses;
	/* For the verifier: seat index -> (row label, number) per seat part. */
	struct dp_event_def *def;
};

/* ---- timer wheel (lg_timer.c) ---- */
struct lg_tnode {
	uint32_t next, prev; /* LG_NONE-terminated list of a slot */
	uint32_t slot;       /* LG_NONE when not armed */
	uint64_t when_ms;
};

#define LG_WHEEL_SLOTS 16384u /* 1 ms each: a lap of 16.4 s */

struct lg_wheel {
	struct lg_tnode *nodes; /* n nodes, owned by the caller */
	uint32_t n;
	uint32_t head[LG_WHEEL_SLOTS];
	uint64_t now_ms; /* every slot before this has been run */
	uint64_t armed;
};

void lg_wheel_init(struct lg_wheel *w, struct lg_tnode *nodes, uint32_t n, uint64_t now_ms);
void lg_wheel_arm(struct lg_wheel *w, uint32_t node, uint64_t when_ms);
void lg_wheel_disarm(struct lg_wheel *w, uint32_t node);
/* Run every node due at or before now_ms: fire(ctx, node) once each, in
 * slot order; a node re-armed by fire for now or earlier runs next
 * millisecond. Returns how many fired. */
unsigned lg_wheel_run(struct lg_wheel *w, uint64_t now_ms, void (*fire)(void *ctx, uint32_t node), void *ctx);
/* Milliseconds until the nearest non-empty slot (a lower bound on the next
 * firing), looking at most limit slots ahead: limit when none is nearer. */
uint64_t lg_wheel_next_ms(const struct lg_wheel *w, uint32_t limit);

/* ---- buyers (lg_buyer.c) ---- */
enum lg_bstate {
	LG_B_NEW = 0,     /* not arrived */
	LG_B_ARRIVE,      /* timer: arrival */
	LG_B_JOIN,        /* QUEUE_JOIN in flight */
	LG_B_WAIT,        /* timer: next QUEUE_POLL */
	LG_B_POLL,        /* QUEUE_POLL in flight */
	LG_B_THINK,       /* timer: hold */
	LG_B_HOLD,        /* HOLD_* in flight */
	LG_B_PAY,         /* timer: confirm (or abandon) */
	LG_B_CONFIRM,     /* CONFIRM in flight */
	LG_B_REJOIN,      /* timer: join again */
	LG_B_SLOT,        /* waiting for a free request slot */
	LG_B_DONE,        /* finished (see result) */
	LG_B__COUNT
};

enum lg_result {
	LG_R_NONE = 0,
	LG_R_BOUGHT,
	LG_R_SOLD_OUT, /* gave up: nothing left they would take */
	LG_R_ABANDONED,/* let the hold expire */
	LG_R_FAILED,   /* gave up after errors (bad_request, not_found, too many retries) */
};

struct lg_buyer {
	uint8_t state, result;
	uint8_t n;         /* party size wanted now */
	uint8_t flags;     /* LG_BF_* */
	uint8_t part;      /* index in plan.parts */
	uint8_t tries;     /* hold attempts that failed */
	uint8_t held_n;    /* tickets held now (abandoned: until expiry) */
	uint8_t next_op;   /* LG_B_SLOT: the request waiting for a slot */
	uint32_t req;      /* request slot, or LG_NONE */
	uint32_t next_slot;/* LG_B_SLOT: FIFO link */
	uint16_t code;     /* presale code index */
	uint64_t next_rid; /* next request id */
	uint64_t hold_id;
	uint64_t expiry_ms; /* the hold's expiry, on the run's clock (ms) */
	uint8_t token[PROTO_TOKEN_SIZE]; /* queue ticket or access token */
	uint32_t pend_seats[LG_QTY_MAX]; /* next HOLD_SEATS: seats to ask for (alt[] of a taken) */
};
#define LG_BF_TOKEN 0x01   /* token holds an access token */
#define LG_BF_TICKET 0x02  /* token holds a queue ticket */
#define LG_BF_ABANDON 0x04 /* will not pay */
#define LG_BF_ADMIT 0x08   /* counted as admitted */
#define LG_BF_QUEUED 0x10  /* counted as waiting in the queue */
#define LG_BF_SEATS 0x20   /* pend_seats holds the next HOLD_SEATS */

/* ---- requests (lg_req.c) ---- */
struct lg_req {
	uint32_t buyer;
	uint8_t op;          /* enum proto_op */
	uint8_t mutation;
	uint8_t queued;      /* in the send ring */
	uint8_t outstanding; /* sends since the last answer that said nothing was done */
	uint16_t len;
	uint16_t attempts;
	uint16_t lost;       /* resend timers that fired with no answer */
	uint64_t request_id;
	uint64_t first_us;   /* first send of this logical request (latency) */
	uint64_t horizon_us; /* first send not known refused (retry horizon) */
	uint8_t msg[LG_MSG_MAX];
};

/* An acknowledged order. */
struct lg_order {
	uint64_t order_id, hold_id, client_id;
	uint64_t time_ms; /* wall clock at the acknowledgement */
	uint32_t part_id;
	uint8_t n_items;
	uint32_t items[LG_QTY_MAX];
};

/* ---- run configuration ---- */
struct lg_config {
	struct lg_scenario sc;
	const char *inventory_path;
	uint32_t event_id;     /* --event: 0 = the file's first */
	const char *server;
	uint16_t port;
	unsigned sockets_n;
	uint32_t inflight;
	double time_scale;
	uint32_t seconds;      /* run cap */
	uint32_t poll_ms;      /* --poll-ms: the poll interval as is (0: the scenario's, scaled) */
	uint32_t timeout_ms;   /* first resend */
	uint32_t timeout_max_ms;
	uint32_t horizon_ms;   /* never resend a mutation later than this after its first send */
	uint32_t attempts_max; /* reads and queue requests */
	uint32_t exhausted_ms; /* a sold-out part is skipped this long */
	double loss;           /* --loss: fraction of datagrams dropped each way (fault injection) */
	uint64_t client_base;
	uint64_t seed;
	int qty_fixed;         /* --quantity: 0 = the scenario's distribution */
	const char *ctl;       /* stampedectl path (verification, --load) */
	const char *ctl_socket;
	int load;              /* --load: stampedectl load the inventory first */
	const char *ledger;
	const char *plot;
	const char *transport; /* "sockets" or "dpdk" */
	int progress;          /* -1 auto (stderr a tty), 0 off, 1 on */
	int quiet;
};

/* Counters of one run. */
struct lg_stats {
	uint64_t requests, retransmits, busy, timeouts_gave_up, unknown_outcomes;
	uint64_t replies, stray_replies, bad_replies, datagrams_out, datagrams_in;
	uint64_t joins, polls, admitted, holds_ok, holds_taken, holds_sold_out, holds_limit, confirms_ok,
		confirms_expired, closed, unavailable, bad_token, not_admitted, other_refusals;
	uint64_t sold_acked, orders_acked, held, queued;
	uint64_t held_abandoned; /* of held: in abandoned holds, until their expiry */
	uint64_t window_cuts;
	uint64_t loss_out, loss_in; /* datagrams dropped by --loss */
	uint64_t timeouts[2]; /* resend timers that fired unanswered: [0] reads, [1] mutations */
	uint64_t bought, sold_out, abandoned, failed, done;
	uint64_t arrived;
};

/* Per-second series for the plot and the progress line. */
struct lg_second {
	uint32_t sold;   /* tickets acknowledged in that second */
	uint32_t requests;
	uint32_t p99_us; /* holds and confirms answered in that second */
};

/* Retransmission timeout estimator of one request class. */
struct lg_rto {
	uint64_t srtt_us, rttvar_us, samples;
};

struct lg_run {
	struct lg_config *cfg;
	struct lg_plan *plan;
	struct lg_transport *tr;
	uint32_t n_buyers;
	struct lg_buyer *buyers;
	struct lg_req *reqs;
	uint32_t n_reqs;
	uint32_t *free_reqs; /* stack of free request slots */
	uint32_t n_free;
	uint32_t *ring;      /* send ring of request slots */
	uint32_t ring_head, ring_n;
	uint32_t slot_wait_head, slot_wait_tail; /* buyers waiting for a slot (FIFO) */
	struct lg_tnode *tnodes;                 /* buyers first, then request slots */
	struct lg_wheel wheel;
	struct lg_order *orders;
	uint32_t n_orders, orders_max;
	struct lg_hist hold_lat, confirm_lat, sec_lat;
	struct lg_stats st;
	struct lg_rto rto[2]; /* [0] reads and queue requests, [1] mutations */
	double cwnd, ssthresh; /* congestion window: requests in flight at most */
	uint64_t cwnd_cut_us;
	struct lg_second *secs;
	uint32_t n_secs;
	uint64_t t0_us, now_us, now_ms, wall0_ms;
	uint32_t next_arrival; /* next buyer to arrive (rate, closed) */
	uint32_t active;       /* arrived and not done */
	uint64_t rng;
	int stopping;          /* cap reached: no new requests */
	struct lg_dgram out[LG_BURST_MAX];
	unsigned out_n;        /* datagrams filled, not yet taken */
};

/* ---- lg_req.c ---- */
/* Allocate tables; 0 or -1 (message in err). */
int lg_req_init(struct lg_run *r, char *err, size_t errlen);
/* Whether a new request may start (a free slot, room in the congestion
 * window). */
int lg_req_can_start(const struct lg_run *r);
/* A free slot for buyer b, or LG_NONE when the table or the window is full. */
uint32_t lg_req_alloc(struct lg_run *r, uint32_t b);
/* The slot's message is encoded (len set): queue it for its first send. */
void lg_req_submit(struct lg_run *r, uint32_t slot);
/* Give a slot back (its timer disarmed). */
void lg_req_free(struct lg_run *r, uint32_t slot);
/* Pack queued requests into datagrams and hand them to the transport. */
void lg_req_flush(struct lg_run *r);
/* Receive and dispatch every datagram waiting. Returns datagrams read. */
unsigned lg_req_poll(struct lg_run *r);
/* A request slot's timer fired: resend, or give up. */
void lg_req_timer(struct lg_run *r, uint32_t slot);

/* ---- lg_buyer.c ---- */
void lg_buyer_arrive(struct lg_run *r, uint32_t b);
void lg_buyer_timer(struct lg_run *r, uint32_t b);
/* The final answer to buyer b's request in slot (not busy); the slot is
 * freed by the caller after. */
void lg_buyer_reply(struct lg_run *r, uint32_t b, uint32_t slot, const struct proto_reply *rep);
/* Buyer b's request in slot was given up: no answer within the limits.
 * unknown: a mutation whose outcome is unknown. */
void lg_buyer_gave_up(struct lg_run *r, uint32_t b, uint32_t slot, int unknown);
/* A request slot came free: start the next buyer waiting for one. */
void lg_buyer_slot_free(struct lg_run *r);

/* ---- small helpers ---- */
/* xorshift64*: the run's one pseudo-random stream (seeded by --seed). */
static inline uint64_t lg_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A uniform number in [lo, hi]. */
static inline uint32_t lg_rand_between(uint64_t *s, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (uint32_t)(lg_rand(s) % ((uint64_t)hi - lo + 1));
}

#endif
