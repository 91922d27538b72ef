/* SPDX-License-Identifier: MIT */
/*
 * tests/test_slub.c - SLUB as the kernel behaves: the lockless per-cpu
 * fast path, frozen slabs and cpu partial lists, node partial lists with
 * min_partial, flushes, pfmemalloc slabs and the seed 003 dead-cache race.
 * White-box where the behaviour is only visible in a slab's state word
 * (slab_meta()->state: freelist index 0..15, inuse 16..31, objects
 * 32..47, frozen bit 48).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "slab.h"
#include "mmt_test.h"

static struct mmt_machine *slub_machine(uint64_t bugs)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SLUB;
	cfg.bugs = bugs;
	return t_machine(&cfg);
}

static unsigned int per_slab(struct mmt_kmem_cache *s)
{
	struct mmt_slab_info info;

	mmt_slab_info(s, &info);
	return info.objects_per_slab;
}

static long nr_slabs(struct mmt_kmem_cache *s)
{
	struct mmt_slab_info info;

	mmt_slab_info(s, &info);
	return info.slabs;
}

static struct mmt_page *slab_of(struct mmt_machine *m, void *obj)
{
	struct mmt_page *slab = _mmt_virt_to_slab(m, obj);

	MMT_CHECK(slab != NULL);
	return slab;
}

static uint64_t state_of(struct mmt_machine *m, void *obj)
{
	return atomic_load(&slab_meta(slab_of(m, obj))->state);
}

#define ST_FREE(v) ((unsigned int)((v)&0xffff))
#define ST_INUSE(v) ((unsigned int)(((v) >> 16) & 0xffff))
#define ST_FROZEN(v) (((v) >> 48) & 1)

static unsigned int index_of(struct mmt_kmem_cache *s, struct mmt_machine *m,
			     void *obj)
{
	struct mmt_page *slab = slab_of(m, obj);

	return slot_index(s, _mmt_slab_base(slab),
			  (char *)obj - s->red_left_pad);
}

/* ---- the fast path ---- */

struct lock_watch {
	int list_locks, cpu_locks, cmpxchg;
	const void *last_cmpxchg;
};

static void watch_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		       const void *obj, void *arg)
{
	struct lock_watch *w = arg;

	(void)m, (void)cpu;
	if (kind == MMT_SP_LOCK_ACQUIRE) {
		const struct mmt_lock *l = obj;

		if (!strcmp(l->cls->name, "kmem_cache_node->list_lock"))
			w->list_locks++;
		if (!strcmp(l->cls->name, "kmem_cache_cpu->lock"))
			w->cpu_locks++;
	} else if (kind == MMT_SP_CMPXCHG) {
		w->cmpxchg++;
		w->last_cmpxchg = obj;
	}
}

/*
 * The per-operation validator looks at the caches written since the last
 * validation; the full one at all.  A live count the test shifts behind
 * the cache's back (slab-leak: objects in use != allocs - frees) is seen
 * by the per-operation one only in a cache an allocation wrote since.
 */
MMT_TEST(validate_touched_checks_the_caches_written_since_and_only_those)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *a =
		mmt_kmem_cache_create("test-untouched", 64, 0, 0, NULL);
	struct mmt_kmem_cache *b =
		mmt_kmem_cache_create("test-touched", 64, 0, 0, NULL);
	void *pa = mmt_kmem_cache_alloc(a, GFP_KERNEL);
	void *pb = mmt_kmem_cache_alloc(b, GFP_KERNEL);
	const struct mmt_violation *v;

	MMT_CHECK(mmt_machine_is_valid(m));
	a->live_pcpu[0]++;
	MMT_CHECK(mmt_machine_validate_touched(m));
	MMT_CHECK_EQ(mmt_violation_count(m), 0);
	mmt_kmem_cache_free(b, mmt_kmem_cache_alloc(b, GFP_KERNEL));
	b->live_pcpu[0]++;
	MMT_CHECK(!mmt_machine_validate_touched(m));
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
	v = mmt_violation_get(m, 0);
	MMT_CHECK(v && !strcmp(v->check, "slab-leak") &&
		  strstr(v->msg, "test-touched"));
	mmt_violations_clear(m);
	MMT_CHECK(!mmt_machine_is_valid(m));
	MMT_CHECK_EQ(mmt_violation_count(m), 2);
	a->live_pcpu[0]--;
	b->live_pcpu[0]--;
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_kmem_cache_free(a, pa);
	mmt_kmem_cache_free(b, pb);
	mmt_kmem_cache_destroy(a);
	mmt_kmem_cache_destroy(b);
	MMT_CHECK_CLEAN(m);
}

