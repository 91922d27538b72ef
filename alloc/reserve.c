/* SPDX-License-Identifier: MIT */
/*
 * alloc/reserve.c - the emergency reserve tree, memalloc sockets and network
 * swap files (seed 004: swap over NFS).
 *
 * What it models: the mem_reserve tree of the swap-over-NFS patch set as
 * its review describes it, the SOCK_MEMALLOC socket count that switches the
 * slab layer's pfmemalloc behaviour, and swapon/swapoff of network swap
 * files that share their mount's socket.  Written from the described
 * behaviour, not from any kernel source.
 *
 * The tree.  Every machine has a root, "total reserve", connected by
 * definition.  A node has its own reservation (own_pages) and pages = own +
 * the pages of its *connected* children, kept up to date up the tree on
 * every change; limit = pages (charges stop there).  A disconnected node
 * keeps its parent link, its own pages and its children, so it goes on
 * tracking its need, but its pages no longer count in its parent: the
 * root's pages are what is really reserved.  Whenever they change the
 * allocator is told (_mmt_page_alloc_set_emergency): every zone's min
 * watermark rises by its share of the connected total (by managed pages,
 * rounded up) and falls again on disconnect.  The network reserve, "total
 * network reserve" with "network TX reserve" and "network RX reserve" under
 * it, hangs under the root and is connected exactly while a SOCK_MEMALLOC
 * socket exists.
 *
 * Setting a reservation fails (-1, the old value kept) when the memory is
 * not there: the total of the subtree the node belongs to (the root's, if
 * it is connected all the way up) may not exceed half of the machine's
 * managed pages - the other half is for everything that is not an
 * emergency, and a reserve that takes the machine's memory would cause the
 * pressure it exists to survive.
 *
 * Estimates (mmt_kmalloc_estimate_pages, mmt_kmem_cache_estimate_pages):
 *
 *   pages(nr) = (ceil(nr / objects_per_slab) + nr_cpus * per_cpu) << order
 *
 * per_cpu = 1 slab, and with sheaves (slab=sheaves) 1 + ceil(sheaf_capacity
 * / objects_per_slab): a sheaf refill takes a sheaf's worth of objects.
 *
 * with the real geometry of the cache (for kmalloc: the machine's kmalloc
 * cache of the size class, 8, 16, 32, 64, 96, 128, 192, 256, 512 ... 8192),
 * taken as the larger of the result at the cache's order and at its
 * minimum order.  Larger kmalloc sizes are page allocations: nr << order.
 * Why it errs generous: the first term packs the objects as densely as the
 * slabs can hold them, in whole slabs; the second gives every CPU one slab
 * more, which covers the partly used slab each CPU may be filling (SLUB's
 * cpu slab, SLAB's array caches) with objects of the reservation in it;
 * and the minimum order is where the slab layer falls back under memory
 * pressure - exactly when the reserve is used - where an object may cost
 * more pages than at the preferred order.  It is not a bound against
 * fragmentation by frees of other users' objects; nothing cheap is.
 *
 * Charges.  usage is an atomic changed by compare-exchange, so a charge
 * that would take usage past the limit fails without ever having been
 * visible; charges come from any context (softirq included) and never take
 * the mutex.  Next to usage each node keeps `live`: the pages of charges
 * that have an owner.  A charge through mmt_mem_reserve_charge() is its
 * own owner (the caller holds it until it uncharges), so it moves both.
 * The emergency path charges usage first and records the owner - the
 * object - only once the allocation succeeded; on failure it returns the
 * charge.  A charge dropped on that error path (the injectable bug
 * reserve-charge-leak) is therefore usage that no live record explains,
 * and the validator's usage == live finds it.  Emergency objects are
 * recorded by address (host memory, a leaf host mutex) so the free finds
 * its charge whatever the socket's flag says by then.
 *
 * Emergency memory is for memalloc users only.  mmt_sk_alloc_emergency()
 * never adds __GFP_MEMALLOC for a socket without SOCK_MEMALLOC, and an
 * object that comes from a pfmemalloc slab (or pfmemalloc pages, for large
 * sizes) anyway - the context was entitled, as in a receive softirq - is
 * dropped; an "emergency-memory" oracle watches what is handed out.  When
 * a subtree is disconnected (no memalloc socket left) nothing may still be
 * charged as emergency memory against it: the validator reports what was
 * not returned.
 *
 * Sockets.  SOCK_MEMALLOC is a count of users (swap files) per socket; the
 * machine counts sockets with the flag.  0 -> 1 connects the network
 * reserve and turns the slab layer's memalloc-socket switch on; 1 -> 0
 * turns it off (the slab layer drops pfmemalloc objects from its per-cpu
 * structures) and disconnects the reserve.  Under the injectable bug
 * swap-single-bit-memalloc the per-socket flag is one bit, as xprt->swapper
 * was: the first swapoff of two files on a mount clears it for both, and
 * the "swap-memalloc" check (at swapoff and in the validator) finds the
 * active file whose socket lost the flag.
 *
 * Invariants (mmt_reserve_is_valid, machine quiescent):
 *  - reserve-accounting: per node usage == live, usage <= limit, and the
 *    cached pages equal own + connected children's (recomputed);
 *  - reserve-watermark: every zone's min watermark == its base + its share
 *    of the connected total, recomputed by walking the tree;
 *  - swap-memalloc: an active swap file's mount socket is memalloc;
 *  - emergency-memory: no emergency charge left on a disconnected subtree.
 *
 * Lock order: mem_reserve_mutex (a model mutex: structure changes, socket
 * flags, swap files; they may sleep in the kernel) -> slab_mutex (the slab
 * layer's memalloc switch walks the caches).  The estimates take slab_mutex
 * to find a kmalloc cache, before mem_reserve_mutex, never under it.
 * Charges and the socket flag reads are lockless atomics; the record table
 * has a host mutex outside the model's lock model (a leaf, like the
 * violation log's).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

#define REC_BUCKETS 256
#define NET_TX_DEFAULT_PAGES 32 /* a few dozen packets in flight each way */
#define NET_RX_DEFAULT_PAGES 64

