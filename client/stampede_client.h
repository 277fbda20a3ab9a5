/*
 * stampede_client.h - libstampede-client: talk to a Stampede dataplane over
 * ordinary UDP sockets (docs/client.md, wire protocol in docs/protocol.md).
 *
 * A client object owns one UDP socket bound to an ephemeral local port and
 * connected to one server. Every call is synchronous: it sends a request,
 * resends it after a timeout or a `busy` answer with the SAME request id (the
 * server answers a retried mutation with its first answer and never applies
 * it twice), and returns when an answer arrived or the attempts ran out.
 * Several requests can share one datagram through the stampede_batch_*
 * calls.
 *
 * Return values: every call that talks to the server returns 0 when a reply
 * arrived - then the result's `status` says what the server did, and it may
 * well be a refusal such as STAMPEDE_S_TAKEN - or a negative errno value:
 *   -ETIMEDOUT    no answer after all attempts (or max_wait_ms passed),
 *   -EPROTO       no usable answer, and something that did not decode as a
 *                 version-1 reply to this request came back (a datagram that
 *                 does not decode is ignored, not fatal: see docs/client.md),
 *   -ECONNREFUSED no answer, and the network said nothing listens there
 *                 (likewise -EHOSTUNREACH, -ENETUNREACH),
 *   -EINVAL       an argument broke a rule given with the call (nothing sent),
 *   -ENOSPC       (batch) the request does not fit the batch,
 *   other -errno  a socket call failed.
 *
 * Threads: the library keeps no global state. A client object is not
 * thread-safe: use one client object per thread (or serialise all calls on
 * one object yourself). Different objects may be used from different threads
 * at the same time. Each call blocks the calling thread for at most about
 * max_wait_ms.
 *
 * This header is self-contained: the constants below are the wire protocol's
 * numbers (dataplane/dp_proto.h, dataplane/dp_types.h), checked against them
 * when the library is built.
 */
#ifndef STAMPEDE_CLIENT_H
#define STAMPEDE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- defaults and limits ---- */
#define STAMPEDE_DEFAULT_HOST "127.0.0.1"
#define STAMPEDE_DEFAULT_PORT 7300
#define STAMPEDE_DEFAULT_TIMEOUT_MS 200    /* per attempt */
#define STAMPEDE_DEFAULT_RETRIES 5         /* resends after a timeout */
#define STAMPEDE_DEFAULT_BUSY_RETRIES 20   /* resends after `busy` */
#define STAMPEDE_DEFAULT_BUSY_CAP_MS 1000  /* longest wait honoured for one `busy` */
#define STAMPEDE_DEFAULT_MAX_WAIT_MS 10000 /* longest one call (or batch) may take */
#define STAMPEDE_DEFAULT_RETRY_HORIZON_MS 2000 /* the dataplane's idem-horizon-ms default */

#define STAMPEDE_ITEMS_MAX 16          /* seats or tickets in one hold */
#define STAMPEDE_BATCH_MAX 32          /* requests in one batch (one datagram) */
#define STAMPEDE_SEATMAP_PAGE_MAX 1024 /* seats in one seat-map page */
#define STAMPEDE_PAYMENT_REF_MAX 32    /* bytes of a payment reference */
#define STAMPEDE_TOKEN_SIZE 64         /* waiting-room access token */
#define STAMPEDE_ECHO_MAX 64           /* ping echo bytes */

/* ---- request kinds (the wire opcodes) ---- */
enum stampede_op {
	STAMPEDE_OP_PING = 0x01,
	STAMPEDE_OP_QUEUE_JOIN = 0x02,
	STAMPEDE_OP_QUEUE_POLL = 0x03,
	STAMPEDE_OP_SEAT_MAP = 0x04,
	STAMPEDE_OP_HOLD_SEATS = 0x05,
	STAMPEDE_OP_HOLD_BEST = 0x06,
	STAMPEDE_OP_HOLD_GA = 0x07,
	STAMPEDE_OP_CONFIRM = 0x08,
	STAMPEDE_OP_RELEASE = 0x09,
	STAMPEDE_OP_ORDER = 0x0a,
};

