/* SPDX-License-Identifier: MIT */
/*
 * tools/fuzzrun.h - one engine run on one target, as a library for
 * `mmtorture nightly` (tools/cmd_nightly.c).  tools/cmd_fuzz.c implements
 * it with the code `fuzz` and `campaign` use: the same engine flags, the
 * same isolated replay of what the engine saved, the same deduplication
 * by signature.  What the nightly adds is passed in: a working corpus that
 * outlives the run, a TMPDIR for the engine's children, a progress hook,
 * several AFL++ instances, and a mode that only replays the crash files a
 * killed run left behind.
 */
#ifndef MMT_TOOLS_FUZZRUN_H
#define MMT_TOOLS_FUZZRUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* One deduplicated finding of a run. */
struct cli_fuzz_sig {
	char signature[224];
	char oracle[48];
	char layer[16];
	char input[PATH_MAX]; /* the first input that showed it */
	char reproducer[PATH_MAX]; /* text trace (or the input, .bin), or "" */
	char report[PATH_MAX]; /* a crash's or hang's report, or "" */
	size_t op_index;
	unsigned long count;
};

/* What the progress hook sees, about once a second. */
struct cli_fuzz_progress {
	double elapsed; /* s since the engine started */
	unsigned long long execs; /* so far, every job or instance */
	unsigned long cov; /* coverage: libFuzzer cov:, AFL++ edges_found */
	unsigned long crashes; /* inputs saved as crashing so far */
};

struct cli_fuzz_spec {
	const char *target;
	const char *allocator; /* target malloc: glibc (NULL), jemalloc, ... */
	bool afl; /* AFL++ (else libFuzzer) */
	unsigned long seconds; /* the engine's budget */
	/* libFuzzer: -fork=N; AFL++: one main and N-1 secondaries */
	unsigned long jobs;
	uint64_t bugs;
	const char *out; /* the engine's directory (logs, crashes) */
	const char
		*corpus; /* working corpus kept across runs; NULL: OUT/corpus */
	const char *build; /* NULL: found next to this binary or build/PRESET */
	const char *
		tmpdir; /* TMPDIR of the engine and its children; NULL: inherited */
	unsigned long replay_timeout;
	/*
	 * No engine: only replay the crash files OUT already holds (a killed
	 * run's), as the end of a run would.
	 */
	bool collect_only;
	void (*tick)(void *arg, const struct cli_fuzz_progress *p);
	void *arg;
};

struct cli_fuzz_outcome {
	double seconds, cpu_seconds;
	unsigned long long execs;
	double execs_per_sec; /* the run's average: execs / seconds */
	unsigned long cov;
	unsigned long crashes, unexplained;
	struct cli_fuzz_sig *sigs;
	size_t nr_sigs;
	char out[PATH_MAX];
	/* "" or why the engine could not run (missing binary, ...) */
	char error[512];
};

/*
 * Run @s; fills @res (free with cli_fuzz_outcome_free).  Returns 0 when
 * the engine ran (findings or not), -1 when it could not (res->error says
 * why: a missing binary names the preset to build).
 */
int cli_fuzz_run(const struct cli_fuzz_spec *s, struct cli_fuzz_outcome *res);
void cli_fuzz_outcome_free(struct cli_fuzz_outcome *res);
/*
 * Remove the crash and hang files a run over @out saved (its crashes/ and
 * each AFL++ instance's crashes/ and hangs/), once their findings are
 * stored: a rerun over @out does not count them again.
 */
void cli_fuzz_consume_saved(const char *out);
/*
 * Whether the engine binary for @target exists (in @build or found), and
 * where: false with @dir the place looked in.
 */
bool cli_fuzz_have_engine(const char *target, bool afl, const char *build,
			  char *dir, size_t len);
/* Seconds: "90", "90s", "5m", "2h" (1 s to 7 days); false: not one. */
bool cli_parse_duration(const char *s, unsigned long *out);

#endif /* MMT_TOOLS_FUZZRUN_H */
