/* SPDX-License-Identifier: MIT */
/*
 * alloc/slab.h - private interface between the slab layer's common part
 * (slab_common.c: caches, kmalloc, debugging, accounting, checks) and its
 * implementations (slub.c, slab_array.c, slab_sheaves.c), and the memcg and
 * RCU files.
 *
 * Division of labour.  The common part owns the API: it validates
 * arguments, picks the memcg child cache, runs the debug checks (red zones,
 * poison, free-pointer validity, double free, wrong cache, interior
 * pointers), records who allocated and freed each object, keeps the
 * per-cache live count, and checks pfmemalloc isolation on every object it
 * hands out.  An implementation only moves slots between slabs and its
 * per-cpu/per-node structures, through struct mmt_slab_ops.
 *
 * Object layout inside a slot of s->size bytes (offsets from the slot):
 *
 *   [red_left_pad: red zone][object_size: object][right red zone ...]
 *   [free pointer, if outside the object][track: alloc, free]
 *
 * The pointer the API returns is slot + red_left_pad.  The free pointer
 * lives inside the object (at s->offset, mid-object) unless the object
 * must keep its contents while free (poison, ctor, TYPESAFE_BY_RCU), and
 * is stored obfuscated (value ^ s->random ^ address, as with
 * CONFIG_SLAB_FREELIST_HARDENED).
 *
 * A slab is a (compound, order s->order) page allocation whose head page
 * carries MMT_PG_SLAB and the struct mmt_slab_meta overlay below in its
 * private words.  MMT_PG_PFMEMALLOC on the head means the pages came from
 * the reserves: the slab may serve only entitled callers.
 *
 * Lock order: slab_mutex (cache list) -> implementation locks
 * (kmem_cache_node list_lock) -> pcp->lock -> zone->lock.
 */
#ifndef MMT_SLAB_INTERNAL_H
#define MMT_SLAB_INTERNAL_H

#include <string.h>

#include "internal.h"

/* ---- per-slab metadata, an overlay of the head page's private[] ---- */

struct mmt_slab_meta {
	/* [0] owning cache; atomic: read by lockless page scans */
	struct mmt_kmem_cache *_Atomic cache;
	/*
	 * [1] implementation state.  SLUB packs freelist index, inuse,
	 * objects and frozen into this one word so that __slab_free's
	 * cmpxchg_double becomes a 64-bit compare-exchange; SLAB keeps its
	 * active count here.
	 */
	_Atomic uint64_t state;
	uint32_t next, prev; /* [2] node list links by pfn (list_lock) */
	uint8_t *allocmap; /* [3] one bit per object: handed out (debug) */
	void *impl; /* [4] implementation private */
	uint32_t node; /* [5] node of the pages */
	uint32_t spare;
};

_Static_assert(sizeof(struct mmt_slab_meta) <=
		       sizeof(((struct mmt_page *)0)->private),
	       "slab metadata fits the page's private words");

static inline struct mmt_slab_meta *slab_meta(struct mmt_page *head)
{
	return (struct mmt_slab_meta *)(void *)head->private;
}

/* ---- caches ---- */

struct mmt_slab_ops;
struct mmt_memcg;
struct mmt_memcg_children; /* memcg.c */

struct mmt_kmem_cache {
	char name[48];
	struct mmt_machine *m;
	const struct mmt_slab_ops *ops;
	void *impl; /* per-cpu / per-node structures of the implementation */

	unsigned int flags; /* MMT_SLAB_* (plus the machine's slab_debug) */
	unsigned int object_size; /* what the user asked for */
	unsigned int size; /* slot stride */
	unsigned int align;
	unsigned int red_left_pad;
	unsigned int offset; /* free pointer offset in the slot */
	unsigned int track_offset; /* STORE_USER records, 0 if none */
	unsigned int order, min_order;
	unsigned int objects, min_objects; /* per slab at order / min_order */
	mmt_ctor_fn ctor;
	uint64_t random; /* free pointer obfuscation */
	bool poison; /* objects poisoned while free */
	bool kmalloc; /* one of the kmalloc caches */
	/* per-object debug work at alloc/free: poison, red zones, tracking */
	bool debug_work;
	/* ceil(2^32 / size): slot index by multiplication (slab_common.c) */
	uint32_t size_recip;

