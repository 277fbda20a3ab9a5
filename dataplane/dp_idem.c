/*
 * dp_idem.c - per-worker memory of recent mutations for idempotent retries.
 *
 * A FIFO of the last `cap` mutations this worker applied, keyed by (client id,
 * request id), each with the fingerprint of its request and its reply. When
 * full, the oldest entry is forgotten, but never one younger than the retry
 * horizon (cfg.idem_horizon_ms): dp_idem_room tells the worker to answer busy
 * instead, because forgetting an entry a client may still retry would let the
 * retry apply twice. Confirms and releases stay idempotent beyond that
 * through their hold (dp_order.c). Single writer: the worker.
 * Index: open addressing, linear probing, backward-shift deletion. Each index
 * slot holds the key's hash beside the entry number, so a probe touches the
 * (large, cold) entry array only when the hash matches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_internal.h"

static uint32_t idem_hash(uint64_t client_id, uint64_t request_id)
{
	return (uint32_t)dp_mix64(client_id * 0x9e3779b97f4a7c15ull ^ request_id);
}

#define SLOT(hash, e) (((uint64_t)(hash) << 32) | (e))
#define SLOT_ENTRY(v) ((uint32_t)(v))
#define SLOT_HASH(v) ((uint32_t)((v) >> 32))

/* Allocate for cap entries (1..2^28). Returns 0, -EINVAL or -ENOMEM. */
int dp_idem_init(struct dp_idem *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > (1u << 28))
		return -EINVAL;
	uint32_t slots = 1;
	while (slots < 2 * cap)
		slots <<= 1;
	t->entries = dp_alloc_zeroed((size_t)cap * sizeof(*t->entries));
	t->index = dp_alloc_zeroed((size_t)slots * sizeof(*t->index));
	if (!t->entries || !t->index) {
		dp_idem_fini(t);
		return -ENOMEM;
	}
	t->cap = cap;
	t->index_mask = slots - 1;
	return 0;
}

void dp_idem_fini(struct dp_idem *t)
{
	free(t->entries);
	free(t->index);
	t->entries = NULL;
	t->index = NULL;
}

const struct dp_idem_entry *dp_idem_find(const struct dp_idem *t, uint64_t client_id, uint64_t request_id)
{
	const uint32_t hash = idem_hash(client_id, request_id);
	for (uint32_t i = hash & t->index_mask;; i = (i + 1) & t->index_mask) {
		uint64_t v = t->index[i];
		if (v == 0)
			return NULL;
		if (SLOT_HASH(v) != hash)
			continue;
		const struct dp_idem_entry *en = &t->entries[SLOT_ENTRY(v) - 1];
		if (en->client_id == client_id && en->request_id == request_id)
			return en;
	}
}

/* Remove the index slot pointing at entry `e` (1-based), shifting back. */
static void idem_unindex(struct dp_idem *t, uint32_t e)
{
	const struct dp_idem_entry *en = &t->entries[e - 1];
	uint32_t i = idem_hash(en->client_id, en->request_id) & t->index_mask;
	while (SLOT_ENTRY(t->index[i]) != e) {
		assert(t->index[i] != 0);
		i = (i + 1) & t->index_mask;
	}
	uint32_t hole = i;
	for (uint32_t j = (hole + 1) & t->index_mask; t->index[j] != 0; j = (j + 1) & t->index_mask) {
		uint32_t home = SLOT_HASH(t->index[j]) & t->index_mask;
		/* Move j into the hole unless its home lies cyclically in (hole, j]. */
		int keep = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!keep) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole] = 0;
}

/* Remember a mutation. The key must not be present already (the caller
 * looked it up: dp_execute before executing, recovery before replaying). */
void dp_idem_put(struct dp_idem *t, uint64_t client_id, uint64_t request_id, uint64_t fingerprint, uint64_t time_ms,
		 const struct dp_reply *reply)
{
	assert(reply->status == DP_S_OK && reply->n_items <= DP_HOLD_TICKETS_MAX);
	assert(t->n <= t->cap);
	uint32_t e = t->head + 1;
	if (t->n == t->cap)
		idem_unindex(t, e);
	else
		t->n++;
	struct dp_idem_entry *en = &t->entries[t->head];
	en->client_id = client_id;
	en->request_id = request_id;
	en->fingerprint = fingerprint;
	en->time_ms = time_ms;
	en->hold_id = reply->hold_id;
	en->order_id = reply->order_id;
	en->expiry_ms = reply->expiry_ms;
	en->wait_seq = reply->wait_seq;
	en->event_id = reply->event_id;
	en->part_id = reply->part_id;
	en->status = reply->status;
	en->detail = reply->detail;
	en->n_items = reply->n_items;
	memcpy(en->items, reply->items, sizeof(en->items));
	const uint32_t hash = idem_hash(client_id, request_id);
	uint32_t i = hash & t->index_mask;
	while (t->index[i] != 0)
		i = (i + 1) & t->index_mask;
	t->index[i] = SLOT(hash, e);
	t->head = (t->head + 1 == t->cap) ? 0 : t->head + 1;
}

void dp_idem_reply(const struct dp_idem_entry *e, struct dp_reply *out)
{
	memset(out, 0, sizeof(*out));
	out->status = e->status;
	out->detail = e->detail;
	out->n_items = e->n_items;
	out->event_id = e->event_id;
	out->part_id = e->part_id;
	out->hold_id = e->hold_id;
	out->order_id = e->order_id;
	out->expiry_ms = e->expiry_ms;
	out->wait_seq = e->wait_seq;
	memcpy(out->items, e->items, sizeof(out->items));
}

/* The oldest entry is the next one written once the FIFO is full. A worker
 * appends entries in time order (its clock only moves forward), so if the
 * oldest is past the horizon, so is every entry a put could forget. */
int dp_idem_room(const struct dp_idem *t, uint64_t now_ms, uint32_t horizon_ms, uint32_t *retry_after_ms)
{
	if (t->n < t->cap)
		return 1;
	const uint64_t born_ms = t->entries[t->head].time_ms;
	if (now_ms >= born_ms + horizon_ms)
		return 1;
	const uint64_t wait_ms = born_ms + horizon_ms - now_ms;
	*retry_after_ms = wait_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)wait_ms;
	return 0;
}

/* A hash of everything that defines a request apart from its ids, so that a
 * request id reused for a different request is caught. */
uint64_t dp_request_fingerprint(const struct dp_request *rq)
{
	uint64_t h = dp_mix64(((uint64_t)rq->op << 56) ^ ((uint64_t)rq->n << 48) ^ ((uint64_t)rq->tier << 40) ^
			      ((uint64_t)(rq->flags & DP_REQ_F_OPERATOR) << 32) ^ rq->event_id);
	h = dp_mix64(h ^ rq->part_id);
	h = dp_mix64(h ^ rq->hold_id);
	if (rq->op == DP_OP_HOLD_SEATS) {
		unsigned n = rq->n <= DP_HOLD_TICKETS_MAX ? rq->n : DP_HOLD_TICKETS_MAX;
		for (unsigned i = 0; i < n; i++)
			h = dp_mix64(h ^ rq->seats[i]);
	}
	if (rq->op == DP_OP_CONFIRM) {
		uint64_t v[ST_PAYMENT_REF_SIZE / 8];
		memcpy(v, rq->payment_ref, sizeof(v));
		for (unsigned i = 0; i < ST_PAYMENT_REF_SIZE / 8; i++)
			h = dp_mix64(h ^ v[i]);
	}
	return h;
}
