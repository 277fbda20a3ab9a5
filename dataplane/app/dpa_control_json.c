/*
 * dpa_control_json.c - the JSON bodies of the control socket's read-only
 * replies (`hello`, `events`, `status`: docs/control.md), built on the
 * control thread from engine readers, the workers' single-writer counters
 * and the storage statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_wire.h"
#include "dataplane/app/dpa.h"
#include "dataplane/dp_codec.h"

uint64_t dpa_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* counts: ST_HIST_BUCKETS of them; sum_key names the sum ("sum_us", "sum"). */
json_t *dpa_json_hist(const uint64_t *counts, uint64_t sum, const char *sum_key)
{
	json_t *le = json_array(), *cn = json_array();
	uint64_t n = 0;
	for (unsigned i = 0; i < ST_HIST_BUCKETS; i++) {
		json_array_append_new(le, i + 1 < ST_HIST_BUCKETS ? json_integer((json_int_t)ST_HIST_LE(i)) : json_null());
		json_array_append_new(cn, json_integer((json_int_t)counts[i]));
		n += counts[i];
	}
	return json_pack("{s:o, s:o, s:I, s:I}", "le", le, "counts", cn, sum_key, (json_int_t)sum, "count",
			 (json_int_t)n);
}

json_t *dpa_json_hello(const struct dpa_app *app)
{
	return json_pack("{s:b, s:i, s:i, s:i, s:s, s:I, s:s}", "ok", 1, "version", CTL_WIRE_VERSION, "workers",
			 (int)app->workers, "pid", (int)getpid(), "sync", app->set.nosync ? "none" : "full",
			 "started_ms", (json_int_t)app->base_ms, "data_dir", app->set.data_dir);
}

static json_t *parts_json(const struct dp_event_def *d)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < d->n_sections; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)d->sections[i].id, "name",
						   d->sections[i].name, "kind", "seat", "capacity",
						   (json_int_t)d->sections[i].n_seats));
	for (uint32_t i = 0; i < d->n_ga; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)d->ga[i].id, "name",
						   d->ga[i].name, "kind", "ga", "capacity",
						   (json_int_t)d->ga[i].capacity));
	return a;
}

/* One event of `events`, or NULL if it vanished or on ENOMEM. */
static json_t *event_json(struct dpa_app *app, uint32_t id, uint64_t now_ms)
{
	struct dp_event_def *d;
	struct dp_sale_view sv;
	struct dp_part_counts pc;
	if (dp_event_def_get(app->eng, id, &d) != 0)
		return NULL;
	json_t *o = NULL;
	if (dp_event_sale_get(app->eng, id, now_ms, &sv) == 0 && dp_event_counts_get(app->eng, id, &pc) == 0)
		o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "id", (json_int_t)id, "name", d->name, "state",
			      dp_sale_state_name(sv.state), "on_sale_ms", (json_int_t)sv.on_sale_ms, "hold_ttl_ms",
			      (json_int_t)d->hold_ttl_ms, "buyer_limit", (json_int_t)d->buyer_limit, "capacity",
			      (json_int_t)pc.capacity, "parts", parts_json(d));
	dp_event_def_free(d);
	return o;
}

json_t *dpa_json_events(struct dpa_app *app, uint64_t now_ms)
{
	uint32_t ids[DP_EVENTS_MAX];
	uint32_t n = dp_engine_event_ids(app->eng, ids, DP_EVENTS_MAX);
	json_t *a = json_array();
	for (uint32_t i = 0; i < n && i < DP_EVENTS_MAX; i++) {
		json_t *e = event_json(app, ids[i], now_ms);
		if (e)
			json_array_append_new(a, e);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "events", a);
}

