/*
 * ctl_inv_section.c - the inventory loader's tiers (prices), sections (rows,
 * row blocks, seat labels) and general admission parts. Part of
 * ctl_inventory.c's loader; the shared private declarations are in
 * ctl_inventory_internal.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_inventory.h"
#include "control/ctl_inventory_internal.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

/* ------------------------------------------------------------------ */
/* tiers                                                               */
/* ------------------------------------------------------------------ */

static bool tier_defined(const struct dp_event_def *def, long long id)
{
	for (uint32_t i = 0; i < def->n_tiers; i++)
		if (def->tiers[i].id == id)
			return true;
	return false;
}

/* obj["tier"]: 0 if absent, else a defined tier id. */
static int get_tier_ref(struct ctx *c, json_t *obj, const struct dp_event_def *def, const char *event_path,
			uint8_t *out)
{
	long long t = 0;
	int rc = ctl_inv_get_int(c, obj, "tier", 1, CTL_TIER_ID_MAX, false, 0, &t);
	if (rc)
		return rc;
	if (t && !tier_defined(def, t)) {
		size_t old = ctl_inv_push_key(c, "tier");
		rc = ctl_inv_fail(c, "tier %lld is not defined (expected the id of a tier in %s.tiers)", t, event_path);
		ctl_inv_pop(c, old);
		return rc;
	}
	*out = (uint8_t)t;
	return 0;
}

#define PRICE_EXPECT "a decimal string like \"49.00\", 0.00..42949672.95"

static int parse_price(const char *s, uint32_t *cents)
{
	uint64_t units = 0, frac = 0;
	int d = 0, f = 0;
	while (*s >= '0' && *s <= '9') {
		if (++d > 8)
			return -1;
		units = units * 10 + (uint64_t)(*s++ - '0');
	}
	if (d == 0)
		return -1;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			if (++f > 2)
				return -1;
			frac = frac * 10 + (uint64_t)(*s++ - '0');
		}
		if (f == 0)
			return -1;
		if (f == 1)
			frac *= 10;
	}
	if (*s)
		return -1;
	uint64_t v = units * 100 + frac;
	if (v > UINT32_MAX)
		return -1;
	*cents = (uint32_t)v;
	return 0;
}

int ctl_inv_parse_tier(struct ctx *c, json_t *o, struct dp_event_def *def, uint32_t idx, const char *event_path)
{
	static const char *const keys[] = {"id", "name", "price", "price_cents", NULL};
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "a tier object with \"id\", \"name\" and \"price\"");
	int rc = ctl_inv_check_keys(c, o, keys);
	long long id = 0;
	struct dp_tier_def *t = &def->tiers[idx];
	if (rc || (rc = ctl_inv_get_int(c, o, "id", 1, CTL_TIER_ID_MAX, true, 0, &id)))
		return rc;
	for (uint32_t j = 0; j < idx; j++)
		if (def->tiers[j].id == id) {
			size_t old = ctl_inv_push_key(c, "id");
			rc = ctl_inv_fail(c, "tier id %lld is already used by %s.tiers[%u] (expected unique tier ids)", id,
				  event_path, j);
			ctl_inv_pop(c, old);
			return rc;
		}
	t->id = (uint8_t)id;
	if ((rc = ctl_inv_get_text(c, o, "name", DP_NAME_MAX - 1, "a name", t->name)))
		return rc;
	json_t *p = json_object_get(o, "price"), *pc = json_object_get(o, "price_cents");
	if (p && pc)
		return ctl_inv_fail(c, "has both \"price\" and \"price_cents\" (expected one of them)");
	if (!p && !pc)
		return ctl_inv_fail(c, "missing \"price\" (expected \"price\": \"49.00\" or \"price_cents\": 4900)");
	if (pc) {
		long long v = 0;
		if ((rc = ctl_inv_get_int(c, o, "price_cents", 0, UINT32_MAX, true, 0, &v)))
			return rc;
		t->price_cents = (uint32_t)v;
		return 0;
	}
	size_t old = ctl_inv_push_key(c, "price");
	struct qbuf q;
	if (!json_is_string(p))
		rc = ctl_inv_wrong_type(c, p, PRICE_EXPECT);
	else if (parse_price(json_string_value(p), &t->price_cents))
		rc = ctl_inv_fail(c, "%s is not a price (expected " PRICE_EXPECT ")", ctl_inv_quote(&q, json_string_value(p)));
	ctl_inv_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------------ */
