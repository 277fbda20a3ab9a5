/*
 * test_inventory.c - inventory files (control/ctl_inventory.c, docs/inventory.md):
 * the shipped examples load with the expected capacities, the annotated
 * example in the docs loads, every file in bad/ is refused with its exact
 * message, and random or mutated input never crashes.
 *
 * Runs from tests/inventory (meson's workdir); INVENTORY_TEST_DIR overrides.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ctl_inventory.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

#define EXAMPLES "../../docs/examples/"
#define DOCS "../../docs/inventory.md"

/* ---- helpers ---- */

static uint64_t event_tickets(const struct dp_event_def *d)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < d->n_sections; i++)
		n += d->sections[i].n_seats;
	for (uint32_t i = 0; i < d->n_ga; i++)
		n += d->ga[i].capacity;
	return n;
}

static uint32_t count_flag(const struct dp_section_def *s, uint8_t flag)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->n_seats; k++)
		n += (s->seats[k].flags & flag) != 0;
	return n;
}

static uint32_t count_tier(const struct dp_event_def *d, uint8_t tier)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < d->n_sections; i++)
		for (uint32_t k = 0; k < d->sections[i].n_seats; k++)
			n += d->sections[i].seats[k].tier == tier;
	return n;
}

/* Seats within a section come row by row, ascending within a row. */
static void assert_seat_order(const struct dp_section_def *s)
{
	for (uint32_t k = 1; k < s->n_seats; k++) {
		const struct dp_seat_def *a = &s->seats[k - 1], *b = &s->seats[k];
		assert_true(b->row == a->row ? b->number > a->number : b->row == a->row + 1);
	}
	assert_int_equal(s->seats[0].row, 0);
	assert_int_equal(s->seats[s->n_seats - 1].row, s->n_rows - 1);
}

/* Every definition passes the core's check and survives its codec. */
static void assert_defs_valid(const struct ctl_inventory *inv)
{
	for (uint32_t i = 0; i < inv->n_events; i++) {
		char why[256] = "";
		const struct dp_event_def *d = inv->events[i].def;
		assert_non_null(d);
		assert_int_equal(dp_event_def_check(d, why, sizeof(why)), 0);
		struct dp_event_def *copy = dp_event_def_dup(d);
		assert_non_null(copy);
		assert_int_equal(event_tickets(copy), event_tickets(d));
		dp_event_def_free(copy);
		for (uint32_t s = 0; s < d->n_sections; s++)
			assert_seat_order(&d->sections[s]);
	}
}

