/*
 * ctl_commands.c - the control socket's commands (docs/control.md, "Control
 * socket"): each request is checked completely before anything is sent or
 * changed; a bad one gets `bad_request` naming the field. Commands that need
 * the dataplane answer `unreachable` while it is down; holds, release-holds
 * and export select from the ledger (the durable log), not the dataplane.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_control.h"

/* The `unreachable` reply naming the dataplane socket. */
static json_t *ctl_unreachable(const struct ctl_app *app)
{
	return ctl_wire_error("unreachable", "the dataplane socket %s does not answer", app->dp.path);
}

/* Forward req (stolen) to the dataplane; its reply, or `unreachable`. */
static json_t *ctl_forward(struct ctl_app *app, json_t *req, int timeout_ms)
{
	if (req == NULL)
		return NULL;
	json_t *reply = NULL;
	int rc = ctl_dp_call(&app->dp, req, timeout_ms, &reply);
	json_decref(req);
	return rc == 0 ? reply : ctl_unreachable(app);
}

/* The ledger, synced now; NULL and *err_reply when the data directory is
 * unreadable or the log cannot be followed to its end. */
static struct ctl_ledger *ctl_fresh_ledger(struct ctl_app *app, json_t **err_reply)
{
	if (!ctl_ledger_sync(app) || app->ledger_stuck) {
		*err_reply = ctl_wire_error("unavailable", "the data directory %s cannot be read: %s", app->data_dir,
					    app->ledger_err);
		return NULL;
	}
	return app->ledger;
}

/* Optional or required "event" (1..UINT32_MAX). 0 when absent. */
static int ctl_get_event(const json_t *req, int required, uint32_t *event_id, json_t **err_reply)
{
	long long v = 0;
	int rc = ctl_wire_get_int(req, "event", required, 1, UINT32_MAX, &v, err_reply);
	if (rc == -EINVAL || (rc == -ENOENT && required))
		return -EINVAL;
	*event_id = (uint32_t)v;
	return 0;
}

/* Check event (and section) against the ledger's definitions. NULL: known. */
static json_t *ctl_check_known(const struct ctl_ledger *l, uint32_t event_id, uint32_t part_id)
{
	if (event_id != 0 && ctl_ledger_event(l, event_id) == NULL)
		return ctl_wire_error("not_found", "event %u is not loaded", event_id);
	if (part_id != 0 && ctl_ledger_part_name(l, event_id, part_id) == NULL)
		return ctl_wire_error("not_found", "event %u has no section or type %u", event_id, part_id);
	return NULL;
}

/* ---- status ---------------------------------------------------------------------- */

/* status {event?}: the dataplane's status plus rates, waiting-room fields
 * (ctl_pacing.c's view from the latest `queue`) and `control`. */
static json_t *ctl_cmd_status(struct ctl_app *app, const json_t *req)
{
	json_t *err = NULL;
	uint32_t event_id = 0;
	if (ctl_get_event(req, 0, &event_id, &err) != 0)
		return err;
	json_t *fwd = json_pack("{s:s}", "cmd", "status");
	if (fwd && event_id)
		json_object_set_new(fwd, "event", json_integer(event_id));
	json_t *reply = ctl_forward(app, fwd, CTL_DP_TIMEOUT_MS);
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok")))
		return reply;
	uint64_t now_ms = ctl_mono_ms();
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(reply, "events"), i, ev)
	{
		if (!json_is_object(ev))
			continue;
		uint32_t id = (uint32_t)json_integer_value(json_object_get(ev, "id"));
		uint64_t requests = (uint64_t)json_integer_value(json_object_get(ev, "requests"));
		json_object_set_new(ev, "requests_per_s", json_real(ctl_rate(app, id, requests, now_ms)));
		/* From the latest `queue` answer (zeros and "off" without one). */
		const struct ctl_room *room = ctl_pace_room(app, id);
		json_object_set_new(ev, "queue_length", json_integer(room ? (json_int_t)ctl_room_queue_length(room) : 0));
		json_object_set_new(ev, "admitted", json_integer(room ? (json_int_t)room->admitted : 0));
		json_object_set_new(ev, "active_shoppers", json_integer(room ? (json_int_t)room->active_shoppers : 0));
		json_object_set_new(ev, "waiting_room", json_string(ctl_room_state(room)));
	}
	struct ctl_ledger_stats st;
	memset(&st, 0, sizeof(st));
	if (app->ledger)
		ctl_ledger_stats(app->ledger, &st);
	uint64_t lag_ms = app->last_sweep_ms ? now_ms - app->last_sweep_ms : 0;
	json_object_set_new(reply, "control",
			    json_pack("{s:I,s:I,s:I,s:I,s:{s:b,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I}}", "pid",
				      (json_int_t)getpid(), "sweeps", (json_int_t)app->sweeps, "expired_total",
				      (json_int_t)app->expired_total, "lag_ms", (json_int_t)lag_ms, "ledger",
				      "open", app->ledger != NULL, "holds_live", (json_int_t)st.holds_live, "orders",
				      (json_int_t)st.orders, "records", (json_int_t)st.records, "last_batch",
				      (json_int_t)st.last_batch, "events", (json_int_t)st.events, "ended_unknown",
				      (json_int_t)st.ended_unknown, "expire", "not_due",
				      (json_int_t)app->expire_not_due, "ended", (json_int_t)app->expire_ended,
				      "not_found", (json_int_t)app->expire_not_found, "failed_msgs",
				      (json_int_t)app->expire_failed_msgs));
	return reply;
}

