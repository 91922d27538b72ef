/* SPDX-License-Identifier: MIT */
/*
 * alloc/slab_array.c - SLAB, the array-cache object allocator (mm/slab.c),
 * with pfmemalloc handled as Joonsoo Kim's 2016 re-implementation describes
 * (seed 000).  Written from the documented behaviour, not from the kernel
 * source.  The common part (slab_common.c) owns the API and the checks; this
 * file only moves slots (see alloc/slab.h).
 *
 * Structures.
 *  - Per CPU and cache, an array_cache: a stack of free slot pointers
 *    {avail, limit, batchcount, touched, entry[]}.  limit by object size as
 *    the kernel sizes it (120 / 54 / 24 / 8 / 1 for <= 256, <= 1024,
 *    <= PAGE_SIZE, <= 128K, larger), batchcount (limit + 1) / 2.
 *  - Per node, a kmem_cache_node: list_lock, slabs_full / slabs_partial /
 *    slabs_free (linked by pfn through slab_meta->next/prev), free_objects
 *    (free slots in the node's slabs, not counting array caches),
 *    free_limit = (1 + cpus of the node) * batchcount + objects per slab,
 *    and a shared array_cache of 8 * batchcount entries (SMP, objects up to
 *    a page), protected by list_lock.
 *  - Per slab: slab_meta->state packs the active count (bits 0-15) and the
 *    head of the slab's freelist as slot index + 1 (bits 16-31, 0 = empty).
 *    The freelist is chained through the common part's (obfuscated) free
 *    pointers, as _mmt_slab_new() leaves it, so no host memory is needed
 *    per slab (slab_meta->impl stays NULL) and every pop is checked by
 *    _mmt_freeptr_ok().  state is written under list_lock only.
 *
 * Algorithm.
 *  - alloc: pop ac->entry[--avail] (no pfmemalloc check: under the
 *    re-implementation no pfmemalloc object is ever in an array cache).
 *    Empty: cache_alloc_refill moves batchcount objects (16 while the cache
 *    was not touched since the last refill, BATCHREFILL_LIMIT) from the
 *    shared array, else from the node's partial then free slabs, under
 *    list_lock.  Slabs from the reserves are skipped (get_valid_first_slab)
 *    unless the node has more than free_limit free objects, in which case
 *    the slab is no longer needed as a reserve and its pfmemalloc mark is
 *    cleared (the re-implementation's rule, which Mel Gorman found
 *    arbitrary; modelled as written).  Nothing: an entitled caller
 *    (_mmt_slab_pfmemalloc_ok) tries cache_alloc_pfmemalloc (one object
 *    under list_lock from any slab with free objects, pfmemalloc ones
 *    included): "non-pfmemalloc objects go first, even to entitled
 *    callers".  Then grow: a new slab from the page allocator, with the
 *    array-cache lock dropped (the allocation may reclaim and sleep, and
 *    may move the task to another CPU).  A slab of ordinary pages refills
 *    the array cache; a slab of reserve pages goes onto the node lists
 *    only, and an entitled caller takes one object from it there.
 *    The kernel looks at pfmemalloc slabs only while sk_memalloc_socks();
 *    the model's page allocator marks reserve pages whatever the sockets,
 *    so the model applies the rules whenever a slab is marked.
 *  - free: push onto the array cache; full: cache_flusharray moves
 *    batchcount objects to the shared array, or back to their slabs under
 *    list_lock (free_block), slabs moving between the lists; while the node
 *    then holds more than free_limit free objects, free slabs are destroyed.
 *    An object of a pfmemalloc slab goes straight back to its slab
 *    (cache_free_pfmemalloc), as does one of another node's slab (the
 *    kernel's alien-cache path, without the alien batching): every array
 *    cache and shared array holds only free objects of its own node's
 *    slabs that are not pfmemalloc.
 *  - Allocation for an explicit other node, and any allocation of a dead
 *    (memcg offline, mark_dead) cache whose array caches have limit 0,
 *    takes one object from the node's lists (alloc_one).
 *
 * The old design (seed 000, problems 1 and 3), a real code path: with
 * MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED or MMT_BUG_SLAB_PFMEMALLOC_LINGERS
 * on, a cache works as SLAB did before the re-implementation ("legacy"):
 * objects of pfmemalloc slabs DO enter array caches, tagged in bit 0 of the
 * entry (SLAB_OBJ_PFMEMALLOC), and the fast path looks at the tag only while
 * pfmemalloc_active is set, handing a tagged object to an entitled caller
 * and otherwise swapping in an untagged one (or taking one object from the
 * node when there is none).  pfmemalloc_active is machine-wide state, kept
 * in a small registry keyed by machine (struct pfm_machine, one reference
 * per legacy cache).  It is set when any cache makes a pfmemalloc slab and
 * rechecked when one goes away or loses its mark:
 *    correct: active while the machine-wide count of pfmemalloc slabs > 0;
 *    ACTIVE_CLEARED: recheck_pfmemalloc_active() looks at the lists of ONE
 *      cache's node and clears the machine-wide flag when that cache has no
 *      pfmemalloc slab, so another cache's tagged objects reach ordinary
 *      callers: the common part reports "pfmemalloc-isolation".
 * memalloc_socks_off drops pfmemalloc objects from every array cache and
 * shared array (the fix of problem 3); the LINGERS bug (common part) skips
 * it and the tagged objects stay where ordinary callers get them.
 * Without those bugs the re-implementation runs, and the tag never appears.
 *
 * Injected bugs of this file (seed 000 review):
 *  - PFMEMALLOC_FREE_LEAK: while sockets are on, free hands every object to
 *    cache_free_pfmemalloc, which drops objects of ordinary slabs: their
 *    slab keeps counting them active -> "slab-leak" (is_valid).
 *  - RACY_FREE_OBJECTS: cache_alloc_pfmemalloc reads n->free_objects
 *    without list_lock, as the reviewed patch did: a plain load (the
 *    kernel's field is a plain unsigned long), so ThreadSanitizer reports
 *    it as a data race against the list_lock holder's store, over fibers
 *    (the deterministic scheduler) and real threads alike, and the logic
 *    gives up on a stale zero; a preemption point sits between that read
 *    and the lock in both variants.  Every give-up of the pfmemalloc path
 *    re-checks under list_lock whether a pfmemalloc slab of the node has a
 *    free object, and reports "pfmemalloc-forward-progress" if so: the
 *    correct variant decides under the lock and can never trip it.
 *
 * Concurrency.  In the kernel an array cache is touched only by its CPU
 * with interrupts off, and other CPUs' caches are flushed by IPIs running
 * on the owner.  The model has no IPIs, and flushes (cpu offline, shrink,
 * memalloc sockets off, mark_dead) run on whichever thread asks, so each
 * array cache has its own model spinlock, "array_cache->lock", which the
 * owner takes with spin_lock_irqsave around every access (the irq-off
 * section of the kernel) and a remote flusher takes too.  The owner's
 * fast path pays one uncontended lock, as the page allocator's pcp->lock.
 * Two array-cache locks are never held at once.  Lockless readers (info,
 * dump) read avail and free_objects as relaxed atomics.
 *
 * Lock order: slab_mutex -> array_cache->lock -> kmem_cache_node->list_lock.
 * list_lock is taken with spin_lock under an array-cache lock (interrupts
 * already off) and with spin_lock_irqsave otherwise.  Never held across the
 * page allocator: growing runs with no lock; slabs to destroy are collected
 * on a chain and handed to _mmt_slab_discard() after every lock is dropped
 * and as the very last thing (the last slab of a dead cache may free the
 * cache).
 *
 * Invariants (is_valid, machine quiescent):
 *  - per slab: active + free = objects; no slot on two freelists or array
 *    caches ("slab-inuse");
 *  - a node's lists hold slabs of its node in the right state (full:
 *    active = objects, partial, free: active = 0) and free_objects is their
 *    free slots ("slab-node-partial");
 *  - array caches: avail <= limit, entries are free slots of the node's
 *    slabs, never of a pfmemalloc slab outside legacy mode
 *    ("slab-cpu-partial");
 *  - objects in use (sum of active minus array-cache entries) = the common
 *    part's live count ("slab-leak").
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "slab.h"

#define BATCHREFILL_LIMIT 16
#define SHARED_FACTOR 8
#define OBJ_PFMEMALLOC ((uintptr_t)1) /* legacy tag in an entry */

