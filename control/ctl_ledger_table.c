/*
 * ctl_ledger_table.c - the ledger's live-hold table (open addressing, linear
 * probing, backward-shift deletion so no tombstones build up), the due heap
 * (min-heap on the time a hold may next be offered for expiry; entries of
 * ended holds are dropped when they surface or when the heap is rebuilt) and
 * the order array.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_ledger_internal.h"

/* A 64-bit mix (splitmix64 finaliser): hold ids carry structure in their bits. */
static size_t ctl_lt_hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (size_t)x;
}

/* Slot index of hold_id, or of the empty slot where it would go. cap > 0. */
static size_t ctl_lt_find(const struct ctl_lt *t, uint64_t hold_id)
{
	size_t mask = t->cap - 1;
	size_t i = ctl_lt_hash(hold_id) & mask;
	while (t->slots[i].h.hold_id != 0 && t->slots[i].h.hold_id != hold_id)
		i = (i + 1) & mask;
	return i;
}

/* Rehash every live slot into a table of new_cap slots (a power of two). */
static int ctl_lt_rehash(struct ctl_lt *t, size_t new_cap)
{
	struct ctl_lt_slot *slots = calloc(new_cap, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	struct ctl_lt old = *t;
	t->slots = slots;
	t->cap = new_cap;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].h.hold_id == 0)
			continue;
		t->slots[ctl_lt_find(t, old.slots[i].h.hold_id)] = old.slots[i];
	}
	free(old.slots);
	return 0;
}

/* Grow *arr (of *cap elements of elem bytes) to hold need, doubling from
 * min. 0 or -ENOMEM (the array is unchanged). */
static int ctl_lt_grow_array(void **arr, size_t *cap, size_t need, size_t elem, size_t min)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : min;
	while (n < need)
		n *= 2;
	void *p = realloc(*arr, n * elem);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

/*
 * Make room for `more` further live holds (load factor at most 1/2, heap room
 * for one entry each) and `more_orders` orders. The caller has checked the
 * CTL_LEDGER_* limits. Returns 0 or -ENOMEM (nothing changed that matters:
 * tables only grow).
 */
int ctl_lt_reserve(struct ctl_lt *t, size_t more, size_t more_orders)
{
	size_t need = t->live + more;
	if (need * 2 > t->cap) {
		size_t cap = t->cap ? t->cap : CTL_LT_SLOTS_MIN;
		while (need * 2 > cap)
			cap *= 2;
		int rc = ctl_lt_rehash(t, cap);
		if (rc != 0)
			return rc;
	}
	int rc = ctl_lt_grow_array((void **)&t->heap, &t->heap_cap, t->heap_n + more, sizeof(*t->heap),
				   CTL_LT_HEAP_MIN);
	if (rc == 0)
		rc = ctl_lt_grow_array((void **)&t->orders, &t->orders_cap, t->orders_n + more_orders,
				       sizeof(*t->orders), CTL_LT_ORDERS_MIN);
	return rc;
}

/* Heap order: earlier at_ms first, then lower hold id. */
static bool ctl_lt_due_less(const struct ctl_lt_due *a, const struct ctl_lt_due *b)
{
	return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->hold_id < b->hold_id);
}

/* Push onto the heap; heap_n < heap_cap is the caller's duty. */
static void ctl_lt_heap_push(struct ctl_lt *t, uint64_t at_ms, uint64_t hold_id)
{
	assert(t->heap_n < t->heap_cap);
	size_t i = t->heap_n++;
	struct ctl_lt_due e = {.at_ms = at_ms, .hold_id = hold_id};
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ctl_lt_due_less(&e, &t->heap[parent]))
			break;
		t->heap[i] = t->heap[parent];
		i = parent;
	}
	t->heap[i] = e;
}

/* Remove the heap's top; heap_n > 0. */
static void ctl_lt_heap_pop(struct ctl_lt *t)
{
	assert(t->heap_n > 0);
	struct ctl_lt_due e = t->heap[--t->heap_n];
	size_t n = t->heap_n, i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ctl_lt_due_less(&t->heap[c + 1], &t->heap[c]))
			c++;
		if (!ctl_lt_due_less(&t->heap[c], &e))
			break;
		t->heap[i] = t->heap[c];
		i = c;
	}
	if (n > 0)
		t->heap[i] = e;
}