struct mmt_mem_reserve {
	struct mmt_machine *m;
	char name[64];
	long own_pages; /* mem_reserve_mutex */
	/* Written under the mutex; read locklessly by charges and getters. */
	_Atomic long pages; /* own + connected children's */
	_Atomic long limit; /* == pages */
	_Atomic long usage; /* charges, any context */
	_Atomic long usage_peak; /* the most usage has been (for reports) */
	_Atomic long live; /* pages of charges that have an owner */
	_Atomic long emergency; /* pages of emergency objects not freed */
	/* Structure: mem_reserve_mutex. */
	struct mmt_mem_reserve *parent;
	struct mmt_mem_reserve *children, *next_sibling; /* in creation order */
	bool connected; /* counted in the parent's pages; the root: true */
	bool builtin; /* the machine's own nodes: never destroyed by users */
	struct mmt_mem_reserve *next_all;
};

struct mmt_sock {
	struct mmt_machine *m;
	char name[48];
	/* SOCK_MEMALLOC users (one bit under the single-bit bug); written
	 * under the mutex, read anywhere. */
	_Atomic int memalloc;
	_Atomic long drops;
	struct mmt_sock *next; /* mutex */
};

struct mmt_swapfile {
	struct mmt_swap_mount *mnt;
	char name[64];
	long pages;
	_Atomic bool active;
	struct mmt_swapfile *next;
};

struct mmt_swap_mount {
	struct mmt_machine *m;
	char name[64];
	struct mmt_sock *sock;
	struct mmt_swapfile *files; /* mutex */
	struct mmt_swap_mount *next; /* mutex */
};

/* An emergency object and what it was charged. */
struct emerg_rec {
	const void *p;
	struct mmt_mem_reserve *res;
	long pages;
	struct emerg_rec *next;
};

struct mmt_reserve_state {
	mmt_mutex_t mutex; /* mem_reserve_mutex */
	struct mmt_mem_reserve root;
	struct mmt_mem_reserve *net, *net_tx, *net_rx;
	struct mmt_mem_reserve *all; /* every node but the root */
	long max_pages; /* half of the managed pages */
	int memalloc_socks; /* sockets with SOCK_MEMALLOC: mutex */
	_Atomic int memalloc_socks_read; /* the same, for lockless readers */
	struct mmt_sock *socks;
	struct mmt_swap_mount *mounts;

	pthread_mutex_t rec_mu; /* host mutex: the record table (a leaf) */
	struct emerg_rec *rec[REC_BUCKETS];

	_Atomic long emergency_allocs, emergency_fails, charge_fails, drops;
};

static MMT_LOCK_CLASS(reserve_mutex_class, "mem_reserve_mutex", MMT_LOCK_MUTEX);

static const unsigned int kmalloc_classes[] = { 8,    16,   32,	 64,  96,
						128,  192,  256, 512, 1024,
						2048, 4096, 8192 };

/* ---- helpers ---- */

static inline long ld(const _Atomic long *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static inline void st_long(_Atomic long *v, long x)
{
	atomic_store_explicit(v, x, memory_order_relaxed);
}

static inline void add_long(_Atomic long *v, long x)
{
	atomic_fetch_add_explicit(v, x, memory_order_relaxed);
}

static struct mmt_reserve_state *rs(const struct mmt_machine *m)
{
	return m->reserve;
}

/* Is the calling thread on a CPU of @m (so it may take model locks)? */
static bool on_cpu_of(const struct mmt_machine *m)
{
	return _mmt_this_cpu && _mmt_this_cpu->m == m;
}

static void lock_tree(struct mmt_machine *m)
{
	mmt_mutex_lock(&rs(m)->mutex);
}

static void unlock_tree(struct mmt_machine *m)
{
	mmt_mutex_unlock(&rs(m)->mutex);
}

/* kmalloc's size class of @size; 0 when it is a page allocation. */
static size_t kmalloc_class(size_t size)
{
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(kmalloc_classes); i++)
		if (size <= kmalloc_classes[i])
			return kmalloc_classes[i];
	return 0;
}

static unsigned int pages_order(size_t size)
{
	unsigned int order = 0;

	while ((MMT_PAGE_SIZE << order) < size)
		order++;
	return order;
}

/* The node at the top of @r's connected chain: the root if @r reserves. */
static struct mmt_mem_reserve *top_of(struct mmt_mem_reserve *r)
{
	while (r->connected && r->parent)
		r = r->parent;
	return r;
}

static bool reaches_root(struct mmt_mem_reserve *r)
{
	return top_of(r) == &rs(r->m)->root;
}

/* Recompute pages (and limit) of @r and of its ancestors while connected. */
static void recalc_up(struct mmt_mem_reserve *r)
{
	for (; r; r = r->parent) {
		struct mmt_mem_reserve *c;
		long sum = r->own_pages;

		for (c = r->children; c; c = c->next_sibling)
			if (c->connected)
				sum += ld(&c->pages);
		st_long(&r->pages, sum);
		st_long(&r->limit, sum);
		if (!r->connected)
			break;
	}
}

/*
 * The root's total changed (or may have): tell the allocator.  A change by
 * a disconnect is skipped under the injectable bug, leaving the watermarks
 * raised by memory no longer reserved.  Called with the mutex held.
 */
static void update_emergency(struct mmt_machine *m, bool by_disconnect)
{
	long total = ld(&rs(m)->root.pages);

	if (total == _mmt_page_alloc_emergency(m))
		return;
	if (by_disconnect &&
	    mmt_bug_on(m, MMT_BUG_EMERGENCY_WMARK_NOT_LOWERED)) {
		mmt_bug_hit(m, MMT_BUG_EMERGENCY_WMARK_NOT_LOWERED,
			    total < _mmt_page_alloc_emergency(m));
		return;
	}
	_mmt_page_alloc_set_emergency(m, total);
}

