/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_pct.c - `mmtorture pct`: PCT alone, without a fuzzer.
 *
 * Runs each program (the target's seed corpus, or the files and
 * directories given) under PCT (Burckhardt et al., ASPLOS 2010) run after
 * run: run i replaces the program's schedule by PCT with seed S + i and
 * depth D (struct mmt_exec_opts: sched_source, sched_seed, pct_depth), on
 * a fresh machine each time.  PCT finds a bug of depth d with probability
 * at least 1/(n k^(d-1)) a run (n fibers, k scheduling points), so a
 * window like seed 003's (one preemption at the right point: depth 2)
 * needs runs in the order of k, not the fuzzer's search.
 *
 * A finding is printed with a self-contained reproducer: the program with
 * the run's schedule in its header (sched=pct, the seed and depth) and the
 * executed schedule as its decisions, so `mmtorture replay` (and
 * `replay --repeat`) gives the same interleaving without this command.
 * One reproducer a signature is kept in OUT/findings/ (as `fuzz` keeps
 * them), and OUT/summary.json holds, per program, the runs made and the
 * run (and PCT seed) of its first finding.
 *
 * A program stops at its first finding unless --keep-going (which counts
 * every run: how often PCT hits, and that nothing fires with no bug on).
 *
 * Bug canaries (MMT_CANARY_FILE=PATH, set by `bench bugs`' pct engine;
 * the fuzz targets' format, targets/target_common.c): after each run of
 * the search the bugs that are on and were reached or triggered for the
 * first time in this process append "reached|triggered BUG-ID UNIX-MS"
 * to PATH, and a finding appends "found ORACLE UNIX-MS" (one write() to
 * a file opened O_APPEND: the isolated children's lines stay whole).  The
 * calibration runs count for neither: they are no runs of the search.
 *
 * Options are parsed before anything is allocated: --help and usage
 * errors leak nothing (the asan and fuzz flavours run them under
 * LeakSanitizer).  Exit status: 0 no finding, 1 a finding or an input
 * that could not be run, 2 wrong usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "isolate.h"
#include "replay.h"
#include "tsan_finding.h"

#ifndef MMT_SOURCE_DIR
#define MMT_SOURCE_DIR "."
#endif

enum {
	OPT_TARGET = 256,
	OPT_DEPTH,
	OPT_RUNS,
	OPT_SEED,
	OPT_STEPS,
	OPT_BUG,
	OPT_ORACLES,
	OPT_OUT,
	OPT_KEEP_GOING,
	OPT_JSON,
	OPT_ISOLATE,
	OPT_IN_PROCESS,
	OPT_TIMEOUT,
	OPT_HELP
};

/* Depth-1 PCT runs of calibrate(), beside round robin and the kept runner. */
#define CALIBRATION_PCT_RUNS 6

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s pct --target T [options] [FILE|DIR...]\n"
		"\n"
		"Run each program under PCT, without a fuzzer: run i replaces its schedule\n"
		"by PCT with seed S+i and depth D, on a fresh machine.  Programs: the files\n"
		"and directories given (directories recursively; NAME.trace, NAME.bin and\n"
		"the fuzzers' files), else the target's seeds (corpora/T/seeds).  A finding\n"
		"is printed with a self-contained reproducer (the run's PCT seed and its\n"
		"executed schedule as decisions: `%s replay` gives the same interleaving);\n"
		"one reproducer per signature is kept in OUT/findings/, and OUT/summary.json\n"
		"says per program how many runs it took to the first finding.\n"
		"\n"
		"Options:\n"
		"  --target T     the target (a concurrent one: slab-mt, pages-mt, ...; see\n"
		"                 `%s list targets`); binary inputs decode over its\n"
		"                 operations\n"
		"  --depth D      PCT depth 1..%d: D-1 priority change points (default %d)\n"
		"  --runs N       runs per program (default 100)\n"
		"  --seed S       PCT seed of the first run (default 1)\n"
		"  --steps K      PCT's k, the decision points a run passes, among which\n"
		"                 the change points fall (default: the program's pct_steps,\n"
		"                 else the most decision points of %d calibration runs\n"
		"                 without a change point: round robin, the runner kept,\n"
		"                 PCT of depth 1)\n"
		"  --bug ID       turn on an injectable bug (repeatable, or ID,ID); replaces\n"
		"                 the bugs of text headers (MMT_BUGS=ID,ID likewise)\n"
		"  --oracles N    oracle level 0..2 instead of the program's\n"
		"  --out DIR      output directory (default build/pct-out/T-STAMP)\n"
		"  --keep-going   run every run of a program, not only up to its first\n"
		"                 finding\n"
		"  --json         print the summary as JSON on stdout\n"
		"  -q             print findings and the summary only\n"
		"  --isolate      run each program's runs in a child process (the default\n"
		"                 for more than one program: several files, a directory,\n"
		"                 the seeds): a run that crashes the model, trips a\n"
		"                 sanitizer or hangs is a finding crash|KIND|FUNCTION or\n"
		"                 hang|timeout|OPERATION (its run and PCT seed printed, the\n"
		"                 report kept in OUT/findings/) and the next program runs\n"
		"  --in-process   run every program in this process (the default for one\n"
		"                 file: a debugger sees a crash, whose last line names the\n"
		"                 program, the run and its PCT seed)\n"
		"  --timeout S    isolated: wall-clock seconds one run may take (default %d;\n"
		"                 0: no limit); implies --isolate\n"
		"  --help         this text\n"
		"\n"
		"Exit status: 0 no finding, 1 a finding, a crash, a hang or an input that\n"
		"could not be run, 2 wrong usage.\n",
		CLI_PROG, CLI_PROG, CLI_PROG, MMT_TRACE_PCT_MAX_DEPTH,
		MMT_TRACE_PCT_DEFAULT_DEPTH, 2 + CALIBRATION_PCT_RUNS,
		CLI_ISOLATE_DEFAULT_TIMEOUT);
}

