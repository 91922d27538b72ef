/* SPDX-License-Identifier: MIT */
/*
 * tools/store.h - the findings store of a nightly work directory
 * (tools/store.c; docs/workflow.md, "Nightly and the findings store").
 *
 *   WORKDIR/findings/KEY/meta.json   signature, counts, first and last
 *                                    seen, engines, targets (jansson)
 *   WORKDIR/findings/KEY/input.bin   the first input that showed it
 *                                    (or input.trace)
 *   WORKDIR/findings/KEY/trace.trace the finding's minimized trace and
 *   WORKDIR/findings/KEY/regression.c  its C regression test (minimize_finding())
 *   WORKDIR/findings/KEY/report.txt  a crash's or hang's report, if any
 *
 * KEY is ORACLE-HASH, HASH the FNV-1a 64-bit hash of the signature.  Every
 * file is written atomically (a temporary name, fsync, rename, fsync of
 * the directory) and a new finding's folder is filled under a staging
 * name and renamed into place whole: a kill -9 at any moment leaves either
 * the old state or the new one, plus at most a staging leftover that the
 * next open removes.
 */
#ifndef MMT_TOOLS_STORE_H
#define MMT_TOOLS_STORE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "fuzzrun.h"

/* A path of the work directory that could not be read as what it should be. */
struct store_damage {
	char path[PATH_MAX];
	char reason[256];
};

struct store_finding {
	char key[96];
	char dir[PATH_MAX];
	json_t *meta; /* meta.json, owned */
	bool seen_this_run; /* added or updated by this process */
};

struct store {
	char root[PATH_MAX]; /* the work directory */
	char findings[PATH_MAX + 16];
	struct store_finding *f;
	size_t nr;
	struct store_damage *damage;
	size_t nr_damage;
};

/*
 * Write @len bytes of @data to @path atomically: PATH.tmp-PID, fsync,
 * rename, fsync of the directory.  false with errno set.
 */
bool store_write_atomic(const char *path, const void *data, size_t len);
/* @j as JSON (indented), atomically. */
bool store_write_json(const char *path, json_t *j);
/* A copy of file @from at @to, atomically. */
bool store_copy_atomic(const char *from, const char *to);
/* Record @path as damaged for @reason (printf-style). */
void store_damaged(struct store *s, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Remove a directory tree (the work directory's tmp/): best effort. */
void store_rmtree(const char *path);

/*
 * Open (create) the store of work directory @root and read every finding
 * folder.  A folder that is no finding (a foreign or truncated meta.json,
 * no input) is recorded in s->damage and skipped, never fatal.  Staging
 * leftovers of a killed run are removed.  false only when the directory
 * cannot be created.
 */
bool store_open(struct store *s, const char *root);
void store_close(struct store *s);

/*
 * Store finding @sig found by @engine on @target at @when (ISO 8601 UTC):
 * a new folder (its first input, its trace by minimize_finding(), its
 * report), or the existing one's count, last seen, engines and targets
 * updated.  @is_new: it was not in the store.  false with a message on
 * stderr if it could not be written (the finding is then in s->damage,
 * never dropped silently).
 */
bool store_add(struct store *s, const struct cli_fuzz_sig *sig,
	       const char *target, const char *engine, const char *when,
	       bool *is_new);

/* The store's key of signature @sig with oracle @oracle. */
void store_key(const char *oracle, const char *sig, char *key, size_t len);

/*
 * The finding's trace: its reproducer minimized over its structure by
 * mmt_minimize_trace() (tools/minimize.h), in a child process with
 * MMT_NIGHTLY_MINIMIZE_SECONDS (default 60) of budget, written with its
 * standalone C regression test (regression.c) beside @trace_path.  When
 * that fails (a candidate crashed the model, the finding does not
 * reproduce in process) the replay's reproducer - the first input as a
 * text trace, whole - is the trace, and @minimized is false.  A finding
 * without a text reproducer (a crash, a hang, a sanitizer's report) gets
 * no trace: false, its input is what is kept.
 */
bool minimize_finding(const struct cli_fuzz_sig *sig, const char *target,
		      const char *trace_path, bool *minimized);

#endif /* MMT_TOOLS_STORE_H */
