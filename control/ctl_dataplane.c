/*
 * ctl_dataplane.c - stampede-control's connection to the dataplane socket
 * (docs/control.md, "Dataplane socket"): connect with `hello` (version
 * check), one round trip at a time, and reconnect with a doubling backoff
 * when the dataplane goes away. While it is down, calls fail at once with
 * -ENOTCONN so the control socket keeps answering (`unreachable`).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl_control.h"

/* A connection that is down and may be tried at once; path must outlive dp. */
void ctl_dp_init(struct ctl_dp *dp, const char *path)
{
	memset(dp, 0, sizeof(*dp));
	dp->path = path;
	dp->fd = -1;
	dp->backoff_ms = CTL_DP_BACKOFF_MIN_MS;
}

/* Whether the connection is open. */
bool ctl_dp_up(const struct ctl_dp *dp)
{
	return dp->fd >= 0;
}

/* Drop the connection and schedule the next attempt. */
static void ctl_dp_down(struct ctl_dp *dp, const char *why)
{
	if (dp->fd >= 0) {
		close(dp->fd);
		dp->fd = -1;
		ctl_log("dataplane %s: connection lost (%s); reconnecting", dp->path, why);
		dp->backoff_ms = CTL_DP_BACKOFF_MIN_MS;
	} else {
		dp->backoff_ms = dp->backoff_ms * 2 > CTL_DP_BACKOFF_MAX_MS ? CTL_DP_BACKOFF_MAX_MS : dp->backoff_ms * 2;
	}
	dp->next_try_ms = ctl_mono_ms() + dp->backoff_ms;
}

/* Close without scheduling a reconnect (at exit). */
void ctl_dp_close(struct ctl_dp *dp)
{
	if (dp->fd >= 0)
		close(dp->fd);
	dp->fd = -1;
}

/* Connect and say hello; 0 or -ENOTCONN (logged on the first failure only). */
static int ctl_dp_connect(struct ctl_dp *dp)
{
	int fd = ctl_wire_connect(dp->path);
	if (fd < 0) {
		if (dp->backoff_ms == CTL_DP_BACKOFF_MIN_MS)
			ctl_log("dataplane %s: %s; retrying", dp->path, strerror(-fd));
		ctl_dp_down(dp, strerror(-fd));
		return -ENOTCONN;
	}
	json_t *hello = json_pack("{s:s}", "cmd", "hello");
	json_t *reply = NULL;
	int rc = hello ? ctl_wire_call(fd, hello, CTL_DP_TIMEOUT_MS, &reply) : -ENOMEM;
	json_decref(hello);
	const char *why = rc ? strerror(-rc) : NULL;
	if (rc == 0 && !json_is_true(json_object_get(reply, "ok")))
		why = "hello refused";
	if (rc == 0 && why == NULL && json_integer_value(json_object_get(reply, "version")) != CTL_WIRE_VERSION)
		why = "hello: unsupported version";
	if (why != NULL) {
		ctl_log("dataplane %s: %s; retrying", dp->path, why);
		json_decref(reply);
		close(fd);
		ctl_dp_down(dp, why);
		return -ENOTCONN;
	}
	ctl_log("dataplane %s: connected (pid %lld, %lld workers, sync %s)", dp->path,
		json_integer_value(json_object_get(reply, "pid")),
		json_integer_value(json_object_get(reply, "workers")),
		json_string_value(json_object_get(reply, "sync")) ? json_string_value(json_object_get(reply, "sync"))
								   : "?");
	json_decref(reply);
	dp->fd = fd;
	dp->ever_up = true;
	dp->connects++;
	dp->backoff_ms = CTL_DP_BACKOFF_MIN_MS;
	return 0;
}

/* One request/reply; see ctl_control.h. req is not stolen. */
int ctl_dp_call(struct ctl_dp *dp, json_t *req, int timeout_ms, json_t **reply)
{
	*reply = NULL;
	if (dp->fd < 0) {
		if (ctl_mono_ms() < dp->next_try_ms)
			return -ENOTCONN;
		if (ctl_dp_connect(dp) != 0)
			return -ENOTCONN;
	}
	int rc = ctl_wire_call(dp->fd, req, timeout_ms, reply);
	if (rc != 0) {
		/* Any failure leaves the stream out of step (ctl_wire.h): start over. */
		ctl_dp_down(dp, strerror(-rc));
		return -ENOTCONN;
	}
	if (!json_is_object(*reply) || !json_is_boolean(json_object_get(*reply, "ok"))) {
		json_decref(*reply);
		*reply = NULL;
		ctl_dp_down(dp, "reply without \"ok\"");
		return -ENOTCONN;
	}
	return 0;
}
