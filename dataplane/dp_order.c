/*
 * dp_order.c - what happens to a hold after it is made: confirm into an
 * order, release by its buyer or an operator, expiry. Runs on the worker
 * whose id the hold carries; orders are read by any thread (dp_order_get).
 */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_internal.h"

uint64_t dp_hold_id_make(unsigned worker, uint32_t slot, uint32_t gen)
{
	assert(worker < DP_WORKERS_MAX && slot < (1u << 24));
	return ((uint64_t)worker << 56) | ((uint64_t)slot << 32) | gen;
}

/* Return a slot to the back of the FIFO: the longest possible time before
 * reuse, so a stale hold id keeps answering RELEASED/EXPIRED. */
void dp_free_slot_push(struct dp_worker *w, uint32_t slot)
{
	uint32_t cap = w->eng->cfg.holds_max;
	assert(w->free_n < cap);
	uint32_t tail = w->free_head + w->free_n;
	if (tail >= cap)
		tail -= cap;
	w->free_slots[tail] = slot;
	w->free_n++;
}

/* Find the hold named by rq->hold_id on this worker, or fill *out. */
static struct dp_hold *hold_find(struct dp_worker *w, const struct dp_request *rq, uint32_t *slot_out,
				 struct dp_reply *out)
{
	uint64_t id = rq->hold_id;
	unsigned wk = dp_hold_worker(id);
	uint32_t slot = dp_hold_slot(id);
	if (wk >= w->eng->cfg.workers || slot >= w->eng->cfg.holds_max) {
		dp_reply_status(out, DP_S_NOT_FOUND, DP_D_HOLD);
		return NULL;
	}
	if (wk != w->idx) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_WRONG_WORKER);
		return NULL;
	}
	struct dp_hold *h = &w->holds[slot];
	if (h->state == DP_H_FREE || h->gen != dp_hold_gen(id)) {
		dp_reply_status(out, DP_S_NOT_FOUND, DP_D_HOLD);
		return NULL;
	}
	if (h->client_id != rq->client_id && !(rq->flags & DP_REQ_F_OPERATOR)) {
		dp_reply_status(out, DP_S_NOT_YOURS, DP_D_NONE);
		return NULL;
	}
	*slot_out = slot;
	return h;
}

static void reply_hold(struct dp_reply *out, const struct dp_hold *h, uint64_t hold_id)
{
	out->event_id = h->event_id;
	out->part_id = h->part_id;
	out->hold_id = hold_id;
	out->expiry_ms = h->expiry_ms;
	out->n_items = h->n;
	memcpy(out->items, h->items, h->n * sizeof(uint32_t));
}

static void log_busy(struct dp_worker *w, int rc, struct dp_reply *out)
{
	if (rc == -ENOBUFS) {
		dp_reply_status(out, DP_S_BUSY, DP_D_LOG_FULL);
		out->retry_after_ms = w->eng->cfg.busy_retry_ms;
	} else {
		dp_reply_status(out, DP_S_UNAVAILABLE, DP_D_STORAGE);
	}
}

void dp_items_free(struct dp_worker *w, struct dp_part *p, const uint32_t *items, unsigned n)
{
	struct dp_slice *sl = &p->slices[p->kind == ST_KIND_GA ? w->idx : 0];
	for (unsigned k = 0; k < n; k++) {
		assert(dp_seat_word_state(atomic_load_explicit(&p->words[items[k]], memory_order_relaxed)) ==
		       DP_SEAT_HELD);
		atomic_store_explicit(&p->words[items[k]], DP_WORD_FREE, memory_order_release);
		if (p->kind == ST_KIND_GA) {
			assert(sl->n_free < p->capacity);
			sl->free[sl->n_free++] = items[k];
		} else if (items[k] < sl->hint) {
			sl->hint = items[k];
		}
	}
	dp_slice_counts_add(sl, -(int32_t)n, 0);
}

int dp_hold_end(struct dp_worker *w, struct dp_hold *h, uint32_t slot, uint8_t rec_type, uint64_t request_id,
		uint64_t fingerprint, uint32_t flags, uint64_t now_ms)
{
	assert(h->state == DP_H_ACTIVE);
	assert(rec_type == ST_REC_RELEASE || rec_type == ST_REC_EXPIRE);
	struct st_record rec;
	memset(&rec, 0, ST_RECORD_HEAD_SIZE);
	rec.type = rec_type;
	rec.worker = (uint8_t)w->idx;
	rec.kind = h->kind;
	rec.event_id = h->event_id;
	rec.part_id = h->part_id;
	rec.flags = flags;
	rec.hold_id = dp_hold_id_make(w->idx, slot, h->gen);
	rec.client_id = h->client_id;
	rec.request_id = request_id;
	rec.fingerprint = fingerprint;
	rec.time_ms = now_ms;
	rec.expiry_ms = h->expiry_ms;
	uint64_t seq;
	int rc = st_log_push(w->log, &rec, &seq);
	if (rc)
		return rc;
	struct dp_event *ev = dp_event_lookup(w->eng, h->event_id);
	struct dp_part *p = ev ? dp_part_lookup(ev, h->part_id) : NULL;
	if (p) { /* an event removed since keeps nothing to give back */
		dp_items_free(w, p, h->items, h->n);
		dp_buyers_sub(&ev->buyers, h->client_id, h->n);
	}
	h->state = rec_type == ST_REC_RELEASE ? DP_H_RELEASED : DP_H_EXPIRED;
	h->end_request_id = request_id;
	h->end_seq = seq + 1;
	dp_free_slot_push(w, slot);
	return 0;
}

