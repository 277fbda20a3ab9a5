/*
 * demo.c - `tools/demo` for now: a short on-sale through the reservation
 * core, a restart from storage, and a summary.
 *
 * 5,000 buyers go for 1,000 general-admission tickets (the Comic-Con test
 * sale in miniature) on two worker threads with full-sync group commit. Some
 * buyers abandon their holds, which expire; the rest confirm. The process
 * then closes everything, reopens the data directory, recovers, and checks
 * that the recovered counts and orders match what was acknowledged.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"

#define DEMO_WORKERS 2
#define DEMO_BUYERS 5000 /* arriving over 500 simulated seconds */
#define DEMO_TICKETS 1000
#define DEMO_EVENT 1
#define DEMO_GA 1
#define DEMO_ABANDON_PCT 20
#define DEMO_ARRIVAL_MS 100 /* buyer b arrives b * 100 ms after opening */
#define DEMO_HOLD_TTL_MS 60000

static struct dp_engine *eng;
static uint64_t open_ms;
static atomic_int go;
static atomic_int done; /* workers through their buyers */

struct worker_stats {
	uint64_t acked_orders, acked_holds, sold_out, limit, busy, expired;
	uint64_t tickets_confirmed;
};
static struct worker_stats stats[DEMO_WORKERS];

static void wait_durable(struct dp_worker *w, uint64_t seq, uint64_t now_ms)
{
	while (dp_worker_durable(w) < seq) {
		dp_worker_tick(w, now_ms);
		urcu_qsbr_quiescent_state();
	}
}

/* Each worker serves the buyers that hash to it (as the dataplane's routing
 * would send them), one buyer at a time: hold 1-4, then confirm or abandon. */
