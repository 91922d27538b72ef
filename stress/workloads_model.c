/* SPDX-License-Identifier: MIT */
/*
 * stress/workloads_model.c - the model workloads of `mmtorture stress`:
 * free-running threads that drive the machine's own API (pages, per-cpu
 * lists, nolock paths, reserves and memalloc sockets, mempools, memcgs,
 * CPU hotplug, kvfree_rcu, drains) where the object workloads only see an
 * object heap.
 *
 * Every workload is a table of callbacks the runner (stress/runner.c)
 * calls; each op is one short operation or burst that never blocks for
 * long (the runner parks threads between ops to validate a quiet machine).
 *
 * Oracles of this file (each a finding through mmt_stress_finding(), the
 * model's own checks being the runner's business):
 *  - cookies: every page (the first bytes of each of its pages) and every
 *    object is stamped on allocation and verified before its free, so a
 *    block handed to two owners, or written by a third, is seen by the
 *    owner that frees it (cookie-corrupt, from the runner's verify);
 *  - gfp-zero: memory asked zeroed (__GFP_ZERO, alloc_pages_nolock,
 *    kmalloc_nolock with __GFP_ZERO) holds only zeroes;
 *  - bulk-kept: alloc_pages_bulk keeps the slots the caller populated and
 *    counts them;
 *  - pfmemalloc-escaped: reserve (pfmemalloc) memory reaches neither an
 *    ordinary process-context caller nor a socket without SOCK_MEMALLOC;
 *  - mempool-null / mempool-no-progress: a mempool_alloc() that may wait
 *    never returns NULL; each chain completes requests;
 *  - memcg-charge-stuck: an offline cgroup whose objects are all freed
 *    loses its charge (its dead caches go);
 *  - rcu-reader-saw-free: an object a reader found inside its read-side
 *    section stays intact until the section ends;
 *  - drain-left-pages: drain_local_pages() leaves this CPU's lists empty.
 *
 * Shared state is guarded by host locks (pthread mutexes and rwlocks),
 * outside the model's lock model: they stand for the structure a kernel
 * caller would have (a socket lock, cgroup_mutex, an RCU-published table),
 * are never held across a model call that may wait, and order after
 * nothing of the model (a host lock is taken before the model's, never
 * while a model spinlock is held).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define HELD_MAX 256 /* allocations a thread holds at most */
#define XCHG_SLOTS 128 /* remote-free hand-off table */
#define STAMP_BYTES 64 /* stamped at the head of each page */
#define DEF_ORDER_MAX 3
#define DEF_BATCH 16
#define BATCH_MAX 64
#define DEF_SIZE_MIN 8
#define DEF_SIZE_MAX 2048
#define OBJ_SIZE_MAX 8192

/* ---- parameters ---- */

static unsigned int p_order_max(struct mmt_stress_thread *t)
{
	unsigned int o = mmt_stress_params(mmt_stress_run_of(t))->order_max;

	if (!o)
		return DEF_ORDER_MAX;
	return o < MMT_MAX_ORDER ? o : MMT_MAX_ORDER - 1;
}

static unsigned int p_batch(struct mmt_stress_thread *t)
{
	unsigned int b = mmt_stress_params(mmt_stress_run_of(t))->batch;

	if (!b)
		return DEF_BATCH;
	return b < BATCH_MAX ? b : BATCH_MAX;
}

/* An object size in [size_min, size_max] (defaults @dlo..@dhi, <= 8K). */
static size_t p_size_def(struct mmt_stress_thread *t, size_t dlo, size_t dhi)
{
	const struct mmt_stress_params *p =
		mmt_stress_params(mmt_stress_run_of(t));
	size_t lo = p->size_min ? p->size_min : dlo;
	size_t hi = p->size_max ? p->size_max : dhi;

	if (hi > OBJ_SIZE_MAX)
		hi = OBJ_SIZE_MAX;
	if (lo < 1)
		lo = 1;
	if (lo > hi)
		lo = hi;
	return lo + (size_t)mmt_stress_rand(t, hi - lo + 1);
}

static size_t p_size(struct mmt_stress_thread *t)
{
	return p_size_def(t, DEF_SIZE_MIN, DEF_SIZE_MAX);
}

static bool chance(struct mmt_stress_thread *t, unsigned int pct)
{
	return mmt_stress_rand(t, 100) < pct;
}

static struct mmt_machine *machine_of(struct mmt_stress_thread *t)
{
	return mmt_stress_machine(mmt_stress_run_of(t));
}

static const struct mmt_config *cfg_of(struct mmt_stress_thread *t)
{
	return mmt_machine_config(machine_of(t));
}

/* Lower orders are more common, as in a kernel's mix. */
static unsigned int rand_order(struct mmt_stress_thread *t, unsigned int max)
{
	unsigned int o = 0;

	while (o < max && chance(t, 35))
		o++;
	return o;
}

/* ---- pages: stamping, zero check, held bags, the exchange ---- */

struct pg {
	struct mmt_page *page;
	unsigned int order;
};

struct pgbag {
	struct pg v[HELD_MAX];
	unsigned int n;
};

static void stamp_pages(struct mmt_stress_thread *t, struct mmt_page *page,
			unsigned int order)
{
	unsigned char *p = mmt_page_address(page);
	size_t i;

	for (i = 0; i < (1u << order); i++)
		mmt_stress_stamp(t, p + i * MMT_PAGE_SIZE, STAMP_BYTES);
}

static bool verify_pages(struct mmt_stress_thread *t, struct mmt_page *page,
			 unsigned int order)
{
	const unsigned char *p = mmt_page_address(page);
	bool ok = true;
	size_t i;

	for (i = 0; i < (1u << order) && ok; i++)
		ok = mmt_stress_verify(t, p + i * MMT_PAGE_SIZE, STAMP_BYTES);
	return ok;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void check_zero(struct mmt_stress_thread *t, const void *p, size_t n,
		       const char *what)
{
	if (!all_zero(p, n))
		mmt_stress_finding(
			mmt_stress_run_of(t), "gfp-zero",
			"%s of %zu bytes asked zeroed holds a non-zero byte (thread %d, cpu %d)",
			what, n, mmt_stress_thread_id(t), mmt_stress_cpu(t));
}

static void bag_put(struct pgbag *b, struct mmt_page *page, unsigned int order)
{
	b->v[b->n].page = page;
	b->v[b->n].order = order;
	b->n++;
}

static struct pg bag_take(struct mmt_stress_thread *t, struct pgbag *b)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, b->n);
	struct pg g = b->v[i];

	b->v[i] = b->v[--b->n];
	return g;
}

/* Verify and free one block (the caller's context decides which API). */
static void free_block(struct mmt_stress_thread *t, struct pg g, bool nolock)
{
	uint64_t t0;

	verify_pages(t, g.page, g.order);
	t0 = mmt_stress_clock();
	if (nolock)
		mmt_free_pages_nolock(g.page, g.order);
	else
		mmt_free_pages(g.page, g.order);
	mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_FREE, t0);
	mmt_stress_count(t, nolock ? "free_pages_nolock" : "free_pages", 1);
}

/*
 * Blocks cross threads through this table: a thread swaps a block it
 * holds for whatever another left in a random slot and frees that one,
 * so its free is remote (another CPU's per-cpu list, maybe another node).
 */
struct xchg {
	pthread_mutex_t mu;
	struct pg slot[XCHG_SLOTS];
};

static void xchg_init(struct xchg *x)
{
	pthread_mutex_init(&x->mu, NULL);
	memset(x->slot, 0, sizeof(x->slot));
}

static void xchg_free_remote(struct mmt_stress_thread *t, struct xchg *x,
			     struct pg g)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, XCHG_SLOTS);
	struct pg old;

	pthread_mutex_lock(&x->mu);
	old = x->slot[i];
	x->slot[i] = g;
	pthread_mutex_unlock(&x->mu);
	if (old.page) {
		free_block(t, old, false);
		mmt_stress_count(t, "remote_frees", 1);
	}
}

/* A thread's exit empties the table (later exits find it empty). */
static void xchg_drain(struct mmt_stress_thread *t, struct xchg *x)
{
	unsigned int i;

	for (i = 0; i < XCHG_SLOTS; i++) {
		struct pg old;

		pthread_mutex_lock(&x->mu);
		old = x->slot[i];
		x->slot[i].page = NULL;
		pthread_mutex_unlock(&x->mu);
		if (old.page)
			free_block(t, old, false);
	}
}

/* Teardown's net: what no thread took (main thread attached). */
static void xchg_destroy(struct xchg *x)
{
	unsigned int i;

	for (i = 0; i < XCHG_SLOTS; i++)
		if (x->slot[i].page)
			mmt_free_pages(x->slot[i].page, x->slot[i].order);
	pthread_mutex_destroy(&x->mu);
}

/* ---- GFP masks (stress/gfp_mix.c) ---- */

static mmt_gfp_t rand_gfp(struct mmt_stress_thread *t,
			  enum mmt_stress_gfp_mix mix)
{
	return mmt_stress_pick_gfp(mix, mmt_stress_rand(t, UINT64_MAX),
				   cfg_of(t)->dma32_pages > 0);
}

/* Allocate, check zeroing, stamp and hold one block; false if it failed. */
static bool alloc_block(struct mmt_stress_thread *t, struct pgbag *b,
			mmt_gfp_t gfp, unsigned int order)
{
	struct mmt_page *page;
	uint64_t t0;

	if (b->n == HELD_MAX)
		return false;
	t0 = mmt_stress_clock();
	page = mmt_alloc_pages(gfp, order);
	mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_ALLOC, t0);
	mmt_stress_count(t, "alloc_pages", 1);
	if (!page) {
		mmt_stress_count(t, "alloc_fails", 1);
		return false;
	}
	if (gfp & __GFP_ZERO)
		check_zero(t, mmt_page_address(page), MMT_PAGE_SIZE << order,
			   "a block from alloc_pages(__GFP_ZERO)");
	stamp_pages(t, page, order);
	bag_put(b, page, order);
	return true;
}

/* ---- pcp-churn / drain-all: per-cpu page churn ---- */

struct churn_shared {
	struct xchg x;
	bool drainer; /* drain-all: drains from other CPUs */
};

struct churn_thread {
	struct pgbag held;
};

static bool churn_setup_common(struct mmt_stress_run *run, bool drainer)
{
	struct churn_shared *s = calloc(1, sizeof(*s));

	if (!s)
		return false;
	xchg_init(&s->x);
	s->drainer = drainer;
	mmt_stress_set_shared(run, s);
	return true;
}

static bool churn_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	if (churn_setup_common(run, false))
		return true;
	snprintf(err, errlen, "pcp-churn: out of memory");
	return false;
}

static bool drain_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	if (churn_setup_common(run, true))
		return true;
	snprintf(err, errlen, "drain-all: out of memory");
	return false;
}

