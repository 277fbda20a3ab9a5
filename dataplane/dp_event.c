/*
 * dp_event.c - events: checking definitions, building the in-memory seat
 * maps, publishing them to the workers by RCU pointer swap, and the
 * lock-free readers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_internal.h"

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			if (err && errlen)                                                                    \
				snprintf(err, errlen, __VA_ARGS__);                                           \
			return -EINVAL;                                                                       \
		}                                                                                             \
	} while (0)

static int tier_known(const struct dp_event_def *def, uint8_t tier)
{
	for (uint32_t i = 0; i < def->n_tiers; i++)
		if (def->tiers[i].id == tier)
			return 1;
	return 0;
}

static int name_ok(const char *name)
{
	return memchr(name, '\0', DP_NAME_MAX) != NULL;
}

int dp_event_def_check(const struct dp_event_def *def, char *err, size_t errlen)
{
	CHECK(def != NULL, "no definition");
	CHECK(def->id != 0, "event id: must be non-zero");
	CHECK(name_ok(def->name), "event %u name: longer than %d bytes", def->id, DP_NAME_MAX - 1);
	CHECK(def->hold_ttl_ms >= DP_HOLD_TTL_MS_MIN && def->hold_ttl_ms <= DP_HOLD_TTL_MS_MAX,
	      "event %u hold_ttl_ms: %u is outside %u..%u", def->id, def->hold_ttl_ms, DP_HOLD_TTL_MS_MIN,
	      DP_HOLD_TTL_MS_MAX);
	CHECK(def->buyer_limit >= 1 && def->buyer_limit <= DP_BUYER_LIMIT_MAX,
	      "event %u buyer_limit: %u is outside 1..%u", def->id, def->buyer_limit, DP_BUYER_LIMIT_MAX);
	CHECK(def->n_tiers <= DP_TIERS_MAX, "event %u tiers: %u is more than %u", def->id, def->n_tiers,
	      DP_TIERS_MAX);
	CHECK(def->n_tiers == 0 || def->tiers != NULL, "event %u tiers: missing array", def->id);
	for (uint32_t i = 0; i < def->n_tiers; i++) {
		CHECK(name_ok(def->tiers[i].name), "event %u tier %u name: too long", def->id, def->tiers[i].id);
		CHECK(def->tiers[i].id < DP_TIERS_MAX, "event %u tier %u: id outside 0..%u", def->id, def->tiers[i].id,
		      DP_TIERS_MAX - 1);
		for (uint32_t j = 0; j < i; j++)
			CHECK(def->tiers[j].id != def->tiers[i].id, "event %u tier %u: duplicate id", def->id,
			      def->tiers[i].id);
	}
	uint64_t parts = (uint64_t)def->n_sections + def->n_ga;
	CHECK(parts >= 1, "event %u: no sections and no general-admission types", def->id);
	CHECK(parts <= DP_PARTS_MAX, "event %u: %llu sections and types, more than %u", def->id,
	      (unsigned long long)parts, DP_PARTS_MAX);
	CHECK(def->n_sections == 0 || def->sections != NULL, "event %u sections: missing array", def->id);
	CHECK(def->n_ga == 0 || def->ga != NULL, "event %u ga: missing array", def->id);
	for (uint32_t i = 0; i < def->n_sections; i++) {
		const struct dp_section_def *s = &def->sections[i];
		CHECK(name_ok(s->name), "event %u section %u name: too long", def->id, s->id);
		CHECK(s->n_seats >= 1 && s->n_seats <= DP_PART_SEATS_MAX,
		      "event %u section %u: %u seats, expected 1..%u", def->id, s->id, s->n_seats,
		      DP_PART_SEATS_MAX);
		CHECK(s->seats != NULL, "event %u section %u: missing seats", def->id, s->id);
		CHECK(s->n_rows >= 1 && s->n_rows <= 65536 && s->row_labels != NULL,
		      "event %u section %u: %u rows, expected 1..65536 with labels", def->id, s->id, s->n_rows);
		for (uint32_t r = 0; r < s->n_rows; r++)
			CHECK(memchr(s->row_labels[r], '\0', DP_ROW_LABEL_MAX) != NULL,
			      "event %u section %u row %u label: longer than %d bytes", def->id, s->id, r,
			      DP_ROW_LABEL_MAX - 1);
		for (uint32_t k = 0; k < s->n_seats; k++) {
			const struct dp_seat_def *st = &s->seats[k];
			CHECK(st->row < s->n_rows, "event %u section %u seat %u: row %u outside 0..%u", def->id,
			      s->id, k, st->row, s->n_rows - 1);
			CHECK(tier_known(def, st->tier), "event %u section %u seat %u: tier %u is not defined",
			      def->id, s->id, k, st->tier);
			CHECK((st->flags & ~(DP_SEAT_ACCESSIBLE | DP_SEAT_WITHHELD)) == 0,
			      "event %u section %u seat %u: unknown flags 0x%x", def->id, s->id, k, st->flags);
		}
	}
	for (uint32_t i = 0; i < def->n_ga; i++) {
		const struct dp_ga_def *g = &def->ga[i];
		CHECK(name_ok(g->name), "event %u ga %u name: too long", def->id, g->id);
		CHECK(g->capacity >= 1 && g->capacity <= DP_PART_SEATS_MAX,
		      "event %u ga %u: capacity %u, expected 1..%u", def->id, g->id, g->capacity,
		      DP_PART_SEATS_MAX);
		CHECK(tier_known(def, g->tier), "event %u ga %u: tier %u is not defined", def->id, g->id, g->tier);
	}
	/* Part ids are unique across sections and GA types. */
	for (uint64_t i = 0; i < parts; i++) {
		uint32_t a = i < def->n_sections ? def->sections[i].id : def->ga[i - def->n_sections].id;
		for (uint64_t j = 0; j < i; j++) {
			uint32_t b = j < def->n_sections ? def->sections[j].id : def->ga[j - def->n_sections].id;
			CHECK(a != b, "event %u: section/type id %u used twice", def->id, a);
		}
	}
	return 0;
}

