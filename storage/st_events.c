/*
 * st_events.c - the `events` database: u32 event id -> opaque definition
 * blob, written by the control path (one write transaction per call); and
 * the u32-keyed put/delete that the `events` and `sale` databases share.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <lmdb.h>

#include "storage/st_internal.h"

int st_db_put_u32(struct st_env *env, MDB_dbi dbi, uint32_t key, const void *val, size_t len)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_val k = {.mv_size = sizeof(key), .mv_data = &key};
	MDB_val v = {.mv_size = len, .mv_data = (void *)val};
	rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return st_mdb_err(rc);
	}
	return st_mdb_err(mdb_txn_commit(txn));
}

int st_db_del_u32(struct st_env *env, MDB_dbi dbi, uint32_t key)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_val k = {.mv_size = sizeof(key), .mv_data = &key};
	rc = mdb_del(txn, dbi, &k, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? -ENOENT : st_mdb_err(rc);
	}
	return st_mdb_err(mdb_txn_commit(txn));
}

/* Store or replace one event definition in its own write transaction. */
int st_env_put_event(struct st_env *env, uint32_t event_id, const void *blob, size_t len)
{
	if (env == NULL || (blob == NULL && len != 0))
		return -EINVAL;
	return st_db_put_u32(env, env->dbi_events, event_id, blob, len);
}

/* Remove one event definition; -ENOENT when there is none. */
int st_env_del_event(struct st_env *env, uint32_t event_id)
{
	if (env == NULL)
		return -EINVAL;
	return st_db_del_u32(env, env->dbi_events, event_id);
}

/*
 * Walk every stored event in id order inside one read transaction; the blob
 * pointer is valid only during the callback. Returns 0, the callback's first
 * non-zero value, MDB_CORRUPTED for a malformed key, or an LMDB error.
 */
int st_env_for_each_event(struct st_env *env, st_event_cb cb, void *ctx)
{
	if (env == NULL || cb == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, env->dbi_events, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return st_mdb_err(rc);
	}
	MDB_val k, v;
	int ret = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint32_t event_id;
		if (k.mv_size != sizeof(event_id)) {
			ret = MDB_CORRUPTED;
			break;
		}
		memcpy(&event_id, k.mv_data, sizeof(event_id));
		ret = cb(ctx, event_id, v.mv_data, v.mv_size);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != MDB_NOTFOUND)
		ret = st_mdb_err(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}
