/*
 * ctl_ledger_events.c - the ledger's copy of the `events` database (decoded
 * definitions, re-decoded only when their bytes change) and export rows built
 * from orders and those definitions (ctl_ledger.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "control/ctl_ledger_internal.h"
#include "dataplane/dp_codec.h"
#include "storage/st.h"

#define CTL_LE_DECODE_ERR_BYTES 160

/* Free one entry's definition, bytes and part index; e non-NULL. */
static void ctl_le_event_clear(struct ctl_le_event *e)
{
	dp_event_def_free(e->def);
	free(e->raw);
	free(e->parts);
	memset(e, 0, sizeof(*e));
}

/* Free every known event; l non-NULL. */
void ctl_le_free_all(struct ctl_ledger *l)
{
	for (unsigned i = 0; i < l->n_events; i++)
		ctl_le_event_clear(&l->events[i]);
	l->n_events = 0;
}

/* Binary search in the sorted events[]. */
const struct ctl_le_event *ctl_le_find(const struct ctl_ledger *l, uint32_t event_id)
{
	unsigned lo = 0, hi = l->n_events;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (l->events[mid].event_id == event_id)
			return &l->events[mid];
		if (l->events[mid].event_id < event_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* bsearch/qsort order of parts by part_id. */
static int ctl_le_part_cmp(const void *a, const void *b)
{
	const struct ctl_le_part *x = a, *y = b;
	return x->part_id < y->part_id ? -1 : x->part_id > y->part_id;
}

/* Index def's sections and GA types by part id. 0 or -ENOMEM. */
static int ctl_le_index_parts(const struct dp_event_def *def, struct ctl_le_part **out, size_t *n_out)
{
	size_t n = (size_t)def->n_sections + def->n_ga;
	struct ctl_le_part *p = calloc(n ? n : 1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	size_t k = 0;
	for (uint32_t i = 0; i < def->n_sections; i++)
		p[k++] = (struct ctl_le_part){.part_id = def->sections[i].id, .ga = false, .index = i};
	for (uint32_t i = 0; i < def->n_ga; i++)
		p[k++] = (struct ctl_le_part){.part_id = def->ga[i].id, .ga = true, .index = i};
	qsort(p, n, sizeof(*p), ctl_le_part_cmp);
	*out = p;
	*n_out = n;
	return 0;
}

/* Part part_id of event e (e may be NULL: no event), or NULL. */
static const struct ctl_le_part *ctl_le_part_find(const struct ctl_le_event *e, uint32_t part_id)
{
	if (e == NULL)
		return NULL;
	struct ctl_le_part key = {.part_id = part_id};
	return bsearch(&key, e->parts, e->n_parts, sizeof(key), ctl_le_part_cmp);
}

/* Decode blob into a fresh entry. -EINVAL (err says why) or -ENOMEM. */
static int ctl_le_decode(uint32_t event_id, const MDB_val *v, struct ctl_le_event *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	char why[CTL_LE_DECODE_ERR_BYTES] = "";
	int rc = dp_event_def_decode(v->mv_data, v->mv_size, &e->def, why, sizeof(why));
	if (rc == 0 && e->def->id != event_id) {
		snprintf(why, sizeof(why), "definition names event %u", e->def->id);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = ctl_le_index_parts(e->def, &e->parts, &e->n_parts);
	if (rc == 0) {
		e->raw = malloc(v->mv_size ? v->mv_size : 1);
		if (e->raw == NULL)
			rc = -ENOMEM;
		else
			memcpy(e->raw, v->mv_data, v->mv_size);
		e->raw_len = v->mv_size;
	}
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "event %u: definition (%zu bytes) does not decode: %s", event_id,
				 v->mv_size, rc == -ENOMEM ? "out of memory" : why);
		ctl_le_event_clear(e);
		return rc;
	}
	e->event_id = event_id;
	return 0;
}

/* Insert e (moved in) keeping events[] sorted; room is checked by the caller. */
static void ctl_le_insert(struct ctl_ledger *l, struct ctl_le_event *e)
{
	unsigned i = l->n_events;
	while (i > 0 && l->events[i - 1].event_id > e->event_id) {
		l->events[i] = l->events[i - 1];
		i--;
	}
	l->events[i] = *e;
	l->n_events++;
}

/* Apply one stored (id, blob). Returns 0, -EINVAL, -ENOSPC or -ENOMEM. */
static int ctl_le_refresh_one(struct ctl_ledger *l, uint32_t event_id, const MDB_val *v, char *err, size_t errlen)
{
	struct ctl_le_event *cur = (struct ctl_le_event *)ctl_le_find(l, event_id);
	if (cur != NULL) {
		cur->seen = true;
		if (cur->raw_len == v->mv_size && memcmp(cur->raw, v->mv_data, v->mv_size) == 0)
			return 0;
	} else if (l->n_events == CTL_LEDGER_EVENTS_MAX) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "event %u: more than CTL_LEDGER_EVENTS_MAX (%u) events", event_id,
				 CTL_LEDGER_EVENTS_MAX);
		return -ENOSPC;
	}
	struct ctl_le_event fresh;
	int rc = ctl_le_decode(event_id, v, &fresh, err, errlen);
	if (rc != 0)
		return rc; /* the previous definition, if any, stays */
	fresh.seen = true;
	if (cur != NULL) {
		ctl_le_event_clear(cur);
		*cur = fresh;
	} else {
		ctl_le_insert(l, &fresh);
	}
	return 0;
}

