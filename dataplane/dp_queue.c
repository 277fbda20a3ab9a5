/*
 * dp_queue.c - the waiting room in the reservation core (docs/waiting-room.md,
 * "Integration contract").
 *
 * Per event the queue keeps two counters (pre-queue joins s, regular joins
 * k), their durable reservations, the admitted position, and what the opening
 * froze (n, the per-opening secret, the permutation), and a ring of the
 * newest admission steps (when each admitted position was admitted, so an
 * access token's window runs from the admission). Nothing per buyer: a
 * ticket carries its sequence, and its position is computed at each poll
 * (pre-queue: perm(s); regular: n + k).
 *
 * Workers (dp_queue_join, dp_queue_poll, dp_queue_hold_check) use only
 * atomics and RCU reads: no malloc, syscall, lock or log. The control path
 * (dp_queue_tick, dp_queue_admit, dp_queue_set_active, dp_engine_keys_set)
 * stores first, then publishes.
 */
#include <errno.h>
#include <string.h>

#include <openssl/rand.h>

#include "dataplane/dp_internal.h"

_Static_assert(sizeof(((struct dp_queue_answer *)0)->token) == DP_TOKEN_SIZE, "token size");
_Static_assert(DP_QUEUE_SEQ_MAX <= DP_PREQUEUE_N_MAX, "pre-queue sequences fit the permutation");

/* mode: any int; out-of-range values name "unknown". */
const char *dp_wr_mode_name(int mode)
{
	switch (mode) {
	case DP_WR_OFF:
		return "off";
	case DP_WR_ON:
		return "on";
	case DP_WR_AUTO:
		return "auto";
	default:
		return "unknown";
	}
}

/* ---- control path: records ---- */

/* ev: a built event; out: a record already filled by dp_sale_record. */
void dp_queue_record(const struct dp_event *ev, struct st_sale *out)
{
	out->wr_mode = (uint8_t)atomic_load(&ev->wr_mode);
	out->wr_active = (uint8_t)atomic_load(&ev->wr_active);
	out->rate_per_s = atomic_load(&ev->rate_per_s);
	out->purchase_window_ms = atomic_load(&ev->purchase_window_ms);
	out->threshold_rps = atomic_load(&ev->threshold_rps);
	out->pre_reserve = atomic_load(&ev->q_pre_limit);
	out->reg_reserve = atomic_load(&ev->q_reg_limit);
	out->admitted = atomic_load(&ev->q_admitted);
	/* The counters now: a lower bound of what has been issued at any later crash. */
	const uint64_t pre = atomic_load(&ev->q_pre) & ~DP_QUEUE_CLOSED;
	out->issued_known = 1;
	out->pre_issued = pre > UINT32_MAX ? UINT32_MAX : (uint32_t)pre;
	out->reg_issued = atomic_load(&ev->q_reg);
	out->unissued = atomic_load(&ev->q_unissued);
	const struct dp_queue_open *op = ev->q_open;
	if (op) {
		out->wr_opened = 1;
		out->prequeue_n = op->n;
		memcpy(out->secret, op->secret, sizeof(out->secret));
	}
}

/* Build an opening from n and secret (control path). NULL on failure. */
static struct dp_queue_open *open_build(uint64_t n, const uint8_t *secret)
{
	struct dp_queue_open *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->n = n;
	memcpy(op->secret, secret, sizeof(op->secret));
	if (n > 0 && dp_prequeue_init(&op->pq, op->secret, n) != 0) {
		free(op);
		return NULL;
	}
	return op;
}

