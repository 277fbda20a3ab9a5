/*
 * dp_presale_def.c - presale window definitions: the checks a definition
 * must pass, and its stored form (the `presale_def` database). No DPDK,
 * LMDB or liburcu: the fuzz target compiles this file alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_presale.h"

#define ERR(...)                                                                                             \
	do {                                                                                                  \
		if (err && errlen)                                                                            \
			snprintf(err, errlen, __VA_ARGS__);                                                   \
		return -EINVAL;                                                                               \
	} while (0)

/* Length of a valid code (1..32 printable non-space bytes, NUL-terminated
 * within the field), or 0. */
static unsigned code_len_ok(const char *code)
{
	unsigned n = 0;
	while (n <= DP_PRESALE_CODE_MAX && code[n] != 0) {
		if ((unsigned char)code[n] <= 0x20 || (unsigned char)code[n] >= 0x7f)
			return 0;
		n++;
	}
	return n <= DP_PRESALE_CODE_MAX ? n : 0;
}

int dp_presale_def_check(const struct dp_presale_def *def, uint32_t event_id, char *err, size_t errlen)
{
	if (!def || def->n_windows == 0)
		return 0;
	if (def->n_windows > DP_PRESALE_WINDOWS_MAX)
		ERR("event %u: %u presale windows, at most %u", event_id, def->n_windows, DP_PRESALE_WINDOWS_MAX);
	uint64_t slots = 0;
	for (uint32_t w = 0; w < def->n_windows; w++) {
		const struct dp_presale_window *win = &def->windows[w];
		if (!memchr(win->name, 0, DP_NAME_MAX))
			ERR("event %u: presale window %u: name longer than %d bytes", event_id, w, DP_NAME_MAX - 1);
		if (win->end_ms <= win->start_ms)
			ERR("event %u: presale window \"%s\": end is not after start", event_id, win->name);
		if (win->n_codes && !win->codes)
			ERR("event %u: presale window \"%s\": no codes array", event_id, win->name);
		for (uint32_t i = 0; i < win->n_codes; i++) {
			const struct dp_presale_code *c = &win->codes[i];
			if (!code_len_ok(c->code))
				ERR("event %u: presale window \"%s\": code %u is not 1..%d printable bytes without spaces",
				    event_id, win->name, i, DP_PRESALE_CODE_MAX);
			if (c->uses == 0)
				ERR("event %u: presale window \"%s\": code \"%s\": uses must be at least 1", event_id,
				    win->name, c->code);
			slots += c->uses;
		}
	}
	if (slots > DP_PRESALE_SLOTS_MAX)
		ERR("event %u: presale codes have %llu uses in all, more than DP_PRESALE_SLOTS_MAX (%u)", event_id,
		    (unsigned long long)slots, DP_PRESALE_SLOTS_MAX);
	return 0;
}

/* ---- stored form: "SPS1", u32 n_windows, per window: name[48], u64 start,
 * u64 end, u32 n_codes, per code: u8 len, len bytes, u32 uses ---- */

static int put_bytes(uint8_t **p, size_t *len, size_t *cap, const void *src, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		while (c < *len + n)
			c *= 2;
		uint8_t *q = realloc(*p, c);
		if (!q)
			return -ENOMEM;
		*p = q;
		*cap = c;
	}
	memcpy(*p + *len, src, n);
	*len += n;
	return 0;
}

int dp_presale_def_encode(const struct dp_presale_def *def, void **blob, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;
	int rc = put_bytes(&p, &n, &cap, "SPS1", 4);
	if (rc == 0)
		rc = put_bytes(&p, &n, &cap, &def->n_windows, 4);
	for (uint32_t w = 0; rc == 0 && w < def->n_windows; w++) {
		const struct dp_presale_window *win = &def->windows[w];
		char name[DP_NAME_MAX] = {0};
		memcpy(name, win->name, strnlen(win->name, DP_NAME_MAX - 1));
		rc = put_bytes(&p, &n, &cap, name, sizeof(name));
		rc = rc ? rc : put_bytes(&p, &n, &cap, &win->start_ms, 8);
		rc = rc ? rc : put_bytes(&p, &n, &cap, &win->end_ms, 8);
		rc = rc ? rc : put_bytes(&p, &n, &cap, &win->n_codes, 4);
		for (uint32_t i = 0; rc == 0 && i < win->n_codes; i++) {
			const uint8_t cl = (uint8_t)strnlen(win->codes[i].code, DP_PRESALE_CODE_MAX);
			rc = put_bytes(&p, &n, &cap, &cl, 1);
			rc = rc ? rc : put_bytes(&p, &n, &cap, win->codes[i].code, cl);
			rc = rc ? rc : put_bytes(&p, &n, &cap, &win->codes[i].uses, 4);
		}
	}
	if (rc) {
		free(p);
		return rc;
	}
	*blob = p;
	*len = n;
	return 0;
}

/* Read n bytes at *at of blob (len bytes) into dst: 0, or -1 past the end. */
static int get_bytes(const uint8_t *blob, size_t len, size_t *at, void *dst, size_t n)
{
	if (n > len - *at)
		return -1;
	memcpy(dst, blob + *at, n);
	*at += n;
	return 0;
}

int dp_presale_def_decode(const void *blob, size_t len, struct dp_presale_def *def, struct dp_presale_code **mem)
{
	const uint8_t *b = blob;
	size_t at = 0;
	char magic[4];
	memset(def, 0, sizeof(*def));
	*mem = NULL;
	if (!blob || get_bytes(b, len, &at, magic, 4) || memcmp(magic, "SPS1", 4) ||
	    get_bytes(b, len, &at, &def->n_windows, 4) || def->n_windows > DP_PRESALE_WINDOWS_MAX)
		return -EINVAL;
	/* Each code takes at least 6 bytes: the total is bounded by the blob. */
	struct dp_presale_code *codes = calloc(len / 6 + 1, sizeof(*codes));
	if (!codes)
		return -ENOMEM;
	size_t used = 0;
	for (uint32_t w = 0; w < def->n_windows; w++) {
		struct dp_presale_window *win = &def->windows[w];
		if (get_bytes(b, len, &at, win->name, DP_NAME_MAX) || !memchr(win->name, 0, DP_NAME_MAX) ||
		    get_bytes(b, len, &at, &win->start_ms, 8) || get_bytes(b, len, &at, &win->end_ms, 8) ||
		    get_bytes(b, len, &at, &win->n_codes, 4) || win->n_codes > (len - at) / 6)
			goto bad;
		win->codes = codes + used;
		for (uint32_t i = 0; i < win->n_codes; i++) {
			uint8_t cl;
			struct dp_presale_code *c = &codes[used++];
			if (get_bytes(b, len, &at, &cl, 1) || cl == 0 || cl > DP_PRESALE_CODE_MAX ||
			    get_bytes(b, len, &at, c->code, cl) || get_bytes(b, len, &at, &c->uses, 4))
				goto bad;
		}
	}
	if (at != len || dp_presale_def_check(def, 0, NULL, 0) != 0)
		goto bad;
	*mem = codes;
	return 0;
bad:
	free(codes);
	memset(def, 0, sizeof(*def));
	return -EINVAL;
}
