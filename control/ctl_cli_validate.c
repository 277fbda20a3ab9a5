/*
 * ctl_cli_validate.c - `stampedectl validate FILE`: load an inventory file
 * offline with ctl_inventory_load (control/ctl_inventory.h, docs/inventory.md)
 * and print what the file sells, as aligned tables for people or, with
 * --json, as one JSON object for scripts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_cli.h"
#include "control/ctl_inventory.h"

/* Tier ids of a section's seats in ascending order, "1,2"; mask bit i = tier i. */
static void fmt_tiers(char *buf, size_t len, uint64_t mask)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned t = 0; t < 64 && n < len; t++)
		if (mask & (1ull << t))
			n += (size_t)snprintf(buf + n, len - n, "%s%u", n ? "," : "", t);
}

/* ---- facts of an inventory ---- */

struct section_facts {
	uint32_t accessible, withheld;
	uint64_t tiers; /* bit i: some seat has tier i */
};

struct event_facts {
	uint64_t reserved, ga, capacity, accessible, withheld;
	struct section_facts *sections; /* n_sections */
};

/* Count what an event definition sells: seats per section, GA tickets, accessible and withheld seats. */
static void event_facts(const struct dp_event_def *d, struct event_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->sections = ctl_cli_calloc(d->n_sections, sizeof(*f->sections));
	for (uint32_t s = 0; s < d->n_sections; s++) {
		const struct dp_section_def *sec = &d->sections[s];
		struct section_facts *sf = &f->sections[s];
		for (uint32_t i = 0; i < sec->n_seats; i++) {
			const struct dp_seat_def *seat = &sec->seats[i];
			if (seat->flags & DP_SEAT_ACCESSIBLE)
				sf->accessible++;
			if (seat->flags & DP_SEAT_WITHHELD)
				sf->withheld++;
			if (seat->tier < 64)
				sf->tiers |= 1ull << seat->tier;
		}
		f->reserved += sec->n_seats;
		f->accessible += sf->accessible;
		f->withheld += sf->withheld;
	}
	for (uint32_t g = 0; g < d->n_ga; g++)
		f->ga += d->ga[g].capacity;
	f->capacity = f->reserved + f->ga;
}

/* Buyers a presale window's access codes admit, all codes together. */
static uint64_t presale_uses(const struct ctl_presale *p)
{
	uint64_t uses = 0;
	for (uint32_t c = 0; c < p->n_codes; c++)
		uses += p->codes[c].uses;
	return uses;
}

/* The same for its member list (attached by ctl_cli_members_attach). */
static uint64_t member_uses(const struct ctl_presale *p)
{
	uint64_t uses = 0;
	for (uint32_t c = 0; c < p->n_members; c++)
		uses += p->members[c].uses;
	return uses;
}

/* The waiting-room mode as the file writes it. */
static const char *wr_mode_name(uint8_t mode)
{
	switch (mode) {
	case CTL_WR_OFF:
		return "off";
	case CTL_WR_ON:
		return "on";
	case CTL_WR_AUTO:
		return "auto";
	default:
		return "unknown";
	}
}

/* ---- validate: human output ---- */