/* sections                                                            */
/* ------------------------------------------------------------------ */

/* What a row (or every row of a row_range block) holds. */
struct rowspec {
	struct rlist seats, acc, wh;
	uint64_t count; /* seats in one row */
	uint8_t tier;
};

static void rowspec_free(struct rowspec *rs)
{
	ctl_inv_rlist_free(&rs->seats);
	ctl_inv_rlist_free(&rs->acc);
	ctl_inv_rlist_free(&rs->wh);
}

/* A section under construction. */
struct secb {
	struct dp_section_def *s;
	size_t seats_cap, rows_cap;
	uint32_t *origin;  /* rows[] index each row came from */
	uint8_t *is_block; /* that entry was a row_range block */
	uint8_t tier;      /* section default tier, 0 = none */
};

static int parse_rowspec(struct ctx *c, json_t *o, const struct dp_event_def *def, const char *event_path,
			 uint8_t section_tier, struct rowspec *rs)
{
	int rc;
	json_t *v = json_object_get(o, "seats");
	if (!v)
		return ctl_inv_fail(c, "missing \"seats\" (expected " SEATS_EXPECT ")");
	size_t old = ctl_inv_push_key(c, "seats");
	rc = ctl_inv_parse_ranges(c, v, &rs->seats);
	ctl_inv_pop(c, old);
	if (rc)
		return rc;
	rs->count = ctl_inv_rlist_count(&rs->seats);
	static const char *const flag_keys[2] = {"accessible", "withheld"};
	struct rlist *lists[2] = {&rs->acc, &rs->wh};
	for (int k = 0; k < 2; k++) {
		v = json_object_get(o, flag_keys[k]);
		if (!v)
			continue;
		old = ctl_inv_push_key(c, flag_keys[k]);
		rc = ctl_inv_parse_ranges(c, v, lists[k]);
		if (rc == 0)
			rc = ctl_inv_check_subset(c, &rs->seats, lists[k]);
		ctl_inv_pop(c, old);
		if (rc)
			return rc;
	}
	if ((rc = get_tier_ref(c, o, def, event_path, &rs->tier)))
		return rc;
	if (rs->tier == 0)
		rs->tier = section_tier;
	if (rs->tier == 0)
		return ctl_inv_fail(c, "missing \"tier\" (expected a tier id here or in the section)");
	return 0;
}

/* Room for `rows` more rows of rs->count seats each; the path is at the row. */
static int reserve(struct ctx *c, struct secb *b, const struct rowspec *rs, uint64_t rows)
{
	struct dp_section_def *s = b->s;
	if (s->n_rows + rows > CTL_ROWS_MAX)
		return ctl_inv_fail(c, "makes %llu rows in the section (expected at most %u rows in a section)",
			    (unsigned long long)(s->n_rows + rows), CTL_ROWS_MAX);
	uint64_t seats = rs->count * rows;
	if (s->n_seats + seats > DP_PART_SEATS_MAX)
		return ctl_inv_fail(c, "makes %llu seats in the section (expected at most %u seats in a section)",
			    (unsigned long long)(s->n_seats + seats), DP_PART_SEATS_MAX);
	if (c->file_seats + seats > CTL_FILE_SEATS_MAX)
		return ctl_inv_fail(c, "makes %llu reserved seats in the file (expected at most %u in one file)",
			    (unsigned long long)(c->file_seats + seats), CTL_FILE_SEATS_MAX);
	if (s->n_rows + rows > b->rows_cap) {
		size_t cap = b->rows_cap ? b->rows_cap : 16;
		while (cap < s->n_rows + rows)
			cap *= 2;
		char(*labels)[DP_ROW_LABEL_MAX] = realloc(s->row_labels, cap * DP_ROW_LABEL_MAX);
		if (!labels)
			return ctl_inv_nomem(c);
		s->row_labels = labels;
		uint32_t *origin = realloc(b->origin, cap * sizeof(*origin));
		if (!origin)
			return ctl_inv_nomem(c);
		b->origin = origin;
		uint8_t *blk = realloc(b->is_block, cap);
		if (!blk)
			return ctl_inv_nomem(c);
		b->is_block = blk;
		b->rows_cap = cap;
	}
	if (s->n_seats + seats > b->seats_cap) {
		size_t cap = b->seats_cap ? b->seats_cap : 64;
		while (cap < s->n_seats + seats)
			cap *= 2;
		struct dp_seat_def *st = realloc(s->seats, cap * sizeof(*st));
		if (!st)
			return ctl_inv_nomem(c);
		s->seats = st;
		b->seats_cap = cap;
	}
	c->file_seats += seats;
	return 0;
}

