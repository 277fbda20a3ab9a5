/*
 * stampedectl.c - the operator's command line (docs/stampedectl.md,
 * docs/stampedectl.1): the command table, option parsing and help.
 *
 *   stampedectl [--socket PATH] [--timeout SECONDS] [--json] COMMAND [ARGS]
 *
 * `validate FILE` works offline (ctl_cli_validate.c); every other command
 * talks to stampede-control over its socket (docs/control.md, "Control
 * socket"; ctl_cli_call.c): status and watch (ctl_cli_status.c), events
 * (ctl_cli_events.c), load, open, pause, close, set and release-holds
 * (ctl_cli_ops.c), holds (ctl_cli_holds.c), export (ctl_cli_export.c) and
 * presale (ctl_cli_presale.c); validate and load read the inventory's member
 * lists (ctl_cli_members.c).
 * `keys` (ctl_cli_keys.c) generates and rotates a key file offline and
 * reloads the dataplane's keys through stampede-control.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_cli.h"
#include "control/ctl_duration.h"
#include "control/ctl_inventory.h"
#include "control/ctl_wire.h"

const char *const ctl_cli_prog = "stampedectl";

#define ENV_SOCKET "STAMPEDE_CONTROL_SOCKET"

/* Command options (bit masks: a command lists the ones it accepts). */
enum {
	OPT_ALL = 1u << 0,
	OPT_SECTION = 1u << 1,
	OPT_OLDER_THAN = 1u << 2,
	OPT_LIMIT = 1u << 3,
	OPT_FORMAT = 1u << 4,
	OPT_OUTPUT = 1u << 5,
	OPT_INTERVAL = 1u << 6,
	OPT_COUNT = 1u << 7,
	OPT_MAX_ACTIVE = 1u << 8,
	OPT_ADMISSION = 1u << 9,
	OPT_KEY_ID = 1u << 10,
	OPT_CODES = 1u << 11,
};

struct option_def {
	unsigned id;
	const char *name;  /* "--section" */
	const char *alias; /* "-o", or NULL */
	const char *value; /* metavariable, or NULL for a flag */
	const char *help;
};

