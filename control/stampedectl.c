/*
 * stampedectl.c - the operator's command line (docs/stampedectl.md,
 * docs/stampedectl.1).
 *
 *   stampedectl [--json] COMMAND [ARGS]
 *
 * Only `validate FILE` exists so far: it loads an inventory file offline with
 * ctl_inventory_load (control/ctl_inventory.h, docs/inventory.md) and prints
 * what the file sells, as aligned tables for people or, with --json, as one
 * JSON object for scripts. The commands that talk to the control process
 * (status, events, load, open, pause, close, release-holds, set, export,
 * holds, watch) arrive with stampede-control.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "control/ctl_inventory.h"

/* Exit codes (documented in --help, docs/stampedectl.1 and docs/stampedectl.md). */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,     /* invalid input: the file is wrong or cannot be read */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_UNREACHABLE = 3, /* reserved: the control process cannot be reached (later commands) */
	EXIT_INTERNAL = 4,    /* out of memory, output cannot be written */
};

#define ERR_MAX 4096 /* loader error line, bytes with the NUL */

static const char *prog = "stampedectl";

struct cli {
	bool json;
	const char *arg[2]; /* positional arguments of the command */
	unsigned nargs;
};

struct command {
	const char *name;
	const char *args;    /* usage after the name */
	unsigned nargs;      /* positional arguments it takes */
	const char *summary; /* one line for the command list */
	const char *help;    /* what it does, for `help COMMAND` */
	int (*run)(const struct cli *cli);
};

static int cmd_validate(const struct cli *cli);

static const struct command commands[] = {
	{"validate", "FILE", 1, "check an inventory file offline and summarise what it sells",
	 "Read the inventory file FILE (docs/inventory.md) and check all of it, without a control\n"
	 "process or a dataplane. A good file is summarised: per event its id and name, total\n"
	 "capacity, hold TTL, buyer limit, on-sale time, waiting-room settings, price tiers, sections\n"
	 "(rows, seats, accessible and withheld seats), general-admission types with their\n"
	 "capacities, and presale windows (access codes are counted, not shown). A bad file gives\n"
	 "the loader's one-line error on standard error,\n"
	 "\n"
	 "  FILE: JSON_PATH: what is wrong (expected WHAT)\n"
	 "\n"
	 "and exit status 1. With --json the summary is one JSON object with \"valid\": true, or\n"
	 "{\"valid\": false, \"error\": \"...\"} for a bad file (the error line is on standard error\n"
	 "too).",
	 cmd_validate},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- messages ---- */

static const char exit_status_text[] = "Exit status:\n"
				       "  0  ok\n"
				       "  1  invalid input: the file is wrong or cannot be read\n"
				       "  2  usage error\n"
				       "  3  control process unreachable (reserved for the commands that talk to it)\n"
				       "  4  internal error: out of memory, output cannot be written\n";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--json] COMMAND [ARGS]\n"
		"       %s help [COMMAND]\n"
		"       %s COMMAND --help\n"
		"\n"
		"Commands:\n",
		prog, prog, prog);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
		fprintf(f, "  %-16s %s\n", head, commands[i].summary);
	}
	fprintf(f, "  %-16s %s\n", "help [COMMAND]", "show this help, or a command's");
}

static void full_help(void)
{
	printf("%s - operator's command line for Stampede\n\n", prog);
	usage(stdout);
	printf("\n"
	       "status, events, load, open, pause, close, release-holds, set, export, holds and\n"
	       "watch talk to the control process (stampede-control) and come with it.\n"
	       "\n"
	       "Options:\n"
	       "  --json      print one JSON object on standard output, for scripts\n"
	       "  -h, --help  show this help; after a command, that command's help\n"
	       "  --          end of options: the next arguments are not options\n"
	       "\n"
	       "%s"
	       "\n"
	       "See stampedectl(1), docs/stampedectl.md and docs/inventory.md.\n",
	       exit_status_text);
}

static void command_help(const struct command *cmd)
{
	printf("Usage: %s [--json] %s %s\n\n%s\n\n%s", prog, cmd->name, cmd->args, cmd->help, exit_status_text);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	usage(stderr);
	fprintf(stderr, "Run '%s --help' for options and exit status.\n", prog);
	exit(EXIT_USAGE);
}

static void internal_error(const char *what) __attribute__((noreturn));
static void internal_error(const char *what)
{
	fprintf(stderr, "%s: %s\n", prog, what);
	exit(EXIT_INTERNAL);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		internal_error("out of memory");
	return p;
}

