/* SPDX-License-Identifier: MIT */
/*
 * alloc/reclaim.c - reclaimable memory, the LRU, shrink_node, direct
 * reclaim, kswapd, writeback throttling and slab shrinkers (mmt/reclaim.h),
 * and lockdep's fs_reclaim annotation of reclaim (below: direct reclaim
 * with __GFP_FS and kswapd hold it; might_alloc() takes it for an instant).
 *
 * What it models.  mm/vmscan.c by behaviour, at the size the seeds need:
 * user pages (anonymous, file clean, file dirty) on one LRU per node in
 * age order; a reclaim pass takes the oldest pages first, frees clean file
 * pages at once and submits dirty file pages (with __GFP_FS) and anonymous
 * pages (with __GFP_IO and a swap device) to their writeback device; the
 * page is freed when the device completes.  Pages it may not write are
 * rotated to the young end.  Shrinkers are called every pass.  Then, like
 * shrink_zone() of the 2016 kernel, the reclaimer is throttled in
 * throttle_vm_writeout() while too many pages are under writeback (see
 * mmt/reclaim.h for the limits and for why the model's throttle loops for
 * NOIO callers too).
 *
 * Algorithm of a pass (try_to_free_pages): priorities DEF_PRIORITY..0; at
 * each, every node from the current one scans max(lru >> priority,
 * min(lru, SWAP_CLUSTER_MAX)) pages in batches isolated under lru_lock and
 * handled without it, until the pass made its target of progress (freed +
 * submitted).  A pass never submits more than SWAP_CLUSTER_MAX pages: that
 * bound is what makes the "writeback-limit" check (at submission, in
 * submit_page()) sound without knowing the throttle's logic.
 *
 * kswapd: one kthread per node.  The allocator's wake_kswapd hook sets a
 * pending flag and wakes it; it then runs passes (GFP_KERNEL) with a
 * throttle after each until every zone of its node is above its high
 * watermark.  A pass without progress counts a failure; after
 * kswapd_max_failures it leaves the node alone until a reclaimer frees
 * pages there (kswapd_failures in the kernel).  While the node is below
 * its low watermark and not hopeless it naps HZ/10 between attempts;
 * otherwise it sleeps until woken, so an idle machine has no timer and a
 * real deadlock stays detectable.
 *
 * The OOM killer (out_of_memory(), global case) lives here because the LRU
 * knows who maps what: each entry holds a reference to its task's mm, whose
 * page count is the badness; the largest task is marked a victim and its
 * pages on the LRU unmapped and freed (the reaper); see _mmt_oom_kill().
 *
 * Invariants: an entry is on its node's LRU, isolated by exactly one
 * reclaimer, or under writeback (owned by its device request), never two
 * of these; per-node writeback = entries submitted and not ended;
 * passes_in_flight counts passes from entry to the end of their throttle.
 *
 * Locks: lru_lock (per node, model spinlock) is a leaf: entries are
 * isolated under it and freed, submitted or woken after it is dropped.
 * Shrinkers: a host rwlock outside the lock model (read in reclaim,
 * written by (un)registration); callbacks run under the read side and must
 * not sleep.  No lock of this file is held across a wait.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define SHRINK_BATCH 128
#define THROTTLE_WAIT (MMT_HZ / 10) /* congestion_wait(BLK_RW_ASYNC, HZ/10) */
#define KSWAPD_NAP (MMT_HZ / 10)
#define DIRTY_MAX_PAUSE (MMT_HZ / 5) /* balance_dirty_pages' MAX_PAUSE */

static MMT_LOCK_CLASS(lru_lock_class, "lru_lock", MMT_LOCK_SPIN);

struct lru_entry {
	struct lru_entry *next, *prev; /* on the node's LRU (lru_lock) */
	struct mmt_page *page;
	struct mmt_wb_device *dev; /* where it is written; NULL: not yet */
	struct mmt_reclaim_state *rs;
	int nid;
	enum mmt_lru_type type;
	struct mmt_mm *mm; /* the memory of the task that maps it, or NULL */
};

void _mmt_mm_put(struct mmt_mm *mm)
{
	if (mm &&
	    atomic_fetch_sub_explicit(&mm->refs, 1, memory_order_acq_rel) == 1)
		free(mm);
}

/* The entry leaves the LRU for good (freed, unmapped, torn down). */
static void entry_free(struct lru_entry *e)
{
	if (e->mm) {
		atomic_fetch_sub_explicit(&e->mm->pages, 1,
					  memory_order_relaxed);
		_mmt_mm_put(e->mm);
	}
	free(e);
}

/*
 * The user memory of @t, created at its first page.  tasks_mu (a host
 * mutex, no model lock inside) orders it against the OOM killer's walk.
 */
static struct mmt_mm *task_mm_get(struct mmt_task *t)
{
	struct mmt_machine *m;
	struct mmt_mm *mm;

	if (!t)
		return NULL;
	m = t->m;
	pthread_mutex_lock(&m->tasks_mu);
	if (!t->mm && (t->mm = calloc(1, sizeof(*t->mm))))
		atomic_init(&t->mm->refs, 1);
	mm = t->mm;
	if (mm) {
		atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&mm->pages, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&m->tasks_mu);
	return mm;
}

struct lru_node {
	mmt_spinlock_t lock; /* lru_lock */
	struct lru_entry
		head; /* head.next is the youngest, head.prev the oldest */
	_Atomic unsigned long nr[MMT_NR_LRU_TYPES];
	_Atomic long writeback; /* pages submitted, not yet ended */
	/*
	 * Of those, the pages queued on a device that only a PF_LESS_THROTTLE
	 * worker cleans (a loop device): that worker is never held behind
	 * them, and they may sit above the less limit (see reclaim.h).
	 */
	_Atomic long less_backlog;
	/*
	 * Pages a pass left above its limit because its throttle was cut
	 * short (kthread_stop, or a context that cannot sleep): counted in
	 * the hard limit until as many writebacks have ended on the node.
	 */
	_Atomic long cut_short;
	_Atomic bool
		over_hard; /* writeback-limit reported, until back under the limit */
	struct mmt_waitqueue congestion;
	/* kswapd */
	struct mmt_kthread *kswapd;
	struct mmt_waitqueue kswapd_wait;
	_Atomic bool kswapd_pending;
	_Atomic unsigned int kswapd_failures;
	struct mmt_reclaim_state *rs;
	int nid;
};

struct mmt_shrinker {
	struct mmt_shrinker *next;
	struct mmt_reclaim_state *rs;
	char name[32];
	mmt_shrinker_count_fn count;
	mmt_shrinker_scan_fn scan;
	void *arg;
	_Atomic unsigned long calls, freed;
};

struct mmt_reclaim_state {
	struct mmt_machine *m;
	struct lru_node node[MMT_MAX_NODES];
	_Atomic(struct mmt_wb_device *) swap_dev, file_dev;
	_Atomic unsigned int writeback_ratio, less_throttle_pct,
		kswapd_max_failures;
	_Atomic long passes_in_flight;

	pthread_rwlock_t shrinker_lock;
	struct mmt_shrinker *shrinkers;

	pthread_mutex_t setup_mu; /* kswapd start/stop, hooks (host, leaf) */
	bool hooks_installed;
	struct mmt_page_hooks saved_hooks;

	struct mmt_writeback_state *wb; /* writeback.c */

	/* counters: many writers, relaxed atomics */
	_Atomic unsigned long scanned, reclaimed, submitted, written,
		writeback_max;
	_Atomic unsigned long throttled, direct_reclaims, kswapd_wakeups,
		kswapd_passes;
	_Atomic unsigned long shrinker_calls, shrinker_freed;
};

static inline struct mmt_reclaim_state *RS(const struct mmt_machine *m)
{
	return m->reclaim;
}

static inline void stat_add(_Atomic unsigned long *c, unsigned long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline unsigned long rd(const _Atomic unsigned long *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

struct mmt_writeback_state **_mmt_writeback_slot(struct mmt_machine *m)
{
	return &RS(m)->wb;
}

/* ---- limits ---- */

static unsigned long node_managed(const struct mmt_machine *m, int nid)
{
	unsigned long managed = 0;
	int t;

	for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
		int z = m->nodes[nid].zone_ids[t];

		if (z >= 0)
			managed += m->zones[z].managed;
	}
	return managed;
}

unsigned long mmt_writeback_limit(const struct mmt_machine *m, int nid,
				  bool less_throttle)
{
	const struct mmt_reclaim_state *rs = RS(m);
	unsigned long limit = node_managed(m, nid) *
			      atomic_load_explicit(&rs->writeback_ratio,
						   memory_order_relaxed) /
			      100;

	if (limit < 1)
		limit = 1;
	if (less_throttle)
		limit += limit *
			 atomic_load_explicit(&rs->less_throttle_pct,
					      memory_order_relaxed) /
			 100;
	return limit;
}

/*
 * The free pages of node @nid above its zones' high watermarks (0 if
 * below): the free part of global_dirtyable_memory().
 */
static long free_above_high(const struct mmt_machine *m, int nid)
{
	long free = 0;
	int t;

	for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
		int z = m->nodes[nid].zone_ids[t];

		if (z < 0)
			continue;
		free += atomic_load_explicit(&m->zones[z].nr_free_pages,
					     memory_order_relaxed) -
			(long)m->zones[z].watermark[MMT_WMARK_HIGH];
	}
	return free > 0 ? free : 0;
}

