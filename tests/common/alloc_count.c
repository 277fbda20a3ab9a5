/*
 * alloc_count.c - the interposer behind alloc_count.h.
 */
#include <stddef.h>
#include <stdlib.h> /* the prototypes being interposed */

#include "tests/common/alloc_count.h"

volatile int alloc_count_armed;
volatile unsigned long alloc_count_calls;

#ifndef ALLOC_COUNT_OFF
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

/* malloc, counted while armed. */
void *malloc(size_t size)
{
	if (alloc_count_armed)
		alloc_count_calls++;
	return __libc_malloc(size);
}

/* calloc, counted while armed. */
void *calloc(size_t n, size_t size)
{
	if (alloc_count_armed)
		alloc_count_calls++;
	return __libc_calloc(n, size);
}

/* realloc, counted while armed. */
void *realloc(void *p, size_t size)
{
	if (alloc_count_armed)
		alloc_count_calls++;
	return __libc_realloc(p, size);
}
#endif
