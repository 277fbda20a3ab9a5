/*
 * ctl_cli.h - stampedectl's internals, shared by its source files
 * (control/stampedectl.c and control/ctl_cli_*.c). Not a library: only the
 * stampedectl executable links these files.
 *
 * Error convention: the command functions return an exit status (CTL_EXIT_*)
 * and have already printed one line on standard error when it is not 0.
 */
#ifndef STAMPEDE_CTL_CLI_H
#define STAMPEDE_CTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes (documented in --help, docs/stampedectl.1 and docs/stampedectl.md). */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_INVALID = 1,     /* invalid input, or refused by the control process */
	CTL_EXIT_USAGE = 2,       /* bad command line */
	CTL_EXIT_UNREACHABLE = 3, /* control process (or its dataplane) unreachable, or no reply in time */
	CTL_EXIT_INTERNAL = 4,    /* out of memory, unexpected reply, output cannot be written */
};

#define CTL_CLI_ARGS_MAX 2                 /* positional arguments of one command */
#define CTL_CLI_TIMEOUT_MS_DEFAULT 30000   /* wait for a reply, default of --timeout */
#define CTL_CLI_SECONDS_MS_MIN 100         /* --timeout and --interval, at least */
#define CTL_CLI_SECONDS_MS_MAX 3600000     /* --timeout and --interval, at most */
#define CTL_CLI_INTERVAL_MS_DEFAULT 2000   /* watch --interval default */
#define CTL_CLI_HOLDS_LIMIT_MAX 100000     /* holds --limit, at most (docs/control.md) */
#define CTL_CLI_COUNT_MAX 1000000000u      /* watch --count, at most */
#define CTL_CLI_ID_MAX UINT32_MAX          /* event and section ids are 32-bit */
#define CTL_CLI_ERR_MAX 4096               /* one error line, bytes with the NUL */
#define CTL_CLI_KEY_ID_MAX 255             /* keys generate --id, at most (key ids are one byte) */
#define CTL_CLI_KEY_ID_DEFAULT 1           /* keys generate without --id */

enum ctl_cli_format { CTL_FORMAT_TABLE = 0, CTL_FORMAT_CSV, CTL_FORMAT_JSON };

/* The parsed command line. */
struct ctl_cli {
	bool json;
	const char *socket_path; /* --socket, else $STAMPEDE_CONTROL_SOCKET, else the default */
	int timeout_ms;
	const char *arg[CTL_CLI_ARGS_MAX];
	unsigned nargs;
	bool has_event;
	uint32_t event; /* arg[0] of a command taking EVENT */
	/* command options; has_* says whether one was given */
	bool all;
	bool codes; /* presale --codes */
	bool has_section, has_older_than, has_limit, has_max_active, has_admission, has_key_id;
	uint32_t section;
	uint64_t older_than_ms;
	uint32_t limit;
	uint32_t max_active, admission_per_s;
	uint8_t key_id;        /* keys generate --id */
	int format;            /* enum ctl_cli_format for export: CSV unless --format json or --json */
	const char *output;    /* export -o FILE, NULL: standard output */
	uint64_t interval_ms;  /* watch */
	uint64_t count;        /* watch frames, 0: until Ctrl-C */
};

/* ---- stampedectl.c ---- */
extern const char *const ctl_cli_prog;
/* Print "stampedectl: MESSAGE", the usage, and exit 2. */
void ctl_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Print "stampedectl: what" and exit 4 (out of memory and the like). */
void ctl_cli_internal_error(const char *what) __attribute__((noreturn));

/* ---- ctl_cli_out.c: formatting, tables, JSON building ---- */
void *ctl_cli_calloc(size_t n, size_t size);
void ctl_cli_fmt_time(char *buf, size_t len, uint64_t ms);    /* RFC 3339 UTC, ms only when non-zero */
void ctl_cli_fmt_time_ms(char *buf, size_t len, uint64_t ms); /* ISO 8601 UTC, always .mmm */
void ctl_cli_fmt_duration(char *buf, size_t len, uint64_t ms); /* "1h30m", "500ms", "0s" */
void ctl_cli_fmt_price(char *buf, size_t len, uint64_t cents);
uint64_t ctl_cli_now_ms(void); /* wall clock, Unix ms */

enum { CTL_ALIGN_LEFT = 0, CTL_ALIGN_RIGHT = 1 };
#define CTL_TABLE_COLS_MAX 16

struct ctl_table {
	unsigned ncols;
	const char *head[CTL_TABLE_COLS_MAX];
	int align[CTL_TABLE_COLS_MAX];
	size_t nrows, cap;
	char **cells; /* nrows * ncols */
};
void ctl_table_init(struct ctl_table *t, unsigned ncols, const char *const *head, const int *align);
void ctl_table_row(struct ctl_table *t, const char *const *cells); /* cells are copied */
void ctl_table_print(const struct ctl_table *t, const char *indent);
void ctl_table_free(struct ctl_table *t);