/*
 * The limit the throttle applies now: the kernel's dirty threshold is a
 * share of the *dirtyable* memory (free pages above the high watermarks
 * plus page cache, global_dirtyable_memory()), not of the node, so when
 * memory is full of anonymous pages and the reserve is low it shrinks
 * towards nothing and every reclaimer waits for writeback to drain: the
 * situation of Mikulas' report.  Capped by the ceiling above, which is
 * what the "writeback-limit" bound is computed from (a pass waits until
 * the count is under this limit, so under the ceiling too).
 */
unsigned long mmt_writeback_throttle_limit(const struct mmt_machine *m, int nid,
					   bool less_throttle)
{
	const struct mmt_reclaim_state *rs = RS(m);
	unsigned long ceiling = mmt_writeback_limit(m, nid, less_throttle),
		      limit;
	long dirtyable;

	/*
	 * PF_LESS_THROTTLE: a flusher of others' pages (loop, nfsd) gets the
	 * less ceiling whatever the dirtyable memory: the writers that feed
	 * it were admitted under the ordinary limit, so it is never held
	 * behind the pages only it can clean while they stay under theirs.
	 */
	if (less_throttle)
		return ceiling;

	dirtyable = free_above_high(m, nid);
	dirtyable += (long)atomic_load_explicit(
			     &rs->node[nid].nr[MMT_LRU_FILE_CLEAN],
			     memory_order_relaxed) +
		     (long)atomic_load_explicit(
			     &rs->node[nid].nr[MMT_LRU_FILE_DIRTY],
			     memory_order_relaxed);
	limit = (unsigned long)dirtyable *
		atomic_load_explicit(&rs->writeback_ratio,
				     memory_order_relaxed) /
		100;
	return limit < ceiling ? limit : ceiling;
}

unsigned long mmt_writeback_hard_limit(const struct mmt_machine *m, int nid)
{
	long passes = atomic_load_explicit(&RS(m)->passes_in_flight,
					   memory_order_relaxed);

	long backlog = atomic_load_explicit(&RS(m)->node[nid].less_backlog,
					    memory_order_relaxed) +
		       atomic_load_explicit(&RS(m)->node[nid].cut_short,
					    memory_order_relaxed);

	return mmt_writeback_limit(m, nid, true) +
	       MMT_SWAP_CLUSTER_MAX * (unsigned long)(passes > 0 ? passes : 0) +
	       (unsigned long)(backlog > 0 ? backlog : 0);
}

void mmt_reclaim_get_params(const struct mmt_machine *m,
			    struct mmt_reclaim_params *out)
{
	const struct mmt_reclaim_state *rs = RS(m);

	out->writeback_ratio = atomic_load(&rs->writeback_ratio);
	out->less_throttle_pct = atomic_load(&rs->less_throttle_pct);
	out->kswapd_max_failures = atomic_load(&rs->kswapd_max_failures);
}

bool mmt_reclaim_set_params(struct mmt_machine *m,
			    const struct mmt_reclaim_params *p)
{
	struct mmt_reclaim_state *rs = RS(m);

	if (!p->writeback_ratio || p->writeback_ratio > 100 ||
	    !p->kswapd_max_failures)
		return false;
	atomic_store(&rs->writeback_ratio, p->writeback_ratio);
	atomic_store(&rs->less_throttle_pct, p->less_throttle_pct);
	atomic_store(&rs->kswapd_max_failures, p->kswapd_max_failures);
	return true;
}

/* ---- the LRU ---- */

static void lru_link_young(struct lru_node *ln, struct lru_entry *e)
{
	e->prev = &ln->head;
	e->next = ln->head.next;
	ln->head.next->prev = e;
	ln->head.next = e;
}

static void lru_link_old(struct lru_node *ln, struct lru_entry *e)
{
	e->next = &ln->head;
	e->prev = ln->head.prev;
	ln->head.prev->next = e;
	ln->head.prev = e;
}

static void lru_unlink(struct lru_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = NULL;
}

bool mmt_reclaim_has_swap(const struct mmt_machine *m)
{
	return atomic_load_explicit(&RS(m)->swap_dev, memory_order_acquire) !=
	       NULL;
}

void mmt_reclaim_set_swap_device(struct mmt_machine *m,
				 struct mmt_wb_device *dev)
{
	atomic_store_explicit(&RS(m)->swap_dev, dev, memory_order_release);
}

void mmt_reclaim_set_file_device(struct mmt_machine *m,
				 struct mmt_wb_device *dev)
{
	atomic_store_explicit(&RS(m)->file_dev, dev, memory_order_release);
}

struct mmt_page *_mmt_lru_add_page(struct mmt_machine *m,
				   enum mmt_lru_type type,
				   struct mmt_wb_device *dev, mmt_gfp_t gfp,
				   int nid, const void *data,
				   struct mmt_task *owner)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct lru_entry *e;
	struct mmt_page *page;
	struct lru_node *ln;

	if ((unsigned int)type >= MMT_NR_LRU_TYPES) {
		mmt_violation(m, "bad-argument",
			      "lru_add: %d is not an LRU type", (int)type);
		return NULL;
	}
	if (nid < 0 || nid >= m->nr_nodes)
		nid = mmt_numa_node_id();
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	/* The allocation may reclaim (and sleep): no lock is held here. */
	page = mmt_alloc_pages_node(nid, gfp, 0);
	if (!page) {
		free(e);
		return NULL;
	}
	if (data)
		memcpy(mmt_page_address(page), data, MMT_PAGE_SIZE);
	else
		memset(mmt_page_address(page), (int)type + 1,
		       64); /* "user data" */
	e->page = page;
	e->dev = type == MMT_LRU_ANON ? NULL : dev;
	e->rs = rs;
	e->nid = mmt_page_to_nid(page);
	e->type = type;
	e->mm = task_mm_get(owner);
	ln = &rs->node[e->nid];
	mmt_spin_lock(&ln->lock);
	lru_link_young(ln, e);
	atomic_fetch_add_explicit(&ln->nr[type], 1, memory_order_relaxed);
	mmt_spin_unlock(&ln->lock);
	return page;
}

bool mmt_lru_add(struct mmt_machine *m, enum mmt_lru_type type,
		 struct mmt_wb_device *dev, mmt_gfp_t gfp, int nid)
{
	/* The pages a task maps are its own: the OOM killer's badness. */
	return _mmt_lru_add_page(m, type, dev, gfp, nid, NULL,
				 mmt_current_task()) != NULL;
}

bool mmt_lru_add_anon(struct mmt_machine *m)
{
	return mmt_lru_add(m, MMT_LRU_ANON, NULL, GFP_HIGHUSER_MOVABLE, -1);
}

bool mmt_lru_add_file(struct mmt_machine *m, bool dirty,
		      struct mmt_wb_device *dev)
{
	return mmt_lru_add(m, dirty ? MMT_LRU_FILE_DIRTY : MMT_LRU_FILE_CLEAN,
			   dev, GFP_HIGHUSER_MOVABLE, -1);
}

unsigned long mmt_lru_unmap(struct mmt_machine *m, enum mmt_lru_type type,
			    unsigned long nr)
{
	struct mmt_reclaim_state *rs = RS(m);
	unsigned long done = 0;
	int nid;

	if ((unsigned int)type >= MMT_NR_LRU_TYPES)
		return 0;
	for (nid = 0; nid < m->nr_nodes && done < nr; nid++) {
		struct lru_node *ln = &rs->node[nid];

		while (done < nr) {
			struct lru_entry *batch[MMT_SWAP_CLUSTER_MAX], *e,
				*next;
			int n = 0, i;

			mmt_spin_lock(&ln->lock);
			for (e = ln->head.next;
			     e != &ln->head && n < MMT_SWAP_CLUSTER_MAX &&
			     done + (unsigned long)n < nr;
			     e = next) {
				next = e->next;
				if (e->type != type)
					continue;
				lru_unlink(e);
				atomic_fetch_sub_explicit(&ln->nr[type], 1,
							  memory_order_relaxed);
				batch[n++] = e;
			}
			mmt_spin_unlock(&ln->lock);
			if (!n)
				break;
			for (i = 0; i < n; i++) {
				mmt_free_pages(batch[i]->page, 0);
				entry_free(batch[i]);
			}
			done += (unsigned long)n;
		}
	}
	return done;
}

