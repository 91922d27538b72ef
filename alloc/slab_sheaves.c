/* SPDX-License-Identifier: MIT */
/*
 * alloc/slab_sheaves.c - SLUB with sheaves (`slab=sheaves`): the object
 * allocator of kernel 7.0, modelled from its behaviour (never from its
 * code) behind struct mmt_slab_ops.  Which kernel each part follows:
 *  - per-cpu sheaves, the barn, the prefilled-sheaf API: 6.18, where they
 *    were opt-in per cache (kmem_cache_args.sheaf_capacity);
 *  - sheaves for every cache with a computed capacity, no struct
 *    kmem_cache_cpu, no cpu slab, no cpu partial slabs, no tid fast path:
 *    7.0;
 *  - node partial lists with min_partial, empty slabs freed beyond it, and
 *    pfmemalloc slabs serving only entitled callers: SLUB as ever.
 *
 * Structures.
 *  - A sheaf (struct mmt_slab_sheaf, alloc/slab.h): an array of pointers to
 *    free slots of one cache, {size, capacity}.  The slots stay counted in
 *    their slab's inuse while they sit in a sheaf: to the slab layer they
 *    are allocated, to the API they are free.  The structure is host memory
 *    (the kernel kmallocs it; the model keeps its page accounting to slabs).
 *  - Per CPU (struct pcs, the kernel's slub_percpu_sheaves): `main`, never
 *    NULL, maybe empty, and `spare`, maybe NULL, under a per-cpu lock (the
 *    kernel's local_lock, a model spinlock "slub_percpu_sheaves->lock" taken
 *    irqsave, as SLAB's array-cache lock: the model has no IPIs, so a flush
 *    of another CPU takes the owner's lock).
 *  - Per node a barn: lists of full and of empty sheaves with their counts,
 *    at most MAX_FULL_SHEAVES full and MAX_EMPTY_SHEAVES empty (10 each, as
 *    the kernel), under "node_barn->lock".
 *  - Per node the slab layer: the partial list (slabs with a free object;
 *    empty slabs stay while the node keeps fewer than min_partial) and a
 *    full list (the kernel keeps full slabs on no list without debugging;
 *    the model lists them so that release and the validator find them),
 *    under "kmem_cache_node->list_lock".  Per slab, slab_meta->state packs
 *    inuse (bits 0-15) and the freelist head as slot index + 1 (16-31),
 *    written under list_lock only: the model takes list_lock where 7.0's
 *    __slab_free uses a compare-exchange (same outcome, one writer).
 *
 * Sheaf capacity.  kmem_cache_args.sheaf_capacity when the creator gives
 * one (mmt_kmem_cache_create_args; the trace language's kmem_cache_create
 * has no such argument: its caches take the default); otherwise the
 * model's computed default (_mmt_sheaf_default_capacity(), slab_common.c):
 * the largest power of two of objects that fills at most two pages of
 * objects, clamped to 4..32 (64-byte objects: 32, 512: 16, 1024: 8, 2048
 * and up: 4).  7.0 computes a capacity for every
 * cache from its object size so that the sheaf structure fills a kmalloc
 * bucket; the model keeps the same shape (small objects get large sheaves,
 * large objects small ones) with a rule that is easy to state and test.
 *
 * Algorithm.
 *  - alloc: node >= 0 and not the local node: one object from that node's
 *    slabs, bypassing sheaves.  Else pop from main; main empty and the
 *    spare not: swap them; else exchange the empty main for a full sheaf of
 *    the local barn (the empty one becomes the spare, or goes to the barn's
 *    empty list, or is freed).  Nothing: if the caller may spin
 *    (gfpflags_allow_spinning: some __GFP_RECLAIM bit) drop the lock, fill
 *    a sheaf from the slabs (node partial list, then new slabs) with
 *    __GFP_NOMEMALLOC so that no pfmemalloc object ever enters a sheaf,
 *    retake the lock on whatever CPU we then run, install it as main if
 *    main is still empty (else give it to the barn, or flush it).  If that
 *    too gives nothing, an entitled caller (_mmt_slab_pfmemalloc_ok) takes
 *    one object from the slabs directly, a pfmemalloc slab or the reserves
 *    included, and an ordinary one that may spin takes one from a new slab.
 *    "May spin", not "may block": GFP_NOWAIT and GFP_ATOMIC callers refill
 *    too (MMT_BUG_SHEAF_REFILL_MAY_BLOCK, an upstream fix of 2026, tested
 *    __GFP_DIRECT_RECLAIM and failed them).
 *  - free: an object of another node's slab or of a pfmemalloc slab goes
 *    straight back to its slab.  Else push on main; main full and the
 *    spare empty: swap; main full, no spare: main becomes the spare and an
 *    empty sheaf (barn or new) the main; both full: the full main goes to
 *    the barn for an empty sheaf, or, if the barn holds MAX_FULL_SHEAVES
 *    full ones, main's objects go back to their slabs.  The object on top
 *    of main is refused as a double free (SLAB's array-cache check).
 *  - Slabs: an object back in a slab moves it from the full list to the
 *    partial list; a slab left with no object in use is freed when the node
 *    keeps min_partial partial slabs already (min_partial 0: dead cache).
 *  - Prefilled sheaves: kmem_cache_prefill_sheaf(count) takes the spare if
 *    it holds count objects, else a sheaf of the barn (full, or empty), else
 *    a new one, and fills it to capacity (at least count) with
 *    __GFP_NOMEMALLOC; count > capacity gets an oversize sheaf of exactly
 *    count.  A refill that leaves fewer than count objects flushes what it
 *    got back to the slabs and fails.  kmem_cache_return_sheaf: oversize:
 *    flush and free; else it becomes the spare if there is none; else, if
 *    the barn has room for a full sheaf, it is refilled to capacity (with
 *    __GFP_NOMEMALLOC: the fix of the upstream bug) and put there; else
 *    flushed and freed.  The model keeps the outstanding prefilled sheaves
 *    of a cache on a list (the kernel does not) so that the validator and
 *    free_objects see their objects.
 *  - kvfree_rcu (kernel 6.18, not under PREEMPT_RT): an object of the
 *    cache goes into this CPU's `rcu_free` sheaf (trylock of the per-cpu
 *    lock; an empty sheaf from the barn or new); a full one goes to
 *    call_rcu whole and after the grace period its objects are freed
 *    through kvfree_rcu.c's oracle; kvfree_rcu_barrier, a CPU flush and a
 *    cache destroy hand a partly filled one to call_rcu.
 *  - kmalloc_nolock/kfree_nolock (6.18): the per-cpu lock by trylock only
 *    (busy: the CPU is inside this cache's sheaf section - an interrupt
 *    reentering it - or a flusher holds it; the common part then tries
 *    the next size class, or defers the free).  Alloc: main, the spare, a
 *    full barn sheaf by trylock, else one object of the slabs by trylock
 *    of list_lock (a new slab of alloc_pages_nolock pages, given straight
 *    back by free_pages_nolock if its list_lock is busy); never a refill.
 *    Free: into main, a full main swapped with an empty spare or exchanged
 *    for an empty barn sheaf by trylock; else deferred.
 *  - mark_dead (memcg offline): sheaves off (alloc and free go to the
 *    slabs; both look at the flag under the per-cpu lock, a refill that
 *    ends after it flushes its sheaf, the barn refuses full sheaves of a
 *    dead cache), min_partial 0, everything flushed; from then on no
 *    sheaf of the cache holds a free object (dead-cache-leak).  A flush
 *    of another CPU waits for that CPU's section; under PREEMPT_RT rules
 *    MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK tries once and gives up silently.
 *    shrink: flush every CPU and every barn, free every empty slab.
 *    memalloc_socks_off: move any pfmemalloc object out of every sheaf
 *    (none is ever there unless an injected bug put it there).
 *
 * Invariants (slab-sheaf, slab-barn, pfmemalloc-sheaf; slab-inuse,
 * slab-node-partial, slab-leak as SLUB's): a sheaf's objects are distinct
 * slots of its cache's slabs, off every freelist (counted in inuse), never
 * handed out (allocation map), size <= capacity, main never NULL; an empty
 * sheaf freed has size 0 (checked at the free, at every level); barn counts
 * equal their lists, within the limits, full sheaves full and empty ones
 * empty; no pfmemalloc object in any sheaf; per slab inuse + free =
 * objects; the objects in use in the slabs minus those in sheaves equal the
 * cache's live count.
 *
 * Lock order: slab_mutex -> slub_percpu_sheaves->lock -> node_barn->lock,
 * and slub_percpu_sheaves->lock -> kmem_cache_node->list_lock; barn and
 * list locks are never nested; the prefilled list's lock is a leaf.  No
 * lock is held across the page allocator.  Slabs to free are collected
 * on a chain and discarded last (a discard may end a dead cache).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

#define MAX_FULL_SHEAVES 10
#define MAX_EMPTY_SHEAVES 10

static MMT_LOCK_CLASS(pcs_lock_class, "slub_percpu_sheaves->lock",
		      MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(barn_lock_class, "node_barn->lock", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(list_lock_class, "kmem_cache_node->list_lock",
		      MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(prefill_lock_class, "kmem_cache->prefilled_lock",
		      MMT_LOCK_SPIN);

struct pcs {
	mmt_spinlock_t lock;
	struct mmt_slab_sheaf *main; /* never NULL */
	struct mmt_slab_sheaf *spare; /* NULL or any size */
	/* kvfree_rcu'd objects (still allocated) waiting to fill: NULL or not full */
	struct mmt_slab_sheaf *rcu_free;
} __attribute__((aligned(64)));

