/*
 * ctl_cli_keys.c - `keys`: the waiting-room key file (docs/waiting-room.md,
 * "Key file"). generate and rotate work offline on the file itself
 * (dp_keys_generate, dp_keys_rotate_file in dataplane/dp_token.h); reload asks
 * stampede-control to have the dataplane read its keys-file again
 * (docs/control.md, `keys-reload`).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "control/ctl_cli.h"
#include "dataplane/dp_token.h"

/*
 * A failed key-file call: print the library's message (or FILE: strerror when
 * it gave none) on standard error. Returns CTL_EXIT_INTERNAL for -ENOMEM,
 * CTL_EXIT_INVALID for anything else (a refused, bad or unwritable file).
 */
static int keys_failed(const char *file, int rc, const char *err)
{
	if (err[0])
		fprintf(stderr, "%s\n", err);
	else
		fprintf(stderr, "%s: %s\n", file, strerror(-rc));
	return rc == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_INVALID;
}

/* Print "FILE: WHAT ID", or with --json {"file": FILE, "current": ID}. */
static void keys_print_file(const struct ctl_cli *cli, const char *file, const char *what, unsigned id)
{
	if (cli->json) {
		json_t *o = ctl_cli_jobj();
		ctl_cli_jset(o, "file", ctl_cli_jstr(file));
		ctl_cli_jset(o, "current", ctl_cli_jint(id));
		ctl_cli_json_out(o);
	} else {
		printf("%s: %s %u\n", file, what, id);
	}
}

/* keys generate FILE [--id N]: a new file with one key (never overwrites). */
static int keys_generate(const struct ctl_cli *cli)
{
	const char *file = cli->arg[1];
	char err[DP_KEYS_ERR_MAX] = "";
	uint8_t id = cli->has_key_id ? cli->key_id : CTL_CLI_KEY_ID_DEFAULT;
	int rc = dp_keys_generate(file, id, err, sizeof(err));
	if (rc != 0)
		return keys_failed(file, rc, err);
	keys_print_file(cli, file, "created with current key", id);
	return CTL_EXIT_OK;
}

/* keys rotate FILE: a new current key, the old current kept as previous. */
static int keys_rotate(const struct ctl_cli *cli)
{
	const char *file = cli->arg[1];
	char err[DP_KEYS_ERR_MAX] = "";
	uint8_t id = 0;
	int rc = dp_keys_rotate_file(file, &id, err, sizeof(err));
	if (rc != 0)
		return keys_failed(file, rc, err);
	keys_print_file(cli, file, "rotated, current key", id);
	return CTL_EXIT_OK;
}

/* keys reload: stampede-control's `keys-reload`; prints the count and current id. */
static int keys_reload(const struct ctl_cli *cli)
{
	json_t *reply, *current;
	json_int_t n;
	int rc = ctl_cli_request(cli, ctl_cli_req(cli, "keys-reload"), &reply);
	if (rc || (rc = ctl_cli_unpack(reply, "keys-reload", "{s:I, s:o}", "keys", &n, "current", &current)))
		return rc;
	if (!json_is_null(current) && !json_is_integer(current))
		return ctl_cli_bad_reply("keys-reload.current: expected an integer or null");
	if (cli->json)
		ctl_cli_print_reply(reply);
	else if (json_is_null(current))
		printf("keys reloaded: none (keys-file none)\n");
	else
		printf("keys reloaded: %" JSON_INTEGER_FORMAT " key%s, current %" JSON_INTEGER_FORMAT "\n", n,
		       n == 1 ? "" : "s", json_integer_value(current));
	return CTL_EXIT_OK;
}

/* keys ACTION [FILE]: the action was checked by stampedectl.c's check_command. */
int ctl_cli_keys(const struct ctl_cli *cli)
{
	const char *action = cli->arg[0];
	if (!strcmp(action, "generate"))
		return keys_generate(cli);
	if (!strcmp(action, "rotate"))
		return keys_rotate(cli);
	return keys_reload(cli);
}
