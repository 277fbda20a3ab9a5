/*
 * property_client.c - the client side of the property test: the random
 * request generator, retries and the checks of every reply (see
 * test_property.c for the test, property.h for the shared declarations).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "tests/concurrency/property.h"

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

void msg_put(struct thr *t, struct msg *m)
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

void hrec_end(struct thr *t, struct hrec *h, uint8_t state)
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
void generate(struct thr *t)
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

void resend_due(struct thr *t)
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
bool on_reply(struct thr *t, struct msg *m)
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
		CHECK(d == DP_D_LOG_FULL || d == DP_D_RETRY_MEMORY || (d == DP_D_REBALANCING && m->rq.op == DP_OP_HOLD_GA),
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
