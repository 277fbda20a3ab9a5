/*
 * test_proto_garbage.c - a loop of 200,000 random and mutated datagrams
 * through the request and reply decoders (run it under ASan: every datagram
 * ends at the end of its allocation). Run by test_proto.c (proto_tests.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

#include "tests/proto/proto_helpers.h"
#include "tests/proto/proto_tests.h"

/* ---- garbage ------------------------------------------------------------ */

static uint64_t t_rng;

static uint32_t t_rand(void)
{
	t_rng ^= t_rng << 13;
	t_rng ^= t_rng >> 7;
	t_rng ^= t_rng << 17;
	return (uint32_t)(t_rng >> 11);
}

/* A random valid request or reply message appended to b. */
static void t_random_msg(struct proto_buf *b, int reply)
{
	uint32_t seats[PROTO_ITEMS_MAX];
	for (unsigned i = 0; i < PROTO_ITEMS_MAX; i++)
		seats[i] = t_rand() % 3000;
	const uint64_t c = 1 + t_rand() % 5, r = t_rand();
	const unsigned n = 1 + t_rand() % PROTO_ITEMS_MAX;
	const uint8_t *tok = (t_rand() & 1) ? t_token : NULL;
	if (!reply) {
		switch (1 + t_rand() % PROTO_OP__MAX) {
		case PROTO_OP_PING:
			proto_put_ping(b, c, r, t_pay, t_rand() % (PROTO_PAYMENT_REF_SIZE + 1));
			break;
		case PROTO_OP_QUEUE_JOIN:
			if (t_rand() & 1)
				proto_put_queue_join_code(b, c, r, t_rand(), (t_rand() & 1) ? "FANCLUB-2026" : "x");
			else
				proto_put_queue_join(b, c, r, t_rand());
			break;
		case PROTO_OP_QUEUE_POLL:
			proto_put_queue_poll(b, c, r, t_rand(), t_token);
			break;
		case PROTO_OP_SEAT_MAP: {
			const uint32_t first = t_rand() % 5000;
			proto_put_seat_map(b, c, r, 1, 2, first, (uint16_t)(1 + t_rand() % 1024));
			break;
		}
		case PROTO_OP_HOLD_SEATS:
			proto_put_hold_seats(b, c, r, 1, 2, n, seats, tok);
			break;
		case PROTO_OP_HOLD_BEST:
			proto_put_hold_best(b, c, r, 1, 2, n, (uint8_t)(t_rand() % 4), tok);
			break;
		case PROTO_OP_HOLD_GA:
			proto_put_hold_ga(b, c, r, 1, 2, n, tok);
			break;
		case PROTO_OP_CONFIRM:
			proto_put_confirm(b, c, r, t_rand(), t_pay);
			break;
		case PROTO_OP_RELEASE:
			proto_put_release(b, c, r, t_rand());
			break;
		default:
			proto_put_order(b, c, r, t_rand());
			break;
		}
		return;
	}
	const size_t len0 = b->len;
	const unsigned op = 1 + t_rand() % PROTO_OP__MAX;
	const uint8_t status = (uint8_t)(t_rand() % DP_S__COUNT);
	const uint8_t detail = (uint8_t)(t_rand() % DP_D__COUNT);
	long at = t_reply_begin(b, (uint8_t)op, c, status, detail, t_rand() % 100);
	if (status != DP_S_OK && t_rand() % 2) {
		/* head only */
	} else if (op == PROTO_OP_QUEUE_JOIN || op == PROTO_OP_QUEUE_POLL) {
		struct proto_queue_reply q = {.event_id = (uint32_t)t_rand(),
					      .state = (uint8_t)(t_rand() % PROTO_QS__COUNT),
					      .position = t_rand(),
					      .ahead = t_rand(),
					      .wait_ms = (uint32_t)t_rand()};
		memcpy(q.token, t_token, PROTO_TOKEN_SIZE);
		proto_put(b, &q, sizeof(q));
	} else if (op == PROTO_OP_PING) {
		struct proto_ping_reply p = {.server_time_ms = t_rand(), .workers = 2};
		proto_put(b, &p, sizeof(p));
		proto_put(b, t_pay, t_rand() % 20);
	} else if (op == PROTO_OP_SEAT_MAP) {
		static uint8_t page[256];
		struct proto_seat_map_reply s = {.count = (uint16_t)(t_rand() % sizeof(page)), .capacity = 1000};
		for (unsigned i = 0; i < s.count; i++)
			page[i] = (uint8_t)t_rand();
		proto_put(b, &s, sizeof(s));
		proto_put(b, page, s.count);
	} else if (op == PROTO_OP_ORDER) {
		struct proto_order_reply o = {.kind = ST_KIND_GA, .n_items = (uint8_t)n, .order_id = t_rand()};
		proto_put(b, &o, sizeof(o));
		proto_put(b, seats, 4u * n);
	} else {
		struct proto_hold_reply h = {.n_items = (uint8_t)(t_rand() % (n + 1)),
					     .n_alt = (uint8_t)(t_rand() % 3),
					     .hold_id = t_rand()};
		proto_put(b, &h, sizeof(h));
		proto_put(b, seats, 4u * h.n_items);
		proto_put(b, seats, 4u * h.n_alt);
	}
	if (proto_end_msg(b, at) != 0) {
		b->len = len0;
		b->overflow = 0;
	}
}