static void churn_teardown(struct mmt_stress_run *run)
{
	struct churn_shared *s = mmt_stress_shared(run);

	mmt_stress_main_attach(run);
	xchg_destroy(&s->x);
	mmt_stress_main_detach(run);
	free(s);
}

static void churn_thread_init(struct mmt_stress_thread *t)
{
	struct churn_thread *c = calloc(1, sizeof(*c));

	if (!c)
		abort(); /* a few KiB at start: nothing sensible to go on with */
	mmt_stress_set_priv(t, c);
}

static void churn_thread_exit(struct mmt_stress_thread *t)
{
	struct churn_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct churn_thread *c = mmt_stress_priv(t);

	while (c->held.n)
		free_block(t, bag_take(t, &c->held), false);
	xchg_drain(t, &s->x);
	free(c);
	mmt_stress_set_priv(t, NULL);
}

/* Free a held block here (70%) or hand it to another thread (30%). */
static void churn_free_one(struct mmt_stress_thread *t, struct churn_thread *c,
			   struct churn_shared *s)
{
	struct pg g;

	if (!c->held.n)
		return;
	g = bag_take(t, &c->held);
	if (chance(t, 30))
		xchg_free_remote(t, &s->x, g);
	else
		free_block(t, g, false);
}

static void churn_alloc(struct mmt_stress_thread *t, struct churn_thread *c)
{
	mmt_gfp_t gfp = rand_gfp(t, MMT_STRESS_GFP_PROCESS);
	unsigned int order = rand_order(t, p_order_max(t)), saved = 0;
	unsigned int scope = (unsigned int)mmt_stress_rand(t, 100);

	/* Sometimes inside a scope: reclaim's PF_MEMALLOC or NOFS / NOIO. */
	if (scope < 3)
		saved = mmt_memalloc_noreclaim_save();
	else if (scope < 6)
		saved = mmt_memalloc_nofs_save();
	else if (scope < 8)
		saved = mmt_memalloc_noio_save();
	alloc_block(t, &c->held, gfp, order);
	if (scope < 3)
		mmt_memalloc_noreclaim_restore(saved);
	else if (scope < 6)
		mmt_memalloc_nofs_restore(saved);
	else if (scope < 8)
		mmt_memalloc_noio_restore(saved);
}

/* A few atomic allocations and frees in the current (atomic) context. */
static void churn_atomic_ops(struct mmt_stress_thread *t,
			     struct churn_thread *c, struct churn_shared *s)
{
	unsigned int k = 1 + (unsigned int)mmt_stress_rand(t, 4);

	while (k--) {
		if (chance(t, 50))
			alloc_block(t, &c->held,
				    rand_gfp(t, MMT_STRESS_GFP_ATOMIC),
				    rand_order(t, p_order_max(t) < 1 ?
							  p_order_max(t) :
							  1));
		else
			churn_free_one(t, c, s);
	}
}

/*
 * An interrupt arrives (softirq 2 in 3, else hardirq) or the thread runs
 * a preempt-off / irq-off section, each allocating with atomic masks.
 * Under RT rules the allocator's spinlocks sleep: no allocator call in a
 * hard irq or with preemption or interrupts off there.
 */
static void churn_atomic(struct mmt_stress_thread *t, struct churn_thread *c,
			 struct churn_shared *s)
{
	bool rt = cfg_of(t)->rt_rules;
	unsigned int r = (unsigned int)mmt_stress_rand(t, 6);
	unsigned long flags;

	if (r < 3) {
		mmt_softirq_enter();
		churn_atomic_ops(t, c, s);
		mmt_softirq_exit();
		mmt_stress_count(t, "softirqs", 1);
	} else if (rt) {
		return;
	} else if (r < 4) {
		mmt_irq_enter();
		churn_atomic_ops(t, c, s);
		mmt_irq_exit();
		mmt_stress_count(t, "hardirqs", 1);
	} else if (r < 5) {
		mmt_preempt_disable();
		churn_atomic_ops(t, c, s);
		mmt_preempt_enable();
	} else {
		flags = mmt_local_irq_save();
		churn_atomic_ops(t, c, s);
		mmt_local_irq_restore(flags);
	}
}

/*
 * drain_local_pages() empties this CPU's lists: nothing else puts pages
 * there (remote frees go to the freeing CPU's lists) while this thread is
 * on the CPU, so any page left is a finding.
 */
static void drain_local_checked(struct mmt_stress_thread *t)
{
	struct mmt_machine *m = machine_of(t);
	int z, cpu = mmt_stress_cpu(t);

	mmt_drain_local_pages();
	mmt_stress_count(t, "drain_local", 1);
	for (z = 0; z < mmt_nr_zones(m); z++) {
		unsigned long left = mmt_pcp_count(m, cpu, z);

		if (left)
			mmt_stress_finding(
				mmt_stress_run_of(t), "drain-left-pages",
				"drain_local_pages() on cpu %d left %lu page(s) on the per-cpu lists of zone %d",
				cpu, left, z);
	}
}

static void churn_op(struct mmt_stress_thread *t)
{
	struct churn_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct churn_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 1000);

	if (s->drainer && r < 60) {
		/* drain-all: 6% of ops drain, 2 in 3 of them every CPU. */
		if (r < 40) {
			mmt_drain_all_pages(machine_of(t));
			mmt_stress_count(t, "drain_all", 1);
		} else {
			drain_local_checked(t);
		}
		return;
	}
	if (c->held.n == HELD_MAX && r < 600)
		r = 600;
	if (r < 480)
		churn_alloc(t, c);
	else if (r < 560)
		churn_atomic(t, c, s);
	else if (r < 980)
		churn_free_one(t, c, s);
	else if (r < 990)
		drain_local_checked(t);
	else
		mmt_stress_migrate(t);
}

/* ---- bulk-pages ---- */

/*
 * One alloc_pages_bulk call into an array where some slots already hold
 * pages of ours: those must stay where they are, the count must cover
 * every populated slot, and the new pages are stamped and held.
 */
static void bulk_alloc(struct mmt_stress_thread *t, struct churn_thread *c)
{
	struct mmt_page *array[BATCH_MAX], *pre[BATCH_MAX];
	unsigned int nr = 1 + (unsigned int)mmt_stress_rand(t, p_batch(t));
	unsigned int room = HELD_MAX - c->held.n, i, got, populated = 0;
	mmt_gfp_t gfp = rand_gfp(t, MMT_STRESS_GFP_BULK);
	bool atomic = !(gfp & __GFP_DIRECT_RECLAIM) && chance(t, 50);
	uint64_t t0;

	if (nr > room)
		nr = room;
	if (!nr)
		return;
	memset(array, 0, sizeof(array));
	/* Pre-populate some slots with order-0 pages we hold. */
	for (i = 0; i < c->held.n && chance(t, 20); i++) {
		unsigned int slot = (unsigned int)mmt_stress_rand(t, nr);

		if (c->held.v[i].order || array[slot])
			continue;
		array[slot] = c->held.v[i].page;
		populated++;
	}
	memcpy(pre, array, sizeof(pre));
	t0 = mmt_stress_clock();
	if (atomic)
		mmt_softirq_enter();
	got = mmt_alloc_pages_bulk(gfp, nr, array);
	if (atomic)
		mmt_softirq_exit();
	mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_ALLOC, t0);
	mmt_stress_count(t, "bulk_calls", 1);
	if (got < populated || got > nr)
		mmt_stress_finding(
			mmt_stress_run_of(t), "bulk-kept",
			"alloc_pages_bulk(nr %u) with %u slot(s) populated returned %u",
			nr, populated, got);
	for (i = 0; i < nr; i++) {
		if (pre[i]) {
			if (array[i] != pre[i])
				mmt_stress_finding(
					mmt_stress_run_of(t), "bulk-kept",
					"alloc_pages_bulk replaced the page the caller had in slot %u",
					i);
			continue;
		}
		if (!array[i])
			continue;
		mmt_stress_count(t, "bulk_pages", 1);
		stamp_pages(t, array[i], 0);
		if (c->held.n < HELD_MAX)
			bag_put(&c->held, array[i], 0);
		else
			free_block(t, (struct pg){ array[i], 0 }, false);
	}
}

/* Free a batch: random held blocks, some handed to other threads. */
static void bulk_free(struct mmt_stress_thread *t, struct churn_thread *c,
		      struct churn_shared *s)
{
	unsigned int k = 1 + (unsigned int)mmt_stress_rand(t, p_batch(t));

	while (k-- && c->held.n)
		churn_free_one(t, c, s);
}

static void bulk_op(struct mmt_stress_thread *t)
{
	struct churn_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct churn_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100);

	if (c->held.n + p_batch(t) > HELD_MAX || r < 45)
		bulk_free(t, c, s);
	else if (r < 95)
		bulk_alloc(t, c);
	else if (r < 98)
		alloc_block(t, &c->held, GFP_KERNEL,
			    rand_order(t, p_order_max(t)));
	else
		mmt_drain_local_pages();
}

/* ---- nolock-storm ---- */

enum nl_kind {
	NL_PAGE,
	NL_OBJ
};

struct nl_item {
	void *p; /* the block's page, or the object */
	unsigned int order; /* NL_PAGE */
	size_t size; /* NL_OBJ */
	enum nl_kind kind;
};

struct nl_thread {
	struct nl_item v[HELD_MAX];
	unsigned int n;
};

static bool nl_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	(void)run;
	(void)err;
	(void)errlen;
	return true;
}

static void nl_thread_init(struct mmt_stress_thread *t)
{
	struct nl_thread *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	mmt_stress_set_priv(t, c);
}

static void nl_hold(struct nl_thread *c, void *p, enum nl_kind kind,
		    unsigned int order, size_t size)
{
	c->v[c->n].p = p;
	c->v[c->n].kind = kind;
	c->v[c->n].order = order;
	c->v[c->n].size = size;
	c->n++;
}

static size_t nl_stamp_len(size_t size)
{
	return size < STAMP_BYTES ? size : STAMP_BYTES;
}

/* Free one held item with the nolock API (@nolock) or the ordinary one. */
static void nl_free_one(struct mmt_stress_thread *t, struct nl_thread *c,
			bool nolock)
{
	unsigned int i;
	struct nl_item it;
	uint64_t t0;

	if (!c->n)
		return;
	i = (unsigned int)mmt_stress_rand(t, c->n);
	it = c->v[i];
	c->v[i] = c->v[--c->n];
	if (it.kind == NL_PAGE) {
		free_block(t, (struct pg){ it.p, it.order }, nolock);
		return;
	}
	mmt_stress_verify(t, it.p, nl_stamp_len(it.size));
	t0 = mmt_stress_clock();
	if (nolock)
		mmt_kfree_nolock(it.p);
	else
		mmt_kfree(it.p);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_FREE, t0);
	mmt_stress_count(t, nolock ? "kfree_nolock" : "kfree", 1);
}

