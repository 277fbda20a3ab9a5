/*
 * bench_core.c - `tools/bench core`: durable reservation throughput of the
 * core with one worker and the storage writer.
 *
 * Workload: a 150,000-ticket event (reserved seats); simulated buyers each
 * hold one seat (named, in a shuffled order, as a seat-map click would) and,
 * once the hold is durable -- the only moment a real buyer could know its hold
 * id -- confirm it. `--window` buyers are in flight at once, standing in for
 * many concurrent clients. An op counts when its record is durable. When an
 * event sells out the next one is loaded, until --seconds have passed.
 * Prints one JSON line last:
 *   {"bench":"core","ops":N,"durable_ops_per_s":X,"sync":"full",...}
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"
#include "tools/bench_util.h"

#define BENCH_SECTIONS 10
#define BENCH_SEATS_PER_SECTION 15000 /* 150,000 tickets per event */
#define BENCH_ROW_SEATS 50
#define BENCH_WINDOW_MAX 65536

static struct dp_event_def *make_event(uint32_t id)
{
	static struct dp_tier_def tiers[1] = {{.id = 1, .name = "standard", .price_cents = 5000}};
	static struct dp_section_def sections[BENCH_SECTIONS];
	static struct dp_seat_def seats[BENCH_SECTIONS][BENCH_SEATS_PER_SECTION];
	static char rows[BENCH_SEATS_PER_SECTION / BENCH_ROW_SEATS][DP_ROW_LABEL_MAX];
	static struct dp_event_def def;
	for (unsigned r = 0; r < BENCH_SEATS_PER_SECTION / BENCH_ROW_SEATS; r++)
		snprintf(rows[r], DP_ROW_LABEL_MAX, "R%u", r + 1);
	for (unsigned s = 0; s < BENCH_SECTIONS; s++) {
		sections[s].id = s + 1;
		snprintf(sections[s].name, DP_NAME_MAX, "Section %u", s + 1);
		sections[s].n_rows = BENCH_SEATS_PER_SECTION / BENCH_ROW_SEATS;
		sections[s].row_labels = rows;
		sections[s].n_seats = BENCH_SEATS_PER_SECTION;
		sections[s].seats = seats[s];
		for (unsigned k = 0; k < BENCH_SEATS_PER_SECTION; k++)
			seats[s][k] = (struct dp_seat_def){.row = (uint16_t)(k / BENCH_ROW_SEATS),
							   .number = (uint16_t)(k % BENCH_ROW_SEATS + 1),
							   .tier = 1};
	}
	memset(&def, 0, sizeof(def));
	def.id = id;
	snprintf(def.name, DP_NAME_MAX, "bench %u", id);
	def.hold_ttl_ms = DP_HOLD_TTL_MS_DEFAULT;
	def.buyer_limit = DP_BUYER_LIMIT_DEFAULT;
	def.n_tiers = 1;
	def.tiers = tiers;
	def.n_sections = BENCH_SECTIONS;
	def.sections = sections;
	return &def;
}

struct buyer {
	uint64_t wait_seq; /* 0: idle */
	uint64_t hold_id;  /* 0: hold not yet acknowledged */
	int confirming;
	uint64_t client_id;
};

static void usage(void)
{
	fprintf(stderr, "usage: stampede-bench-core [--seconds S] [--window N] [--nosync] [--dir DIR]\n"
			"  --seconds S  run at least S seconds (default 3)\n"
			"  --window N   buyers in flight at once, 1..%d (default 8192)\n"
			"  --nosync     no fsync at commit (benchmark only; reported as \"sync\":\"none\")\n"
			"  --dir DIR    data directory (default: a new one under /tmp, removed after)\n",
		BENCH_WINDOW_MAX);
}

