/*
 * dp_sale.c - an event's sale state and waiting-room settings (written by
 * the control path, durably first, then published as atomics the workers
 * read), per-event request counters (one writer per worker), and the control
 * path's readers of the catalog.
 */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_internal.h"

const char *dp_sale_state_name(int state)
{
	switch (state) {
	case DP_SALE_SCHEDULED:
		return "scheduled";
	case DP_SALE_OPEN:
		return "open";
	case DP_SALE_PAUSED:
		return "paused";
	case DP_SALE_CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}

const char *dp_end_result_name(int result)
{
	static const char *const names[DP_END__COUNT] = {
		[DP_END_EXPIRED] = "expired",     [DP_END_NOT_DUE] = "not_due", [DP_END_RELEASED] = "released",
		[DP_END_ENDED] = "ended",         [DP_END_NOT_FOUND] = "not_found", [DP_END_BUSY] = "busy",
		[DP_END_UNAVAILABLE] = "unavailable",
	};
	return result >= 0 && result < DP_END__COUNT ? names[result] : "unknown";
}

/* ev must be a published (or being built) event; state is stored as given. */
void dp_sale_record(const struct dp_event *ev, int state, struct st_sale *out)
{
	memset(out, 0, sizeof(*out));
	out->version = ST_SALE_VERSION;
	out->state = (uint8_t)state;
	out->on_sale_ms = atomic_load(&ev->on_sale_ms);
	out->max_active_shoppers = atomic_load(&ev->max_active_shoppers);
	out->admission_per_s = atomic_load(&ev->admission_per_s);
	dp_queue_record(ev, out);
}

/* ev may be NULL (nothing happens); sale must carry a valid state. */
void dp_sale_apply(struct dp_event *ev, const struct st_sale *sale)
{
	if (!ev)
		return;
	atomic_store(&ev->on_sale_ms, sale->on_sale_ms);
	atomic_store(&ev->max_active_shoppers, sale->max_active_shoppers);
	atomic_store(&ev->admission_per_s, sale->admission_per_s);
	atomic_store(&ev->sale_state, sale->state);
}

int dp_engine_sale_set_state(struct dp_engine *eng, uint32_t event_id, int state)
{
	if (state != DP_SALE_OPEN && state != DP_SALE_PAUSED && state != DP_SALE_CLOSED)
		return -EINVAL;
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	struct st_sale rec;
	dp_sale_record(ev, state, &rec);
	int rc = st_env_put_sale(eng->env, event_id, &rec);
	if (rc)
		return rc;
	atomic_store_explicit(&ev->sale_state, (uint32_t)state, memory_order_release);
	return 0;
}

int dp_engine_sale_set_limits(struct dp_engine *eng, uint32_t event_id, const uint32_t *max_active_shoppers,
			      const uint32_t *admission_per_s)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	if (max_active_shoppers)
		rec.max_active_shoppers = *max_active_shoppers;
	if (admission_per_s)
		rec.admission_per_s = *admission_per_s;
	int rc = st_env_put_sale(eng->env, event_id, &rec);
	if (rc)
		return rc;
	dp_sale_apply(ev, &rec);
	return 0;
}

int dp_event_sale_get(struct dp_engine *eng, uint32_t event_id, uint64_t now_ms, struct dp_sale_view *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->stored_state = (uint8_t)atomic_load_explicit(&ev->sale_state, memory_order_acquire);
	out->on_sale_ms = atomic_load_explicit(&ev->on_sale_ms, memory_order_relaxed);
	out->state = (uint8_t)dp_sale_effective(out->stored_state, out->on_sale_ms, now_ms);
	out->max_active_shoppers = atomic_load_explicit(&ev->max_active_shoppers, memory_order_relaxed);
	out->admission_per_s = atomic_load_explicit(&ev->admission_per_s, memory_order_relaxed);
	return 0;
}

static inline void counter_inc(_Atomic uint64_t *c)
{
	/* Single writer: a relaxed load and store, no read-modify-write. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/*
 * Which event a request concerns: its own event id (holds), the reply's
 * (successful confirm/release), else the hold's, when the hold id names a
 * live slot of this worker. Requests of no known event are not counted.
 */
void dp_event_count(struct dp_worker *w, const struct dp_request *rq, const struct dp_reply *out)
{
	uint32_t id = rq->event_id ? rq->event_id : out->event_id;
	if (!id && (rq->op == DP_OP_CONFIRM || rq->op == DP_OP_RELEASE) && dp_hold_worker(rq->hold_id) == w->idx &&
	    dp_hold_slot(rq->hold_id) < w->eng->cfg.holds_max) {
		const struct dp_hold *h = &w->holds[dp_hold_slot(rq->hold_id)];
		if (h->state != DP_H_FREE && h->gen == dp_hold_gen(rq->hold_id))
			id = h->event_id;
	}
	if (!id)
		return;
	struct dp_event *ev = dp_event_lookup(w->eng, id);
	if (!ev)
		return;
	struct dp_event_counters *c = &ev->counters[w->idx];
	counter_inc(&c->requests);
	counter_inc(&c->status[out->status]);
}

/* w: the calling worker's; any event id and status (dp_engine.h). */
void dp_worker_count_event(struct dp_worker *w, uint32_t event_id, int status)
{
	struct dp_event *ev = dp_event_lookup(w->eng, event_id);
	if (!ev || status < 0 || status >= DP_S__COUNT)
		return;
	struct dp_event_counters *c = &ev->counters[w->idx];
	counter_inc(&c->requests);
	counter_inc(&c->status[status]);
}

int dp_event_stats_get(struct dp_engine *eng, uint32_t event_id, struct dp_event_stats *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < eng->cfg.workers; i++) {
		const struct dp_event_counters *c = &ev->counters[i];
		out->requests += atomic_load_explicit(&c->requests, memory_order_relaxed);
		for (int s = 0; s < DP_S__COUNT; s++)
			out->status[s] += atomic_load_explicit(&c->status[s], memory_order_relaxed);
	}
	return 0;
}

uint32_t dp_engine_event_ids(struct dp_engine *eng, uint32_t *ids, uint32_t max)
{
	const struct dp_catalog *c = rcu_dereference(eng->catalog);
	for (uint32_t i = 0; i < c->n && i < max; i++)
		ids[i] = c->ids[i];
	return c->n;
}

int dp_event_def_get(struct dp_engine *eng, uint32_t event_id, struct dp_event_def **out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	*out = dp_event_def_dup(rcu_dereference(ev->def));
	return *out ? 0 : -ENOMEM;
}
