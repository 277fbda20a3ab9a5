/*
 * test_token.c - waiting-room tickets and access tokens (dataplane/dp_token.c):
 * round trips, every verification refusal and its order, each bit of a valid
 * token flipped, rotation, the MAC against OpenSSL's HMAC(), and random
 * garbage.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dataplane/dp_token.h"
#include "tests/waiting/waiting_helpers.h"

#define NOW_MS 1000000u
#define GARBAGE_TOKENS 100000
#define HMAC_CASES 10000

/* A set holding one key, id, secret w_secret(seed). */
static struct dp_keys *one_key(uint8_t id, uint8_t seed)
{
	uint8_t secret[DP_KEY_SIZE];
	w_secret(seed, secret);
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	assert_int_equal(dp_keys_add(ks, id, secret), 0);
	return ks;
}

static enum dp_token_result verify_as(const struct dp_keys *ks, const uint8_t *tok, const struct dp_token_fields *f)
{
	return dp_token_verify(ks, tok, f->kind, f->event_id, f->client_id, NOW_MS, NULL);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct dp_keys *ks = one_key(3, 0x10);
	uint8_t tok[DP_TOKEN_SIZE], again[DP_TOKEN_SIZE];
	struct dp_token_fields f = w_ticket(), got;
	f.key_id = 99; /* ignored by mint */
	assert_int_equal(dp_token_mint(ks, &f, tok), 0);
	/* The documented layout, byte by byte. */
	assert_int_equal(tok[0], 1);
	assert_int_equal(tok[1], DP_TOKEN_TICKET);
	assert_int_equal(tok[2], 3);
	assert_int_equal(tok[3], 0);
	const uint8_t event_le[4] = {7, 0, 0, 0}, client_le[8] = {0xe9, 0x03, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(tok + 4, event_le, 4);
	assert_memory_equal(tok + 8, client_le, 8);
	assert_int_equal(tok[16], 42);
	memset(&got, 0, sizeof(got));
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_TICKET, 7, 1001, NOW_MS, &got), DP_TOKEN_OK);
	assert_int_equal(got.kind, DP_TOKEN_TICKET);
	assert_int_equal(got.key_id, 3);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.event_id, 7);
	assert_int_equal(got.client_id, 1001);
	assert_int_equal(got.position, 42);
	assert_int_equal(got.time_ms, f.time_ms);
	/* A refresh: the same fields give the same ticket, the same position. */
	assert_int_equal(dp_token_mint(ks, &f, again), 0);
	assert_memory_equal(tok, again, DP_TOKEN_SIZE);

	/* Pre-queue ticket: flag kept. Access token: expiry in time_ms. */
	f.flags = DP_TOKEN_F_PREQUEUE;
	assert_int_equal(dp_token_mint(ks, &f, tok), 0);
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_TICKET, 7, 1001, NOW_MS, &got), DP_TOKEN_OK);
	assert_int_equal(got.flags, DP_TOKEN_F_PREQUEUE);
	/* Presale: the flag and window 5 on a pre-queue ticket, byte 3 = 0x17. */
	f.flags = DP_TOKEN_F_PREQUEUE | DP_TOKEN_PRESALE_FLAGS(5);
	assert_int_equal(dp_token_mint(ks, &f, tok), 0);
	assert_int_equal(tok[3], 0x17);
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_TICKET, 7, 1001, NOW_MS, &got), DP_TOKEN_OK);
	assert_int_equal(got.flags, 0x17);
	assert_int_equal(DP_TOKEN_WINDOW(got.flags), 5);
	struct dp_token_fields a = w_access();
	a.flags = DP_TOKEN_PRESALE_FLAGS(7);
	assert_int_equal(dp_token_mint(ks, &a, tok), 0);
	assert_int_equal(tok[3], 0x1e);
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &got), DP_TOKEN_OK);
	assert_int_equal(DP_TOKEN_WINDOW(got.flags), 7);
	a.flags = 0;
	assert_int_equal(dp_token_mint(ks, &a, tok), 0);
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &got), DP_TOKEN_OK);
	assert_int_equal(got.time_ms, 2000000);
	/* Extreme values survive. */
	a.event_id = UINT32_MAX;
	a.client_id = UINT64_MAX;
	a.position = UINT64_MAX;
	a.time_ms = UINT64_MAX;
	assert_int_equal(dp_token_mint(ks, &a, tok), 0);
	assert_int_equal(dp_token_verify(ks, tok, DP_TOKEN_ACCESS, UINT32_MAX, UINT64_MAX, NOW_MS, &got),
			 DP_TOKEN_OK);
	assert_true(got.position == UINT64_MAX && got.time_ms == UINT64_MAX);
	dp_keys_free(ks);
}

