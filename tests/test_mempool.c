/* SPDX-License-Identifier: MIT */
/*
 * tests/test_mempool.c - mempool: the reserve filled at creation, the order
 * of sources under each policy, the masks of the inner attempts, waiting
 * and being served, poison, accounting, resize, and the seed-001 bug.
 *
 * Most tests use a recording pool: its alloc function records every mask
 * it is given and fails on demand, so a test sets the allocator's answer
 * instead of engineering memory pressure.  The page-pool tests starve the
 * real page allocator instead.
 */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"
#include "mmt_test.h"

#define X_INNER (__GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN)
#define REC_MAX 64
#define ELEM_SIZE 32

/* ---- a recording pool ---- */

struct rec {
	_Atomic int calls, frees;
	_Atomic int fail_left; /* fail this many more calls */
	_Atomic bool fail_always;
	_Atomic int budget; /* with budgeted: successes left */
	bool budgeted;
	mmt_gfp_t gfp[REC_MAX];
	bool in_noreclaim[REC_MAX];
};

static void *rec_alloc(mmt_gfp_t gfp, void *arg)
{
	struct rec *r = arg;
	int i = atomic_fetch_add(&r->calls, 1);

	if (i < REC_MAX) {
		r->gfp[i] = gfp;
		r->in_noreclaim[i] = _mmt_mempool_in_noreclaim_alloc();
	}
	if (atomic_load(&r->fail_always))
		return NULL;
	if (r->budgeted && atomic_fetch_sub(&r->budget, 1) <= 0)
		return NULL;
	if (atomic_load(&r->fail_left) > 0) {
		atomic_fetch_sub(&r->fail_left, 1);
		return NULL;
	}
	return calloc(1, ELEM_SIZE);
}

static void rec_free(void *elem, void *arg)
{
	struct rec *r = arg;

	atomic_fetch_add(&r->frees, 1);
	free(elem);
}

static struct mmt_mempool *rec_pool(struct rec *r, int min_nr)
{
	struct mmt_mempool *pool;

	memset(r, 0, sizeof(*r));
	pool = mmt_mempool_create("rec", min_nr, rec_alloc, rec_free, r,
				  ELEM_SIZE);
	MMT_CHECK(pool != NULL);
	return pool;
}

/* Forget what creation recorded: the next call is index 0. */
static void rec_reset(struct rec *r)
{
	atomic_store(&r->calls, 0);
	atomic_store(&r->frees, 0);
}

static struct mmt_machine *policy_machine(enum mmt_mempool_policy p,
					  uint64_t bugs)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.mempool_policy = p;
	cfg.bugs = bugs;
	return t_machine(&cfg);
}

/* A one-zone machine whose per-cpu lists hold one page (t_tight_machine)
 * with the mempool policy @p. */
static struct mmt_machine *tight_machine(enum mmt_mempool_policy p,
					 unsigned long stall_jiffies)
{
	struct mmt_config cfg;
	struct mmt_machine *m;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.dma32_pages = 0;
	cfg.normal_pages = T_TIGHT_PAGES;
	cfg.pcp_batch = 1;
	cfg.pcp_high = 1;
	cfg.mempool_policy = p;
	if (stall_jiffies)
		cfg.stall_jiffies = stall_jiffies;
	m = t_machine(&cfg);
	mmt_zone_set_watermarks(m, 0, T_TIGHT_MIN, T_TIGHT_LOW, T_TIGHT_HIGH);
	return m;
}

static bool has_violation_text(struct mmt_machine *m, const char *check,
			       const char *text)
{
	unsigned long i;
	const struct mmt_violation *v;

	for (i = 0; (v = mmt_violation_get(m, i)); i++)
		if (!strcmp(v->check, check) && strstr(v->msg, text))
			return true;
	return false;
}

/* ---- creation and the order of sources ---- */

