/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_bench.c - `mmtorture bench NAME`: micro-benchmarks of the model
 * (pages, slab, trace); `bench bugs` and `bench fuzz`, which drive the
 * fuzzers, live in tools/cmd_fuzz.c.
 *
 * bench pages: in one process, one thread on simulated CPU 0 of a 1-CPU
 * machine (page poisoning off; vm event counters as the build has them),
 * the cost in ns per operation of
 *   pcp_order0_alloc_free           GFP_KERNEL order-0 alloc + immediate free
 *                                   (served from and returned to the pcp list)
 *   pcp_order0_fast_try_alloc_free  the same with __GFP_FAST_TRY, the list
 *                                   pre-filled so it succeeds (failures are
 *                                   counted and reported)
 *   pcp_order0_batch64              allocate 64 pages, then free the 64
 *                                   (per page: one alloc + one free)
 *   malloc_free_4k                  glibc malloc(4096) + free, pointer into a
 *                                   volatile sink
 *   malloc_touch_free_4k            the same, writing and reading the first
 *                                   byte, so no compiler can elide the pair
 *   pcp_order0_nolock_alloc_free    alloc_pages_nolock + free_pages_nolock
 *                                   (pcp trylock, the list pre-filled)
 * bench slab: for each slab implementation (SLUB, SLAB, sheaves) on its own
 * 1-CPU machine, kmem_cache_alloc + kmem_cache_free of a 64-byte cache and
 * kmalloc(64) + kfree, freed at once so the fast path serves them, and 64
 * kmallocs then 64 kfrees; then glibc malloc(64) + free and its batch in
 * the same process, and jemalloc's and mimalloc's, loaded as users'
 * allocators are (targets/plugins/: an indirect call each).  Batch rows
 * are compared with glibc's batch row.
 * bench mempool: mempool_alloc + mempool_free of a kmalloc(64) pool of 16
 * with GFP_KERNEL (the allocator serves), then with GFP_NOWAIT after the
 * zones and the slab are exhausted (the pool's reserve serves).
 * bench speed: every part above and bench sched, each `bench NAME` in a
 * child process, merged into one JSON (checked: every part, every row
 * timed) and a Markdown table.
 * bench trace: the interpreter (mmt/exec.h) as the fuzzers call it, on the
 * default header's machine (1 node, 2 CPUs, 1024 + 64 pages): ns per
 * mmt_trace_execute() of the empty program and of a 64-operation program
 * (pages, kmalloc, a cache, krealloc, kvfree_rcu, bulk pages), each at
 * oracle level 0 and 1, and ns per machine create + destroy with 256, 2048
 * 65536 and 1048576 Normal pages (1 MiB to 4 GiB), and per execution of a
 * program allocating 16, 256 and 4096 order-0 pages on a 1 GiB machine
 * (freed by the teardown): what one execution costs besides its
 * operations, which must follow what the execution touched, not the
 * memory's size.
 * bench sched: the deterministic scheduler's context switch (trace/fiber.h,
 * trace/dsched.h): ns per fiber round trip (two switches) with the
 * project's switch and with glibc swapcontext, and ns per scheduling point
 * of two CPU tasks under the scheduler, each point a switch (the fiber
 * switch plus the scheduler's choice and the model's thread-state save and
 * restore).
 * Each is warmed up, then timed (CLOCK_MONOTONIC) over 5 repetitions of N
 * iterations; the best repetition is the result.  JSON on stdout, or with
 * --json-out FILE in FILE and a table on stdout.
 *
 * Beside the glibc rows: every model row of pages and slab carries
 * "vs_glibc" (the glibc row of the same size, and the model's ns over
 * glibc's).  With --instructions the same benchmark runs once more, under
 * `valgrind --tool=callgrind --collect-atstart=no` (this executable with the
 * internal option --instructions-child): each case is warmed up uncounted,
 * then callgrind's collection is switched on around one repetition of the
 * measured loop (client requests of <valgrind/callgrind.h>) and the counts
 * are dumped under the case's name.  The parent reads the dumps and adds
 * "instructions_per_op" (loop included: a handful of instructions, as for
 * the glibc rows) and "vs_glibc"."instructions_ratio" to the rows of its
 * own timed run: ns and instruction counts side by side in one JSON.
 * Instruction counts do not swing with a loaded host as ns do; they are
 * what to compare before and after a change.  The callgrind run sets
 * GLIBC_TUNABLES (unless set) so that memset/memcpy take glibc's vector
 * loops: callgrind counts a `rep stosb` once per byte.  --callgrind-out DIR keeps the
 * dumps (one file per case, for callgrind_annotate).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#ifdef MMT_HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#endif

#include "cli.h"
#include "dsched.h"
#include "plugins/heap.h"
#include "fiber.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include <ucontext.h>

#define BENCH_REPS 5
#define BENCH_DEFAULT_ITERS 2000000ull
#define BENCH_MAX_ITERS 10000000000ull
#define BENCH_BATCH 64
#define BENCH_TRACE_DEFAULT_ITERS 2000ull /* executions: tens of us each */
/* Iterations counted under callgrind (about 50x slower than native). */
#define BENCH_CG_MAX_ITERS 200000ull

/* What a run of `bench pages|slab|trace` was asked for. */
struct bench_opts {
	uint64_t iters;
	const char *json_out;
	bool lockdep;
	bool instructions; /* --instructions: also count under callgrind */
	const char *cg_out; /* --callgrind-out: keep the dumps there */
};

/* This process is the callgrind run of --instructions: count, not time. */
static bool cg_child;

struct bench_state {
	struct mmt_machine *m;
	const struct mmt_heap *heap; /* bench slab: a real allocator's row */
	struct mmt_mempool *pool; /* bench mempool */
	unsigned long touch; /* bench trace: pages a reset program touches */
	uint64_t fast_try_failures; /* NULL returns of __GFP_FAST_TRY */
	struct mmt_kmem_cache *cache; /* bench slab: a 64-byte cache */
	/* bench trace */
	const struct mmt_program *prog; /* what to execute */
	struct mmt_exec_opts opts;
	struct mmt_config cfg; /* machine to create and destroy */
	uint64_t not_ok; /* executions that did not end MMT_EXEC_OK */
};

struct bench {
	const char *name;
	const char *what;
	void (*fn)(struct bench_state *bs, uint64_t iters);
};

/* Sinks the compiler must write: the allocations cannot be elided. */
static void *volatile ptr_sink;
static volatile unsigned char byte_sink;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s bench NAME [options]\n"
		"\n"
		"Benchmarks:\n"
		"  pages    order-0 page alloc+free through the per-cpu lists (GFP_KERNEL,\n"
		"           __GFP_FAST_TRY, 64-page batches, alloc/free_pages_nolock) against\n"
		"           glibc malloc(4096)+free, on one thread, simulated CPU 0; ns per\n"
		"           operation, best of %d repetitions after a warm-up\n"
		"  slab     kmem_cache_alloc+free of a 64-byte cache, kmalloc(64)+kfree and\n"
		"           batches of 64 kmallocs then 64 kfrees, for SLUB, SLAB and\n"
		"           sheaves, against glibc, jemalloc and mimalloc on the same\n"
		"           patterns, on one thread\n"
		"  mempool  mempool_alloc+free of a kmalloc(64) pool of 16, served by the\n"
		"           allocator, then by the pool's reserve with the zones exhausted\n"
		"  trace    the interpreter: ns per execution of the empty program and of\n"
		"           a 64-operation program (oracle levels 0 and 1), per machine\n"
		"           create+destroy from 1 MiB to 4 GiB (flat: it must not follow\n"
		"           the memory's size), and per execution touching 16, 256 and 4096\n"
		"           pages of a 1 GiB machine (--iters counts executions; default\n"
		"           %llu)\n"
		"  sched    the deterministic scheduler: ns per fiber round trip (two\n"
		"           switches) against glibc swapcontext, and per scheduling point\n"
		"           of two CPU tasks switching at every point\n"
		"  speed    all of the above but bugs and fuzz, each in a child process,\n"
		"           one JSON and a Markdown table (`%s bench speed --help`)\n"
		"  bugs     the fuzzers: seconds to reach, trigger and find each\n"
		"           injectable bug, per engine, over trials (`%s bench bugs --help`)\n"
		"  fuzz     the fuzzers: exec/s per target on 64-operation inputs beside an\n"
		"           empty target (`%s bench fuzz --help`)\n"
		"  scaling  the object workloads' ops/s and p99 latency at 1, 2, 4, 8 threads\n"
		"           on the model's SLUB, SLAB, sheaves and on glibc, jemalloc,\n"
		"           mimalloc (`%s bench scaling --help`)\n"
		"\n"
		"Options (pages, slab, trace):\n"
		"  --iters N        iterations per repetition, 1..%llu (default %llu)\n"
		"  --json-out FILE  write the JSON to FILE and a table to stdout\n"
		"                   (default: JSON on stdout)\n"
		"  --lockdep        keep lockdep on (off by default: a release\n"
		"                   benchmark measures the model without its checks)\n"
		"  --instructions   also count instructions per operation: the same\n"
		"                   cases once more under valgrind's callgrind, collection\n"
		"                   on around the measured loop only (at most %llu\n"
		"                   iterations); \"instructions_per_op\" beside \"ns_per_op\"\n"
		"  --callgrind-out DIR  with --instructions: keep callgrind's dumps in DIR,\n"
		"                   one file per case (callgrind_annotate DIR/cg.out.N)\n"
		"  --help           this text\n",
		CLI_PROG, BENCH_REPS, BENCH_TRACE_DEFAULT_ITERS, CLI_PROG,
		CLI_PROG, CLI_PROG, CLI_PROG, BENCH_MAX_ITERS,
		BENCH_DEFAULT_ITERS, BENCH_CG_MAX_ITERS);
}

