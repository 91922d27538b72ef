/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_run.c - `mmtorture run`: a short built-in workload over the
 * model, as a smoke test and a demonstration of the injectable bugs.
 *
 * One real thread per simulated CPU.  Each creates a task, attaches to a
 * CPU and runs a seeded (splitmix64) random mix of operations:
 *  - allocations of order 0..3 with varied GFP masks (GFP_KERNEL, GFP_NOFS,
 *    GFP_NOIO, GFP_ATOMIC, GFP_NOWAIT, __GFP_FAST_TRY, __GFP_ZERO,
 *    __GFP_COMP, GFP_HIGHUSER_MOVABLE, __GFP_DMA32), some inside a
 *    PF_MEMALLOC scope, and alloc_pages_bulk;
 *  - frees of a random held allocation (so the free order is random);
 *  - short softirq and hardirq episodes and preempt/irq-disabled sections
 *    that allocate with atomic masks only and free (under --rt, where the
 *    page allocator's spinlocks sleep, hardirq episodes and preempt/irq-off
 *    sections stay away from the allocator, as kernel code must);
 *  - drain_local_pages / drain_all_pages;
 *  - migration to a free CPU, and "sleeping" (leaving the CPU and waking on
 *    whichever CPU is free).
 * CPUs are claimed in a small table of the tool before attaching, so a
 * thread never attaches to a CPU another thread is on (that would be a
 * cpu-busy violation of the tool, not a finding).
 *
 * With --topology the machine follows a topology (topology/: its nodes,
 * its CPU-to-node map and node distances) and each thread is pinned to the
 * PU of the simulated CPU it is on, again after every migration and
 * wake-up; where binding is not permitted the run says so once and goes
 * on unpinned.
 *
 * Then every thread frees what it holds; the main thread drains every CPU,
 * runs the expensive validators (mmt_machine_is_valid()), checks that no
 * page is left allocated, prints the counters and every violation, and
 * exits 1 if anything was reported.  The seed fixes each thread's random
 * choices; the interleaving of the threads is the OS scheduler's, so a seed
 * reproduces the mix of operations, not the exact execution (that is what
 * the deterministic scheduler of later milestones is for).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "mmt/mmt.h"
#include "mmt/topology.h"
#include "stress.h"

#define RUN_DEFAULT_OPS 5000000ull
#define RUN_MAX_OPS 1000000000000ull
#define RUN_MAX_PAGES (4ull << 20) /* the model's limit on simulated memory */
#define RUN_HELD_MAX 512 /* allocations a thread holds at most */
#define RUN_BULK_MAX 32
#define RUN_MAX_ORDER 3

struct run_opts {
	int nodes, cpus;
	unsigned long pages, dma32;
	uint64_t ops, seed, bugs;
	bool rt, json;
	bool nodes_set, cpus_set; /* given, not the defaults */
	enum mmt_slab_impl slab;
	const char *topology; /* --topology: map and pin; NULL: neither */
};

struct run_stats {
	uint64_t allocs, alloc_fails, frees;
	uint64_t bulk_calls, bulk_pages;
	uint64_t softirqs, hardirqs, atomic_sections;
	uint64_t drains, migrations, sleeps;
	uint64_t not_zeroed; /* __GFP_ZERO pages with a non-zero byte */
	uint64_t obj_allocs, obj_fails, obj_frees, remote_frees;
	uint64_t kvfree_rcu, gp_steps, shrinks;
};

#define RUN_MAX_SIGS 64

/* Violations tallied by signature (check + site), from the handler. */
struct run_sig {
	const char *check, *layer, *site;
	unsigned long count;
};

/*
 * Objects cross threads through this table: a thread swaps an object it
 * allocated for whatever another left there and frees that, so frees are
 * often remote (another CPU's slab, per-cpu list or array cache).
 */
#define RUN_EXCHANGE 256

struct run_ctx {
	struct mmt_machine *m;
	const struct run_opts *o;
	struct mmt_kmem_cache *cache; /* a shared 72-byte cache */
	pthread_mutex_t xmu;
	void *exchange[RUN_EXCHANGE];
	_Atomic int *claimed; /* per simulated CPU: a thread is on it */
	const struct mmt_topo *topo; /* --topology: pin to its PUs */
	_Atomic bool pin_failed; /* said once; then threads run unpinned */
	_Atomic unsigned long pins; /* successful pinnings */
	pthread_mutex_t sig_mu;
	struct run_sig sigs[RUN_MAX_SIGS];
	unsigned int nr_sigs;
	unsigned long sig_overflow; /* violations of signatures not tallied */
};

struct held {
	struct mmt_page *page;
	unsigned int order;
};

struct held_obj {
	void *p;
	bool kmalloc; /* else from ctx->cache */
};