struct pct_sig {
	char signature[224];
	char reproducer[PATH_MAX + 256];
	char program[PATH_MAX];
	uint32_t seed;
	unsigned long count;
};

/* MMT_CANARY_FILE: the file (trace/canary_file.c) and the counts. */
static struct {
	struct mmt_canary_file f;
	struct mmt_bug_canary_counts c;
} canary = { .f = { .fd = -1 } };

static void canary_report(uint64_t bugs, const struct mmt_finding *f)
{
	mmt_canary_file_report(&canary.f, bugs, &canary.c);
	if (f)
		mmt_canary_file_line(&canary.f, "found", f->oracle);
}

struct pct {
	/* options */
	const char *target, *out_arg;
	unsigned int depth;
	uint64_t runs, seed, steps;
	struct mmt_exec_opts opts;
	bool bugs_given, keep_going, json, quiet;
	int isolate; /* -1: by the number of programs */
	uint64_t timeout;
	FILE *msg; /* the human output: stdout, or stderr under --json */
	/*
	 * Isolated (--isolate): each program's runs in a child process, its
	 * output captured in @capture_dir; in the child, @child_fd is the
	 * pipe to the parent (-1 in the parent).
	 */
	char capture_dir[PATH_MAX];
	int child_fd;
	unsigned long crashes, hangs;
	/* the run */
	struct cli_replay loader; /* for cli_replay_load(): text or binary */
	char out[PATH_MAX], findings[PATH_MAX + 16];
	struct pct_sig *sigs;
	size_t nr_sigs;
	unsigned long programs, errors, finding_runs, total_runs;
	json_t *progs;
};

static unsigned long sig_hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/*
 * The reproducer of run @seed: @p under PCT with that seed and depth, the
 * executed schedule as its decisions, the run's bugs.  A shallow copy with
 * decisions of its own (freed here), so @p is untouched.
 */
static void print_reproducer(const struct pct *c, const struct mmt_program *p,
			     const struct mmt_exec_opts *o,
			     const struct mmt_finding *f, FILE *out)
{
	struct mmt_program copy = *p;

	copy.sched.source = MMT_SCHED_PCT;
	copy.sched.seed = (uint32_t)o->sched_seed;
	copy.sched.pct_depth = (uint8_t)c->depth;
	copy.sched.decisions = NULL;
	copy.sched.nr_decisions = 0;
	if (f->nr_decisions &&
	    !mmt_program_set_decisions(&copy, f->decisions, f->nr_decisions))
		fprintf(out,
			"# (the executed schedule, %zu decisions, could not be attached)\n",
			f->nr_decisions);
	if (o->override_bugs)
		copy.hdr.bugs = o->bugs;
	if (o->oracle_level >= 0)
		copy.hdr.oracle_level = (uint8_t)o->oracle_level;
	mmt_trace_print(&copy, out);
	free(copy.sched.decisions);
}

