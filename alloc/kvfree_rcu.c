/* SPDX-License-Identifier: MIT */
/*
 * alloc/kvfree_rcu.c - kvfree_rcu(ptr) and kvfree_rcu(ptr, head): per-cpu
 * blocks of pointers freed in bulk after a grace period (seed 002).
 *
 * What it models: the kernel's kfree_rcu batching (kernel/rcu/tree.c,
 * later mm/slab_common.c), from the seed's description, not from its code.
 * Each CPU has a "krcp": a raw spinlock (krcp->lock, raw_spinlock_t in the
 * kernel so that kvfree_rcu() works under other raw locks and on RT) and a
 * list of blocks.  A block is one page from the page allocator: a header
 * {next, nr, gp_seq} and an array of pointers filling the rest of the page.
 *
 * Algorithm.
 *  - kvfree_rcu(): take krcp->lock (irqsave) of this CPU and put the pointer
 *    in the newest block if it has room and waits for the same grace period
 *    the pointer must wait for (gp_started + 1, read under the lock); else
 *    open a new block.  All pointers of a block therefore share its gp_seq,
 *    and a block stops filling as soon as a grace period starts: it is then
 *    "in flight" and a newer pointer would need the next one.
 *  - A new block's page:
 *      cfg.kvfree_rcu_fast_try: __GFP_FAST_TRY|__GFP_NOWARN under the raw
 *        lock - the seed's proposal: per-cpu lists only, trylock only, never
 *        zone->lock, so lockdep-valid under raw locks and on PREEMPT_RT;
 *      otherwise: the kernel's later approach - drop krcp->lock, allocate
 *        with GFP_NOWAIT|__GFP_NOWARN (which may take zone->lock through
 *        rmqueue_bulk when the per-cpu list is empty), retake the lock on
 *        whatever CPU we are then, and re-check.
 *    Bug MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW is what the seed fixes:
 *    GFP_NOWAIT while holding the raw lock; with rt_rules or
 *    prove_raw_lock_nesting lockdep reports "invalid-wait-context" when the
 *    refill takes zone->lock.
 *  - The one-argument form is might_sleep() in every call, whether or not
 *    a block has room (the kernel's kvfree_call_rcu() with no head).
 *  - No block: the one-argument form falls back to synchronize_rcu() and
 *    kfree() (after dropping the lock: it sleeps), the two-argument form to
 *    call_rcu() on the embedded head.  The head's callback finds the object
 *    from the head's own address (the slab slot containing it, or the head
 *    page of a large kmalloc), validated at queue time to lie inside the
 *    object: struct mmt_rcu_head has no spare word for an offset, and this is
 *    what kfree() itself can do with an interior pointer.
 *  - slab=sheaves (kernel 6.18): an object of a cache with sheaves goes
 *    into this CPU's rcu_free sheaf instead (rcu_sheaf_add(), without RT
 *    rules); a full sheaf goes to call_rcu() whole, and after the grace
 *    period _mmt_kvfree_rcu_sheaf_done() frees its objects through the
 *    same oracle; kvfree_rcu_barrier() first hands every partly filled
 *    rcu_free sheaf to call_rcu() (_mmt_kvfree_rcu_flush_sheaves()).
 *  - After each grace-period step that ended a grace period, rcu.c calls
 *    _mmt_kvfree_rcu_step(): per CPU, the blocks whose gp_seq is complete
 *    are detached under krcp->lock; outside it their pointers go to
 *    kfree_bulk() and the block page back to the page allocator.
 *    Bug MMT_BUG_KVFREE_RCU_BLOCK_LEAK keeps the page of a block whose
 *    pointers it freed (a leak no inline check sees: the interpreter's
 *    teardown-leak oracle counts the zone's pages after everything went).
 *    Bug MMT_BUG_KVFREE_RCU_EARLY_FREE frees every block at the first step
 *    after it was queued, complete or not.
 *
 * The oracle ("rcu-early-free") is independent of the freeing logic: at
 * kvfree_rcu() time a per-machine table records, per pointer, the grace
 * period it must wait for (its own snapshot); just before the pointer is
 * really kfree()d - by a block, by the synchronous fallback or by the head
 * callback - the table is consulted and gp_completed compared.
 *
 * Bad pointers ("kvfree-rcu-bad-pointer", then ignored): not memory of this
 * machine, not the start of a slab object, not the head page of a large
 * kmalloc (a compound allocation), or a head outside the object.
 *
 * Invariants: every queued pointer is in exactly one of: a block, a queued
 * head, a synchronous fallback in progress; nr_ptrs per CPU counts the
 * pointers of its blocks until they are freed; nothing is freed before
 * gp_completed reaches the grace period recorded for it.
 *
 * Lock order: krcp->lock (raw) -> pcp->lock (trylock) [-> zone->lock only
 * with the injected bug].  krcp->lock is a leaf otherwise: nothing is freed
 * under it.  The oracle's pthread mutex is infrastructure, a leaf, never
 * held across a model call.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rcu_internal.h"
#include "slab.h"

#define ZERO_SIZE_PTR ((void *)16) /* kmalloc(0), as slab_common.c */

