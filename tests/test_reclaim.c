/* SPDX-License-Identifier: MIT */
/*
 * tests/test_reclaim.c - reclaimable memory, reclaim, kswapd, throttling,
 * shrinkers and the writeback devices (alloc/reclaim.c, alloc/writeback.c).
 *
 * Machines are small (one node, 2048 pages, fixed watermarks 64/80/96) so
 * that filling memory is quick; time is model time only.
 */
#include "internal.h"
#include "mmt_test.h"

#define PAGES 2048
#define WMIN 64
#define WLOW 80
#define WHIGH 96

static struct mmt_machine *
small_machine_throttle(uint64_t bugs, enum mmt_mempool_policy policy,
		       enum mmt_throttle_policy throttle)
{
	struct mmt_config cfg;
	struct mmt_machine *m;

	mmt_config_default(&cfg);
	cfg.throttle = throttle;
	cfg.nr_nodes = 1;
	cfg.nr_cpus = 4;
	cfg.dma32_pages = 0;
	cfg.normal_pages = PAGES;
	cfg.pcp_batch = 1;
	cfg.pcp_high = 1;
	cfg.bugs = bugs;
	cfg.mempool_policy = policy;
	cfg.stall_jiffies = 30 * MMT_HZ;
	m = t_machine(&cfg);
	mmt_zone_set_watermarks(m, 0, WMIN, WLOW, WHIGH);
	return m;
}

/* The 2016 kernel's throttle_vm_writeout(): seed 001's world. */
static struct mmt_machine *small_machine(uint64_t bugs,
					 enum mmt_mempool_policy policy)
{
	return small_machine_throttle(bugs, policy, MMT_THROTTLE_VM_WRITEOUT);
}

static long zone_free(struct mmt_machine *m)
{
	struct mmt_zone_info zi;

	mmt_zone_info(m, 0, &zi);
	return (long)zi.free;
}

/* Fill memory with user pages of @type until the zone's free pages are at
 * most @target (without reclaim: no hooks are installed yet). */
static unsigned long fill_lru(struct mmt_machine *m, enum mmt_lru_type type,
			      struct mmt_wb_device *dev, long target)
{
	unsigned long n = 0;

	while (zone_free(m) > target) {
		MMT_CHECK(mmt_lru_add(m, type, dev,
				      GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC,
				      -1));
		n++;
	}
	return n;
}

