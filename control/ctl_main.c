/*
 * ctl_main.c - stampede-control (docs/control.md): options, then one
 * single-threaded poll loop over the control socket and its clients, with a
 * sweep every sweep-ms (follow the ledger, expire due holds) and a dataplane
 * status sample every second. SIGINT/SIGTERM: close, remove the socket file,
 * exit 0. It keeps no state of its own, so kill -9 and a restart are safe.
 *
 * Exit status: 0 after SIGINT/SIGTERM or --help, 1 when it cannot start
 * (socket or metrics port), 2 for bad options.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_control.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_START 1
#define CTL_EXIT_USAGE 2

static volatile sig_atomic_t ctl_stop_signal;

/* SIGINT/SIGTERM handler: remember the signal; the loop stops. */
static void ctl_on_signal(int sig)
{
	ctl_stop_signal = sig;
}

/* The options table: what --help prints and what parsing checks. */
struct ctl_opt {
	const char *name;
	const char *arg;
	const char *def;
	const char *help;
};

static const struct ctl_opt ctl_opts[] = {
	{"data", "DIR", CTL_DATA_DIR_DEFAULT, "the dataplane's LMDB data directory (opened read-only)"},
	{"dataplane", "PATH", CTL_DATAPLANE_SOCKET_DEFAULT, "the dataplane's control socket"},
	{"socket", "PATH", CTL_CONTROL_SOCKET_DEFAULT, "the control socket to serve (created mode 0600)"},
	{"metrics", "ADDR:PORT", CTL_METRICS_DEFAULT, "Prometheus endpoint (IPv4 or [IPv6]); 0 turns it off"},
	{"sweep-ms", "N", "100", "follow the log and expire due holds every N ms (10..10000)"},
	{"help", NULL, NULL, "this text"},
};

/* Print the options table to f. */
static void ctl_usage(FILE *f)
{
	fprintf(f, "usage: stampede-control [options]\n\n");
	for (size_t i = 0; i < sizeof(ctl_opts) / sizeof(ctl_opts[0]); i++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", ctl_opts[i].name, ctl_opts[i].arg ? " " : "",
			 ctl_opts[i].arg ? ctl_opts[i].arg : "");
		fprintf(f, "  %-24s %s", left, ctl_opts[i].help);
		if (ctl_opts[i].def)
			fprintf(f, " (default %s)", ctl_opts[i].def);
		fputc('\n', f);
	}
	fprintf(f, "\nSee docs/control.md. Exit: 0 on SIGINT/SIGTERM, 1 cannot start, 2 bad options.\n");
}

