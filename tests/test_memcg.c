/* SPDX-License-Identifier: MIT */
/*
 * tests/test_memcg.c - memory cgroups and the slab layer (seed 003): child
 * caches created on first use, charges per slab page, offline marking
 * children dead, dead caches going with their last slab, the validators,
 * concurrency, and the SLUB frozen-slab race that leaks a dead cache.
 * Most tests run once per slab implementation (MMT_SLAB_TEST).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "slab.h"
#include "mmt_test.h"

static struct mmt_machine *memcg_machine(int nr_cpus)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	if (nr_cpus)
		cfg.nr_cpus = nr_cpus;
	return t_machine(&cfg);
}

/* The cache an object belongs to (white box: the slab's metadata). */
static struct mmt_kmem_cache *cache_of(struct mmt_machine *m, void *obj)
{
	struct mmt_page *slab = _mmt_virt_to_slab(m, obj);

	MMT_CHECK(slab != NULL);
	return slab_meta(slab)->cache;
}

static long slab_pages(const struct mmt_kmem_cache *s)
{
	return atomic_load_explicit(&s->nr_slab_pages, memory_order_relaxed);
}

static bool cache_is_dead(const struct mmt_kmem_cache *s)
{
	struct mmt_slab_info info;

	mmt_slab_info(s, &info);
	return info.dead;
}

/* ---- child caches ---- */

MMT_SLAB_TEST(accounted_allocation_goes_to_a_child_cache_created_on_first_use)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("dentry", 192, 0, 0, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	struct mmt_kmem_cache *child;
	void *a, *b, *k;

	MMT_CHECK(s && cg);
	MMT_CHECK(mmt_memcg_is_online(cg));
	MMT_CHECK_STR(mmt_memcg_name(cg), "grp");
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	mmt_task_set_memcg(mmt_current_task(), cg);
	MMT_CHECK(mmt_task_memcg(mmt_current_task()) == cg);

	a = mmt_kmem_cache_alloc(s, GFP_KERNEL_ACCOUNT);
	MMT_CHECK(a != NULL);
	child = cache_of(m, a);
	MMT_CHECK(child != s);
	MMT_CHECK(child->root == s && child->memcg == cg);
	MMT_CHECK_STR(mmt_kmem_cache_name(child), "dentry(grp)");
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);
	/* Its slab pages are charged to the group. */
	MMT_CHECK(mmt_memcg_charged_pages(cg) > 0);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), slab_pages(child));

	/* The second accounted allocation finds the same child. */
	b = mmt_kmem_cache_alloc(s, GFP_KERNEL_ACCOUNT);
	MMT_CHECK(cache_of(m, b) == child);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);

	/* kmalloc with __GFP_ACCOUNT: a child of the kmalloc cache. */
	k = mmt_kmalloc(100, GFP_KERNEL_ACCOUNT);
	MMT_CHECK_STR(mmt_kmem_cache_name(cache_of(m, k)), "kmalloc-128(grp)");
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 2);
	MMT_CHECK(mmt_slab_is_valid(m));

	/* Freed through the root cache, as callers do. */
	mmt_kmem_cache_free(s, a);
	mmt_kmem_cache_free(s, b);
	mmt_kfree(k);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_task_set_memcg(mmt_current_task(), NULL);
	mmt_memcg_offline(cg);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK(mmt_memcg_destroy(cg));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(unaccounted_allocations_and_tasks_outside_a_cgroup_use_the_root)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("plain", 64, 0, 0, NULL);
	struct mmt_kmem_cache *acct =
		mmt_kmem_cache_create("acct", 64, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	void *p, *q, *r;

	/* No group: even an accounted cache allocates from itself. */
	p = mmt_kmem_cache_alloc(acct, GFP_KERNEL);
	MMT_CHECK(cache_of(m, p) == acct);
	mmt_task_set_memcg(mmt_current_task(), cg);
	/* In a group, without __GFP_ACCOUNT on an ordinary cache: root. */
	q = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(cache_of(m, q) == s);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	/* A MMT_SLAB_ACCOUNT cache accounts every allocation. */
	r = mmt_kmem_cache_alloc(acct, GFP_KERNEL);
	MMT_CHECK_STR(mmt_kmem_cache_name(cache_of(m, r)), "acct(grp)");
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);

	mmt_kmem_cache_free(acct, p);
	mmt_kmem_cache_free(s, q);
	mmt_kmem_cache_free(acct, r);
	mmt_memcg_offline(cg);
	MMT_CHECK(mmt_memcg_destroy(cg));
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(
	atomic_context_accounted_allocation_uses_the_root_and_the_child_comes_later)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("skb", 256, 0, 0, NULL);
	struct mmt_kmem_cache *s2 =
		mmt_kmem_cache_create("sock", 128, 0, 0, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "net");
	void *a, *b, *c, *d, *e;

	mmt_task_set_memcg(mmt_current_task(), cg);
	/* Preemption off: no sleeping, so no cache creation here. */
	mmt_preempt_disable();
	a = mmt_kmem_cache_alloc(s, GFP_ATOMIC | __GFP_ACCOUNT);
	mmt_preempt_enable();
	MMT_CHECK(cache_of(m, a) == s);
	/* Preemptible, but the mask may not sleep: the same. */
	b = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_ACCOUNT);
	MMT_CHECK(cache_of(m, b) == s);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);

	/* The deferred work creates the wanted child... */
	mmt_memcg_reap(m);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);
	c = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_ACCOUNT);
	MMT_CHECK_STR(mmt_kmem_cache_name(cache_of(m, c)), "skb(net)");

	/* ...or the next allocation that may sleep does. */
	mmt_local_irq_disable();
	d = mmt_kmem_cache_alloc(s2, GFP_ATOMIC | __GFP_ACCOUNT);
	mmt_local_irq_enable();
	MMT_CHECK(cache_of(m, d) == s2);
	e = mmt_kmem_cache_alloc(s2, GFP_KERNEL_ACCOUNT);
	MMT_CHECK_STR(mmt_kmem_cache_name(cache_of(m, e)), "sock(net)");
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 2);
	MMT_CHECK(mmt_slab_is_valid(m));

	mmt_kmem_cache_free(s, a);
	mmt_kmem_cache_free(s, b);
	mmt_kmem_cache_free(s, c);
	mmt_kmem_cache_free(s2, d);
	mmt_kmem_cache_free(s2, e);
	mmt_memcg_offline(cg);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK(mmt_memcg_destroy(cg));
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- charges ---- */

