/*
 * dpa_control.c - the dataplane's control thread: serves the dataplane
 * socket of docs/control.md (`hello`, `load`, `events`, `status`, `sale`,
 * `set`, `expire`, `release`) with ctl_wire framing.
 *
 * It is a plain pthread on the CPUs no worker polls, registered with liburcu
 * QSBR and offline while it blocks in poll(2). It is the engine's only
 * control-path caller once the workers run. Operator expire/release items go
 * to the worker that owns each hold through that worker's SP/SC control ring
 * (struct dpa_ctl_item); results come back on the worker's completion ring;
 * the reply leaves once every result's log position is durable.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring_elem.h>

#include <urcu/urcu-qsbr.h>

#include "control/ctl_inventory.h"
#include "control/ctl_members.h"
#include "control/ctl_wire.h"
#include "dataplane/app/dpa.h"
#include "dataplane/dp_presale.h"
#include "dataplane/dp_token.h"

#define CTL_RECV_TIMEOUT_MS 5000    /* a started message must be complete within this */
#define CTL_WORKER_WAIT_MS 5000     /* workers must answer control items within this */
#define CTL_DURABLE_WAIT_MS 30000   /* storage must commit an operator change within this */
#define CTL_SPIN_NS 20000l          /* nap between polls of rings and durable counts */
#define CTL_QUEUE_TICK_MS 10        /* waiting room: opening and reservation top-ups this often */
#define CTL_ADMITTED_MAX (1ll << 53) /* largest admitted position taken (JSON-safe integer) */
#define CTL_RATE_MAX 100000000ll    /* admissions/s accepted for wait estimates */
#define CTL_PRESALE_ROWS_MAX 4096   /* code rows in one `presale` reply (then "truncated") */

_Static_assert((int)CTL_WR_OFF == (int)DP_WR_OFF && (int)CTL_WR_ON == (int)DP_WR_ON &&
		       (int)CTL_WR_AUTO == (int)DP_WR_AUTO,
	       "waiting-room modes: inventory = engine");

struct dpa_control {
	struct dpa_app *app;
	int lfd;
	pthread_t thread;
	atomic_int stop;
	int fds[DPA_CTL_CLIENTS_MAX]; /* -1: free */
	char path[DPA_PATH_MAX];
};

static void nap(void)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = CTL_SPIN_NS};
	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The dataplane's clock, as the workers see it (dpa_now_ms). */
static uint64_t app_now_ms(const struct dpa_app *app)
{
	return dpa_now_ms(app, rte_rdtsc());
}

/* obj[key] as a string, or NULL with *err a bad_request reply. */
static const char *get_string(const json_t *obj, const char *key, json_t **err)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v)) {
		*err = ctl_wire_error("bad_request", "%s: %s", key, v ? "expected a string" : "missing");
		return NULL;
	}
	return json_string_value(v);
}

static json_t *storage_error(int rc, const char *what)
{
	return ctl_wire_error("unavailable", "%s: storage: %s", what, st_strerror(rc));
}

/* ---- load ---- */

/* e: not NULL (dpa.h). */
struct dp_sale_settings dpa_sale_settings_of(const struct ctl_event *e)
{
	const struct ctl_waiting_room *wr = &e->extra.waiting_room;
	return (struct dp_sale_settings){.on_sale_ms = e->extra.on_sale_ms,
					 .max_active_shoppers = wr->max_active_shoppers,
					 .admission_per_s = wr->admission_per_s,
					 .wr_mode = wr->mode,
					 .purchase_window_ms = wr->purchase_window_ms,
					 .threshold_rps = wr->threshold_rps};
}

