/*
 * conc_common.h - small helpers shared by the concurrency tests
 * (test_property.c, test_crash.c, crash_child.c): random numbers, clocks,
 * directory removal, the seat-word expiry decoding.
 *
 * Everything is static so each test stays one translation unit.
 */
#ifndef STAMPEDE_TESTS_CONC_COMMON_H
#define STAMPEDE_TESTS_CONC_COMMON_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The seat word layout (DP_EPOCH_S, DP_WORD_EXPIRY_MASK) is private to the
 * engine; the tests check words against it, so they take it from the source
 * of truth rather than copying the numbers. */
#include "dataplane/dp_internal.h"

static inline uint64_t cc_rng(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n >= 1). */
static inline uint32_t cc_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((cc_rng(s) >> 32) * (uint64_t)n) >> 32);
}

static inline uint64_t cc_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t cc_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static inline void cc_sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000l};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* What the engine stores as the expiry of a HELD word for expiry_ms. */
static inline uint64_t cc_word_expiry(uint64_t expiry_ms)
{
	uint64_t s = expiry_ms / 1000;
	s = s > DP_EPOCH_S ? s - DP_EPOCH_S : 0;
	return s > DP_WORD_EXPIRY_MASK ? DP_WORD_EXPIRY_MASK : s;
}

static inline int cc_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf dir (best effort). */
static inline void cc_rm_rf(const char *dir)
{
	nftw(dir, cc_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