MMT_TEST(clean_file_pages_are_reclaimed_by_direct_reclaim_when_memory_runs_low)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_reclaim_stats st;
	struct mmt_page *p[600];
	unsigned long filled;
	int i;

	filled = fill_lru(m, MMT_LRU_FILE_CLEAN, NULL, WMIN / 2);
	MMT_CHECK(filled > 1500);
	mmt_reclaim_install_hooks(m);
	/* More than is free: the allocator must reclaim, and it succeeds. */
	for (i = 0; i < 600; i++) {
		p[i] = mmt_alloc_pages(GFP_KERNEL, 0);
		MMT_CHECK_MSG(p[i] != NULL, "allocation %d failed", i);
	}
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.direct_reclaims > 0);
	MMT_CHECK(st.reclaimed >= 500);
	MMT_CHECK_EQ(st.submitted, 0);
	MMT_CHECK_EQ(st.lru[MMT_LRU_FILE_CLEAN], filled - st.reclaimed);
	MMT_CHECK(!mmt_current_is_oom_victim());
	for (i = 0; i < 600; i++)
		mmt_free_pages(p[i], 0);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(dirty_and_anon_pages_are_freed_only_when_their_write_completes)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device *disk = mmt_disk_create(m, "sda", 5);
	struct mmt_reclaim_stats st;
	struct mmt_wb_device_stats ds;
	unsigned long progress;
	long free0;

	MMT_CHECK(disk != NULL);
	mmt_reclaim_set_swap_device(m, disk);
	mmt_reclaim_set_file_device(m, disk);
	MMT_CHECK(mmt_lru_add_anon(m));
	fill_lru(m, MMT_LRU_ANON, NULL, PAGES / 2);
	fill_lru(m, MMT_LRU_FILE_DIRTY, NULL, PAGES / 4);
	free0 = zone_free(m);
	progress = mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(progress, MMT_SWAP_CLUSTER_MAX);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.submitted, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(st.reclaimed, 0);
	MMT_CHECK_EQ(mmt_writeback_pages(m, 0), MMT_SWAP_CLUSTER_MAX);
	/* Under writeback: still allocated. */
	MMT_CHECK(zone_free(m) <= free0);
	MMT_CHECK_EQ(mmt_jiffies(m), 0);
	/* The disk completes them 5 jiffies later (the test sleeps). */
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 10 * MMT_HZ));
	MMT_CHECK(mmt_jiffies(m) >= 5);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.written, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(mmt_writeback_pages(m, 0), 0);
	MMT_CHECK(zone_free(m) >= free0 + MMT_SWAP_CLUSTER_MAX - 2);
	mmt_wb_device_stats(disk, &ds);
	MMT_CHECK_EQ(ds.completed, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(ds.inflight, 0);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(noio_scope_prevents_anon_swap_out_and_nofs_dirty_file_writeback)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device *disk = mmt_disk_create(m, "sda", 5);
	unsigned long anon0, dirty0;
	unsigned int saved;

	mmt_reclaim_set_swap_device(m, disk);
	mmt_reclaim_set_file_device(m, disk);
	/* Interleaved, so that any scan sees both kinds. */
	while (zone_free(m) > PAGES / 2) {
		MMT_CHECK(mmt_lru_add(m, MMT_LRU_ANON, NULL,
				      GFP_HIGHUSER_MOVABLE, -1));
		MMT_CHECK(mmt_lru_add(m, MMT_LRU_FILE_DIRTY, NULL,
				      GFP_HIGHUSER_MOVABLE, -1));
	}
	anon0 = mmt_lru_pages(m, 0, MMT_LRU_ANON);
	dirty0 = mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY);

	saved = mmt_memalloc_noio_save();
	MMT_CHECK_EQ(mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX),
		     0);
	mmt_memalloc_noio_restore(saved);
	MMT_CHECK_EQ(mmt_lru_pages(m, 0, MMT_LRU_ANON), anon0);
	MMT_CHECK_EQ(mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY), dirty0);

	saved = mmt_memalloc_nofs_save();
	MMT_CHECK_EQ(mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX),
		     MMT_SWAP_CLUSTER_MAX);
	mmt_memalloc_nofs_restore(saved);
	MMT_CHECK_EQ(mmt_lru_pages(m, 0, MMT_LRU_ANON),
		     anon0 - MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY), dirty0);

	/* GFP_NOFS without a scope: the same. */
	MMT_CHECK_EQ(mmt_try_to_free_pages(m, GFP_NOFS, MMT_SWAP_CLUSTER_MAX),
		     MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_EQ(mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY), dirty0);
	/* With both, dirty file pages are written too. */
	MMT_CHECK(mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX) >
		  0);
	MMT_CHECK(mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY) < dirty0);
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 10 * MMT_HZ));
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(kswapd_wakes_at_the_low_watermark_and_reclaims_to_high)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_reclaim_stats st;

	MMT_CHECK(mmt_kswapd_start(m));
	/* Map clean page cache until the zone is below its low mark. */
	while (zone_free(m) >= WLOW)
		MMT_CHECK(mmt_lru_add_file(m, false, NULL));
	MMT_CHECK(mmt_lru_add_file(m, false,
				   NULL)); /* the slow path wakes kswapd */
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.kswapd_wakeups > 0);
	/* Let it run: the test task sleeps, kswapd reclaims, then sleeps. */
	MMT_CHECK_EQ(mmt_schedule_timeout(MMT_HZ), MMT_WAIT_TIMEOUT);
	MMT_CHECK_MSG(zone_free(m) >= WHIGH,
		      "free %ld after kswapd ran, high is %d", zone_free(m),
		      WHIGH);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.kswapd_passes > 0);
	MMT_CHECK(st.reclaimed > 0);
	MMT_CHECK_EQ(st.direct_reclaims, 0);
	mmt_kswapd_stop(m);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	throttling_waits_while_writeback_is_over_the_limit_and_resumes_on_completions)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device *disk = mmt_disk_create(m, "sda", 20);
	unsigned long limit;
	struct mmt_reclaim_stats st;
	unsigned long passes = 0;

	MMT_CHECK_EQ(mmt_writeback_limit(m, 0, false), PAGES / 10);
	MMT_CHECK_EQ(mmt_writeback_limit(m, 0, true), PAGES / 10 + PAGES / 40);
	mmt_reclaim_set_swap_device(m, disk);
	/* Half anonymous, half dirty page cache with no device to write it
	 * to: the dirtyable memory is about half the node, the limit about
	 * 10% of that, and every pass swaps out 32 anonymous pages. */
	while (zone_free(m) > PAGES / 4) {
		MMT_CHECK(mmt_lru_add(m, MMT_LRU_ANON, NULL,
				      GFP_HIGHUSER_MOVABLE, -1));
		MMT_CHECK(mmt_lru_add(m, MMT_LRU_FILE_DIRTY, NULL,
				      GFP_HIGHUSER_MOVABLE, -1));
	}
	limit = mmt_writeback_throttle_limit(m, 0, false);
	MMT_CHECK(limit > 2 * MMT_SWAP_CLUSTER_MAX && limit <= PAGES / 10);
	MMT_CHECK(mmt_writeback_throttle_limit(m, 0, true) > limit);
	/* Passes under the limit go through without waiting, in no time. */
	while (mmt_writeback_pages(m, 0) + MMT_SWAP_CLUSTER_MAX <= limit) {
		mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX);
		passes++;
	}
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.throttled, 0);
	MMT_CHECK_EQ(mmt_jiffies(m), 0);
	MMT_CHECK(passes >= 2);
	MMT_CHECK_EQ(mmt_writeback_throttle_limit(m, 0, false), limit);
	/* This one goes over: it waits until the disk brings it back down. */
	mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.throttled > 0);
	MMT_CHECK(mmt_jiffies(m) >= 20);
	MMT_CHECK(st.written > 0);
	MMT_CHECK(mmt_writeback_pages(m, 0) <=
		  mmt_writeback_throttle_limit(m, 0, false));
	MMT_CHECK(st.writeback_max > limit);
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 10 * MMT_HZ));
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

