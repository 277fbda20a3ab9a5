/*
 * stampede.c - the buyer-side command line: one request to a Stampede
 * dataplane, answered in words or, with --json, as one JSON object
 * (docs/client.md). Built on libstampede-client.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client/stampede_client.h"

/* Exit codes (documented in --help and docs/client.md). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the server answered no: taken, sold out, limit, not found, ... */
	EXIT_USAGE = 2,
	EXIT_LATER = 3,  /* busy after every retry, unavailable, or no answer at all */
	EXIT_FAILED = 4, /* protocol or socket error */
};

#define SEATMAP_COUNT_DEFAULT 1024u
#define SEATMAP_ROW 50u /* seats per line of the human seat map */

struct cli {
	struct stampede_client_opts o;
	int json;
	/* command options */
	unsigned tier;
	uint32_t first;
	unsigned count;
	uint8_t token[STAMPEDE_TOKEN_SIZE]; /* --token: access token for holds */
	int has_token;
	const char *code; /* join --code: presale code */
	/* positional arguments of the command */
	const char *arg[3];
	unsigned nargs;
};

struct command {
	const char *name;
	const char *args; /* usage line after the name */
	unsigned nargs;   /* positional arguments */
	const char *opts; /* command options: "tier", "map", "code" or NULL */
	const char *help; /* what it does */
	int (*run)(struct cli *cli, struct stampede_client *c);
};

static const char *prog = "stampede";

/* ---- messages ---- */

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	exit(EXIT_USAGE);
}

static const char global_help[] = "Usage: stampede [OPTIONS] COMMAND [ARGS]\n"
				  "\n"
				  "Send one buyer request to a Stampede dataplane over UDP and print the answer.\n"
				  "\n"
				  "Commands:\n"
				  "  ping                              check the server, show round trip and clock\n"
				  "  hold EVENT PART SEAT[,SEAT...]    hold named seats (indexes; a-b for a range)\n"
				  "  hold-best EVENT PART N [--tier T] hold the N best adjacent seats\n"
				  "  hold-ga EVENT PART N              hold N general-admission tickets\n"
				  "  confirm HOLD_ID PAYMENT_REF       turn a hold into an order after payment\n"
				  "  release HOLD_ID                   give a hold back\n"
				  "  order ORDER_ID                    show one of your orders\n"
				  "  seat-map EVENT PART [--first N] [--count N]\n"
				  "                                    show seat states of a section\n"
				  "  queue-join EVENT [--code CODE]    join the event's waiting room (CODE: a presale\n"
				  "                                    access code or member code); also `join`\n"
				  "  queue-poll EVENT TICKET_HEX       where a queue ticket stands now\n"
				  "\n"
				  "Options (before or after the command):\n"
				  "  --server HOST     dataplane address, IPv4 or name (default 127.0.0.1)\n"
				  "  --port N          UDP port (default 7300)\n"
				  "  --client-id N     buyer's client id (default: random); keep it to confirm,\n"
				  "                    release or read what an earlier run held\n"
				  "  --timeout MS      wait per attempt (default 200)\n"
				  "  --retries N       resends after a timeout (default 5; 0 = none)\n"
				  "  --json            print one JSON object per reply\n"
				  "  --token HEX       access token (128 hex digits, from queue-poll) for the\n"
				  "                    hold commands while the waiting room is on\n"
				  "  -h, --help        this text; COMMAND --help for a command\n"
				  "\n"
				  "Ids (client, hold, order) are printed in hex (0x...) and accepted in hex or\n"
				  "decimal. A timed-out or busy request is resent with the same request id, so\n"
				  "the server never applies it twice.\n"
				  "\n"
				  "Exit status:\n"
				  "  0  ok\n"
				  "  1  refused: taken, sold out, limit reached, not found, expired, released,\n"
				  "     not yours, closed, bad request, ...\n"
				  "  2  usage error\n"
				  "  3  try later: still busy after the retries, unavailable, or no answer\n"
				  "  4  protocol or socket error (an answer that does not decode, connection\n"
				  "     refused, bad host)\n";

/* ---- parsing ---- */