/* ---- the benchmarks ---- */

static void bench_pcp_alloc_free(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++) {
		struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0);

		mmt_free_pages(p, 0);
	}
}

static void bench_pcp_fast_try(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		struct mmt_page *p = mmt_alloc_pages(__GFP_FAST_TRY, 0);

		if (MMT_UNLIKELY(!p)) {
			bs->fast_try_failures++;
			continue;
		}
		mmt_free_pages(p, 0);
	}
}

static void bench_pcp_batch(struct bench_state *bs, uint64_t iters)
{
	struct mmt_page *pages[BENCH_BATCH];
	uint64_t done = 0;
	unsigned int i, n;

	(void)bs;
	while (done < iters) {
		n = iters - done < BENCH_BATCH ? (unsigned int)(iters - done) :
						 BENCH_BATCH;
		for (i = 0; i < n; i++)
			pages[i] = mmt_alloc_pages(GFP_KERNEL, 0);
		for (i = 0; i < n; i++)
			mmt_free_pages(pages[i], 0);
		done += n;
	}
}

static void bench_pcp_nolock(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		struct mmt_page *p = mmt_alloc_pages_nolock(0, -1, 0);

		if (MMT_UNLIKELY(!p)) {
			bs->fast_try_failures++;
			continue;
		}
		mmt_free_pages_nolock(p, 0);
	}
}

static void bench_malloc_free(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++) {
		void *p = malloc(4096);

		ptr_sink = p;
		free(p);
	}
}

static void bench_malloc_touch_free(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++) {
		unsigned char *p = malloc(4096);

		memset(p, (int)i, 1);
		byte_sink = *(volatile unsigned char *)p;
		free(p);
	}
}

static const struct bench pages_benches[] = {
	{ "pcp_order0_alloc_free", "GFP_KERNEL order-0 alloc + free (pcp)",
	  bench_pcp_alloc_free },
	{ "pcp_order0_fast_try_alloc_free",
	  "__GFP_FAST_TRY order-0 alloc + free (pcp)", bench_pcp_fast_try },
	{ "pcp_order0_batch64",
	  "64 x GFP_KERNEL order-0 alloc, then 64 frees (per page)",
	  bench_pcp_batch },
	{ "pcp_order0_nolock_alloc_free",
	  "alloc_pages_nolock + free_pages_nolock, order 0 (pcp trylock)",
	  bench_pcp_nolock },
	{ "malloc_free_4k", "glibc malloc(4096) + free", bench_malloc_free },
	{ "malloc_touch_free_4k",
	  "glibc malloc(4096) + write/read byte 0 + free",
	  bench_malloc_touch_free },
};

static void bench_cache_alloc_free(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		void *p = mmt_kmem_cache_alloc(bs->cache, GFP_KERNEL);

		ptr_sink = p;
		mmt_kmem_cache_free(bs->cache, p);
	}
}

static void bench_kmalloc64(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++) {
		void *p = mmt_kmalloc(64, GFP_KERNEL);

		ptr_sink = p;
		mmt_kfree(p);
	}
}

static void bench_malloc64(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++) {
		void *p = malloc(64);

		ptr_sink = p;
		free(p);
	}
}

static void bench_kmalloc64_batch(struct bench_state *bs, uint64_t iters)
{
	void *objs[BENCH_BATCH];
	uint64_t done = 0;
	unsigned int i, n;

	(void)bs;
	while (done < iters) {
		n = iters - done < BENCH_BATCH ? (unsigned int)(iters - done) :
						 BENCH_BATCH;
		for (i = 0; i < n; i++)
			objs[i] = mmt_kmalloc(64, GFP_KERNEL);
		for (i = 0; i < n; i++)
			mmt_kfree(objs[i]);
		done += n;
	}
}

/* A real allocator's malloc(64) + free, through its loaded table. */
static void bench_heap64(struct bench_state *bs, uint64_t iters)
{
	const struct mmt_heap *h = bs->heap;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		void *p = h->alloc(64);

		ptr_sink = p;
		h->free(p);
	}
}

static void bench_heap64_batch(struct bench_state *bs, uint64_t iters)
{
	const struct mmt_heap *h = bs->heap;
	void *objs[BENCH_BATCH];
	uint64_t done = 0;
	unsigned int i, n;

	while (done < iters) {
		n = iters - done < BENCH_BATCH ? (unsigned int)(iters - done) :
						 BENCH_BATCH;
		for (i = 0; i < n; i++)
			objs[i] = h->alloc(64);
		for (i = 0; i < n; i++)
			h->free(objs[i]);
		done += n;
	}
}

/* Per slab implementation (name prefixed with it), then glibc once. */
static const struct bench slab_benches[] = {
	{ "kmem_cache_alloc_free",
	  "kmem_cache_alloc + kmem_cache_free, 64-byte cache (fast path)",
	  bench_cache_alloc_free },
	{ "kmalloc64_kfree", "kmalloc(64) + kfree (fast path)",
	  bench_kmalloc64 },
	{ "kmalloc64_batch64",
	  "64 x kmalloc(64), then 64 kfree (per object: one alloc + one free)",
	  bench_kmalloc64_batch },
};
/*
 * The real allocators on the same patterns, each loaded as the plug-in
 * loader loads a user's allocator (targets/plugins/, dlopen RTLD_DEEPBIND):
 * the call goes through a function pointer, one indirect call more than
 * glibc's direct malloc row.
 */
static const char *const real_heaps[] = { "jemalloc", "mimalloc" };
static const struct bench heap_benches[] = {
	{ "malloc_free_64", "malloc(64) + free (loaded allocator)",
	  bench_heap64 },
	{ "malloc64_batch64",
	  "64 x malloc(64), then 64 free (loaded allocator)",
	  bench_heap64_batch },
};
static const struct bench malloc64_bench = { "malloc_free_64",
					     "glibc malloc(64) + free",
					     bench_malloc64 };

static void bench_mempool(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		void *p = mmt_mempool_alloc(bs->pool, GFP_KERNEL);

		ptr_sink = p;
		mmt_mempool_free(p, bs->pool);
	}
}

/* The pool's reserve in use: the allocator fails, elements come and go. */
static void bench_mempool_reserve(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		void *p = mmt_mempool_alloc(bs->pool, GFP_NOWAIT);

		ptr_sink = p;
		if (p)
			mmt_mempool_free(p, bs->pool);
		else
			bs->not_ok++;
	}
}