struct krc {
	mmt_raw_spinlock_t lock; /* krcp->lock: blocks list */
	struct mmt_kv_block *head; /* newest first; head is the one filling */
	/* pointers in blocks, not yet freed (atomic: reclaimers subtract) */
	_Atomic long nr_ptrs;
	char pad[64 - sizeof(mmt_raw_spinlock_t) - sizeof(void *) -
		 sizeof(long)];
};

struct oracle_ent {
	const void *ptr; /* NULL: empty slot */
	uint64_t gp;
};

struct mmt_kvfree_state {
	struct krc *krcs; /* [nr_cpus] */
	/* pointers in the fallbacks: queued heads, synchronous frees */
	_Atomic long nr_fallback;
	/* pointers in rcu_free sheaves (slab=sheaves), not yet freed */
	_Atomic long nr_sheaf;
	/*
	 * kvfree_rcu_barrier()'s view of the free steps: the completed grace
	 * period the last finished step looked at, and the steps under way.
	 */
	_Atomic uint64_t freed_upto;
	_Atomic int steps_running;
	/* the rcu-early-free oracle: open addressing, linear probing */
	pthread_mutex_t oracle_mu;
	struct oracle_ent *tab;
	size_t cap, nr; /* cap a power of two */
};

static MMT_LOCK_CLASS(krcp_lock_class, "krcp->lock", MMT_LOCK_RAW_SPIN);

static inline struct mmt_cpu *cur_cpu(void)
{
	return _mmt_cpu_or_report(MMT_SITE);
}

/* ---- the oracle ---- */

static size_t oracle_hash(const void *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(x >> 20) & (cap - 1);
}

static bool oracle_grow(struct mmt_kvfree_state *ks)
{
	size_t cap = ks->cap ? ks->cap * 2 : 256, i, j;
	struct oracle_ent *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (i = 0; i < ks->cap; i++) {
		if (!ks->tab[i].ptr)
			continue;
		for (j = oracle_hash(ks->tab[i].ptr, cap); t[j].ptr;
		     j = (j + 1) & (cap - 1))
			;
		t[j] = ks->tab[i];
	}
	free(ks->tab);
	ks->tab = t;
	ks->cap = cap;
	return true;
}

/* Record that @ptr may not be freed before grace period @gp completes. */
static void oracle_record(struct mmt_kvfree_state *ks, const void *ptr,
			  uint64_t gp)
{
	size_t j;

	pthread_mutex_lock(&ks->oracle_mu);
	if ((ks->nr + 1) * 2 > ks->cap && !oracle_grow(ks)) {
		pthread_mutex_unlock(&ks->oracle_mu); /* host OOM: no oracle */
		return;
	}
	/* A pointer queued twice keeps two entries (a double free later). */
	for (j = oracle_hash(ptr, ks->cap); ks->tab[j].ptr;
	     j = (j + 1) & (ks->cap - 1))
		;
	ks->tab[j].ptr = ptr;
	ks->tab[j].gp = gp;
	ks->nr++;
	pthread_mutex_unlock(&ks->oracle_mu);
}

