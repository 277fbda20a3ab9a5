/*
 * lg_report.h - what stampede-loadgen writes: the live progress line, the
 * final JSON line, the CSV ledger of acknowledged orders and the HTML plot.
 */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdio.h>

#include "tools/loadgen/lg.h"
#include "tools/loadgen/lg_verify.h"

/* One \r-rewritten progress line on f (a terminal). */
void lg_report_progress(FILE *f, const struct lg_run *r);
/* The final report: a few human lines on stderr (unless quiet), then the
 * JSON object as the last line of out. v is NULL when nothing was
 * verified (sold, oversold, duplicate_tickets, lost_acked are then the
 * loadgen's own or null). */
void lg_report_final(FILE *out, const struct lg_run *r, const struct lg_verify_result *v, double duration_s);
/* The CSV ledger (RFC 4180, CRLF) of the acknowledged orders; 0 or -1 with
 * the reason in err. */
int lg_report_ledger(const char *path, const struct lg_run *r, char *err, size_t errlen);
/* A self-contained HTML page with inline SVG: tickets sold per second and
 * hold/confirm p99 per second. 0 or -1 with the reason in err. */
int lg_report_plot(const char *path, const struct lg_run *r, char *err, size_t errlen);

#endif
