/*
 * lg_code.c - QUEUE_JOIN with a presale access code, as fixed by the
 * contract in docs/waiting-room.md ("Presale windows (contract)"): header
 * flag F_CODE (0x0002), body = event_id, 4 zero bytes, then the code
 * zero-padded to 32 bytes.
 *
 * TO BE REPLACED by proto_put_queue_join_code from dataplane/dp_proto.h
 * once the presale work lands there (this is the only place that encodes
 * it by hand).
 */
#include <string.h>

#include "tools/loadgen/lg.h"

#define LG_F_CODE 0x0002u   /* PROTO_F_CODE in the contract */
#define LG_CODE_BYTES 32u   /* the code field, zero-padded */

/* Append one QUEUE_JOIN carrying code (1..32 printable non-space ASCII
 * bytes). 0, or -1 with nothing appended (no room, or a bad code). */
int lg_put_queue_join_code(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			   const char *code)
{
	size_t n = code ? strlen(code) : 0;
	if (n < 1 || n > LG_CODE_BYTES)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (code[i] <= ' ' || code[i] > '~')
			return -1;
	if (b->overflow || b->cap - b->len < sizeof(struct proto_hdr) + 8 + LG_CODE_BYTES)
		return -1;
	long h = proto_begin_msg(b, PROTO_OP_QUEUE_JOIN, LG_F_CODE, client_id, request_id);
	uint8_t body[8 + LG_CODE_BYTES] = {0};
	body[0] = (uint8_t)event_id;
	body[1] = (uint8_t)(event_id >> 8);
	body[2] = (uint8_t)(event_id >> 16);
	body[3] = (uint8_t)(event_id >> 24);
	memcpy(body + 8, code, n);
	if (h < 0 || proto_put(b, body, sizeof(body)) < 0 || proto_end_msg(b, h) < 0)
		return -1;
	return 0;
}
