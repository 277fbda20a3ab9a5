/*
 * memif_client.c - stampede-memif-client: a small DPDK client that talks to
 * stampede-dataplane over net_memif (or any port), for the memif test and
 * `tools/bench dataplane`.
 *
 *   stampede-memif-client [EAL options] -- --mode MODE [options]
 *
 * Modes:
 *   check   functional round trip: ARP, ping, hold, the losing side of a race
 *           with its alternative, confirm, a retried confirm, release, order
 *           lookup, a malformed message; exit 0 only if every answer is right.
 *   bench   as many buyers as --window in flight: hold a seat (shuffled
 *           order over the event), confirm it once the hold is acknowledged;
 *           for --seconds; prints one JSON line with requests/s, holds/s and
 *           latency percentiles.
 *   ga      the festival sale (tools/bench flavorus): as many buyers as --window
 *           in flight each hold --per-hold K (1..16, default 8) tickets of a
 *           general-admission type of --event, chosen with odds in proportion
 *           to what is left of each type (--ga ID:CAPACITY,... lists them),
 *           confirm once the hold is acknowledged, and go again until every
 *           ticket has been asked for and every hold confirmed (or --seconds
 *           pass); a refused hold's tickets are asked for again. Prints one
 *           JSON line: duration_s from the first request to the last confirm
 *           acknowledged, and the client's own counts (the bench takes sold
 *           and oversold from the dataplane).
 *   flood   ceiling: send PINGs as fast as the port takes them and count
 *           whatever comes back (against testpmd in macswap mode this is the
 *           plain echo ceiling of the memif link); prints {"pps":..}.
 *
 * Options: --ip A (ours, default 10.12.0.1), --server A (10.12.0.2), --port N
 * (7300), --event N (first event), --events N (events of the run), --sections N,
 * --seats N (seats per section), --window N, --batch N (requests per datagram, 1..16),
 * --seconds S, --server-mac XX:..:XX (skip ARP, for flood against testpmd),
 * --ga ID:CAPACITY[,...] and --per-hold K (ga mode), --queues N (RX/TX
 * queue pairs: as many as the dataplane has workers, whose replies come back
 * on their own queues), --rx-stall-ms N (bench and ga modes: read no reply
 * for the first N ms, 0..10000, so the server's TX ring fills up: a test of
 * what the dataplane does when replies are not drained).
 *
 * The Ethernet/ARP/IPv4/UDP link is tools/dp_link (shared with the load
 * generator's dpdk transport).
 */
#include <getopt.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"
#include "tools/dp_link.h"
#include "tools/mc_ga_list.h"

#define MC_BURST 32
#define MC_WINDOW_MAX 65536 /* < 2^MC_BUYER_BITS */
#define MC_LAT_BUCKETS 65536 /* latency histogram: 10 us buckets up to ~655 ms */
#define MC_LAT_BUCKET_US 10

struct mc {
	struct dp_link link;
	struct dp_link_drops drops;
	uint64_t client_id;
	uint64_t next_req;
};

static struct mc mc;

static uint64_t now_us(void)
{
	return rte_rdtsc() * 1000000ull / mc.link.hz;
}

/* A frame to the server carrying `len` bytes of payload from `buf`. */
static struct rte_mbuf *frame_udp(const uint8_t *buf, size_t len)
{
	return dp_link_udp_frame(&mc.link, mc.link.src_port_lo, buf, len);
}

/* Frames the TX ring did not take yet: sent first on the next call, so a
 * momentarily full ring delays requests instead of losing them. */
#define MC_TX_BACKLOG 4096
static struct rte_mbuf *tx_backlog[MC_TX_BACKLOG];
static unsigned tx_backlog_n;
/* Datagrams the client lost itself (TX backlog full, mbuf pool empty), sent
 * and received: so a bench can tell where resent requests went missing. */
static uint64_t mc_tx_lost, mc_no_mbuf, mc_dgrams_out, mc_dgrams_in;
static unsigned mc_rx_stall_ms; /* --rx-stall-ms */

