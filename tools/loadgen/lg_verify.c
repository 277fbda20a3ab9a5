/*
 * lg_verify.c - the verifier of stampede-loadgen (lg_verify.h): parses the
 * export with jansson, turns every row into a ticket key (part, row, seat
 * number or serial), and counts duplicates (sorted keys side by side),
 * oversale (rows per part against its sellable capacity) and lost
 * acknowledged orders (each acknowledged order must be in the export with
 * exactly its tickets and its client id).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dataplane/dp_types.h"
#include "tools/loadgen/lg_verify.h"

/* One export row of the event, reduced. */
struct row {
	uint64_t order_id, client_id;
	uint64_t key; /* part index << 48 | (row index << 16 | number) or serial */
};

/* Ticket key of a seat: part index, row index, seat number. */
static uint64_t seat_key(uint32_t pi, uint32_t row, uint32_t number)
{
	return ((uint64_t)pi << 48) | ((uint64_t)row << 16) | number;
}

/* The part index of part id in plan, or LG_NONE. */
static uint32_t part_index(const struct lg_plan *plan, uint64_t id)
{
	for (uint32_t i = 0; i < plan->n_parts; i++)
		if (plan->parts[i].id == id)
			return i;
	return LG_NONE;
}

/* The section definition of part index pi (reserved seats), or NULL. */
static const struct dp_section_def *section_of(const struct lg_plan *plan, uint32_t pi)
{
	if (!plan->def || plan->parts[pi].ga)
		return NULL;
	for (uint32_t i = 0; i < plan->def->n_sections; i++)
		if (plan->def->sections[i].id == plan->parts[pi].id)
			return &plan->def->sections[i];
	return NULL;
}

/* qsort order of rows: order id, then key. */
static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->order_id != y->order_id)
		return x->order_id < y->order_id ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* qsort order of keys. */
static int key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A non-negative integer member of o, or -1 after writing the reason. */
static int get_uint(const json_t *o, const char *k, size_t i, uint64_t *v, char *err, size_t errlen)
{
	const json_t *x = json_object_get(o, k);
	if (!json_is_integer(x) || json_integer_value(x) < 0) {
		snprintf(err, errlen, "export[%zu].%s: expected an integer >= 0", i, k);
		return -1;
	}
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

/* Reduce export element i to a row; 1 when it belongs to another event (skip
 * it), 0 on success, -1 with the reason. */
static int read_row(const json_t *o, size_t i, const struct lg_plan *plan, struct row *rw, uint32_t *pi_out,
		    char *err, size_t errlen)
{
	uint64_t ev, part;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "export[%zu]: expected an object", i);
		return -1;
	}
	if (get_uint(o, "order_id", i, &rw->order_id, err, errlen) || get_uint(o, "client_id", i, &rw->client_id, err, errlen) ||
	    get_uint(o, "event", i, &ev, err, errlen) || get_uint(o, "part", i, &part, err, errlen))
		return -1;
	const char *kind = json_string_value(json_object_get(o, "kind"));
	if (!kind || (strcmp(kind, "seat") != 0 && strcmp(kind, "ga") != 0)) {
		snprintf(err, errlen, "export[%zu].kind: expected \"seat\" or \"ga\"", i);
		return -1;
	}
	if (ev != plan->event_id)
		return 1;
	uint32_t pi = part_index(plan, part);
	if (pi == LG_NONE) {
		snprintf(err, errlen, "export[%zu].part: event %u has no part %" PRIu64, i, plan->event_id, part);
		return -1;
	}
	int ga = strcmp(kind, "ga") == 0;
	if (ga != plan->parts[pi].ga) {
		snprintf(err, errlen, "export[%zu].kind: part %" PRIu64 " is %s", i, part,
			 plan->parts[pi].ga ? "general admission" : "reserved seats");
		return -1;
	}
	if (ga) {
		uint64_t serial;
		if (get_uint(o, "serial", i, &serial, err, errlen))
			return -1;
		if (serial >= plan->parts[pi].seats) {
			snprintf(err, errlen, "export[%zu].serial: %" PRIu64 " is beyond part %" PRIu64 "'s %u tickets", i,
				 serial, part, plan->parts[pi].seats);
			return -1;
		}
		rw->key = ((uint64_t)pi << 48) | serial;
	} else {
		const struct dp_section_def *sd = section_of(plan, pi);
		const char *label = json_string_value(json_object_get(o, "row"));
		uint64_t number;
		if (!label) {
			snprintf(err, errlen, "export[%zu].row: expected a string", i);
			return -1;
		}
		if (get_uint(o, "seat", i, &number, err, errlen))
			return -1;
		uint32_t ri = LG_NONE;
		for (uint32_t k = 0; sd && k < sd->n_rows; k++)
			if (strcmp(sd->row_labels[k], label) == 0) {
				ri = k;
				break;
			}
		if (ri == LG_NONE || number > UINT16_MAX) {
			snprintf(err, errlen, "export[%zu]: section %" PRIu64 " has no row \"%.16s\" seat %" PRIu64, i, part,
				 label, number);
			return -1;
		}
		rw->key = seat_key(pi, ri, (uint32_t)number);
	}
	*pi_out = pi;
	return 0;
}

