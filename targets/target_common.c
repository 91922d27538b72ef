/* SPDX-License-Identifier: MIT */
/*
 * targets/target_common.c - the body of every operation-language fuzz
 * target (see target.h): decode the input over the target's operation
 * set, execute it on a fresh model instance, and turn a finding into a
 * crash that carries a readable reproducer.
 *
 * Why abort() on a finding: libFuzzer and AFL++ both keep crashing inputs
 * (crash-*, crashes/id:*), stop or continue per their flags, and the
 * minimizers of both engines work on "still crashes".  The text printed
 * before the abort is what a user pastes into a report; `mmtorture replay`
 * prints the same from the saved input.
 *
 * Input: the binary form over the target's operation set, or a text
 * trace (which runs as written, bugs excepted: the run's MMT_BUGS apply):
 * text when the magic line comes first (after a byte order mark, blank
 * lines and comments) and the rest parses, else binary, so that every
 * byte string a fuzzer makes is a program (mmt_trace_read() with no name).
 * Files a person keeps are held to more (mmt_target_check_file()).
 *
 * Concurrent targets (MMT_TRACE_SET_MT in the set: slab-mt, ...): the
 * input carries its schedule; a finding's reproducer is printed with the
 * executed schedule as its decisions (the interpreter's
 * mmt_exec_reproducer()), so it replays the same interleaving without the
 * fuzzer.  Interleaving
 * coverage - pairs of consecutive scheduling sites on different CPUs,
 * hashed by the interpreter into opts.interleave_counters - is extra
 * feedback: under libFuzzer the counters live in the
 * __libfuzzer_extra_counters section, which libFuzzer clears before and
 * reads after every input like its own 8-bit counters; AFL++ 4.04c has no
 * extra-counter hook (neither libAFLDriver nor afl-compiler-rt reads that
 * section), so after each input the counters are written into AFL++'s
 * coverage map (__afl_coverage_interesting(), __afl_map_size entries) at
 * hashed slots.
 *
 * Bug canaries (MMT_CANARY_FILE=PATH, set by `bench bugs`): the first
 * time in this process that an input reaches or triggers a bug that is
 * on (mmt_bug_canaries(): the site ran; the buggy code did harm), one
 * line "reached|triggered BUG-ID UNIX-MS" is appended to PATH - a single
 * write() to a file opened O_APPEND, so the lines of libFuzzer's fork-mode
 * children and AFL++'s instances interleave whole - and a finding appends
 * "found ORACLE UNIX-MS" before its abort: `bench bugs` times "found" by
 * the bug's own oracle, not by whatever fired first.  A process starting
 * reads the file and stays quiet about bugs already said (AFL++'s
 * forkserver starts a process per input).  The canaries live outside
 * coverage instrumentation and add no edge.
 *
 * MMT_MUTATOR=bytes: the custom mutator hands every mutation to
 * libFuzzer's own byte mutator and declines cross-over, so libFuzzer
 * fuzzes the binary form as plain bytes (`bench bugs`' baseline engine
 * for what the structure-aware mutator is worth).
 *
 * Not thread-safe (the engines call one input at a time per process).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "mutator.h"
#include "target.h"
#include "tsan_finding.h"

/* libFuzzer's byte-level mutator, when linked in (not under AFL++ or replay). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
	__attribute__((weak));

/*
 * Interleaving counters.  4096 one-byte counters: the pairs of sites of a
 * program hash into them (exec.h); more would only cost libFuzzer time
 * per input (it scans them all), fewer would merge unrelated pairs.
 */
#define MMT_NR_INTERLEAVE_COUNTERS 4096

#if MMT_FUZZ_LIBFUZZER
/* libFuzzer clears and reads this section around every input. */
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t
	interleave_counters[MMT_NR_INTERLEAVE_COUNTERS];
#else
static uint8_t interleave_counters[MMT_NR_INTERLEAVE_COUNTERS];
#endif