void ctl_cli_jset(json_t *o, const char *key, json_t *v); /* takes v; failures end in ctl_cli_json_out */
void ctl_cli_jappend(json_t *a, json_t *v);
json_t *ctl_cli_jobj(void);
json_t *ctl_cli_jarr(void);
json_t *ctl_cli_jstr(const char *s); /* bytes that are not UTF-8 become '?' */
json_t *ctl_cli_jint(uint64_t v);
void ctl_cli_json_out(json_t *o); /* one line on stdout, then frees o; exit 4 if it cannot */

/* ---- ctl_cli_call.c: talking to stampede-control ---- */
/*
 * Send req (taken: it is freed) to the control process and wait for its
 * reply. Connects on first use; the connection is kept for the next request
 * (watch). Returns CTL_EXIT_OK and *reply (borrowed: valid until the next
 * request or ctl_cli_disconnect) for {"ok": true, ...}, or an exit status
 * after one line on standard error:
 *   1  {"ok": false, "error": CODE} with any CODE but "unreachable"
 *   3  cannot connect, closed without replying, no reply within the timeout,
 *      or error "unreachable" (the dataplane does not answer)
 *   4  out of memory, a reply that is not framed JSON, cut short, or lacks ok
 */
int ctl_cli_request(const struct ctl_cli *cli, json_t *req, json_t **reply);
/* Close the connection and drop the last reply. */
void ctl_cli_disconnect(void);
/*
 * json_unpack_ex(v, fmt, ...) for a reply: 0, or CTL_EXIT_INTERNAL after
 * "stampedectl: unexpected reply from stampede-control: WHERE: why".
 */
int ctl_cli_unpack(const json_t *v, const char *where, const char *fmt, ...);
/* Report a reply that is not what docs/control.md says; returns CTL_EXIT_INTERNAL. */
int ctl_cli_bad_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A request {"cmd": cmd}, plus "event" when cli has one. */
json_t *ctl_cli_req(const struct ctl_cli *cli, const char *cmd);
/* Print the reply without "ok" as one JSON line (the --json output of most commands). */
void ctl_cli_print_reply(const json_t *reply);

/* ---- the commands ---- */
struct ctl_inventory;
/* Load an inventory file offline (ctl_inventory_load). On failure print the
 * loader's line on stderr, copy it to err (errlen bytes) and return the exit
 * code (CTL_EXIT_INVALID, or CTL_EXIT_INTERNAL on ENOMEM); 0 and *inv on success. */
int ctl_cli_inventory_load(const char *file, struct ctl_inventory **inv, char *err, size_t errlen);
/* ---- ctl_cli_members.c: the presale member lists of an inventory ---- */
struct ctl_members_text;
/*
 * Read every distinct members_file of inv (relative to inv_file's directory;
 * absolute as is; at most CTL_MEMBERS_BYTES_MAX bytes), check each list and
 * attach them all (ctl_inventory_attach_members). 0 and *texts_out (n_out
 * entries, file as the inventory writes it; ctl_cli_members_free them), or
 * CTL_EXIT_INVALID after one line on stderr, also copied to err.
 */
int ctl_cli_members_attach(const char *inv_file, struct ctl_inventory *inv, struct ctl_members_text **texts_out,
			   size_t *n_out, char *err, size_t errlen);
void ctl_cli_members_free(struct ctl_members_text *texts, size_t n);

int ctl_cli_validate(const struct ctl_cli *cli);      /* ctl_cli_validate.c */
int ctl_cli_status(const struct ctl_cli *cli);        /* ctl_cli_status.c */
int ctl_cli_watch(const struct ctl_cli *cli);         /* ctl_cli_status.c */
int ctl_cli_events(const struct ctl_cli *cli);        /* ctl_cli_events.c */
int ctl_cli_load(const struct ctl_cli *cli);          /* ctl_cli_ops.c */
int ctl_cli_open(const struct ctl_cli *cli);          /* ctl_cli_ops.c */
int ctl_cli_pause(const struct ctl_cli *cli);         /* ctl_cli_ops.c */
int ctl_cli_close(const struct ctl_cli *cli);         /* ctl_cli_ops.c */
int ctl_cli_set(const struct ctl_cli *cli);           /* ctl_cli_ops.c */
int ctl_cli_release_holds(const struct ctl_cli *cli); /* ctl_cli_ops.c */
int ctl_cli_holds(const struct ctl_cli *cli);         /* ctl_cli_holds.c */
int ctl_cli_export(const struct ctl_cli *cli);        /* ctl_cli_export.c */
int ctl_cli_keys(const struct ctl_cli *cli);          /* ctl_cli_keys.c */
int ctl_cli_presale(const struct ctl_cli *cli);       /* ctl_cli_presale.c */

/* ---- ctl_cli_status.c, for tests of the arithmetic through the status output ---- */
/*
 * The q-quantile (0 < q <= 1) of a histogram {"le": [...], "counts": [...]}
 * as in docs/control.md: the upper bound of the bucket holding it. Returns 1
 * and *le_out, 0 when the histogram is empty, 2 when the quantile falls in
 * the +Inf bucket (*le_out: the last finite bound), -1 if hist is malformed.
 */
int ctl_cli_quantile(const json_t *hist, double q, double *le_out);

#endif