/* Remove @ptr's entry; its grace period, or 0 if it has none. */
static uint64_t oracle_take(struct mmt_kvfree_state *ks, const void *ptr)
{
	size_t j, k, mask;
	uint64_t gp = 0;

	pthread_mutex_lock(&ks->oracle_mu);
	mask = ks->cap - 1;
	for (j = ks->cap ? oracle_hash(ptr, ks->cap) : 0;
	     ks->cap && ks->tab[j].ptr; j = (j + 1) & mask) {
		if (ks->tab[j].ptr != ptr)
			continue;
		gp = ks->tab[j].gp;
		/* Backward-shift deletion keeps probe chains unbroken. */
		for (k = (j + 1) & mask; ks->tab[k].ptr; k = (k + 1) & mask) {
			size_t h = oracle_hash(ks->tab[k].ptr, ks->cap);

			/* move k to j unless its home lies in (j, k] */
			if (((k - h) & mask) >= ((k - j) & mask)) {
				ks->tab[j] = ks->tab[k];
				j = k;
			}
		}
		ks->tab[j].ptr = NULL;
		ks->nr--;
		break;
	}
	pthread_mutex_unlock(&ks->oracle_mu);
	return gp;
}

/* The pointer is about to be kfree()d: was its grace period complete? */
static void oracle_check_free(struct mmt_machine *m, const void *ptr,
			      const char *how)
{
	uint64_t gp = oracle_take(m->rcu->kv, ptr);
	uint64_t done = _mmt_rcu_completed(m->rcu);

	if (MMT_UNLIKELY(gp > done))
		mmt_violation(
			m, "rcu-early-free",
			"%s frees %p, queued by kvfree_rcu() for grace period %llu, "
			"while only %llu grace period(s) have completed: readers may still use it",
			how, ptr, (unsigned long long)gp,
			(unsigned long long)done);
}

/* ---- pointers ---- */

/*
 * Can kfree() free @ptr?  The start of a slab object, or the head page of
 * a large kmalloc (a compound allocation).  *size: the usable bytes.
 */
static bool kfreeable(struct mmt_machine *m, const void *ptr, size_t *size,
		      const char *op)
{
	struct mmt_page *page = mmt_virt_to_page(m, ptr);
	struct mmt_page *slab;
	const char *why;

	if (!page) {
		why = "not memory of this machine";
	} else if ((slab = _mmt_virt_to_slab(m, ptr))) {
		struct mmt_kmem_cache *s = slab_meta(slab)->cache;
		const char *base = _mmt_slab_base(slab);
		const char *slot = (const char *)ptr - s->red_left_pad;

		if (slot >= base && (size_t)(slot - base) % s->size == 0 &&
		    slot_index(s, base, slot) < slab_objects(s, slab)) {
			*size = s->object_size;
			return true;
		}
		why = "inside a slab object, not its start";
	} else if ((pg_flags(page) & (MMT_PG_HEAD | MMT_PG_ALLOCATED)) ==
			   (MMT_PG_HEAD | MMT_PG_ALLOCATED) &&
		   ptr == mmt_page_address(page)) {
		*size = MMT_PAGE_SIZE << pg_order(page);
		return true;
	} else {
		why = "neither a slab object nor the head of a large kmalloc";
	}
	return mmt_violation(m, "kvfree-rcu-bad-pointer", "%s(%p): %s", op, ptr,
			     why);
}

/* The object (as kmalloc returned it) containing @addr; validated before. */
static void *object_of(struct mmt_machine *m, const void *addr)
{
	struct mmt_page *page = _mmt_virt_to_slab(m, addr);

	if (page) {
		struct mmt_kmem_cache *s = slab_meta(page)->cache;
		char *base = _mmt_slab_base(page);
		unsigned int idx = slot_index(
			s, base, (const char *)addr - s->red_left_pad);

		return (char *)slot_at(s, base, idx) + s->red_left_pad;
	}
	page = mmt_virt_to_page(m, addr);
	if (pg_flags(page) & MMT_PG_TAIL)
		page = mmt_pfn_to_page(m, pg_head(m, page));
	return mmt_page_address(page);
}

/* ---- blocks ---- */

static inline struct krc *this_krc(struct mmt_kvfree_state *ks)
{
	return &ks->krcs[cur_cpu()->id];
}

/*
 * A page for a new block; *krcp is locked on entry and on return (maybe
 * another CPU's krcp: the lock may have been dropped).
 */
