/* SPDX-License-Identifier: MIT */
/*
 * alloc/slab_common.c - the object allocator's common part: kmem_cache
 * creation and geometry, kmalloc size classes and large kmalloc, the debug
 * features in the spirit of SLUB debugging, per-object tracking, the live
 * counts, and the checks made on every object handed out or freed.  The
 * implementations (slub.c, slab_array.c) move slots; see alloc/slab.h.
 *
 * Algorithm.  A cache's geometry is fixed at creation (calculate_sizes):
 * alignment (HWCACHE_ALIGN halves the cache line while the object fits in
 * half), red zones, where the free pointer lives, tracking records, the
 * slot stride, and the slab order: the smallest order up to
 * PAGE_ALLOC_COSTLY_ORDER that holds enough objects with at most 1/8
 * waste, and the minimum order that holds one object as the fallback.
 * kmalloc rounds up to the classes 8..8192 (with 96 and 192); larger
 * requests are compound page allocations marked as large kmalloc.
 *
 * Checks on every object (MMT_DEBUG >= 1 keeps a bit per object saying it
 * is handed out): an object handed out twice (slab-double-alloc), freed
 * twice (slab-double-free), freed to the wrong cache, freed by an interior
 * or foreign address (slab-bad-pointer); with POISON, an object written
 * while free (slab-poison); with RED_ZONE, its guards (slab-redzone); and
 * always pfmemalloc isolation: an object of a pfmemalloc slab handed to a
 * caller without the right to the reserves.  Without the bit (MMT_DEBUG
 * 0) a double free is still caught where a kernel without debugging
 * catches it: the implementation refuses an object that is the one it
 * would link it after (ops->free returns false: SLUB's freelist head, the
 * top of SLAB's array cache), and the common part reports it.
 *
 * Fast paths: the slab of an address comes from the address itself (pfn,
 * then the head page), a slot index from the cache's reciprocal of its
 * stride (proved by multiplying back; the exact, reporting path divides),
 * and a cache's per-object debug work (poison, red zones, tracking) is
 * out of line behind one flag (s->debug_work).
 *
 * Invariants: a cache's live count (allocs - frees at the API) equals the
 * objects in use in its slabs (each implementation's validator compares);
 * at teardown every live count is 0.
 *
 * Locks: slab_mutex (a model mutex: cache create/destroy may sleep)
 * protects the cache list; the bits of the allocation map are atomic (a
 * remote free and a local allocation touch one slab at once).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "slab.h"

#define MMT_PG_LARGE_KMALLOC (1u << 10) /* head of a large kmalloc */
#define MMT_SLAB_MAX_SIZE (MMT_PAGE_SIZE << MMT_PAGE_ALLOC_COSTLY_ORDER)
#define ZERO_SIZE_PTR ((void *)16)

static const unsigned int kmalloc_sizes[] = { 8,    16,	  32,  64,  96,
					      128,  192,  256, 512, 1024,
					      2048, 4096, 8192 };
#define NR_KMALLOC MMT_ARRAY_SIZE(kmalloc_sizes)
/* Their names, as a table: a machine's set-up formats nothing. */
static const char *const kmalloc_names[] = {
	"kmalloc-8",   "kmalloc-16",   "kmalloc-32",   "kmalloc-64",
	"kmalloc-96",  "kmalloc-128",  "kmalloc-192",  "kmalloc-256",
	"kmalloc-512", "kmalloc-1024", "kmalloc-2048", "kmalloc-4096",
	"kmalloc-8192"
};
_Static_assert(MMT_ARRAY_SIZE(kmalloc_names) == NR_KMALLOC,
	       "a name per kmalloc size");

struct mmt_slab_state {
	mmt_mutex_t slab_mutex;
	struct mmt_kmem_cache *caches;
	struct mmt_kmem_cache *kmalloc[NR_KMALLOC];
	_Atomic bool memalloc_socks;
	const struct mmt_slab_ops *ops;
	pthread_mutex_t rcu_mu; /* pending rcu_slabs (host memory only) */
	struct rcu_slab *rcu_pending;
};

/* What a STORE_USER cache records per object, twice (alloc, free). */
struct track {
	const void *caller; /* return address of the API call */
	uint64_t op_index; /* the interpreter's operation, if any */
	int cpu;
	int valid;
};

static MMT_LOCK_CLASS(slab_mutex_class, "slab_mutex", MMT_LOCK_MUTEX);

static const struct mmt_slab_ops *const impls[MMT_NR_SLAB_IMPLS] = {
	[MMT_SLAB_SLUB] = &_mmt_slub_ops,
	[MMT_SLAB_SLAB] = &_mmt_slab_ops,
	[MMT_SLAB_SHEAVES] = &_mmt_sheaves_ops,
};

/* ---- helpers ---- */

static inline struct mmt_cpu *cur_cpu(void)
{
	return _mmt_cpu_or_report(MMT_SITE);
}

