/*
 * ctl_inventory.h - inventory files (docs/inventory.md): read, validate and
 * turn into the reservation core's event definitions (struct dp_event_def)
 * plus the settings the core does not carry (struct ctl_event_extra).
 *
 * Loading is all or nothing: a file with any error produces no inventory and
 * one line of explanation,
 *
 *   FILE: JSON_PATH: what is wrong (expected WHAT)
 *
 * e.g. `arena.json: $.events[0].sections[2].rows[5].seats: range "1-40x" is
 * not a number range (expected "FROM-TO" with FROM <= TO, 1..65535)`.
 * JSON syntax errors read `FILE:LINE:COLUMN: invalid JSON: TEXT`.
 *
 * Thread safety: the functions keep no global state; call them from any
 * thread. Nothing here runs on the dataplane's request path.
 */
#ifndef STAMPEDE_CTL_INVENTORY_H
#define STAMPEDE_CTL_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_types.h"

/* ---- named limits of the file format ---- */
#define CTL_FORMAT "stampede-inventory/1"
#define CTL_FILE_BYTES_MAX (64u << 20)   /* ctl_inventory_load refuses larger files */
#define CTL_FILE_SEATS_MAX (1u << 24)    /* reserved seats in one file, all events */
#define CTL_PRESALES_MAX 8               /* presale windows in one event */
#define CTL_CODES_MAX 1024               /* access codes in one presale window */
#define CTL_CODE_MAX 33                  /* access code bytes, NUL included */
#define CTL_CODE_USES_MAX 1000000u       /* uses of one access code */
#define CTL_PATH_MAX 256                 /* members_file path bytes, NUL included */
#define CTL_SKIP_MAX 64                  /* labels in one row_range "skip" list */
#define CTL_ROWS_MAX 65536               /* rows in one section (dp_seat_def.row is 16 bits) */
#define CTL_SEAT_NUMBER_MAX 65535        /* seat numbers are 1..65535 */
#define CTL_TIER_ID_MAX (DP_TIERS_MAX - 1) /* tier ids are 1..63; 0 means "any tier" in requests */

/* ---- waiting room bounds and defaults ---- */
#define CTL_WR_THRESHOLD_RPS_DEFAULT 1000u
#define CTL_WR_THRESHOLD_RPS_MAX 10000000u
#define CTL_WR_SHOPPERS_DEFAULT 1000u
#define CTL_WR_SHOPPERS_MAX 1000000u
#define CTL_WR_ADMISSION_DEFAULT 100u
#define CTL_WR_ADMISSION_MAX 1000000u
#define CTL_WR_WINDOW_MS_DEFAULT (15u * 60u * 1000u)
#define CTL_WR_WINDOW_MS_MIN (60u * 1000u)
#define CTL_WR_WINDOW_MS_MAX (24u * 60u * 60u * 1000u)

/* One access code of a presale window. */
struct ctl_access_code {
	char code[CTL_CODE_MAX]; /* 1..32 printable ASCII bytes, no space */
	uint32_t uses;           /* 1..CTL_CODE_USES_MAX buyers may use it */
};

/* A presale window: either access codes or a member list file. */
struct ctl_presale {
	char name[DP_NAME_MAX];
	uint64_t start_ms; /* Unix time in ms, inclusive */
	uint64_t end_ms;   /* Unix time in ms, exclusive; > start_ms */
	uint32_t n_codes;  /* 0 when members_file is set */
	struct ctl_access_code codes[CTL_CODES_MAX];
	char members_file[CTL_PATH_MAX]; /* "" when codes are used; as written in the file */
	/* The member list, once attached (ctl_inventory_attach_members, docs/inventory.md
	 * "Member list"): each member is a code of its own with its use limit. NULL and 0
	 * until attached, and always for a window with codes. Freed by ctl_inventory_free. */
	uint32_t n_members;
	struct ctl_access_code *members;
};

enum ctl_wr_mode {
	CTL_WR_OFF = 0,  /* "enabled": false (default) */
	CTL_WR_ON = 1,   /* "enabled": true: every buyer queues */
	CTL_WR_AUTO = 2, /* "enabled": "auto": queue once demand passes threshold_rps */
};

struct ctl_waiting_room {
	uint8_t mode;                 /* enum ctl_wr_mode */
	uint32_t threshold_rps;       /* requests/s that switch an "auto" room on */
	uint32_t max_active_shoppers; /* buyers admitted and still shopping, at most */
	uint32_t admission_per_s;     /* buyers admitted per second, at most */
	uint32_t purchase_window_ms;  /* time an admitted buyer has to buy */
};

/* What an event needs beyond struct dp_event_def. */
struct ctl_event_extra {
	uint64_t on_sale_ms; /* Unix time in ms; 0 = on sale as soon as loaded */
	uint32_t n_presales;
	struct ctl_presale presales[CTL_PRESALES_MAX];
	struct ctl_waiting_room waiting_room;
};

struct ctl_event {
	struct dp_event_def *def; /* passes dp_event_def_check; dp_event_def_free-compatible */
	struct ctl_event_extra extra;
};

struct ctl_inventory {
	uint32_t n_events; /* 1..DP_EVENTS_MAX */
	struct ctl_event *events;
};

/*
 * Read and validate an inventory file. On success *out is a new inventory
 * (ctl_inventory_free it) and err is "". On failure *out is left unchanged,
 * err holds one line (see the top of this file) and the result is -EINVAL
 * (the file is wrong), -ENOENT / -EACCES / another -errno (it cannot be
 * read), or -ENOMEM. err may be NULL; errlen bytes at most are written.
 */
int ctl_inventory_load(const char *path, struct ctl_inventory **out, char *err, size_t errlen);

/*
 * The same from memory: `name` stands for the file in messages (NULL:
 * "(input)"); text need not be NUL-terminated. Any bytes are accepted.
 */
int ctl_inventory_parse(const char *name, const char *text, size_t len, struct ctl_inventory **out, char *err,
			size_t errlen);

/* Free an inventory and every definition in it. NULL is accepted. */
void ctl_inventory_free(struct ctl_inventory *inv);

/*
 * Take event i's definition out of the inventory (the caller frees it with
 * dp_event_def_free); the slot becomes NULL. NULL if i is out of range.
 */
struct dp_event_def *ctl_inventory_take_def(struct ctl_inventory *inv, uint32_t i);

#endif
