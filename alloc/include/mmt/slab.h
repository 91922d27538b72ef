/* SPDX-License-Identifier: MIT */
/*
 * mmt/slab.h - the object allocator: kmem_cache, kmalloc and friends.
 *
 * One API, three implementations chosen per machine (mmt_config.slab):
 * SLUB (per-cpu freelist with a transaction id, cpu partial slabs, node
 * partial lists with min_partial, frozen slabs), SLAB (per-cpu array
 * caches, a shared array per node, full/partial/free slab lists) and SLUB
 * with sheaves (kernel 7.0: per-cpu main and spare sheaves, per-node barns
 * of full and empty sheaves, node partial lists), all with pfmemalloc slabs
 * that serve only callers entitled to the reserves.
 * All calls run on the current simulated CPU; a cache belongs to the
 * machine of the CPU that created it.
 */
#ifndef MMT_SLAB_H
#define MMT_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmt/gfp.h"
#include "mmt/machine.h"

/* kmem_cache_create() flags */
enum {
	MMT_SLAB_HWCACHE_ALIGN = 1u << 0, /* align objects to a cache line */
	MMT_SLAB_POISON = 1u << 1, /* poison free objects, check on alloc */
	MMT_SLAB_RED_ZONE = 1u << 2, /* guard bytes around each object */
	MMT_SLAB_STORE_USER = 1u << 3, /* record the last alloc and free */
	MMT_SLAB_TYPESAFE_BY_RCU = 1u
				   << 4, /* slabs freed after a grace period */
	MMT_SLAB_ACCOUNT = 1u << 5, /* charge objects to the task's memcg */
	MMT_SLAB_VALID_FLAGS = (1u << 6) - 1,
};

#define MMT_CACHE_LINE 64
#define MMT_KMALLOC_MIN 8
#define MMT_KMALLOC_MAX_CACHE 8192 /* larger kmalloc goes to the pages */

struct mmt_kmem_cache;
typedef void (*mmt_ctor_fn)(void *obj);

/*
 * NULL (with a violation naming the reason) for a bad name, size (0 or
 * above 32 KiB), alignment (not a power of two) or flag.
 */
struct mmt_kmem_cache *mmt_kmem_cache_create(const char *name, size_t size,
					     size_t align, unsigned int flags,
					     mmt_ctor_fn ctor);
/* kmem_cache_create()'s arguments as the kernel's struct kmem_cache_args. */
#define MMT_SHEAF_MAX_CAPACITY 255
struct mmt_kmem_cache_args {
	size_t align;
	unsigned int flags;
	mmt_ctor_fn ctor;
	/* objects per sheaf (slab=sheaves); 0: computed from the size */
	unsigned int sheaf_capacity;
};
struct mmt_kmem_cache *
mmt_kmem_cache_create_args(const char *name, size_t size,
			   const struct mmt_kmem_cache_args *args);
/* Destroy; objects still allocated are reported ("slab-leak"). */
void mmt_kmem_cache_destroy(struct mmt_kmem_cache *s);
void *mmt_kmem_cache_alloc(struct mmt_kmem_cache *s, mmt_gfp_t gfp);
void *mmt_kmem_cache_alloc_node(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				int node);
void mmt_kmem_cache_free(struct mmt_kmem_cache *s, void *obj);
/* All or nothing: returns @nr with @p filled, or 0 with nothing taken. */
size_t mmt_kmem_cache_alloc_bulk(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				 size_t nr, void **p);
void mmt_kmem_cache_free_bulk(struct mmt_kmem_cache *s, size_t nr, void **p);
/* Give back empty slabs (flushes per-cpu state); returns 0. */
int mmt_kmem_cache_shrink(struct mmt_kmem_cache *s);
/* Shrink every cache of the machine (kmalloc caches too), as the kernel's
 * kmem_cache_shrink_all() / drop_caches do. */
void mmt_kmem_cache_shrink_all(struct mmt_machine *m);
const char *mmt_kmem_cache_name(const struct mmt_kmem_cache *s);
size_t mmt_kmem_cache_size(const struct mmt_kmem_cache *s);

/*
 * Prefilled sheaves (kernel 6.18+): a sheaf holding at least @count
 * objects (an oversize one if count exceeds the cache's sheaf capacity),
 * or NULL; allocations from it succeed while mmt_slab_sheaf_size() > 0,
 * whatever the context.  refill: 0 when the sheaf then holds at least
 * @count (an oversize count replaces *@sheaf), -1 otherwise.  return: the
 * objects left in it go back (the sheaf may be refilled into the barn).
 * A cache destroyed with a sheaf out is a "slab-leak".  On slab=slub and
 * slab=slab (caches without sheaves) the sheaf is an array of objects
 * allocated at prefill and freed at return, as 6.18 does for such caches.
 */
