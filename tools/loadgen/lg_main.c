/*
 * lg_main.c - stampede-loadgen's command line (docs/loadgen.md): options,
 * the scenario and its overrides, the transport (sockets, or dpdk with EAL
 * arguments before `--`), the run, the verification through stampedectl,
 * the report.
 *
 *   stampede-loadgen --scenario comiccon --server 10.11.0.2 [OPTIONS]
 *   stampede-loadgen EAL-ARGS -- --transport dpdk --scenario arena ...
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>

#include "tools/loadgen/lg_report.h"
#include "tools/loadgen/lg_run.h"
#include "tools/loadgen/lg_scenario.h"
#include "tools/loadgen/lg_verify.h"

#ifndef LG_EXAMPLES_DIR
#define LG_EXAMPLES_DIR "docs/examples"
#endif

enum { EXIT_OK = 0, EXIT_VERIFY = 1, EXIT_USAGE = 2, EXIT_RUN = 3 };

static volatile int stop_flag;

/* SIGINT/SIGTERM: the first ends the run like the cap (drain, verify,
 * report); a second stops draining. */
static void on_signal(int sig)
{
	(void)sig;
	stop_flag++;
}

static const char usage_text[] =
	"Usage: stampede-loadgen --scenario NAME [OPTIONS]\n"
	"       stampede-loadgen EAL-ARGS -- --transport dpdk --scenario NAME [OPTIONS]\n"
	"Simulated buyers against a running Stampede dataplane (docs/loadgen.md).\n"
	"  --scenario NAME        comiccon, flavorus (or festival), theatre, arena\n"
	"  --inventory FILE       the scenario's inventory (default docs/examples/<scenario file>)\n"
	"  --event ID             the event in the file (default its first)\n"
	"  --server IP            the dataplane's IPv4 address (default 127.0.0.1)\n"
	"  --port N               its UDP port (default 7300)\n"
	"  --sockets N            UDP sockets, round robin (1..64, default 4)\n"
	"  --transport T          sockets (default) or dpdk\n"
	"  --ip IP, --server-mac MAC, --port-id N, --src-ports N, --queues N   dpdk transport\n"
	"  --buyers N             buyers (1..320000; default the scenario's)\n"
	"  --once                 every buyer arrives at the start\n"
	"  --rate N               open loop: N buyers arrive per second (1..10000000)\n"
	"  --concurrency N        closed loop: N buyers shop at once (1..320000)\n"
	"  --time-scale X         multiply think, payment and poll times by X (0.0001..100, default 1)\n"
	"  --seconds N            stop after N seconds (1..86400, default 600)\n"
	"  --poll-ms N            queue poll interval in ms, as is (not scaled; 100..600000)\n"
	"  --abandon F            fraction of buyers who let their hold expire (0..1)\n"
	"  --quantity N           every buyer wants N tickets (1..16)\n"
	"  --codes, --no-codes    QUEUE_JOIN with a presale code (theatre: on)\n"
	"  --loss F               drop this fraction of datagrams each way (fault injection; 0..0.5)\n"
	"  --inflight N           requests in flight at most (1..262144, default 16384)\n"
	"  --timeout-ms N         first resend after N ms (10..10000, default 250)\n"
	"  --timeout-max-ms N     resend backoff cap (10..60000, default 1000)\n"
	"  --horizon-ms N         never resend a mutation N ms after its first send (100..2000, default 1800)\n"
	"  --attempts N           sends of a read or queue request before giving up (1..1000, default 10)\n"
	"  --client-base N        client ids are N+1..N+buyers (default: from the clock)\n"
	"  --seed N               pseudo-random seed (default: from the clock)\n"
	"  --ctl PATH             stampedectl, for --load and the verification\n"
	"  --ctl-socket PATH      stampede-control's socket (stampedectl --socket)\n"
	"  --load                 stampedectl load the inventory first\n"
	"  --ledger FILE          CSV of every acknowledged order\n"
	"  --plot FILE            HTML page with sales/s and p99 per second\n"
	"  --progress, --no-progress   the live line on stderr (default: when stderr is a terminal)\n"
	"  --quiet                no human summary on stderr\n"
	"  -h, --help\n";