/* Append one row (space reserved): seats ascending, with their flags. */
static void emit_row(struct secb *b, const struct rowspec *rs, const char *label, uint32_t origin, bool block)
{
	struct dp_section_def *s = b->s;
	uint32_t row = s->n_rows++;
	memset(s->row_labels[row], 0, DP_ROW_LABEL_MAX);
	memcpy(s->row_labels[row], label, strlen(label));
	b->origin[row] = origin;
	b->is_block[row] = block;
	size_t ia = 0, iw = 0;
	for (size_t i = 0; i < rs->seats.n; i++)
		for (uint32_t x = rs->seats.r[i].lo; x <= rs->seats.r[i].hi; x++) {
			uint8_t flags = 0;
			while (ia < rs->acc.n && rs->acc.r[ia].hi < x)
				ia++;
			while (iw < rs->wh.n && rs->wh.r[iw].hi < x)
				iw++;
			if (ia < rs->acc.n && rs->acc.r[ia].lo <= x)
				flags |= DP_SEAT_ACCESSIBLE;
			if (iw < rs->wh.n && rs->wh.r[iw].lo <= x)
				flags |= DP_SEAT_WITHHELD;
			s->seats[s->n_seats++] = (struct dp_seat_def){
				.row = (uint16_t)row, .number = (uint16_t)x, .tier = rs->tier, .flags = flags};
		}
}

static int parse_single_row(struct ctx *c, json_t *o, struct secb *b, const struct dp_event_def *def,
			    const char *event_path, uint32_t origin)
{
	static const char *const keys[] = {"label", "seats", "tier", "accessible", "withheld", NULL};
	char label[DP_ROW_LABEL_MAX];
	struct rowspec rs = {0};
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc == 0)
		rc = ctl_inv_get_text(c, o, "label", DP_ROW_LABEL_MAX - 1, "a row label", label);
	if (rc == 0)
		rc = parse_rowspec(c, o, def, event_path, b->tier, &rs);
	if (rc == 0)
		rc = reserve(c, b, &rs, 1);
	if (rc == 0)
		emit_row(b, &rs, label, origin, false);
	rowspec_free(&rs);
	return rc;
}

/* Row label kinds a range can run over. */
enum lkind { LK_BAD, LK_UPPER, LK_LOWER, LK_DIGITS };

static enum lkind label_kind(const char *s)
{
	enum lkind k = LK_BAD;
	for (const char *p = s; *p; p++) {
		enum lkind here = *p >= 'A' && *p <= 'Z' ? LK_UPPER
				  : *p >= 'a' && *p <= 'z' ? LK_LOWER
				  : *p >= '0' && *p <= '9' ? LK_DIGITS
							   : LK_BAD;
		if (here == LK_BAD || (k != LK_BAD && here != k))
			return LK_BAD;
		k = here;
	}
	return k;
}

/* Letters count like spreadsheet columns (A..Z, AA..AZ, BA..); numbers as numbers. */
static uint64_t label_value(const char *s, enum lkind k)
{
	uint64_t v = 0;
	for (const char *p = s; *p; p++)
		v = k == LK_DIGITS ? v * 10 + (uint64_t)(*p - '0') : v * 26 + (uint64_t)(*p - (k == LK_UPPER ? 'A' : 'a') + 1);
	return v;
}

/* The label of value v (width: zero-padded numbers); "" if it needs more than 7 bytes. */
static void label_make(char out[DP_ROW_LABEL_MAX], uint64_t v, enum lkind k, int width)
{
	char tmp[32];
	int n = 0;
	if (k == LK_DIGITS) {
		n = snprintf(tmp, sizeof(tmp), "%0*llu", width, (unsigned long long)v);
	} else {
		char rev[32];
		int r = 0;
		while (v > 0 && r < 30) {
			v--;
			rev[r++] = (char)((k == LK_UPPER ? 'A' : 'a') + (int)(v % 26));
			v /= 26;
		}
		for (int i = 0; i < r; i++)
			tmp[i] = rev[r - 1 - i];
		n = r;
		tmp[n] = '\0';
	}
	if (n < 1 || n > DP_ROW_LABEL_MAX - 1)
		n = 0;
	memcpy(out, tmp, (size_t)n);
	out[n] = '\0';
}