struct barn {
	mmt_spinlock_t lock;
	struct mmt_slab_sheaf *full, *empty; /* linked by ->next */
	_Atomic unsigned int nr_full, nr_empty; /* written under lock */
};

struct sh_node {
	mmt_spinlock_t list_lock;
	struct _mmt_slist partial, full;
	struct barn barn;
	int nid;
} __attribute__((aligned(64)));

struct sheaves {
	unsigned int capacity; /* sheaf_capacity */
	_Atomic unsigned int min_partial;
	_Atomic bool off; /* dead cache: no sheaves */
	_Atomic bool dead_flushed; /* ... and mark_dead's flush is over */
	_Atomic long total_objects; /* slots of the listed slabs */
	struct pcs *cpu; /* [nr_cpus] */
	struct sh_node *node; /* [nr_nodes] */
	mmt_spinlock_t prefill_lock;
	struct mmt_slab_sheaf *prefilled; /* outstanding, by ->next */
};

static inline struct sheaves *SH(const struct mmt_kmem_cache *s)
{
	return s->impl;
}

static inline struct mmt_page *pfn_page(struct mmt_machine *m, uint32_t pfn)
{
	return &m->pages[pfn];
}

static inline bool sheaves_off(const struct sheaves *sh)
{
	return atomic_load_explicit(&sh->off, memory_order_relaxed);
}

static inline unsigned int min_partial(const struct sheaves *sh)
{
	return atomic_load_explicit(&sh->min_partial, memory_order_relaxed);
}

/* gfpflags_allow_spinning(): a caller that asked for no reclaim at all
 * (kmalloc_nolock) must not take a lock that may spin. */
static inline bool may_spin(mmt_gfp_t gfp)
{
	return gfp & __GFP_RECLAIM;
}

/* ---- sheaves (host memory) ---- */

static struct mmt_slab_sheaf *sheaf_new(struct mmt_kmem_cache *s,
					unsigned int capacity)
{
	struct mmt_slab_sheaf *f =
		calloc(1, sizeof(*f) + (size_t)capacity * sizeof(void *));

	if (f) {
		f->cache = s;
		f->capacity = capacity;
		f->node = -1;
	}
	return f;
}

static MMT_COLD void report_sheaf_freed_full(struct mmt_kmem_cache *s,
					     const struct mmt_slab_sheaf *f)
{
	mmt_violation(
		s->m, "slab-sheaf",
		"cache %s: a sheaf freed with %u object(s) still in it (they are lost: their slabs keep counting them in use)",
		s->name, f->size);
}

/*
 * free_empty_sheaf(): only an empty sheaf may go.  Checked at every debug
 * level: one compare on a slow path (a sheaf is freed only when a barn is
 * full, a refill fails or a cache is flushed), and the one place where a
 * lost sheaf's objects can still be named.
 */
static void sheaf_free(struct mmt_kmem_cache *s, struct mmt_slab_sheaf *f)
{
	if (!f)
		return;
	if (MMT_UNLIKELY(f->size))
		report_sheaf_freed_full(s, f);
	free(f);
}

/* ---- slab state and node lists (list_lock) ---- */

static inline uint64_t st_load(struct mmt_page *slab)
{
	return atomic_load_explicit(&slab_meta(slab)->state,
				    memory_order_relaxed);
}

static inline void st_store(struct mmt_page *slab, unsigned int inuse,
			    unsigned int head)
{
	atomic_store_explicit(&slab_meta(slab)->state,
			      (uint64_t)inuse | ((uint64_t)head << 16),
			      memory_order_relaxed);
}

static inline unsigned int st_inuse(uint64_t st)
{
	return (unsigned int)(st & 0xffff);
}

static inline unsigned int st_head(uint64_t st)
{
	return (unsigned int)((st >> 16) & 0xffff);
}

/* One slot off @slab's freelist; moves a slab that fills to the full list. */
static void *slab_get_obj(struct mmt_kmem_cache *s, struct sh_node *n,
			  struct mmt_page *slab)
{
	uint64_t st = st_load(slab);
	unsigned int head = st_head(st);
	void *base = _mmt_slab_base(slab), *slot, *next;

	MMT_ASSERT(head != 0);
	slot = slot_at(s, base, head - 1);
	next = _mmt_get_freepointer(s, slot);
	if (!_mmt_freeptr_ok(s, slab, next, MMT_SITE))
		next = NULL; /* reported: stop at the corruption */
	st_store(slab, st_inuse(st) + 1,
		 next ? slot_index(s, base, next) + 1 : 0);
	if (!next) {
		/* Full (or cut at a corruption): on the full list. */
		_mmt_slist_del(s->m, &n->partial, slab);
		_mmt_slist_add(s->m, &n->full, slab, false);
	}
	return slot;
}

/* Take the slab off its list onto the chain of slabs to discard. */
static void chain_slab(struct mmt_kmem_cache *s, struct _mmt_slist *l,
		       struct mmt_page *slab, uint32_t *chain)
{
	_mmt_slist_del(s->m, l, slab);
	atomic_fetch_sub_explicit(&SH(s)->total_objects,
				  (long)slab_objects(s, slab),
				  memory_order_relaxed);
	slab_meta(slab)->next = *chain;
	*chain = (uint32_t)_mmt_pfn(s->m, slab);
}

/* A slot back to its slab (list_lock of the slab's node held). */
static void slab_put_obj(struct mmt_kmem_cache *s, struct sh_node *n,
			 struct mmt_page *slab, void *slot, uint32_t *chain)
{
	uint64_t st = st_load(slab);
	unsigned int head = st_head(st), inuse = st_inuse(st);
	void *base = _mmt_slab_base(slab);

	MMT_ASSERT(inuse > 0);
	_mmt_set_freepointer(s, slot, head ? slot_at(s, base, head - 1) : NULL);
	st_store(slab, inuse - 1, slot_index(s, base, slot) + 1);
	if (!head) {
		/* It was full (or cut): back on the partial list, at the end. */
		_mmt_slist_del(s->m, &n->full, slab);
		_mmt_slist_add(s->m, &n->partial, slab, true);
	}
	if (inuse == 1 && n->partial.nr > min_partial(SH(s)))
		chain_slab(s, &n->partial, slab, chain);
}

static void discard_chain(struct mmt_kmem_cache *s, struct mmt_machine *m,
			  uint32_t chain)
{
	while (chain != MMT_PFN_NONE) {
		struct mmt_page *p = pfn_page(m, chain);

		chain = slab_meta(p)->next;
		_mmt_slab_discard(s, p);
	}
}

/* @nr slots back to their slabs (any nodes), each under its list_lock. */
static void free_to_slabs(struct mmt_kmem_cache *s, void *const *slots,
			  unsigned int nr, uint32_t *chain)
{
	struct mmt_machine *m = s->m;
	struct sh_node *held = NULL;
	unsigned long flags = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct mmt_page *slab = _mmt_virt_to_slab(m, slots[i]);
		struct sh_node *n = &SH(s)->node[slab_meta(slab)->node];

		if (n != held) {
			if (held)
				mmt_spin_unlock_irqrestore(&held->list_lock,
							   flags);
			mmt_spin_lock_irqsave(&n->list_lock, flags);
			held = n;
		}
		slab_put_obj(s, n, slab, slots[i], chain);
	}
	if (held)
		mmt_spin_unlock_irqrestore(&held->list_lock, flags);
}

/* Empty @f back to the slabs. */
static void sheaf_flush(struct mmt_kmem_cache *s, struct mmt_slab_sheaf *f,
			uint32_t *chain)
{
	free_to_slabs(s, f->objects, f->size, chain);
	f->size = 0;
}

/* A new slab on node @n's partial list (list_lock held). */
static void add_new_slab(struct mmt_kmem_cache *s, struct sh_node *n,
			 struct mmt_page *slab)
{
	st_store(slab, 0, 1); /* _mmt_slab_new chained the slots from 0 */
	_mmt_slist_add(s->m, &n->partial, slab, false);
	atomic_fetch_add_explicit(&SH(s)->total_objects,
				  (long)slab_objects(s, slab),
				  memory_order_relaxed);
}

/*
 * The first partial slab of @n an allocation may use: one not pfmemalloc,
 * else (@pfm_ok) a pfmemalloc one.
 */
static struct mmt_page *first_partial(struct mmt_kmem_cache *s,
				      struct sh_node *n, bool pfm_ok)
{
	struct mmt_page *pfm = NULL;
	uint32_t pfn = n->partial.first;
	unsigned int i;

	for (i = 0; i < n->partial.nr; i++) {
		struct mmt_page *p = pfn_page(s->m, pfn);

		if (!slab_is_pfmemalloc(p))
			return p;
		if (!pfm)
			pfm = p;
		pfn = slab_meta(p)->next;
	}
	return pfm_ok ? pfm : NULL;
}

/*
 * Up to @want slots for @gfp into @out from node @nid's partial slabs,
 * then from new slabs (no lock held across the page allocator).  A new
 * slab lands on the node its pages came from.  With __GFP_NOMEMALLOC
 * (every sheaf refill) no pfmemalloc slot is taken.  Returns the count.
 */
