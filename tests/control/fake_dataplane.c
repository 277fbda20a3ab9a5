/*
 * fake_dataplane.c - serves the dataplane socket (docs/control.md) with
 * ctl_wire so stampede-control can be tested without DPDK. It is the LMDB
 * writer, through the storage API, exactly as the dataplane is:
 *
 *   hello, status, events, sale, set, load   canned answers (t_events.h events)
 *   load, set, presale   echo the request back (without cmd, with ok), so a
 *                     test sees exactly what stampede-control forwarded
 *   expire {holds}    EXPIRE record for each live hold whose expiry passed
 *                     (`expired`), else `not_due` / `ended` / `not_found`
 *   release {holds}   operator RELEASE record (`released`), `ended`, `not_found`
 *   test_hold {event, part, kind, client, items, ttl_ms, age_ms}
 *                     a HOLD record created age_ms ago, expiring ttl_ms after
 *                     now; replies hold_id once durable
 *   test_confirm {hold, order}   CONFIRM record of a live hold
 *   queue {event?}    the waiting-room rows (docs/waiting-room.md, "Dataplane
 *                     control socket additions") of events 1 and 2
 *   admit {event, admitted, rate_per_s}   moves the admitted position
 *                     (backwards: bad_request)
 *   waiting-room {event, active}
 *   set               also changes max_active_shoppers / admission_per_s
 *   test_queue {event, mode?, active?, opened?, prequeue?, joined?, admitted?,
 *               max_active_shoppers?, admission_per_s?, purchase_window_ms?,
 *               threshold_rps?, requests_per_s?, unissued?}
 *                     script the queue (mode "sideways" makes a malformed
 *                     row; mode sets active: on and sideways true, else
 *                     false, unless active is given) and the event's request
 *                     rate in `status` (requests grow at requests_per_s,
 *                     default 10)
 *   keys {action: reload}   the scripted reply (default keys 2, current 9)
 *   test_keys {reply}  script the next keys reloads' reply (an error too)
 *
 * Replies to mutations leave only once their records are durable. Every
 * expire/release it receives is appended to --record FILE as
 * "CMD HOLD_ID NOW_MS RESULT", every admit as "admit ADMITTED NOW_MS RATE",
 * every waiting-room as "waiting-room EVENT NOW_MS on|off", every keys reload
 * as "keys 0 NOW_MS ok|ERROR". At start it
 * replays the log, so a restarted fake knows its holds. With --no-queue it
 * is an older dataplane: queue, admit and waiting-room are unknown_command.
 * SIGINT/SIGTERM: exit 0.
 *
 * usage: fake_dataplane --socket PATH --data DIR --record FILE [--no-queue]
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_wire.h"
#include "storage/st.h"
#include "tests/control/t_events.h"

#define FAKE_HOLDS_MAX 65536
#define FAKE_CLIENTS_MAX 8
#define FAKE_NAP_NS 200000l
#define FAKE_DURABLE_WAIT_MS 20000u

enum fake_state { FAKE_ACTIVE = 1, FAKE_ENDED = 2 };

struct fake_hold {
	struct st_record rec; /* the HOLD record */
	int state;
};

static struct fake_hold holds[FAKE_HOLDS_MAX];
static unsigned n_holds;
static uint64_t next_slot = 1;
static struct st_env *env;
static struct st_log *wlog;
static FILE *record;
static uint64_t started_ms, status_calls;
static const char *data_dir;
static volatile sig_atomic_t stop;
static int no_queue;

/* One event's scripted waiting room. */
struct fake_queue {
	uint32_t id;
	const char *mode; /* "off", "on", "auto" */
	int active, opened;
	json_int_t prequeue, joined, admitted;
	double rate_per_s;
	json_int_t max_active_shoppers, admission_per_s, purchase_window_ms, threshold_rps;
	double req_base, req_per_s; /* status requests = req_base + req_per_s * (now - req_t0) */
	uint64_t req_t0;
	json_int_t unissued; /* positions skipped at restarts (test_queue sets it) */
};

static struct fake_queue queues[2] = {
	{T_EV_ARENA, "off", 0, 1, 0, 0, 0, 0.0, 600, 100, 600000, 1000, 0.0, 10.0, 0, 0},
	{T_EV_THEATRE, "off", 0, 1, 0, 0, 0, 0.0, 600, 100, 600000, 1000, 0.0, 10.0, 0, 0},
};

