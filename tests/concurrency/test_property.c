/*
 * test_property.c - randomized multi-threaded property test of the
 * reservation core (dataplane/) on top of real storage (nosync).
 *
 * Shape:
 *   - PT_W worker threads. Each is the worker of one dp_worker AND a client
 *     that generates random requests (named seats, best seats, GA, confirms
 *     and releases of holds it got, wrong-client confirms, idempotent
 *     duplicates, late retries, malformed requests). A request executes on
 *     dp_route()'s worker: every request goes through that worker's MPSC
 *     request queue (liburcu wfcqueue); the owner executes it, keeps the
 *     reply until dp_worker_durable() reaches its wait_seq, then sends it
 *     back through the originator's reply queue. (An MP rte_ring was tried
 *     first: with 7 threads on 2 cores a sender preempted inside its enqueue
 *     stalls every other sender; the wait-free queue does not.)
 *   - every worker turn: urcu_qsbr_quiescent_state, dp_worker_tick with a
 *     shared fake clock (1 s per ~1000 executions, hold ttl 60 s, so holds
 *     expire all the time), sometimes dp_worker_expire_all.
 *   - a reader thread checks seat words, orders and counts without locks.
 *   - the run is cut into epochs; between epochs all workers park on a
 *     barrier with nothing in flight and the main thread checks the whole
 *     model, then loads a fresh event (so the run does not just sell out).
 *   - at the end every part is drained (hold everything that is free, which
 *     must give exactly `free` tickets: no lost, no phantom ticket), then
 *     everything drained is released again.
 *
 * Model checks (see check_all): every seat/serial word against a per-ticket
 * ledger kept by the owners from the replies they produced; counts equal to
 * the scan; every order walked (no ticket in two orders, each SOLD word
 * belongs to its order); every acknowledged order exists with the same
 * content; every acknowledged unexpired hold still HELD with its ref and
 * expiry; per-buyer counts equal to what the words say.
 *
 * Before the run, two targeted scenarios: a deterministic GA hand-off (free
 * stock on one worker must reach a buyer on another) and a timed one that
 * reads counts while a sold-out GA type's stock moves between slices.
 *
 * Environment: STAMPEDE_PROPERTY_OPS (default 2000000 requests generated),
 * STAMPEDE_PROPERTY_SEED, STAMPEDE_PROPERTY_TORN_MS (default 3000, 0 = skip).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/compiler.h>
#include <urcu/urcu-qsbr.h>
#include <urcu/wfcqueue.h>

#include "dataplane/dp_engine.h"
#include "dataplane/dp_types.h"
#include "storage/st.h"
#include "tests/concurrency/conc_common.h"

/* ------------------------------------------------------------ parameters */

#define PT_W 4                 /* worker threads */
#define PT_MAXOUT 256          /* requests in flight per originator */
#define PT_GEN_PER_TURN 32     /* new requests per turn at most */
#define PT_HREC_POOL 32768     /* hold records per thread */
#define PT_LATE 256            /* ended confirms/releases kept for late retries */
#define PT_N_CLIENTS 256       /* client pool (ids PT_CLIENT_BASE..) */
#define PT_CLIENT_BASE 1000ull
#define PT_DRAIN_CLIENT_BASE (1ull << 40)
#define PT_T0_MS UINT64_C(1750000000000) /* fake clock start */
#define PT_TTL_MS 60000u
#define PT_LIMIT 30u           /* buyer limit */
#define PT_EPOCH_REQUESTS 25000 /* an event about sells out in this many */
#define PT_EPOCHS_MAX 200
#define PT_EVENT_BASE 100u
#define PT_MAX_RETRY 200       /* BUSY retries of one request before giving up */
#define PT_CLOCK_EVERY 250     /* executions of one thread per +1 s of fake time (4 threads: 1 s per 1000) */
#define PT_EXPIRE_ALL_EVERY 20000 /* turns between dp_worker_expire_all */

/* The event layout: 4 sections of 20 rows x 25 seats (aisle between numbers
 * 12 and 14), rows 0-9 tier 1, rows 10-19 tier 2, every 37th seat withheld;
 * GA type 10 (2000 tickets) and GA type 11 (64 tickets, sells out at once). */
#define PT_N_SEC 4
#define PT_ROWS 20
#define PT_PER_ROW 25
#define PT_SEATS (PT_ROWS * PT_PER_ROW)
#define PT_N_GA 2
#define PT_N_PARTS (PT_N_SEC + PT_N_GA)
static const uint32_t part_ids[PT_N_PARTS] = {1, 2, 3, 4, 10, 11};
static const uint32_t part_caps[PT_N_PARTS] = {PT_SEATS, PT_SEATS, PT_SEATS, PT_SEATS, 2000, 64};
#define PT_MAX_EVENTS PT_EPOCHS_MAX

/* ------------------------------------------------------------ failures */

static _Atomic unsigned g_failures;
static _Atomic unsigned g_fail_routing; /* the dp_route/dp_execute disagreement (see report) */
static _Atomic unsigned g_fail_leak;    /* replies leaving before the mutation they reveal is durable */

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		unsigned n_ = atomic_fetch_add(&g_failures, 1);                                    \
		if (n_ < 40) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FAIL(__VA_ARGS__);                                                         \
	} while (0)

/* ------------------------------------------------------------ globals */

static struct dp_engine *g_eng;
static struct st_env *g_env;
static uint64_t g_seed;
static uint64_t g_t_start;

static _Atomic uint64_t g_clock = PT_T0_MS;
static _Atomic uint64_t g_sent;      /* logical requests generated */
static _Atomic uint64_t g_target;    /* generation stops at this g_sent */
static _Atomic int64_t g_inflight;   /* messages not yet fully processed */
static _Atomic int g_stop;
static _Atomic int g_reader_stop;
static _Atomic uint32_t g_n_events;  /* events loaded: ids PT_EVENT_BASE + 0..n-1 */
static pthread_barrier_t g_bar;

/* Definitions: one layout, the id changes per event. */
static struct dp_event_def g_def;
static struct dp_tier_def g_tiers[3];
static struct dp_section_def g_secs[PT_N_SEC];
static struct dp_ga_def g_ga[PT_N_GA];
static struct dp_seat_def g_seats[PT_SEATS];
static char g_rows[PT_ROWS][DP_ROW_LABEL_MAX];

/* Per-ticket ledger kept by the executing worker from its replies. A
 * ticket's entry is written only by the worker that currently owns the
 * ticket (section owner; GA: the slice holding the serial, handed over by
 * the engine's own inbox synchronisation), read by the main thread at
 * checkpoints. Relaxed atomics only to keep the accesses defined. */
struct led {
	_Atomic uint64_t hold_id;  /* 0: no live hold known */
	_Atomic uint64_t expiry;   /* of hold_id */
	_Atomic uint64_t order_id; /* 0: not sold */
	_Atomic uint64_t client;   /* buyer of the hold / order */
};
static struct led *g_led[PT_MAX_EVENTS][PT_N_PARTS];

/* ------------------------------------------------------------ model types */

enum { H_ACTIVE = 0, H_CONFIRMED, H_RELEASED, H_EXPIRED };

struct hrec { /* a hold this thread got OK for */
	uint64_t hold_id, client, expiry, order_id;
	uint32_t event, part;
	uint8_t n, state, kind;
	uint16_t busy;     /* ops in flight naming it */
	int32_t active_ix; /* index in the active list, -1 once ended */
	uint32_t items[DP_HOLD_TICKETS_MAX];
	struct hrec *next_free;
};

struct morder { /* an order this thread saw confirmed */
	uint64_t order_id, hold_id, client;
	uint32_t event, part;
	uint8_t kind, n;
	uint32_t items[DP_HOLD_TICKETS_MAX];
	uint8_t pay[ST_PAYMENT_REF_SIZE];
};

struct grp { /* idempotent twins: the same hold request sent twice */
	int refs;
	int got_ok;
	uint64_t hold_id, expiry;
	uint8_t n;
	uint32_t items[DP_HOLD_TICKETS_MAX];
	struct grp *next_free;
};

enum intent {
	I_HOLD = 1,
	I_CONFIRM,
	I_RELEASE,
	I_WRONG_CLIENT,
	I_LATE_CONFIRM,
	I_LATE_RELEASE,
	I_BAD,
};

struct msg {
	struct cds_wfcq_node node; /* in a request or reply queue */
	struct dp_request rq;
	struct dp_reply rp;
	uint64_t exec_now;
	uint64_t late_order; /* I_LATE_CONFIRM: the order it got */
	int ret;
	uint16_t origin;
	uint16_t target;
	uint8_t intent;
	uint8_t exp_status, exp_detail, routing;
	unsigned retries;
	uint64_t due_turn;
	struct hrec *h;
	struct grp *g;
	struct msg *next_free;
};

struct late {
	struct dp_request rq;
	uint64_t order_id;
	uint8_t op;
};

struct thr {
	unsigned idx;
	pthread_t tid;
	uint64_t rng;
	struct dp_worker *w;
	/* MPSC queues (liburcu wfcqueue: wait-free enqueue, so a preempted
	 * sender never stalls the others on this 2-core machine) */
	struct __cds_wfcq_head reqh __attribute__((aligned(64)));
	struct cds_wfcq_tail reqt;
	struct __cds_wfcq_head reph __attribute__((aligned(64)));
	struct cds_wfcq_tail rept;
	uint64_t now __attribute__((aligned(64))); /* clock read at the start of this turn */
	uint64_t req_seq;
	/* messages */
	struct msg msgs[PT_MAXOUT];
	struct msg *free_msgs;
	unsigned outstanding;
	struct msg *parked[PT_MAXOUT]; /* BUSY, waiting for their retry turn */
	unsigned n_parked;
	struct grp grps[PT_MAXOUT];
	struct grp *free_grps;
	/* replies waiting for durability (owner side), FIFO */
	struct msg *pend[PT_W * PT_MAXOUT];
	unsigned pend_head, pend_n;
	/* holds */
	struct hrec *hpool;
	struct hrec *hfree;
	struct hrec **active;
	unsigned n_active;
	/* orders */
	struct morder *orders;
	size_t n_orders, cap_orders;
	/* late retries */
	struct late late[PT_LATE];
	unsigned n_late;
	/* stats */
	uint64_t st[DP_S__COUNT][DP_D__COUNT];
	uint64_t executed, sent, retries, gaveup, dups, lates, bads, wrong_client, confirms_ok, holds_ok,
		releases_ok, expired_seen, ga_sold_out, busy_rebal, busy_log, no_hrec, expired_by_tick, turns, clock_ops;
};

static struct thr g_thr[PT_W];

/* ------------------------------------------------------------ helpers */

static int part_index(uint32_t part_id)
{
	for (int i = 0; i < PT_N_PARTS; i++)
		if (part_ids[i] == part_id)
			return i;
	return -1;
}

static int event_index(uint32_t event_id)
{
	uint32_t n = atomic_load(&g_n_events);
	if (event_id < PT_EVENT_BASE || event_id - PT_EVENT_BASE >= n)
		return -1;
	return (int)(event_id - PT_EVENT_BASE);
}

static struct led *led_at(uint32_t event_id, uint32_t part_id, uint32_t item)
{
	int e = event_index(event_id), p = part_index(part_id);
	if (e < 0 || p < 0 || item >= part_caps[p])
		return NULL;
	return &g_led[e][p][item];
}

static uint64_t ld(_Atomic uint64_t *a) { return atomic_load_explicit(a, memory_order_relaxed); }
static void st(_Atomic uint64_t *a, uint64_t v) { atomic_store_explicit(a, v, memory_order_relaxed); }

static void q_push(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t, struct msg *m)
{
	cds_wfcq_node_init(&m->node);
	cds_wfcq_enqueue(h, t, &m->node);
}

/* Single consumer; NULL when empty or when a sender is half way through. */
static struct msg *q_pop(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t)
{
	struct cds_wfcq_node *n = __cds_wfcq_dequeue_nonblocking(h, t);
	if (n == NULL || n == CDS_WFCQ_WOULDBLOCK)
		return NULL;
	return caa_container_of(n, struct msg, node);
}