/* One event of a valid file as the human summary: settings, then tiers, sections, GA and presale tables. */
static void print_event(const struct ctl_event *ev, const struct event_facts *f)
{
	const struct dp_event_def *d = ev->def;
	const struct ctl_event_extra *x = &ev->extra;
	char a[64], b[64];

	printf("event %" PRIu32 ": %s\n", d->id, d->name);
	printf("  %-14s %" PRIu64 " (%" PRIu64 " reserved seats, %" PRIu64 " general admission)\n", "capacity",
	       f->capacity, f->reserved, f->ga);
	if (f->reserved)
		printf("  %-14s %" PRIu64 " accessible, %" PRIu64 " withheld\n", "reserved seats", f->accessible,
		       f->withheld);
	ctl_cli_fmt_duration(a, sizeof(a), d->hold_ttl_ms);
	printf("  %-14s %s\n", "hold TTL", a);
	printf("  %-14s %" PRIu32 " tickets per buyer\n", "buyer limit", d->buyer_limit);
	if (x->on_sale_ms) {
		ctl_cli_fmt_time(a, sizeof(a), x->on_sale_ms);
		printf("  %-14s %s\n", "on sale", a);
	} else {
		printf("  %-14s %s\n", "on sale", "as soon as loaded");
	}
	const struct ctl_waiting_room *w = &x->waiting_room;
	if (w->mode == CTL_WR_OFF) {
		printf("  %-14s %s\n", "waiting room", "off");
	} else {
		ctl_cli_fmt_duration(a, sizeof(a), w->purchase_window_ms);
		if (w->mode == CTL_WR_AUTO)
			snprintf(b, sizeof(b), "auto, above %" PRIu32 " requests/s", w->threshold_rps);
		else
			snprintf(b, sizeof(b), "%s", wr_mode_name(w->mode));
		printf("  %-14s %s; at most %" PRIu32 " active shoppers, %" PRIu32
		       " admitted/s, purchase window %s\n",
		       "waiting room", b, w->max_active_shoppers, w->admission_per_s, a);
	}

	struct ctl_table t;
	{
		static const char *const head[] = {"TIER", "NAME", "PRICE"};
		static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT};
		ctl_table_init(&t, 3, head, align);
		for (uint32_t i = 0; i < d->n_tiers; i++) {
			snprintf(a, sizeof(a), "%u", (unsigned)d->tiers[i].id);
			ctl_cli_fmt_price(b, sizeof(b), d->tiers[i].price_cents);
			const char *row[] = {a, d->tiers[i].name, b};
			ctl_table_row(&t, row);
		}
		fputs("\n", stdout);
		ctl_table_print(&t, "  ");
		ctl_table_free(&t);
	}
	if (d->n_sections) {
		static const char *const head[] = {"SECTION", "NAME", "TIERS", "ROWS", "SEATS", "ACCESSIBLE", "WITHHELD"};
		static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT,
					    CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
		ctl_table_init(&t, 7, head, align);
		for (uint32_t s = 0; s < d->n_sections; s++) {
			const struct dp_section_def *sec = &d->sections[s];
			const struct section_facts *sf = &f->sections[s];
			char id[16], tiers[256], rows[16], seats[16], acc[16], wh[16];
			snprintf(id, sizeof(id), "%" PRIu32, sec->id);
			fmt_tiers(tiers, sizeof(tiers), sf->tiers);
			snprintf(rows, sizeof(rows), "%" PRIu32, sec->n_rows);
			snprintf(seats, sizeof(seats), "%" PRIu32, sec->n_seats);
			snprintf(acc, sizeof(acc), "%" PRIu32, sf->accessible);
			snprintf(wh, sizeof(wh), "%" PRIu32, sf->withheld);
			const char *row[] = {id, sec->name, tiers, rows, seats, acc, wh};
			ctl_table_row(&t, row);
		}
		fputs("\n", stdout);
		ctl_table_print(&t, "  ");
		ctl_table_free(&t);
	}
	if (d->n_ga) {
		static const char *const head[] = {"GA TYPE", "NAME", "TIER", "CAPACITY"};
		static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
		ctl_table_init(&t, 4, head, align);
		for (uint32_t g = 0; g < d->n_ga; g++) {
			char id[16], tier[8], cap[16];
			snprintf(id, sizeof(id), "%" PRIu32, d->ga[g].id);
			snprintf(tier, sizeof(tier), "%u", (unsigned)d->ga[g].tier);
			snprintf(cap, sizeof(cap), "%" PRIu32, d->ga[g].capacity);
			const char *row[] = {id, d->ga[g].name, tier, cap};
			ctl_table_row(&t, row);
		}
		fputs("\n", stdout);
		ctl_table_print(&t, "  ");
		ctl_table_free(&t);
	}
	if (x->n_presales) {
		static const char *const head[] = {"PRESALE", "START", "END", "ACCESS"};
		static const int align[] = {CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_LEFT};
		ctl_table_init(&t, 4, head, align);
		for (uint32_t i = 0; i < x->n_presales; i++) {
			const struct ctl_presale *p = &x->presales[i];
			char access[CTL_PATH_MAX + 64];
			ctl_cli_fmt_time(a, sizeof(a), p->start_ms);
			ctl_cli_fmt_time(b, sizeof(b), p->end_ms);
			if (p->n_codes) {
				uint64_t uses = presale_uses(p);
				snprintf(access, sizeof(access), "%" PRIu32 " code%s, %" PRIu64 " use%s", p->n_codes,
					 p->n_codes == 1 ? "" : "s", uses, uses == 1 ? "" : "s");
			} else {
				uint64_t uses = member_uses(p);
				snprintf(access, sizeof(access), "member list %s: %" PRIu32 " member%s, %" PRIu64 " use%s",
					 p->members_file, p->n_members, p->n_members == 1 ? "" : "s", uses,
					 uses == 1 ? "" : "s");
			}
			const char *row[] = {p->name, a, b, access};
			ctl_table_row(&t, row);
		}
		fputs("\n", stdout);
		ctl_table_print(&t, "  ");
		ctl_table_free(&t);
	}
}