/* ---- reply status (docs/protocol.md "Status codes" says what to do) ---- */
enum stampede_status {
	STAMPEDE_S_OK = 0,
	STAMPEDE_S_TAKEN = 1,        /* a named seat is held or sold; u.hold.alt[] offers others */
	STAMPEDE_S_SOLD_OUT = 2,     /* not enough free tickets; u.hold.available says how many are */
	STAMPEDE_S_EXPIRED = 3,      /* the hold lapsed before the confirm */
	STAMPEDE_S_LIMIT = 4,        /* per-buyer limit would be passed */
	STAMPEDE_S_NOT_FOUND = 5,    /* event, section, type, hold or order unknown (see detail) */
	STAMPEDE_S_BAD_REQUEST = 6,  /* malformed or inconsistent request (see detail) */
	STAMPEDE_S_BAD_TOKEN = 7,    /* waiting-room token refused */
	STAMPEDE_S_NOT_ADMITTED = 8, /* waiting room: not yet admitted */
	STAMPEDE_S_BUSY = 9,         /* still busy after the busy retries */
	STAMPEDE_S_UNAVAILABLE = 10, /* mutations refused for now (storage, full table, shutdown) */
	STAMPEDE_S_NOT_YOURS = 11,   /* the hold belongs to another client */
	STAMPEDE_S_RELEASED = 12,    /* the hold was already released */
	STAMPEDE_S_CLOSED = 13,      /* the event is not on sale */
};

/* ---- reply detail (finer reason) ---- */
enum stampede_detail {
	STAMPEDE_D_NONE = 0,
	STAMPEDE_D_QTY_ZERO = 1,
	STAMPEDE_D_QTY_TOO_MANY = 2,
	STAMPEDE_D_DUP_SEAT = 3,
	STAMPEDE_D_SEAT_RANGE = 4,
	STAMPEDE_D_IDEM_MISMATCH = 5,
	STAMPEDE_D_BAD_CLIENT = 6,
	STAMPEDE_D_BAD_OP = 7,
	STAMPEDE_D_WRONG_WORKER = 8,
	STAMPEDE_D_WRONG_KIND = 9,
	STAMPEDE_D_EVENT = 10,
	STAMPEDE_D_PART = 11,
	STAMPEDE_D_HOLD = 12,
	STAMPEDE_D_ORDER = 13,
	STAMPEDE_D_WITHHELD = 14,
	STAMPEDE_D_REBALANCING = 15,
	STAMPEDE_D_LOG_FULL = 16,
	STAMPEDE_D_STORAGE = 17,
	STAMPEDE_D_HOLDS_FULL = 18,
	STAMPEDE_D_ORDERS_FULL = 19,
	STAMPEDE_D_BUYERS_FULL = 20,
	STAMPEDE_D_CONFIRMED = 21, /* confirm: the hold was confirmed before; same order */
	STAMPEDE_D_REPLAY = 22,    /* the remembered first answer to this request id */
	STAMPEDE_D_RETRY_MEMORY = 23, /* busy: retry memory full of recent requests; retry after retry_after_ms */
	/* bad_token: why the waiting-room token was refused (docs/waiting-room.md) */
	STAMPEDE_D_TOKEN_MALFORMED = 24,    /* drop it, queue_join again */
	STAMPEDE_D_TOKEN_UNKNOWN_KEY = 25,  /* older than two key rotations: queue_join again */
	STAMPEDE_D_TOKEN_FORGED = 26,       /* drop it, queue_join again */
	STAMPEDE_D_TOKEN_WRONG_KIND = 27,   /* ticket with a hold, or access token with queue_poll */
	STAMPEDE_D_TOKEN_WRONG_EVENT = 28,  /* use the token of that event */
	STAMPEDE_D_TOKEN_WRONG_CLIENT = 29, /* tokens are bound to the client id that joined */
	STAMPEDE_D_TOKEN_EXPIRED = 30,      /* purchase window over: queue_join again */
	STAMPEDE_D_QUEUE_RESERVE = 31,      /* busy: queue positions being reserved; retry */
	STAMPEDE_D_NO_KEYS = 32,            /* unavailable: the dataplane has no waiting-room keys */
	/* presale windows (docs/waiting-room.md, "Presale windows") */
	STAMPEDE_D_PRESALE_ONLY = 33, /* closed: before the on-sale time only presale buyers may join or hold */
	STAMPEDE_D_CODE_UNKNOWN = 34, /* not_found: no presale window of this event has that code */
	STAMPEDE_D_CODE_WINDOW = 35,  /* closed: the code's (or access token's) presale window is not open now */
	STAMPEDE_D_CODE_USED_UP = 36, /* limit: the code's uses are all taken by other buyers */
	STAMPEDE_D_CODE_PENDING = 37, /* busy: this buyer's use is being made durable; retried by the library */
};

