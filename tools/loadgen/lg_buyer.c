/*
 * lg_buyer.c - the buyer state machine of stampede-loadgen (lg.h,
 * docs/loadgen.md "Buyers"): join the queue, poll until admitted (or told
 * there is no queue), think, hold (general admission, best available or
 * named seats), pay, confirm; or abandon and let the hold expire. Refusals
 * are handled as docs/protocol.md tells a client to: taken -> the offered
 * alternatives, sold_out -> fewer tickets or another part, limit -> fewer,
 * not_admitted / bad_token -> the queue again, closed / unavailable -> wait.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/dp_types.h"
#include "tools/loadgen/lg.h"

#define LG_HOLD_TRIES_MAX 12        /* failed holds before a buyer gives up */
#define LG_UNAVAILABLE_WAIT_MS 1000 /* unavailable: wait before trying again (not scaled) */
#define LG_POLL_MIN_MS 100          /* polling never faster, whatever the time scale */
#define LG_RETRY_SOON_MS 1          /* a new request at once (next millisecond) */

/* The scenario's time in ms shrunk by --time-scale, at least floor_ms. */
static uint64_t scaled(const struct lg_run *r, uint32_t ms, uint32_t floor_ms)
{
	double v = (double)ms * r->cfg->time_scale;
	return v < floor_ms ? floor_ms : (uint64_t)v;
}

/* The queue poll interval: --poll-ms as is, else the scenario's scaled. */
static uint64_t poll_interval(const struct lg_run *r)
{
	return r->cfg->poll_ms ? r->cfg->poll_ms : scaled(r, r->cfg->sc.poll_ms, LG_POLL_MIN_MS);
}

/* Wall clock in ms since the Unix epoch (ledger times). */
static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Arm buyer b's timer in ms and enter state st. */
static void after(struct lg_run *r, uint32_t b, uint8_t st, uint64_t ms)
{
	r->buyers[b].state = st;
	lg_wheel_arm(&r->wheel, b, r->now_ms + ms);
}

/* The buyer's party size, from the scenario's distribution (or --quantity),
 * never above the event's buyer limit. */
static uint8_t draw_quantity(struct lg_run *r)
{
	const struct lg_scenario *sc = &r->cfg->sc;
	unsigned n;
	if (r->cfg->qty_fixed) {
		n = (unsigned)r->cfg->qty_fixed;
	} else {
		uint32_t sum = 0;
		for (unsigned i = 1; i <= LG_QTY_MAX; i++)
			sum += sc->qty_weight[i];
		uint32_t x = sum ? (uint32_t)(lg_rand(&r->rng) % sum) : 0;
		for (n = 1; n < LG_QTY_MAX; n++) {
			if (x < sc->qty_weight[n])
				break;
			x -= sc->qty_weight[n];
		}
	}
	if (r->plan->buyer_limit && n > r->plan->buyer_limit)
		n = r->plan->buyer_limit;
	return (uint8_t)(n ? n : 1);
}

/* A part to shop in: weighted by sellable tickets, skipping parts that
 * answered sold_out with nothing available less than exhausted_ms ago.
 * LG_NONE when every part is sold out. */
static uint32_t pick_part(struct lg_run *r)
{
	const struct lg_plan *p = r->plan;
	uint64_t sum = 0;
	for (uint32_t i = 0; i < p->n_parts; i++) {
		const struct lg_part *pt = &p->parts[i];
		if (pt->exhausted_ms && r->now_ms - pt->exhausted_ms < r->cfg->exhausted_ms)
			continue;
		sum += pt->sellable;
	}
	if (!sum)
		return LG_NONE;
	uint64_t x = lg_rand(&r->rng) % sum;
	for (uint32_t i = 0; i < p->n_parts; i++) {
		const struct lg_part *pt = &p->parts[i];
		if (pt->exhausted_ms && r->now_ms - pt->exhausted_ms < r->cfg->exhausted_ms)
			continue;
		if (x < pt->sellable)
			return i;
		x -= pt->sellable;
	}
	return LG_NONE;
}

