/* SPDX-License-Identifier: MIT */
/*
 * mmt/machine.h - the simulated machine: nodes, zones, CPUs, page frames,
 * tasks and the execution context of each simulated CPU.
 *
 * A machine is an independent instance (no global state but the lock-class
 * registry), so a fuzz target can build one per execution and a test can run
 * several.  A real thread (or, later, a cooperative fiber) "is on" exactly
 * one simulated CPU at a time: mmt_cpu_attach() puts the calling thread on a
 * CPU with a task; every model API then uses that CPU's context, the way
 * kernel code uses current and smp_processor_id().  Migration is explicit.
 *
 * Context per CPU (what the kernel keeps in preempt_count and the task):
 * preempt count with softirq and hardirq parts, irqs-disabled depth, the
 * current task and its flags (PF_MEMALLOC, PF_MEMALLOC_NOIO/NOFS scopes,
 * PF_LESS_THROTTLE, PF_KSWAPD).
 */
#ifndef MMT_MACHINE_H
#define MMT_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/config.h"
#include "mmt/gfp.h"

#define MMT_PAGE_SHIFT 12
#define MMT_PAGE_SIZE (1ul << MMT_PAGE_SHIFT)
#define MMT_MAX_NODES 8
#define MMT_MAX_CPUS 256

enum mmt_zone_type {
	MMT_ZONE_DMA32,
	MMT_ZONE_NORMAL,
	MMT_NR_ZONE_TYPES
};

struct mmt_machine;
struct mmt_task;
struct mmt_page;

/* Hooks that the reclaim layer (Model 3) or a test plugs in. */
struct mmt_page_hooks {
	/* Direct reclaim on behalf of an allocation; returns pages freed. */
	unsigned long (*direct_reclaim)(struct mmt_machine *m, mmt_gfp_t gfp,
					unsigned int order, void *arg);
	/* kswapd of @nid woken (it runs later, in its own context). */
	void (*wake_kswapd)(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
			    unsigned int order, void *arg);
	/*
	 * Out of memory: return true if the hook made progress (e.g. freed
	 * memory or chose a victim).  NULL: the model's default OOM killer
	 * picks the allocating task as victim once (it gets ALLOC_OOM).
	 */
	bool (*out_of_memory)(struct mmt_machine *m, mmt_gfp_t gfp,
			      unsigned int order, void *arg);
	void *arg;
};

/*
 * Facts of the page allocator for an observer outside the model (the
 * interpreter's reference oracles, trace/ref_rules.h).  Each is a fact,
 * never a decision: the mask and node a caller passed, the free count of
 * a zone right before pages left its buddy lists, the page returned.
 *  - enter: alloc_pages*() or alloc_pages_bulk() begins (@gfp as passed,
 *    @nid the preferred node, @bulk for the bulk API, order 0);
 *  - take: pages leave zone @zone's buddy lists (one block, or a batch
 *    for a per-cpu list), its free count @free_before just before, for a
 *    request of @order (a batch refill is for a request of that order);
 *  - exit: the call of the innermost enter returns @page (NULL: failed,
 *    or the bulk API).
 * Called on the allocating thread; enter/exit nest (direct reclaim, a
 * slab refill allocate inside another allocation).  Cost when unset: one
 * load and a branch per call.
 */
struct mmt_page_observer {
	void (*enter)(void *arg, mmt_gfp_t gfp, unsigned int order, int nid,
		      bool bulk);
	void (*take)(void *arg, int zone, long free_before, unsigned int order);
	void (*exit)(void *arg, struct mmt_page *page);
	void *arg;
};

/* What a scheduling point is (mmt_sched_point()). */
enum mmt_sched_kind {
	MMT_SP_LOCK_ACQUIRE,
	MMT_SP_LOCK_CONTENDED,
	MMT_SP_LOCK_RELEASE,
	MMT_SP_CMPXCHG,
	MMT_SP_PREEMPT,
	MMT_SP_EXPLICIT,
};
typedef void (*mmt_sched_hook_fn)(struct mmt_machine *m, int cpu,
				  enum mmt_sched_kind kind, const void *obj,
				  void *arg);

