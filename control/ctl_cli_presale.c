/*
 * ctl_cli_presale.c - `stampedectl presale EVENT [--codes]`: an event's
 * presale windows and their redemptions, as the dataplane counts them
 * (docs/waiting-room.md, "Presale windows"; docs/control.md, `presale`).
 */
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "control/ctl_cli.h"

#define WHERE_MAX 96 /* "presale.windows[3].code_uses[4095]" and the like */

/* A count of the reply: an integer >= 0 (0 or an exit status after the message). */
static int count(const char *where, const char *key, json_int_t v, char *buf, size_t len)
{
	if (v < 0)
		return ctl_cli_bad_reply("%s.%s: expected an integer >= 0", where, key);
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, v);
	return 0;
}

/* One window of the reply into the windows table and, with --codes, its codes into the codes table. */
static int window_rows(const struct ctl_cli *cli, struct ctl_table *wt, struct ctl_table *ct, const json_t *w,
		       size_t i)
{
	char where[WHERE_MAX];
	snprintf(where, sizeof(where), "presale.windows[%zu]", i);
	json_int_t index, start, end, codes, uses, used;
	const char *name;
	json_t *code_uses = NULL;
	int rc = ctl_cli_unpack(w, where, "{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s?o}", "index", &index, "name", &name,
				"start_ms", &start, "end_ms", &end, "codes", &codes, "uses", &uses, "used", &used,
				"code_uses", &code_uses);
	if (rc)
		return rc;
	if (index < 0 || start < 0 || end < 0)
		return ctl_cli_bad_reply("%s: index, start_ms and end_ms must be >= 0", where);
	char c_win[128], c_start[64], c_end[64], c_codes[32], c_uses[32], c_used[32];
	snprintf(c_win, sizeof(c_win), "%s (%" JSON_INTEGER_FORMAT ")", name, index);
	ctl_cli_fmt_time(c_start, sizeof(c_start), (uint64_t)start);
	ctl_cli_fmt_time(c_end, sizeof(c_end), (uint64_t)end);
	if ((rc = count(where, "codes", codes, c_codes, sizeof(c_codes))) ||
	    (rc = count(where, "uses", uses, c_uses, sizeof(c_uses))) ||
	    (rc = count(where, "used", used, c_used, sizeof(c_used))))
		return rc;
	const char *row[] = {c_win, c_start, c_end, c_codes, c_uses, c_used};
	ctl_table_row(wt, row);
	if (!cli->codes)
		return 0;
	if (!json_is_array(code_uses))
		return ctl_cli_bad_reply("%s.code_uses: expected an array (asked with \"codes\": true)", where);
	for (size_t k = 0; k < json_array_size(code_uses); k++) {
		char cw[WHERE_MAX + 40], k_uses[32], k_used[32];
		const char *code;
		json_int_t cu, cd;
		snprintf(cw, sizeof(cw), "%s.code_uses[%zu]", where, k);
		if ((rc = ctl_cli_unpack(json_array_get(code_uses, k), cw, "{s:s, s:I, s:I}", "code", &code, "uses", &cu,
					 "used", &cd)) ||
		    (rc = count(cw, "uses", cu, k_uses, sizeof(k_uses))) || (rc = count(cw, "used", cd, k_used, sizeof(k_used))))
			return rc;
		const char *crow[] = {c_win, code, k_uses, k_used};
		ctl_table_row(ct, crow);
	}
	return 0;
}

/* presale EVENT [--codes]: send {"cmd": "presale", "event", "codes"?}, print the windows (and codes). */
int ctl_cli_presale(const struct ctl_cli *cli)
{
	json_t *req = ctl_cli_req(cli, "presale"), *reply, *windows;
	if (cli->codes)
		ctl_cli_jset(req, "codes", json_true());
	json_int_t event;
	int truncated = 0;
	int rc = ctl_cli_request(cli, req, &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "presale", "{s:I, s:o, s?b}", "event", &event, "windows", &windows,
				       "truncated", &truncated)))
		return rc;
	if (!json_is_array(windows))
		return ctl_cli_bad_reply("presale.windows: expected an array");
	static const char *const whead[] = {"WINDOW", "START", "END", "CODES", "USES", "USED"};
	static const int walign[] = {CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,
				     CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
	static const char *const chead[] = {"WINDOW", "CODE", "USES", "USED"};
	static const int calign[] = {CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT};
	struct ctl_table wt, ct;
	ctl_table_init(&wt, 6, whead, walign);
	ctl_table_init(&ct, 4, chead, calign);
	for (size_t i = 0; i < json_array_size(windows) && !rc; i++)
		rc = window_rows(cli, &wt, &ct, json_array_get(windows, i), i);
	if (!rc) {
		if (cli->json) {
			ctl_cli_print_reply(reply);
		} else if (wt.nrows == 0) {
			printf("event %" JSON_INTEGER_FORMAT ": no presale windows\n", event);
		} else {
			ctl_table_print(&wt, "");
			if (cli->codes) {
				fputs("\n", stdout);
				if (ct.nrows)
					ctl_table_print(&ct, "");
				if (truncated)
					printf("%zu codes shown: the list was cut short by the dataplane\n", ct.nrows);
			}
		}
	}
	ctl_table_free(&wt);
	ctl_table_free(&ct);
	return rc;
}
