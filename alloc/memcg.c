/* SPDX-License-Identifier: MIT */
/*
 * alloc/memcg.c - memory cgroups as the slab layer sees them, in the 2014
 * design of seed 003: per-cgroup child caches, charges per slab page, dead
 * caches after offline.
 *
 * Model.  A machine has up to MEMCG_MAX cgroups, each with a small id.  A
 * root cache gets, on its first accounted allocation by a task in a
 * cgroup, a table of children indexed by cgroup id (struct
 * mmt_memcg_children, published once in root->memcg_children), so the
 * lookup on every accounted allocation is two loads and a pin.  A child is
 * created on first use from a context that can sleep, under memcg_mutex
 * then slab_mutex; from atomic context (or without __GFP_DIRECT_RECLAIM)
 * the allocation goes to the root and the child is marked wanted, to be
 * created by the next sleepable allocation or the group work
 * (mmt_memcg_reap), as the kernel defers creation to a workqueue.  The
 * slab pages of a child are charged to its group (the common part calls
 * _mmt_memcg_charge on every slab it adds or frees).
 *
 * Offline: the group stops taking new children and sends its tasks'
 * allocations to the root caches; it waits until no allocation that saw it
 * online is still in flight (the kernel's grace period before deactivating
 * caches), then marks each child dead (mark_dead: min_partial 0, no cpu
 * partial, no array caches) and shrinks it.  A child left with no slab is
 * released at once; the others stay, dead, until the free that discards
 * their last slab calls _mmt_memcg_cache_empty.  That call only records
 * the fact (it runs inside a free path that may still touch the cache
 * when it returns); the release happens at the next safe point: any memcg
 * call, mmt_memcg_reap, or the teardown check.
 *
 * Lifetime.  A cache must not be released under a CPU that uses it.  Per
 * child slot, per CPU, two counters pin it: allocations (from the lookup
 * to _mmt_memcg_alloc_done) and frees (_mmt_memcg_free_begin/_end around
 * the implementation's free and RCU-deferred slab frees).  The lookup pins
 * first and checks that the group is online afterwards; offline marks the
 * group offline first and waits for the allocation pins afterwards, both
 * sequentially consistent: either offline waits for the allocation or the
 * allocation sees the group offline and takes the root.  A dead cache is
 * released when its slab count is 0 and no free pins it; a free pins
 * before the implementation can discard the slab of its object, so a
 * release that sees the slab count reach 0 also sees the pin.
 *
 * Checks: "memcg-charge" (a group's charge equals the pages of its
 * caches' slabs; a charge below 0; an offline group charged with no cache
 * left), "dead-cache-leak" (a dead cache with no slab that nothing will
 * release; at teardown, any dead cache still existing, e.g. kept by an
 * empty frozen slab on a cpu partial list: MMT_BUG_SLUB_FROZEN_DEAD_CACHE).
 *
 * Locks: memcg_mutex (model mutex: group create/offline/destroy, child
 * creation, reaping) -> slab_mutex -> implementation locks.  records_mu
 * is a host mutex (a leaf, any context) for the list of child tables.
 * Charges, counts, pins and the online flag are atomics.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

#define MEMCG_MAX 64 /* cgroups per machine (ids index the child tables) */

struct mmt_memcg {
	struct mmt_machine *m;
	char name[32];
	int id; /* index in the child tables, < MEMCG_MAX */
	_Atomic bool online;
	_Atomic long charged; /* pages of the slabs of its caches */
	_Atomic int nr_caches; /* child caches still existing */
	struct mmt_memcg *next; /* state->groups, memcg_mutex */
};

/* Pins of one child slot by one CPU (padded: CPUs pin their own line). */
struct memcg_pin {
	_Atomic long alloc;
	_Atomic long free;
	char pad[MMT_CACHE_LINE - 2 * sizeof(long)];
};

struct memcg_slot {
	_Atomic(struct mmt_kmem_cache *) cache; /* the child, or NULL */
	_Atomic(struct memcg_pin *) pins; /* [nr_cpus], set before cache */
	/* Dead and without slabs (found so by offline, or told by the
	 * common part): release at the next reap. */
	_Atomic bool empty;
};

struct mmt_memcg_children {
	struct mmt_kmem_cache *root;
	_Atomic uint64_t wanted; /* ids whose child atomic context asked for */
	struct memcg_slot slot[MEMCG_MAX];
	struct mmt_memcg_children *next; /* state->records, records_mu */
};