static unsigned int refill_objects(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				   int nid, void **out, unsigned int want)
{
	bool pfm_ok = _mmt_slab_pfmemalloc_ok(gfp);
	struct sh_node *n = &SH(s)->node[nid];
	unsigned int got = 0;
	unsigned long flags;
	struct mmt_page *slab;
	void *fl;

	mmt_spin_lock_irqsave(&n->list_lock, flags);
	while (got < want && (slab = first_partial(s, n, pfm_ok)))
		while (got < want && st_head(st_load(slab)))
			out[got++] = slab_get_obj(s, n, slab);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	while (got < want) {
		slab = _mmt_slab_new(s, gfp, nid, &fl);
		if (!slab)
			break;
		n = &SH(s)->node[slab_meta(slab)->node];
		mmt_spin_lock_irqsave(&n->list_lock, flags);
		add_new_slab(s, n, slab);
		if (!slab_is_pfmemalloc(slab) || pfm_ok)
			while (got < want && st_head(st_load(slab)))
				out[got++] = slab_get_obj(s, n, slab);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	return got;
}

/*
 * refill_sheaf(): fill @f to its capacity; -1 if it holds fewer than @min
 * objects then (what it got stays in it: the caller decides).
 */
static int refill_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int nid,
			struct mmt_slab_sheaf *f, unsigned int min)
{
	if (f->size < f->capacity)
		f->size += refill_objects(s, gfp, nid, f->objects + f->size,
					  f->capacity - f->size);
	return f->size >= min && f->size ? 0 : -1;
}

/* One slot from node @nid's slabs for @gfp: the paths that bypass sheaves. */
static MMT_NOINLINE void *alloc_from_slabs(struct mmt_kmem_cache *s,
					   mmt_gfp_t gfp, int nid)
{
	void *obj = NULL;

	return refill_objects(s, gfp, nid, &obj, 1) ? obj : NULL;
}

/* ---- the barn (its lock) ---- */

static struct mmt_slab_sheaf *barn_pop(struct mmt_slab_sheaf **list,
				       _Atomic unsigned int *nr)
{
	struct mmt_slab_sheaf *f = *list;

	if (f) {
		*list = f->next;
		f->next = NULL;
		atomic_store_explicit(
			nr, atomic_load_explicit(nr, memory_order_relaxed) - 1,
			memory_order_relaxed);
	}
	return f;
}

static void barn_push(struct mmt_slab_sheaf **list, _Atomic unsigned int *nr,
		      struct mmt_slab_sheaf *f)
{
	f->next = *list;
	*list = f;
	atomic_store_explicit(
		nr, atomic_load_explicit(nr, memory_order_relaxed) + 1,
		memory_order_relaxed);
}

static inline unsigned int barn_nr(_Atomic unsigned int *nr)
{
	return atomic_load_explicit(nr, memory_order_relaxed);
}

/* An empty sheaf to the barn, or freed if the barn has enough. */
static void barn_put_empty(struct mmt_kmem_cache *s, struct barn *b,
			   struct mmt_slab_sheaf *f)
{
	unsigned long flags;

	mmt_spin_lock_irqsave(&b->lock, flags);
	if (barn_nr(&b->nr_empty) < MAX_EMPTY_SHEAVES) {
		barn_push(&b->empty, &b->nr_empty, f);
		f = NULL;
	}
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	sheaf_free(s, f);
}

/*
 * A full sheaf to the barn; false (nothing done) when it has enough, or
 * when the cache is dead: mark_dead sets off before it empties the barns
 * under this lock, so a sheaf put here later would stay for ever.
 */
static bool barn_put_full(struct sheaves *sh, struct barn *b,
			  struct mmt_slab_sheaf *f)
{
	unsigned long flags;
	bool ok = false;

	mmt_spin_lock_irqsave(&b->lock, flags);
	if (barn_nr(&b->nr_full) < MAX_FULL_SHEAVES && !sheaves_off(sh)) {
		barn_push(&b->full, &b->nr_full, f);
		ok = true;
	}
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	return ok;
}

static struct mmt_slab_sheaf *barn_get(struct barn *b, bool full)
{
	unsigned long flags;
	struct mmt_slab_sheaf *f;

	mmt_spin_lock_irqsave(&b->lock, flags);
	f = full ? barn_pop(&b->full, &b->nr_full) :
		   barn_pop(&b->empty, &b->nr_empty);
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	return f;
}

/*
 * The rule of a dead cache (checked where a CPU meets it under its lock,
 * and by the validator): once mark_dead's flush is over, no sheaf of the
 * cache holds a free object - every CPU was flushed, and nothing puts one
 * back (alloc and free go to the slabs, the barn refuses full sheaves).
 * An object left there keeps its slab in use: the dead cache never goes.
 */
static MMT_COLD void report_dead_sheaves(struct mmt_kmem_cache *s, int cpu,
					 unsigned int main, unsigned int spare)
{
	mmt_violation(
		s->m, "dead-cache-leak",
		"dead cache %s: cpu %d's sheaves hold %u (main) + %u (spare) free object(s) after the flush of its deactivation: they keep their slabs in use for ever",
		s->name, cpu, main, spare);
}

static void dead_sheaves_check(struct mmt_kmem_cache *s, struct pcs *pcs,
			       int cpu)
{
	unsigned int spare = pcs->spare ? pcs->spare->size : 0;

	if (atomic_load_explicit(&SH(s)->dead_flushed, memory_order_relaxed) &&
	    (pcs->main->size || spare))
		report_dead_sheaves(s, cpu, pcs->main->size, spare);
}

/* ---- allocation ---- */

static inline void *sheaf_pop(struct mmt_slab_sheaf *f)
{
	return f->objects[--f->size];
}

/*
 * barn_replace_empty_sheaf(): @empty for a full sheaf of the barn, in one
 * hold of its lock; NULL (nothing done) when the barn has none.  @empty
 * joins the empty list, or is freed when the barn has MAX_EMPTY_SHEAVES.
 * The injected bug (MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED) links it without
 * counting it: nr_empty falls behind the list, and the limit, judged by the
 * count, no longer bounds the list ("slab-barn").
 */
static struct mmt_slab_sheaf *barn_exchange_empty(struct mmt_kmem_cache *s,
						  struct barn *b,
						  struct mmt_slab_sheaf *empty)
{
	struct mmt_slab_sheaf *full;
	unsigned long flags;

	mmt_spin_lock_irqsave(&b->lock, flags);
	full = barn_pop(&b->full, &b->nr_full);
	if (full && barn_nr(&b->nr_empty) < MAX_EMPTY_SHEAVES) {
		if (MMT_UNLIKELY(mmt_bug_on(
			    s->m, MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED))) {
			mmt_bug_hit(s->m, MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED,
				    true);
			empty->next = b->empty;
			b->empty = empty;
		} else {
			barn_push(&b->empty, &b->nr_empty, empty);
		}
		empty = NULL;
	}
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	if (full)
		sheaf_free(s, empty);
	return full;
}

/* Main is empty (pcs lock held): a spare or barn sheaf with objects. */
static bool replace_empty_main(struct mmt_kmem_cache *s, struct pcs *pcs,
			       struct barn *b)
{
	struct mmt_slab_sheaf *full;

	if (pcs->spare && pcs->spare->size) {
		full = pcs->spare;
		pcs->spare = pcs->main;
		pcs->main = full;
		return true;
	}
	if (pcs->spare) { /* both empty: exchange main with the barn */
		full = barn_exchange_empty(s, b, pcs->main);
	} else {
		full = barn_get(b, true);
		if (full)
			pcs->spare = pcs->main;
	}
	if (!full)
		return false;
	pcs->main = full;
	return true;
}

/*
 * Nothing in the sheaves or the barn: fill a sheaf from the slabs with the
 * lock dropped, then install it on the CPU we run on then.  Returns a slot
 * or NULL; unlocks.
 */
static MMT_NOINLINE void *alloc_refill(struct mmt_kmem_cache *s,
				       struct sheaves *sh, mmt_gfp_t gfp,
				       unsigned long flags)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct pcs *pcs = &sh->cpu[cpu->id];
	struct mmt_slab_sheaf *f = NULL;
	uint32_t chain = MMT_PFN_NONE;
	void *obj = NULL;

	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	/*
	 * The upstream bug (MMT_BUG_SHEAF_REFILL_MAY_BLOCK, fixed 2026)
	 * tested gfpflags_allow_blocking() here: a caller that may spin but
	 * not block (GFP_NOWAIT, GFP_ATOMIC, mempool_alloc's first attempt)
	 * got no refill and the allocation failed with memory to spare.
	 */
	if (MMT_UNLIKELY(mmt_bug_on(s->m, MMT_BUG_SHEAF_REFILL_MAY_BLOCK)) &&
	    mmt_bug_hit(s->m, MMT_BUG_SHEAF_REFILL_MAY_BLOCK,
			may_spin(gfp) && !(gfp & __GFP_DIRECT_RECLAIM)))
		return NULL;
	if (may_spin(gfp)) {
		f = barn_get(&sh->node[cpu->nid].barn, false);
		if (!f)
			f = sheaf_new(s, sh->capacity);
		if (f &&
		    refill_sheaf(s, gfp | __GFP_NOMEMALLOC, cpu->nid, f, 1)) {
			sheaf_free(s, f); /* nothing in it */
			f = NULL;
		}
	}
	if (f) {
		cpu = _mmt_this_cpu; /* reclaim may have moved us */
		pcs = &sh->cpu[cpu->id];
		mmt_spin_lock_irqsave(&pcs->lock, flags);
		if (MMT_UNLIKELY(sheaves_off(sh))) {
			/* Dead meanwhile: f is flushed below, nothing stays. */
			obj = sheaf_pop(f);
		} else {
			if (!pcs->main->size) {
				if (!pcs->spare)
					pcs->spare = pcs->main;
				else
					barn_put_empty(s,
						       &sh->node[cpu->nid].barn,
						       pcs->main);
				pcs->main = f;
				f = NULL;
			}
			obj = sheaf_pop(pcs->main);
		}
		if (f && f->size == f->capacity &&
		    barn_put_full(sh, &sh->node[cpu->nid].barn, f))
			f = NULL;
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		if (f) {
			sheaf_flush(s, f, &chain);
			sheaf_free(s, f);
			discard_chain(s, s->m, chain);
		}
		return obj;
	}
	/*
	 * The sheaf path failed (or the caller may not spin): one object from
	 * the slabs.  Only there may an entitled caller get an object of a
	 * pfmemalloc slab (or of a slab from the reserves): never in a sheaf.
	 */
	return alloc_from_slabs(s, gfp, _mmt_this_cpu->nid);
}