/* ---- formatting ---- */

/* RFC 3339 UTC, milliseconds only when there are some. */
static void fmt_time(char *buf, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "@%" PRIu64 "ms", ms);
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms % 1000)
		snprintf(buf, len, "%s.%03uZ", base, (unsigned)(ms % 1000));
	else
		snprintf(buf, len, "%sZ", base);
}

/* A duration as the file format writes them: "12m", "1h30m", "1m30s500ms". */
static void fmt_duration(char *buf, size_t len, uint64_t ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t q = ms / units[i].ms;
		ms %= units[i].ms;
		if (q && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%" PRIu64 "%s", q, units[i].unit);
	}
	if (!buf[0])
		snprintf(buf, len, "0s");
}

static void fmt_price(char *buf, size_t len, uint32_t cents)
{
	snprintf(buf, len, "%" PRIu32 ".%02" PRIu32, cents / 100, cents % 100);
}

/* Tier ids of a section's seats in ascending order, "1,2"; mask bit i = tier i. */
static void fmt_tiers(char *buf, size_t len, uint64_t mask)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned t = 0; t < 64 && n < len; t++)
		if (mask & (1ull << t))
			n += (size_t)snprintf(buf + n, len - n, "%s%u", n ? "," : "", t);
}

/* ---- aligned tables ---- */

enum { ALIGN_LEFT = 0, ALIGN_RIGHT = 1 };

#define TABLE_COLS_MAX 8

struct table {
	unsigned ncols;
	const char *head[TABLE_COLS_MAX];
	int align[TABLE_COLS_MAX];
	size_t nrows, cap;
	char **cells; /* nrows * ncols */
};

static void table_init(struct table *t, unsigned ncols, const char *const *head, const int *align)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	for (unsigned c = 0; c < ncols; c++) {
		t->head[c] = head[c];
		t->align[c] = align[c];
	}
}

/* Add a row; the cells are copied. */
static void table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));
		if (!p)
			internal_error("out of memory");
		t->cells = p;
		t->cap = cap;
	}
	for (unsigned c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c]);
		if (!s)
			internal_error("out of memory");
		t->cells[t->nrows * t->ncols + c] = s;
	}
	t->nrows++;
}

