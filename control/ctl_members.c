/*
 * ctl_members.c - presale member lists (docs/inventory.md, "Member list"):
 * parse one list's text, and attach every window's list to an inventory,
 * checking codes unique within each event across windows and lists.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "control/ctl_inventory_internal.h"
#include "control/ctl_members.h"

#define CODE_EXPECT "a code of 1..32 printable ASCII characters without spaces or commas"
#define USES_EXPECT "USES, an integer 1..1000000"
#define UNIQUE_EXPECT "expected unique codes in an event, across its windows and member lists"

/* Where messages go: the file's name and the caller's buffer. */
struct mctx {
	const char *name;
	char *err;
	size_t errlen;
};

/* Write "NAME:LINE: message" (line 0: "NAME: message") and return -EINVAL. */
__attribute__((format(printf, 3, 4))) static int mfail(const struct mctx *m, uint32_t line, const char *fmt, ...)
{
	if (m->err && m->errlen) {
		int n = line ? snprintf(m->err, m->errlen, "%s:%" PRIu32 ": ", m->name, line)
			     : snprintf(m->err, m->errlen, "%s: ", m->name);
		if (n >= 0 && (size_t)n < m->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(m->err + n, m->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static int mnomem(const struct mctx *m)
{
	if (m->err && m->errlen)
		snprintf(m->err, m->errlen, "%s: out of memory", m->name);
	return -ENOMEM;
}

/* n bytes quoted for a message, ASCII only: '"' and '\' escaped, other bytes
 * outside printable ASCII as \xNN; cut after 40 bytes with "..." appended. */
struct mquote {
	char s[200];
};

static const char *quote(struct mquote *q, const char *s, size_t n)
{
	size_t cut = n > 40 ? 40 : n, o = 0;
	q->s[o++] = '"';
	for (size_t i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", ch);
		} else {
			q->s[o++] = (char)ch;
		}
	}
	q->s[o++] = '"';
	if (cut < n) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o] = '\0';
	return q->s;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* One member line's fields, blanks around them removed. Returns 0 and the
 * member, or -EINVAL after a message naming the line. */
static int parse_line(const struct mctx *m, uint32_t line, const char *l, size_t ll, struct ctl_access_code *ac)
{
	struct mquote q;
	const char *comma = memchr(l, ',', ll);
	size_t cl = comma ? (size_t)(comma - l) : ll;
	while (cl > 0 && is_blank(l[cl - 1]))
		cl--;
	if (comma && memchr(comma + 1, ',', ll - (size_t)(comma + 1 - l)))
		return mfail(m, line, "%s has more than one comma (expected CODE or CODE,USES)", quote(&q, l, ll));
	if (cl == 0)
		return mfail(m, line, "has an empty code (expected CODE or CODE,USES with " CODE_EXPECT ")");
	if (cl > CTL_CODE_MAX - 1)
		return mfail(m, line, "code %s is %zu bytes long (expected " CODE_EXPECT ")", quote(&q, l, cl), cl);
	for (size_t i = 0; i < cl; i++)
		if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7f)
			return mfail(m, line, "code %s has a space or a character outside printable ASCII (expected " CODE_EXPECT ")",
				     quote(&q, l, cl));
	memcpy(ac->code, l, cl);
	ac->code[cl] = '\0';
	ac->uses = 1;
	if (!comma)
		return 0;
	const char *u = comma + 1;
	size_t ul = ll - (size_t)(u - l);
	while (ul > 0 && is_blank(u[0])) {
		u++;
		ul--;
	}
	if (ul == 0)
		return mfail(m, line, "has nothing after the comma (expected " USES_EXPECT ")");
	uint64_t v = 0;
	for (size_t i = 0; i < ul; i++) {
		if (u[i] < '0' || u[i] > '9')
			return mfail(m, line, "uses %s is not a number (expected " USES_EXPECT ")", quote(&q, u, ul));
		if (v <= CTL_CODE_USES_MAX)
			v = v * 10 + (uint64_t)(u[i] - '0');
	}
	if (v < 1 || v > CTL_CODE_USES_MAX)
		return mfail(m, line, "uses %s is out of range (expected " USES_EXPECT ")", quote(&q, u, ul));
	ac->uses = (uint32_t)v;
	return 0;
}

/* Checks that apply to every line, comments included: no NUL, UTF-8. */
static int check_bytes(const struct mctx *m, uint32_t line, const char *l, size_t ll)
{
	for (size_t i = 0; i < ll;) {
		if (l[i] == '\0')
			return mfail(m, line, "has a NUL byte at column %zu (expected UTF-8 text)", i + 1);
		size_t s = utf8_seq((const unsigned char *)l + i, ll - i);
		if (s == 0)
			return mfail(m, line, "has a byte 0x%02x that is not UTF-8 at column %zu (expected UTF-8 text)",
				     (unsigned char)l[i], i + 1);
		i += s;
	}
	return 0;
}

int ctl_members_parse(const char *name, const char *text, size_t len, struct ctl_access_code **out,
		      uint32_t *n_out, uint32_t **lines_out, char *err, size_t errlen)
{
	struct mctx m = {.name = name ? name : "(input)", .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!text)
		len = 0;
	if (len > CTL_MEMBERS_BYTES_MAX)
		return mfail(&m, 0, "is %zu bytes (expected a member list of at most %u MiB)", len,
			     CTL_MEMBERS_BYTES_MAX >> 20);
	size_t pos = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* a byte order mark, as spreadsheets write */
	struct ctl_access_code *mem = NULL;
	uint32_t *lines = NULL, n = 0, cap = 0, line = 0;
	int rc = 0;
	while (rc == 0 && pos < len) {
		line++;
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		pos += ll + (nl != NULL);
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		if ((rc = check_bytes(&m, line, l, ll)))
			break;
		while (ll > 0 && is_blank(l[0])) {
			l++;
			ll--;
		}
		while (ll > 0 && is_blank(l[ll - 1]))
			ll--;
		if (ll == 0 || l[0] == '#')
			continue;
		if (n == CTL_MEMBERS_MAX) {
			rc = mfail(&m, line, "is member %u (expected at most %u members in a list)", n + 1, CTL_MEMBERS_MAX);
			break;
		}
		if (n == cap) {
			uint32_t nc = cap ? cap * 2 : 256;
			if (nc > CTL_MEMBERS_MAX)
				nc = CTL_MEMBERS_MAX;
			struct ctl_access_code *nm = realloc(mem, nc * sizeof(*mem));
			if (nm)
				mem = nm;
			uint32_t *nlines = nm ? realloc(lines, nc * sizeof(*lines)) : NULL;
			if (nlines)
				lines = nlines;
			if (!nm || !nlines) {
				rc = mnomem(&m);
				break;
			}
			cap = nc;
		}
		rc = parse_line(&m, line, l, ll, &mem[n]);
		lines[n++] = line;
	}
	if (rc == 0 && n == 0)
		rc = mfail(&m, 0, "has no members (expected 1..%u lines of CODE or CODE,USES)", CTL_MEMBERS_MAX);
	if (rc == 0) {
		struct skey *k = malloc(n * sizeof(*k));
		if (!k) {
			rc = mnomem(&m);
		} else {
			for (uint32_t i = 0; i < n; i++)
				k[i] = (struct skey){.s = mem[i].code, .idx = i};
			uint32_t first, dup;
			if (ctl_inv_first_dup_str(k, n, &first, &dup) == 0) {
				struct mquote q;
				rc = mfail(&m, lines[dup], "code %s is already listed on line %" PRIu32
					   " (expected each code once in a list)",
					   quote(&q, mem[dup].code, strlen(mem[dup].code)), lines[first]);
			}
			free(k);
		}
	}
	if (rc) {
		free(mem);
		free(lines);
		return rc;
	}
	*out = mem;
	*n_out = n;
	if (lines_out)
		*lines_out = lines;
	else
		free(lines);
	return 0;
}

/* ------------------------------------------------------------------ */
/* attaching lists to an inventory                                     */
/* ------------------------------------------------------------------ */

/* A window's parsed list before it is attached. */
struct parsed {
	struct ctl_access_code *m;
	uint32_t *lines;
	uint32_t n;
};

/* Where a code of an event is listed: window w, entry i of its codes or list. */
struct place {
	uint8_t w;
	uint32_t i;
};

static void fmt_place(char *buf, size_t len, uint32_t e, const struct ctl_event_extra *x, const struct parsed *p,
		      struct place pl)
{
	const struct ctl_presale *ps = &x->presales[pl.w];
	if (ps->members_file[0])
		snprintf(buf, len, "%s:%" PRIu32, ps->members_file, p[pl.w].lines[pl.i]);
	else
		snprintf(buf, len, "$.events[%" PRIu32 "].presale[%u].codes[%" PRIu32 "]", e, (unsigned)pl.w, pl.i);
}

/* Codes unique within event e, across its windows' codes and parsed lists p: a
 * duplicate is reported at the member list's line, naming the other place. */
static int check_event_unique(const struct mctx *m, uint32_t e, const struct ctl_event *ev, const struct parsed *p)
{
	const struct ctl_event_extra *x = &ev->extra;
	size_t total = 0;
	for (uint32_t w = 0; w < x->n_presales; w++)
		total += x->presales[w].members_file[0] ? p[w].n : x->presales[w].n_codes;
	if (total < 2)
		return 0;
	struct skey *k = malloc(total * sizeof(*k));
	struct place *pl = malloc(total * sizeof(*pl));
	if (!k || !pl) {
		free(k);
		free(pl);
		return mnomem(m);
	}
	uint32_t o = 0;
	for (uint32_t w = 0; w < x->n_presales; w++) {
		const struct ctl_presale *ps = &x->presales[w];
		bool list = ps->members_file[0] != '\0';
		uint32_t cnt = list ? p[w].n : ps->n_codes;
		for (uint32_t i = 0; i < cnt; i++, o++) {
			k[o] = (struct skey){.s = list ? p[w].m[i].code : ps->codes[i].code, .idx = o};
			pl[o] = (struct place){.w = (uint8_t)w, .i = i};
		}
	}
	uint32_t first, dup;
	int rc = 0;
	if (ctl_inv_first_dup_str(k, total, &first, &dup) == 0) {
		char a[CTL_PATH_MAX + 32], b[CTL_PATH_MAX + 32];
		struct mquote q;
		/* Name the member list's line first (the message then starts FILE:LINE): the
		 * inventory's own codes are unique already, so one of the two is in a list. */
		if (!x->presales[pl[dup].w].members_file[0]) {
			uint32_t t = dup;
			dup = first;
			first = t;
		}
		const struct ctl_presale *ps = &x->presales[pl[dup].w];
		const char *code = ps->members_file[0] ? p[pl[dup].w].m[pl[dup].i].code : ps->codes[pl[dup].i].code;
		fmt_place(a, sizeof(a), e, x, p, pl[dup]);
		fmt_place(b, sizeof(b), e, x, p, pl[first]);
		struct mctx here = {.name = a, .err = m->err, .errlen = m->errlen};
		rc = mfail(&here, 0, "code %s of event %" PRIu32 " is already listed at %s (" UNIQUE_EXPECT ")",
			   quote(&q, code, strlen(code)), ev->def ? ev->def->id : 0, b);
	}
	free(k);
	free(pl);
	return rc;
}

int ctl_inventory_attach_members(struct ctl_inventory *inv, const struct ctl_members_text *texts, size_t n,
				 char *err, size_t errlen)
{
	struct mctx m = {.name = "members", .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!inv || (n && !texts))
		return mfail(&m, 0, "no inventory or no texts (expected an inventory and its member lists)");
	for (size_t i = 0; i < n; i++) {
		struct mquote q;
		if (!texts[i].file)
			return mfail(&m, 0, "entry %zu has no file name (expected the members_file it is the text of)", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(texts[j].file, texts[i].file) == 0)
				return mfail(&m, 0, "%s is given twice, entries %zu and %zu (expected each member list once)",
					     quote(&q, texts[i].file, strlen(texts[i].file)), j, i);
	}
	struct parsed *p = calloc((size_t)inv->n_events * CTL_PRESALES_MAX + 1, sizeof(*p));
	if (!p)
		return mnomem(&m);
	int rc = 0;
	for (uint32_t e = 0; rc == 0 && e < inv->n_events; e++) {
		const struct ctl_event *ev = &inv->events[e];
		struct parsed *pe = &p[(size_t)e * CTL_PRESALES_MAX];
		for (uint32_t w = 0; rc == 0 && w < ev->extra.n_presales && w < CTL_PRESALES_MAX; w++) {
			const struct ctl_presale *ps = &ev->extra.presales[w];
			if (!ps->members_file[0])
				continue;
			const struct ctl_members_text *t = NULL;
			for (size_t i = 0; i < n && !t; i++)
				if (strcmp(texts[i].file, ps->members_file) == 0)
					t = &texts[i];
			if (!t) {
				struct mquote q;
				rc = mfail(&m, 0,
					   "event %" PRIu32 ", presale window %" PRIu32 " (%s): member list %s was not sent "
					   "(expected the text of every members_file with the inventory)",
					   ev->def ? ev->def->id : 0, w, ps->name,
					   quote(&q, ps->members_file, strlen(ps->members_file)));
				break;
			}
			rc = ctl_members_parse(ps->members_file, t->text, t->len, &pe[w].m, &pe[w].n, &pe[w].lines, err,
					       errlen);
		}
		if (rc == 0)
			rc = check_event_unique(&m, e, ev, pe);
	}
	for (uint32_t e = 0; e < inv->n_events; e++) {
		struct ctl_event *ev = &inv->events[e];
		for (uint32_t w = 0; w < ev->extra.n_presales && w < CTL_PRESALES_MAX; w++) {
			struct parsed *pw = &p[(size_t)e * CTL_PRESALES_MAX + w];
			struct ctl_presale *ps = &ev->extra.presales[w];
			if (rc == 0 && ps->members_file[0]) {
				free(ps->members);
				ps->members = pw->m;
				ps->n_members = pw->n;
			} else {
				free(pw->m);
			}
			free(pw->lines);
		}
	}
	free(p);
	if (rc == 0 && err && errlen)
		err[0] = '\0';
	return rc;
}
