/*
 * fake_control.c - a stand-in for stampede-control in stampedectl's tests.
 *
 *   fake_control SOCKET SCRIPT LOG
 *
 * Listens on SOCKET (ctl_wire_listen), serves one connection at a time, and
 * answers each request from SCRIPT, a JSON object read again for every
 * request (so a test rewrites it between cases) that maps a command name to
 * what to do:
 *
 *   {...}                           send this object as the reply
 *   {"$raw": "TEXT"}                send TEXT as the body of one frame (not JSON, not an object...)
 *   {"$raw": "TEXT", "$len": N}     a frame header saying N bytes, then TEXT, then close
 *   {"$close": true}                close the connection without replying
 *   {"$sleep_ms": N}                wait N ms, then close without replying
 *
 * A command the script does not name gets {"ok": false, "error":
 * "unknown_command"}. Every request received is appended to LOG as one line
 * of JSON with sorted keys, before the reply, so the test sees exactly what
 * stampedectl sent. Runs until killed (SIGTERM).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_wire.h"

/* Append req to the log as one sorted line; the test reads it after each run. */
static void log_request(const char *log_path, const json_t *req)
{
	FILE *f = fopen(log_path, "a");
	if (!f) {
		perror(log_path);
		exit(1);
	}
	json_dumpf(req, f, JSON_COMPACT | JSON_SORT_KEYS);
	fputs("\n", f);
	fclose(f);
}

/* Send len bytes as they are; errors are ignored (the client may be gone). */
static void send_bytes(int fd, const void *buf, size_t len)
{
	(void)send(fd, buf, len, MSG_NOSIGNAL);
}

/* A frame header for len bytes, little-endian. */
static void send_header(int fd, uint32_t len)
{
	unsigned char h[4] = {(unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
			      (unsigned char)(len >> 24)};
	send_bytes(fd, h, sizeof(h));
}

/* Answer one request by the script; returns 0 to keep the connection, -1 to close it. */
static int answer(int fd, const char *script_path, const json_t *req)
{
	json_error_t je;
	json_t *script = json_load_file(script_path, 0, &je);
	if (!script) {
		fprintf(stderr, "fake_control: %s:%d: %s\n", script_path, je.line, je.text);
		exit(1);
	}
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *spec = cmd ? json_object_get(script, cmd) : NULL;
	int keep = 0;
	if (!spec) {
		json_t *err = ctl_wire_error("unknown_command", "fake_control: no reply for \"%s\"", cmd ? cmd : "?");
		ctl_wire_send(fd, err);
		json_decref(err);
	} else if (json_object_get(spec, "$raw")) {
		const char *raw = json_string_value(json_object_get(spec, "$raw"));
		size_t n = raw ? strlen(raw) : 0;
		json_t *len = json_object_get(spec, "$len");
		send_header(fd, len ? (uint32_t)json_integer_value(len) : (uint32_t)n);
		send_bytes(fd, raw, n);
		keep = len ? -1 : 0;
	} else if (json_object_get(spec, "$close")) {
		keep = -1;
	} else if (json_object_get(spec, "$sleep_ms")) {
		long long ms = json_integer_value(json_object_get(spec, "$sleep_ms"));
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		keep = -1;
	} else {
		ctl_wire_send(fd, spec);
	}
	json_decref(script);
	return keep;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fake_control SOCKET SCRIPT LOG\n");
		return 2;
	}
	int lfd = ctl_wire_listen(argv[1]);
	if (lfd < 0) {
		fprintf(stderr, "fake_control: listen %s: %s\n", argv[1], strerror(-lfd));
		return 1;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		for (;;) {
			json_t *req = NULL;
			if (ctl_wire_recv(fd, -1, &req) != 0)
				break;
			log_request(argv[3], req);
			int keep = answer(fd, argv[2], req);
			json_decref(req);
			if (keep < 0)
				break;
		}
		close(fd);
	}
}
