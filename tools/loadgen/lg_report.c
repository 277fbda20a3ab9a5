/*
 * lg_report.c - progress line, final JSON line, CSV ledger and HTML plot of
 * stampede-loadgen (lg_report.h, docs/loadgen.md "Output").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/loadgen/lg_report.h"

/* See lg_report.h. The p99 is over the holds and confirms answered in the
 * last whole second. */
void lg_report_progress(FILE *f, const struct lg_run *r)
{
	uint32_t sec = r->n_secs >= 2 ? r->n_secs - 2 : 0;
	const struct lg_second *s = r->n_secs ? &r->secs[sec] : NULL;
	fprintf(f,
		"\r%5" PRIu64 "s  sold %" PRIu64 "/%" PRIu64 "  held %" PRIu64 "  queue %" PRIu64 "  shopping %u  "
		"req/s %u  p99 %.1fms  done %" PRIu64 "/%u   ",
		(r->now_us - r->t0_us) / 1000000u, r->st.sold_acked, r->plan->capacity, r->st.held, r->st.queued,
		r->active, s ? s->requests : 0, s ? s->p99_us / 1000.0 : 0.0, r->st.done, r->n_buyers);
	fflush(f);
}

/* A JSON number or null. */
static void num_or_null(FILE *out, int have, uint64_t v)
{
	if (have)
		fprintf(out, "%" PRIu64, v);
	else
		fputs("null", out);
}

/* See lg_report.h. */
void lg_report_final(FILE *out, const struct lg_run *r, const struct lg_verify_result *v, double duration_s)
{
	const struct lg_stats *st = &r->st;
	double rps = duration_s > 0 ? (double)st->requests / duration_s : 0.0;
	uint64_t sold = v ? v->rows : st->sold_acked;
	if (!r->cfg->quiet) {
		fprintf(stderr,
			"stampede-loadgen: %s: %u buyers, %" PRIu64 " arrived; bought %" PRIu64 ", sold out %" PRIu64
			", abandoned %" PRIu64 ", failed %" PRIu64 ", still shopping %u\n",
			r->cfg->sc.name, r->n_buyers, st->arrived, st->bought, st->sold_out, st->abandoned, st->failed,
			r->active);
		fprintf(stderr,
			"  tickets: capacity %" PRIu64 ", sold %" PRIu64 " (acknowledged %" PRIu64 " in %" PRIu64
			" orders), held at the end %" PRIu64 "\n",
			r->plan->capacity, sold, st->sold_acked, st->orders_acked, st->held);
		fprintf(stderr,
			"  requests %" PRIu64 " in %.1f s (%.0f/s), resent %" PRIu64 ", busy %" PRIu64
			", unknown outcome %" PRIu64 ", gave up %" PRIu64 "\n",
			st->requests, duration_s, rps, st->retransmits, st->busy, st->unknown_outcomes,
			st->timeouts_gave_up);
		if (v)
			fprintf(stderr,
				"  verified against the export: %" PRIu64 " tickets, oversold %" PRIu64
				", duplicate tickets %" PRIu64 ", lost acknowledged orders %" PRIu64 "\n",
				v->rows, v->oversold, v->duplicate_tickets, v->lost_acked);
		else
			fprintf(stderr, "  not verified (no --ctl): oversold, duplicate_tickets, lost_acked are null\n");
	}
	fprintf(out, "{\"scenario\":\"%s\",\"buyers\":%u,\"capacity\":%" PRIu64 ",\"sold\":%" PRIu64 ",\"oversold\":",
		r->cfg->sc.name, r->n_buyers, r->plan->capacity, sold);
	num_or_null(out, v != NULL, v ? v->oversold : 0);
	fputs(",\"duplicate_tickets\":", out);
	num_or_null(out, v != NULL, v ? v->duplicate_tickets : 0);
	fputs(",\"lost_acked\":", out);
	num_or_null(out, v != NULL, v ? v->lost_acked : 0);
	fprintf(out,
		",\"duration_s\":%.3f,\"requests\":%" PRIu64 ",\"requests_per_s\":%.1f,\"hold_p50_us\":%" PRIu64
		",\"hold_p99_us\":%" PRIu64 ",\"confirm_p99_us\":%" PRIu64,
		duration_s, st->requests, rps, lg_hist_quantile(&r->hold_lat, 0.50), lg_hist_quantile(&r->hold_lat, 0.99),
		lg_hist_quantile(&r->confirm_lat, 0.99));
	fprintf(out,
		",\"verified\":%s,\"event\":%u,\"sold_acked\":%" PRIu64 ",\"orders_acked\":%" PRIu64
		",\"unacked_orders\":",
		v ? "true" : "false", r->plan->event_id, st->sold_acked, st->orders_acked);
	num_or_null(out, v != NULL, v ? v->unacked_orders : 0);
	fprintf(out,
		",\"held_end\":%" PRIu64 ",\"withheld\":%" PRIu64 ",\"arrived\":%" PRIu64 ",\"bought\":%" PRIu64
		",\"sold_out\":%" PRIu64 ",\"abandoned\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"unfinished\":%u"
		",\"retransmits\":%" PRIu64 ",\"busy\":%" PRIu64 ",\"unknown_outcomes\":%" PRIu64
		",\"gave_up\":%" PRIu64 ",\"joins\":%" PRIu64 ",\"polls\":%" PRIu64 ",\"admitted\":%" PRIu64
		",\"holds_ok\":%" PRIu64 ",\"taken\":%" PRIu64 ",\"sold_out_replies\":%" PRIu64
		",\"limit_reached\":%" PRIu64 ",\"confirms_expired\":%" PRIu64 ",\"closed\":%" PRIu64
		",\"unavailable\":%" PRIu64 ",\"bad_token\":%" PRIu64 ",\"not_admitted\":%" PRIu64
		",\"other_refusals\":%" PRIu64 ",\"stray_replies\":%" PRIu64 ",\"bad_replies\":%" PRIu64
		",\"datagrams_out\":%" PRIu64 ",\"datagrams_in\":%" PRIu64 ",\"hold_max_us\":%" PRIu64
		",\"confirm_p50_us\":%" PRIu64 ",\"window_cuts\":%" PRIu64 ",\"timeouts_read\":%" PRIu64 ",\"timeouts_mutation\":%" PRIu64 ",\"window_end\":%.0f,\"loss_out\":%" PRIu64 ",\"loss_in\":%" PRIu64 ",\"transport\":\"%s\",\"time_scale\":%g}\n",
		st->held, r->plan->withheld, st->arrived, st->bought, st->sold_out, st->abandoned, st->failed, r->active,
		st->retransmits, st->busy, st->unknown_outcomes, st->timeouts_gave_up, st->joins, st->polls, st->admitted,
		st->holds_ok, st->holds_taken, st->holds_sold_out, st->holds_limit, st->confirms_expired, st->closed,
		st->unavailable, st->bad_token, st->not_admitted, st->other_refusals, st->stray_replies, st->bad_replies,
		st->datagrams_out, st->datagrams_in, r->hold_lat.max_us, lg_hist_quantile(&r->confirm_lat, 0.50),
		st->window_cuts, st->timeouts[0], st->timeouts[1], r->cwnd, st->loss_out, st->loss_in, r->tr ? r->tr->name : "none", r->cfg->time_scale);
	fflush(out);
}