/* Buyer b is finished with result res. In closed-loop mode the next buyer
 * arrives in its place. */
static void finish(struct lg_run *r, uint32_t b, uint8_t res)
{
	struct lg_buyer *u = &r->buyers[b];
	if (u->flags & LG_BF_QUEUED) {
		u->flags &= (uint8_t)~LG_BF_QUEUED;
		r->st.queued--;
	}
	u->state = LG_B_DONE;
	u->result = res;
	r->st.done++;
	r->active--;
	switch (res) {
	case LG_R_BOUGHT: r->st.bought++; break;
	case LG_R_SOLD_OUT: r->st.sold_out++; break;
	case LG_R_ABANDONED: r->st.abandoned++; break;
	default: r->st.failed++; break;
	}
	if (r->cfg->sc.arrival == LG_ARRIVE_CLOSED && !r->stopping && r->next_arrival < r->n_buyers)
		lg_buyer_arrive(r, r->next_arrival++);
}

/* Encode buyer b's next request of kind op into slot s. 0, or -1 when it
 * cannot be built (no part left to shop in: the buyer is finished). */
static int encode(struct lg_run *r, uint32_t b, uint32_t s, uint8_t op)
{
	struct lg_buyer *u = &r->buyers[b];
	struct lg_req *q = &r->reqs[s];
	const struct lg_plan *p = r->plan;
	uint64_t cid = r->cfg->client_base + b + 1;
	uint64_t rid = ++u->next_rid;
	const uint8_t *tok = (u->flags & LG_BF_TOKEN) ? u->token : NULL;
	struct proto_buf pb;
	proto_buf_init(&pb, q->msg, sizeof(q->msg));
	int rc = -1;
	q->op = op;
	q->mutation = 0;
	q->request_id = rid;
	switch (op) {
	case PROTO_OP_QUEUE_JOIN:
		if (r->cfg->sc.codes && p->n_codes)
			rc = proto_put_queue_join_code(&pb, cid, rid, p->event_id, p->codes[u->code]);
		else
			rc = proto_put_queue_join(&pb, cid, rid, p->event_id);
		break;
	case PROTO_OP_QUEUE_POLL:
		rc = proto_put_queue_poll(&pb, cid, rid, p->event_id, u->token);
		break;
	case PROTO_OP_HOLD_GA:
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_SEATS: {
		const struct lg_part *pt = &p->parts[u->part];
		q->mutation = 1;
		if (pt->ga) {
			q->op = PROTO_OP_HOLD_GA;
			rc = proto_put_hold_ga(&pb, cid, rid, p->event_id, pt->id, u->n, tok);
		} else if (r->cfg->sc.hold == LG_HOLD_SEATS || (u->flags & LG_BF_SEATS)) {
			uint32_t seats[LG_QTY_MAX];
			if (u->flags & LG_BF_SEATS) {
				memcpy(seats, u->pend_seats, sizeof(seats));
				u->flags &= (uint8_t)~LG_BF_SEATS;
			} else {
				uint32_t n = u->n <= pt->seats ? u->n : pt->seats;
				u->n = (uint8_t)n;
				uint32_t first = lg_rand_between(&r->rng, 0, pt->seats - n);
				for (uint32_t i = 0; i < n; i++)
					seats[i] = first + i;
			}
			q->op = PROTO_OP_HOLD_SEATS;
			rc = proto_put_hold_seats(&pb, cid, rid, p->event_id, pt->id, u->n, seats, tok);
		} else {
			q->op = PROTO_OP_HOLD_BEST;
			rc = proto_put_hold_best(&pb, cid, rid, p->event_id, pt->id, u->n, 0, tok);
		}
		break;
	}
	case PROTO_OP_CONFIRM: {
		uint8_t ref[PROTO_PAYMENT_REF_SIZE] = {0};
		snprintf((char *)ref, sizeof(ref), "lg-%llu", (unsigned long long)cid);
		q->mutation = 1;
		rc = proto_put_confirm(&pb, cid, rid, u->hold_id, ref);
		break;
	}
	}
	q->len = (uint16_t)pb.len;
	return rc;
}

