/*
 * dp_proto.h - the Stampede wire protocol, version 1 (docs/protocol.md).
 *
 * UDP/IPv4. A datagram carries 1..PROTO_MSGS_MAX messages back to back; each
 * message is a fixed 24-byte header followed by body_len bytes of body. All
 * integers are little-endian; layouts are packed and pinned by
 * _Static_assert. A reply has the request's opcode with PROTO_OP_REPLY set,
 * the same client id and request id, and a body that starts with a
 * proto_reply_head. Replies to one datagram may come back in several
 * datagrams: clients match them by (client id, request id).
 *
 * This header is shared by the dataplane, the client library and the load
 * generator; it includes nothing from DPDK.
 */
#ifndef STAMPEDE_DP_PROTO_H
#define STAMPEDE_DP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x5453u /* "ST" on the wire (bytes 0x53 0x54) */
#define PROTO_VERSION 1
#define PROTO_DGRAM_MAX 1472   /* UDP payload that fits a 1500-byte MTU */
#define PROTO_MSGS_MAX 32      /* messages in one datagram */
#define PROTO_ITEMS_MAX 16     /* = DP_HOLD_TICKETS_MAX */
#define PROTO_PAYMENT_REF_SIZE 32
#define PROTO_TOKEN_SIZE 64    /* waiting-room ticket / access token */
#define PROTO_SEATMAP_PAGE_MAX 1024 /* seats in one seat-map reply */
#define PROTO_PING_ECHO_MAX 64

enum proto_op {
	PROTO_OP_PING = 0x01,
	PROTO_OP_QUEUE_JOIN = 0x02, /* waiting room (issue 5) */
	PROTO_OP_QUEUE_POLL = 0x03, /* waiting room (issue 5) */
	PROTO_OP_SEAT_MAP = 0x04,
	PROTO_OP_HOLD_SEATS = 0x05,
	PROTO_OP_HOLD_BEST = 0x06,
	PROTO_OP_HOLD_GA = 0x07,
	PROTO_OP_CONFIRM = 0x08,
	PROTO_OP_RELEASE = 0x09,
	PROTO_OP_ORDER = 0x0a,
	PROTO_OP__MAX = 0x0a,
};
#define PROTO_OP_REPLY 0x80u

/* Header flags. */
#define PROTO_F_TOKEN 0x0001u /* body ends with a PROTO_TOKEN_SIZE access token */
#define PROTO_F_CODE 0x0002u  /* QUEUE_JOIN only: the body carries a presale code (PROTO_CODE_SIZE bytes) */
#define PROTO_F_KNOWN (PROTO_F_TOKEN | PROTO_F_CODE)
#define PROTO_CODE_SIZE 32    /* presale code field: 1..32 printable non-space ASCII bytes, zero-padded */

struct __attribute__((packed)) proto_hdr {
	uint16_t magic;     /* PROTO_MAGIC */
	uint8_t version;    /* PROTO_VERSION */
	uint8_t opcode;     /* enum proto_op, | PROTO_OP_REPLY in replies */
	uint16_t flags;     /* PROTO_F_*; unknown bits are a bad request */
	uint16_t body_len;  /* bytes of body after this header */
	uint64_t client_id; /* non-zero */
	uint64_t request_id;
};
_Static_assert(sizeof(struct proto_hdr) == 24, "proto_hdr is 24 bytes");

/* ---- request bodies ---- */
struct __attribute__((packed)) proto_ping {
	/* 0..PROTO_PING_ECHO_MAX bytes, echoed back */
	uint8_t echo[PROTO_PING_ECHO_MAX];
};

struct __attribute__((packed)) proto_seat_map {
	uint32_t event_id;
	uint32_t part_id;
	uint32_t first;  /* first seat index of the page */
	uint16_t count;  /* 1..PROTO_SEATMAP_PAGE_MAX */
	uint16_t _pad;   /* must be 0 */
};
_Static_assert(sizeof(struct proto_seat_map) == 16, "layout");

struct __attribute__((packed)) proto_hold {
	uint32_t event_id;
	uint32_t part_id;
	uint8_t n;       /* HOLD_SEATS: seats listed; others: quantity; 1..PROTO_ITEMS_MAX */
	uint8_t tier;    /* HOLD_BEST: 0 = any; else must be 0 */
	uint16_t _pad;   /* must be 0 */
	/* HOLD_SEATS: n x uint32_t seat index follow; others: nothing */
};
_Static_assert(sizeof(struct proto_hold) == 12, "layout");

