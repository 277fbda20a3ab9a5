/*
 * waiting_helpers.h - shared by the waiting-room tests: a seeded PRNG (so
 * failures reproduce) and fixed test keys.
 */
#ifndef STAMPEDE_WAITING_HELPERS_H
#define STAMPEDE_WAITING_HELPERS_H

#include <stdint.h>
#include <string.h>

#include "dataplane/dp_token.h"

/* xorshift64*: seeded, never 0. */
static inline uint64_t w_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static inline void w_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(w_rand(s) >> 56);
}

/* A fixed secret per byte value: secret[i] = seed + i. */
static inline void w_secret(uint8_t seed, uint8_t *secret)
{
	for (unsigned i = 0; i < DP_KEY_SIZE; i++)
		secret[i] = (uint8_t)(seed + i);
}

/* A ticket's fields for event 7, client 1001, position 42. */
static inline struct dp_token_fields w_ticket(void)
{
	struct dp_token_fields f = {.kind = DP_TOKEN_TICKET,
				    .event_id = 7,
				    .client_id = 1001,
				    .position = 42,
				    .time_ms = UINT64_C(1760000000000)};
	return f;
}

/* An access token's fields for event 7, client 1001, expiring at 2,000,000 ms. */
static inline struct dp_token_fields w_access(void)
{
	struct dp_token_fields f = {.kind = DP_TOKEN_ACCESS,
				    .event_id = 7,
				    .client_id = 1001,
				    .position = 42,
				    .time_ms = 2000000};
	return f;
}

#endif
