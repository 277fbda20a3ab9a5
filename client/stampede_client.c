/*
 * stampede_client.c - libstampede-client: requests over a connected UDP
 * socket, with resends that keep their request id (docs/client.md).
 *
 * The codec is the dataplane's own (dataplane/dp_proto.c): requests are
 * encoded with proto_put_* straight into a datagram buffer, replies decoded
 * with proto_decode_reply. A single call is a batch of one, so single calls
 * and batches share one send/collect loop (run_batch).
 */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/stampede_client.h"
#include "dataplane/dp_engine.h"
#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

/* ---- the public header's numbers are the protocol's ---- */
_Static_assert(STAMPEDE_ITEMS_MAX == PROTO_ITEMS_MAX, "items");
_Static_assert(STAMPEDE_BATCH_MAX == PROTO_MSGS_MAX, "batch");
_Static_assert(STAMPEDE_SEATMAP_PAGE_MAX == PROTO_SEATMAP_PAGE_MAX, "seat-map page");
_Static_assert(STAMPEDE_PAYMENT_REF_MAX == PROTO_PAYMENT_REF_SIZE, "payment ref");
_Static_assert(STAMPEDE_TOKEN_SIZE == PROTO_TOKEN_SIZE, "token");
_Static_assert(STAMPEDE_ECHO_MAX == PROTO_PING_ECHO_MAX, "echo");
/* The enums differ in type, not in value. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(STAMPEDE_OP_PING, PROTO_OP_PING) && SAME(STAMPEDE_OP_SEAT_MAP, PROTO_OP_SEAT_MAP) &&
		       SAME(STAMPEDE_OP_HOLD_SEATS, PROTO_OP_HOLD_SEATS) &&
		       SAME(STAMPEDE_OP_HOLD_BEST, PROTO_OP_HOLD_BEST) && SAME(STAMPEDE_OP_HOLD_GA, PROTO_OP_HOLD_GA) &&
		       SAME(STAMPEDE_OP_CONFIRM, PROTO_OP_CONFIRM) && SAME(STAMPEDE_OP_RELEASE, PROTO_OP_RELEASE) &&
		       SAME(STAMPEDE_OP_ORDER, PROTO_OP_ORDER) && SAME(STAMPEDE_OP_QUEUE_JOIN, PROTO_OP_QUEUE_JOIN) &&
		       SAME(STAMPEDE_OP_QUEUE_POLL, PROTO_OP_QUEUE_POLL),
	       "opcodes");
_Static_assert(SAME(STAMPEDE_QUEUE_WAITING, PROTO_QS_WAITING) && SAME(STAMPEDE_QUEUE_ADMITTED, PROTO_QS_ADMITTED) &&
		       SAME(STAMPEDE_QUEUE_NO_QUEUE, PROTO_QS_NO_QUEUE) &&
		       SAME(STAMPEDE_QUEUE_PREQUEUE, PROTO_QS_PREQUEUE),
	       "queue states");
_Static_assert(SAME(STAMPEDE_S_OK, DP_S_OK) && SAME(STAMPEDE_S_TAKEN, DP_S_TAKEN) &&
		       SAME(STAMPEDE_S_SOLD_OUT, DP_S_SOLD_OUT) && SAME(STAMPEDE_S_EXPIRED, DP_S_EXPIRED) &&
		       SAME(STAMPEDE_S_LIMIT, DP_S_LIMIT) && SAME(STAMPEDE_S_NOT_FOUND, DP_S_NOT_FOUND) &&
		       SAME(STAMPEDE_S_BAD_REQUEST, DP_S_BAD_REQUEST) && SAME(STAMPEDE_S_BAD_TOKEN, DP_S_BAD_TOKEN) &&
		       SAME(STAMPEDE_S_NOT_ADMITTED, DP_S_NOT_ADMITTED) && SAME(STAMPEDE_S_BUSY, DP_S_BUSY) &&
		       SAME(STAMPEDE_S_UNAVAILABLE, DP_S_UNAVAILABLE) && SAME(STAMPEDE_S_NOT_YOURS, DP_S_NOT_YOURS) &&
		       SAME(STAMPEDE_S_RELEASED, DP_S_RELEASED) && SAME(STAMPEDE_S_CLOSED, DP_S_CLOSED) &&
		       DP_S__COUNT == 14,
	       "statuses");
_Static_assert(SAME(STAMPEDE_D_NONE, DP_D_NONE) && SAME(STAMPEDE_D_QTY_ZERO, DP_D_QTY_ZERO) &&
		       SAME(STAMPEDE_D_QTY_TOO_MANY, DP_D_QTY_TOO_MANY) && SAME(STAMPEDE_D_DUP_SEAT, DP_D_DUP_SEAT) &&
		       SAME(STAMPEDE_D_SEAT_RANGE, DP_D_SEAT_RANGE) &&
		       SAME(STAMPEDE_D_IDEM_MISMATCH, DP_D_IDEM_MISMATCH) &&
		       SAME(STAMPEDE_D_BAD_CLIENT, DP_D_BAD_CLIENT) && SAME(STAMPEDE_D_BAD_OP, DP_D_BAD_OP) &&
		       SAME(STAMPEDE_D_WRONG_WORKER, DP_D_WRONG_WORKER) &&
		       SAME(STAMPEDE_D_WRONG_KIND, DP_D_WRONG_KIND) && SAME(STAMPEDE_D_EVENT, DP_D_EVENT) &&
		       SAME(STAMPEDE_D_PART, DP_D_PART) && SAME(STAMPEDE_D_HOLD, DP_D_HOLD) &&
		       SAME(STAMPEDE_D_ORDER, DP_D_ORDER) && SAME(STAMPEDE_D_WITHHELD, DP_D_WITHHELD) &&
		       SAME(STAMPEDE_D_REBALANCING, DP_D_REBALANCING) && SAME(STAMPEDE_D_LOG_FULL, DP_D_LOG_FULL) &&
		       SAME(STAMPEDE_D_STORAGE, DP_D_STORAGE) && SAME(STAMPEDE_D_HOLDS_FULL, DP_D_HOLDS_FULL) &&
		       SAME(STAMPEDE_D_ORDERS_FULL, DP_D_ORDERS_FULL) &&
		       SAME(STAMPEDE_D_BUYERS_FULL, DP_D_BUYERS_FULL) && SAME(STAMPEDE_D_CONFIRMED, DP_D_CONFIRMED) &&
		       SAME(STAMPEDE_D_REPLAY, DP_D_REPLAY) &&
		       SAME(STAMPEDE_D_RETRY_MEMORY, DP_D_RETRY_MEMORY) &&
		       SAME(STAMPEDE_D_TOKEN_MALFORMED, DP_D_TOKEN_MALFORMED) &&
		       SAME(STAMPEDE_D_TOKEN_UNKNOWN_KEY, DP_D_TOKEN_UNKNOWN_KEY) &&
		       SAME(STAMPEDE_D_TOKEN_FORGED, DP_D_TOKEN_FORGED) &&
		       SAME(STAMPEDE_D_TOKEN_WRONG_KIND, DP_D_TOKEN_WRONG_KIND) &&
		       SAME(STAMPEDE_D_TOKEN_WRONG_EVENT, DP_D_TOKEN_WRONG_EVENT) &&
		       SAME(STAMPEDE_D_TOKEN_WRONG_CLIENT, DP_D_TOKEN_WRONG_CLIENT) &&
		       SAME(STAMPEDE_D_TOKEN_EXPIRED, DP_D_TOKEN_EXPIRED) &&
		       SAME(STAMPEDE_D_QUEUE_RESERVE, DP_D_QUEUE_RESERVE) && SAME(STAMPEDE_D_NO_KEYS, DP_D_NO_KEYS) &&
		       SAME(STAMPEDE_D_PRESALE_ONLY, DP_D_PRESALE_ONLY) &&
		       SAME(STAMPEDE_D_CODE_UNKNOWN, DP_D_CODE_UNKNOWN) &&
		       SAME(STAMPEDE_D_CODE_WINDOW, DP_D_CODE_WINDOW) &&
		       SAME(STAMPEDE_D_CODE_USED_UP, DP_D_CODE_USED_UP) &&
		       SAME(STAMPEDE_D_CODE_PENDING, DP_D_CODE_PENDING) && DP_D__COUNT == 38,
	       "details");
_Static_assert(SAME(STAMPEDE_SEAT_FREE, DP_SEAT_FREE) && SAME(STAMPEDE_SEAT_HELD, DP_SEAT_HELD) &&
		       SAME(STAMPEDE_SEAT_SOLD, DP_SEAT_SOLD) && SAME(STAMPEDE_SEAT_WITHHELD, DP_SEAT_OFF),
	       "seat states");
_Static_assert(SAME(STAMPEDE_ORDER_SEATS, ST_KIND_SEAT) && SAME(STAMPEDE_ORDER_GA, ST_KIND_GA), "order kinds");
_Static_assert(DP_TIERS_MAX == 64, "tiers travel in 6 bits");

#define OPTION_MS_MAX (3600u * 1000u) /* timeout_ms, busy_cap_ms */
#define RX_MAX 2048                   /* > PROTO_DGRAM_MAX: a longer datagram is not ours */

