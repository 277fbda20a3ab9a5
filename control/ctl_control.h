/*
 * ctl_control.h - the parts of the stampede-control executable
 * (docs/control.md): its state, the dataplane connection, the control-socket
 * commands, the per-event request rates and the metrics endpoint. Not a
 * library: one process, one thread owning struct ctl_app (the metrics
 * endpoint's HTTP thread only reads a published text snapshot).
 */
#ifndef STAMPEDE_CTL_CONTROL_H
#define CTL_EXPIRE_SKEW_MS 10u /* offer holds this long after their expiry (clock skew) */
#define STAMPEDE_CTL_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "control/ctl_ledger.h"
#include "control/ctl_wire.h"

/* Limits and defaults (the options table in ctl_main.c shows them). */
#define CTL_DATA_DIR_DEFAULT "/var/lib/stampede"
#define CTL_METRICS_DEFAULT "127.0.0.1:9464"
#define CTL_SWEEP_MS_DEFAULT 100
#define CTL_SWEEP_MS_MIN 10
#define CTL_SWEEP_MS_MAX 10000
#define CTL_STATUS_PERIOD_MS 1000         /* dataplane status sample */
#define CTL_RATE_WINDOW_MS 2000           /* requests_per_s window */
#define CTL_RATE_SAMPLES 8                /* status samples kept (>= window / period + 2) */
#define CTL_CLIENTS_MAX 64                /* stampedectl connections at once */
#define CTL_CLIENT_MSG_TIMEOUT_MS 2000    /* a request must arrive whole within this */
#define CTL_DP_TIMEOUT_MS 10000           /* a dataplane reply (load: CTL_DP_LOAD_TIMEOUT_MS) */
#define CTL_DP_LOAD_TIMEOUT_MS 120000
#define CTL_DP_BACKOFF_MIN_MS 100         /* first reconnect delay, doubled up to the max */
#define CTL_DP_BACKOFF_MAX_MS 2000
#define CTL_EXPIRE_MSGS_PER_SWEEP_MAX 16  /* expire messages (of CTL_HOLDS_PER_MSG_MAX) per sweep */
#define CTL_HOLDS_LIMIT_DEFAULT 1000      /* `holds` rows by default */
#define CTL_HOLDS_LIMIT_MAX 100000
#define CTL_AGE_MS_MAX (366ll * 24 * 3600 * 1000) /* older_than_ms bound */
#define CTL_SET_VALUE_MAX 1000000000ll    /* max_active_shoppers, admission_per_s */
#define CTL_ERR_BYTES 512
/* Waiting-room pacing (ctl_pacing.c, docs/waiting-room.md "Pacing"). */
#define CTL_PACE_BATCHES_MAX 4096u        /* admission batches kept per event (ring) */
#define CTL_PACE_SKIPS_MAX 16u            /* ranges of unissued positions kept per event */
#define CTL_PACE_BATCH_GAP_MIN_MS 100u    /* admissions closer than max(this, window / batches) share a batch */
#define CTL_PACE_RATE_WINDOW_MS 10000u    /* rate_per_s is measured over this */
#define CTL_PACE_RATE_MIN_SPAN_MS 1000u   /* until this much is measured, rate_per_s = admission_per_s */
#define CTL_PACE_RATE_SAMPLES 128u        /* admitted-position samples (>= window / gap + 2) */
#define CTL_PACE_SAMPLE_GAP_MS 100u       /* at most one sample per this */
#define CTL_PACE_RATE_REFRESH_MS 1000u    /* nobody to admit: the same position is re-sent with a new rate ... */
#define CTL_PACE_RATE_REFRESH_CHANGE 0.1  /* ... at most this often, when it moved by more than this fraction */
#define CTL_PACE_WINDOW_MS_MAX (7ll * 24 * 3600 * 1000) /* purchase_window_ms accepted from `queue` */
#define CTL_PACE_VALUE_MAX 1000000000000ll /* counters and settings accepted from `queue` */
#define CTL_AUTO_CALM_MS 10000u           /* auto: requests/s below threshold/2 this long before off */
#define CTL_ROOMS_MAX DP_EVENTS_MAX       /* events with waiting-room state */
#define CTL_PACE_QUIET_MAX 16u            /* distinct refusals logged once per connection (then silent) */
#define CTL_PACE_QUIET_BYTES 64

struct ctl_metrics;

