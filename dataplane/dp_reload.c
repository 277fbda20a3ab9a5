/*
 * dp_reload.c - loading an event that may be loaded already (docs/control.md,
 * `load`): a new id is added; a loaded id keeps its layout, holds, orders and
 * counters and takes the file's settings; a layout change is refused with a
 * message naming the part, before anything changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_internal.h"

#define KEEPS " a loaded event keeps its layout"

#define LAYOUT(...)                                                                                          \
	do {                                                                                                  \
		if (err && errlen)                                                                            \
			snprintf(err, errlen, __VA_ARGS__);                                                   \
		return -EEXIST;                                                                               \
	} while (0)

static const char *kind_word(uint8_t kind)
{
	return kind == ST_KIND_SEAT ? "section" : "general-admission type";
}

/* Compare one section of the file with the loaded part p (same id, both
 * sections). old is the loaded definition of that section. */
static int section_diff(uint32_t event_id, const struct dp_section_def *old, const struct dp_section_def *neu,
			char *err, size_t errlen)
{
	if (old->n_seats != neu->n_seats)
		LAYOUT("event %u: section %u (%s): %u seats loaded, %u in the file;" KEEPS, event_id, neu->id,
		       neu->name, old->n_seats, neu->n_seats);
	if (old->n_rows != neu->n_rows)
		LAYOUT("event %u: section %u (%s): %u rows loaded, %u in the file;" KEEPS, event_id, neu->id,
		       neu->name, old->n_rows, neu->n_rows);
	for (uint32_t r = 0; r < old->n_rows; r++)
		if (strncmp(old->row_labels[r], neu->row_labels[r], DP_ROW_LABEL_MAX) != 0)
			LAYOUT("event %u: section %u (%s): row %u label \"%s\" loaded, \"%s\" in the file;" KEEPS,
			       event_id, neu->id, neu->name, r + 1, old->row_labels[r], neu->row_labels[r]);
	for (uint32_t k = 0; k < old->n_seats; k++) {
		const struct dp_seat_def *a = &old->seats[k], *b = &neu->seats[k];
		if (a->row != b->row || a->number != b->number || a->tier != b->tier || a->flags != b->flags)
			LAYOUT("event %u: section %u (%s): seat %u: row %s number %u tier %u flags 0x%x loaded, "
			       "row %s number %u tier %u flags 0x%x in the file;" KEEPS,
			       event_id, neu->id, neu->name, k, old->row_labels[a->row], a->number, a->tier, a->flags,
			       neu->row_labels[b->row], b->number, b->tier, b->flags);
	}
	return 0;
}

/* 0 when neu has the layout of the loaded event ev, else -EEXIST naming the
 * first part that differs. neu has passed dp_event_def_check. */
