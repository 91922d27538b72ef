/* SPDX-License-Identifier: MIT */
/*
 * tests/test_reserve.c - the emergency reserve tree, its watermarks and
 * estimates, charges, memalloc sockets and network swap files (seed 004),
 * and the three reserve bugs caught by their checks.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mmt_test.h"

static struct mmt_machine *machine_with(uint64_t bugs, int cpus)
{
	struct mmt_config cfg;

	mmt_config_default(&cfg);
	cfg.bugs = bugs;
	cfg.nr_cpus = cpus;
	return t_machine(&cfg);
}

static unsigned long managed_total(struct mmt_machine *m)
{
	unsigned long t = 0;
	int z;

	for (z = 0; z < m->nr_zones; z++)
		t += m->zones[z].managed;
	return t;
}

/* The min watermark of every zone is its base plus its share of @total. */
static void check_min_watermarks(struct mmt_machine *m, long total)
{
	unsigned long managed = managed_total(m), sum = 0;
	int z;

	for (z = 0; z < m->nr_zones; z++) {
		struct mmt_zone_info zi;
		unsigned long share =
			((unsigned long)total * m->zones[z].managed + managed -
			 1) /
			managed;

		MMT_CHECK(mmt_zone_info(m, z, &zi));
		MMT_CHECK_EQ(zi.wmark_min, _mmt_zone_base_min(m, z) + share);
		sum += zi.wmark_min - _mmt_zone_base_min(m, z);
	}
	MMT_CHECK(sum >= (unsigned long)total); /* never short of the total */
}

MMT_TEST(reserve_pages_aggregate_up_the_tree)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *root = mmt_mem_reserve_root(m);
	struct mmt_mem_reserve *a = mmt_mem_reserve_create(m, "a", root);
	struct mmt_mem_reserve *b = mmt_mem_reserve_create(m, "b", a);
	struct mmt_mem_reserve *c = mmt_mem_reserve_create(m, "c", a);

	MMT_CHECK(a && b && c);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(b, 10), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(c, 5), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 1), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 16);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 16);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(c, 2), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 13);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 13);
	MMT_CHECK_EQ(_mmt_page_alloc_emergency(m), 13);
	MMT_CHECK(mmt_reserve_is_valid(m));
	mmt_mem_reserve_disconnect(a);
	mmt_mem_reserve_destroy(b);
	mmt_mem_reserve_destroy(c);
	mmt_mem_reserve_destroy(a);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(reserve_disconnect_keeps_tracking_the_need_but_reserves_nothing)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *root = mmt_mem_reserve_root(m);
	struct mmt_mem_reserve *a = mmt_mem_reserve_create(m, "a", root);
	struct mmt_mem_reserve *b = mmt_mem_reserve_create(m, "b", a);

	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(b, 10), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 10);
	mmt_mem_reserve_disconnect(a);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 0);
	MMT_CHECK_EQ(_mmt_page_alloc_emergency(m), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 10);
	/* The need keeps being tracked while nothing is reserved. */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(b, 20), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 20);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 0);
	MMT_CHECK_EQ(_mmt_page_alloc_emergency(m), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_connect(a, root), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 20);
	MMT_CHECK_EQ(_mmt_page_alloc_emergency(m), 20);
	/* A node cannot go under itself. */
	MMT_CHECK_EQ(mmt_mem_reserve_connect(a, b), -1);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(reserve_watermarks_rise_by_the_connected_total_and_fall_on_disconnect)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *a =
		mmt_mem_reserve_create(m, "a", mmt_mem_reserve_root(m));
	struct mmt_mem_reserve *b = mmt_mem_reserve_create(m, "b", NULL);
	unsigned long low0[8];
	int z;

	MMT_CHECK(m->nr_zones == 2 &&
		  m->nr_zones <= 8); /* DMA32 + Normal: a split */
	for (z = 0; z < m->nr_zones; z++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		low0[z] = zi.wmark_low;
	}
	check_min_watermarks(m, 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 777), 0);
	check_min_watermarks(m, 777);
	/* A detached node reserves nothing, connected it adds its pages. */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(b, 100), 0);
	check_min_watermarks(m, 777);
	MMT_CHECK_EQ(mmt_mem_reserve_connect(b, a), 0);
	check_min_watermarks(m, 877);
	for (z = 0; z < m->nr_zones; z++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		MMT_CHECK(zi.wmark_low >
			  low0[z]); /* low and high move with min */
	}
	mmt_mem_reserve_disconnect(b);
	check_min_watermarks(m, 777);
	mmt_mem_reserve_disconnect(a);
	check_min_watermarks(m, 0);
	for (z = 0; z < m->nr_zones; z++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		MMT_CHECK_EQ(zi.wmark_low, low0[z]);
	}
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

