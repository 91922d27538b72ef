/* SPDX-License-Identifier: MIT */
/*
 * tests/test_lock.c - the lock model (alloc/lock.c) and lockdep
 * (alloc/lockdep.c): context effects, every check firing when it should and
 * staying silent when it should not, and mutual exclusion across threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "mmt_test.h"

static MMT_LOCK_CLASS(cls_a, "test-A", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(cls_b, "test-B", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(cls_c, "test-C", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(cls_raw, "test-raw", MMT_LOCK_RAW_SPIN);
static MMT_LOCK_CLASS(cls_raw2, "test-raw2", MMT_LOCK_RAW_SPIN);
static MMT_LOCK_CLASS(cls_mutex, "test-mutex", MMT_LOCK_MUTEX);

static struct mmt_config cfg_with(bool lockdep, bool rt, bool prove)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.lockdep = lockdep;
	cfg.rt_rules = rt;
	cfg.prove_raw_lock_nesting = prove;
	return cfg;
}

/* The first kept violation of @check, or NULL. */
static const struct mmt_violation *find_violation(struct mmt_machine *m,
						  const char *check)
{
	unsigned long i;
	const struct mmt_violation *v;

	for (i = 0; (v = mmt_violation_get(m, i)) != NULL; i++)
		if (!strcmp(v->check, check))
			return v;
	return NULL;
}

/* "dir/file.c:LINE" -> "file.c:LINE": what a report names for a site. */
static const char *base(const char *site)
{
	const char *s = strrchr(site, '/');

	return s ? s + 1 : site;
}

#define CHECK_MSG_HAS(v, needle)                          \
	MMT_CHECK_MSG(strstr((v)->msg, (needle)) != NULL, \
		      "message \"%s\" lacks \"%s\"", (v)->msg, (needle))

/* ---- lock order ---- */

MMT_TEST(lockdep_reports_abba_inversion_with_both_chains)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b;
	const char *s1, *s2, *s3, *s4;
	const struct mmt_violation *v;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	s1 = MMT_SITE, mmt_spin_lock(&a);
	s2 = MMT_SITE, mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	MMT_CHECK_CLEAN(m);

	s3 = MMT_SITE, mmt_spin_lock(&b);
	s4 = MMT_SITE, mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&b);

	v = find_violation(m, "lock-inversion");
	MMT_CHECK_MSG(v != NULL, "ABBA not reported as lock-inversion");
	/* the new dependency: B held at s3, A taken at s4 */
	CHECK_MSG_HAS(v, base(s3));
	CHECK_MSG_HAS(v, base(s4));
	/* the existing chain: A at s1, then B at s2 */
	CHECK_MSG_HAS(v, base(s1));
	CHECK_MSG_HAS(v, base(s2));
	CHECK_MSG_HAS(v, "test-A");
	CHECK_MSG_HAS(v, "test-B");
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
	MMT_CHECK(mmt_preemptible());
}

MMT_TEST(lockdep_reports_three_lock_cycle_with_full_chain)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b, c;
	const char *sb, *sc;
	const struct mmt_violation *v;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	mmt_spin_lock_init(&c, &cls_c);
	mmt_spin_lock(&a);
	mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	mmt_spin_lock(&b);
	sc = MMT_SITE, mmt_spin_lock(&c);
	mmt_spin_unlock(&c);
	mmt_spin_unlock(&b);
	MMT_CHECK_CLEAN(m);

	mmt_spin_lock(&c);
	/* A -> B -> C exists; C -> A closes it */
	sb = MMT_SITE, mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&c);
	v = find_violation(m, "lock-inversion");
	MMT_CHECK_MSG(v != NULL, "A->B->C->A not reported");
	CHECK_MSG_HAS(v, base(sb));
	CHECK_MSG_HAS(v, base(sc)); /* the B -> C edge of the chain */
	CHECK_MSG_HAS(v, "test-C");
}

