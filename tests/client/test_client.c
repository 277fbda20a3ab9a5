/*
 * test_client.c - cmocka tests of libstampede-client and the `stampede` CLI
 * against a fake server: a thread on 127.0.0.1 (ephemeral port) that decodes
 * requests with proto_decode_msg and answers with replies crafted with
 * proto_buf / proto_begin_msg / proto_put / proto_end_msg, as each test's
 * scenario says (drop, busy, stale, garbage, split and shuffle).
 *
 * Covered: every call's reply decoded into its result; a dropped first
 * datagram resent with the same request id; busy then ok, same request id,
 * after at least retry_after_ms; stale replies (wrong request id, wrong
 * client id) ignored; -ETIMEDOUT after 1 + retries attempts within the time
 * bound; garbage ignored, then -EPROTO when nothing usable came; a batch of
 * 10 answered in 3 shuffled datagrams comes back in request order; a batch
 * with 2 replies dropped resends only those 2 with their original ids;
 * argument checks; the CLI's output and exit codes (STAMPEDE_CLI names the
 * binary; skipped without it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/stampede_client.h"
#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

extern char **environ;

#define T_EVENT 7u
#define T_PART 3u
#define T_HOLD_TAG 0x0100000000000000ull  /* fake hold id = tag | request id */
#define T_ORDER_TAG 0x0040000000000000ull /* fake order id = tag | request id */
#define T_EXPIRY_MS 1767226200000ull      /* 2026-01-01T00:10:00Z */
#define T_NOW_MS 1767225600000ull
#define T_LOG_MAX 512
#define T_SEEN_MAX 128

/* ---- the fake server ------------------------------------------------ */

struct t_logged {
	uint8_t op;
	uint64_t client_id;
	uint64_t request_id;
	unsigned dgram; /* datagram number, from 0 */
	uint64_t t_us;  /* when it arrived */
};

struct fake;
/* Answer one request datagram (msgs[0..n-1]); `to` is the client. Called
 * with f->mu held. */
typedef void (*fake_handler)(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to);

struct fake {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_int stop;
	pthread_mutex_t mu;
	fake_handler handler;
	/* what arrived */
	struct t_logged log[T_LOG_MAX];
	unsigned nlog;
	unsigned ndgrams;
	/* scenario state: copies seen per request id */
	uint64_t seen_id[T_SEEN_MAX];
	unsigned seen_n[T_SEEN_MAX];
	unsigned nseen;
	int param; /* scenario knob */
};

