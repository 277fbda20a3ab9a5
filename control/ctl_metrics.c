/*
 * ctl_metrics.c - GET /metrics (Prometheus text format 0.0.4) on a local HTTP
 * port through libmicrohttpd (docs/control.md, "Metrics"). The main loop
 * renders a text snapshot from its state and publishes it under a mutex; the
 * HTTP thread only copies the last snapshot out. Any other path is 404, any
 * other method 405.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "control/ctl_control.h"

#define CTL_METRICS_CONNECTIONS_MAX 16
#define CTL_METRICS_TIMEOUT_S 5
#define CTL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CTL_METRICS_ADDR_MAX 128

struct ctl_metrics {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *text; /* guarded by lock */
	size_t len;
};

/* Parse "A.B.C.D:PORT" or "[v6]:PORT" into ss. 0 or -EINVAL. */
static int ctl_metrics_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *sl, bool *loopback,
			     char *err, size_t errlen)
{
	char host[CTL_METRICS_ADDR_MAX];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || colon == addr || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(err, errlen, "metrics: '%s' is not HOST:PORT", addr);
		return -EINVAL;
	}
	char *end = NULL;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
		snprintf(err, errlen, "metrics: port of '%s' is not 1..65535", addr);
		return -EINVAL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1) {
			snprintf(err, errlen, "metrics: '%s' is not an IPv6 address", host + 1);
			return -EINVAL;
		}
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
		snprintf(err, errlen, "metrics: '%s' is not an IPv4 address (or [IPv6])", host);
		return -EINVAL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sl = sizeof(*s4);
	*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

/* Queue a response of len bytes of body (copied) with status and type. */
static enum MHD_Result ctl_metrics_reply(struct MHD_Connection *c, unsigned status, const char *body,
					 size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* MHD's handler (HTTP thread): serve the published snapshot. */
static enum MHD_Result ctl_metrics_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
					   const char *version, const char *upload_data, size_t *upload_size,
					   void **con_cls)
{
	struct ctl_metrics *m = cls;
	(void)version, (void)upload_data, (void)con_cls;
	if (*upload_size != 0) {
		*upload_size = 0; /* ignore bodies */
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0) {
		static const char nf[] = "not found: try /metrics\n";
		return ctl_metrics_reply(c, MHD_HTTP_NOT_FOUND, nf, sizeof(nf) - 1, "text/plain");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char na[] = "method not allowed\n";
		return ctl_metrics_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, na, sizeof(na) - 1, "text/plain");
	}
	pthread_mutex_lock(&m->lock);
	enum MHD_Result ret = ctl_metrics_reply(c, MHD_HTTP_OK, m->text ? m->text : "", m->text ? m->len : 0,
						CTL_METRICS_CONTENT_TYPE);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* Parse addr and start the daemon; see ctl_control.h. */
int ctl_metrics_start(const char *addr, struct ctl_metrics **out, char *err, size_t errlen)
{
	*out = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback = false;
	int rc = ctl_metrics_parse(addr, &ss, &sl, &loopback, err, errlen);
	if (rc != 0)
		return rc;
	if (!loopback)
		ctl_log("metrics: %s is not a loopback address: the endpoint is reachable from the network", addr);
	struct ctl_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	m->daemon = MHD_start_daemon(flags, port, NULL, NULL, ctl_metrics_handler, m, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)CTL_METRICS_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)CTL_METRICS_TIMEOUT_S, MHD_OPTION_END);
	if (m->daemon == NULL) {
		snprintf(err, errlen, "metrics: cannot listen on %s (in use, or not an address of this host)", addr);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return -EADDRINUSE;
	}
	*out = m;
	return 0;
}

/* Stop the daemon, free the snapshot; m may be NULL. */
void ctl_metrics_stop(struct ctl_metrics *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}

/* ---- rendering ---------------------------------------------------------------------- */

/* A label value with \, " and newline escaped. */
static void ctl_prom_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* A dataplane histogram {le: [..., null], counts: [...], sum_us|sum, count}
 * as a Prometheus histogram; `scale` turns le and sum into the unit. */
static void ctl_prom_histogram(FILE *f, const char *name, const char *help, const json_t *h, const char *sum_key,
			       double scale)
{
	const json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "counts");
	if (!json_is_array(le) || !json_is_array(counts) || json_array_size(le) != json_array_size(counts))
		return;
	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t cum = 0;
	bool inf = false;
	for (size_t i = 0; i < json_array_size(le); i++) {
		cum += (uint64_t)json_integer_value(json_array_get(counts, i));
		const json_t *b = json_array_get(le, i);
		if (json_is_number(b))
			fprintf(f, "%s_bucket{le=\"%.9g\"} %llu\n", name, json_number_value(b) * scale,
				(unsigned long long)cum);
		else {
			fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
			inf = true;
		}
	}
	if (!inf)
		fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	fprintf(f, "%s_sum %.9g\n%s_count %llu\n", name, json_number_value(json_object_get(h, sum_key)) * scale, name,
		(unsigned long long)json_integer_value(json_object_get(h, "count")));
}