/* Keep one reproducer per signature in OUT/findings/. */
static void keep_finding(struct pct *c, const char *path,
			 const struct mmt_program *p,
			 const struct mmt_exec_opts *o,
			 const struct mmt_finding *f)
{
	struct pct_sig *s;
	char *text = NULL, *rest;
	size_t i, len = 0;
	FILE *mem, *out;

	for (i = 0; i < c->nr_sigs; i++)
		if (!strcmp(c->sigs[i].signature, f->signature)) {
			c->sigs[i].count++;
			return;
		}
	s = realloc(c->sigs, (c->nr_sigs + 1) * sizeof(*s));
	if (!s)
		return;
	c->sigs = s;
	s = &c->sigs[c->nr_sigs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->signature, sizeof(s->signature), "%s", f->signature);
	snprintf(s->program, sizeof(s->program), "%s", path);
	s->seed = (uint32_t)o->sched_seed;
	s->count = 1;
	snprintf(s->reproducer, sizeof(s->reproducer), "%s/%s-%08lx.trace",
		 c->findings, f->oracle, sig_hash(f->signature) & 0xffffffffu);
	mem = open_memstream(&text, &len);
	if (!mem)
		return;
	print_reproducer(c, p, o, f, mem);
	fclose(mem);
	out = fopen(s->reproducer, "w");
	/* The magic line first (it makes the file text), then notes. */
	rest = text ? strchr(text, '\n') : NULL;
	if (out && rest) {
		fwrite(text, 1, (size_t)(rest + 1 - text), out);
		fprintf(out,
			"# %s\n# found by mmtorture pct (seed %u, depth %u) in %s\n",
			f->signature, s->seed, c->depth, path);
		fputs(rest + 1, out);
	}
	if (out)
		fclose(out);
	else
		fprintf(stderr, "%s pct: cannot write %s: %s\n", CLI_PROG,
			s->reproducer, strerror(errno));
	free(text);
}

/*
 * What an isolated child sends: before each run its number and seed ('R':
 * a crash or hang is that run's, and the parent's time limit restarts),
 * and at the end ('D') the counters, every signature kept so far (the
 * child's copy of the parent's, with its own added) and the program's
 * summary as JSON text (@json_len bytes after the signatures).
 */
struct pct_msg {
	uint32_t tag;
	uint32_t seed;
	unsigned long run;
	unsigned long programs, errors, finding_runs, total_runs;
	uint64_t nr_sigs, json_len;
};

static void send_run(struct pct *c, unsigned long run, uint32_t seed)
{
	struct pct_msg m;

	memset(&m, 0, sizeof(m));
	m.tag = 'R';
	m.run = run;
	m.seed = seed;
	cli_write_all(c->child_fd, &m, sizeof(m));
}

static void pct_program_here(struct pct *c, const char *path);

struct pct_child {
	struct pct *c;
	const char *path;
};

static void pct_child_main(void *arg, int fd)
{
	struct pct_child *a = arg;
	struct pct *c = a->c;
	struct pct_msg m;
	json_t *last;
	char *json = NULL;

	c->child_fd = fd;
	pct_program_here(c, a->path);
	last = json_array_size(c->progs) ?
		       json_array_get(c->progs, json_array_size(c->progs) - 1) :
		       NULL;
	if (last && c->programs)
		json = json_dumps(last, JSON_COMPACT);
	memset(&m, 0, sizeof(m));
	m.tag = 'D';
	m.programs = c->programs;
	m.errors = c->errors;
	m.finding_runs = c->finding_runs;
	m.total_runs = c->total_runs;
	m.nr_sigs = c->nr_sigs;
	m.json_len = json ? strlen(json) : 0;
	fflush(NULL);
	cli_write_all(fd, &m, sizeof(m));
	cli_write_all(fd, c->sigs, c->nr_sigs * sizeof(*c->sigs));
	if (json)
		cli_write_all(fd, json, m.json_len);
	free(json);
}

