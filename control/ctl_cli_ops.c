/*
 * ctl_cli_ops.c - the commands that change the sale (docs/control.md,
 * "Control socket"): load, open, pause, close, set and release-holds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_cli.h"
#include "control/ctl_inventory.h"
#include "control/ctl_members.h"

#define WHERE_MAX 64 /* "events[12]" and the like */

/*
 * Read the whole file (at most CTL_FILE_BYTES_MAX bytes) into a new buffer
 * (free it). Returns 0, or an exit status after a message naming the file.
 */
static int read_text(const char *file, char **text_out, size_t *len_out)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", file, strerror(errno));
		return CTL_EXIT_INVALID;
	}
	char *text = malloc(CTL_FILE_BYTES_MAX + 1);
	if (!text) {
		fclose(f);
		ctl_cli_internal_error("out of memory");
	}
	size_t len = fread(text, 1, CTL_FILE_BYTES_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || len > CTL_FILE_BYTES_MAX) {
		fprintf(stderr, "%s: %s\n", file, bad ? "read error" : "larger than the loader accepts");
		free(text);
		return CTL_EXIT_INVALID;
	}
	*text_out = text;
	*len_out = len;
	return 0;
}

/* The file's base name: what the control process names it by in messages. */
static const char *base_name(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash && slash[1] ? slash + 1 : file;
}

/* load FILE: validate it and its member lists locally (nothing is sent for a bad file), send the texts,
 * print each event's action. */
int ctl_cli_load(const struct ctl_cli *cli)
{
	const char *file = cli->arg[0];
	struct ctl_inventory *inv = NULL;
	char err[CTL_CLI_ERR_MAX] = "";
	struct ctl_members_text *texts = NULL;
	size_t n_texts = 0;
	int rc = ctl_cli_inventory_load(file, &inv, err, sizeof(err));
	if (rc == 0)
		rc = ctl_cli_members_attach(file, inv, &texts, &n_texts, err, sizeof(err));
	if (rc != 0) {
		ctl_inventory_free(inv);
		return rc;
	}

	char *text;
	size_t len;
	if ((rc = read_text(file, &text, &len))) {
		ctl_cli_members_free(texts, n_texts);
		ctl_inventory_free(inv);
		return rc;
	}
	json_t *req = ctl_cli_req(cli, "load");
	ctl_cli_jset(req, "name", ctl_cli_jstr(base_name(file)));
	ctl_cli_jset(req, "inventory", json_stringn(text, len));
	free(text);
	if (n_texts) {
		/* The member lists, checked above (UTF-8, no NUL), as the inventory names them. */
		json_t *members = ctl_cli_jarr();
		for (size_t i = 0; i < n_texts; i++) {
			json_t *m = ctl_cli_jobj();
			ctl_cli_jset(m, "file", json_string(texts[i].file));
			ctl_cli_jset(m, "text", json_stringn(texts[i].text, texts[i].len));
			ctl_cli_jappend(members, m);
		}
		ctl_cli_jset(req, "members", members);
	}
	ctl_cli_members_free(texts, n_texts); /* their file names point into inv */
	ctl_inventory_free(inv);
	json_t *reply, *events;
	if ((rc = ctl_cli_request(cli, req, &reply)) || (rc = ctl_cli_unpack(reply, "load", "{s:o}", "events", &events)))
		return rc;
	if (!json_is_array(events))
		return ctl_cli_bad_reply("load.events: expected an array");
	static const char *const head[] = {"EVENT", "NAME", "ACTION"};
	static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT, CTL_ALIGN_LEFT};
	struct ctl_table t;
	ctl_table_init(&t, 3, head, align);
	for (size_t i = 0; i < json_array_size(events) && !rc; i++) {
		char where[WHERE_MAX], id_s[32];
		json_int_t id;
		const char *name, *action;
		snprintf(where, sizeof(where), "load.events[%zu]", i);
		rc = ctl_cli_unpack(json_array_get(events, i), where, "{s:I, s:s, s:s}", "id", &id, "name", &name,
				    "action", &action);
		if (rc)
			break;
		snprintf(id_s, sizeof(id_s), "%" JSON_INTEGER_FORMAT, id);
		const char *row[] = {id_s, name, action};
		ctl_table_row(&t, row);
	}
	if (!rc) {
		if (cli->json) {
			ctl_cli_print_reply(reply);
		} else {
			printf("%s: loaded\n", file);
			ctl_table_print(&t, "");
		}
	}
	ctl_table_free(&t);
	return rc;
}

