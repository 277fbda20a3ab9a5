/*
 * lg_verify.h - checks a run against the durable truth, independently of
 * the loadgen's own counters (docs/loadgen.md "Verification"): the rows of
 * `stampedectl --json export EVENT` against the acknowledged orders.
 */
#ifndef LG_VERIFY_H
#define LG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "tools/loadgen/lg.h"

struct lg_verify_result {
	uint64_t rows;              /* export rows of the event (tickets sold) */
	uint64_t oversold;          /* tickets beyond a part's sellable capacity, summed over parts */
	uint64_t duplicate_tickets; /* rows naming a ticket an earlier row named */
	uint64_t lost_acked;        /* acknowledged orders missing, or not with exactly their tickets and client */
	uint64_t unacked_orders;    /* orders of this run's clients that were never acknowledged */
	uint64_t foreign_rows;      /* rows of other events (ignored) */
};

/*
 * Compare the export (a JSON array as `stampedectl --json export` prints it)
 * with the n acknowledged orders of plan's event; this run's client ids are
 * client_base+1 .. client_base+n_buyers. 0 and *res filled, or -1 with one
 * line in err naming the bad element (nothing counted): not JSON, not an
 * array, a row that is not an object, a key missing or of the wrong type,
 * a part, row label, seat number or serial that the event does not have.
 * plan->def is needed for reserved seats (seat index -> row and number).
 */
int lg_verify_export(const char *text, size_t len, const struct lg_plan *plan, const struct lg_order *orders,
		     uint32_t n, uint64_t client_base, uint32_t n_buyers, struct lg_verify_result *res, char *err,
		     size_t errlen);

/*
 * Run `CTL [--socket SOCK] --timeout 300 --json export EVENT` and read its
 * standard output into a new buffer (*out, *out_len; free it). 0, or -1
 * with one line in err (cannot start it, it failed: its stderr is passed
 * through).
 */
int lg_ctl_export(const char *ctl, const char *sock, uint32_t event_id, char **out, size_t *out_len, char *err,
		  size_t errlen);

/* Run `CTL [--socket SOCK] load FILE`, its output to our standard error.
 * 0, or -1 with one line in err. */
int lg_ctl_load(const char *ctl, const char *sock, const char *file, char *err, size_t errlen);

#endif
