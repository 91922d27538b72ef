/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_fuzz.c - `mmtorture fuzz` (one target, one engine) and
 * `mmtorture campaign` (every target in turn, ending in a report).
 *
 * What it does.  Runs the engine binary that the fuzz or afl preset built
 * (fuzz-T: libFuzzer; afl-T under afl-fuzz with the structure-aware custom
 * mutator library) with the flags and directories a user would otherwise
 * have to remember: the compiled seed corpus of the target, its regression
 * corpus, a working corpus and a crash directory under one output
 * directory, the injected bugs in MMT_BUGS, a time budget.  Then it
 * replays every input the engine saved, each in a child process with a
 * wall-clock limit (tools/isolate.c: a use after free or a livelock of the
 * model ends that child, not this command, and is a finding of its own,
 * crash|KIND|FRAME or hang|timeout|OPERATION, with the input and the
 * report kept), deduplicates them by signature (oracle|layer|site), keeps
 * one text reproducer per signature and writes summary.json.
 *
 * Time to the first finding (what the bug benchmark measures) is taken
 * from the first crash file's modification time relative to the engine's
 * start, so the engine's own shutdown does not count.
 *
 * Engine output goes to OUT/engine.log, never to the terminal: a user
 * reads the summary; the log is there for the curious.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"
#include "bench_journal.h"
#include "fuzzrun.h"
#include "store.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "plugins/heap.h"
#include "replay.h"

#ifndef MMT_SOURCE_DIR
#define MMT_SOURCE_DIR "."
#endif

enum {
	ENGINE_LIBFUZZER,
	ENGINE_AFL
};

struct fuzz_opts {
	const char *target;
	int engine;
	unsigned long seconds;
	unsigned long jobs;
	uint64_t bugs;
	bool keep_going; /* don't stop at the first finding */
	bool slab_all; /* --slab all: MMT_SLAB_DIFF=1, differential runs */
	const char *out; /* NULL: a fresh directory under build/fuzz-out */
	const char *build; /* NULL: found */
	bool quiet;
	unsigned long seed; /* engine seed; 0: the engine's own choice */
	const char *corpus_in; /* instead of the seeds (bench fuzz) */
	unsigned long max_len; /* libFuzzer -max_len, 0: default */
	bool no_regress; /* leave the regression corpus out */
	const char *regress; /* NULL: corpora/T/regress */
	bool no_sweep; /* no sanitizer replay of the kept inputs (bench fuzz) */
	unsigned long replay_timeout; /* s a saved input's replay may take */
	const char *allocator; /* --allocator (target malloc) */
	/* `nightly` (tools/fuzzrun.h): */
	const char *corpus_dir; /* working corpus kept across runs */
	const char *tmpdir; /* TMPDIR of the engine and its children */
	bool collect_only; /* no engine: replay the crash files OUT holds */
	void (*tick)(void *arg, const struct cli_fuzz_progress *p);
	void *tick_arg;
	char *error; /* NULL, or where to say why the engine cannot run */
	size_t error_len;
	/* `bench bugs`: */
	const char *canary_file; /* MMT_CANARY_FILE of the target */
	/*
	 * libFuzzer: MMT_STOP_ORACLE of the target, which then goes past the
	 * findings of every other oracle in one process (no -fork).
	 */
	const char *stop_oracle;
	bool plain_mutator; /* no structure-aware mutator: bytes only */
	/* Asked about once a second: true stops the engine (its group). */
	bool (*stop)(void *arg);
	void *stop_arg;
};

struct fuzz_result {
	double seconds; /* the engine's wall time */
	double cpu_seconds; /* the engine's CPU time (user + system) */
	double first_finding; /* seconds from start to the first crash, or -1 */
	unsigned long long execs;
	double execs_per_sec;
	struct cli_fuzz_sig *sigs;
	size_t nr_sigs;
	/* inputs the engine saved as crashing (AFL++: and hanging) */
	unsigned long crashes;
	unsigned long unexplained; /* crashes that replay clean (flaky, engine) */
	/* Saved inputs whose replay crashed or hung (in its child process). */
	unsigned long replay_crashes, replay_hangs;
	char out[PATH_MAX];
	int engine_status;
	unsigned long cov; /* libFuzzer's last cov:, AFL++'s edges_found */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static bool is_exec(const char *p)
{
	return !access(p, X_OK);
}

/* Copy file @from to @to (binary, whole): false on any error. */
bool cli_copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	bool ok = in && out;
	size_t n;

	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out))
		ok = false;
	return ok;
}

/* Copy the regular files of @src into @dst, prefixing their names. */
static void copy_dir(const char *src, const char *dst, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(src);

	while (d && (de = readdir(d))) {
		char from[PATH_MAX * 2], to[PATH_MAX * 2];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", src, de->d_name);
		snprintf(to, sizeof(to), "%s/%s%s", dst, prefix, de->d_name);
		if (!stat(from, &st) && S_ISREG(st.st_mode))
			cli_copy_file(from, to);
	}
	if (d)
		closedir(d);
}

/* Seconds: "90", "90s", "5m", "2h". */
static bool parse_duration(const char *cmd, const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s)
		goto bad;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		*out = v;
	else if (!strcmp(end, "m"))
		*out = v * 60;
	else if (!strcmp(end, "h"))
		*out = v * 3600;
	else
		goto bad;
	if (*out < 1 || *out > 7 * 24 * 3600)
		goto bad;
	return true;
bad:
	cli_usage_error(
		cmd,
		"--time: '%s' is not a duration (90, 90s, 5m, 2h; 1 s to 7 days)",
		s);
	return false;
}

/* The directory holding fuzz-T / afl-T. */
static bool find_build(const struct fuzz_opts *o, char *dir, size_t len)
{
	const char *prefix = o->engine == ENGINE_AFL ? "afl" : "fuzz";
	char self[PATH_MAX], bin[PATH_MAX + 64];
	ssize_t n;

	if (o->build) {
		snprintf(dir, len, "%s", o->build);
		return true;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(bin, sizeof(bin), "%s/%s-%s", self, prefix, o->target);
		if (is_exec(bin)) {
			snprintf(dir, len, "%s", self);
			return true;
		}
	}
	snprintf(dir, len, "%s/build/%s", MMT_SOURCE_DIR, prefix);
	snprintf(bin, sizeof(bin), "%s/%s-%s", dir, prefix, o->target);
	return is_exec(bin);
}

/* The AFL++ custom mutator library (built by the default/release presets). */
static bool find_afl_mutator(char *path, size_t len)
{
	static const char *const where[] = { "build/default", "build/release" };
	const char *env = getenv("MMT_AFL_MUTATOR");
	size_t i;

	if (env && *env) {
		snprintf(path, len, "%s", env);
		return !access(path, R_OK);
	}
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, len, "%s/%s/libmmt-afl-mutator.so",
			 MMT_SOURCE_DIR, where[i]);
		if (!access(path, R_OK))
			return true;
	}
	return false;
}

/*
 * Run the @n commands @argvs[] side by side (AFL++'s main and secondaries;
 * one command otherwise) with @env added, output to @log; returns the wait
 * status of the first (the main instance), or -1 if it could not start.
 * @secs: wall time; @cpu (may be NULL): the CPU time, user + system, of the
 * engines and every process they waited for.  On a shared machine the wall
 * clock counts the neighbours too: executions per CPU second is the
 * engine's own speed.
 *
 * @poll (may be NULL) is called about once a second while they run (the
 * nightly's progress line); with @poll, engines still running @limit
 * seconds after the start (0: no limit) get SIGINT, 10 s later SIGKILL.  Each engine dies with this process
 * (PR_SET_PDEATHSIG): a kill -9 of the nightly leaves no engine writing
 * into its work directory behind it.
 */
static double children_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Run @n engines to their end, or until @poll (about once a second)
 * returns true: then each engine's process group is killed (an engine
 * runs in a group of its own only when it can be stopped so, since a
 * group of its own also leaves the terminal's Ctrl-C to us).
 */
static int run_engines(char **const argvs[], int n, char *const env[],
		       const char *log, double *secs, double *cpu,
		       bool (*poll)(void *arg, double elapsed), void *poll_arg,
		       double limit, bool stoppable)
{
	/* RUSAGE_CHILDREN is cumulative: the difference is these engines'. */
	double t0 = now(), last = t0, cpu0 = children_cpu();
	int status = -1, first_status = -1, fd, i, k, left = 0, killed = 0;
	pid_t pids[16];

	if (n > (int)(sizeof(pids) / sizeof(pids[0])))
		n = (int)(sizeof(pids) / sizeof(pids[0]));
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", log, strerror(errno));
		return -1;
	}
	fflush(NULL);
	for (k = 0; k < n; k++) {
		pid_t parent = getpid();

		pids[k] = fork();
		if (pids[k] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(127); /* the parent died before prctl */
			if (stoppable)
				setpgid(0, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
			for (i = 0; env[i]; i++)
				putenv(env[i]);
			execvp(argvs[k][0], argvs[k]);
			fprintf(stderr, "cannot run %s: %s\n", argvs[k][0],
				strerror(errno));
			_exit(127);
		}
		if (pids[k] < 0) {
			fprintf(stderr, "fork: %s\n", strerror(errno));
			if (!k) {
				close(fd);
				return -1;
			}
		} else {
			left++;
		}
	}
	close(fd);
	while (left > 0) {
		pid_t pid = waitpid(-1, &status, poll ? WNOHANG : 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == 0) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			if (now() - last >= 1.0) {
				last = now();
				if (poll(poll_arg, last - t0) && stoppable)
					for (k = 0; k < n; k++)
						if (pids[k] > 0)
							kill(-pids[k], SIGKILL);
			}
			/*
			 * The nightly's hard end of a slot: an engine past
			 * its budget (libFuzzer's -fork waits for slow jobs)
			 * is interrupted (it prints its final statistics),
			 * then killed.
			 */
			if (limit > 0 &&
			    now() - t0 > limit + (killed ? 10 : 0)) {
				for (k = 0; k < n; k++)
					if (pids[k] > 0)
						kill(pids[k],
						     killed ? SIGKILL : SIGINT);
				killed++;
			}
			continue;
		}
		for (k = 0; k < n; k++)
			if (pids[k] == pid) {
				pids[k] = -1;
				left--;
				if (!k)
					first_status = status;
			}
	}
	*secs = now() - t0;
	if (cpu)
		*cpu = children_cpu() - cpu0;
	return first_status;
}

static int run_engine(char *const argv[], char *const env[], const char *log,
		      double *secs, double *cpu)
{
	char **const argvs[1] = { (char **)argv };

	return run_engines(argvs, 1, env, log, secs, cpu, NULL, NULL, 0, false);
}

/* "cov: N" in a libFuzzer status line, or 0. */
static unsigned long libfuzzer_cov(const char *line)
{
	const char *c = strstr(line, "cov: ");

	return c ? strtoul(c + 5, NULL, 10) : 0;
}

/* Parse "stat::number_of_executed_units: N" etc. from a libFuzzer log. */
static void libfuzzer_stats(const char *log, struct fuzz_result *r)
{
	unsigned long long v, fork_execs = 0, fork_rate = 0;
	FILE *f = fopen(log, "r");
	const char *rate;
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "stat::number_of_executed_units: %llu", &v) ==
		    1)
			r->execs += v;
		else if (sscanf(line, "stat::average_exec_per_sec: %llu", &v) ==
			 1)
			r->execs_per_sec += (double)v;
		else if (sscanf(line, "#%llu: cov:", &v) == 1 &&
			 v >= fork_execs) {
			/* -fork's progress lines: "#N: cov: .. exec/s R .." */
			fork_execs = v;
			rate = strstr(line, "exec/s ");
			if (rate)
				fork_rate = strtoull(rate + 7, NULL, 10);
		}
		if (line[0] == '#' && libfuzzer_cov(line))
			r->cov = libfuzzer_cov(line);
	}
	fclose(f);
	if (!r->execs && fork_execs) {
		r->execs = fork_execs;
		r->execs_per_sec = (double)fork_rate;
	}
}

/*
 * The progress so far from the end of a libFuzzer log: the last status
 * line ("#N ... cov: C ..." or, under -fork, "#N: cov: C ...").
 */
static void libfuzzer_progress(const char *log, struct cli_fuzz_progress *p)
{
	char buf[8192], *line, *save = NULL;
	FILE *f = fopen(log, "r");
	size_t n;

	if (!f)
		return;
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END))
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v;

		if (line[0] == '#' && sscanf(line, "#%llu", &v) == 1 &&
		    libfuzzer_cov(line)) {
			p->execs = v > p->execs ? v : p->execs;
			p->cov = libfuzzer_cov(line);
		}
	}
}

/*
 * AFL++'s instances under @dir: "default" alone, or "main" and "secN"
 * (-M/-S).  Calls @fn for each instance directory.
 */
static void afl_each_instance(const char *dir,
			      void (*fn)(const char *inst, void *arg),
			      void *arg)
{
	size_t nr = 0, i;
	char **paths = cli_dir_entries(dir, &nr);

	for (i = 0; paths && i < nr; i++) {
		char stats[PATH_MAX + 32];

		if (snprintf(stats, sizeof(stats), "%s/fuzzer_stats",
			     paths[i]) < (int)sizeof(stats) &&
		    is_dir(paths[i]))
			fn(paths[i], arg);
		free(paths[i]);
	}
	free(paths);
}

static void afl_instance_stats(const char *inst, void *arg)
{
	struct cli_fuzz_progress *p = arg;
	char path[PATH_MAX + 32], line[256];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzzer_stats", inst);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "execs_done : %llu", &v) == 1)
			p->execs += v;
		else if (sscanf(line, "edges_found : %llu", &v) == 1 &&
			 v > p->cov)
			p->cov = (unsigned long)v; /* they sync: the best */
		else if (sscanf(line, "saved_crashes : %llu", &v) == 1)
			p->crashes += (unsigned long)v;
	}
	fclose(f);
}

/* Every instance's fuzzer_stats, summed (executions) or best (edges). */
static void afl_stats(const char *dir, struct fuzz_result *r)
{
	struct cli_fuzz_progress p = { 0 };

	afl_each_instance(dir, afl_instance_stats, &p);
	r->execs = p.execs;
	r->cov = p.cov;
	/* The run's average; the instances' own rates add up to it. */
	r->execs_per_sec = r->seconds > 0 ? (double)p.execs / r->seconds : 0;
}

/* ---- findings ---- */

struct collect {
	struct fuzz_result *res;
	const char *findings_dir;
};

static unsigned long sig_hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static void on_finding(struct cli_replay *r, const char *path,
		       const char *reproducer, const struct mmt_finding *f)
{
	struct collect *c = r->arg;
	struct fuzz_result *res = c->res;
	const char *rest;
	struct cli_fuzz_sig *s;
	size_t i;
	FILE *out;

	for (i = 0; i < res->nr_sigs; i++)
		if (!strcmp(res->sigs[i].signature, f->signature)) {
			res->sigs[i].count++;
			return;
		}
	s = realloc(res->sigs, (res->nr_sigs + 1) * sizeof(*s));
	if (!s)
		return;
	res->sigs = s;
	s = &res->sigs[res->nr_sigs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->signature, sizeof(s->signature), "%s", f->signature);
	snprintf(s->oracle, sizeof(s->oracle), "%s", f->oracle);
	snprintf(s->layer, sizeof(s->layer), "%s", f->layer);
	snprintf(s->input, sizeof(s->input), "%s", path);
	s->op_index = f->op_index;
	s->count = 1;
	/* The reproducer: the text trace, with the run's bugs in its header. */
	snprintf(s->reproducer, sizeof(s->reproducer), "%s/%s-%08lx.trace",
		 c->findings_dir, f->oracle,
		 sig_hash(f->signature) & 0xffffffffu);
	out = fopen(s->reproducer, "w");
	if (!out) {
		fprintf(stderr, "%s fuzz: cannot write %s: %s\n", CLI_PROG,
			s->reproducer, strerror(errno));
		s->reproducer[0] = '\0';
		return;
	}
	/* The magic line first (it makes the file text), then notes. */
	rest = strchr(reproducer, '\n');
	if (rest) {
		fwrite(reproducer, 1, (size_t)(rest + 1 - reproducer), out);
		fprintf(out, "# %s\n# found by the fuzzer in %s\n",
			f->signature, path);
		fputs(rest + 1, out);
	}
	fclose(out);
}

static double first_mtime(const char *dir, unsigned long *count)
{
	struct dirent *de;
	double first = -1;
	DIR *d = opendir(dir);

	*count = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.txt"))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			    (int)sizeof(path) ||
		    stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		{
			double t = (double)st.st_mtim.tv_sec +
				   (double)st.st_mtim.tv_nsec / 1e9;

			if (first < 0 || t < first)
				first = t;
		}
	}
	closedir(d);
	return first;
}

/* The policies binary headers may pick, as a list (summary.json). */
static const char *mempool_policies_text(void)
{
	static char buf[64];
	unsigned int mask = mmt_trace_bin_mempool_policies();
	size_t n = 0;
	int p;

	buf[0] = 0;
	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++)
		if (mask & (1u << p))
			n += (size_t)snprintf(
				buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
				mmt_mempool_policy_name(
					(enum mmt_mempool_policy)p));
	return buf;
}

static void write_summary(const struct fuzz_opts *o,
			  const struct fuzz_result *r)
{
	char path[PATH_MAX + 32], bugs[512];
	json_t *root, *arr;
	size_t i;

	mmt_bugs_format(o->bugs, bugs, sizeof(bugs));
	arr = json_array();
	for (i = 0; i < r->nr_sigs; i++)
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o}",
				  "signature", r->sigs[i].signature, "oracle",
				  r->sigs[i].oracle, "layer", r->sigs[i].layer,
				  "inputs", (json_int_t)r->sigs[i].count,
				  "input", r->sigs[i].input, "reproducer",
				  r->sigs[i].reproducer, "report",
				  r->sigs[i].report[0] ?
					  json_string(r->sigs[i].report) :
					  json_null()));
	root = json_pack(
		"{s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:o}",
		"target", o->target, "engine",
		o->engine == ENGINE_AFL ? "afl" : "libfuzzer", "bugs", bugs,
		"mempool_policies", mempool_policies_text(), "budget_seconds",
		(json_int_t)o->seconds, "jobs", (json_int_t)o->jobs, "seconds",
		r->seconds, "first_finding_seconds", r->first_finding, "execs",
		(json_int_t)r->execs, "execs_per_sec", r->execs_per_sec,
		"crashes", (json_int_t)r->crashes, "unexplained_crashes",
		(json_int_t)r->unexplained, "replay_crashes",
		(json_int_t)r->replay_crashes, "replay_hangs",
		(json_int_t)r->replay_hangs, "replay_timeout_seconds",
		(json_int_t)o->replay_timeout, "findings", arr);
	snprintf(path, sizeof(path), "%s/summary.json", r->out);
	if (!root || json_dump_file(root, path, CLI_JSON_FLAGS))
		fprintf(stderr, "%s fuzz: cannot write %s\n", CLI_PROG, path);
	json_decref(root);
}