/* Decimal, or hex with 0x. No sign, no trailing bytes, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static uint64_t num_arg(const char *what, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;
	if (parse_u64(s, max, &v) != 0 || v < min)
		usage_error("%s must be a number from %" PRIu64 " to %" PRIu64 " (decimal or 0x hex), not '%s'", what,
			    min, max, s);
	return v;
}

/* "17,18,20-22" into seats[]; returns the count. */
static unsigned parse_seats(const char *list, uint32_t *seats)
{
	unsigned n = 0;
	char buf[1024];
	if (strlen(list) >= sizeof(buf))
		usage_error("seat list too long");
	strcpy(buf, list);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;
		if (dash) {
			*dash = '\0';
			if (parse_u64(tok, UINT32_MAX, &a) != 0 || parse_u64(dash + 1, UINT32_MAX, &b) != 0 || b < a)
				usage_error("bad seat range '%s-%s'", tok, dash + 1);
		} else {
			if (parse_u64(tok, UINT32_MAX, &a) != 0)
				usage_error("bad seat '%s'", tok);
			b = a;
		}
		for (uint64_t s = a; s <= b; s++) {
			if (n == STAMPEDE_ITEMS_MAX)
				usage_error("at most %d seats in one hold", STAMPEDE_ITEMS_MAX);
			seats[n++] = (uint32_t)s;
		}
	}
	if (n == 0)
		usage_error("no seats given");
	return n;
}

/* A token given as exactly 2 * STAMPEDE_TOKEN_SIZE hex digits into out
 * (STAMPEDE_TOKEN_SIZE bytes); anything else is a usage error naming what. */
static void parse_token(const char *what, const char *s, uint8_t *out)
{
	if (strlen(s) != 2 * STAMPEDE_TOKEN_SIZE)
		usage_error("%s must be exactly %d hex digits (a %d-byte token), not %zu characters", what,
			    2 * STAMPEDE_TOKEN_SIZE, STAMPEDE_TOKEN_SIZE, strlen(s));
	for (unsigned i = 0; i < STAMPEDE_TOKEN_SIZE; i++) {
		unsigned v = 0;
		for (unsigned k = 0; k < 2; k++) {
			const char ch = s[2 * i + k];
			const int d = ch >= '0' && ch <= '9'   ? ch - '0'
				      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
							       : -1;
			if (d < 0)
				usage_error("%s: '%c' at %u is not a hex digit", what, ch, 2 * i + k + 1);
			v = v * 16 + (unsigned)d;
		}
		out[i] = (uint8_t)v;
	}
}

/* A global option at argv[*i]; returns 1 when it was one (and consumes its
 * value), 0 when not. "--opt=value" and "--opt value" both work. */
static int global_option(struct cli *cli, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	static const char *const with_value[] = {"--server", "--port", "--client-id", "--timeout", "--retries",
						 "--token"};
	if (!strcmp(a, "--json")) {
		cli->json = 1;
		return 1;
	}
	for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
		const size_t len = strlen(with_value[k]);
		if (strncmp(a, with_value[k], len) != 0 || (a[len] != '\0' && a[len] != '='))
			continue;
		const char *v;
		if (a[len] == '=') {
			v = a + len + 1;
		} else {
			if (*i + 1 >= argc)
				usage_error("%s needs a value", with_value[k]);
			v = argv[++*i];
		}
		switch (k) {
		case 0:
			if (!*v)
				usage_error("--server needs a host");
			cli->o.host = v;
			break;
		case 1:
			cli->o.port = (uint16_t)num_arg("--port", v, 1, 65535);
			break;
		case 2:
			cli->o.client_id = num_arg("--client-id", v, 1, UINT64_MAX);
			break;
		case 3:
			cli->o.timeout_ms = (unsigned)num_arg("--timeout", v, 1, 3600000);
			break;
		case 5:
			parse_token("--token", v, cli->token);
			cli->has_token = 1;
			break;
		default: {
			const unsigned n = (unsigned)num_arg("--retries", v, 0, 1000);
			cli->o.retries = n ? (int)n : -1; /* the library's 0 means "default" */
			break;
		}
		}
		return 1;
	}
	return 0;
}

/* ---- formatting ---- */

static void fmt_time(char *out, size_t len, uint64_t ms, int with_ms)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, len, "%" PRIu64 "ms", ms);
		return;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ms)
		snprintf(out, len, "%s.%03uZ", base, (unsigned)(ms % 1000u));
	else
		snprintf(out, len, "%sZ", base);
}

static void print_list(const uint32_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%s%" PRIu32, i ? ", " : "", v[i]);
}

static json_t *json_hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	return json_string(buf);
}

