/* SPDX-License-Identifier: MIT */
/*
 * tools/bench_journal.h - the journal of a long `bench bugs` run: one JSON
 * line per finished trial, so a run of many hours can be stopped, killed
 * or spread over days and machines and picked up where it was
 * (`bench bugs --journal FILE`).  Format and crash safety in
 * tools/bench_journal.c.
 */
#ifndef MMT_TOOLS_BENCH_JOURNAL_H
#define MMT_TOOLS_BENCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct bb_journal;

/*
 * Open @path (created if missing) and read what it holds.  A malformed
 * line fails the open with "FILE:LINE: reason" in @err and the file left
 * as it is; a last line cut short by a kill (no newline) is dropped with
 * a note in @note (its trial runs again).  NULL on failure.
 */
struct bb_journal *bb_journal_open(const char *path, char *err, size_t len,
				   char *note, size_t note_len);
void bb_journal_close(struct bb_journal *j);

/*
 * The record of one trial: @kind "trial" (@what a bug) or "nobug" (@what
 * a target), its engine, seed and budget in seconds.  NULL if the
 * journal has none: run it.  Borrowed reference.
 */
json_t *bb_journal_find(struct bb_journal *j, const char *kind,
			const char *what, const char *engine,
			unsigned long seed, unsigned long budget);

/*
 * Append @rec (steals it) with its key fields, fsync'd before it returns:
 * a trial written is never run again.  False, with the reason in @err, if
 * the write failed.
 */
bool bb_journal_append(struct bb_journal *j, const char *kind, const char *what,
		       const char *engine, unsigned long seed,
		       unsigned long budget, json_t *rec, char *err,
		       size_t len);

/* Records read from the file, and of them those a find() returned. */
size_t bb_journal_records(const struct bb_journal *j);
size_t bb_journal_reused(const struct bb_journal *j);

#endif
