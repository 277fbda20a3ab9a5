/*
 * test_prequeue.c - the pre-queue's keyed permutation (dataplane/
 * dp_prequeue.c): the round function against the SipHash paper's vector, a
 * bijection for many n, stable for a key and different across keys, fair
 * (over many keys the first joiner's position is uniform; join order and
 * position are uncorrelated), and bounded time.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dataplane/dp_prequeue.h"
#include "tests/waiting/waiting_helpers.h"

#define FAIR_KEYS 10000
#define FAIR_N 1000
#define FAIR_BUCKETS 10
#define CORR_KEYS 1000
#define TIME_CALLS 100000
#define TIME_LIMIT_S 5.0 /* generous: the machine is shared; expected well under 0.5 s */

static void init_seeded(struct dp_prequeue *p, uint64_t seed, uint64_t n)
{
	uint8_t secret[DP_PREQUEUE_SECRET_SIZE];
	uint64_t rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	w_fill(&rng, secret, sizeof(secret));
	assert_int_equal(dp_prequeue_init(p, secret, n), 0);
}

static void test_siphash_vector(void **state)
{
	(void)state;
	/* SipHash-2-4 paper, key 00..0f, message 00..07. */
	const uint64_t key[2] = {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};
	assert_true(dp_prequeue_round(key, UINT64_C(0x0706050403020100)) == UINT64_C(0x93f5f5799a932462));
}

static void test_init_refusals(void **state)
{
	(void)state;
	struct dp_prequeue p;
	uint8_t secret[DP_PREQUEUE_SECRET_SIZE] = {0};
	assert_int_equal(dp_prequeue_init(&p, secret, 0), -EINVAL);
	assert_int_equal(dp_prequeue_init(&p, secret, DP_PREQUEUE_N_MAX + 1), -EINVAL);
	assert_int_equal(dp_prequeue_init(&p, secret, DP_PREQUEUE_N_MAX), 0);
	/* The largest domain works: a few positions, all in range and distinct. */
	uint64_t a = dp_prequeue_position(&p, 0), b = dp_prequeue_position(&p, DP_PREQUEUE_N_MAX - 1);
	assert_true(a < DP_PREQUEUE_N_MAX && b < DP_PREQUEUE_N_MAX && a != b);
}

static void test_bijection(void **state)
{
	(void)state;
	static const uint64_t ns[] = {1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 1000, 4096, 4097, 65536, 65537};
	for (unsigned k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint64_t n = ns[k];
		struct dp_prequeue p;
		init_seeded(&p, k + 1, n);
		uint8_t *seen = calloc(n, 1);
		assert_non_null(seen);
		for (uint64_t s = 0; s < n; s++) {
			uint64_t pos = dp_prequeue_position(&p, s);
			assert_true(pos < n);
			assert_int_equal(seen[pos], 0);
			seen[pos] = 1;
			assert_true(dp_prequeue_position(&p, s) == pos); /* stable */
		}
		free(seen);
	}
}

static void test_keys_differ(void **state)
{
	(void)state;
	struct dp_prequeue a, b, a2;
	init_seeded(&a, 100, FAIR_N);
	init_seeded(&b, 101, FAIR_N);
	init_seeded(&a2, 100, FAIR_N);
	unsigned same = 0, moved = 0;
	for (uint64_t s = 0; s < FAIR_N; s++) {
		uint64_t pa = dp_prequeue_position(&a, s);
		same += pa == dp_prequeue_position(&b, s);
		moved += pa != s;
		assert_true(pa == dp_prequeue_position(&a2, s)); /* same key, same order */
	}
	/* Two random permutations agree on about 1 point; the identity fixes about 1. */
	assert_true(same < 10);
	assert_true(moved > FAIR_N - 10);
	/* The order depends on n too: the same secret for another n is another order. */
	struct dp_prequeue c;
	init_seeded(&c, 100, FAIR_N + 1);
	same = 0;
	for (uint64_t s = 0; s < FAIR_N; s++)
		same += dp_prequeue_position(&a, s) == dp_prequeue_position(&c, s);
	assert_true(same < 10);
}

/*
 * Over FAIR_KEYS openings, the first joiner's (s = 0) and the last's
 * positions are uniform on 0..n-1: mean near (n-1)/2 (standard error
 * 288.7/sqrt(10000) = 2.9; allowed 6 of them) and every tenth of the queue
 * hit about 1000 times (standard deviation 30; allowed 5 of them).
 */
