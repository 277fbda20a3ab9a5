/*
 * no_syscall.c - run a code path under seccomp strict mode (no_syscall.h).
 */
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/no_syscall.h"

/* fn, result: not NULL (header). */
int no_syscall_run(unsigned long (*fn)(void *), void *arg, unsigned long *result)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			_exit(3);
		unsigned long r = fn(arg);
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			syscall(SYS_exit, 2);
		syscall(SYS_exit, 0); /* exit_group is not allowed in strict mode */
	}
	close(fds[1]);
	unsigned long r = 0;
	ssize_t got = read(fds[0], &r, sizeof(r));
	close(fds[0]);
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof(r))
		return -1;
	*result = r;
	return 0;
}
