/* SPDX-License-Identifier: MIT */
/*
 * alloc/mempool.c - memory pools that guarantee forward progress
 * (mmt/mempool.h), the layer of seed 001.
 *
 * What it models: mm/mempool.c.  A pool keeps min_nr preallocated elements
 * so that a caller which must make progress to free memory (a block
 * driver's writeback path: dm-crypt's bios and ciphertext pages) can always
 * get one, if only after waiting for another in-flight element to be
 * freed.  Written from the documented behaviour and the seed's discussion,
 * not from the kernel source.
 *
 * Algorithm.  mempool_alloc() adds __GFP_NOMEMALLOC | __GFP_NORETRY |
 * __GFP_NOWARN to every inner attempt (the pool is the reserve: the
 * allocator must neither dig into the emergency reserves nor try hard) and
 * goes through the sources in the order of the machine's policy:
 *   kernel-2016  allocator without __GFP_DIRECT_RECLAIM and __GFP_IO; the
 *                pool; NULL if the caller cannot sleep; once, the allocator
 *                again with the caller's full mask (it may enter direct
 *                reclaim and be throttled behind writeback: the seed's
 *                deadlock), and from then on with that mask; then wait;
 *   no-reclaim   allocator without direct reclaim (kswapd wakeup kept);
 *                the pool; NULL if the caller cannot sleep; wait;
 *   pool-first   the pool; the allocator without direct reclaim; NULL or
 *                wait.
 * "Wait" is io_schedule_timeout(5 * HZ) on the pool's wait queue, woken by
 * mempool_free(); then everything again from the top.  A wait the scheduler
 * ends because the machine is deadlocked or stalled (or the kthread is
 * being stopped) makes mempool_alloc() return NULL so the caller unwinds.
 * mempool_free() puts the element back while the pool is below min_nr
 * (poisoned) and then wakes the waiters; otherwise it goes to the free
 * function.  The order is the pairing that loses no wake-up: a waiter
 * queues itself and then checks curr_nr, a freer raises curr_nr and then
 * wakes the queue (MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP looks at the queue
 * before the refill and skips the wake-up when it was empty).
 *
 * Oracles, each independent of the policy code it watches:
 *  - mempool-no-reclaim: every call into a pool's alloc function goes
 *    through call_alloc(); under the no-reclaim policy it reports a mask
 *    with __GFP_DIRECT_RECLAIM, and sets a per-thread flag that reclaim.c
 *    reads (_mmt_mempool_in_noreclaim_alloc) to report direct reclaim or
 *    throttling entered from inside the alloc function by any path;
 *  - mempool-forward-progress: mempool_free() records when it put an
 *    element into a pool that had waiters; a waiter whose wait ran its full
 *    timeout although such an element was put there before its deadline and
 *    is still there was not served (a lost wake-up).  The clock moves by
 *    itself only when nothing can run, and a woken waiter counts as
 *    runnable, so a woken waiter is never late; an explicit
 *    mmt_advance_time() past its deadline while it waits for a CPU is
 *    reported too (the test of the oracle does exactly that), and a
 *    freer that skips the wake-up (MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP)
 *    leaves its waiter to the full timeout;
 *  - mempool-poison: pooled elements are filled with MMT_POISON_RESERVED
 *    (elem_size bytes; a page pool's page contents) and checked whenever
 *    they leave the pool;
 *  - mempool-accounting: every element mempool_alloc() hands out is
 *    recorded with the task that took it; freeing one the pool did not hand
 *    out (twice, or a foreign one) and destroying a pool with elements out
 *    are reported, naming the holders.  The same record tells the deadlock
 *    report who holds the elements a waiter waits for (describe()).
 *
 * Invariants: 0 <= curr_nr <= min_nr <= capacity of elements[] (curr_nr
 * may exceed a min_nr lowered by a resize only inside mmt_mempool_resize,
 * which frees the surplus); elements handed out == entries of the out table
 * == allocs - frees.
 *
 * Locks: mempool->lock (a model spinlock, taken with irqs saved: frees come
 * from completion context) protects elements[], curr_nr, min_nr and the
 * waiter bookkeeping; it is never held across the alloc or free function,
 * a wait or a wake-up.  curr_nr and min_nr are also relaxed atomics so the
 * wait condition and the deadlock report can read them without it.  The out
 * table has a host mutex (track_mu), a leaf outside the model's lock model:
 * the deadlock report reads it from the scheduler with sched->mu held and
 * possibly from a thread on no CPU (order: sched->mu -> track_mu).  The
 * machine's pool list has its own host mutex, also a leaf.
 *
 * Memory: a pool's descriptor, element array and out table are host
 * memory, not model memory (the kernel kmallocs them): the model's pools
 * cost the simulated machine only their elements.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* io_schedule_timeout(5 * HZ) of the kernel's mempool_alloc(). */
