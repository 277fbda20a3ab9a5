/*
 * test_proto_requests.c - request side tests of the wire protocol codec:
 * round trips of every request opcode, every request decoder error on a crafted
 * datagram (with *off and hdr_ok), and multi-message datagrams with the
 * 32-message bound. Run by test_proto.c (proto_tests.h).
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
#include "tests/proto/proto_tests.h"

/* ---- request round trips ------------------------------------------------ */

void test_rt_ping(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], echo[PROTO_PING_ECHO_MAX];
	for (unsigned i = 0; i < sizeof(echo); i++)
		echo[i] = (uint8_t)i;
	const size_t lens[] = {0, 1, 5, PROTO_PING_ECHO_MAX};
	for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, lens[k] ? echo : NULL, lens[k]), 0);
		assert_int_equal(b.len, 24 + lens[k]);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_PING);
		assert_int_equal(m.hdr.client_id, T_CLIENT);
		assert_int_equal(m.hdr.request_id, T_REQ);
		assert_int_equal(m.u.ping.len, lens[k]);
		if (lens[k])
			assert_memory_equal(m.u.ping.bytes, echo, lens[k]);
		assert_null(m.token);
	}
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, echo, PROTO_PING_ECHO_MAX + 1), -1);
	assert_int_equal(proto_put_ping(&b, T_CLIENT, T_REQ, NULL, 3), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.overflow, 0);
}

void test_rt_seat_map(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	const uint16_t counts[] = {1, 100, PROTO_SEATMAP_PAGE_MAX};
	for (unsigned k = 0; k < 3; k++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 5000, counts[k]), 0);
		assert_int_equal(b.len, 24 + 16);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_SEAT_MAP);
		assert_int_equal(m.u.seat_map.event_id, T_EVENT);
		assert_int_equal(m.u.seat_map.part_id, T_PART);
		assert_int_equal(m.u.seat_map.first, 5000);
		assert_int_equal(m.u.seat_map.count, counts[k]);
	}
}

void test_rt_hold_seats(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	uint32_t seats[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++)
		seats[i] = 1000u * i + 7u;
	const unsigned ns[] = {1, 2, PROTO_ITEMS_MAX};
	for (unsigned k = 0; k < 3; k++) {
		for (int tok = 0; tok < 2; tok++) {
			struct proto_buf b;
			struct proto_msg m;
			proto_buf_init(&b, buf, sizeof(buf));
			assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, ns[k], seats,
							      tok ? t_token : NULL),
					 0);
			assert_int_equal(b.len, 24 + 12 + 4 * ns[k] + (tok ? PROTO_TOKEN_SIZE : 0));
			t_roundtrip_req(buf, b.len, &m);
			assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_SEATS);
			assert_int_equal(m.hdr.flags, tok ? PROTO_F_TOKEN : 0);
			assert_int_equal(m.u.hold.h.event_id, T_EVENT);
			assert_int_equal(m.u.hold.h.part_id, T_PART);
			assert_int_equal(m.u.hold.h.n, ns[k]);
			assert_int_equal(m.u.hold.h.tier, 0);
			assert_memory_equal(m.u.hold.seats, seats, 4 * ns[k]);
			if (tok)
				assert_memory_equal(m.token, t_token, PROTO_TOKEN_SIZE);
			else
				assert_null(m.token);
		}
	}
}

void test_rt_hold_best_ga(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	for (int tok = 0; tok < 2; tok++) {
		struct proto_buf b;
		struct proto_msg m;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(
			proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 4, 9, tok ? t_token : NULL), 0);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_BEST);
		assert_int_equal(m.u.hold.h.n, 4);
		assert_int_equal(m.u.hold.h.tier, 9);
		assert_true(tok ? m.token != NULL : m.token == NULL);

		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 1, 0, NULL), 0);
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.u.hold.h.tier, 0);

		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, PROTO_ITEMS_MAX,
						   tok ? t_token : NULL),
				 0);
		assert_int_equal(b.len, 24 + 12 + (tok ? PROTO_TOKEN_SIZE : 0));
		t_roundtrip_req(buf, b.len, &m);
		assert_int_equal(m.hdr.opcode, PROTO_OP_HOLD_GA);
		assert_int_equal(m.u.hold.h.n, PROTO_ITEMS_MAX);
		assert_int_equal(m.u.hold.h.event_id, T_EVENT);
		assert_int_equal(m.u.hold.h.part_id, T_PART);
	}
}