static void link_child(struct mmt_mem_reserve *parent,
		       struct mmt_mem_reserve *r)
{
	struct mmt_mem_reserve **pp = &parent->children;

	while (*pp)
		pp = &(*pp)->next_sibling;
	*pp = r;
	r->next_sibling = NULL;
	r->parent = parent;
}

static void unlink_child(struct mmt_mem_reserve *r)
{
	struct mmt_mem_reserve **pp;

	if (!r->parent)
		return;
	for (pp = &r->parent->children; *pp; pp = &(*pp)->next_sibling)
		if (*pp == r) {
			*pp = r->next_sibling;
			break;
		}
	r->parent = NULL;
	r->next_sibling = NULL;
}

static struct mmt_mem_reserve *node_new(struct mmt_machine *m, const char *name)
{
	struct mmt_mem_reserve *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->m = m;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "(unnamed)");
	r->next_all = rs(m)->all;
	rs(m)->all = r;
	return r;
}

/* ---- structure changes (mutex held, or set-up with no CPU) ---- */

static int pages_set_locked(struct mmt_mem_reserve *res, long pages)
{
	struct mmt_reserve_state *st = rs(res->m);
	long delta = pages - res->own_pages;
	struct mmt_mem_reserve *r;

	if (pages < 0)
		return -1;
	if (ld(&top_of(res)->pages) + delta > st->max_pages)
		return -1;
	/* A limit is not lowered below what is charged against it. */
	for (r = res; delta < 0 && r; r = r->parent) {
		if (ld(&r->pages) + delta < ld(&r->usage))
			return -1;
		if (!r->connected)
			break;
	}
	res->own_pages = pages;
	recalc_up(res);
	update_emergency(res->m, false);
	return 0;
}

static void disconnect_locked(struct mmt_mem_reserve *res)
{
	if (!res->connected || !res->parent)
		return; /* detached already, or the root */
	res->connected = false;
	recalc_up(res->parent);
	update_emergency(res->m, true);
}

static int connect_locked(struct mmt_mem_reserve *res,
			  struct mmt_mem_reserve *parent)
{
	struct mmt_reserve_state *st = rs(res->m);
	struct mmt_mem_reserve *r, *ptop;
	long total;

	if (res == &st->root || parent->m != res->m)
		return -1;
	for (r = parent; r; r = r->parent)
		if (r == res)
			return -1; /* a node under itself */
	if (res->connected && res->parent == parent)
		return 0;
	ptop = top_of(parent);
	total = ld(&ptop->pages);
	if (!(res->connected && top_of(res) == ptop))
		total += ld(&res->pages);
	if (total > st->max_pages)
		return -1;
	if (res->connected) {
		res->connected = false;
		recalc_up(res->parent);
	}
	if (res->parent != parent) {
		unlink_child(res);
		link_child(parent, res);
	}
	res->connected = true;
	recalc_up(res);
	update_emergency(res->m, false);
	return 0;
}

/* ---- the tree's API ---- */

struct mmt_mem_reserve *mmt_mem_reserve_root(struct mmt_machine *m)
{
	return &rs(m)->root;
}

struct mmt_mem_reserve *mmt_net_reserve_total(struct mmt_machine *m)
{
	return rs(m)->net;
}

struct mmt_mem_reserve *mmt_net_reserve(struct mmt_machine *m, bool rx)
{
	return rx ? rs(m)->net_rx : rs(m)->net_tx;
}

struct mmt_mem_reserve *mmt_mem_reserve_create(struct mmt_machine *m,
					       const char *name,
					       struct mmt_mem_reserve *parent)
{
	struct mmt_mem_reserve *r;

	if (parent && parent->m != m)
		return NULL;
	lock_tree(m);
	r = node_new(m, name);
	if (r && parent) {
		/* Nothing reserved yet: connecting changes no total. */
		link_child(parent, r);
		r->connected = true;
	}
	unlock_tree(m);
	return r;
}

void mmt_mem_reserve_destroy(struct mmt_mem_reserve *res)
{
	struct mmt_machine *m;
	struct mmt_reserve_state *st;
	struct mmt_mem_reserve **pp, *c, *next;

	if (!res)
		return;
	m = res->m;
	st = rs(m);
	lock_tree(m);
	if (res->builtin) {
		unlock_tree(m);
		return; /* the machine's own nodes live as long as it does */
	}
	if (ld(&res->usage) || ld(&res->live) || ld(&res->emergency)) {
		mmt_violation(
			m, "reserve-accounting",
			"mem_reserve_destroy(%s): %ld page(s) still charged (%ld live, %ld "
			"emergency); the node is kept",
			res->name, ld(&res->usage), ld(&res->live),
			ld(&res->emergency));
		unlock_tree(m);
		return;
	}
	disconnect_locked(res);
	/* Children go on tracking their need, detached. */
	for (c = res->children; c; c = next) {
		next = c->next_sibling;
		c->parent = NULL;
		c->next_sibling = NULL;
		c->connected = false;
	}
	res->children = NULL;
	unlink_child(res);
	for (pp = &st->all; *pp; pp = &(*pp)->next_all)
		if (*pp == res) {
			*pp = res->next_all;
			break;
		}
	unlock_tree(m);
	free(res);
}

int mmt_mem_reserve_connect(struct mmt_mem_reserve *res,
			    struct mmt_mem_reserve *parent)
{
	int ret;

	if (!res || !parent)
		return -1;
	lock_tree(res->m);
	ret = connect_locked(res, parent);
	unlock_tree(res->m);
	return ret;
}

void mmt_mem_reserve_disconnect(struct mmt_mem_reserve *res)
{
	if (!res)
		return;
	lock_tree(res->m);
	disconnect_locked(res);
	unlock_tree(res->m);
}

int mmt_mem_reserve_pages_set(struct mmt_mem_reserve *res, long pages)
{
	int ret;

	if (!res)
		return -1;
	lock_tree(res->m);
	ret = pages_set_locked(res, pages);
	unlock_tree(res->m);
	return ret;
}