struct worker {
	struct run_ctx *ctx;
	pthread_t thread;
	int id, cpu;
	int pinned_pu; /* host PU the thread is bound to, -1: none yet */
	uint64_t ops, rng;
	struct mmt_task *task;
	struct held held[RUN_HELD_MAX];
	unsigned int nheld;
	struct held_obj objs[RUN_HELD_MAX];
	unsigned int nobjs;
	struct run_stats st;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s run [options]\n"
		"\n"
		"Run a short multi-threaded workload over the model: one thread per\n"
		"simulated CPU doing a seeded random mix of page allocations (orders 0..%d,\n"
		"varied GFP masks, alloc_pages_bulk), kmalloc and kmem_cache objects freed\n"
		"locally and remotely, kvfree_rcu and grace-period steps, cache shrinks,\n"
		"softirq and hardirq episodes, drains and migrations; then free\n"
		"everything, run the grace periods, drain, validate, and print the\n"
		"counters and every violation.\n"
		"\n"
		"Options:\n"
		"  --nodes N    NUMA nodes, 1..%d (default 1)\n"
		"  --cpus N     simulated CPUs (= threads), 1..%d (default 2)\n"
		"  --pages N    Normal-zone pages per node, 16..%llu (default 65536)\n"
		"  --dma32 N    DMA32-zone pages per node, 0 (none) or 16..%llu (default 1024)\n"
		"  --ops N      operations in all, split over the CPUs (default %llu)\n"
		"  --seed S     workload seed (default: random, printed)\n"
		"  --bug ID     turn on an injectable bug; repeatable, or ID,ID\n"
		"               ('%s list bugs'; MMT_BUGS=ID,ID in the environment adds more)\n"
		"  --slab IMPL  object allocator: slub (default), slab or sheaves\n"
		"  --rt         PREEMPT_RT rules: spinlocks sleep (no page allocator calls\n"
		"               with irqs or preemption disabled)\n"
		"  --topology T follow a topology and pin each thread to its CPU's PU:\n"
		"               'real' (this machine), an hwloc synthetic description\n"
		"               ('package:2 numa:2 core:4 pu:2') or an hwloc XML file;\n"
		"               --nodes and --cpus then default to the topology's\n"
		"               ('%s topo' shows the mapping)\n"
		"  --json       one JSON object on stdout (summary line on stderr)\n"
		"  --help       this text\n"
		"\n"
		"Exit status: 0 no violation, 1 violation(s) or a failed run, 2 wrong usage.\n",
		CLI_PROG, RUN_MAX_ORDER, MMT_MAX_NODES, MMT_MAX_CPUS,
		RUN_MAX_PAGES, RUN_MAX_PAGES, RUN_DEFAULT_OPS, CLI_PROG,
		CLI_PROG);
}

/* ---- simulated CPUs: claimed before attaching ---- */

static bool claim_cpu(struct run_ctx *ctx, int cpu)
{
	int free = 0;

	return atomic_compare_exchange_strong(&ctx->claimed[cpu], &free, 1);
}

static void unclaim_cpu(struct run_ctx *ctx, int cpu)
{
	atomic_store(&ctx->claimed[cpu], 0);
}

/*
 * Claim some free CPU, trying @first first.  There are as many threads as
 * CPUs and each holds at most one, so a thread looking always finds one.
 */
static int claim_any_cpu(struct run_ctx *ctx, int first)
{
	int n = ctx->o->cpus, i;

	for (;;) {
		for (i = 0; i < n; i++) {
			int cpu = (first + i) % n;

			if (claim_cpu(ctx, cpu))
				return cpu;
		}
		sched_yield();
	}
}

/* ---- pinning (--topology) ---- */

/*
 * Pin the calling thread to the PU of the CPU it is on now; a system call
 * only when that is another host PU than the thread's.
 */
static void pin(struct worker *w)
{
	struct run_ctx *ctx = w->ctx;
	char err[256];
	int pu;

	if (!ctx->topo || atomic_load(&ctx->pin_failed))
		return;
	pu = mmt_topo_info(ctx->topo)->cpu[w->cpu].host_pu;
	if (pu == w->pinned_pu)
		return;
	if (mmt_topo_bind_cpu(ctx->topo, w->cpu, err, sizeof(err))) {
		w->pinned_pu = pu;
		atomic_fetch_add(&ctx->pins, 1);
		return;
	}
	if (!atomic_exchange(&ctx->pin_failed, true))
		fprintf(stderr, "%s run: %s; threads run unpinned\n", CLI_PROG,
			err);
}

/* ---- the workload ---- */

static unsigned int rand_order(struct worker *w)
{
	unsigned int r = (unsigned int)cli_rand_below(&w->rng, 100);

	if (r < 70)
		return 0;
	if (r < 85)
		return 1;
	if (r < 95)
		return 2;
	return 3;
}

/* A mask of @mix (stress/gfp_mix.c: the stressors' mix). */
static mmt_gfp_t rand_gfp(struct worker *w, enum mmt_stress_gfp_mix mix)
{
	return mmt_stress_pick_gfp(mix, cli_splitmix64(&w->rng),
				   w->ctx->o->dma32 > 0);
}

/* Write to the new pages (so __GFP_ZERO means something), check zeroing. */
static void touch_pages(struct worker *w, struct mmt_page *page,
			unsigned int order, mmt_gfp_t gfp)
{
	unsigned char *p = mmt_page_address(page);
	size_t len = MMT_PAGE_SIZE << order, i;

	if (gfp & __GFP_ZERO) {
		for (i = 0; i < len; i++) {
			if (p[i]) {
				w->st.not_zeroed++;
				break;
			}
		}
	}
	for (i = 0; i < len; i += MMT_PAGE_SIZE)
		memset(p + i, 0xa5 ^ w->id, 16);
}

static void hold(struct worker *w, struct mmt_page *page, unsigned int order)
{
	w->held[w->nheld].page = page;
	w->held[w->nheld].order = order;
	w->nheld++;
}

