/*
 * dp_buyers.c - per-event count of tickets held plus bought by each client,
 * for the per-buyer limit. Shared by every worker (a buyer may hold in
 * sections owned by different workers), so it is lock-free: open addressing
 * with linear probing, slots claimed by CAS on the client id and never freed
 * while the event is loaded; counts change by CAS against the limit.
 */
#include <errno.h>
#include <stdlib.h>

#include "dataplane/dp_internal.h"

/* Allocate a table of at least slots_min slots (rounded up to a power of two).
 * Control path. Returns 0 or -ENOMEM / -EINVAL. */
int dp_buyers_init(struct dp_buyers *b, uint32_t slots_min)
{
	if (slots_min == 0 || slots_min > (1u << 30))
		return -EINVAL;
	uint32_t n = 1;
	while (n < slots_min)
		n <<= 1;
	b->slots = dp_alloc_zeroed((size_t)n * sizeof(*b->slots));
	if (!b->slots)
		return -ENOMEM;
	b->mask = n - 1;
	return 0;
}

void dp_buyers_fini(struct dp_buyers *b)
{
	free(b->slots);
	b->slots = NULL;
}

/* Find the client's slot, claiming an empty one when create is set. NULL when
 * absent (create unset) or the table is full. */
static struct dp_buyer_slot *buyers_slot(const struct dp_buyers *b, uint64_t client_id, int create)
{
	assert(client_id != 0);
	uint32_t i = (uint32_t)dp_mix64(client_id) & b->mask;
	for (uint32_t probes = 0; probes <= b->mask; probes++, i = (i + 1) & b->mask) {
		struct dp_buyer_slot *s = &b->slots[i];
		uint64_t c = atomic_load_explicit(&s->client_id, memory_order_acquire);
		if (c == client_id)
			return s;
		if (c != 0)
			continue;
		if (!create)
			return NULL;
		uint64_t expected = 0;
		if (atomic_compare_exchange_strong(&s->client_id, &expected, client_id))
			return s;
		if (expected == client_id)
			return s;
	}
	return NULL;
}

int dp_buyers_add(struct dp_buyers *b, uint64_t client_id, uint32_t n, uint32_t limit)
{
	struct dp_buyer_slot *s = buyers_slot(b, client_id, 1);
	if (!s)
		return DP_S_UNAVAILABLE;
	uint32_t cur = atomic_load_explicit(&s->count, memory_order_relaxed);
	do {
		if (cur + n > limit)
			return DP_S_LIMIT;
	} while (!atomic_compare_exchange_weak(&s->count, &cur, cur + n));
	return DP_S_OK;
}

void dp_buyers_sub(struct dp_buyers *b, uint64_t client_id, uint32_t n)
{
	struct dp_buyer_slot *s = buyers_slot(b, client_id, 0);
	assert(s != NULL);
	uint32_t before = atomic_fetch_sub(&s->count, n);
	assert(before >= n);
	(void)before;
}

uint32_t dp_buyers_get(const struct dp_buyers *b, uint64_t client_id)
{
	if (client_id == 0)
		return 0;
	const struct dp_buyer_slot *s = buyers_slot(b, client_id, 0);
	return s ? atomic_load_explicit(&s->count, memory_order_acquire) : 0;
}
