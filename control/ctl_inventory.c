/*
 * ctl_inventory.c - inventory files (docs/inventory.md) into validated event
 * definitions. JSON is parsed by jansson; everything else is checked here,
 * with the JSON path of the first fault, before anything is returned.
 *
 * This file: presale windows, the waiting room, events, the top level and
 * the public API. The parse context, scalar fields and seat ranges are in
 * ctl_inv_value.c, tiers and sections in ctl_inv_section.c; the private
 * declarations they share are in ctl_inventory_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_inventory.h"
#include "control/ctl_inventory_internal.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

/* ------------------------------------------------------------------ */
/* presale windows and the waiting room                                */
/* ------------------------------------------------------------------ */

#define CODE_EXPECT "a code of 1..32 printable ASCII characters without spaces"

static int check_code(struct ctx *c, const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return ctl_inv_fail(c, "is empty (expected " CODE_EXPECT ")");
	if (n > CTL_CODE_MAX - 1)
		return ctl_inv_fail(c, "is %zu bytes long (expected " CODE_EXPECT ")", n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			struct qbuf q;
			return ctl_inv_fail(c, "%s has a space or a character outside printable ASCII (expected " CODE_EXPECT ")",
				    ctl_inv_quote(&q, s));
		}
	return 0;
}

static int parse_codes(struct ctx *c, json_t *arr, struct ctl_presale *ps)
{
	static const char *const keys[] = {"code", "uses", NULL};
	char expect[64];
	snprintf(expect, sizeof(expect), "an array of 1..%d codes", CTL_CODES_MAX);
	if (!json_is_array(arr))
		return ctl_inv_wrong_type(c, arr, expect);
	size_t n = json_array_size(arr);
	if (n == 0)
		return ctl_inv_fail(c, "is empty (expected %s)", expect);
	if (n > CTL_CODES_MAX)
		return ctl_inv_fail(c, "has %zu codes (expected at most %d)", n, CTL_CODES_MAX);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *e = json_array_get(arr, i);
		struct ctl_access_code *ac = &ps->codes[i];
		size_t old = ctl_inv_push_index(c, i);
		if (json_is_string(e)) {
			if ((rc = check_code(c, json_string_value(e))) == 0) {
				strcpy(ac->code, json_string_value(e));
				ac->uses = 1;
			}
		} else if (json_is_object(e)) {
			long long uses = 1;
			json_t *cv = json_object_get(e, "code");
			if ((rc = ctl_inv_check_keys(c, e, keys)) == 0 && !cv)
				rc = ctl_inv_fail(c, "missing \"code\" (expected " CODE_EXPECT ")");
			if (rc == 0) {
				size_t o2 = ctl_inv_push_key(c, "code");
				if (!json_is_string(cv))
					rc = ctl_inv_wrong_type(c, cv, CODE_EXPECT);
				else if ((rc = check_code(c, json_string_value(cv))) == 0)
					strcpy(ac->code, json_string_value(cv));
				ctl_inv_pop(c, o2);
			}
			if (rc == 0 && (rc = ctl_inv_get_int(c, e, "uses", 1, CTL_CODE_USES_MAX, false, 1, &uses)) == 0)
				ac->uses = (uint32_t)uses;
		} else {
			rc = ctl_inv_wrong_type(c, e, "a code string or an object with \"code\" and \"uses\"");
		}
		ctl_inv_pop(c, old);
	}
	if (rc)
		return rc;
	ps->n_codes = (uint32_t)n;
	struct skey k[CTL_CODES_MAX];
	for (uint32_t i = 0; i < n; i++)
		k[i] = (struct skey){.s = ps->codes[i].code, .idx = i};
	uint32_t first, dup;
	if (ctl_inv_first_dup_str(k, n, &first, &dup) == 0) {
		struct qbuf q;
		size_t old = ctl_inv_push_index(c, dup);
		rc = ctl_inv_fail(c, "code %s is already listed at codes[%u] (expected unique codes in a window)",
			  ctl_inv_quote(&q, ps->codes[dup].code), first);
		ctl_inv_pop(c, old);
	}
	return rc;
}