static unsigned int align_up(unsigned int x, unsigned int a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

bool _mmt_memalloc_socks(const struct mmt_machine *m)
{
	return atomic_load_explicit(&m->slab->memalloc_socks,
				    memory_order_relaxed);
}

void *_mmt_slab_base(const struct mmt_page *slab)
{
	return mmt_page_address(slab);
}

long _mmt_cache_live(const struct mmt_kmem_cache *s)
{
	long sum = 0;
	int c;

	for (c = 0; c < s->m->nr_cpus; c++)
		sum += atomic_load_explicit((_Atomic long *)&s->live_pcpu[c],
					    memory_order_relaxed);
	return sum;
}

static inline void live_add(struct mmt_kmem_cache *s, struct mmt_cpu *cpu,
			    long n)
{
	_Atomic long *l = (_Atomic long *)&s->live_pcpu[cpu->id];

	/* Single writer per CPU: load + store, no locked add. */
	atomic_store_explicit(l,
			      atomic_load_explicit(l, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ---- free pointers ---- */

bool _mmt_freeptr_ok(struct mmt_kmem_cache *s, struct mmt_page *slab,
		     const void *ptr, const char *site)
{
	const char *base = _mmt_slab_base(slab), *p = ptr;
	size_t span = MMT_PAGE_SIZE << pg_order(slab);

	if (!ptr)
		return true;
	if (MMT_LIKELY(p >= base &&
		       p < base + slab_objects(s, slab) * (size_t)s->size &&
		       (size_t)(p - base) % s->size == 0))
		return true;
	return _mmt_violation(
		s->m, "slab-freeptr", site,
		"cache %s: free pointer in slab at %p (pfn %lu, %zu bytes) decodes to %p, "
		"which is no slot of the slab: a free object was overwritten",
		s->name, (const void *)base, mmt_page_to_pfn(slab), span, ptr);
}

/* ---- geometry ---- */

static unsigned int calculate_alignment(unsigned int flags, unsigned int align,
					unsigned int size)
{
	if (flags & MMT_SLAB_HWCACHE_ALIGN) {
		unsigned int ralign = MMT_CACHE_LINE;

		while (size <= ralign / 2)
			ralign /= 2;
		if (ralign > align)
			align = ralign;
	}
	return align < sizeof(void *) ? sizeof(void *) : align;
}

static bool calculate_sizes(struct mmt_kmem_cache *s)
{
	unsigned int off, o, min_objects;

	s->red_left_pad = (s->flags & MMT_SLAB_RED_ZONE) ?
				  align_up(sizeof(void *), s->align) :
				  0;
	off = s->red_left_pad + s->object_size;
	if (s->flags & MMT_SLAB_RED_ZONE) {
		unsigned int right = align_up(s->object_size, sizeof(void *)) -
				     s->object_size;

		off += right ? right : sizeof(void *);
	}
	/* Objects that must keep their bytes while free get an outside pointer. */
	if (s->poison || s->ctor || (s->flags & MMT_SLAB_TYPESAFE_BY_RCU) ||
	    s->object_size < sizeof(void *)) {
		s->offset = align_up(off, sizeof(void *));
		off = s->offset + sizeof(void *);
	} else {
		s->offset =
			s->red_left_pad + ((s->object_size / 2) &
					   ~(unsigned int)(sizeof(void *) - 1));
	}
	if (s->flags & MMT_SLAB_STORE_USER) {
		s->track_offset = align_up(off, sizeof(void *));
		off = s->track_offset + 2 * sizeof(struct track);
	}
	s->size = align_up(off, s->align);
	if (s->size > MMT_SLAB_MAX_SIZE)
		return false;

	/* Enough objects per slab that a CPU does not refill constantly. */
	min_objects =
		4u *
		(unsigned int)(32 - __builtin_clz((unsigned int)s->m->nr_cpus) +
			       1);
	if (min_objects > 32)
		min_objects = 32;
	s->min_order = 0;
	while ((MMT_PAGE_SIZE << s->min_order) < s->size)
		s->min_order++;
	s->order = s->min_order;
	for (o = s->min_order; o <= MMT_PAGE_ALLOC_COSTLY_ORDER; o++) {
		size_t slab = MMT_PAGE_SIZE << o;
		size_t n = slab / s->size, waste = slab - n * s->size;

		s->order = o;
		if (n >= min_objects && waste * 8 <= slab)
			break;
	}
	s->objects = (unsigned int)((MMT_PAGE_SIZE << s->order) / s->size);
	s->min_objects =
		(unsigned int)((MMT_PAGE_SIZE << s->min_order) / s->size);
	s->size_recip = (uint32_t)(((1ull << 32) + s->size - 1) / s->size);
	s->debug_work = s->poison || (s->flags & MMT_SLAB_RED_ZONE) ||
			s->track_offset;
	return s->objects < 0xffff;
}

/* ---- slabs ---- */

static void init_slot(struct mmt_kmem_cache *s, char *slot)
{
	if (s->flags & MMT_SLAB_RED_ZONE) {
		memset(slot, MMT_POISON_REDZONE, s->red_left_pad);
		memset(slot + s->red_left_pad + s->object_size,
		       MMT_POISON_REDZONE,
		       (s->offset > s->red_left_pad + s->object_size ?
				s->offset :
				s->size) -
			       (s->red_left_pad + s->object_size));
	}
	if (s->poison)
		memset(slot + s->red_left_pad, MMT_POISON_OBJ_FREE,
		       s->object_size);
	if (s->ctor)
		s->ctor(slot + s->red_left_pad);
	if (s->track_offset)
		memset(slot + s->track_offset, 0, 2 * sizeof(struct track));
}

/*
 * A slab header back to zero.  cache and state are read without a lock by
 * a scan over every page (a cache's leaked full slabs at destroy, while
 * other CPUs make and free slabs of other caches): they are atomics and
 * are stored as such, never by memset (a plain write that the scan's read
 * races, as ThreadSanitizer reported on slab-mt).
 */
static void meta_reset(struct mmt_slab_meta *meta)
{
	atomic_store_explicit(&meta->cache, NULL, memory_order_relaxed);
	atomic_store_explicit(&meta->state, 0, memory_order_relaxed);
	meta->next = meta->prev = 0;
	meta->allocmap = NULL;
	meta->impl = NULL;
	meta->node = 0;
	meta->spare = 0;
}

/* A new slab at @pfn: [slab_lo, slab_hi] must hold it (slab.h). */
static void widen_slab_range(struct mmt_kmem_cache *s, uint32_t pfn)
{
	uint32_t lo = atomic_load_explicit(&s->slab_lo, memory_order_relaxed);
	uint32_t hi = atomic_load_explicit(&s->slab_hi, memory_order_relaxed);

	while (pfn < lo && !atomic_compare_exchange_weak_explicit(
				   &s->slab_lo, &lo, pfn, memory_order_relaxed,
				   memory_order_relaxed))
		;
	while (pfn > hi && !atomic_compare_exchange_weak_explicit(
				   &s->slab_hi, &hi, pfn, memory_order_relaxed,
				   memory_order_relaxed))
		;
}

struct mmt_page *_mmt_slab_new(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			       int node, void **freelist)
{
	mmt_gfp_t base_gfp = (gfp & ~(__GFP_ZERO | __GFP_ACCOUNT)) | __GFP_COMP;
	struct mmt_page *page = NULL;
	struct mmt_slab_meta *meta;
	unsigned int order = s->order, i, n;
	char *base;

	if (MMT_UNLIKELY(_mmt_this_cpu->nospin_depth)) {
		/* kmalloc_nolock: trylock pages, the cache's order only. */
		page = mmt_alloc_pages_nolock(gfp & __GFP_ACCOUNT, node, order);
		if (!page)
			return NULL;
	} else if (s->order > s->min_order) {
		mmt_gfp_t opportunistic =
			(base_gfp | __GFP_NOWARN | __GFP_NORETRY) &
			~__GFP_NOFAIL;

		page = node >= 0 ? mmt_alloc_pages_node(node, opportunistic,
							order) :
				   mmt_alloc_pages(opportunistic, order);
	}
	/*
	 * SLUB's allocate_slab() retries at s->min when the preferred order
	 * fails (fragmentation); the injected bug
	 * (MMT_BUG_SLUB_NO_MIN_ORDER_FALLBACK) gives up there, so SLUB alone
	 * returns NULL where the others grow a slab of the smallest order:
	 * only the differential runs see it ("slab-divergence").
	 */
	if (MMT_UNLIKELY(!page && order != s->min_order &&
			 s->ops == &_mmt_slub_ops &&
			 mmt_bug_on(s->m, MMT_BUG_SLUB_NO_MIN_ORDER_FALLBACK) &&
			 mmt_bug_hit(s->m, MMT_BUG_SLUB_NO_MIN_ORDER_FALLBACK,
				     true)))
		return NULL;
	if (!page) {
		order = s->min_order;
		page = node >= 0 ? mmt_alloc_pages_node(node, base_gfp, order) :
				   mmt_alloc_pages(base_gfp, order);
	}
	if (!page)
		return NULL;
	pg_set_flags(page, pg_flags(page) | MMT_PG_SLAB);
	meta = slab_meta(page);
	meta_reset(meta);
	atomic_store_explicit(&meta->cache, s, memory_order_relaxed);
	meta->next = meta->prev = MMT_PFN_NONE;
	meta->node = (uint32_t)mmt_page_to_nid(page);
	n = slab_objects(s, page);
#if MMT_DEBUG >= 1
	meta->allocmap = calloc((n + 7) / 8, 1);
#endif
	base = _mmt_slab_base(page);
	for (i = 0; i < n; i++) {
		char *slot = slot_at(s, base, i);

		init_slot(s, slot);
		_mmt_set_freepointer(
			s, slot, i + 1 < n ? slot_at(s, base, i + 1) : NULL);
	}
	*freelist = base;
	_mmt_cache_touch(s);
	widen_slab_range(s, (uint32_t)_mmt_pfn(s->m, page));
	atomic_fetch_add_explicit(&s->nr_slabs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->nr_slab_pages, 1l << order,
				  memory_order_relaxed);
	if (s->memcg)
		_mmt_memcg_charge(s->memcg, 1l << order);
	return page;
}

/*
 * A TYPESAFE_BY_RCU slab waiting for its grace period.  The pending ones
 * are listed so that a machine torn down mid-grace-period frees them (the
 * RCU layer never touches a queued head at teardown).
 */
struct rcu_slab {
	struct mmt_rcu_head head; /* first: the callback casts back */
	struct mmt_kmem_cache *s;
	struct mmt_page *page;
	struct rcu_slab *prev, *next;
};

/* @nolock: by free_pages_nolock (kmalloc_nolock's fresh slab). */
static void free_slab_pages(struct mmt_kmem_cache *s, struct mmt_page *page,
			    bool nolock)
{
	unsigned int order = pg_order(page);
	bool last;

	_mmt_cache_touch(s);
	free(slab_meta(page)->allocmap);
	free(slab_meta(page)->impl);
	meta_reset(slab_meta(page));
	pg_set_flags(page, pg_flags(page) & ~MMT_PG_SLAB);
	if (nolock)
		mmt_free_pages_nolock(page, order);
	else
		mmt_free_pages(page, order);
	atomic_fetch_sub_explicit(&s->nr_slab_pages, 1l << order,
				  memory_order_relaxed);
	if (s->memcg)
		_mmt_memcg_charge(s->memcg, -(1l << order));
	last = atomic_fetch_sub_explicit(&s->nr_slabs, 1,
					 memory_order_acq_rel) == 1;
	if (last && atomic_load_explicit(&s->dead, memory_order_acquire))
		_mmt_memcg_cache_empty(s);
}

static void rcu_pending_link(struct mmt_slab_state *st, struct rcu_slab *r,
			     bool add)
{
	pthread_mutex_lock(&st->rcu_mu);
	if (add) {
		r->prev = NULL;
		r->next = st->rcu_pending;
		if (r->next)
			r->next->prev = r;
		st->rcu_pending = r;
	} else {
		if (r->prev)
			r->prev->next = r->next;
		else
			st->rcu_pending = r->next;
		if (r->next)
			r->next->prev = r->prev;
	}
	pthread_mutex_unlock(&st->rcu_mu);
}

static void rcu_free_slab(struct mmt_rcu_head *head)
{
	struct rcu_slab *r = (struct rcu_slab *)head;
	struct mmt_kmem_cache *s = r->s;
	bool child = s->memcg != NULL; /* memcg.c addition */

	if (child)
		_mmt_memcg_free_begin(s); /* memcg.c addition */
	rcu_pending_link(s->m->slab, r, false);
	free_slab_pages(s, r->page, false);
	free(r);
	if (child)
		_mmt_memcg_free_end(s); /* memcg.c addition */
}

void _mmt_slab_discard(struct mmt_kmem_cache *s, struct mmt_page *slab)
{
	if (s->flags & MMT_SLAB_TYPESAFE_BY_RCU) {
		struct rcu_slab *r = malloc(sizeof(*r));

		if (r) {
			/* Readers may still look at objects: pages go later. */
			r->s = s;
			r->page = slab;
			rcu_pending_link(s->m->slab, r, true);
			mmt_call_rcu(&r->head, rcu_free_slab);
			return;
		}
		mmt_synchronize_rcu();
	}
	free_slab_pages(s, slab, false);
}

void _mmt_slab_discard_fresh_nolock(struct mmt_kmem_cache *s,
				    struct mmt_page *slab)
{
	/* No object was ever handed out: no RCU reader can look at it. */
	free_slab_pages(s, slab, true);
}

/*
 * The head page of the slab holding @addr and the slab's first byte in
 * *@base; NULL if @addr is no slab memory.  From the address: no division
 * by the descriptor size.
 */
static MMT_ALWAYS_INLINE struct mmt_page *
addr_to_slab(const struct mmt_machine *m, const void *addr, char **base)
{
	uintptr_t off = (uintptr_t)addr - (uintptr_t)m->arena;
	unsigned long pfn;
	struct mmt_page *page;
	uint32_t f;

	if (MMT_UNLIKELY(off >= m->arena_size))
		return NULL;
	pfn = off >> MMT_PAGE_SHIFT;
	page = &m->pages[pfn];
	f = pg_flags(page);
	if (f & MMT_PG_TAIL) {
		pfn ^= page->head_x; /* pg_head() */
		if (MMT_UNLIKELY(pfn >= m->nr_pages))
			return NULL;
		page = &m->pages[pfn];
		f = pg_flags(page);
	}
	if (MMT_UNLIKELY(!(f & MMT_PG_SLAB)))
		return NULL;
	*base = (char *)m->arena + (pfn << MMT_PAGE_SHIFT);
	return page;
}

struct mmt_page *_mmt_virt_to_slab(struct mmt_machine *m, const void *addr)
{
	char *base;

	return addr_to_slab(m, addr, &base);
}

/* ---- caches ---- */

static struct mmt_kmem_cache *
cache_alloc_struct(struct mmt_machine *m, const char *name, unsigned int size,
		   unsigned int align, unsigned int flags, mmt_ctor_fn ctor,
		   unsigned int sheaf_capacity)
{
	/* One block: the cache, then its per-cpu live counts. */
	struct mmt_kmem_cache *s =
		calloc(1, sizeof(*s) + (size_t)m->nr_cpus * sizeof(long));
	static _Atomic uint64_t seed = 0x5eed;
	size_t len = strnlen(name, sizeof(s->name) - 1);
	uint64_t st;

	if (!s)
		return NULL;
	s->live_pcpu = (long *)(void *)(s + 1);
	memcpy(s->name, name, len); /* truncated as snprintf would; 0 ends */
	s->m = m;
	s->ops = m->slab->ops;
	if (m->cfg.slab_debug)
		flags |= MMT_SLAB_POISON | MMT_SLAB_RED_ZONE |
			 MMT_SLAB_STORE_USER;
	s->flags = flags;
	s->object_size = size;
	s->ctor = ctor;
	s->sheaf_capacity = sheaf_capacity;
	s->align = calculate_alignment(flags, align, size);
	s->poison = (flags & MMT_SLAB_POISON) && !ctor &&
		    !(flags & MMT_SLAB_TYPESAFE_BY_RCU);
	st = atomic_fetch_add_explicit(&seed, 1, memory_order_relaxed);
	s->random = splitmix(&st) | 1;
	_mmt_cache_touch(s);
	atomic_init(&s->slab_lo, UINT32_MAX); /* no slab yet */
	if (!calculate_sizes(s) || s->ops->cache_init(s)) {
		free(s);
		return NULL;
	}
	return s;
}

static void cache_free_struct(struct mmt_kmem_cache *s)
{
	free(s); /* live_pcpu with it */
}

static void link_cache(struct mmt_slab_state *st, struct mmt_kmem_cache *s)
{
	s->next = st->caches;
	st->caches = s;
}

static void unlink_cache(struct mmt_slab_state *st, struct mmt_kmem_cache *s)
{
	struct mmt_kmem_cache **pp;

	for (pp = &st->caches; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

/*
 * The sheaf capacity of a cache created without one: the largest power of
 * two of objects that fills at most two pages, clamped to 4..32 (64-byte
 * objects 32, 512 16, 1024 8, 2048 and up 4).  Kernel 7.0 gives every
 * cache a capacity computed from its object size (so that the sheaf
 * structure fills a kmalloc bucket); the model keeps that shape - small
 * objects get large sheaves, large objects small ones - with a rule that
 * is easy to state and to test.
 */
unsigned int _mmt_sheaf_default_capacity(unsigned int size)
{
	unsigned int want = 2 * MMT_PAGE_SIZE / size, cap = 1;

	while (cap * 2 <= want)
		cap *= 2;
	return cap < 4 ? 4 : cap > 32 ? 32 : cap;
}

struct mmt_kmem_cache *mmt_kmem_cache_create(const char *name, size_t size,
					     size_t align, unsigned int flags,
					     mmt_ctor_fn ctor)
{
	struct mmt_kmem_cache_args args = {
		.align = align,
		.flags = flags,
		.ctor = ctor,
	};

	return mmt_kmem_cache_create_args(name, size, &args);
}

struct mmt_kmem_cache *
mmt_kmem_cache_create_args(const char *name, size_t size,
			   const struct mmt_kmem_cache_args *args)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_machine *m = cpu->m;
	struct mmt_kmem_cache *s;
	size_t align = args->align;
	unsigned int flags = args->flags;

	_mmt_might_sleep(MMT_SITE);
	if (!name || !*name || size == 0 || size > MMT_SLAB_MAX_SIZE / 2 ||
	    (align & (align - 1)) || align > MMT_PAGE_SIZE ||
	    (flags & ~(unsigned int)MMT_SLAB_VALID_FLAGS) ||
	    args->sheaf_capacity > MMT_SHEAF_MAX_CAPACITY) {
		mmt_violation(
			m, "slab-bad-argument",
			"kmem_cache_create(\"%s\", size %zu, align %zu, flags 0x%x, sheaf_capacity %u): %s",
			name ? name : "(null)", size, align, flags,
			args->sheaf_capacity,
			!name || !*name ?
				"no name" :
			size == 0 || size > MMT_SLAB_MAX_SIZE / 2 ?
				"size out of range 1..16384" :
			(align & (align - 1)) || align > MMT_PAGE_SIZE ?
				"alignment is not a power of two up to a page" :
			args->sheaf_capacity > MMT_SHEAF_MAX_CAPACITY ?
				"sheaf_capacity above 255" :
				"unknown flags");
		return NULL;
	}
	s = cache_alloc_struct(m, name, (unsigned int)size, (unsigned int)align,
			       flags, args->ctor, args->sheaf_capacity);
	if (!s)
		return NULL;
	s->refcount = 1;
	mmt_mutex_lock(&m->slab->slab_mutex);
	link_cache(m->slab, s);
	mmt_mutex_unlock(&m->slab->slab_mutex);
	return s;
}

struct mmt_kmem_cache *_mmt_kmem_cache_create_child(struct mmt_kmem_cache *root,
						    struct mmt_memcg *cg)
{
	struct mmt_machine *m = root->m;
	struct mmt_kmem_cache *s;
	char name[sizeof(root->name)];

	/* Truncated to the cache name's size, like the kernel's. */
	snprintf(name, sizeof(name), "%.24s(%.20s)", root->name,
		 mmt_memcg_name(cg));
	s = cache_alloc_struct(m, name, root->object_size, root->align,
			       root->flags & ~MMT_SLAB_ACCOUNT, root->ctor,
			       root->sheaf_capacity);
	if (!s)
		return NULL;
	s->root = root;
	s->memcg = cg;
	s->kmalloc = root->kmalloc;
	s->refcount = 1;
	link_cache(m->slab, s); /* the caller holds slab_mutex */
	return s;
}

/* -- memcg.c addition (additive): create_child with slab_mutex taken -- */
struct mmt_kmem_cache *
_mmt_kmem_cache_create_child_locked(struct mmt_kmem_cache *root,
				    struct mmt_memcg *cg)
{
	struct mmt_kmem_cache *s;

	mmt_mutex_lock(&root->m->slab->slab_mutex);
	s = _mmt_kmem_cache_create_child(root, cg);
	mmt_mutex_unlock(&root->m->slab->slab_mutex);
	return s;
}

static void flush_all_cpus(struct mmt_kmem_cache *s)
{
	int c;

	_mmt_cache_touch(s);
	for (c = 0; c < s->m->nr_cpus; c++)
		s->ops->flush_cpu(s, c);
}

void _mmt_kmem_cache_release(struct mmt_kmem_cache *s)
{
	flush_all_cpus(s);
	s->ops->cache_release(s);
	unlink_cache(s->m->slab, s);
	cache_free_struct(s);
}

void mmt_kmem_cache_destroy(struct mmt_kmem_cache *s)
{
	struct mmt_machine *m;
	long live;

	if (!s)
		return;
	m = s->m;
	_mmt_might_sleep(MMT_SITE);
	if (s->kmalloc || s->root) {
		mmt_violation(
			m, "slab-bad-argument",
			"kmem_cache_destroy(%s): not a cache the caller created",
			s->name);
		return;
	}
	/*
	 * Objects waiting in rcu_free sheaves (slab=sheaves) are still
	 * allocated: wait for them as 7.0's kmem_cache_destroy does
	 * (kvfree_rcu_barrier_on_cache; the model waits for every cache's).
	 */
	if (s->ops->rcu_sheaf_flush && s->refcount == 1)
		mmt_kvfree_rcu_barrier(m);
	/*
	 * memcg children first (lock order memcg_mutex -> slab_mutex): if one
	 * still has objects it reports the leak and the root stays.
	 */
	if (s->refcount == 1 && !_mmt_memcg_destroy_children(s))
		return;
	mmt_mutex_lock(&m->slab->slab_mutex);
	if (--s->refcount > 0) {
		mmt_mutex_unlock(&m->slab->slab_mutex);
		return;
	}
	flush_all_cpus(s);
	live = _mmt_cache_live(s);
	if (MMT_UNLIKELY(atomic_load_explicit(&s->nr_prefilled,
					      memory_order_relaxed))) {
		mmt_violation(
			m, "slab-leak",
			"kmem_cache_destroy(%s): %ld prefilled sheaf(s) not returned; the cache is kept",
			s->name,
			atomic_load_explicit(&s->nr_prefilled,
					     memory_order_relaxed));
		s->refcount = 1;
		mmt_mutex_unlock(&m->slab->slab_mutex);
		return;
	}
	if (live) {
		/* The kernel keeps such a cache around; so does the model. */
		mmt_violation(
			m, "slab-leak",
			"kmem_cache_destroy(%s): %ld object(s) still allocated; the cache is kept",
			s->name, live);
		s->refcount = 1;
		mmt_mutex_unlock(&m->slab->slab_mutex);
		return;
	}
	/* TYPESAFE_BY_RCU: readers may still hold objects (rcu_barrier()). */
	s->ops->cache_release(s);
	unlink_cache(m->slab, s);
	mmt_mutex_unlock(&m->slab->slab_mutex);
	if (s->flags & MMT_SLAB_TYPESAFE_BY_RCU)
		mmt_rcu_barrier(m);
	cache_free_struct(s);
}

int mmt_kmem_cache_shrink(struct mmt_kmem_cache *s)
{
	if (s) {
		mmt_slab_drain_deferred(s->m);
		_mmt_cache_touch(s);
		s->ops->shrink(s);
	}
	return 0;
}

const char *mmt_kmem_cache_name(const struct mmt_kmem_cache *s)
{
	return s->name;
}

size_t mmt_kmem_cache_size(const struct mmt_kmem_cache *s)
{
	return s->object_size;
}

/* ---- tracking and debug checks ---- */

/* The allocation map exists from MMT_DEBUG 1 (_mmt_slab_new()). */
#if MMT_DEBUG >= 1
static inline bool map_test_and_set(struct mmt_page *slab, unsigned int idx,
				    bool set)
{
	_Atomic uint8_t *map = (_Atomic uint8_t *)slab_meta(slab)->allocmap;
	uint8_t bit = (uint8_t)(1u << (idx & 7)), old;

	if (!map)
		return !set; /* no map (MMT_DEBUG 0): assume the expected state */
	if (set)
		old = atomic_fetch_or_explicit(&map[idx / 8], bit,
					       memory_order_relaxed);
	else
		old = atomic_fetch_and_explicit(&map[idx / 8], (uint8_t)~bit,
						memory_order_relaxed);
	return old & bit;
}
#endif

static void set_track(struct mmt_kmem_cache *s, char *slot, int which,
		      const void *caller, struct mmt_cpu *cpu)
{
	/* The interpreter's current operation, stored relaxed by another
	 * thread or fiber (mmt_machine_set_op): a label, no ordering. */
	struct track t = { caller,
			   __atomic_load_n(&s->m->op_index, __ATOMIC_RELAXED),
			   cpu->id, 1 };

	memcpy(slot + s->track_offset + (size_t)which * sizeof(t), &t,
	       sizeof(t));
}

static void describe_track(struct mmt_kmem_cache *s, const char *slot,
			   char *buf, size_t len)
{
	struct track a, f;

	if (!s->track_offset) {
		snprintf(buf, len, "(no STORE_USER record)");
		return;
	}
	memcpy(&a, slot + s->track_offset, sizeof(a));
	memcpy(&f, slot + s->track_offset + sizeof(a), sizeof(f));
	snprintf(
		buf, len,
		"last allocated by %p on cpu %d at operation #%llu%s; last freed by %p on cpu %d at operation #%llu%s",
		a.caller, a.cpu, (unsigned long long)a.op_index,
		a.valid ? "" : " (never)", f.caller, f.cpu,
		(unsigned long long)f.op_index, f.valid ? "" : " (never)");
}

static MMT_COLD bool report_bytes(struct mmt_kmem_cache *s, const char *slot,
				  unsigned int i, uint8_t want,
				  const char *check, const char *what)
{
	char who[256];

	describe_track(s, slot, who, sizeof(who));
	return mmt_violation(
		s->m, check,
		"cache %s object %p: %s byte %u is 0x%02x, expected 0x%02x; %s",
		s->name, (const void *)(slot + s->red_left_pad), what,
		i - s->red_left_pad, (uint8_t)slot[i], want, who);
}

/* Every byte of slot[from..to) is @want (poison, red zone), or report. */
static inline bool check_bytes(struct mmt_kmem_cache *s, const char *slot,
			       unsigned int from, unsigned int to, uint8_t want,
			       const char *check, const char *what)
{
	unsigned int i;

	if (from >= to)
		return true;
	i = from +
	    (unsigned int)_mmt_mem_first_not(slot + from, want, to - from);
	if (MMT_LIKELY(i == to))
		return true;
	return report_bytes(s, slot, i, want, check, what);
}

static inline void check_redzones(struct mmt_kmem_cache *s, const char *slot)
{
	unsigned int end = s->red_left_pad + s->object_size;
	unsigned int right =
		s->offset > end ? s->offset :
				  (s->track_offset ? s->track_offset : s->size);

	if (!(s->flags & MMT_SLAB_RED_ZONE))
		return;
	check_bytes(s, slot, 0, s->red_left_pad, MMT_POISON_REDZONE,
		    "slab-redzone", "left red zone");
	check_bytes(s, slot, end, right, MMT_POISON_REDZONE, "slab-redzone",
		    "right red zone");
}

/* ---- allocation ---- */

static MMT_COLD void report_pfmemalloc(struct mmt_kmem_cache *s,
				       struct mmt_cpu *cpu, void *obj,
				       mmt_gfp_t gfp)
{
	char g[160];

	mmt_gfp_format(gfp, g, sizeof(g));
	mmt_violation(
		s->m, "pfmemalloc-isolation",
		"cache %s handed object %p of a pfmemalloc slab to task %s (flags 0x%x) on cpu %d "
		"with %s, which has no right to the reserves",
		s->name, obj, cpu->curr->name, cpu->curr->flags, cpu->id, g);
}

static MMT_COLD void *report_not_a_slot(struct mmt_kmem_cache *s, void *slot)
{
	mmt_violation(
		s->m, "slab-inuse",
		"cache %s: its allocator returned %p, not a slot of its slabs",
		s->name, slot);
	return NULL;
}

#if MMT_DEBUG >= 1
static MMT_COLD void report_double_alloc(struct mmt_kmem_cache *s,
					 const char *slot)
{
	char who[256];

	describe_track(s, slot, who, sizeof(who));
	mmt_violation(
		s->m, "slab-double-alloc",
		"cache %s handed out object %p which is already allocated; %s",
		s->name, (const void *)(slot + s->red_left_pad), who);
}
#endif

/* Poison, red zones and the allocation record of a debug cache. */
static MMT_NOINLINE void alloc_debug(struct mmt_kmem_cache *s,
				     struct mmt_cpu *cpu, char *slot,
				     const void *caller)
{
	if (s->poison)
		check_bytes(s, slot, s->red_left_pad,
			    s->red_left_pad + s->object_size,
			    MMT_POISON_OBJ_FREE, "slab-poison",
			    "poisoned (free) object");
	check_redzones(s, slot);
	if (s->track_offset)
		set_track(s, slot, 0, caller, cpu);
}

/*
 * The checks on every object handed out.  The slab comes from the address
 * (is it one of this cache's slots?); the allocation map exists from
 * MMT_DEBUG 1; the debug work of poison, red zones and tracking is out of
 * line, behind one flag.
 */
static MMT_ALWAYS_INLINE void *slab_post_alloc(struct mmt_kmem_cache *s,
					       struct mmt_cpu *cpu, char *slot,
					       mmt_gfp_t gfp,
					       const void *caller)
{
	struct mmt_page *slab;
	char *obj = slot + s->red_left_pad, *base;

	slab = addr_to_slab(s->m, slot, &base);
	if (MMT_UNLIKELY(!slab || slab_meta(slab)->cache != s))
		return report_not_a_slot(s, slot);
#if MMT_DEBUG >= 1
	if (MMT_UNLIKELY(
		    map_test_and_set(slab, slot_index(s, base, slot), true)))
		report_double_alloc(s, slot);
#endif
	if (MMT_UNLIKELY(slab_is_pfmemalloc(slab)) &&
	    !_mmt_slab_pfmemalloc_ok(gfp))
		report_pfmemalloc(s, cpu, obj, gfp);
	if (MMT_UNLIKELY(s->debug_work))
		alloc_debug(s, cpu, slot, caller);
	if (MMT_UNLIKELY(gfp & __GFP_ZERO))
		memset(obj, 0, s->object_size);
	live_add(s, cpu, 1);
	return obj;
}

static MMT_COLD void *alloc_failed(struct mmt_kmem_cache *s, mmt_gfp_t gfp)
{
	if (gfp & __GFP_NOFAIL)
		mmt_violation(
			s->m, "nofail-failed",
			"kmem_cache_alloc(%s) with __GFP_NOFAIL returned NULL",
			s->name);
	if (MMT_UNLIKELY(s->memcg))
		_mmt_memcg_alloc_done(s); /* memcg.c addition */
	return NULL;
}

static MMT_COLD mmt_gfp_t report_gfp_bits(struct mmt_kmem_cache *s,
					  mmt_gfp_t gfp)
{
	mmt_violation(s->m, "gfp-unknown-bit",
		      "kmem_cache_alloc(%s, gfp 0x%x): unknown GFP bits",
		      s->name, gfp);
	return gfp & MMT_GFP_VALID_MASK;
}

static MMT_ALWAYS_INLINE void *cache_alloc(struct mmt_kmem_cache *s,
					   mmt_gfp_t gfp, int node,
					   const void *caller)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	void *slot, *obj;

	if (MMT_UNLIKELY(gfp & ~MMT_GFP_VALID_MASK))
		gfp = report_gfp_bits(s, gfp);
	gfp = _mmt_gfp_context(cpu, gfp);
	if (gfp & __GFP_DIRECT_RECLAIM) {
		_mmt_might_sleep_on(cpu, MMT_SITE); /* might_alloc() */
		_mmt_fs_reclaim_might(cpu, gfp, MMT_SITE);
	}
	if (MMT_UNLIKELY((gfp & __GFP_ACCOUNT) ||
			 (s->flags & MMT_SLAB_ACCOUNT)))
		s = _mmt_memcg_cache_for(s, gfp);
	_mmt_cache_touch(s);
	slot = s->ops->alloc(s, gfp, node);
	if (MMT_UNLIKELY(!slot))
		return alloc_failed(s, gfp);
	cpu = _mmt_this_cpu; /* reclaim may have moved us */
	obj = slab_post_alloc(s, cpu, slot, gfp, caller);
	if (MMT_UNLIKELY(s->memcg))
		_mmt_memcg_alloc_done(s); /* memcg.c addition */
	return obj;
}

void *mmt_kmem_cache_alloc(struct mmt_kmem_cache *s, mmt_gfp_t gfp)
{
	return cache_alloc(s, gfp, -1, __builtin_return_address(0));
}

void *mmt_kmem_cache_alloc_node(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				int node)
{
	if (node >= s->m->nr_nodes) {
		mmt_violation(
			s->m, "bad-node",
			"kmem_cache_alloc_node(%s, node %d): the machine has %d node(s)",
			s->name, node, s->m->nr_nodes);
		return NULL;
	}
	return cache_alloc(s, gfp, node, __builtin_return_address(0));
}

size_t mmt_kmem_cache_alloc_bulk(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				 size_t nr, void **p)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		p[i] = cache_alloc(s, gfp, -1, __builtin_return_address(0));
		if (!p[i]) {
			mmt_kmem_cache_free_bulk(s, i, p);
			return 0;
		}
	}
	return nr;
}

/* ---- free ---- */

static MMT_COLD void report_bad_free(struct mmt_machine *m, const char *check,
				     const char *op, const void *p,
				     const char *why)
{
	mmt_violation(m, check, "%s(%p): %s", op, p, why);
}

static MMT_COLD void report_wrong_cache(struct mmt_kmem_cache *s,
					struct mmt_kmem_cache *want,
					const char *op, const void *p)
{
	char why[160];

	snprintf(why, sizeof(why), "the object belongs to cache %s, not %s",
		 s->name, want->name);
	report_bad_free(s->m, "slab-wrong-cache", op, p, why);
}

/*
 * The slot index of @slot in the slab at @base, or -1 after reporting
 * "slab-bad-pointer" (no slot start).  Exact, with divisions: the fast
 * path comes here only when its multiplication did not prove a slot.
 */
static MMT_COLD long slot_index_slow(struct mmt_kmem_cache *s,
				     struct mmt_page *slab, const char *base,
				     const char *slot, const char *op,
				     const void *p)
{
	char why[160];

	if (slot >= base && !((size_t)(slot - base) % s->size) &&
	    slot_index(s, base, slot) < slab_objects(s, slab))
		return (long)slot_index(s, base, slot);
	snprintf(
		why, sizeof(why),
		"address inside an object of cache %s (slot size %u), not its start",
		s->name, s->size);
	report_bad_free(s->m, "slab-bad-pointer", op, p, why);
	return -1;
}

#if MMT_DEBUG >= 1
static MMT_COLD void report_double_free(struct mmt_kmem_cache *s,
					const char *slot, const char *op,
					const void *p)
{
	char who[300], why[400];

	describe_track(s, slot, who, sizeof(who));
	snprintf(why, sizeof(why),
		 "object of cache %s is not allocated (double free); %s",
		 s->name, who);
	report_bad_free(s->m, "slab-double-free", op, p, why);
}
#endif

/* Red zones, the free record and poison of a debug cache. */
static MMT_NOINLINE void free_debug(struct mmt_kmem_cache *s,
				    struct mmt_cpu *cpu, char *slot,
				    const void *caller)
{
	check_redzones(s, slot);
	if (s->track_offset)
		set_track(s, slot, 1, caller, cpu);
	if (s->poison)
		memset(slot + s->red_left_pad, MMT_POISON_OBJ_FREE,
		       s->object_size);
}

/*
 * Checks of a free; returns the slot to give back, or NULL after a report
 * (the object is then left alone: losing nothing beats corrupting).  The
 * slot index is a multiplication by the cache's reciprocal, proved by
 * multiplying back; anything else takes the exact, reporting, path.
 */
static MMT_ALWAYS_INLINE char *
slab_pre_free(struct mmt_kmem_cache *want, struct mmt_cpu *cpu,
	      struct mmt_page *slab, char *base, const void *p, const char *op,
	      const void *caller, struct mmt_kmem_cache **out)
{
	struct mmt_kmem_cache *s = slab_meta(slab)->cache;
	char *slot = (char *)p - s->red_left_pad;
	uintptr_t off = (uintptr_t)slot - (uintptr_t)base;
	unsigned int objects = pg_order(slab) == s->order ? s->objects :
							    s->min_objects;
	long idx;

	if (MMT_UNLIKELY(want && s != want && s->root != want)) {
		report_wrong_cache(s, want, op, p);
		return NULL;
	}
	/* off < 32 KiB and size <= 32 KiB: the product fits, the guess is
	 * exact or off by one, and multiplying back decides. */
	idx = (long)((off * s->size_recip) >> 32);
	if (MMT_UNLIKELY(off >= (uintptr_t)objects * s->size ||
			 (uintptr_t)idx * s->size != off)) {
		idx = slot_index_slow(s, slab, base, slot, op, p);
		if (idx < 0)
			return NULL;
	}
#if MMT_DEBUG >= 1
	if (MMT_UNLIKELY(!map_test_and_set(slab, (unsigned int)idx, false))) {
		report_double_free(s, slot, op, p);
		return NULL;
	}
#endif
	if (MMT_UNLIKELY(s->debug_work))
		free_debug(s, cpu, slot, caller);
	live_add(s, cpu, -1);
	*out = s;
	return slot;
}

/*
 * The implementation refused @slot: the object it would be linked after
 * is itself (the head of the freelist, the top of the array cache).  The
 * checks above passed (MMT_DEBUG 0 keeps no allocation map), so the object
 * looked allocated: undo the count, report.
 */
static MMT_COLD void refused_double_free(struct mmt_kmem_cache *s,
					 struct mmt_cpu *cpu, const char *op,
					 const void *p)
{
	char why[300];

	live_add(s, cpu, 1);
	snprintf(
		why, sizeof(why),
		"object of cache %s is the last one freed here: its freelist already starts with it "
		"(double free; the free was not done)",
		s->name);
	report_bad_free(s->m, "slab-double-free", op, p, why);
}

/* ---- kfree_nolock's deferred objects ---- */

/*
 * Push @slot (checked and counted free by slab_pre_free) on this CPU's
 * deferred list: lock-free, any context.  The link is a raw pointer at the
 * cache's free-pointer offset, which the implementation rewrites when it
 * takes the slot back.
 */
static void defer_object(struct mmt_cpu *cpu, struct mmt_kmem_cache *s,
			 char *slot)
{
	void *head =
		atomic_load_explicit(&cpu->slab_deferred, memory_order_relaxed);

	do {
		memcpy(slot + s->offset, &head, sizeof(head));
		mmt_sched_point(cpu, MMT_SP_CMPXCHG, &cpu->slab_deferred);
		/*
		 * Release: the link is written before the slot is reachable;
		 * pairs with the acquire exchange of drain_deferred_objects().
		 */
	} while (!atomic_compare_exchange_weak_explicit(
		&cpu->slab_deferred, &head, slot, memory_order_release,
		memory_order_relaxed));
}

static MMT_COLD void refused_double_free(struct mmt_kmem_cache *s,
					 struct mmt_cpu *cpu, const char *op,
					 const void *p);

/*
 * Give the objects kfree_nolock deferred on @cpuid back to their caches
 * with the ordinary ->free (any CPU may drain any list: it is emptied
 * whole).  Called where spinning is allowed: the next ordinary free on
 * the CPU, shrink, and teardown.
 */
static MMT_NOINLINE void drain_deferred_objects(struct mmt_machine *m,
						int cpuid)
{
	struct mmt_cpu *self = cur_cpu();
	/* Acquire pairs with the release compare-exchange of defer_object(). */
	char *slot = atomic_exchange_explicit(&m->cpus[cpuid].slab_deferred,
					      NULL, memory_order_acquire);

	while (slot) {
		struct mmt_page *slab = _mmt_virt_to_slab(m, slot);
		struct mmt_kmem_cache *s = slab_meta(slab)->cache;
		char *next;

		memcpy(&next, slot + s->offset, sizeof(next));
		_mmt_cache_touch(s);
		if (MMT_UNLIKELY(s->memcg))
			_mmt_memcg_free_begin(s);
		if (!s->ops->free(s, slab, slot))
			refused_double_free(s, self, "kfree_nolock",
					    slot + s->red_left_pad);
		if (MMT_UNLIKELY(s->memcg))
			_mmt_memcg_free_end(s);
		slot = next;
	}
}

void mmt_slab_drain_deferred(struct mmt_machine *m)
{
	int c;

	for (c = 0; c < m->nr_cpus; c++)
		if (atomic_load_explicit(&m->cpus[c].slab_deferred,
					 memory_order_relaxed))
			drain_deferred_objects(m, c);
}

/* Deferred objects of @only (NULL: of every cache). */
static unsigned long count_deferred(struct mmt_machine *m,
				    const struct mmt_kmem_cache *only)
{
	unsigned long n = 0;
	int c;

	for (c = 0; c < m->nr_cpus; c++) {
		char *slot = atomic_load_explicit(&m->cpus[c].slab_deferred,
						  memory_order_acquire);

		while (slot) {
			struct mmt_kmem_cache *s =
				slab_meta(_mmt_virt_to_slab(m, slot))->cache;

			n += !only || s == only;
			memcpy(&slot, slot + s->offset, sizeof(slot));
		}
	}
	return n;
}

unsigned long mmt_slab_deferred_objects(struct mmt_machine *m)
{
	return count_deferred(m, NULL);
}

long _mmt_cache_deferred(const struct mmt_kmem_cache *s)
{
	return (long)count_deferred(s->m, s);
}

/* A free of @p, in the slab @slab at @base (slab memory, checked). */
static MMT_ALWAYS_INLINE void cache_free_slab(struct mmt_cpu *cpu,
					      struct mmt_kmem_cache *want,
					      struct mmt_page *slab, char *base,
					      const void *p, const char *op,
					      const void *caller)
{
	struct mmt_kmem_cache *s;
	char *slot;
	bool ok;

	/* kfree_nolock's leftovers go first, at the next ordinary free. */
	if (MMT_UNLIKELY(atomic_load_explicit(&cpu->slab_deferred,
					      memory_order_relaxed)))
		drain_deferred_objects(cpu->m, cpu->id);
	slot = slab_pre_free(want, cpu, slab, base, p, op, caller, &s);
	if (MMT_UNLIKELY(!slot))
		return;
	_mmt_cache_touch(s); /* kmem_cache_free and kfree alike */
	if (MMT_UNLIKELY(s->memcg)) { /* memcg.c addition */
		_mmt_memcg_free_begin(s);
		ok = s->ops->free(s, slab, slot);
		if (!ok)
			refused_double_free(s, cpu, op, p);
		_mmt_memcg_free_end(s);
		return;
	}
	if (MMT_UNLIKELY(!s->ops->free(s, slab, slot)))
		refused_double_free(s, cpu, op, p);
}

static MMT_ALWAYS_INLINE void cache_free(struct mmt_kmem_cache *want,
					 const void *p, const char *op,
					 const void *caller)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct mmt_page *slab;
	char *base;

	slab = addr_to_slab(cpu->m, p, &base);
	if (MMT_UNLIKELY(!slab)) {
		report_bad_free(cpu->m, "slab-bad-pointer", op, p,
				"not an object of any slab");
		return;
	}
	cache_free_slab(cpu, want, slab, base, p, op, caller);
}

void mmt_kmem_cache_free(struct mmt_kmem_cache *s, void *obj)
{
	if (obj)
		cache_free(s, obj, "kmem_cache_free",
			   __builtin_return_address(0));
}

void mmt_kmem_cache_free_bulk(struct mmt_kmem_cache *s, size_t nr, void **p)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (p[i])
			cache_free(s, p[i], "kmem_cache_free_bulk",
				   __builtin_return_address(0));
}

