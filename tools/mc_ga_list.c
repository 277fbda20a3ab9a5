/*
 * mc_ga_list.c - parse stampede-memif-client's --ga list (see mc_ga_list.h).
 */
#include <stdio.h>
#include <string.h>

#include "tools/mc_ga_list.h"

/* A decimal number of at most 10 digits at *p, no sign or spaces; advances
 * *p. Returns 0, or -1 when there are no digits or too many. */
static int take_number(const char **p, uint64_t *v)
{
	unsigned digits = 0;
	*v = 0;
	while (**p >= '0' && **p <= '9') {
		if (++digits > 10)
			return -1;
		*v = *v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	return digits ? 0 : -1;
}

/* Parse "ID:CAPACITY,..." (mc_ga_list.h). */
int mc_ga_list_parse(const char *text, struct mc_ga_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *p = text;
	for (unsigned item = 1;; item++) {
		uint64_t id, cap;
		if (out->types == MC_GA_TYPES_MAX) {
			snprintf(err, errlen, "--ga: more than %u types", MC_GA_TYPES_MAX);
			goto bad;
		}
		if (take_number(&p, &id) != 0 || *p != ':') {
			snprintf(err, errlen, "--ga: item %u: expected ID:CAPACITY", item);
			goto bad;
		}
		p++;
		if (take_number(&p, &cap) != 0 || (*p != ',' && *p != '\0')) {
			snprintf(err, errlen, "--ga: item %u: expected ID:CAPACITY", item);
			goto bad;
		}
		if (id == 0 || id > UINT32_MAX) {
			snprintf(err, errlen, "--ga: item %u: type id must be 1..%u", item, UINT32_MAX);
			goto bad;
		}
		if (cap == 0 || cap > MC_GA_CAPACITY_MAX) {
			snprintf(err, errlen, "--ga: item %u: capacity must be 1..%u", item, MC_GA_CAPACITY_MAX);
			goto bad;
		}
		for (unsigned k = 0; k < out->types; k++)
			if (out->id[k] == id) {
				snprintf(err, errlen, "--ga: item %u: type %u listed twice", item, (unsigned)id);
				goto bad;
			}
		out->id[out->types] = (uint32_t)id;
		out->cap[out->types] = (uint32_t)cap;
		out->types++;
		if (*p == '\0')
			return 0;
		p++; /* ',' */
	}
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}
