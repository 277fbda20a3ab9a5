/*
 * ctl_pacing.c - the waiting room's control side (docs/waiting-room.md,
 * "Pacing" and "Auto-activation"). Every sweep it asks the dataplane for
 * `queue` (all events), keeps each event's row, and for each event:
 *
 *   auto mode   sends `waiting-room {active: true}` when requests/s passes
 *               threshold_rps, and `{active: false}` once nobody is queued and
 *               requests/s has stayed below threshold_rps / 2 for
 *               CTL_AUTO_CALM_MS;
 *   active and open
 *               admits through a token bucket (admission_per_s per second,
 *               at most one second's worth saved), never more than
 *               max_active_shoppers - active shoppers, never past the last
 *               position issued, never backwards: `admit {event, admitted,
 *               rate_per_s}`; positions the dataplane reports unissued
 *               (skipped at its restarts) are admitted on the way without
 *               counting as buyers, queued or tokens; with nobody to admit, the same position with a
 *               new rate when the measured rate has moved (so wait estimates
 *               follow a stall).
 *
 * Active shoppers = buyers admitted (by this process) within the last purchase
 * window minus distinct buyers with an order in that window (the ledger), at
 * least 0. A dataplane without `queue` (unknown_command) leaves the waiting
 * room off; that, like any refusal, is logged once per connection.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_control.h"

/* The room of event_id, or NULL; see ctl_control.h. */
const struct ctl_room *ctl_pace_room(const struct ctl_app *app, uint32_t event_id)
{
	if (!app->pace.queue_known || !ctl_dp_up(&app->dp))
		return NULL;
	for (unsigned i = 0; i < app->pace.n_rooms; i++)
		if (app->pace.rooms[i]->event_id == event_id)
			return app->pace.rooms[i]->seen ? app->pace.rooms[i] : NULL;
	return NULL;
}

/* Unissued positions of r's known skips in [from, to) (from <= to). */
static uint64_t ctl_room_skipped_in(const struct ctl_room *r, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < r->n_skips; i++) {
		const uint64_t a = r->skips[i].from > from ? r->skips[i].from : from;
		const uint64_t b = r->skips[i].to < to ? r->skips[i].to : to;
		n += b > a ? b - a : 0;
	}
	return n;
}

/* prequeue + joined - admitted - the known unissued positions in between,
 * saturating, never negative. */
uint64_t ctl_room_queue_length(const struct ctl_room *r)
{
	uint64_t issued = r->prequeue + r->joined < r->prequeue ? UINT64_MAX : r->prequeue + r->joined;
	if (issued <= r->admitted)
		return 0;
	const uint64_t skipped = ctl_room_skipped_in(r, r->admitted, issued);
	return issued - r->admitted > skipped ? issued - r->admitted - skipped : 0;
}

/* Learn where the dataplane's `unissued` grew (row values unissued, issued =
 * prequeue + joined, admitted): the new skip is the last positions issued
 * (a restart skips the top of the reservation). The first row is a baseline:
 * skips from before this process are not located and count as queued. A
 * lower value (another data directory) forgets the skips. The ring full, the
 * oldest skip is dropped (its positions count as buyers: admits fewer). */
static void ctl_room_learn_skips(struct ctl_room *r, uint64_t unissued, uint64_t issued, uint64_t admitted)
{
	if (r->unissued_known && unissued > r->unissued) {
		const uint64_t d = unissued - r->unissued;
		uint64_t from = issued > d ? issued - d : 0;
		if (from < admitted)
			from = admitted;
		if (from < issued) {
			if (r->n_skips == CTL_PACE_SKIPS_MAX) {
				memmove(&r->skips[0], &r->skips[1], (CTL_PACE_SKIPS_MAX - 1) * sizeof(r->skips[0]));
				r->n_skips--;
			}
			r->skips[r->n_skips++] = (struct ctl_pace_skip){.from = from, .to = issued};
		}
	} else if (unissued < r->unissued) {
		r->n_skips = 0;
	}
	r->unissued = unissued;
	r->unissued_known = true;
}

/* The position after admitting n_real more real (issued) positions from r's
 * admitted position, skipping over known unissued ones on the way. */
static uint64_t ctl_room_admit_to(const struct ctl_room *r, uint64_t n_real)
{
	uint64_t pos = r->admitted, need = n_real;
	for (unsigned i = 0; i < r->n_skips && need > 0; i++) {
		const struct ctl_pace_skip *s = &r->skips[i];
		if (s->to <= pos)
			continue;
		if (s->from > pos) {
			const uint64_t take = s->from - pos < need ? s->from - pos : need;
			pos += take;
			need -= take;
			if (need == 0)
				break;
		}
		pos = s->to;
	}
	return pos + need;
}

