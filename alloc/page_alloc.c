/* SPDX-License-Identifier: MIT */
/*
 * alloc/page_alloc.c - the buddy page allocator with per-cpu page lists.
 *
 * What it models: mm/page_alloc.c as of v6.x, with the __GFP_FAST_TRY mode
 * of seed 002.  Written from the documented behaviour, not from the kernel
 * source.
 *
 * Algorithm.
 *  - Buddy: free blocks of order 0..10 on lists per order and migratetype.
 *    Allocation takes the smallest sufficient block and splits it (expand);
 *    freeing merges a block with its buddy (pfn ^ (1 << order)) while the
 *    buddy is free with the same order.  When a migratetype's lists are
 *    empty, a block is stolen from a fallback type, largest first; a large
 *    steal (>= half a pageblock) or one for unmovable/reclaimable claims the
 *    whole pageblock.  High-order atomic allocations reserve a pageblock as
 *    MIGRATE_HIGHATOMIC (v6.8: at least one pageblock, at most ~1% of the
 *    zone rounded up to pageblocks, none in a zone whose 1% is less than
 *    a pageblock - every zone a fuzzer's machine has), released again
 *    when direct reclaim fails.
 *  - Lazy set-up: a zone starts as its largest blocks, but only the first
 *    is linked; the others are counted (nr_free, NR_FREE_PAGES, the
 *    non-empty mask) and linked one at a time, in pfn order, when the
 *    movable list of the largest order runs empty (area_first()) - where
 *    they would have been on an eagerly built list.  No descriptor is
 *    written for a block not linked yet, so a machine costs what its
 *    allocations reach, not its size (_mmt_pfn_used_range() tells walks
 *    of every frame where to look).
 *  - Per-cpu pages: each CPU has, per zone, lists per migratetype and order
 *    0..PAGE_ALLOC_COSTLY_ORDER.  Allocation pops from the list, refilling
 *    `batch` pages in bulk under the zone lock (rmqueue_bulk) when it is
 *    empty; free pushes onto the list and, above `high`, returns `batch`
 *    pages to the buddy lists under the zone lock (free_pcppages_bulk).
 *  - Watermarks: min/low/high per zone from min_free_kbytes and
 *    watermark_scale_factor; lowmem_reserve protects DMA32 from NORMAL
 *    allocations.  Callers without reserve rights do not count the free
 *    pages of the highatomic lists (v6.12's nr_free_highatomic; before,
 *    the whole reservation, free or not, was withheld).  The fast path
 *    checks the low watermark; the slow path derives ALLOC_* flags from
 *    the GFP mask and the context as v6.4+ does (min watermark, __GFP_HIGH
 *    halves it, a non-blocking caller with __GFP_HIGH takes another
 *    quarter, one without (GFP_NOWAIT) gets no margin at all, OOM victims
 *    half), then no watermarks at all for PF_MEMALLOC outside interrupts
 *    or __GFP_MEMALLOC, never with __GFP_NOMEMALLOC.  A page handed out
 *    with no watermarks is marked pfmemalloc.
 *  - Slow path: wake kswapd (hook), retry at min, reserves, direct reclaim
 *    (hook, run with PF_MEMALLOC), drain and unreserve highatomic, retry
 *    policy (NORETRY, costly orders, RETRY_MAYFAIL, a bounded number of
 *    no-progress loops), OOM (hook or the default victim choice), and
 *    __GFP_NOFAIL's bounded retries with the harder reserve.
 *  - __GFP_FAST_TRY: the per-cpu list only, taken with trylock; an empty
 *    list is a failure, never rmqueue_bulk() and never the zone lock; no
 *    kswapd wakeup, no slow path.
 *  - The nolock APIs (6.15-6.16, FAST_TRY's descendants):
 *    alloc_pages_nolock() runs the fast path with ALLOC_TRYLOCK: the pcp
 *    lock by trylock (busy: the buddy lists), the zone lock by trylock
 *    (busy: NULL), rmqueue_bulk() included; min watermark, zeroed,
 *    __GFP_NOMEMALLOC, no kswapd, no slow path; NULL at once in hard irq
 *    under PREEMPT_RT rules.  free_pages_nolock() frees by trylock too;
 *    a block that gets no lock is pushed on its zone's lock-free deferred
 *    list (zone->deferred), which every free path that holds the zone
 *    lock empties first (free_one_page, free_pcppages_bulk), and teardown
 *    too.  A nolock free never drains a pcp above its high mark (that
 *    takes the zone lock): the next ordinary free does.  While a nolock
 *    call runs, cpu->nospin_depth makes the lock layer report any
 *    acquisition that is not a trylock, and might_sleep() any sleep
 *    ("nolock-spin").  The zone-lock path follows the 2025 fix "avoid
 *    second trylock of zone->lock": ordinary callers lock, trylock
 *    callers trylock; MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK has everyone try
 *    first and spin after a failed try, the nolock callers too.
 *  - Uniprocessor (cfg.up, CONFIG_SMP=n, without PREEMPT_RT rules, under
 *    which a spinlock_t sleeps and keeps its word): a spinlock is a no-op, so
 *    pcp "trylock" cannot fail; the pcp lock disables interrupts instead
 *    (the fix), and no interrupt can reenter a list operation.  With
 *    MMT_BUG_PCP_UP_TRYLOCK_REENTRY interrupts stay on: a handler
 *    delivered inside the task's list operation (the scheduling point
 *    between reading a list and changing it) reenters the same pcp, which
 *    the up_busy count reports ("pcp-reentry").
 *
 * Invariants (checked by _mmt_zone_is_valid and the cheap checks):
 *  - per zone: free (buddy) + per-cpu + allocated == managed pages;
 *    nr_free_highatomic == the pages on the highatomic buddy lists;
 *  - a free block is aligned to its order, lies in its zone, carries
 *    MMT_PG_BUDDY and its order, sits on the list of its migratetype, and
 *    two free buddies of the same order never coexist (they would merge);
 *  - pcp->count equals the pages on that pcp's lists, each MMT_PG_PCP;
 *  - nr_deferred equals the pages on the zone's deferred list, each head
 *    MMT_PG_DEFERRED; conservation counts them beside free, per-cpu and
 *    allocated (they are neither free nor leaked);
 *  - a page is in exactly one state: buddy, pcp, allocated head, part of an
 *    allocation, or in no zone (a hole between zones: an all-zero
 *    descriptor that pfn_zone() places in none).
 *
 * pcp->lock is taken through the lock model's inline fast paths
 * (lock_inline.h: the same semantics as spin_trylock()/spin_unlock()), and
 * the first attempt of an allocation is inlined into alloc_pages_nid().
 *
 * Lock order: pcp->lock -> zone->lock.  The zone lock is taken with
 * interrupts disabled (spin_lock_irqsave), so an interrupt never finds it
 * held on its own CPU.  pcp->lock is taken with trylock on the allocation
 * and free paths, falling back to the buddy lists (or failing, for
 * FAST_TRY), which is what makes the per-cpu lists safe to use from an
 * interrupt that arrived while its CPU held pcp->lock; remote drains take
 * pcp->lock unconditionally.  Reads of zone->nr_free_pages and of the
 * non-empty masks by the watermark check are lockless by design (relaxed
 * atomics): the check is a heuristic, as in the kernel.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "lock_inline.h"

/* ---- ALLOC_* flags (mm/internal.h meanings) ---- */

#define ALLOC_WMARK_MIN MMT_WMARK_MIN
#define ALLOC_WMARK_LOW MMT_WMARK_LOW
#define ALLOC_WMARK_HIGH MMT_WMARK_HIGH
#define ALLOC_WMARK_MASK 0x03u
#define ALLOC_NO_WATERMARKS 0x04u
#define ALLOC_OOM 0x08u
#define ALLOC_HARDER 0x10u /* non-blocking caller (v6.4+: ALLOC_NON_BLOCK) */
#define ALLOC_HIGH 0x20u /* __GFP_HIGH (v6.4+: ALLOC_MIN_RESERVE) */
#define ALLOC_KSWAPD 0x40u
#define ALLOC_HIGHATOMIC 0x80u
#define ALLOC_FAST_TRY 0x100u /* never the zone lock, trylock only */
#define ALLOC_TRYLOCK 0x200u /* alloc_pages_nolock: every lock by trylock */

#define MMT_MAX_RECLAIM_RETRIES 16
#define MMT_MAX_SLOWPATH_LOOPS 64 /* the model never loops forever */

static MMT_LOCK_CLASS(zone_lock_class, "zone->lock", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(pcp_lock_class, "pcp->lock", MMT_LOCK_SPIN);

static const char *const vm_item_names[MMT_NR_VM_ITEMS] = {
	[MMT_VM_PGALLOC] = "pgalloc",
	[MMT_VM_PGFREE] = "pgfree",
	[MMT_VM_ALLOC_FAIL] = "alloc_fail",
	[MMT_VM_PCP_HIT] = "pcp_hit",
	[MMT_VM_PCP_REFILL] = "pcp_refill",
	[MMT_VM_PCP_DRAIN] = "pcp_drain",
	[MMT_VM_FAST_TRY_FAIL] = "fast_try_fail",
	[MMT_VM_PGALLOC_PFMEMALLOC] = "pgalloc_pfmemalloc",
	[MMT_VM_SLOWPATH] = "slowpath",
	[MMT_VM_KSWAPD_WAKE] = "kswapd_wake",
	[MMT_VM_ALLOCSTALL] = "allocstall",
	[MMT_VM_OOM] = "oom",
	[MMT_VM_NOFAIL_RETRY] = "nofail_retry",
	[MMT_VM_STEAL] = "steal",
	[MMT_VM_BUDDY_SPLIT] = "buddy_split",
	[MMT_VM_BUDDY_MERGE] = "buddy_merge",
	[MMT_VM_WMARK_FAIL] = "wmark_fail",
	[MMT_VM_NOLOCK_FAIL] = "nolock_fail",
	[MMT_VM_NOLOCK_DEFERRED] = "nolock_deferred",
	[MMT_VM_OOM_KILL] = "oom_kill",
};

static const char *const mt_names[MMT_MIGRATE_TYPES] = { "Unmovable", "Movable",
							 "Reclaimable",
							 "HighAtomic" };

/* Steal order when a migratetype runs dry (fallbacks[] of the kernel). */
static const int fallbacks[MMT_MIGRATE_PCPTYPES][2] = {
	[MMT_MIGRATE_UNMOVABLE] = { MMT_MIGRATE_RECLAIMABLE,
				    MMT_MIGRATE_MOVABLE },
	[MMT_MIGRATE_MOVABLE] = { MMT_MIGRATE_RECLAIMABLE,
				  MMT_MIGRATE_UNMOVABLE },
	[MMT_MIGRATE_RECLAIMABLE] = { MMT_MIGRATE_UNMOVABLE,
				      MMT_MIGRATE_MOVABLE },
};

/* Per-zone data that only this file uses, kept beside struct mmt_zone. */
struct zone_extra {
	/* bit mt set if free_area[order].list[mt] is non-empty */
	_Atomic uint8_t nonempty[MMT_MAX_ORDER];
};

static struct zone_extra *zextra(const struct mmt_zone *z)
{
	return (struct zone_extra *)(void *)z->pageblock_mt - 1;
}

static unsigned char poison_page[MMT_PAGE_SIZE];

/*
 * MMT_PG_POISONED marks a frame whose contents were poisoned when it was
 * freed; only such frames are checked when handed out again, so a new
 * machine need not write its whole arena.  The bit survives the list
 * operations that rewrite a free block's head flags.
 */
#define MMT_PG_POISONED (1u << 15)
#define KEEP(p) (pg_flags(p) & MMT_PG_POISONED)

/* ---- page frames ---- */

static inline struct mmt_page *pfn_to_page(struct mmt_machine *m,
					   unsigned long pfn)
{
	return &m->pages[pfn];
}

static inline void *pfn_address(struct mmt_machine *m, unsigned long pfn)
{
	return (char *)m->arena + (pfn << MMT_PAGE_SHIFT);
}

/*
 * The machine a page belongs to: the current CPU's.  A page of another
 * machine is reported by the callers that take a pointer (bad-page).
 */
static inline struct mmt_machine *cur_m(void)
{
	return _mmt_cpu_or_report(MMT_SITE)->m;
}

/*
 * The zone a frame belongs to, from its pfn (descriptors do not store it:
 * see struct mmt_page); NULL for a frame in a hole between zones.
 */
static inline struct mmt_zone *pfn_zone(struct mmt_machine *m,
					unsigned long pfn)
{
	int i;

	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];

		if (pfn >= z->start_pfn && pfn < z->start_pfn + z->spanned)
			return z;
	}
	return NULL;
}

static bool page_in_machine(struct mmt_machine *m, const struct mmt_page *p)
{
	return p >= m->pages && p < m->pages + m->nr_pages &&
	       ((const char *)p - (const char *)m->pages) % sizeof(*p) == 0;
}

unsigned long mmt_page_to_pfn(const struct mmt_page *page)
{
	return _mmt_pfn(cur_m(), page);
}

struct mmt_page *mmt_pfn_to_page(struct mmt_machine *m, unsigned long pfn)
{
	return pfn < m->nr_pages ? pfn_to_page(m, pfn) : NULL;
}

void *mmt_page_address(const struct mmt_page *page)
{
	struct mmt_machine *m = cur_m();

	return pfn_address(m, _mmt_pfn(m, page));
}

struct mmt_page *mmt_virt_to_page(struct mmt_machine *m, const void *addr)
{
	const char *a = addr, *base = m->arena;

	if (a < base || a >= base + m->arena_size)
		return NULL;
	return pfn_to_page(m, (unsigned long)(a - base) >> MMT_PAGE_SHIFT);
}

unsigned int mmt_page_flags(const struct mmt_page *page)
{
	return pg_flags(page);
}

bool mmt_page_is_pfmemalloc(const struct mmt_page *page)
{
	return pg_flags(page) & MMT_PG_PFMEMALLOC;
}

int mmt_page_zone_type(const struct mmt_page *page)
{
	struct mmt_machine *m = cur_m();
	struct mmt_zone *z = pfn_zone(m, _mmt_pfn(m, page));

	return z ? (int)z->type : -1;
}

int mmt_page_to_nid(const struct mmt_page *page)
{
	struct mmt_machine *m = cur_m();
	struct mmt_zone *z = pfn_zone(m, _mmt_pfn(m, page));

	return z ? z->nid : -1;
}

int mmt_page_alloc_order(const struct mmt_page *page)
{
	return (pg_flags(page) & MMT_PG_ALLOCATED) ? (int)pg_order(page) : -1;
}

/* ---- lists linked by pfn ---- */