struct cache_shrinker {
	struct mmt_kmem_cache *cache;
	void *obj[4096];
	unsigned long nr;
};

static unsigned long cs_count(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
			      void *arg)
{
	(void)m, (void)nid, (void)gfp;
	return ((struct cache_shrinker *)arg)->nr;
}

static unsigned long cs_scan(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
			     unsigned long nr, void *arg)
{
	struct cache_shrinker *cs = arg;
	unsigned long done = 0;

	(void)m, (void)nid, (void)gfp;
	while (done < nr && cs->nr) {
		mmt_kmem_cache_free(cs->cache, cs->obj[--cs->nr]);
		done++;
	}
	mmt_kmem_cache_shrink(cs->cache);
	return done;
}

MMT_TEST(shrinkers_are_called_by_reclaim_and_their_pages_count)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	static struct cache_shrinker cs;
	struct mmt_shrinker *s;
	struct mmt_reclaim_stats st;
	unsigned long progress;

	memset(&cs, 0, sizeof(cs));
	cs.cache = mmt_kmem_cache_create("dentry", 256, 0, 0, NULL);
	MMT_CHECK(cs.cache != NULL);
	while (cs.nr < 4096 / 2)
		MMT_CHECK((cs.obj[cs.nr++] = mmt_kmem_cache_alloc(
				   cs.cache, GFP_KERNEL)) != NULL);
	s = mmt_register_shrinker(m, "dcache", cs_count, cs_scan, &cs);
	MMT_CHECK(s != NULL);
	/* Nothing on the LRU: only the shrinker can make progress. */
	progress = mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK(mmt_shrinker_calls(s) > 0);
	MMT_CHECK(mmt_shrinker_freed(s) >= 128);
	MMT_CHECK(progress >= MMT_SWAP_CLUSTER_MAX);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.shrinker_freed, mmt_shrinker_freed(s));
	mmt_unregister_shrinker(s);
	while (cs.nr)
		mmt_kmem_cache_free(cs.cache, cs.obj[--cs.nr]);
	mmt_kmem_cache_destroy(cs.cache);
	MMT_CHECK_CLEAN(m);
}