static MMT_LOCK_CLASS(ac_lock_class, "array_cache->lock", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(list_lock_class, "kmem_cache_node->list_lock",
		      MMT_LOCK_SPIN);

struct array_cache {
	mmt_spinlock_t lock; /* per-cpu caches only; shared: list_lock */
	_Atomic unsigned int avail; /* written under the lock */
	unsigned int limit, batchcount;
	bool touched;
	void *entry[];
};

struct kmem_node {
	mmt_spinlock_t list_lock;
	struct _mmt_slist full, partial, free;
	_Atomic long free_objects; /* written under list_lock */
	long free_limit;
	_Atomic long total_slabs;
	struct array_cache *shared;
	int nid;
};

/* Machine-wide pfmemalloc_active of the legacy design. */
struct pfm_machine {
	struct mmt_machine *m;
	int refs; /* registry_mu */
	_Atomic bool active; /* the old global flag (ACTIVE_CLEARED) */
	_Atomic long nr_slabs; /* pfmemalloc slabs of legacy caches */
	struct pfm_machine *next;
};

struct slab_cache {
	struct array_cache **cpu; /* [nr_cpus] */
	struct kmem_node *node; /* [nr_nodes] */
	unsigned int limit, batchcount, shared;
	bool legacy; /* the old tagging design (see above) */
	struct pfm_machine *pfm; /* legacy only */
};

/* ---- helpers ---- */

static inline struct mmt_page *pfn_page(struct mmt_machine *m, uint32_t pfn)
{
	return &m->pages[pfn];
}

static inline unsigned int umin(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

static inline unsigned int ac_avail(const struct array_cache *ac)
{
	return atomic_load_explicit(&ac->avail, memory_order_relaxed);
}

static inline void ac_set_avail(struct array_cache *ac, unsigned int v)
{
	atomic_store_explicit(&ac->avail, v, memory_order_relaxed);
}

static inline long nfree(const struct kmem_node *n)
{
	return atomic_load_explicit(&n->free_objects, memory_order_relaxed);
}

/*
 * The injected bug's unlocked read (RACY_FREE_OBJECTS): a plain load of
 * the counter every correct reader loads as a relaxed atomic.  Same size
 * and representation (a lock-free _Atomic long); the volatile keeps the
 * compiler from folding it into the later locked read.
 */
static MMT_NOINLINE long nfree_racy(const struct kmem_node *n)
{
	return *(const volatile long *)(const void *)&n->free_objects;
}

static inline void nfree_add(struct kmem_node *n, long d)
{
	/* Single writer (list_lock holder): load + store. */
	atomic_store_explicit(&n->free_objects, nfree(n) + d,
			      memory_order_relaxed);
}

static inline void ntotal_add(struct kmem_node *n, long d)
{
	atomic_store_explicit(
		&n->total_slabs,
		atomic_load_explicit(&n->total_slabs, memory_order_relaxed) + d,
		memory_order_relaxed);
}

static inline void *untag(void *e)
{
	return (void *)((uintptr_t)e & ~OBJ_PFMEMALLOC);
}

static inline bool tagged(const void *e)
{
	return (uintptr_t)e & OBJ_PFMEMALLOC;
}

/* slab_meta->state: active (0-15), freelist head index + 1 (16-31). */
static inline uint64_t st_load(struct mmt_page *slab)
{
	return atomic_load_explicit(&slab_meta(slab)->state,
				    memory_order_relaxed);
}

static inline void st_store(struct mmt_page *slab, unsigned int active,
			    unsigned int head)
{
	atomic_store_explicit(&slab_meta(slab)->state,
			      (uint64_t)active | ((uint64_t)head << 16),
			      memory_order_relaxed);
}

static inline unsigned int st_active(uint64_t st)
{
	return (unsigned int)(st & 0xffff);
}

static inline unsigned int st_head(uint64_t st)
{
	return (unsigned int)((st >> 16) & 0xffff);
}

/* ---- node lists (list_lock) ---- */

static struct _mmt_slist *list_for(struct kmem_node *n, unsigned int active,
				   unsigned int objects)
{
	if (active == 0)
		return &n->free;
	return active == objects ? &n->full : &n->partial;
}

/* Move @slab after its active count went from @was to its current value. */
static void fix_slab_list(struct mmt_machine *m, struct kmem_node *n,
			  struct mmt_page *slab, unsigned int was,
			  unsigned int objects, bool on_free)
{
	unsigned int now = st_active(st_load(slab));
	struct _mmt_slist *from = list_for(n, was, objects),
			  *to = list_for(n, now, objects);

	if (from == to)
		return;
	_mmt_slist_del(m, from, slab);
	/* A slab a free left partial goes last: its neighbours get time. */
	_mmt_slist_add(m, to, slab, on_free && to == &n->partial);
}

/* ---- slots of one slab (list_lock) ---- */

static void *slab_get_obj(struct mmt_kmem_cache *s, struct mmt_page *slab)
{
	uint64_t st = st_load(slab);
	unsigned int head = st_head(st);
	void *base = _mmt_slab_base(slab), *slot, *next;

	MMT_ASSERT(head != 0);
	slot = slot_at(s, base, head - 1);
	next = _mmt_get_freepointer(s, slot);
	if (!_mmt_freeptr_ok(s, slab, next, MMT_SITE))
		next = NULL; /* reported: stop at the corruption */
	st_store(slab, st_active(st) + 1,
		 next ? slot_index(s, base, next) + 1 : 0);
	return slot;
}

static void slab_put_obj(struct mmt_kmem_cache *s, struct mmt_page *slab,
			 void *slot)
{
	uint64_t st = st_load(slab);
	unsigned int head = st_head(st);
	void *base = _mmt_slab_base(slab);

	MMT_ASSERT(st_active(st) > 0);
	_mmt_set_freepointer(s, slot, head ? slot_at(s, base, head - 1) : NULL);
	st_store(slab, st_active(st) - 1, slot_index(s, base, slot) + 1);
}

/* ---- legacy pfmemalloc_active registry ---- */

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pfm_machine *registry;

static struct pfm_machine *pfm_get(struct mmt_machine *m)
{
	struct pfm_machine *p;

	pthread_mutex_lock(&registry_mu);
	for (p = registry; p; p = p->next)
		if (p->m == m)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (p) {
			p->m = m;
			p->next = registry;
			registry = p;
		}
	}
	if (p)
		p->refs++;
	pthread_mutex_unlock(&registry_mu);
	return p;
}

static void pfm_put(struct pfm_machine *p)
{
	struct pfm_machine **pp;

	if (!p)
		return;
	pthread_mutex_lock(&registry_mu);
	if (--p->refs == 0) {
		for (pp = &registry; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		free(p);
	}
	pthread_mutex_unlock(&registry_mu);
}

static inline bool pfmemalloc_active(const struct mmt_kmem_cache *s,
				     const struct slab_cache *sc)
{
	if (mmt_bug_on(s->m, MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED))
		return atomic_load_explicit(&sc->pfm->active,
					    memory_order_relaxed);
	return atomic_load_explicit(&sc->pfm->nr_slabs, memory_order_relaxed) >
	       0;
}

static bool node_has_pfmemalloc_slab(struct mmt_machine *m, struct kmem_node *n)
{
	struct _mmt_slist *lists[3] = { &n->full, &n->partial, &n->free };
	unsigned int l, i;

	for (l = 0; l < 3; l++) {
		uint32_t pfn = lists[l]->first;

		for (i = 0; i < lists[l]->nr; i++) {
			struct mmt_page *p = pfn_page(m, pfn);

			if (slab_is_pfmemalloc(p))
				return true;
			pfn = slab_meta(p)->next;
		}
	}
	return false;
}

/* A pfmemalloc slab of a legacy cache went away or lost its mark. */
static void legacy_pfm_slab_gone(struct mmt_kmem_cache *s,
				 struct slab_cache *sc, struct kmem_node *n)
{
	atomic_fetch_sub_explicit(&sc->pfm->nr_slabs, 1, memory_order_relaxed);
	/*
	 * recheck_pfmemalloc_active() of the old design: it looks only at
	 * this cache's node, yet clears the flag of every cache (problem 1).
	 */
	if (mmt_bug_on(s->m, MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED) &&
	    !node_has_pfmemalloc_slab(s->m, n)) {
		/* Cleared while pfmemalloc slabs remain elsewhere. */
		mmt_bug_hit(s->m, MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED,
			    atomic_load_explicit(&sc->pfm->nr_slabs,
						 memory_order_relaxed) > 0);
		atomic_store_explicit(&sc->pfm->active, false,
				      memory_order_relaxed);
	}
}

static void legacy_pfm_slab_new(struct slab_cache *sc)
{
	atomic_fetch_add_explicit(&sc->pfm->nr_slabs, 1, memory_order_relaxed);
	atomic_store_explicit(&sc->pfm->active, true, memory_order_relaxed);
}

/* ---- finding slabs (list_lock) ---- */

/*
 * get_valid_first_slab(): the first slab with free objects that an
 * ordinary caller may use, partial before free.  A pfmemalloc slab is
 * skipped unless the node has more than free_limit free objects: then it
 * is not needed as a reserve and loses its mark.  @any (legacy refill, or
 * the pfmemalloc path) takes the first slab whatever its mark.
 */
static struct mmt_page *get_first_slab(struct mmt_kmem_cache *s,
				       struct slab_cache *sc,
				       struct kmem_node *n, bool any)
{
	struct _mmt_slist *lists[2] = { &n->partial, &n->free };
	struct mmt_machine *m = s->m;
	unsigned int l, i;

	for (l = 0; l < 2; l++) {
		uint32_t pfn = lists[l]->first;

		for (i = 0; i < lists[l]->nr; i++) {
			struct mmt_page *p = pfn_page(m, pfn);

			if (MMT_LIKELY(any || !slab_is_pfmemalloc(p)))
				return p;
			if (nfree(n) > n->free_limit) {
				atomic_fetch_and_explicit(
					&p->flags, ~(uint32_t)MMT_PG_PFMEMALLOC,
					memory_order_relaxed);
				if (sc->legacy)
					legacy_pfm_slab_gone(s, sc, n);
				return p;
			}
			pfn = slab_meta(p)->next;
		}
	}
	return NULL;
}

/* Up to @max objects of @slab into @ac (tagged in legacy mode). */
static unsigned int alloc_block(struct mmt_kmem_cache *s, struct kmem_node *n,
				struct mmt_page *slab, struct array_cache *ac,
				unsigned int max)
{
	unsigned int objects = slab_objects(s, slab);
	unsigned int was = st_active(st_load(slab)), got = 0;
	unsigned int avail = ac_avail(ac);
	uintptr_t tag = slab_is_pfmemalloc(slab) ? OBJ_PFMEMALLOC : 0;

	while (got < max && was + got < objects && avail < ac->limit) {
		ac->entry[avail++] =
			(void *)((uintptr_t)slab_get_obj(s, slab) | tag);
		got++;
	}
	ac_set_avail(ac, avail);
	nfree_add(n, -(long)got);
	fix_slab_list(s->m, n, slab, was, objects, false);
	return got;
}

static void *take_one(struct mmt_kmem_cache *s, struct kmem_node *n,
		      struct mmt_page *slab)
{
	unsigned int was = st_active(st_load(slab));
	void *obj = slab_get_obj(s, slab);

	nfree_add(n, -1);
	fix_slab_list(s->m, n, slab, was, slab_objects(s, slab), false);
	return obj;
}

/* ---- giving objects back (list_lock) ---- */

/* Take @slab off the lists onto the chain of slabs to discard. */
static void chain_slab(struct mmt_kmem_cache *s, struct slab_cache *sc,
		       struct kmem_node *n, struct _mmt_slist *l,
		       struct mmt_page *slab, uint32_t *chain)
{
	_mmt_slist_del(s->m, l, slab);
	nfree_add(n, -(long)(slab_objects(s, slab) - st_active(st_load(slab))));
	ntotal_add(n, -1);
	slab_meta(slab)->next = *chain;
	*chain = (uint32_t)_mmt_pfn(s->m, slab);
	if (sc->legacy && slab_is_pfmemalloc(slab))
		legacy_pfm_slab_gone(s, sc, n);
}

/* free_block(): @nr objects of node @n back to their slabs. */
static void free_block(struct mmt_kmem_cache *s, struct slab_cache *sc,
		       struct kmem_node *n, void *const *objs, unsigned int nr,
		       uint32_t *chain)
{
	struct mmt_machine *m = s->m;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		void *slot = untag(objs[i]);
		struct mmt_page *slab = _mmt_virt_to_slab(m, slot);
		unsigned int was = st_active(st_load(slab));

		MMT_ASSERT(slab && (int)slab_meta(slab)->node == n->nid);
		slab_put_obj(s, slab, slot);
		nfree_add(n, 1);
		fix_slab_list(m, n, slab, was, slab_objects(s, slab), true);
	}
	/* Free slabs beyond free_limit go back to the page allocator. */
	while (nfree(n) > n->free_limit && n->free.nr) {
		struct mmt_page *last = pfn_page(
			m, slab_meta(pfn_page(m, n->free.first))->prev);

		chain_slab(s, sc, n, &n->free, last, chain);
	}
}

/* Every lock dropped: hand the chained slabs back.  @s may be gone after. */
static void discard_chain(struct mmt_kmem_cache *s, struct mmt_machine *m,
			  uint32_t chain)
{
	while (chain != MMT_PFN_NONE) {
		struct mmt_page *p = pfn_page(m, chain);

		chain = slab_meta(p)->next;
		_mmt_slab_discard(s, p);
	}
}

/* ---- pfmemalloc slow path ---- */

static unsigned long pfmemalloc_free_objects(struct mmt_kmem_cache *s,
					     struct kmem_node *n)
{
	struct _mmt_slist *lists[2] = { &n->partial, &n->free };
	unsigned long sum = 0;
	unsigned int l, i;

	for (l = 0; l < 2; l++) {
		uint32_t pfn = lists[l]->first;

		for (i = 0; i < lists[l]->nr; i++) {
			struct mmt_page *p = pfn_page(s->m, pfn);

			if (slab_is_pfmemalloc(p))
				sum += slab_objects(s, p) -
				       st_active(st_load(p));
			pfn = slab_meta(p)->next;
		}
	}
	return sum;
}

/* The pfmemalloc path gives up: it must have seen the node (list_lock). */
static void forward_progress_check(struct mmt_kmem_cache *s,
				   struct kmem_node *n)
{
	unsigned long left = pfmemalloc_free_objects(s, n);

	if (MMT_UNLIKELY(left))
		mmt_violation(
			s->m, "pfmemalloc-forward-progress",
			"cache %s: an entitled allocation gave up on node %d while its pfmemalloc "
			"slabs hold %lu free object(s) (free_objects read without list_lock?)",
			s->name, n->nid, left);
}

/*
 * cache_alloc_pfmemalloc(): one object for an entitled caller from any
 * slab of node @nid, pfmemalloc or not, under list_lock.
 */
static MMT_NOINLINE void *cache_alloc_pfmemalloc(struct mmt_kmem_cache *s,
						 struct slab_cache *sc,
						 struct mmt_cpu *cpu, int nid)
{
	struct kmem_node *n = &sc->node[nid];
	struct mmt_page *slab;
	unsigned long flags;
	void *obj = NULL;

	if (MMT_UNLIKELY(mmt_bug_on(s->m, MMT_BUG_SLAB_RACY_FREE_OBJECTS))) {
		/* The reviewed patch: a racy look, then maybe the lock. */
		long seen = nfree_racy(n);

		mmt_sched_point(cpu, MMT_SP_PREEMPT, n);
		if (!seen) {
			mmt_spin_lock_irqsave(&n->list_lock, flags);
			/* The zero it gave up on was stale. */
			mmt_bug_hit(s->m, MMT_BUG_SLAB_RACY_FREE_OBJECTS,
				    nfree(n) > 0);
			forward_progress_check(s, n);
			mmt_spin_unlock_irqrestore(&n->list_lock, flags);
			return NULL;
		}
	} else {
		mmt_sched_point(cpu, MMT_SP_PREEMPT, n);
	}
	/* "Just take the lock and check it" (Mel Gorman). */
	mmt_spin_lock_irqsave(&n->list_lock, flags);
	slab = get_first_slab(s, sc, n, false);
	if (!slab)
		slab = get_first_slab(s, sc, n, true);
	if (slab)
		obj = take_one(s, n, slab);
	else
		forward_progress_check(s, n);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return obj;
}

/* ---- allocation ---- */

/* Put a new slab on its node's free list (list_lock). */
static void add_new_slab(struct mmt_kmem_cache *s, struct slab_cache *sc,
			 struct kmem_node *n, struct mmt_page *slab)
{
	unsigned int objects = slab_objects(s, slab);

	st_store(slab, 0, 1); /* _mmt_slab_new chained the slots from 0 */
	_mmt_slist_add(s->m, &n->free, slab, false);
	ntotal_add(n, 1);
	nfree_add(n, objects);
	if (sc->legacy && slab_is_pfmemalloc(slab))
		legacy_pfm_slab_new(sc);
}

/*
 * One object from node @nid's slabs, growing the node if needed: other
 * nodes, dead caches (no array caching), and ordinary callers of a legacy
 * cache whose array cache holds only pfmemalloc objects.
 */
static MMT_NOINLINE void *alloc_one(struct mmt_kmem_cache *s,
				    struct slab_cache *sc, mmt_gfp_t gfp,
				    int nid)
{
	bool entitled = _mmt_slab_pfmemalloc_ok(gfp);
	struct kmem_node *n = &sc->node[nid];
	struct mmt_page *slab;
	unsigned long flags;
	void *obj = NULL, *fl;

	mmt_spin_lock_irqsave(&n->list_lock, flags);
	slab = get_first_slab(s, sc, n, false);
	if (slab)
		obj = take_one(s, n, slab);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	if (obj)
		return obj;
	if (entitled) {
		obj = cache_alloc_pfmemalloc(s, sc, _mmt_this_cpu, nid);
		if (obj)
			return obj;
	}
	slab = _mmt_slab_new(s, gfp, nid, &fl);
	if (!slab)
		return NULL;
	n = &sc->node[slab_meta(slab)->node];
	mmt_spin_lock_irqsave(&n->list_lock, flags);
	add_new_slab(s, sc, n, slab);
	if (!slab_is_pfmemalloc(slab) || entitled)
		obj = take_one(s, n, slab);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return obj;
}

/*
 * Pop for @gfp from a non-empty @ac (its lock held).  Legacy: the old
 * __ac_get_obj(), which looks at the tag only while pfmemalloc_active;
 * NULL when only pfmemalloc objects are left for an ordinary caller.
 */
static inline void *ac_pop(struct mmt_kmem_cache *s, struct slab_cache *sc,
			   struct array_cache *ac, mmt_gfp_t gfp)
{
	unsigned int avail = ac_avail(ac), i;
	void *e = ac->entry[avail - 1];

	if (MMT_UNLIKELY(sc->legacy) && tagged(e) && pfmemalloc_active(s, sc) &&
	    !_mmt_slab_pfmemalloc_ok(gfp)) {
		for (i = 0; i + 1 < avail; i++)
			if (!tagged(ac->entry[i]))
				break;
		if (i + 1 >= avail)
			return NULL;
		ac->entry[avail - 1] = ac->entry[i];
		ac->entry[i] = e;
		e = ac->entry[avail - 1];
	}
	ac_set_avail(ac, avail - 1);
	ac->touched = true;
	return untag(e);
}

/*
 * Grow with no lock held (the page allocator may reclaim and sleep), after
 * an entitled caller tried the objects the node already has.
 */
static MMT_NOINLINE void *cache_grow(struct mmt_kmem_cache *s,
				     struct slab_cache *sc, mmt_gfp_t gfp)
{
	bool entitled = _mmt_slab_pfmemalloc_ok(gfp);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct array_cache *ac;
	struct kmem_node *n;
	struct mmt_page *slab;
	unsigned long flags;
	void *obj = NULL, *fl;
	bool pfm;

	if (entitled && !sc->legacy) {
		obj = cache_alloc_pfmemalloc(s, sc, cpu, cpu->nid);
		if (obj)
			return obj;
	}
	slab = _mmt_slab_new(s, gfp, -1, &fl);
	if (!slab)
		return NULL;
	cpu = _mmt_this_cpu; /* reclaim may have moved us */
	ac = sc->cpu[cpu->id];
	pfm = slab_is_pfmemalloc(slab);
	n = &sc->node[slab_meta(slab)->node];
	mmt_spin_lock_irqsave(&ac->lock, flags);
	mmt_spin_lock(&n->list_lock);
	add_new_slab(s, sc, n, slab);
	if (pfm && !sc->legacy) {
		/* Reserve pages serve entitled callers, never an array cache. */
		if (entitled)
			obj = take_one(s, n, slab);
	} else if (n->nid != cpu->nid || !ac->limit) {
		obj = take_one(s, n, slab);
	} else if (!ac_avail(ac)) {
		alloc_block(s, n, slab, ac,
			    ac->touched ?
				    ac->batchcount :
				    umin(ac->batchcount, BATCHREFILL_LIMIT));
	}
	mmt_spin_unlock(&n->list_lock);
	if (!obj && ac_avail(ac))
		obj = ac_pop(s, sc, ac, gfp);
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	return obj;
}

/* cache_alloc_refill(): @ac is empty and locked; unlocks it. */
static MMT_NOINLINE void *cache_alloc_refill(struct mmt_kmem_cache *s,
					     struct slab_cache *sc,
					     struct mmt_cpu *cpu,
					     struct array_cache *ac,
					     mmt_gfp_t gfp, unsigned long flags)
{
	struct kmem_node *n = &sc->node[cpu->nid];
	unsigned int batch = ac->batchcount, got = 0;
	void *obj = NULL;

	if (MMT_UNLIKELY(!batch)) { /* dead cache: no array caching */
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
		return alloc_one(s, sc, gfp, cpu->nid);
	}
	if (!ac->touched && batch > BATCHREFILL_LIMIT)
		batch = BATCHREFILL_LIMIT;
	mmt_spin_lock(&n->list_lock);
	if (n->shared && ac_avail(n->shared)) {
		struct array_cache *sh = n->shared;
		unsigned int sa = ac_avail(sh);

		got = umin(batch, sa);
		memcpy(ac->entry, sh->entry + sa - got, got * sizeof(void *));
		ac_set_avail(sh, sa - got);
		ac_set_avail(ac, got);
		sh->touched = true;
	} else {
		while (got < batch) {
			struct mmt_page *slab =
				get_first_slab(s, sc, n, sc->legacy);

			if (!slab)
				break;
			got += alloc_block(s, n, slab, ac, batch - got);
		}
	}
	mmt_spin_unlock(&n->list_lock);
	if (ac_avail(ac))
		obj = ac_pop(s, sc, ac, gfp);
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	if (obj)
		return obj;
	if (MMT_UNLIKELY(sc->legacy && got))
		return alloc_one(s, sc, gfp, cpu->nid); /* all tagged */
	return cache_grow(s, sc, gfp);
}

static void *slab_alloc(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node)
{
	struct slab_cache *sc = s->impl;
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct array_cache *ac;
	unsigned long flags;
	unsigned int avail;

	if (MMT_UNLIKELY(node >= 0 && node != cpu->nid))
		return alloc_one(s, sc, gfp, node);
	ac = sc->cpu[cpu->id];
	mmt_spin_lock_irqsave(&ac->lock, flags);
	avail = ac_avail(ac);
	if (MMT_LIKELY(avail && !sc->legacy)) {
		void *obj = ac->entry[avail - 1];

		ac_set_avail(ac, avail - 1);
		ac->touched = true;
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
		return obj;
	}
	if (avail) { /* legacy: the tag decides */
		void *obj = ac_pop(s, sc, ac, gfp);

		mmt_spin_unlock_irqrestore(&ac->lock, flags);
		return obj ? obj : alloc_one(s, sc, gfp, cpu->nid);
	}
	return cache_alloc_refill(s, sc, cpu, ac, gfp, flags);
}

/* ---- free ---- */

/* An object straight back to its slab: pfmemalloc, another node, dead. */
static MMT_NOINLINE void free_to_slab(struct mmt_kmem_cache *s,
				      struct slab_cache *sc,
				      struct mmt_page *slab, void *slot)
{
	struct mmt_machine *m = s->m;
	struct kmem_node *n = &sc->node[slab_meta(slab)->node];
	uint32_t chain = MMT_PFN_NONE;
	unsigned long flags;

	mmt_spin_lock_irqsave(&n->list_lock, flags);
	free_block(s, sc, n, &slot, 1, &chain);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	discard_chain(s, m, chain);
}

/* cache_free_pfmemalloc() of the reviewed patch: drops ordinary objects. */
static MMT_COLD void buggy_free_pfmemalloc(struct mmt_kmem_cache *s,
					   struct slab_cache *sc,
					   struct mmt_page *slab, void *slot)
{
	if (slab_is_pfmemalloc(slab))
		free_to_slab(s, sc, slab, slot);
	/* else: the object is in no freelist and no array cache: leaked */
}

/* cache_flusharray(): make room in the full @ac (locked). */
static void cache_flusharray(struct mmt_kmem_cache *s, struct slab_cache *sc,
			     struct mmt_cpu *cpu, struct array_cache *ac,
			     uint32_t *chain)
{
	struct kmem_node *n = &sc->node[cpu->nid];
	unsigned int avail = ac_avail(ac), batch = umin(ac->batchcount, avail);

	mmt_spin_lock(&n->list_lock);
	if (n->shared) {
		struct array_cache *sh = n->shared;
		unsigned int sa = ac_avail(sh), room = sh->limit - sa;

		if (room) {
			batch = umin(batch, room);
			memcpy(sh->entry + sa, ac->entry,
			       batch * sizeof(void *));
			ac_set_avail(sh, sa + batch);
			goto done;
		}
	}
	free_block(s, sc, n, ac->entry, batch, chain);
done:
	mmt_spin_unlock(&n->list_lock);
	memmove(ac->entry, ac->entry + batch, (avail - batch) * sizeof(void *));
	ac_set_avail(ac, avail - batch);
}

static MMT_NOINLINE void cache_free_slow(struct mmt_kmem_cache *s,
					 struct slab_cache *sc,
					 struct mmt_cpu *cpu,
					 struct array_cache *ac, void *e,
					 unsigned long flags)
{
	uint32_t chain = MMT_PFN_NONE;

	if (!ac->limit) { /* dead cache */
		struct kmem_node *n = &sc->node[cpu->nid];

		mmt_spin_lock(&n->list_lock);
		free_block(s, sc, n, &e, 1, &chain);
		mmt_spin_unlock(&n->list_lock);
	} else {
		unsigned int avail;

		cache_flusharray(s, sc, cpu, ac, &chain);
		avail = ac_avail(ac);
		ac->entry[avail] = e;
		ac_set_avail(ac, avail + 1);
	}
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	discard_chain(s, s->m, chain);
}

/*
 * Free fast path: onto this CPU's array cache.  The object on top of it
 * already is a double free (false, nothing changed): the one check that
 * costs a compare, as SLUB's freelist head check.
 */
static bool slab_free(struct mmt_kmem_cache *s, struct mmt_page *slab,
		      void *slot)
{
	struct slab_cache *sc = s->impl;
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct array_cache *ac;
	unsigned long flags;
	unsigned int avail;
	bool pfm = slab_is_pfmemalloc(slab);
	void *e;

	if (MMT_UNLIKELY(mmt_bug_on(s->m, MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK)) &&
	    _mmt_memalloc_socks(s->m)) {
		/* The handler drops objects of ordinary slabs. */
		mmt_bug_hit(s->m, MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK, !pfm);
		buggy_free_pfmemalloc(s, sc, slab, slot);
		return true;
	}
	if (MMT_UNLIKELY((pfm && !sc->legacy) ||
			 (int)slab_meta(slab)->node != cpu->nid)) {
		free_to_slab(s, sc, slab, slot);
		return true;
	}
	e = pfm ? (void *)((uintptr_t)slot | OBJ_PFMEMALLOC) : slot;
	ac = sc->cpu[cpu->id];
	mmt_spin_lock_irqsave(&ac->lock, flags);
	avail = ac_avail(ac);
	if (MMT_UNLIKELY(avail && ac->entry[avail - 1] == e)) {
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
		return false;
	}
	if (MMT_LIKELY(avail < ac->limit)) {
		ac->entry[avail] = e;
		ac_set_avail(ac, avail + 1);
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
		return true;
	}
	cache_free_slow(s, sc, cpu, ac, e, flags);
	return true;
}

/* ---- kmalloc_nolock / kfree_nolock ---- */

/*
 * SLAB was removed in 6.8, before the nolock APIs (6.18); this is what
 * they would be over array caches, kept small: this CPU's array cache by
 * trylock only (busy: *busy, the next size class).  An allocation pops
 * from it (never a pfmemalloc object: ordinary callers only; a legacy
 * cache's tagged top fails), and an empty one fails: refilling takes the
 * node's list_lock under the array-cache lock and growing calls the page
 * allocator with no lock held, neither of which a nolock caller may wait
 * for.  A free pushes a local, ordinary object while there is room;
 * anything else (another node's or a pfmemalloc slab, a full or dead
 * array cache, a busy lock) is deferred by the common part.
 */
static void *slab_alloc_nolock(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			       int node, bool *busy)
{
	struct slab_cache *sc = s->impl;
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct array_cache *ac = sc->cpu[cpu->id];
	unsigned long flags;
	unsigned int avail;
	void *obj = NULL;

	(void)gfp;
	*busy = false;
	if (node >= 0 && node != cpu->nid)
		return NULL;
	if (!mmt_spin_trylock_irqsave(&ac->lock, flags)) {
		*busy = true;
		return NULL;
	}
	avail = ac_avail(ac);
	if (avail && !tagged(ac->entry[avail - 1])) {
		obj = ac->entry[avail - 1];
		ac_set_avail(ac, avail - 1);
		ac->touched = true;
	}
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	return obj;
}

static int slab_free_nolock(struct mmt_kmem_cache *s, struct mmt_page *slab,
			    void *slot)
{
	struct slab_cache *sc = s->impl;
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct array_cache *ac = sc->cpu[cpu->id];
	int ret = MMT_FREE_NOLOCK_BUSY;
	unsigned long flags;
	unsigned int avail;

	if (slab_is_pfmemalloc(slab) ||
	    (int)slab_meta(slab)->node != cpu->nid ||
	    mmt_bug_on(s->m, MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK))
		return MMT_FREE_NOLOCK_BUSY;
	if (!mmt_spin_trylock_irqsave(&ac->lock, flags))
		return MMT_FREE_NOLOCK_BUSY;
	avail = ac_avail(ac);
	if (avail && ac->entry[avail - 1] == slot) {
		ret = MMT_FREE_NOLOCK_REFUSED;
	} else if (avail < ac->limit) {
		ac->entry[avail] = slot;
		ac_set_avail(ac, avail + 1);
		ret = MMT_FREE_NOLOCK_DONE;
	}
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	return ret;
}

/* ---- flushing ---- */

/* Every object of @cpu's array cache back to the slabs (ac lock held). */
static void drain_ac_locked(struct mmt_kmem_cache *s, struct slab_cache *sc,
			    int cpu, struct array_cache *ac, uint32_t *chain)
{
	struct kmem_node *n = &sc->node[s->m->cpus[cpu].nid];
	unsigned int avail = ac_avail(ac);

	if (!avail)
		return;
	mmt_spin_lock(&n->list_lock);
	free_block(s, sc, n, ac->entry, avail, chain);
	mmt_spin_unlock(&n->list_lock);
	ac_set_avail(ac, 0);
}

static void drain_cpu(struct mmt_kmem_cache *s, struct slab_cache *sc, int cpu,
		      uint32_t *chain)
{
	struct array_cache *ac = sc->cpu[cpu];
	unsigned long flags;

	mmt_spin_lock_irqsave(&ac->lock, flags);
	drain_ac_locked(s, sc, cpu, ac, chain);
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
}

static void drain_shared_locked(struct mmt_kmem_cache *s, struct slab_cache *sc,
				struct kmem_node *n, uint32_t *chain)
{
	if (n->shared && ac_avail(n->shared)) {
		free_block(s, sc, n, n->shared->entry, ac_avail(n->shared),
			   chain);
		ac_set_avail(n->shared, 0);
	}
}

static void slab_flush_cpu(struct mmt_kmem_cache *s, int cpu)
{
	struct slab_cache *sc = s->impl;
	uint32_t chain = MMT_PFN_NONE;

	if (!sc)
		return;
	drain_cpu(s, sc, cpu, &chain);
	discard_chain(s, s->m, chain);
}

/* Drain everything and destroy every free slab (drain_freelist). */
static void drain_all(struct mmt_kmem_cache *s, struct slab_cache *sc,
		      uint32_t *chain)
{
	int c, nid;

	for (c = 0; c < s->m->nr_cpus; c++)
		drain_cpu(s, sc, c, chain);
	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];
		unsigned long flags;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		drain_shared_locked(s, sc, n, chain);
		while (n->free.nr)
			chain_slab(s, sc, n, &n->free,
				   pfn_page(s->m, n->free.first), chain);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
}