/* One nolock (or FAST_TRY) allocation in the current context. */
static void nl_alloc_one(struct mmt_stress_thread *t, struct nl_thread *c)
{
	struct mmt_machine *m = machine_of(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 3);
	unsigned int order =
		rand_order(t, p_order_max(t) < 2 ? p_order_max(t) : 2);
	uint64_t t0;

	if (c->n == HELD_MAX)
		return;
	if (r == 0) {
		int nid = chance(t, 70) ? -1 :
					  (int)mmt_stress_rand(
						  t, (uint64_t)mmt_nr_nodes(m));
		struct mmt_page *page;

		t0 = mmt_stress_clock();
		page = mmt_alloc_pages_nolock(0, nid, order);
		mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_ALLOC, t0);
		mmt_stress_count(t, "alloc_pages_nolock", 1);
		if (!page) {
			mmt_stress_count(t, "nolock_fails", 1);
			return;
		}
		/* alloc_pages_nolock always zeroes. */
		check_zero(t, mmt_page_address(page), MMT_PAGE_SIZE << order,
			   "a block from alloc_pages_nolock");
		stamp_pages(t, page, order);
		nl_hold(c, page, NL_PAGE, order, 0);
	} else if (r == 1) {
		size_t size = p_size(t);
		mmt_gfp_t gfp = chance(t, 30) ? __GFP_ZERO : 0;
		void *p;

		t0 = mmt_stress_clock();
		p = mmt_kmalloc_nolock(size, gfp, -1);
		mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
		mmt_stress_count(t, "kmalloc_nolock", 1);
		if (!p) {
			mmt_stress_count(t, "nolock_fails", 1);
			return;
		}
		if (gfp & __GFP_ZERO)
			check_zero(t, p, size,
				   "an object from kmalloc_nolock(__GFP_ZERO)");
		mmt_stress_stamp(t, p, nl_stamp_len(size));
		nl_hold(c, p, NL_OBJ, 0, size);
	} else {
		mmt_gfp_t gfp = __GFP_FAST_TRY | __GFP_NOWARN |
				(chance(t, 30) ? __GFP_ZERO : 0);
		struct mmt_page *page;

		t0 = mmt_stress_clock();
		page = mmt_alloc_pages(gfp, order);
		mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_ALLOC, t0);
		mmt_stress_count(t, "fast_try", 1);
		if (!page) {
			mmt_stress_count(t, "fast_try_fails", 1);
			return;
		}
		if (gfp & __GFP_ZERO)
			check_zero(
				t, mmt_page_address(page),
				MMT_PAGE_SIZE << order,
				"a block from alloc_pages(__GFP_FAST_TRY|__GFP_ZERO)");
		stamp_pages(t, page, order);
		nl_hold(c, page, NL_PAGE, order, 0);
	}
}

/* An interrupt (hard 1 in 2, else soft) of nolock allocations and frees. */
static void nl_irq(struct mmt_stress_thread *t, struct nl_thread *c)
{
	unsigned int k = 1 + (unsigned int)mmt_stress_rand(t, 6);
	bool hard = chance(t, 50);

	if (hard)
		mmt_irq_enter();
	else
		mmt_softirq_enter();
	while (k--) {
		if (chance(t, 55))
			nl_alloc_one(t, c);
		else
			nl_free_one(t, c, true);
	}
	if (hard)
		mmt_irq_exit();
	else
		mmt_softirq_exit();
	mmt_stress_count(t, hard ? "hardirqs" : "softirqs", 1);
}

/* Process context: refill this CPU's lists with a burst of order-0 pages. */
static void nl_refill(struct mmt_stress_thread *t, struct nl_thread *c)
{
	unsigned int k = p_batch(t);
	uint64_t t0;

	while (k-- && c->n < HELD_MAX) {
		struct mmt_page *page;

		t0 = mmt_stress_clock();
		page = mmt_alloc_pages(GFP_KERNEL, 0);
		mmt_stress_lat(t, MMT_STRESS_LAT_PAGE_ALLOC, t0);
		if (!page)
			return;
		stamp_pages(t, page, 0);
		nl_hold(c, page, NL_PAGE, 0, 0);
	}
}

/* Process context: a burst of frees that overflows the lists to the zone. */
static void nl_drain(struct mmt_stress_thread *t, struct nl_thread *c)
{
	unsigned int k = p_batch(t);

	while (k-- && c->n)
		nl_free_one(t, c, chance(t, 20));
}

static void nl_op(struct mmt_stress_thread *t)
{
	struct nl_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100);

	if (c->n > HELD_MAX - p_batch(t) && r >= 35 && r < 60)
		r = 60;
	if (r < 35)
		nl_irq(t, c);
	else if (r < 55)
		nl_refill(t, c);
	else if (r < 85)
		nl_drain(t, c);
	else if (r < 90)
		mmt_drain_local_pages();
	else if (r < 92)
		mmt_drain_all_pages(machine_of(t));
	else if (r < 97)
		nl_free_one(t, c, chance(t, 50));
	else
		mmt_stress_migrate(t);
}

static void nl_thread_exit(struct mmt_stress_thread *t)
{
	struct nl_thread *c = mmt_stress_priv(t);

	while (c->n)
		nl_free_one(t, c, chance(t, 50));
	free(c);
	mmt_stress_set_priv(t, NULL);
}

/* What free_pages_nolock / kfree_nolock deferred goes back now. */
static void nl_teardown(struct mmt_stress_run *run)
{
	struct mmt_machine *m = mmt_stress_machine(run);

	mmt_stress_main_attach(run);
	mmt_drain_deferred_pages(m);
	mmt_slab_drain_deferred(m);
	mmt_stress_main_detach(run);
}

/* ---- kvfree-rcu-storm ---- */

#define RCU_SLOTS 64
#define RCU_BODY 96 /* stamped bytes after the head and tag */
#define RCU_LOOK_MAX 8
#define RCU_SNAP 32 /* bytes of the body a reader remembers */

/*
 * An object published in a slot.  The head belongs to kvfree_rcu once the
 * object is retired (the two-argument form may write it): readers never
 * look at it.  tag and body are written before publication and never
 * again until the memory is freed.
 */
struct robj {
	struct mmt_rcu_head rh;
	uint64_t tag;
	unsigned char body[RCU_BODY];
};

struct rcu_shared {
	_Atomic(struct robj *) slot[RCU_SLOTS];
};

static bool rcu_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct rcu_shared *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "kvfree-rcu-storm: out of memory");
		return false;
	}
	mmt_stress_set_shared(run, s);
	return true;
}

static void rcu_retire(struct mmt_stress_thread *t, struct robj *o)
{
	mmt_stress_verify(t, o->body, RCU_BODY);
	/* The head-less form may sleep (its fallback waits a grace period). */
	if (chance(t, 85))
		mmt_kvfree_rcu_head(o, &o->rh);
	else
		mmt_kvfree_rcu(o);
	mmt_stress_count(t, "kvfree_rcu", 1);
}

/* Publish a new object in a random slot; retire the one it replaces. */
static void rcu_write(struct mmt_stress_thread *t, struct rcu_shared *s)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, RCU_SLOTS);
	struct robj *o = NULL, *old;
	uint64_t t0;

	if (chance(t, 90)) {
		t0 = mmt_stress_clock();
		o = mmt_kmalloc(sizeof(*o),
				chance(t, 80) ? GFP_KERNEL : GFP_ATOMIC);
		mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
		if (!o) {
			mmt_stress_count(t, "alloc_fails", 1);
			return;
		}
		o->tag = mmt_stress_rand(t, UINT64_MAX) | 1;
		mmt_stress_stamp(t, o->body, RCU_BODY);
	}
	/* The release pairs with the readers' acquire load of the slot. */
	old = atomic_exchange_explicit(&s->slot[i], o, memory_order_acq_rel);
	if (old)
		rcu_retire(t, old);
}

/*
 * A read-side section over a few published objects: remember what each
 * holds, let time pass (other threads retire and step grace periods),
 * and check every object again before leaving.  An object freed while
 * this CPU is inside the section that found it has been poisoned, put on
 * a freelist or handed out again: its tag or body changed.
 */
static void rcu_read(struct mmt_stress_thread *t, struct rcu_shared *s)
{
	struct {
		struct robj *o;
		uint64_t tag;
		unsigned char snap[RCU_SNAP];
	} seen[RCU_LOOK_MAX];
	unsigned int k = 1 + (unsigned int)mmt_stress_rand(t, RCU_LOOK_MAX);
	unsigned int n = 0, i, spin;

	mmt_rcu_read_lock();
	for (i = 0; i < k; i++) {
		struct robj *o = atomic_load_explicit(
			&s->slot[mmt_stress_rand(t, RCU_SLOTS)],
			memory_order_acquire);

		if (!o)
			continue;
		seen[n].o = o;
		seen[n].tag = o->tag;
		memcpy(seen[n].snap, o->body, RCU_SNAP);
		n++;
	}
	/* Widen the window: yield now and then, else spin a little. */
	if (chance(t, 10))
		sched_yield();
	else
		for (spin = 0; spin < 200; spin++)
			atomic_signal_fence(memory_order_seq_cst);
	for (i = 0; i < n; i++) {
		const struct robj *o = seen[i].o;

		if (o->tag != seen[i].tag ||
		    memcmp(o->body, seen[i].snap, RCU_SNAP))
			mmt_stress_finding(
				mmt_stress_run_of(t), "rcu-reader-saw-free",
				"object %p changed under rcu_read_lock on cpu %d: freed while a reader that found it was still inside its section (grace periods completed: %llu)",
				(const void *)o, mmt_stress_cpu(t),
				(unsigned long long)mmt_rcu_gp_completed(
					machine_of(t)));
	}
	mmt_rcu_read_unlock();
	mmt_stress_count(t, "read_sections", 1);
}

static void rcu_op(struct mmt_stress_thread *t)
{
	struct rcu_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100);

	if (r < 45) {
		rcu_read(t, s);
	} else if (r < 80) {
		rcu_write(t, s);
	} else if (r < 97) {
		if (mmt_rcu_gp_step(machine_of(t)))
			mmt_stress_count(t, "gp_ended", 1);
		mmt_stress_count(t, "gp_steps", 1);
	} else {
		mmt_stress_migrate(t);
	}
}

/* Retire every published object (later exits find the slots empty). */
static void rcu_thread_exit(struct mmt_stress_thread *t)
{
	struct rcu_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	unsigned int i;

	for (i = 0; i < RCU_SLOTS; i++) {
		struct robj *old = atomic_exchange_explicit(
			&s->slot[i], NULL, memory_order_acq_rel);

		if (old)
			rcu_retire(t, old);
	}
}