static struct ctl_inventory *load_ok(const char *path)
{
	struct ctl_inventory *inv = NULL;
	char err[512] = "x";
	int rc = ctl_inventory_load(path, &inv, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s: %d %s", path, rc, err);
	assert_string_equal(err, "");
	assert_non_null(inv);
	assert_defs_valid(inv);
	return inv;
}

static struct ctl_inventory *parse_ok(const char *text)
{
	struct ctl_inventory *inv = NULL;
	char err[512] = "x";
	int rc = ctl_inventory_parse("inline.json", text, strlen(text), &inv, err, sizeof(err));
	if (rc != 0)
		fail_msg("%d %s", rc, err);
	assert_non_null(inv);
	assert_defs_valid(inv);
	return inv;
}

static void parse_fails(const char *text, const char *expected)
{
	struct ctl_inventory *inv = (struct ctl_inventory *)&inv; /* must stay untouched */
	struct ctl_inventory *const before = inv;
	char err[512] = "";
	assert_int_equal(ctl_inventory_parse("inline.json", text, strlen(text), &inv, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(inv, before);
	assert_string_equal(err, expected);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static uint32_t tier_price(const struct dp_event_def *d, uint8_t id)
{
	for (uint32_t i = 0; i < d->n_tiers; i++)
		if (d->tiers[i].id == id)
			return d->tiers[i].price_cents;
	fail_msg("tier %u missing", id);
	return 0;
}

/* ---- the shipped examples ---- */

static void test_comiccon(void **state)
{
	(void)state;
	struct ctl_inventory *inv = load_ok(EXAMPLES "comiccon.json");
	assert_int_equal(inv->n_events, 1);
	const struct dp_event_def *d = inv->events[0].def;
	const struct ctl_event_extra *x = &inv->events[0].extra;
	assert_int_equal(d->id, 2016);
	assert_int_equal(d->n_sections, 0);
	assert_int_equal(d->n_ga, 1);
	assert_int_equal(d->ga[0].capacity, 1000);
	assert_int_equal(event_tickets(d), 1000);
	assert_int_equal(d->hold_ttl_ms, 8 * 60 * 1000);
	assert_int_equal(d->buyer_limit, 4);
	assert_int_equal(tier_price(d, 1), 27600);
	assert_int_equal(x->on_sale_ms, 1794070800000ull); /* 2026-11-07T17:00:00Z */
	assert_int_equal(x->n_presales, 0);
	assert_int_equal(x->waiting_room.mode, CTL_WR_ON);
	assert_int_equal(x->waiting_room.max_active_shoppers, 1000);
	assert_int_equal(x->waiting_room.admission_per_s, 50);
	assert_int_equal(x->waiting_room.purchase_window_ms, 10 * 60 * 1000);
	ctl_inventory_free(inv);
}

static void test_arena(void **state)
{
	(void)state;
	struct ctl_inventory *inv = load_ok(EXAMPLES "arena.json");
	assert_int_equal(inv->n_events, 1);
	const struct dp_event_def *d = inv->events[0].def;
	assert_int_equal(d->id, 4200);
	assert_int_equal(d->n_ga, 0);
	assert_int_equal(d->n_sections, 26);
	assert_int_equal(event_tickets(d), 20000);
	assert_int_equal(d->n_tiers, 4);
	assert_int_equal(count_tier(d, 1), 1920);  /* floor: 4 x 16 rows x 30 */
	assert_int_equal(count_tier(d, 2), 2000);  /* lower rows A-E: 10 x 5 x 40 */
	assert_int_equal(count_tier(d, 3), 6000);  /* lower rows F-T: 10 x 15 x 40 */
	assert_int_equal(count_tier(d, 4), 10080); /* upper: 12 x 24 x 35 */
	assert_int_equal(tier_price(d, 1), 14950);
	uint32_t acc = 0, wh = 0;
	for (uint32_t i = 0; i < d->n_sections; i++) {
		acc += count_flag(&d->sections[i], DP_SEAT_ACCESSIBLE);
		wh += count_flag(&d->sections[i], DP_SEAT_WITHHELD);
	}
	assert_int_equal(acc, 10 * 8 + 6);
	assert_int_equal(wh, 2 * 10 + 8);
	/* Floor A: numbered rows 1..16. */
	const struct dp_section_def *fa = &d->sections[0];
	assert_int_equal(fa->id, 1);
	assert_int_equal(fa->n_rows, 16);
	assert_string_equal(fa->row_labels[0], "1");
	assert_string_equal(fa->row_labels[15], "16");
	/* Upper 201: A..Z without I and O. */
	const struct dp_section_def *up = &d->sections[14];
	assert_int_equal(up->id, 201);
	assert_int_equal(up->n_rows, 24);
	assert_int_equal(up->n_seats, 840);
	assert_string_equal(up->row_labels[7], "H");
	assert_string_equal(up->row_labels[8], "J");
	assert_string_equal(up->row_labels[23], "Z");
	/* Lower 105, row A: seats 17-24 withheld for a camera. */
	const struct dp_section_def *lo = &d->sections[8];
	assert_int_equal(lo->id, 105);
	assert_int_equal(lo->seats[16].number, 17);
	assert_int_equal(lo->seats[16].flags, DP_SEAT_WITHHELD);
	assert_int_equal(lo->seats[15].flags, 0);
	assert_int_equal(lo->seats[0].tier, 2);
	assert_int_equal(lo->seats[lo->n_seats - 1].tier, 3);
	assert_int_equal(lo->seats[lo->n_seats - 1].flags, DP_SEAT_ACCESSIBLE);
	assert_int_equal(inv->events[0].extra.waiting_room.mode, CTL_WR_AUTO);
	assert_int_equal(inv->events[0].extra.waiting_room.threshold_rps, 800);
	assert_int_equal(inv->events[0].extra.on_sale_ms, 1790931600000ull);
	ctl_inventory_free(inv);
}

static void test_festival(void **state)
{
	(void)state;
	struct ctl_inventory *inv = load_ok(EXAMPLES "festival.json");
	assert_int_equal(inv->n_events, 1);
	const struct dp_event_def *d = inv->events[0].def;
	assert_int_equal(d->n_sections, 0);
	assert_int_equal(d->n_ga, 8);
	assert_int_equal(event_tickets(d), 150000);
	static const uint32_t caps[8] = {2000, 100000, 15000, 9000, 10000, 9000, 1000, 4000};
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(d->ga[i].id, i + 1);
		assert_int_equal(d->ga[i].capacity, caps[i]);
		assert_int_equal(d->ga[i].tier, i + 1);
	}
	assert_int_equal(tier_price(d, 8), 29900);
	assert_int_equal(tier_price(d, 1), 64900);
	const struct ctl_waiting_room *w = &inv->events[0].extra.waiting_room;
	assert_int_equal(w->mode, CTL_WR_AUTO);
	assert_int_equal(w->threshold_rps, 1500);
	assert_int_equal(w->max_active_shoppers, 20000);
	assert_int_equal(w->admission_per_s, 2500);
	assert_int_equal(w->purchase_window_ms, 8 * 60 * 1000);
	ctl_inventory_free(inv);
}

static void test_theatre(void **state)
{
	(void)state;
	struct ctl_inventory *inv = load_ok(EXAMPLES "theatre.json");
	assert_int_equal(inv->n_events, 1);
	const struct dp_event_def *d = inv->events[0].def;
	const struct ctl_event_extra *x = &inv->events[0].extra;
	assert_int_equal(d->n_sections, 3);
	assert_int_equal(event_tickets(d), 1200);
	assert_int_equal(d->sections[0].n_seats, 636);
	assert_int_equal(d->sections[1].n_seats, 504);
	assert_int_equal(d->sections[2].n_seats, 60);
	/* Stalls: A..W without I and O. */
	const struct dp_section_def *st = &d->sections[0];
	assert_int_equal(st->n_rows, 21);
	for (uint32_t r = 0; r < st->n_rows; r++) {
		assert_string_not_equal(st->row_labels[r], "I");
		assert_string_not_equal(st->row_labels[r], "O");
	}
	assert_string_equal(st->row_labels[20], "W");
	assert_int_equal(count_flag(st, DP_SEAT_ACCESSIBLE), 4);
	/* Circle row L: seats 45-48 withheld, restricted view. */
	const struct dp_section_def *ci = &d->sections[1];
	assert_string_equal(ci->row_labels[ci->n_rows - 1], "L");
	assert_int_equal(count_flag(ci, DP_SEAT_WITHHELD), 4);
	assert_int_equal(ci->seats[ci->n_seats - 1].number, 48);
	assert_int_equal(ci->seats[ci->n_seats - 1].tier, 3);
	assert_int_equal(ci->seats[ci->n_seats - 1].flags, DP_SEAT_WITHHELD);
	assert_int_equal(ci->seats[200].tier, 2); /* rows D..K take the section's tier */
	assert_string_equal(d->sections[2].row_labels[14], "15");
	/* Presale windows. */
	assert_int_equal(x->on_sale_ms, 1773046800000ull);
	assert_int_equal(x->n_presales, 2);
	assert_string_equal(x->presales[0].name, "Patrons");
	assert_string_equal(x->presales[0].members_file, "members/patrons.csv");
	assert_int_equal(x->presales[0].n_codes, 0);
	assert_int_equal(x->presales[0].start_ms, 1771837200000ull);
	assert_int_equal(x->presales[0].end_ms, 1772442000000ull);
	const struct ctl_presale *fr = &x->presales[1];
	assert_string_equal(fr->name, "Friends priority booking");
	assert_string_equal(fr->members_file, "");
	assert_int_equal(fr->n_codes, 4);
	assert_string_equal(fr->codes[0].code, "FRIENDS-GOLD");
	assert_int_equal(fr->codes[0].uses, 2000);
	assert_int_equal(fr->codes[1].uses, 8000);
	assert_string_equal(fr->codes[3].code, "PRESS-NIGHT-7Q4");
	assert_int_equal(fr->codes[3].uses, 1);
	assert_int_equal(fr->end_ms, x->on_sale_ms);
	assert_int_equal(x->waiting_room.mode, CTL_WR_ON);
	assert_int_equal(x->waiting_room.max_active_shoppers, 600);
	assert_int_equal(x->waiting_room.purchase_window_ms, 15 * 60 * 1000);
	ctl_inventory_free(inv);
}

/* The annotated example of docs/inventory.md, with its // comments stripped. */
static void test_docs_example(void **state)
{
	(void)state;
	size_t len;
	char *md = read_all(DOCS, &len);
	char *p = strstr(md, "<!-- annotated example -->");
	assert_non_null(p);
	p = strstr(p, "```json\n");
	assert_non_null(p);
	p += 8;
	char *end = strstr(p, "```");
	assert_non_null(end);
	char *json = calloc(1, (size_t)(end - p) + 1);
	assert_non_null(json);
	size_t o = 0;
	int in_str = 0;
	for (char *q = p; q < end; q++) {
		if (in_str) {
			if (*q == '\\' && q + 1 < end) {
				json[o++] = *q++;
			} else if (*q == '"') {
				in_str = 0;
			}
		} else if (*q == '"') {
			in_str = 1;
		} else if (q[0] == '/' && q + 1 < end && q[1] == '/') {
			while (q < end && *q != '\n')
				q++;
		}
		json[o++] = *q;
	}
	struct ctl_inventory *inv = parse_ok(json);
	const struct dp_event_def *d = inv->events[0].def;
	const struct ctl_event_extra *x = &inv->events[0].extra;
	assert_int_equal(d->id, 31);
	assert_int_equal(d->n_sections, 1);
	assert_int_equal(d->sections[0].n_seats, 233);
	assert_int_equal(count_flag(&d->sections[0], DP_SEAT_WITHHELD), 16);
	assert_int_equal(count_flag(&d->sections[0], DP_SEAT_ACCESSIBLE), 4);
	assert_int_equal(d->sections[0].n_rows, 10);
	assert_int_equal(d->ga[0].capacity, 400);
	assert_int_equal(tier_price(d, 3), 3000);
	assert_int_equal(tier_price(d, 2), 4500);
	assert_int_equal(d->buyer_limit, 6);
	assert_int_equal(x->n_presales, 2);
	assert_int_equal(x->presales[0].codes[0].uses, 500);
	assert_int_equal(x->waiting_room.mode, CTL_WR_AUTO);
	assert_int_equal(x->waiting_room.threshold_rps, 300);
	ctl_inventory_free(inv);
	free(json);
	free(md);
}

/* ---- bad files: each refused with exactly this message ---- */

static const struct {
	const char *file;
	const char *msg;
} bad_cases[] = {
	{"bad/syntax.json", "bad/syntax.json:4:29: invalid JSON: string or '}' expected near '}'"},
	{"bad/duplicate_key.json", "bad/duplicate_key.json:4:32: invalid JSON: duplicate object key near '\"id\"'"},
	{"bad/not_object.json",
	 "bad/not_object.json: $: top level is an array (expected an object with \"format\" and \"events\")"},
	{"bad/format_missing.json",
	 "bad/format_missing.json: $: missing \"format\" (expected \"format\": \"stampede-inventory/1\")"},
	{"bad/format_wrong.json",
	 "bad/format_wrong.json: $.format: \"stampede-inventory/2\" is not a supported format (expected "
	 "\"stampede-inventory/1\")"},
	{"bad/unknown_key_top.json",
	 "bad/unknown_key_top.json: $: unknown key \"evnets\" (expected one of format, events)"},
	{"bad/unknown_key_row.json",
	 "bad/unknown_key_row.json: $.events[0].sections[0].rows[0]: unknown key \"acessible\" (expected one of "
	 "label, seats, tier, accessible, withheld)"},
	{"bad/events_empty.json", "bad/events_empty.json: $.events: is empty (expected an array of 1..256 events)"},
	{"bad/event_not_object.json",
	 "bad/event_not_object.json: $.events[1]: is an integer 5 (expected an event object)"},
	{"bad/wrong_type_id.json",
	 "bad/wrong_type_id.json: $.events[0].id: is a string \"7\" (expected an integer 1..4294967295)"},
	{"bad/event_id_zero.json",
	 "bad/event_id_zero.json: $.events[0].id: 0 is out of range (expected an integer 1..4294967295)"},
	{"bad/event_id_too_big.json",
	 "bad/event_id_too_big.json: $.events[0].id: 4294967296 is out of range (expected an integer "
	 "1..4294967295)"},
	{"bad/duplicate_event_id.json",
	 "bad/duplicate_event_id.json: $.events[1].id: event id 1 is already used by $.events[0] (expected unique "
	 "event ids)"},
	{"bad/duplicate_part_id.json",
	 "bad/duplicate_part_id.json: $.events[0].general_admission[0].id: id 1 is already used by "
	 "$.events[0].sections[0] (expected section and general-admission ids unique within an event)"},
	{"bad/duplicate_tier_id.json",
	 "bad/duplicate_tier_id.json: $.events[0].tiers[1].id: tier id 1 is already used by $.events[0].tiers[0] "
	 "(expected unique tier ids)"},
	{"bad/tier_id_range.json",
	 "bad/tier_id_range.json: $.events[0].tiers[0].id: 64 is out of range (expected an integer 1..63)"},
	{"bad/price_bad.json",
	 "bad/price_bad.json: $.events[0].tiers[0].price: \"49.999\" is not a price (expected a decimal string like "
	 "\"49.00\", 0.00..42949672.95)"},
	{"bad/unknown_tier.json",
	 "bad/unknown_tier.json: $.events[0].general_admission[0].tier: tier 9 is not defined (expected the id of a "
	 "tier in $.events[0].tiers)"},
	{"bad/missing_tier.json",
	 "bad/missing_tier.json: $.events[0].sections[0].rows[0].row_range: missing \"tier\" (expected a tier id "
	 "here or in the section)"},
	{"bad/empty_section.json",
	 "bad/empty_section.json: $.events[0].sections[0].rows: is empty (expected at least one row)"},
	{"bad/bad_range.json",
	 "bad/bad_range.json: $.events[0].sections[2].rows[5].seats: range \"1-40x\" is not a number range "
	 "(expected \"FROM-TO\" with FROM <= TO, 1..65535)"},
	{"bad/seat_zero.json",
	 "bad/seat_zero.json: $.events[0].sections[0].rows[0].seats[4]: 0 is out of range (expected a seat number "
	 "1..65535)"},
	{"bad/overlapping_seats.json",
	 "bad/overlapping_seats.json: $.events[0].sections[0].rows[0].seats: seat 8 is listed twice (expected each "
	 "seat number once in a row)"},
	{"bad/seat_not_in_row.json",
	 "bad/seat_not_in_row.json: $.events[0].sections[0].rows[0].accessible: seat 11 is not in this row "
	 "(expected seat numbers listed in \"seats\")"},
	{"bad/label_too_long.json",
	 "bad/label_too_long.json: $.events[0].sections[0].rows[0].label: is 9 bytes long (expected a row label of "
	 "1..7 bytes)"},
	{"bad/row_label_duplicate.json",
	 "bad/row_label_duplicate.json: $.events[0].sections[0].rows[1].label: row label \"B\" is already used by "
	 "rows[0] (expected row labels unique within a section)"},
	{"bad/row_range_kind.json",
	 "bad/row_range_kind.json: $.events[0].sections[0].rows[0].row_range.to: \"12\" does not continue the "
	 "numbering of from \"A\" (expected capital letters)"},
	{"bad/skip_not_in_range.json",
	 "bad/skip_not_in_range.json: $.events[0].sections[0].rows[0].row_range.skip[0]: row \"I\" is not in the "
	 "range \"A\"..\"H\" (expected labels the range makes)"},
	{"bad/section_too_many_seats.json",
	 "bad/section_too_many_seats.json: $.events[0].sections[0].rows[0].row_range: makes 1404000 seats in the "
	 "section (expected at most 1048576 seats in a section)"},
	{"bad/no_parts.json",
	 "bad/no_parts.json: $.events[0]: has no sections and no general-admission types (expected at least one in "
	 "\"sections\" or \"general_admission\")"},
	{"bad/too_many_parts.json",
	 "bad/too_many_parts.json: $.events[0]: has 4097 sections and 1 general-admission types (expected at most "
	 "4096 in all)"},
	{"bad/capacity_zero.json",
	 "bad/capacity_zero.json: $.events[0].general_admission[0].capacity: 0 is out of range (expected an "
	 "integer 1..1048576)"},
	{"bad/capacity_too_big.json",
	 "bad/capacity_too_big.json: $.events[0].general_admission[0].capacity: 1048577 is out of range (expected "
	 "an integer 1..1048576)"},
	{"bad/name_too_long.json",
	 "bad/name_too_long.json: $.events[0].name: is 58 bytes long (expected a name of 1..47 bytes)"},
	{"bad/hold_ttl_syntax.json",
	 "bad/hold_ttl_syntax.json: $.events[0].hold_ttl: \"10 minutes\" is not a duration (expected a duration "
	 "like \"90s\", \"10m\" or \"1h30m\", 5s..24h)"},
	{"bad/hold_ttl_range.json",
	 "bad/hold_ttl_range.json: $.events[0].hold_ttl: \"3s\" is out of range (expected a duration like "
	 "\"90s\", \"10m\" or \"1h30m\", 5s..24h)"},
	{"bad/buyer_limit_range.json",
	 "bad/buyer_limit_range.json: $.events[0].buyer_limit: 1001 is out of range (expected an integer 1..1000)"},
	{"bad/bad_time.json",
	 "bad/bad_time.json: $.events[0].on_sale: \"2026-02-30T09:00:00Z\" is not a valid time (expected an RFC "
	 "3339 time like \"2026-12-01T09:00:00Z\" or \"2026-12-01T10:00:00+01:00\", from 1970)"},
	{"bad/time_wrong_type.json",
	 "bad/time_wrong_type.json: $.events[0].on_sale: is an integer 1767258000 (expected an RFC 3339 time like "
	 "\"2026-12-01T09:00:00Z\" or \"2026-12-01T10:00:00+01:00\", from 1970)"},
	{"bad/presale_end_before_start.json",
	 "bad/presale_end_before_start.json: $.events[0].presale[0].end: \"2026-03-02T09:00:00Z\" is not after "
	 "start \"2026-03-09T09:00:00Z\" (expected end later than start)"},
	{"bad/presale_both.json",
	 "bad/presale_both.json: $.events[0].presale[0]: has both \"codes\" and \"members_file\" (expected one of "
	 "them)"},
	{"bad/too_many_presales.json",
	 "bad/too_many_presales.json: $.events[0].presale: has 9 windows (expected at most 8)"},
	{"bad/code_too_long.json",
	 "bad/code_too_long.json: $.events[0].presale[0].codes[1].code: is 39 bytes long (expected a code of 1..32 "
	 "printable ASCII characters without spaces)"},
	{"bad/too_many_codes.json",
	 "bad/too_many_codes.json: $.events[0].presale[0].codes: has 1025 codes (expected at most 1024)"},
	{"bad/code_duplicate.json",
	 "bad/code_duplicate.json: $.events[0].presale[0].codes[2]: code \"GOLD\" is already listed at codes[0] "
	 "(expected unique codes in a window)"},
	{"bad/code_duplicate_event.json",
	 "bad/code_duplicate_event.json: $.events[0].presale[1].codes[1]: code \"SILVER\" is already listed at "
	 "$.events[0].presale[0].codes[1] (expected unique codes in an event, across its windows and member lists)"},
	{"bad/waiting_room_enabled.json",
	 "bad/waiting_room_enabled.json: $.events[0].waiting_room.enabled: is a string \"yes\" (expected true, "
	 "false or \"auto\")"},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct ctl_inventory *inv = (struct ctl_inventory *)&inv;
		struct ctl_inventory *const before = inv;
		char err[512] = "";
		int rc = ctl_inventory_load(bad_cases[i].file, &inv, err, sizeof(err));
		if (rc != -EINVAL || strcmp(err, bad_cases[i].msg) != 0)
			fail_msg("%s: rc %d\n got:      %s\n expected: %s", bad_cases[i].file, rc, err, bad_cases[i].msg);
		assert_ptr_equal(inv, before); /* a bad file changes nothing */
	}
}

/* Every file in bad/ has a case above (a new file without one would test nothing). */
static void test_bad_files_all_listed(void **state)
{
	(void)state;
	DIR *dir = opendir("bad");
	assert_non_null(dir);
	size_t files = 0;
	for (struct dirent *de; (de = readdir(dir)) != NULL;) {
		if (de->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "bad/%s", de->d_name);
		int found = 0;
		for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
			found |= strcmp(bad_cases[i].file, path) == 0;
		if (!found)
			fail_msg("%s has no expected message in test_inventory.c", path);
		files++;
	}
	closedir(dir);
	assert_int_equal(files, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

/* ---- details of the format, from memory ---- */

#define HEAD "{\"format\": \"stampede-inventory/1\", \"events\": [{\"id\": 5, \"name\": \"E\", "
#define TIERS "\"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"10\"}, {\"id\": 2, \"name\": \"U\", \"price\": \"20\"}], "
#define GA "\"general_admission\": [{\"id\": 9, \"name\": \"G\", \"capacity\": 10, \"tier\": 1}]"

static void test_defaults_and_values(void **state)
{
	(void)state;
	struct ctl_inventory *inv = parse_ok(HEAD TIERS GA "}]}");
	const struct dp_event_def *d = inv->events[0].def;
	const struct ctl_event_extra *x = &inv->events[0].extra;
	assert_int_equal(d->hold_ttl_ms, DP_HOLD_TTL_MS_DEFAULT);
	assert_int_equal(d->buyer_limit, DP_BUYER_LIMIT_DEFAULT);
	assert_int_equal(x->on_sale_ms, 0);
	assert_int_equal(x->n_presales, 0);
	assert_int_equal(x->waiting_room.mode, CTL_WR_OFF);
	assert_int_equal(x->waiting_room.threshold_rps, CTL_WR_THRESHOLD_RPS_DEFAULT);
	assert_int_equal(x->waiting_room.max_active_shoppers, CTL_WR_SHOPPERS_DEFAULT);
	assert_int_equal(x->waiting_room.admission_per_s, CTL_WR_ADMISSION_DEFAULT);
	assert_int_equal(x->waiting_room.purchase_window_ms, CTL_WR_WINDOW_MS_DEFAULT);
	assert_int_equal(tier_price(d, 1), 1000);
	ctl_inventory_free(inv);

	static const struct {
		const char *ttl;
		uint32_t ms;
	} ttls[] = {{"1m", 60000}, {"90s", 90000}, {"1h30m", 5400000}, {"24h", 86400000}, {"61000ms", 61000}};
	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc), HEAD "\"hold_ttl\": \"%s\", " TIERS GA "}]}", ttls[i].ttl);
		inv = parse_ok(doc);
		assert_int_equal(inv->events[0].def->hold_ttl_ms, ttls[i].ms);
		ctl_inventory_free(inv);
	}
	static const struct {
		const char *price;
		uint32_t cents;
	} prices[] = {{"0", 0}, {"49.5", 4950}, {"49.05", 4905}, {"42949672.95", 4294967295u}};
	for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc),
			 HEAD "\"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"%s\"}], " GA "}]}", prices[i].price);
		inv = parse_ok(doc);
		assert_int_equal(inv->events[0].def->tiers[0].price_cents, prices[i].cents);
		ctl_inventory_free(inv);
	}
	static const struct {
		const char *t;
		uint64_t ms;
	} times[] = {{"2026-12-01T09:00:00Z", 1796115600000ull},     {"2026-12-01T10:00:00+01:00", 1796115600000ull},
		     {"2026-12-01T04:30:00-04:30", 1796115600000ull}, {"2026-12-01t09:00:00.25z", 1796115600250ull},
		     {"2024-02-29T23:59:59Z", 1709251199000ull},       {"2026-12-01T09:00:00.123456789Z", 1796115600123ull}};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc), HEAD "\"on_sale\": \"%s\", " TIERS GA "}]}", times[i].t);
		inv = parse_ok(doc);
		assert_int_equal(inv->events[0].extra.on_sale_ms, times[i].ms);
		ctl_inventory_free(inv);
	}
	static const char *const bad_times[] = {"2025-02-29T09:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:00:60Z",
						"2026-12-01 09:00:00Z", "2026-12-01T09:00:00",  "1969-12-31T23:59:59Z",
						"2026-12-01T09:00:00+1:00", "2026-12-01T09:00:00.Z", "1970-01-01T00:00:00+01:00"};
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		char doc[1024], msg[512];
		snprintf(doc, sizeof(doc), HEAD "\"on_sale\": \"%s\", " TIERS GA "}]}", bad_times[i]);
		snprintf(msg, sizeof(msg),
			 "inline.json: $.events[0].on_sale: \"%s\" is not a valid time (expected an RFC 3339 time like "
			 "\"2026-12-01T09:00:00Z\" or \"2026-12-01T10:00:00+01:00\", from 1970)",
			 bad_times[i]);
		parse_fails(doc, msg);
	}
}