/* ---- the engines' options ---- */

#define ARGV_MAX 64

/*
 * ASan in the libFuzzer binaries.  The default 256 MB quarantine hands
 * each execution fresh memory that the kernel must fault in: on the
 * fixed 64-operation stack inputs, 3.1 ms of CPU per execution with it,
 * 1.8 ms without, 1.9 ms with 8 MB.  8 MB still holds back what one
 * execution frees (the model's caches and slab metadata are host heap
 * blocks), so a use after free inside an execution is still caught.
 */
#define FUZZ_ASAN_OPTIONS "quarantine_size_mb=8"

/*
 * libFuzzer runs with its own defaults beyond the run's options (time,
 * corpus, dictionary, seed).  -entropic=0 halves the engine's CPU per
 * execution on these targets (its feature-frequency bookkeeping runs for
 * every feature of every execution), but on `bench bugs` it found one bug
 * sooner in executions, one later and one about as soon: no gain in time
 * to a bug, so the default stays (docs/ARCHITECTURE.md, "Fuzzing speed").
 * MMT_LIBFUZZER_FLAGS adds flags for such experiments, MMT_AFL_FLAGS
 * afl-fuzz's (e.g. "-c BIN" for a CMPLOG twin, "-p explore").
 */

/*
 * Append the space-separated words of the environment variable @var (extra
 * engine flags for an experiment, e.g. MMT_LIBFUZZER_FLAGS="-entropic=0")
 * to @argv at @n, copied into @buf; returns the new count.
 */