/* Forget skips wholly below r's admitted position. */
static void ctl_room_prune_skips(struct ctl_room *r)
{
	unsigned k = 0;
	for (unsigned i = 0; i < r->n_skips; i++)
		if (r->skips[i].to > r->admitted)
			r->skips[k++] = r->skips[i];
	r->n_skips = k;
}

/* The status word of a room (NULL: "off"). */
const char *ctl_room_state(const struct ctl_room *r)
{
	if (r == NULL || r->mode == CTL_ROOM_OFF)
		return "off";
	if (r->mode == CTL_ROOM_ON)
		return "on";
	return r->active ? "auto:active" : "auto:idle";
}

/* Free every room and forget them. */
void ctl_pace_free(struct ctl_pace *p)
{
	for (unsigned i = 0; i < p->n_rooms; i++)
		free(p->rooms[i]);
	memset(p, 0, sizeof(*p));
}

/* Log a refusal of cmd once per connection and code (CTL_PACE_QUIET_MAX
 * distinct ones; past that, silently), so a refusal repeated every sweep is
 * one log line. */
static void ctl_pace_note(struct ctl_app *app, const char *cmd, const json_t *reply)
{
	struct ctl_pace *p = &app->pace;
	const char *code = json_string_value(json_object_get(reply, "error"));
	const char *msg = json_string_value(json_object_get(reply, "message"));
	char key[CTL_PACE_QUIET_BYTES];
	snprintf(key, sizeof(key), "%s:%s", cmd, code ? code : "malformed");
	if (p->quiet_conn != app->dp.connects) {
		p->quiet_conn = app->dp.connects;
		p->n_quiet = 0;
	}
	for (unsigned i = 0; i < p->n_quiet; i++)
		if (strcmp(p->quiet_err[i], key) == 0)
			return;
	if (p->n_quiet == CTL_PACE_QUIET_MAX)
		return;
	snprintf(p->quiet_err[p->n_quiet++], CTL_PACE_QUIET_BYTES, "%s", key);
	if (code && strcmp(code, "unknown_command") == 0 && strcmp(cmd, "queue") == 0)
		ctl_log("dataplane has no `queue` command (an older dataplane): waiting room off");
	else
		ctl_log("%s: %s%s%s", cmd, code ? code : "malformed reply", msg ? ": " : "", msg ? msg : "");
}

/* The room of event_id, created (empty) if new; NULL when CTL_ROOMS_MAX are in use or on ENOMEM. */
static struct ctl_room *ctl_pace_get(struct ctl_pace *p, uint32_t event_id)
{
	for (unsigned i = 0; i < p->n_rooms; i++)
		if (p->rooms[i]->event_id == event_id)
			return p->rooms[i];
	if (p->n_rooms == CTL_ROOMS_MAX)
		return NULL;
	struct ctl_room *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->event_id = event_id;
	p->rooms[p->n_rooms++] = r;
	return r;
}