/* ev: a built event, sale: a stored record (version 2 form). */
int dp_queue_apply(struct dp_event *ev, const struct st_sale *sale, int recover)
{
	atomic_store(&ev->wr_mode, sale->wr_mode);
	atomic_store(&ev->wr_active, sale->wr_mode == DP_WR_ON ? 1u : sale->wr_mode == DP_WR_OFF ? 0u : sale->wr_active);
	atomic_store(&ev->rate_per_s, sale->rate_per_s);
	atomic_store(&ev->purchase_window_ms, sale->purchase_window_ms);
	atomic_store(&ev->threshold_rps, sale->threshold_rps);
	atomic_store(&ev->q_admitted, sale->admitted);
	atomic_store(&ev->q_pre_limit, sale->pre_reserve);
	atomic_store(&ev->q_reg_limit, sale->reg_reserve);
	if (!recover)
		return 0;
	/* Counters resume from the reservations: a gap, never a reuse. The
	 * gap above the counters last stored was never issued: counted in
	 * unissued (stored by the next record, recomputed the same until then). */
	uint64_t skipped = 0;
	if (sale->issued_known) {
		if (sale->reg_reserve > sale->reg_issued)
			skipped += sale->reg_reserve - sale->reg_issued;
		if (!sale->wr_opened && sale->pre_reserve > sale->pre_issued)
			skipped += sale->pre_reserve - sale->pre_issued;
	}
	atomic_store(&ev->q_unissued, sale->unissued + skipped);
	atomic_store(&ev->q_reg, sale->reg_reserve);
	if (sale->wr_opened) {
		struct dp_queue_open *op = open_build(sale->prequeue_n, sale->secret);
		if (!op)
			return -EIO;
		atomic_store(&ev->q_pre, sale->prequeue_n | DP_QUEUE_CLOSED);
		free(ev->q_open);
		rcu_assign_pointer(ev->q_open, op);
	} else {
		atomic_store(&ev->q_pre, sale->pre_reserve);
	}
	return 0;
}

/* ---- per request (workers) ---- */

/* The protocol detail of a verification result r (any value; DP_TOKEN_OK and
 * unknown values give DP_D_NONE). */
static uint8_t token_detail(enum dp_token_result r)
{
	switch (r) {
	case DP_TOKEN_MALFORMED:
		return DP_D_TOKEN_MALFORMED;
	case DP_TOKEN_UNKNOWN_KEY:
		return DP_D_TOKEN_UNKNOWN_KEY;
	case DP_TOKEN_FORGED:
		return DP_D_TOKEN_FORGED;
	case DP_TOKEN_WRONG_KIND:
		return DP_D_TOKEN_WRONG_KIND;
	case DP_TOKEN_WRONG_EVENT:
		return DP_D_TOKEN_WRONG_EVENT;
	case DP_TOKEN_WRONG_CLIENT:
		return DP_D_TOKEN_WRONG_CLIENT;
	case DP_TOKEN_EXPIRED:
		return DP_D_TOKEN_EXPIRED;
	default:
		return DP_D_NONE;
	}
}

/* A head-only answer into out (not NULL): status, detail, retry; returns status. */
static int answer_status(struct dp_queue_answer *out, int status, int detail, uint32_t retry_after_ms)
{
	memset(out, 0, sizeof(*out));
	out->status = (uint8_t)status;
	out->detail = (uint8_t)detail;
	out->retry_after_ms = retry_after_ms;
	return status;
}

/* Close the pre-queue (idempotent); returns n. Any thread. */
static uint64_t prequeue_close(struct dp_event *ev)
{
	return atomic_fetch_or(&ev->q_pre, DP_QUEUE_CLOSED) & ~DP_QUEUE_CLOSED;
}

/* Take the next sequence of counter c below its reservation limit. 0 and
 * *seq, or -1 when the reservation is used up (or, with closed_bit, when
 * the counter is closed: -2). */
static int seq_take(_Atomic uint64_t *c, const _Atomic uint64_t *limit, int closed_bit, uint64_t *seq)
{
	uint64_t v = atomic_load(c);
	for (;;) {
		if (closed_bit && (v & DP_QUEUE_CLOSED))
			return -2;
		if (v >= atomic_load(limit) || v >= DP_QUEUE_SEQ_MAX)
			return -1;
		if (atomic_compare_exchange_weak(c, &v, v + 1)) {
			*seq = v;
			return 0;
		}
	}
}

/*
 * Read step i (an index ever appended, below the count read with acquire) of
 * ring r into *to_pos and *time_ms. 0, or -1 when the slot holds another step
 * (overwritten since, or being written): the caller looks again. Worker safe.
 */
