/*
 * st_sale.c - the `sale` database: u32 event id -> struct st_sale, an
 * event's sale state and waiting-room settings. Written by the control path,
 * one write transaction per call; read at recovery.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <lmdb.h>

#include "storage/st_internal.h"

/* Store or replace the sale settings of event_id. sale must not be NULL and
 * must carry ST_SALE_VERSION. */
int st_env_put_sale(struct st_env *env, uint32_t event_id, const struct st_sale *sale)
{
	if (env == NULL || sale == NULL || sale->version != ST_SALE_VERSION)
		return -EINVAL;
	return st_db_put_u32(env, env->dbi_sale, event_id, sale, sizeof(*sale));
}

/* Read the sale settings of event_id into *out (in a read transaction of its
 * own). */
int st_env_get_sale(struct st_env *env, uint32_t event_id, struct st_sale *out)
{
	if (env == NULL || out == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_val k = {.mv_size = sizeof(event_id), .mv_data = &event_id};
	MDB_val v;
	rc = mdb_get(txn, env->dbi_sale, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rc = -ENOENT;
	} else if (rc != 0) {
		rc = st_mdb_err(rc);
	} else if (v.mv_size == ST_SALE_V1_SIZE) {
		/* version 1: same first fields, then reserved zeros; upgraded in memory */
		memset(out, 0, sizeof(*out));
		memcpy(out, v.mv_data, ST_SALE_V1_SIZE);
		rc = out->version == 1 ? 0 : MDB_CORRUPTED;
		memset((uint8_t *)out + offsetof(struct st_sale, wr_mode), 0,
		       sizeof(*out) - offsetof(struct st_sale, wr_mode));
		out->version = ST_SALE_VERSION;
	} else if (v.mv_size != sizeof(*out)) {
		rc = MDB_CORRUPTED;
	} else {
		memcpy(out, v.mv_data, sizeof(*out));
		rc = out->version == ST_SALE_VERSION ? 0 : MDB_CORRUPTED;
	}
	mdb_txn_abort(txn);
	return rc;
}

/* Remove the sale settings of event_id; -ENOENT when there are none. */
int st_env_del_sale(struct st_env *env, uint32_t event_id)
{
	if (env == NULL)
		return -EINVAL;
	return st_db_del_u32(env, env->dbi_sale, event_id);
}