static int parse_presale(struct ctx *c, json_t *o, struct ctl_presale *ps)
{
	static const char *const keys[] = {"name", "start", "end", "codes", "members_file", NULL};
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "a presale object with \"name\", \"start\", \"end\" and \"codes\"");
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc || (rc = ctl_inv_get_text(c, o, "name", DP_NAME_MAX - 1, "a name", ps->name)) ||
	    (rc = ctl_inv_get_time(c, o, "start", true, &ps->start_ms)) || (rc = ctl_inv_get_time(c, o, "end", true, &ps->end_ms)))
		return rc;
	if (ps->end_ms <= ps->start_ms) {
		struct qbuf q1, q2;
		size_t old = ctl_inv_push_key(c, "end");
		rc = ctl_inv_fail(c, "%s is not after start %s (expected end later than start)",
			  ctl_inv_quote(&q1, json_string_value(json_object_get(o, "end"))),
			  ctl_inv_quote(&q2, json_string_value(json_object_get(o, "start"))));
		ctl_inv_pop(c, old);
		return rc;
	}
	json_t *codes = json_object_get(o, "codes"), *mf = json_object_get(o, "members_file");
	if (codes && mf)
		return ctl_inv_fail(c, "has both \"codes\" and \"members_file\" (expected one of them)");
	if (!codes && !mf)
		return ctl_inv_fail(c, "missing \"codes\" (expected \"codes\" or \"members_file\")");
	if (mf)
		return ctl_inv_get_text(c, o, "members_file", CTL_PATH_MAX - 1, "a file path", ps->members_file);
	size_t old = ctl_inv_push_key(c, "codes");
	rc = parse_codes(c, codes, ps);
	ctl_inv_pop(c, old);
	return rc;
}

/*
 * A code names one window: unique within the event across all its windows
 * (each window's own list is checked by parse_codes). Member lists are
 * checked against these when attached (ctl_members.c).
 */
static int check_event_codes(struct ctx *c, const struct ctl_event_extra *x, const char *event_path)
{
	size_t total = 0;
	for (uint32_t w = 0; w < x->n_presales; w++)
		total += x->presales[w].n_codes;
	if (total < 2 || x->n_presales < 2)
		return 0;
	struct skey *k = malloc(total * sizeof(*k));
	if (!k)
		return ctl_inv_nomem(c);
	uint32_t o = 0, win[CTL_PRESALES_MAX + 1] = {0}; /* win[w]: ordinal of window w's first code */
	for (uint32_t w = 0; w < x->n_presales; w++) {
		win[w] = o;
		for (uint32_t i = 0; i < x->presales[w].n_codes; i++, o++)
			k[o] = (struct skey){.s = x->presales[w].codes[i].code, .idx = o};
	}
	win[x->n_presales] = o;
	uint32_t first, dup, wf = 0, wd = 0;
	int rc = 0;
	if (ctl_inv_first_dup_str(k, total, &first, &dup) == 0) {
		while (first >= win[wf + 1])
			wf++;
		while (dup >= win[wd + 1])
			wd++;
		struct qbuf q;
		size_t old = ctl_inv_push_key(c, "presale");
		ctl_inv_push_index(c, wd);
		ctl_inv_push_key(c, "codes");
		ctl_inv_push_index(c, dup - win[wd]);
		rc = ctl_inv_fail(c, "code %s is already listed at %s.presale[%u].codes[%u] (expected unique codes in an "
				  "event, across its windows and member lists)",
				  ctl_inv_quote(&q, x->presales[wd].codes[dup - win[wd]].code), event_path, wf,
				  first - win[wf]);
		ctl_inv_pop(c, old);
	}
	free(k);
	return rc;
}

static int parse_waiting_room(struct ctx *c, json_t *o, struct ctl_waiting_room *wr)
{
	static const char *const keys[] = {"enabled", "threshold_rps", "max_active_shoppers", "admission_per_s",
					   "purchase_window", NULL};
	long long t = 0, m = 0, a = 0;
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "a waiting-room object");
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc)
		return rc;
	json_t *en = json_object_get(o, "enabled");
	wr->mode = CTL_WR_OFF;
	if (en) {
		if (json_is_true(en)) {
			wr->mode = CTL_WR_ON;
		} else if (json_is_string(en) && strcmp(json_string_value(en), "auto") == 0) {
			wr->mode = CTL_WR_AUTO;
		} else if (!json_is_false(en)) {
			size_t old = ctl_inv_push_key(c, "enabled");
			rc = ctl_inv_wrong_type(c, en, "true, false or \"auto\"");
			ctl_inv_pop(c, old);
			return rc;
		}
	}
	if ((rc = ctl_inv_get_int(c, o, "threshold_rps", 1, CTL_WR_THRESHOLD_RPS_MAX, false, CTL_WR_THRESHOLD_RPS_DEFAULT, &t)) ||
	    (rc = ctl_inv_get_int(c, o, "max_active_shoppers", 1, CTL_WR_SHOPPERS_MAX, false, CTL_WR_SHOPPERS_DEFAULT, &m)) ||
	    (rc = ctl_inv_get_int(c, o, "admission_per_s", 1, CTL_WR_ADMISSION_MAX, false, CTL_WR_ADMISSION_DEFAULT, &a)) ||
	    (rc = ctl_inv_get_duration(c, o, "purchase_window", CTL_WR_WINDOW_MS_MIN, CTL_WR_WINDOW_MS_MAX,
			       CTL_WR_WINDOW_MS_DEFAULT, &wr->purchase_window_ms)))
		return rc;
	wr->threshold_rps = (uint32_t)t;
	wr->max_active_shoppers = (uint32_t)m;
	wr->admission_per_s = (uint32_t)a;
	return 0;
}

