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
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}