void test_rt_confirm_release_order(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_msg m;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, T_CLIENT, T_REQ, 0x0102030405060708ull, t_pay), 0);
	assert_int_equal(b.len, 24 + 40);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_CONFIRM);
	assert_int_equal(m.u.confirm.hold_id, 0x0102030405060708ull);
	assert_memory_equal(m.u.confirm.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_release(&b, T_CLIENT, T_REQ, 99), 0);
	assert_int_equal(b.len, 32);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_RELEASE);
	assert_int_equal(m.u.release.hold_id, 99);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_order(&b, T_CLIENT, T_REQ, 1ull << 60), 0);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_ORDER);
	assert_int_equal(m.u.order.order_id, 1ull << 60);
}

void test_rt_queue(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_msg m;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join(&b, T_CLIENT, T_REQ, T_EVENT), 0);
	assert_int_equal(b.len, 32);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_QUEUE_JOIN);
	assert_int_equal(m.u.queue.event_id, T_EVENT);
	assert_null(m.token);
	assert_null(m.code);
	assert_int_equal(m.code_len, 0);

	/* With a presale code: 8 + 32 bytes of body, the code zero-padded. */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join_code(&b, T_CLIENT, T_REQ, T_EVENT, "FAN-2026"), 0);
	assert_int_equal(b.len, 24 + 8 + PROTO_CODE_SIZE);
	assert_int_equal(buf[4], PROTO_F_CODE);
	assert_memory_equal(buf + 32, "FAN-2026", 8);
	for (unsigned i = 8; i < PROTO_CODE_SIZE; i++)
		assert_int_equal(buf[32 + i], 0);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.flags, PROTO_F_CODE);
	assert_int_equal(m.u.queue.event_id, T_EVENT);
	assert_int_equal(m.code_len, 8);
	assert_memory_equal(m.code, "FAN-2026", 8);
	/* A code of exactly 32 bytes; one of 33 does not fit (nothing appended). */
	const char *c32 = "0123456789abcdef0123456789ABCDEF";
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join_code(&b, T_CLIENT, T_REQ, T_EVENT, c32), 0);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.code_len, 32);
	assert_memory_equal(m.code, c32, 32);
	const size_t len32 = b.len;
	assert_int_equal(proto_put_queue_join_code(&b, T_CLIENT, T_REQ, T_EVENT, "0123456789abcdef0123456789ABCDEFx"), -1);
	assert_int_equal(proto_put_queue_join_code(&b, T_CLIENT, T_REQ, T_EVENT, NULL), -1);
	assert_int_equal(b.len, len32);

	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, NULL), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, t_token), 0);
	assert_int_equal(b.len, 32 + PROTO_TOKEN_SIZE);
	t_roundtrip_req(buf, b.len, &m);
	assert_int_equal(m.hdr.opcode, PROTO_OP_QUEUE_POLL);
	assert_int_equal(m.hdr.flags, PROTO_F_TOKEN);
	assert_memory_equal(m.token, t_token, PROTO_TOKEN_SIZE);
}

/* ---- request decoder errors -------------------------------------------- */