/* ISO 8601 UTC with milliseconds. */
static void iso_ms(char *buf, size_t len, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000u));
}

/* See lg_report.h. Items are seat indexes (reserved) or serials (GA),
 * separated by spaces (no quoting needed). */
int lg_report_ledger(const char *path, const struct lg_run *r, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fputs("order_id,hold_id,client_id,event,part,n_items,items,time\r\n", f);
	for (uint32_t i = 0; i < r->n_orders; i++) {
		const struct lg_order *o = &r->orders[i];
		char t[40];
		iso_ms(t, sizeof(t), o->time_ms);
		fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u,%u,", o->order_id, o->hold_id, o->client_id,
			r->plan->event_id, o->part_id, o->n_items);
		for (unsigned k = 0; k < o->n_items; k++)
			fprintf(f, k ? " %u" : "%u", o->items[k]);
		fprintf(f, ",%s\r\n", t);
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* One polyline of n values scaled into the plot box (x0..x0+w, y0..y0+h). */
static void svg_line(FILE *f, const struct lg_second *s, uint32_t n, int p99, double vmax, const char *color)
{
	const double x0 = 60, y0 = 20, w = 820, h = 300;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", color);
	for (uint32_t i = 0; i < n; i++) {
		double v = p99 ? s[i].p99_us / 1000.0 : s[i].sold;
		double x = x0 + (n > 1 ? w * i / (n - 1) : 0);
		double y = y0 + h - (vmax > 0 ? h * v / vmax : 0);
		fprintf(f, "%.1f,%.1f ", x, y);
	}
	fputs("\"/>\n", f);
}

/* One chart: title, axes, the max value, the line. */
static void svg_chart(FILE *f, const struct lg_run *r, int p99, const char *title, const char *unit,
		      const char *color)
{
	double vmax = 0;
	for (uint32_t i = 0; i < r->n_secs; i++) {
		double v = p99 ? r->secs[i].p99_us / 1000.0 : r->secs[i].sold;
		if (v > vmax)
			vmax = v;
	}
	fprintf(f, "<h2>%s</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"350\">\n", title);
	fputs("<line x1=\"60\" y1=\"320\" x2=\"880\" y2=\"320\" stroke=\"#444\"/>"
	      "<line x1=\"60\" y1=\"20\" x2=\"60\" y2=\"320\" stroke=\"#444\"/>\n",
	      f);
	fprintf(f, "<text x=\"5\" y=\"25\" font-size=\"12\">%.1f %s</text>", vmax, unit);
	fputs("<text x=\"5\" y=\"320\" font-size=\"12\">0</text>", f);
	fprintf(f, "<text x=\"820\" y=\"340\" font-size=\"12\">%u s</text>\n", r->n_secs);
	svg_line(f, r->secs, r->n_secs, p99, vmax, color);
	fputs("</svg>\n", f);
}

/* See lg_report.h. */
int lg_report_plot(const char *path, const struct lg_run *r, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>stampede-loadgen: %s</title></head>\n"
		   "<body style=\"font-family:sans-serif\">\n<h1>stampede-loadgen: %s</h1>\n"
		   "<p>%u buyers, capacity %" PRIu64 ", sold %" PRIu64 " (acknowledged), %" PRIu64 " requests</p>\n",
		r->cfg->sc.name, r->cfg->sc.name, r->n_buyers, r->plan->capacity, r->st.sold_acked, r->st.requests);
	svg_chart(f, r, 0, "Tickets sold per second", "tickets/s", "#1f77b4");
	svg_chart(f, r, 1, "Hold and confirm p99 per second", "ms", "#d62728");
	fputs("</body></html>\n", f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