/* The ticket key of item it of an acknowledged order in part index pi, or
 * UINT64_MAX when the item is not a ticket of the part. */
static uint64_t item_key(const struct lg_plan *plan, uint32_t pi, uint32_t it)
{
	if (plan->parts[pi].ga)
		return it < plan->parts[pi].seats ? (((uint64_t)pi << 48) | it) : UINT64_MAX;
	const struct dp_section_def *sd = section_of(plan, pi);
	if (!sd || it >= sd->n_seats)
		return UINT64_MAX;
	return seat_key(pi, sd->seats[it].row, sd->seats[it].number);
}

/* See lg_verify.h. */
int lg_verify_export(const char *text, size_t len, const struct lg_plan *plan, const struct lg_order *orders,
		     uint32_t n, uint64_t client_base, uint32_t n_buyers, struct lg_verify_result *res, char *err,
		     size_t errlen)
{
	json_error_t je;
	memset(res, 0, sizeof(*res));
	json_t *a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	uint64_t *acked = NULL;
	if (!a) {
		snprintf(err, errlen, "export: line %d column %d: %s", je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_array(a)) {
		snprintf(err, errlen, "export: expected a JSON array");
		json_decref(a);
		return -1;
	}
	size_t na = json_array_size(a);
	struct row *rows = calloc(na ? na : 1, sizeof(*rows));
	uint64_t *keys = calloc(na ? na : 1, sizeof(*keys));
	uint64_t *per_part = calloc(LG_PARTS_MAX, sizeof(*per_part));
	if (!rows || !keys || !per_part) {
		snprintf(err, errlen, "out of memory for %zu export rows", na);
		goto fail;
	}
	size_t nr = 0;
	for (size_t i = 0; i < na; i++) {
		uint32_t pi;
		int rc = read_row(json_array_get(a, i), i, plan, &rows[nr], &pi, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			res->foreign_rows++;
			continue;
		}
		keys[nr] = rows[nr].key;
		per_part[pi]++;
		nr++;
	}
	res->rows = nr;
	for (uint32_t p = 0; p < plan->n_parts; p++)
		if (per_part[p] > plan->parts[p].sellable)
			res->oversold += per_part[p] - plan->parts[p].sellable;
	qsort(keys, nr, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nr; i++)
		if (keys[i] == keys[i - 1])
			res->duplicate_tickets++;
	qsort(rows, nr, sizeof(*rows), row_cmp);
	/* Every acknowledged order: present, its client, exactly its tickets. */
	for (uint32_t k = 0; k < n; k++) {
		const struct lg_order *o = &orders[k];
		size_t lo = 0, hi = nr;
		while (lo < hi) { /* first row with order_id >= o->order_id */
			size_t mid = (lo + hi) / 2;
			if (rows[mid].order_id < o->order_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t end = lo;
		while (end < nr && rows[end].order_id == o->order_id)
			end++;
		int ok = end - lo == o->n_items;
		uint32_t pi = part_index(plan, o->part_id);
		uint64_t want[LG_QTY_MAX];
		for (unsigned t = 0; ok && t < o->n_items; t++) {
			want[t] = pi == LG_NONE ? UINT64_MAX : item_key(plan, pi, o->items[t]);
			ok = want[t] != UINT64_MAX;
		}
		if (ok)
			qsort(want, o->n_items, sizeof(want[0]), key_cmp);
		for (unsigned t = 0; ok && t < o->n_items; t++)
			ok = rows[lo + t].key == want[t] && rows[lo + t].client_id == o->client_id;
		if (!ok)
			res->lost_acked++;
	}
	/* Orders of this run's clients never acknowledged (unknown outcomes). */
	acked = calloc(n ? n : 1, sizeof(*acked));
	if (!acked) {
		snprintf(err, errlen, "out of memory for %u orders", n);
		goto fail;
	}
	for (uint32_t k = 0; k < n; k++)
		acked[k] = orders[k].order_id;
	qsort(acked, n, sizeof(*acked), key_cmp);
	for (size_t i = 0; i < nr; i++) {
		if (i > 0 && rows[i].order_id == rows[i - 1].order_id)
			continue;
		if (rows[i].client_id <= client_base || rows[i].client_id - client_base > n_buyers)
			continue;
		if (!n || !bsearch(&rows[i].order_id, acked, n, sizeof(*acked), key_cmp))
			res->unacked_orders++;
	}
	free(acked);
	free(rows);
	free(keys);
	free(per_part);
	json_decref(a);
	return 0;
fail:
	memset(res, 0, sizeof(*res));
	free(acked);
	free(rows);
	free(keys);
	free(per_part);
	json_decref(a);
	return -1;
}
