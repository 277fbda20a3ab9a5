/*
 * test_lg_verify.c - the loadgen's verifier (tools/loadgen/lg_verify.c)
 * against planted faults: a clean export counts nothing; a lost
 * acknowledged order, a duplicate ticket, an oversale, a wrong client, a
 * changed ticket are each counted; garbage exports are refused with a
 * message naming the element, nothing counted. Also the histogram and the
 * timer wheel the loadgen's figures rest on.
 *
 * Usage: test_lg_verify DOCS_EXAMPLES_DIR
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_types.h"
#include "tools/loadgen/lg_scenario.h"
#include "tools/loadgen/lg_verify.h"

#define CHECK(c)                                                                         \
	do {                                                                             \
		if (!(c)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                         \
		}                                                                        \
	} while (0)

#define BASE 1000u /* client ids BASE+1 .. BASE+N */

static char buf[1 << 20];
static size_t blen;

/* Start a JSON array in buf. */
static void arr_begin(void)
{
	blen = (size_t)snprintf(buf, sizeof(buf), "[");
}

/* Append one GA export row. */
static void ga_row(uint64_t order, uint64_t client, uint32_t event, uint32_t part, uint32_t serial)
{
	blen += (size_t)snprintf(buf + blen, sizeof(buf) - blen,
				 "%s{\"order_id\":%" PRIu64 ",\"hold_id\":7,\"event\":%u,\"part\":%u,\"part_name\":\"x\","
				 "\"kind\":\"ga\",\"row\":null,\"seat\":null,\"serial\":%u,\"client_id\":%" PRIu64
				 ",\"tier\":1,\"tier_name\":\"t\",\"price_cents\":100,\"time\":\"x\",\"time_ms\":1}",
				 blen > 1 ? "," : "", order, event, part, serial, client);
}

/* Append one reserved-seat export row. */
static void seat_row(uint64_t order, uint64_t client, uint32_t event, uint32_t part, const char *row, uint32_t seat)
{
	blen += (size_t)snprintf(buf + blen, sizeof(buf) - blen,
				 "%s{\"order_id\":%" PRIu64 ",\"hold_id\":7,\"event\":%u,\"part\":%u,\"part_name\":\"x\","
				 "\"kind\":\"seat\",\"row\":\"%s\",\"seat\":%u,\"serial\":null,\"client_id\":%" PRIu64
				 ",\"tier\":1,\"tier_name\":\"t\",\"price_cents\":100,\"time\":\"x\",\"time_ms\":1}",
				 blen > 1 ? "," : "", order, event, part, row, seat, client);
}

/* Close the JSON array. */
static void arr_end(void)
{
	blen += (size_t)snprintf(buf + blen, sizeof(buf) - blen, "]");
}

/* Verify buf against the orders; the return code. */
static int run(const struct lg_plan *p, const struct lg_order *o, uint32_t n, struct lg_verify_result *v, char *err)
{
	return lg_verify_export(buf, blen, p, o, n, BASE, 100, v, err, 256);
}