MMT_TEST(lockdep_silent_on_consistent_order)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b;
	mmt_raw_spinlock_t r;
	int i;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	mmt_raw_spin_lock_init(&r, &cls_raw);
	for (i = 0; i < 10; i++) {
		mmt_spin_lock(&a);
		mmt_spin_lock(&b);
		mmt_raw_spin_lock(&r);
		/* out-of-order release is legal */
		mmt_spin_unlock(&a);
		mmt_raw_spin_unlock(&r);
		mmt_spin_unlock(&b);
		mmt_spin_lock(
			&b); /* B alone, then A alone: no nesting, no order */
		mmt_spin_unlock(&b);
		mmt_spin_lock(&a);
		mmt_spin_unlock(&a);
	}
	MMT_CHECK_CLEAN(m);
	MMT_CHECK(mmt_preemptible());
}

MMT_TEST(lockdep_silent_on_trylock_in_reverse_order)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	mmt_spin_lock(&a);
	mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	/* B then trylock A: a trylock cannot deadlock */
	mmt_spin_lock(&b);
	MMT_CHECK(mmt_spin_trylock(&a));
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&b);
	MMT_CHECK_CLEAN(m);
	/* ... but a blocking B -> A still is an inversion */
	mmt_spin_lock(&b);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&b);
	MMT_CHECK_VIOLATED(m, "lock-inversion");
}

MMT_TEST(lockdep_graph_is_per_machine)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m1 = t_machine(&cfg), *m2;
	struct mmt_task *t1 = mmt_current_task(), *t2;
	mmt_spinlock_t a, b;
	char err[256];

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	/* machine 1 learns A -> B */
	mmt_spin_lock(&a);
	mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	mmt_cpu_detach();

	/* machine 2 takes B -> A: nothing learned there, nothing to report */
	m2 = mmt_machine_create(&cfg, err, sizeof(err));
	MMT_CHECK_MSG(m2 != NULL, "%s", err);
	t2 = mmt_task_create(m2, "other", 0);
	MMT_CHECK(mmt_cpu_attach(m2, 0, t2));
	mmt_spin_lock(&b);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&b);
	MMT_CHECK_EQ(mmt_violation_count(m2), 0);
	mmt_cpu_detach();
	mmt_task_destroy(t2);
	mmt_machine_destroy(m2);

	/* back on machine 1, the same B -> A is an inversion */
	MMT_CHECK(mmt_cpu_attach(m1, 0, t1));
	MMT_CHECK_CLEAN(m1);
	mmt_spin_lock(&b);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock(&b);
	MMT_CHECK_VIOLATED(m1, "lock-inversion");
}

MMT_TEST(lockdep_reports_recursion)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t z1, z2;
	const struct mmt_violation *v;

	/* two zone locks share one class, as in the kernel */
	mmt_spin_lock_init(&z1, &cls_a);
	mmt_spin_lock_init(&z2, &cls_a);
	mmt_spin_lock(&z1);
	MMT_CHECK(mmt_spin_trylock(&z2)); /* trylock: not recursion */
	mmt_spin_unlock(&z2);
	MMT_CHECK_CLEAN(m);
	mmt_spin_lock(&z2);
	mmt_spin_unlock(&z2);
	mmt_spin_unlock(&z1);
	v = find_violation(m, "lock-recursion");
	MMT_CHECK_MSG(v != NULL, "second lock of a held class not reported");
	CHECK_MSG_HAS(v, "test-A");
	MMT_CHECK(!find_violation(m, "lock-inversion"));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_lock_is_held(&z1.l) && !mmt_lock_is_held(&z2.l));
}