static void slab_shrink(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	uint32_t chain = MMT_PFN_NONE;

	if (!sc)
		return;
	drain_all(s, sc, &chain);
	discard_chain(s, s->m, chain);
}

static void slab_mark_dead(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	uint32_t chain = MMT_PFN_NONE;
	int c, nid;

	if (!sc)
		return;
	for (c = 0; c < s->m->nr_cpus; c++) {
		struct array_cache *ac = sc->cpu[c];
		unsigned long flags;

		mmt_spin_lock_irqsave(&ac->lock, flags);
		ac->limit = 0;
		ac->batchcount = 0;
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
	}
	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];
		unsigned long flags;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		n->free_limit = 0;
		if (n->shared)
			n->shared->limit = 0;
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	drain_all(s, sc, &chain);
	discard_chain(s, s->m, chain);
}

/* Move pfmemalloc objects of @a out to their slabs (list_lock held). */
static void drop_pfmemalloc(struct mmt_kmem_cache *s, struct slab_cache *sc,
			    struct kmem_node *n, struct array_cache *a,
			    uint32_t *chain)
{
	unsigned int i, w = 0, avail = ac_avail(a);

	for (i = 0; i < avail; i++) {
		void *e = a->entry[i];

		if (slab_is_pfmemalloc(_mmt_virt_to_slab(s->m, untag(e))))
			free_block(s, sc, n, &e, 1, chain);
		else
			a->entry[w++] = e;
	}
	ac_set_avail(a, w);
}