struct mmt_slab_sheaf;
struct mmt_slab_sheaf *mmt_kmem_cache_prefill_sheaf(struct mmt_kmem_cache *s,
						    mmt_gfp_t gfp,
						    unsigned int count);
void *mmt_kmem_cache_alloc_from_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				      struct mmt_slab_sheaf *sheaf);
int mmt_kmem_cache_refill_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				struct mmt_slab_sheaf **sheaf,
				unsigned int count);
void mmt_kmem_cache_return_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				 struct mmt_slab_sheaf *sheaf);
unsigned int mmt_slab_sheaf_size(const struct mmt_slab_sheaf *sheaf);
/*
 * The holder of @sheaf ends without returning it, and its machine is
 * about to be destroyed (an interpreter's run that stopped at a finding or
 * blocked): the host memory of a sheaf the common part emulates is freed
 * now; an implementation's own sheaf goes with its cache's state.  Its
 * objects are the machine's memory and go with it.  Never use @sheaf again.
 */
void mmt_slab_sheaf_abandon(struct mmt_slab_sheaf *sheaf);
/* The cache's sheaf capacity (given, or computed from the object size). */
unsigned int mmt_kmem_cache_sheaf_capacity(const struct mmt_kmem_cache *s);

void *mmt_kmalloc(size_t size, mmt_gfp_t gfp);
void *mmt_kmalloc_node(size_t size, mmt_gfp_t gfp, int node);
void *mmt_kzalloc(size_t size, mmt_gfp_t gfp);
/*
 * kmalloc_nolock/kfree_nolock (6.18): any context, trylock only (see
 * docs/ARCHITECTURE.md, "The nolock APIs").  @gfp: __GFP_ACCOUNT and
 * __GFP_ZERO only; @node < 0: any.  kmalloc_nolock may fail whenever a
 * lock is busy; kfree_nolock defers what it cannot free now.
 */
void *mmt_kmalloc_nolock(size_t size, mmt_gfp_t gfp, int node);
void mmt_kfree_nolock(const void *p);
/* Give every deferred kfree_nolock object back now; how many wait. */
void mmt_slab_drain_deferred(struct mmt_machine *m);
unsigned long mmt_slab_deferred_objects(struct mmt_machine *m);
void mmt_kfree(const void *p);
size_t mmt_ksize(const void *p);
void *mmt_krealloc(const void *p, size_t new_size, mmt_gfp_t gfp);
void mmt_kfree_bulk(size_t nr, void **p);

/*
 * The memalloc-socket switch that seed 000's slab behaviour hangs on
 * (sk_memalloc_socks()).  Model 3 owns the counter; it (or a test, or a
 * trace) tells the slab layer when the count goes from 0 to 1 and back.
 * On the way to 0 every cache drops pfmemalloc objects from its per-cpu
 * structures, so that no ordinary caller can be handed one.
 */
void mmt_slab_memalloc_socks_changed(struct mmt_machine *m, bool active);
bool mmt_slab_memalloc_socks_active(const struct mmt_machine *m);
/*
 * Is the memory at @obj from the reserves: a slab object of a pfmemalloc
 * slab, or a large kmalloc's pfmemalloc page?  A fact for oracles.
 */
bool mmt_obj_is_pfmemalloc(struct mmt_machine *m, const void *obj);

/* Flush every cache's per-cpu state of @cpu (called on CPU offline). */
void mmt_slab_flush_cpu(struct mmt_machine *m, int cpu);

/* Validators over every cache (machine quiescent); true if all hold. */
bool mmt_slab_is_valid(struct mmt_machine *m);
/* Teardown: report objects still allocated and dead caches left behind. */
bool mmt_slab_teardown_check(struct mmt_machine *m);

/* Per-cache snapshot. */
struct mmt_slab_info {
	const char *name;
	size_t object_size, size;
	unsigned int order, objects_per_slab;
	long live; /* objects handed out and not freed */
	long slabs; /* slabs owned by the cache */
	long free_objects; /* free objects in those slabs */
	bool dead; /* memcg cache whose group went offline */
};
bool mmt_slab_info(const struct mmt_kmem_cache *s, struct mmt_slab_info *out);

#endif /* MMT_SLAB_H */
