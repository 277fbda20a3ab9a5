/*
 * ctl_ledger.c - opening the dataplane's LMDB environment read-only,
 * following the `log` database batch by batch, and the queries on live holds
 * (ctl_ledger.h). Event definitions and export are in ctl_ledger_events.c,
 * the tables in ctl_ledger_table.c.
 */
#define _GNU_SOURCE 1
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "control/ctl_ledger_internal.h"
#include "storage/st.h"

/* Same names as storage/st_internal.h (the writer's side of the contract). */
#define CTL_LEDGER_DB_LOG "log"
#define CTL_LEDGER_DB_EVENTS "events"
#define CTL_LEDGER_MAXDBS 8
#define CTL_LEDGER_FILE_MODE 0640
#define CTL_LEDGER_PATH_BYTES 4096 /* dir + "/data.mdb" */

static void ctl_ledger_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* printf into err (errlen bytes); err may be NULL (nothing written). */
static void ctl_ledger_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* LMDB reports system errors as positive errno values: make them negative. */
static int ctl_ledger_mdb_err(int rc)
{
	return rc > 0 ? -rc : rc;
}

/* Begin a read transaction, adopting a map the writer has grown meanwhile. */
static int ctl_ledger_txn(struct ctl_ledger *l, MDB_txn **txn)
{
	int rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		rc = mdb_env_set_mapsize(l->mdb, 0);
		if (rc == 0)
			rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, txn);
	}
	return ctl_ledger_mdb_err(rc);
}

/* Open the two databases in one read transaction (committed, so the handles
 * outlive it). MDB_NOTFOUND (never created) becomes -ENOENT. */
static int ctl_ledger_open_dbs(struct ctl_ledger *l, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc = ctl_ledger_txn(l, &txn);
	if (rc != 0) {
		ctl_ledger_errf(err, errlen, "read transaction: %s", st_strerror(rc));
		return rc;
	}
	const char *name = CTL_LEDGER_DB_LOG;
	rc = mdb_dbi_open(txn, name, MDB_INTEGERKEY, &l->dbi_log);
	if (rc == 0) {
		name = CTL_LEDGER_DB_EVENTS;
		rc = mdb_dbi_open(txn, name, MDB_INTEGERKEY, &l->dbi_events);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		ctl_ledger_errf(err, errlen, "database '%s': %s", name,
				rc == MDB_NOTFOUND ? "not created yet (has the dataplane run on this directory?)"
						   : mdb_strerror(rc));
		return rc == MDB_NOTFOUND ? -ENOENT : ctl_ledger_mdb_err(rc);
	}
	return ctl_ledger_mdb_err(mdb_txn_commit(txn));
}

