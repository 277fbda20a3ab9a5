/*
 * proto_helpers.h - constants, fixture data and helpers shared by the wire
 * protocol codec tests (test_proto*.c, one executable: see test_proto.c).
 */
#ifndef STAMPEDE_TESTS_PROTO_PROTO_HELPERS_H
#define STAMPEDE_TESTS_PROTO_PROTO_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/dp_proto.h"
#include "tests/proto/proto_reencode.h"
#include "dataplane/dp_types.h"

#define T_CLIENT 0x1122334455667788ull
#define T_REQ 42ull
#define T_EVENT 7u
#define T_PART 3u
#define T_GARBAGE_ROUNDS 200000u
#define T_GARBAGE_SEED 0x5eed5eedu
#define T_ARENA 2048u /* > PROTO_DGRAM_MAX: garbage may be longer than a datagram */

extern uint8_t t_token[PROTO_TOKEN_SIZE];
extern uint8_t t_pay[PROTO_PAYMENT_REF_SIZE];
int t_setup(void **state);
/* A raw message: header with the given fields, then body. Returns its size. */
size_t t_raw(uint8_t *out, uint16_t magic, uint8_t version, uint8_t opcode, uint16_t flags,
	     uint16_t body_len, uint64_t client, uint64_t req, const void *body, size_t body_bytes);
/* A well-formed raw message (body_len = body_bytes). */
size_t t_msg(uint8_t *out, uint8_t opcode, uint16_t flags, uint64_t client, const void *body, size_t n);
/* Decode a single-message datagram; checks the *off / hdr_ok contract. */
enum proto_err t_dec1(const uint8_t *buf, size_t len, struct proto_msg *m, int *hdr_ok);
/* Expect one specific error from a single-message datagram. */
void t_expect(const uint8_t *buf, size_t len, enum proto_err want, uint8_t want_detail);
/* Decode one message of a datagram and check it re-encodes to the same bytes. */
void t_roundtrip_req(const uint8_t *buf, size_t len, struct proto_msg *m);
/* Reply builders (what the dataplane writes). */
long t_reply_begin(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
		   uint32_t retry);
void t_reply_status(struct proto_buf *b, uint8_t op, uint64_t client, uint8_t status, uint8_t detail,
		    uint32_t retry);
void t_reply_hold(struct proto_buf *b, uint8_t op, uint8_t status, const struct proto_hold_reply *body,
		  const uint32_t *items, const uint32_t *alt);
enum proto_err t_rdec1(const uint8_t *buf, size_t len, struct proto_reply *r);
void t_rexpect(const uint8_t *buf, size_t len, enum proto_err want);
/* Decode a one-reply datagram and check it re-encodes to the same bytes. */
void t_roundtrip_reply(const uint8_t *buf, size_t len, struct proto_reply *r);
void t_hex(const uint8_t *p, size_t n, char *out);

#endif