static unsigned long allocated_pages(struct mmt_machine *m)
{
	unsigned long t = 0;
	int z;

	for (z = 0; z < m->nr_zones; z++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		t += zi.allocated;
	}
	return t;
}

/* Allocate @nr kmalloc(@size) on every CPU in turn; pages they took. */
static long kmalloc_pages_used(struct mmt_machine *m, size_t size, int nr)
{
	void **objs = calloc((size_t)nr, sizeof(void *));
	unsigned long before = allocated_pages(m), after;
	int i;

	MMT_CHECK(objs != NULL);
	for (i = 0; i < nr; i++) {
		MMT_CHECK(mmt_migrate(i % m->nr_cpus));
		objs[i] = mmt_kmalloc(size, GFP_KERNEL);
		MMT_CHECK(objs[i] != NULL);
	}
	after = allocated_pages(m);
	for (i = 0; i < nr; i++)
		mmt_kfree(objs[i]);
	MMT_CHECK(mmt_migrate(0));
	free(objs);
	return (long)(after - before);
}

MMT_SLAB_TEST(reserve_kmalloc_estimate_errs_generous)
{
	static const size_t sizes[] = { 8,    64,   96,	  100,	200,  700,
					3000, 4096, 5000, 8192, 20000 };
	static const int nrs[] = { 1, 7, 100, 333 };
	unsigned int i, j, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < MMT_ARRAY_SIZE(sizes); i++)
			for (j = 0; j < MMT_ARRAY_SIZE(nrs); j++) {
				struct mmt_config cfg;
				struct mmt_machine *m;
				long est, used;
				long cpu_slack = (4l << 3) *
						 (t_slab_impl() == MMT_SLAB_SHEAVES ?
							  2 :
							  1);

				mmt_config_default(&cfg);
				cfg.nr_cpus = 4;
				cfg.slab_debug =
					k == 1; /* bigger slots, same promise */
				m = t_machine(&cfg);
				est = mmt_kmalloc_estimate_pages(sizes[i],
								 nrs[j]);
				used = kmalloc_pages_used(m, sizes[i], nrs[j]);
				MMT_CHECK_MSG(
					est >= used,
					"kmalloc(%zu) x %d (slab_debug %u): estimate %ld < %ld "
					"page(s) really used",
					sizes[i], nrs[j], k, est, used);
				/*
				 * Generous, not absurd: within the per-cpu
				 * slack, a slab of order <= 3 per CPU; with
				 * sheaves a CPU's sheaf refill may straddle
				 * one slab more.
				 */
				MMT_CHECK(est <= 2 * used + cpu_slack + 8);
				MMT_CHECK_CLEAN(m);
			}
	MMT_CHECK_EQ(mmt_kmalloc_estimate_pages(100, 0), 0);
	MMT_CHECK_EQ(mmt_kmalloc_estimate_pages(100, -1), -1);
}