static const struct option_def options[] = {
	{OPT_ALL, "--all", NULL, NULL, "every event"},
	{OPT_SECTION, "--section", NULL, "ID", "only this part (section or general-admission type id) of EVENT"},
	{OPT_OLDER_THAN, "--older-than", NULL, "DURATION", "only holds older than DURATION (90s, 10m, 1h30m, 500ms)"},
	{OPT_LIMIT, "--limit", NULL, "N", "show at most N holds (1..100000, default 1000)"},
	{OPT_FORMAT, "--format", NULL, "csv|json", "output format (default csv; --json means json)"},
	{OPT_OUTPUT, "--output", "-o", "FILE", "write to FILE (replaced only once complete) instead of standard output"},
	{OPT_INTERVAL, "--interval", NULL, "SECONDS", "seconds between frames, decimals allowed (default 2)"},
	{OPT_COUNT, "--count", NULL, "N", "stop after N frames (default: until Ctrl-C)"},
	{OPT_MAX_ACTIVE, "--max-active", NULL, "N", "admitted buyers shopping at once (1..1000000)"},
	{OPT_ADMISSION, "--admission-rate", NULL, "N", "buyers admitted per second (1..1000000)"},
	{OPT_KEY_ID, "--id", NULL, "N", "generate: the new key's id (0..255, default 1)"},
	{OPT_CODES, "--codes", NULL, NULL, "also one row per access code and member, with its uses"},
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

enum { ARG_NONE = 0, ARG_FILE, ARG_EVENT };

struct command {
	const char *name;
	const char *args;           /* usage after the name */
	unsigned min_args, max_args; /* positional arguments it takes */
	int arg_kind;               /* ARG_FILE or ARG_EVENT: what the positional argument is */
	unsigned opts;              /* OPT_* it accepts */
	bool remote;                /* talks to stampede-control */
	const char *summary;        /* one line for the command list */
	const char *help;           /* what it does, for `help COMMAND` */
	int (*run)(const struct ctl_cli *cli);
};

static const struct command commands[] = {
	{"status", "[EVENT]", 0, 1, ARG_EVENT, 0, true, "sale state, tickets, queue, traffic and latency per event",
	 "Show, per event (or only EVENT): id, name, sale state, capacity, free, held and sold\n"
	 "tickets, waiting-room queue length, admitted buyers, active shoppers, buyer requests per\n"
	 "second (last 2 s) and refusals by reason (every status other than ok that is not zero).\n"
	 "Then one line of request latency (p50/p99, upper bounds of histogram buckets), storage\n"
	 "(batches, records, commit latency p50/p99) and the control process's sweep. With --json,\n"
	 "stampede-control's reply as it came (without \"ok\"), plus \"summary\" with the quantiles.",
	 ctl_cli_status},
	{"events", "", 0, 0, ARG_NONE, 0, true, "one line per loaded event",
	 "List the loaded events: id, name, sale state, on-sale time, hold TTL, buyer limit,\n"
	 "capacity and parts (sections and general-admission types). With --json, stampede-control's\n"
	 "reply (without \"ok\").",
	 ctl_cli_events},
	{"validate", "FILE", 1, 1, ARG_FILE, 0, false, "check an inventory file offline and summarise what it sells",
	 "Read the inventory file FILE (docs/inventory.md) and check all of it, without a control\n"
	 "process or a dataplane. A good file is summarised: per event its id and name, total\n"
	 "capacity, hold TTL, buyer limit, on-sale time, waiting-room settings, price tiers, sections\n"
	 "(rows, seats, accessible and withheld seats), general-admission types with their\n"
	 "capacities, and presale windows (access codes and the members of each member list,\n"
	 "read relative to FILE's directory, are counted, not shown). A bad file gives the\n"
	 "loader's one-line error on standard error,\n"
	 "\n"
	 "  FILE: JSON_PATH: what is wrong (expected WHAT)\n"
	 "\n"
	 "and exit status 1. With --json the summary is one JSON object with \"valid\": true, or\n"
	 "{\"valid\": false, \"error\": \"...\"} for a bad file (the error line is on standard error\n"
	 "too).",
	 ctl_cli_validate},
	{"load", "FILE", 1, 1, ARG_FILE, 0, true, "validate an inventory file, then load it into the dataplane",
	 "Check FILE and its member lists as `validate` does; a bad file gives the loader's error\n"
	 "line and exit status 1 and nothing is sent. A good file is sent whole, with its member\n"
	 "lists, to stampede-control (named by its base name), which loads it all or nothing. Each event is then printed with its action: added,\n"
	 "reloaded (settings changed, holds and orders kept) or unchanged. A refused load\n"
	 "(invalid, layout_changed: a section or type added, removed or resized) gives the\n"
	 "control process's message on standard error and exit status 1.",
	 ctl_cli_load},
	{"open", "EVENT", 1, 1, ARG_EVENT, 0, true, "open EVENT's sale now",
	 "Open the sale of EVENT at once (also a scheduled one). Prints the new state.", ctl_cli_open},
	{"pause", "EVENT", 1, 1, ARG_EVENT, 0, true, "pause EVENT's sale (new holds refused)",
	 "Pause the sale of EVENT: new holds are refused with status closed; buyers holding\n"
	 "tickets may still confirm or release them. `open` resumes it. Prints the new state.",
	 ctl_cli_pause},
	{"close", "EVENT", 1, 1, ARG_EVENT, 0, true, "close EVENT's sale",
	 "Close the sale of EVENT: new holds are refused with status closed; confirms and\n"
	 "releases of existing holds go on. Prints the new state.",
	 ctl_cli_close},
	{"release-holds", "(EVENT | --all)", 0, 1, ARG_EVENT, OPT_ALL | OPT_SECTION | OPT_OLDER_THAN, true,
	 "release live holds now (operator release)",
	 "End live holds at once and give their tickets back to sale: those of EVENT, or of every\n"
	 "event with --all, optionally only in one part (--section) and only those older than a\n"
	 "duration (--older-than). Prints how many were released and how many ended meanwhile\n"
	 "(confirmed, released or expired while the request ran). Example, 30 minutes into a sale:\n"
	 "\n"
	 "  stampedectl release-holds 2016 --older-than 10m",
	 ctl_cli_release_holds},
	{"set", "EVENT", 1, 1, ARG_EVENT, OPT_MAX_ACTIVE | OPT_ADMISSION, true,
	 "change EVENT's waiting-room pacing",
	 "Change how many admitted buyers may shop at once (--max-active) and how many are\n"
	 "admitted per second (--admission-rate); give at least one. Durable: a restart keeps them.\n"
	 "Prints both values as they now are.",
	 ctl_cli_set},
	{"export", "[EVENT]", 0, 1, ARG_EVENT, OPT_FORMAT | OPT_OUTPUT, true, "every sold ticket, CSV or JSON",
	 "Export one row per sold ticket, from the durable log (what an auditor checks the sale\n"
	 "against), of EVENT or of every event:\n"
	 "\n"
	 "  order_id,hold_id,event,part,part_name,kind,row,seat,serial,client_id,tier,tier_name,\n"
	 "  price_cents,time\n"
	 "\n"
	 "CSV per RFC 4180 (a heading line, CRLF line ends, fields with a comma, quote or line\n"
	 "break in double quotes, quotes doubled); row and seat are empty for a general-admission\n"
	 "ticket, serial for a seat; time is ISO 8601 UTC with milliseconds. --format json (or\n"
	 "--json) gives a JSON array of objects with the same keys (null where CSV is empty), one\n"
	 "object per line.",
	 ctl_cli_export},
	{"holds", "[EVENT]", 0, 1, ARG_EVENT, OPT_SECTION | OPT_OLDER_THAN | OPT_LIMIT, true, "list live holds",
	 "List live holds (durable ones), in the order stampede-control gives them: hold id,\n"
	 "event, part, client id, tickets, age and time until expiry. --section needs EVENT. The\n"
	 "last line says how many of how many were shown. With --json, the reply (without \"ok\").",
	 ctl_cli_holds},
	{"watch", "[EVENT]", 0, 1, ARG_EVENT, OPT_INTERVAL | OPT_COUNT, true, "status, refreshed every few seconds",
	 "Show the status table again every --interval seconds until Ctrl-C, or --count frames. On\n"
	 "a terminal the screen is cleared between frames; otherwise frames are separated by a\n"
	 "blank line (with --json: one JSON object per line and frame). Ctrl-C exits 0.",
	 ctl_cli_watch},
	{"presale", "EVENT", 1, 1, ARG_EVENT, OPT_CODES, true, "EVENT's presale windows and their redemptions",
	 "Show EVENT's presale windows (docs/waiting-room.md, \"Presale windows\"): index and\n"
	 "name, start and end (UTC), the access codes and members in each (CODES), their uses\n"
	 "added up (USES) and the uses redeemed so far, durably (USED). With --codes, also one\n"
	 "row per code or member with its uses and redemptions (the dataplane sends at most 4096\n"
	 "rows; a last line says so when the list was cut). With --json, the reply (without\n"
	 "\"ok\").",
	 ctl_cli_presale},
	{"keys", "ACTION [FILE]", 1, 2, ARG_NONE, OPT_KEY_ID, true,
	 "waiting-room keys: generate FILE, rotate FILE, reload",
	 "Manage the waiting-room key file (docs/waiting-room.md, \"Key file\"):\n"
	 "\n"
	 "  keys generate FILE [--id N]  create FILE (it must not exist) with one random key, id N,\n"
	 "                               mode 0600; works offline\n"
	 "  keys rotate FILE             make a new random key current, keep the old current as\n"
	 "                               previous, drop the older one; the file is replaced\n"
	 "                               atomically. Prints the new current id. Works offline\n"
	 "  keys reload                  have the dataplane read its keys-file again (through\n"
	 "                               stampede-control); prints the key count and current id\n"
	 "\n"
	 "Rotate, then reload. A refused file (exists, bad mode or owner, bad content) gives the\n"
	 "loader's message (FILE:LINE: ...) on standard error and exit status 1; the file is left\n"
	 "as it was, and a refused reload keeps the dataplane's old keys.",
	 ctl_cli_keys},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- messages ---- */

static const char exit_status_text[] =
	"Exit status:\n"
	"  0  ok\n"
	"  1  invalid input, or refused by stampede-control (not_found, invalid, layout_changed,\n"
	"     bad_request, busy, unavailable...)\n"
	"  2  usage error\n"
	"  3  control process unreachable: cannot connect, no reply in time (--timeout), or the\n"
	"     dataplane does not answer it (error unreachable)\n"
	"  4  internal error: out of memory, unexpected reply, output cannot be written\n";

/* The command list with one line each. */
static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--socket PATH] [--timeout SECONDS] [--json] COMMAND [ARGS]\n"
		"       %s help [COMMAND]\n"
		"       %s COMMAND --help\n"
		"\n"
		"Commands:\n",
		ctl_cli_prog, ctl_cli_prog, ctl_cli_prog);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
		fprintf(f, "  %-24s %s\n", head, commands[i].summary);
	}
	fprintf(f, "  %-24s %s\n", "help [COMMAND]", "show this help, or a command's");
}