static void build_def(void)
{
	memset(&g_def, 0, sizeof(g_def));
	snprintf(g_def.name, sizeof(g_def.name), "property");
	g_def.hold_ttl_ms = PT_TTL_MS;
	g_def.buyer_limit = PT_LIMIT;
	for (unsigned t = 0; t < 3; t++) {
		g_tiers[t].id = (uint8_t)(t + 1);
		snprintf(g_tiers[t].name, DP_NAME_MAX, "tier%u", t + 1);
		g_tiers[t].price_cents = 1000 * (t + 1);
	}
	g_def.n_tiers = 3;
	g_def.tiers = g_tiers;
	for (unsigned r = 0; r < PT_ROWS; r++)
		snprintf(g_rows[r], DP_ROW_LABEL_MAX, "R%u", r);
	for (unsigned i = 0; i < PT_SEATS; i++) {
		unsigned r = i / PT_PER_ROW, k = i % PT_PER_ROW;
		g_seats[i].row = (uint16_t)r;
		g_seats[i].number = (uint16_t)(k < 12 ? k + 1 : k + 2); /* aisle: no seat 13 */
		g_seats[i].tier = (uint8_t)(r < PT_ROWS / 2 ? 1 : 2);
		g_seats[i].flags = (i % 37 == 36) ? DP_SEAT_WITHHELD : 0;
		if (i % 11 == 0)
			g_seats[i].flags |= DP_SEAT_ACCESSIBLE;
	}
	for (unsigned s = 0; s < PT_N_SEC; s++) {
		g_secs[s].id = part_ids[s];
		snprintf(g_secs[s].name, DP_NAME_MAX, "section %u", part_ids[s]);
		g_secs[s].n_rows = PT_ROWS;
		g_secs[s].row_labels = g_rows;
		g_secs[s].n_seats = PT_SEATS;
		g_secs[s].seats = g_seats;
	}
	g_def.n_sections = PT_N_SEC;
	g_def.sections = g_secs;
	for (unsigned gI = 0; gI < PT_N_GA; gI++) {
		g_ga[gI].id = part_ids[PT_N_SEC + gI];
		snprintf(g_ga[gI].name, DP_NAME_MAX, "ga %u", g_ga[gI].id);
		g_ga[gI].capacity = part_caps[PT_N_SEC + gI];
		g_ga[gI].tier = 3;
	}
	g_def.n_ga = PT_N_GA;
	g_def.ga = g_ga;
}

static uint32_t g_withheld; /* withheld seats per section */

static uint32_t withheld_in_section(void)
{
	if (g_withheld == 0)
		for (unsigned i = 0; i < PT_SEATS; i++)
			g_withheld += (g_seats[i].flags & DP_SEAT_WITHHELD) != 0;
	return g_withheld;
}

/* Load event number e (control path: workers parked or not yet started). */
static void add_event(unsigned e)
{
	g_def.id = PT_EVENT_BASE + e;
	for (int p = 0; p < PT_N_PARTS; p++) {
		g_led[e][p] = calloc(part_caps[p], sizeof(struct led));
		if (!g_led[e][p]) {
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
	}
	char err[200] = "";
	int rc = dp_engine_add_event(g_eng, &g_def, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "dp_engine_add_event(%u): %d %s\n", g_def.id, rc, err);
		exit(2);
	}
	atomic_store(&g_n_events, e + 1);
}

/* ------------------------------------------------------------ execution (owner side) */

static bool items_distinct(const uint32_t *it, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (it[i] == it[j])
				return false;
	return true;
}

/*
 * Owner-side bookkeeping right after dp_execute: the ledger follows the
 * tickets. The checks here catch a ticket handed to two live holds, a sold
 * ticket held or sold again, a confirm or release of tickets the hold did not
 * have.
 */
static void ledger_after(const struct dp_request *rq, const struct dp_reply *rp, uint64_t exec_now)
{
	if (rp->status != DP_S_OK)
		return;
	uint64_t clock_now = atomic_load(&g_clock);
	switch (rq->op) {
	case DP_OP_HOLD_SEATS:
	case DP_OP_HOLD_BEST:
	case DP_OP_HOLD_GA:
		if (rp->detail != DP_D_NONE)
			return; /* a replay: nothing new */
		for (unsigned k = 0; k < rp->n_items && k < DP_HOLD_TICKETS_MAX; k++) {
			struct led *l = led_at(rp->event_id, rp->part_id, rp->items[k]);
			if (!l) {
				FAIL("hold %#" PRIx64 " item %u of %u/%u outside the event", rp->hold_id, rp->items[k],
				     rp->event_id, rp->part_id);
				continue;
			}
			uint64_t o = ld(&l->order_id), hid = ld(&l->hold_id), ex = ld(&l->expiry);
			CHECK(o == 0, "ticket %u/%u/%u sold in order %#" PRIx64 " was held again by %#" PRIx64,
			      rp->event_id, rp->part_id, rp->items[k], o, rp->hold_id);
			CHECK(hid == 0 || ex <= clock_now,
			      "ticket %u/%u/%u held by %#" PRIx64 " (expiry %" PRIu64 " > now %" PRIu64
			      ") was held again by %#" PRIx64,
			      rp->event_id, rp->part_id, rp->items[k], hid, ex, clock_now, rp->hold_id);
			st(&l->hold_id, rp->hold_id);
			st(&l->expiry, rp->expiry_ms);
			st(&l->client, rq->client_id);
		}
		(void)exec_now;
		return;
	case DP_OP_CONFIRM:
		for (unsigned k = 0; k < rp->n_items && k < DP_HOLD_TICKETS_MAX; k++) {
			struct led *l = led_at(rp->event_id, rp->part_id, rp->items[k]);
			if (!l) {
				FAIL("confirm of %#" PRIx64 ": item %u of %u/%u outside the event", rq->hold_id,
				     rp->items[k], rp->event_id, rp->part_id);
				continue;
			}
			if (rp->detail == DP_D_NONE) {
				CHECK(ld(&l->order_id) == 0 && ld(&l->hold_id) == rq->hold_id,
				      "confirm of %#" PRIx64 " sold ticket %u/%u/%u the ledger has held by %#" PRIx64
				      " sold in %#" PRIx64,
				      rq->hold_id, rp->event_id, rp->part_id, rp->items[k], ld(&l->hold_id),
				      ld(&l->order_id));
				st(&l->order_id, rp->order_id);
				st(&l->hold_id, 0);
			} else {
				CHECK(ld(&l->order_id) == rp->order_id,
				      "repeated confirm of %#" PRIx64 " says order %#" PRIx64
				      " but ticket %u/%u/%u is in %#" PRIx64,
				      rq->hold_id, rp->order_id, rp->event_id, rp->part_id, rp->items[k],
				      ld(&l->order_id));
			}
		}
		return;
	case DP_OP_RELEASE:
		if (rp->detail != DP_D_NONE)
			return;
		for (unsigned k = 0; k < rp->n_items && k < DP_HOLD_TICKETS_MAX; k++) {
			struct led *l = led_at(rp->event_id, rp->part_id, rp->items[k]);
			if (!l) {
				FAIL("release of %#" PRIx64 ": item outside the event", rq->hold_id);
				continue;
			}
			CHECK(ld(&l->hold_id) == rq->hold_id && ld(&l->order_id) == 0,
			      "release of %#" PRIx64 " freed ticket %u/%u/%u the ledger has held by %#" PRIx64
			      " sold in %#" PRIx64,
			      rq->hold_id, rp->event_id, rp->part_id, rp->items[k], ld(&l->hold_id),
			      ld(&l->order_id));
			st(&l->hold_id, 0);
		}
		return;
	default:
		return;
	}
}

/* Execute on worker w (calling thread plays that worker) and keep the books. */
static int exec_on(struct dp_worker *w, const struct dp_request *rq, uint64_t now, struct dp_reply *rp)
{
	memset(rp, 0xa5, sizeof(*rp)); /* dp_execute must fill everything it reports */
	int ret = dp_execute(w, rq, now, rp);
	CHECK(ret == rp->status, "dp_execute returned %d, reply status %u", ret, rp->status);
	CHECK(rp->status < DP_S__COUNT && rp->detail < DP_D__COUNT, "status %u detail %u out of range",
	      rp->status, rp->detail);
	CHECK(rp->n_items <= DP_HOLD_TICKETS_MAX && rp->n_alt <= DP_HOLD_TICKETS_MAX, "n_items %u n_alt %u",
	      rp->n_items, rp->n_alt);
	if (rp->status >= DP_S__COUNT || rp->n_items > DP_HOLD_TICKETS_MAX)
		return ret;
	ledger_after(rq, rp, now);
	return ret;
}

/* ------------------------------------------------------------ client side */

static struct msg *msg_get(struct thr *t)
{
	struct msg *m = t->free_msgs;
	if (!m)
		return NULL;
	t->free_msgs = m->next_free;
	t->outstanding++;
	memset(m, 0, sizeof(*m));
	m->origin = (uint16_t)t->idx;
	return m;
}

static void msg_put(struct thr *t, struct msg *m)
{
	m->next_free = t->free_msgs;
	t->free_msgs = m;
	t->outstanding--;
	atomic_fetch_sub(&g_inflight, 1);
}

static void send_msg(struct thr *t, struct msg *m)
{
	int r = dp_route(g_eng, &m->rq);
	m->target = (uint16_t)(r < 0 ? (int)t->idx : r);
	CHECK(r < PT_W, "dp_route gave %d", r);
	q_push(&g_thr[m->target].reqh, &g_thr[m->target].reqt, m);
}

/* Reserve `k` message slots against the epoch's budget. */
static bool budget(struct thr *t, unsigned k)
{
	if (t->outstanding + k > PT_MAXOUT)
		return false;
	/* inflight first: whoever sees g_sent at the target also sees this */
	atomic_fetch_add(&g_inflight, (int64_t)k);
	uint64_t s = atomic_load(&g_sent);
	do {
		if (s >= atomic_load(&g_target)) {
			atomic_fetch_sub(&g_inflight, (int64_t)k);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&g_sent, &s, s + 1));
	t->sent++;
	return true;
}

static uint64_t new_req(struct thr *t) { return ((uint64_t)(t->idx + 1) << 48) | ++t->req_seq; }

static uint64_t pick_client(struct thr *t) { return PT_CLIENT_BASE + cc_below(&t->rng, PT_N_CLIENTS); }

static uint32_t pick_event(struct thr *t)
{
	uint32_t n = atomic_load(&g_n_events);
	if (n > 1 && cc_below(&t->rng, 10) < 2)
		return PT_EVENT_BASE + cc_below(&t->rng, n - 1);
	return PT_EVENT_BASE + n - 1;
}

/* A live hold to act on: mostly one of the latest (a buyer pays for what it
 * just held), sometimes any (an old one, possibly lapsed). */
static struct hrec *pick_hold(struct thr *t)
{
	unsigned n = t->n_active;
	if (cc_below(&t->rng, 4) == 0 || n <= 64)
		return t->active[cc_below(&t->rng, n)];
	return t->active[n - 1 - cc_below(&t->rng, 64)];
}

static void hrec_end(struct thr *t, struct hrec *h, uint8_t state)
{
	h->state = state;
	if (h->active_ix >= 0) {
		struct hrec *last = t->active[--t->n_active];
		t->active[h->active_ix] = last;
		last->active_ix = h->active_ix;
		h->active_ix = -1;
	}
	if (h->busy == 0) {
		h->next_free = t->hfree;
		t->hfree = h;
	}
}

static void hrec_unbusy(struct thr *t, struct hrec *h)
{
	assert(h->busy > 0);
	if (--h->busy == 0 && h->state != H_ACTIVE) {
		h->next_free = t->hfree;
		t->hfree = h;
	}
}

static void late_add(struct thr *t, const struct dp_request *rq, uint8_t op, uint64_t order_id)
{
	struct late *l = &t->late[t->n_late++ % PT_LATE];
	l->rq = *rq;
	l->op = op;
	l->order_id = order_id;
}

