/* SPDX-License-Identifier: MIT */
/*
 * mmt/reclaim.h - reclaimable memory, reclaim, throttling and the devices
 * that write pages out (seeds 001 and 004).
 *
 * Reclaimable memory.  "Users" (a scenario's tasks) map pages: anonymous
 * pages and page-cache pages, clean or dirty.  Each is a real order-0 page
 * of the model, allocated with GFP_HIGHUSER_MOVABLE through the normal page
 * allocator (so adding one may wake kswapd and enter direct reclaim), put
 * on its node's LRU.  An anonymous page writes to the swap device
 * (mmt_reclaim_set_swap_device); a dirty file page to the device given when
 * it was added, or the default file device.  The LRU owns the pages: they
 * are freed by reclaim, by mmt_lru_unmap() ("munmap") or at teardown.
 *
 * Reclaim (shrink_node).  Scans a node's LRU oldest first.  A clean file
 * page is freed at once.  A dirty file page (needs __GFP_FS) or an
 * anonymous page (needs __GFP_IO) is submitted to its device: it leaves
 * the LRU, is counted "under writeback" on its node, and is freed when the
 * device completes the write.  The caller's mask is taken through
 * mmt_current_gfp_context(), so NOIO/NOFS scopes hold.  Slab shrinkers
 * (mmt_register_shrinker) are called on every pass.  A pass aims at
 * MMT_SWAP_CLUSTER_MAX pages of progress and never submits more than that.
 *
 * kswapd (one per node, mmt_kswapd_start): woken by the page allocator
 * when an allocation falls below the low watermark, it reclaims until each
 * zone of its node is above its high watermark, then sleeps.
 *
 * Direct reclaim: the page allocator's direct_reclaim hook (installed by
 * mmt_reclaim_install_hooks) runs priority passes until enough progress
 * (freed + submitted), then throttles: the analogue of the 2016 kernel's
 * throttle_vm_writeout() called from shrink_zone.
 *
 * Throttling.  After every pass (direct or kswapd), while the node's pages
 * under writeback exceed the throttle limit the reclaimer waits on the
 * node's congestion queue (HZ/10, woken by writeback completions).  The
 * limit is the kernel's dirty threshold: writeback_ratio % of the
 * dirtyable memory (free pages above the high watermarks + page cache),
 * capped by a ceiling; PF_LESS_THROTTLE tasks get the less ceiling:
 *     limit       = managed pages of the node * writeback_ratio / 100
 *     less limit  = limit + limit * less_throttle_pct / 100 (PF_LESS_THROTTLE)
 * With memory full of anonymous pages the dirtyable memory, and the limit,
 * shrink towards zero: reclaimers wait for writeback to drain.
 * The kernel let callers without __GFP_IO|__GFP_FS out after one wait;
 * Mikulas' report (seed 001) shows the dm-crypt worker looping there, and
 * the model loops for every caller, which is the case the seed is about.
 * A wait that reports a deadlock or a stop ends the throttle.
 * That is mmt_config.throttle == MMT_THROTTLE_VM_WRITEOUT (2016, removed
 * in v4.8).  MMT_THROTTLE_RECLAIM is v5.16+ reclaim_throttle(): one wait
 * of at most HZ/10 under the same limit, none in kernel threads other
 * than kswapd; the allocator then counts only pages freed as progress
 * (should_reclaim_retry's nr_reclaimed), so it reaches the OOM killer
 * instead of waiting for writeback for ever; "writeback-limit" is not
 * checked (no bound holds).
 *
 * PF_LESS_THROTTLE: a flusher of others' pages (the loop worker) is not
 * held behind the pages queued on a device that only such a worker cleans
 * (its own backlog): it waits while the rest exceeds its less limit.
 * Without that, writers' passes that overshoot the less limit by their
 * in-flight submissions would hold the one thread that can bring the
 * count down (the kernel let !(__GFP_FS|__GFP_IO) callers out after one
 * wait, and the loop's backing mapping has neither).
 *
 * "writeback-limit" (independent of the throttle's logic) is checked at
 * every submission: pages under writeback on the node must not exceed
 *     hard limit = less limit + MMT_SWAP_CLUSTER_MAX * passes in flight
 *                  + the less-throttle backlog
 * where a pass is in flight from its entry to the end of its throttle.
 * Why that bound holds: a pass submits at most MMT_SWAP_CLUSTER_MAX pages
 * and then waits until the count is at most its own limit (<= the less
 * limit, not counting the backlog for a less-throttle flusher), so the
 * excess above the less limit is made of that backlog and the submissions
 * of passes that have not yet waited.  A pass that skips its throttle leaves
 * its submissions behind after it ends: that is how
 * MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES is caught.  A pass whose throttle
 * was cut short (kthread_stop, a context that cannot sleep) did wait as
 * far as it could: its MMT_SWAP_CLUSTER_MAX stay in the bound (the node's
 * cut_short count) until as many writebacks have ended there.
 *
 * Devices (writeback.c), each with a worker kthread and a request queue:
 *   disk     completes each write latency jiffies after its submission;
 *   crypt    (seed 001) its worker, "kcryptd", takes a bio from a mempool
 *            of a "bio" slab cache and a ciphertext page from a page
 *            mempool (GFP_NOIO), encrypts (copies) and writes to its lower
 *            device; the lower completion frees both back to their pools
 *            and completes the page;
 *   loop     its worker ("loop0", PF_LESS_THROTTLE as the kernel's) writes
 *            each page into a new dirty page-cache page of the backing
 *            file (on the lower device) and completes it at once: a thread
 *            that dirties page cache to clean another page;
 *   netswap  (seed 004) a swap file on a network mount: a write sends the
 *            page as packets (kmalloc'd socket buffers charged to the TX
 *            reserve, with memalloc rights only on a SOCK_MEMALLOC socket)
 *            and completes when the reply arrives: a packet allocated in
 *            softirq context (GFP_ATOMIC) charged to the RX reserve.  A
 *            reply in a reserve (pfmemalloc) buffer for a socket that is
 *            not memalloc is dropped: the write is retransmitted later and
 *            does not complete meanwhile (seed 004's swapoff bug becomes a
 *            stall).
 * Completions free the page, count it written, wake the congestion queue
 * and report forward progress (mmt_sched_progress).
 *
 * Locks: lru_lock (a model spinlock per node) is a leaf: no allocation,
 * free, wait or wake-up happens under it.  Device queues have their own
 * leaf spinlock ("wbdev->queue_lock").  Shrinkers are kept under a host
 * rwlock outside the lock model (reclaim reads it; registration writes).
 *
 * Every call runs on a simulated CPU (mmt_cpu_attach / a kthread).
 */