/* ---- the OOM killer ---- */

/*
 * Unmap and free every page on the LRU that task @id maps: the OOM
 * reaper's unmap of a victim (and exit_mm()).  Pages isolated by a
 * reclaimer or under writeback are not on the list: they leave when their
 * reclaimer or device is done with them.
 */
static unsigned long unmap_owned(struct mmt_reclaim_state *rs,
				 const struct mmt_mm *mm)
{
	struct mmt_machine *m = rs->m;
	unsigned long done = 0;
	int nid;

	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct lru_node *ln = &rs->node[nid];

		for (;;) {
			struct lru_entry *batch[MMT_SWAP_CLUSTER_MAX], *e,
				*next;
			int n = 0, i;

			mmt_spin_lock(&ln->lock);
			for (e = ln->head.next;
			     e != &ln->head && n < MMT_SWAP_CLUSTER_MAX;
			     e = next) {
				next = e->next;
				if (e->mm != mm)
					continue;
				lru_unlink(e);
				atomic_fetch_sub_explicit(&ln->nr[e->type], 1,
							  memory_order_relaxed);
				batch[n++] = e;
			}
			mmt_spin_unlock(&ln->lock);
			if (!n)
				break;
			for (i = 0; i < n; i++) {
				mmt_free_pages(batch[i]->page, 0);
				entry_free(batch[i]);
			}
			done += (unsigned long)n;
		}
	}
	return done;
}

unsigned long mmt_task_user_pages(const struct mmt_task *t)
{
	struct mmt_machine *m;
	long n = 0;

	if (!t)
		return 0;
	m = t->m;
	pthread_mutex_lock(&m->tasks_mu);
	if (t->mm)
		n = atomic_load_explicit(&t->mm->pages, memory_order_relaxed);
	pthread_mutex_unlock(&m->tasks_mu);
	return n > 0 ? (unsigned long)n : 0;
}

/*
 * out_of_memory() of v6.x, for the global (not memcg) case.  Candidates:
 * every task with user memory except kernel threads (oom_unkillable_task).
 * A victim still holding pages (under writeback: the reaper cannot free
 * them yet) makes the killer wait for it (oom_evaluate_task()'s abort: no
 * new kill, but progress); a victim with nothing left is skipped
 * (MMF_OOM_SKIP).  The badness is the pages the task maps wherever they
 * are (its rss and swap entries; the model has no page tables to add, nor
 * oom_score_adj).  The largest is killed: marked a victim (ALLOC_OOM's
 * reserve access until it exits) and what it maps on the LRU unmapped and
 * freed at once, as the OOM reaper would.  With no candidate the kernel
 * prints "Out of memory and no killable processes..." and panics ("System
 * is deadlocked on memory"): the model reports "oom-no-victim" and the
 * allocation fails.
 *
 * The walk is under tasks_mu (a host mutex: no model lock is taken under
 * it, as lru_lock may be a scheduling point); the victim's mm is held by a
 * reference while its pages are unmapped.
 */
bool _mmt_oom_kill(struct mmt_cpu *cpu, mmt_gfp_t gfp, unsigned int order)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_task *t, *victim = NULL;
	struct mmt_mm *mm = NULL;
	bool waiting = false;
	long best = 0;

	pthread_mutex_lock(&m->tasks_mu);
	for (t = m->tasks; t; t = t->next_all) {
		long pages;

		if (t->kthread || !t->mm)
			continue;
		pages = atomic_load_explicit(&t->mm->pages,
					     memory_order_relaxed);
		if (t->oom_victim) {
			waiting |= pages > 0;
			continue;
		}
		/*
		 * The list is newest first; the kernel walks oldest first and
		 * a tie replaces its choice: ties go to the newest task.
		 */
		if (pages > best) {
			best = pages;
			victim = t;
		}
	}
	if (!waiting && victim) {
		/* mark_oom_victim(): TIF_MEMDIE's reserve access */
		victim->oom_victim = true;
		mm = victim->mm;
		atomic_fetch_add_explicit(&mm->refs, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&m->tasks_mu);
	if (waiting)
		return true;
	if (!mm) {
		mmt_violation(
			m, "oom-no-victim",
			"out of memory (order-%u allocation, gfp 0x%x) and no killable task: no task maps user pages; the kernel panics (\"System is deadlocked on memory\")",
			order, (unsigned int)gfp);
		return false;
	}
	mmt_count_event(cpu, MMT_VM_OOM_KILL, 1);
	/* The reaper: what the victim maps on the LRU goes back now. */
	if (unmap_owned(RS(m), mm))
		mmt_sched_progress(m);
	_mmt_mm_put(mm);
	return true;
}

bool mmt_task_is_oom_victim(const struct mmt_task *t)
{
	return t && t->oom_victim;
}

bool mmt_oom_exit_current(void)
{
	struct mmt_task *t = mmt_current_task();

	if (!t || !t->oom_victim)
		return false;
	/* exit_mm(): what it mapped since the kill goes too. */
	if (t->mm)
		unmap_owned(RS(t->m), t->mm);
	/* exit_oom_victim(): no more ALLOC_OOM. */
	t->oom_victim = false;
	return true;
}

unsigned long mmt_lru_pages(const struct mmt_machine *m, int nid,
			    enum mmt_lru_type type)
{
	unsigned long n = 0;
	int i;

	if ((unsigned int)type >= MMT_NR_LRU_TYPES)
		return 0;
	for (i = 0; i < m->nr_nodes; i++)
		if (nid < 0 || nid == i)
			n += atomic_load_explicit(&RS(m)->node[i].nr[type],
						  memory_order_relaxed);
	return n;
}

unsigned long mmt_writeback_pages(const struct mmt_machine *m, int nid)
{
	long n = 0;
	int i;

	for (i = 0; i < m->nr_nodes; i++)
		if (nid < 0 || nid == i)
			n += atomic_load_explicit(&RS(m)->node[i].writeback,
						  memory_order_relaxed);
	return n > 0 ? (unsigned long)n : 0;
}

static unsigned long lru_size(struct lru_node *ln)
{
	unsigned long n = 0;
	int t;

	for (t = 0; t < MMT_NR_LRU_TYPES; t++)
		n += atomic_load_explicit(&ln->nr[t], memory_order_relaxed);
	return n;
}

/* ---- writeback ---- */

/* One writeback ended on @ln: one page less of a cut-short pass's excess. */
static void cut_short_end(struct lru_node *ln)
{
	long v = atomic_load_explicit(&ln->cut_short, memory_order_relaxed);

	while (v > 0 && !atomic_compare_exchange_weak_explicit(
				&ln->cut_short, &v, v - 1, memory_order_relaxed,
				memory_order_relaxed))
		;
}

/* end_page_writeback() + the page leaving: called by the device. */
static void lru_end_writeback(struct mmt_page *page, void *ctx, bool ok)
{
	struct lru_entry *e = ctx;
	struct mmt_reclaim_state *rs = e->rs;
	struct mmt_machine *m = rs->m;
	struct lru_node *ln = &rs->node[e->nid];
	long wb;

	MMT_IASSERT(page == e->page);
	if (e->dev && _mmt_wb_less_flushed(e->dev))
		atomic_fetch_sub_explicit(&ln->less_backlog, 1,
					  memory_order_relaxed);
	cut_short_end(ln);
	mmt_free_pages(page, 0);
	entry_free(e);
	wb = atomic_fetch_sub_explicit(&ln->writeback, 1,
				       memory_order_relaxed) -
	     1;
	if (wb <= (long)mmt_writeback_limit(m, ln->nid, true))
		atomic_store_explicit(&ln->over_hard, false,
				      memory_order_relaxed);
	if (ok)
		stat_add(&rs->written, 1);
	/* The congestion waiters re-check their limit (congestion_wait). */
	mmt_wake_up(&ln->congestion);
	mmt_sched_progress(m);
}

/*
 * Put @e under writeback on @dev.  The "writeback-limit" check lives here,
 * at the only place pages enter writeback, and knows nothing of the
 * throttle: see mmt/reclaim.h for the bound and why it holds.
 */
static void submit_page(struct mmt_reclaim_state *rs, struct lru_entry *e,
			struct mmt_wb_device *dev)
{
	struct mmt_machine *m = rs->m;
	struct lru_node *ln = &rs->node[e->nid];
	unsigned long max, hard;
	long wb;