void test_err_not_stampede(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct proto_msg m;
	size_t off;
	int hdr_ok;
	/* empty, one byte, 23 bytes */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(t_dec1(buf, 0, &m, NULL), PROTO_E_NOT_STAMPEDE);
	size_t n = t_msg(buf, PROTO_OP_PING, 0, T_CLIENT, NULL, 0);
	assert_int_equal(t_dec1(buf, 1, &m, NULL), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(t_dec1(buf, n - 1, &m, NULL), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(t_dec1(buf, n, &m, NULL), PROTO_OK);
	/* bad magic: byte-swapped, and zero */
	n = t_raw(buf, 0x5354, PROTO_VERSION, PROTO_OP_PING, 0, 0, T_CLIENT, T_REQ, NULL, 0);
	assert_int_equal(t_dec1(buf, n, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(hdr_ok, 0);
	assert_int_equal(m.hdr.request_id, 0); /* not filled */
	/* bad magic beats every other fault */
	n = t_raw(buf, 0, 9, 0xff, 0xffff, 60000, 0, T_REQ, NULL, 0);
	assert_int_equal(t_dec1(buf, n, &m, NULL), PROTO_E_NOT_STAMPEDE);
	/* *off past the end */
	n = t_msg(buf, PROTO_OP_PING, 0, T_CLIENT, NULL, 0);
	off = n + 5;
	assert_int_equal(proto_decode_msg(buf, n, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(off, n);
	assert_int_equal(hdr_ok, 0);
	/* a NULL buffer of length 0 */
	off = 0;
	assert_int_equal(proto_decode_msg(NULL, 0, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(off, 0);
}

void test_err_version(void **state)
{
	(void)state;
	uint8_t buf[128];
	const uint8_t versions[] = {0, 2, 0xff};
	for (unsigned k = 0; k < 3; k++) {
		size_t n = t_raw(buf, PROTO_MAGIC, versions[k], PROTO_OP_PING, 0, 0, T_CLIENT, T_REQ, NULL, 0);
		t_expect(buf, n, PROTO_E_VERSION, DP_D_NONE);
	}
	/* version is checked before everything but the magic */
	size_t n = t_raw(buf, PROTO_MAGIC, 2, 0xee, 0xffff, 1000, 0, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_VERSION, DP_D_NONE);
}

void test_err_truncated(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t body[40] = {0};
	/* body_len 40, only 39 bytes present */
	size_t n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_CONFIRM, 0, 40, T_CLIENT, T_REQ, body, 39);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
	/* body_len 65535 with nothing after the header */
	n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING, 0, 0xffff, T_CLIENT, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
	/* truncation is found before a bad opcode */
	n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, 0x7f, 0, 8, T_CLIENT, T_REQ, NULL, 0);
	t_expect(buf, n, PROTO_E_TRUNCATED, DP_D_NONE);
}

void test_err_opcode(void **state)
{
	(void)state;
	uint8_t buf[256];
	uint8_t body[8] = {0};
	const uint8_t ops[] = {0, PROTO_OP__MAX + 1, 0x7f, PROTO_OP_REPLY, PROTO_OP_RELEASE | PROTO_OP_REPLY, 0xff};
	for (unsigned k = 0; k < sizeof(ops); k++) {
		size_t n = t_msg(buf, ops[k], 0, T_CLIENT, body, sizeof(body));
		t_expect(buf, n, PROTO_E_OPCODE, DP_D_BAD_OP);
	}
}

void test_err_flags(void **state)
{
	(void)state;
	uint8_t buf[256], body[128];
	memset(body, 0, sizeof(body));
	body[8] = 1; /* n = 1 for holds */
	/* unknown bits, on an op that takes a token */
	size_t n = t_msg(buf, PROTO_OP_HOLD_GA, 0x0002, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_GA, 0x8000 | PROTO_F_TOKEN, T_CLIENT, body, 12 + PROTO_TOKEN_SIZE);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	/* a token where none is allowed (well-sized body + token) */
	const struct {
		uint8_t op;
		size_t body;
	} no_token[] = {{PROTO_OP_PING, 0},    {PROTO_OP_SEAT_MAP, 16},  {PROTO_OP_CONFIRM, 40},
			{PROTO_OP_RELEASE, 8}, {PROTO_OP_ORDER, 8},      {PROTO_OP_QUEUE_JOIN, 8}};
	for (unsigned k = 0; k < sizeof(no_token) / sizeof(no_token[0]); k++) {
		n = t_msg(buf, no_token[k].op, PROTO_F_TOKEN, T_CLIENT, body, no_token[k].body + PROTO_TOKEN_SIZE);
		t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	}
	/* PROTO_F_CODE on any opcode but QUEUE_JOIN (well-sized body + code) */
	const struct {
		uint8_t op;
		uint16_t flags;
		size_t body;
	} no_code[] = {{PROTO_OP_PING, 0, 0},
		       {PROTO_OP_SEAT_MAP, 0, 16},
		       {PROTO_OP_HOLD_GA, 0, 12},
		       {PROTO_OP_HOLD_GA, PROTO_F_TOKEN, 12 + PROTO_TOKEN_SIZE},
		       {PROTO_OP_CONFIRM, 0, 40},
		       {PROTO_OP_RELEASE, 0, 8},
		       {PROTO_OP_ORDER, 0, 8},
		       {PROTO_OP_QUEUE_POLL, PROTO_F_TOKEN, 8 + PROTO_TOKEN_SIZE}};
	for (unsigned k = 0; k < sizeof(no_code) / sizeof(no_code[0]); k++) {
		n = t_msg(buf, no_code[k].op, no_code[k].flags | PROTO_F_CODE, T_CLIENT, body,
			  no_code[k].body + PROTO_CODE_SIZE);
		t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
		n = t_msg(buf, no_code[k].op, no_code[k].flags | PROTO_F_CODE, T_CLIENT, body, no_code[k].body);
		t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	}
	/* a code and a token on QUEUE_JOIN */
	n = t_msg(buf, PROTO_OP_QUEUE_JOIN, PROTO_F_CODE | PROTO_F_TOKEN, T_CLIENT, body, 8 + PROTO_CODE_SIZE + PROTO_TOKEN_SIZE);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	/* QUEUE_POLL without its token */
	n = t_msg(buf, PROTO_OP_QUEUE_POLL, 0, T_CLIENT, body, 8);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_QUEUE_POLL, 0, T_CLIENT, body, 8 + PROTO_TOKEN_SIZE);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
	/* flags are checked before body_len */
	n = t_msg(buf, PROTO_OP_CONFIRM, PROTO_F_TOKEN, T_CLIENT, body, 3);
	t_expect(buf, n, PROTO_E_FLAGS, DP_D_NONE);
}

void test_err_body_len(void **state)
{
	(void)state;
	uint8_t buf[512], body[256];
	memset(body, 0, sizeof(body));
	body[8] = 2; /* n = 2 */
	const struct {
		uint8_t op;
		uint16_t flags;
		size_t len;
	} bad[] = {
		{PROTO_OP_PING, 0, PROTO_PING_ECHO_MAX + 1},
		{PROTO_OP_SEAT_MAP, 0, 15},
		{PROTO_OP_SEAT_MAP, 0, 17},
		{PROTO_OP_HOLD_SEATS, 0, 11},             /* shorter than the fixed part */
		{PROTO_OP_HOLD_SEATS, 0, 12 + 4},         /* n = 2 needs 8 bytes of seats */
		{PROTO_OP_HOLD_SEATS, 0, 12 + 12},
		{PROTO_OP_HOLD_SEATS, 0, 12 + 8 + 1},
		{PROTO_OP_HOLD_SEATS, PROTO_F_TOKEN, 12 + 8 + PROTO_TOKEN_SIZE - 1},
		{PROTO_OP_HOLD_SEATS, PROTO_F_TOKEN, 12 + 8}, /* token flag, no token */
		{PROTO_OP_HOLD_BEST, 0, 0},
		{PROTO_OP_HOLD_BEST, 0, 13},
		{PROTO_OP_HOLD_BEST, PROTO_F_TOKEN, 12},
		{PROTO_OP_HOLD_BEST, PROTO_F_TOKEN, 12 + PROTO_TOKEN_SIZE + 1},
		{PROTO_OP_HOLD_GA, 0, 11},
		{PROTO_OP_HOLD_GA, PROTO_F_TOKEN, PROTO_TOKEN_SIZE - 1},
		{PROTO_OP_CONFIRM, 0, 39},
		{PROTO_OP_CONFIRM, 0, 41},
		{PROTO_OP_RELEASE, 0, 0},
		{PROTO_OP_RELEASE, 0, 16},
		{PROTO_OP_ORDER, 0, 7},
		{PROTO_OP_QUEUE_JOIN, 0, 9},
		{PROTO_OP_QUEUE_JOIN, 0, 8 + PROTO_CODE_SIZE},            /* a code without the flag */
		{PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, 8},                   /* the flag without a code */
		{PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, 8 + PROTO_CODE_SIZE - 1},
		{PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, 8 + PROTO_CODE_SIZE + 1},
		{PROTO_OP_QUEUE_POLL, PROTO_F_TOKEN, 8 + PROTO_TOKEN_SIZE + 4},
		{PROTO_OP_QUEUE_POLL, PROTO_F_TOKEN, 8},
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		size_t n = t_msg(buf, bad[k].op, bad[k].flags, T_CLIENT, body, bad[k].len);
		struct proto_msg m;
		int hdr_ok;
		enum proto_err e = t_dec1(buf, n, &m, &hdr_ok);
		if (e != PROTO_E_BODY_LEN)
			fail_msg("case %u (%s len %zu): got %s", k, proto_op_name(bad[k].op), bad[k].len,
				 proto_err_name(e));
		assert_int_equal(hdr_ok, 1);
	}
	/* body_len is checked before fields: client id 0 and wrong size */
	size_t n = t_msg(buf, PROTO_OP_RELEASE, 0, 0, body, 9);
	t_expect(buf, n, PROTO_E_BODY_LEN, DP_D_NONE);
}

void test_err_field(void **state)
{
	(void)state;
	uint8_t buf[512], body[256];
	struct proto_buf b;
	uint32_t seats[PROTO_ITEMS_MAX + 1] = {0};
	/* client id 0, on every opcode */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, 0, T_REQ, NULL, 0), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, 0, T_REQ, T_EVENT, T_PART, 1, seats, NULL), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, 0, T_REQ, 1, t_pay), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, 0, T_REQ, 1, t_token), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_BAD_CLIENT);

	/* n = 0 and n = PROTO_ITEMS_MAX + 1 on the three holds */
	for (int tok = 0; tok < 2; tok++) {
		const uint8_t *tk = tok ? t_token : NULL;
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, NULL, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(
			proto_put_hold_seats(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, PROTO_ITEMS_MAX + 1, seats, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_best(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 0, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 255, tk), 0);
		t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
	}
	/* tier on HOLD_SEATS / HOLD_GA, padding in holds */
	memset(body, 0, sizeof(body));
	body[8] = 1;
	body[9] = 3; /* tier */
	size_t n = t_msg(buf, PROTO_OP_HOLD_GA, 0, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_SEATS, 0, T_CLIENT, body, 16);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);
	n = t_msg(buf, PROTO_OP_HOLD_BEST, 0, T_CLIENT, body, 12);
	assert_int_equal(t_dec1(buf, n, &(struct proto_msg){0}, NULL), PROTO_OK);
	body[9] = 0;
	body[11] = 1; /* _pad */
	n = t_msg(buf, PROTO_OP_HOLD_BEST, 0, T_CLIENT, body, 12);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);

	/* presale codes: empty, a space, a control byte, DEL, 8-bit, text after
	 * the zero padding, padding not zero; the valid printable edges pass. */
	const struct {
		char bytes[PROTO_CODE_SIZE]; /* NUL-padded */
		size_t len;
		int ok;
	} codes[] = {
		{"", 0, 0},
		{" ABC", 4, 0},
		{"AB C", 4, 0},
		{"AB\tC", 4, 0},
		{"AB\x7f", 3, 0},
		{"AB\x80", 3, 0},
		{"AB\0C", 4, 0},
		{"ABC", 32, 0}, /* byte 31 set below: text after the zero padding */
		{"!~", 2, 1},
		{"FAN-2026", 8, 1},
	};
	for (unsigned k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		memset(body, 0, sizeof(body));
		memcpy(body + 8, codes[k].bytes, codes[k].len);
		if (codes[k].len == PROTO_CODE_SIZE)
			body[8 + PROTO_CODE_SIZE - 1] = 1;
		n = t_msg(buf, PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, T_CLIENT, body, 8 + PROTO_CODE_SIZE);
		if (codes[k].ok) {
			struct proto_msg m;
			assert_int_equal(t_dec1(buf, n, &m, NULL), PROTO_OK);
			assert_int_equal(m.code_len, codes[k].len);
		} else {
			t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);
		}
	}
	/* the code's client id 0 is still bad_client_id; padding of the queue body */
	memset(body, 0, sizeof(body));
	memcpy(body + 8, "FAN", 3);
	n = t_msg(buf, PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, 0, body, 8 + PROTO_CODE_SIZE);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_BAD_CLIENT);
	body[4] = 1;
	n = t_msg(buf, PROTO_OP_QUEUE_JOIN, PROTO_F_CODE, T_CLIENT, body, 8 + PROTO_CODE_SIZE);
	t_expect(buf, n, PROTO_E_FIELD, DP_D_NONE);

	/* seat map: count 0, count 1025, padding */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 0), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_ZERO);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, PROTO_SEATMAP_PAGE_MAX + 1), 0);
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_QTY_TOO_MANY);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_seat_map(&b, T_CLIENT, T_REQ, T_EVENT, T_PART, 0, 1), 0);
	buf[24 + 14] = 1;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);

	/* queue padding */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_join(&b, T_CLIENT, T_REQ, T_EVENT), 0);
	buf[24 + 7] = 0x80;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_poll(&b, T_CLIENT, T_REQ, T_EVENT, t_token), 0);
	buf[24 + 4] = 1;
	t_expect(buf, b.len, PROTO_E_FIELD, DP_D_NONE);
}

