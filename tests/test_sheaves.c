/* SPDX-License-Identifier: MIT */
/*
 * tests/test_sheaves.c - SLUB with sheaves (alloc/slab_sheaves.c): the
 * order in which allocations and frees use the main sheaf, the spare, the
 * barn and the slabs; pfmemalloc objects kept out of every sheaf; the
 * prefilled-sheaf guarantee; node-specific allocations that bypass
 * sheaves.  Every machine here runs slab=sheaves (the API-wide slab tests
 * of tests/test_slab.c run on sheaves too).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "slab.h"
#include "mmt_test.h"

long _mmt_sheaves_stat(const struct mmt_kmem_cache *s, int id,
		       const char *what);

static long stat(const struct mmt_kmem_cache *s, int id, const char *what)
{
	return _mmt_sheaves_stat(s, id, what);
}

static struct mmt_machine *sheaves_machine(int nodes, int cpus)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SHEAVES;
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = cpus;
	return t_machine(&cfg);
}

struct mmt_lock *_mmt_sheaves_lock(const struct mmt_kmem_cache *s, int id,
				   const char *what);

/* Another CPU holds (or lets go of) @l: its word, as that CPU would set it. */
static void hold_word(struct mmt_lock *l, bool held)
{
	atomic_store(&l->owner_cpu, held ? 1 : -1);
	atomic_store(&l->locked, held ? 1u : 0u);
}

static bool is_pfmemalloc_obj(struct mmt_machine *m, void *obj)
{
	return slab_is_pfmemalloc(_mmt_virt_to_slab(m, obj));
}

MMT_TEST(sheaf_capacity_follows_the_object_size_unless_the_creator_gives_one)
{
	struct mmt_machine *m = sheaves_machine(1, 1);
	static const struct {
		size_t size;
		unsigned int cap;
	} want[] = { { 8, 32 },	  { 64, 32 },  { 256, 32 }, { 512, 16 },
		     { 1024, 8 }, { 2048, 4 }, { 8192, 4 } };
	struct mmt_kmem_cache_args args = { .sheaf_capacity = 6 };
	struct mmt_kmem_cache *s;
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(want); i++) {
		s = mmt_kmem_cache_create("cap", want[i].size, 0, 0, NULL);
		MMT_CHECK(s != NULL);
		MMT_CHECK_EQ(stat(s, 0, "capacity"), want[i].cap);
		MMT_CHECK_EQ(mmt_kmem_cache_sheaf_capacity(s), want[i].cap);
		mmt_kmem_cache_destroy(s);
	}
	s = mmt_kmem_cache_create_args("cap6", 64, &args);
	MMT_CHECK_EQ(stat(s, 0, "capacity"), 6);
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
	args.sheaf_capacity = MMT_SHEAF_MAX_CAPACITY + 1;
	MMT_CHECK(mmt_kmem_cache_create_args("cap-bad", 64, &args) == NULL);
	MMT_CHECK_VIOLATED(m, "slab-bad-argument");
}

/*
 * Frees fill main, then the spare, then the barn's full list; allocations
 * take them back in the opposite order: main, the spare (a swap), the barn
 * (an exchange), and only then the slabs.
 */
MMT_TEST(sheaves_free_into_main_spare_and_barn_and_allocate_back_in_that_order)
{
	struct mmt_machine *m = sheaves_machine(1, 1);
	struct mmt_kmem_cache_args args = { .sheaf_capacity = 4 };
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create_args("order", 64, &args);
	void *o[16];
	unsigned int i;

	for (i = 0; i < 16; i++) {
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(o[i] != NULL);
	}
	/* 16 allocations of refills of 4: main is empty again. */
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	for (i = 0; i < 4; i++)
		mmt_kmem_cache_free(s, o[i]);
	MMT_CHECK_EQ(stat(s, 0, "main"), 4);
	mmt_kmem_cache_free(s, o[4]); /* main full: it becomes the spare */
	MMT_CHECK_EQ(stat(s, 0, "spare"), 4);
	MMT_CHECK_EQ(stat(s, 0, "main"), 1);
	for (i = 5; i < 9; i++)
		mmt_kmem_cache_free(s, o[i]);
	/* main and spare full: main went to the barn for an empty sheaf */
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 1);
	MMT_CHECK_EQ(stat(s, 0, "main"), 1);
	MMT_CHECK(mmt_slab_is_valid(m));
	/* Back: main's one, then the spare's four (swap), then the barn's. */
	o[0] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	o[1] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat(s, 0, "main"), 3);
	MMT_CHECK_EQ(stat(s, 0, "spare"), 0);
	for (i = 2; i < 5; i++)
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	o[5] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 0);
	MMT_CHECK_EQ(stat(s, 0, "main"), 3);
	MMT_CHECK(mmt_slab_is_valid(m));
	for (i = 0; i < 16; i++)
		if (i < 6 || i > 8) /* o[6..8] are still free */
			mmt_kmem_cache_free(s, o[i]);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/*
 * Main and spare both empty: main is exchanged for a full sheaf of the
 * barn and joins the barn's empty list, counted.  With
 * sheaf-barn-exchange-uncounted the empty sheaf is linked but not counted,
 * and the slab-barn check (is_valid) reports the count behind the list.
 */