MMT_SLAB_TEST(reserve_kmem_cache_estimate_errs_generous)
{
	static const size_t sizes[] = { 24, 300, 1500, 3000 };
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(sizes); i++) {
		struct mmt_machine *m = machine_with(0, 4);
		struct mmt_mem_reserve *r =
			mmt_mem_reserve_create(m, "objs", NULL);
		struct mmt_kmem_cache *s =
			mmt_kmem_cache_create("reserve-test", sizes[i], 0,
					      MMT_SLAB_HWCACHE_ALIGN, NULL);
		int nr = 1 + (int)t_rand_below(400), n;
		void **objs = calloc((size_t)nr, sizeof(void *));
		unsigned long before;
		long est, used;

		MMT_CHECK(s && objs && r);
		MMT_CHECK_EQ(mmt_mem_reserve_kmem_cache_set(r, s, nr), 0);
		est = mmt_mem_reserve_pages(r);
		MMT_CHECK_EQ(est, mmt_kmem_cache_estimate_pages(s, nr));
		before = allocated_pages(m);
		for (n = 0; n < nr; n++) {
			MMT_CHECK(mmt_migrate(n % 4));
			objs[n] = mmt_kmem_cache_alloc(s, GFP_KERNEL);
			MMT_CHECK(objs[n] != NULL);
		}
		used = (long)(allocated_pages(m) - before);
		MMT_CHECK_MSG(est >= used,
			      "cache of %zu x %d: estimate %ld < %ld used",
			      sizes[i], nr, est, used);
		for (n = 0; n < nr; n++)
			mmt_kmem_cache_free(s, objs[n]);
		MMT_CHECK(mmt_migrate(0));
		mmt_kmem_cache_destroy(s);
		free(objs);
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(reserve_set_refuses_more_memory_than_the_machine_has)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *a =
		mmt_mem_reserve_create(m, "a", mmt_mem_reserve_root(m));
	struct mmt_mem_reserve *d = mmt_mem_reserve_create(m, "detached", NULL);
	long half = (long)(managed_total(m) / 2);

	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 50), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, half + 1), -1);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 50); /* the old value is kept */
	MMT_CHECK_EQ(mmt_mem_reserve_kmalloc_set(a, 4096, 1 << 30), -1);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(a), 50);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, -1), -1);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, half), 0);
	/* A detached node fits alone, but connecting it would not. */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(d, 10), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_connect(d, a), -1);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(mmt_mem_reserve_root(m)), half);
	MMT_CHECK_EQ(mmt_mem_reserve_kmalloc_set(d, 256, 10), 0);
	MMT_CHECK(mmt_mem_reserve_pages(d) >= 1);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(reserve_charge_up_to_the_limit_then_fails)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *a =
		mmt_mem_reserve_create(m, "a", mmt_mem_reserve_root(m));

	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 10), 0);
	MMT_CHECK(mmt_mem_reserve_charge(a, 4));
	MMT_CHECK(mmt_mem_reserve_charge(a, 6));
	MMT_CHECK(!mmt_mem_reserve_charge(a, 1));
	MMT_CHECK_EQ(mmt_mem_reserve_usage(a), 10);
	/* The limit is not lowered below what is charged. */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 5), -1);
	MMT_CHECK(mmt_reserve_is_valid(m));
	mmt_mem_reserve_uncharge(a, 10);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(a), 0);
	MMT_CHECK(mmt_mem_reserve_charge(a, 10));
	mmt_mem_reserve_uncharge(a, 10);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(reserve_uncharge_below_zero_is_reported)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *a =
		mmt_mem_reserve_create(m, "a", mmt_mem_reserve_root(m));

	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(a, 10), 0);
	MMT_CHECK(mmt_mem_reserve_charge(a, 3));
	mmt_mem_reserve_uncharge(a, 5);
	MMT_CHECK_VIOLATED(m, "reserve-accounting");
	MMT_CHECK_EQ(mmt_mem_reserve_usage(a), 3); /* not applied */
}

