/*
 * dp_hold.c - holds: named seats, best available, general admission.
 *
 * Every function here runs on the worker that owns the part (dp_execute
 * checked that). It checks everything first, then dp_hold_commit pushes the
 * log record and only then changes memory, so a refusal never changes state.
 */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_internal.h"

/* The common checks of a hold: event, part, kind, owner, quantity, sale
 * state (not open: CLOSED), buyer limit.
 * Returns the part or NULL with *out filled. */
static struct dp_part *hold_part(struct dp_worker *w, const struct dp_request *rq, uint8_t kind, uint64_t now_ms,
				 struct dp_event **ev_out, struct dp_reply *out)
{
	struct dp_event *ev = dp_event_lookup(w->eng, rq->event_id);
	if (!ev) {
		dp_reply_status(out, DP_S_NOT_FOUND, DP_D_EVENT);
		return NULL;
	}
	struct dp_part *p = dp_part_lookup(ev, rq->part_id);
	if (!p) {
		dp_reply_status(out, DP_S_NOT_FOUND, DP_D_PART);
		return NULL;
	}
	if (p->kind != kind) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_WRONG_KIND);
		return NULL;
	}
	if (kind == ST_KIND_SEAT ? p->owner != w->idx : dp_ga_worker(w->eng, rq->client_id) != w->idx) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
		return NULL;
	}
	if (rq->n == 0) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_QTY_ZERO);
		return NULL;
	}
	if (rq->n > DP_HOLD_TICKETS_MAX) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_QTY_TOO_MANY);
		return NULL;
	}
	const uint32_t state = atomic_load_explicit(&ev->sale_state, memory_order_relaxed);
	/* A presale hold (its token checked by dp_queue_hold_check) runs while
	 * the sale is still scheduled; pause and close refuse it too. */
	if (state != DP_SALE_OPEN && !(state == DP_SALE_SCHEDULED && (rq->flags & DP_REQ_F_PRESALE)) &&
	    dp_sale_effective((int)state, atomic_load_explicit(&ev->on_sale_ms, memory_order_relaxed), now_ms) !=
		    DP_SALE_OPEN) {
		dp_reply_status(out, DP_S_CLOSED, DP_D_NONE);
		return NULL;
	}
	if (rq->n > atomic_load_explicit(&ev->buyer_limit, memory_order_relaxed)) {
		dp_reply_status(out, DP_S_LIMIT, DP_D_QTY_TOO_MANY);
		return NULL;
	}
	*ev_out = ev;
	return p;
}

static inline uint64_t word_at(const struct dp_part *p, uint32_t i)
{
	return atomic_load_explicit(&p->words[i], memory_order_relaxed);
}

/* Offer up to want free seats of `tier` nearest to index `at`, skipping the
 * request's own seats. Fills out->alt; nothing is held. */
static void offer_alternatives(const struct dp_part *p, const struct dp_request *rq, uint32_t at, uint8_t tier,
			       struct dp_reply *out)
{
	unsigned want = rq->n;
	out->n_alt = 0;
	for (uint32_t d = 1; d < p->capacity && out->n_alt < want; d++) {
		for (int side = 0; side < 2 && out->n_alt < want; side++) {
			int64_t i = side ? (int64_t)at + d : (int64_t)at - d;
			if (i < 0 || i >= p->capacity)
				continue;
			if (word_at(p, (uint32_t)i) != DP_WORD_FREE || p->seats[i].tier != tier)
				continue;
			int mine = 0;
			for (unsigned k = 0; k < rq->n; k++)
				mine |= rq->seats[k] == (uint32_t)i;
			if (!mine)
				out->alt[out->n_alt++] = (uint32_t)i;
		}
	}
}