/*
 * kfree() reaches the slab implementation by its own path (no cache
 * argument): it marks the object's cache as kmem_cache_free() does, or
 * the per-operation validator would miss what a kfree broke.
 */
MMT_TEST(validate_touched_checks_the_cache_a_kfree_wrote)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *c =
		mmt_kmem_cache_create("test-kfree", 64, 0, 0, NULL);
	void *obj = mmt_kmem_cache_alloc(c, GFP_KERNEL);
	const struct mmt_violation *v;

	MMT_CHECK(obj != NULL);
	MMT_CHECK(mmt_machine_validate_touched(m)); /* clears the marks */
	c->live_pcpu[0]++;
	mmt_kfree(obj);
	MMT_CHECK(!mmt_machine_validate_touched(m));
	v = mmt_violation_get(m, 0);
	MMT_CHECK(v && !strcmp(v->check, "slab-leak") &&
		  strstr(v->msg, "test-kfree"));
	c->live_pcpu[0]--;
	mmt_violations_clear(m);
	mmt_kmem_cache_destroy(c);
	MMT_CHECK_CLEAN(m);
}

/*
 * A frame handed out while an upper layer still calls it its own (the
 * slab metadata in its private words: a defect handing out a live slab)
 * makes the per-operation validator look at every cache, touched or not.
 */
MMT_TEST(validate_touched_checks_every_cache_after_a_held_frame_is_handed_out)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *a =
		mmt_kmem_cache_create("test-untouched", 64, 0, 0, NULL);
	void *pa = mmt_kmem_cache_alloc(a, GFP_KERNEL);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0), *q;
	const struct mmt_violation *v;

	MMT_CHECK(p != NULL);
	mmt_free_pages(p, 0); /* to the head of the per-cpu list */
	MMT_CHECK(mmt_machine_is_valid(m));
	a->live_pcpu[0]++;
	q = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(q == p);
	mmt_free_pages(q, 0);
	MMT_CHECK(mmt_machine_validate_touched(m)); /* cache a untouched */
	MMT_CHECK_EQ(mmt_violation_count(m), 0);
	p->private[0] = 1; /* as if a slab still held the frame */
	q = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(q == p);
	p->private[0] = 0;
	MMT_CHECK(!mmt_machine_validate_touched(m));
	v = mmt_violation_get(m, 0);
	MMT_CHECK(v && !strcmp(v->check, "slab-leak") &&
		  strstr(v->msg, "test-untouched"));
	a->live_pcpu[0]--;
	mmt_violations_clear(m);
	mmt_free_pages(q, 0);
	mmt_kmem_cache_free(a, pa);
	mmt_kmem_cache_destroy(a);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slub_fast_path_uses_the_cpu_freelist_without_any_lock)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-fast", 64, 0, 0, NULL);
	struct lock_watch w = { 0 };
	void *p[8];
	int i;

	/* The first allocation installs a cpu slab (slow path, locks). */
	mmt_kmem_cache_free(s, mmt_kmem_cache_alloc(s, GFP_KERNEL));
	mmt_machine_set_sched_hook(m, watch_hook, &w);
	for (i = 0; i < 8; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < 8; i++)
		mmt_kmem_cache_free(s, p[i]);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK_EQ(w.list_locks, 0);
	MMT_CHECK_EQ(w.cpu_locks, 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slub_every_fast_path_compare_exchange_is_a_scheduling_point)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-sp", 64, 0, 0, NULL);
	struct lock_watch w = { 0 };
	char *a, *b;

	mmt_kmem_cache_free(s, mmt_kmem_cache_alloc(s, GFP_KERNEL));
	mmt_machine_set_sched_hook(m, watch_hook, &w);
	a = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(w.cmpxchg, 1);
	MMT_CHECK(w.last_cmpxchg == a - s->red_left_pad);
	b = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(w.cmpxchg, 2);
	mmt_kmem_cache_free(s, a);
	MMT_CHECK_EQ(w.cmpxchg, 3);
	MMT_CHECK(w.last_cmpxchg == a - s->red_left_pad);
	mmt_kmem_cache_free(s, b);
	MMT_CHECK_EQ(w.cmpxchg, 4);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* ---- frees ---- */

