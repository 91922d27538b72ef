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
 * bench slab: for each slab implementation (SLUB, then SLAB) on its own
 * 1-CPU machine, kmem_cache_alloc + kmem_cache_free of a 64-byte cache and
 * kmalloc(64) + kfree, freed at once so the fast path serves them; then
 * glibc malloc(64) + free in the same process.
 * bench trace: the interpreter (mmt/exec.h) as the fuzzers call it, on the
 * default header's machine (1 node, 2 CPUs, 1024 + 64 pages): ns per
 * mmt_trace_execute() of the empty program and of a 64-operation program
 * (pages, kmalloc, a cache, krealloc, kvfree_rcu, bulk pages), each at
 * oracle level 0 and 1, and ns per machine create + destroy with 256, 2048
 * and 65536 Normal pages: what one execution costs besides its operations,
 * which must follow what the execution touched, not the memory's size.
 * bench sched: the deterministic scheduler's context switch (trace/fiber.h,
 * trace/dsched.h): ns per fiber round trip (two switches) with the
 * project's switch and with glibc swapcontext, and ns per scheduling point
 * of two CPU tasks under the scheduler, each point a switch (the fiber
 * switch plus the scheduler's choice and the model's thread-state save and
 * restore).
 * Each is warmed up, then timed (CLOCK_MONOTONIC) over 5 repetitions of N
 * iterations; the best repetition is the result.  JSON on stdout, or with
 * --json-out FILE in FILE and a table on stdout.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "dsched.h"
#include "fiber.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include <ucontext.h>

#define BENCH_REPS 5
#define BENCH_DEFAULT_ITERS 2000000ull
#define BENCH_MAX_ITERS 10000000000ull
#define BENCH_BATCH 64
#define BENCH_TRACE_DEFAULT_ITERS 2000ull /* executions: tens of us each */

struct bench_state {
	struct mmt_machine *m;
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
		"           __GFP_FAST_TRY, 64-page batches) against glibc malloc(4096)+free,\n"
		"           on one thread, simulated CPU 0; ns per operation, best of %d\n"
		"           repetitions after a warm-up\n"
		"  slab     kmem_cache_alloc+free of a 64-byte cache and kmalloc(64)+kfree\n"
		"           on the fast path, for SLUB and for SLAB, against glibc\n"
		"           malloc(64)+free, on one thread\n"
		"  trace    the interpreter: ns per execution of the empty program and of\n"
		"           a 64-operation program (oracle levels 0 and 1), and per machine\n"
		"           create+destroy with 256, 2048 and 65536 pages (--iters counts\n"
		"           executions; default %llu)\n"
		"  sched    the deterministic scheduler: ns per fiber round trip (two\n"
		"           switches) against glibc swapcontext, and per scheduling point\n"
		"           of two CPU tasks switching at every point\n"
		"  bugs     the fuzzers: seconds to find each injectable bug a single CPU\n"
		"           can reach, over trials (`%s bench bugs --help`)\n"
		"  fuzz     the fuzzers: exec/s per target on 64-operation inputs beside an\n"
		"           empty target (`%s bench fuzz --help`)\n"
		"\n"
		"Options (pages, slab, trace):\n"
		"  --iters N        iterations per repetition, 1..%llu (default %llu)\n"
		"  --json-out FILE  write the JSON to FILE and a table to stdout\n"
		"                   (default: JSON on stdout)\n"
		"  --lockdep        keep lockdep on (off by default: a release\n"
		"                   benchmark measures the model without its checks)\n"
		"  --help           this text\n",
		CLI_PROG, BENCH_REPS, BENCH_TRACE_DEFAULT_ITERS, CLI_PROG, CLI_PROG,
		BENCH_MAX_ITERS, BENCH_DEFAULT_ITERS);
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

/* Per slab implementation (name prefixed with it), then glibc once. */
static const struct bench slab_benches[] = {
	{ "kmem_cache_alloc_free",
	  "kmem_cache_alloc + kmem_cache_free, 64-byte cache (fast path)",
	  bench_cache_alloc_free },
	{ "kmalloc64_kfree", "kmalloc(64) + kfree (fast path)",
	  bench_kmalloc64 },
};
static const struct bench malloc64_bench = { "malloc_free_64",
					     "glibc malloc(64) + free",
					     bench_malloc64 };

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

