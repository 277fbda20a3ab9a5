/*
 * dp_prequeue.c - the pre-queue's keyed permutation (dp_prequeue.h).
 */
#include "dataplane/dp_prequeue.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ROUND_KEY_BYTES 16
#define HMAC_OUT_BYTES 32
#define DERIVE_LABEL "stampede prequeue v1"

_Static_assert((DP_PREQUEUE_ROUNDS * ROUND_KEY_BYTES) % HMAC_OUT_BYTES == 0, "whole HMAC blocks");

/* x rotated left by b (1..63) bits. */
static uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* The 8 little-endian bytes at p; p not NULL. */
static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                                           \
	do {                                                                                               \
		v0 += v1;                                                                                  \
		v1 = rotl64(v1, 13);                                                                       \
		v1 ^= v0;                                                                                  \
		v0 = rotl64(v0, 32);                                                                       \
		v2 += v3;                                                                                  \
		v3 = rotl64(v3, 16);                                                                       \
		v3 ^= v2;                                                                                  \
		v0 += v3;                                                                                  \
		v3 = rotl64(v3, 21);                                                                       \
		v3 ^= v0;                                                                                  \
		v2 += v1;                                                                                  \
		v1 = rotl64(v1, 17);                                                                       \
		v1 ^= v2;                                                                                  \
		v2 = rotl64(v2, 32);                                                                       \
	} while (0)

/* SipHash-2-4 of one 8-byte message; key (two words) may not be NULL. */
uint64_t dp_prequeue_round(const uint64_t *key, uint64_t x)
{
	uint64_t v0 = key[0] ^ UINT64_C(0x736f6d6570736575), v1 = key[1] ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key[0] ^ UINT64_C(0x6c7967656e657261), v3 = key[1] ^ UINT64_C(0x7465646279746573);
	const uint64_t last = UINT64_C(8) << 56; /* message length 8, no tail bytes */
	v3 ^= x;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= x;
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Round keys from HMAC-SHA256(secret, label || n || block); see header. */
int dp_prequeue_init(struct dp_prequeue *p, const uint8_t *secret, uint64_t n)
{
	assert(p && secret);
	if (n == 0 || n > DP_PREQUEUE_N_MAX)
		return -EINVAL;
	unsigned half_bits = 0;
	while ((UINT64_C(1) << (2 * half_bits)) < n)
		half_bits++;
	assert(half_bits <= DP_PREQUEUE_HALF_BITS_MAX);

	uint8_t keys[DP_PREQUEUE_ROUNDS * ROUND_KEY_BYTES];
	uint8_t msg[sizeof(DERIVE_LABEL) - 1 + 8 + 1];
	memcpy(msg, DERIVE_LABEL, sizeof(DERIVE_LABEL) - 1);
	for (unsigned i = 0; i < 8; i++)
		msg[sizeof(DERIVE_LABEL) - 1 + i] = (uint8_t)(n >> (8 * i));
	for (unsigned b = 0; b < sizeof(keys) / HMAC_OUT_BYTES; b++) {
		unsigned out_len = 0;
		msg[sizeof(msg) - 1] = (uint8_t)b;
		if (!HMAC(EVP_sha256(), secret, DP_PREQUEUE_SECRET_SIZE, msg, sizeof(msg),
			  keys + b * HMAC_OUT_BYTES, &out_len) ||
		    out_len != HMAC_OUT_BYTES) {
			OPENSSL_cleanse(keys, sizeof(keys));
			return -EIO;
		}
	}
	p->n = n;
	p->half_bits = half_bits;
	p->half_mask = (UINT64_C(1) << half_bits) - 1;
	for (unsigned r = 0; r < DP_PREQUEUE_ROUNDS; r++) {
		p->round_key[r][0] = get_le64(keys + r * ROUND_KEY_BYTES);
		p->round_key[r][1] = get_le64(keys + r * ROUND_KEY_BYTES + 8);
	}
	OPENSSL_cleanse(keys, sizeof(keys));
	return 0;
}

/* One pass of the Feistel network over 0..4^half_bits-1: a bijection. */
static uint64_t feistel(const struct dp_prequeue *p, uint64_t x)
{
	uint64_t left = x >> p->half_bits, right = x & p->half_mask;
	for (unsigned r = 0; r < DP_PREQUEUE_ROUNDS; r++) {
		uint64_t next = left ^ (dp_prequeue_round(p->round_key[r], right) & p->half_mask);
		left = right;
		right = next;
	}
	return (left << p->half_bits) | right;
}

/*
 * Cycle-walking: apply the bijection until the value is below n. It ends
 * because s < n lies on its own cycle; the domain is under 4n, so fewer
 * than 4 passes are expected.
 */
uint64_t dp_prequeue_position(const struct dp_prequeue *p, uint64_t s)
{
	assert(p && s < p->n);
	uint64_t x = s;
	do
		x = feistel(p, x);
	while (x >= p->n);
	return x;
}