#ifndef MMT_RECLAIM_H
#define MMT_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mmt/gfp.h"
#include "mmt/machine.h"

#define MMT_SWAP_CLUSTER_MAX 32 /* pages a reclaim pass aims at */
#define MMT_DEF_PRIORITY 12 /* a pass scans lru_size >> priority */

struct mmt_wb_device;
struct mmt_swapfile;
struct mmt_swap_mount;
struct mmt_shrinker;

/* ---- tunables ---- */

struct mmt_reclaim_params {
	unsigned int writeback_ratio; /* throttle limit, % of node (10) */
	unsigned int less_throttle_pct; /* PF_LESS_THROTTLE extra, % (25) */
	/* kswapd: consecutive passes without progress before it gives up
	 * on the node until woken again (16, MAX_RECLAIM_RETRIES) */
	unsigned int kswapd_max_failures;
};
void mmt_reclaim_get_params(const struct mmt_machine *m,
			    struct mmt_reclaim_params *out);
/* false (and nothing changed) on a zero ratio. */
bool mmt_reclaim_set_params(struct mmt_machine *m,
			    const struct mmt_reclaim_params *p);
/* The ceilings (limit, less limit) of node @nid in pages (file comment). */
unsigned long mmt_writeback_limit(const struct mmt_machine *m, int nid,
				  bool less_throttle);