/*
 * The encrypted-swap world of seed 001 in small: swap on dm-crypt over a
 * disk, kswapd, and the test task mapping more anonymous memory than the
 * machine has.
 */
static unsigned long run_crypt_world(struct mmt_machine *m,
				     unsigned int kcryptd_flags,
				     unsigned long to_map,
				     struct mmt_wb_device_stats *out)
{
	struct mmt_wb_device *disk = mmt_disk_create(m, "sda", 2);
	struct mmt_crypt_config cc = { .worker_flags = kcryptd_flags };
	struct mmt_wb_device *crypt =
		mmt_crypt_create(m, "dm-crypt", disk, &cc);
	unsigned long mapped = 0, i;

	MMT_CHECK(disk && crypt);
	mmt_reclaim_set_swap_device(m, crypt);
	MMT_CHECK(mmt_kswapd_start(m));
	for (i = 0; i < to_map && !mmt_sched_failed(m); i++)
		if (mmt_lru_add_anon(m))
			mapped++;
	if (!mmt_sched_failed(m))
		mmt_wb_device_wait_idle(crypt, 60 * MMT_HZ);
	mmt_wb_device_stats(crypt, out);
	mmt_kswapd_stop(m);
	mmt_reclaim_set_swap_device(m, NULL);
	mmt_wb_device_destroy(crypt);
	mmt_wb_device_destroy(disk);
	return mapped;
}

/*
 * v5.16+ reclaim_throttle() waits at most HZ/10 (and not at all in kernel
 * threads other than kswapd): the dm-crypt worker that loops in the 2016
 * throttle (the test above) gets through even with the 2016 mempool's
 * full-mask retry.
 */
MMT_TEST(
	reclaim_throttle_of_v5_16_is_bounded_so_the_kernel_2016_mempool_gets_through)
{
	struct mmt_machine *m = small_machine_throttle(
		0, MMT_MEMPOOL_KERNEL_2016, MMT_THROTTLE_RECLAIM);
	struct mmt_wb_device_stats ds;
	unsigned long mapped = run_crypt_world(m, 0, PAGES * 3 / 2, &ds);

	MMT_CHECK(!mmt_sched_failed(m));
	MMT_CHECK_EQ(mapped, PAGES * 3 / 2);
	MMT_CHECK(ds.completed > PAGES / 2);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	crypt_device_completes_writes_under_pressure_with_the_no_reclaim_mempool)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device_stats ds;
	unsigned long mapped = run_crypt_world(m, 0, PAGES * 3 / 2, &ds);

	MMT_CHECK_EQ(mapped, PAGES * 3 / 2);
	MMT_CHECK(ds.completed > PAGES / 2);
	MMT_CHECK_EQ(ds.inflight, 0);
	MMT_CHECK(!mmt_sched_failed(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	crypt_worker_throttled_behind_its_own_writeback_is_reported_under_kernel_2016)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_KERNEL_2016);
	struct mmt_wb_device_stats ds;

	run_crypt_world(m, 0, PAGES * 3 / 2, &ds);
	MMT_CHECK(mmt_sched_failed(m));
	MMT_CHECK_MSG(mmt_violated(m, "stall") || mmt_violated(m, "deadlock"),
		      "expected a stall or a deadlock");
	mmt_violations_clear(m);
}