/* Mutate a datagram in place; returns its new length. */
static size_t t_mutate(uint8_t *d, size_t len, size_t cap)
{
	const unsigned k = 1 + t_rand() % 6;
	for (unsigned i = 0; i < k; i++) {
		switch (t_rand() % 7) {
		case 0: /* flip a bit */
			if (len) {
				const size_t at = t_rand() % len;
				d[at] ^= (uint8_t)(1u << (t_rand() % 8));
			}
			break;
		case 1: /* a random byte */
			if (len) {
				const size_t at = t_rand() % len;
				d[at] = (uint8_t)t_rand();
			}
			break;
		case 2: /* truncate */
			if (len)
				len = t_rand() % len;
			break;
		case 3: /* extend with random bytes */ {
			size_t add = t_rand() % 64;
			if (len + add > cap)
				add = cap - len;
			for (size_t j = 0; j < add; j++)
				d[len + j] = (uint8_t)t_rand();
			len += add;
			break;
		}
		case 4: /* interesting 16-bit value at a random even offset (often body_len or flags) */
			if (len >= 2) {
				static const uint16_t vals[] = {0, 1, 7, 8, 12, 16, 40, 64, 0x7fff, 0xffff};
				size_t at = (t_rand() % (len / 2)) * 2;
				uint16_t v = vals[t_rand() % (sizeof(vals) / sizeof(vals[0]))];
				memcpy(d + at, &v, 2);
			}
			break;
		case 5: /* small change of a header's body_len (offset 6 of the first message) */
			if (len >= 8)
				d[6] = (uint8_t)(d[6] + (t_rand() % 9) - 4);
			break;
		default: /* duplicate a chunk */
			if (len > 4) {
				size_t from = t_rand() % len, n = 1 + t_rand() % (len - from);
				if (len + n <= cap) {
					memmove(d + from + n, d + from, len - from);
					len += n;
				}
			}
			break;
		}
	}
	return len;
}

/* Check one decoded request against the contract. */
static void t_check_msg(const uint8_t *d, size_t before, size_t after, const struct proto_msg *m)
{
	assert_true(after > before);
	assert_int_equal(after - before, 24u + m->hdr.body_len);
	assert_int_not_equal(m->hdr.client_id, 0);
	assert_true(m->hdr.opcode >= PROTO_OP_PING && m->hdr.opcode <= PROTO_OP__MAX);
	uint8_t again[PROTO_DGRAM_MAX + 1024];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_msg(m, &b), 0);
	assert_int_equal(b.len, after - before);
	assert_memory_equal(again, d + before, b.len);
}

