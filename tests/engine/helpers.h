/*
 * helpers.h - shared fixture for the reservation-core unit tests.
 *
 * A fixture owns a fresh mkdtemp data directory, a storage environment with
 * its group-commit writer, an engine, and the test thread's liburcu QSBR
 * registration. The test thread plays every worker in turn (single threaded).
 * The clock is fake: fx->now, starting at FX_T0.
 *
 * Every helper asserts with cmocka, so a failure inside a helper fails the
 * calling test; the cmocka teardown (fx_teardown) cleans up in every case.
 */
#ifndef STAMPEDE_TESTS_ENGINE_HELPERS_H
#define STAMPEDE_TESTS_ENGINE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_engine.h"
#include "dataplane/dp_types.h"
#include "storage/st.h"

#define FX_T0 1700000000000ull /* fake clock start, ms */

/* ---- the standard test event (tevent_std) ---- */
#define EV1 100u            /* event id */
#define EV_TTL_MS 300000u   /* hold ttl: 5 minutes */
#define EV_LIMIT 8u         /* buyer limit */
#define TIER_A 1u
#define TIER_B 2u
#define TIER_GA 3u
/* S1: 4 rows x 10 seats, index = row * 10 + column, seat number = index + 1
 * (numbered through the section); rows 0-1 tier A, rows 2-3 tier B; seat 39
 * (row 3, number 40) withheld. */
#define S1 1u
#define S1_ROWS 4u
#define S1_PER_ROW 10u
#define S1_SEATS 40u
#define S1_WITHHELD 39u
/* S2: one row of 6 seats, tier B, numbers 1 2 3 | 5 6 7 (aisle between
 * index 2 and index 3, so indexes 2 and 3 are NOT adjacent). */
#define S2 2u
#define S2_SEATS 6u
/* G1: general admission, capacity 50, tier GA. */
#define G1 10u
#define G1_CAP 50u

/*
 * Owns all arrays the definition points to: do not copy a built tevent
 * (its pointers point into itself).
 */
struct tevent {
	struct dp_event_def def;
	struct dp_tier_def tiers[3];
	struct dp_section_def sec[2];
	struct dp_ga_def ga[1];
	struct dp_seat_def s1[S1_SEATS];
	struct dp_seat_def s2[S2_SEATS];
	char s1_rows[S1_ROWS][DP_ROW_LABEL_MAX];
	char s2_rows[1][DP_ROW_LABEL_MAX];
};

void tevent_std(struct tevent *te, uint32_t event_id);

/* ---- fixture ---- */
struct fx {
	char dir[256];
	bool dir_made;
	bool registered;
	bool writer_running;
	unsigned workers;
	bool nosync;
	struct st_env *env;
	struct dp_engine *eng;
	struct dp_config cfg;
	uint64_t now;
	uint64_t next_req;    /* request id generator */
	uint64_t next_client; /* client id generator (fresh buyers) */
	unsigned ring_size;   /* st_options.ring_size (0: storage default) */
	bool no_wait;         /* fx_exec*: do not wait for durability */
	bool idem_tuned;      /* use idem_max / idem_horizon_ms below instead of the fixture's */
	uint32_t idem_max;
	uint32_t idem_horizon_ms;
};

/* cmocka group-less per-test setup/teardown: allocate, register with QSBR;
 * tear down whatever was opened, unregister, remove the directory. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Open env (workers, nosync) + writer + engine (small tables). */
void fx_open(struct fx *f, unsigned workers, bool nosync);
/* Same with other table sizes / ring size (0: the fixture's default). */
void fx_open_tuned(struct fx *f, unsigned workers, bool nosync, uint32_t holds_max, uint32_t orders_max,
		   unsigned ring_size);
/* Add the standard event under event_id (asserts 0). */
void fx_add_std(struct fx *f, uint32_t event_id);
/* Stop writer, destroy engine, close env; the directory stays. */
void fx_shutdown(struct fx *f);
/* Reopen env, new engine, dp_engine_recover (asserts 0), start writer. */
void fx_reopen(struct fx *f);

struct dp_worker *fx_worker(struct fx *f, unsigned idx);
/* dp_route, asserted to be -1 or a valid index. */
int fx_route(struct fx *f, const struct dp_request *rq);
/* Execute on worker idx; checks the reply's sanity (return == status,
 * status/detail in range, n_items/n_alt <= max) and, when wait_seq != 0,
 * waits (bounded) for durability and asserts it. Returns the status. */
