/*
 * lg_req.c - the request table of stampede-loadgen (lg.h): a fixed pool of
 * in-flight requests, a send ring that packs many buyers' requests into
 * each datagram, replies matched by (client id, request id), and resends
 * that keep the request id: after a timeout (backing off), after busy
 * (retry_after_ms), never for a mutation once the retry horizon has passed
 * since its first send not known to be refused (its outcome is then
 * unknown: the export tells the truth).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_types.h"
#include "tools/loadgen/lg.h"

#define LG_ZOMBIE (LG_NONE - 1) /* a freed slot still in the send ring */

/* Allocate the request pool, its free stack and the send ring. */
int lg_req_init(struct lg_run *r, char *err, size_t errlen)
{
	r->n_reqs = r->cfg->inflight;
	r->reqs = calloc(r->n_reqs, sizeof(*r->reqs));
	r->free_reqs = calloc(r->n_reqs, sizeof(*r->free_reqs));
	r->ring = calloc(r->n_reqs, sizeof(*r->ring));
	if (!r->reqs || !r->free_reqs || !r->ring) {
		snprintf(err, errlen, "out of memory for %u request slots", r->n_reqs);
		return -1;
	}
	for (uint32_t i = 0; i < r->n_reqs; i++) {
		r->free_reqs[i] = r->n_reqs - 1 - i;
		r->reqs[i].buyer = LG_NONE;
	}
	r->n_free = r->n_reqs;
	r->cwnd = LG_CWND_START < r->n_reqs ? LG_CWND_START : r->n_reqs;
	r->ssthresh = r->n_reqs;
	r->ring_head = r->ring_n = 0;
	r->out_n = 0;
	return 0;
}

/* Whether a new request may start: a free slot, and fewer requests in
 * flight than the congestion window. */
int lg_req_can_start(const struct lg_run *r)
{
	return r->n_free && (double)(r->n_reqs - r->n_free) < r->cwnd;
}

/* A free slot for buyer b, or LG_NONE when the table is full or the
 * congestion window is. */
uint32_t lg_req_alloc(struct lg_run *r, uint32_t b)
{
	if (!lg_req_can_start(r))
		return LG_NONE;
	uint32_t s = r->free_reqs[--r->n_free];
	struct lg_req *q = &r->reqs[s];
	q->buyer = b;
	q->queued = 0;
	q->outstanding = 0;
	q->attempts = 0;
	q->lost = 0;
	q->len = 0;
	return s;
}

/* Put slot s at the tail of the send ring (once). */
static void ring_push(struct lg_run *r, uint32_t s)
{
	struct lg_req *q = &r->reqs[s];
	if (q->queued)
		return;
	q->queued = 1;
	r->ring[(r->ring_head + r->ring_n) % r->n_reqs] = s;
	r->ring_n++;
}

/* Queue a freshly encoded request for its first send. */
void lg_req_submit(struct lg_run *r, uint32_t s)
{
	ring_push(r, s);
}

/* Return slot s to the pool; one still in the send ring is freed when the
 * ring reaches it. */
void lg_req_free(struct lg_run *r, uint32_t s)
{
	struct lg_req *q = &r->reqs[s];
	lg_wheel_disarm(&r->wheel, r->n_buyers + s);
	if (q->queued) {
		q->buyer = LG_ZOMBIE;
		return;
	}
	q->buyer = LG_NONE;
	r->free_reqs[r->n_free++] = s;
}

/* The resend timeout of a request class (0 reads and queue requests, 1
 * mutations, whose answers wait for the commit) after `attempts` sends: the
 * class's retransmission timeout (RFC 6298 from answers to first sends, at
 * least timeout_ms; timeout_max_ms until the first answer), doubled per
 * send, at most timeout_max_ms. */
static uint64_t resend_ms(const struct lg_run *r, int cls, unsigned attempts)
{
	const struct lg_config *c = r->cfg;
	unsigned sh = attempts > 1 ? attempts - 1 : 0;
	if (sh > 8)
		sh = 8;
	/* Before the first sample: timeout_max_ms (RFC 6298's 1 s initial RTO). */
	uint64_t rto_ms = r->rto[cls].samples ? (r->rto[cls].srtt_us + 4 * r->rto[cls].rttvar_us) / 1000u
					      : c->timeout_max_ms;
	if (rto_ms < c->timeout_ms)
		rto_ms = c->timeout_ms;
	uint64_t ms = rto_ms << sh;
	return ms < c->timeout_max_ms ? ms : c->timeout_max_ms;
}

/* Fold one round trip (an answer to a request sent once) into its class's
 * estimator (RFC 6298: srtt, rttvar). */