static const struct bench trace_benches[] = {
	{ "execute_empty", "mmt_trace_execute() of the empty program",
	  bench_execute },
	{ "execute_64_ops",
	  "mmt_trace_execute() of a 64-operation program (pages, kmalloc, a cache, krealloc, kvfree_rcu, bulk pages)",
	  bench_execute },
	{ "machine_create_destroy",
	  "mmt_machine_create() + mmt_machine_destroy() of the header's machine",
	  bench_create_destroy },
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
	double reps[BENCH_REPS], best = measure(b, bs, iters, reps);
	char name[96];
	json_t *res, *ra;
	int r;

	snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "",
		 prefix ? "_" : "", b->name);
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
		printf("%-36s %10s   (best of %d x %" PRIu64 " iterations)\n",
		       "benchmark", "ns/op", BENCH_REPS, iters);
		for (i = 0; i < json_array_size(results); i++) {
			json_t *res = json_array_get(results, i);

			printf("%-36s %10.2f\n",
			       json_string_value(json_object_get(res, "name")),
			       json_real_value(
				       json_object_get(res, "ns_per_op")));
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

static void bench_config(struct mmt_config *cfg, bool lockdep)
{
	mmt_config_default(cfg);
	cfg->nr_nodes = 1;
	cfg->nr_cpus = 1;
	cfg->page_poison = false;
	cfg->lockdep = lockdep;
}

static int bench_pages(uint64_t iters, const char *json_out, bool lockdep)
{
	struct mmt_config cfg;
	struct bench_state bs = { 0 };
	struct mmt_task *task;
	json_t *root, *results;
	bool pinned;
	size_t i;

	bench_config(&cfg, lockdep);
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

		if (b->fn == bench_pcp_fast_try) {
			/* Pre-fill this CPU's list: one refill brings a batch. */
			mmt_free_pages(mmt_alloc_pages(GFP_KERNEL, 0), 0);
			fail_ev = mmt_vm_event(bs.m, MMT_VM_FAST_TRY_FAIL);
			bs.fast_try_failures = 0;
		}
		res = bench_result(b, &bs, iters, NULL);
		if (b->fn == bench_pcp_fast_try) {
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
						"__GFP_FAST_TRY failed: the timing includes failed attempts"));
				fprintf(stderr,
					"%s bench: warning: %" PRIu64
					" __GFP_FAST_TRY allocation(s) failed\n",
					CLI_PROG, bs.fast_try_failures);
			}
		}
		json_array_append_new(results, res);
	}
	return bench_emit(root, json_out, iters,
			  bench_machine_down(bs.m, task, root));
}

static int bench_slab(uint64_t iters, const char *json_out, bool lockdep)
{
	static const char *const impl_names[MMT_NR_SLAB_IMPLS] = { "slub",
								   "slab" };
	struct mmt_config cfg;
	struct bench_state bs = { 0 };
	json_t *root, *results;
	int ret = CLI_EXIT_OK, impl;
	bool pinned = pin_to_current_cpu();
	size_t i;

	bench_config(&cfg, lockdep);
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
	return bench_emit(root, json_out, iters, ret);
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

static int bench_trace(uint64_t iters, const char *json_out)
{
	static const unsigned long sizes[] = { 256, 2048, 65536 };
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
	return bench_emit(root, json_out, iters, ret);
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

static const char *const bench_names[] = { "pages", "slab", "trace", "sched" };

enum {
	OPT_ITERS = 256,
	OPT_JSON_OUT,
	OPT_LOCKDEP,
	OPT_HELP,
};

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, OPT_ITERS },
		{ "json-out", required_argument, NULL, OPT_JSON_OUT },
		{ "lockdep", no_argument, NULL, OPT_LOCKDEP },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t iters = BENCH_DEFAULT_ITERS;
	const char *json_out = NULL, *name;
	bool lockdep = false, iters_given = false;
	int c;

	/* The fuzzing benchmarks have options of their own (tools/cmd_fuzz.c). */
	if (argc > 1 && !strcmp(argv[1], "bugs"))
		return cmd_bench_bugs(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "fuzz"))
		return cmd_bench_fuzz(argc - 1, argv + 1);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ITERS:
			if (!cli_parse_u64("bench", "--iters", optarg, 1,
					   BENCH_MAX_ITERS, &iters))
				return CLI_EXIT_USAGE;
			iters_given = true;
			break;
		case OPT_JSON_OUT:
			if (!*optarg)
				return cli_usage_error(
					"bench", "--json-out: empty file name");
			json_out = optarg;
			break;
		case OPT_LOCKDEP:
			lockdep = true;
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
			"which benchmark? (known: %s, %s, %s, %s, bugs, fuzz)",
			bench_names[0], bench_names[1], bench_names[2],
			bench_names[3]);
	name = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error("bench", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (!strcmp(name, "pages"))
		return bench_pages(iters, json_out, lockdep);
	if (!strcmp(name, "slab"))
		return bench_slab(iters, json_out, lockdep);
	if (!strcmp(name, "sched"))
		return bench_sched(iters, json_out);
	/* Executions, not operations: a smaller default. */
	if (!strcmp(name, "trace"))
		return bench_trace(iters_given ? iters :
						 BENCH_TRACE_DEFAULT_ITERS,
				   json_out);
	return cli_usage_error(
		"bench",
		"unknown benchmark '%s' (known: %s, %s, %s, %s, bugs, fuzz)",
		name, bench_names[0], bench_names[1], bench_names[2],
		bench_names[3]);
}