struct __attribute__((packed)) proto_confirm {
	uint64_t hold_id;
	uint8_t payment_ref[PROTO_PAYMENT_REF_SIZE];
};
_Static_assert(sizeof(struct proto_confirm) == 40, "layout");

struct __attribute__((packed)) proto_release {
	uint64_t hold_id;
};

struct __attribute__((packed)) proto_order {
	uint64_t order_id;
};

struct __attribute__((packed)) proto_queue {
	uint32_t event_id;
	uint32_t _pad; /* must be 0 */
	/* QUEUE_JOIN with PROTO_F_CODE: PROTO_CODE_SIZE bytes of code follow.
	 * QUEUE_POLL: the queue ticket follows as the PROTO_F_TOKEN token */
};

/* ---- reply bodies ---- */
struct __attribute__((packed)) proto_reply_head {
	uint8_t status;          /* enum dp_status */
	uint8_t detail;          /* enum dp_detail */
	uint16_t _pad;
	uint32_t retry_after_ms; /* BUSY: wait this long, then retry with the same request id */
};
_Static_assert(sizeof(struct proto_reply_head) == 8, "layout");

/* PING reply: head, then this, then the echo bytes. */
struct __attribute__((packed)) proto_ping_reply {
	uint64_t server_time_ms;
	uint32_t workers;
	uint32_t _pad;
};

/* HOLD_* / CONFIRM / RELEASE reply: head, then this, then n_items x u32
 * items, then n_alt x u32 alternatives (TAKEN). */
struct __attribute__((packed)) proto_hold_reply {
	uint32_t event_id;
	uint32_t part_id;
	uint64_t hold_id;
	uint64_t order_id;  /* CONFIRM */
	uint64_t expiry_ms; /* ms since the Unix epoch */
	uint32_t available; /* SOLD_OUT: tickets still free */
	uint8_t n_items;
	uint8_t n_alt;
	uint16_t _pad;
};
_Static_assert(sizeof(struct proto_hold_reply) == 40, "layout");

/* SEAT_MAP reply: head, then this, then count bytes, one per seat:
 * bits 0-1 state (0 free, 1 held, 2 sold, 3 withheld), bits 2-7 tier (0-63). */
struct __attribute__((packed)) proto_seat_map_reply {
	uint32_t event_id;
	uint32_t part_id;
	uint32_t capacity;
	uint32_t first;
	uint16_t count;
	uint16_t _pad;
	uint32_t free;
	uint32_t held;
	uint32_t sold;
};
_Static_assert(sizeof(struct proto_seat_map_reply) == 32, "layout");

/* ORDER reply: head, then this, then n_items x u32. */
struct __attribute__((packed)) proto_order_reply {
	uint64_t order_id;
	uint64_t hold_id;
	uint64_t time_ms;
	uint32_t event_id;
	uint32_t part_id;
	uint8_t kind;     /* 1 seat, 2 general admission */
	uint8_t n_items;
	uint16_t _pad;
	uint8_t payment_ref[PROTO_PAYMENT_REF_SIZE];
};
_Static_assert(sizeof(struct proto_order_reply) == 68, "layout");

/* QUEUE_JOIN / QUEUE_POLL reply (status ok): head, then this (96 bytes).
 * Refusals (bad_token, busy, unavailable, not_found, ...) are head only. */
enum proto_queue_state {
	PROTO_QS_WAITING = 0,  /* token = queue ticket; position, ahead, wait_ms estimated */
	PROTO_QS_ADMITTED = 1, /* token = access token (kind 2) */
	PROTO_QS_NO_QUEUE = 2, /* waiting room not active: hold directly; token all zero */
	PROTO_QS_PREQUEUE = 3, /* before opening: token = pre-queue ticket; wait_ms = time to opening */
	PROTO_QS__COUNT
};

struct __attribute__((packed)) proto_queue_reply {
	uint32_t event_id;
	uint8_t state;    /* enum proto_queue_state */
	uint8_t _pad[3];  /* 0 */
	uint64_t position;
	uint64_t ahead;   /* position - admitted (WAITING), else 0 */
	uint32_t wait_ms; /* estimated wait (WAITING), time to opening (PREQUEUE) */
	uint32_t _pad2;   /* 0 */
	uint8_t token[PROTO_TOKEN_SIZE];
};
_Static_assert(sizeof(struct proto_queue_reply) == 96, "layout");

/* ---- decoding ---- */