MMT_TEST(reserve_aggregate_node_is_charged_for_its_subtree)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *skb = mmt_mem_reserve_create(
		m, "SKB data reserve", mmt_mem_reserve_root(m));
	struct mmt_mem_reserve *v4 =
		mmt_mem_reserve_create(m, "IPv4 fragment cache", skb);
	struct mmt_mem_reserve *v6 =
		mmt_mem_reserve_create(m, "IPv6 fragment cache", skb);

	/* The children grow the reserve, the aggregate is charged. */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(v4, 8), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(v6, 8), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(skb), 16);
	MMT_CHECK(mmt_mem_reserve_charge(skb, 16));
	MMT_CHECK(!mmt_mem_reserve_charge(skb, 1));
	MMT_CHECK_EQ(mmt_mem_reserve_usage(v4), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(mmt_mem_reserve_root(m)),
		     0); /* not propagated */
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(v6, 12), 0);
	MMT_CHECK(mmt_mem_reserve_charge(skb, 4));
	MMT_CHECK(mmt_reserve_is_valid(m));
	mmt_mem_reserve_uncharge(skb, 20);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(memalloc_socket_count_switches_the_slab_layer_and_the_network_reserve)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_mem_reserve *root = mmt_mem_reserve_root(m);
	struct mmt_sock *s1 = mmt_sock_create(m, "s1"),
			*s2 = mmt_sock_create(m, "s2");
	long net = mmt_mem_reserve_pages(mmt_net_reserve_total(m));

	MMT_CHECK(net > 0);
	MMT_CHECK_EQ(net,
		     mmt_mem_reserve_pages(mmt_net_reserve(m, false)) +
			     mmt_mem_reserve_pages(mmt_net_reserve(m, true)));
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 0);
	MMT_CHECK(!mmt_slab_memalloc_socks_active(m));
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 0); /* seed 004: detached */

	mmt_sk_set_memalloc(s1);
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 1);
	MMT_CHECK(mmt_slab_memalloc_socks_active(m));
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), net);
	check_min_watermarks(m, net);
	mmt_sk_set_memalloc(s2);
	mmt_sk_set_memalloc(s1); /* a second user of s1 */
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 2);
	mmt_sk_clear_memalloc(s1);
	MMT_CHECK(mmt_sk_memalloc(s1)); /* one user left */
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 2);
	mmt_sk_clear_memalloc(s1);
	MMT_CHECK(!mmt_sk_memalloc(s1));
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 1);
	MMT_CHECK(mmt_slab_memalloc_socks_active(m));
	mmt_sk_clear_memalloc(s2);
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 0);
	MMT_CHECK(!mmt_slab_memalloc_socks_active(m));
	MMT_CHECK_EQ(mmt_mem_reserve_pages(root), 0);
	check_min_watermarks(m, 0);
	/* A destroyed socket takes its flag with it. */
	mmt_sk_set_memalloc(s2);
	mmt_sock_destroy(s2);
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 0);
	MMT_CHECK(!mmt_slab_memalloc_socks_active(m));
	mmt_sock_destroy(s1);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* Two swap files on one mount; swap the first off.  Returns the mount. */
static struct mmt_swap_mount *two_files_first_off(struct mmt_machine *m,
						  struct mmt_swapfile **a,
						  struct mmt_swapfile **b)
{
	struct mmt_swap_mount *mnt = mmt_swap_mount_create(m, "server:/export");

	MMT_CHECK(mnt != NULL);
	*a = mmt_swapon(mnt, "swapfile-a", 1024);
	*b = mmt_swapon(mnt, "swapfile-b", 1024);
	MMT_CHECK(*a && *b);
	MMT_CHECK(mmt_sk_memalloc(mmt_swap_mount_sock(mnt)));
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 1);
	mmt_swapoff(*a);
	return mnt;
}

MMT_TEST(two_swap_files_on_one_mount_nest)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_swapfile *a, *b;
	struct mmt_swap_mount *mnt = two_files_first_off(m, &a, &b);

	MMT_CHECK(!mmt_swapfile_active(a));
	MMT_CHECK(mmt_swapfile_active(b));
	MMT_CHECK(
		mmt_sk_memalloc(mmt_swap_mount_sock(mnt))); /* still on for b */
	MMT_CHECK(mmt_slab_memalloc_socks_active(m));
	MMT_CHECK(mmt_reserve_is_valid(m));
	mmt_swapoff(b);
	MMT_CHECK(!mmt_sk_memalloc(mmt_swap_mount_sock(mnt)));
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 0);
	MMT_CHECK(!mmt_slab_memalloc_socks_active(m));
	mmt_swapoff(b); /* off already: nothing happens */
	MMT_CHECK_EQ(mmt_sk_memalloc_socks(m), 0);
	mmt_swap_mount_destroy(mnt);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

