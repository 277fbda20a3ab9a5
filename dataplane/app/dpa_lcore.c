/*
 * dpa_lcore.c - one worker lcore's main loop (DPDK l2fwd/l3fwd style):
 *
 *   loop: quiescent state
 *         RX burst  -> ARP / ICMP echo answered in place
 *                   -> Stampede datagrams: each message executed here if
 *                      this worker owns it, else handed to its owner's ring
 *         handoffs from other workers executed
 *         operator expire/release items from the control thread
 *         engine tick (hold expiry, GA rebalancing)
 *         replies whose mutations are now durable released
 *         TX burst
 *
 * A reply that reports a mutation waits in a FIFO until the storage writer
 * has committed the batch holding it. When that FIFO plus the handoff ring
 * pass the backlog bound, new mutations are answered busy with a retry-after
 * instead of being queued without bound.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>

#include <urcu/urcu-qsbr.h>

#include "dataplane/app/dpa.h"

/* Largest reply one message can produce (a full seat-map page). */
#define REPLY_MSG_MAX                                                                                          \
	(sizeof(struct proto_hdr) + sizeof(struct proto_reply_head) + sizeof(struct proto_seat_map_reply) +    \
	 PROTO_SEATMAP_PAGE_MAX)
_Static_assert(REPLY_MSG_MAX <= PROTO_DGRAM_MAX, "a seat-map page reply fits one datagram");
_Static_assert(sizeof(struct proto_hdr) + sizeof(struct proto_reply_head) + sizeof(struct proto_queue_reply) <=
		       REPLY_MSG_MAX,
	       "a queue reply fits the room kept for one reply");
_Static_assert((int)DP_QS_WAITING == (int)PROTO_QS_WAITING && (int)DP_QS_ADMITTED == (int)PROTO_QS_ADMITTED &&
		       (int)DP_QS_NO_QUEUE == (int)PROTO_QS_NO_QUEUE && (int)DP_QS_PREQUEUE == (int)PROTO_QS_PREQUEUE,
	       "queue states");

/* Replies being gathered for one peer. */
struct reply_ctx {
	struct dpa_lcore *lc;
	struct dpa_peer peer;
	struct rte_mbuf *reuse; /* the request's mbuf: the last datagram goes out in it */
	uint64_t wait_seq;      /* the datagram may leave once durable >= this */
	struct dpa_tx_meta meta; /* RX burst of the requests, requests in the datagram */
	struct proto_buf b;
	uint8_t mem[PROTO_DGRAM_MAX];
};

/* Most reply datagrams one request datagram can produce: a datagram is sent
 * early only when the next message's reply might not fit, so at most one per
 * message (an ARP or ICMP answer is one). */
#define DPA_REPLY_DGRAMS_PER_RX PROTO_MSGS_MAX
_Static_assert(DPA_TX_BUF_MAX >= DPA_REPLY_DGRAMS_PER_RX && DPA_TX_BUF_MAX >= DPA_HANDOFF_BURST_MAX,
	       "an empty TX buffer takes the answers to one datagram and one handoff burst");

/* Room left in the TX buffer. Work is taken in only as far as its replies
 * are sure to fit (RX bursts, handoffs: see dpa_lcore_main), so a TX queue
 * the peer does not drain holds work back instead of losing answers. */
static uint32_t tx_room(const struct dpa_lcore *lc)
{
	return DPA_TX_BUF_MAX - lc->n_tx;
}

static void tx_queue(struct dpa_lcore *lc, struct rte_mbuf *m, struct dpa_tx_meta meta)
{
	if (lc->n_tx == DPA_TX_BUF_MAX) {
		rte_pktmbuf_free(m);
		lc->c.tx_dropped++;
		return;
	}
	lc->tx_meta[lc->n_tx] = meta;
	lc->tx[lc->n_tx++] = m;
}

static const struct dpa_tx_meta no_meta;