static void t_check_reply(const uint8_t *d, size_t before, size_t after, const struct proto_reply *r)
{
	assert_true(after > before);
	assert_true(r->hdr.opcode & PROTO_OP_REPLY);
	assert_true(r->head.status < DP_S__COUNT);
	uint8_t again[PROTO_DGRAM_MAX + 1024];
	struct proto_buf b;
	proto_buf_init(&b, again, sizeof(again));
	assert_int_equal(t_reencode_reply(r, &b), 0);
	assert_int_equal(b.len, after - before);
	assert_memory_equal(again, d + before, b.len);
}

void test_garbage(void **state)
{
	(void)state;
	uint8_t *arena = malloc(T_ARENA);
	uint8_t work[T_ARENA];
	assert_non_null(arena);
	t_rng = T_GARBAGE_SEED;
	unsigned long ok_msgs = 0, ok_replies = 0, errs[PROTO_E_TOO_MANY + 1] = {0};
	for (unsigned round = 0; round < T_GARBAGE_ROUNDS; round++) {
		size_t len;
		const int reply_shaped = t_rand() & 1;
		if (t_rand() % 8 == 0) {
			/* pure random bytes, sometimes with the magic in front */
			len = t_rand() % (T_ARENA / 2);
			for (size_t i = 0; i < len; i++)
				work[i] = (uint8_t)t_rand();
			if (len >= 2 && (t_rand() & 1)) {
				work[0] = 'S';
				work[1] = 'T';
			}
		} else {
			struct proto_buf b;
			proto_buf_init(&b, work, PROTO_DGRAM_MAX);
			if (t_rand() % 16 == 0) {
				/* many small messages: around the 32-message bound */
				const unsigned count = PROTO_MSGS_MAX - 2 + t_rand() % 5;
				for (unsigned i = 0; i < count; i++) {
					if (reply_shaped)
						t_reply_status(&b, PROTO_OP_HOLD_GA, 1 + i, DP_S_BUSY, DP_D_NONE, 5);
					else
						proto_put_ping(&b, 1 + i, i, t_pay, t_rand() % 4);
				}
			} else {
				const unsigned count = 1 + t_rand() % 40;
				for (unsigned i = 0; i < count; i++)
					t_random_msg(&b, reply_shaped);
			}
			len = b.len;
			if (t_rand() % 16 != 0)
				len = t_mutate(work, len, T_ARENA);
		}
		/* The datagram ends where the allocation ends: ASan sees any overread. */
		uint8_t *d = arena + (T_ARENA - len);
		memcpy(d, work, len);

		size_t off = 0;
		unsigned n = 0;
		for (;;) {
			struct proto_msg m;
			int hdr_ok = -1;
			size_t before = off;
			enum proto_err e = proto_decode_msg(d, len, &off, &m, &hdr_ok);
			if (e != PROTO_OK) {
				assert_int_equal(off, len);
				assert_int_equal(hdr_ok, e == PROTO_E_NOT_STAMPEDE ? 0 : 1);
				assert_true(e <= PROTO_E_TOO_MANY);
				errs[e]++;
				break;
			}
			t_check_msg(d, before, off, &m);
			ok_msgs++;
			assert_true(++n <= PROTO_MSGS_MAX);
			if (off == len)
				break;
		}
		off = 0;
		n = 0;
		for (;;) {
			struct proto_reply r;
			size_t before = off;
			enum proto_err e = proto_decode_reply(d, len, &off, &r);
			if (e != PROTO_OK) {
				assert_int_equal(off, len);
				break;
			}
			t_check_reply(d, before, off, &r);
			ok_replies++;
			assert_true(++n <= PROTO_MSGS_MAX);
			if (off == len)
				break;
		}
	}
	free(arena);
	printf("garbage: %u datagrams, %lu requests and %lu replies decoded; errors:", T_GARBAGE_ROUNDS, ok_msgs,
	       ok_replies);
	for (int e = PROTO_E_NOT_STAMPEDE; e <= PROTO_E_TOO_MANY; e++)
		printf(" %s %lu", proto_err_name((enum proto_err)e), errs[e]);
	printf("\n");
	/* the generator reaches every outcome */
	assert_true(ok_msgs > 100000 && ok_replies > 100000);
	for (int e = PROTO_E_NOT_STAMPEDE; e <= PROTO_E_TOO_MANY; e++)
		assert_true(errs[e] > 0);
}