/* ---- estimates ---- */

/*
 * @cpu_objects: free objects a CPU may pin beyond its partly used slab (a
 * sheaf refill of slab=sheaves takes a whole sheaf: its slabs count too).
 */
static long slabs_pages(long nr, unsigned int per_slab, unsigned int order,
			int cpus, unsigned int cpu_objects)
{
	long per_cpu;

	if (!per_slab)
		per_slab = 1;
	per_cpu = 1 + (cpu_objects + per_slab - 1) / per_slab;
	return ((nr + per_slab - 1) / per_slab + cpus * per_cpu) << order;
}

static long cache_estimate(struct mmt_kmem_cache *s, long nr)
{
	unsigned int sheaf =
		s->ops->prefill_sheaf ? mmt_kmem_cache_sheaf_capacity(s) : 0;
	long a, b;

	/* The cache's order, and the minimum order it falls back to. */
	a = slabs_pages(nr, s->objects, s->order, s->m->nr_cpus, sheaf);
	b = slabs_pages(nr, s->min_objects, s->min_order, s->m->nr_cpus,
			sheaf);
	return a > b ? a : b;
}

struct find_kmalloc {
	size_t class;
	long nr, pages;
};

static void kmalloc_cache_estimate(struct mmt_kmem_cache *s, void *arg)
{
	struct find_kmalloc *f = arg;

	if (f->pages < 0 && s->kmalloc && !s->memcg &&
	    s->object_size == f->class)
		f->pages = cache_estimate(s, f->nr);
}

static long kmalloc_estimate(struct mmt_machine *m, size_t size, long nr)
{
	struct find_kmalloc f = { .class = kmalloc_class(size),
				  .nr = nr,
				  .pages = -1 };

	if (nr < 0)
		return -1;
	if (!nr)
		return 0;
	if (!f.class)
		return nr << pages_order(size); /* page allocations, exact */
	_mmt_for_each_cache(m, kmalloc_cache_estimate, &f);
	return f.pages;
}

long mmt_kmalloc_estimate_pages(size_t size, int nr)
{
	return kmalloc_estimate(_mmt_cpu_or_report(MMT_SITE)->m, size, nr);
}

long mmt_kmem_cache_estimate_pages(struct mmt_kmem_cache *s, int nr)
{
	if (!s || nr < 0)
		return -1;
	return nr ? cache_estimate(s, nr) : 0;
}

int mmt_mem_reserve_kmalloc_set(struct mmt_mem_reserve *res, size_t bytes,
				int nr)
{
	long pages;

	if (!res)
		return -1;
	pages = kmalloc_estimate(res->m, bytes,
				 nr); /* slab_mutex: before ours */
	return pages < 0 ? -1 : mmt_mem_reserve_pages_set(res, pages);
}

int mmt_mem_reserve_kmem_cache_set(struct mmt_mem_reserve *res,
				   struct mmt_kmem_cache *s, int nr)
{
	long pages;

	if (!res || !s)
		return -1;
	pages = mmt_kmem_cache_estimate_pages(s, nr);
	return pages < 0 ? -1 : mmt_mem_reserve_pages_set(res, pages);
}

/* ---- charges ---- */

/* usage += pages unless that passes the limit; never visible past it. */
/* A statistic only: relaxed, monotonic maximum. */
static void raise_peak(struct mmt_mem_reserve *res, long usage)
{
	long peak = ld(&res->usage_peak);

	while (usage > peak &&
	       !atomic_compare_exchange_weak_explicit(
		       &res->usage_peak, &peak, usage, memory_order_relaxed,
		       memory_order_relaxed))
		;
}

static bool usage_charge(struct mmt_mem_reserve *res, long pages)
{
	long cur = ld(&res->usage);

	do {
		if (cur + pages > ld(&res->limit))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&res->usage, &cur, cur + pages, memory_order_relaxed,
		memory_order_relaxed));
	raise_peak(res, cur + pages);
	return true;
}

/* usage -= pages; below zero is reported and not done. */
static bool usage_uncharge(struct mmt_mem_reserve *res, long pages)
{
	long cur = ld(&res->usage);

	do {
		if (cur < pages)
			return mmt_violation(
				res->m, "reserve-accounting",
				"uncharge of %ld page(s) from %s with usage %ld: "
				"below zero (uncharged more than was charged)",
				pages, res->name, cur);
	} while (!atomic_compare_exchange_weak_explicit(
		&res->usage, &cur, cur - pages, memory_order_relaxed,
		memory_order_relaxed));
	return true;
}

bool mmt_mem_reserve_charge(struct mmt_mem_reserve *res, long pages)
{
	if (pages < 0)
		return false;
	if (!usage_charge(res, pages))
		return false;
	add_long(&res->live, pages); /* the caller owns this charge */
	return true;
}

void mmt_mem_reserve_uncharge(struct mmt_mem_reserve *res, long pages)
{
	if (pages < 0)
		return;
	if (usage_uncharge(res, pages))
		add_long(&res->live, -pages);
}

long mmt_mem_reserve_pages(const struct mmt_mem_reserve *res)
{
	return ld(&res->pages);
}

long mmt_mem_reserve_usage(const struct mmt_mem_reserve *res)
{
	return ld(&res->usage);
}

long mmt_mem_reserve_usage_peak(const struct mmt_mem_reserve *res)
{
	return ld(&res->usage_peak);
}

long mmt_mem_reserve_emergency(const struct mmt_mem_reserve *res)
{
	return ld(&res->emergency);
}

const char *mmt_mem_reserve_name(const struct mmt_mem_reserve *res)
{
	return res->name;
}

/* ---- emergency objects ---- */

static unsigned int rec_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p >> 3;

	return (unsigned int)((x * 0x9e3779b97f4a7c15ull) >> 56) % REC_BUCKETS;
}

static bool rec_add(struct mmt_reserve_state *st, const void *p,
		    struct mmt_mem_reserve *res, long pages)
{
	struct emerg_rec *e = malloc(sizeof(*e));
	unsigned int h = rec_hash(p);