/* A child that crashed or hung in run @run (seed @seed) of @path. */
static void pct_crash(struct pct *c, const char *path,
		      const struct cli_child *ch, unsigned long run,
		      uint32_t seed, const char *report)
{
	const char *kind = ch->end == CLI_CHILD_HANG ? "hang" : "crash";
	struct pct_sig *s = NULL;
	size_t i;

	if (ch->end == CLI_CHILD_HANG)
		c->hangs++;
	else
		c->crashes++;
	c->programs++;
	c->finding_runs++;
	c->total_runs += run;
	if (run)
		fprintf(c->msg,
			"%s: %s in run %lu (pct seed %u, depth %u): %s\n  %s\n",
			path, ch->end == CLI_CHILD_HANG ? "HANG" : "CRASH", run,
			seed, c->depth, ch->signature, ch->summary);
	else /* before run 1: loading it, or the run that measures --steps */
		fprintf(c->msg, "%s: %s before its first run: %s\n  %s\n", path,
			ch->end == CLI_CHILD_HANG ? "HANG" : "CRASH",
			ch->signature, ch->summary);
	for (i = 0; i < c->nr_sigs; i++)
		if (!strcmp(c->sigs[i].signature, ch->signature)) {
			c->sigs[i].count++;
			s = &c->sigs[i];
			break;
		}
	if (!s && (s = realloc(c->sigs, (c->nr_sigs + 1) * sizeof(*s)))) {
		c->sigs = s;
		s = &c->sigs[c->nr_sigs++];
		memset(s, 0, sizeof(*s));
		snprintf(s->signature, sizeof(s->signature), "%s",
			 ch->signature);
		snprintf(s->program, sizeof(s->program), "%s", path);
		s->seed = seed;
		s->count = 1;
		/* Its first line: the `pct ... --runs 1` that runs it alone. */
		snprintf(s->reproducer, sizeof(s->reproducer),
			 "%.4000s/%s-%08lx.txt", c->findings, kind,
			 sig_hash(ch->signature) & 0xffffffffu);
		if (!cli_copy_file(report, s->reproducer))
			fprintf(stderr, "%s pct: cannot write %s: %s\n",
				CLI_PROG, s->reproducer, strerror(errno));
	}
	if (s)
		fprintf(c->msg, "  report: %s\n", s->reproducer);
	json_array_append_new(
		c->progs,
		json_pack("{s:s, s:I, s:s, s:I, s:I, s:s?}", "program", path,
			  "runs", (json_int_t)run, kind, ch->signature, "run",
			  (json_int_t)run, "seed", (json_int_t)seed, "report",
			  s ? s->reproducer : NULL));
}

/* The program's runs in a child: a crash or a hang is a finding. */
static void pct_program_isolated(struct pct *c, const char *path)
{
	char out[PATH_MAX + 16], err[PATH_MAX + 16];
	struct cli_isolate iso = { (unsigned long)c->timeout, out, err, true };
	struct pct_child a = { c, path };
	struct cli_child ch;
	unsigned long run = 0;
	uint32_t seed = 0;
	size_t off = 0;
	bool done = false;

	snprintf(out, sizeof(out), "%s/stdout", c->capture_dir);
	snprintf(err, sizeof(err), "%s/stderr", c->capture_dir);
	if (cli_isolate_run(&iso, pct_child_main, &a, &ch) ==
	    CLI_CHILD_NOT_RUN) {
		fprintf(stderr, "%s: could not run it in a child process: %s\n",
			path, ch.summary);
		c->errors++;
		return;
	}
	cli_echo_file(out, stdout);
	cli_echo_file(err, stderr);
	while (off + sizeof(struct pct_msg) <= ch.msg_len) {
		struct pct_msg m;

		memcpy(&m, ch.msg + off, sizeof(m));
		off += sizeof(m);
		if (m.tag == 'R') {
			run = m.run;
			seed = m.seed;
			continue;
		}
		if (m.tag != 'D' || m.nr_sigs * sizeof(*c->sigs) + m.json_len >
					    ch.msg_len - off)
			break;
		{
			struct pct_sig *sigs = malloc(
				m.nr_sigs ? m.nr_sigs * sizeof(*sigs) : 1);
			char *json;
			json_t *prog;

			if (!sigs)
				break;
			memcpy(sigs, ch.msg + off, m.nr_sigs * sizeof(*sigs));
			off += m.nr_sigs * sizeof(*sigs);
			free(c->sigs);
			c->sigs = sigs;
			c->nr_sigs = m.nr_sigs;
			c->programs = m.programs;
			c->errors = m.errors;
			c->finding_runs = m.finding_runs;
			c->total_runs = m.total_runs;
			json = strndup(ch.msg + off, m.json_len);
			off += m.json_len;
			prog = json && m.json_len ? json_loads(json, 0, NULL) :
						    NULL;
			if (prog)
				json_array_append_new(c->progs, prog);
			free(json);
			done = true;
		}
	}
	if (ch.end != CLI_CHILD_DONE || !done)
		pct_crash(c, path, &ch, run, seed, err);
	cli_child_free(&ch);
}