static inline void plist_add(struct mmt_machine *m, struct mmt_plist *l,
			     uint32_t pfn, bool tail)
{
	struct mmt_page *p = pfn_to_page(m, pfn);

	if (l->first == MMT_PFN_NONE) {
		p->next = p->prev = pfn;
		l->first = pfn;
	} else {
		struct mmt_page *first = pfn_to_page(m, l->first);
		uint32_t last = first->prev;

		p->next = l->first;
		p->prev = last;
		pfn_to_page(m, last)->next = pfn;
		first->prev = pfn;
		if (!tail)
			l->first = pfn;
	}
	l->nr++;
}

static inline void plist_del(struct mmt_machine *m, struct mmt_plist *l,
			     uint32_t pfn)
{
	struct mmt_page *p = pfn_to_page(m, pfn);

	MMT_ASSERT(l->nr > 0 && p->next != MMT_PFN_NONE);

	if (p->next == pfn) {
		l->first = MMT_PFN_NONE;
	} else {
		pfn_to_page(m, p->prev)->next = p->next;
		pfn_to_page(m, p->next)->prev = p->prev;
		if (l->first == pfn)
			l->first = p->next;
	}
	p->next = p->prev = MMT_PFN_NONE;
	l->nr--;
}

static inline uint32_t plist_last(struct mmt_machine *m,
				  const struct mmt_plist *l)
{
	return l->first == MMT_PFN_NONE ? MMT_PFN_NONE :
					  pfn_to_page(m, l->first)->prev;
}

/* ---- pageblocks ---- */

#define PAGEBLOCK_PAGES (1ul << MMT_PAGEBLOCK_ORDER)

static inline int pageblock_mt(const struct mmt_zone *z, unsigned long pfn)
{
	/* Written under zone->lock, read locklessly by the free path. */
	return atomic_load_explicit(
		&z->pageblock_mt[(pfn - z->start_pfn) >> MMT_PAGEBLOCK_ORDER],
		memory_order_relaxed);
}

static inline void set_pageblock_mt(struct mmt_zone *z, unsigned long pfn,
				    int mt)
{
	atomic_store_explicit(
		&z->pageblock_mt[(pfn - z->start_pfn) >> MMT_PAGEBLOCK_ORDER],
		(uint8_t)mt, memory_order_relaxed);
}

static inline bool pfn_in_zone(const struct mmt_zone *z, unsigned long pfn)
{
	return pfn >= z->start_pfn && pfn < z->start_pfn + z->spanned;
}

/* ---- locks of the allocator ---- */

/*
 * The zone's lists or counters change: the validators must look again
 * (mmt_machine_validate_touched).  Where the zone lock is taken and where
 * a block is allocated or freed: one store each.
 */
static inline void zone_touch(struct mmt_zone *z)
{
	atomic_store_explicit(&z->vdirty, true, memory_order_relaxed);
}

/*
 * pcp->lock by the lock model's inline fast paths (lock_inline.h): the
 * same operation as spin_trylock()/spin_unlock() on @cpu, the current CPU,
 * a call less on every per-cpu list operation.  The lock is the page
 * allocator's own (initialized with the machine): no misuse check.
 *
 * A uniprocessor machine (cfg.up) has no lock word to try: spin_trylock
 * on UP is preempt_disable() and always succeeds.  The fixed pcp lock
 * saves and disables interrupts there (pcp_trylock_prepare), so nothing
 * can enter the lists under the task; MMT_BUG_PCP_UP_TRYLOCK_REENTRY
 * leaves them on.  The same scheduling points as the lock word's.
 */
static MMT_NOINLINE bool pcp_lock_up(struct mmt_cpu *cpu, struct mmt_pcp *pcp,
				     const char *site)
{
	mmt_sched_point(cpu, MMT_SP_LOCK_ACQUIRE, &pcp->lock.l);
	cpu->preempt_count += MMT_PREEMPT_OFFSET;
	if (!mmt_bug_on(cpu->m, MMT_BUG_PCP_UP_TRYLOCK_REENTRY)) {
		pcp->up_irqs = cpu->irq_disable_depth;
		cpu->irq_disable_depth = 1;
	} else {
		/* Interrupts stay enabled where the trylock would hold them. */
		mmt_bug_hit(cpu->m, MMT_BUG_PCP_UP_TRYLOCK_REENTRY,
			    !cpu->irq_disable_depth);
	}
	if (MMT_UNLIKELY(pcp->up_busy))
		_mmt_violation(
			cpu->m, "pcp-reentry", site,
			"cpu %d (uniprocessor) enters its per-cpu page lists at %s %s while the operation it interrupted is inside them",
			cpu->id, _mmt_short_site(site),
			(cpu->preempt_count & MMT_HARDIRQ_MASK) ?
				"from hard irq" :
			(cpu->preempt_count & MMT_SOFTIRQ_OFFSET) ?
				"from a softirq" :
				"from the task");
	pcp->up_busy++;
	return true;
}

static MMT_NOINLINE void pcp_unlock_up(struct mmt_cpu *cpu, struct mmt_pcp *pcp)
{
	pcp->up_busy--;
	if (!mmt_bug_on(cpu->m, MMT_BUG_PCP_UP_TRYLOCK_REENTRY))
		cpu->irq_disable_depth = pcp->up_irqs;
	cpu->preempt_count -= MMT_PREEMPT_OFFSET;
	mmt_sched_point(cpu, MMT_SP_LOCK_RELEASE, &pcp->lock.l);
}

/*
 * A uniprocessor without PREEMPT_RT rules: under them a spinlock_t is a
 * sleeping lock with a real word even on UP, so the pcp lock stays one.
 */
static MMT_ALWAYS_INLINE bool pcp_up(const struct mmt_machine *m)
{
	return MMT_UNLIKELY(m->pcp_up); /* cfg.up && !cfg.rt_rules */
}

/* @up: pcp_up(), read once per operation by its caller. */
static MMT_ALWAYS_INLINE bool
pcp_trylock(struct mmt_cpu *cpu, struct mmt_pcp *pcp, bool up, const char *site)
{
	if (MMT_UNLIKELY(up))
		return pcp_lock_up(cpu, pcp, site);
	return _mmt_lock_acquire_on(cpu, &pcp->lock.l, MMT_LOCK_SPIN, NULL,
				    true, site);
}

static MMT_ALWAYS_INLINE void
pcp_unlock(struct mmt_cpu *cpu, struct mmt_pcp *pcp, bool up, const char *site)
{
	if (MMT_UNLIKELY(up)) {
		pcp_unlock_up(cpu, pcp);
		return;
	}
	_mmt_lock_release_on(cpu, &pcp->lock.l, MMT_LOCK_SPIN, NULL, site);
}

/*
 * Inside a list operation, between reading a list and changing it: where
 * an interrupt may arrive on a uniprocessor whose pcp lock left
 * interrupts on.  Only there: SMP schedules stay as they were.
 */
static MMT_ALWAYS_INLINE void pcp_list_point(struct mmt_cpu *cpu,
					     struct mmt_pcp *pcp, bool up)
{
	if (MMT_UNLIKELY(up))
		mmt_sched_point(cpu, MMT_SP_PREEMPT, pcp);
}

/*
 * Inside the zone lock, once a nolock call has run on the machine: where
 * another CPU's alloc_pages_nolock/free_pages_nolock may find it held (the
 * kernel holds it across whole batches).  Without nolock callers no
 * schedule changes.
 */
static inline void zone_held_point(struct mmt_cpu *cpu, struct mmt_zone *z)
{
	if (MMT_UNLIKELY(atomic_load_explicit(&cpu->m->nolock_seen,
					      memory_order_relaxed)))
		mmt_sched_point(cpu, MMT_SP_PREEMPT, &z->lock);
}

static inline void nolock_seen(struct mmt_machine *m)
{
	if (!atomic_load_explicit(&m->nolock_seen, memory_order_relaxed))
		atomic_store_explicit(&m->nolock_seen, true,
				      memory_order_relaxed);
}

static inline void zone_lock(struct mmt_cpu *cpu, struct mmt_zone *z,
			     unsigned long *flags)
{
	/*
	 * The oracle of seed 002: whatever path got here, a FAST_TRY
	 * allocation must never reach the zone lock.
	 */
	if (MMT_UNLIKELY(cpu->nolock_depth))
		mmt_violation(
			cpu->m, "fast-try-zone-lock",
			"__GFP_FAST_TRY allocation on cpu %d takes zone->lock of node %d zone %s",
			cpu->id, z->nid, z->name);
	_mmt_spin_lock_irqsave(&z->lock, flags, MMT_SITE);
	zone_touch(z);
	zone_held_point(cpu, z);
}

/*
 * The zone lock for a caller that may (@trylock false) or may not spin.
 * As since the 2025 fix "avoid second trylock of zone->lock": a trylock
 * caller tries once and gives up, the others lock.  The injected defect
 * is the code before the fix: everyone tries first and, when the try
 * fails, spins - a nolock caller included.
 */
static inline bool zone_lock_for(struct mmt_cpu *cpu, struct mmt_zone *z,
				 unsigned long *flags, bool trylock)
{
	if (MMT_LIKELY(
		    !trylock &&
		    !mmt_bug_on(cpu->m, MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK))) {
		zone_lock(cpu, z, flags);
		return true;
	}
	if (_mmt_spin_trylock_irqsave(&z->lock, flags, MMT_SITE)) {
		zone_touch(z);
		zone_held_point(cpu, z);
		return true;
	}
	if (trylock && !mmt_bug_on(cpu->m, MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK))
		return false;
	/* A trylock-only caller about to spin on the zone lock. */
	mmt_bug_hit(cpu->m, MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK, trylock);
	zone_lock(cpu, z, flags);
	return true;
}

static bool buddy_is_valid(struct mmt_zone *z, unsigned long *free_pages);

static inline void zone_unlock(struct mmt_zone *z, unsigned long flags)
{
#if MMT_DEBUG >= 3
	unsigned long free_pages;

	/* The buddy lists are only consistent under the lock: check here. */
	MMT_VALIDATE(buddy_is_valid(z, &free_pages));
#endif
	_mmt_spin_unlock_irqrestore(&z->lock, flags, MMT_SITE);
}

/* ---- buddy lists (zone->lock held) ---- */

static void free_list_add(struct mmt_zone *z, uint32_t pfn, unsigned int order,
			  int mt, bool tail)
{
	struct mmt_machine *m = z->m;
	struct mmt_page *p = pfn_to_page(m, pfn);
	struct mmt_free_area *area = &z->free_area[order];

	MMT_IASSERT(!(pfn & ((1u << order) - 1)) &&
		    pfn_in_zone(z, pfn + (1u << order) - 1));
	MMT_IASSERT(!(pg_flags(p) &
		      (MMT_PG_BUDDY | MMT_PG_PCP | MMT_PG_ALLOCATED)));
	pg_set_flags(p, MMT_PG_BUDDY | KEEP(p));
	pg_set_order(p, (uint8_t)order);
	p->migratetype = (uint8_t)mt;
	plist_add(m, &area->list[mt], pfn, tail);
	atomic_store_explicit(
		&area->nr_free,
		atomic_load_explicit(&area->nr_free, memory_order_relaxed) + 1,
		memory_order_relaxed);
	atomic_store_explicit(&zextra(z)->nonempty[order],
			      atomic_load_explicit(&zextra(z)->nonempty[order],
						   memory_order_relaxed) |
				      (uint8_t)(1u << mt),
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&z->nr_free_pages, 1l << order,
				  memory_order_relaxed);
	if (MMT_UNLIKELY(mt == MMT_MIGRATE_HIGHATOMIC))
		atomic_fetch_add_explicit(&z->nr_free_highatomic, 1l << order,
					  memory_order_relaxed);
}

/* Unlinked free blocks of @order and @mt (see struct mmt_zone). */
static inline unsigned long lazy_blocks(const struct mmt_zone *z,
					unsigned int order, int mt)
{
	if (order != MMT_MAX_ORDER - 1 || mt != MMT_MIGRATE_MOVABLE)
		return 0;
	return (z->lazy_end - z->lazy_next) >> (MMT_MAX_ORDER - 1);
}

/*
 * The first free block of @order and @mt: the list's, or, when the list is
 * empty, the next block never linked yet, linked now (it was counted all
 * along; only its descriptor is written).  In pfn order, as the zone's
 * initial blocks would have been on the list.
 */
static uint32_t area_first(struct mmt_zone *z, unsigned int order, int mt)
{
	struct mmt_plist *l = &z->free_area[order].list[mt];
	struct mmt_page *p;
	uint32_t pfn = l->first;

	if (MMT_LIKELY(pfn != MMT_PFN_NONE) || !lazy_blocks(z, order, mt))
		return pfn;
	pfn = (uint32_t)z->lazy_next;
	z->lazy_next += 1ul << order;
	p = pfn_to_page(z->m, pfn);
	pg_set_flags(p, MMT_PG_BUDDY);
	pg_set_order(p, (uint8_t)order);
	p->migratetype = (uint8_t)mt;
	plist_add(z->m, l, pfn, true);
	return pfn;
}

static void free_list_del(struct mmt_zone *z, uint32_t pfn)
{
	struct mmt_machine *m = z->m;
	struct mmt_page *p = pfn_to_page(m, pfn);
	unsigned int order = pg_order(p);
	int mt = p->migratetype;
	struct mmt_free_area *area = &z->free_area[order];

	plist_del(m, &area->list[mt], pfn);
	atomic_store_explicit(
		&area->nr_free,
		atomic_load_explicit(&area->nr_free, memory_order_relaxed) - 1,
		memory_order_relaxed);
	if (area->list[mt].first == MMT_PFN_NONE && !lazy_blocks(z, order, mt))
		atomic_store_explicit(
			&zextra(z)->nonempty[order],
			atomic_load_explicit(&zextra(z)->nonempty[order],
					     memory_order_relaxed) &
				(uint8_t) ~(1u << mt),
			memory_order_relaxed);
	pg_set_flags(p, pg_flags(p) & ~MMT_PG_BUDDY);
	atomic_fetch_sub_explicit(&z->nr_free_pages, 1l << order,
				  memory_order_relaxed);
	if (MMT_UNLIKELY(mt == MMT_MIGRATE_HIGHATOMIC))
		atomic_fetch_sub_explicit(&z->nr_free_highatomic, 1l << order,
					  memory_order_relaxed);
}

static void free_list_move(struct mmt_zone *z, uint32_t pfn, int mt)
{
	unsigned int order = pg_order(pfn_to_page(z->m, pfn));

	free_list_del(z, pfn);
	free_list_add(z, pfn, order, mt, false);
}

/* Split a block of order @high down to @low, freeing the upper halves. */
static void expand(struct mmt_cpu *cpu, struct mmt_zone *z, uint32_t pfn,
		   unsigned int low, unsigned int high, int mt)
{
	while (high > low) {
		high--;
		free_list_add(z, pfn + (1u << high), high, mt, false);
		mmt_count_event(cpu, MMT_VM_BUDDY_SPLIT, 1);
	}
}