/* The object allocator implementation of a machine (--slab=). */
enum mmt_slab_impl {
	MMT_SLAB_SLUB, /* per-cpu freelist + cpu partial slabs (default) */
	MMT_SLAB_SLAB, /* per-cpu array caches + node lists (seed 000) */
	MMT_SLAB_SHEAVES, /* SLUB with sheaves and barns (kernel 7.0) */
	MMT_NR_SLAB_IMPLS
};

/* mempool_alloc() order of preference (seed 001), --mempool=. */
enum mmt_mempool_policy {
	MMT_MEMPOOL_KERNEL_2016, /* allocator w/o reclaim, pool, full-mask retry */
	MMT_MEMPOOL_NO_RECLAIM, /* allocator w/o reclaim, pool, wait (default) */
	MMT_MEMPOOL_POOL_FIRST, /* pool, allocator w/o reclaim, wait */
	MMT_NR_MEMPOOL_POLICIES
};

/*
 * How a reclaimer waits for writeback (--throttle=, mmt/reclaim.h).  The
 * 2016 kernel's throttle_vm_writeout() (removed in v4.8) looped until the
 * node's pages under writeback fell below the limit: seed 001's world, and
 * the only one where the "writeback-limit" bound holds.  Since v5.16
 * reclaim_throttle() waits once, at most HZ/10, and not at all in kernel
 * threads other than kswapd; the allocator's no-progress retries then
 * reach the OOM killer.
 */
enum mmt_throttle_policy {
	MMT_THROTTLE_VM_WRITEOUT, /* 2016: loop until under the limit */
	MMT_THROTTLE_RECLAIM, /* 5.16+: one bounded wait, kthreads exempt */
	MMT_NR_THROTTLE_POLICIES
};
const char *mmt_throttle_policy_name(enum mmt_throttle_policy p);
bool mmt_throttle_policy_parse(const char *name, enum mmt_throttle_policy *out);

struct mmt_config {
	int nr_nodes; /* 1..MMT_MAX_NODES */
	int nr_cpus; /* 1..MMT_MAX_CPUS, spread over nodes */
	unsigned long dma32_pages; /* per node; 0 = no DMA32 zone */
	unsigned long normal_pages; /* per node, > 0 */
	unsigned long min_free_kbytes; /* 0 = derived as the kernel does */
	unsigned int watermark_scale_factor; /* in 1/10000 of the zone, >= 1 */
	unsigned int lowmem_reserve_ratio; /* DMA32 protection ratio, >= 1 */
	int pcp_batch; /* 0 = derived from zone size */
	int pcp_high; /* 0 = 6 * batch */
	bool rt_rules; /* PREEMPT_RT: spinlocks sleep */
	/*
	 * A uniprocessor build (CONFIG_SMP=n; nr_cpus must be 1): spinlocks
	 * are no-ops, so the per-cpu pages' spin_trylock always succeeds and
	 * the pcp lock disables interrupts instead (page_alloc.c).
	 */
	bool up;
	bool prove_raw_lock_nesting; /* check raw->spin nesting without RT */
	bool page_poison; /* poison free pages, check on alloc */
	bool lockdep; /* lock order / context checks */
	uint64_t bugs; /* injected bugs, bit per enum mmt_bug */
	enum mmt_slab_impl slab; /* object allocator implementation */
	bool slab_debug; /* red zones, poison, tracking on every cache */
	bool kvfree_rcu_fast_try; /* kvfree_rcu blocks: FAST_TRY, not NOWAIT */
	enum mmt_mempool_policy mempool_policy;
	enum mmt_throttle_policy throttle; /* reclaim's writeback throttle */
	unsigned long stall_jiffies; /* model time without progress = stall */
	/*
	 * A quiet spell is a stall even without memory pressure: for machines
	 * whose threads can only wait for each other (the interpreter runs no
	 * kthread, so a timed wait of its one thread can only time out).
	 */
	bool stall_without_pressure;
	unsigned int wait_real_ms; /* real-time safety net of one wait */
	unsigned int max_violations; /* kept in the log; later ones counted */
	/*
	 * NUMA layout, for a machine that follows a host or synthetic
	 * topology (topology/ fills these from hwloc; the model knows no
	 * hwloc).  The defaults keep the model's own layout:
	 *  - cpu_node_map false: blocks of CPUs per node (cpu i on node
	 *    i * nr_nodes / nr_cpus); true: cpu i is on node cpu_node[i]
	 *    (a node may have no CPU: a memory-only node);
	 *  - node_distance all zero: 10 + 10 * |a - b|; else a SLIT-like
	 *    matrix over the first nr_nodes rows and columns: 10 on the
	 *    diagonal, 11..254 off it.  Zonelists try the other nodes
	 *    nearest first (ties to the lower node), so it decides where an
	 *    allocation falls back, hence which frees are remote.
	 */
	bool cpu_node_map;
	uint8_t cpu_node[MMT_MAX_CPUS];
	uint8_t node_distance[MMT_MAX_NODES][MMT_MAX_NODES];
};