static int extra_flags(const char *var, char *buf, size_t len, char **argv,
		       int n, int max)
{
	const char *v = getenv(var);
	char *w, *save = NULL;

	if (!v || !*v)
		return n;
	snprintf(buf, len, "%s", v);
	for (w = strtok_r(buf, " \t", &save); w && n < max;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	return n;
}

/*
 * Keep @sig as a finding of @r without a program (a sanitizer's report):
 * the input copied to FINDINGS/ORACLE-HASH.bin, and @report (may be NULL:
 * none) beside it as ORACLE-HASH.txt.
 */
static void add_host_finding(struct fuzz_result *r, const char *oracle,
			     const char *signature, const char *input,
			     const char *findings_dir, const char *report)
{
	struct cli_fuzz_sig *s;
	size_t i;

	for (i = 0; i < r->nr_sigs; i++)
		if (!strcmp(r->sigs[i].signature, signature)) {
			r->sigs[i].count++;
			return;
		}
	s = realloc(r->sigs, (r->nr_sigs + 1) * sizeof(*s));
	if (!s)
		return;
	r->sigs = s;
	s = &r->sigs[r->nr_sigs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->signature, sizeof(s->signature), "%s", signature);
	snprintf(s->oracle, sizeof(s->oracle), "%s", oracle);
	snprintf(s->layer, sizeof(s->layer), "host");
	snprintf(s->input, sizeof(s->input), "%s", input);
	/* The input as the engine kept it: `mmtorture replay` reads it. */
	snprintf(s->reproducer, sizeof(s->reproducer),
		 "%.3900s/%.40s-%08lx.bin", findings_dir, oracle,
		 sig_hash(signature) & 0xffffffffu);
	if (!cli_copy_file(input, s->reproducer)) {
		fprintf(stderr, "%s fuzz: cannot copy %s to %s: %s\n", CLI_PROG,
			input, s->reproducer, strerror(errno));
		s->reproducer[0] = '\0';
	}
	if (report) {
		snprintf(s->report, sizeof(s->report),
			 "%.3900s/%.40s-%08lx.txt", findings_dir, oracle,
			 sig_hash(signature) & 0xffffffffu);
		if (!cli_copy_file(report, s->report)) {
			fprintf(stderr, "%s fuzz: cannot copy %s to %s: %s\n",
				CLI_PROG, report, s->report, strerror(errno));
			s->report[0] = '\0';
		}
	}
	s->count = 1;
}

/*
 * A saved input whose replay crashed or hung in its child process: a
 * finding of its own kind ("crash" or "hang"), the input and the child's
 * stderr (the sanitizer's report, the operation running) kept.
 */
static void on_crash(struct cli_replay *r, const char *path,
		     const struct cli_child *ch, const char *report)
{
	struct collect *c = r->arg;

	if (ch->end == CLI_CHILD_HANG)
		c->res->replay_hangs++;
	else
		c->res->replay_crashes++;
	add_host_finding(c->res, ch->end == CLI_CHILD_HANG ? "hang" : "crash",
			 ch->signature, path, c->findings_dir, report);
}

/*
 * The libFuzzer binaries run without UBSan (CMakeLists.txt, "fuzz
 * instrumentation": it cost 2.3-2.6x per execution).  Undefined behaviour
 * is looked for once per input the engine KEPT instead of once per
 * execution: every input of the working corpus (each reached coverage no
 * earlier input did, so together they cover every path the run reached)
 * is replayed through the build's T-replay, which links the plain model
 * library - built with ASan and UBSan in the fuzz preset.  A report is a
 * finding of its own (oracle "ubsan" or "asan", signature
 * oracle|host|file:line), with the input kept as its reproducer.
 */
static void sanitizer_sweep(const char *build, const struct fuzz_opts *o,
			    const char *corpus, const char *e_bugs,
			    const char *findings_dir, struct fuzz_result *r)
{
	char bin[PATH_MAX + 64], log[PATH_MAX + 32], line[1024],
		input[PATH_MAX] = "", where[256] = "", sig[224];
	char *argv[] = { bin, (char *)corpus, NULL };
	char *env[] = { (char *)e_bugs, "MMT_REPLAY_VERBOSE=1",
			"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1",
			NULL };
	const char *oracle = NULL;
	double secs;
	int status;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/%s-replay", build, o->target);
	if (!is_exec(bin) || !is_dir(corpus))
		return;
	snprintf(log, sizeof(log), "%s/sanitizer-sweep.log", r->out);
	status = run_engine(argv, env, log, &secs, NULL);
	if (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return;
	f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p;

		if (!strncmp(line, "replay: ", 8) && !oracle) {
			snprintf(input, sizeof(input), "%s", line + 8);
			p = strstr(input, " (");
			if (p)
				*p = '\0';
		} else if (!oracle && (p = strstr(line, ": runtime error: "))) {
			/* "FILE:LINE:COL: runtime error: ..." */
			char *col;

			*p = '\0';
			col = strrchr(line, ':');
			if (col)
				*col = '\0';
			p = strrchr(line, '/');
			snprintf(where, sizeof(where), "%.200s",
				 p ? p + 1 : line);
			oracle = "ubsan";
		} else if (!oracle && strstr(line, "ERROR: AddressSanitizer")) {
			p = strstr(line, "AddressSanitizer: ");
			snprintf(where, sizeof(where), "%.*s",
				 (int)strcspn(p + 18, " \n"), p + 18);
			oracle = "asan";
		}
	}
	if (f)
		fclose(f);
	if (!oracle || !input[0])
		return;
	snprintf(sig, sizeof(sig), "%s|host|%.200s", oracle, where);
	add_host_finding(r, oracle, sig, input, findings_dir, NULL);
}

/* ---- the malloc target (targets/plugins/): a user's allocator ---- */

static struct mmt_heap fuzz_heap; /* --allocator, loaded to check it */
static struct mmt_harness_opts fuzz_heap_opts;
static unsigned long heap_explained; /* saved inputs replay explained */

/*
 * --allocator: only for the malloc target; loaded here, so that a bad
 * one is refused before any engine starts (exit 2, naming the library
 * and what it lacks), and exported as MMT_ALLOCATOR for the engine and
 * its replays (as MMT_BUGS for the model's targets).  The engine gets the
 * static TLS surplus that libjemalloc.so.2 needs (loader.c).
 */
static int open_allocator(const struct fuzz_opts *o)
{
	const char *spec = o->allocator ? o->allocator :
					  getenv(MMT_ALLOCATOR_ENV);
	const char *misuse = getenv(MMT_MALLOC_MISUSE_ENV);
	const char *tun = getenv("GLIBC_TUNABLES");
	char err[1024], t[1024];
	bool unknown;

	if (strcmp(o->target, "malloc")) {
		if (o->allocator)
			return cli_usage_error(
				"fuzz",
				"--allocator: only the malloc target takes an allocator (not %s)",
				o->target);
		return 0;
	}
	if (!spec || !*spec)
		spec = "glibc";
	if (!mmt_heap_open(spec, &fuzz_heap, &unknown, err, sizeof(err)))
		return cli_usage_error("fuzz", "--allocator: %s", err);
	fuzz_heap_opts.misuse_double_free = misuse &&
					    !strcmp(misuse, "double-free");
	fuzz_heap_opts.no_aligned =
		getenv(MMT_MALLOC_NO_ALIGNED_ENV) &&
		!strcmp(getenv(MMT_MALLOC_NO_ALIGNED_ENV), "1");
	setenv(MMT_ALLOCATOR_ENV, spec, 1);
	if (!tun || !strstr(tun, "optional_static_tls")) {
		snprintf(t, sizeof(t),
			 "%s%sglibc.rtld.optional_static_tls=65536",
			 tun ? tun : "", tun ? ":" : "");
		setenv("GLIBC_TUNABLES", t, 1);
	}
	return 0;
}

static void heap_child(void *arg, int fd)
{
	const char *path = arg;
	struct mmt_heap_finding f;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;
	FILE *in = fopen(path, "rb");

	if (!in)
		return;
	do {
		if (len == cap) {
			uint8_t *d = realloc(data, cap = cap ? cap * 2 : 65536);

			if (!d)
				break;
			data = d;
		}
		n = fread(data + len, 1, cap - len, in);
		len += n;
	} while (n);
	fclose(in);
	cli_crash_context("input %s on allocator %s", path, fuzz_heap.name);
	if (mmt_harness_run(&fuzz_heap, &fuzz_heap_opts, data, len, &f)) {
		fprintf(stderr, "%s [heap] at %s (allocator %s), %s\n  %s\n",
			f.oracle, fuzz_heap.name, fuzz_heap.path, f.op_text,
			f.message);
		fprintf(stderr, "signature: %s\n", f.signature);
		mmt_harness_print(data, len, stderr);
		cli_write_all(fd, f.signature, strlen(f.signature));
	}
	free(data);
}

/*
 * Replay what the engine saved for the malloc target, each input in a
 * child process (tools/isolate.c): an oracle's finding comes back through
 * the pipe as its signature ORACLE|heap|ALLOCATOR; a plug-in that crashes
 * or hangs ends the child only and is a finding of its own (crash|KIND|
 * FRAME, hang|timeout|...), the input kept as the reproducer and the
 * child's stderr as the report.
 */
static void replay_heap_dir(const struct fuzz_opts *o, const char *dir,
			    const char *capture, const char *findings,
			    struct fuzz_result *r)
{
	char out[PATH_MAX + 16], err[PATH_MAX + 16];
	struct cli_isolate iso = { o->replay_timeout, out, err, false };
	size_t nr = 0, i;
	char **paths = cli_dir_entries(dir, &nr);

	snprintf(out, sizeof(out), "%.*s/stdout", PATH_MAX, capture);
	snprintf(err, sizeof(err), "%.*s/stderr", PATH_MAX, capture);
	for (i = 0; paths && i < nr; i++) {
		const char *base = strrchr(paths[i], '/');
		struct cli_child c;
		struct stat st;

		base = base ? base + 1 : paths[i];
		if (base[0] == '.' || !strcmp(base, "README.txt") ||
		    stat(paths[i], &st) || !S_ISREG(st.st_mode)) {
			free(paths[i]);
			continue;
		}
		if (cli_isolate_run(&iso, heap_child, paths[i], &c) ==
		    CLI_CHILD_NOT_RUN) {
			fprintf(stderr, "%s fuzz: %s: %s\n", CLI_PROG, paths[i],
				c.summary);
		} else if (c.end == CLI_CHILD_DONE && c.msg_len) {
			char sig[224], oracle[48];
			size_t k;

			snprintf(sig, sizeof(sig), "%.*s", (int)c.msg_len,
				 c.msg);
			snprintf(oracle, sizeof(oracle), "%.*s",
				 (int)strcspn(sig, "|"), sig);
			add_host_finding(r, oracle, sig, paths[i], findings,
					 err);
			for (k = 0; k < r->nr_sigs; k++)
				if (!strcmp(r->sigs[k].signature, sig))
					snprintf(r->sigs[k].layer,
						 sizeof(r->sigs[k].layer),
						 "heap");
			heap_explained++;
		} else if (c.end != CLI_CHILD_DONE) {
			/*
			 * The plug-in's, by name: crash|SIGSEGV|ALLOCATOR,
			 * hang|timeout|ALLOCATOR (the frame, often the
			 * harness's call into an unsymbolized library, is in
			 * the report).
			 */
			char sig[224];

			snprintf(sig, sizeof(sig), "%s|%s|%s",
				 c.end == CLI_CHILD_HANG ? "hang" : "crash",
				 c.end == CLI_CHILD_HANG ? "timeout" : c.kind,
				 fuzz_heap.name);
			if (c.end == CLI_CHILD_HANG)
				r->replay_hangs++;
			else
				r->replay_crashes++;
			add_host_finding(
				r, c.end == CLI_CHILD_HANG ? "hang" : "crash",
				sig, paths[i], findings, err);
			heap_explained++;
		}
		cli_child_free(&c);
		free(paths[i]);
	}
	free(paths);
}

/*
 * The engine cannot run: say why on stderr and, for the nightly, in
 * o->error.  Returns CLI_EXIT_FAIL.
 */
static int MMT_PRINTF(2, 3)
	fuzz_fail(const struct fuzz_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s fuzz: %s\n", CLI_PROG, msg);
	if (o->error)
		snprintf(o->error, o->error_len, "%s", msg);
	return CLI_EXIT_FAIL;
}

/* Content hash of a file (FNV-1a, 64 bits): a stable corpus name. */
static bool file_hash(const char *path, unsigned long long *h)
{
	unsigned char buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n, i;

	if (!f)
		return false;
	*h = 1469598103934665603ull;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (i = 0; i < n; i++)
			*h = (*h ^ buf[i]) * 1099511628211ull;
	fclose(f);
	return true;
}

/*
 * The inputs AFL++ kept (each instance's queue/) into the working corpus
 * kept across runs, named by content so that a rerun adds no twin.
 */
static void afl_keep_queue(const char *inst, void *arg)
{
	const char *corpus = arg;
	char queue[PATH_MAX + 16];
	size_t nr = 0, i;
	char **paths;

	snprintf(queue, sizeof(queue), "%s/queue", inst);
	paths = cli_dir_entries(queue, &nr);
	for (i = 0; paths && i < nr; i++) {
		char to[PATH_MAX + 64];
		unsigned long long h;
		struct stat st;

		if (!stat(paths[i], &st) && S_ISREG(st.st_mode) &&
		    file_hash(paths[i], &h)) {
			snprintf(to, sizeof(to), "%s/afl-%016llx", corpus, h);
			if (access(to, F_OK))
				cli_copy_file(paths[i], to);
		}
		free(paths[i]);
	}
	free(paths);
}

/* Where an engine saved its crashing and hanging inputs. */
struct saved_dirs {
	char dir[34][PATH_MAX + 16];
	bool hang[34];
	int nr;
};

static void afl_saved_dirs(const char *inst, void *arg)
{
	struct saved_dirs *sd = arg;

	if (sd->nr + 2 > (int)(sizeof(sd->dir) / sizeof(sd->dir[0])))
		return;
	snprintf(sd->dir[sd->nr], sizeof(sd->dir[0]), "%.4000s/crashes", inst);
	sd->hang[sd->nr++] = false;
	snprintf(sd->dir[sd->nr], sizeof(sd->dir[0]), "%.4000s/hangs", inst);
	sd->hang[sd->nr++] = true;
}

struct poll_ctx {
	const struct fuzz_opts *o;
	const char *log, *afl_out, *crashes;
};

/* The nightly's progress hook and bench bugs' stop, about once a second. */
static bool fuzz_poll(void *arg, double elapsed)
{
	struct poll_ctx *pc = arg;
	struct cli_fuzz_progress p = { .elapsed = elapsed };

	if (pc->o->tick) {
		if (pc->o->engine == ENGINE_AFL) {
			afl_each_instance(pc->afl_out, afl_instance_stats, &p);
		} else {
			libfuzzer_progress(pc->log, &p);
			first_mtime(pc->crashes, &p.crashes);
		}
		pc->o->tick(pc->o->tick_arg, &p);
	}
	return pc->o->stop && pc->o->stop(pc->o->stop_arg);
}

/* Run one target; fills @r; returns CLI_EXIT_*. */
static int fuzz_one(const struct fuzz_opts *o, struct fuzz_result *r)
{
	char build[PATH_MAX], bin[PATH_MAX + 64], seeds[PATH_MAX + 64],
		regress[PATH_MAX];
	char dict[PATH_MAX + 64], a_dict[PATH_MAX + 80];
	char corpus[PATH_MAX + 16], crashes[PATH_MAX + 32],
		findings[PATH_MAX + 16];
	char log[PATH_MAX + 16], afl_out[PATH_MAX + 16], afl_in[PATH_MAX + 16],
		mutator[PATH_MAX];
	char a_time[64], a_art[PATH_MAX + 64], a_fork[32], a_seed[32],
		a_len[32], e_bugs[600], e_mut[PATH_MAX + 40], e_target[64],
		bugs[512];
	char *argv[ARGV_MAX], *env[20], extra[1024], e_asan[1200];
	char e_canary[PATH_MAX + 32];
	char e_stop[128];
	char capture[PATH_MAX + 16], e_tmp[PATH_MAX + 16], tmpdir[PATH_MAX];
	static struct saved_dirs saved;
	int n = 0, ne = 0, role = -1, k;
	struct poll_ctx pc = { o, log, afl_out, crashes };
	double limit;
	struct cli_replay rp;
	struct collect col;
	double start;

	memset(r, 0, sizeof(*r));
	r->first_finding = -1;
	if (!find_build(o, build, sizeof(build)))
		return fuzz_fail(
			o,
			"no %s-%s binary in %s: build the %s preset first "
			"(cmake --preset %s && cmake --build --preset %s)",
			o->engine == ENGINE_AFL ? "afl" : "fuzz", o->target,
			build, o->engine == ENGINE_AFL ? "afl" : "fuzz",
			o->engine == ENGINE_AFL ? "afl" : "fuzz",
			o->engine == ENGINE_AFL ? "afl" : "fuzz");
	snprintf(bin, sizeof(bin), "%s/%s-%s", build,
		 o->engine == ENGINE_AFL ? "afl" : "fuzz", o->target);
	snprintf(seeds, sizeof(seeds), "%s/corpora/%s/seeds", build, o->target);
	/* The build writes the target's dictionary (trace dict). */
	snprintf(dict, sizeof(dict), "%s/targets/%s.dict", build, o->target);
	if (access(dict, R_OK))
		dict[0] = '\0';
	if (o->regress)
		snprintf(regress, sizeof(regress), "%s", o->regress);
	else
		snprintf(regress, sizeof(regress), "%s/corpora/%s/regress",
			 MMT_SOURCE_DIR, o->target);
	if (o->out) {
		snprintf(r->out, sizeof(r->out), "%s", o->out);
	} else {
		char stamp[32];
		time_t t = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&t));
		snprintf(r->out, sizeof(r->out), "%s/build/fuzz-out/%s-%s-%s",
			 MMT_SOURCE_DIR, o->target,
			 o->engine == ENGINE_AFL ? "afl" : "libfuzzer", stamp);
	}
	if (o->corpus_dir)
		snprintf(corpus, sizeof(corpus), "%s", o->corpus_dir);
	else
		snprintf(corpus, sizeof(corpus), "%s/corpus", r->out);
	snprintf(crashes, sizeof(crashes), "%s/crashes", r->out);
	snprintf(findings, sizeof(findings), "%s/findings", r->out);
	snprintf(log, sizeof(log), "%s/engine.log", r->out);
	snprintf(afl_out, sizeof(afl_out), "%s/afl", r->out);
	if (cli_mkdirs(corpus) || cli_mkdirs(crashes) || cli_mkdirs(findings))
		return fuzz_fail(o, "cannot create %s: %s", r->out,
				 strerror(errno));
	/*
	 * libFuzzer's -fork and -merge directories and files go to TMPDIR:
	 * the nightly's, or OUT/tmp, removed when the engine is done (a
	 * killed run leaves them in OUT, never in /tmp).
	 */
	if (o->tmpdir)
		snprintf(tmpdir, sizeof(tmpdir), "%s", o->tmpdir);
	else
		snprintf(tmpdir, sizeof(tmpdir), "%.4000s/tmp", r->out);
	cli_mkdirs(tmpdir);
	snprintf(e_tmp, sizeof(e_tmp), "TMPDIR=%s", tmpdir);
	env[ne++] = e_tmp;
	mmt_bugs_format(o->bugs, bugs, sizeof(bugs));
	snprintf(e_bugs, sizeof(e_bugs), "MMT_BUGS=%s", o->bugs ? bugs : "");
	env[ne++] = e_bugs;
	if (o->canary_file) {
		snprintf(e_canary, sizeof(e_canary), "MMT_CANARY_FILE=%.4000s",
			 o->canary_file);
		env[ne++] = e_canary;
	}
	if (o->plain_mutator && o->engine == ENGINE_LIBFUZZER)
		env[ne++] = "MMT_MUTATOR=bytes";
	if (o->stop_oracle && o->engine == ENGINE_LIBFUZZER) {
		snprintf(e_stop, sizeof(e_stop), "MMT_STOP_ORACLE=%.100s",
			 o->stop_oracle);
		env[ne++] = e_stop;
	}
	if (o->slab_all)
		env[ne++] = "MMT_SLAB_DIFF=1";
	argv[n++] = bin;
	if (o->engine == ENGINE_LIBFUZZER) {
		/* Ours first: what the user set in ASAN_OPTIONS wins. */
		snprintf(e_asan, sizeof(e_asan), "ASAN_OPTIONS=%s%s%s",
			 FUZZ_ASAN_OPTIONS, getenv("ASAN_OPTIONS") ? ":" : "",
			 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
		env[ne++] = e_asan;
		snprintf(a_time, sizeof(a_time), "-max_total_time=%lu",
			 o->seconds);
		snprintf(a_art, sizeof(a_art), "-artifact_prefix=%s/", crashes);
		argv[n++] = a_time;
		argv[n++] = a_art;
		argv[n++] = "-print_final_stats=1";
		if (dict[0]) {
			snprintf(a_dict, sizeof(a_dict), "-dict=%s", dict);
			argv[n++] = a_dict;
		}
		argv[n++] = "-timeout=10";
		argv[n++] = "-rss_limit_mb=4096";
		if (o->jobs > 1 || (o->keep_going && !o->stop_oracle)) {
			snprintf(a_fork, sizeof(a_fork), "-fork=%lu", o->jobs);
			argv[n++] = a_fork;
			argv[n++] = "-ignore_crashes=1";
		}
		if (o->seed) {
			snprintf(a_seed, sizeof(a_seed), "-seed=%lu", o->seed);
			argv[n++] = a_seed;
		}
		if (o->max_len) {
			snprintf(a_len, sizeof(a_len), "-max_len=%lu",
				 o->max_len);
			argv[n++] = a_len;
			argv[n++] = "-len_control=0";
		}
		n = extra_flags("MMT_LIBFUZZER_FLAGS", extra, sizeof(extra),
				argv, n, ARGV_MAX - 8);
		argv[n++] = corpus;
		if (o->corpus_in)
			argv[n++] = (char *)o->corpus_in;
		else if (is_dir(seeds))
			argv[n++] = seeds;
		if (!o->no_regress && is_dir(regress))
			argv[n++] = regress;
	} else {
		mmt_opset_t ops;
		/* Only operation-language targets have a structure to mutate. */
		bool oplang = mmt_trace_target_ops(o->target, &ops);

		if (oplang && !find_afl_mutator(mutator, sizeof(mutator)))
			return fuzz_fail(
				o,
				"no libmmt-afl-mutator.so: build the default preset "
				"(or set MMT_AFL_MUTATOR)");
		if (!o->corpus_in && !is_dir(seeds))
			return fuzz_fail(o, "no seeds in %s", seeds);
		snprintf(e_mut, sizeof(e_mut), "AFL_CUSTOM_MUTATOR_LIBRARY=%s",
			 mutator);
		snprintf(e_target, sizeof(e_target), "MMT_TARGET=%s",
			 o->target);
		if (oplang && !o->plain_mutator) {
			env[ne++] = e_mut;
			env[ne++] = e_target;
		}
		env[ne++] = "AFL_NO_UI=1";
		env[ne++] = "AFL_SKIP_CPUFREQ=1";
		env[ne++] = "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1";
		env[ne++] = "AFL_NO_AFFINITY=1";
		env[ne++] = "AFL_SKIP_CRASHES=1";
		if (!o->keep_going)
			env[ne++] = "AFL_BENCH_UNTIL_CRASH=1";
		/* A rerun over the same output directory goes on from it. */
		if (o->corpus_dir)
			env[ne++] = "AFL_AUTORESUME=1";
		snprintf(a_time, sizeof(a_time), "%lu", o->seconds);
		argv[0] = "afl-fuzz";
		if (o->jobs > 1) {
			/* One main, jobs - 1 secondaries syncing through -o. */
			role = n;
			argv[n++] = "-M";
			argv[n++] = "main";
		}
		argv[n++] = "-V";
		argv[n++] = a_time;
		if (o->seed) {
			snprintf(a_seed, sizeof(a_seed), "%lu", o->seed);
			argv[n++] = "-s";
			argv[n++] = a_seed;
		}
		/* afl-fuzz takes one input directory: the seeds and regress/. */
		snprintf(afl_in, sizeof(afl_in), "%s/afl-in", r->out);
		if (cli_mkdirs(afl_in))
			return fuzz_fail(o, "cannot create %s: %s", afl_in,
					 strerror(errno));
		copy_dir(o->corpus_in ? o->corpus_in : seeds, afl_in, "");
		if (!o->no_regress)
			copy_dir(regress, afl_in, "regress-");
		/* what earlier runs grew (the nightly's kept corpus) */
		if (o->corpus_dir)
			copy_dir(corpus, afl_in, "corpus-");
		argv[n++] = "-i";
		argv[n++] = afl_in;
		if (dict[0]) {
			argv[n++] = "-x";
			argv[n++] = dict;
		}
		argv[n++] = "-o";
		argv[n++] = afl_out;
		argv[n++] = "-t";
		argv[n++] = "5000";
		n = extra_flags("MMT_AFL_FLAGS", extra, sizeof(extra), argv, n,
				ARGV_MAX - 3);
		argv[n++] = "--";
		argv[n++] = bin;
	}
	argv[n] = NULL;
	env[ne] = NULL;
	if (!o->quiet)
		printf("fuzz %s: %s for %lu s, bugs %s -> %s\n", o->target,
		       o->engine == ENGINE_AFL ? "AFL++" : "libFuzzer",
		       o->seconds, o->bugs ? bugs : "none", r->out);
	fflush(stdout);
	start = now();
	/* the nightly's slots end on time: 10% and 15 s of grace */
	limit = o->tick ? (double)o->seconds * 1.1 + 15 : 0;
	if (o->collect_only) {
		/* what a killed run left in OUT: replayed below */
		r->engine_status = 0;
	} else if (o->engine == ENGINE_AFL && o->jobs > 1) {
		static char *inst[16][ARGV_MAX];
		static char names[16][16];
		char **argvs[16];
		int nr = o->jobs > 16 ? 16 : (int)o->jobs;

		for (k = 0; k < nr; k++) {
			memcpy(inst[k], argv, sizeof(argv));
			if (k) {
				snprintf(names[k], sizeof(names[k]), "sec%d",
					 k);
				inst[k][role] = "-S";
				inst[k][role + 1] = names[k];
			}
			argvs[k] = inst[k];
		}
		r->engine_status = run_engines(
			argvs, nr, env, log, &r->seconds, &r->cpu_seconds,
			o->tick || o->stop ? fuzz_poll : NULL, &pc, limit,
			!!o->stop);
	} else {
		char **argvs[1] = { argv };

		r->engine_status = run_engines(
			argvs, 1, env, log, &r->seconds, &r->cpu_seconds,
			o->tick || o->stop ? fuzz_poll : NULL, &pc, limit,
			!!o->stop);
	}
	if (!o->tmpdir)
		store_rmtree(tmpdir);
	if (r->engine_status == -1)
		return fuzz_fail(o, "cannot run %s (see %s)", argv[0], log);
	/* The crash (and AFL++'s hang) directories, every instance's. */
	saved.nr = 0;
	if (o->engine == ENGINE_AFL) {
		afl_stats(afl_out, r);
		afl_each_instance(afl_out, afl_saved_dirs, &saved);
		if (o->corpus_dir)
			afl_each_instance(afl_out, afl_keep_queue, corpus);
	} else {
		libfuzzer_stats(log, r);
		snprintf(saved.dir[0], sizeof(saved.dir[0]), "%.4000s",
			 crashes);
		saved.hang[0] = false;
		saved.nr = 1;
	}
	for (k = 0; k < saved.nr; k++) {
		unsigned long nr;
		double first = first_mtime(saved.dir[k], &nr);

		r->crashes += nr;
		if (first >= 0 && !saved.hang[k] &&
		    (r->first_finding < 0 || first - start < r->first_finding))
			r->first_finding = first - start > 0 ? first - start :
							       0;
	}
	if (o->collect_only)
		r->first_finding = -1;
	/*
	 * Explain and deduplicate what the engine saved, each input in a
	 * child process: a crash of the model's (an ASan report) or a hang
	 * (a libFuzzer timeout-* input) ends that child only, and becomes a
	 * finding of its own with the report kept beside the input.
	 */
	cli_replay_init(&rp);
	rp.target = o->target;
	rp.opts.override_bugs = true;
	rp.opts.bugs = o->bugs;
	rp.bugs_given = true;
	rp.slab_all = o->slab_all;
	rp.quiet = true;
	rp.out = fopen("/dev/null", "w");
	col.res = r;
	col.findings_dir = findings;
	rp.arg = &col;
	rp.on_finding = on_finding;
	rp.on_crash = on_crash;
	snprintf(capture, sizeof(capture), "%s/replay", r->out);
	rp.capture_dir = capture;
	rp.timeout = o->replay_timeout;
	if (r->crashes && (cli_mkdirs(capture) || !rp.out)) {
		fprintf(stderr, "%s fuzz: cannot create %s: %s\n", CLI_PROG,
			capture, strerror(errno));
		rp.capture_dir = NULL; /* in this process, as before */
	}
	for (k = 0; r->crashes && k < saved.nr; k++) {
		if (!is_dir(saved.dir[k]))
			continue;
		/* malloc: not the operation language, the harness */
		if (!strcmp(o->target, "malloc"))
			replay_heap_dir(o, saved.dir[k], capture, findings, r);
		else if (rp.out)
			cli_replay_path(&rp, saved.dir[k]);
	}
	if (rp.out)
		fclose(rp.out);
	{
		unsigned long explained =
			rp.findings + rp.crashes + rp.hangs + heap_explained;

		r->unexplained =
			r->crashes > explained ? r->crashes - explained : 0;
	}
	if (o->engine == ENGINE_LIBFUZZER && !o->no_sweep && !o->collect_only)
		sanitizer_sweep(build, o, corpus, e_bugs, findings, r);
	if (!r->execs_per_sec || o->tick ||
	    (o->engine == ENGINE_LIBFUZZER &&
	     (o->jobs > 1 || (o->keep_going && !o->stop_oracle))))
		/* the run's average, not -fork's last status line */
		r->execs_per_sec =
			r->seconds > 0 ? (double)r->execs / r->seconds : 0;
	write_summary(o, r);
	return r->nr_sigs ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- the nightly's entry (tools/fuzzrun.h) ---- */

int cli_fuzz_run(const struct cli_fuzz_spec *s, struct cli_fuzz_outcome *res)
{
	struct fuzz_opts o = {
		.target = s->target,
		.engine = s->afl ? ENGINE_AFL : ENGINE_LIBFUZZER,
		.seconds = s->seconds ? s->seconds : 1,
		.jobs = s->jobs ? s->jobs : 1,
		.bugs = s->bugs,
		.keep_going = true,
		.out = s->out,
		.build = s->build,
		.quiet = true,
		.replay_timeout = s->replay_timeout,
		.corpus_dir = s->corpus,
		.tmpdir = s->tmpdir,
		.collect_only = s->collect_only,
		.tick = s->tick,
		.tick_arg = s->arg,
		.error = res->error,
		.error_len = sizeof(res->error),
	};
	struct fuzz_result r;

	memset(res, 0, sizeof(*res));
	/* The malloc target: its allocator loaded (and named to the engine). */
	o.allocator = s->allocator;
	if (!strcmp(s->target, "malloc") && open_allocator(&o)) {
		snprintf(res->error, sizeof(res->error),
			 "allocator %s cannot be loaded",
			 s->allocator ? s->allocator : "glibc");
		return -1;
	}
	fuzz_one(&o, &r);
	res->seconds = r.seconds;
	res->cpu_seconds = r.cpu_seconds;
	res->execs = r.execs;
	res->execs_per_sec = r.execs_per_sec;
	res->cov = r.cov;
	res->crashes = r.crashes;
	res->unexplained = r.unexplained;
	res->sigs = r.sigs;
	res->nr_sigs = r.nr_sigs;
	snprintf(res->out, sizeof(res->out), "%s", r.out);
	return res->error[0] ? -1 : 0;
}

void cli_fuzz_outcome_free(struct cli_fuzz_outcome *res)
{
	free(res->sigs);
	res->sigs = NULL;
	res->nr_sigs = 0;
}

static void remove_files(const char *dir)
{
	size_t nr = 0, i;
	char **paths = cli_dir_entries(dir, &nr);

	for (i = 0; paths && i < nr; i++) {
		struct stat st;
		const char *base = strrchr(paths[i], '/');

		if (!lstat(paths[i], &st) && S_ISREG(st.st_mode) &&
		    strcmp(base ? base + 1 : paths[i], "README.txt"))
			unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
}

void cli_fuzz_consume_saved(const char *out)
{
	static struct saved_dirs sd;
	char dir[PATH_MAX + 16];
	int k;

	snprintf(dir, sizeof(dir), "%s/crashes", out);
	remove_files(dir);
	snprintf(dir, sizeof(dir), "%s/afl", out);
	sd.nr = 0;
	afl_each_instance(dir, afl_saved_dirs, &sd);
	for (k = 0; k < sd.nr; k++)
		remove_files(sd.dir[k]);
}

bool cli_fuzz_have_engine(const char *target, bool afl, const char *build,
			  char *dir, size_t len)
{
	struct fuzz_opts o = { .target = target,
			       .engine = afl ? ENGINE_AFL : ENGINE_LIBFUZZER,
			       .build = build };
	char bin[PATH_MAX + 80];

	if (!find_build(&o, dir, len))
		return false;
	snprintf(bin, sizeof(bin), "%s/%s-%s", dir, afl ? "afl" : "fuzz",
		 target);
	return is_exec(bin);
}

bool cli_parse_duration(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		*out = v;
	else if (!strcmp(end, "m"))
		*out = v * 60;
	else if (!strcmp(end, "h"))
		*out = v * 3600;
	else
		return false;
	return *out >= 1 && *out <= 7 * 24 * 3600;
}

static void print_result(const struct fuzz_opts *o, const struct fuzz_result *r,
			 FILE *out)
{
	size_t i;

	fprintf(out, "%-9s %-9s %6.0f s  %10llu execs  %8.0f exec/s  ",
		o->target, o->engine == ENGINE_AFL ? "afl" : "libfuzzer",
		r->seconds, r->execs, r->execs_per_sec);
	if (!r->nr_sigs) {
		fprintf(out, "no finding%s\n",
			r->unexplained ?
				" (the engine saved crashes that replay clean)" :
				"");
		return;
	}
	if (r->first_finding >= 0)
		fprintf(out, "%zu finding(s), first after %.1f s\n", r->nr_sigs,
			r->first_finding);
	else /* only the sanitizer replay of the kept inputs found it */
		fprintf(out, "%zu finding(s), by the sanitizer replay\n",
			r->nr_sigs);
	if (r->replay_crashes || r->replay_hangs)
		fprintf(out,
			"    the replay of %lu saved input(s) crashed and of %lu hung (over %lu s): findings of their own\n",
			r->replay_crashes, r->replay_hangs, o->replay_timeout);
	for (i = 0; i < r->nr_sigs; i++) {
		fprintf(out, "    %s (%lu input(s))\n      reproducer: %s\n",
			r->sigs[i].signature, r->sigs[i].count,
			r->sigs[i].reproducer[0] ? r->sigs[i].reproducer :
						   "(could not be written)");
		if (r->sigs[i].report[0])
			fprintf(out, "      report: %s\n", r->sigs[i].report);
	}
}

enum {
	OPT_TARGET = 256,
	OPT_ENGINE,
	OPT_TIME,
	OPT_JOBS,
	OPT_BUG,
	OPT_OUT,
	OPT_BUILD,
	OPT_KEEP_GOING,
	OPT_SLAB_ALL,
	OPT_TARGETS,
	OPT_HELP,
	OPT_TRIALS,
	OPT_BUGS,
	OPT_JSON_OUT,
	OPT_REGRESS,
	OPT_REPLAY_TIMEOUT,
	OPT_MEMPOOL_POLICIES,
	OPT_ALLOCATOR,
};

static void fuzz_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s fuzz --target T [options]\n"
		"\n"
		"Fuzz target T (pages, slab, rcu, mempool, reserves, stack) with libFuzzer or\n"
		"AFL++ from its seed and regression corpora; replay what the engine saved,\n"
		"deduplicate by signature and keep one text reproducer per finding.\n"
		"\n"
		"Options:\n"
		"  --target T        the target (`mmtorture list targets`)\n"
		"  --engine E        libfuzzer (default; the fuzz preset) or afl (the afl preset,\n"
		"                    with the custom mutator of the default preset)\n"
		"  --time D          budget: 90, 90s, 5m, 2h (default 60 s)\n"
		"  --jobs N          libFuzzer: N processes (-fork=N); default 1\n"
		"  --bug ID          turn on an injectable bug (repeatable, or ID,ID)\n"
		"  --mempool-policies P,P  mempool policies a binary header may pick\n"
		"                    (default no-reclaim,pool-first; kernel-2016 or all add the\n"
		"                    2016 policy and the 2016 throttle, throttle_vm_writeout,\n"
		"                    whose seed-001 stalls are then findings)\n"
		"  --keep-going      don't stop at the first finding\n"
		"  --slab all        differential runs: every input on every slab\n"
		"                    implementation, a divergence is a finding\n"
		"                    (MMT_SLAB_DIFF=1 in the engine's environment)\n"
		"  --out DIR         output directory (default build/fuzz-out/T-ENGINE-STAMP)\n"
		"  --build DIR       where the engine binaries are (default: found)\n"
		"  --regress DIR     the regression corpus (default corpora/T/regress): text\n"
		"                    traces, checked before the engine starts\n"
		"  --replay-timeout S  wall-clock seconds the replay of one saved input may\n"
		"                    take in its child process (default %d; 0: no limit)\n"
		"  --allocator A     target malloc only: glibc (default), jemalloc, mimalloc or\n"
		"                    PATH.so, a user's allocator (targets/plugins/README.md);\n"
		"                    MMT_ALLOCATOR in the engine's environment\n"
		"  --help            this text\n"
		"\n"
		"Each input the engine saved (crash-*, timeout-*, leak-*, oom-*) is replayed\n"
		"in a child process: a crash or a sanitizer's report there is a finding\n"
		"crash|KIND|FUNCTION, a replay past the time limit hang|timeout|OPERATION,\n"
		"with the input as DIR/findings/crash-HASH.bin (or hang-) and the report\n"
		"beside it as .txt.\n"
		"Writes DIR/summary.json, DIR/findings/*.trace, DIR/engine.log.\n"
		"Exit status: 0 no finding, 1 a finding (or the engine could not run, or the\n"
		"regression corpus does not parse), 2 usage.\n",
		CLI_PROG, CLI_ISOLATE_DEFAULT_TIMEOUT);
}