/* Start buyer b's request of kind op: take a slot (or wait in line for
 * one), encode, queue it. */
static void start(struct lg_run *r, uint32_t b, uint8_t op)
{
	struct lg_buyer *u = &r->buyers[b];
	if (r->stopping)
		return;
	uint32_t s = lg_req_alloc(r, b);
	if (s == LG_NONE) {
		u->state = LG_B_SLOT;
		u->next_op = op;
		u->next_slot = LG_NONE;
		if (r->slot_wait_tail != LG_NONE)
			r->buyers[r->slot_wait_tail].next_slot = b;
		else
			r->slot_wait_head = b;
		r->slot_wait_tail = b;
		return;
	}
	if (encode(r, b, s, op) != 0) {
		/* Cannot happen with the limits above (a message fits LG_MSG_MAX):
		 * count it and give the buyer up rather than send garbage. */
		r->st.other_refusals++;
		lg_req_free(r, s);
		finish(r, b, LG_R_FAILED);
		return;
	}
	u->req = s;
	switch (op) {
	case PROTO_OP_QUEUE_JOIN: u->state = LG_B_JOIN; r->st.joins++; break;
	case PROTO_OP_QUEUE_POLL: u->state = LG_B_POLL; r->st.polls++; break;
	case PROTO_OP_CONFIRM: u->state = LG_B_CONFIRM; break;
	default: u->state = LG_B_HOLD; break;
	}
	lg_req_submit(r, s);
}

/* Slots came free: start the buyers waiting for one, in order. */
void lg_buyer_slot_free(struct lg_run *r)
{
	while (lg_req_can_start(r) && r->slot_wait_head != LG_NONE) {
		uint32_t b = r->slot_wait_head;
		r->slot_wait_head = r->buyers[b].next_slot;
		if (r->slot_wait_head == LG_NONE)
			r->slot_wait_tail = LG_NONE;
		start(r, b, r->buyers[b].next_op);
	}
}

/* Try to hold: pick a part if the buyer has none (or gave it up), or finish
 * as sold out when none is left. */
static void try_hold(struct lg_run *r, uint32_t b)
{
	struct lg_buyer *u = &r->buyers[b];
	if (u->tries >= LG_HOLD_TRIES_MAX) {
		finish(r, b, LG_R_SOLD_OUT);
		return;
	}
	if (u->part == UINT8_MAX) {
		uint32_t pi = pick_part(r);
		if (pi == LG_NONE) {
			finish(r, b, LG_R_SOLD_OUT);
			return;
		}
		u->part = (uint8_t)pi;
	}
	start(r, b, PROTO_OP_HOLD_GA); /* encode picks the kind from the part */
}

/* Admitted, or no queue: think, then hold. */
static void shop(struct lg_run *r, uint32_t b)
{
	struct lg_buyer *u = &r->buyers[b];
	const struct lg_scenario *sc = &r->cfg->sc;
	if (u->flags & LG_BF_QUEUED) {
		u->flags &= (uint8_t)~LG_BF_QUEUED;
		r->st.queued--;
	}
	after(r, b, LG_B_THINK, scaled(r, lg_rand_between(&r->rng, sc->think_min_ms, sc->think_max_ms), 1));
}

/* Buyer b arrives: draws a party size, whether they will abandon, a code;
 * joins the queue. */