	e->dev = dev;
	if (_mmt_wb_less_flushed(dev))
		atomic_fetch_add_explicit(&ln->less_backlog, 1,
					  memory_order_relaxed);
	atomic_fetch_sub_explicit(&ln->nr[e->type], 1, memory_order_relaxed);
	wb = atomic_fetch_add_explicit(&ln->writeback, 1,
				       memory_order_relaxed) +
	     1;
	max = rd(&rs->writeback_max);
	while ((unsigned long)wb > max &&
	       !atomic_compare_exchange_weak_explicit(
		       &rs->writeback_max, &max, (unsigned long)wb,
		       memory_order_relaxed, memory_order_relaxed))
		;
	stat_add(&rs->submitted, 1);
	hard = mmt_writeback_hard_limit(m, e->nid);
	/*
	 * After a deadlock or stall report every wait returns at once and
	 * throttles let everyone through: the bound no longer holds, and the
	 * finding is already made.
	 */
	if (MMT_UNLIKELY((unsigned long)wb > hard) &&
	    m->cfg.throttle == MMT_THROTTLE_VM_WRITEOUT &&
	    !mmt_sched_failed(m) &&
	    !atomic_exchange_explicit(&ln->over_hard, true,
				      memory_order_relaxed)) {
		struct mmt_task *t = mmt_current_task();

		mmt_violation(
			m, "writeback-limit",
			"node %d: %ld pages under writeback, above the hard limit %lu (less-throttle limit %lu + %d x %ld passes in flight); submitted by %s (flags 0x%x)",
			e->nid, wb, hard, mmt_writeback_limit(m, e->nid, true),
			MMT_SWAP_CLUSTER_MAX,
			atomic_load_explicit(&rs->passes_in_flight,
					     memory_order_relaxed),
			t ? mmt_task_name(t) : "?", t ? t->flags : 0);
	}
	_mmt_wb_submit(dev, e->page, lru_end_writeback, e);
}

/* ---- shrink_node ---- */

struct scan_control {
	mmt_gfp_t gfp;
	unsigned long nr_to_reclaim;
	unsigned long freed, submitted;
	unsigned long submit_budget; /* left in this pass (<= SWAP_CLUSTER_MAX) */
	uint32_t submitted_nodes; /* bit per node this pass submitted on */
};

static unsigned long node_allocated(struct mmt_machine *m, int nid)
{
	unsigned long n = 0;
	int t;

	for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
		int z = m->nodes[nid].zone_ids[t];
		struct mmt_zone_info zi;

		if (z >= 0 && mmt_zone_info(m, z, &zi))
			n += zi.allocated;
	}
	return n;
}

/*
 * shrink_slab(): every shrinker gets a share of its count that grows as
 * the priority drops (count >> priority, at least a batch).  The pages
 * that went back to the node meanwhile count as reclaimed (reclaimed_slab);
 * another CPU allocating at the same time can hide some, never add any.
 */
static unsigned long shrink_slab(struct mmt_reclaim_state *rs, int nid,
				 mmt_gfp_t gfp, int priority)
{
	struct mmt_machine *m = rs->m;
	unsigned long before, after;
	struct mmt_shrinker *s;

	if (!rs->shrinkers)
		return 0;
	/* Like down_read_trylock(&shrinker_rwsem): never wait for a writer. */
	if (pthread_rwlock_tryrdlock(&rs->shrinker_lock))
		return 0;
	before = node_allocated(m, nid);
	for (s = rs->shrinkers; s; s = s->next) {
		unsigned long count = s->count(m, nid, gfp, s->arg), todo;

		if (!count)
			continue;
		todo = count >> priority;
		if (todo < SHRINK_BATCH)
			todo = count < SHRINK_BATCH ? count : SHRINK_BATCH;
		while (todo) {
			unsigned long batch =
				todo < SHRINK_BATCH ? todo : SHRINK_BATCH;
			unsigned long freed =
				s->scan(m, nid, gfp, batch, s->arg);

			stat_add(&s->calls, 1);
			stat_add(&rs->shrinker_calls, 1);
			stat_add(&s->freed, freed);
			stat_add(&rs->shrinker_freed, freed);
			if (!freed)
				break;
			todo -= batch;
		}
	}
	pthread_rwlock_unlock(&rs->shrinker_lock);
	after = node_allocated(m, nid);
	return before > after ? before - after : 0;
}

static void shrink_node_sc(struct mmt_reclaim_state *rs, int nid, int priority,
			   struct scan_control *sc)
{
	struct lru_node *ln = &rs->node[nid];
	struct mmt_wb_device *swap =
		atomic_load_explicit(&rs->swap_dev, memory_order_acquire);
	struct mmt_wb_device *file =
		atomic_load_explicit(&rs->file_dev, memory_order_acquire);
	bool may_io = sc->gfp & __GFP_IO, may_fs = sc->gfp & __GFP_FS;
	unsigned long size = lru_size(ln), nr_to_scan, scanned = 0,
		      freed_before = sc->freed;

	nr_to_scan = size >> priority;
	if (nr_to_scan < MMT_SWAP_CLUSTER_MAX)
		nr_to_scan = size < MMT_SWAP_CLUSTER_MAX ? size :
							   MMT_SWAP_CLUSTER_MAX;
	while (scanned < nr_to_scan &&
	       sc->freed + sc->submitted < sc->nr_to_reclaim) {
		struct lru_entry *batch[MMT_SWAP_CLUSTER_MAX];
		struct lru_entry *rotate[MMT_SWAP_CLUSTER_MAX];
		struct lru_entry *keep[MMT_SWAP_CLUSTER_MAX];
		struct mmt_page *to_free[MMT_SWAP_CLUSTER_MAX];
		int n = 0, nrot = 0, nkeep = 0, nfree = 0, i;
		unsigned long want = nr_to_scan - scanned;

		if (want > MMT_SWAP_CLUSTER_MAX)
			want = MMT_SWAP_CLUSTER_MAX;
		/* isolate_lru_pages(): the oldest, under lru_lock. */
		mmt_spin_lock(&ln->lock);
		while ((unsigned long)n < want && ln->head.prev != &ln->head) {
			struct lru_entry *e = ln->head.prev;

			lru_unlink(e);
			batch[n++] = e;
		}
		mmt_spin_unlock(&ln->lock);
		if (!n)
			break;
		scanned += (unsigned long)n;
		stat_add(&rs->scanned, (unsigned long)n);
		/* shrink_page_list(), without the lock. */
		for (i = 0; i < n; i++) {
			struct lru_entry *e = batch[i];
			struct mmt_wb_device *dev;

			if (sc->freed + sc->submitted >= sc->nr_to_reclaim) {
				keep[nkeep++] = e;
				continue;
			}
			switch (e->type) {
			case MMT_LRU_FILE_CLEAN:
				atomic_fetch_sub_explicit(&ln->nr[e->type], 1,
							  memory_order_relaxed);
				to_free[nfree++] = e->page;
				entry_free(e);
				sc->freed++;
				continue;
			case MMT_LRU_FILE_DIRTY:
				dev = e->dev ? e->dev : file;
				if (!may_fs || !dev || !sc->submit_budget)
					break;
				submit_page(rs, e, dev);
				sc->submitted++;
				sc->submit_budget--;
				sc->submitted_nodes |= 1u << nid;
				continue;
			case MMT_LRU_ANON:
			default:
				if (!may_io || !swap || !sc->submit_budget)
					break;
				submit_page(rs, e, swap);
				sc->submitted++;
				sc->submit_budget--;
				sc->submitted_nodes |= 1u << nid;
				continue;
			}
			rotate[nrot++] =
				e; /* may not write it now: keep it young */
		}
		if (nrot || nkeep) {
			mmt_spin_lock(&ln->lock);
			for (i = 0; i < nrot; i++)
				lru_link_young(ln, rotate[i]);
			for (i = nkeep - 1; i >= 0; i--)
				lru_link_old(ln, keep[i]);
			mmt_spin_unlock(&ln->lock);
		}
		for (i = 0; i < nfree; i++)
			mmt_free_pages(to_free[i], 0);
		stat_add(&rs->reclaimed, (unsigned long)nfree);
	}
	sc->freed += shrink_slab(rs, nid, sc->gfp, priority);
	/* Pages came back here: kswapd may try this node again. */
	if (sc->freed > freed_before)
		atomic_store_explicit(&ln->kswapd_failures, 0,
				      memory_order_relaxed);
}

void mmt_shrink_node(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
		     int priority, unsigned long nr_to_reclaim,
		     unsigned long *freed, unsigned long *submitted)
{
	struct scan_control sc = { .gfp = mmt_current_gfp_context(gfp),
				   .nr_to_reclaim = nr_to_reclaim,
				   .submit_budget = MMT_SWAP_CLUSTER_MAX };

	if (nid >= 0 && nid < m->nr_nodes) {
		if (priority < 0)
			priority = 0;
		if (priority > MMT_DEF_PRIORITY)
			priority = MMT_DEF_PRIORITY;
		/* A pass of its own: it counts for the writeback-limit bound. */
		atomic_fetch_add_explicit(&RS(m)->passes_in_flight, 1,
					  memory_order_relaxed);
		shrink_node_sc(RS(m), nid, priority, &sc);
		atomic_fetch_sub_explicit(&RS(m)->passes_in_flight, 1,
					  memory_order_relaxed);
	}
	if (freed)
		*freed = sc.freed;
	if (submitted)
		*submitted = sc.submitted;
}