MMT_TEST(mempool_create_fills_min_nr_elements_with_gfp_kernel)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r;
	struct mmt_mempool *pool = rec_pool(&r, 4);
	int i;

	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 4);
	MMT_CHECK_EQ(mmt_mempool_min_nr(pool), 4);
	MMT_CHECK_EQ(atomic_load(&r.calls), 4);
	for (i = 0; i < 4; i++) {
		MMT_CHECK_EQ(r.gfp[i], GFP_KERNEL);
		/* Filling is not mempool_alloc: the oracle's flag is off. */
		MMT_CHECK(!r.in_noreclaim[i]);
	}
	mmt_mempool_destroy(pool);
	MMT_CHECK_EQ(atomic_load(&r.frees), 4);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(mempool_create_fails_when_the_allocator_cannot_fill_it)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r;
	struct mmt_mempool *pool;

	memset(&r, 0, sizeof(r));
	r.budgeted = true;
	atomic_store(&r.budget, 1);
	/* The second element fails: the first is given back. */
	pool = mmt_mempool_create("rec", 3, rec_alloc, rec_free, &r, ELEM_SIZE);
	MMT_CHECK(pool == NULL);
	MMT_CHECK_EQ(atomic_load(&r.calls), 2);
	MMT_CHECK_EQ(atomic_load(&r.frees), 1);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(mempool_alloc_prefers_the_allocator_and_uses_the_pool_when_it_fails)
{
	struct mmt_machine *m = tight_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	static struct mmt_page *held[T_TIGHT_PAGES];
	struct mmt_mempool *pool = mmt_mempool_create_page_pool("pages", 2, 0);
	struct mmt_page *a, *b, *c;
	unsigned int n;

	MMT_CHECK(pool != NULL);
	/* Plenty of memory: the allocator serves, the reserve stays whole. */
	a = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(a != NULL);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 2);
	/* Starved below min: the allocator fails, the pool serves. */
	n = t_take_pages_until(m, 0, 8, held, T_TIGHT_PAGES);
	b = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(b != NULL);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 1);
	c = mmt_mempool_alloc(pool, GFP_NOIO);
	MMT_CHECK(c != NULL);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 0);
	/* Frees refill the pool up to min_nr, then go to the allocator. */
	mmt_mempool_free(c, pool);
	mmt_mempool_free(b, pool);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 2);
	mmt_mempool_free(a, pool);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 2);
	t_give_pages_back(held, n);
	mmt_mempool_destroy(pool);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(pool_first_takes_from_the_pool_before_the_allocator)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_POOL_FIRST, 0);
	struct rec r;
	struct mmt_mempool *pool = rec_pool(&r, 2);
	void *a, *b, *c;

	rec_reset(&r);
	a = mmt_mempool_alloc(pool, GFP_KERNEL);
	b = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(a && b);
	MMT_CHECK_EQ(atomic_load(&r.calls), 0);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 0);
	/* Empty: now the allocator. */
	c = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(c != NULL);
	MMT_CHECK_EQ(atomic_load(&r.calls), 1);
	mmt_mempool_free(a, pool);
	mmt_mempool_free(b, pool);
	mmt_mempool_free(c, pool);
	mmt_mempool_destroy(pool);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(no_reclaim_and_kernel_2016_take_from_the_allocator_first)
{
	enum mmt_mempool_policy p;

	for (p = MMT_MEMPOOL_KERNEL_2016; p <= MMT_MEMPOOL_NO_RECLAIM; p++) {
		struct mmt_machine *m = policy_machine(p, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 2);
		void *a;

		rec_reset(&r);
		a = mmt_mempool_alloc(pool, GFP_KERNEL);
		MMT_CHECK(a != NULL);
		MMT_CHECK_EQ(atomic_load(&r.calls), 1);
		MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 2);
		mmt_mempool_free(a, pool);
		mmt_mempool_destroy(pool);
		MMT_CHECK_CLEAN(m);
	}
}

/* ---- masks ---- */

/*
 * Empty the pool of @r's pool with the allocator failing, then have
 * GFP_KERNEL mempool_alloc() meet an allocator that fails twice more.
 */
