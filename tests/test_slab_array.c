/* SPDX-License-Identifier: MIT */
/*
 * tests/test_slab_array.c - SLAB (alloc/slab_array.c): array caches, batch
 * refill and flush, the shared array, free_limit, pfmemalloc slabs as the
 * re-implementation of seed 000 keeps them, the four injectable bugs of
 * that seed, hotplug and real threads.  White-box: counts are read through
 * _mmt_slab_array_stat() and list_lock acquisitions through the sched hook.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "slab.h"
#include "mmt_test.h"

/* slab_array.c: test introspection (not API). */
long _mmt_slab_array_stat(const struct mmt_kmem_cache *s, int id,
			  const char *what);

static long stat_of(struct mmt_kmem_cache *s, int id, const char *what)
{
	return _mmt_slab_array_stat(s, id, what);
}

static struct mmt_machine *slab_machine(int cpus, uint64_t bugs)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SLAB;
	cfg.nr_cpus = cpus;
	cfg.bugs = bugs;
	return t_machine(&cfg);
}

/* A tight machine on SLAB: the test decides who is below min. */
static struct mmt_machine *tight_machine(uint64_t bugs)
{
	return t_tight_machine(
		&(struct t_tight){ .slab = MMT_SLAB_SLAB, .bugs = bugs });
}

/* Take every page there is, reserves and per-cpu lists included. */
static unsigned int exhaust_all(struct mmt_machine *m, struct mmt_page **held,
				unsigned int n, unsigned int max)
{
	mmt_drain_all_pages(m);
	for (;;) {
		MMT_CHECK(n < max);
		held[n] = mmt_alloc_pages(__GFP_MEMALLOC | __GFP_NOWARN, 0);
		if (!held[n])
			return n;
		n++;
	}
}

static bool is_pfmemalloc_obj(struct mmt_machine *m, void *obj)
{
	return slab_is_pfmemalloc(_mmt_virt_to_slab(m, obj));
}

/* ---- counting list_lock acquisitions ---- */

static int list_lock_acquires;

static void count_list_lock(struct mmt_machine *m, int cpu,
			    enum mmt_sched_kind kind, const void *obj,
			    void *arg)
{
	const struct mmt_lock *l = obj;

	(void)m, (void)cpu, (void)arg;
	if (kind == MMT_SP_LOCK_ACQUIRE && l && l->cls &&
	    !strcmp(l->cls->name, "kmem_cache_node->list_lock"))
		list_lock_acquires++;
}

/* ---- array caches ---- */

