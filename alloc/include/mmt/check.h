/* SPDX-License-Identifier: MIT */
/*
 * mmt/check.h - violations, the catalogue of checks, and the registry of
 * injectable bugs.
 *
 * A violation is the model noticing that an invariant broke or that its API
 * was misused.  It is never a bare abort: it is recorded in the machine with
 * a stable signature (check name + layer + the function that reported it:
 * no line number, so moving code leaves it alone), the operation that caused
 * it, a message and a state dump, and handed to the machine's violation
 * handler (a fuzz harness turns it into a crash; a test asserts on it).
 *
 * Injectable bugs are defects drawn from the seeds, compiled in, default off,
 * and turned on per machine at run time (--bug ID, MMT_BUGS=ID,ID).  Testing
 * one costs one predictable branch: mmt_bug(m, MMT_BUG_X).
 */
#ifndef MMT_CHECK_H
#define MMT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/config.h"

struct mmt_machine;

/* ---- the catalogue of checks ---- */

enum mmt_check_tier {
	MMT_TIER_API, /* argument and state checks at the API; always on */
	MMT_TIER_CHEAP, /* O(1) checks on the paths they guard */
	MMT_TIER_EXPENSIVE, /* whole-structure validators */
};

struct mmt_check_info {
	const char *name; /* stable; part of the signature */
	const char *layer; /* machine, lock, page, ... */
	enum mmt_check_tier tier;
	const char *seed; /* seed thread it protects, or "-" */
	const char *what; /* one line */
};

/*
 * Is @check a cause: a misuse whose harm shows later, as a stall or a
 * deadlock of the machine (a writeback worker told to reclaim throttles
 * behind its own writeback)?  Where the machine defers causes
 * (mmt_machine_defer_causes), its first report is kept aside and the run
 * goes on, so the finding can be the stall it causes, naming it; other
 * reports of it are only counted.
 */
bool mmt_check_is_cause(const struct mmt_check_info *check);

const struct mmt_check_info *mmt_checks(size_t *nr);
const struct mmt_check_info *mmt_check_find(const char *name);

/* ---- violations ---- */

struct mmt_violation {
	const char *check; /* catalogue name */
	const char *layer;
	const char *site; /* file:line that detected it (for people) */
	/*
	 * The function that reported it (__func__ at the report): with the
	 * check and the layer, the signature findings deduplicate by.  For a
	 * check made on behalf of a call site (lockdep, might_sleep: @site is
	 * the lock's or the sleeper's), the checking function.
	 */
	const char *func;
	char op[128]; /* the operation being executed, if known */
	char msg[512];
	char *dump; /* readable state dump (may be NULL) */
	int cpu; /* simulated CPU, -1 if none */
	uint64_t op_index; /* set by the interpreter (mmt_machine_set_op) */
};

typedef void (*mmt_violation_fn)(struct mmt_machine *m,
				 const struct mmt_violation *v, void *arg);

/*
 * Report a violation of @check (must be in the catalogue) detected at
 * @site by function @func.  Thread-safe.  Returns false so that callers
 * can write `return mmt_violation(...)` in bool validators.  Use the
 * macros: mmt_violation() (here) or _mmt_violation() (@site given, e.g.
 * a caller's); both name the reporting function.
 */
bool _mmt_violation_at(struct mmt_machine *m, const char *check,
		       const char *site, const char *func, const char *fmt, ...)
	MMT_PRINTF(5, 6);
#define _mmt_violation(m, check, site, ...) \
	_mmt_violation_at((m), (check), (site), __func__, __VA_ARGS__)
#define mmt_violation(m, check, ...) \
	_mmt_violation_at((m), (check), MMT_SITE, __func__, __VA_ARGS__)

/* Number of violations reported (including ones not kept in the log). */
unsigned long mmt_violation_count(const struct mmt_machine *m);
/* The i-th kept violation (0 = first), or NULL. */
const struct mmt_violation *mmt_violation_get(const struct mmt_machine *m,
					      unsigned long i);
/* Was @check reported at least once? */
bool mmt_violated(const struct mmt_machine *m, const char *check);
void mmt_violations_clear(struct mmt_machine *m);
/*
 * Keep the first report of a cause check (MMT_CHECK_CAUSE) aside instead
 * of logging it: it is neither counted nor passed to the handler.  The
 * interpreter turns it on; off by default.
 */
void mmt_machine_defer_causes(struct mmt_machine *m, bool on);
/* The first deferred cause, or NULL; how many reports it had. */
const struct mmt_violation *mmt_violation_cause(const struct mmt_machine *m,
						unsigned long *nr);
void mmt_machine_set_violation_handler(struct mmt_machine *m,
				       mmt_violation_fn fn, void *arg);
