/*
 * bench_peers_pg.c - `tools/bench peers`, the PostgreSQL row: the workload of
 * `tools/bench dataplane` (hold a random free seat of an event, then confirm
 * the hold once it is acknowledged) against a PostgreSQL server.
 *
 *   stampede-peers-pg --conninfo STR [--seats N] [--seconds S] [--conns C]
 *                     [--depth D] [--batch B] [--ttl-ms T] [--abandon PCT] [--keep]
 *                     [--check]
 *
 * Table seats(id, state 0 free / 1 held / 2 sold, holder, hold_until), with a
 * partial index on the seats not sold. A hold is one UPDATE of the first free
 * (or expired) seat from a random id on, wrapping to the first one from 0,
 * each found with FOR UPDATE SKIP LOCKED so concurrent holds never wait on
 * each other; a confirm is one UPDATE that sells the seat if it is still
 * held, by that holder, and not expired.
 *
 * --conns connections (one thread each) in libpq pipeline mode keep --depth
 * transactions in flight, each of --batch statements (default 1: every hold
 * and every confirm is its own transaction, as autocommit gives). An op
 * counts when its transaction's commit is acknowledged (with
 * synchronous_commit on: once its WAL is flushed); a buyer confirms only
 * then. Runs until sold out or --seconds; holds still open then are
 * confirmed. --check (for tests) fails on a seat held after its sale or
 * sold twice. --abandon PCT of the holds are never confirmed (buyers who walk
 * away): their seats come back once the hold expires. The table is created
 * anew first, unless --keep. Prints one JSON line last:
 *   {"system":"postgres","ops_per_s":X,"holds_per_s":H,"confirms_per_s":C,...}
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/bench_peers_common.h"
#include "tools/bench_util.h"

#include <libpq-fe.h>

#define PG_CONNS_MAX 256
#define PG_DEPTH_MAX 256
#define PG_BATCH_MAX 256
#define PG_SEATS_MAX 10000000u

static const char pg_hold_sql[] =
	"UPDATE seats SET state = 1, holder = $1, hold_until = now() + $3::int * interval '1 millisecond' "
	"WHERE id = COALESCE("
	"(SELECT id FROM seats WHERE state < 2 AND id >= $2 AND (state = 0 OR hold_until < now()) "
	"ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED),"
	"(SELECT id FROM seats WHERE state < 2 AND (state = 0 OR hold_until < now()) "
	"ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)) "
	"RETURNING id";

static const char pg_confirm_sql[] =
	"UPDATE seats SET state = 2 WHERE id = $1 AND state = 1 AND holder = $2 AND hold_until > now()";

struct pg_op {
	uint32_t seat;
	int confirming;
	int sync_after; /* the last statement of its transaction */
	int ok;	/* answered: hold got a seat / confirm sold it */
	uint64_t holder;
};

struct pg_conn {
	struct peer_tally t; /* first: peer_run's view */
	PGconn *c;
};

static struct {
	const char *conninfo;
	uint32_t seats;
	double seconds;
	unsigned conns, depth, batch;
	uint64_t ttl_ms;
	unsigned abandon_pct;
	int check, keep;
	uint64_t t0_ns, t_end_ns;
	atomic_int sold_out;
	atomic_uchar *seat_state; /* --check: 1 once sold */
	pthread_barrier_t start;
} pg;

