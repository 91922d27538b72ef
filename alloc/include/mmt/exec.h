/* SPDX-License-Identifier: MIT */
/*
 * mmt/exec.h - the interpreter: runs a program (mmt/trace.h) against a
 * fresh model instance and says whether an oracle fired.
 *
 * A sequential program: one host thread plays every simulated CPU in
 * turn (`cpu N` moves it), no kernel thread runs.  A concurrent one (a
 * schedule other than seq, or kernel threads): each CPU's thread and each
 * kernel thread is a fiber under the deterministic scheduler, interleaved
 * as the program's decisions and schedule source say.  Either way an
 * execution is deterministic: the same program gives the same result, the
 * same finding at the same operation (and the same schedule).
 * The cheap oracles are the model's own inline checks (they fire inside
 * the operation); the expensive validators run per oracle level (see
 * struct mmt_trace_header); the interpreter adds the oracles that only a
 * caller can state (what __GFP_ZERO promised, no page handed out twice,
 * a non-blocking mask that slept, nothing left at teardown).
 *
 * At the end every live handle is released in an order the API allows,
 * the context stacks are unwound, grace periods are run out, caches are
 * shrunk and per-cpu lists drained; then the teardown oracles run (leaks,
 * dead caches, conservation, charges, reserves).
 */
#ifndef MMT_EXEC_H
#define MMT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/trace.h"

enum mmt_exec_result {
	MMT_EXEC_OK, /* ran to the end, teardown clean */
	MMT_EXEC_FINDING, /* an oracle fired: see the finding */
	/*
	 * The program waits for itself: a blocking mempool_alloc on a pool
	 * only the program could refill, or a __GFP_NOFAIL allocation with
	 * memory used up.  Ended there, not a finding: the finding holds
	 * only op_index, op_text and a message saying what it waits for.
	 */
	MMT_EXEC_BLOCKED,
	MMT_EXEC_SETUP_FAILED, /* the header's machine could not be built */
};

struct mmt_finding {
	char oracle[48]; /* the check's name: "pfmemalloc-isolation" */
	char layer[16]; /* "page", "slab", ... */
	char site[128]; /* file:line of the check, without the directory */
	char func[64]; /* the function that reported it */
	/*
	 * "oracle|layer|function": stable, for dedup.  No line number: a
	 * signature must not change when code moves (site is for people).
	 */
	char signature[224];
	size_t op_index; /* the operation during or after which it fired;
			  * nr_ops for teardown */
	char op_text[160]; /* that operation as text, or "teardown" */
	char message[512];
	char *dump; /* malloc'd state dump, or NULL; mmt_finding_free() */
	unsigned long nr_violations; /* all violations of the execution */
	/*
	 * A stall or deadlock that a misuse reported earlier caused (a
	 * MMT_CHECK_CAUSE check, kept aside while the run went on): that
	 * misuse, "check [layer] at site (func), op N: text: message";
	 * empty otherwise.  A run where the misuse caused nothing reports
	 * the misuse itself as the finding.
	 */
	char cause[768];
	/*
	 * A concurrent program (sched != seq, or kernel threads): the
	 * executed schedule, whatever the result - at each decision point
	 * the index chosen among the runnable fibers, as the trace's
	 * `decisions` section holds it (mmt_program_set_decisions() makes
	 * the self-contained reproducer).  malloc'd; mmt_finding_free().
	 */
	uint16_t *decisions;
	size_t nr_decisions;
	uint64_t sched_points; /* scheduling points passed */
	uint64_t interleaving_hash; /* of the pairs of sites, for dedup */
};