enum slot_state {
	SLOT_SEND,
	SLOT_WAIT,
	SLOT_DONE
};

/* One request of a batch: its bytes in the batch datagram and its retry state. */
struct slot {
	uint64_t request_id;
	uint8_t op;
	uint8_t state; /* enum slot_state */
	uint16_t off, len;
	int timeouts_left, busy_left;
	int got_busy;
	uint64_t due_us;        /* SLOT_SEND: not before */
	uint64_t wait_until_us; /* SLOT_WAIT: attempt times out */
	uint64_t sent_us;
	uint64_t unknown_since_us; /* a mutation's attempt sent then went unanswered (0: none) */
	uint8_t *seats; /* SEAT_MAP: the caller's buffer */
	unsigned seats_cap;
	struct stampede_result *res;
};

struct batch {
	struct proto_buf b;
	uint8_t dgram[PROTO_DGRAM_MAX];
	struct slot slot[PROTO_MSGS_MAX];
	unsigned n;
};

struct stampede_client {
	int fd;
	uint64_t client_id;
	uint64_t next_req;
	uint64_t timeout_us, busy_cap_us, max_wait_us, retry_horizon_us;
	int retries, busy_retries;
	char server[32];
	struct stampede_client_stats st;
	struct batch user;   /* stampede_batch_* */
	struct batch single; /* single calls */
	uint8_t tx[PROTO_DGRAM_MAX];
	uint8_t rx[RX_MAX];
};