static void *sh_alloc(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct pcs *pcs;
	unsigned long flags;
	void *obj;

	if (MMT_UNLIKELY(node >= 0 && node != cpu->nid))
		return alloc_from_slabs(s, gfp, node);
	pcs = &sh->cpu[cpu->id];
	mmt_spin_lock_irqsave(&pcs->lock, flags);
	/* Under the lock: mark_dead's flush of this CPU is before or after. */
	if (MMT_UNLIKELY(sheaves_off(sh))) {
		dead_sheaves_check(s, pcs, cpu->id);
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		return alloc_from_slabs(s, gfp, cpu->nid);
	}
	if (MMT_LIKELY(pcs->main->size) ||
	    replace_empty_main(s, pcs, &sh->node[cpu->nid].barn)) {
		obj = sheaf_pop(pcs->main);
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		return obj;
	}
	return alloc_refill(s, sh, gfp, flags);
}

/* ---- free ---- */

static MMT_NOINLINE void free_one_to_slab(struct mmt_kmem_cache *s, void *slot)
{
	uint32_t chain = MMT_PFN_NONE;

	free_to_slabs(s, &slot, 1, &chain);
	discard_chain(s, s->m, chain);
}

/* Main is full (pcs lock held): make room in it. */
static MMT_NOINLINE void replace_full_main(struct mmt_kmem_cache *s,
					   struct sheaves *sh, struct pcs *pcs,
					   struct barn *b, uint32_t *chain)
{
	struct mmt_slab_sheaf *empty;

	if (pcs->spare && !pcs->spare->size) {
		empty = pcs->spare;
		pcs->spare = pcs->main;
		pcs->main = empty;
		return;
	}
	empty = barn_get(b, false);
	if (!empty)
		empty = sheaf_new(s, sh->capacity);
	if (empty && !pcs->spare) {
		pcs->spare = pcs->main;
		pcs->main = empty;
		return;
	}
	if (empty && barn_put_full(sh, b, pcs->main)) {
		pcs->main = empty;
		return;
	}
	/* The barn has enough full sheaves: main's objects go to slabs. */
	if (empty)
		barn_put_empty(s, b, empty);
	sheaf_flush(s, pcs->main, chain);
}

static bool sh_free(struct mmt_kmem_cache *s, struct mmt_page *slab, void *slot)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	uint32_t chain = MMT_PFN_NONE;
	struct mmt_slab_sheaf *main;
	struct pcs *pcs;
	unsigned long flags;

	if (MMT_UNLIKELY(slab_is_pfmemalloc(slab) ||
			 (int)slab_meta(slab)->node != cpu->nid)) {
		free_one_to_slab(s, slot);
		return true;
	}
	pcs = &sh->cpu[cpu->id];
	mmt_spin_lock_irqsave(&pcs->lock, flags);
	if (MMT_UNLIKELY(sheaves_off(sh))) {
		dead_sheaves_check(s, pcs, cpu->id);
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		free_one_to_slab(s, slot);
		return true;
	}
	main = pcs->main;
	if (MMT_UNLIKELY(main->size && main->objects[main->size - 1] == slot)) {
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		return false;
	}
	if (MMT_UNLIKELY(main->size == main->capacity)) {
		replace_full_main(s, sh, pcs, &sh->node[cpu->nid].barn, &chain);
		main = pcs->main;
	}
	main->objects[main->size++] = slot;
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	if (MMT_UNLIKELY(chain != MMT_PFN_NONE))
		discard_chain(s, s->m, chain);
	return true;
}

/* ---- kmalloc_nolock / kfree_nolock (6.18; 7.0 with sheaves only) ---- */

/*
 * One slot of node @nid's slabs with list_lock by trylock only: the first
 * partial slab that is not pfmemalloc, else a new slab of
 * alloc_pages_nolock pages (_mmt_slab_new under nospin_depth, no lock
 * held) listed on its node by another trylock.  If that one is busy the
 * fresh slab goes straight back by free_pages_nolock (the kernel defers
 * its release: defer_deactivate_slab).  NULL: busy or no pages.
 */
static MMT_NOINLINE void *alloc_from_slabs_nolock(struct mmt_kmem_cache *s,
						  mmt_gfp_t gfp, int nid)
{
	struct sh_node *n = &SH(s)->node[nid];
	struct mmt_page *slab;
	unsigned long flags;
	void *obj = NULL, *fl;

	if (mmt_spin_trylock_irqsave(&n->list_lock, flags)) {
		slab = first_partial(s, n, false);
		if (slab)
			obj = slab_get_obj(s, n, slab);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
		if (obj)
			return obj;
	}
	slab = _mmt_slab_new(s, gfp, nid, &fl);
	if (!slab)
		return NULL;
	/* alloc_pages_nolock never serves from the reserves: not pfmemalloc. */
	n = &SH(s)->node[slab_meta(slab)->node];
	if (!mmt_spin_trylock_irqsave(&n->list_lock, flags)) {
		_mmt_slab_discard_fresh_nolock(s, slab);
		return NULL;
	}
	add_new_slab(s, n, slab);
	obj = slab_get_obj(s, n, slab);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return obj;
}

/*
 * kmalloc_nolock's allocation (kernel 6.18's alloc_from_pcs() for a
 * caller that may not spin): this CPU's sheaves lock by trylock (the
 * kernel's local_trylock; busy: *busy, the common part retries in the
 * next size class) - main, the spare, a full sheaf of the barn by trylock
 * of the barn lock.  No sheaf is refilled (that is a batch of list_lock
 * work and maybe a new sheaf): with nothing at hand, one object from the
 * local slabs by trylock.  Another node asked for, or a dead cache: that
 * node's slabs the same way.
 */
static void *sh_alloc_nolock(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node,
			     bool *busy)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct mmt_slab_sheaf *full = NULL;
	struct pcs *pcs;
	struct barn *b;
	unsigned long flags, bflags;
	void *obj = NULL;

	*busy = false;
	if ((node >= 0 && node != cpu->nid) || sheaves_off(sh))
		return alloc_from_slabs_nolock(s, gfp,
					       node >= 0 ? node : cpu->nid);
	pcs = &sh->cpu[cpu->id];
	if (!mmt_spin_trylock_irqsave(&pcs->lock, flags)) {
		*busy = true;
		return NULL;
	}
	if (!pcs->main->size && pcs->spare && pcs->spare->size) {
		full = pcs->spare;
		pcs->spare = pcs->main;
		pcs->main = full;
	} else if (!pcs->main->size) {
		b = &sh->node[cpu->nid].barn;
		if (barn_nr(&b->nr_full) &&
		    mmt_spin_trylock_irqsave(&b->lock, bflags)) {
			full = barn_pop(&b->full, &b->nr_full);
			if (full && pcs->spare &&
			    barn_nr(&b->nr_empty) < MAX_EMPTY_SHEAVES) {
				barn_push(&b->empty, &b->nr_empty, pcs->main);
				pcs->main = full;
			} else if (full && !pcs->spare) {
				pcs->spare = pcs->main;
				pcs->main = full;
			} else if (full) {
				/* No room for the empty one: leave it be. */
				barn_push(&b->full, &b->nr_full, full);
			}
			mmt_spin_unlock_irqrestore(&b->lock, bflags);
		}
	}
	if (pcs->main->size)
		obj = sheaf_pop(pcs->main);
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	return obj ? obj : alloc_from_slabs_nolock(s, gfp, cpu->nid);
}

/*
 * kfree_nolock's free: into this CPU's main sheaf by trylock; a full main
 * is swapped with an empty spare or exchanged for an empty sheaf of the
 * barn (trylock); anything else - the lock busy, no room without a new
 * sheaf or a flush to slabs, an object of another node or of a pfmemalloc
 * slab, a dead cache - is MMT_FREE_NOLOCK_BUSY: the common part defers it
 * to the next ordinary free on this CPU (the kernel's irq_work).
 */
static int sh_free_nolock(struct mmt_kmem_cache *s, struct mmt_page *slab,
			  void *slot)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct mmt_slab_sheaf *main, *empty = NULL;
	struct pcs *pcs;
	struct barn *b;
	unsigned long flags, bflags;
	int ret = MMT_FREE_NOLOCK_DONE;

	if (slab_is_pfmemalloc(slab) ||
	    (int)slab_meta(slab)->node != cpu->nid || sheaves_off(sh))
		return MMT_FREE_NOLOCK_BUSY;
	pcs = &sh->cpu[cpu->id];
	if (!mmt_spin_trylock_irqsave(&pcs->lock, flags))
		return MMT_FREE_NOLOCK_BUSY;
	main = pcs->main;
	if (sheaves_off(sh)) {
		ret = MMT_FREE_NOLOCK_BUSY; /* died before we got the lock */
		goto out;
	}
	if (main->size && main->objects[main->size - 1] == slot) {
		ret = MMT_FREE_NOLOCK_REFUSED;
		goto out;
	}
	if (main->size == main->capacity) {
		b = &sh->node[cpu->nid].barn;
		if (pcs->spare && !pcs->spare->size) {
			empty = pcs->spare;
			pcs->spare = main;
		} else if (barn_nr(&b->nr_empty) &&
			   barn_nr(&b->nr_full) < MAX_FULL_SHEAVES &&
			   mmt_spin_trylock_irqsave(&b->lock, bflags)) {
			/* The racy looks again, under the lock. */
			if (barn_nr(&b->nr_full) < MAX_FULL_SHEAVES)
				empty = barn_pop(&b->empty, &b->nr_empty);
			if (empty)
				barn_push(&b->full, &b->nr_full, main);
			mmt_spin_unlock_irqrestore(&b->lock, bflags);
		}
		if (!empty) {
			ret = MMT_FREE_NOLOCK_BUSY;
			goto out;
		}
		pcs->main = main = empty;
	}
	main->objects[main->size++] = slot;
