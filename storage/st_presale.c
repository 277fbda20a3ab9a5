/*
 * st_presale.c - the `presale` database (one key per redemption: event id
 * u32 big-endian, the code's bytes, 0, client id u64 big-endian; empty
 * value) and the `presale_def` database (u32 event id -> the event's presale
 * windows blob). Written by the dataplane's control thread in write
 * transactions of their own; read at load and recovery.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "storage/st_internal.h"

#define KEY_MAX (4 + ST_PRESALE_CODE_MAX + 1 + 8)

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The key of u into k (KEY_MAX bytes); its length, or 0 for a bad code length. */
static size_t key_of(const struct st_presale_use *u, uint8_t *k)
{
	if (u->code_len == 0 || u->code_len > ST_PRESALE_CODE_MAX)
		return 0;
	put_be32(k, u->event_id);
	memcpy(k + 4, u->code, u->code_len);
	k[4 + u->code_len] = 0;
	put_be64(k + 5 + u->code_len, u->client_id);
	return 13u + u->code_len;
}

/* Decode key k (n bytes) into *u: 0, or MDB_CORRUPTED. */
static int key_decode(const uint8_t *k, size_t n, struct st_presale_use *u)
{
	if (n < 14 || n > KEY_MAX || k[n - 9] != 0)
		return MDB_CORRUPTED;
	memset(u, 0, sizeof(*u));
	u->event_id = (uint32_t)get_be(k, 4);
	u->code_len = (uint8_t)(n - 13);
	if (memchr(k + 4, 0, u->code_len))
		return MDB_CORRUPTED;
	memcpy(u->code, k + 4, u->code_len);
	u->client_id = get_be(k + n - 8, 8);
	return 0;
}

int st_env_put_presale(struct st_env *env, const struct st_presale_use *uses, size_t n)
{
	if (env == NULL || (uses == NULL && n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (uses[i].code_len == 0 || uses[i].code_len > ST_PRESALE_CODE_MAX)
			return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t k[KEY_MAX];
		MDB_val kv = {.mv_size = key_of(&uses[i], k), .mv_data = k};
		MDB_val v = {.mv_size = 0, .mv_data = k};
		rc = mdb_put(txn, env->dbi_presale, &kv, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return st_mdb_err(rc);
	}
	return st_mdb_err(mdb_txn_commit(txn));
}

/* Walk the keys of event_id in txn; del: delete each; else call cb. */
static int walk(struct st_env *env, MDB_txn *txn, uint32_t event_id, int del, st_presale_cb cb, void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, env->dbi_presale, &cur);
	if (rc != 0)
		return st_mdb_err(rc);
	uint8_t prefix[4];
	put_be32(prefix, event_id);
	MDB_val k = {.mv_size = sizeof(prefix), .mv_data = prefix}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	int out = 0; /* the callback's stop value, or a decode error */
	while (rc == 0) {
		if (k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0)
			break;
		struct st_presale_use u;
		out = key_decode(k.mv_data, k.mv_size, &u);
		if (out == 0 && !del)
			out = cb(ctx, &u);
		if (out != 0)
			break;
		if (del)
			rc = mdb_cursor_del(cur, 0);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (out != 0)
		return out;
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : st_mdb_err(rc);
}

int st_env_for_each_presale(struct st_env *env, uint32_t event_id, st_presale_cb cb, void *ctx)
{
	if (env == NULL || cb == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	rc = walk(env, txn, event_id, 0, cb, ctx);
	mdb_txn_abort(txn);
	return rc;
}

int st_env_del_presale(struct st_env *env, uint32_t event_id)
{
	if (env == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, 0, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	rc = walk(env, txn, event_id, 1, NULL, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return st_mdb_err(mdb_txn_commit(txn));
}

int st_env_put_presale_def(struct st_env *env, uint32_t event_id, const void *blob, size_t len)
{
	if (env == NULL || (blob == NULL && len != 0))
		return -EINVAL;
	return st_db_put_u32(env, env->dbi_presale_def, event_id, blob, len);
}

int st_env_get_presale_def(struct st_env *env, uint32_t event_id, void **blob, size_t *len)
{
	if (env == NULL || blob == NULL || len == NULL)
		return -EINVAL;
	MDB_txn *txn;
	int rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return st_mdb_err(rc);
	MDB_val k = {.mv_size = sizeof(event_id), .mv_data = &event_id}, v;
	rc = mdb_get(txn, env->dbi_presale_def, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rc = -ENOENT;
	} else if (rc != 0) {
		rc = st_mdb_err(rc);
	} else {
		*blob = malloc(v.mv_size ? v.mv_size : 1);
		if (*blob) {
			memcpy(*blob, v.mv_data, v.mv_size);
			*len = v.mv_size;
		} else {
			rc = -ENOMEM;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

int st_env_del_presale_def(struct st_env *env, uint32_t event_id)
{
	if (env == NULL)
		return -EINVAL;
	return st_db_del_u32(env, env->dbi_presale_def, event_id);
}
