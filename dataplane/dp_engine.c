/*
 * dp_engine.c - engine and worker lifetime, request routing and dispatch,
 * the per-turn tick, status names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_internal.h"

void *dp_alloc_zeroed(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void dp_config_defaults(struct dp_config *cfg, unsigned workers)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = workers;
	cfg->holds_max = DP_HOLDS_MAX_DEFAULT;
	cfg->orders_max = DP_ORDERS_MAX_DEFAULT;
	cfg->idem_max = DP_IDEM_MAX_DEFAULT;
	cfg->idem_horizon_ms = DP_IDEM_HORIZON_MS_DEFAULT;
	cfg->buyers_max = DP_BUYERS_MAX_DEFAULT;
	cfg->expire_scan_per_tick = DP_EXPIRE_SCAN_DEFAULT;
	cfg->busy_retry_ms = DP_BUSY_RETRY_MS_DEFAULT;
}

static void worker_fini(struct dp_worker *w)
{
	free(w->holds);
	free(w->free_slots);
	free(w->orders);
	dp_idem_fini(&w->idem);
}

static int worker_init(struct dp_engine *eng, unsigned idx)
{
	struct dp_worker *w = &eng->workers[idx];
	const struct dp_config *cfg = &eng->cfg;
	w->eng = eng;
	w->idx = idx;
	w->log = st_env_log(eng->env, idx);
	w->holds = dp_alloc_zeroed((size_t)cfg->holds_max * sizeof(*w->holds));
	w->free_slots = dp_alloc_zeroed((size_t)cfg->holds_max * sizeof(uint32_t));
	w->orders = dp_alloc_zeroed((size_t)cfg->orders_max * sizeof(*w->orders));
	if (!w->log || !w->holds || !w->free_slots || !w->orders || dp_idem_init(&w->idem, cfg->idem_max) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->holds_max; i++)
		w->free_slots[i] = i;
	w->free_head = 0;
	w->free_n = cfg->holds_max;
	atomic_init(&w->n_orders, 0);
	return 0;
}

int dp_engine_create(const struct dp_config *cfg, struct st_env *env, struct dp_engine **out)
{
	if (!cfg || !env || cfg->workers < 1 || cfg->workers > DP_WORKERS_MAX || cfg->holds_max < 1 ||
	    cfg->holds_max > (1u << 24) || cfg->orders_max < 1 || cfg->orders_max > (1u << 30) ||
	    cfg->idem_max < 1 || cfg->idem_horizon_ms > DP_IDEM_HORIZON_MS_MAX || cfg->buyers_max < 1)
		return -EINVAL;
	struct dp_engine *eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->cfg = *cfg;
	eng->env = env;
	eng->catalog = calloc(1, sizeof(*eng->catalog));
	eng->workers = aligned_alloc(DP_CACHE_LINE, cfg->workers * sizeof(struct dp_worker));
	if (!eng->catalog || !eng->workers) {
		free(eng->catalog);
		free(eng->workers);
		free(eng);
		return -ENOMEM;
	}
	memset(eng->workers, 0, cfg->workers * sizeof(struct dp_worker));
	for (unsigned i = 0; i < cfg->workers; i++) {
		if (worker_init(eng, i) != 0) {
			dp_engine_destroy(eng);
			return -ENOMEM;
		}
	}
	*out = eng;
	return 0;
}

void dp_engine_destroy(struct dp_engine *eng)
{
	if (!eng)
		return;
	if (eng->catalog)
		for (uint32_t i = 0; i < eng->catalog->n; i++)
			dp_event_free(eng->catalog->ev[i]);
	free(eng->catalog);
	for (unsigned i = 0; i < eng->cfg.workers; i++)
		worker_fini(&eng->workers[i]);
	free(eng->workers);
	dp_keys_free(eng->keys);
	free(eng);
}

struct dp_worker *dp_engine_worker(struct dp_engine *eng, unsigned idx)
{
	return idx < eng->cfg.workers ? &eng->workers[idx] : NULL;
}

unsigned dp_engine_workers(const struct dp_engine *eng) { return eng->cfg.workers; }
struct st_env *dp_engine_env(struct dp_engine *eng) { return eng->env; }
unsigned dp_worker_index(const struct dp_worker *w) { return w->idx; }
uint64_t dp_worker_durable(const struct dp_worker *w) { return st_log_durable(w->log); }

int dp_route(struct dp_engine *eng, const struct dp_request *rq)
{
	switch (rq->op) {
	case DP_OP_CONFIRM:
	case DP_OP_RELEASE: {
		unsigned wk = dp_hold_worker(rq->hold_id);
		return wk < eng->cfg.workers ? (int)wk : -1;
	}
	case DP_OP_HOLD_SEATS:
	case DP_OP_HOLD_BEST:
	case DP_OP_HOLD_GA: {
		struct dp_event *ev = dp_event_lookup(eng, rq->event_id);
		struct dp_part *p = ev ? dp_part_lookup(ev, rq->part_id) : NULL;
		if (!p)
			return -1;
		return p->kind == ST_KIND_SEAT ? p->owner : (int)dp_ga_worker(eng, rq->client_id);
	}
	default:
		return -1;
	}
}

/* Does this reply depend on what earlier mutations did? */
static int reply_reveals_state(const struct dp_reply *out)
{
	switch (out->status) {
	case DP_S_BUSY:
	case DP_S_UNAVAILABLE:
	case DP_S_NOT_FOUND:
	case DP_S_CLOSED: /* the sale state is durable before it is published */
		return 0;
	case DP_S_BAD_REQUEST:
		return out->detail == DP_D_CONFIRMED;
	default:
		return 1;
	}
}

