/*
 * ctl_cli_status.c - `stampedectl status [EVENT]` and `stampedectl watch`:
 * stampede-control's status reply (docs/control.md, "status reply" and
 * "Control socket") as a table per event plus a latency/storage line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_cli.h"

#define REFUSALS_TEXT_MAX 512 /* the REFUSALS cell, bytes with the NUL */
#define WHERE_MAX 64          /* "events[12]" and the like */

/* The q-quantile of a histogram as the upper bound of its bucket (ctl_cli.h). */
int ctl_cli_quantile(const json_t *hist, double q, double *le_out)
{
	const json_t *le = json_object_get(hist, "le"), *counts = json_object_get(hist, "counts");
	if (!json_is_array(le) || !json_is_array(counts) || json_array_size(le) != json_array_size(counts))
		return -1;
	size_t n = json_array_size(counts);
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(counts, i), *b = json_array_get(le, i);
		if (!json_is_integer(c) || json_integer_value(c) < 0)
			return -1;
		if (!json_is_number(b) && !(json_is_null(b) && i + 1 == n))
			return -1;
		total += (double)json_integer_value(c);
	}
	if (total == 0)
		return 0;
	double rank = ceil(q * total), seen = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(le, i);
		seen += (double)json_integer_value(json_array_get(counts, i));
		if (json_is_null(b)) {
			*le_out = last;
			return 2;
		}
		last = json_number_value(b);
		if (seen >= rank) {
			*le_out = last;
			return 1;
		}
	}
	return -1; /* counts add up to more than the buckets hold: cannot happen */
}

/* A quantile in microseconds as text: "64us", "2.05ms", ">65.5ms" (above the last bound), "-" (none). */
static void fmt_quantile(char *buf, size_t len, int rc, double us)
{
	if (rc == 0) {
		snprintf(buf, len, "-");
		return;
	}
	const char *gt = rc == 2 ? ">" : "";
	if (us < 1000)
		snprintf(buf, len, "%s%gus", gt, us);
	else
		snprintf(buf, len, "%s%.3gms", gt, us / 1000);
}

/* Check a histogram of the reply; 0 or an exit status after the message. */
static int check_hist(const json_t *hist, const char *where)
{
	double le;
	if (!json_is_object(hist) || ctl_cli_quantile(hist, 0.5, &le) < 0)
		return ctl_cli_bad_reply("%s: expected {\"le\": [numbers..., null], \"counts\": [integers >= 0]} of "
					 "the same length",
					 where);
	return 0;
}

/* "taken 3, busy 12": the statuses other than ok that are not zero; "-" when none. */
static int fmt_refusals(char *buf, size_t len, const json_t *statuses, const char *where)
{
	const char *key;
	const json_t *v;
	size_t n = 0;
	buf[0] = '\0';
	json_object_foreach((json_t *)statuses, key, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return ctl_cli_bad_reply("%s.statuses.%s: expected an integer >= 0", where, key);
		if (!strcmp(key, "ok") || json_integer_value(v) == 0 || n >= len)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s %" JSON_INTEGER_FORMAT, n ? ", " : "", key,
				      json_integer_value(v));
	}
	if (!buf[0])
		snprintf(buf, len, "-");
	return 0;
}

/* Add one event of the reply to the table; 0 or an exit status after the message. */
static int event_row(struct ctl_table *t, const json_t *ev, size_t i)
{
	char where[WHERE_MAX];
	snprintf(where, sizeof(where), "events[%zu]", i);
	json_int_t id, capacity, free_n, held, sold, queue, admitted, active;
	const char *name, *state;
	double rps;
	json_t *statuses;
	int rc = ctl_cli_unpack(ev, where, "{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:F, s:I, s:I, s:I, s:o}", "id", &id,
				"name", &name, "state", &state, "capacity", &capacity, "free", &free_n, "held", &held,
				"sold", &sold, "requests_per_s", &rps, "queue_length", &queue, "admitted", &admitted,
				"active_shoppers", &active, "statuses", &statuses);
	if (rc)
		return rc;
	if (!json_is_object(statuses))
		return ctl_cli_bad_reply("%s.statuses: expected an object", where);
	char refusals[REFUSALS_TEXT_MAX], c[8][32];
	if ((rc = fmt_refusals(refusals, sizeof(refusals), statuses, where)))
		return rc;
	const json_int_t nums[] = {id, capacity, free_n, held, sold, queue, admitted, active};
	for (size_t k = 0; k < 8; k++)
		snprintf(c[k], sizeof(c[k]), "%" JSON_INTEGER_FORMAT, nums[k]);
	char rate[32];
	snprintf(rate, sizeof(rate), "%.1f", rps);
	/* waiting_room: "off", "on", "auto:active", "auto:idle"; "-" from a stampede-control without it. */
	const char *room = json_string_value(json_object_get(ev, "waiting_room"));
	const char *row[] = {c[0], name, state, c[1], c[2], c[3], c[4], c[5], c[6], c[7], room ? room : "-", rate,
			     refusals};
	ctl_table_row(t, row);
	return 0;
}