/* ---- throttling ---- */

static const char *const throttle_names[MMT_NR_THROTTLE_POLICIES] = {
	[MMT_THROTTLE_VM_WRITEOUT] = "vm-writeout",
	[MMT_THROTTLE_RECLAIM] = "reclaim",
};

const char *mmt_throttle_policy_name(enum mmt_throttle_policy p)
{
	return (unsigned int)p < MMT_NR_THROTTLE_POLICIES ? throttle_names[p] :
							    "?";
}

bool mmt_throttle_policy_parse(const char *name, enum mmt_throttle_policy *out)
{
	int p;

	for (p = 0; name && p < MMT_NR_THROTTLE_POLICIES; p++) {
		if (!strcmp(name, throttle_names[p])) {
			*out = (enum mmt_throttle_policy)p;
			return true;
		}
	}
	return false;
}

struct throttle_arg {
	struct lru_node *ln;
	bool less;
	long limit; /* at the last check, for the report */
};

static bool under_limit(void *arg)
{
	struct throttle_arg *ta = arg;

	long wb =
		atomic_load_explicit(&ta->ln->writeback, memory_order_relaxed);

	ta->limit = (long)mmt_writeback_throttle_limit(ta->ln->rs->m,
						       ta->ln->nid, ta->less);
	/* A PF_LESS_THROTTLE flusher is not held behind what only it cleans. */
	if (ta->less)
		wb -= atomic_load_explicit(&ta->ln->less_backlog,
					   memory_order_relaxed);
	return wb <= ta->limit;
}

/*
 * The bound of "writeback-limit" counts a pass in flight until its throttle
 * ends.  A throttle cut short leaves that pass's submissions above the
 * limit after it ends: keep them in the bound until as many writebacks have
 * ended on the node.
 */
static void throttle_cut_short(struct lru_node *ln)
{
	atomic_fetch_add_explicit(&ln->cut_short, MMT_SWAP_CLUSTER_MAX,
				  memory_order_relaxed);
}

/*
 * reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK) of v5.16+: one wait of at
 * most HZ/10 while the node's pages under writeback are above the limit,
 * woken early by writeback completions; kernel threads other than kswapd
 * are not throttled (they may be what reclaim waits for: the loop and
 * crypt workers here).  The caller then goes on: its allocation's
 * no-progress retries reach the OOM killer instead of waiting for
 * writeback for ever.
 */
static void reclaim_throttle(struct lru_node *ln, struct throttle_arg *ta,
			     unsigned int flags)
{
	if (_mmt_this_kthread && !(flags & MMT_PF_KSWAPD))
		return;
	if (under_limit(ta))
		return;
	stat_add(&ln->rs->throttled, 1);
	(void)mmt_wait_event_timeout(&ln->congestion, under_limit, ta,
				     THROTTLE_WAIT, NULL);
}

/*
 * Wait while the node's pages under writeback are above the caller's
 * limit: throttle_vm_writeout() of the 2016 kernel, which loops until they
 * are not, or reclaim_throttle() (the machine's throttle policy).
 * @reported: the mempool-no-reclaim violation was already reported for
 * this reclaim.
 */
static void throttle(struct mmt_reclaim_state *rs, int nid, bool reported)
{
	struct mmt_machine *m = rs->m;
	struct lru_node *ln = &rs->node[nid];
	unsigned int flags = mmt_current_flags();
	bool less = flags & MMT_PF_LESS_THROTTLE;
	struct throttle_arg ta = { .ln = ln, .less = less };

	/* Seed 001's bug: "LESS" read as "NO". */
	if (less && mmt_bug_on(m, MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES)) {
		mmt_bug_hit(m, MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES,
			    !under_limit(&ta));
		return;
	}
	while (!under_limit(&ta)) {
		uint64_t before = mmt_jiffies(m);
		enum mmt_wait_result r;

		if (!reported && _mmt_mempool_in_noreclaim_alloc()) {
			mmt_violation(
				m, "mempool-no-reclaim",
				"task %s is throttled in %s (node %d: %ld pages under writeback, limit %ld) inside mempool_alloc under the no-reclaim policy",
				mmt_task_name(mmt_current_task()),
				m->cfg.throttle == MMT_THROTTLE_RECLAIM ?
					"reclaim_throttle" :
					"throttle_vm_writeout",
				nid,
				atomic_load_explicit(&ln->writeback,
						     memory_order_relaxed),
				ta.limit);
			reported = true;
		}
		if (m->cfg.throttle == MMT_THROTTLE_RECLAIM) {
			reclaim_throttle(ln, &ta, flags);
			return;
		}
		stat_add(&rs->throttled, 1);
		r = mmt_wait_event_timeout(&ln->congestion, under_limit, &ta,
					   THROTTLE_WAIT, NULL);
		if (r == MMT_WAIT_DEADLOCK)
			return;
		if (r == MMT_WAIT_STOPPED) {
			throttle_cut_short(ln);
			return;
		}
		/* A timeout without model time passing: this context cannot
		 * sleep (already reported by the wait); do not spin. */
		if (r == MMT_WAIT_TIMEOUT && mmt_jiffies(m) == before) {
			throttle_cut_short(ln);
			return;
		}
	}
}

void mmt_throttle_vm_writeout(struct mmt_machine *m, int nid, mmt_gfp_t gfp)
{
	(void)gfp; /* both throttles ignore the mask (see reclaim.h) */
	if (nid < 0 || nid >= m->nr_nodes)
		nid = mmt_numa_node_id();
	atomic_fetch_add_explicit(&RS(m)->passes_in_flight, 1,
				  memory_order_relaxed);
	throttle(RS(m), nid, false);
	atomic_fetch_sub_explicit(&RS(m)->passes_in_flight, 1,
				  memory_order_relaxed);
}

/* ---- balance_dirty_pages ---- */

/*
 * The dirty limit: vm.dirty_ratio (MMT_DIRTY_RATIO %) of the dirtyable
 * memory, as global_dirtyable_memory() counts it: free pages above the
 * high watermarks plus the page cache, where the kernel's file LRU still
 * holds the pages under writeback (the model's leave it: they are added
 * back).  PF_LESS_THROTTLE gets a quarter more (domain_dirty_limits()):
 * the room to dirty a page of its backing file while cleaning another.
 */
unsigned long mmt_dirty_limit(const struct mmt_machine *m, int nid,
			      bool less_throttle)
{
	const struct mmt_reclaim_state *rs = RS(m);
	const struct lru_node *ln;
	long dirtyable, wb;
	unsigned long limit;

	if (nid < 0 || nid >= m->nr_nodes)
		return 0;
	ln = &rs->node[nid];
	dirtyable = free_above_high(m, nid);
	wb = atomic_load_explicit(&ln->writeback, memory_order_relaxed);
	dirtyable += (long)atomic_load_explicit(&ln->nr[MMT_LRU_FILE_CLEAN],
						memory_order_relaxed) +
		     (long)atomic_load_explicit(&ln->nr[MMT_LRU_FILE_DIRTY],
						memory_order_relaxed) +
		     (wb > 0 ? wb : 0);
	limit = (unsigned long)dirtyable * MMT_DIRTY_RATIO / 100;
	if (less_throttle)
		limit += limit / 4;
	return limit;
}

/* NR_FILE_DIRTY + NR_WRITEBACK of node @ln: what the dirty limit bounds. */
static unsigned long node_dirty(const struct lru_node *ln)
{
	long wb = atomic_load_explicit(&ln->writeback, memory_order_relaxed);

	return atomic_load_explicit(&ln->nr[MMT_LRU_FILE_DIRTY],
				    memory_order_relaxed) +
	       (unsigned long)(wb > 0 ? wb : 0);
}

struct dirty_arg {
	struct lru_node *ln;
	bool less;
};

static bool dirty_under_limit(void *arg)
{
	struct dirty_arg *da = arg;

	return node_dirty(da->ln) <=
	       mmt_dirty_limit(da->ln->rs->m, da->ln->nid, da->less);
}

/*
 * The flusher's work on behalf of a writer over its limit (the model has
 * no flusher thread: wb_start_background_writeback() is done here): submit
 * up to MMT_SWAP_CLUSTER_MAX of node @nid's oldest dirty file pages that
 * have a device.  A pass for the "writeback-limit" bound: it is in flight
 * until its throttle ends, as a reclaim pass.  Returns the pages submitted.
 */
