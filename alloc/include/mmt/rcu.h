/* SPDX-License-Identifier: MIT */
/*
 * mmt/rcu.h - a grace-period model and kvfree_rcu (seed 002).
 *
 * Read-side critical sections are per simulated CPU.  Grace periods advance
 * only when asked (mmt_rcu_gp_step), so tests and fuzzers decide when one
 * ends: a step starts a grace period if callbacks wait for one, and ends
 * the current one once every CPU that was inside a read-side section when
 * it started has left it; then its callbacks run on the stepping CPU.
 * mmt_synchronize_rcu() steps until a full grace period has elapsed (it
 * waits for other CPUs' readers, and reports sleeping in atomic context or
 * waiting inside its own read-side section, which would deadlock).  Under
 * a thread engine (mmt/engine.h) a waiter that cannot step sleeps until a
 * reader leaves or the grace-period machine moves; with free-running
 * threads it polls and reports a grace period stalled for seconds.
 *
 * kvfree_rcu(ptr) and kvfree_rcu(ptr, head) queue pointers in per-cpu
 * blocks of one page each, taken with GFP_NOWAIT|__GFP_NOWARN or, per
 * machine, __GFP_FAST_TRY, under a raw spinlock; without a block the
 * one-argument form falls back to synchronize_rcu() + kfree() and the
 * two-argument form to call_rcu() on the embedded head.  After a grace
 * period each block is released with kfree_bulk().  Invariant: nothing is
 * freed before the grace period that began after its kvfree_rcu() ends.
 */
#ifndef MMT_RCU_H
#define MMT_RCU_H

#include <stdbool.h>
#include <stdint.h>

#include "mmt/machine.h"

struct mmt_rcu_head {
	struct mmt_rcu_head *next;
	void (*func)(struct mmt_rcu_head *head);
	uint64_t gp_seq; /* grace period it waits for (set by call_rcu) */
};

void mmt_rcu_read_lock(void);
void mmt_rcu_read_unlock(void);
bool mmt_rcu_read_lock_held(void);
void mmt_call_rcu(struct mmt_rcu_head *head,
		  void (*func)(struct mmt_rcu_head *));
void mmt_synchronize_rcu(void);
/*
 * Advance the grace-period machinery one step from the current CPU.
 * Returns true if a grace period ended (and its callbacks ran).
 */
bool mmt_rcu_gp_step(struct mmt_machine *m);
/* Completed grace periods so far. */
uint64_t mmt_rcu_gp_completed(const struct mmt_machine *m);
/*
 * rcu_barrier(): wait until every callback queued with mmt_call_rcu()
 * before the call has run (later ones are not waited for).  Returns the
 * grace periods this call ended.  May sleep.
 */
unsigned int mmt_rcu_barrier(struct mmt_machine *m);
/*
 * kvfree_rcu_barrier(): wait until everything given to kvfree_rcu()
 * before the call has been freed - its blocks and its rcu_head fallbacks
 * (the synchronous fallback frees before kvfree_rcu() returns).  Returns
 * the grace periods this call ended.  May sleep.
 */
unsigned int mmt_kvfree_rcu_barrier(struct mmt_machine *m);

/*
 * Kernel threads (a trace's `kthread_start gp` / `kvfree_rcu`; under a
 * thread engine they are fibers): the grace-period thread steps grace
 * periods while one is wanted and sleeps otherwise; kvfree_rcu's worker
 * frees the blocks whose grace period ended (kfree_rcu_work) instead of
 * the caller whose step ended it.  Idempotent; mmt_machine_destroy()
 * stops them if they still run.
 */
bool mmt_rcu_gp_kthread_start(struct mmt_machine *m);
void mmt_rcu_gp_kthread_stop(struct mmt_machine *m);
bool mmt_kvfree_rcu_worker_start(struct mmt_machine *m);
void mmt_kvfree_rcu_worker_stop(struct mmt_machine *m);

/* kvfree_rcu(ptr): @ptr from kmalloc (or a page-backed kmalloc). */
void mmt_kvfree_rcu(void *ptr);
/* kvfree_rcu(ptr, rhf): @head is a struct mmt_rcu_head inside *ptr. */
void mmt_kvfree_rcu_head(void *ptr, struct mmt_rcu_head *head);
/* Pointers waiting in kvfree_rcu blocks and heads, all CPUs. */
unsigned long mmt_kvfree_rcu_pending(const struct mmt_machine *m);

#endif /* MMT_RCU_H */
