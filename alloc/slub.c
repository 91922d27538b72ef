/* SPDX-License-Identifier: MIT */
/*
 * alloc/slub.c - SLUB, the kernel's default object allocator (mm/slub.c of
 * v5.x-v6.7, modelled from its behaviour), behind struct mmt_slab_ops.
 *
 * What it models.  Per cache and CPU a struct kmem_cache_cpu: the cpu slab
 * and its lockless freelist (a pointer and a transaction id packed in one
 * word, changed only by compare-exchange), and a list of cpu partial slabs.
 * Per node a struct kmem_cache_node: the partial list under list_lock.  Per
 * slab one state word (slab_meta->state) packing {freelist index, inuse,
 * objects, frozen}, changed only by 64-bit compare-exchange: the model's
 * cmpxchg_double_slab().  Full slabs are on no list (SLUB keeps none).
 *
 * Frozen slabs.  A slab is frozen while it is a cpu slab or on a cpu partial
 * list: then one CPU owns its list membership and everybody else may only
 * push objects onto its freelist (no list operation).  An unfrozen slab is
 * on its node's partial list iff it has free objects; unfrozen and full, it
 * is on no list.  Only the list_lock holder (or the freezer) moves slabs.
 *
 * Algorithm.
 *  - Alloc fast path: read {freelist, tid}, read the head object's free
 *    pointer, compare-exchange {next, tid + 1}.  Goes slow when the freelist
 *    is empty, the cpu slab is on another node than asked, or the cpu slab
 *    is pfmemalloc and the caller is not entitled to the reserves.
 *  - Alloc slow path (___slab_alloc): the cpu slab's own freelist (remote
 *    frees, taken with get_freelist), else a cpu partial slab, else the
 *    node partial list (freezing the first slab as cpu slab and filling the
 *    cpu partial list up to half its limit, never past the limit: the
 *    kernel counts only the slabs it adds, so after an interrupt froze
 *    slabs onto the list its list may run past cpu_partial_slabs until
 *    the next freeing put_cpu_partial drains it), other nodes when any node will
 *    do, else a new slab.  An entitled caller tries every normal source
 *    first - partial slabs that are not pfmemalloc, a new slab without the
 *    reserves - and only then pfmemalloc partial slabs and the reserves.
 *  - pfmemalloc: a pfmemalloc slab becomes a cpu slab only for a caller
 *    entitled to the reserves (the kernel's pfmemalloc_match(), which asks
 *    gfp_pfmemalloc_allowed() and nothing else: no memalloc-socket gate);
 *    otherwise the caller gets one object and the slab is deactivated at
 *    once ("don't load the freelist").  The fast path and the slow path
 *    keep ordinary callers off a pfmemalloc cpu slab (the model's fast
 *    path checks the cpu slab's mark, see slab_alloc_fast()), and a
 *    pfmemalloc cpu partial slab is taken only by an entitled caller.  As
 *    in the kernel, nothing is flushed when the last memalloc socket goes:
 *    what stays per cpu serves entitled callers (PF_MEMALLOC reclaim,
 *    __GFP_MEMALLOC) only.
 *  - Free fast path: the object's slab is this CPU's cpu slab: push it on
 *    the cpu freelist with the tid compare-exchange.  An object that heads
 *    the freelist it would go onto (cpu or slab) already is a double free,
 *    refused (the kernel's hardened set_freepointer() BUG_ON(object == fp))
 *    and reported by the common part.  Both fast paths first try once
 *    without a call on the way (no scheduler attached, nothing special);
 *    any other case runs the loop with the scheduling point before the
 *    compare-exchange, as always.  Slow path
 *    (__slab_free): push on the slab's freelist; a full unfrozen slab is
 *    frozen onto this CPU's cpu partial list (put_cpu_partial, which
 *    unfreezes the whole list to the node when it is at its limit); an
 *    unfrozen slab that becomes empty goes back to the page allocator when
 *    the node keeps min_partial slabs already; without cpu partial a full
 *    slab that gains a free object goes to the node partial list.
 *  - Dead caches (seed 003): mark_dead sets min_partial 0 and cpu partial
 *    off.  A free that decided to freeze before that and completes after the
 *    shrink would leave a frozen slab on a cpu partial list of a dead cache
 *    forever; put_cpu_partial therefore rechecks and unfreezes the list at
 *    once (MMT_BUG_SLUB_FROZEN_DEAD_CACHE skips the recheck).  The window is
 *    an explicit MMT_SP_PREEMPT scheduling point.
 *
 * Concurrency.  Each kmem_cache_cpu has a lock (the kernel's local_lock of
 * v5.15+, a model spinlock "kmem_cache_cpu->lock"): the owner's slow paths
 * take it, and so does a flush of that CPU from any CPU (shrink, cpu
 * offline, memalloc sockets off; the kernel runs those on the owner by IPI
 * or work, which the model cannot do to a real thread).  The owner's fast
 * paths take no lock; a flush detaches the cpu slab first (c->slab NULL)
 * and then moves {freelist, tid} to {NULL, tid + 1} with a compare-exchange,
 * so a fast path that read the old word fails its compare-exchange and one
 * that read the new one (acquire) sees no cpu slab.  The alloc fast path
 * also reads the head object of the freelist, which a flusher returns to
 * the slab where another CPU may take and write it: the owner announces
 * itself in c->active (seq_cst store) before reading the word, and a
 * flusher of another CPU waits, after its seq_cst compare-exchange, until
 * c->active is 0 (a Dekker handshake) before it lets those objects go.
 * The free fast path reads no shared object and needs no announcement.
 *
 * Invariants (checked by slub_is_valid, machine quiescent): per slab
 * inuse + free objects = objects, freelists stay in their slab with no
 * object twice ("slab-inuse"); frozen exactly on cpu slabs and cpu partial
 * lists; node partial lists match nr_partial and hold unfrozen non-full
 * slabs, and no partial slab is off every list ("slab-node-partial"); cpu
 * partial lists match their counts and limits ("slab-cpu-partial"); the
 * objects in use over every slab minus those on cpu freelists equal the
 * cache's live count ("slab-leak"); a dead cache keeps no empty slab
 * ("dead-cache-leak").
 *
 * Lock order: slab_mutex -> kmem_cache_node->list_lock ->
 * kmem_cache_cpu->lock -> pcp->lock -> zone->lock.  The page allocator is
 * called with no SLUB lock held (it may sleep).
 *
 * A discard may end a dead cache (_mmt_slab_discard -> memcg), so every
 * operation collects the slabs to discard and gives them back last, after
 * its final use of the cache.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

static MMT_LOCK_CLASS(list_lock_class, "kmem_cache_node->list_lock",
		      MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(cpu_lock_class, "kmem_cache_cpu->lock", MMT_LOCK_SPIN);

/* ---- the slab state word ---- */

#define FL_NONE 0xffffu /* freelist index: no free object */
#define ST_FROZEN (1ull << 48)
/* A discarded slab (maybe waiting for a grace period): on no list, no use. */
#define ST_DISCARDED UINT64_MAX

struct sstate {
	unsigned int free; /* index of the first free slot, FL_NONE */
	unsigned int inuse; /* not on the slab's freelist (cpu freelist too) */
	unsigned int objects;
	bool frozen;
};

static inline struct sstate st_unpack(uint64_t v)
{
	return (struct sstate){ (unsigned int)(v & 0xffff),
				(unsigned int)((v >> 16) & 0xffff),
				(unsigned int)((v >> 32) & 0xffff),
				(v & ST_FROZEN) != 0 };
}

static inline uint64_t st_pack(struct sstate st)
{
	return (uint64_t)st.free | (uint64_t)st.inuse << 16 |
	       (uint64_t)st.objects << 32 | (st.frozen ? ST_FROZEN : 0);
}

static inline _Atomic uint64_t *slab_state(struct mmt_page *slab)
{
	return &slab_meta(slab)->state;
}

/* ---- the per-cpu freelist word: pointer (48 bits) and tid (16) ---- */

#define FW_PTR_MASK ((1ull << 48) - 1)

static inline uint64_t fw_pack(void *p, unsigned int tid)
{
	MMT_ASSERT(((uintptr_t)p & ~FW_PTR_MASK) == 0);
	return (uint64_t)(uintptr_t)p | (uint64_t)(tid & 0xffff) << 48;
}

static inline void *fw_ptr(uint64_t w)
{
	return (void *)(uintptr_t)(w & FW_PTR_MASK);
}

static inline unsigned int fw_tid(uint64_t w)
{
	return (unsigned int)(w >> 48);
}

/* ---- structures ---- */

struct kmem_cache_cpu {
	_Atomic uint64_t freelist_tid; /* lockless: see the file comment */
	_Atomic int active; /* owner inside the alloc fast path (owner writes) */
	/* Written under lock; read by the owner's fast paths (relaxed). */
	_Atomic(struct mmt_page *) slab;
	_Atomic int node; /* of the cpu slab */
	_Atomic bool pfmemalloc; /* the cpu slab is pfmemalloc */
	mmt_spinlock_t lock;
	uint32_t partial; /* first cpu partial slab (pfn), linked by next */
	_Atomic unsigned int nr_partial; /* written under lock */
} __attribute__((aligned(64)));

struct kmem_cache_node {
	mmt_spinlock_t list_lock;
	uint32_t partial; /* circular list by pfn (meta next/prev) */
	_Atomic long nr_partial; /* written under list_lock, read unlocked */
} __attribute__((aligned(64)));

struct slub {
	_Atomic unsigned int min_partial; /* node partial slabs kept empty */
	_Atomic unsigned int cpu_partial; /* cpu partial slabs; 0: off */
	unsigned int cpu_partial_max; /* as created (validator bound) */
	_Atomic long total_objects; /* slots of every slab not discarded */
	struct kmem_cache_node *node; /* [nr_nodes] */
	struct kmem_cache_cpu *cpu; /* [nr_cpus] */
	void *block; /* the allocation holding node, cpu and this */
};

