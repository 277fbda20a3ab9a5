/*
 * st_error.c - the storage error convention: negative errno values for system
 * and argument errors, LMDB's own MDB_* codes (all below -30000) otherwise.
 */
#include <string.h>

#include <lmdb.h>

#include "storage/st_internal.h"

/*
 * LMDB returns positive errno values for system failures (EIO, ENOSPC, ...)
 * and negative MDB_* codes for its own. Normalise the first kind to negative
 * errno so that every failure of this library is a non-zero value that
 * st_strerror() understands; 0 stays 0.
 */
int st_mdb_err(int rc)
{
	return rc > 0 ? -rc : rc;
}

/*
 * Text for any code this library returns: 0, a negative errno value or an
 * MDB_* code. The string is static (LMDB's or libc's) and must not be freed.
 */
const char *st_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= MDB_KEYEXIST && err <= MDB_LAST_ERRCODE)
		return mdb_strerror(err);
	if (err < 0)
		return strerror(-err);
	return strerror(err);
}
