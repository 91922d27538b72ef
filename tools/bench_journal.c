/* SPDX-License-Identifier: MIT */
/*
 * tools/bench_journal.c - `bench bugs --journal FILE`: the finished trials
 * of a long run, one JSON object per line.
 *
 * Why.  The full run (every bug, every engine, 10 trials of 5
 * minutes) is days of one core; no single session or CI job holds it.
 * With a journal the run is the sum of its pieces: rerun the same command
 * and every trial already written is read back instead of run, so a
 * killed run, a run spread over nights, or shards on several machines
 * (`--bugs` lists, journals concatenated) end in the same JSON and table.
 *
 * Format.  Each line is an object with the key fields "kind" ("trial":
 * a bug's run, "what" the bug; "nobug": a false-positive run, "what" the
 * target), "engine", "seed", "budget" (seconds), then the trial's results
 * as bench bugs reports them, and "when" and "load" (the host's one-minute
 * load average when it ended: a trial on a busy host is slow, and the
 * journal says so).  A trial is identified by its key: a record of
 * another budget is kept in the file and ignored by this run.  A second
 * record of the same key wins (a rerun of a trial after its record was
 * judged wrong is appended, never edited in place).
 *
 * Crash safety.  A record is one write(2) of the whole line on an
 * O_APPEND descriptor, then fsync: after a kill the file ends with whole
 * lines, or with one line cut short, which open() drops with a note (its
 * trial runs again: nothing that finished is lost, nothing half-written
 * is believed).  Any other line that does not parse, or lacks a key
 * field, fails the open naming FILE:LINE, and the file is not touched:
 * the user decides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_journal.h"

struct bb_journal {
	char *path;
	int fd;
	json_t *by_key; /* key -> record (the last one read or written) */
	json_t *reused; /* key -> true, for those find() returned */
	size_t records;
};

static void make_key(char *key, size_t len, const char *kind, const char *what,
		     const char *engine, unsigned long seed,
		     unsigned long budget)
{
	snprintf(key, len, "%s|%s|%s|%lu|%lu", kind, what, engine, seed,
		 budget);
}

/* The key of record @rec, false if a key field is missing or mistyped. */
static bool record_key(json_t *rec, char *key, size_t len, const char **why)
{
	json_t *kind = json_object_get(rec, "kind"),
	       *what = json_object_get(rec, "what"),
	       *engine = json_object_get(rec, "engine"),
	       *seed = json_object_get(rec, "seed"),
	       *budget = json_object_get(rec, "budget");

	if (!json_is_string(kind) ||
	    (strcmp(json_string_value(kind), "trial") &&
	     strcmp(json_string_value(kind), "nobug"))) {
		*why = "\"kind\" is not \"trial\" or \"nobug\"";
		return false;
	}
	if (!json_is_string(what) || !json_is_string(engine)) {
		*why = "\"what\" or \"engine\" is missing or not a string";
		return false;
	}
	if (!json_is_integer(seed) || json_integer_value(seed) < 0 ||
	    !json_is_integer(budget) || json_integer_value(budget) <= 0) {
		*why = "\"seed\" or \"budget\" is missing or not a count";
		return false;
	}
	make_key(key, len, json_string_value(kind), json_string_value(what),
		 json_string_value(engine),
		 (unsigned long)json_integer_value(seed),
		 (unsigned long)json_integer_value(budget));
	return true;
}