/* All runs of one program: in a child process when isolated. */
static void pct_program(struct pct *c, const char *path)
{
	if (c->capture_dir[0] && c->child_fd < 0)
		pct_program_isolated(c, path);
	else
		pct_program_here(c, path);
}

/*
 * PCT's k for @p when nobody gives it: the most decision points of a few
 * runs without a change point - round robin, the runner kept until it
 * waits (the program's source with no decisions), and
 * CALIBRATION_PCT_RUNS PCT runs of depth 1 (random priorities).  The
 * count depends on the schedule: round robin hands over at every point,
 * so a thread with nothing to do yet runs at once to its wait and leaves
 * the others alone (few decisions); when the runner is kept, a starved
 * thread stays runnable and every point of the runner is a decision.
 * Round robin alone measured 12 on a slab-racy-free-objects seed whose
 * PCT runs pass about 350, and put every change point before the window
 * (600 runs, no finding).  The largest count covers the runs PCT makes.
 * The calibration runs' findings (and races) are not reported: they are
 * no runs of the search.
 */
static uint16_t calibrate(const struct pct *c, const struct mmt_program *p,
			  const struct mmt_exec_opts *base)
{
	struct mmt_exec_opts o = *base;
	size_t most = 1;
	unsigned int i;

	for (i = 0; i < 2 + CALIBRATION_PCT_RUNS; i++) {
		struct mmt_finding f;

		memset(&f, 0, sizeof(f));
		o.sched_source = i == 0 ? MMT_SCHED_RR :
				 i == 1 ? MMT_SCHED_INPUT :
					  MMT_SCHED_PCT;
		o.sched_seed = i < 2 ? 0 : c->seed + c->runs + i;
		o.pct_depth = 1;
		mmt_race_begin();
		mmt_trace_execute(p, &o, &f);
		mmt_race_take(&f, p->nr_ops); /* not a run of the search */
		if (f.nr_decisions > most)
			most = f.nr_decisions;
		mmt_finding_free(&f);
	}
	return (uint16_t)(most > 65535 ? 65535 : most);
}

