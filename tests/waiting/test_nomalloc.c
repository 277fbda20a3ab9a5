/*
 * test_nomalloc.c - mint and verify allocate nothing (they run on poll-mode
 * cores). This executable defines malloc, calloc and realloc itself,
 * forwarding to glibc's __libc_* functions and counting calls while armed (tests/common/alloc_count.c),
 * and asserts zero allocations across 100,000 mint + verify pairs.
 *
 * Under ASan (and the other sanitizers' runtimes) the test is skipped: ASan
 * must own malloc to track memory, and a second definition here would
 * either clash with its interceptors or hide allocations from it. meson
 * passes ALLOC_COUNT_OFF in sanitized builds.
 *
 * A second test proves "no system call": a child process enters seccomp
 * strict mode (only read, write, exit and sigreturn allowed; anything else
 * kills it with SIGKILL), runs the same loop, and reports through a pipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <unistd.h>

#include "dataplane/dp_token.h"
#include "tests/waiting/waiting_helpers.h"
#include "tests/common/alloc_count.h"
#include "tests/common/no_syscall.h"

#define NOMALLOC_CALLS 100000


static void test_mint_verify_allocate_nothing(void **state)
{
	(void)state;
#ifdef ALLOC_COUNT_OFF
	skip(); /* sanitized build: see the comment at the top */
#else
	uint8_t s1[DP_KEY_SIZE], s2[DP_KEY_SIZE];
	w_secret(1, s1);
	w_secret(2, s2);
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	assert_int_equal(dp_keys_add(ks, 2, s2), 0);
	assert_int_equal(dp_keys_add(ks, 1, s1), 0);

	/* The interposer works: an allocation while armed is counted. */
	alloc_count_armed = 1;
	void *volatile probe = malloc(16); /* volatile: not optimised away */
	alloc_count_armed = 0;
	assert_non_null(probe);
	free(probe);
	assert_int_equal(alloc_count_calls, 1);
	alloc_count_calls = 0;

	struct dp_token_fields f = w_access(), out;
	uint8_t tok[DP_TOKEN_SIZE];
	unsigned long ok = 0, refused = 0;
	alloc_count_armed = 1;
	for (unsigned i = 0; i < NOMALLOC_CALLS; i++) {
		f.client_id = 1000 + i;
		f.kind = (uint8_t)(1 + i % 2);
		if (dp_token_mint(ks, &f, tok) != 0)
			break;
		if (i % 3 == 0)
			tok[40] ^= 1; /* the forged path too */
		if (dp_token_verify(ks, tok, f.kind, f.event_id, f.client_id, 1000, &out) == DP_TOKEN_OK)
			ok++;
		else
			refused++;
	}
	alloc_count_armed = 0;
	assert_int_equal(alloc_count_calls, 0);
	assert_int_equal(ok + refused, NOMALLOC_CALLS);
	assert_int_equal(refused, (NOMALLOC_CALLS + 2) / 3);
	dp_keys_free(ks);
#endif
}

#ifndef ALLOC_COUNT_OFF
/* mint + verify NOMALLOC_CALLS times; returns the number verified ok. */
static unsigned long mint_verify_loop(const struct dp_keys *ks)
{
	struct dp_token_fields f = w_ticket();
	uint8_t tok[DP_TOKEN_SIZE];
	unsigned long ok = 0;
	for (unsigned i = 0; i < NOMALLOC_CALLS; i++) {
		f.position = i;
		if (dp_token_mint(ks, &f, tok) != 0)
			return 0;
		if (i % 2)
			tok[50] ^= 0x80;
		ok += dp_token_verify(ks, tok, DP_TOKEN_TICKET, f.event_id, f.client_id, 0, NULL) == DP_TOKEN_OK;
	}
	return ok;
}

/* mint_verify_loop for no_syscall_run (arg: the struct dp_keys). */
static unsigned long mint_verify_child(void *arg)
{
	return mint_verify_loop(arg);
}
#endif

static void test_mint_verify_make_no_syscall(void **state)
{
	(void)state;
#ifdef ALLOC_COUNT_OFF
	skip(); /* sanitizer runtimes make their own system calls (e.g. shadow memory mapping) */
#else
	uint8_t s1[DP_KEY_SIZE];
	w_secret(3, s1);
	struct dp_keys *ks = dp_keys_new();
	assert_non_null(ks);
	assert_int_equal(dp_keys_add(ks, 4, s1), 0);
	unsigned long in_child = 0;
	const int killed = no_syscall_run(mint_verify_child, ks, &in_child);
	if (killed > 0)
		fail_msg("child killed by signal %d: a system call in mint/verify", killed);
	assert_int_equal(killed, 0);
	assert_int_equal(in_child, NOMALLOC_CALLS / 2);
	dp_keys_free(ks);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_verify_allocate_nothing),
		cmocka_unit_test(test_mint_verify_make_no_syscall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