out:
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	return ret;
}

/* ---- prefilled sheaves ---- */

static void prefilled_link(struct sheaves *sh, struct mmt_slab_sheaf *f)
{
	unsigned long flags;

	mmt_spin_lock_irqsave(&sh->prefill_lock, flags);
	f->next = sh->prefilled;
	sh->prefilled = f;
	mmt_spin_unlock_irqrestore(&sh->prefill_lock, flags);
}

static void prefilled_unlink(struct sheaves *sh, struct mmt_slab_sheaf *f)
{
	struct mmt_slab_sheaf **pp;
	unsigned long flags;

	mmt_spin_lock_irqsave(&sh->prefill_lock, flags);
	for (pp = &sh->prefilled; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	f->next = NULL;
	mmt_spin_unlock_irqrestore(&sh->prefill_lock, flags);
}

/*
 * A refill failed with objects in @f: give them back and free it.  The
 * injected bug (MMT_BUG_SHEAF_REFILL_FAIL_LEAK, an upstream fix of 2025)
 * frees it as if it were empty: the objects in it stay in use in their
 * slabs for ever, and the free-time check reports the non-empty sheaf.
 */
static void drop_partial_sheaf(struct mmt_kmem_cache *s,
			       struct mmt_slab_sheaf *f)
{
	uint32_t chain = MMT_PFN_NONE;

	if (MMT_UNLIKELY(mmt_bug_on(s->m, MMT_BUG_SHEAF_REFILL_FAIL_LEAK))) {
		mmt_bug_hit(s->m, MMT_BUG_SHEAF_REFILL_FAIL_LEAK, f->size > 0);
		sheaf_free(s, f);
		return;
	}
	sheaf_flush(s, f, &chain);
	sheaf_free(s, f);
	discard_chain(s, s->m, chain);
}

static struct mmt_slab_sheaf *
sh_prefill_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp, unsigned int count)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct mmt_slab_sheaf *f = NULL;
	unsigned long flags;
	int nid = cpu->nid;

	if (count > sh->capacity) {
		f = sheaf_new(s, count); /* oversize: exactly count */
	} else if (!sheaves_off(sh)) {
		struct pcs *pcs = &sh->cpu[cpu->id];

		mmt_spin_lock_irqsave(&pcs->lock, flags);
		if (pcs->spare && pcs->spare->size >= count) {
			f = pcs->spare;
			pcs->spare = NULL;
		}
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		if (!f)
			f = barn_get(&sh->node[nid].barn, true);
		if (!f)
			f = barn_get(&sh->node[nid].barn, false);
	}
	if (!f)
		f = sheaf_new(s, sh->capacity);
	if (!f)
		return NULL;
	if (f->size < count &&
	    refill_sheaf(s, gfp | __GFP_NOMEMALLOC, nid, f, count)) {
		drop_partial_sheaf(s, f);
		return NULL;
	}
	f->node = nid;
	prefilled_link(sh, f);
	return f;
}

/* A non-oversize sheaf refilled short of @count keeps what it got. */
static int sh_refill_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			   struct mmt_slab_sheaf *f, unsigned int count)
{
	return refill_sheaf(s, gfp | __GFP_NOMEMALLOC, _mmt_this_cpu->nid, f,
			    count);
}

/*
 * The refill of a returned sheaf runs with __GFP_NOMEMALLOC: the sheaf goes
 * to the barn, where any caller takes objects.  The upstream bug
 * (MMT_BUG_SHEAF_RETURN_PFMEMALLOC) refilled with the caller's gfp, so an
 * entitled caller's return put pfmemalloc objects into the barn.
 */
static mmt_gfp_t return_refill_gfp(struct mmt_kmem_cache *s, mmt_gfp_t gfp)
{
	if (MMT_UNLIKELY(mmt_bug_on(s->m, MMT_BUG_SHEAF_RETURN_PFMEMALLOC))) {
		mmt_bug_hit(s->m, MMT_BUG_SHEAF_RETURN_PFMEMALLOC,
			    !(gfp & __GFP_NOMEMALLOC));
		return gfp;
	}
	return gfp | __GFP_NOMEMALLOC;
}

static void sh_return_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			    struct mmt_slab_sheaf *f)
{
	struct sheaves *sh = SH(s);
	struct mmt_cpu *cpu = _mmt_this_cpu;
	uint32_t chain = MMT_PFN_NONE;
	struct barn *b = &sh->node[cpu->nid].barn;
	unsigned long flags;

	prefilled_unlink(sh, f);
	f->node = -1;
	if (f->capacity == sh->capacity && !sheaves_off(sh)) {
		struct pcs *pcs = &sh->cpu[cpu->id];

		mmt_spin_lock_irqsave(&pcs->lock, flags);
		if (!pcs->spare && !sheaves_off(sh)) {
			pcs->spare = f;
			f = NULL;
		}
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
		if (!f)
			return;
		if (barn_nr(&b->nr_full) < MAX_FULL_SHEAVES &&
		    !refill_sheaf(s, return_refill_gfp(s, gfp), cpu->nid, f,
				  f->capacity) &&
		    barn_put_full(sh, b, f))
			return;
	}
	sheaf_flush(s, f, &chain);
	sheaf_free(s, f);
	discard_chain(s, s->m, chain);
}

/* ---- the rcu_free sheaf (kvfree_rcu) ---- */

/* A grace period after call_rcu: the objects are freed, the sheaf goes. */
static void rcu_free_sheaf_cb(struct mmt_rcu_head *head)
{
	struct mmt_slab_sheaf *f =
		(struct mmt_slab_sheaf *)(void *)((char *)head -
						  offsetof(struct mmt_slab_sheaf,
							   rcu));
	struct mmt_kmem_cache *s = f->cache;

	_mmt_kvfree_rcu_sheaf_done(s->m, f->objects, f->size);
	f->size = 0;
	sheaf_free(s, f);
}

/* A detached rcu_free sheaf (no lock held): to call_rcu, or freed empty. */
static void rcu_free_submit(struct mmt_kmem_cache *s, struct mmt_slab_sheaf *f)
{
	if (!f)
		return;
	if (!f->size) {
		sheaf_free(s, f);
		return;
	}
	mmt_call_rcu(&f->rcu, rcu_free_sheaf_cb);
}

/*
 * __kfree_rcu_sheaf(): @obj (allocated) into this CPU's rcu_free sheaf,
 * with a trylock of the per-cpu lock as the kernel's; false (the caller
 * uses kvfree_rcu's blocks) when the lock is busy, the cache is dead or no
 * empty sheaf can be had.
 */
static bool sh_kvfree_rcu(struct mmt_kmem_cache *s, void *obj)
{
	struct sheaves *sh = SH(s);
	struct pcs *pcs;
	struct mmt_slab_sheaf *f, *full = NULL;
	unsigned long flags;

	if (!sh || sheaves_off(sh))
		return false;
	pcs = &sh->cpu[_mmt_this_cpu->id];
	if (!mmt_spin_trylock_irqsave(&pcs->lock, flags))
		return false;
	f = pcs->rcu_free;
	if (!f) {
		f = barn_get(&sh->node[_mmt_this_cpu->nid].barn, false);
		if (!f)
			f = sheaf_new(s, sh->capacity);
		if (!f) {
			mmt_spin_unlock_irqrestore(&pcs->lock, flags);
			return false;
		}
		pcs->rcu_free = f;
	}
	f->objects[f->size++] = obj;
	if (f->size == f->capacity) {
		full = f;
		pcs->rcu_free = NULL;
	}
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	rcu_free_submit(s, full);
	return true;
}

static struct mmt_slab_sheaf *rcu_free_detach(struct sheaves *sh, int cpu)
{
	struct pcs *pcs = &sh->cpu[cpu];
	struct mmt_slab_sheaf *f;
	unsigned long flags;

	mmt_spin_lock_irqsave(&pcs->lock, flags);
	f = pcs->rcu_free;
	pcs->rcu_free = NULL;
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	return f;
}

static void sh_rcu_sheaf_flush(struct mmt_kmem_cache *s)
{
	int c;

	if (!SH(s))
		return;
	for (c = 0; c < s->m->nr_cpus; c++)
		rcu_free_submit(s, rcu_free_detach(SH(s), c));
}

/* ---- flushing ---- */

/*
 * Every object of @cpu's sheaves back to the slabs; the spare goes; the
 * rcu_free sheaf goes to call_rcu (its objects are still allocated).
 */