MMT_TEST(self_deadlock_is_reported_not_hung)
{
	/* lockdep off: the self-deadlock is still reported (it would hang) */
	struct mmt_config cfg = cfg_with(false, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_raw_spin_lock(&r);
	mmt_raw_spin_lock(&r);
	MMT_CHECK_VIOLATED(m, "lock-recursion");
	mmt_raw_spin_unlock(&r); /* the inner hold: the word stays taken */
	MMT_CHECK(mmt_lock_is_held(&r.l));
	MMT_CHECK(mmt_lock_held_by_current(&r.l));
	mmt_raw_spin_unlock(&r);
	MMT_CHECK(!mmt_lock_is_held(&r.l));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
}

/* ---- wait context (seed 002) ---- */

MMT_TEST(lockdep_reports_spinlock_under_raw_spinlock_with_rt_rules)
{
	struct mmt_config cfg = cfg_with(true, true, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	mmt_spinlock_t zone;
	const char *sr;
	const struct mmt_violation *v;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&zone, &cls_a);
	sr = MMT_SITE, mmt_raw_spin_lock(&r);
	mmt_spin_lock(&zone);
	mmt_spin_unlock(&zone);
	mmt_raw_spin_unlock(&r);
	v = find_violation(m, "invalid-wait-context");
	MMT_CHECK_MSG(
		v != NULL,
		"spinlock under raw spinlock not reported under RT rules");
	CHECK_MSG_HAS(v, "Invalid wait context");
	CHECK_MSG_HAS(v, "test-raw"); /* names the raw lock held ... */
	CHECK_MSG_HAS(v, base(sr)); /* ... and where it was taken */
	CHECK_MSG_HAS(v, "test-A");
	MMT_CHECK_STR(v->layer, "lock");
}

MMT_TEST(lockdep_reports_spinlock_under_raw_spinlock_with_prove_raw_lock_nesting)
{
	struct mmt_config cfg = cfg_with(true, false, true);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	mmt_spinlock_t zone;
	unsigned long flags;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&zone, &cls_a);
	mmt_raw_spin_lock(&r);
	mmt_spin_lock_irqsave(&zone, flags);
	mmt_spin_unlock_irqrestore(&zone, flags);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
}

MMT_TEST(spin_trylock_under_raw_spinlock_is_valid_except_in_hardirq)
{
	/* seed 002: FAST_TRY trylocks pcp->lock under krcp->lock */
	struct mmt_config cfg = cfg_with(true, true, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	mmt_spinlock_t pcp;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&pcp, &cls_a);
	mmt_raw_spin_lock(&r);
	MMT_CHECK(mmt_spin_trylock(&pcp)); /* never waits: fine even on RT */
	mmt_spin_unlock(&pcp);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK_CLEAN(m);
	mmt_irq_enter(); /* an RT spinlock has a task owner: not in hard irq */
	MMT_CHECK(mmt_spin_trylock(&pcp));
	mmt_spin_unlock(&pcp);
	mmt_irq_exit();
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
}

