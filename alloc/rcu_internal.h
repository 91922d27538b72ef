/* SPDX-License-Identifier: MIT */
/*
 * alloc/rcu_internal.h - private interface between rcu.c (grace periods,
 * call_rcu) and kvfree_rcu.c (per-cpu pointer blocks), and white-box tests.
 *
 * rcu.c owns struct mmt_rcu_state and calls into kvfree_rcu.c at set-up,
 * teardown and from every grace-period step; kvfree_rcu.c asks rcu.c for
 * the grace period a new pointer must wait for (_mmt_rcu_snap) and for the
 * number of completed ones.
 *
 * Grace-period numbers: gp_started counts grace periods begun, gp_completed
 * those ended (gp_completed == gp_started, or one less while one is in
 * progress).  Memory queued now must wait for the next grace period to
 * start, number gp_started + 1 ("rcu_seq_snap"), and may be freed once
 * gp_completed reaches that number.
 */
#ifndef MMT_RCU_INTERNAL_H
#define MMT_RCU_INTERNAL_H

#include <stddef.h>

#include "internal.h"

/*
 * Read-side state of one CPU in one word, so that a grace period reads a
 * consistent (nesting, quiescent count) pair with one load: the low
 * RCU_NEST_BITS are the read_lock nesting, the rest counts the
 * read_unlock calls that brought the nesting back to zero.  Written only by
 * the thread on that CPU; read by any CPU stepping grace periods.
 */
#define RCU_NEST_BITS 16
#define RCU_NEST_MASK ((1u << RCU_NEST_BITS) - 1)

struct mmt_rcu_cpu {
	_Atomic uint64_t state; /* qs << RCU_NEST_BITS | nesting */
	/* Under rcu->mu: must this CPU pass a quiescent state, and from what. */
	bool need_qs;
	uint64_t qs_snap;
	char pad[40]; /* one cache line per CPU: readers write their own */
};

/*
 * A kvfree_rcu pointer block: one page from the page allocator (exposed
 * here for white-box tests of its geometry).
 */
struct mmt_kv_block {
	struct mmt_kv_block *next;
	uint32_t nr;
	uint32_t cpu; /* krcp it was queued on (dumps) */
	uint64_t gp_seq; /* grace period every pointer here waits for */
	void *ptrs[];
};

#define MMT_KV_BLOCK_CAP \
	((MMT_PAGE_SIZE - offsetof(struct mmt_kv_block, ptrs)) / sizeof(void *))

struct mmt_kvfree_state; /* kvfree_rcu.c */

struct mmt_rcu_state {
	struct mmt_machine *m;
	/*
	 * Infrastructure, not a model lock: guards the grace-period machine
	 * and the callback list.  Never held while a callback runs or while
	 * kvfree_rcu.c frees memory.
	 */
	pthread_mutex_t mu;
	_Atomic uint64_t gp_started; /* written under mu */
	_Atomic uint64_t gp_completed; /* written under mu */
	bool gp_active; /* under mu */
	uint64_t gp_requested; /* under mu: synchronize_rcu() waits for it */
	struct mmt_rcu_head *cb_head, **cb_tail; /* FIFO, under mu */
	_Atomic unsigned long nr_cbs; /* queued, not yet detached */
	/* detached from the list at a grace period's end, not yet run */
	_Atomic unsigned long cb_running;
	/*
	 * The newest grace period a pointer in a kvfree_rcu block waits for
	 * (monotonic): a grace period is wanted while it exceeds gp_started.
	 * Blocks whose grace period is over wait for a free step only.
	 */
	_Atomic uint64_t kv_gp_wanted;
	/*
	 * Free-running threads: synchronize_rcu()/rcu_barrier() poll and give
	 * up after this long stalled, in real time.  Under a thread engine
	 * they sleep on wait_wq instead (the kernel's completion) and
	 * whatever may let them go on wakes them while nr_sleepers says one
	 * sleeps: a grace period's start or end, the last callback of a
	 * batch, a kvfree_rcu free step, a reader leaving its section.
	 * wait_name (the queue's name) says what they wait for, for a
	 * deadlock report.
	 */
	unsigned int stall_ms;
	_Atomic int nr_sleepers;
	struct mmt_waitqueue wait_wq;
	char wait_name[160];
	struct mmt_rcu_cpu *cpus; /* [m->nr_cpus] */
	struct mmt_kvfree_state *kv;
	/*
	 * The optional kernel threads (mmt_rcu_gp_kthread_start,
	 * mmt_kvfree_rcu_worker_start): the grace-period thread sleeps on
	 * gp_wq until something wants a grace period (gp_kick, set while it
	 * runs, makes call_rcu/synchronize_rcu/kvfree_rcu wake it); the
	 * kvfree_rcu worker sleeps on kv_wq until a grace period ended
	 * (kv_work) and then frees the ready blocks instead of the stepper.
	 */
	struct mmt_kthread *gp_thread, *kv_worker; /* under mu */
	_Atomic bool gp_kick, kv_on, kv_work;
	struct mmt_waitqueue gp_wq, kv_wq;
};

