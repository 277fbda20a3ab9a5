/*
 * ctl_sweep.c - stampede-control's periodic work: following the ledger,
 * sending due holds to the dataplane in `expire` messages and counting the
 * results (docs/control.md, "Hold expiry"), pacing the waiting room
 * (ctl_pacing.c), and sampling the dataplane's
 * status once a second for requests_per_s and the metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_control.h"

/* Log err once until a different error (or success) comes. */
static void ctl_ledger_note(struct ctl_app *app, int rc, const char *err)
{
	if (rc >= 0) {
		if (app->ledger_err[0] != '\0')
			ctl_log("ledger %s: readable again", app->data_dir);
		app->ledger_err[0] = '\0';
		return;
	}
	if (strcmp(app->ledger_err, err) != 0) {
		ctl_log("ledger %s: %s", app->data_dir, err);
		snprintf(app->ledger_err, sizeof(app->ledger_err), "%s", err);
	}
}

/* Open (if needed), refresh definitions and follow; see ctl_control.h. */
bool ctl_ledger_sync(struct ctl_app *app)
{
	char err[CTL_ERR_BYTES] = "";
	if (app->ledger == NULL) {
		int rc = ctl_ledger_open(app->data_dir, &app->ledger, err, sizeof(err));
		ctl_ledger_note(app, rc, err);
		if (rc != 0)
			return false;
		ctl_log("ledger %s: opened read-only%s%s", app->data_dir, err[0] ? "; " : "", err);
	}
	char err2[CTL_ERR_BYTES] = "";
	int ev = ctl_ledger_refresh_events(app->ledger, err, sizeof(err));
	long long n = ctl_ledger_follow(app->ledger, err2, sizeof(err2));
	app->ledger_stuck = n < 0;
	if (n < 0)
		ctl_ledger_note(app, (int)n, err2);
	else
		ctl_ledger_note(app, ev, err);
	return true;
}

/* Send one `expire` of ids[0..n) and count the answers. false: stop sweeping. */
static bool ctl_expire_chunk(struct ctl_app *app, const uint64_t *ids, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer((json_int_t)ids[i]));
	json_t *req = json_pack("{s:s,s:o}", "cmd", "expire", "holds", arr);
	if (req == NULL)
		return false;
	json_t *reply = NULL;
	int rc = ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply);
	json_decref(req);
	if (rc != 0)
		return false;
	json_t *results = json_object_get(reply, "results");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(results) || json_array_size(results) != n) {
		const char *code = json_string_value(json_object_get(reply, "error"));
		ctl_log("expire of %zu holds: %s", n, code ? code : "malformed reply");
		app->expire_failed_msgs++;
		json_decref(reply);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const char *r = json_string_value(json_array_get(results, i));
		if (r && strcmp(r, "expired") == 0)
			app->expired_total++;
		else if (r && strcmp(r, "not_due") == 0)
			app->expire_not_due++;
		else if (r && strcmp(r, "ended") == 0)
			app->expire_ended++;
		else
			app->expire_not_found++;
	}
	json_decref(reply);
	return true;
}

/* One sweep: sync the ledger, then send due holds in `expire` messages
 * (at most CTL_EXPIRE_MSGS_PER_SWEEP_MAX) while the dataplane answers. */
void ctl_sweep(struct ctl_app *app)
{
	app->sweeps++;
	if (!ctl_ledger_sync(app))
		return;
	/* A down dataplane is retried by ctl_dp_call when its backoff allows;
	 * due holds are only taken from the ledger when they can be sent. */
	if (!ctl_dp_up(&app->dp) && ctl_mono_ms() < app->dp.next_try_ms)
		return;
	static uint64_t ids[CTL_HOLDS_PER_MSG_MAX];
	/* Offer a hold only once it is CTL_EXPIRE_SKEW_MS past due by our clock,
	 * so a dataplane clock a few ms behind ours rarely answers not_due. */
	uint64_t now_ms = ctl_wall_ms() - CTL_EXPIRE_SKEW_MS;
	for (unsigned m = 0; m < CTL_EXPIRE_MSGS_PER_SWEEP_MAX; m++) {
		size_t n = ctl_ledger_due(app->ledger, now_ms, ids, CTL_HOLDS_PER_MSG_MAX);
		if (n == 0 || !ctl_expire_chunk(app, ids, n))
			break;
		if (n < CTL_HOLDS_PER_MSG_MAX)
			break;
	}
	ctl_pace_sweep(app);
	app->last_sweep_ms = ctl_mono_ms();
}

/* Record a sample of per-event request counts from a status reply. */
static void ctl_rate_add(struct ctl_app *app, const json_t *status, uint64_t t_ms)
{
	struct ctl_rate_sample *s = &app->samples[app->next_sample];
	memset(s, 0, sizeof(*s));
	s->t_ms = t_ms;
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(status, "events"), i, ev)
	{
		if (s->n == DP_EVENTS_MAX)
			break;
		s->event_ids[s->n] = (uint32_t)json_integer_value(json_object_get(ev, "id"));
		s->requests[s->n] = (uint64_t)json_integer_value(json_object_get(ev, "requests"));
		s->n++;
	}
	app->next_sample = (app->next_sample + 1) % CTL_RATE_SAMPLES;
	if (app->n_samples < CTL_RATE_SAMPLES)
		app->n_samples++;
}

/* Rate against the newest sample at least CTL_RATE_WINDOW_MS old, else the
 * oldest one we have; 0 when there is none or the count went down. */
double ctl_rate(const struct ctl_app *app, uint32_t event_id, uint64_t requests, uint64_t now_ms)
{
	const struct ctl_rate_sample *best = NULL;
	for (unsigned k = 0; k < app->n_samples; k++) {
		const struct ctl_rate_sample *s = &app->samples[k];
		if (s->t_ms >= now_ms)
			continue;
		bool old_enough = now_ms - s->t_ms >= CTL_RATE_WINDOW_MS;
		if (best == NULL) {
			best = s;
			continue;
		}
		bool best_old = now_ms - best->t_ms >= CTL_RATE_WINDOW_MS;
		if (old_enough && (!best_old || s->t_ms > best->t_ms))
			best = s;
		else if (!old_enough && !best_old && s->t_ms < best->t_ms)
			best = s;
	}
	if (best == NULL)
		return 0.0;
	for (unsigned i = 0; i < best->n; i++) {
		if (best->event_ids[i] != event_id)
			continue;
		if (requests < best->requests[i])
			return 0.0;
		return (double)(requests - best->requests[i]) * 1000.0 / (double)(now_ms - best->t_ms);
	}
	return 0.0;
}

/* Fetch and keep the dataplane status; a sample for requests_per_s. */
void ctl_status_tick(struct ctl_app *app)
{
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *reply = NULL;
	int rc = req ? ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	json_decref(app->last_status);
	app->last_status = NULL;
	if (rc != 0) {
		app->n_samples = 0; /* a restarted dataplane counts from zero */
		return;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_decref(reply);
		return;
	}
	ctl_rate_add(app, reply, ctl_mono_ms());
	app->last_status = reply;
}