/* e, out, mem: not NULL (dpa.h). */
int dpa_presale_def_of(const struct ctl_event *e, struct dp_presale_def *out, struct dp_presale_code **mem,
		       int *unattached)
{
	memset(out, 0, sizeof(*out));
	*mem = NULL;
	if (unattached) {
		*unattached = 0;
		for (uint32_t w = 0; w < e->extra.n_presales; w++)
			*unattached |= e->extra.presales[w].members_file[0] && !e->extra.presales[w].members;
	}
	size_t n = 0;
	const uint32_t nw = e->extra.n_presales < DP_PRESALE_WINDOWS_MAX ? e->extra.n_presales : DP_PRESALE_WINDOWS_MAX;
	for (uint32_t w = 0; w < nw; w++)
		n += (size_t)e->extra.presales[w].n_codes + (e->extra.presales[w].members ? e->extra.presales[w].n_members : 0);
	struct dp_presale_code *codes = calloc(n ? n : 1, sizeof(*codes));
	if (!codes)
		return -ENOMEM;
	size_t k = 0;
	out->n_windows = nw;
	for (uint32_t w = 0; w < nw; w++) {
		const struct ctl_presale *p = &e->extra.presales[w];
		struct dp_presale_window *win = &out->windows[w];
		snprintf(win->name, sizeof(win->name), "%s", p->name);
		win->start_ms = p->start_ms;
		win->end_ms = p->end_ms;
		win->codes = codes + k;
		for (uint32_t i = 0; i < p->n_codes; i++, k++) {
			snprintf(codes[k].code, sizeof(codes[k].code), "%s", p->codes[i].code);
			codes[k].uses = p->codes[i].uses;
		}
		for (uint32_t i = 0; p->members && i < p->n_members; i++, k++) {
			snprintf(codes[k].code, sizeof(codes[k].code), "%s", p->members[i].code);
			codes[k].uses = p->members[i].uses;
		}
		win->n_codes = (uint32_t)(codes + k - win->codes);
	}
	*mem = codes;
	return 0;
}

static json_t *cmd_load(struct dpa_control *c, const json_t *req)
{
	struct dpa_app *app = c->app;
	json_t *err = NULL;
	const char *name = get_string(req, "name", &err);
	const char *text = name ? get_string(req, "inventory", &err) : NULL;
	if (!text)
		return err;
	struct ctl_inventory *inv;
	char msg[1024];
	int rc = ctl_inventory_parse(name, text, json_string_length(json_object_get(req, "inventory")), &inv, msg,
				     sizeof(msg));
	if (rc == -ENOMEM)
		return ctl_wire_error("unavailable", "out of memory reading %s", name);
	if (rc)
		return ctl_wire_error("invalid", "%s", msg);
	/* The presale member lists sent with it (docs/inventory.md, "Member list"): an optional array of
	 * {file, text}; attached all or nothing, a window without its list refusing the load. */
	const json_t *mem = json_object_get(req, "members");
	size_t n_mem = json_is_array(mem) ? json_array_size(mem) : 0;
	struct ctl_members_text *mt = n_mem ? calloc(n_mem, sizeof(*mt)) : NULL;
	json_t *mem_err = mem && !json_is_array(mem) ? ctl_wire_error("bad_request", "members: expected an array")
						     : NULL;
	if (n_mem && !mt)
		mem_err = ctl_wire_error("unavailable", "out of memory reading %s", name);
	for (size_t i = 0; i < n_mem && !mem_err; i++) {
		const json_t *f = json_object_get(json_array_get(mem, i), "file");
		const json_t *t = json_object_get(json_array_get(mem, i), "text");
		if (!json_is_string(f) || !json_is_string(t))
			mem_err = ctl_wire_error("bad_request",
						 "members[%zu]: expected an object with string \"file\" and \"text\"", i);
		else
			mt[i] = (struct ctl_members_text){json_string_value(f), json_string_value(t), json_string_length(t)};
	}
	rc = mem_err ? 0 : ctl_inventory_attach_members(inv, mt, n_mem, msg, sizeof(msg));
	free(mt);
	if (mem_err || rc) {
		ctl_inventory_free(inv);
		if (mem_err)
			return mem_err;
		return rc == -ENOMEM ? ctl_wire_error("unavailable", "out of memory reading %s", name)
				     : ctl_wire_error("invalid", "%s", msg);
	}
	/* All or nothing: every event is checked against what is loaded first. */
	uint32_t loaded_ids[DP_EVENTS_MAX];
	uint32_t n_loaded = dp_engine_event_ids(app->eng, loaded_ids, DP_EVENTS_MAX);
	uint32_t n_new = 0;
	json_t *reply = NULL;
	for (uint32_t i = 0; i < inv->n_events && !reply; i++) {
		rc = dp_engine_load_check(app->eng, inv->events[i].def, msg, sizeof(msg));
		if (rc == -EEXIST)
			reply = ctl_wire_error("layout_changed", "%s: %s", name, msg);
		else if (rc)
			reply = ctl_wire_error("invalid", "%s: %s", name, msg);
		struct dp_presale_def pdef;
		struct dp_presale_code *pmem = NULL;
		if (!reply && dpa_presale_def_of(&inv->events[i], &pdef, &pmem, NULL) != 0)
			reply = ctl_wire_error("unavailable", "out of memory reading %s", name);
		else if (!reply && dp_presale_def_check(&pdef, inv->events[i].def->id, msg, sizeof(msg)) != 0)
			reply = ctl_wire_error("invalid", "%s: %s", name, msg);
		free(pmem);
		int known = 0;
		for (uint32_t k = 0; k < n_loaded && k < DP_EVENTS_MAX; k++)
			known |= loaded_ids[k] == inv->events[i].def->id;
		n_new += !known;
	}
	if (!reply && n_loaded + n_new > DP_EVENTS_MAX)
		reply = ctl_wire_error("invalid", "%s: %u events loaded and %u new, at most %u", name, n_loaded, n_new,
				       DP_EVENTS_MAX);
	json_t *events = reply ? NULL : json_array();
	for (uint32_t i = 0; i < inv->n_events && !reply; i++) {
		const struct ctl_event *e = &inv->events[i];
		struct dp_sale_settings sale = dpa_sale_settings_of(e);
		struct dp_presale_def pdef;
		struct dp_presale_code *pmem = NULL;
		if (dpa_presale_def_of(e, &pdef, &pmem, NULL) != 0) {
			reply = ctl_wire_error("unavailable", "out of memory reading %s", name);
			break;
		}
		sale.presale = &pdef;
		int action = 0;
		rc = dp_engine_load_event(app->eng, e->def, &sale, &action, msg, sizeof(msg));
		free(pmem);
		if (rc) {
			/* Checked above: only storage or memory can fail here;
			 * events before this one are loaded. */
			reply = ctl_wire_error("unavailable", "%s: %s", name, msg);
			break;
		}
		fprintf(stderr, "stampede-dataplane: load %s: event %u %s\n", name, e->def->id,
			action == DP_LOAD_ADDED ? "added" : action == DP_LOAD_RELOADED ? "reloaded" : "unchanged");
		json_array_append_new(events, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)e->def->id, "name",
							e->def->name,
							"action", action == DP_LOAD_ADDED      ? "added"
								  : action == DP_LOAD_RELOADED ? "reloaded"
											       : "unchanged"));
	}
	ctl_inventory_free(inv);
	if (reply) {
		json_decref(events);
		return reply;
	}
	return json_pack("{s:b, s:o}", "ok", 1, "events", events);
}