/* ---- small helpers ---- */

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

static uint64_t random_u64(void)
{
	uint64_t v = 0;
	size_t got = 0;
	while (got < sizeof(v)) {
		ssize_t r = getrandom((uint8_t *)&v + got, sizeof(v) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	if (got < sizeof(v)) { /* no getrandom: clock and pid, mixed (splitmix64) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 12) ^ v;
		z += 0x9e3779b97f4a7c15ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		v = z ^ (z >> 31);
	}
	return v;
}

/* Errors a network reports for a datagram it could not deliver (ICMP): the
 * attempt counts as lost, and the call goes on until its attempts run out. */
static int is_unreachable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN || e == ENETDOWN;
}

/* ---- opening and closing ---- */

void stampede_client_opts_init(struct stampede_client_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->host = STAMPEDE_DEFAULT_HOST;
	opts->port = STAMPEDE_DEFAULT_PORT;
	opts->timeout_ms = STAMPEDE_DEFAULT_TIMEOUT_MS;
	opts->retries = STAMPEDE_DEFAULT_RETRIES;
	opts->busy_retries = STAMPEDE_DEFAULT_BUSY_RETRIES;
	opts->busy_cap_ms = STAMPEDE_DEFAULT_BUSY_CAP_MS;
	opts->max_wait_ms = STAMPEDE_DEFAULT_MAX_WAIT_MS;
	opts->retry_horizon_ms = STAMPEDE_DEFAULT_RETRY_HORIZON_MS;
}

static int resolve(const char *host, struct in_addr *out, char *err, size_t errlen)
{
	if (inet_pton(AF_INET, host, out) == 1)
		return 0;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0 || !ai) {
		set_err(err, errlen, "cannot resolve %s: %s", host, rc ? gai_strerror(rc) : "no address");
		if (ai)
			freeaddrinfo(ai);
		return rc == EAI_MEMORY ? -ENOMEM : -ENOENT;
	}
	*out = ((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
	freeaddrinfo(ai);
	return 0;
}

struct stampede_client *stampede_client_open(const struct stampede_client_opts *opts, char *err, size_t errlen)
{
	struct stampede_client_opts o;
	stampede_client_opts_init(&o);
	if (opts) {
		if (opts->host)
			o.host = opts->host;
		if (opts->port)
			o.port = opts->port;
		o.client_id = opts->client_id;
		if (opts->timeout_ms)
			o.timeout_ms = opts->timeout_ms;
		if (opts->retries)
			o.retries = opts->retries;
		if (opts->busy_retries)
			o.busy_retries = opts->busy_retries;
		if (opts->busy_cap_ms)
			o.busy_cap_ms = opts->busy_cap_ms;
		if (opts->max_wait_ms)
			o.max_wait_ms = opts->max_wait_ms;
		if (opts->retry_horizon_ms)
			o.retry_horizon_ms = opts->retry_horizon_ms;
	}
	if (o.timeout_ms > OPTION_MS_MAX || o.busy_cap_ms > OPTION_MS_MAX) {
		set_err(err, errlen, "%s%s", "timeout_ms and busy_cap_ms must be at most one hour", "");
		errno = EINVAL;
		return NULL;
	}

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o.port)};
	int rc = resolve(o.host, &sa.sin_addr, err, errlen);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}

	struct stampede_client *c = calloc(1, sizeof(*c));
	if (!c) {
		set_err(err, errlen, "%s%s", "out of memory", "");
		errno = ENOMEM;
		return NULL;
	}
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int e = errno;
		set_err(err, errlen, "socket: %s%s", strerror(e), "");
		free(c);
		errno = e;
		return NULL;
	}
	const struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY), .sin_port = 0};
	const char *what = "bind";
	if (bind(c->fd, (const struct sockaddr *)&any, sizeof(any)) != 0 ||
	    (what = "connect", connect(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)) {
		int e = errno;
		set_err(err, errlen, "%s: %s", what, strerror(e));
		close(c->fd);
		free(c);
		errno = e;
		return NULL;
	}

	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	snprintf(c->server, sizeof(c->server), "%s:%u", ip, (unsigned)o.port);
	c->client_id = o.client_id;
	while (c->client_id == 0)
		c->client_id = random_u64();
	c->next_req = random_u64() & ((1ull << 48) - 1);
	if (c->next_req == 0)
		c->next_req = 1;
	c->timeout_us = (uint64_t)o.timeout_ms * 1000u;
	c->busy_cap_us = (uint64_t)o.busy_cap_ms * 1000u;
	c->max_wait_us = (uint64_t)o.max_wait_ms * 1000u;
	c->retry_horizon_us = (uint64_t)o.retry_horizon_ms * 1000u;
	c->retries = o.retries < 0 ? 0 : o.retries;
	c->busy_retries = o.busy_retries < 0 ? 0 : o.busy_retries;
	return c;
}