static uint64_t t_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* How many times request id `id` has arrived, this one included. */
static unsigned seen(struct fake *f, uint64_t id)
{
	for (unsigned i = 0; i < f->nseen; i++)
		if (f->seen_id[i] == id)
			return ++f->seen_n[i];
	assert_true(f->nseen < T_SEEN_MAX);
	f->seen_id[f->nseen] = id;
	f->seen_n[f->nseen++] = 1;
	return 1;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[2048];
	while (!atomic_load(&f->stop)) {
		struct pollfd p = {.fd = f->fd, .events = POLLIN};
		if (poll(&p, 1, 20) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (len <= 0)
			continue;
		struct proto_msg msgs[PROTO_MSGS_MAX];
		unsigned n = 0;
		size_t off = 0;
		const uint64_t t = t_now_us();
		while (off < (size_t)len && n < PROTO_MSGS_MAX) {
			int hdr_ok;
			enum proto_err e = proto_decode_msg(buf, (size_t)len, &off, &msgs[n], &hdr_ok);
			if (e != PROTO_OK) {
				fprintf(stderr, "fake server: request does not decode: %s\n", proto_err_name(e));
				abort(); /* the client library must only send well-formed requests */
			}
			n++;
		}
		pthread_mutex_lock(&f->mu);
		for (unsigned i = 0; i < n && f->nlog < T_LOG_MAX; i++)
			f->log[f->nlog++] = (struct t_logged){.op = msgs[i].hdr.opcode,
							      .client_id = msgs[i].hdr.client_id,
							      .request_id = msgs[i].hdr.request_id,
							      .dgram = f->ndgrams,
							      .t_us = t};
		f->ndgrams++;
		if (f->handler)
			f->handler(f, msgs, n, &from);
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

static struct fake *fake_start(fake_handler h, int param)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->handler = h;
	f->param = param;
	pthread_mutex_init(&f->mu, NULL);
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->th, NULL);
	close(f->fd);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* A copy of the log, taken under the lock. */
static unsigned fake_log(struct fake *f, struct t_logged *out, unsigned *ndgrams)
{
	pthread_mutex_lock(&f->mu);
	const unsigned n = f->nlog;
	memcpy(out, f->log, n * sizeof(*out));
	if (ndgrams)
		*ndgrams = f->ndgrams;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void fake_send(struct fake *f, const struct sockaddr_in *to, const void *buf, size_t len)
{
	assert_int_equal(sendto(f->fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)), (ssize_t)len);
}

/* ---- crafted replies ----------------------------------------------- */

static long reply_begin(struct proto_buf *b, const struct proto_msg *m, uint8_t status, uint8_t detail,
			uint32_t retry_after_ms)
{
	long at = proto_begin_msg(b, (uint8_t)(m->hdr.opcode | PROTO_OP_REPLY), 0, m->hdr.client_id, m->hdr.request_id);
	const struct proto_reply_head h = {.status = status, .detail = detail, .retry_after_ms = retry_after_ms};
	proto_put(b, &h, sizeof(h));
	return at;
}

static void reply_head_only(struct proto_buf *b, const struct proto_msg *m, uint8_t status, uint8_t detail,
			    uint32_t retry_after_ms)
{
	long at = reply_begin(b, m, status, detail, retry_after_ms);
	assert_int_equal(proto_end_msg(b, at), 0);
}

static void reply_hold(struct proto_buf *b, const struct proto_msg *m, uint8_t status, uint8_t detail, uint64_t hold_id,
		       uint64_t order_id, const uint32_t *items, unsigned n_items, const uint32_t *alt, unsigned n_alt,
		       uint32_t available)
{
	long at = reply_begin(b, m, status, detail, 0);
	const struct proto_hold_reply h = {
		.event_id = m->hdr.opcode <= PROTO_OP_HOLD_GA ? m->u.hold.h.event_id : T_EVENT,
		.part_id = m->hdr.opcode <= PROTO_OP_HOLD_GA ? m->u.hold.h.part_id : T_PART,
		.hold_id = hold_id,
		.order_id = order_id,
		.expiry_ms = status == DP_S_OK ? T_EXPIRY_MS : 0,
		.available = available,
		.n_items = (uint8_t)n_items,
		.n_alt = (uint8_t)n_alt,
	};
	proto_put(b, &h, sizeof(h));
	proto_put(b, items, 4u * n_items);
	proto_put(b, alt, 4u * n_alt);
	assert_int_equal(proto_end_msg(b, at), 0);
}

/* What a healthy dataplane would answer, with ids derived from the request
 * id so tests can tell which answer went where. */
static void reply_ok(struct proto_buf *b, const struct proto_msg *m)
{
	static const uint32_t two[2] = {14, 15};
	const uint64_t rid = m->hdr.request_id;
	switch (m->hdr.opcode) {
	case PROTO_OP_PING: {
		long at = reply_begin(b, m, DP_S_OK, DP_D_NONE, 0);
		const struct proto_ping_reply p = {.server_time_ms = T_NOW_MS, .workers = 2};
		proto_put(b, &p, sizeof(p));
		proto_put(b, m->u.ping.bytes, m->u.ping.len);
		assert_int_equal(proto_end_msg(b, at), 0);
		break;
	}
	case PROTO_OP_HOLD_SEATS:
		reply_hold(b, m, DP_S_OK, DP_D_NONE, T_HOLD_TAG | rid, 0, m->u.hold.seats, m->u.hold.h.n, NULL, 0, 0);
		break;
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA: {
		uint32_t items[PROTO_ITEMS_MAX];
		for (unsigned i = 0; i < m->u.hold.h.n; i++)
			items[i] = 100 + i;
		reply_hold(b, m, DP_S_OK, DP_D_NONE, T_HOLD_TAG | rid, 0, items, m->u.hold.h.n, NULL, 0, 0);
		break;
	}
	case PROTO_OP_CONFIRM:
		reply_hold(b, m, DP_S_OK, DP_D_NONE, m->u.confirm.hold_id, T_ORDER_TAG | rid, two, 2, NULL, 0, 0);
		break;
	case PROTO_OP_RELEASE:
		reply_hold(b, m, DP_S_OK, DP_D_NONE, m->u.release.hold_id, 0, two, 2, NULL, 0, 0);
		break;
	case PROTO_OP_ORDER: {
		long at = reply_begin(b, m, DP_S_OK, DP_D_NONE, 0);
		struct proto_order_reply o = {.order_id = m->u.order.order_id,
					      .hold_id = T_HOLD_TAG | 0x42,
					      .time_ms = T_NOW_MS,
					      .event_id = T_EVENT,
					      .part_id = T_PART,
					      .kind = ST_KIND_SEAT,
					      .n_items = 2};
		memcpy(o.payment_ref, "pay-0001", 8);
		proto_put(b, &o, sizeof(o));
		proto_put(b, two, sizeof(two));
		assert_int_equal(proto_end_msg(b, at), 0);
		break;
	}
	case PROTO_OP_SEAT_MAP: {
		long at = reply_begin(b, m, DP_S_OK, DP_D_NONE, 0);
		const uint16_t count = m->u.seat_map.count;
		const struct proto_seat_map_reply s = {.event_id = m->u.seat_map.event_id,
						       .part_id = m->u.seat_map.part_id,
						       .capacity = 5000,
						       .first = m->u.seat_map.first,
						       .count = count,
						       .free = 4000,
						       .held = 600,
						       .sold = 400};
		proto_put(b, &s, sizeof(s));
		for (unsigned i = 0; i < count; i++) {
			const uint8_t byte = (uint8_t)(((m->u.seat_map.first + i) % 4u) | (((i % 5u) + 1u) << 2));
			proto_put(b, &byte, 1);
		}
		assert_int_equal(proto_end_msg(b, at), 0);
		break;
	}
	case PROTO_OP_QUEUE_JOIN:
	case PROTO_OP_QUEUE_POLL: {
		/* join: waiting at the request id; poll: admitted at 7, the ticket echoed back */
		struct proto_queue_reply q = {.event_id = m->u.queue.event_id,
					      .state = m->token ? PROTO_QS_ADMITTED : PROTO_QS_WAITING,
					      .position = m->token ? 7 : rid,
					      .ahead = m->token ? 0 : 3,
					      .wait_ms = m->token ? 0 : 1500};
		if (m->token)
			memcpy(q.token, m->token, PROTO_TOKEN_SIZE);
		else
			memset(q.token, 0x5a, PROTO_TOKEN_SIZE);
		assert_int_equal(proto_put_queue_reply(b, &m->hdr, &q), 0);
		break;
	}
	default:
		reply_head_only(b, m, DP_S_BAD_REQUEST, DP_D_BAD_OP, 0);
		break;
	}
}

/* ---- scenarios ------------------------------------------------------ */

/* Answer everything at once, one reply datagram per request datagram. */
static void h_ok(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	for (unsigned i = 0; i < n; i++)
		reply_ok(&b, &msgs[i]);
	assert_false(b.overflow);
	fake_send(f, to, out, b.len);
}

/* Answer nothing. */
static void h_silent(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	(void)f, (void)msgs, (void)n, (void)to;
}

/* Ignore the first copy of every request; answer the second. */
static void h_drop_first(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	for (unsigned i = 0; i < n; i++)
		if (seen(f, msgs[i].hdr.request_id) == 1)
			return;
	h_ok(f, msgs, n, to);
}

/* busy (retry_after_ms = param) to the first copy, then ok. */
static void h_busy_once(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	for (unsigned i = 0; i < n; i++) {
		if (seen(f, msgs[i].hdr.request_id) == 1)
			reply_head_only(&b, &msgs[i], DP_S_BUSY, DP_D_LOG_FULL, (uint32_t)f->param);
		else
			reply_ok(&b, &msgs[i]);
	}
	fake_send(f, to, out, b.len);
}

/* Always busy (retry_after_ms = param). */
static void h_busy_always(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	for (unsigned i = 0; i < n; i++)
		reply_head_only(&b, &msgs[i], DP_S_BUSY, DP_D_REBALANCING, (uint32_t)f->param);
	fake_send(f, to, out, b.len);
}

/* Ignore the first copy of every request (its answer is lost: it may have
 * been applied), then answer busy (retry_after_ms = param) for ever. */
static void h_lost_then_busy(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	for (unsigned i = 0; i < n; i++)
		if (seen(f, msgs[i].hdr.request_id) == 1)
			return;
	h_busy_always(f, msgs, n, to);
}

/* Before the real answer: a reply to another request id, one to another
 * client id (both ok, with other hold ids), and a reply with the right ids
 * but another opcode; each in its own datagram. */
static void h_stale_first(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	assert_int_equal(n, 1);
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_msg m = msgs[0];
	static const uint32_t one[1] = {99};

	m.hdr.request_id = msgs[0].hdr.request_id - 1; /* an earlier request */
	proto_buf_init(&b, out, sizeof(out));
	reply_hold(&b, &m, DP_S_OK, DP_D_NONE, 0xdead, 0, one, 1, NULL, 0, 0);
	fake_send(f, to, out, b.len);

	m = msgs[0];
	m.hdr.client_id ^= 1; /* someone else */
	proto_buf_init(&b, out, sizeof(out));
	reply_hold(&b, &m, DP_S_OK, DP_D_NONE, 0xbeef, 0, one, 1, NULL, 0, 0);
	fake_send(f, to, out, b.len);

	m = msgs[0];
	m.hdr.opcode = PROTO_OP_RELEASE; /* right ids, wrong question */
	m.u.release.hold_id = 0xf00d;
	proto_buf_init(&b, out, sizeof(out));
	reply_hold(&b, &m, DP_S_OK, DP_D_NONE, 0xf00d, 0, one, 1, NULL, 0, 0);
	fake_send(f, to, out, b.len);

	h_ok(f, msgs, n, to);
}

/* Garbage instead of answers. param 0: only garbage; 1: garbage, then the
 * real answer. */
static void h_garbage(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	static const uint8_t junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	fake_send(f, to, junk, sizeof(junk) - 1);
	/* Right magic and ids, body cut short. */
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	reply_ok(&b, &msgs[0]);
	fake_send(f, to, out, b.len - 3);
	/* A reply version 2. */
	proto_buf_init(&b, out, sizeof(out));
	reply_ok(&b, &msgs[0]);
	out[2] = 2;
	fake_send(f, to, out, b.len);
	if (f->param)
		h_ok(f, msgs, n, to);
}

/* Answer a batch in 3 datagrams, in an order unlike the request order. */
static void h_split_shuffle(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	static const unsigned order[3][4] = {{7, 2, 9, 99}, {0, 5, 3, 8}, {1, 6, 4, 99}};
	assert_int_equal(n, 10);
	for (unsigned d = 0; d < 3; d++) {
		uint8_t out[PROTO_DGRAM_MAX];
		struct proto_buf b;
		proto_buf_init(&b, out, sizeof(out));
		for (unsigned k = 0; k < 4; k++)
			if (order[d][k] < n)
				reply_ok(&b, &msgs[order[d][k]]);
		fake_send(f, to, out, b.len);
	}
}

/* First datagram: answer all but requests 1 and 4 (of the first datagram's
 * order). Later: answer everything. */
static void h_drop_two(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	for (unsigned i = 0; i < n; i++)
		if (f->ndgrams > 1 || (i != 1 && i != 4)) /* ndgrams counts this one */
			reply_ok(&b, &msgs[i]);
	if (b.len)
		fake_send(f, to, out, b.len);
}

/* Refusals, chosen by opcode: hold_seats taken with alternatives, hold_ga
 * sold out with 3 left, confirm expired, release not_yours, order not found,
 * hold_best limit. */
static void h_refuse(struct fake *f, const struct proto_msg *msgs, unsigned n, const struct sockaddr_in *to)
{
	static const uint32_t alt[2] = {19, 20};
	uint8_t out[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	for (unsigned i = 0; i < n; i++) {
		const struct proto_msg *m = &msgs[i];
		switch (m->hdr.opcode) {
		case PROTO_OP_HOLD_SEATS:
			reply_hold(&b, m, DP_S_TAKEN, DP_D_NONE, 0, 0, NULL, 0, alt, 2, 0);
			break;
		case PROTO_OP_HOLD_GA:
			reply_hold(&b, m, DP_S_SOLD_OUT, DP_D_NONE, 0, 0, NULL, 0, NULL, 0, 3);
			break;
		case PROTO_OP_HOLD_BEST:
			reply_hold(&b, m, DP_S_LIMIT, DP_D_QTY_TOO_MANY, 0, 0, NULL, 0, NULL, 0, 0);
			break;
		case PROTO_OP_CONFIRM:
			reply_hold(&b, m, DP_S_EXPIRED, DP_D_NONE, m->u.confirm.hold_id, 0, NULL, 0, NULL, 0, 0);
			break;
		case PROTO_OP_RELEASE:
			reply_hold(&b, m, DP_S_NOT_YOURS, DP_D_NONE, m->u.release.hold_id, 0, NULL, 0, NULL, 0, 0);
			break;
		case PROTO_OP_ORDER:
			reply_head_only(&b, m, DP_S_NOT_FOUND, DP_D_ORDER, 0);
			break;
		default:
			reply_ok(&b, m);
			break;
		}
	}
	fake_send(f, to, out, b.len);
}

/* ---- helpers ---------------------------------------------------------- */

static struct stampede_client *t_open(const struct fake *f, unsigned timeout_ms, int retries)
{
	struct stampede_client_opts o;
	stampede_client_opts_init(&o);
	o.port = f->port;
	o.timeout_ms = timeout_ms;
	o.retries = retries;
	char err[128] = "";
	struct stampede_client *c = stampede_client_open(&o, err, sizeof(err));
	if (!c)
		fail_msg("open: %s", err);
	return c;
}

/* ---- tests ------------------------------------------------------------ */

static void test_open_ids(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_ok, 0);
	struct stampede_client *a = t_open(f, 200, 0), *b = t_open(f, 200, 0);
	assert_int_not_equal(stampede_client_id(a), 0);
	assert_int_not_equal(stampede_client_id(a), stampede_client_id(b));
	const uint64_t base = stampede_client_next_request_id(a);
	assert_true(base > 0 && base < (1ull << 48));
	assert_int_not_equal(base, stampede_client_next_request_id(b));

	/* Request ids go up by one per request. */
	struct stampede_result r;
	assert_int_equal(stampede_ping(a, &r), 0);
	assert_int_equal(r.request_id, base);
	assert_int_equal(stampede_ping(a, &r), 0);
	assert_int_equal(r.request_id, base + 1);
	assert_int_equal(stampede_client_next_request_id(a), base + 2);

	/* A chosen client id is used as given. */
	struct stampede_client_opts o = {.port = f->port, .client_id = 0x0123456789abcdefull};
	struct stampede_client *c = stampede_client_open(&o, NULL, 0);
	assert_non_null(c);
	assert_int_equal(stampede_client_id(c), 0x0123456789abcdefull);
	assert_int_equal(strncmp(stampede_client_server(c), "127.0.0.1:", 10), 0);
	stampede_client_close(c);

	/* Bad options and hosts. */
	o.timeout_ms = 3600u * 1000u + 1;
	char err[128];
	errno = 0;
	assert_null(stampede_client_open(&o, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	o.timeout_ms = 0;
	o.host = "no-such-host.invalid";
	assert_null(stampede_client_open(&o, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "no-such-host.invalid"));

	stampede_client_close(a);
	stampede_client_close(b);
	stampede_client_close(NULL);
	fake_stop(f);
}

static void test_calls_decode(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_ok, 0);
	struct stampede_client *c = t_open(f, 500, 2);
	struct stampede_result r;

	assert_int_equal(stampede_ping(c, &r), 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.op, STAMPEDE_OP_PING);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.body, STAMPEDE_BODY_PING);
	assert_int_equal(r.u.ping.workers, 2);
	assert_int_equal(r.u.ping.server_time_ms, T_NOW_MS);
	assert_int_equal(r.sends, 1);

	const uint32_t seats[2] = {14, 15};
	assert_int_equal(stampede_hold_seats(c, T_EVENT, T_PART, 2, seats, NULL, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.body, STAMPEDE_BODY_HOLD);
	assert_int_equal(r.op, STAMPEDE_OP_HOLD_SEATS);
	assert_int_equal(r.u.hold.event_id, T_EVENT);
	assert_int_equal(r.u.hold.part_id, T_PART);
	assert_int_equal(r.u.hold.hold_id, T_HOLD_TAG | r.request_id);
	assert_int_equal(r.u.hold.expiry_ms, T_EXPIRY_MS);
	assert_int_equal(r.u.hold.n_items, 2);
	assert_int_equal(r.u.hold.items[0], 14);
	assert_int_equal(r.u.hold.items[1], 15);
	assert_int_equal(r.u.hold.n_alt, 0);
	const uint64_t hold = r.u.hold.hold_id;

	uint8_t token[STAMPEDE_TOKEN_SIZE];
	memset(token, 0xab, sizeof(token));
	assert_int_equal(stampede_hold_best(c, T_EVENT, T_PART, 3, 2, token, &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_HOLD_BEST);
	assert_int_equal(r.u.hold.n_items, 3);
	assert_int_equal(r.u.hold.items[2], 102);
	assert_int_equal(stampede_hold_ga(c, T_EVENT, 9, 4, NULL, &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_HOLD_GA);
	assert_int_equal(r.u.hold.part_id, 9);
	assert_int_equal(r.u.hold.n_items, 4);

	assert_int_equal(stampede_confirm(c, hold, "pay-0001", &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_CONFIRM);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.u.hold.hold_id, hold);
	assert_int_equal(r.u.hold.order_id, T_ORDER_TAG | r.request_id);
	const uint64_t order = r.u.hold.order_id;

	assert_int_equal(stampede_order(c, order, &r), 0);
	assert_int_equal(r.body, STAMPEDE_BODY_ORDER);
	assert_int_equal(r.u.order.order_id, order);
	assert_int_equal(r.u.order.kind, STAMPEDE_ORDER_SEATS);
	assert_int_equal(r.u.order.n_items, 2);
	assert_int_equal(r.u.order.items[1], 15);
	assert_memory_equal(r.u.order.payment_ref, "pay-0001\0\0", 10);

	assert_int_equal(stampede_release(c, hold, &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_RELEASE);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.u.hold.hold_id, hold);

	uint8_t map[300];
	memset(map, 0xee, sizeof(map));
	assert_int_equal(stampede_seat_map(c, T_EVENT, T_PART, 10, 250, map, &r), 0);
	assert_int_equal(r.body, STAMPEDE_BODY_SEAT_MAP);
	assert_int_equal(r.u.seat_map.count, 250);
	assert_int_equal(r.u.seat_map.first, 10);
	assert_int_equal(r.u.seat_map.capacity, 5000);
	assert_ptr_equal(r.u.seat_map.seats, map);
	assert_int_equal(STAMPEDE_SEAT_STATE(map[0]), 10 % 4);
	assert_int_equal(STAMPEDE_SEAT_TIER(map[0]), 1);
	assert_int_equal(STAMPEDE_SEAT_STATE(map[249]), (10 + 249) % 4);
	assert_int_equal(map[250], 0xee); /* nothing past count */

	/* What the server saw: the client's id, consecutive request ids. */
	struct t_logged log[T_LOG_MAX];
	const unsigned n = fake_log(f, log, NULL);
	assert_int_equal(n, 8);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(log[i].client_id, stampede_client_id(c));
		if (i)
			assert_int_equal(log[i].request_id, log[i - 1].request_id + 1);
	}
	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.datagrams_sent, 8);
	assert_int_equal(st.datagrams_received, 8);
	assert_int_equal(st.resends, 0);

	stampede_client_close(c);
	fake_stop(f);
}

/* Waiting room: join and poll decode into u.queue; poll needs a ticket. */
static void test_queue_calls(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_ok, 0);
	struct stampede_client *c = t_open(f, 500, 2);
	struct stampede_result r;
	assert_int_equal(stampede_queue_join(c, T_EVENT, &r), 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.op, STAMPEDE_OP_QUEUE_JOIN);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.body, STAMPEDE_BODY_QUEUE);
	assert_int_equal(r.u.queue.event_id, T_EVENT);
	assert_int_equal(r.u.queue.state, STAMPEDE_QUEUE_WAITING);
	assert_int_equal(r.u.queue.position, r.request_id);
	assert_int_equal(r.u.queue.ahead, 3);
	assert_int_equal(r.u.queue.wait_ms, 1500);
	uint8_t want[STAMPEDE_TOKEN_SIZE];
	memset(want, 0x5a, sizeof(want));
	assert_memory_equal(r.u.queue.token, want, STAMPEDE_TOKEN_SIZE);
	uint8_t ticket[STAMPEDE_TOKEN_SIZE];
	for (unsigned i = 0; i < sizeof(ticket); i++)
		ticket[i] = (uint8_t)i;
	assert_int_equal(stampede_queue_poll(c, T_EVENT, ticket, &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_QUEUE_POLL);
	assert_int_equal(r.body, STAMPEDE_BODY_QUEUE);
	assert_int_equal(r.u.queue.state, STAMPEDE_QUEUE_ADMITTED);
	assert_int_equal(r.u.queue.position, 7);
	assert_memory_equal(r.u.queue.token, ticket, STAMPEDE_TOKEN_SIZE); /* the server got the ticket */
	assert_int_equal(stampede_queue_poll(c, T_EVENT, NULL, &r), -EINVAL);
	/* With a presale code: the server decodes it (a bad one is refused before sending). */
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, "FAN-2026", &r), 0);
	assert_int_equal(r.op, STAMPEDE_OP_QUEUE_JOIN);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.u.queue.state, STAMPEDE_QUEUE_WAITING);
	struct stampede_client_stats st0, st1;
	stampede_client_stats(c, &st0);
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, "has space", &r), -EINVAL);
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, "", &r), -EINVAL);
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, NULL, &r), -EINVAL);
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, "0123456789abcdef0123456789abcdefX", &r), -EINVAL);
	assert_int_equal(stampede_queue_join_code(c, T_EVENT, "caf\xc3\xa9", &r), -EINVAL);
	stampede_client_stats(c, &st1);
	assert_int_equal(st1.datagrams_sent, st0.datagrams_sent);
	stampede_batch_begin(c);
	assert_int_equal(stampede_batch_add_queue_join_code(c, T_EVENT, "a b"), -EINVAL);
	assert_true(stampede_batch_add_queue_join(c, T_EVENT) >= 0);
	assert_true(stampede_batch_add_queue_poll(c, T_EVENT, ticket) >= 0);
	assert_int_equal(stampede_batch_add_queue_poll(c, T_EVENT, NULL), -EINVAL);
	struct stampede_result rs[2];
	assert_int_equal(stampede_batch_run(c, rs, 2), 0);
	assert_int_equal(rs[0].u.queue.state, STAMPEDE_QUEUE_WAITING);
	assert_int_equal(rs[1].u.queue.state, STAMPEDE_QUEUE_ADMITTED);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_refusals_decode(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_refuse, 0);
	struct stampede_client *c = t_open(f, 500, 2);
	struct stampede_result r;
	const uint32_t seat = 17;

	assert_int_equal(stampede_hold_seats(c, T_EVENT, T_PART, 1, &seat, NULL, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_TAKEN);
	assert_int_equal(r.u.hold.n_items, 0);
	assert_int_equal(r.u.hold.n_alt, 2);
	assert_int_equal(r.u.hold.alt[0], 19);
	assert_int_equal(r.u.hold.alt[1], 20);
	assert_int_equal(stampede_hold_ga(c, T_EVENT, 9, 5, NULL, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_SOLD_OUT);
	assert_int_equal(r.u.hold.available, 3);
	assert_int_equal(stampede_order(c, 5, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_NOT_FOUND);
	assert_int_equal(r.detail, STAMPEDE_D_ORDER);
	assert_int_equal(r.body, STAMPEDE_BODY_NONE);
	assert_string_equal(stampede_status_name(r.status), "not_found");
	assert_string_equal(stampede_detail_name(r.detail), "order");
	assert_string_equal(stampede_op_name(r.op), "order");
	assert_string_equal(stampede_status_name(99), "unknown");

	stampede_client_close(c);
	fake_stop(f);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_ok, 0);
	struct stampede_client *c = t_open(f, 200, 0);
	struct stampede_result r;
	uint32_t seats[STAMPEDE_ITEMS_MAX + 1] = {0};
	uint8_t map[8];
	const uint64_t next = stampede_client_next_request_id(c);

	assert_int_equal(stampede_hold_seats(c, 1, 1, 0, seats, NULL, &r), -EINVAL);
	assert_int_equal(r.error, -EINVAL);
	assert_int_equal(stampede_hold_seats(c, 1, 1, STAMPEDE_ITEMS_MAX + 1, seats, NULL, &r), -EINVAL);
	assert_int_equal(stampede_hold_seats(c, 1, 1, 1, NULL, NULL, &r), -EINVAL);
	assert_int_equal(stampede_hold_best(c, 1, 1, 2, 64, NULL, &r), -EINVAL);
	assert_int_equal(stampede_hold_ga(c, 1, 1, 0, NULL, &r), -EINVAL);
	assert_int_equal(stampede_confirm(c, 1, NULL, &r), -EINVAL);
	assert_int_equal(stampede_confirm(c, 1, "123456789012345678901234567890123", &r), -EINVAL); /* 33 */
	assert_int_equal(stampede_seat_map(c, 1, 1, 0, 0, map, &r), -EINVAL);
	assert_int_equal(stampede_seat_map(c, 1, 1, 0, STAMPEDE_SEATMAP_PAGE_MAX + 1, map, &r), -EINVAL);
	assert_int_equal(stampede_seat_map(c, 1, 1, 0, 8, NULL, &r), -EINVAL);
	/* Nothing was sent and no request id was spent. */
	assert_int_equal(stampede_client_next_request_id(c), next);
	struct t_logged log[T_LOG_MAX];
	assert_int_equal(fake_log(f, log, NULL), 0);
	/* 32 bytes is allowed. */
	assert_int_equal(stampede_confirm(c, 1, "12345678901234567890123456789012", &r), 0);

	/* Batches: 32 requests at most; a datagram's worth of bytes at most. */
	struct stampede_result res[STAMPEDE_BATCH_MAX];
	stampede_batch_begin(c);
	for (int i = 0; i < STAMPEDE_BATCH_MAX; i++)
		assert_int_equal(stampede_batch_add_release(c, (uint64_t)i), i);
	assert_int_equal(stampede_batch_add_ping(c), -ENOSPC);
	assert_int_equal(stampede_batch_count(c), STAMPEDE_BATCH_MAX);
	assert_int_equal(stampede_batch_run(c, res, STAMPEDE_BATCH_MAX - 1), -EINVAL);
	assert_int_equal(stampede_batch_count(c), 0);

	uint8_t token[STAMPEDE_TOKEN_SIZE] = {1};
	stampede_batch_begin(c);
	int i = 0, rc;
	while ((rc = stampede_batch_add_hold_seats(c, 1, 1, STAMPEDE_ITEMS_MAX, seats, token)) >= 0)
		assert_int_equal(rc, i++);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(i, PROTO_DGRAM_MAX / (24 + 12 + 4 * STAMPEDE_ITEMS_MAX + STAMPEDE_TOKEN_SIZE)); /* 8 */
	assert_int_equal(stampede_batch_add_hold_ga(c, 1, 1, 0, NULL), -EINVAL);
	assert_int_equal(stampede_batch_add_release(c, 1), i); /* a small one still fits */
	assert_int_equal(stampede_batch_run(c, res, STAMPEDE_BATCH_MAX), 0);
	for (int k = 0; k <= i; k++) {
		assert_int_equal(res[k].error, 0);
		assert_int_equal(res[k].status, STAMPEDE_S_OK);
	}
	assert_int_equal(stampede_batch_run(c, NULL, 0), 0); /* empty */

	stampede_client_close(c);
	fake_stop(f);
}

static void test_drop_first_retried_same_id(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_drop_first, 0);
	struct stampede_client *c = t_open(f, 60, 3);
	struct stampede_result r;
	const uint64_t t0 = t_now_us();
	assert_int_equal(stampede_hold_ga(c, T_EVENT, 9, 2, NULL, &r), 0);
	const uint64_t dt = t_now_us() - t0;
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.sends, 2);
	assert_int_equal(r.u.hold.hold_id, T_HOLD_TAG | r.request_id);
	assert_true(dt >= 60000); /* the resend waited for the timeout */

	struct t_logged log[T_LOG_MAX];
	unsigned nd;
	assert_int_equal(fake_log(f, log, &nd), 2);
	assert_int_equal(nd, 2);
	assert_int_equal(log[0].request_id, r.request_id);
	assert_int_equal(log[1].request_id, r.request_id); /* the SAME request id */
	assert_int_equal(log[1].op, PROTO_OP_HOLD_GA);
	assert_true(log[1].t_us - log[0].t_us >= 55000);

	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.resends, 1);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_busy_then_ok(void **state)
{
	(void)state;
	const unsigned retry_ms = 120;
	struct fake *f = fake_start(h_busy_once, (int)retry_ms);
	struct stampede_client *c = t_open(f, 500, -1); /* no timeout resends: busy has its own budget */
	struct stampede_result r;
	const uint32_t seats[1] = {5};
	const uint64_t t0 = t_now_us();
	assert_int_equal(stampede_hold_seats(c, T_EVENT, T_PART, 1, seats, NULL, &r), 0);
	const uint64_t dt = t_now_us() - t0;
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.busy_answers, 1);
	assert_int_equal(r.sends, 2);
	assert_true(dt >= retry_ms * 1000u);

	struct t_logged log[T_LOG_MAX];
	assert_int_equal(fake_log(f, log, NULL), 2);
	assert_int_equal(log[0].request_id, r.request_id);
	assert_int_equal(log[1].request_id, r.request_id);
	assert_true(log[1].t_us - log[0].t_us >= retry_ms * 1000u);

	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.busy_resends, 1);
	assert_int_equal(st.resends, 0);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_busy_exhausted_and_capped(void **state)
{
	(void)state;
	/* The server asks for 10 s; the cap (30 ms) wins; 3 busy resends, then
	 * the answer is busy. */
	struct fake *f = fake_start(h_busy_always, 10000);
	struct stampede_client_opts o = {.port = f->port, .timeout_ms = 500, .busy_retries = 3, .busy_cap_ms = 30};
	struct stampede_client *c = stampede_client_open(&o, NULL, 0);
	assert_non_null(c);
	struct stampede_result r;
	const uint64_t t0 = t_now_us();
	assert_int_equal(stampede_hold_ga(c, T_EVENT, 9, 1, NULL, &r), 0);
	const uint64_t dt = t_now_us() - t0;
	assert_int_equal(r.status, STAMPEDE_S_BUSY);
	assert_int_equal(r.detail, STAMPEDE_D_REBALANCING);
	assert_int_equal(r.retry_after_ms, 10000);
	assert_int_equal(r.sends, 4);
	assert_int_equal(r.busy_answers, 4);
	assert_true(dt >= 90000 && dt < 2000000);
	stampede_client_close(c);

	/* max_wait_ms ends it too, with busy. */
	struct stampede_client_opts o2 = {.port = f->port, .max_wait_ms = 100, .busy_cap_ms = 5000};
	c = stampede_client_open(&o2, NULL, 0);
	assert_non_null(c);
	const uint64_t t1 = t_now_us();
	assert_int_equal(stampede_ping(c, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_BUSY);
	assert_int_equal(r.sends, 1);
	assert_true(t_now_us() - t1 < 1000000); /* did not sleep the 5 s a busy asked for */
	stampede_client_close(c);
	fake_stop(f);
}

static void test_stale_ignored(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_stale_first, 0);
	struct stampede_client *c = t_open(f, 500, 0);
	struct stampede_result r;
	const uint32_t seats[1] = {14};
	assert_int_equal(stampede_hold_seats(c, T_EVENT, T_PART, 1, seats, NULL, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.op, STAMPEDE_OP_HOLD_SEATS);
	assert_int_equal(r.u.hold.hold_id, T_HOLD_TAG | r.request_id); /* not 0xdead, 0xbeef, 0xf00d */
	assert_int_equal(r.u.hold.items[0], 14);
	assert_int_equal(r.sends, 1);
	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.stale_replies, 2);
	assert_int_equal(st.undecodable, 1); /* the right ids with the wrong opcode */
	assert_int_equal(st.datagrams_received, 4);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_timeout(void **state)
{
	(void)state;
	const unsigned timeout_ms = 40;
	const int retries = 3;
	struct fake *f = fake_start(h_silent, 0);
	struct stampede_client *c = t_open(f, timeout_ms, retries);
	struct stampede_result r;
	const uint64_t t0 = t_now_us();
	assert_int_equal(stampede_release(c, 0x1234, &r), -ETIMEDOUT);
	const uint64_t dt = t_now_us() - t0;
	assert_int_equal(r.error, -ETIMEDOUT);
	assert_int_equal(r.sends, 1 + retries);
	const uint64_t expect = (uint64_t)(1 + retries) * timeout_ms * 1000u;
	assert_true(dt >= expect);
	assert_true(dt < expect + 400000);

	struct t_logged log[T_LOG_MAX];
	assert_int_equal(fake_log(f, log, NULL), 1 + retries);
	for (int i = 0; i <= retries; i++) {
		assert_int_equal(log[i].request_id, r.request_id);
		assert_int_equal(log[i].op, PROTO_OP_RELEASE);
	}
	stampede_client_close(c);

	/* retries < 0: one attempt only. */
	c = t_open(f, timeout_ms, -1);
	assert_int_equal(stampede_ping(c, &r), -ETIMEDOUT);
	assert_int_equal(r.sends, 1);
	stampede_client_close(c);

	/* max_wait_ms bounds the whole call. */
	struct stampede_client_opts o = {.port = f->port, .timeout_ms = 50, .retries = 100, .max_wait_ms = 180};
	c = stampede_client_open(&o, NULL, 0);
	const uint64_t t1 = t_now_us();
	assert_int_equal(stampede_ping(c, &r), -ETIMEDOUT);
	const uint64_t dt1 = t_now_us() - t1;
	assert_true(dt1 >= 180000 && dt1 < 600000);
	assert_true(r.sends >= 3 && r.sends <= 5);
	stampede_client_close(c);
	fake_stop(f);
}

/*
 * A mutation whose first attempt went unanswered may have been applied; the
 * dataplane remembers its answer only for idem-horizon-ms. So however many
 * busy answers follow, the client resends only within retry_horizon_ms of
 * that attempt, then gives up with -ETIMEDOUT (outcome unknown), never with
 * a "busy" that would invite the caller to send it again later.
 */
static void test_retry_horizon(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_lost_then_busy, 100);
	struct stampede_client_opts o = {.port = f->port, .timeout_ms = 50, .busy_retries = 100,
					  .busy_cap_ms = 1000, .max_wait_ms = 10000, .retry_horizon_ms = 400};
	struct stampede_client *c = stampede_client_open(&o, NULL, 0);
	assert_non_null(c);
	struct stampede_result r;
	const uint64_t t0 = t_now_us();
	assert_int_equal(stampede_hold_ga(c, T_EVENT, 9, 1, NULL, &r), -ETIMEDOUT);
	const uint64_t dt = t_now_us() - t0;
	assert_int_equal(r.error, -ETIMEDOUT);
	assert_true(r.busy_answers >= 2); /* it did keep trying inside the horizon */
	assert_true(dt < 1000000);         /* not the 10 s max_wait */
	struct t_logged log[T_LOG_MAX];
	unsigned n = fake_log(f, log, NULL);
	assert_true(n >= 3);
	for (unsigned i = 1; i < n; i++) {
		assert_int_equal(log[i].request_id, log[0].request_id);
		assert_true(log[i].t_us < log[0].t_us + 400000); /* every resend inside the horizon */
	}
	stampede_client_close(c);

	/* A read is not bounded by it: a ping keeps retrying until max_wait. */
	struct stampede_client_opts o2 = {.port = f->port, .timeout_ms = 50, .busy_retries = 100,
					   .busy_cap_ms = 1000, .max_wait_ms = 700, .retry_horizon_ms = 200};
	c = stampede_client_open(&o2, NULL, 0);
	const uint64_t t1 = t_now_us();
	assert_int_equal(stampede_ping(c, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_BUSY);
	assert_true(t_now_us() - t1 >= 500000);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_refused(void **state)
{
	(void)state;
	/* A port nobody listens on: ICMP port unreachable on loopback. */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	struct stampede_client_opts o = {.port = ntohs(sa.sin_port), .timeout_ms = 30, .retries = 2};
	struct stampede_client *c = stampede_client_open(&o, NULL, 0);
	assert_non_null(c);
	struct stampede_result r;
	assert_int_equal(stampede_ping(c, &r), -ECONNREFUSED);
	assert_int_equal(r.sends, 3);
	stampede_client_close(c);
}

/* Decision (docs/client.md): a reply that does not decode is ignored; the
 * call goes on waiting and resending, and when it ends without a usable
 * answer it returns -EPROTO rather than -ETIMEDOUT. */
static void test_garbage(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_garbage, 0);
	struct stampede_client *c = t_open(f, 150, 1);
	struct stampede_result r;
	assert_int_equal(stampede_ping(c, &r), -EPROTO);
	assert_int_equal(r.error, -EPROTO);
	assert_int_equal(r.sends, 2);
	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_true(st.undecodable >= 3 && st.undecodable <= 6); /* 3 per attempt, the last may come late */
	stampede_client_close(c);
	fake_stop(f);

	/* Garbage first, the real answer after: the answer wins, no resend. */
	f = fake_start(h_garbage, 1);
	c = t_open(f, 500, 1);
	assert_int_equal(stampede_order(c, 77, &r), 0);
	assert_int_equal(r.status, STAMPEDE_S_OK);
	assert_int_equal(r.u.order.order_id, 77);
	assert_int_equal(r.sends, 1);
	stampede_client_close(c);
	fake_stop(f);
}

/* Ten requests of every kind in one batch. */
static void add_ten(struct stampede_client *c, uint8_t *map)
{
	static const uint32_t seats[3] = {1, 2, 3};
	assert_int_equal(stampede_batch_add_hold_seats(c, T_EVENT, T_PART, 3, seats, NULL), 0);
	assert_int_equal(stampede_batch_add_hold_ga(c, T_EVENT, 9, 2, NULL), 1);
	assert_int_equal(stampede_batch_add_confirm(c, T_HOLD_TAG | 5, "ref-2"), 2);
	assert_int_equal(stampede_batch_add_ping(c), 3);
	assert_int_equal(stampede_batch_add_release(c, T_HOLD_TAG | 6), 4);
	assert_int_equal(stampede_batch_add_order(c, T_ORDER_TAG | 7), 5);
	assert_int_equal(stampede_batch_add_hold_best(c, T_EVENT, T_PART, 4, 0, NULL), 6);
	assert_int_equal(stampede_batch_add_seat_map(c, T_EVENT, T_PART, 100, 20, map), 7);
	assert_int_equal(stampede_batch_add_hold_ga(c, T_EVENT, 10, 1, NULL), 8);
	assert_int_equal(stampede_batch_add_release(c, T_HOLD_TAG | 9), 9);
	assert_int_equal(stampede_batch_count(c), 10);
}

static void check_ten(const struct stampede_result *res, uint64_t first_id, const uint8_t *map)
{
	static const uint8_t ops[10] = {STAMPEDE_OP_HOLD_SEATS, STAMPEDE_OP_HOLD_GA,  STAMPEDE_OP_CONFIRM,
					STAMPEDE_OP_PING,       STAMPEDE_OP_RELEASE,  STAMPEDE_OP_ORDER,
					STAMPEDE_OP_HOLD_BEST,  STAMPEDE_OP_SEAT_MAP, STAMPEDE_OP_HOLD_GA,
					STAMPEDE_OP_RELEASE};
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(res[i].error, 0);
		assert_int_equal(res[i].status, STAMPEDE_S_OK);
		assert_int_equal(res[i].op, ops[i]);
		assert_int_equal(res[i].request_id, first_id + i);
	}
	assert_int_equal(res[0].u.hold.hold_id, T_HOLD_TAG | (first_id + 0));
	assert_int_equal(res[0].u.hold.n_items, 3);
	assert_int_equal(res[0].u.hold.items[2], 3);
	assert_int_equal(res[1].u.hold.hold_id, T_HOLD_TAG | (first_id + 1));
	assert_int_equal(res[1].u.hold.part_id, 9);
	assert_int_equal(res[2].u.hold.hold_id, T_HOLD_TAG | 5);
	assert_int_equal(res[2].u.hold.order_id, T_ORDER_TAG | (first_id + 2));
	assert_int_equal(res[3].body, STAMPEDE_BODY_PING);
	assert_int_equal(res[4].u.hold.hold_id, T_HOLD_TAG | 6);
	assert_int_equal(res[5].u.order.order_id, T_ORDER_TAG | 7);
	assert_int_equal(res[6].u.hold.n_items, 4);
	assert_int_equal(res[7].u.seat_map.first, 100);
	assert_int_equal(res[7].u.seat_map.count, 20);
	assert_ptr_equal(res[7].u.seat_map.seats, map);
	assert_int_equal(STAMPEDE_SEAT_STATE(map[1]), 101 % 4);
	assert_int_equal(res[8].u.hold.part_id, 10);
	assert_int_equal(res[9].u.hold.hold_id, T_HOLD_TAG | 9);
}

