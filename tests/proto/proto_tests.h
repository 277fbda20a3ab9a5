/*
 * proto_tests.h - the test functions of the "proto" test executable, one
 * group per source file; main (test_proto.c) lists them in one cmocka group.
 */
#ifndef STAMPEDE_TESTS_PROTO_PROTO_TESTS_H
#define STAMPEDE_TESTS_PROTO_PROTO_TESTS_H

/* test_proto.c */
void test_layout(void **state);
void test_names(void **state);

/* test_proto_requests.c */
void test_rt_ping(void **state);
void test_rt_seat_map(void **state);
void test_rt_hold_seats(void **state);
void test_rt_hold_best_ga(void **state);
void test_rt_confirm_release_order(void **state);
void test_rt_queue(void **state);
void test_err_not_stampede(void **state);
void test_err_version(void **state);
void test_err_truncated(void **state);
void test_err_opcode(void **state);
void test_err_flags(void **state);
void test_err_body_len(void **state);
void test_err_field(void **state);
void test_multi(void **state);

/* test_proto_replies.c */
void test_rt_reply_status(void **state);
void test_rt_reply_ping(void **state);
void test_rt_reply_queue(void **state);
void test_bad_reply_queue(void **state);
void test_rt_reply_hold(void **state);
void test_rt_reply_seat_map(void **state);
void test_rt_reply_order(void **state);
void test_encoder_overflow(void **state);
void test_reply_errors(void **state);
void test_doc_bytes(void **state);

/* test_proto_garbage.c */
void test_garbage(void **state);

#endif
