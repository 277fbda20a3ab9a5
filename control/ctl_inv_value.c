/*
 * ctl_inv_value.c - the inventory loader's parse context (JSON path, error
 * message), scalar fields (integers, text, durations, RFC 3339 times) and
 * seat number ranges. Part of ctl_inventory.c's loader; the shared private
 * declarations are in ctl_inventory_internal.h.
 */
#include <errno.h>
#include <stdarg.h>
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
/* context: file name, the JSON path being checked, the error buffer   */
/* ------------------------------------------------------------------ */

size_t ctl_inv_push_key(struct ctx *c, const char *key)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, ".%s", key);
	if (n > 0)
		c->plen = c->plen + (size_t)n < sizeof(c->path) ? c->plen + (size_t)n : sizeof(c->path) - 1;
	return old;
}

size_t ctl_inv_push_index(struct ctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);
	if (n > 0)
		c->plen = c->plen + (size_t)n < sizeof(c->path) ? c->plen + (size_t)n : sizeof(c->path) - 1;
	return old;
}

void ctl_inv_pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* Write "FILE: PATH: message" and return -EINVAL. */
__attribute__((format(printf, 2, 3))) int ctl_inv_fail(struct ctx *c, const char *fmt, ...)
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

int ctl_inv_nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -ENOMEM;
}

/* A value quoted for a message: escaped, cut after 48 bytes (on a UTF-8
 * character boundary) with "..." appended. */
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

const char *ctl_inv_quote(struct qbuf *b, const char *s)
{
	return quote_n(b, s, strlen(s));
}

/* "a string \"x\"", "an integer 5", "an object", ... */
const char *ctl_inv_describe(struct qbuf *b, const json_t *v)
{
	struct qbuf q;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		snprintf(b->s, sizeof(b->s), "a string %s", ctl_inv_quote(&q, json_string_value(v)));
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

int ctl_inv_wrong_type(struct ctx *c, const json_t *v, const char *expect)
{
	struct qbuf b;
	return ctl_inv_fail(c, "is %s (expected %s)", ctl_inv_describe(&b, v), expect);
}

/* Every key of obj must be in keys (NULL-terminated). */
int ctl_inv_check_keys(struct ctx *c, json_t *obj, const char *const *keys)
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
			return ctl_inv_fail(c, "unknown key %s (expected one of %s)", ctl_inv_quote(&q, k), list);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* scalar fields                                                       */
/* ------------------------------------------------------------------ */

/* obj[key] as an integer lo..hi; absent: dflt unless required. */
int ctl_inv_get_int(struct ctx *c, json_t *obj, const char *key, long long lo, long long hi, bool required,
	    long long dflt, long long *out)
{
	char expect[96];
	snprintf(expect, sizeof(expect), "an integer %lld..%lld", lo, hi);
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return ctl_inv_fail(c, "missing \"%s\" (expected %s)", key, expect);
		*out = dflt;
		return 0;
	}
	size_t old = ctl_inv_push_key(c, key);
	int rc = 0;
	if (!json_is_integer(v)) {
		rc = ctl_inv_wrong_type(c, v, expect);
	} else {
		long long x = json_integer_value(v);
		if (x < lo || x > hi)
			rc = ctl_inv_fail(c, "%lld is out of range (expected %s)", x, expect);
		else
			*out = x;
	}
	ctl_inv_pop(c, old);
	return rc;
}

/* Text of 1..maxb bytes without control characters; the path is at it. */
int ctl_inv_check_text(struct ctx *c, const char *s, size_t maxb, const char *what)
{
	size_t n = strlen(s);
	if (n == 0)
		return ctl_inv_fail(c, "is empty (expected %s of 1..%zu bytes)", what, maxb);
	if (n > maxb)
		return ctl_inv_fail(c, "is %zu bytes long (expected %s of 1..%zu bytes)", n, what, maxb);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return ctl_inv_fail(c, "contains a control character (expected %s of 1..%zu bytes of printable text)",
				    what, maxb);
	}
	return 0;
}

