/* SPDX-License-Identifier: MIT */
/*
 * tests/test_nolock.c - the nolock APIs: alloc_pages_nolock and
 * free_pages_nolock (6.15-6.16), kmalloc_nolock and kfree_nolock (6.18),
 * the nolock-spin oracle of the lock layer, the zones' deferred lists, the
 * uniprocessor machine and its pcp lock.  White-box where a test must
 * hold a lock the way another CPU or an interrupted task would (the lock
 * word itself: a CPU that holds it is not this thread).
 */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"
#include "mmt_test.h"

static struct mmt_machine *nolock_machine(bool rt)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.dma32_pages = 0;
	cfg.pcp_batch = 4;
	cfg.pcp_high = 64;
	cfg.rt_rules = rt;
	return t_machine(&cfg);
}

/* Another CPU holds (or lets go of) @l: its word, as that CPU would set it. */
static void hold_word(struct mmt_lock *l, bool held)
{
	atomic_store(&l->owner_cpu, held ? 1 : -1);
	atomic_store(&l->locked, held ? 1u : 0u);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- alloc_pages_nolock ---- */

MMT_TEST(alloc_pages_nolock_never_spins_on_a_held_zone_lock)
{
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_zone *z = &m->zones[0];
	struct mmt_page *warm, *p;

	/* A warm per-cpu list serves order 0 without the zone lock. */
	warm = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(warm != NULL);
	hold_word(&z->lock.l, true);
	p = mmt_alloc_pages_nolock(0, -1, 0);
	MMT_CHECK(p != NULL);
	/* The buddy lists need the zone lock: busy, NULL at once. */
	MMT_CHECK(mmt_alloc_pages_nolock(0, -1, 5) == NULL);
	/* So does a refill of an empty per-cpu list of order 1. */
	MMT_CHECK(mmt_alloc_pages_nolock(0, -1, 1) == NULL);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_NOLOCK_FAIL), 2);
	MMT_CHECK_CLEAN(m);
	hold_word(&z->lock.l, false);
	mmt_free_pages_nolock(p, 0);
	p = mmt_alloc_pages_nolock(0, -1, 5);
	MMT_CHECK(p != NULL);
	MMT_CHECK(all_zero(mmt_page_address(p), MMT_PAGE_SIZE << 5));
	MMT_CHECK(mmt_page_flags(p) & MMT_PG_HEAD); /* __GFP_COMP */
	mmt_free_pages_nolock(p, 5);
	mmt_free_pages(warm, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(alloc_pages_nolock_takes_only_gfp_account_from_its_caller)
{
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_page *p;

	p = mmt_alloc_pages_nolock(__GFP_ACCOUNT, 0, 0);
	MMT_CHECK(p != NULL);
	MMT_CHECK_CLEAN(m);
	mmt_free_pages_nolock(p, 0);
	p = mmt_alloc_pages_nolock(GFP_KERNEL, 0, 0);
	MMT_CHECK_VIOLATED(m, "gfp-misuse");
	mmt_free_pages(p, 0);
}

MMT_TEST(alloc_pages_nolock_stops_at_the_min_watermark_and_never_reclaims)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page *held[1024];
	unsigned int n;

	unsigned long wake, stall, slow;

	n = t_take_pages_until(m, 0, T_TIGHT_MIN, held, 1024);
	wake = mmt_vm_event(m, MMT_VM_KSWAPD_WAKE);
	stall = mmt_vm_event(m, MMT_VM_ALLOCSTALL);
	slow = mmt_vm_event(m, MMT_VM_SLOWPATH);
	MMT_CHECK(mmt_alloc_pages_nolock(0, -1, 0) == NULL);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_KSWAPD_WAKE), wake);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_ALLOCSTALL), stall);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_SLOWPATH), slow);
	/* An atomic caller (no __GFP_NOMEMALLOC) may still dig deeper. */
	{
		struct mmt_page *a = mmt_alloc_pages(GFP_ATOMIC, 0);

		MMT_CHECK(a != NULL);
		mmt_free_pages(a, 0);
	}
	t_give_pages_back(held, n);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(alloc_pages_nolock_returns_null_in_hard_irq_under_preempt_rt)
{
	struct mmt_machine *m = nolock_machine(true);
	struct mmt_page *p;

	mmt_irq_enter();
	MMT_CHECK(mmt_alloc_pages_nolock(0, -1, 0) == NULL);
	mmt_irq_exit();
	/* A softirq is task context under RT: the trylocks may run. */
	mmt_softirq_enter();
	p = mmt_alloc_pages_nolock(0, -1, 0);
	MMT_CHECK(p != NULL);
	mmt_free_pages_nolock(p, 0);
	mmt_softirq_exit();
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- free_pages_nolock and the deferred list ---- */

MMT_TEST(free_pages_nolock_defers_when_the_zone_lock_is_held)
{
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_zone *z = &m->zones[0];
	struct mmt_page *big, *other;
	struct mmt_zone_info zi;

	big = mmt_alloc_pages(GFP_KERNEL, 5);
	other = mmt_alloc_pages(GFP_KERNEL, 5);
	MMT_CHECK(big && other);
	hold_word(&z->lock.l, true);
	mmt_free_pages_nolock(big, 5); /* above the pcp orders: the zone */
	hold_word(&z->lock.l, false);
	MMT_CHECK_EQ(mmt_deferred_pages(m), 32);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_NOLOCK_DEFERRED), 1);
	MMT_CHECK(mmt_page_flags(big) & MMT_PG_DEFERRED);
	/* Neither free nor allocated: conservation counts it apart. */
	mmt_zone_info(m, 0, &zi);
	MMT_CHECK_EQ(zi.deferred, 32);
	MMT_CHECK_EQ(zi.free + zi.pcp + zi.deferred + zi.allocated, zi.managed);
	MMT_CHECK(mmt_machine_is_valid(m));
	/* The next free path that holds the zone lock frees it first. */
	mmt_free_pages(other, 5);
	MMT_CHECK_EQ(mmt_deferred_pages(m), 0);
	mmt_zone_info(m, 0, &zi);
	MMT_CHECK_EQ(zi.free + zi.pcp, zi.managed);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	free_pages_nolock_defers_an_order_0_page_when_pcp_and_zone_locks_are_held)
{
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_zone *z = &m->zones[0];
	struct mmt_pcp *pcp = &m->cpus[0].pcp[0];
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0);
	int before;

	MMT_CHECK(p != NULL);
	before = mmt_pcp_count(m, 0, 0);
	hold_word(&pcp->lock.l, true);
	hold_word(&z->lock.l, true);
	mmt_free_pages_nolock(p, 0);
	hold_word(&z->lock.l, false);
	hold_word(&pcp->lock.l, false);
	MMT_CHECK_EQ(mmt_deferred_pages(m), 1);
	MMT_CHECK_EQ(mmt_pcp_count(m, 0, 0), before);
	/* Teardown's drain (also what the interpreter calls last). */
	mmt_drain_deferred_pages(m);
	MMT_CHECK_EQ(mmt_deferred_pages(m), 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(a_page_on_the_deferred_list_freed_again_is_reported_as_double_free)
{
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_zone *z = &m->zones[0];
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 4);

	MMT_CHECK(p != NULL);
	hold_word(&z->lock.l, true);
	mmt_free_pages_nolock(p, 4);
	hold_word(&z->lock.l, false);
	MMT_CHECK_CLEAN(m);
	mmt_free_pages(p, 4);
	MMT_CHECK_VIOLATED(m, "double-free");
	/* Refused: the block is on the deferred list once, as before. */
	MMT_CHECK_EQ(mmt_deferred_pages(m), 16);
}