static void flush_cpu_to(struct mmt_kmem_cache *s, int cpu, uint32_t *chain)
{
	struct pcs *pcs = &SH(s)->cpu[cpu];
	struct mmt_slab_sheaf *spare, *rcu;
	unsigned long flags;

	/*
	 * Under PREEMPT_RT the per-cpu sheaves lock sleeps and its sections
	 * are preemptible: the flush work on @cpu may find the lock held by
	 * a task preempted inside its section (here: another CPU flushing
	 * @cpu finds its owner inside one).  It must wait for it.  The
	 * upstream bug (MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK, fixed 2026) used
	 * local_trylock and returned silently when it failed, leaving the
	 * objects behind.  (Without RT the kernel's work cannot run inside
	 * the owner's section, so its trylock there never fails: the model's
	 * remote flush, which can, waits.)
	 */
	if (MMT_UNLIKELY(s->m->cfg.rt_rules &&
			 mmt_bug_on(s->m, MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK))) {
		if (!mmt_spin_trylock_irqsave(&pcs->lock, flags)) {
			/* The main sheaf's objects left behind. */
			mmt_bug_hit(s->m, MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK, true);
			return;
		}
	} else {
		mmt_spin_lock_irqsave(&pcs->lock, flags);
	}
	sheaf_flush(s, pcs->main, chain);
	spare = pcs->spare;
	pcs->spare = NULL;
	if (spare)
		sheaf_flush(s, spare, chain);
	rcu = pcs->rcu_free;
	pcs->rcu_free = NULL;
	mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	sheaf_free(s, spare);
	rcu_free_submit(s, rcu);
}

static void sh_flush_cpu(struct mmt_kmem_cache *s, int cpu)
{
	uint32_t chain = MMT_PFN_NONE;

	if (!SH(s))
		return;
	flush_cpu_to(s, cpu, &chain);
	discard_chain(s, s->m, chain);
}

/* Every sheaf of @n's barn flushed and freed. */
static void flush_barn(struct mmt_kmem_cache *s, struct sh_node *n,
		       uint32_t *chain)
{
	struct barn *b = &n->barn;
	struct mmt_slab_sheaf *full, *empty, *f;
	unsigned long flags;

	mmt_spin_lock_irqsave(&b->lock, flags);
	full = b->full;
	empty = b->empty;
	b->full = b->empty = NULL;
	atomic_store_explicit(&b->nr_full, 0, memory_order_relaxed);
	atomic_store_explicit(&b->nr_empty, 0, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	while ((f = full)) {
		full = f->next;
		sheaf_flush(s, f, chain);
		sheaf_free(s, f);
	}
	while ((f = empty)) {
		empty = f->next;
		sheaf_free(s, f);
	}
}

/* Every empty slab of every node on the chain (shrink, dead cache). */
static void free_empty_slabs(struct mmt_kmem_cache *s, uint32_t *chain)
{
	struct sheaves *sh = SH(s);
	int nid;

	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct sh_node *n = &sh->node[nid];
		unsigned long flags;
		unsigned int k, nr;
		uint32_t pfn;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		nr = n->partial.nr;
		pfn = n->partial.first;
		for (k = 0; k < nr; k++) {
			struct mmt_page *slab = pfn_page(s->m, pfn);

			pfn = slab_meta(slab)->next;
			if (!st_inuse(st_load(slab)))
				chain_slab(s, &n->partial, slab, chain);
		}
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
}

static void sh_shrink(struct mmt_kmem_cache *s)
{
	uint32_t chain = MMT_PFN_NONE;
	int i;

	if (!SH(s))
		return;
	for (i = 0; i < s->m->nr_cpus; i++)
		flush_cpu_to(s, i, &chain);
	for (i = 0; i < s->m->nr_nodes; i++)
		flush_barn(s, &SH(s)->node[i], &chain);
	free_empty_slabs(s, &chain);
	discard_chain(s, s->m, chain);
}

static void sh_mark_dead(struct mmt_kmem_cache *s)
{
	if (!SH(s))
		return;
	atomic_store_explicit(&SH(s)->min_partial, 0, memory_order_relaxed);
	atomic_store_explicit(&SH(s)->off, true, memory_order_relaxed);
	sh_shrink(s);
	atomic_store_explicit(&SH(s)->dead_flushed, true, memory_order_relaxed);
}

static bool sheaf_has_pfmemalloc(struct mmt_machine *m,
				 const struct mmt_slab_sheaf *f)
{
	unsigned int i;

	for (i = 0; f && i < f->size; i++)
		if (slab_is_pfmemalloc(_mmt_virt_to_slab(m, f->objects[i])))
			return true;
	return false;
}

/* Move the pfmemalloc objects of @f to their slabs. */
static void sheaf_drop_pfmemalloc(struct mmt_kmem_cache *s,
				  struct mmt_slab_sheaf *f, uint32_t *chain)
{
	unsigned int i, w = 0;

	for (i = 0; f && i < f->size; i++) {
		void *o = f->objects[i];

		if (slab_is_pfmemalloc(_mmt_virt_to_slab(s->m, o)))
			free_to_slabs(s, &o, 1, chain);
		else
			f->objects[w++] = o;
	}
	if (f)
		f->size = w;
}

static void sh_memalloc_socks_off(struct mmt_kmem_cache *s)
{
	struct sheaves *sh = SH(s);
	uint32_t chain = MMT_PFN_NONE;
	unsigned long flags;
	int i;

	if (!sh)
		return;
	for (i = 0; i < s->m->nr_cpus; i++) {
		struct pcs *pcs = &sh->cpu[i];

		mmt_spin_lock_irqsave(&pcs->lock, flags);
		sheaf_drop_pfmemalloc(s, pcs->main, &chain);
		sheaf_drop_pfmemalloc(s, pcs->spare, &chain);
		mmt_spin_unlock_irqrestore(&pcs->lock, flags);
	}
	for (i = 0; i < s->m->nr_nodes; i++) {
		struct barn *b = &sh->node[i].barn;
		struct mmt_slab_sheaf *f, *keep = NULL, *part = NULL;

		/* A full sheaf that loses objects is full no more. */
		mmt_spin_lock_irqsave(&b->lock, flags);
		while ((f = barn_pop(&b->full, &b->nr_full))) {
			f->next = keep;
			keep = f;
		}
		mmt_spin_unlock_irqrestore(&b->lock, flags);
		while ((f = keep)) {
			keep = f->next;
			sheaf_drop_pfmemalloc(s, f, &chain);
			if (f->size == f->capacity && barn_put_full(sh, b, f))
				continue;
			f->next = part;
			part = f;
		}
		while ((f = part)) {
			part = f->next;
			sheaf_flush(s, f, &chain);
			barn_put_empty(s, b, f);
		}
	}
	discard_chain(s, s->m, chain);
}

/* @cpu's sheaves, or its node's barn, hold a pfmemalloc object. */
static bool sh_pfmemalloc_in_percpu(struct mmt_kmem_cache *s, int cpu)
{
	struct sheaves *sh = SH(s);
	struct barn *b;
	struct mmt_slab_sheaf *f;
	unsigned long flags;
	bool found;

	if (!sh)
		return false;
	mmt_spin_lock_irqsave(&sh->cpu[cpu].lock, flags);
	found = sheaf_has_pfmemalloc(s->m, sh->cpu[cpu].main) ||
		sheaf_has_pfmemalloc(s->m, sh->cpu[cpu].spare);
	mmt_spin_unlock_irqrestore(&sh->cpu[cpu].lock, flags);
	b = &sh->node[s->m->cpus[cpu].nid].barn;
	mmt_spin_lock_irqsave(&b->lock, flags);
	for (f = b->full; f && !found; f = f->next)
		found = sheaf_has_pfmemalloc(s->m, f);
	mmt_spin_unlock_irqrestore(&b->lock, flags);
	return found;
}

/* ---- cache life ---- */

static unsigned int ilog2u(unsigned int x)
{
	return 31u - (unsigned int)__builtin_clz(x);
}

/*
 * @gone: the machine is going away (cache_free_state): the outstanding
 * prefilled sheaves go too - their holders' runs have ended without
 * returning them (a finding or a blocked end skips the teardown).  Else
 * (cache_release: a destroy with one out, reported) the holder still has
 * it and may give it back.
 */
/* Host pointers in order, for the teardown's one-free-each. */
static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a,
		  y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

static void collect(struct mmt_slab_sheaf ***v, size_t *n, size_t *cap,
		    struct mmt_slab_sheaf *f)
{
	if (!f)
		return;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct mmt_slab_sheaf **nv = realloc(*v, c * sizeof(**v));

		if (!nv)
			return; /* leak rather than risk a double free */
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = f;
}

/*
 * The sheaves go once each.  A run that stopped (a finding, a blocked end)
 * abandons its fibers where they stand, which may be between two halves
 * of a move: a sheaf already pushed on a barn list and still a CPU's main
 * one (the barn lock's release is a scheduling point).  So every sheaf
 * reachable from the cpus, the barns and the prefilled list is collected,
 * sorted and freed once.
 */
static void free_state(struct mmt_kmem_cache *s, bool gone)
{
	struct sheaves *sh = SH(s);
	struct mmt_slab_sheaf **v = NULL, *f;
	size_t n = 0, cap = 0, k;
	int i;

	if (!sh)
		return;
	if (sh->cpu)
		for (i = 0; i < s->m->nr_cpus; i++) {
			collect(&v, &n, &cap, sh->cpu[i].main);
			collect(&v, &n, &cap, sh->cpu[i].spare);
			/* its objects leak: reported */
			collect(&v, &n, &cap, sh->cpu[i].rcu_free);
		}
	if (sh->node)
		for (i = 0; i < s->m->nr_nodes; i++) {
			for (f = sh->node[i].barn.full; f; f = f->next)
				collect(&v, &n, &cap, f);
			for (f = sh->node[i].barn.empty; f; f = f->next)
				collect(&v, &n, &cap, f);
		}
	while (sh->prefilled) {
		f = sh->prefilled;
		sh->prefilled = f->next;
		f->next = NULL;
		if (gone)
			collect(&v, &n, &cap, f);
	}
	if (n)
		qsort(v, n, sizeof(*v), ptr_cmp);
	for (k = 0; k < n; k++)
		if (!k || v[k] != v[k - 1])
			free(v[k]);
	free(v);
	free(sh->cpu);
	free(sh->node);
	free(sh);
	s->impl = NULL;
}

static int sh_cache_init(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	struct sheaves *sh = calloc(1, sizeof(*sh));
	unsigned int mp;
	int i;

	if (!sh)
		return -1;
	s->impl = sh;
	sh->capacity = s->sheaf_capacity ? s->sheaf_capacity :
					   _mmt_sheaf_default_capacity(s->size);
	/* min_partial = clamp(ilog2(size) / 2, 5, 10), as SLUB. */
	mp = ilog2u(s->size) / 2;
	atomic_init(&sh->min_partial, mp < 5 ? 5 : mp > 10 ? 10 : mp);
	mmt_spin_lock_init(&sh->prefill_lock, &prefill_lock_class);
	sh->cpu = aligned_alloc(64, sizeof(*sh->cpu) * (size_t)m->nr_cpus);
	sh->node = aligned_alloc(64, sizeof(*sh->node) * (size_t)m->nr_nodes);
	if (!sh->cpu || !sh->node)
		goto fail;
	memset(sh->cpu, 0, sizeof(*sh->cpu) * (size_t)m->nr_cpus);
	memset(sh->node, 0, sizeof(*sh->node) * (size_t)m->nr_nodes);
	for (i = 0; i < m->nr_cpus; i++) {
		mmt_spin_lock_init(&sh->cpu[i].lock, &pcs_lock_class);
		sh->cpu[i].main = sheaf_new(s, sh->capacity);
		if (!sh->cpu[i].main)
			goto fail;
	}
	for (i = 0; i < m->nr_nodes; i++) {
		struct sh_node *n = &sh->node[i];

		mmt_spin_lock_init(&n->list_lock, &list_lock_class);
		mmt_spin_lock_init(&n->barn.lock, &barn_lock_class);
		n->partial.first = n->full.first = MMT_PFN_NONE;
		n->nid = i;
	}
	return 0;
fail:
	free_state(s, true);
	return -1;
}

static void sh_cache_release(struct mmt_kmem_cache *s)
{
	struct sheaves *sh = SH(s);
	struct mmt_machine *m = s->m;
	uint32_t chain = MMT_PFN_NONE;
	int nid;

	if (!sh)
		return;
	for (nid = 0; nid < m->nr_nodes; nid++)
		flush_barn(s, &sh->node[nid], &chain);
	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct sh_node *n = &sh->node[nid];
		struct _mmt_slist *lists[2] = { &n->partial, &n->full };
		unsigned long flags;
		int l;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		for (l = 0; l < 2; l++)
			while (lists[l]->nr)
				chain_slab(s, lists[l],
					   pfn_page(m, lists[l]->first),
					   &chain);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	free_state(s, false);
	discard_chain(s, m, chain);
}

static void sh_cache_free_state(struct mmt_kmem_cache *s)
{
	free_state(s, true);
}

static long sheaf_objects(const struct mmt_slab_sheaf *f)
{
	long sum = 0;

	for (; f; f = f->next)
		sum += f->size;
	return sum;
}

static long sh_free_objects(struct mmt_kmem_cache *s)
{
	struct sheaves *sh = SH(s);

	if (!sh)
		return 0;
	/* Every slot not handed out: in a slab's freelist or in a sheaf. */
	return atomic_load_explicit(&sh->total_objects, memory_order_relaxed) -
	       _mmt_cache_live(s);
}

/* ---- validation ---- */

struct vslab {
	uint32_t pfn;
	unsigned int objects;
	uint8_t *seen; /* a free slot was met (freelist or sheaf) */
};

static int vslab_cmp(const void *a, const void *b)
{
	const struct vslab *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static bool check_list(struct mmt_kmem_cache *s, struct sh_node *n,
		       struct _mmt_slist *l, bool full, struct vslab *v,
		       size_t *nv, size_t cap, long *inuse_sum)
{
	struct mmt_machine *m = s->m;
	const char *what = full ? "full" : "partial";
	uint32_t pfn = l->first;
	unsigned int i;
	bool ok = true;

	for (i = 0; i < l->nr; i++) {
		struct mmt_page *p;
		unsigned int inuse, objects;
		uint64_t st;

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
		st = st_load(p);
		inuse = st_inuse(st);
		objects = slab_objects(s, p);
		if (full != (st_head(st) == 0) || inuse > objects)
			ok = mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: slab pfn %u with %u of %u objects in use is on the %s list",
				s->name, n->nid, pfn, inuse, objects, what);
		v[*nv].pfn = pfn;
		v[*nv].objects = objects;
		(*nv)++;
		*inuse_sum += inuse;
		pfn = slab_meta(p)->next;
	}
	if (l->nr ? pfn != l->first : l->first != MMT_PFN_NONE)
		ok = mmt_violation(
			m, "slab-node-partial",
			"cache %s node %d: %s list does not close after %u slabs",
			s->name, n->nid, what, l->nr);
	return ok;
}

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
	if (st_inuse(st) + nr != vs->objects)
		return mmt_violation(
			s->m, "slab-inuse",
			"cache %s slab pfn %u: %u in use + %u free != %u objects",
			s->name, vs->pfn, st_inuse(st), nr, vs->objects);
	return true;
}

