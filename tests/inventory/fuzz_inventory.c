/*
 * libFuzzer target: arbitrary bytes into the inventory parser. A file either
 * loads, and every definition passes the core's check, or is refused with a
 * one-line message naming the input; nothing else is acceptable.
 * Seed corpus: the files in docs/examples/ and tests/inventory/bad/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "dataplane/dp_codec.h"
#include "dataplane/dp_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_inventory *inv = NULL;
	char err[512];
	int rc = ctl_inventory_parse("fuzz.json", (const char *)data, size, &inv, err, sizeof(err));
	if (rc == 0) {
		if (!inv || err[0] != '\0')
			abort();
		for (uint32_t i = 0; i < inv->n_events; i++) {
			char why[256];
			if (dp_event_def_check(inv->events[i].def, why, sizeof(why)) != 0)
				abort(); /* the loader promised checked definitions */
			void *blob;
			size_t len;
			if (dp_event_def_encode(inv->events[i].def, &blob, &len) == 0)
				free(blob);
		}
		ctl_inventory_free(inv);
	} else {
		if (inv || (rc != -EINVAL && rc != -ENOMEM))
			abort();
		if (strncmp(err, "fuzz.json", 9) != 0 || strlen(err) < 12)
			abort(); /* every refusal says why */
	}
	return 0;
}