/* ---- seat-map bytes: one per seat ---- */
#define STAMPEDE_SEAT_STATE(b) ((unsigned)(b) & 3u) /* enum stampede_seat_state */
#define STAMPEDE_SEAT_TIER(b) ((unsigned)(b) >> 2)  /* price tier 0..63 */
enum stampede_seat_state {
	STAMPEDE_SEAT_FREE = 0,
	STAMPEDE_SEAT_HELD = 1,
	STAMPEDE_SEAT_SOLD = 2,
	STAMPEDE_SEAT_WITHHELD = 3,
};

/* Order kinds (u.order.kind). */
#define STAMPEDE_ORDER_SEATS 1
#define STAMPEDE_ORDER_GA 2

/* Which member of stampede_result.u a reply filled. */
enum stampede_body {
	STAMPEDE_BODY_NONE = 0, /* head only: a refusal made before the engine, or busy */
	STAMPEDE_BODY_PING,
	STAMPEDE_BODY_HOLD, /* hold_*, confirm, release */
	STAMPEDE_BODY_SEAT_MAP,
	STAMPEDE_BODY_ORDER,
	STAMPEDE_BODY_QUEUE, /* queue_join, queue_poll */
};

/* ---- waiting-room queue states (u.queue.state) ---- */
enum stampede_queue_state {
	STAMPEDE_QUEUE_WAITING = 0,  /* token = queue ticket: poll again with it */
	STAMPEDE_QUEUE_ADMITTED = 1, /* token = access token: pass it to the hold calls */
	STAMPEDE_QUEUE_NO_QUEUE = 2, /* no waiting room now: hold without a token */
	STAMPEDE_QUEUE_PREQUEUE = 3, /* before the on-sale time: poll with the ticket; wait_ms = time to opening */
};

/* ---- options ---- */

/* Every field has a default; a zeroed struct (or stampede_client_opts_init)
 * gives all of them. */
struct stampede_client_opts {
	const char *host;     /* IPv4 dotted quad or a name (getaddrinfo, IPv4); NULL: "127.0.0.1" */
	uint16_t port;        /* UDP port; 0: 7300 */
	uint64_t client_id;   /* who asks (one buyer or buyer session); 0: random (getrandom) */
	unsigned timeout_ms;  /* wait for an answer per attempt; 0: 200 */
	int retries;          /* resends of a request after a timeout; 0: 5; negative: none */
	int busy_retries;     /* resends of a request after `busy`; 0: 20; negative: none */
	unsigned busy_cap_ms; /* a `busy` asking for more than this waits this long; 0: 1000 */
	unsigned max_wait_ms; /* one call or batch returns within about this long; 0: 10000 */
	/* The dataplane's idem-horizon-ms (0: 2000). Once an attempt of a
	 * mutation has gone unanswered, it may have been applied; resends after
	 * this long from that attempt could be applied a second time, so the call
	 * stops there with error -ETIMEDOUT (outcome unknown) instead. */
	unsigned retry_horizon_ms;
};