static uint32_t rmqueue_smallest(struct mmt_cpu *cpu, struct mmt_zone *z,
				 unsigned int order, int mt)
{
	unsigned int o;

	for (o = order; o < MMT_MAX_ORDER; o++) {
		uint32_t pfn = area_first(z, o, mt);

		if (pfn == MMT_PFN_NONE)
			continue;
		free_list_del(z, pfn);
		expand(cpu, z, pfn, order, o, mt);
		return pfn;
	}
	return MMT_PFN_NONE;
}

/* Move the free blocks of the pageblock holding @pfn to @mt; pages moved. */
static unsigned long move_freepages_block(struct mmt_zone *z, unsigned long pfn,
					  int mt)
{
	unsigned long start = pfn & ~(PAGEBLOCK_PAGES - 1),
		      end = start + PAGEBLOCK_PAGES;
	unsigned long moved = 0;

	if (start < z->start_pfn)
		start = z->start_pfn;
	if (end > z->start_pfn + z->spanned)
		end = z->start_pfn + z->spanned;
	for (pfn = start; pfn < end;) {
		struct mmt_page *p = pfn_to_page(z->m, pfn);

		if (!(pg_flags(p) & MMT_PG_BUDDY)) {
			pfn++;
			continue;
		}
		if (p->migratetype != mt)
			free_list_move(z, (uint32_t)pfn, mt);
		moved += 1ul << pg_order(p);
		pfn += 1ul << pg_order(p);
	}
	return moved;
}

static unsigned long pageblock_pages_in_zone(const struct mmt_zone *z,
					     unsigned long pfn)
{
	unsigned long start = pfn & ~(PAGEBLOCK_PAGES - 1),
		      end = start + PAGEBLOCK_PAGES;

	if (start < z->start_pfn)
		start = z->start_pfn;
	if (end > z->start_pfn + z->spanned)
		end = z->start_pfn + z->spanned;
	return end - start;
}

/*
 * __rmqueue_fallback: steal the largest block of a fallback type.  Claim the
 * whole pageblock when the block is large or the request is unmovable or
 * reclaimable (they fragment worst, so they get whole blocks); otherwise
 * move only the block found.
 */
static bool rmqueue_fallback(struct mmt_cpu *cpu, struct mmt_zone *z,
			     unsigned int order, int start_mt)
{
	int o, i;

	for (o = MMT_MAX_ORDER - 1; o >= (int)order; o--) {
		for (i = 0; i < 2; i++) {
			int fmt = fallbacks[start_mt][i];
			uint32_t pfn = area_first(z, (unsigned int)o, fmt);
			bool claim;

			if (pfn == MMT_PFN_NONE)
				continue;
			claim = o >= MMT_PAGEBLOCK_ORDER / 2 ||
				start_mt != MMT_MIGRATE_MOVABLE;
			if (claim) {
				unsigned long pages =
					pageblock_pages_in_zone(z, pfn);
				unsigned long moved =
					move_freepages_block(z, pfn, start_mt);

				if (o >= MMT_PAGEBLOCK_ORDER ||
				    moved * 2 >= pages) {
					unsigned long b;

					for (b = pfn;
					     b < pfn + (1ul << o) || b == pfn;
					     b += PAGEBLOCK_PAGES)
						set_pageblock_mt(z, b,
								 start_mt);
				}
			}
			if (pfn_to_page(z->m, pfn)->migratetype != start_mt)
				free_list_move(z, pfn, start_mt);
			mmt_count_event(cpu, MMT_VM_STEAL, 1);
			return true;
		}
	}
	return false;
}

static uint32_t rmqueue(struct mmt_cpu *cpu, struct mmt_zone *z,
			unsigned int order, int mt)
{
	uint32_t pfn = rmqueue_smallest(cpu, z, order, mt);

	if (pfn == MMT_PFN_NONE && rmqueue_fallback(cpu, z, order, mt))
		pfn = rmqueue_smallest(cpu, z, order, mt);
	return pfn;
}

/* Free a block into the buddy lists, merging with free buddies. */
static void free_one_page_locked(struct mmt_cpu *cpu, struct mmt_zone *z,
				 uint32_t pfn, unsigned int order)
{
	struct mmt_machine *m = z->m;

	while (order < MMT_MAX_ORDER - 1) {
		uint32_t buddy = pfn ^ (1u << order);
		struct mmt_page *bp;

		if (!pfn_in_zone(z, buddy) ||
		    !pfn_in_zone(z, buddy + (1u << order) - 1))
			break;
		bp = pfn_to_page(m, buddy);
		if (!(pg_flags(bp) & MMT_PG_BUDDY) || pg_order(bp) != order)
			break;
		free_list_del(z, buddy);
		pfn &= buddy;
		order++;
		mmt_count_event(cpu, MMT_VM_BUDDY_MERGE, 1);
	}
	free_list_add(z, pfn, order, pageblock_mt(z, pfn), false);
}

/* ---- free_pages_nolock()'s deferred list (an llist per zone) ---- */

/* Push a prepared block that got no lock: anyone, any context, no lock. */
static void defer_push(struct mmt_cpu *cpu, struct mmt_zone *z, uint32_t pfn,
		       unsigned int order)
{
	struct mmt_page *p = pfn_to_page(z->m, pfn);
	uint32_t head =
		atomic_load_explicit(&z->deferred, memory_order_relaxed);

	pg_set_flags(p, MMT_PG_DEFERRED | KEEP(p));
	pg_set_order(p, (uint8_t)order);
	atomic_fetch_add_explicit(&z->nr_deferred, 1l << order,
				  memory_order_relaxed);
	do {
		p->next = head;
		mmt_sched_point(cpu, MMT_SP_CMPXCHG, &z->deferred);
		/*
		 * Release: the block's descriptor (flags, order, link) is
		 * written before it is reachable; pairs with the acquire
		 * exchange of defer_drain_locked().
		 */
	} while (!atomic_compare_exchange_weak_explicit(
		&z->deferred, &head, pfn, memory_order_release,
		memory_order_relaxed));
	mmt_count_event(cpu, MMT_VM_NOLOCK_DEFERRED, 1);
}

/* Free every deferred block of @z into the buddy lists (zone->lock held). */
static MMT_NOINLINE void defer_drain_locked(struct mmt_cpu *cpu,
					    struct mmt_zone *z)
{
	/* Acquire pairs with the release compare-exchange of defer_push(). */
	uint32_t pfn = atomic_exchange_explicit(&z->deferred, MMT_PFN_NONE,
						memory_order_acquire);

	while (pfn != MMT_PFN_NONE) {
		struct mmt_page *p = pfn_to_page(z->m, pfn);
		uint32_t next = p->next;
		unsigned int order = pg_order(p);

		pg_set_flags(p, KEEP(p));
		atomic_fetch_sub_explicit(&z->nr_deferred, 1l << order,
					  memory_order_relaxed);
		free_one_page_locked(cpu, z, pfn, order);
		pfn = next;
	}
}

static inline void defer_drain(struct mmt_cpu *cpu, struct mmt_zone *z)
{
	if (MMT_UNLIKELY(
		    atomic_load_explicit(&z->deferred, memory_order_relaxed) !=
		    MMT_PFN_NONE))
		defer_drain_locked(cpu, z);
}

/* ---- watermarks ---- */

/* Written under zone->lock, read locklessly by the watermark check. */
static inline unsigned long highatomic(const struct mmt_zone *z)
{
	return atomic_load_explicit(&z->nr_reserved_highatomic,
				    memory_order_relaxed);
}

static inline void set_highatomic(struct mmt_zone *z, unsigned long v)
{
	atomic_store_explicit(&z->nr_reserved_highatomic, v,
			      memory_order_relaxed);
}

static inline long zone_free(const struct mmt_zone *z)
{
	return atomic_load_explicit(&z->nr_free_pages, memory_order_relaxed);
}

static inline long zone_free_highatomic(const struct mmt_zone *z)
{
	return atomic_load_explicit(&z->nr_free_highatomic,
				    memory_order_relaxed);
}

static inline bool zone_watermark_ok(const struct mmt_zone *z,
				     unsigned int order, unsigned long mark,
				     int highest_zoneidx,
				     unsigned int alloc_flags, long free_pages)
{
	long min = (long)mark;
	unsigned int o;

	free_pages -= (1l << order) - 1;
	/*
	 * The reserve cuts of v6.4+ (unchanged through 7.0): only __GFP_HIGH
	 * (ALLOC_HIGH, the kernel's ALLOC_MIN_RESERVE) goes below min, by
	 * half; a non-blocking caller (ALLOC_HARDER, the kernel's
	 * ALLOC_NON_BLOCK) takes a further quarter of what is left only on
	 * top of __GFP_HIGH (GFP_ATOMIC: 62.5% of min usable), never on its
	 * own (GFP_NOWAIT stops at min).  An OOM victim halves it again.
	 */
	if (!(alloc_flags & (ALLOC_HARDER | ALLOC_HIGH | ALLOC_OOM))) {
		/*
		 * Highatomic reserves are not for ordinary callers: the pages
		 * free on their lists are not theirs (v6.12).  Before, the
		 * whole reservation was taken off, free or allocated, which
		 * over-counts it by what its blocks have handed out.
		 */
		free_pages -= zone_free_highatomic(z);
	} else {
		if (alloc_flags & ALLOC_HIGH) {
			min -= min / 2;
			if (alloc_flags & ALLOC_HARDER)
				min -= min / 4;
		}
		if (alloc_flags & ALLOC_OOM)
			min -= min / 2;
	}
	if (free_pages <= min + (long)z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	/* For high orders, a block of a usable type must exist. */
	for (o = order; o < MMT_MAX_ORDER; o++) {
		uint8_t ne = atomic_load_explicit(&zextra(z)->nonempty[o],
						  memory_order_relaxed);

		if (ne & ((1u << MMT_MIGRATE_PCPTYPES) - 1))
			return true;
		if ((alloc_flags & (ALLOC_HARDER | ALLOC_OOM)) &&
		    (ne & (1u << MMT_MIGRATE_HIGHATOMIC)))
			return true;
	}
	return false;
}

/* ---- per-cpu lists ---- */

static inline int pindex(int mt, unsigned int order)
{
	return (int)order * MMT_MIGRATE_PCPTYPES + mt;
}

static inline struct mmt_pcp *cpu_pcp(struct mmt_cpu *cpu,
				      const struct mmt_zone *z)
{
	return &cpu->pcp[z->id];
}

static inline void pcp_count_add(struct mmt_pcp *pcp, int n)
{
	/* Written under pcp->lock; read locklessly by statistics. */
	atomic_store_explicit(
		&pcp->count,
		atomic_load_explicit(&pcp->count, memory_order_relaxed) + n,
		memory_order_relaxed);
}

static inline int pcp_count(struct mmt_pcp *pcp)
{
	return atomic_load_explicit(&pcp->count, memory_order_relaxed);
}

/* rmqueue_bulk: move @count blocks of @order to a pcp list (pcp->lock held). */
static int rmqueue_bulk(struct mmt_cpu *cpu, struct mmt_zone *z,
			struct mmt_pcp *pcp, int owner, unsigned int order,
			int count, int mt, bool trylock)
{
	struct mmt_plist *list = &pcp->lists[pindex(mt, order)];
	unsigned long flags;
	int i;

	if (!zone_lock_for(cpu, z, &flags, trylock))
		return 0;
	if (MMT_UNLIKELY(z->m->pobs.enter))
		z->m->pobs.take(z->m->pobs.arg, z->id, zone_free(z), order);
	for (i = 0; i < count; i++) {
		uint32_t pfn = rmqueue(cpu, z, order, mt);
		struct mmt_page *p;

		if (pfn == MMT_PFN_NONE)
			break;
		p = pfn_to_page(z->m, pfn);
		pg_set_flags(p, MMT_PG_PCP | KEEP(p));
		pg_set_order(p, (uint8_t)order);
		p->migratetype = (uint8_t)mt;
		p->pcp_cpu = (int16_t)owner;
		plist_add(z->m, list, pfn, true);
	}
	zone_unlock(z, flags);
	pcp_count_add(pcp, i << order);
	mmt_count_event(cpu, MMT_VM_PCP_REFILL, 1);
	return i;
}

/* free_pcppages_bulk: return at least @pages pages to the buddy lists. */
static void free_pcppages_bulk(struct mmt_cpu *cpu, struct mmt_zone *z,
			       struct mmt_pcp *pcp, int pages)
{
	unsigned long flags;
	int li = 0, empty_rounds = 0;

	if (pages <= 0 || !pcp_count(pcp))
		return;
	zone_lock(cpu, z, &flags);
	defer_drain(cpu, z);
	/* Round-robin over the lists, oldest (tail) first, like the kernel. */
	while (pages > 0 && empty_rounds < MMT_NR_PCP_LISTS) {
		struct mmt_plist *list = &pcp->lists[li];
		uint32_t pfn = plist_last(z->m, list);

		li = (li + 1) % MMT_NR_PCP_LISTS;
		if (pfn == MMT_PFN_NONE) {
			empty_rounds++;
			continue;
		}
		empty_rounds = 0;
		{
			struct mmt_page *p = pfn_to_page(z->m, pfn);
			unsigned int order = pg_order(p);

			plist_del(z->m, list, pfn);
			pg_set_flags(p, pg_flags(p) & ~MMT_PG_PCP);
			p->pcp_cpu = -1;
			free_one_page_locked(cpu, z, pfn, order);
			/* The injected drift counts blocks, not pages. */
			if (MMT_UNLIKELY(mmt_bug_on(z->m,
						    MMT_BUG_PCP_COUNT_DRIFT))) {
				mmt_bug_hit(z->m, MMT_BUG_PCP_COUNT_DRIFT,
					    order > 0);
				pcp_count_add(pcp, -1);
			} else {
				pcp_count_add(pcp, -(1 << order));
			}
			pages -= 1 << order;
		}
	}
	zone_unlock(z, flags);
	mmt_count_event(cpu, MMT_VM_PCP_DRAIN, 1);
}

static void drain_pages_zone(struct mmt_cpu *self, int cpuid,
			     struct mmt_zone *z)
{
	struct mmt_pcp *pcp = &z->m->cpus[cpuid].pcp[z->id];

	/* A uniprocessor's pcp lock is its own (pcp_lock_up). */
	if (pcp_up(z->m))
		pcp_trylock(self, pcp, true, MMT_SITE);
	else
		_mmt_spin_lock(&pcp->lock, MMT_SITE);
	/*
	 * Drain by lists, not by count: a drifted count must not leave pages
	 * stranded (the validator reports the drift itself).
	 */
	free_pcppages_bulk(self, z, pcp, 1 << 30);
	if (pcp_up(z->m))
		pcp_unlock(self, pcp, true, MMT_SITE);
	else
		_mmt_spin_unlock(&pcp->lock, MMT_SITE);
}

void _mmt_drain_cpu_pages(struct mmt_machine *m, int cpuid)
{
	struct mmt_cpu *self = _mmt_cpu_or_report(MMT_SITE);
	int z;

	for (z = 0; z < m->nr_zones; z++)
		drain_pages_zone(self, cpuid, &m->zones[z]);
}

void mmt_drain_local_pages(void)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);

	_mmt_drain_cpu_pages(cpu->m, cpu->id);
}