/* A usage error: the message, the usage, exit 2. */
static void usage_fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "stampede-loadgen: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n%s", usage_text);
	exit(EXIT_USAGE);
}

/* An unsigned decimal option value within lo..hi, or a usage error. */
static uint64_t opt_u64(const char *name, const char *v, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	if (!v || !*v || *v == '-' || *v == '+')
		usage_fail("--%s: \"%s\" is not a number", name, v ? v : "");
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x < lo || x > hi) {
		char range[64];
		snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, lo, hi);
		fprintf(stderr, "stampede-loadgen: --%s: \"%s\" is not a number in %s\n%s", name, v, range, usage_text);
		exit(EXIT_USAGE);
	}
	return x;
}

/* A decimal fraction option within lo..hi, or a usage error. */
static double opt_double(const char *name, const char *v, double lo, double hi)
{
	char *end;
	errno = 0;
	double x = v && *v ? strtod(v, &end) : NAN;
	if (!v || !*v || errno || *end || !(x >= lo && x <= hi)) {
		fprintf(stderr, "stampede-loadgen: --%s: \"%s\" is not a number in %g..%g\n%s", name, v ? v : "", lo,
			hi, usage_text);
		exit(EXIT_USAGE);
	}
	return x;
}

enum {
	O_SCENARIO = 256, O_INVENTORY, O_EVENT, O_SERVER, O_PORT, O_SOCKETS, O_TRANSPORT, O_IP, O_SERVER_MAC,
	O_PORT_ID, O_SRC_PORTS, O_QUEUES, O_BUYERS, O_ONCE, O_RATE, O_CONCURRENCY, O_TIME_SCALE, O_SECONDS, O_ABANDON,
	O_QUANTITY, O_POLL, O_LOSS, O_CODES, O_NO_CODES, O_INFLIGHT, O_TIMEOUT, O_TIMEOUT_MAX, O_HORIZON, O_ATTEMPTS,
	O_CLIENT_BASE, O_SEED, O_CTL, O_CTL_SOCKET, O_LOAD, O_LEDGER, O_PLOT, O_PROGRESS, O_NO_PROGRESS, O_QUIET,
};