static void test_batch_shuffled(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_split_shuffle, 0);
	struct stampede_client *c = t_open(f, 500, 0);
	uint8_t map[20];
	struct stampede_result res[12];
	stampede_batch_begin(c);
	const uint64_t first = stampede_client_next_request_id(c);
	add_ten(c, map);
	assert_int_equal(stampede_batch_run(c, res, 12), 0);
	check_ten(res, first, map);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(res[i].sends, 1);

	struct t_logged log[T_LOG_MAX];
	unsigned nd;
	assert_int_equal(fake_log(f, log, &nd), 10);
	assert_int_equal(nd, 1); /* one request datagram */
	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.datagrams_sent, 1);
	assert_int_equal(st.datagrams_received, 3);
	assert_int_equal(st.resends, 0);
	assert_int_equal(stampede_batch_count(c), 0);

	stampede_client_close(c);
	fake_stop(f);

	/* A single call between begin and run does not disturb the batch. */
	struct stampede_result r;

	f = fake_start(h_ok, 0);
	c = t_open(f, 500, 0);
	stampede_batch_begin(c);
	assert_int_equal(stampede_batch_add_release(c, 1), 0);
	assert_int_equal(stampede_ping(c, &r), 0);
	assert_int_equal(stampede_batch_add_order(c, 2), 1);
	assert_int_equal(stampede_batch_run(c, res, 2), 0);
	assert_int_equal(res[0].op, STAMPEDE_OP_RELEASE);
	assert_int_equal(res[1].op, STAMPEDE_OP_ORDER);
	assert_int_equal(res[1].request_id, res[0].request_id + 2); /* the ping took one in between */
	stampede_client_close(c);
	fake_stop(f);
}