void lg_buyer_arrive(struct lg_run *r, uint32_t b)
{
	struct lg_buyer *u = &r->buyers[b];
	r->st.arrived++;
	r->active++;
	u->n = draw_quantity(r);
	u->part = UINT8_MAX;
	if (lg_rand(&r->rng) % 1000 < r->cfg->sc.abandon_permille)
		u->flags |= LG_BF_ABANDON;
	if (r->plan->n_codes) {
		/* Codes by their uses: buyer b takes the code whose cumulative
		 * uses cover b (so no code is asked for more than its uses while
		 * buyers <= the total). */
		uint64_t x = b, acc = 0;
		uint32_t c = 0;
		for (; c < r->plan->n_codes; c++) {
			acc += r->plan->code_uses[c];
			if (x < acc)
				break;
		}
		u->code = (uint16_t)(c < r->plan->n_codes ? c : lg_rand(&r->rng) % r->plan->n_codes);
	}
	start(r, b, PROTO_OP_QUEUE_JOIN);
}

/* Buyer b's timer fired: do what its state waits for. */
void lg_buyer_timer(struct lg_run *r, uint32_t b)
{
	struct lg_buyer *u = &r->buyers[b];
	if (r->stopping && u->state != LG_B_DONE)
		return;
	switch (u->state) {
	case LG_B_ARRIVE: lg_buyer_arrive(r, b); break;
	case LG_B_WAIT: start(r, b, PROTO_OP_QUEUE_POLL); break;
	case LG_B_REJOIN:
		u->flags &= (uint8_t)~(LG_BF_TOKEN | LG_BF_TICKET);
		start(r, b, PROTO_OP_QUEUE_JOIN);
		break;
	case LG_B_THINK: try_hold(r, b); break;
	case LG_B_PAY:
		if (u->flags & LG_BF_ABANDON) {
			finish(r, b, LG_R_ABANDONED);
			r->st.held_abandoned += u->held_n;
			/* held_n stays counted until the hold's expiry */
			lg_wheel_arm(&r->wheel, b, u->expiry_ms);
			return;
		}
		start(r, b, PROTO_OP_CONFIRM);
		break;
	case LG_B_DONE: /* an abandoned hold's expiry */
		r->st.held -= u->held_n;
		r->st.held_abandoned -= u->held_n;
		u->held_n = 0;
		break;
	default: break;
	}
}

/* The queue's answer (join or poll). */
static void queue_reply(struct lg_run *r, uint32_t b, const struct proto_reply *rep)
{
	struct lg_buyer *u = &r->buyers[b];
	uint64_t poll = poll_interval(r);
	switch (rep->head.status) {
	case DP_S_OK:
		break;
	case DP_S_BAD_TOKEN: r->st.bad_token++; after(r, b, LG_B_REJOIN, LG_RETRY_SOON_MS); return;
	case DP_S_CLOSED: r->st.closed++; after(r, b, LG_B_REJOIN, poll); return;
	case DP_S_UNAVAILABLE: r->st.unavailable++; after(r, b, LG_B_REJOIN, LG_UNAVAILABLE_WAIT_MS); return;
	default: r->st.other_refusals++; finish(r, b, LG_R_FAILED); return;
	}
	if (rep->kind != PROTO_R_QUEUE) {
		r->st.bad_replies++;
		finish(r, b, LG_R_FAILED);
		return;
	}
	const struct proto_queue_reply *qr = &rep->u.queue;
	switch (qr->state) {
	case PROTO_QS_WAITING:
	case PROTO_QS_PREQUEUE:
		memcpy(u->token, qr->token, PROTO_TOKEN_SIZE);
		u->flags = (uint8_t)((u->flags & ~LG_BF_TOKEN) | LG_BF_TICKET);
		if (!(u->flags & LG_BF_QUEUED)) {
			u->flags |= LG_BF_QUEUED;
			r->st.queued++;
		}
		after(r, b, LG_B_WAIT, poll);
		return;
	case PROTO_QS_ADMITTED:
		memcpy(u->token, qr->token, PROTO_TOKEN_SIZE);
		u->flags = (uint8_t)((u->flags & ~LG_BF_TICKET) | LG_BF_TOKEN);
		if (!(u->flags & LG_BF_ADMIT)) {
			u->flags |= LG_BF_ADMIT;
			r->st.admitted++;
		}
		shop(r, b);
		return;
	default: /* NO_QUEUE */
		u->flags &= (uint8_t)~(LG_BF_TOKEN | LG_BF_TICKET);
		shop(r, b);
		return;
	}
}