/* One decoded request message. Pointers point into the datagram. */
struct proto_msg {
	struct proto_hdr hdr;
	union {
		struct {
			uint8_t len;
			const uint8_t *bytes;
		} ping;
		struct proto_seat_map seat_map;
		struct {
			struct proto_hold h;
			uint32_t seats[PROTO_ITEMS_MAX];
		} hold;
		struct proto_confirm confirm;
		struct proto_release release;
		struct proto_order order;
		struct proto_queue queue;
	} u;
	const uint8_t *token; /* PROTO_F_TOKEN: PROTO_TOKEN_SIZE bytes, else NULL */
	const uint8_t *code;  /* QUEUE_JOIN with PROTO_F_CODE: code_len bytes (no padding), else NULL */
	uint8_t code_len;     /* 1..PROTO_CODE_SIZE with a code, else 0 */
	/* After an error with *hdr_ok set: the enum dp_detail a bad_request
	 * reply should carry (bad_client_id, quantity_zero, quantity_too_large,
	 * unknown_operation, or none). 0 (none) after success. */
	uint8_t bad_detail;
};

/* Why a datagram or message was refused by the decoder. */
enum proto_err {
	PROTO_OK = 0,
	PROTO_E_NOT_STAMPEDE, /* too short for a header, or wrong magic: drop silently */
	PROTO_E_VERSION,      /* unsupported version: bad request */
	PROTO_E_TRUNCATED,    /* body_len runs past the datagram */
	PROTO_E_OPCODE,       /* unknown opcode, or a reply opcode in a request */
	PROTO_E_FLAGS,        /* unknown flag bits, a token where none is allowed, QUEUE_POLL without one */
	PROTO_E_BODY_LEN,     /* body_len wrong for the opcode */
	PROTO_E_FIELD,        /* a field out of bounds (n, count, padding not 0, client id 0) */
	PROTO_E_TOO_MANY,     /* more than PROTO_MSGS_MAX messages */
};

/*
 * Decode the request message at buf[*off ..]; on success advance *off past it.
 * On any error *off is set to len (the rest of the datagram is not trusted)
 * and *hdr_ok tells whether the header itself was readable: 0 with
 * PROTO_E_NOT_STAMPEDE (msg->hdr is zeroed), 1 with every other error (then
 * msg->hdr is filled, msg->bad_detail is set, and the sender can be answered
 * bad_request for that request id). Checks run in this order and the first
 * failure is reported: header present and magic (NOT_STAMPEDE), message
 * count (TOO_MANY: the message at *off would be the 33rd of the datagram),
 * version, body_len within the datagram (TRUNCATED), opcode, flags (unknown
 * bits, a token where none is allowed, QUEUE_POLL without one), body_len for
 * the opcode (BODY_LEN), fields (FIELD). PROTO_F_CODE is allowed on
 * QUEUE_JOIN only (FLAGS otherwise); its code must be 1..PROTO_CODE_SIZE
 * printable non-space ASCII bytes followed only by zeros (FIELD otherwise). Never reads outside buf[0..len); no
 * allocation, no syscall.
 */
enum proto_err proto_decode_msg(const uint8_t *buf, size_t len, size_t *off, struct proto_msg *msg, int *hdr_ok);

/* What follows the reply head in a decoded reply. */
enum proto_reply_kind {
	PROTO_R_STATUS = 0, /* head only (refusals answered before the engine, busy, ...) */
	PROTO_R_PING,
	PROTO_R_HOLD,       /* HOLD_SEATS, HOLD_BEST, HOLD_GA, CONFIRM, RELEASE */
	PROTO_R_SEAT_MAP,
	PROTO_R_ORDER,
	PROTO_R_QUEUE,      /* QUEUE_JOIN, QUEUE_POLL */
};

/* One decoded reply message (clients). Arrays are copied out; pointers
 * point into the datagram. */
struct proto_reply {
	struct proto_hdr hdr;         /* opcode has PROTO_OP_REPLY set */
	struct proto_reply_head head; /* status, detail, retry_after_ms */
	uint8_t kind;                 /* enum proto_reply_kind */
	union {
		struct {
			struct proto_ping_reply body;
			uint8_t echo_len;
			const uint8_t *echo;
		} ping;
		struct {
			struct proto_hold_reply body;
			uint32_t items[PROTO_ITEMS_MAX]; /* body.n_items */
			uint32_t alt[PROTO_ITEMS_MAX];   /* body.n_alt */
		} hold;
		struct {
			struct proto_seat_map_reply body;
			uint16_t count;      /* = body.count */
			const uint8_t *seats; /* count bytes, one per seat */
		} seat_map;
		struct {
			struct proto_order_reply body;
			uint32_t items[PROTO_ITEMS_MAX]; /* body.n_items */
		} order;
		struct proto_queue_reply queue;
	} u;
};

