/*
 * property_worker.c - the property test's worker loop (owner execution,
 * durability, replies) and the lock-free reader thread (see test_property.c
 * for the test, property.h for the shared declarations).
 */
#define _GNU_SOURCE /* mkdtemp, nftw */
#include "tests/concurrency/property.h"

/* ------------------------------------------------------------ worker loop */

static void owner_execute(struct thr *t, struct msg *m)
{
	CHECK(m->target == t->idx, "message for worker %u executed on %u", m->target, t->idx);
	m->exec_now = t->now;
	m->ret = exec_on(t->w, &m->rq, t->now, &m->rp);
	t->executed++;
	if (m->rp.status < DP_S__COUNT && m->rp.detail < DP_D__COUNT)
		t->st[m->rp.status][m->rp.detail]++;
	if (m->rp.status != DP_S_BUSY && ++t->clock_ops % PT_CLOCK_EVERY == 0)
		atomic_fetch_add(&g_clock, 1000);
	/* A reply the engine lets leave at once (wait_seq 0) must not reveal a
	 * mutation that is not durable yet: an order id (release of a confirmed
	 * hold, BAD_REQUEST/CONFIRMED) or a release (RELEASED). The confirm or
	 * release it reveals ran on this worker, so its reply is still in this
	 * worker's FIFO if it is not durable. */
	if (m->rp.wait_seq == 0 && (m->rq.op == DP_OP_CONFIRM || m->rq.op == DP_OP_RELEASE) &&
	    (m->rp.order_id != 0 || m->rp.status == DP_S_RELEASED)) {
		uint64_t durable = dp_worker_durable(t->w);
		for (unsigned i = 0; i < t->pend_n; i++) {
			const struct msg *p = t->pend[(t->pend_head + i) % (PT_W * PT_MAXOUT)];
			if (p->rp.status == DP_S_OK && p->rp.wait_seq > durable && p->rq.hold_id == m->rq.hold_id &&
			    (p->rq.op == DP_OP_CONFIRM || p->rq.op == DP_OP_RELEASE)) {
				unsigned n = atomic_fetch_add(&g_fail_leak, 1);
				if (n < 3)
					fprintf(stderr,
						"FAIL durability: %s of hold %#" PRIx64 " answered %s/%s (order %#" PRIx64
						") with wait_seq 0, revealing the %s executed just before, whose record "
						"is not durable (wait_seq %" PRIu64 ", durable %" PRIu64 ")\n",
						m->rq.op == DP_OP_CONFIRM ? "confirm" : "release", m->rq.hold_id,
						dp_status_name(m->rp.status), dp_detail_name(m->rp.detail), m->rp.order_id,
						p->rq.op == DP_OP_CONFIRM ? "confirm" : "release", p->rp.wait_seq, durable);
				break;
			}
		}
	}
	/* Every reply waits in one FIFO, so replies leave in execution order
	 * (a refusal must not overtake the durable-pending confirm before it). */
	assert(t->pend_n < PT_W * PT_MAXOUT);
	t->pend[(t->pend_head + t->pend_n++) % (PT_W * PT_MAXOUT)] = m;
}

/* Send the replies whose records are durable, in order. */
static unsigned flush_durable(struct thr *t)
{
	unsigned n = 0;
	uint64_t durable = dp_worker_durable(t->w);
	while (t->pend_n > 0) {
		struct msg *m = t->pend[t->pend_head];
		if (m->rp.wait_seq > durable)
			break;
		t->pend_head = (t->pend_head + 1) % (PT_W * PT_MAXOUT);
		t->pend_n--;
		q_push(&g_thr[m->origin].reph, &g_thr[m->origin].rept, m);
		n++;
	}
	return n;
}

/* Drop expired holds from the choice list now and then (they can no longer
 * be confirmed: keeps the list about live holds). */
static void prune(struct thr *t)
{
	uint64_t now = atomic_load(&g_clock);
	for (unsigned i = 0; i < t->n_active;) {
		struct hrec *h = t->active[i];
		if (h->expiry + 2000 < now && h->busy == 0) {
			t->expired_by_tick++;
			hrec_end(t, h, H_EXPIRED);
		} else {
			i++;
		}
	}
}