static void campaign_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s campaign [options]\n"
		"\n"
		"Fuzz every target in turn with libFuzzer, keep going past findings, then\n"
		"write reports/STAMP/summary.txt and summary.json with every deduplicated\n"
		"finding and its text reproducer.  `%s nightly` is the nightly job (a\n"
		"budget, a findings store, resume after a kill, an HTML report).\n"
		"\n"
		"Options:\n"
		"  --time D          budget per target (default 30 s: about 6 minutes in all)\n"
		"  --targets T,T     only these targets (default all)\n"
		"  --engine E        libfuzzer (default) or afl\n"
		"  --bug ID          turn on an injectable bug (repeatable, or ID,ID)\n"
		"  --mempool-policies P,P  mempool policies a binary header may pick\n"
		"                    (default no-reclaim,pool-first; kernel-2016 or all add the\n"
		"                    2016 policy and the 2016 throttle, throttle_vm_writeout,\n"
		"                    whose seed-001 stalls are then findings)\n"
		"  --out DIR         report directory (default reports/STAMP)\n"
		"  --build DIR       where the engine binaries are (default: found)\n"
		"  --replay-timeout S  wall-clock seconds the replay of one saved input may\n"
		"                    take in its child process (default %d; 0: no limit)\n"
		"  --help            this text\n"
		"\n"
		"Every target's regression corpus is checked first (text traces that parse).\n"
		"A saved input whose replay crashes or hangs is a finding of its own (see\n"
		"`%s fuzz --help`); the campaign goes on to the next target.\n"
		"Exit status: 0 no finding, 1 findings (or a target could not run, or a\n"
		"regression corpus does not parse), 2 usage.\n",
		CLI_PROG, CLI_PROG, CLI_ISOLATE_DEFAULT_TIMEOUT, CLI_PROG);
}

static int parse_common(const char *cmd, int c, struct fuzz_opts *o)
{
	uint64_t v, mask;
	char err[256];

	switch (c) {
	case OPT_ENGINE:
		if (!strcmp(optarg, "libfuzzer"))
			o->engine = ENGINE_LIBFUZZER;
		else if (!strcmp(optarg, "afl"))
			o->engine = ENGINE_AFL;
		else
			return cli_usage_error(
				cmd, "--engine: '%s' is not libfuzzer or afl",
				optarg);
		return 0;
	case OPT_TIME:
		return parse_duration(cmd, optarg, &o->seconds) ?
			       0 :
			       CLI_EXIT_USAGE;
	case OPT_JOBS:
		if (!cli_parse_u64(cmd, "--jobs", optarg, 1, 64, &v))
			return CLI_EXIT_USAGE;
		o->jobs = v;
		return 0;
	case OPT_BUG:
		if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
			return cli_usage_error(cmd, "--bug: %s", err);
		o->bugs |= mask;
		return 0;
	case OPT_OUT:
		o->out = optarg;
		return 0;
	case OPT_BUILD:
		o->build = optarg;
		return 0;
	case OPT_KEEP_GOING:
		o->keep_going = true;
		return 0;
	case OPT_SLAB_ALL:
		if (strcmp(optarg, "all"))
			return cli_usage_error(
				cmd,
				"--slab: '%s': only 'all' (differential runs)",
				optarg);
		o->slab_all = true;
		return 0;
	case OPT_REPLAY_TIMEOUT:
		if (!cli_parse_u64(cmd, "--replay-timeout", optarg, 0,
				   7 * 24 * 3600, &v))
			return CLI_EXIT_USAGE;
		o->replay_timeout = v;
		return 0;
	case OPT_ALLOCATOR:
		o->allocator = optarg;
		return 0;
	case OPT_MEMPOOL_POLICIES:
		/*
		 * Here, and exported: the engines, their replays and this
		 * process's own decoding of saved inputs must agree.
		 */
		if (!mmt_trace_bin_set_mempool_policies(optarg, err,
							sizeof(err)))
			return cli_usage_error(cmd, "--mempool-policies: %s",
					       err);
		setenv(MMT_MEMPOOL_POLICIES_ENV, optarg, 1);
		return 0;
	default:
		return -1;
	}
}

static int env_bugs(const char *cmd, struct fuzz_opts *o)
{
	const char *env = getenv("MMT_BUGS");
	uint64_t mask;
	char err[256];

	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error(cmd, "MMT_BUGS=%s: %s", env,
					       err);
		o->bugs |= mask;
	}
	return 0;
}

static void bench_bugs_usage(FILE *out);
static void bench_fuzz_usage(FILE *out);

/* --targets T,T: -1 if each is a fuzz target, else a usage error. */
static int check_targets(const char *cmd, const char *list)
{
	const char *p = list;
	mmt_opset_t ops;

	if (!*list)
		return cli_usage_error(
			cmd,
			"--targets: empty: name one or more targets (T,T)");
	for (;;) {
		size_t n = strcspn(p, ",");
		char name[64];

		if (!n)
			return cli_usage_error(
				cmd,
				"--targets: '%s' has an empty name at position %zu (T,T: see `%s list targets`)",
				list, (size_t)(p - list) + 1, CLI_PROG);
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (n >= sizeof(name) || !mmt_trace_target_ops(name, &ops))
			return cli_usage_error(
				cmd,
				"--targets: '%.*s' is no target (see `%s list targets`)",
				(int)n, p, CLI_PROG);
		if (!p[n])
			return -1;
		p += n + 1;
	}
}

/*
 * The regression corpus of @o's target must be text traces that parse: a
 * typo would otherwise reach the engine as the random program its bytes
 * decode to.  0, or CLI_EXIT_FAIL with each problem printed.
 */
static int check_regress(const char *cmd, const struct fuzz_opts *o)
{
	char dir[PATH_MAX];
	unsigned long bad;

	if (o->no_regress)
		return 0;
	if (o->regress)
		snprintf(dir, sizeof(dir), "%s", o->regress);
	else
		snprintf(dir, sizeof(dir), "%s/corpora/%s/regress",
			 MMT_SOURCE_DIR, o->target);
	if (!o->regress && !is_dir(dir))
		return 0;
	bad = cli_corpus_check(dir, NULL);
	if (!bad)
		return 0;
	fprintf(stderr,
		"%s %s: %s: %lu problem(s) in the regression corpus; nothing fuzzed "
		"(`%s trace check %s` after fixing)\n",
		CLI_PROG, cmd, dir, bad, CLI_PROG, dir);
	return CLI_EXIT_FAIL;
}

/*
 * The options of `fuzz`, `campaign`, `bench bugs` and `bench fuzz` (each
 * passes the table of those it takes): -1 to go on, else the exit code
 * (a usage error, or --help printed).  @only receives --targets or --bugs.
 */
static int parse_args(const char *cmd, void (*usage)(FILE *out), int argc,
		      char **argv, const struct option *opts,
		      struct fuzz_opts *o, const char **only,
		      const char **json_out, uint64_t *trials)
{
	uint64_t mask;
	mmt_opset_t ops;
	char err[256];
	int c, rc;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == OPT_TARGET) {
			if (!mmt_trace_target_ops(optarg, &ops) &&
			    strcmp(optarg, "malloc"))
				return cli_usage_error(
					cmd,
					"--target: '%s' is no target (pages, slab, "
					"rcu, mempool, reserves, stack, malloc, ...: "
					"mmtorture list targets)",
					optarg);
			o->target = optarg;
		} else if (c == OPT_TRIALS) {
			if (!cli_parse_u64(cmd, "--trials", optarg, 1, 100,
					   trials))
				return CLI_EXIT_USAGE;
		} else if (c == OPT_BUGS) {
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error(cmd, "--bugs: %s", err);
			*only = optarg;
		} else if (c == OPT_TARGETS) {
			rc = check_targets(cmd, optarg);
			if (rc >= 0)
				return rc;
			*only = optarg;
		} else if (c == OPT_REGRESS) {
			o->regress = optarg;
		} else if (c == OPT_JSON_OUT) {
			*json_out = optarg;
		} else if (c == 'h' || c == OPT_HELP) {
			usage(stdout);
			return CLI_EXIT_OK;
		} else {
			rc = parse_common(cmd, c, o);
			if (rc > 0)
				return rc;
			if (rc < 0)
				return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	return -1;
}

int cmd_fuzz(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "jobs", required_argument, NULL, OPT_JOBS },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "keep-going", no_argument, NULL, OPT_KEEP_GOING },
		{ "slab", required_argument, NULL, OPT_SLAB_ALL },
		{ "regress", required_argument, NULL, OPT_REGRESS },
		{ "replay-timeout", required_argument, NULL,
		  OPT_REPLAY_TIMEOUT },
		{ "mempool-policies", required_argument, NULL,
		  OPT_MEMPOOL_POLICIES },
		{ "allocator", required_argument, NULL, OPT_ALLOCATOR },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct fuzz_opts o = { .seconds = 60,
			       .jobs = 1,
			       .replay_timeout = CLI_ISOLATE_DEFAULT_TIMEOUT };
	struct fuzz_result r;
	int rc;

	rc = parse_args("fuzz", fuzz_usage, argc, argv, opts, &o, NULL, NULL,
			NULL);
	if (rc >= 0)
		return rc;
	if (!o.target)
		return cli_usage_error("fuzz", "which target? (--target T)");
	if (o.engine == ENGINE_AFL && o.jobs > 1)
		return cli_usage_error("fuzz",
				       "--jobs: AFL++ runs one instance here");
	rc = env_bugs("fuzz", &o);
	if (rc)
		return rc;
	rc = check_regress("fuzz", &o);
	if (rc)
		return rc;
	rc = open_allocator(&o);
	if (rc)
		return rc;
	rc = fuzz_one(&o, &r);
	print_result(&o, &r, stdout);
	printf("summary: %s/summary.json\n", r.out);
	free(r.sigs);
	return rc;
}

/*
 * The targets in benchmark order: each single-CPU target followed by its
 * concurrent twin (slab, slab-mt, ...), so that `bench fuzz` shows the
 * cost of concurrency row beside row.  NULL past the end.
 */
static const char *paired_target_name(size_t k)
{
	const char *name;
	mmt_opset_t set;
	size_t i;

	for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++) {
		char twin[64];

		if (!mmt_trace_target_ops(name, &set) ||
		    (set & MMT_TRACE_SET_MT))
			continue;
		if (!k--)
			return name;
		snprintf(twin, sizeof(twin), "%s-mt", name);
		if (mmt_trace_target_ops(twin, &set)) {
			size_t j;
			const char *t;

			for (j = 0; (t = mmt_trace_target_name(j, NULL)); j++)
				if (!strcmp(t, twin) && !k--)
					return t;
		}
	}
	return NULL;
}