MMT_SLAB_TEST(slab_pages_are_charged_when_added_and_uncharged_when_freed)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("inode", 512, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	struct mmt_kmem_cache *child;
	enum {
		N = 400
	};
	void *objs[N];
	long peak;
	int i;

	mmt_task_set_memcg(mmt_current_task(), cg);
	for (i = 0; i < N; i++) {
		objs[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(objs[i] != NULL);
		if (i % 50 == 0)
			MMT_CHECK(mmt_slab_is_valid(m));
	}
	child = cache_of(m, objs[0]);
	peak = mmt_memcg_charged_pages(cg);
	MMT_CHECK(peak >= (long)(N * 512 / MMT_PAGE_SIZE));
	MMT_CHECK_EQ(peak, slab_pages(child));
	for (i = 0; i < N; i++) {
		mmt_kmem_cache_free(s, objs[i]);
		if (i % 50 == 0)
			MMT_CHECK(mmt_slab_is_valid(m));
	}
	/* Empty slabs beyond what the cache keeps went back: uncharged. */
	mmt_kmem_cache_shrink(child);
	MMT_CHECK(mmt_memcg_charged_pages(cg) < peak);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), slab_pages(child));
	MMT_CHECK(mmt_slab_is_valid(m));
	/* Offline: a dead cache keeps nothing, so the charge goes to 0. */
	mmt_memcg_offline(cg);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	MMT_CHECK(mmt_memcg_destroy(cg));
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(validator_reports_a_charge_that_does_not_match_the_slabs)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("obj", 64, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	void *p;

	mmt_task_set_memcg(mmt_current_task(), cg);
	p = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK_CLEAN(m);
	_mmt_memcg_charge(cg, 3); /* a charge no slab holds */
	MMT_CHECK(!mmt_slab_is_valid(m));
	MMT_CHECK_VIOLATED(m, "memcg-charge");
	_mmt_memcg_charge(cg, -3);
	mmt_kmem_cache_free(s, p);
}

