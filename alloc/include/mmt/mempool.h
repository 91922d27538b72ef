/* SPDX-License-Identifier: MIT */
/*
 * mmt/mempool.h - memory pools that guarantee forward progress (seed 001).
 *
 * A pool keeps min_nr elements in reserve.  mempool_alloc() tries the
 * underlying allocator and the reserve in an order set by the machine's
 * policy (mmt_config.mempool_policy, --mempool=):
 *   kernel-2016  first the allocator without direct reclaim or I/O, then
 *                the pool, then retry with the caller's full mask (the retry
 *                may enter direct reclaim and be throttled: seed 001's bug);
 *   no-reclaim   NeilBrown's proposal: never direct reclaim, never throttle;
 *                the allocator (kswapd wakeup allowed), then the pool, then
 *                wait for an element to be freed;
 *   pool-first   the pool first, then the allocator without reclaim, then
 *                wait.
 * Inner allocator attempts always add __GFP_NOMEMALLOC, __GFP_NORETRY and
 * __GFP_NOWARN.  mempool_free() refills the pool below min_nr and wakes a
 * waiter.  Pooled elements are poisoned (MMT_POISON_RESERVED) and checked
 * when they leave the pool.
 */
#ifndef MMT_MEMPOOL_H
#define MMT_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "mmt/gfp.h"
#include "mmt/machine.h"

struct mmt_kmem_cache;
struct mmt_mempool;

typedef void *(*mmt_mempool_alloc_fn)(mmt_gfp_t gfp, void *pool_data);
typedef void (*mmt_mempool_free_fn)(void *element, void *pool_data);

/* Pools of elements of @elem_size bytes (for poisoning; 0: do not poison). */
struct mmt_mempool *mmt_mempool_create(const char *name, int min_nr,
				       mmt_mempool_alloc_fn alloc_fn,
				       mmt_mempool_free_fn free_fn,
				       void *pool_data, size_t elem_size);
struct mmt_mempool *mmt_mempool_create_node(const char *name, int min_nr,
					    mmt_mempool_alloc_fn alloc_fn,
					    mmt_mempool_free_fn free_fn,
					    void *pool_data, size_t elem_size,
					    mmt_gfp_t gfp, int node);
/* Helpers: objects of a slab cache, kmalloc(@size), pages of @order. */
struct mmt_mempool *mmt_mempool_create_slab_pool(const char *name, int min_nr,
						 struct mmt_kmem_cache *cache);
struct mmt_mempool *mmt_mempool_create_kmalloc_pool(const char *name,
						    int min_nr, size_t size);
struct mmt_mempool *mmt_mempool_create_page_pool(const char *name, int min_nr,
						 unsigned int order);

/*
 * NULL only without __GFP_DIRECT_RECLAIM, in a context that cannot sleep,
 * for a stopped kthread, or after a reported deadlock or stall.
 */
void *mmt_mempool_alloc(struct mmt_mempool *pool, mmt_gfp_t gfp);
void mmt_mempool_free(void *element, struct mmt_mempool *pool);
/* Change min_nr (may sleep); 0 or -1 (no memory). */
int mmt_mempool_resize(struct mmt_mempool *pool, int new_min_nr);
/* Destroy: every element must be back ("mempool-accounting" otherwise). */
void mmt_mempool_destroy(struct mmt_mempool *pool);
int mmt_mempool_curr_nr(const struct mmt_mempool *pool);
int mmt_mempool_min_nr(const struct mmt_mempool *pool);
const char *mmt_mempool_policy_name(enum mmt_mempool_policy p);
bool mmt_mempool_policy_parse(const char *name, enum mmt_mempool_policy *out);

/* -- begin: added by alloc/mempool.c (Model 3): counters for reports -- */
struct mmt_mempool_stats {
	unsigned long alloc_fn_calls; /* inner allocator attempts */
	unsigned long alloc_fn_ok; /* ... that returned an element */
	unsigned long from_pool; /* elements handed out from the reserve */
	unsigned long waits; /* sleeps on the pool's wait queue */
	unsigned long wait_timeouts; /* ... that ran their full 5 s */
	unsigned long nulls; /* mempool_alloc() returned NULL */
	unsigned long refills; /* frees that went back into the pool */
	unsigned long freed; /* frees that went to the free function */
	long out; /* handed out by mempool_alloc, not freed yet */
};
const char *mmt_mempool_name(const struct mmt_mempool *pool);
void mmt_mempool_stats(struct mmt_mempool *pool, struct mmt_mempool_stats *out);
/* Totals over every pool machine @m has had, live or destroyed. */
void mmt_mempool_machine_stats(struct mmt_machine *m,
			       struct mmt_mempool_stats *out);
/* -- end: added by alloc/mempool.c -- */

#endif /* MMT_MEMPOOL_H */