struct mmt_memcg_state {
	mmt_mutex_t mutex; /* memcg_mutex */
	struct mmt_memcg *groups; /* memcg_mutex */
	/*
	 * Destroyed groups, freed with the machine: a task on another CPU
	 * may have read its group pointer before the destroy moved it to the
	 * root and still be on its way into memcg_mutex with it (the kernel
	 * holds a css reference there and frees after an RCU grace period;
	 * the model keeps the zombie, offline, until teardown).  memcg_mutex.
	 */
	struct mmt_memcg *zombies;
	struct mmt_memcg *by_id[MEMCG_MAX]; /* memcg_mutex */
	pthread_mutex_t records_mu; /* host lock, leaf */
	struct mmt_memcg_children *records;
	_Atomic long nr_empty; /* _mmt_memcg_cache_empty calls (stats) */
};

static MMT_LOCK_CLASS(memcg_mutex_class, "memcg_mutex", MMT_LOCK_MUTEX);

/* ---- helpers ---- */

static inline bool cg_online(const struct mmt_memcg *cg)
{
	return atomic_load_explicit(&cg->online, memory_order_seq_cst);
}

static inline bool cache_dead(const struct mmt_kmem_cache *s)
{
	return atomic_load_explicit(&s->dead, memory_order_acquire);
}

static inline long cache_slabs(const struct mmt_kmem_cache *s)
{
	return atomic_load_explicit(&s->nr_slabs, memory_order_acquire);
}

static inline struct mmt_memcg_children *
children_of(const struct mmt_kmem_cache *root)
{
	return atomic_load_explicit(&root->memcg_children,
				    memory_order_acquire);
}

/* The slot of child @s (alive: the caller holds it or a pin). */
static inline struct memcg_slot *slot_of(const struct mmt_kmem_cache *s)
{
	return &children_of(s->root)->slot[s->memcg->id];
}

static inline struct memcg_pin *my_pin(struct memcg_slot *slot)
{
	return &atomic_load_explicit(&slot->pins,
				     memory_order_acquire)[_mmt_this_cpu->id];
}

static long pins_sum(struct memcg_slot *slot, int nr_cpus, bool alloc)
{
	struct memcg_pin *p =
		atomic_load_explicit(&slot->pins, memory_order_acquire);
	long sum = 0;
	int c;

	if (!p)
		return 0;
	for (c = 0; c < nr_cpus; c++)
		sum += alloc ? atomic_load_explicit(&p[c].alloc,
						    memory_order_seq_cst) :
			       atomic_load_explicit(&p[c].free,
						    memory_order_acquire);
	return sum;
}

static struct mmt_memcg_state *lock_state(struct mmt_machine *m)
{
	struct mmt_memcg_state *st = m->memcg;

	mmt_mutex_lock(&st->mutex);
	return st;
}

/* The child table of @root, created (host memory) if needed; any context. */
static struct mmt_memcg_children *get_children(struct mmt_kmem_cache *root)
{
	struct mmt_memcg_state *st = root->m->memcg;
	struct mmt_memcg_children *rec = children_of(root), *want = NULL;

	if (rec)
		return rec;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return NULL;
	rec->root = root;
	if (!atomic_compare_exchange_strong_explicit(
		    &root->memcg_children, &want, rec, memory_order_acq_rel,
		    memory_order_acquire)) {
		free(rec);
		return want;
	}
	pthread_mutex_lock(&st->records_mu);
	rec->next = st->records;
	st->records = rec;
	pthread_mutex_unlock(&st->records_mu);
	return rec;
}

/* Snapshot of the table list: entries are removed only under memcg_mutex. */
static struct mmt_memcg_children *records_head(struct mmt_memcg_state *st)
{
	struct mmt_memcg_children *r;

	pthread_mutex_lock(&st->records_mu);
	r = st->records;
	pthread_mutex_unlock(&st->records_mu);
	return r;
}

/* ---- releasing a cache (slab_mutex, through the cache walk) ---- */

struct release_arg {
	struct mmt_kmem_cache *target;
	bool done;
};

static void release_one(struct mmt_kmem_cache *s, void *arg)
{
	struct release_arg *a = arg;

	if (s != a->target)
		return;
	_mmt_kmem_cache_release(s);
	a->done = true;
}

/*
 * Release child @s of @slot now (memcg_mutex held); only call when nothing
 * can use it: no slab, no pin (or the caller knows the cache is idle).
 */