/* Generate one logical request (maybe two messages). */
static void generate(struct thr *t)
{
	unsigned roll = cc_below(&t->rng, 1000);
	if (roll < 175 && t->n_active == 0)
		roll = 999; /* nothing to confirm or release: a hold */
	uint32_t ev = pick_event(t);
	struct msg *m, *m2;

	if (roll < 60 && t->n_active > 0) { /* confirm */
		if (!budget(t, 1))
			return;
		struct hrec *h = pick_hold(t);
		m = msg_get(t);
		m->intent = I_CONFIRM;
		m->h = h;
		h->busy++;
		m->rq.op = DP_OP_CONFIRM;
		m->rq.client_id = h->client;
		m->rq.request_id = new_req(t);
		m->rq.hold_id = h->hold_id;
		uint64_t x = cc_rng(&t->rng);
		for (unsigned i = 0; i < ST_PAYMENT_REF_SIZE; i++)
			m->rq.payment_ref[i] = (uint8_t)(x >> (8 * (i % 8))) ^ (uint8_t)i;
		send_msg(t, m);
		return;
	}
	if (roll < 160 && t->n_active > 0) { /* release */
		if (!budget(t, 1))
			return;
		struct hrec *h = pick_hold(t);
		m = msg_get(t);
		m->intent = I_RELEASE;
		m->h = h;
		h->busy++;
		m->rq.op = DP_OP_RELEASE;
		m->rq.client_id = h->client;
		m->rq.request_id = new_req(t);
		m->rq.hold_id = h->hold_id;
		send_msg(t, m);
		return;
	}
	if (roll < 175 && t->n_active > 0) { /* confirm as somebody else */
		if (!budget(t, 1))
			return;
		struct hrec *h = pick_hold(t);
		m = msg_get(t);
		m->intent = I_WRONG_CLIENT;
		m->h = h;
		h->busy++;
		m->rq.op = DP_OP_CONFIRM;
		m->rq.client_id = h->client + 1 + cc_below(&t->rng, 5);
		m->rq.request_id = new_req(t);
		m->rq.hold_id = h->hold_id;
		send_msg(t, m);
		t->wrong_client++;
		return;
	}
	if (roll < 190 && t->n_late > 0) { /* a late retry of an ended confirm/release */
		if (!budget(t, 1))
			return;
		unsigned avail = t->n_late < PT_LATE ? t->n_late : PT_LATE;
		struct late *l = &t->late[cc_below(&t->rng, avail)];
		m = msg_get(t);
		m->intent = l->op == DP_OP_CONFIRM ? I_LATE_CONFIRM : I_LATE_RELEASE;
		m->rq = l->rq;
		m->late_order = l->order_id;
		send_msg(t, m);
		t->lates++;
		return;
	}
	if (roll < 220) { /* malformed or unknown */
		if (!budget(t, 1))
			return;
		m = msg_get(t);
		m->intent = I_BAD;
		m->rq.event_id = ev;
		m->rq.client_id = pick_client(t);
		m->rq.request_id = new_req(t);
		m->rq.part_id = part_ids[cc_below(&t->rng, PT_N_SEC)];
		m->rq.op = DP_OP_HOLD_SEATS;
		m->rq.n = 2;
		m->rq.seats[0] = 3;
		m->rq.seats[1] = 4;
		m->exp_status = DP_S_BAD_REQUEST;
		switch (cc_below(&t->rng, 11)) {
		case 0:
			m->rq.n = 0;
			m->exp_detail = DP_D_QTY_ZERO;
			break;
		case 1:
			m->rq.op = DP_OP_HOLD_BEST;
			m->rq.n = DP_HOLD_TICKETS_MAX + 1;
			m->exp_detail = DP_D_QTY_TOO_MANY;
			break;
		case 2:
			m->rq.seats[1] = PT_SEATS + cc_below(&t->rng, 1000);
			m->exp_detail = DP_D_SEAT_RANGE;
			break;
		case 3:
			m->rq.seats[1] = 3;
			m->exp_detail = DP_D_DUP_SEAT;
			break;
		case 4:
			m->rq.event_id = 999999;
			m->exp_status = DP_S_NOT_FOUND;
			m->exp_detail = DP_D_EVENT;
			break;
		case 5:
			m->rq.part_id = 77;
			m->exp_status = DP_S_NOT_FOUND;
			m->exp_detail = DP_D_PART;
			break;
		case 6:
			m->rq.client_id = 0;
			m->exp_detail = DP_D_BAD_CLIENT;
			break;
		case 7:
			m->rq.op = 9;
			m->exp_detail = DP_D_BAD_OP;
			break;
		case 8: /* seat op on a GA type */
			m->rq.part_id = part_ids[PT_N_SEC + cc_below(&t->rng, PT_N_GA)];
			m->exp_detail = DP_D_WRONG_KIND;
			break;
		case 9: /* GA op on a section, sent where dp_route says */
			m->rq.op = DP_OP_HOLD_GA;
			m->rq.n = 1;
			m->exp_detail = DP_D_WRONG_KIND;
			m->routing = 1;
			break;
		default: /* confirm of a hold id naming no worker */
			m->rq.op = DP_OP_CONFIRM;
			m->rq.hold_id = (200ull << 56) | 5;
			m->exp_status = DP_S_NOT_FOUND;
			m->exp_detail = DP_D_HOLD;
			break;
		}
		send_msg(t, m);
		t->bads++;
		return;
	}
	/* a hold */
	bool twin = cc_below(&t->rng, 100) < 3;
	if (!budget(t, twin ? 2 : 1))
		return;
	m = msg_get(t);
	m->intent = I_HOLD;
	m->rq.event_id = ev;
	m->rq.client_id = pick_client(t);
	m->rq.request_id = new_req(t);
	unsigned kind = cc_below(&t->rng, 100);
	if (kind < 40) { /* named seats, mostly near each other */
		m->rq.op = DP_OP_HOLD_SEATS;
		m->rq.part_id = part_ids[cc_below(&t->rng, PT_N_SEC)];
		m->rq.n = (uint8_t)(1 + cc_below(&t->rng, 4));
		uint32_t base = cc_below(&t->rng, PT_SEATS);
		for (unsigned k = 0; k < m->rq.n; k++) {
			uint32_t s;
			bool dup;
			do {
				s = cc_below(&t->rng, 4) == 0 ? cc_below(&t->rng, PT_SEATS)
							       : (base + cc_below(&t->rng, 8)) % PT_SEATS;
				dup = false;
				for (unsigned j = 0; j < k; j++)
					dup |= m->rq.seats[j] == s;
			} while (dup);
			m->rq.seats[k] = s;
		}
	} else if (kind < 65) {
		m->rq.op = DP_OP_HOLD_BEST;
		m->rq.part_id = part_ids[cc_below(&t->rng, PT_N_SEC)];
		m->rq.n = (uint8_t)(1 + cc_below(&t->rng, 6));
		m->rq.tier = (uint8_t)cc_below(&t->rng, 3);
	} else {
		m->rq.op = DP_OP_HOLD_GA;
		m->rq.part_id = part_ids[PT_N_SEC + (cc_below(&t->rng, 5) == 0)];
		m->rq.n = (uint8_t)(1 + cc_below(&t->rng, 6));
	}
	if (twin) {
		m2 = msg_get(t);
		m2->intent = I_HOLD;
		m2->rq = m->rq;
		struct grp *g = t->free_grps;
		assert(g);
		t->free_grps = g->next_free;
		memset(g, 0, sizeof(*g));
		g->refs = 2;
		m->g = m2->g = g;
		send_msg(t, m);
		send_msg(t, m2);
		t->dups++;
	} else {
		send_msg(t, m);
	}
}

/* Retry a BUSY request later: after 1, 2, 4 .. 16 turns of this thread (the
 * owners keep ticking meanwhile), at most PT_MAX_RETRY times. */
static bool resend(struct thr *t, struct msg *m)
{
	if (++m->retries > PT_MAX_RETRY) {
		t->gaveup++;
		return false;
	}
	t->retries++;
	unsigned shift = m->retries < 5 ? m->retries - 1 : 4;
	m->due_turn = t->turns + (1u << shift);
	assert(t->n_parked < PT_MAXOUT);
	t->parked[t->n_parked++] = m;
	return true;
}

static void resend_due(struct thr *t)
{
	for (unsigned i = 0; i < t->n_parked;) {
		struct msg *m = t->parked[i];
		if (m->due_turn <= t->turns) {
			t->parked[i] = t->parked[--t->n_parked];
			send_msg(t, m);
		} else {
			i++;
		}
	}
}

static void check_hold_ok(struct thr *t, struct msg *m)
{
	const struct dp_request *rq = &m->rq;
	const struct dp_reply *rp = &m->rp;
	int pi = part_index(rq->part_id);
	CHECK(rp->event_id == rq->event_id && rp->part_id == rq->part_id, "hold reply names %u/%u, asked %u/%u",
	      rp->event_id, rp->part_id, rq->event_id, rq->part_id);
	CHECK(rp->n_items == rq->n, "hold of %u got %u items", rq->n, rp->n_items);
	CHECK(dp_hold_worker(rp->hold_id) == m->target, "hold id %#" PRIx64 " names worker %u, executed on %u",
	      rp->hold_id, dp_hold_worker(rp->hold_id), m->target);
	CHECK(items_distinct(rp->items, rp->n_items), "hold %#" PRIx64 " has an item twice", rp->hold_id);
	if (rp->detail == DP_D_NONE) {
		CHECK(rp->expiry_ms == m->exec_now + PT_TTL_MS, "hold expiry %" PRIu64 ", executed at %" PRIu64,
		      rp->expiry_ms, m->exec_now);
		CHECK(rp->wait_seq != 0, "fresh hold without wait_seq");
	}
	if (pi < 0 || rp->n_items > DP_HOLD_TICKETS_MAX)
		return;
	for (unsigned k = 0; k < rp->n_items; k++) {
		CHECK(rp->items[k] < part_caps[pi], "hold item %u out of range", rp->items[k]);
		if (pi < PT_N_SEC && rp->items[k] < PT_SEATS)
			CHECK(!(g_seats[rp->items[k]].flags & DP_SEAT_WITHHELD), "withheld seat %u held",
			      rp->items[k]);
	}
	if (rq->op == DP_OP_HOLD_SEATS) {
		CHECK(memcmp(rp->items, rq->seats, rq->n * sizeof(uint32_t)) == 0,
		      "named-seat hold got other seats");
	} else if (rq->op == DP_OP_HOLD_BEST) {
		for (unsigned k = 0; k < rp->n_items && rp->items[k] < PT_SEATS; k++) {
			const struct dp_seat_def *s = &g_seats[rp->items[k]];
			CHECK(rq->tier == 0 || s->tier == rq->tier, "best-seat hold tier %u got a tier %u seat",
			      rq->tier, s->tier);
			if (k > 0 && rp->items[k - 1] < PT_SEATS) {
				const struct dp_seat_def *p = &g_seats[rp->items[k - 1]];
				CHECK(rp->items[k] == rp->items[k - 1] + 1 && p->row == s->row &&
					      p->number + 1 == s->number,
				      "best-seat hold %#" PRIx64 ": seats %u and %u not adjacent", rp->hold_id,
				      rp->items[k - 1], rp->items[k]);
			}
		}
	}
	(void)t;
}

static void new_hrec(struct thr *t, struct msg *m)
{
	struct hrec *h = t->hfree;
	if (!h) {
		t->no_hrec++; /* model full: the hold lives on unnamed (expires) */
		return;
	}
	t->hfree = h->next_free;
	memset(h, 0, sizeof(*h));
	h->hold_id = m->rp.hold_id;
	h->client = m->rq.client_id;
	h->expiry = m->rp.expiry_ms;
	h->event = m->rq.event_id;
	h->part = m->rq.part_id;
	h->kind = m->rq.op == DP_OP_HOLD_GA ? ST_KIND_GA : ST_KIND_SEAT;
	h->n = m->rp.n_items;
	memcpy(h->items, m->rp.items, h->n * sizeof(uint32_t));
	h->state = H_ACTIVE;
	h->active_ix = (int32_t)t->n_active;
	t->active[t->n_active++] = h;
}

static void record_order(struct thr *t, struct msg *m)
{
	if (t->n_orders == t->cap_orders) {
		t->cap_orders = t->cap_orders ? 2 * t->cap_orders : 4096;
		t->orders = realloc(t->orders, t->cap_orders * sizeof(*t->orders));
		if (!t->orders) {
			fprintf(stderr, "out of memory\n");
			abort();
		}
	}
	struct morder *o = &t->orders[t->n_orders++];
	struct hrec *h = m->h;
	o->order_id = m->rp.order_id;
	o->hold_id = h->hold_id;
	o->client = h->client;
	o->event = h->event;
	o->part = h->part;
	o->kind = h->kind;
	o->n = h->n;
	memcpy(o->items, h->items, sizeof(o->items));
	memcpy(o->pay, m->rq.payment_ref, ST_PAYMENT_REF_SIZE);
}