static void slab_memalloc_socks_off(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	uint32_t chain = MMT_PFN_NONE;
	unsigned long flags;
	int c, nid;

	if (!sc)
		return;
	for (c = 0; c < s->m->nr_cpus; c++) {
		struct array_cache *ac = sc->cpu[c];
		struct kmem_node *n = &sc->node[s->m->cpus[c].nid];

		mmt_spin_lock_irqsave(&ac->lock, flags);
		mmt_spin_lock(&n->list_lock);
		drop_pfmemalloc(s, sc, n, ac, &chain);
		mmt_spin_unlock(&n->list_lock);
		mmt_spin_unlock_irqrestore(&ac->lock, flags);
	}
	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		if (n->shared)
			drop_pfmemalloc(s, sc, n, n->shared, &chain);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	discard_chain(s, s->m, chain);
}

static bool any_pfmemalloc(struct mmt_machine *m, const struct array_cache *a)
{
	unsigned int i, avail = ac_avail(a);

	for (i = 0; i < avail; i++)
		if (slab_is_pfmemalloc(
			    _mmt_virt_to_slab(m, untag(a->entry[i]))))
			return true;
	return false;
}

/* @cpu's array cache, or the shared array @cpu refills from. */
static bool slab_pfmemalloc_in_percpu(struct mmt_kmem_cache *s, int cpu)
{
	struct slab_cache *sc = s->impl;
	struct kmem_node *n;
	struct array_cache *ac;
	unsigned long flags;
	bool found;

	if (!sc)
		return false;
	ac = sc->cpu[cpu];
	n = &sc->node[s->m->cpus[cpu].nid];
	mmt_spin_lock_irqsave(&ac->lock, flags);
	found = any_pfmemalloc(s->m, ac);
	mmt_spin_unlock_irqrestore(&ac->lock, flags);
	if (found || !n->shared)
		return found;
	mmt_spin_lock_irqsave(&n->list_lock, flags);
	found = any_pfmemalloc(s->m, n->shared);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return found;
}

