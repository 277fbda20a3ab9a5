/*
 * ctl_cli_export.c - `stampedectl export`: one row per sold ticket from the
 * durable log (docs/control.md, "Control socket", `export`), as RFC 4180
 * CSV or a JSON array, to standard output or a file replaced only once the
 * export is complete.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_cli.h"

#define WHERE_MAX 64     /* "tickets[12]" and the like */
#define TMP_SUFFIX ".XXXXXX"

static const char csv_heading[] =
	"order_id,hold_id,event,part,part_name,kind,row,seat,serial,client_id,tier,tier_name,price_cents,time";

/* One ticket row as the reply gives it, checked. */
struct ticket {
	json_int_t order_id, hold_id, event, part, client_id, tier, price_cents, time_ms;
	const char *part_name, *kind, *tier_name;
	const json_t *row, *seat, *serial; /* string/null, integer/null, integer/null */
};

/* Check tickets[i] and fill t; 0 or an exit status after the message. */
static int ticket_get(const json_t *v, size_t i, struct ticket *t)
{
	char where[WHERE_MAX];
	snprintf(where, sizeof(where), "tickets[%zu]", i);
	json_t *row, *seat, *serial;
	int rc = ctl_cli_unpack(v, where, "{s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:I, s:I}",
				"order_id", &t->order_id, "hold_id", &t->hold_id, "event", &t->event, "part", &t->part,
				"part_name", &t->part_name, "kind", &t->kind, "row", &row, "seat", &seat, "serial",
				&serial, "client_id", &t->client_id, "tier", &t->tier, "tier_name", &t->tier_name,
				"price_cents", &t->price_cents, "time_ms", &t->time_ms);
	if (rc)
		return rc;
	if (!json_is_string(row) && !json_is_null(row))
		return ctl_cli_bad_reply("%s.row: expected a string or null", where);
	if (!json_is_integer(seat) && !json_is_null(seat))
		return ctl_cli_bad_reply("%s.seat: expected an integer or null", where);
	if (!json_is_integer(serial) && !json_is_null(serial))
		return ctl_cli_bad_reply("%s.serial: expected an integer or null", where);
	if (t->time_ms < 0)
		return ctl_cli_bad_reply("%s.time_ms: expected an integer >= 0", where);
	t->row = row;
	t->seat = seat;
	t->serial = serial;
	return 0;
}

/* A CSV text field (RFC 4180): in double quotes, quotes doubled, when it holds a comma, quote or line break. */
static void csv_text(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* An integer-or-null field: the number, or nothing. */
static void csv_opt_int(FILE *f, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* One CSV record, CRLF-terminated (RFC 4180). */
static void csv_row(FILE *f, const struct ticket *t)
{
	char time_s[64];
	ctl_cli_fmt_time_ms(time_s, sizeof(time_s), (uint64_t)t->time_ms);
	fprintf(f, "%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",",
		t->order_id, t->hold_id, t->event, t->part);
	csv_text(f, t->part_name);
	fputc(',', f);
	csv_text(f, t->kind);
	fputc(',', f);
	if (json_is_string(t->row))
		csv_text(f, json_string_value(t->row));
	fputc(',', f);
	csv_opt_int(f, t->seat);
	fputc(',', f);
	csv_opt_int(f, t->serial);
	fprintf(f, ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",", t->client_id, t->tier);
	csv_text(f, t->tier_name);
	fprintf(f, ",%" JSON_INTEGER_FORMAT ",%s\r\n", t->price_cents, time_s);
}

/* One row object for the JSON export: the CSV's columns as keys, null where CSV is empty, plus time_ms. */
static json_t *json_row(const struct ticket *t)
{
	char time_s[64];
	ctl_cli_fmt_time_ms(time_s, sizeof(time_s), (uint64_t)t->time_ms);
	json_t *o = ctl_cli_jobj();
	ctl_cli_jset(o, "order_id", json_integer(t->order_id));
	ctl_cli_jset(o, "hold_id", json_integer(t->hold_id));
	ctl_cli_jset(o, "event", json_integer(t->event));
	ctl_cli_jset(o, "part", json_integer(t->part));
	ctl_cli_jset(o, "part_name", json_string(t->part_name));
	ctl_cli_jset(o, "kind", json_string(t->kind));
	ctl_cli_jset(o, "row", json_deep_copy(t->row));
	ctl_cli_jset(o, "seat", json_deep_copy(t->seat));
	ctl_cli_jset(o, "serial", json_deep_copy(t->serial));
	ctl_cli_jset(o, "client_id", json_integer(t->client_id));
	ctl_cli_jset(o, "tier", json_integer(t->tier));
	ctl_cli_jset(o, "tier_name", json_string(t->tier_name));
	ctl_cli_jset(o, "price_cents", json_integer(t->price_cents));
	ctl_cli_jset(o, "time", json_string(time_s));
	ctl_cli_jset(o, "time_ms", json_integer(t->time_ms));
	return o;
}

/* Write every row to f; 0, or an exit status after a message (a bad row is found before anything is written). */
static int write_rows(FILE *f, const json_t *tickets, int format)
{
	size_t n = json_array_size(tickets);
	struct ticket *rows = ctl_cli_calloc(n, sizeof(*rows));
	for (size_t i = 0; i < n; i++) {
		int rc = ticket_get(json_array_get(tickets, i), i, &rows[i]);
		if (rc) {
			free(rows);
			return rc;
		}
	}
	if (format == CTL_FORMAT_CSV) {
		fprintf(f, "%s\r\n", csv_heading);
		for (size_t i = 0; i < n; i++)
			csv_row(f, &rows[i]);
	} else {
		fputs(n ? "[\n" : "[", f);
		for (size_t i = 0; i < n; i++) {
			json_t *o = json_row(&rows[i]);
			if (json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
				ctl_cli_internal_error("out of memory");
			json_decref(o);
			fputs(i + 1 < n ? ",\n" : "\n", f);
		}
		fputs("]\n", f);
	}
	free(rows);
	return 0;
}

/* Write the rows to cli->output through a temporary file renamed into place once complete. */
static int write_file(const struct ctl_cli *cli, const json_t *tickets)
{
	size_t len = strlen(cli->output) + sizeof(TMP_SUFFIX);
	char *tmp = ctl_cli_calloc(1, len);
	snprintf(tmp, len, "%s" TMP_SUFFIX, cli->output);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		fprintf(stderr, "%s: cannot write %s: %s\n", ctl_cli_prog, cli->output, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return CTL_EXIT_INTERNAL;
	}
	int rc = write_rows(f, tickets, cli->format);
	int werr = ferror(f);
	if (fclose(f) != 0)
		werr = 1;
	if (!rc && werr) {
		fprintf(stderr, "%s: cannot write %s: %s\n", ctl_cli_prog, cli->output, strerror(errno));
		rc = CTL_EXIT_INTERNAL;
	}
	if (!rc && rename(tmp, cli->output) != 0) {
		fprintf(stderr, "%s: cannot replace %s: %s\n", ctl_cli_prog, cli->output, strerror(errno));
		rc = CTL_EXIT_INTERNAL;
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* export [EVENT] [--format csv|json] [-o FILE]. */
int ctl_cli_export(const struct ctl_cli *cli)
{
	json_t *reply, *tickets;
	int rc = ctl_cli_request(cli, ctl_cli_req(cli, "export"), &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "export", "{s:o}", "tickets", &tickets)))
		return rc;
	if (!json_is_array(tickets))
		return ctl_cli_bad_reply("export.tickets: expected an array");
	if (cli->output)
		return write_file(cli, tickets);
	return write_rows(stdout, tickets, cli->format);
}