static const char global_options_text[] =
	"  --socket PATH      stampede-control's socket (default: $" ENV_SOCKET ", else\n"
	"                     " CTL_CONTROL_SOCKET_DEFAULT ")\n"
	"  --timeout SECONDS  wait at most this long for a reply (default 30, decimals allowed)\n"
	"  --json             print JSON on standard output, for scripts\n"
	"  -h, --help         show this help; after a command, that command's help\n"
	"  --                 end of options: the next arguments are not options\n";

/* `stampedectl --help`: the commands, the global options, the exit status. */
static void full_help(void)
{
	printf("%s - operator's command line for Stampede\n\n", ctl_cli_prog);
	usage(stdout);
	printf("\n"
	       "validate, keys generate and keys rotate work offline. status, events, load, open, pause,\n"
	       "close, release-holds, set, export, holds, watch, presale and keys reload talk to the\n"
	       "control process (stampede-control).\n"
	       "\n"
	       "Options (before or after the command):\n"
	       "%s"
	       "\n"
	       "%s"
	       "\n"
	       "See stampedectl(1), docs/stampedectl.md, docs/control.md and docs/inventory.md.\n",
	       global_options_text, exit_status_text);
}

/* `stampedectl help COMMAND`: its usage, what it does, its options, the exit status. */
static void command_help(const struct command *cmd)
{
	printf("Usage: %s [--json] %s %s", ctl_cli_prog, cmd->name, cmd->args);
	for (size_t i = 0; i < N_OPTIONS; i++)
		if ((cmd->opts & options[i].id) && options[i].id != OPT_ALL)
			printf(" [%s%s%s]", options[i].name, options[i].value ? " " : "",
			       options[i].value ? options[i].value : "");
	printf("\n\n%s\n", cmd->help);
	if (cmd->opts) {
		printf("\nOptions:\n");
		for (size_t i = 0; i < N_OPTIONS; i++) {
			if (!(cmd->opts & options[i].id))
				continue;
			char head[64];
			snprintf(head, sizeof(head), "%s%s%s%s%s", options[i].alias ? options[i].alias : "",
				 options[i].alias ? ", " : "", options[i].name, options[i].value ? " " : "",
				 options[i].value ? options[i].value : "");
			printf("  %-22s %s\n", head, options[i].help);
		}
	}
	printf("\nGlobal options:\n%s", global_options_text);
	if (!cmd->remote)
		printf("  (%s works offline: --socket and --timeout are ignored)\n", cmd->name);
	printf("\n%s", exit_status_text);
}

