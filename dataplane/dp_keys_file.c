/*
 * dp_keys_file.c - the waiting room's key file (dp_token.h): parsing from
 * memory, loading with ownership and permission checks, generating a new
 * file and rotating one atomically. Control path: allocates, does I/O.
 */
#include "dataplane/dp_token.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define KEY_HEX_DIGITS (2 * DP_KEY_SIZE)
#define KEY_ID_MAX 255u
#define KEY_ID_DIGITS_MAX 3
/* Header comment, two key lines of "255 " + hex + "\n", with room to spare. */
#define KEYS_TEXT_MAX 512

_Static_assert(DP_KEYS_MAX == 2, "messages and rotation speak of two keys");

/* Formats a message into err (err_len bytes; NULL or 0 writes nothing);
 * fmt may not be NULL. */
__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	if (!err || err_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* Whether c separates fields: space, tab, or the CR of a CRLF line end. */
static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Value 0..15 of hex digit c (either case), or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parses one line [p, end) (no newline in it) numbered lineno. Returns 0
 * with *has_key 0 for a blank or comment line, 0 with *has_key 1 and *e
 * filled for a key line, or -EINVAL with a message. name and e may not be
 * NULL.
 */
static int parse_line(const char *p, const char *end, const char *name, unsigned lineno,
		      struct dp_key_entry *e, int *has_key, char *err, size_t err_len)
{
	*has_key = 0;
	if (memchr(p, '\0', (size_t)(end - p))) {
		set_err(err, err_len, "%s:%u: NUL byte in the file", name, lineno);
		return -EINVAL;
	}
	const char *hash = memchr(p, '#', (size_t)(end - p));
	if (hash)
		end = hash;
	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	if (p == end)
		return 0;

	unsigned id = 0, digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits <= KEY_ID_DIGITS_MAX) {
		id = id * 10 + (unsigned)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > KEY_ID_DIGITS_MAX || id > KEY_ID_MAX || p == end || !is_blank(*p)) {
		set_err(err, err_len, "%s:%u: key id must be a number 0..255, then a space and the key", name,
			lineno);
		return -EINVAL;
	}
	while (p < end && is_blank(*p))
		p++;
	unsigned n_hex = 0;
	while (p + n_hex < end && hex_value(p[n_hex]) >= 0)
		n_hex++;
	if (n_hex != KEY_HEX_DIGITS || (p + n_hex < end && !is_blank(p[n_hex]))) {
		set_err(err, err_len, "%s:%u: key must be exactly %u hex digits", name, lineno, KEY_HEX_DIGITS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < DP_KEY_SIZE; i++)
		e->secret[i] = (uint8_t)(hex_value(p[2 * i]) << 4 | hex_value(p[2 * i + 1]));
	e->id = (uint8_t)id;
	p += n_hex;
	while (p < end && is_blank(*p))
		p++;
	if (p != end) {
		set_err(err, err_len, "%s:%u: unexpected text after the key", name, lineno);
		return -EINVAL;
	}
	*has_key = 1;
	return 0;
}

/* Entries of key-file text; text (len bytes), name, e[DP_KEYS_MAX], n may
 * not be NULL (text may be if len is 0). */
int dp_keys_parse_entries(const char *text, size_t len, const char *name, struct dp_key_entry *e,
			  unsigned *n, char *err, size_t err_len)
{
	assert(name && e && n && (text || len == 0));
	if (len > DP_KEYS_FILE_MAX) {
		set_err(err, err_len, "%s: larger than %u bytes", name, DP_KEYS_FILE_MAX);
		return -EFBIG;
	}
	unsigned count = 0, lines[DP_KEYS_MAX] = {0}, lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct dp_key_entry k;
		int has_key;
		lineno++;
		int rc = parse_line(p, line_end, name, lineno, &k, &has_key, err, err_len);
		if (rc) {
			OPENSSL_cleanse(e, sizeof(*e) * DP_KEYS_MAX);
			return rc;
		}
		p = nl ? nl + 1 : end;
		if (!has_key)
			continue;
		for (unsigned i = 0; i < count; i++) {
			if (e[i].id == k.id) {
				set_err(err, err_len, "%s:%u: duplicate key id %u (also on line %u)", name, lineno,
					k.id, lines[i]);
				rc = -EINVAL;
			}
		}
		if (!rc && count == DP_KEYS_MAX) {
			set_err(err, err_len, "%s:%u: more than %u keys", name, lineno, DP_KEYS_MAX);
			rc = -EINVAL;
		}
		if (rc) {
			OPENSSL_cleanse(&k, sizeof(k));
			OPENSSL_cleanse(e, sizeof(*e) * DP_KEYS_MAX);
			return rc;
		}
		e[count] = k;
		lines[count] = lineno;
		count++;
		OPENSSL_cleanse(&k, sizeof(k));
	}
	if (count == 0) {
		set_err(err, err_len, "%s: no key in the file", name);
		return -EINVAL;
	}
	*n = count;
	return 0;
}

