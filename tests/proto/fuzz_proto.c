/*
 * fuzz_proto.c - libFuzzer target: arbitrary bytes as one datagram, decoded
 * as requests (proto_decode_msg in a loop, as the dataplane does) and as
 * replies (proto_decode_reply in a loop, as a client does). The decoders
 * must never crash or read outside the input, must keep the *off / hdr_ok
 * contract, must never pass more than PROTO_MSGS_MAX messages, and
 * everything they accept must re-encode to exactly the bytes it came from.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OUT_MAX 70000

static uint8_t fuzz_out[FUZZ_OUT_MAX];

static int fuzz_reencode_msg(const struct proto_msg *m, struct proto_buf *b)
{
	const uint64_t c = m->hdr.client_id, r = m->hdr.request_id;
	const struct proto_hold *h = &m->u.hold.h;
	switch (m->hdr.opcode) {
	case PROTO_OP_PING:
		return proto_put_ping(b, c, r, m->u.ping.bytes, m->u.ping.len);
	case PROTO_OP_SEAT_MAP:
		return proto_put_seat_map(b, c, r, m->u.seat_map.event_id, m->u.seat_map.part_id, m->u.seat_map.first,
					  m->u.seat_map.count);
	case PROTO_OP_HOLD_SEATS:
		return proto_put_hold_seats(b, c, r, h->event_id, h->part_id, h->n, m->u.hold.seats, m->token);
	case PROTO_OP_HOLD_BEST:
		return proto_put_hold_best(b, c, r, h->event_id, h->part_id, h->n, h->tier, m->token);
	case PROTO_OP_HOLD_GA:
		return proto_put_hold_ga(b, c, r, h->event_id, h->part_id, h->n, m->token);
	case PROTO_OP_CONFIRM:
		return proto_put_confirm(b, c, r, m->u.confirm.hold_id, m->u.confirm.payment_ref);
	case PROTO_OP_RELEASE:
		return proto_put_release(b, c, r, m->u.release.hold_id);
	case PROTO_OP_ORDER:
		return proto_put_order(b, c, r, m->u.order.order_id);
	case PROTO_OP_QUEUE_JOIN:
		return proto_put_queue_join(b, c, r, m->u.queue.event_id);
	case PROTO_OP_QUEUE_POLL:
		return proto_put_queue_poll(b, c, r, m->u.queue.event_id, m->token);
	}
	return -1;
}

static int fuzz_reencode_reply(const struct proto_reply *r, struct proto_buf *b)
{
	long at = proto_begin_msg(b, r->hdr.opcode, r->hdr.flags, r->hdr.client_id, r->hdr.request_id);
	proto_put(b, &r->head, sizeof(r->head));
	switch (r->kind) {
	case PROTO_R_STATUS:
		break;
	case PROTO_R_PING:
		proto_put(b, &r->u.ping.body, sizeof(r->u.ping.body));
		proto_put(b, r->u.ping.echo, r->u.ping.echo_len);
		break;
	case PROTO_R_HOLD:
		if (r->u.hold.body.n_items > PROTO_ITEMS_MAX || r->u.hold.body.n_alt > PROTO_ITEMS_MAX)
			abort();
		proto_put(b, &r->u.hold.body, sizeof(r->u.hold.body));
		proto_put(b, r->u.hold.items, 4u * r->u.hold.body.n_items);
		proto_put(b, r->u.hold.alt, 4u * r->u.hold.body.n_alt);
		break;
	case PROTO_R_SEAT_MAP:
		if (r->u.seat_map.count > PROTO_SEATMAP_PAGE_MAX || r->u.seat_map.count != r->u.seat_map.body.count)
			abort();
		proto_put(b, &r->u.seat_map.body, sizeof(r->u.seat_map.body));
		proto_put(b, r->u.seat_map.seats, r->u.seat_map.count);
		break;
	case PROTO_R_ORDER:
		if (r->u.order.body.n_items == 0 || r->u.order.body.n_items > PROTO_ITEMS_MAX)
			abort();
		proto_put(b, &r->u.order.body, sizeof(r->u.order.body));
		proto_put(b, r->u.order.items, 4u * r->u.order.body.n_items);
		break;
	default:
		abort();
	}
	return proto_end_msg(b, at);
}

static void fuzz_same(const struct proto_buf *b, int rc, const uint8_t *src, size_t n)
{
	if (rc != 0 || b->len != n || memcmp(b->p, src, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_buf b;
	size_t off = 0;
	unsigned n = 0;
	while (off < size) {
		struct proto_msg m;
		int hdr_ok = -1;
		const size_t before = off;
		enum proto_err e = proto_decode_msg(data, size, &off, &m, &hdr_ok);
		if (e != PROTO_OK) {
			if (off != size || hdr_ok != (e == PROTO_E_NOT_STAMPEDE ? 0 : 1) || e > PROTO_E_TOO_MANY)
				abort();
			break;
		}
		if (off <= before || off > size || ++n > PROTO_MSGS_MAX || m.hdr.client_id == 0 ||
		    m.bad_detail != DP_D_NONE)
			abort();
		if (m.hdr.opcode == PROTO_OP_HOLD_SEATS || m.hdr.opcode == PROTO_OP_HOLD_BEST ||
		    m.hdr.opcode == PROTO_OP_HOLD_GA) {
			if (m.u.hold.h.n == 0 || m.u.hold.h.n > PROTO_ITEMS_MAX)
				abort();
		}
		proto_buf_init(&b, fuzz_out, sizeof(fuzz_out));
		fuzz_same(&b, fuzz_reencode_msg(&m, &b), data + before, off - before);
	}

	off = 0;
	n = 0;
	while (off < size) {
		struct proto_reply r;
		const size_t before = off;
		enum proto_err e = proto_decode_reply(data, size, &off, &r);
		if (e != PROTO_OK) {
			if (off != size || e > PROTO_E_TOO_MANY)
				abort();
			break;
		}
		if (off <= before || off > size || ++n > PROTO_MSGS_MAX || !(r.hdr.opcode & PROTO_OP_REPLY) ||
		    r.head.status >= DP_S__COUNT || r.head.detail >= DP_D__COUNT)
			abort();
		proto_buf_init(&b, fuzz_out, sizeof(fuzz_out));
		fuzz_same(&b, fuzz_reencode_reply(&r, &b), data + before, off - before);
	}
	return 0;
}