/* ---- sale, set ---- */

static json_t *cmd_sale(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev;
	if (ctl_wire_get_int(req, "event", 1, 1, UINT32_MAX, &ev, &err) != 0)
		return err;
	const char *action = get_string(req, "action", &err);
	if (!action)
		return err;
	int state = strcmp(action, "open") == 0    ? DP_SALE_OPEN
		    : strcmp(action, "pause") == 0 ? DP_SALE_PAUSED
		    : strcmp(action, "close") == 0 ? DP_SALE_CLOSED
						   : 0;
	if (!state)
		return ctl_wire_error("bad_request", "action: \"%s\" (expected open, pause or close)", action);
	int rc = dp_engine_sale_set_state(c->app->eng, (uint32_t)ev, state);
	if (rc == -ENOENT)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	if (rc)
		return storage_error(rc, "sale");
	fprintf(stderr, "stampede-dataplane: event %lld: sale %s\n", ev, action);
	struct dp_sale_view sv;
	dp_event_sale_get(c->app->eng, (uint32_t)ev, app_now_ms(c->app), &sv);
	return json_pack("{s:b, s:I, s:s}", "ok", 1, "event", (json_int_t)ev, "state", dp_sale_state_name(sv.state));
}

static json_t *cmd_set(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev, shoppers = 0, rate = 0;
	if (ctl_wire_get_int(req, "event", 1, 1, UINT32_MAX, &ev, &err) != 0)
		return err;
	int rc1 = ctl_wire_get_int(req, "max_active_shoppers", 0, 1, CTL_WR_SHOPPERS_MAX, &shoppers, &err);
	if (rc1 == -EINVAL)
		return err;
	int rc2 = ctl_wire_get_int(req, "admission_per_s", 0, 1, CTL_WR_ADMISSION_MAX, &rate, &err);
	if (rc2 == -EINVAL)
		return err;
	if (rc1 && rc2)
		return ctl_wire_error("bad_request", "max_active_shoppers, admission_per_s: give one or both");
	uint32_t s32 = (uint32_t)shoppers, r32 = (uint32_t)rate;
	int rc = dp_engine_sale_set_limits(c->app->eng, (uint32_t)ev, rc1 ? NULL : &s32, rc2 ? NULL : &r32);
	if (rc == -ENOENT)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	if (rc)
		return storage_error(rc, "set");
	struct dp_sale_view sv;
	dp_event_sale_get(c->app->eng, (uint32_t)ev, app_now_ms(c->app), &sv);
	return json_pack("{s:b, s:I, s:I, s:I}", "ok", 1, "event", (json_int_t)ev, "max_active_shoppers",
			 (json_int_t)sv.max_active_shoppers, "admission_per_s", (json_int_t)sv.admission_per_s);
}