/*
 * Swap on a loop device (worker PF_LESS_THROTTLE) whose backing file is on
 * a slow disk, and a user writing a file on that disk: the loop worker
 * dirties page cache to clean anonymous pages, and its reclaim writes the
 * dirty page cache out.
 */
static void run_loop_world(struct mmt_machine *m)
{
	struct mmt_wb_device *disk = mmt_disk_create(m, "sdb", 50);
	struct mmt_wb_device *loop =
		mmt_loop_create(m, "loop0", disk, MMT_PF_LESS_THROTTLE, 0);
	unsigned long i;

	MMT_CHECK(disk && loop);
	mmt_reclaim_set_swap_device(m, loop);
	mmt_reclaim_set_file_device(m, disk);
	mmt_reclaim_install_hooks(m);
	for (i = 0; i < PAGES * 2 && !mmt_sched_failed(m); i++) {
		mmt_lru_add_anon(m);
		mmt_lru_add_file(m, true, NULL);
	}
	if (!mmt_sched_failed(m)) {
		mmt_wb_device_wait_idle(loop, 60 * MMT_HZ);
		mmt_wb_device_wait_idle(disk, 60 * MMT_HZ);
	}
	mmt_reclaim_set_swap_device(m, NULL);
	mmt_wb_device_destroy(loop);
	mmt_wb_device_destroy(disk);
}

MMT_TEST(less_throttle_never_throttles_bug_is_caught_by_writeback_limit)
{
	struct mmt_machine *m =
		small_machine(1ull << MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES,
			      MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_reclaim_stats st;

	const struct mmt_violation *v;

	run_loop_world(m);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_VIOLATED(m, "writeback-limit");
	/* Found where the pages went under writeback, by the loop worker,
	 * before anything else went wrong. */
	v = mmt_violation_get(m, 0);
	MMT_CHECK_STR(v->check, "writeback-limit");
	MMT_CHECK(strstr(v->msg, "submitted by loop0") != NULL);
	MMT_CHECK(st.writeback_max > mmt_writeback_limit(m, 0, true));
	mmt_violations_clear(m);
}

static void throttle_in_kthread(void *arg)
{
	mmt_throttle_vm_writeout((struct mmt_machine *)arg, 0, GFP_KERNEL);
}

/* Pages under writeback above the limit, on a disk that takes 1000 ticks. */
static struct mmt_wb_device *over_the_writeback_limit(struct mmt_machine *m)
{
	struct mmt_reclaim_params rp;
	struct mmt_wb_device *disk = mmt_disk_create(m, "sdc", 1000);

	MMT_CHECK(disk != NULL);
	mmt_reclaim_get_params(m, &rp);
	rp.writeback_ratio = 1;
	MMT_CHECK(mmt_reclaim_set_params(m, &rp));
	mmt_reclaim_set_file_device(m, disk);
	fill_lru(m, MMT_LRU_FILE_DIRTY, NULL, PAGES / 4);
	/* One pass, without its throttle: submit, do not wait. */
	mmt_shrink_node(m, 0, GFP_KERNEL, 0, MMT_SWAP_CLUSTER_MAX, NULL, NULL);
	MMT_CHECK((unsigned long)mmt_writeback_pages(m, 0) >
		  mmt_writeback_throttle_limit(m, 0, false));
	return disk;
}

MMT_TEST(
	reclaim_throttle_of_v5_16_waits_at_most_hz_over_10_and_never_in_a_kthread)
{
	struct mmt_machine *m = small_machine_throttle(
		0, MMT_MEMPOOL_NO_RECLAIM, MMT_THROTTLE_RECLAIM);
	struct mmt_wb_device *disk = over_the_writeback_limit(m);
	struct mmt_reclaim_stats st;
	struct mmt_kthread *k;
	uint64_t t0 = mmt_jiffies(m);

	/* A task: one wait, cut at HZ/10 though the disk is far from done. */
	mmt_throttle_vm_writeout(m, 0, GFP_KERNEL);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.throttled, 1);
	MMT_CHECK(mmt_jiffies(m) - t0 <= MMT_HZ / 10);
	MMT_CHECK(mmt_writeback_pages(m, 0) > 0);
	/* A kernel thread (not kswapd): no wait at all. */
	k = mmt_kthread_run(m, "kworker", 0, throttle_in_kthread, m);
	MMT_CHECK(k != NULL);
	mmt_kthread_stop(k);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.throttled, 1);
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 60 * MMT_HZ));
	mmt_reclaim_set_file_device(m, NULL);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