static void test_mint_refusals(void **state)
{
	(void)state;
	struct dp_keys *empty = dp_keys_new();
	assert_non_null(empty);
	uint8_t tok[DP_TOKEN_SIZE], before[DP_TOKEN_SIZE];
	memset(tok, 0xa5, sizeof(tok));
	memcpy(before, tok, sizeof(tok));
	struct dp_token_fields f = w_ticket();
	assert_int_equal(dp_token_mint(empty, &f, tok), -ENOKEY);
	assert_int_equal(dp_keys_current_id(empty), -ENOKEY);
	uint8_t body[DP_TOKEN_BODY_SIZE] = {0}, mac[DP_TOKEN_MAC_SIZE];
	assert_int_equal(dp_token_mac(empty, 0, body, mac), -ENOKEY);
	assert_int_equal(dp_token_verify(empty, tok, DP_TOKEN_TICKET, 7, 1001, NOW_MS, NULL), DP_TOKEN_MALFORMED);
	dp_keys_free(empty);

	struct dp_keys *ks = one_key(1, 0x20);
	f.kind = 0;
	assert_int_equal(dp_token_mint(ks, &f, tok), -EINVAL);
	f.kind = 3;
	assert_int_equal(dp_token_mint(ks, &f, tok), -EINVAL);
	f.kind = DP_TOKEN_TICKET;
	f.flags = 0x20; /* bits 5..7 are never allowed */
	assert_int_equal(dp_token_mint(ks, &f, tok), -EINVAL);
	f.flags = 0x04; /* a window index without the presale flag */
	assert_int_equal(dp_token_mint(ks, &f, tok), -EINVAL);
	struct dp_token_fields a = w_access();
	a.flags = DP_TOKEN_F_PREQUEUE; /* only tickets are pre-queue */
	assert_int_equal(dp_token_mint(ks, &a, tok), -EINVAL);
	assert_memory_equal(tok, before, DP_TOKEN_SIZE);
	dp_keys_free(ks);
}

static void test_key_set_rules(void **state)
{
	(void)state;
	uint8_t s[DP_KEY_SIZE];
	w_secret(1, s);
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	assert_int_equal(dp_keys_count(ks), 0);
	assert_int_equal(dp_keys_add(ks, 5, s), 0);
	assert_int_equal(dp_keys_add(ks, 5, s), -EEXIST);
	assert_int_equal(dp_keys_add(ks, 6, s), 0);
	assert_int_equal(dp_keys_add(ks, 7, s), -ENOSPC);
	assert_int_equal(dp_keys_count(ks), 2);
	assert_int_equal(dp_keys_current_id(ks), 5);
	assert_int_equal(dp_keys_rotate(ks, 5, s), -EEXIST);
	assert_int_equal(dp_keys_rotate(ks, 6, s), 0); /* the previous id may come back as new */
	assert_int_equal(dp_keys_current_id(ks), 6);
	assert_int_equal(dp_keys_count(ks), 2);
	dp_keys_free(ks);
	dp_keys_free(NULL);
	assert_string_equal(dp_token_result_name(DP_TOKEN_OK), "ok");
	assert_string_equal(dp_token_result_name(DP_TOKEN_EXPIRED), "expired");
	assert_string_equal(dp_token_result_name(DP_TOKEN__COUNT), "?");
}