/* ---- waiting room: queue, admit, waiting-room, keys ---- */

/* One event's queue object; NULL on ENOMEM or an unknown id. */
static json_t *queue_json(struct dpa_app *app, uint32_t id)
{
	struct dp_queue_view q;
	struct dp_sale_view sv;
	if (dp_queue_get(app->eng, id, &q) != 0 || dp_event_sale_get(app->eng, id, app_now_ms(app), &sv) != 0)
		return NULL;
	return json_pack("{s:I, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)id, "mode",
			 dp_wr_mode_name(q.mode), "active", q.active, "opened", q.opened, "prequeue",
			 (json_int_t)q.prequeue, "joined", (json_int_t)q.joined, "admitted", (json_int_t)q.admitted,
			 "rate_per_s", (json_int_t)q.rate_per_s, "max_active_shoppers",
			 (json_int_t)sv.max_active_shoppers, "admission_per_s", (json_int_t)sv.admission_per_s,
			 "purchase_window_ms", (json_int_t)q.purchase_window_ms, "threshold_rps",
			 (json_int_t)q.threshold_rps, "unissued", (json_int_t)q.unissued);
}

/* {"cmd":"queue"[, "event": id]}: the waiting room of one or every event. */
static json_t *cmd_queue(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev = 0;
	if (ctl_wire_get_int(req, "event", 0, 1, UINT32_MAX, &ev, &err) == -EINVAL)
		return err;
	uint32_t ids[DP_EVENTS_MAX];
	uint32_t n = 0;
	if (ev) {
		struct dp_queue_view q;
		if (dp_queue_get(c->app->eng, (uint32_t)ev, &q) != 0)
			return ctl_wire_error("not_found", "event %lld is not loaded", ev);
		ids[n++] = (uint32_t)ev;
	} else {
		n = dp_engine_event_ids(c->app->eng, ids, DP_EVENTS_MAX);
		if (n > DP_EVENTS_MAX)
			n = DP_EVENTS_MAX;
	}
	json_t *arr = json_array();
	for (uint32_t i = 0; arr && i < n; i++) {
		json_t *o = queue_json(c->app, ids[i]);
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr ? json_pack("{s:b, s:o}", "ok", 1, "events", arr) : NULL;
}

/* {"cmd":"admit","event":id,"admitted":n[,"rate_per_s":r]} */
static json_t *cmd_admit(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev, admitted, rate = 0;
	if (ctl_wire_get_int(req, "event", 1, 1, UINT32_MAX, &ev, &err) != 0 ||
	    ctl_wire_get_int(req, "admitted", 1, 0, CTL_ADMITTED_MAX, &admitted, &err) != 0)
		return err;
	int rc_rate = ctl_wire_get_int(req, "rate_per_s", 0, 0, CTL_RATE_MAX, &rate, &err);
	if (rc_rate == -EINVAL)
		return err;
	const uint32_t r32 = (uint32_t)rate;
	struct dp_queue_view q;
	if (dp_queue_get(c->app->eng, (uint32_t)ev, &q) != 0)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	int rc = dp_queue_admit(c->app->eng, (uint32_t)ev, (uint64_t)admitted, rc_rate ? NULL : &r32,
				 app_now_ms(c->app));
	if (rc == -ERANGE)
		return ctl_wire_error("bad_request", "admitted: %lld is below the admitted position %llu (never backwards)",
				      admitted, (unsigned long long)q.admitted);
	if (rc == -ENOENT)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	if (rc)
		return storage_error(rc, "admit");
	return json_pack("{s:b, s:I, s:I}", "ok", 1, "event", (json_int_t)ev, "admitted", (json_int_t)admitted);
}

/* {"cmd":"waiting-room","event":id,"active":bool}: auto rooms only. */
static json_t *cmd_waiting_room(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev;
	if (ctl_wire_get_int(req, "event", 1, 1, UINT32_MAX, &ev, &err) != 0)
		return err;
	json_t *act = json_object_get(req, "active");
	if (!json_is_boolean(act))
		return ctl_wire_error("bad_request", "active: %s", act ? "expected true or false" : "missing");
	struct dp_queue_view q;
	if (dp_queue_get(c->app->eng, (uint32_t)ev, &q) != 0)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	int rc = dp_queue_set_active(c->app->eng, (uint32_t)ev, json_is_true(act));
	if (rc == -EPERM)
		return ctl_wire_error("bad_request", "event: %lld has waiting-room mode %s, fixed by the inventory (only auto rooms are switched)",
				      ev, dp_wr_mode_name(q.mode));
	if (rc == -ENOENT)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	if (rc)
		return storage_error(rc, "waiting-room");
	return json_pack("{s:b, s:I, s:b}", "ok", 1, "event", (json_int_t)ev, "active", json_is_true(act));
}

/* {"cmd":"presale","event":id[,"codes":true]}: the event's presale windows. */
static json_t *cmd_presale(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	long long ev;
	if (ctl_wire_get_int(req, "event", 1, 1, UINT32_MAX, &ev, &err) != 0)
		return err;
	json_t *codes_v = json_object_get(req, "codes");
	if (codes_v && !json_is_boolean(codes_v))
		return ctl_wire_error("bad_request", "codes: expected true or false");
	const int with_codes = codes_v && json_is_true(codes_v);
	struct dp_presale_view v;
	if (dp_presale_get(c->app->eng, (uint32_t)ev, &v) != 0)
		return ctl_wire_error("not_found", "event %lld is not loaded", ev);
	json_t *wins = json_array();
	json_t *rows[DP_PRESALE_WINDOWS_MAX] = {0};
	for (uint32_t w = 0; wins && w < v.n_windows; w++) {
		json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "index", (json_int_t)w, "name", v.w[w].name,
				      "start_ms", (json_int_t)v.w[w].start_ms, "end_ms", (json_int_t)v.w[w].end_ms,
				      "codes", (json_int_t)v.w[w].codes, "uses", (json_int_t)v.w[w].uses, "used",
				      (json_int_t)v.w[w].used);
		if (o && with_codes) {
			rows[w] = json_array();
			json_object_set_new(o, "code_uses", rows[w]);
		}
		if (!o || json_array_append_new(wins, o) != 0) {
			json_decref(wins);
			return NULL;
		}
	}
	int truncated = 0;
	for (uint32_t i = 0; wins && with_codes && i < v.n_codes; i++) {
		if (i >= CTL_PRESALE_ROWS_MAX) {
			truncated = 1;
			break;
		}
		struct dp_presale_code_view cv;
		if (dp_presale_code_get(c->app->eng, (uint32_t)ev, i, &cv) != 0 || cv.window >= v.n_windows)
			break;
		json_array_append_new(rows[cv.window], json_pack("{s:s, s:I, s:I}", "code", cv.code, "uses",
								 (json_int_t)cv.uses, "used", (json_int_t)cv.used));
	}
	json_t *r = wins ? json_pack("{s:b, s:I, s:o}", "ok", 1, "event", (json_int_t)ev, "windows", wins) : NULL;
	if (r && truncated)
		json_object_set_new(r, "truncated", json_true());
	return r;
}