MMT_TEST(lockdep_silent_on_spinlock_under_raw_spinlock_without_rt_rules)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	mmt_spinlock_t zone;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&zone, &cls_a);
	mmt_raw_spin_lock(&r);
	mmt_spin_lock(&zone);
	MMT_CHECK(mmt_in_atomic());
	mmt_spin_unlock(&zone);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(prove_raw_lock_nesting_allows_spinlock_with_preemption_disabled)
{
	/* the kernel's pcp_spin_lock(): preempt_disable(); spin_lock() on !RT */
	struct mmt_config cfg = cfg_with(true, false, true);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	mmt_preempt_disable();
	mmt_spin_lock(&a);
	mmt_spin_lock(&b); /* spinlock under spinlock: same wait type */
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	mmt_preempt_enable();
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(rt_rules_report_spinlock_with_preemption_or_irqs_disabled)
{
	struct mmt_config cfg = cfg_with(true, true, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a, b;
	unsigned long flags;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	/* RT spinlocks nest freely: they are sleeping locks */
	mmt_spin_lock(&a);
	mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_spin_unlock(&a);
	MMT_CHECK_CLEAN(m);

	mmt_preempt_disable();
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_preempt_enable();
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
	MMT_CHECK(strstr(find_violation(m, "invalid-wait-context")->msg,
			 "preemption") != NULL);
	mmt_violations_clear(m);

	flags = mmt_local_irq_save();
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_local_irq_restore(flags);
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
	MMT_CHECK(strstr(find_violation(m, "invalid-wait-context")->msg,
			 "interrupts") != NULL);
	mmt_violations_clear(m);

	mmt_irq_enter();
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_irq_exit();
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
	mmt_violations_clear(m);

	/* a mutex under a (sleeping) RT spinlock is no better */
	{
		mmt_mutex_t mu;

		mmt_mutex_init(&mu, &cls_mutex);
		mmt_spin_lock(&a);
		mmt_mutex_lock(&mu);
		mmt_mutex_unlock(&mu);
		mmt_spin_unlock(&a);
		MMT_CHECK_VIOLATED(m, "invalid-wait-context");
		MMT_CHECK(!find_violation(m, "sleep-in-atomic"));
	}
}

MMT_TEST(rt_rules_without_lockdep_report_spinlock_in_atomic_as_sleep)
{
	struct mmt_config cfg = cfg_with(false, true, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	mmt_spinlock_t a;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&a, &cls_a);
	mmt_raw_spin_lock(&r);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK(!find_violation(m, "invalid-wait-context"));
	MMT_CHECK(strstr(find_violation(m, "sleep-in-atomic")->msg,
			 "test-raw") != NULL);
}

MMT_TEST(lockdep_reports_mutex_in_atomic_context)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_mutex_t mu;
	mmt_spinlock_t a;
	unsigned long flags;

	mmt_mutex_init(&mu, &cls_mutex);
	mmt_spin_lock_init(&a, &cls_a);

	mmt_mutex_lock(&mu); /* process context: fine */
	mmt_mutex_unlock(&mu);
	MMT_CHECK_CLEAN(m);

	mmt_preempt_disable();
	mmt_mutex_lock(&mu);
	mmt_mutex_unlock(&mu);
	mmt_preempt_enable();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	mmt_violations_clear(m);

	flags = mmt_local_irq_save();
	mmt_mutex_lock(&mu);
	mmt_mutex_unlock(&mu);
	mmt_local_irq_restore(flags);
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK(strstr(find_violation(m, "sleep-in-atomic")->msg,
			 "interrupts") != NULL);
	mmt_violations_clear(m);

	mmt_irq_enter();
	mmt_mutex_lock(&mu);
	mmt_mutex_unlock(&mu);
	mmt_irq_exit();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK(strstr(find_violation(m, "sleep-in-atomic")->msg,
			 "hard irq") != NULL);
	mmt_violations_clear(m);

	mmt_spin_lock(&a); /* a non-RT spinlock disables preemption */
	mmt_mutex_lock(&mu);
	mmt_mutex_unlock(&mu);
	mmt_spin_unlock(&a);
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK(strstr(find_violation(m, "sleep-in-atomic")->msg, "test-A") !=
		  NULL);
	mmt_violations_clear(m);

	MMT_CHECK(mmt_mutex_trylock(&mu)); /* trylock never sleeps */
	mmt_mutex_unlock(&mu);
	MMT_CHECK_CLEAN(m);
}

/* ---- context effects ---- */

MMT_TEST(raw_spinlock_disables_preemption)
{
	struct mmt_config cfg = cfg_with(true, true, false); /* even on RT */
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r;
	unsigned long flags;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	MMT_CHECK(mmt_preemptible());
	mmt_raw_spin_lock(&r);
	MMT_CHECK(mmt_in_atomic());
	MMT_CHECK(!mmt_irqs_disabled());
	MMT_CHECK(mmt_lock_is_held(&r.l));
	mmt_raw_spin_unlock(&r);
	MMT_CHECK(mmt_preemptible());

	mmt_raw_spin_lock_irqsave(&r, flags);
	MMT_CHECK(mmt_in_atomic());
	MMT_CHECK(mmt_irqs_disabled());
	mmt_raw_spin_unlock_irqrestore(&r, flags);
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_irqs_disabled());

	/* irqrestore restores, it does not blindly enable */
	mmt_local_irq_disable();
	mmt_raw_spin_lock_irqsave(&r, flags);
	mmt_raw_spin_unlock_irqrestore(&r, flags);
	MMT_CHECK(mmt_irqs_disabled());
	mmt_local_irq_enable();

	MMT_CHECK(mmt_raw_spin_trylock(&r));
	MMT_CHECK(mmt_in_atomic());
	mmt_raw_spin_unlock(&r);
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(non_rt_spinlock_disables_preemption)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a;
	unsigned long flags;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock(&a);
	MMT_CHECK(mmt_in_atomic());
	mmt_spin_unlock(&a);
	MMT_CHECK(mmt_preemptible());
	mmt_spin_lock_irqsave(&a, flags);
	MMT_CHECK(mmt_irqs_disabled());
	mmt_spin_unlock_irqrestore(&a, flags);
	MMT_CHECK(!mmt_irqs_disabled());
	MMT_CHECK(mmt_spin_trylock_irqsave(&a, flags));
	MMT_CHECK(mmt_irqs_disabled() && mmt_in_atomic());
	mmt_spin_unlock_irqrestore(&a, flags);
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(rt_rules_spinlock_does_not_disable_preemption)
{
	struct mmt_config cfg = cfg_with(true, true, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a;
	mmt_mutex_t mu;
	unsigned long flags = 12345;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_mutex_init(&mu, &cls_mutex);
	mmt_spin_lock(&a);
	MMT_CHECK(!mmt_in_atomic());
	MMT_CHECK(mmt_lock_held_by_current(&a.l));
	mmt_spin_unlock(&a);
	mmt_spin_lock_irqsave(&a, flags);
	MMT_CHECK(!mmt_in_atomic());
	MMT_CHECK(!mmt_irqs_disabled()); /* RT: irqs stay on */
	MMT_CHECK_EQ(flags, 0);
	mmt_spin_unlock_irqrestore(&a, flags);
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_lock_is_held(&a.l));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(failed_trylock_leaves_context_unchanged)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a;
	unsigned long flags;

	mmt_spin_lock_init(&a, &cls_a);
	/* held by "someone else": take the word directly */
	atomic_store(&a.l.locked, 1);
	MMT_CHECK(!mmt_spin_trylock(&a));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_spin_trylock_irqsave(&a, flags));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_irqs_disabled());
	MMT_CHECK(!mmt_lock_held_by_current(&a.l));
	atomic_store(&a.l.locked, 0);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(lock_queries_follow_the_holder)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	t_machine(&cfg);
	mmt_spinlock_t a, b;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_spin_lock_init(&b, &cls_b);
	MMT_CHECK(!mmt_lock_is_held(&a.l));
	MMT_CHECK(!mmt_lock_class_held(&cls_a));
	MMT_CHECK_EQ(atomic_load(&a.l.owner_cpu), -1);
	mmt_spin_lock(&a);
	MMT_CHECK(mmt_lock_is_held(&a.l));
	MMT_CHECK(mmt_lock_held_by_current(&a.l));
	MMT_CHECK(!mmt_lock_held_by_current(&b.l));
	MMT_CHECK(mmt_lock_class_held(&cls_a));
	MMT_CHECK(!mmt_lock_class_held(&cls_b));
	MMT_CHECK_EQ(atomic_load(&a.l.owner_cpu), 0);
	mmt_spin_unlock(&a);
	MMT_CHECK(!mmt_lock_is_held(&a.l));
	MMT_CHECK(!mmt_lock_class_held(&cls_a));
	MMT_CHECK_EQ(atomic_load(&a.l.owner_cpu), -1);
}