/* One status sample: per-event request counts at a time. */
struct ctl_rate_sample {
	uint64_t t_ms; /* monotonic */
	unsigned n;
	uint32_t event_ids[DP_EVENTS_MAX];
	uint64_t requests[DP_EVENTS_MAX];
};

/* The dataplane connection. */
struct ctl_dp {
	const char *path;
	int fd;                /* -1 while down */
	uint64_t next_try_ms;  /* monotonic: next connect attempt */
	unsigned backoff_ms;
	bool ever_up;
	uint64_t connects;     /* successful connections */
};

/* An admission batch: n buyers admitted between first_ms and last_ms (wall
 * clock); their purchase windows are counted from last_ms (conservative). */
struct ctl_pace_batch {
	uint64_t first_ms, last_ms;
	uint64_t n;
};

/* Positions [from, to) the dataplane skipped at a restart (never issued). */
struct ctl_pace_skip {
	uint64_t from, to;
};

/* One admitted-position sample (monotonic clock) for rate_per_s. */
struct ctl_pace_sample {
	uint64_t t_ms;
	uint64_t admitted;
};

enum ctl_room_mode { CTL_ROOM_OFF = 0, CTL_ROOM_ON = 1, CTL_ROOM_AUTO = 2 };

/* One event's waiting room as stampede-control sees it: the latest `queue`
 * row and the pacing state. */
struct ctl_room {
	uint32_t event_id;
	bool seen; /* in the latest `queue` answer */
	/* the latest `queue` row */
	enum ctl_room_mode mode;
	bool active, opened;
	uint64_t prequeue, joined, admitted;
	uint64_t max_active_shoppers, admission_per_s, purchase_window_ms, threshold_rps;
	uint64_t unissued;          /* `unissued` of the row (0 from a dataplane without it) */
	bool unissued_known;        /* a row has been seen: later growth is a new skip */
	struct ctl_pace_skip skips[CTL_PACE_SKIPS_MAX]; /* not yet admitted past, in position order */
	unsigned n_skips;
	/* pacing */
	bool pacing;                /* active and open at the last sweep */
	double tokens;              /* token bucket, at most admission_per_s */
	uint64_t refill_ms;         /* monotonic: tokens added up to here */
	uint64_t pacing_since_ms;   /* monotonic */
	struct ctl_pace_batch batches[CTL_PACE_BATCHES_MAX];
	unsigned b_first, b_n;      /* ring */
	struct ctl_pace_sample samples[CTL_PACE_RATE_SAMPLES];
	unsigned s_first, s_n;      /* ring */
	uint64_t active_shoppers;   /* at the last sweep */
	double rate_per_s;          /* last sent */
	uint64_t rate_sent_ms;      /* monotonic: when (0: never) */
	uint64_t admissions_total;  /* admitted by this process */
	/* auto */
	double requests_per_s;
	uint64_t calm_since_ms;     /* monotonic; 0: not calm */
};

/* The waiting-room view of all events. */
struct ctl_pace {
	struct ctl_room *rooms[CTL_ROOMS_MAX]; /* allocated on first sight */
	unsigned n_rooms;
	bool queue_known;           /* the dataplane answered the last `queue` */
	uint64_t quiet_conn;        /* dp.connects the logged refusals below belong to */
	char quiet_err[CTL_PACE_QUIET_MAX][CTL_PACE_QUIET_BYTES]; /* "cmd:code" logged on that connection */
	unsigned n_quiet;
};

struct ctl_app {
	/* options */
	const char *data_dir;
	const char *control_path;
	const char *metrics_addr;
	unsigned sweep_ms;
	/* state */
	struct ctl_dp dp;
	struct ctl_ledger *ledger; /* NULL until the data directory can be opened */
	char ledger_err[CTL_ERR_BYTES]; /* the last ledger error logged (logged once until it changes) */
	bool ledger_stuck;              /* the last follow failed: the ledger is behind the log */
	int listen_fd;
	int clients[CTL_CLIENTS_MAX]; /* -1: free */
	json_t *last_status;          /* the last dataplane status (NULL while down) */
	struct ctl_rate_sample samples[CTL_RATE_SAMPLES];
	unsigned n_samples, next_sample;
	uint64_t last_sweep_ms;       /* monotonic end of the last complete sweep */
	/* counters */
	uint64_t sweeps;
	uint64_t expired_total;       /* holds the dataplane answered `expired` */
	uint64_t expire_not_due, expire_ended, expire_not_found, expire_failed_msgs;
	uint64_t released_total;      /* holds released by release-holds */
	struct ctl_metrics *metrics;  /* NULL when off */
	struct ctl_pace pace;
};