/* One sheaf: its objects are distinct in-use slots of the cache's slabs. */
static bool check_sheaf(struct mmt_kmem_cache *s,
			const struct mmt_slab_sheaf *f, const char *what,
			int id, struct vslab *v, size_t nv, long *cached)
{
	struct mmt_machine *m = s->m;
	unsigned int i;

	if (f->size > f->capacity || f->cache != s)
		return mmt_violation(
			m, "slab-sheaf",
			"cache %s %s %d: size %u, capacity %u, cache %s",
			s->name, what, id, f->size, f->capacity,
			f->cache ? f->cache->name : "(none)");
	for (i = 0; i < f->size; i++) {
		void *slot = f->objects[i];
		struct mmt_page *p = _mmt_virt_to_slab(m, slot);
		struct vslab key, *vs = NULL;
		unsigned int idx;

		if (p) {
			key.pfn = (uint32_t)_mmt_pfn(m, p);
			vs = bsearch(&key, v, nv, sizeof(*v), vslab_cmp);
		}
		if (!vs || (size_t)((char *)slot - (char *)_mmt_slab_base(p)) %
				   s->size)
			return mmt_violation(
				m, "slab-sheaf",
				"cache %s %s %d: object %u (%p) is no slot of a slab of this cache",
				s->name, what, id, i, slot);
		if (slab_is_pfmemalloc(p))
			return mmt_violation(
				m, "pfmemalloc-sheaf",
				"cache %s %s %d: object %p of a pfmemalloc slab sits where an ordinary caller takes objects",
				s->name, what, id, slot);
		idx = slot_index(s, _mmt_slab_base(p), slot);
		if (vs->seen[idx])
			return mmt_violation(
				m, "slab-sheaf",
				"cache %s %s %d: object %p is free twice (on its slab's freelist or in another sheaf)",
				s->name, what, id, slot);
#if MMT_DEBUG >= 1
		if (slab_meta(p)->allocmap &&
		    (slab_meta(p)->allocmap[idx / 8] >> (idx % 8)) & 1)
			return mmt_violation(
				m, "slab-sheaf",
				"cache %s %s %d: object %p is in a sheaf while it is handed out",
				s->name, what, id, slot);
#endif
		vs->seen[idx] = 1;
	}
	*cached += f->size;
	return true;
}

/* The rcu_free sheaf holds allocated objects of the cache, not full. */
static bool check_rcu_sheaf(struct mmt_kmem_cache *s,
			    const struct mmt_slab_sheaf *f, int cpu)
{
	unsigned int i;

	if (f->size >= f->capacity || f->cache != s)
		return mmt_violation(
			s->m, "slab-sheaf",
			"cache %s cpu %d: rcu_free sheaf of %u/%u object(s) not handed to call_rcu",
			s->name, cpu, f->size, f->capacity);
	for (i = 0; i < f->size; i++) {
		struct mmt_page *p = _mmt_virt_to_slab(s->m, f->objects[i]);

		if (!p || slab_meta(p)->cache != s)
			return mmt_violation(
				s->m, "slab-sheaf",
				"cache %s cpu %d: rcu_free sheaf object %p is not of this cache",
				s->name, cpu, f->objects[i]);
	}
	return true;
}

static bool check_barn(struct mmt_kmem_cache *s, struct sh_node *n,
		       struct vslab *v, size_t nv, long *cached)
{
	struct barn *b = &n->barn;
	const struct mmt_slab_sheaf *f;
	unsigned int nf = 0, ne = 0;
	bool ok = true;

	for (f = b->full; f && ok; f = f->next, nf++) {
		if (f->size != f->capacity || f->capacity != SH(s)->capacity)
			return mmt_violation(
				s->m, "slab-barn",
				"cache %s node %d: a sheaf on the barn's full list holds %u of %u (capacity %u)",
				s->name, n->nid, f->size, f->capacity,
				SH(s)->capacity);
		ok = check_sheaf(s, f, "barn full sheaf of node", n->nid, v, nv,
				 cached);
	}
	for (f = b->empty; f && ok; f = f->next, ne++)
		if (f->size)
			return mmt_violation(
				s->m, "slab-barn",
				"cache %s node %d: a sheaf on the barn's empty list holds %u object(s)",
				s->name, n->nid, f->size);
	if (ok && (nf != barn_nr(&b->nr_full) || ne != barn_nr(&b->nr_empty) ||
		   nf > MAX_FULL_SHEAVES || ne > MAX_EMPTY_SHEAVES))
		ok = mmt_violation(
			s->m, "slab-barn",
			"cache %s node %d: barn counts full %u empty %u, lists %u and %u (limits %d, %d)",
			s->name, n->nid, barn_nr(&b->nr_full),
			barn_nr(&b->nr_empty), nf, ne, MAX_FULL_SHEAVES,
			MAX_EMPTY_SHEAVES);
	return ok;
}

