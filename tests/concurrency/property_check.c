/*
 * property_check.c - the property test's checkpoint checks (the whole model
 * against the engine) and the final drain (see test_property.c for the test,
 * property.h for the shared declarations).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "tests/concurrency/property.h"

/* ------------------------------------------------------------ checkpoint checks */

static int ord_cmp(const void *a, const void *b)
{
	const struct morder *x = *(const struct morder *const *)a, *y = *(const struct morder *const *)b;
	return x->order_id < y->order_id ? -1 : x->order_id > y->order_id;
}

/* Buyer tally: (event, client) -> tickets held or sold per the words.
 * Open addressing; sized for every key check_all may touch. */
struct tally {
	uint32_t mask, used;
	uint64_t *key;
	uint32_t *n;
};

static uint32_t *tally_at(struct tally *ta, uint64_t key)
{
	uint64_t h = key;
	uint32_t i = (uint32_t)(cc_rng(&h) >> 40) & ta->mask;
	while (ta->key[i] != 0 && ta->key[i] != key)
		i = (i + 1) & ta->mask;
	if (ta->key[i] == 0) {
		if (++ta->used > ta->mask / 2) {
			fprintf(stderr, "tally full (test bug)\n");
			abort();
		}
		ta->key[i] = key;
	}
	return &ta->n[i];
}

static uint64_t tally_key(uint32_t ev, uint64_t client) { return ((uint64_t)ev << 48) ^ client; }

/* Drain clients used so far: PT_DRAIN_CLIENT_BASE + 0..; those of event
 * index e are [g_drain_lo[e], g_drain_hi[e]). */
static uint64_t g_drain_clients;
static uint64_t g_drain_lo[PT_MAX_EVENTS], g_drain_hi[PT_MAX_EVENTS];

/*
 * The whole model at a quiescent point (no worker runs or holds a message).
 * `now` is the fake clock: every tick so far used a now <= it.
 */
