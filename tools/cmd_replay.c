/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_replay.c - `mmtorture replay FILE|DIR...`: run saved inputs
 * (text traces or binary fuzz inputs) once and print each finding with its
 * reproducer as a text trace.
 *
 * One file runs in this process (a debugger sees its crash; the crash
 * handler names the file and the operation).  Several inputs (or a
 * directory, --isolate, --timeout) run each in a child process
 * (tools/isolate.c): a crash, a sanitizer's report or a hang ends the
 * child only, is printed as CRASH or HANG with its signature and counted,
 * and the next input runs.  `fuzz` and `campaign` replay what the engine
 * saved this way, through cli_replay_one().
 *
 * A binary input is meaningful only with the operation set of the target
 * that produced it, so the target comes from --target, else from the path
 * (a component named after a target: corpora/slab/regress/x,
 * build/fuzz-out/slab-libfuzzer/crashes/crash-..), else "stack".  A text
 * trace names its operations and needs no target.  Bugs: the text header's,
 * unless --bug or MMT_BUGS says otherwise (the binary form carries none).
 *
 * Text or binary by mmt_trace_read()'s rule: a file meant as text (a
 * NAME.trace, or bytes that look like text) must parse; a fuzzer's file
 * (NAME.bin, crash-*, id:*, ...) decodes as its target did; other bytes
 * decode as binary, and the "ok" line says so.  In a directory only
 * inputs by name run (README.md is skipped and counted), and links to
 * directories are not followed (a link back up would loop forever); an
 * empty file runs as the empty program with a warning.
 *
 * Bad input never stops the run: an unreadable file or a text trace that
 * does not parse is reported with its file:line:column and counted, and
 * the next input runs.  Exit status: 0 all ran clean (or blocked), 1 a
 * finding or an input that could not be run, 2 wrong usage.
 *
 * --repeat N measures a finding's reliability: the input runs N times,
 * each on a fresh machine, and "K/N runs reproduce SIGNATURE" says how
 * many ended the same way (the same signature; for a clean or blocked
 * first run, the same end) and how many executed the same schedule (a
 * concurrent program's decisions).  The promise of the deterministic
 * scheduler is N/N for every input; the exit status is the first run's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "replay.h"
#include "tsan_finding.h"

enum {
	OPT_TARGET = 256,
	OPT_BUG,
	OPT_ORACLES,
	OPT_QUIET,
	OPT_REPEAT,
	OPT_ISOLATE,
	OPT_IN_PROCESS,
	OPT_TIMEOUT,
	OPT_STRICT_REFERENCE,
	OPT_SLAB,
	OPT_HELP
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s replay [options] FILE|DIR...\n"
		"\n"
		"Run each input once (directories recursively, in name order) and print\n"
		"every finding with its reproducer as a text trace.  A file meant as text\n"
		"(NAME.trace, or bytes that look like text) must parse, else FILE:LINE:COL\n"
		"says why; other bytes decode as a binary fuzz input.  In a directory only\n"
		"NAME.trace, NAME.bin and the fuzzers' files (crash-*, id:*, ...) run, and\n"
		"links to directories are not followed.\n"
		"\n"
		"Options:\n"
		"  --target T     decode binary inputs over target T's operations\n"
		"                 (default: a path component naming a target, else stack)\n"
		"  --bug ID       turn on an injectable bug (repeatable, or ID,ID); replaces\n"
		"                 the bugs of text headers (MMT_BUGS=ID,ID likewise)\n"
		"  --oracles N    oracle level 0..2 instead of the input's\n"
		"  --slab S       run on slab implementation S instead of the input's; 'all':\n"
		"                 run on every one and report where properties they must\n"
		"                 share diverge (a finding on one only; a NULL where another\n"
		"                 returned memory while every zone had room)\n"
		"  --strict-reference\n"
		"                 the reference oracles (watermark, pfmemalloc-marking)\n"
		"                 tolerate no model deviation whose fix is pending\n"
		"  -v             print every operation as it runs\n"
		"  -q             print findings and the summary only\n"
		"  --repeat N     run each input N times and print how many runs reproduce\n"
		"                 the first one's result (its signature) and schedule\n"
		"  --isolate      run each input in a child process (the default for more\n"
		"                 than one input: several files, or a directory): a crash,\n"
		"                 a sanitizer's report or a hang is printed as CRASH or HANG\n"
		"                 with a signature (crash|asan-heap-use-after-free|FUNC,\n"
		"                 crash|SIGSEGV|FUNC, hang|timeout|OPERATION) and the next\n"
		"                 input runs\n"
		"  --in-process   run every input in this process (the default for one\n"
		"                 file, so that a debugger sees the crash)\n"
		"  --timeout S    wall-clock seconds an input may take in its child process\n"
		"                 (default %d; 0: no limit); implies --isolate\n"
		"  --help         this text\n"
		"\n"
		"Exit status: 0 no finding, 1 a finding, a crash, a hang or an input that\n"
		"could not be run, 2 wrong usage.\n",
		CLI_PROG, CLI_ISOLATE_DEFAULT_TIMEOUT);
}