/* Drop events not seen in this refresh. */
static void ctl_le_drop_unseen(struct ctl_ledger *l)
{
	unsigned k = 0;
	for (unsigned i = 0; i < l->n_events; i++) {
		if (l->events[i].seen) {
			l->events[i].seen = false;
			l->events[k++] = l->events[i];
		} else {
			ctl_le_event_clear(&l->events[i]);
		}
	}
	l->n_events = k;
}

/* Re-read the `events` database (ctl_ledger.h). */
int ctl_ledger_refresh_events(struct ctl_ledger *l, char *err, size_t errlen)
{
	assert(l != NULL);
	MDB_txn *txn;
	int rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn);
	if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(l->mdb, 0) == 0)
		rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "read transaction: %s", mdb_strerror(rc));
		return rc > 0 ? -rc : rc;
	}
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, l->dbi_events, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "events cursor: %s", mdb_strerror(rc));
		return rc > 0 ? -rc : rc;
	}
	for (unsigned i = 0; i < l->n_events; i++)
		l->events[i].seen = false;
	int first = 0; /* first failure; the walk goes on so other events refresh */
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint32_t event_id;
		if (k.mv_size != sizeof(event_id)) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "events key of %zu bytes, not 4", k.mv_size);
			first = MDB_CORRUPTED;
			break;
		}
		memcpy(&event_id, k.mv_data, sizeof(event_id));
		int one = ctl_le_refresh_one(l, event_id, &v, first == 0 ? err : NULL, errlen);
		if (one != 0 && first == 0)
			first = one;
		if (one != 0) {
			/* Keep a failed event's previous definition: mark it seen. */
			struct ctl_le_event *e = (struct ctl_le_event *)ctl_le_find(l, event_id);
			if (e != NULL)
				e->seen = true;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND && first == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "events read: %s", mdb_strerror(rc));
		first = rc > 0 ? -rc : rc;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (first != MDB_CORRUPTED)
		ctl_le_drop_unseen(l); /* a walk cut short must not drop the rest */
	else
		for (unsigned i = 0; i < l->n_events; i++)
			l->events[i].seen = false;
	return first != 0 ? first : (int)l->n_events;
}

/* Decoded definition of event_id, or NULL; l non-NULL. */
const struct dp_event_def *ctl_ledger_event(const struct ctl_ledger *l, uint32_t event_id)
{
	const struct ctl_le_event *e = ctl_le_find(l, event_id);
	return e ? e->def : NULL;
}

/* Name of a section or GA type, or NULL when unknown; l non-NULL. */
const char *ctl_ledger_part_name(const struct ctl_ledger *l, uint32_t event_id, uint32_t part_id)
{
	const struct ctl_le_event *e = ctl_le_find(l, event_id);
	const struct ctl_le_part *p = ctl_le_part_find(e, part_id);
	if (p == NULL)
		return NULL;
	return p->ga ? e->def->ga[p->index].name : e->def->sections[p->index].name;
}