/* The limit the throttle applies now (<= the ceiling). */
unsigned long mmt_writeback_throttle_limit(const struct mmt_machine *m, int nid,
					   bool less_throttle);
unsigned long mmt_writeback_hard_limit(const struct mmt_machine *m, int nid);

/* ---- reclaimable memory ---- */

enum mmt_lru_type {
	MMT_LRU_ANON, /* written to the swap device */
	MMT_LRU_FILE_CLEAN, /* dropped at once */
	MMT_LRU_FILE_DIRTY, /* written to its file's device first */
	MMT_NR_LRU_TYPES
};

/*
 * Devices for the pages that need one: anonymous pages written from now on
 * go to @dev (NULL: no swap; anonymous pages are then not reclaimable);
 * dirty file pages added without a device go to the default file device.
 */
/* Is there a swap device (can anonymous pages be reclaimed at all)? */
bool mmt_reclaim_has_swap(const struct mmt_machine *m);
void mmt_reclaim_set_swap_device(struct mmt_machine *m,
				 struct mmt_wb_device *dev);
void mmt_reclaim_set_file_device(struct mmt_machine *m,
				 struct mmt_wb_device *dev);

/*
 * Map one page for a user on the current CPU's node (the allocation may
 * reclaim and may fail: false).  A dirty file page without a device
 * (@dev NULL) uses the default file device; one with no device at all is
 * added but cannot be written (not reclaimable).
 */
bool mmt_lru_add_anon(struct mmt_machine *m);
bool mmt_lru_add_file(struct mmt_machine *m, bool dirty,
		      struct mmt_wb_device *dev);
/* Same, with the allocation mask and node given (loop device, tests). */
bool mmt_lru_add(struct mmt_machine *m, enum mmt_lru_type type,
		 struct mmt_wb_device *dev, mmt_gfp_t gfp, int nid);
/*
 * munmap / truncate: free up to @nr of the users' pages of @type on any
 * node (those on the LRU, newest first; pages under writeback stay until
 * their write completes).  Returns the pages freed.
 */
unsigned long mmt_lru_unmap(struct mmt_machine *m, enum mmt_lru_type type,
			    unsigned long nr);
/* Pages of @type on node @nid's LRU (-1: every node). */
unsigned long mmt_lru_pages(const struct mmt_machine *m, int nid,
			    enum mmt_lru_type type);
/* Pages under writeback on @nid (-1: every node). */
unsigned long mmt_writeback_pages(const struct mmt_machine *m, int nid);

/*
 * The OOM killer.  The pages added by mmt_lru_add*() are mapped by the
 * task that added them (the current task); page cache a device writes is
 * nobody's.  When an allocation that may OOM (not costly, NOFS, MAYFAIL,
 * THISNODE or lowmem-only) finds no memory after reclaim and no
 * out_of_memory hook is set, the task (not a kernel thread, not already a
 * victim) that maps the most pages on the LRU is killed: it becomes an OOM
 * victim (ALLOC_OOM: half the min watermark) and its pages are freed at
 * once (the OOM reaper).  It keeps that reserve access until it exits:
 * mmt_oom_exit_current() is the current task's return to user space,
 * where a killed task exits (its remaining pages are freed, its access
 * ends; returns whether it was a victim).  With no task to kill, the
 * kernel panics: "oom-no-victim" is reported and the allocation fails.
 */
unsigned long mmt_task_user_pages(const struct mmt_task *t);
bool mmt_task_is_oom_victim(const struct mmt_task *t);
bool mmt_oom_exit_current(void);

/* ---- reclaim ---- */