static struct mmt_kv_block *block_page(struct mmt_machine *m, struct krc **krcp,
				       unsigned long *flags)
{
	struct mmt_page *page;

	if (mmt_bug_on(m, MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW)) {
		/* The seed's problem: zone->lock (spinlock_t) under a raw lock. */
		mmt_bug_hit(m, MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW, true);
		page = mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0);
	} else if (m->cfg.kvfree_rcu_fast_try) {
		/* The seed's fix: never the zone lock, legal under raw locks. */
		page = mmt_alloc_pages(__GFP_FAST_TRY | __GFP_NOWARN, 0);
	} else {
		/* The kernel's later way: allocate with the raw lock dropped. */
		mmt_raw_spin_unlock_irqrestore(&(*krcp)->lock, *flags);
		page = mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0);
		*krcp = this_krc(m->rcu->kv);
		mmt_raw_spin_lock_irqsave(&(*krcp)->lock, *flags);
	}
	return page ? mmt_page_address(page) : NULL;
}

/* Put @ptr in a block of this CPU; false if no block could be had. */
static bool add_ptr(struct mmt_machine *m, void *ptr)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct krc *krcp = this_krc(rs->kv);
	struct mmt_kv_block *b;
	unsigned long flags;
	uint64_t gp;

	mmt_raw_spin_lock_irqsave(&krcp->lock, flags);
	gp = _mmt_rcu_snap(rs);
	b = krcp->head;
	if (!b || b->nr == MMT_KV_BLOCK_CAP || b->gp_seq != gp) {
		b = block_page(m, &krcp, &flags);
		if (!b) {
			mmt_raw_spin_unlock_irqrestore(&krcp->lock, flags);
			return false;
		}
		/* The lock may have been dropped: a grace period may have begun. */
		gp = _mmt_rcu_snap(rs);
		b->nr = 0;
		b->cpu = (uint32_t)cur_cpu()->id;
		b->gp_seq = gp;
		b->next = krcp->head;
		krcp->head = b;
	}
	b->ptrs[b->nr++] = ptr;
	atomic_fetch_add_explicit(&krcp->nr_ptrs, 1, memory_order_relaxed);
	/* Before the kick that follows: the gp machine sees it wanted. */
	_mmt_rcu_kv_wants(rs, b->gp_seq);
	mmt_raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return true;
}

static void free_block(struct mmt_machine *m, struct krc *krcp,
		       struct mmt_kv_block *b)
{
	uint32_t i, nr = b->nr;

	for (i = 0; i < nr; i++)
		oracle_check_free(m, b->ptrs[i], "kvfree_rcu block");
	mmt_kfree_bulk(nr, b->ptrs);
	/* The injected leak keeps the page: only a teardown count sees it. */
	if (!mmt_bug_on(m, MMT_BUG_KVFREE_RCU_BLOCK_LEAK))
		mmt_free_pages(mmt_virt_to_page(m, b), 0);
	else
		mmt_bug_hit(m, MMT_BUG_KVFREE_RCU_BLOCK_LEAK, true);
	/* After the frees: rcu_barrier() waits until they are done. */
	atomic_fetch_sub_explicit(&krcp->nr_ptrs, (long)nr,
				  memory_order_relaxed);
}

unsigned long _mmt_kvfree_rcu_step(struct mmt_machine *m, bool gp_ended)
{
	struct mmt_kvfree_state *ks = m->rcu->kv;
	bool early = mmt_bug_on(m, MMT_BUG_KVFREE_RCU_EARLY_FREE);
	unsigned long freed = 0;
	uint64_t done;
	int c;

	if (!gp_ended && !early)
		return 0;
	/* Under way before reading done: see _mmt_kvfree_rcu_flushed(). */
	atomic_fetch_add_explicit(&ks->steps_running, 1, memory_order_seq_cst);
	done = _mmt_rcu_completed(m->rcu);
	for (c = 0; c < m->nr_cpus; c++) {
		struct krc *krcp = &ks->krcs[c];
		struct mmt_kv_block *ready = NULL, **pp, *b;
		unsigned long flags;

		if (!atomic_load_explicit(&krcp->nr_ptrs, memory_order_relaxed))
			continue;
		mmt_raw_spin_lock_irqsave(&krcp->lock, flags);
		for (pp = &krcp->head; (b = *pp);) {
			if (b->gp_seq <= done ||
			    mmt_bug_hit(m, MMT_BUG_KVFREE_RCU_EARLY_FREE,
					early)) {
				*pp = b->next;
				b->next = ready;
				ready = b;
			} else {
				pp = &b->next;
			}
		}
		mmt_raw_spin_unlock_irqrestore(&krcp->lock, flags);
		/* kfree_bulk() outside the raw lock: slab locks may sleep on RT. */
		for (; ready; ready = b) {
			b = ready->next;
			freed += ready->nr;
			free_block(m, krcp, ready);
		}
	}
	for (uint64_t upto = atomic_load(&ks->freed_upto);
	     upto < done &&
	     !atomic_compare_exchange_weak(&ks->freed_upto, &upto, done);)
		;
	atomic_fetch_sub_explicit(&ks->steps_running, 1, memory_order_seq_cst);
	_mmt_rcu_progress(m->rcu);
	return freed;
}