/* Count the requests answered by the first `sent` TX entries, sent at tsc. */
static void latency_note(struct dpa_lcore *lc, uint32_t sent, uint64_t tsc)
{
	const uint64_t tsc_per_us = lc->app->tsc_hz / 1000000 ? lc->app->tsc_hz / 1000000 : 1;
	for (uint32_t i = 0; i < sent; i++) {
		const struct dpa_tx_meta *mt = &lc->tx_meta[i];
		if (mt->n_msgs == 0)
			continue;
		uint64_t us = tsc > mt->rx_tsc ? (tsc - mt->rx_tsc) / tsc_per_us : 0;
		lc->c.latency_us[st_hist_bucket(us)] += mt->n_msgs;
		lc->c.latency_sum_us += us * mt->n_msgs;
	}
}

/* Send what the TX queue takes; keep the rest for the next turn (a full
 * ring is momentary). The buffer cannot overflow: work is taken in only
 * within tx_room; tx_queue's drop (counted as tx_dropped) is a last guard. */
static void tx_flush(struct dpa_lcore *lc)
{
	uint32_t sent = 0;
	for (unsigned tries = 0; sent < lc->n_tx && tries < 4; tries++)
		sent += rte_eth_tx_burst(lc->app->set.eth_port, (uint16_t)lc->idx, lc->tx + sent,
					 (uint16_t)(lc->n_tx - sent));
	lc->c.tx_pkts += sent;
	latency_note(lc, sent, rte_rdtsc());
	if (sent < lc->n_tx) {
		memmove(lc->tx, lc->tx + sent, (lc->n_tx - sent) * sizeof(lc->tx[0]));
		memmove(lc->tx_meta, lc->tx_meta + sent, (lc->n_tx - sent) * sizeof(lc->tx_meta[0]));
	}
	lc->n_tx -= sent;
}

/* Send the gathered replies as one datagram, now or once durable. */
static void reply_emit(struct reply_ctx *ctx, int final)
{
	struct dpa_lcore *lc = ctx->lc;
	if (ctx->b.len == 0)
		goto done;
	struct rte_mbuf *m = NULL;
	if (final && ctx->reuse) {
		m = ctx->reuse; /* reply in the request's own mbuf */
		ctx->reuse = NULL;
		rte_pktmbuf_reset(m);
	} else {
		m = rte_pktmbuf_alloc(lc->app->pool);
	}
	if (!m) {
		lc->c.mbuf_alloc_failed++; /* the client's retry gets the same answer */
		goto done;
	}
	uint8_t *dst = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DPA_HDRS_LEN + ctx->b.len));
	assert(dst != NULL); /* mbuf data room is far larger than one datagram */
	memcpy(dst + DPA_HDRS_LEN, ctx->mem, ctx->b.len);
	dpa_net_finish_reply(lc->app, m, &ctx->peer, (uint16_t)ctx->b.len);
	if (ctx->wait_seq > dp_worker_durable(lc->w)) {
		assert(lc->pend_n < DPA_PENDING_MAX); /* reserved by the backlog bound */
		uint32_t tail = lc->pend_head + lc->pend_n;
		if (tail >= DPA_PENDING_MAX)
			tail -= DPA_PENDING_MAX;
		lc->pend[tail] = (struct dpa_pending){.m = m, .wait_seq = ctx->wait_seq, .meta = ctx->meta};
		lc->pend_n++;
		if (lc->pend_n > lc->c.pending_max_seen)
			lc->c.pending_max_seen = lc->pend_n;
	} else {
		tx_queue(lc, m, ctx->meta);
	}
done:
	ctx->b.len = 0;
	ctx->wait_seq = 0;
	ctx->meta.n_msgs = 0;
	if (final && ctx->reuse) {
		rte_pktmbuf_free(ctx->reuse);
		ctx->reuse = NULL;
	}
}