void *worker_main(void *arg)
{
	struct thr *t = arg;
	urcu_qsbr_register_thread();
	for (;;) {
		urcu_qsbr_quiescent_state();
		t->turns++;
		t->now = atomic_load(&g_clock);
		dp_worker_tick(t->w, t->now);
		if (t->turns % PT_EXPIRE_ALL_EVERY == 0)
			dp_worker_expire_all(t->w, t->now);
		if (t->turns % 4096 == 0)
			prune(t);
		unsigned work = 0;
		struct msg *m;
		for (unsigned k = 0; k < 256 && (m = q_pop(&t->reqh, &t->reqt)) != NULL; k++, work++)
			owner_execute(t, m);
		work += flush_durable(t);
		while ((m = q_pop(&t->reph, &t->rept)) != NULL) {
			work++;
			if (on_reply(t, m))
				msg_put(t, m);
		}
		if (t->n_parked)
			resend_due(t);
		for (unsigned k = 0; k < PT_GEN_PER_TURN; k++)
			generate(t);
		if (atomic_load(&g_sent) >= atomic_load(&g_target) && atomic_load(&g_inflight) == 0) {
			urcu_qsbr_thread_offline();
			pthread_barrier_wait(&g_bar); /* epoch done: main checks */
			pthread_barrier_wait(&g_bar); /* main done */
			urcu_qsbr_thread_online();
			if (atomic_load(&g_stop))
				break;
		} else if (work == 0) {
			sched_yield(); /* 2 cores, 7 threads: let the others run */
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------ reader */

struct reader_stats g_rs;

void *reader_main(void *arg)
{
	(void)arg;
	uint64_t rng = g_seed ^ 0x5eed;
	uint32_t max_sold[PT_MAX_EVENTS][PT_N_PARTS];
	memset(max_sold, 0, sizeof(max_sold));
	urcu_qsbr_register_thread();
	while (!atomic_load(&g_reader_stop)) {
		urcu_qsbr_quiescent_state();
		uint32_t n = atomic_load(&g_n_events);
		uint32_t e = cc_below(&rng, n);
		uint32_t ev = PT_EVENT_BASE + e;
		int pi = (int)cc_below(&rng, PT_N_PARTS);
		uint32_t part = part_ids[pi];
		urcu_qsbr_read_lock();
		for (unsigned k = 0; k < 32; k++) {
			uint32_t idx = cc_below(&rng, part_caps[pi]);
			uint64_t wd;
			int rc = dp_seat_word(g_eng, ev, part, idx, &wd);
			g_rs.reads++;
			if (rc != 0) {
				FAIL("reader: dp_seat_word(%u,%u,%u) = %d", ev, part, idx, rc);
				continue;
			}
			bool wh = pi < PT_N_SEC && (g_seats[idx].flags & DP_SEAT_WITHHELD);
			switch (dp_seat_word_state(wd)) {
			case DP_SEAT_OFF:
				CHECK(wh, "reader: %u/%u/%u is OFF but not withheld", ev, part, idx);
				break;
			case DP_SEAT_FREE:
				CHECK(!wh && wd == 0, "reader: %u/%u/%u FREE word %#" PRIx64 " (withheld %d)", ev,
				      part, idx, wd, wh);
				break;
			case DP_SEAT_HELD: {
				uint32_t ref = dp_seat_word_hold_ref(wd);
				CHECK(!wh && (ref >> 24) < PT_W, "reader: %u/%u/%u HELD by ref %#x", ev, part, idx,
				      ref);
				g_rs.held++;
				break;
			}
			case DP_SEAT_SOLD: {
				uint64_t oid = dp_seat_word_order(wd);
				struct dp_order_view v;
				g_rs.sold++;
				CHECK(!wh, "reader: withheld seat %u sold", idx);
				if (dp_order_get(g_eng, oid, &v) != 0) {
					FAIL("reader: %u/%u/%u SOLD in order %#" PRIx64 " that dp_order_get does not know",
					     ev, part, idx, oid);
					break;
				}
				bool has = false;
				for (unsigned i = 0; i < v.n_items && i < DP_HOLD_TICKETS_MAX; i++)
					has |= v.items[i] == idx;
				CHECK(v.event_id == ev && v.part_id == part && has && v.order_id == oid,
				      "reader: %u/%u/%u SOLD in order %#" PRIx64 " which is for %u/%u and %s it", ev,
				      part, idx, oid, v.event_id, v.part_id, has ? "has" : "lacks");
				break;
			}
			}
		}
		struct dp_part_counts c;
		if (dp_part_counts_get(g_eng, ev, part, &c) != 0) {
			FAIL("reader: counts of %u/%u unknown", ev, part);
		} else {
			g_rs.counts++;
			uint32_t wh = pi < PT_N_SEC ? withheld_in_section() : 0;
			CHECK(c.capacity == part_caps[pi] && c.withheld == wh, "reader: capacity %u withheld %u",
			      c.capacity, c.withheld);
			uint64_t sum = (uint64_t)c.free + c.held + c.sold + c.withheld;
			if (sum != c.capacity) {
				/* held and sold are read one after the other: a confirm between the
				 * two loads is counted twice. Counted, reported, and fatal. */
				g_rs.torn++;
				if (g_rs.torn <= 3)
					fprintf(stderr,
						"reader: counts of %u/%u: free %u + held %u + sold %u + withheld %u = %" PRIu64
						" != capacity %u\n",
						ev, part, c.free, c.held, c.sold, c.withheld, sum, c.capacity);
			}
			CHECK(c.sold >= max_sold[e][pi], "reader: sold of %u/%u went back from %u to %u", ev, part,
			      max_sold[e][pi], c.sold);
			if (c.sold > max_sold[e][pi])
				max_sold[e][pi] = c.sold;
		}
		urcu_qsbr_read_unlock();
		sched_yield(); /* a reader, not a CPU hog: the workers share 2 cores with it */
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}