/* Sleepers in synchronize_rcu()/rcu_barrier(): let them look again. */
void _mmt_rcu_wake_sleepers(struct mmt_rcu_state *rs);
static inline void _mmt_rcu_progress(struct mmt_rcu_state *rs)
{
	if (MMT_UNLIKELY(atomic_load_explicit(&rs->nr_sleepers,
					      memory_order_relaxed)))
		_mmt_rcu_wake_sleepers(rs);
}

/* kvfree_rcu.c: a pointer now waits for grace period @gp. */
static inline void _mmt_rcu_kv_wants(struct mmt_rcu_state *rs, uint64_t gp)
{
	uint64_t cur =
		atomic_load_explicit(&rs->kv_gp_wanted, memory_order_relaxed);

	while (cur < gp && !atomic_compare_exchange_weak_explicit(
				   &rs->kv_gp_wanted, &cur, gp,
				   memory_order_release, memory_order_relaxed))
		;
}

/* Something may want a grace period: wake the gp thread if there is one. */
void _mmt_rcu_gp_wanted(struct mmt_rcu_state *rs);
static inline void _mmt_rcu_kick(struct mmt_rcu_state *rs)
{
	if (MMT_UNLIKELY(
		    atomic_load_explicit(&rs->gp_kick, memory_order_relaxed)))
		_mmt_rcu_gp_wanted(rs);
}

/* rcu.c: the grace period memory queued now must wait for. */
static inline uint64_t _mmt_rcu_snap(struct mmt_rcu_state *rs)
{
	/*
	 * seq_cst: pairs with the increment of gp_started and the fence that
	 * follows it in gp start, so that either this load sees the new
	 * grace period (and waits for the next one) or that grace period's
	 * snapshot of the readers is taken after the caller's removal.
	 */
	return atomic_load_explicit(&rs->gp_started, memory_order_seq_cst) + 1;
}

static inline uint64_t _mmt_rcu_completed(struct mmt_rcu_state *rs)
{
	/* Acquire: pairs with the release store ending a grace period. */
	return atomic_load_explicit(&rs->gp_completed, memory_order_acquire);
}

/* kvfree_rcu.c, called by rcu.c. */
int _mmt_kvfree_rcu_init(struct mmt_machine *m, char *err, size_t errlen);
void _mmt_kvfree_rcu_destroy(struct mmt_machine *m);
/*
 * After each grace-period step on the current CPU, outside rcu->mu:
 * free the blocks whose grace period has completed (@gp_ended says
 * whether this step ended one).  Returns the pointers freed.
 */
unsigned long _mmt_kvfree_rcu_step(struct mmt_machine *m, bool gp_ended);
/*
 * kvfree_rcu_barrier()'s condition: every pointer put in a block while
 * grace period @gp (a snapshot) was the one to wait for has been freed.
 */
bool _mmt_kvfree_rcu_flushed(const struct mmt_machine *m, uint64_t gp);
/*
 * Every cache's rcu_free sheaves (slab=sheaves) to call_rcu, so that a
 * barrier after it waits for their objects too (kvfree_rcu_barrier()).
 */
void _mmt_kvfree_rcu_flush_sheaves(struct mmt_machine *m);

#endif /* MMT_RCU_INTERNAL_H */