static void reply_init(struct reply_ctx *ctx, struct dpa_lcore *lc, const struct dpa_peer *peer,
		       struct rte_mbuf *reuse, uint64_t rx_tsc)
{
	ctx->lc = lc;
	ctx->meta = (struct dpa_tx_meta){.rx_tsc = rx_tsc, .n_msgs = 0};
	ctx->peer = *peer;
	ctx->reuse = reuse;
	ctx->wait_seq = 0;
	proto_buf_init(&ctx->b, ctx->mem, sizeof(ctx->mem));
}

/* Begin one reply message, emitting the datagram first if it might not fit. */
static long reply_begin(struct reply_ctx *ctx, const struct proto_hdr *rq, uint8_t status, uint8_t detail,
			uint32_t retry_after_ms)
{
	if (ctx->b.cap - ctx->b.len < REPLY_MSG_MAX)
		reply_emit(ctx, 0);
	long at = proto_begin_msg(&ctx->b, (uint8_t)(rq->opcode | PROTO_OP_REPLY), 0, rq->client_id,
				  rq->request_id);
	struct proto_reply_head head = {.status = status, .detail = detail, .retry_after_ms = retry_after_ms};
	proto_put(&ctx->b, &head, sizeof(head));
	ctx->lc->c.status[status < DP_S__COUNT ? status : DP_S_BAD_REQUEST]++;
	ctx->meta.n_msgs++;
	return at;
}

static void reply_status(struct reply_ctx *ctx, const struct proto_hdr *rq, uint8_t status, uint8_t detail,
			 uint32_t retry_after_ms)
{
	long at = reply_begin(ctx, rq, status, detail, retry_after_ms);
	proto_end_msg(&ctx->b, at);
}

static void reply_hold(struct reply_ctx *ctx, const struct proto_hdr *rq, const struct dp_reply *r)
{
	long at = reply_begin(ctx, rq, r->status, r->detail, r->retry_after_ms);
	struct proto_hold_reply body = {
		.event_id = r->event_id,
		.part_id = r->part_id,
		.hold_id = r->hold_id,
		.order_id = r->order_id,
		.expiry_ms = r->expiry_ms,
		.available = r->available,
		.n_items = r->n_items,
		.n_alt = r->n_alt,
	};
	proto_put(&ctx->b, &body, sizeof(body));
	proto_put(&ctx->b, r->items, r->n_items * sizeof(uint32_t));
	proto_put(&ctx->b, r->alt, r->n_alt * sizeof(uint32_t));
	proto_end_msg(&ctx->b, at);
	if (r->wait_seq > ctx->wait_seq)
		ctx->wait_seq = r->wait_seq;
}

/* Translate a decoded mutation into an engine request. */
static void to_request(const struct proto_msg *msg, struct dp_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->client_id = msg->hdr.client_id;
	rq->request_id = msg->hdr.request_id;
	switch (msg->hdr.opcode) {
	case PROTO_OP_HOLD_SEATS:
	case PROTO_OP_HOLD_BEST:
	case PROTO_OP_HOLD_GA:
		rq->op = msg->hdr.opcode == PROTO_OP_HOLD_SEATS ? DP_OP_HOLD_SEATS
			 : msg->hdr.opcode == PROTO_OP_HOLD_BEST ? DP_OP_HOLD_BEST
								  : DP_OP_HOLD_GA;
		rq->event_id = msg->u.hold.h.event_id;
		rq->part_id = msg->u.hold.h.part_id;
		rq->n = msg->u.hold.h.n;
		rq->tier = msg->u.hold.h.tier;
		if (rq->op == DP_OP_HOLD_SEATS)
			memcpy(rq->seats, msg->u.hold.seats, rq->n * sizeof(uint32_t));
		break;
	case PROTO_OP_CONFIRM:
		rq->op = DP_OP_CONFIRM;
		rq->hold_id = msg->u.confirm.hold_id;
		memcpy(rq->payment_ref, msg->u.confirm.payment_ref, ST_PAYMENT_REF_SIZE);
		break;
	case PROTO_OP_RELEASE:
		rq->op = DP_OP_RELEASE;
		rq->hold_id = msg->u.release.hold_id;
		break;
	}
}

