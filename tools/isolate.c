/* SPDX-License-Identifier: MIT */
/*
 * tools/isolate.c - one input in a child process, so that no input can end
 * the command that runs it (fuzz and campaign replaying what the engine
 * saved, replay of several inputs).
 *
 * The child (fork, no exec: it runs the caller's function on the parent's
 * state) writes its results through a pipe, its stdout and stderr into two
 * files.  The parent reads the pipe while it waits (a child that writes
 * more than a pipe holds must not block), with a wall-clock limit: at the
 * limit it sends SIGTERM, whose handler in the child names the operation
 * running and prints a stack; 5 s later SIGKILL.  Then the child's end is
 * classified:
 *
 *   done    exit 0 after the function returned: its messages stand
 *   hang    killed at the limit: "hang|timeout|OP", OP the operation the
 *           machine ran (mmt_machine_op_now()), the stable part of a
 *           livelock (a frame inside it changes from run to run)
 *   crash   anything else (or stopped at the limit while its crash
 *           handler still reported), from the report in its stderr:
 *           "crash|asan-KIND|FRAME" (ERROR: AddressSanitizer: KIND ...),
 *           "crash|ubsan|FRAME" (runtime error: ...), "crash|SIGSEGV|FRAME"
 *           (a signal), "crash|exit-N|FRAME" (an exit without a report)
 *
 * FRAME is the first frame of the report's stack in the source tree
 * (MMT_SOURCE_DIR: the model, the interpreter, the tools), leaving out
 * this file's handlers: the code that did it, not the allocator function
 * the sanitizer intercepted.  ASan and UBSan symbolize their stacks; in a
 * build without them (or with TSan, whose stack printer allocates: a
 * report of its own inside a handler) the handlers print each frame as
 * "mmtorture-frame: OBJECT+0xOFFSET" and the parent asks addr2line
 * (binutils) for the function and file.  With no frame in the tree, the
 * operation running stands in; with nothing at all, "?".
 *
 * The handlers run in a dying process: they format with snprintf into a
 * buffer of their stack and write(2) it (not strictly async-signal-safe,
 * but the alternative is saying nothing; the parent's SIGKILL bounds a
 * handler that deadlocks).  On an alternate stack, so a stack overflow is
 * reported too.  In the sanitizer builds the sanitizer keeps SIGSEGV,
 * SIGBUS and SIGFPE (its report is better) and its death callback names
 * the operation.
 *
 * The same handlers, without the fork, give the commands that run in this
 * process (pct; replay of one file, so that gdb works) a last line that
 * names what crashed: cli_crash_context().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "isolate.h"
#include "mmt/check.h"
#include "mmt/machine.h"

#ifndef MMT_SOURCE_DIR
#define MMT_SOURCE_DIR "."
#endif

#define KILL_GRACE_MS 5000
#define MAX_FRAMES 48

/* ---- in the child (or the in-process command): the handlers ---- */

static const char *crash_cmd = CLI_PROG;
static char crash_what[512]; /* cli_crash_context() */
static char alt_stack[65536];
static volatile sig_atomic_t in_handler;

/* Sanitizer runtimes' hooks, when linked (weak: absent in a plain build). */
void __sanitizer_set_death_callback(void (*callback)(void))
	__attribute__((weak));
void __sanitizer_print_stack_trace(void) __attribute__((weak));

static void isolate_sig_say(const char *s)
{
	cli_write_all(2, s, strlen(s));
}

/* "during operation 12 (kfree)" of the machine this thread runs, or "". */
static void isolate_sig_op_now(char *buf, size_t len)
{
	struct mmt_machine *m = mmt_current_machine();
	const char *name = NULL;
	uint64_t i;

	buf[0] = '\0';
	if (!m)
		return;
	i = mmt_machine_op_now(m, &name);
	snprintf(buf, len, " during operation %llu (%s)", (unsigned long long)i,
		 name ? name : "?");
}

