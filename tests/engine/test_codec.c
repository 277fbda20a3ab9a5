/*
 * test_codec.c - the stored event-definition format (dataplane/dp_codec.c):
 * round trips, every truncation of a valid encoding, and random or mutated
 * bytes, which must be refused with a message and never crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

static struct dp_tier_def tiers[2] = {{.id = 1, .name = "A", .price_cents = 9900}, {.id = 2, .name = "B", .price_cents = 4900}};
static char rows[2][DP_ROW_LABEL_MAX] = {"A", "B"};
static struct dp_seat_def seats[6] = {
	{.row = 0, .number = 1, .tier = 1}, {.row = 0, .number = 2, .tier = 1},
	{.row = 0, .number = 3, .tier = 1, .flags = DP_SEAT_WITHHELD},
	{.row = 1, .number = 1, .tier = 2, .flags = DP_SEAT_ACCESSIBLE}, {.row = 1, .number = 2, .tier = 2},
	{.row = 1, .number = 3, .tier = 2}};
static struct dp_section_def sec = {.id = 10, .name = "Stalls", .n_rows = 2, .row_labels = rows, .n_seats = 6, .seats = seats};
static struct dp_ga_def ga = {.id = 20, .name = "Floor", .capacity = 500, .tier = 2};

static struct dp_event_def sample(void)
{
	struct dp_event_def d = {.id = 7, .name = "codec", .hold_ttl_ms = 600000, .buyer_limit = 8,
				 .n_tiers = 2, .tiers = tiers, .n_sections = 1, .sections = &sec, .n_ga = 1, .ga = &ga};
	return d;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct dp_event_def d = sample();
	void *blob;
	size_t len;
	assert_int_equal(dp_event_def_encode(&d, &blob, &len), 0);
	struct dp_event_def *back = NULL;
	char err[200] = "";
	assert_int_equal(dp_event_def_decode(blob, len, &back, err, sizeof(err)), 0);
	assert_int_equal(back->id, 7);
	assert_string_equal(back->name, "codec");
	assert_int_equal(back->n_sections, 1);
	assert_int_equal(back->sections[0].n_seats, 6);
	assert_int_equal(back->sections[0].seats[2].flags, DP_SEAT_WITHHELD);
	assert_int_equal(back->sections[0].seats[3].tier, 2);
	assert_string_equal(back->sections[0].row_labels[1], "B");
	assert_int_equal(back->ga[0].capacity, 500);
	assert_int_equal(back->tiers[0].price_cents, 9900);
	/* Re-encoding gives the same bytes. */
	void *blob2;
	size_t len2;
	assert_int_equal(dp_event_def_encode(back, &blob2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(blob, blob2, len);
	free(blob2);
	dp_event_def_free(back);
	free(blob);
}

static void test_truncations(void **state)
{
	(void)state;
	struct dp_event_def d = sample();
	void *blob;
	size_t len;
	assert_int_equal(dp_event_def_encode(&d, &blob, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		struct dp_event_def *out = (struct dp_event_def *)0x1;
		char err[200] = "";
		assert_int_equal(dp_event_def_decode(blob, cut, &out, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		assert_ptr_equal(out, (struct dp_event_def *)0x1); /* untouched on error */
	}
	/* One byte too many is refused too. */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, blob, len);
	longer[len] = 0;
	struct dp_event_def *out = NULL;
	char err[200] = "";
	assert_int_equal(dp_event_def_decode(longer, len + 1, &out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "left over"));
	free(longer);
	free(blob);
}

static void test_garbage(void **state)
{
	(void)state;
	struct dp_event_def d = sample();
	void *blob;
	size_t len;
	assert_int_equal(dp_event_def_encode(&d, &blob, &len), 0);
	uint64_t rng = 12345;
	uint8_t buf[1024];
	unsigned ok = 0;
	for (unsigned it = 0; it < 200000; it++) {
		size_t n;
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		if (it & 1) { /* mutate a valid encoding */
			n = len;
			memcpy(buf, blob, len);
			for (unsigned k = 0; k < 1 + (rng >> 60); k++) {
				rng = rng * 6364136223846793005ull + 1442695040888963407ull;
				buf[(rng >> 33) % len] = (uint8_t)(rng >> 13);
			}
		} else { /* random bytes behind a valid magic */
			n = (size_t)((rng >> 33) % sizeof(buf));
			for (size_t k = 0; k < n; k++) {
				rng = rng * 6364136223846793005ull + 1442695040888963407ull;
				buf[k] = (uint8_t)(rng >> 40);
			}
			if (n >= 4) {
				uint32_t m = DP_CODEC_MAGIC;
				memcpy(buf, &m, 4);
			}
		}
		struct dp_event_def *out = NULL;
		char err[200] = "";
		int rc = dp_event_def_decode(buf, n, &out, err, sizeof(err));
		if (rc == 0) {
			/* Whatever decodes is a valid definition. */
			assert_int_equal(dp_event_def_check(out, err, sizeof(err)), 0);
			dp_event_def_free(out);
			ok++;
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_true(err[0] != '\0');
		}
	}
	/* Mutating a byte of a name, price or flag keeps some valid. */
	assert_true(ok > 0);
	free(blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