static int over_backlog(const struct dpa_lcore *lc)
{
	return lc->pend_n + rte_ring_count(lc->inbox) >= lc->app->set.backlog_max;
}

static void handle_seat_map(struct reply_ctx *ctx, const struct proto_msg *msg)
{
	const struct proto_seat_map *q = &msg->u.seat_map;
	uint8_t states[PROTO_SEATMAP_PAGE_MAX];
	struct dp_part_counts pc;
	uint32_t got = 0;
	int rc = dp_seat_map_page(ctx->lc->app->eng, q->event_id, q->part_id, q->first, q->count, states, &got, &pc);
	if (rc) {
		reply_status(ctx, &msg->hdr, rc == -ERANGE ? DP_S_BAD_REQUEST : DP_S_NOT_FOUND,
			     rc == -ERANGE ? DP_D_SEAT_RANGE : DP_D_PART, 0);
		return;
	}
	long at = reply_begin(ctx, &msg->hdr, DP_S_OK, DP_D_NONE, 0);
	struct proto_seat_map_reply body = {
		.event_id = q->event_id,
		.part_id = q->part_id,
		.capacity = pc.capacity,
		.first = q->first,
		.count = (uint16_t)got,
		.free = pc.free,
		.held = pc.held,
		.sold = pc.sold,
	};
	proto_put(&ctx->b, &body, sizeof(body));
	proto_put(&ctx->b, states, got);
	proto_end_msg(&ctx->b, at);
}

static void handle_order(struct reply_ctx *ctx, const struct proto_msg *msg)
{
	struct dp_order_view o;
	if (dp_order_get(ctx->lc->app->eng, msg->u.order.order_id, &o) != 0 || o.client_id != msg->hdr.client_id) {
		/* Another buyer's order is as unknown to this client as a made-up one. */
		reply_status(ctx, &msg->hdr, DP_S_NOT_FOUND, DP_D_ORDER, 0);
		return;
	}
	long at = reply_begin(ctx, &msg->hdr, DP_S_OK, DP_D_NONE, 0);
	struct proto_order_reply body = {
		.order_id = o.order_id,
		.hold_id = o.hold_id,
		.time_ms = o.time_ms,
		.event_id = o.event_id,
		.part_id = o.part_id,
		.kind = o.kind,
		.n_items = o.n_items,
	};
	memcpy(body.payment_ref, o.payment_ref, PROTO_PAYMENT_REF_SIZE);
	proto_put(&ctx->b, &body, sizeof(body));
	proto_put(&ctx->b, o.items, o.n_items * sizeof(uint32_t));
	proto_end_msg(&ctx->b, at);
}

/*
 * QUEUE_JOIN / QUEUE_POLL, answered by whichever worker received it: the
 * queue is atomic counters and signed tokens, nothing to hand off. msg is a
 * decoded queue request (QUEUE_POLL carries its ticket).
 */
static void handle_queue(struct reply_ctx *ctx, const struct proto_msg *msg, uint64_t now_ms)
{
	struct dp_engine *eng = ctx->lc->app->eng;
	struct dp_queue_answer a;
	if (msg->hdr.opcode == PROTO_OP_QUEUE_JOIN)
		dp_queue_join_code(eng, msg->u.queue.event_id, msg->hdr.client_id, msg->code, msg->code_len, now_ms,
				   &a);
	else
		dp_queue_poll(eng, msg->u.queue.event_id, msg->hdr.client_id, msg->token, now_ms, &a);
	dp_worker_count_event(ctx->lc->w, msg->u.queue.event_id, a.status);
	if (a.status != DP_S_OK) {
		reply_status(ctx, &msg->hdr, a.status, a.detail, a.retry_after_ms);
		return;
	}
	struct proto_queue_reply q = {.event_id = msg->u.queue.event_id,
				      .state = a.state,
				      .position = a.position,
				      .ahead = a.ahead,
				      .wait_ms = a.wait_ms};
	memcpy(q.token, a.token, PROTO_TOKEN_SIZE);
	if (ctx->b.cap - ctx->b.len < REPLY_MSG_MAX)
		reply_emit(ctx, 0);
	int rc = proto_put_queue_reply(&ctx->b, &msg->hdr, &q);
	assert(rc == 0); /* REPLY_MSG_MAX left room for it */
	(void)rc;
	ctx->lc->c.status[DP_S_OK]++;
	ctx->meta.n_msgs++;
}