int cmd_campaign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, OPT_TIME },
		{ "targets", required_argument, NULL, OPT_TARGETS },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "replay-timeout", required_argument, NULL,
		  OPT_REPLAY_TIMEOUT },
		{ "mempool-policies", required_argument, NULL,
		  OPT_MEMPOOL_POLICIES },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct fuzz_opts o = { .seconds = 30,
			       .jobs = 1,
			       .keep_going = true,
			       .quiet = false,
			       .replay_timeout = CLI_ISOLATE_DEFAULT_TIMEOUT };
	const char *only = NULL, *name, *report_dir;
	char dir[PATH_MAX], sub[PATH_MAX + 64], path[PATH_MAX + 32], stamp[32];
	unsigned long total_findings = 0;
	json_t *runs, *root;
	FILE *txt;
	size_t i;
	time_t t = time(NULL);
	int rc, failures = 0;

	rc = parse_args("campaign", campaign_usage, argc, argv, opts, &o, &only,
			NULL, NULL);
	if (rc >= 0)
		return rc;
	rc = env_bugs("campaign", &o);
	if (rc)
		return rc;
	for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++) {
		struct fuzz_opts one = o;

		one.target = name;
		if ((!only || cli_in_list(only, name)) &&
		    (rc = check_regress("campaign", &one)))
			return rc;
	}
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S", localtime(&t));
	report_dir = o.out;
	if (!report_dir) {
		snprintf(dir, sizeof(dir), "%s/reports/%s", MMT_SOURCE_DIR,
			 stamp);
		report_dir = dir;
	}
	if (cli_mkdirs(report_dir)) {
		fprintf(stderr, "%s campaign: cannot create %s: %s\n", CLI_PROG,
			report_dir, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	/*
	 * summary.txt is written as summary.txt.partial and renamed at the
	 * end: a killed campaign leaves nothing that reads as a report.
	 */
	snprintf(path, sizeof(path), "%s/summary.txt.partial", report_dir);
	txt = fopen(path, "w");
	runs = json_array();
	printf("campaign: %s, %lu s per target, report in %s\n",
	       o.engine == ENGINE_AFL ? "AFL++" : "libFuzzer", o.seconds,
	       report_dir);
	for (i = 0; (name = mmt_trace_target_name(i, NULL)); i++) {
		struct fuzz_result r;
		struct fuzz_opts one = o;

		if (only && !cli_in_list(only, name))
			continue;
		one.target = name;
		snprintf(sub, sizeof(sub), "%s/%s", report_dir, name);
		one.out = sub;
		one.quiet = true;
		rc = fuzz_one(&one, &r);
		print_result(&one, &r, stdout);
		if (txt)
			print_result(&one, &r, txt);
		if (rc == CLI_EXIT_FAIL && !r.nr_sigs)
			failures++;
		total_findings += r.nr_sigs;
		json_array_append_new(
			runs,
			json_pack("{s:s, s:f, s:I, s:f, s:I, s:I, s:I, s:s}",
				  "target", name, "seconds", r.seconds, "execs",
				  (json_int_t)r.execs, "execs_per_sec",
				  r.execs_per_sec, "findings",
				  (json_int_t)r.nr_sigs, "replay_crashes",
				  (json_int_t)r.replay_crashes, "replay_hangs",
				  (json_int_t)r.replay_hangs, "summary", sub));
		free(r.sigs);
	}
	root = json_pack("{s:s, s:s, s:I, s:I, s:o}", "stamp", stamp, "engine",
			 o.engine == ENGINE_AFL ? "afl" : "libfuzzer",
			 "seconds_per_target", (json_int_t)o.seconds,
			 "findings", (json_int_t)total_findings, "runs", runs);
	snprintf(path, sizeof(path), "%s/summary.json", report_dir);
	if (root) {
		store_write_json(path, root);
		json_decref(root);
	}
	if (txt) {
		char done[PATH_MAX + 32];

		fflush(txt);
		fsync(fileno(txt));
		fclose(txt);
		snprintf(path, sizeof(path), "%s/summary.txt.partial",
			 report_dir);
		snprintf(done, sizeof(done), "%s/summary.txt", report_dir);
		rename(path, done);
	}
	printf("campaign: %lu finding(s)%s; summary: %s/summary.txt, %s/summary.json\n",
	       total_findings, failures ? ", some targets could not run" : "",
	       report_dir, report_dir);
	return total_findings || failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- benchmarks: time to each bug, and exec/s ---- */

/*
 * Which target exposes each injectable bug.  The bugs that need another
 * CPU acting inside an operation (slab-racy-free-objects,
 * slub-frozen-dead-cache: a preemption point the deterministic scheduler
 * picks) or a writeback device's worker (less-throttle-never-throttles: a
 * kernel thread) have a concurrent target.
 */
static const struct {
	const char *bug, *target;
} bug_targets[] = {
	{ "fast-try-bulk-refill", "pages" },
	{ "pfmemalloc-unmarked", "pages" },
	{ "pcp-count-drift", "pages" },
	{ "pcp-order-index", "pages" },
	{ "pcp-zero-skipped", "pages" },
	{ "nowait-direct-reclaim", "pages" },
	{ "wmark-order-ignored", "pages" },
	{ "noreclaim-restore-clears", "pages" },
	{ "thisnode-fallback", "pages" },
	{ "slab-pfmemalloc-free-leak", "slab" },
	{ "slab-pfmemalloc-active-cleared", "slab" },
	{ "slab-pfmemalloc-lingers", "slab" },
	{ "kvfree-rcu-nowait-under-raw", "rcu" },
	{ "kvfree-rcu-early-free", "rcu" },
	{ "kvfree-rcu-block-leak", "rcu" },
	{ "mempool-retry-reclaim", "mempool" },
	{ "swap-single-bit-memalloc", "reserves" },
	{ "reserve-charge-leak", "reserves" },
	{ "emergency-wmark-not-lowered", "reserves" },
	{ "sheaf-return-pfmemalloc", "slab" },
	{ "sheaf-refill-fail-leak", "slab" },
	{ "sheaf-barn-exchange-uncounted", "slab" },
	{ "sheaf-refill-may-block", "slab" },
	{ "slub-frozen-dead-cache", "slab-mt" },
	{ "slab-racy-free-objects", "slab-mt" },
	{ "less-throttle-never-throttles", "mempool-mt" },
	/* another CPU inside the zone lock; an interrupt on a uniprocessor */
	{ "nolock-zone-double-trylock", "pages-mt" },
	{ "pcp-up-trylock-reentry", "pages-mt" },
	{ "sk-filter-pfmemalloc-kept", "reserves" },
	/* rt=on: a cgroup offline's flush while a task is inside its sheaf section */
	{ "sheaf-flush-rt-trylock", "slab-mt" },
	/* the bookkeeping validators' bugs (their oracle pairs) */
	{ "zone-allocated-per-block", "pages" },
	{ "deferred-count-per-block", "pages" },
	{ "deferred-drain-drops-last", "pages" },
	{ "pcp-refill-keeps-buddy-flag", "pages" },
	{ "buddy-merge-below-max-order", "pages" },
	{ "slub-cpu-partial-uncounted", "slab" },
	{ "slub-node-partial-uncounted", "slab" },
	{ "memcg-slab-uncharge-skipped", "slab" },
	{ "slub-deactivate-inuse-off-by-one", "slab" },
	{ "slub-acquire-keeps-freelist", "slab" },
	{ "nofail-no-min-reserve", "pages" },
	/* a waiter queued between another CPU's look and its refill */
	{ "mempool-free-lost-wakeup", "mempool-mt" },
};

/* The directory of this binary (bench bugs' engines without a fuzzer). */
static bool bb_self_dir(char *dir, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(dir, len, "%s", self);
	return true;
}

struct seed_filter {
	json_t *excluded;
	const char *keep_dir;
	bool hit;
};

static void seed_hit(struct cli_replay *r, const char *path,
		     const char *reproducer, const struct mmt_finding *f)
{
	struct seed_filter *sf = r->arg;

	(void)path;
	(void)reproducer;
	(void)f;
	sf->hit = true;
}

/*
 * The seeds of @o->target that do not expose @o->bugs on their own, copied
 * to @dir; those that do are listed in @excluded.  A benchmark of the
 * fuzzer must start where the fuzzer has work to do: a seed that is
 * itself a reproducer measures nothing but the engine's start-up.
 */
static bool filter_seeds(const struct fuzz_opts *o, const char *dir,
			 json_t *excluded, bool any_build)
{
	char build[PATH_MAX], seeds[PATH_MAX + 64];
	struct seed_filter sf = { excluded, dir, false };
	struct cli_replay rp;
	struct dirent *de;
	DIR *d;

	/*
	 * @any_build (no fuzzer among the engines): the compiled seeds of
	 * this binary's build do as well as the fuzz build's.
	 */
	if (!find_build(o, build, sizeof(build)) &&
	    (!any_build || !bb_self_dir(build, sizeof(build))))
		return false;
	if (cli_mkdirs(dir))
		return false;
	snprintf(seeds, sizeof(seeds), "%s/corpora/%s/seeds", build, o->target);
	d = opendir(seeds);
	if (!d && any_build && bb_self_dir(build, sizeof(build))) {
		snprintf(seeds, sizeof(seeds), "%s/corpora/%s/seeds", build,
			 o->target);
		d = opendir(seeds);
	}
	if (!d)
		return false;
	cli_replay_init(&rp);
	rp.target = o->target;
	rp.opts.override_bugs = true;
	rp.opts.bugs = o->bugs;
	rp.bugs_given = true;
	rp.slab_all = o->slab_all;
	rp.quiet = true;
	rp.out = fopen("/dev/null", "w");
	rp.arg = &sf;
	rp.on_finding = seed_hit;
	while ((de = readdir(d))) {
		char from[PATH_MAX * 2], to[PATH_MAX * 2];

		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", seeds, de->d_name);
		sf.hit = false;
		cli_replay_one(&rp, from);
		if (sf.hit) {
			json_array_append_new(excluded,
					      json_string(de->d_name));
			continue;
		}
		snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
		cli_copy_file(from, to);
	}
	closedir(d);
	if (rp.out)
		fclose(rp.out);
	if (rp.ok + rp.blocked == 0) {
		/* Every seed exposes it: start from the empty program. */
		char path[PATH_MAX + 16];
		FILE *f;

		snprintf(path, sizeof(path), "%s/empty", dir);
		f = fopen(path, "wb");
		if (f) {
			fwrite("\0\0\0\0", 1, 4, f);
			fclose(f);
		}
	}
	return true;
}

/* bench bugs' CI set and limits (the engine is below, cmd_bench_bugs()). */
#define BB_MAX_TRIALS 100
#define BB_QUICK_BUGS "pcp-order-index,pcp-zero-skipped"
#define BB_QUICK_ENGINES "libfuzzer,libfuzzer-bytes"

static void bench_usage(FILE *out, bool bugs)
{
	if (bugs)
		fprintf(out,
			"Usage: %s bench bugs [options]\n"
			"\n"
			"For each injectable bug and each engine: TRIALS runs (engine seeds 1..N) of\n"
			"its target with the bug on, from the seeds that do not expose it alone,\n"
			"timing from the target's canaries when the bug's site is reached, when its\n"
			"buggy code is triggered, and when the bug's own oracle finds it (other\n"
			"oracles' findings are listed and the engine goes on; a trial ends when the\n"
			"bug is found).  Misses are censored at the budget; engines are compared per\n"
			"bug with the Mann-Whitney U test and the Vargha-Delaney A12.  Then every\n"
			"engine runs each target used with no bug on: any finding is a false\n"
			"positive.  The JSON checks itself (reached <= triggered <= found).\n"
			"\n"
			"An engine runs only the bugs it can express (else \"n/a\"): pct and\n"
			"tsan-stress the concurrent ones (their target is a concurrent one),\n"
			"tsan-stress those a stress workload reaches.\n"
			"\n"
			"Options:\n"
			"  --engines E,E   libfuzzer (structure-aware), libfuzzer-bytes (byte\n"
			"                  mutations only), afl (custom mutator), afl-plain, pct\n"
			"                  (`pct` over the seeds, no fuzzer), tsan-stress (`stress`\n"
			"                  of the tsan build: build/tsan, MMT_TSAN_BUILD=DIR), or\n"
			"                  all (without tsan-stress when there is no tsan build;\n"
			"                  default libfuzzer,libfuzzer-bytes)\n"
			"  --trials N      trials per bug and engine (default 10)\n"
			"  --time D        budget per trial (default 5m)\n"
			"  --fp-time D     budget of each no-bug run (default: --time)\n"
			"  --bugs ID,ID    only these bugs\n"
			"  --quick         CI: bugs " BB_QUICK_BUGS
			", 2 trials of 10 s,\n"
			"                  5 s no-bug runs (options given still apply)\n"
			"  --mempool-policies P,P  mempool policies a binary header may pick\n"
			"                  (as for fuzz)\n"
			"  --build DIR     where the engine binaries are (default: found)\n"
			"  --json-out F    write the JSON there too (- for stdout only)\n"
			"  --md-out F      write the Markdown table there (docs/BENCHMARKS.md)\n"
			"  --journal F     every finished trial as a line of F (fsync'd); a rerun\n"
			"                  of the same command reads those back instead of\n"
			"                  running them: a long run stopped, killed or spread\n"
			"                  over nights and machines ends in the same table\n"
			"  --help          this text\n"
			"\n"
			"Exit status: 0 the benchmark ran, 1 it could not (or its JSON does not\n"
			"hold together), 2 usage.\n",
			CLI_PROG);
	else
		fprintf(out,
			"Usage: %s bench fuzz [options]\n"
			"\n"
			"Per target, from 16 fixed 64-operation inputs (each concurrent target right\n"
			"after its single-CPU one), beside an empty target in the same run:\n"
			"libFuzzer's executions per second and per CPU second, the CPU ms per\n"
			"execution of those inputs replayed by the fuzz binary and by the release\n"
			"build's T-replay (MMT_RELEASE_BUILD, default build/release) and their ratio,\n"
			"and AFL++'s executions per second when the afl preset is built.\n"
			"\n"
			"Options:\n"
			"  --time D        per target and engine (default 20 s)\n"
			"  --engine E      libfuzzer (default: and AFL++ when built) or afl (AFL++ only)\n"
			"  --targets T,T   only these targets (`%s list targets`)\n"
			"  --build DIR     where the engine binaries are (default: found)\n"
			"  --json-out F    write the JSON there too\n"
			"  --help          this text\n"
			"\n"
			"Exit status: 0 the benchmark ran, 1 it could not, 2 usage.\n",
			CLI_PROG, CLI_PROG);
}

static void bench_bugs_usage(FILE *out)
{
	bench_usage(out, true);
}

static void bench_fuzz_usage(FILE *out)
{
	bench_usage(out, false);
}

static int dump_json(json_t *root, const char *json_out)
{
	json_dumpf(root, stdout, CLI_JSON_FLAGS);
	putchar('\n');
	if (json_out && strcmp(json_out, "-") &&
	    json_dump_file(root, json_out, CLI_JSON_FLAGS)) {
		fprintf(stderr, "%s bench: cannot write %s\n", CLI_PROG,
			json_out);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/*
 * ---- bench bugs ----
 *
 * In the manner of Magma (Hazimeh et al., 2021) with the statistics of
 * Klees et al. (CCS 2018): for each bug and each engine, TRIALS runs of
 * the budget from the seeds that do not expose the bug alone, each timing
 * three events from the target's canary file (MMT_CANARY_FILE, see
 * targets/target_common.c): the bug's site *reached*, its buggy code
 * *triggered*, and the bug *found* - a finding of the bug's own oracle
 * (caught_by), not whatever fired first: findings of other oracles are
 * listed, and the engine keeps going past them (libFuzzer -fork=1
 * -ignore_crashes=1; AFL++ does).  A trial stops as soon as the bug is
 * found (its engine's process group is killed), so a found bug costs its
 * time, a miss the budget.
 *
 * A miss is censored at the budget: medians are of the censored times
 * (a median at the budget is "not found" at that budget), and engines
 * are compared pairwise per bug with the Mann-Whitney U test and the
 * Vargha-Delaney A12 (tools/stats.c).  Every engine also runs with no bug
 * on, on every target used: any finding there is a false positive.
 */
enum bb_engine {
	BB_LIBFUZZER, /* libFuzzer, structure-aware mutator */
	BB_LIBFUZZER_BYTES, /* libFuzzer, its byte mutations only */
	BB_AFL, /* AFL++ with the custom mutator */
	BB_AFL_PLAIN, /* AFL++ without it */
	BB_PCT, /* `mmtorture pct` over the seeds, no fuzzer */
	BB_TSAN_STRESS, /* `mmtorture stress` of the tsan build */
	BB_NR_ENGINES,
};

static const char *const bb_engine_names[BB_NR_ENGINES] = {
	"libfuzzer", "libfuzzer-bytes", "afl", "afl-plain",
	"pct",	     "tsan-stress",
};

/*
 * The engines without a fuzzer apply to the concurrent bugs only: those
 * whose target above is a concurrent one (MMT_TRACE_SET_MT: another CPU,
 * an interrupt or a kernel thread must act inside an operation).  The
 * fuzzers on those targets are the deterministic concurrent targets: the
 * schedule is part of the input, which they mutate with the operations.
 *
 * pct: `mmtorture pct` (tools/cmd_pct.c, this very binary) over the
 * target's seeds that do not expose the bug alone, round after round of
 * BB_PCT_RUNS runs a program (PCT seeds moving on), until the bug's own
 * oracle finds it or the budget is spent: the schedules PCT explores,
 * with the programs held fixed.
 *
 * tsan-stress: `mmtorture stress W --bug B` of the tsan build (under
 * setarch -R), round after round of BB_STRESS_ROUND_S seconds over the
 * workloads whose operations pass the bug's site (measured with the
 * canaries: bb_stress[]), seeds moving on, every other pass over them with
 * --kcsan's random delays (they widen a race window, and slow everything
 * else down: slab-racy-free-objects wants them, slub-frozen-dead-cache is
 * reached far less often with them).  A bug none of them reaches -
 * one that needs a uniprocessor or PREEMPT_RT machine, or a PF_LESS_THROTTLE
 * writeback task, none of which the stressors build - is not theirs.  No
 * bug has ThreadSanitizer for its oracle, so *found* is the bug's own
 * oracle here too; a data race is another oracle's finding (and with no
 * bug on, a false positive).
 */
#define BB_PCT_RUNS 200
#define BB_STRESS_ROUND_S 10

static const struct {
	const char *bug, *workloads, *slab;
} bb_stress[] = {
	{ "nolock-zone-double-trylock", "nolock-storm", NULL },
	{ "slub-frozen-dead-cache", "memcg-offline", NULL },
	{ "slab-racy-free-objects", "pressure-memalloc-sockets", "slab" },
};

static bool bb_concurrent_target(const char *target)
{
	mmt_opset_t set;

	return mmt_trace_target_ops(target, &set) && (set & MMT_TRACE_SET_MT);
}

/* bb_stress[]'s entry of @bug, or -1. */
static int bb_stress_of(const char *bug)
{
	size_t i;

	for (i = 0; i < sizeof(bb_stress) / sizeof(bb_stress[0]); i++)
		if (!strcmp(bb_stress[i].bug, bug))
			return (int)i;
	return -1;
}

/*
 * What a no-bug run of tsan-stress is labelled by (its "target"): the
 * workloads of bb_stress[@i], and @slab when it names one.
 */
static void bb_stress_label(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", bb_stress[i].workloads,
		 bb_stress[i].slab ? " --slab " : "",
		 bb_stress[i].slab ? bb_stress[i].slab : "");
}

static int bb_stress_by_label(const char *label)
{
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(bb_stress) / sizeof(bb_stress[0]); i++) {
		bb_stress_label(i, buf, sizeof(buf));
		if (!strcmp(buf, label))
			return (int)i;
	}
	return -1;
}

/* Whether @engine can express @bug (of @target); if not, why in @why. */
static bool bb_applies(int engine, const char *bug, const char *target,
		       const char **why)
{
	if (engine != BB_PCT && engine != BB_TSAN_STRESS)
		return true;
	if (!bb_concurrent_target(target)) {
		*why = "not a concurrent bug (its target is single-CPU)";
		return false;
	}
	if (engine == BB_TSAN_STRESS && bb_stress_of(bug) < 0) {
		*why = "no stress workload reaches its site";
		return false;
	}
	return true;
}

/*
 * The tsan build's mmtorture, as find_build() finds the fuzzers': this
 * one when it is the tsan build, else MMT_TSAN_BUILD/mmtorture, else
 * build/tsan/mmtorture of the source tree.
 */
static bool bb_tsan_cli(char *path, size_t len)
{
	const char *env = getenv("MMT_TSAN_BUILD");
	char dir[PATH_MAX];

	if (!strcmp(cli_sanitizer(), "tsan") && bb_self_dir(dir, sizeof(dir))) {
		snprintf(path, len, "%s/mmtorture", dir);
		return is_exec(path);
	}
	if (env && *env)
		snprintf(path, len, "%s/mmtorture", env);
	else
		snprintf(path, len, "%s/build/tsan/mmtorture", MMT_SOURCE_DIR);
	return is_exec(path);
}

struct bb_trial {
	double reached, triggered, found; /* s from the start; -1: never */
	double found_any; /* the first finding of any oracle, or -1 */
	double seconds; /* the engine's wall time */
	unsigned long long execs;
};

struct bb_stop {
	const char *canary_file;
	const char *oracle;
};

/* Whether @path has a "found @oracle" line. */
static bool bb_found_line(const char *path, const char *oracle)
{
	char line[256], what[16], name[96];
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%15s %95s", what, name) == 2 &&
			!strcmp(what, "found") && !strcmp(name, oracle);
	fclose(f);
	return found;
}

static bool bb_stop_found(void *arg)
{
	const struct bb_stop *s = arg;

	return bb_found_line(s->canary_file, s->oracle);
}

/*
 * The trial's three times from its canary file (@t0 ms: its start), and
 * the other oracles that fired into @others (a JSON array of names).
 */
static void bb_read_canaries(const char *path, const char *bug,
			     const char *oracle, long long t0,
			     struct bb_trial *t, json_t *others)
{
	char line[256], what[16], name[96];
	long long ms;
	FILE *f = fopen(path, "r");

	t->reached = t->triggered = t->found = t->found_any = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		double s, *slot = NULL;
		size_t i;

		if (sscanf(line, "%15s %95s %lld", what, name, &ms) != 3)
			continue;
		s = ms > t0 ? (double)(ms - t0) / 1e3 : 0;
		if (!strcmp(what, "found") &&
		    (t->found_any < 0 || s < t->found_any))
			t->found_any = s;
		if (!strcmp(what, "reached") && !strcmp(name, bug))
			slot = &t->reached;
		else if (!strcmp(what, "triggered") && !strcmp(name, bug))
			slot = &t->triggered;
		else if (!strcmp(what, "found") && !strcmp(name, oracle))
			slot = &t->found;
		if (slot) {
			if (*slot < 0 || s < *slot)
				*slot = s;
			continue;
		}
		if (strcmp(what, "found"))
			continue;
		for (i = 0; i < json_array_size(others); i++)
			if (!strcmp(json_string_value(json_array_get(others, i)),
				    name))
				break;
		if (i == json_array_size(others))
			json_array_append_new(others, json_string(name));
	}
	fclose(f);
	/* A bug found was reached and triggered, if not before. */
	if (t->found >= 0 && (t->triggered < 0 || t->triggered > t->found))
		t->triggered = t->found;
	if (t->triggered >= 0 && (t->reached < 0 || t->reached > t->triggered))
		t->reached = t->triggered;
}

static json_t *bb_time(double s)
{
	return s >= 0 ? json_real(s) : json_null();
}

/* Censored median of one event over the trials: null if at the budget. */
static json_t *bb_median(const struct bb_trial *tr, size_t n, int which,
			 double budget)
{
	double v[BB_MAX_TRIALS], m;
	size_t i;

	for (i = 0; i < n; i++) {
		double x = which == 0 ? tr[i].reached :
			   which == 1 ? tr[i].triggered :
			   which == 2 ? tr[i].found :
					tr[i].found_any;

		v[i] = x >= 0 ? x : budget;
	}
	m = mmt_stats_median(v, n);
	return m < budget ? json_real(m) : json_null();
}

static bool bb_engine_set(const char *list, bool on[BB_NR_ENGINES],
			  const char **bad)
{
	int e;

	memset(on, 0, sizeof(bool) * BB_NR_ENGINES);
	if (!strcmp(list, "all")) {
		for (e = 0; e < BB_NR_ENGINES; e++)
			on[e] = true;
		return true;
	}
	while (*list) {
		size_t n = strcspn(list, ",");

		for (e = 0; e < BB_NR_ENGINES; e++)
			if (strlen(bb_engine_names[e]) == n &&
			    !strncmp(list, bb_engine_names[e], n))
				break;
		if (e == BB_NR_ENGINES) {
			*bad = list;
			return false;
		}
		on[e] = true;
		list += n + (list[n] == ',');
	}
	return true;
}

/* A round of pct or tsan-stress: killed once found or the budget is spent. */
struct bb_round_poll {
	const char *canary_file;
	const char *oracle; /* NULL: a no-bug run, never stopped early */
	double t0, budget;
	double grace; /* s a round may outlive the budget (its own end) */
};

static bool bb_round_poll(void *arg, double elapsed)
{
	const struct bb_round_poll *p = arg;

	(void)elapsed;
	return now() - p->t0 >= p->budget + p->grace ||
	       (p->oracle && bb_found_line(p->canary_file, p->oracle));
}

/* Add @name to the JSON array of names @others, once. */
static void bb_add_other(json_t *others, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(others); i++)
		if (!strcmp(json_string_value(json_array_get(others, i)), name))
			return;
	json_array_append_new(others, json_string(name));
}