MMT_SLAB_TEST(uncharging_below_zero_is_reported)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");

	_mmt_memcg_charge(cg, 2);
	_mmt_memcg_charge(cg, -2);
	MMT_CHECK_CLEAN(m);
	_mmt_memcg_charge(cg, -1);
	MMT_CHECK_VIOLATED(m, "memcg-charge");
}

/* ---- offline, dead caches ---- */

MMT_SLAB_TEST(
	offline_marks_children_dead_shrinks_them_and_releases_the_empty_ones)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *a =
		mmt_kmem_cache_create("a", 96, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_kmem_cache *b =
		mmt_kmem_cache_create("b", 96, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	struct mmt_kmem_cache *cb;
	struct mmt_slab_info info;
	void *pa[40], *pb;
	int i;

	mmt_task_set_memcg(mmt_current_task(), cg);
	for (i = 0; i < 40; i++)
		pa[i] = mmt_kmem_cache_alloc(a, GFP_KERNEL);
	pb = mmt_kmem_cache_alloc(b, GFP_KERNEL);
	cb = cache_of(m, pb);
	for (i = 0; i < 40; i++)
		mmt_kmem_cache_free(a, pa[i]);
	/* a's child is empty but alive: it may keep its free slabs. */
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 2);

	mmt_memcg_offline(cg);
	MMT_CHECK(!mmt_memcg_is_online(cg));
	/* a's child had no object: released at once; b's stays, dead. */
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);
	MMT_CHECK(cache_is_dead(cb));
	mmt_slab_info(cb, &info);
	MMT_CHECK_EQ(info.live, 1);
	MMT_CHECK_EQ(info.slabs, 1); /* shrunk: only the slab in use */
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), slab_pages(cb));
	MMT_CHECK(mmt_slab_is_valid(m));

	/* New allocations of an offline group's tasks go to the root. */
	pa[0] = mmt_kmem_cache_alloc(b, GFP_KERNEL);
	MMT_CHECK(cache_of(m, pa[0]) == b);
	mmt_kmem_cache_free(b, pa[0]);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);

	mmt_kmem_cache_free(b, pb);
	mmt_memcg_reap(m);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	MMT_CHECK(mmt_memcg_destroy(cg));
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(dead_cache_with_live_objects_stays_until_its_last_object_is_freed)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("file", 200, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	struct mmt_kmem_cache *child;
	enum {
		N = 300
	};
	void *objs[N];
	int i;

	mmt_task_set_memcg(mmt_current_task(), cg);
	for (i = 0; i < N; i++)
		objs[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	child = cache_of(m, objs[0]);
	mmt_task_set_memcg(mmt_current_task(), NULL);
	mmt_memcg_offline(cg);
	MMT_CHECK(cache_is_dead(child));
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);
	/* Free in a scattered order; charges balance at every step. */
	for (i = 0; i < N; i++) {
		int j = (int)t_rand_below((uint64_t)(N - i)) + i;
		void *t = objs[i];

		objs[i] = objs[j];
		objs[j] = t;
		mmt_kmem_cache_free(s, objs[i]);
		if (i % 37 == 0) {
			MMT_CHECK(mmt_slab_is_valid(m));
			MMT_CHECK_EQ(mmt_memcg_charged_pages(cg),
				     slab_pages(child));
		}
		if (i < N - 1) /* not yet: objects still alive */
			MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 1);
	}
	/* The last slab went: the cache is released at the next safe point. */
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK(mmt_memcg_destroy(cg)); /* reaps first */
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(
	destroy_refuses_an_online_group_and_one_whose_dead_cache_has_objects)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("obj", 64, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	void *p;

	mmt_task_set_memcg(mmt_current_task(), cg);
	p = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(!mmt_memcg_destroy(cg));
	MMT_CHECK_VIOLATED(m, "memcg-charge");
	mmt_memcg_offline(cg);
	MMT_CHECK(!mmt_memcg_destroy(cg));
	MMT_CHECK_VIOLATED(m, "dead-cache-leak");
	mmt_kmem_cache_free(s, p);
	MMT_CHECK(mmt_memcg_destroy(cg));
	/* A task left in it fell back to the root. */
	MMT_CHECK(mmt_task_memcg(mmt_current_task()) == NULL);
}