static const struct bench mempool_benches[] = {
	{ "mempool_alloc_free",
	  "mempool_alloc + mempool_free, kmalloc(64) pool of 16, GFP_KERNEL (the allocator serves)",
	  bench_mempool },
	{ "mempool_reserve_alloc_free",
	  "mempool_alloc(GFP_NOWAIT) + mempool_free with the zones exhausted (the pool's reserve serves)",
	  bench_mempool_reserve },
};

static void bench_execute(struct bench_state *bs, uint64_t iters)
{
	struct mmt_finding f;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		if (mmt_trace_execute(bs->prog, &bs->opts, &f) != MMT_EXEC_OK)
			bs->not_ok++;
		mmt_finding_free(&f);
	}
}

static void bench_create_destroy(struct bench_state *bs, uint64_t iters)
{
	char err[256];
	uint64_t i;

	for (i = 0; i < iters; i++) {
		struct mmt_machine *m =
			mmt_machine_create(&bs->cfg, err, sizeof(err));

		if (!m)
			bs->not_ok++;
		mmt_machine_destroy(m);
	}
}

/*
 * A program that allocates bs->touch order-0 pages and lets teardown
 * free them: an execution's cost as the memory it touches grows.
 */
static void bench_touch(struct bench_state *bs, uint64_t iters)
{
	bench_execute(bs, iters);
}

static const struct bench trace_benches[] = {
	{ "execute_empty", "mmt_trace_execute() of the empty program",
	  bench_execute },
	{ "execute_64_ops",
	  "mmt_trace_execute() of a 64-operation program (pages, kmalloc, a cache, krealloc, kvfree_rcu, bulk pages)",
	  bench_execute },
	{ "machine_create_destroy",
	  "mmt_machine_create() + mmt_machine_destroy() of the header's machine",
	  bench_create_destroy },
	{ "execute_touching",
	  "mmt_trace_execute() of a program allocating N order-0 pages, freed by teardown, on a 1 GiB machine",
	  bench_touch },
};

/* ---- timing ---- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Warm up, then time BENCH_REPS repetitions; returns the best ns/op. */
static double measure(const struct bench *b, struct bench_state *bs,
		      uint64_t iters, double reps[BENCH_REPS])
{
	uint64_t warm = iters / 10 > 100000 ? 100000 : iters / 10 + 1;
	double best = 0;
	int r;

	b->fn(bs, warm);
	for (r = 0; r < BENCH_REPS; r++) {
		double t0 = now_ns();

		b->fn(bs, iters);
		reps[r] = (now_ns() - t0) / (double)iters;
		if (r == 0 || reps[r] < best)
			best = reps[r];
	}
	return best;
}

/*
 * The callgrind run: warm up uncounted, then count one repetition of the
 * loop and dump the counts under @name (collection is off at start).
 */
static void count_instructions(const struct bench *b, struct bench_state *bs,
			       uint64_t iters, const char *name)
{
	uint64_t warm = iters / 10 > 100000 ? 100000 : iters / 10 + 1;

	b->fn(bs, warm);
#ifdef MMT_HAVE_CALLGRIND_H
	CALLGRIND_ZERO_STATS;
	CALLGRIND_TOGGLE_COLLECT;
	b->fn(bs, iters);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT(name);
#else
	(void)name;
	b->fn(bs, iters);
#endif
}

/* Pin the thread to the real CPU it runs on: less noise.  Best effort. */
static bool pin_to_current_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return false;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/* A 1-CPU machine with the thread on CPU 0; NULL after a message. */
static struct mmt_machine *bench_machine_up(const struct mmt_config *cfg,
					    struct mmt_task **task)
{
	struct mmt_machine *m;
	char err[256];

	m = mmt_machine_create(cfg, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "%s bench: cannot build the machine: %s\n",
			CLI_PROG, err);
		return NULL;
	}
	*task = mmt_task_create(m, "bench", 0);
	if (!*task || !mmt_cpu_attach(m, 0, *task)) {
		fprintf(stderr, "%s bench: cannot attach to cpu 0\n", CLI_PROG);
		mmt_machine_destroy(m);
		return NULL;
	}
	return m;
}

/* Tear down; a violation during a benchmark makes the run fail. */
static int bench_machine_down(struct mmt_machine *m, struct mmt_task *task,
			      json_t *root)
{
	int ret = CLI_EXIT_OK;

	if (mmt_violation_count(m)) {
		unsigned long v;

		json_object_set_new(
			root, "violations",
			json_integer((json_int_t)mmt_violation_count(m)));
		for (v = 0; mmt_violation_get(m, v); v++)
			mmt_violation_print(mmt_violation_get(m, v), stderr);
		ret = CLI_EXIT_FAIL;
	}
	mmt_cpu_detach();
	mmt_task_destroy(task);
	mmt_machine_destroy(m);
	return ret;
}

static json_t *bench_root(const char *name, const struct mmt_config *cfg,
			  bool pinned, uint64_t iters)
{
	json_t *root = json_object();

	json_object_set_new(root, "benchmark", json_string(name));
	json_object_set_new(root, "build",
			    json_pack("{s:i, s:i, s:s, s:s, s:s, s:b}", "debug",
				      MMT_DEBUG, "stats", MMT_STATS, "compiler",
				      __VERSION__, "compiler_id",
				      cli_compiler_id(), "sanitizer",
				      cli_sanitizer(), "ndebug",
#ifdef NDEBUG
				      1
#else
				      0
#endif
				      ));
	json_object_set_new(
		root, "machine",
		json_pack("{s:i, s:i, s:I, s:I, s:b, s:b, s:b}", "nodes",
			  cfg->nr_nodes, "cpus", cfg->nr_cpus, "normal_pages",
			  (json_int_t)cfg->normal_pages, "dma32_pages",
			  (json_int_t)cfg->dma32_pages, "page_poison",
			  (int)cfg->page_poison, "lockdep", (int)cfg->lockdep,
			  "pinned", (int)pinned));
	json_object_set_new(root, "iters", json_integer((json_int_t)iters));
	json_object_set_new(root, "reps", json_integer(BENCH_REPS));
	return root;
}

/* Measure @b; the result's name is @prefix_name when @prefix is set. */
static json_t *bench_result(const struct bench *b, struct bench_state *bs,
			    uint64_t iters, const char *prefix)
{
	double reps[BENCH_REPS], best;
	char name[96];
	json_t *res, *ra;
	int r;

	snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "",
		 prefix ? "_" : "", b->name);
	if (cg_child) {
		count_instructions(b, bs, iters, name);
		return json_pack("{s:s}", "name", name);
	}
	best = measure(b, bs, iters, reps);
	res = json_pack("{s:s, s:s, s:f}", "name", name, "what", b->what,
			"ns_per_op", best);
	ra = json_array();
	for (r = 0; r < BENCH_REPS; r++)
		json_array_append_new(ra, json_real(reps[r]));
	json_object_set_new(res, "reps_ns_per_op", ra);
	return res;
}

/* JSON on stdout, or into @json_out with a table on stdout. */
static int bench_emit(json_t *root, const char *json_out, uint64_t iters,
		      int ret)
{
	json_t *results = json_object_get(root, "results");
	size_t i;

	if (json_out && strcmp(json_out, "-")) {
		if (json_dump_file(root, json_out, CLI_JSON_FLAGS)) {
			fprintf(stderr, "%s bench: cannot write %s\n", CLI_PROG,
				json_out);
			ret = CLI_EXIT_FAIL;
		}
		printf("%-36s %10s %10s %9s %9s   (best of %d x %" PRIu64
		       " iterations)\n",
		       "benchmark", "ns/op", "instr/op", "ns/glibc", "in/glibc",
		       BENCH_REPS, iters);
		for (i = 0; i < json_array_size(results); i++) {
			json_t *res = json_array_get(results, i);
			json_t *in =
				json_object_get(res, "instructions_per_op");
			json_t *vs = json_object_get(res, "vs_glibc");
			json_t *nr = json_object_get(vs, "ns_ratio");
			json_t *ir = json_object_get(vs, "instructions_ratio");
			char ins[32] = "-", nrs[32] = "-", irs[32] = "-";

			if (in)
				snprintf(ins, sizeof(ins), "%.1f",
					 json_real_value(in));
			if (nr)
				snprintf(nrs, sizeof(nrs), "%.2fx",
					 json_real_value(nr));
			if (ir)
				snprintf(irs, sizeof(irs), "%.2fx",
					 json_real_value(ir));
			printf("%-36s %10.2f %10s %9s %9s\n",
			       json_string_value(json_object_get(res, "name")),
			       json_real_value(
				       json_object_get(res, "ns_per_op")),
			       ins, nrs, irs);
		}
		if (!ret)
			printf("JSON written to %s\n", json_out);
	} else {
		json_dumpf(root, stdout, CLI_JSON_FLAGS);
		fputc('\n', stdout);
	}
	json_decref(root);
	return ret;
}