/* The runner's final kvfree_rcu barrier frees what is still queued. */
static void rcu_teardown(struct mmt_stress_run *run)
{
	struct rcu_shared *s = mmt_stress_shared(run);

	mmt_stress_main_attach(run);
	mmt_kvfree_rcu_barrier(mmt_stress_machine(run));
	mmt_stress_main_detach(run);
	free(s);
}

/* ---- memcg-offline ---- */

#define CG_SLOTS 4
#define CG_DYING_MAX 32 /* offline groups waiting to go (64 in a machine) */
#define CG_OBJ_SIZE 256

struct cobj {
	void *p;
	size_t size; /* stamped bytes */
	bool kmalloc; /* else from the accounted cache */
};

struct cg_slot {
	pthread_rwlock_t lk; /* readers move a task in; the writer swaps */
	struct mmt_memcg *cg;
};

struct cg_shared {
	struct mmt_kmem_cache *cache; /* MMT_SLAB_ACCOUNT */
	struct cg_slot slot[CG_SLOTS];
	pthread_mutex_t dying_mu;
	struct mmt_memcg *dying[CG_DYING_MAX];
	unsigned int nr_dying;
	_Atomic unsigned int gen; /* names */
	pthread_mutex_t xmu;
	struct cobj x[XCHG_SLOTS]; /* objects handed to other threads */
};

struct cg_thread {
	struct cobj v[HELD_MAX];
	unsigned int n;
};

static struct mmt_memcg *cg_new(struct mmt_machine *m, struct cg_shared *s)
{
	char name[32];

	snprintf(name, sizeof(name), "stress-%u", atomic_fetch_add(&s->gen, 1));
	return mmt_memcg_create(m, name);
}

static bool cg_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct mmt_machine *m = mmt_stress_machine(run);
	struct cg_shared *s = calloc(1, sizeof(*s));
	unsigned int i;
	bool ok = true;

	if (!s) {
		snprintf(err, errlen, "memcg-offline: out of memory");
		return false;
	}
	pthread_mutex_init(&s->dying_mu, NULL);
	pthread_mutex_init(&s->xmu, NULL);
	mmt_stress_main_attach(run);
	s->cache = mmt_kmem_cache_create("stress-memcg", CG_OBJ_SIZE, 0,
					 MMT_SLAB_ACCOUNT, NULL);
	ok = s->cache != NULL;
	for (i = 0; i < CG_SLOTS; i++) {
		pthread_rwlock_init(&s->slot[i].lk, NULL);
		s->slot[i].cg = ok ? cg_new(m, s) : NULL;
		ok = ok && s->slot[i].cg;
	}
	mmt_stress_main_detach(run);
	mmt_stress_set_shared(run, s);
	if (!ok)
		snprintf(
			err, errlen,
			"memcg-offline: cannot create the accounted cache or the cgroups");
	return ok;
}

static void cg_thread_init(struct mmt_stress_thread *t)
{
	struct cg_thread *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	mmt_stress_set_priv(t, c);
}

static void cg_free_obj(struct mmt_stress_thread *t, struct cg_shared *s,
			struct cobj o)
{
	uint64_t t0;

	mmt_stress_verify(t, o.p, o.size);
	t0 = mmt_stress_clock();
	if (o.kmalloc)
		mmt_kfree(o.p);
	else
		mmt_kmem_cache_free(s->cache, o.p);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_FREE, t0);
	mmt_stress_count(t, "frees", 1);
}

static bool cg_sizes_given(struct mmt_stress_thread *t)
{
	const struct mmt_stress_params *p =
		mmt_stress_params(mmt_stress_run_of(t));

	return p->size_min || p->size_max;
}

/* Join a cgroup of a slot (it may go offline right after) and allocate. */
static void cg_alloc(struct mmt_stress_thread *t, struct cg_thread *c,
		     struct cg_shared *s)
{
	struct cg_slot *sl = &s->slot[mmt_stress_rand(t, CG_SLOTS)];
	struct cobj o;
	uint64_t t0;

	if (c->n == HELD_MAX)
		return;
	pthread_rwlock_rdlock(&sl->lk);
	mmt_task_set_memcg(mmt_stress_task(t), sl->cg);
	pthread_rwlock_unlock(&sl->lk);
	o.kmalloc = chance(t, 40);
	t0 = mmt_stress_clock();
	if (o.kmalloc) {
		/*
		 * Two kmalloc classes by default: each class is a child
		 * cache per group, which the validators walk on every CPU.
		 */
		size_t size = cg_sizes_given(t) ? p_size(t) :
			      chance(t, 50)	? 96 :
						  512;

		o.p = mmt_kmalloc(size, chance(t, 80) ?
						GFP_KERNEL_ACCOUNT :
						GFP_ATOMIC | __GFP_ACCOUNT);
		o.size = size;
	} else {
		o.p = mmt_kmem_cache_alloc(
			s->cache, chance(t, 80) ? GFP_KERNEL : GFP_NOWAIT);
		o.size = CG_OBJ_SIZE;
	}
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
	mmt_stress_count(t, "allocs", 1);
	if (!o.p) {
		mmt_stress_count(t, "alloc_fails", 1);
		return;
	}
	mmt_stress_stamp(t, o.p, o.size);
	c->v[c->n++] = o;
}

/* Free a held object here (60%) or through the exchange (remote). */
static void cg_free_one(struct mmt_stress_thread *t, struct cg_thread *c,
			struct cg_shared *s)
{
	unsigned int i;
	struct cobj o, old;

	if (!c->n)
		return;
	i = (unsigned int)mmt_stress_rand(t, c->n);
	o = c->v[i];
	c->v[i] = c->v[--c->n];
	if (chance(t, 60)) {
		cg_free_obj(t, s, o);
		return;
	}
	i = (unsigned int)mmt_stress_rand(t, XCHG_SLOTS);
	pthread_mutex_lock(&s->xmu);
	old = s->x[i];
	s->x[i] = o;
	pthread_mutex_unlock(&s->xmu);
	if (old.p) {
		cg_free_obj(t, s, old);
		mmt_stress_count(t, "remote_frees", 1);
	}
}

/*
 * rmdir: a fresh group takes the slot, the old one goes offline while
 * its objects are still out (and tasks still in it: their allocations go
 * to the root caches from now on), and waits on the dying list.
 */
static void cg_offline(struct mmt_stress_thread *t, struct cg_shared *s)
{
	struct cg_slot *sl = &s->slot[mmt_stress_rand(t, CG_SLOTS)];
	struct mmt_memcg *old, *fresh;
	unsigned int i;

	pthread_mutex_lock(&s->dying_mu);
	if (s->nr_dying == CG_DYING_MAX) {
		pthread_mutex_unlock(&s->dying_mu);
		return;
	}
	s->nr_dying++; /* a place on the list, taken before the swap */
	pthread_mutex_unlock(&s->dying_mu);
	fresh = cg_new(machine_of(t), s);
	if (!fresh) {
		pthread_mutex_lock(&s->dying_mu);
		s->nr_dying--;
		pthread_mutex_unlock(&s->dying_mu);
		return;
	}
	pthread_rwlock_wrlock(&sl->lk);
	old = sl->cg;
	sl->cg = fresh;
	pthread_rwlock_unlock(&sl->lk);
	mmt_memcg_offline(old);
	mmt_stress_count(t, "offlines", 1);
	/* The place taken above guarantees a free entry. */
	pthread_mutex_lock(&s->dying_mu);
	for (i = 0; i < CG_DYING_MAX; i++)
		if (!s->dying[i]) {
			s->dying[i] = old;
			break;
		}
	pthread_mutex_unlock(&s->dying_mu);
}

/* An offline group whose caches and charge are gone is destroyed. */
static void cg_reap(struct mmt_stress_thread *t, struct cg_shared *s)
{
	struct mmt_memcg *cg = NULL;
	unsigned int i;

	mmt_memcg_reap(machine_of(t));
	pthread_mutex_lock(&s->dying_mu);
	for (i = 0; i < CG_DYING_MAX; i++) {
		struct mmt_memcg *d = s->dying[i];

		if (d && !mmt_memcg_nr_caches(d) &&
		    !mmt_memcg_charged_pages(d)) {
			cg = d;
			s->dying[i] = NULL;
			s->nr_dying--;
			break;
		}
	}
	pthread_mutex_unlock(&s->dying_mu);
	if (cg) {
		mmt_memcg_destroy(cg);
		mmt_stress_count(t, "destroys", 1);
	}
}

static void cg_op(struct mmt_stress_thread *t)
{
	struct cg_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct cg_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 1000);

	if (c->n == HELD_MAX && r < 500)
		r = 500;
	if (r < 490) {
		cg_alloc(t, c, s);
	} else if (r < 970) {
		cg_free_one(t, c, s);
	} else if (r < 975) {
		/* A burst: many frees in a row, as a task's exit does. */
		unsigned int k = p_batch(t);

		while (k-- && c->n)
			cg_free_one(t, c, s);
	} else if (r < 980) {
		cg_offline(t, s);
	} else if (r < 990) {
		cg_reap(t, s);
	} else if (r < 995) {
		mmt_kmem_cache_shrink(s->cache);
	} else {
		mmt_stress_migrate(t);
	}
}

static void cg_thread_exit(struct mmt_stress_thread *t)
{
	struct cg_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct cg_thread *c = mmt_stress_priv(t);
	unsigned int i;

	while (c->n)
		cg_free_obj(t, s, c->v[--c->n]);
	for (i = 0; i < XCHG_SLOTS; i++) {
		struct cobj old;

		pthread_mutex_lock(&s->xmu);
		old = s->x[i];
		s->x[i].p = NULL;
		pthread_mutex_unlock(&s->xmu);
		if (old.p)
			cg_free_obj(t, s, old);
	}
	mmt_task_set_memcg(mmt_stress_task(t), NULL);
	free(c);
	mmt_stress_set_priv(t, NULL);
}

/*
 * Every object is back: each offline group must lose its caches and its
 * charge (a dead cache that never goes keeps both: a finding), then every
 * group is destroyed.
 */