void mmt_drain_all_pages(struct mmt_machine *m)
{
	int c;

	/*
	 * As since v6.1: the caller drains every CPU's lists itself, under
	 * each pcp->lock, instead of queueing work on the owners.
	 */
	for (c = 0; c < m->nr_cpus; c++)
		if (atomic_load_explicit(&m->cpus[c].online,
					 memory_order_acquire))
			_mmt_drain_cpu_pages(m, c);
}

/* ---- allocation ---- */

struct alloc_context {
	int preferred_nid;
	int highest_zoneidx;
	int migratetype;
	bool thisnode;
	bool spread; /* may fall back to other nodes */
};

static inline int gfp_migratetype(mmt_gfp_t gfp)
{
	if (gfp & __GFP_MOVABLE)
		return MMT_MIGRATE_MOVABLE;
	if (gfp & __GFP_RECLAIMABLE)
		return MMT_MIGRATE_RECLAIMABLE;
	return MMT_MIGRATE_UNMOVABLE;
}

/*
 * The nodes in fallback order from @nid: @nid first, then the others
 * nearest first by _mmt_node_distance() (the config's matrix from a
 * topology, by default 10 + 10 * |a - b|), ties to the lower node.
 * Returns how many (every node).
 */
static int node_order(const struct mmt_machine *m, int nid,
		      int order[MMT_MAX_NODES])
{
	int nr = 1, i, j;

	order[0] = nid;
	/* Insertion sort by (distance, node) behind the preferred node. */
	for (i = 0; i < m->nr_nodes; i++) {
		int di = _mmt_node_distance(m, nid, i);

		if (i == nid)
			continue;
		for (j = nr; j > 1; j--) {
			int dj = _mmt_node_distance(m, nid, order[j - 1]);

			if (dj < di || (dj == di && order[j - 1] < i))
				break;
			order[j] = order[j - 1];
		}
		order[j] = i;
		nr++;
	}
	return nr;
}

/*
 * Zonelist for (node, highest zone): the nodes of @order (node_order();
 * only the first with @thisnode), each one's zones from the highest
 * allowed down.  Built once per machine, like the kernel's node_zonelists.
 */
static void build_zonelist(struct mmt_machine *m, const int *order, int nr,
			   int highest, bool thisnode, struct mmt_zonelist *zl)
{
	int i, t;

	zl->nr = 0;
	for (i = 0; i < (thisnode ? 1 : nr); i++) {
		for (t = highest; t >= 0; t--) {
			int zid = m->nodes[order[i]].zone_ids[t];

			if (zid >= 0)
				zl->zones[zl->nr++] = &m->zones[zid];
		}
	}
}

static inline const struct mmt_zonelist *
zonelist(const struct mmt_machine *m, const struct alloc_context *ac)
{
	return &m->zonelists[ac->preferred_nid][ac->highest_zoneidx]
			    [ac->thisnode];
}

static inline bool poison_enabled(const struct mmt_machine *m)
{
	return m->cfg.page_poison;
}

static MMT_COLD void report_poison(struct mmt_machine *m, unsigned long pfn)
{
	const unsigned char *p = pfn_address(m, pfn);
	size_t off;

	for (off = 0; off < MMT_PAGE_SIZE && p[off] == MMT_POISON_PAGE_FREE;
	     off++)
		;
	mmt_violation(
		m, "page-poison",
		"free page pfn %lu was written while free: byte %zu is 0x%02x, poison is 0x%02x",
		pfn, off, p[off], MMT_POISON_PAGE_FREE);
}

/* Page state and pfmemalloc marking for a block leaving the free lists. */
static MMT_ALWAYS_INLINE void prep_new_page(struct mmt_cpu *cpu,
					    struct mmt_zone *z, uint32_t pfn,
					    unsigned int order, mmt_gfp_t gfp,
					    unsigned int alloc_flags)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_page *p = pfn_to_page(m, pfn);
	unsigned long i, n = 1ul << order;
	uint64_t reused = 0;
	struct mmt_pcp *pcp;

	if (MMT_UNLIKELY(pg_flags(p) & ~MMT_PG_POISONED))
		mmt_violation(m, "page-state",
			      "page pfn %lu handed out with flags 0x%x",
			      (unsigned long)pfn, pg_flags(p));
	if (poison_enabled(m)) {
		for (i = 0; i < n; i++)
			if ((pg_flags((&p[i])) & MMT_PG_POISONED) &&
			    memcmp(pfn_address(m, pfn + i), poison_page,
				   MMT_PAGE_SIZE))
				report_poison(m, pfn + i);
	}
	pg_set_flags(p, MMT_PG_ALLOCATED);
	pg_set_order(p, (uint8_t)order);
	pg_set_head(m, p, pfn);
	/*
	 * Its memory is the caller's now: whatever it writes, it is dirty.
	 * A frame an upper layer still calls its own (private words not
	 * cleared: a live slab) is handed out by a defect; the validators of
	 * every cache must look again (mmt_machine_validate_touched).
	 */
	for (i = 0; i < n; i++) {
		p[i].touched = 1;
		reused |= p[i].private[0];
	}
	if (MMT_UNLIKELY(reused))
		atomic_store_explicit(&m->frames_reused, true,
				      memory_order_relaxed);
	p->alloc_cpu = (uint16_t)cpu->id;
	/* Per-cpu sequence, CPU in the low byte: no shared cache line. */
	p->alloc_seq = (cpu->alloc_seq++ << 8) | (uint8_t)cpu->id;
	if (order) {
		bool comp = gfp & __GFP_COMP;

		if (comp)
			pg_set_flags(p, pg_flags(p) | MMT_PG_HEAD);
		for (i = 1; i < n; i++) {
			struct mmt_page *t = p + i;

			pg_set_flags(t, comp ? MMT_PG_TAIL : 0);
			pg_set_head(m, t, pfn);
		}
	}
	if (alloc_flags & ALLOC_NO_WATERMARKS) {
		if (!mmt_bug_on(m, MMT_BUG_PFMEMALLOC_UNMARKED)) {
			pg_set_flags(p, pg_flags(p) | MMT_PG_PFMEMALLOC);
			mmt_count_event(cpu, MMT_VM_PGALLOC_PFMEMALLOC, 1);
		} else {
			mmt_bug_hit(m, MMT_BUG_PFMEMALLOC_UNMARKED, true);
		}
	}
	/*
	 * Seed 004: reserve pages must be recognisable by the slab layer.
	 * Checked by the caller (trace/ref_rules.h: the kernel's rule, stated
	 * apart from this code), not here where the mark is set.
	 */
	if (gfp & __GFP_ZERO)
		memset(pfn_address(m, pfn), 0, n << MMT_PAGE_SHIFT);
	zone_touch(z);
	pcp = cpu_pcp(cpu, z);
	atomic_store_explicit(&pcp->allocated,
			      atomic_load_explicit(&pcp->allocated,
						   memory_order_relaxed) +
				      (long)n,
			      memory_order_relaxed);
	mmt_count_event(cpu, MMT_VM_PGALLOC, n);
}

/* Pop a block from this CPU's pcp list, refilling unless FAST_TRY. */
static MMT_ALWAYS_INLINE uint32_t rmqueue_pcplist(struct mmt_cpu *cpu,
						  struct mmt_zone *z,
						  unsigned int order, int mt,
						  unsigned int alloc_flags)
{
	struct mmt_pcp *pcp = cpu_pcp(cpu, z);
	/* The injected defect forgets the order in the list index. */
	struct mmt_plist *list = &pcp->lists[pindex(
		mt, mmt_bug_on(cpu->m, MMT_BUG_PCP_ORDER_INDEX) &&
				    mmt_bug_hit(cpu->m, MMT_BUG_PCP_ORDER_INDEX,
						order > 0) ?
			    0 :
			    order)];
	const bool up = pcp_up(cpu->m);
	uint32_t pfn;

	/* trylock: an interrupt may have arrived while this CPU held it */
	if (!pcp_trylock(cpu, pcp, up, MMT_SITE))
		return MMT_PFN_NONE;
	if (list->first == MMT_PFN_NONE &&
	    (!(alloc_flags & ALLOC_FAST_TRY) ||
	     (mmt_bug_on(cpu->m, MMT_BUG_FAST_TRY_BULK_REFILL) &&
	      mmt_bug_hit(cpu->m, MMT_BUG_FAST_TRY_BULK_REFILL, true)))) {
		int batch = pcp->batch >> order;

		rmqueue_bulk(cpu, z, pcp, cpu->id, order, batch ? batch : 1, mt,
			     alloc_flags & ALLOC_TRYLOCK);
	}
	pfn = list->first;
	if (pfn != MMT_PFN_NONE) {
		struct mmt_page *p = pfn_to_page(cpu->m, pfn);

		pcp_list_point(cpu, pcp, up);
		plist_del(cpu->m, list, pfn);
		pg_set_flags(p, pg_flags(p) & ~MMT_PG_PCP);
		p->pcp_cpu = -1;
		pcp_count_add(pcp, -(1 << order));
		mmt_count_event(cpu, MMT_VM_PCP_HIT, 1);
	}
	pcp_unlock(cpu, pcp, up, MMT_SITE);
	return pfn;
}

static uint32_t rmqueue_buddy(struct mmt_cpu *cpu, struct mmt_zone *z,
			      unsigned int order, int mt,
			      unsigned int alloc_flags)
{
	unsigned long flags;
	uint32_t pfn = MMT_PFN_NONE;

	if (!zone_lock_for(cpu, z, &flags, alloc_flags & ALLOC_TRYLOCK))
		return MMT_PFN_NONE;
	if (MMT_UNLIKELY(z->m->pobs.enter))
		z->m->pobs.take(z->m->pobs.arg, z->id, zone_free(z), order);
	if (order && (alloc_flags & ALLOC_HIGHATOMIC))
		pfn = rmqueue_smallest(cpu, z, order, MMT_MIGRATE_HIGHATOMIC);
	if (pfn == MMT_PFN_NONE)
		pfn = rmqueue(cpu, z, order, mt);
	if (pfn == MMT_PFN_NONE && (alloc_flags & (ALLOC_HARDER | ALLOC_OOM)))
		pfn = rmqueue_smallest(cpu, z, order, MMT_MIGRATE_HIGHATOMIC);
	zone_unlock(z, flags);
	return pfn;
}

static MMT_ALWAYS_INLINE uint32_t zone_rmqueue(struct mmt_cpu *cpu,
					       struct mmt_zone *z,
					       unsigned int order, int mt,
					       unsigned int alloc_flags,
					       bool *from_pcp)
{
	if (MMT_LIKELY(order <= MMT_PAGE_ALLOC_COSTLY_ORDER)) {
		uint32_t pfn = rmqueue_pcplist(cpu, z, order, mt, alloc_flags);

		*from_pcp = pfn != MMT_PFN_NONE;
		if (MMT_LIKELY(pfn != MMT_PFN_NONE))
			return pfn;
	}
	if (alloc_flags & ALLOC_FAST_TRY)
		return MMT_PFN_NONE;
	return rmqueue_buddy(cpu, z, order, mt, alloc_flags);
}

/*
 * Reserve the pageblock of @pfn for high-order atomic allocations (v6.8):
 * at least one pageblock, at most ~1% of the zone rounded up to whole
 * pageblocks, and none at all in a zone whose 1% is less than a pageblock.
 * The model's zones are small (a fuzzed machine's are 256..2048 pages,
 * the default 65536) and its pageblocks kernel-sized (512 pages): under
 * the rule before v6.8 (1% plus a pageblock, by any zone) one reservation
 * made a quarter to all of a fuzzed zone highatomic, which ordinary
 * callers and even PF_MEMALLOC ones cannot take - a model artifact.
 */
static void reserve_highatomic_pageblock(struct mmt_cpu *cpu,
					 struct mmt_zone *z, uint32_t pfn)
{
	unsigned long one_pct = z->managed / 100, max, flags;
	int mt;

	if (one_pct < PAGEBLOCK_PAGES)
		return;
	max = (one_pct + PAGEBLOCK_PAGES - 1) & ~(PAGEBLOCK_PAGES - 1);
	if (highatomic(z) >= max)
		return;
	zone_lock(cpu, z, &flags);
	mt = pageblock_mt(z, pfn);
	if (highatomic(z) < max && mt != MMT_MIGRATE_HIGHATOMIC) {
		set_highatomic(z,
			       highatomic(z) + pageblock_pages_in_zone(z, pfn));
		set_pageblock_mt(z, pfn, MMT_MIGRATE_HIGHATOMIC);
		move_freepages_block(z, pfn, MMT_MIGRATE_HIGHATOMIC);
	}
	zone_unlock(z, flags);
}

/* Give highatomic pageblocks back when reclaim could not help. */
static bool unreserve_highatomic_pageblock(struct mmt_cpu *cpu,
					   const struct mmt_zonelist *zl,
					   int mt)
{
	int i;

	for (i = 0; i < zl->nr; i++) {
		struct mmt_zone *z = zl->zones[i];
		unsigned long flags;
		unsigned int o;
		bool done = false;

		if (!highatomic(z))
			continue;
		zone_lock(cpu, z, &flags);
		for (o = 0; o < MMT_MAX_ORDER && !done; o++) {
			uint32_t pfn = z->free_area[o]
					       .list[MMT_MIGRATE_HIGHATOMIC]
					       .first;
			unsigned long pages;

			if (pfn == MMT_PFN_NONE)
				continue;
			pages = pageblock_pages_in_zone(z, pfn);
			set_highatomic(z,
				       highatomic(z) - (pages < highatomic(z) ?
								pages :
								highatomic(z)));
			set_pageblock_mt(z, pfn, mt);
			move_freepages_block(z, pfn, mt);
			done = true;
		}
		zone_unlock(z, flags);
		if (done)
			return true;
	}
	return false;
}

/*
 * Inlined into the first attempt of alloc_pages_nid(), the fast path; the
 * slow path's many attempts call get_page_from_freelist().
 */
