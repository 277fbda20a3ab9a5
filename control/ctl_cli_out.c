/*
 * ctl_cli_out.c - stampedectl's output helpers (ctl_cli.h): times, durations
 * and prices as text, aligned tables for people, JSON building for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/ctl_cli.h"

/* calloc that never returns NULL: out of memory ends the program with exit 4. */
void *ctl_cli_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		ctl_cli_internal_error("out of memory");
	return p;
}

/* The wall clock in Unix milliseconds (ages and "expires in" of holds). */
uint64_t ctl_cli_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "YYYY-MM-DDTHH:MM:SS" of ms into base; false if the time cannot be shown. */
static int fmt_base(char *base, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms / 1000 > (uint64_t)INT64_MAX / 2 || !gmtime_r(&t, &tm))
		return 0;
	return strftime(base, len, "%Y-%m-%dT%H:%M:%S", &tm) != 0;
}

/* RFC 3339 UTC, milliseconds only when there are some. */
void ctl_cli_fmt_time(char *buf, size_t len, uint64_t ms)
{
	char base[64];
	if (!fmt_base(base, sizeof(base), ms))
		snprintf(buf, len, "@%" PRIu64 "ms", ms);
	else if (ms % 1000)
		snprintf(buf, len, "%s.%03uZ", base, (unsigned)(ms % 1000));
	else
		snprintf(buf, len, "%sZ", base);
}

/* ISO 8601 UTC with milliseconds always: "2026-11-07T17:00:01.250Z" (export). */
void ctl_cli_fmt_time_ms(char *buf, size_t len, uint64_t ms)
{
	char base[64];
	if (!fmt_base(base, sizeof(base), ms))
		snprintf(buf, len, "@%" PRIu64 "ms", ms);
	else
		snprintf(buf, len, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

/* A duration as the file format writes them: "12m", "1h30m", "1m30s500ms". */
void ctl_cli_fmt_duration(char *buf, size_t len, uint64_t ms)
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

/* Cents as a decimal amount, "45.00". */
void ctl_cli_fmt_price(char *buf, size_t len, uint64_t cents)
{
	snprintf(buf, len, "%" PRIu64 ".%02" PRIu64, cents / 100, cents % 100);
}

/* ---- aligned tables ---- */

/* An empty table with ncols columns (at most CTL_TABLE_COLS_MAX). */
void ctl_table_init(struct ctl_table *t, unsigned ncols, const char *const *head, const int *align)
{
	memset(t, 0, sizeof(*t));
	if (ncols > CTL_TABLE_COLS_MAX)
		ctl_cli_internal_error("table has too many columns");
	t->ncols = ncols;
	for (unsigned c = 0; c < ncols; c++) {
		t->head[c] = head[c];
		t->align[c] = align[c];
	}
}

/* Add a row; the cells are copied. */
void ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));
		if (!p)
			ctl_cli_internal_error("out of memory");
		t->cells = p;
		t->cap = cap;
	}
	for (unsigned c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c]);
		if (!s)
			ctl_cli_internal_error("out of memory");
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

/* One cell padded to width; the last cell of a left-aligned column gets no trailing spaces. */
static void put_cell(const char *s, size_t width, int align, int last)
{
	size_t pad = width - text_width(s);
	if (align == CTL_ALIGN_RIGHT)
		printf("%*s", (int)pad, "");
	fputs(s, stdout);
	if (!last && align == CTL_ALIGN_LEFT)
		printf("%*s", (int)pad, "");
}

/* One line of the table: the heading (row NULL) or row r's cells. */
static void put_line(const struct ctl_table *t, const size_t *width, const char *indent, const size_t *row)
{
	fputs(indent, stdout);
	for (unsigned c = 0; c < t->ncols; c++) {
		const char *s = row ? t->cells[*row * t->ncols + c] : t->head[c];
		put_cell(s, width[c], t->align[c], c + 1 == t->ncols);
		if (c + 1 < t->ncols)
			fputs("  ", stdout);
	}
	fputs("\n", stdout);
}

/* Print the heading and the rows, columns as wide as their widest cell, two spaces apart. */
void ctl_table_print(const struct ctl_table *t, const char *indent)
{
	size_t width[CTL_TABLE_COLS_MAX];
	for (unsigned c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	put_line(t, width, indent, NULL);
	for (size_t r = 0; r < t->nrows; r++)
		put_line(t, width, indent, &r);
}

/* Free the cells; the table may be initialised again. */
void ctl_table_free(struct ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- JSON building ---- */

static int json_oom;

/* Set o[key] = v, taking v; a NULL v (jansson out of memory) or a failed set is remembered. */
void ctl_cli_jset(json_t *o, const char *key, json_t *v)
{
	if (!v || json_object_set_new(o, key, v) != 0)
		json_oom = 1;
}

/* Append v to a, taking v; failures are remembered as in ctl_cli_jset. */
void ctl_cli_jappend(json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v) != 0)
		json_oom = 1;
}

/* A new object; out of memory ends the program. */
json_t *ctl_cli_jobj(void)
{
	json_t *o = json_object();
	if (!o)
		ctl_cli_internal_error("out of memory");
	return o;
}

/* A new array; out of memory ends the program. */
json_t *ctl_cli_jarr(void)
{
	json_t *a = json_array();
	if (!a)
		ctl_cli_internal_error("out of memory");
	return a;
}

/* A JSON string; bytes that are not UTF-8 (a path may hold any) become '?'. */
json_t *ctl_cli_jstr(const char *s)
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

/* A JSON integer of an unsigned value (all of ours are below 2^63). */
json_t *ctl_cli_jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* Print o as one line on stdout and free it; a remembered failure or a lost write ends with exit 4. */
void ctl_cli_json_out(json_t *o)
{
	if (json_oom)
		ctl_cli_internal_error("out of memory");
	if (json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		ctl_cli_internal_error("cannot write JSON output");
	fputs("\n", stdout);
	json_decref(o);
}