static void *worker_main(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg;
	struct dp_worker *w = dp_engine_worker(eng, idx);
	struct worker_stats *s = &stats[idx];
	urcu_qsbr_register_thread();
	while (!atomic_load(&go))
		urcu_qsbr_quiescent_state();
	uint64_t rng = 0xdeadbeef + idx;
	for (uint64_t b = 1; b <= DEMO_BUYERS; b++) {
		struct dp_request rq = {.op = DP_OP_HOLD_GA, .event_id = DEMO_EVENT, .part_id = DEMO_GA};
		rq.client_id = b;
		if (dp_route(eng, &rq) != (int)idx)
			continue;
		/* Simulated time: abandoned holds lapse while the sale goes on,
		 * and the sweep in dp_worker_tick gives their tickets back. */
		const uint64_t now = open_ms + b * DEMO_ARRIVAL_MS;
		for (unsigned k = 0; k < 64; k++)
			s->expired += dp_worker_tick(w, now);
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		rq.n = (uint8_t)(1 + (rng >> 40) % 4);
		rq.request_id = 1;
		struct dp_reply rp;
		int st;
		while ((st = dp_execute(w, &rq, now, &rp)) == DP_S_BUSY) {
			/* A buyer told "busy, retry in N ms" waits and retries. */
			s->busy++;
			urcu_qsbr_thread_offline();
			usleep(rp.retry_after_ms * 1000u);
			urcu_qsbr_thread_online();
			dp_worker_tick(w, now);
		}
		if (st == DP_S_SOLD_OUT) {
			s->sold_out++;
			continue;
		}
		if (st != DP_S_OK) {
			fprintf(stderr, "demo: hold: %s\n", dp_status_name(st));
			exit(1);
		}
		wait_durable(w, rp.wait_seq, now);
		s->acked_holds++;
		if ((rng >> 20) % 100 < DEMO_ABANDON_PCT)
			continue; /* walks away; the hold expires */
		struct dp_request cf = {.op = DP_OP_CONFIRM, .client_id = b, .request_id = 2, .hold_id = rp.hold_id};
		snprintf((char *)cf.payment_ref, sizeof(cf.payment_ref), "pay-%llu", (unsigned long long)b);
		uint8_t n = rp.n_items;
		if ((st = dp_execute(w, &cf, now, &rp)) != DP_S_OK) {
			fprintf(stderr, "demo: confirm: %s\n", dp_status_name(st));
			exit(1);
		}
		wait_durable(w, rp.wait_seq, now);
		s->acked_orders++;
		s->tickets_confirmed += n;
	}
	/* Keep serving the other workers' requests for stock until all are
	 * through, as a dataplane lcore keeps polling. */
	atomic_fetch_add(&done, 1);
	while (atomic_load(&done) < DEMO_WORKERS) {
		dp_worker_tick(w, open_ms + DEMO_BUYERS * DEMO_ARRIVAL_MS);
		urcu_qsbr_quiescent_state();
	}
	/* After the sale: the last abandoned holds run out too. */
	const uint64_t end = open_ms + (DEMO_BUYERS + 1) * DEMO_ARRIVAL_MS + DEMO_HOLD_TTL_MS;
	s->expired += dp_worker_expire_all(w, end);
	wait_durable(w, st_log_pushed(st_env_log(dp_engine_env(eng), idx)), end);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static int open_all(const char *dir, struct st_env **env)
{
	struct st_options so = {.dir = dir, .workers = DEMO_WORKERS};
	struct dp_config cfg;
	dp_config_defaults(&cfg, DEMO_WORKERS);
	cfg.holds_max = 8192;
	cfg.orders_max = 8192;
	cfg.idem_max = 8192;
	cfg.buyers_max = 16384;
	int rc = st_env_open(&so, env);
	if (rc == 0)
		rc = dp_engine_create(&cfg, *env, &eng);
	if (rc == 0)
		rc = dp_engine_recover(eng);
	if (rc)
		fprintf(stderr, "demo: open %s: %s\n", dir, st_strerror(rc));
	return rc;
}

int main(void)
{
	char dir[] = "/tmp/stampede-demo-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	struct st_env *env;
	if (open_all(dir, &env))
		return 1;
	urcu_qsbr_register_thread();
	static struct dp_tier_def tier = {.id = 1, .name = "general", .price_cents = 4900};
	static struct dp_ga_def ga = {.id = DEMO_GA, .name = "Comic-Con test sale", .capacity = DEMO_TICKETS, .tier = 1};
	struct dp_event_def def = {.id = DEMO_EVENT, .name = "demo on-sale", .hold_ttl_ms = DEMO_HOLD_TTL_MS,
				   .buyer_limit = DP_BUYER_LIMIT_DEFAULT, .n_tiers = 1, .tiers = &tier, .n_ga = 1, .ga = &ga};
	char err[200];
	if (dp_engine_add_event(eng, &def, err, sizeof(err)) != 0 || st_writer_start(env) != 0) {
		fprintf(stderr, "demo: %s\n", err);
		return 1;
	}
	open_ms = (uint64_t)time(NULL) * 1000;
	printf("stampede demo: %d buyers over %d simulated seconds for %d general-admission tickets,\n"
	       "  %d%% of holders abandon (holds lapse after %d s), %d workers, full-sync LMDB in %s\n",
	       DEMO_BUYERS, DEMO_BUYERS * DEMO_ARRIVAL_MS / 1000, DEMO_TICKETS, DEMO_ABANDON_PCT,
	       DEMO_HOLD_TTL_MS / 1000, DEMO_WORKERS, dir);
	pthread_t th[DEMO_WORKERS];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < DEMO_WORKERS; i++)
		pthread_create(&th[i], NULL, worker_main, (void *)(uintptr_t)i);
	urcu_qsbr_thread_offline();
	atomic_store(&go, 1);
	for (unsigned i = 0; i < DEMO_WORKERS; i++)
		pthread_join(th[i], NULL);
	urcu_qsbr_thread_online();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct worker_stats tot = {0};
	for (unsigned i = 0; i < DEMO_WORKERS; i++) {
		tot.acked_holds += stats[i].acked_holds;
		tot.acked_orders += stats[i].acked_orders;
		tot.sold_out += stats[i].sold_out;
		tot.busy += stats[i].busy;
		tot.expired += stats[i].expired;
		tot.tickets_confirmed += stats[i].tickets_confirmed;
	}
	struct dp_part_counts c;
	dp_event_counts_get(eng, DEMO_EVENT, &c);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("  %.1f ms: %llu holds acknowledged, %llu orders (%llu tickets), %llu holds abandoned and expired,\n"
	       "  %llu buyers told sold out, %llu \"busy, retry\" answers while stock moved between workers\n",
	       ms, (unsigned long long)tot.acked_holds, (unsigned long long)tot.acked_orders,
	       (unsigned long long)tot.tickets_confirmed, (unsigned long long)tot.expired,
	       (unsigned long long)tot.sold_out, (unsigned long long)tot.busy);
	printf("  counts: capacity %u, sold %u, held %u, free %u\n", c.capacity, c.sold, c.held, c.free);
	int ok = c.sold == tot.tickets_confirmed && c.sold + c.held + c.free == c.capacity && c.held == 0;

	/* Restart: close everything and rebuild from LMDB alone. */
	st_writer_stop(env);
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(eng);
	st_env_close(env);
	if (open_all(dir, &env))
		return 1;
	urcu_qsbr_register_thread();
	struct dp_part_counts r;
	dp_event_counts_get(eng, DEMO_EVENT, &r);
	uint64_t orders = 0;
	for (unsigned i = 0; i < DEMO_WORKERS; i++)
		orders += dp_worker_orders(dp_engine_worker(eng, i));
	printf("  after restart from storage: sold %u, held %u, free %u, %llu orders\n", r.sold, r.held, r.free,
	       (unsigned long long)orders);
	ok = ok && r.sold == c.sold && r.held == c.held && orders == tot.acked_orders && c.sold <= DEMO_TICKETS;
	printf("stampede demo: %s (oversold: %d, lost acknowledged orders: %lld)\n", ok ? "OK" : "MISMATCH",
	       c.sold > DEMO_TICKETS, (long long)tot.acked_orders - (long long)orders);
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(eng);
	st_env_close(env);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "demo: could not remove %s\n", dir);
	return ok ? 0 : 1;
}
