/*
 * crash_common.h - what crash_child (the workload that gets SIGKILLed) and
 * test_crash (the parent that recovers and checks) must agree on: worker
 * count, engine table sizes, the event layout, the acknowledgement file.
 *
 * Acknowledgement file (one per child run), written by the child with one
 * write(2) per complete line, so a SIGKILL leaves whole lines only (the
 * parent still ignores a trailing partial line):
 *
 *   c <hold_id>                     intent: a confirm of this acked hold is
 *                                   about to execute (written before it)
 *   r <hold_id>                     intent: a release, likewise
 *   H <hold_id> <client> <event> <part> <expiry_ms> <n> <item>...
 *                                   the hold is durable (reply may leave)
 *   C <order_id> <hold_id> <client> <request_id> <n> <item>...
 *                                   the confirm is durable; the payment
 *                                   reference is crash_payref(request_id)
 *   R <hold_id> <client> <request_id>
 *                                   the release is durable
 *   K <order_id> <hold_id>          a reply telling the client its hold is
 *                                   already order_id (release right after
 *                                   the confirm) has left
 *   Q <hold_id> <client> <release_request_id>
 *                                   a reply telling the client its hold is
 *                                   already released (confirm right after
 *                                   the release) has left
 *   X <text>                        the child saw something wrong
 *
 * Numbers are decimal. Confirms and releases name only holds acknowledged
 * (H) before, by the same child, each at most once.
 */
#ifndef STAMPEDE_TESTS_CRASH_COMMON_H
#define STAMPEDE_TESTS_CRASH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/dp_engine.h"
#include "dataplane/dp_types.h"

#define CR_WORKERS 2
#define CR_MAP_SIZE (4ull << 30)
#define CR_TTL_MS (60u * 60u * 1000u) /* 1 h: nothing expires during the test */
#define CR_LIMIT 1000u
#define CR_EVENT_BASE 1000u           /* round r loads event CR_EVENT_BASE + r */

/* 4 sections of 60 rows x 100 seats (every 41st seat withheld), GA types of
 * 12000 and 120 tickets (the small one runs dry and rebalances). Big enough
 * that a round of a few hundred ms at full speed does not sell out. */
#define CR_N_SEC 4
#define CR_ROWS 60
#define CR_PER_ROW 100
#define CR_SEATS (CR_ROWS * CR_PER_ROW)
#define CR_N_GA 2
#define CR_N_PARTS (CR_N_SEC + CR_N_GA)
static const uint32_t cr_part_ids[CR_N_PARTS] = {1, 2, 3, 4, 20, 21};
static const uint32_t cr_part_caps[CR_N_PARTS] = {CR_SEATS, CR_SEATS, CR_SEATS, CR_SEATS, 12000, 120};

/* The child retries a busy request on its next turn: a short horizon fits. */
#define CR_IDEM_HORIZON_MS 100u

static inline void crash_config(struct dp_config *cfg)
{
	dp_config_defaults(cfg, CR_WORKERS);
	cfg->holds_max = 1u << 17;
	cfg->orders_max = 1u << 17;
	cfg->idem_max = 1u << 16;
	cfg->idem_horizon_ms = CR_IDEM_HORIZON_MS;
	cfg->buyers_max = 1u << 14;
}

/* The payment reference a confirm with this request id carries. */
static inline void crash_payref(uint64_t request_id, uint8_t out[ST_PAYMENT_REF_SIZE])
{
	for (unsigned i = 0; i < ST_PAYMENT_REF_SIZE; i++)
		out[i] = (uint8_t)(request_id >> (8 * (i % 8))) ^ (uint8_t)(0x5a + i);
}

struct crash_event {
	struct dp_event_def def;
	struct dp_tier_def tiers[3];
	struct dp_section_def secs[CR_N_SEC];
	struct dp_ga_def ga[CR_N_GA];
	struct dp_seat_def seats[CR_SEATS];
	char rows[CR_ROWS][DP_ROW_LABEL_MAX];
};

/* Fill *ce (its pointers point into itself: do not copy it). */
static inline void crash_event_build(struct crash_event *ce, uint32_t event_id)
{
	memset(ce, 0, sizeof(*ce));
	struct dp_event_def *d = &ce->def;
	d->id = event_id;
	snprintf(d->name, sizeof(d->name), "crash %u", event_id);
	d->hold_ttl_ms = CR_TTL_MS;
	d->buyer_limit = CR_LIMIT;
	for (unsigned t = 0; t < 3; t++) {
		ce->tiers[t].id = (uint8_t)(t + 1);
		snprintf(ce->tiers[t].name, DP_NAME_MAX, "t%u", t + 1);
		ce->tiers[t].price_cents = 500 * (t + 1);
	}
	d->n_tiers = 3;
	d->tiers = ce->tiers;
	for (unsigned r = 0; r < CR_ROWS; r++)
		snprintf(ce->rows[r], DP_ROW_LABEL_MAX, "%u", r + 1);
	for (unsigned i = 0; i < CR_SEATS; i++) {
		ce->seats[i].row = (uint16_t)(i / CR_PER_ROW);
		ce->seats[i].number = (uint16_t)(i % CR_PER_ROW + 1);
		ce->seats[i].tier = (uint8_t)(i / CR_PER_ROW < CR_ROWS / 2 ? 1 : 2);
		ce->seats[i].flags = (i % 41 == 40) ? DP_SEAT_WITHHELD : 0;
	}
	for (unsigned s = 0; s < CR_N_SEC; s++) {
		ce->secs[s].id = cr_part_ids[s];
		snprintf(ce->secs[s].name, DP_NAME_MAX, "s%u", cr_part_ids[s]);
		ce->secs[s].n_rows = CR_ROWS;
		ce->secs[s].row_labels = ce->rows;
		ce->secs[s].n_seats = CR_SEATS;
		ce->secs[s].seats = ce->seats;
	}
	d->n_sections = CR_N_SEC;
	d->sections = ce->secs;
	for (unsigned g = 0; g < CR_N_GA; g++) {
		ce->ga[g].id = cr_part_ids[CR_N_SEC + g];
		snprintf(ce->ga[g].name, DP_NAME_MAX, "ga%u", ce->ga[g].id);
		ce->ga[g].capacity = cr_part_caps[CR_N_SEC + g];
		ce->ga[g].tier = 3;
	}
	d->n_ga = CR_N_GA;
	d->ga = ce->ga;
}

#endif