/* ---- load, sale, set --------------------------------------------------------------- */

/* load {name, inventory, members?}: forwarded (members, the presale member
 * lists, as they came: the dataplane checks them), then the ledger re-reads
 * definitions. */
static json_t *ctl_cmd_load(struct ctl_app *app, const json_t *req)
{
	const json_t *name = json_object_get(req, "name");
	const json_t *inv = json_object_get(req, "inventory");
	const json_t *members = json_object_get(req, "members");
	if (!json_is_string(name))
		return ctl_wire_error("bad_request", "name: %s", name ? "must be a string" : "missing");
	if (!json_is_string(inv))
		return ctl_wire_error("bad_request", "inventory: %s", inv ? "must be a string" : "missing");
	if (members && !json_is_array(members))
		return ctl_wire_error("bad_request", "members: must be an array of {file, text}");
	json_t *fwd = json_pack("{s:s,s:O,s:O}", "cmd", "load", "name", name, "inventory", inv);
	if (fwd && members && json_object_set(fwd, "members", (json_t *)members) != 0) {
		json_decref(fwd);
		fwd = NULL;
	}
	json_t *reply = ctl_forward(app, fwd, CTL_DP_LOAD_TIMEOUT_MS);
	ctl_ledger_sync(app); /* pick up the new definitions at once */
	return reply;
}

/* open/pause/close {event}: forwarded as `sale` with action (a static string). */
static json_t *ctl_cmd_sale(struct ctl_app *app, const json_t *req, const char *action)
{
	json_t *err = NULL;
	uint32_t event_id = 0;
	if (ctl_get_event(req, 1, &event_id, &err) != 0)
		return err;
	return ctl_forward(app, json_pack("{s:s,s:I,s:s}", "cmd", "sale", "event", (json_int_t)event_id, "action", action),
			   CTL_DP_TIMEOUT_MS);
}

/* set {event, max_active_shoppers?, admission_per_s?}: at least one value, 0..CTL_SET_VALUE_MAX. */
static json_t *ctl_cmd_set(struct ctl_app *app, const json_t *req)
{
	json_t *err = NULL;
	uint32_t event_id = 0;
	if (ctl_get_event(req, 1, &event_id, &err) != 0)
		return err;
	json_t *fwd = json_pack("{s:s,s:I}", "cmd", "set", "event", (json_int_t)event_id);
	static const char *const keys[] = {"max_active_shoppers", "admission_per_s"};
	int given = 0;
	for (unsigned k = 0; k < 2; k++) {
		long long v;
		int rc = ctl_wire_get_int(req, keys[k], 0, 0, CTL_SET_VALUE_MAX, &v, &err);
		if (rc == -EINVAL) {
			json_decref(fwd);
			return err;
		}
		if (rc == 0) {
			given++;
			json_object_set_new(fwd, keys[k], json_integer(v));
		}
	}
	if (given == 0) {
		json_decref(fwd);
		return ctl_wire_error("bad_request", "max_active_shoppers or admission_per_s: one of them is required");
	}
	return ctl_forward(app, fwd, CTL_DP_TIMEOUT_MS);
}

/* presale {event, codes?}: the event's presale windows and redemptions, the
 * dataplane's reply as it comes (docs/waiting-room.md, "Presale windows"). */