static void test_first_joiner_not_favoured(void **state)
{
	(void)state;
	const uint64_t probes[] = {0, 1, FAIR_N / 2, FAIR_N - 1};
	for (unsigned q = 0; q < sizeof(probes) / sizeof(probes[0]); q++) {
		double sum = 0;
		unsigned buckets[FAIR_BUCKETS] = {0};
		for (unsigned k = 0; k < FAIR_KEYS; k++) {
			struct dp_prequeue p;
			init_seeded(&p, 1000000 + k, FAIR_N);
			uint64_t pos = dp_prequeue_position(&p, probes[q]);
			sum += (double)pos;
			buckets[pos * FAIR_BUCKETS / FAIR_N]++;
		}
		double mean = sum / FAIR_KEYS, expect = (FAIR_N - 1) / 2.0;
		double se = FAIR_N / sqrt(12.0) / sqrt((double)FAIR_KEYS);
		if (fabs(mean - expect) > 6 * se)
			fail_msg("s=%lu: mean position %.1f, expected %.1f +- %.1f", (unsigned long)probes[q], mean,
				 expect, 6 * se);
		for (unsigned b = 0; b < FAIR_BUCKETS; b++)
			if (abs((int)buckets[b] - FAIR_KEYS / FAIR_BUCKETS) > 150)
				fail_msg("s=%lu: tenth %u of the queue got %u of %u", (unsigned long)probes[q], b,
					 buckets[b], FAIR_KEYS);
	}
}

/*
 * Join order and position are uncorrelated: the Pearson correlation of s
 * and position over all n joiners, averaged over CORR_KEYS openings, is
 * near 0 (each is about N(0, 1/sqrt(n-1)) = 0.032; the mean's standard
 * error 0.001; allowed 0.006), and no single opening exceeds 0.2 (6 sigma).
 * The first tenth of joiners sits, on average, in the middle of the queue.
 */
static void test_join_order_uncorrelated(void **state)
{
	(void)state;
	double corr_sum = 0, early_sum = 0;
	unsigned early_n = 0;
	const double mean = (FAIR_N - 1) / 2.0, var = ((double)FAIR_N * FAIR_N - 1) / 12.0;
	for (unsigned k = 0; k < CORR_KEYS; k++) {
		struct dp_prequeue p;
		init_seeded(&p, 5000000 + k, FAIR_N);
		double cov = 0;
		for (uint64_t s = 0; s < FAIR_N; s++) {
			uint64_t pos = dp_prequeue_position(&p, s);
			cov += ((double)s - mean) * ((double)pos - mean);
			if (s < FAIR_N / 10) {
				early_sum += (double)pos;
				early_n++;
			}
		}
		double corr = cov / FAIR_N / var;
		if (fabs(corr) > 0.2)
			fail_msg("opening %u: correlation %.3f", k, corr);
		corr_sum += corr;
	}
	double corr_mean = corr_sum / CORR_KEYS;
	if (fabs(corr_mean) > 0.006)
		fail_msg("mean correlation %.4f", corr_mean);
	double early_mean = early_sum / early_n; /* standard error about 288.7/sqrt(100000) = 0.9 */
	if (fabs(early_mean - mean) > 6)
		fail_msg("first tenth of joiners: mean position %.1f, expected %.1f", early_mean, mean);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The worst ratio of domain to n (4^k + 1 joiners: domain almost 4n). */
static void test_bounded_time(void **state)
{
	(void)state;
	const uint64_t n = (UINT64_C(1) << 16) + 1;
	struct dp_prequeue p;
	init_seeded(&p, 77, n);
	double t0 = now_s();
	uint64_t acc = 0;
	for (uint64_t i = 0; i < TIME_CALLS; i++)
		acc += dp_prequeue_position(&p, i % n);
	double dt = now_s() - t0;
	print_message("%d positions in %.3f s (%.0f ns each)\n", TIME_CALLS, dt, dt * 1e9 / TIME_CALLS);
	assert_true(acc > 0);
	assert_true(dt < TIME_LIMIT_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_init_refusals),
		cmocka_unit_test(test_bijection),
		cmocka_unit_test(test_keys_differ),
		cmocka_unit_test(test_first_joiner_not_favoured),
		cmocka_unit_test(test_join_order_uncorrelated),
		cmocka_unit_test(test_bounded_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