/* Every refusal, one at a time, and that *out is untouched by each. */
static void test_refusals(void **state)
{
	(void)state;
	struct dp_keys *ks = one_key(1, 0x30);
	uint8_t ticket[DP_TOKEN_SIZE], access[DP_TOKEN_SIZE];
	struct dp_token_fields t = w_ticket(), a = w_access();
	assert_int_equal(dp_token_mint(ks, &t, ticket), 0);
	assert_int_equal(dp_token_mint(ks, &a, access), 0);
	struct dp_token_fields out, poison;
	memset(&poison, 0xaa, sizeof(poison));
	memcpy(&out, &poison, sizeof(out));

	/* Expired: expiry must be after now. */
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 7, 1001, 1999999, NULL), DP_TOKEN_OK);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 7, 1001, 2000000, &out), DP_TOKEN_EXPIRED);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 7, 1001, UINT64_MAX, &out),
			 DP_TOKEN_EXPIRED);
	/* A ticket has no expiry of its own. */
	assert_int_equal(dp_token_verify(ks, ticket, DP_TOKEN_TICKET, 7, 1001, UINT64_MAX, NULL), DP_TOKEN_OK);
	/* Another event, another client. */
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 8, 1001, NOW_MS, &out), DP_TOKEN_WRONG_EVENT);
	assert_int_equal(dp_token_verify(ks, ticket, DP_TOKEN_TICKET, 6, 1001, NOW_MS, &out), DP_TOKEN_WRONG_EVENT);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 7, 1002, NOW_MS, &out),
			 DP_TOKEN_WRONG_CLIENT);
	assert_int_equal(dp_token_verify(ks, ticket, DP_TOKEN_TICKET, 7, 0, NOW_MS, &out), DP_TOKEN_WRONG_CLIENT);
	/* A ticket presented as a token, and the reverse. */
	assert_int_equal(dp_token_verify(ks, ticket, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &out), DP_TOKEN_WRONG_KIND);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_TICKET, 7, 1001, NOW_MS, &out), DP_TOKEN_WRONG_KIND);
	/* Order: kind before event before client before expiry. */
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_TICKET, 8, 1002, UINT64_MAX, &out),
			 DP_TOKEN_WRONG_KIND);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 8, 1002, UINT64_MAX, &out),
			 DP_TOKEN_WRONG_EVENT);
	assert_int_equal(dp_token_verify(ks, access, DP_TOKEN_ACCESS, 7, 1002, UINT64_MAX, &out),
			 DP_TOKEN_WRONG_CLIENT);
	/* Forged beats everything after it; malformed and unknown key come first. */
	uint8_t bad[DP_TOKEN_SIZE];
	memcpy(bad, access, sizeof(bad));
	bad[63] ^= 1;
	assert_int_equal(dp_token_verify(ks, bad, DP_TOKEN_TICKET, 8, 1002, UINT64_MAX, &out), DP_TOKEN_FORGED);
	bad[2] = 9;
	assert_int_equal(dp_token_verify(ks, bad, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &out), DP_TOKEN_UNKNOWN_KEY);
	bad[0] = 2;
	assert_int_equal(dp_token_verify(ks, bad, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &out), DP_TOKEN_MALFORMED);
	/* Edited fields with the old MAC: forged (here a later expiry). */
	memcpy(bad, access, sizeof(bad));
	bad[31] = 0x7f;
	assert_int_equal(dp_token_verify(ks, bad, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &out), DP_TOKEN_FORGED);
	/* Signed by a key with the same id but another secret (another host). */
	struct dp_keys *other = one_key(1, 0x31);
	assert_int_equal(dp_token_verify(other, access, DP_TOKEN_ACCESS, 7, 1001, NOW_MS, &out), DP_TOKEN_FORGED);
	dp_keys_free(other);
	assert_memory_equal(&out, &poison, sizeof(out));
	dp_keys_free(ks);
}