static void release_child(struct memcg_slot *slot, struct mmt_kmem_cache *s)
{
	struct mmt_memcg *cg = s->memcg;
	struct release_arg a = { s, false };

	atomic_store_explicit(&slot->cache, NULL, memory_order_seq_cst);
	_mmt_for_each_cache(cg->m, release_one, &a);
	MMT_ASSERT(a.done);
	/* After: the release's own discards may have told us again. */
	atomic_store_explicit(&slot->empty, false, memory_order_relaxed);
	atomic_fetch_sub_explicit(&cg->nr_caches, 1, memory_order_relaxed);
}

/* A dead, empty child with nothing in flight: release it (memcg_mutex). */
static bool try_release(struct mmt_machine *m, struct memcg_slot *slot)
{
	struct mmt_kmem_cache *s =
		atomic_load_explicit(&slot->cache, memory_order_acquire);

	if (!s || !cache_dead(s) ||
	    !atomic_load_explicit(&slot->empty, memory_order_acquire))
		return false;
	/*
	 * Slab count first, then the free pins: a free pins before the
	 * discard that brings the count to 0, so seeing 0 means seeing its
	 * pin until the free is over.
	 */
	if (cache_slabs(s) != 0 || pins_sum(slot, m->nr_cpus, false) != 0 ||
	    pins_sum(slot, m->nr_cpus, true) != 0)
		return false; /* stays marked: retried at the next reap */
	release_child(slot, s);
	return true;
}

/* ---- child creation ---- */

/* Find or create @root's child for @cg (memcg_mutex held); NULL: use root. */
static struct mmt_kmem_cache *child_create(struct mmt_kmem_cache *root,
					   struct mmt_memcg *cg)
{
	struct mmt_memcg_children *rec;
	struct memcg_slot *slot;
	struct mmt_kmem_cache *s;

	if (!cg_online(cg))
		return NULL;
	rec = get_children(root);
	if (!rec)
		return NULL;
	slot = &rec->slot[cg->id];
	atomic_fetch_and_explicit(&rec->wanted, ~(1ull << cg->id),
				  memory_order_relaxed);
	s = atomic_load_explicit(&slot->cache, memory_order_acquire);
	if (s)
		return s;
	if (!atomic_load_explicit(&slot->pins, memory_order_relaxed)) {
		struct memcg_pin *p =
			calloc((size_t)root->m->nr_cpus, sizeof(*p));

		if (!p)
			return NULL;
		atomic_store_explicit(&slot->pins, p, memory_order_release);
	}
	s = _mmt_kmem_cache_create_child_locked(root, cg);
	if (!s)
		return NULL;
	atomic_fetch_add_explicit(&cg->nr_caches, 1, memory_order_relaxed);
	atomic_store_explicit(&slot->cache, s, memory_order_seq_cst);
	return s;
}

/* The group work: wanted children of online groups (memcg_mutex held). */
static void create_wanted(struct mmt_memcg_state *st)
{
	struct mmt_memcg_children *rec;

	for (rec = records_head(st); rec; rec = rec->next) {
		uint64_t w = atomic_exchange_explicit(&rec->wanted, 0,
						      memory_order_relaxed);

		while (w) {
			int id = __builtin_ctzll(w);

			w &= w - 1;
			if (st->by_id[id])
				child_create(rec->root, st->by_id[id]);
		}
	}
}

static void reap_locked(struct mmt_machine *m, struct mmt_memcg_state *st,
			bool create)
{
	struct mmt_memcg_children *rec;
	int id;

	if (create)
		create_wanted(st);
	for (rec = records_head(st); rec; rec = rec->next)
		for (id = 0; id < MEMCG_MAX; id++)
			try_release(m, &rec->slot[id]);
}

void mmt_memcg_reap(struct mmt_machine *m)
{
	struct mmt_memcg_state *st;

	_mmt_might_sleep(MMT_SITE);
	st = lock_state(m);
	reap_locked(m, st, true);
	mmt_mutex_unlock(&st->mutex);
}

/* ---- the common part's hooks ---- */

static struct mmt_kmem_cache *pin_child(struct memcg_slot *slot,
					struct mmt_memcg *cg)
{
	struct memcg_pin *p =
		atomic_load_explicit(&slot->pins, memory_order_acquire);
	struct mmt_kmem_cache *s;
	int c = _mmt_this_cpu->id;