/*
 * Install the page allocator's direct_reclaim and wake_kswapd hooks (the
 * out_of_memory hook and arg are kept).  Hooks a test set before are
 * replaced; call it only if reclaim should run.  mmt_kswapd_start() calls
 * it.  Without it the allocator never reclaims (Model 1 behaviour).
 */
void mmt_reclaim_install_hooks(struct mmt_machine *m);
/* Put back the hooks found by mmt_reclaim_install_hooks (if still ours). */
void mmt_reclaim_remove_hooks(struct mmt_machine *m);

/*
 * try_to_free_pages(): priority passes over the current node (then the
 * others) with @gfp (through the task's scopes) until @nr pages of
 * progress, then throttle.  What the direct_reclaim hook runs (with
 * PF_MEMALLOC set by the allocator; here the caller decides).  Returns the
 * progress: pages freed now plus pages submitted for writeback.
 */
unsigned long mmt_try_to_free_pages(struct mmt_machine *m, mmt_gfp_t gfp,
				    unsigned long nr);
/*
 * One shrink_node pass over node @nid at @priority (0..MMT_DEF_PRIORITY)
 * without throttling.  @freed / @submitted (may be NULL) receive the
 * pages freed now and the pages submitted for writeback.
 */
void mmt_shrink_node(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
		     int priority, unsigned long nr_to_reclaim,
		     unsigned long *freed, unsigned long *submitted);
/* throttle_vm_writeout() for node @nid on behalf of the current task. */
void mmt_throttle_vm_writeout(struct mmt_machine *m, int nid, mmt_gfp_t gfp);

/*
 * Dirty throttling: balance_dirty_pages(), which a task calls after it
 * dirties page cache.  The kernel never lets dirty page cache (dirty and
 * under writeback) grow past vm.dirty_ratio of the dirtyable memory (free
 * pages above the high watermarks plus the page cache): a writer over
 * that limit kicks the flusher and pauses until writeback brings the count
 * under it.  That is what keeps clean or free memory for a thread that
 * must allocate to clean a page (the loop worker: seed 001's "dirty a
 * page-cache page as part of cleaning another").  The model has no flusher
 * thread: the writer submits up to MMT_SWAP_CLUSTER_MAX of its node's
 * oldest dirty file pages itself (a pass, throttled after as a reclaim
 * pass is, so the "writeback-limit" bound holds), then pauses on the
 * node's congestion queue (at most HZ/5, woken by completions), until
 * dirty + writeback <= mmt_dirty_limit().  PF_LESS_THROTTLE gets a quarter
 * more room.  It returns at once when nothing can clean (no dirty page
 * with a device and nothing under writeback), after a deadlock or stall
 * report, or when stopped.  Process context, on a CPU, no model lock held.
 * The interpreter's `lru_add dirty` calls the ratelimited form after every
 * page; the C API mmt_lru_add*() does not (tests build states with it).
 */
#define MMT_DIRTY_RATIO 20 /* vm.dirty_ratio, % of dirtyable memory */
unsigned long mmt_dirty_limit(const struct mmt_machine *m, int nid,
			      bool less_throttle);
void mmt_balance_dirty_pages(struct mmt_machine *m);
/*
 * balance_dirty_pages_ratelimited(): a task calls it after each page it
 * dirties; it runs mmt_balance_dirty_pages() once every
 * MMT_DIRTY_RATELIMIT pages of that task (the kernel's first
 * nr_dirtied_pause, 128 KiB), so a writer may overshoot the limit by that
 * much before it is held.
 */
#define MMT_DIRTY_RATELIMIT 32
void mmt_balance_dirty_pages_ratelimited(struct mmt_machine *m);

