/* SPDX-License-Identifier: MIT */
/*
 * alloc/lock_inline.h - the fast paths of the lock model (lock.c), inline:
 * lock.c's API functions are made of them, and the page allocator's pcp
 * lock takes them directly (a call less on every pcp operation).
 *
 * The fast path of an acquisition (_mmt_lock_fast_kind(): no lockdep, a
 * lock that does not sleep, room on the held-lock stack) is the
 * scheduling point, the context, one compare-exchange and the held-lock
 * record; of a release, the innermost hold of a lock taken once.  Every
 * other case goes to lock.c's out-of-line paths, which do the full work
 * (lockdep, self-deadlock, misuse, unlock-not-held).  See lock.c for the
 * model, its invariants and its lock words.
 */
#ifndef MMT_LOCK_INLINE_H
#define MMT_LOCK_INLINE_H

#include "internal.h"

/* lock.c: the out-of-line paths. */
bool _mmt_lock_misuse(struct mmt_cpu *cpu, struct mmt_lock *l,
		      enum mmt_lock_kind kind, const char *op, const char *site)
	__attribute__((cold));
void _mmt_lock_nospin_report(struct mmt_cpu *cpu, struct mmt_lock *l,
			     enum mmt_lock_kind kind, const char *site)
	__attribute__((cold));
bool _mmt_lock_acquire_slow(struct mmt_cpu *cpu, struct mmt_lock *l,
			    enum mmt_lock_kind kind, unsigned long *flags,
			    bool trylock, const char *site);
bool _mmt_lock_acquire_contended(struct mmt_cpu *cpu, struct mmt_lock *l,
				 enum mmt_lock_kind kind, unsigned long *flags,
				 bool counted, const char *site);
void _mmt_lock_release_slow(struct mmt_cpu *cpu, struct mmt_lock *l,
			    enum mmt_lock_kind kind, const unsigned long *flags,
			    const char *site);

/* Is @l usable as a lock of @kind?  Reports "lock-misuse" when not. */
static inline bool _mmt_lock_ok(struct mmt_cpu *cpu, struct mmt_lock *l,
				enum mmt_lock_kind kind, const char *op,
				const char *site)
{
	if (MMT_LIKELY(l->cls && l->cls->kind == kind))
		return true;
	return _mmt_lock_misuse(cpu, l, kind, op, site);
}

/*
 * May an acquisition of @kind take the fast path: no check before the
 * word, nothing after it but the held-lock record?  Not with lockdep; not
 * for a mutex (might_sleep()) nor for a spinlock under PREEMPT_RT rules
 * (a sleeping lock: lockdep.c checks its context even without lockdep).
 */
static inline bool _mmt_lock_fast_kind(const struct mmt_machine *m,
				       enum mmt_lock_kind kind)
{
	return !m->cfg.lockdep && (kind == MMT_LOCK_RAW_SPIN ||
				   (kind == MMT_LOCK_SPIN && !m->cfg.rt_rules));
}

/* Does this acquisition raise the preempt count? */
static inline bool _mmt_lock_raises_preempt(const struct mmt_machine *m,
					    enum mmt_lock_kind kind)
{
	return kind == MMT_LOCK_RAW_SPIN ||
	       (kind == MMT_LOCK_SPIN && !m->cfg.rt_rules);
}

/* Does _irqsave of this kind really disable interrupts? */
static inline bool _mmt_lock_disables_irqs(const struct mmt_machine *m,
					   enum mmt_lock_kind kind)
{
	return kind == MMT_LOCK_RAW_SPIN ||
	       (kind == MMT_LOCK_SPIN && !m->cfg.rt_rules);
}

static inline bool _mmt_lock_try_word(struct mmt_lock *l)
{
	uint32_t expected = 0;

	/*
	 * Acquire on success pairs with the release store in _mmt_lock_release_word():
	 * the previous holder's critical section happens before ours.
	 */
	return atomic_compare_exchange_strong_explicit(&l->locked, &expected, 1,
						       memory_order_acquire,
						       memory_order_relaxed);
}