static void test_batch_resend_only_unanswered(void **state)
{
	(void)state;
	struct fake *f = fake_start(h_drop_two, 0);
	struct stampede_client *c = t_open(f, 150, 2);
	uint8_t map[20];
	struct stampede_result res[10];
	stampede_batch_begin(c);
	const uint64_t first = stampede_client_next_request_id(c);
	add_ten(c, map);
	assert_int_equal(stampede_batch_run(c, res, 10), 0);
	check_ten(res, first, map);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(res[i].sends, i == 1 || i == 4 ? 2u : 1u);

	struct t_logged log[T_LOG_MAX];
	unsigned nd;
	const unsigned n = fake_log(f, log, &nd);
	assert_int_equal(nd, 2);
	assert_int_equal(n, 12);
	/* The second datagram holds exactly requests 1 and 4, original ids. */
	assert_int_equal(log[10].dgram, 1);
	assert_int_equal(log[11].dgram, 1);
	assert_int_equal(log[10].request_id, first + 1);
	assert_int_equal(log[10].op, PROTO_OP_HOLD_GA);
	assert_int_equal(log[11].request_id, first + 4);
	assert_int_equal(log[11].op, PROTO_OP_RELEASE);
	assert_true(log[10].t_us - log[0].t_us >= 145000);

	struct stampede_client_stats st;
	stampede_client_stats(c, &st);
	assert_int_equal(st.datagrams_sent, 2);
	assert_int_equal(st.resends, 2);
	stampede_client_close(c);
	fake_stop(f);
}