static unsigned long flush_dirty(struct mmt_reclaim_state *rs, int nid)
{
	struct lru_node *ln = &rs->node[nid];
	struct mmt_wb_device *file =
		atomic_load_explicit(&rs->file_dev, memory_order_acquire);
	struct lru_entry *batch[MMT_SWAP_CLUSTER_MAX], *e, *prev;
	int n = 0, i;

	atomic_fetch_add_explicit(&rs->passes_in_flight, 1,
				  memory_order_relaxed);
	mmt_spin_lock(&ln->lock);
	for (e = ln->head.prev; e != &ln->head && n < MMT_SWAP_CLUSTER_MAX;
	     e = prev) {
		prev = e->prev;
		if (e->type != MMT_LRU_FILE_DIRTY || !(e->dev ? e->dev : file))
			continue;
		lru_unlink(e);
		batch[n++] = e;
	}
	mmt_spin_unlock(&ln->lock);
	for (i = 0; i < n; i++)
		submit_page(rs, batch[i], batch[i]->dev ? batch[i]->dev : file);
	if (n)
		throttle(rs, nid, true);
	atomic_fetch_sub_explicit(&rs->passes_in_flight, 1,
				  memory_order_relaxed);
	return (unsigned long)n;
}

void mmt_balance_dirty_pages(struct mmt_machine *m)
{
	struct mmt_reclaim_state *rs = RS(m);
	int nid = mmt_numa_node_id();
	struct dirty_arg da;

	if (nid < 0 || nid >= m->nr_nodes)
		nid = 0;
	da.ln = &rs->node[nid];
	da.less = mmt_current_flags() & MMT_PF_LESS_THROTTLE;
	while (!mmt_sched_failed(m) && !dirty_under_limit(&da)) {
		uint64_t before = mmt_jiffies(m);
		enum mmt_wait_result r;

		/* Nothing to write and nothing being written: no one cleans. */
		if (!flush_dirty(rs, nid) &&
		    atomic_load_explicit(&da.ln->writeback,
					 memory_order_relaxed) <= 0)
			return;
		/* The pause (at most MAX_PAUSE), cut short by completions. */
		r = mmt_wait_event_timeout(&da.ln->congestion,
					   dirty_under_limit, &da,
					   DIRTY_MAX_PAUSE, NULL);
		if (r == MMT_WAIT_DEADLOCK || r == MMT_WAIT_STOPPED)
			return;
		/* A context that cannot sleep (reported by the wait). */
		if (r == MMT_WAIT_TIMEOUT && mmt_jiffies(m) == before)
			return;
	}
}

void mmt_balance_dirty_pages_ratelimited(struct mmt_machine *m)
{
	struct mmt_task *t = mmt_current_task();

	if (t && ++t->nr_dirtied < MMT_DIRTY_RATELIMIT)
		return;
	if (t)
		t->nr_dirtied = 0;
	mmt_balance_dirty_pages(m);
}

/* ---- fs_reclaim: lockdep's view of reclaim ---- */

/*
 * lockdep's fs_reclaim annotation.  Reclaim with __GFP_FS may call into
 * filesystems (writeback, shrinkers) and so take their locks; an
 * allocation that may enter such reclaim may therefore wait for those
 * locks.  So every allocation that may enter it "takes" fs_reclaim for an
 * instant (held locks -> fs_reclaim), and reclaim holds it while it runs
 * (fs_reclaim -> the locks a shrinker takes): a lock held across a
 * GFP_KERNEL allocation that a shrinker also takes closes a cycle, reported
 * whether or not reclaim ever ran while the lock was held.  As the
 * kernel's __need_reclaim(): only with __GFP_DIRECT_RECLAIM, never for a
 * PF_MEMALLOC task (reclaim's own allocations), and the hold only with
 * __GFP_FS (GFP_NOFS and the nofs/noio scopes are the fix).
 */
static MMT_LOCK_CLASS(fs_reclaim_class, "fs_reclaim", MMT_LOCK_MUTEX);

void _mmt_fs_reclaim_init(struct mmt_machine *m)
{
	_mmt_lock_map_init(&m->fs_reclaim_map, &fs_reclaim_class);
}

static bool fs_reclaim_needed(const struct mmt_cpu *cpu, mmt_gfp_t gfp)
{
	return (gfp & __GFP_DIRECT_RECLAIM) && (gfp & __GFP_FS) &&
	       !(cpu->curr->flags & MMT_PF_MEMALLOC);
}

bool _mmt_fs_reclaim_acquire(struct mmt_cpu *cpu, mmt_gfp_t gfp,
			     const char *site)
{
	if (!cpu->m->cfg.lockdep || !fs_reclaim_needed(cpu, gfp))
		return false;
	_mmt_lock_map_acquire(cpu, &cpu->m->fs_reclaim_map, site);
	return true;
}

void _mmt_fs_reclaim_release(struct mmt_cpu *cpu, const char *site)
{
	_mmt_lock_map_release(cpu, &cpu->m->fs_reclaim_map, site);
}

MMT_NOINLINE void _mmt_fs_reclaim_might_slow(struct mmt_cpu *cpu, mmt_gfp_t gfp,
					     const char *site)
{
	if (_mmt_fs_reclaim_acquire(cpu, gfp, site))
		_mmt_fs_reclaim_release(cpu, site);
}

/* ---- try_to_free_pages ---- */

/*
 * One pass: priority ladder over @nids (every node from @first when
 * @only_first is false), then the throttle on @first and on every node the
 * pass submitted to.  Returns freed + submitted.
 */
static unsigned long reclaim_pass(struct mmt_reclaim_state *rs, int first,
				  bool only_first, mmt_gfp_t gfp,
				  unsigned long nr, bool reported,
				  unsigned long *freed)
{
	struct mmt_machine *m = rs->m;
	struct scan_control sc = { .gfp = gfp,
				   .nr_to_reclaim = nr,
				   .submit_budget = MMT_SWAP_CLUSTER_MAX };
	int prio, i;

	atomic_fetch_add_explicit(&rs->passes_in_flight, 1,
				  memory_order_relaxed);
	for (prio = MMT_DEF_PRIORITY; prio >= 0; prio--) {
		for (i = 0; i < (only_first ? 1 : m->nr_nodes); i++) {
			int nid = (first + i) % m->nr_nodes;

			shrink_node_sc(rs, nid, prio, &sc);
			if (sc.freed + sc.submitted >= nr)
				goto done;
		}
	}
done:
	sc.submitted_nodes |= 1u << first;
	for (i = 0; i < m->nr_nodes; i++)
		if (sc.submitted_nodes & (1u << i))
			throttle(rs, i, reported);
	atomic_fetch_sub_explicit(&rs->passes_in_flight, 1,
				  memory_order_relaxed);
	if (freed)
		*freed = sc.freed;
	return sc.freed + sc.submitted;
}

static unsigned long try_to_free_pages(struct mmt_machine *m, mmt_gfp_t gfp,
				       unsigned long nr, unsigned long *freed)
{
	struct mmt_reclaim_state *rs = RS(m);
	bool reported = false;
	int nid = mmt_numa_node_id();

	if (nid < 0)
		nid = 0;
	if (nr < MMT_SWAP_CLUSTER_MAX)
		nr = MMT_SWAP_CLUSTER_MAX;
	stat_add(&rs->direct_reclaims, 1);
	if (_mmt_mempool_in_noreclaim_alloc()) {
		mmt_violation(
			m, "mempool-no-reclaim",
			"task %s entered direct reclaim inside mempool_alloc under the no-reclaim policy",
			mmt_task_name(mmt_current_task()));
		reported = true;
	}
	return reclaim_pass(rs, nid, false, mmt_current_gfp_context(gfp), nr,
			    reported, freed);
}

unsigned long mmt_try_to_free_pages(struct mmt_machine *m, mmt_gfp_t gfp,
				    unsigned long nr)
{
	return try_to_free_pages(m, gfp, nr, NULL);
}

/*
 * The allocator's progress.  Under today's reclaim (throttle=reclaim) it
 * is what the kernel's should_reclaim_retry() counts, the pages reclaimed:
 * pages only put under writeback are no progress, so an allocation that
 * waits for writeback nobody completes reaches the OOM killer after
 * MAX_RECLAIM_RETRIES.  The 2016 world keeps freed + submitted, the
 * progress its throttle (which waits until writeback drains) was built on.
 */
static unsigned long direct_reclaim_hook(struct mmt_machine *m, mmt_gfp_t gfp,
					 unsigned int order, void *arg)
{
	unsigned long freed = 0, progress;

	(void)arg;
	progress = try_to_free_pages(
		m, gfp, order < 5 ? MMT_SWAP_CLUSTER_MAX : 1ul << order,
		&freed);
	return m->cfg.throttle == MMT_THROTTLE_RECLAIM ? freed : progress;
}

/* ---- kswapd ---- */

