/* SPDX-License-Identifier: MIT */
/*
 * tests/test_rcu.c - grace periods, call_rcu, synchronize_rcu, rcu_barrier
 * and kvfree_rcu (seed 002).  Readers on other CPUs are real threads, each
 * attached to its own simulated CPU, handshaking through semaphores.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include "rcu_internal.h"
#include "mmt_test.h"

/* ---- helpers ---- */

static struct mmt_machine *rcu_machine(int cpus, uint64_t bugs)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.nr_cpus = cpus;
	cfg.bugs = bugs;
	return t_machine(&cfg);
}

static long cache_live(struct mmt_kmem_cache *s)
{
	struct mmt_slab_info info;

	MMT_CHECK(mmt_slab_info(s, &info));
	return info.live;
}

/*
 * A reader on its own CPU: enters a read-side section, says so, waits to be
 * released, checks the object it holds (if any) and leaves; then waits to
 * be told to go (so its CPU stays occupied while the test looks).
 */
struct reader {
	struct mmt_machine *m;
	int cpu;
	sem_t locked, release, unlocked, finish;
	unsigned char *obj; /* read inside the section, if set */
	size_t len;
	unsigned char pattern;
	_Atomic bool obj_intact;
	bool detach_inside; /* leave the CPU without unlocking */
	pthread_t th;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	struct mmt_task *t = mmt_task_create(r->m, "reader", 0);
	size_t i;
	bool ok = true;

	if (!t || !mmt_cpu_attach(r->m, r->cpu, t))
		abort();
	mmt_rcu_read_lock();
	sem_post(&r->locked);
	sem_wait(&r->release);
	for (i = 0; r->obj && i < r->len; i++)
		ok &= r->obj[i] == r->pattern;
	atomic_store(&r->obj_intact, ok);
	if (!r->detach_inside)
		mmt_rcu_read_unlock();
	sem_post(&r->unlocked);
	sem_wait(&r->finish);
	mmt_cpu_detach();
	mmt_task_destroy(t);
	return NULL;
}

static void reader_start(struct reader *r, struct mmt_machine *m, int cpu)
{
	r->m = m;
	r->cpu = cpu;
	sem_init(&r->locked, 0, 0);
	sem_init(&r->release, 0, 0);
	sem_init(&r->unlocked, 0, 0);
	sem_init(&r->finish, 0, 0);
	MMT_CHECK(pthread_create(&r->th, NULL, reader_fn, r) == 0);
	sem_wait(&r->locked);
}

static void reader_unlock(struct reader *r)
{
	sem_post(&r->release);
	sem_wait(&r->unlocked);
}

static void reader_join(struct reader *r)
{
	sem_post(&r->finish);
	MMT_CHECK(pthread_join(r->th, NULL) == 0);
	sem_destroy(&r->locked);
	sem_destroy(&r->release);
	sem_destroy(&r->unlocked);
	sem_destroy(&r->finish);
}

struct cb_rec {
	struct mmt_rcu_head head;
	int runs;
	uint64_t completed_at_run;
	struct mmt_machine *m;
};

static void count_cb(struct mmt_rcu_head *h)
{
	struct cb_rec *c = (struct cb_rec *)h;

	c->runs++;
	c->completed_at_run = mmt_rcu_gp_completed(c->m);
}

/* ---- grace periods ---- */

