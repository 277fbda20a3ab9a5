/*
 * libFuzzer target: arbitrary bytes as a presale member list
 * (control/ctl_members.c). Parsed alone, the list either gives 1..65536 sane
 * members or is refused with one line naming the file; attached to a small
 * inventory (a code window with "GOLD" and two windows using the list), it
 * either attaches to both or changes nothing. Seed corpus:
 * docs/examples/members/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "control/ctl_members.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char inventory[] =
	"{\"format\": \"stampede-inventory/1\", \"events\": [{\"id\": 1, \"name\": \"E\", "
	"\"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"10\"}], "
	"\"general_admission\": [{\"id\": 9, \"name\": \"G\", \"capacity\": 10, \"tier\": 1}], \"presale\": ["
	"{\"name\": \"C\", \"start\": \"2026-03-01T00:00:00Z\", \"end\": \"2026-03-02T00:00:00Z\", \"codes\": [\"GOLD\"]},"
	"{\"name\": \"L\", \"start\": \"2026-03-01T00:00:00Z\", \"end\": \"2026-03-02T00:00:00Z\", \"members_file\": \"f.csv\"}"
	"]}, {\"id\": 2, \"name\": \"F\", \"tiers\": [{\"id\": 1, \"name\": \"T\", \"price\": \"10\"}], "
	"\"general_admission\": [{\"id\": 9, \"name\": \"G\", \"capacity\": 10, \"tier\": 1}], \"presale\": ["
	"{\"name\": \"L\", \"start\": \"2026-03-01T00:00:00Z\", \"end\": \"2026-03-02T00:00:00Z\", \"members_file\": \"f.csv\"}"
	"]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_access_code *m = NULL;
	uint32_t n = 0, *lines = NULL;
	char err[512];
	int rc = ctl_members_parse("f.csv", (const char *)data, size, &m, &n, &lines, err, sizeof(err));
	if (rc == 0) {
		if (err[0] || n < 1 || n > CTL_MEMBERS_MAX)
			abort();
		for (uint32_t i = 0; i < n; i++) {
			size_t cl = strnlen(m[i].code, sizeof(m[i].code));
			if (cl < 1 || cl > CTL_CODE_MAX - 1 || m[i].uses < 1 || m[i].uses > CTL_CODE_USES_MAX)
				abort();
			for (size_t k = 0; k < cl; k++)
				if (m[i].code[k] <= 0x20 || m[i].code[k] >= 0x7f || m[i].code[k] == ',')
					abort();
			if (i && lines[i] <= lines[i - 1])
				abort();
		}
		free(m);
		free(lines);
	} else if (m || (rc != -EINVAL && rc != -ENOMEM) || strncmp(err, "f.csv", 5) != 0 || strchr(err, '\n')) {
		abort();
	}

	struct ctl_inventory *inv = NULL;
	if (ctl_inventory_parse("inv.json", inventory, sizeof(inventory) - 1, &inv, err, sizeof(err)) != 0)
		abort();
	const struct ctl_members_text t = {.file = "f.csv", .text = (const char *)data, .len = size};
	int arc = ctl_inventory_attach_members(inv, &t, 1, err, sizeof(err));
	const struct ctl_presale *p1 = &inv->events[0].extra.presales[1], *p2 = &inv->events[1].extra.presales[0];
	if (arc == 0) {
		/* attached to both windows, and the list never has the other window's code */
		if (rc != 0 || p1->n_members != n || p2->n_members != n || !p1->members || !p2->members)
			abort();
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(p1->members[i].code, "GOLD") == 0)
				abort();
	} else if (p1->members || p2->members || p1->n_members || p2->n_members || !err[0]) {
		abort(); /* all or nothing */
	}
	ctl_inventory_free(inv);
	return 0;
}