static char *dump_to_string(struct mmt_machine *m, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	MMT_CHECK(f != NULL);
	if (json)
		mmt_mem_reserve_dump_json(m, f);
	else
		mmt_mem_reserve_dump(m, f);
	fclose(f);
	return buf;
}

static json_t *child_named(json_t *node, const char *name)
{
	json_t *kids = json_object_get(node, "children"), *c;
	size_t i;

	MMT_CHECK(json_is_array(kids));
	json_array_foreach(
		kids, i,
		c) if (!strcmp(json_string_value(json_object_get(c, "name")),
			       name)) return c;
	t_fail(__FILE__, __LINE__, "no child %s", name);
}

static long jint(json_t *node, const char *key)
{
	json_t *v = json_object_get(node, key);

	MMT_CHECK_MSG(json_is_integer(v), "field %s is not an integer", key);
	return (long)json_integer_value(v);
}

MMT_TEST(reserve_json_dump_parses_with_the_tree)
{
	struct mmt_machine *m = machine_with(0, 2);
	struct mmt_swap_mount *mnt = mmt_swap_mount_create(m, "server:/export");
	struct mmt_swapfile *sf;
	json_t *root, *tree, *net, *tx, *rx;
	json_error_t jerr;
	char *buf;
	long txp = mmt_mem_reserve_pages(mmt_net_reserve(m, false));

	MMT_CHECK(mmt_mem_reserve_charge(mmt_net_reserve(m, true), 3));
	buf = dump_to_string(m, true);
	root = json_loads(buf, 0, &jerr);
	MMT_CHECK_MSG(root != NULL, "JSON error at line %d: %s\n%s", jerr.line,
		      jerr.text, buf);
	tree = json_object_get(root, "tree");
	MMT_CHECK_STR(json_string_value(json_object_get(tree, "name")),
		      "total reserve");
	MMT_CHECK_EQ(jint(tree, "pages"), 0);
	MMT_CHECK(json_is_true(json_object_get(tree, "connected")));
	net = child_named(tree, "total network reserve");
	MMT_CHECK(json_is_false(json_object_get(net, "connected")));
	tx = child_named(net, "network TX reserve");
	rx = child_named(net, "network RX reserve");
	MMT_CHECK_EQ(jint(tx, "pages"), txp);
	MMT_CHECK_EQ(jint(tx, "own_pages"), txp);
	MMT_CHECK_EQ(jint(tx, "limit"), txp);
	MMT_CHECK_EQ(jint(rx, "usage"), 3);
	MMT_CHECK_EQ(jint(net, "pages"), jint(tx, "pages") + jint(rx, "pages"));
	MMT_CHECK(json_is_array(json_object_get(root, "detached")));
	MMT_CHECK_EQ(jint(root, "memalloc_socks"), 0);
	json_decref(root);
	free(buf);

	sf = mmt_swapon(mnt, "swapfile", 4096);
	buf = dump_to_string(m, true);
	root = json_loads(buf, 0, &jerr);
	MMT_CHECK(root != NULL);
	tree = json_object_get(root, "tree");
	net = child_named(tree, "total network reserve");
	MMT_CHECK(json_is_true(json_object_get(net, "connected")));
	MMT_CHECK_EQ(jint(tree, "pages"), jint(net, "pages"));
	MMT_CHECK_EQ(jint(root, "emergency_pages"), jint(net, "pages"));
	MMT_CHECK_EQ(jint(root, "memalloc_socks"), 1);
	MMT_CHECK_EQ(json_array_size(json_object_get(root, "swap_mounts")), 1);
	json_decref(root);
	free(buf);

	/* The human form: /proc/reserve_info's indented lines. */
	buf = dump_to_string(m, false);
	MMT_CHECK_MSG(strstr(buf, "total reserve ") == buf, "%s", buf);
	MMT_CHECK_MSG(strstr(buf, "\n  total network reserve "), "%s", buf);
	MMT_CHECK_MSG(strstr(buf, "\n    network RX reserve ") &&
			      strstr(buf, "K (3/"),
		      "%s", buf);
	free(buf);
	mmt_swapoff(sf);
	mmt_mem_reserve_uncharge(mmt_net_reserve(m, true), 3);
	mmt_swap_mount_destroy(mnt);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- emergency socket buffers ---- */

/* Pages allocated with no watermark until none is left; returns how many. */
static unsigned int starve(struct mmt_page ***held)
{
	unsigned int n = 0, cap = 1024;
	struct mmt_page **h = malloc(cap * sizeof(*h)), *p;

	MMT_CHECK(h != NULL);
	while ((p = mmt_alloc_pages(__GFP_MEMALLOC | __GFP_NOWARN, 0))) {
		if (n == cap) {
			cap *= 2;
			h = realloc(h, cap * sizeof(*h));
			MMT_CHECK(h != NULL);
		}
		h[n++] = p;
	}
	*held = h;
	return n;
}

static void give_back(struct mmt_page **held, unsigned int n)
{
	t_give_pages_back(held, n);
	free(held);
}

MMT_SLAB_TEST(emergency_buffer_of_a_memalloc_socket_is_charged_and_returned)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_swap_mount *mnt = mmt_swap_mount_create(m, "server:/export");
	struct mmt_swapfile *sf = mmt_swapon(mnt, "swapfile", 512);
	struct mmt_mem_reserve *tx = mmt_net_reserve(m, false);
	struct mmt_sock *sk = mmt_swap_mount_sock(mnt);
	struct mmt_page *held[T_TIGHT_PAGES];
	struct mmt_reserve_stats rst;
	unsigned int n;
	void *p, *q;

	/* Plenty of memory: ordinary memory, no charge. */
	p = mmt_sk_alloc_emergency(sk, tx, 512, GFP_ATOMIC);
	MMT_CHECK(p != NULL);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(tx), 0);
	mmt_sk_free_emergency(sk, tx, p, 512);
	/* Below every watermark: only the reserve serves, against a charge. */
	n = t_take_pages_until(m, 0, 4, held, T_TIGHT_PAGES);
	mmt_kmem_cache_shrink_all(m);
	q = mmt_sk_alloc_emergency(sk, tx, 512, GFP_ATOMIC);
	MMT_CHECK(q != NULL);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(tx), 1);
	MMT_CHECK_EQ(mmt_mem_reserve_emergency(tx), 1);
	MMT_CHECK(mmt_reserve_is_valid(m));
	mmt_sk_free_emergency(sk, tx, q, 512);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(tx), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_emergency(tx), 0);
	mmt_reserve_stats(m, &rst);
	MMT_CHECK_EQ(rst.emergency_allocs, 1);
	MMT_CHECK_EQ(rst.outstanding, 0);
	t_give_pages_back(held, n);
	mmt_swapoff(sf);
	mmt_swap_mount_destroy(mnt);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_SLAB_TEST(emergency_buffer_for_an_ordinary_socket_is_dropped)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_swap_mount *mnt = mmt_swap_mount_create(m, "server:/export");
	struct mmt_swapfile *sf = mmt_swapon(mnt, "swapfile", 512);
	struct mmt_sock *plain = mmt_sock_create(m, "ordinary");
	struct mmt_mem_reserve *rx = mmt_net_reserve(m, true);
	struct mmt_page *held[T_TIGHT_PAGES];
	unsigned int n;
	void *p;

	n = t_take_pages_until(m, 0, 4, held, T_TIGHT_PAGES);
	/* No rights of its own: nothing, and no charge. */
	MMT_CHECK(mmt_sk_alloc_emergency(plain, rx, 512, GFP_ATOMIC) == NULL);
	MMT_CHECK_EQ(mmt_sk_drops(plain), 0);
	/* An entitled context (a receive path under PF_MEMALLOC) gets reserve
	 * memory; the ordinary socket must not keep it. */
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	p = mmt_sk_alloc_emergency(plain, rx, 512, GFP_ATOMIC);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	MMT_CHECK(p == NULL);
	MMT_CHECK_EQ(mmt_sk_drops(plain), 1);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(rx), 0);
	t_give_pages_back(held, n);
	mmt_sock_destroy(plain);
	mmt_swapoff(sf);
	mmt_swap_mount_destroy(mnt);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(emergency_memory_not_returned_after_disconnect_is_reported)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_sock *sk = mmt_sock_create(m, "nfs");
	struct mmt_mem_reserve *tx = mmt_net_reserve(m, false);
	struct mmt_page *held[T_TIGHT_PAGES];
	unsigned int n;
	void *p;

	mmt_sk_set_memalloc(sk);
	n = t_take_pages_until(m, 0, 4, held, T_TIGHT_PAGES);
	p = mmt_sk_alloc_emergency(sk, tx, 256, GFP_ATOMIC);
	MMT_CHECK(p != NULL);
	MMT_CHECK_EQ(mmt_mem_reserve_emergency(tx), 1);
	MMT_CHECK(
		mmt_reserve_is_valid(m)); /* in flight while connected: fine */
	mmt_sk_clear_memalloc(sk); /* the reserve goes, the packet stays */
	MMT_CHECK(!mmt_reserve_is_valid(m));
	MMT_CHECK_VIOLATED(m, "emergency-memory");
	mmt_sk_free_emergency(sk, tx, p, 256);
	t_give_pages_back(held, n);
	mmt_sock_destroy(sk);
}