/* ------------------------------------------------------------------ */
/* events and the top level                                            */
/* ------------------------------------------------------------------ */

/* obj[key] as an optional array; *n = 0 when absent. */
static int get_array(struct ctx *c, json_t *obj, const char *key, const char *expect, json_t **out, size_t *n)
{
	json_t *v = json_object_get(obj, key);
	*out = v;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		size_t old = ctl_inv_push_key(c, key);
		int rc = ctl_inv_wrong_type(c, v, expect);
		ctl_inv_pop(c, old);
		return rc;
	}
	*n = json_array_size(v);
	return 0;
}

static int parse_event(struct ctx *c, json_t *o, struct ctl_inventory *inv, uint32_t idx)
{
	static const char *const keys[] = {"id",    "name",     "hold_ttl",          "buyer_limit",
					   "on_sale", "tiers", "sections", "general_admission", "presale",
					   "waiting_room", NULL};
	struct ctl_event *ev = &inv->events[idx];
	char event_path[PATH_CAP];
	snprintf(event_path, sizeof(event_path), "%s", c->path);
	if (!json_is_object(o))
		return ctl_inv_wrong_type(c, o, "an event object");
	int rc = ctl_inv_check_keys(c, o, keys);
	if (rc)
		return rc;
	struct dp_event_def *def = calloc(1, sizeof(*def));
	if (!def)
		return ctl_inv_nomem(c);
	ev->def = def;
	long long id = 0, bl = 0;
	if ((rc = ctl_inv_get_int(c, o, "id", 1, UINT32_MAX, true, 0, &id)))
		return rc;
	for (uint32_t j = 0; j < idx; j++)
		if (inv->events[j].def->id == id) {
			size_t old = ctl_inv_push_key(c, "id");
			rc = ctl_inv_fail(c, "event id %lld is already used by $.events[%u] (expected unique event ids)", id, j);
			ctl_inv_pop(c, old);
			return rc;
		}
	def->id = (uint32_t)id;
	if ((rc = ctl_inv_get_text(c, o, "name", DP_NAME_MAX - 1, "a name", def->name)) ||
	    (rc = ctl_inv_get_duration(c, o, "hold_ttl", DP_HOLD_TTL_MS_MIN, DP_HOLD_TTL_MS_MAX, DP_HOLD_TTL_MS_DEFAULT,
			       &def->hold_ttl_ms)) ||
	    (rc = ctl_inv_get_int(c, o, "buyer_limit", 1, DP_BUYER_LIMIT_MAX, false, DP_BUYER_LIMIT_DEFAULT, &bl)) ||
	    (rc = ctl_inv_get_time(c, o, "on_sale", false, &ev->extra.on_sale_ms)))
		return rc;
	def->buyer_limit = (uint32_t)bl;

	/* tiers */
	char expect[96];
	snprintf(expect, sizeof(expect), "an array of 1..%d price tiers", CTL_TIER_ID_MAX);
	json_t *arr;
	size_t n;
	if ((rc = get_array(c, o, "tiers", expect, &arr, &n)))
		return rc;
	if (!arr)
		return ctl_inv_fail(c, "missing \"tiers\" (expected %s)", expect);
	size_t old = ctl_inv_push_key(c, "tiers");
	if (n == 0)
		rc = ctl_inv_fail(c, "is empty (expected %s)", expect);
	else if (n > CTL_TIER_ID_MAX)
		rc = ctl_inv_fail(c, "has %zu tiers (expected at most %d)", n, CTL_TIER_ID_MAX);
	else if (!(def->tiers = calloc(n, sizeof(*def->tiers))))
		rc = ctl_inv_nomem(c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = ctl_inv_push_index(c, i);
		rc = ctl_inv_parse_tier(c, json_array_get(arr, i), def, (uint32_t)i, event_path);
		def->n_tiers = (uint32_t)i + 1;
		ctl_inv_pop(c, o2);
	}
	ctl_inv_pop(c, old);
	if (rc)
		return rc;

	/* sections and general-admission types */
	json_t *sarr, *garr;
	size_t ns, ng;
	if ((rc = get_array(c, o, "sections", "an array of sections", &sarr, &ns)) ||
	    (rc = get_array(c, o, "general_admission", "an array of general-admission types", &garr, &ng)))
		return rc;
	if (ns + ng == 0)
		return ctl_inv_fail(c, "has no sections and no general-admission types (expected at least one in \"sections\" "
			       "or \"general_admission\")");
	if (ns + ng > DP_PARTS_MAX)
		return ctl_inv_fail(c, "has %zu sections and %zu general-admission types (expected at most %u in all)", ns, ng,
			    DP_PARTS_MAX);
	if (ns) {
		if (!(def->sections = calloc(ns, sizeof(*def->sections))))
			return ctl_inv_nomem(c);
		def->n_sections = (uint32_t)ns; /* dp_event_def_free copes with the unfilled ones */
		old = ctl_inv_push_key(c, "sections");
		for (size_t i = 0; rc == 0 && i < ns; i++) {
			size_t o2 = ctl_inv_push_index(c, i);
			rc = ctl_inv_parse_section(c, json_array_get(sarr, i), def, &def->sections[i], event_path);
			ctl_inv_pop(c, o2);
		}
		ctl_inv_pop(c, old);
		if (rc)
			return rc;
	}
	if (ng) {
		if (!(def->ga = calloc(ng, sizeof(*def->ga))))
			return ctl_inv_nomem(c);
		def->n_ga = (uint32_t)ng;
		old = ctl_inv_push_key(c, "general_admission");
		for (size_t i = 0; rc == 0 && i < ng; i++) {
			size_t o2 = ctl_inv_push_index(c, i);
			rc = ctl_inv_parse_ga(c, json_array_get(garr, i), def, &def->ga[i], event_path);
			ctl_inv_pop(c, o2);
		}
		ctl_inv_pop(c, old);
		if (rc)
			return rc;
	}
	if ((rc = ctl_inv_check_part_ids(c, def, event_path)))
		return rc;

	/* presale windows */
	snprintf(expect, sizeof(expect), "an array of at most %d presale windows", CTL_PRESALES_MAX);
	if ((rc = get_array(c, o, "presale", expect, &arr, &n)))
		return rc;
	old = ctl_inv_push_key(c, "presale");
	if (n > CTL_PRESALES_MAX)
		rc = ctl_inv_fail(c, "has %zu windows (expected at most %d)", n, CTL_PRESALES_MAX);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = ctl_inv_push_index(c, i);
		rc = parse_presale(c, json_array_get(arr, i), &ev->extra.presales[i]);
		ev->extra.n_presales = (uint32_t)i + 1;
		ctl_inv_pop(c, o2);
	}
	ctl_inv_pop(c, old);
	if (rc || (rc = check_event_codes(c, &ev->extra, event_path)))
		return rc;

	/* waiting room */
	json_t *wr = json_object_get(o, "waiting_room");
	struct ctl_waiting_room *w = &ev->extra.waiting_room;
	*w = (struct ctl_waiting_room){.mode = CTL_WR_OFF,
				       .threshold_rps = CTL_WR_THRESHOLD_RPS_DEFAULT,
				       .max_active_shoppers = CTL_WR_SHOPPERS_DEFAULT,
				       .admission_per_s = CTL_WR_ADMISSION_DEFAULT,
				       .purchase_window_ms = CTL_WR_WINDOW_MS_DEFAULT};
	if (wr) {
		old = ctl_inv_push_key(c, "waiting_room");
		rc = parse_waiting_room(c, wr, w);
		ctl_inv_pop(c, old);
		if (rc)
			return rc;
	}

	/* Everything above implies the core's own check; keep it as a backstop. */
	char why[256];
	if (dp_event_def_check(def, why, sizeof(why)) != 0)
		return ctl_inv_fail(c, "%s (expected a definition the reservation core accepts)", why);
	return 0;
}