/* SIGINT/SIGTERM: stop the loop. */
static void on_signal(int sig)
{
	stop = sig;
}

/* Unix milliseconds. */
static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The hold with this id, or NULL (linear: tests hold few). */
static struct fake_hold *find(uint64_t id)
{
	for (unsigned i = 0; i < n_holds; i++)
		if (holds[i].rec.hold_id == id)
			return &holds[i];
	return NULL;
}

/* Replay callback: rebuild hold states. */
static int replay_cb(void *ctx, const struct st_record *r)
{
	(void)ctx;
	if (r->type == ST_REC_HOLD) {
		if (n_holds == FAKE_HOLDS_MAX)
			return -ENOSPC;
		holds[n_holds].rec = *r;
		holds[n_holds++].state = FAKE_ACTIVE;
		if ((r->hold_id >> 32) >= next_slot)
			next_slot = (r->hold_id >> 32) + 1;
	} else {
		struct fake_hold *h = find(r->hold_id);
		if (h)
			h->state = FAKE_ENDED;
	}
	return 0;
}

/* Push and wait until durable. 0 or -1. */
static int push_durable(const struct st_record *r)
{
	uint64_t seq;
	int rc;
	while ((rc = st_log_push(wlog, r, &seq)) == -ENOBUFS) {
		struct timespec ts = {0, FAKE_NAP_NS};
		nanosleep(&ts, NULL);
	}
	if (rc != 0)
		return -1;
	uint64_t t0 = wall_ms();
	while (st_log_durable(wlog) <= seq) {
		if (wall_ms() - t0 > FAKE_DURABLE_WAIT_MS)
			return -1;
		struct timespec ts = {0, FAKE_NAP_NS};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The scripted queue of event id, or NULL. */
static struct fake_queue *fq(json_int_t id)
{
	for (unsigned i = 0; i < 2; i++)
		if (queues[i].id == id)
			return &queues[i];
	return NULL;
}

/* Requests of q's event so far (grows at req_per_s). */
static json_int_t fake_requests(const struct fake_queue *q)
{
	return (json_int_t)(q->req_base + q->req_per_s * (double)(wall_ms() - q->req_t0) / 1000.0);
}

/* A status reply in the contract's shape; requests grow at the event's requests_per_s. */
static json_t *status_reply(void)
{
	status_calls++;
	json_int_t requests = fake_requests(fq(T_EV_ARENA));
	unsigned held = 0;
	for (unsigned i = 0; i < n_holds; i++)
		if (holds[i].state == FAKE_ACTIVE && holds[i].rec.event_id == T_EV_ARENA)
			held += holds[i].rec.n_items;
	json_t *ev = json_pack("{s:i,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:{s:I,s:i,s:i},s:i,s:i}", "id", T_EV_ARENA,
			       "name", "Arena", "state", "open", "on_sale_ms", 0, "capacity", 105, "free", 105 - held,
			       "held", held, "sold", 0, "withheld", 0, "requests", requests,
			       "statuses", "ok", requests, "taken", 0, "sold_out", 0,
			       "max_active_shoppers", 0, "admission_per_s", 0);
	json_t *hist = json_pack("{s:[i,i,i,n],s:[i,i,i,i],s:i,s:i}", "le", 1, 2, 4, "counts", 1, 2, 3, 0, "sum_us",
				 17, "count", 6);
	json_t *hist2 = json_pack("{s:[i,i,n],s:[i,i,i],s:i,s:i}", "le", 100, 1000, "counts", 5, 1, 0, "sum_us",
				  900, "count", 6);
	json_t *hist3 = json_pack("{s:[i,i,n],s:[i,i,i],s:i,s:i}", "le", 1, 16, "counts", 3, 3, 0, "sum", 20, "count",
				  6);
	return json_pack("{s:b,s:I,s:I,s:s,s:b,s:[o],s:[{s:i,s:i}],s:o,s:{s:i,s:i,s:i,s:o,s:o}}", "ok", 1, "now_ms",
			 (json_int_t)wall_ms(), "started_ms", (json_int_t)started_ms, "sync", "none", "storage_failed",
			 0, "events", ev, "workers", "worker", 0, "requests", 0, "latency_us", hist, "storage",
			 "batches", 1, "records", 1, "bytes", 1, "commit_us", hist2, "batch_records", hist3);
}

/* expire (is_release 0) or release (1) of req.holds. */
static json_t *end_holds(const json_t *req, int is_release)
{
	const json_t *ids = json_object_get(req, "holds");
	if (!json_is_array(ids) || json_array_size(ids) > CTL_HOLDS_PER_MSG_MAX)
		return ctl_wire_error("bad_request", "holds: must be an array of at most %d ids", CTL_HOLDS_PER_MSG_MAX);
	json_t *results = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		uint64_t id = (uint64_t)json_integer_value(v);
		uint64_t now = wall_ms();
		struct fake_hold *h = find(id);
		const char *res;
		if (h == NULL)
			res = "not_found";
		else if (h->state != FAKE_ACTIVE)
			res = "ended";
		else if (!is_release && h->rec.expiry_ms > now)
			res = "not_due";
		else {
			struct st_record r = h->rec;
			r.type = is_release ? ST_REC_RELEASE : ST_REC_EXPIRE;
			r.flags = is_release ? ST_REC_F_OPERATOR : 0;
			r.n_items = 0;
			r.time_ms = now;
			if (push_durable(&r) != 0) {
				json_decref(results);
				return ctl_wire_error("unavailable", "storage");
			}
			h->state = FAKE_ENDED;
			res = is_release ? "released" : "expired";
		}
		fprintf(record, "%s %llu %llu %s\n", is_release ? "release" : "expire", (unsigned long long)id,
			(unsigned long long)now, res);
		json_array_append_new(results, json_string(res));
	}
	fflush(record);
	return json_pack("{s:b,s:o}", "ok", 1, "results", results);
}

/* test_hold: log a HOLD record and answer its id once durable. */
static json_t *test_hold(const json_t *req)
{
	if (n_holds == FAKE_HOLDS_MAX)
		return ctl_wire_error("unavailable", "hold table full");
	struct st_record r;
	memset(&r, 0, sizeof(r));
	uint64_t now = wall_ms();
	r.type = ST_REC_HOLD;
	r.event_id = (uint32_t)json_integer_value(json_object_get(req, "event"));
	r.part_id = (uint32_t)json_integer_value(json_object_get(req, "part"));
	const char *kind = json_string_value(json_object_get(req, "kind"));
	r.kind = kind && strcmp(kind, "ga") == 0 ? ST_KIND_GA : ST_KIND_SEAT;
	r.client_id = (uint64_t)json_integer_value(json_object_get(req, "client"));
	r.time_ms = now - (uint64_t)json_integer_value(json_object_get(req, "age_ms"));
	r.expiry_ms = now + (uint64_t)json_integer_value(json_object_get(req, "ttl_ms"));
	r.hold_id = (next_slot++ << 32) | 1u;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(req, "items"), i, v)
	{
		if (i < ST_HOLD_ITEMS_MAX)
			r.items[r.n_items++] = (uint32_t)json_integer_value(v);
	}
	if (push_durable(&r) != 0)
		return ctl_wire_error("unavailable", "storage");
	holds[n_holds].rec = r;
	holds[n_holds++].state = FAKE_ACTIVE;
	return json_pack("{s:b,s:I,s:I}", "ok", 1, "hold_id", (json_int_t)r.hold_id, "expiry_ms", (json_int_t)r.expiry_ms);
}

