/*
 * test_members.c - presale member lists (control/ctl_members.c,
 * docs/inventory.md "Member list"): the format's details, every error
 * message exactly, attaching lists to an inventory (all or nothing, codes
 * unique within an event across windows and lists), the shipped example, and
 * random or mutated input never crashing.
 *
 * Runs from tests/inventory (meson's workdir).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "control/ctl_members.h"

#define EXAMPLES "../../docs/examples/"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Parse text (len bytes) that must succeed; the members and their lines. */
static struct ctl_access_code *parse_ok_n(const char *text, size_t len, uint32_t *n, uint32_t **lines)
{
	struct ctl_access_code *m = NULL;
	char err[512] = "x";
	int rc = ctl_members_parse("m.csv", text, len, &m, n, lines, err, sizeof(err));
	if (rc != 0)
		fail_msg("%d %s", rc, err);
	assert_string_equal(err, "");
	assert_non_null(m);
	return m;
}

/* Parse text (len bytes) that must fail with exactly `expected`; nothing is returned. */
static void parse_fails_n(const char *text, size_t len, const char *expected)
{
	struct ctl_access_code *m = (struct ctl_access_code *)&m;
	struct ctl_access_code *const before = m;
	uint32_t n = 77, *lines = (uint32_t *)&n;
	char err[512] = "";
	int rc = ctl_members_parse("m.csv", text, len, &m, &n, &lines, err, sizeof(err));
	if (rc != -EINVAL || strcmp(err, expected) != 0)
		fail_msg("rc %d\n got:      %s\n expected: %s", rc, err, expected);
	assert_ptr_equal(m, before);
	assert_int_equal(n, 77);
	assert_ptr_equal(lines, (uint32_t *)&n);
}

static void parse_fails(const char *text, const char *expected)
{
	parse_fails_n(text, strlen(text), expected);
}

/* ---- the format ---- */