static int layout_diff(const struct dp_event *ev, const struct dp_event_def *neu, char *err, size_t errlen)
{
	const struct dp_event_def *old = rcu_dereference(ev->def);
	const uint32_t n_new = neu->n_sections + neu->n_ga;
	for (uint32_t i = 0; i < n_new; i++) {
		const int is_sec = i < neu->n_sections;
		const struct dp_section_def *s = is_sec ? &neu->sections[i] : NULL;
		const struct dp_ga_def *g = is_sec ? NULL : &neu->ga[i - neu->n_sections];
		const uint32_t id = is_sec ? s->id : g->id;
		const char *name = is_sec ? s->name : g->name;
		const uint8_t kind = is_sec ? ST_KIND_SEAT : ST_KIND_GA;
		struct dp_part *p = dp_part_lookup((struct dp_event *)ev, id);
		if (!p)
			LAYOUT("event %u: %s %u (%s): in the file, not loaded;" KEEPS, neu->id, kind_word(kind), id, name);
		if (p->kind != kind)
			LAYOUT("event %u: part %u (%s): a %s loaded, a %s in the file;" KEEPS, neu->id, id, name,
			       kind_word(p->kind), kind_word(kind));
		if (is_sec) {
			int rc = section_diff(neu->id, &old->sections[p->def_index], s, err, errlen);
			if (rc)
				return rc;
		} else {
			const struct dp_ga_def *og = &old->ga[p->def_index];
			if (og->capacity != g->capacity)
				LAYOUT("event %u: general-admission type %u (%s): capacity %u loaded, %u in the file;" KEEPS,
				       neu->id, id, name, og->capacity, g->capacity);
			if (og->tier != g->tier)
				LAYOUT("event %u: general-admission type %u (%s): tier %u loaded, %u in the file;" KEEPS,
				       neu->id, id, name, og->tier, g->tier);
		}
	}
	if (n_new != ev->n_parts) {
		/* Every part of the file is loaded (ids are unique), so some
		 * loaded part is missing from the file: name it. */
		for (uint32_t j = 0; j < ev->n_parts; j++) {
			const struct dp_part *p = &ev->parts[j];
			int found = 0;
			for (uint32_t i = 0; i < n_new && !found; i++)
				found = (i < neu->n_sections ? neu->sections[i].id : neu->ga[i - neu->n_sections].id) == p->id;
			if (!found)
				LAYOUT("event %u: %s %u (%s): loaded, not in the file;" KEEPS, neu->id, kind_word(p->kind),
				       p->id,
				       p->kind == ST_KIND_SEAT ? old->sections[p->def_index].name : old->ga[p->def_index].name);
		}
	}
	return 0;
}

int dp_engine_load_check(struct dp_engine *eng, const struct dp_event_def *def, char *err, size_t errlen)
{
	int rc = dp_event_def_check(def, err, errlen);
	if (rc)
		return rc;
	struct dp_event *ev = dp_event_lookup(eng, def->id);
	return ev ? layout_diff(ev, def, err, errlen) : 0;
}

/* Same definition bytes and same sale settings: nothing to do. */
static int reload_unchanged(const struct dp_event *ev, const struct dp_event_def *def,
			    const struct dp_sale_settings *sale, int *same)
{
	void *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	int rc = dp_event_def_encode(rcu_dereference(ev->def), &a, &la);
	if (rc == 0)
		rc = dp_event_def_encode(def, &b, &lb);
	*same = rc == 0 && la == lb && memcmp(a, b, la) == 0 && atomic_load(&ev->on_sale_ms) == sale->on_sale_ms &&
		atomic_load(&ev->max_active_shoppers) == sale->max_active_shoppers &&
		atomic_load(&ev->admission_per_s) == sale->admission_per_s &&
		atomic_load(&ev->wr_mode) == sale->wr_mode &&
		atomic_load(&ev->purchase_window_ms) == sale->purchase_window_ms &&
		atomic_load(&ev->threshold_rps) == sale->threshold_rps &&
		(sale->presale_keep || dp_presale_same(ev, sale->presale));
	free(a);
	free(b);
	return rc;
}

/*
 * Store and publish a reload of ev (layout checked equal). The new
 * definition copy takes over the seat arrays the parts point to (it hands
 * its own equal copies to the old definition, freed after a grace period),
 * so no reader ever sees a part's seats freed under it.
 */