#define FROM_EXPECT "letters like \"A\" or \"AA\", or a number like \"1\""

static int parse_block(struct ctx *c, json_t *row, struct secb *b, const struct dp_event_def *def,
		       const char *event_path, uint32_t origin)
{
	static const char *const row_keys[] = {"row_range", NULL};
	static const char *const keys[] = {"from", "to", "skip", "seats", "tier", "accessible", "withheld", NULL};
	int rc = ctl_inv_check_keys(c, row, row_keys);
	if (rc)
		return rc;
	json_t *o = json_object_get(row, "row_range");
	size_t old = ctl_inv_push_key(c, "row_range");
	struct rowspec rs = {0};
	char from[DP_ROW_LABEL_MAX], to[DP_ROW_LABEL_MAX], lbl[DP_ROW_LABEL_MAX];
	uint64_t skipv[CTL_SKIP_MAX];
	size_t nskip = 0;
	struct qbuf q1, q2, q3;
	if (!json_is_object(o)) {
		rc = ctl_inv_wrong_type(c, o, "an object with \"from\", \"to\" and \"seats\"");
		goto out;
	}
	if ((rc = ctl_inv_check_keys(c, o, keys)) || (rc = ctl_inv_get_text(c, o, "from", DP_ROW_LABEL_MAX - 1, "a row label", from)) ||
	    (rc = ctl_inv_get_text(c, o, "to", DP_ROW_LABEL_MAX - 1, "a row label", to)))
		goto out;
	enum lkind k = label_kind(from);
	if (k == LK_BAD) {
		size_t o2 = ctl_inv_push_key(c, "from");
		rc = ctl_inv_fail(c, "%s cannot start a row range (expected " FROM_EXPECT ")", ctl_inv_quote(&q1, from));
		ctl_inv_pop(c, o2);
		goto out;
	}
	int width = k == LK_DIGITS && from[0] == '0' && from[1] ? (int)strlen(from) : 0;
	uint64_t vf = label_value(from, k), vt = 0;
	if (label_kind(to) == k) {
		vt = label_value(to, k);
		label_make(lbl, vt, k, width);
	}
	if (label_kind(to) != k || strcmp(lbl, to) != 0) {
		size_t o2 = ctl_inv_push_key(c, "to");
		rc = ctl_inv_fail(c, "%s does not continue the numbering of from %s (expected %s)", ctl_inv_quote(&q1, to),
			  ctl_inv_quote(&q2, from),
			  k == LK_DIGITS ? (width ? "a number of the same width" : "a number without leading zeros")
			  : k == LK_UPPER ? "capital letters"
					  : "small letters");
		ctl_inv_pop(c, o2);
		goto out;
	}
	if (vf > vt) {
		rc = ctl_inv_fail(c, "from %s comes after to %s (expected from at or before to)", ctl_inv_quote(&q1, from), ctl_inv_quote(&q2, to));
		goto out;
	}
	json_t *sk = json_object_get(o, "skip");
	if (sk) {
		size_t o2 = ctl_inv_push_key(c, "skip");
		char expect[64];
		snprintf(expect, sizeof(expect), "an array of at most %d row labels", CTL_SKIP_MAX);
		if (!json_is_array(sk))
			rc = ctl_inv_wrong_type(c, sk, expect);
		else if (json_array_size(sk) > CTL_SKIP_MAX)
			rc = ctl_inv_fail(c, "has %zu labels (expected at most %d)", json_array_size(sk), CTL_SKIP_MAX);
		for (size_t i = 0; rc == 0 && i < json_array_size(sk); i++) {
			json_t *e = json_array_get(sk, i);
			size_t o3 = ctl_inv_push_index(c, i);
			if (!json_is_string(e))
				rc = ctl_inv_wrong_type(c, e, "a row label");
			else if ((rc = ctl_inv_check_text(c, json_string_value(e), DP_ROW_LABEL_MAX - 1, "a row label")) == 0) {
				const char *s = json_string_value(e);
				bool same = label_kind(s) == k;
				uint64_t v = same ? label_value(s, k) : 0;
				if (same)
					label_make(lbl, v, k, width);
				if (!same || strcmp(lbl, s) != 0 || v < vf || v > vt)
					rc = ctl_inv_fail(c, "row %s is not in the range %s..%s (expected labels the range makes)",
						  ctl_inv_quote(&q1, s), ctl_inv_quote(&q2, from), ctl_inv_quote(&q3, to));
				for (size_t j = 0; rc == 0 && j < nskip; j++)
					if (skipv[j] == v)
						rc = ctl_inv_fail(c, "row %s is listed twice (expected each label once)", ctl_inv_quote(&q1, s));
				if (rc == 0)
					skipv[nskip++] = v;
			}
			ctl_inv_pop(c, o3);
		}
		ctl_inv_pop(c, o2);
		if (rc)
			goto out;
	}
	uint64_t rows = vt - vf + 1 - nskip;
	if (rows == 0) {
		rc = ctl_inv_fail(c, "skips every row (expected at least one row)");
		goto out;
	}
	if ((rc = parse_rowspec(c, o, def, event_path, b->tier, &rs)))
		goto out;
	if ((rc = reserve(c, b, &rs, rows)))
		goto out;
	for (uint64_t v = vf; v <= vt; v++) {
		bool skipped = false;
		for (size_t j = 0; j < nskip; j++)
			if (skipv[j] == v)
				skipped = true;
		if (skipped)
			continue;
		label_make(lbl, v, k, width);
		emit_row(b, &rs, lbl, origin, true);
	}
out:
	rowspec_free(&rs);
	ctl_inv_pop(c, old);
	return rc;
}