/* What flipping one bit of byte i of a valid token must give. */
static enum dp_token_result flipped_expect(const uint8_t *tok, unsigned byte, unsigned bit)
{
	if (byte == 0)
		return DP_TOKEN_MALFORMED;
	if (byte == 1) /* kind 1 or 2 with one bit flipped is 0 or 3 */
		return DP_TOKEN_MALFORMED;
	if (byte == 2)
		return DP_TOKEN_UNKNOWN_KEY; /* the set has only key 1 */
	if (byte == 3) { /* flags: pre-queue (tickets), presale (both), a window index only with presale */
		const uint8_t fl = (uint8_t)(tok[3] ^ (1u << bit));
		if (bit >= 5 || (bit == 0 && tok[1] != DP_TOKEN_TICKET))
			return DP_TOKEN_MALFORMED;
		if ((fl & DP_TOKEN_WINDOW_MASK) && !(fl & DP_TOKEN_F_PRESALE))
			return DP_TOKEN_MALFORMED;
		return DP_TOKEN_FORGED;
	}
	return DP_TOKEN_FORGED;
}

static void test_each_bit_flipped(void **state)
{
	(void)state;
	struct dp_keys *ks = one_key(1, 0x40);
	struct dp_token_fields kinds[4] = {w_ticket(), w_access(), w_ticket(), w_access()};
	kinds[2].flags = DP_TOKEN_PRESALE_FLAGS(3);
	kinds[3].flags = DP_TOKEN_PRESALE_FLAGS(6);
	for (unsigned k = 0; k < 4; k++) {
		uint8_t tok[DP_TOKEN_SIZE];
		assert_int_equal(dp_token_mint(ks, &kinds[k], tok), 0);
		for (unsigned byte = 0; byte < DP_TOKEN_SIZE; byte++) {
			for (unsigned bit = 0; bit < 8; bit++) {
				uint8_t bad[DP_TOKEN_SIZE];
				memcpy(bad, tok, sizeof(bad));
				bad[byte] ^= (uint8_t)(1u << bit);
				enum dp_token_result r = verify_as(ks, bad, &kinds[k]);
				if (r != flipped_expect(tok, byte, bit))
					fail_msg("kind %u byte %u bit %u: %s", kinds[k].kind, byte, bit,
						 dp_token_result_name(r));
			}
		}
	}
	dp_keys_free(ks);
}

static void test_rotation(void **state)
{
	(void)state;
	uint8_t s1[DP_KEY_SIZE], s2[DP_KEY_SIZE], s3[DP_KEY_SIZE];
	w_secret(0x51, s1);
	w_secret(0x52, s2);
	w_secret(0x53, s3);
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	assert_int_equal(dp_keys_rotate(ks, 1, s1), 0); /* rotating into an empty set adds */
	assert_int_equal(dp_keys_count(ks), 1);
	struct dp_token_fields a = w_access();
	uint8_t t1[DP_TOKEN_SIZE], t2[DP_TOKEN_SIZE], t3[DP_TOKEN_SIZE];
	assert_int_equal(dp_token_mint(ks, &a, t1), 0);
	assert_int_equal(t1[2], 1);

	assert_int_equal(dp_keys_rotate(ks, 2, s2), 0);
	assert_int_equal(dp_keys_current_id(ks), 2);
	assert_int_equal(verify_as(ks, t1, &a), DP_TOKEN_OK); /* previous key still accepted */
	assert_int_equal(dp_token_mint(ks, &a, t2), 0);
	assert_int_equal(t2[2], 2); /* new tokens signed with the new key */
	assert_int_equal(verify_as(ks, t2, &a), DP_TOKEN_OK);

	assert_int_equal(dp_keys_rotate(ks, 3, s3), 0);
	assert_int_equal(verify_as(ks, t1, &a), DP_TOKEN_UNKNOWN_KEY); /* dropped after two rotations */
	assert_int_equal(verify_as(ks, t2, &a), DP_TOKEN_OK);
	assert_int_equal(dp_token_mint(ks, &a, t3), 0);
	assert_int_equal(verify_as(ks, t3, &a), DP_TOKEN_OK);
	dp_keys_free(ks);
}