static MMT_ALWAYS_INLINE struct mmt_page *
get_page_inline(struct mmt_cpu *cpu, mmt_gfp_t gfp, unsigned int order,
		unsigned int alloc_flags, const struct alloc_context *ac)
{
	struct mmt_machine *m = cpu->m;
	const struct mmt_zonelist *zl = zonelist(m, ac);
	int i;

	for (i = 0; i < zl->nr; i++) {
		struct mmt_zone *z = zl->zones[i];
		bool from_pcp = false;
		uint32_t pfn;

		if (!(alloc_flags & ALLOC_NO_WATERMARKS)) {
			unsigned long mark =
				z->watermark[alloc_flags & ALLOC_WMARK_MASK];

			/* The injected defect checks as if for one page. */
			if (!zone_watermark_ok(
				    z,
				    mmt_bug_on(m, MMT_BUG_WMARK_ORDER_IGNORED) ?
					    0 :
					    order,
				    mark, ac->highest_zoneidx, alloc_flags,
				    zone_free(z))) {
				mmt_count_event(cpu, MMT_VM_WMARK_FAIL, 1);
				continue;
			}
			/* Passed as if for one page where the order fails. */
			if (MMT_UNLIKELY(
				    order &&
				    mmt_bug_enabled(
					    m, MMT_BUG_WMARK_ORDER_IGNORED)))
				mmt_bug_hit(m, MMT_BUG_WMARK_ORDER_IGNORED,
					    !zone_watermark_ok(
						    z, order, mark,
						    ac->highest_zoneidx,
						    alloc_flags, zone_free(z)));
		}
		pfn = zone_rmqueue(cpu, z, order, ac->migratetype, alloc_flags,
				   &from_pcp);
		if (pfn == MMT_PFN_NONE)
			continue;
		/* The injected defect: the per-cpu fast path forgets to clear. */
		if (MMT_UNLIKELY(from_pcp &&
				 mmt_bug_on(m, MMT_BUG_PCP_ZERO_SKIPPED))) {
			mmt_bug_hit(m, MMT_BUG_PCP_ZERO_SKIPPED,
				    gfp & __GFP_ZERO);
			gfp &= ~__GFP_ZERO;
		}
		prep_new_page(cpu, z, pfn, order, gfp, alloc_flags);
		if (MMT_UNLIKELY(order && (alloc_flags & ALLOC_HARDER)))
			reserve_highatomic_pageblock(cpu, z, pfn);
		return pfn_to_page(m, pfn);
	}
	return NULL;
}

static MMT_NOINLINE struct mmt_page *
get_page_from_freelist(struct mmt_cpu *cpu, mmt_gfp_t gfp, unsigned int order,
		       unsigned int alloc_flags, const struct alloc_context *ac)
{
	return get_page_inline(cpu, gfp, order, alloc_flags, ac);
}

static unsigned int gfp_to_alloc_flags(mmt_gfp_t gfp, unsigned int order)
{
	unsigned int alloc_flags = ALLOC_WMARK_MIN;

	if (gfp & __GFP_HIGH)
		alloc_flags |= ALLOC_HIGH;
	if (gfp & __GFP_KSWAPD_RECLAIM)
		alloc_flags |= ALLOC_KSWAPD;
	if (!(gfp & __GFP_DIRECT_RECLAIM) && !(gfp & __GFP_NOMEMALLOC)) {
		/*
		 * Non-blocking callers may use the highatomic blocks; they
		 * dig below min only with __GFP_HIGH (zone_watermark_ok()).
		 */
		alloc_flags |= ALLOC_HARDER;
		if (order)
			alloc_flags |= ALLOC_HIGHATOMIC;
	}
	return alloc_flags;
}

/* __gfp_pfmemalloc_flags(): the right to the reserves below min. */
static unsigned int gfp_pfmemalloc_flags(struct mmt_cpu *cpu, mmt_gfp_t gfp)
{
	unsigned int pflags = cpu->curr->flags;
	int pc = cpu->preempt_count;

	if (gfp & __GFP_NOMEMALLOC)
		return 0;
	if (gfp & __GFP_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	if ((pc & MMT_SOFTIRQ_OFFSET) && !(pc & MMT_HARDIRQ_MASK) &&
	    (pflags & MMT_PF_MEMALLOC))
		return ALLOC_NO_WATERMARKS;
	if (!(pc & (MMT_HARDIRQ_MASK | MMT_SOFTIRQ_MASK))) {
		if (pflags & MMT_PF_MEMALLOC)
			return ALLOC_NO_WATERMARKS;
		if (cpu->curr->oom_victim)
			return ALLOC_OOM;
	}
	return 0;
}

bool _mmt_gfp_pfmemalloc_allowed(struct mmt_cpu *cpu, mmt_gfp_t gfp)
{
	return gfp_pfmemalloc_flags(cpu, gfp) & ALLOC_NO_WATERMARKS;
}

static void wake_all_kswapds(struct mmt_cpu *cpu, mmt_gfp_t gfp,
			     unsigned int order, const struct alloc_context *ac)
{
	struct mmt_machine *m = cpu->m;
	int nid;

	mmt_count_event(cpu, MMT_VM_KSWAPD_WAKE, 1);
	if (!m->hooks.wake_kswapd)
		return;
	for (nid = 0; nid < m->nr_nodes; nid++)
		if (!ac->thisnode || nid == ac->preferred_nid)
			m->hooks.wake_kswapd(m, nid, gfp, order, m->hooks.arg);
}

static MMT_NOINLINE unsigned long
direct_reclaim(struct mmt_cpu *cpu, mmt_gfp_t gfp, unsigned int order)
{
	struct mmt_machine *m = cpu->m;
	unsigned long progress = 0;
	unsigned int saved;
	bool fs;

	mmt_count_event(cpu, MMT_VM_ALLOCSTALL, 1);
	/* Reclaim sleeps: the caller must be allowed to. */
	_mmt_might_sleep(MMT_SITE);
	if (!m->hooks.direct_reclaim)
		return 0;
	/* __perform_reclaim(): fs_reclaim, then PF_MEMALLOC, so that reclaim's
	 * own allocations use reserves and take no fs_reclaim again. */
	fs = _mmt_fs_reclaim_acquire(cpu, _mmt_gfp_context(cpu, gfp), MMT_SITE);
	saved = _mmt_memalloc_noreclaim_save_at(MMT_SITE);
	progress = m->hooks.direct_reclaim(m, gfp, order, m->hooks.arg);
	_mmt_memalloc_noreclaim_restore_at(saved, MMT_SITE);
	if (fs)
		/* The hook may have migrated us: the task is on this CPU now. */
		_mmt_fs_reclaim_release(_mmt_cpu_or_report(MMT_SITE), MMT_SITE);
	/* The hook may have migrated us; the CPU is whatever we run on now. */
	return progress;
}

static MMT_NOINLINE bool may_oom(struct mmt_cpu *cpu, mmt_gfp_t gfp,
				 unsigned int order,
				 const struct alloc_context *ac)
{
	struct mmt_machine *m = cpu->m;

	/*
	 * The OOM killer does not kill for costly, NOFS, MAYFAIL or THISNODE
	 * requests, nor for lowmem (a request that may not use Normal).
	 */
	if (order > MMT_PAGE_ALLOC_COSTLY_ORDER ||
	    (gfp & __GFP_RETRY_MAYFAIL) || !(gfp & __GFP_FS) ||
	    (gfp & __GFP_THISNODE) || ac->highest_zoneidx < MMT_ZONE_NORMAL)
		return false;
	mmt_count_event(cpu, MMT_VM_OOM, 1);
	if (m->hooks.out_of_memory)
		return m->hooks.out_of_memory(m, gfp, order, m->hooks.arg);
	return _mmt_oom_kill(cpu, gfp, order);
}

static MMT_NOINLINE struct mmt_page *
alloc_slowpath(mmt_gfp_t gfp, unsigned int order, struct alloc_context *ac)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	/* The injected defect tests either reclaim bit, kswapd's too. */
	bool can_reclaim = gfp &
			   (mmt_bug_on(cpu->m, MMT_BUG_NOWAIT_DIRECT_RECLAIM) ?
				    __GFP_RECLAIM :
				    __GFP_DIRECT_RECLAIM);

	mmt_bug_hit(cpu->m, MMT_BUG_NOWAIT_DIRECT_RECLAIM,
		    can_reclaim && !(gfp & __GFP_DIRECT_RECLAIM));
	bool costly = order > MMT_PAGE_ALLOC_COSTLY_ORDER;
	unsigned int alloc_flags, reserve_flags;
	int loops = 0, no_progress = 0;
	bool drained = false;
	struct mmt_page *page;

	mmt_count_event(cpu, MMT_VM_SLOWPATH, 1);
	alloc_flags = gfp_to_alloc_flags(gfp, order);
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(cpu, gfp, order, ac);
	page = get_page_from_freelist(cpu, gfp, order, alloc_flags, ac);
	if (page)
		return page;

	for (;;) {
		unsigned long progress;

		cpu = _mmt_this_cpu;
		reserve_flags = gfp_pfmemalloc_flags(cpu, gfp);
		if (reserve_flags) {
			page = get_page_from_freelist(cpu, gfp, order,
						      reserve_flags, ac);
			if (page)
				return page;
		}
		if (!can_reclaim)
			break;
		/* Reclaim allocating for reclaim would recurse. */
		if (cpu->curr->flags & MMT_PF_MEMALLOC)
			break;
		progress = direct_reclaim(cpu, gfp, order);
		cpu = _mmt_this_cpu;
		page = get_page_from_freelist(cpu, gfp, order, alloc_flags, ac);
		if (page)
			return page;
		if (!drained) {
			unreserve_highatomic_pageblock(
				cpu, zonelist(cpu->m, ac), ac->migratetype);
			mmt_drain_all_pages(cpu->m);
			drained = true;
			continue;
		}
		if (gfp & __GFP_NORETRY)
			break;
		if (costly && !(gfp & __GFP_RETRY_MAYFAIL))
			break;
		if (++loops > MMT_MAX_SLOWPATH_LOOPS)
			break;
		no_progress = progress ? 0 : no_progress + 1;
		if (progress && no_progress <= MMT_MAX_RECLAIM_RETRIES)
			continue;
		/* Someone may have freed memory meanwhile: try the high mark. */
		page = get_page_from_freelist(cpu, gfp, order, ALLOC_WMARK_HIGH,
					      ac);
		if (page)
			return page;
		/* A victim whose ALLOC_OOM retry failed must not loop. */
		if (cpu->curr->oom_victim &&
		    ((reserve_flags & ALLOC_OOM) || (gfp & __GFP_NOMEMALLOC)))
			break;
		if (may_oom(cpu, gfp, order, ac))
			continue;
		break;
	}

	/*
	 * __GFP_NOFAIL: the kernel loops forever; the model retries a bounded
	 * number of times with the min reserve, ALLOC_MIN_RESERVE since v6.4
	 * (min - min/2: never the atomic cut, never no-watermarks), then
	 * reports the failure as a finding.
	 */
	if ((gfp & __GFP_NOFAIL) && can_reclaim) {
		int i;

		for (i = 0; i < MMT_MAX_SLOWPATH_LOOPS; i++) {
			cpu = _mmt_this_cpu;
			mmt_count_event(cpu, MMT_VM_NOFAIL_RETRY, 1);
			page = get_page_from_freelist(
				cpu, gfp, order,
				ALLOC_WMARK_MIN | ALLOC_HIGH,
				ac);
			if (page)
				return page;
			if (!direct_reclaim(cpu, gfp, order) &&
			    !may_oom(_mmt_this_cpu, gfp, order, ac))
				break;
		}
	}
	return NULL;
}

/* GFP checks at the API (always on, like the kernel's WARNs). */
static MMT_COLD mmt_gfp_t report_gfp(struct mmt_cpu *cpu, mmt_gfp_t gfp,
				     unsigned int order, const char *op)
{
	if (gfp & ~MMT_GFP_VALID_MASK) {
		mmt_violation(cpu->m, "gfp-unknown-bit",
			      "%s(gfp 0x%x, order %u): unknown GFP bits 0x%x",
			      op, gfp, order, gfp & ~MMT_GFP_VALID_MASK);
		gfp &= MMT_GFP_VALID_MASK;
	}
	if ((gfp & __GFP_NOFAIL) && !(gfp & __GFP_DIRECT_RECLAIM))
		mmt_violation(
			cpu->m, "gfp-misuse",
			"%s(order %u): __GFP_NOFAIL without __GFP_DIRECT_RECLAIM cannot keep its promise",
			op, order);
	if ((gfp & __GFP_NOFAIL) && order > MMT_PAGE_ALLOC_COSTLY_ORDER)
		mmt_violation(cpu->m, "gfp-misuse",
			      "%s(order %u): __GFP_NOFAIL with a costly order",
			      op, order);
	if ((gfp & __GFP_FAST_TRY) && (gfp & __GFP_NOFAIL))
		mmt_violation(cpu->m, "gfp-misuse",
			      "%s(order %u): __GFP_FAST_TRY with __GFP_NOFAIL",
			      op, order);
	return gfp;
}

#define GFP_SUSPECT (~MMT_GFP_VALID_MASK | __GFP_NOFAIL)

static MMT_ALWAYS_INLINE struct mmt_page *
alloc_pages_nid_body(struct mmt_cpu *cpu, int nid, mmt_gfp_t gfp,
		     unsigned int order, const char *op);

/* The observer's facts around an allocation (cold: none in production). */
static MMT_NOINLINE MMT_COLD struct mmt_page *
alloc_pages_observed(struct mmt_cpu *cpu, int nid, mmt_gfp_t gfp,
		     unsigned int order, const char *op)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_page *page;

	m->pobs.enter(m->pobs.arg, gfp, order, nid, false);
	page = alloc_pages_nid_body(cpu, nid, gfp, order, op);
	m->pobs.exit(m->pobs.arg, page);
	return page;
}

static MMT_ALWAYS_INLINE struct mmt_page *
alloc_pages_nid(int nid, mmt_gfp_t gfp, unsigned int order, const char *op)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);

	if (MMT_UNLIKELY(cpu->m->pobs.enter))
		return alloc_pages_observed(cpu, nid, gfp, order, op);
	return alloc_pages_nid_body(cpu, nid, gfp, order, op);
}