/* ---- cache life ---- */

static unsigned int limit_for(unsigned int size)
{
	if (size > 131072)
		return 1;
	if (size > MMT_PAGE_SIZE)
		return 8;
	if (size > 1024)
		return 24;
	if (size > 256)
		return 54;
	return 120;
}

static struct array_cache *ac_new(unsigned int limit, unsigned int batch)
{
	struct array_cache *ac =
		calloc(1, sizeof(*ac) + (size_t)limit * sizeof(void *));

	if (ac) {
		ac->limit = limit;
		ac->batchcount = batch;
	}
	return ac;
}

static void free_state(struct mmt_kmem_cache *s, struct slab_cache *sc)
{
	int i;

	if (sc->cpu)
		for (i = 0; i < s->m->nr_cpus; i++)
			free(sc->cpu[i]);
	if (sc->node)
		for (i = 0; i < s->m->nr_nodes; i++)
			free(sc->node[i].shared);
	free(sc->cpu);
	free(sc->node);
	pfm_put(sc->pfm);
	free(sc);
	s->impl = NULL;
}

static int slab_cache_init(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	struct slab_cache *sc = calloc(1, sizeof(*sc));
	int c, nid;

	if (!sc)
		return -1;
	s->impl = sc;
	sc->limit = limit_for(s->size);
	sc->batchcount = (sc->limit + 1) / 2;
	sc->shared =
		m->nr_cpus > 1 && s->size <= MMT_PAGE_SIZE ? SHARED_FACTOR : 0;
	sc->legacy = mmt_bug_on(m, MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED) ||
		     mmt_bug_on(m, MMT_BUG_SLAB_PFMEMALLOC_LINGERS);
	sc->cpu = calloc((size_t)m->nr_cpus, sizeof(*sc->cpu));
	sc->node = calloc((size_t)m->nr_nodes, sizeof(*sc->node));
	if (!sc->cpu || !sc->node || (sc->legacy && !(sc->pfm = pfm_get(m))))
		goto fail;
	for (c = 0; c < m->nr_cpus; c++) {
		sc->cpu[c] = ac_new(sc->limit, sc->batchcount);
		if (!sc->cpu[c])
			goto fail;
		mmt_spin_lock_init(&sc->cpu[c]->lock, &ac_lock_class);
	}
	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];
		int cpus = 0;

		for (c = 0; c < m->nr_cpus; c++)
			cpus += m->cpus[c].nid == nid;
		mmt_spin_lock_init(&n->list_lock, &list_lock_class);
		n->nid = nid;
		n->full.first = n->partial.first = n->free.first = MMT_PFN_NONE;
		n->free_limit = (long)(1 + cpus) * sc->batchcount + s->objects;
		if (sc->shared) {
			n->shared = ac_new(sc->shared * sc->batchcount,
					   sc->batchcount);
			if (!n->shared)
				goto fail;
		}
	}
	return 0;
