/*
 * dp_recover.c - rebuild the engine from storage after a restart: event
 * definitions and their sale settings first, then every logged mutation in commit order. The result
 * is exactly what was acknowledged: holds with their ids and expiries, orders
 * with their ids, buyer counts, and the idempotency records of each worker.
 * Holds that expired while the process was down are left for the sweep (or
 * the next confirm) to reclaim, as they would have been.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_internal.h"

static int load_event(void *ctx, uint32_t event_id, const void *blob, size_t len)
{
	struct dp_engine *eng = ctx;
	struct dp_event_def *def;
	char err[200];
	int rc = dp_event_def_decode(blob, len, &def, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "stampede: stored event %u: %s\n", event_id, err);
		return MDB_CORRUPTED;
	}
	rc = def->id == event_id ? dp_event_publish(eng, def, 0, NULL, err, sizeof(err)) : MDB_CORRUPTED;
	dp_event_def_free(def);
	if (rc)
		return rc;
	/* Presale windows, and their redemptions refilled as durable. */
	rc = dp_presale_recover(eng, dp_event_lookup(eng, event_id));
	if (rc)
		return rc == -EINVAL ? MDB_CORRUPTED : rc;
	/* The durable sale settings; none stored (a data directory from before
	 * they existed) means open at once. */
	struct st_sale sale;
	rc = st_env_get_sale(eng->env, event_id, &sale);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (sale.state < DP_SALE_SCHEDULED || sale.state > DP_SALE_CLOSED) {
		fprintf(stderr, "stampede: stored sale settings of event %u: state %u\n", event_id, sale.state);
		return MDB_CORRUPTED;
	}
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	dp_sale_apply(ev, &sale);
	if (ev && (rc = dp_queue_apply(ev, &sale, 1)) != 0) {
		fprintf(stderr, "stampede: event %u: rebuilding the waiting room's pre-queue order failed\n", event_id);
		return rc;
	}
	return 0;
}

static struct dp_slice *slice_of(struct dp_part *p, unsigned worker)
{
	return &p->slices[p->kind == ST_KIND_GA ? worker : 0];
}

static void idem_remember(struct dp_worker *w, const struct st_record *r, const struct dp_hold *h)
{
	if (r->flags & ST_REC_F_OPERATOR || r->type == ST_REC_EXPIRE)
		return;
	if (dp_idem_find(&w->idem, r->client_id, r->request_id))
		return; /* the id was reused after its entry was forgotten */
	struct dp_reply rp;
	memset(&rp, 0, sizeof(rp));
	rp.status = DP_S_OK;
	rp.event_id = h->event_id;
	rp.part_id = h->part_id;
	rp.hold_id = r->hold_id;
	rp.expiry_ms = h->expiry_ms;
	rp.n_items = h->n;
	memcpy(rp.items, h->items, h->n * sizeof(uint32_t));
	if (r->type == ST_REC_CONFIRM)
		rp.order_id = r->order_id;
	dp_idem_put(&w->idem, r->client_id, r->request_id, r->fingerprint, r->time_ms, &rp);
}