static json_t *ctl_cmd_presale(struct ctl_app *app, const json_t *req)
{
	json_t *err = NULL;
	uint32_t event_id = 0;
	if (ctl_get_event(req, 1, &event_id, &err) != 0)
		return err;
	const json_t *codes = json_object_get(req, "codes");
	if (codes && !json_is_boolean(codes))
		return ctl_wire_error("bad_request", "codes: must be a boolean");
	json_t *fwd = json_pack("{s:s,s:I}", "cmd", "presale", "event", (json_int_t)event_id);
	if (fwd && json_is_true(codes))
		json_object_set_new(fwd, "codes", json_true());
	return ctl_forward(app, fwd, CTL_DP_TIMEOUT_MS);
}

/* keys-reload {}: the dataplane reads its keys-file again; its reply as it
 * comes (keys, current; `invalid` with the loader's line; `unreachable`). */
static json_t *ctl_cmd_keys_reload(struct ctl_app *app)
{
	return ctl_forward(app, json_pack("{s:s,s:s}", "cmd", "keys", "action", "reload"), CTL_DP_TIMEOUT_MS);
}

/* ---- holds and release-holds --------------------------------------------------------- */

/* The filter of holds/release-holds: event, section, older_than_ms. */
static json_t *ctl_get_filter(const json_t *req, int event_required, struct ctl_hold_filter *f)
{
	json_t *err = NULL;
	memset(f, 0, sizeof(*f));
	if (ctl_get_event(req, event_required, &f->event_id, &err) != 0)
		return err;
	long long v = 0;
	int rc = ctl_wire_get_int(req, "section", 0, 1, UINT32_MAX, &v, &err);
	if (rc == -EINVAL)
		return err;
	if (rc == 0 && f->event_id == 0)
		return ctl_wire_error("bad_request", "section: needs event");
	f->part_id = rc == 0 ? (uint32_t)v : 0;
	v = 0;
	rc = ctl_wire_get_int(req, "older_than_ms", 0, 0, CTL_AGE_MS_MAX, &v, &err);
	if (rc == -EINVAL)
		return err;
	f->older_than_ms = (uint64_t)v;
	f->now_ms = ctl_wall_ms();
	return NULL;
}

struct ctl_holds_out {
	const struct ctl_ledger *l;
	json_t *arr;
	size_t total;
	size_t limit;
};

/* One `holds` row into ctx (struct ctl_holds_out), counting all, keeping `limit`. */
static int ctl_holds_row(void *ctx, const struct ctl_hold *h)
{
	struct ctl_holds_out *o = ctx;
	o->total++;
	if (json_array_size(o->arr) >= o->limit)
		return 0;
	json_t *items = json_array();
	for (unsigned i = 0; items && i < h->n_items; i++)
		json_array_append_new(items, json_integer(h->items[i]));
	const char *part_name = ctl_ledger_part_name(o->l, h->event_id, h->part_id);
	json_t *row = json_pack("{s:I,s:I,s:I,s:o,s:s,s:I,s:i,s:o,s:I,s:I}", "hold_id", (json_int_t)h->hold_id,
				"event", (json_int_t)h->event_id, "part", (json_int_t)h->part_id, "part_name",
				part_name ? json_string(part_name) : json_null(), "kind",
				h->kind == ST_KIND_GA ? "ga" : "seat", "client_id", (json_int_t)h->client_id,
				"tickets", (int)h->n_items, "items", items, "created_ms", (json_int_t)h->created_ms,
				"expiry_ms", (json_int_t)h->expiry_ms);
	if (row == NULL || json_array_append_new(o->arr, row) != 0)
		return -ENOMEM;
	return 0;
}

/* holds {event?, section?, older_than_ms?, limit?}: live holds from the ledger. */
static json_t *ctl_cmd_holds(struct ctl_app *app, const json_t *req)
{
	struct ctl_hold_filter f;
	json_t *err = ctl_get_filter(req, 0, &f);
	if (err != NULL)
		return err;
	long long limit = CTL_HOLDS_LIMIT_DEFAULT;
	if (ctl_wire_get_int(req, "limit", 0, 1, CTL_HOLDS_LIMIT_MAX, &limit, &err) == -EINVAL)
		return err;
	struct ctl_ledger *l = ctl_fresh_ledger(app, &err);
	if (l == NULL)
		return err;
	if ((err = ctl_check_known(l, f.event_id, f.part_id)) != NULL)
		return err;
	struct ctl_holds_out o = {.l = l, .arr = json_array(), .limit = (size_t)limit};
	if (o.arr == NULL || ctl_ledger_holds(l, &f, ctl_holds_row, &o) != 0) {
		json_decref(o.arr);
		return ctl_wire_error("unavailable", "out of memory");
	}
	return json_pack("{s:b,s:o,s:I}", "ok", 1, "holds", o.arr, "total", (json_int_t)o.total);
}