static void alloc_one(struct worker *w, mmt_gfp_t gfp, unsigned int order)
{
	struct mmt_page *page;

	if (w->nheld == RUN_HELD_MAX)
		return;
	page = mmt_alloc_pages(gfp, order);
	w->st.allocs++;
	if (!page) {
		w->st.alloc_fails++;
		return;
	}
	touch_pages(w, page, order, gfp);
	hold(w, page, order);
}

static void free_one(struct worker *w)
{
	unsigned int i;

	if (!w->nheld)
		return;
	i = (unsigned int)cli_rand_below(&w->rng, w->nheld);
	mmt_free_pages(w->held[i].page, w->held[i].order);
	w->held[i] = w->held[--w->nheld];
	w->st.frees++;
}

static void alloc_process(struct worker *w)
{
	mmt_gfp_t gfp = rand_gfp(w, MMT_STRESS_GFP_PROCESS);
	unsigned int order = rand_order(w), flags = 0;
	bool memalloc = cli_rand_below(&w->rng, 100) < 3;
	bool nofs = cli_rand_below(&w->rng, 100) < 3;

	/* Sometimes inside a scope: reclaim (PF_MEMALLOC) or a NOFS section. */
	if (memalloc)
		flags = mmt_memalloc_noreclaim_save();
	else if (nofs)
		flags = mmt_memalloc_nofs_save();
	alloc_one(w, gfp, order);
	if (memalloc)
		mmt_memalloc_noreclaim_restore(flags);
	else if (nofs)
		mmt_memalloc_nofs_restore(flags);
}

static void alloc_bulk(struct worker *w)
{
	struct mmt_page *array[RUN_BULK_MAX];
	unsigned int room = RUN_HELD_MAX - w->nheld, nr, got, i;
	mmt_gfp_t gfp = rand_gfp(w, MMT_STRESS_GFP_BULK);

	if (room == 0)
		return;
	nr = 1 + (unsigned int)cli_rand_below(&w->rng, RUN_BULK_MAX);
	if (nr > room)
		nr = room;
	memset(array, 0, sizeof(array));
	got = mmt_alloc_pages_bulk(gfp, nr, array);
	w->st.bulk_calls++;
	w->st.bulk_pages += got;
	/* Populated slots need not be the first ones: take every non-NULL. */
	for (i = 0; i < nr; i++) {
		if (!array[i])
			continue;
		touch_pages(w, array[i], 0, gfp);
		hold(w, array[i], 0);
	}
}

/* A few atomic-mask allocations and frees in the current (atomic) context. */
static void atomic_ops(struct worker *w, bool may_alloc)
{
	unsigned int k = 1 + (unsigned int)cli_rand_below(&w->rng, 4);

	while (k--) {
		if (may_alloc && cli_rand_below(&w->rng, 2))
			alloc_one(w, rand_gfp(w, MMT_STRESS_GFP_ATOMIC),
				  rand_order(w) & 1);
		else
			free_one(w);
	}
}

/*
 * An interrupt arrives: softirq (2 in 3) or hardirq.  Under RT rules
 * softirqs run in thread context (so they may use the page allocator), but
 * the allocator's spinlocks sleep and a hard irq may not touch them at all:
 * the hardirq episode then only nests an empty interrupt.
 */
static void irq_episode(struct worker *w)
{
	bool rt = w->ctx->o->rt;

	if (cli_rand_below(&w->rng, 3)) {
		mmt_softirq_enter();
		atomic_ops(w, true);
		mmt_softirq_exit();
		w->st.softirqs++;
	} else {
		mmt_irq_enter();
		if (!rt)
			atomic_ops(w, true);
		mmt_irq_exit();
		w->st.hardirqs++;
	}
}

/* preempt_disable() or local_irq_save() around atomic allocations. */
static void atomic_section(struct worker *w)
{
	unsigned long flags;

	if (w->ctx->o->rt)
		return; /* spinlocks sleep: no allocator calls in there */
	if (cli_rand_below(&w->rng, 2)) {
		mmt_preempt_disable();
		atomic_ops(w, true);
		mmt_preempt_enable();
	} else {
		flags = mmt_local_irq_save();
		atomic_ops(w, true);
		mmt_local_irq_restore(flags);
	}
	w->st.atomic_sections++;
}

static void drain(struct worker *w)
{
	if (cli_rand_below(&w->rng, 2))
		mmt_drain_local_pages();
	else
		mmt_drain_all_pages(w->ctx->m);
	w->st.drains++;
}

/* Move to another CPU if one is free (explicit migration). */
static void migrate(struct worker *w)
{
	struct run_ctx *ctx = w->ctx;
	int target, old = w->cpu;

	if (ctx->o->cpus < 2)
		return;
	target = (old + 1 +
		  (int)cli_rand_below(&w->rng, (uint64_t)ctx->o->cpus - 1)) %
		 ctx->o->cpus;
	if (!claim_cpu(ctx, target))
		return;
	if (mmt_migrate(target)) {
		w->cpu = target;
		unclaim_cpu(ctx, old);
		pin(w);
		w->st.migrations++;
	} else {
		unclaim_cpu(ctx, target); /* the model reported why */
	}
}

