/*
 * ctl_members.h - presale member lists (docs/inventory.md, "Member list"):
 * the text file a presale window's `members_file` names, one member per line
 * (`CODE` or `CODE,USES`), parsed and attached to a loaded inventory.
 *
 * The inventory loader (ctl_inventory.h) only records the path; whoever has
 * the files (stampedectl reads them, the dataplane receives their text with
 * `load`) passes their text to ctl_inventory_attach_members. Errors are one
 * line, `FILE:LINE: what is wrong (expected WHAT)` (or `FILE: ...` for the
 * whole file), FILE being the path as the inventory writes it.
 *
 * Thread safety: no global state. Nothing here runs on the request path.
 */
#ifndef STAMPEDE_CTL_MEMBERS_H
#define STAMPEDE_CTL_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "control/ctl_inventory.h"

#define CTL_MEMBERS_MAX 65536u              /* members in one list */
#define CTL_MEMBERS_BYTES_MAX (4u << 20)    /* bytes of one member list file */

/* One member list's text, as sent with the inventory. */
struct ctl_members_text {
	const char *file; /* the window's members_file, exactly as the inventory writes it */
	const char *text; /* the file's bytes; need not be NUL-terminated */
	size_t len;
};

/*
 * Parse one member list. name stands for the file in messages (NULL:
 * "(input)"). On success *out is a new array of *n_out (1..CTL_MEMBERS_MAX)
 * members in file order (free it) and err is "". If lines_out is not NULL it
 * gets a new array of each member's line number (1-based; free it). On
 * failure nothing is allocated, err holds one line and the result is -EINVAL
 * (or -ENOMEM). err may be NULL; at most errlen bytes are written.
 */
int ctl_members_parse(const char *name, const char *text, size_t len, struct ctl_access_code **out,
		      uint32_t *n_out, uint32_t **lines_out, char *err, size_t errlen);

/*
 * Attach member lists to every presale window with a members_file: each
 * window's list is the entry of texts whose file equals its members_file
 * (entries no window names are ignored; the same file given twice is an
 * error). Checks every list, and that each code is unique within its event
 * across all windows' codes and member lists, naming both places.
 *
 * All or nothing: on success every such window's n_members / members are set
 * (replacing a list attached before) and 0 is returned; on failure inv is
 * unchanged, err holds one line and the result is -EINVAL (or -ENOMEM).
 * An inventory without member-list windows needs no texts (n may be 0).
 */
int ctl_inventory_attach_members(struct ctl_inventory *inv, const struct ctl_members_text *texts, size_t n,
				 char *err, size_t errlen);

/*
 * Read every distinct members_file of inv from disk (relative to the
 * directory of inv_file; an absolute path as it is; at most
 * CTL_MEMBERS_BYTES_MAX bytes each), check each list and attach them all
 * (ctl_inventory_attach_members). Neither inv_file nor inv may be NULL.
 * Returns 0 and *texts_out (*n_out entries, `file` as the inventory writes
 * it; free with ctl_members_texts_free), or
 *   -EINVAL  a list is missing, unreadable, too large or wrong, or a code
 *            is listed twice in an event: err says which, at which line;
 *   -ENOMEM  out of memory.
 * On failure inv is unchanged.
 */
int ctl_members_load(const char *inv_file, struct ctl_inventory *inv, struct ctl_members_text **texts_out,
		     size_t *n_out, char *err, size_t errlen);
/* Free what ctl_members_load returned (texts may be NULL when n is 0). */
void ctl_members_texts_free(struct ctl_members_text *texts, size_t n);

#endif