/*
 * A round's own account (its JSON file): the PCT runs or stress ops it
 * made into @execs; the crashes and hangs pct's isolated children saw, a
 * stress run that could not run, into @others.
 */
static bool bb_round_account(int engine, const char *json_path,
			     unsigned long long *execs, json_t *others)
{
	json_t *root = json_load_file(json_path, 0, NULL), *run;
	size_t i;

	if (!root)
		return false;
	if (engine == BB_PCT) {
		*execs += (unsigned long long)json_integer_value(
			json_object_get(root, "runs"));
		if (json_integer_value(json_object_get(root, "crashes")))
			bb_add_other(others, "crash");
		if (json_integer_value(json_object_get(root, "hangs")))
			bb_add_other(others, "hang");
	} else {
		const char *result =
			json_string_value(json_object_get(root, "result"));

		json_array_foreach(json_object_get(root, "runs"), i, run)
		{
			*execs += (unsigned long long)json_integer_value(
				json_object_get(run, "ops"));
		}
		if (result && !strcmp(result, "error"))
			bb_add_other(others, "stress-error");
	}
	json_decref(root);
	return true;
}

/*
 * One trial of pct or tsan-stress (@bug NULL: a no-bug run): rounds of
 * the command until the bug's own oracle is in the canary file or the
 * budget is spent.  @what is the target (pct) or the bb_stress[] index
 * (tsan-stress) as text.
 */
static void bb_run_rounds(const struct fuzz_opts *o, int engine,
			  const char *what, const char *seeds_dir,
			  const char *out, const char *canary, const char *bug,
			  const char *oracle, json_t *others,
			  struct fuzz_result *r)
{
	char self[PATH_MAX], cli[PATH_MAX + 16], arch[72] = "x86_64";
	char env_canary[PATH_MAX + 32], log[PATH_MAX + 32];
	/*
	 * A pct round is cut at the budget (its runs then go uncounted); a
	 * stress round is given the time left and ends by itself (its
	 * teardown and final validation run), killed only 10 s past it.
	 */
	struct bb_round_poll poll = { canary, oracle, now(), (double)o->seconds,
				      engine == BB_TSAN_STRESS ? 10 : 0 };
	struct utsname un;
	unsigned long k, nw = 1; /* tsan-stress: the bug's workloads */
	int si = engine == BB_TSAN_STRESS ? atoi(what) : -1;

	memset(r, 0, sizeof(*r));
	if (!uname(&un))
		snprintf(arch, sizeof(arch), "%s", un.machine);
	snprintf(env_canary, sizeof(env_canary), "MMT_CANARY_FILE=%s", canary);
	if (engine == BB_PCT) {
		if (!bb_self_dir(self, sizeof(self)))
			return;
		snprintf(cli, sizeof(cli), "%s/mmtorture", self);
	} else if (!bb_tsan_cli(cli, sizeof(cli))) {
		return;
	} else {
		const char *c;

		for (c = bb_stress[si].workloads; *c; c++)
			nw += *c == ',';
	}
	for (k = 0; now() - poll.t0 < poll.budget; k++) {
		char *argv[ARGV_MAX], *env[2] = { env_canary, NULL };
		char runs[24], seed[24], secs[24], rdir[PATH_MAX + 32],
			json[PATH_MAX + 48];
		const char *w = NULL;
		double left = poll.budget - (now() - poll.t0), secs_run;
		int n = 0, status;

		snprintf(rdir, sizeof(rdir), "%.4000s/round-%lu", out, k);
		snprintf(log, sizeof(log), "%.4000s/round-%lu.log", out, k);
		if (engine == BB_TSAN_STRESS && left < 1)
			break;
		if (engine == BB_PCT) {
			/* PCT seeds of trial s: s * 10^7 + k * runs + 1. */
			snprintf(runs, sizeof(runs), "%d", BB_PCT_RUNS);
			snprintf(seed, sizeof(seed), "%lu",
				 o->seed * 10000000ul + k * BB_PCT_RUNS + 1);
			snprintf(json, sizeof(json), "%s/summary.json", rdir);
			argv[n++] = cli;
			argv[n++] = "pct";
			argv[n++] = "--target";
			argv[n++] = (char *)what;
			argv[n++] = "--runs";
			argv[n++] = runs;
			argv[n++] = "--seed";
			argv[n++] = seed;
			argv[n++] = "--keep-going";
			argv[n++] = "-q";
			argv[n++] = "--out";
			argv[n++] = rdir;
			if (bug) {
				argv[n++] = "--bug";
				argv[n++] = (char *)bug;
			}
			argv[n++] = (char *)seeds_dir;
		} else {
			/* The bug's workloads in turn, a round each. */
			const char *wl = bb_stress[si].workloads;
			size_t i, len;
			static char wname[64];

			for (i = k % nw; i; i--)
				wl = strchr(wl, ',') + 1;
			len = strcspn(wl, ",");
			snprintf(wname, sizeof(wname), "%.*s", (int)len, wl);
			w = wname;
			snprintf(secs, sizeof(secs), "%d",
				 left < BB_STRESS_ROUND_S ? (int)left :
							    BB_STRESS_ROUND_S);
			snprintf(seed, sizeof(seed), "%lu",
				 o->seed * 100000ul + k + 1);
			snprintf(json, sizeof(json), "%.4000s/round-%lu.json",
				 out, k);
			argv[n++] = "setarch";
			argv[n++] = arch;
			argv[n++] = "-R";
			argv[n++] = cli;
			argv[n++] = "stress";
			argv[n++] = (char *)w;
			argv[n++] = "--time";
			argv[n++] = secs;
			argv[n++] = "--seed";
			argv[n++] = seed;
			argv[n++] = "--quiesce";
			argv[n++] = "0.5";
			if ((k / nw) % 2)
				argv[n++] = "--kcsan";
			argv[n++] = "--json";
			argv[n++] = json;
			if (bb_stress[si].slab) {
				argv[n++] = "--slab";
				argv[n++] = (char *)bb_stress[si].slab;
			}
			if (bug) {
				argv[n++] = "--bug";
				argv[n++] = (char *)bug;
			}
		}
		argv[n] = NULL;
		{
			char **const argvs[1] = { argv };

			status = run_engines(argvs, 1, env, log, &secs_run,
					     NULL, bb_round_poll, &poll, 0,
					     true);
		}
		/*
		 * Killed by us: found, or out of time; else its own end,
		 * whatever its status (TSan's 66 after a report), with its
		 * JSON - or it could not run at all (exit 2, no setarch).
		 */
		if (status != -1 && WIFSIGNALED(status) &&
		    WTERMSIG(status) != SIGKILL)
			bb_add_other(others, "crash");
		if (status == -1 ||
		    (WIFEXITED(status) &&
		     !bb_round_account(engine, json, &r->execs, others))) {
			/* It cannot run: say so once, don't spin. */
			fprintf(stderr,
				"bench bugs: %s could not run (exit %d), see %s\n",
				bb_engine_names[engine],
				status == -1 ? -1 : WEXITSTATUS(status), log);
			bb_add_other(others, "engine-error");
			break;
		}
		if (oracle && bb_found_line(canary, oracle))
			break;
	}
	r->seconds = now() - poll.t0;
	r->first_finding = -1;
}

/* One trial (or, with @bug NULL, a false-positive run) of @engine. */
static void bb_run(const struct fuzz_opts *base, int engine, const char *target,
		   uint64_t bugs, const char *seeds_dir, const char *out,
		   unsigned long seed, const char *bug, const char *oracle,
		   struct bb_trial *t, json_t *others, struct fuzz_result *r)
{
	struct fuzz_opts o = *base;
	char canary[PATH_MAX + 16];
	struct bb_stop stop;
	long long t0;
	/* tsan-stress: the bb_stress[] entry (of @bug, or a no-bug run's). */
	const char *stress_or_target = target;
	char si[16];

	if (engine == BB_TSAN_STRESS) {
		snprintf(si, sizeof(si), "%d",
			 bug ? bb_stress_of(bug) : bb_stress_by_label(target));
		stress_or_target = si;
	}

	o.target = target;
	o.bugs = bugs;
	o.seed = seed;
	o.corpus_in = seeds_dir;
	o.no_regress = true;
	o.no_sweep = true;
	o.keep_going = true; /* past other oracles' findings */
	o.jobs = 1;
	o.engine = engine == BB_AFL || engine == BB_AFL_PLAIN ?
			   ENGINE_AFL :
			   ENGINE_LIBFUZZER;
	o.plain_mutator = engine == BB_LIBFUZZER_BYTES ||
			  engine == BB_AFL_PLAIN;
	o.out = out;
	cli_mkdirs(out);
	snprintf(canary, sizeof(canary), "%.4000s/canaries", out);
	unlink(canary);
	o.canary_file = canary;
	stop.canary_file = canary;
	stop.oracle = oracle;
	if (bug) {
		o.stop = bb_stop_found;
		o.stop_arg = &stop;
		/* one libFuzzer process that goes past other oracles */
		o.stop_oracle = oracle;
	}
	t0 = (long long)(now() * 1e3);
	if (engine == BB_PCT || engine == BB_TSAN_STRESS)
		bb_run_rounds(&o, engine, stress_or_target, seeds_dir, out,
			      canary, bug, oracle, others, r);
	else
		fuzz_one(&o, r);
	/*
	 * libFuzzer in one process (o.stop_oracle) goes past other oracles'
	 * findings, but a crash that is none (an internal assertion the
	 * bug's damage trips, a hang, an OOM) ends it: start it again, from
	 * the corpus it grew, for what is left of the budget.
	 */
	while (o.stop_oracle && o.engine == ENGINE_LIBFUZZER &&
	       !bb_found_line(canary, oracle)) {
		double used = now() - (double)t0 / 1e3;
		struct fuzz_opts again = o;
		struct fuzz_result part;

		if (used + 1 >= (double)o.seconds)
			break;
		again.seconds = (unsigned long)((double)o.seconds - used);
		again.seed = o.seed + 1000003ul * (r->execs % 97 + 1);
		fuzz_one(&again, &part);
		r->execs += part.execs;
		r->seconds = now() - (double)t0 / 1e3;
		free(part.sigs);
		if (!part.execs)
			break; /* it no longer runs at all */
	}
	t->seconds = r->seconds;
	t->execs = r->execs;
	bb_read_canaries(canary, bug ? bug : "", oracle ? oracle : "", t0, t,
			 others);
	/*
	 * Censored at the budget: an event past it (a stress round's own
	 * end, an engine slow to stop) is a miss like any other.
	 */
	if (t->reached > (double)o.seconds)
		t->reached = -1;
	if (t->triggered > (double)o.seconds)
		t->triggered = -1;
	if (t->found > (double)o.seconds)
		t->found = -1;
	if (t->found_any > (double)o.seconds)
		t->found_any = -1;
}