static void barn_exchange(bool bug)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_kmem_cache_args args = { .sheaf_capacity = 4 };
	struct mmt_kmem_cache *s;
	void *o[9];
	unsigned int i;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SHEAVES;
	cfg.nr_nodes = 1;
	cfg.nr_cpus = 1;
	cfg.bugs = bug ? 1ull << MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED : 0;
	m = t_machine(&cfg);
	s = mmt_kmem_cache_create_args("exchange", 64, &args);
	for (i = 0; i < 9; i++)
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat(s, 0, "main"), 3);
	for (i = 0; i < 9; i++)
		mmt_kmem_cache_free(s, o[i]);
	/* main 4 + 1 went to the spare, 4 more: main full to the barn */
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 1);
	MMT_CHECK_EQ(stat(s, 0, "barn_empty"), 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	/* main (4), the spare (swap, 4), then both empty: the exchange */
	for (i = 0; i < 9; i++)
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 0);
	if (!bug) {
		MMT_CHECK_EQ(stat(s, 0, "barn_empty"), 1);
		MMT_CHECK(mmt_slab_is_valid(m));
		MMT_CHECK_CLEAN(m);
	} else {
		/* linked, not counted */
		MMT_CHECK_EQ(stat(s, 0, "barn_empty"), 0);
		MMT_CHECK(!mmt_slab_is_valid(m));
		MMT_CHECK_VIOLATED(m, "slab-barn");
	}
	for (i = 0; i < 9; i++)
		mmt_kmem_cache_free(s, o[i]);
	if (!bug) {
		mmt_kmem_cache_destroy(s);
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(sheaves_exchange_of_an_empty_main_with_the_barn_counts_the_empty_sheaf)
{
	barn_exchange(false);
}

MMT_TEST(slab_barn_fires_when_the_barn_count_falls_behind_its_list)
{
	barn_exchange(true);
}

/* The barn keeps at most 10 full sheaves; beyond, main goes to the slabs. */
MMT_TEST(sheaves_barn_never_holds_more_than_its_limit_of_full_sheaves)
{
	struct mmt_machine *m = sheaves_machine(1, 1);
	struct mmt_kmem_cache_args args = { .sheaf_capacity = 4 };
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create_args("barn", 64, &args);
	enum {
		N = 200
	};
	void *o[N];
	unsigned int i;

	for (i = 0; i < N; i++)
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < N; i++) {
		mmt_kmem_cache_free(s, o[i]);
		MMT_CHECK(stat(s, 0, "barn_full") <= 10);
	}
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 10);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_shrink(s);
	MMT_CHECK_EQ(stat(s, 0, "barn_full"), 0);
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	MMT_CHECK_EQ(stat(s, 0, "partial"), 0); /* every empty slab freed */
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/*
 * Below min only an entitled caller gets memory (a pfmemalloc slab).  Its
 * objects go straight back to their slab when freed, every refill runs
 * with __GFP_NOMEMALLOC (prefill, return to the barn, the allocation path
 * of an entitled caller too): no sheaf or barn ever holds one.
 */