static void part_free(struct dp_part *p)
{
	if (p->slices)
		for (unsigned i = 0; i < p->n_slices; i++)
			free(p->slices[i].free);
	free(p->slices);
	free(p->words);
}

void dp_event_free(struct dp_event *ev)
{
	if (!ev)
		return;
	for (uint32_t i = 0; i < ev->n_parts; i++)
		part_free(&ev->parts[i]);
	free(ev->parts);
	free(ev->counters);
	free(ev->q_steps);
	dp_buyers_fini(&ev->buyers);
	dp_event_def_free(ev->def);
	free(ev->q_open);
	dp_presale_free(ev->presale);
	free(ev);
}

static int part_cmp(const void *a, const void *b)
{
	const struct dp_part *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Initial GA distribution: slice w gets serials [w*cap/W, (w+1)*cap/W),
 * stacked so the lowest serial is taken first. Only FREE words are stacked. */
void dp_ga_distribute(struct dp_part *p)
{
	unsigned W = p->n_slices;
	for (unsigned w = 0; w < W; w++) {
		struct dp_slice *s = &p->slices[w];
		uint32_t lo = (uint32_t)((uint64_t)p->capacity * w / W);
		uint32_t hi = (uint32_t)((uint64_t)p->capacity * (w + 1) / W);
		s->n_free = 0;
		for (uint32_t k = hi; k > lo; k--)
			if (atomic_load_explicit(&p->words[k - 1], memory_order_relaxed) == DP_WORD_FREE)
				s->free[s->n_free++] = k - 1;
	}
}

/* Build the runtime event from a checked definition. */
static int event_build(struct dp_engine *eng, const struct dp_event_def *def, struct dp_event **out)
{
	unsigned W = eng->cfg.workers;
	struct dp_event *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->id = def->id;
	atomic_init(&ev->hold_ttl_ms, def->hold_ttl_ms);
	atomic_init(&ev->buyer_limit, def->buyer_limit);
	atomic_init(&ev->sale_state, DP_SALE_OPEN);
	atomic_init(&ev->on_sale_ms, 0);
	atomic_init(&ev->max_active_shoppers, 0);
	atomic_init(&ev->admission_per_s, 0);
	ev->def = dp_event_def_dup(def);
	ev->n_parts = def->n_sections + def->n_ga;
	ev->parts = calloc(ev->n_parts, sizeof(*ev->parts));
	ev->counters = aligned_alloc(DP_CACHE_LINE, W * sizeof(*ev->counters));
	ev->q_steps = calloc(1, sizeof(*ev->q_steps));
	if (!ev->def || !ev->parts || !ev->counters || !ev->q_steps ||
	    dp_buyers_init(&ev->buyers, eng->cfg.buyers_max) != 0)
		goto nomem;
	memset(ev->counters, 0, W * sizeof(*ev->counters));
	for (uint32_t i = 0; i < ev->n_parts; i++) {
		struct dp_part *p = &ev->parts[i];
		if (i < def->n_sections) {
			const struct dp_section_def *s = &ev->def->sections[i];
			p->id = s->id;
			p->def_index = i;
			p->kind = ST_KIND_SEAT;
			p->capacity = s->n_seats;
			p->seats = s->seats;
			p->owner = (uint16_t)((def->id + i) % W);
			p->n_slices = 1;
		} else {
			const struct dp_ga_def *g = &def->ga[i - def->n_sections];
			p->id = g->id;
			p->def_index = i - def->n_sections;
			p->kind = ST_KIND_GA;
			p->capacity = g->capacity;
			p->ga_tier = g->tier;
			p->n_slices = W;
		}
		p->words = dp_alloc_zeroed((size_t)p->capacity * sizeof(*p->words));
		p->slices = aligned_alloc(DP_CACHE_LINE, p->n_slices * sizeof(struct dp_slice));
		if (!p->words || !p->slices)
			goto nomem;
		memset(p->slices, 0, p->n_slices * sizeof(struct dp_slice));
		if (p->kind == ST_KIND_SEAT) {
			for (uint32_t k = 0; k < p->capacity; k++)
				if (p->seats[k].flags & DP_SEAT_WITHHELD) {
					atomic_init(&p->words[k], DP_WORD_OFF);
					p->withheld++;
				}
		} else {
			for (unsigned w = 0; w < W; w++) {
				p->slices[w].free = malloc(p->capacity * sizeof(uint32_t));
				if (!p->slices[w].free)
					goto nomem;
			}
			dp_ga_distribute(p);
		}
	}
	qsort(ev->parts, ev->n_parts, sizeof(*ev->parts), part_cmp);
	*out = ev;
	return 0;
nomem:
	dp_event_free(ev);
	return -ENOMEM;
}

/* Publish ev (or unpublish event_id when ev is NULL) by copying the catalog,
 * swapping the pointer and freeing the old copy after a grace period. */
static int catalog_swap(struct dp_engine *eng, struct dp_event *ev, uint32_t remove_id, struct dp_event **removed)
{
	struct dp_catalog *old = eng->catalog;
	struct dp_catalog *neu = malloc(sizeof(*neu));
	if (!neu)
		return -ENOMEM;
	neu->n = 0;
	int found = 0;
	for (uint32_t i = 0; i <= old->n; i++) {
		if (ev && (i == old->n || old->ids[i] > ev->id) && !found) {
			neu->ids[neu->n] = ev->id;
			neu->ev[neu->n++] = ev;
			found = 1;
		}
		if (i == old->n)
			break;
		if (!ev && old->ids[i] == remove_id) {
			*removed = old->ev[i];
			found = 1;
			continue;
		}
		neu->ids[neu->n] = old->ids[i];
		neu->ev[neu->n++] = old->ev[i];
	}
	if (!found) {
		free(neu);
		return -ENOENT;
	}
	rcu_assign_pointer(eng->catalog, neu);
	urcu_qsbr_synchronize_rcu();
	free(old);
	return 0;
}

int dp_event_publish(struct dp_engine *eng, const struct dp_event_def *def, int store,
		     const struct dp_sale_settings *sale, char *err, size_t errlen)
{
	int rc = dp_event_def_check(def, err, errlen);
	if (rc)
		return rc;
	if (dp_event_lookup(eng, def->id)) {
		if (err && errlen)
			snprintf(err, errlen, "event %u: already loaded", def->id);
		return -EEXIST;
	}
	if (eng->catalog->n >= DP_EVENTS_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "event %u: %u events loaded already", def->id, DP_EVENTS_MAX);
		return -ENOSPC;
	}
	struct dp_event *ev;
	rc = event_build(eng, def, &ev);
	if (rc)
		return rc;
	if (sale) {
		atomic_store(&ev->sale_state, sale->on_sale_ms ? DP_SALE_SCHEDULED : DP_SALE_OPEN);
		atomic_store(&ev->on_sale_ms, sale->on_sale_ms);
		atomic_store(&ev->max_active_shoppers, sale->max_active_shoppers);
		atomic_store(&ev->admission_per_s, sale->admission_per_s);
		atomic_store(&ev->wr_mode, sale->wr_mode);
		atomic_store(&ev->wr_active, sale->wr_mode == DP_WR_ON ? 1u : 0u);
		atomic_store(&ev->purchase_window_ms, sale->purchase_window_ms);
		atomic_store(&ev->threshold_rps, sale->threshold_rps);
	}
	if (store) {
		/* Presale windows first (checked, then stored: a crash before the
		 * definition is stored leaves windows of no event, ignored). */
		rc = dp_presale_prepare(eng, def->id, sale ? sale->presale : NULL, &ev->presale, err, errlen);
		if (rc) {
			dp_event_free(ev);
			return rc;
		}
		/* A new event: its first block of queue positions is reserved
		 * with its first sale record. */
		atomic_store(&ev->q_pre_limit, DP_QUEUE_RESERVE);
		atomic_store(&ev->q_reg_limit, DP_QUEUE_RESERVE);
		/* Sale settings first: a crash before the definition is stored
		 * leaves a sale record of no event, which recovery ignores and
		 * the next load replaces. */
		struct st_sale rec;
		dp_sale_record(ev, (int)atomic_load(&ev->sale_state), &rec);
		rc = st_env_put_sale(eng->env, def->id, &rec);
		if (rc) {
			if (err && errlen)
				snprintf(err, errlen, "event %u: storing the sale settings failed: %s", def->id,
					 st_strerror(rc));
			dp_event_free(ev);
			return rc;
		}
		void *blob;
		size_t len;
		rc = dp_event_def_encode(def, &blob, &len);
		if (rc == 0) {
			rc = st_env_put_event(eng->env, def->id, blob, len);
			free(blob);
		}
		if (rc) {
			if (err && errlen)
				snprintf(err, errlen, "event %u: storing the definition failed: %s", def->id,
					 st_strerror(rc));
			dp_event_free(ev);
			return rc;
		}
	}
	rc = catalog_swap(eng, ev, 0, NULL);
	if (rc)
		dp_event_free(ev);
	return rc;
}