/* The whole human summary: the valid line, each event, the total capacity. */
static void print_summary(const char *file, const struct ctl_inventory *inv, const struct event_facts *facts)
{
	uint64_t total = 0;
	for (uint32_t e = 0; e < inv->n_events; e++)
		total += facts[e].capacity;
	printf("%s: valid: %" PRIu32 " event%s\n", file, inv->n_events, inv->n_events == 1 ? "" : "s");
	for (uint32_t e = 0; e < inv->n_events; e++) {
		fputs("\n", stdout);
		print_event(&inv->events[e], &facts[e]);
	}
	printf("\ntotal capacity %" PRIu64 "\n", total);
}

/* One event of a valid file as a JSON object (docs/stampedectl.md, "validate --json"). */
static json_t *event_json(const struct ctl_event *ev, const struct event_facts *f)
{
	const struct dp_event_def *d = ev->def;
	const struct ctl_event_extra *x = &ev->extra;
	char buf[64];
	json_t *o = ctl_cli_jobj();

	ctl_cli_jset(o, "id", ctl_cli_jint(d->id));
	ctl_cli_jset(o, "name", json_string(d->name));
	ctl_cli_jset(o, "capacity", ctl_cli_jint(f->capacity));
	ctl_cli_jset(o, "reserved_seats", ctl_cli_jint(f->reserved));
	ctl_cli_jset(o, "ga_tickets", ctl_cli_jint(f->ga));
	ctl_cli_jset(o, "accessible", ctl_cli_jint(f->accessible));
	ctl_cli_jset(o, "withheld", ctl_cli_jint(f->withheld));
	ctl_cli_jset(o, "hold_ttl_ms", ctl_cli_jint(d->hold_ttl_ms));
	ctl_cli_fmt_duration(buf, sizeof(buf), d->hold_ttl_ms);
	ctl_cli_jset(o, "hold_ttl", json_string(buf));
	ctl_cli_jset(o, "buyer_limit", ctl_cli_jint(d->buyer_limit));
	ctl_cli_jset(o, "on_sale_ms", ctl_cli_jint(x->on_sale_ms));
	if (x->on_sale_ms) {
		ctl_cli_fmt_time(buf, sizeof(buf), x->on_sale_ms);
		ctl_cli_jset(o, "on_sale", json_string(buf));
	} else {
		ctl_cli_jset(o, "on_sale", json_null());
	}

	json_t *tiers = ctl_cli_jarr();
	for (uint32_t i = 0; i < d->n_tiers; i++) {
		json_t *t = ctl_cli_jobj();
		ctl_cli_jset(t, "id", ctl_cli_jint(d->tiers[i].id));
		ctl_cli_jset(t, "name", json_string(d->tiers[i].name));
		ctl_cli_jset(t, "price_cents", ctl_cli_jint(d->tiers[i].price_cents));
		ctl_cli_fmt_price(buf, sizeof(buf), d->tiers[i].price_cents);
		ctl_cli_jset(t, "price", json_string(buf));
		ctl_cli_jappend(tiers, t);
	}
	ctl_cli_jset(o, "tiers", tiers);

	json_t *sections = ctl_cli_jarr();
	for (uint32_t s = 0; s < d->n_sections; s++) {
		const struct dp_section_def *sec = &d->sections[s];
		const struct section_facts *sf = &f->sections[s];
		json_t *so = ctl_cli_jobj();
		ctl_cli_jset(so, "id", ctl_cli_jint(sec->id));
		ctl_cli_jset(so, "name", json_string(sec->name));
		json_t *st = ctl_cli_jarr();
		for (unsigned t = 0; t < 64; t++)
			if (sf->tiers & (1ull << t))
				ctl_cli_jappend(st, ctl_cli_jint(t));
		ctl_cli_jset(so, "tiers", st);
		ctl_cli_jset(so, "rows", ctl_cli_jint(sec->n_rows));
		ctl_cli_jset(so, "seats", ctl_cli_jint(sec->n_seats));
		ctl_cli_jset(so, "accessible", ctl_cli_jint(sf->accessible));
		ctl_cli_jset(so, "withheld", ctl_cli_jint(sf->withheld));
		ctl_cli_jappend(sections, so);
	}
	ctl_cli_jset(o, "sections", sections);

	json_t *ga = ctl_cli_jarr();
	for (uint32_t g = 0; g < d->n_ga; g++) {
		json_t *go = ctl_cli_jobj();
		ctl_cli_jset(go, "id", ctl_cli_jint(d->ga[g].id));
		ctl_cli_jset(go, "name", json_string(d->ga[g].name));
		ctl_cli_jset(go, "tier", ctl_cli_jint(d->ga[g].tier));
		ctl_cli_jset(go, "capacity", ctl_cli_jint(d->ga[g].capacity));
		ctl_cli_jappend(ga, go);
	}
	ctl_cli_jset(o, "general_admission", ga);

	json_t *presale = ctl_cli_jarr();
	for (uint32_t i = 0; i < x->n_presales; i++) {
		const struct ctl_presale *p = &x->presales[i];
		json_t *po = ctl_cli_jobj();
		ctl_cli_jset(po, "name", json_string(p->name));
		ctl_cli_fmt_time(buf, sizeof(buf), p->start_ms);
		ctl_cli_jset(po, "start", json_string(buf));
		ctl_cli_fmt_time(buf, sizeof(buf), p->end_ms);
		ctl_cli_jset(po, "end", json_string(buf));
		ctl_cli_jset(po, "start_ms", ctl_cli_jint(p->start_ms));
		ctl_cli_jset(po, "end_ms", ctl_cli_jint(p->end_ms));
		ctl_cli_jset(po, "codes", ctl_cli_jint(p->n_codes));
		ctl_cli_jset(po, "code_uses", ctl_cli_jint(presale_uses(p)));
		ctl_cli_jset(po, "members_file", p->n_codes ? json_null() : json_string(p->members_file));
		ctl_cli_jset(po, "members", ctl_cli_jint(p->n_members));
		ctl_cli_jset(po, "member_uses", ctl_cli_jint(member_uses(p)));
		ctl_cli_jappend(presale, po);
	}
	ctl_cli_jset(o, "presale", presale);

	const struct ctl_waiting_room *w = &x->waiting_room;
	json_t *wo = ctl_cli_jobj();
	ctl_cli_jset(wo, "enabled", w->mode == CTL_WR_AUTO ? json_string("auto") : json_boolean(w->mode == CTL_WR_ON));
	ctl_cli_jset(wo, "threshold_rps", ctl_cli_jint(w->threshold_rps));
	ctl_cli_jset(wo, "max_active_shoppers", ctl_cli_jint(w->max_active_shoppers));
	ctl_cli_jset(wo, "admission_per_s", ctl_cli_jint(w->admission_per_s));
	ctl_cli_jset(wo, "purchase_window_ms", ctl_cli_jint(w->purchase_window_ms));
	ctl_cli_fmt_duration(buf, sizeof(buf), w->purchase_window_ms);
	ctl_cli_jset(wo, "purchase_window", json_string(buf));
	ctl_cli_jset(o, "waiting_room", wo);
	return o;
}

