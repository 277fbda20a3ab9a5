/*
 * dp_codec.c - event definitions to bytes and back (format in dp_codec.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static void put(struct wbuf *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, 4); }

int dp_event_def_encode(const struct dp_event_def *def, void **blob, size_t *len)
{
	struct wbuf b = {0};
	put_u32(&b, DP_CODEC_MAGIC);
	put_u32(&b, def->id);
	put(&b, def->name, DP_NAME_MAX);
	put_u32(&b, def->hold_ttl_ms);
	put_u32(&b, def->buyer_limit);
	put_u32(&b, def->n_tiers);
	put_u32(&b, def->n_sections);
	put_u32(&b, def->n_ga);
	for (uint32_t i = 0; i < def->n_tiers; i++) {
		put(&b, &def->tiers[i].id, 1);
		put(&b, def->tiers[i].name, DP_NAME_MAX);
		put_u32(&b, def->tiers[i].price_cents);
	}
	for (uint32_t i = 0; i < def->n_sections; i++) {
		const struct dp_section_def *s = &def->sections[i];
		put_u32(&b, s->id);
		put(&b, s->name, DP_NAME_MAX);
		put_u32(&b, s->n_rows);
		put_u32(&b, s->n_seats);
		put(&b, s->row_labels, (size_t)s->n_rows * DP_ROW_LABEL_MAX);
		for (uint32_t k = 0; k < s->n_seats; k++) {
			const struct dp_seat_def *st = &s->seats[k];
			uint16_t rn[2] = {st->row, st->number};
			put(&b, rn, 4);
			put(&b, &st->tier, 1);
			put(&b, &st->flags, 1);
		}
	}
	for (uint32_t i = 0; i < def->n_ga; i++) {
		put_u32(&b, def->ga[i].id);
		put(&b, def->ga[i].name, DP_NAME_MAX);
		put_u32(&b, def->ga[i].capacity);
		put(&b, &def->ga[i].tier, 1);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*blob = b.p;
	*len = b.len;
	return 0;
}

struct rbuf {
	const uint8_t *p;
	size_t left;
	const char *what; /* first field that did not fit */
};

static int get(struct rbuf *b, void *dst, size_t n, const char *what)
{
	if (b->what)
		return -1;
	if (n > b->left) {
		b->what = what;
		return -1;
	}
	memcpy(dst, b->p, n);
	b->p += n;
	b->left -= n;
	return 0;
}

void dp_event_def_free(struct dp_event_def *def)
{
	if (!def)
		return;
	if (def->sections)
		for (uint32_t i = 0; i < def->n_sections; i++) {
			free(def->sections[i].seats);
			free(def->sections[i].row_labels);
		}
	free(def->sections);
	free(def->tiers);
	free(def->ga);
	free(def);
}

#define FAIL(...)                                                                                             \
	do {                                                                                                  \
		if (err && errlen)                                                                            \
			snprintf(err, errlen, __VA_ARGS__);                                                   \
		dp_event_def_free(d);                                                                         \
		return -EINVAL;                                                                               \
	} while (0)

