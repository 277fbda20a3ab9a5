/*
 * proto_helpers.c - helpers shared by the wire protocol codec tests
 * (see proto_helpers.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

#include "tests/proto/proto_helpers.h"

uint8_t t_token[PROTO_TOKEN_SIZE];
uint8_t t_pay[PROTO_PAYMENT_REF_SIZE];

int t_setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < PROTO_TOKEN_SIZE; i++)
		t_token[i] = (uint8_t)(0xa0 + i);
	for (unsigned i = 0; i < PROTO_PAYMENT_REF_SIZE; i++)
		t_pay[i] = (uint8_t)('a' + i % 26);
	return 0;
}

/* A raw message: header with the given fields, then body. Returns its size. */
size_t t_raw(uint8_t *out, uint16_t magic, uint8_t version, uint8_t opcode, uint16_t flags,
	     uint16_t body_len, uint64_t client, uint64_t req, const void *body, size_t body_bytes)
{
	struct proto_hdr h = {.magic = magic,
			      .version = version,
			      .opcode = opcode,
			      .flags = flags,
			      .body_len = body_len,
			      .client_id = client,
			      .request_id = req};
	memcpy(out, &h, sizeof(h));
	if (body_bytes)
		memcpy(out + sizeof(h), body, body_bytes);
	return sizeof(h) + body_bytes;
}

/* A well-formed raw message (body_len = body_bytes). */
size_t t_msg(uint8_t *out, uint8_t opcode, uint16_t flags, uint64_t client, const void *body, size_t n)
{
	return t_raw(out, PROTO_MAGIC, PROTO_VERSION, opcode, flags, (uint16_t)n, client, T_REQ, body, n);
}

/* Decode a single-message datagram; checks the *off / hdr_ok contract. */
enum proto_err t_dec1(const uint8_t *buf, size_t len, struct proto_msg *m, int *hdr_ok)
{
	size_t off = 0;
	int ok = -1;
	enum proto_err e = proto_decode_msg(buf, len, &off, m, &ok);
	if (e == PROTO_OK) {
		assert_int_equal(off, len);
		assert_int_equal(m->bad_detail, DP_D_NONE);
	} else {
		assert_int_equal(off, len);
		assert_int_equal(ok, e == PROTO_E_NOT_STAMPEDE ? 0 : 1);
	}
	if (hdr_ok)
		*hdr_ok = ok;
	return e;
}

/* Expect one specific error from a single-message datagram. */
void t_expect(const uint8_t *buf, size_t len, enum proto_err want, uint8_t want_detail)
{
	struct proto_msg m;
	int hdr_ok;
	enum proto_err e = t_dec1(buf, len, &m, &hdr_ok);
	if (e != want)
		fail_msg("want %s, got %s", proto_err_name(want), proto_err_name(e));
	if (e != PROTO_E_NOT_STAMPEDE) {
		assert_int_equal(m.hdr.request_id, T_REQ);
		assert_int_equal(m.bad_detail, want_detail);
	}
}

/* Re-encode a decoded request with the public encoders. */
int t_reencode_msg(const struct proto_msg *m, struct proto_buf *b)
{
	const uint64_t c = m->hdr.client_id, r = m->hdr.request_id;
	const struct proto_hold *h = &m->u.hold.h;
	switch (m->hdr.opcode) {
	case PROTO_OP_PING:
		return proto_put_ping(b, c, r, m->u.ping.bytes, m->u.ping.len);
	case PROTO_OP_SEAT_MAP:
		return proto_put_seat_map(b, c, r, m->u.seat_map.event_id, m->u.seat_map.part_id, m->u.seat_map.first,
					  m->u.seat_map.count);
	case PROTO_OP_HOLD_SEATS:
		return proto_put_hold_seats(b, c, r, h->event_id, h->part_id, h->n, m->u.hold.seats, m->token);
	case PROTO_OP_HOLD_BEST:
		return proto_put_hold_best(b, c, r, h->event_id, h->part_id, h->n, h->tier, m->token);
	case PROTO_OP_HOLD_GA:
		return proto_put_hold_ga(b, c, r, h->event_id, h->part_id, h->n, m->token);
	case PROTO_OP_CONFIRM:
		return proto_put_confirm(b, c, r, m->u.confirm.hold_id, m->u.confirm.payment_ref);
	case PROTO_OP_RELEASE:
		return proto_put_release(b, c, r, m->u.release.hold_id);
	case PROTO_OP_ORDER:
		return proto_put_order(b, c, r, m->u.order.order_id);
	case PROTO_OP_QUEUE_JOIN:
		return proto_put_queue_join(b, c, r, m->u.queue.event_id);
	case PROTO_OP_QUEUE_POLL:
		return proto_put_queue_poll(b, c, r, m->u.queue.event_id, m->token);
	}
	return -1;
}