void stampede_client_close(struct stampede_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

uint64_t stampede_client_id(const struct stampede_client *c)
{
	return c->client_id;
}

uint64_t stampede_client_next_request_id(const struct stampede_client *c)
{
	return c->next_req;
}

const char *stampede_client_server(const struct stampede_client *c)
{
	return c->server;
}

void stampede_client_stats(const struct stampede_client *c, struct stampede_client_stats *st)
{
	*st = c->st;
}

/* ---- building batches ---- */

static void batch_reset(struct batch *bt)
{
	proto_buf_init(&bt->b, bt->dgram, sizeof(bt->dgram));
	bt->n = 0;
}

/* Reserve the next slot; the caller encodes at bt->b.len and calls
 * batch_commit. Returns NULL when the batch is full. */
static struct slot *batch_slot(struct batch *bt)
{
	if (bt->n >= PROTO_MSGS_MAX)
		return NULL;
	struct slot *s = &bt->slot[bt->n];
	memset(s, 0, sizeof(*s));
	s->off = (uint16_t)bt->b.len;
	return s;
}

/* put_rc: the proto_put_* result. Returns the index or -ENOSPC. */
static int batch_commit(struct stampede_client *c, struct batch *bt, struct slot *s, uint8_t op, int put_rc)
{
	if (put_rc != 0)
		return -ENOSPC; /* the encoder appended nothing */
	s->op = op;
	s->len = (uint16_t)(bt->b.len - s->off);
	s->request_id = c->next_req++;
	return (int)bt->n++;
}

static int add_ping(struct stampede_client *c, struct batch *bt)
{
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_PING, proto_put_ping(&bt->b, c->client_id, c->next_req, NULL, 0));
}

static int add_hold_seats(struct stampede_client *c, struct batch *bt, uint32_t event, uint32_t part, unsigned n,
			  const uint32_t *seats, const uint8_t *token)
{
	if (n == 0 || n > PROTO_ITEMS_MAX || !seats)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_HOLD_SEATS,
			    proto_put_hold_seats(&bt->b, c->client_id, c->next_req, event, part, n, seats, token));
}

static int add_hold_best(struct stampede_client *c, struct batch *bt, uint32_t event, uint32_t part, unsigned n,
			 unsigned tier, const uint8_t *token)
{
	if (n == 0 || n > PROTO_ITEMS_MAX || tier >= DP_TIERS_MAX)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(
		c, bt, s, PROTO_OP_HOLD_BEST,
		proto_put_hold_best(&bt->b, c->client_id, c->next_req, event, part, n, (uint8_t)tier, token));
}

static int add_hold_ga(struct stampede_client *c, struct batch *bt, uint32_t event, uint32_t part, unsigned n,
		       const uint8_t *token)
{
	if (n == 0 || n > PROTO_ITEMS_MAX)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_HOLD_GA,
			    proto_put_hold_ga(&bt->b, c->client_id, c->next_req, event, part, n, token));
}

static int add_confirm(struct stampede_client *c, struct batch *bt, uint64_t hold_id, const char *payment_ref)
{
	if (!payment_ref)
		return -EINVAL;
	const size_t len = strnlen(payment_ref, PROTO_PAYMENT_REF_SIZE + 1);
	if (len > PROTO_PAYMENT_REF_SIZE)
		return -EINVAL;
	uint8_t ref[PROTO_PAYMENT_REF_SIZE] = {0};
	memcpy(ref, payment_ref, len);
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_CONFIRM,
			    proto_put_confirm(&bt->b, c->client_id, c->next_req, hold_id, ref));
}

static int add_release(struct stampede_client *c, struct batch *bt, uint64_t hold_id)
{
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_RELEASE, proto_put_release(&bt->b, c->client_id, c->next_req, hold_id));
}

static int add_order(struct stampede_client *c, struct batch *bt, uint64_t order_id)
{
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_ORDER, proto_put_order(&bt->b, c->client_id, c->next_req, order_id));
}

/* Append QUEUE_JOIN (poll 0) or QUEUE_POLL with ticket (poll 1; NULL is -EINVAL) to bt. */
static int add_queue(struct stampede_client *c, struct batch *bt, uint32_t event, const uint8_t *ticket, int poll)
{
	if (poll && !ticket)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return poll ? batch_commit(c, bt, s, PROTO_OP_QUEUE_POLL,
				   proto_put_queue_poll(&bt->b, c->client_id, c->next_req, event, ticket))
		    : batch_commit(c, bt, s, PROTO_OP_QUEUE_JOIN,
				   proto_put_queue_join(&bt->b, c->client_id, c->next_req, event));
}

