/*
 * dp_presale.c - presale codes and their redemption slots (dp_presale.h,
 * docs/waiting-room.md "Presale windows").
 *
 * Slots: each code owns a range of slots, two per use (so about half at most
 * are ever taken and a probe meets a free slot within a few steps, even when
 * the code is used up). A client redeems by probing its code's range from
 * hash(seed, client id) mod range, linearly: its own slot means already
 * redeemed (its state says pending, durable or refused); at a free slot (the
 * client is in no later one) it gives up when the code's count has reached
 * its limit (used up), else takes the slot by compare-and-swap (on losing,
 * the same slot is looked at again: the winner may be this very client,
 * redeeming on another worker) and only then counts itself (fetch_add): the
 * first `limit` in that order are uses, a later one (a race at the last use)
 * marks its slot refused, so exactly `limit` clients ever get a use. Slots
 * are never freed while the table lives, so two workers redeeming for the
 * same client meet at the same first free slot: a client never holds two
 * slots of one code. Each use is appended to `taken` (an index handed out by
 * fetch_add; at most the limits summed, so it never wraps), which the
 * control thread stores in order, then marks durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dataplane/dp_internal.h"
#include "dataplane/dp_presale.h"

_Static_assert(DP_PRESALE_CODE_MAX == ST_PRESALE_CODE_MAX, "stored code size");
_Static_assert(DP_PRESALE_WINDOWS_MAX == 8, "window index in token bits 2..4");


/* FNV-1a over n bytes, mixed. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t code_hash(const uint8_t *code, unsigned len)
{
	return dp_mix64(hash_bytes(0xcbf29ce484222325ull, code, len));
}

void dp_presale_free(struct dp_presale *ps)
{
	if (!ps)
		return;
	free(ps->codes);
	free(ps->hash);
	free(ps->client);
	free(ps->state);
	free(ps->taken);
	free(ps);
}

int dp_presale_find(const struct dp_presale *ps, const uint8_t *code, unsigned len)
{
	if (len == 0 || len > DP_PRESALE_CODE_MAX)
		return -1;
	for (uint32_t h = (uint32_t)code_hash(code, len) & ps->hash_mask;; h = (h + 1) & ps->hash_mask) {
		const uint32_t e = ps->hash[h];
		if (e == 0)
			return -1;
		const struct dp_presale_ent *c = &ps->codes[e - 1];
		if (c->code_len == len && memcmp(c->code, code, len) == 0)
			return (int)(e - 1);
	}
}

/* Probe code i's slots for client_id, taking the first free one unless the
 * code's count has reached its limit. The slot (absolute) when it is the
 * client's (found, or taken now: *took set), or -1 when it holds none and the
 * code is used up. */
static int64_t probe(struct dp_presale *ps, uint32_t i, uint64_t client_id, int *took)
{
	struct dp_presale_ent *c = &ps->codes[i];
	const uint32_t n = c->n_slots;
	const uint32_t start = (uint32_t)(dp_mix64(client_id ^ ps->seed) % n);
	*took = 0;
	for (uint32_t k = 0; k < n; k++) {
		const uint32_t s = c->slot0 + (start + k) % n;
		uint64_t v = atomic_load_explicit(&ps->client[s], memory_order_acquire);
		for (;;) {
			if (v == client_id)
				return s;
			if (v != 0)
				break;
			if (atomic_load_explicit(&c->n_taken, memory_order_acquire) >= c->limit) {
				/* Used up, unless the slot was taken since it was read
				 * (the count is read after, with acquire, so a take that
				 * counted is seen): by this client on another worker
				 * (found), or by another (this client may be further). */
				v = atomic_load_explicit(&ps->client[s], memory_order_acquire);
				if (v == 0)
					return -1;
				if (v == client_id)
					return s;
				break;
			}
			if (atomic_compare_exchange_strong_explicit(&ps->client[s], &v, client_id, memory_order_acq_rel,
								    memory_order_acquire)) {
				*took = 1;
				return s;
			}
			/* lost: v is the winner's id; look at it again */
		}
	}
	return -1; /* every slot taken: only late racers at the last use are beyond the limit */
}

enum dp_redeem dp_presale_redeem(struct dp_presale *ps, uint32_t i, uint64_t client_id)
{
	int took;
	const int64_t s = probe(ps, i, client_id, &took);
	if (s < 0)
		return DP_REDEEM_USED_UP;
	if (took) {
		struct dp_presale_ent *c = &ps->codes[i];
		if (atomic_fetch_add_explicit(&c->n_taken, 1, memory_order_acq_rel) >= c->limit) {
			atomic_store_explicit(&ps->state[s], DP_SLOT_REFUSED, memory_order_release);
			return DP_REDEEM_USED_UP;
		}
		const uint32_t at = atomic_fetch_add_explicit(&ps->n_taken, 1, memory_order_relaxed);
		atomic_store_explicit(&ps->taken[at], (uint32_t)s + 1, memory_order_release);
		return DP_REDEEM_PENDING;
	}
	switch (atomic_load_explicit(&ps->state[s], memory_order_acquire)) {
	case DP_SLOT_DURABLE:
		return DP_REDEEM_OK;
	case DP_SLOT_REFUSED:
		return DP_REDEEM_USED_UP;
	default:
		return DP_REDEEM_PENDING; /* or not yet counted by the worker that took it */
	}
}

