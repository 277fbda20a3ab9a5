/*
 * lg_scenario.c - the scenarios of stampede-loadgen (docs/loadgen.md
 * "Scenarios"): one table row each, and the event a run shops in, read from
 * the scenario's inventory file with the control process's own loader
 * (ctl_inventory_load), so the loadgen sees the parts exactly as loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "control/ctl_members.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_types.h"
#include "tools/loadgen/lg_scenario.h"

/* The four scenarios of issue 6. Times are the unscaled ones (--time-scale
 * shrinks them). qty_weight[n]: relative weight of a party of n. */
static const struct lg_scenario scenarios[] = {
	{
		/* Comic-Con 2016: 51,658 people at once for 1,000 badges, buyer limit 4. */
		.name = "comiccon", .inventory = "comiccon.json", .buyers = 51658, .arrival = LG_ARRIVE_ONCE,
		.poll_ms = 5000, .hold = LG_HOLD_GA, .qty_weight = {[1] = 30, [2] = 35, [3] = 15, [4] = 20},
		.think_min_ms = 5000, .think_max_ms = 20000, .pay_min_ms = 15000, .pay_max_ms = 45000,
		.abandon_permille = 50,
	},
	{
		/* Flavorus: 150,000 GA tickets in 8 uneven types, up to 300,000 buyers arriving fast. */
		.name = "flavorus", .inventory = "festival.json", .buyers = 300000, .arrival = LG_ARRIVE_RATE,
		.rate_per_s = 20000, .poll_ms = 3000, .hold = LG_HOLD_GA,
		.qty_weight = {[1] = 20, [2] = 40, [3] = 10, [4] = 18, [5] = 4, [6] = 5, [7] = 1, [8] = 2},
		.think_min_ms = 10000, .think_max_ms = 40000, .pay_min_ms = 20000, .pay_max_ms = 60000,
		.abandon_permille = 80,
	},
	{
		/* A theatre presale: 10,000 members with codes, 600 shopping at once, 3 s polling, named seats. */
		.name = "theatre", .inventory = "theatre.json", .buyers = 10000, .arrival = LG_ARRIVE_ONCE,
		.poll_ms = 3000, .hold = LG_HOLD_SEATS,
		.qty_weight = {[1] = 15, [2] = 50, [3] = 10, [4] = 20, [5] = 2, [6] = 3},
		.think_min_ms = 20000, .think_max_ms = 60000, .pay_min_ms = 30000, .pay_max_ms = 90000,
		.abandon_permille = 50, .codes = 1,
	},
	{
		/* An arena: 20,000 reserved seats, best available by section. */
		.name = "arena", .inventory = "arena.json", .buyers = 30000, .arrival = LG_ARRIVE_RATE,
		.rate_per_s = 5000, .poll_ms = 3000, .hold = LG_HOLD_BEST,
		.qty_weight = {[1] = 8, [2] = 45, [3] = 15, [4] = 22, [5] = 4, [6] = 4, [7] = 1, [8] = 1},
		.think_min_ms = 5000, .think_max_ms = 20000, .pay_min_ms = 15000, .pay_max_ms = 45000,
		.abandon_permille = 80,
	},
};

/* The scenario called name ("festival" is flavorus' inventory name and is
 * accepted too), or NULL. */