static void *alloc_through_two_failures(struct mmt_mempool *pool, struct rec *r,
					void **held)
{
	void *elem;

	atomic_store(&r->fail_always, true);
	*held = mmt_mempool_alloc(pool, GFP_NOWAIT);
	MMT_CHECK(*held != NULL);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 0);
	atomic_store(&r->fail_always, false);
	atomic_store(&r->fail_left, 2);
	rec_reset(r);
	elem = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(elem != NULL);
	MMT_CHECK_EQ(atomic_load(&r->calls), 3);
	return elem;
}

MMT_TEST(inner_attempts_carry_nomemalloc_noretry_nowarn_under_every_policy)
{
	enum mmt_mempool_policy p;

	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++) {
		struct mmt_machine *m = policy_machine(p, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 1);
		void *held, *elem = alloc_through_two_failures(pool, &r, &held);
		int i;

		for (i = 0; i < 3; i++)
			MMT_CHECK_MSG(
				(r.gfp[i] & X_INNER) == X_INNER,
				"policy %s attempt %d: mask %#x lacks %#x",
				mmt_mempool_policy_name(p), i, r.gfp[i],
				X_INNER);
		mmt_mempool_free(elem, pool);
		mmt_mempool_free(held, pool);
		mmt_mempool_destroy(pool);
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(kernel_2016_retries_with_direct_reclaim_and_no_reclaim_never_does)
{
	enum mmt_mempool_policy p;
	const mmt_gfp_t first =
		(GFP_KERNEL & ~(__GFP_DIRECT_RECLAIM | __GFP_IO)) | X_INNER;

	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++) {
		struct mmt_machine *m = policy_machine(p, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 1);
		void *held, *elem = alloc_through_two_failures(pool, &r, &held);
		int i;

		MMT_CHECK_EQ(r.gfp[0], first);
		if (p == MMT_MEMPOOL_KERNEL_2016) {
			/* The retry and every later attempt: the full mask. */
			MMT_CHECK_EQ(r.gfp[1], GFP_KERNEL | X_INNER);
			MMT_CHECK_EQ(r.gfp[2], GFP_KERNEL | X_INNER);
			/* One wait, after the retry. */
			MMT_CHECK_EQ(mmt_jiffies(m), 5 * MMT_HZ);
		} else {
			for (i = 0; i < 3; i++) {
				MMT_CHECK_EQ(r.gfp[i], first);
				MMT_CHECK(r.gfp[i] & __GFP_KSWAPD_RECLAIM);
				MMT_CHECK_EQ(r.in_noreclaim[i],
					     p == MMT_MEMPOOL_NO_RECLAIM);
			}
			/* A 5 s wait after each failure. */
			MMT_CHECK_EQ(mmt_jiffies(m), 10 * MMT_HZ);
		}
		mmt_mempool_free(elem, pool);
		mmt_mempool_free(held, pool);
		mmt_mempool_destroy(pool);
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(gfp_nowait_caller_gets_null_instead_of_waiting)
{
	enum mmt_mempool_policy p;

	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++) {
		struct mmt_machine *m = policy_machine(p, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 1);
		void *held;
		struct mmt_mempool_stats s;

		atomic_store(&r.fail_always, true);
		held = mmt_mempool_alloc(pool, GFP_NOWAIT);
		MMT_CHECK(held != NULL);
		rec_reset(&r);
		MMT_CHECK(mmt_mempool_alloc(pool, GFP_NOWAIT) == NULL);
		MMT_CHECK(mmt_mempool_alloc(pool, GFP_ATOMIC) == NULL);
		/* One attempt each, no retry with a mask it does not have. */
		MMT_CHECK_EQ(atomic_load(&r.calls), 2);
		MMT_CHECK_EQ(r.gfp[0], GFP_NOWAIT | X_INNER);
		MMT_CHECK_EQ(r.gfp[1], GFP_ATOMIC | X_INNER);
		MMT_CHECK_EQ(mmt_jiffies(m), 0);
		mmt_mempool_stats(pool, &s);
		MMT_CHECK_EQ(s.waits, 0);
		MMT_CHECK_EQ(s.nulls, 2);
		MMT_CHECK_EQ(s.out, 1);
		mmt_mempool_free(held, pool);
		mmt_mempool_destroy(pool);
		MMT_CHECK_CLEAN(m);
	}
}

/* ---- waiting ---- */

struct waiter {
	struct mmt_mempool *pool;
	mmt_gfp_t gfp;
	void *_Atomic got;
	_Atomic uint64_t at; /* jiffies when mempool_alloc returned */
	_Atomic bool done;
};

static void waiter_fn(void *arg)
{
	struct waiter *w = arg;
	void *elem = mmt_mempool_alloc(w->pool, w->gfp);

	atomic_store(&w->at, mmt_jiffies(mmt_current_machine()));
	atomic_store(&w->got, elem);
	atomic_store(&w->done, true);
}

MMT_TEST(a_waiting_mempool_caller_is_served_when_an_element_is_freed)
{
	enum mmt_mempool_policy p;

	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++) {
		struct mmt_machine *m = policy_machine(p, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 2);
		struct waiter w = { .pool = pool, .gfp = GFP_NOIO };
		struct mmt_kthread *k;
		struct mmt_mempool_stats s;
		void *a, *b;

		/* The allocator is dead and the test holds the reserve. */
		atomic_store(&r.fail_always, true);
		a = mmt_mempool_alloc(pool, GFP_NOWAIT);
		b = mmt_mempool_alloc(pool, GFP_NOWAIT);
		MMT_CHECK(a && b);
		k = mmt_kthread_run(m, "kcryptd/0", 0, waiter_fn, &w);
		MMT_CHECK(k != NULL);
		/*
		 * The clock moves only once the kthread is blocked too, so
		 * after this sleep it waits in mempool_alloc.
		 */
		MMT_CHECK_EQ(mmt_schedule_timeout(1), MMT_WAIT_TIMEOUT);
		MMT_CHECK(!atomic_load(&w.done));
		mmt_mempool_free(a, pool);
		mmt_kthread_stop(k);
		MMT_CHECK_MSG(atomic_load(&w.got) == a,
			      "policy %s: the waiter got %p, not the freed %p",
			      mmt_mempool_policy_name(p), atomic_load(&w.got),
			      a);
		/* Woken by the free, not by its 5 s timeout. */
		MMT_CHECK(atomic_load(&w.at) < 5 * MMT_HZ);
		mmt_mempool_stats(pool, &s);
		MMT_CHECK_EQ(s.waits, 1);
		MMT_CHECK_EQ(s.wait_timeouts, 0);
		mmt_mempool_free(atomic_load(&w.got), pool);
		mmt_mempool_free(b, pool);
		MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 2);
		mmt_mempool_destroy(pool);
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(a_stall_report_names_who_holds_the_pool_elements)
{
	struct mmt_machine *m =
		tight_machine(MMT_MEMPOOL_NO_RECLAIM, 12 * MMT_HZ);
	static struct mmt_page *held[T_TIGHT_PAGES];
	struct mmt_mempool *pool = mmt_mempool_create_page_pool("pages", 2, 0);
	struct waiter w = { .pool = pool, .gfp = GFP_NOIO };
	struct mmt_kthread *k;
	struct mmt_page *a, *b;
	unsigned int n;

	MMT_CHECK(pool != NULL);
	n = t_take_pages_until(m, 0, 8, held, T_TIGHT_PAGES);
	a = mmt_mempool_alloc(pool, GFP_KERNEL);
	b = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(a && b);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 0);
	/* Nobody frees: the waiter times out and retries until the stall. */
	k = mmt_kthread_run(m, "kcryptd/0", 0, waiter_fn, &w);
	MMT_CHECK(k != NULL);
	MMT_CHECK_EQ(mmt_schedule_timeout(60 * MMT_HZ), MMT_WAIT_DEADLOCK);
	mmt_kthread_stop(k);
	MMT_CHECK(atomic_load(&w.done));
	MMT_CHECK(atomic_load(&w.got) == NULL);
	MMT_CHECK_VIOLATED(m, "stall");
	MMT_CHECK(has_violation_text(m, "stall",
				     "kcryptd/0 waits on pool->wait"));
	MMT_CHECK_MSG(
		has_violation_text(m, "stall",
				   "mempool pages: 0/2 elements in the pool, "
				   "2 out: held by test (2)"),
		"the stall report does not say who holds the elements: %s",
		mmt_violation_get(m, 0)->msg);
	mmt_mempool_free(a, pool);
	mmt_mempool_free(b, pool);
	t_give_pages_back(held, n);
	mmt_mempool_destroy(pool);
}