/* ---- instruction counts (--instructions) ---- */

/* The case name and the instruction count of one callgrind dump. */
static bool read_dump(const char *path, char *name, size_t len, uint64_t *ir)
{
	static const char trig[] = "desc: Trigger: Client Request: ";
	FILE *f = fopen(path, "r");
	bool have_name = false, have_ir = false;
	char line[512];

	if (!f)
		return false;
	while (!(have_name && have_ir) && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, trig, sizeof(trig) - 1)) {
			const char *v = line + sizeof(trig) - 1;
			size_t k = strcspn(v, "\n");

			if (k >= len)
				k = len - 1;
			memcpy(name, v, k);
			name[k] = '\0';
			have_name = true;
		} else if (!strncmp(line, "summary: ", 9)) {
			*ir = strtoull(line + 9, NULL, 10);
			have_ir = true;
		}
	}
	fclose(f);
	return have_name && have_ir;
}

/* Remove the dumps of an earlier run from @dir (names cg.out*). */
static void remove_dumps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[2 * PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "cg.out", 6)) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/*
 * Run `valgrind --tool=callgrind ... <this executable> bench @bench --iters
 * @iters --instructions-child` with its dumps in @dir; 0 when it ran clean.
 */
static int run_callgrind(const char *bench, const struct bench_opts *o,
			 uint64_t iters, const char *dir)
{
	char self[PATH_MAX], out_opt[PATH_MAX + 32], log_opt[PATH_MAX + 32];
	char iters_s[32];
	const char *argv[16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int a = 0, status;
	pid_t pid;

	if (n <= 0) {
		fprintf(stderr,
			"%s bench: --instructions: cannot find this executable (/proc/self/exe): %s\n",
			CLI_PROG, strerror(errno));
		return -1;
	}
	self[n] = '\0';
	snprintf(out_opt, sizeof(out_opt), "--callgrind-out-file=%s/cg.out",
		 dir);
	snprintf(log_opt, sizeof(log_opt), "--log-file=%s/valgrind.log", dir);
	snprintf(iters_s, sizeof(iters_s), "%" PRIu64, iters);
	argv[a++] = "valgrind";
	argv[a++] = "--tool=callgrind";
	argv[a++] = "--collect-atstart=no";
	argv[a++] = out_opt;
	argv[a++] = log_opt;
	argv[a++] = self;
	argv[a++] = "bench";
	argv[a++] = bench;
	argv[a++] = "--iters";
	argv[a++] = iters_s;
	argv[a++] = "--instructions-child";
	if (o->lockdep)
		argv[a++] = "--lockdep";
	argv[a] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s bench: --instructions: fork: %s\n",
			CLI_PROG, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		/*
		 * callgrind counts a `rep stos`/`rep movs` once per byte: a
		 * calloc of a page array would count as thousands of
		 * instructions.  glibc's vector loops instead, unless the
		 * caller chose otherwise.
		 */
		setenv("GLIBC_TUNABLES",
		       "glibc.cpu.x86_rep_stosb_threshold=0xffffffffffff:"
		       "glibc.cpu.x86_rep_movsb_threshold=0xffffffffffff",
		       0);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr,
			"%s bench: --instructions: cannot run valgrind: %s (Debian package valgrind)\n",
			CLI_PROG, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 127)
			fprintf(stderr,
				"%s bench: --instructions: the callgrind run failed (see %s/valgrind.log)\n",
				CLI_PROG, dir);
		return -1;
	}
	return 0;
}

/*
 * Count the instructions of every case of @root's results under callgrind
 * (at most @cap iterations) and add "instructions_per_op" to each.
 */
static int bench_add_instructions(json_t *root, const char *bench,
				  const struct bench_opts *o, uint64_t iters,
				  uint64_t cap)
{
	json_t *results = json_object_get(root, "results");
	char tmp[PATH_MAX], path[2 * PATH_MAX], name[128];
	const char *dir;
	size_t found = 0, i;
	struct dirent *e;
	uint64_t ir = 0;
	DIR *d;

	if (iters > cap)
		iters = cap;
	if (o->cg_out) {
		if (mkdir(o->cg_out, 0777) && errno != EEXIST) {
			fprintf(stderr, "%s bench: --callgrind-out %s: %s\n",
				CLI_PROG, o->cg_out, strerror(errno));
			return -1;
		}
		dir = o->cg_out;
		remove_dumps(dir);
	} else {
		snprintf(tmp, sizeof(tmp), "%s/mmt-bench-cg-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmp)) {
			fprintf(stderr,
				"%s bench: --instructions: cannot make a directory %s: %s\n",
				CLI_PROG, tmp, strerror(errno));
			return -1;
		}
		dir = tmp;
	}
	if (run_callgrind(bench, o, iters, dir))
		return -1; /* the directory stays, with valgrind's log */
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "cg.out.", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!read_dump(path, name, sizeof(name), &ir))
			continue;
		for (i = 0; i < json_array_size(results); i++) {
			json_t *res = json_array_get(results, i);

			if (strcmp(json_string_value(
					   json_object_get(res, "name")),
				   name))
				continue;
			json_object_set_new(
				res, "instructions_per_op",
				json_real((double)ir / (double)iters));
			found++;
		}
	}
	if (d)
		closedir(d);
	if (!o->cg_out) {
		remove_dumps(dir);
		snprintf(path, sizeof(path), "%s/valgrind.log", dir);
		unlink(path);
		rmdir(dir);
	}
	if (found != json_array_size(results)) {
		fprintf(stderr,
			"%s bench: --instructions: callgrind counted %zu of the %zu cases\n",
			CLI_PROG, found, json_array_size(results));
		return -1;
	}
	json_object_set_new(
		root, "instructions",
		json_pack("{s:s, s:I, s:s}", "tool",
			  "valgrind --tool=callgrind", "iters",
			  (json_int_t)iters, "counted",
			  "one repetition of the loop after a warm-up"));
	return 0;
}

static json_t *bench_row(json_t *results, const char *name)
{
	size_t i;

	for (i = 0; i < json_array_size(results); i++)
		if (!strcmp(json_string_value(json_object_get(
				    json_array_get(results, i), "name")),
			    name))
			return json_array_get(results, i);
	return NULL;
}

/*
 * Beside each row, its ratio to the glibc row @glibc (ns and, when
 * counted, instructions); a batch row (its name holds "batch64") is
 * compared with glibc's batch row when there is one.  Rows named malloc*
 * and glibc_* are glibc's own.
 */
static void bench_vs_glibc(json_t *root, const char *glibc)
{
	json_t *results = json_object_get(root, "results");
	json_t *single = bench_row(results, glibc);
	json_t *batch = bench_row(results, "glibc_malloc64_batch64");
	size_t i;

	if (!single)
		return;
	for (i = 0; i < json_array_size(results); i++) {
		json_t *res = json_array_get(results, i), *vs, *g;
		json_t *in = json_object_get(res, "instructions_per_op");
		const char *name =
			json_string_value(json_object_get(res, "name"));
		double gns, gin = 0;

		if (!strncmp(name, "malloc", 6) || !strncmp(name, "glibc_", 6))
			continue;
		g = strstr(name, "batch64") && batch ? batch : single;
		gns = json_real_value(json_object_get(g, "ns_per_op"));
		if (json_object_get(g, "instructions_per_op"))
			gin = json_real_value(
				json_object_get(g, "instructions_per_op"));
		vs = json_pack("{s:s}", "baseline",
			       json_string_value(json_object_get(g, "name")));
		if (gns > 0)
			json_object_set_new(
				vs, "ns_ratio",
				json_real(json_real_value(json_object_get(
						  res, "ns_per_op")) /
					  gns));
		if (in && gin > 0)
			json_object_set_new(
				vs, "instructions_ratio",
				json_real(json_real_value(in) / gin));
		json_object_set_new(res, "vs_glibc", vs);
	}
}