/* Leave the CPU, let others run, wake up on whichever CPU is free. */
static void sleep_and_wake(struct worker *w)
{
	struct run_ctx *ctx = w->ctx;

	mmt_cpu_detach();
	unclaim_cpu(ctx, w->cpu);
	sched_yield();
	w->cpu = claim_any_cpu(
		ctx, (int)cli_rand_below(&w->rng, (uint64_t)ctx->o->cpus));
	if (!mmt_cpu_attach(ctx->m, w->cpu, w->task))
		abort(); /* claimed, so free: a model bug; the violation says more */
	pin(w);
	w->st.sleeps++;
}

/* An object from kmalloc (varied sizes, some large) or the shared cache. */
static void obj_alloc(struct worker *w)
{
	mmt_gfp_t gfp = cli_rand_below(&w->rng, 8) ? GFP_KERNEL :
						     GFP_KERNEL | __GFP_ZERO;
	unsigned int r = (unsigned int)cli_rand_below(&w->rng, 100);
	void *p;

	if (w->nobjs == RUN_HELD_MAX)
		return;
	if (r < 45)
		p = mmt_kmem_cache_alloc(w->ctx->cache, gfp);
	else if (r < 98)
		p = mmt_kmalloc((size_t)cli_rand_below(&w->rng, 2048) + 1, gfp);
	else
		p = mmt_kmalloc((size_t)cli_rand_below(&w->rng, 40000) + 8193,
				gfp);
	w->st.obj_allocs++;
	if (!p) {
		w->st.obj_fails++;
		return;
	}
	if (gfp & __GFP_ZERO) {
		if (((unsigned char *)p)[0])
			w->st.not_zeroed++;
	}
	((unsigned char *)p)[0] = (unsigned char)w->id;
	w->objs[w->nobjs].p = p;
	w->objs[w->nobjs].kmalloc = r >= 45;
	w->nobjs++;
}

static void obj_free_ptr(void *p)
{
	/* kfree() takes objects of any cache, the shared cache's too. */
	mmt_kfree(p);
}

/* Free one held object, here or by way of the exchange (remote). */
static void obj_free(struct worker *w)
{
	struct run_ctx *ctx = w->ctx;
	unsigned int i;
	void *p, *old;

	if (!w->nobjs)
		return;
	i = (unsigned int)cli_rand_below(&w->rng, w->nobjs);
	p = w->objs[i].p;
	w->objs[i] = w->objs[--w->nobjs];
	w->st.obj_frees++;
	if (cli_rand_below(&w->rng, 2)) {
		obj_free_ptr(p);
		return;
	}
	i = (unsigned int)cli_rand_below(&w->rng, RUN_EXCHANGE);
	pthread_mutex_lock(&ctx->xmu);
	old = ctx->exchange[i];
	ctx->exchange[i] = p;
	pthread_mutex_unlock(&ctx->xmu);
	if (old) {
		obj_free_ptr(old);
		w->st.remote_frees++;
	}
}

/* kvfree_rcu of a held kmalloc object, and grace-period steps. */
static void rcu_ops(struct worker *w)
{
	unsigned int i;

	if (cli_rand_below(&w->rng, 3)) {
		mmt_rcu_gp_step(w->ctx->m);
		w->st.gp_steps++;
		return;
	}
	for (i = 0; i < w->nobjs; i++) {
		void *p = w->objs[i].p;

		/* Only kmalloc memory may go through kvfree_rcu. */
		if (w->objs[i].kmalloc) {
			w->objs[i] = w->objs[--w->nobjs];
			/* One-argument form: may sleep (its fallback waits). */
			mmt_kvfree_rcu(p);
			w->st.kvfree_rcu++;
			return;
		}
	}
}

static void shrink(struct worker *w)
{
	mmt_kmem_cache_shrink(w->ctx->cache);
	w->st.shrinks++;
}

