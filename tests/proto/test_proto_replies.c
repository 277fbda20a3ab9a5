/*
 * test_proto_replies.c - reply side tests of the wire protocol codec:
 * reply round trips, encoder overflow and rollback, every reply decoder error,
 * and the bytes docs/protocol.md shows. Run by test_proto.c (proto_tests.h).
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

/* ---- reply round trips ------------------------------------------------- */

void test_rt_reply_status(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	/* Every refusal can come head-only, for every opcode. */
	for (unsigned op = PROTO_OP_PING; op <= PROTO_OP__MAX; op++) {
		for (unsigned s = 1; s < DP_S__COUNT; s++) {
			proto_buf_init(&b, buf, sizeof(buf));
			t_reply_status(&b, (uint8_t)op, T_CLIENT, (uint8_t)s, DP_D_NONE, s == DP_S_BUSY ? 5 : 0);
			t_roundtrip_reply(buf, b.len, &r);
			assert_int_equal(r.kind, PROTO_R_STATUS);
			assert_int_equal(r.hdr.opcode, op | PROTO_OP_REPLY);
			assert_int_equal(r.head.status, s);
		}
	}
	/* busy with retry_after_ms */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_BUSY, DP_D_LOG_FULL, 250);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.head.retry_after_ms, 250);
	assert_int_equal(r.head.detail, DP_D_LOG_FULL);
	/* the answer to a request with client id 0, and to an unknown opcode */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, 0, DP_S_BAD_REQUEST, DP_D_BAD_CLIENT, 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.hdr.client_id, 0);
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, 0x55, T_CLIENT, DP_S_BAD_REQUEST, DP_D_BAD_OP, 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.hdr.opcode, 0xd5);
	/* QUEUE_* refusals are head only, with the token details */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_QUEUE_POLL, T_CLIENT, DP_S_BAD_TOKEN, DP_D_TOKEN_FORGED, 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.kind, PROTO_R_STATUS);
	assert_int_equal(r.head.detail, DP_D_TOKEN_FORGED);
	/* ok head only is refused for QUEUE_* too, now that it has a body */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_QUEUE_JOIN, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
}

/* Every state round-trips; the byte layout is the documented one. */
void test_rt_reply_queue(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	const uint8_t ops[] = {PROTO_OP_QUEUE_JOIN, PROTO_OP_QUEUE_POLL};
	for (unsigned k = 0; k < sizeof(ops); k++)
		for (uint8_t st = 0; st < PROTO_QS__COUNT; st++) {
			struct proto_queue_reply q = {.event_id = T_EVENT,
						      .state = st,
						      .position = 1000 + st,
						      .ahead = 7,
						      .wait_ms = 1234};
			for (unsigned i = 0; i < PROTO_TOKEN_SIZE; i++)
				q.token[i] = (uint8_t)(i * 3 + st);
			struct proto_hdr rq = {.opcode = ops[k], .client_id = T_CLIENT, .request_id = T_REQ};
			proto_buf_init(&b, buf, sizeof(buf));
			assert_int_equal(proto_put_queue_reply(&b, &rq, &q), 0);
			assert_int_equal(b.len, 24 + 8 + 96);
			t_roundtrip_reply(buf, b.len, &r);
			assert_int_equal(r.kind, PROTO_R_QUEUE);
			assert_int_equal(r.hdr.opcode, ops[k] | PROTO_OP_REPLY);
			assert_int_equal(r.head.status, DP_S_OK);
			assert_memory_equal(&r.u.queue, &q, sizeof(q));
			/* offsets: event 32, state 36, position 40, ahead 48, wait 56, token 64 */
			assert_int_equal(buf[32], T_EVENT & 0xff);
			assert_int_equal(buf[36], st);
			assert_int_equal(buf[40], (1000 + st) & 0xff);
			assert_int_equal(buf[48], 7);
			assert_int_equal(buf[56], 1234 & 0xff);
			assert_memory_equal(buf + 64, q.token, PROTO_TOKEN_SIZE);
		}
	/* an unknown state is not encoded, and the buffer is untouched */
	struct proto_queue_reply bad = {.state = PROTO_QS__COUNT};
	struct proto_hdr rq = {.opcode = PROTO_OP_QUEUE_JOIN, .client_id = T_CLIENT, .request_id = T_REQ};
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_queue_reply(&b, &rq, &bad), -1);
	assert_int_equal(b.len, 0);
	/* no room: -1, nothing appended */
	proto_buf_init(&b, buf, 100);
	bad.state = 0;
	assert_int_equal(proto_put_queue_reply(&b, &rq, &bad), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.overflow, 0);
}