#define MEMPOOL_WAIT_JIFFIES (5 * MMT_HZ)
/* Holders named in a report; more are summed as "others". */
#define MAX_HOLDERS_SHOWN 6

static MMT_LOCK_CLASS(mempool_lock_class, "mempool->lock", MMT_LOCK_SPIN);

/* An element handed out by mempool_alloc(), and who took it. */
struct out_ent {
	void *elem; /* NULL: empty slot */
	const struct mmt_task *task; /* compared only, never dereferenced */
	char who[32]; /* the task's name when it took the element */
};

struct counters {
	_Atomic unsigned long alloc_fn_calls, alloc_fn_ok, from_pool, waits,
		wait_timeouts, nulls, refills, freed;
};

struct mmt_mempool {
	struct mmt_machine *m;
	char name[48];
	mmt_mempool_alloc_fn alloc_fn;
	mmt_mempool_free_fn free_fn;
	void *pool_data;
	int node;

	/* Poisoning: poison_len bytes at the element, or at its page. */
	size_t poison_len;
	bool poison_page;

	mmt_spinlock_t lock; /* "mempool->lock" */
	_Atomic int min_nr, curr_nr; /* written under lock */
	void **elements; /* [cap] */
	int cap;
	/* forward-progress oracle, under lock */
	int nr_waiters;
	uint64_t refill_seq; /* frees into the pool while it had waiters */
	uint64_t refill_jiffy; /* jiffies of the last of those */

	struct mmt_waitqueue wait;

	/* elements out, under track_mu (host) */
	pthread_mutex_t track_mu;
	struct out_ent *out; /* open addressing, [out_cap], power of 2 */
	size_t out_cap, nr_out;
	bool untracked; /* host memory ran out: no foreign-free reports */

	struct counters st;
	struct mmt_mempool *next, *prev; /* the machine's pools */
};

struct mmt_mempool_state {
	pthread_mutex_t mu; /* host, a leaf: the list and retired */
	struct mmt_mempool *pools;
	struct mmt_mempool_stats retired; /* of destroyed pools */
};

/* Inside an alloc function called by mempool_alloc under no-reclaim. */
_Thread_local int _mmt_noreclaim_depth;

bool _mmt_mempool_in_noreclaim_alloc(void)
{
	return _mmt_noreclaim_depth > 0;
}