/* One request's outcome. */
struct stampede_result {
	int error;               /* 0: a reply arrived (see status); else the call's negative errno */
	uint8_t op;              /* enum stampede_op of the request */
	uint8_t status;          /* enum stampede_status (valid when error is 0) */
	uint8_t detail;          /* enum stampede_detail */
	uint8_t body;            /* enum stampede_body: which member of u is filled */
	uint32_t retry_after_ms; /* with STAMPEDE_S_BUSY: what the server last asked for */
	uint64_t request_id;     /* the id every attempt of this request carried */
	unsigned sends;          /* datagrams that carried this request (1 = no resend) */
	unsigned busy_answers;   /* `busy` answers received before the final one */
	uint32_t rtt_us;         /* from the last send to the reply, microseconds */
	union {
		struct {
			uint64_t server_time_ms; /* server clock, ms since the Unix epoch */
			uint32_t workers;        /* worker cores serving requests */
		} ping;
		struct {
			uint32_t event_id;
			uint32_t part_id; /* section or general-admission type */
			uint64_t hold_id;
			uint64_t order_id;  /* confirm (and release refused as already_confirmed) */
			uint64_t expiry_ms; /* when the hold lapses, ms since the Unix epoch */
			uint32_t available; /* sold_out: tickets still free */
			uint8_t n_items;    /* seats (indexes) or GA serials held or ordered */
			uint8_t n_alt;      /* taken: alternative seats offered, not held */
			uint32_t items[STAMPEDE_ITEMS_MAX];
			uint32_t alt[STAMPEDE_ITEMS_MAX];
		} hold;
		struct {
			uint32_t event_id;
			uint32_t part_id;
			uint32_t capacity;         /* seats in the section */
			uint32_t first;            /* first seat index of this page */
			uint32_t count;            /* seats in this page (fewer than asked at the end) */
			uint32_t free, held, sold; /* section totals */
			uint8_t *seats;            /* the caller's buffer, `count` bytes filled */
		} seat_map;
		struct {
			uint64_t order_id;
			uint64_t hold_id;
			uint64_t time_ms; /* when it was confirmed, ms since the Unix epoch */
			uint32_t event_id;
			uint32_t part_id;
			uint8_t kind; /* STAMPEDE_ORDER_SEATS or STAMPEDE_ORDER_GA */
			uint8_t n_items;
			uint8_t payment_ref[STAMPEDE_PAYMENT_REF_MAX]; /* zero-padded */
			uint32_t items[STAMPEDE_ITEMS_MAX];
		} order;
		struct {
			uint32_t event_id;
			uint8_t state;     /* enum stampede_queue_state */
			uint64_t position; /* place in the queue, 0 first */
			uint64_t ahead;    /* WAITING: buyers ahead still to be admitted */
			uint32_t wait_ms;  /* WAITING: estimated wait; PREQUEUE: time until opening */
			uint8_t token[STAMPEDE_TOKEN_SIZE]; /* ticket or access token (zeros for NO_QUEUE) */
		} queue;
	} u;
};

/* Counters of one client object since it was opened. */
struct stampede_client_stats {
	uint64_t datagrams_sent;
	uint64_t datagrams_received;
	uint64_t resends;       /* requests sent again after a timeout */
	uint64_t busy_resends;  /* requests sent again after `busy` */
	uint64_t stale_replies; /* replies to another client id or to no request in flight */
	uint64_t undecodable;   /* reply messages that did not decode, or answered with the wrong opcode */
};

struct stampede_client;

/* ---- client objects ---- */

/*
 * Fill *opts with the defaults (the same as a zeroed struct, written out).
 * opts must not be NULL.
 */
void stampede_client_opts_init(struct stampede_client_opts *opts);

/*
 * Open a client: resolve opts->host (IPv4 only), create a UDP socket, bind
 * it to an ephemeral local port and connect it to host:port, so that only
 * the server's datagrams are received. Picks a random client id when
 * opts->client_id is 0, and a random 48-bit base for request ids, so that a
 * restarted client does not reuse the ids of its previous run. opts may be
 * NULL (all defaults). err, if not NULL, receives a one-line reason of at
 * most errlen bytes on failure (errlen 0: nothing written).
 *
 * Returns the client, or NULL with errno set: EINVAL (an option out of
 * range: timeout_ms or busy_cap_ms over one hour), ENOENT (the host name
 * did not resolve to an IPv4 address), ENOMEM, or the errno of socket(),
 * bind() or connect().
 */
struct stampede_client *stampede_client_open(const struct stampede_client_opts *opts, char *err, size_t errlen);

/* Close the socket and free c. c may be NULL. A batch in progress is dropped. */
void stampede_client_close(struct stampede_client *c);

/* The client id every request of c carries. c must not be NULL. */
uint64_t stampede_client_id(const struct stampede_client *c);

/*
 * The request id the next new request of c will carry (each new request,
 * single or in a batch, takes the next one; retries reuse theirs). c must not
 * be NULL.
 */
uint64_t stampede_client_next_request_id(const struct stampede_client *c);

/* The server address as "a.b.c.d:port". c must not be NULL. */
const char *stampede_client_server(const struct stampede_client *c);

/* Copy c's counters into *st. Neither may be NULL. */
void stampede_client_stats(const struct stampede_client *c, struct stampede_client_stats *st);

