/*
 * fuzz_mc_ga_list.c - libFuzzer target: arbitrary bytes (as a C string) as
 * stampede-memif-client's --ga list (tools/mc_ga_list.c). It must never crash;
 * an accepted list is within bounds with no repeated id; a refused one leaves
 * the output empty and gives a reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/mc_ga_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct mc_ga_list l;
	char err[160] = "";
	if (mc_ga_list_parse(s, &l, err, sizeof(err)) == 0) {
		if (l.types < 1 || l.types > MC_GA_TYPES_MAX)
			abort();
		for (unsigned t = 0; t < l.types; t++) {
			if (l.id[t] == 0 || l.cap[t] == 0 || l.cap[t] > MC_GA_CAPACITY_MAX)
				abort();
			for (unsigned u = 0; u < t; u++)
				if (l.id[u] == l.id[t])
					abort();
		}
	} else if (l.types != 0 || strncmp(err, "--ga: ", 6) != 0) {
		abort();
	}
	free(s);
	return 0;
}