/* Append QUEUE_JOIN with a presale code to bt; a code that is not 1..32
 * printable non-space ASCII bytes is -EINVAL. */
static int add_queue_code(struct stampede_client *c, struct batch *bt, uint32_t event, const char *code)
{
	if (!code)
		return -EINVAL;
	size_t n = 0;
	while (n <= PROTO_CODE_SIZE && code[n]) {
		if ((unsigned char)code[n] <= 0x20 || (unsigned char)code[n] >= 0x7f)
			return -EINVAL;
		n++;
	}
	if (n == 0 || n > PROTO_CODE_SIZE)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	return batch_commit(c, bt, s, PROTO_OP_QUEUE_JOIN,
			    proto_put_queue_join_code(&bt->b, c->client_id, c->next_req, event, code));
}

static int add_seat_map(struct stampede_client *c, struct batch *bt, uint32_t event, uint32_t part, uint32_t first,
			unsigned count, uint8_t *seats)
{
	if (count == 0 || count > PROTO_SEATMAP_PAGE_MAX || !seats)
		return -EINVAL;
	struct slot *s = batch_slot(bt);
	if (!s)
		return -ENOSPC;
	int rc = batch_commit(
		c, bt, s, PROTO_OP_SEAT_MAP,
		proto_put_seat_map(&bt->b, c->client_id, c->next_req, event, part, first, (uint16_t)count));
	if (rc >= 0) {
		s->seats = seats;
		s->seats_cap = count;
	}
	return rc;
}

/* ---- the send/collect loop ---- */

/* What one run has seen, for the error of requests left without an answer. */
struct run_state {
	int undecodable; /* something came back that was not a usable answer */
	int unreachable; /* last ICMP-reported error (positive errno), or 0 */
	int fatal;       /* a socket error that ends the run (positive errno), or 0 */
};

static void fill_result(struct stampede_result *r, const struct proto_reply *rep, const struct slot *s, uint64_t now)
{
	r->error = 0;
	r->status = rep->head.status;
	r->detail = rep->head.detail;
	r->retry_after_ms = rep->head.retry_after_ms;
	r->rtt_us = now - s->sent_us > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - s->sent_us);
	memset(&r->u, 0, sizeof(r->u));
	switch (rep->kind) {
	case PROTO_R_PING:
		r->body = STAMPEDE_BODY_PING;
		r->u.ping.server_time_ms = rep->u.ping.body.server_time_ms;
		r->u.ping.workers = rep->u.ping.body.workers;
		break;
	case PROTO_R_HOLD: {
		const struct proto_hold_reply *h = &rep->u.hold.body;
		r->body = STAMPEDE_BODY_HOLD;
		r->u.hold.event_id = h->event_id;
		r->u.hold.part_id = h->part_id;
		r->u.hold.hold_id = h->hold_id;
		r->u.hold.order_id = h->order_id;
		r->u.hold.expiry_ms = h->expiry_ms;
		r->u.hold.available = h->available;
		r->u.hold.n_items = h->n_items;
		r->u.hold.n_alt = h->n_alt;
		memcpy(r->u.hold.items, rep->u.hold.items, sizeof(uint32_t) * h->n_items);
		memcpy(r->u.hold.alt, rep->u.hold.alt, sizeof(uint32_t) * h->n_alt);
		break;
	}
	case PROTO_R_SEAT_MAP: {
		const struct proto_seat_map_reply *m = &rep->u.seat_map.body;
		r->body = STAMPEDE_BODY_SEAT_MAP;
		r->u.seat_map.event_id = m->event_id;
		r->u.seat_map.part_id = m->part_id;
		r->u.seat_map.capacity = m->capacity;
		r->u.seat_map.first = m->first;
		r->u.seat_map.count = m->count;
		r->u.seat_map.free = m->free;
		r->u.seat_map.held = m->held;
		r->u.seat_map.sold = m->sold;
		r->u.seat_map.seats = s->seats;
		memcpy(s->seats, rep->u.seat_map.seats, m->count);
		break;
	}
	case PROTO_R_ORDER: {
		const struct proto_order_reply *o = &rep->u.order.body;
		r->body = STAMPEDE_BODY_ORDER;
		r->u.order.order_id = o->order_id;
		r->u.order.hold_id = o->hold_id;
		r->u.order.time_ms = o->time_ms;
		r->u.order.event_id = o->event_id;
		r->u.order.part_id = o->part_id;
		r->u.order.kind = o->kind;
		r->u.order.n_items = o->n_items;
		memcpy(r->u.order.payment_ref, o->payment_ref, sizeof(r->u.order.payment_ref));
		memcpy(r->u.order.items, rep->u.order.items, sizeof(uint32_t) * o->n_items);
		break;
	}
	case PROTO_R_QUEUE: {
		const struct proto_queue_reply *q = &rep->u.queue;
		r->body = STAMPEDE_BODY_QUEUE;
		r->u.queue.event_id = q->event_id;
		r->u.queue.state = q->state;
		r->u.queue.position = q->position;
		r->u.queue.ahead = q->ahead;
		r->u.queue.wait_ms = q->wait_ms;
		memcpy(r->u.queue.token, q->token, STAMPEDE_TOKEN_SIZE);
		break;
	}
	default:
		r->body = STAMPEDE_BODY_NONE;
		break;
	}
}