/* ---- poison and accounting ---- */

MMT_TEST(writing_a_pooled_element_is_reported_when_it_leaves_the_pool)
{
	int written;

	for (written = 0; written <= 1; written++) {
		struct mmt_machine *m =
			policy_machine(MMT_MEMPOOL_POOL_FIRST, 0);
		struct mmt_mempool *pool =
			mmt_mempool_create_kmalloc_pool("km", 1, 64);
		char *e;

		MMT_CHECK(pool != NULL);
		e = mmt_mempool_alloc(pool, GFP_KERNEL);
		MMT_CHECK(e != NULL);
		mmt_mempool_free(e, pool); /* back into the pool */
		MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 1);
		if (written)
			e[40] = 1; /* use after free, into the reserve */
		MMT_CHECK(mmt_mempool_alloc(pool, GFP_KERNEL) == e);
		if (written)
			MMT_CHECK_VIOLATED(m, "mempool-poison");
		else
			MMT_CHECK_CLEAN(m);
		mmt_mempool_free(e, pool);
		mmt_mempool_destroy(pool);
	}
}

MMT_TEST(a_page_pool_poisons_the_page_contents)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_POOL_FIRST, 0);
	struct mmt_mempool *pool = mmt_mempool_create_page_pool("pages", 1, 1);
	struct mmt_page *pg;
	unsigned char *p;

	MMT_CHECK(pool != NULL);
	pg = mmt_mempool_alloc(pool, GFP_KERNEL);
	MMT_CHECK(pg != NULL);
	p = mmt_page_address(pg);
	/* Both pages of the order-1 element carry the reserve's poison. */
	MMT_CHECK_EQ(p[0], MMT_POISON_RESERVED);
	MMT_CHECK_EQ(p[2 * MMT_PAGE_SIZE - 1], MMT_POISON_RESERVED);
	mmt_mempool_free(pg, pool);
	p[MMT_PAGE_SIZE + 7] = 0;
	MMT_CHECK(mmt_mempool_alloc(pool, GFP_KERNEL) == pg);
	MMT_CHECK_VIOLATED(m, "mempool-poison");
	mmt_mempool_free(pg, pool);
	mmt_mempool_destroy(pool);
}