const struct lg_scenario *lg_scenario_find(const char *name)
{
	if (name && strcmp(name, "festival") == 0)
		name = "flavorus";
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (name && strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

/* The scenario names, "a, b, c" (usage messages). */
const char *lg_scenario_names(void)
{
	return "comiccon, flavorus (or festival), theatre, arena";
}

/* Fill plan from event event_id (0: the file's first) of the inventory at
 * path. The definition is kept in plan->def for the verifier. 0, or -1 with
 * one line in err. */
int lg_plan_load(struct lg_plan *plan, const char *path, uint32_t event_id, char *err, size_t errlen)
{
	struct ctl_inventory *inv = NULL;
	char lerr[512];
	if (ctl_inventory_load(path, &inv, lerr, sizeof(lerr)) != 0) {
		snprintf(err, errlen, "%s", lerr);
		return -1;
	}
	/* The member lists too: a member is a code of its own (theatre). */
	struct ctl_members_text *texts = NULL;
	size_t n_texts = 0;
	if (ctl_members_load(path, inv, &texts, &n_texts, lerr, sizeof(lerr)) != 0) {
		snprintf(err, errlen, "%s", lerr);
		ctl_inventory_free(inv);
		return -1;
	}
	ctl_members_texts_free(texts, n_texts);
	uint32_t ei = 0;
	if (event_id) {
		for (ei = 0; ei < inv->n_events; ei++)
			if (inv->events[ei].def->id == event_id)
				break;
		if (ei == inv->n_events) {
			snprintf(err, errlen, "%s: no event %u in the file", path, event_id);
			ctl_inventory_free(inv);
			return -1;
		}
	}
	const struct ctl_event *ev = &inv->events[ei];
	const struct dp_event_def *d = ev->def;
	memset(plan, 0, sizeof(*plan));
	plan->event_id = d->id;
	plan->buyer_limit = d->buyer_limit;
	if (d->n_sections + d->n_ga > LG_PARTS_MAX) {
		snprintf(err, errlen, "%s: event %u has %u parts; the loadgen shops in at most %u", path, d->id,
			 d->n_sections + d->n_ga, LG_PARTS_MAX);
		ctl_inventory_free(inv);
		return -1;
	}
	for (uint32_t i = 0; i < d->n_sections; i++) {
		struct lg_part *p = &plan->parts[plan->n_parts++];
		p->id = d->sections[i].id;
		p->seats = d->sections[i].n_seats;
		for (uint32_t k = 0; k < p->seats; k++)
			if (!(d->sections[i].seats[k].flags & DP_SEAT_WITHHELD))
				p->sellable++;
		plan->withheld += p->seats - p->sellable;
		plan->capacity += p->sellable;
	}
	for (uint32_t i = 0; i < d->n_ga; i++) {
		struct lg_part *p = &plan->parts[plan->n_parts++];
		p->id = d->ga[i].id;
		p->ga = 1;
		p->seats = p->sellable = d->ga[i].capacity;
		plan->capacity += p->sellable;
	}
	/* Presale codes: the windows' codes and their member lists' members. */
	uint32_t nc = 0;
	for (uint32_t w = 0; w < ev->extra.n_presales; w++)
		nc += ev->extra.presales[w].n_codes + ev->extra.presales[w].n_members;
	if (nc > LG_CODES_MAX)
		nc = LG_CODES_MAX;
	if (nc) {
		plan->codes = calloc(nc, sizeof(*plan->codes));
		plan->code_uses = calloc(nc, sizeof(*plan->code_uses));
		if (!plan->codes || !plan->code_uses) {
			snprintf(err, errlen, "out of memory");
			ctl_inventory_free(inv);
			return -1;
		}
		for (uint32_t w = 0; w < ev->extra.n_presales && plan->n_codes < nc; w++) {
			const struct ctl_presale *ps = &ev->extra.presales[w];
			const struct ctl_access_code *list = ps->n_members ? ps->members : ps->codes;
			const uint32_t n_list = ps->n_members ? ps->n_members : ps->n_codes;
			for (uint32_t c = 0; c < n_list && plan->n_codes < nc; c++) {
				snprintf(plan->codes[plan->n_codes], sizeof(plan->codes[0]), "%s", list[c].code);
				plan->code_uses[plan->n_codes++] = list[c].uses;
			}
		}
	}
	plan->def = ctl_inventory_take_def(inv, ei);
	ctl_inventory_free(inv);
	return 0;
}

/* Free what lg_plan_load allocated. */
void lg_plan_free(struct lg_plan *plan)
{
	free(plan->codes);
	free(plan->code_uses);
	if (plan->def)
		dp_event_def_free(plan->def);
	plan->codes = NULL;
	plan->code_uses = NULL;
	plan->def = NULL;
}
