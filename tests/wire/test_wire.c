/*
 * test_wire.c - the control channel's framing (control/ctl_wire.c): round
 * trips, every error the header names, listen-socket permissions and
 * replacement rules, and garbage bodies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/ctl_wire.h"

/* A connected pair of stream sockets. */
static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* Write raw bytes to fd, all of them. */
static void put_raw(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void put_len(int fd, uint32_t len)
{
	unsigned char h[4] = {(unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
			      (unsigned char)(len >> 24)};
	put_raw(fd, h, 4);
}

static void test_round_trip(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	json_t *msg = json_pack("{s:s, s:I, s:[i,i], s:s}", "cmd", "expire", "event", (json_int_t)7, "holds", 1, 2,
				"text", "caf\xc3\xa9 \"quoted\"\n");
	assert_non_null(msg);
	assert_int_equal(ctl_wire_send(sv[0], msg), 0);
	json_t *got = NULL;
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), 0);
	assert_true(json_equal(msg, got));
	/* Two messages back to back arrive as two. */
	assert_int_equal(ctl_wire_send(sv[0], msg), 0);
	json_t *ok = ctl_wire_ok();
	assert_int_equal(ctl_wire_send(sv[0], ok), 0);
	json_t *a = NULL, *b = NULL;
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &a), 0);
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &b), 0);
	assert_true(json_equal(a, msg));
	assert_true(json_is_true(json_object_get(b, "ok")));
	json_decref(a);
	json_decref(b);
	json_decref(ok);
	json_decref(got);
	json_decref(msg);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_refuses_non_object(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	json_t *arr = json_array();
	assert_int_equal(ctl_wire_send(sv[0], arr), -EINVAL);
	assert_int_equal(ctl_wire_send(sv[0], NULL), -EINVAL);
	json_decref(arr);
	/* Nothing was written: the reader times out. */
	json_t *got = NULL;
	assert_int_equal(ctl_wire_recv(sv[1], 50, &got), -ETIMEDOUT);
	assert_null(got);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_errors(void **state)
{
	(void)state;
	int sv[2];
	json_t *got = NULL;

	/* Length 0. */
	pair(sv);
	put_len(sv[0], 0);
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	/* Length above the bound: refused before reading (or allocating) it. */
	pair(sv);
	put_len(sv[0], CTL_MSG_BYTES_MAX + 1);
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	/* Peer closes in the middle of the length, then of the body. */
	pair(sv);
	put_raw(sv[0], "\x05\x00", 2);
	close(sv[0]);
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), -ECONNRESET);
	close(sv[1]);
	pair(sv);
	put_len(sv[0], 10);
	put_raw(sv[0], "{\"a\"", 4);
	close(sv[0]);
	assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), -ECONNRESET);
	close(sv[1]);

	/* Half a message and silence: a timeout, not a hang. */
	pair(sv);
	put_len(sv[0], 10);
	put_raw(sv[0], "{\"a\"", 4);
	assert_int_equal(ctl_wire_recv(sv[1], 100, &got), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);

	/* Not JSON; JSON but not an object. */
	static const char *const bodies[] = {"nonsense", "[1,2]", "\"s\"", "42", "{\"a\":1} {\"b\":2}",
					     "{\"a\":1,\"a\":2}", "{\"a\":", "\xff\xfe{}"};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		pair(sv);
		put_len(sv[0], (uint32_t)strlen(bodies[i]));
		put_raw(sv[0], bodies[i], strlen(bodies[i]));
		assert_int_equal(ctl_wire_recv(sv[1], 1000, &got), -EBADMSG);
		assert_null(got);
		close(sv[0]);
		close(sv[1]);
	}
	assert_int_equal(ctl_wire_recv(-1, 10, &got), -EBADF);
}