struct ctl_ids {
	uint64_t *ids;
	size_t n, cap;
};

/* Collect a hold id into ctx (struct ctl_ids). 0 or -ENOMEM. */
static int ctl_ids_add(void *ctx, const struct ctl_hold *h)
{
	struct ctl_ids *s = ctx;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : CTL_HOLDS_PER_MSG_MAX;
		uint64_t *p = realloc(s->ids, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		s->ids = p;
		s->cap = cap;
	}
	s->ids[s->n++] = h->hold_id;
	return 0;
}

/* Send one `release` of ids; add the answers to the counts. 0 or -ENOTCONN/-EPROTO. */
static int ctl_release_chunk(struct ctl_app *app, const uint64_t *ids, size_t n, json_t *released,
			     size_t counts[2], json_t **refusal)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_integer((json_int_t)ids[i]));
	json_t *req = json_pack("{s:s,s:o}", "cmd", "release", "holds", arr);
	json_t *reply = NULL;
	int rc = req ? ctl_dp_call(&app->dp, req, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(req);
	if (rc != 0)
		return -ENOTCONN;
	json_t *results = json_object_get(reply, "results");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_array(results) || json_array_size(results) != n) {
		*refusal = reply; /* the dataplane's own error, passed on */
		return -EPROTO;
	}
	for (size_t i = 0; i < n; i++) {
		const char *r = json_string_value(json_array_get(results, i));
		if (r && strcmp(r, "released") == 0) {
			counts[0]++;
			json_array_append_new(released, json_integer((json_int_t)ids[i]));
		} else {
			counts[1]++; /* ended meanwhile (or unknown to the dataplane) */
		}
	}
	json_decref(reply);
	return 0;
}

/* release-holds {event | all, section?, older_than_ms?}: select from the
 * ledger, send `release` in chunks, count what the dataplane answered. */
static json_t *ctl_cmd_release_holds(struct ctl_app *app, const json_t *req)
{
	const json_t *all = json_object_get(req, "all");
	if (all != NULL && !json_is_true(all))
		return ctl_wire_error("bad_request", "all: must be true when given");
	if (all != NULL && json_object_get(req, "event") != NULL)
		return ctl_wire_error("bad_request", "all: give either event or all");
	struct ctl_hold_filter f;
	json_t *err = ctl_get_filter(req, all == NULL, &f);
	if (err != NULL)
		return err;
	struct ctl_ledger *l = ctl_fresh_ledger(app, &err);
	if (l == NULL)
		return err;
	if ((err = ctl_check_known(l, f.event_id, f.part_id)) != NULL)
		return err;
	if (!ctl_dp_up(&app->dp)) {
		json_t *probe = NULL; /* connect now if the backoff allows */
		json_t *hello = json_pack("{s:s}", "cmd", "hello");
		int rc = hello ? ctl_dp_call(&app->dp, hello, CTL_DP_TIMEOUT_MS, &probe) : -ENOMEM;
		json_decref(hello);
		json_decref(probe);
		if (rc != 0)
			return ctl_unreachable(app);
	}
	struct ctl_ids sel = {0};
	if (ctl_ledger_holds(l, &f, ctl_ids_add, &sel) != 0) {
		free(sel.ids);
		return ctl_wire_error("unavailable", "out of memory");
	}
	json_t *released = json_array();
	size_t counts[2] = {0, 0};
	json_t *refusal = NULL;
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < sel.n; off += CTL_HOLDS_PER_MSG_MAX) {
		size_t n = sel.n - off < CTL_HOLDS_PER_MSG_MAX ? sel.n - off : CTL_HOLDS_PER_MSG_MAX;
		rc = ctl_release_chunk(app, sel.ids + off, n, released, counts, &refusal);
	}
	free(sel.ids);
	app->released_total += counts[0];
	ctl_ledger_sync(app); /* the releases are durable: show them in `holds` at once */
	if (rc == -EPROTO && counts[0] == 0 && counts[1] == 0) {
		json_decref(released);
		return refusal;
	}
	json_decref(refusal);
	if (rc == -ENOTCONN && counts[0] == 0 && counts[1] == 0) {
		json_decref(released);
		return ctl_unreachable(app);
	}
	json_t *reply = json_pack("{s:b,s:I,s:I,s:o}", "ok", 1, "released", (json_int_t)counts[0], "ended",
				  (json_int_t)counts[1], "holds", released);
	if (reply && rc != 0) /* part was done before the dataplane stopped answering */
		json_object_set_new(reply, "incomplete", json_true());
	return reply;
}

