/*
 * t_events.h - the event definitions the control tests store (shared by the
 * ledger unit test and the fake dataplane), so both sides agree on names,
 * rows, seat numbers, tiers and prices.
 *
 *   event 1 "Arena"   tiers 1 Stalls 4500, 2 Circle 3000
 *     section 10 "Floor": seat 0 A1 t1, 1 A2 t1, 2 A3 t1, 3 B1 t2, 4 B2 t2
 *     GA 20 "Standing": capacity 100, tier 2
 *   event 2 "Theatre" tier 1 Stalls 2500
 *     section 30 "Dress": seat 0 C7 t1, 1 C8 t1
 */
#ifndef STAMPEDE_T_EVENTS_H
#define STAMPEDE_T_EVENTS_H

#include "storage/st.h"

#define T_EV_ARENA 1u
#define T_EV_THEATRE 2u
#define T_PART_FLOOR 10u
#define T_PART_STANDING 20u
#define T_PART_DRESS 30u

/* Encode and store both events in env. Returns 0 or the storage error. */
int t_events_store(struct st_env *env);

#endif