/* Bad queue bodies: short, long, unknown state, padding not zero. */
void test_bad_reply_queue(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_queue_reply q = {.event_id = T_EVENT, .state = PROTO_QS_WAITING};
	long at;
	for (int cut = -1; cut <= 1; cut += 2) {
		proto_buf_init(&b, buf, sizeof(buf));
		at = t_reply_begin(&b, PROTO_OP_QUEUE_JOIN, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		proto_put(&b, &q, sizeof(q) - 1);
		if (cut > 0)
			proto_put(&b, "xx", 2);
		proto_end_msg(&b, at);
		t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	}
	struct proto_hdr rq = {.opcode = PROTO_OP_QUEUE_POLL, .client_id = T_CLIENT, .request_id = T_REQ};
	const size_t offs[] = {32 + 4, 32 + 5, 32 + 6, 32 + 7, 32 + 28, 32 + 31};
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		proto_buf_init(&b, buf, sizeof(buf));
		assert_int_equal(proto_put_queue_reply(&b, &rq, &q), 0);
		t_rexpect(buf, b.len, PROTO_OK);
		buf[offs[i]] = i == 0 ? PROTO_QS__COUNT : 1;
		t_rexpect(buf, b.len, PROTO_E_FIELD);
	}
}

void test_rt_reply_ping(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	const uint8_t echo[5] = "hello";
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_ping_reply body = {.server_time_ms = 1700000000000ull, .workers = 2};
	proto_put(&b, &body, sizeof(body));
	proto_put(&b, echo, sizeof(echo));
	assert_int_equal(proto_end_msg(&b, at), 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.kind, PROTO_R_PING);
	assert_int_equal(r.u.ping.body.server_time_ms, 1700000000000ull);
	assert_int_equal(r.u.ping.body.workers, 2);
	assert_int_equal(r.u.ping.echo_len, 5);
	assert_memory_equal(r.u.ping.echo, "hello", 5);
}

void test_rt_reply_hold(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	uint32_t items[PROTO_ITEMS_MAX], alt[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++) {
		items[i] = i + 1;
		alt[i] = 100 + i;
	}
	const uint8_t ops[] = {PROTO_OP_HOLD_SEATS, PROTO_OP_HOLD_BEST, PROTO_OP_HOLD_GA, PROTO_OP_CONFIRM,
			       PROTO_OP_RELEASE};
	for (unsigned k = 0; k < sizeof(ops); k++) {
		/* ok with items */
		struct proto_hold_reply body = {.event_id = T_EVENT,
						.part_id = T_PART,
						.hold_id = 0xabcdef,
						.order_id = ops[k] == PROTO_OP_CONFIRM ? 77 : 0,
						.expiry_ms = 1700000600000ull,
						.n_items = ops[k] == PROTO_OP_RELEASE ? 0 : PROTO_ITEMS_MAX};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_OK, &body, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.kind, PROTO_R_HOLD);
		assert_int_equal(r.u.hold.body.hold_id, 0xabcdef);
		assert_int_equal(r.u.hold.body.expiry_ms, 1700000600000ull);
		assert_int_equal(r.u.hold.body.n_items, body.n_items);
		assert_memory_equal(r.u.hold.items, items, 4u * body.n_items);
		/* taken with alternatives */
		struct proto_hold_reply taken = {.event_id = T_EVENT, .part_id = T_PART, .n_alt = 3};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_TAKEN, &taken, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.head.status, DP_S_TAKEN);
		assert_int_equal(r.u.hold.body.n_items, 0);
		assert_int_equal(r.u.hold.body.n_alt, 3);
		assert_memory_equal(r.u.hold.alt, alt, 12);
		/* sold out with available; both arrays full */
		struct proto_hold_reply so = {.available = 3, .n_items = PROTO_ITEMS_MAX, .n_alt = PROTO_ITEMS_MAX};
		proto_buf_init(&b, buf, sizeof(buf));
		t_reply_hold(&b, ops[k], DP_S_SOLD_OUT, &so, items, alt);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.u.hold.body.available, 3);
		assert_memory_equal(r.u.hold.alt, alt, sizeof(alt));
	}
}