/* ---- single requests ----
 *
 * Each sends one request in its own datagram and waits for its answer,
 * resending it with the same request id after a timeout (up to `retries`
 * times) and after `busy` (up to `busy_retries` times, waiting
 * retry_after_ms capped at busy_cap_ms), all within max_wait_ms. c and r
 * must not be NULL; *r is always filled and r->error is the return value.
 *
 * Every one of them returns:
 *   0             a reply arrived; r->status says what the server did
 *                 (STAMPEDE_S_BUSY when it stayed busy through the retries),
 *   -ETIMEDOUT    no answer to any attempt,
 *   -EPROTO       no usable answer, and an undecodable reply was seen,
 *   -ECONNREFUSED, -EHOSTUNREACH, -ENETUNREACH
 *                 no answer, and the network reported the datagrams bounced,
 *   other -errno  send(), recv() or ppoll() failed,
 * and, where a call lists rules for its arguments, -EINVAL when one is
 * broken (nothing is sent and no request id is used).
 */

/* Ping the server (a read: nothing changes). No argument rules. Body:
 * u.ping (server clock, workers); r->rtt_us is the round trip. */
int stampede_ping(struct stampede_client *c, struct stampede_result *r);

/*
 * Hold the n seats seats[0..n-1] (seat indexes) of section part of event,
 * all or nothing. n must be 1..STAMPEDE_ITEMS_MAX and seats not NULL, else
 * -EINVAL. token: STAMPEDE_TOKEN_SIZE bytes of waiting-room access token, or
 * NULL. Body: u.hold (STAMPEDE_BODY_NONE for a refusal before the engine).
 */
int stampede_hold_seats(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, const uint32_t *seats,
			const uint8_t *token, struct stampede_result *r);

/*
 * Hold the n best adjacent seats of section part of event, of price tier
 * tier (0: any). n must be 1..STAMPEDE_ITEMS_MAX and tier 0..63, else
 * -EINVAL. token as for stampede_hold_seats. Body: u.hold.
 */
int stampede_hold_best(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, unsigned tier,
		       const uint8_t *token, struct stampede_result *r);

/*
 * Hold n general-admission tickets of type part of event. n must be
 * 1..STAMPEDE_ITEMS_MAX, else -EINVAL. token as for stampede_hold_seats.
 * Body: u.hold (items are ticket serials).
 */
int stampede_hold_ga(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, const uint8_t *token,
		     struct stampede_result *r);

/*
 * Confirm hold hold_id after payment: the hold becomes an order
 * (u.hold.order_id). payment_ref is a NUL-terminated string of at most
 * STAMPEDE_PAYMENT_REF_MAX bytes (zero-padded on the wire); NULL or longer
 * gives -EINVAL. Body: u.hold.
 */
int stampede_confirm(struct stampede_client *c, uint64_t hold_id, const char *payment_ref, struct stampede_result *r);

/* Give hold hold_id back (any value may be given: an unknown one is answered
 * not_found). Body: u.hold; the head alone for a refusal made before the
 * engine. */
int stampede_release(struct stampede_client *c, uint64_t hold_id, struct stampede_result *r);

/* Read order order_id (only the client that confirmed it may; anyone else
 * gets not_found). No argument rules. Body: u.order, or none with
 * not_found. */
int stampede_order(struct stampede_client *c, uint64_t order_id, struct stampede_result *r);

/*
 * Join the waiting room of event (docs/waiting-room.md). Body: u.queue with
 * status ok (state WAITING or PREQUEUE: keep u.queue.token, the queue
 * ticket, and poll with it; ADMITTED: the token is an access token for the
 * hold calls; NO_QUEUE: hold without a token); none for a refusal
 * (busy / queue_reserve_full: retried by the library like any busy;
 * unavailable / no_keys; not_found). No argument rules.
 */
int stampede_queue_join(struct stampede_client *c, uint32_t event, struct stampede_result *r);

/*
 * Join with a presale code (1..32 printable ASCII bytes, no space; else
 * -EINVAL, nothing sent): the same as stampede_queue_join, plus before the
 * on-sale time of an event with presale windows the refusals closed /
 * presale_only or code_window, not_found / code_unknown, limit /
 * code_used_up (busy / code_pending is retried like any busy). With the
 * room not active a good code answers ADMITTED at once (a presale access
 * token). The same client id presenting the same code again uses nothing
 * more. From the on-sale time the code is ignored.
 */
int stampede_queue_join_code(struct stampede_client *c, uint32_t event, const char *code, struct stampede_result *r);

/*
 * Ask where the ticket (STAMPEDE_TOKEN_SIZE bytes from queue_join; not
 * NULL, else -EINVAL) stands now; the same ticket always gives the same
 * position. Body: u.queue as for stampede_queue_join; a refused ticket is
 * bad_token with a STAMPEDE_D_TOKEN_* detail and no body.
 */