void cli_replay_init(struct cli_replay *r)
{
	memset(r, 0, sizeof(*r));
	mmt_exec_opts_default(&r->opts);
	r->out = stdout;
}

/* The target a binary input at @path belongs to: a path component. */
static const char *target_from_path(const char *path)
{
	const char *name, *best = NULL;
	size_t i, len;

	for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++) {
		const char *p = path;

		len = strlen(name);
		while ((p = strstr(p, name))) {
			bool start = p == path || p[-1] == '/';
			/* "slab/" or "slab-libfuzzer/" */
			bool end = p[len] == '/' || p[len] == '-';

			if (start && end)
				best = name;
			p += len;
		}
	}
	return best;
}

static bool read_file(const char *path, uint8_t **buf, size_t *len, char *err,
		      size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n;

	*buf = NULL;
	*len = 0;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return false;
	}
	*buf = malloc(cap);
	while (*buf && (n = fread(*buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len == cap) {
			uint8_t *nb = realloc(*buf, cap * 2);

			if (!nb) {
				free(*buf);
				*buf = NULL;
				break;
			}
			*buf = nb;
			cap *= 2;
		}
	}
	if (!*buf || ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 *buf ? strerror(errno) : "out of memory");
		if (f != stdin)
			fclose(f);
		free(*buf);
		*buf = NULL;
		return false;
	}
	if (f != stdin)
		fclose(f);
	return true;
}

bool cli_replay_load(const struct cli_replay *r, const char *path,
		     struct mmt_program *p, enum mmt_trace_form *form,
		     size_t *size, char *err, size_t errlen)
{
	const char *t = r->target ? r->target : target_from_path(path);
	mmt_opset_t set = 0;
	uint8_t *buf;
	size_t len;
	bool ok;

	*form = MMT_TRACE_FORM_BINARY;
	if (size)
		*size = 0;
	if (!read_file(path, &buf, &len, err, errlen))
		return false;
	if (size)
		*size = len;
	if (!t || !mmt_trace_target_ops(t, &set))
		set = 0; /* stack: everything */
	/* Binary headers: the run's bugs bring their world in reach. */
	mmt_trace_bin_set_bugs(r->bugs_given ? r->opts.bugs : 0);
	/* One rule for text and binary (mmt/trace.h, mmt_trace_read()). */
	ok = mmt_trace_read(strcmp(path, "-") ? path : "<stdin>", buf, len, set,
			    p, form, err, errlen);
	free(buf);
	return ok;
}

/* The target whose operations a binary input at @path decodes over. */
const char *cli_replay_target(const struct cli_replay *r, const char *path)
{
	const char *t = r->target ? r->target : target_from_path(path);

	return t ? t : "stack";
}

/* The same schedule: a concurrent run's decisions, element by element. */
static bool same_schedule(const struct mmt_finding *a,
			  const struct mmt_finding *b)
{
	return a->nr_decisions == b->nr_decisions &&
	       (!a->nr_decisions ||
		!memcmp(a->decisions, b->decisions,
			a->nr_decisions * sizeof(a->decisions[0])));
}

/*
 * Runs 2..r->repeat of @p (run 1 gave @res and @first): how many end as
 * run 1 did, and how many executed its schedule.
 */
