/*
 * lg_run.c - the event loop of stampede-loadgen (lg_run.h): one thread;
 * arrivals, timers, packing and sending, receiving; a progress line once a
 * second; per-second series for the plot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/loadgen/lg_report.h"
#include "tools/loadgen/lg_run.h"

#define LG_WAIT_MAX_US 5000u   /* the longest sleep in the loop */
#define LG_DRAIN_EXTRA_MS 1000 /* after the cap: horizon + last timeout + this, at most */

/* See lg_run.h. */
uint64_t lg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* See lg_run.h. */
int lg_run_init(struct lg_run *r, struct lg_config *cfg, struct lg_plan *plan, struct lg_transport *tr, char *err,
		size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->plan = plan;
	r->tr = tr;
	r->n_buyers = cfg->sc.buyers;
	r->buyers = calloc(r->n_buyers, sizeof(*r->buyers));
	r->tnodes = calloc((size_t)r->n_buyers + cfg->inflight, sizeof(*r->tnodes));
	r->orders_max = r->n_buyers;
	r->orders = calloc(r->orders_max, sizeof(*r->orders));
	r->secs = calloc((size_t)cfg->seconds + 64, sizeof(*r->secs));
	if (!r->buyers || !r->tnodes || !r->orders || !r->secs) {
		snprintf(err, errlen, "out of memory for %u buyers", r->n_buyers);
		return -1;
	}
	for (uint32_t i = 0; i < r->n_buyers; i++) {
		r->buyers[i].req = LG_NONE;
		r->buyers[i].next_slot = LG_NONE;
	}
	r->slot_wait_head = r->slot_wait_tail = LG_NONE;
	r->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ULL;
	if (lg_req_init(r, err, errlen) != 0)
		return -1;
	r->t0_us = r->now_us = lg_now_us();
	r->now_ms = r->now_us / 1000u;
	lg_wheel_init(&r->wheel, r->tnodes, r->n_buyers + r->n_reqs, r->now_ms);
	return 0;
}

/* A timer fired: buyers' nodes come first, then the request slots'. */
static void fire(void *ctx, uint32_t node)
{
	struct lg_run *r = ctx;
	if (node < r->n_buyers)
		lg_buyer_timer(r, node);
	else
		lg_req_timer(r, node - r->n_buyers);
}

/* Close the seconds that have passed (their p99) and open the current one. */
static void tick_seconds(struct lg_run *r)
{
	uint32_t sec = (uint32_t)((r->now_us - r->t0_us) / 1000000u);
	uint32_t cap = r->cfg->seconds + 64;
	while (r->n_secs <= sec && r->n_secs < cap) {
		if (r->n_secs) {
			r->secs[r->n_secs - 1].p99_us = (uint32_t)lg_hist_quantile(&r->sec_lat, 0.99);
			lg_hist_reset(&r->sec_lat);
		}
		r->n_secs++;
		if (r->cfg->progress == 1)
			lg_report_progress(stderr, r);
	}
}

/* Let buyers arrive as the scenario says. */
static void arrivals(struct lg_run *r)
{
	const struct lg_scenario *sc = &r->cfg->sc;
	if (r->stopping)
		return;
	uint64_t due;
	switch (sc->arrival) {
	case LG_ARRIVE_ONCE: due = r->n_buyers; break;
	case LG_ARRIVE_RATE: due = (r->now_us - r->t0_us) * sc->rate_per_s / 1000000u + 1; break;
	default: due = r->next_arrival ? 0 : sc->concurrency; break; /* then one per buyer finished */
	}
	if (due > r->n_buyers)
		due = r->n_buyers;
	while (r->next_arrival < due)
		lg_buyer_arrive(r, r->next_arrival++);
}

/* See lg_run.h. */
unsigned lg_run_step(struct lg_run *r)
{
	arrivals(r);
	unsigned work = lg_wheel_run(&r->wheel, r->now_ms, fire, r);
	lg_req_flush(r);
	work += lg_req_poll(r);
	lg_req_flush(r);
	return work;
}

/* See lg_run.h. */
double lg_run_go(struct lg_run *r, volatile int *stop)
{
	const struct lg_config *c = r->cfg;
	uint64_t cap_us = r->t0_us + (uint64_t)c->seconds * 1000000u;
	uint64_t drain_end_us = 0;
	for (;;) {
		r->now_us = lg_now_us();
		r->now_ms = r->now_us / 1000u;
		tick_seconds(r);
		/* Finished: every buyer done, or nothing left to sell until
		 * abandoned holds lapse (every sellable ticket sold or in one). */
		int finished = r->st.done >= r->n_buyers ||
			       (r->plan->capacity && r->st.sold_acked + r->st.held_abandoned >= r->plan->capacity);
		if (!r->stopping && (finished || r->now_us >= cap_us || *stop)) {
			r->stopping = 1;
			drain_end_us = r->now_us + ((uint64_t)c->horizon_ms + c->timeout_max_ms + LG_DRAIN_EXTRA_MS) * 1000u;
		}
		if (r->stopping && (r->n_free == r->n_reqs || r->now_us >= drain_end_us || *stop > 1))
			break;
		unsigned work = lg_run_step(r);
		if (!work && !r->ring_n) {
			uint64_t ms = lg_wheel_next_ms(&r->wheel, LG_WAIT_MAX_US / 1000u);
			r->tr->wait(r->tr, ms ? (unsigned)(ms * 1000u) : 200u);
		}
	}
	r->now_us = lg_now_us();
	if (r->n_secs)
		r->secs[r->n_secs - 1].p99_us = (uint32_t)lg_hist_quantile(&r->sec_lat, 0.99);
	if (c->progress == 1) {
		lg_report_progress(stderr, r);
		fputc('\n', stderr);
	}
	return (double)(r->now_us - r->t0_us) / 1e6;
}

/* See lg_run.h. */
void lg_run_free(struct lg_run *r)
{
	free(r->buyers);
	free(r->tnodes);
	free(r->orders);
	free(r->secs);
	free(r->reqs);
	free(r->free_reqs);
	free(r->ring);
	memset(r, 0, sizeof(*r));
}