static MMT_ALWAYS_INLINE struct mmt_page *
alloc_pages_nid_body(struct mmt_cpu *cpu, int nid, mmt_gfp_t gfp,
		     unsigned int order, const char *op)
{
	struct alloc_context ac;
	struct mmt_page *page;
	unsigned int alloc_flags = ALLOC_WMARK_LOW;

	if (MMT_UNLIKELY(gfp & GFP_SUSPECT))
		gfp = report_gfp(cpu, gfp, order, op);
	if (MMT_UNLIKELY(order >= MMT_MAX_ORDER)) {
		mmt_violation(cpu->m, "bad-order",
			      "%s(order %u): order must be below %d", op, order,
			      MMT_MAX_ORDER);
		return NULL;
	}
	gfp = _mmt_gfp_context(cpu, gfp);
	if (gfp & __GFP_DIRECT_RECLAIM) {
		_mmt_might_sleep_on(cpu, MMT_SITE); /* might_alloc() */
		_mmt_fs_reclaim_might(cpu, gfp, MMT_SITE);
	}

	ac.preferred_nid = nid;
	ac.highest_zoneidx = (gfp & __GFP_DMA32) ? MMT_ZONE_DMA32 :
						   MMT_ZONE_NORMAL;
	ac.migratetype = gfp_migratetype(gfp);
	/*
	 * The injected defect falls back to other nodes all the same: the
	 * spread zonelist of a __GFP_THISNODE request is its trigger.
	 */
	ac.thisnode = (gfp & __GFP_THISNODE) &&
		      !(mmt_bug_on(cpu->m, MMT_BUG_THISNODE_FALLBACK) &&
			mmt_bug_hit(cpu->m, MMT_BUG_THISNODE_FALLBACK, true));
	ac.spread = !ac.thisnode;

	if (MMT_UNLIKELY(gfp & __GFP_FAST_TRY)) {
		/*
		 * Seed 002: per-cpu lists only, min watermark, fail fast.
		 * Under PREEMPT_RT the per-cpu lock is a sleeping spinlock_t
		 * that not even a trylock may touch in hard irq: fail at once,
		 * as alloc_pages_nolock() does there.
		 */
		if (cpu->m->cfg.rt_rules &&
		    (cpu->preempt_count & MMT_HARDIRQ_MASK)) {
			page = NULL;
		} else {
			cpu->nolock_depth++;
			page = get_page_from_freelist(
				cpu, gfp, order,
				ALLOC_WMARK_MIN | ALLOC_FAST_TRY, &ac);
			cpu->nolock_depth--;
		}
		if (!page)
			mmt_count_event(cpu, MMT_VM_FAST_TRY_FAIL, 1);
	} else {
		page = get_page_inline(cpu, gfp, order, alloc_flags, &ac);
		if (MMT_UNLIKELY(!page))
			page = alloc_slowpath(gfp, order, &ac);
	}
	if (MMT_UNLIKELY(!page)) {
		cpu = _mmt_this_cpu;
		mmt_count_event(cpu, MMT_VM_ALLOC_FAIL, 1);
		if (gfp & __GFP_NOFAIL)
			mmt_violation(
				cpu->m, "nofail-failed",
				"%s(order %u) with __GFP_NOFAIL returned NULL after the retries",
				op, order);
	}
	return page;
}

struct mmt_page *mmt_alloc_pages(mmt_gfp_t gfp, unsigned int order)
{
	return alloc_pages_nid(_mmt_cpu_or_report(MMT_SITE)->nid, gfp, order,
			       "alloc_pages");
}

struct mmt_page *mmt_alloc_pages_node(int nid, mmt_gfp_t gfp,
				      unsigned int order)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);

	if (nid < 0)
		nid = cpu->nid; /* NUMA_NO_NODE */
	if (MMT_UNLIKELY(nid >= cpu->m->nr_nodes)) {
		mmt_violation(
			cpu->m, "bad-node",
			"alloc_pages_node(%d): the machine has %d node(s)", nid,
			cpu->m->nr_nodes);
		return NULL;
	}
	return alloc_pages_nid(nid, gfp, order, "alloc_pages_node");
}

struct mmt_page *mmt_alloc_pages_nolock(mmt_gfp_t gfp, int nid,
					unsigned int order)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct alloc_context ac;
	struct mmt_page *page;

	nolock_seen(cpu->m);
	if (MMT_UNLIKELY(gfp & ~__GFP_ACCOUNT)) {
		mmt_violation(
			cpu->m, "gfp-misuse",
			"alloc_pages_nolock(gfp 0x%x, order %u): only __GFP_ACCOUNT may be passed (it chooses its own flags)",
			gfp, order);
		gfp &= __GFP_ACCOUNT;
	}
	if (MMT_UNLIKELY(order >= MMT_MAX_ORDER)) {
		mmt_violation(
			cpu->m, "bad-order",
			"alloc_pages_nolock(order %u): order must be below %d",
			order, MMT_MAX_ORDER);
		return NULL;
	}
	if (nid < 0)
		nid = cpu->nid; /* NUMA_NO_NODE */
	if (MMT_UNLIKELY(nid >= cpu->m->nr_nodes)) {
		mmt_violation(
			cpu->m, "bad-node",
			"alloc_pages_nolock(node %d): the machine has %d node(s)",
			nid, cpu->m->nr_nodes);
		return NULL;
	}
	/* PREEMPT_RT: spinlocks sleep, not even a trylock in hard irq. */
	if (cpu->m->cfg.rt_rules && (cpu->preempt_count & MMT_HARDIRQ_MASK)) {
		mmt_count_event(cpu, MMT_VM_NOLOCK_FAIL, 1);
		mmt_count_event(cpu, MMT_VM_ALLOC_FAIL, 1);
		return NULL;
	}
	gfp |= __GFP_NOWARN | __GFP_ZERO | __GFP_NOMEMALLOC | __GFP_COMP;
	ac.preferred_nid = nid;
	ac.highest_zoneidx = MMT_ZONE_NORMAL;
	ac.migratetype = MMT_MIGRATE_UNMOVABLE;
	ac.thisnode = false;
	ac.spread = true;
	cpu->nospin_depth++;
	page = get_page_from_freelist(cpu, gfp, order,
				      ALLOC_WMARK_MIN | ALLOC_TRYLOCK, &ac);
	cpu->nospin_depth--;
	if (!page) {
		mmt_count_event(cpu, MMT_VM_NOLOCK_FAIL, 1);
		mmt_count_event(cpu, MMT_VM_ALLOC_FAIL, 1);
	}
	return page;
}

void *mmt_get_free_pages(mmt_gfp_t gfp, unsigned int order)
{
	struct mmt_page *page = mmt_alloc_pages(gfp, order);

	return page ? mmt_page_address(page) : NULL;
}

static unsigned int alloc_pages_bulk(struct mmt_cpu *cpu, mmt_gfp_t gfp,
				     unsigned int nr, struct mmt_page **array);

unsigned int mmt_alloc_pages_bulk(mmt_gfp_t gfp, unsigned int nr,
				  struct mmt_page **array)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct mmt_machine *m = cpu->m;
	unsigned int got;

	if (MMT_LIKELY(!m->pobs.enter))
		return alloc_pages_bulk(cpu, gfp, nr, array);
	m->pobs.enter(m->pobs.arg, gfp, 0, cpu->nid, true);
	got = alloc_pages_bulk(cpu, gfp, nr, array);
	m->pobs.exit(m->pobs.arg, NULL);
	return got;
}

static unsigned int alloc_pages_bulk(struct mmt_cpu *cpu, mmt_gfp_t gfp,
				     unsigned int nr, struct mmt_page **array)
{
	struct mmt_machine *m = cpu->m;
	const struct mmt_zonelist *zl;
	struct alloc_context ac;
	unsigned int populated = 0, i, got = 0;
	struct mmt_zone *zone = NULL;
	struct mmt_pcp *pcp;
	int zi;

	for (i = 0; i < nr; i++)
		populated += array[i] != NULL;
	if (populated == nr)
		return nr;
	if (MMT_UNLIKELY(gfp & GFP_SUSPECT))
		gfp = report_gfp(cpu, gfp, 0, "alloc_pages_bulk");
	gfp = mmt_current_gfp_context(gfp);
	if (nr - populated == 1)
		goto single;

	ac.preferred_nid = cpu->nid;
	ac.highest_zoneidx = (gfp & __GFP_DMA32) ? MMT_ZONE_DMA32 :
						   MMT_ZONE_NORMAL;
	ac.migratetype = gfp_migratetype(gfp);
	ac.thisnode = gfp & __GFP_THISNODE;
	ac.spread = !ac.thisnode;
	zl = zonelist(m, &ac);
	/* The first zone that can take the whole batch above its low mark. */
	for (zi = 0; zi < zl->nr; zi++) {
		struct mmt_zone *z = zl->zones[zi];

		if (zone_watermark_ok(z, 0,
				      z->watermark[MMT_WMARK_LOW] +
					      (nr - populated),
				      ac.highest_zoneidx, ALLOC_WMARK_LOW,
				      zone_free(z))) {
			zone = z;
			break;
		}
	}
	if (!zone)
		goto single;
	pcp = cpu_pcp(cpu, zone);
	if (gfp & __GFP_FAST_TRY)
		cpu->nolock_depth++;
	if (pcp_trylock(cpu, pcp, pcp_up(m), MMT_SITE)) {
		struct mmt_plist *list = &pcp->lists[pindex(ac.migratetype, 0)];

		for (i = 0; i < nr; i++) {
			uint32_t pfn;

			if (array[i])
				continue;
			if (list->first == MMT_PFN_NONE &&
			    (!(gfp & __GFP_FAST_TRY) ||
			     (mmt_bug_on(m, MMT_BUG_FAST_TRY_BULK_REFILL) &&
			      mmt_bug_hit(m, MMT_BUG_FAST_TRY_BULK_REFILL,
					  true))))
				rmqueue_bulk(cpu, zone, pcp, cpu->id, 0,
					     pcp->batch, ac.migratetype, false);
			pfn = list->first;
			if (pfn == MMT_PFN_NONE)
				break;
			plist_del(m, list, pfn);
			pg_set_flags(pfn_to_page(m, pfn),
				     pg_flags(pfn_to_page(m, pfn)) &
					     ~MMT_PG_PCP);
			pfn_to_page(m, pfn)->pcp_cpu = -1;
			pcp_count_add(pcp, -1);
			mmt_count_event(cpu, MMT_VM_PCP_HIT, 1);
			/* prep_new_page() zeroes; pages here are never reserve pages */
			array[i] = pfn_to_page(m, pfn);
			got++;
		}
		pcp_unlock(cpu, pcp, pcp_up(m), MMT_SITE);
		for (i = 0; i < nr; i++) {
			struct mmt_page *p = array[i];

			if (p && !(pg_flags(p) & MMT_PG_ALLOCATED))
				prep_new_page(cpu, zone,
					      (uint32_t)_mmt_pfn(m, p), 0, gfp,
					      ALLOC_WMARK_LOW);
		}
	}
	if (gfp & __GFP_FAST_TRY)
		cpu->nolock_depth--;
	if (got)
		return populated + got;
single:
	for (i = 0; i < nr; i++) {
		if (!array[i]) {
			array[i] = mmt_alloc_pages(gfp, 0);
			if (array[i])
				populated++;
			break;
		}
	}
	return populated;
}

/* ---- free ---- */

/* API checks of a free; returns false (after reporting) if it must not go on. */
static MMT_COLD bool report_bad_free(struct mmt_machine *m,
				     struct mmt_page *page, unsigned int order,
				     const char *op)
{
	unsigned long pfn;

	if (!page_in_machine(m, page))
		return mmt_violation(
			m, "bad-page",
			"%s(%p, order %u): not a page frame of this machine",
			op, (void *)page, order);
	pfn = _mmt_pfn(m, page);
	if (order >= MMT_MAX_ORDER)
		return mmt_violation(
			m, "bad-order",
			"%s(pfn %lu, order %u): order must be below %d", op,
			pfn, order, MMT_MAX_ORDER);
	if (pg_flags(page) & MMT_PG_DEFERRED)
		return mmt_violation(
			m, "double-free",
			"%s(pfn %lu, order %u): the page is already free (on its zone's deferred list: a free_pages_nolock that found the locks busy)",
			op, pfn, order);
	if (pg_flags(page) & (MMT_PG_BUDDY | MMT_PG_PCP))
		return mmt_violation(
			m, "double-free",
			"%s(pfn %lu, order %u): the page is already free (on the %s lists)",
			op, pfn, order,
			(pg_flags(page) & MMT_PG_BUDDY) ? "buddy" : "per-cpu");
	if (!pfn_zone(m, pfn))
		return mmt_violation(
			m, "bad-page",
			"%s(pfn %lu): reserved frame (a hole between zones)",
			op, pfn);
	if (!(pg_flags(page) & MMT_PG_ALLOCATED)) {
		if (pg_head(m, page) != pfn)
			return mmt_violation(
				m, "bad-page",
				"%s(pfn %lu, order %u): page inside the allocation headed by pfn %u, not its first page",
				op, pfn, order, pg_head(m, page));
		return mmt_violation(
			m, "double-free",
			"%s(pfn %lu, order %u): the page is not allocated (freed before, or merged into a free block)",
			op, pfn, order);
	}
	/* Allocated, but with another order: report, then free what it is. */
	return mmt_violation(
		m, "free-wrong-order",
		"%s(pfn %lu, order %u): the page was allocated with order %u",
		op, pfn, order, pg_order(page));
}

static MMT_ALWAYS_INLINE void free_pages_prepare(struct mmt_cpu *cpu,
						 struct mmt_zone *z,
						 uint32_t pfn,
						 unsigned int order)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_page *p = pfn_to_page(m, pfn);
	unsigned long i, n = 1ul << order;
	struct mmt_pcp *pcp;
	bool poison = poison_enabled(m);

	for (i = 0; i < n; i++) {
		pg_set_flags((&p[i]), poison ? MMT_PG_POISONED : 0);
		p[i].head_x = 0; /* its own head again */
	}
	if (poison)
		memset(pfn_address(m, pfn), MMT_POISON_PAGE_FREE,
		       n << MMT_PAGE_SHIFT);
	zone_touch(z);
	pcp = cpu_pcp(cpu, z);
	atomic_store_explicit(&pcp->allocated,
			      atomic_load_explicit(&pcp->allocated,
						   memory_order_relaxed) -
				      (long)n,
			      memory_order_relaxed);
	mmt_count_event(cpu, MMT_VM_PGFREE, n);
}

/*
 * Into the buddy lists under the zone lock, the deferred blocks first; a
 * nolock free (@trylock) that cannot take the lock defers its block.
 */
static void free_one_page(struct mmt_cpu *cpu, struct mmt_zone *z, uint32_t pfn,
			  unsigned int order, bool trylock)
{
	unsigned long flags;

	if (!zone_lock_for(cpu, z, &flags, trylock)) {
		defer_push(cpu, z, pfn, order);
		return;
	}
	defer_drain(cpu, z);
	free_one_page_locked(cpu, z, pfn, order);
	zone_unlock(z, flags);
}

