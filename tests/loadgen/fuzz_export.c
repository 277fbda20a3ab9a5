/*
 * fuzz_export.c - libFuzzer target for the loadgen's export parser
 * (lg_verify_export): any bytes, against a general-admission and a
 * reserved-seat plan with a few acknowledged orders. It must refuse or
 * count, never crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/loadgen/lg_scenario.h"
#include "tools/loadgen/lg_verify.h"

#ifndef LG_EXAMPLES_DIR
#define LG_EXAMPLES_DIR "docs/examples"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lg_plan plans[2];
static int loaded;

/* The two plans, loaded once. */
static void load(void)
{
	char err[256];
	if (lg_plan_load(&plans[0], LG_EXAMPLES_DIR "/comiccon.json", 0, err, sizeof(err)) != 0 ||
	    lg_plan_load(&plans[1], LG_EXAMPLES_DIR "/arena.json", 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_export: %s\n", err);
		abort();
	}
	loaded = 1;
}

/* One input against both plans. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!loaded)
		load();
	static const struct lg_order o[2] = {
		{.order_id = 1, .client_id = 11, .part_id = 1, .n_items = 2, .items = {0, 1}},
		{.order_id = 2, .client_id = 12, .part_id = 101, .n_items = 1, .items = {3}},
	};
	char err[256];
	struct lg_verify_result v;
	for (int i = 0; i < 2; i++)
		(void)lg_verify_export((const char *)data, size, &plans[i], o, 2, 10, 5, &v, err, sizeof(err));
	return 0;
}