/* Fill tier fields of row from def's tier `tier`. */
static void ctl_le_tier(const struct dp_event_def *def, uint8_t tier, struct ctl_export_row *row)
{
	row->tier_known = true;
	row->tier = tier;
	for (uint32_t i = 0; i < def->n_tiers; i++) {
		if (def->tiers[i].id == tier) {
			row->tier_name = def->tiers[i].name;
			row->price_cents = def->tiers[i].price_cents;
			return;
		}
	}
}

/* One ticket of an order: item i resolved against the event definition. */
static void ctl_le_row(const struct ctl_le_event *e, const struct ctl_order *o, uint32_t item,
		       struct ctl_export_row *row)
{
	memset(row, 0, sizeof(*row));
	row->order_id = o->order_id;
	row->hold_id = o->hold_id;
	row->client_id = o->client_id;
	row->time_ms = o->time_ms;
	row->event_id = o->event_id;
	row->part_id = o->part_id;
	row->kind = o->kind;
	if (o->kind == ST_KIND_GA)
		row->serial = item;
	const struct ctl_le_part *p = ctl_le_part_find(e, o->part_id);
	if (p == NULL)
		return;
	const struct dp_event_def *def = e->def;
	if (p->ga) {
		const struct dp_ga_def *ga = &def->ga[p->index];
		row->part_name = ga->name;
		if (o->kind != ST_KIND_GA || item >= ga->capacity)
			return;
		row->item_known = true;
		ctl_le_tier(def, ga->tier, row);
		return;
	}
	const struct dp_section_def *sec = &def->sections[p->index];
	row->part_name = sec->name;
	if (o->kind != ST_KIND_SEAT || item >= sec->n_seats)
		return;
	const struct dp_seat_def *seat = &sec->seats[item];
	if (seat->row < sec->n_rows)
		row->row = sec->row_labels[seat->row];
	row->seat = seat->number;
	row->item_known = true;
	ctl_le_tier(def, seat->tier, row);
}

/* Every ticket of every order of event_id (0: all), in log order. */
int ctl_ledger_export(const struct ctl_ledger *l, uint32_t event_id, ctl_export_cb cb, void *ctx)
{
	assert(l != NULL && cb != NULL);
	for (size_t i = 0; i < l->lt.orders_n; i++) {
		const struct ctl_order *o = &l->lt.orders[i];
		if (event_id != 0 && o->event_id != event_id)
			continue;
		const struct ctl_le_event *e = ctl_le_find(l, o->event_id);
		for (unsigned k = 0; k < o->n_items; k++) {
			struct ctl_export_row row;
			ctl_le_row(e, o, o->items[k], &row);
			int rc = cb(ctx, &row);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* qsort order of client ids. */
static int ctl_le_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Distinct clients of event_id with an order since since_ms (ctl_ledger.h). */
long long ctl_ledger_buyers_since(const struct ctl_ledger *l, uint32_t event_id, uint64_t since_ms)
{
	if (l == NULL || event_id == 0)
		return -EINVAL;
	uint64_t stop_ms = since_ms > CTL_LEDGER_ORDER_SKEW_MS ? since_ms - CTL_LEDGER_ORDER_SKEW_MS : 0;
	size_t n_orders = l->lt.orders_n;
	size_t scan = n_orders < CTL_LEDGER_BUYERS_SCAN_MAX ? n_orders : CTL_LEDGER_BUYERS_SCAN_MAX;
	if (scan == 0)
		return 0;
	uint64_t *ids = malloc(scan * sizeof(*ids));
	if (ids == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (size_t k = 0; k < scan; k++) {
		const struct ctl_order *o = &l->lt.orders[n_orders - 1 - k];
		if (o->time_ms < stop_ms)
			break;
		if (o->event_id == event_id && o->time_ms >= since_ms)
			ids[n++] = o->client_id;
	}
	qsort(ids, n, sizeof(*ids), ctl_le_cmp_u64);
	long long distinct = 0;
	for (size_t k = 0; k < n; k++)
		if (k == 0 || ids[k] != ids[k - 1])
			distinct++;
	free(ids);
	return distinct;
}
