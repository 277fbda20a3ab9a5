/*
 * dp_presale_ctl.c - presale windows on the control path: building an
 * event's table at load and recovery (the windows stored in `presale_def`,
 * the redemptions in `presale`), storing new redemptions (the control
 * thread's flush), and the readers behind the `presale` control command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_internal.h"

int dp_presale_prepare(struct dp_engine *eng, uint32_t event_id, const struct dp_presale_def *def,
		       struct dp_presale **out, char *err, size_t errlen)
{
	int rc = dp_presale_build(def, event_id, eng->env, out, err, errlen);
	if (rc)
		return rc;
	if (!*out) {
		rc = st_env_del_presale_def(eng->env, event_id);
		return rc == -ENOENT ? 0 : rc;
	}
	void *blob;
	size_t len;
	rc = dp_presale_def_encode(def, &blob, &len);
	if (rc == 0) {
		rc = st_env_put_presale_def(eng->env, event_id, blob, len);
		free(blob);
	}
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "event %u: storing the presale windows failed: %s", event_id,
				 st_strerror(rc));
		dp_presale_free(*out);
		*out = NULL;
	}
	return rc;
}

int dp_presale_recover(struct dp_engine *eng, struct dp_event *ev)
{
	void *blob;
	size_t len;
	int rc = st_env_get_presale_def(eng->env, ev->id, &blob, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	struct dp_presale_def def;
	struct dp_presale_code *mem;
	rc = dp_presale_def_decode(blob, len, &def, &mem);
	free(blob);
	if (rc) {
		fprintf(stderr, "stampede: stored presale windows of event %u do not decode\n", ev->id);
		return rc;
	}
	char err[256];
	struct dp_presale *ps;
	rc = dp_presale_build(&def, ev->id, eng->env, &ps, err, sizeof(err));
	free(mem);
	if (rc) {
		fprintf(stderr, "stampede: presale windows of event %u: %s\n", ev->id, rc == -EINVAL ? err : st_strerror(rc));
		return rc;
	}
	dp_presale_free(ev->presale);
	rcu_assign_pointer(ev->presale, ps);
	return 0;
}

int dp_presale_same(const struct dp_event *ev, const struct dp_presale_def *def)
{
	const struct dp_presale *ps = ev->presale;
	const uint64_t f = dp_presale_def_fingerprint(def);
	return ps ? f == ps->fingerprint : f == 0;
}

int dp_presale_flush(struct dp_engine *eng, uint64_t *pending_out)
{
	const struct dp_catalog *cat = rcu_dereference(eng->catalog);
	int first = 0;
	uint64_t pending = 0;
	for (uint32_t i = 0; i < cat->n; i++) {
		struct dp_event *ev = cat->ev[i];
		struct dp_presale *ps = rcu_dereference(ev->presale);
		if (!ps || dp_presale_table_pending(ps) == 0)
			continue;
		int rc = dp_presale_flush_table(eng->env, ev->id, ps, NULL);
		if (rc && !first)
			first = rc;
		pending += dp_presale_table_pending(ps);
	}
	if (pending_out)
		*pending_out = pending;
	return first;
}

uint64_t dp_presale_pending(struct dp_engine *eng)
{
	const struct dp_catalog *cat = rcu_dereference(eng->catalog);
	uint64_t pending = 0;
	for (uint32_t i = 0; i < cat->n; i++) {
		const struct dp_presale *ps = rcu_dereference(cat->ev[i]->presale);
		if (ps)
			pending += dp_presale_table_pending(ps);
	}
	return pending;
}

int dp_presale_get(struct dp_engine *eng, uint32_t event_id, struct dp_presale_view *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	const struct dp_presale *ps = rcu_dereference(ev->presale);
	if (!ps)
		return 0;
	out->n_windows = ps->n_windows;
	out->n_codes = ps->n_codes;
	for (uint32_t w = 0; w < ps->n_windows; w++) {
		memcpy(out->w[w].name, ps->win[w].name, DP_NAME_MAX);
		out->w[w].start_ms = ps->win[w].start_ms;
		out->w[w].end_ms = ps->win[w].end_ms;
		out->w[w].codes = ps->win[w].n_codes;
		out->w[w].uses = ps->win[w].uses;
	}
	for (uint32_t i = 0; i < ps->n_codes; i++)
		out->w[ps->codes[i].window].used += dp_presale_used(ps, i);
	return 0;
}

int dp_presale_code_get(struct dp_engine *eng, uint32_t event_id, uint32_t i, struct dp_presale_code_view *out)
{
	struct dp_event *ev = dp_event_lookup(eng, event_id);
	if (!ev)
		return -ENOENT;
	const struct dp_presale *ps = rcu_dereference(ev->presale);
	if (!ps || i >= ps->n_codes)
		return -ERANGE;
	const struct dp_presale_ent *c = &ps->codes[i];
	memset(out, 0, sizeof(*out));
	memcpy(out->code, c->code, c->code_len);
	out->window = c->window;
	out->uses = c->uses;
	out->used = dp_presale_used(ps, i);
	return 0;
}