/* Monotonic and wall-clock milliseconds. */
uint64_t ctl_mono_ms(void);
uint64_t ctl_wall_ms(void);
/* One log line on stderr, prefixed "stampede-control: ". */
void ctl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- ctl_dataplane.c ---- */
/* Initialise (no connection yet). path must outlive dp. */
void ctl_dp_init(struct ctl_dp *dp, const char *path);
/* Close the connection, if any. */
void ctl_dp_close(struct ctl_dp *dp);
/*
 * One round trip to the dataplane; connects first (with `hello`) when down
 * and the backoff allows. Returns 0 and *reply (decref it; it may be an
 * {"ok": false} reply of the dataplane), or -ENOTCONN (down, or went away
 * during the call: the connection is closed and a reconnect scheduled).
 */
int ctl_dp_call(struct ctl_dp *dp, json_t *req, int timeout_ms, json_t **reply);
/* Whether a connection is open. */
bool ctl_dp_up(const struct ctl_dp *dp);

/* ---- ctl_sweep.c ---- */
/* Open the ledger if needed, follow it and refresh event definitions; logs
 * each distinct error once. Returns true when the ledger is open (it may be
 * stuck behind a batch it cannot apply: ledger_stuck). */
bool ctl_ledger_sync(struct ctl_app *app);
/* One sweep: ledger sync, then `expire` for due holds and waiting-room pacing
 * (when the dataplane is up). */
void ctl_sweep(struct ctl_app *app);
/* Fetch the dataplane status, keep it and a rate sample. */
void ctl_status_tick(struct ctl_app *app);
/* requests_per_s of event_id from the samples and a current count at now_ms. */
double ctl_rate(const struct ctl_app *app, uint32_t event_id, uint64_t requests, uint64_t now_ms);

/* ---- ctl_pacing.c ---- */
/* One pacing pass: `queue`, then per event auto-activation and admission
 * (docs/waiting-room.md). Errors are logged once per connection and code;
 * nothing is changed on the dataplane unless its answers are well formed. */
void ctl_pace_sweep(struct ctl_app *app);
/* The room of event_id seen in the latest `queue` answer, or NULL (unknown
 * event, older dataplane, or the dataplane is down). */
const struct ctl_room *ctl_pace_room(const struct ctl_app *app, uint32_t event_id);
/* Positions issued minus admitted minus the known unissued positions in
 * between (skipped at dataplane restarts), never negative. */
uint64_t ctl_room_queue_length(const struct ctl_room *r);
/* "off", "on", "auto:active" or "auto:idle"; r may be NULL ("off"). */
const char *ctl_room_state(const struct ctl_room *r);
/* Free every room (at exit). */
void ctl_pace_free(struct ctl_pace *p);

/* ---- ctl_commands.c ---- */
/* Answer one control-socket request (any JSON object). Never NULL except on ENOMEM. */
json_t *ctl_handle(struct ctl_app *app, const json_t *req);

/* ---- ctl_server.c ---- */
/* Accept one connection on listen_fd (refused, closed at once, past CTL_CLIENTS_MAX). */
void ctl_server_accept(struct ctl_app *app);
/* Read and answer one request of client slot i (readable); closes it on
 * EOF or a framing error (after a `bad_request` reply for bytes that are not
 * one JSON object). */
void ctl_server_serve(struct ctl_app *app, unsigned i);
/* Close every client connection. */
void ctl_server_close_all(struct ctl_app *app);

/* ---- ctl_metrics.c ---- */
/*
 * Start the HTTP endpoint on addr ("HOST:PORT", IPv4 or [IPv6]; not "0").
 * Returns 0 and *out, -EINVAL (addr malformed: err says why), or
 * -EADDRINUSE/-EACCES/-ENOMEM/-EIO when the daemon cannot start.
 */
int ctl_metrics_start(const char *addr, struct ctl_metrics **out, char *err, size_t errlen);
/* Render the metrics from app's state and publish them for GET /metrics. */
void ctl_metrics_publish(struct ctl_metrics *m, const struct ctl_app *app);
/* Stop the daemon and free. NULL accepted. */
void ctl_metrics_stop(struct ctl_metrics *m);

#endif
