/*
 * dp_codec.h - event definitions as bytes (how they are stored in LMDB) and
 * deep copies. The format is little-endian and versioned:
 *
 *   u32 magic 'SEV1'  u32 id  char name[48]  u32 hold_ttl_ms  u32 buyer_limit
 *   u32 n_tiers  u32 n_sections  u32 n_ga
 *   n_tiers  x { u8 id  char name[48]  u32 price_cents }
 *   n_sections x { u32 id  char name[48]  u32 n_rows  u32 n_seats
 *                  n_rows x char label[8]
 *                  n_seats x { u16 row  u16 number  u8 tier  u8 flags } }
 *   n_ga x { u32 id  char name[48]  u32 capacity  u8 tier }
 */
#ifndef STAMPEDE_DP_CODEC_H
#define STAMPEDE_DP_CODEC_H

#include <stddef.h>

#include "dataplane/dp_types.h"

#define DP_CODEC_MAGIC 0x31564553u /* "SEV1" */

/* Encode a checked definition into a new buffer (*blob, free() it).
 * Errors: -ENOMEM. */
int dp_event_def_encode(const struct dp_event_def *def, void **blob, size_t *len);

/*
 * Decode bytes into a new definition (free with dp_event_def_free). Every
 * count is bounds-checked against the bytes left and the DP_* limits, and the
 * result passes dp_event_def_check. Errors: -EINVAL (malformed: err says
 * where), -ENOMEM. Any bytes are accepted as input.
 */
int dp_event_def_decode(const void *blob, size_t len, struct dp_event_def **out, char *err, size_t errlen);

/* Deep copy (NULL on ENOMEM) and free (NULL accepted). */
struct dp_event_def *dp_event_def_dup(const struct dp_event_def *def);
void dp_event_def_free(struct dp_event_def *def);

#endif
