/* SPDX-License-Identifier: MIT */
/*
 * mmt/page_alloc.h - the buddy page allocator with per-cpu page lists.
 *
 * Behaviour modelled on mm/page_alloc.c (v6.x shapes, with seed 002's
 * __GFP_FAST_TRY): zonelists, watermarks with the ALLOC_* reserve rules,
 * pfmemalloc marking, per-cpu lists refilled in bulk under the zone lock,
 * a slow path with kswapd wakeup, direct reclaim (a hook), retry policy and
 * OOM.  All calls run on the current simulated CPU (mmt_cpu_attach()).
 */
#ifndef MMT_PAGE_ALLOC_H
#define MMT_PAGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/gfp.h"
#include "mmt/machine.h"

#define MMT_MAX_ORDER 11 /* orders 0..10 */
#define MMT_PAGE_ALLOC_COSTLY_ORDER 3
#define MMT_PAGEBLOCK_ORDER 9

enum mmt_migratetype {
	MMT_MIGRATE_UNMOVABLE,
	MMT_MIGRATE_MOVABLE,
	MMT_MIGRATE_RECLAIMABLE,
	MMT_MIGRATE_PCPTYPES, /* types with per-cpu lists */
	MMT_MIGRATE_HIGHATOMIC = MMT_MIGRATE_PCPTYPES,
	MMT_MIGRATE_TYPES
};

/* Page descriptor flags. */
enum {
	MMT_PG_BUDDY = 1u << 0, /* free, on a buddy list */
	MMT_PG_PCP = 1u << 1, /* free, on a per-cpu list */
	MMT_PG_SLAB = 1u << 2,
	MMT_PG_PFMEMALLOC = 1u << 3, /* handed out from the reserves */
	MMT_PG_RESERVED = 1u << 4,
	MMT_PG_HEAD = 1u << 5, /* compound head */
	MMT_PG_TAIL = 1u << 6, /* compound tail */
	MMT_PG_ALLOCATED = 1u << 7, /* first page of an allocation */
	MMT_PG_DEFERRED = 1u << 8, /* freed, on its zone's deferred list */
};

/* Allocation. NULL on failure. */
struct mmt_page *mmt_alloc_pages(mmt_gfp_t gfp, unsigned int order);
struct mmt_page *mmt_alloc_pages_node(int nid, mmt_gfp_t gfp,
				      unsigned int order);
void mmt_free_pages(struct mmt_page *page, unsigned int order);
void *mmt_get_free_pages(mmt_gfp_t gfp, unsigned int order);
void mmt_free_pages_addr(void *addr, unsigned int order);
/*
 * alloc_pages_bulk: fill up to @nr order-0 pages into the NULL slots of
 * @array (populated slots are kept); returns the number of populated slots.
 */
unsigned int mmt_alloc_pages_bulk(mmt_gfp_t gfp, unsigned int nr,
				  struct mmt_page **array);

/*
 * The nolock APIs (kernel 6.15-6.16, the descendants of seed 002's
 * __GFP_FAST_TRY): callable from any context, task to hard irq; they never
 * spin nor sleep (trylock only; anything else is "nolock-spin").
 *
 * alloc_pages_nolock: @gfp may hold only __GFP_ACCOUNT ("gfp-misuse"
 * otherwise); the call adds __GFP_NOWARN|__GFP_ZERO|__GFP_NOMEMALLOC|
 * __GFP_COMP, checks the min watermark, never reclaims nor wakes kswapd.
 * The per-cpu lists are taken with trylock (busy: the zone), the zone lock
 * with trylock (busy: NULL).  @nid < 0: this CPU's node.  Under PREEMPT_RT
 * rules it returns NULL at once in hard irq (spinlocks sleep there).
 *
 * free_pages_nolock: as free_pages, with trylock only; a block that gets
 * neither the per-cpu lock nor the zone lock goes on its zone's lock-free
 * deferred list, freed by the next free path that holds the zone lock
 * (and at teardown: mmt_drain_deferred_pages()).
 */
struct mmt_page *mmt_alloc_pages_nolock(mmt_gfp_t gfp, int nid,
					unsigned int order);
void mmt_free_pages_nolock(struct mmt_page *page, unsigned int order);
/* Free every zone's deferred blocks now (zone lock taken outright). */
void mmt_drain_deferred_pages(struct mmt_machine *m);
/* Pages on the deferred lists of every zone. */
unsigned long mmt_deferred_pages(struct mmt_machine *m);

