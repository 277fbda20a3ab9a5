/*
 * fuzz_duration.c - libFuzzer target for stampedectl's duration parser
 * (control/ctl_duration.c): any bytes give a duration within bounds or
 * -EINVAL with a message, and a refused input leaves the output alone.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64];
	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	uint64_t ms = 0xdeadbeefull;
	char err[CTL_DURATION_ERR_MAX];
	err[0] = '\0';
	int rc = ctl_duration_parse(s, &ms, err, sizeof(err));
	if (rc == 0) {
		if (ms > CTL_DURATION_MS_MAX)
			abort();
	} else if (rc != -EINVAL || ms != 0xdeadbeefull || err[0] == '\0') {
		abort();
	}
	return 0;
}