/* Rebuild the heap from the live holds alone (drops entries of ended holds). */
static void ctl_lt_heap_rebuild(struct ctl_lt *t)
{
	t->heap_n = 0;
	for (size_t i = 0; i < t->cap; i++) {
		const struct ctl_lt_slot *s = &t->slots[i];
		if (s->h.hold_id != 0)
			ctl_lt_heap_push(t, s->next_offer_ms, s->h.hold_id);
	}
}

/* Insert or replace h (hold_id != 0). Returns true when it replaced a live
 * hold of the same id. ctl_lt_reserve must have made room. */
bool ctl_lt_put(struct ctl_lt *t, const struct ctl_hold *h)
{
	assert(h->hold_id != 0 && t->cap > 0 && (t->live + 1) * 2 <= t->cap);
	size_t i = ctl_lt_find(t, h->hold_id);
	bool replaced = t->slots[i].h.hold_id != 0;
	t->slots[i].h = *h;
	t->slots[i].next_offer_ms = h->expiry_ms;
	if (!replaced)
		t->live++;
	assert(t->heap_n < t->heap_cap); /* ctl_lt_reserve made room for one per hold */
	ctl_lt_heap_push(t, h->expiry_ms, h->hold_id);
	return replaced;
}

/* The live hold hold_id, or NULL (also for id 0 and an empty table). */
const struct ctl_hold *ctl_lt_get(const struct ctl_lt *t, uint64_t hold_id)
{
	if (t->cap == 0 || hold_id == 0)
		return NULL;
	size_t i = ctl_lt_find(t, hold_id);
	return t->slots[i].h.hold_id == hold_id ? &t->slots[i].h : NULL;
}

/* Backward-shift deletion: later members of the probe run move up. */
bool ctl_lt_del(struct ctl_lt *t, uint64_t hold_id, struct ctl_hold *out)
{
	if (t->cap == 0 || hold_id == 0)
		return false;
	size_t mask = t->cap - 1;
	size_t i = ctl_lt_find(t, hold_id);
	if (t->slots[i].h.hold_id != hold_id)
		return false;
	if (out != NULL)
		*out = t->slots[i].h;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (t->slots[j].h.hold_id == 0)
			break;
		size_t home = ctl_lt_hash(t->slots[j].h.hold_id) & mask;
		/* j's entry may move to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->live--;
	if (t->heap_n > 2 * t->live + CTL_LT_HEAP_SLACK)
		ctl_lt_heap_rebuild(t);
	return true;
}

/* Append o; ctl_lt_reserve must have made room. */
void ctl_lt_order(struct ctl_lt *t, const struct ctl_order *o)
{
	assert(t->orders_n < t->orders_cap);
	t->orders[t->orders_n++] = *o;
}

/* Pop due entries; offer live ones and push them back CTL_LEDGER_RETRY_MS on. */
size_t ctl_lt_due(struct ctl_lt *t, uint64_t now_ms, uint64_t *ids, size_t max)
{
	size_t n = 0;
	while (n < max && t->heap_n > 0 && t->heap[0].at_ms <= now_ms) {
		struct ctl_lt_due e = t->heap[0];
		ctl_lt_heap_pop(t);
		if (t->cap == 0)
			continue;
		size_t i = ctl_lt_find(t, e.hold_id);
		struct ctl_lt_slot *s = &t->slots[i];
		if (s->h.hold_id != e.hold_id || s->next_offer_ms != e.at_ms)
			continue; /* ended, or a stale entry after a rebuild */
		ids[n++] = e.hold_id;
		s->next_offer_ms = now_ms + CTL_LEDGER_RETRY_MS;
		/* The pop freed one entry, so the push fits. */
		ctl_lt_heap_push(t, s->next_offer_ms, e.hold_id);
	}
	return n;
}

/* Free the tables and zero t; t non-NULL. */
void ctl_lt_free(struct ctl_lt *t)
{
	free(t->slots);
	free(t->heap);
	free(t->orders);
	memset(t, 0, sizeof(*t));
}