static inline struct slub *SL(const struct mmt_kmem_cache *s)
{
	return s->impl;
}

/* Slabs to give back at the end of an operation (linked by meta next). */
struct discard {
	uint32_t first;
};

/* ---- small helpers ---- */

static inline struct mmt_page *pfn_page(struct mmt_machine *m, uint32_t pfn)
{
	return &m->pages[pfn];
}

static inline uint32_t page_pfn(struct mmt_machine *m, struct mmt_page *p)
{
	return (uint32_t)_mmt_pfn(m, p);
}

static inline void *idx_ptr(const struct mmt_kmem_cache *s,
			    struct mmt_page *slab, unsigned int idx)
{
	return idx == FL_NONE ? NULL : slot_at(s, _mmt_slab_base(slab), idx);
}

static inline unsigned int ptr_idx(const struct mmt_kmem_cache *s,
				   struct mmt_page *slab, const void *p)
{
	return p ? slot_index(s, _mmt_slab_base(slab), p) : FL_NONE;
}

static inline struct kmem_cache_node *slab_node(struct mmt_kmem_cache *s,
						struct mmt_page *slab)
{
	return &SL(s)->node[slab_meta(slab)->node];
}

static inline long nr_partial(struct kmem_cache_node *n)
{
	return atomic_load_explicit(&n->nr_partial, memory_order_relaxed);
}

static inline unsigned int min_partial(struct mmt_kmem_cache *s)
{
	return atomic_load_explicit(&SL(s)->min_partial, memory_order_relaxed);
}

/* One compare-exchange of a slab's state, with its scheduling point. */
static inline bool state_cmpxchg(struct mmt_cpu *cpu, struct mmt_page *slab,
				 uint64_t *old, struct sstate st)
{
	mmt_sched_point(cpu, MMT_SP_CMPXCHG, slab);
	return atomic_compare_exchange_strong_explicit(slab_state(slab), old,
						       st_pack(st),
						       memory_order_acq_rel,
						       memory_order_acquire);
}

static void discard_push(struct mmt_kmem_cache *s, struct discard *d,
			 struct mmt_page *slab)
{
	atomic_fetch_sub_explicit(&SL(s)->total_objects,
				  (long)slab_objects(s, slab),
				  memory_order_relaxed);
	atomic_store_explicit(slab_state(slab), ST_DISCARDED,
			      memory_order_relaxed);
	slab_meta(slab)->prev = MMT_PFN_NONE;
	slab_meta(slab)->next = d->first;
	d->first = page_pfn(s->m, slab);
}

/* Last use of @s by the operation: a discard may end a dead cache. */
static void discard_all(struct mmt_kmem_cache *s, struct discard *d)
{
	struct mmt_machine *m = s->m;
	uint32_t pfn = d->first;

	d->first = MMT_PFN_NONE;
	while (pfn != MMT_PFN_NONE) {
		struct mmt_page *slab = pfn_page(m, pfn);

		pfn = slab_meta(slab)->next; /* the discard clears the meta */
		_mmt_slab_discard(s, slab);
	}
}

/* ---- node partial lists (list_lock held) ---- */

static void add_partial(struct mmt_kmem_cache *s, struct kmem_cache_node *n,
			struct mmt_page *slab, bool tail)
{
	struct mmt_machine *m = s->m;
	struct mmt_slab_meta *meta = slab_meta(slab);
	uint32_t pfn = page_pfn(m, slab);

	if (n->partial == MMT_PFN_NONE) {
		meta->next = meta->prev = pfn;
		n->partial = pfn;
	} else {
		struct mmt_slab_meta *first =
			slab_meta(pfn_page(m, n->partial));
		struct mmt_slab_meta *last =
			slab_meta(pfn_page(m, first->prev));

		meta->next = n->partial;
		meta->prev = first->prev;
		last->next = pfn;
		first->prev = pfn;
		if (!tail)
			n->partial = pfn;
	}
	/* MMT_BUG_SLUB_NODE_PARTIAL_UNCOUNTED: not counted (slab-node-partial). */
	if (!mmt_bug_on(s->m, MMT_BUG_SLUB_NODE_PARTIAL_UNCOUNTED))
		atomic_store_explicit(&n->nr_partial, nr_partial(n) + 1,
				      memory_order_relaxed);
	else
		mmt_bug_hit(s->m, MMT_BUG_SLUB_NODE_PARTIAL_UNCOUNTED, true);
}

static void remove_partial(struct mmt_kmem_cache *s, struct kmem_cache_node *n,
			   struct mmt_page *slab)
{
	struct mmt_machine *m = s->m;
	struct mmt_slab_meta *meta = slab_meta(slab);
	uint32_t pfn = page_pfn(m, slab);

	if (meta->next == pfn) {
		n->partial = MMT_PFN_NONE;
	} else {
		slab_meta(pfn_page(m, meta->prev))->next = meta->next;
		slab_meta(pfn_page(m, meta->next))->prev = meta->prev;
		if (n->partial == pfn)
			n->partial = meta->next;
	}
	meta->next = meta->prev = MMT_PFN_NONE;
	atomic_store_explicit(&n->nr_partial, nr_partial(n) - 1,
			      memory_order_relaxed);
}

/* ---- unfreezing and deactivation ---- */

/*
 * Unfreeze a detached cpu partial list (no cpu lock held): each slab goes
 * to its node's partial list, or to @d when empty and the node keeps
 * min_partial slabs already.  The compare-exchange and the list insertion
 * happen under list_lock, so a free that must take the slab off the list
 * (it takes list_lock before its compare-exchange) finds it there.
 */
static void unfreeze_partials(struct mmt_kmem_cache *s, uint32_t pfn,
			      struct discard *d)
{
	struct mmt_machine *m = s->m;
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_node *n = NULL;
	unsigned long flags = 0;

	while (pfn != MMT_PFN_NONE) {
		struct mmt_page *slab = pfn_page(m, pfn);
		struct kmem_cache_node *nn = slab_node(s, slab);
		uint64_t old;
		struct sstate st;

		pfn = slab_meta(slab)->next;
		if (nn != n) {
			if (n)
				mmt_spin_unlock_irqrestore(&n->list_lock,
							   flags);
			n = nn;
			mmt_spin_lock_irqsave(&n->list_lock, flags);
		}
		old = atomic_load_explicit(slab_state(slab),
					   memory_order_acquire);
		do {
			st = st_unpack(old);
			MMT_IASSERT(st.frozen && st.free != FL_NONE);
			st.frozen = false;
		} while (!state_cmpxchg(cpu, slab, &old, st));
		if (!st.inuse && nr_partial(n) >= min_partial(s))
			discard_push(s, d, slab);
		else
			add_partial(s, n, slab, true);
	}
	if (n)
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
}

/*
 * Give a cpu slab back: splice @freelist (objects of @slab that were on a
 * cpu freelist) onto the slab's freelist and unfreeze it in one
 * compare-exchange; then node partial (list_lock held across the
 * compare-exchange, as in unfreeze_partials), @d if empty beyond
 * min_partial, or no list if full.
 */
static void deactivate_slab(struct mmt_kmem_cache *s, struct mmt_page *slab,
			    void *freelist, struct discard *d)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_node *n = slab_node(s, slab);
	unsigned int objects = slab_objects(s, slab), cnt = 0, head;
	enum {
		M_FREE,
		M_PARTIAL,
		M_FULL
	} mode;
	unsigned long flags = 0;
	bool locked = false;
	void *tail = NULL, *p;
	unsigned int off_by_one;
	uint64_t old;
	struct sstate st;

	for (p = freelist; p; p = _mmt_get_freepointer(s, p)) {
		void *next = _mmt_get_freepointer(s, p);

		tail = p;
		if (++cnt == objects && next) {
			mmt_violation(
				s->m, "slab-inuse",
				"cache %s: a cpu freelist of slab pfn %u is longer than the slab's %u objects "
				"(a cycle); cut",
				s->name, page_pfn(s->m, slab), objects);
			break;
		}
		if (!_mmt_freeptr_ok(s, slab, next, MMT_SITE))
			break; /* reported; the rest is lost, not spread */
	}
	head = ptr_idx(s, slab, freelist);
	/* MMT_BUG_SLUB_DEACTIVATE_INUSE_OFF_BY_ONE: one short (slab-inuse). */
	off_by_one =
		tail &&
		mmt_bug_on(s->m, MMT_BUG_SLUB_DEACTIVATE_INUSE_OFF_BY_ONE) &&
		mmt_bug_hit(s->m, MMT_BUG_SLUB_DEACTIVATE_INUSE_OFF_BY_ONE,
			    true);
	old = atomic_load_explicit(slab_state(slab), memory_order_acquire);
	for (;;) {
		st = st_unpack(old);
		MMT_IASSERT(st.frozen && st.inuse >= cnt);
		if (tail) {
			_mmt_set_freepointer(s, tail,
					     idx_ptr(s, slab, st.free));
			st.free = head;
			st.inuse -= cnt - off_by_one;
		}
		st.frozen = false;
		if (!st.inuse && nr_partial(n) >= min_partial(s))
			mode = M_FREE;
		else if (st.free != FL_NONE)
			mode = M_PARTIAL;
		else
			mode = M_FULL;
		if (mode == M_PARTIAL && !locked) {
			mmt_spin_lock_irqsave(&n->list_lock, flags);
			locked = true;
		} else if (mode != M_PARTIAL && locked) {
			mmt_spin_unlock_irqrestore(&n->list_lock, flags);
			locked = false;
		}
		if (state_cmpxchg(cpu, slab, &old, st))
			break;
	}
	if (mode == M_PARTIAL) {
		/* A slab with cpu objects back goes last: they are cache hot. */
		add_partial(s, n, slab, tail != NULL);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	} else if (mode == M_FREE) {
		discard_push(s, d, slab);
	}
}