static void test_batch_partial_timeout(void **state)
{
	(void)state;
	/* Requests 1 and 4 are never answered (h_drop_two answers them only
	 * in a later datagram, and retries are off): the others keep their
	 * answers, those two carry -ETIMEDOUT, and run returns it. */
	struct fake *f = fake_start(h_drop_two, 0);
	struct stampede_client *c = t_open(f, 300, -1);
	uint8_t map[20];
	struct stampede_result res[10];
	stampede_batch_begin(c);
	add_ten(c, map);
	assert_int_equal(stampede_batch_run(c, res, 10), -ETIMEDOUT);
	for (unsigned i = 0; i < 10; i++) {
		if (i == 1 || i == 4) {
			assert_int_equal(res[i].error, -ETIMEDOUT);
		} else {
			assert_int_equal(res[i].error, 0);
			assert_int_equal(res[i].status, STAMPEDE_S_OK);
		}
	}
	stampede_client_close(c);
	fake_stop(f);
}

/* ---- the CLI ---------------------------------------------------------- */

/* Run the CLI with args; stdout into out. Returns the exit code. */
static int run_cli(const char *cli, char *out, size_t outlen, const char *const *args)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	char *argv[32];
	unsigned n = 0;
	argv[n++] = (char *)cli;
	for (; args[n - 1]; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, cli, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	size_t got = 0;
	ssize_t k;
	while ((k = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
	(void)state;
	const char *cli = getenv("STAMPEDE_CLI");
	if (!cli || !*cli)
		skip();
	char out[16384];
	char port[16];

	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"--help", NULL}), 0);
	assert_non_null(strstr(out, "Exit status"));
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"hold", "--help", NULL}), 0);
	assert_non_null(strstr(out, "hold EVENT PART SEAT"));
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"bogus", NULL}), 2);
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"hold", "1", NULL}), 2);
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"hold-ga", "1", "2", "17", NULL}), 2);
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"--port", "x", "ping", NULL}), 2);

	struct fake *f = fake_start(h_ok, 0);
	snprintf(port, sizeof(port), "%u", f->port);
	assert_int_equal(
		run_cli(cli, out, sizeof(out), (const char *const[]){"--port", port, "hold", "7", "3", "17,18", NULL}),
		0);
	assert_non_null(strstr(out, "held 2 seats in section 3: 17, 18"));
	assert_non_null(strstr(out, "hold 0x0100"));
	assert_non_null(strstr(out, "expires 2026-01-01T00:10:00Z"));
	assert_int_equal(run_cli(cli, out, sizeof(out),
				 (const char *const[]){"--port", port, "confirm", "0x0100000500000001", "pay-1", NULL}),
			 0);
	assert_non_null(strstr(out, "confirmed hold 0x0100000500000001"));
	assert_int_equal(run_cli(cli, out, sizeof(out),
				 (const char *const[]){"seat-map", "7", "3", "--count", "60", "--port", port, NULL}),
			 0);
	assert_non_null(strstr(out, "5000 seats"));
	assert_non_null(strstr(out, ".hx-.hx-"));

	/* --json: one object, ids in hex, names for status and detail. */
	assert_int_equal(run_cli(cli, out, sizeof(out),
				 (const char *const[]){"--json", "--port", port, "--client-id", "0x10", "hold-ga", "7",
						       "9", "2", NULL}),
			 0);
	json_error_t je;
	json_t *o = json_loads(out, 0, &je);
	if (!o)
		fail_msg("not JSON: %s (%s)", je.text, out);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(o, "detail")), "none");
	assert_string_equal(json_string_value(json_object_get(o, "client_id")), "0x0000000000000010");
	assert_int_equal(json_array_size(json_object_get(o, "items")), 2);
	assert_int_equal(strncmp(json_string_value(json_object_get(o, "hold_id")), "0x0100", 6), 0);
	json_decref(o);
	struct t_logged log[T_LOG_MAX];
	const unsigned nl = fake_log(f, log, NULL);
	assert_int_equal(log[nl - 1].client_id, 0x10);
	fake_stop(f);

	/* Refusals exit 1, with words. */
	f = fake_start(h_refuse, 0);
	snprintf(port, sizeof(port), "%u", f->port);
	assert_int_equal(
		run_cli(cli, out, sizeof(out), (const char *const[]){"--port", port, "hold", "7", "3", "17", NULL}), 1);
	assert_non_null(strstr(out, "taken: seat 17 is held or sold; try 19, 20"));
	assert_int_equal(
		run_cli(cli, out, sizeof(out), (const char *const[]){"--port", port, "hold-ga", "7", "9", "5", NULL}),
		1);
	assert_non_null(strstr(out, "sold out: only 3 left"));
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"--port", port, "order", "12", NULL}), 1);
	fake_stop(f);

	/* Busy after the retries, and silence: 3. */
	f = fake_start(h_busy_always, 1);
	snprintf(port, sizeof(port), "%u", f->port);
	assert_int_equal(run_cli(cli, out, sizeof(out), (const char *const[]){"--port", port, "ping", NULL}), 3);
	assert_non_null(strstr(out, "busy"));
	fake_stop(f);
	f = fake_start(h_silent, 0);
	snprintf(port, sizeof(port), "%u", f->port);
	assert_int_equal(
		run_cli(cli, out, sizeof(out),
			(const char *const[]){"--port", port, "--timeout", "20", "--retries", "1", "ping", NULL}),
		3);
	fake_stop(f);

	/* Garbage: 4. */
	f = fake_start(h_garbage, 0);
	snprintf(port, sizeof(port), "%u", f->port);
	assert_int_equal(run_cli(cli, out, sizeof(out),
				 (const char *const[]){"--json", "--port", port, "--timeout", "300", "--retries", "0",
						       "ping", NULL}),
			 4);
	assert_non_null(strstr(out, "\"error\":\"protocol\""));
	fake_stop(f);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_ids),
		cmocka_unit_test(test_calls_decode),
		cmocka_unit_test(test_queue_calls),
		cmocka_unit_test(test_refusals_decode),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_drop_first_retried_same_id),
		cmocka_unit_test(test_busy_then_ok),
		cmocka_unit_test(test_busy_exhausted_and_capped),
		cmocka_unit_test(test_stale_ignored),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_retry_horizon),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_batch_shuffled),
		cmocka_unit_test(test_batch_resend_only_unanswered),
		cmocka_unit_test(test_batch_partial_timeout),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