/* ---- the three reserve bugs, caught by their checks ---- */

/* Seed 004's life cycle of the network reserve: connect, then disconnect. */
static struct mmt_machine *swap_on_and_off(uint64_t bugs)
{
	struct mmt_machine *m = machine_with(bugs, 2);
	struct mmt_swap_mount *mnt = mmt_swap_mount_create(m, "server:/export");
	struct mmt_swapfile *sf = mmt_swapon(mnt, "swapfile", 1024);

	MMT_CHECK(mmt_mem_reserve_pages(mmt_mem_reserve_root(m)) > 0);
	mmt_swapoff(sf);
	mmt_swap_mount_destroy(mnt);
	MMT_CHECK_EQ(mmt_mem_reserve_pages(mmt_mem_reserve_root(m)), 0);
	mmt_reserve_is_valid(m);
	return m;
}

MMT_TEST(bug_emergency_wmark_not_lowered_caught_by_reserve_watermark)
{
	struct mmt_machine *m =
		swap_on_and_off(1ull << MMT_BUG_EMERGENCY_WMARK_NOT_LOWERED);

	MMT_CHECK_VIOLATED(m, "reserve-watermark");
}

MMT_TEST(bug_emergency_wmark_not_lowered_silent_when_off)
{
	struct mmt_machine *m = swap_on_and_off(0);

	MMT_CHECK_CLEAN(m);
}