/* ---- irq state ---- */

MMT_TEST(lockdep_reports_irq_inversion)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_raw_spinlock_t r, safe;
	unsigned long flags;
	const char *s_irq, *s_on;
	const struct mmt_violation *v;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_raw_spin_lock_init(&safe, &cls_raw2);

	/* consistent: taken in irq, and irqsave'd elsewhere */
	mmt_irq_enter();
	mmt_raw_spin_lock(&safe);
	mmt_raw_spin_unlock(&safe);
	mmt_irq_exit();
	mmt_raw_spin_lock_irqsave(&safe, flags);
	mmt_raw_spin_unlock_irqrestore(&safe, flags);
	MMT_CHECK_CLEAN(m);

	/* inconsistent: taken in irq, and with irqs on */
	mmt_irq_enter();
	s_irq = MMT_SITE, mmt_raw_spin_lock(&r);
	mmt_raw_spin_unlock(&r);
	mmt_irq_exit();
	s_on = MMT_SITE, mmt_raw_spin_lock(&r);
	mmt_raw_spin_unlock(&r);
	v = find_violation(m, "irq-inversion");
	MMT_CHECK_MSG(v != NULL, "irq-unsafe use of an irq lock not reported");
	CHECK_MSG_HAS(v, "test-raw");
	CHECK_MSG_HAS(v, base(s_irq));
	CHECK_MSG_HAS(v, base(s_on));
	/* once per class */
	mmt_raw_spin_lock(&r);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
}