static void repeat_runs(struct cli_replay *r, const char *path,
			const struct mmt_program *p,
			const struct mmt_exec_opts *opts,
			enum mmt_exec_result res,
			const struct mmt_finding *first)
{
	unsigned long i, same = 1, same_sched = 1;
	const char *what = res == MMT_EXEC_FINDING ? first->signature :
			   res == MMT_EXEC_BLOCKED ? "blocked" :
						     "ok";

	for (i = 1; i < r->repeat; i++) {
		struct mmt_finding f;
		enum mmt_exec_result again;

		again = mmt_race_execute(p, opts, &f);
		if (again == res && (res != MMT_EXEC_FINDING ||
				     !strcmp(f.signature, first->signature)))
			same++;
		if (same_schedule(&f, first))
			same_sched++;
		mmt_finding_free(&f);
	}
	if (same != r->repeat)
		r->unreliable++;
	fprintf(r->out, "%s: %lu/%lu runs reproduce %s", path, same, r->repeat,
		what);
	if (p->sched.source != MMT_SCHED_SEQ || first->nr_decisions)
		fprintf(r->out, "; %lu/%lu the same schedule (%zu decisions)",
			same_sched, r->repeat, first->nr_decisions);
	fputc('\n', r->out);
}

/*
 * A differential finding for the fuzz command's deduplication: the
 * implementation's own finding when it is one, else (a NULL with room)
 * oracle "slab-divergence", signature slab-divergence|slab|null-with-room.
 */
static void diff_on_finding(struct cli_replay *r, const char *path,
			    struct mmt_program *p,
			    const struct mmt_slab_diff *d)
{
	struct mmt_finding sf;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int s;

	memset(&sf, 0, sizeof(sf));
	for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
		if (d->res[s] == MMT_EXEC_FINDING) {
			sf = d->f[s];
			sf.dump = NULL;
			sf.decisions = NULL;
			sf.nr_decisions = 0;
			break;
		}
	if (s == MMT_NR_SLAB_IMPLS) {
		snprintf(sf.oracle, sizeof(sf.oracle), "slab-divergence");
		snprintf(sf.layer, sizeof(sf.layer), "slab");
		snprintf(sf.signature, sizeof(sf.signature),
			 "slab-divergence|slab|null-with-room");
		snprintf(sf.message, sizeof(sf.message), "%s",
			 d->report ? d->report : "");
	}
	mem = open_memstream(&text, &len);
	if (mem) {
		mmt_trace_print(p, mem);
		fclose(mem);
	}
	r->on_finding(r, path, text ? text : "", &sf);
	free(text);
}

/*
 * --slab all: @p once per slab implementation, compared
 * (mmt_exec_slab_diff(): what a divergence is and what is tolerated).
 */
static enum mmt_exec_result replay_diff(struct cli_replay *r,
					const char *path,
					struct mmt_program *p,
					const struct mmt_exec_opts *o,
					const char *how)
{
	struct mmt_slab_diff d;
	int s;

	/* The tsan build: a data race between fibers is a finding too. */
	mmt_exec_slab_diff(p, o, mmt_race_execute, &d);
	r->runs++; /* one input */
	switch (d.result) {
	case MMT_EXEC_SETUP_FAILED:
		r->errors++;
		fprintf(stderr,
			"%s: the machine of its header could not be built\n",
			path);
		break;
	case MMT_EXEC_FINDING:
		r->findings++;
		if (d.divergences)
			fprintf(r->out,
				"%s: DIVERGENCE between the slab implementations (%lu)\n%s",
				path, d.divergences, d.report ? d.report : "");
		else
			fprintf(r->out,
				"%s: FINDING on every slab implementation (they agree)\n",
				path);
		for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
			if (d.res[s] == MMT_EXEC_FINDING) {
				fprintf(r->out, "  slab=%s:\n",
					mmt_trace_slab_impl_name(
						(enum mmt_slab_impl)s));
				mmt_finding_print(&d.f[s], r->out);
			}
		fprintf(r->out, "---- program (mmtorture trace) ----\n");
		mmt_trace_print(p, r->out);
		fprintf(r->out, "---- end ----\n");
		if (r->on_finding)
			diff_on_finding(r, path, p, &d);
		break;
	case MMT_EXEC_BLOCKED:
		r->blocked++;
		if (!r->quiet)
			fprintf(r->out,
				"%s: blocked on %d slab implementation(s), ok on the others: tolerated (memory tight)\n",
				path, d.nr_blocked);
		break;
	default:
		r->ok++;
		if (!r->quiet)
			fprintf(r->out,
				"%s: the %d slab implementations agree: ok (%zu operations%s)\n",
				path, d.nr_run, p->nr_ops, how);
		break;
	}
	mmt_slab_diff_free(&d);
	return d.result;
}

