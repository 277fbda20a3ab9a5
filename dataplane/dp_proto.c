/*
 * dp_proto.c - the Stampede wire protocol, version 1: strict request and
 * reply decoders, a bounded encoder, request encoders (docs/protocol.md).
 *
 * Runs once per message on the dataplane's poll loop: no allocation, no
 * syscall, no lock. Every read is a memcpy from inside buf[0..len), checked
 * before it is made; integers are little-endian on the wire and in memory.
 */
#include <string.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire is little-endian and so must the host be");
_Static_assert(PROTO_ITEMS_MAX == DP_HOLD_TICKETS_MAX, "items on the wire = tickets in a hold");
_Static_assert(PROTO_PAYMENT_REF_SIZE == ST_PAYMENT_REF_SIZE, "payment reference size");
_Static_assert(PROTO_ITEMS_MAX <= UINT8_MAX && PROTO_PING_ECHO_MAX <= UINT8_MAX, "counts fit a byte");
_Static_assert(sizeof(struct proto_queue) == 8 && sizeof(struct proto_release) == 8 &&
		       sizeof(struct proto_order) == 8 && sizeof(struct proto_ping_reply) == 16,
	       "layout");
_Static_assert(PROTO_CODE_SIZE == DP_PRESALE_CODE_MAX, "presale code size");
_Static_assert(DP_S__COUNT <= UINT8_MAX && DP_D__COUNT <= UINT8_MAX, "status and detail fit a byte");

#define HDR_SIZE sizeof(struct proto_hdr)
#define HOLD_SIZE sizeof(struct proto_hold)

/* ---- names ---- */

const char *proto_err_name(enum proto_err e)
{
	switch (e) {
	case PROTO_OK:
		return "ok";
	case PROTO_E_NOT_STAMPEDE:
		return "not_stampede";
	case PROTO_E_VERSION:
		return "version";
	case PROTO_E_TRUNCATED:
		return "truncated";
	case PROTO_E_OPCODE:
		return "opcode";
	case PROTO_E_FLAGS:
		return "flags";
	case PROTO_E_BODY_LEN:
		return "body_len";
	case PROTO_E_FIELD:
		return "field";
	case PROTO_E_TOO_MANY:
		return "too_many";
	}
	return "unknown";
}

const char *proto_op_name(unsigned op)
{
	static const char *const names[PROTO_OP__MAX + 1][2] = {
		[PROTO_OP_PING] = {"ping", "ping_reply"},
		[PROTO_OP_QUEUE_JOIN] = {"queue_join", "queue_join_reply"},
		[PROTO_OP_QUEUE_POLL] = {"queue_poll", "queue_poll_reply"},
		[PROTO_OP_SEAT_MAP] = {"seat_map", "seat_map_reply"},
		[PROTO_OP_HOLD_SEATS] = {"hold_seats", "hold_seats_reply"},
		[PROTO_OP_HOLD_BEST] = {"hold_best", "hold_best_reply"},
		[PROTO_OP_HOLD_GA] = {"hold_ga", "hold_ga_reply"},
		[PROTO_OP_CONFIRM] = {"confirm", "confirm_reply"},
		[PROTO_OP_RELEASE] = {"release", "release_reply"},
		[PROTO_OP_ORDER] = {"order", "order_reply"},
	};
	const unsigned base = op & ~PROTO_OP_REPLY;
	if (op > 0xffu || base == 0 || base > PROTO_OP__MAX)
		return "unknown";
	return names[base][(op & PROTO_OP_REPLY) ? 1 : 0];
}

/* ---- decoding helpers ---- */

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static int known_op(unsigned op)
{
	return op >= PROTO_OP_PING && op <= PROTO_OP__MAX;
}

/*
 * Number of messages (at most PROTO_MSGS_MAX) that start before `off`, found
 * by walking the body_len chain from the start of the datagram. Every one of
 * them was decoded before, so the chain is sound; reads are still bounded.
 * Called only when off leaves room for PROTO_MSGS_MAX headers, so the usual
 * datagram costs nothing.
 */
static unsigned msgs_before(const uint8_t *buf, size_t len, size_t off)
{
	size_t pos = 0;
	unsigned n = 0;
	while (pos < off && n < PROTO_MSGS_MAX && len - pos >= HDR_SIZE) {
		pos += HDR_SIZE + rd16(buf + pos + offsetof(struct proto_hdr, body_len));
		n++;
	}
	return n;
}