MMT_TEST(grace_period_does_not_end_while_a_cpu_reading_at_its_start_still_reads)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct cb_rec c = { .m = m };
	struct reader r = { 0 };
	int i;

	reader_start(&r, m, 1);
	mmt_call_rcu(&c.head, count_cb);
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* starts: cpu 1 is recorded */
	for (i = 0; i < 20; i++)
		MMT_CHECK(!mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(c.runs, 0);
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 0);
	reader_unlock(&r);
	MMT_CHECK(mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(c.runs, 1);
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 1);
	reader_join(&r);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(reader_that_starts_after_a_grace_period_began_does_not_hold_it)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct cb_rec c = { .m = m };
	struct reader r = { 0 };

	mmt_call_rcu(&c.head, count_cb);
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* starts with nobody reading */
	reader_start(&r, m, 1);
	MMT_CHECK(mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(c.runs, 1);
	reader_unlock(&r);
	reader_join(&r);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(call_rcu_callbacks_run_only_after_their_grace_period)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct cb_rec a = { .m = m }, b = { .m = m }, c = { .m = m };

	MMT_CHECK(!mmt_rcu_gp_step(m)); /* nothing waits: no gp */
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 0);
	mmt_call_rcu(&a.head, count_cb);
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* gp 1 starts */
	mmt_call_rcu(&b.head, count_cb); /* needs gp 2: 1 began before it */
	MMT_CHECK_EQ(a.runs, 0);
	MMT_CHECK(mmt_rcu_gp_step(m)); /* gp 1 ends */
	MMT_CHECK_EQ(a.runs, 1);
	MMT_CHECK_EQ(a.completed_at_run, 1);
	MMT_CHECK_EQ(b.runs, 0);
	/* This CPU's own reader holds gp 2 back. */
	mmt_rcu_read_lock();
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* gp 2 starts, cpu 0 recorded */
	MMT_CHECK(!mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(b.runs, 0);
	mmt_rcu_read_unlock();
	MMT_CHECK(mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(b.runs, 1);
	MMT_CHECK_EQ(b.completed_at_run, 2);
	mmt_call_rcu(&c.head, count_cb);
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 1);
	MMT_CHECK_EQ(c.runs, 1);
	MMT_CHECK_EQ(a.runs, 1);
	MMT_CHECK_CLEAN(m);
}

/* A callback that queues the next one, as a chain of frees does. */
struct chain_cb {
	struct mmt_rcu_head head;
	int runs;
	struct chain_cb *next;
};

static void chain_cb_fn(struct mmt_rcu_head *h)
{
	struct chain_cb *c = (struct chain_cb *)h;

	c->runs++;
	if (c->next)
		mmt_call_rcu(&c->next->head, chain_cb_fn);
}

MMT_TEST(rcu_barrier_waits_only_for_callbacks_queued_before_it)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct chain_cb second = { .runs = 0 }, first = { .next = &second };

	mmt_call_rcu(&first.head, chain_cb_fn);
	/* The kernel's rcu_barrier(): what was queued before it, not after. */
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 1);
	MMT_CHECK_EQ(first.runs, 1);
	MMT_CHECK_EQ(second.runs, 0); /* queued by the callback, later */
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 1);
	MMT_CHECK_EQ(second.runs, 1);
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 0); /* nothing queued: no wait */
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(rcu_read_lock_nests_and_disables_preemption)
{
	struct mmt_machine *m = rcu_machine(1, 0);

	MMT_CHECK(!mmt_rcu_read_lock_held());
	mmt_rcu_read_lock();
	mmt_rcu_read_lock();
	MMT_CHECK(mmt_rcu_read_lock_held());
	MMT_CHECK(mmt_in_atomic());
	mmt_rcu_read_unlock();
	MMT_CHECK(mmt_rcu_read_lock_held());
	mmt_rcu_read_unlock();
	MMT_CHECK(!mmt_rcu_read_lock_held());
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK_CLEAN(m);
	mmt_rcu_read_lock();
	mmt_might_sleep(); /* sleeping in a non-preemptible RCU reader */
	mmt_rcu_read_unlock();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
}

MMT_TEST(rcu_read_unlock_without_lock_reports_rcu_imbalance)
{
	struct mmt_machine *m = rcu_machine(1, 0);

	mmt_rcu_read_unlock();
	MMT_CHECK_VIOLATED(m, "rcu-imbalance");
	MMT_CHECK(!mmt_violated(m, "context-imbalance"));
	MMT_CHECK(mmt_preemptible());
	MMT_CHECK(!mmt_rcu_read_lock_held());
}

MMT_TEST(synchronize_rcu_inside_a_read_section_reports_rcu_deadlock)
{
	struct mmt_machine *m = rcu_machine(2, 0);

	mmt_rcu_read_lock();
	mmt_synchronize_rcu(); /* returns: it would wait for itself */
	mmt_rcu_read_unlock();
	MMT_CHECK_VIOLATED(m, "rcu-deadlock");
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 0);
	mmt_violations_clear(m);
	mmt_synchronize_rcu();
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 1);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(synchronize_rcu_in_atomic_context_reports_sleep_in_atomic)
{
	struct mmt_machine *m = rcu_machine(2, 0);

	mmt_preempt_disable();
	mmt_synchronize_rcu();
	mmt_preempt_enable();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK(!mmt_violated(m, "rcu-deadlock"));
	MMT_CHECK(mmt_rcu_gp_completed(m) >= 1);
}

