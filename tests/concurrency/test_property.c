/*
 * test_property.c - randomized multi-threaded property test of the
 * reservation core (dataplane/) on top of real storage (nosync).
 *
 * Shape:
 *   - PT_W worker threads. Each is the worker of one dp_worker AND a client
 *     that generates random requests (named seats, best seats, GA, confirms
 *     and releases of holds it got, wrong-client confirms, idempotent
 *     duplicates, late retries, malformed requests). A request executes on
 *     dp_route()'s worker: every request goes through that worker's MPSC
 *     request queue (liburcu wfcqueue); the owner executes it, keeps the
 *     reply until dp_worker_durable() reaches its wait_seq, then sends it
 *     back through the originator's reply queue. (An MP rte_ring was tried
 *     first: with 7 threads on 2 cores a sender preempted inside its enqueue
 *     stalls every other sender; the wait-free queue does not.)
 *   - every worker turn: urcu_qsbr_quiescent_state, dp_worker_tick with a
 *     shared fake clock (1 s per ~1000 executions, hold ttl 60 s, so holds
 *     expire all the time), sometimes dp_worker_expire_all.
 *   - a reader thread checks seat words, orders and counts without locks.
 *   - the run is cut into epochs; between epochs all workers park on a
 *     barrier with nothing in flight and the main thread checks the whole
 *     model, then loads a fresh event (so the run does not just sell out).
 *   - at the end every part is drained (hold everything that is free, which
 *     must give exactly `free` tickets: no lost, no phantom ticket), then
 *     everything drained is released again.
 *
 * Model checks (see check_all): every seat/serial word against a per-ticket
 * ledger kept by the owners from the replies they produced; counts equal to
 * the scan; every order walked (no ticket in two orders, each SOLD word
 * belongs to its order); every acknowledged order exists with the same
 * content; every acknowledged unexpired hold still HELD with its ref and
 * expiry; per-buyer counts equal to what the words say.
 *
 * Before the run, two targeted scenarios: a deterministic GA hand-off (free
 * stock on one worker must reach a buyer on another) and a timed one that
 * reads counts while a sold-out GA type's stock moves between slices.
 *
 * Environment: STAMPEDE_PROPERTY_OPS (default 2000000 requests generated),
 * STAMPEDE_PROPERTY_SEED, STAMPEDE_PROPERTY_TORN_MS (default 3000, 0 = skip).
 *
 * This file holds main; the rest is in property_model.c, property_client.c,
 * property_worker.c, property_check.c and property_scenario.c, which share
 * the declarations in property.h.
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "tests/concurrency/property.h"

/* ------------------------------------------------------------ main */