/* ---- prefilled sheaves ---- */

/*
 * The API is the common part's: it checks the arguments and hands objects
 * out through slab_post_alloc() (so every object of a sheaf passes the
 * checks of any other allocation, pfmemalloc isolation with the caller's
 * gfp included).  An implementation with sheaves (ops->prefill_sheaf)
 * keeps free slots in the sheaf; the others, and an accounted cache (whose
 * objects go to memcg child caches one by one), get the emulation of a
 * cache without sheaves in 6.18: the objects are allocated at prefill and
 * freed at return through the API.
 */
static bool sheaf_native(const struct mmt_kmem_cache *s, mmt_gfp_t gfp)
{
	return s->ops->prefill_sheaf && !(s->flags & MMT_SLAB_ACCOUNT) &&
	       !(gfp & __GFP_ACCOUNT);
}

static unsigned int sheaf_capacity(const struct mmt_kmem_cache *s)
{
	return s->sheaf_capacity ? s->sheaf_capacity :
				   _mmt_sheaf_default_capacity(s->size);
}

static MMT_COLD bool report_sheaf_arg(struct mmt_kmem_cache *s, const char *op,
				      const struct mmt_slab_sheaf *f,
				      const char *why)
{
	return mmt_violation(cur_cpu()->m, "slab-bad-argument",
			     "%s(%s, %p): %s", op, s ? s->name : "(null)",
			     (const void *)f, why);
}