/* Handle a reply back at its originator. Returns true when the message is done. */
static bool on_reply(struct thr *t, struct msg *m)
{
	const struct dp_reply *rp = &m->rp;
	struct hrec *h = m->h;
	const uint8_t s = rp->status, d = rp->detail;
	bool busy = s == DP_S_BUSY;
	if (busy) {
		CHECK(rp->retry_after_ms > 0, "BUSY without retry_after_ms");
		if (d == DP_D_REBALANCING)
			t->busy_rebal++;
		else
			t->busy_log++;
		CHECK(d == DP_D_LOG_FULL || (d == DP_D_REBALANCING && m->rq.op == DP_OP_HOLD_GA),
		      "BUSY/%s for op %u", dp_detail_name(d), m->rq.op);
		if (resend(t, m))
			return false;
	}
	CHECK(s != DP_S_UNAVAILABLE, "UNAVAILABLE/%s for op %u (tables are sized not to fill)",
	      dp_detail_name(d), m->rq.op);

	switch (m->intent) {
	case I_HOLD:
		if (s == DP_S_OK) {
			check_hold_ok(t, m);
			struct grp *g = m->g;
			if (g && g->got_ok) {
				CHECK(d == DP_D_REPLAY && rp->hold_id == g->hold_id && rp->expiry_ms == g->expiry &&
					      rp->n_items == g->n &&
					      memcmp(rp->items, g->items, g->n * sizeof(uint32_t)) == 0,
				      "duplicate hold request: second OK is not a replay of the first "
				      "(%#" PRIx64 "/%s vs %#" PRIx64 ")",
				      rp->hold_id, dp_detail_name(d), g->hold_id);
			} else {
				CHECK(d == DP_D_NONE, "hold OK/%s without an earlier OK of that request",
				      dp_detail_name(d));
				if (g) {
					g->got_ok = 1;
					g->hold_id = rp->hold_id;
					g->expiry = rp->expiry_ms;
					g->n = rp->n_items;
					memcpy(g->items, rp->items, sizeof(g->items));
				}
				t->holds_ok++;
				if (d == DP_D_NONE && rp->n_items <= DP_HOLD_TICKETS_MAX)
					new_hrec(t, m);
			}
		} else if (s == DP_S_TAKEN) {
			CHECK(m->rq.op == DP_OP_HOLD_SEATS, "TAKEN for op %u", m->rq.op);
			CHECK(m->g == NULL || !m->g->got_ok, "duplicate hold: OK then TAKEN (no replay)");
			bool withheld = false;
			for (unsigned k = 0; k < m->rq.n; k++)
				withheld |= (g_seats[m->rq.seats[k]].flags & DP_SEAT_WITHHELD) != 0;
			CHECK(d != DP_D_WITHHELD || withheld, "TAKEN/withheld but no requested seat is withheld");
			CHECK(rp->n_alt <= m->rq.n, "%u alternatives for %u seats", rp->n_alt, m->rq.n);
			for (unsigned a = 0; a < rp->n_alt && a < DP_HOLD_TICKETS_MAX; a++) {
				uint32_t x = rp->alt[a];
				bool tier_ok = false, mine = false;
				CHECK(x < PT_SEATS, "alternative %u out of range", x);
				if (x >= PT_SEATS)
					continue;
				for (unsigned k = 0; k < m->rq.n; k++) {
					tier_ok |= g_seats[m->rq.seats[k]].tier == g_seats[x].tier;
					mine |= m->rq.seats[k] == x;
				}
				CHECK(tier_ok && !mine && !(g_seats[x].flags & DP_SEAT_WITHHELD),
				      "bad alternative seat %u", x);
			}
			CHECK(items_distinct(rp->alt, rp->n_alt <= DP_HOLD_TICKETS_MAX ? rp->n_alt : 0),
			      "alternative offered twice");
		} else if (s == DP_S_SOLD_OUT) {
			CHECK(m->rq.op != DP_OP_HOLD_SEATS, "SOLD_OUT for named seats");
			CHECK(m->g == NULL || !m->g->got_ok, "duplicate hold: OK then SOLD_OUT (no replay)");
			if (m->rq.op == DP_OP_HOLD_GA) {
				t->ga_sold_out++;
				CHECK(rp->available < m->rq.n,
				      "GA SOLD_OUT for %u tickets while it reports %u available", m->rq.n,
				      rp->available);
			}
		} else if (s == DP_S_LIMIT) {
			CHECK(d == DP_D_NONE, "LIMIT/%s for %u tickets", dp_detail_name(d), m->rq.n);
			CHECK(m->g == NULL || !m->g->got_ok, "duplicate hold: OK then LIMIT (no replay)");
		} else if (!busy) {
			FAIL("hold op %u got %s/%s", m->rq.op, dp_status_name(s), dp_detail_name(d));
		}
		if (m->g && --m->g->refs == 0) {
			m->g->next_free = t->free_grps;
			t->free_grps = m->g;
		}
		return true;

	case I_CONFIRM:
	case I_RELEASE: {
		bool confirm = m->intent == I_CONFIRM;
		bool lapsed = m->exec_now >= h->expiry;
		if (busy) {
			/* gave up: the hold state is unknown now; forget it */
			if (h->state == H_ACTIVE)
				hrec_end(t, h, H_EXPIRED);
			hrec_unbusy(t, h);
			return true;
		}
		if (s == DP_S_NOT_FOUND) {
			/* only once the hold ended and its slot was reused */
			CHECK(d == DP_D_HOLD && (h->state != H_ACTIVE || lapsed),
			      "%s of live hold %#" PRIx64 ": NOT_FOUND/%s", confirm ? "confirm" : "release",
			      h->hold_id, dp_detail_name(d));
			if (h->state == H_ACTIVE)
				hrec_end(t, h, H_EXPIRED);
		} else if (h->state == H_ACTIVE) {
			if (s == DP_S_OK && d == DP_D_NONE) {
				CHECK(rp->hold_id == h->hold_id && rp->event_id == h->event &&
					      rp->part_id == h->part && rp->n_items == h->n &&
					      memcmp(rp->items, h->items, h->n * sizeof(uint32_t)) == 0 &&
					      rp->expiry_ms == h->expiry,
				      "%s of %#" PRIx64 ": reply does not describe the hold",
				      confirm ? "confirm" : "release", h->hold_id);
				CHECK(rp->wait_seq != 0, "mutation without wait_seq");
				if (confirm) {
					CHECK(!lapsed, "confirm of %#" PRIx64 " at %" PRIu64 " after its expiry %" PRIu64,
					      h->hold_id, m->exec_now, h->expiry);
					CHECK(dp_order_worker(rp->order_id) == dp_hold_worker(h->hold_id) &&
						      dp_order_seq(rp->order_id) != 0,
					      "order id %#" PRIx64 " for hold %#" PRIx64, rp->order_id, h->hold_id);
					h->order_id = rp->order_id;
					record_order(t, m);
					late_add(t, &m->rq, DP_OP_CONFIRM, rp->order_id);
					t->confirms_ok++;
					hrec_end(t, h, H_CONFIRMED);
				} else {
					late_add(t, &m->rq, DP_OP_RELEASE, 0);
					t->releases_ok++;
					hrec_end(t, h, H_RELEASED);
				}
			} else if (s == DP_S_EXPIRED) {
				CHECK(lapsed, "%s of %#" PRIx64 " EXPIRED at %" PRIu64 " before its expiry %" PRIu64,
				      confirm ? "confirm" : "release", h->hold_id, m->exec_now, h->expiry);
				t->expired_seen++;
				hrec_end(t, h, H_EXPIRED);
			} else {
				FAIL("%s of live hold %#" PRIx64 " (expiry %" PRIu64 ", at %" PRIu64 "): %s/%s",
				     confirm ? "confirm" : "release", h->hold_id, h->expiry, m->exec_now,
				     dp_status_name(s), dp_detail_name(d));
				hrec_end(t, h, H_EXPIRED);
			}
		} else if (h->state == H_CONFIRMED) {
			if (confirm)
				CHECK(s == DP_S_OK && d == DP_D_CONFIRMED && rp->order_id == h->order_id,
				      "second confirm of %#" PRIx64 ": %s/%s order %#" PRIx64 " (first %#" PRIx64 ")",
				      h->hold_id, dp_status_name(s), dp_detail_name(d), rp->order_id, h->order_id);
			else
				CHECK(s == DP_S_BAD_REQUEST && d == DP_D_CONFIRMED && rp->order_id == h->order_id,
				      "release of confirmed %#" PRIx64 ": %s/%s", h->hold_id, dp_status_name(s),
				      dp_detail_name(d));
		} else if (h->state == H_RELEASED) {
			CHECK(s == DP_S_RELEASED, "%s of released %#" PRIx64 ": %s/%s",
			      confirm ? "confirm" : "release", h->hold_id, dp_status_name(s), dp_detail_name(d));
		} else { /* H_EXPIRED */
			CHECK(s == DP_S_EXPIRED, "%s of expired %#" PRIx64 ": %s/%s", confirm ? "confirm" : "release",
			      h->hold_id, dp_status_name(s), dp_detail_name(d));
		}
		hrec_unbusy(t, h);
		return true;
	}
	case I_WRONG_CLIENT:
		if (!busy)
			CHECK(s == DP_S_NOT_YOURS || (s == DP_S_NOT_FOUND && d == DP_D_HOLD),
			      "confirm of %#" PRIx64 " by another client: %s/%s", h->hold_id, dp_status_name(s),
			      dp_detail_name(d));
		hrec_unbusy(t, h);
		return true;
	case I_LATE_CONFIRM:
		if (!busy) {
			if (s == DP_S_OK)
				CHECK((d == DP_D_REPLAY || d == DP_D_CONFIRMED) && rp->order_id == m->late_order,
				      "late confirm retry of %#" PRIx64 ": OK/%s order %#" PRIx64 ", first %#" PRIx64,
				      m->rq.hold_id, dp_detail_name(d), rp->order_id, m->late_order);
			else
				CHECK(s == DP_S_NOT_FOUND && d == DP_D_HOLD,
				      "late confirm retry of %#" PRIx64 ": %s/%s", m->rq.hold_id, dp_status_name(s),
				      dp_detail_name(d));
		}
		return true;
	case I_LATE_RELEASE:
		if (!busy)
			CHECK((s == DP_S_OK && d == DP_D_REPLAY) || (s == DP_S_NOT_FOUND && d == DP_D_HOLD),
			      "late release retry of %#" PRIx64 ": %s/%s", m->rq.hold_id, dp_status_name(s),
			      dp_detail_name(d));
		return true;
	case I_BAD:
		if (!busy) {
			if (m->routing) {
				if (s != m->exp_status || d != m->exp_detail) {
					unsigned n = atomic_fetch_add(&g_fail_routing, 1);
					if (n < 3)
						fprintf(stderr,
							"FAIL routing: HOLD_GA on section %u/%u (client %" PRIu64
							") executed on dp_route's worker %u: %s/%s, expected "
							"bad_request/wrong_kind\n",
							m->rq.event_id, m->rq.part_id, m->rq.client_id, m->target,
							dp_status_name(s), dp_detail_name(d));
				}
			} else {
				CHECK(s == m->exp_status && d == m->exp_detail,
				      "malformed request (op %u n %u part %u): %s/%s, expected %s/%s", m->rq.op,
				      m->rq.n, m->rq.part_id, dp_status_name(s), dp_detail_name(d),
				      dp_status_name(m->exp_status), dp_detail_name(m->exp_detail));
			}
			CHECK(rp->wait_seq == 0, "refusal with wait_seq");
		}
		return true;
	}
	return true;
}

/* ------------------------------------------------------------ worker loop */