static double bb_jnum(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/*
 * A trial the journal already holds (--journal): its times, execs and
 * other oracles as if it had just run.  False if it holds none.
 */
static bool bb_from_journal(struct bb_journal *jr, const char *kind,
			    const char *what, int engine, unsigned long seed,
			    unsigned long budget, struct bb_trial *t,
			    json_t *others, struct fuzz_result *r)
{
	json_t *rec, *o;
	size_t i;

	if (!jr ||
	    !(rec = bb_journal_find(jr, kind, what, bb_engine_names[engine],
				    seed, budget)))
		return false;
	memset(r, 0, sizeof(*r));
	t->reached = bb_jnum(rec, "reached");
	t->triggered = bb_jnum(rec, "triggered");
	t->found = bb_jnum(rec, "found");
	t->found_any = bb_jnum(rec, "found_any_oracle");
	t->seconds = r->seconds = bb_jnum(rec, "seconds");
	t->execs = r->execs = (unsigned long long)json_integer_value(
		json_object_get(rec, "execs"));
	json_array_foreach(json_object_get(rec, "other_oracles"), i,
			   o) if (json_is_string(o))
		json_array_append(others, o);
	return true;
}

/* Write a finished trial to the journal; false (reported) if it failed. */
static bool bb_to_journal(struct bb_journal *jr, const char *kind,
			  const char *what, int engine, unsigned long seed,
			  unsigned long budget, const struct bb_trial *t,
			  json_t *others, const struct fuzz_result *r)
{
	char err[512];

	if (!jr)
		return true;
	if (bb_journal_append(
		    jr, kind, what, bb_engine_names[engine], seed, budget,
		    json_pack("{s:o, s:o, s:o, s:o, s:f, s:I, s:O}", "reached",
			      bb_time(t->reached), "triggered",
			      bb_time(t->triggered), "found", bb_time(t->found),
			      "found_any_oracle", bb_time(t->found_any),
			      "seconds", r->seconds, "execs",
			      (json_int_t)r->execs, "other_oracles", others),
		    err, sizeof(err)))
		return true;
	fprintf(stderr, "%s bench bugs: %s\n", CLI_PROG, err);
	return false;
}

/* The JSON checks itself: what CI runs of it must hold together. */
static bool bb_check(json_t *root, uint64_t trials, char *why, size_t len)
{
	json_t *bugs = json_object_get(root, "bugs"), *bug;
	size_t i;

	if (!json_is_array(bugs) || !json_array_size(bugs)) {
		snprintf(why, len, "no bugs measured");
		return false;
	}
	json_array_foreach(bugs, i, bug)
	{
		json_t *engines = json_object_get(bug, "engines"), *e;
		const char *name;

		json_object_foreach(engines, name, e)
		{
			json_t *runs = json_object_get(e, "runs"), *run;
			json_int_t found = 0;
			size_t k;

			/* An engine that does not apply to the bug: "n/a". */
			if (json_is_string(e) &&
			    !strcmp(json_string_value(e), "n/a"))
				continue;
			if (json_array_size(runs) != trials) {
				snprintf(why, len, "%s/%s: %zu runs, not %llu",
					 json_string_value(
						 json_object_get(bug, "bug")),
					 name, json_array_size(runs),
					 (unsigned long long)trials);
				return false;
			}
			json_array_foreach(runs, k, run)
			{
				json_t *r = json_object_get(run, "reached"),
				       *tg = json_object_get(run, "triggered"),
				       *f = json_object_get(run, "found"),
				       *fa = json_object_get(
					       run, "found_any_oracle");

				if (json_is_real(f))
					found++;
				if ((json_is_real(f) && !json_is_real(tg)) ||
				    (json_is_real(tg) && !json_is_real(r)) ||
				    (json_is_real(f) &&
				     json_real_value(tg) >
					     json_real_value(f)) ||
				    (json_is_real(tg) &&
				     json_real_value(r) >
					     json_real_value(tg)) ||
				    (json_is_real(f) &&
				     (!json_is_real(fa) ||
				      json_real_value(fa) >
					      json_real_value(f)))) {
					snprintf(
						why, len,
						"%s/%s trial %zu: reached <= triggered <= found and any-oracle <= found do not hold",
						json_string_value(
							json_object_get(bug,
									"bug")),
						name, k + 1);
					return false;
				}
			}
			if (json_integer_value(json_object_get(e, "found")) !=
			    found) {
				snprintf(why, len, "%s/%s: found count wrong",
					 json_string_value(
						 json_object_get(bug, "bug")),
					 name);
				return false;
			}
		}
	}
	return true;
}

/* docs/BENCHMARKS.md's table: per bug, each engine's median and hits. */
static void bb_markdown(json_t *root, const bool on[BB_NR_ENGINES], FILE *out)
{
	json_t *bugs = json_object_get(root, "bugs"), *bug, *fp;
	size_t i;
	int e;

	fprintf(out,
		"Budget %lld s per trial, %lld trial(s). Each cell: median seconds to "
		"*found* by the bug's own oracle (censored at the budget: '-' = not "
		"found at the median), found/trials; then the median seconds to "
		"reached / triggered / the first finding of any oracle (with one bug "
		"on and no false positive, a consequence of the bug).\n\n",
		(long long)json_integer_value(
			json_object_get(root, "budget_seconds")),
		(long long)json_integer_value(json_object_get(root, "trials")));
	fprintf(out, "| bug | target |");
	for (e = 0; e < BB_NR_ENGINES; e++)
		if (on[e])
			fprintf(out, " %s |", bb_engine_names[e]);
	fprintf(out, "\n|---|---|");
	for (e = 0; e < BB_NR_ENGINES; e++)
		if (on[e])
			fprintf(out, "---|");
	fprintf(out, "\n");
	json_array_foreach(json_object_get(root, "bugs"), i, bug)
	{
		fprintf(out, "| %s | %s |",
			json_string_value(json_object_get(bug, "bug")),
			json_string_value(json_object_get(bug, "target")));
		for (e = 0; e < BB_NR_ENGINES; e++) {
			json_t *en;
			json_t *mf, *mr, *mt;

			if (!on[e])
				continue;
			en = json_object_get(json_object_get(bug, "engines"),
					     bb_engine_names[e]);
			if (json_is_string(en)) {
				fprintf(out, " %s |", json_string_value(en));
				continue;
			}
			mf = json_object_get(en, "median_found");
			mr = json_object_get(en, "median_reached");
			mt = json_object_get(en, "median_triggered");
			if (json_is_real(mf))
				fprintf(out, " %.1f", json_real_value(mf));
			else
				fprintf(out, " -");
			fprintf(out, " (%lld/%lld; ",
				(long long)json_integer_value(
					json_object_get(en, "found")),
				(long long)json_array_size(
					json_object_get(en, "runs")));
			if (json_is_real(mr))
				fprintf(out, "%.1f", json_real_value(mr));
			else
				fprintf(out, "-");
			if (json_is_real(mt))
				fprintf(out, " / %.1f", json_real_value(mt));
			else
				fprintf(out, " / -");
			mt = json_object_get(en, "median_found_any_oracle");
			if (json_is_real(mt))
				fprintf(out, " / %.1f) |", json_real_value(mt));
			else
				fprintf(out, " / -) |");
		}
		fprintf(out, "\n");
	}
	(void)bugs;
	fp = json_object_get(root, "false_positives");
	fprintf(out,
		"\nFalse positives (no bug on, every engine and target): %lld\n",
		(long long)json_integer_value(json_object_get(fp, "count")));
	{
		json_t *sp = json_object_get(root, "structure_vs_bytes");

		if (json_is_real(json_object_get(sp, "median_speedup")))
			fprintf(out,
				"\nStructure-aware vs byte mutation (libFuzzer): median speed-up %.1fx over %lld bug(s) found by either.\n",
				json_real_value(
					json_object_get(sp, "median_speedup")),
				(long long)json_integer_value(
					json_object_get(sp, "bugs")));
	}
}

int cmd_bench_bugs(int argc, char **argv)
{
	enum {
		OPT_ENGINES = 512,
		OPT_MD_OUT,
		OPT_QUICK,
		OPT_FP_TIME,
		OPT_JOURNAL,
	};
	static const struct option opts[] = {
		{ "trials", required_argument, NULL, OPT_TRIALS },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "engines", required_argument, NULL, OPT_ENGINES },
		{ "bugs", required_argument, NULL, OPT_BUGS },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "json-out", required_argument, NULL, OPT_JSON_OUT },
		{ "md-out", required_argument, NULL, OPT_MD_OUT },
		{ "fp-time", required_argument, NULL, OPT_FP_TIME },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "journal", required_argument, NULL, OPT_JOURNAL },
		{ "mempool-policies", required_argument, NULL,
		  OPT_MEMPOOL_POLICIES },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct fuzz_opts base = { .seconds = 300,
				  .jobs = 1,
				  .quiet = true,
				  .replay_timeout =
					  CLI_ISOLATE_DEFAULT_TIMEOUT };
	const char *only = NULL, *json_out = NULL, *md_out = NULL,
		   *engines = "libfuzzer,libfuzzer-bytes", *bad,
		   *journal_path = NULL;
	struct bb_journal *jr = NULL;
	bool journal_ok = true;
	bool on[BB_NR_ENGINES], quick = false, time_set = false,
				trials_set = false, fuzzers_on;
	char tsan_cli[PATH_MAX + 16];
	/* tsan-stress's no-bug runs: the bb_stress[] entries benchmarked */
	bool stress_used[sizeof(bb_stress) / sizeof(bb_stress[0])] = { false };
	unsigned long fp_time = 0;
	uint64_t trials = 10, mask;
	json_t *arr, *root, *fp_runs, *speedups;
	char err[256], stamp[32], why[256];
	char used_targets[512] = "";
	double sp[64];
	size_t nsp = 0;
	json_int_t fp_count = 0;
	time_t now_t = time(NULL);
	size_t b;
	int c, rc, e;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == OPT_TRIALS) {
			if (!cli_parse_u64("bench bugs", "--trials", optarg, 1,
					   BB_MAX_TRIALS, &trials))
				return CLI_EXIT_USAGE;
			trials_set = true;
		} else if (c == OPT_BUGS) {
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("bench bugs",
						       "--bugs: %s", err);
			only = optarg;
		} else if (c == OPT_ENGINES) {
			engines = optarg;
		} else if (c == OPT_JSON_OUT) {
			json_out = optarg;
		} else if (c == OPT_MD_OUT) {
			md_out = optarg;
		} else if (c == OPT_FP_TIME) {
			if (!cli_parse_duration(optarg, &fp_time))
				return cli_usage_error(
					"bench bugs",
					"--fp-time: '%s' is no duration (90, 90s, 5m, 2h)",
					optarg);
		} else if (c == OPT_QUICK) {
			quick = true;
		} else if (c == OPT_JOURNAL) {
			journal_path = optarg;
		} else if (c == 'h' || c == OPT_HELP) {
			bench_bugs_usage(stdout);
			return CLI_EXIT_OK;
		} else {
			if (c == OPT_TIME)
				time_set = true;
			rc = parse_common("bench bugs", c, &base);
			if (rc > 0)
				return rc;
			if (rc < 0)
				return cli_getopt_error("bench bugs", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("bench bugs", "unexpected argument '%s'",
				       argv[optind]);
	if (quick) {
		/* CI: two quick bugs, the two libFuzzer engines, seconds. */
		if (!only)
			only = BB_QUICK_BUGS;
		if (!strcmp(engines, "libfuzzer,libfuzzer-bytes"))
			engines = BB_QUICK_ENGINES;
		if (!time_set)
			base.seconds = 10;
		if (!trials_set)
			trials = 2;
		if (!fp_time)
			fp_time = 5;
	}
	if (!fp_time)
		fp_time = base.seconds;
	if (!bb_engine_set(engines, on, &bad))
		return cli_usage_error(
			"bench bugs",
			"--engines: '%s' names no engine (libfuzzer, libfuzzer-bytes, afl, afl-plain, pct, tsan-stress, all)",
			bad);
	for (e = 0; e < BB_NR_ENGINES && !on[e]; e++)
		;
	if (e == BB_NR_ENGINES)
		return cli_usage_error("bench bugs",
				       "--engines: '%s' names no engine",
				       engines);
	fuzzers_on = on[BB_LIBFUZZER] || on[BB_LIBFUZZER_BYTES] || on[BB_AFL] ||
		     on[BB_AFL_PLAIN];
	if (on[BB_TSAN_STRESS] && !bb_tsan_cli(tsan_cli, sizeof(tsan_cli)) &&
	    !strcmp(engines, "all")) {
		/* all: the engines this host has (a named one must run) */
		fprintf(stderr,
			"%s bench bugs: no tsan build (%s): tsan-stress left out of all\n",
			CLI_PROG, tsan_cli);
		on[BB_TSAN_STRESS] = false;
	} else if (on[BB_TSAN_STRESS] &&
		   !bb_tsan_cli(tsan_cli, sizeof(tsan_cli))) {
		fprintf(stderr,
			"%s bench bugs: tsan-stress needs the tsan build's mmtorture, not at %s (cmake --preset tsan && cmake --build --preset tsan --target mmtorture, or MMT_TSAN_BUILD=DIR)\n",
			CLI_PROG, tsan_cli);
		return CLI_EXIT_FAIL;
	}
	if (journal_path) {
		char note[PATH_MAX + 128];

		jr = bb_journal_open(journal_path, err, sizeof(err), note,
				     sizeof(note));
		if (!jr) {
			fprintf(stderr, "%s bench bugs: --journal: %s\n",
				CLI_PROG, err);
			return CLI_EXIT_FAIL;
		}
		if (note[0])
			fprintf(stderr, "%s bench bugs: --journal: %s\n",
				CLI_PROG, note);
		fprintf(stderr,
			"%s bench bugs: --journal %s: %zu finished trial(s) on record\n",
			CLI_PROG, journal_path, bb_journal_records(jr));
	}
	/* Allocated after the options: --help and usage errors leak nothing. */
	arr = json_array();
	fp_runs = json_array();
	speedups = json_object();
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now_t));
	for (b = 0; b < sizeof(bug_targets) / sizeof(bug_targets[0]); b++) {
		const struct mmt_bug_info *info =
			mmt_bug_find(bug_targets[b].bug);
		json_t *excluded, *bug_engines, *cmp, *na;
		char seeds_dir[PATH_MAX];
		struct fuzz_opts fo = base;
		static struct bb_trial tr[BB_NR_ENGINES][BB_MAX_TRIALS];
		double found_s[BB_NR_ENGINES][BB_MAX_TRIALS];
		bool applies[BB_NR_ENGINES];
		int e2;
		uint64_t t;

		if (!info || (only && !cli_in_list(only, bug_targets[b].bug)))
			continue;
		excluded = json_array();
		bug_engines = json_object();
		cmp = json_array();
		na = json_object();
		fo.target = bug_targets[b].target;
		mmt_bugs_parse(bug_targets[b].bug, &fo.bugs, err, sizeof(err));
		snprintf(seeds_dir, sizeof(seeds_dir),
			 "%s/build/bench-bugs/%s/%s-seeds", MMT_SOURCE_DIR,
			 stamp, bug_targets[b].bug);
		if (!filter_seeds(&fo, seeds_dir, excluded, !fuzzers_on)) {
			fprintf(stderr,
				"bench bugs: no seeds for target %s (build the fuzz preset)\n",
				fo.target);
			json_decref(excluded);
			json_decref(bug_engines);
			json_decref(cmp);
			json_decref(na);
			json_decref(arr);
			json_decref(fp_runs);
			json_decref(speedups);
			return CLI_EXIT_FAIL;
		}
		if (!cli_in_list(used_targets, fo.target) &&
		    strlen(used_targets) + strlen(fo.target) + 2 <
			    sizeof(used_targets)) {
			if (used_targets[0])
				strcat(used_targets, ",");
			strcat(used_targets, fo.target);
		}
		for (e = 0; e < BB_NR_ENGINES; e++) {
			json_t *runs, *others, *row;
			const char *why = NULL;
			int found = 0;

			applies[e] = on[e] && bb_applies(e, bug_targets[b].bug,
							 fo.target, &why);
			if (on[e] && !applies[e]) {
				json_object_set_new(bug_engines,
						    bb_engine_names[e],
						    json_string("n/a"));
				json_object_set_new(na, bb_engine_names[e],
						    json_string(why));
				continue;
			}
			if (!on[e])
				continue;
			if (e == BB_TSAN_STRESS)
				stress_used[bb_stress_of(bug_targets[b].bug)] =
					true;
			runs = json_array();
			for (t = 0; t < trials; t++) {
				struct fuzz_result r;
				char out[PATH_MAX];

				others = json_array();
				snprintf(out, sizeof(out),
					 "%s/build/bench-bugs/%s/%s-%s-%llu",
					 MMT_SOURCE_DIR, stamp,
					 bug_targets[b].bug, bb_engine_names[e],
					 (unsigned long long)t);
				if (!bb_from_journal(
					    jr, "trial", bug_targets[b].bug, e,
					    (unsigned long)t + 1, base.seconds,
					    &tr[e][t], others, &r)) {
					bb_run(&base, e, fo.target, fo.bugs,
					       seeds_dir, out,
					       (unsigned long)t + 1,
					       bug_targets[b].bug,
					       info->caught_by, &tr[e][t],
					       others, &r);
					journal_ok &= bb_to_journal(
						jr, "trial", bug_targets[b].bug,
						e, (unsigned long)t + 1,
						base.seconds, &tr[e][t], others,
						&r);
				}
				if (tr[e][t].found >= 0)
					found++;
				found_s[e][t] = tr[e][t].found >= 0 ?
							tr[e][t].found :
							(double)base.seconds;
				fprintf(stderr,
					"bench bugs: %s %s trial %llu: %s%.1f s (reached %.1f, triggered %.1f)%s\n",
					bug_targets[b].bug, bb_engine_names[e],
					(unsigned long long)t + 1,
					tr[e][t].found >= 0 ? "found after " :
							      "not found in ",
					tr[e][t].found >= 0 ? tr[e][t].found :
							      r.seconds,
					tr[e][t].reached, tr[e][t].triggered,
					json_array_size(others) ?
						" (other oracles fired)" :
						"");
				json_array_append_new(
					runs,
					json_pack(
						"{s:I, s:o, s:o, s:o, s:o, s:f, s:I, s:o}",
						"seed", (json_int_t)t + 1,
						"reached",
						bb_time(tr[e][t].reached),
						"triggered",
						bb_time(tr[e][t].triggered),
						"found",
						bb_time(tr[e][t].found),
						"found_any_oracle",
						bb_time(tr[e][t].found_any),
						"seconds", r.seconds, "execs",
						(json_int_t)r.execs,
						"other_oracles", others));
				free(r.sigs);
			}
			row = json_pack(
				"{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				"found", (json_int_t)found, "median_reached",
				bb_median(tr[e], trials, 0,
					  (double)base.seconds),
				"median_triggered",
				bb_median(tr[e], trials, 1,
					  (double)base.seconds),
				"median_found",
				bb_median(tr[e], trials, 2,
					  (double)base.seconds),
				"median_found_any_oracle",
				bb_median(tr[e], trials, 3,
					  (double)base.seconds),
				"min_found", json_null(), "max_found",
				json_null(), "runs", runs);
			/* min and max over the found trials */
			if (found) {
				double lo = -1, hi = -1;

				for (t = 0; t < trials; t++)
					if (tr[e][t].found >= 0) {
						if (lo < 0 ||
						    tr[e][t].found < lo)
							lo = tr[e][t].found;
						if (tr[e][t].found > hi)
							hi = tr[e][t].found;
					}
				json_object_set_new(row, "min_found",
						    json_real(lo));
				json_object_set_new(row, "max_found",
						    json_real(hi));
			}
			json_object_set_new(bug_engines, bb_engine_names[e],
					    row);
		}
		/* Pairwise: A12 is P(the first engine takes longer). */
		for (e = 0; e < BB_NR_ENGINES; e++)
			for (e2 = e + 1; e2 < BB_NR_ENGINES; e2++) {
				struct mmt_mwu m;

				if (!applies[e] || !applies[e2] ||
				    !mmt_stats_mwu(found_s[e], trials,
						   found_s[e2], trials, &m))
					continue;
				json_array_append_new(
					cmp,
					json_pack(
						"{s:s, s:s, s:f, s:f, s:f, s:b}",
						"a", bb_engine_names[e], "b",
						bb_engine_names[e2], "u", m.u1,
						"a12_a_slower", m.a12, "p", m.p,
						"exact", m.exact));
			}
		/* Structure-aware vs bytes: the ratio of censored medians. */
		if (on[BB_LIBFUZZER] && on[BB_LIBFUZZER_BYTES] &&
		    nsp < sizeof(sp) / sizeof(sp[0])) {
			double ms = mmt_stats_median(found_s[BB_LIBFUZZER],
						     trials),
			       mb = mmt_stats_median(
				       found_s[BB_LIBFUZZER_BYTES], trials);

			if (ms < (double)base.seconds ||
			    mb < (double)base.seconds)
				sp[nsp++] = mb / (ms > 0.1 ? ms : 0.1);
		}
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
				  "bug", bug_targets[b].bug, "seed", info->seed,
				  "target", bug_targets[b].target, "caught_by",
				  info->caught_by, "seeds_that_expose_it_alone",
				  excluded, "engines", bug_engines,
				  "not_applicable", na, "comparisons", cmp));
	}
	/*
	 * False positives: every engine on every target used that it applies
	 * to (pct: the concurrent ones), no bug on; tsan-stress on the
	 * workloads (and slab) of each bug it ran for.
	 */
	for (e = 0; e < BB_NR_ENGINES; e++) {
		char list[2048] = "";
		const char *tl = list;
		size_t i;

		if (!on[e])
			continue;
		if (e == BB_TSAN_STRESS) {
			for (i = 0;
			     i < sizeof(bb_stress) / sizeof(bb_stress[0]);
			     i++) {
				char label[128];

				if (!stress_used[i])
					continue;
				bb_stress_label(i, label, sizeof(label));
				if (strlen(list) + strlen(label) + 2 <
				    sizeof(list))
					snprintf(list + strlen(list),
						 sizeof(list) - strlen(list),
						 "%s%s", list[0] ? ";" : "",
						 label);
			}
		} else {
			const char *u = used_targets;

			while (*u) {
				size_t n = strcspn(u, ",");
				char target[64];

				snprintf(target, sizeof(target), "%.*s", (int)n,
					 u);
				u += n + (u[n] == ',');
				if (e == BB_PCT &&
				    !bb_concurrent_target(target))
					continue;
				if (strlen(list) + n + 2 < sizeof(list))
					snprintf(list + strlen(list),
						 sizeof(list) - strlen(list),
						 "%s%s", list[0] ? ";" : "",
						 target);
			}
		}
		while (*tl) {
			size_t n = strcspn(tl, ";");
			char target[128], pathname[128], out[PATH_MAX],
				seeds_dir[PATH_MAX];
			struct fuzz_opts fo = base;
			struct bb_trial t;
			struct fuzz_result r;
			json_t *others = json_array(), *ex = json_array();
			size_t k;

			snprintf(target, sizeof(target), "%.*s", (int)n, tl);
			tl += n + (tl[n] == ';');
			/* a label's spaces are no path's */
			snprintf(pathname, sizeof(pathname), "%s", target);
			for (k = 0; pathname[k]; k++)
				if (pathname[k] == ' ')
					pathname[k] = '_';
			fo.target = target;
			fo.bugs = 0;
			fo.seconds = fp_time;
			snprintf(seeds_dir, sizeof(seeds_dir),
				 "%s/build/bench-bugs/%s/nobug-%s-seeds",
				 MMT_SOURCE_DIR, stamp, pathname);
			if (e != BB_TSAN_STRESS)
				filter_seeds(&fo, seeds_dir, ex, !fuzzers_on);
			json_decref(ex);
			snprintf(out, sizeof(out),
				 "%s/build/bench-bugs/%s/nobug-%s-%s",
				 MMT_SOURCE_DIR, stamp, pathname,
				 bb_engine_names[e]);
			if (bb_from_journal(jr, "nobug", target, e, 1, fp_time,
					    &t, others, &r))
				goto counted;
			bb_run(&fo, e, target, 0, seeds_dir, out, 1, NULL, NULL,
			       &t, others, &r);
			/* Crashes of the model's (ASan) count as well. */
			for (k = 0; k < r.nr_sigs; k++) {
				size_t i;

				for (i = 0; i < json_array_size(others); i++)
					if (!strcmp(json_string_value(
							    json_array_get(
								    others, i)),
						    r.sigs[k].oracle))
						break;
				if (i == json_array_size(others))
					json_array_append_new(
						others,
						json_string(r.sigs[k].oracle));
			}
			journal_ok &= bb_to_journal(jr, "nobug", target, e, 1,
						    fp_time, &t, others, &r);
counted:
			fp_count += (json_int_t)json_array_size(others);
			if (json_array_size(others))
				fprintf(stderr,
					"bench bugs: FALSE POSITIVE: %s on %s with no bug on (%s)\n",
					bb_engine_names[e], target,
					r.nr_sigs ? r.sigs[0].signature : "");
			json_array_append_new(
				fp_runs,
				json_pack("{s:s, s:s, s:f, s:I, s:o}", "engine",
					  bb_engine_names[e], "target", target,
					  "seconds", r.seconds, "execs",
					  (json_int_t)r.execs, "findings",
					  others));
			free(r.sigs);
		}
	}
	json_object_set_new(speedups, "bugs", json_integer((json_int_t)nsp));
	json_object_set_new(speedups, "median_speedup",
			    nsp ? json_real(mmt_stats_median(sp, nsp)) :
				  json_null());
	{
		json_t *en = json_array();

		for (e = 0; e < BB_NR_ENGINES; e++)
			if (on[e])
				json_array_append_new(
					en, json_string(bb_engine_names[e]));
		/* 3: an engine that does not apply to a bug is "n/a" */
		root = json_pack(
			"{s:s, s:i, s:o, s:I, s:I, s:I, s:o, s:o, s:{s:I, s:o}}",
			"benchmark", "bugs", "version", 3, "engines", en,
			"budget_seconds", (json_int_t)base.seconds, "trials",
			(json_int_t)trials, "fp_seconds", (json_int_t)fp_time,
			"bugs", arr, "structure_vs_bytes", speedups,
			"false_positives", "count", fp_count, "runs", fp_runs);
	}
	rc = dump_json(root, json_out);
	if (md_out) {
		FILE *f = fopen(md_out, "w");

		if (!f) {
			fprintf(stderr, "%s bench bugs: cannot write %s: %s\n",
				CLI_PROG, md_out, strerror(errno));
			rc = CLI_EXIT_FAIL;
		} else {
			bb_markdown(root, on, f);
			fclose(f);
		}
	}
	if (!bb_check(root, trials, why, sizeof(why))) {
		fprintf(stderr,
			"%s bench bugs: the results do not hold together: %s\n",
			CLI_PROG, why);
		rc = CLI_EXIT_FAIL;
	}
	if (jr) {
		fprintf(stderr,
			"%s bench bugs: --journal %s: %zu trial(s) read back, the others run and written\n",
			CLI_PROG, journal_path, bb_journal_reused(jr));
		if (!journal_ok)
			rc = CLI_EXIT_FAIL;
		bb_journal_close(jr);
	}
	json_decref(root);
	return rc;
}

