/*
 * st_record.h - the durable log record: one mutation of the reservation core.
 *
 * Every acknowledged mutation (a hold, a confirm, a release, an expiry) is one
 * record. Workers produce them in the order they applied them; the storage
 * writer appends them to LMDB in batches. Recovery replays them in log order,
 * so the log is the single source of truth for holds, orders and idempotency.
 *
 * The layout is fixed and little-endian (this is an x86 appliance; the
 * _Static_asserts below pin it). A record is encoded on disk as its first
 * ST_RECORD_HEAD_SIZE bytes followed by n_items 32-bit items, so a one-ticket
 * hold costs ST_RECORD_HEAD_SIZE + 4 bytes.
 */
#ifndef STAMPEDE_ST_RECORD_H
#define STAMPEDE_ST_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Most tickets one hold may carry (seats or general-admission serials). */
#define ST_HOLD_ITEMS_MAX 16
/* Bytes of the opaque payment reference carried by a confirm. */
#define ST_PAYMENT_REF_SIZE 32

enum st_rec_type {
	ST_REC_HOLD = 1,    /* hold_id took items (seats or serials) until expiry_ms */
	ST_REC_CONFIRM = 2, /* hold_id became order_id, with payment_ref */
	ST_REC_RELEASE = 3, /* hold_id given back by its buyer or an operator */
	ST_REC_EXPIRE = 4,  /* hold_id reclaimed after expiry_ms */
	/*
	 * Ordering only, never stored: the writer must not take records after
	 * this one from this worker until worker `dep_worker` has had `dep_seq`
	 * records taken. Used when stock moves between workers, so the log
	 * keeps the release that freed a serial ahead of the hold that reuses it.
	 */
	ST_REC_BARRIER = 5,
};

enum st_part_kind {
	ST_KIND_SEAT = 1, /* part_id is a section id; items are seat indexes */
	ST_KIND_GA = 2,   /* part_id is a GA type id; items are ticket serials */
};

struct st_record {
	uint8_t type;    /* enum st_rec_type */
	uint8_t worker;  /* producing worker index */
	uint8_t kind;    /* enum st_part_kind */
	uint8_t n_items; /* 0..ST_HOLD_ITEMS_MAX */
	uint32_t event_id;
	uint32_t part_id;
	uint32_t flags; /* ST_REC_F_* */
	uint64_t hold_id;
	uint64_t client_id;
	uint64_t request_id;
	uint64_t fingerprint; /* hash of the request that caused it (idempotency) */
	uint64_t time_ms;     /* wall clock when applied, ms since the Unix epoch */
	uint64_t expiry_ms;   /* HOLD: when it lapses; CONFIRM: the hold's expiry */
	uint64_t order_id;    /* CONFIRM: the order; BARRIER: dep_seq */
	uint8_t payment_ref[ST_PAYMENT_REF_SIZE];
	/* --- end of head; items follow on disk --- */
	uint32_t items[ST_HOLD_ITEMS_MAX];
};

/* RELEASE made by an operator (not the buyer): not an idempotent buyer reply. */
#define ST_REC_F_OPERATOR 0x1u

#define ST_RECORD_HEAD_SIZE offsetof(struct st_record, items)

_Static_assert(ST_RECORD_HEAD_SIZE == 104, "st_record head layout is fixed");
_Static_assert(sizeof(struct st_record) == 168, "st_record layout is fixed");
_Static_assert(sizeof(struct st_record) % 4 == 0, "rte_ring elements are 4-byte multiples");

/* BARRIER fields reuse hold_id (dependency worker) and order_id (its seq). */
#define st_barrier_dep_worker(r) ((unsigned)(r)->hold_id)
#define st_barrier_dep_seq(r) ((r)->order_id)

/* Encoded size of a record on disk. r->n_items must be <= ST_HOLD_ITEMS_MAX. */
static inline size_t st_record_encoded_size(const struct st_record *r)
{
	return ST_RECORD_HEAD_SIZE + (size_t)r->n_items * sizeof(uint32_t);
}

#endif