/* test_confirm {hold, order}: log a CONFIRM of a live hold. */
static json_t *test_confirm(const json_t *req)
{
	struct fake_hold *h = find((uint64_t)json_integer_value(json_object_get(req, "hold")));
	if (h == NULL || h->state != FAKE_ACTIVE)
		return ctl_wire_error("not_found", "no live hold");
	struct st_record r = h->rec;
	r.type = ST_REC_CONFIRM;
	r.n_items = 0;
	r.time_ms = wall_ms();
	r.order_id = (uint64_t)json_integer_value(json_object_get(req, "order"));
	if (push_durable(&r) != 0)
		return ctl_wire_error("unavailable", "storage");
	h->state = FAKE_ENDED;
	return ctl_wire_ok();
}

/* queue {event?}: the rows of the contract. */
static json_t *queue_reply(const json_t *req)
{
	json_int_t only = json_integer_value(json_object_get(req, "event"));
	json_t *arr = json_array();
	for (unsigned i = 0; i < 2; i++) {
		const struct fake_queue *q = &queues[i];
		if (only != 0 && q->id != only)
			continue;
		json_array_append_new(arr, json_pack("{s:I,s:s,s:b,s:b,s:I,s:I,s:I,s:f,s:I,s:I,s:I,s:I,s:I}", "id",
						     (json_int_t)q->id, "mode", q->mode, "active", q->active, "opened",
						     q->opened, "prequeue", q->prequeue, "joined", q->joined, "admitted",
						     q->admitted, "rate_per_s", q->rate_per_s, "max_active_shoppers",
						     q->max_active_shoppers, "admission_per_s", q->admission_per_s,
						     "purchase_window_ms", q->purchase_window_ms, "threshold_rps",
						     q->threshold_rps, "unissued", q->unissued));
	}
	return json_pack("{s:b,s:o}", "ok", 1, "events", arr);
}

