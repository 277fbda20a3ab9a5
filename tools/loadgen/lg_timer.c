/*
 * lg_timer.c - the timer wheel of stampede-loadgen (lg.h): 1 ms slots, one
 * intrusive node per buyer and per request slot, so arming, disarming and
 * firing never allocate. A node due further than one lap away stays in its
 * slot and is passed over until its lap comes.
 */
#include <assert.h>

#include "tools/loadgen/lg.h"

/* Set up an empty wheel over n caller-owned nodes; time starts at now_ms. */
void lg_wheel_init(struct lg_wheel *w, struct lg_tnode *nodes, uint32_t n, uint64_t now_ms)
{
	w->nodes = nodes;
	w->n = n;
	w->now_ms = now_ms;
	w->armed = 0;
	for (uint32_t i = 0; i < LG_WHEEL_SLOTS; i++)
		w->head[i] = LG_NONE;
	for (uint32_t i = 0; i < n; i++)
		nodes[i] = (struct lg_tnode){.next = LG_NONE, .prev = LG_NONE, .slot = LG_NONE};
}

/* Take node i off its slot's list if it is on one. */
void lg_wheel_disarm(struct lg_wheel *w, uint32_t i)
{
	assert(i < w->n);
	struct lg_tnode *t = &w->nodes[i];
	if (t->slot == LG_NONE)
		return;
	if (t->prev != LG_NONE)
		w->nodes[t->prev].next = t->next;
	else
		w->head[t->slot] = t->next;
	if (t->next != LG_NONE)
		w->nodes[t->next].prev = t->prev;
	t->slot = t->next = t->prev = LG_NONE;
	w->armed--;
}

/* Arm node i for when_ms (re-arming moves it); a time already passed runs
 * at the next millisecond the wheel reaches. */
void lg_wheel_arm(struct lg_wheel *w, uint32_t i, uint64_t when_ms)
{
	lg_wheel_disarm(w, i);
	if (when_ms < w->now_ms)
		when_ms = w->now_ms;
	uint32_t s = (uint32_t)(when_ms & (LG_WHEEL_SLOTS - 1));
	struct lg_tnode *t = &w->nodes[i];
	t->when_ms = when_ms;
	t->slot = s;
	t->prev = LG_NONE;
	t->next = w->head[s];
	if (t->next != LG_NONE)
		w->nodes[t->next].prev = i;
	w->head[s] = i;
	w->armed++;
}

/* Run slots from the wheel's time up to now_ms. A slot's list is walked
 * from a saved next pointer; fire may re-arm or disarm any node, so the
 * walk restarts from the head of the slot after each firing (the nodes
 * left there are not due, and are passed over). */
unsigned lg_wheel_run(struct lg_wheel *w, uint64_t now_ms, void (*fire)(void *ctx, uint32_t node), void *ctx)
{
	unsigned fired = 0;
	uint64_t from = w->now_ms;
	if (now_ms < from)
		return 0;
	/* More than a lap behind: every slot once is enough. */
	uint64_t steps = now_ms - from + 1;
	if (steps > LG_WHEEL_SLOTS)
		from = now_ms - LG_WHEEL_SLOTS + 1;
	for (uint64_t ms = from; ms <= now_ms; ms++) {
		uint32_t s = (uint32_t)(ms & (LG_WHEEL_SLOTS - 1));
		w->now_ms = ms + 1; /* re-arming for "now" lands in a later slot */
		uint32_t i = w->head[s];
		while (i != LG_NONE) {
			struct lg_tnode *t = &w->nodes[i];
			uint32_t next = t->next;
			if (t->when_ms <= now_ms) {
				lg_wheel_disarm(w, i);
				fire(ctx, i);
				fired++;
				i = w->head[s]; /* the list may have changed */
				continue;
			}
			i = next;
		}
	}
	w->now_ms = now_ms + 1;
	return fired;
}

/* Milliseconds to the nearest non-empty slot (a lower bound on the next
 * firing), looking at most limit slots ahead: limit when none is nearer. */
uint64_t lg_wheel_next_ms(const struct lg_wheel *w, uint32_t limit)
{
	if (!w->armed)
		return limit;
	if (limit > LG_WHEEL_SLOTS)
		limit = LG_WHEEL_SLOTS;
	for (uint32_t d = 0; d < limit; d++)
		if (w->head[(w->now_ms + d) & (LG_WHEEL_SLOTS - 1)] != LG_NONE)
			return d;
	return limit;
}
