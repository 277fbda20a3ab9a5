/*
 * test_proto.c - cmocka tests of the wire protocol codec (dataplane/dp_proto.c):
 * request and reply round trips of every opcode, every decoder error on a
 * crafted datagram (with *off and hdr_ok), multi-message datagrams and the
 * 32-message bound, encoder overflow and rollback, the bytes docs/protocol.md
 * shows, and a loop of 200,000 random and mutated datagrams (run it under
 * ASan: every datagram ends at the end of its allocation).
 *
 * This file holds main (the one cmocka group, in the original order) and the
 * layout and name tests; the others are in test_proto_requests.c,
 * test_proto_replies.c and test_proto_garbage.c (prototypes in proto_tests.h),
 * the helpers they share in proto_helpers.c.
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
#include "dataplane/dp_engine.h"
#include "dataplane/dp_types.h"

#include "tests/proto/proto_helpers.h"
#include "tests/proto/proto_tests.h"

/* ---- layout and names -------------------------------------------------- */

void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct proto_hdr), 24);
	assert_int_equal(offsetof(struct proto_hdr, body_len), 6);
	assert_int_equal(offsetof(struct proto_hdr, client_id), 8);
	assert_int_equal(offsetof(struct proto_hdr, request_id), 16);
	assert_int_equal(sizeof(struct proto_seat_map), 16);
	assert_int_equal(sizeof(struct proto_hold), 12);
	assert_int_equal(sizeof(struct proto_confirm), 40);
	assert_int_equal(sizeof(struct proto_queue), 8);
	assert_int_equal(sizeof(struct proto_reply_head), 8);
	assert_int_equal(sizeof(struct proto_ping_reply), 16);
	assert_int_equal(sizeof(struct proto_hold_reply), 40);
	assert_int_equal(sizeof(struct proto_seat_map_reply), 32);
	assert_int_equal(sizeof(struct proto_order_reply), 68);
	/* "ST" on the wire */
	uint8_t buf[64];
	struct proto_buf b;
	proto_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(proto_put_ping(&b, 1, 2, NULL, 0), 0);
	assert_int_equal(buf[0], 'S');
	assert_int_equal(buf[1], 'T');
	assert_int_equal(buf[2], PROTO_VERSION);
}

void test_names(void **state)
{
	(void)state;
	const char *seen[PROTO_E_TOO_MANY + 1];
	for (int e = PROTO_OK; e <= PROTO_E_TOO_MANY; e++) {
		seen[e] = proto_err_name((enum proto_err)e);
		assert_string_not_equal(seen[e], "unknown");
		for (int k = 0; k < e; k++)
			assert_string_not_equal(seen[k], seen[e]);
	}
	assert_string_equal(proto_err_name((enum proto_err)99), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_HOLD_SEATS), "hold_seats");
	assert_string_equal(proto_op_name(PROTO_OP_HOLD_SEATS | PROTO_OP_REPLY), "hold_seats_reply");
	for (unsigned op = PROTO_OP_PING; op <= PROTO_OP__MAX; op++) {
		assert_string_not_equal(proto_op_name(op), "unknown");
		assert_string_not_equal(proto_op_name(op | PROTO_OP_REPLY), "unknown");
	}
	assert_string_equal(proto_op_name(0), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP__MAX + 1), "unknown");
	assert_string_equal(proto_op_name(PROTO_OP_REPLY), "unknown");
	assert_string_equal(proto_op_name(0x1ff), "unknown");
	/* every detail has its own name; the token ones are the contract's */
	for (int d = 0; d < DP_D__COUNT; d++) {
		assert_string_not_equal(dp_detail_name(d), "unknown");
		for (int k = 0; k < d; k++)
			assert_string_not_equal(dp_detail_name(k), dp_detail_name(d));
	}
	assert_string_equal(dp_detail_name(DP_D_TOKEN_MALFORMED), "token_malformed");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_UNKNOWN_KEY), "token_unknown_key");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_FORGED), "token_forged");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_WRONG_KIND), "token_wrong_kind");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_WRONG_EVENT), "token_wrong_event");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_WRONG_CLIENT), "token_wrong_client");
	assert_string_equal(dp_detail_name(DP_D_TOKEN_EXPIRED), "token_expired");
	assert_string_equal(dp_detail_name(DP_D__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rt_ping),
		cmocka_unit_test(test_rt_seat_map),
		cmocka_unit_test(test_rt_hold_seats),
		cmocka_unit_test(test_rt_hold_best_ga),
		cmocka_unit_test(test_rt_confirm_release_order),
		cmocka_unit_test(test_rt_queue),
		cmocka_unit_test(test_rt_reply_status),
		cmocka_unit_test(test_rt_reply_ping),
		cmocka_unit_test(test_rt_reply_hold),
		cmocka_unit_test(test_rt_reply_seat_map),
		cmocka_unit_test(test_rt_reply_order),
		cmocka_unit_test(test_rt_reply_queue),
		cmocka_unit_test(test_bad_reply_queue),
		cmocka_unit_test(test_err_not_stampede),
		cmocka_unit_test(test_err_version),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_err_opcode),
		cmocka_unit_test(test_err_flags),
		cmocka_unit_test(test_err_body_len),
		cmocka_unit_test(test_err_field),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_encoder_overflow),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_doc_bytes),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, t_setup, NULL);
}