struct mmt_exec_opts {
	/* Bugs: the program's header bugs are replaced by these when set. */
	bool override_bugs;
	uint64_t bugs;
	/* -1: the header's oracle level; else 0..2. */
	int oracle_level;
	/* Optional: each operation and its outcome as it runs (replay -v). */
	FILE *log;
	/*
	 * Concurrent programs.  sched_source -1: the program's schedule;
	 * else an enum mmt_trace_sched_source that replaces it (the
	 * program's decisions are then ignored), with sched_seed and
	 * pct_depth (0: the program's) - `mmtorture pct` runs a program
	 * under PCT seed after seed this way.
	 */
	int sched_source;
	uint64_t sched_seed;
	unsigned int pct_depth;
	/*
	 * Interleaving coverage (libFuzzer's extra counters, the AFL++
	 * map): each pair of consecutive scheduling sites on different CPUs
	 * increments one of these @nr_interleave_counters bytes.  NULL: none.
	 */
	uint8_t *interleave_counters;
	size_t nr_interleave_counters;
	/*
	 * The reference oracles (trace/ref_rules.h) state the kernel's rule
	 * alone, tolerating no model deviation whose fix is pending
	 * (MMT_REF_NOWAIT_FIX_PENDING): `replay --strict-reference`.
	 */
	bool strict_reference;
	/*
	 * Differential runs (`replay --slab all`): -1 the header's slab
	 * implementation, else an enum mmt_slab_impl that replaces it.
	 */
	int slab_impl;
	/*
	 * When set, [program's nr_ops]: per operation that allocates slab
	 * objects (kmalloc*, kmem_cache_alloc*, kmem_cache_alloc_bulk)
	 * MMT_OUTCOME_NULL or MMT_OUTCOME_MEMORY, with MMT_OUTCOME_ROOMY if
	 * every zone had room for a new slab when the operation began: more
	 * free pages outside the highatomic reserve than its high watermark,
	 * its largest lowmem reserve, twice what is asked and 8, and a free
	 * block of a one-object slab's order (trace/exec_diff.c, the table of
	 * differences); 0 for other operations and those that did not run.
	 */
	uint8_t *op_outcome;
	/*
	 * When set, the run's bug canaries (mmt_bug_canaries()) are added
	 * to it before the machine goes: `replay` prints them, and the
	 * fuzz targets report the first time each bug is reached and
	 * triggered (`bench bugs`).
	 */
	struct mmt_bug_canary_counts *canaries;
};

enum {
	MMT_OUTCOME_NULL = 1,
	MMT_OUTCOME_MEMORY = 2,
	MMT_OUTCOME_ROOMY = 4,
};

/* "slub", "slab", ...: the name the header's slab= takes. */
const char *mmt_trace_slab_impl_name(enum mmt_slab_impl impl);

/*
 * Differential runs (trace/exec_diff.c): @p once per slab implementation
 * (every MMT_NR_SLAB_IMPLS), with @run (NULL: mmt_trace_execute) and @o,
 * then compared.  A divergence is a finding on some implementations only,
 * or a slab allocation NULL on one while another returned memory and
 * every zone had room (MMT_OUTCOME_ROOMY); NULLs and blocked ends when
 * memory is tight, and different checks when all report, are tolerated.
 * @d->result: MMT_EXEC_FINDING for a divergence or a finding on every
 * implementation (@d->divergences tells which), MMT_EXEC_BLOCKED if some
 * ended blocked, MMT_EXEC_OK if all ran clean, MMT_EXEC_SETUP_FAILED if
 * none could run.  @d->report holds one line per divergence.
 */
struct mmt_slab_diff {
	enum mmt_exec_result result;
	enum mmt_exec_result res[MMT_NR_SLAB_IMPLS];
	struct mmt_finding f[MMT_NR_SLAB_IMPLS];
	unsigned long divergences;
	int nr_run, nr_findings, nr_blocked;
	char *report; /* malloc'd, may be NULL */
};
typedef enum mmt_exec_result (*mmt_exec_fn)(const struct mmt_program *p,
					    const struct mmt_exec_opts *o,
					    struct mmt_finding *f);
void mmt_exec_slab_diff(const struct mmt_program *p,
			const struct mmt_exec_opts *o, mmt_exec_fn run,
			struct mmt_slab_diff *d);
void mmt_slab_diff_free(struct mmt_slab_diff *d);

void mmt_exec_opts_default(struct mmt_exec_opts *o);

/*
 * Run @p on a fresh machine (@o NULL: the defaults); @f (may be NULL) is
 * filled for a finding, a blocked execution or a failed set-up.  A
 * program the interpreter cannot run as written (a handle never created
 * or already ended, an exit with nothing entered, ...) is a finding of
 * "bad-trace", never a crash.  Thread-safe: each call has its machine.
 * A caller on a simulated CPU of another machine leaves it for the
 * execution and is put back on it afterwards.
 */
enum mmt_exec_result mmt_trace_execute(const struct mmt_program *p,
				       const struct mmt_exec_opts *o,
				       struct mmt_finding *f);

void mmt_finding_free(struct mmt_finding *f);
/*
 * Make @p (the program run with @o, NULL: defaults) the self-contained
 * reproducer of @f: an overriding schedule source (o->sched_source, its
 * seed and PCT depth) becomes the header's, and the executed schedule
 * (f->decisions) the program's decisions, so that running the printed
 * program replays the same interleaving.  Nothing changes for a
 * sequential run.  False when out of memory (the decisions are then not
 * attached).
 */
bool mmt_exec_reproducer(struct mmt_program *p, const struct mmt_exec_opts *o,
			 const struct mmt_finding *f);
/*
 * "oracle [layer] at site (reported by func()), op N: op_text\n  message\n
 * dump..."
 */
void mmt_finding_print(const struct mmt_finding *f, FILE *out);

#endif /* MMT_EXEC_H */
