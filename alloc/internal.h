/* SPDX-License-Identifier: MIT */
/*
 * alloc/internal.h - private structures of the model, shared by the files of
 * alloc/ and by white-box tests.  Nothing here is API.
 *
 * Lock order of the page allocator (outermost first):
 *   pcp->lock (per cpu, per zone)  ->  zone->lock
 * The machine's violation log has its own pthread mutex outside the model's
 * lock model (reporting must work from any state).
 */
#ifndef MMT_INTERNAL_H
#define MMT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/mmt.h"

/* ---- debug tiers ---- */

void _mmt_assert_fail(const char *expr, const char *site)
	__attribute__((noreturn, cold));
#if MMT_DEBUG >= 1
#define MMT_ASSERT(e) \
	((void)(MMT_LIKELY(e) ? 0 : (_mmt_assert_fail(#e, MMT_SITE), 0)))
#else
#define MMT_ASSERT(e) ((void)0)
#endif
#if MMT_DEBUG >= 2
#define MMT_IASSERT(e) MMT_ASSERT(e)
#else
#define MMT_IASSERT(e) ((void)0)
#endif
/* Expensive validators: bool x_is_valid(...) which report violations. */
#if MMT_DEBUG >= 3
#define MMT_VALIDATE(e) ((void)(e))
#else
#define MMT_VALIDATE(e) ((void)0)
#endif

/* Poison patterns: distinct so a dump tells what the bytes were. */
#define MMT_POISON_PAGE_FREE 0xaa /* page in the buddy or pcp lists */
#define MMT_POISON_RESERVED 0x5a /* memory held in reserve (mempool) */
#define MMT_POISON_OBJ_FREE 0x6b /* slab object free (Model 2) */
#define MMT_POISON_REDZONE 0xbb

/*
 * The index of the first byte of @p[0..@n) that is not @c, or @n: the
 * poison and red zone checks of every allocation, so 32 bytes a step
 * (unaligned loads through memcpy, which compilers turn into moves).
 */
static inline size_t _mmt_mem_first_not(const void *p, uint8_t c, size_t n)
{
	const unsigned char *b = p;
	const uint64_t pat = 0x0101010101010101ull * c;
	uint64_t w[4];
	size_t i = 0;

	for (; i + sizeof(w) <= n; i += sizeof(w)) {
		__builtin_memcpy(w, b + i, sizeof(w));
		if ((w[0] ^ pat) | (w[1] ^ pat) | (w[2] ^ pat) | (w[3] ^ pat))
			break;
	}
	for (; i + sizeof(w[0]) <= n; i += sizeof(w[0])) {
		__builtin_memcpy(w, b + i, sizeof(w[0]));
		if (w[0] != pat)
			break;
	}
	for (; i < n; i++)
		if (b[i] != c)
			return i;
	return n;
}

/* ---- lists of page frames, linked by pfn ---- */

#define MMT_PFN_NONE UINT32_MAX

struct mmt_plist {
	uint32_t first; /* circular: first->prev is the last */
	uint32_t nr; /* entries (blocks, not pages) */
};

/* ---- page descriptor (80 bytes) ---- */

/*
 * A descriptor is valid all-zero: the arena of descriptors is a zero-filled
 * mapping that a new machine does not write, so creating and destroying a
 * machine costs what it touched, not its size.  Zero means: no flags, order
 * 0, not on a list (links are meaningful only while a list holds the
 * frame), its own head (head_x is stored relative to the pfn), a frame of
 * the zone its pfn lies in (computed, not stored; a pfn in no zone is a
 * hole).  Free blocks of the largest order that no allocation reached yet
 * are counted by their zone but not linked (struct mmt_zone, lazy_next).
 */
struct mmt_page {
	/*
	 * flags and order are read by a CPU merging a freed block with its
	 * buddy (under zone->lock) while the buddy's new owner may be writing
	 * them (no lock): the kernel's intentionally racy PageBuddy() check.
	 * Relaxed atomics through pg_flags()/pg_order() keep that defined.
	 */
	_Atomic uint32_t flags; /* MMT_PG_* */
	_Atomic uint8_t order; /* buddy order, or allocation order on a head */
	uint8_t migratetype; /* list it is on while free */
	/* 1 once handed out: its memory may be dirty (machine.c reuse) */
	uint16_t touched;
	uint32_t next, prev; /* plist links, while on a list */
	uint32_t head_x; /* pfn ^ head pfn of its allocation: pg_head() */
	int16_t pcp_cpu; /* per-cpu list owner while MMT_PG_PCP */
	uint16_t alloc_cpu;
	uint64_t alloc_seq; /* allocation sequence number (reports) */
	uint64_t private[6]; /* for upper layers (slab, reserves) */
};

static inline uint32_t pg_flags(const struct mmt_page *p)
{
	return atomic_load_explicit(&p->flags, memory_order_relaxed);
}

static inline void pg_set_flags(struct mmt_page *p, uint32_t f)
{
	atomic_store_explicit(&p->flags, f, memory_order_relaxed);
}

static inline unsigned int pg_order(const struct mmt_page *p)
{
	return atomic_load_explicit(&p->order, memory_order_relaxed);
}

static inline void pg_set_order(struct mmt_page *p, unsigned int order)
{
	atomic_store_explicit(&p->order, (uint8_t)order, memory_order_relaxed);
}

/* ---- zones ---- */

enum {
	MMT_WMARK_MIN,
	MMT_WMARK_LOW,
	MMT_WMARK_HIGH,
	MMT_NR_WMARK
};

struct mmt_free_area {
	struct mmt_plist list[MMT_MIGRATE_TYPES];
	/* blocks of this order: written under zone->lock, read by dumps */
	_Atomic unsigned long nr_free;
};

struct mmt_zone {
	struct mmt_machine *m;
	int id; /* index in machine->zones */
	int nid;
	enum mmt_zone_type type;
	const char *name;
	unsigned long start_pfn;
	unsigned long spanned; /* == managed: the model has no holes */
	/*
	 * Free blocks of the largest order never linked yet: [lazy_next,
	 * lazy_end) in whole blocks, counted in nr_free and free_area's
	 * nr_free, taken in pfn order when the movable list of that order
	 * runs empty (page_alloc.c, area_first()).  Their descriptors were
	 * never written.  Under zone->lock.
	 */
	unsigned long lazy_next, lazy_end;
	unsigned long managed;

	mmt_spinlock_t lock; /* protects free_area, pageblock types */
	struct mmt_free_area free_area[MMT_MAX_ORDER];
	_Atomic uint8_t *pageblock_mt; /* migratetype per pageblock */
	_Atomic unsigned long nr_reserved_highatomic;
	/*
	 * Free pages on the highatomic buddy lists (v6.12's
	 * nr_free_highatomic): what ordinary callers do not count as free.
	 * Written under zone->lock, read locklessly by the watermark check.
	 */
	_Atomic long nr_free_highatomic;

	/*
	 * Updated under zone->lock, read locklessly by the watermark check
	 * (like NR_FREE_PAGES): relaxed atomics, the check is a heuristic.
	 */
	_Atomic long nr_free_pages;
	_Atomic long nr_allocated;
	/*
	 * free_pages_nolock()'s deferred frees (the kernel's
	 * zone->trylock_free_pages, 6.15+): a lock-free stack of blocks
	 * that could not get the zone lock, linked by pfn through the head
	 * page's next, each MMT_PG_DEFERRED with its order; pushed with a
	 * compare-exchange by anyone, emptied whole (exchange) by a free
	 * path that holds zone->lock.  nr_deferred counts its pages.
	 */
	_Atomic uint32_t deferred;
	_Atomic long nr_deferred;

	/*
	 * Read locklessly by every allocation, rewritten when the emergency
	 * reserve changes (swapon/swapoff): atomics, relaxed by the reader's
	 * choice of plain access on x86 costing nothing.
	 */
	_Atomic unsigned long watermark[MMT_NR_WMARK];
	unsigned long wmark_base[MMT_NR_WMARK]; /* without the emergency part */
	unsigned long emergency; /* pages of the emergency reserve here */
	unsigned long lowmem_reserve[MMT_NR_ZONE_TYPES];
	int pcp_batch, pcp_high;
	/*
	 * Written since the last validation (mmt_machine_validate_touched):
	 * set where the zone lock is taken and where a block is allocated or
	 * freed (the per-cpu lists and counters); cleared by the validator.
	 */
	_Atomic bool vdirty;
};

/* ---- per-cpu pages ---- */

/* One list per pcp migratetype per order 0..COSTLY_ORDER. */
#define MMT_NR_PCP_LISTS \
	(MMT_MIGRATE_PCPTYPES * (MMT_PAGE_ALLOC_COSTLY_ORDER + 1))

struct mmt_pcp {
	/*
	 * pcp->lock, as in v6.x kernels: the owning CPU takes it (trylock on
	 * the allocation side) and a remote drain takes it too, so no CPU
	 * ever touches another CPU's lists unlocked.
	 */
	mmt_spinlock_t lock;
	_Atomic int count; /* pages on all lists; written under lock */
	int high, batch;
	/*
	 * Pages this CPU handed out minus pages it freed, for this zone (may
	 * go negative when another CPU frees).  Single writer: relaxed.
	 */
	_Atomic long allocated;
	struct mmt_plist lists[MMT_NR_PCP_LISTS];
	/*
	 * A uniprocessor machine (cfg.up) takes no lock word: inside its
	 * critical section up_busy is 1 (more is a reentry, "pcp-reentry"),
	 * and up_irqs keeps the interrupt state the fixed pcp lock saved.
	 */
	int up_busy;
	int up_irqs;
};

/* ---- tasks and CPUs ---- */

#define MMT_MAX_HELD_LOCKS 48

struct mmt_held_lock {
	struct mmt_lock *lock;
	const char *site;
	int class_id; /* lockdep's (0 without lockdep) */
	bool irqsave; /* taken with an _irqsave variant */
	bool counted_preempt; /* it raised the preempt count */
	/* 0 task, 1 serving softirq, 2 hard irq; lockdep's (0 without) */
	uint8_t irq_context;
	/* a self-deadlock's inner hold: an outer hold of the lock is below */
	bool nested;
	/*
	 * A mutex or a lockdep map: the task may sleep, and leave its CPU,
	 * holding it (the kernel's mutex_lock() holder sleeps; a map has no
	 * lock word).  Spinlocks keep it on the CPU.
	 */
	bool sleepable;
};

/*
 * Does @t hold a lock it may not sleep or leave its CPU with (anything but
 * mutexes and lockdep maps)?
 */
static inline bool _mmt_task_pinned_by_locks(const struct mmt_task *t);

/*
 * A save of a context primitive not yet restored (the context-restore
 * oracle, machine.c): what it was before, who saved it.  Per task for the
 * memalloc scopes, per CPU for local_irq_save().
 */
enum {
	MMT_SAVE_NOIO,
	MMT_SAVE_NOFS,
	MMT_SAVE_MEMALLOC,
	MMT_SAVE_IRQ
};
#define MMT_MAX_SAVES 16
struct mmt_save {
	uint8_t kind;
	unsigned int before; /* the state the save found */
	const char *site; /* NULL: a caller of the public API */
	uint64_t op_index; /* the machine's operation then */
};
struct mmt_saves {
	int nr; /* may exceed MMT_MAX_SAVES: the excess is not checked */
	struct mmt_save s[MMT_MAX_SAVES];
};

/*
 * A task's user memory (the kernel's mm_struct, reduced to its rss): the
 * pages it mapped with mmt_lru_add*(), wherever they are (on the LRU,
 * isolated, under writeback).  Shared by the task and each LRU entry it
 * owns; freed with the last reference.
 */
struct mmt_mm {
	_Atomic long pages;
	_Atomic long refs;
};

struct mmt_task {
	struct mmt_machine *m;
	char name[32];
	unsigned int flags; /* MMT_PF_* */
	/*
	 * Chosen by the OOM killer (or set by a test): ALLOC_OOM's reserve
	 * access until the task exits (mmt_oom_exit_current()).  Atomic: the
	 * killer on another CPU marks a running task, as TIF_MEMDIE is set.
	 */
	_Atomic bool oom_victim;
	bool kthread; /* a kernel thread: no user memory, never killed */
	struct mmt_mm *mm; /* set at its first user page, under tasks_mu */
	int cpu; /* CPU it is on, -1 */
	int nr_held;
	struct mmt_held_lock held[MMT_MAX_HELD_LOCKS];
	struct mmt_memcg *memcg; /* NULL: the root cgroup (no accounting) */
	/* might_sleep()s, mutexes and waits (only the task writes it) */
	unsigned long sleep_points;
	/* pages dirtied since its last balance_dirty_pages (only the task) */
	unsigned int nr_dirtied;
	struct mmt_saves saves; /* open memalloc scopes (only the task) */
	struct mmt_task *next_all;
};

static inline bool _mmt_task_pinned_by_locks(const struct mmt_task *t)
{
	int i;

	for (i = 0; i < t->nr_held; i++)
		if (!t->held[i].sleepable)
			return true;
	return false;
}

/* preempt_count layout (as the kernel's) */
#define MMT_PREEMPT_OFFSET 0x1
#define MMT_PREEMPT_MASK 0xff
#define MMT_SOFTIRQ_OFFSET 0x100
#define MMT_SOFTIRQ_DISABLE_OFFSET (2 * MMT_SOFTIRQ_OFFSET)
#define MMT_SOFTIRQ_MASK 0xff00
#define MMT_HARDIRQ_OFFSET 0x10000
#define MMT_HARDIRQ_MASK 0xf0000

/*
 * The context a lock is taken in.  Lockdep draws no order edge between a
 * lock of the interrupted task and one taken by the interrupt handler: the
 * handler does not wait for the task to release anything.
 */
static inline uint8_t _mmt_irq_context(int preempt_count)
{
	if (preempt_count & MMT_HARDIRQ_MASK)
		return 2;
	return (preempt_count & MMT_SOFTIRQ_OFFSET) ? 1 : 0;
}

struct mmt_cpu {
	struct mmt_machine *m;
	int id;
	int nid;
	_Atomic bool online;
	_Atomic(void *) owner; /* token of the thread on this CPU */
	struct mmt_task *curr;
	int preempt_count;
	int irq_disable_depth;
	struct mmt_pcp *pcp; /* [machine->nr_zones] */
	/* vm events: single writer (the thread on this CPU); relaxed */
	_Atomic unsigned long events[MMT_NR_VM_ITEMS];
	int nolock_depth; /* inside a __GFP_FAST_TRY allocation */
	/*
	 * nolock_depth of what a hard irq [0] or a softirq [1] interrupted:
	 * FAST_TRY is a property of one call, so an allocation of an
	 * interrupt that arrives inside one is not FAST_TRY (irq_enter and
	 * softirq_enter save and clear it, the exits restore it).
	 */
	int nolock_saved[2];
	/*
	 * Inside a call that must never spin nor sleep (alloc_pages_nolock,
	 * free_pages_nolock, kmalloc_nolock, kfree_nolock): the lock layer
	 * reports any acquisition that is not a trylock, and might_sleep
	 * reports, as "nolock-spin".  Saved and cleared by irq_enter and
	 * softirq_enter like nolock_depth (an interrupt's own calls are not
	 * the nolock call it interrupted).
	 */
	int nospin_depth;
	int nospin_saved[2];
	/*
	 * kfree_nolock()'s deferred objects on this CPU (the kernel's per-cpu
	 * defer_free llist): slots linked through a raw pointer at their
	 * cache's free-pointer offset; pushed by compare-exchange, emptied
	 * whole by exchange (slab_common.c).
	 */
	_Atomic(void *) slab_deferred;
	uint64_t alloc_seq; /* allocations made on this CPU */
	struct mmt_saves irq_saves; /* open local_irq_save()s */
};

/* The scope primitives with the caller's site (context-restore names it). */
unsigned int _mmt_memalloc_noreclaim_save_at(const char *site);
void _mmt_memalloc_noreclaim_restore_at(unsigned int saved, const char *site);

/* ---- lockdep state (per machine) ---- */

struct mmt_lock_edge {
	int from, to; /* class ids */
	const char *from_site; /* where from was acquired */
	const char *to_site; /* where to was acquired while from was held */
};

#define MMT_MAX_LOCK_EDGES 1024

struct mmt_lockdep {
	pthread_mutex_t mu; /* outside the model's lock model */
	/* adjacency: bit (to) of row (from), class ids 1..MAX */
	uint64_t adj[MMT_MAX_LOCK_CLASSES + 1][(MMT_MAX_LOCK_CLASSES + 64) / 64];
	struct mmt_lock_edge edges[MMT_MAX_LOCK_EDGES];
	int nr_edges;
	/* irq-state usage per class */
	uint8_t used_in_hardirq[MMT_MAX_LOCK_CLASSES + 1];
	uint8_t used_irqs_on[MMT_MAX_LOCK_CLASSES + 1];
	const char *hardirq_site[MMT_MAX_LOCK_CLASSES + 1];
	const char *irqs_on_site[MMT_MAX_LOCK_CLASSES + 1];
};

/* ---- the machine ---- */

struct mmt_zonelist {
	int nr;
	struct mmt_zone *zones[MMT_MAX_NODES * MMT_NR_ZONE_TYPES];
};

struct mmt_node {
	int nid;
	int zone_ids[MMT_NR_ZONE_TYPES]; /* -1 if the zone is absent */
};

struct mmt_machine {
	struct mmt_config cfg;
	uint64_t bugs;
	/*
	 * Bug canaries (Magma's "reached" and "triggered"), counted only for
	 * bugs that are on, out of line and outside coverage instrumentation
	 * (targets/coverage-ignorelist.txt), so they add no coverage edge:
	 * reached when a bug's site asks whether the bug is on, triggered
	 * when the buggy code does what the correct code would not.
	 */
	_Atomic uint64_t bug_reached[MMT_NR_BUGS];
	_Atomic uint64_t bug_triggered[MMT_NR_BUGS];

	void *arena;
	size_t arena_size; /* the machine's frames */
	size_t arena_map_size; /* bytes of the mapping (may be more) */
	struct mmt_page *pages;
	size_t pages_size; /* bytes of the mapping (may hold more frames) */
	unsigned long nr_pages;

	int nr_nodes;
	struct mmt_node nodes[MMT_MAX_NODES];
	int nr_zones;
	struct mmt_zone *zones;
	int nr_cpus;
	struct mmt_cpu *cpus;

	struct mmt_page_hooks hooks;
	struct mmt_page_observer pobs; /* .enter NULL: none */
	long emergency_pages; /* connected emergency reserve (reserve.c) */
	/*
	 * A nolock page call ran on this machine: from then on the zone lock
	 * has a scheduling point inside (page_alloc.c, zone_held_point()),
	 * so another CPU's trylock can find it held under the deterministic
	 * scheduler; machines that never call them schedule as before.
	 */
	_Atomic bool nolock_seen;
	/* cfg.up && !cfg.rt_rules: the uniprocessor pcp lock (page_alloc.c) */
	bool pcp_up;
	/* mmt_machine_abandoned(): the run's threads will never run again */
	bool abandoned;
	mmt_sched_hook_fn sched_hook;
	void *sched_arg;

	/* [node][highest zone][__GFP_THISNODE] */
	struct mmt_zonelist zonelists[MMT_MAX_NODES][MMT_NR_ZONE_TYPES][2];

	/* tasks */
	pthread_mutex_t tasks_mu;
	struct mmt_task *tasks;

	/* violations */
	pthread_mutex_t viol_mu;
	_Atomic unsigned long nr_violations;
	/*
	 * The page allocator handed out a frame an upper layer still held
	 * (page_alloc.c, prep_new_page): every slab validator must look again
	 * at the next mmt_machine_validate_touched().
	 */
	_Atomic bool frames_reused;
	unsigned long nr_kept;
	struct mmt_violation *viol; /* [cfg.max_violations] */
	/* Deferred causes (MMT_CHECK_CAUSE), under viol_mu. */
	bool defer_causes;
	unsigned long nr_causes;
	struct mmt_violation cause; /* the first, when nr_causes */
	mmt_violation_fn viol_fn;
	void *viol_arg;
	uint64_t op_index;
	char op[128];
	const char *op_text; /* when set, op's text, copied on a report */

	struct mmt_lockdep lockdep;
	/*
	 * lockdep's fs_reclaim map (no lock word: lock.c's map functions):
	 * held across direct reclaim and kswapd's balancing, and "taken" for
	 * an instant by every allocation that may enter fs reclaim.
	 */
	struct mmt_lock fs_reclaim_map;

	/* upper layers, each owned by its file */
	struct mmt_slab_state *slab; /* slab_common.c */
	struct mmt_rcu_state *rcu; /* rcu.c, kvfree_rcu.c */
	struct mmt_memcg_state *memcg; /* memcg.c */
	struct mmt_sched_state *sched; /* sched.c */
	struct mmt_mempool_state *mempool; /* mempool.c */
	struct mmt_reserve_state *reserve; /* reserve.c */
	struct mmt_reclaim_state *reclaim; /* reclaim.c */
};

/*
 * node_distance(@a, @b) of valid nodes: the config's matrix (validated:
 * all set or none), else the model's line 10 + 10 * |a - b|.
 */
static inline int _mmt_node_distance(const struct mmt_machine *m, int a, int b)
{
	int d = m->cfg.node_distance[a][b];

	if (d)
		return d;
	return MMT_LOCAL_DISTANCE +
	       MMT_LOCAL_DISTANCE * (a > b ? a - b : b - a);
}

/* ---- current CPU ---- */

extern _Thread_local struct mmt_cpu *_mmt_this_cpu;
/* The kthread the current thread runs (sched.c), NULL for other threads. */
extern _Thread_local struct mmt_kthread *_mmt_this_kthread;
/* Depth of alloc_fn calls under the no-reclaim mempool policy (mempool.c). */
extern _Thread_local int _mmt_noreclaim_depth;

/*
 * Every thread-local of the model that lives across a scheduling point
 * (mmt/engine.h: an engine saves and restores it at each switch).
 * lockdep.c's why_buf is scratch filled and reported with no scheduling
 * point between, and machine.c's thread_token is only ever compared
 * against NULL, so neither is part of it.
 */
struct _mmt_thread_state {
	struct mmt_cpu *cpu;
	struct mmt_kthread *kthread;
	int noreclaim_depth;
};

/*
 * Write one of those thread-locals.  Under TSan with the deterministic
 * scheduler, fibers of one host thread share one copy (saved and restored
 * at each switch): the writes are hidden from TSan so that two fibers'
 * uses of "their" thread-local are not reported as a race.
 */
#if MMT_SANITIZE_TSAN
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define MMT_TLS_SET(var, val)                                  \
	do {                                                   \
		AnnotateIgnoreWritesBegin(__FILE__, __LINE__); \
		(var) = (val);                                 \
		AnnotateIgnoreWritesEnd(__FILE__, __LINE__);   \
	} while (0)
#else
#define MMT_TLS_SET(var, val) ((var) = (val))
#endif

static inline struct mmt_cpu *_mmt_cpu(void)
{
	return _mmt_this_cpu;
}

/* Scheduling point: one predictable branch when nothing is attached. */
static inline void mmt_sched_point(struct mmt_cpu *cpu,
				   enum mmt_sched_kind kind, const void *obj)
{
	struct mmt_machine *m = cpu->m;

	if (MMT_UNLIKELY(m->sched_hook != NULL))
		m->sched_hook(m, cpu->id, kind, obj, m->sched_arg);
}

static inline void mmt_count_event(struct mmt_cpu *cpu, enum mmt_vm_item item,
				   unsigned long n)
{
#if MMT_STATS
	/* Single writer: plain load + store, no locked add. */
	atomic_store_explicit(&cpu->events[item],
			      atomic_load_explicit(&cpu->events[item],
						   memory_order_relaxed) +
				      n,
			      memory_order_relaxed);
#else
	(void)cpu, (void)item, (void)n;
#endif
}

void _mmt_bug_reached(const struct mmt_machine *m, enum mmt_bug bug)
	__attribute__((cold, noinline));
void _mmt_bug_triggered(const struct mmt_machine *m, enum mmt_bug bug)
	__attribute__((cold, noinline));

/*
 * Is @bug on?  The one question every bug site asks, so it is also the
 * bug's "reached" canary: counted on the bug-on side only, which is the
 * cold side of a branch the site has anyway.  Bugs off, the fast path
 * is the test and branch it always was.
 */
static inline bool mmt_bug_on(const struct mmt_machine *m, enum mmt_bug bug)
{
	if (MMT_LIKELY(!(m->bugs & (1ull << bug))))
		return false;
	_mmt_bug_reached(m, bug);
	return true;
}

/*
 * The bug's "triggered" canary: call where the buggy code has just done
 * what the correct code would not (the divergence, not the site).  For
 * a site whose bug changes a value, @cond says whether the value
 * differs; returns @cond so the call can sit inside the expression.
 */
static inline bool mmt_bug_hit(const struct mmt_machine *m, enum mmt_bug bug,
			       bool cond)
{
	if (MMT_UNLIKELY(cond) && (m->bugs & (1ull << bug)))
		_mmt_bug_triggered(m, bug);
	return cond;
}

/* ---- cross-file internals ---- */

/* machine.c */
/* A thread on no simulated CPU called the model: message, abort. */
void _mmt_no_cpu(const char *site) __attribute__((noreturn, cold));
/* The current CPU; a thread on none aborts with a message naming @site. */
static inline struct mmt_cpu *_mmt_cpu_or_report(const char *site)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;

	if (MMT_UNLIKELY(!cpu))
		_mmt_no_cpu(site);
	return cpu;
}
/* might_sleep() of @cpu found atomic context: the report (machine.c). */
void _mmt_might_sleep_atomic(struct mmt_cpu *cpu, const char *site)
	__attribute__((cold));
/*
 * might_sleep() on @cpu: a sleep point of the task, and "sleep-in-atomic"
 * when preemption or interrupts are off (the check is out of line).
 */
static inline void _mmt_might_sleep_on(struct mmt_cpu *cpu, const char *site)
{
	cpu->curr->sleep_points++;
	if (MMT_UNLIKELY(cpu->preempt_count || cpu->irq_disable_depth ||
			 cpu->nospin_depth))
		_mmt_might_sleep_atomic(cpu, site);
}
/* current_gfp_context() of the task on @cpu (mmt_current_gfp_context()). */
static inline mmt_gfp_t _mmt_gfp_context(const struct mmt_cpu *cpu,
					 mmt_gfp_t gfp)
{
	unsigned int pflags = cpu->curr->flags;

	/* NOIO implies NOFS: without IO there is no filesystem writeback. */
	if (MMT_UNLIKELY(pflags & MMT_PF_MEMALLOC_NOIO))
		gfp &= ~(__GFP_IO | __GFP_FS);
	else if (MMT_UNLIKELY(pflags & MMT_PF_MEMALLOC_NOFS))
		gfp &= ~__GFP_FS;
	return gfp;
}
void _mmt_machine_dump_to(struct mmt_machine *m, FILE *out);
/* lock.c / lockdep.c */
void _mmt_lockdep_init(struct mmt_lockdep *ld);
void _mmt_lockdep_destroy(struct mmt_lockdep *ld);
void _mmt_task_report_held_locks(const struct mmt_task *t, FILE *out);
/* -- begin: lock.c / lockdep.c internals (owned by the lock files) -- */
/*
 * Can the context of @cpu sleep (might_sleep())?  When not, *why names the
 * reason ("raw spinlock zone->lock held (taken at ...)", "in hard irq", ...)
 * in a thread-local buffer valid until the next call.  machine.c may use it.
 */
bool _mmt_lockdep_can_sleep(struct mmt_cpu *cpu, const char **why);
/* Class id of @cls, registering it on first use; 0 if the registry is full. */
int _mmt_lock_class_id(struct mmt_lock_class *cls, struct mmt_machine *m);
const char *_mmt_lock_class_name(int id);
/* Checks before acquiring @lock (lock.c calls them; lockdep.c does them). */
void _mmt_lockdep_before_acquire(struct mmt_cpu *cpu, struct mmt_lock *lock,
				 enum mmt_lock_kind kind, bool trylock,
				 const char *site);
/* Irq-usage tracking after @lock was acquired (and irqs saved). */
void _mmt_lockdep_after_acquire(struct mmt_cpu *cpu, struct mmt_lock *lock,
				enum mmt_lock_kind kind, bool trylock,
				const char *site);
/*
 * A lockdep map (the kernel's struct lockdep_map with no lock behind it):
 * acquiring one records the hold and its order against the held locks,
 * with no lock word and no context change; any number of tasks may hold
 * it at once.  Nothing without cfg.lockdep.
 */
void _mmt_lock_map_init(struct mmt_lock *map, struct mmt_lock_class *cls);
void _mmt_lock_map_acquire(struct mmt_cpu *cpu, struct mmt_lock *map,
			   const char *site);
void _mmt_lock_map_release(struct mmt_cpu *cpu, struct mmt_lock *map,
			   const char *site);
/*
 * fs_reclaim (reclaim.c): the annotation of every allocation that may
 * enter direct reclaim with __GFP_FS (might_alloc()'s
 * fs_reclaim_acquire/release: the order "what I hold -> fs_reclaim" is
 * recorded even when no reclaim happens), and the hold across a reclaim
 * that may call into filesystems (direct reclaim with __GFP_FS, kswapd).
 * @gfp is after current_gfp_context().
 */
void _mmt_fs_reclaim_init(struct mmt_machine *m);
void _mmt_fs_reclaim_might_slow(struct mmt_cpu *cpu, mmt_gfp_t gfp,
				const char *site);
/* Inline: every reclaim-capable allocation passes here; lockdep is off
 * in the fast builds, so the common case is one predictable branch. */
static inline void _mmt_fs_reclaim_might(struct mmt_cpu *cpu, mmt_gfp_t gfp,
					 const char *site)
{
	if (MMT_UNLIKELY(cpu->m->cfg.lockdep))
		_mmt_fs_reclaim_might_slow(cpu, gfp, site);
}
bool _mmt_fs_reclaim_acquire(struct mmt_cpu *cpu, mmt_gfp_t gfp,
			     const char *site);
void _mmt_fs_reclaim_release(struct mmt_cpu *cpu, const char *site);
/* Last two path components of a site ("tests/test_lock.c:57"). */
const char *_mmt_short_site(const char *site);
/* -- end: lock.c / lockdep.c internals -- */
/* rcu.c, kvfree_rcu.c, slab_common.c, memcg.c: machine set-up, in this
 * order, and teardown in the reverse one */
int _mmt_rcu_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_rcu_destroy(struct mmt_machine *m);
int _mmt_slab_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_slab_destroy(struct mmt_machine *m);
int _mmt_memcg_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_memcg_destroy(struct mmt_machine *m);
/* Model 3, set up after the slab layer in this order, torn down reversed:
 * sched.c (before rcu: synchronize_rcu waits), mempool.c, reserve.c,
 * reclaim.c */
int _mmt_sched_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_sched_destroy(struct mmt_machine *m);
int _mmt_mempool_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_mempool_destroy(struct mmt_machine *m);
int _mmt_reserve_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_reserve_destroy(struct mmt_machine *m);
int _mmt_reclaim_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_reclaim_destroy(struct mmt_machine *m);
/* sched.c: a thread took or left a CPU (machine.c calls these). */
void _mmt_sched_cpu_attached(struct mmt_machine *m);
void _mmt_sched_cpu_released(struct mmt_machine *m);
/* A thread leaves its CPU but will come back (migration): not idle. */
void _mmt_sched_away(struct mmt_machine *m, int delta);
/* cpu_online(): threads waiting for a CPU look again. */
void _mmt_sched_cpu_onlined(struct mmt_machine *m);
/* Are the machine's threads an engine's (the deterministic scheduler)? */
bool _mmt_sched_engine(const struct mmt_machine *m);
/* cpu_offline() under a thread engine: wait until no thread is on @cpu. */
bool _mmt_sched_wait_cpu_left(struct mmt_machine *m, int cpu);
/*
 * sched.c: is a thread engine attached (mmt/engine.h)?  Its waits are
 * exact (every thread's state is known), so a waiter may sleep until it
 * is woken instead of polling against a wall-clock timer.
 */
bool _mmt_sched_has_engine(const struct mmt_machine *m);
/* machine.c: attach without reporting a busy CPU; false if busy/offline. */
bool _mmt_cpu_try_attach(struct mmt_machine *m, int cpu, struct mmt_task *task);
/*
 * page_alloc.c: the emergency reserve raises every zone's min watermark
 * (spread by zone size; low and high move with it); returns the pages
 * added per zone in @per_zone (may be NULL).  Base watermarks are kept.
 */
void _mmt_page_alloc_set_emergency(struct mmt_machine *m, long pages);
long _mmt_page_alloc_emergency(const struct mmt_machine *m);
/* page_alloc.c: the min watermark of @zone without the emergency part. */
unsigned long _mmt_zone_base_min(const struct mmt_machine *m, int zone);
/* -- begin: added by alloc/mempool.c (Model 3) -- */
/*
 * Is the calling thread inside a pool's alloc function called by
 * mempool_alloc() under the no-reclaim policy?  Per thread, not per CPU: an
 * allocation may sleep and come back on another CPU.  reclaim.c reports
 * "mempool-no-reclaim" when direct reclaim or writeback throttling is
 * entered while it is true.
 */
bool _mmt_mempool_in_noreclaim_alloc(void);
/* -- end: added by alloc/mempool.c -- */
/* page_alloc.c: may the current context use the reserves for @gfp? */
bool _mmt_gfp_pfmemalloc_allowed(struct mmt_cpu *cpu, mmt_gfp_t gfp);
/* page_alloc.c */
int _mmt_page_alloc_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_page_alloc_destroy(struct mmt_machine *m);
void _mmt_drain_cpu_pages(struct mmt_machine *m, int cpu);
bool _mmt_zone_is_valid(struct mmt_zone *z);
/* The same if the zone was written since it was last validated. */
bool _mmt_zone_validate_touched(struct mmt_zone *z);
void _mmt_zone_dump(struct mmt_zone *z, FILE *out);
/* check.c */
char *_mmt_dump_string(struct mmt_machine *m);
/* -- begin: reclaim.c / writeback.c internals (owned by reclaim.c) -- */
/* A write ended: @ok false when it was cancelled (device destroyed). */
typedef void (*mmt_wb_end_fn)(struct mmt_page *page, void *ctx, bool ok);
/* writeback.c: queue a write of @page to @dev; @end runs once, on the
 * worker that completes it (or on the destroyer's CPU). */
void _mmt_wb_submit(struct mmt_wb_device *dev, struct mmt_page *page,
		    mmt_wb_end_fn end, void *ctx);
/* Is @dev's queue cleaned only by a PF_LESS_THROTTLE worker (a loop)? */
bool _mmt_wb_less_flushed(const struct mmt_wb_device *dev);
/* writeback.c: per-machine device registry, set up/torn down by reclaim.c. */
int _mmt_writeback_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_writeback_destroy(struct mmt_machine *m); /* on a CPU */
bool _mmt_writeback_has_devices(struct mmt_machine *m);
unsigned long _mmt_writeback_dropped(const struct mmt_machine *m);
void *_mmt_writeback_json(struct mmt_machine *m); /* a json_t array */
void _mmt_writeback_print(struct mmt_machine *m, FILE *out);
/* reclaim.c: the slot writeback.c keeps its state in. */
struct mmt_writeback_state **_mmt_writeback_slot(struct mmt_machine *m);
/* reclaim.c: a user page of @type filled with @data (may be NULL) on the
 * LRU of @nid (-1: this CPU's node), mapped by @owner (NULL: page cache no
 * task maps); NULL if the allocation failed. */
struct mmt_page *_mmt_lru_add_page(struct mmt_machine *m,
				   enum mmt_lru_type type,
				   struct mmt_wb_device *dev, mmt_gfp_t gfp,
				   int nid, const void *data,
				   struct mmt_task *owner);
/* reclaim.c: the OOM killer (out_of_memory()): kill the task mapping the
 * most user pages and free them; false when no task can be killed (the
 * "oom-no-victim" report). */
bool _mmt_oom_kill(struct mmt_cpu *cpu, mmt_gfp_t gfp, unsigned int order);
/* reclaim.c: drop a reference to a task's user memory (NULL: none). */
void _mmt_mm_put(struct mmt_mm *mm);
/* -- end: reclaim.c / writeback.c internals -- */

static inline unsigned long _mmt_pfn(const struct mmt_machine *m,
				     const struct mmt_page *p)
{
	return (unsigned long)(p - m->pages);
}

/* Head pfn of the allocation @p belongs to (itself when it heads none). */
static inline uint32_t pg_head(const struct mmt_machine *m,
			       const struct mmt_page *p)
{
	return (uint32_t)_mmt_pfn(m, p) ^ p->head_x;
}

static inline void pg_set_head(const struct mmt_machine *m, struct mmt_page *p,
			       uint32_t head)
{
	p->head_x = (uint32_t)_mmt_pfn(m, p) ^ head;
}

/*
 * page_alloc.c: the frames whose descriptors may have been written: the
 * first range [*start, *end) of them at or after @pfn (false: none).
 * Walks of every frame (slab teardown, validators) go over these only.
 */
bool _mmt_pfn_used_range(const struct mmt_machine *m, unsigned long pfn,
			 unsigned long *start, unsigned long *end);

#endif /* MMT_INTERNAL_H */