static void handle_msg(struct reply_ctx *ctx, const struct proto_msg *msg, uint64_t now_ms)
{
	struct dpa_lcore *lc = ctx->lc;
	struct dpa_app *app = lc->app;
	switch (msg->hdr.opcode) {
	case PROTO_OP_PING: {
		long at = reply_begin(ctx, &msg->hdr, DP_S_OK, DP_D_NONE, 0);
		struct proto_ping_reply body = {.server_time_ms = now_ms, .workers = app->workers};
		proto_put(&ctx->b, &body, sizeof(body));
		proto_put(&ctx->b, msg->u.ping.bytes, msg->u.ping.len);
		proto_end_msg(&ctx->b, at);
		return;
	}
	case PROTO_OP_SEAT_MAP:
		handle_seat_map(ctx, msg);
		return;
	case PROTO_OP_ORDER:
		handle_order(ctx, msg);
		return;
	case PROTO_OP_QUEUE_JOIN:
	case PROTO_OP_QUEUE_POLL:
		handle_queue(ctx, msg, now_ms);
		return;
	default:
		break;
	}
	if (atomic_load_explicit(&app->quit, memory_order_relaxed)) {
		reply_status(ctx, &msg->hdr, DP_S_UNAVAILABLE, DP_D_NONE, 0);
		return;
	}
	if (over_backlog(lc)) {
		lc->c.busy_backlog++;
		reply_status(ctx, &msg->hdr, DP_S_BUSY, DP_D_NONE, app->set.busy_retry_ms);
		return;
	}
	struct dpa_handoff h;
	to_request(msg, &h.rq);
	if (h.rq.op == DP_OP_HOLD_SEATS || h.rq.op == DP_OP_HOLD_BEST || h.rq.op == DP_OP_HOLD_GA) {
		/* Waiting room: the access token is checked here, before the
		 * hold runs or is handed off; a refusal changes nothing. */
		uint8_t detail;
		int st = dp_queue_hold_check(app->eng, &h.rq, msg->token, now_ms, &detail);
		if (st != DP_S_OK) {
			dp_worker_count_event(lc->w, h.rq.event_id, st);
			reply_status(ctx, &msg->hdr, (uint8_t)st, detail, 0);
			return;
		}
	}
	int owner = dp_route(app->eng, &h.rq);
	if (owner < 0 || (unsigned)owner == lc->idx) {
		struct dp_reply r;
		dp_execute(lc->w, &h.rq, now_ms, &r);
		reply_hold(ctx, &msg->hdr, &r);
		return;
	}
	h.peer = ctx->peer;
	h.rx_tsc = ctx->meta.rx_tsc;
	h.opcode = msg->hdr.opcode;
	if (rte_ring_mp_enqueue_elem(app->lc[owner].inbox, &h, sizeof(h)) != 0) {
		lc->c.handoff_full++;
		reply_status(ctx, &msg->hdr, DP_S_BUSY, DP_D_NONE, app->set.busy_retry_ms);
		return;
	}
	lc->c.handoffs_out++;
}