fail:
	free_state(s, sc);
	return -1;
}

static void slab_cache_release(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	struct mmt_machine *m = s->m;
	uint32_t chain = MMT_PFN_NONE;
	int nid;

	if (!sc)
		return;
	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];
		struct _mmt_slist *lists[3] = { &n->full, &n->partial,
						&n->free };
		unsigned long flags;
		int l;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		if (n->shared)
			ac_set_avail(n->shared, 0);
		for (l = 0; l < 3; l++)
			while (lists[l]->nr)
				chain_slab(s, sc, n, lists[l],
					   pfn_page(m, lists[l]->first),
					   &chain);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	free_state(s, sc);
	discard_chain(s, m, chain);
}

static void slab_cache_free_state(struct mmt_kmem_cache *s)
{
	if (s->impl)
		free_state(s, s->impl);
}

static long slab_free_objects(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	long sum = 0;
	int i;

	if (!sc)
		return 0;
	for (i = 0; i < s->m->nr_cpus; i++)
		sum += ac_avail(sc->cpu[i]);
	for (i = 0; i < s->m->nr_nodes; i++) {
		sum += nfree(&sc->node[i]);
		if (sc->node[i].shared)
			sum += ac_avail(sc->node[i].shared);
	}
	return sum;
}

/* ---- validation ---- */