static void cg_teardown(struct mmt_stress_run *run)
{
	struct cg_shared *s = mmt_stress_shared(run);
	struct mmt_machine *m = mmt_stress_machine(run);
	unsigned int i;

	mmt_stress_main_attach(run);
	for (i = 0; i < XCHG_SLOTS; i++)
		if (s->x[i].p)
			cg_free_obj(mmt_stress_main_thread(run), s, s->x[i]);
	for (i = 0; i < CG_SLOTS; i++) {
		if (s->slot[i].cg)
			mmt_memcg_offline(s->slot[i].cg);
	}
	mmt_memcg_reap(m);
	for (i = 0; i < CG_SLOTS + CG_DYING_MAX; i++) {
		struct mmt_memcg *cg = i < CG_SLOTS ? s->slot[i].cg :
						      s->dying[i - CG_SLOTS];
		int caches;
		long charged;

		if (!cg)
			continue;
		caches = mmt_memcg_nr_caches(cg);
		charged = mmt_memcg_charged_pages(cg);
		if (caches || charged) {
			mmt_stress_finding(
				run, "memcg-charge-stuck",
				"offline cgroup %s keeps %d cache(s) and %ld charged page(s) after every object was freed",
				mmt_memcg_name(cg), caches, charged);
			continue;
		}
		mmt_memcg_destroy(cg);
	}
	if (s->cache)
		mmt_kmem_cache_destroy(s->cache);
	mmt_stress_main_detach(run);
	for (i = 0; i < CG_SLOTS; i++)
		pthread_rwlock_destroy(&s->slot[i].lk);
	pthread_mutex_destroy(&s->dying_mu);
	pthread_mutex_destroy(&s->xmu);
	free(s);
}

/* ---- mempool-chains ---- */

#define MP_CHAINS 2
#define MP_ELEM 256
#define MP_TOP_MIN 4
#define MP_MID_MIN 8
#define MP_BOTTOM_MIN 16
#define MP_PAGES_MIN 8
#define MP_HOG_ORDER 3

/*
 * The encrypted-swap world: each chain is a dm-crypt over a block device,
 * three pools deep - "crypt" whose elements come from "lower" whose
 * elements come from a kmalloc pool - and every request also takes a page
 * of a shared page pool (the ciphertext page).  Requests that may wait
 * (GFP_NOIO) are completed later by another thread (the lower device's
 * completion); requests that may not (GFP_NOWAIT) complete at once.
 *
 * Forward progress.  A pool's invariant (curr_nr >= min_nr - elements
 * out) means a waiter is served as long as fewer than min_nr elements are
 * out.  Waiting requests hold a token per pool (min_nr tokens each) until
 * their completion, and the others return what they take within their
 * op, so a waiting mempool_alloc() only waits for an op in flight: it
 * must never fail (mempool-null) and every chain must complete requests
 * (mempool-no-progress).  Other threads hog pages meanwhile, so the
 * chains' allocators fail and the pools' reserves are used.
 */
struct mp_req {
	void *elem; /* from top[chain] */
	struct mmt_page *page; /* from the page pool */
	int chain;
};

struct mp_shared {
	struct mmt_mempool *bottom[MP_CHAINS], *mid[MP_CHAINS], *top[MP_CHAINS];
	struct mmt_mempool *pages;
	_Atomic int top_tokens[MP_CHAINS], page_tokens;
	_Atomic uint64_t attempts[MP_CHAINS], done[MP_CHAINS];
	pthread_mutex_t xmu;
	struct mp_req x[XCHG_SLOTS]; /* waiting requests to complete */
};

struct mp_thread {
	struct pgbag hog;
};

/* A pool whose elements are the next pool's (one link of a chain). */
static void *mp_chain_alloc(mmt_gfp_t gfp, void *next)
{
	return mmt_mempool_alloc(next, gfp);
}

static void mp_chain_free(void *elem, void *next)
{
	mmt_mempool_free(elem, next);
}

static void mp_configure(const struct mmt_stress_params *p,
			 struct mmt_config *cfg)
{
	(void)p;
	/* Small nodes, so that the hogs bring them to their watermarks. */
	cfg->normal_pages = 2048;
}

static bool mp_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct mp_shared *s = calloc(1, sizeof(*s));
	bool ok = true;
	int c;

	if (!s) {
		snprintf(err, errlen, "mempool-chains: out of memory");
		return false;
	}
	pthread_mutex_init(&s->xmu, NULL);
	mmt_stress_set_shared(run, s);
	mmt_stress_main_attach(run);
	for (c = 0; c < MP_CHAINS && ok; c++) {
		char name[32];

		snprintf(name, sizeof(name), "bio-%d", c);
		s->bottom[c] = mmt_mempool_create_kmalloc_pool(
			name, MP_BOTTOM_MIN, MP_ELEM);
		snprintf(name, sizeof(name), "lower-%d", c);
		s->mid[c] = s->bottom[c] ?
				    mmt_mempool_create(name, MP_MID_MIN,
						       mp_chain_alloc,
						       mp_chain_free,
						       s->bottom[c], MP_ELEM) :
				    NULL;
		snprintf(name, sizeof(name), "crypt-%d", c);
		s->top[c] = s->mid[c] ? mmt_mempool_create(name, MP_TOP_MIN,
							   mp_chain_alloc,
							   mp_chain_free,
							   s->mid[c], MP_ELEM) :
					NULL;
		ok = s->top[c] != NULL;
		atomic_init(&s->top_tokens[c], MP_TOP_MIN);
	}
	if (ok)
		s->pages = mmt_mempool_create_page_pool("crypt-pages",
							MP_PAGES_MIN, 0);
	ok = ok && s->pages;
	atomic_init(&s->page_tokens, MP_PAGES_MIN);
	mmt_stress_main_detach(run);
	if (!ok)
		snprintf(err, errlen,
			 "mempool-chains: cannot create the pools");
	return ok;
}

static void mp_thread_init(struct mmt_stress_thread *t)
{
	struct mp_thread *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	mmt_stress_set_priv(t, c);
}

static bool token_get(_Atomic int *tokens)
{
	int n = atomic_load(tokens);

	while (n > 0)
		if (atomic_compare_exchange_weak(tokens, &n, n - 1))
			return true;
	return false;
}

static void token_put(_Atomic int *tokens)
{
	atomic_fetch_add(tokens, 1);
}

static void mp_complete(struct mmt_stress_thread *t, struct mp_shared *s,
			struct mp_req r, bool waited)
{
	uint64_t t0;

	mmt_stress_verify(t, r.elem, MP_ELEM);
	mmt_stress_verify(t, mmt_page_address(r.page), STAMP_BYTES);
	t0 = mmt_stress_clock();
	mmt_mempool_free(r.page, s->pages);
	mmt_mempool_free(r.elem, s->top[r.chain]);
	mmt_stress_lat(t, MMT_STRESS_LAT_MEMPOOL_FREE, t0);
	if (waited) {
		token_put(&s->page_tokens);
		token_put(&s->top_tokens[r.chain]);
	}
}

static void *mp_alloc(struct mmt_stress_thread *t, struct mmt_mempool *pool,
		      mmt_gfp_t gfp, bool waits)
{
	uint64_t t0 = mmt_stress_clock();
	void *e = mmt_mempool_alloc(pool, gfp);

	mmt_stress_lat(t, MMT_STRESS_LAT_MEMPOOL_ALLOC, t0);
	if (!e && waits)
		mmt_stress_finding(
			mmt_stress_run_of(t), "mempool-null",
			"mempool_alloc(%s, GFP_NOIO) returned NULL with fewer than min_nr elements out (thread %d, cpu %d)",
			mmt_mempool_name(pool), mmt_stress_thread_id(t),
			mmt_stress_cpu(t));
	return e;
}

static void mp_request(struct mmt_stress_thread *t, struct mp_shared *s)
{
	struct mp_req r = { .chain = (int)mmt_stress_rand(t, MP_CHAINS) };
	bool waits = false;
	mmt_gfp_t gfp;

	if (chance(t, 50) && token_get(&s->top_tokens[r.chain])) {
		waits = token_get(&s->page_tokens);
		if (!waits)
			token_put(&s->top_tokens[r.chain]);
	}
	gfp = waits ? GFP_NOIO : GFP_NOWAIT | __GFP_NOWARN;
	atomic_fetch_add_explicit(&s->attempts[r.chain], 1,
				  memory_order_relaxed);
	r.elem = mp_alloc(t, s->top[r.chain], gfp, waits);
	r.page = r.elem ? mp_alloc(t, s->pages, gfp, waits) : NULL;
	if (!r.page) {
		if (r.elem)
			mmt_mempool_free(r.elem, s->top[r.chain]);
		if (waits) {
			token_put(&s->page_tokens);
			token_put(&s->top_tokens[r.chain]);
		}
		mmt_stress_count(t, "request_fails", 1);
		return;
	}
	mmt_stress_stamp(t, r.elem, MP_ELEM);
	mmt_stress_stamp(t, mmt_page_address(r.page), STAMP_BYTES);
	atomic_fetch_add_explicit(&s->done[r.chain], 1, memory_order_relaxed);
	mmt_stress_count(t, waits ? "requests_noio" : "requests_nowait", 1);
	if (waits) {
		/* In flight: another thread's completion frees it. */
		unsigned int i = (unsigned int)mmt_stress_rand(t, XCHG_SLOTS);
		struct mp_req old;

		pthread_mutex_lock(&s->xmu);
		old = s->x[i];
		s->x[i] = r;
		pthread_mutex_unlock(&s->xmu);
		if (old.elem)
			mp_complete(t, s, old, true);
	} else {
		mp_complete(t, s, r, false);
	}
}

/* The lower device completes some request in flight. */
static void mp_completion(struct mmt_stress_thread *t, struct mp_shared *s)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, XCHG_SLOTS);
	struct mp_req old;

	pthread_mutex_lock(&s->xmu);
	old = s->x[i];
	s->x[i].elem = NULL;
	pthread_mutex_unlock(&s->xmu);
	if (old.elem) {
		mp_complete(t, s, old, true);
		mmt_stress_count(t, "completions", 1);
	}
}

/* Take pages until the allocator says no (GFP_NOWAIT: no reclaim). */
static void mp_hog(struct mmt_stress_thread *t, struct mp_thread *c)
{
	unsigned int k = p_batch(t);

	while (k-- &&
	       alloc_block(t, &c->hog, GFP_NOWAIT | __GFP_NOWARN, MP_HOG_ORDER))
		;
}

static void mp_unhog(struct mmt_stress_thread *t, struct mp_thread *c)
{
	unsigned int k = c->hog.n / 2 + 1;

	while (k-- && c->hog.n)
		free_block(t, bag_take(t, &c->hog), false);
}

static void mp_op(struct mmt_stress_thread *t)
{
	struct mp_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct mp_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100);

	if (r < 50)
		mp_request(t, s);
	else if (r < 85)
		mp_completion(t, s);
	else if (r < 95)
		mp_hog(t, c);
	else if (r < 99)
		mp_unhog(t, c);
	else
		mmt_stress_migrate(t);
}

static void mp_thread_exit(struct mmt_stress_thread *t)
{
	struct mp_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct mp_thread *c = mmt_stress_priv(t);
	unsigned int i;

	while (c->hog.n)
		free_block(t, bag_take(t, &c->hog), false);
	for (i = 0; i < XCHG_SLOTS; i++) {
		struct mp_req old;

		pthread_mutex_lock(&s->xmu);
		old = s->x[i];
		s->x[i].elem = NULL;
		pthread_mutex_unlock(&s->xmu);
		if (old.elem)
			mp_complete(t, s, old, true);
	}
	free(c);
	mmt_stress_set_priv(t, NULL);
}