/* Per-cpu lists. */
void mmt_drain_local_pages(void);
void mmt_drain_all_pages(struct mmt_machine *m);

/* Page frames. */
unsigned long mmt_page_to_pfn(const struct mmt_page *page);
struct mmt_page *mmt_pfn_to_page(struct mmt_machine *m, unsigned long pfn);
void *mmt_page_address(const struct mmt_page *page);
struct mmt_page *mmt_virt_to_page(struct mmt_machine *m, const void *addr);
unsigned int mmt_page_flags(const struct mmt_page *page);
bool mmt_page_is_pfmemalloc(const struct mmt_page *page);
int mmt_page_zone_type(const struct mmt_page *page);
int mmt_page_to_nid(const struct mmt_page *page);
/* Order the page was allocated with (head page), or -1. */
int mmt_page_alloc_order(const struct mmt_page *page);

/* ---- vmstat-like counters ---- */

enum mmt_vm_item {
	MMT_VM_PGALLOC, /* pages handed out */
	MMT_VM_PGFREE, /* pages freed */
	MMT_VM_ALLOC_FAIL, /* allocations that returned NULL */
	MMT_VM_PCP_HIT, /* served from a per-cpu list */
	MMT_VM_PCP_REFILL, /* rmqueue_bulk calls */
	MMT_VM_PCP_DRAIN, /* free_pcppages_bulk calls */
	MMT_VM_FAST_TRY_FAIL, /* __GFP_FAST_TRY failures */
	MMT_VM_PGALLOC_PFMEMALLOC, /* pages marked pfmemalloc */
	MMT_VM_SLOWPATH, /* entries into the slow path */
	MMT_VM_KSWAPD_WAKE,
	MMT_VM_ALLOCSTALL, /* direct reclaim entries */
	MMT_VM_OOM, /* OOM outcomes */
	MMT_VM_NOFAIL_RETRY,
	MMT_VM_STEAL, /* migratetype fallback steals */
	MMT_VM_BUDDY_SPLIT,
	MMT_VM_BUDDY_MERGE,
	MMT_VM_WMARK_FAIL, /* watermark checks that failed */
	MMT_VM_NOLOCK_FAIL, /* alloc_pages_nolock failures */
	MMT_VM_NOLOCK_DEFERRED, /* blocks free_pages_nolock deferred */
	MMT_VM_OOM_KILL, /* tasks the OOM killer killed */
	MMT_NR_VM_ITEMS
};

const char *mmt_vm_item_name(enum mmt_vm_item item);
/* Sum of an event over every CPU. */
unsigned long mmt_vm_event(struct mmt_machine *m, enum mmt_vm_item item);

/* Per-zone snapshot, for tables, JSON and tests. */
struct mmt_zone_info {
	int nid;
	int type; /* enum mmt_zone_type */
	const char *name; /* "DMA32", "Normal" */
	unsigned long start_pfn, managed;
	unsigned long free; /* in the buddy lists */
	unsigned long pcp; /* on every per-cpu list */
	unsigned long deferred; /* on the deferred list (free_pages_nolock) */
	unsigned long allocated;
	unsigned long wmark_min, wmark_low, wmark_high;
	unsigned long lowmem_reserve[MMT_NR_ZONE_TYPES];
	unsigned long nr_reserved_highatomic;
	unsigned long nr_free_highatomic; /* free on the highatomic lists */
	unsigned long nr_free[MMT_MAX_ORDER]; /* free blocks per order */
	int pcp_batch, pcp_high;
};
int mmt_nr_zones(const struct mmt_machine *m);
bool mmt_zone_info(struct mmt_machine *m, int zone, struct mmt_zone_info *out);
/* Per-cpu page count of @cpu in @zone. */
unsigned long mmt_pcp_count(struct mmt_machine *m, int cpu, int zone);

/* Counters and zones as an aligned text table, or as one JSON object. */
void mmt_vmstat_print(struct mmt_machine *m, FILE *out);
void mmt_vmstat_json(struct mmt_machine *m, FILE *out);

/* Override the watermarks of a zone (tests); recomputes nothing else. */
void mmt_zone_set_watermarks(struct mmt_machine *m, int zone, unsigned long min,
			     unsigned long low, unsigned long high);

#endif /* MMT_PAGE_ALLOC_H */
