/*
 * st_decode.c - the on-disk batch format, read side: a `log` value is the
 * concatenation of encoded records (head, then n_items u32 items). Kept free
 * of any other storage code so a fuzzer can build it alone.
 */
#include <assert.h>
#include <string.h>

#include <lmdb.h>

#include "storage/st.h"

/* A head is well-formed when every field the layout depends on is in range. */
static int st_decode_check_head(const struct st_record *rec)
{
	if (rec->type < ST_REC_HOLD || rec->type > ST_REC_EXPIRE)
		return MDB_CORRUPTED;
	if (rec->kind != ST_KIND_SEAT && rec->kind != ST_KIND_GA)
		return MDB_CORRUPTED;
	if (rec->n_items > ST_HOLD_ITEMS_MAX)
		return MDB_CORRUPTED;
	if (rec->worker >= ST_WORKERS_MAX)
		return MDB_CORRUPTED;
	return 0;
}

/*
 * Decode one batch value record by record and call cb for each, with a
 * properly aligned copy whose unused items are zero. The buffer need not be
 * aligned. Returns 0 when the whole buffer decoded, MDB_CORRUPTED at the
 * first malformed or truncated record (records before it were delivered), or
 * the first non-zero value of cb.
 */
int st_decode_batch(const void *buf, size_t len, st_record_cb cb, void *ctx)
{
	assert(cb != NULL);
	assert(buf != NULL || len == 0);
	const unsigned char *p = buf;
	size_t off = 0;
	while (off < len) {
		size_t left = len - off;
		struct st_record rec;
		if (left < ST_RECORD_HEAD_SIZE)
			return MDB_CORRUPTED;
		memset(&rec, 0, sizeof(rec));
		memcpy(&rec, p + off, ST_RECORD_HEAD_SIZE);
		if (st_decode_check_head(&rec) != 0)
			return MDB_CORRUPTED;
		size_t size = st_record_encoded_size(&rec);
		if (size > left)
			return MDB_CORRUPTED;
		memcpy(rec.items, p + off + ST_RECORD_HEAD_SIZE, size - ST_RECORD_HEAD_SIZE);
		off += size;
		assert(off <= len);
		int rc = cb(ctx, &rec);
		if (rc != 0)
			return rc;
	}
	assert(off == len);
	return 0;
}