static void mp_teardown(struct mmt_stress_run *run)
{
	struct mp_shared *s = mmt_stress_shared(run);
	unsigned int i;
	int c;

	mmt_stress_main_attach(run);
	for (i = 0; i < XCHG_SLOTS; i++)
		if (s->x[i].elem)
			mp_complete(mmt_stress_main_thread(run), s, s->x[i],
				    true);
	for (c = 0; c < MP_CHAINS; c++) {
		uint64_t tries = atomic_load(&s->attempts[c]);

		if (tries >= 100 && !atomic_load(&s->done[c]))
			mmt_stress_finding(
				run, "mempool-no-progress",
				"chain %d completed none of its %llu requests",
				c, (unsigned long long)tries);
	}
	if (s->pages)
		mmt_mempool_destroy(s->pages);
	for (c = 0; c < MP_CHAINS; c++) {
		if (s->top[c])
			mmt_mempool_destroy(s->top[c]);
		if (s->mid[c])
			mmt_mempool_destroy(s->mid[c]);
		if (s->bottom[c])
			mmt_mempool_destroy(s->bottom[c]);
	}
	mmt_stress_main_detach(run);
	pthread_mutex_destroy(&s->xmu);
	free(s);
}

/* ---- pressure-memalloc-sockets ---- */

#define PR_SOCKS 4
#define PR_SWAPFILES 2
#define PR_RESERVE_PAGES 64 /* each of the TX and RX reserves */
#define PR_SWAPFILE_PAGES 256
/* Packets of 256 B..4 KiB: the larger caches grow slabs often. */
#define PR_SIZE_MIN 256
#define PR_SIZE_MAX 4096

/*
 * The network-swap world under memory pressure.  Users map clean page
 * cache (reclaimable at once, so reclaim never waits for writeback) and
 * hog pages with GFP_ATOMIC (below the min watermark); one thread per
 * node at a time plays kswapd (mmt_kswapd_balance(): a kthread of the
 * model would take a simulated CPU the runner does not know of) and the
 * allocators enter direct reclaim.  Meanwhile packets arrive in softirqs
 * for sockets whose SOCK_MEMALLOC is toggled, swap files on one mount go
 * on and off (the mount's socket must stay memalloc while one is on),
 * the swap-out path sends from the TX reserve under PF_MEMALLOC, and
 * ordinary callers allocate.  Reserve (pfmemalloc) memory must reach
 * neither an ordinary caller nor a socket without SOCK_MEMALLOC.
 *
 * memalloc_lk (host rwlock) keeps every socket's flag and the memalloc
 * socket count still while a reader allocates and checks; togglers take
 * it for writing.
 */
enum pr_kind {
	PR_RX,
	PR_TX,
	PR_PLAIN
};

struct pr_item {
	void *p;
	size_t size;
	enum pr_kind kind;
};

/*
 * A socket and the packets queued on it (received, or sent and not yet
 * acknowledged).  Clearing SOCK_MEMALLOC purges the queue first: charged
 * reserve memory belongs to memalloc sockets only, so the reserve is
 * never disconnected with emergency memory still out.
 */
#define PR_SOCKQ 64

struct pr_sock {
	struct mmt_sock *sk;
	bool memalloc; /* SOCK_MEMALLOC set by us (under memalloc_lk) */
	pthread_mutex_t mu; /* the queue */
	struct pr_item q[PR_SOCKQ];
	unsigned int nq;
};

struct pr_shared {
	pthread_rwlock_t memalloc_lk;
	struct pr_sock sock[PR_SOCKS];
	struct mmt_swap_mount *mnt;
	struct mmt_swapfile *sf[PR_SWAPFILES]; /* NULL: off */
	unsigned int swapons;
	_Atomic bool kswapd_busy[MMT_MAX_NODES];
};

/*
 * A thread's atomic hog: up to PR_HOG_PCT % of the machine's pages over
 * all threads, so that hogs take the zones below their min watermark
 * while reclaim still finds page cache (an OOM without a victim would be
 * the workload's fault).
 */
#define PR_HOG_PCT 95
#define PR_MEMALLOC_HOG 32

struct pr_thread {
	struct pr_item v[HELD_MAX];
	unsigned int n;
	struct pg *hog;
	unsigned int nhog, hog_cap;
	unsigned int nmemalloc; /* about: PF_MEMALLOC pages among them */
};

static void pr_configure(const struct mmt_stress_params *p,
			 struct mmt_config *cfg)
{
	(void)p;
	cfg->normal_pages = 4096;
}

static bool pr_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct mmt_machine *m = mmt_stress_machine(run);
	struct pr_shared *s = calloc(1, sizeof(*s));
	bool ok;
	int i;

	if (!s) {
		snprintf(err, errlen,
			 "pressure-memalloc-sockets: out of memory");
		return false;
	}
	pthread_rwlock_init(&s->memalloc_lk, NULL);
	mmt_stress_set_shared(run, s);
	mmt_stress_main_attach(run);
	mmt_reclaim_install_hooks(m);
	ok = !mmt_mem_reserve_pages_set(mmt_net_reserve(m, false),
					PR_RESERVE_PAGES) &&
	     !mmt_mem_reserve_pages_set(mmt_net_reserve(m, true),
					PR_RESERVE_PAGES);
	s->mnt = ok ? mmt_swap_mount_create(m, "nfs-server:/swap") : NULL;
	ok = s->mnt != NULL;
	for (i = 0; i < PR_SOCKS; i++)
		pthread_mutex_init(&s->sock[i].mu, NULL);
	for (i = 0; i < PR_SOCKS && ok; i++) {
		char name[16];

		snprintf(name, sizeof(name), "sk%d", i);
		s->sock[i].sk = mmt_sock_create(m, name);
		ok = s->sock[i].sk != NULL;
	}
	mmt_stress_main_detach(run);
	if (!ok)
		snprintf(
			err, errlen,
			"pressure-memalloc-sockets: cannot create the reserves, the mount or the sockets");
	return ok;
}

static void pr_thread_init(struct mmt_stress_thread *t)
{
	struct mmt_machine *m = machine_of(t);
	struct pr_thread *c = calloc(1, sizeof(*c));
	unsigned int threads = mmt_stress_params(mmt_stress_run_of(t))->threads;
	unsigned long pages = 0;
	int z;

	for (z = 0; z < mmt_nr_zones(m); z++) {
		struct mmt_zone_info zi;

		if (mmt_zone_info(m, z, &zi))
			pages += zi.managed;
	}
	if (c) {
		c->hog_cap = (unsigned int)(pages * PR_HOG_PCT / 100 /
					    (threads ? threads : 1));
		c->hog = calloc(c->hog_cap + 1, sizeof(*c->hog));
	}
	if (!c || !c->hog)
		abort();
	mmt_stress_set_priv(t, c);
}

static void pr_unhog_one(struct mmt_stress_thread *t, struct pr_thread *c)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, c->nhog);
	struct pg g = c->hog[i];

	c->hog[i] = c->hog[--c->nhog];
	free_block(t, g, false);
}

static bool pr_entitled(mmt_gfp_t gfp)
{
	return (gfp & __GFP_MEMALLOC) ||
	       (mmt_current_flags() & MMT_PF_MEMALLOC) ||
	       mmt_current_is_oom_victim() || mmt_in_interrupt();
}

/* Verify and free a plain object or a packet of @ps. */
static void pr_free_item(struct mmt_stress_thread *t, struct pr_sock *ps,
			 struct pr_item it)
{
	struct mmt_machine *m = machine_of(t);
	uint64_t t0;

	mmt_stress_verify(t, it.p, it.size);
	t0 = mmt_stress_clock();
	if (it.kind == PR_PLAIN)
		mmt_kfree(it.p);
	else
		mmt_sk_free_emergency(ps->sk,
				      mmt_net_reserve(m, it.kind == PR_RX),
				      it.p, it.size);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_FREE, t0);
}

/*
 * Queue a packet on its socket (memalloc_lk held for reading, so that
 * the socket's flag cannot change between the allocation and the
 * queueing); a full queue drops it at once.
 */
static void pr_queue(struct mmt_stress_thread *t, struct pr_sock *ps, void *p,
		     size_t size, enum pr_kind kind)
{
	struct pr_item it = { .p = p, .size = size, .kind = kind };
	bool queued = false;

	mmt_stress_stamp(t, p, size);
	pthread_mutex_lock(&ps->mu);
	if (ps->nq < PR_SOCKQ) {
		ps->q[ps->nq++] = it;
		queued = true;
	}
	pthread_mutex_unlock(&ps->mu);
	if (!queued)
		pr_free_item(t, ps, it);
}

/*
 * A packet arrives for a socket, as the swap device's receive path does
 * it: in a softirq, from the RX reserve, with PF_MEMALLOC while any
 * memalloc socket exists.
 */
static void pr_rx(struct mmt_stress_thread *t, struct pr_shared *s)
{
	struct mmt_machine *m = machine_of(t);
	struct pr_sock *ps = &s->sock[mmt_stress_rand(t, PR_SOCKS)];
	size_t size = p_size_def(t, PR_SIZE_MIN, PR_SIZE_MAX);
	unsigned int saved = 0;
	bool emergency;
	uint64_t t0;
	void *p;

	pthread_rwlock_rdlock(&s->memalloc_lk);
	emergency = mmt_sk_memalloc_socks(m) > 0;
	mmt_softirq_enter();
	if (emergency)
		saved = mmt_memalloc_noreclaim_save();
	t0 = mmt_stress_clock();
	p = mmt_sk_alloc_emergency(ps->sk, mmt_net_reserve(m, true), size,
				   GFP_ATOMIC | __GFP_NOWARN);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
	if (emergency)
		mmt_memalloc_noreclaim_restore(saved);
	mmt_softirq_exit();
	mmt_stress_count(t, "rx", 1);
	if (p && mmt_obj_is_pfmemalloc(m, p)) {
		mmt_stress_count(t, "rx_pfmemalloc", 1);
		if (!ps->memalloc)
			mmt_stress_finding(
				mmt_stress_run_of(t), "pfmemalloc-escaped",
				"a packet from the reserves (pfmemalloc, %zu bytes) was delivered to socket %s, which is not SOCK_MEMALLOC",
				size, mmt_sock_name(ps->sk));
	}
	if (p)
		pr_queue(t, ps, p, size, PR_RX);
	else
		mmt_stress_count(t, "rx_dropped", 1);
	pthread_rwlock_unlock(&s->memalloc_lk);
}