/* Common header checks of requests and replies, up to and including
 * TRUNCATED. On success *body points at the body (body_len bytes, inside
 * buf). *hdr_ok: the header was read into *hdr. */
static enum proto_err decode_hdr(const uint8_t *buf, size_t len, size_t at, struct proto_hdr *hdr, int *hdr_ok,
				 const uint8_t **body)
{
	*hdr_ok = 0;
	if (at > len || len - at < HDR_SIZE)
		return PROTO_E_NOT_STAMPEDE;
	if (rd16(buf + at + offsetof(struct proto_hdr, magic)) != PROTO_MAGIC)
		return PROTO_E_NOT_STAMPEDE;
	memcpy(hdr, buf + at, HDR_SIZE);
	*hdr_ok = 1;
	if (at >= (size_t)PROTO_MSGS_MAX * HDR_SIZE && msgs_before(buf, len, at) >= PROTO_MSGS_MAX)
		return PROTO_E_TOO_MANY;
	if (hdr->version != PROTO_VERSION)
		return PROTO_E_VERSION;
	if (hdr->body_len > len - at - HDR_SIZE)
		return PROTO_E_TRUNCATED;
	*body = buf + at + HDR_SIZE;
	return PROTO_OK;
}

/* ---- request decoder ---- */

/* Token rule per opcode: 0 forbidden, 1 optional, 2 required. */
static int token_rule(unsigned op)
{
	switch (op) {
	case PROTO_OP_HOLD_SEATS:
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA:
		return 1;
	case PROTO_OP_QUEUE_POLL:
		return 2;
	default:
		return 0;
	}
}

/* The PROTO_CODE_SIZE-byte code field at p: 1..PROTO_CODE_SIZE printable
 * non-space ASCII bytes, then only zeros. Sets msg->code and code_len. */
static enum proto_err decode_code(struct proto_msg *msg, const uint8_t *p)
{
	unsigned n = 0;
	while (n < PROTO_CODE_SIZE && p[n] > 0x20 && p[n] < 0x7f)
		n++;
	if (n == 0)
		return PROTO_E_FIELD;
	for (unsigned i = n; i < PROTO_CODE_SIZE; i++)
		if (p[i] != 0)
			return PROTO_E_FIELD;
	msg->code = p;
	msg->code_len = (uint8_t)n;
	return PROTO_OK;
}

/* Body checks of one request; blen excludes the token. */
static enum proto_err decode_req_body(struct proto_msg *msg, const uint8_t *body, size_t blen)
{
	const unsigned op = msg->hdr.opcode;
	switch (op) {
	case PROTO_OP_PING:
		if (blen > PROTO_PING_ECHO_MAX)
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_SEAT_MAP:
		if (blen != sizeof(struct proto_seat_map))
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_HOLD_SEATS:
		if (blen < HOLD_SIZE || blen != HOLD_SIZE + 4u * body[offsetof(struct proto_hold, n)])
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA:
		if (blen != HOLD_SIZE)
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_CONFIRM:
		if (blen != sizeof(struct proto_confirm))
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_QUEUE_JOIN:
		if (blen != (msg->hdr.flags & PROTO_F_CODE ? 8u + PROTO_CODE_SIZE : 8u))
			return PROTO_E_BODY_LEN;
		break;
	case PROTO_OP_RELEASE:
	case PROTO_OP_ORDER:
	case PROTO_OP_QUEUE_POLL:
		if (blen != 8)
			return PROTO_E_BODY_LEN;
		break;
	default:
		return PROTO_E_OPCODE; /* not reached: checked by the caller */
	}

	if (msg->hdr.client_id == 0) {
		msg->bad_detail = DP_D_BAD_CLIENT;
		return PROTO_E_FIELD;
	}