int dp_engine_add_event(struct dp_engine *eng, const struct dp_event_def *def, char *err, size_t errlen)
{
	return dp_event_publish(eng, def, 1, NULL, err, errlen);
}

int dp_engine_remove_event(struct dp_engine *eng, uint32_t event_id)
{
	struct dp_event *gone = NULL;
	int rc = catalog_swap(eng, NULL, event_id, &gone);
	if (rc)
		return rc;
	rc = st_env_del_event(eng->env, event_id);
	int rc_sale = st_env_del_sale(eng->env, event_id);
	/* Its presale windows and redemptions go with it (an id loaded again
	 * starts with no redemption). */
	int rc_ps = st_env_del_presale_def(eng->env, event_id);
	const int rc_uses = st_env_del_presale(eng->env, event_id);
	if (rc_ps == -ENOENT)
		rc_ps = rc_uses;
	if (rc_sale == 0 || rc_sale == -ENOENT)
		rc_sale = rc_ps;
	dp_event_free(gone); /* after the grace period catalog_swap waited for */
	if (rc == -ENOENT)
		rc = 0;
	return rc ? rc : rc_sale == -ENOENT ? 0 : rc_sale;
}

/* ---- lookups (read side) ---- */

struct dp_event *dp_event_lookup(struct dp_engine *eng, uint32_t event_id)
{
	const struct dp_catalog *c = rcu_dereference(eng->catalog);
	uint32_t lo = 0, hi = c->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (c->ids[mid] < event_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < c->n && c->ids[lo] == event_id) ? c->ev[lo] : NULL;
}