/* Builds a set from entries e[0..n-1] (distinct ids, n <= DP_KEYS_MAX). */
static int build_set(const struct dp_key_entry *e, unsigned n, const char *name, struct dp_keys **out,
		     char *err, size_t err_len)
{
	struct dp_keys *ks = dp_keys_new();
	if (!ks) {
		set_err(err, err_len, "%s: out of memory", name);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		int rc = dp_keys_add(ks, e[i].id, e[i].secret);
		assert(rc == 0); /* parse_entries refused duplicates and extra keys */
		(void)rc;
	}
	*out = ks;
	return 0;
}

/* Key set from text; see dp_keys_parse_entries for what may be NULL; out
 * may not be. */
int dp_keys_parse(const char *text, size_t len, const char *name, struct dp_keys **out, char *err,
		  size_t err_len)
{
	assert(out);
	struct dp_key_entry e[DP_KEYS_MAX];
	unsigned n = 0;
	int rc = dp_keys_parse_entries(text, len, name, e, &n, err, err_len);
	if (rc == 0)
		rc = build_set(e, n, name, out, err, err_len);
	OPENSSL_cleanse(e, sizeof(e));
	return rc;
}

/*
 * Reads the key file at path after the ownership and mode checks into a
 * new buffer (*buf, *len; free with free after wiping). path, buf, len may
 * not be NULL. Errors as dp_keys_load's, less -EINVAL.
 */
static int read_checked(const char *path, char **buf, size_t *len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		set_err(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		set_err(err, err_len, "%s: %s", path, strerror(-rc));
	} else if (!S_ISREG(st.st_mode)) {
		rc = -EPERM;
		set_err(err, err_len, "%s: not a regular file", path);
	} else if (st.st_mode & 077) {
		rc = -EPERM;
		set_err(err, err_len, "%s: mode %04o lets group or others at the keys (chmod 600 it)", path,
			(unsigned)(st.st_mode & 07777));
	} else if (st.st_uid != geteuid()) {
		rc = -EPERM;
		set_err(err, err_len, "%s: owned by uid %u, not by this process's effective uid %u", path,
			(unsigned)st.st_uid, (unsigned)geteuid());
	} else if (st.st_size > DP_KEYS_FILE_MAX) {
		rc = -EFBIG;
		set_err(err, err_len, "%s: larger than %u bytes", path, DP_KEYS_FILE_MAX);
	}
	char *b = NULL;
	size_t n = 0;
	if (rc == 0 && !(b = malloc(DP_KEYS_FILE_MAX + 1))) {
		rc = -ENOMEM;
		set_err(err, err_len, "%s: out of memory", path);
	}
	while (rc == 0) { /* up to one byte past the limit: the file may grow */
		ssize_t r = read(fd, b + n, DP_KEYS_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			set_err(err, err_len, "%s: %s", path, strerror(-rc));
		} else if (r == 0) {
			break;
		} else if ((n += (size_t)r) > DP_KEYS_FILE_MAX) {
			rc = -EFBIG;
			set_err(err, err_len, "%s: larger than %u bytes", path, DP_KEYS_FILE_MAX);
		}
	}
	close(fd);
	if (rc) {
		if (b) {
			OPENSSL_cleanse(b, DP_KEYS_FILE_MAX + 1);
			free(b);
		}
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Loads path into *out; path and out may not be NULL. */
int dp_keys_load(const char *path, struct dp_keys **out, char *err, size_t err_len)
{
	assert(path && out);
	char *buf;
	size_t len;
	int rc = read_checked(path, &buf, &len, err, err_len);
	if (rc)
		return rc;
	rc = dp_keys_parse(buf, len, path, out, err, err_len);
	OPENSSL_cleanse(buf, DP_KEYS_FILE_MAX + 1);
	free(buf);
	return rc;
}

/*
 * Formats entries e[0..n-1] as key-file text into buf (KEYS_TEXT_MAX
 * bytes). Returns the length.
 */
static size_t format_keys(const struct dp_key_entry *e, unsigned n, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = (size_t)snprintf(buf, KEYS_TEXT_MAX,
				      "# Stampede waiting-room keys (docs/waiting-room.md): ID HEX, first is current.\n"
				      "# Keep this file mode 0600, owned by the user the dataplane runs as.\n");
	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, KEYS_TEXT_MAX - len, "%u ", e[i].id);
		assert(len + KEY_HEX_DIGITS + 1 < KEYS_TEXT_MAX);
		for (unsigned j = 0; j < DP_KEY_SIZE; j++) {
			buf[len++] = hex[e[i].secret[j] >> 4];
			buf[len++] = hex[e[i].secret[j] & 15];
		}
		buf[len++] = '\n';
	}
	return len;
}