/* app, err: not NULL (err_len may be 0); counts may be NULL (dpa.h). */
int dpa_keys_load(struct dpa_app *app, char *err, size_t err_len, unsigned *count_out, int *current_out)
{
	struct dp_keys *ks = NULL;
	if (strcmp(app->set.keys_file, "none") != 0) {
		int rc = dp_keys_load(app->set.keys_file, &ks, err, err_len);
		if (rc)
			return rc;
	}
	if (count_out)
		*count_out = ks ? dp_keys_count(ks) : 0;
	if (current_out)
		*current_out = ks ? dp_keys_current_id(ks) : -1;
	dp_engine_keys_set(app->eng, ks);
	return 0;
}

/* {"cmd":"keys","action":"reload"} */
static json_t *cmd_keys(struct dpa_control *c, const json_t *req)
{
	json_t *err = NULL;
	const char *action = get_string(req, "action", &err);
	if (!action)
		return err;
	if (strcmp(action, "reload") != 0)
		return ctl_wire_error("bad_request", "action: \"%.64s\" (expected reload)", action);
	char msg[DP_KEYS_ERR_MAX] = "";
	unsigned n = 0;
	int cur = -1;
	if (dpa_keys_load(c->app, msg, sizeof(msg), &n, &cur) != 0)
		return ctl_wire_error("invalid", "%s", msg);
	if (cur < 0)
		return json_pack("{s:b, s:I, s:n}", "ok", 1, "keys", (json_int_t)0, "current");
	return json_pack("{s:b, s:I, s:I}", "ok", 1, "keys", (json_int_t)n, "current", (json_int_t)cur);
}

