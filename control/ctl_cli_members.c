/*
 * ctl_cli_members.c - the member lists of an inventory's presale windows
 * (docs/inventory.md, "Member list") for `stampedectl validate` and `load`:
 * ctl_members_load reads and attaches them; load sends the texts along
 * (docs/control.md, `load`).
 */
#include <errno.h>
#include <stdio.h>

#include "control/ctl_cli.h"
#include "control/ctl_inventory.h"
#include "control/ctl_members.h"

void ctl_cli_members_free(struct ctl_members_text *texts, size_t n)
{
	ctl_members_texts_free(texts, n);
}

int ctl_cli_members_attach(const char *inv_file, struct ctl_inventory *inv, struct ctl_members_text **texts_out,
			   size_t *n_out, char *err, size_t errlen)
{
	int rc = ctl_members_load(inv_file, inv, texts_out, n_out, err, errlen);
	if (rc == -ENOMEM)
		ctl_cli_internal_error("out of memory");
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return CTL_EXIT_INVALID;
	}
	return 0;
}
