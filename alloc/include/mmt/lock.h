/* SPDX-License-Identifier: MIT */
/*
 * mmt/lock.h - the model's locks: raw_spinlock, spinlock and mutex over real
 * synchronization, with a small lockdep and a scheduling-point hook.
 *
 * Semantics (what the model enforces, as the kernel does):
 *  - raw_spinlock: never sleeps; disables preemption while held.
 *  - spinlock: like raw_spinlock, except under "PREEMPT_RT rules"
 *    (mmt_config.rt_rules) where it is a sleeping lock: it does not disable
 *    preemption, and taking it in atomic context (raw spinlock held,
 *    preemption or irqs disabled, hard irq) is an "invalid wait context".
 *    With mmt_config.prove_raw_lock_nesting the nesting rule is checked on a
 *    non-RT machine too (CONFIG_PROVE_RAW_LOCK_NESTING).
 *  - mutex: sleeps; taking it in atomic context is "sleep-in-atomic".
 *  - _irqsave variants disable interrupts on the current simulated CPU
 *    (under RT rules spin_lock_irqsave leaves them enabled, as in the kernel).
 *
 * Lockdep: every lock has a class (one per kind of lock, like zone->lock for
 * all zones).  Acquiring class B while holding class A records the edge A->B
 * with both sites; an acquisition that closes a cycle is reported as
 * "lock-inversion" with both chains.  Taking a second lock of a class already
 * held is "lock-recursion".  A class used in hard irq context and also taken
 * with interrupts enabled is "irq-inversion" (inconsistent lock state).
 * The order graph belongs to the machine, so a finding reproduces from one
 * execution.
 *
 * Scheduling points: every acquire, contended spin, release and (in later
 * layers) atomic compare-exchange calls mmt_sched_point(), which costs one
 * predictable branch while no scheduler is attached to the machine.
 *
 * All lock operations must run on a simulated CPU (mmt_cpu_attach()).
 */
#ifndef MMT_LOCK_H
#define MMT_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmt/config.h"

enum mmt_lock_kind {
	MMT_LOCK_RAW_SPIN,
	MMT_LOCK_SPIN,
	MMT_LOCK_MUTEX,
};

/*
 * A lock class: define one per kind of lock with MMT_LOCK_CLASS().  The id
 * is assigned on first use (process-wide, at most MMT_MAX_LOCK_CLASSES).
 */
struct mmt_lock_class {
	const char *name;
	enum mmt_lock_kind kind;
	_Atomic int id; /* 0 = not registered yet, else 1-based */
};

#define MMT_MAX_LOCK_CLASSES 128

#define MMT_LOCK_CLASS(var, lname, lkind)              \
	struct mmt_lock_class var = { .name = (lname), \
				      .kind = (lkind), \
				      .id = 0 }

struct mmt_lock {
	_Atomic uint32_t locked; /* 0 free, 1 held */
	struct mmt_lock_class *cls;
	_Atomic int owner_cpu; /* -1 when free; diagnostics only */
};

/* Distinct types so that a spinlock is never passed where a mutex goes. */
typedef struct {
	struct mmt_lock l;
} mmt_raw_spinlock_t;
typedef struct {
	struct mmt_lock l;
} mmt_spinlock_t;
typedef struct {
	struct mmt_lock l;
} mmt_mutex_t;

void mmt_raw_spin_lock_init(mmt_raw_spinlock_t *lock,
			    struct mmt_lock_class *cls);
void mmt_spin_lock_init(mmt_spinlock_t *lock, struct mmt_lock_class *cls);
void mmt_mutex_init(mmt_mutex_t *lock, struct mmt_lock_class *cls);

/* The implementations take the call site; use the macros below. */
void _mmt_raw_spin_lock(mmt_raw_spinlock_t *lock, const char *site);
bool _mmt_raw_spin_trylock(mmt_raw_spinlock_t *lock, const char *site);
void _mmt_raw_spin_unlock(mmt_raw_spinlock_t *lock, const char *site);
void _mmt_raw_spin_lock_irqsave(mmt_raw_spinlock_t *lock, unsigned long *flags,
				const char *site);
void _mmt_raw_spin_unlock_irqrestore(mmt_raw_spinlock_t *lock,
				     unsigned long flags, const char *site);
void _mmt_spin_lock(mmt_spinlock_t *lock, const char *site);
bool _mmt_spin_trylock(mmt_spinlock_t *lock, const char *site);
void _mmt_spin_unlock(mmt_spinlock_t *lock, const char *site);
void _mmt_spin_lock_irqsave(mmt_spinlock_t *lock, unsigned long *flags,
			    const char *site);
bool _mmt_spin_trylock_irqsave(mmt_spinlock_t *lock, unsigned long *flags,
			       const char *site);
void _mmt_spin_unlock_irqrestore(mmt_spinlock_t *lock, unsigned long flags,
				 const char *site);
void _mmt_mutex_lock(mmt_mutex_t *lock, const char *site);
bool _mmt_mutex_trylock(mmt_mutex_t *lock, const char *site);
void _mmt_mutex_unlock(mmt_mutex_t *lock, const char *site);

#define mmt_raw_spin_lock(l) _mmt_raw_spin_lock((l), MMT_SITE)
#define mmt_raw_spin_trylock(l) _mmt_raw_spin_trylock((l), MMT_SITE)
#define mmt_raw_spin_unlock(l) _mmt_raw_spin_unlock((l), MMT_SITE)
#define mmt_raw_spin_lock_irqsave(l, f) \
	_mmt_raw_spin_lock_irqsave((l), &(f), MMT_SITE)
#define mmt_raw_spin_unlock_irqrestore(l, f) \
	_mmt_raw_spin_unlock_irqrestore((l), (f), MMT_SITE)
#define mmt_spin_lock(l) _mmt_spin_lock((l), MMT_SITE)
#define mmt_spin_trylock(l) _mmt_spin_trylock((l), MMT_SITE)
#define mmt_spin_unlock(l) _mmt_spin_unlock((l), MMT_SITE)
#define mmt_spin_lock_irqsave(l, f) _mmt_spin_lock_irqsave((l), &(f), MMT_SITE)
#define mmt_spin_trylock_irqsave(l, f) \
	_mmt_spin_trylock_irqsave((l), &(f), MMT_SITE)
#define mmt_spin_unlock_irqrestore(l, f) \
	_mmt_spin_unlock_irqrestore((l), (f), MMT_SITE)
#define mmt_mutex_lock(l) _mmt_mutex_lock((l), MMT_SITE)
#define mmt_mutex_trylock(l) _mmt_mutex_trylock((l), MMT_SITE)
#define mmt_mutex_unlock(l) _mmt_mutex_unlock((l), MMT_SITE)

/* Is @lock held by anyone / by the task on the current CPU? */
bool mmt_lock_is_held(const struct mmt_lock *lock);
bool mmt_lock_held_by_current(const struct mmt_lock *lock);
/* Does the current task hold any lock of @cls? */
bool mmt_lock_class_held(const struct mmt_lock_class *cls);

#endif /* MMT_LOCK_H */