/* The whole --json summary as one line. */
static void print_json(const char *file, const struct ctl_inventory *inv, const struct event_facts *facts)
{
	uint64_t total = 0, reserved = 0, ga = 0;
	json_t *root = ctl_cli_jobj();
	ctl_cli_jset(root, "valid", json_true());
	ctl_cli_jset(root, "file", ctl_cli_jstr(file));
	json_t *events = ctl_cli_jarr();
	for (uint32_t e = 0; e < inv->n_events; e++) {
		ctl_cli_jappend(events, event_json(&inv->events[e], &facts[e]));
		total += facts[e].capacity;
		reserved += facts[e].reserved;
		ga += facts[e].ga;
	}
	ctl_cli_jset(root, "events", events);
	ctl_cli_jset(root, "capacity", ctl_cli_jint(total));
	ctl_cli_jset(root, "reserved_seats", ctl_cli_jint(reserved));
	ctl_cli_jset(root, "ga_tickets", ctl_cli_jint(ga));
	ctl_cli_json_out(root);
}

/* ---- validate ---- */

int ctl_cli_inventory_load(const char *file, struct ctl_inventory **inv, char *err, size_t errlen)
{
	err[0] = '\0';
	int rc = ctl_inventory_load(file, inv, err, errlen);
	if (rc == 0)
		return 0;
	if (!err[0])
		snprintf(err, errlen, "%s: %s", file, strerror(-rc));
	fprintf(stderr, "%s\n", err);
	return rc == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_INVALID;
}