MMT_TEST(destroying_a_pool_with_elements_out_is_reported_with_the_holder)
{
	int out;

	for (out = 0; out <= 1; out++) {
		struct mmt_machine *m =
			policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
		struct mmt_mempool *pool =
			mmt_mempool_create_kmalloc_pool("bio", 2, 128);
		void *a = mmt_mempool_alloc(pool, GFP_KERNEL);

		MMT_CHECK(a != NULL);
		if (!out)
			mmt_mempool_free(a, pool);
		mmt_mempool_destroy(pool);
		if (out) {
			MMT_CHECK_VIOLATED(m, "mempool-accounting");
			MMT_CHECK(has_violation_text(m, "mempool-accounting",
						     "held by test (1)"));
			mmt_kfree(a);
		} else {
			MMT_CHECK_CLEAN(m);
		}
	}
}

MMT_TEST(freeing_an_element_twice_is_reported_and_not_freed_again)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r;
	struct mmt_mempool *pool = rec_pool(&r, 1);
	void *a = mmt_mempool_alloc(pool, GFP_KERNEL);
	int local;

	rec_reset(&r);
	mmt_mempool_free(a, pool); /* pool full: to the free function */
	MMT_CHECK_EQ(atomic_load(&r.frees), 1);
	MMT_CHECK_CLEAN(m);
	mmt_mempool_free(a, pool);
	MMT_CHECK_VIOLATED(m, "mempool-accounting");
	MMT_CHECK_EQ(atomic_load(&r.frees), 1);
	mmt_violations_clear(m);
	mmt_mempool_free(&local, pool); /* never handed out */
	MMT_CHECK_VIOLATED(m, "mempool-accounting");
	mmt_mempool_free(NULL, pool); /* ignored */
	MMT_CHECK_EQ(atomic_load(&r.frees), 1);
	mmt_mempool_destroy(pool);
}

