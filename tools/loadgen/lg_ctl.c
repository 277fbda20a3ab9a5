/*
 * lg_ctl.c - stampede-loadgen runs stampedectl (docs/stampedectl.md) for
 * what only the control process knows: `load` of the scenario inventory
 * (--load) and `--json export EVENT` for the verification.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/loadgen/lg_verify.h"

extern char **environ;

/* Start argv[0] with its stdout on fd out_fd (-1: our stderr); the pid, or
 * -1 with the reason in err. */
static pid_t spawn_ctl(char *const argv[], int out_fd, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
		posix_spawn_file_actions_addclose(&fa, out_fd);
	} else {
		posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	}
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot run: %s", argv[0], strerror(rc));
		return -1;
	}
	return pid;
}

/* Wait for pid; 0 when it exited 0, else -1 with its status in err. */
static int wait_ctl(pid_t pid, const char *what, char *err, size_t errlen)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: waitpid: %s", what, strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(err, errlen, "%s exited with status %d", what, WEXITSTATUS(st));
	else
		snprintf(err, errlen, "%s killed by signal %d", what, WTERMSIG(st));
	return -1;
}

/* See lg_verify.h. */
int lg_ctl_export(const char *ctl, const char *sock, uint32_t event_id, char **out, size_t *out_len, char *err,
		  size_t errlen)
{
	char ev[16];
	snprintf(ev, sizeof(ev), "%u", event_id);
	char *argv[10];
	int k = 0;
	argv[k++] = (char *)ctl;
	if (sock) {
		argv[k++] = (char *)"--socket";
		argv[k++] = (char *)sock;
	}
	argv[k++] = (char *)"--timeout";
	argv[k++] = (char *)"300";
	argv[k++] = (char *)"--json";
	argv[k++] = (char *)"export";
	argv[k++] = ev;
	argv[k] = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = spawn_ctl(argv, p[1], err, errlen);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	int oom = !buf;
	for (;;) {
		if (!oom && cap - len < 65536) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				oom = 1;
			else {
				buf = nb;
				cap *= 2;
			}
		}
		char sink[4096];
		ssize_t n = oom ? read(p[0], sink, sizeof(sink)) : read(p[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!oom)
			len += (size_t)n;
	}
	close(p[0]);
	char what[64];
	snprintf(what, sizeof(what), "stampedectl export %u", event_id);
	if (wait_ctl(pid, what, err, errlen) != 0 || oom) {
		if (oom)
			snprintf(err, errlen, "out of memory reading the export");
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* See lg_verify.h. */
int lg_ctl_load(const char *ctl, const char *sock, const char *file, char *err, size_t errlen)
{
	char *argv[6];
	int k = 0;
	argv[k++] = (char *)ctl;
	if (sock) {
		argv[k++] = (char *)"--socket";
		argv[k++] = (char *)sock;
	}
	argv[k++] = (char *)"load";
	argv[k++] = (char *)file;
	argv[k] = NULL;
	pid_t pid = spawn_ctl(argv, -1, err, errlen);
	if (pid < 0)
		return -1;
	return wait_ctl(pid, "stampedectl load", err, errlen);
}
