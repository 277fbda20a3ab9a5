/*
 * bench_peers_common.h - what the two peer clients of `tools/bench peers`
 * (bench_peers_redis.c, bench_peers_pg.c) share: each connection's tally,
 * the run (threads started together, stopped at a deadline, tallies summed)
 * and the JSON line. The workload itself, and how each peer holds and
 * confirms, stays in each client.
 */
#ifndef STAMPEDE_BENCH_PEERS_COMMON_H
#define STAMPEDE_BENCH_PEERS_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* One connection's counts: the first member of each client's connection
 * struct, written only by that connection's thread. */
struct peer_tally {
	pthread_t th;
	unsigned idx; /* 0..conns-1 */
	uint64_t holds, confirms, refused, abandoned;
	uint64_t t_last_ns; /* when its last operation was acknowledged */
	int failed;
};

/* The sums over every connection after a run. */
struct peer_totals {
	uint64_t holds, confirms, refused, abandoned;
	uint64_t t0_ns, t_last_ns;
	int failed;
};

/* xorshift64: one connection's random numbers. x must not be NULL or point to 0. */
uint64_t peer_rng_next(uint64_t *x);

/*
 * Run n (>= 1) connections: conns is an array of n structs of stride bytes,
 * each starting with a struct peer_tally. Starts fn(&conn i) on a thread each
 * (fn waits on *start, a barrier this initialises for n + 1), sets *t0_ns to
 * now and *t_end_ns to now + seconds, releases them all at once, joins them,
 * calls close_conn(&conn i) for each, and sums the tallies into *tot.
 * Returns 0, or -1 when a thread could not be started (nothing is joined:
 * the process should exit).
 */
int peer_run(void *conns, size_t stride, unsigned n, void *(*fn)(void *), void (*close_conn)(void *),
	     pthread_barrier_t *start, double seconds, uint64_t *t0_ns, uint64_t *t_end_ns, struct peer_totals *tot);

/*
 * Print the run's JSON line on stdout: system, ops/s (holds + confirms per
 * second from t0 to the last acknowledgement), holds/s, confirms/s, the
 * counts, sold_out, duration, seats, conns, depth, then extra (a string of
 * more `,"key":value` members, or "").
 */
void peer_print(const char *system, const struct peer_totals *t, int sold_out, uint32_t seats, unsigned conns,
		unsigned depth, const char *extra);

#endif