static void run_op(struct worker *w)
{
	unsigned int r = (unsigned int)cli_rand_below(&w->rng, 1000);

	if (w->nheld == RUN_HELD_MAX && r < 300)
		r = 300; /* full: free instead of allocating */
	if (r < 290)
		alloc_process(w);
	else if (r < 300)
		alloc_bulk(w);
	else if (r < 570)
		free_one(w);
	else if (r < 720)
		obj_alloc(w);
	else if (r < 860)
		obj_free(w);
	else if (r < 875)
		rcu_ops(w);
	else if (r < 880)
		shrink(w);
	else if (r < 930)
		irq_episode(w);
	else if (r < 960)
		atomic_section(w);
	else if (r < 975)
		drain(w);
	else if (r < 990)
		migrate(w);
	else
		sleep_and_wake(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run_ctx *ctx = w->ctx;
	char name[32];
	uint64_t i;

	snprintf(name, sizeof(name), "run/%d", w->id);
	w->task = mmt_task_create(ctx->m, name, 0);
	if (!w->task) {
		fprintf(stderr, "%s run: out of memory creating task %s\n",
			CLI_PROG, name);
		abort();
	}
	w->cpu = claim_any_cpu(ctx, w->id);
	if (!mmt_cpu_attach(ctx->m, w->cpu, w->task))
		abort();
	pin(w);
	for (i = 0; i < w->ops; i++)
		run_op(w);
	while (w->nheld)
		free_one(w);
	while (w->nobjs)
		obj_free_ptr(w->objs[--w->nobjs].p);
	mmt_cpu_detach();
	unclaim_cpu(ctx, w->cpu);
	mmt_task_destroy(w->task);
	return NULL;
}

/* ---- violations by signature ---- */

static void tally_violation(struct mmt_machine *m,
			    const struct mmt_violation *v, void *arg)
{
	struct run_ctx *ctx = arg;
	unsigned int i;

	(void)m;
	pthread_mutex_lock(&ctx->sig_mu);
	for (i = 0; i < ctx->nr_sigs; i++) {
		if (!strcmp(ctx->sigs[i].check, v->check) &&
		    !strcmp(ctx->sigs[i].site, v->site))
			break;
	}
	if (i < ctx->nr_sigs) {
		ctx->sigs[i].count++;
	} else if (i < RUN_MAX_SIGS) {
		/* check, layer and site are static strings of the model */
		ctx->sigs[i].check = v->check;
		ctx->sigs[i].layer = v->layer;
		ctx->sigs[i].site = v->site;
		ctx->sigs[i].count = 1;
		ctx->nr_sigs++;
	} else {
		ctx->sig_overflow++;
	}
	pthread_mutex_unlock(&ctx->sig_mu);
}

static void print_signatures(const struct run_ctx *ctx)
{
	unsigned int i;

	printf("violations by signature:\n");
	for (i = 0; i < ctx->nr_sigs; i++)
		printf("  %8lu  %s [layer %s] at %s\n", ctx->sigs[i].count,
		       ctx->sigs[i].check, ctx->sigs[i].layer,
		       ctx->sigs[i].site);
	if (ctx->sig_overflow)
		printf("  %8lu  (other signatures)\n", ctx->sig_overflow);
}

static json_t *signatures_to_json(const struct run_ctx *ctx)
{
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; i < ctx->nr_sigs; i++)
		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:s, s:I}", "check",
				  ctx->sigs[i].check, "layer",
				  ctx->sigs[i].layer, "site", ctx->sigs[i].site,
				  "count", (json_int_t)ctx->sigs[i].count));
	return a;
}

/* ---- teardown checks and output ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void stats_add(struct run_stats *a, const struct run_stats *b)
{
	a->allocs += b->allocs;
	a->alloc_fails += b->alloc_fails;
	a->frees += b->frees;
	a->bulk_calls += b->bulk_calls;
	a->bulk_pages += b->bulk_pages;
	a->softirqs += b->softirqs;
	a->hardirqs += b->hardirqs;
	a->atomic_sections += b->atomic_sections;
	a->drains += b->drains;
	a->migrations += b->migrations;
	a->sleeps += b->sleeps;
	a->not_zeroed += b->not_zeroed;
	a->obj_allocs += b->obj_allocs;
	a->obj_fails += b->obj_fails;
	a->obj_frees += b->obj_frees;
	a->remote_frees += b->remote_frees;
	a->kvfree_rcu += b->kvfree_rcu;
	a->gp_steps += b->gp_steps;
	a->shrinks += b->shrinks;
}

/* Pages left allocated (or on per-cpu lists) after the final drain. */
static unsigned long leftover_pages(struct mmt_machine *m, bool print)
{
	unsigned long left = 0;
	int z;

	for (z = 0; z < mmt_nr_zones(m); z++) {
		struct mmt_zone_info zi;

		if (!mmt_zone_info(m, z, &zi))
			continue;
		if ((zi.allocated || zi.pcp) && print)
			printf("teardown: node %d zone %s: %lu page(s) still allocated, %lu on per-cpu lists\n",
			       zi.nid, zi.name, zi.allocated, zi.pcp);
		left += zi.allocated + zi.pcp;
	}
	return left;
}

static json_t *vmstat_to_json(struct mmt_machine *m)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *j = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (f) {
		mmt_vmstat_json(m, f);
		fclose(f);
		j = json_loads(buf, 0, NULL);
	}
	free(buf);
	return j ? j : json_null();
}

static json_t *violation_to_json(const struct mmt_violation *v)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:s}", "check",
			      v->check, "layer", v->layer, "site", v->site,
			      "op", v->op, "op_index", (json_int_t)v->op_index,
			      "cpu", v->cpu, "msg", v->msg);

	if (j && v->dump)
		json_object_set_new(j, "dump", json_string(v->dump));
	return j;
}

static json_t *stats_to_json(const struct run_stats *s)
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"allocs", (json_int_t)s->allocs, "alloc_fails",
		(json_int_t)s->alloc_fails, "frees", (json_int_t)s->frees,
		"bulk_calls", (json_int_t)s->bulk_calls, "bulk_pages",
		(json_int_t)s->bulk_pages, "softirqs", (json_int_t)s->softirqs,
		"hardirqs", (json_int_t)s->hardirqs, "atomic_sections",
		(json_int_t)s->atomic_sections, "drains", (json_int_t)s->drains,
		"migrations", (json_int_t)s->migrations, "sleeps",
		(json_int_t)s->sleeps, "not_zeroed", (json_int_t)s->not_zeroed);
}

static json_t *obj_stats_to_json(const struct run_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "obj_allocs",
			 (json_int_t)s->obj_allocs, "obj_fails",
			 (json_int_t)s->obj_fails, "obj_frees",
			 (json_int_t)s->obj_frees, "remote_frees",
			 (json_int_t)s->remote_frees, "kvfree_rcu",
			 (json_int_t)s->kvfree_rcu, "gp_steps",
			 (json_int_t)s->gp_steps, "shrinks",
			 (json_int_t)s->shrinks);
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 32);
	return cli_splitmix64(&s);
}