struct vslab {
	uint32_t pfn;
	unsigned int objects;
	uint8_t *seen; /* a free slot was met (freelist or array cache) */
};

static int vslab_cmp(const void *a, const void *b)
{
	const struct vslab *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static struct vslab *vslab_find(struct vslab *v, size_t nr, uint32_t pfn)
{
	struct vslab key = { .pfn = pfn };

	return bsearch(&key, v, nr, sizeof(*v), vslab_cmp);
}

/* Check one node list; collect its slabs into @v. */
static bool check_list(struct mmt_kmem_cache *s, struct kmem_node *n,
		       struct _mmt_slist *l, const char *what, struct vslab *v,
		       size_t *nv, size_t cap, long *free_sum, long *active_sum)
{
	struct mmt_machine *m = s->m;
	uint32_t pfn = l->first;
	unsigned int i;
	bool ok = true;

	for (i = 0; i < l->nr; i++) {
		struct mmt_page *p;
		unsigned int active, objects;

		if (pfn >= m->nr_pages || *nv >= cap)
			return mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: %s list broken at entry %u of %u (pfn %u)",
				s->name, n->nid, what, i, l->nr, pfn);
		p = pfn_page(m, pfn);
		if (!(pg_flags(p) & MMT_PG_SLAB) || slab_meta(p)->cache != s ||
		    (int)slab_meta(p)->node != n->nid)
			return mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: %s list holds pfn %u, no slab of this cache and node",
				s->name, n->nid, what, pfn);
		active = st_active(st_load(p));
		objects = slab_objects(s, p);
		if (list_for(n, active, objects) != l)
			ok = mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: slab pfn %u with %u of %u objects active is on the %s list",
				s->name, n->nid, pfn, active, objects, what);
		v[*nv].pfn = pfn;
		v[*nv].objects = objects;
		(*nv)++;
		*free_sum += objects - active;
		*active_sum += active;
		pfn = slab_meta(p)->next;
	}
	if (l->nr ? pfn != l->first : l->first != MMT_PFN_NONE)
		ok = mmt_violation(
			m, "slab-node-partial",
			"cache %s node %d: %s list does not close after %u slabs",
			s->name, n->nid, what, l->nr);
	return ok;
}

/* Walk @slab's freelist, marking slots. */
static bool check_freelist(struct mmt_kmem_cache *s, struct vslab *vs)
{
	struct mmt_page *p = pfn_page(s->m, vs->pfn);
	uint64_t st = st_load(p);
	unsigned int head = st_head(st), nr = 0;
	void *base = _mmt_slab_base(p), *slot;

	slot = head ? slot_at(s, base, head - 1) : NULL;
	while (slot) {
		unsigned int idx = slot_index(s, base, slot);

		if (nr >= vs->objects || vs->seen[idx])
			return mmt_violation(
				s->m, "slab-inuse",
				"cache %s slab pfn %u: slot %u is twice on the freelist (or it loops)",
				s->name, vs->pfn, idx);
		vs->seen[idx] = 1;
		nr++;
		slot = _mmt_get_freepointer(s, slot);
		if (!_mmt_freeptr_ok(s, p, slot, MMT_SITE))
			return false;
	}
	if (st_active(st) + nr != vs->objects)
		return mmt_violation(
			s->m, "slab-inuse",
			"cache %s slab pfn %u: %u active + %u free != %u objects",
			s->name, vs->pfn, st_active(st), nr, vs->objects);
	return true;
}