static bool node_balanced(struct mmt_machine *m, int nid, int mark)
{
	int t;

	for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
		int z = m->nodes[nid].zone_ids[t];
		const struct mmt_zone *zone;

		if (z < 0)
			continue;
		zone = &m->zones[z];
		if (zone->managed &&
		    atomic_load_explicit(&zone->nr_free_pages,
					 memory_order_relaxed) <
			    (long)zone->watermark[mark])
			return false;
	}
	return true;
}

static bool kswapd_wanted(void *arg)
{
	struct lru_node *ln = arg;

	return atomic_load_explicit(&ln->kswapd_pending, memory_order_acquire);
}

static bool node_hopeless(struct lru_node *ln)
{
	return atomic_load_explicit(&ln->kswapd_failures,
				    memory_order_relaxed) >=
	       atomic_load_explicit(&ln->rs->kswapd_max_failures,
				    memory_order_relaxed);
}

/*
 * balance_pgdat(): reclaim until the node is above its high marks.
 * Returns the passes it ran.
 */
static unsigned long kswapd_balance(struct lru_node *ln)
{
	struct mmt_reclaim_state *rs = ln->rs;
	struct mmt_machine *m = rs->m;
	unsigned long passes = 0;

	while (!mmt_kthread_should_stop() && !mmt_sched_failed(m) &&
	       !node_balanced(m, ln->nid, MMT_WMARK_HIGH) &&
	       !node_hopeless(ln)) {
		unsigned long progress =
			reclaim_pass(rs, ln->nid, true, GFP_KERNEL,
				     MMT_SWAP_CLUSTER_MAX, true, NULL);

		stat_add(&rs->kswapd_passes, 1);
		passes++;
		if (progress) {
			atomic_store_explicit(&ln->kswapd_failures, 0,
					      memory_order_relaxed);
		} else {
			atomic_fetch_add_explicit(&ln->kswapd_failures, 1,
						  memory_order_relaxed);
			return passes; /* nap before trying again */
		}
	}
	return passes;
}

static void kswapd_fn(void *arg)
{
	struct lru_node *ln = arg;
	struct mmt_machine *m = ln->rs->m;

	bool fs;

	for (;;) {
		/*
		 * A nap while the node is short and not hopeless (the allocator
		 * may not wake us again); otherwise sleep until woken: no timer,
		 * so a machine where nothing else can happen is seen as such.
		 */
		long timeout = !node_balanced(m, ln->nid, MMT_WMARK_LOW) &&
					       !node_hopeless(ln) ?
				       KSWAPD_NAP :
				       MMT_WAIT_FOREVER;
		enum mmt_wait_result r = mmt_wait_event_timeout(
			&ln->kswapd_wait, kswapd_wanted, ln, timeout, NULL);

		if (r == MMT_WAIT_STOPPED || r == MMT_WAIT_DEADLOCK ||
		    mmt_kthread_should_stop())
			return;
		atomic_store_explicit(&ln->kswapd_pending, false,
				      memory_order_relaxed);
		fs = _mmt_fs_reclaim_acquire(_mmt_cpu_or_report(MMT_SITE),
					     GFP_KERNEL, MMT_SITE);
		kswapd_balance(ln);
		if (fs)
			_mmt_fs_reclaim_release(_mmt_cpu_or_report(MMT_SITE),
						MMT_SITE);
	}
}

void mmt_wakeup_kswapd(struct mmt_machine *m, int nid)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct lru_node *ln;

	if (nid < 0 || nid >= m->nr_nodes)
		return;
	ln = &rs->node[nid];
	stat_add(&rs->kswapd_wakeups, 1);
	if (node_hopeless(ln) || node_balanced(m, nid, MMT_WMARK_HIGH))
		return;
	/* Release pairs with the acquire in kswapd_wanted(). */
	if (!atomic_exchange_explicit(&ln->kswapd_pending, true,
				      memory_order_release))
		mmt_wake_up(&ln->kswapd_wait);
}

unsigned long mmt_kswapd_balance(struct mmt_machine *m, int nid)
{
	const unsigned int kflags = MMT_PF_KSWAPD | MMT_PF_MEMALLOC;
	struct lru_node *ln;
	unsigned long passes;
	unsigned int had;
	bool fs;

	if (nid < 0 || nid >= m->nr_nodes) {
		mmt_violation(m, "bad-argument",
			      "kswapd_balance(%d): the machine has %d node(s)",
			      nid, m->nr_nodes);
		return 0;
	}
	ln = &RS(m)->node[nid];
	/* kswapd is a kthread: its passes run in process context. */
	mmt_might_sleep();
	had = mmt_current_flags() & kflags;
	/* balance_pgdat() holds fs_reclaim as a GFP_KERNEL reclaimer. */
	fs = _mmt_fs_reclaim_acquire(_mmt_cpu_or_report(MMT_SITE), GFP_KERNEL,
				     MMT_SITE);
	mmt_current_set_flags(kflags);
	/* This pass is the wakeup's answer, as in kswapd_fn(). */
	atomic_store_explicit(&ln->kswapd_pending, false, memory_order_relaxed);
	passes = kswapd_balance(ln);
	mmt_current_clear_flags(kflags & ~had);
	if (fs)
		_mmt_fs_reclaim_release(_mmt_cpu_or_report(MMT_SITE), MMT_SITE);
	return passes;
}

static void wake_kswapd_hook(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
			     unsigned int order, void *arg)
{
	(void)gfp, (void)order, (void)arg;
	mmt_wakeup_kswapd(m, nid);
}

void mmt_reclaim_install_hooks(struct mmt_machine *m)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct mmt_page_hooks h;

	pthread_mutex_lock(&rs->setup_mu);
	if (!rs->hooks_installed) {
		rs->saved_hooks = m->hooks;
		h = m->hooks;
		h.direct_reclaim = direct_reclaim_hook;
		h.wake_kswapd = wake_kswapd_hook;
		mmt_machine_set_hooks(m, &h);
		rs->hooks_installed = true;
	}
	pthread_mutex_unlock(&rs->setup_mu);
}

void mmt_reclaim_remove_hooks(struct mmt_machine *m)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct mmt_page_hooks h;

	pthread_mutex_lock(&rs->setup_mu);
	if (rs->hooks_installed &&
	    m->hooks.direct_reclaim == direct_reclaim_hook) {
		h = m->hooks;
		h.direct_reclaim = rs->saved_hooks.direct_reclaim;
		h.wake_kswapd = rs->saved_hooks.wake_kswapd;
		mmt_machine_set_hooks(m, &h);
	}
	rs->hooks_installed = false;
	pthread_mutex_unlock(&rs->setup_mu);
}

/* Start node @nid's kswapd (nid < 0: every node's); idempotent. */
static bool kswapd_start_nodes(struct mmt_machine *m, int want)
{
	struct mmt_reclaim_state *rs = RS(m);
	bool ok = true;
	int nid;

	mmt_reclaim_install_hooks(m);
	pthread_mutex_lock(&rs->setup_mu);
	for (nid = 0; nid < m->nr_nodes; nid++) {
		struct lru_node *ln = &rs->node[nid];
		char name[24];

		if (ln->kswapd || (want >= 0 && nid != want))
			continue;
		snprintf(name, sizeof(name), "kswapd%d", nid);
		ln->kswapd = mmt_kthread_run(m, name,
					     MMT_PF_KSWAPD | MMT_PF_MEMALLOC,
					     kswapd_fn, ln);
		if (!ln->kswapd)
			ok = false;
	}
	pthread_mutex_unlock(&rs->setup_mu);
	return ok;
}

static void kswapd_stop_nodes(struct mmt_machine *m, int want)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct mmt_kthread *k[MMT_MAX_NODES];
	int nid;

	pthread_mutex_lock(&rs->setup_mu);
	for (nid = 0; nid < m->nr_nodes; nid++) {
		k[nid] = NULL;
		if (want >= 0 && nid != want)
			continue;
		k[nid] = rs->node[nid].kswapd;
		rs->node[nid].kswapd = NULL;
	}
	pthread_mutex_unlock(&rs->setup_mu);
	/* Outside setup_mu: stopping leaves the CPU and joins. */
	for (nid = 0; nid < m->nr_nodes; nid++)
		if (k[nid])
			mmt_kthread_stop(k[nid]);
}

bool mmt_kswapd_start(struct mmt_machine *m)
{
	return kswapd_start_nodes(m, -1);
}

void mmt_kswapd_stop(struct mmt_machine *m)
{
	kswapd_stop_nodes(m, -1);
}

bool mmt_kswapd_start_node(struct mmt_machine *m, int nid)
{
	if (nid < 0 || nid >= m->nr_nodes)
		return mmt_violation(m, "bad-argument",
				     "kswapd_start_node(%d): no such node",
				     nid);
	return kswapd_start_nodes(m, nid);
}

void mmt_kswapd_stop_node(struct mmt_machine *m, int nid)
{
	if (nid >= 0 && nid < m->nr_nodes)
		kswapd_stop_nodes(m, nid);
}