static int step_read(const struct dp_admit_ring *r, uint64_t i, uint64_t *to_pos, uint64_t *time_ms)
{
	const struct dp_admit_step *s = &r->step[i % DP_ADMIT_STEPS_MAX];
	const uint64_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (s1 != i + 1)
		return -1;
	*to_pos = atomic_load_explicit(&s->to_pos, memory_order_relaxed);
	*time_ms = atomic_load_explicit(&s->time_ms, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&s->seq, memory_order_relaxed) == s1 ? 0 : -1;
}

/*
 * When was position pos admitted, according to ring r (not NULL)? The time of
 * the first remembered step whose to_pos exceeds pos, into *at_ms: 0. -1 when
 * no step answers: none covers pos yet (a restart before the control thread
 * seeded the ring), or pos was admitted before the oldest step remembered,
 * or the ring kept moving under DP_ADMIT_READ_TRIES lookups. Worker safe: a
 * binary search over at most DP_ADMIT_STEPS_MAX steps, nothing written.
 */
static int admit_time_of(const struct dp_admit_ring *r, uint64_t pos, uint64_t *at_ms)
{
	for (unsigned t = 0; t < DP_ADMIT_READ_TRIES; t++) {
		const uint64_t c = atomic_load_explicit(&r->count, memory_order_acquire);
		if (c == 0)
			return -1;
		const uint64_t oldest = c > DP_ADMIT_STEPS_MAX ? c - DP_ADMIT_STEPS_MAX : 0;
		uint64_t lo = oldest, hi = c - 1, to, time;
		int torn = 0;
		while (lo < hi) { /* first step with to_pos > pos; the newest is >= admitted > pos */
			const uint64_t mid = lo + (hi - lo) / 2;
			if (step_read(r, mid, &to, &time) != 0) {
				torn = 1;
				break;
			}
			if (to > pos)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (torn || step_read(r, lo, &to, &time) != 0)
			continue;
		if (to <= pos || (lo == oldest && oldest > 0))
			return -1; /* not covered, or admitted at or before a forgotten step */
		*at_ms = time;
		return 0;
	}
	return -1;
}

/*
 * Record "positions below to_pos admitted at time_ms" in ring r (not NULL),
 * window_ms being the purchase window (> 0). Control thread only (the single
 * writer); to_pos above every earlier step's. Within window_ms /
 * DP_ADMIT_STEPS_MAX of the newest step's beginning the newest step is
 * rewritten (its earliest buyers gain at most that much window); otherwise a
 * new step is appended. A slot is written (seq 0, data, seq) before count is
 * advanced or the position published.
 */
static void step_record(struct dp_admit_ring *r, uint64_t to_pos, uint64_t time_ms, uint32_t window_ms)
{
	uint64_t c = atomic_load_explicit(&r->count, memory_order_relaxed);
	const int merge = c > 0 && time_ms >= r->newest_first_ms &&
			  time_ms - r->newest_first_ms < window_ms / DP_ADMIT_STEPS_MAX;
	const uint64_t i = merge ? c - 1 : c;
	struct dp_admit_step *s = &r->step[i % DP_ADMIT_STEPS_MAX];
	atomic_store_explicit(&s->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->to_pos, to_pos, memory_order_relaxed);
	atomic_store_explicit(&s->time_ms, time_ms, memory_order_relaxed);
	atomic_store_explicit(&s->seq, i + 1, memory_order_release);
	if (!merge) {
		r->newest_first_ms = time_ms;
		atomic_store_explicit(&r->count, c + 1, memory_order_release);
	}
}

/* ev's purchase window in ms (the default when none is set). Any thread. */
static uint32_t window_of(const struct dp_event *ev)
{
	const uint32_t w = atomic_load_explicit(&ev->purchase_window_ms, memory_order_relaxed);
	return w ? w : DP_PURCHASE_WINDOW_MS_DEFAULT;
}

/* The queue's opening: the earliest of the on-sale time and every presale
 * window's start (the pre-queue is frozen then), or at once when the
 * operator has opened the sale (stored state `open`: an early `open` must
 * let the queue admit, else holds would be allowed that nobody can make).
 * Any thread (RCU reader). */
static uint64_t opens_of(const struct dp_event *ev)
{
	if (atomic_load_explicit(&ev->sale_state, memory_order_relaxed) == DP_SALE_OPEN)
		return 0;
	const uint64_t on_sale = atomic_load_explicit(&ev->on_sale_ms, memory_order_relaxed);
	const struct dp_presale *ps = rcu_dereference(ev->presale);
	return ps && ps->first_start_ms < on_sale ? ps->first_start_ms : on_sale;
}

/* ev's presale table when presale rules apply at now_ms (windows loaded and
 * the on-sale time not reached), else NULL. Any thread (RCU reader). */
static struct dp_presale *presale_now(const struct dp_event *ev, uint64_t now_ms)
{
	struct dp_presale *ps = rcu_dereference(ev->presale);
	if (!ps || now_ms >= atomic_load_explicit(&ev->on_sale_ms, memory_order_relaxed))
		return NULL;
	return ps;
}

/* Wait estimate: ahead / rate, in ms, capped; 0 when no rate is known. */
static uint32_t wait_estimate_ms(uint64_t ahead, uint32_t rate_per_s)
{
	if (rate_per_s == 0)
		return 0;
	if (ahead > (uint64_t)DP_WAIT_MS_MAX / 1000u * rate_per_s)
		return DP_WAIT_MS_MAX;
	return (uint32_t)(ahead * 1000u / rate_per_s);
}

/*
 * The answer for a verified ticket f (tok: its bytes) at now_ms, the room
 * active and ks not NULL.
 */
static int answer_ticket(struct dp_event *ev, const struct dp_keys *ks, const struct dp_token_fields *f,
			 const uint8_t *tok, uint64_t now_ms, struct dp_queue_answer *out)
{
	uint64_t pos;
	memset(out, 0, sizeof(*out));
	if (f->flags & DP_TOKEN_F_PREQUEUE) {
		const struct dp_queue_open *op = rcu_dereference(ev->q_open);
		if (!op) {
			const uint64_t opens = opens_of(ev);
			const uint64_t left = opens > now_ms ? opens - now_ms : 0;
			out->state = DP_QS_PREQUEUE;
			out->wait_ms = left > DP_WAIT_MS_MAX ? DP_WAIT_MS_MAX : (uint32_t)left;
			memcpy(out->token, tok, DP_TOKEN_SIZE);
			return out->status = DP_S_OK;
		}
		if (f->position >= op->n)
			return answer_status(out, DP_S_BAD_TOKEN, DP_D_TOKEN_MALFORMED, 0);
		pos = dp_prequeue_position(&op->pq, f->position);
	} else {
		uint64_t v = atomic_load(&ev->q_pre);
		const uint64_t n = v & DP_QUEUE_CLOSED ? v & ~DP_QUEUE_CLOSED : prequeue_close(ev);
		pos = n + f->position;
	}
	const uint64_t admitted = atomic_load_explicit(&ev->q_admitted, memory_order_acquire);
	out->position = pos;
	if (pos < admitted) {
		const uint32_t window = window_of(ev);
		uint64_t at_ms;
		/* The window runs from the admission, not from this poll; one
		 * that is over (or older than the ring remembers) is refused. */
		if (admit_time_of(ev->q_steps, pos, &at_ms) != 0 || at_ms + window <= now_ms)
			return answer_status(out, DP_S_BAD_TOKEN, DP_D_TOKEN_EXPIRED, 0);
		struct dp_token_fields a = {.kind = DP_TOKEN_ACCESS,
					    .flags = (uint8_t)(f->flags & (DP_TOKEN_F_PRESALE | DP_TOKEN_WINDOW_MASK)),
					    .event_id = f->event_id,
					    .client_id = f->client_id,
					    .position = pos,
					    .time_ms = at_ms + window};
		if (dp_token_mint(ks, &a, out->token) != 0)
			return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
		out->state = DP_QS_ADMITTED;
		return out->status = DP_S_OK;
	}
	out->state = DP_QS_WAITING;
	out->ahead = pos - admitted;
	out->wait_ms = wait_estimate_ms(out->ahead, atomic_load_explicit(&ev->rate_per_s, memory_order_relaxed));
	memcpy(out->token, tok, DP_TOKEN_SIZE);
	return out->status = DP_S_OK;
}

/*
 * The presale part of a join before the on-sale time (ps not NULL): the
 * code's checks and redemption. DP_S_OK with *flags the ticket's presale
 * flags to queue with (room active), or a final answer in out (a refusal,
 * or ADMITTED at once when the room is not active). Worker safe.
 */
static int presale_join(struct dp_engine *eng, struct dp_event *ev, struct dp_presale *ps, uint64_t client_id,
			const uint8_t *code, unsigned code_len, uint64_t now_ms, int *final, uint8_t *flags,
			struct dp_queue_answer *out)
{
	*final = 1;
	if (!code)
		return answer_status(out, DP_S_CLOSED, DP_D_PRESALE_ONLY, 0);
	const int i = dp_presale_find(ps, code, code_len);
	if (i < 0)
		return answer_status(out, DP_S_NOT_FOUND, DP_D_CODE_UNKNOWN, 0);
	const unsigned w = ps->codes[i].window;
	const struct dp_presale_win *win = &ps->win[w];
	const int active = (int)atomic_load_explicit(&ev->wr_active, memory_order_acquire);
	/* Before its window only into the pre-queue, and only for a window that
	 * starts at the queue's opening: a later window's buyer queued now
	 * would be admitted before the window opens, spending the purchase
	 * window and a shopper's place on holds refused code_window. */
	const uint64_t opens = opens_of(ev);
	const int prequeue = active && now_ms < opens && win->start_ms <= opens;
	if (now_ms >= win->end_ms || (now_ms < win->start_ms && !prequeue))
		return answer_status(out, DP_S_CLOSED, DP_D_CODE_WINDOW, 0);
	const struct dp_keys *ks = rcu_dereference(eng->keys);
	if (!ks || dp_keys_count(ks) == 0)
		return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
	switch (dp_presale_redeem(ps, (uint32_t)i, client_id)) {
	case DP_REDEEM_USED_UP:
		return answer_status(out, DP_S_LIMIT, DP_D_CODE_USED_UP, 0);
	case DP_REDEEM_PENDING:
		return answer_status(out, DP_S_BUSY, DP_D_CODE_PENDING, DP_PRESALE_PENDING_RETRY_MS);
	default:
		break;
	}
	*flags = DP_TOKEN_PRESALE_FLAGS(w);
	if (active) {
		*final = 0;
		return DP_S_OK;
	}
	/* Not active: admitted at once, until the purchase window or the
	 * presale window ends, whichever is first. */
	const uint64_t until = now_ms + window_of(ev);
	struct dp_token_fields a = {.kind = DP_TOKEN_ACCESS,
				    .flags = *flags,
				    .event_id = ev->id,
				    .client_id = client_id,
				    .position = 0,
				    .time_ms = until < win->end_ms ? until : win->end_ms};
	answer_status(out, DP_S_OK, DP_D_NONE, 0);
	if (dp_token_mint(ks, &a, out->token) != 0)
		return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
	out->state = DP_QS_ADMITTED;
	return DP_S_OK;
}

/* eng, out: not NULL; any event id, client id and time (dp_engine.h). */
int dp_queue_join(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, uint64_t now_ms,
		  struct dp_queue_answer *out)
{
	return dp_queue_join_code(eng, event_id, client_id, NULL, 0, now_ms, out);
}

/* eng, out: not NULL; code NULL or code_len bytes of anything (dp_engine.h). */
int dp_queue_join_code(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, const uint8_t *code,
		       unsigned code_len, uint64_t now_ms, struct dp_queue_answer *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return answer_status(out, DP_S_NOT_FOUND, DP_D_EVENT, 0);
	uint8_t presale_flags = 0;
	struct dp_presale *ps = presale_now(ev, now_ms);
	if (ps) {
		int final;
		const int st = presale_join(eng, ev, ps, client_id, code, code_len, now_ms, &final, &presale_flags, out);
		if (final)
			return st;
	}
	if (!atomic_load_explicit(&ev->wr_active, memory_order_acquire)) {
		answer_status(out, DP_S_OK, DP_D_NONE, 0);
		out->state = DP_QS_NO_QUEUE;
		return DP_S_OK;
	}
	const struct dp_keys *ks = rcu_dereference(eng->keys);
	if (!ks || dp_keys_count(ks) == 0)
		return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
	const uint32_t retry = eng->cfg.busy_retry_ms;
	struct dp_token_fields f = {.kind = DP_TOKEN_TICKET, .flags = presale_flags, .event_id = event_id,
				    .client_id = client_id, .time_ms = now_ms};
	int rc = -2;
	/* Once frozen the pre-queue stays closed, even if a pause moved the
	 * opening back into the future. */
	if (now_ms < opens_of(ev) && !(atomic_load(&ev->q_pre) & DP_QUEUE_CLOSED)) {
		rc = seq_take(&ev->q_pre, &ev->q_pre_limit, 1, &f.position);
		if (rc == 0)
			f.flags |= DP_TOKEN_F_PREQUEUE;
		else if (rc == -1)
			return answer_status(out, DP_S_BUSY, DP_D_QUEUE_RESERVE, retry);
	} else if (!(atomic_load(&ev->q_pre) & DP_QUEUE_CLOSED)) {
		prequeue_close(ev); /* the first join after the on-sale time freezes n */
	}
	if (rc == -2 && seq_take(&ev->q_reg, &ev->q_reg_limit, 0, &f.position) != 0)
		return answer_status(out, DP_S_BUSY, DP_D_QUEUE_RESERVE, retry);
	uint8_t tok[DP_TOKEN_SIZE];
	if (dp_token_mint(ks, &f, tok) != 0)
		return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
	return answer_ticket(ev, ks, &f, tok, now_ms, out);
}

/* eng, ticket (DP_TOKEN_SIZE bytes of anything), out: not NULL (dp_engine.h). */
int dp_queue_poll(struct dp_engine *eng, uint32_t event_id, uint64_t client_id, const uint8_t *ticket,
		  uint64_t now_ms, struct dp_queue_answer *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return answer_status(out, DP_S_NOT_FOUND, DP_D_EVENT, 0);
	const int active = (int)atomic_load_explicit(&ev->wr_active, memory_order_acquire);
	const struct dp_keys *ks = rcu_dereference(eng->keys);
	if (!ks || dp_keys_count(ks) == 0) {
		if (active)
			return answer_status(out, DP_S_UNAVAILABLE, DP_D_NO_KEYS, 0);
		answer_status(out, DP_S_OK, DP_D_NONE, 0);
		out->state = DP_QS_NO_QUEUE;
		return DP_S_OK;
	}
	struct dp_token_fields f;
	enum dp_token_result r = dp_token_verify(ks, ticket, DP_TOKEN_TICKET, event_id, client_id, now_ms, &f);
	if (r != DP_TOKEN_OK)
		return answer_status(out, DP_S_BAD_TOKEN, token_detail(r), 0);
	if (!active) {
		answer_status(out, DP_S_OK, DP_D_NONE, 0);
		out->state = DP_QS_NO_QUEUE;
		return DP_S_OK;
	}
	return answer_ticket(ev, ks, &f, ticket, now_ms, out);
}

/* The hold check before the on-sale time of an event with presale windows
 * (ps not NULL): a valid presale access token whose window is open now. */
static int presale_hold_check(struct dp_engine *eng, const struct dp_presale *ps, struct dp_request *rq,
			      const uint8_t *token, uint64_t now_ms, uint8_t *detail)
{
	const struct dp_keys *ks = rcu_dereference(eng->keys);
	if (!token) {
		*detail = DP_D_PRESALE_ONLY;
		return DP_S_CLOSED;
	}
	if (!ks)
		return DP_S_NOT_ADMITTED;
	struct dp_token_fields f;
	enum dp_token_result r = dp_token_verify(ks, token, DP_TOKEN_ACCESS, rq->event_id, rq->client_id, now_ms, &f);
	if (r != DP_TOKEN_OK) {
		*detail = token_detail(r);
		return DP_S_BAD_TOKEN;
	}
	if (!(f.flags & DP_TOKEN_F_PRESALE)) {
		*detail = DP_D_PRESALE_ONLY;
		return DP_S_CLOSED;
	}
	const unsigned w = DP_TOKEN_WINDOW(f.flags);
	if (w >= ps->n_windows || now_ms < ps->win[w].start_ms || now_ms >= ps->win[w].end_ms) {
		*detail = DP_D_CODE_WINDOW;
		return DP_S_CLOSED;
	}
	rq->flags |= DP_REQ_F_PRESALE;
	return DP_S_OK;
}

/* eng, rq, detail: not NULL; token may be NULL (none sent) (dp_engine.h). */
int dp_queue_hold_check(struct dp_engine *eng, struct dp_request *rq, const uint8_t *token, uint64_t now_ms,
			uint8_t *detail)
{
	*detail = DP_D_NONE;
	rq->flags &= (uint8_t)~DP_REQ_F_PRESALE; /* set here only */
	struct dp_event *ev = dp_event_lookup(eng, rq->event_id);
	if (!ev)
		return DP_S_OK;
	const struct dp_presale *ps = presale_now(ev, now_ms);
	if (ps)
		return presale_hold_check(eng, ps, rq, token, now_ms, detail);
	if (!atomic_load_explicit(&ev->wr_active, memory_order_acquire))
		return DP_S_OK;
	const struct dp_keys *ks = rcu_dereference(eng->keys);
	if (!token || !ks)
		return DP_S_NOT_ADMITTED;
	enum dp_token_result r = dp_token_verify(ks, token, DP_TOKEN_ACCESS, rq->event_id, rq->client_id, now_ms, NULL);
	if (r == DP_TOKEN_OK)
		return DP_S_OK;
	*detail = token_detail(r);
	return DP_S_BAD_TOKEN;
}

/* ---- control path ---- */

/* Store rec as ev's sale record (control path); 0 or a storage error. */
static int store(struct dp_engine *eng, struct dp_event *ev, const struct st_sale *rec)
{
	int rc = st_env_put_sale(eng->env, ev->id, rec);
	if (rc == 0) {
		ev->q_saved_pre = rec->pre_issued;
		ev->q_saved_reg = rec->reg_issued;
	}
	return rc;
}

/* Store ev's counters when they changed and DP_QUEUE_SAVE_MS has passed
 * since the last time (control path); 0 or a storage error. */
static int save_counters(struct dp_engine *eng, struct dp_event *ev, uint64_t now_ms)
{
	if (now_ms < ev->q_saved_ms + DP_QUEUE_SAVE_MS && ev->q_saved_ms != 0)
		return 0;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	if (rec.pre_issued == ev->q_saved_pre && rec.reg_issued == ev->q_saved_reg)
		return 0;
	ev->q_saved_ms = now_ms;
	return store(eng, ev, &rec);
}

/* Freeze ev's pre-queue and publish its opening, stored first. */
static int queue_open(struct dp_engine *eng, struct dp_event *ev)
{
	const uint64_t n = prequeue_close(ev);
	uint8_t secret[ST_SALE_SECRET_SIZE];
	if (RAND_bytes(secret, sizeof(secret)) != 1)
		return -EIO;
	struct dp_queue_open *op = open_build(n, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!op)
		return -ENOMEM;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	rec.wr_opened = 1;
	rec.prequeue_n = n;
	memcpy(rec.secret, op->secret, sizeof(rec.secret));
	int rc = store(eng, ev, &rec);
	if (rc) {
		free(op);
		return rc;
	}
	rcu_assign_pointer(ev->q_open, op);
	return 0;
}

/* Top up one reservation when its counter is within half a block. */
static int topup(struct dp_engine *eng, struct dp_event *ev, int pre)
{
	_Atomic uint64_t *c = pre ? &ev->q_pre : &ev->q_reg;
	_Atomic uint64_t *limit = pre ? &ev->q_pre_limit : &ev->q_reg_limit;
	const uint64_t v = atomic_load(c);
	if (pre && (v & DP_QUEUE_CLOSED))
		return 0;
	const uint64_t lim = atomic_load(limit);
	if (lim >= DP_QUEUE_SEQ_MAX || (lim > v && lim - v > DP_QUEUE_RESERVE / 2))
		return 0;
	uint64_t neu = (v > lim ? v : lim) + DP_QUEUE_RESERVE;
	if (neu > DP_QUEUE_SEQ_MAX)
		neu = DP_QUEUE_SEQ_MAX;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	if (pre)
		rec.pre_reserve = neu;
	else
		rec.reg_reserve = neu;
	int rc = store(eng, ev, &rec);
	if (rc)
		return rc;
	atomic_store(limit, neu);
	return 0;
}

/* eng: not NULL; control path only, one thread (dp_engine.h). */
int dp_queue_tick(struct dp_engine *eng, uint64_t now_ms)
{
	int first = 0;
	const struct dp_catalog *cat = rcu_dereference(eng->catalog);
	for (uint32_t i = 0; i < cat->n; i++) {
		struct dp_event *ev = cat->ev[i];
		int rc = 0;
		/* After a restart the steps are gone: everyone admitted so far
		 * gets a window from now (errs on the buyer's side). */
		const uint64_t adm = atomic_load(&ev->q_admitted);
		if (adm > 0 && atomic_load(&ev->q_steps->count) == 0)
			step_record(ev->q_steps, adm, now_ms, window_of(ev));
		if (!ev->q_open && now_ms >= opens_of(ev))
			rc = queue_open(eng, ev);
		if (rc == 0)
			rc = topup(eng, ev, 1);
		if (rc == 0)
			rc = topup(eng, ev, 0);
		if (rc == 0)
			rc = save_counters(eng, ev, now_ms);
		if (rc && !first)
			first = rc;
	}
	return first;
}

/* eng: not NULL; any id, position, rate (rate_per_s may be NULL) and time. Control path. */
int dp_queue_admit(struct dp_engine *eng, uint32_t event_id, uint64_t admitted, const uint32_t *rate_per_s,
		   uint64_t now_ms)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	const uint64_t before = atomic_load(&ev->q_admitted);
	if (admitted < before)
		return -ERANGE;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	rec.admitted = admitted;
	if (rate_per_s)
		rec.rate_per_s = *rate_per_s;
	int rc = store(eng, ev, &rec);
	if (rc)
		return rc;
	atomic_store(&ev->rate_per_s, rec.rate_per_s);
	/* The step before the position: a worker that sees the position finds it. */
	if (admitted > before)
		step_record(ev->q_steps, admitted, now_ms, window_of(ev));
	atomic_store_explicit(&ev->q_admitted, admitted, memory_order_release);
	return 0;
}