int dp_execute(struct dp_worker *w, const struct dp_request *rq, uint64_t now_ms, struct dp_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (rq->client_id == 0) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT);
		goto done;
	}
	if (rq->op < DP_OP_HOLD_SEATS || rq->op > DP_OP_RELEASE) {
		dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_BAD_OP);
		goto done;
	}
	/* Operator releases are not buyer requests: no idempotency entry. */
	const int buyer = !(rq->flags & DP_REQ_F_OPERATOR);
	const uint64_t fp = dp_request_fingerprint(rq);
	if (buyer) {
		const struct dp_idem_entry *e = dp_idem_find(&w->idem, rq->client_id, rq->request_id);
		if (e) {
			if (e->fingerprint != fp) {
				dp_reply_status(out, DP_S_BAD_REQUEST, DP_D_IDEM_MISMATCH);
			} else {
				dp_idem_reply(e, out);
				if (out->detail == DP_D_NONE)
					out->detail = DP_D_REPLAY;
			}
			goto done;
		}
		/* A new mutation: it must not push out an entry a client may still
		 * retry (see dp_idem.c). */
		uint32_t wait_ms = 0;
		if (!dp_idem_room(&w->idem, now_ms, w->eng->cfg.idem_horizon_ms, &wait_ms)) {
			dp_reply_status(out, DP_S_BUSY, DP_D_RETRY_MEMORY);
			out->retry_after_ms = wait_ms;
			goto done;
		}
	}
	switch (rq->op) {
	case DP_OP_HOLD_SEATS:
		dp_hold_seats(w, rq, now_ms, out);
		break;
	case DP_OP_HOLD_BEST:
		dp_hold_best(w, rq, now_ms, out);
		break;
	case DP_OP_HOLD_GA:
		dp_hold_ga(w, rq, now_ms, out);
		break;
	case DP_OP_CONFIRM:
		dp_confirm(w, rq, now_ms, out);
		break;
	case DP_OP_RELEASE:
		dp_release(w, rq, now_ms, out);
		break;
	}
	/* Remember mutations only: a refusal changed nothing, so a retry is
	 * simply evaluated again. */
	if (buyer && out->status == DP_S_OK && out->detail == DP_D_NONE)
		dp_idem_put(&w->idem, rq->client_id, rq->request_id, fp, now_ms, out);
	/*
	 * A refusal can reveal a mutation that is not durable yet ("released"
	 * right after a release, "taken" by a hold still in the log ring). If a
	 * crash lost that mutation the answer would have been a lie, so such a
	 * reply waits, like the mutation's own, for everything this worker has
	 * logged so far. Answers about the request alone (malformed, unknown
	 * ids, busy, unavailable) go at once.
	 */
	if (out->wait_seq == 0 && reply_reveals_state(out)) {
		uint64_t pushed = st_log_pushed(w->log);
		if (pushed > st_log_durable(w->log))
			out->wait_seq = pushed;
	}
done:
	assert(out->status < DP_S__COUNT);
	w->status_count[out->status]++;
	if (!(rq->flags & DP_REQ_F_OPERATOR))
		dp_event_count(w, rq, out);
	return out->status;
}

/* Expire due holds among the next `budget` slots after the cursor. */
static unsigned expire_scan(struct dp_worker *w, uint64_t now_ms, uint32_t budget)
{
	unsigned n = 0;
	const uint32_t cap = w->eng->cfg.holds_max;
	for (uint32_t k = 0; k < budget; k++) {
		uint32_t slot = w->expire_cursor;
		w->expire_cursor = (slot + 1 == cap) ? 0 : slot + 1;
		struct dp_hold *h = &w->holds[slot];
		if (h->state != DP_H_ACTIVE || now_ms < h->expiry_ms)
			continue;
		if (dp_hold_end(w, h, slot, ST_REC_EXPIRE, 0, 0, 0, now_ms) != 0) {
			w->expire_cursor = slot; /* log full: retry this slot next turn */
			break;
		}
		n++;
	}
	w->expired_total += n;
	return n;
}

unsigned dp_worker_tick(struct dp_worker *w, uint64_t now_ms)
{
	dp_ga_tick(w, now_ms);
	return expire_scan(w, now_ms, w->eng->cfg.expire_scan_per_tick);
}

unsigned dp_worker_expire_all(struct dp_worker *w, uint64_t now_ms)
{
	w->expire_cursor = 0;
	return expire_scan(w, now_ms, w->eng->cfg.holds_max);
}
