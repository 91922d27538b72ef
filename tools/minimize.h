/* SPDX-License-Identifier: MIT */
/*
 * tools/minimize.h - minimizing a finding's trace over its structure, for
 * `mmtorture minimize`, `corpus promote` and the nightly's findings store.
 *
 * What it does.  mmt_minimize_trace() takes a program whose execution
 * reports a finding (a signature, "oracle|layer|function") and returns the
 * smallest program it can find that reports the SAME signature.  It works
 * on the program, never on bytes, in passes repeated until none makes
 * progress (or the budget ends):
 *
 *   1. operations: ddmin (Zeller's delta debugging, complements only)
 *      over each CPU's thread, then over the whole program.  Handles stay
 *      consistent: dropping the operation that creates a handle drops
 *      every operation that uses it, and the survivors are renumbered
 *      (p3 becomes p0); an `enter`/`interrupt` is also tried dropped with
 *      its `exit` (the body kept), a `cpu N` line that changes nothing is
 *      dropped;
 *   2. each operation: GFP bits dropped one at a time (kept only when the
 *      mask prints no longer), slab flags likewise, orders, sizes and
 *      counts shrunk (the smallest value of a ladder that reproduces),
 *      nodes and CPUs set to 0, CPUs folded together (every `cpu K`
 *      becomes `cpu K-1`);
 *   3. the schedule of a concurrent program: `seq` or `rr` (no
 *      decisions at all) if that reproduces; else the executed decisions
 *      replace the recorded ones and the source becomes `input`, ddmin
 *      over the decisions, then each decision set to 0 (no switch away
 *      from the first runnable); a seeded source without decisions is
 *      kept (spelt out as decisions it would only be longer);
 *   4. the machine: each header field back to its default (the printed
 *      header names only what differs), CPUs cut to the highest used,
 *      fewer pages, each injected bug turned off in turn.
 *
 * A candidate is printed and parsed back (mmt_trace_parse(): the text
 * rules decide what is a valid program, so the result always parses) and
 * run on a fresh machine with mmt_trace_execute(); it is kept only if it
 * reports the same signature, in every one of o->repeats runs (3 by
 * default) for a concurrent program (a schedule other than seq, kernel
 * threads or interrupt handlers).  Runs are in this process: the input
 * must be an oracle's finding, not a crash of the model (replay such an
 * input isolated; the fuzzers' own minimizers handle crashes).
 *
 * mmt_minimize_format() prints the result as a person reads it: the magic
 * line, comments naming the signature and the bugs, a `machine` line with
 * only the fields that differ from the defaults, `bugs ID,...` by name,
 * GFP masks and flags by name, no hex, no path but the input's base name.
 * mmt_minimize_write_c() writes a standalone C regression test that
 * embeds that text, runs it through the interpreter and exits 0 only if
 * the signature is reported (link it with the model, mmt_alloc).
 *
 * Calls may run in parallel threads (each mmt_trace_execute() builds its
 * own machine) as long as they do not share @o->log.
 */
#ifndef MMT_TOOLS_MINIMIZE_H
#define MMT_TOOLS_MINIMIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mmt/exec.h"
#include "mmt/trace.h"

struct mmt_minimize_opts {
	/*
	 * How candidates run.  The bugs are the program's header bugs
	 * (override_bugs is ignored: put the run's bugs in the header first,
	 * they are part of the reproducer); log must be NULL.
	 */
	struct mmt_exec_opts exec;
	/* The signature to keep; NULL or "": the input's own run's. */
	const char *signature;
	/* Runs a candidate of a concurrent program must pass (0: 3). */
	unsigned int repeats;
	/* Budget: seconds (0: none) and executions (0: none). */
	double max_seconds;
	unsigned long max_runs;
	/*
	 * Differential: each run is `replay --slab all`'s, over every slab
	 * implementation (a divergence is slab-divergence|slab|null-with-room).
	 */
	bool slab_all;
	/* Passes to skip (ablation, tests): MMT_MINIMIZE_NO_*. */
	unsigned int skip;
	/* One line per pass and accepted step when set. */
	FILE *log;
};

enum {
	MMT_MINIMIZE_NO_OPS = 1u << 0,
	MMT_MINIMIZE_NO_SIMPLIFY = 1u << 1,
	MMT_MINIMIZE_NO_SCHEDULE = 1u << 2,
	MMT_MINIMIZE_NO_MACHINE = 1u << 3,
};

struct mmt_minimize_stats {
	char signature[224]; /* the signature kept */
	struct mmt_finding finding; /* the minimized program's (free it) */
	bool concurrent;
	bool slab_all; /* minimized as a differential finding */
	size_t ops_before, ops_after;
	size_t bytes_before, bytes_after; /* mmt_minimize_format()'s text */
	size_t decisions_before, decisions_after;
	unsigned long runs; /* executions */
	unsigned long candidates; /* programs tried (parsed or not) */
	unsigned long accepted; /* reductions kept */
	unsigned int rounds;
	double seconds;
	bool budget_hit; /* stopped by max_seconds or max_runs */
};

void mmt_minimize_opts_default(struct mmt_minimize_opts *o);

/*
 * Minimize @in into @out (initialised here; mmt_program_free() it).
 * False with @err when @in does not report a finding (or not @o's
 * signature, or not in every run of a concurrent program): nothing to
 * keep.  @st is filled either way (free st->finding with
 * mmt_finding_free()).
 */
bool mmt_minimize_trace(const struct mmt_program *in,
			const struct mmt_minimize_opts *o,
			struct mmt_program *out, struct mmt_minimize_stats *st,
			char *err, size_t errlen);

/*
 * @p as text for people (see above): @source (may be NULL) is named by its
 * base name, @note (may be NULL) is one more comment line (a promoted
 * regression's description).  Returns a malloc'd string (NULL on no
 * memory); it parses back to @p.
 */
char *mmt_minimize_format(const struct mmt_program *p,
			  const struct mmt_minimize_stats *st,
			  const char *source, const char *note);

/*
 * The standalone C regression test of @text (mmt_minimize_format()'s)
 * reporting @signature (@repeats runs, 0: 1).  True when written.
 */
bool mmt_minimize_write_c(FILE *out, const char *name, const char *text,
			  const char *signature, unsigned int repeats);

/*
 * Write @len bytes of @data to @path atomically: a temporary file in the
 * same directory, fsync, rename.  False with @err (and nothing at @path
 * changed) on any failure.
 */
bool mmt_write_file_atomic(const char *path, const void *data, size_t len,
			   char *err, size_t errlen);

/*
 * Scrub a message for people: hex numbers of 5 digits or more become
 * "<addr>", absolute paths their base name.  In place.
 */
void mmt_minimize_scrub(char *s);

#endif /* MMT_TOOLS_MINIMIZE_H */
