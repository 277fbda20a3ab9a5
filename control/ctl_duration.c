/*
 * ctl_duration.c - parse operator durations (ctl_duration.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl_duration.h"

#define EXPECTED "expected a duration like 90s, 10m, 1h30m or 500ms"

struct unit {
	const char *name;
	uint64_t ms;
};

/* Largest first: the order the units must appear in. "ms" before "m" is handled by matching longest first. */
static const struct unit units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* The unit at s (longest match), its index in units[], or -1; *len gets its length. */
static int match_unit(const char *s, size_t *len)
{
	int best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < N_UNITS; i++) {
		size_t n = strlen(units[i].name);
		if (n > best_len && !strncmp(s, units[i].name, n)) {
			best = (int)i;
			best_len = n;
		}
	}
	*len = best_len;
	return best;
}

/* Write "QUOTED: WHY (EXPECTED)" into err; the input is cut to keep the line short. */
static int fail(const char *s, char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "\"%.40s%s\": %s (" EXPECTED ")", s, strlen(s) > 40 ? "..." : "", why);
	return -EINVAL;
}

int ctl_duration_parse(const char *s, uint64_t *out_ms, char *err, size_t errlen)
{
	if (!s || !*s)
		return fail("", err, errlen, "empty");
	uint64_t total = 0;
	int last_unit = -1;
	const char *p = s;
	while (*p) {
		uint64_t n = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (++digits > CTL_DURATION_DIGITS_MAX)
				return fail(s, err, errlen, "number too long");
			n = n * 10 + (uint64_t)(*p++ - '0');
		}
		if (digits == 0) {
			char why[64];
			snprintf(why, sizeof(why), "'%c' where a number was expected", *p);
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				snprintf(why, sizeof(why), "a number was expected");
			return fail(s, err, errlen, why);
		}
		size_t ulen;
		int u = match_unit(p, &ulen);
		if (u < 0) {
			char why[64];
			if (!*p)
				snprintf(why, sizeof(why), "the number %.*s has no unit", digits, p - digits);
			else
				snprintf(why, sizeof(why), "unknown unit \"%.8s\"", p);
			return fail(s, err, errlen, why);
		}
		if (u <= last_unit) {
			char why[64];
			snprintf(why, sizeof(why), "unit \"%s\" %s", units[u].name,
				 u == last_unit ? "given twice" : "after a smaller unit");
			return fail(s, err, errlen, why);
		}
		last_unit = u;
		p += ulen;
		/* n < 10^12 and ms <= 3.6e6: the product fits in 64 bits (< 3.6e18). */
		uint64_t add = n * units[u].ms;
		if (add > CTL_DURATION_MS_MAX || total + add > CTL_DURATION_MS_MAX)
			return fail(s, err, errlen, "too long (at most 366 days)");
		total += add;
	}
	*out_ms = total;
	return 0;
}
