/*
 * dp_ctl_call.c - one request on a control socket, for the tests:
 *
 *   dp_ctl_call SOCKET 'JSON-REQUEST'     send it, print the reply (one line)
 *   dp_ctl_call SOCKET --raw HEX          send these bytes as they are, print
 *                                          the reply if one comes, else "closed"
 *
 * Exit 0 when a reply was printed (whatever its "ok"), 1 on connection or
 * framing errors, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_wire.h"

#define CALL_TIMEOUT_MS 20000

static int send_raw(int fd, const char *hex)
{
	size_t n = strlen(hex) / 2;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			free(buf);
			return -EINVAL;
		}
		buf[i] = (unsigned char)v;
	}
	ssize_t w = write(fd, buf, n);
	free(buf);
	return w == (ssize_t)n ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[2], "--raw") == 0)) {
		fprintf(stderr, "usage: dp_ctl_call SOCKET JSON | dp_ctl_call SOCKET --raw HEX\n");
		return 2;
	}
	int fd = ctl_wire_connect(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "dp_ctl_call: connect %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	json_t *reply = NULL;
	int rc;
	if (argc == 4) {
		rc = send_raw(fd, argv[3]);
		if (rc == 0)
			rc = ctl_wire_recv(fd, CALL_TIMEOUT_MS, &reply);
		if (rc == -ECONNRESET) {
			printf("closed\n");
			close(fd);
			return 0;
		}
	} else {
		json_error_t je;
		json_t *req = json_loads(argv[2], 0, &je);
		if (!req) {
			fprintf(stderr, "dp_ctl_call: request: %s\n", je.text);
			close(fd);
			return 2;
		}
		rc = ctl_wire_call(fd, req, CALL_TIMEOUT_MS, &reply);
		json_decref(req);
	}
	close(fd);
	if (rc) {
		fprintf(stderr, "dp_ctl_call: %s\n", strerror(-rc));
		return 1;
	}
	char *text = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(reply);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}