/* Emulation: fill @f with objects allocated through the API up to @count. */
static int emulated_fill(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
			 struct mmt_slab_sheaf *f, unsigned int count)
{
	while (f->size < count) {
		void *obj =
			cache_alloc(s, gfp, -1, __builtin_return_address(0));

		if (!obj)
			return -1;
		f->objects[f->size++] = obj;
	}
	return 0;
}

static void emulated_flush(struct mmt_kmem_cache *s, struct mmt_slab_sheaf *f)
{
	while (f->size)
		cache_free(s, f->objects[--f->size], "kmem_cache_return_sheaf",
			   __builtin_return_address(0));
}

static MMT_COLD void report_sheaf_short(struct mmt_kmem_cache *s,
					const struct mmt_slab_sheaf *f,
					unsigned int count)
{
	mmt_violation(
		s->m, "slab-sheaf",
		"kmem_cache_prefill_sheaf(%s, count %u) returned a sheaf of %u object(s): fewer than it guarantees",
		s->name, count, f->size);
}

struct mmt_slab_sheaf *mmt_kmem_cache_prefill_sheaf(struct mmt_kmem_cache *s,
						    mmt_gfp_t gfp,
						    unsigned int count)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_slab_sheaf *f;

	if (!s) {
		report_sheaf_arg(s, "kmem_cache_prefill_sheaf", NULL,
				 "no cache");
		return NULL;
	}
	if (MMT_UNLIKELY(gfp & ~MMT_GFP_VALID_MASK))
		gfp = report_gfp_bits(s, gfp);
	gfp = _mmt_gfp_context(cpu, gfp);
	if (gfp & __GFP_DIRECT_RECLAIM)
		_mmt_might_sleep_on(cpu, MMT_SITE);
	_mmt_cache_touch(s);
	if (sheaf_native(s, gfp)) {
		f = s->ops->prefill_sheaf(s, gfp, count);
	} else {
		unsigned int cap = sheaf_capacity(s);

		f = calloc(1, sizeof(*f) + (size_t)(count > cap ? count : cap) *
						   sizeof(void *));
		if (!f)
			return NULL;
		f->cache = s;
		f->capacity = count > cap ? count : cap;
		f->node = -1;
		f->emulated = true;
		if (emulated_fill(s, gfp, f, count)) {
			emulated_flush(s, f);
			free(f);
			f = NULL;
		}
	}
	if (!f)
		return NULL;
	if (MMT_UNLIKELY(f->size < count))
		report_sheaf_short(s, f, count);
	atomic_fetch_add_explicit(&s->nr_prefilled, 1, memory_order_relaxed);
	return f;
}