/* ---- export ----------------------------------------------------------------------------- */

/* One export row as JSON appended to ctx (a JSON array). 0 or -ENOMEM. */
static int ctl_export_row_json(void *ctx, const struct ctl_export_row *r)
{
	json_t *arr = ctx;
	bool seat = r->kind == ST_KIND_SEAT;
	json_t *row = json_pack(
		"{s:I,s:I,s:I,s:I,s:o,s:s,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:I}", "order_id", (json_int_t)r->order_id,
		"hold_id", (json_int_t)r->hold_id, "event", (json_int_t)r->event_id, "part", (json_int_t)r->part_id,
		"part_name", r->part_name ? json_string(r->part_name) : json_null(), "kind", seat ? "seat" : "ga",
		"row", seat && r->row ? json_string(r->row) : json_null(), "seat",
		seat && r->item_known ? json_integer(r->seat) : json_null(), "serial",
		seat ? json_null() : json_integer(r->serial), "client_id", (json_int_t)r->client_id, "tier",
		r->tier_known ? json_integer(r->tier) : json_null(), "tier_name",
		r->tier_name ? json_string(r->tier_name) : json_null(), "price_cents",
		r->tier_name ? json_integer(r->price_cents) : json_null(), "time_ms", (json_int_t)r->time_ms);
	if (row == NULL || json_array_append_new(arr, row) != 0)
		return -ENOMEM;
	return 0;
}

/* export {event?}: one row per ticket of every order in the durable log. */
static json_t *ctl_cmd_export(struct ctl_app *app, const json_t *req)
{
	json_t *err = NULL;
	uint32_t event_id = 0;
	if (ctl_get_event(req, 0, &event_id, &err) != 0)
		return err;
	struct ctl_ledger *l = ctl_fresh_ledger(app, &err);
	if (l == NULL)
		return err;
	if ((err = ctl_check_known(l, event_id, 0)) != NULL)
		return err;
	json_t *arr = json_array();
	if (arr == NULL || ctl_ledger_export(l, event_id, ctl_export_row_json, arr) != 0) {
		json_decref(arr);
		return ctl_wire_error("unavailable", "out of memory");
	}
	return json_pack("{s:b,s:o}", "ok", 1, "tickets", arr);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Dispatch one request (any JSON object) by its `cmd`. */
json_t *ctl_handle(struct ctl_app *app, const json_t *req)
{
	const json_t *cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd))
		return ctl_wire_error("bad_request", "cmd: %s", cmd ? "must be a string" : "missing");
	const char *c = json_string_value(cmd);
	if (strcmp(c, "status") == 0)
		return ctl_cmd_status(app, req);
	if (strcmp(c, "events") == 0)
		return ctl_forward(app, json_pack("{s:s}", "cmd", "events"), CTL_DP_TIMEOUT_MS);
	if (strcmp(c, "load") == 0)
		return ctl_cmd_load(app, req);
	if (strcmp(c, "open") == 0 || strcmp(c, "pause") == 0 || strcmp(c, "close") == 0)
		return ctl_cmd_sale(app, req, c);
	if (strcmp(c, "set") == 0)
		return ctl_cmd_set(app, req);
	if (strcmp(c, "keys-reload") == 0)
		return ctl_cmd_keys_reload(app);
	if (strcmp(c, "presale") == 0)
		return ctl_cmd_presale(app, req);
	if (strcmp(c, "release-holds") == 0)
		return ctl_cmd_release_holds(app, req);
	if (strcmp(c, "holds") == 0)
		return ctl_cmd_holds(app, req);
	if (strcmp(c, "export") == 0)
		return ctl_cmd_export(app, req);
	return ctl_wire_error("unknown_command", "unknown command '%.64s'", c);
}
