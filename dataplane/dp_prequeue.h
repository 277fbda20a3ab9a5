/*
 * dp_prequeue.h - pre-queue order (issue 5): buyers who join the waiting
 * room before the on-sale time get a pre-queue join sequence s (0, 1, 2,
 * ...); at opening, with n pre-queue joiners, the one holding s gets queue
 * position dp_prequeue_position(p, s): a keyed pseudo-random permutation of
 * 0..n-1. Random order, the same s always gives the same position, and no
 * per-buyer state. Later arrivals take positions n, n+1, ... in order.
 *
 * The permutation is a balanced Feistel network over the smallest power of
 * 4 >= n (two halves of equal width), with cycle-walking to stay below n.
 * Round keys come from HMAC-SHA256 of a per-opening secret; each round
 * function is a SipHash-2-4 of the half-block under its 128-bit round key.
 */
#ifndef STAMPEDE_DP_PREQUEUE_H
#define STAMPEDE_DP_PREQUEUE_H

#include <stdint.h>

#define DP_PREQUEUE_SECRET_SIZE 32
#define DP_PREQUEUE_ROUNDS 8
#define DP_PREQUEUE_HALF_BITS_MAX 16 /* domain up to 4^16 = 2^32 */
#define DP_PREQUEUE_N_MAX (UINT64_C(1) << (2 * DP_PREQUEUE_HALF_BITS_MAX))

/* One opening's permutation; filled by dp_prequeue_init, then read-only
 * (any number of threads may call dp_prequeue_position at once). */
struct dp_prequeue {
	uint64_t n;         /* pre-queue joiners: positions 0..n-1 */
	unsigned half_bits; /* width of each Feistel half */
	uint64_t half_mask;
	uint64_t round_key[DP_PREQUEUE_ROUNDS][2];
};

/*
 * Prepares the permutation of 0..n-1 keyed by secret
 * (DP_PREQUEUE_SECRET_SIZE bytes, e.g. from RAND_bytes at opening; keep it
 * until every pre-queue ticket is spent). Control path (may allocate inside
 * OpenSSL). Returns 0, -EINVAL if n is 0 or over DP_PREQUEUE_N_MAX, or -EIO
 * if OpenSSL's HMAC fails. p and secret may not be NULL.
 */
int dp_prequeue_init(struct dp_prequeue *p, const uint8_t *secret, uint64_t n);

/*
 * The queue position (0..n-1) of pre-queue join sequence s; s must be
 * below p->n. Per request: no allocation, no system call; bounded time
 * (fewer than 4 Feistel passes expected, never more than 4^half_bits).
 */
uint64_t dp_prequeue_position(const struct dp_prequeue *p, uint64_t s);

/*
 * The round function: SipHash-2-4 of the 8 little-endian bytes of x under
 * the 128-bit key (key[0] = key bytes 0..7, key[1] = 8..15, little-endian).
 * Exposed for the test against the SipHash paper's vector. key may not be
 * NULL.
 */
uint64_t dp_prequeue_round(const uint64_t *key, uint64_t x);

#endif