/* All runs of one program, in this process. */
static void pct_program_here(struct pct *c, const char *path)
{
	struct mmt_exec_opts o = c->opts;
	struct mmt_program p;
	enum mmt_trace_form form;
	unsigned long ok = 0, blocked = 0, found = 0, run;
	long first_run = -1;
	uint32_t first_seed = 0;
	json_t *sigs = json_array();
	char err[512];

	mmt_program_init(&p);
	if (!cli_replay_load(&c->loader, path, &p, &form, NULL, err,
			     sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		c->errors++;
		mmt_program_free(&p);
		json_decref(sigs);
		return;
	}
	c->programs++;
	/* Text traces keep their own bugs unless the run names some. */
	o.override_bugs = form != MMT_TRACE_FORM_TEXT || c->bugs_given;
	if (!cli_test_hook(&o)) {
		c->errors++;
		mmt_program_free(&p);
		json_decref(sigs);
		return;
	}
	/*
	 * PCT spreads its change points over the first k steps - the
	 * scheduler counts a step per decision point (a scheduling point
	 * where more than one fiber may run) - so a k far from the run's
	 * length puts them where nothing races (the interpreter's estimate
	 * from the operation count knows nothing of a bulk allocation's
	 * many lock points).  So k is --steps, else the program's pct_steps,
	 * else measured (calibrate()).
	 */
	if (c->steps) {
		p.sched.pct_steps = (uint16_t)c->steps;
	} else if (!p.sched.pct_steps) {
		cli_crash_context(
			"program %s, its calibration runs that measure --steps",
			path);
		p.sched.pct_steps = calibrate(c, &p, &o);
	}
	o.sched_source = MMT_SCHED_PCT;
	o.pct_depth = c->depth;
	if (canary.f.fd >= 0)
		o.canaries = &canary.c;
	for (run = 0; run < c->runs; run++) {
		struct mmt_finding f;
		enum mmt_exec_result r;

		o.sched_seed = (uint32_t)(c->seed + run);
		/* A crash names the run: `pct --runs 1 --seed S` replays it. */
		cli_crash_context(
			"program %s, run %lu (pct seed %u, depth %u, steps %u: "
			"`%s pct --target %s --depth %u --steps %u --seed %u --runs 1 %s` runs it alone)",
			path, run + 1, (unsigned int)o.sched_seed, c->depth,
			(unsigned int)p.sched.pct_steps, CLI_PROG, c->target,
			c->depth, (unsigned int)p.sched.pct_steps,
			(unsigned int)o.sched_seed, path);
		if (c->child_fd >= 0)
			send_run(c, run + 1, (uint32_t)o.sched_seed);
		/* The tsan build: a data race between fibers is a finding. */
		r = mmt_race_execute(&p, &o, &f);
		c->total_runs++;
		canary_report(o.override_bugs ? o.bugs : p.hdr.bugs,
			      r == MMT_EXEC_FINDING ? &f : NULL);
		if (r == MMT_EXEC_OK) {
			ok++;
		} else if (r == MMT_EXEC_BLOCKED) {
			blocked++;
		} else if (r == MMT_EXEC_FINDING) {
			found++;
			c->finding_runs++;
			if (first_run < 0) {
				first_run = (long)run + 1;
				first_seed = (uint32_t)o.sched_seed;
				fprintf(c->msg,
					"%s: FINDING in run %lu (pct seed %u, depth %u)\n",
					path, run + 1, first_seed, c->depth);
				mmt_finding_print(&f, c->msg);
				fprintf(c->msg,
					"---- reproducer (mmtorture trace) ----\n");
				print_reproducer(c, &p, &o, &f, c->msg);
				fprintf(c->msg, "---- end ----\n");
			}
			keep_finding(c, path, &p, &o, &f);
			{
				size_t i, n = json_array_size(sigs);

				for (i = 0; i < n; i++)
					if (!strcmp(json_string_value(
							    json_array_get(sigs,
									   i)),
						    f.signature))
						break;
				if (i == n)
					json_array_append_new(
						sigs, json_string(f.signature));
			}
		} else {
			fprintf(stderr,
				"%s: the machine of its header could not be built\n",
				path);
			c->errors++;
			mmt_finding_free(&f);
			run++;
			break;
		}
		mmt_finding_free(&f);
		if (found && !c->keep_going) {
			run++;
			break;
		}
	}
	cli_crash_context(NULL);
	if (!c->quiet || found)
		fprintf(c->msg,
			"%s: %lu run(s): %lu ok, %lu blocked, %lu finding(s)%s\n",
			path, run, ok, blocked, found,
			first_run > 0 ? "" : " - nothing found");
	json_array_append_new(
		c->progs,
		json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
			"program", path, "pct_steps",
			(json_int_t)p.sched.pct_steps, "runs", (json_int_t)run,
			"ok", (json_int_t)ok, "blocked", (json_int_t)blocked,
			"findings", (json_int_t)found, "runs_to_first_finding",
			first_run > 0 ? json_integer(first_run) : json_null(),
			"first_finding_seed",
			first_run > 0 ? json_integer(first_seed) : json_null(),
			"signatures", sigs));
	mmt_program_free(&p);
}

/* A file, or a directory's inputs by name (recursively, in name order). */
static void pct_path(struct pct *c, const char *path, bool in_dir)
{
	struct stat st, lst;
	char **names;
	size_t n, i;

	if (stat(path, &st) || lstat(path, &lst)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		c->errors++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (!in_dir ||
		    mmt_trace_name_kind(path) != MMT_TRACE_NAME_OTHER)
			pct_program(c, path);
		return;
	}
	/* In a walk, a link to a directory is not followed (loops). */
	if (in_dir && S_ISLNK(lst.st_mode))
		return;
	names = cli_dir_entries(path, &n);
	if (!names) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		c->errors++;
		return;
	}
	for (i = 0; i < n; i++) {
		pct_path(c, names[i], true);
		free(names[i]);
	}
	free(names);
}