static int parse_top(struct ctx *c, json_t *root, struct ctl_inventory *inv)
{
	static const char *const keys[] = {"format", "events", NULL};
	struct qbuf q;
	if (!json_is_object(root))
		return ctl_inv_fail(c, "top level is %s (expected an object with \"format\" and \"events\")",
			    ctl_inv_describe(&q, root));
	json_t *f = json_object_get(root, "format");
	if (!f)
		return ctl_inv_fail(c, "missing \"format\" (expected \"format\": \"" CTL_FORMAT "\")");
	size_t old = ctl_inv_push_key(c, "format");
	int rc = 0;
	if (!json_is_string(f))
		rc = ctl_inv_wrong_type(c, f, "\"" CTL_FORMAT "\"");
	else if (strcmp(json_string_value(f), CTL_FORMAT) != 0)
		rc = ctl_inv_fail(c, "%s is not a supported format (expected \"" CTL_FORMAT "\")", ctl_inv_quote(&q, json_string_value(f)));
	ctl_inv_pop(c, old);
	if (rc || (rc = ctl_inv_check_keys(c, root, keys)))
		return rc;
	char expect[64];
	snprintf(expect, sizeof(expect), "an array of 1..%d events", DP_EVENTS_MAX);
	json_t *evs = json_object_get(root, "events");
	if (!evs)
		return ctl_inv_fail(c, "missing \"events\" (expected %s)", expect);
	old = ctl_inv_push_key(c, "events");
	size_t n = json_is_array(evs) ? json_array_size(evs) : 0;
	if (!json_is_array(evs))
		rc = ctl_inv_wrong_type(c, evs, expect);
	else if (n == 0)
		rc = ctl_inv_fail(c, "is empty (expected %s)", expect);
	else if (n > DP_EVENTS_MAX)
		rc = ctl_inv_fail(c, "has %zu events (expected at most %d)", n, DP_EVENTS_MAX);
	else if (!(inv->events = calloc(n, sizeof(*inv->events))))
		rc = ctl_inv_nomem(c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t o2 = ctl_inv_push_index(c, i);
		inv->n_events = (uint32_t)i + 1;
		rc = parse_event(c, json_array_get(evs, i), inv, (uint32_t)i);
		ctl_inv_pop(c, o2);
	}
	ctl_inv_pop(c, old);
	return rc;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */
/* ------------------------------------------------------------------ */

void ctl_inventory_free(struct ctl_inventory *inv)
{
	if (!inv)
		return;
	if (inv->events)
		for (uint32_t i = 0; i < inv->n_events; i++) {
			dp_event_def_free(inv->events[i].def);
			for (uint32_t w = 0; w < inv->events[i].extra.n_presales; w++)
				free(inv->events[i].extra.presales[w].members);
		}
	free(inv->events);
	free(inv);
}

struct dp_event_def *ctl_inventory_take_def(struct ctl_inventory *inv, uint32_t i)
{
	if (!inv || i >= inv->n_events)
		return NULL;
	struct dp_event_def *d = inv->events[i].def;
	inv->events[i].def = NULL;
	return d;
}

int ctl_inventory_parse(const char *name, const char *text, size_t len, struct ctl_inventory **out, char *err,
			size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "(input)";
	if (!text) {
		text = "";
		len = 0;
	}
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			if (err && errlen)
				snprintf(err, errlen, "%s: out of memory", name);
			return -ENOMEM;
		}
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line, je.column, je.text);
		return -EINVAL;
	}
	struct ctx c = {.file = name, .err = err, .errlen = errlen, .path = "$", .plen = 1};
	struct ctl_inventory *inv = calloc(1, sizeof(*inv));
	int rc = inv ? parse_top(&c, root, inv) : ctl_inv_nomem(&c);
	json_decref(root);
	if (rc) {
		ctl_inventory_free(inv);
		return rc;
	}
	if (err && errlen)
		err[0] = '\0';
	*out = inv;
	return 0;
}