	if (!p)
		return NULL;
	atomic_fetch_add_explicit(&p[c].alloc, 1, memory_order_seq_cst);
	/* After the pin: offline either waits for us or is seen here. */
	if (cg_online(cg)) {
		s = atomic_load_explicit(&slot->cache, memory_order_seq_cst);
		if (s)
			return s;
	}
	atomic_fetch_sub_explicit(&p[c].alloc, 1, memory_order_release);
	return NULL;
}

struct mmt_kmem_cache *_mmt_memcg_cache_for(struct mmt_kmem_cache *s,
					    mmt_gfp_t gfp)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	struct mmt_memcg_state *st;
	struct mmt_memcg_children *rec;
	struct mmt_kmem_cache *child;
	struct mmt_memcg *cg;

	if (s->root) {
		/* Already a child: pinned like a looked-up one. */
		atomic_fetch_add_explicit(&my_pin(slot_of(s))->alloc, 1,
					  memory_order_seq_cst);
		return s;
	}
	cg = __atomic_load_n(&cpu->curr->memcg, __ATOMIC_ACQUIRE);
	if (!cg || !cg_online(cg))
		return s; /* no group, or offline: the root's objects */
	rec = children_of(s);
	if (MMT_LIKELY(rec)) {
		child = pin_child(&rec->slot[cg->id], cg);
		if (MMT_LIKELY(child))
			return child;
	}
	/* First use.  Creation may sleep; from atomic context defer it. */
	if (!(gfp & __GFP_DIRECT_RECLAIM) || !mmt_preemptible()) {
		rec = get_children(s);
		if (rec)
			atomic_fetch_or_explicit(&rec->wanted, 1ull << cg->id,
						 memory_order_relaxed);
		return s;
	}
	st = lock_state(s->m);
	child = child_create(s, cg);
	if (child)
		child = pin_child(&children_of(s)->slot[cg->id], cg);
	mmt_mutex_unlock(&st->mutex);
	return child ? child : s;
}

void _mmt_memcg_alloc_done(struct mmt_kmem_cache *s)
{
	atomic_fetch_sub_explicit(&my_pin(slot_of(s))->alloc, 1,
				  memory_order_release);
}

void _mmt_memcg_free_begin(struct mmt_kmem_cache *s)
{
	/* Ordered before the discard by the slab count's release RMW. */
	atomic_fetch_add_explicit(&my_pin(slot_of(s))->free, 1,
				  memory_order_relaxed);
}

void _mmt_memcg_free_end(struct mmt_kmem_cache *s)
{
	atomic_fetch_sub_explicit(&my_pin(slot_of(s))->free, 1,
				  memory_order_release);
}

void _mmt_memcg_charge(struct mmt_memcg *cg, long pages)
{
	long now = atomic_fetch_add_explicit(&cg->charged, pages,
					     memory_order_relaxed) +
		   pages;

	if (MMT_UNLIKELY(now < 0))
		mmt_violation(
			cg->m, "memcg-charge",
			"cgroup %s: uncharging %ld page(s) leaves its charge at %ld: "
			"pages uncharged that were never charged to it",
			cg->name, -pages, now);
}

void _mmt_memcg_cache_empty(struct mmt_kmem_cache *s)
{
	struct mmt_memcg_state *st = s->m->memcg;

	/* Inside a free path: record it, release at the next reap. */
	if (!s->root || !s->memcg)
		return;
	atomic_fetch_add_explicit(&st->nr_empty, 1, memory_order_relaxed);
	atomic_store_explicit(&slot_of(s)->empty, true, memory_order_release);
}

/* ---- cgroups ---- */

struct mmt_memcg *mmt_memcg_create(struct mmt_machine *m, const char *name)
{
	struct mmt_memcg_state *st;
	struct mmt_memcg *cg;
	int id;

	_mmt_might_sleep(MMT_SITE);
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	st = lock_state(m);
	reap_locked(m, st, true);
	for (id = 0; id < MEMCG_MAX && st->by_id[id]; id++)
		;
	if (id == MEMCG_MAX) {
		mmt_mutex_unlock(&st->mutex);
		free(cg);
		return NULL; /* the model's limit, not a kernel bug */
	}
	cg->m = m;
	snprintf(cg->name, sizeof(cg->name), "%s", name ? name : "memcg");
	cg->id = id;
	atomic_init(&cg->online, true);
	st->by_id[id] = cg;
	cg->next = st->groups;
	st->groups = cg;
	mmt_mutex_unlock(&st->mutex);
	return cg;
}