static void send_frames(struct rte_mbuf **m, unsigned n)
{
	if (tx_backlog_n) {
		unsigned sent = rte_eth_tx_burst(mc.link.port_id, 0, tx_backlog, (uint16_t)(tx_backlog_n < 512 ? tx_backlog_n : 512));
		memmove(tx_backlog, tx_backlog + sent, (tx_backlog_n - sent) * sizeof(tx_backlog[0]));
		tx_backlog_n -= sent;
		mc_dgrams_out += sent;
	}
	unsigned sent = 0;
	if (tx_backlog_n == 0)
		for (unsigned tries = 0; sent < n && tries < 4; tries++)
			sent += rte_eth_tx_burst(mc.link.port_id, 0, m + sent, (uint16_t)(n - sent));
	mc_dgrams_out += sent;
	for (unsigned i = sent; i < n; i++) {
		if (tx_backlog_n < MC_TX_BACKLOG)
			tx_backlog[tx_backlog_n++] = m[i];
		else {
			rte_pktmbuf_free(m[i]); /* lost: resent after MC_RESEND_US */
			mc_tx_lost++;
		}
	}
}

/* The UDP payload of a frame from the server, or NULL; ARP requests for us
 * are answered. */
static const uint8_t *udp_from_server(struct rte_mbuf *m, uint16_t *len)
{
	struct dp_link_parsed p;
	enum dp_link_kind k =
		dp_link_parse(&mc.link, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &p, &mc.drops);
	if (k == DP_LINK_ARP_REQUEST) {
		struct rte_mbuf *r = dp_link_arp_reply(&mc.link, &p);
		if (r)
			send_frames(&r, 1);
	}
	if (k != DP_LINK_UDP)
		return NULL;
	*len = p.payload_len;
	return p.payload;
}

/* ---- check mode: one request at a time, with retries of the same id ---- */

/* Send one datagram and wait for the reply to (client, req); retries the same
 * bytes on timeout. Returns 0 and fills *r, or -1. */
static int call(const uint8_t *buf, size_t len, uint64_t req, struct proto_reply *r)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct rte_mbuf *m = frame_udp(buf, len);
		if (!m)
			return -1;
		send_frames(&m, 1);
		uint64_t until = now_us() + 200000;
		while (now_us() < until) {
			struct rte_mbuf *rx[MC_BURST];
			uint16_t n = dp_link_rx(&mc.link, rx, MC_BURST);
			int got = 0;
			for (uint16_t i = 0; i < n; i++) {
				uint16_t plen;
				const uint8_t *p = udp_from_server(rx[i], &plen);
				size_t off = 0;
				while (p && !got && off < plen) {
					if (proto_decode_reply(p, plen, &off, r) != PROTO_OK)
						break;
					if (r->hdr.client_id == mc.client_id && r->hdr.request_id == req)
						got = 1;
				}
				rte_pktmbuf_free(rx[i]);
			}
			if (got)
				return 0;
		}
	}
	return -1;
}

static int failures;
#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "check failed: " __VA_ARGS__);                                        \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