/* Our MAC agrees with OpenSSL's one-shot HMAC() for random keys and bodies. */
static void test_hmac_agrees(void **state)
{
	(void)state;
	uint64_t rng = 0x1234567;
	for (unsigned i = 0; i < HMAC_CASES; i++) {
		uint8_t secret[DP_KEY_SIZE], body[DP_TOKEN_BODY_SIZE], mine[DP_TOKEN_MAC_SIZE], ref[EVP_MAX_MD_SIZE];
		w_fill(&rng, secret, sizeof(secret));
		w_fill(&rng, body, sizeof(body));
		uint8_t id = (uint8_t)i;
		struct dp_keys *ks = dp_keys_new();
		assert_non_null(ks);
		assert_int_equal(dp_keys_add(ks, id, secret), 0);
		assert_int_equal(dp_token_mac(ks, id, body, mine), 0);
		unsigned ref_len = 0;
		assert_non_null(HMAC(EVP_sha256(), secret, sizeof(secret), body, sizeof(body), ref, &ref_len));
		assert_int_equal(ref_len, DP_TOKEN_MAC_SIZE);
		assert_memory_equal(mine, ref, DP_TOKEN_MAC_SIZE);
		assert_int_equal(dp_token_mac(ks, (uint8_t)(id + 1), body, mine), -ENOKEY);

		/* A minted token's last 32 bytes are HMAC() of its first 32. */
		if (i % 16 == 0) {
			struct dp_token_fields f = {.kind = (uint8_t)(1 + i % 2),
						    .event_id = (uint32_t)w_rand(&rng),
						    .client_id = w_rand(&rng),
						    .position = w_rand(&rng),
						    .time_ms = w_rand(&rng)};
			uint8_t tok[DP_TOKEN_SIZE];
			assert_int_equal(dp_token_mint(ks, &f, tok), 0);
			assert_non_null(HMAC(EVP_sha256(), secret, sizeof(secret), tok, DP_TOKEN_BODY_SIZE, ref,
					     &ref_len));
			assert_memory_equal(tok + DP_TOKEN_BODY_SIZE, ref, DP_TOKEN_MAC_SIZE);
		}
		dp_keys_free(ks);
	}
}

/* Random bytes never verify; nor random bodies behind a valid header. */
static void test_garbage(void **state)
{
	(void)state;
	struct dp_keys *ks = one_key(1, 0x60);
	uint8_t s2[DP_KEY_SIZE];
	w_secret(0x61, s2);
	assert_int_equal(dp_keys_add(ks, 2, s2), 0);
	uint64_t rng = 0xfeedface;
	unsigned counts[DP_TOKEN__COUNT] = {0};
	for (unsigned i = 0; i < GARBAGE_TOKENS; i++) {
		uint8_t tok[DP_TOKEN_SIZE];
		w_fill(&rng, tok, sizeof(tok));
		if (i % 2) { /* half reach the MAC check */
			tok[0] = DP_TOKEN_VERSION;
			tok[1] = (uint8_t)(1 + (i / 2) % 2);
			tok[2] = (uint8_t)(1 + (i / 4) % 2);
			tok[3] = 0;
		}
		uint8_t want = (uint8_t)(1 + (i / 8) % 2);
		uint32_t event = (uint32_t)(tok[4] | tok[5] << 8 | tok[6] << 16 | (uint32_t)tok[7] << 24);
		uint64_t client = 0;
		for (unsigned b = 0; b < 8; b++)
			client |= (uint64_t)tok[8 + b] << (8 * b);
		/* Even asked with the token's own event and client. */
		enum dp_token_result r = dp_token_verify(ks, tok, want, event, client, 0, NULL);
		assert_int_not_equal(r, DP_TOKEN_OK);
		assert_true((unsigned)r < DP_TOKEN__COUNT);
		counts[r]++;
	}
	assert_int_equal(counts[DP_TOKEN_FORGED], GARBAGE_TOKENS / 2);
	dp_keys_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_mint_refusals),
		cmocka_unit_test(test_key_set_rules),   cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_each_bit_flipped), cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_hmac_agrees),     cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