static void rto_sample(struct lg_run *r, int cls, uint64_t rtt_us)
{
	struct lg_rto *e = &r->rto[cls];
	if (!e->samples) {
		e->srtt_us = rtt_us;
		e->rttvar_us = rtt_us / 2;
	} else {
		uint64_t d = e->srtt_us > rtt_us ? e->srtt_us - rtt_us : rtt_us - e->srtt_us;
		e->rttvar_us = (3 * e->rttvar_us + d) / 4;
		e->srtt_us = (7 * e->srtt_us + rtt_us) / 8;
	}
	e->samples++;
}

/* Hand the filled datagrams to the transport; keep what it did not take. */
static void send_out(struct lg_run *r)
{
	if (!r->out_n)
		return;
	unsigned took = r->tr->send(r->tr, r->out, r->out_n);
	r->st.datagrams_out += took;
	if (took && took < r->out_n)
		memmove(&r->out[0], &r->out[took], (r->out_n - took) * sizeof(r->out[0]));
	r->out_n -= took;
}

/* Datagram out[cur] is complete: keep it (the next one is cur + 1), or,
 * with --loss, drop it as the network might (the next one reuses cur). */
static unsigned seal(struct lg_run *r, unsigned cur)
{
	if (r->cfg->loss > 0 && (double)(lg_rand(&r->rng) >> 11) * 0x1p-53 < r->cfg->loss) {
		r->st.loss_out++;
		r->out[cur].len = 0;
		return cur;
	}
	return cur + 1;
}

/* Pack the ring's requests into datagrams (up to PROTO_MSGS_MAX messages
 * and LG_DGRAM_MAX bytes each) and send them. Each packed request counts as
 * sent now: its resend timer is armed and its attempt counted. Packing stops
 * while the transport keeps a full burst unsent. */
void lg_req_flush(struct lg_run *r)
{
	uint8_t msgs[LG_BURST_MAX] = {0}; /* messages in out[i] being filled */
	send_out(r);
	unsigned cur = r->out_n; /* the datagram being filled is out[cur] */
	if (cur < LG_BURST_MAX)
		r->out[cur].len = 0;
	while (r->ring_n && cur < LG_BURST_MAX) {
		uint32_t s = r->ring[r->ring_head];
		struct lg_req *q = &r->reqs[s];
		if (q->buyer == LG_ZOMBIE) { /* answered meanwhile */
			r->ring_head = (r->ring_head + 1) % r->n_reqs;
			r->ring_n--;
			q->queued = 0;
			q->buyer = LG_NONE;
			r->free_reqs[r->n_free++] = s;
			continue;
		}
		if (r->out[cur].len + q->len > LG_DGRAM_MAX || msgs[cur] >= PROTO_MSGS_MAX) {
			if ((cur = seal(r, cur)) == LG_BURST_MAX) {
				r->out_n = cur;
				send_out(r);
				if (r->out_n == LG_BURST_MAX)
					return; /* the transport is full: keep the rest queued */
				cur = r->out_n;
				memset(msgs, 0, sizeof(msgs));
			}
			r->out[cur].len = 0;
			msgs[cur] = 0;
		}
		memcpy(r->out[cur].data + r->out[cur].len, q->msg, q->len);
		r->out[cur].len = (uint16_t)(r->out[cur].len + q->len);
		msgs[cur]++;
		r->ring_head = (r->ring_head + 1) % r->n_reqs;
		r->ring_n--;
		q->queued = 0;
		if (q->attempts == 0)
			q->first_us = r->now_us;
		if (q->outstanding == 0)
			q->horizon_us = r->now_us;
		q->attempts++;
		q->outstanding++;
		r->st.requests++;
		if (q->attempts > 1)
			r->st.retransmits++;
		if (r->n_secs)
			r->secs[r->n_secs - 1].requests++;
		lg_wheel_arm(&r->wheel, r->n_buyers + s, r->now_ms + resend_ms(r, q->mutation, q->attempts));
	}
	if (cur < LG_BURST_MAX && r->out[cur].len)
		cur = seal(r, cur);
	r->out_n = cur;
	send_out(r);
}

/* An answer came: the congestion window opens, by one per answer below
 * ssthresh (slow start), by one per window of answers above. */
static void window_grow(struct lg_run *r)
{
	double max = r->n_reqs;
	r->cwnd += r->cwnd < r->ssthresh ? 1.0 : 1.0 / r->cwnd;
	if (r->cwnd > max)
		r->cwnd = max;
}

/* A send went unanswered: halve the window, at most once per round trip
 * (the mutation class's smoothed one, at least 100 ms), never below
 * LG_CWND_MIN. */
static void window_cut(struct lg_run *r)
{
	uint64_t gap_us = r->rto[1].srtt_us > 100000 ? r->rto[1].srtt_us : 100000;
	if (r->now_us - r->cwnd_cut_us < gap_us)
		return;
	r->cwnd_cut_us = r->now_us;
	r->st.window_cuts++;
	r->ssthresh = r->cwnd / 2;
	if (r->ssthresh < LG_CWND_MIN)
		r->ssthresh = LG_CWND_MIN;
	r->cwnd = r->ssthresh;
}

