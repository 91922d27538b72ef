/* SPDX-License-Identifier: MIT */
/*
 * stress/stress.h - the stressors' private interface: what a workload is,
 * and what the runner (stress/runner.c) offers a workload's threads.
 *
 * The free-running engine.  Real threads, pinned with hwloc (topology/),
 * hammer one model machine (or, for object workloads, a user's allocator
 * loaded by targets/plugins/) for a time; the OS scheduler picks the
 * interleavings, so a seed reproduces each thread's choices, not the
 * execution (the deterministic engine, trace/dsched.c, is for exact
 * replay).  Private to stress/ and tools/: the model (alloc/) knows no
 * stressor; the runner reaches it through its public API and through the
 * scheduling-point hook the model declares (mmt_machine_set_sched_hook(),
 * used for the KCSAN-like delays).
 *
 * A workload is a table of callbacks.  The runner:
 *  1. builds the machine's config (defaults, --slab, --bug, --topology),
 *     lets the workload adjust it (configure), creates the machine, and
 *     calls setup once on the main thread (shared caches, pools, memcgs);
 *  2. starts one thread per --threads; each creates a task, claims and
 *     attaches to a simulated CPU (pinned to its PU under --topology),
 *     calls thread_init, then calls op in a loop;
 *  3. every --quiesce interval stops every thread between two ops (the
 *     threads park at a barrier, still attached, still holding what they
 *     hold), runs the expensive validators on the quiet machine, and lets
 *     them go on;
 *  4. at the end of --time calls thread_exit in each thread (free all it
 *     holds), joins, calls teardown, drains, validates, checks that no page
 *     is left allocated, and reports.
 * A workload never blocks in op for long: the runner's quiesce and stop
 * wait for every thread to come back from op.
 *
 * Object workloads (MMT_STRESS_OBJECT) allocate only through the object
 * heap the runner hands them (mmt_stress_heap()): the model's kmalloc/kfree
 * on the thread's simulated CPU by default, or a user's allocator under
 * --allocator, where the whole run happens in a child process so that a
 * crashing or hanging plug-in is a finding of that plug-in.
 */
#ifndef MMT_STRESS_STRESS_H
#define MMT_STRESS_STRESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/mmt.h"

struct mmt_heap; /* targets/plugins/heap.h */
struct mmt_stress_run;
struct mmt_stress_thread;

/* What the user asked for (`mmtorture stress` options). */
struct mmt_stress_params {
	unsigned int threads; /* worker threads; 0: one per simulated CPU
			       * (the runner's copy holds the number run) */
	double time_s; /* run time */
	uint64_t seed; /* each thread's splitmix64 stream derives from it */
	uint64_t bugs; /* injectable bugs on (mask of enum mmt_bug) */
	enum mmt_slab_impl slab;
	const char *topology; /* NULL: no mapping, no pinning */
	const char *allocator; /* object workloads: NULL = the model */
	unsigned int kcsan_delay_us; /* 0: off; else max random delay */
	double quiesce_s; /* interval between quiesced validations */
	/* Op mix and sizes; 0 means the workload's own default. */
	size_t size_min, size_max; /* object sizes, bytes */
	unsigned int order_max; /* page orders 0..order_max */
	unsigned int batch; /* bulk/batch size */
};

enum mmt_stress_kind {
	MMT_STRESS_MODEL, /* drives the machine's API directly */
	MMT_STRESS_OBJECT, /* only through mmt_stress_heap(): any allocator */
};

/* The layers latency is recorded for (histograms, p50/p99/p99.9). */
enum mmt_stress_layer {
	MMT_STRESS_LAT_PAGE_ALLOC,
	MMT_STRESS_LAT_PAGE_FREE,
	MMT_STRESS_LAT_SLAB_ALLOC,
	MMT_STRESS_LAT_SLAB_FREE,
	MMT_STRESS_LAT_MEMPOOL_ALLOC,
	MMT_STRESS_LAT_MEMPOOL_FREE,
	MMT_STRESS_LAT_OBJ_ALLOC, /* object heap (model kmalloc or plug-in) */
	MMT_STRESS_LAT_OBJ_FREE,
	MMT_STRESS_NR_LAYERS,
};