static void reclaim_in_kthread(void *arg)
{
	mmt_try_to_free_pages((struct mmt_machine *)arg, GFP_KERNEL,
			      MMT_SWAP_CLUSTER_MAX);
}

/*
 * writeback-limit's bound counts a pass until its throttle ends.  A pass
 * whose throttle kthread_stop cut short leaves its pages above the limit:
 * they stay in the bound until as many writebacks have ended, so the next
 * pass's submissions are no false report.
 */
MMT_TEST(writeback_limit_counts_a_pass_whose_throttle_kthread_stop_cut_short)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_reclaim_params rp;
	struct mmt_wb_device *disk = mmt_disk_create(m, "sdd", 1000);
	struct mmt_kthread *k;

	MMT_CHECK(disk != NULL);
	mmt_reclaim_get_params(m, &rp);
	rp.writeback_ratio = 1;
	MMT_CHECK(mmt_reclaim_set_params(m, &rp));
	mmt_reclaim_set_file_device(m, disk);
	fill_lru(m, MMT_LRU_FILE_DIRTY, NULL, PAGES / 4);
	/* A kthread's pass submits 32 pages and waits in its throttle. */
	k = mmt_kthread_run(m, "kworker", 0, reclaim_in_kthread, m);
	MMT_CHECK(k != NULL);
	while (mmt_writeback_pages(m, 0) < MMT_SWAP_CLUSTER_MAX)
		mmt_schedule_timeout(1);
	mmt_kthread_stop(k);
	MMT_CHECK_EQ(mmt_writeback_pages(m, 0), MMT_SWAP_CLUSTER_MAX);
	/* The next pass submits 32 more on top of the first 32. */
	mmt_try_to_free_pages(m, GFP_KERNEL, MMT_SWAP_CLUSTER_MAX);
	MMT_CHECK_CLEAN(m);
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 60 * MMT_HZ));
	mmt_reclaim_set_file_device(m, NULL);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(throttle_vm_writeout_of_2016_waits_until_writeback_is_under_the_limit)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device *disk = over_the_writeback_limit(m);
	struct mmt_reclaim_stats st;
	uint64_t t0 = mmt_jiffies(m);

	mmt_throttle_vm_writeout(m, 0, GFP_KERNEL);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.throttled > 1);
	MMT_CHECK(mmt_jiffies(m) - t0 >= 900);
	MMT_CHECK((unsigned long)mmt_writeback_pages(m, 0) <=
		  mmt_writeback_throttle_limit(m, 0, false));
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 60 * MMT_HZ));
	mmt_reclaim_set_file_device(m, NULL);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(less_throttle_gets_more_room_not_unlimited_without_the_bug)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_reclaim_stats st;

	run_loop_world(m);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.throttled > 0);
	MMT_CHECK(st.written > PAGES / 2);
	MMT_CHECK_CLEAN(m);
}

/* Dirty page cache: NR_FILE_DIRTY + NR_WRITEBACK on node 0. */
static unsigned long node0_dirty(struct mmt_machine *m)
{
	return mmt_lru_pages(m, 0, MMT_LRU_FILE_DIRTY) +
	       mmt_writeback_pages(m, 0);
}