/* ---- the per-cpu structure ---- */

static inline struct kmem_cache_cpu *cpu_of(struct mmt_kmem_cache *s, int id)
{
	return &SL(s)->cpu[id];
}

/*
 * Take the cpu slab off @c (c->lock held): c->slab first, then the word,
 * with a compare-exchange because the owner's fast path may race.  Returns
 * the cpu freelist.
 */
static void *cpu_detach_locked(struct kmem_cache_cpu *c)
{
	uint64_t w;

	atomic_store_explicit(&c->slab, NULL, memory_order_relaxed);
	atomic_store_explicit(&c->pfmemalloc, false, memory_order_relaxed);
	w = atomic_load_explicit(&c->freelist_tid, memory_order_relaxed);
	/*
	 * seq_cst: pairs with the owner's seq_cst store to c->active and load
	 * of the word in slab_alloc (the Dekker handshake); release: a fast
	 * path that reads the new word sees c->slab NULL.
	 */
	while (!atomic_compare_exchange_weak_explicit(
		&c->freelist_tid, &w, fw_pack(NULL, fw_tid(w) + 1),
		memory_order_seq_cst, memory_order_relaxed))
		;
	return fw_ptr(w);
}

/* Install @slab as the cpu slab with @freelist (c->lock held, none there). */
static void cpu_install_locked(struct kmem_cache_cpu *c, struct mmt_page *slab,
			       void *freelist)
{
	uint64_t w =
		atomic_load_explicit(&c->freelist_tid, memory_order_relaxed);

	atomic_store_explicit(&c->slab, slab, memory_order_relaxed);
	atomic_store_explicit(&c->node, (int)slab_meta(slab)->node,
			      memory_order_relaxed);
	atomic_store_explicit(&c->pfmemalloc, slab_is_pfmemalloc(slab),
			      memory_order_relaxed);
	/* Release: the fast path that reads this word sees the fields above. */
	atomic_store_explicit(&c->freelist_tid,
			      fw_pack(freelist, fw_tid(w) + 1),
			      memory_order_release);
}

/*
 * Waits until the owner of @c is out of its alloc fast path.  Called by a
 * flusher of another CPU after its seq_cst compare-exchange of the word,
 * with no lock held (the owner may need c->lock to get out).
 */
static MMT_NOINLINE void wait_owner_quiet(struct mmt_cpu *self,
					  struct kmem_cache_cpu *c)
{
	unsigned int spins = 0;

	/* seq_cst: the other half of the handshake in cpu_detach_locked(). */
	while (atomic_load_explicit(&c->active, memory_order_seq_cst)) {
		mmt_sched_point(self, MMT_SP_LOCK_CONTENDED, c);
		if (++spins % 64 == 0)
			sched_yield();
	}
}

