/*
 * fuzz_token.c - libFuzzer target: arbitrary bytes as a token and as a key
 * file. The first DP_TOKEN_SIZE bytes (zero-padded) are verified against a
 * fixed key set, as a ticket and as an access token: never ok unless the
 * input is a token the set really signed (checked by re-minting it), and
 * the result always in range. The whole input is then parsed as key-file
 * text (from memory, no permission check): on success the set holds 1 or
 * DP_KEYS_MAX keys and can sign; on failure a message was written.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_keys *fixed_keys(void)
{
	static struct dp_keys *ks;
	if (!ks) {
		uint8_t s[DP_KEY_SIZE];
		ks = dp_keys_new();
		if (!ks)
			abort();
		for (unsigned k = 0; k < DP_KEYS_MAX; k++) {
			memset(s, 0x11 * (int)(k + 1), sizeof(s));
			if (dp_keys_add(ks, (uint8_t)(k + 1), s) != 0)
				abort();
		}
	}
	return ks;
}

static void fuzz_verify(const uint8_t *data, size_t size)
{
	const struct dp_keys *ks = fixed_keys();
	uint8_t tok[DP_TOKEN_SIZE] = {0};
	memcpy(tok, data, size < DP_TOKEN_SIZE ? size : DP_TOKEN_SIZE);
	uint32_t event = (uint32_t)(tok[4] | tok[5] << 8 | tok[6] << 16 | (uint32_t)tok[7] << 24);
	uint64_t client = 0;
	for (unsigned b = 0; b < 8; b++)
		client |= (uint64_t)tok[8 + b] << (8 * b);
	for (uint8_t kind = DP_TOKEN_TICKET; kind <= DP_TOKEN_ACCESS; kind++) {
		struct dp_token_fields out;
		memset(&out, 0xee, sizeof(out));
		enum dp_token_result r = dp_token_verify(ks, tok, kind, event, client, 0, &out);
		if ((unsigned)r >= DP_TOKEN__COUNT)
			abort();
		if (r != DP_TOKEN_OK)
			continue;
		/* Accepted: it must be exactly what the set signs for these fields. */
		uint8_t mac[DP_TOKEN_MAC_SIZE];
		if (out.kind != kind || out.event_id != event || out.client_id != client ||
		    dp_token_mac(ks, out.key_id, tok, mac) != 0 ||
		    memcmp(mac, tok + DP_TOKEN_BODY_SIZE, sizeof(mac)) != 0)
			abort();
	}
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	struct dp_keys *ks = NULL;
	char err[DP_KEYS_ERR_MAX];
	err[0] = '\0';
	int rc = dp_keys_parse((const char *)data, size, "fuzz", &ks, err, sizeof(err));
	if (rc != 0) {
		if (ks || err[0] == '\0' || strncmp(err, "fuzz", 4) != 0)
			abort();
		return;
	}
	unsigned n = dp_keys_count(ks);
	if (!ks || n < 1 || n > DP_KEYS_MAX || dp_keys_current_id(ks) < 0)
		abort();
	struct dp_token_fields f = {.kind = DP_TOKEN_ACCESS, .event_id = 1, .client_id = 2, .time_ms = 10};
	uint8_t tok[DP_TOKEN_SIZE];
	if (dp_token_mint(ks, &f, tok) != 0 ||
	    dp_token_verify(ks, tok, DP_TOKEN_ACCESS, 1, 2, 9, NULL) != DP_TOKEN_OK)
		abort();
	dp_keys_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_verify(data, size);
	fuzz_parse(data, size);
	return 0;
}