struct mmt_stress_workload {
	const char *name; /* "larson", "pressure-memalloc-sockets", ... */
	const char *summary; /* one line for `mmtorture stress --list` */
	enum mmt_stress_kind kind;
	/* Optional: adjust the machine before it is created. */
	void (*configure)(const struct mmt_stress_params *p,
			  struct mmt_config *cfg);
	/* Optional: shared state, on the main thread (attached to no CPU:
	 * use mmt_stress_main_attach() to call the model's API). */
	bool (*setup)(struct mmt_stress_run *run, char *err, size_t errlen);
	/* Optional: per-thread state, in the thread, attached. */
	void (*thread_init)(struct mmt_stress_thread *t);
	/* Required: one operation (or a short burst), in the thread. */
	void (*op)(struct mmt_stress_thread *t);
	/* Required if the thread may hold anything: free it all. */
	void (*thread_exit)(struct mmt_stress_thread *t);
	/* Optional: free the shared state, on the main thread. */
	void (*teardown)(struct mmt_stress_run *run);
	/*
	 * CPUs the machine has beyond the worker threads, for the workload
	 * to claim (mmt_stress_claim_cpu(), e.g. to take them offline): the
	 * default thread count leaves them free (cpu-hotplug).
	 */
	unsigned int spare_cpus;
};

/* The registered workloads: stress/workloads_*.c each export one array. */
extern const struct mmt_stress_workload mmt_stress_object_workloads[];
extern const size_t mmt_stress_nr_object_workloads;
extern const struct mmt_stress_workload mmt_stress_model_workloads[];
extern const size_t mmt_stress_nr_model_workloads;

const struct mmt_stress_workload *mmt_stress_find(const char *name);

/* ---- for workloads: the run ---- */

struct mmt_machine *mmt_stress_machine(struct mmt_stress_run *run);
const struct mmt_stress_params *mmt_stress_params(struct mmt_stress_run *run);
void *mmt_stress_shared(struct mmt_stress_run *run);
void mmt_stress_set_shared(struct mmt_stress_run *run, void *shared);
/* The main thread as a task on CPU 0 for setup/teardown's model calls. */
void mmt_stress_main_attach(struct mmt_stress_run *run);
void mmt_stress_main_detach(struct mmt_stress_run *run);
/* A finding the workload saw (a cookie mismatch, a lost object): tallied
 * by signature "CHECK|stress|WORKLOAD", printed with seed and workload. */
void mmt_stress_finding(struct mmt_stress_run *run, const char *check,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Report @s's slab statistics (mmt_slab_info(): objects live, slabs, free
 * objects) in the run's JSON, "slab": taken after the workers ended and
 * before teardown.  In setup; up to 16 caches.
 */
void mmt_stress_watch_cache(struct mmt_stress_run *run,
			    struct mmt_kmem_cache *s);

/* ---- for workloads: the thread ---- */

/*
 * The main thread's own record, for setup and teardown: verify and free
 * what the workers left in shared state through the same calls (its id is
 * the number of worker threads; its CPU is 0 while attached).
 */
struct mmt_stress_thread *mmt_stress_main_thread(struct mmt_stress_run *run);

struct mmt_stress_run *mmt_stress_run_of(struct mmt_stress_thread *t);
int mmt_stress_thread_id(const struct mmt_stress_thread *t);
int mmt_stress_cpu(const struct mmt_stress_thread *t);
struct mmt_task *mmt_stress_task(struct mmt_stress_thread *t);
void *mmt_stress_priv(struct mmt_stress_thread *t);
void mmt_stress_set_priv(struct mmt_stress_thread *t, void *priv);
/* Uniform in [0, below) from the thread's stream (below > 0). */
uint64_t mmt_stress_rand(struct mmt_stress_thread *t, uint64_t below);
/* Leave this CPU and attach to another free one (re-pinned). */
void mmt_stress_migrate(struct mmt_stress_thread *t);
/*
 * Claim simulated CPU @cpu in the runner's table for the workload's own
 * use (no thread is on it; none attaches or migrates there until it is
 * released): false if a thread is on it or it is claimed already.
 */
