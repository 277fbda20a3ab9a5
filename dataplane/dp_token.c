/*
 * dp_token.c - minting and verifying waiting-room tickets and access tokens
 * (dp_token.h), and key sets in memory.
 *
 * The per-request path allocates nothing: OpenSSL's EVP and HMAC contexts
 * allocate, so each key's HMAC inner and outer SHA-256 states (after the
 * key XOR ipad / opad blocks) are computed once, when the key is added, and
 * every MAC finishes from stack copies of them with the low-level SHA256_*
 * functions, which work on caller-owned contexts.
 */
/*
 * SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
 * whose contexts are heap-allocated per use (or must be shared, which
 * threads cannot do). They remain supported; this file needs them to keep
 * mint and verify free of allocation.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "dataplane/dp_token.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "dataplane/dp_proto.h"

#define SHA256_BLOCK_SIZE 64
#define HMAC_IPAD 0x36u
#define HMAC_OPAD 0x5cu

/* The wire layout, for the compile-time checks below (coded byte by byte). */
struct dp_token_layout {
	uint8_t version;
	uint8_t kind;
	uint8_t key_id;
	uint8_t flags;
	uint32_t event_id;
	uint64_t client_id;
	uint64_t position;
	uint64_t time_ms;
	uint8_t mac[DP_TOKEN_MAC_SIZE];
};

_Static_assert(DP_TOKEN_SIZE == PROTO_TOKEN_SIZE, "token size is the protocol's");
_Static_assert(sizeof(struct dp_token_layout) == DP_TOKEN_SIZE, "token is 64 bytes");
_Static_assert(offsetof(struct dp_token_layout, version) == 0, "version at 0");
_Static_assert(offsetof(struct dp_token_layout, kind) == 1, "kind at 1");
_Static_assert(offsetof(struct dp_token_layout, key_id) == 2, "key_id at 2");
_Static_assert(offsetof(struct dp_token_layout, flags) == 3, "flags at 3");
_Static_assert(offsetof(struct dp_token_layout, event_id) == 4, "event_id at 4");
_Static_assert(offsetof(struct dp_token_layout, client_id) == 8, "client_id at 8");
_Static_assert(offsetof(struct dp_token_layout, position) == 16, "position at 16");
_Static_assert(offsetof(struct dp_token_layout, time_ms) == 24, "time_ms at 24");
_Static_assert(offsetof(struct dp_token_layout, mac) == DP_TOKEN_BODY_SIZE, "mac after the body");
_Static_assert(DP_TOKEN_BODY_SIZE + DP_TOKEN_MAC_SIZE == DP_TOKEN_SIZE, "body + mac");
_Static_assert(DP_KEY_SIZE <= SHA256_BLOCK_SIZE, "a key fits one block: no key hashing");
_Static_assert(SHA256_DIGEST_LENGTH == DP_TOKEN_MAC_SIZE, "mac is a SHA-256 digest");

struct dp_key_state {
	uint8_t id;
	SHA256_CTX inner; /* after (key ^ ipad) */
	SHA256_CTX outer; /* after (key ^ opad) */
};

struct dp_keys {
	unsigned n;                          /* 0..DP_KEYS_MAX */
	struct dp_key_state k[DP_KEYS_MAX]; /* k[0] current */
};

/* ---- little-endian fields ---- */

/* Stores the low `bytes` (1..8) bytes of v at p, little-endian; p not NULL. */
static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Loads `bytes` (1..8) little-endian bytes at p; p not NULL. */
static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- key sets ---- */

/*
 * Precomputes the HMAC states of secret (DP_KEY_SIZE bytes) into st. May
 * not be given a NULL secret.
 */
static void key_state_init(struct dp_key_state *st, uint8_t id, const uint8_t *secret)
{
	uint8_t block[SHA256_BLOCK_SIZE];
	st->id = id;
	memset(block, 0, sizeof(block));
	memcpy(block, secret, DP_KEY_SIZE);
	for (unsigned i = 0; i < SHA256_BLOCK_SIZE; i++)
		block[i] ^= HMAC_IPAD;
	SHA256_Init(&st->inner);
	SHA256_Update(&st->inner, block, sizeof(block));
	for (unsigned i = 0; i < SHA256_BLOCK_SIZE; i++)
		block[i] ^= HMAC_IPAD ^ HMAC_OPAD;
	SHA256_Init(&st->outer);
	SHA256_Update(&st->outer, block, sizeof(block));
	OPENSSL_cleanse(block, sizeof(block));
}

