/*
 * t_events.c - builds and stores the control tests' event definitions
 * (t_events.h) through dp_event_def_encode and st_env_put_event.
 */
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_codec.h"
#include "tests/control/t_events.h"

#define T_TTL_MS 600000u
#define T_BUYER_LIMIT 8u

/* Store one definition; frees nothing of def (static storage). */
static int t_put(struct st_env *env, const struct dp_event_def *def)
{
	void *blob = NULL;
	size_t len = 0;
	int rc = dp_event_def_encode(def, &blob, &len);
	if (rc == 0)
		rc = st_env_put_event(env, def->id, blob, len);
	free(blob);
	return rc;
}

/* Store the two events of t_events.h (static definitions that pass dp_event_def_check). */
int t_events_store(struct st_env *env)
{
	static struct dp_tier_def arena_tiers[] = {{1, "Stalls", 4500}, {2, "Circle", 3000}};
	static char floor_rows[2][DP_ROW_LABEL_MAX] = {"A", "B"};
	static struct dp_seat_def floor_seats[] = {{0, 1, 1, 0}, {0, 2, 1, 0}, {0, 3, 1, 0}, {1, 1, 2, 0}, {1, 2, 2, 0}};
	static struct dp_section_def arena_sections[] = {{T_PART_FLOOR, "Floor", 2, floor_rows, 5, floor_seats}};
	static struct dp_ga_def arena_ga[] = {{T_PART_STANDING, "Standing", 100, 2}};
	static struct dp_event_def arena = {T_EV_ARENA, "Arena", T_TTL_MS, T_BUYER_LIMIT, 2, arena_tiers,
					    1, arena_sections, 1, arena_ga};
	static struct dp_tier_def theatre_tiers[] = {{1, "Stalls", 2500}};
	static char dress_rows[1][DP_ROW_LABEL_MAX] = {"C"};
	static struct dp_seat_def dress_seats[] = {{0, 7, 1, 0}, {0, 8, 1, 0}};
	static struct dp_section_def theatre_sections[] = {{T_PART_DRESS, "Dress", 1, dress_rows, 2, dress_seats}};
	static struct dp_event_def theatre = {T_EV_THEATRE, "Theatre", T_TTL_MS, T_BUYER_LIMIT, 1, theatre_tiers,
					      1, theatre_sections, 0, NULL};
	int rc = t_put(env, &arena);
	if (rc == 0)
		rc = t_put(env, &theatre);
	return rc;
}
