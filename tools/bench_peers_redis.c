/*
 * bench_peers_redis.c - `tools/bench peers`, the Redis row: the workload of
 * `tools/bench dataplane` (hold a random free seat of an event, then confirm
 * the hold once it is acknowledged) against a Redis server, two Lua scripts
 * run by EVALSHA.
 *
 *   stampede-peers-redis --socket PATH [--seats N] [--seconds S] [--conns C]
 *                        [--depth D] [--ttl-ms T] [--abandon PCT] [--keep] [--check]
 *
 * Data (hash tag {st} so all keys share one slot):
 *   {st}:state   a string, one byte per seat: '0' free, 'H' held, 'S' sold
 *   {st}:exp     sorted set: held seat -> hold expiry (ms since the epoch)
 *   {st}:holder  hash: held seat -> holder id
 *   {st}:free    count of free seats; {st}:sold count of confirms
 * The hold script first frees up to 4 expired holds, then starts at the
 * random seat the client passes and probes forward (256 bytes at a time,
 * wrapping) to the first free seat, holds it for --ttl-ms and returns its
 * index (-1: sold out). The confirm script turns a hold into a sale when the
 * seat is held by that holder and the hold has not expired (1; 0 not held by
 * this holder; -2 expired, and the seat is freed).
 *
 * --conns connections (one thread each) keep --depth requests in flight
 * (hiredis pipelining). A buyer confirms once its hold is answered (Redis
 * answers after the AOF fsync with appendfsync always). Runs until sold out or
 * --seconds; holds still open then are confirmed. An op counts when Redis
 * has answered it. --check (for tests) also tracks each seat and fails on a
 * seat held after its sale or sold twice. --abandon PCT of the holds are
 * never confirmed (buyers who walk away): their seats come back once the hold
 * expires. The keys are reset first, unless --keep. Prints one JSON line last:
 *   {"system":"redis","ops_per_s":X,"holds_per_s":H,"confirms_per_s":C,...}
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/bench_peers_common.h"
#include "tools/bench_util.h"

#include <hiredis/hiredis.h>

#define PR_CONNS_MAX 64
#define PR_DEPTH_MAX 4096
#define PR_SEATS_MAX 10000000u

/* KEYS: taken bitmap, holder hash, expiry zset. ARGV: holder, start seat,
 * now (ms), ttl (ms). */
static const char pr_hold_lua[] =
	"local s = redis.call('BITPOS', KEYS[1], 0, ARGV[2], -1, 'BIT')\n"
	"if s < 0 then s = redis.call('BITPOS', KEYS[1], 0, 0, -1, 'BIT') end\n"
	"if s < 0 then\n"
	"  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3], 'LIMIT', 0, 1)\n"
	"  if not gone[1] then return -1 end\n"
	"  s = tonumber(gone[1])\n"
	"else\n"
	"  redis.call('SETBIT', KEYS[1], s, 1)\n"
	"end\n"
	"local e = tonumber(ARGV[3]) + tonumber(ARGV[4])\n"
	"redis.call('HSET', KEYS[2], s, ARGV[1] .. ':' .. e)\n"
	"redis.call('ZADD', KEYS[3], e, s)\n"
	"return s\n";

/* KEYS: taken bitmap, holder hash, expiry zset. ARGV: seat, holder, now. */
static const char pr_confirm_lua[] =
	"local h = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"if not h then return 0 end\n"
	"local c = string.find(h, ':', 1, true)\n"
	"if string.sub(h, 1, c - 1) ~= ARGV[2] then return 0 end\n"
	"redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"if tonumber(string.sub(h, c + 1)) <= tonumber(ARGV[3]) then\n"
	"  redis.call('SETBIT', KEYS[1], ARGV[1], 0)\n"
	"  return -2\n"
	"end\n"
	"return 1\n";

#define PR_KEYS "{st}:taken {st}:holder {st}:exp"

struct pr_op {
	uint32_t seat;
	int confirming;
	uint64_t holder;
};

struct pr_conn {
	struct peer_tally t; /* first: peer_run's view */
	redisContext *c;
};

static struct {
	const char *socket;
	uint32_t seats;
	double seconds;
	unsigned conns, depth;
	uint64_t ttl_ms;
	unsigned abandon_pct;
	int check, keep;
	char hold_sha[48], confirm_sha[48];
	uint64_t t0_ns, t_end_ns;
	atomic_int sold_out;
	atomic_uchar *seat_state; /* --check: 0 free/held, 1 sold */
	pthread_barrier_t start;
} pr;

/* pr_connect: a connection to the server's unix socket, or NULL with a
 * message. */