/*
 * The canaries of the bugs the run had on (Magma's reached and
 * triggered): whether the program went where the bug is and made it do
 * harm, found or not - what a person checks when a bug program does not
 * find its bug.
 */
static void print_canaries(struct cli_replay *r, const char *path,
			   uint64_t bugs, const struct mmt_bug_canary_counts *c)
{
	const struct mmt_bug_info *info;
	size_t nr, i;

	info = mmt_bugs(&nr);
	for (i = 0; i < nr; i++)
		if (bugs & (1ull << info[i].bug))
			fprintf(r->out,
				"%s: canary %s: reached %" PRIu64
				", triggered %" PRIu64 "\n",
				path, info[i].id, c->reached[info[i].bug],
				c->triggered[info[i].bug]);
}

/* In this process: the input's result. */
static enum mmt_exec_result replay_here(struct cli_replay *r, const char *path)
{
	struct mmt_bug_canary_counts canaries = { { 0 }, { 0 } };
	struct mmt_exec_opts opts = r->opts;
	struct mmt_program p;
	struct mmt_finding f;
	enum mmt_exec_result res;
	enum mmt_trace_form form;
	char err[512], how[96] = "";
	size_t len;
	bool text;

	mmt_program_init(&p);
	if (!cli_replay_load(r, path, &p, &form, &len, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		r->errors++;
		mmt_program_free(&p);
		return MMT_EXEC_SETUP_FAILED;
	}
	text = form == MMT_TRACE_FORM_TEXT;
	if (!len)
		fprintf(stderr,
			"%s: warning: empty file (0 bytes): it runs as the empty program\n",
			path);
	if (!text)
		snprintf(how, sizeof(how),
			 ", decoded as binary over %s's operations",
			 cli_replay_target(r, path));
	/* Text traces keep their own bugs unless the run names some. */
	if (text && !r->bugs_given)
		opts.override_bugs = false;
	if (!cli_test_hook(&opts)) {
		r->errors++;
		mmt_program_free(&p);
		return MMT_EXEC_SETUP_FAILED;
	}
	cli_crash_context("%s", path);
	if (r->slab_all) {
		if (opts.override_bugs)
			p.hdr.bugs = opts.bugs;
		res = replay_diff(r, path, &p, &opts, how);
		cli_crash_context(NULL);
		mmt_program_free(&p);
		return res;
	}
	/* The tsan build: a data race between fibers is a finding too. */
	opts.canaries = &canaries;
	res = mmt_race_execute(&p, &opts, &f);
	r->runs++;
	switch (res) {
	case MMT_EXEC_OK:
		r->ok++;
		if (!r->quiet)
			fprintf(r->out, "%s: ok (%zu operations%s)\n", path,
				p.nr_ops, how);
		break;
	case MMT_EXEC_BLOCKED:
		r->blocked++;
		if (!r->quiet)
			fprintf(r->out,
				"%s: blocked at operation %zu: %s (not a finding)\n",
				path, f.op_index,
				f.message[0] ? f.message :
					       "the program waits for itself");
		break;
	case MMT_EXEC_FINDING: {
		char *repro = NULL;
		size_t rlen = 0;
		FILE *mem;

		r->findings++;
		fprintf(r->out, "%s: FINDING\n", path);
		mmt_finding_print(&f, r->out);
		fprintf(r->out, "---- reproducer (mmtorture trace) ----\n");
		if (opts.override_bugs)
			p.hdr.bugs = opts.bugs;
		/* The executed schedule makes it self-contained. */
		mmt_exec_reproducer(&p, &opts, &f);
		mem = open_memstream(&repro, &rlen);
		if (mem) {
			mmt_trace_print(&p, mem);
			fclose(mem);
		}
		if (repro)
			fputs(repro, r->out);
		fprintf(r->out, "---- end ----\n");
		if (r->on_finding)
			r->on_finding(r, path, repro ? repro : "", &f);
		free(repro);
		break;
	}
	default:
		r->errors++;
		fprintf(stderr,
			"%s: the machine of its header could not be built\n",
			path);
		break;
	}
	if (!r->quiet && res != MMT_EXEC_SETUP_FAILED)
		print_canaries(r, path,
			       opts.override_bugs ? opts.bugs : p.hdr.bugs,
			       &canaries);
	opts.canaries = NULL;
	if (r->repeat > 1 && res != MMT_EXEC_SETUP_FAILED)
		repeat_runs(r, path, &p, &opts, res, &f);
	cli_crash_context(NULL);
	mmt_finding_free(&f);
	mmt_program_free(&p);
	return res;
}

/*
 * What an isolated child sends: each finding (then its reproducer's text,
 * @text_len bytes) and, last, the counters and the result ('D').  A child
 * that sent no 'D' did not finish.
 */
struct iso_msg {
	uint32_t tag; /* 'F' a finding, 'D' done */
	int32_t res;
	unsigned long runs, ok, blocked, findings, errors, unreliable;
	struct mmt_finding f; /* 'F': its pointers are NULL */
	uint64_t text_len;
};

struct iso_arg {
	struct cli_replay *r;
	const char *path;
};

/* In the child: the finding goes to the parent's on_finding. */
static void send_finding(struct cli_replay *r, const char *path,
			 const char *reproducer, const struct mmt_finding *f)
{
	struct iso_msg m;

	(void)path;
	memset(&m, 0, sizeof(m));
	m.tag = 'F';
	m.f = *f;
	m.f.dump = NULL;
	m.f.decisions = NULL;
	m.f.nr_decisions = 0;
	m.text_len = strlen(reproducer);
	cli_write_all(r->child_fd, &m, sizeof(m));
	cli_write_all(r->child_fd, reproducer, m.text_len);
}

static void child_main(void *arg, int fd)
{
	struct iso_arg *a = arg;
	struct cli_replay *r = a->r;
	struct iso_msg m;

	r->child_fd = fd;
	r->on_finding = send_finding;
	r->capture_dir = NULL;
	memset(&m, 0, sizeof(m));
	m.res = (int32_t)replay_here(r, a->path);
	m.tag = 'D';
	m.runs = r->runs;
	m.ok = r->ok;
	m.blocked = r->blocked;
	m.findings = r->findings;
	m.errors = r->errors;
	m.unreliable = r->unreliable;
	fflush(NULL);
	cli_write_all(fd, &m, sizeof(m));
}

/* In a child process: a crash or a hang is a result, not our end. */
static enum mmt_exec_result replay_isolated(struct cli_replay *r,
					    const char *path)
{
	char out[PATH_MAX], err[PATH_MAX];
	struct cli_isolate iso = { r->timeout, out, err, false };
	struct iso_arg a = { r, path };
	enum mmt_exec_result res = MMT_EXEC_SETUP_FAILED;
	struct cli_child c;
	size_t off = 0;
	bool done = false;

	snprintf(out, sizeof(out), "%s/stdout", r->capture_dir);
	snprintf(err, sizeof(err), "%s/stderr", r->capture_dir);
	if (cli_isolate_run(&iso, child_main, &a, &c) == CLI_CHILD_NOT_RUN) {
		fprintf(stderr, "%s: could not run it in a child process: %s\n",
			path, c.summary);
		r->errors++;
		return MMT_EXEC_SETUP_FAILED;
	}
	if (r->echo)
		cli_echo_file(out, r->out);
	if (r->echo || c.end == CLI_CHILD_DONE)
		cli_echo_file(err, stderr);
	while (off + sizeof(struct iso_msg) <= c.msg_len) {
		struct iso_msg m;

		memcpy(&m, c.msg + off, sizeof(m));
		off += sizeof(m);
		if (m.tag == 'D') {
			r->runs = m.runs;
			r->ok = m.ok;
			r->blocked = m.blocked;
			r->findings = m.findings;
			r->errors = m.errors;
			r->unreliable = m.unreliable;
			res = (enum mmt_exec_result)m.res;
			done = true;
			continue;
		}
		if (m.text_len > c.msg_len - off)
			break; /* cut short */
		{
			char *text = strndup(c.msg + off, m.text_len);

			off += m.text_len;
			if (text && r->on_finding)
				r->on_finding(r, path, text, &m.f);
			free(text);
		}
	}
	if (c.end != CLI_CHILD_DONE || !done) {
		r->runs++;
		if (c.end == CLI_CHILD_HANG) {
			r->hangs++;
			fprintf(r->out,
				"%s: HANG: no end within %lu s%s%s: %s\n", path,
				r->timeout, c.op[0] ? ", at " : "", c.op,
				c.signature);
		} else {
			r->crashes++;
			fprintf(r->out, "%s: CRASH: %s\n  %s\n", path,
				c.signature, c.summary);
		}
		if (r->on_crash)
			r->on_crash(r, path, &c, err);
		res = MMT_EXEC_FINDING;
	}
	cli_child_free(&c);
	return res;
}

enum mmt_exec_result cli_replay_one(struct cli_replay *r, const char *path)
{
	return r->capture_dir ? replay_isolated(r, path) : replay_here(r, path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cli_dir_entries(const char *path, size_t *nr)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(path);

	*nr = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char *full;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&full, "%s/%s", path, de->d_name) < 0)
			break;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) *
							   sizeof(*nn));

			if (!nn) {
				free(full);
				break;
			}
			names = nn;
		}
		names[n++] = full;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*nr = n;
	return names ? names : calloc(1, sizeof(*names));
}

