/*
 * ctl_duration.h - operator durations on the command line: "90s", "10m",
 * "1h30m", "500ms" (stampedectl release-holds/holds --older-than).
 *
 * The grammar is the inventory file's (docs/inventory.md, "duration"): one or
 * more NUMBER UNIT pairs, units h, m, s, ms, no spaces, no sign; here the
 * units must also come from largest to smallest, each at most once, so a typo
 * such as "10m10m" or "30s1h" is refused rather than guessed at.
 *
 * No global state: call from any thread.
 */
#ifndef STAMPEDE_CTL_DURATION_H
#define STAMPEDE_CTL_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define CTL_DURATION_MS_MAX (366ull * 24 * 3600 * 1000) /* largest duration accepted: 366 days */
#define CTL_DURATION_DIGITS_MAX 12                       /* digits in one NUMBER */
#define CTL_DURATION_ERR_MAX 256                         /* a good size for err, NUL included */

/*
 * Parse s into *out_ms. Returns 0, or -EINVAL with one line in err (if given,
 * at most errlen bytes) that quotes s and says what is wrong, e.g.
 *   "10x": unknown unit "x" (expected a duration like 90s, 10m, 1h30m or 500ms)
 * *out_ms is left alone on error. "0s" is a valid duration (0 ms).
 */
int ctl_duration_parse(const char *s, uint64_t *out_ms, char *err, size_t errlen);

#endif