/* Columns on a terminal: UTF-8 code points (names are UTF-8 without control characters). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0u) != 0x80u)
			w++;
	return w;
}

static void put_cell(const char *s, size_t width, int align, bool last)
{
	size_t pad = width - text_width(s);
	if (align == ALIGN_RIGHT)
		printf("%*s", (int)pad, "");
	fputs(s, stdout);
	if (!last && align == ALIGN_LEFT)
		printf("%*s", (int)pad, "");
}

static void table_print(const struct table *t, const char *indent)
{
	size_t width[TABLE_COLS_MAX];
	for (unsigned c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	fputs(indent, stdout);
	for (unsigned c = 0; c < t->ncols; c++) {
		put_cell(t->head[c], width[c], t->align[c], c + 1 == t->ncols);
		if (c + 1 < t->ncols)
			fputs("  ", stdout);
	}
	fputs("\n", stdout);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (unsigned c = 0; c < t->ncols; c++) {
			put_cell(t->cells[r * t->ncols + c], width[c], t->align[c], c + 1 == t->ncols);
			if (c + 1 < t->ncols)
				fputs("  ", stdout);
		}
		fputs("\n", stdout);
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
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

static void event_facts(const struct dp_event_def *d, struct event_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->sections = xcalloc(d->n_sections, sizeof(*f->sections));
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

static uint64_t presale_uses(const struct ctl_presale *p)
{
	uint64_t uses = 0;
	for (uint32_t c = 0; c < p->n_codes; c++)
		uses += p->codes[c].uses;
	return uses;
}

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
	fmt_duration(a, sizeof(a), d->hold_ttl_ms);
	printf("  %-14s %s\n", "hold TTL", a);
	printf("  %-14s %" PRIu32 " tickets per buyer\n", "buyer limit", d->buyer_limit);
	if (x->on_sale_ms) {
		fmt_time(a, sizeof(a), x->on_sale_ms);
		printf("  %-14s %s\n", "on sale", a);
	} else {
		printf("  %-14s %s\n", "on sale", "as soon as loaded");
	}
	const struct ctl_waiting_room *w = &x->waiting_room;
	if (w->mode == CTL_WR_OFF) {
		printf("  %-14s %s\n", "waiting room", "off");
	} else {
		fmt_duration(a, sizeof(a), w->purchase_window_ms);
		if (w->mode == CTL_WR_AUTO)
			snprintf(b, sizeof(b), "auto, above %" PRIu32 " requests/s", w->threshold_rps);
		else
			snprintf(b, sizeof(b), "%s", wr_mode_name(w->mode));
		printf("  %-14s %s; at most %" PRIu32 " active shoppers, %" PRIu32
		       " admitted/s, purchase window %s\n",
		       "waiting room", b, w->max_active_shoppers, w->admission_per_s, a);
	}

	struct table t;
	{
		static const char *const head[] = {"TIER", "NAME", "PRICE"};
		static const int align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_RIGHT};
		table_init(&t, 3, head, align);
		for (uint32_t i = 0; i < d->n_tiers; i++) {
			snprintf(a, sizeof(a), "%u", (unsigned)d->tiers[i].id);
			fmt_price(b, sizeof(b), d->tiers[i].price_cents);
			const char *row[] = {a, d->tiers[i].name, b};
			table_row(&t, row);
		}
		fputs("\n", stdout);
		table_print(&t, "  ");
		table_free(&t);
	}
	if (d->n_sections) {
		static const char *const head[] = {"SECTION", "NAME", "TIERS", "ROWS", "SEATS", "ACCESSIBLE", "WITHHELD"};
		static const int align[] = {ALIGN_RIGHT, ALIGN_LEFT,  ALIGN_LEFT, ALIGN_RIGHT,
					    ALIGN_RIGHT, ALIGN_RIGHT, ALIGN_RIGHT};
		table_init(&t, 7, head, align);
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
			table_row(&t, row);
		}
		fputs("\n", stdout);
		table_print(&t, "  ");
		table_free(&t);
	}
	if (d->n_ga) {
		static const char *const head[] = {"GA TYPE", "NAME", "TIER", "CAPACITY"};
		static const int align[] = {ALIGN_RIGHT, ALIGN_LEFT, ALIGN_RIGHT, ALIGN_RIGHT};
		table_init(&t, 4, head, align);
		for (uint32_t g = 0; g < d->n_ga; g++) {
			char id[16], tier[8], cap[16];
			snprintf(id, sizeof(id), "%" PRIu32, d->ga[g].id);
			snprintf(tier, sizeof(tier), "%u", (unsigned)d->ga[g].tier);
			snprintf(cap, sizeof(cap), "%" PRIu32, d->ga[g].capacity);
			const char *row[] = {id, d->ga[g].name, tier, cap};
			table_row(&t, row);
		}
		fputs("\n", stdout);
		table_print(&t, "  ");
		table_free(&t);
	}
	if (x->n_presales) {
		static const char *const head[] = {"PRESALE", "START", "END", "ACCESS"};
		static const int align[] = {ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT, ALIGN_LEFT};
		table_init(&t, 4, head, align);
		for (uint32_t i = 0; i < x->n_presales; i++) {
			const struct ctl_presale *p = &x->presales[i];
			char access[CTL_PATH_MAX + 64];
			fmt_time(a, sizeof(a), p->start_ms);
			fmt_time(b, sizeof(b), p->end_ms);
			if (p->n_codes) {
				uint64_t uses = presale_uses(p);
				snprintf(access, sizeof(access), "%" PRIu32 " code%s, %" PRIu64 " use%s", p->n_codes,
					 p->n_codes == 1 ? "" : "s", uses, uses == 1 ? "" : "s");
			} else {
				snprintf(access, sizeof(access), "member list %s", p->members_file);
			}
			const char *row[] = {p->name, a, b, access};
			table_row(&t, row);
		}
		fputs("\n", stdout);
		table_print(&t, "  ");
		table_free(&t);
	}
}

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

/* ---- validate: JSON output ---- */

static bool json_oom;

/* Set o[key] = v, taking v; a NULL v (jansson out of memory) or a failed set is remembered. */
static void jset(json_t *o, const char *key, json_t *v)
{
	if (!v || json_object_set_new(o, key, v) != 0)
		json_oom = true;
}

static void jappend(json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v) != 0)
		json_oom = true;
}

static json_t *jobj(void)
{
	json_t *o = json_object();
	if (!o)
		internal_error("out of memory");
	return o;
}