/* Per-event gauges and counters from the dataplane status and, for the
 * waiting room, the latest `queue` answer (0 without one). */
static void ctl_prom_events(FILE *f, const struct ctl_app *app, const json_t *events)
{
	static const char *const states[] = {"free", "held", "sold", "withheld"};
	size_t i;
	json_t *ev;
	fputs("# HELP stampede_tickets Tickets of an event by state.\n# TYPE stampede_tickets gauge\n", f);
	json_array_foreach(events, i, ev)
	{
		for (unsigned s = 0; s < 4; s++)
			fprintf(f, "stampede_tickets{event=\"%lld\",state=\"%s\"} %lld\n",
				json_integer_value(json_object_get(ev, "id")), states[s],
				json_integer_value(json_object_get(ev, states[s])));
	}
	fputs("# HELP stampede_capacity Tickets an event has in all.\n# TYPE stampede_capacity gauge\n", f);
	json_array_foreach(events, i, ev)
		fprintf(f, "stampede_capacity{event=\"%lld\"} %lld\n", json_integer_value(json_object_get(ev, "id")),
			json_integer_value(json_object_get(ev, "capacity")));
	static const char *const room[][2] = {{"stampede_queue_depth", "Buyers waiting in the waiting room."},
					      {"stampede_admitted", "Buyers admitted from the waiting room."},
					      {"stampede_active_shoppers", "Admitted buyers shopping now."},
					      {"stampede_admissions_total", "Buyers admitted by this stampede-control."}};
	for (unsigned r = 0; r < 4; r++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", room[r][0], room[r][1], room[r][0], r == 3 ? "counter" : "gauge");
		json_array_foreach(events, i, ev)
		{
			uint32_t id = (uint32_t)json_integer_value(json_object_get(ev, "id"));
			const struct ctl_room *q = ctl_pace_room(app, id);
			uint64_t v = 0;
			if (q != NULL)
				v = r == 0 ? ctl_room_queue_length(q)
				    : r == 1 ? q->admitted
				    : r == 2 ? q->active_shoppers
					     : q->admissions_total;
			fprintf(f, "%s{event=\"%u\"} %llu\n", room[r][0], id, (unsigned long long)v);
		}
	}
	fputs("# HELP stampede_requests_total Buyer requests by event and reply status.\n"
	      "# TYPE stampede_requests_total counter\n",
	      f);
	json_array_foreach(events, i, ev)
	{
		const char *status;
		json_t *n;
		json_object_foreach(json_object_get(ev, "statuses"), status, n)
		{
			fprintf(f, "stampede_requests_total{event=\"%lld\",status=\"",
				json_integer_value(json_object_get(ev, "id")));
			ctl_prom_label(f, status);
			fprintf(f, "\"} %lld\n", json_integer_value(n));
		}
	}
}

/* Render a snapshot from app (dataplane figures only while it answers)
 * and swap it in under the lock; m may be NULL (metrics off). */
void ctl_metrics_publish(struct ctl_metrics *m, const struct ctl_app *app)
{
	if (m == NULL)
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	/* Dataplane figures only while it answers: stale ones would mislead. */
	const json_t *st = ctl_dp_up(&app->dp) ? app->last_status : NULL;
	if (st != NULL) {
		ctl_prom_events(f, app, json_object_get(st, "events"));
		ctl_prom_histogram(f, "stampede_request_latency_seconds",
				   "Buyer request latency, RX burst to TX burst (durability wait included).",
				   json_object_get(st, "latency_us"), "sum_us", 1e-6);
		const json_t *sto = json_object_get(st, "storage");
		ctl_prom_histogram(f, "stampede_storage_commit_seconds", "LMDB commit latency of one batch.",
				   json_object_get(sto, "commit_us"), "sum_us", 1e-6);
		ctl_prom_histogram(f, "stampede_storage_batch_records", "Records per committed batch.",
				   json_object_get(sto, "batch_records"), "sum", 1.0);
	}
	fprintf(f,
		"# HELP stampede_holds_expired_total Holds expired by the control sweep.\n"
		"# TYPE stampede_holds_expired_total counter\nstampede_holds_expired_total %llu\n"
		"# HELP stampede_control_up 1 while the dataplane answers stampede-control.\n"
		"# TYPE stampede_control_up gauge\nstampede_control_up %d\n",
		(unsigned long long)app->expired_total, st != NULL ? 1 : 0);
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
}