static int mode_check(uint32_t event, uint32_t section)
{
	uint8_t mem[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	uint64_t req;

	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_ping(&b, mc.client_id, req, (const uint8_t *)"hello", 5);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK, "ping");

	/* Hold seats 0 and 1. */
	uint32_t seats[2] = {0, 1};
	proto_buf_init(&b, mem, sizeof(mem));
	uint64_t hold_req = req = ++mc.next_req;
	proto_put_hold_seats(&b, mc.client_id, req, event, section, 2, seats, NULL);
	size_t hold_len = b.len;
	uint8_t hold_bytes[PROTO_DGRAM_MAX];
	memcpy(hold_bytes, mem, hold_len);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK && r.u.hold.body.n_items == 2,
	      "hold 2 seats: status %u", r.head.status);
	uint64_t hold_id = r.u.hold.body.hold_id;

	/* The same request again (a retry): same hold, nothing new. */
	CHECK(call(hold_bytes, hold_len, hold_req, &r) == 0 && r.head.status == DP_S_OK &&
		      r.u.hold.body.hold_id == hold_id,
	      "retried hold returns the first answer");

	/* Another buyer loses the race for seat 1 and is offered an alternative. */
	uint64_t me = mc.client_id;
	mc.client_id = me + 1;
	uint32_t seat1 = 1;
	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_hold_seats(&b, mc.client_id, req, event, section, 1, &seat1, NULL);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_TAKEN && r.u.hold.body.n_alt == 1 &&
		      r.u.hold.alt[0] != 0 && r.u.hold.alt[0] != 1,
	      "losing side of a race gets taken with an alternative (status %u, n_alt %u)", r.head.status,
	      r.u.hold.body.n_alt);
	mc.client_id = me;

	/* Confirm, and a retried confirm gives the same order. */
	uint8_t pay[PROTO_PAYMENT_REF_SIZE] = "memif-check";
	proto_buf_init(&b, mem, sizeof(mem));
	uint64_t conf_req = req = ++mc.next_req;
	proto_put_confirm(&b, mc.client_id, req, hold_id, pay);
	uint8_t conf_bytes[PROTO_DGRAM_MAX];
	size_t conf_len = b.len;
	memcpy(conf_bytes, mem, conf_len);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK && r.u.hold.body.order_id != 0,
	      "confirm: status %u", r.head.status);
	uint64_t order_id = r.u.hold.body.order_id;
	CHECK(call(conf_bytes, conf_len, conf_req, &r) == 0 && r.head.status == DP_S_OK &&
		      r.u.hold.body.order_id == order_id,
	      "retried confirm gives the same order");

	/* Order lookup. */
	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_order(&b, mc.client_id, req, order_id);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK && r.u.order.body.n_items == 2,
	      "order lookup");

	/* Hold seat 5 and release it. */
	uint32_t seat5 = 5;
	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_hold_seats(&b, mc.client_id, req, event, section, 1, &seat5, NULL);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK, "hold seat 5");
	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_release(&b, mc.client_id, req, r.u.hold.body.hold_id);
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_OK, "release");

	/* A malformed message (hold of 0 seats) gets bad_request for its id. */
	proto_buf_init(&b, mem, sizeof(mem));
	req = ++mc.next_req;
	proto_put_hold_ga(&b, mc.client_id, req, event, section, 1, NULL);
	mem[sizeof(struct proto_hdr) + 8] = 0; /* n = 0 */
	CHECK(call(mem, b.len, req, &r) == 0 && r.head.status == DP_S_BAD_REQUEST, "malformed gets bad_request");

	printf("memif check: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}

/* sold mode: seats 0..seats-1 of section 1 must be sold (after a restart). */
static int mode_sold(uint32_t event, uint32_t seats)
{
	uint8_t mem[PROTO_DGRAM_MAX];
	struct proto_buf b;
	struct proto_reply r;
	proto_buf_init(&b, mem, sizeof(mem));
	uint64_t req = ++mc.next_req;
	proto_put_seat_map(&b, mc.client_id, req, event, 1, 0, (uint16_t)seats);
	if (call(mem, b.len, req, &r) != 0 || r.head.status != DP_S_OK || r.kind != PROTO_R_SEAT_MAP ||
	    r.u.seat_map.count != seats) {
		fprintf(stderr, "sold: no seat map (status %u)\n", r.head.status);
		return 1;
	}
	for (uint32_t i = 0; i < seats; i++)
		if ((r.u.seat_map.seats[i] & 3) != DP_SEAT_SOLD) {
			fprintf(stderr, "sold: seat %u is in state %u, expected sold\n", i, r.u.seat_map.seats[i] & 3);
			return 1;
		}
	printf("memif sold: seats 0..%u sold\n", seats - 1);
	return 0;
}

/* ---- bench mode ---- */

struct buyer {
	uint64_t req;      /* outstanding request id (0: idle); low 17 bits = buyer index */
	uint64_t gen;      /* requests made by this buyer slot */
	uint64_t sent_us;  /* when it was (re)sent; resend after MC_RESEND_US */
	uint64_t hold_id;  /* acknowledged hold waiting for its confirm */
	uint64_t client;
	uint32_t seat_idx; /* the seat being held */
	uint32_t ga_type;  /* ga mode: index into ga.id[] of the type being held */
	uint8_t ga_n;      /* ga mode: tickets asked for */
	uint32_t sends;    /* datagrams sent for the current request */
	uint8_t confirming;
};
#define MC_BUYER_BITS 17
#define MC_RESEND_US 500000
#define MC_SCAN_PER_TURN 256 /* buyers looked at per loop turn for resends */

static uint64_t lat_hist[MC_LAT_BUCKETS];

static void lat_add(uint64_t us)
{
	uint64_t b = us / MC_LAT_BUCKET_US;
	lat_hist[b < MC_LAT_BUCKETS ? b : MC_LAT_BUCKETS - 1]++;
}

static double lat_pct(double pct)
{
	uint64_t total = 0, acc = 0;
	for (unsigned i = 0; i < MC_LAT_BUCKETS; i++)
		total += lat_hist[i];
	for (unsigned i = 0; i < MC_LAT_BUCKETS; i++) {
		acc += lat_hist[i];
		if (total && acc * 100.0 >= pct * (double)total)
			return (i + 0.5) * MC_LAT_BUCKET_US;
	}
	return 0;
}

/* ga mode: the general-admission types of the event, what is not yet asked
 * for of each, and how many tickets one hold asks for. */
struct ga_plan {
	unsigned types;
	uint32_t id[MC_GA_TYPES_MAX];
	uint32_t cap[MC_GA_TYPES_MAX];
	uint32_t left[MC_GA_TYPES_MAX];
	uint64_t left_total;
	unsigned per_hold;
	uint64_t rng;
};
static struct ga_plan ga; /* types == 0: seat mode */

/* Take a parsed --ga list as the plan: nothing asked for yet. */
static void ga_plan_init(const struct mc_ga_list *l)
{
	ga.types = l->types;
	for (unsigned t = 0; t < l->types; t++) {
		ga.id[t] = l->id[t];
		ga.cap[t] = ga.left[t] = l->cap[t];
		ga.left_total += l->cap[t];
	}
}

/* ga mode: give buyer x its next hold, a type chosen with odds in proportion
 * to what is left of each (so every type runs out at about the same time),
 * per_hold tickets or the type's last ones. Returns 0 when nothing is left. */
static int ga_next(struct buyer *x)
{
	if (ga.left_total == 0)
		return 0;
	ga.rng = ga.rng * 6364136223846793005ull + 1442695040888963407ull;
	uint64_t r = (ga.rng >> 11) % ga.left_total;
	unsigned t = 0;
	while (r >= ga.left[t])
		r -= ga.left[t++];
	unsigned n = ga.left[t] < ga.per_hold ? ga.left[t] : ga.per_hold;
	ga.left[t] -= n;
	ga.left_total -= n;
	x->ga_type = t;
	x->ga_n = (uint8_t)n;
	return 1;
}

/* ga mode: a refused hold's tickets are asked for again later. */
static void ga_giveback(const struct buyer *x)
{
	ga.left[x->ga_type] += x->ga_n;
	ga.left_total += x->ga_n;
}

/* Encode buyer x's current request into pb. */
static void bench_encode(struct proto_buf *pb, const struct buyer *x, uint32_t event, uint32_t sections,
			 uint32_t seats)
{
	if (x->confirming) {
		uint8_t pay[PROTO_PAYMENT_REF_SIZE] = "bench";
		proto_put_confirm(pb, x->client, x->req, x->hold_id, pay);
	} else if (ga.types) {
		proto_put_hold_ga(pb, x->client, x->req, event, ga.id[x->ga_type], x->ga_n, NULL);
	} else {
		const uint32_t per_event = sections * seats;
		uint32_t in_event = x->seat_idx % per_event;
		uint32_t seat = in_event % seats;
		proto_put_hold_seats(pb, x->client, x->req, event + x->seat_idx / per_event, in_event / seats + 1, 1,
				     &seat, NULL);
	}
}

static int mode_bench(uint32_t event, uint32_t events, uint32_t sections, uint32_t seats, unsigned window,
		      unsigned batch, double seconds)
{
	/* Seats of events event..event+events-1, all shuffled together (ga
	 * mode: no seats, the plan in `ga`). */
	const uint32_t cap = ga.types ? 1 : events * sections * seats;
	uint32_t *order = malloc(cap * sizeof(uint32_t));
	struct buyer *by = calloc(window, sizeof(*by));
	uint32_t *ready = malloc(window * sizeof(uint32_t)); /* buyers with nothing outstanding */
	if (!order || !by || !ready)
		return 1;
	for (uint32_t i = 0; i < cap; i++)
		order[i] = i;
	uint64_t rng = 0xc0ffee;
	for (uint32_t i = cap - 1; i > 0; i--) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t j = (uint32_t)((rng >> 33) % (i + 1));
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	uint32_t n_ready = window;
	for (uint32_t b = 0; b < window; b++)
		ready[b] = b;
	uint32_t next_seat = 0, outstanding = 0;
	uint64_t requests = 0, holds = 0, confirms = 0, busy = 0, refused = 0, resent = 0, tickets = 0;
	uint64_t refused_by[DP_S__COUNT] = {0};
	const uint64_t t0 = now_us(), t_end = t0 + (uint64_t)(seconds * 1e6);
	uint64_t t_last = t0, t_last_confirm = t0;
	uint32_t scan_cursor = 0;
	uint8_t mem[MC_BURST][PROTO_DGRAM_MAX];
	for (;;) {
		const uint64_t t = now_us();
		const int no_work = ga.types ? ga.left_total == 0 : next_seat >= cap;
		const int stopping = t >= t_end || no_work;
		struct rte_mbuf *tx[MC_BURST];
		unsigned n_tx = 0;
		/* New requests from ready buyers, `batch` to a datagram. */
		while (n_ready && n_tx < MC_BURST && tx_backlog_n < 512) {
			struct proto_buf pb;
			proto_buf_init(&pb, mem[n_tx], PROTO_DGRAM_MAX);
			unsigned in_dgram = 0;
			while (n_ready && in_dgram < batch) {
				struct buyer *x = &by[ready[n_ready - 1]];
				if (!x->hold_id && (stopping || (ga.types ? ga.left_total == 0 : next_seat >= cap))) {
					n_ready--; /* this buyer is done */
					continue;
				}
				uint32_t b = ready[--n_ready];
				x->gen++;
				x->req = (x->gen << MC_BUYER_BITS) | b;
				x->confirming = x->hold_id != 0;
				if (!x->confirming) {
					x->client = mc.client_id + (x->gen << MC_BUYER_BITS) + b; /* a new buyer per hold */
					if (ga.types)
						ga_next(x); /* work is left: checked above */
					else
						x->seat_idx = order[next_seat++];
				}
				bench_encode(&pb, x, event, sections, seats);
				x->sent_us = t;
				x->sends = 1;
				in_dgram++;
				requests++;
				outstanding++;
			}
			if (in_dgram == 0)
				break;
			struct rte_mbuf *m = frame_udp(mem[n_tx], pb.len);
			if (!m) {
				mc_no_mbuf++;
				break; /* these requests are resent after MC_RESEND_US */
			}
			tx[n_tx++] = m;
		}
		/* Requests due again (lost, or answered busy and waited out): the
		 * same id again. A rotating cursor looks at part of the window
		 * each turn, so a crowd of busy answers drains at full speed. */
		for (uint32_t k = 0; k < MC_SCAN_PER_TURN && n_tx < MC_BURST; k++) {
			struct buyer *x = &by[scan_cursor];
			scan_cursor = scan_cursor + 1 == window ? 0 : scan_cursor + 1;
			if (!x->req || t < x->sent_us + MC_RESEND_US)
				continue;
			struct proto_buf pb;
			proto_buf_init(&pb, mem[n_tx], PROTO_DGRAM_MAX);
			bench_encode(&pb, x, event, sections, seats);
			x->sent_us = t;
			x->sends++;
			struct rte_mbuf *m = frame_udp(mem[n_tx], pb.len);
			if (!m)
				break;
			tx[n_tx++] = m;
			resent++;
		}
		if (n_tx || tx_backlog_n)
			send_frames(tx, n_tx);
		struct rte_mbuf *rx[MC_BURST];
		uint16_t n = t < t0 + mc_rx_stall_ms * 1000ull ? 0 : dp_link_rx(&mc.link, rx, MC_BURST);
		mc_dgrams_in += n;
		for (uint16_t i = 0; i < n; i++) {
			uint16_t plen;
			const uint8_t *p = udp_from_server(rx[i], &plen);
			size_t off = 0;
			struct proto_reply r;
			while (p && off < plen && proto_decode_reply(p, plen, &off, &r) == PROTO_OK) {
				uint32_t b = (uint32_t)(r.hdr.request_id & ((1u << MC_BUYER_BITS) - 1));
				if (b >= window || by[b].req != r.hdr.request_id)
					continue; /* an answer to a resent copy already handled */
				struct buyer *x = &by[b];
				const uint64_t t_now = now_us();
				lat_add(t_now - x->sent_us);
				if (r.head.status == DP_S_BUSY) {
					busy++; /* resend the same id after retry_after_ms */
					x->sent_us = t_now + r.head.retry_after_ms * 1000ull - MC_RESEND_US;
					continue;
				}
				x->req = 0;
				outstanding--;
				if (r.head.status != DP_S_OK) {
					if (refused < 5)
						fprintf(stderr, "bench: %s for %s of seat %u by client %" PRIu64 " request %" PRIu64
								" (sent %u times)\n",
							r.head.status == DP_S_TAKEN ? "taken" : "refused",
							x->confirming ? "confirm" : "hold", x->seat_idx, x->client, x->req,
							x->sends);
					refused++;
					refused_by[r.head.status < DP_S__COUNT ? r.head.status : 0]++;
					if (ga.types && !x->confirming)
						ga_giveback(x);
					x->hold_id = 0;
				} else if (x->confirming) {
					confirms++;
					tickets += r.u.hold.body.n_items;
					t_last_confirm = t_now;
					x->hold_id = 0;
				} else {
					holds++;
					x->hold_id = r.u.hold.body.hold_id;
				}
				t_last = t_now;
				ready[n_ready++] = b;
			}
			rte_pktmbuf_free(rx[i]);
		}
		/* Two cores: the dataplane's storage writer shares this one. Give it
		 * the CPU whenever this turn found nothing to do. */
		if (n_tx == 0 && n == 0)
			sched_yield();
		if (stopping && outstanding == 0) {
			int holding = 0;
			for (uint32_t b = 0; b < window && !holding; b++)
				holding = by[b].hold_id != 0;
			if (!holding)
				break;
		}
		if (now_us() > t_end + 10000000) {
			fprintf(stderr, "bench: %u requests still unanswered 10 s after the end\n", outstanding);
			break;
		}
	}
	for (int st = 0; st < DP_S__COUNT; st++)
		if (refused_by[st])
			fprintf(stderr, "bench: %" PRIu64 " refused with status %d\n", refused_by[st], st);
	if (ga.types) {
		/* Client-side counts only: tools/bench-flavorus takes sold and
		 * oversold from the appliance. */
		double d = (double)(t_last_confirm - t0) / 1e6;
		printf("{\"bench\":\"flavorus\",\"duration_s\":%.3f,\"holds\":%" PRIu64 ",\"confirms\":%" PRIu64
		       ",\"tickets_confirmed\":%" PRIu64 ",\"tickets_left\":%" PRIu64 ",\"requests\":%" PRIu64
		       ",\"requests_per_s\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"busy\":%" PRIu64
		       ",\"refused\":%" PRIu64 ",\"resent\":%" PRIu64 ",\"window\":%u,\"batch\":%u,\"per_hold\":%u"
		       ",\"dgrams_out\":%" PRIu64 ",\"dgrams_in\":%" PRIu64 ",\"client_lost\":%" PRIu64 "}\n",
		       d, holds, confirms, tickets, ga.left_total, requests, d > 0 ? (double)(holds + confirms) / d : 0,
		       lat_pct(50), lat_pct(99), busy, refused, resent, window, batch, ga.per_hold, mc_dgrams_out,
		       mc_dgrams_in, mc_tx_lost + mc_no_mbuf);
		free(order);
		free(by);
		free(ready);
		return outstanding || ga.left_total ? 1 : 0;
	}
	double dur = (double)(t_last - t0) / 1e6;
	printf("{\"bench\":\"dataplane\",\"requests_per_s\":%.0f,\"holds_per_s\":%.0f,\"confirms_per_s\":%.0f,"
	       "\"p50_us\":%.0f,\"p99_us\":%.0f,\"requests\":%" PRIu64 ",\"busy\":%" PRIu64 ",\"refused\":%" PRIu64
	       ",\"resent\":%" PRIu64 ",\"duration_s\":%.3f,\"window\":%u,\"batch\":%u}\n",
	       dur > 0 ? (double)(holds + confirms) / dur : 0, dur > 0 ? (double)holds / dur : 0,
	       dur > 0 ? (double)confirms / dur : 0, lat_pct(50), lat_pct(99), requests, busy, refused, resent, dur,
	       window, batch);
	free(order);
	free(by);
	free(ready);
	return refused || outstanding ? 1 : 0;
}

static int mode_flood(double seconds)
{
	uint8_t mem[64];
	struct proto_buf b;
	proto_buf_init(&b, mem, sizeof(mem));
	proto_put_ping(&b, mc.client_id, 1, NULL, 0);
	const uint64_t t0 = now_us(), t_end = t0 + (uint64_t)(seconds * 1e6);
	uint64_t sent = 0, got = 0;
	while (now_us() < t_end) {
		struct rte_mbuf *tx[MC_BURST];
		unsigned k = 0;
		for (; k < MC_BURST; k++)
			if (!(tx[k] = frame_udp(mem, b.len)))
				break;
		uint16_t s = rte_eth_tx_burst(mc.link.port_id, 0, tx, (uint16_t)k);
		for (unsigned i = s; i < k; i++)
			rte_pktmbuf_free(tx[i]);
		sent += s;
		struct rte_mbuf *rx[MC_BURST];
		uint16_t n = dp_link_rx(&mc.link, rx, MC_BURST);
		got += n;
		rte_pktmbuf_free_bulk(rx, n);
	}
	double dur = (double)(now_us() - t0) / 1e6;
	printf("{\"flood\":true,\"sent_pps\":%.0f,\"pps\":%.0f}\n", (double)sent / dur, (double)got / dur);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argc -= ret;
	argv += ret;
	const char *mode = "check", *server_mac = NULL, *ga_text = NULL;
	const char *ip = "10.12.0.1", *server = "10.12.0.2";
	unsigned window = 4096, port_udp = 7300, batch = 1, queues = 1;
	uint32_t event = 1, events = 1, sections = 10, seats = 15000;
	double seconds = 2.0;
	static const struct option opts[] = {
		{"mode", required_argument, NULL, 'm'},    {"ip", required_argument, NULL, 'i'},
		{"server", required_argument, NULL, 's'},  {"port", required_argument, NULL, 'p'},
		{"event", required_argument, NULL, 'e'},   {"sections", required_argument, NULL, 'S'},
		{"seats", required_argument, NULL, 'n'},   {"window", required_argument, NULL, 'w'},
		{"events", required_argument, NULL, 'E'},  {"batch", required_argument, NULL, 'B'},
		{"seconds", required_argument, NULL, 't'}, {"server-mac", required_argument, NULL, 'M'},
		{"ga", required_argument, NULL, 'g'},      {"per-hold", required_argument, NULL, 'k'},
		{"queues", required_argument, NULL, 'q'},  {"rx-stall-ms", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'i': ip = optarg; break;
		case 's': server = optarg; break;
		case 'p': port_udp = (unsigned)atoi(optarg); break;
		case 'e': event = (uint32_t)atoi(optarg); break;
		case 'S': sections = (uint32_t)atoi(optarg); break;
		case 'n': seats = (uint32_t)atoi(optarg); break;
		case 'E': events = (uint32_t)atoi(optarg); break;
		case 'B': batch = (unsigned)atoi(optarg); break;
		case 'w': window = (unsigned)atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'M': server_mac = optarg; break;
		case 'g': ga_text = optarg; break;
		case 'k': ga.per_hold = (unsigned)atoi(optarg); break;
		case 'q': queues = (unsigned)atoi(optarg); break;
		case 'R': mc_rx_stall_ms = (unsigned)atoi(optarg); break;
		default: rte_exit(2, "usage: see the comment at the top of tools/memif_client.c\n");
		}
	}
	if (window < 1 || window > MC_WINDOW_MAX || sections < 1 || seats < 1 || events < 1 || events > 64 ||
	    batch < 1 || batch > 16 || mc_rx_stall_ms > 10000 ||
	    seconds <= 0)
		rte_exit(2, "bad option value\n");
	if (strcmp(mode, "ga") == 0) {
		struct mc_ga_list list;
		char why[160];
		if (!ga_text)
			rte_exit(2, "--mode ga needs --ga ID:CAPACITY[,ID:CAPACITY...]\n");
		if (mc_ga_list_parse(ga_text, &list, why, sizeof(why)) != 0)
			rte_exit(2, "%s\n", why);
		ga_plan_init(&list);
		if (ga.per_hold == 0)
			ga.per_hold = 8;
		if (ga.per_hold > 16)
			rte_exit(2, "--per-hold: 1..16 tickets\n");
		ga.rng = 0xfe571ba1;
	}
	char err[256];
	if (dp_link_open(&mc.link, 0, ip, server, (uint16_t)port_udp, "mc_mbufs", 16383, 1024, queues, err,
			 sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "%s\n", err);
	mc.client_id = ((uint64_t)rte_rdtsc() << 16) | 1;
	mc.next_req = 0;
	if (server_mac) {
		if (dp_link_set_server_mac(&mc.link, server_mac) != 0)
			rte_exit(2, "bad --server-mac\n");
	} else if (dp_link_arp_resolve(&mc.link, 5000) != 0) {
		rte_exit(EXIT_FAILURE, "no ARP answer from %s\n", server);
	}
	int rc;
	if (strcmp(mode, "check") == 0)
		rc = mode_check(event, 1);
	else if (strcmp(mode, "bench") == 0 || strcmp(mode, "ga") == 0)
		rc = mode_bench(event, events, sections, seats, window, batch, seconds);
	else if (strcmp(mode, "sold") == 0)
		rc = mode_sold(event, seats);
	else if (strcmp(mode, "flood") == 0)
		rc = mode_flood(seconds);
	else
		rte_exit(2, "unknown mode %s\n", mode);
	dp_link_close(&mc.link);
	rte_eal_cleanup();
	return rc;
}