static bool check_ac(struct mmt_kmem_cache *s, struct slab_cache *sc,
		     const struct array_cache *a, const char *what, int id,
		     int nid, struct vslab *v, size_t nv)
{
	unsigned int i, avail = ac_avail(a);

	if (avail > a->limit)
		return mmt_violation(s->m, "slab-cpu-partial",
				     "cache %s %s %d: avail %u > limit %u",
				     s->name, what, id, avail, a->limit);
	for (i = 0; i < avail; i++) {
		void *slot = untag(a->entry[i]);
		struct mmt_page *p = _mmt_virt_to_slab(s->m, slot);
		struct vslab *vs;
		unsigned int idx;

		vs = p ? vslab_find(v, nv, (uint32_t)_mmt_pfn(s->m, p)) : NULL;
		if (!vs || (int)slab_meta(p)->node != nid ||
		    (size_t)((char *)slot - (char *)_mmt_slab_base(p)) %
			    s->size)
			return mmt_violation(
				s->m, "slab-cpu-partial",
				"cache %s %s %d: entry %u (%p) is no slot of a slab of node %d",
				s->name, what, id, i, slot, nid);
		if (!sc->legacy && slab_is_pfmemalloc(p))
			return mmt_violation(
				s->m, "slab-cpu-partial",
				"cache %s %s %d: entry %u (%p) is an object of a pfmemalloc slab",
				s->name, what, id, i, slot);
		idx = slot_index(s, _mmt_slab_base(p), slot);
		if (vs->seen[idx])
			return mmt_violation(
				s->m, "slab-inuse",
				"cache %s %s %d: object %p is free twice (freelist or another array cache)",
				s->name, what, id, slot);
		vs->seen[idx] = 1;
	}
	return true;
}

static bool slab_is_valid(struct mmt_kmem_cache *s)
{
	struct slab_cache *sc = s->impl;
	struct mmt_machine *m = s->m;
	size_t cap = 0, nv = 0, i, seen_bytes = 0;
	long active_sum = 0, cached = 0, live;
	struct vslab *v;
	uint8_t *seen;
	bool ok = true;
	int nid, c;

	if (!sc)
		return true;
	for (nid = 0; nid < m->nr_nodes; nid++)
		cap += sc->node[nid].full.nr + sc->node[nid].partial.nr +
		       sc->node[nid].free.nr;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return true; /* no host memory: cannot judge */
	for (nid = 0; nid < m->nr_nodes && ok; nid++) {
		struct kmem_node *n = &sc->node[nid];
		long free_sum = 0;

		ok &= check_list(s, n, &n->full, "full", v, &nv, cap, &free_sum,
				 &active_sum);
		ok &= check_list(s, n, &n->partial, "partial", v, &nv, cap,
				 &free_sum, &active_sum);
		ok &= check_list(s, n, &n->free, "free", v, &nv, cap, &free_sum,
				 &active_sum);
		if (ok && free_sum != nfree(n))
			ok = mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: free_objects %ld, its slabs hold %ld free",
				s->name, nid, nfree(n), free_sum);
	}
	if (!ok) {
		free(v);
		return false;
	}
	for (i = 0; i < nv; i++)
		seen_bytes += v[i].objects;
	seen = calloc(seen_bytes + 1, 1);
	if (!seen) {
		free(v);
		return true;
	}
	qsort(v, nv, sizeof(*v), vslab_cmp);
	for (i = 0, seen_bytes = 0; i < nv; i++) {
		v[i].seen = seen + seen_bytes;
		seen_bytes += v[i].objects;
	}
	for (i = 0; i < nv && ok; i++)
		ok &= check_freelist(s, &v[i]);
	for (c = 0; c < m->nr_cpus && ok; c++) {
		ok &= check_ac(s, sc, sc->cpu[c], "cpu", c, m->cpus[c].nid, v,
			       nv);
		cached += ac_avail(sc->cpu[c]);
	}
	for (nid = 0; nid < m->nr_nodes && ok; nid++)
		if (sc->node[nid].shared) {
			ok &= check_ac(s, sc, sc->node[nid].shared,
				       "shared array of node", nid, nid, v, nv);
			cached += ac_avail(sc->node[nid].shared);
		}
	/* kfree_nolock's deferred objects are freed but still in use here. */
	live = _mmt_cache_live(s) + _mmt_cache_deferred(s);
	if (ok && active_sum - cached != live)
		ok = mmt_violation(
			m, "slab-leak",
			"cache %s: its slabs have %ld object(s) in use (%ld active, %ld in array caches) "
			"but %ld are allocated",
			s->name, active_sum - cached, active_sum, cached, live);
	free(seen);
	free(v);
	return ok;
}

static void slab_dump(struct mmt_kmem_cache *s, FILE *out)
{
	struct slab_cache *sc = s->impl;
	int c, nid;

	if (!sc)
		return;
	fprintf(out,
		"  slab %s: limit %u batchcount %u shared %u%s free_objects %ld\n",
		s->name, sc->limit, sc->batchcount, sc->shared,
		sc->legacy ? " (legacy pfmemalloc tagging)" : "",
		slab_free_objects(s));
	for (c = 0; c < s->m->nr_cpus; c++)
		if (ac_avail(sc->cpu[c]))
			fprintf(out, "    cpu %d: avail %u/%u\n", c,
				ac_avail(sc->cpu[c]), sc->cpu[c]->limit);
	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct kmem_node *n = &sc->node[nid];

		fprintf(out,
			"    node %d: slabs full %u partial %u free %u, free_objects %ld / limit %ld, shared %u\n",
			nid, n->full.nr, n->partial.nr, n->free.nr, nfree(n),
			n->free_limit, n->shared ? ac_avail(n->shared) : 0);
	}
}

/*
 * White-box introspection for tests/test_slab_array.c (not API): one
 * number of @s, by name, for CPU or node @id.
 */
long _mmt_slab_array_stat(const struct mmt_kmem_cache *s, int id,
			  const char *what);
long _mmt_slab_array_stat(const struct mmt_kmem_cache *s, int id,
			  const char *what)
{
	const struct slab_cache *sc = s->impl;
	const struct kmem_node *n = &sc->node[id];

	if (!strcmp(what, "avail"))
		return ac_avail(sc->cpu[id]);
	if (!strcmp(what, "limit"))
		return sc->cpu[id]->limit;
	if (!strcmp(what, "batchcount"))
		return sc->cpu[id]->batchcount;
	if (!strcmp(what, "shared"))
		return n->shared ? (long)ac_avail(n->shared) : -1;
	if (!strcmp(what, "free_objects"))
		return nfree(n);
	if (!strcmp(what, "free_limit"))
		return n->free_limit;
	if (!strcmp(what, "full"))
		return n->full.nr;
	if (!strcmp(what, "partial"))
		return n->partial.nr;
	if (!strcmp(what, "free"))
		return n->free.nr;
	return -1;
}

const struct mmt_slab_ops _mmt_slab_ops = {
	.name = "slab",
	.desc = "SLAB: per-cpu array caches, shared arrays and node slab lists (seed 000)",
	.cache_init = slab_cache_init,
	.cache_release = slab_cache_release,
	.cache_free_state = slab_cache_free_state,
	.alloc = slab_alloc,
	.free = slab_free,
	.shrink = slab_shrink,
	.flush_cpu = slab_flush_cpu,
	.memalloc_socks_off = slab_memalloc_socks_off,
	.mark_dead = slab_mark_dead,
	.pfmemalloc_in_percpu = slab_pfmemalloc_in_percpu,
	.is_valid = slab_is_valid,
	.free_objects = slab_free_objects,
	.dump = slab_dump,
	.alloc_nolock = slab_alloc_nolock,
	.free_nolock = slab_free_nolock,
};