/* ---- resize ---- */

MMT_TEST(mempool_resize_grows_by_allocating_and_shrinks_by_freeing)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r;
	struct mmt_mempool *pool = rec_pool(&r, 2);
	void *a;

	rec_reset(&r);
	MMT_CHECK_EQ(mmt_mempool_resize(pool, 5), 0);
	MMT_CHECK_EQ(mmt_mempool_min_nr(pool), 5);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 5);
	MMT_CHECK_EQ(atomic_load(&r.calls), 3);
	MMT_CHECK_EQ(r.gfp[0], GFP_KERNEL);
	/* Shrinking frees the surplus, checking its poison. */
	MMT_CHECK_EQ(mmt_mempool_resize(pool, 1), 0);
	MMT_CHECK_EQ(mmt_mempool_min_nr(pool), 1);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 1);
	MMT_CHECK_EQ(atomic_load(&r.frees), 4);
	MMT_CHECK_EQ(mmt_mempool_resize(pool, 0), -1);
	/* A grown pool below min_nr is refilled by frees. */
	atomic_store(&r.fail_always, true);
	a = mmt_mempool_alloc(pool, GFP_NOWAIT);
	MMT_CHECK(a != NULL);
	MMT_CHECK_EQ(mmt_mempool_resize(pool, 3), 0);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 0);
	mmt_mempool_free(a, pool);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 1);
	mmt_mempool_destroy(pool);
	MMT_CHECK_CLEAN(m);
}

/* ---- policies by name, statistics ---- */

MMT_TEST(mempool_policy_names_round_trip)
{
	enum mmt_mempool_policy p, q;

	for (p = 0; p < MMT_NR_MEMPOOL_POLICIES; p++) {
		MMT_CHECK(mmt_mempool_policy_parse(mmt_mempool_policy_name(p),
						   &q));
		MMT_CHECK_EQ(p, q);
	}
	MMT_CHECK_STR(mmt_mempool_policy_name(MMT_MEMPOOL_KERNEL_2016),
		      "kernel-2016");
	MMT_CHECK_STR(mmt_mempool_policy_name(MMT_MEMPOOL_NO_RECLAIM),
		      "no-reclaim");
	MMT_CHECK_STR(mmt_mempool_policy_name(MMT_MEMPOOL_POOL_FIRST),
		      "pool-first");
	MMT_CHECK(!mmt_mempool_policy_parse("kernel", &q));
	MMT_CHECK(!mmt_mempool_policy_parse(NULL, &q));
}

MMT_TEST(machine_mempool_stats_sum_live_and_destroyed_pools)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r1, r2;
	struct mmt_mempool *p1 = rec_pool(&r1, 1), *p2 = rec_pool(&r2, 1);
	struct mmt_mempool_stats s;
	void *a = mmt_mempool_alloc(p1, GFP_KERNEL);
	void *b;

	atomic_store(&r2.fail_always, true);
	b = mmt_mempool_alloc(p2, GFP_KERNEL);
	MMT_CHECK(a && b);
	mmt_mempool_free(a, p1);
	mmt_mempool_destroy(p1);
	mmt_mempool_machine_stats(m, &s);
	MMT_CHECK_EQ(s.alloc_fn_calls, 2);
	MMT_CHECK_EQ(s.alloc_fn_ok, 1);
	MMT_CHECK_EQ(s.from_pool, 1);
	MMT_CHECK_EQ(s.freed, 1);
	MMT_CHECK_EQ(s.out, 1);
	MMT_CHECK_STR(mmt_mempool_name(p2), "rec");
	mmt_mempool_free(b, p2);
	mmt_mempool_destroy(p2);
	MMT_CHECK_CLEAN(m);
}

/* ---- the seed-001 bug ---- */