/*
 * Decode the reply message at buf[*off ..], as strictly as requests: on
 * success advance *off past it; on any error set *off to len. A reply is
 * head only, or head plus its opcode's body (docs/protocol.md); head only
 * is refused for status ok. A QUEUE_* body must be exactly a
 * proto_queue_reply with a known state and zero padding (PROTO_E_FIELD
 * otherwise). A reply to an unknown opcode is accepted only as a head-only
 * bad_request; client id 0 only in a head-only bad_request. Status and
 * detail must be known numbers, counts within PROTO_ITEMS_MAX /
 * PROTO_SEATMAP_PAGE_MAX, padding zero, flags zero.
 */
enum proto_err proto_decode_reply(const uint8_t *buf, size_t len, size_t *off, struct proto_reply *out);

const char *proto_err_name(enum proto_err e);
/* "hold_seats", ...; with PROTO_OP_REPLY set "hold_seats_reply"; else "unknown". */
const char *proto_op_name(unsigned op);

/* ---- encoding (replies in the dataplane, requests in the client) ---- */

/* A bounded output buffer; every put fails (returns -1, sets overflow) once
 * cap would be passed, and every later put, begin and end fails too, so a
 * writer checks once at the end. */
struct proto_buf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

void proto_buf_init(struct proto_buf *b, void *mem, size_t cap);
/* Append a header with body_len to be patched by proto_end_msg. Returns the
 * offset of the header (for proto_end_msg) or -1. */
long proto_begin_msg(struct proto_buf *b, uint8_t opcode, uint16_t flags, uint64_t client_id, uint64_t request_id);
int proto_put(struct proto_buf *b, const void *src, size_t n);
/* Patch body_len of the message begun at hdr_off. -1 after an overflow, a
 * bad hdr_off or a body over 65535 bytes. */
int proto_end_msg(struct proto_buf *b, long hdr_off);

/*
 * Request encoders (clients, tools, tests): append one whole request message.
 * Each returns 0, or -1 with nothing appended (len and overflow as before)
 * when the buffer has no room or a value does not fit its wire field (n over
 * 255, echo_len over PROTO_PING_ECHO_MAX). They do not refuse what the server
 * refuses (n = 0, n over PROTO_ITEMS_MAX, client id 0), so tests can provoke
 * those answers. token: PROTO_TOKEN_SIZE bytes, sent with PROTO_F_TOKEN, or
 * NULL.
 */
int proto_put_ping(struct proto_buf *b, uint64_t client_id, uint64_t request_id, const uint8_t *echo,
		   size_t echo_len);
int proto_put_seat_map(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
		       uint32_t part_id, uint32_t first, uint16_t count);
int proto_put_hold_seats(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			 uint32_t part_id, unsigned n, const uint32_t *seats, const uint8_t *token);
int proto_put_hold_best(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			uint32_t part_id, unsigned n, uint8_t tier, const uint8_t *token);
int proto_put_hold_ga(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
		      uint32_t part_id, unsigned n, const uint8_t *token);
int proto_put_confirm(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t hold_id,
		      const uint8_t payment_ref[PROTO_PAYMENT_REF_SIZE]);
int proto_put_release(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t hold_id);
int proto_put_order(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint64_t order_id);
int proto_put_queue_join(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id);
/* QUEUE_JOIN with PROTO_F_CODE: code (not NULL) is sent zero-padded to
 * PROTO_CODE_SIZE bytes; -1 when longer than that (its bytes are not
 * checked, so tests can provoke the server's refusal). */
int proto_put_queue_join_code(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			      const char *code);
/*
 * Reply encoder (dataplane, tests): append a whole QUEUE_JOIN/QUEUE_POLL
 * reply, status ok, with body q (q->_pad and q->_pad2 are written as 0),
 * answering request header rq (its opcode without PROTO_OP_REPLY, its
 * client and request ids). Returns 0, or -1 with nothing appended when the
 * buffer has no room or q->state is not a proto_queue_state. rq and q may
 * not be NULL.
 */
int proto_put_queue_reply(struct proto_buf *b, const struct proto_hdr *rq, const struct proto_queue_reply *q);
/* token is required (not NULL). */
int proto_put_queue_poll(struct proto_buf *b, uint64_t client_id, uint64_t request_id, uint32_t event_id,
			 const uint8_t *token);

#endif
