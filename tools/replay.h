/* SPDX-License-Identifier: MIT */
/*
 * tools/replay.h - replaying inputs in process, shared by `replay` and
 * `fuzz` (which replays what the engine saved to explain its findings).
 */
#ifndef MMT_TOOLS_REPLAY_H
#define MMT_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "isolate.h"
#include "mmt/exec.h"

struct cli_replay {
	struct mmt_exec_opts opts;
	const char
		*target; /* binary inputs' operation set; NULL: from the path */
	bool bugs_given; /* the run names the bugs: text headers' are replaced */
	bool quiet;
	FILE *out;
	unsigned long runs, ok, blocked, findings, errors;
	unsigned long skipped; /* files of a directory that are no input */
	/*
	 * Called for each finding (the fuzz command deduplicates with it),
	 * with @reproducer the text trace printed after it: the program with
	 * the run's bugs and its executed schedule.  Always in this process,
	 * isolated or not.
	 */
	void (*on_finding)(struct cli_replay *r, const char *path,
			   const char *reproducer, const struct mmt_finding *f);
	void *arg;
	/*
	 * Isolation (tools/isolate.h): with @capture_dir set, each input runs
	 * in a child process with @timeout seconds of wall clock (0: none),
	 * its stdout and stderr captured in @capture_dir/stdout and stderr
	 * (then printed here when @echo, else only a clean run's stderr).
	 * A child that crashes or hangs counts in @crashes or @hangs, is
	 * printed as CRASH or HANG with its signature, and @on_crash (may be
	 * NULL) gets it with the path of its captured stderr (the report).
	 */
	const char *capture_dir;
	unsigned long timeout;
	bool echo;
	unsigned long crashes, hangs;
	void (*on_crash)(struct cli_replay *r, const char *path,
			 const struct cli_child *c, const char *report);
	int child_fd; /* in the child: the pipe to the parent */
	/*
	 * --repeat N: each input runs @repeat times (0 or 1: once); the
	 * result, exit status and reproducer are the first run's, and a line
	 * says how many runs reproduced it (the same signature, or the same
	 * clean or blocked end) and how many executed the same schedule.
	 * @unreliable counts the inputs that did not reproduce every time.
	 */
	unsigned long repeat, unreliable;
	/*
	 * --slab all: each input runs once per slab implementation and the
	 * runs are compared (replay_diff() in cmd_replay.c); a divergence
	 * counts as a finding.
	 */
	bool slab_all;
};

void cli_replay_init(struct cli_replay *r);
/*
 * Load @path by mmt_trace_read()'s rule (binary inputs over --target or
 * the path's target); false with @err on an unreadable file or a file that
 * is meant as text and does not parse.  @form: the spelling used; @size
 * (may be NULL): the file's length.
 */
bool cli_replay_load(const struct cli_replay *r, const char *path,
		     struct mmt_program *p, enum mmt_trace_form *form,
		     size_t *size, char *err, size_t errlen);
/* The target whose operations a binary input at @path decodes over. */
const char *cli_replay_target(const struct cli_replay *r, const char *path);
/*
 * Run one input (in a child when r->capture_dir is set): its result, a
 * crash or hang counted as MMT_EXEC_FINDING.
 */
enum mmt_exec_result cli_replay_one(struct cli_replay *r, const char *path);
/*
 * A file, "-" (stdin) or a directory (recursively, in name order).  In a
 * directory only inputs by name are run (mmt_trace_name_kind(): NAME.trace,
 * NAME.bin, the fuzzers' names); other files and links to directories are
 * skipped and counted.
 */
int cli_replay_path(struct cli_replay *r, const char *path);

/*
 * Check a directory of inputs people keep (corpora/T/seeds, regress): every
 * file but README* and *.md is a NAME.trace that parses.  Prints each
 * problem (FILE:LINE:COL for text) on stderr; returns how many there are.
 * @nr_ok (may be NULL) counts the files that passed.
 */
unsigned long cli_corpus_check(const char *dir, unsigned long *nr_ok);
/*
 * The entries of directory @path but . and .., as "path/name" strings in
 * name order (@nr of them; free each and the array).  NULL with errno set
 * when the directory cannot be opened.
 */
char **cli_dir_entries(const char *path, size_t *nr);
/* Copy file @from to @to (binary, whole): false on any error (cmd_fuzz.c). */
bool cli_copy_file(const char *from, const char *to);

#endif /* MMT_TOOLS_REPLAY_H */
