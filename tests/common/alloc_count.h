/*
 * alloc_count.h - counts the allocations a test makes while armed, by
 * interposing malloc/calloc/realloc in the test executable (forwarding to
 * glibc's __libc_* functions). Link tests/common/alloc_count.c into the
 * executable. A sanitizer runtime must own the allocator, so sanitized builds
 * compile with ALLOC_COUNT_OFF: nothing is interposed and a test that needs
 * the count skips itself.
 */
#ifndef STAMPEDE_TESTS_ALLOC_COUNT_H
#define STAMPEDE_TESTS_ALLOC_COUNT_H

extern volatile int alloc_count_armed;           /* count while non-zero */
extern volatile unsigned long alloc_count_calls; /* malloc + calloc + realloc while armed */

#endif