/* ---- expire, release ---- */

/* Collect n results from the workers' completion rings into res, and the
 * highest wait_seq per worker. Returns 0, or -ETIMEDOUT / -ESHUTDOWN. */
static int collect(struct dpa_control *c, unsigned n, uint8_t *res, uint64_t *wait)
{
	struct dpa_app *app = c->app;
	const uint64_t deadline = mono_ms() + CTL_WORKER_WAIT_MS;
	unsigned got = 0;
	while (got < n) {
		for (unsigned w = 0; w < app->workers; w++) {
			struct dpa_ctl_item it[DPA_CTL_BURST_MAX];
			unsigned k = rte_ring_sc_dequeue_burst_elem(app->lc[w].ctl_out, it, sizeof(it[0]),
								    DPA_CTL_BURST_MAX, NULL);
			for (unsigned i = 0; i < k; i++) {
				res[it[i].cookie] = it[i].result;
				if (it[i].wait_seq > wait[w])
					wait[w] = it[i].wait_seq;
			}
			got += k;
		}
		if (got == n)
			break;
		if (mono_ms() > deadline)
			return -ETIMEDOUT;
		if (atomic_load(&app->running) == 0 && atomic_load(&app->quit))
			return -ESHUTDOWN;
		urcu_qsbr_quiescent_state();
		nap();
	}
	return 0;
}

/* Wait until every worker's log is durable up to wait[w]. 0, -ETIMEDOUT, or
 * the storage failure. */
static int wait_durable(struct dpa_control *c, const uint64_t *wait)
{
	struct dpa_app *app = c->app;
	const uint64_t deadline = mono_ms() + CTL_DURABLE_WAIT_MS;
	for (unsigned w = 0; w < app->workers; w++) {
		while (dp_worker_durable(app->lc[w].w) < wait[w]) {
			int failed = st_env_failed(app->env);
			if (failed)
				return failed;
			if (mono_ms() > deadline)
				return -ETIMEDOUT;
			urcu_qsbr_quiescent_state();
			nap();
		}
	}
	return 0;
}

static json_t *cmd_end_holds(struct dpa_control *c, const json_t *req, int expire)
{
	struct dpa_app *app = c->app;
	json_t *holds = json_object_get(req, "holds");
	if (!json_is_array(holds))
		return ctl_wire_error("bad_request", "holds: %s", holds ? "expected an array of hold ids" : "missing");
	size_t n = json_array_size(holds);
	if (n > CTL_HOLDS_PER_MSG_MAX)
		return ctl_wire_error("bad_request", "holds: %zu ids, at most %u", n, CTL_HOLDS_PER_MSG_MAX);
	uint64_t ids[CTL_HOLDS_PER_MSG_MAX];
	uint8_t res[CTL_HOLDS_PER_MSG_MAX];
	unsigned per_worker[DP_WORKERS_MAX] = {0};
	uint64_t wait[DP_WORKERS_MAX] = {0};
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(holds, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return ctl_wire_error("bad_request", "holds[%zu]: expected a hold id (an integer >= 0)", i);
		ids[i] = (uint64_t)json_integer_value(v);
		unsigned w = dp_hold_worker(ids[i]);
		if (w < app->workers)
			per_worker[w]++;
	}
	/* Room for every item first (this thread is each ring's only
	 * producer, so room only grows): a full ring changes nothing. */
	for (unsigned w = 0; w < app->workers; w++)
		if (per_worker[w] > rte_ring_free_count(app->lc[w].ctl_in))
			return ctl_wire_error("busy", "worker %u: control queue full (%u items waiting); retry", w,
					      rte_ring_count(app->lc[w].ctl_in));
	if (atomic_load(&app->quit))
		return ctl_wire_error("unavailable", "the dataplane is stopping");
	unsigned sent = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned w = dp_hold_worker(ids[i]);
		if (w >= app->workers) {
			res[i] = DP_END_NOT_FOUND;
			continue;
		}
		struct dpa_ctl_item it = {.hold_id = ids[i], .cookie = (uint32_t)i, .expire = (uint8_t)expire};
		int rc = rte_ring_sp_enqueue_elem(app->lc[w].ctl_in, &it, sizeof(it));
		assert(rc == 0);
		(void)rc;
		sent++;
	}
	int rc = collect(c, sent, res, wait);
	if (rc == 0)
		rc = wait_durable(c, wait);
	if (rc == -ETIMEDOUT || rc == -ESHUTDOWN)
		return ctl_wire_error("unavailable", "%s", rc == -ESHUTDOWN ? "the dataplane is stopping"
									   : "workers or storage did not answer in time");
	if (rc)
		return storage_error(rc, expire ? "expire" : "release");
	json_t *out = json_array();
	unsigned done = 0, busy = 0, unavail = 0;
	for (size_t i = 0; i < n; i++) {
		busy += res[i] == DP_END_BUSY;
		unavail += res[i] == DP_END_UNAVAILABLE;
		done += res[i] == DP_END_EXPIRED || res[i] == DP_END_RELEASED;
		json_array_append_new(out, json_string(dp_end_result_name(res[i])));
	}
	if (unavail || busy) {
		/* The others are done and durable; a retry answers them "ended". */
		json_decref(out);
		return unavail ? ctl_wire_error("unavailable", "storage has failed; %u of %zu holds ended", done, n)
			       : ctl_wire_error("busy", "%u of %zu holds met a full log ring; %u ended; retry", busy, n,
						done);
	}
	if (done)
		fprintf(stderr, "stampede-dataplane: operator %s: %u of %zu holds\n", expire ? "expire" : "release",
			done, n);
	return json_pack("{s:b, s:o}", "ok", 1, "results", out);
}