struct slow_reader {
	struct mmt_machine *m;
	sem_t locked;
	_Atomic bool left;
};

static void *slow_reader_fn(void *arg)
{
	struct slow_reader *r = arg;
	struct mmt_task *t = mmt_task_create(r->m, "slow-reader", 0);

	if (!t || !mmt_cpu_attach(r->m, 1, t))
		abort();
	mmt_rcu_read_lock();
	sem_post(&r->locked);
	usleep(50 * 1000);
	atomic_store(&r->left, true);
	mmt_rcu_read_unlock();
	mmt_cpu_detach();
	mmt_task_destroy(t);
	return NULL;
}

MMT_TEST(synchronize_rcu_waits_for_a_reader_on_another_cpu)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct slow_reader r = { .m = m };
	pthread_t th;

	sem_init(&r.locked, 0, 0);
	MMT_CHECK(pthread_create(&th, NULL, slow_reader_fn, &r) == 0);
	sem_wait(&r.locked);
	mmt_synchronize_rcu();
	MMT_CHECK(atomic_load(&r.left));
	MMT_CHECK(pthread_join(th, NULL) == 0);
	sem_destroy(&r.locked);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(synchronize_rcu_reports_a_reader_that_never_leaves_instead_of_hanging)
{
	struct mmt_machine *m = rcu_machine(3, 0);
	struct reader r = { 0 };
	const struct mmt_violation *v;

	m->rcu->stall_ms = 100; /* white-box: a short stall for the test */
	reader_start(&r, m, 2);
	mmt_synchronize_rcu();
	MMT_CHECK_VIOLATED(m, "rcu-deadlock");
	v = mmt_violation_get(m, 0);
	MMT_CHECK(v && strstr(v->msg, "cpu(s) 2 still inside"));
	reader_unlock(&r);
	reader_join(&r);
}

MMT_TEST(cpu_left_inside_a_reader_is_reported_and_does_not_stall_gps)
{
	struct mmt_machine *m = rcu_machine(2, 0);
	struct cb_rec c = { .m = m };
	struct reader r = { .detach_inside = true };
	struct mmt_task *t;

	reader_start(&r, m, 1);
	mmt_call_rcu(&c.head, count_cb);
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* cpu 1 recorded */
	reader_unlock(&r); /* returns without unlocking ... */
	reader_join(&r); /* ... and leaves the CPU: leave-cpu-in-atomic */
	MMT_CHECK_VIOLATED(m, "leave-cpu-in-atomic");
	MMT_CHECK(mmt_rcu_gp_step(m)); /* nobody on cpu 1: quiescent */
	MMT_CHECK_EQ(c.runs, 1);
	/* The next task on cpu 1 finds the abandoned section. */
	mmt_cpu_detach();
	t = mmt_task_create(m, "next", 0);
	MMT_CHECK(mmt_cpu_attach(m, 1, t));
	MMT_CHECK(!mmt_rcu_read_lock_held());
	MMT_CHECK_VIOLATED(m, "rcu-imbalance");
	mmt_rcu_read_lock();
	mmt_rcu_read_unlock();
	MMT_CHECK(mmt_preemptible());
	mmt_cpu_detach();
	mmt_task_destroy(t);
}

/* ---- kvfree_rcu ---- */

static struct mmt_machine *kv_machine(int cpus, uint64_t bugs, bool debug)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.nr_cpus = cpus;
	cfg.bugs = bugs;
	cfg.slab_debug = debug;
	return t_machine(&cfg);
}