/* Re-encode a decoded reply with begin/put/end. */
int t_reencode_reply(const struct proto_reply *r, struct proto_buf *b)
{
	long at = proto_begin_msg(b, r->hdr.opcode, r->hdr.flags, r->hdr.client_id, r->hdr.request_id);
	proto_put(b, &r->head, sizeof(r->head));
	switch (r->kind) {
	case PROTO_R_STATUS:
		break;
	case PROTO_R_PING:
		proto_put(b, &r->u.ping.body, sizeof(r->u.ping.body));
		proto_put(b, r->u.ping.echo, r->u.ping.echo_len);
		break;
	case PROTO_R_HOLD:
		proto_put(b, &r->u.hold.body, sizeof(r->u.hold.body));
		proto_put(b, r->u.hold.items, 4u * r->u.hold.body.n_items);
		proto_put(b, r->u.hold.alt, 4u * r->u.hold.body.n_alt);
		break;
	case PROTO_R_SEAT_MAP:
		proto_put(b, &r->u.seat_map.body, sizeof(r->u.seat_map.body));
		proto_put(b, r->u.seat_map.seats, r->u.seat_map.count);
		break;
	case PROTO_R_ORDER:
		proto_put(b, &r->u.order.body, sizeof(r->u.order.body));
		proto_put(b, r->u.order.items, 4u * r->u.order.body.n_items);
		break;
	default:
		return -1;
	}
	return proto_end_msg(b, at);
}

/* Decode one message of a datagram and check it re-encodes to the same bytes. */
void t_roundtrip_req(const uint8_t *buf, size_t len, struct proto_msg *m)
{
	int hdr_ok;
	enum proto_err e = t_dec1(buf, len, m, &hdr_ok);
	if (e != PROTO_OK)
		fail_msg("decode: %s", proto_err_name(e));
	uint8_t again[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_msg(m, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(again, buf, len);
}

/* Reply builders (what the dataplane writes). */
long t_reply_begin(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
		   uint32_t retry)
{
	long at = proto_begin_msg(b, (uint8_t)(op | PROTO_OP_REPLY), 0, client, T_REQ);
	struct proto_reply_head head = {.status = status, .detail = detail, .retry_after_ms = retry};
	proto_put(b, &head, sizeof(head));
	return at;
}

void t_reply_status(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
		    uint32_t retry)
{
	assert_int_equal(proto_end_msg(b, t_reply_begin(b, op, client, status, detail, retry)), 0);
}

void t_reply_hold(struct proto_buf *b, uint8_t op, uint8_t status, const struct proto_hold_reply *body,
		  const uint32_t *items, const uint32_t *alt)
{
	long at = t_reply_begin(b, op, T_CLIENT, status, DP_D_NONE, 0);
	proto_put(b, body, sizeof(*body));
	proto_put(b, items, 4u * body->n_items);
	proto_put(b, alt, 4u * body->n_alt);
	assert_int_equal(proto_end_msg(b, at), 0);
}

enum proto_err t_rdec1(const uint8_t *buf, size_t len, struct proto_reply *r)
{
	size_t off = 0;
	enum proto_err e = proto_decode_reply(buf, len, &off, r);
	assert_int_equal(off, len);
	return e;
}

void t_rexpect(const uint8_t *buf, size_t len, enum proto_err want)
{
	struct proto_reply r;
	enum proto_err e = t_rdec1(buf, len, &r);
	if (e != want)
		fail_msg("reply: want %s, got %s", proto_err_name(want), proto_err_name(e));
}

/* Decode a one-reply datagram and check it re-encodes to the same bytes. */
void t_roundtrip_reply(const uint8_t *buf, size_t len, struct proto_reply *r)
{
	enum proto_err e = t_rdec1(buf, len, r);
	if (e != PROTO_OK)
		fail_msg("reply decode: %s", proto_err_name(e));
	uint8_t again[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_reply(r, &b), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(again, buf, len);
}

void t_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}
