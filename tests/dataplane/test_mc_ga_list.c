/*
 * test_mc_ga_list.c - stampede-memif-client's --ga list parser
 * (tools/mc_ga_list.c): the festival's list is taken exactly; each kind of
 * bad list is refused with a reason naming the item and leaves the output
 * empty; 200,000 random strings over the list's alphabet never crash, and
 * whatever is accepted is within bounds and without a repeated id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mc_ga_list.h"

static int failures;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "mc_ga_list: check failed: " __VA_ARGS__);                            \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

/* Every accepted list is within bounds, ids unique. */
static int sane(const struct mc_ga_list *l)
{
	if (l->types < 1 || l->types > MC_GA_TYPES_MAX)
		return 0;
	for (unsigned t = 0; t < l->types; t++) {
		if (l->id[t] == 0 || l->cap[t] == 0 || l->cap[t] > MC_GA_CAPACITY_MAX)
			return 0;
		for (unsigned u = 0; u < t; u++)
			if (l->id[u] == l->id[t])
				return 0;
	}
	return 1;
}

static void refused(const char *text, const char *reason)
{
	struct mc_ga_list l;
	char err[160] = "";
	memset(&l, 0xa5, sizeof(l));
	int rc = mc_ga_list_parse(text, &l, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, reason) && l.types == 0, "\"%s\": rc %d, reason \"%s\" (wanted \"%s\")", text, rc,
	      err, reason);
}

int main(void)
{
	struct mc_ga_list l;
	char err[160];
	CHECK(mc_ga_list_parse("1:2000,2:100000,3:15000,4:9000,5:10000,6:9000,7:1000,8:4000", &l, err, sizeof(err)) ==
			      0 &&
		      l.types == 8 && l.id[0] == 1 && l.cap[0] == 2000 && l.id[1] == 2 && l.cap[1] == 100000 &&
		      l.id[7] == 8 && l.cap[7] == 4000,
	      "the festival's list");
	CHECK(mc_ga_list_parse("4294967295:100000000", &l, err, sizeof(err)) == 0 && l.id[0] == 4294967295u &&
		      l.cap[0] == 100000000u,
	      "largest id and capacity");

	refused("", "item 1: expected ID:CAPACITY");
	refused("1", "item 1: expected ID:CAPACITY");
	refused("1:", "item 1: expected ID:CAPACITY");
	refused(":5", "item 1: expected ID:CAPACITY");
	refused("1:5,", "item 2: expected ID:CAPACITY");
	refused("1:5,,2:3", "item 2: expected ID:CAPACITY");
	refused("1:5;2:3", "item 1: expected ID:CAPACITY");
	refused("1:5 ", "item 1: expected ID:CAPACITY");
	refused(" 1:5", "item 1: expected ID:CAPACITY");
	refused("-1:5", "item 1: expected ID:CAPACITY");
	refused("1:+5", "item 1: expected ID:CAPACITY");
	refused("1:5x", "item 1: expected ID:CAPACITY");
	refused("1:12345678901", "item 1: expected ID:CAPACITY");
	refused("0:5", "item 1: type id must be");
	refused("4294967296:5", "item 1: type id must be");
	refused("1:5,2:0", "item 2: capacity must be");
	refused("1:100000001", "item 1: capacity must be");
	refused("1:5,2:6,1:7", "item 3: type 1 listed twice");
	char many[1024] = "";
	for (unsigned t = 1; t <= MC_GA_TYPES_MAX + 1; t++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%u:1", t > 1 ? "," : "", t);
	refused(many, "more than 64 types");

	static const char alphabet[] = "0123456789:,,::0-x ";
	unsigned long long rng = 12345, accepted = 0;
	for (unsigned i = 0; i < 200000; i++) {
		char s[64];
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		unsigned len = (unsigned)(rng >> 58); /* 0..63 */
		for (unsigned k = 0; k < len; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			s[k] = alphabet[(rng >> 40) % (sizeof(alphabet) - 1)];
		}
		s[len < sizeof(s) ? len : sizeof(s) - 1] = '\0';
		err[0] = '\0';
		if (mc_ga_list_parse(s, &l, err, sizeof(err)) == 0) {
			accepted++;
			CHECK(sane(&l), "accepted an insane list: \"%s\"", s);
		} else {
			CHECK(l.types == 0 && strncmp(err, "--ga: ", 6) == 0, "refusal of \"%s\" without a reason", s);
		}
	}
	printf("mc_ga_list: 200000 random strings, %llu accepted\n", accepted);
	printf("mc_ga_list: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}