int fx_exec_on(struct fx *f, unsigned idx, const struct dp_request *rq, struct dp_reply *out);
/* Same on the routed worker (worker 0 when dp_route says -1). */
int fx_exec(struct fx *f, const struct dp_request *rq, struct dp_reply *out);
/* Poll dp_worker_durable(w) >= seq for up to 5 s; true when reached. */
bool fx_wait_durable(struct fx *f, unsigned idx, uint64_t seq);

/* ---- request builders (zeroed first) ---- */
void rq_base(struct dp_request *rq, uint8_t op, uint32_t ev, uint32_t part, uint64_t client, uint64_t req);
void rq_hold_seats(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part,
		   unsigned n, const uint32_t *seats);
void rq_hold_best(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part,
		  unsigned n, uint8_t tier);
void rq_hold_ga(struct dp_request *rq, uint64_t client, uint64_t req, uint32_t ev, uint32_t part, unsigned n);
void rq_confirm(struct dp_request *rq, uint64_t client, uint64_t req, uint64_t hold_id, uint8_t payfill);
void rq_release(struct dp_request *rq, uint64_t client, uint64_t req, uint64_t hold_id);

/* ---- one-line actions on EV1 that must succeed (fresh request ids) ---- */
uint64_t fx_hold_seats_ok(struct fx *f, uint64_t client, uint32_t part, unsigned n, const uint32_t *seats,
			  struct dp_reply *out);
uint64_t fx_confirm_ok(struct fx *f, uint64_t client, uint64_t hold_id, struct dp_reply *out);
void fx_release_ok(struct fx *f, uint64_t client, uint64_t hold_id);

/* ---- readers ---- */
uint64_t fx_word(struct fx *f, uint32_t ev, uint32_t part, uint32_t idx);
enum dp_seat_state fx_state(struct fx *f, uint32_t ev, uint32_t part, uint32_t idx);
/* Counts of a part; asserts rc 0 and free + held + sold + withheld == capacity. */
struct dp_part_counts fx_counts(struct fx *f, uint32_t ev, uint32_t part);
struct dp_part_counts fx_ev_counts(struct fx *f, uint32_t ev);
uint32_t fx_buyer(struct fx *f, uint32_t ev, uint64_t client);

/* Snapshot of EV1: counts of S1, S2, G1 and the event, every S1/S2 seat word
 * and every G1 serial word. */
struct snap {
	struct dp_part_counts s1, s2, g1, ev;
	uint64_t w1[S1_SEATS];
	uint64_t w2[S2_SEATS];
	uint64_t wg[G1_CAP];
};
void snap_take(struct fx *f, struct snap *s);
/* Assert two snapshots are identical (reports the first difference). */
void snap_assert_equal(const struct snap *a, const struct snap *b, const char *file, int line);
#define SNAP_SAME(a, b) snap_assert_equal((a), (b), __FILE__, __LINE__)

/* ---- assertions with names ---- */
void reply_expect(const struct dp_reply *r, int status, int detail, const char *file, int line);
/* detail < 0: any detail */
#define EXPECT_REPLY(r, st, det) reply_expect(&(r), (st), (det), __FILE__, __LINE__)
void counts_expect(struct dp_part_counts c, uint32_t capacity, uint32_t withheld, uint32_t held, uint32_t sold,
		   uint32_t free_, const char *file, int line);
#define EXPECT_COUNTS(c, cap, wh, hd, sd, fr) counts_expect((c), (cap), (wh), (hd), (sd), (fr), __FILE__, __LINE__)

/* ---- misc ---- */
void sort_u32(uint32_t *a, unsigned n);
uint64_t rng_next(uint64_t *state); /* splitmix64 */

/* ---- assertions shared by the test_engine*.c files ---- */
/* The items of a reply equal want, in any order. */
void expect_items(const uint32_t *got, unsigned n_got, const uint32_t *want, unsigned n_want);
/* Every item of the hold is HELD in the part, by the hold's slot. */
void expect_held_by(struct fx *f, uint32_t part, const struct dp_reply *r);
/* Every listed index of the part is in state st. */
void expect_state_all(struct fx *f, uint32_t part, const uint32_t *idx, unsigned n, enum dp_seat_state st);
/* Change the client (then the request id) until rq routes to worker widx. */
void route_to(struct fx *f, struct dp_request *rq, unsigned widx);
/* b is a retry answer of a: same reply (detail may be REPLAY). */
void expect_same_reply(const struct dp_reply *a, const struct dp_reply *b);

#endif