static inline void count(_Atomic unsigned long *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline int curr_nr(const struct mmt_mempool *pool)
{
	return atomic_load_explicit(&pool->curr_nr, memory_order_relaxed);
}

static inline int min_nr(const struct mmt_mempool *pool)
{
	return atomic_load_explicit(&pool->min_nr, memory_order_relaxed);
}

/* ---- the table of elements out ---- */

static inline size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

static void out_put(struct out_ent *tab, size_t cap, const struct out_ent *e)
{
	size_t i = ptr_hash(e->elem) & (cap - 1);

	while (tab[i].elem)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* Record @elem as taken by @task (track_mu held). */
static void out_insert(struct mmt_mempool *pool, void *elem,
		       const struct mmt_task *task)
{
	struct out_ent e = { .elem = elem, .task = task };

	if ((pool->nr_out + 1) * 2 > pool->out_cap) {
		size_t ncap = pool->out_cap ? pool->out_cap * 2 : 16, i;
		struct out_ent *ntab = calloc(ncap, sizeof(*ntab));

		if (!ntab) {
			pool->untracked = true;
			return;
		}
		for (i = 0; i < pool->out_cap; i++)
			if (pool->out[i].elem)
				out_put(ntab, ncap, &pool->out[i]);
		free(pool->out);
		pool->out = ntab;
		pool->out_cap = ncap;
	}
	if (task)
		snprintf(e.who, sizeof(e.who), "%s", mmt_task_name(task));
	else
		snprintf(e.who, sizeof(e.who), "?");
	out_put(pool->out, pool->out_cap, &e);
	pool->nr_out++;
}

/* Forget @elem; false if the pool had not handed it out (track_mu held). */
static bool out_remove(struct mmt_mempool *pool, const void *elem)
{
	size_t mask = pool->out_cap - 1, i, j;

	if (!pool->out_cap)
		return false;
	for (i = ptr_hash(elem) & mask; pool->out[i].elem != elem;
	     i = (i + 1) & mask)
		if (!pool->out[i].elem)
			return false;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (j = (i + 1) & mask; pool->out[j].elem; j = (j + 1) & mask) {
		size_t home = ptr_hash(pool->out[j].elem) & mask;

		/* Move j into the hole i if its home is not in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			pool->out[i] = pool->out[j];
			i = j;
		}
	}
	pool->out[i].elem = NULL;
	pool->nr_out--;
	return true;
}

/*
 * "held by kcryptd/0 (3), writer/1 (1)" into @buf: the holders of the
 * elements out, by task (track_mu held).
 */
static void describe_holders(struct mmt_mempool *pool, char *buf, size_t len)
{
	struct {
		const struct mmt_task *task;
		const char *who;
		size_t n;
	} h[MAX_HOLDERS_SHOWN];
	size_t nh = 0, others = 0, i, k, used;

	for (i = 0; i < pool->out_cap; i++) {
		const struct out_ent *e = &pool->out[i];

		if (!e->elem)
			continue;
		for (k = 0; k < nh && h[k].task != e->task; k++)
			;
		if (k < nh) {
			h[k].n++;
		} else if (nh < MAX_HOLDERS_SHOWN) {
			h[nh].task = e->task;
			h[nh].who = e->who;
			h[nh++].n = 1;
		} else {
			others++;
		}
	}
	used = (size_t)snprintf(buf, len, "held by");
	for (k = 0; k < nh && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s %s (%zu)",
					 k ? "," : "", h[k].who, h[k].n);
	if (others && used < len)
		snprintf(buf + used, len - used, ", others (%zu)", others);
}

/*
 * The wait queue's describe(): what a blocked mempool_alloc() waits for,
 * for the deadlock/stall report.  Runs with sched->mu held, maybe on no
 * CPU: host locks and atomics only.
 */
static void pool_describe(const struct mmt_waitqueue *wq, char *buf, size_t len)
{
	struct mmt_mempool *pool = wq->owner;
	char holders[256] = "";
	size_t nr_out;

	pthread_mutex_lock(&pool->track_mu);
	nr_out = pool->nr_out;
	if (nr_out)
		describe_holders(pool, holders, sizeof(holders));
	pthread_mutex_unlock(&pool->track_mu);
	snprintf(buf, len,
		 "mempool %s: %d/%d elements in the pool, %zu out%s%s",
		 pool->name, curr_nr(pool), min_nr(pool), nr_out,
		 nr_out ? ": " : "", holders);
}

/* ---- poison ---- */

static unsigned char *poison_area(struct mmt_mempool *pool, void *elem)
{
	if (!pool->poison_len)
		return NULL;
	if (pool->poison_page)
		return mmt_page_address(elem);
	return elem;
}

static void poison_element(struct mmt_mempool *pool, void *elem)
{
	unsigned char *p = poison_area(pool, elem);

	if (p)
		memset(p, MMT_POISON_RESERVED, pool->poison_len);
}

/* @elem leaves the pool: it must still be all poison. */
static void check_element(struct mmt_mempool *pool, void *elem)
{
	const unsigned char *p = poison_area(pool, elem);
	size_t i, first, bad = 0;

	if (!p)
		return;
	first = _mmt_mem_first_not(p, MMT_POISON_RESERVED, pool->poison_len);
	if (MMT_LIKELY(first == pool->poison_len))
		return;
	/* Written: count what changed, for the report only. */
	for (i = first; i < pool->poison_len; i++)
		bad += p[i] != MMT_POISON_RESERVED;
	mmt_violation(
		pool->m, "mempool-poison",
		"mempool %s: element %p was written while in the pool: byte %zu "
		"is 0x%02x, not 0x%02x (%zu of %zu bytes changed)",
		pool->name, elem, first, p[first], MMT_POISON_RESERVED, bad,
		pool->poison_len);
}

/* ---- the reserve ---- */

/* Take an element from the pool, or NULL if it is empty. */
static void *remove_element(struct mmt_mempool *pool)
{
	unsigned long flags;
	void *elem = NULL;
	int n;

	mmt_spin_lock_irqsave(&pool->lock, flags);
	n = curr_nr(pool);
	if (n) {
		elem = pool->elements[--n];
		atomic_store_explicit(&pool->curr_nr, n, memory_order_relaxed);
	}
	mmt_spin_unlock_irqrestore(&pool->lock, flags);
	if (elem)
		check_element(pool, elem);
	return elem;
}

/*
 * Put @elem (poisoned by the caller) into the pool if it is below min_nr;
 * false if it is full.  Records the refill for the forward-progress oracle
 * when someone is waiting.
 */
static bool add_element(struct mmt_mempool *pool, void *elem)
{
	unsigned long flags;
	bool added = false;
	int n;

	mmt_spin_lock_irqsave(&pool->lock, flags);
	n = curr_nr(pool);
	if (n < min_nr(pool)) {
		pool->elements[n] = elem;
		atomic_store_explicit(&pool->curr_nr, n + 1,
				      memory_order_relaxed);
		if (pool->nr_waiters) {
			pool->refill_seq++;
			pool->refill_jiffy = mmt_jiffies(pool->m);
		}
		added = true;
	}
	mmt_spin_unlock_irqrestore(&pool->lock, flags);
	return added;
}

/*
 * Every call into the pool's alloc function.  @inner: an attempt of
 * mempool_alloc() (the create/resize fills are not).
 */
static void *call_alloc(struct mmt_mempool *pool, mmt_gfp_t gfp, bool inner)
{
	bool watch = inner &&
		     pool->m->cfg.mempool_policy == MMT_MEMPOOL_NO_RECLAIM;
	void *elem;

	if (MMT_UNLIKELY(watch && (gfp & __GFP_DIRECT_RECLAIM))) {
		char g[160];

		mmt_gfp_format(gfp, g, sizeof(g));
		mmt_violation(
			pool->m, "mempool-no-reclaim",
			"mempool %s: mempool_alloc called the alloc function with %s: "
			"__GFP_DIRECT_RECLAIM under the no-reclaim policy",
			pool->name, g);
	}
	MMT_TLS_SET(_mmt_noreclaim_depth, _mmt_noreclaim_depth + watch);
	elem = pool->alloc_fn(gfp, pool->pool_data);
	MMT_TLS_SET(_mmt_noreclaim_depth, _mmt_noreclaim_depth - watch);
	if (inner) {
		count(&pool->st.alloc_fn_calls);
		if (elem)
			count(&pool->st.alloc_fn_ok);
	}
	return elem;
}

/* mempool_alloc() hands @elem to the current task. */
static void *hand_out(struct mmt_mempool *pool, void *elem, bool from_pool)
{
	if (from_pool)
		count(&pool->st.from_pool);
	pthread_mutex_lock(&pool->track_mu);
	out_insert(pool, elem, mmt_current_task());
	pthread_mutex_unlock(&pool->track_mu);
	return elem;
}

static bool pool_has_element(void *arg)
{
	return curr_nr(arg) > 0;
}

/*
 * Sleep until an element is freed to the pool or 5 s pass.  False when
 * mempool_alloc() must give up: the machine is deadlocked or stalled, the
 * kthread is being stopped, or the context cannot sleep (reported by
 * might_sleep or the scheduler).
 */
static bool wait_for_element(struct mmt_mempool *pool)
{
	struct mmt_machine *m = pool->m;
	enum mmt_wait_result res;
	unsigned long flags;
	uint64_t seq, deadline, refill_jiffy = 0;
	long remaining = 0;
	bool lost;
	int n = 0;

	mmt_spin_lock_irqsave(&pool->lock, flags);
	pool->nr_waiters++;
	seq = pool->refill_seq;
	mmt_spin_unlock_irqrestore(&pool->lock, flags);
	deadline = mmt_jiffies(m) + MEMPOOL_WAIT_JIFFIES;
	count(&pool->st.waits);

	res = mmt_wait_event_timeout(&pool->wait, pool_has_element, pool,
				     MEMPOOL_WAIT_JIFFIES, &remaining);

	mmt_spin_lock_irqsave(&pool->lock, flags);
	pool->nr_waiters--;
	/*
	 * The full timeout ran although an element was put into the pool
	 * before the deadline and nobody has taken it: this waiter was never
	 * woken for it.
	 */
	lost = remaining == 0 && pool->refill_seq != seq &&
	       pool->refill_jiffy < deadline && curr_nr(pool) > 0;
	if (lost) {
		refill_jiffy = pool->refill_jiffy;
		n = curr_nr(pool);
	}
	mmt_spin_unlock_irqrestore(&pool->lock, flags);
	if (remaining == 0)
		count(&pool->st.wait_timeouts);
	if (MMT_UNLIKELY(lost))
		mmt_violation(
			m, "mempool-forward-progress",
			"mempool %s: task %s waited the full %d jiffies although an "
			"element was freed to the pool at jiffy %llu (deadline %llu) "
			"and %d are still there",
			pool->name, mmt_task_name(mmt_current_task()),
			MEMPOOL_WAIT_JIFFIES, (unsigned long long)refill_jiffy,
			(unsigned long long)deadline, n);
	switch (res) {
	case MMT_WAIT_DONE:
		return true;
	case MMT_WAIT_TIMEOUT:
		/* Time left: it never slept (atomic context, locks held). */
		return remaining == 0;
	default:
		return false;
	}
}

/* ---- the API ---- */

void *mmt_mempool_alloc(struct mmt_mempool *pool, mmt_gfp_t gfp_mask)
{
	struct mmt_machine *m = pool->m;
	enum mmt_mempool_policy policy = m->cfg.mempool_policy;
	bool pool_first = policy == MMT_MEMPOOL_POOL_FIRST;
	/* kernel-2016 retries the allocator with the caller's mask. */
	bool full_retry = policy == MMT_MEMPOOL_KERNEL_2016 ||
			  mmt_bug_on(m, MMT_BUG_MEMPOOL_RETRY_RECLAIM);
	mmt_gfp_t gfp_temp;
	void *elem;

	if (gfp_mask & __GFP_DIRECT_RECLAIM)
		mmt_might_sleep();
	/* The pool is the reserve: inner attempts neither dig nor insist. */
	gfp_mask |= __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN;
	gfp_temp = gfp_mask & ~(__GFP_DIRECT_RECLAIM | __GFP_IO);

	for (;;) {
		if (pool_first && (elem = remove_element(pool)))
			return hand_out(pool, elem, true);
		elem = call_alloc(pool, gfp_temp, true);
		if (MMT_LIKELY(elem))
			return hand_out(pool, elem, false);
		if (!pool_first && (elem = remove_element(pool)))
			return hand_out(pool, elem, true);
		/* A caller that cannot sleep gets NULL, never a wait. */
		if (!(gfp_mask & __GFP_DIRECT_RECLAIM))
			break;
		if (full_retry && gfp_temp != gfp_mask) {
			/* Seed 001: may reclaim and be throttled. */
			mmt_bug_hit(m, MMT_BUG_MEMPOOL_RETRY_RECLAIM,
				    policy != MMT_MEMPOOL_KERNEL_2016);
			gfp_temp = gfp_mask;
			continue;
		}
		if (!wait_for_element(pool))
			break;
	}
	count(&pool->st.nulls);
	return NULL;
}

void mmt_mempool_free(void *element, struct mmt_mempool *pool)
{
	bool ours, wake = true;

	if (MMT_UNLIKELY(!element))
		return;
	pthread_mutex_lock(&pool->track_mu);
	ours = out_remove(pool, element) || pool->untracked;
	pthread_mutex_unlock(&pool->track_mu);
	if (MMT_UNLIKELY(!ours)) {
		/* Neither back in the pool nor freed: it may be in use. */
		mmt_violation(
			pool->m, "mempool-accounting",
			"mempool %s: mempool_free of %p, which the pool has not handed "
			"out (freed twice, or from another pool)",
			pool->name, element);
		return;
	}
	/*
	 * Racy look first, as the kernel's READ_ONCE(curr_nr): a full pool
	 * costs no lock and no poisoning; add_element decides under the lock.
	 */
	if (curr_nr(pool) < min_nr(pool)) {
		/*
		 * The wake-up pairs with the waiter's queueing before it
		 * re-checks curr_nr (wait_for_element): the element must be
		 * in the pool before the waker looks for waiters.  The bug
		 * looks first, here, and so skips the wake-up of a waiter
		 * that queues itself between this look and add_element().
		 */
		if (mmt_bug_on(pool->m, MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP))
			wake = mmt_waitqueue_active(&pool->wait);
		poison_element(pool, element);
		if (add_element(pool, element)) {
			count(&pool->st.refills);
			if (MMT_LIKELY(wake))
				mmt_wake_up(&pool->wait);
			else
				mmt_bug_hit(pool->m,
					    MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP,
					    mmt_waitqueue_active(&pool->wait));
			return;
		}
	}
	count(&pool->st.freed);
	pool->free_fn(element, pool->pool_data);
}

/* Give back every pooled element (destroy, failed create). */
static void drain_pool(struct mmt_mempool *pool)
{
	void *elem;

	while ((elem = remove_element(pool)))
		pool->free_fn(elem, pool->pool_data);
}

static void pool_release(struct mmt_mempool *pool)
{
	struct mmt_mempool_state *ms = pool->m->mempool;

	pthread_mutex_lock(&ms->mu);
	if (pool->prev)
		pool->prev->next = pool->next;
	else
		ms->pools = pool->next;
	if (pool->next)
		pool->next->prev = pool->prev;
	pthread_mutex_unlock(&ms->mu);
	mmt_waitqueue_destroy(&pool->wait);
	pthread_mutex_destroy(&pool->track_mu);
	free(pool->out);
	free(pool->elements);
	free(pool);
}

static void stats_of(struct mmt_mempool *pool, struct mmt_mempool_stats *o)
{
	const struct counters *c = &pool->st;

	o->alloc_fn_calls = atomic_load(&c->alloc_fn_calls);
	o->alloc_fn_ok = atomic_load(&c->alloc_fn_ok);
	o->from_pool = atomic_load(&c->from_pool);
	o->waits = atomic_load(&c->waits);
	o->wait_timeouts = atomic_load(&c->wait_timeouts);
	o->nulls = atomic_load(&c->nulls);
	o->refills = atomic_load(&c->refills);
	o->freed = atomic_load(&c->freed);
	pthread_mutex_lock(&pool->track_mu);
	o->out = (long)pool->nr_out;
	pthread_mutex_unlock(&pool->track_mu);
}

static void stats_add(struct mmt_mempool_stats *to,
		      const struct mmt_mempool_stats *s)
{
	to->alloc_fn_calls += s->alloc_fn_calls;
	to->alloc_fn_ok += s->alloc_fn_ok;
	to->from_pool += s->from_pool;
	to->waits += s->waits;
	to->wait_timeouts += s->wait_timeouts;
	to->nulls += s->nulls;
	to->refills += s->refills;
	to->freed += s->freed;
	to->out += s->out;
}

void mmt_mempool_destroy(struct mmt_mempool *pool)
{
	struct mmt_mempool_state *ms;
	struct mmt_mempool_stats s;
	char holders[256] = "";
	size_t nr_out;

	if (!pool)
		return;
	ms = pool->m->mempool;
	pthread_mutex_lock(&pool->track_mu);
	nr_out = pool->nr_out;
	if (nr_out)
		describe_holders(pool, holders, sizeof(holders));
	pthread_mutex_unlock(&pool->track_mu);
	if (MMT_UNLIKELY(nr_out))
		mmt_violation(pool->m, "mempool-accounting",
			      "mempool_destroy(%s) with %zu element(s) out: %s",
			      pool->name, nr_out, holders);
	drain_pool(pool);
	stats_of(pool, &s);
	pthread_mutex_lock(&ms->mu);
	stats_add(&ms->retired, &s);
	pthread_mutex_unlock(&ms->mu);
	pool_release(pool);
}

/*
 * The common constructor.  @poison_len bytes are poisoned at the element
 * (or at its page when @poison_page).
 */
static struct mmt_mempool *
pool_create(const char *name, int min_nr_, mmt_mempool_alloc_fn alloc_fn,
	    mmt_mempool_free_fn free_fn, void *pool_data, size_t poison_len,
	    bool poison_page, mmt_gfp_t gfp, int node)
{
	struct mmt_machine *m = _mmt_cpu_or_report(MMT_SITE)->m;
	struct mmt_mempool_state *ms = m->mempool;
	struct mmt_mempool *pool;

	if (gfp & __GFP_DIRECT_RECLAIM)
		mmt_might_sleep();
	if (min_nr_ < 0 || !alloc_fn || !free_fn)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->cap = min_nr_ ? min_nr_ : 1;
	pool->elements = calloc((size_t)pool->cap, sizeof(void *));
	if (!pool->elements) {
		free(pool);
		return NULL;
	}
	pool->m = m;
	snprintf(pool->name, sizeof(pool->name), "%s", name ? name : "?");
	pool->alloc_fn = alloc_fn;
	pool->free_fn = free_fn;
	pool->pool_data = pool_data;
	pool->node = node;
	pool->poison_len = poison_len;
	pool->poison_page = poison_page;
	mmt_spin_lock_init(&pool->lock, &mempool_lock_class);
	atomic_init(&pool->min_nr, min_nr_);
	atomic_init(&pool->curr_nr, 0);
	mmt_waitqueue_init(&pool->wait, "pool->wait");
	pool->wait.describe = pool_describe;
	pool->wait.owner = pool;
	pthread_mutex_init(&pool->track_mu, NULL);

	pthread_mutex_lock(&ms->mu);
	pool->next = ms->pools;
	if (pool->next)
		pool->next->prev = pool;
	ms->pools = pool;
	pthread_mutex_unlock(&ms->mu);

	while (curr_nr(pool) < min_nr_) {
		void *elem = call_alloc(pool, gfp, false);

		if (!elem) {
			drain_pool(pool);
			pool_release(pool);
			return NULL;
		}
		poison_element(pool, elem);
		add_element(pool, elem);
	}
	return pool;
}

struct mmt_mempool *mmt_mempool_create_node(const char *name, int min_nr_,
					    mmt_mempool_alloc_fn alloc_fn,
					    mmt_mempool_free_fn free_fn,
					    void *pool_data, size_t elem_size,
					    mmt_gfp_t gfp, int node)
{
	return pool_create(name, min_nr_, alloc_fn, free_fn, pool_data,
			   elem_size, false, gfp, node);
}

struct mmt_mempool *mmt_mempool_create(const char *name, int min_nr_,
				       mmt_mempool_alloc_fn alloc_fn,
				       mmt_mempool_free_fn free_fn,
				       void *pool_data, size_t elem_size)
{
	return pool_create(name, min_nr_, alloc_fn, free_fn, pool_data,
			   elem_size, false, GFP_KERNEL, -1);
}

/* ---- helper pools: slab objects, kmalloc, pages ---- */

static void *alloc_slab(mmt_gfp_t gfp, void *cache)
{
	return mmt_kmem_cache_alloc(cache, gfp);
}

static void free_slab(void *elem, void *cache)
{
	mmt_kmem_cache_free(cache, elem);
}

static void *alloc_kmalloc(mmt_gfp_t gfp, void *size)
{
	return mmt_kmalloc((size_t)(uintptr_t)size, gfp);
}

static void free_kmalloc(void *elem, void *size)
{
	(void)size;
	mmt_kfree(elem);
}

/* Elements are struct mmt_page *, as the kernel's are struct page *. */
static void *alloc_pages(mmt_gfp_t gfp, void *order)
{
	return mmt_alloc_pages(gfp, (unsigned int)(uintptr_t)order);
}

static void free_pages(void *page, void *order)
{
	mmt_free_pages(page, (unsigned int)(uintptr_t)order);
}

struct mmt_mempool *mmt_mempool_create_slab_pool(const char *name, int min_nr_,
						 struct mmt_kmem_cache *cache)
{
	return pool_create(name, min_nr_, alloc_slab, free_slab, cache,
			   mmt_kmem_cache_size(cache), false, GFP_KERNEL, -1);
}

struct mmt_mempool *mmt_mempool_create_kmalloc_pool(const char *name,
						    int min_nr_, size_t size)
{
	return pool_create(name, min_nr_, alloc_kmalloc, free_kmalloc,
			   (void *)(uintptr_t)size, size, false, GFP_KERNEL,
			   -1);
}

/*
 * Page pools poison the page contents (the descriptor is the allocator's):
 * a pooled ciphertext page written after its free is caught.
 */
struct mmt_mempool *mmt_mempool_create_page_pool(const char *name, int min_nr_,
						 unsigned int order)
{
	if (order >= MMT_MAX_ORDER)
		return NULL;
	return pool_create(name, min_nr_, alloc_pages, free_pages,
			   (void *)(uintptr_t)order, MMT_PAGE_SIZE << order,
			   true, GFP_KERNEL, -1);
}

/* ---- resize and queries ---- */

int mmt_mempool_resize(struct mmt_mempool *pool, int new_min_nr)
{
	unsigned long flags;
	void **nelems;
	void *elem;

	mmt_might_sleep();
	if (new_min_nr < 1)
		return -1;
	mmt_spin_lock_irqsave(&pool->lock, flags);
	if (new_min_nr <= min_nr(pool)) {
		/* Shrink: the surplus goes back to the allocator. */
		while (curr_nr(pool) > new_min_nr) {
			int n = curr_nr(pool) - 1;

			elem = pool->elements[n];
			atomic_store_explicit(&pool->curr_nr, n,
					      memory_order_relaxed);
			mmt_spin_unlock_irqrestore(&pool->lock, flags);
			check_element(pool, elem);
			count(&pool->st.freed);
			pool->free_fn(elem, pool->pool_data);
			mmt_spin_lock_irqsave(&pool->lock, flags);
		}
		atomic_store_explicit(&pool->min_nr, new_min_nr,
				      memory_order_relaxed);
		mmt_spin_unlock_irqrestore(&pool->lock, flags);
		return 0;
	}
	mmt_spin_unlock_irqrestore(&pool->lock, flags);

	/* Grow: the new array is allocated without the lock (it may sleep). */
	nelems = calloc((size_t)new_min_nr, sizeof(void *));
	if (!nelems)
		return -1;
	mmt_spin_lock_irqsave(&pool->lock, flags);
	if (new_min_nr <= min_nr(pool)) {
		/* A concurrent resize grew it further: nothing to do. */
		mmt_spin_unlock_irqrestore(&pool->lock, flags);
		free(nelems);
		return 0;
	}
	memcpy(nelems, pool->elements, (size_t)curr_nr(pool) * sizeof(void *));
	free(pool->elements);
	pool->elements = nelems;
	pool->cap = new_min_nr;
	atomic_store_explicit(&pool->min_nr, new_min_nr, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&pool->lock, flags);

	/*
	 * Fill outside the lock.  As in the kernel, a failed allocation here
	 * is not an error: the pool stays below min_nr and mempool_free()
	 * refills it.
	 */
	while (curr_nr(pool) < min_nr(pool)) {
		elem = call_alloc(pool, GFP_KERNEL, false);
		if (!elem)
			break;
		poison_element(pool, elem);
		if (!add_element(pool, elem)) {
			pool->free_fn(elem, pool->pool_data);
			break;
		}
		mmt_wake_up(&pool->wait);
	}
	return 0;
}

int mmt_mempool_curr_nr(const struct mmt_mempool *pool)
{
	return curr_nr(pool);
}

int mmt_mempool_min_nr(const struct mmt_mempool *pool)
{
	return min_nr(pool);
}

const char *mmt_mempool_name(const struct mmt_mempool *pool)
{
	return pool->name;
}

void mmt_mempool_stats(struct mmt_mempool *pool, struct mmt_mempool_stats *out)
{
	stats_of(pool, out);
}

void mmt_mempool_machine_stats(struct mmt_machine *m,
			       struct mmt_mempool_stats *out)
{
	struct mmt_mempool_state *ms = m->mempool;
	struct mmt_mempool *pool;

	pthread_mutex_lock(&ms->mu);
	*out = ms->retired;
	for (pool = ms->pools; pool; pool = pool->next) {
		struct mmt_mempool_stats s;

		stats_of(pool, &s);
		stats_add(out, &s);
	}
	pthread_mutex_unlock(&ms->mu);
}

static const char *const policy_names[MMT_NR_MEMPOOL_POLICIES] = {
	[MMT_MEMPOOL_KERNEL_2016] = "kernel-2016",
	[MMT_MEMPOOL_NO_RECLAIM] = "no-reclaim",
	[MMT_MEMPOOL_POOL_FIRST] = "pool-first",
};

const char *mmt_mempool_policy_name(enum mmt_mempool_policy p)
{
	return (unsigned int)p < MMT_NR_MEMPOOL_POLICIES ? policy_names[p] :
							   "?";
}

bool mmt_mempool_policy_parse(const char *name, enum mmt_mempool_policy *out)
{
	int p;

	for (p = 0; name && p < MMT_NR_MEMPOOL_POLICIES; p++) {
		if (!strcmp(name, policy_names[p])) {
			*out = (enum mmt_mempool_policy)p;
			return true;
		}
	}
	return false;
}

/* ---- set-up ---- */

int _mmt_mempool_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_mempool_state *ms = calloc(1, sizeof(*ms));

	if (!ms) {
		snprintf(err, errlen, "out of host memory for the mempools");
		return -1;
	}
	pthread_mutex_init(&ms->mu, NULL);
	m->mempool = ms;
	return 0;
}

/*
 * Pools still alive at machine teardown are forgotten, host memory only:
 * the thread is on no CPU, so their elements cannot be given back (the
 * slab layer's teardown reports them as leaks).
 */
void _mmt_mempool_destroy(struct mmt_machine *m)
{
	struct mmt_mempool_state *ms = m->mempool;
	struct mmt_mempool *pool, *next;

	if (!ms)
		return;
	for (pool = ms->pools; pool; pool = next) {
		next = pool->next;
		mmt_waitqueue_destroy(&pool->wait);
		pthread_mutex_destroy(&pool->track_mu);
		free(pool->out);
		free(pool->elements);
		free(pool);
	}
	pthread_mutex_destroy(&ms->mu);
	free(ms);
	m->mempool = NULL;
}