static void owner_execute(struct thr *t, struct msg *m)
{
	CHECK(m->target == t->idx, "message for worker %u executed on %u", m->target, t->idx);
	m->exec_now = t->now;
	m->ret = exec_on(t->w, &m->rq, t->now, &m->rp);
	t->executed++;
	if (m->rp.status < DP_S__COUNT && m->rp.detail < DP_D__COUNT)
		t->st[m->rp.status][m->rp.detail]++;
	if (m->rp.status != DP_S_BUSY && ++t->clock_ops % PT_CLOCK_EVERY == 0)
		atomic_fetch_add(&g_clock, 1000);
	/* A reply the engine lets leave at once (wait_seq 0) must not reveal a
	 * mutation that is not durable yet: an order id (release of a confirmed
	 * hold, BAD_REQUEST/CONFIRMED) or a release (RELEASED). The confirm or
	 * release it reveals ran on this worker, so its reply is still in this
	 * worker's FIFO if it is not durable. */
	if (m->rp.wait_seq == 0 && (m->rq.op == DP_OP_CONFIRM || m->rq.op == DP_OP_RELEASE) &&
	    (m->rp.order_id != 0 || m->rp.status == DP_S_RELEASED)) {
		uint64_t durable = dp_worker_durable(t->w);
		for (unsigned i = 0; i < t->pend_n; i++) {
			const struct msg *p = t->pend[(t->pend_head + i) % (PT_W * PT_MAXOUT)];
			if (p->rp.status == DP_S_OK && p->rp.wait_seq > durable && p->rq.hold_id == m->rq.hold_id &&
			    (p->rq.op == DP_OP_CONFIRM || p->rq.op == DP_OP_RELEASE)) {
				unsigned n = atomic_fetch_add(&g_fail_leak, 1);
				if (n < 3)
					fprintf(stderr,
						"FAIL durability: %s of hold %#" PRIx64 " answered %s/%s (order %#" PRIx64
						") with wait_seq 0, revealing the %s executed just before, whose record "
						"is not durable (wait_seq %" PRIu64 ", durable %" PRIu64 ")\n",
						m->rq.op == DP_OP_CONFIRM ? "confirm" : "release", m->rq.hold_id,
						dp_status_name(m->rp.status), dp_detail_name(m->rp.detail), m->rp.order_id,
						p->rq.op == DP_OP_CONFIRM ? "confirm" : "release", p->rp.wait_seq, durable);
				break;
			}
		}
	}
	/* Every reply waits in one FIFO, so replies leave in execution order
	 * (a refusal must not overtake the durable-pending confirm before it). */
	assert(t->pend_n < PT_W * PT_MAXOUT);
	t->pend[(t->pend_head + t->pend_n++) % (PT_W * PT_MAXOUT)] = m;
}

/* Send the replies whose records are durable, in order. */
static unsigned flush_durable(struct thr *t)
{
	unsigned n = 0;
	uint64_t durable = dp_worker_durable(t->w);
	while (t->pend_n > 0) {
		struct msg *m = t->pend[t->pend_head];
		if (m->rp.wait_seq > durable)
			break;
		t->pend_head = (t->pend_head + 1) % (PT_W * PT_MAXOUT);
		t->pend_n--;
		q_push(&g_thr[m->origin].reph, &g_thr[m->origin].rept, m);
		n++;
	}
	return n;
}

/* Drop expired holds from the choice list now and then (they can no longer
 * be confirmed: keeps the list about live holds). */
static void prune(struct thr *t)
{
	uint64_t now = atomic_load(&g_clock);
	for (unsigned i = 0; i < t->n_active;) {
		struct hrec *h = t->active[i];
		if (h->expiry + 2000 < now && h->busy == 0) {
			t->expired_by_tick++;
			hrec_end(t, h, H_EXPIRED);
		} else {
			i++;
		}
	}
}