/* First later duplicate among n string keys: returns its index and the first one's, or -1. */
static int skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	int r = strcmp(x->s, y->s);
	return r ? r : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

int ctl_inv_first_dup_str(struct skey *k, size_t n, uint32_t *first, uint32_t *dup)
{
	qsort(k, n, sizeof(*k), skey_cmp);
	int found = 0;
	for (size_t i = 1; i < n; i++)
		if (strcmp(k[i].s, k[i - 1].s) == 0 && (i < 2 || strcmp(k[i - 1].s, k[i - 2].s) != 0)) {
			/* k[i] is the second of its group: the group's earliest repeat. */
			if (!found || k[i].idx < *dup) {
				*dup = k[i].idx;
				*first = k[i - 1].idx;
				found = 1;
			}
		}
	return found ? 0 : -1;
}

struct nkey {
	uint64_t v;
	uint32_t idx;
};

static int nkey_cmp(const void *a, const void *b)
{
	const struct nkey *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int first_dup_num(struct nkey *k, size_t n, uint32_t *first, uint32_t *dup)
{
	qsort(k, n, sizeof(*k), nkey_cmp);
	int found = 0;
	for (size_t i = 1; i < n; i++)
		if (k[i].v == k[i - 1].v && (i < 2 || k[i - 1].v != k[i - 2].v))
			if (!found || k[i].idx < *dup) {
				*dup = k[i].idx;
				*first = k[i - 1].idx;
				found = 1;
			}
	return found ? 0 : -1;
}

static int check_row_labels(struct ctx *c, struct secb *b)
{
	struct dp_section_def *s = b->s;
	struct skey *k = malloc(s->n_rows * sizeof(*k));
	if (!k)
		return ctl_inv_nomem(c);
	for (uint32_t i = 0; i < s->n_rows; i++)
		k[i] = (struct skey){.s = s->row_labels[i], .idx = i};
	uint32_t first, dup;
	int rc = 0;
	if (ctl_inv_first_dup_str(k, s->n_rows, &first, &dup) == 0) {
		struct qbuf q;
		size_t o1 = ctl_inv_push_key(c, "rows");
		ctl_inv_push_index(c, b->origin[dup]);
		ctl_inv_push_key(c, b->is_block[dup] ? "row_range" : "label");
		rc = ctl_inv_fail(c, "row label %s is already used by rows[%u] (expected row labels unique within a section)",
			  ctl_inv_quote(&q, s->row_labels[dup]), b->origin[first]);
		ctl_inv_pop(c, o1);
	}
	free(k);
	return rc;
}

int ctl_inv_parse_section(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_section_def *s,
		  const char *event_path)
{
	static const char *const keys[] = {"id", "name", "tier", "rows", NULL};
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "a section object with \"id\", \"name\" and \"rows\"");
	long long id = 0;
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc || (rc = ctl_inv_get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	s->id = (uint32_t)id;
	struct secb b = {.s = s};
	if ((rc = ctl_inv_get_text(c, o, "name", DP_NAME_MAX - 1, "a name", s->name)) ||
	    (rc = get_tier_ref(c, o, def, event_path, &b.tier)))
		return rc;
	json_t *rows = json_object_get(o, "rows");
	if (!rows)
		return ctl_inv_fail(c, "missing \"rows\" (expected an array of rows)");
	size_t old = ctl_inv_push_key(c, "rows");
	if (!json_is_array(rows))
		rc = ctl_inv_wrong_type(c, rows, "an array of rows");
	else if (json_array_size(rows) == 0)
		rc = ctl_inv_fail(c, "is empty (expected at least one row)");
	for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);
		size_t o2 = ctl_inv_push_index(c, i);
		if (!json_is_object(r))
			rc = ctl_inv_wrong_type(c, r, "a row object with \"label\" or \"row_range\"");
		else if (json_object_get(r, "row_range"))
			rc = parse_block(c, r, &b, def, event_path, (uint32_t)i);
		else
			rc = parse_single_row(c, r, &b, def, event_path, (uint32_t)i);
		ctl_inv_pop(c, o2);
	}
	ctl_inv_pop(c, old);
	if (rc == 0)
		rc = check_row_labels(c, &b);
	if (rc == 0) {
		/* Give back the slack of the growing arrays. */
		struct dp_seat_def *st = realloc(s->seats, (size_t)s->n_seats * sizeof(*st));
		if (st)
			s->seats = st;
		char(*labels)[DP_ROW_LABEL_MAX] = realloc(s->row_labels, (size_t)s->n_rows * DP_ROW_LABEL_MAX);
		if (labels)
			s->row_labels = labels;
	}
	free(b.origin);
	free(b.is_block);
	return rc;
}

