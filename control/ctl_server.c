/*
 * ctl_server.c - stampede-control's side of the control socket: accepting
 * stampedectl connections (at most CTL_CLIENTS_MAX at once) and answering
 * their requests one at a time, in order (docs/control.md, "Framing").
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_control.h"

/* Accept one pending connection into a free client slot, or refuse it with `busy`. */
void ctl_server_accept(struct ctl_app *app)
{
	int fd = accept4(app->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			ctl_log("accept: %s", strerror(errno));
		return;
	}
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (app->clients[i] < 0) {
			app->clients[i] = fd;
			return;
		}
	}
	json_t *busy = ctl_wire_error("busy", "more than %d control connections at once", CTL_CLIENTS_MAX);
	if (busy)
		(void)ctl_wire_send(fd, busy);
	json_decref(busy);
	close(fd);
}

/* Close client slot i (in use). */
static void ctl_server_drop(struct ctl_app *app, unsigned i)
{
	close(app->clients[i]);
	app->clients[i] = -1;
}

/* Read one request from client slot i (in use, readable) and answer it. */
void ctl_server_serve(struct ctl_app *app, unsigned i)
{
	int fd = app->clients[i];
	json_t *req = NULL;
	int rc = ctl_wire_recv(fd, CTL_CLIENT_MSG_TIMEOUT_MS, &req);
	if (rc == -ECONNRESET) {
		ctl_server_drop(app, i);
		return;
	}
	if (rc != 0) {
		ctl_log("control connection dropped: %s",
			rc == -EMSGSIZE   ? "message length 0 or above the bound"
			: rc == -EBADMSG  ? "message is not one JSON object"
			: rc == -ETIMEDOUT ? "message not complete in time"
					   : strerror(-rc));
		if (rc == -EBADMSG) {
			json_t *err = ctl_wire_error("bad_request", "message is not one JSON object");
			if (err)
				(void)ctl_wire_send(fd, err);
			json_decref(err);
		}
		ctl_server_drop(app, i);
		return;
	}
	json_t *reply = ctl_handle(app, req);
	json_decref(req);
	if (reply == NULL)
		reply = ctl_wire_error("unavailable", "out of memory");
	rc = reply ? ctl_wire_send(fd, reply) : -ENOMEM;
	json_decref(reply);
	if (rc != 0)
		ctl_server_drop(app, i);
}

/* Close every client connection. */
void ctl_server_close_all(struct ctl_app *app)
{
	for (unsigned i = 0; i < CTL_CLIENTS_MAX; i++)
		if (app->clients[i] >= 0)
			ctl_server_drop(app, i);
}
