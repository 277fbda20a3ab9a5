/*
 * ctl_inventory.c - inventory files (docs/inventory.md) into validated event
 * definitions. JSON is parsed by jansson; everything else is checked here,
 * with the JSON path of the first fault, before anything is returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_inventory.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

/* ------------------------------------------------------------------ */
/* context: file name, the JSON path being checked, the error buffer   */
/* ------------------------------------------------------------------ */

#define PATH_CAP 320

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	char path[PATH_CAP];
	size_t plen;
	uint64_t file_seats; /* reserved seats so far, all events */
};

static size_t push_key(struct ctx *c, const char *key)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, ".%s", key);
	if (n > 0)
		c->plen = c->plen + (size_t)n < sizeof(c->path) ? c->plen + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static size_t push_index(struct ctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);
	if (n > 0)
		c->plen = c->plen + (size_t)n < sizeof(c->path) ? c->plen + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static void pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* Write "FILE: PATH: message" and return -EINVAL. */
__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		int n = snprintf(c->err, c->errlen, "%s: %s: ", c->file, c->path);
		if (n >= 0 && (size_t)n < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static int nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -ENOMEM;
}

/* A value quoted for a message: escaped, cut after 48 bytes (on a UTF-8
 * character boundary) with "..." appended. */
struct qbuf {
	char s[256];
};

static const char *quote_n(struct qbuf *b, const char *s, size_t n)
{
	size_t cut = n, o = 0;
	if (cut > 48) {
		cut = 48;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	b->s[o++] = '"';
	for (size_t i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			b->s[o++] = '\\';
			b->s[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "\\x%02x", ch);
		} else {
			b->s[o++] = (char)ch;
		}
	}
	b->s[o++] = '"';
	if (cut < n) {
		memcpy(b->s + o, "...", 3);
		o += 3;
	}
	b->s[o] = '\0';
	return b->s;
}

static const char *quote(struct qbuf *b, const char *s)
{
	return quote_n(b, s, strlen(s));
}

/* "a string \"x\"", "an integer 5", "an object", ... */
static const char *describe(struct qbuf *b, const json_t *v)
{
	struct qbuf q;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		snprintf(b->s, sizeof(b->s), "a string %s", quote(&q, json_string_value(v)));
		return b->s;
	case JSON_INTEGER:
		snprintf(b->s, sizeof(b->s), "an integer %lld", (long long)json_integer_value(v));
		return b->s;
	case JSON_REAL:
		snprintf(b->s, sizeof(b->s), "a real number %g", json_real_value(v));
		return b->s;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

static int wrong_type(struct ctx *c, const json_t *v, const char *expect)
{
	struct qbuf b;
	return fail(c, "is %s (expected %s)", describe(&b, v), expect);
}

/* Every key of obj must be in keys (NULL-terminated). */
static int check_keys(struct ctx *c, json_t *obj, const char *const *keys)
{
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *k = json_object_iter_key(it);
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			if (strcmp(k, keys[i]) == 0)
				known = true;
		if (!known) {
			char list[256] = "";
			size_t o = 0;
			for (size_t i = 0; keys[i] && o < sizeof(list); i++) {
				int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", keys[i]);
				if (n > 0)
					o += (size_t)n;
			}
			struct qbuf q;
			return fail(c, "unknown key %s (expected one of %s)", quote(&q, k), list);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* scalar fields                                                       */
/* ------------------------------------------------------------------ */

/* obj[key] as an integer lo..hi; absent: dflt unless required. */
static int get_int(struct ctx *c, json_t *obj, const char *key, long long lo, long long hi, bool required,
		   long long dflt, long long *out)
{
	char expect[96];
	snprintf(expect, sizeof(expect), "an integer %lld..%lld", lo, hi);
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return fail(c, "missing \"%s\" (expected %s)", key, expect);
		*out = dflt;
		return 0;
	}
	size_t old = push_key(c, key);
	int rc = 0;
	if (!json_is_integer(v)) {
		rc = wrong_type(c, v, expect);
	} else {
		long long x = json_integer_value(v);
		if (x < lo || x > hi)
			rc = fail(c, "%lld is out of range (expected %s)", x, expect);
		else
			*out = x;
	}
	pop(c, old);
	return rc;
}

/* Text of 1..maxb bytes without control characters; the path is at it. */
static int check_text(struct ctx *c, const char *s, size_t maxb, const char *what)
{
	size_t n = strlen(s);
	if (n == 0)
		return fail(c, "is empty (expected %s of 1..%zu bytes)", what, maxb);
	if (n > maxb)
		return fail(c, "is %zu bytes long (expected %s of 1..%zu bytes)", n, what, maxb);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return fail(c, "contains a control character (expected %s of 1..%zu bytes of printable text)",
				    what, maxb);
	}
	return 0;
}

/* obj[key], a required string checked by check_text, copied into dst (maxb + 1 bytes). */
static int get_text(struct ctx *c, json_t *obj, const char *key, size_t maxb, const char *what, char *dst)
{
	char expect[96];
	snprintf(expect, sizeof(expect), "%s of 1..%zu bytes", what, maxb);
	json_t *v = json_object_get(obj, key);
	if (!v)
		return fail(c, "missing \"%s\" (expected %s)", key, expect);
	size_t old = push_key(c, key);
	int rc;
	if (!json_is_string(v))
		rc = wrong_type(c, v, expect);
	else
		rc = check_text(c, json_string_value(v), maxb, what);
	if (rc == 0)
		memcpy(dst, json_string_value(v), strlen(json_string_value(v)) + 1);
	pop(c, old);
	return rc;
}

static const char *fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms % 3600000u == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000u));
	else if (ms % 60000u == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000u));
	else if (ms % 1000u == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000u));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