/*
 * The end of pages, slab and trace: the callgrind run only counted (its
 * output is not read); the timed run adds the counts and the glibc ratios
 * and emits.
 */
static int bench_finish(json_t *root, const char *bench,
			const struct bench_opts *o, uint64_t iters,
			uint64_t cg_cap, const char *glibc, int ret)
{
	if (cg_child) {
		json_decref(root);
		return ret;
	}
	if (o->instructions &&
	    bench_add_instructions(root, bench, o, iters, cg_cap))
		ret = CLI_EXIT_FAIL;
	if (glibc)
		bench_vs_glibc(root, glibc);
	return bench_emit(root, o->json_out, iters, ret);
}

static void bench_config(struct mmt_config *cfg, bool lockdep)
{
	mmt_config_default(cfg);
	cfg->nr_nodes = 1;
	cfg->nr_cpus = 1;
	cfg->page_poison = false;
	cfg->lockdep = lockdep;
}

static int bench_pages(const struct bench_opts *o)
{
	uint64_t iters = o->iters;
	struct mmt_config cfg;
	struct bench_state bs = { 0 };
	struct mmt_task *task;
	json_t *root, *results;
	bool pinned;
	size_t i;

	bench_config(&cfg, o->lockdep);
	bs.m = bench_machine_up(&cfg, &task);
	if (!bs.m)
		return CLI_EXIT_FAIL;
	pinned = pin_to_current_cpu();
	root = bench_root("pages", &cfg, pinned, iters);
	results = json_array();
	json_object_set_new(root, "results", results);

	for (i = 0; i < MMT_ARRAY_SIZE(pages_benches); i++) {
		const struct bench *b = &pages_benches[i];
		unsigned long fail_ev = 0;
		json_t *res;

		if (b->fn == bench_pcp_fast_try || b->fn == bench_pcp_nolock) {
			/* Pre-fill this CPU's list: one refill brings a batch. */
			mmt_free_pages(mmt_alloc_pages(GFP_KERNEL, 0), 0);
			fail_ev = mmt_vm_event(bs.m, MMT_VM_FAST_TRY_FAIL);
			bs.fast_try_failures = 0;
		}
		res = bench_result(b, &bs, iters, NULL);
		if (b->fn == bench_pcp_fast_try || b->fn == bench_pcp_nolock) {
			unsigned long ev =
				mmt_vm_event(bs.m, MMT_VM_FAST_TRY_FAIL) -
				fail_ev;

			json_object_set_new(
				res, "fast_try_failures",
				json_integer((json_int_t)bs.fast_try_failures));
			json_object_set_new(res, "fast_try_fail_events",
					    json_integer((json_int_t)ev));
			if (bs.fast_try_failures || ev) {
				json_object_set_new(
					res, "note",
					json_string(
						"allocations failed: the timing includes failed attempts"));
				fprintf(stderr,
					"%s bench: warning: %" PRIu64
					" %s allocation(s) failed\n",
					CLI_PROG, bs.fast_try_failures,
					b->name);
			}
		}
		json_array_append_new(results, res);
	}
	return bench_finish(root, "pages", o, iters, BENCH_CG_MAX_ITERS,
			    "malloc_free_4k",
			    bench_machine_down(bs.m, task, root));
}

static int bench_slab(const struct bench_opts *o)
{
	uint64_t iters = o->iters;
	static const char *const impl_names[MMT_NR_SLAB_IMPLS] = { "slub",
								   "slab",
								   "sheaves" };
	struct mmt_config cfg;
	struct bench_state bs = { 0 };
	json_t *root, *results;
	int ret = CLI_EXIT_OK, impl;
	bool pinned = pin_to_current_cpu();
	size_t i;

	bench_config(&cfg, o->lockdep);
	root = bench_root("slab", &cfg, pinned, iters);
	results = json_array();
	json_object_set_new(root, "results", results);
	for (impl = 0; impl < MMT_NR_SLAB_IMPLS; impl++) {
		struct mmt_task *task;

		cfg.slab = (enum mmt_slab_impl)impl;
		bs.m = bench_machine_up(&cfg, &task);
		if (!bs.m) {
			json_decref(root);
			return CLI_EXIT_FAIL;
		}
		bs.cache = mmt_kmem_cache_create("bench-64", 64, 0, 0, NULL);
		for (i = 0; i < MMT_ARRAY_SIZE(slab_benches); i++)
			json_array_append_new(
				results, bench_result(&slab_benches[i], &bs,
						      iters, impl_names[impl]));
		mmt_kmem_cache_destroy(bs.cache);
		if (bench_machine_down(bs.m, task, root))
			ret = CLI_EXIT_FAIL;
	}
	json_array_append_new(results,
			      bench_result(&malloc64_bench, &bs, iters, NULL));
	{
		/* glibc's batch row, as the model's: a direct call. */
		static const struct bench glibc_batch = {
			"malloc64_batch64",
			"64 x glibc malloc(64), then 64 free",
			bench_heap64_batch
		};
		static struct mmt_heap glibc_heap;

		glibc_heap.alloc = malloc;
		glibc_heap.free = free;
		bs.heap = &glibc_heap;
		json_array_append_new(results, bench_result(&glibc_batch, &bs,
							    iters, "glibc"));
	}
	for (impl = 0; impl < (int)MMT_ARRAY_SIZE(real_heaps); impl++) {
		struct mmt_heap h;
		char err[512];
		bool unknown;

		if (!mmt_heap_open(real_heaps[impl], &h, &unknown, err,
				   sizeof(err))) {
			/* Not installed: said, not fatal (scripts/install-deps) */
			if (!cg_child)
				fprintf(stderr, "%s bench: no %s row: %s\n",
					CLI_PROG, real_heaps[impl], err);
			continue;
		}
		bs.heap = &h;
		for (i = 0; i < MMT_ARRAY_SIZE(heap_benches); i++)
			json_array_append_new(
				results, bench_result(&heap_benches[i], &bs,
						      iters, real_heaps[impl]));
	}
	return bench_finish(root, "slab", o, iters, BENCH_CG_MAX_ITERS,
			    "malloc_free_64", ret);
}

static int bench_mempool_run(const struct bench_opts *o)
{
	uint64_t iters = o->iters;
	struct mmt_config cfg;
	struct bench_state bs = { 0 };
	struct mmt_task *task;
	json_t *root, *results;
	bool pinned = pin_to_current_cpu();
	int ret;
	struct mmt_page *hog[4096];
	unsigned int nhog = 0, i;

	bench_config(&cfg, o->lockdep);
	bs.m = bench_machine_up(&cfg, &task);
	if (!bs.m)
		return CLI_EXIT_FAIL;
	root = bench_root("mempool", &cfg, pinned, iters);
	results = json_array();
	json_object_set_new(root, "results", results);
	bs.pool = mmt_mempool_create_kmalloc_pool("bench-pool", 16, 64);
	if (!bs.pool) {
		json_decref(root);
		bench_machine_down(bs.m, task, NULL);
		return CLI_EXIT_FAIL;
	}
	json_array_append_new(results, bench_result(&mempool_benches[0], &bs,
						    iters, NULL));
	/*
	 * Exhaust the zones (and the slab's partial slabs: a fresh kmalloc
	 * needs a new slab), so that GFP_NOWAIT allocations fail and the
	 * pool's reserve serves each request.
	 */
	{
		void *objs[1024];
		unsigned int no = 0;

		while (nhog < MMT_ARRAY_SIZE(hog) &&
		       (hog[nhog] =
				mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0)))
			nhog++;
		while (no < MMT_ARRAY_SIZE(objs) &&
		       (objs[no] = mmt_kmalloc(64, GFP_NOWAIT | __GFP_NOWARN)))
			no++;
		json_array_append_new(results, bench_result(&mempool_benches[1],
							    &bs, iters, NULL));
		while (no)
			mmt_kfree(objs[--no]);
	}
	for (i = 0; i < nhog; i++)
		mmt_free_pages(hog[i], 0);
	if (bs.not_ok) {
		fprintf(stderr,
			"%s bench: %" PRIu64 " mempool allocation(s) failed\n",
			CLI_PROG, bs.not_ok);
		json_object_set_new(root, "failed",
				    json_integer((json_int_t)bs.not_ok));
	}
	mmt_mempool_destroy(bs.pool);
	ret = bench_machine_down(bs.m, task, root);
	if (bs.not_ok)
		ret = CLI_EXIT_FAIL;
	return bench_finish(root, "mempool", o, iters, BENCH_CG_MAX_ITERS, NULL,
			    ret);
}