	if (!e)
		return false;
	e->p = p;
	e->res = res;
	e->pages = pages;
	pthread_mutex_lock(&st->rec_mu);
	e->next = st->rec[h];
	st->rec[h] = e;
	pthread_mutex_unlock(&st->rec_mu);
	return true;
}

static struct emerg_rec *rec_take(struct mmt_reserve_state *st, const void *p)
{
	struct emerg_rec **pp, *e = NULL;

	pthread_mutex_lock(&st->rec_mu);
	for (pp = &st->rec[rec_hash(p)]; *pp; pp = &(*pp)->next)
		if ((*pp)->p == p) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&st->rec_mu);
	return e;
}

/* Pages one emergency object may take: whole pages, at least one. */
static long object_pages(size_t size)
{
	size_t class = kmalloc_class(size);

	if (!class)
		return 1l << pages_order(size);
	return (long)((class + MMT_PAGE_SIZE - 1) / MMT_PAGE_SIZE);
}

/* Does the object at @p live in memory handed out from the reserves? */
static bool from_reserves(struct mmt_machine *m, const void *p)
{
	struct mmt_page *page = _mmt_virt_to_slab(m, p);

	if (page)
		return slab_is_pfmemalloc(page);
	page = mmt_virt_to_page(m, p); /* a large kmalloc: the head page */
	return page && mmt_page_is_pfmemalloc(page);
}

void *mmt_sk_alloc_emergency(struct mmt_sock *sk, struct mmt_mem_reserve *res,
			     size_t size, mmt_gfp_t gfp)
{
	struct mmt_machine *m = sk->m;
	struct mmt_reserve_state *st = rs(m);
	bool memalloc = mmt_sk_memalloc(sk);
	long pages;
	void *p;

	gfp &= ~__GFP_MEMALLOC;
	if (!memalloc) {
		/* No reserve rights of its own; the context may still have them. */
		p = mmt_kmalloc(size, gfp);
		if (p && from_reserves(m, p) &&
		    (!mmt_bug_on(m, MMT_BUG_SK_FILTER_PFMEMALLOC_KEPT) ||
		     !mmt_bug_hit(m, MMT_BUG_SK_FILTER_PFMEMALLOC_KEPT,
				  true))) {
			/*
			 * sk_filter_trim_cap(): an emergency packet at an
			 * ordinary socket is dropped, and its memory goes
			 * back to the reserves at once.
			 */
			mmt_kfree(p);
			add_long(&sk->drops, 1);
			add_long(&st->drops, 1);
			p = NULL;
		}
		/*
		 * That reserve memory never reaches a non-memalloc socket is
		 * checked by the caller (trace/trace_exec.c, net_rx): a check
		 * here, right after the drop, could never fire.
		 */
		return p;
	}
	/* Ordinary memory first: the reserve is the last resort. */
	p = mmt_kmalloc(size, gfp | __GFP_NOMEMALLOC | __GFP_NOWARN);
	if (p)
		return p;
	pages = object_pages(size);
	if (!usage_charge(res, pages)) {
		add_long(&st->charge_fails, 1);
		return NULL;
	}
	p = mmt_kmalloc(size, (gfp & ~__GFP_NOMEMALLOC) | __GFP_MEMALLOC);
	if (!p || !rec_add(st, p, res, pages)) {
		mmt_kfree(p);
		add_long(&st->emergency_fails, 1);
		/* The error path: the charge has no owner; give it back. */
		if (!mmt_bug_on(m, MMT_BUG_RESERVE_CHARGE_LEAK))
			usage_uncharge(res, pages);
		else
			mmt_bug_hit(m, MMT_BUG_RESERVE_CHARGE_LEAK, true);
		return NULL;
	}
	add_long(&res->live, pages);
	add_long(&res->emergency, pages);
	add_long(&st->emergency_allocs, 1);
	return p;
}

void mmt_sk_free_emergency(struct mmt_sock *sk, struct mmt_mem_reserve *res,
			   void *p, size_t size)
{
	struct emerg_rec *e;

	(void)size;
	if (!p)
		return;
	/* Forget the address before it can be handed out again. */
	e = rec_take(rs(sk->m), p);
	mmt_kfree(p);
	if (!e)
		return; /* ordinary memory: nothing charged */
	if (e->res != res)
		mmt_violation(
			sk->m, "reserve-accounting",
			"socket %s frees an emergency object against %s; it was charged to "
			"%s (that charge is returned)",
			sk->name, res ? res->name : "(none)", e->res->name);
	if (usage_uncharge(e->res, e->pages))
		add_long(&e->res->live, -e->pages);
	add_long(&e->res->emergency, -e->pages);
	free(e);
}

void mmt_reserve_stats(struct mmt_machine *m, struct mmt_reserve_stats *out)
{
	struct mmt_reserve_state *st = rs(m);
	struct mmt_mem_reserve *r;

	memset(out, 0, sizeof(*out));
	out->emergency_allocs = ld(&st->emergency_allocs);
	out->emergency_fails = ld(&st->emergency_fails);
	out->charge_fails = ld(&st->charge_fails);
	out->drops = ld(&st->drops);
	out->reserved = ld(&st->root.pages);
	if (on_cpu_of(m))
		lock_tree(m);
	for (r = st->all; r; r = r->next_all)
		out->outstanding += ld(&r->emergency);
	if (on_cpu_of(m))
		unlock_tree(m);
}

/* ---- sockets ---- */

/* Sockets with SOCK_MEMALLOC: 0 -> 1 and 1 -> 0 flip the machine. */
static void socks_inc(struct mmt_machine *m)
{
	struct mmt_reserve_state *st = rs(m);

	if (st->memalloc_socks++ == 0) {
		/* Reserve first, so the memory is there before it is used. */
		connect_locked(st->net,
			       &st->root); /* fails only if it does not fit */
		mmt_slab_memalloc_socks_changed(m, true);
	}
	atomic_store_explicit(&st->memalloc_socks_read, st->memalloc_socks,
			      memory_order_relaxed);
}