/* kswapd: one kthread per node (PF_KSWAPD | PF_MEMALLOC); idempotent. */
bool mmt_kswapd_start(struct mmt_machine *m);
void mmt_kswapd_stop(struct mmt_machine *m);
/* One node's kswapd alone (a trace's `kthread_start kswapd node=N`). */
bool mmt_kswapd_start_node(struct mmt_machine *m, int nid);
void mmt_kswapd_stop_node(struct mmt_machine *m, int nid);
/* wakeup_kswapd() (what the hook calls); harmless if kswapd is not running. */
void mmt_wakeup_kswapd(struct mmt_machine *m, int nid);
/*
 * What a woken kswapd does, run synchronously by the caller on its CPU
 * (the interpreter has no kthreads): balance_pgdat() for node @nid with
 * PF_KSWAPD | PF_MEMALLOC set on the current task for its duration -
 * GFP_KERNEL passes until every zone of the node is above its high
 * watermark, one failed pass, or the node is given up.  Process context.
 * Returns the passes run.
 */
unsigned long mmt_kswapd_balance(struct mmt_machine *m, int nid);

/* ---- shrinkers ---- */

/* Freeable objects now (0: nothing to do). */
typedef unsigned long (*mmt_shrinker_count_fn)(struct mmt_machine *m, int nid,
					       mmt_gfp_t gfp, void *arg);
/* Free up to @nr_to_scan objects; return the number freed. */
typedef unsigned long (*mmt_shrinker_scan_fn)(struct mmt_machine *m, int nid,
					      mmt_gfp_t gfp,
					      unsigned long nr_to_scan,
					      void *arg);
/*
 * Register a shrinker (reclaim calls count, then scan with a share of the
 * count that grows as the priority drops, in batches of 128).  The
 * callbacks must not sleep; they may free objects and shrink caches
 * (mmt_kmem_cache_shrink).  Pages they free count as reclaimed.
 */
struct mmt_shrinker *mmt_register_shrinker(struct mmt_machine *m,
					   const char *name,
					   mmt_shrinker_count_fn count,
					   mmt_shrinker_scan_fn scan,
					   void *arg);
void mmt_unregister_shrinker(struct mmt_shrinker *s);
/* How many times reclaim called @s's scan, and the objects it freed. */
unsigned long mmt_shrinker_calls(const struct mmt_shrinker *s);
unsigned long mmt_shrinker_freed(const struct mmt_shrinker *s);

/* ---- writeback devices (writeback.c) ---- */

enum mmt_wb_kind {
	MMT_WB_DISK,
	MMT_WB_CRYPT,
	MMT_WB_LOOP,
	MMT_WB_NETSWAP,
};

/* A disk: each write completes @latency jiffies (>= 0) after submission. */
struct mmt_wb_device *mmt_disk_create(struct mmt_machine *m, const char *name,
				      long latency);

struct mmt_crypt_config {
	unsigned int
		worker_flags; /* PF_* of kcryptd (0; Michal's patch: PF_LESS_THROTTLE) */
	int bio_pool_min; /* min_nr of the bio mempool (default 2) */
	int page_pool_min; /* min_nr of the ciphertext page mempool (default 4) */
};
/* dm-crypt over @lower (not NULL); @cfg NULL: the defaults. */
struct mmt_wb_device *mmt_crypt_create(struct mmt_machine *m, const char *name,
				       struct mmt_wb_device *lower,
				       const struct mmt_crypt_config *cfg);
/*
 * A loop device over a file on @lower: its worker (PF_* @worker_flags;
 * the kernel's is PF_LESS_THROTTLE) allocates each page-cache page with
 * @gfp (0: GFP_HIGHUSER_MOVABLE without __GFP_IO).  Without __GFP_IO its
 * reclaim never swaps out through the loop device itself (the kernel masks
 * the backing mapping for that reason); with __GFP_FS it writes dirty page
 * cache back, which stands for the writeback a page-cache writer causes in
 * the kernel (balance_dirty_pages): the model's thread "that dirties page
 * cache to clean another page", the one PF_LESS_THROTTLE exists for.  With
 * MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES its passes are never throttled and,
 * when there is dirty page cache to write, they push writeback past the
 * hard limit.  (A GFP_NOIO worker such as kcryptd submits nothing in its
 * own reclaim: the bug lets it skip the wait but cannot push writeback up.)
 */