static inline void _mmt_lock_release_word(struct mmt_lock *l)
{
	/* Relaxed: diagnostics only, ordered by the release below. */
	atomic_store_explicit(&l->owner_cpu, -1, memory_order_relaxed);
	/* Release pairs with the acquire compare-exchange in _mmt_lock_try_word(). */
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

static inline void _mmt_lock_leave_context(struct mmt_cpu *cpu,
					   enum mmt_lock_kind kind,
					   bool counted,
					   const unsigned long *flags,
					   const char *site)
{
	if (flags && _mmt_lock_disables_irqs(cpu->m, kind))
		cpu->irq_disable_depth = (int)*flags;
	if (counted) {
		if (MMT_UNLIKELY(!(cpu->preempt_count & MMT_PREEMPT_MASK))) {
			_mmt_violation(
				cpu->m, "context-imbalance", site,
				"unlock on cpu %d finds preempt count 0: a preempt_enable() "
				"too many inside the critical section",
				cpu->id);
			return;
		}
		cpu->preempt_count -= MMT_PREEMPT_OFFSET;
	}
}

/*
 * Acquire @l on @cpu, the current CPU, where @l is known to be a lock of
 * @kind (the model's own locks, initialized by their owner: no misuse
 * check).  Inlined, so that @kind, @flags and @trylock are constants.  The
 * fast path (_mmt_lock_fast_kind(): no lockdep, a lock that does not
 * sleep, room on the held-lock stack) is the scheduling point, the
 * context, one compare-exchange and the held-lock record; a self-deadlock
 * shows as a taken word and is sorted out by the contended path, which an
 * uncontended acquisition never enters.
 */
static MMT_ALWAYS_INLINE bool
_mmt_lock_acquire_on(struct mmt_cpu *cpu, struct mmt_lock *l,
		     enum mmt_lock_kind kind, unsigned long *flags,
		     bool trylock, const char *site)
{
	struct mmt_task *t = cpu->curr;
	struct mmt_held_lock *h;

	/* The nolock APIs' oracle: inside one, only trylocks. */
	if (!trylock && MMT_UNLIKELY(cpu->nospin_depth))
		_mmt_lock_nospin_report(cpu, l, kind, site);
	if (MMT_UNLIKELY(!_mmt_lock_fast_kind(cpu->m, kind) ||
			 t->nr_held >= MMT_MAX_HELD_LOCKS))
		return _mmt_lock_acquire_slow(cpu, l, kind, flags, trylock,
					      site);
	mmt_sched_point(cpu, MMT_SP_LOCK_ACQUIRE, l);
	/* enter_context() of a fast kind: preemption off, irqsave saves. */
	if (flags) {
		*flags = (unsigned long)cpu->irq_disable_depth;
		cpu->irq_disable_depth = 1;
	}
	cpu->preempt_count += MMT_PREEMPT_OFFSET;
	if (MMT_UNLIKELY(!_mmt_lock_try_word(l))) {
		if (trylock) {
			_mmt_lock_leave_context(cpu, kind, true, flags, site);
			return false;
		}
		return _mmt_lock_acquire_contended(cpu, l, kind, flags, true,
						   site);
	}
	/* Relaxed: diagnostics only. */
	atomic_store_explicit(&l->owner_cpu, cpu->id, memory_order_relaxed);
	/* push_held() with room checked and no lockdep fields. */
	h = &t->held[t->nr_held++];
	h->lock = l;
	h->site = site;
	h->class_id = 0;
	h->irqsave = flags != NULL;
	h->counted_preempt = true;
	h->irq_context = 0;
	h->nested = false;
	h->sleepable = false; /* the fast path takes no mutex */
	return true;
}

/* The API's acquisition: the current CPU, and "lock-misuse" checked. */
static MMT_ALWAYS_INLINE bool _mmt_lock_acquire(struct mmt_lock *l,
						enum mmt_lock_kind kind,
						unsigned long *flags,
						bool trylock, const char *site)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(site);

	if (MMT_UNLIKELY(!_mmt_lock_ok(cpu, l, kind,
				       trylock ? "trylock" : "lock", site))) {
		if (flags) /* so that the matching irqrestore changes nothing */
			*flags = (unsigned long)cpu->irq_disable_depth;
		return false;
	}
	return _mmt_lock_acquire_on(cpu, l, kind, flags, trylock, site);
}

/*
 * Release @l on @cpu (as _mmt_lock_acquire_on(): no misuse check).  The
 * fast path is the innermost hold (locks are released in reverse order
 * almost always) of a lock taken once: pop it, free the word, leave the
 * context.
 */
static MMT_ALWAYS_INLINE void _mmt_lock_release_on(struct mmt_cpu *cpu,
						   struct mmt_lock *l,
						   enum mmt_lock_kind kind,
						   const unsigned long *flags,
						   const char *site)
{
	struct mmt_task *t = cpu->curr;
	int n = t->nr_held;
	bool counted;

	if (MMT_UNLIKELY(n <= 0 || t->held[n - 1].lock != l ||
			 t->held[n - 1].nested)) {
		_mmt_lock_release_slow(cpu, l, kind, flags, site);
		return;
	}
	counted = t->held[n - 1].counted_preempt;
	t->nr_held = n - 1;
	_mmt_lock_release_word(l);
	_mmt_lock_leave_context(cpu, kind, counted, flags, site);
	mmt_sched_point(cpu, MMT_SP_LOCK_RELEASE, l);
}

/* The API's release: the current CPU, and "lock-misuse" checked. */
static MMT_ALWAYS_INLINE void _mmt_lock_release(struct mmt_lock *l,
						enum mmt_lock_kind kind,
						const unsigned long *flags,
						const char *site)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(site);

	if (MMT_UNLIKELY(!_mmt_lock_ok(cpu, l, kind, "unlock", site)))
		return;
	_mmt_lock_release_on(cpu, l, kind, flags, site);
}

#endif /* MMT_LOCK_INLINE_H */