/* General admission (comiccon: event 2016, type 1, 1000 badges). */
static void test_ga(const char *dir)
{
	char path[512], err[256];
	struct lg_plan p;
	snprintf(path, sizeof(path), "%s/comiccon.json", dir);
	CHECK(lg_plan_load(&p, path, 0, err, sizeof(err)) == 0);
	CHECK(p.event_id == 2016 && p.capacity == 1000 && p.n_parts == 1 && p.parts[0].ga);
	/* Two acknowledged orders: 10 -> serials 0,1 (client 1001); 11 -> serial 5 (client 1002). */
	struct lg_order o[2] = {
		{.order_id = 10, .client_id = BASE + 1, .part_id = 1, .n_items = 2, .items = {0, 1}},
		{.order_id = 11, .client_id = BASE + 2, .part_id = 1, .n_items = 1, .items = {5}},
	};
	struct lg_verify_result v;

	/* Clean: both there, one unacknowledged order of ours, a foreign event row. */
	arr_begin();
	ga_row(10, BASE + 1, 2016, 1, 1);
	ga_row(10, BASE + 1, 2016, 1, 0);
	ga_row(11, BASE + 2, 2016, 1, 5);
	ga_row(12, BASE + 3, 2016, 1, 9);
	ga_row(99, 5, 777, 1, 5);
	arr_end();
	CHECK(run(&p, o, 2, &v, err) == 0);
	CHECK(v.rows == 4 && v.oversold == 0 && v.duplicate_tickets == 0 && v.lost_acked == 0);
	CHECK(v.unacked_orders == 1 && v.foreign_rows == 1);

	/* Lost: order 11 missing. */
	arr_begin();
	ga_row(10, BASE + 1, 2016, 1, 0);
	ga_row(10, BASE + 1, 2016, 1, 1);
	arr_end();
	CHECK(run(&p, o, 2, &v, err) == 0);
	CHECK(v.lost_acked == 1 && v.duplicate_tickets == 0 && v.oversold == 0);

	/* Lost: order 10 there with one ticket of its two; and order 11 with another client. */
	arr_begin();
	ga_row(10, BASE + 1, 2016, 1, 0);
	ga_row(11, BASE + 9, 2016, 1, 5);
	arr_end();
	CHECK(run(&p, o, 2, &v, err) == 0);
	CHECK(v.lost_acked == 2);

	/* Lost: order 11 there with serial 6, not the acknowledged 5. */
	arr_begin();
	ga_row(10, BASE + 1, 2016, 1, 0);
	ga_row(10, BASE + 1, 2016, 1, 1);
	ga_row(11, BASE + 2, 2016, 1, 6);
	arr_end();
	CHECK(run(&p, o, 2, &v, err) == 0);
	CHECK(v.lost_acked == 1);

	/* Duplicate: serial 5 sold again in another order. */
	arr_begin();
	ga_row(10, BASE + 1, 2016, 1, 0);
	ga_row(10, BASE + 1, 2016, 1, 1);
	ga_row(11, BASE + 2, 2016, 1, 5);
	ga_row(13, 42, 2016, 1, 5);
	arr_end();
	CHECK(run(&p, o, 2, &v, err) == 0);
	CHECK(v.duplicate_tickets == 1 && v.lost_acked == 0 && v.oversold == 0 && v.rows == 4);

	/* Oversold: a 1000-badge type with 1003 rows (three serials twice). */
	arr_begin();
	for (uint32_t i = 0; i < 1000; i++)
		ga_row(1000 + i, 42, 2016, 1, i);
	for (uint32_t i = 0; i < 3; i++)
		ga_row(5000 + i, 42, 2016, 1, i);
	arr_end();
	CHECK(run(&p, NULL, 0, &v, err) == 0);
	CHECK(v.rows == 1003 && v.oversold == 3 && v.duplicate_tickets == 3);

	/* Garbage: refused with a message naming the element; nothing counted. */
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"", "export: line"},
		{"{\"order_id\":1}", "expected a JSON array"},
		{"[1]", "export[0]: expected an object"},
		{"[{\"order_id\":-1}]", "export[0].order_id"},
		{"[{\"order_id\":1,\"client_id\":2,\"event\":2016,\"part\":1,\"kind\":\"x\"}]", "export[0].kind"},
		{"[{\"order_id\":1,\"client_id\":2,\"event\":2016,\"part\":9,\"kind\":\"ga\",\"serial\":1}]",
		 "export[0].part"},
		{"[{\"order_id\":1,\"client_id\":2,\"event\":2016,\"part\":1,\"kind\":\"ga\",\"serial\":1000}]",
		 "export[0].serial"},
		{"[{\"order_id\":1,\"client_id\":2,\"event\":2016,\"part\":1,\"kind\":\"ga\",\"serial\":\"1\"}]",
		 "export[0].serial"},
		{"[{\"order_id\":1,\"client_id\":2,\"event\":2016,\"part\":1,\"kind\":\"seat\",\"row\":\"A\",\"seat\":1}]",
		 "export[0].kind"},
		{"[{\"order_id\":1,\"order_id\":1}]", "export: line"},
		{"[{\"order_id\":1.5}]", "export[0].order_id"},
		{"[\"\\u0000\"]", "export: line"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&v, 0x55, sizeof(v));
		err[0] = 0;
		int rc = lg_verify_export(bad[i].text, strlen(bad[i].text), &p, o, 2, BASE, 100, &v, err, sizeof(err));
		if (rc != -1 || !strstr(err, bad[i].msg) || v.rows || v.lost_acked) {
			fprintf(stderr, "garbage %zu: rc %d, err \"%s\", want \"%s\"\n", i, rc, err, bad[i].msg);
			exit(1);
		}
	}
	lg_plan_free(&p);
}

