/*
 * ctl_inventory_internal.h - private declarations shared by the inventory
 * loader's files: ctl_inv_value.c (the parse context, scalar fields, seat
 * number ranges), ctl_inv_section.c (tiers, sections, general admission)
 * and ctl_inventory.c (presales, the waiting room, events, the top level and
 * the public API). Not part of the API: see control/ctl_inventory.h.
 */
#ifndef STAMPEDE_CTL_INVENTORY_INTERNAL_H
#define STAMPEDE_CTL_INVENTORY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "control/ctl_inventory.h"
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

size_t ctl_inv_push_key(struct ctx *c, const char *key);
size_t ctl_inv_push_index(struct ctx *c, size_t i);
void ctl_inv_pop(struct ctx *c, size_t old);
/* Write "FILE: PATH: message" and return -EINVAL. */
__attribute__((format(printf, 2, 3))) int ctl_inv_fail(struct ctx *c, const char *fmt, ...);
int ctl_inv_nomem(struct ctx *c);

/* A value quoted for a message: escaped, cut after 48 bytes (on a UTF-8
 * character boundary) with "..." appended. */
struct qbuf {
	char s[256];
};

const char *ctl_inv_quote(struct qbuf *b, const char *s);
const char *ctl_inv_describe(struct qbuf *b, const json_t *v);
int ctl_inv_wrong_type(struct ctx *c, const json_t *v, const char *expect);
int ctl_inv_check_keys(struct ctx *c, json_t *obj, const char *const *keys);

/* ------------------------------------------------------------------ */
/* scalar fields (ctl_inv_value.c)                                     */
/* ------------------------------------------------------------------ */

int ctl_inv_get_int(struct ctx *c, json_t *obj, const char *key, long long lo, long long hi, bool required,
	    long long dflt, long long *out);
int ctl_inv_check_text(struct ctx *c, const char *s, size_t maxb, const char *what);
int ctl_inv_get_text(struct ctx *c, json_t *obj, const char *key, size_t maxb, const char *what, char *dst);
int ctl_inv_get_duration(struct ctx *c, json_t *obj, const char *key, uint32_t lo, uint32_t hi, uint32_t dflt,
		 uint32_t *out);
int ctl_inv_get_time(struct ctx *c, json_t *obj, const char *key, bool required, uint64_t *out);

/* ------------------------------------------------------------------ */
/* seat number ranges (ctl_inv_value.c)                                */
/* ------------------------------------------------------------------ */

#define SEATS_EXPECT "seat numbers and ranges like \"1-40\" or [1, 2, \"5-9\"]"

struct range {
	uint32_t lo, hi;
};

struct rlist {
	struct range *r;
	size_t n, cap;
};

void ctl_inv_rlist_free(struct rlist *l);
uint64_t ctl_inv_rlist_count(const struct rlist *l);
int ctl_inv_parse_ranges(struct ctx *c, json_t *v, struct rlist *out);
int ctl_inv_check_subset(struct ctx *c, const struct rlist *seats, const struct rlist *sub);

/* ------------------------------------------------------------------ */
/* tiers and sections (ctl_inv_section.c)                              */
/* ------------------------------------------------------------------ */

int ctl_inv_parse_tier(struct ctx *c, json_t *o, struct dp_event_def *def, uint32_t idx, const char *event_path);

/* First later duplicate among n string keys: returns its index and the first one's, or -1. */
struct skey {
	const char *s;
	uint32_t idx;
};

int ctl_inv_first_dup_str(struct skey *k, size_t n, uint32_t *first, uint32_t *dup);
int ctl_inv_parse_section(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_section_def *s,
		  const char *event_path);
int ctl_inv_parse_ga(struct ctx *c, json_t *o, struct dp_event_def *def, struct dp_ga_def *g, const char *event_path);
int ctl_inv_check_part_ids(struct ctx *c, const struct dp_event_def *def, const char *event_path);

#endif /* STAMPEDE_CTL_INVENTORY_INTERNAL_H */