static MMT_ALWAYS_INLINE void free_unref_page(struct mmt_cpu *cpu,
					      struct mmt_zone *z, uint32_t pfn,
					      unsigned int order, bool trylock)
{
	struct mmt_pcp *pcp = cpu_pcp(cpu, z);
	struct mmt_page *p = pfn_to_page(cpu->m, pfn);
	int mt = pageblock_mt(z, pfn);
	const bool up = pcp_up(cpu->m);

	/* Highatomic pages ride the movable list; the buddy sorts them out. */
	if (mt >= MMT_MIGRATE_PCPTYPES)
		mt = MMT_MIGRATE_MOVABLE;
	if (!pcp_trylock(cpu, pcp, up, MMT_SITE)) {
		free_one_page(cpu, z, pfn, order, trylock);
		return;
	}
	pg_set_flags(p, MMT_PG_PCP | KEEP(p));
	pg_set_order(p, (uint8_t)order);
	p->migratetype = (uint8_t)mt;
	p->pcp_cpu = (int16_t)cpu->id;
	pcp_list_point(cpu, pcp, up);
	plist_add(cpu->m, &pcp->lists[pindex(mt, order)], pfn, false);
	pcp_count_add(pcp, 1 << order);
	/* Above high a nolock free leaves the drain (zone lock) to the next. */
	if (pcp_count(pcp) >= pcp->high && !trylock)
		free_pcppages_bulk(cpu, z, pcp, pcp->batch);
	pcp_unlock(cpu, pcp, up, MMT_SITE);
}

static MMT_ALWAYS_INLINE void free_pages_op(struct mmt_page *page,
					    unsigned int order, const char *op,
					    bool trylock)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct mmt_machine *m = cpu->m;
	/* page_in_machine(), its pfn with it */
	uintptr_t off = (uintptr_t)page - (uintptr_t)m->pages;
	struct mmt_zone *z;
	uint32_t pfn = (uint32_t)(off / sizeof(*page));

	if (MMT_UNLIKELY(off >= m->nr_pages * sizeof(*page) ||
			 (uintptr_t)pfn * sizeof(*page) != off ||
			 order >= MMT_MAX_ORDER ||
			 (pg_flags(page) & (MMT_PG_ALLOCATED | MMT_PG_BUDDY |
					    MMT_PG_PCP | MMT_PG_RESERVED)) !=
				 MMT_PG_ALLOCATED ||
			 pg_order(page) != order)) {
		report_bad_free(m, page, order, op);
		/* Loses nothing: a wrong order still frees the real block. */
		if (!page_in_machine(m, page) ||
		    !(pg_flags(page) & MMT_PG_ALLOCATED) ||
		    (pg_flags(page) &
		     (MMT_PG_BUDDY | MMT_PG_PCP | MMT_PG_RESERVED)))
			return;
		order = pg_order(page);
	}
	z = pfn_zone(m, pfn);
	free_pages_prepare(cpu, z, pfn, order);
	/*
	 * free_pages_nolock in hard irq under PREEMPT_RT rules: both locks
	 * sleep there, not even a trylock may touch them; defer at once.
	 */
	if (MMT_UNLIKELY(trylock && m->cfg.rt_rules &&
			 (cpu->preempt_count & MMT_HARDIRQ_MASK)))
		defer_push(cpu, z, pfn, order);
	else if (MMT_LIKELY(order <= MMT_PAGE_ALLOC_COSTLY_ORDER))
		free_unref_page(cpu, z, pfn, order, trylock);
	else
		free_one_page(cpu, z, pfn, order, trylock);
}

void mmt_free_pages(struct mmt_page *page, unsigned int order)
{
	if (page)
		free_pages_op(page, order, "free_pages", false);
}

void mmt_free_pages_nolock(struct mmt_page *page, unsigned int order)
{
	struct mmt_cpu *cpu;

	if (!page)
		return;
	cpu = _mmt_cpu_or_report(MMT_SITE);
	nolock_seen(cpu->m);
	cpu->nospin_depth++;
	free_pages_op(page, order, "free_pages_nolock", true);
	cpu->nospin_depth--;
}

void mmt_drain_deferred_pages(struct mmt_machine *m)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	int i;

	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];
		unsigned long flags;

		if (atomic_load_explicit(&z->deferred, memory_order_relaxed) ==
		    MMT_PFN_NONE)
			continue;
		zone_lock(cpu, z, &flags);
		defer_drain(cpu, z);
		zone_unlock(z, flags);
	}
}

unsigned long mmt_deferred_pages(struct mmt_machine *m)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; i < m->nr_zones; i++)
		sum += (unsigned long)atomic_load_explicit(
			&m->zones[i].nr_deferred, memory_order_relaxed);
	return sum;
}

void mmt_free_pages_addr(void *addr, unsigned int order)
{
	struct mmt_machine *m;
	struct mmt_page *page;

	if (!addr)
		return;
	m = cur_m();
	page = mmt_virt_to_page(m, addr);
	if (!page || ((uintptr_t)addr & (MMT_PAGE_SIZE - 1))) {
		mmt_violation(
			m, "bad-page",
			"free_pages(%p, order %u): not the address of a page frame",
			addr, order);
		return;
	}
	free_pages_op(page, order, "free_pages", false);
}

/* ---- setup ---- */

static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, b = 1ul << 62;

	while (b > x)
		b >>= 2;
	while (b) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
		b >>= 2;
	}
	return r;
}

/* Watermarks = base + this zone's share of the emergency reserve. */
static void apply_emergency(struct mmt_zone *z)
{
	int i;

	for (i = 0; i < MMT_NR_WMARK; i++)
		z->watermark[i] = z->wmark_base[i] + z->emergency;
}

/* setup_per_zone_wmarks() and setup_per_zone_lowmem_reserve(). */
static void setup_watermarks(struct mmt_machine *m)
{
	unsigned long total = 0, kbytes, pages_min;
	int i, nid;

	for (i = 0; i < m->nr_zones; i++)
		total += m->zones[i].managed;
	kbytes = m->cfg.min_free_kbytes;
	if (!kbytes) {
		kbytes = int_sqrt(total * (MMT_PAGE_SIZE / 1024) * 16);
		if (kbytes < 128)
			kbytes = 128;
		if (kbytes > 262144)
			kbytes = 262144;
	}
	pages_min = kbytes / (MMT_PAGE_SIZE / 1024);
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];
		unsigned long min = pages_min * z->managed / total;
		unsigned long gap = min / 4;
		unsigned long scaled =
			z->managed * m->cfg.watermark_scale_factor / 10000;

		if (scaled > gap)
			gap = scaled;
		z->wmark_base[MMT_WMARK_MIN] = min;
		z->wmark_base[MMT_WMARK_LOW] = min + gap;
		z->wmark_base[MMT_WMARK_HIGH] = min + 2 * gap;
		apply_emergency(z);
	}
	for (nid = 0; nid < m->nr_nodes; nid++) {
		int lo = m->nodes[nid].zone_ids[MMT_ZONE_DMA32];
		int hi = m->nodes[nid].zone_ids[MMT_ZONE_NORMAL];

		if (lo >= 0 && hi >= 0)
			m->zones[lo].lowmem_reserve[MMT_ZONE_NORMAL] =
				m->zones[hi].managed /
				m->cfg.lowmem_reserve_ratio;
	}
}

void mmt_zone_set_watermarks(struct mmt_machine *m, int zone, unsigned long min,
			     unsigned long low, unsigned long high)
{
	struct mmt_zone *z;

	if (zone < 0 || zone >= m->nr_zones)
		return;
	z = &m->zones[zone];
	z->wmark_base[MMT_WMARK_MIN] = min;
	z->wmark_base[MMT_WMARK_LOW] = low;
	z->wmark_base[MMT_WMARK_HIGH] = high;
	apply_emergency(z);
}

/*
 * adjust_memalloc_reserve() of seed 004: the reserve raises every zone's
 * marks by its share (by managed pages, rounded up so the total is never
 * short).  Written by the reserve layer under its own lock; the allocator
 * reads the marks locklessly, as it does the kernel's.
 */
void _mmt_page_alloc_set_emergency(struct mmt_machine *m, long pages)
{
	unsigned long total = 0;
	int i;

	if (pages < 0)
		pages = 0;
	for (i = 0; i < m->nr_zones; i++)
		total += m->zones[i].managed;
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];

		z->emergency =
			((unsigned long)pages * z->managed + total - 1) / total;
		apply_emergency(z);
	}
	m->emergency_pages = pages;
}

long _mmt_page_alloc_emergency(const struct mmt_machine *m)
{
	return m->emergency_pages;
}

unsigned long _mmt_zone_base_min(const struct mmt_machine *m, int zone)
{
	return m->zones[zone].wmark_base[MMT_WMARK_MIN];
}

/* zone_batchsize(): about a quarter of 1/1024 of the zone, 2^n - 1. */
static int zone_batchsize(const struct mmt_zone *z)
{
	unsigned long batch = z->managed / 1024;
	int b = 1;

	if (batch * MMT_PAGE_SIZE > 1024 * 1024)
		batch = (1024 * 1024) / MMT_PAGE_SIZE;
	batch /= 4;
	if (batch < 1)
		batch = 1;
	while ((unsigned long)(b << 1) <= batch + (batch >> 1))
		b <<= 1;
	return b > 1 ? b - 1 : 1;
}

int _mmt_page_alloc_init(struct mmt_machine *m, char *err, size_t errlen)
{
	unsigned long pfn, nmax;
	int i, c;

	memset(poison_page, MMT_POISON_PAGE_FREE, sizeof(poison_page));
	m->pcp_up = m->cfg.up && !m->cfg.rt_rules;
	/*
	 * Only the head descriptors of each zone's first max-order block and
	 * of its unaligned tail are written here: all-zero is a free frame
	 * of its zone (struct mmt_page) and area_first() links the other
	 * blocks when they are first needed, so what a machine costs follows
	 * what its allocations touch, never its size.
	 */
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];
		unsigned long nblocks =
			(z->spanned + PAGEBLOCK_PAGES - 1) / PAGEBLOCK_PAGES;
		struct zone_extra *x;
		unsigned int o;
		int mt;

		x = calloc(1, sizeof(*x) + nblocks);
		if (!x) {
			snprintf(err, errlen, "out of host memory for zone %d",
				 i);
			return -1;
		}
		/* A byte per pageblock: 1/2 MiB of what it describes. */
		z->pageblock_mt = (_Atomic uint8_t *)(void *)(x + 1);
		memset((void *)z->pageblock_mt, MMT_MIGRATE_MOVABLE, nblocks);
		mmt_spin_lock_init(&z->lock, &zone_lock_class);
		atomic_init(&z->deferred, MMT_PFN_NONE);
		atomic_init(&z->nr_deferred, 0);
		for (o = 0; o < MMT_MAX_ORDER; o++)
			for (mt = 0; mt < MMT_MIGRATE_TYPES; mt++)
				z->free_area[o].list[mt].first = MMT_PFN_NONE;
		/*
		 * Free the zone as maximal aligned blocks: the largest ones
		 * only counted, linked when first needed (area_first(); the
		 * zone starts aligned to them), the tail linked now.
		 */
		nmax = z->spanned >> (MMT_MAX_ORDER - 1);
		z->lazy_next = z->start_pfn;
		z->lazy_end = z->start_pfn + (nmax << (MMT_MAX_ORDER - 1));
		if (nmax) {
			struct mmt_free_area *top =
				&z->free_area[MMT_MAX_ORDER - 1];

			atomic_store_explicit(&top->nr_free, nmax,
					      memory_order_relaxed);
			atomic_store_explicit(&x->nonempty[MMT_MAX_ORDER - 1],
					      (uint8_t)(1u
							<< MMT_MIGRATE_MOVABLE),
					      memory_order_relaxed);
			atomic_store_explicit(&z->nr_free_pages,
					      (long)(nmax
						     << (MMT_MAX_ORDER - 1)),
					      memory_order_relaxed);
			/* The first is linked: the list looks as it always did. */
			area_first(z, MMT_MAX_ORDER - 1, MMT_MIGRATE_MOVABLE);
		}
		for (pfn = z->lazy_end; pfn < z->start_pfn + z->spanned;) {
			unsigned int order = MMT_MAX_ORDER - 1;

			while ((pfn & ((1ul << order) - 1)) ||
			       pfn + (1ul << order) > z->start_pfn + z->spanned)
				order--;
			free_list_add(z, (uint32_t)pfn, order,
				      MMT_MIGRATE_MOVABLE, true);
			pfn += 1ul << order;
		}
		z->pcp_batch = m->cfg.pcp_batch ? m->cfg.pcp_batch :
						  zone_batchsize(z);
		z->pcp_high = m->cfg.pcp_high ? m->cfg.pcp_high :
						6 * z->pcp_batch;
	}
	setup_watermarks(m);
	for (i = 0; i < m->nr_nodes; i++) {
		int order[MMT_MAX_NODES], nr = node_order(m, i, order), t;

		for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
			build_zonelist(m, order, nr, t, false,
				       &m->zonelists[i][t][0]);
			build_zonelist(m, order, nr, t, true,
				       &m->zonelists[i][t][1]);
		}
	}
	for (c = 0; c < m->nr_cpus; c++) {
		struct mmt_cpu *cpu = &m->cpus[c];

		cpu->pcp = calloc((size_t)m->nr_zones, sizeof(*cpu->pcp));
		if (!cpu->pcp) {
			snprintf(err, errlen,
				 "out of host memory for the per-cpu lists");
			return -1;
		}
		for (i = 0; i < m->nr_zones; i++) {
			struct mmt_pcp *pcp = &cpu->pcp[i];
			int l;

			mmt_spin_lock_init(&pcp->lock, &pcp_lock_class);
			pcp->batch = m->zones[i].pcp_batch;
			pcp->high = m->zones[i].pcp_high;
			for (l = 0; l < MMT_NR_PCP_LISTS; l++)
				pcp->lists[l].first = MMT_PFN_NONE;
		}
	}
	return 0;
}

void _mmt_page_alloc_destroy(struct mmt_machine *m)
{
	int i;

	if (m->zones)
		for (i = 0; i < m->nr_zones; i++)
			if (m->zones[i].pageblock_mt)
				free(zextra(&m->zones[i]));
	if (m->cpus)
		for (i = 0; i < m->nr_cpus; i++)
			free(m->cpus[i].pcp);
}

bool _mmt_pfn_used_range(const struct mmt_machine *m, unsigned long pfn,
			 unsigned long *start, unsigned long *end)
{
	int i;

	/* Zones are laid out in pfn order; each has at most two ranges. */
	for (i = 0; i < m->nr_zones; i++) {
		const struct mmt_zone *z = &m->zones[i];
		unsigned long zend = z->start_pfn + z->spanned;

		if (pfn >= zend)
			continue;
		if (pfn < z->start_pfn)
			pfn = z->start_pfn;
		if (pfn < z->lazy_next) {
			*start = pfn;
			*end = z->lazy_next;
			return true;
		}
		if (pfn < z->lazy_end)
			pfn = z->lazy_end;
		if (pfn < zend) {
			*start = pfn;
			*end = zend;
			return true;
		}
	}
	return false;
}