	switch (op) {
	case PROTO_OP_PING:
		msg->u.ping.len = (uint8_t)blen;
		msg->u.ping.bytes = body;
		return PROTO_OK;
	case PROTO_OP_SEAT_MAP: {
		struct proto_seat_map *q = &msg->u.seat_map;
		memcpy(q, body, sizeof(*q));
		if (q->count == 0) {
			msg->bad_detail = DP_D_QTY_ZERO;
			return PROTO_E_FIELD;
		}
		if (q->count > PROTO_SEATMAP_PAGE_MAX) {
			msg->bad_detail = DP_D_QTY_TOO_MANY;
			return PROTO_E_FIELD;
		}
		return q->_pad == 0 ? PROTO_OK : PROTO_E_FIELD;
	}
	case PROTO_OP_HOLD_SEATS:
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA: {
		struct proto_hold *h = &msg->u.hold.h;
		memcpy(h, body, HOLD_SIZE);
		if (h->n == 0) {
			msg->bad_detail = DP_D_QTY_ZERO;
			return PROTO_E_FIELD;
		}
		if (h->n > PROTO_ITEMS_MAX) {
			msg->bad_detail = DP_D_QTY_TOO_MANY;
			return PROTO_E_FIELD;
		}
		if (h->_pad != 0 || (op != PROTO_OP_HOLD_BEST && h->tier != 0))
			return PROTO_E_FIELD;
		if (op == PROTO_OP_HOLD_SEATS)
			memcpy(msg->u.hold.seats, body + HOLD_SIZE, 4u * h->n);
		return PROTO_OK;
	}
	case PROTO_OP_CONFIRM:
		memcpy(&msg->u.confirm, body, sizeof(msg->u.confirm));
		return PROTO_OK;
	case PROTO_OP_RELEASE:
		memcpy(&msg->u.release, body, sizeof(msg->u.release));
		return PROTO_OK;
	case PROTO_OP_ORDER:
		memcpy(&msg->u.order, body, sizeof(msg->u.order));
		return PROTO_OK;
	default: /* QUEUE_JOIN, QUEUE_POLL */
		memcpy(&msg->u.queue, body, sizeof(msg->u.queue));
		if (msg->u.queue._pad != 0)
			return PROTO_E_FIELD;
		if (msg->hdr.flags & PROTO_F_CODE)
			return decode_code(msg, body + sizeof(msg->u.queue));
		return PROTO_OK;
	}
}

static enum proto_err decode_req(const uint8_t *buf, size_t len, size_t at, struct proto_msg *msg, int *hdr_ok,
				 size_t *end)
{
	const uint8_t *body = NULL;
	enum proto_err e = decode_hdr(buf, len, at, &msg->hdr, hdr_ok, &body);
	if (e != PROTO_OK)
		return e;
	const unsigned op = msg->hdr.opcode;
	if (!known_op(op)) { /* a reply opcode (bit 7) is not known either */
		msg->bad_detail = DP_D_BAD_OP;
		return PROTO_E_OPCODE;
	}
	const uint16_t flags = msg->hdr.flags;
	if (flags & ~PROTO_F_KNOWN)
		return PROTO_E_FLAGS;
	const int has_token = (flags & PROTO_F_TOKEN) != 0;
	const int rule = token_rule(op);
	if ((has_token && rule == 0) || (!has_token && rule == 2))
		return PROTO_E_FLAGS;
	if ((flags & PROTO_F_CODE) && op != PROTO_OP_QUEUE_JOIN)
		return PROTO_E_FLAGS;
	size_t blen = msg->hdr.body_len;
	if (has_token) {
		if (blen < PROTO_TOKEN_SIZE)
			return PROTO_E_BODY_LEN;
		blen -= PROTO_TOKEN_SIZE;
	}
	e = decode_req_body(msg, body, blen);
	if (e != PROTO_OK)
		return e;
	if (has_token)
		msg->token = body + blen;
	*end = at + HDR_SIZE + msg->hdr.body_len;
	return PROTO_OK;
}

enum proto_err proto_decode_msg(const uint8_t *buf, size_t len, size_t *off, struct proto_msg *msg, int *hdr_ok)
{
	memset(msg, 0, sizeof(*msg));
	size_t end = 0;
	enum proto_err e = decode_req(buf, len, *off, msg, hdr_ok, &end);
	if (e != PROTO_OK) {
		*off = len;
		return e;
	}
	msg->bad_detail = DP_D_NONE;
	*off = end;
	return PROTO_OK;
}

/* ---- reply decoder ---- */