/* ---- option parsing ---- */

enum {
	OPT_NODES = 256,
	OPT_CPUS,
	OPT_PAGES,
	OPT_DMA32,
	OPT_OPS,
	OPT_SEED,
	OPT_BUG,
	OPT_RT,
	OPT_JSON,
	OPT_SLAB,
	OPT_TOPOLOGY,
	OPT_HELP,
};

/* 0 to go on, else the exit code (--help, wrong usage). */
static int parse_opts(int argc, char **argv, struct run_opts *o, bool *seeded)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "pages", required_argument, NULL, OPT_PAGES },
		{ "dma32", required_argument, NULL, OPT_DMA32 },
		{ "ops", required_argument, NULL, OPT_OPS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "rt", no_argument, NULL, OPT_RT },
		{ "slab", required_argument, NULL, OPT_SLAB },
		{ "topology", required_argument, NULL, OPT_TOPOLOGY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *env;
	char err[256];
	uint64_t v, mask;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_NODES:
			if (!cli_parse_u64("run", "--nodes", optarg, 1,
					   MMT_MAX_NODES, &v))
				return CLI_EXIT_USAGE;
			o->nodes = (int)v;
			o->nodes_set = true;
			break;
		case OPT_CPUS:
			if (!cli_parse_u64("run", "--cpus", optarg, 1,
					   MMT_MAX_CPUS, &v))
				return CLI_EXIT_USAGE;
			o->cpus = (int)v;
			o->cpus_set = true;
			break;
		case OPT_PAGES:
			if (!cli_parse_u64("run", "--pages", optarg, 16,
					   RUN_MAX_PAGES, &v))
				return CLI_EXIT_USAGE;
			o->pages = (unsigned long)v;
			break;
		case OPT_DMA32:
			if (!cli_parse_u64("run", "--dma32", optarg, 0,
					   RUN_MAX_PAGES, &v))
				return CLI_EXIT_USAGE;
			if (v && v < 16)
				return cli_usage_error(
					"run",
					"--dma32: %s is out of range 0 or 16..%llu",
					optarg, RUN_MAX_PAGES);
			o->dma32 = (unsigned long)v;
			break;
		case OPT_OPS:
			if (!cli_parse_u64("run", "--ops", optarg, 1,
					   RUN_MAX_OPS, &o->ops))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SEED:
			if (!cli_parse_u64("run", "--seed", optarg, 0,
					   UINT64_MAX, &o->seed))
				return CLI_EXIT_USAGE;
			*seeded = true;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("run", "--bug: %s", err);
			o->bugs |= mask;
			break;
		case OPT_RT:
			o->rt = true;
			break;
		case OPT_SLAB:
			if (!strcmp(optarg, "slub"))
				o->slab = MMT_SLAB_SLUB;
			else if (!strcmp(optarg, "slab"))
				o->slab = MMT_SLAB_SLAB;
			else if (!strcmp(optarg, "sheaves"))
				o->slab = MMT_SLAB_SHEAVES;
			else
				return cli_usage_error(
					"run",
					"--slab: '%s' is not slub, slab or sheaves",
					optarg);
			break;
		case OPT_TOPOLOGY:
			o->topology = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return -1;
		default:
			return cli_getopt_error("run", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument '%s'",
				       argv[optind]);
	env = getenv("MMT_BUGS");
	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("run", "MMT_BUGS=%s: %s", env,
					       err);
		o->bugs |= mask;
	}
	return 0;
}