/* Append @code with the arguments in the table's order. */
static void trace_op(struct mmt_program *p, enum mmt_opcode code, uint32_t a0,
		     uint32_t a1, uint32_t a2)
{
	struct mmt_op o;

	memset(&o, 0, sizeof(o));
	o.code = (uint16_t)code;
	o.arg[0] = a0;
	o.arg[1] = a1;
	o.arg[2] = a2;
	mmt_program_append(p, &o);
}

/*
 * The 64 operations: a cache, then seven rounds of what a fuzzed program
 * does most (every handle of round i has serial i).  Teardown frees what
 * the rounds leave.
 */
static void trace_program_64(struct mmt_program *p)
{
	uint32_t i;

	mmt_program_init(p);
	trace_op(p, MMT_OP_CACHE_CREATE, 128, 0, 0);
	for (i = 0; i < 7; i++) {
		trace_op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, i % 4, 0);
		trace_op(p, MMT_OP_KMALLOC, 64u << (i % 5), GFP_KERNEL, 0);
		trace_op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL, 0);
		trace_op(p, MMT_OP_KREALLOC, i, 128u << (i % 5), GFP_KERNEL);
		trace_op(p, MMT_OP_CACHE_FREE, i, 0, 0);
		trace_op(p, MMT_OP_KVFREE_RCU, i, 0, 0);
		trace_op(p, MMT_OP_FREE_PAGES, i, 0, 0);
		trace_op(p, MMT_OP_ALLOC_PAGES_BULK, GFP_KERNEL, 4, 0);
		trace_op(p, MMT_OP_FREE_PAGES_BULK, i, 0, 0);
	}
}

static int bench_trace(const struct bench_opts *o, uint64_t iters)
{
	/* 1 MiB ... 4 GiB of Normal memory: the cost must stay flat. */
	static const unsigned long sizes[] = { 256, 4096, 65536, 1048576 };
	static const unsigned long touched[] = { 16, 256, 4096 };
	struct mmt_program empty, ops64;
	struct bench_state bs = { 0 };
	json_t *root, *results, *res;
	bool pinned = pin_to_current_cpu();
	char prefix[32];
	int level, ret = CLI_EXIT_OK;
	size_t i;

	mmt_program_init(&empty);
	trace_program_64(&ops64);
	mmt_trace_header_config(&empty.hdr, &bs.cfg);
	root = bench_root("trace", &bs.cfg, pinned, iters);
	results = json_array();
	json_object_set_new(root, "results", results);
	mmt_exec_opts_default(&bs.opts);
	for (level = 0; level <= 1; level++) {
		bs.opts.oracle_level = level;
		snprintf(prefix, sizeof(prefix), "level%d", level);
		bs.prog = &empty;
		json_array_append_new(results,
				      bench_result(&trace_benches[0], &bs,
						   iters, prefix));
		bs.prog = &ops64;
		json_array_append_new(results,
				      bench_result(&trace_benches[1], &bs,
						   iters, prefix));
	}
	for (i = 0; i < MMT_ARRAY_SIZE(sizes); i++) {
		bs.cfg.normal_pages = sizes[i];
		snprintf(prefix, sizeof(prefix), "normal%lu", sizes[i]);
		res = bench_result(&trace_benches[2], &bs, iters, prefix);
		json_object_set_new(res, "normal_pages",
				    json_integer((json_int_t)sizes[i]));
		json_array_append_new(results, res);
	}
	/* Reset cost: what an execution touched, on a 1 GiB machine. */
	for (i = 0; i < MMT_ARRAY_SIZE(touched); i++) {
		struct mmt_program tp;
		unsigned long k;
		struct mmt_op op;

		mmt_program_init(&tp);
		tp.hdr.normal_pages = 262144;
		memset(&op, 0, sizeof(op));
		op.code = MMT_OP_ALLOC_PAGES;
		op.arg[0] = GFP_KERNEL;
		for (k = 0; k < touched[i]; k++)
			mmt_program_append(&tp, &op);
		bs.prog = &tp;
		bs.opts.oracle_level = 0;
		snprintf(prefix, sizeof(prefix), "pages%lu", touched[i]);
		res = bench_result(&trace_benches[3], &bs,
				   iters > 200 ? 200 : iters, prefix);
		json_object_set_new(res, "pages_touched",
				    json_integer((json_int_t)touched[i]));
		json_array_append_new(results, res);
		mmt_program_free(&tp);
	}
	if (bs.not_ok) {
		fprintf(stderr,
			"%s bench: %" PRIu64
			" execution(s) or machine(s) did not end clean\n",
			CLI_PROG, bs.not_ok);
		json_object_set_new(root, "not_ok",
				    json_integer((json_int_t)bs.not_ok));
		ret = CLI_EXIT_FAIL;
	}
	mmt_program_free(&empty);
	mmt_program_free(&ops64);
	return bench_finish(root, "trace", o, iters, BENCH_TRACE_DEFAULT_ITERS,
			    NULL, ret);
}

/* ---- bench sched ---- */

static struct mmt_fiber sched_host, sched_fiber;
static ucontext_t uc_host, uc_fiber;

static __attribute__((noreturn)) void pong_fiber(void *arg)
{
	(void)arg;
	for (;;)
		mmt_fiber_switch(&sched_fiber, &sched_host);
}

static void bench_fiber_pair(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++)
		mmt_fiber_switch(&sched_host, &sched_fiber);
}

static void pong_ucontext(void)
{
	for (;;)
		swapcontext(&uc_fiber, &uc_host);
}

static void bench_ucontext_pair(struct bench_state *bs, uint64_t iters)
{
	uint64_t i;

	(void)bs;
	for (i = 0; i < iters; i++)
		swapcontext(&uc_host, &uc_fiber);
}

static void resched_loop(void *arg)
{
	uint64_t i, n = *(uint64_t *)arg;

	for (i = 0; i < n; i++)
		mmt_cond_resched();
}

/* Two tasks, each @iters / 2 points: every point yields to the other. */
static void bench_dsched_points(struct bench_state *bs, uint64_t iters)
{
	struct mmt_dsched *ds;
	uint64_t half = iters / 2 + 1;
	char err[160];
	int c;

	ds = mmt_dsched_create(bs->m, mmt_sched_source_round_robin(), err,
			       sizeof(err));
	if (!ds) {
		bs->not_ok++;
		return;
	}
	for (c = 0; c < 2; c++)
		mmt_dsched_add_task(ds, c, mmt_task_create(bs->m, "bench", 0),
				    resched_loop, &half);
	if (mmt_dsched_run(ds) != MMT_DSCHED_DONE ||
	    mmt_dsched_points(ds) != 2 * half)
		bs->not_ok++;
	mmt_dsched_destroy(ds);
}

static const struct bench sched_benches[] = {
	{ "fiber_switch_round_trip",
	  "mmt_fiber_switch() to a fiber and back (two switches)",
	  bench_fiber_pair },
	{ "swapcontext_round_trip",
	  "glibc swapcontext() to a context and back (two switches)",
	  bench_ucontext_pair },
	{ "dsched_point_switch",
	  "a scheduling point of two CPU tasks under the scheduler, each a "
	  "switch to the other",
	  bench_dsched_points },
};