/* The swap-out path sends a page: PF_MEMALLOC, the TX reserve. */
static void pr_tx(struct mmt_stress_thread *t, struct pr_shared *s)
{
	struct mmt_machine *m = machine_of(t);
	struct pr_sock *ps = &s->sock[mmt_stress_rand(t, PR_SOCKS)];
	size_t size = p_size_def(t, PR_SIZE_MIN, PR_SIZE_MAX);
	unsigned int saved;
	uint64_t t0;
	void *p;

	pthread_rwlock_rdlock(&s->memalloc_lk);
	saved = mmt_memalloc_noreclaim_save();
	t0 = mmt_stress_clock();
	p = mmt_sk_alloc_emergency(ps->sk, mmt_net_reserve(m, false), size,
				   GFP_ATOMIC | __GFP_NOWARN);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
	mmt_memalloc_noreclaim_restore(saved);
	mmt_stress_count(t, "tx", 1);
	if (p)
		pr_queue(t, ps, p, size, PR_TX);
	pthread_rwlock_unlock(&s->memalloc_lk);
}

static void pr_plain(struct mmt_stress_thread *t, struct pr_thread *c,
		     struct pr_shared *s)
{
	struct mmt_machine *m = machine_of(t);
	mmt_gfp_t gfp = chance(t, 70) ?
				GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN :
				GFP_NOWAIT | __GFP_NOWARN;
	size_t size = p_size_def(t, PR_SIZE_MIN, PR_SIZE_MAX);
	bool entitled, socks;
	uint64_t t0;
	void *p;

	if (c->n == HELD_MAX)
		return;
	pthread_rwlock_rdlock(&s->memalloc_lk);
	socks = mmt_sk_memalloc_socks(m) > 0;
	entitled = pr_entitled(gfp);
	t0 = mmt_stress_clock();
	p = mmt_kmalloc(size, gfp);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
	entitled = entitled || pr_entitled(gfp); /* OOM-killed meanwhile */
	/*
	 * SLAB isolates pfmemalloc objects only while memalloc sockets
	 * exist (the kernel's sk_memalloc_socks() gate); SLUB always.
	 */
	if (p && !entitled && (socks || cfg_of(t)->slab != MMT_SLAB_SLAB) &&
	    mmt_obj_is_pfmemalloc(m, p))
		mmt_stress_finding(
			mmt_stress_run_of(t), "pfmemalloc-escaped",
			"kmalloc(%zu) by an ordinary task in process context returned reserve (pfmemalloc) memory",
			size);
	pthread_rwlock_unlock(&s->memalloc_lk);
	mmt_stress_count(t, "plain", 1);
	if (!p)
		return;
	mmt_stress_stamp(t, p, size);
	c->v[c->n].p = p;
	c->v[c->n].size = size;
	c->v[c->n].kind = PR_PLAIN;
	c->n++;
}

/* Free one of our plain objects, or consume a packet of some socket. */
static void pr_free_one(struct mmt_stress_thread *t, struct pr_thread *c,
			struct pr_shared *s)
{
	struct pr_sock *ps = &s->sock[mmt_stress_rand(t, PR_SOCKS)];
	struct pr_item it = { 0 };
	unsigned int i;

	if (c->n && chance(t, 30)) {
		i = (unsigned int)mmt_stress_rand(t, c->n);
		it = c->v[i];
		c->v[i] = c->v[--c->n];
		pr_free_item(t, NULL, it);
		return;
	}
	pthread_mutex_lock(&ps->mu);
	if (ps->nq) {
		i = (unsigned int)mmt_stress_rand(t, ps->nq);
		it = ps->q[i];
		ps->q[i] = ps->q[--ps->nq];
	}
	pthread_mutex_unlock(&ps->mu);
	if (it.p)
		pr_free_item(t, ps, it);
}

/* Free every packet queued on @ps. */
static void pr_purge(struct mmt_stress_thread *t, struct pr_sock *ps)
{
	for (;;) {
		struct pr_item it = { 0 };

		pthread_mutex_lock(&ps->mu);
		if (ps->nq)
			it = ps->q[--ps->nq];
		pthread_mutex_unlock(&ps->mu);
		if (!it.p)
			return;
		pr_free_item(t, ps, it);
	}
}

/* Users map clean page cache, hog atomic pages, unmap and give back. */
static void pr_pressure(struct mmt_stress_thread *t, struct pr_thread *c)
{
	struct mmt_machine *m = machine_of(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100), k;

	if (r < 60) {
		for (k = p_batch(t); k; k--)
			if (!mmt_lru_add(m, MMT_LRU_FILE_CLEAN, NULL,
					 GFP_HIGHUSER_MOVABLE | __GFP_NORETRY |
						 __GFP_NOWARN,
					 mmt_numa_node_id()))
				break;
		mmt_stress_count(t, "lru_adds", p_batch(t) - k);
	} else if (r < 75) {
		mmt_lru_unmap(m, MMT_LRU_FILE_CLEAN, p_batch(t));
	} else if (r < 78) {
		/*
		 * Reclaim's own allocations (PF_MEMALLOC: no watermarks)
		 * dig under what the atomic hogs leave; a few pages each.
		 */
		unsigned int saved = mmt_memalloc_noreclaim_save();

		for (k = p_batch(t) / 4 + 1; k && c->nhog < c->hog_cap &&
					     c->nmemalloc < PR_MEMALLOC_HOG;
		     k--) {
			struct mmt_page *page =
				mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0);

			if (!page)
				break;
			if (mmt_page_is_pfmemalloc(page))
				mmt_stress_count(t, "pfmemalloc_pages", 1);
			stamp_pages(t, page, 0);
			c->hog[c->nhog].page = page;
			c->hog[c->nhog++].order = 0;
			c->nmemalloc++;
		}
		mmt_memalloc_noreclaim_restore(saved);
	} else if (r < 90) {
		/* Atomic hogs dig below the min watermark (to min/2). */
		for (k = 4 * p_batch(t); k && c->nhog < c->hog_cap; k--) {
			struct mmt_page *page =
				mmt_alloc_pages(GFP_ATOMIC | __GFP_NOWARN, 0);

			mmt_stress_count(t, "alloc_pages", 1);
			if (!page) {
				mmt_stress_count(t, "hog_fails", 1);
				break;
			}
			stamp_pages(t, page, 0);
			c->hog[c->nhog].page = page;
			c->hog[c->nhog++].order = 0;
		}
	} else {
		for (k = p_batch(t); k && c->nhog; k--)
			pr_unhog_one(t, c);
		if (!c->nhog)
			c->nmemalloc = 0;
		else if (c->nmemalloc > c->nhog)
			c->nmemalloc = c->nhog;
	}
}

/* kswapd of this CPU's node, one thread at a time per node. */
static void pr_kswapd(struct mmt_stress_thread *t, struct pr_shared *s)
{
	int nid = mmt_numa_node_id();

	if (atomic_exchange(&s->kswapd_busy[nid], true))
		return;
	mmt_stress_count(t, "kswapd_passes",
			 mmt_kswapd_balance(machine_of(t), nid));
	atomic_store(&s->kswapd_busy[nid], false);
}

static void pr_toggle_sock(struct mmt_stress_thread *t, struct pr_shared *s)
{
	struct pr_sock *ps = &s->sock[mmt_stress_rand(t, PR_SOCKS)];

	pthread_rwlock_wrlock(&s->memalloc_lk);
	if (ps->memalloc) {
		/* Its reserve memory goes back before the flag. */
		pr_purge(t, ps);
		mmt_sk_clear_memalloc(ps->sk);
	} else {
		mmt_sk_set_memalloc(ps->sk);
	}
	ps->memalloc = !ps->memalloc;
	pthread_rwlock_unlock(&s->memalloc_lk);
	mmt_stress_count(t, "sock_toggles", 1);
}

/* swapon / swapoff of one of two files sharing the mount's socket. */
static void pr_toggle_swap(struct mmt_stress_thread *t, struct pr_shared *s)
{
	unsigned int i = (unsigned int)mmt_stress_rand(t, PR_SWAPFILES);
	char name[32];

	pthread_rwlock_wrlock(&s->memalloc_lk);
	if (s->sf[i]) {
		mmt_swapoff(s->sf[i]);
		s->sf[i] = NULL;
	} else {
		snprintf(name, sizeof(name), "swapfile-%u", s->swapons++);
		s->sf[i] = mmt_swapon(s->mnt, name, PR_SWAPFILE_PAGES);
	}
	pthread_rwlock_unlock(&s->memalloc_lk);
	mmt_stress_count(t, "swap_toggles", 1);
}

static void pr_op(struct mmt_stress_thread *t)
{
	struct pr_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct pr_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 1000);

	if (c->n == HELD_MAX && r >= 580 && r < 700)
		r = 700;
	if (r < 250)
		pr_pressure(t, c);
	else if (r < 260)
		pr_kswapd(t, s);
	else if (r < 500)
		pr_rx(t, s);
	else if (r < 580)
		pr_tx(t, s);
	else if (r < 700)
		pr_plain(t, c, s);
	else if (r < 960)
		pr_free_one(t, c, s);
	else if (r < 985)
		pr_toggle_sock(t, s);
	else if (r < 990)
		pr_toggle_swap(t, s);
	else
		mmt_stress_migrate(t);
	/* Back to user space: a task the OOM killer chose exits there. */
	if (mmt_current_is_oom_victim()) {
		mmt_oom_exit_current();
		mmt_stress_count(t, "oom_exits", 1);
	}
}

static void pr_thread_exit(struct mmt_stress_thread *t)
{
	struct pr_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct pr_thread *c = mmt_stress_priv(t);
	int i;

	while (c->n) {
		c->n--;
		pr_free_item(t, NULL, c->v[c->n]);
	}
	for (i = 0; i < PR_SOCKS; i++)
		pr_purge(t, &s->sock[i]);
	while (c->nhog)
		pr_unhog_one(t, c);
	free(c->hog);
	free(c);
	mmt_stress_set_priv(t, NULL);
}

static void pr_teardown(struct mmt_stress_run *run)
{
	struct pr_shared *s = mmt_stress_shared(run);
	struct mmt_machine *m = mmt_stress_machine(run);
	int i;

	mmt_stress_main_attach(run);
	for (i = 0; i < PR_SWAPFILES; i++)
		if (s->sf[i])
			mmt_swapoff(s->sf[i]);
	for (i = 0; i < PR_SOCKS; i++) {
		if (!s->sock[i].sk)
			continue;
		pr_purge(mmt_stress_main_thread(run), &s->sock[i]);
		if (s->sock[i].memalloc)
			mmt_sk_clear_memalloc(s->sock[i].sk);
		mmt_sock_destroy(s->sock[i].sk);
		pthread_mutex_destroy(&s->sock[i].mu);
	}
	if (s->mnt)
		mmt_swap_mount_destroy(s->mnt);
	mmt_lru_unmap(m, MMT_LRU_FILE_CLEAN, ~0ul);
	mmt_reclaim_remove_hooks(m);
	mmt_stress_main_detach(run);
	pthread_rwlock_destroy(&s->memalloc_lk);
	free(s);
}