void *mmt_kmem_cache_alloc_from_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				      struct mmt_slab_sheaf *f)
{
	struct mmt_cpu *cpu = cur_cpu();
	void *slot;

	if (MMT_UNLIKELY(!s || !f || f->cache != s)) {
		report_sheaf_arg(s, "kmem_cache_alloc_from_sheaf", f,
				 "the sheaf is not one of this cache");
		return NULL;
	}
	if (MMT_UNLIKELY(gfp & ~MMT_GFP_VALID_MASK))
		gfp = report_gfp_bits(s, gfp);
	gfp = _mmt_gfp_context(cpu, gfp);
	if (MMT_UNLIKELY(!f->size))
		return alloc_failed(s, gfp);
	slot = f->objects[--f->size];
	if (f->emulated) {
		if (gfp & __GFP_ZERO)
			memset(slot, 0, s->object_size);
		return slot;
	}
	_mmt_cache_touch(s);
	return slab_post_alloc(s, cpu, slot, gfp, __builtin_return_address(0));
}

int mmt_kmem_cache_refill_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				struct mmt_slab_sheaf **fp, unsigned int count)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_slab_sheaf *f = fp ? *fp : NULL, *nf;

	if (MMT_UNLIKELY(!s || !f || f->cache != s)) {
		report_sheaf_arg(s, "kmem_cache_refill_sheaf", f,
				 "the sheaf is not one of this cache");
		return -1;
	}
	if (f->size >= count)
		return 0;
	if (MMT_UNLIKELY(gfp & ~MMT_GFP_VALID_MASK))
		gfp = report_gfp_bits(s, gfp);
	gfp = _mmt_gfp_context(cpu, gfp);
	if (gfp & __GFP_DIRECT_RECLAIM)
		_mmt_might_sleep_on(cpu, MMT_SITE);
	_mmt_cache_touch(s);
	if (count <= f->capacity) {
		/* Refill in place; what a failed refill got stays in it. */
		if (f->emulated)
			return emulated_fill(s, gfp, f, count);
		return s->ops->refill_sheaf(s, gfp, f, count);
	}
	/* Oversize: a new sheaf for count, the old one returned. */
	nf = mmt_kmem_cache_prefill_sheaf(s, gfp, count);
	if (!nf)
		return -1;
	mmt_kmem_cache_return_sheaf(s, gfp, f);
	*fp = nf;
	return 0;
}