MMT_TEST(sheaves_pfmemalloc_object_never_reaches_the_barn)
{
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .slab = MMT_SLAB_SHEAVES });
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("pfm", 512, 0, 0, NULL);
	struct mmt_slab_sheaf *f;
	struct mmt_page *held[1024];
	void *r[32], *plain;
	unsigned int n, i, got = 0;

	mmt_slab_memalloc_socks_changed(m, true);
	n = t_take_pages_until(m, 0, 8, held, 1024);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	for (i = 0; i < 32; i++) {
		r[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
		MMT_CHECK(r[i] != NULL);
		got += is_pfmemalloc_obj(m, r[i]);
	}
	MMT_CHECK(got > 0); /* the reserves were used */
	/* An entitled prefill or return refill takes no reserve object. */
	f = mmt_kmem_cache_prefill_sheaf(s, GFP_KERNEL, 2);
	if (f)
		mmt_kmem_cache_return_sheaf(s, GFP_KERNEL, f);
	for (i = 0; i < 32; i++)
		mmt_kmem_cache_free(s, r[i]);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	MMT_CHECK(!s->ops->pfmemalloc_in_percpu(s, 0));
	MMT_CHECK(!s->ops->pfmemalloc_in_percpu(s, 1));
	MMT_CHECK(mmt_slab_is_valid(m));
	/* An ordinary caller gets an ordinary object or nothing. */
	plain = mmt_kmem_cache_alloc(s, GFP_NOWAIT | __GFP_NOWARN);
	MMT_CHECK(!plain || !is_pfmemalloc_obj(m, plain));
	mmt_kmem_cache_free(s, plain);
	MMT_CHECK_CLEAN(m);
	t_give_pages_back(held, n);
	mmt_slab_memalloc_socks_changed(m, false);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/*
 * A prefilled sheaf of count objects serves count allocations whatever
 * memory is left and whatever the context (a hard irq with GFP_ATOMIC
 * here), and no more; oversize sheaves (count above the capacity) too;
 * a refill to a larger count replaces it.
 */
MMT_TEST(prefilled_sheaf_guarantees_its_count)
{
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .slab = MMT_SLAB_SHEAVES });
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("prefill", 256, 0, 0, NULL);
	unsigned int cap = mmt_kmem_cache_sheaf_capacity(s), counts[2], c, i;
	struct mmt_page *held[1024];
	unsigned int n;

	counts[0] = cap / 2;
	counts[1] = cap + 7; /* oversize */
	for (c = 0; c < 2; c++) {
		struct mmt_slab_sheaf *f =
			mmt_kmem_cache_prefill_sheaf(s, GFP_KERNEL, counts[c]);
		void *o[64];

		MMT_CHECK(f != NULL);
		MMT_CHECK(mmt_slab_sheaf_size(f) >= counts[c]);
		/* Take every page, reserves included: nothing is left. */
		n = t_take_pages_until(m, 0, 0, held, 1024);
		mmt_irq_enter();
		for (i = 0; i < counts[c]; i++) {
			o[i] = mmt_kmem_cache_alloc_from_sheaf(s, GFP_ATOMIC,
							       f);
			MMT_CHECK(o[i] != NULL);
		}
		mmt_irq_exit();
		while (mmt_slab_sheaf_size(f))
			mmt_kmem_cache_free(s, mmt_kmem_cache_alloc_from_sheaf(
						       s, GFP_KERNEL, f));
		MMT_CHECK(mmt_kmem_cache_alloc_from_sheaf(s, GFP_KERNEL, f) ==
			  NULL);
		t_give_pages_back(held, n);
		/* Refill to the count again (oversize: a new sheaf). */
		MMT_CHECK_EQ(mmt_kmem_cache_refill_sheaf(s, GFP_KERNEL, &f,
							 counts[c] + 1),
			     0);
		MMT_CHECK(mmt_slab_sheaf_size(f) >= counts[c] + 1);
		MMT_CHECK(mmt_slab_is_valid(m));
		mmt_kmem_cache_return_sheaf(s, GFP_KERNEL, f);
		for (i = 0; i < counts[c]; i++)
			mmt_kmem_cache_free(s, o[i]);
		MMT_CHECK(mmt_slab_is_valid(m));
	}
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* kmem_cache_alloc_node for another node: that node's slab, no sheaf. */
MMT_TEST(sheaves_node_specific_allocation_bypasses_the_sheaves)
{
	struct mmt_machine *m = sheaves_machine(2, 2);
	struct mmt_kmem_cache *s =
		mmt_kmem_cache_create("node", 128, 0, 0, NULL);
	int nid = m->cpus[0].nid, other = 1 - nid;
	void *o;

	o = mmt_kmem_cache_alloc_node(s, GFP_KERNEL, other);
	MMT_CHECK(o != NULL);
	MMT_CHECK_EQ((int)slab_meta(_mmt_virt_to_slab(m, o))->node, other);
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	MMT_CHECK_EQ(stat(s, other, "partial"), 1);
	mmt_kmem_cache_free(s, o); /* remote: straight back to its slab */
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
	MMT_CHECK_CLEAN(m);
}

/* The local node's allocation fills main; a free refuses the top twice. */
/*
 * kmalloc_nolock/kfree_nolock on sheaves (6.18): the main sheaf by trylock
 * of the per-cpu lock.  With the barn's lock and the node's list_lock held
 * by another CPU an allocation that finds main empty fails (its fresh
 * slab of alloc_pages_nolock pages goes back) and never spins (no
 * nolock-spin); with the per-cpu lock held kfree_nolock defers, and the
 * next ordinary free on the CPU gives the object back.
 */