static void handle_datagram(struct dpa_lcore *lc, struct rte_mbuf *m, const uint8_t *buf, uint16_t len,
			    const struct dpa_peer *peer, uint64_t now_ms)
{
	struct reply_ctx ctx;
	reply_init(&ctx, lc, peer, m, lc->turn_tsc);
	size_t off = 0;
	unsigned n = 0;
	while (off < len) {
		struct proto_msg msg;
		int hdr_ok = 0;
		enum proto_err e = n == PROTO_MSGS_MAX ? PROTO_E_TOO_MANY : proto_decode_msg(buf, len, &off, &msg, &hdr_ok);
		if (e == PROTO_E_NOT_STAMPEDE) {
			if (n == 0)
				lc->c.not_stampede++;
			else
				lc->c.malformed++;
			break;
		}
		if (e != PROTO_OK) {
			lc->c.malformed++;
			if (hdr_ok && e != PROTO_E_TOO_MANY)
				reply_status(&ctx, &msg.hdr, DP_S_BAD_REQUEST, msg.bad_detail, 0);
			break;
		}
		n++;
		lc->c.requests++;
		handle_msg(&ctx, &msg, now_ms);
	}
	reply_emit(&ctx, 1);
}

static void handle_packet(struct dpa_lcore *lc, struct rte_mbuf *m, uint64_t now_ms)
{
	struct dpa_app *app = lc->app;
	if (dpa_net_arp(app, m)) {
		lc->c.arp_replies++;
		tx_queue(lc, m, no_meta);
		return;
	}
	if (dpa_net_icmp(app, m)) {
		lc->c.icmp_replies++;
		tx_queue(lc, m, no_meta);
		return;
	}
	struct dpa_peer peer;
	uint16_t len;
	uint8_t *payload = dpa_net_udp_payload(app, m, &len, &peer);
	if (!payload) {
		lc->c.not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	handle_datagram(lc, m, payload, len, &peer, now_ms);
}

static int same_peer(const struct dpa_peer *a, const struct dpa_peer *b)
{
	return a->ip_be == b->ip_be && a->port_be == b->port_be && rte_is_same_ether_addr(&a->mac, &b->mac);
}

/* Execute handed-off requests. Answers to one peer that follow each other in
 * the ring (the messages of one request datagram) share a reply datagram, up
 * to PROTO_MSGS_MAX; each handoff adds at most one datagram, so no more are
 * taken than the TX buffer has room for (the rest wait in the ring, whose
 * fullness the senders answer busy). */
static void handle_handoffs(struct dpa_lcore *lc, uint64_t now_ms)
{
	struct dpa_handoff hb[DPA_HANDOFF_BURST_MAX];
	const uint32_t room = tx_room(lc);
	if (room == 0)
		return;
	unsigned n = rte_ring_sc_dequeue_burst_elem(lc->inbox, hb, sizeof(hb[0]),
						    room < DPA_HANDOFF_BURST_MAX ? room : DPA_HANDOFF_BURST_MAX, NULL);
	struct reply_ctx ctx;
	int open = 0;
	for (unsigned i = 0; i < n; i++) {
		if (open && (!same_peer(&ctx.peer, &hb[i].peer) || ctx.meta.n_msgs >= PROTO_MSGS_MAX)) {
			reply_emit(&ctx, 1);
			open = 0;
		}
		if (!open) {
			/* rx_tsc of the first in ring order, for all of them. */
			reply_init(&ctx, lc, &hb[i].peer, NULL, hb[i].rx_tsc);
			open = 1;
		}
		struct proto_hdr hdr = {.opcode = hb[i].opcode,
					.client_id = hb[i].rq.client_id,
					.request_id = hb[i].rq.request_id};
		/* The sender checked its own backlog; this worker's pending
		 * replies are bounded here, where they accumulate. */
		if (lc->pend_n >= lc->app->set.backlog_max) {
			lc->c.busy_backlog++;
			reply_status(&ctx, &hdr, DP_S_BUSY, DP_D_NONE, lc->app->set.busy_retry_ms);
		} else {
			struct dp_reply r;
			dp_execute(lc->w, &hb[i].rq, now_ms, &r);
			reply_hold(&ctx, &hdr, &r);
		}
	}
	if (open)
		reply_emit(&ctx, 1);
	lc->c.handoffs_in += n;
}

/*
 * Operator expire/release items from the control thread: at most
 * DPA_CTL_BURST_MAX per turn, and no more than the completion ring has room
 * for (this worker is its only producer, the control thread its only
 * consumer, so the room can only grow before the enqueue).
 */
static void handle_control(struct dpa_lcore *lc, uint64_t now_ms)
{
	unsigned room = rte_ring_free_count(lc->ctl_out);
	if (room == 0 || rte_ring_empty(lc->ctl_in))
		return;
	struct dpa_ctl_item it[DPA_CTL_BURST_MAX];
	unsigned n = rte_ring_sc_dequeue_burst_elem(lc->ctl_in, it, sizeof(it[0]),
						    room < DPA_CTL_BURST_MAX ? room : DPA_CTL_BURST_MAX, NULL);
	for (unsigned i = 0; i < n; i++)
		it[i].result = (uint8_t)dp_worker_end_hold(lc->w, it[i].hold_id, it[i].expire, now_ms, &it[i].wait_seq);
	unsigned k = rte_ring_sp_enqueue_burst_elem(lc->ctl_out, it, sizeof(it[0]), n, NULL);
	assert(k == n);
	(void)k;
	lc->c.ctl_items += n;
}

/* Release, in order, every pending reply whose mutations are durable. */
static void release_durable(struct dpa_lcore *lc)
{
	if (lc->pend_n == 0)
		return;
	uint64_t durable = dp_worker_durable(lc->w);
	while (lc->pend_n && lc->pend[lc->pend_head].wait_seq <= durable && lc->n_tx < DPA_TX_BUF_MAX) {
		lc->tx_meta[lc->n_tx] = lc->pend[lc->pend_head].meta;
		lc->tx[lc->n_tx++] = lc->pend[lc->pend_head].m;
		lc->pend_head = lc->pend_head + 1 == DPA_PENDING_MAX ? 0 : lc->pend_head + 1;
		lc->pend_n--;
	}
}

int dpa_lcore_main(void *arg)
{
	struct dpa_lcore *lc = arg;
	struct dpa_app *app = lc->app;
	const uint16_t port = app->set.eth_port;
	const uint16_t queue = (uint16_t)lc->idx;
	const int has_rx = lc->idx < app->rx_queues;
	struct rte_mbuf *pkts[DPA_PKT_BURST_MAX];
	urcu_qsbr_register_thread();
	uint64_t drain_deadline = 0;
	for (;;) {
		urcu_qsbr_quiescent_state();
		lc->c.loops++;
		const uint64_t tsc = rte_rdtsc();
		const uint64_t now_ms = dpa_now_ms(app, tsc);
		lc->turn_tsc = tsc;
		const int quitting = atomic_load_explicit(&app->quit, memory_order_relaxed);
		/* No more packets than the TX buffer can surely answer: when
		 * the peer stops draining replies, requests wait in the RX
		 * ring (or the peer's) instead of replies being dropped. */
		const uint32_t rx_max = tx_room(lc) / DPA_REPLY_DGRAMS_PER_RX;
		if (has_rx && !quitting && rx_max) {
			uint16_t nb = rte_eth_rx_burst(port, queue, pkts,
						       (uint16_t)(rx_max < DPA_PKT_BURST_MAX ? rx_max : DPA_PKT_BURST_MAX));
			lc->c.rx_pkts += nb;
			for (uint16_t i = 0; i < nb; i++)
				handle_packet(lc, pkts[i], now_ms);
		}
		handle_handoffs(lc, now_ms);
		handle_control(lc, now_ms);
		dp_worker_tick(lc->w, now_ms);
		release_durable(lc);
		if (lc->n_tx)
			tx_flush(lc);
		if (quitting) {
			/* Drain: nothing new comes in; wait (bounded) until every
			 * pending reply is durable and sent. */
			if (!drain_deadline)
				drain_deadline = tsc + app->tsc_hz / 1000 * app->set.drain_timeout_ms;
			if ((lc->pend_n == 0 && rte_ring_count(lc->inbox) == 0) || tsc > drain_deadline)
				break;
		}
	}
	urcu_qsbr_unregister_thread();
	atomic_fetch_sub(&app->running, 1);
	return 0;
}