static json_t *jarr(void)
{
	json_t *a = json_array();
	if (!a)
		internal_error("out of memory");
	return a;
}

/* A JSON string; bytes that are not UTF-8 (a path may hold any) become '?'. */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s);
	if (v)
		return v;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80u)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *event_json(const struct ctl_event *ev, const struct event_facts *f)
{
	const struct dp_event_def *d = ev->def;
	const struct ctl_event_extra *x = &ev->extra;
	char buf[64];
	json_t *o = jobj();

	jset(o, "id", jint(d->id));
	jset(o, "name", json_string(d->name));
	jset(o, "capacity", jint(f->capacity));
	jset(o, "reserved_seats", jint(f->reserved));
	jset(o, "ga_tickets", jint(f->ga));
	jset(o, "accessible", jint(f->accessible));
	jset(o, "withheld", jint(f->withheld));
	jset(o, "hold_ttl_ms", jint(d->hold_ttl_ms));
	fmt_duration(buf, sizeof(buf), d->hold_ttl_ms);
	jset(o, "hold_ttl", json_string(buf));
	jset(o, "buyer_limit", jint(d->buyer_limit));
	jset(o, "on_sale_ms", jint(x->on_sale_ms));
	if (x->on_sale_ms) {
		fmt_time(buf, sizeof(buf), x->on_sale_ms);
		jset(o, "on_sale", json_string(buf));
	} else {
		jset(o, "on_sale", json_null());
	}

	json_t *tiers = jarr();
	for (uint32_t i = 0; i < d->n_tiers; i++) {
		json_t *t = jobj();
		jset(t, "id", jint(d->tiers[i].id));
		jset(t, "name", json_string(d->tiers[i].name));
		jset(t, "price_cents", jint(d->tiers[i].price_cents));
		fmt_price(buf, sizeof(buf), d->tiers[i].price_cents);
		jset(t, "price", json_string(buf));
		jappend(tiers, t);
	}
	jset(o, "tiers", tiers);

	json_t *sections = jarr();
	for (uint32_t s = 0; s < d->n_sections; s++) {
		const struct dp_section_def *sec = &d->sections[s];
		const struct section_facts *sf = &f->sections[s];
		json_t *so = jobj();
		jset(so, "id", jint(sec->id));
		jset(so, "name", json_string(sec->name));
		json_t *st = jarr();
		for (unsigned t = 0; t < 64; t++)
			if (sf->tiers & (1ull << t))
				jappend(st, jint(t));
		jset(so, "tiers", st);
		jset(so, "rows", jint(sec->n_rows));
		jset(so, "seats", jint(sec->n_seats));
		jset(so, "accessible", jint(sf->accessible));
		jset(so, "withheld", jint(sf->withheld));
		jappend(sections, so);
	}
	jset(o, "sections", sections);

	json_t *ga = jarr();
	for (uint32_t g = 0; g < d->n_ga; g++) {
		json_t *go = jobj();
		jset(go, "id", jint(d->ga[g].id));
		jset(go, "name", json_string(d->ga[g].name));
		jset(go, "tier", jint(d->ga[g].tier));
		jset(go, "capacity", jint(d->ga[g].capacity));
		jappend(ga, go);
	}
	jset(o, "general_admission", ga);

	json_t *presale = jarr();
	for (uint32_t i = 0; i < x->n_presales; i++) {
		const struct ctl_presale *p = &x->presales[i];
		json_t *po = jobj();
		jset(po, "name", json_string(p->name));
		fmt_time(buf, sizeof(buf), p->start_ms);
		jset(po, "start", json_string(buf));
		fmt_time(buf, sizeof(buf), p->end_ms);
		jset(po, "end", json_string(buf));
		jset(po, "start_ms", jint(p->start_ms));
		jset(po, "end_ms", jint(p->end_ms));
		jset(po, "codes", jint(p->n_codes));
		jset(po, "code_uses", jint(presale_uses(p)));
		jset(po, "members_file", p->n_codes ? json_null() : json_string(p->members_file));
		jappend(presale, po);
	}
	jset(o, "presale", presale);

	const struct ctl_waiting_room *w = &x->waiting_room;
	json_t *wo = jobj();
	jset(wo, "enabled", w->mode == CTL_WR_AUTO ? json_string("auto") : json_boolean(w->mode == CTL_WR_ON));
	jset(wo, "threshold_rps", jint(w->threshold_rps));
	jset(wo, "max_active_shoppers", jint(w->max_active_shoppers));
	jset(wo, "admission_per_s", jint(w->admission_per_s));
	jset(wo, "purchase_window_ms", jint(w->purchase_window_ms));
	fmt_duration(buf, sizeof(buf), w->purchase_window_ms);
	jset(wo, "purchase_window", json_string(buf));
	jset(o, "waiting_room", wo);
	return o;
}

