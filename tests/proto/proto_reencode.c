/*
 * proto_reencode.c - decoded requests and replies written back with the
 * public encoders. Shared by the unit tests and the fuzz target: whatever
 * the decoders accept must re-encode to the same bytes. No cmocka here.
 */
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "dataplane/dp_proto.h"
#include "tests/proto/proto_reencode.h"

/* Re-encode a decoded request with the public encoders. */
int t_reencode_msg(const struct proto_msg *m, struct proto_buf *b)
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
		if (m->code) {
			char code[PROTO_CODE_SIZE + 1] = {0};
			memcpy(code, m->code, m->code_len);
			return proto_put_queue_join_code(b, c, r, m->u.queue.event_id, code);
		}
		return proto_put_queue_join(b, c, r, m->u.queue.event_id);
	case PROTO_OP_QUEUE_POLL:
		return proto_put_queue_poll(b, c, r, m->u.queue.event_id, m->token);
	}
	return -1;
}

/* Re-encode a decoded reply with begin/put/end. */
int t_reencode_reply(const struct proto_reply *r, struct proto_buf *b)
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
		proto_put(b, &r->u.hold.body, sizeof(r->u.hold.body));
		proto_put(b, r->u.hold.items, 4u * r->u.hold.body.n_items);
		proto_put(b, r->u.hold.alt, 4u * r->u.hold.body.n_alt);
		break;
	case PROTO_R_SEAT_MAP:
		proto_put(b, &r->u.seat_map.body, sizeof(r->u.seat_map.body));
		proto_put(b, r->u.seat_map.seats, r->u.seat_map.count);
		break;
	case PROTO_R_ORDER:
		proto_put(b, &r->u.order.body, sizeof(r->u.order.body));
		proto_put(b, r->u.order.items, 4u * r->u.order.body.n_items);
		break;
	case PROTO_R_QUEUE:
		proto_put(b, &r->u.queue, sizeof(r->u.queue));
		break;
	default:
		return -1;
	}
	return proto_end_msg(b, at);
}