static void socks_dec(struct mmt_machine *m)
{
	struct mmt_reserve_state *st = rs(m);

	if (--st->memalloc_socks == 0) {
		mmt_slab_memalloc_socks_changed(m, false);
		disconnect_locked(st->net);
	}
	atomic_store_explicit(&st->memalloc_socks_read, st->memalloc_socks,
			      memory_order_relaxed);
}

static void set_memalloc_locked(struct mmt_sock *sk)
{
	int old = atomic_load_explicit(&sk->memalloc, memory_order_relaxed);
	/* One bit, as xprt->swapper was: a second user is not counted. */
	int new = mmt_bug_on(sk->m, MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC) ? 1 :
									old + 1;

	/* A second user not counted. */
	mmt_bug_hit(sk->m, MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC, new != old + 1);

	atomic_store_explicit(&sk->memalloc, new, memory_order_relaxed);
	if (!old)
		socks_inc(sk->m);
}

static void clear_memalloc_locked(struct mmt_sock *sk)
{
	int old = atomic_load_explicit(&sk->memalloc, memory_order_relaxed);
	int new;

	if (!old)
		return;
	new = mmt_bug_on(sk->m, MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC) ? 0 : old - 1;
	/* The first of two users gone clears the bit of both. */
	mmt_bug_hit(sk->m, MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC, new != old - 1);
	atomic_store_explicit(&sk->memalloc, new, memory_order_relaxed);
	if (!new)
		socks_dec(sk->m);
}

struct mmt_sock *mmt_sock_create(struct mmt_machine *m, const char *name)
{
	struct mmt_sock *sk = calloc(1, sizeof(*sk));

	if (!sk)
		return NULL;
	sk->m = m;
	snprintf(sk->name, sizeof(sk->name), "%s", name ? name : "(socket)");
	lock_tree(m);
	sk->next = rs(m)->socks;
	rs(m)->socks = sk;
	unlock_tree(m);
	return sk;
}

void mmt_sock_destroy(struct mmt_sock *sk)
{
	struct mmt_machine *m;
	struct mmt_sock **pp;

	if (!sk)
		return;
	m = sk->m;
	lock_tree(m);
	/* sk_destruct: whatever users are left, the flag goes with it. */
	if (atomic_load_explicit(&sk->memalloc, memory_order_relaxed)) {
		atomic_store_explicit(&sk->memalloc, 0, memory_order_relaxed);
		socks_dec(m);
	}
	for (pp = &rs(m)->socks; *pp; pp = &(*pp)->next)
		if (*pp == sk) {
			*pp = sk->next;
			break;
		}
	unlock_tree(m);
	free(sk);
}

void mmt_sk_set_memalloc(struct mmt_sock *sk)
{
	lock_tree(sk->m);
	set_memalloc_locked(sk);
	unlock_tree(sk->m);
}

void mmt_sk_clear_memalloc(struct mmt_sock *sk)
{
	lock_tree(sk->m);
	clear_memalloc_locked(sk);
	unlock_tree(sk->m);
}

bool mmt_sk_memalloc(const struct mmt_sock *sk)
{
	return atomic_load_explicit(&sk->memalloc, memory_order_relaxed) > 0;
}

int mmt_sk_memalloc_socks(const struct mmt_machine *m)
{
	return atomic_load_explicit(&rs(m)->memalloc_socks_read,
				    memory_order_relaxed);
}

const char *mmt_sock_name(const struct mmt_sock *sk)
{
	return sk->name;
}

long mmt_sk_drops(const struct mmt_sock *sk)
{
	return ld(&sk->drops);
}

/* ---- network swap files ---- */

struct mmt_swap_mount *mmt_swap_mount_create(struct mmt_machine *m,
					     const char *name)
{
	struct mmt_swap_mount *mnt = calloc(1, sizeof(*mnt));
	char sname[48];

	if (!mnt)
		return NULL;
	mnt->m = m;
	snprintf(mnt->name, sizeof(mnt->name), "%s", name ? name : "(mount)");
	snprintf(sname, sizeof(sname), "%.40s:sock", mnt->name);
	mnt->sock = mmt_sock_create(m, sname);
	if (!mnt->sock) {
		free(mnt);
		return NULL;
	}
	lock_tree(m);
	mnt->next = rs(m)->mounts;
	rs(m)->mounts = mnt;
	unlock_tree(m);
	return mnt;
}

void mmt_swap_mount_destroy(struct mmt_swap_mount *mnt)
{
	struct mmt_machine *m;
	struct mmt_swap_mount **pp;
	struct mmt_swapfile *f, *next;

	if (!mnt)
		return;
	m = mnt->m;
	for (f = mnt->files; f; f = f->next)
		mmt_swapoff(f);
	lock_tree(m);
	for (pp = &rs(m)->mounts; *pp; pp = &(*pp)->next)
		if (*pp == mnt) {
			*pp = mnt->next;
			break;
		}
	unlock_tree(m);
	mmt_sock_destroy(mnt->sock);
	for (f = mnt->files; f; f = next) {
		next = f->next;
		free(f);
	}
	free(mnt);
}

struct mmt_sock *mmt_swap_mount_sock(const struct mmt_swap_mount *mnt)
{
	return mnt->sock;
}

struct mmt_swapfile *mmt_swapon(struct mmt_swap_mount *mnt, const char *file,
				long pages)
{
	struct mmt_swapfile *sf = calloc(1, sizeof(*sf));

	if (!sf)
		return NULL;
	sf->mnt = mnt;
	snprintf(sf->name, sizeof(sf->name), "%s", file ? file : "(swapfile)");
	sf->pages = pages;
	lock_tree(mnt->m);
	sf->next = mnt->files;
	mnt->files = sf;
	set_memalloc_locked(mnt->sock);
	atomic_store_explicit(&sf->active, true, memory_order_relaxed);
	unlock_tree(mnt->m);
	return sf;
}