/* Each frame of this thread as "mmtorture-frame: OBJECT+0xOFFSET". */
static void isolate_sig_print_frames(void)
{
	void *pc[MAX_FRAMES];
	int n = backtrace(pc, MAX_FRAMES), i;

	for (i = 0; i < n; i++) {
		char line[PATH_MAX + 64];
		Dl_info info;

		/* A return address: the call is the byte before it. */
		if (!dladdr((char *)pc[i] - 1, &info) || !info.dli_fname)
			continue;
		snprintf(line, sizeof(line), "mmtorture-frame: %s+0x%lx\n",
			 info.dli_fname,
			 (unsigned long)((uintptr_t)pc[i] - 1 -
					 (uintptr_t)info.dli_fbase));
		isolate_sig_say(line);
	}
}

/*
 * ASan's and UBSan's stack printer symbolizes; TSan's allocates, which it
 * reports as a signal-unsafe call inside a handler: there, and without a
 * sanitizer, the raw frames (the parent symbolizes them).
 */
static void isolate_sig_print_stack(void)
{
	if (__sanitizer_print_stack_trace && !MMT_SANITIZE_TSAN)
		__sanitizer_print_stack_trace();
	else
		isolate_sig_print_frames();
}

static void isolate_sig_context_line(const char *what)
{
	char line[1024], op[200];

	isolate_sig_op_now(op, sizeof(op));
	snprintf(line, sizeof(line), "%s: %s%s%s%s\n", crash_cmd, what,
		 crash_what[0] ? " while running " : "", crash_what, op);
	isolate_sig_say(line);
}