/* Flush @cpuid's cpu slab and cpu partial list (from any CPU). */
static void flush_cpu_to(struct mmt_kmem_cache *s, int cpuid, struct discard *d)
{
	struct kmem_cache_cpu *c = cpu_of(s, cpuid);
	struct mmt_cpu *self = _mmt_this_cpu;
	struct mmt_page *slab;
	void *freelist = NULL;
	unsigned long flags;
	uint32_t partial;

	mmt_spin_lock_irqsave(&c->lock, flags);
	slab = atomic_load_explicit(&c->slab, memory_order_relaxed);
	if (slab)
		freelist = cpu_detach_locked(c);
	partial = c->partial;
	c->partial = MMT_PFN_NONE;
	atomic_store_explicit(&c->nr_partial, 0, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	if (slab && cpuid != self->id)
		wait_owner_quiet(self, c);
	if (slab)
		deactivate_slab(s, slab, freelist, d);
	if (partial != MMT_PFN_NONE)
		unfreeze_partials(s, partial, d);
}

/* Unfreeze this CPU's cpu partial list at once (dead cache, socks off). */
static void flush_cpu_partial(struct mmt_kmem_cache *s,
			      struct kmem_cache_cpu *c, struct discard *d)
{
	unsigned long flags;
	uint32_t partial;

	mmt_spin_lock_irqsave(&c->lock, flags);
	partial = c->partial;
	c->partial = MMT_PFN_NONE;
	atomic_store_explicit(&c->nr_partial, 0, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	unfreeze_partials(s, partial, d);
}

/* May a slab be (kept) frozen on a cpu partial list now? */
static inline bool cpu_partial_ok(struct mmt_kmem_cache *s,
				  struct mmt_page *slab)
{
	(void)slab;
	return atomic_load_explicit(&SL(s)->cpu_partial, memory_order_relaxed);
}

/*
 * Push a frozen slab on this CPU's cpu partial list.  With @drain (a free
 * froze it) a list at its limit is first unfrozen to the node lists.
 * Without @drain the caller holds list_lock (get_partial_node) and the
 * list stays below its limit.
 */
static void put_cpu_partial(struct mmt_kmem_cache *s, struct mmt_page *slab,
			    bool drain, struct discard *d)
{
	struct slub *sl = SL(s);
	struct kmem_cache_cpu *c = cpu_of(s, _mmt_this_cpu->id);
	uint32_t to_unfreeze = MMT_PFN_NONE;
	unsigned int limit, nr;
	unsigned long flags;

	mmt_spin_lock_irqsave(&c->lock, flags);
	limit = atomic_load_explicit(&sl->cpu_partial, memory_order_relaxed);
	nr = atomic_load_explicit(&c->nr_partial, memory_order_relaxed);
	if (drain && c->partial != MMT_PFN_NONE && nr >= limit) {
		to_unfreeze = c->partial;
		c->partial = MMT_PFN_NONE;
		nr = 0;
	}
	slab_meta(slab)->next = c->partial;
	slab_meta(slab)->prev = MMT_PFN_NONE;
	c->partial = page_pfn(s->m, slab);
	/* MMT_BUG_SLUB_CPU_PARTIAL_UNCOUNTED: not counted (slab-cpu-partial). */
	if (!mmt_bug_on(s->m, MMT_BUG_SLUB_CPU_PARTIAL_UNCOUNTED))
		nr++;
	else
		mmt_bug_hit(s->m, MMT_BUG_SLUB_CPU_PARTIAL_UNCOUNTED, true);
	atomic_store_explicit(&c->nr_partial, nr, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	if (to_unfreeze != MMT_PFN_NONE)
		unfreeze_partials(s, to_unfreeze, d);
	if (!drain)
		return;
	/*
	 * The free decided to freeze while cpu partial was allowed; if the
	 * cache died since, nobody will flush this list again: unfreeze it
	 * now, so that an empty slab is discarded (min_partial is 0 for a
	 * dead cache).  Seed 003.
	 */
	if (!atomic_load_explicit(&sl->cpu_partial, memory_order_relaxed) ||
	    atomic_load_explicit(&s->dead, memory_order_relaxed)) {
		if (!mmt_bug_on(s->m, MMT_BUG_SLUB_FROZEN_DEAD_CACHE))
			flush_cpu_partial(s, c, d);
		else
			mmt_bug_hit(s->m, MMT_BUG_SLUB_FROZEN_DEAD_CACHE,
				    atomic_load_explicit(&s->dead,
							 memory_order_relaxed));
	}
}

/* ---- allocation ---- */

/* cmpxchg the slab's freelist away (it stays frozen unless it is full). */
static void *get_freelist(struct mmt_kmem_cache *s, struct mmt_page *slab)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	uint64_t old =
		atomic_load_explicit(slab_state(slab), memory_order_acquire);
	struct sstate st;
	unsigned int free;

	do {
		st = st_unpack(old);
		MMT_IASSERT(st.frozen);
		free = st.free;
		st.inuse = st.objects;
		st.frozen = free != FL_NONE;
		st.free = FL_NONE;
	} while (!state_cmpxchg(cpu, slab, &old, st));
	return idx_ptr(s, slab, free);
}

/*
 * Freeze a slab of the node partial list (list_lock held): as cpu slab
 * (@first: its freelist taken, returned) or for the cpu partial list.
 */
static void *acquire_slab(struct mmt_kmem_cache *s, struct mmt_page *slab,
			  bool first)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	uint64_t old =
		atomic_load_explicit(slab_state(slab), memory_order_acquire);
	struct sstate st;
	unsigned int free;

	do {
		st = st_unpack(old);
		MMT_IASSERT(!st.frozen && st.free != FL_NONE);
		free = st.free;
		st.frozen = true;
		/* MMT_BUG_SLUB_ACQUIRE_KEEPS_FREELIST (slab-double-alloc) */
		if (first &&
		    (!mmt_bug_on(s->m, MMT_BUG_SLUB_ACQUIRE_KEEPS_FREELIST) ||
		     !mmt_bug_hit(s->m, MMT_BUG_SLUB_ACQUIRE_KEEPS_FREELIST,
				  true))) {
			st.inuse = st.objects;
			st.free = FL_NONE;
		}
	} while (!state_cmpxchg(cpu, slab, &old, st));
	return idx_ptr(s, slab, free);
}

/*
 * The first fitting slab of @n's partial list becomes the caller's (its
 * freelist in *freelist); more fill the cpu partial list up to half its
 * limit.  @want_pfm: only pfmemalloc slabs (the reserves pass), else none.
 */
static struct mmt_page *get_partial_node(struct mmt_kmem_cache *s,
					 struct kmem_cache_node *n,
					 bool want_pfm, void **freelist,
					 struct discard *d)
{
	struct mmt_machine *m = s->m;
	struct mmt_page *first = NULL;
	unsigned int limit, cur, room, taken = 0;
	unsigned long flags;
	uint32_t pfn;
	long i, nr;

	if (!nr_partial(n))
		return NULL;
	limit = atomic_load_explicit(&SL(s)->cpu_partial, memory_order_relaxed);
	mmt_spin_lock_irqsave(&n->list_lock, flags);
	/*
	 * The cpu partial list may not be empty here: slabs a caller may not
	 * use (pfmemalloc ones, for a caller without the right to reserves)
	 * stay on it, and an interrupt on this CPU between the caller's look
	 * at the list and list_lock may have frozen slabs onto it (a free
	 * that found a full slab: put_cpu_partial).  The kernel's refill
	 * counts only the slabs it adds (up to half the limit, plus one),
	 * so there the list may exceed cpu_partial_slabs until the next
	 * freeing put_cpu_partial drains it.  The model fills only up to the
	 * limit, which the validator and put_cpu_partial(drain) rely on
	 * (a stricter bound, documented in the header).  The count is read
	 * with interrupts off: no interrupt, and no other task, adds to this
	 * CPU's list until list_lock is released, and a remote flush only
	 * empties it, so it is an upper bound.  Read before list_lock, an
	 * interrupt delivered at the lock's scheduling point made it stale
	 * (slab-cpu-partial "count 5, limit 3", found by PCT on slab-mt).
	 */
	cur = atomic_load_explicit(&cpu_of(s, _mmt_this_cpu->id)->nr_partial,
				   memory_order_relaxed);
	room = limit > cur ? limit - cur : 0;
	nr = nr_partial(n);
	pfn = n->partial;
	for (i = 0; i < nr; i++) {
		struct mmt_page *slab = pfn_page(m, pfn);

		pfn = slab_meta(slab)->next;
		if (slab_is_pfmemalloc(slab) != want_pfm)
			continue;
		if (!first) {
			*freelist = acquire_slab(s, slab, true);
			remove_partial(s, n, slab);
			first = slab;
			if (want_pfm || !limit)
				break;
			continue;
		}
		if (taken >= room)
			break;
		acquire_slab(s, slab, false);
		remove_partial(s, n, slab);
		put_cpu_partial(s, slab, false, d);
		if (++taken > limit / 2)
			break;
	}
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	/* Marked dead while we filled: nobody would flush the list again. */
	if (taken &&
	    !atomic_load_explicit(&SL(s)->cpu_partial, memory_order_relaxed))
		flush_cpu_partial(s, cpu_of(s, _mmt_this_cpu->id), d);
	return first;
}

/* get_partial(): @node's list, then others when any node will do. */
static struct mmt_page *get_partial(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				    int node, bool want_pfm, void **freelist,
				    struct discard *d)
{
	struct mmt_machine *m = s->m;
	int search = node >= 0 ? node : _mmt_this_cpu->nid, i;
	struct mmt_page *slab;

	slab = get_partial_node(s, &SL(s)->node[search], want_pfm, freelist, d);
	if (slab || (node >= 0 && (gfp & __GFP_THISNODE)))
		return slab;
	/* get_any_partial(): only nodes with more than they must keep. */
	for (i = 1; i < m->nr_nodes; i++) {
		struct kmem_cache_node *n =
			&SL(s)->node[(search + i) % m->nr_nodes];

		if (nr_partial(n) <= (long)min_partial(s))
			continue;
		slab = get_partial_node(s, n, want_pfm, freelist, d);
		if (slab)
			return slab;
	}
	return NULL;
}

/* A new slab from the page allocator, frozen for its caller. */
static struct mmt_page *new_slab(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				 int node, void **freelist)
{
	struct mmt_page *slab = _mmt_slab_new(s, gfp, node, freelist);
	unsigned int n;

	if (!slab)
		return NULL;
	n = slab_objects(s, slab);
	atomic_store_explicit(slab_state(slab),
			      st_pack((struct sstate){ FL_NONE, n, n, true }),
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&SL(s)->total_objects, n,
				  memory_order_relaxed);
	return slab;
}

/* Take the first object of @freelist for the caller (c->lock held). */
static void *load_freelist_locked(struct mmt_kmem_cache *s,
				  struct kmem_cache_cpu *c, void *freelist)
{
	uint64_t w =
		atomic_load_explicit(&c->freelist_tid, memory_order_relaxed);

	atomic_store_explicit(&c->freelist_tid,
			      fw_pack(_mmt_get_freepointer(s, freelist),
				      fw_tid(w) + 1),
			      memory_order_release);
	return freelist;
}

/* A cpu partial slab to use as cpu slab (c->lock held): normal first. */
static struct mmt_page *take_cpu_partial_locked(struct mmt_kmem_cache *s,
						struct kmem_cache_cpu *c,
						bool pfm_ok)
{
	struct mmt_machine *m = s->m;
	uint32_t pfn, *link = &c->partial, *pick = NULL;
	struct mmt_page *slab;

	for (pfn = c->partial; pfn != MMT_PFN_NONE;
	     link = &slab_meta(pfn_page(m, pfn))->next, pfn = *link) {
		if (!slab_is_pfmemalloc(pfn_page(m, pfn))) {
			pick = link;
			break;
		}
		if (!pick && pfm_ok)
			pick = link;
	}
	if (!pick)
		return NULL;
	slab = pfn_page(m, *pick);
	*pick = slab_meta(slab)->next;
	slab_meta(slab)->next = MMT_PFN_NONE;
	atomic_store_explicit(
		&c->nr_partial,
		atomic_load_explicit(&c->nr_partial, memory_order_relaxed) - 1,
		memory_order_relaxed);
	return slab;
}

static inline bool cpu_slab_mismatch(struct kmem_cache_cpu *c, int node,
				     bool pfm_ok)
{
	if (node >= 0 &&
	    atomic_load_explicit(&c->node, memory_order_relaxed) != node)
		return true;
	/* pfmemalloc_match() */
	return atomic_load_explicit(&c->pfmemalloc, memory_order_relaxed) &&
	       !pfm_ok;
}

/* ___slab_alloc() */
static MMT_NOINLINE void *slab_alloc_slow(struct mmt_kmem_cache *s,
					  mmt_gfp_t gfp, int node)
{
	struct discard d = { MMT_PFN_NONE };
	bool pfm_ok = _mmt_slab_pfmemalloc_ok(gfp);
	struct kmem_cache_cpu *c;
	struct mmt_page *slab;
	unsigned long flags;
	void *freelist, *obj;

redo:
	c = cpu_of(s, _mmt_this_cpu->id);
	mmt_spin_lock_irqsave(&c->lock, flags);
	slab = atomic_load_explicit(&c->slab, memory_order_relaxed);
	if (slab) {
		if (cpu_slab_mismatch(c, node, pfm_ok)) {
			freelist = cpu_detach_locked(c);
			mmt_spin_unlock_irqrestore(&c->lock, flags);
			deactivate_slab(s, slab, freelist, &d);
			goto new_slab;
		}
		freelist = fw_ptr(atomic_load_explicit(&c->freelist_tid,
						       memory_order_relaxed));
		if (!freelist)
			freelist = get_freelist(s, slab);
		if (!freelist) {
			/* Full: get_freelist unfroze it; it is on no list. */
			cpu_detach_locked(c);
			mmt_spin_unlock_irqrestore(&c->lock, flags);
			goto new_slab;
		}
		obj = load_freelist_locked(s, c, freelist);
		mmt_spin_unlock_irqrestore(&c->lock, flags);
		discard_all(s, &d);
		return obj;
	}
	mmt_spin_unlock_irqrestore(&c->lock, flags);

new_slab:
	mmt_spin_lock_irqsave(&c->lock, flags);
	if (atomic_load_explicit(&c->slab, memory_order_relaxed)) {
		mmt_spin_unlock_irqrestore(&c->lock, flags);
		goto redo;
	}
	slab = take_cpu_partial_locked(s, c, pfm_ok);
	if (slab) {
		cpu_install_locked(c, slab, NULL);
		mmt_spin_unlock_irqrestore(&c->lock, flags);
		goto redo;
	}
	mmt_spin_unlock_irqrestore(&c->lock, flags);

	/* Normal sources first, even for a caller entitled to the reserves. */
	slab = get_partial(s, gfp, node, false, &freelist, &d);
	if (!slab && pfm_ok) {
		mmt_gfp_t normal = (gfp | __GFP_NOMEMALLOC | __GFP_NOWARN) &
				   ~(__GFP_DIRECT_RECLAIM | __GFP_NOFAIL);

		slab = new_slab(s, normal, node, &freelist);
		if (!slab)
			slab = get_partial(s, gfp, node, true, &freelist, &d);
	}
	if (!slab)
		slab = new_slab(s, gfp, node, &freelist);
	if (!slab) {
		discard_all(s, &d);
		return NULL;
	}
	if (MMT_UNLIKELY(slab_is_pfmemalloc(slab)) && !pfm_ok) {
		/* Don't load the freelist: this caller gets one object. */
		obj = freelist;
		deactivate_slab(s, slab, _mmt_get_freepointer(s, obj), &d);
		discard_all(s, &d);
		return obj;
	}
retry_load:
	c = cpu_of(s, _mmt_this_cpu->id); /* the page allocator may move us */
	mmt_spin_lock_irqsave(&c->lock, flags);
	if (atomic_load_explicit(&c->slab, memory_order_relaxed)) {
		struct mmt_page *old =
			atomic_load_explicit(&c->slab, memory_order_relaxed);
		void *old_freelist = cpu_detach_locked(c);

		mmt_spin_unlock_irqrestore(&c->lock, flags);
		deactivate_slab(s, old, old_freelist, &d);
		goto retry_load;
	}
	cpu_install_locked(c, slab, NULL);
	obj = load_freelist_locked(s, c, freelist);
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	discard_all(s, &d);
	return obj;
}

static inline void active_enter(struct kmem_cache_cpu *c)
{
	int a = atomic_load_explicit(&c->active, memory_order_relaxed);

	/* seq_cst: pairs with the flusher's compare-exchange (Dekker). */
	atomic_store_explicit(&c->active, a + 1, memory_order_seq_cst);
}

static inline void active_exit(struct kmem_cache_cpu *c)
{
	int a = atomic_load_explicit(&c->active, memory_order_relaxed);

	/* Release: our reads of the head object happen before the flusher
	 * (which acquires this) gives the objects away. */
	atomic_store_explicit(&c->active, a - 1, memory_order_release);
}

/* A corrupted cpu freelist: drop it (objects lost, nothing spread). */
static MMT_COLD MMT_UNUSED void drop_cpu_freelist(struct kmem_cache_cpu *c,
						  uint64_t w)
{
	atomic_compare_exchange_strong_explicit(&c->freelist_tid, &w,
						fw_pack(NULL, fw_tid(w) + 1),
						memory_order_acq_rel,
						memory_order_relaxed);
}

/*
 * The alloc fast path as a loop: every case (a node asked for, a
 * pfmemalloc cpu slab, a scheduler attached, MMT_DEBUG's free pointer
 * check, a lost compare-exchange) and the way to the slow path.
 */
static MMT_NOINLINE void *slub_alloc_loop(struct mmt_kmem_cache *s,
					  mmt_gfp_t gfp, int node)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_cpu *c = cpu_of(s, cpu->id);
	uint64_t w;
	void *obj, *next;

	active_enter(c);
	for (;;) {
		w = atomic_load_explicit(&c->freelist_tid,
					 memory_order_seq_cst);
		obj = fw_ptr(w);
		if (MMT_UNLIKELY(!obj ||
				 (node >= 0 &&
				  atomic_load_explicit(&c->node,
						       memory_order_relaxed) !=
					  node) ||
				 (atomic_load_explicit(&c->pfmemalloc,
						       memory_order_relaxed) &&
				  !_mmt_slab_pfmemalloc_ok(gfp))))
			break;
		next = _mmt_get_freepointer(s, obj);
#if MMT_DEBUG >= 1
		{
			struct mmt_page *slab = atomic_load_explicit(
				&c->slab, memory_order_relaxed);

			if (MMT_UNLIKELY(!slab))
				continue; /* flushed under us: reread */
			if (MMT_UNLIKELY(!_mmt_freeptr_ok(s, slab, next,
							  MMT_SITE))) {
				drop_cpu_freelist(c, w);
				break;
			}
		}
#endif
		mmt_sched_point(cpu, MMT_SP_CMPXCHG, obj);
		/* A scheduler must not migrate a task inside the fast path. */
		MMT_ASSERT(_mmt_this_cpu == cpu);
		if (MMT_LIKELY(atomic_compare_exchange_weak_explicit(
			    &c->freelist_tid, &w, fw_pack(next, fw_tid(w) + 1),
			    memory_order_acq_rel, memory_order_relaxed))) {
			active_exit(c);
			return obj;
		}
	}
	active_exit(c);
	return slab_alloc_slow(s, gfp, node);
}