void check_all(const char *when, bool swept)
{
	uint64_t t0 = cc_mono_ns();
	uint64_t now = atomic_load(&g_clock);
	uint32_t n_ev = atomic_load(&g_n_events);
	unsigned fails0 = atomic_load(&g_failures);
	struct tally tally, *ta = &tally;
	uint64_t keys = (uint64_t)n_ev * (PT_N_CLIENTS + 8) + 2 * g_drain_clients + 1024;
	for (tally.mask = 1023; tally.mask < 4 * keys; tally.mask = 2 * tally.mask + 1)
		;
	tally.used = 0;
	tally.key = calloc((size_t)tally.mask + 1, sizeof(uint64_t));
	tally.n = calloc((size_t)tally.mask + 1, sizeof(uint32_t));
	uint64_t total_orders = 0, words_sold = 0, words_held = 0;
	uint8_t *seen[PT_MAX_EVENTS][PT_N_PARTS];
	uint32_t sold_items[PT_MAX_EVENTS][PT_N_PARTS];
	memset(sold_items, 0, sizeof(sold_items));
	for (uint32_t e = 0; e < n_ev; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			seen[e][p] = calloc(part_caps[p], 1);

	/* 1. orders: walk every worker's orders */
	for (unsigned wk = 0; wk < PT_W; wk++) {
		uint64_t n = dp_worker_orders(dp_engine_worker(g_eng, wk));
		total_orders += n;
		for (uint64_t s = 1; s <= n; s++) {
			uint64_t oid = dp_order_id(wk, s);
			struct dp_order_view v;
			if (dp_order_get(g_eng, oid, &v) != 0) {
				FAIL("[%s] order %#" PRIx64 " (<= dp_worker_orders) not found", when, oid);
				continue;
			}
			int e = event_index(v.event_id), p = part_index(v.part_id);
			if (e < 0 || p < 0 || v.n_items == 0 || v.n_items > DP_HOLD_TICKETS_MAX) {
				FAIL("[%s] order %#" PRIx64 ": event %u part %u n %u", when, oid, v.event_id, v.part_id,
				     v.n_items);
				continue;
			}
			CHECK(v.order_id == oid && dp_hold_worker(v.hold_id) == wk &&
				      v.kind == (p < PT_N_SEC ? ST_KIND_SEAT : ST_KIND_GA),
			      "[%s] order %#" PRIx64 ": hold %#" PRIx64 " kind %u", when, oid, v.hold_id, v.kind);
			for (unsigned k = 0; k < v.n_items; k++) {
				uint32_t it = v.items[k];
				if (it >= part_caps[p]) {
					FAIL("[%s] order %#" PRIx64 " item %u out of range", when, oid, it);
					continue;
				}
				if (seen[e][p][it]) {
					FAIL("[%s] ticket %u/%u/%u is in two orders (second: %#" PRIx64 ")", when,
					     v.event_id, v.part_id, it, oid);
					continue;
				}
				seen[e][p][it] = 1;
				sold_items[e][p]++;
				uint64_t wd;
				dp_seat_word(g_eng, v.event_id, v.part_id, it, &wd);
				CHECK(dp_seat_word_state(wd) == DP_SEAT_SOLD && dp_seat_word_order(wd) == oid,
				      "[%s] ticket %u/%u/%u of order %#" PRIx64 " has word %#" PRIx64, when, v.event_id,
				      v.part_id, it, oid, wd);
			}
		}
	}

	/* 2. every acknowledged order exists as acknowledged; nothing else exists */
	size_t n_ack = 0;
	for (unsigned i = 0; i < PT_W; i++)
		n_ack += g_thr[i].n_orders;
	struct morder **acks = malloc((n_ack + 1) * sizeof(*acks));
	size_t j = 0;
	for (unsigned i = 0; i < PT_W; i++)
		for (size_t k = 0; k < g_thr[i].n_orders; k++)
			acks[j++] = &g_thr[i].orders[k];
	qsort(acks, n_ack, sizeof(*acks), ord_cmp);
	for (size_t k = 0; k < n_ack; k++) {
		const struct morder *o = acks[k];
		CHECK(k == 0 || acks[k - 1]->order_id != o->order_id, "[%s] order id %#" PRIx64 " acknowledged twice",
		      when, o->order_id);
		struct dp_order_view v;
		if (dp_order_get(g_eng, o->order_id, &v) != 0) {
			FAIL("[%s] acknowledged order %#" PRIx64 " missing", when, o->order_id);
			continue;
		}
		CHECK(v.hold_id == o->hold_id && v.client_id == o->client && v.event_id == o->event &&
			      v.part_id == o->part && v.kind == o->kind && v.n_items == o->n &&
			      memcmp(v.items, o->items, o->n * sizeof(uint32_t)) == 0 &&
			      memcmp(v.payment_ref, o->pay, ST_PAYMENT_REF_SIZE) == 0,
		      "[%s] order %#" PRIx64 " differs from its acknowledgement", when, o->order_id);
	}
	CHECK(n_ack == total_orders, "[%s] %zu orders acknowledged, the engine has %" PRIu64, when, n_ack,
	      total_orders);
	free(acks);

	/* 3. every word against the ledger and the counts */
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		for (int p = 0; p < PT_N_PARTS; p++) {
			uint32_t part = part_ids[p];
			uint32_t nf = 0, nh = 0, ns = 0, no = 0;
			for (uint32_t i = 0; i < part_caps[p]; i++) {
				uint64_t wd;
				if (dp_seat_word(g_eng, ev, part, i, &wd) != 0) {
					FAIL("[%s] dp_seat_word(%u,%u,%u) failed", when, ev, part, i);
					continue;
				}
				struct led *l = &g_led[e][p][i];
				uint64_t lh = ld(&l->hold_id), lo = ld(&l->order_id), lx = ld(&l->expiry);
				bool wh = p < PT_N_SEC && (g_seats[i].flags & DP_SEAT_WITHHELD);
				switch (dp_seat_word_state(wd)) {
				case DP_SEAT_OFF:
					no++;
					CHECK(wh && lh == 0 && lo == 0, "[%s] %u/%u/%u OFF", when, ev, part, i);
					break;
				case DP_SEAT_FREE:
					nf++;
					CHECK(!wh && lo == 0 && (lh == 0 || lx <= now),
					      "[%s] %u/%u/%u FREE but the ledger has hold %#" PRIx64
					      " (expiry %" PRIu64 ", now %" PRIu64 ") order %#" PRIx64,
					      when, ev, part, i, lh, lx, now, lo);
					break;
				case DP_SEAT_HELD:
					nh++;
					CHECK(lh != 0 && lo == 0 && (uint32_t)(lh >> 32) == dp_seat_word_hold_ref(wd) &&
						      (wd & DP_WORD_EXPIRY_MASK) == cc_word_expiry(lx),
					      "[%s] %u/%u/%u HELD word %#" PRIx64 " (ref %#x) but the ledger has hold %#" PRIx64
					      " expiry %" PRIu64 " order %#" PRIx64,
					      when, ev, part, i, wd, dp_seat_word_hold_ref(wd), lh, lx, lo);
					CHECK(!swept || lx > now, "[%s] %u/%u/%u still HELD by %#" PRIx64 " due at %" PRIu64
					      " after expiring everything due at %" PRIu64, when, ev, part, i, lh, lx, now);
					(*tally_at(ta, tally_key(ev, ld(&l->client))))++;
					break;
				case DP_SEAT_SOLD:
					ns++;
					CHECK(lo != 0 && dp_seat_word_order(wd) == lo && seen[e][p][i],
					      "[%s] %u/%u/%u SOLD in %#" PRIx64 ", ledger %#" PRIx64 ", in an order: %d", when,
					      ev, part, i, dp_seat_word_order(wd), lo, seen[e][p][i]);
					(*tally_at(ta, tally_key(ev, ld(&l->client))))++;
					break;
				}
			}
			words_sold += ns;
			words_held += nh;
			CHECK(ns == sold_items[e][p], "[%s] %u/%u: %u SOLD words, orders hold %u tickets", when, ev, part,
			      ns, sold_items[e][p]);
			struct dp_part_counts c;
			int rc = dp_part_counts_get(g_eng, ev, part, &c);
			CHECK(rc == 0 && c.capacity == part_caps[p] && c.free == nf && c.held == nh && c.sold == ns &&
				      c.withheld == no && nf + nh + ns + no == part_caps[p],
			      "[%s] %u/%u counts cap %u free %u held %u sold %u withheld %u; words free %u held %u "
			      "sold %u off %u",
			      when, ev, part, c.capacity, c.free, c.held, c.sold, c.withheld, nf, nh, ns, no);
		}
		struct dp_part_counts ec;
		CHECK(dp_event_counts_get(g_eng, ev, &ec) == 0 &&
			      ec.free + ec.held + ec.sold + ec.withheld == ec.capacity,
		      "[%s] event counts of %u inconsistent", when, ev);
	}

	/* 4. every acknowledged hold that is still live in the model and not due
	 * is HELD with its ref and expiry */
	uint64_t live = 0;
	for (unsigned i = 0; i < PT_W; i++) {
		struct thr *t = &g_thr[i];
		for (unsigned k = 0; k < t->n_active; k++) {
			struct hrec *h = t->active[k];
			if (h->state != H_ACTIVE || h->expiry <= now)
				continue;
			live++;
			for (unsigned x = 0; x < h->n; x++) {
				uint64_t wd = 0;
				dp_seat_word(g_eng, h->event, h->part, h->items[x], &wd);
				CHECK(dp_seat_word_state(wd) == DP_SEAT_HELD &&
					      dp_seat_word_hold_ref(wd) == (uint32_t)(h->hold_id >> 32) &&
					      (wd & DP_WORD_EXPIRY_MASK) == cc_word_expiry(h->expiry),
				      "[%s] live hold %#" PRIx64 " (expiry %" PRIu64 ", now %" PRIu64
				      "): ticket %u/%u/%u word %#" PRIx64,
				      when, h->hold_id, h->expiry, now, h->event, h->part, h->items[x], wd);
			}
		}
	}

	/* 5. buyer counts equal the tickets the words give them */
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		uint64_t nd = g_drain_hi[e] - g_drain_lo[e];
		for (uint64_t c = 0; c < PT_N_CLIENTS + nd; c++) {
			uint64_t client = c < PT_N_CLIENTS ? PT_CLIENT_BASE + c
							   : PT_DRAIN_CLIENT_BASE + g_drain_lo[e] + (c - PT_N_CLIENTS);
			uint32_t want = *tally_at(ta, tally_key(ev, client));
			uint32_t got = dp_buyer_count(g_eng, ev, client);
			CHECK(got == want && got <= PT_LIMIT, "[%s] buyer %" PRIu64 " in %u: count %u, words say %u",
			      when, client, ev, got, want);
		}
	}

	for (uint32_t e = 0; e < n_ev; e++)
		for (int p = 0; p < PT_N_PARTS; p++)
			free(seen[e][p]);
	/* nobody else holds anything */
	for (uint32_t i = 0; i <= tally.mask; i++) {
		uint64_t k = tally.key[i];
		uint64_t client = k & ((1ull << 48) - 1);
		bool known = (client >= PT_CLIENT_BASE && client < PT_CLIENT_BASE + PT_N_CLIENTS) ||
			     client >= PT_DRAIN_CLIENT_BASE;
		CHECK(k == 0 || tally.n[i] == 0 || known, "[%s] tickets of unknown client %" PRIu64, when, client);
	}
	free(tally.key);
	free(tally.n);
	printf("check [%s]: %u events, %" PRIu64 " orders, %" PRIu64 " sold, %" PRIu64
	       " held, %" PRIu64 " live acknowledged holds: %s (%.2f s, at %.1f s)\n",
	       when, n_ev, total_orders, words_sold, words_held, live,
	       atomic_load(&g_failures) == fails0 ? "ok" : "FAILED", (double)(cc_mono_ns() - t0) / 1e9,
	       (double)(cc_mono_ns() - g_t_start) / 1e9);
	fflush(stdout);
}