static redisContext *pr_connect(void)
{
	redisContext *c = redisConnectUnix(pr.socket);
	if (!c || c->err) {
		fprintf(stderr, "peers-redis: connect %s: %s\n", pr.socket, c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	return c;
}

/* pr_cmd_ok: runs one command; 0 when it was answered without an error,
 * copying a string answer into out (if given). */
static int pr_cmd_ok(redisContext *c, char *out, size_t out_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (!r) {
		fprintf(stderr, "peers-redis: %s: %s\n", fmt, c->errstr);
		return -1;
	}
	int rc = r->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rc)
		fprintf(stderr, "peers-redis: %s: %s\n", fmt, r->str);
	else if (out && r->type == REDIS_REPLY_STRING)
		snprintf(out, out_len, "%s", r->str);
	freeReplyObject(r);
	return rc;
}

/* pr_setup: resets the keys to seats free seats (unless keep) and loads both
 * scripts. */
static int pr_setup(int keep)
{
	redisContext *c = pr_connect();
	if (!c)
		return -1;
	/* Bit i is seat i (SETBIT order: the high bit of byte 0 first); the
	 * bits past the last seat are set, so BITPOS never finds them free. */
	const size_t len = (pr.seats + 7) / 8;
	unsigned char *bits = calloc(len, 1);
	if (!bits) {
		redisFree(c);
		return -1;
	}
	bits[len - 1] = (unsigned char)((1u << (len * 8 - pr.seats)) - 1);
	int rc = (!keep && (pr_cmd_ok(c, NULL, 0, "DEL " PR_KEYS) ||
			    pr_cmd_ok(c, NULL, 0, "SET {st}:taken %b", bits, len))) ||
		 pr_cmd_ok(c, pr.hold_sha, sizeof(pr.hold_sha), "SCRIPT LOAD %s", pr_hold_lua) ||
		 pr_cmd_ok(c, pr.confirm_sha, sizeof(pr.confirm_sha), "SCRIPT LOAD %s", pr_confirm_lua);
	free(bits);
	redisFree(c);
	return rc ? -1 : 0;
}

/* pr_send: appends one request (a hold of a random seat, or the confirm of
 * the op's hold) to the connection's output buffer. */
static void pr_send(struct pr_conn *k, const struct pr_op *op, uint64_t *rng)
{
	if (op->confirming) {
		redisAppendCommand(k->c, "EVALSHA %s 3 " PR_KEYS " %u %" PRIu64 " %" PRIu64, pr.confirm_sha, op->seat,
				   op->holder, bench_wall_ms());
	} else {
		redisAppendCommand(k->c, "EVALSHA %s 3 " PR_KEYS " %" PRIu64 " %u %" PRIu64 " %" PRIu64, pr.hold_sha,
				   op->holder, (uint32_t)(peer_rng_next(rng) % pr.seats), bench_wall_ms(), pr.ttl_ms);
	}
}

/* pr_run: one connection's buyers. A ring of --depth ops in flight, in the
 * order they were sent (Redis answers in order); each answer is replaced by
 * the next op of that buyer: its confirm, or a new hold. */
static void *pr_run(void *arg)
{
	struct pr_conn *k = arg;
	struct pr_op *ring = calloc(pr.depth, sizeof(*ring));
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(k->t.idx + 1) * 0xbf58476d1ce4e5b9ull);
	uint64_t seq = 0;
	unsigned head = 0, n = 0;
	pthread_barrier_wait(&pr.start);
	if (!ring) {
		k->t.failed = 1;
		return NULL;
	}
	for (; n < pr.depth; n++) {
		ring[n] = (struct pr_op){.holder = ((uint64_t)(k->t.idx + 1) << 40) | ++seq};
		pr_send(k, &ring[n], &rng);
	}
	while (n > 0) {
		redisReply *r;
		if (redisGetReply(k->c, (void **)&r) != REDIS_OK) {
			fprintf(stderr, "peers-redis: connection %u: %s\n", k->t.idx, k->c->errstr);
			k->t.failed = 1;
			break;
		}
		struct pr_op *op = &ring[head];
		const uint64_t t = bench_now_ns();
		if (r->type != REDIS_REPLY_INTEGER) {
			fprintf(stderr, "peers-redis: unexpected answer to a %s: %s\n", op->confirming ? "confirm" : "hold",
				r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
			freeReplyObject(r);
			k->t.failed = 1;
			break;
		}
		long long v = r->integer;
		freeReplyObject(r);
		k->t.t_last_ns = t;
		int next = 0; /* 1: this slot sends another op */
		if (op->confirming) {
			if (v == 1) {
				k->t.confirms++;
				if (pr.check && atomic_exchange(&pr.seat_state[op->seat], 1)) {
					fprintf(stderr, "peers-redis: seat %u sold twice\n", op->seat);
					k->t.failed = 1;
				}
			} else {
				k->t.refused++;
			}
			op->confirming = 0;
			op->holder = ((uint64_t)(k->t.idx + 1) << 40) | ++seq;
			next = !atomic_load(&pr.sold_out) && t < pr.t_end_ns;
		} else if (v >= 0) {
			k->t.holds++;
			op->seat = (uint32_t)v;
			if (v >= pr.seats || (pr.check && atomic_load(&pr.seat_state[op->seat]))) {
				fprintf(stderr, "peers-redis: hold of seat %lld, %s\n", v,
					v >= pr.seats ? "out of range" : "already sold");
				k->t.failed = 1;
			}
			if (pr.abandon_pct && peer_rng_next(&rng) % 100 < pr.abandon_pct) {
				k->t.abandoned++; /* this buyer walks away; the next one holds */
				op->holder = ((uint64_t)(k->t.idx + 1) << 40) | ++seq;
				next = !atomic_load(&pr.sold_out) && t < pr.t_end_ns;
			} else {
				op->confirming = 1;
				next = 1;
			}
		} else {
			atomic_store(&pr.sold_out, 1);
		}
		head = head + 1 == pr.depth ? 0 : head + 1;
		if (next) {
			/* Answers come in order: the slot just freed is the ring's tail. */
			unsigned tail = (head + n - 1) % pr.depth;
			ring[tail] = *op;
			pr_send(k, &ring[tail], &rng);
		} else {
			n--;
		}
	}
	free(ring);
	return NULL;
}

/* pr_close: peer_run's end of one connection (conn: a struct pr_conn). */
static void pr_close(void *conn)
{
	redisFree(((struct pr_conn *)conn)->c);
}

static void usage(void)
{
	fprintf(stderr, "usage: stampede-peers-redis --socket PATH [--seats N] [--seconds S] [--conns C] [--depth D] "
			"[--ttl-ms T] [--abandon PCT] [--keep] [--check]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 'S'},
					     {"seats", required_argument, NULL, 'n'},
					     {"seconds", required_argument, NULL, 's'},
					     {"conns", required_argument, NULL, 'c'},
					     {"depth", required_argument, NULL, 'd'},
					     {"ttl-ms", required_argument, NULL, 't'},
					     {"abandon", required_argument, NULL, 'a'},
					     {"keep", no_argument, NULL, 'K'},
					     {"check", no_argument, NULL, 'k'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	pr.seats = 150000, pr.seconds = 5, pr.conns = 4, pr.depth = 256, pr.ttl_ms = 600000;
	int o;
	char *end;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long long v = 0;
		if (o == 'n' || o == 'c' || o == 'd' || o == 't' || o == 'a') {
			v = strtoull(optarg, &end, 10);
			if (*end || end == optarg) {
				fprintf(stderr, "peers-redis: not a number: %s\n", optarg);
				return 2;
			}
		}
		switch (o) {
		case 'S': pr.socket = optarg; break;
		case 'n': pr.seats = (uint32_t)(v > PR_SEATS_MAX ? 0 : v); break;
		case 's':
			pr.seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(pr.seconds > 0)) {
				fprintf(stderr, "peers-redis: --seconds: not a positive number: %s\n", optarg);
				return 2;
			}
			break;
		case 'c': pr.conns = (unsigned)(v > PR_CONNS_MAX ? 0 : v); break;
		case 'd': pr.depth = (unsigned)(v > PR_DEPTH_MAX ? 0 : v); break;
		case 't': pr.ttl_ms = v; break;
		case 'a': pr.abandon_pct = (unsigned)(v > 99 ? 100 : v); break;
		case 'K': pr.keep = 1; break;
		case 'k': pr.check = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || !pr.socket || !pr.seats || !pr.conns || !pr.depth || !pr.ttl_ms ||
	    pr.abandon_pct > 99) {
		fprintf(stderr, "peers-redis: need --socket, and --seats 1..%u, --conns 1..%d, --depth 1..%d, --ttl-ms > 0, "
				"--abandon 0..99\n",
			PR_SEATS_MAX, PR_CONNS_MAX, PR_DEPTH_MAX);
		usage();
		return 2;
	}
	if (pr_setup(pr.keep))
		return 1;
	pr.seat_state = calloc(pr.seats, sizeof(*pr.seat_state));
	struct pr_conn *k = calloc(pr.conns, sizeof(*k));
	if (!pr.seat_state || !k)
		return 1;
	for (unsigned i = 0; i < pr.conns; i++) {
		k[i].t.idx = i;
		if (!(k[i].c = pr_connect()))
			return 1;
	}
	struct peer_totals tot;
	if (peer_run(k, sizeof(*k), pr.conns, pr_run, pr_close, &pr.start, pr.seconds, &pr.t0_ns, &pr.t_end_ns, &tot) != 0)
		return 1;
	peer_print("redis", &tot, atomic_load(&pr.sold_out), pr.seats, pr.conns, pr.depth, "");
	free(k);
	free((void *)pr.seat_state);
	return tot.failed || (tot.refused && !pr.abandon_pct) ? 1 : 0; /* with --abandon, short holds may expire */
}