/* Creates an empty set; NULL when out of memory. */
struct dp_keys *dp_keys_new(void)
{
	return calloc(1, sizeof(struct dp_keys));
}

/* Wipes and frees ks (NULL is allowed). */
void dp_keys_free(struct dp_keys *ks)
{
	if (!ks)
		return;
	OPENSSL_cleanse(ks, sizeof(*ks));
	free(ks);
}

/* Index of key id in ks, or -1. ks may not be NULL. */
static int key_index(const struct dp_keys *ks, uint8_t id)
{
	for (unsigned i = 0; i < ks->n; i++)
		if (ks->k[i].id == id)
			return (int)i;
	return -1;
}

/* Appends a key (current when first). ks and secret may not be NULL. */
int dp_keys_add(struct dp_keys *ks, uint8_t id, const uint8_t *secret)
{
	assert(ks && secret);
	if (key_index(ks, id) >= 0)
		return -EEXIST;
	if (ks->n >= DP_KEYS_MAX)
		return -ENOSPC;
	key_state_init(&ks->k[ks->n], id, secret);
	ks->n++;
	return 0;
}

/* New current key; old current becomes previous; oldest dropped. ks and
 * secret may not be NULL. */
int dp_keys_rotate(struct dp_keys *ks, uint8_t id, const uint8_t *secret)
{
	assert(ks && secret);
	if (ks->n > 0 && ks->k[0].id == id)
		return -EEXIST;
	if (ks->n > 0) {
		ks->k[1] = ks->k[0];
		ks->n = DP_KEYS_MAX;
	} else {
		ks->n = 1;
	}
	key_state_init(&ks->k[0], id, secret);
	return 0;
}

/* Number of keys; ks may not be NULL. */
unsigned dp_keys_count(const struct dp_keys *ks)
{
	assert(ks);
	return ks->n;
}

/* Current key id or -ENOKEY; ks may not be NULL. */
int dp_keys_current_id(const struct dp_keys *ks)
{
	assert(ks);
	return ks->n ? ks->k[0].id : -ENOKEY;
}

/* ---- MAC ---- */

/*
 * HMAC-SHA256 of the token body with a precomputed key state: two SHA-256
 * finishes on stack copies. st, body (DP_TOKEN_BODY_SIZE bytes) and mac
 * (DP_TOKEN_MAC_SIZE bytes) may not be NULL; mac may not overlap body.
 */