/* A directory, in name order; links to directories are not followed. */
static void replay_dir(struct cli_replay *r, const char *path)
{
	size_t n, i;
	char **names = cli_dir_entries(path, &n);

	if (!names) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		r->errors++;
		return;
	}
	for (i = 0; i < n; i++) {
		struct stat lst, st;
		const char *why = NULL;

		if (lstat(names[i], &lst) || stat(names[i], &st)) {
			fprintf(stderr, "%s: %s\n", names[i], strerror(errno));
			r->errors++;
		} else if (S_ISDIR(st.st_mode) && S_ISLNK(lst.st_mode)) {
			why = "a link to a directory (not followed: name it to replay it)";
		} else if (S_ISDIR(st.st_mode)) {
			replay_dir(r, names[i]);
		} else if (mmt_trace_name_kind(names[i]) ==
			   MMT_TRACE_NAME_OTHER) {
			why = "not an input by its name (in a directory: NAME.trace, NAME.bin and the fuzzers' names)";
		} else {
			cli_replay_one(r, names[i]);
		}
		if (why) {
			r->skipped++;
			if (!r->quiet)
				fprintf(r->out, "%s: skipped: %s\n", names[i],
					why);
		}
		free(names[i]);
	}
	free(names);
}

int cli_replay_path(struct cli_replay *r, const char *path)
{
	struct stat st;

	if (strcmp(path, "-") && stat(path, &st)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		r->errors++;
		return -1;
	}
	/* Named on the command line: a file's bytes decide (or its name). */
	if (!strcmp(path, "-") || !S_ISDIR(st.st_mode))
		cli_replay_one(r, path);
	else
		replay_dir(r, path);
	return 0;
}