/* Reserved seats (arena: seat index -> row label and number). */
static void test_seats(const char *dir)
{
	char path[512], err[256];
	struct lg_plan p;
	snprintf(path, sizeof(path), "%s/arena.json", dir);
	CHECK(lg_plan_load(&p, path, 0, err, sizeof(err)) == 0);
	CHECK(p.event_id == 4200 && p.capacity + p.withheld == 20000 && p.withheld > 0);
	CHECK(!p.parts[0].ga && p.parts[0].id == 1);
	/* Section 1 (Floor A): rows 1..16, seats 1-30; index 0 and 1 are the first two of the best row. */
	const struct dp_section_def *sd = &p.def->sections[0];
	const char *l0 = sd->row_labels[sd->seats[0].row], *l1 = sd->row_labels[sd->seats[1].row];
	struct lg_order o = {.order_id = 20, .client_id = BASE + 4, .part_id = 1, .n_items = 2, .items = {0, 1}};
	struct lg_verify_result v;
	arr_begin();
	seat_row(20, BASE + 4, 4200, 1, l1, sd->seats[1].number);
	seat_row(20, BASE + 4, 4200, 1, l0, sd->seats[0].number);
	arr_end();
	CHECK(run(&p, &o, 1, &v, err) == 0);
	CHECK(v.rows == 2 && v.lost_acked == 0 && v.duplicate_tickets == 0 && v.oversold == 0);
	/* A seat sold twice, and the acknowledged one moved to another seat. */
	arr_begin();
	seat_row(20, BASE + 4, 4200, 1, l0, sd->seats[0].number);
	seat_row(20, BASE + 4, 4200, 1, l0, sd->seats[0].number);
	arr_end();
	CHECK(run(&p, &o, 1, &v, err) == 0);
	CHECK(v.duplicate_tickets == 1 && v.lost_acked == 1);
	/* Unknown row label: refused. */
	arr_begin();
	seat_row(20, BASE + 4, 4200, 1, "ZZ", 1);
	arr_end();
	CHECK(run(&p, &o, 1, &v, err) == -1 && strstr(err, "has no row"));
	lg_plan_free(&p);
}

/* The histogram: quantiles within one bucket (6.25%) of the truth. */
static void test_hist(void)
{
	static struct lg_hist h;
	lg_hist_reset(&h);
	CHECK(lg_hist_quantile(&h, 0.99) == 0);
	for (uint64_t i = 1; i <= 100000; i++)
		lg_hist_add(&h, i);
	uint64_t p50 = lg_hist_quantile(&h, 0.5), p99 = lg_hist_quantile(&h, 0.99);
	CHECK(p50 >= 50000 && p50 <= 50000 * 17 / 16);
	CHECK(p99 >= 99000 && p99 <= 100000);
	CHECK(lg_hist_quantile(&h, 1.0) == 100000);
}

static unsigned fired_n;
static uint32_t fired[16];
static uint64_t fired_at[16];
static uint64_t clock_ms;

/* Timer callback: record which fired and when. */
static void on_fire(void *ctx, uint32_t node)
{
	(void)ctx;
	fired_at[fired_n] = clock_ms;
	fired[fired_n++] = node;
}

/* The timer wheel: order, disarm, re-arm, more than a lap ahead. */
static void test_wheel(void)
{
	static struct lg_wheel w;
	static struct lg_tnode nodes[8];
	lg_wheel_init(&w, nodes, 8, 1000);
	lg_wheel_arm(&w, 1, 1010);
	lg_wheel_arm(&w, 2, 1005);
	lg_wheel_arm(&w, 3, 1000 + LG_WHEEL_SLOTS + 5); /* same slot as 1005, a lap later */
	lg_wheel_arm(&w, 4, 1007);
	lg_wheel_disarm(&w, 4);
	lg_wheel_arm(&w, 5, 900); /* in the past: next run */
	clock_ms = 1006;
	CHECK(lg_wheel_run(&w, clock_ms, on_fire, NULL) == 2);
	CHECK(fired[0] == 5 && fired[1] == 2);
	clock_ms = 1000 + LG_WHEEL_SLOTS;
	CHECK(lg_wheel_run(&w, clock_ms, on_fire, NULL) == 1 && fired[2] == 1);
	clock_ms = 1000 + LG_WHEEL_SLOTS + 5;
	CHECK(lg_wheel_run(&w, clock_ms, on_fire, NULL) == 1 && fired[3] == 3);
	CHECK(w.armed == 0 && lg_wheel_next_ms(&w, 50) == 50);
}

/* Every check; the examples directory is the argument. */
int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_lg_verify DOCS_EXAMPLES_DIR\n");
		return 2;
	}
	test_ga(argv[1]);
	test_seats(argv[1]);
	test_hist();
	test_wheel();
	printf("test_lg_verify: ok\n");
	return 0;
}