/* An active file of @mnt whose socket lost SOCK_MEMALLOC; mutex held. */
static bool mount_memalloc_ok(struct mmt_swap_mount *mnt, const char *when)
{
	struct mmt_swapfile *f;

	if (mmt_sk_memalloc(mnt->sock))
		return true;
	for (f = mnt->files; f; f = f->next)
		if (atomic_load_explicit(&f->active, memory_order_relaxed))
			return mmt_violation(
				mnt->m, "swap-memalloc",
				"%s: swap file %s on mount %s is active but socket %s "
				"is not SOCK_MEMALLOC: its swap-out traffic has no "
				"reserve rights",
				when, f->name, mnt->name, mnt->sock->name);
	return true;
}

void mmt_swapoff(struct mmt_swapfile *sf)
{
	struct mmt_swap_mount *mnt = sf->mnt;
	char when[96];

	lock_tree(mnt->m);
	if (!atomic_load_explicit(&sf->active, memory_order_relaxed)) {
		unlock_tree(mnt->m);
		return; /* off already */
	}
	atomic_store_explicit(&sf->active, false, memory_order_relaxed);
	clear_memalloc_locked(mnt->sock);
	snprintf(when, sizeof(when), "swapoff %.60s", sf->name);
	mount_memalloc_ok(mnt, when);
	unlock_tree(mnt->m);
}

bool mmt_swapfile_active(const struct mmt_swapfile *sf)
{
	return atomic_load_explicit(&sf->active, memory_order_relaxed);
}

struct mmt_swap_mount *mmt_swapfile_mount(const struct mmt_swapfile *sf)
{
	return sf->mnt;
}

long mmt_swapfile_pages(const struct mmt_swapfile *sf)
{
	return sf->pages;
}

/* ---- dumps ---- */

static json_t *node_json(const struct mmt_mem_reserve *r)
{
	const struct mmt_mem_reserve *c;
	json_t *kids = json_array();

	for (c = r->children; c; c = c->next_sibling)
		json_array_append_new(kids, node_json(c));
	/* "I" is json_int_t: every count fits. */
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}",
			 "name", r->name, "pages", (json_int_t)ld(&r->pages),
			 "own_pages", (json_int_t)r->own_pages, "limit",
			 (json_int_t)ld(&r->limit), "usage",
			 (json_int_t)ld(&r->usage), "live",
			 (json_int_t)ld(&r->live), "emergency",
			 (json_int_t)ld(&r->emergency), "connected",
			 (int)r->connected, "children", kids);
}

void mmt_mem_reserve_dump_json(struct mmt_machine *m, FILE *out)
{
	struct mmt_reserve_state *st = rs(m);
	const struct mmt_mem_reserve *r;
	const struct mmt_swap_mount *mnt;
	const struct mmt_swapfile *f;
	json_t *root, *detached = json_array(), *mounts = json_array();
	bool locked = on_cpu_of(m);

	if (locked)
		lock_tree(m);
	for (r = st->all; r; r = r->next_all)
		if (!r->parent)
			json_array_append_new(detached, node_json(r));
	for (mnt = st->mounts; mnt; mnt = mnt->next) {
		json_t *files = json_array();

		for (f = mnt->files; f; f = f->next)
			json_array_append_new(
				files, json_pack("{s:s, s:I, s:b}", "name",
						 f->name, "pages",
						 (json_int_t)f->pages, "active",
						 (int)mmt_swapfile_active(f)));
		json_array_append_new(
			mounts,
			json_pack("{s:s, s:s, s:i, s:o}", "name", mnt->name,
				  "socket", mnt->sock->name, "memalloc",
				  atomic_load_explicit(&mnt->sock->memalloc,
						       memory_order_relaxed),
				  "files", files));
	}
	root = json_pack("{s:I, s:I, s:i, s:o, s:o, s:o}", "reserved_pages",
			 (json_int_t)ld(&st->root.pages), "emergency_pages",
			 (json_int_t)_mmt_page_alloc_emergency(m),
			 "memalloc_socks", st->memalloc_socks, "tree",
			 node_json(&st->root), "detached", detached,
			 "swap_mounts", mounts);
	if (locked)
		unlock_tree(m);
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}

/* /proc/reserve_info's lines: "name <pages in K>K (usage/limit)". */
static void node_dump(const struct mmt_mem_reserve *r, int depth,
		      const char *mark, FILE *out)
{
	const struct mmt_mem_reserve *c;

	fprintf(out, "%*s%s %ldK (%ld/%ld)%s\n", 2 * depth, "", r->name,
		ld(&r->pages) * (long)(MMT_PAGE_SIZE / 1024), ld(&r->usage),
		ld(&r->limit), r->connected ? "" : mark);
	for (c = r->children; c; c = c->next_sibling)
		node_dump(c, depth + 1, " [disconnected]", out);
}

void mmt_mem_reserve_dump(struct mmt_machine *m, FILE *out)
{
	struct mmt_reserve_state *st = rs(m);
	const struct mmt_mem_reserve *r;
	bool locked = on_cpu_of(m);

	if (locked)
		lock_tree(m);
	node_dump(&st->root, 0, "", out);
	for (r = st->all; r; r = r->next_all)
		if (!r->parent)
			node_dump(r, 0, " [detached]", out);
	fprintf(out,
		"memalloc sockets %d, min watermarks raised by %ld page(s)\n",
		st->memalloc_socks, _mmt_page_alloc_emergency(m));
	if (locked)
		unlock_tree(m);
}

/* ---- validation ---- */

/* What @r really reserves, from own pages alone: not from the caches. */
static long subtree_total(const struct mmt_mem_reserve *r)
{
	const struct mmt_mem_reserve *c;
	long t = r->own_pages;

	for (c = r->children; c; c = c->next_sibling)
		if (c->connected)
			t += subtree_total(c);
	return t;
}

