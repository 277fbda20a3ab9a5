/*
 * lg_scenario.h - scenarios and the event plan of stampede-loadgen.
 */
#ifndef LG_SCENARIO_H
#define LG_SCENARIO_H

#include "tools/loadgen/lg.h"

const struct lg_scenario *lg_scenario_find(const char *name);
const char *lg_scenario_names(void);
int lg_plan_load(struct lg_plan *plan, const char *path, uint32_t event_id, char *err, size_t errlen);
void lg_plan_free(struct lg_plan *plan);

#endif