MMT_TEST(free_pages_nolock_in_hard_irq_under_preempt_rt_defers_at_once)
{
	struct mmt_machine *m = nolock_machine(true);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0);

	MMT_CHECK(p != NULL);
	mmt_irq_enter();
	mmt_free_pages_nolock(p, 0);
	mmt_irq_exit();
	MMT_CHECK_EQ(mmt_deferred_pages(m), 1);
	mmt_drain_deferred_pages(m);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- the oracle ---- */

MMT_TEST(
	nolock_spin_reports_a_lock_or_a_sleep_inside_a_nolock_call_and_not_a_trylock)
{
	static MMT_LOCK_CLASS(cls, "test-lock", MMT_LOCK_SPIN);
	static MMT_LOCK_CLASS(irq_cls, "test-irq-lock", MMT_LOCK_SPIN);
	struct mmt_machine *m = nolock_machine(false);
	struct mmt_cpu *cpu = &m->cpus[0];
	mmt_spinlock_t l, irq_l;

	mmt_spin_lock_init(&l, &cls);
	mmt_spin_lock_init(&irq_l, &irq_cls);
	cpu->nospin_depth++;
	MMT_CHECK(mmt_spin_trylock(&l));
	mmt_spin_unlock(&l);
	MMT_CHECK_CLEAN(m);
	mmt_spin_lock(&l);
	mmt_spin_unlock(&l);
	MMT_CHECK_VIOLATED(m, "nolock-spin");
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
	mmt_might_sleep();
	MMT_CHECK_EQ(mmt_violation_count(m), 2);
	cpu->nospin_depth--;
	/* An interrupt's own calls are not the nolock call it interrupted. */
	cpu->nospin_depth++;
	mmt_irq_enter();
	mmt_spin_lock(&irq_l);
	mmt_spin_unlock(&irq_l);
	mmt_irq_exit();
	cpu->nospin_depth--;
	MMT_CHECK_EQ(mmt_violation_count(m), 2);
}