/* obj[key], a required string checked by check_text, copied into dst (maxb + 1 bytes). */
int ctl_inv_get_text(struct ctx *c, json_t *obj, const char *key, size_t maxb, const char *what, char *dst)
{
	char expect[96];
	snprintf(expect, sizeof(expect), "%s of 1..%zu bytes", what, maxb);
	json_t *v = json_object_get(obj, key);
	if (!v)
		return ctl_inv_fail(c, "missing \"%s\" (expected %s)", key, expect);
	size_t old = ctl_inv_push_key(c, key);
	int rc;
	if (!json_is_string(v))
		rc = ctl_inv_wrong_type(c, v, expect);
	else
		rc = ctl_inv_check_text(c, json_string_value(v), maxb, what);
	if (rc == 0)
		memcpy(dst, json_string_value(v), strlen(json_string_value(v)) + 1);
	ctl_inv_pop(c, old);
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

int ctl_inv_get_duration(struct ctx *c, json_t *obj, const char *key, uint32_t lo, uint32_t hi, uint32_t dflt,
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
	size_t old = ctl_inv_push_key(c, key);
	int rc = 0;
	uint64_t ms = 0;
	struct qbuf q;
	if (!json_is_string(v))
		rc = ctl_inv_wrong_type(c, v, expect);
	else if (parse_duration(json_string_value(v), &ms) != 0)
		rc = ctl_inv_fail(c, "%s is not a duration (expected %s)", ctl_inv_quote(&q, json_string_value(v)), expect);
	else if (ms < lo || ms > hi)
		rc = ctl_inv_fail(c, "%s is out of range (expected %s)", ctl_inv_quote(&q, json_string_value(v)), expect);
	else
		*out = (uint32_t)ms;
	ctl_inv_pop(c, old);
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
int ctl_inv_get_time(struct ctx *c, json_t *obj, const char *key, bool required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			return ctl_inv_fail(c, "missing \"%s\" (expected %s)", key, TIME_EXPECT);
		*out = 0;
		return 0;
	}
	size_t old = ctl_inv_push_key(c, key);
	int rc = 0;
	struct qbuf q;
	if (!json_is_string(v))
		rc = ctl_inv_wrong_type(c, v, TIME_EXPECT);
	else if (parse_time(json_string_value(v), out) != 0)
		rc = ctl_inv_fail(c, "%s is not a valid time (expected %s)", ctl_inv_quote(&q, json_string_value(v)), TIME_EXPECT);
	ctl_inv_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------------ */
/* seat number ranges                                                  */
/* ------------------------------------------------------------------ */

void ctl_inv_rlist_free(struct rlist *l)
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

uint64_t ctl_inv_rlist_count(const struct rlist *l)
{
	uint64_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->r[i].hi - l->r[i].lo + 1;
	return n;
}

#define RANGE_EXPECT "\"FROM-TO\" with FROM <= TO, 1..65535"

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
			return ctl_inv_fail(c, "range %s is not a number range (expected " RANGE_EXPECT ")", quote_n(&q, t, tl));
		}
		if (rlist_add(out, lo, hi))
			return ctl_inv_nomem(c);
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* A seats / accessible / withheld value into a sorted list without overlaps. */
int ctl_inv_parse_ranges(struct ctx *c, json_t *v, struct rlist *out)
{
	int rc = 0;
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return ctl_inv_fail(c, "is empty (expected " SEATS_EXPECT ")");
		rc = parse_range_string(c, json_string_value(v), out);
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return ctl_inv_fail(c, "is empty (expected " SEATS_EXPECT ")");
		for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
			json_t *e = json_array_get(v, i);
			size_t old = ctl_inv_push_index(c, i);
			if (json_is_integer(e)) {
				long long x = json_integer_value(e);
				if (x < 1 || x > CTL_SEAT_NUMBER_MAX)
					rc = ctl_inv_fail(c, "%lld is out of range (expected a seat number 1..65535)", x);
				else if (rlist_add(out, (uint32_t)x, (uint32_t)x))
					rc = ctl_inv_nomem(c);
			} else if (json_is_string(e)) {
				rc = parse_range_string(c, json_string_value(e), out);
			} else {
				rc = ctl_inv_wrong_type(c, e, "a seat number or a range like \"1-40\"");
			}
			ctl_inv_pop(c, old);
		}
	} else {
		return ctl_inv_wrong_type(c, v, SEATS_EXPECT);
	}
	if (rc)
		return rc;
	qsort(out->r, out->n, sizeof(*out->r), range_cmp);
	uint32_t maxhi = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (i > 0 && out->r[i].lo <= maxhi)
			return ctl_inv_fail(c, "seat %u is listed twice (expected each seat number once in a row)", out->r[i].lo);
		if (out->r[i].hi > maxhi)
			maxhi = out->r[i].hi;
	}
	return 0;
}

/* Every number of sub must be in seats (both sorted, without overlaps). */
int ctl_inv_check_subset(struct ctx *c, const struct rlist *seats, const struct rlist *sub)
{
	size_t j = 0;
	for (size_t i = 0; i < sub->n; i++) {
		uint32_t x = sub->r[i].lo;
		for (;;) {
			while (j < seats->n && seats->r[j].hi < x)
				j++;
			if (j == seats->n || seats->r[j].lo > x)
				return ctl_inv_fail(c, "seat %u is not in this row (expected seat numbers listed in \"seats\")", x);
			if (seats->r[j].hi >= sub->r[i].hi)
				break;
			x = seats->r[j].hi + 1;
		}
	}
	return 0;
}
