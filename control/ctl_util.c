/*
 * ctl_util.c - stampede-control's clocks and its one-line log (stderr).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "control/ctl_control.h"

/* Milliseconds of CLOCK_MONOTONIC: for periods and timeouts. */
uint64_t ctl_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Unix milliseconds (CLOCK_REALTIME): what hold expiry times are in. */
uint64_t ctl_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One line "stampede-control: ..." on stderr (at most 1 KiB). */
void ctl_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stampede-control: %s\n", line);
}