/* Print "stampedectl: MESSAGE", the usage, and exit 2. */
void ctl_cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", ctl_cli_prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	usage(stderr);
	fprintf(stderr, "Run '%s --help' for options and exit status.\n", ctl_cli_prog);
	exit(CTL_EXIT_USAGE);
}

/* Print "stampedectl: what" and exit 4. */
void ctl_cli_internal_error(const char *what)
{
	fprintf(stderr, "%s: %s\n", ctl_cli_prog, what);
	exit(CTL_EXIT_INTERNAL);
}

/* ---- values on the command line ---- */

/* A decimal integer min..max for what (an option or argument name); anything else is a usage error. */
static uint64_t parse_uint(const char *what, const char *s, uint64_t min, uint64_t max)
{
	errno = 0;
	char *end = NULL;
	unsigned long long v = (s[0] >= '0' && s[0] <= '9') ? strtoull(s, &end, 10) : 0;
	if (!end || *end || errno || v < min || v > max)
		ctl_cli_usage_error("%s: '%s' is not a number %" PRIu64 "..%" PRIu64, what, s, min, max);
	return v;
}

/* Seconds as a decimal number ("2", "0.5") to ms, within the --timeout/--interval bounds. */
static uint64_t parse_seconds(const char *what, const char *s)
{
	char *end = NULL;
	double v = (s[0] >= '0' && s[0] <= '9') || s[0] == '.' ? strtod(s, &end) : NAN;
	double ms = v * 1000.0;
	if (!end || *end || !isfinite(v) || ms < CTL_CLI_SECONDS_MS_MIN || ms > CTL_CLI_SECONDS_MS_MAX)
		ctl_cli_usage_error("%s: '%s' is not a number of seconds %g..%g", what, s,
				    CTL_CLI_SECONDS_MS_MIN / 1000.0, CTL_CLI_SECONDS_MS_MAX / 1000.0);
	return (uint64_t)llround(ms);
}