static void isolate_sig_fatal(int sig)
{
	char what[64];

	if (!in_handler++) {
		snprintf(what, sizeof(what), "fatal signal SIG%s",
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		isolate_sig_context_line(what);
		isolate_sig_print_stack();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void isolate_sig_timeout(int sig)
{
	(void)sig;
	/*
	 * A crash's handler already runs (a sanitizer's symbolizer can take
	 * seconds): let it finish its report; the parent's SIGKILL bounds it.
	 */
	if (in_handler++)
		return;
	isolate_sig_context_line("timeout: stopped at the time limit");
	isolate_sig_print_stack();
	_exit(124);
}

static void isolate_sig_death(void)
{
	if (!in_handler++) {
		isolate_sig_context_line(
			"died of the sanitizer's report above");
		/* UBSan prints no stack by default: the frame to name. */
		isolate_sig_print_stack();
	}
}

/* A child that calls exit() (the model's code, a library's). */
static void isolate_sig_exit(void)
{
	if (!in_handler++)
		isolate_sig_context_line("exit() called");
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_handlers(bool timeout)
{
	static const int fatal[] = { SIGABRT, SIGILL, SIGTRAP };
	static const int sanitizer_kept[] = { SIGSEGV, SIGBUS, SIGFPE };
	stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof(alt_stack) };
	void *warm[1];
	size_t i;

	sigaltstack(&ss, NULL);
	/* The first backtrace() loads libgcc: not in a handler. */
	backtrace(warm, 1);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		handle(fatal[i], isolate_sig_fatal);
	if (!__sanitizer_set_death_callback || !strcmp(cli_sanitizer(), "none"))
		for (i = 0;
		     i < sizeof(sanitizer_kept) / sizeof(sanitizer_kept[0]);
		     i++)
			handle(sanitizer_kept[i], isolate_sig_fatal);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(isolate_sig_death);
	if (timeout) {
		/* In a child, which ends by _exit(): only a stray exit(). */
		handle(SIGTERM, isolate_sig_timeout);
		atexit(isolate_sig_exit);
	}
}

void cli_crash_context_install(const char *cmd)
{
	crash_cmd = cmd;
	install_handlers(false);
}

void cli_crash_context(const char *fmt, ...)
{
	va_list ap;

	if (!fmt) {
		crash_what[0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(crash_what, sizeof(crash_what), fmt, ap);
	va_end(ap);
}

bool cli_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* ---- in the parent: run, wait, classify ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(struct cli_child *c, const char *buf, size_t n)
{
	char *m = realloc(c->msg, c->msg_len + n + 1);

	if (!m)
		return; /* the record is cut: the caller sees no end mark */
	memcpy(m + c->msg_len, buf, n);
	c->msg = m;
	c->msg_len += n;
	m[c->msg_len] = '\0';
}

static int open_capture(const char *path)
{
	return path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			   0644) :
		      -1;
}

/* The path is inside the source tree (and not this file's handlers). */
static bool in_tree(const char *file, const char *func)
{
	size_t n = strlen(MMT_SOURCE_DIR);

	if (func && !strncmp(func, "isolate_sig", 11))
		return false;
	return file && !strncmp(file, MMT_SOURCE_DIR, n) && file[n] == '/';
}

/* "    #3 0x55d1 in mmt_mempool_free /src/alloc/mempool.c:120:5" */
static bool san_frame(const char *line, char *func, size_t flen, char *file,
		      size_t filelen)
{
	const char *p = line, *in;
	int k;

	while (*p == ' ')
		p++;
	if (*p != '#' || !(in = strstr(p, " in ")))
		return false;
	in += 4;
	k = (int)strcspn(in, " \n");
	snprintf(func, flen, "%.*s", k, in);
	in += k;
	while (*in == ' ')
		in++;
	snprintf(file, filelen, "%.*s", (int)strcspn(in, ":\n"), in);
	return true;
}

/*
 * The functions and files of the "mmtorture-frame:" lines of @log (those
 * of the executable: the model is linked in), by addr2line: appended to
 * @log for people, the first in the tree into @where.
 */
static bool resolve_frames(const char *log, char *where, size_t len)
{
	char obj[PATH_MAX] = "", line[PATH_MAX + 64], cmd[PATH_MAX * 2];
	char *addrs = NULL;
	size_t alen = 0;
	FILE *f = fopen(log, "r"), *mem, *p, *out;
	bool found = false;
	int k = 0;

	if (!f)
		return false;
	mem = open_memstream(&addrs, &alen);
	while (mem && fgets(line, sizeof(line), f)) {
		char *plus;

		if (strncmp(line, "mmtorture-frame: ", 17))
			continue;
		plus = strrchr(line, '+');
		if (!plus)
			continue;
		*plus = '\0';
		if (!obj[0])
			snprintf(obj, sizeof(obj), "%.*s", (int)sizeof(obj) - 1,
				 line + 17);
		if (!strcmp(obj, line + 17))
			fprintf(mem, " %.*s", (int)strcspn(plus + 1, "\n"),
				plus + 1);
	}
	fclose(f);
	if (mem)
		fclose(mem);
	/* The child's argv[0] may be a bare name: it is our executable. */
	if (obj[0] && (!strchr(obj, '/') || access(obj, R_OK)))
		snprintf(obj, sizeof(obj), "/proc/self/exe");
	if (!addrs || !alen || strchr(obj, '\'') ||
	    snprintf(cmd, sizeof(cmd), "addr2line -f -e '%s'%s 2>/dev/null",
		     obj, addrs) >= (int)sizeof(cmd)) {
		free(addrs);
		return false;
	}
	free(addrs);
	p = popen(cmd, "r");
	out = fopen(log, "a");
	if (out)
		fprintf(out, "the frames in %s (addr2line):\n", obj);
	while (p && fgets(line, sizeof(line), p)) {
		char file[PATH_MAX];

		line[strcspn(line, "\n")] = '\0';
		if (!fgets(file, sizeof(file), p))
			break;
		file[strcspn(file, "\n")] = '\0';
		if (out)
			fprintf(out, "    #%d %s %s\n", k++, line, file);
		file[strcspn(file, ":")] = '\0';
		if (!found && in_tree(file, line)) {
			snprintf(where, len, "%.*s", (int)len - 1, line);
			found = true;
		}
	}
	if (p)
		pclose(p);
	if (out)
		fclose(out);
	return found;
}

/* Kind, frame, operation and summary from the child's stderr at @log. */
static void classify(struct cli_child *c, const char *log)
{
	FILE *f = log ? fopen(log, "r") : NULL;
	char line[4096], func[128], file[PATH_MAX], fatal[32] = "";
	bool reported = false, framed = false, handled = false;
	const char *p;

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!reported && (p = strstr(line, "ERROR: ")) &&
		    (p = strstr(p, "Sanitizer: "))) {
			/* "ERROR: AddressSanitizer: heap-use-after-free on ..." */
			const char *san = strstr(line, "ERROR: ") + 7;
			size_t k, n = 0;
			char prefix[8];

			snprintf(prefix, sizeof(prefix), "%.1s%s",
				 san[0] == 'A' ? "a" :
				 san[0] == 'L' ? "l" :
				 san[0] == 'T' ? "t" :
				 san[0] == 'M' ? "m" :
						 "",
				 "san");
			p += 11;
			k = strcspn(p, "(");
			if (strstr(p, " on ") &&
			    (size_t)(strstr(p, " on ") - p) < k)
				k = (size_t)(strstr(p, " on ") - p);
			snprintf(c->kind, sizeof(c->kind), "%s-", prefix);
			n = strlen(c->kind);
			for (; k && *p && n + 1 < sizeof(c->kind); p++, k--)
				c->kind[n++] = *p == ' ' ? '-' : *p;
			while (n && c->kind[n - 1] == '-')
				n--;
			c->kind[n] = '\0';
			snprintf(c->summary, sizeof(c->summary), "%.300s",
				 strstr(line, "ERROR: "));
			reported = true;
		} else if (!reported && strstr(line, ": runtime error: ")) {
			snprintf(c->kind, sizeof(c->kind), "ubsan");
			snprintf(c->summary, sizeof(c->summary), "%.300s",
				 line);
			reported = true;
		} else if (!framed &&
			   san_frame(line, func, sizeof(func), file,
				     sizeof(file)) &&
			   in_tree(file, func)) {
			snprintf(c->where, sizeof(c->where), "%s", func);
			framed = true;
		} else if (!handled && !strncmp(line, CLI_PROG, 9) &&
			   strstr(line, ": ")) {
			/* The handlers' line: "mmtorture: WHAT while ..." */
			handled = true;
			if ((p = strstr(line, ": fatal signal ")))
				snprintf(fatal, sizeof(fatal), "%.*s",
					 (int)strcspn(p + 15, " \n"), p + 15);
			else if (strstr(line, ": exit() called"))
				snprintf(fatal, sizeof(fatal), "exit");
			if ((p = strstr(line, " during operation ")))
				snprintf(c->op, sizeof(c->op), "%s", p + 8);
			if (!reported)
				snprintf(c->summary, sizeof(c->summary),
					 "%.300s", line);
		}
	}
	if (f)
		fclose(f);
	/* Stopped at the limit while reporting a crash: a crash (slow). */
	if (c->end == CLI_CHILD_HANG && (reported || fatal[0]))
		c->end = CLI_CHILD_CRASH;
	if (!reported && c->end == CLI_CHILD_CRASH) {
		if (fatal[0] && strcmp(fatal, "exit"))
			snprintf(c->kind, sizeof(c->kind), "%s", fatal);
		else if (WIFSIGNALED(c->status))
			snprintf(c->kind, sizeof(c->kind), "SIG%s",
				 sigabbrev_np(WTERMSIG(c->status)) ?
					 sigabbrev_np(WTERMSIG(c->status)) :
					 "?");
		else
			snprintf(c->kind, sizeof(c->kind), "exit-%d",
				 WEXITSTATUS(c->status));
	}
	if (!framed && c->end == CLI_CHILD_CRASH && log)
		framed = resolve_frames(log, c->where, sizeof(c->where));
	/* A hang: the operation (a frame in a livelock moves). */
	if (c->end == CLI_CHILD_HANG || !framed) {
		const char *open = strchr(c->op, '(');

		if (open)
			snprintf(c->where, sizeof(c->where), "%.*s",
				 (int)strcspn(open + 1, ")"), open + 1);
		else
			snprintf(c->where, sizeof(c->where), "?");
	}
	if (c->end == CLI_CHILD_HANG)
		snprintf(c->kind, sizeof(c->kind), "timeout");
	snprintf(c->signature, sizeof(c->signature), "%s|%s|%s",
		 c->end == CLI_CHILD_HANG ? "hang" : "crash", c->kind,
		 c->where);
	if (!c->summary[0])
		snprintf(c->summary, sizeof(c->summary), "%s",
			 c->end == CLI_CHILD_HANG ?
				 "no end within the limit" :
			 WIFSIGNALED(c->status) ?
				 strsignal(WTERMSIG(c->status)) :
				 "exited without finishing");
}

enum cli_child_end cli_isolate_run(const struct cli_isolate *iso,
				   void (*fn)(void *arg, int fd), void *arg,
				   struct cli_child *c)
{
	int pfd[2], out_fd, err_fd, status = 0;
	double t0 = now(), deadline;
	bool eof = false, reaped = false, killed = false, timed_out = false;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->end = CLI_CHILD_NOT_RUN;
	out_fd = open_capture(iso->out_path);
	err_fd = open_capture(iso->err_path);
	if ((iso->out_path && out_fd < 0) || (iso->err_path && err_fd < 0)) {
		snprintf(c->summary, sizeof(c->summary), "%s: %s",
			 out_fd < 0 ? iso->out_path : iso->err_path,
			 strerror(errno));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(c->summary, sizeof(c->summary), "pipe: %s",
			 strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(c->summary, sizeof(c->summary), "fork: %s",
			 strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		/* Line by line: a crash loses no more than a line. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		signal(SIGPIPE, SIG_IGN);
		install_handlers(true);
		fn(arg, pfd[1]);
		fflush(NULL);
		_exit(0);
	}
	close(pfd[1]);
	deadline = iso->timeout ? t0 + (double)iso->timeout : 0;
	while (!(eof && reaped)) {
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		int ms = 100;

		if (!eof && poll(&pf, 1, ms) > 0) {
			char buf[65536];
			ssize_t n = read(pfd[0], buf, sizeof(buf));

			if (n > 0) {
				append(c, buf, (size_t)n);
				if (iso->per_message && deadline && !timed_out)
					deadline = now() + (double)iso->timeout;
			} else if (n == 0 || errno != EINTR)
				eof = true;
		} else if (eof) {
			/* The pipe is closed but the child lives on. */
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
			reaped = true;
		if (reaped && !eof)
			continue; /* drain what it left in the pipe */
		if (!reaped && deadline && now() > deadline) {
			if (!timed_out) {
				timed_out = true;
				kill(pid, SIGTERM);
				deadline = now() + KILL_GRACE_MS / 1000.0;
			} else if (!killed) {
				killed = true;
				kill(pid, SIGKILL);
			}
		}
	}
	close(pfd[0]);
	c->status = status;
	c->seconds = now() - t0;
	if (timed_out)
		c->end = CLI_CHILD_HANG;
	else if (WIFEXITED(status) && !WEXITSTATUS(status))
		c->end = CLI_CHILD_DONE;
	else
		c->end = CLI_CHILD_CRASH;
	if (c->end != CLI_CHILD_DONE)
		classify(c, iso->err_path);
out:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return c->end;
}

void cli_echo_file(const char *from, FILE *to)
{
	char buf[8192];
	FILE *f = fopen(from, "r");
	size_t n;

	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, to);
	if (f)
		fclose(f);
	fflush(to);
}

void cli_child_free(struct cli_child *c)
{
	free(c->msg);
	c->msg = NULL;
	c->msg_len = 0;
}

/* ---- MMT_TEST_CRASH_AT_OP ---- */

enum hook_how {
	HOOK_SEGV,
	HOOK_ABORT,
	HOOK_HANG,
	HOOK_UAF,
	HOOK_EXIT
};

struct hook {
	long index; /* -1: by name */
	char name[64];
	enum hook_how how;
};

static struct hook hooks[8];
static size_t nr_hooks;
static FILE *hook_chain; /* the log the options had */
static char hook_line[512];
static size_t hook_len;

static char *volatile hook_block;

/* Out of line and not inlined: the frame a crash report names. */
static __attribute__((noinline)) void mmt_test_hook_fire(enum hook_how how)
{
	volatile int *volatile bad = NULL;

	switch (how) {
	case HOOK_SEGV:
		*bad = 1;
		break;
	case HOOK_ABORT:
		abort();
	case HOOK_HANG:
		for (;;)
			sleep(1);
	case HOOK_UAF:
		/* Through a volatile: the compiler cannot see the free. */
		hook_block = malloc(16);
		free(hook_block);
		hook_block[3] = 1; /* a sanitizer's heap-use-after-free */
		break;
	case HOOK_EXIT:
		exit(3);
	}
}

/* One line of the operation log: "   12  cpu0  o3 = kmalloc ..." */
static void hook_check(const char *line)
{
	char name[64] = "", first[64] = "", second[64] = "";
	unsigned long idx;
	int cpu, n = 0;
	size_t i;

	if (sscanf(line, " %lu cpu%d %n", &idx, &cpu, &n) < 2 || !n)
		return;
	if (sscanf(line + n, "%63s %63s", first, second) < 1)
		return;
	/* "o3 = kmalloc ...": the name follows the result's handle. */
	if (!strcmp(second, "="))
		sscanf(line + n, "%*s = %63s", name);
	else
		snprintf(name, sizeof(name), "%s", first);
	for (i = 0; i < nr_hooks; i++)
		if (hooks[i].index >= 0 ? (unsigned long)hooks[i].index == idx :
					  !strcmp(hooks[i].name, name))
			mmt_test_hook_fire(hooks[i].how);
}

static ssize_t hook_write(void *cookie, const char *buf, size_t size)
{
	size_t i;

	(void)cookie;
	if (hook_chain)
		fwrite(buf, 1, size, hook_chain);
	for (i = 0; i < size; i++) {
		if (buf[i] != '\n') {
			if (hook_len + 1 < sizeof(hook_line))
				hook_line[hook_len++] = buf[i];
			continue;
		}
		hook_line[hook_len] = '\0';
		hook_len = 0;
		hook_check(hook_line);
	}
	return (ssize_t)size;
}

static bool hook_parse(const char *env)
{
	static const char *const hows[] = { "segv", "abort", "hang", "uaf",
					    "exit" };
	const char *p = env;

	nr_hooks = 0;
	while (*p) {
		size_t n = strcspn(p, ","), k, h;
		char spec[96], *colon, *end;
		struct hook *hk;

		if (nr_hooks == sizeof(hooks) / sizeof(hooks[0]) ||
		    n >= sizeof(spec) || !n) {
			fprintf(stderr,
				"%s: MMT_TEST_CRASH_AT_OP='%s': %s at position %zu\n",
				CLI_PROG, env,
				!n ? "an empty item" :
				     "too many or too long items",
				(size_t)(p - env) + 1);
			return false;
		}
		snprintf(spec, sizeof(spec), "%.*s", (int)n, p);
		hk = &hooks[nr_hooks];
		hk->how = HOOK_SEGV;
		colon = strchr(spec, ':');
		if (colon) {
			*colon++ = '\0';
			for (h = 0; h < sizeof(hows) / sizeof(hows[0]); h++)
				if (!strcmp(colon, hows[h]))
					break;
			if (h == sizeof(hows) / sizeof(hows[0])) {
				fprintf(stderr,
					"%s: MMT_TEST_CRASH_AT_OP='%s': '%s' is not segv, abort, hang, uaf or exit\n",
					CLI_PROG, env, colon);
				return false;
			}
			hk->how = (enum hook_how)h;
		}
		k = strspn(spec, "0123456789");
		if (k && !spec[k]) {
			hk->index = strtol(spec, &end, 10);
			hk->name[0] = '\0';
		} else {
			hk->index = -1;
			snprintf(hk->name, sizeof(hk->name), "%.63s", spec);
		}
		nr_hooks++;
		p += n + (p[n] == ',');
	}
	return true;
}

bool cli_test_hook(struct mmt_exec_opts *o)
{
	static const cookie_io_functions_t io = { .write = hook_write };
	static FILE *log;
	static bool parsed, ok;
	const char *env = getenv("MMT_TEST_CRASH_AT_OP");

	if (!env || !*env)
		return true;
	if (!parsed) {
		parsed = true;
		ok = hook_parse(env);
		if (ok)
			log = fopencookie(NULL, "w", io);
		if (log)
			setvbuf(log, NULL, _IONBF, 0);
	}
	if (!ok || !log)
		return ok;
	if (o->log != log)
		hook_chain = o->log;
	o->log = log;
	return true;
}