int stampede_queue_poll(struct stampede_client *c, uint32_t event, const uint8_t *ticket,
			struct stampede_result *r);

/*
 * Read seats first..first+count-1 of section part of event into seats[] (one
 * byte per seat: STAMPEDE_SEAT_STATE / STAMPEDE_SEAT_TIER). count must be
 * 1..STAMPEDE_SEATMAP_PAGE_MAX and seats a buffer of at least count bytes,
 * else -EINVAL. Body: u.seat_map, whose count says how many bytes were
 * written (fewer at the end of the section); u.seat_map.seats is seats.
 */
int stampede_seat_map(struct stampede_client *c, uint32_t event, uint32_t part, uint32_t first, unsigned count,
		      uint8_t *seats, struct stampede_result *r);

/* ---- batches ----
 *
 * A batch is up to STAMPEDE_BATCH_MAX requests sent in one datagram (at most
 * 1472 bytes; a token costs 64 bytes per request). A client holds at most
 * one batch being built; single calls made meanwhile do not disturb it.
 * Each add takes the next request id. Usage:
 *
 *     stampede_batch_begin(c);
 *     stampede_batch_add_hold_ga(c, ev, ga, 2, NULL);
 *     stampede_batch_add_order(c, order);
 *     rc = stampede_batch_run(c, results, 2);
 */

/* Start a new, empty batch (a batch being built is dropped). c must not be
 * NULL. */
void stampede_batch_begin(struct stampede_client *c);

/* Requests in the batch being built. c must not be NULL. */
unsigned stampede_batch_count(const struct stampede_client *c);

/*
 * Append one request to the batch. Arguments and their rules are those of
 * the single call of the same name; the seat_map buffer must stay valid
 * until stampede_batch_run returns. Return the request's index in the batch
 * (0, 1, ...: its place in the results), or -EINVAL (an argument broke its
 * rule), -ENOSPC (the batch has STAMPEDE_BATCH_MAX requests, or the request
 * does not fit in the datagram). A failed add leaves the batch as it was.
 * c must not be NULL.
 */
int stampede_batch_add_ping(struct stampede_client *c);
int stampede_batch_add_hold_seats(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n,
				  const uint32_t *seats, const uint8_t *token);
int stampede_batch_add_hold_best(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, unsigned tier,
				 const uint8_t *token);
int stampede_batch_add_hold_ga(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n,
			       const uint8_t *token);
int stampede_batch_add_confirm(struct stampede_client *c, uint64_t hold_id, const char *payment_ref);
int stampede_batch_add_release(struct stampede_client *c, uint64_t hold_id);
int stampede_batch_add_order(struct stampede_client *c, uint64_t order_id);
int stampede_batch_add_queue_join(struct stampede_client *c, uint32_t event);
int stampede_batch_add_queue_join_code(struct stampede_client *c, uint32_t event, const char *code);
int stampede_batch_add_queue_poll(struct stampede_client *c, uint32_t event, const uint8_t *ticket);
int stampede_batch_add_seat_map(struct stampede_client *c, uint32_t event, uint32_t part, uint32_t first,
				unsigned count, uint8_t *seats);

/*
 * Send the batch in one datagram and collect every answer (they may come in
 * several datagrams, in any order). A request that times out or is answered
 * `busy` is resent with its original request id, together with the other
 * unanswered ones in one datagram; answered ones are never resent.
 * results[i] receives request i's outcome, in the order of the adds;
 * nresults must be at least stampede_batch_count(c) and results not NULL,
 * else -EINVAL (nothing sent). The batch is empty afterwards (also after an
 * error). An empty batch returns 0 at once.
 *
 * Returns 0 when every request got an answer (see each results[i].status),
 * or the error of the first request that got none (results[i].error:
 * -ETIMEDOUT, -EPROTO, -ECONNREFUSED, ...): the others' results are still
 * valid. A socket error other than the unreachable kinds ends the batch at
 * once; requests without an answer then carry that error.
 */
int stampede_batch_run(struct stampede_client *c, struct stampede_result *results, size_t nresults);

/* ---- names ---- */

/* "ok", "taken", "sold_out", ... (docs/protocol.md); "unknown" otherwise. */
const char *stampede_status_name(int status);
/* "none", "quantity_zero", ...; "unknown" otherwise. */
const char *stampede_detail_name(int detail);
/* "ping", "hold_seats", ...; "unknown" otherwise. */
const char *stampede_op_name(unsigned op);

#ifdef __cplusplus
}
#endif

#endif