int ctl_inventory_load(const char *path, struct ctl_inventory **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (fd < 0) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	struct stat st;
	bool too_big = false;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
	} else if (S_ISREG(st.st_mode) && st.st_size > (off_t)CTL_FILE_BYTES_MAX) {
		too_big = true;
	} else {
		cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
		buf = malloc(cap);
		if (!buf)
			rc = -ENOMEM;
		while (rc == 0 && !too_big) {
			if (len == cap) {
				char *nb = realloc(buf, cap * 2);
				if (!nb) {
					rc = -ENOMEM;
					break;
				}
				buf = nb;
				cap *= 2;
			}
			ssize_t got = read(fd, buf + len, cap - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				rc = -errno;
			else if (got == 0)
				break;
			else
				len += (size_t)got;
			too_big = len > CTL_FILE_BYTES_MAX;
		}
	}
	close(fd);
	if (rc == 0 && too_big) {
		if (err && errlen)
			snprintf(err, errlen, "%s: is larger than %u MiB (expected an inventory file of at most %u MiB)",
				 path, CTL_FILE_BYTES_MAX >> 20, CTL_FILE_BYTES_MAX >> 20);
		free(buf);
		return -EINVAL;
	}
	if (rc) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		free(buf);
		return rc;
	}
	rc = ctl_inventory_parse(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}