static int bench_sched(uint64_t iters, const char *json_out)
{
	static char uc_stack[256 * 1024];
	struct bench_state bs = { 0 };
	struct mmt_config cfg;
	json_t *root, *results, *res;
	bool pinned = pin_to_current_cpu();
	char err[256];
	size_t i;
	int ret = CLI_EXIT_OK;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.page_poison = false;
	cfg.lockdep = false;
	root = bench_root("sched", &cfg, pinned, iters);
	json_object_set_new(root, "fiber_backend",
			    json_string(mmt_fiber_backend()));
	results = json_array();
	json_object_set_new(root, "results", results);
	mmt_fiber_init_host(&sched_host);
	if (mmt_fiber_create(&sched_fiber, pong_fiber, NULL) ||
	    getcontext(&uc_fiber)) {
		fprintf(stderr, "%s bench: cannot make a fiber\n", CLI_PROG);
		json_decref(root);
		return CLI_EXIT_FAIL;
	}
	uc_fiber.uc_stack.ss_sp = uc_stack;
	uc_fiber.uc_stack.ss_size = sizeof(uc_stack);
	uc_fiber.uc_link = NULL;
	makecontext(&uc_fiber, pong_ucontext, 0);
	bs.m = mmt_machine_create(&cfg, err, sizeof(err));
	if (!bs.m) {
		fprintf(stderr, "%s bench: cannot build the machine: %s\n",
			CLI_PROG, err);
		json_decref(root);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < MMT_ARRAY_SIZE(sched_benches); i++) {
		res = bench_result(&sched_benches[i], &bs, iters, NULL);
		if (i < 2)
			json_object_set_new(
				res, "ns_per_switch",
				json_real(json_real_value(json_object_get(
						  res, "ns_per_op")) /
					  2));
		json_array_append_new(results, res);
	}
	if (bs.not_ok || mmt_violation_count(bs.m)) {
		fprintf(stderr, "%s bench: a scheduler run did not end clean\n",
			CLI_PROG);
		ret = CLI_EXIT_FAIL;
	}
	/* The fiber never ends: it is parked in its loop; free its stack. */
	mmt_fiber_destroy(&sched_fiber);
	mmt_machine_destroy(bs.m);
	return bench_emit(root, json_out, iters, ret);
}

/* ---- the command ---- */

static const char *const bench_names[] = { "pages", "slab", "mempool", "trace",
					   "sched" };

/* ---- bench speed: every speed benchmark, one run, one report ---- */

/*
 * Each part runs as this executable (`bench NAME --json-out FILE`, in a
 * child process: one part's crash or pinning cannot change another's
 * figures), one after the other on the same host; then one JSON with
 * every part and a Markdown table (docs/BENCHMARKS.md).  --quick: few
 * iterations, for CI (the figures then only prove the benchmarks run).
 */
static const struct speed_part {
	const char *name;
	uint64_t iters, quick_iters; /* 0: the part's own default */
} speed_parts[] = {
	{ "pages", 0, 20000 },
	{ "slab", 0, 20000 },
	{ "mempool", 0, 20000 },
	{ "trace", 0, 30 },
	{ "sched", 0, 20000 },
	{ "scaling", 0, 0 }, /* bench scaling: options of its own */
};