/* A memalloc socket's emergency allocation with no memory at all. */
static struct mmt_machine *emergency_alloc_fails(uint64_t bugs)
{
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .bugs = bugs });
	struct mmt_sock *sk = mmt_sock_create(m, "nfs");
	struct mmt_mem_reserve *rx = mmt_net_reserve(m, true);
	struct mmt_reserve_stats rst;
	struct mmt_page **held;
	unsigned int n;

	mmt_sk_set_memalloc(sk);
	n = starve(&held);
	MMT_CHECK(n > 0);
	mmt_softirq_enter(); /* a receive path */
	MMT_CHECK(mmt_sk_alloc_emergency(sk, rx, 256, GFP_ATOMIC) == NULL);
	mmt_softirq_exit();
	mmt_reserve_stats(m, &rst);
	MMT_CHECK_EQ(rst.emergency_fails, 1);
	give_back(held, n);
	mmt_reserve_is_valid(m);
	mmt_sk_clear_memalloc(sk);
	mmt_sock_destroy(sk);
	return m;
}

MMT_TEST(bug_reserve_charge_leak_caught_by_reserve_accounting)
{
	struct mmt_machine *m =
		emergency_alloc_fails(1ull << MMT_BUG_RESERVE_CHARGE_LEAK);

	MMT_CHECK_VIOLATED(m, "reserve-accounting");
}