/* eng: not NULL; any id; active: 0 or not. Control path. */
int dp_queue_set_active(struct dp_engine *eng, uint32_t event_id, int active)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	if (atomic_load(&ev->wr_mode) != DP_WR_AUTO)
		return -EPERM;
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	rec.wr_active = active ? 1 : 0;
	int rc = store(eng, ev, &rec);
	if (rc)
		return rc;
	atomic_store_explicit(&ev->wr_active, rec.wr_active, memory_order_release);
	return 0;
}

/* eng, out: not NULL; any id. */
int dp_queue_get(struct dp_engine *eng, uint32_t event_id, struct dp_queue_view *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->mode = (uint8_t)atomic_load(&ev->wr_mode);
	out->active = (uint8_t)atomic_load(&ev->wr_active);
	const struct dp_queue_open *op = rcu_dereference(ev->q_open);
	out->opened = op != NULL;
	const uint64_t pre = atomic_load(&ev->q_pre) & ~DP_QUEUE_CLOSED;
	out->prequeue = op ? op->n : pre;
	out->joined = atomic_load(&ev->q_reg);
	out->admitted = atomic_load(&ev->q_admitted);
	out->pre_reserve = atomic_load(&ev->q_pre_limit);
	out->reg_reserve = atomic_load(&ev->q_reg_limit);
	out->rate_per_s = atomic_load(&ev->rate_per_s);
	out->purchase_window_ms = window_of(ev);
	out->threshold_rps = atomic_load(&ev->threshold_rps);
	out->unissued = atomic_load(&ev->q_unissued);
	return 0;
}

/* eng: not NULL; ks: a set nobody else frees, or NULL. Control path, QSBR thread. */
void dp_engine_keys_set(struct dp_engine *eng, struct dp_keys *ks)
{
	struct dp_keys *old = eng->keys;
	rcu_assign_pointer(eng->keys, ks);
	if (old) {
		urcu_qsbr_synchronize_rcu();
		dp_keys_free(old);
	}
}