/* Quantiles of a status reply: request latency and storage commit, p50 and p99, with ctl_cli_quantile's kinds. */
struct quantiles {
	int lat_rc[2], commit_rc[2];
	double lat[2], commit[2];
};

/* Check the parts of a status reply outside the events; 0 or an exit status. */
static int check_status(const json_t *reply, struct quantiles *qs)
{
	json_t *events, *latency, *commit;
	json_int_t batches, records, pid, sweeps, expired, lag;
	const char *sync;
	int failed;
	int rc = ctl_cli_unpack(reply, "status", "{s:o, s:s, s:b, s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:I, s:I}}",
				"events", &events, "sync", &sync, "storage_failed", &failed, "latency_us", &latency,
				"storage", "batches", &batches, "records", &records, "commit_us", &commit, "control",
				"pid", &pid, "sweeps", &sweeps, "expired_total", &expired, "lag_ms", &lag);
	if (rc)
		return rc;
	if (!json_is_array(events))
		return ctl_cli_bad_reply("status.events: expected an array");
	if ((rc = check_hist(latency, "status.latency_us")) || (rc = check_hist(commit, "status.storage.commit_us")))
		return rc;
	static const double q[2] = {0.5, 0.99};
	for (int k = 0; k < 2; k++) {
		qs->lat_rc[k] = ctl_cli_quantile(latency, q[k], &qs->lat[k]);
		qs->commit_rc[k] = ctl_cli_quantile(commit, q[k], &qs->commit[k]);
	}
	return 0;
}

/* The human status: the events table, then latency/storage and control lines. */
static int print_status_table(const json_t *reply, const struct quantiles *qs)
{
	static const char *const head[] = {"EVENT",  "NAME",	 "STATE", "CAPACITY", "FREE",  "HELD",	   "SOLD",
					   "QUEUE", "ADMITTED", "ACTIVE", "ROOM",	  "REQ/S", "REFUSALS"};
	static const int align[] = {CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT,  CTL_ALIGN_LEFT,	CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
				    CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
				    CTL_ALIGN_LEFT,  CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT};
	struct ctl_table t;
	ctl_table_init(&t, 13, head, align);
	const json_t *events = json_object_get(reply, "events");
	for (size_t i = 0; i < json_array_size(events); i++) {
		int rc = event_row(&t, json_array_get(events, i), i);
		if (rc) {
			ctl_table_free(&t);
			return rc;
		}
	}
	if (t.nrows)
		ctl_table_print(&t, "");
	else
		printf("no events loaded\n");
	ctl_table_free(&t);

	const json_t *storage = json_object_get(reply, "storage"), *control = json_object_get(reply, "control");
	char lat[2][32], commit[2][32];
	for (int k = 0; k < 2; k++) {
		fmt_quantile(lat[k], sizeof(lat[k]), qs->lat_rc[k], qs->lat[k]);
		fmt_quantile(commit[k], sizeof(commit[k]), qs->commit_rc[k], qs->commit[k]);
	}
	printf("\nlatency p50 %s p99 %s; storage %" JSON_INTEGER_FORMAT " batches, %" JSON_INTEGER_FORMAT
	       " records, commit p50 %s p99 %s; sync %s\n",
	       lat[0], lat[1], json_integer_value(json_object_get(storage, "batches")),
	       json_integer_value(json_object_get(storage, "records")), commit[0], commit[1],
	       json_string_value(json_object_get(reply, "sync")));
	printf("control: pid %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT " sweeps, %" JSON_INTEGER_FORMAT
	       " holds expired, lag %" JSON_INTEGER_FORMAT "ms\n",
	       json_integer_value(json_object_get(control, "pid")),
	       json_integer_value(json_object_get(control, "sweeps")),
	       json_integer_value(json_object_get(control, "expired_total")),
	       json_integer_value(json_object_get(control, "lag_ms")));
	if (json_is_true(json_object_get(reply, "storage_failed")))
		printf("STORAGE FAILED: the dataplane refuses every mutation (error unavailable)\n");
	return 0;
}