MMT_TEST(bug_reserve_charge_leak_silent_when_off)
{
	struct mmt_machine *m = emergency_alloc_fails(0);

	MMT_CHECK_EQ(mmt_mem_reserve_usage(mmt_net_reserve(m, true)), 0);
	MMT_CHECK_CLEAN(m);
}

static struct mmt_machine *second_file_outlives_first(uint64_t bugs)
{
	struct mmt_machine *m = machine_with(bugs, 2);
	struct mmt_swapfile *a, *b;
	struct mmt_swap_mount *mnt = two_files_first_off(m, &a, &b);

	mmt_reserve_is_valid(m);
	mmt_swapoff(b);
	mmt_swap_mount_destroy(mnt);
	return m;
}

MMT_TEST(bug_swap_single_bit_memalloc_caught_by_swap_memalloc)
{
	struct mmt_machine *m = second_file_outlives_first(
		1ull << MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC);

	MMT_CHECK_VIOLATED(m, "swap-memalloc");
}

MMT_TEST(bug_swap_single_bit_memalloc_silent_when_off)
{
	struct mmt_machine *m = second_file_outlives_first(0);

	MMT_CHECK_CLEAN(m);
}

/* ---- concurrency ---- */

struct charge_race {
	struct mmt_mem_reserve *agg, *rx;
	struct mmt_sock *sk;
	uint64_t seed[4];
	_Atomic long over_limit;
};

static void charge_body(int cpu, void *arg)
{
	struct charge_race *cr = arg;
	uint64_t s = cr->seed[cpu];
	long held[16] = { 0 };
	int i, k;

	for (i = 0; i < 20000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((s >> 33) % 16);
		if (held[k]) {
			mmt_mem_reserve_uncharge(cr->agg, held[k]);
			held[k] = 0;
		} else if (mmt_mem_reserve_charge(cr->agg,
						  1 + (long)((s >> 40) % 4))) {
			held[k] = 1 + (long)((s >> 40) % 4);
		}
		if (mmt_mem_reserve_usage(cr->agg) >
		    mmt_mem_reserve_pages(cr->agg))
			atomic_fetch_add(&cr->over_limit, 1);
		if ((i & 63) == 0) { /* and an emergency buffer now and then */
			void *p;

			mmt_softirq_enter();
			p = mmt_sk_alloc_emergency(cr->sk, cr->rx, 128,
						   GFP_ATOMIC);
			mmt_softirq_exit();
			mmt_sk_free_emergency(cr->sk, cr->rx, p, 128);
		}
	}
	for (k = 0; k < 16; k++)
		if (held[k])
			mmt_mem_reserve_uncharge(cr->agg, held[k]);
}

MMT_TEST(reserve_charges_from_many_cpus_stay_within_the_limit)
{
	struct mmt_machine *m = machine_with(0, 4);
	struct charge_race cr = { 0 };
	int i;

	cr.agg = mmt_mem_reserve_create(m, "agg", mmt_mem_reserve_root(m));
	cr.rx = mmt_net_reserve(m, true);
	cr.sk = mmt_sock_create(m, "nfs");
	mmt_sk_set_memalloc(cr.sk);
	MMT_CHECK_EQ(mmt_mem_reserve_pages_set(cr.agg, 20), 0);
	for (i = 0; i < 4; i++)
		cr.seed[i] = t_rand();
	t_run_on_cpus(4, charge_body, &cr);
	MMT_CHECK_EQ(atomic_load(&cr.over_limit), 0);
	MMT_CHECK_EQ(mmt_mem_reserve_usage(cr.agg), 0);
	mmt_sk_clear_memalloc(cr.sk);
	mmt_sock_destroy(cr.sk);
	MMT_CHECK(mmt_reserve_is_valid(m));
	MMT_CHECK_CLEAN(m);
}