void test_rt_reply_seat_map(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], seats[PROTO_SEATMAP_PAGE_MAX];
	for (unsigned i = 0; i < sizeof(seats); i++)
		seats[i] = (uint8_t)((i % 4) | ((i % 64) << 2));
	const uint16_t counts[] = {0, 1, PROTO_SEATMAP_PAGE_MAX};
	for (unsigned k = 0; k < 3; k++) {
		struct proto_buf b;
		struct proto_reply r;
		proto_buf_init(&b, buf, sizeof(buf));
		long at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		struct proto_seat_map_reply body = {.event_id = T_EVENT,
						    .part_id = T_PART,
						    .capacity = 5000,
						    .first = 10,
						    .count = counts[k],
						    .free = 4000,
						    .held = 600,
						    .sold = 400};
		proto_put(&b, &body, sizeof(body));
		proto_put(&b, seats, counts[k]);
		assert_int_equal(proto_end_msg(&b, at), 0);
		assert_true(b.len <= PROTO_DGRAM_MAX);
		t_roundtrip_reply(buf, b.len, &r);
		assert_int_equal(r.kind, PROTO_R_SEAT_MAP);
		assert_int_equal(r.u.seat_map.count, counts[k]);
		assert_int_equal(r.u.seat_map.body.capacity, 5000);
		assert_int_equal(r.u.seat_map.body.sold, 400);
		if (counts[k])
			assert_memory_equal(r.u.seat_map.seats, seats, counts[k]);
	}
}

void test_rt_reply_order(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	const uint32_t items[2] = {4, 5};
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_order_reply body = {.order_id = 1ull << 54,
					 .hold_id = 0x1234,
					 .time_ms = 1700000000000ull,
					 .event_id = T_EVENT,
					 .part_id = T_PART,
					 .kind = ST_KIND_SEAT,
					 .n_items = 2};
	memcpy(body.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);
	proto_put(&b, &body, sizeof(body));
	proto_put(&b, items, sizeof(items));
	assert_int_equal(proto_end_msg(&b, at), 0);
	t_roundtrip_reply(buf, b.len, &r);
	assert_int_equal(r.kind, PROTO_R_ORDER);
	assert_int_equal(r.u.order.body.order_id, 1ull << 54);
	assert_int_equal(r.u.order.body.kind, ST_KIND_SEAT);
	assert_int_equal(r.u.order.body.n_items, 2);
	assert_memory_equal(r.u.order.items, items, sizeof(items));
	assert_memory_equal(r.u.order.body.payment_ref, t_pay, PROTO_PAYMENT_REF_SIZE);
}

/* ---- encoder bounds ---------------------------------------------------- */