/*
 * A step that read gp_completed >= @gp detached every block waiting for
 * @gp or an older grace period (blocks opened later wait for a newer
 * one); once no step is under way, all it detached is freed.
 */
bool _mmt_kvfree_rcu_flushed(const struct mmt_machine *m, uint64_t gp)
{
	struct mmt_kvfree_state *ks = m->rcu->kv;
	long n = 0;
	int c;

	for (c = 0; c < m->nr_cpus; c++)
		n += atomic_load_explicit(&ks->krcs[c].nr_ptrs,
					  memory_order_seq_cst);
	if (!n)
		return true;
	return atomic_load_explicit(&ks->freed_upto, memory_order_seq_cst) >=
		       gp &&
	       !atomic_load_explicit(&ks->steps_running, memory_order_seq_cst);
}

/* ---- rcu_free sheaves (slab=sheaves, kernel 6.18) ---- */

/*
 * An object of a cache with sheaves goes into this CPU's rcu_free sheaf
 * (the implementation's ops->kvfree_rcu); a full sheaf waits for one
 * grace period as a whole.  The kernel takes this path only without
 * PREEMPT_RT (its local lock sleeps there, and kvfree_rcu may be called
 * under raw spinlocks); the model likewise keeps it off under RT rules
 * and raw-lock nesting proofs, where the krcp blocks serve as before.
 */
static bool rcu_sheaf_add(struct mmt_machine *m, void *ptr)
{
	struct mmt_page *slab;
	struct mmt_kmem_cache *s;

	if (m->cfg.rt_rules || m->cfg.prove_raw_lock_nesting)
		return false;
	slab = _mmt_virt_to_slab(m, ptr);
	if (!slab)
		return false;
	s = slab_meta(slab)->cache;
	if (!s->ops->kvfree_rcu)
		return false;
	atomic_fetch_add_explicit(&m->rcu->kv->nr_sheaf, 1,
				  memory_order_relaxed);
	if (s->ops->kvfree_rcu(s, ptr))
		return true;
	atomic_fetch_sub_explicit(&m->rcu->kv->nr_sheaf, 1,
				  memory_order_relaxed);
	return false;
}

void _mmt_kvfree_rcu_sheaf_done(struct mmt_machine *m, void *const *objs,
				unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		oracle_check_free(m, objs[i], "kvfree_rcu() rcu_free sheaf");
		mmt_kfree(objs[i]);
	}
	atomic_fetch_sub_explicit(&m->rcu->kv->nr_sheaf, (long)nr,
				  memory_order_relaxed);
}

static void flush_sheaves_of(struct mmt_kmem_cache *s, void *arg)
{
	(void)arg;
	if (s->ops->rcu_sheaf_flush)
		s->ops->rcu_sheaf_flush(s);
}

void _mmt_kvfree_rcu_flush_sheaves(struct mmt_machine *m)
{
	if (m->slab && atomic_load_explicit(&m->rcu->kv->nr_sheaf,
					    memory_order_relaxed))
		_mmt_for_each_cache(m, flush_sheaves_of, NULL);
}

/* ---- the API ---- */

static void free_fallback(struct mmt_machine *m, void *obj, const char *how)
{
	oracle_check_free(m, obj, how);
	mmt_kfree(obj);
	atomic_fetch_sub_explicit(&m->rcu->kv->nr_fallback, 1,
				  memory_order_relaxed);
}