MMT_TEST(
	kmalloc_nolock_and_kfree_nolock_use_the_main_sheaf_and_never_spin_on_sheaf_locks)
{
	struct mmt_machine *m = sheaves_machine(1, 2);
	void *a = mmt_kmalloc(64, GFP_KERNEL), *o[64];
	struct mmt_kmem_cache *s;
	struct mmt_lock *pcs, *barn, *list;
	long cap;
	int i, n = 0;

	MMT_CHECK(a != NULL);
	s = slab_meta(_mmt_virt_to_slab(m, a))->cache;
	pcs = _mmt_sheaves_lock(s, 0, "pcs");
	barn = _mmt_sheaves_lock(s, 0, "barn");
	list = _mmt_sheaves_lock(s, 0, "list");
	cap = stat(s, 0, "capacity");
	MMT_CHECK(cap <= 64);
	MMT_CHECK_EQ(stat(s, 0, "main"), cap - 1); /* a refilled sheaf */
	mmt_kfree_nolock(a);
	MMT_CHECK_EQ(stat(s, 0, "main"), cap);
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 0);

	hold_word(barn, true);
	hold_word(list, true);
	for (i = 0; i < cap; i++) {
		o[n] = mmt_kmalloc_nolock(64, 0, -1);
		MMT_CHECK(o[n] != NULL);
		n++;
	}
	MMT_CHECK_EQ(stat(s, 0, "main"), 0);
	MMT_CHECK(mmt_kmalloc_nolock(64, 0, -1) == NULL);
	MMT_CHECK_CLEAN(m);

	hold_word(pcs, true);
	mmt_kfree_nolock(o[--n]);
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 1);
	hold_word(pcs, false);
	for (i = 0; i < n; i++)
		mmt_kfree_nolock(o[i]);
	MMT_CHECK_EQ(stat(s, 0, "main"), n);
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 1);
	MMT_CHECK_CLEAN(m);

	/* (The validator takes the barn's lock: not while "another" has it.) */
	hold_word(barn, false);
	hold_word(list, false);
	mmt_kfree(mmt_kmalloc(64, GFP_KERNEL));
	MMT_CHECK_EQ(mmt_slab_deferred_objects(m), 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(sheaves_refuse_a_double_free_of_the_object_on_top_of_main)
{
	struct mmt_machine *m = sheaves_machine(1, 1);
	struct mmt_kmem_cache *s = mmt_kmem_cache_create("df", 64, 0, 0, NULL);
	void *a = mmt_kmem_cache_alloc(s, GFP_KERNEL);

	MMT_CHECK_EQ(stat(s, 0, "main"), stat(s, 0, "capacity") - 1);
	mmt_kmem_cache_free(s, a);
	mmt_kmem_cache_free(s, a);
	MMT_CHECK_VIOLATED(m, "slab-double-free");
	MMT_CHECK_EQ(stat(s, 0, "main"), stat(s, 0, "capacity"));
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_kmem_cache_destroy(s);
}

/*
 * kvfree_rcu of an object of a cache with sheaves fills this CPU's rcu_free
 * sheaf; a full one waits for one grace period as a whole, and
 * kvfree_rcu_barrier hands a partly filled one over too.  Nothing is freed
 * before its grace period (rcu-early-free stays silent) and everything is
 * freed after.
 */
MMT_TEST(kvfree_rcu_batches_objects_in_the_rcu_free_sheaf_until_a_grace_period)
{
	struct mmt_machine *m = sheaves_machine(1, 1);
	struct mmt_kmem_cache_args args = { .sheaf_capacity = 4 };
	struct mmt_kmem_cache *s = mmt_kmem_cache_create_args("rcu", 64, &args);
	struct mmt_slab_info info;
	void *o[6];
	unsigned int i;

	for (i = 0; i < 6; i++)
		o[i] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
	for (i = 0; i < 3; i++)
		mmt_kvfree_rcu(o[i]);
	MMT_CHECK_EQ(stat(s, 0, "rcu_free"), 3);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 3);
	mmt_kvfree_rcu(o[3]); /* full: to call_rcu */
	MMT_CHECK_EQ(stat(s, 0, "rcu_free"), -1);
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.live, 6); /* nothing freed before the grace period */
	mmt_kvfree_rcu(o[4]);
	MMT_CHECK_EQ(stat(s, 0, "rcu_free"), 1);
	MMT_CHECK(mmt_slab_is_valid(m));
	mmt_synchronize_rcu();
	mmt_rcu_barrier(m);
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.live, 2); /* the four of the full sheaf went */
	mmt_kvfree_rcu_barrier(m); /* and the partly filled one */
	mmt_slab_info(s, &info);
	MMT_CHECK_EQ(info.live, 1);
	MMT_CHECK_EQ(mmt_kvfree_rcu_pending(m), 0);
	mmt_kvfree_rcu(o[5]);
	mmt_kmem_cache_destroy(s); /* waits for o[5]: no leak */
	MMT_CHECK_CLEAN(m);
}