static enum proto_err decode_reply_body(struct proto_reply *r, const uint8_t *body, size_t blen)
{
	const unsigned op = r->hdr.opcode & ~PROTO_OP_REPLY;
	switch (op) {
	case PROTO_OP_PING: {
		struct proto_ping_reply *p = &r->u.ping.body;
		if (blen < sizeof(*p) || blen - sizeof(*p) > PROTO_PING_ECHO_MAX)
			return PROTO_E_BODY_LEN;
		memcpy(p, body, sizeof(*p));
		if (p->_pad != 0)
			return PROTO_E_FIELD;
		r->kind = PROTO_R_PING;
		r->u.ping.echo_len = (uint8_t)(blen - sizeof(*p));
		r->u.ping.echo = body + sizeof(*p);
		return PROTO_OK;
	}
	case PROTO_OP_SEAT_MAP: {
		struct proto_seat_map_reply *s = &r->u.seat_map.body;
		if (blen < sizeof(*s))
			return PROTO_E_BODY_LEN;
		memcpy(s, body, sizeof(*s));
		if (blen != sizeof(*s) + s->count)
			return PROTO_E_BODY_LEN;
		if (s->count > PROTO_SEATMAP_PAGE_MAX || s->_pad != 0)
			return PROTO_E_FIELD;
		r->kind = PROTO_R_SEAT_MAP;
		r->u.seat_map.count = s->count;
		r->u.seat_map.seats = body + sizeof(*s);
		return PROTO_OK;
	}
	case PROTO_OP_HOLD_SEATS:
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA:
	case PROTO_OP_CONFIRM:
	case PROTO_OP_RELEASE: {
		struct proto_hold_reply *h = &r->u.hold.body;
		if (blen < sizeof(*h))
			return PROTO_E_BODY_LEN;
		memcpy(h, body, sizeof(*h));
		if (blen != sizeof(*h) + 4u * ((size_t)h->n_items + h->n_alt))
			return PROTO_E_BODY_LEN;
		if (h->n_items > PROTO_ITEMS_MAX || h->n_alt > PROTO_ITEMS_MAX || h->_pad != 0)
			return PROTO_E_FIELD;
		r->kind = PROTO_R_HOLD;
		memcpy(r->u.hold.items, body + sizeof(*h), 4u * h->n_items);
		memcpy(r->u.hold.alt, body + sizeof(*h) + 4u * h->n_items, 4u * h->n_alt);
		return PROTO_OK;
	}
	case PROTO_OP_ORDER: {
		struct proto_order_reply *o = &r->u.order.body;
		if (blen < sizeof(*o))
			return PROTO_E_BODY_LEN;
		memcpy(o, body, sizeof(*o));
		if (blen != sizeof(*o) + 4u * o->n_items)
			return PROTO_E_BODY_LEN;
		if (o->n_items == 0 || o->n_items > PROTO_ITEMS_MAX || o->_pad != 0 ||
		    (o->kind != ST_KIND_SEAT && o->kind != ST_KIND_GA))
			return PROTO_E_FIELD;
		r->kind = PROTO_R_ORDER;
		memcpy(r->u.order.items, body + sizeof(*o), 4u * o->n_items);
		return PROTO_OK;
	}
	default: { /* QUEUE_JOIN, QUEUE_POLL */
		struct proto_queue_reply *q = &r->u.queue;
		if (blen != sizeof(*q))
			return PROTO_E_BODY_LEN;
		memcpy(q, body, sizeof(*q));
		if (q->state >= PROTO_QS__COUNT || q->_pad[0] || q->_pad[1] || q->_pad[2] || q->_pad2)
			return PROTO_E_FIELD;
		r->kind = PROTO_R_QUEUE;
		return PROTO_OK;
	}
	}
}

static enum proto_err decode_reply(const uint8_t *buf, size_t len, size_t at, struct proto_reply *r, size_t *end)
{
	const uint8_t *body = NULL;
	int hdr_ok;
	enum proto_err e = decode_hdr(buf, len, at, &r->hdr, &hdr_ok, &body);
	if (e != PROTO_OK)
		return e;
	const unsigned opcode = r->hdr.opcode;
	if (!(opcode & PROTO_OP_REPLY))
		return PROTO_E_OPCODE;
	if (r->hdr.flags != 0)
		return PROTO_E_FLAGS;
	const size_t blen = r->hdr.body_len;
	if (blen < sizeof(struct proto_reply_head))
		return PROTO_E_BODY_LEN;
	memcpy(&r->head, body, sizeof(r->head));
	const int head_only = blen == sizeof(struct proto_reply_head);
	const unsigned op = opcode & ~PROTO_OP_REPLY;
	if (!known_op(op) && !(head_only && r->head.status == DP_S_BAD_REQUEST))
		return PROTO_E_OPCODE; /* the answer to an unknown opcode is a bare bad_request */
	if (r->head.status >= DP_S__COUNT || r->head.detail >= DP_D__COUNT || r->head._pad != 0)
		return PROTO_E_FIELD;
	if (r->hdr.client_id == 0 && !(head_only && r->head.status == DP_S_BAD_REQUEST))
		return PROTO_E_FIELD;
	if (head_only) {
		if (r->head.status == DP_S_OK)
			return PROTO_E_BODY_LEN; /* ok always says what happened */
		r->kind = PROTO_R_STATUS;
	} else {
		e = decode_reply_body(r, body + sizeof(r->head), blen - sizeof(r->head));
		if (e != PROTO_OK)
			return e;
	}
	*end = at + HDR_SIZE + blen;
	return PROTO_OK;
}