MMT_TEST(trylock_in_hardirq_is_not_irq_usage)
{
	/* the kernel's pcp_spin_trylock(): trylock in irq, lock with irqs on */
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t pcp;

	mmt_spin_lock_init(&pcp, &cls_a);
	mmt_irq_enter();
	MMT_CHECK(mmt_spin_trylock(&pcp));
	mmt_spin_unlock(&pcp);
	mmt_irq_exit();
	mmt_spin_lock(&pcp);
	mmt_spin_unlock(&pcp);
	MMT_CHECK_CLEAN(m);
	/* a blocking lock in irq is usage: now it is inconsistent */
	mmt_irq_enter();
	mmt_spin_lock(&pcp);
	mmt_spin_unlock(&pcp);
	mmt_irq_exit();
	MMT_CHECK_VIOLATED(m, "irq-inversion");
}

/* ---- misuse ---- */

MMT_TEST(unlock_of_unheld_lock_is_reported_not_crashed)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a;
	mmt_mutex_t mu;

	mmt_spin_lock_init(&a, &cls_a);
	mmt_mutex_init(&mu, &cls_mutex);
	mmt_spin_unlock(&a);
	MMT_CHECK_VIOLATED(m, "unlock-not-held");
	/* nothing changed: no preempt underflow, lock still usable */
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_lock_is_held(&a.l));
	mmt_mutex_unlock(&mu);
	MMT_CHECK_EQ(mmt_violation_count(m), 2);
	mmt_spin_lock(&a);
	MMT_CHECK(mmt_in_atomic());
	mmt_spin_unlock(&a);
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK_EQ(mmt_violation_count(m), 2);
}

struct holder {
	struct mmt_machine *m;
	struct mmt_task *task;
	mmt_spinlock_t *lock;
	atomic_int stage; /* 1: holding, 2: may release, 3: released */
};

static void *holder_thread(void *arg)
{
	struct holder *h = arg;

	if (!mmt_cpu_attach(h->m, 1, h->task))
		return NULL;
	mmt_spin_lock(h->lock);
	atomic_store(&h->stage, 1);
	while (atomic_load(&h->stage) != 2)
		sched_yield();
	mmt_spin_unlock(h->lock);
	mmt_cpu_detach();
	atomic_store(&h->stage, 3);
	return NULL;
}

MMT_TEST(unlock_of_lock_held_by_another_cpu_is_reported)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t a;
	struct holder h;
	pthread_t th;
	const struct mmt_violation *v;

	mmt_spin_lock_init(&a, &cls_a);
	h.m = m;
	h.task = mmt_task_create(m, "holder", 0);
	h.lock = &a;
	atomic_init(&h.stage, 0);
	MMT_CHECK(pthread_create(&th, NULL, holder_thread, &h) == 0);
	while (atomic_load(&h.stage) != 1)
		sched_yield();
	mmt_spin_unlock(&a); /* cpu 0 releases cpu 1's lock */
	v = find_violation(m, "unlock-not-held");
	MMT_CHECK_MSG(v != NULL, "unlock of another cpu's lock not reported");
	CHECK_MSG_HAS(v, "another cpu");
	MMT_CHECK(mmt_lock_is_held(&a.l)); /* still the holder's */
	MMT_CHECK(mmt_preemptible());
	atomic_store(&h.stage, 2);
	MMT_CHECK(pthread_join(th, NULL) == 0);
	MMT_CHECK_EQ(atomic_load(&h.stage), 3);
	MMT_CHECK(!mmt_lock_is_held(&a.l));
	mmt_task_destroy(h.task);
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
}