	/* memcg: a root cache has children, a child has a root and a group */
	struct mmt_kmem_cache *root;
	struct mmt_memcg *memcg;
	_Atomic bool dead; /* group offline: keep no free slabs */
	/* memcg.c (additive): a root's children by cgroup id, set once */
	_Atomic(struct mmt_memcg_children *) memcg_children;

	long *live_pcpu; /* per-cpu allocs - frees (single writer) */
	_Atomic long nr_slabs;
	_Atomic long nr_slab_pages;
	int refcount; /* under slab_mutex */
	struct mmt_kmem_cache *next; /* machine's cache list, slab_mutex */
	/*
	 * Written since its validator last ran (_mmt_slab_validate_touched):
	 * set by slab_common.c and memcg.c around every call into the
	 * implementation and where a slab comes or goes; one relaxed store.
	 */
	_Atomic bool vdirty;
	/*
	 * Every slab the cache ever had lies in frames [slab_lo, slab_hi]
	 * (slab_lo > slab_hi: none yet): only _mmt_slab_new() names a frame
	 * a slab of the cache, so a validator looking for the cache's slabs
	 * by frame need look nowhere else.  Widened, never narrowed.
	 */
	_Atomic uint32_t slab_lo, slab_hi;
	/*
	 * kmem_cache_args.sheaf_capacity as created (0: the implementation's
	 * default, _mmt_sheaf_default_capacity()), and the prefilled sheaves
	 * handed out and not returned (a destroy with one out is a leak).
	 */
	unsigned int sheaf_capacity;
	_Atomic long nr_prefilled;
};

/*
 * A sheaf: an array of free objects of one cache.  slab_sheaves.c keeps
 * slots in it (counted in their slabs' inuse, not yet handed out); the
 * prefilled-sheaf API of the other implementations keeps objects already
 * allocated through the API (emulated: kernel 6.18's behaviour for a cache
 * without sheaves).  The holder of a prefilled sheaf owns it; a per-cpu or
 * barn sheaf is under its lock.
 */
struct mmt_slab_sheaf {
	struct mmt_kmem_cache *cache;
	struct mmt_slab_sheaf *next; /* barn list, prefilled list */
	unsigned int size, capacity;
	int node; /* prefilled: the node it was filled for; else -1 */
	bool emulated; /* objects allocated through the API */
	struct mmt_rcu_head rcu; /* an rcu_free sheaf waiting for its GP */
	void *objects[];
};

/* The capacity a cache gets without kmem_cache_args.sheaf_capacity. */
unsigned int _mmt_sheaf_default_capacity(unsigned int size);

/* ---- the implementation interface ---- */