static void test_format(void **state)
{
	(void)state;
	static const char text[] = "\xef\xbb\xbf# patrons, exported 2026-02-01 \xe2\x80\x94 caf\xc3\xa9\r\n"
				   "GOLD-1\r\n"
				   "\r\n"
				   "  SILVER-2 , 5  \n"
				   "\t\n"
				   "  # an indented comment\n"
				   "x,1000000\n"
				   "Y~!@#$%^&*()_+=-[]{}|;:'<>.?/\",007\n"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
	uint32_t n = 0, *lines = NULL;
	struct ctl_access_code *m = parse_ok_n(text, sizeof(text) - 1, &n, &lines);
	assert_int_equal(n, 5);
	assert_string_equal(m[0].code, "GOLD-1");
	assert_int_equal(m[0].uses, 1);
	assert_int_equal(lines[0], 2);
	assert_string_equal(m[1].code, "SILVER-2");
	assert_int_equal(m[1].uses, 5);
	assert_int_equal(lines[1], 4);
	assert_string_equal(m[2].code, "x");
	assert_int_equal(m[2].uses, 1000000);
	assert_int_equal(lines[2], 7);
	assert_string_equal(m[3].code, "Y~!@#$%^&*()_+=-[]{}|;:'<>.?/\"");
	assert_int_equal(m[3].uses, 7);
	assert_string_equal(m[4].code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"); /* 32 bytes, no final newline */
	assert_int_equal(lines[4], 9);
	free(m);
	free(lines);

	/* Codes are compared exactly: case matters. lines_out may be NULL. */
	m = parse_ok_n("gold\nGOLD\n", 10, &n, NULL);
	assert_int_equal(n, 2);
	free(m);

	/* A header line is not special. */
	parse_fails("code,uses\nGOLD,2\n", "m.csv:1: uses \"uses\" is not a number (expected USES, an integer 1..1000000)");
}

/* Every error the parser gives, exactly. */
static void test_errors(void **state)
{
	(void)state;
	parse_fails("", "m.csv: has no members (expected 1..65536 lines of CODE or CODE,USES)");
	parse_fails("# only\n\n  \r\n", "m.csv: has no members (expected 1..65536 lines of CODE or CODE,USES)");
	parse_fails_n("A\nB\0C\n", 6, "m.csv:2: has a NUL byte at column 2 (expected UTF-8 text)");
	parse_fails_n("# \0 in a comment\n", 17, "m.csv:1: has a NUL byte at column 3 (expected UTF-8 text)");
	parse_fails("A\n# caf\xe9\n", "m.csv:2: has a byte 0xe9 that is not UTF-8 at column 6 (expected UTF-8 text)");
	parse_fails("\xed\xa0\x80\n", "m.csv:1: has a byte 0xed that is not UTF-8 at column 1 (expected UTF-8 text)");
	parse_fails("A,1,2\n", "m.csv:1: \"A,1,2\" has more than one comma (expected CODE or CODE,USES)");
	parse_fails(",5\n", "m.csv:1: has an empty code (expected CODE or CODE,USES with a code of 1..32 printable "
			    "ASCII characters without spaces or commas)");
	parse_fails("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\n",
		    "m.csv:1: code \"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\" is 33 bytes long (expected a code of 1..32 "
		    "printable ASCII characters without spaces or commas)");
	parse_fails("OK\nTWO WORDS\n", "m.csv:2: code \"TWO WORDS\" has a space or a character outside printable "
				    "ASCII (expected a code of 1..32 printable ASCII characters without spaces or commas)");
	parse_fails("CAF\xc3\xa9\n", "m.csv:1: code \"CAF\\xc3\\xa9\" has a space or a character outside printable "
				    "ASCII (expected a code of 1..32 printable ASCII characters without spaces or commas)");
	parse_fails("A\rB\n", "m.csv:1: code \"A\\x0dB\" has a space or a character outside printable ASCII "
			      "(expected a code of 1..32 printable ASCII characters without spaces or commas)");
	parse_fails("A,\n", "m.csv:1: has nothing after the comma (expected USES, an integer 1..1000000)");
	parse_fails("A, \n", "m.csv:1: has nothing after the comma (expected USES, an integer 1..1000000)");
	parse_fails("A,-1\n", "m.csv:1: uses \"-1\" is not a number (expected USES, an integer 1..1000000)");
	parse_fails("A,1.5\n", "m.csv:1: uses \"1.5\" is not a number (expected USES, an integer 1..1000000)");
	parse_fails("A,1 2\n", "m.csv:1: uses \"1 2\" is not a number (expected USES, an integer 1..1000000)");
	parse_fails("A,0\n", "m.csv:1: uses \"0\" is out of range (expected USES, an integer 1..1000000)");
	parse_fails("A,1000001\n", "m.csv:1: uses \"1000001\" is out of range (expected USES, an integer 1..1000000)");
	parse_fails("A,99999999999999999999999\n",
		    "m.csv:1: uses \"99999999999999999999999\" is out of range (expected USES, an integer 1..1000000)");
	parse_fails("GOLD\nSILVER,2\n\n# x\nGOLD,3\n",
		    "m.csv:5: code \"GOLD\" is already listed on line 1 (expected each code once in a list)");

	/* 65536 members load; one more does not. */
	size_t cap = (CTL_MEMBERS_MAX + 2) * 8;
	char *big = malloc(cap);
	assert_non_null(big);
	size_t len = 0;
	for (uint32_t i = 0; i < CTL_MEMBERS_MAX; i++)
		len += (size_t)snprintf(big + len, cap - len, "M%05x\n", i);
	uint32_t n = 0;
	struct ctl_access_code *m = parse_ok_n(big, len, &n, NULL);
	assert_int_equal(n, CTL_MEMBERS_MAX);
	assert_string_equal(m[CTL_MEMBERS_MAX - 1].code, "M0ffff");
	free(m);
	len += (size_t)snprintf(big + len, cap - len, "# comment\nLAST\n");
	parse_fails_n(big, len, "m.csv:65538: is member 65537 (expected at most 65536 members in a list)");
	free(big);

	/* 4 MiB at most, whatever the content. */
	size_t over = CTL_MEMBERS_BYTES_MAX + 1;
	char *huge = malloc(over);
	assert_non_null(huge);
	memset(huge, '#', over);
	parse_fails_n(huge, over, "m.csv: is 4194305 bytes (expected a member list of at most 4 MiB)");
	free(huge);

	/* NULL name and err are allowed. */
	uint32_t nn;
	struct ctl_access_code *mm = NULL;
	assert_int_equal(ctl_members_parse(NULL, "A,0", 3, &mm, &nn, NULL, NULL, 0), -EINVAL);
	assert_null(mm);
	char err[64];
	assert_int_equal(ctl_members_parse(NULL, "", 0, &mm, &nn, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "(input): has no members (expected 1..65536 lines of CODE or COD"); /* cut, terminated */
}

/* ---- attaching to an inventory ---- */

#define INV_HEAD "{\"format\": \"stampede-inventory/1\", \"events\": ["
#define EVENT(ID, PRESALE)                                                                                            \
	"{\"id\": " #ID ", \"name\": \"E" #ID "\", \"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"10\"}], "      \
	"\"general_admission\": [{\"id\": 9, \"name\": \"G\", \"capacity\": 10, \"tier\": 1}], \"presale\": [" PRESALE  \
	"]}"
#define WIN_CODES(CODES) "{\"name\": \"C\", \"start\": \"2026-03-01T00:00:00Z\", \"end\": \"2026-03-02T00:00:00Z\", \"codes\": [" CODES "]}"
#define WIN_FILE(F) "{\"name\": \"L\", \"start\": \"2026-03-01T00:00:00Z\", \"end\": \"2026-03-02T00:00:00Z\", \"members_file\": \"" F "\"}"

static struct ctl_inventory *inv_ok(const char *text)
{
	struct ctl_inventory *inv = NULL;
	char err[512];
	if (ctl_inventory_parse("inv.json", text, strlen(text), &inv, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return inv;
}

static int attach(struct ctl_inventory *inv, const struct ctl_members_text *t, size_t n, char *err, size_t errlen)
{
	return ctl_inventory_attach_members(inv, t, n, err, errlen);
}

#define TXT(F, S) {.file = F, .text = S, .len = sizeof(S) - 1}

static void test_attach(void **state)
{
	(void)state;
	char err[512];
	struct ctl_inventory *inv =
		inv_ok(INV_HEAD EVENT(1, WIN_FILE("a.csv") "," WIN_CODES("\"GOLD\"") "," WIN_FILE("dir/b.csv")) ","
			       EVENT(2, WIN_FILE("a.csv")) "]}");
	const struct ctl_members_text texts[] = {TXT("dir/b.csv", "B1\nB2,3\n"), TXT("unused.csv", "garbage,,,"),
						 TXT("a.csv", "A1\nA2\nA3,4\n")};
	assert_int_equal(attach(inv, texts, 3, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	const struct ctl_presale *p = inv->events[0].extra.presales;
	assert_int_equal(p[0].n_members, 3);
	assert_string_equal(p[0].members[2].code, "A3");
	assert_int_equal(p[0].members[2].uses, 4);
	assert_int_equal(p[1].n_members, 0);
	assert_null(p[1].members);
	assert_int_equal(p[2].n_members, 2);
	assert_int_equal(p[2].members[1].uses, 3);
	/* The same list in another event is fine: codes are unique per event. */
	assert_int_equal(inv->events[1].extra.presales[0].n_members, 3);

	/* A failing attach changes nothing: the lists attached before stay. */
	const struct ctl_access_code *before = p[0].members;
	const struct ctl_members_text bad[] = {TXT("a.csv", "NEW\n"), TXT("dir/b.csv", "GOLD\n")};
	assert_int_equal(attach(inv, bad, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dir/b.csv:1: code \"GOLD\" of event 1 is already listed at $.events[0].presale[1]."
				 "codes[0] (expected unique codes in an event, across its windows and member lists)");
	assert_ptr_equal(p[0].members, before);
	assert_int_equal(p[0].n_members, 3);
	/* A good one replaces them. */
	const struct ctl_members_text good[] = {TXT("a.csv", "NEW\n"), TXT("dir/b.csv", "B\n")};
	assert_int_equal(attach(inv, good, 2, err, sizeof(err)), 0);
	assert_int_equal(p[0].n_members, 1);
	assert_string_equal(p[0].members[0].code, "NEW");

	/* A window whose list was not sent. */
	assert_int_equal(attach(inv, good, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "members: event 1, presale window 2 (L): member list \"dir/b.csv\" was not sent "
				 "(expected the text of every members_file with the inventory)");
	/* The same file twice. */
	const struct ctl_members_text twice[] = {TXT("a.csv", "X\n"), TXT("dir/b.csv", "Y\n"), TXT("a.csv", "X\n")};
	assert_int_equal(attach(inv, twice, 3, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "members: \"a.csv\" is given twice, entries 0 and 2 (expected each member list once)");
	/* A list's own error names the file as the inventory writes it. */
	const struct ctl_members_text e1[] = {TXT("a.csv", "X\n"), TXT("dir/b.csv", "\n\nY,0\n")};
	assert_int_equal(attach(inv, e1, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dir/b.csv:3: uses \"0\" is out of range (expected USES, an integer 1..1000000)");
	/* Two lists of one event sharing a code. */
	const struct ctl_members_text e2[] = {TXT("a.csv", "X\nSAME\n"), TXT("dir/b.csv", "# c\nSAME,2\n")};
	assert_int_equal(attach(inv, e2, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dir/b.csv:2: code \"SAME\" of event 1 is already listed at a.csv:2 (expected unique "
				 "codes in an event, across its windows and member lists)");
	/* A code window after the list that has the code. */
	const struct ctl_members_text e3[] = {TXT("a.csv", "X\nGOLD\n"), TXT("dir/b.csv", "Y\n")};
	assert_int_equal(attach(inv, e3, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "a.csv:2: code \"GOLD\" of event 1 is already listed at $.events[0].presale[1].codes[0] "
				 "(expected unique codes in an event, across its windows and member lists)");
	assert_string_equal(p[0].members[0].code, "NEW"); /* still the good ones */
	assert_int_equal(attach(NULL, good, 2, err, sizeof(err)), -EINVAL);
	ctl_inventory_free(inv);

	/* Without member-list windows nothing is needed. */
	inv = inv_ok(INV_HEAD EVENT(3, WIN_CODES("\"A\"")) "]}");
	assert_int_equal(attach(inv, NULL, 0, err, sizeof(err)), 0);
	ctl_inventory_free(inv);
}

/* The shipped example: theatre.json's Patrons window and its list. */
static void test_example(void **state)
{
	(void)state;
	struct ctl_inventory *inv = NULL;
	char err[512];
	assert_int_equal(ctl_inventory_load(EXAMPLES "theatre.json", &inv, err, sizeof(err)), 0);
	FILE *f = fopen(EXAMPLES "members/patrons.csv", "rb");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	const struct ctl_members_text t = {.file = "members/patrons.csv", .text = buf, .len = len};
	if (ctl_inventory_attach_members(inv, &t, 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	const struct ctl_presale *p = &inv->events[0].extra.presales[0];
	assert_int_equal(p->n_members, 300);
	uint64_t uses = 0;
	for (uint32_t i = 0; i < p->n_members; i++)
		uses += p->members[i].uses;
	assert_int_equal(uses, 366);
	assert_string_equal(p->members[0].code, "PATRON-0001-VTFH");
	ctl_inventory_free(inv);
}

/* ---- garbage ---- */

/* One input's outcome: parsed with sane members, or refused with a message naming the file. */
static int check_outcome(const char *buf, size_t len)
{
	struct ctl_access_code *m = NULL;
	uint32_t n = 0, *lines = NULL;
	char err[512] = "x";
	int rc = ctl_members_parse("g.csv", buf, len, &m, &n, &lines, err, sizeof(err));
	if (rc == 0) {
		assert_string_equal(err, "");
		assert_true(n >= 1 && n <= CTL_MEMBERS_MAX);
		for (uint32_t i = 0; i < n; i++) {
			size_t cl = strlen(m[i].code);
			assert_true(cl >= 1 && cl <= 32);
			for (size_t k = 0; k < cl; k++)
				assert_true(m[i].code[k] > 0x20 && m[i].code[k] < 0x7f && m[i].code[k] != ',');
			assert_true(m[i].uses >= 1 && m[i].uses <= CTL_CODE_USES_MAX);
			assert_true(i == 0 || lines[i] > lines[i - 1]);
		}
		free(m);
		free(lines);
		return 1;
	}
	assert_int_equal(rc, -EINVAL);
	assert_null(m);
	if (strncmp(err, "g.csv:", 6) != 0 && strncmp(err, "g.csv: ", 7) != 0)
		fail_msg("message does not name the file: %s", err);
	assert_true(strlen(err) > 12 && strchr(err, '\n') == NULL);
	return 0;
}

static void test_garbage(void **state)
{
	(void)state;
	static const char base[] = "# members\nGOLD-1\nSILVER-2,5\r\n\nBRONZE-3, 12\nx\n  PLAT-4,1000000\n";
	static const char *const tokens[] = {",", ",,", "\n", "\r\n", "#", " ", "0", "1000001", "\xff", "\xc3\xa9",
					     "GOLD-1", "\t", "-"};
	char buf[4096];
	unsigned ok = 0;
	for (int it = 0; it < 20000; it++) {
		size_t len;
		if (it % 3 == 0) {
			len = rnd() % 300;
			static const char alpha[] = "ABC,#\n\r 0123456789\t";
			for (size_t k = 0; k < len; k++)
				buf[k] = rnd() % 2 ? (char)rnd() : alpha[rnd() % (sizeof(alpha) - 1)];
		} else {
			len = sizeof(base) - 1;
			memcpy(buf, base, len);
			int muts = 1 + (int)(rnd() % 3);
			for (int mu = 0; mu < muts && len > 1; mu++) {
				size_t at = rnd() % len;
				switch (rnd() % 3) {
				case 0:
					buf[at] = (char)rnd();
					break;
				case 1: {
					size_t n = 1 + rnd() % 8;
					if (at + n > len)
						n = len - at;
					memmove(buf + at, buf + at + n, len - at - n);
					len -= n;
					break;
				}
				default: {
					const char *t = tokens[rnd() % (sizeof(tokens) / sizeof(tokens[0]))];
					size_t n = strlen(t);
					if (len + n < sizeof(buf)) {
						memmove(buf + at + n, buf + at, len - at);
						memcpy(buf + at, t, n);
						len += n;
					}
					break;
				}
				}
			}
		}
		ok += (unsigned)check_outcome(buf, len);
	}
	print_message("garbage: %u of 20000 inputs parsed\n", ok);
	assert_true(ok > 0 && ok < 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
