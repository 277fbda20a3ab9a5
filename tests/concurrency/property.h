/*
 * property.h - private declarations shared by the files of the concurrency
 * property test (one executable, test_property; the test itself is
 * described in test_property.c):
 *   property_model.c     parameters' tables, globals, the ledger, helpers and
 *                        execution on the owner's side
 *   property_client.c    the client side: request generator and reply checks
 *   property_worker.c    the worker loop and the lock-free reader thread
 *   property_check.c     checkpoint checks and the final drain
 *   property_scenario.c  the targeted scenarios (GA hand-off, torn counts)
 *   test_property.c      main
 * Every file defines _GNU_SOURCE (mkdtemp, nftw) before including this.
 */
#ifndef STAMPEDE_TESTS_CONCURRENCY_PROPERTY_H
#define STAMPEDE_TESTS_CONCURRENCY_PROPERTY_H

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
extern const uint32_t part_ids[PT_N_PARTS];
extern const uint32_t part_caps[PT_N_PARTS];
#define PT_MAX_EVENTS PT_EPOCHS_MAX

/* ------------------------------------------------------------ failures */

extern _Atomic unsigned g_failures;
extern _Atomic unsigned g_fail_routing; /* the dp_route/dp_execute disagreement (see report) */
extern _Atomic unsigned g_fail_leak;    /* replies leaving before the mutation they reveal is durable */

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

extern struct dp_engine *g_eng;
extern struct st_env *g_env;
extern uint64_t g_seed;
extern uint64_t g_t_start;

extern _Atomic uint64_t g_clock;
extern _Atomic uint64_t g_sent;      /* logical requests generated */
extern _Atomic uint64_t g_target;    /* generation stops at this g_sent */
extern _Atomic int64_t g_inflight;   /* messages not yet fully processed */
extern _Atomic int g_stop;
extern _Atomic int g_reader_stop;
extern _Atomic uint32_t g_n_events;  /* events loaded: ids PT_EVENT_BASE + 0..n-1 */
extern pthread_barrier_t g_bar;

/* Definitions (property_model.c): one layout, the id changes per event. */
extern struct dp_seat_def g_seats[PT_SEATS];

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
extern struct led *g_led[PT_MAX_EVENTS][PT_N_PARTS];

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

extern struct thr g_thr[PT_W];

/* The reader thread's counters (property_worker.c). */
struct reader_stats {
	uint64_t reads, sold, held, counts, torn;
};
extern struct reader_stats g_rs;

/* ------------------------------------------------------------ property_model.c */

int part_index(uint32_t part_id);
int event_index(uint32_t event_id);
uint64_t ld(_Atomic uint64_t *a);
void st(_Atomic uint64_t *a, uint64_t v);
void q_push(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t, struct msg *m);
struct msg *q_pop(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t);
void build_def(void);
uint32_t withheld_in_section(void);
void add_event(unsigned e);
bool items_distinct(const uint32_t *it, unsigned n);
int exec_on(struct dp_worker *w, const struct dp_request *rq, uint64_t now, struct dp_reply *rp);

/* ------------------------------------------------------------ property_client.c */

void msg_put(struct thr *t, struct msg *m);
void hrec_end(struct thr *t, struct hrec *h, uint8_t state);
void generate(struct thr *t);
void resend_due(struct thr *t);
bool on_reply(struct thr *t, struct msg *m);

/* ------------------------------------------------------------ property_worker.c */

void *worker_main(void *arg);
void *reader_main(void *arg);

/* ------------------------------------------------------------ property_check.c */

void check_all(const char *when, bool swept);
void drain_all(void);

/* ------------------------------------------------------------ property_scenario.c */

unsigned scenario_ga_handoff(void);
void scenario_torn_counts(void);

#endif /* STAMPEDE_TESTS_CONCURRENCY_PROPERTY_H */