int dp_event_def_decode(const void *blob, size_t len, struct dp_event_def **out, char *err, size_t errlen)
{
	struct rbuf b = {blob, len, NULL};
	struct dp_event_def *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	uint32_t magic = 0;
	get(&b, &magic, 4, "magic");
	if (b.what || magic != DP_CODEC_MAGIC)
		FAIL("event definition: bad magic (not a Stampede event definition)");
	get(&b, &d->id, 4, "id");
	get(&b, d->name, DP_NAME_MAX, "name");
	get(&b, &d->hold_ttl_ms, 4, "hold_ttl_ms");
	get(&b, &d->buyer_limit, 4, "buyer_limit");
	uint32_t nt = 0, ns = 0, ng = 0;
	get(&b, &nt, 4, "n_tiers");
	get(&b, &ns, 4, "n_sections");
	get(&b, &ng, 4, "n_ga");
	if (b.what)
		FAIL("event definition: truncated at %s", b.what);
	if (nt > DP_TIERS_MAX || (uint64_t)ns + ng > DP_PARTS_MAX)
		FAIL("event definition: counts out of bounds (tiers %u, sections %u, ga %u)", nt, ns, ng);
	/* Each entry needs at least its fixed bytes: reject counts the data cannot hold. */
	if ((uint64_t)nt * (1 + DP_NAME_MAX + 4) + (uint64_t)ns * (12 + DP_NAME_MAX) +
		    (uint64_t)ng * (9 + DP_NAME_MAX) > b.left)
		FAIL("event definition: counts larger than the data");
	d->tiers = calloc(nt ? nt : 1, sizeof(*d->tiers));
	d->sections = calloc(ns ? ns : 1, sizeof(*d->sections));
	d->ga = calloc(ng ? ng : 1, sizeof(*d->ga));
	if (!d->tiers || !d->sections || !d->ga) {
		dp_event_def_free(d);
		return -ENOMEM;
	}
	d->n_tiers = nt;
	for (uint32_t i = 0; i < nt; i++) {
		get(&b, &d->tiers[i].id, 1, "tier id");
		get(&b, d->tiers[i].name, DP_NAME_MAX, "tier name");
		get(&b, &d->tiers[i].price_cents, 4, "tier price");
	}
	for (uint32_t i = 0; i < ns && !b.what; i++) {
		struct dp_section_def *s = &d->sections[i];
		d->n_sections = i + 1; /* so free() sees what was allocated */
		get(&b, &s->id, 4, "section id");
		get(&b, s->name, DP_NAME_MAX, "section name");
		get(&b, &s->n_rows, 4, "section n_rows");
		get(&b, &s->n_seats, 4, "section n_seats");
		if (b.what)
			break;
		if (s->n_rows == 0 || s->n_rows > 65536 || s->n_seats == 0 || s->n_seats > DP_PART_SEATS_MAX ||
		    (uint64_t)s->n_rows * DP_ROW_LABEL_MAX + (uint64_t)s->n_seats * 6 > b.left)
			FAIL("event definition: section %u: %u rows, %u seats out of bounds or truncated", s->id,
			     s->n_rows, s->n_seats);
		s->row_labels = calloc(s->n_rows, DP_ROW_LABEL_MAX);
		s->seats = calloc(s->n_seats, sizeof(*s->seats));
		if (!s->row_labels || !s->seats) {
			dp_event_def_free(d);
			return -ENOMEM;
		}
		get(&b, s->row_labels, (size_t)s->n_rows * DP_ROW_LABEL_MAX, "row labels");
		for (uint32_t k = 0; k < s->n_seats; k++) {
			uint16_t rn[2] = {0, 0};
			get(&b, rn, 4, "seat");
			get(&b, &s->seats[k].tier, 1, "seat tier");
			get(&b, &s->seats[k].flags, 1, "seat flags");
			s->seats[k].row = rn[0];
			s->seats[k].number = rn[1];
		}
	}
	d->n_sections = ns;
	if (b.what)
		FAIL("event definition: truncated at %s", b.what);
	d->n_ga = ng;
	for (uint32_t i = 0; i < ng; i++) {
		get(&b, &d->ga[i].id, 4, "ga id");
		get(&b, d->ga[i].name, DP_NAME_MAX, "ga name");
		get(&b, &d->ga[i].capacity, 4, "ga capacity");
		get(&b, &d->ga[i].tier, 1, "ga tier");
	}
	if (b.what)
		FAIL("event definition: truncated at %s", b.what);
	if (b.left != 0)
		FAIL("event definition: %zu bytes left over", b.left);
	char why[160];
	if (dp_event_def_check(d, why, sizeof(why)) != 0)
		FAIL("event definition: %s", why);
	*out = d;
	return 0;
}

struct dp_event_def *dp_event_def_dup(const struct dp_event_def *def)
{
	void *blob;
	size_t len;
	struct dp_event_def *d = NULL;
	if (dp_event_def_encode(def, &blob, &len) != 0)
		return NULL;
	/* Round-trip through the codec: one copy routine, and it proves the
	 * definition encodes and decodes. */
	if (dp_event_def_decode(blob, len, &d, NULL, 0) != 0)
		d = NULL;
	free(blob);
	return d;
}