static int parse(struct pct *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "steps", required_argument, NULL, OPT_STEPS },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "oracles", required_argument, NULL, OPT_ORACLES },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "isolate", no_argument, NULL, OPT_ISOLATE },
		{ "in-process", no_argument, NULL, OPT_IN_PROCESS },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v, mask;
	mmt_opset_t ops;
	const char *env;
	char err[256];
	int ch;

	cli_getopt_reset();
	while ((ch = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_TARGET:
			if (!mmt_trace_target_ops(optarg, &ops))
				return cli_usage_error(
					"pct",
					"--target: '%s' is no target (see `%s list targets`)",
					optarg, CLI_PROG);
			c->target = optarg;
			break;
		case OPT_DEPTH:
			if (!cli_parse_u64("pct", "--depth", optarg, 1,
					   MMT_TRACE_PCT_MAX_DEPTH, &v))
				return CLI_EXIT_USAGE;
			c->depth = (unsigned int)v;
			break;
		case OPT_RUNS:
			if (!cli_parse_u64("pct", "--runs", optarg, 1,
					   100000000, &c->runs))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SEED:
			/* The header's sched_seed is 32 bits. */
			if (!cli_parse_u64("pct", "--seed", optarg, 0,
					   0xffffffffu, &c->seed))
				return CLI_EXIT_USAGE;
			break;
		case OPT_STEPS:
			/* The header's pct_steps is 16 bits. */
			if (!cli_parse_u64("pct", "--steps", optarg, 1, 65535,
					   &c->steps))
				return CLI_EXIT_USAGE;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("pct", "--bug: %s", err);
			c->opts.bugs |= mask;
			c->bugs_given = true;
			break;
		case OPT_ORACLES:
			if (!cli_parse_u64("pct", "--oracles", optarg, 0, 2,
					   &v))
				return CLI_EXIT_USAGE;
			c->opts.oracle_level = (int)v;
			break;
		case OPT_OUT:
			c->out_arg = optarg;
			break;
		case OPT_KEEP_GOING:
			c->keep_going = true;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_ISOLATE:
			c->isolate = 1;
			break;
		case OPT_IN_PROCESS:
			c->isolate = 0;
			break;
		case OPT_TIMEOUT:
			if (!cli_parse_u64("pct", "--timeout", optarg, 0,
					   7 * 24 * 3600, &c->timeout))
				return CLI_EXIT_USAGE;
			if (c->isolate < 0)
				c->isolate = 2; /* implied */
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("pct", ch, argv);
		}
	}
	if (!c->target)
		return cli_usage_error("pct", "which target? (--target T)");
	env = getenv("MMT_BUGS");
	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("pct", "MMT_BUGS=%s: %s", env,
					       err);
		c->opts.bugs |= mask;
		c->bugs_given = true;
	}
	return -1;
}