int main(void)
{
	uint64_t total = 2000000;
	const char *s = getenv("STAMPEDE_PROPERTY_OPS");
	if (s && *s)
		total = strtoull(s, NULL, 10);
	s = getenv("STAMPEDE_PROPERTY_SEED");
	g_seed = (s && *s) ? strtoull(s, NULL, 0) : (cc_mono_ns() ^ (uint64_t)getpid() << 32);
	printf("property: %" PRIu64 " requests, seed %#" PRIx64 " (STAMPEDE_PROPERTY_SEED to repeat)\n", total,
	       g_seed);
	fflush(stdout);
	uint64_t t_start = cc_mono_ns();
	g_t_start = t_start;

	char dir[] = "/tmp/stampede-property-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	struct st_options so = {.dir = dir, .map_size_bytes = 2ull << 30, .nosync = true, .workers = PT_W};
	int rc = st_env_open(&so, &g_env);
	if (rc != 0) {
		fprintf(stderr, "st_env_open: %s\n", st_strerror(rc));
		return 2;
	}
	rc = st_writer_start(g_env);
	assert(rc == 0);
	struct dp_config cfg;
	dp_config_defaults(&cfg, PT_W);
	cfg.holds_max = 1u << 16;
	cfg.orders_max = 1u << 15;
	cfg.idem_max = 1u << 14;
	/* Count-bounded retry memory, so eviction happens constantly under
	 * concurrency: the fake clock stands still while the drain holds every
	 * free ticket, and clients here retry within a few turns. The horizon
	 * itself is tested in tests/engine (test_idem_horizon). */
	cfg.idem_horizon_ms = 0;
	cfg.buyers_max = 1u << 12;
	rc = dp_engine_create(&cfg, g_env, &g_eng);
	if (rc != 0) {
		fprintf(stderr, "dp_engine_create: %d\n", rc);
		return 2;
	}
	urcu_qsbr_register_thread();
	scenario_ga_handoff();
	scenario_torn_counts();
	build_def();
	withheld_in_section(); /* computed once, before any reader */
	add_event(0);

	pthread_barrier_init(&g_bar, NULL, PT_W + 1);
	unsigned epochs = (unsigned)(total / PT_EPOCH_REQUESTS);
	epochs = epochs < 4 ? 4 : epochs > PT_EPOCHS_MAX ? PT_EPOCHS_MAX : epochs;
	uint64_t per_epoch = (total + epochs - 1) / epochs;
	atomic_store(&g_target, per_epoch);
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		t->idx = i;
		t->rng = g_seed + 0x1000 * (i + 1);
		t->w = dp_engine_worker(g_eng, i);
		__cds_wfcq_init(&t->reqh, &t->reqt);
		__cds_wfcq_init(&t->reph, &t->rept);
		for (unsigned k = 0; k < PT_MAXOUT; k++) {
			t->msgs[k].next_free = t->free_msgs;
			t->free_msgs = &t->msgs[k];
			t->grps[k].next_free = t->free_grps;
			t->free_grps = &t->grps[k];
		}
		t->hpool = calloc(PT_HREC_POOL, sizeof(struct hrec));
		t->active = calloc(PT_HREC_POOL, sizeof(struct hrec *));
		if (!t->hpool || !t->active)
			return 2;
		for (unsigned k = 0; k < PT_HREC_POOL; k++) {
			t->hpool[k].next_free = t->hfree;
			t->hfree = &t->hpool[k];
		}
	}
	pthread_t reader;
	pthread_create(&reader, NULL, reader_main, NULL);
	for (unsigned i = 0; i < PT_W; i++)
		pthread_create(&g_thr[i].tid, NULL, worker_main, &g_thr[i]);

	for (unsigned ep = 0; ep < epochs; ep++) {
		urcu_qsbr_thread_offline();
		pthread_barrier_wait(&g_bar);
		urcu_qsbr_thread_online();
		char when[32];
		snprintf(when, sizeof(when), "epoch %u", ep);
		check_all(when, false);
		if (ep + 1 < epochs) {
			add_event(ep + 1);
			atomic_store(&g_target, per_epoch * (ep + 2));
		} else {
			atomic_store(&g_stop, 1);
		}
		pthread_barrier_wait(&g_bar);
	}
	urcu_qsbr_thread_offline();
	for (unsigned i = 0; i < PT_W; i++)
		pthread_join(g_thr[i].tid, NULL);
	urcu_qsbr_thread_online();

	/* every due hold goes now; nothing due may stay HELD */
	uint64_t now = atomic_load(&g_clock);
	unsigned expired = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		/* it stops early when the log ring is full: repeat until nothing is due */
		unsigned n;
		while ((n = dp_worker_expire_all(dp_engine_worker(g_eng, i), now)) != 0)
			expired += n;
	}
	check_all("expired", true);
	drain_all();
	check_all("final", true);

	atomic_store(&g_reader_stop, 1);
	urcu_qsbr_thread_offline();
	pthread_join(reader, NULL);
	urcu_qsbr_thread_online();

	/* summary */
	uint64_t st_tot[DP_S__COUNT] = {0};
	uint64_t executed = 0, sent = 0, retries = 0, gaveup = 0, dups = 0, lates = 0, bads = 0, wrong = 0,
		 cok = 0, hok = 0, rok = 0, exps = 0, gso = 0, brb = 0, blf = 0, nohrec = 0, turns = 0, ebt = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		for (int a = 0; a < DP_S__COUNT; a++)
			for (int b = 0; b < DP_D__COUNT; b++)
				st_tot[a] += t->st[a][b];
		executed += t->executed;
		sent += t->sent;
		retries += t->retries;
		gaveup += t->gaveup;
		dups += t->dups;
		lates += t->lates;
		bads += t->bads;
		wrong += t->wrong_client;
		cok += t->confirms_ok;
		hok += t->holds_ok;
		rok += t->releases_ok;
		exps += t->expired_seen;
		gso += t->ga_sold_out;
		brb += t->busy_rebal;
		blf += t->busy_log;
		nohrec += t->no_hrec;
		ebt += t->expired_by_tick;
		turns += t->turns;
	}
	printf("summary: %" PRIu64 " requests generated, %" PRIu64 " executed by workers in %.1f s (%" PRIu64
	       " turns), fake clock %" PRIu64 " s\n",
	       sent, executed, (double)(cc_mono_ns() - t_start) / 1e9, turns, (now - PT_T0_MS) / 1000);
	printf("summary: by status:");
	for (int a = 0; a < DP_S__COUNT; a++)
		if (st_tot[a])
			printf(" %s=%" PRIu64, dp_status_name(a), st_tot[a]);
	printf("\n");
	printf("summary: holds ok %" PRIu64 ", confirms ok %" PRIu64 ", releases ok %" PRIu64 ", expired replies %" PRIu64
	       ", expired at end %u; duplicates %" PRIu64 ", late retries %" PRIu64 ", malformed %" PRIu64
	       ", wrong-client %" PRIu64 "\n",
	       hok, cok, rok, exps, expired, dups, lates, bads, wrong);
	printf("summary: busy/rebalancing %" PRIu64 ", busy/log_full %" PRIu64 " (retried %" PRIu64
	       ", gave up %" PRIu64 "), GA sold_out %" PRIu64 ", model-full holds %" PRIu64
	       ", holds left to expire %" PRIu64 "\n",
	       brb, blf, retries, gaveup, gso, nohrec, ebt);
	printf("summary: reader: %" PRIu64 " words (%" PRIu64 " sold, %" PRIu64 " held), %" PRIu64
	       " count reads, %" PRIu64 " inconsistent count reads\n",
	       g_rs.reads, g_rs.sold, g_rs.held, g_rs.counts, g_rs.torn);

	CHECK(executed >= sent, "executed %" PRIu64 " < sent %" PRIu64, executed, sent);
	CHECK(sent >= total, "only %" PRIu64 " requests generated of %" PRIu64, sent, total);
	CHECK(cok > 0 && hok > 0 && rok > 0 && exps > 0, "workload degenerate");
	CHECK(g_rs.torn == 0, "reader saw %" PRIu64 " count reads with free+held+sold+withheld != capacity",
	      g_rs.torn);
	unsigned routing = atomic_load(&g_fail_routing);
	if (routing)
		fprintf(stderr,
			"FAIL routing: %u HOLD_GA requests on a section answered differently than "
			"bad_request/wrong_kind on dp_route's worker\n",
			routing);

	st_writer_stop(g_env);
	dp_engine_destroy(g_eng);
	st_env_close(g_env);
	urcu_qsbr_unregister_thread();
	cc_rm_rf(dir);
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		free(t->hpool);
		free(t->active);
		free(t->orders);
	}
	for (unsigned e = 0; e < PT_MAX_EVENTS; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			free(g_led[e][p]);
	pthread_barrier_destroy(&g_bar);
	unsigned leaks = atomic_load(&g_fail_leak);
	if (leaks)
		fprintf(stderr,
			"FAIL durability: %u replies with wait_seq 0 revealed a confirm or release that was not durable "
			"yet\n",
			leaks);
	unsigned fails = atomic_load(&g_failures) + routing + leaks;
	printf("property: %s (%u failures)\n", fails ? "FAILED" : "passed", fails);
	return fails ? 1 : 0;
}