/* Print a violation as a readable report. */
void mmt_violation_print(const struct mmt_violation *v, FILE *out);
/* Name the operation being executed (for reports); @index from a trace. */
void mmt_machine_set_op(struct mmt_machine *m, uint64_t index, const char *fmt,
			...) MMT_PRINTF(3, 4);
/*
 * The same without formatting anything: @text (a string that stays valid
 * until the next call, e.g. an operation's static name) is copied into a
 * violation only when one is reported.  For the interpreter, which names
 * every operation and almost never reports.
 */
void mmt_machine_set_op_text(struct mmt_machine *m, uint64_t index,
			     const char *text);
/*
 * The operation @m runs now, for a watchdog or a crash handler (no lock:
 * it may run inside a signal handler; a racing update may give the
 * previous operation): its index, and in @name its static name when the
 * interpreter named it with mmt_machine_set_op_text(), else NULL.
 */
uint64_t mmt_machine_op_now(const struct mmt_machine *m, const char **name);

/* Run every expensive validator of the machine now (pages; with the
 * caller on a CPU, also slabs, memcg charges and reserves); true if all
 * hold.  The machine must be quiescent. */
bool mmt_machine_is_valid(struct mmt_machine *m);
/*
 * The same validators over what changed since the last validation: the
 * zones whose lists or counters were written (buddy lists, per-cpu lists,
 * allocation counts), the slab caches an allocation, free, drain, shrink
 * or cgroup operation reached (every cache when machine-wide slab state
 * changed, or when the page allocator handed out a frame a slab still
 * held), and the cheap machine-wide ones (memcg charges, reserves)
 * always.  What it skips holds exactly what it held when last validated,
 * so after every operation it reports a violation at the same operation
 * as mmt_machine_is_valid() would.  Same conditions; true if all hold.
 */
bool mmt_machine_validate_touched(struct mmt_machine *m);
/* Readable dump of the whole machine state. */
void mmt_machine_dump(struct mmt_machine *m, FILE *out);

/* ---- injectable bugs ---- */

enum mmt_bug {
	MMT_BUG_FAST_TRY_BULK_REFILL, /* seed 002 */
	MMT_BUG_PFMEMALLOC_UNMARKED, /* seed 004 */
	MMT_BUG_PCP_COUNT_DRIFT, /* model */
	/* slab layer (Model 2) */
	MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK, /* seed 000, review */
	MMT_BUG_SLAB_RACY_FREE_OBJECTS, /* seed 000, review */
	MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED, /* seed 000, problem 1 */
	MMT_BUG_SLAB_PFMEMALLOC_LINGERS, /* seed 000, problem 3 */
	MMT_BUG_SLUB_FROZEN_DEAD_CACHE, /* seed 003 */
	MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW, /* seed 002 */
	MMT_BUG_KVFREE_RCU_EARLY_FREE, /* seed 002 */
	/* mempool, reserves, reclaim (Model 3) */
	MMT_BUG_MEMPOOL_RETRY_RECLAIM, /* seed 001 */
	MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES, /* seed 001 */
	MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC, /* seed 004 */
	MMT_BUG_RESERVE_CHARGE_LEAK, /* seed 004 */
	MMT_BUG_EMERGENCY_WMARK_NOT_LOWERED, /* seed 004 */
	/* caught by the interpreter's caller-side oracles (mmt/exec.h) */
	MMT_BUG_PCP_ORDER_INDEX, /* model */
	MMT_BUG_PCP_ZERO_SKIPPED, /* model */
	MMT_BUG_NOWAIT_DIRECT_RECLAIM, /* model */
	MMT_BUG_WMARK_ORDER_IGNORED, /* model */
	MMT_BUG_KVFREE_RCU_BLOCK_LEAK, /* model */
	MMT_BUG_NORECLAIM_RESTORE_CLEARS, /* model: context-restore */
	MMT_BUG_THISNODE_FALLBACK, /* model: gfp-thisnode */
	/* SLUB with sheaves (issue 11): upstream fixes of 2025 */
	MMT_BUG_SHEAF_RETURN_PFMEMALLOC,
	MMT_BUG_SHEAF_REFILL_FAIL_LEAK,
	/* upstream fixes of 2025-2026 (issue 11) */
	MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK, /* 2025: second trylock of zone->lock */
	MMT_BUG_PCP_UP_TRYLOCK_REENTRY, /* 2025: UP pcp trylock never fails */
	/* the language's gaps (issue 11): ordinary sockets */
	MMT_BUG_SK_FILTER_PFMEMALLOC_KEPT, /* seed 004: sk_filter's drop skipped */
	MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED, /* model: slab-barn */
	MMT_BUG_SLUB_NO_MIN_ORDER_FALLBACK, /* model: slab-divergence */
	MMT_BUG_SHEAF_REFILL_MAY_BLOCK, /* 2025-26: "may block" for "may spin" */
	MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK, /* 2025-26: flush trylock fails on RT */
	/* model defects that only the bookkeeping validators catch (oracle pairs) */
	MMT_BUG_ZONE_ALLOCATED_PER_BLOCK, /* model: zone-conservation */
	MMT_BUG_DEFERRED_COUNT_PER_BLOCK, /* model: deferred-list */
	MMT_BUG_DEFERRED_DRAIN_DROPS_LAST, /* model: deferred-free-lost */
	MMT_BUG_PCP_REFILL_KEEPS_BUDDY_FLAG, /* model: page-state */
	MMT_BUG_BUDDY_MERGE_BELOW_MAX_ORDER, /* model: buddy-consistency */
	MMT_BUG_SLUB_CPU_PARTIAL_UNCOUNTED, /* model: slab-cpu-partial */
	MMT_BUG_SLUB_NODE_PARTIAL_UNCOUNTED, /* model: slab-node-partial */
	MMT_BUG_MEMCG_SLAB_UNCHARGE_SKIPPED, /* model: memcg-charge */
	MMT_BUG_SLUB_DEACTIVATE_INUSE_OFF_BY_ONE, /* model: slab-inuse */
	MMT_BUG_SLUB_ACQUIRE_KEEPS_FREELIST, /* model: slab-double-alloc */
	MMT_BUG_NOFAIL_NO_MIN_RESERVE, /* model: nofail-failed */
	/* a missed wake-up (issue 11): mempool-forward-progress's pair */
	MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP, /* waitqueue_active() before refill */
	MMT_NR_BUGS
};