/* ---- cpu-hotplug ---- */

#define HP_SPARE_CPUS 2
#define HP_OBJS 64

/*
 * Thread 0 takes CPUs offline and brings them back while the others
 * churn pages (pcp-churn's mix) and kmalloc objects, migrating now and
 * then.  A CPU goes offline only once the controller has claimed it in
 * the runner's table (no thread is on it, none will attach or migrate
 * there until it is released): the kernel migrates tasks off a dying CPU,
 * which real threads cannot be made to do.  The runner leaves
 * HP_SPARE_CPUS CPUs free for that (the workload's spare_cpus).
 * Offline drains the CPU's per-cpu pages and flushes its slab state:
 * nothing may be left on its lists (offline-left-pages).
 */
struct hp_shared {
	struct churn_shared churn;
	_Atomic bool *offline; /* by the controller, per CPU */
	unsigned int nr_offline; /* the controller's only */
};

struct hp_thread {
	struct churn_thread churn; /* first: churn ops see a churn_thread */
	struct cobj obj[HP_OBJS];
	unsigned int nobj;
};

static bool hp_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct hp_shared *s = calloc(1, sizeof(*s));
	int n = mmt_nr_cpus(mmt_stress_machine(run));

	if (s)
		s->offline = calloc((size_t)n, sizeof(*s->offline));
	if (!s || !s->offline) {
		free(s);
		snprintf(err, errlen, "cpu-hotplug: out of memory");
		return false;
	}
	xchg_init(&s->churn.x);
	mmt_stress_set_shared(run, s);
	return true;
}

static void hp_thread_init(struct mmt_stress_thread *t)
{
	struct hp_thread *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	mmt_stress_set_priv(t, c);
}

static void hp_check_offline(struct mmt_stress_thread *t, int cpu)
{
	struct mmt_machine *m = machine_of(t);
	int z;

	for (z = 0; z < mmt_nr_zones(m); z++) {
		unsigned long left = mmt_pcp_count(m, cpu, z);

		if (left)
			mmt_stress_finding(
				mmt_stress_run_of(t), "offline-left-pages",
				"cpu_offline(%d) left %lu page(s) on its per-cpu lists of zone %d",
				cpu, left, z);
	}
}

/*
 * Bring an offline CPU back (always when the spare CPUs are all offline,
 * else half the time) or take a free one offline.  At most the spare CPUs
 * are offline at a time: the threads' own CPUs must stay (a thread still
 * starting waits for a free one, and the runner's quiesce waits for it).
 */
static void hp_control(struct mmt_stress_thread *t, struct hp_shared *s)
{
	struct mmt_stress_run *run = mmt_stress_run_of(t);
	struct mmt_machine *m = machine_of(t);
	int n = mmt_nr_cpus(m), first = (int)mmt_stress_rand(t, (uint64_t)n);
	bool online = s->nr_offline &&
		      (s->nr_offline >= HP_SPARE_CPUS || chance(t, 50));
	int i;

	for (i = 0; i < n; i++) {
		int cpu = (first + i) % n;

		if (online) {
			if (!atomic_load(&s->offline[cpu]) ||
			    !mmt_cpu_online(m, cpu))
				continue;
			atomic_store(&s->offline[cpu], false);
			s->nr_offline--;
			mmt_stress_release_cpu(run, cpu);
			mmt_stress_count(t, "onlines", 1);
			return;
		}
		if (!mmt_stress_claim_cpu(run, cpu))
			continue; /* a thread is on it, or it is offline */
		if (!mmt_cpu_offline(m, cpu)) {
			mmt_stress_release_cpu(run,
					       cpu); /* the model said why */
			return;
		}
		atomic_store(&s->offline[cpu], true);
		s->nr_offline++;
		mmt_stress_count(t, "offlines", 1);
		hp_check_offline(t, cpu);
		return;
	}
}

static void hp_obj(struct mmt_stress_thread *t, struct hp_thread *c)
{
	uint64_t t0;

	if (c->nobj && (c->nobj == HP_OBJS || chance(t, 50))) {
		unsigned int i = (unsigned int)mmt_stress_rand(t, c->nobj);
		struct cobj o = c->obj[i];

		c->obj[i] = c->obj[--c->nobj];
		mmt_stress_verify(t, o.p, o.size);
		t0 = mmt_stress_clock();
		mmt_kfree(o.p);
		mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_FREE, t0);
		return;
	}
	c->obj[c->nobj].size = p_size(t);
	t0 = mmt_stress_clock();
	c->obj[c->nobj].p = mmt_kmalloc(c->obj[c->nobj].size, GFP_KERNEL);
	mmt_stress_lat(t, MMT_STRESS_LAT_SLAB_ALLOC, t0);
	if (!c->obj[c->nobj].p)
		return;
	mmt_stress_stamp(t, c->obj[c->nobj].p, c->obj[c->nobj].size);
	c->nobj++;
}

static void hp_op(struct mmt_stress_thread *t)
{
	struct hp_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct hp_thread *c = mmt_stress_priv(t);
	unsigned int r = (unsigned int)mmt_stress_rand(t, 100);

	if (mmt_stress_thread_id(t) == 0 && r < 20) {
		hp_control(t, s);
		return;
	}
	if (r < 30) {
		hp_obj(t, c);
	} else if (r < 98) {
		unsigned int k = (unsigned int)mmt_stress_rand(t, 1000);

		if (c->churn.held.n == HELD_MAX && k < 600)
			k = 600;
		if (k < 480)
			churn_alloc(t, &c->churn);
		else if (k < 560)
			churn_atomic(t, &c->churn, &s->churn);
		else
			churn_free_one(t, &c->churn, &s->churn);
	} else {
		mmt_stress_migrate(t);
	}
}

static void hp_thread_exit(struct mmt_stress_thread *t)
{
	struct hp_shared *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct mmt_machine *m = machine_of(t);
	struct hp_thread *c = mmt_stress_priv(t);
	int cpu;

	while (c->nobj) {
		c->nobj--;
		mmt_stress_verify(t, c->obj[c->nobj].p, c->obj[c->nobj].size);
		mmt_kfree(c->obj[c->nobj].p);
	}
	while (c->churn.held.n)
		free_block(t, bag_take(t, &c->churn.held), false);
	xchg_drain(t, &s->churn.x);
	/* The controller brings every CPU back before it ends. */
	if (mmt_stress_thread_id(t) == 0)
		for (cpu = 0; cpu < mmt_nr_cpus(m); cpu++)
			if (atomic_load(&s->offline[cpu]) &&
			    mmt_cpu_online(m, cpu)) {
				atomic_store(&s->offline[cpu], false);
				s->nr_offline--;
				mmt_stress_release_cpu(mmt_stress_run_of(t),
						       cpu);
			}
	free(c);
	mmt_stress_set_priv(t, NULL);
}

static void hp_teardown(struct mmt_stress_run *run)
{
	struct hp_shared *s = mmt_stress_shared(run);

	mmt_stress_main_attach(run);
	xchg_destroy(&s->churn.x);
	mmt_stress_main_detach(run);
	free(s->offline);
	free(s);
}

/* ---- the table ---- */

const struct mmt_stress_workload mmt_stress_model_workloads[] = {
	{
		.name = "pcp-churn",
		.summary =
			"per-cpu page churn, orders 0..order_max, varied GFP masks, irq episodes, remote frees",
		.kind = MMT_STRESS_MODEL,
		.setup = churn_setup,
		.thread_init = churn_thread_init,
		.op = churn_op,
		.thread_exit = churn_thread_exit,
		.teardown = churn_teardown,
	},
	{
		.name = "bulk-pages",
		.summary =
			"alloc_pages_bulk into partly populated arrays, frees in batches",
		.kind = MMT_STRESS_MODEL,
		.setup = churn_setup,
		.thread_init = churn_thread_init,
		.op = bulk_op,
		.thread_exit = churn_thread_exit,
		.teardown = churn_teardown,
	},
	{
		.name = "nolock-storm",
		.summary =
			"alloc_pages_nolock, kmalloc_nolock and FAST_TRY from irqs against refilling and draining CPUs",
		.kind = MMT_STRESS_MODEL,
		.setup = nl_setup,
		.thread_init = nl_thread_init,
		.op = nl_op,
		.thread_exit = nl_thread_exit,
		.teardown = nl_teardown,
	},
	{
		.name = "pressure-memalloc-sockets",
		.summary =
			"memory pressure, kswapd and direct reclaim while memalloc sockets and swap files toggle",
		.kind = MMT_STRESS_MODEL,
		.configure = pr_configure,
		.setup = pr_setup,
		.thread_init = pr_thread_init,
		.op = pr_op,
		.thread_exit = pr_thread_exit,
		.teardown = pr_teardown,
	},
	{
		.name = "mempool-chains",
		.summary =
			"chains of mempools (dm-crypt over a device) exhausted under pressure, completed by other threads",
		.kind = MMT_STRESS_MODEL,
		.configure = mp_configure,
		.setup = mp_setup,
		.thread_init = mp_thread_init,
		.op = mp_op,
		.thread_exit = mp_thread_exit,
		.teardown = mp_teardown,
	},
	{
		.name = "memcg-offline",
		.summary =
			"charged allocations in cgroups that go offline and are destroyed during the frees",
		.kind = MMT_STRESS_MODEL,
		.setup = cg_setup,
		.thread_init = cg_thread_init,
		.op = cg_op,
		.thread_exit = cg_thread_exit,
		.teardown = cg_teardown,
	},
	{
		.name = "cpu-hotplug",
		.summary =
			"page and object churn while a thread takes CPUs offline and online",
		.kind = MMT_STRESS_MODEL,
		.spare_cpus = HP_SPARE_CPUS,
		.setup = hp_setup,
		.thread_init = hp_thread_init,
		.op = hp_op,
		.thread_exit = hp_thread_exit,
		.teardown = hp_teardown,
	},
	{
		.name = "kvfree-rcu-storm",
		.summary =
			"kvfree_rcu of published objects under readers in rcu_read_lock sections, grace-period steps",
		.kind = MMT_STRESS_MODEL,
		.setup = rcu_setup,
		.op = rcu_op,
		.thread_exit = rcu_thread_exit,
		.teardown = rcu_teardown,
	},
	{
		.name = "drain-all",
		.summary =
			"drain_all_pages and drain_local_pages from other CPUs while threads churn per-cpu lists",
		.kind = MMT_STRESS_MODEL,
		.setup = drain_setup,
		.thread_init = churn_thread_init,
		.op = churn_op,
		.thread_exit = churn_thread_exit,
		.teardown = churn_teardown,
	},
};

const size_t mmt_stress_nr_model_workloads =
	MMT_ARRAY_SIZE(mmt_stress_model_workloads);