/* pg_connect: a connection, or NULL with a message. */
static PGconn *pg_connect(void)
{
	PGconn *c = PQconnectdb(pg.conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "peers-pg: connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pg_exec: runs SQL outside pipeline mode; 0 when it succeeded. */
static int pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		fprintf(stderr, "peers-pg: %.60s...: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return rc;
}

/* pg_setup: creates the seats table with every seat free. */
static int pg_setup(void)
{
	PGconn *c = pg_connect();
	if (!c)
		return -1;
	char fill[160];
	snprintf(fill, sizeof(fill), "INSERT INTO seats (id, state) SELECT g, 0 FROM generate_series(0, %u) g",
		 pg.seats - 1);
	int rc = pg_exec(c, "SET client_min_messages = warning") || pg_exec(c, "DROP TABLE IF EXISTS seats") ||
		 pg_exec(c, "CREATE TABLE seats (id int PRIMARY KEY, state smallint NOT NULL, holder bigint, "
			    "hold_until timestamptz)") ||
		 pg_exec(c, fill) || pg_exec(c, "CREATE INDEX seats_open ON seats (id) WHERE state < 2") ||
		 pg_exec(c, "VACUUM ANALYZE seats");
	PQfinish(c);
	return rc;
}

/* pg_send: queues one statement (the op's hold or confirm) in the pipeline. */
static int pg_send(struct pg_conn *k, const struct pg_op *op, uint64_t *rng)
{
	char a[24], b[24], t[24];
	const char *v[3] = {a, b, t};
	int rc;
	if (op->confirming) {
		snprintf(a, sizeof(a), "%u", op->seat);
		snprintf(b, sizeof(b), "%" PRIu64, op->holder);
		rc = PQsendQueryPrepared(k->c, "confirm", 2, v, NULL, NULL, 0);
	} else {
		snprintf(a, sizeof(a), "%" PRIu64, op->holder);
		snprintf(b, sizeof(b), "%u", (uint32_t)(peer_rng_next(rng) % pg.seats));
		snprintf(t, sizeof(t), "%" PRIu64, pg.ttl_ms);
		rc = PQsendQueryPrepared(k->c, "hold", 3, v, NULL, NULL, 0);
	}
	if (!rc || (op->sync_after && !PQpipelineSync(k->c))) {
		fprintf(stderr, "peers-pg: send: %s", PQerrorMessage(k->c));
		return -1;
	}
	return 0;
}

/* pg_result: reads the answer to one statement (its result, then the NULL
 * that ends it); sets op->ok. */
static int pg_result(struct pg_conn *k, struct pg_op *op)
{
	PGresult *r = PQgetResult(k->c);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (op->confirming && st == PGRES_COMMAND_OK) {
		op->ok = strcmp(PQcmdTuples(r), "1") == 0;
	} else if (!op->confirming && st == PGRES_TUPLES_OK) {
		op->ok = PQntuples(r) == 1;
		if (op->ok)
			op->seat = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	} else {
		fprintf(stderr, "peers-pg: %s: %s %s", op->confirming ? "confirm" : "hold", PQresStatus(st),
			PQerrorMessage(k->c));
		rc = -1;
	}
	PQclear(r);
	if (rc == 0 && (r = PQgetResult(k->c)) != NULL) {
		fprintf(stderr, "peers-pg: a second result for one statement\n");
		PQclear(r);
		rc = -1;
	}
	return rc;
}

/* pg_commit: the transaction of ops[from..] (n ops, ring of cap) committed:
 * counts them and queues a confirm for each hold (but --abandon of them). */
static void pg_commit(struct pg_conn *k, struct pg_op *ops, unsigned cap, unsigned from, unsigned n,
		      struct pg_op *pend, unsigned *pend_tail, unsigned *pend_n, uint64_t *rng)
{
	for (unsigned i = 0; i < n; i++) {
		struct pg_op *op = &ops[(from + i) % cap];
		if (op->confirming) {
			if (!op->ok) {
				k->t.refused++;
				continue;
			}
			k->t.confirms++;
			if (pg.check && atomic_exchange(&pg.seat_state[op->seat], 1)) {
				fprintf(stderr, "peers-pg: seat %u sold twice\n", op->seat);
				k->t.failed = 1;
			}
		} else if (op->ok) {
			k->t.holds++;
			if (op->seat >= pg.seats || (pg.check && atomic_load(&pg.seat_state[op->seat]))) {
				fprintf(stderr, "peers-pg: hold of seat %u, %s\n", op->seat,
					op->seat >= pg.seats ? "out of range" : "already sold");
				k->t.failed = 1;
			}
			if (pg.abandon_pct && peer_rng_next(rng) % 100 < pg.abandon_pct) {
				k->t.abandoned++;
				continue;
			}
			pend[*pend_tail] = (struct pg_op){.seat = op->seat, .confirming = 1, .holder = op->holder};
			*pend_tail = (*pend_tail + 1) % cap;
			(*pend_n)++;
		} else {
			atomic_store(&pg.sold_out, 1);
		}
	}
}

/* pg_run: one connection's buyers: keeps --depth transactions of --batch
 * statements in flight; the holds of a committed transaction are confirmed
 * in the next ones sent. */
static void *pg_run(void *arg)
{
	struct pg_conn *k = arg;
	const unsigned cap = pg.depth * pg.batch;
	struct pg_op *ops = calloc(cap, sizeof(*ops)), *pend = calloc(cap, sizeof(*pend));
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(k->t.idx + 1) * 0xbf58476d1ce4e5b9ull);
	uint64_t seq = 0;
	unsigned head = 0, n = 0, txns = 0, pend_head = 0, pend_tail = 0, pend_n = 0, txn_start = 0, txn_n = 0;
	pthread_barrier_wait(&pg.start);
	if (!ops || !pend || !PQenterPipelineMode(k->c)) {
		fprintf(stderr, "peers-pg: pipeline mode: %s", PQerrorMessage(k->c));
		k->t.failed = 1;
		goto out;
	}
	for (;;) {
		/* Fill: whole transactions while fewer than --depth are in flight. */
		while (txns < pg.depth) {
			const int stopping = atomic_load(&pg.sold_out) || bench_now_ns() >= pg.t_end_ns;
			unsigned m = 0;
			for (; m < pg.batch; m++) {
				struct pg_op op;
				if (pend_n) {
					op = pend[pend_head];
					pend_head = (pend_head + 1) % cap, pend_n--;
				} else if (!stopping) {
					op = (struct pg_op){.holder = ((uint64_t)(k->t.idx + 1) << 40) | ++seq};
				} else {
					break;
				}
				op.ok = 0;
				op.sync_after = 0;
				ops[(head + n) % cap] = op;
				n++;
			}
			if (m == 0)
				break;
			ops[(head + n - 1) % cap].sync_after = 1;
			for (unsigned i = n - m; i < n; i++)
				if (pg_send(k, &ops[(head + i) % cap], &rng)) {
					k->t.failed = 1;
					goto out;
				}
			txns++;
		}
		if (n == 0)
			break;
		if (PQflush(k->c) != 0) {
			fprintf(stderr, "peers-pg: flush: %s", PQerrorMessage(k->c));
			k->t.failed = 1;
			break;
		}
		/* Drain one transaction: its statements, then its sync. */
		struct pg_op *op = &ops[head];
		if (txn_n == 0)
			txn_start = head;
		if (pg_result(k, op)) {
			k->t.failed = 1;
			break;
		}
		txn_n++;
		head = (head + 1) % cap, n--;
		if (op->sync_after) {
			PGresult *r = PQgetResult(k->c);
			ExecStatusType st = PQresultStatus(r);
			PQclear(r);
			if (st != PGRES_PIPELINE_SYNC) {
				fprintf(stderr, "peers-pg: commit: %s %s", PQresStatus(st), PQerrorMessage(k->c));
				k->t.failed = 1;
				break;
			}
			k->t.t_last_ns = bench_now_ns();
			pg_commit(k, ops, cap, txn_start, txn_n, pend, &pend_tail, &pend_n, &rng);
			txn_n = 0;
			txns--;
		}
	}
out:
	free(ops);
	free(pend);
	return NULL;
}

/* pg_close: peer_run's end of one connection (conn: a struct pg_conn). */
static void pg_close(void *conn)
{
	PQfinish(((struct pg_conn *)conn)->c);
}

static void usage(void)
{
	fprintf(stderr, "usage: stampede-peers-pg --conninfo STR [--seats N] [--seconds S] [--conns C] [--depth D] "
			"[--batch B] [--ttl-ms T] [--abandon PCT] [--keep] [--check]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"conninfo", required_argument, NULL, 'C'},
					     {"seats", required_argument, NULL, 'n'},
					     {"seconds", required_argument, NULL, 's'},
					     {"conns", required_argument, NULL, 'c'},
					     {"depth", required_argument, NULL, 'd'},
					     {"batch", required_argument, NULL, 'b'},
					     {"ttl-ms", required_argument, NULL, 't'},
					     {"abandon", required_argument, NULL, 'a'},
					     {"keep", no_argument, NULL, 'K'},
					     {"check", no_argument, NULL, 'k'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	pg.seats = 150000, pg.seconds = 5, pg.conns = 32, pg.depth = 4, pg.batch = 1, pg.ttl_ms = 600000;
	int o;
	char *end;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long long v = 0;
		if (o == 'n' || o == 'c' || o == 'd' || o == 'b' || o == 't' || o == 'a') {
			v = strtoull(optarg, &end, 10);
			if (*end || end == optarg) {
				fprintf(stderr, "peers-pg: not a number: %s\n", optarg);
				return 2;
			}
		}
		switch (o) {
		case 'C': pg.conninfo = optarg; break;
		case 'n': pg.seats = (uint32_t)(v > PG_SEATS_MAX ? 0 : v); break;
		case 's':
			pg.seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(pg.seconds > 0)) {
				fprintf(stderr, "peers-pg: --seconds: not a positive number: %s\n", optarg);
				return 2;
			}
			break;
		case 'c': pg.conns = (unsigned)(v > PG_CONNS_MAX ? 0 : v); break;
		case 'd': pg.depth = (unsigned)(v > PG_DEPTH_MAX ? 0 : v); break;
		case 'b': pg.batch = (unsigned)(v > PG_BATCH_MAX ? 0 : v); break;
		case 't': pg.ttl_ms = v > INT32_MAX ? 0 : v; break;
		case 'a': pg.abandon_pct = (unsigned)(v > 99 ? 100 : v); break;
		case 'K': pg.keep = 1; break;
		case 'k': pg.check = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || !pg.conninfo || !pg.seats || !pg.conns || !pg.depth || !pg.batch || !pg.ttl_ms ||
	    pg.abandon_pct > 99) {
		fprintf(stderr,
			"peers-pg: need --conninfo, and --seats 1..%u, --conns 1..%d, --depth 1..%d, --batch 1..%d, "
			"--ttl-ms 1..%d, --abandon 0..99\n",
			PG_SEATS_MAX, PG_CONNS_MAX, PG_DEPTH_MAX, PG_BATCH_MAX, INT32_MAX);
		usage();
		return 2;
	}
	if (!pg.keep && pg_setup())
		return 1;
	pg.seat_state = calloc(pg.seats, sizeof(*pg.seat_state));
	struct pg_conn *k = calloc(pg.conns, sizeof(*k));
	if (!pg.seat_state || !k)
		return 1;
	for (unsigned i = 0; i < pg.conns; i++) {
		k[i].t.idx = i;
		if (!(k[i].c = pg_connect()))
			return 1;
		PGresult *r = PQprepare(k[i].c, "hold", pg_hold_sql, 3, NULL);
		int bad = PQresultStatus(r) != PGRES_COMMAND_OK;
		PQclear(r);
		if (!bad) {
			r = PQprepare(k[i].c, "confirm", pg_confirm_sql, 2, NULL);
			bad = PQresultStatus(r) != PGRES_COMMAND_OK;
			PQclear(r);
		}
		if (bad) {
			fprintf(stderr, "peers-pg: prepare: %s", PQerrorMessage(k[i].c));
			return 1;
		}
	}
	struct peer_totals tot;
	if (peer_run(k, sizeof(*k), pg.conns, pg_run, pg_close, &pg.start, pg.seconds, &pg.t0_ns, &pg.t_end_ns, &tot) != 0)
		return 1;
	char extra[32];
	snprintf(extra, sizeof(extra), ",\"batch\":%u", pg.batch);
	peer_print("postgres", &tot, atomic_load(&pg.sold_out), pg.seats, pg.conns, pg.depth, extra);
	free(k);
	free((void *)pg.seat_state);
	return tot.failed || (tot.refused && !pg.abandon_pct) ? 1 : 0; /* with --abandon, short holds may expire */
}