static void *worker_main(void *arg)
{
	struct thr *t = arg;
	urcu_qsbr_register_thread();
	for (;;) {
		urcu_qsbr_quiescent_state();
		t->turns++;
		t->now = atomic_load(&g_clock);
		dp_worker_tick(t->w, t->now);
		if (t->turns % PT_EXPIRE_ALL_EVERY == 0)
			dp_worker_expire_all(t->w, t->now);
		if (t->turns % 4096 == 0)
			prune(t);
		unsigned work = 0;
		struct msg *m;
		for (unsigned k = 0; k < 256 && (m = q_pop(&t->reqh, &t->reqt)) != NULL; k++, work++)
			owner_execute(t, m);
		work += flush_durable(t);
		while ((m = q_pop(&t->reph, &t->rept)) != NULL) {
			work++;
			if (on_reply(t, m))
				msg_put(t, m);
		}
		if (t->n_parked)
			resend_due(t);
		for (unsigned k = 0; k < PT_GEN_PER_TURN; k++)
			generate(t);
		if (atomic_load(&g_sent) >= atomic_load(&g_target) && atomic_load(&g_inflight) == 0) {
			urcu_qsbr_thread_offline();
			pthread_barrier_wait(&g_bar); /* epoch done: main checks */
			pthread_barrier_wait(&g_bar); /* main done */
			urcu_qsbr_thread_online();
			if (atomic_load(&g_stop))
				break;
		} else if (work == 0) {
			sched_yield(); /* 2 cores, 7 threads: let the others run */
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------ reader */

struct reader_stats {
	uint64_t reads, sold, held, counts, torn;
};
static struct reader_stats g_rs;

static void *reader_main(void *arg)
{
	(void)arg;
	uint64_t rng = g_seed ^ 0x5eed;
	uint32_t max_sold[PT_MAX_EVENTS][PT_N_PARTS];
	memset(max_sold, 0, sizeof(max_sold));
	urcu_qsbr_register_thread();
	while (!atomic_load(&g_reader_stop)) {
		urcu_qsbr_quiescent_state();
		uint32_t n = atomic_load(&g_n_events);
		uint32_t e = cc_below(&rng, n);
		uint32_t ev = PT_EVENT_BASE + e;
		int pi = (int)cc_below(&rng, PT_N_PARTS);
		uint32_t part = part_ids[pi];
		urcu_qsbr_read_lock();
		for (unsigned k = 0; k < 32; k++) {
			uint32_t idx = cc_below(&rng, part_caps[pi]);
			uint64_t wd;
			int rc = dp_seat_word(g_eng, ev, part, idx, &wd);
			g_rs.reads++;
			if (rc != 0) {
				FAIL("reader: dp_seat_word(%u,%u,%u) = %d", ev, part, idx, rc);
				continue;
			}
			bool wh = pi < PT_N_SEC && (g_seats[idx].flags & DP_SEAT_WITHHELD);
			switch (dp_seat_word_state(wd)) {
			case DP_SEAT_OFF:
				CHECK(wh, "reader: %u/%u/%u is OFF but not withheld", ev, part, idx);
				break;
			case DP_SEAT_FREE:
				CHECK(!wh && wd == 0, "reader: %u/%u/%u FREE word %#" PRIx64 " (withheld %d)", ev,
				      part, idx, wd, wh);
				break;
			case DP_SEAT_HELD: {
				uint32_t ref = dp_seat_word_hold_ref(wd);
				CHECK(!wh && (ref >> 24) < PT_W, "reader: %u/%u/%u HELD by ref %#x", ev, part, idx,
				      ref);
				g_rs.held++;
				break;
			}
			case DP_SEAT_SOLD: {
				uint64_t oid = dp_seat_word_order(wd);
				struct dp_order_view v;
				g_rs.sold++;
				CHECK(!wh, "reader: withheld seat %u sold", idx);
				if (dp_order_get(g_eng, oid, &v) != 0) {
					FAIL("reader: %u/%u/%u SOLD in order %#" PRIx64 " that dp_order_get does not know",
					     ev, part, idx, oid);
					break;
				}
				bool has = false;
				for (unsigned i = 0; i < v.n_items && i < DP_HOLD_TICKETS_MAX; i++)
					has |= v.items[i] == idx;
				CHECK(v.event_id == ev && v.part_id == part && has && v.order_id == oid,
				      "reader: %u/%u/%u SOLD in order %#" PRIx64 " which is for %u/%u and %s it", ev,
				      part, idx, oid, v.event_id, v.part_id, has ? "has" : "lacks");
				break;
			}
			}
		}
		struct dp_part_counts c;
		if (dp_part_counts_get(g_eng, ev, part, &c) != 0) {
			FAIL("reader: counts of %u/%u unknown", ev, part);
		} else {
			g_rs.counts++;
			uint32_t wh = pi < PT_N_SEC ? withheld_in_section() : 0;
			CHECK(c.capacity == part_caps[pi] && c.withheld == wh, "reader: capacity %u withheld %u",
			      c.capacity, c.withheld);
			uint64_t sum = (uint64_t)c.free + c.held + c.sold + c.withheld;
			if (sum != c.capacity) {
				/* held and sold are read one after the other: a confirm between the
				 * two loads is counted twice. Counted, reported, and fatal. */
				g_rs.torn++;
				if (g_rs.torn <= 3)
					fprintf(stderr,
						"reader: counts of %u/%u: free %u + held %u + sold %u + withheld %u = %" PRIu64
						" != capacity %u\n",
						ev, part, c.free, c.held, c.sold, c.withheld, sum, c.capacity);
			}
			CHECK(c.sold >= max_sold[e][pi], "reader: sold of %u/%u went back from %u to %u", ev, part,
			      max_sold[e][pi], c.sold);
			if (c.sold > max_sold[e][pi])
				max_sold[e][pi] = c.sold;
		}
		urcu_qsbr_read_unlock();
		sched_yield(); /* a reader, not a CPU hog: the workers share 2 cores with it */
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------ checkpoint checks */

static int ord_cmp(const void *a, const void *b)
{
	const struct morder *x = *(const struct morder *const *)a, *y = *(const struct morder *const *)b;
	return x->order_id < y->order_id ? -1 : x->order_id > y->order_id;
}

/* Buyer tally: (event, client) -> tickets held or sold per the words.
 * Open addressing; sized for every key check_all may touch. */
struct tally {
	uint32_t mask, used;
	uint64_t *key;
	uint32_t *n;
};

static uint32_t *tally_at(struct tally *ta, uint64_t key)
{
	uint64_t h = key;
	uint32_t i = (uint32_t)(cc_rng(&h) >> 40) & ta->mask;
	while (ta->key[i] != 0 && ta->key[i] != key)
		i = (i + 1) & ta->mask;
	if (ta->key[i] == 0) {
		if (++ta->used > ta->mask / 2) {
			fprintf(stderr, "tally full (test bug)\n");
			abort();
		}
		ta->key[i] = key;
	}
	return &ta->n[i];
}

static uint64_t tally_key(uint32_t ev, uint64_t client) { return ((uint64_t)ev << 48) ^ client; }

/* Drain clients used so far: PT_DRAIN_CLIENT_BASE + 0..; those of event
 * index e are [g_drain_lo[e], g_drain_hi[e]). */
static uint64_t g_drain_clients;
static uint64_t g_drain_lo[PT_MAX_EVENTS], g_drain_hi[PT_MAX_EVENTS];

/*
 * The whole model at a quiescent point (no worker runs or holds a message).
 * `now` is the fake clock: every tick so far used a now <= it.
 */
static void check_all(const char *when, bool swept)
{
	uint64_t t0 = cc_mono_ns();
	uint64_t now = atomic_load(&g_clock);
	uint32_t n_ev = atomic_load(&g_n_events);
	unsigned fails0 = atomic_load(&g_failures);
	struct tally tally, *ta = &tally;
	uint64_t keys = (uint64_t)n_ev * (PT_N_CLIENTS + 8) + 2 * g_drain_clients + 1024;
	for (tally.mask = 1023; tally.mask < 4 * keys; tally.mask = 2 * tally.mask + 1)
		;
	tally.used = 0;
	tally.key = calloc((size_t)tally.mask + 1, sizeof(uint64_t));
	tally.n = calloc((size_t)tally.mask + 1, sizeof(uint32_t));
	uint64_t total_orders = 0, words_sold = 0, words_held = 0;
	uint8_t *seen[PT_MAX_EVENTS][PT_N_PARTS];
	uint32_t sold_items[PT_MAX_EVENTS][PT_N_PARTS];
	memset(sold_items, 0, sizeof(sold_items));
	for (uint32_t e = 0; e < n_ev; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			seen[e][p] = calloc(part_caps[p], 1);

	/* 1. orders: walk every worker's orders */
	for (unsigned wk = 0; wk < PT_W; wk++) {
		uint64_t n = dp_worker_orders(dp_engine_worker(g_eng, wk));
		total_orders += n;
		for (uint64_t s = 1; s <= n; s++) {
			uint64_t oid = dp_order_id(wk, s);
			struct dp_order_view v;
			if (dp_order_get(g_eng, oid, &v) != 0) {
				FAIL("[%s] order %#" PRIx64 " (<= dp_worker_orders) not found", when, oid);
				continue;
			}
			int e = event_index(v.event_id), p = part_index(v.part_id);
			if (e < 0 || p < 0 || v.n_items == 0 || v.n_items > DP_HOLD_TICKETS_MAX) {
				FAIL("[%s] order %#" PRIx64 ": event %u part %u n %u", when, oid, v.event_id, v.part_id,
				     v.n_items);
				continue;
			}
			CHECK(v.order_id == oid && dp_hold_worker(v.hold_id) == wk &&
				      v.kind == (p < PT_N_SEC ? ST_KIND_SEAT : ST_KIND_GA),
			      "[%s] order %#" PRIx64 ": hold %#" PRIx64 " kind %u", when, oid, v.hold_id, v.kind);
			for (unsigned k = 0; k < v.n_items; k++) {
				uint32_t it = v.items[k];
				if (it >= part_caps[p]) {
					FAIL("[%s] order %#" PRIx64 " item %u out of range", when, oid, it);
					continue;
				}
				if (seen[e][p][it]) {
					FAIL("[%s] ticket %u/%u/%u is in two orders (second: %#" PRIx64 ")", when,
					     v.event_id, v.part_id, it, oid);
					continue;
				}
				seen[e][p][it] = 1;
				sold_items[e][p]++;
				uint64_t wd;
				dp_seat_word(g_eng, v.event_id, v.part_id, it, &wd);
				CHECK(dp_seat_word_state(wd) == DP_SEAT_SOLD && dp_seat_word_order(wd) == oid,
				      "[%s] ticket %u/%u/%u of order %#" PRIx64 " has word %#" PRIx64, when, v.event_id,
				      v.part_id, it, oid, wd);
			}
		}
	}

	/* 2. every acknowledged order exists as acknowledged; nothing else exists */
	size_t n_ack = 0;
	for (unsigned i = 0; i < PT_W; i++)
		n_ack += g_thr[i].n_orders;
	struct morder **acks = malloc((n_ack + 1) * sizeof(*acks));
	size_t j = 0;
	for (unsigned i = 0; i < PT_W; i++)
		for (size_t k = 0; k < g_thr[i].n_orders; k++)
			acks[j++] = &g_thr[i].orders[k];
	qsort(acks, n_ack, sizeof(*acks), ord_cmp);
	for (size_t k = 0; k < n_ack; k++) {
		const struct morder *o = acks[k];
		CHECK(k == 0 || acks[k - 1]->order_id != o->order_id, "[%s] order id %#" PRIx64 " acknowledged twice",
		      when, o->order_id);
		struct dp_order_view v;
		if (dp_order_get(g_eng, o->order_id, &v) != 0) {
			FAIL("[%s] acknowledged order %#" PRIx64 " missing", when, o->order_id);
			continue;
		}
		CHECK(v.hold_id == o->hold_id && v.client_id == o->client && v.event_id == o->event &&
			      v.part_id == o->part && v.kind == o->kind && v.n_items == o->n &&
			      memcmp(v.items, o->items, o->n * sizeof(uint32_t)) == 0 &&
			      memcmp(v.payment_ref, o->pay, ST_PAYMENT_REF_SIZE) == 0,
		      "[%s] order %#" PRIx64 " differs from its acknowledgement", when, o->order_id);
	}
	CHECK(n_ack == total_orders, "[%s] %zu orders acknowledged, the engine has %" PRIu64, when, n_ack,
	      total_orders);
	free(acks);

	/* 3. every word against the ledger and the counts */
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		for (int p = 0; p < PT_N_PARTS; p++) {
			uint32_t part = part_ids[p];
			uint32_t nf = 0, nh = 0, ns = 0, no = 0;
			for (uint32_t i = 0; i < part_caps[p]; i++) {
				uint64_t wd;
				if (dp_seat_word(g_eng, ev, part, i, &wd) != 0) {
					FAIL("[%s] dp_seat_word(%u,%u,%u) failed", when, ev, part, i);
					continue;
				}
				struct led *l = &g_led[e][p][i];
				uint64_t lh = ld(&l->hold_id), lo = ld(&l->order_id), lx = ld(&l->expiry);
				bool wh = p < PT_N_SEC && (g_seats[i].flags & DP_SEAT_WITHHELD);
				switch (dp_seat_word_state(wd)) {
				case DP_SEAT_OFF:
					no++;
					CHECK(wh && lh == 0 && lo == 0, "[%s] %u/%u/%u OFF", when, ev, part, i);
					break;
				case DP_SEAT_FREE:
					nf++;
					CHECK(!wh && lo == 0 && (lh == 0 || lx <= now),
					      "[%s] %u/%u/%u FREE but the ledger has hold %#" PRIx64
					      " (expiry %" PRIu64 ", now %" PRIu64 ") order %#" PRIx64,
					      when, ev, part, i, lh, lx, now, lo);
					break;
				case DP_SEAT_HELD:
					nh++;
					CHECK(lh != 0 && lo == 0 && (uint32_t)(lh >> 32) == dp_seat_word_hold_ref(wd) &&
						      (wd & DP_WORD_EXPIRY_MASK) == cc_word_expiry(lx),
					      "[%s] %u/%u/%u HELD word %#" PRIx64 " (ref %#x) but the ledger has hold %#" PRIx64
					      " expiry %" PRIu64 " order %#" PRIx64,
					      when, ev, part, i, wd, dp_seat_word_hold_ref(wd), lh, lx, lo);
					CHECK(!swept || lx > now, "[%s] %u/%u/%u still HELD by %#" PRIx64 " due at %" PRIu64
					      " after expiring everything due at %" PRIu64, when, ev, part, i, lh, lx, now);
					(*tally_at(ta, tally_key(ev, ld(&l->client))))++;
					break;
				case DP_SEAT_SOLD:
					ns++;
					CHECK(lo != 0 && dp_seat_word_order(wd) == lo && seen[e][p][i],
					      "[%s] %u/%u/%u SOLD in %#" PRIx64 ", ledger %#" PRIx64 ", in an order: %d", when,
					      ev, part, i, dp_seat_word_order(wd), lo, seen[e][p][i]);
					(*tally_at(ta, tally_key(ev, ld(&l->client))))++;
					break;
				}
			}
			words_sold += ns;
			words_held += nh;
			CHECK(ns == sold_items[e][p], "[%s] %u/%u: %u SOLD words, orders hold %u tickets", when, ev, part,
			      ns, sold_items[e][p]);
			struct dp_part_counts c;
			int rc = dp_part_counts_get(g_eng, ev, part, &c);
			CHECK(rc == 0 && c.capacity == part_caps[p] && c.free == nf && c.held == nh && c.sold == ns &&
				      c.withheld == no && nf + nh + ns + no == part_caps[p],
			      "[%s] %u/%u counts cap %u free %u held %u sold %u withheld %u; words free %u held %u "
			      "sold %u off %u",
			      when, ev, part, c.capacity, c.free, c.held, c.sold, c.withheld, nf, nh, ns, no);
		}
		struct dp_part_counts ec;
		CHECK(dp_event_counts_get(g_eng, ev, &ec) == 0 &&
			      ec.free + ec.held + ec.sold + ec.withheld == ec.capacity,
		      "[%s] event counts of %u inconsistent", when, ev);
	}

	/* 4. every acknowledged hold that is still live in the model and not due
	 * is HELD with its ref and expiry */
	uint64_t live = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		for (unsigned k = 0; k < t->n_active; k++) {
			struct hrec *h = t->active[k];
			if (h->state != H_ACTIVE || h->expiry <= now)
				continue;
			live++;
			for (unsigned x = 0; x < h->n; x++) {
				uint64_t wd = 0;
				dp_seat_word(g_eng, h->event, h->part, h->items[x], &wd);
				CHECK(dp_seat_word_state(wd) == DP_SEAT_HELD &&
					      dp_seat_word_hold_ref(wd) == (uint32_t)(h->hold_id >> 32) &&
					      (wd & DP_WORD_EXPIRY_MASK) == cc_word_expiry(h->expiry),
				      "[%s] live hold %#" PRIx64 " (expiry %" PRIu64 ", now %" PRIu64
				      "): ticket %u/%u/%u word %#" PRIx64,
				      when, h->hold_id, h->expiry, now, h->event, h->part, h->items[x], wd);
			}
		}
	}

	/* 5. buyer counts equal the tickets the words give them */
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		uint64_t nd = g_drain_hi[e] - g_drain_lo[e];
		for (uint64_t c = 0; c < PT_N_CLIENTS + nd; c++) {
			uint64_t client = c < PT_N_CLIENTS ? PT_CLIENT_BASE + c
							   : PT_DRAIN_CLIENT_BASE + g_drain_lo[e] + (c - PT_N_CLIENTS);
			uint32_t want = *tally_at(ta, tally_key(ev, client));
			uint32_t got = dp_buyer_count(g_eng, ev, client);
			CHECK(got == want && got <= PT_LIMIT, "[%s] buyer %" PRIu64 " in %u: count %u, words say %u",
			      when, client, ev, got, want);
		}
	}

	for (uint32_t e = 0; e < n_ev; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			free(seen[e][p]);
	/* nobody else holds anything */
	for (uint32_t i = 0; i <= tally.mask; i++) {
		uint64_t k = tally.key[i];
		uint64_t client = k & ((1ull << 48) - 1);
		bool known = (client >= PT_CLIENT_BASE && client < PT_CLIENT_BASE + PT_N_CLIENTS) ||
			     client >= PT_DRAIN_CLIENT_BASE;
		CHECK(k == 0 || tally.n[i] == 0 || known, "[%s] tickets of unknown client %" PRIu64, when, client);
	}
	free(tally.key);
	free(tally.n);
	printf("check [%s]: %u events, %" PRIu64 " orders, %" PRIu64 " sold, %" PRIu64
	       " held, %" PRIu64 " live acknowledged holds: %s (%.2f s, at %.1f s)\n",
	       when, n_ev, total_orders, words_sold, words_held, live,
	       atomic_load(&g_failures) == fails0 ? "ok" : "FAILED", (double)(cc_mono_ns() - t0) / 1e9,
	       (double)(cc_mono_ns() - g_t_start) / 1e9);
	fflush(stdout);
}

/* ------------------------------------------------------------ final drain */

struct drained {
	uint64_t hold_id, client;
	unsigned worker;
};

/* Hold every free ticket of every part (main thread playing the workers,
 * which have stopped): exactly `free` must be obtainable, then nothing. Then
 * release them all and expect the counts back. */
static void drain_all(void)
{
	uint64_t now = atomic_load(&g_clock);
	uint32_t n_ev = atomic_load(&g_n_events);
	size_t cap = 1 << 16, nd = 0;
	struct drained *d = malloc(cap * sizeof(*d));
	uint64_t req = 1ull << 56;
	uint64_t drained_total = 0;
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		g_drain_lo[e] = g_drain_clients;
		for (int p = 0; p < PT_N_PARTS; p++) {
			uint32_t part = part_ids[p];
			struct dp_part_counts before;
			dp_part_counts_get(g_eng, ev, part, &before);
			uint32_t got = 0, on_client = PT_LIMIT;
			uint64_t client = 0;
			unsigned spins = 0;
			for (;;) {
				if (on_client + 1 > PT_LIMIT) {
					client = PT_DRAIN_CLIENT_BASE + g_drain_clients++;
					on_client = 0;
				}
				struct dp_request rq;
				struct dp_reply rp;
				memset(&rq, 0, sizeof(rq));
				rq.op = p < PT_N_SEC ? DP_OP_HOLD_BEST : DP_OP_HOLD_GA;
				rq.n = 1;
				rq.event_id = ev;
				rq.part_id = part;
				rq.client_id = client;
				rq.request_id = ++req;
				int wk = dp_route(g_eng, &rq);
				CHECK(wk >= 0 && wk < PT_W, "drain: dp_route %d", wk);
				if (wk < 0 || wk >= PT_W)
					break;
				exec_on(dp_engine_worker(g_eng, (unsigned)wk), &rq, now, &rp);
				if (rp.status == DP_S_OK) {
					got++;
					on_client++;
					spins = 0;
					if (nd == cap) {
						cap *= 2;
						d = realloc(d, cap * sizeof(*d));
					}
					d[nd++] = (struct drained){rp.hold_id, client, (unsigned)wk};
					continue;
				}
				if (rp.status == DP_S_BUSY) {
					if (++spins > 1000) {
						FAIL("drain %u/%u: BUSY/%s for ever with %u free", ev, part,
						     dp_detail_name(rp.detail), before.free - got);
						break;
					}
					for (unsigned x = 0; x < PT_W; x++)
						dp_worker_tick(dp_engine_worker(g_eng, x), now);
					if (rp.detail == DP_D_LOG_FULL)
						cc_sleep_us(100);
					continue;
				}
				CHECK(rp.status == DP_S_SOLD_OUT && rp.available == 0,
				      "drain %u/%u: %s/%s available %u after %u of %u", ev, part,
				      dp_status_name(rp.status), dp_detail_name(rp.detail), rp.available, got, before.free);
				break;
			}
			CHECK(got == before.free, "drain %u/%u: obtained %u tickets, counts said %u free", ev, part, got,
			      before.free);
			struct dp_part_counts after;
			dp_part_counts_get(g_eng, ev, part, &after);
			CHECK(after.free == 0 && after.held == before.held + got && after.sold == before.sold,
			      "drain %u/%u: after: free %u held %u sold %u", ev, part, after.free, after.held, after.sold);
			drained_total += got;
		}
		g_drain_hi[e] = g_drain_clients;
	}
	check_all("drained", true);
	for (size_t i = 0; i < nd; i++) {
		struct dp_request rq;
		struct dp_reply rp;
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_RELEASE;
		rq.client_id = d[i].client;
		rq.request_id = ++req;
		rq.hold_id = d[i].hold_id;
		for (unsigned tries = 0;; tries++) {
			exec_on(dp_engine_worker(g_eng, d[i].worker), &rq, now, &rp);
			if (rp.status != DP_S_BUSY || tries > 100000)
				break;
			cc_sleep_us(100);
		}
		CHECK(rp.status == DP_S_OK && rp.detail == DP_D_NONE, "drain release of %#" PRIx64 ": %s/%s",
		      d[i].hold_id, dp_status_name(rp.status), dp_detail_name(rp.detail));
	}
	printf("drain: %" PRIu64 " free tickets held and released again\n", drained_total);
	free(d);
}

/* ------------------------------------------------------------ GA hand-off scenario */

/*
 * Deterministic: 4 workers, one GA type of 8 tickets (2 per slice). Slices
 * 0, 1 and 2 are emptied by holds; worker 3 still has 2 free tickets. A buyer
 * of worker 0 asks for 1: BUSY/rebalancing, as designed. Then every worker
 * ticks once per round in index order (any poll schedule in which a worker
 * without stock ticks before the donor) and the buyer retries. The 2 free
 * tickets must reach worker 0 within a few rounds; a BUSY for ever while
 * tickets are free is the "false sold out" the brief forbids, only politer.
 * Returns the number of failures.
 */
static unsigned scenario_ga_handoff(void)
{
	unsigned fails0 = atomic_load(&g_failures);
	char dir[] = "/tmp/stampede-gahandoff-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct st_options so = {.dir = dir, .map_size_bytes = 64ull << 20, .nosync = true, .workers = PT_W};
	struct st_env *env;
	struct dp_engine *eng;
	int rc = st_env_open(&so, &env);
	assert(rc == 0);
	rc = st_writer_start(env);
	assert(rc == 0);
	struct dp_config cfg;
	dp_config_defaults(&cfg, PT_W);
	cfg.holds_max = 64;
	cfg.orders_max = 64;
	cfg.idem_max = 64;
	cfg.buyers_max = 64;
	rc = dp_engine_create(&cfg, env, &eng);
	assert(rc == 0);
	struct dp_tier_def tier = {.id = 1, .name = "ga", .price_cents = 100};
	struct dp_ga_def ga = {.id = 1, .name = "floor", .capacity = 2 * PT_W, .tier = 1};
	struct dp_event_def def = {.id = 7, .name = "handoff", .hold_ttl_ms = PT_TTL_MS, .buyer_limit = 8,
				   .n_tiers = 1, .tiers = &tier, .n_ga = 1, .ga = &ga};
	char err[200];
	rc = dp_engine_add_event(eng, &def, err, sizeof(err));
	assert(rc == 0);

	/* a client of each worker */
	uint64_t client_of[PT_W] = {0};
	struct dp_request rq;
	struct dp_reply rp;
	for (uint64_t c = 1; c < 10000; c++) {
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_HOLD_GA;
		rq.event_id = 7;
		rq.part_id = 1;
		rq.client_id = c;
		int wk = dp_route(eng, &rq);
		if (wk >= 0 && wk < PT_W && client_of[wk] == 0)
			client_of[wk] = c;
	}
	uint64_t now = PT_T0_MS, req = 0;
	for (unsigned wk = 0; wk + 1 < PT_W; wk++) { /* empty slices 0..W-2 */
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_HOLD_GA;
		rq.n = 2;
		rq.event_id = 7;
		rq.part_id = 1;
		rq.client_id = client_of[wk];
		rq.request_id = ++req;
		dp_execute(dp_engine_worker(eng, wk), &rq, now, &rp);
		CHECK(rp.status == DP_S_OK, "handoff: hold of slice %u's 2 tickets: %s/%s", wk,
		      dp_status_name(rp.status), dp_detail_name(rp.detail));
	}
	/* a second buyer of worker 0 wants 1 of the 2 left (on worker 3) */
	memset(&rq, 0, sizeof(rq));
	rq.op = DP_OP_HOLD_GA;
	rq.n = 1;
	rq.event_id = 7;
	rq.part_id = 1;
	rq.client_id = client_of[0] + 0; /* same routing; limit 8 leaves room */
	rq.request_id = ++req;
	unsigned rounds = 0, busy = 0;
	for (; rounds < 200; rounds++) {
		dp_execute(dp_engine_worker(eng, 0), &rq, now, &rp);
		if (rp.status != DP_S_BUSY)
			break;
		busy++;
		for (unsigned wk = 0; wk < PT_W; wk++)
			dp_worker_tick(dp_engine_worker(eng, wk), now);
	}
	struct dp_part_counts c;
	dp_part_counts_get(eng, 7, 1, &c);
	CHECK(rp.status == DP_S_OK,
	      "GA hand-off: a 1-ticket GA hold on worker 0 answered %s/%s %u times in a row (%u rounds of "
	      "dp_worker_tick on workers 0..%u in order) while the part has %u free tickets on worker %u",
	      dp_status_name(rp.status), dp_detail_name(rp.detail), busy, rounds, PT_W - 1, c.free, PT_W - 1);
	printf("scenario ga hand-off: %s after %u BUSY replies\n", rp.status == DP_S_OK ? "ok" : "FAILED", busy);
	fflush(stdout);
	st_writer_stop(env);
	dp_engine_destroy(eng);
	st_env_close(env);
	cc_rm_rf(dir);
	return atomic_load(&g_failures) - fails0;
}

/* ------------------------------------------------------------ torn counts scenario */

/*
 * Counts read while one ticket of a sold-out GA type moves between slices.
 * An engine of PT_TC_W workers; a GA type with 2 tickets per slice. Before
 * the threads start, every ticket is held except two: one "parked" on slice
 * PT_TC_PARK, whose worker never runs (so it stays free for ever), and one
 * on the last slice. Two threads, playing worker 0 and worker PT_TC_W-1,
 * pass that last ticket back and forth: hold it, keep it 2 ms, release it;
 * the other one asks (BUSY/rebalancing), the owner's tick hands it over, and
 * so on. Meanwhile this thread reads dp_part_counts_get in a tight loop. At
 * every instant held <= capacity - 1 and at least the parked ticket is free,
 * so every read must have free + held + sold + withheld == capacity and
 * free >= 1. A sum over per-slice counters read one after the other breaks
 * that: slice 0 read while worker 0 holds the moving ticket, the reader
 * preempted, the last slice read after worker PT_TC_W-1 took it - the ticket
 * counted twice, free under-counted (to 0 here). dp_hold_ga computes the same
 * sum (dp_part_available) to tell "stock is on another worker, BUSY" from
 * "SOLD_OUT", so such a read is a false "sold out" for a buyer whose worker's
 * slice is dry. (A buyer is not played here: its need would pull the moving
 * ticket to itself and stop the hand-overs.) Runs PT_TORN_MS (env
 * STAMPEDE_PROPERTY_TORN_MS; 0 skips it) or until a few are seen.
 */
#define PT_TORN_MS 3000
#define PT_TC_W 16
#define PT_TC_PER 2
#define PT_TC_CAP (PT_TC_W * PT_TC_PER)
#define PT_TC_PARK 7
#define PT_TC_KEEP_NS 2000000ull /* how long a thread keeps the ticket: much longer than a hand-over */

struct tc_ctx {
	struct dp_engine *eng;
	_Atomic int stop;
	_Atomic unsigned turn; /* the worker that is to take the ticket */
	_Atomic uint64_t passes;
	uint64_t clients[PT_TC_W];
};

struct tc_worker {
	struct tc_ctx *ctx;
	unsigned idx, other;
	pthread_t tid;
};

static void *tc_worker_main(void *arg)
{
	struct tc_worker *tw = arg;
	struct tc_ctx *ctx = tw->ctx;
	struct dp_worker *w = dp_engine_worker(ctx->eng, tw->idx);
	uint64_t req = (uint64_t)(tw->idx + 1) << 48, hold = 0, since = 0;
	struct dp_request rq;
	struct dp_reply rp;
	urcu_qsbr_register_thread();
	while (!atomic_load_explicit(&ctx->stop, memory_order_relaxed)) {
		urcu_qsbr_quiescent_state();
		dp_worker_tick(w, PT_T0_MS);
		if (atomic_load(&ctx->turn) != tw->idx)
			continue; /* the other one's turn: my tick hands the ticket over */
		memset(&rq, 0, sizeof(rq));
		rq.client_id = ctx->clients[tw->idx];
		rq.request_id = ++req;
		if (hold == 0) {
			rq.op = DP_OP_HOLD_GA;
			rq.n = 1;
			rq.event_id = 8;
			rq.part_id = 1;
			dp_execute(w, &rq, PT_T0_MS, &rp);
			if (rp.status == DP_S_OK) {
				hold = rp.hold_id;
				since = cc_mono_ns();
			} else {
				CHECK(rp.status == DP_S_BUSY, "torn scenario: hold %s/%s", dp_status_name(rp.status),
				      dp_detail_name(rp.detail));
			}
		} else if (cc_mono_ns() - since >= PT_TC_KEEP_NS) {
			rq.op = DP_OP_RELEASE;
			rq.hold_id = hold;
			dp_execute(w, &rq, PT_T0_MS, &rp);
			if (rp.status == DP_S_OK) {
				hold = 0;
				atomic_fetch_add(&ctx->passes, 1);
				atomic_store(&ctx->turn, tw->other);
			} else {
				CHECK(rp.status == DP_S_BUSY && rp.detail == DP_D_LOG_FULL, "torn scenario: release %s/%s",
				      dp_status_name(rp.status), dp_detail_name(rp.detail));
			}
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* Burns CPU so the reader is preempted often (2 cores). */
static void *tc_noise_main(void *arg)
{
	struct tc_ctx *ctx = arg;
	uint64_t x = 0;
	while (!atomic_load_explicit(&ctx->stop, memory_order_relaxed))
		x += cc_mono_ns() & 1;
	return (void *)(uintptr_t)x;
}

static void scenario_torn_counts(void)
{
	uint64_t ms = PT_TORN_MS;
	const char *e = getenv("STAMPEDE_PROPERTY_TORN_MS");
	if (e && *e)
		ms = strtoull(e, NULL, 10);
	if (ms == 0) {
		printf("scenario torn counts: skipped (STAMPEDE_PROPERTY_TORN_MS=0)\n");
		return;
	}
	char dir[] = "/tmp/stampede-torn-XXXXXX";
	if (!mkdtemp(dir)) {
		FAIL("mkdtemp");
		return;
	}
	struct st_options so = {
		.dir = dir, .map_size_bytes = 4ull << 30, .nosync = true, .workers = PT_TC_W, .ring_size = 4096};
	struct tc_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	struct st_env *env;
	int rc = st_env_open(&so, &env);
	assert(rc == 0);
	rc = st_writer_start(env);
	assert(rc == 0);
	struct dp_config cfg;
	dp_config_defaults(&cfg, PT_TC_W);
	cfg.holds_max = 256;
	cfg.orders_max = 16;
	cfg.idem_max = 4096;
	cfg.buyers_max = 64;
	rc = dp_engine_create(&cfg, env, &ctx.eng);
	assert(rc == 0);
	struct dp_tier_def tier = {.id = 1, .name = "ga", .price_cents = 100};
	struct dp_ga_def ga = {.id = 1, .name = "floor", .capacity = PT_TC_CAP, .tier = 1};
	struct dp_event_def def = {.id = 8, .name = "torn", .hold_ttl_ms = PT_TTL_MS, .buyer_limit = PT_TC_CAP,
				   .n_tiers = 1, .tiers = &tier, .n_ga = 1, .ga = &ga};
	char err[200];
	rc = dp_engine_add_event(ctx.eng, &def, err, sizeof(err));
	assert(rc == 0);
	struct dp_request rq;
	struct dp_reply rp;
	memset(&rq, 0, sizeof(rq));
	rq.op = DP_OP_HOLD_GA;
	rq.event_id = 8;
	rq.part_id = 1;
	unsigned found = 0;
	for (uint64_t c = 1; c < 100000 && found < PT_TC_W; c++) {
		rq.client_id = c;
		int wk = dp_route(ctx.eng, &rq);
		if (wk >= 0 && wk < PT_TC_W && ctx.clients[wk] == 0) {
			ctx.clients[wk] = c;
			found++;
		}
	}
	assert(found == PT_TC_W);
	/* hold every ticket but two: this thread plays each worker in turn */
	uint64_t req = 1;
	for (unsigned wk = 0; wk < PT_TC_W; wk++) {
		rq.client_id = ctx.clients[wk];
		rq.request_id = ++req;
		rq.n = (wk == PT_TC_W - 1 || wk == PT_TC_PARK) ? PT_TC_PER - 1 : PT_TC_PER;
		dp_execute(dp_engine_worker(ctx.eng, wk), &rq, PT_T0_MS, &rp);
		CHECK(rp.status == DP_S_OK, "torn scenario: setup hold on worker %u: %s/%s", wk,
		      dp_status_name(rp.status), dp_detail_name(rp.detail));
	}
	atomic_store(&ctx.turn, PT_TC_W - 1);
	struct tc_worker tw[2] = {{.ctx = &ctx, .idx = 0, .other = PT_TC_W - 1},
				  {.ctx = &ctx, .idx = PT_TC_W - 1, .other = 0}};
	for (unsigned i = 0; i < 2; i++)
		pthread_create(&tw[i].tid, NULL, tc_worker_main, &tw[i]);
	pthread_t noise;
	pthread_create(&noise, NULL, tc_noise_main, &ctx);
	/* the reader: this thread */
	uint64_t reads = 0, torn = 0, low = 0;
	uint64_t t_end = cc_mono_ns() + ms * 1000000ull;
	struct dp_part_counts bad_c;
	memset(&bad_c, 0, sizeof(bad_c));
	while (torn + low < 3 && (reads & 1023 || cc_mono_ns() < t_end)) {
		struct dp_part_counts c;
		urcu_qsbr_read_lock();
		dp_part_counts_get(ctx.eng, 8, 1, &c);
		urcu_qsbr_read_unlock();
		reads++;
		bool bad_sum = (uint64_t)c.free + c.held + c.sold + c.withheld != c.capacity;
		if (bad_sum || c.free == 0) {
			if (torn + low == 0)
				bad_c = c;
			torn += bad_sum;
			low += !bad_sum;
		}
		if ((reads & 255) == 0)
			urcu_qsbr_quiescent_state();
	}
	atomic_store(&ctx.stop, 1);
	urcu_qsbr_thread_offline();
	for (unsigned i = 0; i < 2; i++)
		pthread_join(tw[i].tid, NULL);
	pthread_join(noise, NULL);
	urcu_qsbr_thread_online();
	uint64_t passes = atomic_load(&ctx.passes);
	printf("scenario torn counts: %" PRIu64 " count reads, %" PRIu64 " hand-overs of the moving ticket; reads not "
	       "adding up %" PRIu64 ", reads with free 0 %" PRIu64 "\n",
	       reads, passes, torn, low);
	CHECK(torn + low > 0 || passes > 10, "torn scenario: the ticket did not move between workers");
	CHECK(torn + low == 0,
	      "dp_part_counts_get while a GA ticket moves between worker slices and another is free: %" PRIu64
	      " of %" PRIu64 " reads did not add up to the capacity and %" PRIu64
	      " said free 0 (first: free %u held %u sold %u withheld %u capacity %u; at least 1 is free at "
	      "every instant)",
	      torn, reads, low, bad_c.free, bad_c.held, bad_c.sold, bad_c.withheld, bad_c.capacity);
	fflush(stdout);
	st_writer_stop(env);
	dp_engine_destroy(ctx.eng);
	st_env_close(env);
	cc_rm_rf(dir);
}

/* ------------------------------------------------------------ main */

int main(void)
{
	uint64_t total = 2000000;
	const char *s = getenv("STAMPEDE_PROPERTY_OPS");
	if (s && *s)
		total = strtoull(s, NULL, 10);
	s = getenv("STAMPEDE_PROPERTY_SEED");
	g_seed = (s && *s) ? strtoull(s, NULL, 0) : (cc_mono_ns() ^ (uint64_t)getpid() << 32);
	printf("property: %" PRIu64 " requests, seed %#" PRIx64 " (STAMPEDE_PROPERTY_SEED to repeat)\n", total,
	       g_seed);
	fflush(stdout);
	uint64_t t_start = cc_mono_ns();
	g_t_start = t_start;

	char dir[] = "/tmp/stampede-property-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	struct st_options so = {.dir = dir, .map_size_bytes = 2ull << 30, .nosync = true, .workers = PT_W};
	int rc = st_env_open(&so, &g_env);
	if (rc != 0) {
		fprintf(stderr, "st_env_open: %s\n", st_strerror(rc));
		return 2;
	}
	rc = st_writer_start(g_env);
	assert(rc == 0);
	struct dp_config cfg;
	dp_config_defaults(&cfg, PT_W);
	cfg.holds_max = 1u << 16;
	cfg.orders_max = 1u << 15;
	cfg.idem_max = 1u << 14;
	cfg.buyers_max = 1u << 12;
	rc = dp_engine_create(&cfg, g_env, &g_eng);
	if (rc != 0) {
		fprintf(stderr, "dp_engine_create: %d\n", rc);
		return 2;
	}
	urcu_qsbr_register_thread();
	scenario_ga_handoff();
	scenario_torn_counts();
	build_def();
	withheld_in_section(); /* computed once, before any reader */
	add_event(0);

	pthread_barrier_init(&g_bar, NULL, PT_W + 1);
	unsigned epochs = (unsigned)(total / PT_EPOCH_REQUESTS);
	epochs = epochs < 4 ? 4 : epochs > PT_EPOCHS_MAX ? PT_EPOCHS_MAX : epochs;
	uint64_t per_epoch = (total + epochs - 1) / epochs;
	atomic_store(&g_target, per_epoch);
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		t->idx = i;
		t->rng = g_seed + 0x1000 * (i + 1);
		t->w = dp_engine_worker(g_eng, i);
		__cds_wfcq_init(&t->reqh, &t->reqt);
		__cds_wfcq_init(&t->reph, &t->rept);
		for (unsigned k = 0; k < PT_MAXOUT; k++) {
			t->msgs[k].next_free = t->free_msgs;
			t->free_msgs = &t->msgs[k];
			t->grps[k].next_free = t->free_grps;
			t->free_grps = &t->grps[k];
		}
		t->hpool = calloc(PT_HREC_POOL, sizeof(struct hrec));
		t->active = calloc(PT_HREC_POOL, sizeof(struct hrec *));
		if (!t->hpool || !t->active)
			return 2;
		for (unsigned k = 0; k < PT_HREC_POOL; k++) {
			t->hpool[k].next_free = t->hfree;
			t->hfree = &t->hpool[k];
		}
	}
	pthread_t reader;
	pthread_create(&reader, NULL, reader_main, NULL);
	for (unsigned i = 0; i < PT_W; i++)
		pthread_create(&g_thr[i].tid, NULL, worker_main, &g_thr[i]);

	for (unsigned ep = 0; ep < epochs; ep++) {
		urcu_qsbr_thread_offline();
		pthread_barrier_wait(&g_bar);
		urcu_qsbr_thread_online();
		char when[32];
		snprintf(when, sizeof(when), "epoch %u", ep);
		check_all(when, false);
		if (ep + 1 < epochs) {
			add_event(ep + 1);
			atomic_store(&g_target, per_epoch * (ep + 2));
		} else {
			atomic_store(&g_stop, 1);
		}
		pthread_barrier_wait(&g_bar);
	}
	urcu_qsbr_thread_offline();
	for (unsigned i = 0; i < PT_W; i++)
		pthread_join(g_thr[i].tid, NULL);
	urcu_qsbr_thread_online();

	/* every due hold goes now; nothing due may stay HELD */
	uint64_t now = atomic_load(&g_clock);
	unsigned expired = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		/* it stops early when the log ring is full: repeat until nothing is due */
		unsigned n;
		while ((n = dp_worker_expire_all(dp_engine_worker(g_eng, i), now)) != 0)
			expired += n;
	}
	check_all("expired", true);
	drain_all();
	check_all("final", true);

	atomic_store(&g_reader_stop, 1);
	urcu_qsbr_thread_offline();
	pthread_join(reader, NULL);
	urcu_qsbr_thread_online();

	/* summary */
	uint64_t st_tot[DP_S__COUNT] = {0};
	uint64_t executed = 0, sent = 0, retries = 0, gaveup = 0, dups = 0, lates = 0, bads = 0, wrong = 0,
		 cok = 0, hok = 0, rok = 0, exps = 0, gso = 0, brb = 0, blf = 0, nohrec = 0, turns = 0, ebt = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		for (int a = 0; a < DP_S__COUNT; a++)
			for (int b = 0; b < DP_D__COUNT; b++)
				st_tot[a] += t->st[a][b];
		executed += t->executed;
		sent += t->sent;
		retries += t->retries;
		gaveup += t->gaveup;
		dups += t->dups;
		lates += t->lates;
		bads += t->bads;
		wrong += t->wrong_client;
		cok += t->confirms_ok;
		hok += t->holds_ok;
		rok += t->releases_ok;
		exps += t->expired_seen;
		gso += t->ga_sold_out;
		brb += t->busy_rebal;
		blf += t->busy_log;
		nohrec += t->no_hrec;
		ebt += t->expired_by_tick;
		turns += t->turns;
	}
	printf("summary: %" PRIu64 " requests generated, %" PRIu64 " executed by workers in %.1f s (%" PRIu64
	       " turns), fake clock %" PRIu64 " s\n",
	       sent, executed, (double)(cc_mono_ns() - t_start) / 1e9, turns, (now - PT_T0_MS) / 1000);
	printf("summary: by status:");
	for (int a = 0; a < DP_S__COUNT; a++)
		if (st_tot[a])
			printf(" %s=%" PRIu64, dp_status_name(a), st_tot[a]);
	printf("\n");
	printf("summary: holds ok %" PRIu64 ", confirms ok %" PRIu64 ", releases ok %" PRIu64 ", expired replies %" PRIu64
	       ", expired at end %u; duplicates %" PRIu64 ", late retries %" PRIu64 ", malformed %" PRIu64
	       ", wrong-client %" PRIu64 "\n",
	       hok, cok, rok, exps, expired, dups, lates, bads, wrong);
	printf("summary: busy/rebalancing %" PRIu64 ", busy/log_full %" PRIu64 " (retried %" PRIu64
	       ", gave up %" PRIu64 "), GA sold_out %" PRIu64 ", model-full holds %" PRIu64
	       ", holds left to expire %" PRIu64 "\n",
	       brb, blf, retries, gaveup, gso, nohrec, ebt);
	printf("summary: reader: %" PRIu64 " words (%" PRIu64 " sold, %" PRIu64 " held), %" PRIu64
	       " count reads, %" PRIu64 " inconsistent count reads\n",
	       g_rs.reads, g_rs.sold, g_rs.held, g_rs.counts, g_rs.torn);

	CHECK(executed >= sent, "executed %" PRIu64 " < sent %" PRIu64, executed, sent);
	CHECK(sent >= total, "only %" PRIu64 " requests generated of %" PRIu64, sent, total);
	CHECK(cok > 0 && hok > 0 && rok > 0 && exps > 0, "workload degenerate");
	CHECK(g_rs.torn == 0, "reader saw %" PRIu64 " count reads with free+held+sold+withheld != capacity",
	      g_rs.torn);
	unsigned routing = atomic_load(&g_fail_routing);
	if (routing)
		fprintf(stderr,
			"FAIL routing: %u HOLD_GA requests on a section answered differently than "
			"bad_request/wrong_kind on dp_route's worker\n",
			routing);

	st_writer_stop(g_env);
	dp_engine_destroy(g_eng);
	st_env_close(g_env);
	urcu_qsbr_unregister_thread();
	cc_rm_rf(dir);
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		free(t->hpool);
		free(t->active);
		free(t->orders);
	}
	for (unsigned e = 0; e < PT_MAX_EVENTS; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			free(g_led[e][p]);
	pthread_barrier_destroy(&g_bar);
	unsigned leaks = atomic_load(&g_fail_leak);
	if (leaks)
		fprintf(stderr,
			"FAIL durability: %u replies with wait_seq 0 revealed a confirm or release that was not durable "
			"yet\n",
			leaks);
	unsigned fails = atomic_load(&g_failures) + routing + leaks;
	printf("property: %s (%u failures)\n", fails ? "FAILED" : "passed", fails);
	return fails ? 1 : 0;
}
