/*
 * st_replay.c - recovery: walk the `log` database in batch order inside one
 * read transaction and hand every stored record to the caller.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <lmdb.h>

#include "storage/st_internal.h"

/*
 * Replay the whole log in commit order. Every batch key must be a u64 and
 * every value must decode (st_decode_batch); otherwise MDB_CORRUPTED, after
 * the records that preceded the damage were delivered. Safe while the writer
 * runs: it reads one snapshot.
 */
int st_env_replay(struct st_env *env, st_record_cb cb, void *ctx)
{
	if (env == NULL || cb == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, env->dbi_log, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return st_mdb_err(rc);
	}
	MDB_val k, v;
	int ret = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != sizeof(uint64_t) || v.mv_size == 0) {
			ret = MDB_CORRUPTED;
			break;
		}
		ret = st_decode_batch(v.mv_data, v.mv_size, cb, ctx);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != MDB_NOTFOUND)
		ret = st_mdb_err(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}
