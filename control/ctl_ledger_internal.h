/*
 * ctl_ledger_internal.h - the ledger's private structures, shared by
 * ctl_ledger.c (LMDB, following), ctl_ledger_table.c (holds, due heap,
 * orders) and ctl_ledger_events.c (event definitions, export). Not an API.
 */
#ifndef STAMPEDE_CTL_LEDGER_INTERNAL_H
#define STAMPEDE_CTL_LEDGER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "control/ctl_ledger.h"

#define CTL_LT_SLOTS_MIN 1024u      /* smallest hash table (power of two) */
#define CTL_LT_HEAP_MIN 1024u       /* smallest due heap */
#define CTL_LT_ORDERS_MIN 1024u     /* smallest order array */
#define CTL_LT_HEAP_SLACK 4096u     /* dead heap entries tolerated beyond 2x live */

/* One hash-table slot: hold_id 0 marks it empty (the dataplane never makes id 0). */
struct ctl_lt_slot {
	struct ctl_hold h;
	uint64_t next_offer_ms; /* ctl_ledger_due offers it no earlier than this */
};

struct ctl_lt_due {
	uint64_t at_ms;
	uint64_t hold_id;
};

/* Live holds: open addressing, linear probing, backward-shift deletion. */
struct ctl_lt {
	struct ctl_lt_slot *slots;
	size_t cap; /* power of two, 0 before the first insert */
	size_t live;
	struct ctl_lt_due *heap; /* min-heap on at_ms; entries of ended holds are dropped lazily */
	size_t heap_n;
	size_t heap_cap;
	struct ctl_order *orders;
	size_t orders_n;
	size_t orders_cap;
};

/* One known event: the decoded definition, its raw bytes (to notice a
 * change), and its parts sorted by id. */
struct ctl_le_part {
	uint32_t part_id;
	bool ga;
	uint32_t index; /* into sections[] or ga[] */
};

struct ctl_le_event {
	uint32_t event_id;
	struct dp_event_def *def;
	void *raw;
	size_t raw_len;
	struct ctl_le_part *parts; /* def->n_sections + def->n_ga, sorted by part_id */
	size_t n_parts;
	bool seen; /* scratch for refresh */
};

struct ctl_ledger {
	MDB_env *mdb;
	MDB_dbi dbi_log;
	MDB_dbi dbi_events;
	struct ctl_lt lt;
	struct ctl_le_event events[CTL_LEDGER_EVENTS_MAX];
	unsigned n_events; /* events[] sorted by event_id */
	struct ctl_ledger_stats stats;
};

/* ctl_ledger_table.c. Sizes are checked by the caller against the limits. */
/* Make room for `more` live holds and `more_orders` orders. 0 or -ENOMEM. */
int ctl_lt_reserve(struct ctl_lt *t, size_t more, size_t more_orders);
/* Insert or replace (returns true when it replaced). Room must be reserved. */
bool ctl_lt_put(struct ctl_lt *t, const struct ctl_hold *h);
/* Find a live hold, or NULL. */
const struct ctl_hold *ctl_lt_get(const struct ctl_lt *t, uint64_t hold_id);
/* Remove; false when it was not live. If out is non-NULL it gets a copy. */
bool ctl_lt_del(struct ctl_lt *t, uint64_t hold_id, struct ctl_hold *out);
/* Append an order. Room must be reserved. */
void ctl_lt_order(struct ctl_lt *t, const struct ctl_order *o);
size_t ctl_lt_due(struct ctl_lt *t, uint64_t now_ms, uint64_t *ids, size_t max);
void ctl_lt_free(struct ctl_lt *t);

/* ctl_ledger_events.c */
void ctl_le_free_all(struct ctl_ledger *l);
const struct ctl_le_event *ctl_le_find(const struct ctl_ledger *l, uint32_t event_id);

#endif