MMT_KRCP_TEST(kvfree_rcu_frees_nothing_before_its_grace_period)
{
	int bug;

	for (bug = 0; bug <= 1; bug++) {
		struct mmt_machine *m = kv_machine(
			2, bug ? 1ull << MMT_BUG_KVFREE_RCU_EARLY_FREE : 0,
			false);
		struct mmt_kmem_cache *s =
			mmt_kmem_cache_create("rcu-obj", 64, 0, 0, NULL);
		void *a = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		void *b = mmt_kmem_cache_alloc(s, GFP_KERNEL);

		MMT_CHECK(a && b);
		mmt_kvfree_rcu(a);
		mmt_kvfree_rcu(b);
		MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 2);
		MMT_CHECK(!mmt_rcu_gp_step(m)); /* the grace period starts */
		if (bug) {
			MMT_CHECK_VIOLATED(m, "rcu-early-free");
			MMT_CHECK_EQ(cache_live(s), 0);
			mmt_kmem_cache_destroy(s);
			continue;
		}
		MMT_CHECK_EQ(cache_live(s), 2);
		MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 2);
		MMT_CHECK(mmt_rcu_gp_step(m)); /* ... and ends: freed */
		MMT_CHECK_EQ(cache_live(s), 0);
		MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
		mmt_kmem_cache_destroy(s);
		MMT_CHECK(mmt_slab_teardown_check(m));
		MMT_CHECK_CLEAN(m);
	}
}

MMT_KRCP_TEST(kvfree_rcu_keeps_an_object_a_reader_on_another_cpu_holds)
{
	int bug;

	for (bug = 0; bug <= 1; bug++) {
		struct mmt_machine *m = kv_machine(
			2, bug ? 1ull << MMT_BUG_KVFREE_RCU_EARLY_FREE : 0,
			true);
		struct mmt_kmem_cache *s =
			mmt_kmem_cache_create("rcu-held", 96, 0, 0, NULL);
		unsigned char *obj = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		struct reader r = { .obj = obj, .len = 96, .pattern = 0x3c };
		int i;

		MMT_CHECK(obj);
		memset(obj, 0x3c, 96);
		reader_start(&r, m, 1); /* cpu 1 reads obj from here on */
		mmt_kvfree_rcu(obj);
		for (i = 0; i < 5; i++)
			MMT_CHECK(!mmt_rcu_gp_step(m));
		reader_unlock(&r); /* checks obj, then leaves its section */
		if (bug) {
			MMT_CHECK_VIOLATED(m, "rcu-early-free");
			MMT_CHECK(!atomic_load(&r.obj_intact)); /* poisoned */
		} else {
			MMT_CHECK(atomic_load(&r.obj_intact));
			MMT_CHECK_EQ(cache_live(s), 1);
			MMT_CHECK(mmt_rcu_gp_step(m));
			MMT_CHECK_EQ(cache_live(s), 0);
			MMT_CHECK_CLEAN(m);
		}
		reader_join(&r);
		mmt_kmem_cache_destroy(s);
	}
}

/*
 * kvfree_rcu_mightsleep() (the single-argument form) may wait for a grace
 * period, so every call is might_sleep(): from atomic context it is a bug
 * even when a block has room and nothing would wait this time.  The
 * two-argument form, with an rcu_head, never sleeps.
 */
MMT_TEST(kvfree_rcu_mightsleep_may_sleep_in_every_call_block_at_hand_or_not)
{
	struct mmt_machine *m = kv_machine(1, 0, false);
	void *a = mmt_kmalloc(64, GFP_KERNEL), *b = mmt_kmalloc(64, GFP_KERNEL);
	void *c = mmt_kmalloc(64, GFP_KERNEL);
	unsigned long sp;

	MMT_CHECK(a && b && c);
	mmt_kvfree_rcu(a); /* opens a block: b has room, nothing will wait */
	MMT_CHECK_CLEAN(m);
	sp = mmt_task_sleep_points(mmt_current_task());
	mmt_preempt_disable();
	mmt_kvfree_rcu(b);
	mmt_preempt_enable();
	MMT_CHECK_EQ(mmt_task_sleep_points(mmt_current_task()), sp + 1);
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 2); /* into the block */
	mmt_violations_clear(m);
	/* with a head: no sleep, from any context */
	mmt_preempt_disable();
	mmt_kvfree_rcu_head(c, (struct mmt_rcu_head *)c);
	mmt_preempt_enable();
	MMT_CHECK_CLEAN(m);
	while (mmt_kvfree_rcu_pending(m))
		mmt_rcu_gp_step(m);
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