struct dp_part *dp_part_lookup(struct dp_event *ev, uint32_t part_id)
{
	uint32_t lo = 0, hi = ev->n_parts;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (ev->parts[mid].id < part_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < ev->n_parts && ev->parts[lo].id == part_id) ? &ev->parts[lo] : NULL;
}

#define DP_COUNTS_READ_TRIES 64

/* A snapshot of a part's counts: every slice's version read before and
 * after the sums; if none changed (and none was mid-change) the sums are
 * what the part held at one instant. Under constant change, after
 * DP_COUNTS_READ_TRIES attempts, the last sums are used, clamped so they
 * still add up to the capacity. */
static void part_counts(const struct dp_part *p, struct dp_part_counts *c)
{
	uint32_t held = 0, sold = 0;
	uint32_t v[DP_WORKERS_MAX];
	assert(p->n_slices <= DP_WORKERS_MAX);
	for (unsigned tries = 0; tries < DP_COUNTS_READ_TRIES; tries++) {
		int busy = 0;
		for (unsigned i = 0; i < p->n_slices; i++) {
			v[i] = atomic_load_explicit(&p->slices[i].version, memory_order_acquire);
			busy |= v[i] & 1;
		}
		held = sold = 0;
		for (unsigned i = 0; i < p->n_slices; i++) {
			held += atomic_load_explicit(&p->slices[i].held, memory_order_relaxed);
			sold += atomic_load_explicit(&p->slices[i].sold, memory_order_relaxed);
		}
		atomic_thread_fence(memory_order_acquire);
		for (unsigned i = 0; i < p->n_slices; i++)
			busy |= atomic_load_explicit(&p->slices[i].version, memory_order_relaxed) != v[i];
		if (!busy)
			break;
	}
	if (sold > p->capacity - p->withheld)
		sold = p->capacity - p->withheld;
	if (held > p->capacity - p->withheld - sold)
		held = p->capacity - p->withheld - sold;
	c->capacity = p->capacity;
	c->withheld = p->withheld;
	c->held = held;
	c->sold = sold;
	c->free = p->capacity - p->withheld - held - sold;
}