int cmd_pct(int argc, char **argv)
{
	struct pct c;
	char stamp[32], seeds[PATH_MAX], path[PATH_MAX + 32], bugs[512];
	time_t now = time(NULL);
	json_t *root, *sigs;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	mmt_exec_opts_default(&c.opts);
	c.depth = MMT_TRACE_PCT_DEFAULT_DEPTH;
	c.runs = 100;
	c.seed = 1;
	c.isolate = -1;
	c.timeout = CLI_ISOLATE_DEFAULT_TIMEOUT;
	c.child_fd = -1;
	rc = parse(&c, argc, argv);
	if (rc >= 0)
		return rc;
	if (mmt_canary_file_open(&canary.f) < 0) {
		fprintf(stderr, "%s pct: %s=%s: %s\n", CLI_PROG,
			MMT_CANARY_FILE_ENV, getenv(MMT_CANARY_FILE_ENV),
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	/* Allocated after the options: --help and usage errors leak nothing. */
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	if (c.out_arg)
		snprintf(c.out, sizeof(c.out), "%s", c.out_arg);
	else
		snprintf(c.out, sizeof(c.out), "%s/build/pct-out/%s-%s",
			 MMT_SOURCE_DIR, c.target, stamp);
	snprintf(c.findings, sizeof(c.findings), "%s/findings", c.out);
	if (cli_mkdirs(c.findings)) {
		fprintf(stderr, "%s pct: cannot create %s: %s\n", CLI_PROG,
			c.findings, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	c.msg = c.json ? stderr : stdout;
	/*
	 * More than one program (the seeds, a directory, several files):
	 * each in a child, so that one crash or hang loses no other's runs.
	 */
	if (c.isolate < 0) {
		struct stat st;

		c.isolate = optind >= argc || argc - optind > 1 ||
			    (!stat(argv[optind], &st) && S_ISDIR(st.st_mode));
	}
	if (c.isolate) {
		snprintf(c.capture_dir, sizeof(c.capture_dir), "%.4000s/run",
			 c.out);
		if (cli_mkdirs(c.capture_dir)) {
			fprintf(stderr, "%s pct: cannot create %s: %s\n",
				CLI_PROG, c.capture_dir, strerror(errno));
			return CLI_EXIT_FAIL;
		}
	}
	/* A crash of the model names the program, the run and its seed. */
	cli_crash_context_install(CLI_PROG " pct");
	cli_replay_init(&c.loader);
	c.loader.target = c.target;
	c.progs = json_array();
	if (!c.quiet)
		fprintf(c.msg,
			"pct: target %s, depth %u, %llu run(s) a program from seed %llu\n",
			c.target, c.depth, (unsigned long long)c.runs,
			(unsigned long long)c.seed);
	if (optind < argc) {
		for (; optind < argc; optind++)
			pct_path(&c, argv[optind], false);
	} else {
		snprintf(seeds, sizeof(seeds), "%s/corpora/%s/seeds",
			 MMT_SOURCE_DIR, c.target);
		pct_path(&c, seeds, false);
	}
	sigs = json_array();
	for (i = 0; i < c.nr_sigs; i++)
		json_array_append_new(
			sigs, json_pack("{s:s, s:I, s:s, s:s, s:I}",
					"signature", c.sigs[i].signature,
					"runs", (json_int_t)c.sigs[i].count,
					"reproducer", c.sigs[i].reproducer,
					"program", c.sigs[i].program, "seed",
					(json_int_t)c.sigs[i].seed));
	mmt_bugs_format(c.opts.bugs, bugs, sizeof(bugs));
	root = json_pack(
		"{s:s, s:s, s:i, s:I, s:I, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
		"command", "pct", "target", c.target, "depth", (int)c.depth,
		"runs_per_program", (json_int_t)c.runs, "seed",
		(json_int_t)c.seed, "bugs", c.bugs_given ? bugs : "(programs')",
		"keep_going", c.keep_going, "isolated", c.isolate != 0,
		"programs", (json_int_t)c.programs, "runs",
		(json_int_t)c.total_runs, "finding_runs",
		(json_int_t)c.finding_runs, "crashes", (json_int_t)c.crashes,
		"hangs", (json_int_t)c.hangs, "errors", (json_int_t)c.errors,
		"findings", sigs, "per_program", c.progs);
	snprintf(path, sizeof(path), "%s/summary.json", c.out);
	if (root) {
		if (json_dump_file(root, path, CLI_JSON_FLAGS))
			fprintf(stderr, "%s pct: cannot write %s\n", CLI_PROG,
				path);
		if (c.json) {
			json_dumpf(root, stdout, CLI_JSON_FLAGS);
			putchar('\n');
		}
		json_decref(root);
	}
	fprintf(c.msg,
		"pct: %lu program(s), %lu run(s), %zu finding(s) by signature, %lu crash(es), %lu hang(s), %lu error(s); findings in %s, summary %s\n",
		c.programs, c.total_runs, c.nr_sigs, c.crashes, c.hangs,
		c.errors, c.findings, path);
	for (i = 0; i < c.nr_sigs; i++)
		fprintf(c.msg, "  %s: %lu run(s), first in %s (seed %u): %s\n",
			c.sigs[i].signature, c.sigs[i].count, c.sigs[i].program,
			c.sigs[i].seed, c.sigs[i].reproducer);
	free(c.sigs);
	return c.nr_sigs || c.errors ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