/* The request's timer fired: busy's wait is over, or no answer came. */
void lg_req_timer(struct lg_run *r, uint32_t s)
{
	struct lg_req *q = &r->reqs[s];
	if (q->buyer >= r->n_buyers)
		return;
	if (q->outstanding == 0) { /* after busy: resend, a fresh horizon */
		ring_push(r, s);
		return;
	}
	q->lost++;
	r->st.timeouts[q->mutation]++;
	window_cut(r);
	const struct lg_config *c = r->cfg;
	int give_up;
	if (q->mutation)
		give_up = r->now_us - q->horizon_us >= (uint64_t)c->horizon_ms * 1000u;
	else
		give_up = q->lost >= c->attempts_max;
	if (r->stopping && !q->mutation) { /* the run is over: reads are dropped */
		r->buyers[q->buyer].req = LG_NONE;
		lg_req_free(r, s);
		return;
	}
	if (!give_up) {
		ring_push(r, s);
		return;
	}
	uint32_t b = q->buyer;
	r->buyers[b].req = LG_NONE;
	if (q->mutation)
		r->st.unknown_outcomes++;
	else
		r->st.timeouts_gave_up++;
	lg_buyer_gave_up(r, b, s, q->mutation);
	lg_req_free(r, s);
	lg_buyer_slot_free(r);
}

/* One decoded reply: match it, handle busy here, give the rest to the buyer. */
static void dispatch(struct lg_run *r, const struct proto_reply *rep)
{
	uint64_t cid = rep->hdr.client_id;
	if (cid <= r->cfg->client_base || cid - r->cfg->client_base > r->n_buyers) {
		r->st.stray_replies++;
		return;
	}
	uint32_t b = (uint32_t)(cid - r->cfg->client_base - 1);
	uint32_t s = r->buyers[b].req;
	if (s == LG_NONE || r->reqs[s].request_id != rep->hdr.request_id ||
	    (rep->hdr.opcode & ~PROTO_OP_REPLY) != r->reqs[s].op) {
		r->st.stray_replies++; /* a late duplicate, or not ours */
		return;
	}
	struct lg_req *q = &r->reqs[s];
	r->st.replies++;
	window_grow(r);
	if (rep->head.status == DP_S_BUSY) {
		r->st.busy++;
		if (q->outstanding <= 1)
			q->outstanding = 0; /* nothing was done: the horizon starts again */
		if (q->queued)
			return;
		uint32_t wait_ms = rep->head.retry_after_ms ? rep->head.retry_after_ms : 1;
		/* After the wait: resend (with other sends still unanswered, the
		 * timer counts as their timeout too). */
		lg_wheel_arm(&r->wheel, r->n_buyers + s, r->now_ms + wait_ms);
		return;
	}
	uint64_t lat = r->now_us - q->first_us;
	if (q->attempts == 1 && q->outstanding == 1)
		rto_sample(r, q->mutation, lat);
	if (q->op == PROTO_OP_HOLD_GA || q->op == PROTO_OP_HOLD_BEST || q->op == PROTO_OP_HOLD_SEATS) {
		lg_hist_add(&r->hold_lat, lat);
		lg_hist_add(&r->sec_lat, lat);
	} else if (q->op == PROTO_OP_CONFIRM) {
		lg_hist_add(&r->confirm_lat, lat);
		lg_hist_add(&r->sec_lat, lat);
	}
	r->buyers[b].req = LG_NONE;
	lg_buyer_reply(r, b, s, rep);
	lg_req_free(r, s);
	lg_buyer_slot_free(r);
}

/* Read every datagram waiting and dispatch its replies. A reply that does
 * not decode ends its datagram (counted in bad_replies). */
unsigned lg_req_poll(struct lg_run *r)
{
	static struct lg_dgram in[LG_BURST_MAX];
	unsigned total = 0;
	for (;;) {
		unsigned n = r->tr->recv(r->tr, in, LG_BURST_MAX);
		if (!n)
			break;
		total += n;
		r->st.datagrams_in += n;
		for (unsigned i = 0; i < n; i++) {
			if (r->cfg->loss > 0 && (double)(lg_rand(&r->rng) >> 11) * 0x1p-53 < r->cfg->loss) {
				r->st.loss_in++; /* --loss: as if lost on the way back */
				continue;
			}
			size_t off = 0;
			while (off < in[i].len) {
				struct proto_reply rep;
				if (proto_decode_reply(in[i].data, in[i].len, &off, &rep) != PROTO_OK) {
					r->st.bad_replies++;
					break;
				}
				dispatch(r, &rep);
			}
		}
		if (n < LG_BURST_MAX)
			break;
	}
	return total;
}