#if MMT_FUZZ_AFL
/*
 * afl-compiler-rt's coverage map: its size, and its writer
 * __afl_coverage_interesting(val, id) (map[id] = val).  Not the map
 * pointer itself: afl-clang-fast's pass adds a global named
 * __afl_area_ptr to every module it instruments, and a declaration of
 * that name here (under any spelling) makes it add a second one,
 * __afl_area_ptr.N, that nothing defines.  Every binary of the afl build
 * links the runtime.
 */
extern uint32_t __afl_map_size;
void __afl_coverage_interesting(uint8_t val, uint32_t id);

/*
 * Put the input's interleaving counters into AFL++'s map.  Counter i goes
 * to a fixed odd-multiplier hash of i: spread over the whole map (edges
 * collide with it as edges collide with each other; the counter's value
 * replaces what an edge left there), the same slot for the same pair in
 * every run, so a new pair or a new count bucket is new coverage to
 * afl-fuzz.
 */
static void afl_add_interleavings(void)
{
	uint32_t size = __afl_map_size, i;

	if (!size)
		return;
	for (i = 0; i < MMT_NR_INTERLEAVE_COUNTERS; i++) {
		uint32_t slot;

		if (!interleave_counters[i])
			continue;
		slot = (uint32_t)(((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull) >>
				  32) %
		       size;
		__afl_coverage_interesting(interleave_counters[i], slot);
		interleave_counters[i] = 0;
	}
}
#endif

static struct {
	mmt_opset_t set; /* the target's operations */
	struct mmt_exec_opts opts;
	char name[32];
	bool ready;
	bool slab_diff; /* MMT_SLAB_DIFF=1: every input on every slab implementation */
	bool bytes_only; /* MMT_MUTATOR=bytes: libFuzzer's byte mutator only */
	const char *stop_oracle; /* MMT_STOP_ORACLE: abort on this one only */
} tgt;

/* MMT_CANARY_FILE: the canaries' file (trace/canary_file.c) and counts. */
static struct {
	struct mmt_canary_file f;
	struct mmt_bug_canary_counts c;
} canary = { .f = { .fd = -1 } };

/* After each input (and before the abort of a finding). */
static void canary_report(void)
{
	mmt_canary_file_report(&canary.f, tgt.opts.bugs, &canary.c);
}

int mmt_target_init(const char *name)
{
	const char *bugs = getenv("MMT_BUGS"), *oracles = getenv("MMT_ORACLES");
	char err[256];

	char *c;

	if (tgt.ready)
		return 0;
	/* MMT_FUZZ_TARGET(slab_mt) is the target "slab-mt". */
	snprintf(tgt.name, sizeof(tgt.name), "%s", name);
	for (c = tgt.name; *c; c++)
		if (*c == '_')
			*c = '-';
	name = tgt.name;
	if (!mmt_trace_target_ops(name, &tgt.set)) {
		fprintf(stderr, "%s: no operation set for this target\n", name);
		exit(2);
	}
	mmt_exec_opts_default(&tgt.opts);
	/* The binary form carries no bugs: the run decides, for every input. */
	tgt.opts.override_bugs = true;
	tgt.opts.bugs = 0;
	if (bugs && *bugs &&
	    !mmt_bugs_parse(bugs, &tgt.opts.bugs, err, sizeof(err))) {
		fprintf(stderr, "%s: MMT_BUGS: %s\n", name, err);
		exit(2);
	}
	if (!mmt_trace_bin_set_mempool_policies(
		    getenv(MMT_MEMPOOL_POLICIES_ENV), err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", name, MMT_MEMPOOL_POLICIES_ENV,
			err);
		exit(2);
	}
	mmt_trace_bin_set_bugs(tgt.opts.bugs);
	if (oracles && *oracles) {
		if (strlen(oracles) != 1 || oracles[0] < '0' ||
		    oracles[0] > '2') {
			fprintf(stderr,
				"%s: MMT_ORACLES: '%s' is not 0, 1 or 2\n",
				name, oracles);
			exit(2);
		}
		tgt.opts.oracle_level = oracles[0] - '0';
	}
	switch (mmt_canary_file_open(&canary.f)) {
	case -1:
		fprintf(stderr, "%s: %s=%s: %m\n", name, MMT_CANARY_FILE_ENV,
			getenv(MMT_CANARY_FILE_ENV));
		exit(2);
	case 1:
		tgt.opts.canaries = &canary.c;
		break;
	}
	/*
	 * MMT_STOP_ORACLE=NAME (bench bugs): a finding of another oracle is
	 * written to the canary file and the engine goes on with the next
	 * input, in this one process - libFuzzer's -fork=1 -ignore_crashes,
	 * the other way to go past findings, hands each job a small sample of
	 * the corpus and starves the seeds a bug needs.
	 */
	tgt.stop_oracle = getenv("MMT_STOP_ORACLE");
	if (tgt.stop_oracle && !*tgt.stop_oracle)
		tgt.stop_oracle = NULL;
	tgt.bytes_only = getenv("MMT_MUTATOR") &&
			 !strcmp(getenv("MMT_MUTATOR"), "bytes");
	tgt.slab_diff = getenv("MMT_SLAB_DIFF") &&
			!strcmp(getenv("MMT_SLAB_DIFF"), "1");
	/* MMT_INTERLEAVE=0: no interleaving feedback (to measure what it adds). */
	if ((tgt.set & MMT_TRACE_SET_MT) &&
	    !(getenv("MMT_INTERLEAVE") &&
	      !strcmp(getenv("MMT_INTERLEAVE"), "0"))) {
		tgt.opts.interleave_counters = interleave_counters;
		tgt.opts.nr_interleave_counters = MMT_NR_INTERLEAVE_COUNTERS;
	}
	tgt.ready = true;
	return 0;
}

/*
 * The files a person keeps (replay_main.c asks before running one): a
 * NAME.trace file, or bytes that look like text, must parse as text -
 * a regression corpus with a typo must fail its replay, not run as the
 * random program its bytes decode to.  The fuzzers' own files (NAME.bin,
 * crash-*, id:*, ...) run as the engine ran them; in a directory, other
 * files (README.md) are no inputs.  0 run, 1 skip, -1 bad (said why).
 */
int mmt_target_check_file(const char *path, const uint8_t *data, size_t size,
			  bool in_dir)
{
	enum mmt_trace_name kind = mmt_trace_name_kind(path);
	struct mmt_program p;
	char err[512];

	if (in_dir && kind == MMT_TRACE_NAME_OTHER)
		return 1;
	if (kind == MMT_TRACE_NAME_FUZZ)
		return 0;
	if (!mmt_trace_read(path, data, size, tgt.set, &p, NULL, err,
			    sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	mmt_program_free(&p);
	return 0;
}

/* MMT_SLAB_DIFF=1: a divergence between the implementations is a finding. */
static int one_input_diff(const char *name, struct mmt_program *p)
{
	struct mmt_slab_diff d;
	int s;

	mmt_exec_slab_diff(p, &tgt.opts, mmt_race_execute, &d);
	canary_report();
	if (d.result == MMT_EXEC_FINDING) {
		mmt_canary_file_line(&canary.f, "found",
				     d.divergences ? "slab-divergence" :
						     "slab-diff-finding");
		fprintf(stderr,
			"\n==== mmtorture finding in target %s (--slab all) ====\n",
			name);
		if (d.divergences)
			fprintf(stderr,
				"DIVERGENCE between the slab implementations (%lu)\n%s",
				d.divergences, d.report ? d.report : "");
		for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
			if (d.res[s] == MMT_EXEC_FINDING) {
				fprintf(stderr, "slab=%s:\n",
					mmt_trace_slab_impl_name(
						(enum mmt_slab_impl)s));
				mmt_finding_print(&d.f[s], stderr);
			}
		fprintf(stderr,
			"---- reproducer (mmtorture trace; replay --slab all) ----\n");
		p->hdr.bugs = tgt.opts.bugs;
		mmt_trace_print(p, stderr);
		fprintf(stderr, "---- end ----\n");
		fflush(stderr);
		abort();
	}
	if (d.result == MMT_EXEC_SETUP_FAILED) {
		fprintf(stderr, "%s: the input's machine could not be built\n",
			name);
		abort();
	}
	mmt_slab_diff_free(&d);
	mmt_program_free(p);
	return 0;
}

int mmt_target_one_input(const char *name, const uint8_t *data, size_t size)
{
	struct mmt_program p;
	struct mmt_finding f;
	enum mmt_exec_result r;

	if (!tgt.ready)
		mmt_target_init(name);
	name = tgt.name;
	/* A fuzzer's bytes: total (mmt_trace_read() with no name). */
	mmt_trace_read(NULL, data, size, tgt.set, &p, NULL, NULL, 0);
	if (tgt.slab_diff)
		return one_input_diff(name, &p);
	/* The tsan build: a data race between fibers is a finding too. */
	r = mmt_race_execute(&p, &tgt.opts, &f);
	canary_report();
#if MMT_FUZZ_AFL
	if (tgt.opts.interleave_counters)
		afl_add_interleavings();
#endif
	if (r == MMT_EXEC_FINDING && tgt.stop_oracle &&
	    strcmp(f.oracle, tgt.stop_oracle)) {
		mmt_canary_file_line(&canary.f, "found", f.oracle);
		r = MMT_EXEC_OK; /* not the one we stop on: next input */
	} else if (r == MMT_EXEC_FINDING) {
		mmt_canary_file_line(&canary.f, "found", f.oracle);
		fprintf(stderr, "\n==== mmtorture finding in target %s ====\n",
			name);
		mmt_finding_print(&f, stderr);
		fprintf(stderr, "---- reproducer (mmtorture trace) ----\n");
		p.hdr.bugs = tgt.opts.bugs;
		if (tgt.opts.oracle_level >= 0)
			p.hdr.oracle_level = tgt.opts.oracle_level;
		/* The executed schedule makes it self-contained. */
		mmt_exec_reproducer(&p, &tgt.opts, &f);
		mmt_trace_print(&p, stderr);
		fprintf(stderr, "---- end ----\n");
		fflush(stderr);
		abort();
	}
	if (r == MMT_EXEC_SETUP_FAILED) {
		/* The decoder only makes machines that can be built. */
		fprintf(stderr, "%s: the input's machine could not be built\n",
			name);
		abort();
	}
	mmt_finding_free(&f);
	mmt_program_free(&p);
	return 0;
}

size_t mmt_target_mutate(const char *name, uint8_t *data, size_t size,
			 size_t max_size, unsigned int seed)
{
	if (!tgt.ready)
		mmt_target_init(name);
	/*
	 * One in eight: libFuzzer's own byte mutations (comparisons it has
	 * seen, dictionary words, bit flips) - the decoder makes anything
	 * valid, and it finds values no operation-level mutation would.
	 */
	if (LLVMFuzzerMutate && ((seed % 8 == 7 && size) || tgt.bytes_only))
		return LLVMFuzzerMutate(data, size, max_size);
	return mmt_mutate(tgt.set, data, size, max_size, seed);
}

size_t mmt_target_crossover(const char *name, const uint8_t *a, size_t a_size,
			    const uint8_t *b, size_t b_size, uint8_t *out,
			    size_t max_size, unsigned int seed)
{
	if (!tgt.ready)
		mmt_target_init(name);
	if (tgt.bytes_only)
		return 0; /* declined: libFuzzer mutates instead */
	return mmt_crossover(tgt.set, a, a_size, b, b_size, out, max_size,
			     seed);
}