/* Read every line of @f into @j; false with "PATH:LINE: why" in @err. */
static bool read_lines(struct bb_journal *j, FILE *f, char *err, size_t len,
		       char *note, size_t note_len)
{
	char *line = NULL, key[512];
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	bool ok = true;

	while (ok && (n = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *rec;
		const char *why = NULL;

		lineno++;
		if (line[n - 1] != '\n') {
			/* The last line, cut by a kill: its trial runs again. */
			snprintf(
				note, note_len,
				"%s:%lu: the last record was cut short (a killed run?): dropped, its trial runs again",
				j->path, lineno);
			break;
		}
		if (n == 1)
			continue; /* an empty line: nothing */
		rec = json_loads(line, 0, &je);
		if (!rec || !json_is_object(rec)) {
			snprintf(err, len, "%s:%lu: not a JSON object (%s)",
				 j->path, lineno,
				 rec ? "another JSON value" : je.text);
			json_decref(rec);
			ok = false;
		} else if (!record_key(rec, key, sizeof(key), &why)) {
			snprintf(err, len, "%s:%lu: %s", j->path, lineno, why);
			json_decref(rec);
			ok = false;
		} else {
			json_object_set_new(j->by_key, key, rec);
			j->records++;
		}
	}
	free(line);
	if (ok && ferror(f)) {
		snprintf(err, len, "%s: read error: %s", j->path,
			 strerror(errno));
		ok = false;
	}
	return ok;
}

/*
 * Cut a torn last line off, so the next record starts on a line of its
 * own (O_APPEND would glue it to the fragment).
 */
static bool drop_torn_tail(struct bb_journal *j, char *err, size_t len)
{
	off_t end = lseek(j->fd, 0, SEEK_END), at = end;
	char c;

	while (at > 0) {
		if (pread(j->fd, &c, 1, at - 1) != 1) {
			snprintf(err, len, "%s: cannot read back: %s", j->path,
				 strerror(errno));
			return false;
		}
		if (c == '\n')
			break;
		at--;
	}
	if (at != end && (ftruncate(j->fd, at) || fsync(j->fd))) {
		snprintf(err, len, "%s: cannot drop the cut record: %s",
			 j->path, strerror(errno));
		return false;
	}
	return true;
}

struct bb_journal *bb_journal_open(const char *path, char *err, size_t len,
				   char *note, size_t note_len)
{
	struct bb_journal *j = calloc(1, sizeof(*j));
	FILE *f;

	if (note_len)
		note[0] = '\0';
	if (!j) {
		snprintf(err, len, "%s: out of memory", path);
		return NULL;
	}
	j->path = strdup(path);
	j->by_key = json_object();
	j->reused = json_object();
	j->fd = -1;
	if (!j->path || !j->by_key || !j->reused) {
		snprintf(err, len, "%s: out of memory", path);
		bb_journal_close(j);
		return NULL;
	}
	f = fopen(path, "r");
	if (f) {
		bool ok = read_lines(j, f, err, len, note, note_len);

		fclose(f);
		if (!ok) {
			bb_journal_close(j);
			return NULL;
		}
	} else if (errno != ENOENT) {
		snprintf(err, len, "%s: cannot read: %s", path,
			 strerror(errno));
		bb_journal_close(j);
		return NULL;
	}
	j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (j->fd < 0) {
		snprintf(err, len, "%s: cannot open for writing: %s", path,
			 strerror(errno));
		bb_journal_close(j);
		return NULL;
	}
	if (note_len && note[0] && !drop_torn_tail(j, err, len)) {
		bb_journal_close(j);
		return NULL;
	}
	return j;
}

void bb_journal_close(struct bb_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	json_decref(j->by_key);
	json_decref(j->reused);
	free(j->path);
	free(j);
}

json_t *bb_journal_find(struct bb_journal *j, const char *kind,
			const char *what, const char *engine,
			unsigned long seed, unsigned long budget)
{
	char key[512];
	json_t *rec;

	make_key(key, sizeof(key), kind, what, engine, seed, budget);
	rec = json_object_get(j->by_key, key);
	if (rec)
		json_object_set_new(j->reused, key, json_true());
	return rec;
}

bool bb_journal_append(struct bb_journal *j, const char *kind, const char *what,
		       const char *engine, unsigned long seed,
		       unsigned long budget, json_t *rec, char *err, size_t len)
{
	char key[512], when[32], *line;
	double load[1] = { -1 };
	time_t now = time(NULL);
	size_t n;
	ssize_t w;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (getloadavg(load, 1) < 1)
		load[0] = -1;
	json_object_set_new(rec, "kind", json_string(kind));
	json_object_set_new(rec, "what", json_string(what));
	json_object_set_new(rec, "engine", json_string(engine));
	json_object_set_new(rec, "seed", json_integer((json_int_t)seed));
	json_object_set_new(rec, "budget", json_integer((json_int_t)budget));
	json_object_set_new(rec, "when", json_string(when));
	json_object_set_new(rec, "load", json_real(load[0]));
	line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line) {
		snprintf(err, len, "%s: cannot encode a record", j->path);
		json_decref(rec);
		return false;
	}
	n = strlen(line);
	line[n] =
		'\n'; /* json_dumps' terminator: one write, newline included */
	w = write(j->fd, line, n + 1);
	free(line);
	if (w != (ssize_t)(n + 1) || fsync(j->fd)) {
		snprintf(err, len, "%s: cannot append a record: %s", j->path,
			 w < 0 ? strerror(errno) : "short write or fsync");
		json_decref(rec);
		return false;
	}
	make_key(key, sizeof(key), kind, what, engine, seed, budget);
	json_object_set_new(j->by_key, key, rec);
	return true;
}

size_t bb_journal_records(const struct bb_journal *j)
{
	return j->records;
}

size_t bb_journal_reused(const struct bb_journal *j)
{
	return json_object_size(j->reused);
}