/* validate FILE: load it and its member lists offline; summary on stdout (exit 0) or the loader's line on
 * stderr (exit 1). */
int ctl_cli_validate(const struct ctl_cli *cli)
{
	const char *file = cli->arg[0];
	struct ctl_inventory *inv = NULL;
	char err[CTL_CLI_ERR_MAX] = "";

	struct ctl_members_text *texts = NULL;
	size_t n_texts = 0;
	int rc = ctl_cli_inventory_load(file, &inv, err, sizeof(err));
	if (rc == 0 && (rc = ctl_cli_members_attach(file, inv, &texts, &n_texts, err, sizeof(err)))) {
		ctl_inventory_free(inv);
		inv = NULL;
	}
	ctl_cli_members_free(texts, n_texts);
	if (rc != 0) {
		if (rc == CTL_EXIT_INTERNAL)
			return rc;
		if (cli->json) {
			json_t *o = ctl_cli_jobj();
			ctl_cli_jset(o, "valid", json_false());
			ctl_cli_jset(o, "error", ctl_cli_jstr(err));
			ctl_cli_json_out(o);
		}
		return CTL_EXIT_INVALID;
	}

	struct event_facts *facts = ctl_cli_calloc(inv->n_events, sizeof(*facts));
	for (uint32_t e = 0; e < inv->n_events; e++)
		event_facts(inv->events[e].def, &facts[e]);
	if (cli->json)
		print_json(file, inv, facts);
	else
		print_summary(file, inv, facts);
	for (uint32_t e = 0; e < inv->n_events; e++)
		free(facts[e].sections);
	free(facts);
	ctl_inventory_free(inv);
	return CTL_EXIT_OK;
}