/* "90s", "10m", "1h30m", "500ms": one or more NUMBER UNIT pairs. */
static int parse_duration(const char *s, uint64_t *out)
{
	uint64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		uint64_t n = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			if (++digits > 9)
				return -1;
			n = n * 10 + (uint64_t)(*s++ - '0');
		}
		if (digits == 0)
			return -1;
		uint64_t mul;
		if (s[0] == 'm' && s[1] == 's') {
			mul = 1;
			s += 2;
		} else if (*s == 'h') {
			mul = 3600000u;
			s++;
		} else if (*s == 'm') {
			mul = 60000u;
			s++;
		} else if (*s == 's') {
			mul = 1000u;
			s++;
		} else {
			return -1;
		}
		total += n * mul; /* n < 1e9, mul <= 3.6e6 */
		if (total > (1ull << 60))
			total = 1ull << 60; /* saturate: out of range anyway */
	}
	*out = total;
	return 0;
}

static int get_duration(struct ctx *c, json_t *obj, const char *key, uint32_t lo, uint32_t hi, uint32_t dflt,
			uint32_t *out)
{
	char a[24], b[24], expect[96];
	snprintf(expect, sizeof(expect), "a duration like \"90s\", \"10m\" or \"1h30m\", %s..%s",
		 fmt_duration(a, sizeof(a), lo), fmt_duration(b, sizeof(b), hi));
	json_t *v = json_object_get(obj, key);
	if (!v) {
		*out = dflt;
		return 0;
	}
	size_t old = push_key(c, key);
	int rc = 0;
	uint64_t ms = 0;
	struct qbuf q;
	if (!json_is_string(v))
		rc = wrong_type(c, v, expect);
	else if (parse_duration(json_string_value(v), &ms) != 0)
		rc = fail(c, "%s is not a duration (expected %s)", quote(&q, json_string_value(v)), expect);
	else if (ms < lo || ms > hi)
		rc = fail(c, "%s is out of range (expected %s)", quote(&q, json_string_value(v)), expect);
	else
		*out = (uint32_t)ms;
	pop(c, old);
	return rc;
}

static int digits_at(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) into Unix ms (> 0). */
static int parse_time(const char *s, uint64_t *out)
{
	int Y, M, D, h, m, sec, oh = 0, om = 0, ms = 0, sign = 0;
	size_t n = strlen(s);
	if (n < 20 || digits_at(s, 4, &Y) || s[4] != '-' || digits_at(s + 5, 2, &M) || s[7] != '-' ||
	    digits_at(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits_at(s + 11, 2, &h) || s[13] != ':' ||
	    digits_at(s + 14, 2, &m) || s[16] != ':' || digits_at(s + 17, 2, &sec))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		int k = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (k < 3)
				ms = ms * 10 + (*p - '0');
			if (++k > 9)
				return -1;
			p++;
		}
		if (k == 0)
			return -1;
		for (; k < 3; k++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits_at(p + 1, 2, &oh) || p[3] != ':' || digits_at(p + 4, 2, &om))
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap) || h > 23 || m > 59 ||
	    sec > 59 || oh > 23 || om > 59)
		return -1;
	int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	if (t <= 0)
		return -1;
	*out = (uint64_t)t * 1000u + (uint64_t)ms;
	return 0;
}

#define TIME_EXPECT "an RFC 3339 time like \"2026-12-01T09:00:00Z\" or \"2026-12-01T10:00:00+01:00\", from 1970"

/* obj[key] as a time; absent: *present = false (or an error if required). */
static int get_time(struct ctx *c, json_t *obj, const char *key, bool required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return fail(c, "missing \"%s\" (expected %s)", key, TIME_EXPECT);
		*out = 0;
		return 0;
	}
	size_t old = push_key(c, key);
	int rc = 0;
	struct qbuf q;
	if (!json_is_string(v))
		rc = wrong_type(c, v, TIME_EXPECT);
	else if (parse_time(json_string_value(v), out) != 0)
		rc = fail(c, "%s is not a valid time (expected %s)", quote(&q, json_string_value(v)), TIME_EXPECT);
	pop(c, old);
	return rc;
}

/* ------------------------------------------------------------------ */
/* seat number ranges                                                  */
/* ------------------------------------------------------------------ */

struct range {
	uint32_t lo, hi;
};

struct rlist {
	struct range *r;
	size_t n, cap;
};

static void rlist_free(struct rlist *l)
{
	free(l->r);
	l->r = NULL;
	l->n = l->cap = 0;
}

static int rlist_add(struct rlist *l, uint32_t lo, uint32_t hi)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct range *r = realloc(l->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n].lo = lo;
	l->r[l->n].hi = hi;
	l->n++;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static uint64_t rlist_count(const struct rlist *l)
{
	uint64_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->r[i].hi - l->r[i].lo + 1;
	return n;
}

#define RANGE_EXPECT "\"FROM-TO\" with FROM <= TO, 1..65535"
#define SEATS_EXPECT "seat numbers and ranges like \"1-40\" or [1, 2, \"5-9\"]"

static int parse_seat_number(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v < 1 || v > CTL_SEAT_NUMBER_MAX)
		return -1;
	*out = v;
	return 0;
}

