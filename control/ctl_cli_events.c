/*
 * ctl_cli_events.c - `stampedectl events`: one line per loaded event
 * (docs/control.md, dataplane `events`, relayed by stampede-control).
 */
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "control/ctl_cli.h"

#define WHERE_MAX 64 /* "events[12]" and the like */

/* The number of parts of an event: "parts" is documented without a type, so a count or an array is taken. */
static int parts_count(const json_t *parts, const char *where, json_int_t *out)
{
	if (json_is_integer(parts) && json_integer_value(parts) >= 0)
		*out = json_integer_value(parts);
	else if (json_is_array(parts))
		*out = (json_int_t)json_array_size(parts);
	else
		return ctl_cli_bad_reply("%s.parts: expected an integer >= 0 or an array", where);
	return 0;
}

/* Add one event of the reply to the table; 0 or an exit status after the message. */
static int event_row(struct ctl_table *t, const json_t *ev, size_t i)
{
	char where[WHERE_MAX];
	snprintf(where, sizeof(where), "events[%zu]", i);
	json_int_t id, on_sale, ttl, limit, capacity, nparts = 0;
	const char *name, *state;
	json_t *parts;
	int rc = ctl_cli_unpack(ev, where, "{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "id", &id, "name", &name,
				"state", &state, "on_sale_ms", &on_sale, "hold_ttl_ms", &ttl, "buyer_limit", &limit,
				"capacity", &capacity, "parts", &parts);
	if (rc || (rc = parts_count(parts, where, &nparts)))
		return rc;
	if (on_sale < 0 || ttl < 0)
		return ctl_cli_bad_reply("%s: on_sale_ms and hold_ttl_ms must be >= 0", where);
	char c_id[32], c_on[64], c_ttl[64], c_lim[32], c_cap[32], c_parts[32];
	snprintf(c_id, sizeof(c_id), "%" JSON_INTEGER_FORMAT, id);
	if (on_sale)
		ctl_cli_fmt_time(c_on, sizeof(c_on), (uint64_t)on_sale);
	else
		snprintf(c_on, sizeof(c_on), "-");
	ctl_cli_fmt_duration(c_ttl, sizeof(c_ttl), (uint64_t)ttl);
	snprintf(c_lim, sizeof(c_lim), "%" JSON_INTEGER_FORMAT, limit);
	snprintf(c_cap, sizeof(c_cap), "%" JSON_INTEGER_FORMAT, capacity);
	snprintf(c_parts, sizeof(c_parts), "%" JSON_INTEGER_FORMAT, nparts);
	const char *row[] = {c_id, name, state, c_on, c_ttl, c_lim, c_cap, c_parts};
	ctl_table_row(t, row);
	return 0;
}

/* events: the table, or the reply as JSON once every event has been checked. */
int ctl_cli_events(const struct ctl_cli *cli)
{
	json_t *reply, *events;
	int rc = ctl_cli_request(cli, ctl_cli_req(cli, "events"), &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "events", "{s:o}", "events", &events)))
		return rc;
	if (!json_is_array(events))
		return ctl_cli_bad_reply("events.events: expected an array");
	static const char *const head[] = {"EVENT", "NAME", "STATE", "ON SALE", "HOLD TTL", "BUYER LIMIT", "CAPACITY", "PARTS"};
	static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,
				    CTL_ALIGN_LEFT,  CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
	struct ctl_table t;
	ctl_table_init(&t, 8, head, align);
	for (size_t i = 0; i < json_array_size(events) && !rc; i++)
		rc = event_row(&t, json_array_get(events, i), i);
	if (!rc) {
		if (cli->json)
			ctl_cli_print_reply(reply);
		else if (t.nrows)
			ctl_table_print(&t, "");
		else
			printf("no events loaded\n");
	}
	ctl_table_free(&t);
	return rc;
}
