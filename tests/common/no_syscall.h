/*
 * no_syscall.h - proves a code path makes no system call: it runs in a
 * forked child under seccomp strict mode (only read, write, _exit and
 * sigreturn allowed), where any other system call kills the child with
 * SIGKILL. Not under sanitizers (their runtimes make system calls of their
 * own): callers skip with ALLOC_COUNT_OFF, as for the allocation count.
 */
#ifndef STAMPEDE_TESTS_NO_SYSCALL_H
#define STAMPEDE_TESTS_NO_SYSCALL_H

/*
 * Run fn(arg) in a child in seccomp strict mode and hand its result back
 * through a pipe into *result. Returns 0 when the child ran fn and exited
 * cleanly; the number of the signal that killed it (a forbidden system
 * call: fn's path made one); or -1 (fork, pipe, seccomp or the result's
 * write failed). fn and result must not be NULL.
 */
int no_syscall_run(unsigned long (*fn)(void *), void *arg, unsigned long *result);

#endif