/* A hold failed in a way that asks for another try: count it, then hold
 * again (new request id) after ms. */
static void hold_again(struct lg_run *r, uint32_t b, uint64_t ms)
{
	r->buyers[b].tries++;
	after(r, b, LG_B_THINK, ms);
}

/* The answer to a hold. */
static void hold_reply(struct lg_run *r, uint32_t b, const struct proto_reply *rep)
{
	struct lg_buyer *u = &r->buyers[b];
	const struct lg_scenario *sc = &r->cfg->sc;
	struct lg_part *pt = &r->plan->parts[u->part];
	const struct proto_hold_reply *h = &rep->u.hold.body;
	int body = rep->kind == PROTO_R_HOLD;
	switch (rep->head.status) {
	case DP_S_OK:
		if (!body || h->n_items == 0) {
			r->st.bad_replies++;
			finish(r, b, LG_R_FAILED);
			return;
		}
		r->st.holds_ok++;
		u->hold_id = h->hold_id;
		u->held_n = h->n_items;
		r->st.held += h->n_items;
		u->tries = 0;
		{
			uint64_t w = wall_ms();
			u->expiry_ms = r->now_ms + (h->expiry_ms > w ? h->expiry_ms - w : 0);
			/* An abandoned hold counts as held until it expires. */
			uint64_t pay = scaled(r, lg_rand_between(&r->rng, sc->pay_min_ms, sc->pay_max_ms), 1);
			after(r, b, LG_B_PAY, pay);
		}
		return;
	case DP_S_TAKEN:
		r->st.holds_taken++;
		if (body && h->n_alt > 0) {
			memcpy(u->pend_seats, rep->u.hold.alt, h->n_alt * sizeof(uint32_t));
			u->n = h->n_alt;
			u->flags |= LG_BF_SEATS;
		} else if (rep->head.detail != DP_D_WITHHELD) {
			pt->exhausted_ms = r->now_ms; /* nothing free near: try elsewhere */
			u->part = UINT8_MAX;
		}
		hold_again(r, b, LG_RETRY_SOON_MS);
		return;
	case DP_S_SOLD_OUT:
		r->st.holds_sold_out++;
		if (body && h->available > 0 && h->available < u->n)
			u->n = (uint8_t)h->available;
		else if (body && h->available > 0 && u->n > 1)
			u->n--; /* no adjacent block of n: a smaller party */
		else {
			if (!body || h->available == 0)
				pt->exhausted_ms = r->now_ms;
			u->part = UINT8_MAX;
		}
		hold_again(r, b, LG_RETRY_SOON_MS);
		return;
	case DP_S_LIMIT:
		r->st.holds_limit++;
		if (u->n > 1) {
			u->n--;
			hold_again(r, b, LG_RETRY_SOON_MS);
		} else {
			finish(r, b, LG_R_FAILED);
		}
		return;
	case DP_S_NOT_ADMITTED:
		r->st.not_admitted++;
		after(r, b, LG_B_REJOIN, LG_RETRY_SOON_MS);
		return;
	case DP_S_BAD_TOKEN:
		r->st.bad_token++;
		after(r, b, LG_B_REJOIN, LG_RETRY_SOON_MS);
		return;
	case DP_S_CLOSED:
		r->st.closed++;
		after(r, b, LG_B_THINK, poll_interval(r));
		return;
	case DP_S_UNAVAILABLE:
		r->st.unavailable++;
		after(r, b, LG_B_THINK, LG_UNAVAILABLE_WAIT_MS);
		return;
	default:
		r->st.other_refusals++;
		finish(r, b, LG_R_FAILED);
		return;
	}
}