MMT_TEST(uninitialized_lock_is_reported_not_taken)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	mmt_spinlock_t zero;
	mmt_raw_spinlock_t wrong;

	memset(&zero, 0, sizeof(zero));
	mmt_spin_lock(&zero);
	MMT_CHECK_VIOLATED(m, "lock-misuse");
	MMT_CHECK(!mmt_lock_is_held(&zero.l));
	MMT_CHECK(mmt_preemptible());
	mmt_spin_unlock(&zero);
	MMT_CHECK(!find_violation(m, "unlock-not-held"));
	mmt_violations_clear(m);

	mmt_raw_spin_lock_init(&wrong,
			       &cls_a); /* a spinlock class on a raw lock */
	mmt_raw_spin_lock(&wrong);
	MMT_CHECK_VIOLATED(m, "lock-misuse");
	MMT_CHECK(mmt_preemptible());
}

MMT_TEST(held_lock_overflow_is_reported)
{
	struct mmt_config cfg = cfg_with(false, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	static mmt_spinlock_t locks[60];
	int i, n = (int)MMT_ARRAY_SIZE(locks);

	for (i = 0; i < n; i++)
		mmt_spin_lock_init(&locks[i], &cls_a);
	for (i = 0; i < n; i++)
		mmt_spin_lock(&locks[i]);
	MMT_CHECK_VIOLATED(m, "held-lock-overflow");
	for (i = n - 1; i >= 0; i--)
		mmt_spin_unlock(&locks[i]);
	for (i = 0; i < n; i++)
		MMT_CHECK(!mmt_lock_is_held(&locks[i].l));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!find_violation(m, "unlock-not-held"));
}

/* ---- scheduling points ---- */

struct sp_count {
	int acquire, contended, release, other;
	const void *last_obj;
	int last_cpu;
};

static void count_sp(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		     const void *obj, void *arg)
{
	struct sp_count *c = arg;

	(void)m;
	c->last_obj = obj;
	c->last_cpu = cpu;
	switch (kind) {
	case MMT_SP_LOCK_ACQUIRE:
		c->acquire++;
		break;
	case MMT_SP_LOCK_CONTENDED:
		c->contended++;
		break;
	case MMT_SP_LOCK_RELEASE:
		c->release++;
		break;
	default:
		c->other++;
		break;
	}
}

MMT_TEST(sched_hook_sees_every_acquire_and_release)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m = t_machine(&cfg);
	struct sp_count c = { 0 };
	mmt_raw_spinlock_t r;
	mmt_spinlock_t a;
	mmt_mutex_t mu;
	unsigned long flags;

	mmt_raw_spin_lock_init(&r, &cls_raw);
	mmt_spin_lock_init(&a, &cls_a);
	mmt_mutex_init(&mu, &cls_mutex);
	mmt_machine_set_sched_hook(m, count_sp, &c);

	mmt_raw_spin_lock(&r);
	MMT_CHECK(c.last_obj == &r.l);
	mmt_raw_spin_unlock(&r);
	MMT_CHECK(c.last_obj == &r.l);
	mmt_raw_spin_lock_irqsave(&r, flags);
	mmt_raw_spin_unlock_irqrestore(&r, flags);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_lock_irqsave(&a, flags);
	mmt_spin_unlock_irqrestore(&a, flags);
	MMT_CHECK(mmt_spin_trylock(&a));
	mmt_spin_unlock(&a);
	mmt_mutex_lock(&mu);
	MMT_CHECK(c.last_obj == &mu.l);
	mmt_mutex_unlock(&mu);
	MMT_CHECK(mmt_mutex_trylock(&mu));
	mmt_mutex_unlock(&mu);
	MMT_CHECK(mmt_raw_spin_trylock(&r));
	mmt_raw_spin_unlock(&r);

	MMT_CHECK_EQ(c.acquire, 8);
	MMT_CHECK_EQ(c.release, 8);
	MMT_CHECK_EQ(c.contended, 0);
	MMT_CHECK_EQ(c.last_cpu, 0);

	/* a failed trylock is an acquisition attempt, not a release */
	atomic_store(&a.l.locked, 1);
	MMT_CHECK(!mmt_spin_trylock(&a));
	atomic_store(&a.l.locked, 0);
	MMT_CHECK_EQ(c.acquire, 9);
	MMT_CHECK_EQ(c.release, 8);

	mmt_machine_set_sched_hook(m, NULL, NULL);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	MMT_CHECK_EQ(c.acquire, 9);
	MMT_CHECK_CLEAN(m);
}