/* ---- multi-message datagrams -------------------------------------------- */

static size_t t_fill(uint8_t *buf, size_t cap, unsigned count)
{
	struct proto_buf b;
	proto_buf_init(&b, buf, cap);
	for (unsigned i = 0; i < count; i++) {
		uint32_t seat = i;
		int rc;
		switch (i % 4) {
		case 0:
			rc = proto_put_ping(&b, T_CLIENT, i + 1, NULL, 0);
			break;
		case 1:
			rc = proto_put_release(&b, T_CLIENT, i + 1, i);
			break;
		case 2:
			rc = proto_put_queue_join(&b, T_CLIENT, i + 1, i);
			break;
		default:
			rc = proto_put_hold_seats(&b, T_CLIENT, i + 1, T_EVENT, T_PART, 1, &seat, NULL);
			break;
		}
		assert_int_equal(rc, 0);
	}
	return b.len;
}

void test_multi(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_msg m;
	int hdr_ok;
	/* 32 messages: all decode, in order */
	size_t len = t_fill(buf, sizeof(buf), PROTO_MSGS_MAX);
	assert_true(len <= PROTO_DGRAM_MAX);
	size_t off = 0;
	for (unsigned i = 0; i < PROTO_MSGS_MAX; i++) {
		size_t before = off;
		assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
		assert_true(off > before);
		assert_int_equal(m.hdr.request_id, i + 1);
	}
	assert_int_equal(off, len);

	/* 33: the 33rd is refused, with its header readable, and *off = len */
	len = t_fill(buf, sizeof(buf), PROTO_MSGS_MAX + 1);
	off = 0;
	for (unsigned i = 0; i < PROTO_MSGS_MAX; i++)
		assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_true(off < len);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_E_TOO_MANY);
	assert_int_equal(hdr_ok, 1);
	assert_int_equal(m.hdr.request_id, PROTO_MSGS_MAX + 1);
	assert_int_equal(off, len);

	/* 33 minimal (24-byte) pings: the count is still found */
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	for (unsigned i = 0; i <= PROTO_MSGS_MAX; i++)
		assert_int_equal(proto_put_ping(&b, T_CLIENT, i + 1, NULL, 0), 0);
	off = 0;
	unsigned ok = 0;
	enum proto_err e;
	while ((e = proto_decode_msg(buf, b.len, &off, &m, &hdr_ok)) == PROTO_OK)
		ok++;
	assert_int_equal(ok, PROTO_MSGS_MAX);
	assert_int_equal(e, PROTO_E_TOO_MANY);

	/* A bad message in the middle: those before it decode, the rest is not read */
	len = t_fill(buf, sizeof(buf), 6);
	size_t third = 0;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(proto_decode_msg(buf, len, &third, &m, &hdr_ok), PROTO_OK);
	buf[third + 3] = 0x7e; /* opcode of the 3rd */
	off = 0;
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(off, third);
	assert_int_equal(proto_decode_msg(buf, len, &off, &m, &hdr_ok), PROTO_E_OPCODE);
	assert_int_equal(hdr_ok, 1);
	assert_int_equal(m.hdr.request_id, 3);
	assert_int_equal(off, len);

	/* Trailing bytes too short for a header after good messages */
	len = t_fill(buf, sizeof(buf), 2);
	memset(buf + len, 0x53, 10);
	off = 0;
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, len + 10, &off, &m, &hdr_ok), PROTO_E_NOT_STAMPEDE);
	assert_int_equal(hdr_ok, 0);
	assert_int_equal(off, len + 10);

	/* Replies: 32 in a datagram, and the 33rd refused */
	proto_buf_init(&b, buf, sizeof(buf));
	for (unsigned i = 0; i <= PROTO_MSGS_MAX; i++)
		t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	off = 0;
	struct proto_reply r;
	ok = 0;
	while ((e = proto_decode_reply(buf, b.len, &off, &r)) == PROTO_OK)
		ok++;
	assert_int_equal(ok, PROTO_MSGS_MAX);
	assert_int_equal(e, PROTO_E_TOO_MANY);
	assert_int_equal(off, b.len);
}