/* ---- dispatch ---- */

static json_t *dispatch(struct dpa_control *c, const json_t *req)
{
	struct dpa_app *app = c->app;
	json_t *cmdv = json_object_get(req, "cmd");
	if (!json_is_string(cmdv))
		return ctl_wire_error("bad_request", "cmd: %s", cmdv ? "expected a string" : "missing");
	const char *cmd = json_string_value(cmdv);
	if (strcmp(cmd, "hello") == 0)
		return dpa_json_hello(app);
	if (strcmp(cmd, "events") == 0)
		return dpa_json_events(app, app_now_ms(app));
	if (strcmp(cmd, "status") == 0) {
		json_t *err = NULL;
		long long ev = 0;
		if (ctl_wire_get_int(req, "event", 0, 1, UINT32_MAX, &ev, &err) == -EINVAL)
			return err;
		int rc;
		json_t *r = dpa_json_status(app, (uint32_t)ev, app_now_ms(app), &rc);
		return rc == -ENOENT ? ctl_wire_error("not_found", "event %lld is not loaded", ev) : r;
	}
	if (strcmp(cmd, "load") == 0)
		return cmd_load(c, req);
	if (strcmp(cmd, "queue") == 0)
		return cmd_queue(c, req);
	if (strcmp(cmd, "keys") == 0)
		return cmd_keys(c, req);
	if (strcmp(cmd, "presale") == 0)
		return cmd_presale(c, req);
	if (strcmp(cmd, "sale") == 0 || strcmp(cmd, "set") == 0 || strcmp(cmd, "expire") == 0 ||
	    strcmp(cmd, "release") == 0 || strcmp(cmd, "admit") == 0 || strcmp(cmd, "waiting-room") == 0) {
		int failed = st_env_failed(app->env);
		if (failed)
			return ctl_wire_error("unavailable", "storage has failed (%s): changes refused",
					      st_strerror(failed));
		if (strcmp(cmd, "sale") == 0)
			return cmd_sale(c, req);
		if (strcmp(cmd, "set") == 0)
			return cmd_set(c, req);
		if (strcmp(cmd, "admit") == 0)
			return cmd_admit(c, req);
		if (strcmp(cmd, "waiting-room") == 0)
			return cmd_waiting_room(c, req);
		return cmd_end_holds(c, req, strcmp(cmd, "expire") == 0);
	}
	return ctl_wire_error("unknown_command", "cmd \"%.64s\" is not a dataplane command", cmd);
}

/* Serve one readable connection: one request, one reply. Returns 0 to keep
 * it, -1 to close it. */
static int serve(struct dpa_control *c, int fd)
{
	json_t *req = NULL;
	int rc = ctl_wire_recv(fd, CTL_RECV_TIMEOUT_MS, &req);
	if (rc == -ECONNRESET)
		return -1; /* the peer closed */
	if (rc) {
		fprintf(stderr, "stampede-dataplane: control connection dropped: %s\n", strerror(-rc));
		return -1;
	}
	urcu_qsbr_thread_online();
	json_t *reply = dispatch(c, req);
	urcu_qsbr_thread_offline();
	json_decref(req);
	if (!reply)
		reply = ctl_wire_error("unavailable", "out of memory");
	rc = reply ? ctl_wire_send(fd, reply) : -ENOMEM;
	json_decref(reply);
	return rc ? -1 : 0;
}