/* A mutation the dataplane may already have applied (an attempt went
 * unanswered) may be resent only while the dataplane still remembers its
 * answer: within the retry horizon of that attempt. */
static int resend_allowed(const struct stampede_client *c, const struct slot *s, uint64_t at_us)
{
	return s->unknown_since_us == 0 || at_us < s->unknown_since_us + c->retry_horizon_us;
}

static int is_mutation(uint8_t op)
{
	return op == PROTO_OP_HOLD_SEATS || op == PROTO_OP_HOLD_BEST || op == PROTO_OP_HOLD_GA ||
	       op == PROTO_OP_CONFIRM || op == PROTO_OP_RELEASE;
}

/* One decoded reply: match it to a slot by (client id, request id) and
 * settle or reschedule that slot. */
static void take_reply(struct stampede_client *c, struct batch *bt, const struct proto_reply *rep, struct run_state *rs,
		       uint64_t now, uint64_t end)
{
	struct slot *s = NULL;
	if (rep->hdr.client_id == c->client_id)
		for (unsigned i = 0; i < bt->n; i++)
			if (bt->slot[i].request_id == rep->hdr.request_id) {
				s = &bt->slot[i];
				break;
			}
	if (!s || s->state == SLOT_DONE) {
		c->st.stale_replies++; /* another client's, an earlier call's, or a duplicate */
		return;
	}
	if ((rep->hdr.opcode & ~PROTO_OP_REPLY) != s->op ||
	    (rep->kind == PROTO_R_SEAT_MAP && rep->u.seat_map.count > s->seats_cap)) {
		c->st.undecodable++; /* our request id, but not an answer to what we asked */
		rs->undecodable = 1;
		return;
	}
	fill_result(s->res, rep, s, now);
	if (rep->head.status != DP_S_BUSY) {
		s->state = SLOT_DONE;
		return;
	}
	s->got_busy = 1;
	s->res->busy_answers++;
	uint64_t wait = (uint64_t)rep->head.retry_after_ms * 1000u;
	if (wait > c->busy_cap_us)
		wait = c->busy_cap_us;
	if (!resend_allowed(c, s, now + wait)) {
		/* An earlier attempt went unanswered and may have been applied; past
		 * the horizon a resend could apply it twice. Outcome unknown. */
		s->res->error = -ETIMEDOUT;
		s->state = SLOT_DONE;
		return;
	}
	if (s->busy_left <= 0 || now + wait >= end) {
		s->state = SLOT_DONE; /* busy it stays: the result says so */
		return;
	}
	s->busy_left--;
	s->state = SLOT_SEND;
	s->due_us = now + wait;
	c->st.busy_resends++;
}

static void take_datagram(struct stampede_client *c, struct batch *bt, size_t len, int truncated, struct run_state *rs,
			  uint64_t now, uint64_t end)
{
	c->st.datagrams_received++;
	if (truncated) {
		c->st.undecodable++;
		rs->undecodable = 1;
		return;
	}
	size_t off = 0;
	while (off < len) {
		struct proto_reply rep;
		if (proto_decode_reply(c->rx, len, &off, &rep) != PROTO_OK) {
			c->st.undecodable++; /* the rest of this datagram is not trusted */
			rs->undecodable = 1;
			return;
		}
		take_reply(c, bt, &rep, rs, now, end);
	}
}

/* Read every datagram waiting on the socket. Returns 0, or -1 after a fatal
 * socket error (rs->fatal). */
static int drain(struct stampede_client *c, struct batch *bt, struct run_state *rs, uint64_t end)
{
	for (;;) {
		ssize_t got = recv(c->fd, c->rx, sizeof(c->rx), MSG_DONTWAIT | MSG_TRUNC);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (is_unreachable(errno)) {
				rs->unreachable = errno;
				continue;
			}
			rs->fatal = errno;
			return -1;
		}
		const int truncated = (size_t)got > sizeof(c->rx);
		take_datagram(c, bt, truncated ? sizeof(c->rx) : (size_t)got, truncated, rs, mono_us(), end);
	}
}

/* Send, in one datagram, every slot due by now. Returns 0, or -1 after a
 * fatal socket error (rs->fatal). */