static void test_rows_and_seats(void **state)
{
	(void)state;
	struct ctl_inventory *inv = parse_ok(
		HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 2, \"rows\": ["
			   "{\"label\": \"A\", \"seats\": [5, \"1-3\", 4], \"tier\": 1, \"accessible\": [2], \"withheld\": \"3-4\"},"
			   "{\"row_range\": {\"from\": \"Y\", \"to\": \"AB\", \"seats\": \" 1 , 3-4 \"}},"
			   "{\"row_range\": {\"from\": \"01\", \"to\": \"10\", \"skip\": [\"05\"], \"seats\": \"7\"}},"
			   "{\"row_range\": {\"from\": \"a\", \"to\": \"c\", \"seats\": \"1\", \"tier\": 1}},"
			   "{\"row_range\": {\"from\": \"0\", \"to\": \"2\", \"skip\": [\"0\"], \"seats\": \"65535\"}}"
			   "]}]}]}");
	const struct dp_section_def *s = &inv->events[0].def->sections[0];
	/* A: 5 seats ascending; Y, Z, AA, AB: 3 each; 01..10 without 05: 9; a..c: 3; 1, 2: 2. */
	assert_int_equal(s->n_rows, 1 + 4 + 9 + 3 + 2);
	assert_int_equal(s->n_seats, 5 + 12 + 9 + 3 + 2);
	static const char *const labels[] = {"A",  "Y",  "Z",  "AA", "AB", "01", "02", "03", "04", "06",
					     "07", "08", "09", "10", "a",  "b",  "c",  "1",  "2"};
	for (uint32_t r = 0; r < s->n_rows; r++)
		assert_string_equal(s->row_labels[r], labels[r]);
	for (uint32_t k = 0; k < 5; k++) {
		assert_int_equal(s->seats[k].row, 0);
		assert_int_equal(s->seats[k].number, k + 1);
		assert_int_equal(s->seats[k].tier, 1);
	}
	assert_int_equal(s->seats[0].flags, 0);
	assert_int_equal(s->seats[1].flags, DP_SEAT_ACCESSIBLE);
	assert_int_equal(s->seats[2].flags, DP_SEAT_WITHHELD);
	assert_int_equal(s->seats[3].flags, DP_SEAT_WITHHELD);
	assert_int_equal(s->seats[4].flags, 0);
	assert_int_equal(s->seats[5].row, 1);
	assert_int_equal(s->seats[5].number, 1);
	assert_int_equal(s->seats[6].number, 3);
	assert_int_equal(s->seats[5].tier, 2);
	assert_int_equal(s->seats[s->n_seats - 1].number, 65535);
	assert_int_equal(s->seats[s->n_seats - 3].tier, 1);
	ctl_inventory_free(inv);

	/* Several events, GA and sections sharing the id space without clashing. */
	inv = parse_ok("{\"format\": \"stampede-inventory/1\", \"events\": ["
		       "{\"id\": 1, \"name\": \"One\", " TIERS GA "},"
		       "{\"id\": 2, \"name\": \"Two\", " TIERS "\"sections\": [{\"id\": 9, \"name\": \"S\", \"tier\": 1, "
		       "\"rows\": [{\"label\": \"A\", \"seats\": \"1-3\"}]}], "
		       "\"general_admission\": [{\"id\": 10, \"name\": \"G\", \"capacity\": 1048576, \"tier\": 2}]}]}");
	assert_int_equal(inv->n_events, 2);
	assert_int_equal(event_tickets(inv->events[1].def), 3 + 1048576);
	struct dp_event_def *taken = ctl_inventory_take_def(inv, 1);
	assert_non_null(taken);
	assert_null(inv->events[1].def);
	assert_null(ctl_inventory_take_def(inv, 2));
	ctl_inventory_free(inv);
	dp_event_def_free(taken);
}