static void *control_main(void *arg)
{
	struct dpa_control *c = arg;
	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
	uint64_t last_tick_ms = 0, last_flush_ms = 0, pending = 0;
	int last_tick_rc = 0, last_flush_rc = 0;
	while (!atomic_load(&c->stop)) {
		/* Presale redemptions: stored at most every DP_PRESALE_FLUSH_MS
		 * while any is pending, then marked durable (answered ok). */
		if (mono_ms() - last_flush_ms >= DP_PRESALE_FLUSH_MS) {
			urcu_qsbr_thread_online();
			pending = dp_presale_pending(c->app->eng);
			int frc = 0;
			if (pending) {
				last_flush_ms = mono_ms();
				frc = dp_presale_flush(c->app->eng, &pending);
			}
			urcu_qsbr_thread_offline();
			if (frc && frc != last_flush_rc)
				fprintf(stderr, "stampede-dataplane: presale redemptions: %s (retried every %u ms)\n",
					st_strerror(frc), DP_PRESALE_FLUSH_MS);
			last_flush_rc = frc;
		}
		if (mono_ms() - last_tick_ms >= CTL_QUEUE_TICK_MS) {
			last_tick_ms = mono_ms();
			urcu_qsbr_thread_online();
			int trc = dp_queue_tick(c->app->eng, app_now_ms(c->app));
			urcu_qsbr_thread_offline();
			if (trc && trc != last_tick_rc)
				fprintf(stderr, "stampede-dataplane: waiting room: %s (retried every %d ms)\n",
					st_strerror(trc), CTL_QUEUE_TICK_MS);
			last_tick_rc = trc;
		}
		struct pollfd pf[1 + DPA_CTL_CLIENTS_MAX];
		int slot_of[1 + DPA_CTL_CLIENTS_MAX];
		nfds_t n = 0;
		pf[n++] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
		for (int i = 0; i < DPA_CTL_CLIENTS_MAX; i++)
			if (c->fds[i] >= 0) {
				slot_of[n] = i;
				pf[n++] = (struct pollfd){.fd = c->fds[i], .events = POLLIN};
			}
		/* Wake every DP_PRESALE_FLUSH_MS: workers do not signal new
		 * redemptions, so the thread looks (dp_presale_pending scans the
		 * catalog, at most DP_EVENTS_MAX events). */
		if (poll(pf, n, (int)DP_PRESALE_FLUSH_MS) <= 0)
			continue;
		for (nfds_t k = 1; k < n; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int i = slot_of[k];
			if (serve(c, c->fds[i]) != 0) {
				close(c->fds[i]);
				c->fds[i] = -1;
			}
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			int i = 0;
			while (i < DPA_CTL_CLIENTS_MAX && c->fds[i] >= 0)
				i++;
			if (i == DPA_CTL_CLIENTS_MAX) {
				json_t *e = ctl_wire_error("busy", "%d control connections open already",
							   DPA_CTL_CLIENTS_MAX);
				if (e)
					ctl_wire_send(fd, e);
				json_decref(e);
				close(fd);
			} else {
				c->fds[i] = fd;
			}
		}
	}
	urcu_qsbr_thread_online();
	urcu_qsbr_unregister_thread();
	return NULL;
}

int dpa_control_start(struct dpa_app *app)
{
	app->ctl = NULL;
	if (strcmp(app->set.control_socket, "none") == 0)
		return 0;
	struct dpa_control *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->app = app;
	for (int i = 0; i < DPA_CTL_CLIENTS_MAX; i++)
		c->fds[i] = -1;
	snprintf(c->path, sizeof(c->path), "%s", app->set.control_socket);
	c->lfd = ctl_wire_listen(c->path);
	if (c->lfd < 0) {
		int rc = c->lfd;
		free(c);
		return rc;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	cpu_set_t spare;
	dpa_spare_cpus(&spare);
	if (CPU_COUNT(&spare) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(spare), &spare);
	int rc = pthread_create(&c->thread, &attr, control_main, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		close(c->lfd);
		unlink(c->path);
		free(c);
		return -rc;
	}
	pthread_setname_np(c->thread, "dpa_control");
	app->ctl = c;
	printf("stampede-dataplane: control socket %s\n", c->path);
	return 0;
}

void dpa_control_stop(struct dpa_app *app)
{
	struct dpa_control *c = app->ctl;
	if (!c)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thread, NULL);
	for (int i = 0; i < DPA_CTL_CLIENTS_MAX; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	close(c->lfd);
	unlink(c->path);
	free(c);
	app->ctl = NULL;
}