/* ---- shrinkers ---- */

/*
 * The write side of the shrinker list, for (un)registering.  A shrinker
 * may take a mutex and wait for it (a scheduling point) while reclaim
 * holds the read side, as the kernel's unregister waits for the shrinkers
 * running: so a writer waits at scheduling points, letting a parked
 * reader run, instead of blocking the host thread the fibers share.
 */
static void shrinker_write_lock(struct mmt_reclaim_state *rs)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;

	while (pthread_rwlock_trywrlock(&rs->shrinker_lock)) {
		if (cpu && cpu->m == rs->m)
			mmt_sched_point(cpu, MMT_SP_LOCK_CONTENDED,
					&rs->shrinker_lock);
		sched_yield();
	}
}

struct mmt_shrinker *mmt_register_shrinker(struct mmt_machine *m,
					   const char *name,
					   mmt_shrinker_count_fn count,
					   mmt_shrinker_scan_fn scan, void *arg)
{
	struct mmt_reclaim_state *rs = RS(m);
	struct mmt_shrinker *s;

	if (!count || !scan) {
		mmt_violation(
			m, "bad-argument",
			"register_shrinker(%s): count and scan are required",
			name ? name : "?");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rs = rs;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "shrinker");
	s->count = count;
	s->scan = scan;
	s->arg = arg;
	shrinker_write_lock(rs);
	s->next = rs->shrinkers;
	rs->shrinkers = s;
	pthread_rwlock_unlock(&rs->shrinker_lock);
	return s;
}

void mmt_unregister_shrinker(struct mmt_shrinker *s)
{
	struct mmt_reclaim_state *rs;
	struct mmt_shrinker **pp;

	if (!s)
		return;
	rs = s->rs;
	shrinker_write_lock(rs);
	for (pp = &rs->shrinkers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	pthread_rwlock_unlock(&rs->shrinker_lock);
	free(s);
}

unsigned long mmt_shrinker_calls(const struct mmt_shrinker *s)
{
	return rd(&s->calls);
}

unsigned long mmt_shrinker_freed(const struct mmt_shrinker *s)
{
	return rd(&s->freed);
}

/* ---- counters ---- */

void mmt_reclaim_stats(const struct mmt_machine *m,
		       struct mmt_reclaim_stats *out)
{
	const struct mmt_reclaim_state *rs = RS(m);
	int t;

	memset(out, 0, sizeof(*out));
	out->scanned = rd(&rs->scanned);
	out->reclaimed = rd(&rs->reclaimed);
	out->submitted = rd(&rs->submitted);
	out->written = rd(&rs->written);
	out->writeback = mmt_writeback_pages(m, -1);
	out->writeback_max = rd(&rs->writeback_max);
	out->throttled = rd(&rs->throttled);
	out->direct_reclaims = rd(&rs->direct_reclaims);
	out->kswapd_wakeups = rd(&rs->kswapd_wakeups);
	out->kswapd_passes = rd(&rs->kswapd_passes);
	out->shrinker_calls = rd(&rs->shrinker_calls);
	out->shrinker_freed = rd(&rs->shrinker_freed);
	out->packets_dropped = _mmt_writeback_dropped(m);
	for (t = 0; t < MMT_NR_LRU_TYPES; t++)
		out->lru[t] = mmt_lru_pages(m, -1, (enum mmt_lru_type)t);
}

#define STAT_FIELDS(X)     \
	X(scanned)         \
	X(reclaimed)       \
	X(submitted)       \
	X(written)         \
	X(writeback)       \
	X(writeback_max)   \
	X(throttled)       \
	X(direct_reclaims) \
	X(kswapd_wakeups)  \
	X(kswapd_passes)   \
	X(shrinker_calls)  \
	X(shrinker_freed)  \
	X(packets_dropped)

void mmt_reclaim_stats_print(struct mmt_machine *m, FILE *out)
{
	struct mmt_reclaim_stats st;

	mmt_reclaim_stats(m, &st);
	fprintf(out, "reclaim:\n");
#define X(f) fprintf(out, "  %-16s %lu\n", #f, st.f);
	STAT_FIELDS(X)
#undef X
	fprintf(out, "  %-16s anon %lu, file clean %lu, file dirty %lu\n",
		"lru", st.lru[MMT_LRU_ANON], st.lru[MMT_LRU_FILE_CLEAN],
		st.lru[MMT_LRU_FILE_DIRTY]);
	fprintf(out, "  %-16s %lu (less-throttle %lu) on node 0\n",
		"writeback limit", mmt_writeback_limit(m, 0, false),
		mmt_writeback_limit(m, 0, true));
	_mmt_writeback_print(m, out);
}

void mmt_reclaim_stats_json(struct mmt_machine *m, FILE *out)
{
	struct mmt_reclaim_stats st;
	json_t *o = json_object();
	char *s;

	mmt_reclaim_stats(m, &st);
#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)st.f));
	STAT_FIELDS(X)
#undef X
	json_object_set_new(
		o, "lru",
		json_pack("{s:I,s:I,s:I}", "anon",
			  (json_int_t)st.lru[MMT_LRU_ANON], "file_clean",
			  (json_int_t)st.lru[MMT_LRU_FILE_CLEAN], "file_dirty",
			  (json_int_t)st.lru[MMT_LRU_FILE_DIRTY]));
	json_object_set_new(
		o, "writeback_limit",
		json_integer((json_int_t)mmt_writeback_limit(m, 0, false)));
	json_object_set_new(
		o, "writeback_limit_less_throttle",
		json_integer((json_int_t)mmt_writeback_limit(m, 0, true)));
	json_object_set_new(o, "devices", (json_t *)_mmt_writeback_json(m));
	s = json_dumps(o, JSON_COMPACT);
	if (s) {
		fprintf(out, "%s\n", s);
		free(s);
	}
	json_decref(o);
}

/* ---- set-up ---- */

int _mmt_reclaim_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_reclaim_state *rs = calloc(1, sizeof(*rs));
	int nid;

	if (!rs) {
		snprintf(err, errlen, "out of host memory for reclaim");
		return -1;
	}
	rs->m = m;
	atomic_init(&rs->writeback_ratio, 10);
	atomic_init(&rs->less_throttle_pct, 25);
	atomic_init(&rs->kswapd_max_failures, 16);
	pthread_rwlock_init(&rs->shrinker_lock, NULL);
	pthread_mutex_init(&rs->setup_mu, NULL);
	for (nid = 0; nid < MMT_MAX_NODES; nid++) {
		struct lru_node *ln = &rs->node[nid];

		ln->rs = rs;
		ln->nid = nid;
		mmt_spin_lock_init(&ln->lock, &lru_lock_class);
		ln->head.next = ln->head.prev = &ln->head;
		mmt_waitqueue_init(&ln->congestion, "congestion_wait");
		mmt_waitqueue_init(&ln->kswapd_wait, "kswapd_wait");
	}
	m->reclaim = rs;
	if (_mmt_writeback_init(m, err, errlen)) {
		_mmt_reclaim_destroy(m);
		return -1;
	}
	return 0;
}

/*
 * Teardown runs with no thread on the machine: kthreads are stopped first;
 * devices left over are destroyed on a CPU borrowed for the purpose (their
 * mempools and caches must go back through the model).  LRU pages are not
 * freed one by one: the arena goes away with the machine.
 */
void _mmt_reclaim_destroy(struct mmt_machine *m)
{
	struct mmt_reclaim_state *rs = m->reclaim;
	struct mmt_shrinker *s, *next;
	int nid;

	if (!rs)
		return;
	mmt_kswapd_stop(m);
	if (rs->wb && _mmt_writeback_has_devices(m) &&
	    mmt_smp_processor_id() < 0) {
		struct mmt_task *t = mmt_task_create(m, "teardown", 0);
		int c;

		for (c = 0; t && c < m->nr_cpus; c++)
			if (_mmt_cpu_try_attach(m, c, t))
				break;
		if (t && c < m->nr_cpus) {
			_mmt_writeback_destroy(m);
			mmt_cpu_detach();
		}
	}
	_mmt_writeback_destroy(m); /* whatever is left, host side only */
	for (nid = 0; nid < MMT_MAX_NODES; nid++) {
		struct lru_node *ln = &rs->node[nid];
		struct lru_entry *e = ln->head.next, *enext;

		for (; e && e != &ln->head; e = enext) {
			enext = e->next;
			entry_free(e);
		}
		mmt_waitqueue_destroy(&ln->congestion);
		mmt_waitqueue_destroy(&ln->kswapd_wait);
	}
	for (s = rs->shrinkers; s; s = next) {
		next = s->next;
		free(s);
	}
	pthread_rwlock_destroy(&rs->shrinker_lock);
	pthread_mutex_destroy(&rs->setup_mu);
	free(rs);
	m->reclaim = NULL;
}