/* ---- real threads ---- */

#define EXCL_ITERS 100000

struct excl {
	mmt_spinlock_t lock;
	long counter;
	atomic_int inside;
	atomic_int overlaps;
	pthread_barrier_t start;
};

static void excl_thread(int cpu, void *arg)
{
	struct excl *e = arg;
	int i;

	(void)cpu;
	pthread_barrier_wait(&e->start); /* both run the loop at once */
	for (i = 0; i < EXCL_ITERS; i++) {
		mmt_spin_lock(&e->lock);
		if (atomic_fetch_add_explicit(&e->inside, 1,
					      memory_order_relaxed) != 0)
			atomic_fetch_add_explicit(&e->overlaps, 1,
						  memory_order_relaxed);
		e->counter++; /* plain: protected by the lock alone */
		/*
		 * Now and then give the host CPU away inside the critical
		 * section, so that even on one host CPU the other thread runs
		 * here: a broken lock cannot hide behind time slicing.
		 */
		if (i % 1024 == 0)
			sched_yield();
		atomic_fetch_sub_explicit(&e->inside, 1, memory_order_relaxed);
		mmt_spin_unlock(&e->lock);
	}
}

MMT_TEST(locks_exclude_across_real_threads)
{
	struct mmt_config cfg = cfg_with(true, false, false);
	struct mmt_machine *m;
	struct excl e = { .counter = 0 };

	cfg.nr_cpus = 2;
	m = t_machine(&cfg);
	atomic_init(&e.inside, 0);
	atomic_init(&e.overlaps, 0);
	mmt_spin_lock_init(&e.lock, &cls_a);
	MMT_CHECK(pthread_barrier_init(&e.start, NULL, 2) == 0);
	/* The test thread leaves cpu 0 to a worker meanwhile. */
	t_run_on_cpus(2, excl_thread, &e);
	pthread_barrier_destroy(&e.start);
	MMT_CHECK_EQ(atomic_load(&e.overlaps), 0);
	MMT_CHECK_EQ(e.counter, 2L * EXCL_ITERS);
	MMT_CHECK(!mmt_lock_is_held(&e.lock.l));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(lockdep_draws_no_order_edge_across_an_interrupt)
{
	static MMT_LOCK_CLASS(task_class, "test-task-lock", MMT_LOCK_SPIN);
	static MMT_LOCK_CLASS(irq_class, "test-irq-lock", MMT_LOCK_SPIN);
	struct mmt_machine *m = t_machine(NULL);
	mmt_spinlock_t a, b;
	unsigned long flags;

	mmt_spin_lock_init(&a, &task_class);
	mmt_spin_lock_init(&b, &irq_class);
	/* The task holds A; an interrupt on its CPU takes B. */
	mmt_spin_lock(&a);
	mmt_irq_enter();
	mmt_spin_lock(&b);
	mmt_spin_unlock(&b);
	mmt_irq_exit();
	mmt_spin_unlock(&a);
	/* B then A in the task is no inversion: the irq never waited on A. */
	mmt_spin_lock_irqsave(&b, flags);
	mmt_spin_lock(&a);
	mmt_spin_unlock(&a);
	mmt_spin_unlock_irqrestore(&b, flags);
	MMT_CHECK_CLEAN(m);
	/* The same orders within one context are an inversion. */
	mmt_spin_lock(&a);
	mmt_spin_lock_irqsave(&b, flags);
	mmt_spin_unlock_irqrestore(&b, flags);
	mmt_spin_unlock(&a);
	MMT_CHECK_VIOLATED(m, "lock-inversion");
}