/* Documentation kept beside the inputs: README*, *.md. */
static bool is_doc(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "README", 6) ||
	       (n > 3 && !strcmp(name + n - 3, ".md"));
}

unsigned long cli_corpus_check(const char *dir, unsigned long *nr_ok)
{
	struct dirent **ents;
	unsigned long bad = 0;
	int i, n = scandir(dir, &ents, NULL, alphasort);

	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *path = NULL;

		if (name[0] == '.' || is_doc(name)) {
			free(ents[i]);
			continue;
		}
		if (asprintf(&path, "%s/%s", dir, name) < 0) {
			bad++;
		} else if (mmt_trace_name_kind(path) != MMT_TRACE_NAME_TEXT) {
			fprintf(stderr,
				"%s: not a text trace: seeds/ and regress/ hold NAME.trace files "
				"(a binary input becomes one with '%s trace print FILE > NAME.trace')\n",
				path, CLI_PROG);
			bad++;
		} else {
			struct mmt_program p;
			char err[512];

			if (mmt_trace_load(path, &p, err, sizeof(err))) {
				if (nr_ok)
					(*nr_ok)++;
			} else {
				fprintf(stderr, "%s\n", err);
				bad++;
			}
			mmt_program_free(&p);
		}
		free(path);
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "oracles", required_argument, NULL, OPT_ORACLES },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "isolate", no_argument, NULL, OPT_ISOLATE },
		{ "in-process", no_argument, NULL, OPT_IN_PROCESS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "strict-reference", no_argument, NULL, OPT_STRICT_REFERENCE },
		{ "slab", required_argument, NULL, OPT_SLAB },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_replay r;
	mmt_opset_t ops;
	uint64_t mask, level, repeat,
		timeout = CLI_ISOLATE_DEFAULT_TIMEOUT;
	const char *env, *tmp;
	char err[256], capture[PATH_MAX] = "";
	int c, isolate = -1, i;
	bool timeout_given = false;

	cli_replay_init(&r);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET:
			if (!mmt_trace_target_ops(optarg, &ops))
				return cli_usage_error(
					"replay",
					"--target: '%s' is no target (see "
					"`mmtorture list targets`)",
					optarg);
			r.target = optarg;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("replay", "--bug: %s",
						       err);
			r.opts.bugs |= mask;
			r.bugs_given = true;
			break;
		case OPT_ORACLES:
			if (!cli_parse_u64("replay", "--oracles", optarg, 0, 2,
					   &level))
				return CLI_EXIT_USAGE;
			r.opts.oracle_level = (int)level;
			break;
		case OPT_REPEAT:
			if (!cli_parse_u64("replay", "--repeat", optarg, 1,
					   1000000, &repeat))
				return CLI_EXIT_USAGE;
			r.repeat = (unsigned long)repeat;
			break;
		case OPT_ISOLATE:
			isolate = 1;
			break;
		case OPT_STRICT_REFERENCE:
			r.opts.strict_reference = true;
			break;
		case OPT_SLAB: {
			int s;

			r.slab_all = !strcmp(optarg, "all");
			for (s = 0; !r.slab_all && s < MMT_NR_SLAB_IMPLS; s++)
				if (!strcmp(optarg, mmt_trace_slab_impl_name(
							    (enum mmt_slab_impl)s)))
					r.opts.slab_impl = s;
			if (!r.slab_all && r.opts.slab_impl < 0)
				return cli_usage_error(
					"replay",
					"--slab: '%s' is no slab implementation (see `mmtorture list`) nor 'all'",
					optarg);
			break;
		}
		case OPT_IN_PROCESS:
			isolate = 0;
			break;
		case OPT_TIMEOUT:
			if (!cli_parse_u64("replay", "--timeout", optarg, 0,
					   7 * 24 * 3600, &timeout))
				return CLI_EXIT_USAGE;
			timeout_given = true;
			break;
		case 'v':
			r.opts.log = stdout;
			break;
		case 'q':
			r.quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("replay", c, argv);
		}
	}
	env = getenv("MMT_BUGS");
	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("replay", "MMT_BUGS=%s: %s", env,
					       err);
		r.opts.bugs |= mask;
		r.bugs_given = true;
	}
	r.opts.override_bugs =
		true; /* binary inputs: the run's bugs, or none */
	if (optind >= argc)
		return cli_usage_error("replay",
				       "which inputs? (files or directories)");
	/*
	 * More than one input: one crash must not end the others' replay.
	 * A limit is kept only by a parent: --timeout isolates.
	 */
	if (isolate < 0 && timeout_given)
		isolate = 1;
	if (isolate < 0) {
		struct stat st;

		isolate = argc - optind > 1 ||
			  (strcmp(argv[optind], "-") &&
			   !stat(argv[optind], &st) && S_ISDIR(st.st_mode));
	}
	if (isolate) {
		tmp = getenv("TMPDIR");
		snprintf(capture, sizeof(capture), "%s/mmtorture-replay-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(capture)) {
			fprintf(stderr,
				"%s replay: cannot create %s for the children's output: %s\n",
				CLI_PROG, capture, strerror(errno));
			return CLI_EXIT_FAIL;
		}
		r.capture_dir = capture;
		r.timeout = (unsigned long)timeout;
		r.echo = true;
	} else {
		cli_crash_context_install(CLI_PROG " replay");
	}
	for (i = optind; i < argc; i++)
		cli_replay_path(&r, argv[i]);
	if (isolate) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/stdout", capture);
		unlink(path);
		snprintf(path, sizeof(path), "%s/stderr", capture);
		unlink(path);
		rmdir(capture);
	}
	fprintf(stdout,
		"replay: %lu input(s): %lu ok, %lu blocked, %lu finding(s), %lu crash(es), %lu hang(s), %lu error(s)",
		r.runs + r.errors, r.ok, r.blocked, r.findings, r.crashes,
		r.hangs, r.errors);
	if (r.skipped)
		fprintf(stdout, "; %lu file(s) skipped", r.skipped);
	if (r.repeat > 1)
		fprintf(stdout,
			"; %lu run(s) each: %lu input(s) reproduced every time, %lu did not",
			r.repeat, r.runs - r.unreliable, r.unreliable);
	fputc('\n', stdout);
	return r.findings || r.crashes || r.hangs || r.errors ? CLI_EXIT_FAIL :
								CLI_EXIT_OK;
}