MMT_TEST(bug_mempool_retry_reclaim_caught_by_mempool_no_reclaim)
{
	int on;

	for (on = 0; on <= 1; on++) {
		struct mmt_machine *m = policy_machine(
			MMT_MEMPOOL_NO_RECLAIM,
			on ? 1ull << MMT_BUG_MEMPOOL_RETRY_RECLAIM : 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 1);
		void *held, *elem = alloc_through_two_failures(pool, &r, &held);

		if (on)
			MMT_CHECK_VIOLATED(m, "mempool-no-reclaim");
		else
			MMT_CHECK_CLEAN(m);
		mmt_mempool_free(elem, pool);
		mmt_mempool_free(held, pool);
		mmt_mempool_destroy(pool);
	}
}

MMT_TEST(every_element_out_is_tracked_through_frees_in_any_order)
{
	struct mmt_machine *m = policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
	struct rec r;
	struct mmt_mempool *pool = rec_pool(&r, 4);
	static void *out[600];
	struct mmt_mempool_stats s;
	unsigned int i, n = 600;

	for (i = 0; i < n; i++) {
		out[i] = mmt_mempool_alloc(pool, GFP_KERNEL);
		MMT_CHECK(out[i] != NULL);
	}
	mmt_mempool_stats(pool, &s);
	MMT_CHECK_EQ(s.out, 600);
	/* Random order exercises the out table's deletions. */
	while (n) {
		i = (unsigned int)t_rand_below(n);
		mmt_mempool_free(out[i], pool);
		out[i] = out[--n];
	}
	mmt_mempool_stats(pool, &s);
	MMT_CHECK_EQ(s.out, 0);
	MMT_CHECK_EQ(mmt_mempool_curr_nr(pool), 4);
	mmt_mempool_destroy(pool);
	MMT_CHECK_CLEAN(m);
}

struct spinner {
	_Atomic bool on_cpu, release;
};

static void spin_body(int cpu, void *arg)
{
	struct spinner *sp = arg;

	(void)cpu;
	atomic_store(&sp->on_cpu, true);
	while (!atomic_load(&sp->release))
		;
}

/*
 * The oracle, made to fire: the woken waiter finds every CPU taken while
 * the clock is moved past its deadline, so it is served only after the full
 * timeout although the element sat in the pool the whole time.  Without
 * the clock move it is served at once and nothing is reported.
 */
MMT_TEST(a_waiter_not_served_before_its_timeout_is_a_forward_progress_finding)
{
	int late;

	for (late = 0; late <= 1; late++) {
		struct mmt_machine *m =
			policy_machine(MMT_MEMPOOL_NO_RECLAIM, 0);
		struct rec r;
		struct mmt_mempool *pool = rec_pool(&r, 1);
		struct waiter w = { .pool = pool, .gfp = GFP_NOIO };
		struct spinner sp = { 0 };
		struct t_threads ts;
		struct mmt_kthread *k;
		void *a;

		atomic_store(&r.fail_always, true);
		a = mmt_mempool_alloc(pool, GFP_NOWAIT);
		MMT_CHECK(a != NULL);
		k = mmt_kthread_run(m, "waiter", 0, waiter_fn, &w);
		MMT_CHECK(k != NULL);
		MMT_CHECK_EQ(mmt_schedule_timeout(1), MMT_WAIT_TIMEOUT);
		/* Both CPUs busy: the test's and the spinner's. */
		t_threads_start(&ts, 1, 1 - mmt_smp_processor_id(), spin_body,
				&sp);
		while (!atomic_load(&sp.on_cpu))
			;
		mmt_mempool_free(a, pool); /* wakes the waiter: no CPU */
		if (late)
			mmt_advance_time(m, 5 * MMT_HZ);
		atomic_store(&sp.release, true);
		t_threads_join(&ts);
		mmt_kthread_stop(k);
		MMT_CHECK(atomic_load(&w.got) == a);
		if (late)
			MMT_CHECK_VIOLATED(m, "mempool-forward-progress");
		else
			MMT_CHECK_CLEAN(m);
		mmt_mempool_free(a, pool);
		mmt_mempool_destroy(pool);
	}
}