MMT_TEST(
	slab_refill_takes_a_batch_under_one_list_lock_then_serves_from_the_array)
{
	struct mmt_machine *m = slab_machine(1, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-refill", 64, 0, 0, NULL);
	void *p[200];
	long before;
	int i, n = 0;

	MMT_CHECK_EQ(stat_of(s, 0, "limit"), 120);
	MMT_CHECK_EQ(stat_of(s, 0, "batchcount"), 60);
	mmt_machine_set_sched_hook(m, count_list_lock, NULL);
	/* Untouched since creation: the first refill is BATCHREFILL_LIMIT. */
	p[n++] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 15);
	list_lock_acquires = 0;
	while (stat_of(s, 0, "avail"))
		p[n++] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(n, 16);
	MMT_CHECK_EQ(list_lock_acquires, 0); /* all from the array */
	/* Touched: the next refill moves up to batchcount in one lock. */
	before = stat_of(s, 0, "free_objects");
	MMT_CHECK(before > 0 && before < 60);
	p[n++] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(list_lock_acquires, 1);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), before - 1);
	MMT_CHECK_EQ(stat_of(s, 0, "free_objects"), 0);
	/* Drain the array; an empty node now grows and refills a batch. */
	while (stat_of(s, 0, "avail"))
		p[n++] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	p[n++] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat_of(s, 0, "avail") + 1,
		     s->objects < 60 ? (long)s->objects : 60);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < n; i++)
		mmt_kmem_cache_free(s, p[i]);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slab_flusharray_returns_a_batch_to_the_slabs_when_the_array_is_full)
{
	struct mmt_machine *m = slab_machine(1, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-flush", 64, 0, 0, NULL);
	void *p[200];
	long fo;
	int i;

	MMT_CHECK_EQ(stat_of(s, 0, "shared"), -1); /* one CPU: no shared */
	for (i = 0; i < 200; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_slab_flush_cpu(m, 0); /* start from an empty array */
	for (i = 0; i < 120; i++)
		mmt_kmem_cache_free(s, p[i]);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 120);
	fo = stat_of(s, 0, "free_objects");
	mmt_machine_set_sched_hook(m, count_list_lock, NULL);
	list_lock_acquires = 0;
	mmt_kmem_cache_free(s, p[120]);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK_EQ(list_lock_acquires, 1);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 61);
	MMT_CHECK_EQ(stat_of(s, 0, "free_objects"), fo + 60);
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 121; i < 200; i++)
		mmt_kmem_cache_free(s, p[i]);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slab_free_slabs_beyond_free_limit_go_back_to_the_page_allocator)
{
	struct mmt_machine *m = slab_machine(1, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-limit", 256, 0, 0, NULL);
	struct mmt_slab_info info;
	void *p[400];
	long slabs_full, limit;
	int i;

	limit = stat_of(s, 0, "free_limit");
	MMT_CHECK_EQ(limit, (1 + 1) * 60 + (long)s->objects);
	for (i = 0; i < 400; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_slab_info(s, &info);
	slabs_full = info.slabs;
	for (i = 0; i < 400; i++)
		mmt_kmem_cache_free(s, p[i]);
	/* Every flush destroyed free slabs while free_objects > free_limit. */
	MMT_CHECK(stat_of(s, 0, "free_objects") <= limit);
	mmt_slab_info(s, &info);
	MMT_CHECK(info.slabs < slabs_full);
	MMT_CHECK(info.slabs * (long)s->objects <= limit + 120 + s->objects);
	MMT_CHECK_EQ(info.live, 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_shrink(s);
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.slabs, 0);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 0);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slab_shared_array_takes_flushed_batches_and_serves_another_cpu)
{
	struct mmt_machine *m = slab_machine(2, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-shared", 64, 0, 0, NULL);
	struct mmt_slab_info info;
	long slabs;
	void *p[200], *q;
	int i;

	for (i = 0; i < 200; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_slab_flush_cpu(m, 0); /* start from an empty array */
	for (i = 0; i < 200; i++)
		mmt_kmem_cache_free(s, p[i]);
	/* 120 fill the array; 121 and 181 each flush a batch of 60. */
	MMT_CHECK_EQ(stat_of(s, 0, "shared"), 120);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 80);
	mmt_slab_info(s, &info);
	slabs = info.slabs;
	MMT_CHECK(mmt_migrate(1));
	mmt_machine_set_sched_hook(m, count_list_lock, NULL);
	list_lock_acquires = 0;
	q = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK(q != NULL);
	MMT_CHECK_EQ(list_lock_acquires, 1);
	MMT_CHECK_EQ(stat_of(s, 1, "avail"), 15); /* untouched: 16 */
	MMT_CHECK_EQ(stat_of(s, 0, "shared"), 104);
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.slabs, slabs); /* no new slab: CPU 0's objects */
	mmt_kmem_cache_free(s, q);
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slab_cpu_offline_flushes_its_array_back_to_the_slabs)
{
	struct mmt_machine *m = slab_machine(2, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-offline", 128, 0, 0, NULL);
	void *p[50];
	long fo;
	int i;

	MMT_CHECK(mmt_migrate(1));
	for (i = 0; i < 50; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < 50; i++)
		mmt_kmem_cache_free(s, p[i]);
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(stat_of(s, 1, "avail") > 0);
	fo = stat_of(s, 0, "free_objects") + stat_of(s, 1, "avail");
	MMT_CHECK(mmt_cpu_offline(m, 1));
	MMT_CHECK_EQ(stat_of(s, 1, "avail"), 0);
	MMT_CHECK_EQ(stat_of(s, 0, "free_objects"), fo);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK(mmt_cpu_online(m, 1));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(slab_dead_cache_keeps_no_array_objects_and_no_free_slab)
{
	struct mmt_machine *m = slab_machine(2, 0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-dead", 128, 0, 0, NULL);
	struct mmt_slab_info info;
	void *p[40];
	int i;

	for (i = 0; i < 40; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_kmem_cache_free(s, p[0]);
	s->ops->mark_dead(s);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 0);
	MMT_CHECK_EQ(stat_of(s, 0, "limit"), 0);
	MMT_CHECK_EQ(stat_of(s, 0, "free"), 0);
	p[0] = mmt_kmem_cache_alloc(s, GFP_KERNEL); /* straight from a slab */
	MMT_CHECK(p[0] != NULL);
	for (i = 0; i < 40; i++) {
		mmt_kmem_cache_free(s, p[i]);
		MMT_CHECK_EQ(stat_of(s, 0, "avail"), 0);
		MMT_CHECK_EQ(stat_of(s, 0, "free"), 0);
	}
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.slabs, 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* ---- pfmemalloc (seed 000) ---- */

MMT_TEST(
	slab_pfmemalloc_slab_serves_entitled_callers_only_after_ordinary_objects)
{
	struct mmt_machine *m = tight_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-pfm", 256, 0, 0, NULL);
	struct mmt_page *held[1100];
	void *first, *normal[64], *res, *res2, *plain;
	unsigned int n, i, k = 0;

	mmt_slab_memalloc_socks_changed(m, true);
	first = mmt_kmem_cache_alloc(s, GFP_KERNEL); /* an ordinary slab */
	MMT_CHECK(first && !is_pfmemalloc_obj(m, first));
	n = t_take_pages_until(m, 0, 8, held, 1100);
	/* Below min.  The entitled caller gets the ordinary objects first. */
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	while (stat_of(s, 0, "avail") || stat_of(s, 0, "free_objects")) {
		MMT_CHECK(k < 64);
		normal[k] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(normal[k] && !is_pfmemalloc_obj(m, normal[k]));
		k++;
	}
	res = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(res != NULL && is_pfmemalloc_obj(m, res));
	/* The reserve slab never feeds an array cache. */
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 0);
	/* A freed ordinary object goes first, even to an entitled caller. */
	mmt_kmem_cache_free(s, normal[0]);
	normal[0] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(normal[0] && !is_pfmemalloc_obj(m, normal[0]));
	res2 = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(res2 != NULL && is_pfmemalloc_obj(m, res2));
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	/* Freeing a reserve object puts it back on its slab, not the array. */
	mmt_kmem_cache_free(s, res2);
	MMT_CHECK_EQ(stat_of(s, 0, "avail"), 0);
	for (i = 0; i < 2; i++)
		MMT_CHECK(!s->ops->pfmemalloc_in_percpu(s, (int)i));
	/* An ordinary caller is not served from the reserve slab. */
	plain = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
	MMT_CHECK(plain == NULL);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK_CLEAN(m);
	mmt_kmem_cache_free(s, res);
	mmt_kmem_cache_free(s, first);
	for (i = 0; i < k; i++)
		mmt_kmem_cache_free(s, normal[i]);
	t_give_pages_back(held, n);
	mmt_slab_memalloc_socks_changed(m, false);
	/* Memory is back: an ordinary caller gets an ordinary slab. */
	plain = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
	MMT_CHECK(plain && !is_pfmemalloc_obj(m, plain));
	mmt_kmem_cache_free(s, plain);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* Seed 000 review: the free path drops objects of ordinary slabs. */
static bool run_free_leak(uint64_t bugs)
{
	struct mmt_machine *m = slab_machine(2, bugs);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-leak", 96, 0, 0, NULL);
	void *p[32];
	bool caught;
	int i;

	for (i = 0; i < 32; i++)
		p[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_slab_memalloc_socks_changed(m, true);
	for (i = 0; i < 32; i++)
		mmt_kmem_cache_free(s, p[i]);
	mmt_slab_memalloc_socks_changed(m, false);
	caught = !mmt_slab_is_valid(m) && mmt_violated(m, "slab-leak");
	if (!caught) {
		MMT_CHECK_CLEAN(m);
		mmt_kmem_cache_destroy(s);
	}
	t_machine_done();
	return caught;
}

MMT_TEST(slab_bug_pfmemalloc_free_leak_is_caught_when_on_and_silent_when_off)
{
	MMT_CHECK(!run_free_leak(0));
	MMT_CHECK(run_free_leak(1ull << MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK));
}

/* Seed 000 review: free_objects read without list_lock. */
struct racy {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 0 wait, 1 free now, 2 freed, 3 quit */
	bool fired; /* only the CPU 0 thread reads or writes it */
	struct mmt_machine *m;
	struct mmt_kmem_cache *s;
	void *obj;
};

static void racy_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		      const void *obj, void *arg)
{
	struct racy *r = arg;

	(void)m;
	if (cpu != 0 || kind != MMT_SP_PREEMPT || !obj || r->fired)
		return;
	/* Preempted between the look at free_objects and list_lock: a
	 * thread on CPU 1 frees an object of the reserve slab. */
	r->fired = true;
	pthread_mutex_lock(&r->mu);
	r->state = 1;
	pthread_cond_broadcast(&r->cv);
	while (r->state != 2)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

static void *racy_freer(void *arg)
{
	struct racy *r = arg;
	struct mmt_task *t = mmt_task_create(r->m, "freer", 0);
	int st;

	if (!mmt_cpu_attach(r->m, 1, t))
		return (void *)1;
	pthread_mutex_lock(&r->mu);
	while (r->state == 0)
		pthread_cond_wait(&r->cv, &r->mu);
	st = r->state;
	pthread_mutex_unlock(&r->mu);
	if (st == 1)
		mmt_kmem_cache_free(r->s, r->obj);
	pthread_mutex_lock(&r->mu);
	r->state = 2;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	mmt_cpu_detach();
	mmt_task_destroy(t);
	return NULL;
}

static bool run_racy(uint64_t bugs)
{
	struct mmt_machine *m = tight_machine(bugs);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-racy", 256, 0, 0, NULL);
	struct racy r = { .mu = PTHREAD_MUTEX_INITIALIZER,
			  .cv = PTHREAD_COND_INITIALIZER,
			  .m = m,
			  .s = s };
	struct mmt_page *held[1100];
	void *objs[64], *got, *ret;
	unsigned int n, k = 0, i;
	pthread_t th;
	bool caught;

	mmt_slab_memalloc_socks_changed(m, true);
	n = t_take_pages_until(m, 0, 8, held, 1100);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	/* One reserve slab, every object of it handed out. */
	do {
		MMT_CHECK(k < 64);
		objs[k] = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
		MMT_CHECK(objs[k] && is_pfmemalloc_obj(m, objs[k]));
		k++;
	} while (stat_of(s, 0, "free_objects"));
	n = exhaust_all(m, held, n, 1100); /* not even reserves are left */
	r.obj = objs[--k];
	MMT_CHECK(pthread_create(&th, NULL, racy_freer, &r) == 0);
	mmt_machine_set_sched_hook(m, racy_hook, &r);
	got = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	pthread_mutex_lock(&r.mu);
	if (r.state == 0)
		r.state = 3;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	pthread_join(th, &ret);
	MMT_CHECK(ret == NULL);
	MMT_CHECK(r.fired);
	caught = mmt_violated(m, "pfmemalloc-forward-progress");
	if (!caught) {
		/* The lock-then-check variant found the freed object. */
		MMT_CHECK(got == r.obj);
		MMT_CHECK_CLEAN(m);
	} else {
		MMT_CHECK(got == NULL);
	}
	if (got)
		mmt_kmem_cache_free(s, got);
	for (i = 0; i < k; i++)
		mmt_kmem_cache_free(s, objs[i]);
	t_give_pages_back(held, n);
	mmt_slab_memalloc_socks_changed(m, false);
	if (!caught) {
		MMT_CHECK(mmt_slab_is_valid(m));
		mmt_kmem_cache_destroy(s);
		MMT_CHECK_CLEAN(m);
	}
	t_machine_done();
	return caught;
}

MMT_TEST(slab_bug_racy_free_objects_is_caught_when_on_and_silent_when_off)
{
	MMT_CHECK(!run_racy(0));
	MMT_CHECK(run_racy(1ull << MMT_BUG_SLAB_RACY_FREE_OBJECTS));
}

/*
 * Seed 000 problem 1: cache B loses its last reserve slab and clears the
 * global pfmemalloc_active while cache A's array still holds reserve
 * objects; an ordinary caller of A then gets one.
 */
static bool run_active_cleared(uint64_t bugs)
{
	struct mmt_machine *m = tight_machine(bugs);
	struct mmt_kmem_cache *a =
		mmt_kmem_cache_create("t-cache-a", 256, 0, 0, NULL);
	struct mmt_kmem_cache *b =
		mmt_kmem_cache_create("t-cache-b", 512, 0, 0, NULL);
	struct mmt_page *held[1100];
	void *ra, *rb, *plain;
	unsigned int n;
	bool caught;

	mmt_slab_memalloc_socks_changed(m, true);
	n = t_take_pages_until(m, 0, 8, held, 1100);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	ra = mmt_kmem_cache_alloc(a, GFP_KERNEL);
	rb = mmt_kmem_cache_alloc(b, GFP_KERNEL);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	MMT_CHECK(ra && is_pfmemalloc_obj(m, ra));
	MMT_CHECK(rb && is_pfmemalloc_obj(m, rb));
	mmt_kmem_cache_free(a, ra);
	mmt_kmem_cache_free(b, rb);
	t_give_pages_back(held, n);
	mmt_kmem_cache_shrink(b); /* B's reserve slab goes away */
	plain = mmt_kmem_cache_alloc(a, GFP_KERNEL);
	MMT_CHECK(plain != NULL);
	caught = mmt_violated(m, "pfmemalloc-isolation");
	if (!caught) {
		MMT_CHECK(!is_pfmemalloc_obj(m, plain));
		MMT_CHECK_CLEAN(m);
	}
	mmt_kmem_cache_free(a, plain);
	/* (sockets stay on: lingering is the other bug's business) */
	if (!caught) {
		MMT_CHECK(mmt_slab_is_valid(m));
		mmt_kmem_cache_destroy(a);
		mmt_kmem_cache_destroy(b);
		MMT_CHECK_CLEAN(m);
	}
	t_machine_done();
	return caught;
}

MMT_TEST(
	slab_bug_pfmemalloc_active_cleared_is_caught_when_on_and_silent_when_off)
{
	MMT_CHECK(!run_active_cleared(0));
	MMT_CHECK(run_active_cleared(
		1ull << MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED));
	/* The old design with a correct (machine-wide) flag is not caught. */
	MMT_CHECK(!run_active_cleared(1ull << MMT_BUG_SLAB_PFMEMALLOC_LINGERS));
}

/* Seed 000 problem 3 on SLAB: only the old tagging design lingers. */
static bool run_lingers(uint64_t bugs)
{
	struct mmt_machine *m = tight_machine(bugs);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("t-linger", 256, 0, 0, NULL);
	struct mmt_page *held[1100];
	void *r[8];
	unsigned int n, i;
	bool caught;

	mmt_slab_memalloc_socks_changed(m, true);
	n = t_take_pages_until(m, 0, 8, held, 1100);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	for (i = 0; i < 8; i++)
		r[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	for (i = 0; i < 8; i++)
		mmt_kmem_cache_free(s, r[i]);
	t_give_pages_back(held, n);
	mmt_slab_memalloc_socks_changed(m, false);
	caught = mmt_violated(m, "pfmemalloc-lingering");
	if (!caught) {
		/* Nothing of a reserve slab left where ordinary callers look. */
		for (i = 0; i < 2; i++)
			MMT_CHECK(!s->ops->pfmemalloc_in_percpu(s, (int)i));
		MMT_CHECK(mmt_slab_is_valid(m));
		mmt_kmem_cache_destroy(s);
		MMT_CHECK_CLEAN(m);
	}
	t_machine_done();
	return caught;
}

MMT_TEST(slab_bug_pfmemalloc_lingers_needs_the_old_design_and_socks_off_drops_it)
{
	MMT_CHECK(!run_lingers(0));
	MMT_CHECK(run_lingers(1ull << MMT_BUG_SLAB_PFMEMALLOC_LINGERS));
	/* Old design, sockets-off flush intact: dropped, not lingering. */
	MMT_CHECK(!run_lingers(1ull << MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED));
}

/* ---- threads ---- */

struct worker_arg {
	struct mmt_machine *m;
	struct mmt_kmem_cache *s;
	struct t_exchange x;
	uint64_t seed[2]; /* one per cpu, drawn by the test thread */
};

static void worker_run(int cpu, void *arg)
{
	struct worker_arg *w = arg;
	uint64_t st = w->seed[cpu];
	int i;

	for (i = 0; i < 20000; i++) {
		unsigned int k;
		void *old, *obj = NULL;

		st = st * 6364136223846793005ull + 1442695040888963407ull;
		k = (unsigned int)(st >> 40) % 128;
		if ((st >> 20) % 3)
			obj = mmt_kmem_cache_alloc(w->s, GFP_KERNEL);
		old = t_exchange_swap(&w->x, k, obj);
		if (old)
			mmt_kmem_cache_free(w->s, old); /* often remote */
		if ((st >> 50) % 499 == 0)
			mmt_kmem_cache_shrink(w->s);
		if (cpu == 0 && (st >> 52) % 1999 == 0) {
			mmt_slab_memalloc_socks_changed(w->m, true);
			mmt_slab_memalloc_socks_changed(w->m, false);
		}
	}
}

MMT_TEST(slab_threads_allocate_free_remotely_shrink_and_flush_at_once)
{
	struct mmt_machine *m = slab_machine(2, 0);
	struct worker_arg w = {
		.m = m,
		.s = mmt_kmem_cache_create("t-threads", 72, 0, 0, NULL),
	};
	struct mmt_kmem_cache *s = w.s;
	struct mmt_slab_info info;
	int i;

	t_exchange_init(&w.x, 128);
	for (i = 0; i < 2; i++)
		w.seed[i] = t_rand();
	t_run_on_cpus(2, worker_run, &w);
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < 128; i++)
		if (w.x.slot[i])
			mmt_kmem_cache_free(s, w.x.slot[i]);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.live, 0);
	mmt_kmem_cache_shrink(s);
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.slabs, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}
