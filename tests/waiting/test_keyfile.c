/*
 * test_keyfile.c - the waiting room's key file (dataplane/dp_keys_file.c):
 * what parses, every refusal with its exact message (content, mode, owner,
 * size, missing file), generating (0600, O_EXCL) and rotating (atomic, new
 * key current, oldest dropped, tokens of the previous key still verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/dp_token.h"
#include "tests/waiting/waiting_helpers.h"

#define OTHER_UID 12345
#define TEXT_MAX 1024

static char dir[64];
static char path[128];

/* The 64 hex digits of w_secret(seed). */
static void hex_of(uint8_t seed, char *out)
{
	uint8_t s[DP_KEY_SIZE];
	w_secret(seed, s);
	for (unsigned i = 0; i < DP_KEY_SIZE; i++)
		sprintf(out + 2 * i, "%02x", s[i]);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/stampede-keys-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/keys", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to path with mode (replacing it). */
static void write_file(const char *text, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Parses text (NUL-terminated) from memory as "keys.txt"; returns the
 * result and leaves the message in err. */
static int parse(const char *text, char *err)
{
	struct dp_keys *ks = NULL;
	err[0] = '\0';
	int rc = dp_keys_parse(text, strlen(text), "keys.txt", &ks, err, DP_KEYS_ERR_MAX);
	if (rc == 0) {
		assert_non_null(ks);
		dp_keys_free(ks);
	} else {
		assert_null(ks);
	}
	return rc;
}

/* A token minted with ks verifies with the secret w_secret(seed) as key id. */
static void assert_key(const struct dp_keys *ks, uint8_t id, uint8_t seed)
{
	uint8_t s[DP_KEY_SIZE];
	w_secret(seed, s);
	struct dp_keys *ref = dp_keys_new();
	assert_non_null(ref);
	assert_int_equal(dp_keys_add(ref, id, s), 0);
	uint8_t body[DP_TOKEN_BODY_SIZE], a[DP_TOKEN_MAC_SIZE], b[DP_TOKEN_MAC_SIZE];
	memset(body, 0x5a, sizeof(body));
	assert_int_equal(dp_token_mac(ks, id, body, a), 0);
	assert_int_equal(dp_token_mac(ref, id, body, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	dp_keys_free(ref);
}

static void test_parse_accepts(void **state)
{
	(void)state;
	char h1[65], h2[65], text[TEXT_MAX], err[DP_KEYS_ERR_MAX];
	hex_of(0x11, h1);
	hex_of(0x22, h2);
	/* Comments, blank lines, tabs, CRLF, upper case, a trailing comment. */
	for (char *p = h2; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(text, sizeof(text), "# keys\n\n   \t\n  17\t%s   # current\r\n255 %s", h1, h2);
	struct dp_keys *ks = NULL;
	assert_int_equal(dp_keys_parse(text, strlen(text), "k", &ks, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_count(ks), 2);
	assert_int_equal(dp_keys_current_id(ks), 17);
	assert_key(ks, 17, 0x11);
	assert_key(ks, 255, 0x22);
	dp_keys_free(ks);

	struct dp_key_entry e[DP_KEYS_MAX];
	unsigned n = 0;
	snprintf(text, sizeof(text), "0 %s\n", h1);
	assert_int_equal(dp_keys_parse_entries(text, strlen(text), "k", e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].id, 0);
	uint8_t s[DP_KEY_SIZE];
	w_secret(0x11, s);
	assert_memory_equal(e[0].secret, s, DP_KEY_SIZE);
	/* Text need not end in NUL: only len bytes are read. */
	assert_int_equal(dp_keys_parse_entries(text, 2 + 64, "k", e, &n, err, sizeof(err)), 0);
}

static void test_parse_refusals(void **state)
{
	(void)state;
	char h[65], text[TEXT_MAX], err[DP_KEYS_ERR_MAX];
	hex_of(0x33, h);
	static const struct {
		const char *fmt; /* %s: a valid key's hex (used once or twice) */
		const char *msg;
	} cases[] = {
		{"", "keys.txt: no key in the file"},
		{"# only a comment\n\n", "keys.txt: no key in the file"},
		{"256 %s\n", "keys.txt:1: key id must be a number 0..255, then a space and the key"},
		{"\n-1 %s\n", "keys.txt:2: key id must be a number 0..255, then a space and the key"},
		{"0001 %s\n", "keys.txt:1: key id must be a number 0..255, then a space and the key"},
		{"x %s\n", "keys.txt:1: key id must be a number 0..255, then a space and the key"},
		{"1%s\n", "keys.txt:1: key id must be a number 0..255, then a space and the key"},
		{"1\n", "keys.txt:1: key id must be a number 0..255, then a space and the key"},
		{"1 %.63s\n", "keys.txt:1: key must be exactly 64 hex digits"},
		{"1 %s0\n", "keys.txt:1: key must be exactly 64 hex digits"},
		{"1 %.63sg\n", "keys.txt:1: key must be exactly 64 hex digits"},
		{"1 %s extra\n", "keys.txt:1: unexpected text after the key"},
		{"1 %s\n1 %s\n", "keys.txt:2: duplicate key id 1 (also on line 1)"},
		{"1 %s\n2 %s\n3 %s\n", "keys.txt:3: more than 2 keys"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(text, sizeof(text), cases[i].fmt, h, h, h);
#pragma GCC diagnostic pop
		assert_int_equal(parse(text, err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
	/* A NUL byte inside the text. */
	snprintf(text, sizeof(text), "1 %s\n", h);
	text[5] = '\0';
	struct dp_keys *ks = NULL;
	assert_int_equal(dp_keys_parse(text, 2 + 64 + 1, "keys.txt", &ks, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "keys.txt:1: NUL byte in the file");
	/* Too large. */
	char *big = calloc(1, DP_KEYS_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '\n', DP_KEYS_FILE_MAX + 1);
	assert_int_equal(dp_keys_parse(big, DP_KEYS_FILE_MAX + 1, "keys.txt", &ks, err, sizeof(err)), -EFBIG);
	assert_string_equal(err, "keys.txt: larger than 65536 bytes");
	free(big);
	assert_null(ks);
	/* err may be absent. */
	assert_int_equal(dp_keys_parse("", 0, "keys.txt", &ks, NULL, 0), -EINVAL);
}

static void test_load_checks(void **state)
{
	(void)state;
	char h[65], text[TEXT_MAX], err[DP_KEYS_ERR_MAX], want[DP_KEYS_ERR_MAX];
	hex_of(0x44, h);
	snprintf(text, sizeof(text), "9 %s\n", h);
	struct dp_keys *ks = NULL;

	/* Missing. */
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* Good: 0600 and 0400. */
	write_file(text, strlen(text), 0600);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	assert_key(ks, 9, 0x44);
	dp_keys_free(ks);
	ks = NULL;
	write_file(text, strlen(text), 0400);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	dp_keys_free(ks);
	ks = NULL;

	/* Any group or other bit. */
	static const mode_t bad_modes[] = {0640, 0620, 0604, 0602, 0610, 0601, 0644, 0666};
	for (unsigned i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		write_file(text, strlen(text), bad_modes[i]);
		assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), -EPERM);
		snprintf(want, sizeof(want), "%s: mode %04o lets group or others at the keys (chmod 600 it)", path,
			 (unsigned)bad_modes[i]);
		assert_string_equal(err, want);
		assert_null(ks);
	}

	/* Not a regular file. */
	assert_int_equal(dp_keys_load(dir, &ks, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);

	/* Content errors carry the path and line. */
	write_file("1 abc\n", 6, 0600);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: key must be exactly 64 hex digits", path);
	assert_string_equal(err, want);

	/* Too large on disk. */
	char *big = malloc(DP_KEYS_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, '#', DP_KEYS_FILE_MAX + 1);
	write_file(big, DP_KEYS_FILE_MAX + 1, 0600);
	free(big);
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 65536 bytes", path);
	assert_string_equal(err, want);

	/* Another owner (needs root to give the file away). */
	write_file(text, strlen(text), 0600);
	if (geteuid() != 0 || chown(path, OTHER_UID, (gid_t)-1) != 0) {
		print_message("not root: the owner check is not exercised\n");
		return;
	}
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s: owned by uid %u, not by this process's effective uid 0", path, OTHER_UID);
	assert_string_equal(err, want);
	assert_null(ks);
}

static void test_generate(void **state)
{
	(void)state;
	char err[DP_KEYS_ERR_MAX], want[DP_KEYS_ERR_MAX];
	unlink(path);
	assert_int_equal(dp_keys_generate(path, 200, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	struct dp_keys *ks = NULL;
	assert_int_equal(dp_keys_load(path, &ks, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_count(ks), 1);
	assert_int_equal(dp_keys_current_id(ks), 200);
	dp_keys_free(ks);
	/* O_EXCL: never overwrites. */
	assert_int_equal(dp_keys_generate(path, 201, err, sizeof(err)), -EEXIST);
	snprintf(want, sizeof(want), "%s: File exists", path);
	assert_string_equal(err, want);
	/* Two generations differ (random keys). */
	char path2[160];
	snprintf(path2, sizeof(path2), "%s/keys2", dir);
	assert_int_equal(dp_keys_generate(path2, 200, err, sizeof(err)), 0);
	struct dp_keys *a = NULL, *b = NULL;
	assert_int_equal(dp_keys_load(path, &a, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_load(path2, &b, err, sizeof(err)), 0);
	uint8_t body[DP_TOKEN_BODY_SIZE] = {0}, ma[DP_TOKEN_MAC_SIZE], mb[DP_TOKEN_MAC_SIZE];
	assert_int_equal(dp_token_mac(a, 200, body, ma), 0);
	assert_int_equal(dp_token_mac(b, 200, body, mb), 0);
	assert_memory_not_equal(ma, mb, sizeof(ma));
	dp_keys_free(a);
	dp_keys_free(b);
	unlink(path2);
}

static void test_rotate_file(void **state)
{
	(void)state;
	char err[DP_KEYS_ERR_MAX];
	unlink(path);
	assert_int_equal(dp_keys_generate(path, 7, err, sizeof(err)), 0);
	struct dp_keys *k0 = NULL, *k1 = NULL, *k2 = NULL;
	assert_int_equal(dp_keys_load(path, &k0, err, sizeof(err)), 0);
	struct dp_token_fields a = w_access();
	uint8_t t0[DP_TOKEN_SIZE], t1[DP_TOKEN_SIZE];
	assert_int_equal(dp_token_mint(k0, &a, t0), 0);

	uint8_t id = 0;
	assert_int_equal(dp_keys_rotate_file(path, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 8);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dp_keys_load(path, &k1, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_count(k1), 2);
	assert_int_equal(dp_keys_current_id(k1), 8);
	assert_int_equal(dp_token_verify(k1, t0, DP_TOKEN_ACCESS, 7, 1001, 0, NULL), DP_TOKEN_OK);
	assert_int_equal(dp_token_mint(k1, &a, t1), 0);
	assert_int_equal(t1[2], 8);

	assert_int_equal(dp_keys_rotate_file(path, NULL, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_load(path, &k2, err, sizeof(err)), 0);
	assert_int_equal(dp_keys_current_id(k2), 9);
	assert_int_equal(dp_token_verify(k2, t0, DP_TOKEN_ACCESS, 7, 1001, 0, NULL), DP_TOKEN_UNKNOWN_KEY);
	assert_int_equal(dp_token_verify(k2, t1, DP_TOKEN_ACCESS, 7, 1001, 0, NULL), DP_TOKEN_OK);
	dp_keys_free(k0);
	dp_keys_free(k1);
	dp_keys_free(k2);

	/* The new id skips the previous key's id: 5 then 6 gives 7. Id 255 wraps to 0. */
	char h[65], text[TEXT_MAX];
	hex_of(0x55, h);
	snprintf(text, sizeof(text), "5 %s\n6 %s\n", h, h);
	write_file(text, strlen(text), 0600);
	assert_int_equal(dp_keys_rotate_file(path, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 7);
	struct dp_key_entry e[DP_KEYS_MAX];
	unsigned n = 0;
	snprintf(text, sizeof(text), "255 %s\n", h);
	write_file(text, strlen(text), 0600);
	assert_int_equal(dp_keys_rotate_file(path, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_int_equal(dp_keys_parse_entries(text, len, "k", e, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].id, 0);
	assert_int_equal(e[1].id, 255);
	uint8_t s[DP_KEY_SIZE];
	w_secret(0x55, s);
	assert_memory_equal(e[1].secret, s, DP_KEY_SIZE);

	/* A refused file is left as it was, and no temporary stays behind. */
	write_file(text, len, 0644);
	char want[DP_KEYS_ERR_MAX];
	assert_int_equal(dp_keys_rotate_file(path, &id, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s: mode 0644 lets group or others at the keys (chmod 600 it)", path);
	assert_string_equal(err, want);
	char now[TEXT_MAX];
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(now, 1, sizeof(now), f), len);
	fclose(f);
	assert_memory_equal(now, text, len);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^keys$')\"", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts), cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_load_checks),   cmocka_unit_test(test_generate),
		cmocka_unit_test(test_rotate_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
