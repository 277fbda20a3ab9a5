/*
 * bench_presale.c - `tools/bench presale`: the per-request cost of presale
 * codes on one core, ns per call, on a table of 100,000 member codes (one use
 * each) and one code of 500,000 uses: looking a code up (known, unknown),
 * redeeming a code the client already holds (the lookup and the probe that
 * finds its slot: every retry and refresh), a new redemption (the
 * compare-and-swap and the append to the slots-taken log), and a new client
 * on a code whose 100,000 uses are all taken (used up). Each is timed
 * over --calls calls (new redemptions: at most the code's uses), --runs
 * times; the median run is reported. Prints one JSON line last:
 *   {"bench":"presale","find_ns":X,"find_unknown_ns":X,"redeem_held_ns":X,
 *    "redeem_new_ns":X,"redeem_used_up_ns":X,"codes":N,"calls":N,"runs":R}
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/dp_presale.h"
#include "tools/bench_util.h"

#define BENCH_MEMBERS 100000u
#define BENCH_BIG_USES 500000u
#define BENCH_FULL_USES 100000u
#define BENCH_RUNS_MAX 99
#define BENCH_CALLS_MAX 100000000u

static volatile uint64_t sink;

static char names[BENCH_MEMBERS][16];

/* ns per lookup of calls codes: members (known) or with a suffix (unknown). */
static double time_find(const struct dp_presale *ps, unsigned calls, int unknown)
{
	uint64_t acc = 0, t0 = bench_now_ns();
	for (unsigned i = 0; i < calls; i++) {
		const char *c = names[(i * 7919u) % BENCH_MEMBERS];
		acc += (uint64_t)dp_presale_find(ps, (const uint8_t *)c, (unsigned)strlen(c) + (unknown ? 1 : 0));
	}
	uint64_t dt = bench_now_ns() - t0;
	sink += acc;
	return (double)dt / calls;
}

/* ns per redemption of code i by clients first.. first+calls-1. */
static double time_redeem(struct dp_presale *ps, uint32_t i, uint64_t first, unsigned calls, const char *code)
{
	uint64_t acc = 0, t0 = bench_now_ns();
	for (unsigned k = 0; k < calls; k++) {
		const int idx = dp_presale_find(ps, (const uint8_t *)code, (unsigned)strlen(code));
		acc += (uint64_t)dp_presale_redeem(ps, idx >= 0 ? (uint32_t)idx : i, first + k);
	}
	uint64_t dt = bench_now_ns() - t0;
	sink += acc;
	return (double)dt / calls;
}

static void usage(void)
{
	fprintf(stderr, "usage: stampede-bench-presale [--calls N] [--runs R]\n"
			"  --calls N  calls per timed run (default 1000000; new redemptions: at most %u)\n"
			"  --runs R   timed runs, the median is reported (default 5, at most %d)\n",
		BENCH_BIG_USES / BENCH_RUNS_MAX, BENCH_RUNS_MAX);
}

int main(int argc, char **argv)
{
	unsigned calls = 1000000, runs = 5;
	static const struct option opts[] = {{"calls", required_argument, NULL, 'c'},
					     {"runs", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		unsigned long v = optarg ? strtoul(optarg, &end, 10) : 0;
		if (o == 'c' && *optarg && !*end && v >= 1 && v <= BENCH_CALLS_MAX)
			calls = (unsigned)v;
		else if (o == 'r' && *optarg && !*end && v >= 1 && v <= BENCH_RUNS_MAX)
			runs = (unsigned)v;
		else {
			usage();
			return o == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	struct dp_presale_code *codes = calloc(BENCH_MEMBERS + 2, sizeof(*codes));
	if (!codes)
		return 1;
	for (unsigned i = 0; i < BENCH_MEMBERS; i++) {
		snprintf(names[i], sizeof(names[i]), "member-%06u", i);
		memcpy(codes[i].code, names[i], strlen(names[i]) + 1);
		codes[i].uses = 1;
	}
	snprintf(codes[BENCH_MEMBERS].code, sizeof(codes[0].code), "BIG");
	codes[BENCH_MEMBERS].uses = BENCH_BIG_USES;
	snprintf(codes[BENCH_MEMBERS + 1].code, sizeof(codes[0].code), "FULL");
	codes[BENCH_MEMBERS + 1].uses = BENCH_FULL_USES;
	struct dp_presale_def def = {.n_windows = 1};
	snprintf(def.windows[0].name, DP_NAME_MAX, "bench");
	def.windows[0].start_ms = 1;
	def.windows[0].end_ms = 2;
	def.windows[0].n_codes = BENCH_MEMBERS + 2;
	def.windows[0].codes = codes;
	struct dp_presale *ps;
	char err[256];
	if (dp_presale_build(&def, 1, NULL, &ps, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench presale: %s\n", err);
		return 1;
	}
	free(codes);
	const uint32_t big = (uint32_t)dp_presale_find(ps, (const uint8_t *)"BIG", 3);
	const uint32_t full = (uint32_t)dp_presale_find(ps, (const uint8_t *)"FULL", 4);
	for (uint64_t c = 1; c <= BENCH_FULL_USES; c++)
		if (dp_presale_redeem(ps, full, c) != DP_REDEEM_PENDING) {
			fprintf(stderr, "bench presale: filling FULL failed\n");
			return 1;
		}
	unsigned new_calls = calls;
	if ((uint64_t)new_calls * runs > BENCH_BIG_USES)
		new_calls = BENCH_BIG_USES / runs;
	double f[BENCH_RUNS_MAX], u[BENCH_RUNS_MAX], h[BENCH_RUNS_MAX], n[BENCH_RUNS_MAX], x[BENCH_RUNS_MAX];
	for (unsigned r = 0; r < runs; r++) {
		n[r] = time_redeem(ps, big, 1 + (uint64_t)r * new_calls, new_calls, "BIG"); /* fresh clients */
		x[r] = time_redeem(ps, full, 1000000000ull + (uint64_t)r * calls, calls, "FULL"); /* used up */
		f[r] = time_find(ps, calls, 0);
		u[r] = time_find(ps, calls, 1);
		/* clients that hold a slot already, cycled */
		const unsigned held = new_calls < calls ? new_calls : calls;
		h[r] = 0;
		for (unsigned done = 0; done < calls; done += held) {
			const unsigned k = calls - done < held ? calls - done : held;
			h[r] += time_redeem(ps, big, 1, k, "BIG") * k;
		}
		h[r] /= calls;
	}
	if (dp_presale_redeem(ps, big, 1) == DP_REDEEM_USED_UP) {
		fprintf(stderr, "bench presale: a held client was not found\n");
		return 1;
	}
	if (dp_presale_redeem(ps, full, 1000000000ull - 1) != DP_REDEEM_USED_UP) {
		fprintf(stderr, "bench presale: FULL is not used up\n");
		return 1;
	}
	printf("{\"bench\":\"presale\",\"find_ns\":%.1f,\"find_unknown_ns\":%.1f,\"redeem_held_ns\":%.1f,"
	       "\"redeem_new_ns\":%.1f,\"redeem_used_up_ns\":%.1f,\"codes\":%u,\"calls\":%u,\"runs\":%u}\n",
	       bench_median(f, runs), bench_median(u, runs), bench_median(h, runs), bench_median(n, runs), bench_median(x, runs), BENCH_MEMBERS + 2,
	       calls, runs);
	dp_presale_free(ps);
	return sink == 0xdeadbeef ? 3 : 0;
}