MMT_TEST(slub_remote_free_lands_on_the_slab_not_on_the_owners_cpu_freelist)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-remote", 64, 0, 0, NULL);
	unsigned int objs = per_slab(s);
	void *a, *b, *c;
	uint64_t st;

	a = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	b = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(slab_of(m, a) == slab_of(m, b));
	/* The cpu slab lent all its objects to cpu 0's freelist. */
	st = state_of(m, a);
	MMT_CHECK_EQ(ST_INUSE(st), objs);
	MMT_CHECK_EQ(ST_FREE(st), 0xffff);
	MMT_CHECK(mmt_migrate(1));
	mmt_kmem_cache_free(s, a);
	MMT_CHECK(mmt_migrate(0));
	st = state_of(m, a);
	MMT_CHECK_EQ(ST_FREE(st), index_of(s, m, a));
	MMT_CHECK_EQ(ST_INUSE(st), objs - 1);
	MMT_CHECK(ST_FROZEN(st));
	/* cpu 0's freelist did not get it: its next object is another one. */
	c = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(c != a);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_free(s, b);
	mmt_kmem_cache_free(s, c);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* Fill @nfull slabs completely (they leave cpu 0 full, on no list). */
static void **fill_slabs(struct mmt_kmem_cache *s, unsigned int nfull,
			 unsigned int *n)
{
	unsigned int objs = per_slab(s), i;
	void **p;

	*n = nfull * objs + 1; /* + 1: the last slab is the cpu slab */
	p = calloc(*n, sizeof(*p));
	MMT_CHECK(p != NULL);
	for (i = 0; i < *n; i++) {
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(p[i] != NULL);
	}
	return p;
}

static void free_all(struct mmt_kmem_cache *s, void **p, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		mmt_kmem_cache_free(s, p[i]);
	free(p);
}

MMT_TEST(
	slub_a_free_into_a_full_slab_freezes_it_onto_the_freeing_cpus_partial_list)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-freeze", 128, 0, 0, NULL);
	unsigned int n;
	void **p = fill_slabs(s, 1, &n), *again;
	uint64_t st = state_of(m, p[0]);

	MMT_CHECK(!ST_FROZEN(st));
	MMT_CHECK_EQ(ST_FREE(st), 0xffff); /* full: SLUB lists it nowhere */
	MMT_CHECK(mmt_migrate(1));
	mmt_kmem_cache_free(s, p[3]);
	st = state_of(m, p[0]);
	MMT_CHECK(ST_FROZEN(st));
	MMT_CHECK(mmt_slab_is_valid(m));
	/* cpu 1 has no cpu slab: its slow path takes the cpu partial slab. */
	again = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(again == p[3]);
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(mmt_slab_is_valid(m));
	free_all(s, p, n);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/*
 * One free into each of @L + 1 full slabs on a CPU with no cpu slab of the
 * cache: the first L are frozen onto its cpu partial list; the one that
 * finds the list at its limit (L slabs) unfreezes them all to the node.
 */