struct mmt_wb_device *mmt_loop_create(struct mmt_machine *m, const char *name,
				      struct mmt_wb_device *lower,
				      unsigned int worker_flags, mmt_gfp_t gfp);
/*
 * Network swap over swap file @sf (mmt_swapon) of mount @mnt: requests go
 * out on the mount's socket; replies arrive @latency jiffies later;
 * @packet_size bytes per packet (0: 1500; at least 256).
 */
struct mmt_wb_device *mmt_netswap_create(struct mmt_machine *m,
					 const char *name,
					 struct mmt_swap_mount *mnt,
					 struct mmt_swapfile *sf, long latency,
					 size_t packet_size);
/*
 * Destroy (on a CPU): stops the worker; writes still queued or in flight
 * are ended as failed (their pages freed, their mempool elements
 * returned).  Destroy an upper device before its lower one.  Devices left
 * at machine teardown are destroyed then.
 */
void mmt_wb_device_destroy(struct mmt_wb_device *dev);
const char *mmt_wb_device_name(const struct mmt_wb_device *dev);
enum mmt_wb_kind mmt_wb_device_kind(const struct mmt_wb_device *dev);
/* The worker's task (kcryptd, loop0, the disk's, netswap's). */
struct mmt_task *mmt_wb_device_task(const struct mmt_wb_device *dev);

struct mmt_wb_device_stats {
	unsigned long submitted; /* writes queued */
	unsigned long completed; /* writes ended successfully */
	unsigned long failed; /* ended at destroy */
	unsigned long inflight; /* queued or in flight now */
	unsigned long packets_sent, packets_received,
		packets_dropped; /* netswap */
	unsigned long
		alloc_failures; /* worker allocations that failed (retried) */
};
void mmt_wb_device_stats(const struct mmt_wb_device *dev,
			 struct mmt_wb_device_stats *out);
/*
 * Pages queued on devices whose worker's last allocation failed and which
 * naps until it can retry: under writeback, but not reclaimable while
 * memory stays exhausted (the interpreter's "memory held by the program").
 */
unsigned long mmt_writeback_starved_pages(struct mmt_machine *m);
/* Wait (model time) until @dev has nothing in flight; false on timeout,
 * deadlock or stall. */
bool mmt_wb_device_wait_idle(struct mmt_wb_device *dev, long timeout);

/* ---- counters ---- */

struct mmt_reclaim_stats {
	unsigned long scanned; /* LRU pages looked at */
	unsigned long reclaimed; /* pages freed by reclaim at once */
	unsigned long submitted; /* pages put under writeback */
	unsigned long written; /* writebacks completed (page freed) */
	unsigned long writeback; /* under writeback now */
	unsigned long writeback_max; /* highest under writeback seen */
	unsigned long throttled; /* congestion waits of throttled reclaimers */
	unsigned long direct_reclaims; /* direct reclaim entries */
	unsigned long kswapd_wakeups; /* kswapd woken by the allocator */
	unsigned long kswapd_passes; /* kswapd reclaim passes */
	unsigned long shrinker_calls, shrinker_freed;
	unsigned long packets_dropped; /* over every netswap device */
	unsigned long lru[MMT_NR_LRU_TYPES]; /* pages on the LRUs now */
};
void mmt_reclaim_stats(const struct mmt_machine *m,
		       struct mmt_reclaim_stats *out);
/* As a text table / one JSON object (with a "devices" array). */
void mmt_reclaim_stats_print(struct mmt_machine *m, FILE *out);
void mmt_reclaim_stats_json(struct mmt_machine *m, FILE *out);

#endif /* MMT_RECLAIM_H */