static json_t *json_u32s(const uint32_t *v, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static const char *seat_state_name(unsigned s)
{
	static const char *const names[] = {"free", "held", "sold", "withheld"};
	return names[s & 3u];
}

static void json_out(json_t *o)
{
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* One reply (or failure) as a JSON object. */
static const char *queue_state_name(unsigned st)
{
	static const char *const names[] = {"waiting", "admitted", "no_queue", "prequeue"};
	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

/* tok: STAMPEDE_TOKEN_SIZE bytes; hex: 2 * STAMPEDE_TOKEN_SIZE + 1 bytes. */
static void token_hex(const uint8_t *tok, char *hex)
{
	for (unsigned i = 0; i < STAMPEDE_TOKEN_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", tok[i]);
}

static void print_json(const struct stampede_client *c, const struct stampede_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "op", json_string(stampede_op_name(r->op)));
	json_object_set_new(o, "client_id", json_hex(stampede_client_id(c)));
	json_object_set_new(o, "request_id", json_hex(r->request_id));
	json_object_set_new(o, "sends", json_integer(r->sends));
	if (r->error) {
		const char *kind = r->error == -ETIMEDOUT ? "timeout" : r->error == -EPROTO ? "protocol" : "socket";
		json_object_set_new(o, "error", json_string(kind));
		json_object_set_new(o, "errno", json_integer(-r->error));
		json_object_set_new(o, "message", json_string(strerror(-r->error)));
		json_out(o);
		return;
	}
	json_object_set_new(o, "status", json_string(stampede_status_name(r->status)));
	json_object_set_new(o, "detail", json_string(stampede_detail_name(r->detail)));
	json_object_set_new(o, "retry_after_ms", json_integer(r->retry_after_ms));
	json_object_set_new(o, "busy_answers", json_integer(r->busy_answers));
	json_object_set_new(o, "rtt_us", json_integer(r->rtt_us));
	char when[40];
	switch (r->body) {
	case STAMPEDE_BODY_PING:
		json_object_set_new(o, "server_time_ms", json_integer((json_int_t)r->u.ping.server_time_ms));
		fmt_time(when, sizeof(when), r->u.ping.server_time_ms, 1);
		json_object_set_new(o, "server_time", json_string(when));
		json_object_set_new(o, "workers", json_integer(r->u.ping.workers));
		break;
	case STAMPEDE_BODY_HOLD:
		json_object_set_new(o, "event", json_integer(r->u.hold.event_id));
		json_object_set_new(o, "part", json_integer(r->u.hold.part_id));
		json_object_set_new(o, "hold_id", json_hex(r->u.hold.hold_id));
		json_object_set_new(o, "order_id", json_hex(r->u.hold.order_id));
		json_object_set_new(o, "expiry_ms", json_integer((json_int_t)r->u.hold.expiry_ms));
		if (r->u.hold.expiry_ms) {
			fmt_time(when, sizeof(when), r->u.hold.expiry_ms, 0);
			json_object_set_new(o, "expiry", json_string(when));
		}
		json_object_set_new(o, "available", json_integer(r->u.hold.available));
		json_object_set_new(o, "items", json_u32s(r->u.hold.items, r->u.hold.n_items));
		json_object_set_new(o, "alt", json_u32s(r->u.hold.alt, r->u.hold.n_alt));
		break;
	case STAMPEDE_BODY_SEAT_MAP: {
		json_object_set_new(o, "event", json_integer(r->u.seat_map.event_id));
		json_object_set_new(o, "part", json_integer(r->u.seat_map.part_id));
		json_object_set_new(o, "capacity", json_integer(r->u.seat_map.capacity));
		json_object_set_new(o, "first", json_integer(r->u.seat_map.first));
		json_object_set_new(o, "count", json_integer(r->u.seat_map.count));
		json_object_set_new(o, "free", json_integer(r->u.seat_map.free));
		json_object_set_new(o, "held", json_integer(r->u.seat_map.held));
		json_object_set_new(o, "sold", json_integer(r->u.seat_map.sold));
		json_t *seats = json_array();
		for (uint32_t i = 0; i < r->u.seat_map.count; i++) {
			const uint8_t b = r->u.seat_map.seats[i];
			json_t *s = json_object();
			json_object_set_new(s, "seat", json_integer((json_int_t)r->u.seat_map.first + i));
			json_object_set_new(s, "state", json_string(seat_state_name(STAMPEDE_SEAT_STATE(b))));
			json_object_set_new(s, "tier", json_integer(STAMPEDE_SEAT_TIER(b)));
			json_array_append_new(seats, s);
		}
		json_object_set_new(o, "seats", seats);
		break;
	}
	case STAMPEDE_BODY_QUEUE: {
		char hex[2 * STAMPEDE_TOKEN_SIZE + 1];
		token_hex(r->u.queue.token, hex);
		json_object_set_new(o, "event", json_integer(r->u.queue.event_id));
		json_object_set_new(o, "state", json_string(queue_state_name(r->u.queue.state)));
		json_object_set_new(o, "position", json_integer((json_int_t)r->u.queue.position));
		json_object_set_new(o, "ahead", json_integer((json_int_t)r->u.queue.ahead));
		json_object_set_new(o, "wait_ms", json_integer(r->u.queue.wait_ms));
		json_object_set_new(o, "token", json_string(hex));
		break;
	}
	case STAMPEDE_BODY_ORDER: {
		json_object_set_new(o, "order_id", json_hex(r->u.order.order_id));
		json_object_set_new(o, "hold_id", json_hex(r->u.order.hold_id));
		json_object_set_new(o, "time_ms", json_integer((json_int_t)r->u.order.time_ms));
		fmt_time(when, sizeof(when), r->u.order.time_ms, 0);
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "event", json_integer(r->u.order.event_id));
		json_object_set_new(o, "part", json_integer(r->u.order.part_id));
		json_object_set_new(o, "kind",
				    json_string(r->u.order.kind == STAMPEDE_ORDER_GA ? "general_admission" : "seats"));
		char ref[STAMPEDE_PAYMENT_REF_MAX + 1] = {0};
		memcpy(ref, r->u.order.payment_ref, STAMPEDE_PAYMENT_REF_MAX);
		json_object_set_new(o, "payment_ref", json_stringn(ref, strlen(ref)));
		json_object_set_new(o, "items", json_u32s(r->u.order.items, r->u.order.n_items));
		break;
	}
	default:
		break;
	}
	json_out(o);
}

/* Words for a refusal or other non-ok answer. */
static void print_refusal(const struct stampede_result *r, uint32_t part)
{
	const char *dn = stampede_detail_name(r->detail);
	const int has_detail = r->detail != STAMPEDE_D_NONE && r->detail != STAMPEDE_D_REPLAY;
	switch (r->status) {
	case STAMPEDE_S_TAKEN: {
		const char *what = r->detail == STAMPEDE_D_WITHHELD ? "not for sale" : "held or sold";
		printf("taken: a seat you asked for is %s", what);
		if (r->body == STAMPEDE_BODY_HOLD && r->u.hold.n_alt) {
			printf("; try ");
			print_list(r->u.hold.alt, r->u.hold.n_alt);
			printf(" (free just now, not held)");
		} else {
			printf("; no alternatives offered");
		}
		printf("\n");
		return;
	}
	case STAMPEDE_S_SOLD_OUT:
		if (r->body == STAMPEDE_BODY_HOLD && r->u.hold.available)
			printf("sold out: only %" PRIu32 " left in part %" PRIu32 "\n", r->u.hold.available, part);
		else
			printf("sold out: nothing free in part %" PRIu32 " (held tickets come back when holds lapse)\n",
			       part);
		return;
	case STAMPEDE_S_EXPIRED:
		printf("expired: the hold lapsed before this; its tickets went back on sale\n");
		return;
	case STAMPEDE_S_LIMIT:
		printf("limit reached: this would pass the per-buyer limit of the event\n");
		return;
	case STAMPEDE_S_NOT_FOUND:
		printf("not found: no such %s\n", r->detail == STAMPEDE_D_PART ? "section or ticket type"
						  : has_detail                 ? dn
									       : "thing");
		return;
	case STAMPEDE_S_BAD_REQUEST:
		if (r->detail == STAMPEDE_D_CONFIRMED && r->body == STAMPEDE_BODY_HOLD)
			printf("refused: the hold was confirmed as order 0x%016" PRIx64
			       "; sold tickets are not given back\n",
			       r->u.hold.order_id);
		else
			printf("bad request: %s\n", has_detail ? dn : "the server refused the request's form");
		return;
	case STAMPEDE_S_BAD_TOKEN:
		printf("bad token: the waiting-room token was refused\n");
		return;
	case STAMPEDE_S_NOT_ADMITTED:
		printf("not admitted yet: keep your place in the waiting room\n");
		return;
	case STAMPEDE_S_BUSY:
		printf("busy: the server was still busy after %u attempts (last asked to wait %" PRIu32
		       " ms); try again later\n",
		       r->sends, r->retry_after_ms);
		return;
	case STAMPEDE_S_UNAVAILABLE:
		printf("unavailable: sales are paused%s%s%s; try again later\n", has_detail ? " (" : "",
		       has_detail ? dn : "", has_detail ? ")" : "");
		return;
	case STAMPEDE_S_NOT_YOURS:
		printf("not yours: that hold belongs to another client id\n");
		return;
	case STAMPEDE_S_RELEASED:
		printf("released: that hold was already released\n");
		return;
	case STAMPEDE_S_CLOSED:
		printf("closed: the event is not on sale now\n");
		return;
	default:
		printf("%s (%s)\n", stampede_status_name(r->status), dn);
		return;
	}
}

static int exit_for(const struct stampede_result *r)
{
	if (r->error == -ETIMEDOUT)
		return EXIT_LATER;
	if (r->error)
		return EXIT_FAILED;
	switch (r->status) {
	case STAMPEDE_S_OK:
		return EXIT_OK;
	case STAMPEDE_S_BUSY:
	case STAMPEDE_S_UNAVAILABLE:
		return EXIT_LATER;
	default:
		return EXIT_REFUSED;
	}
}

/* Print a failed call (no reply) in words, on stderr. */
static void print_failure(const struct stampede_client *c, const struct stampede_result *r)
{
	const char *srv = stampede_client_server(c);
	switch (-r->error) {
	case ETIMEDOUT:
		fprintf(stderr, "%s: no answer from %s after %u attempt%s\n", prog, srv, r->sends,
			r->sends == 1 ? "" : "s");
		break;
	case EPROTO:
		fprintf(stderr, "%s: %s answered with something that is not a Stampede version 1 reply\n", prog, srv);
		break;
	case ECONNREFUSED:
		fprintf(stderr, "%s: nothing listens on %s (connection refused)\n", prog, srv);
		break;
	default:
		fprintf(stderr, "%s: %s: %s\n", prog, srv, strerror(-r->error));
		break;
	}
}

/* Common end of every command: print the outcome, return the exit code. */
static int finish(const struct cli *cli, const struct stampede_client *c, const struct stampede_result *r,
		  void (*ok)(const struct stampede_client *c, const struct stampede_result *r), uint32_t part)
{
	if (cli->json) {
		print_json(c, r);
		return exit_for(r);
	}
	if (r->error) {
		print_failure(c, r);
		return exit_for(r);
	}
	if (r->status == STAMPEDE_S_OK && r->body != STAMPEDE_BODY_NONE)
		ok(c, r);
	else
		print_refusal(r, part);
	return exit_for(r);
}

/* ---- commands ---- */

static void ok_ping(const struct stampede_client *c, const struct stampede_result *r)
{
	char when[40];
	fmt_time(when, sizeof(when), r->u.ping.server_time_ms, 1);
	printf("pong from %s in %.2f ms: %" PRIu32 " worker%s, server clock %s\n", stampede_client_server(c),
	       r->rtt_us / 1000.0, r->u.ping.workers, r->u.ping.workers == 1 ? "" : "s", when);
}

static int cmd_ping(struct cli *cli, struct stampede_client *c)
{
	struct stampede_result r;
	stampede_ping(c, &r);
	return finish(cli, c, &r, ok_ping, 0);
}

static void ok_hold(const struct stampede_client *c, const struct stampede_result *r)
{
	const unsigned n = r->u.hold.n_items;
	char when[40];
	fmt_time(when, sizeof(when), r->u.hold.expiry_ms, 0);
	if (r->op == STAMPEDE_OP_HOLD_GA)
		printf("held %u ticket%s of type %" PRIu32 ": serial%s ", n, n == 1 ? "" : "s", r->u.hold.part_id,
		       n == 1 ? "" : "s");
	else
		printf("held %u seat%s in section %" PRIu32 ": ", n, n == 1 ? "" : "s", r->u.hold.part_id);
	print_list(r->u.hold.items, n);
	printf(" \xe2\x80\x94 hold 0x%016" PRIx64 " expires %s%s\n", r->u.hold.hold_id, when,
	       r->detail == STAMPEDE_D_REPLAY ? " (answer replayed)" : "");
}

static int cmd_hold(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	const uint32_t part = (uint32_t)num_arg("PART", cli->arg[1], 0, UINT32_MAX);
	uint32_t seats[STAMPEDE_ITEMS_MAX];
	const unsigned n = parse_seats(cli->arg[2], seats);
	struct stampede_result r;
	stampede_hold_seats(c, event, part, n, seats, cli->has_token ? cli->token : NULL, &r);
	if (!cli->json && !r.error && r.status == STAMPEDE_S_TAKEN && r.body == STAMPEDE_BODY_HOLD &&
	    r.u.hold.n_items == 0) {
		/* Name the seats asked for: the reply does not say which one was taken. */
		printf("taken: %s ", n == 1 ? "seat" : "one of seats");
		print_list(seats, n);
		printf(" is %s", r.detail == STAMPEDE_D_WITHHELD ? "not for sale" : "held or sold");
		if (r.u.hold.n_alt) {
			printf("; try ");
			print_list(r.u.hold.alt, r.u.hold.n_alt);
		} else {
			printf("; no alternatives offered");
		}
		printf("\n");
		return exit_for(&r);
	}
	return finish(cli, c, &r, ok_hold, part);
}

static int cmd_hold_best(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	const uint32_t part = (uint32_t)num_arg("PART", cli->arg[1], 0, UINT32_MAX);
	const unsigned n = (unsigned)num_arg("N", cli->arg[2], 1, STAMPEDE_ITEMS_MAX);
	struct stampede_result r;
	stampede_hold_best(c, event, part, n, cli->tier, cli->has_token ? cli->token : NULL, &r);
	return finish(cli, c, &r, ok_hold, part);
}

static int cmd_hold_ga(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	const uint32_t part = (uint32_t)num_arg("PART", cli->arg[1], 0, UINT32_MAX);
	const unsigned n = (unsigned)num_arg("N", cli->arg[2], 1, STAMPEDE_ITEMS_MAX);
	struct stampede_result r;
	stampede_hold_ga(c, event, part, n, cli->has_token ? cli->token : NULL, &r);
	return finish(cli, c, &r, ok_hold, part);
}

static void ok_confirm(const struct stampede_client *c, const struct stampede_result *r)
{
	const unsigned n = r->u.hold.n_items;
	if (r->detail == STAMPEDE_D_CONFIRMED)
		printf("already confirmed: hold 0x%016" PRIx64 " is order 0x%016" PRIx64 "\n", r->u.hold.hold_id,
		       r->u.hold.order_id);
	else
		printf("confirmed hold 0x%016" PRIx64 " \xe2\x80\x94 order 0x%016" PRIx64 "\n", r->u.hold.hold_id,
		       r->u.hold.order_id);
	if (n) {
		printf("  %u ticket%s in part %" PRIu32 ": ", n, n == 1 ? "" : "s", r->u.hold.part_id);
		print_list(r->u.hold.items, n);
		printf("\n");
	}
}

static int cmd_confirm(struct cli *cli, struct stampede_client *c)
{
	const uint64_t hold = num_arg("HOLD_ID", cli->arg[0], 0, UINT64_MAX);
	if (strlen(cli->arg[1]) > STAMPEDE_PAYMENT_REF_MAX)
		usage_error("PAYMENT_REF is at most %d bytes", STAMPEDE_PAYMENT_REF_MAX);
	struct stampede_result r;
	stampede_confirm(c, hold, cli->arg[1], &r);
	return finish(cli, c, &r, ok_confirm, 0);
}

static void ok_release(const struct stampede_client *c, const struct stampede_result *r)
{
	const unsigned n = r->u.hold.n_items;
	printf("released hold 0x%016" PRIx64, r->u.hold.hold_id);
	if (n) {
		printf(": %u ticket%s back on sale (", n, n == 1 ? "" : "s");
		print_list(r->u.hold.items, n);
		printf(")");
	}
	printf("\n");
}

static int cmd_release(struct cli *cli, struct stampede_client *c)
{
	const uint64_t hold = num_arg("HOLD_ID", cli->arg[0], 0, UINT64_MAX);
	struct stampede_result r;
	stampede_release(c, hold, &r);
	if (!cli->json && !r.error && r.status == STAMPEDE_S_BAD_REQUEST && r.detail == STAMPEDE_D_CONFIRMED) {
		/* The reply carries the order id; name the hold as given. */
		printf("refused: hold 0x%016" PRIx64 " was confirmed", hold);
		if (r.body == STAMPEDE_BODY_HOLD && r.u.hold.order_id)
			printf(" as order 0x%016" PRIx64, r.u.hold.order_id);
		printf("; sold tickets are not given back\n");
		return exit_for(&r);
	}
	return finish(cli, c, &r, ok_release, 0);
}

static void ok_order(const struct stampede_client *c, const struct stampede_result *r)
{
	const unsigned n = r->u.order.n_items;
	const int ga = r->u.order.kind == STAMPEDE_ORDER_GA;
	char when[40];
	fmt_time(when, sizeof(when), r->u.order.time_ms, 0);
	char ref[STAMPEDE_PAYMENT_REF_MAX + 1] = {0};
	memcpy(ref, r->u.order.payment_ref, STAMPEDE_PAYMENT_REF_MAX);
	printf("order 0x%016" PRIx64 ": %u %s%s in %s %" PRIu32 " of event %" PRIu32 ": ", r->u.order.order_id, n,
	       ga ? "ticket" : "seat", n == 1 ? "" : "s", ga ? "type" : "section", r->u.order.part_id,
	       r->u.order.event_id);
	print_list(r->u.order.items, n);
	printf("\n  from hold 0x%016" PRIx64 ", confirmed %s, payment ref \"", r->u.order.hold_id, when);
	for (const char *p = ref; *p; p++)
		putchar(*p >= 0x20 && *p < 0x7f ? *p : '?');
	printf("\"\n");
}

static int cmd_order(struct cli *cli, struct stampede_client *c)
{
	const uint64_t order = num_arg("ORDER_ID", cli->arg[0], 0, UINT64_MAX);
	struct stampede_result r;
	stampede_order(c, order, &r);
	return finish(cli, c, &r, ok_order, 0);
}

static void ok_seat_map(const struct stampede_client *c, const struct stampede_result *r)
{
	static const char glyph[4] = {'.', 'h', 'x', '-'};
	const uint32_t first = r->u.seat_map.first, count = r->u.seat_map.count;
	printf("event %" PRIu32 " section %" PRIu32 ": %" PRIu32 " seats \xe2\x80\x94 %" PRIu32 " free, %" PRIu32
	       " held, %" PRIu32 " sold\n",
	       r->u.seat_map.event_id, r->u.seat_map.part_id, r->u.seat_map.capacity, r->u.seat_map.free,
	       r->u.seat_map.held, r->u.seat_map.sold);
	if (count == 0) {
		printf("no seats from %" PRIu32 " on\n", first);
		return;
	}
	printf("seats %" PRIu32 "..%" PRIu32 " (. free, h held, x sold, - withheld):\n", first, first + count - 1);
	for (uint32_t i = 0; i < count; i += SEATMAP_ROW) {
		printf("%8" PRIu32 "  ", first + i);
		for (uint32_t k = i; k < count && k < i + SEATMAP_ROW; k++)
			putchar(glyph[STAMPEDE_SEAT_STATE(r->u.seat_map.seats[k])]);
		putchar('\n');
	}
	if ((uint64_t)first + count < r->u.seat_map.capacity)
		printf("more: --first %" PRIu32 "\n", first + count);
}

static int cmd_seat_map(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	const uint32_t part = (uint32_t)num_arg("PART", cli->arg[1], 0, UINT32_MAX);
	static uint8_t seats[STAMPEDE_SEATMAP_PAGE_MAX];
	struct stampede_result r;
	stampede_seat_map(c, event, part, cli->first, cli->count, seats, &r);
	return finish(cli, c, &r, ok_seat_map, part);
}

static void ok_queue(const struct stampede_client *c, const struct stampede_result *r)
{
	(void)c;
	char hex[2 * STAMPEDE_TOKEN_SIZE + 1];
	token_hex(r->u.queue.token, hex);
	switch (r->u.queue.state) {
	case STAMPEDE_QUEUE_WAITING:
		printf("waiting: position %" PRIu64 ", %" PRIu64 " ahead, about %" PRIu32 " s\nticket %s\n",
		       r->u.queue.position, r->u.queue.ahead, (r->u.queue.wait_ms + 999) / 1000, hex);
		break;
	case STAMPEDE_QUEUE_PREQUEUE:
		printf("pre-queue: the order is drawn at opening, in %" PRIu32 " s\nticket %s\n",
		       (r->u.queue.wait_ms + 999) / 1000, hex);
		break;
	case STAMPEDE_QUEUE_ADMITTED:
		printf("admitted at position %" PRIu64 "\naccess token %s\n", r->u.queue.position, hex);
		break;
	default:
		printf("no waiting room for event %" PRIu32 " now: hold without a token\n", r->u.queue.event_id);
		break;
	}
}

static int cmd_queue_join(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	struct stampede_result r;
	if (cli->code) {
		if (stampede_queue_join_code(c, event, cli->code, &r) == -EINVAL)
			usage_error("--code must be 1 to 32 printable ASCII characters without spaces, not '%s'",
				    cli->code);
	} else {
		stampede_queue_join(c, event, &r);
	}
	return finish(cli, c, &r, ok_queue, 0);
}

static int cmd_queue_poll(struct cli *cli, struct stampede_client *c)
{
	const uint32_t event = (uint32_t)num_arg("EVENT", cli->arg[0], 0, UINT32_MAX);
	uint8_t ticket[STAMPEDE_TOKEN_SIZE];
	parse_token("TICKET_HEX", cli->arg[1], ticket);
	struct stampede_result r;
	stampede_queue_poll(c, event, ticket, &r);
	return finish(cli, c, &r, ok_queue, 0);
}

static const struct command commands[] = {
	{"ping", "", 0, NULL, "Check that the server answers; show the round trip, its workers and its clock.",
	 cmd_ping},
	{"hold", "EVENT PART SEAT[,SEAT...]", 3, NULL,
	 "Hold the named seats (seat indexes in section PART, best first; a-b is a range), all or\n"
	 "nothing, at most 16. If one is taken, nothing is held and free alternatives are offered.",
	 cmd_hold},
	{"hold-best", "EVENT PART N [--tier T]", 3, "tier",
	 "Hold the N best adjacent seats (1..16) of section PART, of price tier T (default 0: any).", cmd_hold_best},
	{"hold-ga", "EVENT PART N", 3, NULL, "Hold N general-admission tickets (1..16) of ticket type PART.",
	 cmd_hold_ga},
	{"confirm", "HOLD_ID PAYMENT_REF", 2, NULL,
	 "Turn a hold into an order after payment; PAYMENT_REF (at most 32 bytes) is stored with\n"
	 "the order. Use the --client-id that made the hold.",
	 cmd_confirm},
	{"release", "HOLD_ID", 1, NULL,
	 "Give a hold back; its tickets go back on sale. Use the --client-id that made it.", cmd_release},
	{"order", "ORDER_ID", 1, NULL, "Show an order. Only the --client-id that confirmed it can read it.", cmd_order},
	{"seat-map", "EVENT PART [--first N] [--count N]", 2, "map",
	 "Show the states of seats FIRST..FIRST+COUNT-1 of section PART (default 0 and 1024, the\n"
	 "most one page holds).",
	 cmd_seat_map},
	{"queue-join", "EVENT [--code CODE]", 1, "code",
	 "Join the waiting room of EVENT. Prints the state, the position and the queue ticket\n"
	 "(keep it and the --client-id: the same ticket always gives the same place). Before the\n"
	 "on-sale time of an event with presale windows, give the presale CODE.",
	 cmd_queue_join},
	{"join", "EVENT [--code CODE]", 1, "code", "The same as queue-join.", cmd_queue_join},
	{"queue-poll", "EVENT TICKET_HEX", 2, NULL,
	 "Where the queue ticket (128 hex digits, from queue-join) stands now; once admitted, prints\n"
	 "the access token to pass to the hold commands with --token.",
	 cmd_queue_poll},
};

static void command_help(const struct command *cmd)
{
	printf("Usage: stampede [OPTIONS] %s%s%s\n\n%s\n\n", cmd->name, *cmd->args ? " " : "", cmd->args, cmd->help);
	printf("Options: --server HOST, --port N, --client-id N, --timeout MS, --retries N, --json\n"
	       "(see stampede --help). Ids are accepted in hex (0x...) or decimal.\n\n"
	       "Exit status: 0 ok, 1 refused, 2 usage error, 3 busy, unavailable or no answer,\n"
	       "4 protocol or socket error.\n");
}

int main(int argc, char **argv)
{
	struct cli cli;
	memset(&cli, 0, sizeof(cli));
	stampede_client_opts_init(&cli.o);
	cli.count = SEATMAP_COUNT_DEFAULT;

	const struct command *cmd = NULL;
	int want_help = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			want_help = 1;
			continue;
		}
		if (global_option(&cli, argc, argv, &i))
			continue;
		if (cmd && cmd->opts && !strcmp(cmd->opts, "tier") && !strcmp(a, "--tier")) {
			if (i + 1 >= argc)
				usage_error("--tier needs a value");
			cli.tier = (unsigned)num_arg("--tier", argv[++i], 0, 63);
			continue;
		}
		if (cmd && cmd->opts && !strcmp(cmd->opts, "code") && !strcmp(a, "--code")) {
			if (i + 1 >= argc)
				usage_error("--code needs a value");
			cli.code = argv[++i];
			continue;
		}
		if (cmd && cmd->opts && !strcmp(cmd->opts, "map") && (!strcmp(a, "--first") || !strcmp(a, "--count"))) {
			if (i + 1 >= argc)
				usage_error("%s needs a value", a);
			if (a[2] == 'f')
				cli.first = (uint32_t)num_arg("--first", argv[++i], 0, UINT32_MAX);
			else
				cli.count = (unsigned)num_arg("--count", argv[++i], 1, STAMPEDE_SEATMAP_PAGE_MAX);
			continue;
		}
		if (a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9'))
			usage_error("unknown option '%s'%s%s", a, cmd ? " for " : "", cmd ? cmd->name : "");
		if (!cmd) {
			for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
				if (!strcmp(a, commands[k].name))
					cmd = &commands[k];
			if (!cmd)
				usage_error("unknown command '%s'", a);
			continue;
		}
		if (cli.nargs >= cmd->nargs)
			usage_error("too many arguments for %s (usage: stampede %s %s)", cmd->name, cmd->name,
				    cmd->args);
		cli.arg[cli.nargs++] = a;
	}
	if (want_help) {
		if (cmd)
			command_help(cmd);
		else
			fputs(global_help, stdout);
		return EXIT_OK;
	}
	if (!cmd)
		usage_error("no command given");
	if (cli.nargs < cmd->nargs)
		usage_error("%s needs %s", cmd->name, cmd->args);
	if (cli.has_token && strncmp(cmd->name, "hold", 4) != 0)
		usage_error("--token is for hold, hold-best and hold-ga, not %s", cmd->name);

	char err[256];
	struct stampede_client *c = stampede_client_open(&cli.o, err, sizeof(err));
	if (!c) {
		const int e = errno;
		if (cli.json) {
			json_t *o = json_object();
			json_object_set_new(o, "op", json_string(cmd->name));
			json_object_set_new(o, "error", json_string("socket"));
			json_object_set_new(o, "errno", json_integer(e));
			json_object_set_new(o, "message", json_string(err));
			json_out(o);
		} else {
			fprintf(stderr, "%s: %s\n", prog, err);
		}
		return EXIT_FAILED;
	}
	const int rc = cmd->run(&cli, c);
	stampede_client_close(c);
	if (fflush(stdout) != 0)
		return EXIT_FAILED;
	return rc;
}