bool mmt_stress_claim_cpu(struct mmt_stress_run *run, int cpu);
void mmt_stress_release_cpu(struct mmt_stress_run *run, int cpu);
/* The object heap of an MMT_STRESS_OBJECT workload. */
const struct mmt_heap *mmt_stress_heap(struct mmt_stress_thread *t);

/* Cookies: stamp @n bytes at @p on allocation, verify before the free;
 * a mismatch is a finding (cookie-corrupt) naming the thread that stamped. */
void mmt_stress_stamp(struct mmt_stress_thread *t, void *p, size_t n);
bool mmt_stress_verify(struct mmt_stress_thread *t, const void *p, size_t n);

/* Latency: t0 = mmt_stress_clock(); call; mmt_stress_lat(t, LAYER, t0). */
uint64_t mmt_stress_clock(void);
void mmt_stress_lat(struct mmt_stress_thread *t, enum mmt_stress_layer l,
		    uint64_t t0);
/* Named counters of the workload, summed over threads into the JSON. */
void mmt_stress_count(struct mmt_stress_thread *t, const char *counter,
		      uint64_t n);

/* ---- for the command (tools/cmd_stress.c, bench scaling): one run ---- */

struct json_t;

/* What the command lends the runner; every member optional. */
struct mmt_stress_env {
	/* ~4 times a second on the main thread (the parent under
	 * --allocator): elapsed seconds, ops so far, findings so far. */
	void (*progress)(void *arg, double elapsed_s, uint64_t ops,
			 unsigned long findings);
	void *progress_arg;
	/* TSan's reports as findings (tools/tsan_finding.c): forget what
	 * was reported, then take the first report since into @sig/@msg. */
	void (*race_begin)(void);
	bool (*race_take)(char *sig, size_t siglen, char *msg, size_t msglen);
	FILE *out; /* findings and the header line; NULL: stdout */
	bool quiet; /* no header line and no findings printed */
};

/* What one run gave. */
struct mmt_stress_outcome {
	unsigned long findings; /* distinct signatures */
	uint64_t ops;
	double active_s; /* running, quiesced pauses left out */
	double ops_per_s;
	struct json_t *json; /* the run's JSON object (json_decref it) */
};

/*
 * Run @w with @p.  Returns 0 when the run happened (@out filled, its
 * findings printed with their rerun lines), 2 when it could not start
 * because of the user's input (a topology, an allocator that is not
 * there; @err says which and why), 1 on any other failure to start.
 */
int mmt_stress_execute(const struct mmt_stress_workload *w,
		       const struct mmt_stress_params *p,
		       const struct mmt_stress_env *env,
		       struct mmt_stress_outcome *out, char *err,
		       size_t errlen);

/* The latency histograms' buckets: the bucket of @ns and a bucket's
 * lowest value (log2-linear: exact below 8 ns, then 8 per power of two). */
uint64_t mmt_stress_lat_bucket_low(unsigned int bucket);
unsigned int mmt_stress_lat_bucket(uint64_t ns);
const char *mmt_stress_layer_name(enum mmt_stress_layer l);
const char *mmt_stress_slab_name(enum mmt_slab_impl s);

/*
 * The GFP mixes the workloads and `mmtorture run` draw from (gfp_mix.c):
 * a mask of @mix chosen by the random number @r, leaving out the masks
 * that need a DMA32 zone unless @dma32.
 */
enum mmt_stress_gfp_mix {
	MMT_STRESS_GFP_PROCESS, /* may sleep */
	MMT_STRESS_GFP_ATOMIC, /* never sleeps */
	MMT_STRESS_GFP_BULK, /* alloc_pages_bulk */
};
mmt_gfp_t mmt_stress_pick_gfp(enum mmt_stress_gfp_mix mix, uint64_t r,
			      bool dma32);

#endif /* MMT_STRESS_STRESS_H */