uint32_t dp_presale_table_pending(const struct dp_presale *ps)
{
	return atomic_load_explicit(&ps->n_taken, memory_order_acquire) - ps->flushed;
}

uint32_t dp_presale_used(const struct dp_presale *ps, uint32_t i)
{
	const struct dp_presale_ent *c = &ps->codes[i];
	uint32_t n = 0;
	for (uint32_t k = 0; k < c->n_slots; k++)
		n += atomic_load_explicit(&ps->state[c->slot0 + k], memory_order_acquire) == DP_SLOT_DURABLE;
	return n;
}

/* The code owning slot s (codes are in slot0 order). */
static const struct dp_presale_ent *code_of_slot(const struct dp_presale *ps, uint32_t s)
{
	uint32_t lo = 0, hi = ps->n_codes;
	while (hi - lo > 1) {
		const uint32_t mid = lo + (hi - lo) / 2;
		if (ps->codes[mid].slot0 <= s)
			lo = mid;
		else
			hi = mid;
	}
	return &ps->codes[lo];
}

int dp_presale_flush_table(struct st_env *env, uint32_t event_id, struct dp_presale *ps, uint32_t *stored)
{
	if (stored)
		*stored = 0;
	const uint32_t end = atomic_load_explicit(&ps->n_taken, memory_order_acquire);
	uint32_t n = 0;
	while (ps->flushed + n < end && n < DP_PRESALE_FLUSH_MAX &&
	       atomic_load_explicit(&ps->taken[ps->flushed + n], memory_order_acquire) != 0)
		n++; /* an entry still 0 is being written: stop before it */
	if (n == 0)
		return 0;
	struct st_presale_use *u = malloc(n * sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++) {
		const uint32_t s = atomic_load_explicit(&ps->taken[ps->flushed + k], memory_order_acquire) - 1;
		const struct dp_presale_ent *c = code_of_slot(ps, s);
		u[k].event_id = event_id;
		u[k].code_len = c->code_len;
		memcpy(u[k].code, c->code, c->code_len);
		u[k].client_id = atomic_load_explicit(&ps->client[s], memory_order_acquire);
	}
	int rc = st_env_put_presale(env, u, n);
	free(u);
	if (rc)
		return rc;
	for (uint32_t k = 0; k < n; k++) {
		const uint32_t s = atomic_load_explicit(&ps->taken[ps->flushed + k], memory_order_relaxed) - 1;
		atomic_store_explicit(&ps->state[s], DP_SLOT_DURABLE, memory_order_release);
	}
	ps->flushed += n;
	if (stored)
		*stored = n;
	return 0;
}

/* ---- building ---- */

/* A stored redemption read back, for the refill. */
struct kept {
	uint32_t code;
	uint64_t client_id;
};

struct refill {
	const struct dp_presale *ps;
	struct kept *v;
	size_t n, cap;
};

static int refill_cb(void *ctx, const struct st_presale_use *u)
{
	struct refill *r = ctx;
	const int i = dp_presale_find(r->ps, (const uint8_t *)u->code, u->code_len);
	if (i < 0 || u->client_id == 0)
		return 0; /* a code no longer defined: its redemptions stay stored, unused */
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct kept *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct kept){.code = (uint32_t)i, .client_id = u->client_id};
	return 0;
}

/* The definition's fingerprint: a reload with an equal one keeps the table. */
static uint64_t def_fingerprint(const struct dp_presale_def *def)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = hash_bytes(h, &def->n_windows, sizeof(def->n_windows));
	for (uint32_t w = 0; w < def->n_windows; w++) {
		const struct dp_presale_window *win = &def->windows[w];
		h = hash_bytes(h, win->name, strnlen(win->name, DP_NAME_MAX));
		h = hash_bytes(h, &win->start_ms, 8);
		h = hash_bytes(h, &win->end_ms, 8);
		h = hash_bytes(h, &win->n_codes, 4);
		for (uint32_t i = 0; i < win->n_codes; i++) {
			h = hash_bytes(h, win->codes[i].code, strnlen(win->codes[i].code, DP_PRESALE_CODE_MAX) + 1);
			h = hash_bytes(h, &win->codes[i].uses, 4);
		}
	}
	return dp_mix64(h);
}

uint64_t dp_presale_def_fingerprint(const struct dp_presale_def *def);
uint64_t dp_presale_def_fingerprint(const struct dp_presale_def *def)
{
	return def && def->n_windows ? def_fingerprint(def) : 0;
}