MMT_SLAB_TEST(teardown_reports_a_dead_cache_still_holding_objects)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("obj", 64, 0, MMT_SLAB_ACCOUNT, NULL);
	struct mmt_memcg *cg = mmt_memcg_create(m, "grp");
	void *p;

	mmt_task_set_memcg(mmt_current_task(), cg);
	p = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	mmt_memcg_offline(cg);
	MMT_CHECK_CLEAN(m);
	MMT_CHECK(!mmt_slab_teardown_check(m));
	MMT_CHECK_VIOLATED(m, "dead-cache-leak");
	MMT_CHECK_VIOLATED(m, "slab-leak");
	(void)p;
}

/* Random accounted traffic over several groups, with offline midway. */
MMT_SLAB_TEST(charges_balance_under_random_accounted_traffic)
{
	struct mmt_machine *m = memcg_machine(0);
	struct mmt_kmem_cache *caches[3];
	struct mmt_memcg *groups[4];
	enum {
		SLOTS = 256,
		OPS = 6000
	};
	void *objs[SLOTS] = { 0 };
	struct mmt_kmem_cache *owner[SLOTS] = { 0 };
	int i;

	caches[0] = mmt_kmem_cache_create("r0", 48, 0, 0, NULL);
	caches[1] = mmt_kmem_cache_create("r1", 700, 0, MMT_SLAB_ACCOUNT, NULL);
	caches[2] = NULL; /* kmalloc */
	for (i = 0; i < 4; i++) {
		char name[8];

		snprintf(name, sizeof(name), "g%d", i);
		groups[i] = mmt_memcg_create(m, name);
	}
	for (i = 0; i < OPS; i++) {
		int k = (int)t_rand_below(SLOTS);

		if (i % 97 == 0) {
			int g = (int)t_rand_below(5);

			mmt_task_set_memcg(mmt_current_task(),
					   g < 4 ? groups[g] : NULL);
		}
		if (i == OPS / 2)
			mmt_memcg_offline(groups[1]);
		if (objs[k]) {
			if (owner[k])
				mmt_kmem_cache_free(owner[k], objs[k]);
			else
				mmt_kfree(objs[k]);
			objs[k] = NULL;
		} else {
			int c = (int)t_rand_below(3);
			mmt_gfp_t gfp = t_rand_below(2) ? GFP_KERNEL_ACCOUNT :
							  GFP_KERNEL;

			owner[k] = caches[c];
			objs[k] =
				caches[c] ?
					mmt_kmem_cache_alloc(caches[c], gfp) :
					mmt_kmalloc(1 + t_rand_below(900), gfp);
			MMT_CHECK(objs[k] != NULL);
		}
		if (i % 500 == 0)
			MMT_CHECK(mmt_slab_is_valid(m));
	}
	for (i = 0; i < SLOTS; i++)
		if (objs[i]) {
			if (owner[i])
				mmt_kmem_cache_free(owner[i], objs[i]);
			else
				mmt_kfree(objs[i]);
		}
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < 4; i++) {
		mmt_memcg_offline(groups[i]);
		MMT_CHECK_EQ(mmt_memcg_charged_pages(groups[i]), 0);
		MMT_CHECK_EQ(mmt_memcg_nr_caches(groups[i]), 0);
		MMT_CHECK(mmt_memcg_destroy(groups[i]));
	}
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- concurrency ---- */

#define MAILBOX 4096

struct mailbox {
	pthread_mutex_t mu;
	void *p[MAILBOX];
	int n;
};