void test_encoder_overflow(void **state)
{
	(void)state;
	uint8_t buf[100];
	struct proto_buf b;
	uint32_t seats[2] = {1, 2};
	/* 100 bytes: a 44-byte hold, then a 32-byte release, then no room for 44 */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 1, T_EVENT, T_PART, 2, seats, NULL), 0);
	assert_int_equal(proto_put_release(&b, T_CLIENT, 2, 9), 0);
	assert_int_equal(b.len, 44 + 32);
	uint8_t snapshot[100];
	memcpy(snapshot, buf, b.len);
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 3, T_EVENT, T_PART, 2, seats, NULL), -1);
	assert_int_equal(b.len, 76);
	assert_int_equal(b.overflow, 0);
	assert_memory_equal(buf, snapshot, 76);
	assert_int_equal(proto_put_hold_best(&b, T_CLIENT, 3, T_EVENT, T_PART, 2, 0, t_token), -1);
	assert_int_equal(proto_put_confirm(&b, T_CLIENT, 3, 1, t_pay), -1);
	assert_int_equal(b.len, 76);
	/* the partial message was rolled back: the datagram still decodes whole */
	size_t off = 0;
	struct proto_msg m;
	int hdr_ok;
	assert_int_equal(proto_decode_msg(buf, b.len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(proto_decode_msg(buf, b.len, &off, &m, &hdr_ok), PROTO_OK);
	assert_int_equal(off, b.len);
	/* exactly full is fine */
	assert_int_equal(proto_put_ping(&b, T_CLIENT, 4, NULL, 0), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(proto_put_ping(&b, T_CLIENT, 5, NULL, 0), -1);
	assert_int_equal(b.len, 100);
	/* n over 255 cannot be encoded */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_ga(&b, T_CLIENT, 1, T_EVENT, T_PART, 256, NULL), -1);
	assert_int_equal(proto_put_hold_seats(&b, T_CLIENT, 1, T_EVENT, T_PART, 1, NULL, NULL), -1);
	assert_int_equal(b.len, 0);

	/* low level: overflow is sticky; end refuses after it */
	proto_buf_init(&b, buf, 30);
	long at = proto_begin_msg(&b, PROTO_OP_PING | PROTO_OP_REPLY, 0, 1, 2);
	assert_int_equal(at, 0);
	assert_int_equal(proto_put(&b, buf, 8), -1);
	assert_int_equal(b.overflow, 1);
	assert_int_equal(proto_put(&b, buf, 1), -1);
	assert_int_equal(proto_end_msg(&b, at), -1);
	assert_int_equal(proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2), -1);
	/* bad offsets */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_end_msg(&b, -1), -1);
	assert_int_equal(proto_end_msg(&b, 0), -1); /* no header there */
	at = proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2);
	assert_int_equal(proto_end_msg(&b, at + 1), -1);
	assert_int_equal(proto_end_msg(&b, at), 0);
	/* a body over 65535 bytes cannot be framed */
	static uint8_t big[70000], filler[65536];
	proto_buf_init(&b, big, sizeof(big));
	at = proto_begin_msg(&b, PROTO_OP_PING, 0, 1, 2);
	assert_int_equal(proto_put(&b, filler, sizeof(filler)), 0);
	assert_int_equal(proto_end_msg(&b, at), -1);
	/* a buffer without memory */
	proto_buf_init(&b, NULL, 100);
	assert_int_equal(proto_put_ping(&b, 1, 2, NULL, 0), -1);
	assert_int_equal(b.len, 0);
}

/* ---- reply decoder errors ---------------------------------------------- */