/* Wait until no allocation that saw @cg online still uses a child of it. */
static void wait_allocs(struct mmt_memcg_state *st, struct mmt_memcg *cg)
{
	struct mmt_memcg_children *rec;

	for (rec = records_head(st); rec; rec = rec->next)
		while (pins_sum(&rec->slot[cg->id], cg->m->nr_cpus, true)) {
			mmt_cond_resched();
			sched_yield();
		}
}

void mmt_memcg_offline(struct mmt_memcg *cg)
{
	struct mmt_machine *m = cg->m;
	struct mmt_memcg_state *st;
	struct mmt_memcg_children *rec;

	_mmt_might_sleep(MMT_SITE);
	st = lock_state(m);
	if (!cg_online(cg)) {
		mmt_mutex_unlock(&st->mutex);
		return;
	}
	atomic_store_explicit(&cg->online, false, memory_order_seq_cst);
	wait_allocs(st, cg);
	for (rec = records_head(st); rec; rec = rec->next) {
		struct memcg_slot *slot = &rec->slot[cg->id];
		struct mmt_kmem_cache *s = atomic_load_explicit(
			&slot->cache, memory_order_acquire);

		if (!s)
			continue;
		_mmt_cache_touch(s);
		atomic_store_explicit(&s->dead, true, memory_order_release);
		s->ops->mark_dead(s);
		s->ops->shrink(s);
		if (cache_slabs(s) == 0)
			atomic_store_explicit(&slot->empty, true,
					      memory_order_release);
		try_release(m, slot); /* empty and idle: at once */
	}
	reap_locked(m, st, true);
	mmt_mutex_unlock(&st->mutex);
}

/* Describe the caches of @cg still existing into @buf (memcg_mutex held). */
static int describe_caches(struct mmt_memcg_state *st, struct mmt_memcg *cg,
			   char *buf, size_t len)
{
	struct mmt_memcg_children *rec;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	for (rec = records_head(st); rec; rec = rec->next) {
		struct mmt_kmem_cache *s = atomic_load_explicit(
			&rec->slot[cg->id].cache, memory_order_acquire);

		if (!s)
			continue;
		n++;
		if (used < len)
			used += (size_t)snprintf(
				buf + used, len - used,
				"%s%s (%s, %ld slab(s), %ld object(s) in use)",
				used ? ", " : "", s->name,
				cache_dead(s) ? "dead" : "alive",
				cache_slabs(s), _mmt_cache_live(s));
	}
	return n;
}

bool mmt_memcg_destroy(struct mmt_memcg *cg)
{
	struct mmt_machine *m = cg->m;
	struct mmt_memcg_state *st;
	struct mmt_memcg **pp;
	struct mmt_task *t;
	char what[512];
	long charged;
	int n;

	_mmt_might_sleep(MMT_SITE);
	st = lock_state(m);
	reap_locked(m, st, true);
	if (cg_online(cg)) {
		mmt_mutex_unlock(&st->mutex);
		return mmt_violation(
			m, "memcg-charge",
			"memcg_destroy(%s): the cgroup is online; offline it first, "
			"its charge (%ld page(s)) would be lost",
			cg->name, mmt_memcg_charged_pages(cg));
	}
	n = describe_caches(st, cg, what, sizeof(what));
	charged = mmt_memcg_charged_pages(cg);
	if (n) {
		mmt_mutex_unlock(&st->mutex);
		return mmt_violation(
			m, "dead-cache-leak",
			"memcg_destroy(%s): %d cache(s) of the offline cgroup still exist "
			"(charge %ld page(s)): %s",
			cg->name, n, charged, what);
	}
	if (charged) {
		mmt_mutex_unlock(&st->mutex);
		return mmt_violation(
			m, "memcg-charge",
			"memcg_destroy(%s): %ld page(s) still charged but no cache of the "
			"cgroup is left to hold them: a charge was never returned",
			cg->name, charged);
	}
	/* A task still in the group falls back to the root (no accounting). */
	pthread_mutex_lock(&m->tasks_mu);
	for (t = m->tasks; t; t = t->next_all)
		if (__atomic_load_n(&t->memcg, __ATOMIC_RELAXED) == cg)
			__atomic_store_n(&t->memcg, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->tasks_mu);
	for (pp = &st->groups; *pp; pp = &(*pp)->next)
		if (*pp == cg) {
			*pp = cg->next;
			break;
		}
	st->by_id[cg->id] = NULL;
	cg->next = st->zombies;
	st->zombies = cg;
	mmt_mutex_unlock(&st->mutex);
	return true;
}