/* Store the value of command option o in cli. */
static void set_option(struct ctl_cli *cli, const struct option_def *o, const char *v)
{
	char err[CTL_DURATION_ERR_MAX];
	switch (o->id) {
	case OPT_ALL:
		cli->all = true;
		break;
	case OPT_SECTION:
		cli->section = (uint32_t)parse_uint(o->name, v, 0, CTL_CLI_ID_MAX);
		cli->has_section = true;
		break;
	case OPT_OLDER_THAN:
		if (ctl_duration_parse(v, &cli->older_than_ms, err, sizeof(err)) != 0)
			ctl_cli_usage_error("%s: %s", o->name, err);
		cli->has_older_than = true;
		break;
	case OPT_LIMIT:
		cli->limit = (uint32_t)parse_uint(o->name, v, 1, CTL_CLI_HOLDS_LIMIT_MAX);
		cli->has_limit = true;
		break;
	case OPT_FORMAT:
		if (!strcmp(v, "csv"))
			cli->format = CTL_FORMAT_CSV;
		else if (!strcmp(v, "json"))
			cli->format = CTL_FORMAT_JSON;
		else
			ctl_cli_usage_error("%s: '%s' is not csv or json", o->name, v);
		break;
	case OPT_OUTPUT:
		if (!v[0])
			ctl_cli_usage_error("%s: empty file name", o->name);
		cli->output = v;
		break;
	case OPT_INTERVAL:
		cli->interval_ms = parse_seconds(o->name, v);
		break;
	case OPT_COUNT:
		cli->count = parse_uint(o->name, v, 1, CTL_CLI_COUNT_MAX);
		break;
	case OPT_MAX_ACTIVE:
		cli->max_active = (uint32_t)parse_uint(o->name, v, 1, CTL_WR_SHOPPERS_MAX);
		cli->has_max_active = true;
		break;
	case OPT_ADMISSION:
		cli->admission_per_s = (uint32_t)parse_uint(o->name, v, 1, CTL_WR_ADMISSION_MAX);
		cli->has_admission = true;
		break;
	case OPT_CODES:
		cli->codes = true;
		break;
	case OPT_KEY_ID:
		cli->key_id = (uint8_t)parse_uint(o->name, v, 0, CTL_CLI_KEY_ID_MAX);
		cli->has_key_id = true;
		break;
	default:
		ctl_cli_internal_error("unknown option id");
	}
}

/* ---- command line ---- */

/* The command called name, or NULL. */
static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* The command option spelt a (up to '=' when eq is set), or NULL. */
static const struct option_def *find_option(const char *a, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];
		if ((strlen(o->name) == len && !strncmp(a, o->name, len)) ||
		    (o->alias && strlen(o->alias) == len && !strncmp(a, o->alias, len)))
			return o;
	}
	return NULL;
}

/* Exit status after the output is flushed: a lost write is an internal error. */
static int finish(int code)
{
	ctl_cli_disconnect();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write output: %s\n", ctl_cli_prog, strerror(errno));
		return CTL_EXIT_INTERNAL;
	}
	return code;
}

/* The value of option name at argv[*i] ("--name=V" or "--name V"); a missing one is a usage error. */
static const char *option_value(int argc, char **argv, int *i, const char *name, const char *eq)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc)
		ctl_cli_usage_error("%s needs a value", name);
	return argv[++*i];
}

/* keys: a known action, FILE for generate and rotate only, --id for generate only. */
static void check_keys(const struct ctl_cli *cli)
{
	const char *a = cli->arg[0];
	bool file = !strcmp(a, "generate") || !strcmp(a, "rotate");
	if (!file && strcmp(a, "reload") != 0)
		ctl_cli_usage_error("keys: unknown action '%s' (generate, rotate or reload)", a);
	if (file && cli->nargs != 2)
		ctl_cli_usage_error("keys %s needs FILE (usage: %s keys %s FILE)", a, ctl_cli_prog, a);
	if (!file && cli->nargs != 1)
		ctl_cli_usage_error("keys reload takes no FILE (it reloads the dataplane's keys-file)");
	if (cli->has_key_id && strcmp(a, "generate") != 0)
		ctl_cli_usage_error("--id is for keys generate only");
}