static int replay_one(void *ctx, const struct st_record *r)
{
	struct dp_engine *eng = ctx;
	if (r->worker >= eng->cfg.workers || dp_hold_worker(r->hold_id) != r->worker ||
	    dp_hold_slot(r->hold_id) >= eng->cfg.holds_max)
		return MDB_CORRUPTED;
	struct dp_worker *w = &eng->workers[r->worker];
	struct dp_event *ev = dp_event_lookup(eng, r->event_id);
	if (!ev)
		return 0; /* the event was removed: its records no longer matter */
	struct dp_part *p = dp_part_lookup(ev, r->part_id);
	if (!p || p->kind != r->kind)
		return MDB_CORRUPTED;
	uint32_t slot = dp_hold_slot(r->hold_id);
	struct dp_hold *h = &w->holds[slot];
	struct dp_slice *sl = slice_of(p, r->worker);

	if (r->type == ST_REC_HOLD) {
		if (h->state == DP_H_ACTIVE || r->n_items == 0)
			return MDB_CORRUPTED;
		for (unsigned k = 0; k < r->n_items; k++)
			if (r->items[k] >= p->capacity || atomic_load(&p->words[r->items[k]]) != DP_WORD_FREE)
				return MDB_CORRUPTED;
		uint64_t word = dp_word_held((uint32_t)(r->hold_id >> 32), r->expiry_ms);
		for (unsigned k = 0; k < r->n_items; k++)
			atomic_store(&p->words[r->items[k]], word);
		dp_slice_counts_add(sl, r->n_items, 0);
		if (dp_buyers_add(&ev->buyers, r->client_id, r->n_items, UINT32_MAX) != DP_S_OK)
			return -ENOSPC;
		memset(h, 0, sizeof(*h));
		h->gen = dp_hold_gen(r->hold_id);
		h->state = DP_H_ACTIVE;
		h->kind = r->kind;
		h->n = r->n_items;
		h->event_id = r->event_id;
		h->part_id = r->part_id;
		h->client_id = r->client_id;
		h->request_id = r->request_id;
		h->expiry_ms = r->expiry_ms;
		memcpy(h->items, r->items, r->n_items * sizeof(uint32_t));
		idem_remember(w, r, h);
		return 0;
	}
	if (h->state != DP_H_ACTIVE || h->gen != dp_hold_gen(r->hold_id))
		return MDB_CORRUPTED;
	if (r->type == ST_REC_CONFIRM) {
		uint64_t n_orders = atomic_load(&w->n_orders);
		if (dp_order_worker(r->order_id) != r->worker || dp_order_seq(r->order_id) != n_orders + 1 ||
		    n_orders >= eng->cfg.orders_max)
			return MDB_CORRUPTED;
		dp_order_append(w, h, r->hold_id, r->time_ms, r->payment_ref);
		for (unsigned k = 0; k < h->n; k++)
			atomic_store(&p->words[h->items[k]], dp_word_sold(r->order_id));
		dp_slice_counts_add(sl, -(int32_t)h->n, (int32_t)h->n);
		h->state = DP_H_CONFIRMED;
		h->order_id = r->order_id;
	} else {
		for (unsigned k = 0; k < h->n; k++)
			atomic_store(&p->words[h->items[k]], DP_WORD_FREE);
		dp_slice_counts_add(sl, -(int32_t)h->n, 0);
		dp_buyers_sub(&ev->buyers, h->client_id, h->n);
		h->state = r->type == ST_REC_RELEASE ? DP_H_RELEASED : DP_H_EXPIRED;
	}
	h->end_request_id = r->request_id;
	idem_remember(w, r, h);
	return 0;
}

int dp_engine_recover(struct dp_engine *eng)
{
	int rc = st_env_for_each_event(eng->env, load_event, eng);
	if (rc)
		return rc;
	rc = st_env_replay(eng->env, replay_one, eng);
	if (rc)
		return rc;
	/* Free hold slots: never-used first, then ended ones (kept longest). */
	for (unsigned i = 0; i < eng->cfg.workers; i++) {
		struct dp_worker *w = &eng->workers[i];
		w->free_head = 0;
		w->free_n = 0;
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t s = 0; s < eng->cfg.holds_max; s++) {
				uint8_t st = w->holds[s].state;
				if ((pass == 0 && st == DP_H_FREE) || (pass == 1 && st != DP_H_FREE && st != DP_H_ACTIVE))
					w->free_slots[w->free_n++] = s;
			}
	}
	const struct dp_catalog *c = eng->catalog;
	for (uint32_t e = 0; e < c->n; e++)
		for (uint32_t i = 0; i < c->ev[e]->n_parts; i++)
			if (c->ev[e]->parts[i].kind == ST_KIND_GA)
				dp_ga_distribute(&c->ev[e]->parts[i]);
	return 0;
}
