/*
 * fuzz_replay.c - libFuzzer target: arbitrary bytes as one stored `log` batch
 * value, fed to the replay decoder. It must answer 0 or MDB_CORRUPTED, never
 * crash, never read past the buffer, and only deliver well-formed records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <lmdb.h>

#include "storage/st.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_check_record(void *ctx, const struct st_record *rec)
{
	size_t *n = ctx;
	if (rec->type < ST_REC_HOLD || rec->type > ST_REC_EXPIRE)
		abort();
	if (rec->kind != ST_KIND_SEAT && rec->kind != ST_KIND_GA)
		abort();
	if (rec->n_items > ST_HOLD_ITEMS_MAX || rec->worker >= ST_WORKERS_MAX)
		abort();
	for (unsigned i = rec->n_items; i < ST_HOLD_ITEMS_MAX; i++)
		if (rec->items[i] != 0)
			abort();
	(*n)++;
	return 0;
}

/* One input = one batch value. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	int rc = st_decode_batch(data, size, fuzz_check_record, &n);
	if (rc != 0 && rc != MDB_CORRUPTED)
		abort();
	if (rc == 0 && size > 0 && n == 0)
		abort();
	return 0;
}