static void mac_body(const struct dp_key_state *st, const uint8_t *body, uint8_t *mac)
{
	SHA256_CTX c = st->inner;
	uint8_t ih[SHA256_DIGEST_LENGTH];
	SHA256_Update(&c, body, DP_TOKEN_BODY_SIZE);
	SHA256_Final(ih, &c);
	c = st->outer;
	SHA256_Update(&c, ih, sizeof(ih));
	SHA256_Final(mac, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}

/* MAC with key key_id; no pointer may be NULL. */
int dp_token_mac(const struct dp_keys *ks, uint8_t key_id, const uint8_t *body, uint8_t *mac)
{
	assert(ks && body && mac);
	int i = key_index(ks, key_id);
	if (i < 0)
		return -ENOKEY;
	mac_body(&ks->k[i], body, mac);
	return 0;
}

/* ---- tokens ---- */

/* Whether kind and flags may go together in a token. */
static int kind_flags_ok(uint8_t kind, uint8_t flags)
{
	/* A window index only on a presale token. */
	if (!(flags & DP_TOKEN_F_PRESALE) && (flags & DP_TOKEN_WINDOW_MASK))
		return 0;
	const unsigned presale = DP_TOKEN_F_PRESALE | DP_TOKEN_WINDOW_MASK;
	if (kind == DP_TOKEN_TICKET)
		return (flags & ~(DP_TOKEN_F_PREQUEUE | presale)) == 0;
	if (kind == DP_TOKEN_ACCESS)
		return (flags & ~presale) == 0;
	return 0;
}

/* Signs f into tok; ks, f and tok may not be NULL. */
int dp_token_mint(const struct dp_keys *ks, const struct dp_token_fields *f, uint8_t *tok)
{
	assert(ks && f && tok);
	if (ks->n == 0)
		return -ENOKEY;
	if (!kind_flags_ok(f->kind, f->flags))
		return -EINVAL;
	uint8_t body[DP_TOKEN_BODY_SIZE];
	body[0] = DP_TOKEN_VERSION;
	body[1] = f->kind;
	body[2] = ks->k[0].id;
	body[3] = f->flags;
	put_le(body + 4, f->event_id, 4);
	put_le(body + 8, f->client_id, 8);
	put_le(body + 16, f->position, 8);
	put_le(body + 24, f->time_ms, 8);
	memcpy(tok, body, DP_TOKEN_BODY_SIZE);
	mac_body(&ks->k[0], body, tok + DP_TOKEN_BODY_SIZE);
	return 0;
}

/* Checks tok in the documented order; ks and tok may not be NULL, out may. */
enum dp_token_result dp_token_verify(const struct dp_keys *ks, const uint8_t *tok, uint8_t want_kind,
				     uint32_t event_id, uint64_t client_id, uint64_t now_ms,
				     struct dp_token_fields *out)
{
	assert(ks && tok);
	assert(want_kind == DP_TOKEN_TICKET || want_kind == DP_TOKEN_ACCESS);
	const uint8_t kind = tok[1], key_id = tok[2], flags = tok[3];
	if (tok[0] != DP_TOKEN_VERSION || !kind_flags_ok(kind, flags))
		return DP_TOKEN_MALFORMED;
	const int i = key_index(ks, key_id);
	if (i < 0)
		return DP_TOKEN_UNKNOWN_KEY;
	uint8_t mac[DP_TOKEN_MAC_SIZE];
	mac_body(&ks->k[i], tok, mac);
	if (CRYPTO_memcmp(mac, tok + DP_TOKEN_BODY_SIZE, DP_TOKEN_MAC_SIZE) != 0)
		return DP_TOKEN_FORGED;
	if (kind != want_kind)
		return DP_TOKEN_WRONG_KIND;
	const uint32_t t_event = (uint32_t)get_le(tok + 4, 4);
	const uint64_t t_client = get_le(tok + 8, 8);
	const uint64_t t_time_ms = get_le(tok + 24, 8);
	if (t_event != event_id)
		return DP_TOKEN_WRONG_EVENT;
	if (t_client != client_id)
		return DP_TOKEN_WRONG_CLIENT;
	if (kind == DP_TOKEN_ACCESS && t_time_ms <= now_ms)
		return DP_TOKEN_EXPIRED;
	if (out) {
		out->kind = kind;
		out->key_id = key_id;
		out->flags = flags;
		out->event_id = t_event;
		out->client_id = t_client;
		out->position = get_le(tok + 16, 8);
		out->time_ms = t_time_ms;
	}
	return DP_TOKEN_OK;
}

static const char *const result_names[DP_TOKEN__COUNT] = {
	[DP_TOKEN_OK] = "ok",
	[DP_TOKEN_MALFORMED] = "malformed",
	[DP_TOKEN_UNKNOWN_KEY] = "unknown_key",
	[DP_TOKEN_FORGED] = "forged",
	[DP_TOKEN_WRONG_KIND] = "wrong_kind",
	[DP_TOKEN_WRONG_EVENT] = "wrong_event",
	[DP_TOKEN_WRONG_CLIENT] = "wrong_client",
	[DP_TOKEN_EXPIRED] = "expired",
};

/* Name of r; any value is allowed. */
const char *dp_token_result_name(enum dp_token_result r)
{
	return (unsigned)r < DP_TOKEN__COUNT ? result_names[r] : "?";
}