/* Distances of the SLIT (the kernel's LOCAL_DISTANCE, REMOTE_DISTANCE). */
#define MMT_LOCAL_DISTANCE 10
#define MMT_MAX_DISTANCE 254

/* Fill @cfg with the defaults (a small 1-node, 2-CPU machine). */
void mmt_config_default(struct mmt_config *cfg);
/* Check @cfg; on error write the reason (naming the field) to @err. */
bool mmt_config_validate(const struct mmt_config *cfg, char *err,
			 size_t errlen);

/* Create a machine; NULL with @err filled on a bad config or no memory. */
struct mmt_machine *mmt_machine_create(const struct mmt_config *cfg, char *err,
				       size_t errlen);
void mmt_machine_destroy(struct mmt_machine *m);
/*
 * The engine stopped a run where it stood (a finding or a blocked end):
 * the tasks' threads will never run again.  mmt_machine_destroy() then
 * lets go of the locks they still hold, so its teardown, which frees
 * through the same paths, never waits for a dead holder.  Only for
 * engines whose threads are stopped for good (fibers never resumed).
 */
void mmt_machine_abandoned(struct mmt_machine *m);
const struct mmt_config *mmt_machine_config(const struct mmt_machine *m);
void mmt_machine_set_hooks(struct mmt_machine *m,
			   const struct mmt_page_hooks *h);
/* NULL removes it. */
void mmt_machine_set_page_observer(struct mmt_machine *m,
				   const struct mmt_page_observer *o);
void mmt_machine_set_sched_hook(struct mmt_machine *m, mmt_sched_hook_fn fn,
				void *arg);
int mmt_nr_cpus(const struct mmt_machine *m);
int mmt_nr_nodes(const struct mmt_machine *m);
int mmt_cpu_to_node(const struct mmt_machine *m, int cpu);
/* node_distance(): the config's matrix, or the default (mmt_config). */
int mmt_node_distance(const struct mmt_machine *m, int a, int b);

/* Tasks. */
enum {
	MMT_PF_MEMALLOC = 1u << 0,
	MMT_PF_MEMALLOC_NOIO = 1u << 1,
	MMT_PF_MEMALLOC_NOFS = 1u << 2,
	MMT_PF_LESS_THROTTLE = 1u << 3,
	MMT_PF_KSWAPD = 1u << 4,
	MMT_PF_VALID_MASK = (1u << 5) - 1,
};
struct mmt_task *mmt_task_create(struct mmt_machine *m, const char *name,
				 unsigned int flags);
