/*
 * ctl_members_files.c - read an inventory's member lists from disk and
 * attach them (docs/inventory.md, "Member list"): each distinct
 * members_file relative to the inventory file's directory (an absolute path
 * as it is). Used by stampedectl (validate, load) and stampede-loadgen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_inventory.h"
#include "control/ctl_members.h"

/* members_file as a path to open: relative to the directory of inv_file. */
static void resolve(char *buf, size_t len, const char *inv_file, const char *members_file)
{
	const char *slash = strrchr(inv_file, '/');
	if (members_file[0] == '/' || !slash)
		snprintf(buf, len, "%s", members_file);
	else
		snprintf(buf, len, "%.*s/%s", (int)(slash - inv_file), inv_file, members_file);
}

/*
 * Read path (at most CTL_MEMBERS_BYTES_MAX bytes) into a new buffer. 0,
 * -ENOMEM, or -EINVAL after writing "PATH: what is wrong" to err.
 */
static int read_list(const char *path, char **text_out, size_t *len_out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -EINVAL;
	}
	char *text = malloc(CTL_MEMBERS_BYTES_MAX + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	size_t len = fread(text, 1, CTL_MEMBERS_BYTES_MAX + 1, f);
	int bad = ferror(f);
	int e = errno;
	fclose(f);
	if (bad || len > CTL_MEMBERS_BYTES_MAX) {
		if (bad)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		else
			snprintf(err, errlen, "%s: is larger than %u MiB (expected a member list of at most %u MiB)", path,
				 CTL_MEMBERS_BYTES_MAX >> 20, CTL_MEMBERS_BYTES_MAX >> 20);
		free(text);
		return -EINVAL;
	}
	*text_out = text;
	*len_out = len;
	return 0;
}

void ctl_members_texts_free(struct ctl_members_text *texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)texts[i].text);
	free(texts);
}

int ctl_members_load(const char *inv_file, struct ctl_inventory *inv, struct ctl_members_text **texts_out,
		     size_t *n_out, char *err, size_t errlen)
{
	size_t cap = (size_t)inv->n_events * CTL_PRESALES_MAX, n = 0;
	struct ctl_members_text *texts = calloc(cap ? cap : 1, sizeof(*texts));
	if (!texts)
		return -ENOMEM;
	int rc = 0;
	err[0] = '\0';
	for (uint32_t e = 0; rc == 0 && e < inv->n_events; e++) {
		const struct ctl_event_extra *x = &inv->events[e].extra;
		for (uint32_t w = 0; rc == 0 && w < x->n_presales; w++) {
			const char *mf = x->presales[w].members_file;
			int seen = !mf[0];
			for (size_t i = 0; i < n && !seen; i++)
				seen = strcmp(texts[i].file, mf) == 0;
			if (seen)
				continue;
			char path[2 * CTL_PATH_MAX + 4096];
			resolve(path, sizeof(path), inv_file, mf);
			char *text;
			size_t len;
			if ((rc = read_list(path, &text, &len, err, errlen)))
				break;
			texts[n++] = (struct ctl_members_text){.file = mf, .text = text, .len = len};
			/* The list's own faults, named by the path the operator can open. */
			struct ctl_access_code *m;
			uint32_t cnt;
			rc = ctl_members_parse(path, text, len, &m, &cnt, NULL, err, errlen);
			if (rc == 0)
				free(m);
			else if (rc != -ENOMEM)
				rc = -EINVAL;
		}
	}
	if (rc == 0) {
		rc = ctl_inventory_attach_members(inv, texts, n, err, errlen);
		if (rc && rc != -ENOMEM)
			rc = -EINVAL;
	}
	if (rc) {
		ctl_members_texts_free(texts, n);
		return rc;
	}
	*texts_out = texts;
	*n_out = n;
	return 0;
}
