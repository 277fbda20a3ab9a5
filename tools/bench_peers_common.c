/*
 * bench_peers_common.c - the run and the report shared by the peer clients
 * of `tools/bench peers` (bench_peers_common.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "tools/bench_peers_common.h"
#include "tools/bench_util.h"

uint64_t peer_rng_next(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* conns, fn, close_conn, start, t0_ns, t_end_ns, tot: not NULL; n >= 1 (header). */
int peer_run(void *conns, size_t stride, unsigned n, void *(*fn)(void *), void (*close_conn)(void *),
	     pthread_barrier_t *start, double seconds, uint64_t *t0_ns, uint64_t *t_end_ns, struct peer_totals *tot)
{
	char *base = conns;
	pthread_barrier_init(start, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		struct peer_tally *t = (struct peer_tally *)(void *)(base + (size_t)i * stride);
		if (pthread_create(&t->th, NULL, fn, t) != 0) {
			fprintf(stderr, "peers: cannot start thread %u\n", i);
			return -1;
		}
	}
	*t0_ns = bench_now_ns();
	*t_end_ns = *t0_ns + (uint64_t)(seconds * 1e9);
	pthread_barrier_wait(start);
	*tot = (struct peer_totals){.t0_ns = *t0_ns, .t_last_ns = *t0_ns};
	for (unsigned i = 0; i < n; i++) {
		struct peer_tally *t = (struct peer_tally *)(void *)(base + (size_t)i * stride);
		pthread_join(t->th, NULL);
		tot->holds += t->holds, tot->confirms += t->confirms;
		tot->refused += t->refused, tot->abandoned += t->abandoned;
		tot->failed |= t->failed;
		if (t->t_last_ns > tot->t_last_ns)
			tot->t_last_ns = t->t_last_ns;
		close_conn(t);
	}
	return 0;
}

/* system, t, extra: not NULL (header). */
void peer_print(const char *system, const struct peer_totals *t, int sold_out, uint32_t seats, unsigned conns,
		unsigned depth, const char *extra)
{
	const double dur = (double)(t->t_last_ns - t->t0_ns) / 1e9;
	printf("{\"system\":\"%s\",\"ops_per_s\":%.0f,\"holds_per_s\":%.0f,\"confirms_per_s\":%.0f,\"holds\":%" PRIu64
	       ",\"confirms\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"abandoned\":%" PRIu64
	       ",\"sold_out\":%s,\"duration_s\":%.3f,\"seats\":%u,\"conns\":%u,\"depth\":%u%s}\n",
	       system, dur > 0 ? (double)(t->holds + t->confirms) / dur : 0, dur > 0 ? (double)t->holds / dur : 0,
	       dur > 0 ? (double)t->confirms / dur : 0, t->holds, t->confirms, t->refused, t->abandoned,
	       sold_out ? "true" : "false", dur, seats, conns, depth, extra);
}