/* ---- validators (expensive tier; call with the machine quiescent) ---- */

static bool buddy_is_valid(struct mmt_zone *z, unsigned long *free_pages)
{
	struct mmt_machine *m = z->m;
	unsigned long pages = 0, ha_pages = 0;
	unsigned int o;
	int mt;

	for (o = 0; o < MMT_MAX_ORDER; o++) {
		unsigned long blocks = 0;

		for (mt = 0; mt < MMT_MIGRATE_TYPES; mt++) {
			const struct mmt_plist *l = &z->free_area[o].list[mt];
			uint32_t pfn = l->first, n = 0;

			if (pfn == MMT_PFN_NONE && l->nr)
				return mmt_violation(
					m, "buddy-consistency",
					"zone %s order %u %s: empty list with nr %u",
					z->name, o, mt_names[mt], l->nr);
			while (pfn != MMT_PFN_NONE && n <= l->nr) {
				const struct mmt_page *p = pfn_to_page(m, pfn);
				uint32_t buddy = pfn ^ (1u << o);

				if (!(pg_flags(p) & MMT_PG_BUDDY) ||
				    pg_order(p) != o || p->migratetype != mt ||
				    (pfn & ((1u << o) - 1)) ||
				    !pfn_in_zone(z, pfn) ||
				    !pfn_in_zone(z, pfn + (1u << o) - 1))
					return mmt_violation(
						m, "buddy-consistency",
						"zone %s order %u %s: block pfn %u has flags 0x%x order %u type %u (misplaced, misaligned or outside the zone)",
						z->name, o, mt_names[mt], pfn,
						pg_flags(p), pg_order(p),
						p->migratetype);
				if (o < MMT_MAX_ORDER - 1 &&
				    pfn_in_zone(z, buddy) &&
				    (pg_flags(pfn_to_page(m, buddy)) &
				     MMT_PG_BUDDY) &&
				    pg_order(pfn_to_page(m, buddy)) == o)
					return mmt_violation(
						m, "buddy-consistency",
						"zone %s: free buddies pfn %u and %u of order %u were not merged",
						z->name, pfn, buddy, o);
				n++;
				pfn = p->next;
				if (pfn == l->first)
					break;
			}
			if (n != l->nr)
				return mmt_violation(
					m, "buddy-consistency",
					"zone %s order %u %s: list holds %u blocks, nr says %u",
					z->name, o, mt_names[mt], n, l->nr);
			/* With the blocks not linked yet (never touched). */
			blocks += n + lazy_blocks(z, o, mt);
			if (mt == MMT_MIGRATE_HIGHATOMIC)
				ha_pages += (unsigned long)n << o;
		}
		if (blocks != z->free_area[o].nr_free)
			return mmt_violation(
				m, "buddy-consistency",
				"zone %s order %u: %lu blocks on the lists, nr_free says %lu",
				z->name, o, blocks, z->free_area[o].nr_free);
		pages += blocks << o;
	}
	if ((long)pages != zone_free(z))
		return mmt_violation(
			m, "buddy-consistency",
			"zone %s: %lu free pages on the lists, NR_FREE_PAGES says %ld",
			z->name, pages, zone_free(z));
	if ((long)ha_pages != zone_free_highatomic(z))
		return mmt_violation(
			m, "buddy-consistency",
			"zone %s: %lu free pages on the highatomic lists, nr_free_highatomic says %ld",
			z->name, ha_pages, zone_free_highatomic(z));
	*free_pages = pages;
	return true;
}

static bool pcp_is_valid(struct mmt_zone *z, int cpuid,
			 unsigned long *pages_out)
{
	struct mmt_machine *m = z->m;
	struct mmt_pcp *pcp = &m->cpus[cpuid].pcp[z->id];
	unsigned long pages = 0;
	int l;

	for (l = 0; l < MMT_NR_PCP_LISTS; l++) {
		const struct mmt_plist *list = &pcp->lists[l];
		uint32_t pfn = list->first, n = 0;

		while (pfn != MMT_PFN_NONE && n <= list->nr) {
			const struct mmt_page *p = pfn_to_page(m, pfn);

			if (!(pg_flags(p) & MMT_PG_PCP) ||
			    p->pcp_cpu != cpuid ||
			    pindex(p->migratetype, pg_order(p)) != l ||
			    !pfn_in_zone(z, pfn))
				return mmt_violation(
					m, "pcp-count",
					"cpu %d zone %s list %d: page pfn %u has flags 0x%x owner %d order %u type %u",
					cpuid, z->name, l, pfn, pg_flags(p),
					p->pcp_cpu, pg_order(p),
					p->migratetype);
			pages += 1ul << pg_order(p);
			n++;
			pfn = p->next;
			if (pfn == list->first)
				break;
		}
		if (n != list->nr)
			return mmt_violation(
				m, "pcp-count",
				"cpu %d zone %s list %d: %u entries, nr says %u",
				cpuid, z->name, l, n, list->nr);
	}
	if ((long)pages != pcp_count(pcp))
		return mmt_violation(
			m, "pcp-count",
			"cpu %d zone %s: %lu pages on the per-cpu lists, pcp->count says %d",
			cpuid, z->name, pages, pcp_count(pcp));
	*pages_out = pages;
	return true;
}

/* The deferred list: heads of blocks of this zone, counted by nr_deferred. */
static bool deferred_is_valid(struct mmt_zone *z, unsigned long *pages_out)
{
	struct mmt_machine *m = z->m;
	uint32_t pfn = atomic_load_explicit(&z->deferred, memory_order_acquire);
	unsigned long pages = 0, n = 0;

	while (pfn != MMT_PFN_NONE) {
		const struct mmt_page *p;

		if (!pfn_in_zone(z, pfn) || ++n > z->managed)
			return mmt_violation(
				m, "deferred-list",
				"zone %s: the deferred list reaches pfn %u (outside the zone, or a cycle)",
				z->name, pfn);
		p = pfn_to_page(m, pfn);
		if ((pg_flags(p) & ~MMT_PG_POISONED) != MMT_PG_DEFERRED)
			return mmt_violation(
				m, "deferred-list",
				"zone %s: block pfn %u on the deferred list has flags 0x%x",
				z->name, pfn, pg_flags(p));
		pages += 1ul << pg_order(p);
		pfn = p->next;
	}
	if ((long)pages !=
	    atomic_load_explicit(&z->nr_deferred, memory_order_relaxed))
		return mmt_violation(
			m, "deferred-list",
			"zone %s: %lu pages on the deferred list, nr_deferred says %ld",
			z->name, pages,
			atomic_load_explicit(&z->nr_deferred,
					     memory_order_relaxed));
	*pages_out = pages;
	return true;
}

bool _mmt_zone_is_valid(struct mmt_zone *z)
{
	struct mmt_machine *m = z->m;
	unsigned long free_pages = 0, pcp_pages = 0, deferred = 0;
	long allocated = 0;
	int c;

	atomic_store_explicit(&z->vdirty, false, memory_order_relaxed);
	if (!buddy_is_valid(z, &free_pages))
		return false;
	if (!deferred_is_valid(z, &deferred))
		return false;
	for (c = 0; c < m->nr_cpus; c++) {
		unsigned long p = 0;

		if (!pcp_is_valid(z, c, &p))
			return false;
		pcp_pages += p;
		allocated += atomic_load_explicit(
			&m->cpus[c].pcp[z->id].allocated, memory_order_relaxed);
	}
	if (free_pages + pcp_pages + deferred + (unsigned long)allocated !=
	    z->managed)
		return mmt_violation(
			m, "zone-conservation",
			"node %d zone %s: free %lu + per-cpu %lu + deferred %lu + allocated %ld = %lu, managed %lu",
			z->nid, z->name, free_pages, pcp_pages, deferred,
			allocated,
			free_pages + pcp_pages + deferred +
				(unsigned long)allocated,
			z->managed);
	return true;
}

/*
 * Any write may break any of the zone's invariants (an injected defect on
 * the per-cpu path can hand out pages of a buddy block), so a touched
 * zone gets the whole validator.
 */
bool _mmt_zone_validate_touched(struct mmt_zone *z)
{
	return !atomic_load_explicit(&z->vdirty, memory_order_relaxed) ||
	       _mmt_zone_is_valid(z);
}

/* ---- counters, snapshots and dumps ---- */

const char *mmt_vm_item_name(enum mmt_vm_item item)
{
	return (unsigned int)item < MMT_NR_VM_ITEMS ? vm_item_names[item] : "?";
}

unsigned long mmt_vm_event(struct mmt_machine *m, enum mmt_vm_item item)
{
	unsigned long sum = 0;
	int c;

	for (c = 0; c < m->nr_cpus; c++)
		sum += atomic_load_explicit(&m->cpus[c].events[item],
					    memory_order_relaxed);
	return sum;
}

int mmt_nr_zones(const struct mmt_machine *m)
{
	return m->nr_zones;
}

unsigned long mmt_pcp_count(struct mmt_machine *m, int cpu, int zone)
{
	if (cpu < 0 || cpu >= m->nr_cpus || zone < 0 || zone >= m->nr_zones)
		return 0;
	return (unsigned long)pcp_count(&m->cpus[cpu].pcp[zone]);
}

bool mmt_zone_info(struct mmt_machine *m, int zid, struct mmt_zone_info *out)
{
	struct mmt_zone *z;
	long allocated = 0;
	int c, t;
	unsigned int o;

	if (zid < 0 || zid >= m->nr_zones)
		return false;
	z = &m->zones[zid];
	memset(out, 0, sizeof(*out));
	out->nid = z->nid;
	out->type = z->type;
	out->name = z->name;
	out->start_pfn = z->start_pfn;
	out->managed = z->managed;
	out->free = (unsigned long)zone_free(z);
	out->deferred = (unsigned long)atomic_load_explicit(
		&z->nr_deferred, memory_order_relaxed);
	for (c = 0; c < m->nr_cpus; c++) {
		out->pcp += (unsigned long)pcp_count(&m->cpus[c].pcp[zid]);
		allocated += atomic_load_explicit(
			&m->cpus[c].pcp[zid].allocated, memory_order_relaxed);
	}
	out->allocated = (unsigned long)allocated;
	out->wmark_min = z->watermark[MMT_WMARK_MIN];
	out->wmark_low = z->watermark[MMT_WMARK_LOW];
	out->wmark_high = z->watermark[MMT_WMARK_HIGH];
	for (t = 0; t < MMT_NR_ZONE_TYPES; t++)
		out->lowmem_reserve[t] = z->lowmem_reserve[t];
	out->nr_reserved_highatomic = highatomic(z);
	out->nr_free_highatomic = (unsigned long)zone_free_highatomic(z);
	for (o = 0; o < MMT_MAX_ORDER; o++)
		out->nr_free[o] = z->free_area[o].nr_free;
	out->pcp_batch = z->pcp_batch;
	out->pcp_high = z->pcp_high;
	return true;
}

void _mmt_zone_dump(struct mmt_zone *z, FILE *out)
{
	struct mmt_zone_info zi;
	unsigned int o;

	mmt_zone_info(z->m, z->id, &zi);
	fprintf(out,
		"    node %d zone %-6s pfn %lu+%lu free %lu pcp %lu allocated %lu "
		"wmark min %lu low %lu high %lu reserve %lu highatomic %lu (free %lu)\n      free blocks:",
		zi.nid, zi.name, zi.start_pfn, zi.managed, zi.free, zi.pcp,
		zi.allocated, zi.wmark_min, zi.wmark_low, zi.wmark_high,
		zi.lowmem_reserve[MMT_ZONE_NORMAL], zi.nr_reserved_highatomic,
		zi.nr_free_highatomic);
	for (o = 0; o < MMT_MAX_ORDER; o++)
		fprintf(out, " %lu", zi.nr_free[o]);
	fputc('\n', out);
}

void mmt_vmstat_print(struct mmt_machine *m, FILE *out)
{
	int i;

	fprintf(out, "%-20s %12s\n", "event", "count");
	for (i = 0; i < MMT_NR_VM_ITEMS; i++)
		fprintf(out, "%-20s %12lu\n", vm_item_names[i],
			mmt_vm_event(m, (enum mmt_vm_item)i));
	fprintf(out, "\n%-4s %-7s %9s %9s %9s %9s %7s %7s %7s %7s %5s %5s\n",
		"node", "zone", "managed", "free", "pcp", "alloc", "min", "low",
		"high", "lowres", "batch", "high");
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, i, &zi);
		fprintf(out,
			"%-4d %-7s %9lu %9lu %9lu %9lu %7lu %7lu %7lu %7lu %5d %5d\n",
			zi.nid, zi.name, zi.managed, zi.free, zi.pcp,
			zi.allocated, zi.wmark_min, zi.wmark_low, zi.wmark_high,
			zi.lowmem_reserve[MMT_ZONE_NORMAL], zi.pcp_batch,
			zi.pcp_high);
	}
}

void mmt_vmstat_json(struct mmt_machine *m, FILE *out)
{
	json_t *root = json_object(), *events = json_object(),
	       *zones = json_array();
	int i;
	unsigned int o;

	for (i = 0; i < MMT_NR_VM_ITEMS; i++)
		json_object_set_new(events, vm_item_names[i],
				    json_integer((json_int_t)mmt_vm_event(
					    m, (enum mmt_vm_item)i)));
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone_info zi;
		json_t *nf = json_array();

		mmt_zone_info(m, i, &zi);
		for (o = 0; o < MMT_MAX_ORDER; o++)
			json_array_append_new(
				nf, json_integer((json_int_t)zi.nr_free[o]));
		/* "I" is json_int_t: every count fits. */
		json_array_append_new(
			zones,
			json_pack(
				"{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				"s:I, s:I, s:I, s:I, s:i, s:i, s:o}",
				"node", zi.nid, "zone", zi.name, "start_pfn",
				(json_int_t)zi.start_pfn, "managed",
				(json_int_t)zi.managed, "free",
				(json_int_t)zi.free, "pcp", (json_int_t)zi.pcp,
				"allocated", (json_int_t)zi.allocated,
				"wmark_min", (json_int_t)zi.wmark_min,
				"wmark_low", (json_int_t)zi.wmark_low,
				"wmark_high", (json_int_t)zi.wmark_high,
				"lowmem_reserve_normal",
				(json_int_t)zi.lowmem_reserve[MMT_ZONE_NORMAL],
				"nr_reserved_highatomic",
				(json_int_t)zi.nr_reserved_highatomic,
				"nr_free_highatomic",
				(json_int_t)zi.nr_free_highatomic, "pcp_batch",
				zi.pcp_batch, "pcp_high", zi.pcp_high,
				"nr_free", nf));
	}
	json_object_set_new(root, "events", events);
	json_object_set_new(root, "zones", zones);
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}