static bool node_is_valid(struct mmt_mem_reserve *r)
{
	long usage = ld(&r->usage), live = ld(&r->live), limit = ld(&r->limit);
	long pages = ld(&r->pages), need = subtree_total(r),
	     em = ld(&r->emergency);
	bool ok = true;

	if (usage != live)
		ok = mmt_violation(
			r->m, "reserve-accounting",
			"%s: usage %ld page(s) but live charges hold %ld: %ld page(s) "
			"charged that no owner will return",
			r->name, usage, live, usage - live);
	if (usage > limit)
		ok = mmt_violation(
			r->m, "reserve-accounting",
			"%s: usage %ld page(s) exceeds its limit %ld", r->name,
			usage, limit);
	if (pages != need || limit != pages)
		ok = mmt_violation(
			r->m, "reserve-accounting",
			"%s: pages %ld, limit %ld, but its own and connected children's "
			"reservations add up to %ld",
			r->name, pages, limit, need);
	if (em > 0 && !reaches_root(r))
		ok = mmt_violation(
			r->m, "emergency-memory",
			"%s: %ld page(s) of emergency memory still charged though the "
			"reserve is disconnected: not returned",
			r->name, em);
	return ok;
}

/* Each zone's share of @total, as the emergency reserve spreads it. */
static bool watermarks_are_valid(struct mmt_machine *m, long total)
{
	unsigned long managed = 0, share, base, min;
	bool ok = true;
	int i;

	for (i = 0; i < m->nr_zones; i++)
		managed += m->zones[i].managed;
	for (i = 0; i < m->nr_zones; i++) {
		struct mmt_zone *z = &m->zones[i];

		/* Rounded up: the zones together never hold less than the total. */
		share = ((unsigned long)total * z->managed + managed - 1) /
			managed;
		base = _mmt_zone_base_min(m, i);
		min = z->watermark[MMT_WMARK_MIN];
		if (min != base + share)
			ok = mmt_violation(
				m, "reserve-watermark",
				"zone %s (node %d): min watermark %lu, expected base %lu + "
				"%lu, its share of the %ld page(s) the connected reserve "
				"tree holds (the allocator was told %ld)",
				z->name, z->nid, min, base, share, total,
				_mmt_page_alloc_emergency(m));
	}
	return ok;
}

bool mmt_reserve_is_valid(struct mmt_machine *m)
{
	struct mmt_reserve_state *st = rs(m);
	struct mmt_mem_reserve *r;
	struct mmt_swap_mount *mnt;
	bool ok = true, locked = on_cpu_of(m);

	if (locked)
		lock_tree(m);
	ok &= node_is_valid(&st->root);
	for (r = st->all; r; r = r->next_all)
		ok &= node_is_valid(r);
	ok &= watermarks_are_valid(m, subtree_total(&st->root));
	for (mnt = st->mounts; mnt; mnt = mnt->next)
		ok &= mount_memalloc_ok(mnt, "validation");
	if (locked)
		unlock_tree(m);
	return ok;
}

/* ---- machine set-up and teardown ---- */

int _mmt_reserve_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_reserve_state *st = calloc(1, sizeof(*st));
	unsigned long managed = 0;
	long tx = NET_TX_DEFAULT_PAGES, rx = NET_RX_DEFAULT_PAGES;
	int i;

	if (!st) {
		snprintf(err, errlen,
			 "out of host memory for the reserve tree");
		return -1;
	}
	m->reserve = st;
	mmt_mutex_init(&st->mutex, &reserve_mutex_class);
	pthread_mutex_init(&st->rec_mu, NULL);
	for (i = 0; i < m->nr_zones; i++)
		managed += m->zones[i].managed;
	st->max_pages = (long)(managed / 2);
	st->root.m = m;
	snprintf(st->root.name, sizeof(st->root.name), "total reserve");
	st->root.connected = true;
	st->root.builtin = true;
	/*
	 * No CPU yet and no other thread: the tree is built without the mutex.
	 * The network reserve starts detached (no SOCK_MEMALLOC socket).
	 */
	st->net = node_new(m, "total network reserve");
	st->net_tx = node_new(m, "network TX reserve");
	st->net_rx = node_new(m, "network RX reserve");
	if (!st->net || !st->net_tx || !st->net_rx) {
		snprintf(err, errlen,
			 "out of host memory for the reserve tree");
		return -1;
	}
	st->net->builtin = st->net_tx->builtin = st->net_rx->builtin = true;
	link_child(&st->root, st->net);
	link_child(st->net, st->net_tx);
	link_child(st->net, st->net_rx);
	st->net_tx->connected = st->net_rx->connected = true;
	/* A small machine gets what fits (an eighth of its managed pages each). */
	if (tx + rx > st->max_pages) {
		tx = st->max_pages / 4;
		rx = st->max_pages / 4;
	}
	if (pages_set_locked(st->net_tx, tx) ||
	    pages_set_locked(st->net_rx, rx)) {
		snprintf(err, errlen,
			 "the network reserve does not fit the machine");
		return -1;
	}
	return 0;
}

void _mmt_reserve_destroy(struct mmt_machine *m)
{
	struct mmt_reserve_state *st = rs(m);
	struct mmt_mem_reserve *r, *rn;
	struct mmt_swap_mount *mnt, *mn;
	struct mmt_swapfile *f, *fn;
	struct mmt_sock *sk, *sn;
	struct emerg_rec *e, *en;
	int i;

	if (!st)
		return;
	/* Host memory only: the pages and objects go with the machine. */
	for (mnt = st->mounts; mnt; mnt = mn) {
		mn = mnt->next;
		for (f = mnt->files; f; f = fn) {
			fn = f->next;
			free(f);
		}
		free(mnt);
	}
	for (sk = st->socks; sk; sk = sn) {
		sn = sk->next;
		free(sk);
	}
	for (r = st->all; r; r = rn) {
		rn = r->next_all;
		free(r);
	}
	for (i = 0; i < REC_BUCKETS; i++)
		for (e = st->rec[i]; e; e = en) {
			en = e->next;
			free(e);
		}
	pthread_mutex_destroy(&st->rec_mu);
	free(st);
	m->reserve = NULL;
}