enum proto_err proto_decode_reply(const uint8_t *buf, size_t len, size_t *off, struct proto_reply *out)
{
	memset(out, 0, sizeof(*out));
	size_t end = 0;
	enum proto_err e = decode_reply(buf, len, *off, out, &end);
	*off = e == PROTO_OK ? end : len;
	return e;
}

/* ---- encoding ---- */

void proto_buf_init(struct proto_buf *b, void *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = mem ? cap : 0;
	b->overflow = 0;
}

int proto_put(struct proto_buf *b, const void *src, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return -1;
	}
	if (n) {
		memcpy(b->p + b->len, src, n);
		b->len += n;
	}
	return 0;
}

long proto_begin_msg(struct proto_buf *b, uint8_t opcode, uint16_t flags, uint64_t client_id, uint64_t request_id)
{
	const struct proto_hdr h = {
		.magic = PROTO_MAGIC,
		.version = PROTO_VERSION,
		.opcode = opcode,
		.flags = flags,
		.body_len = 0,
		.client_id = client_id,
		.request_id = request_id,
	};
	const size_t at = b->len;
	if (proto_put(b, &h, sizeof(h)) != 0)
		return -1;
	return (long)at;
}

int proto_end_msg(struct proto_buf *b, long hdr_off)
{
	if (b->overflow || hdr_off < 0 || (size_t)hdr_off > b->len || b->len - (size_t)hdr_off < HDR_SIZE)
		return -1;
	const size_t body = b->len - (size_t)hdr_off - HDR_SIZE;
	if (body > UINT16_MAX) {
		b->overflow = 1;
		return -1;
	}
	const uint16_t body_len = (uint16_t)body;
	memcpy(b->p + hdr_off + offsetof(struct proto_hdr, body_len), &body_len, sizeof(body_len));
	return 0;
}

/* A request encoder's frame: begin, body parts, optional token, end; on any
 * failure the buffer is put back as it was. */
struct req_enc {
	struct proto_buf *b;
	size_t len0;
	int overflow0;
	long at;
};

static void enc_begin(struct req_enc *x, struct proto_buf *b, uint8_t op, const uint8_t *token, uint64_t client_id,
		      uint64_t request_id)
{
	x->b = b;
	x->len0 = b->len;
	x->overflow0 = b->overflow;
	x->at = proto_begin_msg(b, op, token ? PROTO_F_TOKEN : 0, client_id, request_id);
}

static int enc_end(struct req_enc *x, const uint8_t *token)
{
	if (token)
		proto_put(x->b, token, PROTO_TOKEN_SIZE);
	if (x->at < 0 || proto_end_msg(x->b, x->at) != 0) {
		x->b->len = x->len0;
		x->b->overflow = x->overflow0;
		return -1;
	}
	return 0;
}

int proto_put_ping(struct proto_buf *b, uint64_t client_id, uint64_t request_id, const uint8_t *echo,
		   size_t echo_len)
{
	if (echo_len > PROTO_PING_ECHO_MAX || (echo_len && !echo))
		return -1;
	struct req_enc x;
	enc_begin(&x, b, PROTO_OP_PING, NULL, client_id, request_id);
	proto_put(b, echo, echo_len);
	return enc_end(&x, NULL);
}

int proto_put_seat_map(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
		       uint32_t part_id, uint32_t first, uint16_t count)
{
	const struct proto_seat_map q = {.event_id = event_id, .part_id = part_id, .first = first, .count = count};
	struct req_enc x;
	enc_begin(&x, b, PROTO_OP_SEAT_MAP, NULL, client_id, request_id);
	proto_put(b, &q, sizeof(q));
	return enc_end(&x, NULL);
}

static int put_hold(struct proto_buf *b, uint8_t op, uint64_t client_id, uint64_t request_id, uint32_t event_id,
		    uint32_t part_id, unsigned n, uint8_t tier, const uint32_t *seats, const uint8_t *token)
{
	if (n > UINT8_MAX)
		return -1;
	const struct proto_hold h = {.event_id = event_id, .part_id = part_id, .n = (uint8_t)n, .tier = tier};
	struct req_enc x;
	enc_begin(&x, b, op, token, client_id, request_id);
	proto_put(b, &h, sizeof(h));
	if (seats)
		proto_put(b, seats, 4u * n);
	return enc_end(&x, token);
}