static void test_more_errors(void **state)
{
	(void)state;
	parse_fails("", "inline.json:1:0: invalid JSON: '[' or '{' expected near end of file");
	parse_fails(HEAD TIERS GA ", \"waiting_room\": {\"enabled\": true, \"max_active_shopers\": 600}}]}",
		    "inline.json: $.events[0].waiting_room: unknown key \"max_active_shopers\" (expected one of enabled, "
		    "threshold_rps, max_active_shoppers, admission_per_s, purchase_window)");
	parse_fails(HEAD TIERS GA ", \"waiting_room\": {\"purchase_window\": \"2d\"}}]}",
		    "inline.json: $.events[0].waiting_room.purchase_window: \"2d\" is not a duration (expected a "
		    "duration like \"90s\", \"10m\" or \"1h30m\", 1m..24h)");
	parse_fails(HEAD TIERS GA ", \"waiting_room\": {\"max_active_shoppers\": 0}}]}",
		    "inline.json: $.events[0].waiting_room.max_active_shoppers: 0 is out of range (expected an integer "
		    "1..1000000)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"label\": \"A\", "
			       "\"seats\": \"9-5\"}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].seats: range \"9-5\" is not a number range (expected "
		    "\"FROM-TO\" with FROM <= TO, 1..65535)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"label\": \"A\", "
			       "\"seats\": \"1-10,,12\"}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].seats: range \"\" is not a number range (expected "
		    "\"FROM-TO\" with FROM <= TO, 1..65535)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"label\": \"A\", "
			       "\"seats\": \"1-65536\"}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].seats: range \"1-65536\" is not a number range "
		    "(expected \"FROM-TO\" with FROM <= TO, 1..65535)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"row_range\": "
			       "{\"from\": \"Z\", \"to\": \"A\", \"seats\": \"1\"}}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].row_range: from \"Z\" comes after to \"A\" (expected "
		    "from at or before to)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"row_range\": "
			       "{\"from\": \"1\", \"to\": \"99999\", \"seats\": \"1\"}}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].row_range: makes 99999 rows in the section (expected "
		    "at most 65536 rows in a section)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"label\": \"A\", "
			       "\"seats\": \"1\", \"row_range\": {}}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0]: unknown key \"label\" (expected one of row_range)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": [{\"row_range\": "
			       "{\"from\": \"A\", \"to\": \"B\", \"skip\": [\"A\", \"B\"], \"seats\": \"1\"}}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[0].row_range: skips every row (expected at least one row)");
	parse_fails(HEAD TIERS "\"sections\": [{\"id\": 1, \"name\": \"S\", \"tier\": 1, \"rows\": ["
			       "{\"row_range\": {\"from\": \"A\", \"to\": \"C\", \"seats\": \"1\"}},"
			       "{\"row_range\": {\"from\": \"C\", \"to\": \"D\", \"seats\": \"1\"}}]}]}]}",
		    "inline.json: $.events[0].sections[0].rows[1].row_range: row label \"C\" is already used by rows[0] "
		    "(expected row labels unique within a section)");
	parse_fails(HEAD "\"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"1\", \"price_cents\": 100}], " GA "}]}",
		    "inline.json: $.events[0].tiers[0]: has both \"price\" and \"price_cents\" (expected one of them)");
	parse_fails(HEAD GA "}]}",
		    "inline.json: $.events[0]: missing \"tiers\" (expected an array of 1..63 price tiers)");
	parse_fails(HEAD TIERS GA ", \"presale\": [{\"name\": \"P\", \"start\": \"2026-01-01T00:00:00Z\", "
				  "\"end\": \"2026-01-02T00:00:00Z\", \"codes\": [\"HAS SPACE\"]}]}]}",
		    "inline.json: $.events[0].presale[0].codes[0]: \"HAS SPACE\" has a space or a character outside "
		    "printable ASCII (expected a code of 1..32 printable ASCII characters without spaces)");
	parse_fails(HEAD TIERS GA ", \"presale\": [{\"name\": \"P\", \"start\": \"2026-01-01T00:00:00Z\", "
				  "\"end\": \"2026-01-02T00:00:00Z\"}]}]}",
		    "inline.json: $.events[0].presale[0]: missing \"codes\" (expected \"codes\" or \"members_file\")");
	parse_fails(HEAD TIERS GA ", \"presale\": [{\"name\": \"P\", \"start\": \"2026-01-01T00:00:00Z\", "
				  "\"end\": \"2026-01-02T00:00:00Z\", \"codes\": [{\"code\": \"X\", \"uses\": 0}]}]}]}",
		    "inline.json: $.events[0].presale[0].codes[0].uses: 0 is out of range (expected an integer "
		    "1..1000000)");
	parse_fails(HEAD "\"name\": \"dup\"}]}", "inline.json:1:75: invalid JSON: duplicate object key near '\"name\"'");
	parse_fails(HEAD "\"tiers\": [{\"id\": 1, \"name\": \"T\\u0007\", \"price\": \"1\"}], " GA "}]}",
		    "inline.json: $.events[0].tiers[0].name: contains a control character (expected a name of 1..47 "
		    "bytes of printable text)");
	parse_fails("{\"format\": \"stampede-inventory/1\", \"events\": [{\"id\": 7.5}]}",
		    "inline.json: $.events[0].id: is a real number 7.5 (expected an integer 1..4294967295)");
	/* Names longer than the message quotes are cut with "...". */
	parse_fails("{\"format\": \"stampede-inventory/1\", \"events\": [{\"id\": 1, "
		    "\"an_extremely_long_misspelt_key_that_goes_on_and_on_and_on\": 1}]}",
		    "inline.json: $.events[0]: unknown key \"an_extremely_long_misspelt_key_that_goes_on_and_\"... "
		    "(expected one of id, name, hold_ttl, buyer_limit, on_sale, tiers, sections, general_admission, "
		    "presale, waiting_room)");
}

static void test_io_and_buffers(void **state)
{
	(void)state;
	struct ctl_inventory *inv = NULL;
	char err[256];
	assert_int_equal(ctl_inventory_load("bad/does-not-exist.json", &inv, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "bad/does-not-exist.json: cannot open: No such file or directory");
	assert_null(inv);
	assert_int_equal(ctl_inventory_load("bad", &inv, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "bad: cannot read: Is a directory");
	if (geteuid() != 0) {
		char path[] = "/tmp/stampede-inv-XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(ctl_inventory_load(path, &inv, err, sizeof(err)), -EACCES);
		unlink(path);
	}
	/* Small and absent error buffers. */
	char small[16];
	memset(small, 'x', sizeof(small));
	assert_int_equal(ctl_inventory_load("bad/bad_range.json", &inv, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(ctl_inventory_load("bad/bad_range.json", &inv, NULL, 0), -EINVAL);
	assert_int_equal(ctl_inventory_parse(NULL, "[", 1, &inv, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "(input):1:1: invalid JSON: ']' expected near end of file");
	assert_int_equal(ctl_inventory_parse(NULL, NULL, 0, &inv, err, sizeof(err)), -EINVAL);
	/* Text need not end in NUL; bytes after len are not read. */
	const char *text = "{\"format\": \"stampede-inventory/1\"}GARBAGE";
	assert_int_equal(ctl_inventory_parse("t", text, 34, &inv, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t: $: missing \"events\" (expected an array of 1..256 events)");
	assert_null(inv);
	ctl_inventory_free(NULL);
}

/* ---- garbage: random bytes and mutated valid files ---- */

static uint64_t rng_state = 0x5eed5eed12345678ull;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static const char *const tokens[] = {
	"0",   "-1",  "1",      "65535",  "65536",   "4294967295", "4294967296", "1048576", "1048577", "\"\"",
	"null", "true", "[]",   "{}",     "\"1-65535\"", "\"A\"",  "\"ZZZZZZZ\"",  "\"auto\"", "\"0-0\"", ",",
	":",   "\"1h\"", "\"0s\"", "\"2026-02-29T00:00:00Z\"", "\"1-40,38-45\"", "1e9", "\"\\u0000\"", "[[[[", "]]]",
	"\"row_range\"", "\"from\": \"A\", \"to\": \"ZZZ\"", "\"seats\": \"1-65535\"", "\"skip\": [\"A\"]",
};

/* Either loaded (and valid) or refused with a message; returns 1 if loaded. */
static int check_outcome(const char *buf, size_t len)
{
	struct ctl_inventory *inv = NULL;
	char err[512];
	memset(err, 'x', sizeof(err));
	int rc = ctl_inventory_parse("g.json", buf, len, &inv, err, sizeof(err));
	assert_non_null(memchr(err, '\0', sizeof(err)));
	if (rc == 0) {
		assert_non_null(inv);
		assert_string_equal(err, "");
		for (uint32_t i = 0; i < inv->n_events; i++) {
			char why[256];
			assert_int_equal(dp_event_def_check(inv->events[i].def, why, sizeof(why)), 0);
		}
		ctl_inventory_free(inv);
		return 1;
	}
	assert_true(rc == -EINVAL || rc == -ENOMEM);
	assert_null(inv);
	assert_true(strncmp(err, "g.json", 6) == 0 && strlen(err) > 8);
	return 0;
}

static void test_garbage(void **state)
{
	(void)state;
	static const char *const bases_files[] = {EXAMPLES "comiccon.json", EXAMPLES "festival.json",
						  EXAMPLES "theatre.json", EXAMPLES "arena.json"};
	char *bases[4];
	size_t lens[4];
	for (int i = 0; i < 4; i++)
		bases[i] = read_all(bases_files[i], &lens[i]);
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	assert_non_null(buf);
	unsigned loaded = 0;
	for (int it = 0; it < 20000; it++) {
		size_t len;
		if (it % 4 == 0) {
			/* random bytes, half of them from JSON's alphabet */
			len = rnd() % 600;
			static const char alpha[] = "{}[]\":,0123456789-. abcdefnrtuAZ\\";
			for (size_t k = 0; k < len; k++)
				buf[k] = rnd() % 2 ? (char)rnd() : alpha[rnd() % (sizeof(alpha) - 1)];
		} else {
			/* a valid file with a few mutations (arena, the big one, less often) */
			int b = (int)(rnd() % 16);
			b = b < 5 ? 0 : b < 10 ? 1 : b < 15 ? 2 : 3;
			len = lens[b];
			memcpy(buf, bases[b], len);
			int muts = 1 + (int)(rnd() % 4);
			for (int m = 0; m < muts && len > 2; m++) {
				size_t at = rnd() % len;
				switch (rnd() % 5) {
				case 0: /* flip a byte */
					buf[at] = (char)rnd();
					break;
				case 1: /* a digit or structural character */
					buf[at] = "0123456789{}[],:\"-"[rnd() % 18];
					break;
				case 2: { /* delete a span */
					size_t n = 1 + rnd() % 16;
					if (at + n > len)
						n = len - at;
					memmove(buf + at, buf + at + n, len - at - n);
					len -= n;
					break;
				}
				case 3: { /* insert a token */
					const char *t = tokens[rnd() % (sizeof(tokens) / sizeof(tokens[0]))];
					size_t n = strlen(t);
					if (len + n < cap) {
						memmove(buf + at + n, buf + at, len - at);
						memcpy(buf + at, t, n);
						len += n;
					}
					break;
				}
				default: { /* duplicate a span elsewhere */
					size_t n = 1 + rnd() % 64, to = rnd() % len;
					if (at + n > len)
						n = len - at;
					if (len + n < cap) {
						memmove(buf + to + n, buf + to, len - to);
						memmove(buf + to, buf + (at < to ? at : at + n), n);
						len += n;
					}
					break;
				}
				}
			}
		}
		loaded += (unsigned)check_outcome(buf, len);
	}
	print_message("garbage: %u of 20000 inputs loaded\n", loaded);
	assert_true(loaded > 0);
	free(buf);
	for (int i = 0; i < 4; i++)
		free(bases[i]);
}

int main(void)
{
	const char *dir = getenv("INVENTORY_TEST_DIR");
	if (dir && chdir(dir) != 0) {
		perror(dir);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comiccon),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_festival),
		cmocka_unit_test(test_theatre),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_files_all_listed),
		cmocka_unit_test(test_defaults_and_values),
		cmocka_unit_test(test_rows_and_seats),
		cmocka_unit_test(test_more_errors),
		cmocka_unit_test(test_io_and_buffers),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
