/*
 * lg_hist.h - latency histograms of stampede-loadgen: log-linear buckets
 * (16 per power of two) over microseconds, fixed size, no allocation.
 * A quantile is the upper bound of the bucket holding it (at most 1/16 =
 * 6.25% above the true value).
 */
#ifndef LG_HIST_H
#define LG_HIST_H

#include <stdint.h>

#define LG_HIST_SUB 16u   /* buckets per power of two */
#define LG_HIST_EXP 36u   /* powers of two covered: up to 2^36 us (19 h) */
#define LG_HIST_BUCKETS (LG_HIST_SUB * LG_HIST_EXP)

struct lg_hist {
	uint64_t n;
	uint64_t max_us;
	uint32_t b[LG_HIST_BUCKETS];
};

void lg_hist_reset(struct lg_hist *h);
void lg_hist_add(struct lg_hist *h, uint64_t us);
/* The q-quantile (0 < q <= 1) in microseconds: the upper bound of its
 * bucket, never above the largest value seen; 0 when empty. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q);

#endif
