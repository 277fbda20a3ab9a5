/*
 * bench_util.h - clocks and a median for the benchmark programs in tools/
 * (bench_core, bench_tokens, bench_presale, the peer clients of bench peers).
 */
#ifndef STAMPEDE_BENCH_UTIL_H
#define STAMPEDE_BENCH_UTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: for durations. */
uint64_t bench_now_ns(void);

/* CLOCK_REALTIME in ms since the Unix epoch: for hold expiries. */
uint64_t bench_wall_ms(void);

/* The median of v[0..n-1] (n >= 1, no NaN); sorts v. */
double bench_median(double *v, unsigned n);

#endif