void mmt_task_destroy(struct mmt_task *t);
const char *mmt_task_name(const struct mmt_task *t);

/*
 * Put the calling thread on simulated CPU @cpu running @task.  Fails (false,
 * a violation "cpu-busy"/"cpu-offline") if another thread is on that CPU or
 * the CPU is offline.  mmt_cpu_detach() takes the thread off; doing so with
 * locks held or in atomic context is a violation.
 */
bool mmt_cpu_attach(struct mmt_machine *m, int cpu, struct mmt_task *task);
void mmt_cpu_detach(void);
/* Move the current task to @cpu (process context, preemptible). */
bool mmt_migrate(int cpu);
int mmt_smp_processor_id(void); /* -1 if the thread is on no CPU */
struct mmt_machine *mmt_current_machine(void);
struct mmt_task *mmt_current_task(void);
int mmt_numa_node_id(void);

/* Context of the current CPU. */
void mmt_preempt_disable(void);
void mmt_preempt_enable(void);
void mmt_local_irq_disable(void);
void mmt_local_irq_enable(void);
unsigned long mmt_local_irq_save(void);
void mmt_local_irq_restore(unsigned long flags);
void mmt_irq_enter(void); /* hard irq */
void mmt_irq_exit(void);
void mmt_local_bh_disable(void); /* softirq disabled, not serving */
void mmt_local_bh_enable(void);
void mmt_softirq_enter(void); /* serving a softirq */
void mmt_softirq_exit(void);
bool mmt_in_interrupt(void); /* hardirq, serving softirq, or bh disabled */
bool mmt_in_hardirq(void);
bool mmt_in_serving_softirq(void);
bool mmt_in_task(void);
bool mmt_in_atomic(void); /* preempt count != 0 */
bool mmt_irqs_disabled(void);
/* "Could the current context sleep?" (might_sleep() without the report). */
bool mmt_preemptible(void);
/* might_sleep(): reports "sleep-in-atomic" at @site when it could not. */
void _mmt_might_sleep(const char *site);
#define mmt_might_sleep() _mmt_might_sleep(MMT_SITE)

/* Task flags of current; scopes save and restore like the kernel's. */
unsigned int mmt_current_flags(void);
void mmt_current_set_flags(unsigned int flags);
void mmt_current_clear_flags(unsigned int flags);
unsigned int mmt_memalloc_noio_save(void);
void mmt_memalloc_noio_restore(unsigned int saved);
unsigned int mmt_memalloc_nofs_save(void);
void mmt_memalloc_nofs_restore(unsigned int saved);
unsigned int mmt_memalloc_noreclaim_save(void); /* sets PF_MEMALLOC */
void mmt_memalloc_noreclaim_restore(unsigned int saved);
/* current_gfp_context(): @gfp with IO/FS removed by the task's scopes. */
mmt_gfp_t mmt_current_gfp_context(mmt_gfp_t gfp);
void mmt_current_set_oom_victim(bool victim);
bool mmt_current_is_oom_victim(void);
/*
 * Points at which @t could have slept so far: might_sleep() checks, mutex
 * acquisitions and waits, whether or not they slept.  A caller compares
 * the count around a call that promised not to sleep (an allocation
 * without __GFP_DIRECT_RECLAIM).
 */
unsigned long mmt_task_sleep_points(const struct mmt_task *t);

/* Explicit scheduling point (cond_resched()). */
void _mmt_sched_point(enum mmt_sched_kind kind, const void *obj);
#define mmt_cond_resched() _mmt_sched_point(MMT_SP_EXPLICIT, NULL)

/* CPU hotplug: offline drains the CPU's per-cpu pages. */
bool mmt_cpu_offline(struct mmt_machine *m, int cpu);
bool mmt_cpu_online(struct mmt_machine *m, int cpu);
bool mmt_cpu_is_online(const struct mmt_machine *m, int cpu);

#endif /* MMT_MACHINE_H */
