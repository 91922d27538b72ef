/* SPDX-License-Identifier: MIT */
/*
 * tools/isolate.h - running one input in a child process (tools/isolate.c):
 * a crash, a sanitizer's report or a hang of the model ends the child,
 * never the command, and becomes a result of its own with a signature
 * built from the report.  Also the crash context of the commands that run
 * in this process (pct, replay of one file), and the test hook
 * MMT_TEST_CRASH_AT_OP.
 */
#ifndef MMT_TOOLS_ISOLATE_H
#define MMT_TOOLS_ISOLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "mmt/exec.h"

/* The default wall-clock limit of a child (--timeout, --replay-timeout). */
#define CLI_ISOLATE_DEFAULT_TIMEOUT 30

struct cli_isolate {
	unsigned long timeout; /* seconds of wall clock; 0: no limit */
	/* The child's stdout and stderr go to these files (truncated). */
	const char *out_path, *err_path;
	/*
	 * The limit restarts at each message the child sends: a child that
	 * runs many runs, sending one message a run, has @timeout seconds a
	 * run (pct), not in all.
	 */
	bool per_message;
};

enum cli_child_end {
	CLI_CHILD_DONE, /* the function returned: its messages are complete */
	CLI_CHILD_CRASH, /* a signal, a sanitizer's report, an exit() */
	CLI_CHILD_HANG, /* killed at the time limit */
	CLI_CHILD_NOT_RUN, /* no fork (or no pipe): @summary says why */
};

struct cli_child {
	enum cli_child_end end;
	int status; /* waitpid()'s */
	double seconds;
	char *msg; /* what the child sent through its pipe (malloc'd) */
	size_t msg_len;
	/*
	 * A crash or a hang: "crash|asan-heap-use-after-free|mmt_mempool_free",
	 * "crash|SIGSEGV|cache_alloc", "hang|timeout|rcu_barrier".  @kind and
	 * @where are its last two fields: where = the first frame in the
	 * source tree of the report's stack, else the operation running.
	 */
	char signature[224];
	char kind[64];
	char where[128];
	char op[160]; /* "operation 12 (kfree)" when the child could say */
	char summary[320]; /* one line for people: the report's first */
};

/*
 * Run @fn(@arg, @fd) in a child process, @fd the write end of a pipe the
 * parent reads into @c->msg; the child exits when @fn returns.  The child
 * gets handlers that name the operation running (and print a stack) on a
 * fatal signal, a sanitizer's death and the parent's timeout signal.
 * Returns @c->end; @c is filled either way (cli_child_free() after).
 */
enum cli_child_end cli_isolate_run(const struct cli_isolate *iso,
				   void (*fn)(void *arg, int fd), void *arg,
				   struct cli_child *c);
void cli_child_free(struct cli_child *c);
/* The contents of the file at @from onto @to (a child's captured output). */
void cli_echo_file(const char *from, FILE *to);
/* All of @buf to @fd (EINTR retried); false on an error. */
bool cli_write_all(int fd, const void *buf, size_t len);

/*
 * The commands that run inputs in this process: say what runs (printf
 * format, e.g. "program X, run 3 (pct seed 3, depth 2)"), so that a fatal
 * signal or a sanitizer's report names it with the operation running.
 * cli_crash_context_install() once, then cli_crash_context() per run
 * (NULL: nothing running).
 */
void cli_crash_context_install(const char *cmd);
void cli_crash_context(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * The test hook (README.md, MMT_TEST_CRASH_AT_OP): with the variable
 * set, @o's operation log is replaced by one that crashes or hangs the
 * process when a named operation completes.  Does nothing without it; the
 * log @o had still gets every line.  False (with the reason on stderr)
 * when the variable does not parse.
 */
bool cli_test_hook(struct mmt_exec_opts *o);

#endif /* MMT_TOOLS_ISOLATE_H */