/*
 * balance_dirty_pages: a writer that dirties page cache past vm.dirty_ratio
 * of the dirtyable memory starts writeback and pauses until dirty +
 * writeback is back under the limit - so memory never fills with dirty
 * pages (without it, half of memory would be dirty here).
 */
MMT_TEST(
	balance_dirty_pages_holds_a_writer_at_the_dirty_limit_and_starts_writeback)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	struct mmt_wb_device *disk = mmt_disk_create(m, "sdd", 50);
	struct mmt_reclaim_stats st;
	unsigned long i, worst = 0;
	uint64_t t0 = mmt_jiffies(m);

	MMT_CHECK(disk != NULL);
	mmt_reclaim_set_file_device(m, disk);
	for (i = 0; i < PAGES / 2 && !mmt_sched_failed(m); i++) {
		unsigned long dirty, limit;

		MMT_CHECK(mmt_lru_add_file(m, true, NULL));
		mmt_balance_dirty_pages(m);
		dirty = node0_dirty(m);
		limit = mmt_dirty_limit(m, 0, false);
		MMT_CHECK_MSG(dirty <= limit,
			      "page %lu: %lu dirty + writeback, limit %lu", i,
			      dirty, limit);
		if (dirty > worst)
			worst = dirty;
	}
	mmt_reclaim_stats(m, &st);
	/* Held: the limit stayed far below what the writer dirtied... */
	MMT_CHECK(worst < PAGES / 4);
	/* ...because it wrote pages out and waited for the disk. */
	MMT_CHECK(st.written > PAGES / 4);
	MMT_CHECK(mmt_jiffies(m) - t0 >= 50);
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 60 * MMT_HZ));
	mmt_reclaim_set_file_device(m, NULL);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}

/*
 * A task with PF_LESS_THROTTLE (the loop worker dirtying its backing file
 * to clean another page) gets a quarter more room; with no device to write
 * them, dirty pages are nothing to wait for; and the ratelimited form
 * (balance_dirty_pages_ratelimited) acts once every MMT_DIRTY_RATELIMIT
 * pages a task dirties.
 */
MMT_TEST(
	balance_dirty_pages_gives_less_throttle_a_quarter_more_and_is_ratelimited)
{
	struct mmt_machine *m = small_machine(0, MMT_MEMPOOL_NO_RECLAIM);
	unsigned long limit = mmt_dirty_limit(m, 0, false), i;
	struct mmt_wb_device *disk;
	struct mmt_reclaim_stats st;
	uint64_t t0 = mmt_jiffies(m);

	MMT_CHECK(limit > 0);
	MMT_CHECK_EQ(mmt_dirty_limit(m, 0, true), limit + limit / 4);
	for (i = 0; i <= limit; i++)
		MMT_CHECK(mmt_lru_add_file(m, true, NULL));
	MMT_CHECK(node0_dirty(m) > mmt_dirty_limit(m, 0, false));
	/* No file device: nothing can clean them, nothing to wait for. */
	mmt_balance_dirty_pages(m);
	MMT_CHECK_EQ(mmt_jiffies(m), t0);
	MMT_CHECK_EQ(mmt_writeback_pages(m, 0), 0ul);

	disk = mmt_disk_create(m, "sde", 10);
	MMT_CHECK(disk != NULL);
	mmt_reclaim_set_file_device(m, disk);
	for (i = 0; i + 1 < MMT_DIRTY_RATELIMIT; i++)
		mmt_balance_dirty_pages_ratelimited(m);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK_EQ(st.submitted, 0ul);
	mmt_balance_dirty_pages_ratelimited(m);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.submitted > 0);
	MMT_CHECK(node0_dirty(m) <= mmt_dirty_limit(m, 0, false));
	MMT_CHECK(mmt_wb_device_wait_idle(disk, 60 * MMT_HZ));
	mmt_reclaim_set_file_device(m, NULL);
	mmt_wb_device_destroy(disk);
	MMT_CHECK_CLEAN(m);
}