/* Print o as one line on stdout and free it. */
static void json_out(json_t *o)
{
	if (json_oom)
		internal_error("out of memory");
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		internal_error("cannot write JSON output");
	fputs("\n", stdout);
	json_decref(o);
}

static void print_json(const char *file, const struct ctl_inventory *inv, const struct event_facts *facts)
{
	uint64_t total = 0, reserved = 0, ga = 0;
	json_t *root = jobj();
	jset(root, "valid", json_true());
	jset(root, "file", jstr(file));
	json_t *events = jarr();
	for (uint32_t e = 0; e < inv->n_events; e++) {
		jappend(events, event_json(&inv->events[e], &facts[e]));
		total += facts[e].capacity;
		reserved += facts[e].reserved;
		ga += facts[e].ga;
	}
	jset(root, "events", events);
	jset(root, "capacity", jint(total));
	jset(root, "reserved_seats", jint(reserved));
	jset(root, "ga_tickets", jint(ga));
	json_out(root);
}

/* ---- validate ---- */

static int cmd_validate(const struct cli *cli)
{
	const char *file = cli->arg[0];
	struct ctl_inventory *inv = NULL;
	char err[ERR_MAX] = "";

	int rc = ctl_inventory_load(file, &inv, err, sizeof(err));
	if (rc != 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s: %s", file, strerror(-rc));
		fprintf(stderr, "%s\n", err);
		if (rc == -ENOMEM)
			return EXIT_INTERNAL;
		if (cli->json) {
			json_t *o = jobj();
			jset(o, "valid", json_false());
			jset(o, "error", jstr(err));
			json_out(o);
		}
		return EXIT_INVALID;
	}

	struct event_facts *facts = xcalloc(inv->n_events, sizeof(*facts));
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
	return EXIT_OK;
}

/* ---- command line ---- */

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Exit status after the output is flushed: a lost write is an internal error. */
static int finish(int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write output: %s\n", prog, strerror(errno));
		return EXIT_INTERNAL;
	}
	return code;
}

int main(int argc, char **argv)
{
	struct cli cli;
	memset(&cli, 0, sizeof(cli));
	const struct command *cmd = NULL;
	bool help = false, is_help_cmd = false, opts_done = false;
	const char *help_topic = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts_done && a[0] == '-' && a[1] != '\0') {
			if (!strcmp(a, "--"))
				opts_done = true;
			else if (!strcmp(a, "--json"))
				cli.json = true;
			else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
				help = true;
			else
				usage_error("unknown option '%s'%s%s", a, cmd ? " for " : "", cmd ? cmd->name : "");
			continue;
		}
		if (!cmd && !is_help_cmd) {
			if (!strcmp(a, "help")) {
				is_help_cmd = true;
				continue;
			}
			cmd = find_command(a);
			if (!cmd)
				usage_error("unknown command '%s'", a);
			continue;
		}
		if (is_help_cmd) {
			if (help_topic)
				usage_error("help takes one command name at most");
			help_topic = a;
			continue;
		}
		if (cli.nargs >= cmd->nargs)
			usage_error("too many arguments for %s (usage: %s %s %s)", cmd->name, prog, cmd->name, cmd->args);
		cli.arg[cli.nargs++] = a;
	}

	if (is_help_cmd) {
		if (!help_topic) {
			full_help();
			return finish(EXIT_OK);
		}
		const struct command *c = find_command(help_topic);
		if (!c)
			usage_error("unknown command '%s'", help_topic);
		command_help(c);
		return finish(EXIT_OK);
	}
	if (help) {
		if (cmd)
			command_help(cmd);
		else
			full_help();
		return finish(EXIT_OK);
	}
	if (!cmd)
		usage_error("no command given");
	if (cli.nargs < cmd->nargs)
		usage_error("%s needs %s (usage: %s %s %s)", cmd->name, cmd->args, prog, cmd->name, cmd->args);
	return finish(cmd->run(&cli));
}