struct mmt_slab_ops {
	const char *name; /* "slub", "slab", "sheaves" */
	const char *desc;
	/* Per-cpu / per-node state of a new cache: 0, or -1 (no memory). */
	int (*cache_init)(struct mmt_kmem_cache *s);
	/*
	 * Give every slab back (_mmt_slab_discard) and free the state; the
	 * caller has flushed per-cpu state on every CPU.  Objects still
	 * allocated were reported as leaked by the caller.
	 */
	void (*cache_release)(struct mmt_kmem_cache *s);
	/* Host memory only (machine teardown): no page goes back. */
	void (*cache_free_state)(struct mmt_kmem_cache *s);
	/* A free slot, or NULL.  Entitlement: _mmt_slab_pfmemalloc_ok(). */
	void *(*alloc)(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node);
	/*
	 * Take back @slot of the slab headed by @slab.  false, with nothing
	 * changed, when @slot is the object the implementation would link it
	 * after (the head of the freelist it goes to, the last object of the
	 * array cache): a double free, which even a kernel without debugging
	 * catches there (SLUB's freelist-hardened set_freepointer check).
	 * The common part reports it.
	 */
	bool (*free)(struct mmt_kmem_cache *s, struct mmt_page *slab,
		     void *slot);
	/* Flush per-cpu state of every CPU, discard empty slabs above
	 * min_partial (none for a dead cache). */
	void (*shrink)(struct mmt_kmem_cache *s);
	/* Flush the per-cpu state of @cpu (offline; shrink). */
	void (*flush_cpu)(struct mmt_kmem_cache *s, int cpu);
	/* Memalloc sockets went to 0: drop pfmemalloc objects/slabs from
	 * every per-cpu structure. */
	void (*memalloc_socks_off)(struct mmt_kmem_cache *s);
	/* memcg offline: min_partial 0, no cpu partial, no array caches. */
	void (*mark_dead)(struct mmt_kmem_cache *s);
	/* Does a per-cpu structure of @cpu hold a pfmemalloc object that an
	 * ordinary caller could be handed? (the lingering check) */
	bool (*pfmemalloc_in_percpu)(struct mmt_kmem_cache *s, int cpu);
	/* Expensive validators (machine quiescent); report and return false. */
	bool (*is_valid)(struct mmt_kmem_cache *s);
	/* Free objects held in the cache's slabs and per-cpu structures. */
	long (*free_objects)(struct mmt_kmem_cache *s);
	void (*dump)(struct mmt_kmem_cache *s, FILE *out);
	/*
	 * The prefilled-sheaf API (NULL: slab_common.c emulates it with
	 * objects allocated through the API).  prefill_sheaf: a sheaf with at
	 * least @count free slots (capacity max(count, sheaf capacity)), or
	 * NULL.  refill_sheaf: fill @f (not oversize) to its capacity; -1 if
	 * it then holds fewer than @count (what it got stays).  return_sheaf:
	 * take @f back (refilled into the barn, or flushed and freed).
	 */
	struct mmt_slab_sheaf *(*prefill_sheaf)(struct mmt_kmem_cache *s,
						mmt_gfp_t gfp,
						unsigned int count);
	int (*refill_sheaf)(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			    struct mmt_slab_sheaf *f, unsigned int count);
	void (*return_sheaf)(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			     struct mmt_slab_sheaf *f);
	/*
	 * kvfree_rcu of allocated object @obj through this CPU's rcu_free
	 * sheaf (NULL: none): true if taken; a full sheaf goes to call_rcu
	 * and its objects to _mmt_kvfree_rcu_sheaf_done() after the grace
	 * period.  rcu_sheaf_flush hands every CPU's rcu_free sheaf to
	 * call_rcu (kvfree_rcu_barrier, cache destroy).
	 */
	bool (*kvfree_rcu)(struct mmt_kmem_cache *s, void *obj);
	void (*rcu_sheaf_flush)(struct mmt_kmem_cache *s);
	/*
	 * kmalloc_nolock()/kfree_nolock() (6.18), optional: NULL means the
	 * implementation has none (kmalloc_nolock then fails, kfree_nolock
	 * defers every object to the next ordinary free).  Both run with
	 * cpu->nospin_depth raised: any lock but by trylock is reported.
	 *
	 * alloc_nolock: a free slot by trylock only, never pfmemalloc, its
	 * pages (if any) from alloc_pages_nolock.  NULL with *busy set when
	 * this CPU's per-cpu lock of the cache is held (an interrupt inside
	 * the cache, a flusher): the caller tries the next size class.
	 */
	void *(*alloc_nolock)(struct mmt_kmem_cache *s, mmt_gfp_t gfp, int node,
			      bool *busy);
	/*
	 * free_nolock: take @slot back by trylock only.  MMT_FREE_NOLOCK_DONE;
	 * _BUSY with nothing changed when a lock it needs is held (the common
	 * part defers the object); _REFUSED as ->free's false (double free).
	 */
	int (*free_nolock)(struct mmt_kmem_cache *s, struct mmt_page *slab,
			   void *slot);
};

enum {
	MMT_FREE_NOLOCK_REFUSED = -1,
	MMT_FREE_NOLOCK_BUSY = 0,
	MMT_FREE_NOLOCK_DONE = 1,
};

/*
 * A node list of slabs (SLAB's and sheaves' full/partial/free lists),
 * circular by pfn through the slabs' next/prev words; under the node's
 * list_lock.  tail: append, else push at the head.
 */
struct _mmt_slist {
	uint32_t first; /* MMT_PFN_NONE when empty */
	uint32_t nr;
};
void _mmt_slist_add(struct mmt_machine *m, struct _mmt_slist *l,
		    struct mmt_page *p, bool tail);
