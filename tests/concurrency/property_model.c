/*
 * property_model.c - the property test's tables and globals, the per-ticket
 * ledger, helpers, the event definition and execution on the owner's side
 * (see test_property.c for the test, property.h for the shared declarations).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "tests/concurrency/property.h"

/* ------------------------------------------------------------ parameters */

const uint32_t part_ids[PT_N_PARTS] = {1, 2, 3, 4, 10, 11};
const uint32_t part_caps[PT_N_PARTS] = {PT_SEATS, PT_SEATS, PT_SEATS, PT_SEATS, 2000, 64};

/* ------------------------------------------------------------ failures */

_Atomic unsigned g_failures;
_Atomic unsigned g_fail_routing; /* the dp_route/dp_execute disagreement (see report) */
_Atomic unsigned g_fail_leak;    /* replies leaving before the mutation they reveal is durable */

/* ------------------------------------------------------------ globals */

struct dp_engine *g_eng;
struct st_env *g_env;
uint64_t g_seed;
uint64_t g_t_start;

_Atomic uint64_t g_clock = PT_T0_MS;
_Atomic uint64_t g_sent;      /* logical requests generated */
_Atomic uint64_t g_target;    /* generation stops at this g_sent */
_Atomic int64_t g_inflight;   /* messages not yet fully processed */
_Atomic int g_stop;
_Atomic int g_reader_stop;
_Atomic uint32_t g_n_events;  /* events loaded: ids PT_EVENT_BASE + 0..n-1 */
pthread_barrier_t g_bar;

/* Definitions: one layout, the id changes per event. */
static struct dp_event_def g_def;
static struct dp_tier_def g_tiers[3];
static struct dp_section_def g_secs[PT_N_SEC];
static struct dp_ga_def g_ga[PT_N_GA];
struct dp_seat_def g_seats[PT_SEATS];
static char g_rows[PT_ROWS][DP_ROW_LABEL_MAX];

/* The per-ticket ledger (struct led, property.h): per event and part. */
struct led *g_led[PT_MAX_EVENTS][PT_N_PARTS];

/* ------------------------------------------------------------ model types */

struct thr g_thr[PT_W];

/* ------------------------------------------------------------ helpers */

int part_index(uint32_t part_id)
{
	for (int i = 0; i < PT_N_PARTS; i++)
		if (part_ids[i] == part_id)
			return i;
	return -1;
}

int event_index(uint32_t event_id)
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

uint64_t ld(_Atomic uint64_t *a) { return atomic_load_explicit(a, memory_order_relaxed); }
void st(_Atomic uint64_t *a, uint64_t v) { atomic_store_explicit(a, v, memory_order_relaxed); }

void q_push(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t, struct msg *m)
{
	cds_wfcq_node_init(&m->node);
	cds_wfcq_enqueue(h, t, &m->node);
}

/* Single consumer; NULL when empty or when a sender is half way through. */
struct msg *q_pop(struct __cds_wfcq_head *h, struct cds_wfcq_tail *t)
{
	struct cds_wfcq_node *n = __cds_wfcq_dequeue_nonblocking(h, t);
	if (n == NULL || n == CDS_WFCQ_WOULDBLOCK)
		return NULL;
	return caa_container_of(n, struct msg, node);
}

void build_def(void)
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

uint32_t withheld_in_section(void)
{
	if (g_withheld == 0)
		for (unsigned i = 0; i < PT_SEATS; i++)
			g_withheld += (g_seats[i].flags & DP_SEAT_WITHHELD) != 0;
	return g_withheld;
}

/* Load event number e (control path: workers parked or not yet started). */
void add_event(unsigned e)
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

bool items_distinct(const uint32_t *it, unsigned n)
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
int exec_on(struct dp_worker *w, const struct dp_request *rq, uint64_t now, struct dp_reply *rp)
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