/* Parse argv into app. 0, or CTL_EXIT_USAGE (message printed), or -1 for --help. */
static int ctl_parse(int argc, char **argv, struct ctl_app *app)
{
	static const struct option longs[] = {
		{"data", required_argument, NULL, 'd'},     {"dataplane", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, 's'},   {"metrics", required_argument, NULL, 'm'},
		{"sweep-ms", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	app->data_dir = CTL_DATA_DIR_DEFAULT;
	app->dp.path = CTL_DATAPLANE_SOCKET_DEFAULT;
	app->control_path = CTL_CONTROL_SOCKET_DEFAULT;
	app->metrics_addr = CTL_METRICS_DEFAULT;
	app->sweep_ms = CTL_SWEEP_MS_DEFAULT;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'd':
			app->data_dir = optarg;
			break;
		case 'p':
			app->dp.path = optarg;
			break;
		case 's':
			app->control_path = optarg;
			break;
		case 'm':
			app->metrics_addr = optarg;
			break;
		case 'w': {
			char *end = NULL;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < CTL_SWEEP_MS_MIN || v > CTL_SWEEP_MS_MAX) {
				fprintf(stderr, "stampede-control: --sweep-ms: '%s' is not %d..%d\n", optarg,
					CTL_SWEEP_MS_MIN, CTL_SWEEP_MS_MAX);
				return CTL_EXIT_USAGE;
			}
			app->sweep_ms = (unsigned)v;
			break;
		}
		case 'h':
			ctl_usage(stdout);
			return -1;
		default:
			fprintf(stderr, "stampede-control: unknown option or missing value: %s\n", argv[optind - 1]);
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "stampede-control: unexpected argument '%s'\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	const char *paths[][2] = {{"--dataplane", app->dp.path}, {"--socket", app->control_path}};
	for (unsigned i = 0; i < 2; i++) {
		size_t n = strlen(paths[i][1]);
		if (n == 0 || n >= CTL_SOCKET_PATH_MAX) {
			fprintf(stderr, "stampede-control: %s: path must be 1..%d bytes\n", paths[i][0],
				CTL_SOCKET_PATH_MAX - 1);
			return CTL_EXIT_USAGE;
		}
	}
	if (app->data_dir[0] == '\0') {
		fprintf(stderr, "stampede-control: --data: empty\n");
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* Block SIGINT/SIGTERM except inside ppoll, so a signal never slips between
 * the check and the wait. */
static void ctl_signals(sigset_t *wait_mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGTERM);
}

/* Run until a signal: status sample and sweep when due, then ppoll the
 * listening socket and the clients until the next one is due. */
static void ctl_loop(struct ctl_app *app, const sigset_t *wait_mask)
{
	uint64_t next_sweep = 0, next_status = 0;
	struct pollfd fds[1 + CTL_CLIENTS_MAX];
	unsigned slot_of[1 + CTL_CLIENTS_MAX];
	while (!ctl_stop_signal) {
		uint64_t now = ctl_mono_ms();
		bool ran = false;
		if (now >= next_status) {
			ctl_status_tick(app);
			next_status = now + CTL_STATUS_PERIOD_MS;
			ran = true;
		}
		if (now >= next_sweep) {
			ctl_sweep(app);
			next_sweep = now + app->sweep_ms;
			ran = true;
		}
		if (ran)
			ctl_metrics_publish(app->metrics, app);
		nfds_t n = 0;
		fds[n++] = (struct pollfd){.fd = app->listen_fd, .events = POLLIN};
		for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++) {
			if (app->clients[i] >= 0) {
				slot_of[n] = i;
				fds[n++] = (struct pollfd){.fd = app->clients[i], .events = POLLIN};
			}
		}
		now = ctl_mono_ms();
		uint64_t next = next_sweep < next_status ? next_sweep : next_status;
		uint64_t wait_ms = next > now ? next - now : 0;
		struct timespec ts = {.tv_sec = (time_t)(wait_ms / 1000), .tv_nsec = (long)(wait_ms % 1000) * 1000000l};
		int rc = ppoll(fds, n, &ts, wait_mask);
		if (rc < 0) {
			if (errno != EINTR)
				ctl_log("poll: %s", strerror(errno));
			continue;
		}
		for (nfds_t k = 1; k < n; k++)
			if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
				ctl_server_serve(app, slot_of[k]);
		if (fds[0].revents & POLLIN)
			ctl_server_accept(app);
	}
}

/* Parse options, take the socket and the metrics port, loop, clean up. */
int main(int argc, char **argv)
{
	static struct ctl_app app;
	memset(&app, 0, sizeof(app));
	ctl_dp_init(&app.dp, CTL_DATAPLANE_SOCKET_DEFAULT);
	int rc = ctl_parse(argc, argv, &app);
	if (rc != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		app.clients[i] = -1;
	sigset_t wait_mask;
	ctl_signals(&wait_mask);

	app.listen_fd = ctl_wire_listen(app.control_path);
	if (app.listen_fd < 0) {
		ctl_log("--socket %s: %s", app.control_path, strerror(-app.listen_fd));
		return CTL_EXIT_START;
	}
	if (strcmp(app.metrics_addr, "0") != 0) {
		char err[CTL_ERR_BYTES] = "";
		rc = ctl_metrics_start(app.metrics_addr, &app.metrics, err, sizeof(err));
		if (rc != 0) {
			ctl_log("%s", err[0] ? err : strerror(-rc));
			close(app.listen_fd);
			unlink(app.control_path);
			return rc == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_START;
		}
	}
	ctl_log("serving %s (data %s, dataplane %s, metrics %s, sweep %u ms)", app.control_path, app.data_dir,
		app.dp.path, app.metrics ? app.metrics_addr : "off", app.sweep_ms);

	ctl_loop(&app, &wait_mask);

	ctl_log("signal %d: stopping", (int)ctl_stop_signal);
	ctl_server_close_all(&app);
	close(app.listen_fd);
	unlink(app.control_path);
	ctl_metrics_stop(app.metrics);
	ctl_ledger_close(app.ledger);
	ctl_pace_free(&app.pace);
	ctl_dp_close(&app.dp);
	json_decref(app.last_status);
	return CTL_EXIT_OK;
}