void mmt_kmem_cache_return_sheaf(struct mmt_kmem_cache *s, mmt_gfp_t gfp,
				 struct mmt_slab_sheaf *f)
{
	struct mmt_cpu *cpu = cur_cpu();

	if (!f)
		return;
	if (MMT_UNLIKELY(!s || f->cache != s)) {
		report_sheaf_arg(s, "kmem_cache_return_sheaf", f,
				 "the sheaf is not one of this cache");
		return;
	}
	if (MMT_UNLIKELY(gfp & ~MMT_GFP_VALID_MASK))
		gfp = report_gfp_bits(s, gfp);
	gfp = _mmt_gfp_context(cpu, gfp);
	_mmt_cache_touch(s);
	atomic_fetch_sub_explicit(&s->nr_prefilled, 1, memory_order_relaxed);
	if (f->emulated) {
		emulated_flush(s, f);
		free(f);
		return;
	}
	s->ops->return_sheaf(s, gfp, f);
}

void mmt_slab_sheaf_abandon(struct mmt_slab_sheaf *sheaf)
{
	if (sheaf && sheaf->emulated)
		free(sheaf);
}

unsigned int mmt_slab_sheaf_size(const struct mmt_slab_sheaf *f)
{
	return f ? f->size : 0;
}

unsigned int mmt_kmem_cache_sheaf_capacity(const struct mmt_kmem_cache *s)
{
	return sheaf_capacity(s);
}

/* ---- kmalloc ---- */

static int kmalloc_index(size_t size)
{
	unsigned int i;

	for (i = 0; i < NR_KMALLOC; i++)
		if (size <= kmalloc_sizes[i])
			return (int)i;
	return -1;
}

static unsigned int size_order(size_t size)
{
	unsigned int order = 0;

	while ((MMT_PAGE_SIZE << order) < size)
		order++;
	return order;
}

static void *kmalloc_large(size_t size, mmt_gfp_t gfp, int node)
{
	unsigned int order = size_order(size);
	struct mmt_page *page;

	if (order >= MMT_MAX_ORDER) {
		mmt_violation(cur_cpu()->m, "slab-bad-argument",
			      "kmalloc(%zu): larger than the largest block",
			      size);
		return NULL;
	}
	page = node >= 0 ? mmt_alloc_pages_node(node, gfp | __GFP_COMP, order) :
			   mmt_alloc_pages(gfp | __GFP_COMP, order);
	if (!page)
		return NULL;
	pg_set_flags(page, pg_flags(page) | MMT_PG_LARGE_KMALLOC);
	return mmt_page_address(page);
}