MMT_KRCP_TEST(kvfree_rcu_blocks_are_pages_and_a_full_block_opens_another)
{
	struct mmt_machine *m = kv_machine(2, 0, false);
	const size_t cap = MMT_KV_BLOCK_CAP, n = cap + 1;
	void **objs = calloc(n, sizeof(void *));
	unsigned long pgalloc, pgfree;
	size_t i;

	MMT_CHECK(objs);
	MMT_CHECK_EQ(cap, (MMT_PAGE_SIZE - 24) / sizeof(void *));
	for (i = 0; i < n; i++)
		MMT_CHECK((objs[i] = mmt_kmalloc(16, GFP_KERNEL)) != NULL);
	pgalloc = mmt_vm_event(m, MMT_VM_PGALLOC);
	mmt_kvfree_rcu(objs[0]);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_PGALLOC), pgalloc + 1);
	for (i = 1; i < cap; i++)
		mmt_kvfree_rcu(objs[i]);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_PGALLOC), pgalloc + 1);
	mmt_kvfree_rcu(objs[cap]); /* the first block is full */
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_PGALLOC), pgalloc + 2);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), n);
	pgfree = mmt_vm_event(m, MMT_VM_PGFREE);
	MMT_CHECK_EQ(mmt_rcu_barrier(m), 0); /* no callback: no wait */
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), n);
	MMT_CHECK_EQ(mmt_kvfree_rcu_barrier(m), 1);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	MMT_CHECK(mmt_vm_event(m, MMT_VM_PGFREE) >= pgfree + 2);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
	free(objs);
}

MMT_KRCP_TEST(kvfree_rcu_waits_for_a_grace_period_that_starts_after_it)
{
	struct mmt_machine *m = kv_machine(2, 0, false);
	void *a = mmt_kmalloc(32, GFP_KERNEL), *b = mmt_kmalloc(32, GFP_KERNEL);

	mmt_kvfree_rcu(a); /* waits for gp 1 */
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* gp 1 starts */
	mmt_kvfree_rcu(b); /* needs gp 2: a new block */
	MMT_CHECK(mmt_rcu_gp_step(m)); /* gp 1 ends: a only */
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 1);
	MMT_CHECK(!mmt_rcu_gp_step(m));
	MMT_CHECK(mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

struct with_head {
	char data[40];
	struct mmt_rcu_head rh;
	char tail[24];
};

/* Take every free page of the machine (reserves included). */
static size_t hoard_pages(struct mmt_page ***out)
{
	size_t n = 0, cap = 1024;
	struct mmt_page **v = malloc(cap * sizeof(*v)), *p;

	while ((p = mmt_alloc_pages(__GFP_MEMALLOC | __GFP_NOWARN, 0))) {
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = p;
	}
	*out = v;
	return n;
}

static void release_pages(struct mmt_page **v, size_t n)
{
	while (n)
		mmt_free_pages(v[--n], 0);
	free(v);
}

MMT_KRCP_TEST(kvfree_rcu_without_a_page_falls_back_to_synchronize_or_the_head)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_kmem_cache *s;
	struct mmt_page **pages;
	struct with_head *one, *two;
	size_t n;

	mmt_config_default(&cfg);
	cfg.normal_pages = 2048;
	cfg.slab_debug = true;
	m = t_machine(&cfg);
	s = mmt_kmem_cache_create("rcu-fallback", sizeof(struct with_head), 0,
				  0, NULL);
	one = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	two = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK(one && two);
	n = hoard_pages(&pages);
	MMT_CHECK(n > 1000);
	MMT_CHECK(mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0) == NULL);

	/* One argument: a synchronous grace period, then kfree. */
	mmt_kvfree_rcu(one);
	MMT_CHECK_EQ(mmt_rcu_gp_completed(m), 1);
	MMT_CHECK_EQ(cache_live(s), 1);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);

	/* Two arguments: call_rcu on the embedded head. */
	mmt_kvfree_rcu_head(two, &two->rh);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 1);
	MMT_CHECK(!mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(cache_live(s), 1);
	MMT_CHECK(mmt_rcu_gp_step(m));
	MMT_CHECK_EQ(cache_live(s), 0);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);

	release_pages(pages, n);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK_CLEAN(m);
}

/*
 * Seed 002 under PREEMPT_RT rules, with the per-cpu lists drained so a
 * GFP_NOWAIT block allocation must refill them under zone->lock.
 */
