/*
 * fuzz_wire.c - libFuzzer target for the control channel's message decoder
 * (ctl_wire_decode) and, through a socket pair, the framed reader
 * (ctl_wire_recv): any bytes must give an object or a documented error.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;
	char err[256];
	int rc = ctl_wire_decode(data, size, &v, err, sizeof(err));
	if (rc == 0) {
		if (!json_is_object(v))
			abort();
		json_decref(v);
	} else if (rc != -EBADMSG && rc != -EMSGSIZE) {
		abort();
	}
	/* The same bytes as a stream: a length prefix from the input itself. */
	if (size > 65536)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	if (size && write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[0]);
	for (int i = 0; i < 4; i++) {
		v = NULL;
		rc = ctl_wire_recv(sv[1], 0, &v);
		if (rc != 0) {
			if (rc != -EBADMSG && rc != -EMSGSIZE && rc != -ECONNRESET && rc != -ETIMEDOUT)
				abort();
			break;
		}
		if (!json_is_object(v))
			abort();
		json_decref(v);
	}
	close(sv[1]);
	return 0;
}