void dp_order_append(struct dp_worker *w, const struct dp_hold *h, uint64_t hold_id, uint64_t time_ms,
		     const uint8_t *payment_ref)
{
	uint64_t n = atomic_load_explicit(&w->n_orders, memory_order_relaxed);
	assert(n < w->eng->cfg.orders_max);
	struct dp_order *o = &w->orders[n];
	o->hold_id = hold_id;
	o->client_id = h->client_id;
	o->time_ms = time_ms;
	o->event_id = h->event_id;
	o->part_id = h->part_id;
	o->kind = h->kind;
	o->n = h->n;
	memcpy(o->items, h->items, h->n * sizeof(uint32_t));
	memcpy(o->payment_ref, payment_ref, ST_PAYMENT_REF_SIZE);
	/* Readers on other threads see the order complete or not at all. */
	atomic_store_explicit(&w->n_orders, n + 1, memory_order_release);
}

void dp_confirm(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	uint32_t slot;
	struct dp_hold *h = hold_find(w, rq, &slot, out);
	if (!h)
		return;
	switch (h->state) {
	case DP_H_CONFIRMED:
		/* Confirmed already (a retry whose idempotency record was
		 * forgotten, or a second confirm): the same order, nothing new. */
		dp_reply_status(out, DP_S_OK, DP_D_CONFIRMED);
		reply_hold(out, h, rq->hold_id);
		out->order_id = h->order_id;
		out->wait_seq = h->end_seq;
		return;
	case DP_H_RELEASED:
		dp_reply_status(out, DP_S_RELEASED, DP_D_NONE);
		return;
	case DP_H_EXPIRED:
		dp_reply_status(out, DP_S_EXPIRED, DP_D_NONE);
		return;
	default:
		break;
	}
	assert(h->state == DP_H_ACTIVE);
	if (now_ms >= h->expiry_ms) {
		/* Expiry is decided here, where the hold is used, not by the sweep. */
		if (dp_hold_end(w, h, slot, ST_REC_EXPIRE, 0, 0, 0, now_ms) == 0)
			w->expired_total++;
		dp_reply_status(out, DP_S_EXPIRED, DP_D_NONE);
		return;
	}
	struct dp_event *ev = dp_event_lookup(w->eng, h->event_id);
	struct dp_part *p = ev ? dp_part_lookup(ev, h->part_id) : NULL;
	if (!p) {
		dp_reply_status(out, DP_S_NOT_FOUND, DP_D_EVENT);
		return;
	}
	uint64_t n_orders = atomic_load_explicit(&w->n_orders, memory_order_relaxed);
	if (n_orders >= w->eng->cfg.orders_max) {
		dp_reply_status(out, DP_S_UNAVAILABLE, DP_D_ORDERS_FULL);
		return;
	}
	uint64_t order_id = dp_order_id(w->idx, n_orders + 1);
	struct st_record rec;
	memset(&rec, 0, ST_RECORD_HEAD_SIZE);
	rec.type = ST_REC_CONFIRM;
	rec.worker = (uint8_t)w->idx;
	rec.kind = h->kind;
	rec.event_id = h->event_id;
	rec.part_id = h->part_id;
	rec.hold_id = rq->hold_id;
	rec.client_id = rq->client_id;
	rec.request_id = rq->request_id;
	rec.fingerprint = dp_request_fingerprint(rq);
	rec.time_ms = now_ms;
	rec.expiry_ms = h->expiry_ms;
	rec.order_id = order_id;
	memcpy(rec.payment_ref, rq->payment_ref, ST_PAYMENT_REF_SIZE);
	uint64_t seq;
	int rc = st_log_push(w->log, &rec, &seq);
	if (rc) {
		log_busy(w, rc, out);
		return;
	}
	dp_order_append(w, h, rq->hold_id, now_ms, rq->payment_ref);

	uint64_t word = dp_word_sold(order_id);
	for (unsigned k = 0; k < h->n; k++) {
		assert(dp_seat_word_state(atomic_load_explicit(&p->words[h->items[k]], memory_order_relaxed)) ==
		       DP_SEAT_HELD);
		atomic_store_explicit(&p->words[h->items[k]], word, memory_order_release);
	}
	struct dp_slice *sl = &p->slices[p->kind == ST_KIND_GA ? w->idx : 0];
	dp_slice_counts_add(sl, -(int32_t)h->n, (int32_t)h->n);
	h->state = DP_H_CONFIRMED;
	h->order_id = order_id;
	h->end_request_id = rq->request_id;
	h->end_seq = seq + 1;
	dp_free_slot_push(w, slot);

	dp_reply_status(out, DP_S_OK, DP_D_NONE);
	reply_hold(out, h, rq->hold_id);
	out->order_id = order_id;
	out->wait_seq = seq + 1;
}