static void check_cpu_partial_limit(unsigned int size, unsigned int nr_objects)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-drain", size, 0, 0, NULL);
	unsigned int objs = per_slab(s), limit, n, i;
	void **p;

	/* slub_set_cpu_partial(): DIV_ROUND_UP(nr_objects * 2, objects) */
	limit = (nr_objects * 2 + objs - 1) / objs;
	p = fill_slabs(s, limit + 2, &n);
	MMT_CHECK(mmt_migrate(1));
	for (i = 0; i < limit; i++) {
		mmt_kmem_cache_free(s, p[i * objs]);
		p[i * objs] = NULL;
	}
	for (i = 0; i < limit; i++)
		MMT_CHECK_MSG(ST_FROZEN(state_of(m, p[i * objs + 1])),
			      "size %u: slab %u of a limit of %u not frozen",
			      size, i, limit);
	/* the list is at its limit: all of it goes to the node */
	mmt_kmem_cache_free(s, p[limit * objs]);
	p[limit * objs] = NULL;
	for (i = 0; i < limit; i++)
		MMT_CHECK_MSG(
			!ST_FROZEN(state_of(m, p[i * objs + 1])),
			"size %u: slab %u still frozen over a limit of %u",
			size, i, limit);
	MMT_CHECK(ST_FROZEN(state_of(m, p[limit * objs + 1])));
	/* the next one finds one slab on the list: it stays */
	mmt_kmem_cache_free(s, p[(limit + 1) * objs]);
	p[(limit + 1) * objs] = NULL;
	MMT_CHECK(limit == 1 || ST_FROZEN(state_of(m, p[limit * objs + 1])));
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(mmt_slab_is_valid(m));
	free_all(s, p, n);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
}

/*
 * set_cpu_partial() of v5.16+: 6 objects for size >= PAGE_SIZE, 24 for
 * >= 1024, 52 for >= 256, 120 below; slub_set_cpu_partial() turns them
 * into slabs assumed half full: DIV_ROUND_UP(objects * 2, per slab).
 */
MMT_TEST(slub_cpu_partial_holds_twice_6_24_52_120_objects_by_size_in_slabs)
{
	check_cpu_partial_limit(64, 120);
	check_cpu_partial_limit(192, 120);
	check_cpu_partial_limit(256, 52);
	check_cpu_partial_limit(1024, 24);
	check_cpu_partial_limit(4096, 6);
}

/*
 * An interrupt between the slow path's look at the cpu partial list and
 * list_lock: its frees freeze full slabs onto this CPU's list (the
 * kernel's put_cpu_partial), and the refill of get_partial_node() that
 * resumes must see them.  The kernel's refill counts only what it adds,
 * so its list may run past cpu_partial_slabs until the next freeing
 * put_cpu_partial drains it; the model's refill keeps within the limit,
 * counting with interrupts off under list_lock.
 */
struct irq_fill {
	struct mmt_kmem_cache *s;
	void **victims;
	unsigned int nr;
	_Atomic int armed, fired;
};

static void irq_fill_hook(struct mmt_machine *m, int cpu,
			  enum mmt_sched_kind kind, const void *obj, void *arg)
{
	struct irq_fill *f = arg;
	const struct mmt_lock *l = obj;
	int one = 1;
	unsigned int i;

	(void)m;
	if (kind != MMT_SP_LOCK_ACQUIRE || cpu != 0 ||
	    strcmp(l->cls->name, "kmem_cache_node->list_lock") ||
	    !atomic_compare_exchange_strong(&f->armed, &one, 0))
		return;
	/* A softirq delivered before list_lock disables interrupts. */
	mmt_softirq_enter();
	for (i = 0; i < f->nr; i++)
		mmt_kmem_cache_free(f->s, f->victims[i]);
	mmt_softirq_exit();
	atomic_store(&f->fired, 1);
}