/* open, pause or close EVENT: send cmd, print "event ID: STATE". */
static int sale(const struct ctl_cli *cli, const char *cmd)
{
	json_t *reply;
	json_int_t event;
	const char *state;
	int rc = ctl_cli_request(cli, ctl_cli_req(cli, cmd), &reply);
	if (rc || (rc = ctl_cli_unpack(reply, cmd, "{s:I, s:s}", "event", &event, "state", &state)))
		return rc;
	if (cli->json)
		ctl_cli_print_reply(reply);
	else
		printf("event %" JSON_INTEGER_FORMAT ": %s\n", event, state);
	return CTL_EXIT_OK;
}

/* open EVENT. */
int ctl_cli_open(const struct ctl_cli *cli)
{
	return sale(cli, "open");
}

/* pause EVENT. */
int ctl_cli_pause(const struct ctl_cli *cli)
{
	return sale(cli, "pause");
}

/* close EVENT. */
int ctl_cli_close(const struct ctl_cli *cli)
{
	return sale(cli, "close");
}

/* set EVENT [--max-active N] [--admission-rate N]: print both values as they now are. */
int ctl_cli_set(const struct ctl_cli *cli)
{
	json_t *req = ctl_cli_req(cli, "set"), *reply;
	if (cli->has_max_active)
		ctl_cli_jset(req, "max_active_shoppers", ctl_cli_jint(cli->max_active));
	if (cli->has_admission)
		ctl_cli_jset(req, "admission_per_s", ctl_cli_jint(cli->admission_per_s));
	json_int_t event, active, rate;
	int rc = ctl_cli_request(cli, req, &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "set", "{s:I, s:I, s:I}", "event", &event, "max_active_shoppers",
				       &active, "admission_per_s", &rate)))
		return rc;
	if (cli->json)
		ctl_cli_print_reply(reply);
	else
		printf("event %" JSON_INTEGER_FORMAT ": at most %" JSON_INTEGER_FORMAT " active shoppers, %" JSON_INTEGER_FORMAT
		       " admitted/s\n",
		       event, active, rate);
	return CTL_EXIT_OK;
}

/* release-holds (EVENT | --all) [--section ID] [--older-than DURATION]: print the counts. */
int ctl_cli_release_holds(const struct ctl_cli *cli)
{
	json_t *req = ctl_cli_req(cli, "release-holds"), *reply, *holds;
	if (cli->all)
		ctl_cli_jset(req, "all", json_true());
	if (cli->has_section)
		ctl_cli_jset(req, "section", ctl_cli_jint(cli->section));
	if (cli->has_older_than)
		ctl_cli_jset(req, "older_than_ms", ctl_cli_jint(cli->older_than_ms));
	json_int_t released, ended;
	int rc = ctl_cli_request(cli, req, &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "release-holds", "{s:I, s:I, s:o}", "released", &released, "ended",
				       &ended, "holds", &holds)))
		return rc;
	if (!json_is_array(holds))
		return ctl_cli_bad_reply("release-holds.holds: expected an array of hold ids");
	for (size_t i = 0; i < json_array_size(holds); i++)
		if (!json_is_integer(json_array_get(holds, i)))
			return ctl_cli_bad_reply("release-holds.holds[%zu]: expected an integer hold id", i);
	if (released < 0 || ended < 0)
		return ctl_cli_bad_reply("release-holds: released and ended must be >= 0");
	if (cli->json)
		ctl_cli_print_reply(reply);
	else
		printf("released %" JSON_INTEGER_FORMAT " hold%s; %" JSON_INTEGER_FORMAT " ended meanwhile\n", released,
		       released == 1 ? "" : "s", ended);
	return CTL_EXIT_OK;
}