/* admit {event, admitted, rate_per_s}: never backwards; recorded. */
static json_t *admit(const json_t *req)
{
	struct fake_queue *q = fq(json_integer_value(json_object_get(req, "event")));
	const json_t *adm = json_object_get(req, "admitted"), *rate = json_object_get(req, "rate_per_s");
	if (q == NULL)
		return ctl_wire_error("not_found", "event");
	/* As strict as the real dataplane (dpa_control.c): whole admissions per second. */
	if (!json_is_integer(adm) || json_integer_value(adm) < q->admitted || !json_is_integer(rate) ||
	    json_integer_value(rate) < 0)
		return ctl_wire_error("bad_request", "admitted: below the current %lld, or rate_per_s not a whole number",
				      (long long)q->admitted);
	q->admitted = json_integer_value(adm);
	q->rate_per_s = json_number_value(rate);
	fprintf(record, "admit %lld %llu %.3f\n", (long long)q->admitted, (unsigned long long)wall_ms(), q->rate_per_s);
	fflush(record);
	return json_pack("{s:b,s:I,s:I}", "ok", 1, "event", (json_int_t)q->id, "admitted", q->admitted);
}

/* waiting-room {event, active}: recorded. */
static json_t *waiting_room(const json_t *req)
{
	struct fake_queue *q = fq(json_integer_value(json_object_get(req, "event")));
	const json_t *a = json_object_get(req, "active");
	if (q == NULL)
		return ctl_wire_error("not_found", "event");
	if (!json_is_boolean(a))
		return ctl_wire_error("bad_request", "active: must be a boolean");
	q->active = json_is_true(a);
	fprintf(record, "waiting-room %u %llu %s\n", q->id, (unsigned long long)wall_ms(), q->active ? "on" : "off");
	fflush(record);
	return json_pack("{s:b,s:I,s:b}", "ok", 1, "event", (json_int_t)q->id, "active", q->active);
}

/* test_queue: set the given fields of an event's queue. */
static json_t *test_queue(const json_t *req)
{
	struct fake_queue *q = fq(json_integer_value(json_object_get(req, "event")));
	if (q == NULL)
		return ctl_wire_error("not_found", "event");
	const char *mode = json_string_value(json_object_get(req, "mode"));
	if (mode != NULL) {
		q->mode = strcmp(mode, "on") == 0	   ? "on"
			  : strcmp(mode, "auto") == 0	   ? "auto"
			  : strcmp(mode, "sideways") == 0 ? "sideways" /* a malformed row, for the test */
							   : "off";
		q->active = strcmp(q->mode, "on") == 0 || strcmp(q->mode, "sideways") == 0;
	}
	if (json_object_get(req, "active"))
		q->active = json_is_true(json_object_get(req, "active"));
	if (json_object_get(req, "opened"))
		q->opened = json_is_true(json_object_get(req, "opened"));
	struct {
		const char *key;
		json_int_t *v;
	} f[] = {{"prequeue", &q->prequeue},
		 {"joined", &q->joined},
		 {"admitted", &q->admitted},
		 {"max_active_shoppers", &q->max_active_shoppers},
		 {"admission_per_s", &q->admission_per_s},
		 {"purchase_window_ms", &q->purchase_window_ms},
		 {"threshold_rps", &q->threshold_rps},
		 {"unissued", &q->unissued}};
	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (json_is_integer(json_object_get(req, f[i].key)))
			*f[i].v = json_integer_value(json_object_get(req, f[i].key));
	const json_t *rps = json_object_get(req, "requests_per_s");
	if (json_is_number(rps)) {
		q->req_base = (double)fake_requests(q);
		q->req_t0 = wall_ms();
		q->req_per_s = json_number_value(rps);
	}
	return ctl_wire_ok();
}