/*
 * Alloc fast path, first try: with no scheduler attached (the scheduling
 * point before the compare-exchange is then a no-op; attaching one is no
 * concurrent event), any node, not pfmemalloc and no debug check, one
 * compare-exchange without a call on the way.  Anything else, including
 * a lost compare-exchange, is slub_alloc_loop(), which has the scheduling
 * point where it always was.
 */
static void *slub_alloc(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_cpu *c = cpu_of(s, cpu->id);
	uint64_t w;
	void *obj;

	if (MMT_UNLIKELY(node >= 0 || cpu->m->sched_hook || MMT_DEBUG >= 1))
		return slub_alloc_loop(s, gfp, node);
	active_enter(c);
	w = atomic_load_explicit(&c->freelist_tid, memory_order_seq_cst);
	obj = fw_ptr(w);
	if (MMT_LIKELY(obj && !atomic_load_explicit(&c->pfmemalloc,
						    memory_order_relaxed)) &&
	    MMT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &c->freelist_tid, &w,
		    fw_pack(_mmt_get_freepointer(s, obj), fw_tid(w) + 1),
		    memory_order_acq_rel, memory_order_relaxed))) {
		active_exit(c);
		return obj;
	}
	active_exit(c);
	return slub_alloc_loop(s, gfp, node);
}

/* ---- free ---- */

/*
 * __slab_free(): the object's slab is not this CPU's cpu slab.  false when
 * @obj is the first free object of its slab already (a double free).
 */
static MMT_NOINLINE bool slab_free_slow(struct mmt_kmem_cache *s,
					struct mmt_page *slab, void *obj)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct discard d = { MMT_PFN_NONE };
	struct kmem_cache_node *n = NULL;
	unsigned int idx = ptr_idx(s, slab, obj), prior;
	unsigned long flags = 0;
	bool was_frozen;
	uint64_t old;
	struct sstate st;

	old = atomic_load_explicit(slab_state(slab), memory_order_acquire);
	for (;;) {
		if (n) {
			mmt_spin_unlock_irqrestore(&n->list_lock, flags);
			n = NULL;
		}
		st = st_unpack(old);
		prior = st.free;
		if (MMT_UNLIKELY(prior == idx))
			return false; /* nothing locked: n was released */
		was_frozen = st.frozen;
		MMT_IASSERT(st.inuse > 0);
		_mmt_set_freepointer(s, obj, idx_ptr(s, slab, prior));
		st.free = idx;
		st.inuse--;
		if ((!st.inuse || prior == FL_NONE) && !was_frozen) {
			if (prior == FL_NONE && cpu_partial_ok(s, slab)) {
				/*
				 * Full and on no list: freeze it onto our cpu
				 * partial list instead of taking list_lock.
				 * Being preempted here, after deciding on the
				 * strength of "cpu partial allowed", is the
				 * seed 003 race with mark_dead + shrink.
				 */
				st.frozen = true;
				mmt_sched_point(cpu, MMT_SP_PREEMPT, s);
			} else {
				/* It has to change lists: lock first. */
				n = slab_node(s, slab);
				mmt_spin_lock_irqsave(&n->list_lock, flags);
			}
		}
		if (state_cmpxchg(cpu, slab, &old, st))
			break;
	}
	if (!n) {
		if (st.frozen && !was_frozen) {
			put_cpu_partial(s, slab, true, &d);
			discard_all(s, &d);
		}
		return true;
	}
	if (!st.inuse && nr_partial(n) >= min_partial(s)) {
		if (prior != FL_NONE)
			remove_partial(s, n, slab);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
		discard_push(s, &d, slab);
		discard_all(s, &d);
		return true;
	}
	if (prior == FL_NONE)
		add_partial(s, n, slab, true);
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return true;
}

/*
 * Free fast path: push on this CPU's freelist when the object's slab is the
 * cpu slab.  An object that is the head of that freelist already is a
 * double free (false): the kernel's set_freepointer() BUG_ON(object == fp).
 */
static MMT_NOINLINE bool slub_free_loop(struct mmt_kmem_cache *s,
					struct mmt_page *slab, void *slot)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_cpu *c = cpu_of(s, cpu->id);
	uint64_t w;

	for (;;) {
		/* Acquire: a flushed word comes with c->slab NULL. */
		w = atomic_load_explicit(&c->freelist_tid,
					 memory_order_acquire);
		if (atomic_load_explicit(&c->slab, memory_order_relaxed) !=
		    slab)
			break;
		if (MMT_UNLIKELY(fw_ptr(w) == slot))
			return false;
		_mmt_set_freepointer(s, slot, fw_ptr(w));
		mmt_sched_point(cpu, MMT_SP_CMPXCHG, slot);
		MMT_ASSERT(_mmt_this_cpu == cpu);
		if (MMT_LIKELY(atomic_compare_exchange_weak_explicit(
			    &c->freelist_tid, &w, fw_pack(slot, fw_tid(w) + 1),
			    memory_order_acq_rel, memory_order_relaxed)))
			return true;
	}
	return slab_free_slow(s, slab, slot);
}

/*
 * Free fast path, first try (as slub_alloc()): no scheduler attached, the
 * object's slab is the cpu slab, one compare-exchange.  Anything else is
 * slub_free_loop().
 */
static bool slub_free(struct mmt_kmem_cache *s, struct mmt_page *slab,
		      void *slot)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_cpu *c = cpu_of(s, cpu->id);
	uint64_t w;

	if (MMT_UNLIKELY(cpu->m->sched_hook))
		return slub_free_loop(s, slab, slot);
	/* Acquire: a flushed word comes with c->slab NULL. */
	w = atomic_load_explicit(&c->freelist_tid, memory_order_acquire);
	if (MMT_LIKELY(atomic_load_explicit(&c->slab, memory_order_relaxed) ==
		       slab) &&
	    MMT_LIKELY(fw_ptr(w) != slot)) {
		_mmt_set_freepointer(s, slot, fw_ptr(w));
		if (MMT_LIKELY(atomic_compare_exchange_strong_explicit(
			    &c->freelist_tid, &w, fw_pack(slot, fw_tid(w) + 1),
			    memory_order_acq_rel, memory_order_relaxed)))
			return true;
	}
	return slub_free_loop(s, slab, slot);
}

/* ---- kmalloc_nolock / kfree_nolock (6.18) ---- */

/*
 * The first slab of a node partial list that is not pfmemalloc, frozen as
 * the caller's cpu slab (its freelist in *freelist), with list_lock by
 * trylock: busy or empty, NULL.  No cpu partial refill (that would take
 * c->lock, which the caller holds, in the list_lock -> c->lock order).
 */