static void test_decode_garbage(void **state)
{
	(void)state;
	char err[256];
	json_t *v = NULL;
	assert_int_equal(ctl_wire_decode("", 0, &v, err, sizeof(err)), -EMSGSIZE);
	assert_int_equal(ctl_wire_decode("[]", 2, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "not a JSON object");
	assert_int_equal(ctl_wire_decode("{\"x\":1,\"x\":1}", 13, &v, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not JSON"));
	/* Random bytes: always an error or an object, never a crash. */
	unsigned char buf[64];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned objects = 0;
	for (int i = 0; i < 100000; i++) {
		size_t n = 1 + (size_t)(x % sizeof(buf));
		for (size_t j = 0; j < n; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly JSON punctuation so the parser goes deep. */
			static const char alphabet[] = "{}[]\":,0123456789aeflnrstu \\";
			buf[j] = (x & 3) ? (unsigned char)alphabet[(x >> 8) % (sizeof(alphabet) - 1)] : (unsigned char)(x >> 16);
		}
		int rc = ctl_wire_decode(buf, n, &v, NULL, 0);
		assert_true(rc == 0 || rc == -EBADMSG);
		if (rc == 0) {
			assert_true(json_is_object(v));
			json_decref(v);
			objects++;
		}
	}
	(void)objects;
}

/* A fresh directory for sockets, short enough for sun_path. */
static void tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/stw-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void test_listen_rules(void **state)
{
	(void)state;
	char dir[64], path[128];
	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir);
	int lfd = ctl_wire_listen(path);
	assert_true(lfd >= 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A live socket is not taken over. Its probe connection is the first
	 * in the backlog and closes at once, as the header says. */
	assert_int_equal(ctl_wire_listen(path), -EADDRINUSE);
	int probe = accept(lfd, NULL, NULL);
	assert_true(probe >= 0);
	json_t *none = NULL;
	assert_int_equal(ctl_wire_recv(probe, 1000, &none), -ECONNRESET);
	close(probe);

	/* Connect, exchange, and a stale file (listener closed) is replaced. */
	int c = ctl_wire_connect(path);
	assert_true(c >= 0);
	int s = accept(lfd, NULL, NULL);
	assert_true(s >= 0);
	json_t *req = json_pack("{s:s}", "cmd", "hello"), *rep = NULL;
	assert_int_equal(ctl_wire_send(c, req), 0);
	json_t *in = NULL;
	assert_int_equal(ctl_wire_recv(s, 1000, &in), 0);
	json_t *ok = ctl_wire_ok();
	assert_int_equal(ctl_wire_send(s, ok), 0);
	assert_int_equal(ctl_wire_recv(c, 1000, &rep), 0);
	assert_true(json_is_true(json_object_get(rep, "ok")));
	json_decref(in);
	json_decref(ok);
	json_decref(rep);
	close(s);
	close(c);
	close(lfd);
	lfd = ctl_wire_listen(path);
	assert_true(lfd >= 0);
	close(lfd);
	unlink(path);

	/* Something else at the path is left alone. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctl_wire_listen(path), -ENOTSOCK);
	unlink(path);

	/* Nobody listening; a path too long for sun_path. */
	assert_int_equal(ctl_wire_connect(path), -ENOENT);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ctl_wire_connect(longp), -ENAMETOOLONG);
	assert_int_equal(ctl_wire_listen(longp), -ENAMETOOLONG);
	assert_int_equal(ctl_wire_connect(""), -ENAMETOOLONG);
	json_decref(req);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

static void test_get_int(void **state)
{
	(void)state;
	json_t *o = json_pack("{s:I, s:s, s:I, s:f}", "event", (json_int_t)5, "name", "x", "big", (json_int_t)1 << 40,
			      "real", 1.5);
	long long v = -1;
	json_t *err = NULL;
	assert_int_equal(ctl_wire_get_int(o, "event", 1, 1, 100, &v, &err), 0);
	assert_int_equal(v, 5);
	assert_null(err);
	assert_int_equal(ctl_wire_get_int(o, "missing", 0, 1, 100, &v, &err), -ENOENT);
	assert_null(err);
	assert_int_equal(v, 5);
	assert_int_equal(ctl_wire_get_int(o, "missing", 1, 1, 100, &v, &err), -ENOENT);
	assert_non_null(err);
	assert_string_equal(json_string_value(json_object_get(err, "error")), "bad_request");
	assert_non_null(strstr(json_string_value(json_object_get(err, "message")), "\"missing\" is missing"));
	json_decref(err);
	static const char *const bad[] = {"name", "big", "real"};
	for (size_t i = 0; i < 3; i++) {
		err = NULL;
		assert_int_equal(ctl_wire_get_int(o, bad[i], 1, 1, 100, &v, &err), -EINVAL);
		assert_non_null(strstr(json_string_value(json_object_get(err, "message")), bad[i]));
		json_decref(err);
	}
	assert_int_equal(v, 5);
	json_t *e = ctl_wire_error("not_found", "event %d", 9);
	assert_false(json_is_true(json_object_get(e, "ok")));
	assert_string_equal(json_string_value(json_object_get(e, "message")), "event 9");
	json_decref(e);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_send_refuses_non_object),
		cmocka_unit_test(test_recv_errors),     cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_listen_rules),    cmocka_unit_test(test_get_int),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