static json_t *keys_script; /* test_keys: the reply to keys reload, NULL: the default */

/* keys {action}: reload answers the scripted reply; any other action is bad_request. */
static json_t *keys_reload(const json_t *req)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	if (action == NULL || strcmp(action, "reload") != 0)
		return ctl_wire_error("bad_request", "action: expected reload");
	json_t *r = keys_script ? json_deep_copy(keys_script)
				: json_pack("{s:b,s:i,s:i}", "ok", 1, "keys", 2, "current", 9);
	const char *error = json_string_value(json_object_get(r, "error"));
	fprintf(record, "keys 0 %llu %s\n", (unsigned long long)wall_ms(), error ? error : "ok");
	fflush(record);
	return r;
}

/* test_keys {reply}: keep reply (an object) for the next keys reloads. */
static json_t *test_keys(const json_t *req)
{
	json_t *reply = json_object_get(req, "reply");
	if (!json_is_object(reply))
		return ctl_wire_error("bad_request", "reply: expected an object");
	json_decref(keys_script);
	keys_script = json_deep_copy(reply);
	return ctl_wire_ok();
}

/* Answer one request. */
static json_t *handle(const json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (cmd == NULL)
		return ctl_wire_error("bad_request", "cmd: missing");
	if (strcmp(cmd, "hello") == 0)
		return json_pack("{s:b,s:i,s:i,s:i,s:s,s:I,s:s}", "ok", 1, "version", CTL_WIRE_VERSION, "workers", 1,
				 "pid", (int)getpid(), "sync", "none", "started_ms", (json_int_t)started_ms, "data_dir",
				 data_dir);
	if (strcmp(cmd, "status") == 0)
		return status_reply();
	if (strcmp(cmd, "events") == 0)
		return json_pack("{s:b,s:[{s:i,s:s,s:s},{s:i,s:s,s:s}]}", "ok", 1, "events", "id", T_EV_ARENA, "name",
				 "Arena", "state", "open", "id", T_EV_THEATRE, "name", "Theatre", "state", "open");
	if (strcmp(cmd, "sale") == 0) {
		const json_t *ev = json_object_get(req, "event");
		if (json_integer_value(ev) != T_EV_ARENA && json_integer_value(ev) != T_EV_THEATRE)
			return ctl_wire_error("not_found", "event %lld", json_integer_value(ev));
		return json_pack("{s:b,s:O,s:O}", "ok", 1, "event", ev, "state", json_object_get(req, "action"));
	}
	if (!no_queue && strcmp(cmd, "queue") == 0)
		return queue_reply(req);
	if (!no_queue && strcmp(cmd, "admit") == 0)
		return admit(req);
	if (!no_queue && strcmp(cmd, "waiting-room") == 0)
		return waiting_room(req);
	if (strcmp(cmd, "test_queue") == 0)
		return test_queue(req);
	if (strcmp(cmd, "keys") == 0)
		return keys_reload(req);
	if (strcmp(cmd, "test_keys") == 0)
		return test_keys(req);
	if (strcmp(cmd, "set") == 0) {
		struct fake_queue *q = fq(json_integer_value(json_object_get(req, "event")));
		if (q && json_is_integer(json_object_get(req, "max_active_shoppers")))
			q->max_active_shoppers = json_integer_value(json_object_get(req, "max_active_shoppers"));
		if (q && json_is_integer(json_object_get(req, "admission_per_s")))
			q->admission_per_s = json_integer_value(json_object_get(req, "admission_per_s"));
	}
	if (strcmp(cmd, "set") == 0 || strcmp(cmd, "load") == 0 || strcmp(cmd, "presale") == 0) {
		json_t *r = json_deep_copy(req);
		json_object_del(r, "cmd");
		json_object_set_new(r, "ok", json_true());
		return r;
	}
	if (strcmp(cmd, "expire") == 0)
		return end_holds(req, 0);
	if (strcmp(cmd, "release") == 0)
		return end_holds(req, 1);
	if (strcmp(cmd, "test_hold") == 0)
		return test_hold(req);
	if (strcmp(cmd, "test_confirm") == 0)
		return test_confirm(req);
	return ctl_wire_error("unknown_command", "%s", cmd);
}