void dp_release(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	uint32_t slot;
	struct dp_hold *h = hold_find(w, rq, &slot, out);
	if (!h)
		return;
	if (h->state == DP_H_RELEASED && h->end_request_id == rq->request_id &&
	    !(rq->flags & DP_REQ_F_OPERATOR)) {
		dp_reply_status(out, DP_S_OK, DP_D_REPLAY); /* this very release, retried */
		reply_hold(out, h, rq->hold_id);
		out->wait_seq = h->end_seq;
		return;
	}
	if (h->state != DP_H_ACTIVE) {
		static const uint8_t status_of[] = {
			[DP_H_CONFIRMED] = DP_S_OK, /* replaced below */
			[DP_H_RELEASED] = DP_S_RELEASED,
			[DP_H_EXPIRED] = DP_S_EXPIRED,
		};
		if (h->state == DP_H_CONFIRMED) {
			/* Sold tickets are not given back by a release. */
			dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_CONFIRMED);
			out->order_id = h->order_id;
		} else {
			dp_reply_status(out, status_of[h->state], DP_D_NONE);
		}
		return;
	}
	int rc = dp_hold_end(w, h, slot, ST_REC_RELEASE, rq->request_id, dp_request_fingerprint(rq),
			     (rq->flags & DP_REQ_F_OPERATOR) ? ST_REC_F_OPERATOR : 0, now_ms);
	if (rc) {
		log_busy(w, rc, out);
		return;
	}
	dp_reply_status(out, DP_S_OK, DP_D_NONE);
	reply_hold(out, h, rq->hold_id);
	out->wait_seq = h->end_seq;
}

int dp_order_get(struct dp_engine *eng, uint64_t order_id, struct dp_order_view *out)
{
	unsigned wk = dp_order_worker(order_id);
	uint64_t seq = dp_order_seq(order_id);
	if (wk >= eng->cfg.workers || seq == 0)
		return -ENOENT;
	struct dp_worker *w = &eng->workers[wk];
	if (seq > atomic_load_explicit(&w->n_orders, memory_order_acquire))
		return -ENOENT;
	const struct dp_order *o = &w->orders[seq - 1];
	memset(out, 0, sizeof(*out));
	out->order_id = order_id;
	out->hold_id = o->hold_id;
	out->client_id = o->client_id;
	out->time_ms = o->time_ms;
	out->event_id = o->event_id;
	out->part_id = o->part_id;
	out->kind = o->kind;
	out->n_items = o->n;
	memcpy(out->items, o->items, o->n * sizeof(uint32_t));
	memcpy(out->payment_ref, o->payment_ref, ST_PAYMENT_REF_SIZE);
	return 0;
}

uint64_t dp_worker_orders(const struct dp_worker *w)
{
	return atomic_load_explicit(&w->n_orders, memory_order_acquire);
}

/* Operator expire/release of one hold: see dp_engine.h. Reuses hold_find and
 * dp_release with DP_REQ_F_OPERATOR, so an operator release is exactly the
 * one a buyer request with that flag makes. */
int dp_worker_end_hold(struct dp_worker *w, uint64_t hold_id, int expire, uint64_t now_ms, uint64_t *wait_seq)
{
	*wait_seq = 0;
	struct dp_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.op = DP_OP_RELEASE;
	rq.flags = DP_REQ_F_OPERATOR;
	rq.hold_id = hold_id;
	struct dp_reply out;
	memset(&out, 0, sizeof(out));
	uint32_t slot;
	struct dp_hold *h = hold_find(w, &rq, &slot, &out);
	if (!h)
		return DP_END_NOT_FOUND; /* unknown worker, slot or generation, or another worker's */
	if (h->state != DP_H_ACTIVE) {
		/* "ended" reveals the record that ended it: answer once it is durable. */
		*wait_seq = h->end_seq;
		return DP_END_ENDED;
	}
	if (!expire) {
		dp_release(w, &rq, now_ms, &out);
		if (out.status == DP_S_OK) {
			*wait_seq = out.wait_seq;
			return DP_END_RELEASED;
		}
		assert(out.status == DP_S_BUSY || out.status == DP_S_UNAVAILABLE);
		return out.status == DP_S_BUSY ? DP_END_BUSY : DP_END_UNAVAILABLE;
	}
	if (h->expiry_ms > now_ms)
		return DP_END_NOT_DUE;
	int rc = dp_hold_end(w, h, slot, ST_REC_EXPIRE, 0, 0, 0, now_ms);
	if (rc)
		return rc == -ENOBUFS ? DP_END_BUSY : DP_END_UNAVAILABLE;
	w->expired_total++;
	*wait_seq = h->end_seq;
	return DP_END_EXPIRED;
}