/* ---- the uniprocessor pcp lock ---- */

struct up_probe {
	struct mmt_pcp *pcp;
	int points, irqs_on, injected;
	bool inject, inside;
};

/* At the list point of the task's pcp operation: interrupts on? */
static void up_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		    const void *obj, void *arg)
{
	struct up_probe *u = arg;
	struct mmt_cpu *c = &m->cpus[cpu];

	if (kind != MMT_SP_PREEMPT || obj != u->pcp || u->inside)
		return;
	u->points++;
	if (c->irq_disable_depth)
		return;
	u->irqs_on++;
	if (!u->inject)
		return;
	/* The interrupt the schedule could deliver here. */
	u->inside = true;
	mmt_irq_enter();
	mmt_free_pages_nolock(mmt_alloc_pages_nolock(0, -1, 0), 0);
	mmt_irq_exit();
	u->inside = false;
	u->injected++;
}

static void up_run(uint64_t bugs, struct up_probe *u)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *p[8];
	int i;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 1;
	cfg.up = true;
	cfg.dma32_pages = 0;
	cfg.bugs = bugs;
	m = t_machine(&cfg);
	u->pcp = &m->cpus[0].pcp[0];
	mmt_machine_set_sched_hook(m, up_hook, u);
	for (i = 0; i < 8; i++)
		p[i] = mmt_alloc_pages(GFP_KERNEL, 0);
	for (i = 0; i < 8; i++)
		mmt_free_pages(p[i], 0);
	mmt_machine_set_sched_hook(m, NULL, NULL);
}

MMT_TEST(a_uniprocessor_pcp_lock_disables_interrupts_inside_list_operations)
{
	struct up_probe u = { 0 };
	struct mmt_machine *m;

	up_run(0, &u);
	m = mmt_current_machine();
	MMT_CHECK(u.points >= 16);
	MMT_CHECK_EQ(u.irqs_on, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
	t_machine_done();
	/* The 2025 defect: interrupts stay on where the list is changing. */
	memset(&u, 0, sizeof(u));
	up_run(1ull << MMT_BUG_PCP_UP_TRYLOCK_REENTRY, &u);
	MMT_CHECK_EQ(u.irqs_on, u.points);
}

MMT_TEST(
	bug_pcp_up_trylock_reentry_is_caught_by_pcp_reentry_when_an_interrupt_reenters)
{
	struct up_probe u = { .inject = true };

	up_run(1ull << MMT_BUG_PCP_UP_TRYLOCK_REENTRY, &u);
	MMT_CHECK(u.injected > 0);
	MMT_CHECK_VIOLATED(mmt_current_machine(), "pcp-reentry");
	t_machine_done();
	/* Fixed: no point has interrupts on, nothing is delivered there. */
	memset(&u, 0, sizeof(u));
	u.inject = true;
	up_run(0, &u);
	MMT_CHECK_EQ(u.injected, 0);
	MMT_CHECK_CLEAN(mmt_current_machine());
}

MMT_TEST(a_uniprocessor_machine_has_exactly_one_cpu)
{
	struct mmt_config cfg;
	char err[256];

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.up = true;
	MMT_CHECK(!mmt_config_validate(&cfg, err, sizeof(err)));
	MMT_CHECK(strstr(err, "up:") != NULL);
	cfg.nr_cpus = 1;
	MMT_CHECK(mmt_config_validate(&cfg, err, sizeof(err)));
}

/* ---- kmalloc_nolock / kfree_nolock ---- */

struct busy_probe {
	const char *lock_name;
	void *obj;
	bool done, inside;
};

/*
 * At the first scheduling point inside this CPU's per-cpu lock of a
 * cache (the slow path of kmalloc-64), a nested kmalloc_nolock(64): the
 * NMI-like caller that finds the cache's local lock held.
 */
static void busy_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		      const void *obj, void *arg)
{
	struct busy_probe *b = arg;
	struct mmt_task *t = m->cpus[cpu].curr;
	int i;

	(void)kind;
	(void)obj;
	if (b->done || b->inside)
		return;
	for (i = 0; i < t->nr_held; i++)
		if (!strcmp(t->held[i].lock->cls->name, b->lock_name))
			break;
	if (i == t->nr_held)
		return;
	b->inside = true;
	b->obj = mmt_kmalloc_nolock(64, 0, -1);
	b->inside = false;
	b->done = true;
}

