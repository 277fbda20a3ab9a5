/*
 * engine_tests.h - the test functions of the "engine" test executable, one
 * group per source file; main (test_engine.c) lists them in one cmocka group.
 */
#ifndef STAMPEDE_TESTS_ENGINE_ENGINE_TESTS_H
#define STAMPEDE_TESTS_ENGINE_ENGINE_TESTS_H

/* test_engine.c */
void test_initial_counts(void **state);
void test_hold_seats_basic(void **state);
void test_hold_seats_taken_alt(void **state);
void test_hold_seats_withheld(void **state);
void test_hold_best_adjacent(void **state);
void test_hold_best_no_split(void **state);

/* test_engine_ga.c */
void test_hold_ga_basic(void **state);
void test_ga_rebalance_sellout(void **state);
void test_ga_two_needy_slices(void **state);
void test_ga_transfer_1_to_0_recover(void **state);
void test_ga_transfer_0_to_1_recover(void **state);

/* test_engine_ops.c */
void test_confirm(void **state);
void test_confirm_expired(void **state);
void test_release(void **state);
void test_not_yours(void **state);
void test_unknown_hold(void **state);
void test_expire_all(void **state);
void test_expire_tick(void **state);
void test_buyer_limit(void **state);
void test_idempotency(void **state);
void test_idem_horizon(void **state);
void test_buyer_limit_two_workers(void **state);
void test_tables_full(void **state);
void test_log_full_busy(void **state);
void test_remove_event(void **state);

/* test_engine_recovery.c */
void test_recovery(void **state);
void test_hold_slot_reuse(void **state);

/* test_engine_control.c */
void test_sale_states(void **state);
void test_sale_scheduled(void **state);
void test_sale_durable(void **state);
void test_reload_keeps_holds(void **state);
void test_reload_layout_refused(void **state);
void test_end_hold(void **state);
void test_event_counters(void **state);

#endif