static int reload(struct dp_engine *eng, struct dp_event *ev, const struct dp_event_def *def,
		  const struct dp_sale_settings *sale, char *err, size_t errlen)
{
	/* The presale table is built anew (checked, refilled from the stored
	 * redemptions: a code keeps its redemptions by its string) and its
	 * windows stored before anything else; published with the rest. The
	 * stored redemptions are exactly the durable ones, so redemptions still
	 * pending in the old table are dropped unanswered: their buyers' retry
	 * redeems again in the new one. */
	struct dp_presale *ps = NULL;
	int rc = sale->presale_keep ? 0 : dp_presale_prepare(eng, def->id, sale->presale, &ps, err, errlen);
	if (rc)
		return rc;
	if (sale->presale_keep)
		ps = ev->presale; /* unchanged: published again as it is, not freed */
	struct dp_event_def *neu = dp_event_def_dup(def);
	void *blob = NULL;
	size_t len = 0;
	if (!neu || dp_event_def_encode(def, &blob, &len) != 0) {
		dp_event_def_free(neu);
		if (ps != ev->presale)
			dp_presale_free(ps);
		return -ENOMEM;
	}
	rc = st_env_put_event(eng->env, def->id, blob, len);
	free(blob);
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "event %u: storing the definition failed: %s", def->id, st_strerror(rc));
		dp_event_def_free(neu);
		if (ps != ev->presale)
			dp_presale_free(ps);
		return rc;
	}
	struct st_sale rec;
	dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
	rec.on_sale_ms = sale->on_sale_ms;
	rec.max_active_shoppers = sale->max_active_shoppers;
	rec.admission_per_s = sale->admission_per_s;
	/* Waiting room: on and off fix `active`; auto keeps it only if it was auto. */
	rec.wr_active = sale->wr_mode == DP_WR_ON ? 1 : sale->wr_mode == DP_WR_AUTO && rec.wr_mode == DP_WR_AUTO ? rec.wr_active : 0;
	rec.wr_mode = sale->wr_mode;
	rec.purchase_window_ms = sale->purchase_window_ms;
	rec.threshold_rps = sale->threshold_rps;
	rc = st_env_put_sale(eng->env, def->id, &rec);
	if (rc) {
		/* The definition is stored: a restart would show its names with
		 * the old sale settings. Memory keeps the old event entirely. */
		if (err && errlen)
			snprintf(err, errlen, "event %u: storing the sale settings failed: %s", def->id,
				 st_strerror(rc));
		dp_event_def_free(neu);
		if (ps != ev->presale)
			dp_presale_free(ps);
		return rc;
	}
	struct dp_event_def *old = ev->def;
	struct dp_presale *old_ps = ev->presale == ps ? NULL : ev->presale;
	for (uint32_t i = 0; i < neu->n_sections; i++) {
		struct dp_part *p = dp_part_lookup(ev, neu->sections[i].id);
		struct dp_section_def *os = &old->sections[p->def_index];
		struct dp_seat_def *tmp = neu->sections[i].seats;
		neu->sections[i].seats = os->seats;
		os->seats = tmp;
		assert(p->seats == neu->sections[i].seats);
		p->def_index = i;
	}
	for (uint32_t i = 0; i < neu->n_ga; i++)
		dp_part_lookup(ev, neu->ga[i].id)->def_index = i;
	atomic_store(&ev->hold_ttl_ms, def->hold_ttl_ms);
	atomic_store(&ev->buyer_limit, def->buyer_limit);
	dp_sale_apply(ev, &rec);
	dp_queue_apply(ev, &rec, 0);
	rcu_assign_pointer(ev->def, neu);
	rcu_assign_pointer(ev->presale, ps);
	urcu_qsbr_synchronize_rcu();
	dp_event_def_free(old);
	dp_presale_free(old_ps);
	return 0;
}

int dp_engine_load_event(struct dp_engine *eng, const struct dp_event_def *def, const struct dp_sale_settings *sale,
			 int *action_out, char *err, size_t errlen)
{
	static const struct dp_sale_settings none;
	if (!sale)
		sale = &none;
	int rc = dp_engine_load_check(eng, def, err, errlen);
	if (rc)
		return rc;
	struct dp_event *ev = dp_event_lookup(eng, def->id);
	if (!ev) {
		rc = dp_event_publish(eng, def, 1, sale, err, errlen);
		if (rc == 0 && action_out)
			*action_out = DP_LOAD_ADDED;
		return rc;
	}
	int same;
	rc = reload_unchanged(ev, def, sale, &same);
	if (rc)
		return rc;
	if (!same)
		rc = reload(eng, ev, def, sale, err, errlen);
	if (rc == 0 && action_out)
		*action_out = same ? DP_LOAD_UNCHANGED : DP_LOAD_RELOADED;
	return rc;
}