/* Two workers, on cpus 1 and 2; each one's mailbox is box[cpu - 1]. */
struct traffic {
	struct mmt_kmem_cache *s;
	struct mmt_memcg *cg;
	struct mailbox *box; /* [2] */
	_Atomic int progress;
	_Atomic int done;
};

static void *mailbox_pop(struct mailbox *b)
{
	void *p = NULL;

	pthread_mutex_lock(&b->mu);
	if (b->n)
		p = b->p[--b->n];
	pthread_mutex_unlock(&b->mu);
	return p;
}

static bool mailbox_push(struct mailbox *b, void *p)
{
	bool ok;

	pthread_mutex_lock(&b->mu);
	ok = b->n < MAILBOX;
	if (ok)
		b->p[b->n++] = p;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

static void worker_run(int cpu, void *arg)
{
	struct traffic *w = arg;
	struct mailbox *mine = &w->box[cpu - 1], *peer = &w->box[2 - cpu];
	void *p;
	int i, j;

	mmt_task_set_memcg(mmt_current_task(), w->cg);
	for (i = 0; i < 400; i++) {
		/* Allocate a batch for the peer to free remotely... */
		for (j = 0; j < 16; j++) {
			p = mmt_kmem_cache_alloc(w->s, GFP_KERNEL);
			if (!p)
				continue;
			memset(p, 0x5c, 80);
			if (!mailbox_push(peer, p))
				mmt_kmem_cache_free(w->s, p);
		}
		/* ...and free what the peer allocated. */
		for (j = 0; j < 16 && (p = mailbox_pop(mine)); j++)
			mmt_kmem_cache_free(w->s, p);
		atomic_fetch_add(&w->progress, 1);
	}
	atomic_fetch_add(&w->done, 1);
	/* Wait for the peer, then free what is left for us. */
	while (atomic_load(&w->done) < 2)
		sched_yield();
	while ((p = mailbox_pop(mine)))
		mmt_kmem_cache_free(w->s, p);
}

MMT_SLAB_TEST(offline_while_two_cpus_allocate_and_free_remotely_leaves_nothing)
{
	struct mmt_machine *m = memcg_machine(3);
	static struct mailbox box[2];
	struct traffic w = {
		.s = mmt_kmem_cache_create("conc", 80, 0, MMT_SLAB_ACCOUNT,
					   NULL),
		.cg = mmt_memcg_create(m, "grp"),
		.box = box,
	};
	struct mmt_memcg *cg = w.cg;
	struct t_threads ts;
	int i;

	atomic_init(&w.progress, 0);
	atomic_init(&w.done, 0);
	for (i = 0; i < 2; i++) {
		pthread_mutex_init(&box[i].mu, NULL);
		box[i].n = 0;
	}
	/* The test thread stays on cpu 0. */
	t_threads_start(&ts, 2, 1, worker_run, &w);
	/* Offline in the middle of the traffic. */
	while (atomic_load(&w.progress) < 200)
		sched_yield();
	mmt_memcg_offline(cg);
	t_threads_join(&ts);
	for (i = 0; i < 2; i++) {
		MMT_CHECK_EQ(box[i].n, 0);
		pthread_mutex_destroy(&box[i].mu);
	}
	MMT_CHECK_EQ(atomic_load(&w.progress), 800);
	mmt_memcg_reap(m);
	MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
	MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	MMT_CHECK(mmt_memcg_destroy(cg));
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- seed 003: the __slab_free preemption race, end to end ---- */

struct seed003 {
	struct mmt_machine *m;
	struct mmt_kmem_cache *s, *child;
	void *victim;
	_Atomic bool fired;
	sem_t reached, go;
};

/* On cpu 1, the first preemption point inside a free of the child cache. */
static void seed003_hook(struct mmt_machine *m, int cpu,
			 enum mmt_sched_kind kind, const void *obj, void *arg)
{
	struct seed003 *x = arg;
	bool no = false;

	(void)m;
	if (cpu != 1 || kind != MMT_SP_PREEMPT || obj != x->child)
		return;
	if (!atomic_compare_exchange_strong(&x->fired, &no, true))
		return;
	sem_post(&x->reached);
	while (sem_wait(&x->go) && errno == EINTR)
		;
}

static void *seed003_thread(void *arg)
{
	struct seed003 *x = arg;
	struct mmt_task *t = mmt_task_create(x->m, "freer", 0);

	if (!mmt_cpu_attach(x->m, 1, t))
		return NULL;
	/* A remote free into a full slab: SLUB freezes it (cpu partial). */
	mmt_kmem_cache_free(x->s, x->victim);
	mmt_cpu_detach();
	return NULL;
}

static struct seed003 seed_x;

static bool seed003_run(bool bug)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_memcg *cg;
	struct seed003 *xp = &seed_x;
	enum {
		N = 512
	};
	void *objs[N];
	struct mmt_page *slab;
	struct timespec ts;
	pthread_t th;
	int i, n, in_slab;
	bool ok;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SLUB;
	cfg.nr_cpus = 2;
	cfg.bugs = bug ? 1ull << MMT_BUG_SLUB_FROZEN_DEAD_CACHE : 0;
	m = t_machine(&cfg);
	memset(xp, 0, sizeof(*xp));
	xp->m = m;
	xp->s = mmt_kmem_cache_create("seed003", 256, 0, MMT_SLAB_ACCOUNT,
				      NULL);
	cg = mmt_memcg_create(m, "victim");
	mmt_task_set_memcg(mmt_current_task(), cg);
	/* Three slabs' worth on cpu 0: the first slab ends up full. */
	for (i = 0; i < N; i++)
		objs[i] = mmt_kmem_cache_alloc(xp->s, GFP_KERNEL);
	xp->child = cache_of(m, objs[0]);
	n = (int)xp->child->objects;
	MMT_CHECK(N >= 3 * n);
	slab = _mmt_virt_to_slab(m, objs[0]);
	for (i = 0, in_slab = 0; i < N; i++)
		in_slab += _mmt_virt_to_slab(m, objs[i]) == slab;
	MMT_CHECK_EQ(in_slab, (int)slab_objects(xp->child, slab)); /* full */
	xp->victim = objs[0];
	objs[0] = NULL;

	sem_init(&xp->reached, 0, 0);
	sem_init(&xp->go, 0, 0);
	mmt_machine_set_sched_hook(m, seed003_hook, xp);
	MMT_CHECK(pthread_create(&th, NULL, seed003_thread, xp) == 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	while (sem_timedwait(&xp->reached, &ts) && errno == EINTR)
		;
	MMT_CHECK_MSG(
		atomic_load(&xp->fired),
		"SLUB's __slab_free never reached its MMT_SP_PREEMPT point");
	/* The free decided to freeze; meanwhile the group goes offline. */
	mmt_memcg_offline(cg);
	sem_post(&xp->go);
	pthread_join(th, NULL);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	sem_destroy(&xp->reached);
	sem_destroy(&xp->go);

	/* Free everything (through the root, from cpu 0). */
	for (i = 1; i < N; i++)
		mmt_kmem_cache_free(xp->s, objs[i]);
	ok = mmt_slab_teardown_check(m);
	if (!bug) {
		MMT_CHECK_EQ(mmt_memcg_nr_caches(cg), 0);
		MMT_CHECK_EQ(mmt_memcg_charged_pages(cg), 0);
		MMT_CHECK(mmt_memcg_destroy(cg));
		MMT_CHECK(mmt_slab_is_valid(m));
	}
	return ok;
}

MMT_TEST(seed003_a_slab_frozen_after_offline_leaks_the_dead_cache_with_the_bug)
{
	MMT_CHECK(!seed003_run(true));
	MMT_CHECK_VIOLATED(seed_x.m, "dead-cache-leak");
}

MMT_TEST(seed003_a_free_racing_with_offline_leaves_no_dead_cache_without_the_bug)
{
	MMT_CHECK(seed003_run(false));
	MMT_CHECK_CLEAN(seed_x.m);
}
