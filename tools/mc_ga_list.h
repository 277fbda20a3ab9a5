/*
 * mc_ga_list.h - the --ga option of stampede-memif-client: the
 * general-admission types of an event and their capacities, written
 * "ID:CAPACITY,ID:CAPACITY,..." (tools/bench-flavorus builds it from the
 * inventory). Plain C, no DPDK: tests and the libFuzzer target call it.
 */
#ifndef STAMPEDE_MC_GA_LIST_H
#define STAMPEDE_MC_GA_LIST_H

#include <stddef.h>
#include <stdint.h>

#define MC_GA_TYPES_MAX 64            /* types in one list */
#define MC_GA_CAPACITY_MAX 100000000u /* tickets of one type */

struct mc_ga_list {
	unsigned types;
	uint32_t id[MC_GA_TYPES_MAX];  /* 1..2^32-1, each once */
	uint32_t cap[MC_GA_TYPES_MAX]; /* 1..MC_GA_CAPACITY_MAX */
};

/*
 * Parse text into *out. Returns 0, or -1 with a one-line reason naming the
 * bad item in err (errlen bytes); *out is then cleared.
 */
int mc_ga_list_parse(const char *text, struct mc_ga_list *out, char *err, size_t errlen);

#endif
