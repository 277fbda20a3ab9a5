/*
 * ctl_cli_holds.c - `stampedectl holds`: the live holds stampede-control
 * sees in LMDB (docs/control.md, "Control socket", `holds`).
 */
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "control/ctl_cli.h"

#define WHERE_MAX 64 /* "holds[12]" and the like */

/* A span of time for the table, to the second below a minute's precision: "1m5s", "0s". */
static void fmt_span(char *buf, size_t len, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	ctl_cli_fmt_duration(buf, len, (uint64_t)ms / 1000 * 1000);
}

/* Add one hold of the reply to the table; 0 or an exit status after the message. */
static int hold_row(struct ctl_table *t, const json_t *h, size_t i, uint64_t now_ms)
{
	char where[WHERE_MAX];
	snprintf(where, sizeof(where), "holds[%zu]", i);
	json_int_t id, event, part, client, tickets, created, expiry;
	const char *part_name, *kind;
	int rc = ctl_cli_unpack(h, where, "{s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I}", "hold_id", &id, "event",
				&event, "part", &part, "part_name", &part_name, "kind", &kind, "client_id", &client,
				"tickets", &tickets, "created_ms", &created, "expiry_ms", &expiry);
	if (rc)
		return rc;
	if (created < 0 || expiry < 0)
		return ctl_cli_bad_reply("%s: created_ms and expiry_ms must be >= 0", where);
	char c_id[32], c_ev[32], c_part[96], c_client[32], c_tickets[32], c_age[64], c_exp[64];
	snprintf(c_id, sizeof(c_id), "%" JSON_INTEGER_FORMAT, id);
	snprintf(c_ev, sizeof(c_ev), "%" JSON_INTEGER_FORMAT, event);
	snprintf(c_part, sizeof(c_part), "%s (%" JSON_INTEGER_FORMAT ")", part_name, part);
	snprintf(c_client, sizeof(c_client), "%" JSON_INTEGER_FORMAT, client);
	snprintf(c_tickets, sizeof(c_tickets), "%" JSON_INTEGER_FORMAT, tickets);
	fmt_span(c_age, sizeof(c_age), (int64_t)now_ms - created);
	if ((uint64_t)expiry <= now_ms)
		snprintf(c_exp, sizeof(c_exp), "due");
	else
		fmt_span(c_exp, sizeof(c_exp), expiry - (int64_t)now_ms);
	const char *row[] = {c_id, c_ev, c_part, kind, c_client, c_tickets, c_age, c_exp};
	ctl_table_row(t, row);
	return 0;
}

/* holds [EVENT] [--section ID] [--older-than DURATION] [--limit N]. */
int ctl_cli_holds(const struct ctl_cli *cli)
{
	json_t *req = ctl_cli_req(cli, "holds"), *reply, *holds;
	if (cli->has_section)
		ctl_cli_jset(req, "section", ctl_cli_jint(cli->section));
	if (cli->has_older_than)
		ctl_cli_jset(req, "older_than_ms", ctl_cli_jint(cli->older_than_ms));
	if (cli->has_limit)
		ctl_cli_jset(req, "limit", ctl_cli_jint(cli->limit));
	json_int_t total;
	int rc = ctl_cli_request(cli, req, &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "holds", "{s:o, s:I}", "holds", &holds, "total", &total)))
		return rc;
	if (!json_is_array(holds))
		return ctl_cli_bad_reply("holds.holds: expected an array");
	static const char *const head[] = {"HOLD", "EVENT", "PART", "KIND", "CLIENT", "TICKETS", "AGE", "EXPIRES IN"};
	static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,
				    CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
	struct ctl_table t;
	ctl_table_init(&t, 8, head, align);
	const uint64_t now = ctl_cli_now_ms();
	for (size_t i = 0; i < json_array_size(holds) && !rc; i++)
		rc = hold_row(&t, json_array_get(holds, i), i, now);
	if (!rc) {
		if (cli->json) {
			ctl_cli_print_reply(reply);
		} else {
			if (t.nrows)
				ctl_table_print(&t, "");
			printf("%zu of %" JSON_INTEGER_FORMAT " live hold%s shown\n", t.nrows, total, total == 1 ? "" : "s");
		}
	}
	ctl_table_free(&t);
	return rc;
}