int ctl_inv_parse_ga(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_ga_def *g, const char *event_path)
{
	static const char *const keys[] = {"id", "name", "capacity", "tier", NULL};
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "a general-admission object with \"id\", \"name\", \"capacity\" and \"tier\"");
	long long id = 0, cap = 0;
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc || (rc = ctl_inv_get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	g->id = (uint32_t)id;
	if ((rc = ctl_inv_get_text(c, o, "name", DP_NAME_MAX - 1, "a name", g->name)) ||
	    (rc = ctl_inv_get_int(c, o, "capacity", 1, DP_PART_SEATS_MAX, true, 0, &cap)))
		return rc;
	g->capacity = (uint32_t)cap;
	if (!json_object_get(o, "tier"))
		return ctl_inv_fail(c, "missing \"tier\" (expected the id of a tier in %s.tiers)", event_path);
	return get_tier_ref(c, o, def, event_path, &g->tier);
}

/* Section and GA ids share one space. */
int ctl_inv_check_part_ids(struct ctx *c, const struct dp_event_def *def, const char *event_path)
{
	size_t n = (size_t)def->n_sections + def->n_ga;
	struct nkey *k = malloc((n ? n : 1) * sizeof(*k));
	if (!k)
		return ctl_inv_nomem(c);
	for (uint32_t i = 0; i < n; i++)
		k[i] = (struct nkey){.v = i < def->n_sections ? def->sections[i].id : def->ga[i - def->n_sections].id,
				     .idx = i};
	uint32_t first = 0, dup = 0; /* set by first_dup_num when it returns 0 */
	int rc = 0;
	if (first_dup_num(k, n, &first, &dup) == 0) {
		bool ds = dup < def->n_sections, fs = first < def->n_sections;
		uint32_t id = ds ? def->sections[dup].id : def->ga[dup - def->n_sections].id;
		size_t old = ctl_inv_push_key(c, ds ? "sections" : "general_admission");
		ctl_inv_push_index(c, ds ? dup : dup - def->n_sections);
		ctl_inv_push_key(c, "id");
		rc = ctl_inv_fail(c,
			  "id %u is already used by %s.%s[%u] (expected section and general-admission ids unique "
			  "within an event)",
			  id, event_path, fs ? "sections" : "general_admission", fs ? first : first - def->n_sections);
		ctl_inv_pop(c, old);
	}
	free(k);
	return rc;
}