void dp_hold_seats(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	struct dp_event *ev;
	struct dp_part *p = hold_part(w, rq, ST_KIND_SEAT, now_ms, &ev, out);
	if (!p)
		return;
	for (unsigned i = 0; i < rq->n; i++) {
		if (rq->seats[i] >= p->capacity) {
			dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_SEAT_RANGE);
			return;
		}
		for (unsigned j = 0; j < i; j++)
			if (rq->seats[j] == rq->seats[i]) {
				dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_DUP_SEAT);
				return;
			}
	}
	for (unsigned i = 0; i < rq->n; i++) {
		uint32_t s = rq->seats[i];
		uint64_t wd = word_at(p, s);
		if (wd != DP_WORD_FREE) {
			dp_reply_status(out, DP_S_TAKEN, wd == DP_WORD_OFF ? DP_D_WITHHELD : DP_D_NONE);
			offer_alternatives(p, rq, s, p->seats[s].tier, out);
			return;
		}
	}
	dp_hold_commit(w, rq, ev, p, rq->seats, rq->n, now_ms, out);
}

void dp_hold_best(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	struct dp_event *ev;
	struct dp_part *p = hold_part(w, rq, ST_KIND_SEAT, now_ms, &ev, out);
	if (!p)
		return;
	struct dp_slice *sl = &p->slices[0];
	const unsigned n = rq->n;
	/* Advance the hint past the taken front (held, sold, withheld). */
	while (sl->hint < p->capacity && word_at(p, sl->hint) != DP_WORD_FREE)
		sl->hint++;
	uint32_t run = 0;
	for (uint32_t i = sl->hint; i < p->capacity; i++) {
		const struct dp_seat_def *s = &p->seats[i];
		int ok = word_at(p, i) == DP_WORD_FREE && (rq->tier == 0 || s->tier == rq->tier);
		if (ok && run > 0) {
			const struct dp_seat_def *prev = &p->seats[i - 1];
			if (prev->row != s->row || prev->number + 1 != s->number)
				run = 0; /* not adjacent: this seat starts a new run */
		}
		run = ok ? run + 1 : 0;
		if (run == n) {
			uint32_t items[DP_HOLD_TICKETS_MAX];
			for (unsigned k = 0; k < n; k++)
				items[k] = i + 1 - n + k;
			dp_hold_commit(w, rq, ev, p, items, n, now_ms, out);
			return;
		}
	}
	dp_reply_status(out, DP_S_SOLD_OUT, DP_D_NONE);
	out->available = dp_part_available(p);
}

void dp_hold_ga(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	struct dp_event *ev;
	struct dp_part *p = hold_part(w, rq, ST_KIND_GA, now_ms, &ev, out);
	if (!p)
		return;
	struct dp_slice *sl = &p->slices[w->idx];
	const unsigned n = rq->n;
	if (sl->n_free < n) {
		uint32_t avail = dp_part_available(p);
		if (avail >= n) {
			/* Stock is on other workers' slices: ask for some and have
			 * the buyer retry; never a false "sold out". */
			sl->need_ms = now_ms;
			dp_ga_need(w->eng, sl, n);
			dp_reply_status(out, DP_S_BUSY, DP_D_REBALANCING);
			out->retry_after_ms = 1;
			return;
		}
		dp_ga_need(w->eng, sl, 0);
		dp_reply_status(out, DP_S_SOLD_OUT, DP_D_NONE);
		out->available = avail;
		return;
	}
	dp_ga_need(w->eng, sl, 0);
	uint32_t items[DP_HOLD_TICKETS_MAX];
	for (unsigned k = 0; k < n; k++)
		items[k] = sl->free[sl->n_free - 1 - k];
	if (dp_hold_commit(w, rq, ev, p, items, n, now_ms, out) == DP_S_OK) {
		sl->n_free -= n;
		assert(out->n_items == n);
	}
}