static void rt_kvfree(bool fast_try, uint64_t bugs, bool prove_only)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	void *obj[3];
	int i;

	mmt_config_default(&cfg);
	cfg.rt_rules = !prove_only;
	cfg.prove_raw_lock_nesting = prove_only;
	cfg.kvfree_rcu_fast_try = fast_try;
	cfg.bugs = bugs;
	m = t_machine(&cfg);
	for (i = 0; i < 3; i++)
		MMT_CHECK((obj[i] = mmt_kmalloc(128, GFP_KERNEL)) != NULL);
	/* With pages on the per-cpu list: a block either way. */
	mmt_kvfree_rcu(obj[0]);
	MMT_CHECK(!mmt_rcu_gp_step(m)); /* the next pointer needs a new block */
	mmt_drain_all_pages(m);
	mmt_kvfree_rcu(obj[1]);
	mmt_kvfree_rcu_head(obj[2], (struct mmt_rcu_head *)obj[2]);
	mmt_kvfree_rcu_barrier(m);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK(!mmt_violated(m, "fast-try-zone-lock"));
}

MMT_SLAB_TEST(kvfree_rcu_under_rt_rules_is_lockdep_clean_fast_try_or_unlocked)
{
	rt_kvfree(true, 0, false);
	MMT_CHECK_CLEAN(mmt_current_machine());
	rt_kvfree(false, 0, false);
	MMT_CHECK_CLEAN(mmt_current_machine());
	rt_kvfree(true, 0, true);
	MMT_CHECK_CLEAN(mmt_current_machine());
}

MMT_SLAB_TEST(kvfree_rcu_nowait_under_raw_bug_reports_invalid_wait_context)
{
	const uint64_t bug = 1ull << MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW;

	rt_kvfree(true, bug, false);
	MMT_CHECK_VIOLATED(mmt_current_machine(), "invalid-wait-context");
	rt_kvfree(false, bug, true); /* PROVE_RAW_LOCK_NESTING, no RT */
	MMT_CHECK_VIOLATED(mmt_current_machine(), "invalid-wait-context");
	rt_kvfree(true, 0, false); /* off: silent */
	MMT_CHECK_CLEAN(mmt_current_machine());
}

