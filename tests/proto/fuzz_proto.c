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
#include "tests/proto/proto_reencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OUT_MAX 70000

static uint8_t fuzz_out[FUZZ_OUT_MAX];

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
		fuzz_same(&b, t_reencode_msg(&m, &b), data + before, off - before);
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
		fuzz_same(&b, t_reencode_reply(&r, &b), data + before, off - before);
	}
	return 0;
}