static const struct option long_opts[] = {
	{"scenario", required_argument, 0, O_SCENARIO}, {"inventory", required_argument, 0, O_INVENTORY},
	{"event", required_argument, 0, O_EVENT}, {"server", required_argument, 0, O_SERVER},
	{"port", required_argument, 0, O_PORT}, {"sockets", required_argument, 0, O_SOCKETS},
	{"transport", required_argument, 0, O_TRANSPORT}, {"ip", required_argument, 0, O_IP},
	{"server-mac", required_argument, 0, O_SERVER_MAC}, {"port-id", required_argument, 0, O_PORT_ID},
	{"src-ports", required_argument, 0, O_SRC_PORTS}, {"queues", required_argument, 0, O_QUEUES}, {"buyers", required_argument, 0, O_BUYERS},
	{"once", no_argument, 0, O_ONCE}, {"rate", required_argument, 0, O_RATE},
	{"concurrency", required_argument, 0, O_CONCURRENCY}, {"time-scale", required_argument, 0, O_TIME_SCALE},
	{"seconds", required_argument, 0, O_SECONDS}, {"abandon", required_argument, 0, O_ABANDON},
	{"quantity", required_argument, 0, O_QUANTITY}, {"poll-ms", required_argument, 0, O_POLL},
	{"loss", required_argument, 0, O_LOSS}, {"codes", no_argument, 0, O_CODES},
	{"no-codes", no_argument, 0, O_NO_CODES}, {"inflight", required_argument, 0, O_INFLIGHT},
	{"timeout-ms", required_argument, 0, O_TIMEOUT}, {"timeout-max-ms", required_argument, 0, O_TIMEOUT_MAX},
	{"horizon-ms", required_argument, 0, O_HORIZON}, {"attempts", required_argument, 0, O_ATTEMPTS},
	{"client-base", required_argument, 0, O_CLIENT_BASE}, {"seed", required_argument, 0, O_SEED},
	{"ctl", required_argument, 0, O_CTL}, {"ctl-socket", required_argument, 0, O_CTL_SOCKET},
	{"load", no_argument, 0, O_LOAD}, {"ledger", required_argument, 0, O_LEDGER},
	{"plot", required_argument, 0, O_PLOT}, {"progress", no_argument, 0, O_PROGRESS},
	{"no-progress", no_argument, 0, O_NO_PROGRESS}, {"quiet", no_argument, 0, O_QUIET},
	{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
};

/* The dpdk transport's options, kept for lg_dpdk_open. */
struct dpdk_args {
	const char *ip, *server_mac;
	unsigned port_id, src_ports, queues;
};

/* Parse our options (argv after any EAL part) into cfg. */
static void parse(int argc, char **argv, struct lg_config *cfg, struct dpdk_args *dp, int *have_eal)
{
	const char *scenario = NULL;
	int64_t buyers = -1, rate = -1, conc = -1, once = 0, codes = -1;
	double abandon = -1;
	uint32_t event = 0;
	(void)have_eal;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (o) {
		case O_SCENARIO: scenario = optarg; break;
		case O_INVENTORY: cfg->inventory_path = optarg; break;
		case O_EVENT: event = (uint32_t)opt_u64("event", optarg, 1, UINT32_MAX); break;
		case O_SERVER: cfg->server = optarg; break;
		case O_PORT: cfg->port = (uint16_t)opt_u64("port", optarg, 1, 65535); break;
		case O_SOCKETS: cfg->sockets_n = (unsigned)opt_u64("sockets", optarg, 1, 64); break;
		case O_TRANSPORT: cfg->transport = optarg; break;
		case O_IP: dp->ip = optarg; break;
		case O_SERVER_MAC: dp->server_mac = optarg; break;
		case O_PORT_ID: dp->port_id = (unsigned)opt_u64("port-id", optarg, 0, 1023); break;
		case O_SRC_PORTS: dp->src_ports = (unsigned)opt_u64("src-ports", optarg, 1, 64); break;
		case O_QUEUES: dp->queues = (unsigned)opt_u64("queues", optarg, 1, 16); break;
		case O_BUYERS: buyers = (int64_t)opt_u64("buyers", optarg, 1, LG_BUYERS_MAX); break;
		case O_ONCE: once = 1; break;
		case O_RATE: rate = (int64_t)opt_u64("rate", optarg, 1, 10000000); break;
		case O_CONCURRENCY: conc = (int64_t)opt_u64("concurrency", optarg, 1, LG_BUYERS_MAX); break;
		case O_TIME_SCALE: cfg->time_scale = opt_double("time-scale", optarg, 0.0001, 100); break;
		case O_SECONDS: cfg->seconds = (uint32_t)opt_u64("seconds", optarg, 1, LG_SECONDS_MAX); break;
		case O_ABANDON: abandon = opt_double("abandon", optarg, 0, 1); break;
		case O_QUANTITY: cfg->qty_fixed = (int)opt_u64("quantity", optarg, 1, LG_QTY_MAX); break;
		case O_POLL: cfg->poll_ms = (uint32_t)opt_u64("poll-ms", optarg, 100, 600000); break;
		case O_LOSS: cfg->loss = opt_double("loss", optarg, 0, 0.5); break;
		case O_CODES: codes = 1; break;
		case O_NO_CODES: codes = 0; break;
		case O_INFLIGHT: cfg->inflight = (uint32_t)opt_u64("inflight", optarg, 1, LG_INFLIGHT_MAX); break;
		case O_TIMEOUT: cfg->timeout_ms = (uint32_t)opt_u64("timeout-ms", optarg, 10, 10000); break;
		case O_TIMEOUT_MAX: cfg->timeout_max_ms = (uint32_t)opt_u64("timeout-max-ms", optarg, 10, 60000); break;
		case O_HORIZON: cfg->horizon_ms = (uint32_t)opt_u64("horizon-ms", optarg, 100, 2000); break;
		case O_ATTEMPTS: cfg->attempts_max = (uint32_t)opt_u64("attempts", optarg, 1, 1000); break;
		case O_CLIENT_BASE: cfg->client_base = opt_u64("client-base", optarg, 0, (UINT64_C(1) << 62)); break;
		case O_SEED: cfg->seed = opt_u64("seed", optarg, 1, UINT64_MAX); break;
		case O_CTL: cfg->ctl = optarg; break;
		case O_CTL_SOCKET: cfg->ctl_socket = optarg; break;
		case O_LOAD: cfg->load = 1; break;
		case O_LEDGER: cfg->ledger = optarg; break;
		case O_PLOT: cfg->plot = optarg; break;
		case O_PROGRESS: cfg->progress = 1; break;
		case O_NO_PROGRESS: cfg->progress = 0; break;
		case O_QUIET: cfg->quiet = 1; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: fprintf(stderr, "%s", usage_text); exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_fail("unexpected argument \"%s\"%s", argv[optind], "");
	if (!scenario)
		usage_fail("--scenario is required (%s)%s", lg_scenario_names(), "");
	const struct lg_scenario *sc = lg_scenario_find(scenario);
	if (!sc)
		usage_fail("--scenario: unknown scenario \"%s\" (expected %s)", scenario, lg_scenario_names());
	cfg->sc = *sc;
	if (buyers > 0)
		cfg->sc.buyers = (uint32_t)buyers;
	if ((once != 0) + (rate > 0) + (conc > 0) > 1)
		usage_fail("--once, --rate and --concurrency exclude each other%s%s", "", "");
	if (once)
		cfg->sc.arrival = LG_ARRIVE_ONCE;
	if (rate > 0) {
		cfg->sc.arrival = LG_ARRIVE_RATE;
		cfg->sc.rate_per_s = (uint32_t)rate;
	}
	if (conc > 0) {
		cfg->sc.arrival = LG_ARRIVE_CLOSED;
		cfg->sc.concurrency = (uint32_t)conc;
	}
	if (abandon >= 0)
		cfg->sc.abandon_permille = (uint16_t)lround(abandon * 1000);
	if (codes >= 0)
		cfg->sc.codes = (uint8_t)codes;
	if (cfg->timeout_max_ms < cfg->timeout_ms)
		cfg->timeout_max_ms = cfg->timeout_ms;
	if (cfg->load && !cfg->ctl)
		usage_fail("--load needs --ctl PATH (stampedectl)%s%s", "", "");
	if (strcmp(cfg->transport, "sockets") != 0 && strcmp(cfg->transport, "dpdk") != 0)
		usage_fail("--transport: \"%s\" (expected sockets or dpdk)%s", cfg->transport, "");
	cfg->event_id = event;
}

/* Wall clock in ms (default seeds and client ids). */
static uint64_t wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Open the transport the options name; NULL with the reason in err. */
static struct lg_transport *open_transport(const struct lg_config *cfg, const struct dpdk_args *dp, int eal_argc,
					   char **eal_argv, char *err, size_t errlen)
{
	if (strcmp(cfg->transport, "sockets") == 0) {
		if (eal_argc > 1) {
			snprintf(err, errlen, "EAL arguments before \"--\" are for --transport dpdk only");
			return NULL;
		}
		return lg_socket_open(cfg->server, cfg->port, cfg->sockets_n, err, errlen);
	}
	if (!dp->ip) {
		snprintf(err, errlen, "--transport dpdk needs --ip (our IPv4 address)");
		return NULL;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		snprintf(err, errlen, "rte_eal_init failed (check the EAL arguments before \"--\")");
		return NULL;
	}
	struct lg_dpdk_opts o = {
		.port_id = (uint16_t)dp->port_id,
		.ip = dp->ip,
		.server = cfg->server,
		.server_port = cfg->port,
		.server_mac = dp->server_mac,
		.src_ports_n = dp->src_ports ? dp->src_ports : 8,
		.queues_n = dp->queues ? dp->queues : 1,
	};
	return lg_dpdk_open(&o, err, errlen);
}

/* Verify the run against the export; 0 and *v filled, or -1 (message on stderr). */
static int verify(const struct lg_run *r, struct lg_verify_result *v)
{
	char err[512];
	char *text = NULL;
	size_t len = 0;
	if (lg_ctl_export(r->cfg->ctl, r->cfg->ctl_socket, r->plan->event_id, &text, &len, err, sizeof(err)) != 0 ||
	    lg_verify_export(text, len, r->plan, r->orders, r->n_orders, r->cfg->client_base, r->n_buyers, v, err,
			     sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: verification: %s\n", err);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

/* Main: split off EAL arguments, parse, load the plan, run, verify, report.
 * Exit 0: the run ended and, when verified, nothing was oversold, duplicated
 * or lost; 1: the verification found one of those; 2: usage; 3: the run or
 * the verification could not be done. */
int main(int argc, char **argv)
{
	struct lg_config cfg = {
		.server = "127.0.0.1", .port = 7300, .sockets_n = 4, .inflight = LG_INFLIGHT_DEFAULT, .time_scale = 1.0,
		.seconds = 600, .timeout_ms = 250, .timeout_max_ms = 1000, .horizon_ms = 1800, .attempts_max = 10,
		.exhausted_ms = 5000, .transport = "sockets", .progress = -1,
	};
	struct dpdk_args dp = {0};
	/* EAL arguments: everything before a "--" (argv[0] kept as theirs). */
	int dd = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	int eal_argc = dd ? dd : 1;
	char **eal_argv = argv;
	int have_eal = dd > 1;
	if (dd) {
		argv[dd] = argv[0];
		parse(argc - dd, argv + dd, &cfg, &dp, &have_eal);
	} else {
		parse(argc, argv, &cfg, &dp, &have_eal);
	}
	if (!cfg.client_base)
		cfg.client_base = (wall_now_ms() & ((UINT64_C(1) << 41) - 1)) << 20;
	if (!cfg.seed)
		cfg.seed = wall_now_ms() ^ ((uint64_t)getpid() << 32);
	if (cfg.progress < 0)
		cfg.progress = isatty(STDERR_FILENO) ? 1 : 0;
	char path[4096], err[512];
	if (!cfg.inventory_path) {
		snprintf(path, sizeof(path), "%s/%s", LG_EXAMPLES_DIR, cfg.sc.inventory);
		cfg.inventory_path = path;
	}
	struct lg_plan plan;
	if (lg_plan_load(&plan, cfg.inventory_path, cfg.event_id, err, sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: %s\n", err);
		return EXIT_RUN;
	}
	if (cfg.sc.codes && !plan.n_codes && !cfg.quiet)
		fprintf(stderr, "stampede-loadgen: event %u has no presale codes: joining without\n", plan.event_id);
	if (cfg.load && lg_ctl_load(cfg.ctl, cfg.ctl_socket, cfg.inventory_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: --load: %s\n", err);
		lg_plan_free(&plan);
		return EXIT_RUN;
	}
	struct lg_transport *tr = open_transport(&cfg, &dp, eal_argc, eal_argv, err, sizeof(err));
	if (!tr) {
		fprintf(stderr, "stampede-loadgen: %s\n", err);
		lg_plan_free(&plan);
		return EXIT_RUN;
	}
	static struct lg_run run;
	if (lg_run_init(&run, &cfg, &plan, tr, err, sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: %s\n", err);
		lg_run_free(&run);
		tr->close(tr);
		lg_plan_free(&plan);
		return EXIT_RUN;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	double dur = lg_run_go(&run, &stop_flag);
	int rc = EXIT_OK;
	struct lg_verify_result v, *vp = NULL;
	if (run.st.requests && !run.st.replies) {
		fprintf(stderr, "stampede-loadgen: no answer from %s:%u (%s transport) to %" PRIu64 " requests\n",
			cfg.server, cfg.port, tr->name, run.st.requests);
		rc = EXIT_RUN;
	}
	if (cfg.ctl) {
		if (verify(&run, &v) == 0) {
			vp = &v;
			if (v.oversold || v.duplicate_tickets || v.lost_acked)
				rc = EXIT_VERIFY;
		} else {
			rc = EXIT_RUN;
		}
	}
	if (cfg.ledger && lg_report_ledger(cfg.ledger, &run, err, sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: --ledger: %s\n", err);
		rc = rc ? rc : EXIT_RUN;
	}
	if (cfg.plot && lg_report_plot(cfg.plot, &run, err, sizeof(err)) != 0) {
		fprintf(stderr, "stampede-loadgen: --plot: %s\n", err);
		rc = rc ? rc : EXIT_RUN;
	}
	lg_report_final(stdout, &run, vp, dur);
	lg_run_free(&run);
	tr->close(tr);
	lg_plan_free(&plan);
	if (strcmp(cfg.transport, "dpdk") == 0)
		rte_eal_cleanup();
	return rc;
}