const char *mmt_memcg_name(const struct mmt_memcg *cg)
{
	return cg->name;
}

bool mmt_memcg_is_online(const struct mmt_memcg *cg)
{
	return cg_online(cg);
}

long mmt_memcg_charged_pages(const struct mmt_memcg *cg)
{
	return atomic_load_explicit(&cg->charged, memory_order_relaxed);
}

int mmt_memcg_nr_caches(const struct mmt_memcg *cg)
{
	return atomic_load_explicit(&cg->nr_caches, memory_order_relaxed);
}

void mmt_task_set_memcg(struct mmt_task *t, struct mmt_memcg *cg)
{
	MMT_ASSERT(!cg || cg->m == t->m);
	__atomic_store_n(&t->memcg, cg, __ATOMIC_RELEASE);
}

struct mmt_memcg *mmt_task_memcg(const struct mmt_task *t)
{
	return __atomic_load_n(&t->memcg, __ATOMIC_ACQUIRE);
}

/* ---- root cache destroy ---- */

bool _mmt_memcg_destroy_children(struct mmt_kmem_cache *root)
{
	struct mmt_machine *m = root->m;
	struct mmt_memcg_state *st;
	struct mmt_memcg_children *rec, **pp;
	bool ok = true;
	int id;

	st = lock_state(m);
	rec = children_of(root);
	if (!rec) {
		mmt_mutex_unlock(&st->mutex);
		return true;
	}
	for (id = 0; id < MEMCG_MAX; id++) {
		struct mmt_kmem_cache *s = atomic_load_explicit(
			&rec->slot[id].cache, memory_order_acquire);
		long live;

		if (!s)
			continue;
		_mmt_cache_touch(s);
		s->ops->shrink(s);
		live = _mmt_cache_live(s);
		if (live)
			ok = mmt_violation(
				m, "slab-leak",
				"kmem_cache_destroy(%s): its child %s still has %ld object(s) "
				"allocated; the cache is kept",
				root->name, s->name, live);
	}
	if (!ok) {
		mmt_mutex_unlock(&st->mutex);
		return false;
	}
	/*
	 * The shrink queued the slabs of TYPESAFE_BY_RCU children for a grace
	 * period; their callbacks use the child: let them run before it goes
	 * (they only free pages and record an empty dead cache, never taking
	 * memcg_mutex).
	 */
	if (root->flags & MMT_SLAB_TYPESAFE_BY_RCU)
		mmt_rcu_barrier(m);
	for (id = 0; id < MEMCG_MAX; id++) {
		struct mmt_kmem_cache *s = atomic_load_explicit(
			&rec->slot[id].cache, memory_order_acquire);

		if (s)
			release_child(&rec->slot[id], s);
	}
	pthread_mutex_lock(&st->records_mu);
	for (pp = &st->records; *pp; pp = &(*pp)->next)
		if (*pp == rec) {
			*pp = rec->next;
			break;
		}
	pthread_mutex_unlock(&st->records_mu);
	atomic_store_explicit(&root->memcg_children, NULL,
			      memory_order_release);
	mmt_mutex_unlock(&st->mutex);
	for (id = 0; id < MEMCG_MAX; id++)
		free(atomic_load_explicit(&rec->slot[id].pins,
					  memory_order_relaxed));
	free(rec);
	return true;
}

/* ---- validators ---- */

struct tally {
	long pages[MEMCG_MAX];
	int caches[MEMCG_MAX];
	bool ok;
	bool teardown;
};