static void *do_kmalloc(size_t size, mmt_gfp_t gfp, int node,
			const void *caller)
{
	struct mmt_machine *m = cur_cpu()->m;
	int i;

	if (!size)
		return ZERO_SIZE_PTR;
	i = kmalloc_index(size);
	if (i < 0)
		return kmalloc_large(size, gfp, node);
	return cache_alloc(m->slab->kmalloc[i], gfp, node, caller);
}

void *mmt_kmalloc(size_t size, mmt_gfp_t gfp)
{
	return do_kmalloc(size, gfp, -1, __builtin_return_address(0));
}

void *mmt_kmalloc_node(size_t size, mmt_gfp_t gfp, int node)
{
	struct mmt_machine *m = cur_cpu()->m;

	if (node >= m->nr_nodes) {
		mmt_violation(
			m, "bad-node",
			"kmalloc_node(%zu, node %d): the machine has %d node(s)",
			size, node, m->nr_nodes);
		return NULL;
	}
	return do_kmalloc(size, gfp, node, __builtin_return_address(0));
}

void *mmt_kzalloc(size_t size, mmt_gfp_t gfp)
{
	return do_kmalloc(size, gfp | __GFP_ZERO, -1,
			  __builtin_return_address(0));
}

/*
 * kmalloc_nolock (6.18): the size class's cache by ->alloc_nolock; when
 * this CPU's per-cpu lock of that cache is held (the CPU was interrupted
 * inside it), once more in the next size class, as the kernel does.  No
 * large kmalloc (NULL above the largest class), no memcg child (the
 * object is not charged), NULL at once in hard irq under PREEMPT_RT rules
 * and on an implementation without the operation.
 */
void *mmt_kmalloc_nolock(size_t size, mmt_gfp_t gfp, int node)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_machine *m = cpu->m;
	struct mmt_kmem_cache *s;
	bool busy = false;
	void *slot = NULL;
	int i;

	if (MMT_UNLIKELY(gfp & ~(__GFP_ACCOUNT | __GFP_ZERO))) {
		mmt_violation(
			m, "gfp-misuse",
			"kmalloc_nolock(%zu, gfp 0x%x): only __GFP_ACCOUNT and __GFP_ZERO may be passed",
			size, gfp);
		gfp &= __GFP_ACCOUNT | __GFP_ZERO;
	}
	if (MMT_UNLIKELY(node >= m->nr_nodes)) {
		mmt_violation(
			m, "bad-node",
			"kmalloc_nolock(%zu, node %d): the machine has %d node(s)",
			size, node, m->nr_nodes);
		return NULL;
	}
	if (!size)
		return ZERO_SIZE_PTR;
	i = kmalloc_index(size);
	if (i < 0 || !m->slab->ops->alloc_nolock)
		return NULL;
	if (m->cfg.rt_rules && (cpu->preempt_count & MMT_HARDIRQ_MASK))
		return NULL;
	cpu->nospin_depth++;
	s = m->slab->kmalloc[i];
	_mmt_cache_touch(s);
	slot = s->ops->alloc_nolock(s, gfp | __GFP_NOWARN | __GFP_NOMEMALLOC,
				    node, &busy);
	if (!slot && busy && i + 1 < (int)NR_KMALLOC) {
		s = m->slab->kmalloc[i + 1];
		_mmt_cache_touch(s);
		slot = s->ops->alloc_nolock(
			s, gfp | __GFP_NOWARN | __GFP_NOMEMALLOC, node, &busy);
	}
	cpu->nospin_depth--;
	if (!slot)
		return NULL;
	return slab_post_alloc(s, cpu, slot, gfp & __GFP_ZERO,
			       __builtin_return_address(0));
}

/*
 * kfree_nolock (6.18): the checks of kfree, then ->free_nolock; when a
 * lock it needs is held (or the implementation has none, or under
 * PREEMPT_RT rules in hard irq) the object goes on this CPU's deferred
 * list, given back at the next ordinary free here, at shrink or teardown.
 * A large kmalloc's pages go by free_pages_nolock.
 */
void mmt_kfree_nolock(const void *p)
{
	struct mmt_cpu *cpu;
	struct mmt_kmem_cache *s;
	struct mmt_page *slab;
	char *base, *slot;
	int ret = MMT_FREE_NOLOCK_BUSY;

	if (!p || p == ZERO_SIZE_PTR)
		return;
	cpu = cur_cpu();
	slab = addr_to_slab(cpu->m, p, &base);
	if (MMT_UNLIKELY(!slab)) {
		struct mmt_page *page = mmt_virt_to_page(cpu->m, p);

		if (page && (pg_flags(page) & MMT_PG_LARGE_KMALLOC) &&
		    p == mmt_page_address(page)) {
			pg_set_flags(page,
				     pg_flags(page) & ~MMT_PG_LARGE_KMALLOC);
			mmt_free_pages_nolock(page, pg_order(page));
			return;
		}
		report_bad_free(cpu->m, "slab-bad-pointer", "kfree_nolock", p,
				"not an object of any slab");
		return;
	}
	cpu->nospin_depth++;
	slot = slab_pre_free(NULL, cpu, slab, base, p, "kfree_nolock",
			     __builtin_return_address(0), &s);
	if (slot) {
		_mmt_cache_touch(s);
		if (MMT_UNLIKELY(s->memcg))
			_mmt_memcg_free_begin(s);
		if (s->ops->free_nolock &&
		    !(cpu->m->cfg.rt_rules &&
		      (cpu->preempt_count & MMT_HARDIRQ_MASK)))
			ret = s->ops->free_nolock(s, slab, slot);
		if (ret == MMT_FREE_NOLOCK_BUSY)
			defer_object(cpu, s, slot);
		else if (ret == MMT_FREE_NOLOCK_REFUSED)
			refused_double_free(s, cpu, "kfree_nolock", p);
		if (MMT_UNLIKELY(s->memcg))
			_mmt_memcg_free_end(s);
	}
	cpu->nospin_depth--;
}

/* kfree() of a large kmalloc's head page, or of no slab memory. */
static MMT_NOINLINE void kfree_not_slab(struct mmt_cpu *cpu, const void *p)
{
	struct mmt_page *page = mmt_virt_to_page(cpu->m, p);

	if (page && (pg_flags(page) & MMT_PG_LARGE_KMALLOC) &&
	    p == mmt_page_address(page)) {
		pg_set_flags(page, pg_flags(page) & ~MMT_PG_LARGE_KMALLOC);
		mmt_free_pages(page, pg_order(page));
		return;
	}
	report_bad_free(cpu->m, "slab-bad-pointer", "kfree", p,
			"not an object of any slab");
}

void mmt_kfree(const void *p)
{
	struct mmt_cpu *cpu;
	struct mmt_page *slab;
	char *base;

	if (!p || p == ZERO_SIZE_PTR)
		return;
	cpu = _mmt_cpu_or_report(MMT_SITE);
	/* A large kmalloc's pages are no slab: one look decides. */
	slab = addr_to_slab(cpu->m, p, &base);
	if (MMT_UNLIKELY(!slab)) {
		kfree_not_slab(cpu, p);
		return;
	}
	cache_free_slab(cpu, NULL, slab, base, p, "kfree",
			__builtin_return_address(0));
}

size_t mmt_ksize(const void *p)
{
	struct mmt_machine *m;
	struct mmt_page *page;

	if (!p || p == ZERO_SIZE_PTR)
		return 0;
	m = cur_cpu()->m;
	page = mmt_virt_to_page(m, p);
	if (page && (pg_flags(page) & MMT_PG_LARGE_KMALLOC))
		return MMT_PAGE_SIZE << pg_order(page);
	page = _mmt_virt_to_slab(m, p);
	if (!page) {
		mmt_violation(m, "slab-bad-pointer",
			      "ksize(%p): not an object of any slab", p);
		return 0;
	}
	/* Debug caches guard the bytes past object_size: report only those. */
	return slab_meta(page)->cache->object_size;
}

void *mmt_krealloc(const void *p, size_t new_size, mmt_gfp_t gfp)
{
	size_t old;
	void *n;

	if (!p || p == ZERO_SIZE_PTR)
		return do_kmalloc(new_size, gfp, -1,
				  __builtin_return_address(0));
	if (!new_size) {
		mmt_kfree(p);
		return ZERO_SIZE_PTR;
	}
	old = mmt_ksize(p);
	if (!old)
		return NULL; /* reported by ksize */
	if (new_size <= old) {
		if (gfp & __GFP_ZERO)
			memset((char *)p + new_size, 0, old - new_size);
		return (void *)p;
	}
	n = do_kmalloc(new_size, gfp, -1, __builtin_return_address(0));
	if (!n)
		return NULL;
	memcpy(n, p, old);
	mmt_kfree(p);
	return n;
}

void mmt_kfree_bulk(size_t nr, void **p)
{
	size_t i;

	for (i = 0; i < nr; i++)
		mmt_kfree(p[i]);
}

/* ---- machine-wide ---- */

void _mmt_for_each_cache(struct mmt_machine *m,
			 void (*fn)(struct mmt_kmem_cache *s, void *arg),
			 void *arg)
{
	struct mmt_kmem_cache *s, *next;

	mmt_mutex_lock(&m->slab->slab_mutex);
	for (s = m->slab->caches; s; s = next) {
		next = s->next; /* fn may release s */
		fn(s, arg);
	}
	mmt_mutex_unlock(&m->slab->slab_mutex);
}

static void touch_one(struct mmt_kmem_cache *s, void *arg)
{
	(void)arg;
	_mmt_cache_touch(s);
}

static void socks_off(struct mmt_kmem_cache *s, void *arg)
{
	(void)arg;
	_mmt_cache_touch(s);
	s->ops->memalloc_socks_off(s);
}