static struct mmt_page *get_partial_nolock(struct mmt_kmem_cache *s, int node,
					   void **freelist)
{
	struct kmem_cache_node *n =
		&SL(s)->node[node >= 0 ? node : _mmt_this_cpu->nid];
	struct mmt_page *slab = NULL;
	unsigned long flags;
	uint32_t pfn;
	long i, nr;

	if (!nr_partial(n) || !mmt_spin_trylock_irqsave(&n->list_lock, flags))
		return NULL;
	nr = nr_partial(n);
	pfn = n->partial;
	for (i = 0; i < nr; i++) {
		struct mmt_page *cand = pfn_page(s->m, pfn);

		pfn = slab_meta(cand)->next;
		if (slab_is_pfmemalloc(cand))
			continue;
		*freelist = acquire_slab(s, cand, true);
		remove_partial(s, n, cand);
		slab = cand;
		break;
	}
	mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	return slab;
}

/*
 * kmalloc_nolock's ___slab_alloc: this CPU's kmem_cache_cpu by trylock
 * (the kernel's local_trylock; busy: *busy, the caller goes to the next
 * size class), held throughout with interrupts off: the cpu slab's
 * freelist, else the slab's own, else a cpu partial slab, else a node
 * partial slab by trylock, else a new slab of alloc_pages_nolock pages.
 * A cpu slab that does not fit (another node asked, pfmemalloc) would
 * have to be deactivated under list_lock: the call fails instead.
 */
static void *slub_alloc_nolock(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			       int node, bool *busy)
{
	struct kmem_cache_cpu *c = cpu_of(s, _mmt_this_cpu->id);
	struct mmt_page *slab;
	unsigned long flags;
	void *freelist, *obj = NULL;

	*busy = false;
	if (!mmt_spin_trylock_irqsave(&c->lock, flags)) {
		*busy = true;
		return NULL;
	}
	for (;;) {
		slab = atomic_load_explicit(&c->slab, memory_order_relaxed);
		if (slab) {
			if (cpu_slab_mismatch(c, node, false))
				goto out;
			freelist = fw_ptr(atomic_load_explicit(
				&c->freelist_tid, memory_order_relaxed));
			if (!freelist)
				freelist = get_freelist(s, slab);
			if (freelist) {
				obj = load_freelist_locked(s, c, freelist);
				goto out;
			}
			/* Full: get_freelist unfroze it; it is on no list. */
			cpu_detach_locked(c);
		}
		slab = take_cpu_partial_locked(s, c, false);
		if (!slab)
			break;
		cpu_install_locked(c, slab, NULL);
	}
	slab = get_partial_nolock(s, node, &freelist);
	if (!slab)
		slab = new_slab(s, gfp, node, &freelist);
	if (slab) {
		cpu_install_locked(c, slab, NULL);
		obj = load_freelist_locked(s, c, freelist);
	}
out:
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	return obj;
}

/*
 * kfree_nolock's do_slab_free: the cpu slab's lockless push as always;
 * else __slab_free with list_lock by trylock (busy: nothing changed, the
 * common part defers the object), never freezing onto the cpu partial
 * list (c->lock) and never discarding an empty slab (the page allocator):
 * a free that would empty a slab the ordinary free gives back (beyond
 * min_partial; any, for a dead cache) is deferred to that free.
 */
static int slub_free_nolock(struct mmt_kmem_cache *s, struct mmt_page *slab,
			    void *slot)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct kmem_cache_cpu *c = cpu_of(s, cpu->id);
	struct kmem_cache_node *n = NULL;
	unsigned int idx = ptr_idx(s, slab, slot), prior;
	unsigned long flags = 0;
	struct sstate st;
	uint64_t w, old;

	for (;;) {
		/* Acquire: a flushed word comes with c->slab NULL. */
		w = atomic_load_explicit(&c->freelist_tid,
					 memory_order_acquire);
		if (atomic_load_explicit(&c->slab, memory_order_relaxed) !=
		    slab)
			break;
		if (fw_ptr(w) == slot)
			return MMT_FREE_NOLOCK_REFUSED;
		_mmt_set_freepointer(s, slot, fw_ptr(w));
		mmt_sched_point(cpu, MMT_SP_CMPXCHG, slot);
		if (atomic_compare_exchange_weak_explicit(
			    &c->freelist_tid, &w, fw_pack(slot, fw_tid(w) + 1),
			    memory_order_acq_rel, memory_order_relaxed))
			return MMT_FREE_NOLOCK_DONE;
	}
	old = atomic_load_explicit(slab_state(slab), memory_order_acquire);
	for (;;) {
		if (n) {
			mmt_spin_unlock_irqrestore(&n->list_lock, flags);
			n = NULL;
		}
		st = st_unpack(old);
		prior = st.free;
		if (prior == idx)
			return MMT_FREE_NOLOCK_REFUSED;
		_mmt_set_freepointer(s, slot, idx_ptr(s, slab, prior));
		if ((st.inuse == 1 || prior == FL_NONE) && !st.frozen) {
			/* It may change lists: list_lock, by trylock. */
			n = slab_node(s, slab);
			if (!mmt_spin_trylock_irqsave(&n->list_lock, flags))
				return MMT_FREE_NOLOCK_BUSY;
			/*
			 * Emptied, an ordinary free would give the slab back
			 * (the page allocator; a dead cache keeps none): leave
			 * that to it, deferred.
			 */
			if (st.inuse == 1 && nr_partial(n) >= min_partial(s)) {
				mmt_spin_unlock_irqrestore(&n->list_lock,
							   flags);
				return MMT_FREE_NOLOCK_BUSY;
			}
		}
		st.free = idx;
		st.inuse--;
		if (state_cmpxchg(cpu, slab, &old, st))
			break;
	}
	if (n) {
		if (prior == FL_NONE)
			add_partial(s, n, slab, true);
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	return MMT_FREE_NOLOCK_DONE;
}

/* ---- cache-wide operations ---- */

static void slub_flush_cpu(struct mmt_kmem_cache *s, int cpu)
{
	struct discard d = { MMT_PFN_NONE };

	flush_cpu_to(s, cpu, &d);
	discard_all(s, &d);
}