static void tally_one(struct mmt_kmem_cache *s, void *arg)
{
	struct tally *t = arg;
	struct memcg_slot *slot;
	long slabs;

	if (!s->memcg)
		return;
	t->pages[s->memcg->id] +=
		atomic_load_explicit(&s->nr_slab_pages, memory_order_relaxed);
	t->caches[s->memcg->id]++;
	if (!cache_dead(s))
		return;
	slabs = cache_slabs(s);
	slot = slot_of(s);
	if (t->teardown)
		t->ok = mmt_violation(
			s->m, "dead-cache-leak",
			"teardown: dead cache %s of offline cgroup %s still exists with "
			"%ld slab(s) (%ld page(s)), %ld object(s) in use, %ld free: %s",
			s->name, s->memcg->name, slabs,
			atomic_load_explicit(&s->nr_slab_pages,
					     memory_order_relaxed),
			_mmt_cache_live(s), s->ops->free_objects(s),
			slabs && !_mmt_cache_live(s) ?
				"an empty slab kept where a dead cache may keep none "
				"(a frozen slab on a cpu partial list?)" :
			slabs ? "its objects were never freed" :
				"nothing released it after its last slab went");
	else if (slabs == 0 &&
		 !atomic_load_explicit(&slot->empty, memory_order_acquire))
		t->ok = mmt_violation(
			s->m, "dead-cache-leak",
			"dead cache %s of offline cgroup %s has no slab left, yet nothing "
			"will release it (its last slab went without telling memcg)",
			s->name, s->memcg->name);
}

static bool check_groups(struct mmt_machine *m, struct mmt_memcg_state *st,
			 struct tally *t, bool teardown)
{
	struct mmt_memcg *cg;
	bool ok = true;

	for (cg = st->groups; cg; cg = cg->next) {
		long charged = mmt_memcg_charged_pages(cg);

		if (charged != t->pages[cg->id])
			ok = mmt_violation(
				m, "memcg-charge",
				"cgroup %s is charged %ld page(s) but the slabs of its %d "
				"cache(s) hold %ld page(s)",
				cg->name, charged, t->caches[cg->id],
				t->pages[cg->id]);
		else if (teardown && !cg_online(cg) && charged &&
			 !t->caches[cg->id])
			ok = mmt_violation(
				m, "memcg-charge",
				"teardown: offline cgroup %s still charged %ld page(s) with no "
				"cache left",
				cg->name, charged);
	}
	return ok;
}

bool _mmt_memcg_is_valid(struct mmt_machine *m)
{
	struct mmt_memcg_state *st;
	struct tally t;
	bool ok;

	/*
	 * No cgroup: nothing is charged and no cache is a child (outside
	 * teardown, tally_one() only counts children's pages for
	 * check_groups()), so there is nothing to compare.  Read without
	 * memcg_mutex: validators run on a quiescent machine, and this one
	 * runs after every operation of the interpreter at oracle level 2.
	 */
	if (!m->memcg->groups)
		return true;
	st = lock_state(m);
	memset(&t, 0, sizeof(t));
	t.ok = true;
	_mmt_for_each_cache(m, tally_one, &t);
	ok = check_groups(m, st, &t, false) && t.ok;
	mmt_mutex_unlock(&st->mutex);
	return ok;
}

bool _mmt_memcg_teardown_check(struct mmt_machine *m)
{
	struct mmt_memcg_state *st;
	struct tally t;
	bool ok;

	memset(&t, 0, sizeof(t));
	t.ok = true;
	t.teardown = true;
	st = lock_state(m);
	reap_locked(m, st, false);
	_mmt_for_each_cache(m, tally_one, &t);
	ok = check_groups(m, st, &t, true) && t.ok;
	mmt_mutex_unlock(&st->mutex);
	return ok;
}

/* ---- machine ---- */

int _mmt_memcg_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_memcg_state *st = calloc(1, sizeof(*st));

	if (!st) {
		snprintf(err, errlen, "out of host memory for memcg");
		return -1;
	}
	mmt_mutex_init(&st->mutex, &memcg_mutex_class);
	pthread_mutex_init(&st->records_mu, NULL);
	m->memcg = st;
	return 0;
}

void _mmt_memcg_destroy(struct mmt_machine *m)
{
	struct mmt_memcg_state *st = m->memcg;
	struct mmt_memcg_children *rec, *rnext;
	struct mmt_memcg *cg, *next;
	int id;

	if (!st)
		return;
	/* Host memory only: the caches themselves go with the slab layer. */
	for (rec = st->records; rec; rec = rnext) {
		rnext = rec->next; /* rec->root may be gone: not touched */
		for (id = 0; id < MEMCG_MAX; id++)
			free(atomic_load_explicit(&rec->slot[id].pins,
						  memory_order_relaxed));
		free(rec);
	}
	for (cg = st->groups; cg; cg = next) {
		next = cg->next;
		free(cg);
	}
	for (cg = st->zombies; cg; cg = next) {
		next = cg->next;
		free(cg);
	}
	pthread_mutex_destroy(&st->records_mu);
	free(st);
	m->memcg = NULL;
}
