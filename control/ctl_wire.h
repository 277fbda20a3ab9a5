/*
 * ctl_wire.h - the control channel's framing (docs/control.md, "Framing"):
 * AF_UNIX stream sockets carrying messages of
 *
 *   u32 length (little-endian, 1..CTL_MSG_BYTES_MAX)  length bytes of JSON (one object)
 *
 * Used by stampede-dataplane's control thread, stampede-control and
 * stampedectl. Nothing here runs on a worker lcore: these functions block (up
 * to their timeout), allocate and make syscalls.
 *
 * Error convention: 0 or a negative errno. Every function documents its own.
 */
#ifndef STAMPEDE_CTL_WIRE_H
#define STAMPEDE_CTL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_MSG_BYTES_MAX (128u << 20) /* one message, bytes after the length */
#define CTL_HOLDS_PER_MSG_MAX 4096     /* hold ids in one expire/release message */
#define CTL_SOCKET_PATH_MAX 108        /* sun_path, NUL included */
#define CTL_WIRE_VERSION 1

#define CTL_DATAPLANE_SOCKET_DEFAULT "/run/stampede/dataplane.sock"
#define CTL_CONTROL_SOCKET_DEFAULT "/run/stampede/control.sock"

/*
 * Connect to the Unix stream socket at path. Returns the fd (close it), or
 * -ENAMETOOLONG (path does not fit sun_path), -ENOENT / -ECONNREFUSED (no one
 * listens), -EACCES, or another -errno.
 */
int ctl_wire_connect(const char *path);

/*
 * Listen on a Unix stream socket at path, created mode 0600 (owner only).
 * A stale socket file at path (one no process listens on) is replaced; a live
 * one is not: -EADDRINUSE (finding that out connects to it once, so the live
 * server accepts one connection that closes at once: servers must take a
 * peer that closes without a request in their stride). The parent directory is created (0700) if missing.
 * Returns the listening fd, or -ENAMETOOLONG, -EADDRINUSE, -ENOTSOCK (path is
 * something other than a socket), or another -errno.
 */
int ctl_wire_listen(const char *path);

/*
 * Send msg (must be a JSON object) as one framed message. Blocks until sent;
 * SIGPIPE is not raised (MSG_NOSIGNAL). Returns 0, -EINVAL (msg is not an
 * object), -EMSGSIZE (encodes to more than CTL_MSG_BYTES_MAX), -ENOMEM,
 * -EPIPE / -ECONNRESET (peer gone) or another -errno.
 */
int ctl_wire_send(int fd, const json_t *msg);

/*
 * Receive one framed message into *out (a new reference: json_decref it).
 * timeout_ms bounds the wait for the whole message (-1: wait forever).
 * Returns 0, or
 *   -ETIMEDOUT    nothing complete within timeout_ms
 *   -ECONNRESET   the peer closed (before or in the middle of a message)
 *   -EMSGSIZE     the length is 0 or above CTL_MSG_BYTES_MAX (nothing read past it)
 *   -EBADMSG      the bytes are not one JSON object
 *   -ENOMEM, or another -errno.
 * After any error but -ETIMEDOUT before the first byte, the stream is out
 * of step: close the connection.
 */
int ctl_wire_recv(int fd, int timeout_ms, json_t **out);

/*
 * Decode one message body (len bytes, need not be NUL-terminated) into a
 * JSON object. Returns 0 and *out, -EBADMSG (not exactly one JSON object:
 * err, if given, says why), -EMSGSIZE, or -ENOMEM. Any bytes are accepted.
 * Exposed for tests and the fuzz target.
 */
int ctl_wire_decode(const void *buf, size_t len, json_t **out, char *err, size_t errlen);

/*
 * One round trip: send req, receive the reply within timeout_ms. Returns 0
 * and *reply, or any error of ctl_wire_send / ctl_wire_recv.
 */
int ctl_wire_call(int fd, const json_t *req, int timeout_ms, json_t **reply);

/* A reply {"ok": false, "error": code, "message": printf(fmt, ...)}. NULL on ENOMEM. */
json_t *ctl_wire_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A reply {"ok": true}. NULL on ENOMEM. */
json_t *ctl_wire_ok(void);

/*
 * Read an integer field of a request. Returns 0 and *out when obj[key] is a
 * JSON integer in min..max; -ENOENT when absent (and not required: *out is
 * left alone); -EINVAL otherwise. On -EINVAL, and on -ENOENT when required,
 * *err_reply becomes a ready `bad_request` reply naming the field.
 */
int ctl_wire_get_int(const json_t *obj, const char *key, int required, long long min, long long max,
		     long long *out, json_t **err_reply);

#endif
