/*
 * ctl_wire.c - framing of the control channel (ctl_wire.h, docs/control.md).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_wire.h"

_Static_assert(CTL_MSG_BYTES_MAX < UINT32_MAX, "the length travels in 32 bits");

/* Fill a sockaddr_un for path; -ENAMETOOLONG if it does not fit (or is empty). */
static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

int ctl_wire_connect(const char *path)
{
	struct sockaddr_un sa;
	int rc = make_addr(path, &sa);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Make the parent directory of path (one level, 0700) if it is missing. */
static void make_parent(const char *path)
{
	char dir[CTL_SOCKET_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	(void)mkdir(dir, 0700);
}

int ctl_wire_listen(const char *path)
{
	struct sockaddr_un sa;
	int rc = make_addr(path, &sa);
	if (rc)
		return rc;
	make_parent(path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -ENOTSOCK;
		/* A socket file: replace it only if no one listens on it. */
		int probe = ctl_wire_connect(path);
		if (probe >= 0) {
			close(probe);
			return -EADDRINUSE;
		}
		if (unlink(path) != 0 && errno != ENOENT)
			return -errno;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Created 0600 from the start: no window in which others could connect. */
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int ctl_wire_send(int fd, const json_t *msg)
{
	if (!json_is_object(msg))
		return -EINVAL;
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	if (n == 0)
		return -ENOMEM;
	if (n > CTL_MSG_BYTES_MAX)
		return -EMSGSIZE;
	char *buf = malloc(4 + n);
	if (!buf)
		return -ENOMEM;
	size_t got = json_dumpb(msg, buf + 4, n, JSON_COMPACT);
	if (got != n) {
		free(buf);
		return -ENOMEM;
	}
	const uint32_t len = (uint32_t)n;
	buf[0] = (char)(len & 0xff);
	buf[1] = (char)((len >> 8) & 0xff);
	buf[2] = (char)((len >> 16) & 0xff);
	buf[3] = (char)((len >> 24) & 0xff);
	size_t off = 0;
	int rc = 0;
	while (off < 4 + n) {
		ssize_t w = send(fd, buf + off, 4 + n - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = errno == EPIPE ? -EPIPE : -errno;
			break;
		}
		off += (size_t)w;
	}
	free(buf);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes before deadline_ms (-1: none). */
static int read_full(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	size_t off = 0;
	while (off < len) {
		int wait_ms = -1;
		if (deadline_ms >= 0) {
			int64_t left = deadline_ms - now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, wait_ms);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return -ETIMEDOUT;
		ssize_t r = recv(fd, (char *)buf + off, len - off, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		off += (size_t)r;
	}
	return 0;
}

int ctl_wire_decode(const void *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	if (len == 0 || len > CTL_MSG_BYTES_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "length %zu outside 1..%u", len, CTL_MSG_BYTES_MAX);
		return -EMSGSIZE;
	}
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: a request naming a field twice is ambiguous. */
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		if (err && errlen)
			snprintf(err, errlen, "not JSON: %s at byte %d", je.text, je.position);
		return -EBADMSG;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		if (err && errlen)
			snprintf(err, errlen, "not a JSON object");
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

int ctl_wire_recv(int fd, int timeout_ms, json_t **out)
{
	if (fd < 0)
		return -EBADF;
	const int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	unsigned char hdr[4];
	int rc = read_full(fd, hdr, sizeof(hdr), deadline);
	if (rc)
		return rc;
	const uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	if (len == 0 || len > CTL_MSG_BYTES_MAX)
		return -EMSGSIZE;
	char *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	rc = read_full(fd, buf, len, deadline);
	if (rc == 0)
		rc = ctl_wire_decode(buf, len, out, NULL, 0);
	free(buf);
	return rc;
}

int ctl_wire_call(int fd, const json_t *req, int timeout_ms, json_t **reply)
{
	int rc = ctl_wire_send(fd, req);
	if (rc)
		return rc;
	return ctl_wire_recv(fd, timeout_ms, reply);
}

json_t *ctl_wire_error(const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message", msg);
}

json_t *ctl_wire_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

int ctl_wire_get_int(const json_t *obj, const char *key, int required, long long min, long long max,
		     long long *out, json_t **err_reply)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required && err_reply)
			*err_reply = ctl_wire_error("bad_request", "field \"%s\" is missing (expected an integer %lld..%lld)",
						    key, min, max);
		return -ENOENT;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		if (err_reply)
			*err_reply = ctl_wire_error("bad_request", "field \"%s\": expected an integer %lld..%lld", key,
						    min, max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}