/* Open storage, replay, serve until a signal. */
int main(int argc, char **argv)
{
	const char *sock = NULL, *rec_path = NULL;
	static const struct option longs[] = {{"socket", required_argument, NULL, 's'},
					      {"data", required_argument, NULL, 'd'},
					      {"record", required_argument, NULL, 'r'},
					      {"no-queue", no_argument, NULL, 'q'},
					      {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else if (c == 'd')
			data_dir = optarg;
		else if (c == 'r')
			rec_path = optarg;
		else if (c == 'q')
			no_queue = 1;
		else
			return 2;
	}
	if (!sock || !data_dir || !rec_path) {
		fprintf(stderr, "usage: fake_dataplane --socket PATH --data DIR --record FILE\n");
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	started_ms = wall_ms();
	queues[0].req_t0 = queues[1].req_t0 = started_ms;
	record = fopen(rec_path, "a");
	struct st_options o = {.dir = data_dir, .nosync = true, .workers = 1};
	int rc = record ? st_env_open(&o, &env) : -errno;
	if (rc == 0)
		rc = t_events_store(env);
	if (rc == 0)
		rc = st_env_replay(env, replay_cb, NULL);
	if (rc == 0)
		rc = st_writer_start(env);
	if (rc != 0) {
		fprintf(stderr, "fake_dataplane: storage: %s\n", st_strerror(rc));
		return 1;
	}
	wlog = st_env_log(env, 0);
	int lfd = ctl_wire_listen(sock);
	if (lfd < 0) {
		fprintf(stderr, "fake_dataplane: listen %s: %s\n", sock, strerror(-lfd));
		return 1;
	}
	int clients[FAKE_CLIENTS_MAX];
	for (unsigned i = 0; i < FAKE_CLIENTS_MAX; i++)
		clients[i] = -1;
	while (!stop) {
		struct pollfd fds[1 + FAKE_CLIENTS_MAX];
		unsigned idx[1 + FAKE_CLIENTS_MAX];
		nfds_t n = 0;
		fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (unsigned i = 0; i < FAKE_CLIENTS_MAX; i++)
			if (clients[i] >= 0) {
				idx[n] = i;
				fds[n++] = (struct pollfd){.fd = clients[i], .events = POLLIN};
			}
		if (poll(fds, n, 200) <= 0)
			continue;
		for (nfds_t k = 1; k < n; k++) {
			if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			json_t *req = NULL;
			int fd = clients[idx[k]];
			if (ctl_wire_recv(fd, 2000, &req) != 0) {
				close(fd);
				clients[idx[k]] = -1;
				continue;
			}
			json_t *reply = handle(req);
			json_decref(req);
			if (reply == NULL || ctl_wire_send(fd, reply) != 0) {
				close(fd);
				clients[idx[k]] = -1;
			}
			json_decref(reply);
		}
		if (fds[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			unsigned i = 0;
			while (fd >= 0 && i < FAKE_CLIENTS_MAX && clients[i] >= 0)
				i++;
			if (fd >= 0 && i < FAKE_CLIENTS_MAX)
				clients[i] = fd;
			else if (fd >= 0)
				close(fd);
		}
	}
	for (unsigned i = 0; i < FAKE_CLIENTS_MAX; i++)
		if (clients[i] >= 0)
			close(clients[i]);
	close(lfd);
	unlink(sock);
	st_writer_stop(env);
	st_env_close(env);
	fclose(record);
	return 0;
}
