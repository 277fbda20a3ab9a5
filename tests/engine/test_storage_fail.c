/*
 * test_storage_fail.c - storage errors stop new mutations with a clear
 * status and lose nothing acknowledged: the LMDB map is made tiny so it fills
 * during a sale; after that every mutation is answered
 * unavailable/storage_failed and changes nothing, reads still work, the
 * process stays up, and a reopen with a larger map recovers every hold whose
 * reply was released (durable) and nothing that was never logged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_engine.h"

#define GA_CAP 200000u
#define HOLDS_MAX 100000u

static struct dp_tier_def tier = {.id = 1, .name = "t", .price_cents = 1};
static struct dp_ga_def ga = {.id = 1, .name = "floor", .capacity = GA_CAP, .tier = 1};

static void open_engine(const char *dir, uint64_t map_bytes, struct st_env **env, struct dp_engine **eng)
{
	struct st_options so = {.dir = dir, .map_size_bytes = map_bytes, .nosync = true, .workers = 1};
	assert_int_equal(st_env_open(&so, env), 0);
	struct dp_config cfg;
	dp_config_defaults(&cfg, 1);
	cfg.holds_max = HOLDS_MAX;
	cfg.orders_max = 1024;
	cfg.idem_max = HOLDS_MAX;
	cfg.buyers_max = 2 * HOLDS_MAX;
	assert_int_equal(dp_engine_create(&cfg, *env, eng), 0);
	assert_int_equal(dp_engine_recover(*eng), 0);
}

static void wait_settled(struct dp_worker *w, struct st_env *env)
{
	/* Until everything pushed is durable or storage has failed. */
	for (int i = 0; i < 20000; i++) {
		if (dp_worker_durable(w) == st_log_pushed(st_env_log(env, 0)) || st_env_failed(env))
			return;
		usleep(100);
	}
	fail_msg("storage neither caught up nor failed");
}

static void test_map_full(void **state)
{
	(void)state;
	char dir[] = "/tmp/stampede-stfail-XXXXXX";
	assert_non_null(mkdtemp(dir));
	urcu_qsbr_register_thread();
	struct st_env *env;
	struct dp_engine *eng;
	open_engine(dir, 1u << 20, &env, &eng);
	struct dp_event_def def = {.id = 1, .name = "full", .hold_ttl_ms = 600000, .buyer_limit = 8,
				   .n_tiers = 1, .tiers = &tier, .n_ga = 1, .ga = &ga};
	char err[200];
	assert_int_equal(dp_engine_add_event(eng, &def, err, sizeof(err)), 0);
	assert_int_equal(st_writer_start(env), 0);
	struct dp_worker *w = dp_engine_worker(eng, 0);
	const uint64_t now = (uint64_t)time(NULL) * 1000;

	/* Hold one ticket per buyer until storage refuses. */
	static uint64_t acked[HOLDS_MAX], wait_of[HOLDS_MAX], hold_of[HOLDS_MAX];
	unsigned n = 0, n_acked = 0;
	struct dp_reply r;
	int failed = 0;
	while (n < HOLDS_MAX && !failed) {
		struct dp_request rq = {.op = DP_OP_HOLD_GA, .n = 1, .event_id = 1, .part_id = 1,
					.client_id = n + 1, .request_id = 1};
		int st = dp_execute(w, &rq, now, &r);
		if (st == DP_S_BUSY) {
			usleep(100);
			continue;
		}
		if (st == DP_S_UNAVAILABLE) {
			assert_int_equal(r.detail, DP_D_STORAGE);
			failed = 1;
			break;
		}
		assert_int_equal(st, DP_S_OK);
		hold_of[n] = r.hold_id;
		wait_of[n] = r.wait_seq;
		n++;
		if (n % 256 == 0)
			wait_settled(w, env);
	}
	assert_true(failed);
	assert_true(st_env_failed(env) != 0);
	wait_settled(w, env);
	/* A reply may leave only once durable: these are the acknowledged ones. */
	const uint64_t durable = dp_worker_durable(w);
	for (unsigned i = 0; i < n; i++)
		if (wait_of[i] <= durable)
			acked[n_acked++] = hold_of[i];
	assert_true(n_acked > 0);

	/* After the failure: every mutation refused the same way, nothing changes. */
	struct dp_part_counts before, after;
	assert_int_equal(dp_part_counts_get(eng, 1, 1, &before), 0);
	for (unsigned k = 0; k < 100; k++) {
		struct dp_request rq = {.op = DP_OP_HOLD_GA, .n = 1, .event_id = 1, .part_id = 1,
					.client_id = 500000 + k, .request_id = 1};
		assert_int_equal(dp_execute(w, &rq, now, &r), DP_S_UNAVAILABLE);
		assert_int_equal(r.detail, DP_D_STORAGE);
		struct dp_request rl = {.op = DP_OP_RELEASE, .client_id = 1, .request_id = 2 + k, .hold_id = hold_of[0]};
		assert_int_equal(dp_execute(w, &rl, now, &r), DP_S_UNAVAILABLE);
	}
	assert_int_equal(dp_part_counts_get(eng, 1, 1, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(after.held, n); /* in memory until restart */

	st_writer_stop(env);
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(eng);
	st_env_close(env);

	/* Reopen with room: every acknowledged hold is back; nothing more than
	 * was logged. */
	urcu_qsbr_register_thread();
	open_engine(dir, 64u << 20, &env, &eng);
	struct dp_part_counts rec;
	assert_int_equal(dp_part_counts_get(eng, 1, 1, &rec), 0);
	assert_true(rec.held >= n_acked);
	assert_true(rec.held <= n);
	assert_int_equal(st_writer_start(env), 0);
	for (unsigned i = 0; i < n_acked && i < 50; i++) { /* a sample: orders_max is small */
		/* The holder can still confirm it. */
		uint64_t client = 0;
		for (unsigned j = 0; j < n; j++)
			if (hold_of[j] == acked[i])
				client = j + 1;
		struct dp_request cf = {.op = DP_OP_CONFIRM, .client_id = client, .request_id = 9, .hold_id = acked[i]};
		assert_int_equal(dp_execute(dp_engine_worker(eng, 0), &cf, now, &r), DP_S_OK);
	}
	printf("map full after %u holds; %u acknowledged, %u recovered\n", n, n_acked, rec.held);
	st_writer_stop(env);
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(eng);
	st_env_close(env);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_map_full)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