/* "1-40", "7", "1-10, 12, 14-20": comma-separated ranges; the path is at the string. */
static int parse_range_string(struct ctx *c, const char *s, struct rlist *out)
{
	const char *p = s;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *t = p;
		size_t tl = len;
		while (tl && *t == ' ') {
			t++;
			tl--;
		}
		while (tl && t[tl - 1] == ' ')
			tl--;
		const char *dash = memchr(t, '-', tl);
		uint32_t lo, hi;
		int bad;
		if (dash)
			bad = parse_seat_number(t, (size_t)(dash - t), &lo) ||
			      parse_seat_number(dash + 1, tl - (size_t)(dash - t) - 1, &hi) || lo > hi;
		else
			bad = parse_seat_number(t, tl, &lo), hi = lo;
		if (bad) {
			struct qbuf q;
			return fail(c, "range %s is not a number range (expected " RANGE_EXPECT ")", quote_n(&q, t, tl));
		}
		if (rlist_add(out, lo, hi))
			return nomem(c);
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* A seats / accessible / withheld value into a sorted list without overlaps. */
static int parse_ranges(struct ctx *c, json_t *v, struct rlist *out)
{
	int rc = 0;
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return fail(c, "is empty (expected " SEATS_EXPECT ")");
		rc = parse_range_string(c, json_string_value(v), out);
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return fail(c, "is empty (expected " SEATS_EXPECT ")");
		for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
			json_t *e = json_array_get(v, i);
			size_t old = push_index(c, i);
			if (json_is_integer(e)) {
				long long x = json_integer_value(e);
				if (x < 1 || x > CTL_SEAT_NUMBER_MAX)
					rc = fail(c, "%lld is out of range (expected a seat number 1..65535)", x);
				else if (rlist_add(out, (uint32_t)x, (uint32_t)x))
					rc = nomem(c);
			} else if (json_is_string(e)) {
				rc = parse_range_string(c, json_string_value(e), out);
			} else {
				rc = wrong_type(c, e, "a seat number or a range like \"1-40\"");
			}
			pop(c, old);
		}
	} else {
		return wrong_type(c, v, SEATS_EXPECT);
	}
	if (rc)
		return rc;
	qsort(out->r, out->n, sizeof(*out->r), range_cmp);
	uint32_t maxhi = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (i > 0 && out->r[i].lo <= maxhi)
			return fail(c, "seat %u is listed twice (expected each seat number once in a row)", out->r[i].lo);
		if (out->r[i].hi > maxhi)
			maxhi = out->r[i].hi;
	}
	return 0;
}