void _mmt_slist_del(struct mmt_machine *m, struct _mmt_slist *l,
		    struct mmt_page *p);

extern const struct mmt_slab_ops _mmt_slub_ops; /* slub.c */
extern const struct mmt_slab_ops _mmt_slab_ops; /* slab_array.c */
extern const struct mmt_slab_ops _mmt_sheaves_ops; /* slab_sheaves.c */

/* ---- services of the common part to the implementations ---- */

/*
 * A new slab for @s from the page allocator: order s->order with
 * __GFP_NOWARN|__GFP_NORETRY (no reclaim for the opportunistic order),
 * falling back to s->min_order with @gfp; on @node if >= 0.  The slots are
 * chained in address order through their free pointers (the first slot is
 * returned in *freelist), constructed, poisoned; metadata set (cache,
 * node, allocmap); charged to the memcg of a child cache.  NULL if no
 * pages.  The pages are pfmemalloc if mmt_page_is_pfmemalloc(head).
 */
struct mmt_page *_mmt_slab_new(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			       int node, void **freelist);
/* Inside kmalloc_nolock, _mmt_slab_new takes its pages from alloc_pages_nolock. */
/*
 * A slab fresh from _mmt_slab_new inside kmalloc_nolock that cannot be
 * listed (its list_lock is busy) goes back at once by free_pages_nolock:
 * the kernel defers such a slab's release (defer_deactivate_slab).
 */
void _mmt_slab_discard_fresh_nolock(struct mmt_kmem_cache *s,
				    struct mmt_page *slab);
/* Return a slab with no object in use to the page allocator (after an
 * RCU grace period for TYPESAFE_BY_RCU); uncharges; may end a dead cache. */
void _mmt_slab_discard(struct mmt_kmem_cache *s, struct mmt_page *slab);
static inline unsigned int slab_objects(const struct mmt_kmem_cache *s,
					const struct mmt_page *slab)
{
	return (unsigned int)((MMT_PAGE_SIZE << pg_order(slab)) / s->size);
}
void *_mmt_slab_base(const struct mmt_page *slab);
/* Slot @idx of @slab, and back. */
static inline void *slot_at(const struct mmt_kmem_cache *s, void *base,
			    unsigned int idx)
{
	return (char *)base + (size_t)idx * s->size;
}
static inline unsigned int slot_index(const struct mmt_kmem_cache *s,
				      const void *base, const void *slot)
{
	return (unsigned int)(((const char *)slot - (const char *)base) /
			      s->size);
}

/* Free pointer of a free slot (decoded), and setting it. */
static inline void *_mmt_get_freepointer(const struct mmt_kmem_cache *s,
					 const void *slot)
{
	const char *at = (const char *)slot + s->offset;
	uintptr_t v;

	memcpy(&v, at, sizeof(v));
	return (void *)(v ^ (uintptr_t)s->random ^ (uintptr_t)at);
}

static inline void _mmt_set_freepointer(const struct mmt_kmem_cache *s,
					void *slot, void *next)
{
	char *at = (char *)slot + s->offset;
	uintptr_t v = (uintptr_t)next ^ (uintptr_t)s->random ^ (uintptr_t)at;

	memcpy(at, &v, sizeof(v));
}
/*
 * Is @ptr NULL or a slot of @slab?  Reports "slab-freeptr" at @site when
 * it is not (a corrupted free pointer), so callers stop walking.
 */
bool _mmt_freeptr_ok(struct mmt_kmem_cache *s, struct mmt_page *slab,
		     const void *ptr, const char *site);

/* May this allocation take objects from a pfmemalloc slab? */
static inline bool _mmt_slab_pfmemalloc_ok(mmt_gfp_t gfp)
{
	return _mmt_gfp_pfmemalloc_allowed(_mmt_this_cpu, gfp);
}
static inline bool slab_is_pfmemalloc(const struct mmt_page *slab)
{
	return pg_flags(slab) & MMT_PG_PFMEMALLOC;
}
/* The head page of the slab holding @addr, or NULL if it is not slab memory. */
struct mmt_page *_mmt_virt_to_slab(struct mmt_machine *m, const void *addr);
/* Are memalloc sockets on (sk_memalloc_socks())? */
bool _mmt_memalloc_socks(const struct mmt_machine *m);