static int send_due(struct stampede_client *c, struct batch *bt, struct run_state *rs, uint64_t now)
{
	size_t len = 0;
	unsigned due[PROTO_MSGS_MAX], nd = 0;
	for (unsigned i = 0; i < bt->n; i++) {
		struct slot *s = &bt->slot[i];
		if (s->state != SLOT_SEND || s->due_us > now)
			continue;
		memcpy(c->tx + len, bt->dgram + s->off, s->len); /* a subset of a datagram that fit */
		len += s->len;
		due[nd++] = i;
	}
	if (nd == 0)
		return 0;
	int bounced = 0;
	for (;;) {
		ssize_t sent = send(c->fd, c->tx, len, 0);
		if (sent >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (is_unreachable(errno)) {
			/* An earlier datagram bounced and the socket reports it now,
			 * without sending this one: the report is consumed, try once
			 * more, else this attempt counts as lost. */
			rs->unreachable = errno;
			if (!bounced++)
				continue;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			break; /* dropped locally: the attempt times out like a lost one */
		rs->fatal = errno;
		return -1;
	}
	c->st.datagrams_sent++;
	for (unsigned k = 0; k < nd; k++) {
		struct slot *s = &bt->slot[due[k]];
		s->state = SLOT_WAIT;
		s->sent_us = now;
		s->wait_until_us = now + c->timeout_us;
		s->res->sends++;
	}
	return 0;
}

/* The error of a request left without an answer. */
static int lost_error(const struct run_state *rs)
{
	if (rs->fatal)
		return -rs->fatal;
	if (rs->undecodable)
		return -EPROTO;
	if (rs->unreachable)
		return -rs->unreachable;
	return -ETIMEDOUT;
}

static int run_batch(struct stampede_client *c, struct batch *bt, struct stampede_result *results)
{
	const uint64_t start = mono_us();
	const uint64_t end = start + c->max_wait_us;
	struct run_state rs = {0};

	for (unsigned i = 0; i < bt->n; i++) {
		struct slot *s = &bt->slot[i];
		s->state = SLOT_SEND;
		s->due_us = start;
		s->timeouts_left = c->retries;
		s->busy_left = c->busy_retries;
		s->got_busy = 0;
		s->unknown_since_us = 0;
		s->res = &results[i];
		memset(s->res, 0, sizeof(*s->res));
		s->res->op = s->op;
		s->res->request_id = s->request_id;
		s->res->error = -ETIMEDOUT;
	}

	for (;;) {
		uint64_t now = mono_us();
		unsigned open = 0;
		for (unsigned i = 0; i < bt->n; i++) {
			struct slot *s = &bt->slot[i];
			if (s->state == SLOT_WAIT && s->wait_until_us <= now) {
				if (is_mutation(s->op) && s->unknown_since_us == 0)
					s->unknown_since_us = s->sent_us;
				if (s->timeouts_left > 0 && resend_allowed(c, s, now)) {
					s->timeouts_left--;
					s->state = SLOT_SEND;
					s->due_us = now;
					c->st.resends++;
				} else {
					s->state = SLOT_DONE; /* the last attempt timed out */
				}
			}
			if (s->state != SLOT_DONE && now >= end)
				s->state = SLOT_DONE; /* max_wait_ms: a busy answer stays, else no answer */
			open += s->state != SLOT_DONE;
		}
		if (open == 0)
			break;
		if (send_due(c, bt, &rs, now) != 0)
			break;

		uint64_t wake = end;
		for (unsigned i = 0; i < bt->n; i++) {
			const struct slot *s = &bt->slot[i];
			if (s->state == SLOT_SEND && s->due_us < wake)
				wake = s->due_us;
			else if (s->state == SLOT_WAIT && s->wait_until_us < wake)
				wake = s->wait_until_us;
		}
		now = mono_us();
		const uint64_t dt = wake > now ? wake - now : 0;
		struct timespec ts = {.tv_sec = (time_t)(dt / 1000000u), .tv_nsec = (long)(dt % 1000000u) * 1000};
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int pr = ppoll(&pfd, 1, &ts, NULL);
		if (pr < 0 && errno != EINTR) {
			rs.fatal = errno;
			break;
		}
		if (pr > 0 && drain(c, bt, &rs, end) != 0)
			break;
	}

	/* Every slot is done, or a fatal socket error ended the run. A slot
	 * without an answer still carries the -ETIMEDOUT it started with. */
	int first_err = 0;
	for (unsigned i = 0; i < bt->n; i++) {
		struct slot *s = &bt->slot[i];
		if (s->state != SLOT_DONE || s->res->error != 0) {
			s->res->error = lost_error(&rs);
			if (!first_err)
				first_err = s->res->error;
		}
	}
	return first_err;
}

/* ---- single calls: a batch of one ---- */

static int run_single(struct stampede_client *c, int add_rc, struct stampede_result *r)
{
	if (add_rc < 0) {
		memset(r, 0, sizeof(*r));
		r->error = add_rc;
		batch_reset(&c->single);
		return add_rc;
	}
	int rc = run_batch(c, &c->single, r);
	batch_reset(&c->single);
	return rc;
}

int stampede_ping(struct stampede_client *c, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_ping(c, &c->single), r);
}

int stampede_hold_seats(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, const uint32_t *seats,
			const uint8_t *token, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_hold_seats(c, &c->single, event, part, n, seats, token), r);
}

