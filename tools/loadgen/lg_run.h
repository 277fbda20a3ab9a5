/*
 * lg_run.h - one run of stampede-loadgen: set up every table, drive the
 * buyers until they are all done, every ticket is acknowledged sold, the
 * --seconds cap passes or a signal comes; then drain the mutations in
 * flight.
 */
#ifndef LG_RUN_H
#define LG_RUN_H

#include "tools/loadgen/lg.h"

/* Allocate everything for cfg's scenario over plan and transport tr. 0, or
 * -1 with the reason in err. */
int lg_run_init(struct lg_run *r, struct lg_config *cfg, struct lg_plan *plan, struct lg_transport *tr, char *err,
		size_t errlen);
/* Run to the end; returns the duration in seconds. *stop (set by a signal
 * handler) ends it early like the cap. */
double lg_run_go(struct lg_run *r, volatile int *stop);
/* One turn of the loop at the time the caller set in r->now_us and
 * r->now_ms: arrivals, due timers, send, receive and dispatch, send.
 * Returns timers fired plus datagrams received. (lg_run_go calls it; tests
 * drive it with their own clock.) */
unsigned lg_run_step(struct lg_run *r);
void lg_run_free(struct lg_run *r);
/* Monotonic clock in microseconds. */
uint64_t lg_now_us(void);

#endif