static void check_lingering(struct mmt_kmem_cache *s, void *arg)
{
	bool *ok = arg;
	int c;

	for (c = 0; c < s->m->nr_cpus; c++)
		if (s->ops->pfmemalloc_in_percpu(s, c)) {
			*ok = mmt_violation(
				s->m, "pfmemalloc-lingering",
				"cache %s: cpu %d keeps pfmemalloc objects where an ordinary "
				"caller can be handed them, though no memalloc socket is left",
				s->name, c);
			return;
		}
}

void mmt_slab_memalloc_socks_changed(struct mmt_machine *m, bool active)
{
	bool ok = true;

	atomic_store_explicit(&m->slab->memalloc_socks, active,
			      memory_order_relaxed);
	/* Every cache's lingering check depends on it. */
	_mmt_for_each_cache(m, touch_one, NULL);
	if (active)
		return;
	if (!mmt_bug_on(m, MMT_BUG_SLAB_PFMEMALLOC_LINGERS))
		_mmt_for_each_cache(m, socks_off, NULL);
	else
		mmt_bug_hit(m, MMT_BUG_SLAB_PFMEMALLOC_LINGERS, true);
	_mmt_for_each_cache(m, check_lingering, &ok);
}

bool mmt_slab_memalloc_socks_active(const struct mmt_machine *m)
{
	return _mmt_memalloc_socks(m);
}

bool mmt_obj_is_pfmemalloc(struct mmt_machine *m, const void *obj)
{
	struct mmt_page *page = _mmt_virt_to_slab(m, obj);

	if (page)
		return slab_is_pfmemalloc(page);
	page = mmt_virt_to_page(m, obj); /* a large kmalloc: the head page */
	return page && mmt_page_is_pfmemalloc(page);
}

static void shrink_one(struct mmt_kmem_cache *s, void *arg)
{
	(void)arg;
	_mmt_cache_touch(s);
	s->ops->shrink(s);
}

void mmt_kmem_cache_shrink_all(struct mmt_machine *m)
{
	mmt_slab_drain_deferred(m);
	_mmt_for_each_cache(m, shrink_one, NULL);
}

static void flush_one(struct mmt_kmem_cache *s, void *arg)
{
	_mmt_cache_touch(s);
	s->ops->flush_cpu(s, *(int *)arg);
}

void mmt_slab_flush_cpu(struct mmt_machine *m, int cpu)
{
	_mmt_for_each_cache(m, flush_one, &cpu);
}

static void validate_one(struct mmt_kmem_cache *s, void *arg)
{
	bool *ok = arg;

	atomic_store_explicit(&s->vdirty, false, memory_order_relaxed);
	*ok &= s->ops->is_valid(s);
}

bool mmt_slab_is_valid(struct mmt_machine *m)
{
	bool ok = true;

	_mmt_for_each_cache(m, validate_one, &ok);
	if (!_mmt_memalloc_socks(m))
		_mmt_for_each_cache(m, check_lingering, &ok);
	ok &= _mmt_memcg_is_valid(m);
	return ok;
}

/*
 * Touched caches only, in the order of mmt_slab_is_valid(): first every
 * touched cache's own validator, then their lingering check; a cache not
 * touched since it was validated holds what it held then (the memalloc
 * socket switch, read by the lingering check, touches every cache).
 */
bool _mmt_slab_validate_touched(struct mmt_machine *m)
{
	struct mmt_kmem_cache *s, *touched[64];
	size_t n = 0, i;
	bool ok = true, socks = _mmt_memalloc_socks(m), all;

	/* A live slab's frames handed out again: any cache may be broken. */
	all = atomic_exchange_explicit(&m->frames_reused, false,
				       memory_order_relaxed);
	if (all)
		return mmt_slab_is_valid(m);
	mmt_mutex_lock(&m->slab->slab_mutex);
	for (s = m->slab->caches; s; s = s->next) {
		if (!atomic_load_explicit(&s->vdirty, memory_order_relaxed))
			continue;
		if (n == MMT_ARRAY_SIZE(touched)) {
			all = true; /* too many to remember: the full pass */
			break;
		}
		touched[n++] = s;
	}
	if (!all) {
		for (i = 0; i < n; i++) {
			atomic_store_explicit(&touched[i]->vdirty, false,
					      memory_order_relaxed);
			ok &= touched[i]->ops->is_valid(touched[i]);
		}
		if (!socks)
			for (i = 0; i < n; i++)
				check_lingering(touched[i], &ok);
	}
	mmt_mutex_unlock(&m->slab->slab_mutex);
	if (all)
		return mmt_slab_is_valid(m);
	return ok & _mmt_memcg_is_valid(m);
}

static void leak_one(struct mmt_kmem_cache *s, void *arg)
{
	bool *ok = arg;
	long live = _mmt_cache_live(s);

	if (live)
		*ok = mmt_violation(
			s->m, "slab-leak",
			"teardown: cache %s still has %ld object(s) allocated",
			s->name, live);
}

bool mmt_slab_teardown_check(struct mmt_machine *m)
{
	unsigned long deferred = mmt_slab_deferred_objects(m);
	bool ok = true;

	if (deferred)
		ok = mmt_violation(
			m, "deferred-free-lost",
			"%lu object(s) freed by kfree_nolock still wait on a deferred list after teardown drained them",
			deferred);
	_mmt_for_each_cache(m, leak_one, &ok);
	ok &= _mmt_memcg_teardown_check(m);
	return ok;
}

bool mmt_slab_info(const struct mmt_kmem_cache *s, struct mmt_slab_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = s->name;
	out->object_size = s->object_size;
	out->size = s->size;
	out->order = s->order;
	out->objects_per_slab = s->objects;
	out->live = _mmt_cache_live(s);
	out->slabs = atomic_load_explicit(&s->nr_slabs, memory_order_relaxed);
	out->free_objects = s->ops->free_objects((struct mmt_kmem_cache *)s);
	out->dead = atomic_load_explicit(&s->dead, memory_order_relaxed);
	return true;
}

int _mmt_slab_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_slab_state *st = calloc(1, sizeof(*st));
	unsigned int i;

	if (!st) {
		snprintf(err, errlen, "out of host memory for the slab layer");
		return -1;
	}
	m->slab = st;
	st->ops = impls[m->cfg.slab];
	pthread_mutex_init(&st->rcu_mu, NULL);
	mmt_mutex_init(&st->slab_mutex, &slab_mutex_class);
	for (i = 0; i < NR_KMALLOC; i++) {
		struct mmt_kmem_cache *s;

		s = cache_alloc_struct(m, kmalloc_names[i], kmalloc_sizes[i], 0,
				       0, NULL, 0);
		if (!s) {
			snprintf(err, errlen, "cannot create %s",
				 kmalloc_names[i]);
			return -1;
		}
		s->kmalloc = true;
		s->refcount = 1;
		st->kmalloc[i] = s;
		link_cache(st, s);
	}
	return 0;
}

void _mmt_slab_destroy(struct mmt_machine *m)
{
	struct mmt_kmem_cache *s, *next;
	unsigned long pfn, start, end;
	long slabs = 0;

	if (!m->slab)
		return;
	/*
	 * Host memory only: the arena goes away with the machine.  Every
	 * slab's host-side metadata is found by its page flag, whatever
	 * list (or none: SLUB's full slabs) the implementation kept it on,
	 * among the frames an allocation ever reached - unless no cache
	 * has a slab left (a cache is released only without one), which
	 * spares the walk to a machine torn down clean.
	 */
	for (s = m->slab->caches; s; s = s->next)
		slabs += atomic_load_explicit(&s->nr_slabs,
					      memory_order_relaxed);
	for (pfn = 0; slabs && _mmt_pfn_used_range(m, pfn, &start, &end);
	     pfn = end) {
		for (pfn = start; pfn < end; pfn++) {
			struct mmt_page *page = &m->pages[pfn];

			if (pg_flags(page) & MMT_PG_SLAB) {
				free(slab_meta(page)->allocmap);
				free(slab_meta(page)->impl);
			}
		}
	}
	while (m->slab->rcu_pending) {
		struct rcu_slab *r = m->slab->rcu_pending;

		m->slab->rcu_pending = r->next;
		free(r);
	}
	pthread_mutex_destroy(&m->slab->rcu_mu);
	for (s = m->slab->caches; s; s = next) {
		next = s->next;
		s->ops->cache_free_state(s);
		cache_free_struct(s);
	}
	free(m->slab);
	m->slab = NULL;
}

/* ---- node slab lists of SLAB and sheaves (slab.h) ---- */

void _mmt_slist_add(struct mmt_machine *m, struct _mmt_slist *l,
		    struct mmt_page *p, bool tail)
{
	uint32_t pfn = (uint32_t)_mmt_pfn(m, p);
	struct mmt_slab_meta *me = slab_meta(p);

	if (l->first == MMT_PFN_NONE) {
		me->next = me->prev = pfn;
		l->first = pfn;
	} else {
		struct mmt_slab_meta *first = slab_meta(&m->pages[l->first]);
		uint32_t last = first->prev;

		me->next = l->first;
		me->prev = last;
		slab_meta(&m->pages[last])->next = pfn;
		first->prev = pfn;
		if (!tail)
			l->first = pfn;
	}
	l->nr++;
}

void _mmt_slist_del(struct mmt_machine *m, struct _mmt_slist *l,
		    struct mmt_page *p)
{
	uint32_t pfn = (uint32_t)_mmt_pfn(m, p);
	struct mmt_slab_meta *me = slab_meta(p);

	if (me->next == pfn) {
		l->first = MMT_PFN_NONE;
	} else {
		slab_meta(&m->pages[me->prev])->next = me->next;
		slab_meta(&m->pages[me->next])->prev = me->prev;
		if (l->first == pfn)
			l->first = me->next;
	}
	me->next = me->prev = MMT_PFN_NONE;
	l->nr--;
}