/* Open dir's environment read-only (see ctl_ledger.h for the errors). */
int ctl_ledger_open(const char *dir, struct ctl_ledger **out, char *err, size_t errlen)
{
	assert(out != NULL);
	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
		ctl_ledger_errf(err, errlen, "no data directory given");
		return -EINVAL;
	}
	char path[CTL_LEDGER_PATH_BYTES];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path)) {
		ctl_ledger_errf(err, errlen, "data directory path too long");
		return -EINVAL;
	}
	if (stat(path, &st) != 0) {
		int e = errno;
		ctl_ledger_errf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	struct ctl_ledger *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		ctl_ledger_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = mdb_env_create(&l->mdb);
	if (rc != 0) {
		free(l);
		ctl_ledger_errf(err, errlen, "mdb_env_create: %s", mdb_strerror(rc));
		return ctl_ledger_mdb_err(rc);
	}
	rc = mdb_env_set_maxdbs(l->mdb, CTL_LEDGER_MAXDBS);
	/* MDB_RDONLY: never writes the data file (the lock file is shared with
	 * the writer, as LMDB requires of every process). */
	if (rc == 0)
		rc = mdb_env_open(l->mdb, dir, MDB_RDONLY | MDB_NOTLS, CTL_LEDGER_FILE_MODE);
	if (rc != 0) {
		ctl_ledger_errf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		ctl_ledger_close(l);
		return ctl_ledger_mdb_err(rc);
	}
	int dead = 0;
	(void)mdb_reader_check(l->mdb, &dead); /* best effort: a failure only leaves stale slots */
	if (dead > 0)
		ctl_ledger_errf(err, errlen, "cleared %d reader slot(s) of dead processes", dead);
	rc = ctl_ledger_open_dbs(l, err, errlen);
	if (rc != 0) {
		ctl_ledger_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* Close the environment and free every table; l may be NULL. */
void ctl_ledger_close(struct ctl_ledger *l)
{
	if (l == NULL)
		return;
	ctl_le_free_all(l);
	ctl_lt_free(&l->lt);
	if (l->mdb != NULL)
		mdb_env_close(l->mdb);
	free(l);
}

/* ---- following the log ---------------------------------------------------- */

/* What a batch would do, counted before anything of it is applied. */
struct ctl_ledger_scan {
	size_t records;
	size_t holds;
	size_t confirms;
	bool zero_id;
};

/* First pass over a batch: count holds and confirms, refuse hold id 0. ctx is
 * a struct ctl_ledger_scan. */
static int ctl_ledger_scan_cb(void *ctx, const struct st_record *rec)
{
	struct ctl_ledger_scan *s = ctx;
	s->records++;
	if (rec->hold_id == 0) {
		s->zero_id = true;
		return MDB_CORRUPTED;
	}
	if (rec->type == ST_REC_HOLD)
		s->holds++;
	else if (rec->type == ST_REC_CONFIRM)
		s->confirms++;
	return 0;
}

/* Apply one decoded record. Room was reserved: this cannot fail. */
static int ctl_ledger_apply_cb(void *ctx, const struct st_record *rec)
{
	struct ctl_ledger *l = ctx;
	struct ctl_lt *t = &l->lt;
	if (rec->type == ST_REC_HOLD) {
		struct ctl_hold h;
		memset(&h, 0, sizeof(h));
		h.hold_id = rec->hold_id;
		h.client_id = rec->client_id;
		h.created_ms = rec->time_ms;
		h.expiry_ms = rec->expiry_ms;
		h.event_id = rec->event_id;
		h.part_id = rec->part_id;
		h.kind = rec->kind;
		h.n_items = rec->n_items;
		memcpy(h.items, rec->items, sizeof(h.items));
		if (ctl_lt_put(t, &h))
			l->stats.holds_repeated++;
	} else {
		struct ctl_hold h;
		bool known = ctl_lt_del(t, rec->hold_id, &h);
		if (!known)
			l->stats.ended_unknown++;
		if (rec->type == ST_REC_CONFIRM) {
			struct ctl_order o;
			memset(&o, 0, sizeof(o));
			o.order_id = rec->order_id;
			o.hold_id = rec->hold_id;
			o.client_id = known ? h.client_id : rec->client_id;
			o.time_ms = rec->time_ms;
			o.event_id = rec->event_id;
			o.part_id = rec->part_id;
			o.kind = rec->kind;
			if (known) {
				o.n_items = h.n_items;
				memcpy(o.items, h.items, sizeof(o.items));
			}
			ctl_lt_order(t, &o);
		}
	}
	l->stats.records++;
	if (rec->time_ms > l->stats.last_record_ms)
		l->stats.last_record_ms = rec->time_ms;
	return 0;
}

/* Check, reserve for, then apply one batch value. */
static int ctl_ledger_apply_batch(struct ctl_ledger *l, uint64_t key, const MDB_val *v, char *err,
				  size_t errlen)
{
	struct ctl_ledger_scan s = {0};
	int rc = st_decode_batch(v->mv_data, v->mv_size, ctl_ledger_scan_cb, &s);
	if (rc != 0) {
		ctl_ledger_errf(err, errlen, "log batch %llu (%zu bytes): record %zu %s",
				(unsigned long long)key, v->mv_size, s.records + (s.zero_id ? 0 : 1),
				s.zero_id ? "has hold id 0" : "does not decode");
		return MDB_CORRUPTED;
	}
	if (l->lt.live + s.holds > CTL_LEDGER_HOLDS_MAX) {
		ctl_ledger_errf(err, errlen, "log batch %llu: more than CTL_LEDGER_HOLDS_MAX (%u) live holds",
				(unsigned long long)key, CTL_LEDGER_HOLDS_MAX);
		return -ENOSPC;
	}
	if (l->lt.orders_n + s.confirms > CTL_LEDGER_ORDERS_MAX) {
		ctl_ledger_errf(err, errlen, "log batch %llu: more than CTL_LEDGER_ORDERS_MAX (%u) orders",
				(unsigned long long)key, CTL_LEDGER_ORDERS_MAX);
		return -ENOSPC;
	}
	rc = ctl_lt_reserve(&l->lt, s.holds, s.confirms);
	if (rc != 0) {
		ctl_ledger_errf(err, errlen, "log batch %llu: out of memory", (unsigned long long)key);
		return rc;
	}
	rc = st_decode_batch(v->mv_data, v->mv_size, ctl_ledger_apply_cb, l);
	assert(rc == 0);
	l->stats.last_batch = key;
	return 0;
}

/* One read transaction: up to CTL_LEDGER_FOLLOW_BATCHES_MAX batches after
 * last_batch. *batches gets how many were applied. */
static int ctl_ledger_follow_txn(struct ctl_ledger *l, unsigned *batches, char *err, size_t errlen)
{
	*batches = 0;
	MDB_txn *txn;
	int rc = ctl_ledger_txn(l, &txn);
	if (rc != 0) {
		ctl_ledger_errf(err, errlen, "read transaction: %s", st_strerror(rc));
		return rc;
	}
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, l->dbi_log, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		ctl_ledger_errf(err, errlen, "log cursor: %s", mdb_strerror(rc));
		return ctl_ledger_mdb_err(rc);
	}
	uint64_t from = l->stats.last_batch + 1;
	MDB_val k = {.mv_size = sizeof(from), .mv_data = &from}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && *batches < CTL_LEDGER_FOLLOW_BATCHES_MAX) {
		uint64_t key;
		if (k.mv_size != sizeof(key)) {
			ctl_ledger_errf(err, errlen, "log key after batch %llu is %zu bytes, not 8",
					(unsigned long long)l->stats.last_batch, k.mv_size);
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(&key, k.mv_data, sizeof(key));
		rc = ctl_ledger_apply_batch(l, key, &v, err, errlen);
		if (rc != 0)
			break;
		(*batches)++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0) {
		ctl_ledger_errf(err, errlen, "log read: %s", mdb_strerror(rc));
		rc = -rc;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn); /* read-only: nothing to commit; frees the reader slot */
	return rc;
}

/* Follow the log to its end (ctl_ledger.h). */
long long ctl_ledger_follow(struct ctl_ledger *l, char *err, size_t errlen)
{
	assert(l != NULL);
	uint64_t before = l->stats.records;
	for (;;) {
		unsigned batches;
		int rc = ctl_ledger_follow_txn(l, &batches, err, errlen);
		if (rc != 0)
			return rc;
		if (batches < CTL_LEDGER_FOLLOW_BATCHES_MAX)
			break;
	}
	return (long long)(l->stats.records - before);
}

/* Copy the counters; l and out non-NULL. */
void ctl_ledger_stats(const struct ctl_ledger *l, struct ctl_ledger_stats *out)
{
	assert(l != NULL && out != NULL);
	*out = l->stats;
	out->holds_live = l->lt.live;
	out->orders = l->lt.orders_n;
	out->events = l->n_events;
}

/* Whether hold_id is live; l non-NULL, any id. */
bool ctl_ledger_hold_live(const struct ctl_ledger *l, uint64_t hold_id)
{
	return ctl_lt_get(&l->lt, hold_id) != NULL;
}

/* Due holds into ids (max entries); see ctl_ledger.h. */
size_t ctl_ledger_due(struct ctl_ledger *l, uint64_t now_ms, uint64_t *ids, size_t max)
{
	assert(l != NULL && (ids != NULL || max == 0));
	return ctl_lt_due(&l->lt, now_ms, ids, max);
}

/* ---- live-hold queries ----------------------------------------------------- */

/* Whether live hold h passes filter f (NULL: every hold). */
static bool ctl_ledger_match(const struct ctl_hold *h, const struct ctl_hold_filter *f)
{
	if (f == NULL)
		return true;
	if (f->event_id != 0 && h->event_id != f->event_id)
		return false;
	if (f->part_id != 0 && h->part_id != f->part_id)
		return false;
	if (f->older_than_ms != 0 && (h->created_ms + f->older_than_ms > f->now_ms))
		return false;
	return true;
}

/* qsort order of hold pointers: created_ms, then hold_id. */
static int ctl_ledger_hold_cmp(const void *a, const void *b)
{
	const struct ctl_hold *x = *(const struct ctl_hold *const *)a;
	const struct ctl_hold *y = *(const struct ctl_hold *const *)b;
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return x->hold_id < y->hold_id ? -1 : x->hold_id > y->hold_id;
}

/* Matching holds, oldest first (ctl_ledger.h). */
int ctl_ledger_holds(const struct ctl_ledger *l, const struct ctl_hold_filter *f, ctl_hold_cb cb, void *ctx)
{
	assert(l != NULL && cb != NULL);
	const struct ctl_lt *t = &l->lt;
	if (t->live == 0)
		return 0;
	const struct ctl_hold **sel = malloc(t->live * sizeof(*sel));
	if (sel == NULL)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++) {
		const struct ctl_hold *h = &t->slots[i].h;
		if (h->hold_id != 0 && ctl_ledger_match(h, f))
			sel[n++] = h;
	}
	qsort(sel, n, sizeof(*sel), ctl_ledger_hold_cmp);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct ctl_hold copy = *sel[i];
		rc = cb(ctx, &copy);
	}
	free(sel);
	return rc;
}