MMT_SLAB_TEST(kvfree_rcu_of_memory_kfree_cannot_free_is_reported_and_ignored)
{
	struct mmt_machine *m = kv_machine(1, 0, false);
	char *obj = mmt_kmalloc(64, GFP_KERNEL);
	char *big = mmt_kmalloc(3 * MMT_PAGE_SIZE, GFP_KERNEL);
	struct mmt_page *page = mmt_alloc_pages(GFP_KERNEL, 0);
	int local;

	MMT_CHECK(obj && big && page);
	mmt_kvfree_rcu(obj + 8); /* inside an object */
	MMT_CHECK_VIOLATED(m, "kvfree-rcu-bad-pointer");
	mmt_violations_clear(m);
	mmt_kvfree_rcu(&local); /* not the machine's memory */
	MMT_CHECK_VIOLATED(m, "kvfree-rcu-bad-pointer");
	mmt_violations_clear(m);
	mmt_kvfree_rcu(mmt_page_address(page)); /* a page, no kmalloc */
	MMT_CHECK_VIOLATED(m, "kvfree-rcu-bad-pointer");
	mmt_violations_clear(m);
	mmt_kvfree_rcu(big + MMT_PAGE_SIZE); /* a tail page */
	MMT_CHECK_VIOLATED(m, "kvfree-rcu-bad-pointer");
	mmt_violations_clear(m);
	mmt_kvfree_rcu_head(obj, (struct mmt_rcu_head *)(obj + 60));
	MMT_CHECK_VIOLATED(m, "kvfree-rcu-bad-pointer"); /* head sticks out */
	mmt_violations_clear(m);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);

	/* The good ones: a slab object and a large kmalloc. */
	mmt_kvfree_rcu(NULL);
	mmt_kvfree_rcu(big);
	mmt_kvfree_rcu_head(obj, (struct mmt_rcu_head *)(obj + 8));
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 2);
	MMT_CHECK_EQ(mmt_kvfree_rcu_barrier(m), 1);
	mmt_free_pages(page, 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

static int cb_kfree_runs;

static void cb_kfree(struct mmt_rcu_head *h)
{
	cb_kfree_runs++;
	mmt_kfree(h);
}

MMT_SLAB_TEST(
	rcu_barrier_runs_every_callback_and_kvfree_rcu_barrier_frees_every_pointer_queued)
{
	struct mmt_machine *m = kv_machine(2, 0, true);
	unsigned int i, n = 200 + (unsigned int)t_rand_below(1500), cbs = 0;

	cb_kfree_runs = 0;
	for (i = 0; i < n; i++) {
		size_t size = 32 + t_rand_below(3000);
		void *p = mmt_kmalloc(size, GFP_KERNEL);

		MMT_CHECK(p);
		switch (t_rand_below(3)) {
		case 0:
			mmt_kvfree_rcu(p);
			break;
		case 1:
			mmt_kvfree_rcu_head(p, p);
			break;
		default:
			mmt_call_rcu(p, cb_kfree);
			cbs++;
		}
		if (t_rand_below(8) == 0)
			mmt_rcu_gp_step(m);
	}
	mmt_rcu_barrier(m);
	MMT_CHECK_EQ(cb_kfree_runs, cbs);
	mmt_kvfree_rcu_barrier(m);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- concurrency ---- */

#define STRESS_LEN 48

struct stress {
	struct mmt_machine *m;
	_Atomic(unsigned char *) cur;
	_Atomic bool stop;
	_Atomic long bad_reads, reads;
	pthread_barrier_t go;
};

static void stress_reader(struct stress *st)
{
	long bad = 0, reads = 0;

	pthread_barrier_wait(&st->go);
	while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
		unsigned char *p;
		int i;

		mmt_rcu_read_lock();
		p = atomic_load_explicit(&st->cur, memory_order_acquire);
		for (i = 0; i < STRESS_LEN; i++)
			bad += p[i] >= 0x40; /* 0x6b: poisoned, freed */
		reads++;
		mmt_rcu_read_unlock();
	}
	atomic_fetch_add(&st->bad_reads, bad);
	atomic_fetch_add(&st->reads, reads);
}

static void stress_updater(struct stress *st)
{
	int i;

	pthread_barrier_wait(&st->go);
	/* Enough updates, spread over enough grace periods (bounded). */
	for (i = 0;
	     i < 2000000 && (i < 3000 || mmt_rcu_gp_completed(st->m) < 20);
	     i++) {
		unsigned char *n = mmt_kmalloc(STRESS_LEN + 32, GFP_KERNEL),
			      *old;

		if (!n)
			abort();
		memset(n, i & 0x3f, STRESS_LEN);
		old = atomic_exchange(&st->cur, n);
		if (i & 1)
			mmt_kvfree_rcu(old);
		else
			/* the head lies past what readers read */
			mmt_kvfree_rcu_head(
				old, (struct mmt_rcu_head *)(old + STRESS_LEN));
	}
	atomic_store(&st->stop, true);
}

/* Cpus 1 and 2 read, cpu 3 updates; the test thread steps on cpu 0. */
static void stress_thread(int cpu, void *arg)
{
	if (cpu == 3)
		stress_updater(arg);
	else
		stress_reader(arg);
}

MMT_SLAB_TEST(concurrent_readers_and_kvfree_rcu_never_see_freed_memory)
{
	struct mmt_machine *m = kv_machine(4, 0, true);
	struct stress st = { .m = m };
	struct t_threads ts;
	unsigned char *first = mmt_kmalloc(STRESS_LEN + 32, GFP_KERNEL);

	MMT_CHECK(first);
	memset(first, 0x7, STRESS_LEN);
	atomic_store(&st.cur, first);
	pthread_barrier_init(&st.go, NULL, 4);
	t_threads_start(&ts, 3, 1, stress_thread, &st);
	pthread_barrier_wait(&st.go);
	while (!atomic_load(&st.stop)) {
		mmt_rcu_gp_step(m);
		sched_yield();
	}
	t_threads_join(&ts);
	pthread_barrier_destroy(&st.go);
	MMT_CHECK_EQ(atomic_load(&st.bad_reads), 0);
	MMT_CHECK(mmt_rcu_gp_completed(m) >= 20);
	mmt_kfree(atomic_load(&st.cur));
	mmt_kvfree_rcu_barrier(m);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	MMT_CHECK(mmt_slab_teardown_check(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}
