/*
 * dpa_telemetry.c - rte_telemetry commands, readable with DPDK's own
 * dpdk-telemetry.py (connect with -f PREFIX when --file-prefix is used):
 *
 *   /stampede/stats    totals over all workers: packets, requests, statuses,
 *                      drops and refusals by reason, request latency
 *                      histogram (latency_us_le_*), storage batches
 *   /stampede/lcores   the same per worker lcore
 *   /stampede/event    ,ID: capacity, free, held, sold of one event
 *
 * Callbacks run on the telemetry thread and read single-writer counters;
 * a value may be a loop turn old, never torn (aligned 64-bit loads on x86).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/app/dpa.h"

static struct dpa_app *g_app;

#define COUNTERS(X)                                                                                            \
	X(rx_pkts) X(tx_pkts) X(tx_dropped) X(arp_replies) X(icmp_replies) X(not_ours) X(not_stampede)        \
	X(malformed) X(requests) X(handoffs_out) X(handoffs_in) X(handoff_full) X(busy_backlog)             \
	X(mbuf_alloc_failed) X(pending_max_seen) X(loops) X(ctl_items) X(latency_sum_us)

static void add_counters(struct rte_tel_data *d, const struct dpa_counters *c)
{
#define ADD(f) rte_tel_data_add_dict_u64(d, #f, c->f);
	COUNTERS(ADD)
#undef ADD
	for (int s = 0; s < DP_S__COUNT; s++) {
		char name[48];
		snprintf(name, sizeof(name), "status_%s", dp_status_name(s));
		rte_tel_data_add_dict_u64(d, name, c->status[s]);
	}
	/* Request latency histogram: latency_us_le_N counts requests answered
	 * in (N/2, N] microseconds; latency_us_le_inf the rest. */
	for (unsigned b = 0; b < ST_HIST_BUCKETS; b++) {
		char name[48];
		if (b + 1 < ST_HIST_BUCKETS)
			snprintf(name, sizeof(name), "latency_us_le_%llu", (unsigned long long)ST_HIST_LE(b));
		else
			snprintf(name, sizeof(name), "latency_us_le_inf");
		rte_tel_data_add_dict_u64(d, name, c->latency_us[b]);
	}
}

static void sum_counters(struct dpa_counters *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < g_app->workers; i++) {
		const struct dpa_counters *c = &g_app->lc[i].c;
#define SUM(f) t->f += c->f;
		COUNTERS(SUM)
#undef SUM
		for (int s = 0; s < DP_S__COUNT; s++)
			t->status[s] += c->status[s];
		for (unsigned b = 0; b < ST_HIST_BUCKETS; b++)
			t->latency_us[b] += c->latency_us[b];
	}
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dpa_counters t;
	sum_counters(&t);
	rte_tel_data_start_dict(d);
	add_counters(d, &t);
	rte_tel_data_add_dict_u64(d, "workers", g_app->workers);
	struct st_stats ss;
	st_env_stats(g_app->env, &ss);
	rte_tel_data_add_dict_u64(d, "storage_batches", ss.batches);
	rte_tel_data_add_dict_u64(d, "storage_records", ss.records);
	rte_tel_data_add_dict_u64(d, "storage_commit_us_mean", ss.batches ? ss.commit_ns_total / ss.batches / 1000 : 0);
	rte_tel_data_add_dict_u64(d, "storage_commit_us_max", ss.commit_ns_max / 1000);
	rte_tel_data_add_dict_u64(d, "storage_failed", st_env_failed(g_app->env) != 0);
	rte_tel_data_add_dict_string(d, "sync", g_app->set.nosync ? "none (benchmark mode)" : "full");
	return 0;
}

static int cmd_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < g_app->workers; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		if (!c)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_u64(c, "lcore", g_app->lc[i].lcore_id);
		rte_tel_data_add_dict_u64(c, "pending", g_app->lc[i].pend_n);
		add_counters(c, &g_app->lc[i].c);
		char name[32];
		snprintf(name, sizeof(name), "worker%u", i);
		rte_tel_data_add_dict_container(d, name, c, 0);
	}
	return 0;
}

static int cmd_event(const char *cmd, const char *params, struct rte_tel_data *d)
{
	if (!params || !*params)
		return -EINVAL;
	char *end;
	unsigned long id = strtoul(params, &end, 10);
	if (*end || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	struct dp_part_counts c;
	/* The telemetry thread reads the catalog as an RCU reader. */
	urcu_qsbr_register_thread();
	urcu_qsbr_read_lock();
	int rc = dp_event_counts_get(g_app->eng, (uint32_t)id, &c);
	urcu_qsbr_read_unlock();
	urcu_qsbr_unregister_thread();
	if (rc)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "event", id);
	rte_tel_data_add_dict_u64(d, "capacity", c.capacity);
	rte_tel_data_add_dict_u64(d, "withheld", c.withheld);
	rte_tel_data_add_dict_u64(d, "free", c.free);
	rte_tel_data_add_dict_u64(d, "held", c.held);
	rte_tel_data_add_dict_u64(d, "sold", c.sold);
	return 0;
}

int dpa_telemetry_register(struct dpa_app *app)
{
	g_app = app;
	int rc = rte_telemetry_register_cmd("/stampede/stats", cmd_stats,
					    "Totals: packets, requests, statuses, drops, storage. No parameters.");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/stampede/lcores", cmd_lcores,
						"Per worker lcore counters. No parameters.");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/stampede/event", cmd_event,
						"Counts of one event. Parameter: event id.");
	return rc;
}