MMT_TEST(
	slub_refill_counts_the_cpu_partial_slabs_an_interrupt_froze_before_list_lock)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-irqfill", 2048, 0, 0, NULL);
	unsigned int objs = per_slab(s), limit, n, i;
	struct irq_fill f = { .s = s };
	void **p, *victims[16], *obj;

	/* 24 objects for sizes 1024..PAGE_SIZE-1, in slabs half full. */
	limit = (24 * 2 + objs - 1) / objs;
	MMT_CHECK(limit >= 2 && limit <= 16);
	p = fill_slabs(s, 2 * limit + 1, &n);
	/* cpu 0: no cpu slab, an empty cpu partial list. */
	mmt_kmem_cache_shrink(s);
	/*
	 * On cpu 1 one free into each of limit + 1 full slabs: the last
	 * drains the first limit to the node partial list (refill material).
	 */
	MMT_CHECK(mmt_migrate(1));
	for (i = 0; i <= limit; i++) {
		mmt_kmem_cache_free(s, p[i * objs]);
		p[i * objs] = NULL;
	}
	MMT_CHECK(mmt_migrate(0));
	/* The interrupt's frees: limit full slabs, frozen onto cpu 0's list. */
	for (i = 0; i < limit; i++) {
		victims[i] = p[(limit + 1 + i) * objs];
		p[(limit + 1 + i) * objs] = NULL;
	}
	f.victims = victims;
	f.nr = limit;
	atomic_init(&f.armed, 1);
	atomic_init(&f.fired, 0);
	mmt_machine_set_sched_hook(m, irq_fill_hook, &f);
	obj = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK(obj != NULL);
	MMT_CHECK(atomic_load(&f.fired));
	for (i = 0; i < limit; i++)
		MMT_CHECK_MSG(
			ST_FROZEN(state_of(m, p[(limit + 1 + i) * objs + 1])),
			"the interrupt's slab %u is not on the list", i);
	/* limit slabs from the interrupt; the refill adds none past it. */
	MMT_CHECK_MSG(mmt_slab_is_valid(m),
		      "the refill took the cpu partial list past its limit %u",
		      limit);
	mmt_kmem_cache_free(s, obj);
	free_all(s, p, n);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	slub_empty_slabs_beyond_min_partial_are_discarded_and_shrink_takes_the_rest)
{
	struct mmt_machine *m = slub_machine(0);
	/* A debug cache has no cpu partial: frees go to the node lists. */
	struct mmt_kmem_cache *s = mmt_kmem_cache_create(
		"test-minpartial", 1024, 0, MMT_SLAB_RED_ZONE, NULL);
	unsigned int n, objs = per_slab(s), i;
	void **p = fill_slabs(s, 8, &n);

	MMT_CHECK_EQ(nr_slabs(s), 9);
	/* min_partial = clamp(ilog2(size) / 2, 5, 10) = 5 for ~1 KiB. */
	for (i = 0; i < 8 * objs; i++) {
		mmt_kmem_cache_free(s, p[i]);
		p[i] = NULL;
	}
	/*
	 * A slab emptied while the node's partial list (itself included)
	 * holds min_partial slabs goes: 4 empty ones stay, + the cpu slab.
	 */
	MMT_CHECK_EQ(nr_slabs(s), 4 + 1);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_shrink(s);
	MMT_CHECK_EQ(nr_slabs(s), 1); /* the slab of the live object */
	MMT_CHECK(mmt_slab_is_valid(m));
	free_all(s, p, n);
	mmt_kmem_cache_shrink(s);
	MMT_CHECK_EQ(nr_slabs(s), 0);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slub_cpu_offline_returns_the_cpu_slab_and_cpu_partial_slabs)
{
	struct mmt_machine *m = slub_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-offline", 128, 0, 0, NULL);
	unsigned int n, i;
	void **p;

	MMT_CHECK(mmt_migrate(1));
	p = fill_slabs(s, 3, &n);
	for (i = 1; i < n; i++) { /* cpu slab and frozen partials on cpu 1 */
		mmt_kmem_cache_free(s, p[i]);
		p[i] = NULL;
	}
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(mmt_cpu_offline(m, 1));
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_shrink(s);
	MMT_CHECK_EQ(nr_slabs(s), 1); /* only p[0]'s slab is left */
	MMT_CHECK(mmt_cpu_online(m, 1));
	free_all(s, p, n);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* ---- pfmemalloc ---- */

/* A tight machine on SLUB: the test decides who is below min. */
static struct mmt_machine *tight_slub_machine(void)
{
	return t_tight_machine(&(struct t_tight){ .slab = MMT_SLAB_SLUB });
}

MMT_TEST(
	slub_a_reserve_cpu_slab_serves_entitled_callers_and_an_ordinary_one_deactivates_it)
{
	struct mmt_machine *m = tight_slub_machine();
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-pfm", 256, 0, 0, NULL);
	struct mmt_page *held[1024];
	void *r[4], *plain;
	unsigned int n, i;

	mmt_slab_memalloc_socks_changed(m, true);
	n = t_take_pages_until(m, 0, 8, held, 1024);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	for (i = 0; i < 4; i++) {
		r[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(r[i] != NULL);
		MMT_CHECK(mmt_page_is_pfmemalloc(slab_of(m, r[i])));
	}
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	/* Installed (frozen) for the entitled: the reserves are tapped... */
	MMT_CHECK(ST_FROZEN(state_of(m, r[0])));
	/* ...but the fast path keeps an ordinary caller off it. */
	plain = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
	MMT_CHECK(plain == NULL);
	MMT_CHECK(!ST_FROZEN(state_of(m, r[0]))); /* deactivated */
	MMT_CHECK(!s->ops->pfmemalloc_in_percpu(s, 0));
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < 4; i++)
		mmt_kmem_cache_free(s, r[i]);
	t_give_pages_back(held, n);
	/* Memory is back: an ordinary caller gets a normal slab. */
	plain = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(plain != NULL);
	MMT_CHECK(!mmt_page_is_pfmemalloc(slab_of(m, plain)));
	mmt_kmem_cache_free(s, plain);
	mmt_slab_memalloc_socks_changed(m, false);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/*
 * pfmemalloc_match() asks gfp_pfmemalloc_allowed() and nothing else: an
 * entitled caller keeps a pfmemalloc cpu slab whether or not a memalloc
 * socket exists, and the last socket going flushes nothing; an ordinary
 * caller never gets a reserve object either way.
 */
MMT_TEST(
	slub_pfmemalloc_match_asks_the_callers_rights_never_the_memalloc_sockets)
{
	struct mmt_machine *m = tight_slub_machine();
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-socks", 256, 0, 0, NULL);
	struct mmt_page *held[1024];
	void *r[8], *plain;
	unsigned int n, i, round;

	n = t_take_pages_until(m, 0, 8, held, 1024);
	for (round = 0; round < 2; round++) {
		/* round 0: no memalloc socket ever; round 1: one, then none */
		if (round)
			mmt_slab_memalloc_socks_changed(m, true);
		mmt_current_set_flags(MMT_PF_MEMALLOC);
		for (i = 0; i < 4; i++) {
			r[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
			MMT_CHECK(r[i] != NULL);
			MMT_CHECK(mmt_page_is_pfmemalloc(slab_of(m, r[i])));
		}
		mmt_current_clear_flags(MMT_PF_MEMALLOC);
		/* the freelist was loaded: the slab is the cpu slab */
		MMT_CHECK_MSG(
			ST_FROZEN(state_of(m, r[0])),
			"round %u: an entitled caller's pfmemalloc slab was deactivated",
			round);
		if (round)
			mmt_slab_memalloc_socks_changed(m, false);
		MMT_CHECK_MSG(
			ST_FROZEN(state_of(m, r[0])),
			"the last memalloc socket flushed a pfmemalloc cpu slab");
		MMT_CHECK(mmt_slab_is_valid(m));
		/* an ordinary caller is kept off it */
		plain = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
		MMT_CHECK(plain == NULL);
		for (i = 0; i < 4; i++)
			mmt_kmem_cache_free(s, r[i]);
		MMT_CHECK_CLEAN(m);
	}
	t_give_pages_back(held, n);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* ---- seed 003: the frozen slab of a dead cache ---- */

struct dead_race {
	struct mmt_machine *m;
	struct mmt_kmem_cache *s;
	void *obj;
	sem_t reached, go;
	_Atomic int armed;
};

static void dead_race_hook(struct mmt_machine *m, int cpu,
			   enum mmt_sched_kind kind, const void *obj, void *arg)
{
	struct dead_race *r = arg;
	int one = 1;

	(void)m;
	/* Thread A is preempted between "freeze it" and its cmpxchg. */
	if (kind == MMT_SP_PREEMPT && obj == r->s && cpu == 1 &&
	    atomic_compare_exchange_strong(&r->armed, &one, 0)) {
		sem_post(&r->reached);
		sem_wait(&r->go);
	}
}

static void *dead_race_freer(void *arg)
{
	struct dead_race *r = arg;
	struct mmt_task *t = mmt_task_create(r->m, "freer", 0);

	if (!mmt_cpu_attach(r->m, 1, t))
		return (void *)1;
	mmt_kmem_cache_free(r->s, r->obj);
	mmt_cpu_detach();
	mmt_task_destroy(t);
	return NULL;
}

/* Returns the violations; *leak: "dead-cache-leak" among them. */
static unsigned long run_dead_race(uint64_t bugs, bool *leak)
{
	struct mmt_machine *m = slub_machine(bugs);
	struct dead_race r = { .m = m };
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("test-dead", 128, 0, 0, NULL);
	unsigned int n, objs = per_slab(s), i;
	void **p = fill_slabs(s, 2, &n), *ret;
	unsigned long v;
	pthread_t th;

	r.s = s;
	r.obj = p[0]; /* slab A: full, unfrozen, on no list */
	atomic_init(&r.armed, 1);
	sem_init(&r.reached, 0, 0);
	sem_init(&r.go, 0, 0);
	mmt_machine_set_sched_hook(m, dead_race_hook, &r);
	MMT_CHECK(pthread_create(&th, NULL, dead_race_freer, &r) == 0);
	sem_wait(&r.reached);
	/* memcg offline, as the seed tells it: mark dead, shrink. */
	s->ops->mark_dead(s);
	atomic_store(&s->dead, true);
	mmt_kmem_cache_shrink(s);
	sem_post(&r.go);
	pthread_join(th, &ret);
	MMT_CHECK(ret == NULL);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	/* The rest of slab A is freed: it is empty now, wherever it is. */
	for (i = 1; i < objs; i++) {
		mmt_kmem_cache_free(s, p[i]);
		p[i] = NULL;
	}
	p[0] = NULL;
	s->ops->is_valid(s);
	*leak = mmt_violated(m, "dead-cache-leak");
	v = mmt_violation_count(m);
	/* Revive it so the teardown below is the root cache's own. */
	atomic_store(&s->dead, false);
	free_all(s, p, n);
	mmt_violations_clear(m);
	mmt_kmem_cache_destroy(s);
	sem_destroy(&r.reached);
	sem_destroy(&r.go);
	t_machine_done();
	return v;
}

MMT_TEST(slub_bug_frozen_dead_cache_is_caught_when_on_and_silent_when_off)
{
	bool leak;

	MMT_CHECK_EQ(run_dead_race(0, &leak), 0);
	MMT_CHECK(!leak);
	run_dead_race(1ull << MMT_BUG_SLUB_FROZEN_DEAD_CACHE, &leak);
	MMT_CHECK(leak);
}

/* ---- threads ---- */

struct churn_arg {
	struct mmt_kmem_cache *s;
	struct t_exchange x;
	uint64_t seed[2]; /* one per cpu, drawn by the test thread */
};

static void churn(int cpu, void *arg)
{
	struct churn_arg *a = arg;
	uint64_t st = a->seed[cpu];
	void *mine[16] = { 0 };
	int i;

	for (i = 0; i < 30000; i++) {
		unsigned int k, op;
		void *obj, *old;

		st = st * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned int)(st >> 33);
		op = (unsigned int)(st >> 50) % 16;
		if (op < 6) { /* local: alloc and keep, free the one kept */
			old = mine[k % 16];
			mine[k % 16] = mmt_kmem_cache_alloc(a->s, GFP_KERNEL);
			mmt_kmem_cache_free(a->s, old);
		} else if (op < 14) { /* remote: swap through the exchange */
			obj = mmt_kmem_cache_alloc(a->s, GFP_KERNEL);
			old = t_exchange_swap(&a->x, k, obj);
			mmt_kmem_cache_free(a->s, old);
		} else if (op == 14 && k % 64 == 0) {
			mmt_kmem_cache_shrink(a->s);
		}
	}
	for (i = 0; i < 16; i++)
		mmt_kmem_cache_free(a->s, mine[i]);
}

MMT_TEST(slub_threads_allocate_free_locally_and_remotely_and_shrink_at_once)
{
	struct mmt_machine *m = slub_machine(0);
	struct churn_arg a = { .s = mmt_kmem_cache_create("test-churn", 200, 0,
							  0, NULL) };
	struct mmt_kmem_cache *s = a.s;
	struct mmt_slab_info info;
	int i;

	t_exchange_init(&a.x, 128);
	for (i = 0; i < 2; i++)
		a.seed[i] = t_rand();
	t_run_on_cpus(2, churn, &a);
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < 128; i++)
		mmt_kmem_cache_free(s, a.x.slot[i]);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.live, 0);
	mmt_kmem_cache_shrink(s);
	MMT_CHECK_EQ(nr_slabs(s), 0);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}
