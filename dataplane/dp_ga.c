/*
 * dp_ga.c - rebalancing general-admission stock between worker slices.
 *
 * A hot GA type is split into one slice per worker so no single counter or
 * free list is shared. When a slice runs dry while others have stock, its
 * worker raises `need` and answers BUSY (retry in 1 ms). Donors see the need
 * on their next loop turn and hand over half their free serials through the
 * dry slice's single-slot inbox. The inbox carries the donor's log position:
 * the receiver pushes a BARRIER record so the storage writer keeps the
 * donor's releases of those serials ahead of any hold that reuses them.
 */
#include <string.h>

#include "dataplane/dp_internal.h"

void dp_ga_need(struct dp_engine *eng, struct dp_slice *sl, uint32_t n)
{
	if (atomic_load_explicit(&sl->need, memory_order_relaxed) == n)
		return;
	uint32_t before = atomic_exchange(&sl->need, n);
	if (before == 0 && n != 0)
		atomic_fetch_add(&eng->ga_needs, 1);
	else if (before != 0 && n == 0)
		atomic_fetch_sub(&eng->ga_needs, 1);
}

/* Give part of my slice's stock to slice `to` if it asked and its inbox is free. */
static int ga_donate(struct dp_worker *w, struct dp_part *p, unsigned to)
{
	struct dp_slice *mine = &p->slices[w->idx];
	struct dp_slice *dry = &p->slices[to];
	if (mine->n_free == 0 || atomic_load_explicit(&dry->need, memory_order_acquire) == 0)
		return 0;
	/* Two slices that both need stock would otherwise trade halves back
	 * and forth forever: among needy slices stock flows only to the lower
	 * index, so one of them fills up and the other is told the truth. */
	if (atomic_load_explicit(&mine->need, memory_order_relaxed) != 0 && to > w->idx)
		return 0;
	uint32_t expected = DP_INBOX_EMPTY;
	if (!atomic_compare_exchange_strong(&dry->inbox.state, &expected, DP_INBOX_FILLING))
		return 0;
	uint32_t k = (mine->n_free + 1) / 2;
	if (k > DP_GA_TRANSFER_MAX)
		k = DP_GA_TRANSFER_MAX;
	/* Give from the bottom of the stack: the serials least likely to be
	 * taken next here. */
	memcpy(dry->inbox.serials, mine->free, k * sizeof(uint32_t));
	memmove(mine->free, mine->free + k, (mine->n_free - k) * sizeof(uint32_t));
	mine->n_free -= k;
	dry->inbox.n = k;
	dry->inbox.dep_worker = w->idx;
	dry->inbox.dep_seq = st_log_pushed(w->log);
	atomic_store_explicit(&dry->inbox.state, DP_INBOX_FULL, memory_order_release);
	return 1;
}

/* Take a full inbox into my slice. */
static int ga_receive(struct dp_worker *w, struct dp_part *p)
{
	struct dp_slice *mine = &p->slices[w->idx];
	if (atomic_load_explicit(&mine->inbox.state, memory_order_acquire) != DP_INBOX_FULL)
		return 0;
	struct st_record rec;
	memset(&rec, 0, ST_RECORD_HEAD_SIZE);
	rec.type = ST_REC_BARRIER;
	rec.worker = (uint8_t)w->idx;
	rec.kind = ST_KIND_GA;
	rec.hold_id = mine->inbox.dep_worker;
	rec.order_id = mine->inbox.dep_seq;
	uint64_t seq;
	if (st_log_push(w->log, &rec, &seq) != 0)
		return 0; /* ring full or storage stopped: try again next turn */
	assert(mine->n_free + mine->inbox.n <= p->capacity);
	memcpy(mine->free + mine->n_free, mine->inbox.serials, mine->inbox.n * sizeof(uint32_t));
	mine->n_free += mine->inbox.n;
	atomic_store_explicit(&mine->inbox.state, DP_INBOX_EMPTY, memory_order_release);
	/* The need stays until the waiting hold succeeds: cleared earlier, this
	 * slice would give the stock straight back to another needy one. */
	return 1;
}

void dp_ga_tick(struct dp_worker *w, uint64_t now_ms)
{
	struct dp_engine *eng = w->eng;
	if (eng->cfg.workers == 1 || atomic_load_explicit(&eng->ga_needs, memory_order_acquire) == 0)
		return;
	const struct dp_catalog *c = rcu_dereference(eng->catalog);
	for (uint32_t e = 0; e < c->n; e++) {
		struct dp_event *ev = c->ev[e];
		for (uint32_t i = 0; i < ev->n_parts; i++) {
			struct dp_part *p = &ev->parts[i];
			if (p->kind != ST_KIND_GA)
				continue;
			struct dp_slice *mine = &p->slices[w->idx];
			ga_receive(w, p);
			for (unsigned to = 0; to < p->n_slices; to++)
				if (to != w->idx)
					ga_donate(w, p, to);
			/* Stop asking when nothing is left anywhere (the retry
			 * will be told sold out) or the buyer stopped retrying
			 * (a forgotten need must not pin stock here). */
			if (atomic_load_explicit(&mine->need, memory_order_relaxed) &&
			    atomic_load_explicit(&mine->inbox.state, memory_order_acquire) == DP_INBOX_EMPTY &&
			    (dp_part_available(p) == 0 || now_ms >= mine->need_ms + DP_GA_NEED_TTL_MS))
				dp_ga_need(eng, mine, 0);
		}
	}
}