struct mmt_bug_info {
	enum mmt_bug bug;
	const char *id; /* stable text id for --bug and traces */
	const char *seed;
	const char *layer;
	const char *desc;
	const char *caught_by; /* the check that reports it */
};

const struct mmt_bug_info *mmt_bugs(size_t *nr);
const struct mmt_bug_info *mmt_bug_find(const char *id);
/*
 * Parse "id,id" (also accepts spaces) into a mask; "all" turns every bug on.
 * Returns false with a message naming the unknown id.
 */
bool mmt_bugs_parse(const char *list, uint64_t *mask, char *err, size_t errlen);
/* Format a mask as "id,id" ("none" when empty). */
size_t mmt_bugs_format(uint64_t mask, char *buf, size_t len);
bool mmt_bug_enabled(const struct mmt_machine *m, enum mmt_bug bug);
/*
 * A bug's canaries on @m (in the manner of Magma): how often its site
 * ran with it on (*reached) and how often the buggy code did what the
 * correct code would not (*triggered).  Both stay 0 for a bug that is off.
 */
void mmt_bug_canaries(const struct mmt_machine *m, enum mmt_bug bug,
		      uint64_t *reached, uint64_t *triggered);
/* Every bug's canaries, summed over machines (an execution's, a run's). */
struct mmt_bug_canary_counts {
	uint64_t reached[MMT_NR_BUGS];
	uint64_t triggered[MMT_NR_BUGS];
};
void mmt_bug_canaries_add(const struct mmt_machine *m,
			  struct mmt_bug_canary_counts *sum);

/*
 * The canary file (trace/canary_file.c): `bench bugs` sets
 * MMT_CANARY_FILE=PATH for the engine it runs, and whatever runs the
 * model there (a fuzz target, `mmtorture pct`, a stressor) appends
 * "reached BUG MS", "triggered BUG MS" the first time a bug that is on
 * is reached or triggered, and "found ORACLE MS" at each finding (MS:
 * Unix time in ms).  Each line is one write() on an O_APPEND descriptor,
 * so processes sharing the file (libFuzzer's -fork jobs) never tear one.
 */
#define MMT_CANARY_FILE_ENV "MMT_CANARY_FILE"
struct mmt_canary_file {
	int fd; /* -1: off */
	uint64_t said_reached, said_triggered; /* bits: already in the file */
};
/*
 * Open $MMT_CANARY_FILE if it is set and not empty, learning what earlier
 * processes wrote to it: 1 open, 0 not asked for (cf->fd is -1), -1 it
 * cannot be opened (errno set; cf->fd is -1).
 */
int mmt_canary_file_open(struct mmt_canary_file *cf);
void mmt_canary_file_close(struct mmt_canary_file *cf);
/* One line "@what @name MS" (reached, triggered, found). */
void mmt_canary_file_line(struct mmt_canary_file *cf, const char *what,
			  const char *name);
/* The bugs of @bugs that @c shows reached or triggered for the first time. */
void mmt_canary_file_report(struct mmt_canary_file *cf, uint64_t bugs,
			    const struct mmt_bug_canary_counts *c);

#endif /* MMT_CHECK_H */