/* Record an acknowledged order (the ledger, the verifier). */
static void record_order(struct lg_run *r, uint32_t b, const struct proto_reply *rep)
{
	const struct proto_hold_reply *h = &rep->u.hold.body;
	r->st.orders_acked++;
	r->st.sold_acked += h->n_items;
	if (r->n_secs)
		r->secs[r->n_secs - 1].sold += h->n_items;
	if (r->n_orders >= r->orders_max)
		return; /* cannot happen: one order per buyer at most */
	struct lg_order *o = &r->orders[r->n_orders++];
	o->order_id = h->order_id;
	o->hold_id = h->hold_id;
	o->client_id = r->cfg->client_base + b + 1;
	o->time_ms = wall_ms();
	o->part_id = h->part_id;
	o->n_items = h->n_items;
	memcpy(o->items, rep->u.hold.items, h->n_items * sizeof(uint32_t));
}

/* The answer to a confirm. */
static void confirm_reply(struct lg_run *r, uint32_t b, const struct proto_reply *rep)
{
	struct lg_buyer *u = &r->buyers[b];
	switch (rep->head.status) {
	case DP_S_OK:
		if (rep->kind != PROTO_R_HOLD || rep->u.hold.body.order_id == 0) {
			r->st.bad_replies++;
			finish(r, b, LG_R_FAILED);
			return;
		}
		r->st.confirms_ok++;
		r->st.held -= u->held_n;
		u->held_n = 0;
		record_order(r, b, rep);
		finish(r, b, LG_R_BOUGHT);
		return;
	case DP_S_EXPIRED: /* too slow: start again with a new hold */
		r->st.confirms_expired++;
		r->st.held -= u->held_n;
		u->held_n = 0;
		u->hold_id = 0;
		hold_again(r, b, LG_RETRY_SOON_MS);
		return;
	case DP_S_UNAVAILABLE: /* confirm is idempotent through the hold: ask again */
		r->st.unavailable++;
		after(r, b, LG_B_PAY, LG_UNAVAILABLE_WAIT_MS);
		u->flags &= (uint8_t)~LG_BF_ABANDON;
		return;
	default:
		r->st.other_refusals++;
		r->st.held -= u->held_n;
		u->held_n = 0;
		finish(r, b, LG_R_FAILED);
		return;
	}
}

/* The final answer (not busy) to buyer b's request in slot s. */
void lg_buyer_reply(struct lg_run *r, uint32_t b, uint32_t s, const struct proto_reply *rep)
{
	switch (r->reqs[s].op) {
	case PROTO_OP_QUEUE_JOIN:
	case PROTO_OP_QUEUE_POLL: queue_reply(r, b, rep); break;
	case PROTO_OP_CONFIRM: confirm_reply(r, b, rep); break;
	default: hold_reply(r, b, rep); break;
	}
}

/* Buyer b's request in slot s got no answer in time. Queue requests: join
 * again later. A hold of unknown outcome: hold again (a hold that was made
 * expires). A confirm of unknown outcome: confirm again with a new request
 * id (a confirm is idempotent for ever through its hold). */
void lg_buyer_gave_up(struct lg_run *r, uint32_t b, uint32_t s, int unknown)
{
	(void)unknown;
	if (r->stopping)
		return;
	switch (r->reqs[s].op) {
	case PROTO_OP_QUEUE_JOIN:
	case PROTO_OP_QUEUE_POLL: after(r, b, LG_B_REJOIN, poll_interval(r)); break;
	case PROTO_OP_CONFIRM:
		r->buyers[b].flags &= (uint8_t)~LG_BF_ABANDON;
		after(r, b, LG_B_PAY, r->cfg->timeout_ms);
		break;
	default: hold_again(r, b, r->cfg->timeout_ms); break;
	}
}