void test_reply_errors(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX];
	struct proto_buf b;
	uint32_t items[PROTO_ITEMS_MAX + 1] = {0};

	/* not stampede: short, bad magic */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	t_rexpect(buf, 23, PROTO_E_NOT_STAMPEDE);
	buf[1] = 0;
	t_rexpect(buf, b.len, PROTO_E_NOT_STAMPEDE);
	/* version */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_GA, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	buf[2] = 2;
	t_rexpect(buf, b.len, PROTO_E_VERSION);
	/* truncated */
	buf[2] = PROTO_VERSION;
	t_rexpect(buf, b.len - 1, PROTO_E_TRUNCATED);
	/* opcode: a request opcode, or an unknown one with a body or another status */
	buf[3] = PROTO_OP_HOLD_GA;
	t_rexpect(buf, b.len, PROTO_E_OPCODE);
	buf[3] = 0xd5;
	t_rexpect(buf, b.len, PROTO_E_OPCODE); /* busy, not bad_request */
	/* flags: none are defined in replies */
	buf[3] = PROTO_OP_HOLD_GA | PROTO_OP_REPLY;
	buf[4] = PROTO_F_TOKEN;
	t_rexpect(buf, b.len, PROTO_E_FLAGS);
	buf[4] = 0;
	t_rexpect(buf, b.len, PROTO_OK);
	/* head fields: status, detail, padding */
	buf[24] = DP_S__COUNT;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[24] = DP_S_BUSY;
	buf[25] = DP_D__COUNT;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[25] = 0;
	buf[26] = 1;
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[26] = 0;
	/* client id 0 only on a bare bad_request */
	memset(buf + 8, 0, 8);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	buf[24] = DP_S_BAD_REQUEST;
	t_rexpect(buf, b.len, PROTO_OK);

	/* body shorter than the head */
	size_t n = t_raw(buf, PROTO_MAGIC, PROTO_VERSION, PROTO_OP_PING | PROTO_OP_REPLY, 0, 7, T_CLIENT, T_REQ,
			 items, 7);
	t_rexpect(buf, n, PROTO_E_BODY_LEN);
	/* ok must carry a body; a queue body has one size */
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	proto_buf_init(&b, buf, sizeof(buf));
	long at = t_reply_begin(&b, PROTO_OP_QUEUE_POLL, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, items, 4);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);

	/* hold body: too short, counts disagree with length, counts too large, padding */
	struct proto_hold_reply hb = {.n_items = 2};
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, &hb, sizeof(hb) - 1);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_HOLD_SEATS, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, &hb, sizeof(hb));
	proto_put(&b, items, 4); /* one item for n_items 2 */
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	hb.n_items = PROTO_ITEMS_MAX + 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_HOLD_SEATS, DP_S_OK, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	hb.n_items = 1;
	hb.n_alt = PROTO_ITEMS_MAX + 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_HOLD_SEATS, DP_S_TAKEN, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);
	hb.n_alt = 0;
	hb._pad = 1;
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_hold(&b, PROTO_OP_CONFIRM, DP_S_OK, &hb, items, items);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* ping body: too short, echo too long, padding */
	uint8_t pb[16 + PROTO_PING_ECHO_MAX + 1] = {0};
	const size_t ping_lens[] = {15, sizeof(pb)};
	for (unsigned k = 0; k < 2; k++) {
		proto_buf_init(&b, buf, sizeof(buf));
		at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		proto_put(&b, pb, ping_lens[k]);
		proto_end_msg(&b, at);
		t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	}
	pb[12] = 1;
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_PING, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, pb, 16);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* seat map body: count disagrees with length, count too large, padding */
	static uint8_t sm[32 + PROTO_SEATMAP_PAGE_MAX + 1];
	struct proto_seat_map_reply smb = {.count = 10};
	memcpy(sm, &smb, sizeof(smb));
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, 32 + 9);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);
	smb.count = PROTO_SEATMAP_PAGE_MAX + 1;
	memcpy(sm, &smb, sizeof(smb));
	uint8_t bigbuf[2048];
	proto_buf_init(&b, bigbuf, sizeof(bigbuf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, sizeof(sm));
	proto_end_msg(&b, at);
	t_rexpect(bigbuf, b.len, PROTO_E_FIELD);
	smb.count = 0;
	smb._pad = 2;
	memcpy(sm, &smb, sizeof(smb));
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_SEAT_MAP, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	proto_put(&b, sm, 32);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_FIELD);

	/* order body: no items, bad kind, padding, length */
	const struct proto_order_reply obs[] = {
		{.kind = ST_KIND_SEAT, .n_items = 0},
		{.kind = 3, .n_items = 1},
		{.kind = ST_KIND_GA, .n_items = 1, ._pad = 1},
		{.kind = ST_KIND_GA, .n_items = PROTO_ITEMS_MAX + 1},
	};
	for (unsigned k = 0; k < sizeof(obs) / sizeof(obs[0]); k++) {
		proto_buf_init(&b, buf, sizeof(buf));
		at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
		proto_put(&b, &obs[k], sizeof(obs[k]));
		proto_put(&b, items, 4u * obs[k].n_items);
		proto_end_msg(&b, at);
		t_rexpect(buf, b.len, PROTO_E_FIELD);
	}
	proto_buf_init(&b, buf, sizeof(buf));
	at = t_reply_begin(&b, PROTO_OP_ORDER, T_CLIENT, DP_S_OK, DP_D_NONE, 0);
	struct proto_order_reply ob = {.kind = ST_KIND_GA, .n_items = 2};
	proto_put(&b, &ob, sizeof(ob));
	proto_put(&b, items, 4);
	proto_end_msg(&b, at);
	t_rexpect(buf, b.len, PROTO_E_BODY_LEN);

	/* a request is not a reply, and a reply is not a request */
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_release(&b, T_CLIENT, T_REQ, 5), 0);
	t_rexpect(buf, b.len, PROTO_E_OPCODE);
	proto_buf_init(&b, buf, sizeof(buf));
	t_reply_status(&b, PROTO_OP_RELEASE, T_CLIENT, DP_S_BUSY, DP_D_NONE, 5);
	t_expect(buf, b.len, PROTO_E_OPCODE, DP_D_BAD_OP);
}