int stampede_hold_best(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, unsigned tier,
		       const uint8_t *token, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_hold_best(c, &c->single, event, part, n, tier, token), r);
}

int stampede_hold_ga(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, const uint8_t *token,
		     struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_hold_ga(c, &c->single, event, part, n, token), r);
}

int stampede_confirm(struct stampede_client *c, uint64_t hold_id, const char *payment_ref, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_confirm(c, &c->single, hold_id, payment_ref), r);
}

int stampede_release(struct stampede_client *c, uint64_t hold_id, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_release(c, &c->single, hold_id), r);
}

int stampede_order(struct stampede_client *c, uint64_t order_id, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_order(c, &c->single, order_id), r);
}

/* c, r: not NULL (stampede_client.h). */
int stampede_queue_join(struct stampede_client *c, uint32_t event, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_queue(c, &c->single, event, NULL, 0), r);
}

/* c, r: not NULL; a bad code is -EINVAL (stampede_client.h). */
int stampede_queue_join_code(struct stampede_client *c, uint32_t event, const char *code, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_queue_code(c, &c->single, event, code), r);
}

/* c, r: not NULL; ticket NULL is -EINVAL (stampede_client.h). */
int stampede_queue_poll(struct stampede_client *c, uint32_t event, const uint8_t *ticket, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_queue(c, &c->single, event, ticket, 1), r);
}

int stampede_seat_map(struct stampede_client *c, uint32_t event, uint32_t part, uint32_t first, unsigned count,
		      uint8_t *seats, struct stampede_result *r)
{
	batch_reset(&c->single);
	return run_single(c, add_seat_map(c, &c->single, event, part, first, count, seats), r);
}

/* ---- batches ---- */

void stampede_batch_begin(struct stampede_client *c)
{
	batch_reset(&c->user);
}

unsigned stampede_batch_count(const struct stampede_client *c)
{
	return c->user.n;
}

/* A client fresh from open has a zeroed batch: set it up on first use. */
static struct batch *user_batch(struct stampede_client *c)
{
	if (!c->user.b.p)
		batch_reset(&c->user);
	return &c->user;
}

int stampede_batch_add_ping(struct stampede_client *c)
{
	return add_ping(c, user_batch(c));
}

int stampede_batch_add_hold_seats(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n,
				  const uint32_t *seats, const uint8_t *token)
{
	return add_hold_seats(c, user_batch(c), event, part, n, seats, token);
}

int stampede_batch_add_hold_best(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n, unsigned tier,
				 const uint8_t *token)
{
	return add_hold_best(c, user_batch(c), event, part, n, tier, token);
}

int stampede_batch_add_hold_ga(struct stampede_client *c, uint32_t event, uint32_t part, unsigned n,
			       const uint8_t *token)
{
	return add_hold_ga(c, user_batch(c), event, part, n, token);
}

int stampede_batch_add_confirm(struct stampede_client *c, uint64_t hold_id, const char *payment_ref)
{
	return add_confirm(c, user_batch(c), hold_id, payment_ref);
}

int stampede_batch_add_release(struct stampede_client *c, uint64_t hold_id)
{
	return add_release(c, user_batch(c), hold_id);
}

int stampede_batch_add_order(struct stampede_client *c, uint64_t order_id)
{
	return add_order(c, user_batch(c), order_id);
}

int stampede_batch_add_queue_join(struct stampede_client *c, uint32_t event)
{
	return add_queue(c, user_batch(c), event, NULL, 0);
}

int stampede_batch_add_queue_join_code(struct stampede_client *c, uint32_t event, const char *code)
{
	return add_queue_code(c, user_batch(c), event, code);
}

int stampede_batch_add_queue_poll(struct stampede_client *c, uint32_t event, const uint8_t *ticket)
{
	return add_queue(c, user_batch(c), event, ticket, 1);
}

int stampede_batch_add_seat_map(struct stampede_client *c, uint32_t event, uint32_t part, uint32_t first,
				unsigned count, uint8_t *seats)
{
	return add_seat_map(c, user_batch(c), event, part, first, count, seats);
}

int stampede_batch_run(struct stampede_client *c, struct stampede_result *results, size_t nresults)
{
	struct batch *bt = user_batch(c);
	int rc = 0;
	if (bt->n == 0)
		rc = 0;
	else if (!results || nresults < bt->n)
		rc = -EINVAL;
	else
		rc = run_batch(c, bt, results);
	batch_reset(bt);
	return rc;
}

/* ---- names ---- */

const char *stampede_status_name(int status)
{
	return dp_status_name(status);
}

const char *stampede_detail_name(int detail)
{
	return dp_detail_name(detail);
}

const char *stampede_op_name(unsigned op)
{
	return op <= 0xffu ? proto_op_name(op) : "unknown";
}