/* ---- the command ---- */

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.nodes = 1,
		.cpus = 2,
		.pages = 65536,
		.dma32 = 1024,
		.ops = RUN_DEFAULT_OPS,
	};
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_task *main_task;
	struct run_ctx ctx;
	struct worker *workers;
	struct run_stats total = { 0 };
	struct mmt_topo *topo = NULL;
	unsigned long nviol, kept, i, left;
	char err[256], bugs[256], seedbuf[24];
	double t0, elapsed;
	bool seeded = false, valid, failed;
	int ret, n;

	ret = parse_opts(argc, argv, &o, &seeded);
	if (ret)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if (!seeded)
		o.seed = random_seed();
	if (o.topology) {
		struct mmt_topo_opts to = {
			.spec = o.topology,
			.nodes = o.nodes_set ? o.nodes : 0,
			.cpus = o.cpus_set ? o.cpus : 0,
		};

		topo = mmt_topo_create(&to, err, sizeof(err));
		if (!topo)
			return cli_usage_error("run", "%s", err);
		o.nodes = mmt_topo_info(topo)->nr_nodes;
		o.cpus = mmt_topo_info(topo)->nr_cpus;
	}

	mmt_config_default(&cfg);
	cfg.nr_nodes = o.nodes;
	cfg.nr_cpus = o.cpus;
	cfg.normal_pages = o.pages;
	cfg.dma32_pages = o.dma32;
	cfg.rt_rules = o.rt;
	cfg.bugs = o.bugs;
	cfg.slab = o.slab;
	cfg.max_violations = 64;
	if (topo)
		mmt_topo_apply(topo, &cfg);
	m = mmt_machine_create(&cfg, err, sizeof(err));
	if (!m) {
		mmt_topo_destroy(topo);
		return cli_usage_error("run", "cannot build the machine: %s",
				       err);
	}
	mmt_bugs_format(o.bugs, bugs, sizeof(bugs));
	snprintf(seedbuf, sizeof(seedbuf), "%" PRIu64, o.seed);

	if (!o.json)
		printf("run: %d node(s), %d cpu(s), %lu+%lu pages per node, bugs %s%s, seed %" PRIu64
		       "\n",
		       o.nodes, o.cpus, o.dma32, o.pages, bugs,
		       o.rt ? ", PREEMPT_RT rules" : "", o.seed);
	if (!o.json && topo) {
		const struct mmt_topo_info *ti = mmt_topo_info(topo);

		printf("run: topology %s%s%s%s: %d node(s), %d cpu(s) on %d PU(s)",
		       mmt_topo_source_name(ti->source),
		       ti->source == MMT_TOPO_REAL ? "" : " '",
		       ti->source == MMT_TOPO_REAL ? "" : ti->desc,
		       ti->source == MMT_TOPO_REAL ? "" : "'", ti->nr_nodes,
		       ti->nr_cpus, ti->nr_pus_used);
		if (ti->max_cpus_per_pu > 1)
			printf(", OVERSUBSCRIBED up to %d per PU (round robin)",
			       ti->max_cpus_per_pu);
		printf("; threads pinned to %s\n",
		       ti->source == MMT_TOPO_REAL ?
			       "their CPU's PU" :
			       "their CPU's PU folded onto this machine's PUs");
	}
	fflush(stdout);

	memset(&ctx, 0, sizeof(ctx));
	ctx.m = m;
	ctx.o = &o;
	ctx.topo = topo;
	pthread_mutex_init(&ctx.xmu, NULL);
	pthread_mutex_init(&ctx.sig_mu, NULL);
	mmt_machine_set_violation_handler(m, tally_violation, &ctx);
	ctx.claimed = calloc((size_t)o.cpus, sizeof(*ctx.claimed));
	workers = calloc((size_t)o.cpus, sizeof(*workers));
	if (!ctx.claimed || !workers) {
		fprintf(stderr, "%s run: out of memory\n", CLI_PROG);
		mmt_machine_destroy(m);
		mmt_topo_destroy(topo);
		return CLI_EXIT_FAIL;
	}
	mmt_machine_set_op(m, 0, "run: workload, %d thread(s), seed %" PRIu64,
			   o.cpus, o.seed);
	main_task = mmt_task_create(m, "run/main", 0);
	if (!main_task || !mmt_cpu_attach(m, 0, main_task)) {
		fprintf(stderr,
			"%s run: cannot attach the main thread to cpu 0\n",
			CLI_PROG);
		abort();
	}
	ctx.cache = mmt_kmem_cache_create("run-obj", 72, 0,
					  MMT_SLAB_HWCACHE_ALIGN, NULL);
	mmt_cpu_detach();

	t0 = now_s();
	for (n = 0; n < o.cpus; n++) {
		struct worker *w = &workers[n];
		uint64_t s = o.seed ^
			     (0x9e3779b97f4a7c15ull * (uint64_t)(n + 1));

		w->ctx = &ctx;
		w->id = n;
		w->pinned_pu = -1;
		w->ops = o.ops / (uint64_t)o.cpus +
			 ((uint64_t)n < o.ops % (uint64_t)o.cpus);
		w->rng = cli_splitmix64(&s);
		ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			fprintf(stderr, "%s run: cannot create thread %d: %s\n",
				CLI_PROG, n, strerror(ret));
			abort();
		}
	}
	for (n = 0; n < o.cpus; n++) {
		pthread_join(workers[n].thread, NULL);
		stats_add(&total, &workers[n].st);
	}
	elapsed = now_s() - t0;

	/* Teardown on CPU 0: drain every per-cpu list, then validate. */
	mmt_machine_set_op(m, o.ops,
			   "run: teardown (drain_all_pages, validate)");
	if (!mmt_cpu_attach(m, 0, main_task)) {
		fprintf(stderr,
			"%s run: cannot attach the main thread to cpu 0\n",
			CLI_PROG);
		abort();
	}
	for (i = 0; i < RUN_EXCHANGE; i++)
		if (ctx.exchange[i])
			obj_free_ptr(ctx.exchange[i]);
	/* Every grace period, then the objects and slabs all go back. */
	mmt_kvfree_rcu_barrier(m);
	valid = mmt_slab_is_valid(m);
	mmt_kmem_cache_destroy(ctx.cache);
	valid &= mmt_slab_teardown_check(m);
	/* Caches keep empty slabs (min_partial, free_limit): give them back. */
	mmt_kmem_cache_shrink_all(m);
	mmt_drain_all_pages(m);
	valid &= mmt_machine_is_valid(m);
	mmt_cpu_detach();
	mmt_task_destroy(main_task);
	left = leftover_pages(m, !o.json);

	nviol = mmt_violation_count(m);
	for (kept = 0; mmt_violation_get(m, kept); kept++)
		;
	failed = nviol || !valid || left || total.not_zeroed;

	if (o.json) {
		json_t *root = json_object(), *va = json_array();

		for (i = 0; i < kept; i++)
			json_array_append_new(
				va, violation_to_json(mmt_violation_get(m, i)));
		json_object_set_new(root, "command", json_string("run"));
		/* The seed as text: a uint64 does not fit a JSON integer here. */
		json_object_set_new(
			root, "config",
			json_pack("{s:i, s:i, s:I, s:I, s:I, s:s%, s:s, s:b}",
				  "nodes", o.nodes, "cpus", o.cpus, "pages",
				  (json_int_t)o.pages, "dma32",
				  (json_int_t)o.dma32, "ops", (json_int_t)o.ops,
				  "seed", seedbuf, strlen(seedbuf), "bugs",
				  bugs, "rt", (int)o.rt));
		if (topo) {
			const struct mmt_topo_info *ti = mmt_topo_info(topo);

			json_object_set_new(
				root, "topology",
				json_pack(
					"{s:s, s:s, s:i, s:i, s:i, s:i, s:b, s:s, s:I}",
					"source",
					mmt_topo_source_name(ti->source),
					"description", ti->desc, "nodes",
					ti->nr_nodes, "cpus", ti->nr_cpus,
					"pus_used", ti->nr_pus_used,
					"max_cpus_per_pu", ti->max_cpus_per_pu,
					"oversubscribed",
					ti->max_cpus_per_pu > 1, "pinned",
					atomic_load(&ctx.pin_failed) ? "no" :
								       "yes",
					"pinnings",
					(json_int_t)atomic_load(&ctx.pins)));
		}
		json_object_set_new(root, "elapsed_s", json_real(elapsed));
		json_object_set_new(root, "workload", stats_to_json(&total));
		json_object_set_new(root, "objects", obj_stats_to_json(&total));
		json_object_set_new(root, "vmstat", vmstat_to_json(m));
		json_object_set_new(root, "valid", json_boolean(valid));
		json_object_set_new(root, "leftover_pages",
				    json_integer((json_int_t)left));
		json_object_set_new(root, "violation_count",
				    json_integer((json_int_t)nviol));
		json_object_set_new(root, "signatures",
				    signatures_to_json(&ctx));
		json_object_set_new(root, "violations", va);
		json_object_set_new(root, "result",
				    json_string(failed ? "fail" : "ok"));
		json_dumpf(root, stdout, CLI_JSON_FLAGS);
		fputc('\n', stdout);
		json_decref(root);
	} else {
		printf("workload: %" PRIu64 " allocs (%" PRIu64
		       " failed), %" PRIu64 " frees, %" PRIu64 " bulk (%" PRIu64
		       " pages), %" PRIu64 " softirq, %" PRIu64
		       " hardirq, %" PRIu64 " atomic sections, %" PRIu64
		       " drains, %" PRIu64 " migrations, %" PRIu64
		       " sleeps in %.2f s\n",
		       total.allocs, total.alloc_fails, total.frees,
		       total.bulk_calls, total.bulk_pages, total.softirqs,
		       total.hardirqs, total.atomic_sections, total.drains,
		       total.migrations, total.sleeps, elapsed);
		printf("objects: %" PRIu64 " allocs (%" PRIu64
		       " failed), %" PRIu64 " frees (%" PRIu64
		       " remote), %" PRIu64 " kvfree_rcu, %" PRIu64
		       " grace-period steps, %" PRIu64
		       " shrinks (slab: %s)\n\n",
		       total.obj_allocs, total.obj_fails, total.obj_frees,
		       total.remote_frees, total.kvfree_rcu, total.gp_steps,
		       total.shrinks,
		       o.slab == MMT_SLAB_SLAB	  ? "slab" :
		       o.slab == MMT_SLAB_SHEAVES ? "sheaves" :
						    "slub");
		mmt_vmstat_print(m, stdout);
		if (kept)
			putchar('\n');
		for (i = 0; i < kept; i++)
			mmt_violation_print(mmt_violation_get(m, i), stdout);
		if (nviol > kept)
			printf("(%lu more violation(s) not kept)\n",
			       nviol - kept);
		if (nviol)
			print_signatures(&ctx);
		if (total.not_zeroed)
			printf("workload: %" PRIu64
			       " __GFP_ZERO allocation(s) not zeroed\n",
			       total.not_zeroed);
		if (!valid)
			printf("teardown: mmt_machine_is_valid() failed\n");
		if (topo)
			printf("pinning: %lu thread pinning(s)%s\n",
			       atomic_load(&ctx.pins),
			       atomic_load(&ctx.pin_failed) ?
				       ", then unpinned: binding failed" :
				       "");
		putchar('\n');
	}

	/* The one-line summary: stdout, or stderr when stdout carries JSON. */
	fprintf(o.json ? stderr : stdout,
		"run: %" PRIu64 " ops on %d cpus, seed %" PRIu64 ": ", o.ops,
		o.cpus, o.seed);
	if (nviol)
		fprintf(o.json ? stderr : stdout, "%lu violation(s)\n", nviol);
	else if (failed)
		fprintf(o.json ? stderr : stdout, "FAILED (%s)\n",
			!valid ? "invalid state" :
			left   ? "pages left allocated" :
				 "__GFP_ZERO not zeroed");
	else
		fprintf(o.json ? stderr : stdout, "ok\n");

	mmt_machine_destroy(m);
	mmt_topo_destroy(topo);
	pthread_mutex_destroy(&ctx.sig_mu);
	pthread_mutex_destroy(&ctx.xmu);
	free(workers);
	free((void *)ctx.claimed);
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