int dp_hold_commit(struct dp_worker *w, const struct dp_request *rq, struct dp_event *ev, struct dp_part *p,
		   const uint32_t *items, unsigned n, uint64_t now_ms, struct dp_reply *out)
{
	assert(n >= 1 && n <= DP_HOLD_TICKETS_MAX);
	if (w->free_n == 0) {
		dp_reply_status(out, DP_S_UNAVAILABLE, DP_D_HOLDS_FULL);
		return out->status;
	}
	int rc = dp_buyers_add(&ev->buyers, rq->client_id, n, atomic_load_explicit(&ev->buyer_limit, memory_order_relaxed));
	if (rc != DP_S_OK) {
		dp_reply_status(out, rc, rc == DP_S_LIMIT ? DP_D_NONE : DP_D_BUYERS_FULL);
		return rc;
	}
	uint32_t slot = w->free_slots[w->free_head];
	struct dp_hold *h = &w->holds[slot];
	assert(h->state != DP_H_ACTIVE);
	uint32_t gen = h->gen + 1;
	uint64_t hold_id = dp_hold_id_make(w->idx, slot, gen);
	uint64_t expiry_ms = now_ms + atomic_load_explicit(&ev->hold_ttl_ms, memory_order_relaxed);

	struct st_record rec;
	memset(&rec, 0, ST_RECORD_HEAD_SIZE);
	rec.type = ST_REC_HOLD;
	rec.worker = (uint8_t)w->idx;
	rec.kind = p->kind;
	rec.n_items = (uint8_t)n;
	rec.event_id = ev->id;
	rec.part_id = p->id;
	rec.hold_id = hold_id;
	rec.client_id = rq->client_id;
	rec.request_id = rq->request_id;
	rec.fingerprint = dp_request_fingerprint(rq);
	rec.time_ms = now_ms;
	rec.expiry_ms = expiry_ms;
	memcpy(rec.items, items, n * sizeof(uint32_t));
	uint64_t seq;
	rc = st_log_push(w->log, &rec, &seq);
	if (rc != 0) {
		dp_buyers_sub(&ev->buyers, rq->client_id, n);
		if (rc == -ENOBUFS) {
			dp_reply_status(out, DP_S_BUSY, DP_D_LOG_FULL);
			out->retry_after_ms = w->eng->cfg.busy_retry_ms;
		} else {
			dp_reply_status(out, DP_S_UNAVAILABLE, DP_D_STORAGE);
		}
		return out->status;
	}
	/* The record is in the log: apply. Nothing below can fail. */
	w->free_head = (w->free_head + 1 == w->eng->cfg.holds_max) ? 0 : w->free_head + 1;
	w->free_n--;
	h->gen = gen;
	h->state = DP_H_ACTIVE;
	h->kind = p->kind;
	h->n = (uint8_t)n;
	h->event_id = ev->id;
	h->part_id = p->id;
	h->client_id = rq->client_id;
	h->request_id = rq->request_id;
	h->expiry_ms = expiry_ms;
	h->order_id = 0;
	h->end_request_id = 0;
	h->end_seq = 0;
	memcpy(h->items, items, n * sizeof(uint32_t));
	uint64_t word = dp_word_held((uint32_t)(hold_id >> 32), expiry_ms);
	for (unsigned k = 0; k < n; k++) {
		assert(atomic_load_explicit(&p->words[items[k]], memory_order_relaxed) == DP_WORD_FREE);
		atomic_store_explicit(&p->words[items[k]], word, memory_order_release);
	}
	struct dp_slice *sl = &p->slices[p->kind == ST_KIND_GA ? w->idx : 0];
	dp_slice_counts_add(sl, (int32_t)n, 0);

	dp_reply_status(out, DP_S_OK, DP_D_NONE);
	out->event_id = ev->id;
	out->part_id = p->id;
	out->hold_id = hold_id;
	out->expiry_ms = expiry_ms;
	out->n_items = (uint8_t)n;
	memcpy(out->items, items, n * sizeof(uint32_t));
	out->wait_seq = seq + 1;
	return DP_S_OK;
}