/* Free tickets of a part as its slices' counters say (may lag by a moment;
 * used to tell "sold out" from "stock is on another worker"). */
uint32_t dp_part_available(const struct dp_part *p)
{
	struct dp_part_counts c;
	part_counts(p, &c);
	return c.free;
}

int dp_part_counts_get(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, struct dp_part_counts *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	struct dp_part *p = ev ? dp_part_lookup(ev, part_id) : NULL;
	if (!p)
		return -ENOENT;
	part_counts(p, out);
	return 0;
}

int dp_event_counts_get(struct dp_engine *eng, uint32_t event_id, struct dp_part_counts *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < ev->n_parts; i++) {
		struct dp_part_counts c;
		part_counts(&ev->parts[i], &c);
		out->capacity += c.capacity;
		out->withheld += c.withheld;
		out->held += c.held;
		out->sold += c.sold;
		out->free += c.free;
	}
	return 0;
}

int dp_seat_word(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, uint32_t idx, uint64_t *word_out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	struct dp_part *p = ev ? dp_part_lookup(ev, part_id) : NULL;
	if (!p)
		return -ENOENT;
	if (idx >= p->capacity)
		return -ERANGE;
	*word_out = atomic_load_explicit(&p->words[idx], memory_order_acquire);
	return 0;
}

uint32_t dp_buyer_count(struct dp_engine *eng, uint32_t event_id, uint64_t client_id)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	return ev ? dp_buyers_get(&ev->buyers, client_id) : 0;
}

int dp_seat_map_page(struct dp_engine *eng, uint32_t event_id, uint32_t part_id, uint32_t first, uint32_t count,
		     uint8_t *out, uint32_t *got_out, struct dp_part_counts *counts)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	struct dp_part *p = ev ? dp_part_lookup(ev, part_id) : NULL;
	if (!p)
		return -ENOENT;
	if (first >= p->capacity || count == 0)
		return -ERANGE;
	uint32_t n = p->capacity - first < count ? p->capacity - first : count;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t w = atomic_load_explicit(&p->words[first + i], memory_order_acquire);
		uint8_t tier = p->kind == ST_KIND_SEAT ? p->seats[first + i].tier : p->ga_tier;
		out[i] = (uint8_t)(dp_seat_word_state(w) | (uint8_t)(tier << 2));
	}
	*got_out = n;
	part_counts(p, counts);
	return 0;
}