/* Every number of sub must be in seats (both sorted, without overlaps). */
static int check_subset(struct ctx *c, const struct rlist *seats, const struct rlist *sub)
{
	size_t j = 0;
	for (size_t i = 0; i < sub->n; i++) {
		uint32_t x = sub->r[i].lo;
		for (;;) {
			while (j < seats->n && seats->r[j].hi < x)
				j++;
			if (j == seats->n || seats->r[j].lo > x)
				return fail(c, "seat %u is not in this row (expected seat numbers listed in \"seats\")", x);
			if (seats->r[j].hi >= sub->r[i].hi)
				break;
			x = seats->r[j].hi + 1;
		}
	}
	return 0;
}

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
	int rc = get_int(c, obj, "tier", 1, CTL_TIER_ID_MAX, false, 0, &t);
	if (rc)
		return rc;
	if (t && !tier_defined(def, t)) {
		size_t old = push_key(c, "tier");
		rc = fail(c, "tier %lld is not defined (expected the id of a tier in %s.tiers)", t, event_path);
		pop(c, old);
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

static int parse_tier(struct ctx *c, json_t *o, struct dp_event_def *def, uint32_t idx, const char *event_path)
{
	static const char *const keys[] = {"id", "name", "price", "price_cents", NULL};
	if (!json_is_object(o))
		return wrong_type(c, o, "a tier object with \"id\", \"name\" and \"price\"");
	int rc = check_keys(c, o, keys);
	long long id = 0;
	struct dp_tier_def *t = &def->tiers[idx];
	if (rc || (rc = get_int(c, o, "id", 1, CTL_TIER_ID_MAX, true, 0, &id)))
		return rc;
	for (uint32_t j = 0; j < idx; j++)
		if (def->tiers[j].id == id) {
			size_t old = push_key(c, "id");
			rc = fail(c, "tier id %lld is already used by %s.tiers[%u] (expected unique tier ids)", id,
				  event_path, j);
			pop(c, old);
			return rc;
		}
	t->id = (uint8_t)id;
	if ((rc = get_text(c, o, "name", DP_NAME_MAX - 1, "a name", t->name)))
		return rc;
	json_t *p = json_object_get(o, "price"), *pc = json_object_get(o, "price_cents");
	if (p && pc)
		return fail(c, "has both \"price\" and \"price_cents\" (expected one of them)");
	if (!p && !pc)
		return fail(c, "missing \"price\" (expected \"price\": \"49.00\" or \"price_cents\": 4900)");
	if (pc) {
		long long v = 0;
		if ((rc = get_int(c, o, "price_cents", 0, UINT32_MAX, true, 0, &v)))
			return rc;
		t->price_cents = (uint32_t)v;
		return 0;
	}
	size_t old = push_key(c, "price");
	struct qbuf q;
	if (!json_is_string(p))
		rc = wrong_type(c, p, PRICE_EXPECT);
	else if (parse_price(json_string_value(p), &t->price_cents))
		rc = fail(c, "%s is not a price (expected " PRICE_EXPECT ")", quote(&q, json_string_value(p)));
	pop(c, old);
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
	rlist_free(&rs->seats);
	rlist_free(&rs->acc);
	rlist_free(&rs->wh);
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
		return fail(c, "missing \"seats\" (expected " SEATS_EXPECT ")");
	size_t old = push_key(c, "seats");
	rc = parse_ranges(c, v, &rs->seats);
	pop(c, old);
	if (rc)
		return rc;
	rs->count = rlist_count(&rs->seats);
	static const char *const flag_keys[2] = {"accessible", "withheld"};
	struct rlist *lists[2] = {&rs->acc, &rs->wh};
	for (int k = 0; k < 2; k++) {
		v = json_object_get(o, flag_keys[k]);
		if (!v)
			continue;
		old = push_key(c, flag_keys[k]);
		rc = parse_ranges(c, v, lists[k]);
		if (rc == 0)
			rc = check_subset(c, &rs->seats, lists[k]);
		pop(c, old);
		if (rc)
			return rc;
	}
	if ((rc = get_tier_ref(c, o, def, event_path, &rs->tier)))
		return rc;
	if (rs->tier == 0)
		rs->tier = section_tier;
	if (rs->tier == 0)
		return fail(c, "missing \"tier\" (expected a tier id here or in the section)");
	return 0;
}

/* Room for `rows` more rows of rs->count seats each; the path is at the row. */
static int reserve(struct ctx *c, struct secb *b, const struct rowspec *rs, uint64_t rows)
{
	struct dp_section_def *s = b->s;
	if (s->n_rows + rows > CTL_ROWS_MAX)
		return fail(c, "makes %llu rows in the section (expected at most %u rows in a section)",
			    (unsigned long long)(s->n_rows + rows), CTL_ROWS_MAX);
	uint64_t seats = rs->count * rows;
	if (s->n_seats + seats > DP_PART_SEATS_MAX)
		return fail(c, "makes %llu seats in the section (expected at most %u seats in a section)",
			    (unsigned long long)(s->n_seats + seats), DP_PART_SEATS_MAX);
	if (c->file_seats + seats > CTL_FILE_SEATS_MAX)
		return fail(c, "makes %llu reserved seats in the file (expected at most %u in one file)",
			    (unsigned long long)(c->file_seats + seats), CTL_FILE_SEATS_MAX);
	if (s->n_rows + rows > b->rows_cap) {
		size_t cap = b->rows_cap ? b->rows_cap : 16;
		while (cap < s->n_rows + rows)
			cap *= 2;
		char(*labels)[DP_ROW_LABEL_MAX] = realloc(s->row_labels, cap * DP_ROW_LABEL_MAX);
		if (!labels)
			return nomem(c);
		s->row_labels = labels;
		uint32_t *origin = realloc(b->origin, cap * sizeof(*origin));
		if (!origin)
			return nomem(c);
		b->origin = origin;
		uint8_t *blk = realloc(b->is_block, cap);
		if (!blk)
			return nomem(c);
		b->is_block = blk;
		b->rows_cap = cap;
	}
	if (s->n_seats + seats > b->seats_cap) {
		size_t cap = b->seats_cap ? b->seats_cap : 64;
		while (cap < s->n_seats + seats)
			cap *= 2;
		struct dp_seat_def *st = realloc(s->seats, cap * sizeof(*st));
		if (!st)
			return nomem(c);
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
	int rc = check_keys(c, o, keys);
	if (rc == 0)
		rc = get_text(c, o, "label", DP_ROW_LABEL_MAX - 1, "a row label", label);
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
	int rc = check_keys(c, row, row_keys);
	if (rc)
		return rc;
	json_t *o = json_object_get(row, "row_range");
	size_t old = push_key(c, "row_range");
	struct rowspec rs = {0};
	char from[DP_ROW_LABEL_MAX], to[DP_ROW_LABEL_MAX], lbl[DP_ROW_LABEL_MAX];
	uint64_t skipv[CTL_SKIP_MAX];
	size_t nskip = 0;
	struct qbuf q1, q2, q3;
	if (!json_is_object(o)) {
		rc = wrong_type(c, o, "an object with \"from\", \"to\" and \"seats\"");
		goto out;
	}
	if ((rc = check_keys(c, o, keys)) || (rc = get_text(c, o, "from", DP_ROW_LABEL_MAX - 1, "a row label", from)) ||
	    (rc = get_text(c, o, "to", DP_ROW_LABEL_MAX - 1, "a row label", to)))
		goto out;
	enum lkind k = label_kind(from);
	if (k == LK_BAD) {
		size_t o2 = push_key(c, "from");
		rc = fail(c, "%s cannot start a row range (expected " FROM_EXPECT ")", quote(&q1, from));
		pop(c, o2);
		goto out;
	}
	int width = k == LK_DIGITS && from[0] == '0' && from[1] ? (int)strlen(from) : 0;
	uint64_t vf = label_value(from, k), vt = 0;
	if (label_kind(to) == k) {
		vt = label_value(to, k);
		label_make(lbl, vt, k, width);
	}
	if (label_kind(to) != k || strcmp(lbl, to) != 0) {
		size_t o2 = push_key(c, "to");
		rc = fail(c, "%s does not continue the numbering of from %s (expected %s)", quote(&q1, to),
			  quote(&q2, from),
			  k == LK_DIGITS ? (width ? "a number of the same width" : "a number without leading zeros")
			  : k == LK_UPPER ? "capital letters"
					  : "small letters");
		pop(c, o2);
		goto out;
	}
	if (vf > vt) {
		rc = fail(c, "from %s comes after to %s (expected from at or before to)", quote(&q1, from), quote(&q2, to));
		goto out;
	}
	json_t *sk = json_object_get(o, "skip");
	if (sk) {
		size_t o2 = push_key(c, "skip");
		char expect[64];
		snprintf(expect, sizeof(expect), "an array of at most %d row labels", CTL_SKIP_MAX);
		if (!json_is_array(sk))
			rc = wrong_type(c, sk, expect);
		else if (json_array_size(sk) > CTL_SKIP_MAX)
			rc = fail(c, "has %zu labels (expected at most %d)", json_array_size(sk), CTL_SKIP_MAX);
		for (size_t i = 0; rc == 0 && i < json_array_size(sk); i++) {
			json_t *e = json_array_get(sk, i);
			size_t o3 = push_index(c, i);
			if (!json_is_string(e))
				rc = wrong_type(c, e, "a row label");
			else if ((rc = check_text(c, json_string_value(e), DP_ROW_LABEL_MAX - 1, "a row label")) == 0) {
				const char *s = json_string_value(e);
				bool same = label_kind(s) == k;
				uint64_t v = same ? label_value(s, k) : 0;
				if (same)
					label_make(lbl, v, k, width);
				if (!same || strcmp(lbl, s) != 0 || v < vf || v > vt)
					rc = fail(c, "row %s is not in the range %s..%s (expected labels the range makes)",
						  quote(&q1, s), quote(&q2, from), quote(&q3, to));
				for (size_t j = 0; rc == 0 && j < nskip; j++)
					if (skipv[j] == v)
						rc = fail(c, "row %s is listed twice (expected each label once)", quote(&q1, s));
				if (rc == 0)
					skipv[nskip++] = v;
			}
			pop(c, o3);
		}
		pop(c, o2);
		if (rc)
			goto out;
	}
	uint64_t rows = vt - vf + 1 - nskip;
	if (rows == 0) {
		rc = fail(c, "skips every row (expected at least one row)");
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
	pop(c, old);
	return rc;
}

/* First later duplicate among n string keys: returns its index and the first one's, or -1. */
struct skey {
	const char *s;
	uint32_t idx;
};

static int skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	int r = strcmp(x->s, y->s);
	return r ? r : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static int first_dup_str(struct skey *k, size_t n, uint32_t *first, uint32_t *dup)
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
		return nomem(c);
	for (uint32_t i = 0; i < s->n_rows; i++)
		k[i] = (struct skey){.s = s->row_labels[i], .idx = i};
	uint32_t first, dup;
	int rc = 0;
	if (first_dup_str(k, s->n_rows, &first, &dup) == 0) {
		struct qbuf q;
		size_t o1 = push_key(c, "rows");
		push_index(c, b->origin[dup]);
		push_key(c, b->is_block[dup] ? "row_range" : "label");
		rc = fail(c, "row label %s is already used by rows[%u] (expected row labels unique within a section)",
			  quote(&q, s->row_labels[dup]), b->origin[first]);
		pop(c, o1);
	}
	free(k);
	return rc;
}

static int parse_section(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_section_def *s,
			 const char *event_path)
{
	static const char *const keys[] = {"id", "name", "tier", "rows", NULL};
	if (!json_is_object(o))
		return wrong_type(c, o, "a section object with \"id\", \"name\" and \"rows\"");
	long long id = 0;
	int rc = check_keys(c, o, keys);
	if (rc || (rc = get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	s->id = (uint32_t)id;
	struct secb b = {.s = s};
	if ((rc = get_text(c, o, "name", DP_NAME_MAX - 1, "a name", s->name)) ||
	    (rc = get_tier_ref(c, o, def, event_path, &b.tier)))
		return rc;
	json_t *rows = json_object_get(o, "rows");
	if (!rows)
		return fail(c, "missing \"rows\" (expected an array of rows)");
	size_t old = push_key(c, "rows");
	if (!json_is_array(rows))
		rc = wrong_type(c, rows, "an array of rows");
	else if (json_array_size(rows) == 0)
		rc = fail(c, "is empty (expected at least one row)");
	for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);
		size_t o2 = push_index(c, i);
		if (!json_is_object(r))
			rc = wrong_type(c, r, "a row object with \"label\" or \"row_range\"");
		else if (json_object_get(r, "row_range"))
			rc = parse_block(c, r, &b, def, event_path, (uint32_t)i);
		else
			rc = parse_single_row(c, r, &b, def, event_path, (uint32_t)i);
		pop(c, o2);
	}
	pop(c, old);
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

static int parse_ga(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_ga_def *g, const char *event_path)
{
	static const char *const keys[] = {"id", "name", "capacity", "tier", NULL};
	if (!json_is_object(o))
		return wrong_type(c, o, "a general-admission object with \"id\", \"name\", \"capacity\" and \"tier\"");
	long long id = 0, cap = 0;
	int rc = check_keys(c, o, keys);
	if (rc || (rc = get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	g->id = (uint32_t)id;
	if ((rc = get_text(c, o, "name", DP_NAME_MAX - 1, "a name", g->name)) ||
	    (rc = get_int(c, o, "capacity", 1, DP_PART_SEATS_MAX, true, 0, &cap)))
		return rc;
	g->capacity = (uint32_t)cap;
	if (!json_object_get(o, "tier"))
		return fail(c, "missing \"tier\" (expected the id of a tier in %s.tiers)", event_path);
	return get_tier_ref(c, o, def, event_path, &g->tier);
}

/* Section and GA ids share one space. */
static int check_part_ids(struct ctx *c, const struct dp_event_def *def, const char *event_path)
{
	size_t n = (size_t)def->n_sections + def->n_ga;
	struct nkey *k = malloc((n ? n : 1) * sizeof(*k));
	if (!k)
		return nomem(c);
	for (uint32_t i = 0; i < n; i++)
		k[i] = (struct nkey){.v = i < def->n_sections ? def->sections[i].id : def->ga[i - def->n_sections].id,
				     .idx = i};
	uint32_t first, dup;
	int rc = 0;
	if (first_dup_num(k, n, &first, &dup) == 0) {
		bool ds = dup < def->n_sections, fs = first < def->n_sections;
		uint32_t id = ds ? def->sections[dup].id : def->ga[dup - def->n_sections].id;
		size_t old = push_key(c, ds ? "sections" : "general_admission");
		push_index(c, ds ? dup : dup - def->n_sections);
		push_key(c, "id");
		rc = fail(c,
			  "id %u is already used by %s.%s[%u] (expected section and general-admission ids unique "
			  "within an event)",
			  id, event_path, fs ? "sections" : "general_admission", fs ? first : first - def->n_sections);
		pop(c, old);
	}
	free(k);
	return rc;
}

/* ------------------------------------------------------------------ */
/* presale windows and the waiting room                                */
/* ------------------------------------------------------------------ */

#define CODE_EXPECT "a code of 1..32 printable ASCII characters without spaces"

static int check_code(struct ctx *c, const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return fail(c, "is empty (expected " CODE_EXPECT ")");
	if (n > CTL_CODE_MAX - 1)
		return fail(c, "is %zu bytes long (expected " CODE_EXPECT ")", n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			struct qbuf q;
			return fail(c, "%s has a space or a character outside printable ASCII (expected " CODE_EXPECT ")",
				    quote(&q, s));
		}
	return 0;
}

static int parse_codes(struct ctx *c, json_t *arr, struct ctl_presale *ps)
{
	static const char *const keys[] = {"code", "uses", NULL};
	char expect[64];
	snprintf(expect, sizeof(expect), "an array of 1..%d codes", CTL_CODES_MAX);
	if (!json_is_array(arr))
		return wrong_type(c, arr, expect);
	size_t n = json_array_size(arr);
	if (n == 0)
		return fail(c, "is empty (expected %s)", expect);
	if (n > CTL_CODES_MAX)
		return fail(c, "has %zu codes (expected at most %d)", n, CTL_CODES_MAX);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *e = json_array_get(arr, i);
		struct ctl_access_code *ac = &ps->codes[i];
		size_t old = push_index(c, i);
		if (json_is_string(e)) {
			if ((rc = check_code(c, json_string_value(e))) == 0) {
				strcpy(ac->code, json_string_value(e));
				ac->uses = 1;
			}
		} else if (json_is_object(e)) {
			long long uses = 1;
			json_t *cv = json_object_get(e, "code");
			if ((rc = check_keys(c, e, keys)) == 0 && !cv)
				rc = fail(c, "missing \"code\" (expected " CODE_EXPECT ")");
			if (rc == 0) {
				size_t o2 = push_key(c, "code");
				if (!json_is_string(cv))
					rc = wrong_type(c, cv, CODE_EXPECT);
				else if ((rc = check_code(c, json_string_value(cv))) == 0)
					strcpy(ac->code, json_string_value(cv));
				pop(c, o2);
			}
			if (rc == 0 && (rc = get_int(c, e, "uses", 1, CTL_CODE_USES_MAX, false, 1, &uses)) == 0)
				ac->uses = (uint32_t)uses;
		} else {
			rc = wrong_type(c, e, "a code string or an object with \"code\" and \"uses\"");
		}
		pop(c, old);
	}
	if (rc)
		return rc;
	ps->n_codes = (uint32_t)n;
	struct skey k[CTL_CODES_MAX];
	for (uint32_t i = 0; i < n; i++)
		k[i] = (struct skey){.s = ps->codes[i].code, .idx = i};
	uint32_t first, dup;
	if (first_dup_str(k, n, &first, &dup) == 0) {
		struct qbuf q;
		size_t old = push_index(c, dup);
		rc = fail(c, "code %s is already listed at codes[%u] (expected unique codes in a window)",
			  quote(&q, ps->codes[dup].code), first);
		pop(c, old);
	}
	return rc;
}

static int parse_presale(struct ctx *c, json_t *o, struct ctl_presale *ps)
{
	static const char *const keys[] = {"name", "start", "end", "codes", "members_file", NULL};
	if (!json_is_object(o))
		return wrong_type(c, o, "a presale object with \"name\", \"start\", \"end\" and \"codes\"");
	int rc = check_keys(c, o, keys);
	if (rc || (rc = get_text(c, o, "name", DP_NAME_MAX - 1, "a name", ps->name)) ||
	    (rc = get_time(c, o, "start", true, &ps->start_ms)) || (rc = get_time(c, o, "end", true, &ps->end_ms)))
		return rc;
	if (ps->end_ms <= ps->start_ms) {
		struct qbuf q1, q2;
		size_t old = push_key(c, "end");
		rc = fail(c, "%s is not after start %s (expected end later than start)",
			  quote(&q1, json_string_value(json_object_get(o, "end"))),
			  quote(&q2, json_string_value(json_object_get(o, "start"))));
		pop(c, old);
		return rc;
	}
	json_t *codes = json_object_get(o, "codes"), *mf = json_object_get(o, "members_file");
	if (codes && mf)
		return fail(c, "has both \"codes\" and \"members_file\" (expected one of them)");
	if (!codes && !mf)
		return fail(c, "missing \"codes\" (expected \"codes\" or \"members_file\")");
	if (mf)
		return get_text(c, o, "members_file", CTL_PATH_MAX - 1, "a file path", ps->members_file);
	size_t old = push_key(c, "codes");
	rc = parse_codes(c, codes, ps);
	pop(c, old);
	return rc;
}

static int parse_waiting_room(struct ctx *c, json_t *o, struct ctl_waiting_room *wr)
{
	static const char *const keys[] = {"enabled", "threshold_rps", "max_active_shoppers", "admission_per_s",
					   "purchase_window", NULL};
	long long t = 0, m = 0, a = 0;
	if (!json_is_object(o))
		return wrong_type(c, o, "a waiting-room object");
	int rc = check_keys(c, o, keys);
	if (rc)
		return rc;
	json_t *en = json_object_get(o, "enabled");
	wr->mode = CTL_WR_OFF;
	if (en) {
		if (json_is_true(en)) {
			wr->mode = CTL_WR_ON;
		} else if (json_is_string(en) && strcmp(json_string_value(en), "auto") == 0) {
			wr->mode = CTL_WR_AUTO;
		} else if (!json_is_false(en)) {
			size_t old = push_key(c, "enabled");
			rc = wrong_type(c, en, "true, false or \"auto\"");
			pop(c, old);
			return rc;
		}
	}
	if ((rc = get_int(c, o, "threshold_rps", 1, CTL_WR_THRESHOLD_RPS_MAX, false, CTL_WR_THRESHOLD_RPS_DEFAULT, &t)) ||
	    (rc = get_int(c, o, "max_active_shoppers", 1, CTL_WR_SHOPPERS_MAX, false, CTL_WR_SHOPPERS_DEFAULT, &m)) ||
	    (rc = get_int(c, o, "admission_per_s", 1, CTL_WR_ADMISSION_MAX, false, CTL_WR_ADMISSION_DEFAULT, &a)) ||
	    (rc = get_duration(c, o, "purchase_window", CTL_WR_WINDOW_MS_MIN, CTL_WR_WINDOW_MS_MAX,
			       CTL_WR_WINDOW_MS_DEFAULT, &wr->purchase_window_ms)))
		return rc;
	wr->threshold_rps = (uint32_t)t;
	wr->max_active_shoppers = (uint32_t)m;
	wr->admission_per_s = (uint32_t)a;
	return 0;
}

/* ------------------------------------------------------------------ */
/* events and the top level                                            */
/* ------------------------------------------------------------------ */

/* obj[key] as an optional array; *n = 0 when absent. */
static int get_array(struct ctx *c, json_t *obj, const char *key, const char *expect, json_t **out, size_t *n)
{
	json_t *v = json_object_get(obj, key);
	*out = v;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		size_t old = push_key(c, key);
		int rc = wrong_type(c, v, expect);
		pop(c, old);
		return rc;
	}
	*n = json_array_size(v);
	return 0;
}

static int parse_event(struct ctx *c, json_t *o, struct ctl_inventory *inv, uint32_t idx)
{
	static const char *const keys[] = {"id",    "name",     "hold_ttl",          "buyer_limit",
					   "on_sale", "tiers", "sections", "general_admission", "presale",
					   "waiting_room", NULL};
	struct ctl_event *ev = &inv->events[idx];
	char event_path[PATH_CAP];
	snprintf(event_path, sizeof(event_path), "%s", c->path);
	if (!json_is_object(o))
		return wrong_type(c, o, "an event object");
	int rc = check_keys(c, o, keys);
	if (rc)
		return rc;
	struct dp_event_def *def = calloc(1, sizeof(*def));
	if (!def)
		return nomem(c);
	ev->def = def;
	long long id = 0, bl = 0;
	if ((rc = get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	for (uint32_t j = 0; j < idx; j++)
		if (inv->events[j].def->id == id) {
			size_t old = push_key(c, "id");
			rc = fail(c, "event id %lld is already used by $.events[%u] (expected unique event ids)", id, j);
			pop(c, old);
			return rc;
		}
	def->id = (uint32_t)id;
	if ((rc = get_text(c, o, "name", DP_NAME_MAX - 1, "a name", def->name)) ||
	    (rc = get_duration(c, o, "hold_ttl", DP_HOLD_TTL_MS_MIN, DP_HOLD_TTL_MS_MAX, DP_HOLD_TTL_MS_DEFAULT,
			       &def->hold_ttl_ms)) ||
	    (rc = get_int(c, o, "buyer_limit", 1, DP_BUYER_LIMIT_MAX, false, DP_BUYER_LIMIT_DEFAULT, &bl)) ||
	    (rc = get_time(c, o, "on_sale", false, &ev->extra.on_sale_ms)))
		return rc;
	def->buyer_limit = (uint32_t)bl;

	/* tiers */
	char expect[96];
	snprintf(expect, sizeof(expect), "an array of 1..%d price tiers", CTL_TIER_ID_MAX);
	json_t *arr;
	size_t n;
	if ((rc = get_array(c, o, "tiers", expect, &arr, &n)))
		return rc;
	if (!arr)
		return fail(c, "missing \"tiers\" (expected %s)", expect);
	size_t old = push_key(c, "tiers");
	if (n == 0)
		rc = fail(c, "is empty (expected %s)", expect);
	else if (n > CTL_TIER_ID_MAX)
		rc = fail(c, "has %zu tiers (expected at most %d)", n, CTL_TIER_ID_MAX);
	else if (!(def->tiers = calloc(n, sizeof(*def->tiers))))
		rc = nomem(c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = push_index(c, i);
		rc = parse_tier(c, json_array_get(arr, i), def, (uint32_t)i, event_path);
		def->n_tiers = (uint32_t)i + 1;
		pop(c, o2);
	}
	pop(c, old);
	if (rc)
		return rc;

	/* sections and general-admission types */
	json_t *sarr, *garr;
	size_t ns, ng;
	if ((rc = get_array(c, o, "sections", "an array of sections", &sarr, &ns)) ||
	    (rc = get_array(c, o, "general_admission", "an array of general-admission types", &garr, &ng)))
		return rc;
	if (ns + ng == 0)
		return fail(c, "has no sections and no general-admission types (expected at least one in \"sections\" "
			       "or \"general_admission\")");
	if (ns + ng > DP_PARTS_MAX)
		return fail(c, "has %zu sections and %zu general-admission types (expected at most %u in all)", ns, ng,
			    DP_PARTS_MAX);
	if (ns) {
		if (!(def->sections = calloc(ns, sizeof(*def->sections))))
			return nomem(c);
		def->n_sections = (uint32_t)ns; /* dp_event_def_free copes with the unfilled ones */
		old = push_key(c, "sections");
		for (size_t i = 0; rc == 0 && i < ns; i++) {
			size_t o2 = push_index(c, i);
			rc = parse_section(c, json_array_get(sarr, i), def, &def->sections[i], event_path);
			pop(c, o2);
		}
		pop(c, old);
		if (rc)
			return rc;
	}
	if (ng) {
		if (!(def->ga = calloc(ng, sizeof(*def->ga))))
			return nomem(c);
		def->n_ga = (uint32_t)ng;
		old = push_key(c, "general_admission");
		for (size_t i = 0; rc == 0 && i < ng; i++) {
			size_t o2 = push_index(c, i);
			rc = parse_ga(c, json_array_get(garr, i), def, &def->ga[i], event_path);
			pop(c, o2);
		}
		pop(c, old);
		if (rc)
			return rc;
	}
	if ((rc = check_part_ids(c, def, event_path)))
		return rc;

	/* presale windows */
	snprintf(expect, sizeof(expect), "an array of at most %d presale windows", CTL_PRESALES_MAX);
	if ((rc = get_array(c, o, "presale", expect, &arr, &n)))
		return rc;
	old = push_key(c, "presale");
	if (n > CTL_PRESALES_MAX)
		rc = fail(c, "has %zu windows (expected at most %d)", n, CTL_PRESALES_MAX);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = push_index(c, i);
		rc = parse_presale(c, json_array_get(arr, i), &ev->extra.presales[i]);
		ev->extra.n_presales = (uint32_t)i + 1;
		pop(c, o2);
	}
	pop(c, old);
	if (rc)
		return rc;

	/* waiting room */
	json_t *wr = json_object_get(o, "waiting_room");
	struct ctl_waiting_room *w = &ev->extra.waiting_room;
	*w = (struct ctl_waiting_room){.mode = CTL_WR_OFF,
				       .threshold_rps = CTL_WR_THRESHOLD_RPS_DEFAULT,
				       .max_active_shoppers = CTL_WR_SHOPPERS_DEFAULT,
				       .admission_per_s = CTL_WR_ADMISSION_DEFAULT,
				       .purchase_window_ms = CTL_WR_WINDOW_MS_DEFAULT};
	if (wr) {
		old = push_key(c, "waiting_room");
		rc = parse_waiting_room(c, wr, w);
		pop(c, old);
		if (rc)
			return rc;
	}

	/* Everything above implies the core's own check; keep it as a backstop. */
	char why[256];
	if (dp_event_def_check(def, why, sizeof(why)) != 0)
		return fail(c, "%s (expected a definition the reservation core accepts)", why);
	return 0;
}

static int parse_top(struct ctx *c, json_t *root, struct ctl_inventory *inv)
{
	static const char *const keys[] = {"format", "events", NULL};
	struct qbuf q;
	if (!json_is_object(root))
		return fail(c, "top level is %s (expected an object with \"format\" and \"events\")",
			    describe(&q, root));
	json_t *f = json_object_get(root, "format");
	if (!f)
		return fail(c, "missing \"format\" (expected \"format\": \"" CTL_FORMAT "\")");
	size_t old = push_key(c, "format");
	int rc = 0;
	if (!json_is_string(f))
		rc = wrong_type(c, f, "\"" CTL_FORMAT "\"");
	else if (strcmp(json_string_value(f), CTL_FORMAT) != 0)
		rc = fail(c, "%s is not a supported format (expected \"" CTL_FORMAT "\")", quote(&q, json_string_value(f)));
	pop(c, old);
	if (rc || (rc = check_keys(c, root, keys)))
		return rc;
	char expect[64];
	snprintf(expect, sizeof(expect), "an array of 1..%d events", DP_EVENTS_MAX);
	json_t *evs = json_object_get(root, "events");
	if (!evs)
		return fail(c, "missing \"events\" (expected %s)", expect);
	old = push_key(c, "events");
	size_t n = json_is_array(evs) ? json_array_size(evs) : 0;
	if (!json_is_array(evs))
		rc = wrong_type(c, evs, expect);
	else if (n == 0)
		rc = fail(c, "is empty (expected %s)", expect);
	else if (n > DP_EVENTS_MAX)
		rc = fail(c, "has %zu events (expected at most %d)", n, DP_EVENTS_MAX);
	else if (!(inv->events = calloc(n, sizeof(*inv->events))))
		rc = nomem(c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = push_index(c, i);
		inv->n_events = (uint32_t)i + 1;
		rc = parse_event(c, json_array_get(evs, i), inv, (uint32_t)i);
		pop(c, o2);
	}
	pop(c, old);
	return rc;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */
/* ------------------------------------------------------------------ */

void ctl_inventory_free(struct ctl_inventory *inv)
{
	if (!inv)
		return;
	if (inv->events)
		for (uint32_t i = 0; i < inv->n_events; i++)
			dp_event_def_free(inv->events[i].def);
	free(inv->events);
	free(inv);
}

struct dp_event_def *ctl_inventory_take_def(struct ctl_inventory *inv, uint32_t i)
{
	if (!inv || i >= inv->n_events)
		return NULL;
	struct dp_event_def *d = inv->events[i].def;
	inv->events[i].def = NULL;
	return d;
}

int ctl_inventory_parse(const char *name, const char *text, size_t len, struct ctl_inventory **out, char *err,
			size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "(input)";
	if (!text) {
		text = "";
		len = 0;
	}
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			if (err && errlen)
				snprintf(err, errlen, "%s: out of memory", name);
			return -ENOMEM;
		}
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
		return -EINVAL;
	}
	struct ctx c = {.file = name, .err = err, .errlen = errlen, .path = "$", .plen = 1};
	struct ctl_inventory *inv = calloc(1, sizeof(*inv));
	int rc = inv ? parse_top(&c, root, inv) : nomem(&c);
	json_decref(root);
	if (rc) {
		ctl_inventory_free(inv);
		return rc;
	}
	if (err && errlen)
		err[0] = '\0';
	*out = inv;
	return 0;
}

int ctl_inventory_load(const char *path, struct ctl_inventory **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (fd < 0) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	struct stat st;
	bool too_big = false;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
	} else if (S_ISREG(st.st_mode) && st.st_size > (off_t)CTL_FILE_BYTES_MAX) {
		too_big = true;
	} else {
		cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
		buf = malloc(cap);
		if (!buf)
			rc = -ENOMEM;
		while (rc == 0 && !too_big) {
			if (len == cap) {
				char *nb = realloc(buf, cap * 2);
				if (!nb) {
					rc = -ENOMEM;
					break;
				}
				buf = nb;
				cap *= 2;
			}
			ssize_t got = read(fd, buf + len, cap - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				rc = -errno;
			else if (got == 0)
				break;
			else
				len += (size_t)got;
			too_big = len > CTL_FILE_BYTES_MAX;
		}
	}
	close(fd);
	if (rc == 0 && too_big) {
		if (err && errlen)
			snprintf(err, errlen, "%s: is larger than %u MiB (expected an inventory file of at most %u MiB)",
				 path, CTL_FILE_BYTES_MAX >> 20, CTL_FILE_BYTES_MAX >> 20);
		free(buf);
		return -EINVAL;
	}
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		free(buf);
		return rc;
	}
	rc = ctl_inventory_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}