MMT_NOLOCK_TEST(kmalloc_nolock_retries_in_the_next_size_class)
{
	struct busy_probe b = { 0 };
	struct mmt_machine *m = nolock_machine(false);
	void *objs[600];
	int i, n = 0;

	switch (mmt_machine_config(m)->slab) {
	case MMT_SLAB_SLUB:
		b.lock_name = "kmem_cache_cpu->lock";
		break;
	case MMT_SLAB_SLAB:
		b.lock_name = "array_cache->lock";
		break;
	default:
		b.lock_name = "slub_percpu_sheaves->lock";
		break;
	}
	/* kmalloc-96 has an object at hand (SLAB's serves only those). */
	mmt_kfree(mmt_kmalloc(96, GFP_KERNEL));
	mmt_machine_set_sched_hook(m, busy_hook, &b);
	for (i = 0; i < 600 && !b.done; i++)
		objs[n++] = mmt_kmalloc(64, GFP_KERNEL);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	MMT_CHECK_MSG(b.done, "no scheduling point inside the per-cpu lock");
	MMT_CHECK(b.obj != NULL);
	/* kmalloc-64 was busy: the object is kmalloc-96's. */
	MMT_CHECK_EQ(mmt_ksize(b.obj), 96);
	mmt_kfree_nolock(b.obj);
	for (i = 0; i < n; i++)
		mmt_kfree(objs[i]);
	mmt_slab_drain_deferred(m);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(kmalloc_nolock_and_kfree_nolock_take_every_lock_by_trylock)
{
	struct mmt_machine *m = nolock_machine(false);
	void *o[400];
	int i, got = 0;

	/* From empty caches on: new slabs come from alloc_pages_nolock. */
	for (i = 0; i < 400; i++) {
		size_t size = 8u << (i % 10);

		o[i] = mmt_kmalloc_nolock(size, i % 3 ? 0 : __GFP_ZERO, -1);
		if (!o[i])
			continue;
		got++;
		MMT_CHECK(mmt_ksize(o[i]) >= size);
		if (i % 3 == 0)
			MMT_CHECK(all_zero(o[i], size));
		memset(o[i], 0x5a, size);
	}
	/*
	 * SLAB's has only the array caches: it may fail on empty ones.  SLUB
	 * and sheaves take new slabs of alloc_pages_nolock pages.
	 */
	if (mmt_machine_config(m)->slab != MMT_SLAB_SLAB)
		MMT_CHECK_EQ(got, 400);
	for (i = 0; i < 400; i += 2)
		mmt_kfree_nolock(o[i]);
	for (i = 1; i < 400; i += 2)
		mmt_kfree(o[i]);
	MMT_CHECK(mmt_kmalloc_nolock(16384, 0, -1) == NULL);
	MMT_CHECK_CLEAN(m); /* no nolock-spin anywhere on the way */
	mmt_slab_drain_deferred(m);
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(
	kfree_nolock_defers_in_hard_irq_under_preempt_rt_and_the_next_free_gives_it_back)
{
	struct mmt_machine *m = nolock_machine(true);
	void *a = mmt_kmalloc(64, GFP_KERNEL), *b = mmt_kmalloc(64, GFP_KERNEL);

	MMT_CHECK(a && b);
	mmt_irq_enter();
	MMT_CHECK(mmt_kmalloc_nolock(64, 0, -1) == NULL);
	mmt_kfree_nolock(a);
	mmt_irq_exit();
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 1);
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_kfree(b);
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(an_object_freed_by_kfree_nolock_freed_again_is_a_double_free)
{
	struct mmt_machine *m = nolock_machine(true);
	void *a = mmt_kmalloc(64, GFP_KERNEL);

	MMT_CHECK(a != NULL);
	mmt_irq_enter();
	mmt_kfree_nolock(a); /* deferred */
	mmt_irq_exit();
	mmt_kfree(a);
	MMT_CHECK_VIOLATED(m, "slab-double-free");
}
