/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_nightly.c - `mmtorture nightly`: the budgeted nightly run over
 * a work directory that survives kill -9 (docs/workflow.md, "Nightly and
 * the findings store").
 *
 * What it does, in order:
 *  1. picks the work directory (--workdir, or the newest unfinished one
 *     under the reports directory, or a new reports/STAMP/) and locks it;
 *  2. reads its state (nightly.json) and its findings store
 *     (tools/store.c); whatever cannot be read is reported by path and
 *     skipped;
 *  3. a new work directory starts its corpora from the newest earlier
 *     night's (reports/STAMP/corpus/T/), so the corpus grows night after
 *     night;
 *  4. replays every target's regression corpus (corpora/T/regress/);
 *  5. fuzzes each (target, engine) slot for its share of the budget with
 *     libFuzzer (-fork=JOBS) and AFL++ (one main, JOBS-1 secondaries),
 *     through tools/cmd_fuzz.c (tools/fuzzrun.h), then stores what the
 *     engine saved, deduplicated by signature, and removes the crash files
 *     it stored;
 *  6. writes junit.xml, index.html and, last, summary.json with
 *     "complete": true.
 *
 * Resuming.  The state is written atomically at each progress sample and
 * at each slot's end: the time a slot has spent, its executions, its
 * samples.  A rerun over the same directory skips the slots that ended,
 * first replays the crash files a killed slot left behind (they are
 * replayed at that slot's end: the engine's crash directory outlives it),
 * and gives each unfinished slot what remains of its share.  The engines
 * die with this process (PR_SET_PDEATHSIG) and their temporary files go to
 * WORKDIR/tmp (TMPDIR), which is emptied at start, after each slot and at
 * the end.  A killed run leaves no summary.json: the report files of an
 * unfinished run are removed when it resumes.
 *
 * Exit status: 0 no finding and every regression clean, 1 findings (new
 * or still there) or a regression that fires, 2 the run itself failed (no
 * engine binaries, an engine that could not run, a work directory that
 * cannot be written) or wrong usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fuzzrun.h"
#include "mmt/mmt.h"
#include "nightly.h"
#include "plugins/heap.h"
#include "replay.h"
#include "store.h"

#ifndef MMT_SOURCE_DIR
#define MMT_SOURCE_DIR "."
#endif
#ifndef MMT_VERSION
#define MMT_VERSION "unknown"
#endif

#define STATE_FORMAT 1

enum {
	OPT_BUDGET = 256,
	OPT_WORKDIR,
	OPT_JOBS,
	OPT_TARGETS,
	OPT_ENGINES,
	OPT_ALLOCATOR,
	OPT_BUG,
	OPT_BUILD,
	OPT_REPORTS,
	OPT_REPLAY_TIMEOUT,
	OPT_HELP,
};

struct nightly {
	char workdir[PATH_MAX];
	char reports[PATH_MAX];
	char tmp[PATH_MAX + 8];
	const char *build;
	const char *allocator; /* the malloc target's (NULL: glibc) */
	json_t *state; /* nightly.json */
	struct store store;
	unsigned long replay_timeout;
	bool tty;
	FILE *log; /* WORKDIR/nightly.log */
	double t0;
	/* the slot running: for the progress hook */
	json_t *slot;
	const char *slot_name;
	double spent0, slot_t0;
	unsigned long long execs0;
	double last_sample, sample_every, last_log;
	unsigned long long last_execs; /* the counts only grow */
	size_t slot_index, nr_slots;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* A line for the log file and, off a terminal, for stdout. */
static void MMT_PRINTF(2, 3) say(struct nightly *n, const char *fmt, ...)
{
	char line[1024], stamp[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	iso_time(time(NULL), stamp, sizeof(stamp));
	if (n->log) {
		fprintf(n->log, "%s %s\n", stamp, line);
		fflush(n->log);
	}
	if (n->tty)
		printf("\r\033[K%s\n", line);
	else
		printf("nightly: %s\n", line);
	fflush(stdout);
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static bool save_state(struct nightly *n)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/nightly.json", n->workdir);
	if (store_write_json(path, n->state))
		return true;
	fprintf(stderr, "%s nightly: cannot write %s: %s\n", CLI_PROG, path,
		strerror(errno));
	return false;
}

/* ---- progress ---- */

static void fmt_hms(double s, char *buf, size_t len)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

static void progress_line(struct nightly *n, double spent,
			  unsigned long long execs, unsigned long cov,
			  unsigned long crashes, char *buf, size_t len)
{
	char el[24], bud[24];

	fmt_hms(spent, el, sizeof(el));
	fmt_hms(num(n->slot, "budget_seconds"), bud, sizeof(bud));
	snprintf(
		buf, len,
		"[%zu/%zu] %s %s/%s  execs %llu  exec/s %.0f  cov %lu  findings %zu (+%lu crash files)",
		n->slot_index + 1, n->nr_slots, n->slot_name, el, bud, execs,
		spent > 0 ? (double)execs / spent : 0, cov, n->store.nr,
		crashes);
}

/* About once a second while an engine runs (tools/fuzzrun.h). */
static void tick(void *arg, const struct cli_fuzz_progress *p)
{
	struct nightly *n = arg;
	double spent = n->spent0 + p->elapsed;
	unsigned long long execs = n->execs0 + p->execs > n->last_execs ?
					   n->execs0 + p->execs :
					   n->last_execs;
	unsigned long cov = p->cov > (unsigned long)num(n->slot, "coverage") ?
				    p->cov :
				    (unsigned long)num(n->slot, "coverage");
	char line[512];

	n->last_execs = execs;
	progress_line(n, spent, execs, cov, p->crashes, line, sizeof(line));
	if (n->tty) {
		printf("\r\033[K%s", line);
		fflush(stdout);
	} else if (p->elapsed - n->last_log >= 10) {
		n->last_log = p->elapsed;
		say(n, "%s", line);
	}
	if (p->elapsed - n->last_sample >= n->sample_every) {
		json_t *samples = json_object_get(n->slot, "samples");

		n->last_sample = p->elapsed;
		json_object_set_new(n->slot, "spent_seconds", json_real(spent));
		json_object_set_new(n->slot, "execs",
				    json_integer((json_int_t)execs));
		json_object_set_new(n->slot, "coverage",
				    json_integer((json_int_t)cov));
		if (json_is_array(samples))
			json_array_append_new(
				samples,
				json_pack("[f, I, I, I]", spent,
					  (json_int_t)execs, (json_int_t)cov,
					  (json_int_t)n->store.nr));
		save_state(n);
	}
}

/* ---- the work directory ---- */

/* @dir holds a complete summary.json (the run ended): its exit status. */
static bool run_complete(const char *dir, int *status)
{
	char path[PATH_MAX + 16];
	json_t *j;
	bool done;

	snprintf(path, sizeof(path), "%s/summary.json", dir);
	j = json_load_file(path, 0, NULL);
	done = j && json_is_true(json_object_get(j, "complete"));
	if (done && status)
		*status = (int)json_integer_value(
			json_object_get(j, "exit_status"));
	json_decref(j);
	return done;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The nightly work directories under @reports (those with nightly.json),
 * oldest first by name (reports/STAMP); NULL-terminated, free each and it.
 */
static char **work_dirs(const char *reports, size_t *nr)
{
	size_t n = 0, i, k = 0;
	char **paths = cli_dir_entries(reports, &n);

	for (i = 0; paths && i < n; i++) {
		char state[PATH_MAX + 16];

		snprintf(state, sizeof(state), "%s/nightly.json", paths[i]);
		if (!access(state, F_OK))
			paths[k++] = paths[i];
		else
			free(paths[i]);
	}
	if (paths)
		qsort(paths, k, sizeof(*paths), name_cmp);
	*nr = k;
	return paths;
}

static void free_list(char **l, size_t nr)
{
	size_t i;

	for (i = 0; l && i < nr; i++)
		free(l[i]);
	free(l);
}

/* Copy the files of @from missing in @to (a corpus). */
static unsigned long copy_missing(const char *from, const char *to)
{
	size_t nr = 0, i;
	char **paths = cli_dir_entries(from, &nr);
	unsigned long copied = 0;

	for (i = 0; paths && i < nr; i++) {
		char dst[PATH_MAX + 64];
		struct stat st;

		if (snprintf(dst, sizeof(dst), "%s/%s", to,
			     strrchr(paths[i], '/') + 1) >= (int)sizeof(dst))
			continue; /* no such path on this system */
		if (!lstat(paths[i], &st) && S_ISREG(st.st_mode) &&
		    access(dst, F_OK) && cli_copy_file(paths[i], dst))
			copied++;
		free(paths[i]);
	}
	free(paths);
	return copied;
}

/* ---- regressions ---- */

struct regress_ctx {
	char signature[224];
};

static void regress_finding(struct cli_replay *r, const char *path,
			    const char *reproducer, const struct mmt_finding *f)
{
	struct regress_ctx *c = r->arg;

	(void)path;
	(void)reproducer;
	snprintf(c->signature, sizeof(c->signature), "%s", f->signature);
}

static void regress_crash(struct cli_replay *r, const char *path,
			  const struct cli_child *ch, const char *report)
{
	struct regress_ctx *c = r->arg;

	(void)path;
	(void)report;
	snprintf(c->signature, sizeof(c->signature), "%s", ch->signature);
}

/*
 * Replay corpora/T/regress/ of every target, each file in a child
 * process: a regression passes when it runs clean or blocked.
 */
static json_t *replay_regressions(struct nightly *n, json_t *targets,
				  unsigned long *failed)
{
	json_t *out = json_array(), *t;
	char capture[PATH_MAX + 16];
	FILE *devnull = fopen("/dev/null", "w");
	size_t i;

	*failed = 0;
	snprintf(capture, sizeof(capture), "%s/regress", n->tmp);
	cli_mkdirs(capture);
	json_array_foreach(targets, i, t)
	{
		char dir[PATH_MAX];
		size_t nr = 0, k;
		char **paths;

		snprintf(dir, sizeof(dir), "%s/corpora/%s/regress",
			 MMT_SOURCE_DIR, json_string_value(t));
		paths = cli_dir_entries(dir, &nr);
		for (k = 0; paths && k < nr; k++) {
			const char *base = strrchr(paths[k], '/') + 1;
			struct regress_ctx c = { "" };
			struct cli_replay r;
			unsigned long before_ok, before_blocked;
			const char *result;
			double t1 = now();

			if (!strstr(base, ".trace") || base[0] == '.') {
				free(paths[k]);
				continue;
			}
			cli_replay_init(&r);
			r.target = json_string_value(t);
			r.quiet = true;
			r.out = devnull;
			r.arg = &c;
			r.on_finding = regress_finding;
			r.on_crash = regress_crash;
			r.capture_dir = capture;
			r.timeout = n->replay_timeout;
			before_ok = r.ok;
			before_blocked = r.blocked;
			cli_replay_one(&r, paths[k]);
			if (r.ok > before_ok)
				result = "ok";
			else if (r.blocked > before_blocked)
				result = "blocked";
			else if (r.crashes)
				result = "crash";
			else if (r.hangs)
				result = "hang";
			else if (r.findings)
				result = "finding";
			else
				result = "error";
			if (strcmp(result, "ok") && strcmp(result, "blocked"))
				(*failed)++;
			json_array_append_new(
				out,
				json_pack("{s:s, s:s, s:s, s:s, s:f}", "target",
					  json_string_value(t), "file", base,
					  "result", result, "signature",
					  c.signature, "seconds", now() - t1));
			free(paths[k]);
		}
		free(paths);
	}
	if (devnull)
		fclose(devnull);
	return out;
}

/* ---- options and state ---- */

struct nightly_opts {
	unsigned long budget, jobs, replay_timeout;
	const char *workdir, *targets, *engines, *build, *reports;
	const char *allocator; /* the malloc target's: glibc by default */
	uint64_t bugs;
	bool budget_given;
};

static void nightly_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s nightly [--budget D] [--workdir DIR] [--jobs N] [options]\n"
		"\n"
		"The nightly run: replay every regression corpus, fuzz every target with\n"
		"libFuzzer (-fork=N) and AFL++ (one main, N-1 secondaries) for its share of\n"
		"the budget, store each distinct finding once in the work directory, and\n"
		"write the report: summary.json (docs/nightly-summary.schema.json),\n"
		"junit.xml and index.html.  It builds nothing: it runs the fuzz-T and afl-T\n"
		"binaries of its build tree (build/fuzz and build/afl); missing ones name\n"
		"the preset to build.\n"
		"\n"
		"Options:\n"
		"  --budget D        the whole run: 90, 90s, 5m, 8h (default 8h)\n"
		"  --workdir DIR     work directory (default: resume the newest unfinished\n"
		"                    one under the reports directory, else a new REPORTS/STAMP)\n"
		"  --jobs N          engine processes at a time (default: the online CPUs)\n"
		"  --targets T,T     only these targets (default all, malloc included)\n"
		"  --allocator A     the malloc target's allocator: glibc (default),\n"
		"                    jemalloc, mimalloc or PATH.so\n"
		"  --engines E,E     libfuzzer, afl (default both; AFL++ is skipped with a\n"
		"                    note when the afl preset is not built)\n"
		"  --bug ID          turn on an injectable bug (repeatable, or ID,ID)\n"
		"  --build DIR       where the fuzz-T binaries are (default: found)\n"
		"  --reports DIR     where earlier nights are (default: the work directory's\n"
		"                    parent with --workdir, else reports/ of the source tree)\n"
		"  --replay-timeout S  wall-clock seconds the replay of one input may take\n"
		"  --help            this text\n"
		"\n"
		"Rerun over the same work directory to resume a killed run: the slots that\n"
		"ended are kept, the crash files left behind are processed, the others get\n"
		"what remains of their share.  A later night starts from the corpus the\n"
		"newest earlier night grew.\n"
		"Exit status: 0 clean, 1 findings or a failing regression, 2 the run failed\n"
		"(or usage).\n",
		CLI_PROG);
}

static int parse_opts(int argc, char **argv, struct nightly_opts *o)
{
	static const struct option opts[] = {
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "targets", required_argument, NULL, OPT_TARGETS },
		{ "allocator", required_argument, NULL, OPT_ALLOCATOR },
		{ "engines", required_argument, NULL, OPT_ENGINES },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "reports", required_argument, NULL, OPT_REPORTS },
		{ "replay-timeout", required_argument, NULL,
		  OPT_REPLAY_TIMEOUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v, mask;
	char err[256];
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_BUDGET:
			if (!cli_parse_duration(optarg, &o->budget))
				return cli_usage_error(
					"nightly",
					"--budget: '%s' is not a duration (90, 90s, 5m, 8h; 1 s to 7 days)",
					optarg);
			o->budget_given = true;
			break;
		case OPT_WORKDIR:
			o->workdir = optarg;
			break;
		case OPT_JOBS:
			if (!cli_parse_u64("nightly", "--jobs", optarg, 1, 16,
					   &v))
				return CLI_EXIT_USAGE;
			o->jobs = v;
			break;
		case OPT_TARGETS: {
			const char *p = optarg;
			mmt_opset_t ops;

			for (;;) {
				size_t k = strcspn(p, ",");
				char name[64];

				snprintf(name, sizeof(name), "%.*s", (int)k, p);
				if (!k || k >= sizeof(name) ||
				    (!mmt_trace_target_ops(name, &ops) &&
				     strcmp(name, "malloc")))
					return cli_usage_error(
						"nightly",
						"--targets: '%.*s' is no target (see `%s list targets`)",
						(int)k, p, CLI_PROG);
				if (!p[k])
					break;
				p += k + 1;
			}
			o->targets = optarg;
			break;
		}
		case OPT_ALLOCATOR: {
			struct mmt_heap h;
			char err[512];
			bool unknown;

			/* Refused now, by name and reason, not slots later. */
			if (!mmt_heap_open(optarg, &h, &unknown, err,
					   sizeof(err)))
				return cli_usage_error("nightly",
						       "--allocator: %s", err);
			o->allocator = optarg;
			break;
		}
		case OPT_ENGINES: {
			const char *p = optarg;

			for (;;) {
				size_t k = strcspn(p, ",");

				if (!((k == 9 && !strncmp(p, "libfuzzer", 9)) ||
				      (k == 3 && !strncmp(p, "afl", 3))))
					return cli_usage_error(
						"nightly",
						"--engines: '%.*s' is not libfuzzer or afl",
						(int)k, p);
				if (!p[k])
					break;
				p += k + 1;
			}
			o->engines = optarg;
			break;
		}
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("nightly", "--bug: %s",
						       err);
			o->bugs |= mask;
			break;
		case OPT_BUILD:
			o->build = optarg;
			break;
		case OPT_REPORTS:
			o->reports = optarg;
			break;
		case OPT_REPLAY_TIMEOUT:
			if (!cli_parse_u64("nightly", "--replay-timeout",
					   optarg, 0, 7 * 24 * 3600, &v))
				return CLI_EXIT_USAGE;
			o->replay_timeout = v;
			break;
		case 'h':
		case OPT_HELP:
			nightly_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("nightly", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("nightly", "unexpected argument '%s'",
				       argv[optind]);
	return -1;
}

/* The state of a new run: its options and one slot per target and engine. */
static json_t *new_state(const struct nightly_opts *o, bool afl_ok,
			 const char *afl_why)
{
	json_t *st, *targets = json_array(), *engines = json_array(),
		    *slots = json_object();
	size_t i, nr = 0, k;
	const char *name;
	char bugs[512], started[32];

	for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++)
		if (!o->targets || cli_in_list(o->targets, name))
			json_array_append_new(targets, json_string(name));
	/* A user's allocator under the object-level harness (--allocator). */
	if (!o->targets || cli_in_list(o->targets, "malloc"))
		json_array_append_new(targets, json_string("malloc"));
	if (!o->engines || cli_in_list(o->engines, "libfuzzer"))
		json_array_append_new(engines, json_string("libfuzzer"));
	if (!o->engines || cli_in_list(o->engines, "afl"))
		json_array_append_new(engines, json_string("afl"));
	/* The budget is shared by the slots that run (AFL++'s may not). */
	for (k = 0; k < json_array_size(engines); k++)
		if (afl_ok ||
		    strcmp(json_string_value(json_array_get(engines, k)),
			   "afl"))
			nr += json_array_size(targets);
	if (!nr)
		nr = 1;
	for (i = 0; i < json_array_size(targets); i++)
		for (k = 0; k < json_array_size(engines); k++) {
			const char *t = json_string_value(
					   json_array_get(targets, i)),
				   *e = json_string_value(
					   json_array_get(engines, k));
			char key[128], dir[PATH_MAX], why[PATH_MAX + 96];
			bool skip = !strcmp(e, "afl") && !afl_ok;

			snprintf(why, sizeof(why), "%s", afl_why);
			/*
			 * An afl build without this target's binary (older
			 * than the target): that slot is skipped with a note,
			 * as AFL++ is when the afl preset is not built.
			 */
			if (!skip && !strcmp(e, "afl") &&
			    !cli_fuzz_have_engine(t, true, NULL, dir,
						  sizeof(dir))) {
				skip = true;
				snprintf(
					why, sizeof(why),
					"no afl-%s in %s: rebuild the afl preset",
					t, dir);
			}
			snprintf(key, sizeof(key), "%s/%s", t, e);
			json_object_set_new(
				slots, key,
				json_pack(
					"{s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:b, s:s, s:s, s:[], s:[]}",
					"target", t, "engine", e,
					"budget_seconds",
					(double)o->budget / (double)nr,
					"spent_seconds", 0.0, "execs",
					(json_int_t)0, "coverage",
					(json_int_t)0, "crashes", (json_int_t)0,
					"done", skip, "status",
					skip ? "skipped" : "pending", "error",
					skip ? why : "", "findings",
					"samples"));
		}
	mmt_bugs_format(o->bugs, bugs, sizeof(bugs));
	iso_time(time(NULL), started, sizeof(started));
	st = json_pack(
		"{s:i, s:s, s:I, s:I, s:I, s:o, s:o, s:s, s:I, s:o, s:i}",
		"format", STATE_FORMAT, "started", started, "budget_seconds",
		(json_int_t)o->budget, "jobs", (json_int_t)o->jobs, "bugs_mask",
		(json_int_t)o->bugs, "targets", targets, "engines", engines,
		"bugs", o->bugs ? bugs : "", "replay_timeout",
		(json_int_t)o->replay_timeout, "slots", slots, "invocations",
		0);
	return st;
}

/* A state read back: the fields this code relies on, with their types. */
static bool state_ok(json_t *st)
{
	json_t *slots = json_object_get(st, "slots"), *s;
	const char *k;

	if (!json_is_object(st) ||
	    json_integer_value(json_object_get(st, "format")) != STATE_FORMAT ||
	    !json_is_array(json_object_get(st, "targets")) ||
	    !json_is_array(json_object_get(st, "engines")) ||
	    !json_is_integer(json_object_get(st, "budget_seconds")) ||
	    !json_is_object(slots))
		return false;
	json_object_foreach(
		slots, k,
		s) if (!json_is_string(json_object_get(s, "target")) ||
		       !json_is_string(json_object_get(s, "engine")) ||
		       !json_is_number(json_object_get(s, "budget_seconds")) ||
		       !json_is_number(json_object_get(s, "spent_seconds")) ||
		       !json_is_array(json_object_get(s, "samples")) ||
		       !json_is_array(
			       json_object_get(s, "findings"))) return false;
	return true;
}

/* ---- one slot ---- */

static bool run_slot(struct nightly *n, json_t *slot, const char *name,
		     uint64_t bugs, unsigned long jobs)
{
	const char *target = json_string_value(json_object_get(slot, "target"));
	const char *engine = json_string_value(json_object_get(slot, "engine"));
	double budget = num(slot, "budget_seconds"),
	       spent = num(slot, "spent_seconds"), left = budget - spent;
	char out[PATH_MAX + 128], corpus[PATH_MAX + 128], when[32];
	struct cli_fuzz_spec spec = { 0 };
	struct cli_fuzz_outcome res;
	json_t *keys = json_object_get(slot, "findings");
	unsigned long new_ones = 0;
	size_t i;

	snprintf(out, sizeof(out), "%s/engines/%s-%s", n->workdir, target,
		 engine);
	snprintf(corpus, sizeof(corpus), "%s/corpus/%s", n->workdir, target);
	cli_mkdirs(corpus);
	cli_mkdirs(n->tmp);
	spec.target = target;
	spec.allocator = n->allocator;
	spec.afl = !strcmp(engine, "afl");
	spec.seconds = left >= 1 ? (unsigned long)(left + 0.5) : 0;
	spec.collect_only = left < 1;
	spec.jobs = jobs;
	spec.bugs = bugs;
	spec.out = out;
	spec.corpus = corpus;
	spec.build = n->build;
	spec.tmpdir = n->tmp;
	spec.replay_timeout = n->replay_timeout;
	spec.tick = tick;
	spec.arg = n;
	n->slot = slot;
	n->slot_name = name;
	n->spent0 = spent;
	n->execs0 = (unsigned long long)num(slot, "execs");
	n->last_sample = n->last_log = 0;
	n->last_execs = n->execs0;
	n->slot_t0 = now();
	n->sample_every = budget / 60 > 1 ? budget / 60 : 1;
	if (spec.collect_only)
		say(n,
		    "%s: budget spent; processing the crash files left in %s",
		    name, out);
	else
		say(n, "%s: %lu s%s (%lu job(s))", name, spec.seconds,
		    spent > 0 ? " left, resumed" : "", jobs);
	json_object_set_new(slot, "status", json_string("running"));
	save_state(n);
	if (cli_fuzz_run(&spec, &res)) {
		if (n->tty)
			printf("\r\033[K");
		say(n, "%s: FAILED: %s", name, res.error);
		json_object_set_new(slot, "status", json_string("failed"));
		json_object_set_new(slot, "error", json_string(res.error));
		json_object_set_new(slot, "done", json_true());
		cli_fuzz_outcome_free(&res);
		save_state(n);
		return false;
	}
	iso_time(time(NULL), when, sizeof(when));
	for (i = 0; i < res.nr_sigs; i++) {
		bool is_new;
		char key[96];

		if (store_add(&n->store, &res.sigs[i], target, engine, when,
			      &is_new)) {
			new_ones += is_new;
			store_key(res.sigs[i].oracle, res.sigs[i].signature,
				  key, sizeof(key));
			{
				size_t j;
				json_t *v;
				bool have = false;

				json_array_foreach(keys, j, v)
					have |= !strcmp(json_string_value(v),
							res.sigs[i].signature);
				if (!have)
					json_array_append_new(
						keys,
						json_string(
							res.sigs[i].signature));
			}
		}
	}
	/* stored: a rerun must not count them again */
	cli_fuzz_consume_saved(out);
	/*
	 * The budget pays for the slot's wall time, the replay and the
	 * store included; exec/s is over the engines' own seconds.
	 */
	spent += now() - n->slot_t0;
	json_object_set_new(slot, "spent_seconds", json_real(spent));
	json_object_set_new(
		slot, "engine_seconds",
		json_real(num(slot, "engine_seconds") + res.seconds));
	if (res.execs < n->last_execs - n->execs0)
		res.execs = n->last_execs - n->execs0;
	json_object_set_new(slot, "execs",
			    json_integer((json_int_t)(n->execs0 + res.execs)));
	if (res.cov > (unsigned long)num(slot, "coverage"))
		json_object_set_new(slot, "coverage",
				    json_integer((json_int_t)res.cov));
	json_object_set_new(slot, "crashes",
			    json_integer((json_int_t)num(slot, "crashes") +
					 (json_int_t)res.crashes));
	json_array_append_new(json_object_get(slot, "samples"),
			      json_pack("[f, I, I, I]", spent,
					(json_int_t)(n->execs0 + res.execs),
					(json_int_t)num(slot, "coverage"),
					(json_int_t)n->store.nr));
	json_object_set_new(slot, "status", json_string("done"));
	json_object_set_new(slot, "done", json_true());
	save_state(n);
	if (n->tty)
		printf("\r\033[K");
	say(n,
	    "%s: %.0f s, %llu execs (%.0f exec/s), cov %lu, %zu finding(s) (%lu new in the store)",
	    name, spent, n->execs0 + res.execs,
	    spent > 0 ? (double)(n->execs0 + res.execs) / spent : 0.0,
	    (unsigned long)num(slot, "coverage"), json_array_size(keys),
	    new_ones);
	cli_fuzz_outcome_free(&res);
	store_rmtree(n->tmp);
	return true;
}

/*
 * A slot about to start gets what the budget has left over the slots yet
 * to start: an engine that overran its share (libFuzzer's -fork ends its
 * jobs after -max_total_time, the replay follows) is paid for by the
 * slots after it, and the run keeps to its budget.
 */
static void rebalance(json_t *st, json_t *start)
{
	double left = num(st, "budget_seconds");
	size_t pending = 0;
	const char *k;
	json_t *s;

	json_object_foreach(json_object_get(st, "slots"), k, s)
	{
		left -= num(s, "spent_seconds");
		if (json_is_true(json_object_get(s, "done")))
			continue;
		if (num(s, "spent_seconds") > 0)
			/* a resumed slot still has the rest of its share */
			left -= num(s, "budget_seconds") -
				num(s, "spent_seconds");
		else
			pending++;
	}
	if (pending)
		json_object_set_new(start, "budget_seconds",
				    json_real(left / (double)pending > 1 ?
						      left / (double)pending :
						      1));
}

/* ---- the command ---- */

/* The injectable bugs' names of @mask as a JSON array. */
static json_t *bug_names(uint64_t mask)
{
	char buf[1024], *w, *save = NULL;
	json_t *arr = json_array();

	if (!mask)
		return arr;
	mmt_bugs_format(mask, buf, sizeof(buf));
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(w));
	return arr;
}

int cmd_nightly(int argc, char **argv)
{
	struct nightly_opts o = { .budget = 8 * 3600,
				  .replay_timeout =
					  CLI_ISOLATE_DEFAULT_TIMEOUT };
	struct nightly n;
	char lock_path[PATH_MAX + 16], path[PATH_MAX + 32], build_dir[PATH_MAX],
		afl_dir[PATH_MAX], afl_why[PATH_MAX + 160] = "";
	const char *first = NULL, *name, *k;
	json_t *st = NULL, *slots, *slot, *regress, *targets;
	unsigned long reg_failed = 0;
	bool afl_ok = true, failed = false, resumed = false;
	size_t i;
	int rc, lock_fd, status;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	o.jobs = cpus > 0 ? (unsigned long)(cpus > 16 ? 16 : cpus) : 1;
	rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	memset(&n, 0, sizeof(n));
	n.tty = isatty(STDOUT_FILENO);
	n.t0 = now();
	n.build = o.build;
	n.allocator = o.allocator;
	/* The earlier nights are the work directory's siblings. */
	if (o.reports) {
		snprintf(n.reports, sizeof(n.reports), "%s", o.reports);
	} else if (o.workdir) {
		char *slash;

		snprintf(n.reports, sizeof(n.reports), "%s", o.workdir);
		while (strlen(n.reports) > 1 &&
		       n.reports[strlen(n.reports) - 1] == '/')
			n.reports[strlen(n.reports) - 1] = '\0';
		slash = strrchr(n.reports, '/');
		if (slash && slash != n.reports)
			*slash = '\0';
		else
			snprintf(n.reports, sizeof(n.reports), "%s",
				 slash ? "/" : ".");
	} else {
		snprintf(n.reports, sizeof(n.reports), "%s",
			 MMT_SOURCE_DIR "/reports");
	}

	/* The work directory: given, the newest unfinished, or new. */
	if (o.workdir) {
		size_t len;

		snprintf(n.workdir, sizeof(n.workdir), "%s", o.workdir);
		/* "DIR/" is DIR: its parent holds the earlier nights */
		len = strlen(n.workdir);
		while (len > 1 && n.workdir[len - 1] == '/')
			n.workdir[--len] = '\0';
	} else {
		size_t nr;
		char **dirs = work_dirs(n.reports, &nr);

		if (nr && !run_complete(dirs[nr - 1], NULL)) {
			snprintf(n.workdir, sizeof(n.workdir), "%s",
				 dirs[nr - 1]);
		} else {
			char stamp[32];
			time_t t = time(NULL);

			strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S",
				 localtime(&t));
			snprintf(n.workdir, sizeof(n.workdir), "%.4000s/%s",
				 n.reports, stamp);
		}
		free_list(dirs, nr);
	}
	if (run_complete(n.workdir, &status)) {
		printf("nightly: %s holds a complete run; report: %s/index.html "
		       "(pick another --workdir for a new run)\n",
		       n.workdir, n.workdir);
		return status;
	}
	if (cli_mkdirs(n.workdir)) {
		fprintf(stderr, "%s nightly: cannot create %s: %s\n", CLI_PROG,
			n.workdir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/.lock", n.workdir);
	lock_fd = open(lock_path, O_RDWR | O_CREAT, 0644);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "%s nightly: %s: another nightly runs there\n",
			CLI_PROG, n.workdir);
		return CLI_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/nightly.log", n.workdir);
	n.log = fopen(path, "a");
	snprintf(n.tmp, sizeof(n.tmp), "%s/tmp", n.workdir);
	store_rmtree(n.tmp); /* a killed run's engines' temporaries */
	{
		/* and a killed write's NAME.tmp-PID (nightly.json's) */
		size_t nr = 0, k2;
		char **paths = cli_dir_entries(n.workdir, &nr);

		for (k2 = 0; paths && k2 < nr; k2++) {
			if (strstr(strrchr(paths[k2], '/'), ".tmp-"))
				unlink(paths[k2]);
			free(paths[k2]);
		}
		free(paths);
	}
	if (!store_open(&n.store, n.workdir)) {
		fprintf(stderr, "%s nightly: cannot create %s/findings: %s\n",
			CLI_PROG, n.workdir, strerror(errno));
		return CLI_EXIT_USAGE;
	}

	/* The state: resumed, or new (a damaged one is reported, then new). */
	snprintf(path, sizeof(path), "%s/nightly.json", n.workdir);
	if (!access(path, F_OK)) {
		json_error_t err;

		st = json_load_file(path, 0, &err);
		if (!st || !state_ok(st)) {
			store_damaged(
				&n.store, path,
				st ? "not a nightly state (foreign or from another version)" :
				     "not JSON (truncated or foreign): %s",
				err.text);
			json_decref(st);
			st = NULL;
		} else {
			resumed = true;
		}
	}
	/*
	 * The engines, for the run's targets (a resumed run's own): libFuzzer's
	 * must be there, AFL++'s may be skipped with a note.
	 */
	if (st) {
		json_t *v;

		o.engines = NULL;
		json_array_foreach(json_object_get(st, "engines"), i,
				   v) if (!strcmp(json_string_value(v),
						  "libfuzzer"))
			o.engines = o.engines ? "libfuzzer,afl" : "libfuzzer";
		json_array_foreach(json_object_get(st, "engines"), i,
				   v) if (!strcmp(json_string_value(v), "afl"))
			o.engines = o.engines ? "libfuzzer,afl" : "afl";
		first = json_string_value(
			json_array_get(json_object_get(st, "targets"), 0));
	} else {
		for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++)
			if (!o.targets || cli_in_list(o.targets, name)) {
				first = name;
				break;
			}
		if (!first && cli_in_list(o.targets, "malloc"))
			first = "malloc";
	}
	if (!first) {
		fprintf(stderr, "%s nightly: no target to fuzz\n", CLI_PROG);
		return CLI_EXIT_USAGE;
	}
	if ((!o.engines || cli_in_list(o.engines, "libfuzzer")) &&
	    !cli_fuzz_have_engine(first, false, o.build, build_dir,
				  sizeof(build_dir))) {
		fprintf(stderr,
			"%s nightly: no fuzz-%s in %s: build the fuzz preset "
			"(cmake --preset fuzz && cmake --build --preset fuzz) and run "
			"build/fuzz/mmtorture nightly\n",
			CLI_PROG, first, build_dir);
		return CLI_EXIT_USAGE;
	}
	if ((!o.engines || cli_in_list(o.engines, "afl")) &&
	    !cli_fuzz_have_engine(first, true, NULL, afl_dir,
				  sizeof(afl_dir))) {
		afl_ok = false;
		snprintf(
			afl_why, sizeof(afl_why),
			"no afl-%s in %s: build the afl preset (cmake --preset afl && "
			"cmake --build --preset afl)",
			first, afl_dir);
		say(&n, "AFL++ skipped: %s", afl_why);
		if (o.engines && !st) {
			fprintf(stderr, "%s nightly: %s\n", CLI_PROG, afl_why);
			return CLI_EXIT_USAGE;
		}
	}
	if (!st) {
		st = new_state(&o, afl_ok, afl_why);
	} else if (o.budget_given &&
		   (unsigned long)json_integer_value(
			   json_object_get(st, "budget_seconds")) != o.budget) {
		say(&n,
		    "note: --budget ignored: the run resumed has its own (%lld s)",
		    (long long)json_integer_value(
			    json_object_get(st, "budget_seconds")));
	}
	n.state = st;
	n.replay_timeout = (unsigned long)json_integer_value(
		json_object_get(st, "replay_timeout"));
	json_object_set_new(st, "invocations",
			    json_integer(json_integer_value(json_object_get(
						 st, "invocations")) +
					 1));
	/* An unfinished run's report files must not outlive it. */
	snprintf(path, sizeof(path), "%s/junit.xml", n.workdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/index.html", n.workdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/summary.json", n.workdir);
	unlink(path);
	if (!save_state(&n))
		return CLI_EXIT_USAGE;
	targets = json_object_get(st, "targets");
	if (resumed) {
		say(&n, "resuming %s (invocation %lld)", n.workdir,
		    (long long)json_integer_value(
			    json_object_get(st, "invocations")));
	} else {
		/* The newest earlier night's corpora: the corpus grows. */
		size_t nr, t;
		char **dirs = work_dirs(n.reports, &nr);
		unsigned long copied = 0;
		const char *from = NULL;

		char self[PATH_MAX], other[PATH_MAX];

		if (!realpath(n.workdir, self))
			snprintf(self, sizeof(self), "%s", n.workdir);
		for (i = nr; i-- > 0;)
			if (!realpath(dirs[i], other) || strcmp(other, self)) {
				from = dirs[i];
				break;
			}
		for (t = 0; from && t < json_array_size(targets); t++) {
			char a[PATH_MAX + 80], b[PATH_MAX + 80];
			const char *tn =
				json_string_value(json_array_get(targets, t));

			snprintf(a, sizeof(a), "%s/corpus/%s", from, tn);
			snprintf(b, sizeof(b), "%s/corpus/%s", n.workdir, tn);
			if (is_dir(a) && !cli_mkdirs(b))
				copied += copy_missing(a, b);
		}
		say(&n, "new run in %s%s%s (%lu corpus input(s) carried over)",
		    n.workdir, from ? ", corpora from " : "", from ? from : "",
		    copied);
		free_list(dirs, nr);
	}
	for (i = 0; i < n.store.nr_damage; i++)
		say(&n, "damaged: %s: %s (skipped)", n.store.damage[i].path,
		    n.store.damage[i].reason);

	/* The regression corpora, every invocation (a few seconds). */
	regress = replay_regressions(&n, targets, &reg_failed);
	say(&n, "regressions: %zu replayed, %lu failing",
	    json_array_size(regress), reg_failed);
	json_object_set_new(st, "regressions", regress);
	save_state(&n);

	slots = json_object_get(st, "slots");
	n.nr_slots = json_object_size(slots);
	n.slot_index = 0;
	json_object_foreach(slots, k, slot)
	{
		if (!json_is_true(json_object_get(slot, "done")) &&
		    num(slot, "spent_seconds") <= 0)
			rebalance(st, slot);
		if (!json_is_true(json_object_get(slot, "done")))
			failed |= !run_slot(
				&n, slot, k,
				(uint64_t)json_integer_value(
					json_object_get(st, "bugs_mask")),
				(unsigned long)json_integer_value(
					json_object_get(st, "jobs")));
		else if (!strcmp(json_string_value(
					 json_object_get(slot, "status")),
				 "failed"))
			failed = true;
		n.slot_index++;
	}
	store_rmtree(n.tmp);

	rc = nightly_report(&(struct nightly_report){
		.workdir = n.workdir,
		.reports = n.reports,
		.state = st,
		.store = &n.store,
		.bugs = bug_names((uint64_t)json_integer_value(
			json_object_get(st, "bugs_mask"))),
		.build = n.build ? n.build : build_dir,
		.version = MMT_VERSION,
		.source_dir = MMT_SOURCE_DIR,
		.failed = failed,
		.regress_failed = reg_failed,
		.elapsed = now() - n.t0,
	});
	say(&n,
	    "report: %s/index.html (summary.json, junit.xml beside it); exit %d",
	    n.workdir, rc);
	store_close(&n.store);
	json_decref(st);
	if (n.log)
		fclose(n.log);
	close(lock_fd);
	return rc;
}
