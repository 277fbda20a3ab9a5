/*
 * bench_tokens.c - `tools/bench tokens`: the waiting room's per-request
 * crypto cost, ns per call, on one core: verifying an access token that is
 * good (full path: MAC and every field check), verifying a forged one (MAC
 * mismatch), minting, and a pre-queue position (n = 65537, the worst ratio
 * of Feistel domain to n). Each is timed over --calls calls, --runs times;
 * the median run is reported. Prints one JSON line last:
 *   {"bench":"tokens","verify_ns":X,"verify_forged_ns":X,"mint_ns":X,
 *    "prequeue_position_ns":X,"calls":N,"runs":R}
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/dp_prequeue.h"
#include "dataplane/dp_token.h"
#include "tools/bench_util.h"

#define BENCH_TOKENS 1024 /* distinct tokens cycled through (power of 2) */
#define BENCH_RUNS_MAX 99
#define BENCH_CALLS_MAX 100000000u
#define BENCH_PREQUEUE_N 65537u
#define BENCH_PREQUEUE_DIV 10 /* prequeue positions cost more: fewer calls */

static uint8_t toks[BENCH_TOKENS][DP_TOKEN_SIZE];
static uint8_t forged[BENCH_TOKENS][DP_TOKEN_SIZE];
static volatile uint64_t sink;

/* ns per verify of calls tokens from set (cycled); ks and set not NULL. */
static double time_verify(const struct dp_keys *ks, uint8_t (*set)[DP_TOKEN_SIZE], unsigned calls)
{
	uint64_t acc = 0, t0 = bench_now_ns();
	for (unsigned i = 0; i < calls; i++) {
		unsigned k = i & (BENCH_TOKENS - 1);
		acc += dp_token_verify(ks, set[k], DP_TOKEN_ACCESS, 7, 1000 + k, 1000, NULL);
	}
	uint64_t dt = bench_now_ns() - t0;
	sink += acc;
	return (double)dt / calls;
}

/* ns per mint of an access token, calls times; ks not NULL. */
static double time_mint(const struct dp_keys *ks, unsigned calls)
{
	struct dp_token_fields f = {.kind = DP_TOKEN_ACCESS, .event_id = 7, .time_ms = 2000};
	uint8_t tok[DP_TOKEN_SIZE];
	uint64_t acc = 0, t0 = bench_now_ns();
	for (unsigned i = 0; i < calls; i++) {
		f.client_id = i;
		acc += (uint64_t)dp_token_mint(ks, &f, tok) + tok[40];
	}
	uint64_t dt = bench_now_ns() - t0;
	sink += acc;
	return (double)dt / calls;
}

/* ns per pre-queue position, calls times; p not NULL. */
static double time_prequeue(const struct dp_prequeue *p, unsigned calls)
{
	uint64_t acc = 0, t0 = bench_now_ns();
	for (unsigned i = 0; i < calls; i++)
		acc += dp_prequeue_position(p, i % BENCH_PREQUEUE_N);
	uint64_t dt = bench_now_ns() - t0;
	sink += acc;
	return (double)dt / calls;
}

/* Options, to stderr. */
static void usage(void)
{
	fprintf(stderr, "usage: stampede-bench-tokens [--calls N] [--runs R]\n"
			"  --calls N  calls per run and measure, 1000..%u (default 1000000;\n"
			"             pre-queue positions: N/%d)\n"
			"  --runs R   runs, median reported, 1..%d (default 5)\n",
		BENCH_CALLS_MAX, BENCH_PREQUEUE_DIV, BENCH_RUNS_MAX);
}

/* --calls N --runs R; exits 2 on bad options, 1 if setup fails. */
int main(int argc, char **argv)
{
	unsigned long calls = 1000000, runs = 5;
	static const struct option opts[] = {{"calls", required_argument, NULL, 'c'},
					     {"runs", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': calls = strtoul(optarg, NULL, 10); break;
		case 'r': runs = strtoul(optarg, NULL, 10); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (calls < 1000 || calls > BENCH_CALLS_MAX || runs < 1 || runs > BENCH_RUNS_MAX) {
		usage();
		return 2;
	}

	uint8_t s1[DP_KEY_SIZE], s2[DP_KEY_SIZE], ps[DP_PREQUEUE_SECRET_SIZE];
	for (unsigned i = 0; i < DP_KEY_SIZE; i++) {
		s1[i] = (uint8_t)(i * 7 + 1);
		s2[i] = (uint8_t)(i * 13 + 5);
	}
	memset(ps, 0x3c, sizeof(ps));
	struct dp_keys *ks = dp_keys_new();
	struct dp_prequeue pq;
	if (!ks || dp_keys_add(ks, 1, s1) != 0 || dp_keys_add(ks, 2, s2) != 0 ||
	    dp_prequeue_init(&pq, ps, BENCH_PREQUEUE_N) != 0) {
		fprintf(stderr, "bench tokens: setup failed\n");
		return 1;
	}
	for (unsigned k = 0; k < BENCH_TOKENS; k++) {
		struct dp_token_fields f = {
			.kind = DP_TOKEN_ACCESS, .event_id = 7, .client_id = 1000 + k, .position = k, .time_ms = 2000};
		if (dp_token_mint(ks, &f, toks[k]) != 0 ||
		    dp_token_verify(ks, toks[k], DP_TOKEN_ACCESS, 7, 1000 + k, 1000, NULL) != DP_TOKEN_OK) {
			fprintf(stderr, "bench tokens: a minted token does not verify\n");
			return 1;
		}
		memcpy(forged[k], toks[k], DP_TOKEN_SIZE);
		forged[k][DP_TOKEN_SIZE - 1] ^= 1;
	}

	double verify[BENCH_RUNS_MAX], forged_ns[BENCH_RUNS_MAX], mint[BENCH_RUNS_MAX], pre[BENCH_RUNS_MAX];
	for (unsigned r = 0; r < runs; r++) {
		verify[r] = time_verify(ks, toks, (unsigned)calls);
		forged_ns[r] = time_verify(ks, forged, (unsigned)calls);
		mint[r] = time_mint(ks, (unsigned)calls);
		pre[r] = time_prequeue(&pq, (unsigned)(calls / BENCH_PREQUEUE_DIV));
		fprintf(stderr, "run %u: verify %.1f ns, forged %.1f ns, mint %.1f ns, prequeue %.1f ns\n", r + 1,
			verify[r], forged_ns[r], mint[r], pre[r]);
	}
	/* Every good token verified ok (0) and every forged one did not. */
	if (sink == 0)
		fprintf(stderr, "bench tokens: (sink 0)\n");
	printf("{\"bench\":\"tokens\",\"verify_ns\":%.1f,\"verify_forged_ns\":%.1f,\"mint_ns\":%.1f,"
	       "\"prequeue_position_ns\":%.1f,\"calls\":%lu,\"runs\":%lu}\n",
	       bench_median(verify, (unsigned)runs), bench_median(forged_ns, (unsigned)runs), bench_median(mint, (unsigned)runs),
	       bench_median(pre, (unsigned)runs), calls, runs);
	dp_keys_free(ks);
	return 0;
}