int dp_presale_build(const struct dp_presale_def *def, uint32_t event_id, struct st_env *env,
		     struct dp_presale **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = dp_presale_def_check(def, event_id, err, errlen);
	if (rc || !def || def->n_windows == 0)
		return rc;
	struct dp_presale *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->n_windows = def->n_windows;
	ps->fingerprint = def_fingerprint(def);
	ps->first_start_ms = UINT64_MAX;
	uint64_t n_codes = 0;
	for (uint32_t w = 0; w < def->n_windows; w++) {
		const struct dp_presale_window *win = &def->windows[w];
		memcpy(ps->win[w].name, win->name, DP_NAME_MAX);
		ps->win[w].start_ms = win->start_ms;
		ps->win[w].end_ms = win->end_ms;
		ps->win[w].n_codes = win->n_codes;
		if (win->start_ms < ps->first_start_ms)
			ps->first_start_ms = win->start_ms;
		n_codes += win->n_codes;
	}
	/* n_codes <= the uses summed <= DP_PRESALE_SLOTS_MAX (checked) */
	ps->n_codes = (uint32_t)n_codes;
	uint32_t hsize = 16;
	while (hsize < 2 * ps->n_codes)
		hsize *= 2;
	ps->hash_mask = hsize - 1;
	ps->codes = calloc(ps->n_codes ? ps->n_codes : 1, sizeof(*ps->codes));
	ps->hash = calloc(hsize, sizeof(*ps->hash));
	struct refill r = {.ps = ps};
	if (!ps->codes || !ps->hash) {
		rc = -ENOMEM;
		goto fail;
	}
	uint32_t k = 0;
	for (uint32_t w = 0; w < def->n_windows; w++) {
		const struct dp_presale_window *win = &def->windows[w];
		for (uint32_t i = 0; i < win->n_codes; i++, k++) {
			struct dp_presale_ent *c = &ps->codes[k];
			c->code_len = (uint8_t)strnlen(win->codes[i].code, DP_PRESALE_CODE_MAX); /* checked */
			memcpy(c->code, win->codes[i].code, c->code_len);
			c->window = (uint8_t)w;
			c->uses = win->codes[i].uses;
			ps->win[w].uses += c->uses;
			if (dp_presale_find(ps, (const uint8_t *)c->code, c->code_len) >= 0) {
				if (err && errlen)
					snprintf(err, errlen, "event %u: presale code \"%s\" is listed twice", event_id,
						 win->codes[i].code);
				rc = -EINVAL;
				goto fail;
			}
			uint32_t h = (uint32_t)code_hash((const uint8_t *)c->code, c->code_len) & ps->hash_mask;
			while (ps->hash[h])
				h = (h + 1) & ps->hash_mask;
			ps->hash[h] = k + 1;
		}
	}
	/* Redemptions stored before: each code keeps all of its own. */
	if (env) {
		rc = st_env_for_each_presale(env, event_id, refill_cb, &r);
		if (rc)
			goto fail;
	}
	uint32_t *kept_per_code = calloc(ps->n_codes ? ps->n_codes : 1, sizeof(uint32_t));
	if (!kept_per_code) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t j = 0; j < r.n; j++)
		kept_per_code[r.v[j].code]++;
	uint64_t limits = 0;
	for (uint32_t i = 0; i < ps->n_codes; i++) {
		struct dp_presale_ent *c = &ps->codes[i];
		c->limit = c->uses > kept_per_code[i] ? c->uses : kept_per_code[i];
		c->n_slots = 2 * c->limit;
		c->slot0 = (uint32_t)(2 * limits);
		limits += c->limit;
	}
	free(kept_per_code);
	if (limits > DP_PRESALE_SLOTS_MAX) {
		if (err && errlen)
			snprintf(err, errlen,
				 "event %u: presale codes need %llu uses with the redemptions kept, more than "
				 "DP_PRESALE_SLOTS_MAX (%u)",
				 event_id, (unsigned long long)limits, DP_PRESALE_SLOTS_MAX);
		rc = -EINVAL;
		goto fail;
	}
	ps->n_limit = (uint32_t)limits;
	ps->n_slots = (uint32_t)(2 * limits);
	if (RAND_bytes((unsigned char *)&ps->seed, sizeof(ps->seed)) != 1) {
		rc = -EIO;
		goto fail;
	}
	const size_t ns = ps->n_slots ? ps->n_slots : 1;
	ps->client = dp_alloc_zeroed(ns * sizeof(*ps->client));
	ps->state = dp_alloc_zeroed(ns * sizeof(*ps->state));
	ps->taken = dp_alloc_zeroed((ps->n_limit ? ps->n_limit : 1) * sizeof(*ps->taken));
	if (!ps->client || !ps->state || !ps->taken) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t j = 0; j < r.n; j++) {
		int took;
		const int64_t s = probe(ps, r.v[j].code, r.v[j].client_id, &took);
		assert(s >= 0 && took); /* the limit has room for every kept redemption */
		atomic_fetch_add(&ps->codes[r.v[j].code].n_taken, 1);
		atomic_store(&ps->state[s], DP_SLOT_DURABLE);
	}
	free(r.v);
	*out = ps;
	return 0;
fail:
	free(r.v);
	dp_presale_free(ps);
	return rc;
}