void mmt_kvfree_rcu(void *ptr)
{
	struct mmt_machine *m;
	size_t size;

	if (!ptr)
		return;
	/*
	 * kvfree_rcu_mightsleep(): the head-less form may have to wait for a
	 * grace period, so every call is might_sleep(), block at hand or not
	 * (kvfree_call_rcu() with no head), the kernel's rule for its users.
	 */
	_mmt_might_sleep(MMT_SITE);
	if (ptr == ZERO_SIZE_PTR)
		return;
	m = cur_cpu()->m;
	if (!kfreeable(m, ptr, &size, "kvfree_rcu"))
		return;
	oracle_record(m->rcu->kv, ptr, _mmt_rcu_snap(m->rcu));
	if (rcu_sheaf_add(m, ptr))
		return;
	if (MMT_LIKELY(add_ptr(m, ptr))) {
		_mmt_rcu_kick(m->rcu);
		return;
	}
	/* No block: wait here (the caller must be able to sleep). */
	atomic_fetch_add_explicit(&m->rcu->kv->nr_fallback, 1,
				  memory_order_relaxed);
	mmt_synchronize_rcu();
	free_fallback(cur_cpu()->m, ptr, "kvfree_rcu() synchronous fallback");
}

static void head_free_cb(struct mmt_rcu_head *head)
{
	struct mmt_machine *m = cur_cpu()->m;

	free_fallback(m, object_of(m, head), "kvfree_rcu() rcu_head callback");
}

void mmt_kvfree_rcu_head(void *ptr, struct mmt_rcu_head *head)
{
	struct mmt_machine *m;
	size_t size;

	if (!ptr || ptr == ZERO_SIZE_PTR)
		return;
	m = cur_cpu()->m;
	if (!kfreeable(m, ptr, &size, "kvfree_rcu"))
		return;
	if ((char *)head < (char *)ptr ||
	    (char *)head + sizeof(*head) > (char *)ptr + size) {
		mmt_violation(
			m, "kvfree-rcu-bad-pointer",
			"kvfree_rcu(%p, head %p): the head is not inside the %zu-byte object",
			ptr, (void *)head, size);
		return;
	}
	oracle_record(m->rcu->kv, ptr, _mmt_rcu_snap(m->rcu));
	if (rcu_sheaf_add(m, ptr))
		return;
	if (MMT_LIKELY(add_ptr(m, ptr))) {
		_mmt_rcu_kick(m->rcu);
		return;
	}
	/* No block: the embedded head, one callback per object. */
	atomic_fetch_add_explicit(&m->rcu->kv->nr_fallback, 1,
				  memory_order_relaxed);
	mmt_call_rcu(head, head_free_cb);
}

unsigned long mmt_kvfree_rcu_pending(const struct mmt_machine *m)
{
	struct mmt_kvfree_state *ks = m->rcu->kv;
	long n = atomic_load_explicit(&ks->nr_fallback, memory_order_relaxed) +
		 atomic_load_explicit(&ks->nr_sheaf, memory_order_relaxed);
	int c;

	for (c = 0; c < m->nr_cpus; c++)
		n += atomic_load_explicit(&ks->krcs[c].nr_ptrs,
					  memory_order_relaxed);
	return n > 0 ? (unsigned long)n : 0;
}

/* ---- set-up and teardown ---- */

int _mmt_kvfree_rcu_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_kvfree_state *ks = calloc(1, sizeof(*ks));
	int c;

	if (ks)
		ks->krcs = calloc((size_t)m->nr_cpus, sizeof(*ks->krcs));
	if (!ks || !ks->krcs) {
		free(ks);
		snprintf(err, errlen, "out of host memory for kvfree_rcu");
		return -1;
	}
	for (c = 0; c < m->nr_cpus; c++)
		mmt_raw_spin_lock_init(&ks->krcs[c].lock, &krcp_lock_class);
	pthread_mutex_init(&ks->oracle_mu, NULL);
	m->rcu->kv = ks;
	return 0;
}

void _mmt_kvfree_rcu_destroy(struct mmt_machine *m)
{
	struct mmt_kvfree_state *ks = m->rcu->kv;

	if (!ks)
		return;
	/* Blocks are arena pages: they go with the machine. */
	pthread_mutex_destroy(&ks->oracle_mu);
	free(ks->tab);
	free(ks->krcs);
	free(ks);
	m->rcu->kv = NULL;
}