/* Cheap per-cache counters for info and leak checks. */
long _mmt_cache_live(const struct mmt_kmem_cache *s);
/* Objects of @s waiting on a kfree_nolock deferred list (a walk). */
long _mmt_cache_deferred(const struct mmt_kmem_cache *s);

/* @s is about to change: its validator must look again. */
static inline void _mmt_cache_touch(struct mmt_kmem_cache *s)
{
	atomic_store_explicit(&s->vdirty, true, memory_order_relaxed);
}
/*
 * The slab validators (mmt_slab_is_valid()) of the touched caches only,
 * and the memcg validator: mmt_machine_validate_touched().
 */
bool _mmt_slab_validate_touched(struct mmt_machine *m);

/* ---- kvfree_rcu.c services to the implementations ---- */

/*
 * The grace period of an rcu_free sheaf ended: free its @nr objects (as
 * kfree does, after the rcu-early-free oracle) and count them done.
 */
void _mmt_kvfree_rcu_sheaf_done(struct mmt_machine *m, void *const *objs,
				unsigned int nr);

/* ---- memcg.c services to the common part ---- */

/* The cache an allocation goes to (the memcg child, created on use). */
struct mmt_kmem_cache *_mmt_memcg_cache_for(struct mmt_kmem_cache *s,
					    mmt_gfp_t gfp);
void _mmt_memcg_charge(struct mmt_memcg *cg, long pages);
/* A dead child cache lost its last slab: destroy it (reparent). */
void _mmt_memcg_cache_empty(struct mmt_kmem_cache *s);
/* memcg validator: charges equal the pages of the groups' slabs. */
bool _mmt_memcg_is_valid(struct mmt_machine *m);
/* Teardown: dead caches still around. */
bool _mmt_memcg_teardown_check(struct mmt_machine *m);
/*
 * -- begin: memcg.c additions (additive contract change) --
 * A child cache returned by _mmt_memcg_cache_for() is pinned so that it
 * cannot be released under the allocation: cache_alloc() calls
 * _mmt_memcg_alloc_done(s) once it is finished with a child (s->memcg set).
 * A free of an object of a child, from the implementation's free call to
 * its return (and an RCU-deferred slab free), is bracketed by
 * _mmt_memcg_free_begin/_end: the tail of a free path that discarded the
 * last slab may still touch the cache.  A dead cache is released only
 * when none of these is in flight.
 */
void _mmt_memcg_alloc_done(struct mmt_kmem_cache *s);
void _mmt_memcg_free_begin(struct mmt_kmem_cache *s);
void _mmt_memcg_free_end(struct mmt_kmem_cache *s);
/*
 * Destroying root @root: release its children (all empty).  false, with a
 * "slab-leak" violation naming the child, if a child still has objects (the
 * caller then keeps the root, as for its own objects).  Call it without
 * slab_mutex held (lock order memcg_mutex -> slab_mutex), before the
 * root's own release; it frees the root's child table.
 */
bool _mmt_memcg_destroy_children(struct mmt_kmem_cache *root);
/* -- end: memcg.c additions -- */

/* ---- slab_common.c services to memcg.c ---- */

/* Create a child of @root for @cg (same geometry), linked in the list. */
struct mmt_kmem_cache *_mmt_kmem_cache_create_child(struct mmt_kmem_cache *root,
						    struct mmt_memcg *cg);
/* memcg.c addition (additive): the same, taking slab_mutex itself. */
struct mmt_kmem_cache *
_mmt_kmem_cache_create_child_locked(struct mmt_kmem_cache *root,
				    struct mmt_memcg *cg);
/* Destroy a cache whose slabs are all gone (no leak report). */
void _mmt_kmem_cache_release(struct mmt_kmem_cache *s);
/* Walk the machine's caches under slab_mutex. */
void _mmt_for_each_cache(struct mmt_machine *m,
			 void (*fn)(struct mmt_kmem_cache *s, void *arg),
			 void *arg);

#endif /* MMT_SLAB_INTERNAL_H */