static int speed_run_part(const char *self, const struct speed_part *sp,
			  bool quick, bool instructions, const char *out)
{
	char iters[32];
	char *argv[12];
	int n = 0, status;
	pid_t pid;

	argv[n++] = (char *)self;
	argv[n++] = "bench";
	argv[n++] = (char *)sp->name;
	if (!strcmp(sp->name, "scaling")) {
		argv[n++] = "--json";
		argv[n++] = (char *)out;
		if (quick) {
			/* one workload, 0.5 s a cell: 18 cells */
			argv[n++] = "--quick";
			argv[n++] = "--workloads";
			argv[n++] = "larson";
		}
	} else {
		argv[n++] = "--json-out";
		argv[n++] = (char *)out;
	}
	if (strcmp(sp->name, "scaling") && (quick || sp->iters)) {
		snprintf(iters, sizeof(iters), "%" PRIu64,
			 quick ? sp->quick_iters : sp->iters);
		argv[n++] = "--iters";
		argv[n++] = iters;
	}
	if (instructions && strcmp(sp->name, "sched") &&
	    strcmp(sp->name, "scaling"))
		argv[n++] = "--instructions";
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* the part's table goes to stderr: stdout is the report's */
		dup2(2, 1);
		execv(self, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The scaling part's cells: ops/s per workload, threads and heap. */
static void speed_md_scaling(FILE *md, json_t *cells)
{
	json_t *c;
	size_t i;

	fprintf(md,
		"\n| workload | threads | heap | ops/s | p99 alloc ns | p99 free ns | findings |\n"
		"|---|---|---|---|---|---|---|\n");
	json_array_foreach(cells, i, c) fprintf(
		md, "| %s | %lld | %s | %.0f | %lld | %lld | %lld |\n",
		json_string_value(json_object_get(c, "workload")),
		(long long)json_integer_value(json_object_get(c, "threads")),
		json_string_value(json_object_get(c, "heap")),
		json_number_value(json_object_get(c, "ops_per_s")),
		(long long)json_integer_value(
			json_object_get(c, "p99_alloc_ns")),
		(long long)json_integer_value(
			json_object_get(c, "p99_free_ns")),
		(long long)json_integer_value(json_object_get(c, "findings")));
}

/* A row's cell: "ns (instr)" and the ratio to glibc where there is one. */
static void speed_md_rows(FILE *md, const char *part, json_t *results)
{
	json_t *res;
	size_t i;

	json_array_foreach(results, i, res)
	{
		json_t *in = json_object_get(res, "instructions_per_op");
		json_t *vs = json_object_get(res, "vs_glibc");
		json_t *nr = json_object_get(vs, "ns_ratio");
		json_t *ir = json_object_get(vs, "instructions_ratio");

		fprintf(md, "| %s | %s | %.1f |", part,
			json_string_value(json_object_get(res, "name")),
			json_real_value(json_object_get(res, "ns_per_op")));
		if (in)
			fprintf(md, " %.0f |", json_real_value(in));
		else
			fprintf(md, " - |");
		if (nr)
			fprintf(md, " %.2fx", json_real_value(nr));
		else
			fprintf(md, " -");
		if (ir)
			fprintf(md, " (%.2fx instr)", json_real_value(ir));
		fprintf(md, " |\n");
	}
}

static int bench_speed(int argc, char **argv)
{
	enum {
		S_QUICK = 1,
		S_INSTR,
		S_JSON,
		S_MD,
		S_HELP
	};
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, S_QUICK },
		{ "instructions", no_argument, NULL, S_INSTR },
		{ "json-out", required_argument, NULL, S_JSON },
		{ "md-out", required_argument, NULL, S_MD },
		{ "help", no_argument, NULL, S_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_out = NULL, *md_out = NULL;
	bool quick = false, instructions = false;
	char self[PATH_MAX], dir[] = "/tmp/mmt-bench-speed-XXXXXX";
	json_t *root, *parts;
	ssize_t len;
	size_t i;
	int c, ret = CLI_EXIT_OK;
	FILE *md = NULL;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case S_QUICK:
			quick = true;
			break;
		case S_INSTR:
#ifndef MMT_HAVE_CALLGRIND_H
			return cli_usage_error(
				"bench speed",
				"--instructions: this build has no <valgrind/callgrind.h>");
#endif
			instructions = true;
			break;
		case S_JSON:
			json_out = optarg;
			break;
		case S_MD:
			md_out = optarg;
			break;
		case 'h':
		case S_HELP:
			printf("Usage: %s bench speed [--quick] [--instructions] [--json-out F] [--md-out F]\n"
			       "\n"
			       "Every speed benchmark of the model, one after the other in this run,\n"
			       "each in a child process: pages (pcp, FAST_TRY, nolock, batch; glibc),\n"
			       "slab (kmem_cache and kmalloc(64), single and batches of 64, on SLUB, SLAB\n"
			       "and sheaves; glibc, jemalloc and mimalloc on the same patterns), mempool\n"
			       "(allocator-served and reserve-served), trace (an execution, a machine of\n"
			       "1 MiB to 4 GiB created and destroyed, an execution touching 16 to 4096\n"
			       "pages), sched (the fiber switch) and scaling (the object workloads at\n"
			       "1, 2, 4 and 8 threads on the model and the real allocators; --quick: larson\n"
			       "only).  One JSON, and a Markdown table with --md-out\n"
			       "(docs/BENCHMARKS.md).  Fuzzing speed is `bench fuzz`.\n"
			       "\n"
			       "  --quick         few iterations (CI: proves the benchmarks run)\n"
			       "  --instructions  also count instructions under callgrind\n"
			       "                  (pages, slab, mempool, trace)\n"
			       "  --json-out F    the JSON there (else on stdout)\n"
			       "  --md-out F      the Markdown table there\n",
			       CLI_PROG);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("bench speed", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("bench speed",
				       "unexpected argument '%s'",
				       argv[optind]);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0 || !mkdtemp(dir)) {
		fprintf(stderr, "%s bench speed: cannot run: %s\n", CLI_PROG,
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	self[len] = '\0';
	if (md_out && !(md = fopen(md_out, "w"))) {
		fprintf(stderr, "%s bench speed: cannot write %s: %s\n",
			CLI_PROG, md_out, strerror(errno));
		rmdir(dir);
		return CLI_EXIT_FAIL;
	}
	parts = json_object();
	if (md)
		fprintf(md,
			"| part | benchmark | ns/op | instr/op | vs glibc |\n"
			"|---|---|---|---|---|\n");
	for (i = 0; i < MMT_ARRAY_SIZE(speed_parts); i++) {
		char out[sizeof(dir) + 32];
		json_error_t jerr;
		json_t *part;
		int rc;

		snprintf(out, sizeof(out), "%s/%s.json", dir,
			 speed_parts[i].name);
		fprintf(stderr, "%s bench speed: %s\n", CLI_PROG,
			speed_parts[i].name);
		rc = speed_run_part(self, &speed_parts[i], quick, instructions,
				    out);
		part = json_load_file(out, 0, &jerr);
		unlink(out);
		if (rc || !part) {
			fprintf(stderr,
				"%s bench speed: %s failed (exit %d)%s%s\n",
				CLI_PROG, speed_parts[i].name, rc,
				part ? "" : ": no JSON: ",
				part ? "" : jerr.text);
			ret = CLI_EXIT_FAIL;
		}
		if (!part)
			continue;
		if (md && json_object_get(part, "results"))
			speed_md_rows(md, speed_parts[i].name,
				      json_object_get(part, "results"));
		else if (md)
			speed_md_scaling(md, json_object_get(part, "cells"));
		json_object_set_new(parts, speed_parts[i].name, part);
	}
	rmdir(dir);
	if (md)
		fclose(md);
	root = json_pack("{s:s, s:b, s:b, s:o}", "benchmark", "speed", "quick",
			 quick, "instructions", instructions, "parts", parts);
	/* Checked by itself: every part there, every row timed. */
	for (i = 0; i < MMT_ARRAY_SIZE(speed_parts); i++) {
		json_t *p = json_object_get(parts, speed_parts[i].name), *r;
		size_t k;

		if (p && json_array_size(json_object_get(p, "cells"))) {
			json_array_foreach(json_object_get(p, "cells"), k, r) if (
				!(json_number_value(json_object_get(
					  r, "ops_per_s")) > 0) ||
				json_integer_value(
					json_object_get(r, "findings")))
			{
				fprintf(stderr,
					"%s bench speed: scaling: a cell without ops or with a finding\n",
					CLI_PROG);
				ret = CLI_EXIT_FAIL;
			}
			continue;
		}
		if (!p || !json_array_size(json_object_get(p, "results"))) {
			fprintf(stderr, "%s bench speed: no %s results\n",
				CLI_PROG, speed_parts[i].name);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		json_array_foreach(
			json_object_get(p, "results"), k,
			r) if (!(json_real_value(json_object_get(r,
								 "ns_per_op")) >
				 0))
		{
			fprintf(stderr,
				"%s bench speed: %s: a row without a time\n",
				CLI_PROG, speed_parts[i].name);
			ret = CLI_EXIT_FAIL;
		}
	}
	if (json_out) {
		if (json_dump_file(root, json_out, CLI_JSON_FLAGS)) {
			fprintf(stderr, "%s bench speed: cannot write %s\n",
				CLI_PROG, json_out);
			ret = CLI_EXIT_FAIL;
		}
	} else {
		json_dumpf(root, stdout, CLI_JSON_FLAGS);
		fputc('\n', stdout);
	}
	json_decref(root);
	return ret;
}

enum {
	OPT_ITERS = 256,
	OPT_JSON_OUT,
	OPT_LOCKDEP,
	OPT_INSTRUCTIONS,
	OPT_INSTRUCTIONS_CHILD,
	OPT_CALLGRIND_OUT,
	OPT_HELP,
};

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, OPT_ITERS },
		{ "json-out", required_argument, NULL, OPT_JSON_OUT },
		{ "lockdep", no_argument, NULL, OPT_LOCKDEP },
		{ "instructions", no_argument, NULL, OPT_INSTRUCTIONS },
		{ "instructions-child", no_argument, NULL,
		  OPT_INSTRUCTIONS_CHILD },
		{ "callgrind-out", required_argument, NULL, OPT_CALLGRIND_OUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .iters = BENCH_DEFAULT_ITERS };
	const char *name;
	bool iters_given = false;
	int c;

	/* The fuzzing benchmarks have options of their own (tools/cmd_fuzz.c). */
	if (argc > 1 && !strcmp(argv[1], "bugs"))
		return cmd_bench_bugs(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "fuzz"))
		return cmd_bench_fuzz(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "speed"))
		return bench_speed(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "scaling"))
		return cmd_bench_scaling(argc - 1, argv + 1);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ITERS:
			if (!cli_parse_u64("bench", "--iters", optarg, 1,
					   BENCH_MAX_ITERS, &o.iters))
				return CLI_EXIT_USAGE;
			iters_given = true;
			break;
		case OPT_JSON_OUT:
			if (!*optarg)
				return cli_usage_error(
					"bench", "--json-out: empty file name");
			o.json_out = optarg;
			break;
		case OPT_LOCKDEP:
			o.lockdep = true;
			break;
		case OPT_INSTRUCTIONS:
#ifndef MMT_HAVE_CALLGRIND_H
			return cli_usage_error(
				"bench",
				"--instructions: this build has no <valgrind/callgrind.h> "
				"(install the Debian package valgrind and reconfigure)");
#endif
			o.instructions = true;
			break;
		case OPT_INSTRUCTIONS_CHILD:
			cg_child = true;
			break;
		case OPT_CALLGRIND_OUT:
			if (!*optarg)
				return cli_usage_error(
					"bench",
					"--callgrind-out: empty directory name");
			o.cg_out = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("bench", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(
			"bench",
			"which benchmark? (known: %s, %s, %s, %s, %s, speed, bugs, fuzz, scaling)",
			bench_names[0], bench_names[1], bench_names[2],
			bench_names[3], bench_names[4]);
	name = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error("bench", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (o.cg_out && !o.instructions)
		return cli_usage_error("bench",
				       "--callgrind-out needs --instructions");
	if (!strcmp(name, "pages"))
		return bench_pages(&o);
	if (!strcmp(name, "slab"))
		return bench_slab(&o);
	if (!strcmp(name, "mempool"))
		return bench_mempool_run(&o);
	if (!strcmp(name, "sched"))
		return bench_sched(o.iters, o.json_out);
	/* Executions, not operations: a smaller default. */
	if (!strcmp(name, "trace"))
		return bench_trace(&o, iters_given ? o.iters :
						     BENCH_TRACE_DEFAULT_ITERS);
	return cli_usage_error(
		"bench",
		"unknown benchmark '%s' (known: %s, %s, %s, %s, %s, speed, bugs, fuzz, scaling)",
		name, bench_names[0], bench_names[1], bench_names[2],
		bench_names[3], bench_names[4]);
}