static bool sh_is_valid(struct mmt_kmem_cache *s)
{
	struct sheaves *sh = SH(s);
	struct mmt_machine *m = s->m;
	size_t cap = 0, nv = 0, i, seen_bytes = 0;
	long inuse_sum = 0, cached = 0, live, total = 0;
	const struct mmt_slab_sheaf *f;
	struct vslab *v;
	uint8_t *seen;
	bool ok = true;
	int nid, c;

	if (!sh)
		return true;
	for (nid = 0; nid < m->nr_nodes; nid++)
		cap += sh->node[nid].partial.nr + sh->node[nid].full.nr;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return true; /* no host memory: cannot judge */
	for (nid = 0; nid < m->nr_nodes && ok; nid++) {
		struct sh_node *n = &sh->node[nid];

		ok &= check_list(s, n, &n->partial, false, v, &nv, cap,
				 &inuse_sum);
		ok &= check_list(s, n, &n->full, true, v, &nv, cap, &inuse_sum);
	}
	if (!ok) {
		free(v);
		return false;
	}
	for (i = 0; i < nv; i++)
		total += v[i].objects;
	if (total !=
	    atomic_load_explicit(&sh->total_objects, memory_order_relaxed))
		ok = mmt_violation(
			m, "slab-node-partial",
			"cache %s: total_objects %ld, its listed slabs have %ld slots",
			s->name,
			atomic_load_explicit(&sh->total_objects,
					     memory_order_relaxed),
			total);
	seen = calloc((size_t)total + 1, 1);
	if (!seen) {
		free(v);
		return ok;
	}
	qsort(v, nv, sizeof(*v), vslab_cmp);
	for (i = 0, seen_bytes = 0; i < nv; i++) {
		v[i].seen = seen + seen_bytes;
		seen_bytes += v[i].objects;
	}
	for (i = 0; i < nv && ok; i++)
		ok &= check_freelist(s, &v[i]);
	for (c = 0; c < m->nr_cpus && ok; c++) {
		struct pcs *pcs = &sh->cpu[c];

		if (!pcs->main) {
			ok = mmt_violation(m, "slab-sheaf",
					   "cache %s cpu %d: no main sheaf",
					   s->name, c);
			break;
		}
		ok &= check_sheaf(s, pcs->main, "main sheaf of cpu", c, v, nv,
				  &cached);
		if (ok && pcs->rcu_free)
			ok &= check_rcu_sheaf(s, pcs->rcu_free, c);
		if (ok && pcs->spare)
			ok &= check_sheaf(s, pcs->spare, "spare sheaf of cpu",
					  c, v, nv, &cached);
	}
	for (nid = 0; nid < m->nr_nodes && ok; nid++)
		ok &= check_barn(s, &sh->node[nid], v, nv, &cached);
	for (f = sh->prefilled, c = 0; f && ok; f = f->next, c++)
		ok &= check_sheaf(s, f, "prefilled sheaf", c, v, nv, &cached);
	/* kfree_nolock's deferred objects are freed but still in use here. */
	live = _mmt_cache_live(s) + _mmt_cache_deferred(s);
	if (ok && inuse_sum - cached != live)
		ok = mmt_violation(
			m, "slab-leak",
			"cache %s: its slabs have %ld object(s) in use (%ld in use, %ld in sheaves) "
			"but %ld are allocated",
			s->name, inuse_sum - cached, inuse_sum, cached, live);
	if (ok && atomic_load_explicit(&sh->dead_flushed, memory_order_relaxed))
		for (c = 0; c < m->nr_cpus && ok; c++) {
			unsigned int sp =
				sh->cpu[c].spare ? sh->cpu[c].spare->size : 0;

			if (sh->cpu[c].main->size || sp) {
				report_dead_sheaves(s, c, sh->cpu[c].main->size,
						    sp);
				ok = false;
			}
		}
	for (nid = 0;
	     nid < m->nr_nodes && ok &&
	     atomic_load_explicit(&sh->dead_flushed, memory_order_relaxed);
	     nid++)
		if (barn_nr(&sh->node[nid].barn.nr_full))
			ok = mmt_violation(
				m, "dead-cache-leak",
				"dead cache %s: node %d's barn holds %u full sheaves after the flush of its deactivation",
				s->name, nid,
				barn_nr(&sh->node[nid].barn.nr_full));
	if (ok && sheaves_off(sh)) {
		for (nid = 0; nid < m->nr_nodes && ok; nid++) {
			struct sh_node *n = &sh->node[nid];
			uint32_t pfn = n->partial.first;
			unsigned int k;

			for (k = 0; k < n->partial.nr && ok; k++) {
				struct mmt_page *p = pfn_page(m, pfn);

				if (!st_inuse(st_load(p)))
					ok = mmt_violation(
						m, "dead-cache-leak",
						"dead cache %s keeps the empty slab pfn %u",
						s->name, pfn);
				pfn = slab_meta(p)->next;
			}
		}
	}
	free(seen);
	free(v);
	return ok;
}

static void sh_dump(struct mmt_kmem_cache *s, FILE *out)
{
	struct sheaves *sh = SH(s);
	int c, nid;

	if (!sh)
		return;
	fprintf(out,
		"  sheaves %s: size %u objects/slab %u order %u sheaf_capacity %u min_partial %u%s, prefilled objects %ld\n",
		s->name, s->size, s->objects, s->order, sh->capacity,
		min_partial(sh), sheaves_off(sh) ? " (dead: sheaves off)" : "",
		sheaf_objects(sh->prefilled));
	for (c = 0; c < s->m->nr_cpus; c++)
		fprintf(out, "    cpu %d: main %u/%u, spare %s%u\n", c,
			sh->cpu[c].main->size, sh->cpu[c].main->capacity,
			sh->cpu[c].spare ? "" : "none ",
			sh->cpu[c].spare ? sh->cpu[c].spare->size : 0);
	for (nid = 0; nid < s->m->nr_nodes; nid++) {
		struct sh_node *n = &sh->node[nid];

		fprintf(out,
			"    node %d: slabs partial %u full %u; barn full %u empty %u\n",
			nid, n->partial.nr, n->full.nr,
			barn_nr(&n->barn.nr_full), barn_nr(&n->barn.nr_empty));
	}
}

/*
 * White-box introspection for tests/test_sheaves.c (not API): one number
 * of @s, by name, for CPU or node @id.
 */
long _mmt_sheaves_stat(const struct mmt_kmem_cache *s, int id,
		       const char *what);
long _mmt_sheaves_stat(const struct mmt_kmem_cache *s, int id, const char *what)
{
	const struct sheaves *sh = s->impl;

	if (!strcmp(what, "capacity"))
		return sh->capacity;
	if (!strcmp(what, "main"))
		return sh->cpu[id].main->size;
	if (!strcmp(what, "spare"))
		return sh->cpu[id].spare ? (long)sh->cpu[id].spare->size : -1;
	if (!strcmp(what, "barn_full"))
		return atomic_load_explicit(&sh->node[id].barn.nr_full,
					    memory_order_relaxed);
	if (!strcmp(what, "barn_empty"))
		return atomic_load_explicit(&sh->node[id].barn.nr_empty,
					    memory_order_relaxed);
	if (!strcmp(what, "partial"))
		return sh->node[id].partial.nr;
	if (!strcmp(what, "full"))
		return sh->node[id].full.nr;
	if (!strcmp(what, "min_partial"))
		return min_partial(sh);
	if (!strcmp(what, "rcu_free"))
		return sh->cpu[id].rcu_free ? (long)sh->cpu[id].rcu_free->size :
					      -1;
	return -1;
}

/*
 * White-box for tests that must hold a lock of @s the way another CPU
 * would (its word): "pcs" of CPU @id, "barn" or "list" of node @id.
 */
struct mmt_lock *_mmt_sheaves_lock(const struct mmt_kmem_cache *s, int id,
				   const char *what);
struct mmt_lock *_mmt_sheaves_lock(const struct mmt_kmem_cache *s, int id,
				   const char *what)
{
	struct sheaves *sh = s->impl;

	if (!strcmp(what, "pcs"))
		return &sh->cpu[id].lock.l;
	if (!strcmp(what, "barn"))
		return &sh->node[id].barn.lock.l;
	if (!strcmp(what, "list"))
		return &sh->node[id].list_lock.l;
	return NULL;
}

const struct mmt_slab_ops _mmt_sheaves_ops = {
	.name = "sheaves",
	.desc = "SLUB with sheaves (7.0): per-cpu main/spare sheaves, per-node barns, node partial lists",
	.cache_init = sh_cache_init,
	.cache_release = sh_cache_release,
	.cache_free_state = sh_cache_free_state,
	.alloc = sh_alloc,
	.free = sh_free,
	.shrink = sh_shrink,
	.flush_cpu = sh_flush_cpu,
	.memalloc_socks_off = sh_memalloc_socks_off,
	.mark_dead = sh_mark_dead,
	.pfmemalloc_in_percpu = sh_pfmemalloc_in_percpu,
	.is_valid = sh_is_valid,
	.free_objects = sh_free_objects,
	.dump = sh_dump,
	.prefill_sheaf = sh_prefill_sheaf,
	.refill_sheaf = sh_refill_sheaf,
	.return_sheaf = sh_return_sheaf,
	.kvfree_rcu = sh_kvfree_rcu,
	.rcu_sheaf_flush = sh_rcu_sheaf_flush,
	.alloc_nolock = sh_alloc_nolock,
	.free_nolock = sh_free_nolock,
};