/* ---- the bytes docs/protocol.md shows ---------------------------------- */

static void t_unhex(const char *hex, uint8_t *out, size_t *n)
{
	*n = strlen(hex) / 2;
	for (size_t i = 0; i < *n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* The example datagrams of docs/protocol.md, byte for byte. */
#define DOC_CLIENT 0x0123456789abcdefull
#define DOC_HOLD 0x0100000500000001ull
#define DOC_ORDER 0x0040000000000001ull
#define DOC_EXPIRY 1767226200000ull
#define DOC_PING "5354010100000200efcdab896745230101000000000000006869"
#define DOC_HOLD_SEATS "5354010500001400efcdab896745230102000000000000000700000003000000020000000e0000000f000000"
#define DOC_HOLD_OK "5354018500003800efcdab89674523010200000000000000000000000000000007000000030000000100000005000001" \
	"0000000000000000c0cfe3769b01000000000000020000000e0000000f000000"
#define DOC_CONFIRM "5354010800002800efcdab8967452301030000000000000001000000050000017061792d303030310000000000000000" \
	"00000000000000000000000000000000"
#define DOC_BUSY "5354018500000800efcdab896745230102000000000000000900000005000000"

void test_doc_bytes(void **state)
{
	(void)state;
	uint8_t buf[PROTO_DGRAM_MAX], raw[PROTO_DGRAM_MAX];
	char hex[2 * PROTO_DGRAM_MAX + 1];
	struct proto_buf b;
	size_t n;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, DOC_CLIENT, 1, (const uint8_t *)"hi", 2), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_PING);

	const uint32_t seats[2] = {14, 15};
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_hold_seats(&b, DOC_CLIENT, 2, 7, 3, 2, seats, NULL), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_HOLD_SEATS);

	uint8_t pay[PROTO_PAYMENT_REF_SIZE] = "pay-0001";
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_confirm(&b, DOC_CLIENT, 3, DOC_HOLD, pay), 0);
	t_hex(buf, b.len, hex);
	assert_string_equal(hex, DOC_CONFIRM);

	struct proto_reply r;
	t_unhex(DOC_HOLD_OK, raw, &n);
	t_roundtrip_reply(raw, n, &r);
	assert_int_equal(r.hdr.opcode, PROTO_OP_HOLD_SEATS | PROTO_OP_REPLY);
	assert_int_equal(r.hdr.client_id, DOC_CLIENT);
	assert_int_equal(r.hdr.request_id, 2);
	assert_int_equal(r.head.status, DP_S_OK);
	assert_int_equal(r.kind, PROTO_R_HOLD);
	assert_int_equal(r.u.hold.body.event_id, 7);
	assert_int_equal(r.u.hold.body.part_id, 3);
	assert_int_equal(r.u.hold.body.hold_id, DOC_HOLD);
	assert_int_equal(r.u.hold.body.expiry_ms, DOC_EXPIRY);
	assert_int_equal(r.u.hold.body.n_items, 2);
	assert_memory_equal(r.u.hold.items, seats, sizeof(seats));

	t_unhex(DOC_BUSY, raw, &n);
	t_roundtrip_reply(raw, n, &r);
	assert_int_equal(r.kind, PROTO_R_STATUS);
	assert_int_equal(r.head.status, DP_S_BUSY);
	assert_int_equal(r.head.retry_after_ms, 5);
	assert_int_equal(r.hdr.request_id, 2);
	(void)DOC_ORDER;
}
