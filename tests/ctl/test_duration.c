/*
 * test_duration.c - ctl_duration_parse (control/ctl_duration.h): good
 * durations and their values, the bounds, and garbage that must be refused
 * with a message that quotes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_duration.h"

static int failures;

/* s must parse to want ms. */
static void good(const char *s, uint64_t want)
{
	uint64_t got = 12345;
	char err[CTL_DURATION_ERR_MAX] = "";
	int rc = ctl_duration_parse(s, &got, err, sizeof(err));
	if (rc != 0 || got != want) {
		fprintf(stderr, "FAIL \"%s\": rc %d, %" PRIu64 " ms, want %" PRIu64 " (%s)\n", s, rc, got, want, err);
		failures++;
	}
}

/* s must be refused with -EINVAL, *out untouched, and a message holding why. */
static void bad(const char *s, const char *why)
{
	uint64_t got = 777;
	char err[CTL_DURATION_ERR_MAX] = "";
	int rc = ctl_duration_parse(s, &got, err, sizeof(err));
	if (rc != -EINVAL || got != 777 || !strstr(err, why) || !strstr(err, "expected a duration like")) {
		fprintf(stderr, "FAIL bad \"%s\": rc %d, out %" PRIu64 ", message \"%s\", want it to say \"%s\"\n", s, rc,
			got, err, why);
		failures++;
	}
}

int main(void)
{
	good("90s", 90000);
	good("10m", 600000);
	good("1h30m", 5400000);
	good("500ms", 500);
	good("0s", 0);
	good("1h1m1s1ms", 3661001);
	good("1m500ms", 60500);
	good("0001s", 1000);
	good("8784h", 366ull * 24 * 3600 * 1000); /* the bound itself */
	good("31622400s", CTL_DURATION_MS_MAX);

	bad("", "empty");
	bad("10", "has no unit");
	bad("10x", "unknown unit \"x\"");
	bad("10 m", "unknown unit \" m\"");
	bad(" 10m", "' ' where a number was expected");
	bad("-5m", "'-' where a number was expected");
	bad("+5m", "'+' where a number was expected");
	bad("m", "'m' where a number was expected");
	bad("1.5h", "unknown unit \".5h\"");
	bad("10m10m", "unit \"m\" given twice");
	bad("30s1h", "unit \"h\" after a smaller unit");
	bad("1ms1s", "unit \"s\" after a smaller unit");
	bad("5M", "unknown unit \"M\"");
	bad("10mx", "'x' where a number was expected");
	bad("8785h", "too long");
	bad("31622400001ms", "too long");
	bad("9999999999999s", "number too long");
	bad("99999999999999999999999999h", "number too long");
	bad("1h\n", "a number was expected");
	bad("\xff", "a number was expected");
	/* a long input is cut in the message, which stays one bounded line */
	char longer[300];
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	bad(longer, "number too long");
	/* NULL err is allowed */
	uint64_t v;
	if (ctl_duration_parse("zz", &v, NULL, 0) != -EINVAL || ctl_duration_parse("2h", &v, NULL, 0) != 0 ||
	    v != 7200000) {
		fprintf(stderr, "FAIL NULL err\n");
		failures++;
	}
	/* every byte value as a one-character suffix after a number: no crash, only known units pass */
	for (int c = 1; c < 256; c++) {
		char s[4] = {'7', (char)c, 0, 0};
		uint64_t out;
		int rc = ctl_duration_parse(s, &out, NULL, 0);
		int want = (c == 'h' || c == 'm' || c == 's') ? 0 : -EINVAL;
		if (rc != want) {
			fprintf(stderr, "FAIL suffix byte %d: rc %d\n", c, rc);
			failures++;
		}
	}
	printf("duration: %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