/* Writes len bytes of buf to fd, then fsyncs; returns 0 or -errno. */
static int write_all_sync(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return fsync(fd) == 0 ? 0 : -errno;
}

/* Fills e->secret from RAND_bytes; returns 0 or -EIO. */
static int random_key(struct dp_key_entry *e, uint8_t id)
{
	e->id = id;
	return RAND_bytes(e->secret, DP_KEY_SIZE) == 1 ? 0 : -EIO;
}

/* New key file at path; path may not be NULL. */
int dp_keys_generate(const char *path, uint8_t id, char *err, size_t err_len)
{
	assert(path);
	struct dp_key_entry e;
	char text[KEYS_TEXT_MAX];
	if (random_key(&e, id) != 0) {
		set_err(err, err_len, "%s: RAND_bytes failed", path);
		return -EIO;
	}
	size_t len = format_keys(&e, 1, text);
	OPENSSL_cleanse(&e, sizeof(e));
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		set_err(err, err_len, "%s: %s", path, strerror(-rc));
	} else {
		if (fchmod(fd, 0600) != 0 || (rc = write_all_sync(fd, text, len)) != 0) {
			rc = rc ? rc : -errno;
			set_err(err, err_len, "%s: %s", path, strerror(-rc));
		}
		if (close(fd) != 0 && rc == 0) {
			rc = -errno;
			set_err(err, err_len, "%s: %s", path, strerror(-rc));
		}
		if (rc)
			unlink(path);
	}
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* fsyncs the directory holding path; returns 0 or -errno. */
static int sync_parent(const char *path)
{
	char copy[PATH_MAX];
	if (strlen(path) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return rc;
}

/* Writes text (len bytes) to path through a temporary and rename. */
static int replace_file(const char *path, const char *text, size_t len, char *err, size_t err_len)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		set_err(err, err_len, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	int fd = mkstemp(tmp); /* creates the file 0600 */
	if (fd < 0) {
		int e = errno;
		set_err(err, err_len, "%s: temporary file: %s", path, strerror(e));
		return -e;
	}
	int rc = 0;
	if (fchmod(fd, 0600) != 0)
		rc = -errno;
	if (rc == 0)
		rc = write_all_sync(fd, text, len);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		set_err(err, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if ((rc = sync_parent(path)) != 0)
		set_err(err, err_len, "%s: directory fsync: %s", path, strerror(-rc));
	return rc;
}

/* Rotates the key file at path; path may not be NULL, new_id may. */
int dp_keys_rotate_file(const char *path, uint8_t *new_id, char *err, size_t err_len)
{
	assert(path);
	char *buf;
	size_t len;
	int rc = read_checked(path, &buf, &len, err, err_len);
	if (rc)
		return rc;
	struct dp_key_entry e[DP_KEYS_MAX + 1];
	unsigned n = 0;
	rc = dp_keys_parse_entries(buf, len, path, e + 1, &n, err, err_len);
	OPENSSL_cleanse(buf, DP_KEYS_FILE_MAX + 1);
	free(buf);
	if (rc)
		return rc;
	/* e[1] is the current key, e[2] (if any) the previous: e[0] is new. */
	uint8_t id = (uint8_t)(e[1].id + 1);
	if (n == DP_KEYS_MAX && id == e[2].id)
		id++;
	if (random_key(&e[0], id) != 0) {
		OPENSSL_cleanse(e, sizeof(e));
		set_err(err, err_len, "%s: RAND_bytes failed", path);
		return -EIO;
	}
	char text[KEYS_TEXT_MAX];
	size_t text_len = format_keys(e, DP_KEYS_MAX, text);
	OPENSSL_cleanse(e, sizeof(e));
	rc = replace_file(path, text, text_len, err, err_len);
	OPENSSL_cleanse(text, sizeof(text));
	if (rc == 0 && new_id)
		*new_id = id;
	return rc;
}
