/*
 * dp_presale.h - an event's presale windows in the reservation core
 * (docs/waiting-room.md, "Presale windows"): the codes (a member of a list is
 * a code of its own), their use limits, and the redemption slots.
 *
 * Built on the control path at load (and recovery) from a struct
 * dp_presale_def, refilled from the `presale` database, then published with
 * the event under RCU (struct dp_event.presale). Workers look codes up and
 * redeem them lock-free: no malloc, syscall, lock or log. The control thread
 * stores new redemptions (dp_presale_flush) and only then marks them
 * durable; a redemption is answered ok only once durable.
 */
#ifndef STAMPEDE_DP_PRESALE_H
#define STAMPEDE_DP_PRESALE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_types.h"
#include "storage/st.h"

/* One code: its window, its limit and its slot range [slot0, slot0 + n_slots),
 * twice the limit: a probe meets a free slot within a few steps. */
struct dp_presale_ent {
	char code[DP_PRESALE_CODE_MAX]; /* code_len bytes, not NUL-terminated */
	uint8_t code_len;
	uint8_t window;
	uint32_t uses;    /* the limit loaded */
	uint32_t limit;   /* max(uses, redemptions kept from before) */
	uint32_t n_slots; /* 2 * limit */
	uint32_t slot0;
	_Atomic uint32_t n_taken; /* slots taken (fetch_add after the slot's CAS); the first `limit` are uses */
};

struct dp_presale_win {
	char name[DP_NAME_MAX];
	uint64_t start_ms, end_ms;
	uint32_t n_codes;
	uint64_t uses; /* the codes' limits summed */
};

struct dp_presale {
	uint32_t n_windows;
	struct dp_presale_win win[DP_PRESALE_WINDOWS_MAX];
	uint64_t first_start_ms; /* the earliest window start */
	uint64_t fingerprint;    /* of the definition: a reload with the same one changes nothing */
	uint32_t n_codes;
	struct dp_presale_ent *codes; /* slot0 ascending */
	uint32_t hash_mask;
	uint32_t *hash; /* code index + 1; 0 = empty */
	uint64_t seed;   /* keys the probe start: client ids cannot be chosen to pile up */
	uint32_t n_slots;  /* every code's n_slots */
	uint32_t n_limit;  /* every code's limit: the redemptions there can ever be */
	_Atomic uint64_t *client;   /* n_slots: the client id that took the slot, 0 = free */
	_Atomic uint8_t *state;     /* n_slots: enum dp_slot_state of a taken slot */
	_Atomic uint32_t *taken;    /* n_limit: slots taken, in order (slot + 1; 0 while written) */
	_Atomic uint32_t n_taken;   /* entries of taken handed out (workers: fetch_add) */
	uint32_t flushed;           /* control thread: entries of taken stored */
};

/* A taken slot: its use waits to be stored, is stored, or was refused (the
 * client took the slot as the limit was reached by others: used up for good). */
enum dp_slot_state { DP_SLOT_PENDING = 0, DP_SLOT_DURABLE = 1, DP_SLOT_REFUSED = 2 };

/* Redemption results (dp_presale_redeem). */
enum dp_redeem { DP_REDEEM_OK = 0, DP_REDEEM_PENDING = 1, DP_REDEEM_USED_UP = 2 };

/*
 * Check def for event_id (NULL or no windows is fine): at most
 * DP_PRESALE_WINDOWS_MAX windows, names fit, end > start, codes of 1..32
 * printable non-space bytes, unique within the event, uses >= 1, and the
 * uses summed at most DP_PRESALE_SLOTS_MAX. 0, or -EINVAL with err naming
 * the window and code. Control path.
 */
int dp_presale_def_check(const struct dp_presale_def *def, uint32_t event_id, char *err, size_t errlen);

/*
 * Build the table of def (checked here too) for event_id and refill it from
 * env's `presale` database (env may be NULL: nothing to refill): every
 * stored redemption of a code still defined takes a slot, durable; a code
 * whose uses went below its redemptions keeps them all. *out is NULL when
 * def has no window. Errors: -EINVAL (err), -ENOMEM, storage errors.
 */
int dp_presale_build(const struct dp_presale_def *def, uint32_t event_id, struct st_env *env,
		     struct dp_presale **out, char *err, size_t errlen);
void dp_presale_free(struct dp_presale *ps);

/* The index of code (len bytes) in ps, or -1. Worker safe. */
int dp_presale_find(const struct dp_presale *ps, const uint8_t *code, unsigned len);

/* Redeem code i for client_id (non-zero). Worker safe, lock-free. */
enum dp_redeem dp_presale_redeem(struct dp_presale *ps, uint32_t i, uint64_t client_id);

/* Store ps's new redemptions of event_id (at most DP_PRESALE_FLUSH_MAX),
 * then mark them durable. Control thread only. 0 or a storage error
 * (nothing marked). *stored (may be NULL): how many. */
int dp_presale_flush_table(struct st_env *env, uint32_t event_id, struct dp_presale *ps, uint32_t *stored);

/* Redemptions taken and not yet stored. Any thread. */
uint32_t dp_presale_table_pending(const struct dp_presale *ps);

/* Durable redemptions of code i. Control path. */
uint32_t dp_presale_used(const struct dp_presale *ps, uint32_t i);

/* The stored form of def: encode (malloc'd *blob) and decode (a def whose
 * codes live in *mem, free(*mem)). decode refuses anything malformed with
 * -EINVAL (any bytes accepted, nothing read outside blob). */
int dp_presale_def_encode(const struct dp_presale_def *def, void **blob, size_t *len);
int dp_presale_def_decode(const void *blob, size_t len, struct dp_presale_def *def, struct dp_presale_code **mem);

#endif