/* Write @n random @nr_ops-operation inputs for @target into @dir. */
static bool make_inputs(const char *target, const char *dir, int n,
			size_t nr_ops)
{
	mmt_opset_t ops;
	uint64_t rng = 0x6d6d74u;
	int i;

	if (!mmt_trace_target_ops(target, &ops) || cli_mkdirs(dir))
		return false;
	for (i = 0; i < n; i++) {
		struct mmt_program p;
		uint8_t buf[8192], *out;
		size_t len = 4, need;
		char path[PATH_MAX + 32];
		FILE *f;

		/* Random bytes until they decode to enough operations. */
		mmt_program_init(&p);
		for (; len < sizeof(buf); len += 8) {
			size_t k;

			for (k = len - (len >= 8 ? 8 : len); k < len; k++)
				buf[k] = (uint8_t)(cli_splitmix64(&rng) >> 32);
			mmt_program_free(&p);
			mmt_program_init(&p);
			mmt_trace_decode_set(buf, len, ops, &p);
			if (p.nr_ops >= nr_ops)
				break;
		}
		if (p.nr_ops > nr_ops)
			p.nr_ops = nr_ops;
		need = mmt_trace_encode_set(&p, ops, NULL, 0);
		out = malloc(need ? need : 1);
		if (!out) {
			mmt_program_free(&p);
			return false;
		}
		mmt_trace_encode_set(&p, ops, out, need);
		snprintf(path, sizeof(path), "%s/in-%03d", dir, i);
		f = fopen(path, "wb");
		if (f) {
			fwrite(out, 1, need, f);
			fclose(f);
		}
		free(out);
		mmt_program_free(&p);
	}
	return true;
}

/*
 * ---- bench fuzz ----
 *
 * Per target, in one run: the libFuzzer binary fuzzing for --time from
 * BENCH_INPUTS fixed BENCH_OPS-operation inputs (executions per wall
 * second as libFuzzer counts them, and per CPU second of the engine: on a
 * shared machine the wall clock counts the neighbours), then the CPU time
 * per execution of exactly those inputs replayed by the fuzz binary and by
 * the release build's T-replay, and AFL++ (afl-T of the afl preset) when
 * it is built.  A replay's start-up is cancelled by running the inputs
 * once and BENCH_REPS times: per execution = (cpu(R) - cpu(1)) / ((R - 1)
 * inputs).  The fuzz build's share of the release speed is
 * release ms / fuzz ms on the same inputs.
 */
#define BENCH_INPUTS 16
#define BENCH_OPS 64
#define BENCH_REPS 11
#define BENCH_GOAL_STACK_RATE 2000.0 /* issue 9: execs per CPU second */
#define BENCH_GOAL_RATIO 0.25 /* issue 9: fuzz build / release replay */

/* CPU seconds of running @bin over the @n inputs @files @reps times. */
static double replay_cpu(const char *bin, char **files, int n, int reps,
			 const char *log, bool *ok)
{
	char **argv = calloc((size_t)(n * reps + 2), sizeof(*argv));
	char *env[] = { "ASAN_OPTIONS=" FUZZ_ASAN_OPTIONS, NULL };
	double secs, cpu = 0;
	int i, k = 0, status;

	*ok = false;
	if (!argv)
		return 0;
	argv[k++] = (char *)bin;
	for (i = 0; i < n * reps; i++)
		argv[k++] = files[i % n];
	argv[k] = NULL;
	status = run_engine(argv, env, log, &secs, &cpu);
	*ok = status != -1 && WIFEXITED(status) && !WEXITSTATUS(status);
	free(argv);
	return cpu;
}

/* Milliseconds of CPU per execution of the inputs in @in through @bin. */
static double replay_ms(const char *bin, const char *in, const char *log)
{
	char *files[BENCH_INPUTS];
	double one, many;
	bool ok1, ok2;
	int n = 0, i;
	struct dirent **ents;
	int ne = scandir(in, &ents, NULL, alphasort);

	for (i = 0; i < ne; i++) {
		if (ents[i]->d_name[0] != '.' && n < BENCH_INPUTS &&
		    asprintf(&files[n], "%s/%s", in, ents[i]->d_name) > 0)
			n++;
		free(ents[i]);
	}
	if (ne >= 0)
		free(ents);
	if (!n)
		return -1;
	one = replay_cpu(bin, files, n, 1, log, &ok1);
	many = replay_cpu(bin, files, n, BENCH_REPS, log, &ok2);
	for (i = 0; i < n; i++)
		free(files[i]);
	if (!ok1 || !ok2 || many <= one)
		return -1;
	return (many - one) * 1e3 / ((BENCH_REPS - 1) * n);
}

static void bench_set_rate(json_t *row, const char *key, double v)
{
	json_object_set_new(row, key, v > 0 ? json_real(v) : json_null());
}

/* One engine's run over the fixed inputs: its exec/s into @row. */
static void bench_engine(const struct fuzz_opts *base, int engine,
			 const char *name, const char *out, const char *in,
			 json_t *row)
{
	const char *e = engine == ENGINE_AFL ? "afl" : "fuzz";
	struct fuzz_opts o = *base;
	struct fuzz_result r;
	char dir[PATH_MAX + 16], bin[PATH_MAX * 2], key[64], log[PATH_MAX + 32];

	o.engine = engine;
	o.target = name;
	if (!find_build(&o, dir, sizeof(dir)))
		return;
	snprintf(bin, sizeof(bin), "%s/%s-%s", dir, e, name);
	if (!is_exec(bin))
		return;
	snprintf(dir, sizeof(dir), "%s/%s", out, e);
	o.out = dir;
	o.corpus_in = in;
	o.no_regress = true;
	o.no_sweep = true;
	o.seed = 1;
	o.max_len = 4096;
	o.keep_going = true; /* AFL++: don't stop at a finding */
	o.jobs = 1;
	if (engine == ENGINE_LIBFUZZER)
		o.keep_going = false; /* -fork would be measured */
	fuzz_one(&o, &r);
	snprintf(key, sizeof(key), "%s_execs_per_sec", e);
	bench_set_rate(row, key, r.execs_per_sec);
	/*
	 * Per CPU second for libFuzzer only: afl-fuzz's persistent target is
	 * a grandchild that nobody waits for, its CPU time is not counted.
	 */
	if (engine == ENGINE_LIBFUZZER)
		bench_set_rate(row, "fuzz_execs_per_cpu_second",
			       r.cpu_seconds > 0 ?
				       (double)r.execs / r.cpu_seconds :
				       0);
	snprintf(key, sizeof(key), "%s_execs", e);
	json_object_set_new(row, key, json_integer((json_int_t)r.execs));
	snprintf(key, sizeof(key), "%s_findings", e);
	json_object_set_new(row, key, json_integer((json_int_t)r.nr_sigs));
	free(r.sigs);
	if (engine != ENGINE_LIBFUZZER || !strcmp(name, "empty"))
		return;
	/* The fuzz binary replaying the fixed inputs (files: no fuzzing). */
	snprintf(log, sizeof(log), "%s/fuzz-replay.log", out);
	bench_set_rate(row, "fuzz_replay_ms", replay_ms(bin, in, log));
}

/* The release build's T-replay on the same inputs, and the ratio. */
static void bench_replay(const char *release, const char *name, const char *out,
			 const char *in, json_t *row)
{
	char bin[PATH_MAX + 64], log[PATH_MAX + 32];
	json_t *fz;
	double ms;

	snprintf(bin, sizeof(bin), "%s/%s-replay", release, name);
	if (!is_exec(bin)) {
		json_object_set_new(row, "release_replay_ms", json_null());
		return;
	}
	snprintf(log, sizeof(log), "%s/release-replay.log", out);
	ms = replay_ms(bin, in, log);
	bench_set_rate(row, "release_replay_ms", ms);
	bench_set_rate(row, "release_execs_per_cpu_second",
		       ms > 0 ? 1e3 / ms : 0);
	fz = json_object_get(row, "fuzz_replay_ms");
	bench_set_rate(row, "fuzz_vs_release",
		       ms > 0 && json_is_real(fz) ? ms / json_real_value(fz) :
						    0);
}

static double row_num(json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/* A column of bench_row_print(): "-" where there is no figure. */
static const char *cell(json_t *row, const char *key, const char *fmt,
			char *buf, size_t len)
{
	double v = row_num(row, key);

	if (v < 0)
		return "-";
	snprintf(buf, len, fmt, v);
	return buf;
}

/* One line per target on stderr, the JSON on stdout. */
static void bench_row_print(json_t *row)
{
	static const struct {
		const char *head, *key, *fmt;
	} cols[] = {
		{ "fuzz/s", "fuzz_execs_per_sec", "%.0f" },
		{ "fuzz/cpu-s", "fuzz_execs_per_cpu_second", "%.0f" },
		{ "fuzz-ms", "fuzz_replay_ms", "%.3f" },
		{ "release-ms", "release_replay_ms", "%.3f" },
		{ "fuzz/rel", "fuzz_vs_release", "%.3f" },
		{ "afl/s", "afl_execs_per_sec", "%.0f" },
	};
	static bool header;
	char buf[32];
	size_t c;

	if (!header) {
		fprintf(stderr, "bench fuzz: %-9s", "target");
		for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			fprintf(stderr, " %10s", cols[c].head);
		fputc('\n', stderr);
		header = true;
	}
	fprintf(stderr, "bench fuzz: %-9s",
		json_string_value(json_object_get(row, "target")));
	for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(stderr, " %10s",
			cell(row, cols[c].key, cols[c].fmt, buf, sizeof(buf)));
	fputc('\n', stderr);
}

int cmd_bench_fuzz(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, OPT_TIME },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "targets", required_argument, NULL, OPT_TARGETS },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "json-out", required_argument, NULL, OPT_JSON_OUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	/* One process, no -fork: its restarts and merges would be measured. */
	struct fuzz_opts base = { .seconds = 20,
				  .jobs = 1,
				  .quiet = true,
				  .replay_timeout =
					  CLI_ISOLATE_DEFAULT_TIMEOUT };
	const char *only = NULL, *json_out = NULL, *name;
	json_t *arr, *root;
	char stamp[32], release[PATH_MAX];
	const char *env_release = getenv("MMT_RELEASE_BUILD");
	time_t now_t = time(NULL);
	size_t i;
	int rc;

	rc = parse_args("bench fuzz", bench_fuzz_usage, argc, argv, opts, &base,
			&only, &json_out, NULL);
	if (rc >= 0)
		return rc;
	/* Allocated after the options: --help and usage errors leak nothing. */
	arr = json_array();
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now_t));
	snprintf(release, sizeof(release), "%s",
		 env_release && *env_release ? env_release :
					       MMT_SOURCE_DIR "/build/release");
	/* The empty target first, then each real one, in one run. */
	for (i = 0;; i++) {
		char out[PATH_MAX], in[PATH_MAX + 8];
		json_t *row;

		name = i == 0 ? "empty" : paired_target_name(i - 1);
		if (!name)
			break;
		if (i && only && !cli_in_list(only, name))
			continue;
		snprintf(out, sizeof(out), "%s/build/bench-fuzz/%s/%s",
			 MMT_SOURCE_DIR, stamp, name);
		snprintf(in, sizeof(in), "%s/in", out);
		if (!make_inputs(i ? name : "stack", in, BENCH_INPUTS,
				 BENCH_OPS)) {
			fprintf(stderr,
				"bench fuzz: cannot write inputs in %s\n", in);
			return CLI_EXIT_FAIL;
		}
		row = json_pack("{s:s}", "target", name);
		if (base.engine == ENGINE_LIBFUZZER)
			bench_engine(&base, ENGINE_LIBFUZZER, name, out, in,
				     row);
		if (i)
			bench_replay(release, name, out, in, row);
		bench_engine(&base, ENGINE_AFL, name, out, in, row);
		bench_row_print(row);
		json_array_append_new(arr, row);
	}
	root = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:{s:f, s:f}, s:o}",
			 "benchmark", "fuzz", "build", cli_sanitizer(),
			 "seconds_per_engine", (json_int_t)base.seconds,
			 "inputs", (json_int_t)BENCH_INPUTS, "ops_per_input",
			 (json_int_t)BENCH_OPS, "release_build", release,
			 "goals", "stack_fuzz_execs_per_cpu_second",
			 BENCH_GOAL_STACK_RATE, "fuzz_vs_release",
			 BENCH_GOAL_RATIO, "targets", arr);
	rc = dump_json(root, json_out);
	json_decref(root);
	return rc;
}