int proto_put_hold_seats(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			 uint32_t part_id, unsigned n, const uint32_t *seats, const uint8_t *token)
{
	if (n && !seats)
		return -1;
	return put_hold(b, PROTO_OP_HOLD_SEATS, client_id, request_id, event_id, part_id, n, 0, seats, token);
}

int proto_put_hold_best(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			uint32_t part_id, unsigned n, uint8_t tier, const uint8_t *token)
{
	return put_hold(b, PROTO_OP_HOLD_BEST, client_id, request_id, event_id, part_id, n, tier, NULL, token);
}

int proto_put_hold_ga(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
		      uint32_t part_id, unsigned n, const uint8_t *token)
{
	return put_hold(b, PROTO_OP_HOLD_GA, client_id, request_id, event_id, part_id, n, 0, NULL, token);
}

int proto_put_confirm(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t hold_id,
		      const uint8_t payment_ref[PROTO_PAYMENT_REF_SIZE])
{
	struct proto_confirm c = {.hold_id = hold_id};
	memcpy(c.payment_ref, payment_ref, PROTO_PAYMENT_REF_SIZE);
	struct req_enc x;
	enc_begin(&x, b, PROTO_OP_CONFIRM, NULL, client_id, request_id);
	proto_put(b, &c, sizeof(c));
	return enc_end(&x, NULL);
}

static int put_u64_body(struct proto_buf *b, uint8_t op, uint64_t client_id, uint64_t request_id, uint64_t v)
{
	struct req_enc x;
	enc_begin(&x, b, op, NULL, client_id, request_id);
	proto_put(b, &v, sizeof(v));
	return enc_end(&x, NULL);
}

int proto_put_release(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t hold_id)
{
	return put_u64_body(b, PROTO_OP_RELEASE, client_id, request_id, hold_id);
}

int proto_put_order(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t order_id)
{
	return put_u64_body(b, PROTO_OP_ORDER, client_id, request_id, order_id);
}

int proto_put_queue_join(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id)
{
	const struct proto_queue q = {.event_id = event_id};
	struct req_enc x;
	enc_begin(&x, b, PROTO_OP_QUEUE_JOIN, NULL, client_id, request_id);
	proto_put(b, &q, sizeof(q));
	return enc_end(&x, NULL);
}

int proto_put_queue_join_code(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			      const char *code)
{
	if (!code)
		return -1;
	const size_t n = strnlen(code, PROTO_CODE_SIZE + 1);
	if (n > PROTO_CODE_SIZE)
		return -1;
	uint8_t field[PROTO_CODE_SIZE] = {0};
	memcpy(field, code, n);
	const struct proto_queue q = {.event_id = event_id};
	const size_t len0 = b->len;
	const int of0 = b->overflow;
	long at = proto_begin_msg(b, PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, client_id, request_id);
	proto_put(b, &q, sizeof(q));
	proto_put(b, field, sizeof(field));
	if (at < 0 || proto_end_msg(b, at) != 0) {
		b->len = len0;
		b->overflow = of0;
		return -1;
	}
	return 0;
}

int proto_put_queue_poll(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			 const uint8_t *token)
{
	if (!token)
		return -1;
	const struct proto_queue q = {.event_id = event_id};
	struct req_enc x;
	enc_begin(&x, b, PROTO_OP_QUEUE_POLL, token, client_id, request_id);
	proto_put(b, &q, sizeof(q));
	return enc_end(&x, token);
}

int proto_put_queue_reply(struct proto_buf *b, const struct proto_hdr *rq, const struct proto_queue_reply *q)
{
	if (q->state >= PROTO_QS__COUNT)
		return -1;
	const size_t len0 = b->len;
	const int of0 = b->overflow;
	struct proto_queue_reply body = *q;
	memset(body._pad, 0, sizeof(body._pad));
	body._pad2 = 0;
	const struct proto_reply_head head = {.status = DP_S_OK};
	long at = proto_begin_msg(b, (uint8_t)((rq->opcode & ~PROTO_OP_REPLY) | PROTO_OP_REPLY), 0, rq->client_id,
				  rq->request_id);
	proto_put(b, &head, sizeof(head));
	proto_put(b, &body, sizeof(body));
	if (proto_end_msg(b, at) != 0) {
		b->len = len0;
		b->overflow = of0;
		return -1;
	}
	return 0;
}