/* One event of `status`. */
static json_t *event_status_json(struct dpa_app *app, uint32_t id, uint64_t now_ms)
{
	struct dp_event_def *d;
	struct dp_sale_view sv;
	struct dp_part_counts pc;
	struct dp_event_stats es;
	if (dp_event_def_get(app->eng, id, &d) != 0)
		return NULL;
	json_t *o = NULL;
	if (dp_event_sale_get(app->eng, id, now_ms, &sv) == 0 && dp_event_counts_get(app->eng, id, &pc) == 0 &&
	    dp_event_stats_get(app->eng, id, &es) == 0) {
		json_t *st = json_object();
		for (int s = 0; s < DP_S__COUNT; s++)
			json_object_set_new(st, dp_status_name(s), json_integer((json_int_t)es.status[s]));
		o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "id", (json_int_t)id,
			      "name", d->name, "state", dp_sale_state_name(sv.state), "on_sale_ms",
			      (json_int_t)sv.on_sale_ms, "capacity", (json_int_t)pc.capacity, "free", (json_int_t)pc.free,
			      "held", (json_int_t)pc.held, "sold", (json_int_t)pc.sold, "withheld", (json_int_t)pc.withheld,
			      "requests", (json_int_t)es.requests, "statuses", st, "max_active_shoppers",
			      (json_int_t)sv.max_active_shoppers, "admission_per_s", (json_int_t)sv.admission_per_s);
	}
	dp_event_def_free(d);
	return o;
}

static json_t *workers_json(struct dpa_app *app, uint64_t *lat_total, uint64_t *lat_sum)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < app->workers; i++) {
		/* Single-writer counters: a value may be a loop turn old, never
		 * torn (aligned 64-bit loads). */
		const struct dpa_counters *c = &app->lc[i].c;
		uint64_t lat[ST_HIST_BUCKETS];
		for (unsigned b = 0; b < ST_HIST_BUCKETS; b++) {
			lat[b] = c->latency_us[b];
			lat_total[b] += lat[b];
		}
		*lat_sum += c->latency_sum_us;
		json_array_append_new(
			a, json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "worker", (int)i, "requests",
				     (json_int_t)c->requests, "rx_pkts", (json_int_t)c->rx_pkts, "tx_pkts",
				     (json_int_t)c->tx_pkts, "busy_backlog", (json_int_t)c->busy_backlog, "malformed",
				     (json_int_t)c->malformed, "not_stampede", (json_int_t)c->not_stampede, "handoffs_in",
				     (json_int_t)c->handoffs_in, "handoffs_out", (json_int_t)c->handoffs_out, "ctl_items",
				     (json_int_t)c->ctl_items, "tx_dropped", (json_int_t)c->tx_dropped, "mbuf_alloc_failed",
				     (json_int_t)c->mbuf_alloc_failed, "handoff_full", (json_int_t)c->handoff_full,
				     "pending_max_seen", (json_int_t)c->pending_max_seen, "latency_us", dpa_json_hist(lat, c->latency_sum_us, "sum_us")));
	}
	return a;
}

json_t *dpa_json_status(struct dpa_app *app, uint32_t event_id, uint64_t now_ms, int *err)
{
	*err = 0;
	json_t *evs = json_array();
	if (event_id) {
		json_t *e = event_status_json(app, event_id, now_ms);
		if (!e) {
			json_decref(evs);
			*err = -ENOENT;
			return NULL;
		}
		json_array_append_new(evs, e);
	} else {
		uint32_t ids[DP_EVENTS_MAX];
		uint32_t n = dp_engine_event_ids(app->eng, ids, DP_EVENTS_MAX);
		for (uint32_t i = 0; i < n && i < DP_EVENTS_MAX; i++) {
			json_t *e = event_status_json(app, ids[i], now_ms);
			if (e)
				json_array_append_new(evs, e);
		}
	}
	uint64_t lat[ST_HIST_BUCKETS] = {0}, lat_sum = 0;
	json_t *workers = workers_json(app, lat, &lat_sum);
	struct st_stats ss;
	st_env_stats(app->env, &ss);
	json_t *storage = json_pack("{s:I, s:I, s:I, s:o, s:o}", "batches", (json_int_t)ss.batches, "records",
				    (json_int_t)ss.records, "bytes", (json_int_t)ss.bytes, "commit_us",
				    dpa_json_hist(ss.commit_us.counts, ss.commit_us.sum, "sum_us"), "batch_records",
				    dpa_json_hist(ss.batch_records.counts, ss.batch_records.sum, "sum"));
	return json_pack("{s:b, s:I, s:I, s:s, s:b, s:o, s:o, s:o, s:o}", "ok", 1, "now_ms", (json_int_t)now_ms,
			 "started_ms", (json_int_t)app->base_ms, "sync", app->set.nosync ? "none" : "full",
			 "storage_failed", st_env_failed(app->env) != 0, "events", evs, "workers", workers,
			 "latency_us", dpa_json_hist(lat, lat_sum, "sum_us"), "storage", storage);
}
