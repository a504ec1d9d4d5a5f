/* SPDX-License-Identifier: MIT */
/* cputime.c - run a command and report the CPU time of every process it
 * started, however deep and however orphaned: this process becomes a child
 * subreaper (PR_SET_CHILD_SUBREAPER), so processes whose parent exits
 * without waiting for them (libunbound's resolver process, Exim's detached
 * deliveries) are reparented here, waited for, and counted in
 * RUSAGE_CHILDREN.
 *   cputime COMMAND [ARG...]
 * Prints "cpu_ms=N user_ms=N sys_ms=N wall_ms=N status=N" on stderr once
 * every descendant has exited. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(struct timeval tv) { return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0; }

int main(int argc, char **argv) {
    struct timespec t0, t1;
    struct rusage ru;
    int status = 0, first = -1;
    pid_t child, w;
    if (argc < 2) {
        fprintf(stderr, "usage: cputime COMMAND [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("cputime: PR_SET_CHILD_SUBREAPER");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("cputime: fork");
        return 2;
    }
    if (child == 0) {
        execvp(argv[1], argv + 1);
        perror("cputime: exec");
        _exit(127);
    }
    for (;;) {
        int st;
        w = wait(&st);
        if (w < 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: every descendant is gone */
        }
        if (w == child) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            first = 0;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_CHILDREN, &ru);
    fprintf(stderr, "cpu_ms=%.1f user_ms=%.1f sys_ms=%.1f wall_ms=%.1f status=%d\n",
            ms(ru.ru_utime) + ms(ru.ru_stime), ms(ru.ru_utime), ms(ru.ru_stime),
            (t1.tv_sec - t0.tv_sec) * 1000.0 + (t1.tv_nsec - t0.tv_nsec) / 1e6, first ? 127 : status);
    return first ? 127 : status;
}