/* A quantile for --json: its bound in microseconds, or null when empty or above the last bound. */
static json_t *quantile_json(int rc, double us)
{
	return rc == 1 ? json_real(us) : json_null();
}

/* The --json status: the reply without "ok", plus "summary" with the quantiles. */
static int print_status_json(const json_t *reply, const struct quantiles *qs)
{
	/* Check every event as the table does, so garbage is refused the same way. */
	struct ctl_table t;
	static const char *const head[12] = {"", "", "", "", "", "", "", "", "", "", "", ""};
	static const int align[12];
	ctl_table_init(&t, 12, head, align);
	const json_t *events = json_object_get(reply, "events");
	int rc = 0;
	for (size_t i = 0; i < json_array_size(events) && !rc; i++)
		rc = event_row(&t, json_array_get(events, i), i);
	ctl_table_free(&t);
	if (rc)
		return rc;
	json_t *copy = json_deep_copy(reply);
	if (!copy)
		ctl_cli_internal_error("out of memory");
	json_object_del(copy, "ok");
	json_t *s = ctl_cli_jobj();
	ctl_cli_jset(s, "latency_p50_us", quantile_json(qs->lat_rc[0], qs->lat[0]));
	ctl_cli_jset(s, "latency_p99_us", quantile_json(qs->lat_rc[1], qs->lat[1]));
	ctl_cli_jset(s, "commit_p50_us", quantile_json(qs->commit_rc[0], qs->commit[0]));
	ctl_cli_jset(s, "commit_p99_us", quantile_json(qs->commit_rc[1], qs->commit[1]));
	ctl_cli_jset(copy, "summary", s);
	ctl_cli_json_out(copy);
	return 0;
}

/* One status request and its output (table or JSON). */
static int status_once(const struct ctl_cli *cli)
{
	json_t *reply;
	int rc = ctl_cli_request(cli, ctl_cli_req(cli, "status"), &reply);
	if (rc)
		return rc;
	struct quantiles qs;
	if ((rc = check_status(reply, &qs)))
		return rc;
	return cli->json ? print_status_json(reply, &qs) : print_status_table(reply, &qs);
}

/* status [EVENT]. */
int ctl_cli_status(const struct ctl_cli *cli)
{
	return status_once(cli);
}

static volatile sig_atomic_t interrupted;

/* SIGINT during watch: stop after the current frame or sleep. */
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Sleep ms unless Ctrl-C comes first. */
static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (!interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* watch [EVENT] [--interval SECONDS] [--count N]: status frames until Ctrl-C or N frames. */
int ctl_cli_watch(const struct ctl_cli *cli)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint; /* no SA_RESTART: the sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	const int tty = isatty(STDOUT_FILENO);
	char every[32];
	ctl_cli_fmt_duration(every, sizeof(every), cli->interval_ms);
	for (uint64_t frame = 0; !interrupted && (cli->count == 0 || frame < cli->count); frame++) {
		if (frame)
			sleep_ms(cli->interval_ms);
		if (interrupted)
			break;
		if (!cli->json) {
			char now[64];
			ctl_cli_fmt_time(now, sizeof(now), ctl_cli_now_ms() / 1000 * 1000);
			if (tty)
				fputs("\033[H\033[2J", stdout);
			else if (frame)
				fputs("\n", stdout);
			printf("stampedectl watch: %s, every %s (Ctrl-C to stop)\n\n", now, every);
		}
		int rc = status_once(cli);
		if (rc)
			return rc;
		if (fflush(stdout) != 0)
			ctl_cli_internal_error("cannot write output");
	}
	return CTL_EXIT_OK;
}