int main(int argc, char **argv)
{
	double seconds = 3.0;
	unsigned window = 8192;
	int nosync = 0;
	const char *dir = NULL;
	static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
					     {"window", required_argument, NULL, 'w'},
					     {"nosync", no_argument, NULL, 'n'},
					     {"dir", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'w': window = (unsigned)atoi(optarg); break;
		case 'n': nosync = 1; break;
		case 'd': dir = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (seconds <= 0 || seconds > 600 || window < 1 || window > BENCH_WINDOW_MAX) {
		usage();
		return 2;
	}
	char tmpl[] = "/tmp/stampede-bench-XXXXXX";
	int own_dir = dir == NULL;
	if (own_dir && !(dir = mkdtemp(tmpl))) {
		perror("mkdtemp");
		return 1;
	}

	struct st_options so = {.dir = dir, .nosync = nosync, .workers = 1};
	struct st_env *env;
	int rc = st_env_open(&so, &env);
	if (rc) {
		fprintf(stderr, "bench: open %s: %s\n", dir, st_strerror(rc));
		return 1;
	}
	struct dp_config cfg;
	dp_config_defaults(&cfg, 1);
	/* The retry memory must hold every mutation of the last horizon (2 s):
	 * sized for 2 M mutations/s, twice what one core does here. */
	cfg.idem_max = 1u << 22;
	cfg.holds_max = 1u << 18;
	cfg.orders_max = 1u << 23;
	struct dp_engine *eng;
	if ((rc = dp_engine_create(&cfg, env, &eng)) != 0 || (rc = dp_engine_recover(eng)) != 0) {
		fprintf(stderr, "bench: engine: %s\n", st_strerror(rc));
		return 1;
	}
	urcu_qsbr_register_thread();
	struct dp_worker *w = dp_engine_worker(eng, 0);
	if ((rc = st_writer_start(env)) != 0) {
		fprintf(stderr, "bench: writer: %s\n", st_strerror(rc));
		return 1;
	}

	/* A shuffled order of every seat: buyers click all over the map. */
	const uint32_t cap = BENCH_SECTIONS * BENCH_SEATS_PER_SECTION;
	uint32_t *order = malloc(cap * sizeof(uint32_t));
	struct buyer *buyers = calloc(window, sizeof(*buyers));
	if (!order || !buyers)
		return 1;
	for (uint32_t i = 0; i < cap; i++)
		order[i] = i;
	uint64_t rng = 0x5eed;
	for (uint32_t i = cap - 1; i > 0; i--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t j = (uint32_t)((rng >> 33) % (i + 1));
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}

	/*
	 * Buyers waiting for durability sit in a FIFO ordered by the seq they
	 * wait for (one worker pushes in order, so seqs only grow): each turn
	 * takes off the front every buyer whose record is now durable and has
	 * it make its next request.
	 */
	uint32_t *fifo = malloc(window * sizeof(uint32_t));
	if (!fifo)
		return 1;
	uint32_t fifo_head = 0, fifo_n = 0;
	uint32_t idle_n = window; /* buyers not waiting: ready for a request */
	uint32_t *idle = malloc(window * sizeof(uint32_t));
	if (!idle)
		return 1;
	for (uint32_t b = 0; b < window; b++)
		idle[b] = b;

	uint32_t event_id = 0, next_seat = cap; /* cap: load an event first */
	uint64_t holds = 0, confirms = 0, busy = 0, refused = 0, request_id = 0, events = 0;
	uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9), t_last = t0;
	int stopping = 0;
	struct dp_request rq;
	struct dp_reply rp;
	memset(&rq, 0, sizeof(rq));
	memcpy(rq.payment_ref, "bench-payment", 13);
	rq.n = 1;
	for (;;) {
		uint64_t now = bench_wall_ms();
		uint64_t durable = dp_worker_durable(w);
		while (fifo_n && buyers[fifo[fifo_head]].wait_seq <= durable) {
			struct buyer *by = &buyers[fifo[fifo_head]];
			if (by->confirming) {
				confirms++;
				by->confirming = 0;
				by->hold_id = 0;
			} else {
				holds++;
			}
			by->wait_seq = 0;
			idle[idle_n++] = fifo[fifo_head];
			fifo_head = fifo_head + 1 == window ? 0 : fifo_head + 1;
			fifo_n--;
			t_last = bench_now_ns();
		}
		uint32_t ready = idle_n;
		idle_n = 0;
		for (uint32_t k = 0; k < ready; k++) {
			uint32_t b = idle[k];
			struct buyer *by = &buyers[b];
			rq.request_id = ++request_id;
			if (by->hold_id) {
				rq.op = DP_OP_CONFIRM;
				rq.client_id = by->client_id;
				rq.hold_id = by->hold_id;
			} else {
				if (stopping) {
					idle[idle_n++] = b;
					continue;
				}
				if (next_seat == cap) {
					char err[200];
					event_id++;
					if (dp_engine_add_event(eng, make_event(event_id), err, sizeof(err)) != 0) {
						fprintf(stderr, "bench: add event: %s\n", err);
						return 1;
					}
					events++;
					next_seat = 0;
				}
				uint32_t idx = order[next_seat++];
				rq.op = DP_OP_HOLD_SEATS;
				/* a new buyer per hold: the per-buyer limit is not what is measured */
				by->client_id = rq.client_id = request_id;
				rq.event_id = event_id;
				rq.part_id = idx / BENCH_SEATS_PER_SECTION + 1;
				rq.seats[0] = idx % BENCH_SEATS_PER_SECTION;
			}
			int st = dp_execute(w, &rq, now, &rp);
			if (st == DP_S_OK) {
				by->wait_seq = rp.wait_seq;
				if (rq.op == DP_OP_CONFIRM)
					by->confirming = 1;
				else
					by->hold_id = rp.hold_id;
				uint32_t tail = fifo_head + fifo_n;
				fifo[tail >= window ? tail - window : tail] = b;
				fifo_n++;
			} else if (st == DP_S_BUSY) {
				busy++;
				if (rq.op != DP_OP_CONFIRM)
					next_seat--; /* retry the same seat */
				idle[idle_n++] = b;
			} else {
				refused++;
				fprintf(stderr, "bench: unexpected %s/%s\n", dp_status_name(st), dp_detail_name(rp.detail));
				return 1;
			}
		}
		dp_worker_tick(w, now);
		urcu_qsbr_quiescent_state();
		if (!stopping && bench_now_ns() >= deadline)
			stopping = 1;
		if (stopping && fifo_n == 0) {
			int any_hold = 0;
			for (unsigned b = 0; b < window && !any_hold; b++)
				any_hold = buyers[b].hold_id != 0;
			if (!any_hold)
				break;
		}
	}
	free(fifo);
	free(idle);
	urcu_qsbr_thread_offline();
	st_writer_stop(env);
	struct st_stats ss;
	st_env_stats(env, &ss);
	double dur_s = (double)(t_last - t0) / 1e9;
	uint64_t ops = holds + confirms;
	fprintf(stderr, "bench core: %llu events loaded, %llu busy retries, %llu batches, %.1f records/batch, "
			"commit mean %.1f us, max %.1f us\n",
		(unsigned long long)events, (unsigned long long)busy, (unsigned long long)ss.batches,
		ss.batches ? (double)ss.records / (double)ss.batches : 0.0,
		ss.batches ? (double)ss.commit_ns_total / (double)ss.batches / 1e3 : 0.0, (double)ss.commit_ns_max / 1e3);
	printf("{\"bench\":\"core\",\"ops\":%llu,\"durable_ops_per_s\":%.0f,\"sync\":\"%s\",\"holds\":%llu,"
	       "\"confirms\":%llu,\"duration_s\":%.3f,\"window\":%u,\"batches\":%llu,\"records_per_batch\":%.1f,"
	       "\"commit_us_mean\":%.1f}\n",
	       (unsigned long long)ops, dur_s > 0 ? (double)ops / dur_s : 0.0, nosync ? "none" : "full",
	       (unsigned long long)holds, (unsigned long long)confirms, dur_s, window,
	       (unsigned long long)ss.batches, ss.batches ? (double)ss.records / (double)ss.batches : 0.0,
	       ss.batches ? (double)ss.commit_ns_total / (double)ss.batches / 1e3 : 0.0);
	urcu_qsbr_thread_online();
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(eng);
	st_env_close(env);
	free(order);
	free(buyers);
	if (own_dir) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", dir);
	}
	return refused ? 1 : 0;
}
