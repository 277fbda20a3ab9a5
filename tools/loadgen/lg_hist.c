/*
 * lg_hist.c - log-linear latency histograms (lg_hist.h).
 */
#include <string.h>

#include "tools/loadgen/lg_hist.h"

/* The bucket of value v: values below LG_HIST_SUB have one bucket each;
 * above, the top 4 bits below the leading one pick one of 16 per power. */
static unsigned bucket_of(uint64_t v)
{
	if (v < LG_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	unsigned sub = (unsigned)((v >> (e - 4)) & (LG_HIST_SUB - 1));
	unsigned i = (e - 3) * LG_HIST_SUB + sub;
	return i < LG_HIST_BUCKETS ? i : LG_HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket i. */
static uint64_t bucket_top(unsigned i)
{
	if (i < LG_HIST_SUB)
		return i;
	unsigned e = i / LG_HIST_SUB + 3, sub = i % LG_HIST_SUB;
	return ((uint64_t)(LG_HIST_SUB + sub + 1) << (e - 4)) - 1;
}

/* Empty the histogram. */
void lg_hist_reset(struct lg_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Count one value. */
void lg_hist_add(struct lg_hist *h, uint64_t us)
{
	h->b[bucket_of(us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

/* The q-quantile: walk the buckets until q of the values are passed. */
uint64_t lg_hist_quantile(const struct lg_hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t top = bucket_top(i);
			return top < h->max_us ? top : h->max_us;
		}
	}
	return h->max_us;
}
