/*
 * ctl_cli_call.c - stampedectl's side of the control socket (docs/control.md,
 * "Control socket"): connect, one request and its reply through ctl_wire, and
 * the mapping of every failure to an exit status (ctl_cli.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control/ctl_cli.h"
#include "control/ctl_wire.h"

static int conn_fd = -1;
static json_t *last_reply; /* kept reachable until the next request: commands borrow it */

/* Milliseconds of a monotonic clock, for the reply deadline. */
static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Report a reply that is not what docs/control.md says; returns CTL_EXIT_INTERNAL. */
int ctl_cli_bad_reply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: unexpected reply from stampede-control: ", ctl_cli_prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	return CTL_EXIT_INTERNAL;
}

/* json_unpack_ex for a reply; a mismatch is an unexpected reply naming where and why. */
int ctl_cli_unpack(const json_t *v, const char *where, const char *fmt, ...)
{
	json_error_t je;
	va_list ap;
	va_start(ap, fmt);
	int rc = json_vunpack_ex((json_t *)v, &je, 0, fmt, ap);
	va_end(ap);
	if (rc == 0)
		return 0;
	return ctl_cli_bad_reply("%s: %s", where, je.text);
}

/* Connect to the control socket once; 0 or an exit status after a message. */
static int connect_once(const struct ctl_cli *cli)
{
	if (conn_fd >= 0)
		return 0;
	int fd = ctl_wire_connect(cli->socket_path);
	if (fd == -ENAMETOOLONG) {
		fprintf(stderr, "%s: control socket path '%s' is empty or longer than %d bytes\n", ctl_cli_prog,
			cli->socket_path, CTL_SOCKET_PATH_MAX - 1);
		return CTL_EXIT_USAGE;
	}
	if (fd < 0) {
		fprintf(stderr, "%s: cannot connect to stampede-control at %s: %s\n", ctl_cli_prog, cli->socket_path,
			strerror(-fd));
		return CTL_EXIT_UNREACHABLE;
	}
	conn_fd = fd;
	return 0;
}

/* Close the connection and drop the last reply. */
void ctl_cli_disconnect(void)
{
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
	json_decref(last_reply);
	last_reply = NULL;
}

/*
 * Wait for the first byte of the reply: 0 when there is one, else an exit
 * status after a message (3: no reply within the timeout, or the control
 * process closed the connection without replying).
 */
static int wait_reply(const struct ctl_cli *cli, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - mono_ms();
		if (left < 0)
			left = 0;
		struct pollfd p = {.fd = conn_fd, .events = POLLIN};
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			fprintf(stderr, "%s: waiting for stampede-control: %s\n", ctl_cli_prog, strerror(errno));
			return CTL_EXIT_INTERNAL;
		}
		if (pr == 0) {
			fprintf(stderr, "%s: no reply from stampede-control at %s within %d ms\n", ctl_cli_prog,
				cli->socket_path, cli->timeout_ms);
			return CTL_EXIT_UNREACHABLE;
		}
		char b;
		ssize_t r = recv(conn_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			fprintf(stderr, "%s: stampede-control at %s closed the connection without replying\n",
				ctl_cli_prog, cli->socket_path);
			return CTL_EXIT_UNREACHABLE;
		}
		return 0;
	}
}

/* The exit status and message of an {"ok": false} reply. */
static int refused(const json_t *reply)
{
	const char *code = NULL, *message = "";
	if (ctl_cli_unpack(reply, "error reply", "{s:s, s?s}", "error", &code, "message", &message))
		return CTL_EXIT_INTERNAL;
	fprintf(stderr, "%s: %s: %s\n", ctl_cli_prog, code, message);
	return strcmp(code, "unreachable") == 0 ? CTL_EXIT_UNREACHABLE : CTL_EXIT_INVALID;
}

/* Send req to the control process and wait for its reply (ctl_cli.h). */
int ctl_cli_request(const struct ctl_cli *cli, json_t *req, json_t **reply)
{
	json_decref(last_reply);
	last_reply = NULL;
	if (!req)
		ctl_cli_internal_error("out of memory");
	int rc = connect_once(cli);
	if (rc) {
		json_decref(req);
		return rc;
	}
	const int64_t deadline = mono_ms() + cli->timeout_ms;
	int wr = ctl_wire_send(conn_fd, req);
	json_decref(req);
	if (wr == -EPIPE || wr == -ECONNRESET) {
		fprintf(stderr, "%s: stampede-control at %s closed the connection\n", ctl_cli_prog, cli->socket_path);
		ctl_cli_disconnect();
		return CTL_EXIT_UNREACHABLE;
	}
	if (wr) {
		fprintf(stderr, "%s: cannot send the request: %s\n", ctl_cli_prog, strerror(-wr));
		ctl_cli_disconnect();
		return CTL_EXIT_INTERNAL;
	}
	rc = wait_reply(cli, deadline);
	if (rc) {
		ctl_cli_disconnect();
		return rc;
	}
	int64_t left = deadline - mono_ms();
	int rr = ctl_wire_recv(conn_fd, left > 0 ? (int)left : 0, &last_reply);
	if (rr) {
		ctl_cli_disconnect();
		switch (rr) {
		case -ETIMEDOUT:
			fprintf(stderr, "%s: the reply from stampede-control did not complete within %d ms\n", ctl_cli_prog,
				cli->timeout_ms);
			return CTL_EXIT_UNREACHABLE;
		case -ECONNRESET:
			return ctl_cli_bad_reply("the connection closed in the middle of the reply");
		case -EMSGSIZE:
			return ctl_cli_bad_reply("message length 0 or above %u bytes", CTL_MSG_BYTES_MAX);
		case -EBADMSG:
			return ctl_cli_bad_reply("the message is not one JSON object");
		case -ENOMEM:
			ctl_cli_internal_error("out of memory");
		default:
			fprintf(stderr, "%s: reading the reply: %s\n", ctl_cli_prog, strerror(-rr));
			return CTL_EXIT_INTERNAL;
		}
	}
	int ok = 0;
	if (ctl_cli_unpack(last_reply, "reply", "{s:b}", "ok", &ok))
		return CTL_EXIT_INTERNAL;
	if (!ok)
		return refused(last_reply);
	*reply = last_reply;
	return CTL_EXIT_OK;
}

/* A request {"cmd": cmd}, plus "event" when the command line named one. */
json_t *ctl_cli_req(const struct ctl_cli *cli, const char *cmd)
{
	json_t *req = ctl_cli_jobj();
	ctl_cli_jset(req, "cmd", json_string(cmd));
	if (cli->has_event)
		ctl_cli_jset(req, "event", ctl_cli_jint(cli->event));
	return req;
}

/* Print the reply without "ok" as one JSON line (the --json output of most commands). */
void ctl_cli_print_reply(const json_t *reply)
{
	json_t *copy = json_deep_copy(reply);
	if (!copy)
		ctl_cli_internal_error("out of memory");
	json_object_del(copy, "ok");
	ctl_cli_json_out(copy);
}