/* ------------------------------------------------------------ final drain */

struct drained {
	uint64_t hold_id, client;
	unsigned worker;
};

/* Hold every free ticket of every part (main thread playing the workers,
 * which have stopped): exactly `free` must be obtainable, then nothing. Then
 * release them all and expect the counts back. */
void drain_all(void)
{
	uint64_t now = atomic_load(&g_clock);
	uint32_t n_ev = atomic_load(&g_n_events);
	size_t cap = 1 << 16, nd = 0;
	struct drained *d = malloc(cap * sizeof(*d));
	uint64_t req = 1ull << 56;
	uint64_t drained_total = 0;
	for (uint32_t e = 0; e < n_ev; e++) {
		uint32_t ev = PT_EVENT_BASE + e;
		g_drain_lo[e] = g_drain_clients;
		for (int p = 0; p < PT_N_PARTS; p++) {
			uint32_t part = part_ids[p];
			struct dp_part_counts before;
			dp_part_counts_get(g_eng, ev, part, &before);
			uint32_t got = 0, on_client = PT_LIMIT;
			uint64_t client = 0;
			unsigned spins = 0;
			for (;;) {
				if (on_client + 1 > PT_LIMIT) {
					client = PT_DRAIN_CLIENT_BASE + g_drain_clients++;
					on_client = 0;
				}
				struct dp_request rq;
				struct dp_reply rp;
				memset(&rq, 0, sizeof(rq));
				rq.op = p < PT_N_SEC ? DP_OP_HOLD_BEST : DP_OP_HOLD_GA;
				rq.n = 1;
				rq.event_id = ev;
				rq.part_id = part;
				rq.client_id = client;
				rq.request_id = ++req;
				int wk = dp_route(g_eng, &rq);
				CHECK(wk >= 0 && wk < PT_W, "drain: dp_route %d", wk);
				if (wk < 0 || wk >= PT_W)
					break;
				exec_on(dp_engine_worker(g_eng, (unsigned)wk), &rq, now, &rp);
				if (rp.status == DP_S_OK) {
					got++;
					on_client++;
					spins = 0;
					if (nd == cap) {
						cap *= 2;
						d = realloc(d, cap * sizeof(*d));
					}
					d[nd++] = (struct drained){rp.hold_id, client, (unsigned)wk};
					continue;
				}
				if (rp.status == DP_S_BUSY) {
					if (++spins > 1000) {
						FAIL("drain %u/%u: BUSY/%s for ever with %u free", ev, part,
						     dp_detail_name(rp.detail), before.free - got);
						break;
					}
					for (unsigned x = 0; x < PT_W; x++)
						dp_worker_tick(dp_engine_worker(g_eng, x), now);
					if (rp.detail == DP_D_LOG_FULL)
						cc_sleep_us(100);
					continue;
				}
				CHECK(rp.status == DP_S_SOLD_OUT && rp.available == 0,
				      "drain %u/%u: %s/%s available %u after %u of %u", ev, part,
				      dp_status_name(rp.status), dp_detail_name(rp.detail), rp.available, got, before.free);
				break;
			}
			CHECK(got == before.free, "drain %u/%u: obtained %u tickets, counts said %u free", ev, part, got,
			      before.free);
			struct dp_part_counts after;
			dp_part_counts_get(g_eng, ev, part, &after);
			CHECK(after.free == 0 && after.held == before.held + got && after.sold == before.sold,
			      "drain %u/%u: after: free %u held %u sold %u", ev, part, after.free, after.held, after.sold);
			drained_total += got;
		}
		g_drain_hi[e] = g_drain_clients;
	}
	check_all("drained", true);
	for (size_t i = 0; i < nd; i++) {
		struct dp_request rq;
		struct dp_reply rp;
		memset(&rq, 0, sizeof(rq));
		rq.op = DP_OP_RELEASE;
		rq.client_id = d[i].client;
		rq.request_id = ++req;
		rq.hold_id = d[i].hold_id;
		for (unsigned tries = 0;; tries++) {
			exec_on(dp_engine_worker(g_eng, d[i].worker), &rq, now, &rp);
			if (rp.status != DP_S_BUSY || tries > 100000)
				break;
			cc_sleep_us(100);
		}
		CHECK(rp.status == DP_S_OK && rp.detail == DP_D_NONE, "drain release of %#" PRIx64 ": %s/%s",
		      d[i].hold_id, dp_status_name(rp.status), dp_detail_name(rp.detail));
	}
	printf("drain: %" PRIu64 " free tickets held and released again\n", drained_total);
	free(d);
}