/* A non-negative integer field of row, at most max. false when absent or bad. */
static bool ctl_pace_u64(const json_t *row, const char *key, long long max, uint64_t *out)
{
	const json_t *v = json_object_get(row, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* Copy one `queue` row into its room. false (room untouched) when a field is
 * missing or out of range: such a row is ignored, never acted on. */
static bool ctl_pace_row(struct ctl_pace *p, const json_t *row, struct ctl_room **out)
{
	uint64_t id, pre, joined, adm, max_act, per_s, win, thr;
	const char *mode = json_string_value(json_object_get(row, "mode"));
	const json_t *active = json_object_get(row, "active"), *opened = json_object_get(row, "opened");
	if (!ctl_pace_u64(row, "id", UINT32_MAX, &id) || id == 0 || mode == NULL || !json_is_boolean(active) ||
	    !json_is_boolean(opened) || !ctl_pace_u64(row, "prequeue", CTL_PACE_VALUE_MAX, &pre) ||
	    !ctl_pace_u64(row, "joined", CTL_PACE_VALUE_MAX, &joined) ||
	    !ctl_pace_u64(row, "admitted", CTL_PACE_VALUE_MAX, &adm) ||
	    !ctl_pace_u64(row, "max_active_shoppers", CTL_PACE_VALUE_MAX, &max_act) ||
	    !ctl_pace_u64(row, "admission_per_s", CTL_PACE_VALUE_MAX, &per_s) ||
	    !ctl_pace_u64(row, "purchase_window_ms", CTL_PACE_WINDOW_MS_MAX, &win) ||
	    !ctl_pace_u64(row, "threshold_rps", CTL_PACE_VALUE_MAX, &thr))
		return false;
	uint64_t unissued = 0; /* optional: a dataplane before it has none */
	if (json_object_get(row, "unissued") && !ctl_pace_u64(row, "unissued", CTL_PACE_VALUE_MAX, &unissued))
		return false;
	enum ctl_room_mode m;
	if (strcmp(mode, "off") == 0)
		m = CTL_ROOM_OFF;
	else if (strcmp(mode, "on") == 0)
		m = CTL_ROOM_ON;
	else if (strcmp(mode, "auto") == 0)
		m = CTL_ROOM_AUTO;
	else
		return false;
	struct ctl_room *r = ctl_pace_get(p, (uint32_t)id);
	if (r == NULL)
		return false;
	r->seen = true;
	r->mode = m;
	r->active = json_is_true(active);
	r->opened = json_is_true(opened);
	r->prequeue = pre;
	r->joined = joined;
	r->admitted = adm;
	r->max_active_shoppers = max_act;
	r->admission_per_s = per_s;
	r->purchase_window_ms = win;
	r->threshold_rps = thr;
	ctl_room_learn_skips(r, unissued, pre + joined, adm);
	ctl_room_prune_skips(r);
	*out = r;
	return true;
}

/* requests_per_s of event_id from the newest status sample against the older
 * ones (ctl_rate); 0 without a status. */
static double ctl_pace_rps(const struct ctl_app *app, uint32_t event_id)
{
	if (app->last_status == NULL || app->n_samples == 0)
		return 0.0;
	const struct ctl_rate_sample *s = &app->samples[(app->next_sample + CTL_RATE_SAMPLES - 1) % CTL_RATE_SAMPLES];
	for (unsigned i = 0; i < s->n; i++)
		if (s->event_ids[i] == event_id)
			return ctl_rate(app, event_id, s->requests[i], s->t_ms);
	return 0.0;
}

/* Send `waiting-room {event, active}`; true when the dataplane took it. */
static bool ctl_pace_switch(struct ctl_app *app, struct ctl_room *r, bool on)
{
	json_t *req = json_pack("{s:s,s:I,s:b}", "cmd", "waiting-room", "event", (json_int_t)r->event_id, "active", on);
	json_t *reply = NULL;
	int rc = req ? ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	if (rc != 0)
		return false;
	bool ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok)
		ctl_pace_note(app, "waiting-room", reply);
	json_decref(reply);
	if (ok) {
		ctl_log("event %u: waiting room %s (requests/s %.1f, threshold %llu, queued %llu)", r->event_id,
			on ? "on" : "off", r->requests_per_s, (unsigned long long)r->threshold_rps,
			(unsigned long long)ctl_room_queue_length(r));
		r->active = on;
	}
	return ok;
}

/* Auto mode: switch on above threshold_rps; off once nobody is queued and
 * requests/s stayed below threshold_rps / 2 for CTL_AUTO_CALM_MS.
 * threshold_rps 0 never switches on. */
static void ctl_pace_auto(struct ctl_app *app, struct ctl_room *r, uint64_t now_ms)
{
	r->requests_per_s = ctl_pace_rps(app, r->event_id);
	if (r->mode != CTL_ROOM_AUTO) {
		r->calm_since_ms = 0;
		return;
	}
	double thr = (double)r->threshold_rps;
	if (!r->active) {
		r->calm_since_ms = 0;
		if (r->threshold_rps > 0 && r->requests_per_s > thr)
			ctl_pace_switch(app, r, true);
		return;
	}
	if (r->requests_per_s < thr / 2.0) {
		if (r->calm_since_ms == 0)
			r->calm_since_ms = now_ms;
	} else {
		r->calm_since_ms = 0;
	}
	if (r->calm_since_ms != 0 && now_ms - r->calm_since_ms >= CTL_AUTO_CALM_MS && ctl_room_queue_length(r) == 0)
		if (ctl_pace_switch(app, r, false))
			r->calm_since_ms = 0;
}

/* Drop batches whose purchase window has ended at wall time now_ms. */
static void ctl_pace_prune(struct ctl_room *r, uint64_t now_ms)
{
	while (r->b_n > 0 && r->batches[r->b_first].last_ms + r->purchase_window_ms <= now_ms) {
		r->b_first = (r->b_first + 1) % CTL_PACE_BATCHES_MAX;
		r->b_n--;
	}
}

/* Active shoppers at wall time now_ms: admitted in the window minus distinct
 * buyers with an order since the window's first admission (orders before it
 * cannot be theirs), at least 0. An unreadable ledger counts no orders. */
static uint64_t ctl_pace_active(const struct ctl_app *app, struct ctl_room *r, uint64_t now_ms)
{
	ctl_pace_prune(r, now_ms);
	if (r->b_n == 0)
		return 0;
	uint64_t admitted = 0;
	for (unsigned k = 0; k < r->b_n; k++)
		admitted += r->batches[(r->b_first + k) % CTL_PACE_BATCHES_MAX].n;
	uint64_t since = now_ms > r->purchase_window_ms ? now_ms - r->purchase_window_ms : 0;
	uint64_t first = r->batches[r->b_first].first_ms;
	if (first > since)
		since = first;
	long long bought = app->ledger ? ctl_ledger_buyers_since(app->ledger, r->event_id, since) : 0;
	if (bought < 0)
		bought = 0; /* -ENOMEM: count none, which admits fewer, never more */
	return admitted > (uint64_t)bought ? admitted - (uint64_t)bought : 0;
}

/* Record n admissions at wall time now_ms: into the newest batch when it began
 * less than max(CTL_PACE_BATCH_GAP_MIN_MS, window / CTL_PACE_BATCHES_MAX) ago,
 * else a new one (the ring full: the two oldest merge, keeping the later time). */
static void ctl_pace_batch_add(struct ctl_room *r, uint64_t n, uint64_t now_ms)
{
	uint64_t gap = r->purchase_window_ms / CTL_PACE_BATCHES_MAX;
	if (gap < CTL_PACE_BATCH_GAP_MIN_MS)
		gap = CTL_PACE_BATCH_GAP_MIN_MS;
	if (r->b_n > 0) {
		struct ctl_pace_batch *b = &r->batches[(r->b_first + r->b_n - 1) % CTL_PACE_BATCHES_MAX];
		if (now_ms < b->first_ms + gap) {
			b->n += n;
			b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
			return;
		}
	}
	if (r->b_n == CTL_PACE_BATCHES_MAX) {
		struct ctl_pace_batch *a = &r->batches[r->b_first];
		struct ctl_pace_batch *b = &r->batches[(r->b_first + 1) % CTL_PACE_BATCHES_MAX];
		b->n += a->n;
		b->first_ms = a->first_ms;
		r->b_first = (r->b_first + 1) % CTL_PACE_BATCHES_MAX;
		r->b_n--;
	}
	r->batches[(r->b_first + r->b_n) % CTL_PACE_BATCHES_MAX] =
		(struct ctl_pace_batch){.first_ms = now_ms, .last_ms = now_ms, .n = n};
	r->b_n++;
}

/* Keep an admitted-position sample (at most one per CTL_PACE_SAMPLE_GAP_MS). */
static void ctl_pace_sample(struct ctl_room *r, uint64_t mono_ms)
{
	if (r->s_n > 0) {
		const struct ctl_pace_sample *last =
			&r->samples[(r->s_first + r->s_n - 1) % CTL_PACE_RATE_SAMPLES];
		if (mono_ms < last->t_ms + CTL_PACE_SAMPLE_GAP_MS)
			return;
	}
	if (r->s_n == CTL_PACE_RATE_SAMPLES) {
		r->s_first = (r->s_first + 1) % CTL_PACE_RATE_SAMPLES;
		r->s_n--;
	}
	r->samples[(r->s_first + r->s_n) % CTL_PACE_RATE_SAMPLES] =
		(struct ctl_pace_sample){.t_ms = mono_ms, .admitted = r->admitted};
	r->s_n++;
}

/* Admissions per second over the last CTL_PACE_RATE_WINDOW_MS (or since pacing
 * began); admission_per_s until CTL_PACE_RATE_MIN_SPAN_MS has been measured. */
static double ctl_pace_measured(const struct ctl_room *r, uint64_t mono_ms)
{
	const struct ctl_pace_sample *base = NULL;
	for (unsigned k = 0; k < r->s_n; k++) {
		const struct ctl_pace_sample *s = &r->samples[(r->s_first + k) % CTL_PACE_RATE_SAMPLES];
		if (s->t_ms + CTL_PACE_RATE_WINDOW_MS >= mono_ms) {
			base = s;
			break;
		}
	}
	if (base == NULL || mono_ms - base->t_ms < CTL_PACE_RATE_MIN_SPAN_MS || base->admitted > r->admitted)
		return (double)r->admission_per_s;
	return (double)(r->admitted - base->admitted) * 1000.0 / (double)(mono_ms - base->t_ms);
}

/* Active and open: refill the bucket, admit what it, the cap and the
 * positions issued allow, in one `admit`; or, with nobody to admit, re-send
 * the position with the measured rate when it moved by more than
 * CTL_PACE_RATE_REFRESH_CHANGE (at most every CTL_PACE_RATE_REFRESH_MS, and
 * only after a first admit). */
static void ctl_pace_admit(struct ctl_app *app, struct ctl_room *r)
{
	uint64_t mono = ctl_mono_ms(), wall = ctl_wall_ms();
	if (!r->pacing) {
		r->pacing = true;
		r->tokens = 0.0;
		r->refill_ms = mono;
		r->pacing_since_ms = mono;
		r->s_n = 0;
	}
	r->tokens += (double)r->admission_per_s * (double)(mono - r->refill_ms) / 1000.0;
	if (r->tokens > (double)r->admission_per_s)
		r->tokens = (double)r->admission_per_s; /* burst: at most one second's worth */
	r->refill_ms = mono;
	r->active_shoppers = ctl_pace_active(app, r, wall);
	uint64_t room = r->max_active_shoppers > r->active_shoppers ? r->max_active_shoppers - r->active_shoppers : 0;
	uint64_t left = ctl_room_queue_length(r);
	uint64_t n = (uint64_t)floor(r->tokens);
	n = n < room ? n : room;
	n = n < left ? n : left;
	double rate = ctl_pace_measured(r, mono);
	bool refresh = n == 0 && r->rate_sent_ms != 0 && mono - r->rate_sent_ms >= CTL_PACE_RATE_REFRESH_MS &&
		       fabs(rate - r->rate_per_s) > CTL_PACE_RATE_REFRESH_CHANGE * fmax(r->rate_per_s, 1.0);
	if (n > 0 || refresh) {
		/* n real buyers; unissued positions on the way are admitted too, free */
		uint64_t to = n > 0 ? ctl_room_admit_to(r, n) : r->admitted;
		/* The dataplane keeps whole admissions per second (docs/control.md). */
		json_int_t rate_whole = rate > 0.0 ? (json_int_t)llround(fmax(rate, 1.0)) : 0;
		json_t *req = json_pack("{s:s,s:I,s:I,s:I}", "cmd", "admit", "event", (json_int_t)r->event_id,
					"admitted", (json_int_t)to, "rate_per_s", rate_whole);
		json_t *reply = NULL;
		int rc = req ? ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
		json_decref(req);
		if (rc == 0 && json_is_true(json_object_get(reply, "ok"))) {
			r->tokens -= (double)n;
			r->admitted = to;
			ctl_room_prune_skips(r);
			r->admissions_total += n;
			r->rate_per_s = rate;
			r->rate_sent_ms = mono;
			r->active_shoppers += n;
			if (n > 0)
				ctl_pace_batch_add(r, n, wall);
		} else if (rc == 0) {
			ctl_pace_note(app, "admit", reply);
		}
		json_decref(reply);
	}
	ctl_pace_sample(r, mono);
}

/* One pass; see ctl_control.h. */
void ctl_pace_sweep(struct ctl_app *app)
{
	struct ctl_pace *p = &app->pace;
	json_t *req = json_pack("{s:s}", "cmd", "queue");
	json_t *reply = NULL;
	int rc = req ? ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	if (rc != 0) {
		p->queue_known = false;
		return;
	}
	const json_t *events = json_object_get(reply, "events");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(events)) {
		ctl_pace_note(app, "queue", reply);
		p->queue_known = false;
		json_decref(reply);
		return;
	}
	p->queue_known = true;
	for (unsigned i = 0; i < p->n_rooms; i++)
		p->rooms[i]->seen = false;
	size_t i;
	json_t *row;
	json_array_foreach(events, i, row)
	{
		struct ctl_room *r = NULL;
		if (!ctl_pace_row(p, row, &r)) {
			json_t *fake = json_pack("{s:s,s:s}", "error", "bad_row", "message",
						 "an event row with a missing or out-of-range field (ignored)");
			ctl_pace_note(app, "queue", fake);
			json_decref(fake);
		}
	}
	json_decref(reply);
	uint64_t mono = ctl_mono_ms();
	for (unsigned k = 0; k < p->n_rooms; k++) {
		struct ctl_room *r = p->rooms[k];
		if (!r->seen)
			continue;
		ctl_pace_auto(app, r, mono);
		if (r->active && r->opened && r->mode != CTL_ROOM_OFF) {
			ctl_pace_admit(app, r);
		} else {
			r->pacing = false;
			r->active_shoppers = ctl_pace_active(app, r, ctl_wall_ms());
		}
		if (!ctl_dp_up(&app->dp))
			return;
	}
}