/* Checks of a command line that the table cannot express. */
static void check_command(const struct command *cmd, struct ctl_cli *cli)
{
	if (cli->nargs < cmd->min_args)
		ctl_cli_usage_error("%s needs %s (usage: %s %s %s)", cmd->name, cmd->args, ctl_cli_prog, cmd->name,
				    cmd->args);
	if (cmd->arg_kind == ARG_EVENT && cli->nargs == 1) {
		cli->event = (uint32_t)parse_uint("EVENT", cli->arg[0], 1, CTL_CLI_ID_MAX);
		cli->has_event = true;
	}
	if (cmd->run == ctl_cli_release_holds && cli->has_event == cli->all)
		ctl_cli_usage_error("release-holds needs EVENT or --all (not both)");
	if (cli->has_section && !cli->has_event)
		ctl_cli_usage_error("--section needs EVENT (section ids belong to an event)");
	if (cmd->run == ctl_cli_set && !cli->has_max_active && !cli->has_admission)
		ctl_cli_usage_error("set needs --max-active N or --admission-rate N (or both)");
	if (cmd->run == ctl_cli_keys)
		check_keys(cli);
	if (cmd->run == ctl_cli_export && cli->json)
		cli->format = CTL_FORMAT_JSON;
	if (cmd->run == ctl_cli_export && cli->format == CTL_FORMAT_TABLE)
		cli->format = CTL_FORMAT_CSV;
}

int main(int argc, char **argv)
{
	struct ctl_cli cli;
	memset(&cli, 0, sizeof(cli));
	cli.timeout_ms = CTL_CLI_TIMEOUT_MS_DEFAULT;
	cli.interval_ms = CTL_CLI_INTERVAL_MS_DEFAULT;
	const struct command *cmd = NULL;
	bool help = false, is_help_cmd = false, opts_done = false;
	const char *help_topic = NULL, *socket_opt = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!opts_done && a[0] == '-' && a[1] != '\0') {
			const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
			size_t len = eq ? (size_t)(eq - a) : strlen(a);
			if (!strcmp(a, "--")) {
				opts_done = true;
			} else if (!strcmp(a, "--json")) {
				cli.json = true;
			} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				help = true;
			} else if (len == 8 && !strncmp(a, "--socket", len)) {
				socket_opt = option_value(argc, argv, &i, "--socket", eq);
			} else if (len == 9 && !strncmp(a, "--timeout", len)) {
				cli.timeout_ms = (int)parse_seconds("--timeout", option_value(argc, argv, &i, "--timeout", eq));
			} else {
				const struct option_def *o = find_option(a, len);
				if (!o || !cmd || !(cmd->opts & o->id))
					ctl_cli_usage_error("unknown option '%.*s'%s%s", (int)len, a, cmd ? " for " : "",
							    cmd ? cmd->name : "");
				if (!o->value && eq)
					ctl_cli_usage_error("%s takes no value", o->name);
				set_option(&cli, o, o->value ? option_value(argc, argv, &i, o->name, eq) : NULL);
			}
			continue;
		}
		if (!cmd && !is_help_cmd) {
			if (!strcmp(a, "help")) {
				is_help_cmd = true;
				continue;
			}
			cmd = find_command(a);
			if (!cmd)
				ctl_cli_usage_error("unknown command '%s'", a);
			continue;
		}
		if (is_help_cmd) {
			if (help_topic)
				ctl_cli_usage_error("help takes one command name at most");
			help_topic = a;
			continue;
		}
		if (cli.nargs >= cmd->max_args)
			ctl_cli_usage_error("too many arguments for %s (usage: %s %s %s)", cmd->name, ctl_cli_prog,
					    cmd->name, cmd->args);
		cli.arg[cli.nargs++] = a;
	}

	if (is_help_cmd) {
		if (!help_topic) {
			full_help();
			return finish(CTL_EXIT_OK);
		}
		const struct command *c = find_command(help_topic);
		if (!c)
			ctl_cli_usage_error("unknown command '%s'", help_topic);
		command_help(c);
		return finish(CTL_EXIT_OK);
	}
	if (help) {
		if (cmd)
			command_help(cmd);
		else
			full_help();
		return finish(CTL_EXIT_OK);
	}
	if (!cmd)
		ctl_cli_usage_error("no command given");
	check_command(cmd, &cli);
	const char *env = getenv(ENV_SOCKET);
	cli.socket_path = socket_opt ? socket_opt : env && env[0] ? env : CTL_CONTROL_SOCKET_DEFAULT;
	return finish(cmd->run(&cli));
}