/* __kmem_cache_shrink(): flush every CPU, give back every empty slab. */
static void slub_shrink(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	struct discard d = { MMT_PFN_NONE };
	int i;

	for (i = 0; i < m->nr_cpus; i++)
		flush_cpu_to(s, i, &d);
	for (i = 0; i < m->nr_nodes; i++) {
		struct kmem_cache_node *n = &SL(s)->node[i];
		unsigned long flags;
		uint32_t pfn;
		long k, nr;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		nr = nr_partial(n);
		pfn = n->partial;
		for (k = 0; k < nr; k++) {
			struct mmt_page *slab = pfn_page(m, pfn);

			pfn = slab_meta(slab)->next;
			/* No allocation takes a listed slab without the lock. */
			if (st_unpack(
				    atomic_load_explicit(slab_state(slab),
							 memory_order_acquire))
				    .inuse)
				continue;
			remove_partial(s, n, slab);
			discard_push(s, &d, slab);
		}
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	discard_all(s, &d);
}

/*
 * Could an ordinary caller be handed a pfmemalloc object of @cpuid's
 * per-cpu state?  Only through a cpu slab whose mark disagrees with its
 * slab (the fast path and pfmemalloc_match() read the mark); a cpu partial
 * slab that is pfmemalloc is taken by entitled callers only.
 */
static bool slub_pfmemalloc_in_percpu(struct mmt_kmem_cache *s, int cpuid)
{
	struct kmem_cache_cpu *c = cpu_of(s, cpuid);
	struct mmt_page *slab;
	unsigned long flags;
	bool found;

	mmt_spin_lock_irqsave(&c->lock, flags);
	slab = atomic_load_explicit(&c->slab, memory_order_relaxed);
	found = slab && slab_is_pfmemalloc(slab) &&
		!atomic_load_explicit(&c->pfmemalloc, memory_order_relaxed);
	mmt_spin_unlock_irqrestore(&c->lock, flags);
	return found;
}

/*
 * The kernel's SLUB does nothing when the last memalloc socket goes: its
 * pfmemalloc slabs keep serving entitled callers only (pfmemalloc_match()
 * asks the caller's rights, never the sockets).
 */
static void slub_memalloc_socks_off(struct mmt_kmem_cache *s)
{
	(void)s;
}

static void slub_mark_dead(struct mmt_kmem_cache *s)
{
	atomic_store_explicit(&SL(s)->min_partial, 0, memory_order_relaxed);
	atomic_store_explicit(&SL(s)->cpu_partial, 0, memory_order_relaxed);
}

static long slub_free_objects(struct mmt_kmem_cache *s)
{
	return atomic_load_explicit(&SL(s)->total_objects,
				    memory_order_relaxed) -
	       _mmt_cache_live(s);
}

/* ---- set-up and teardown ---- */

static unsigned int ilog2u(unsigned int x)
{
	return 31u - (unsigned int)__builtin_clz(x);
}

static int slub_cache_init(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	/*
	 * One block: the node and cpu arrays on cache lines of their own (a
	 * CPU's fast path shares no line with another's), then sl.  Aligned
	 * by hand: glibc's aligned_alloc() splits chunks, several times the
	 * cost of a calloc.
	 */
	size_t nodes = sizeof(struct kmem_cache_node) * (size_t)m->nr_nodes;
	size_t cpus = sizeof(struct kmem_cache_cpu) * (size_t)m->nr_cpus;
	void *block = calloc(1, nodes + cpus + sizeof(struct slub) + 63);
	char *base = (char *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
	struct slub *sl;
	unsigned int mp, objs;
	int i;

	if (!block)
		return -1;
	sl = (struct slub *)(void *)(base + nodes + cpus);
	sl->block = block;
	sl->node = (struct kmem_cache_node *)(void *)base;
	sl->cpu = (struct kmem_cache_cpu *)(void *)(base + nodes);
	/* Kernel: min_partial = clamp(ilog2(size) / 2, MIN, MAX) = 5..10. */
	mp = ilog2u(s->size) / 2;
	mp = mp < 5 ? 5 : mp > 10 ? 10 : mp;
	atomic_init(&sl->min_partial, mp);
	/*
	 * cpu partial: objects by size as the kernel's set_cpu_partial() of
	 * v5.16+ (raised with the switch to counting slabs: 6, 24, 52, 120
	 * where v5.15 had 2, 6, 13, 30), then slabs as slub_set_cpu_partial():
	 * the slabs are assumed half full, so twice the objects over objects
	 * per slab, rounded up.  Debug caches keep none.
	 */
	objs = s->size >= MMT_PAGE_SIZE ? 6 :
	       s->size >= 1024		? 24 :
	       s->size >= 256		? 52 :
					  120;
	sl->cpu_partial_max = (objs * 2 + s->objects - 1) / s->objects;
	if (s->flags &
	    (MMT_SLAB_POISON | MMT_SLAB_RED_ZONE | MMT_SLAB_STORE_USER))
		sl->cpu_partial_max = 0;
	atomic_init(&sl->cpu_partial, sl->cpu_partial_max);
	atomic_init(&sl->total_objects, 0);
	for (i = 0; i < m->nr_nodes; i++) {
		mmt_spin_lock_init(&sl->node[i].list_lock, &list_lock_class);
		sl->node[i].partial = MMT_PFN_NONE;
		atomic_init(&sl->node[i].nr_partial, 0);
	}
	for (i = 0; i < m->nr_cpus; i++) {
		struct kmem_cache_cpu *c = &sl->cpu[i];

		atomic_init(&c->freelist_tid, fw_pack(NULL, (unsigned int)i));
		atomic_init(&c->active, 0);
		atomic_init(&c->slab, NULL);
		atomic_init(&c->node, -1);
		atomic_init(&c->pfmemalloc, false);
		mmt_spin_lock_init(&c->lock, &cpu_lock_class);
		c->partial = MMT_PFN_NONE;
		atomic_init(&c->nr_partial, 0);
	}
	s->impl = sl;
	return 0;
}

static void slub_cache_free_state(struct mmt_kmem_cache *s)
{
	struct slub *sl = SL(s);

	if (!sl)
		return;
	free(sl->block);
	s->impl = NULL;
}

static void slub_cache_release(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	struct discard d = { MMT_PFN_NONE };
	unsigned long pfn;
	int i;

	for (i = 0; i < m->nr_nodes; i++) {
		struct kmem_cache_node *n = &SL(s)->node[i];
		unsigned long flags;

		mmt_spin_lock_irqsave(&n->list_lock, flags);
		while (n->partial != MMT_PFN_NONE) {
			struct mmt_page *slab = pfn_page(m, n->partial);

			remove_partial(s, n, slab);
			discard_push(s, &d, slab);
		}
		mmt_spin_unlock_irqrestore(&n->list_lock, flags);
	}
	/* Full slabs of leaked objects (reported by the caller) are on no list. */
	if (atomic_load_explicit(&s->nr_slabs, memory_order_relaxed) > 0) {
		unsigned long start, end;

		for (pfn = 0; _mmt_pfn_used_range(m, pfn, &start, &end);
		     pfn = end) {
			for (pfn = start; pfn < end; pfn++) {
				struct mmt_page *p = &m->pages[pfn];

				if ((pg_flags(p) & MMT_PG_SLAB) &&
				    slab_meta(p)->cache == s &&
				    atomic_load_explicit(slab_state(p),
							 memory_order_relaxed) !=
					    ST_DISCARDED)
					discard_push(s, &d, p);
			}
		}
	}
	slub_cache_free_state(s);
	discard_all(s, &d);
}

/* ---- validators (machine quiescent) ---- */

enum {
	W_NONE,
	W_NODE,
	W_CPU_PARTIAL,
	W_CPU_SLAB /* + cpu id */
};

/*
 * where[] by pfn: a slot counts only if stamped with this validation's
 * epoch, so no validation has to clear the array (the clearing of every
 * used frame for every cache was most of a validation's cost).
 */
struct vwhere {
	uint32_t epoch;
	int32_t w;
};

struct vctx {
	struct mmt_kmem_cache *s;
	struct vwhere *where; /* by pfn, up to the last frame ever used */
	uint32_t epoch;
	uint8_t *bits; /* one slab's objects */
	bool ok;
};

static inline int32_t where_get(const struct vctx *v, uint32_t pfn)
{
	return v->where[pfn].epoch == v->epoch ? v->where[pfn].w : W_NONE;
}

static inline void where_set(struct vctx *v, uint32_t pfn, int32_t w)
{
	v->where[pfn].epoch = v->epoch;
	v->where[pfn].w = w;
}

static bool listed_slab_ok(struct vctx *v, struct mmt_page *slab,
			   const char *check, const char *list)
{
	struct mmt_kmem_cache *s = v->s;
	uint32_t pfn = page_pfn(s->m, slab);

	if (!(pg_flags(slab) & MMT_PG_SLAB) || slab_meta(slab)->cache != s)
		return v->ok = mmt_violation(
			       s->m, check,
			       "cache %s: %s holds pfn %u, which is no slab of the cache",
			       s->name, list, pfn);
	if (where_get(v, pfn) != W_NONE)
		return v->ok = mmt_violation(
			       s->m, check,
			       "cache %s: slab pfn %u is on %s and on another list or cpu",
			       s->name, pfn, list);
	return true;
}

static void validate_lists(struct vctx *v)
{
	struct mmt_kmem_cache *s = v->s;
	struct mmt_machine *m = s->m;
	struct slub *sl = SL(s);
	unsigned int bound = sl->cpu_partial_max ? sl->cpu_partial_max : 1;
	int i;

	for (i = 0; i < m->nr_nodes; i++) {
		struct kmem_cache_node *n = &sl->node[i];
		uint32_t pfn = n->partial, prev;
		long count = 0;

		if (pfn == MMT_PFN_NONE)
			goto count;
		prev = slab_meta(pfn_page(m, pfn))->prev;
		do {
			struct mmt_page *slab = pfn_page(m, pfn);
			struct mmt_slab_meta *meta;
			struct sstate st;

			if (pfn >= m->nr_pages ||
			    (unsigned long)count > m->nr_pages ||
			    !listed_slab_ok(v, slab, "slab-node-partial",
					    "a node partial list")) {
				v->ok = mmt_violation(
					m, "slab-node-partial",
					"cache %s node %d: partial list broken at pfn %u",
					s->name, i, pfn);
				return;
			}
			meta = slab_meta(slab);
			st = st_unpack(atomic_load_explicit(
				&meta->state, memory_order_relaxed));
			if (meta->prev != prev || meta->node != (uint32_t)i ||
			    st.frozen || st.free == FL_NONE)
				v->ok = mmt_violation(
					m, "slab-node-partial",
					"cache %s node %d: partial slab pfn %u has %s",
					s->name, i, pfn,
					meta->prev != prev ?
						"a broken back link" :
					meta->node != (uint32_t)i ?
						"pages of another node" :
					st.frozen ? "the frozen bit set" :
						    "no free object (full)");
			where_set(v, pfn, W_NODE);
			count++;
			prev = pfn;
			pfn = meta->next;
		} while (pfn != n->partial);
count:
		if (count != nr_partial(n))
			v->ok = mmt_violation(
				m, "slab-node-partial",
				"cache %s node %d: nr_partial %ld, the list holds %ld",
				s->name, i, nr_partial(n), count);
	}
	for (i = 0; i < m->nr_cpus; i++) {
		struct kmem_cache_cpu *c = &sl->cpu[i];
		struct mmt_page *slab =
			atomic_load_explicit(&c->slab, memory_order_relaxed);
		unsigned int count = 0,
			     nr = atomic_load_explicit(&c->nr_partial,
						       memory_order_relaxed);
		uint32_t pfn;

		if (slab && listed_slab_ok(v, slab, "slab-inuse", "a cpu slab"))
			where_set(v, page_pfn(m, slab), W_CPU_SLAB + i);
		if (!slab && fw_ptr(atomic_load_explicit(&c->freelist_tid,
							 memory_order_relaxed)))
			v->ok = mmt_violation(
				m, "slab-inuse",
				"cache %s cpu %d: objects on the cpu freelist without a cpu slab",
				s->name, i);
		for (pfn = c->partial; pfn != MMT_PFN_NONE;
		     pfn = slab_meta(pfn_page(m, pfn))->next) {
			struct sstate st;

			if (pfn >= m->nr_pages || count > nr ||
			    !listed_slab_ok(v, pfn_page(m, pfn),
					    "slab-cpu-partial",
					    "a cpu partial list")) {
				v->ok = mmt_violation(
					m, "slab-cpu-partial",
					"cache %s cpu %d: cpu partial list broken at pfn %u",
					s->name, i, pfn);
				break;
			}
			st = st_unpack(atomic_load_explicit(
				slab_state(pfn_page(m, pfn)),
				memory_order_relaxed));
			if (!st.frozen || st.free == FL_NONE)
				v->ok = mmt_violation(
					m, "slab-cpu-partial",
					"cache %s cpu %d: cpu partial slab pfn %u is %s",
					s->name, i, pfn,
					!st.frozen ? "not frozen" : "full");
			where_set(v, pfn, W_CPU_PARTIAL);
			count++;
		}
		if (count != nr || nr > bound)
			v->ok = mmt_violation(
				m, "slab-cpu-partial",
				"cache %s cpu %d: cpu partial count %u, list %u, limit %u",
				s->name, i, nr, count, bound);
	}
}

/*
 * Walk a freelist of @slab from @p marking @v->bits; returns the objects
 * walked, stopping at a foreign pointer or a repeat (reported).
 */
static unsigned int walk_freelist(struct vctx *v, struct mmt_page *slab,
				  void *p, const char *what)
{
	struct mmt_kmem_cache *s = v->s;
	void *base = _mmt_slab_base(slab);
	unsigned int n = 0;

	while (p) {
		unsigned int i;

		if (!_mmt_freeptr_ok(s, slab, p, MMT_SITE)) {
			v->ok = false;
			break;
		}
		i = slot_index(s, base, p);
		if (v->bits[i / 8] & (1u << (i % 8))) {
			v->ok = mmt_violation(
				s->m, "slab-inuse",
				"cache %s slab pfn %u: object %u is twice on the %s "
				"(or on the slab's and a cpu freelist)",
				s->name, page_pfn(s->m, slab), i, what);
			break;
		}
		v->bits[i / 8] |= (uint8_t)(1u << (i % 8));
		n++;
		p = _mmt_get_freepointer(s, p);
	}
	return n;
}

/* One slab; returns its objects in use (handed out). */
static long validate_slab(struct vctx *v, struct mmt_page *slab)
{
	struct mmt_kmem_cache *s = v->s;
	struct mmt_machine *m = s->m;
	uint32_t pfn = page_pfn(m, slab);
	unsigned int objects = slab_objects(s, slab), nfree, ncpu = 0, i;
	struct sstate st = st_unpack(
		atomic_load_explicit(slab_state(slab), memory_order_relaxed));
	int32_t where = where_get(v, pfn);
	const uint8_t *map = slab_meta(slab)->allocmap;
	long used;

	memset(v->bits, 0, (objects + 7) / 8);
	nfree = walk_freelist(v, slab, idx_ptr(s, slab, st.free),
			      "slab's freelist");
	if (st.objects != objects || st.inuse + nfree != objects)
		v->ok = mmt_violation(
			m, "slab-inuse",
			"cache %s slab pfn %u: %u in use + %u free != %u objects (state says %u)",
			s->name, pfn, st.inuse, nfree, objects, st.objects);
	if (st.frozen != (where >= W_CPU_PARTIAL))
		v->ok = mmt_violation(
			m, "slab-inuse", "cache %s slab pfn %u is %s but %s",
			s->name, pfn, st.frozen ? "frozen" : "not frozen",
			where >= W_CPU_PARTIAL ? "a cpu owns it" :
						 "no cpu owns it");
	if (where == W_NONE && st.free != FL_NONE)
		v->ok = mmt_violation(
			m, "slab-node-partial",
			"cache %s slab pfn %u has %u free object(s) but is on no list and no cpu",
			s->name, pfn, nfree);
	if (where >= W_CPU_SLAB) {
		struct kmem_cache_cpu *c = &SL(s)->cpu[where - W_CPU_SLAB];

		ncpu = walk_freelist(
			v, slab,
			fw_ptr(atomic_load_explicit(&c->freelist_tid,
						    memory_order_relaxed)),
			"cpu freelist");
	}
	if (map)
		for (i = 0; i < objects; i++)
			if ((v->bits[i / 8] & map[i / 8]) & (1u << (i % 8))) {
				v->ok = mmt_violation(
					m, "slab-inuse",
					"cache %s slab pfn %u: object %u is on a freelist and handed out",
					s->name, pfn, i);
				break;
			}
	used = (long)st.inuse - (long)ncpu;
	if (used == 0 && atomic_load_explicit(&s->dead, memory_order_relaxed))
		v->ok = mmt_violation(
			m, "dead-cache-leak",
			"dead cache %s keeps empty slab pfn %u (%s): the cache can never go away",
			s->name, pfn,
			where == W_NODE ? "on a node partial list" :
			where == W_CPU_PARTIAL ?
					  "frozen on a cpu partial list" :
			where >= W_CPU_SLAB ? "as a cpu slab" :
					      "on no list");
	return used;
}

/*
 * The validators' scratch, kept for the process (a global: LeakSanitizer
 * sees it as reachable) under a host mutex - machines on several threads
 * may validate at once.
 */
static pthread_mutex_t scratch_mu = PTHREAD_MUTEX_INITIALIZER;
static void *where_buf, *bits_buf;
static size_t where_cap, bits_cap;
static uint32_t where_epoch; /* of the last validation */

/* At least @need bytes of scratch @buf (kept; never freed), grown zeroed. */
static void *scratch(void **buf, size_t *cap, size_t need)
{
	void *nb;

	if (need <= *cap)
		return *buf;
	nb = realloc(*buf, need);
	if (!nb)
		return NULL;
	memset((char *)nb + *cap, 0, need - *cap);
	*buf = nb;
	*cap = need;
	return nb;
}

/* A fresh epoch for where[] (epoch 0 is what a zeroed slot holds). */
static uint32_t next_where_epoch(void)
{
	if (++where_epoch == 0) {
		memset(where_buf, 0, where_cap);
		where_epoch = 1;
	}
	return where_epoch;
}

static bool slub_is_valid(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m = s->m;
	struct vctx v = { s, NULL, 0, NULL, true };
	unsigned long pfn, start, end;
	long used = 0, live;

	/*
	 * where[] by pfn, up to the last frame an allocation reached: every
	 * slab lies below it (listed_slab_ok() looks at where[] only for a
	 * frame that is a slab), and the cost follows what the machine used.
	 */
	for (pfn = 0; _mmt_pfn_used_range(m, pfn, &start, &end); pfn = end)
		;
	/*
	 * Scratch kept for the process: the interpreter validates every
	 * cache after every operation at oracle level 2, and a fresh calloc()
	 * per cache and operation was most of a fuzz execution's time.
	 */
	pthread_mutex_lock(&scratch_mu);
	v.where = scratch(&where_buf, &where_cap,
			  (pfn ? pfn : 1) * sizeof(*v.where));
	v.bits = scratch(&bits_buf, &bits_cap, 0x10000 / 8);
	if (!v.where || !v.bits) {
		pthread_mutex_unlock(&scratch_mu);
		return true; /* no host memory to check with */
	}
	v.epoch = next_where_epoch();
	validate_lists(&v);
	/*
	 * The cache's slabs lie in the frames its slabs ever took (slab.h:
	 * slab_lo..slab_hi); a cache that has none (most kmalloc caches, most
	 * of the time) has no frame to look at, and its live count must then
	 * be 0.
	 */
	start = atomic_load_explicit(&s->slab_lo, memory_order_relaxed);
	end = (unsigned long)atomic_load_explicit(&s->slab_hi,
						  memory_order_relaxed) +
	      1;
	if (end > m->nr_pages)
		end = m->nr_pages;
	for (pfn = start;
	     atomic_load_explicit(&s->nr_slabs, memory_order_relaxed) > 0 &&
	     pfn < end;
	     pfn++) {
		struct mmt_page *p = &m->pages[pfn];

		if (!(pg_flags(p) & MMT_PG_SLAB) || slab_meta(p)->cache != s ||
		    atomic_load_explicit(slab_state(p), memory_order_relaxed) ==
			    ST_DISCARDED)
			continue;
		used += validate_slab(&v, p);
	}
	/* kfree_nolock's deferred objects are freed but still in use here. */
	live = _mmt_cache_live(s) + _mmt_cache_deferred(s);
	if (used != live)
		v.ok = mmt_violation(
			m, "slab-leak",
			"cache %s: %ld object(s) in use in its slabs, but %ld live (allocs - frees, and deferred frees)",
			s->name, used, live);
	pthread_mutex_unlock(&scratch_mu);
	return v.ok;
}

static void slub_dump(struct mmt_kmem_cache *s, FILE *out)
{
	struct mmt_machine *m = s->m;
	struct slub *sl = SL(s);
	int i;

	fprintf(out,
		"slub %s: size %u objects/slab %u order %u min_partial %u cpu_partial %u%s\n",
		s->name, s->size, s->objects, s->order, min_partial(s),
		atomic_load_explicit(&sl->cpu_partial, memory_order_relaxed),
		atomic_load_explicit(&s->dead, memory_order_relaxed) ? " dead" :
								       "");
	for (i = 0; i < m->nr_nodes; i++)
		fprintf(out, "  node %d: nr_partial %ld\n", i,
			nr_partial(&sl->node[i]));
	for (i = 0; i < m->nr_cpus; i++) {
		struct kmem_cache_cpu *c = &sl->cpu[i];
		struct mmt_page *slab =
			atomic_load_explicit(&c->slab, memory_order_relaxed);
		uint64_t w = atomic_load_explicit(&c->freelist_tid,
						  memory_order_relaxed);

		if (!slab &&
		    !atomic_load_explicit(&c->nr_partial, memory_order_relaxed))
			continue;
		fprintf(out,
			"  cpu %d: slab pfn %ld%s tid %u freelist %p cpu partial %u\n",
			i, slab ? (long)page_pfn(m, slab) : -1L,
			atomic_load_explicit(&c->pfmemalloc,
					     memory_order_relaxed) ?
				" (pfmemalloc)" :
				"",
			fw_tid(w), fw_ptr(w),
			atomic_load_explicit(&c->nr_partial,
					     memory_order_relaxed));
	}
}

const struct mmt_slab_ops _mmt_slub_ops = {
	.name = "slub",
	.desc = "per-cpu lockless freelist with a transaction id, cpu partial and node partial slabs, frozen slabs",
	.cache_init = slub_cache_init,
	.cache_release = slub_cache_release,
	.cache_free_state = slub_cache_free_state,
	.alloc = slub_alloc,
	.free = slub_free,
	.shrink = slub_shrink,
	.flush_cpu = slub_flush_cpu,
	.memalloc_socks_off = slub_memalloc_socks_off,
	.mark_dead = slub_mark_dead,
	.pfmemalloc_in_percpu = slub_pfmemalloc_in_percpu,
	.is_valid = slub_is_valid,
	.free_objects = slub_free_objects,
	.dump = slub_dump,
	.alloc_nolock = slub_alloc_nolock,
	.free_nolock = slub_free_nolock,
};
