/* SPDX-License-Identifier: MIT */
/*
 * alloc/lock.c - raw_spinlock, spinlock and mutex of the model (mmt/lock.h)
 * over real synchronization.
 *
 * What it models: the kernel's lock API and its effect on the context of the
 * current CPU.  raw_spin_lock raises the preempt count; spin_lock does too,
 * except under PREEMPT_RT rules (cfg.rt_rules) where spinlock_t is a
 * sleeping lock that leaves preemption and, for _irqsave, interrupts alone
 * (the kernel's spin_lock_irqsave() on RT returns flags 0).  A mutex sleeps
 * (might_sleep() when taken).  lockdep.c does the checks; this file does the
 * mechanics and keeps the task's held-lock stack, always (not only with
 * lockdep) because unlock-not-held and mmt_lock_held_by_current() need it.
 *
 * The lock word: test-and-test-and-set on `locked`, acquire on the winning
 * compare-exchange and release on unlock, so everything written under the
 * lock by one thread is visible to the next holder.  Waiting spins a bounded
 * number of relaxed loads and then sched_yield()s, so a waiter never starves
 * the holder on an oversubscribed host.  A mutex waits the same way (the
 * model has no wait queue; "sleeping" is yielding).
 *
 * Fast and slow paths: the API functions are made of lock_inline.h's
 * inline fast paths (an uncontended raw or non-RT spinlock without
 * lockdep: scheduling point, context, one compare-exchange, the held-lock
 * record without lockdep's fields; the innermost, non-nested hold at
 * unlock) and this file's out-of-line paths for everything else (lockdep,
 * mutexes, RT spinlocks, contention, self-deadlock, misuse, overflow,
 * out-of-order unlock).  A self-deadlock's inner hold is marked nested
 * when pushed; its unlock pops the record and leaves the word taken.
 *
 * Scheduling points: MMT_SP_LOCK_ACQUIRE before every acquisition attempt,
 * MMT_SP_LOCK_CONTENDED once per waiting round, MMT_SP_LOCK_RELEASE after
 * a release; the object is the struct mmt_lock.
 *
 * Misuse never corrupts state: a lock that was never initialized or is used
 * through a class of another kind ("lock-misuse") is not touched; an unlock
 * of a lock the current task does not hold ("unlock-not-held") changes
 * nothing.  Re-acquiring a lock the task holds would hang forever, so it is
 * reported ("lock-recursion", even without lockdep) and recorded as a nested
 * hold of the same lock word: the inner unlock pops the record only, the
 * outer one releases the word.  More than MMT_MAX_HELD_LOCKS holds are
 * reported ("held-lock-overflow"); the extra lock is taken untracked and its
 * unlock is recognized by owner_cpu while the stack is full.
 *
 * Lockdep maps (_mmt_lock_map_*, lockdep's fs_reclaim): a hold with no
 * lock word, pushed as nested so that no release touches a word; lockdep
 * orders it like a lock.  A hold of a mutex or a map is "sleepable": the
 * task may sleep and leave its CPU with it (sched.c, machine.c), as a
 * kernel mutex holder sleeps; spinlocks keep it on the CPU.
 *
 * Invariants: a held-stack entry of a non-nested hold means the word is 1
 * and owner_cpu is this CPU; counted_preempt entries account for exactly the
 * preempt count the locks added.
 *
 * Locks: the lock words themselves; lockdep.c's ld->mu (pthread) inside
 * the checks.  A thread on no simulated CPU aborts with a message
 * (_mmt_cpu_or_report()): there is no machine to report to.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>

#include "lock_inline.h"

/* Relaxed polls of the lock word before yielding the host CPU. */
#define SPIN_POLLS 128

static MMT_LOCK_CLASS(default_raw_class, "raw_spinlock", MMT_LOCK_RAW_SPIN);
static MMT_LOCK_CLASS(default_spin_class, "spinlock", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(default_mutex_class, "mutex", MMT_LOCK_MUTEX);

/* ---- init ---- */

static void lock_init(struct mmt_lock *l, struct mmt_lock_class *cls)
{
	atomic_init(&l->locked, 0);
	l->cls = cls;
	atomic_init(&l->owner_cpu, -1);
}

void mmt_raw_spin_lock_init(mmt_raw_spinlock_t *lock,
			    struct mmt_lock_class *cls)
{
	lock_init(&lock->l, cls ? cls : &default_raw_class);
}

void mmt_spin_lock_init(mmt_spinlock_t *lock, struct mmt_lock_class *cls)
{
	lock_init(&lock->l, cls ? cls : &default_spin_class);
}

void mmt_mutex_init(mmt_mutex_t *lock, struct mmt_lock_class *cls)
{
	lock_init(&lock->l, cls ? cls : &default_mutex_class);
}

void _mmt_lock_map_init(struct mmt_lock *map, struct mmt_lock_class *cls)
{
	lock_init(map, cls);
}

/* ---- helpers ---- */

static const char *kind_word(enum mmt_lock_kind kind)
{
	return kind == MMT_LOCK_RAW_SPIN ? "raw_spinlock" :
	       kind == MMT_LOCK_SPIN	 ? "spinlock" :
					   "mutex";
}

/* "lock-misuse": @l is no lock of @kind.  Returns false. */
MMT_COLD bool _mmt_lock_misuse(struct mmt_cpu *cpu, struct mmt_lock *l,
			       enum mmt_lock_kind kind, const char *op,
			       const char *site)
{
	if (!l->cls)
		_mmt_violation(
			cpu->m, "lock-misuse", site,
			"%s of a %s that was never initialized (%p) at %s", op,
			kind_word(kind), (void *)l, _mmt_short_site(site));
	else
		_mmt_violation(cpu->m, "lock-misuse", site,
			       "%s of a %s whose class %s is a %s class, at %s",
			       op, kind_word(kind),
			       l->cls->name ? l->cls->name : "?",
			       kind_word(l->cls->kind), _mmt_short_site(site));
	return false;
}

/*
 * "nolock-spin": a lock that may spin (or, for a mutex or a spinlock under
 * PREEMPT_RT rules, sleep) taken with lock, not trylock, inside a nolock
 * call (cpu->nospin_depth).  Reported before the acquisition, which then
 * goes on as the code asked: the defect is the attempt, held or not.
 */
MMT_COLD void _mmt_lock_nospin_report(struct mmt_cpu *cpu, struct mmt_lock *l,
				      enum mmt_lock_kind kind, const char *site)
{
	_mmt_violation(
		cpu->m, "nolock-spin", site,
		"a nolock call on cpu %d takes %s %s with a lock that may %s at %s (%s; the nolock APIs only trylock)",
		cpu->id, kind_word(kind),
		l->cls && l->cls->name ? l->cls->name : "?",
		kind == MMT_LOCK_MUTEX || (kind == MMT_LOCK_SPIN &&
					   cpu->m->cfg.rt_rules) ?
			"sleep" :
			"spin",
		_mmt_short_site(site),
		atomic_load_explicit(&l->locked, memory_order_relaxed) ?
			"it is held: this would wait" :
			"free now, but it may be held when the call comes");
}

static inline int find_held(const struct mmt_task *t, const struct mmt_lock *l)
{
	int i;

	for (i = t->nr_held - 1; i >= 0; i--)
		if (t->held[i].lock == l)
			return i;
	return -1;
}

static void spin_word(struct mmt_cpu *cpu, struct mmt_lock *l)
{
	int i;

	while (!_mmt_lock_try_word(l)) {
		mmt_sched_point(cpu, MMT_SP_LOCK_CONTENDED, l);
		for (i = 0; i < SPIN_POLLS; i++) {
			/* Relaxed: only a hint; the compare-exchange orders. */
			if (!atomic_load_explicit(&l->locked,
						  memory_order_relaxed))
				break;
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		if (i == SPIN_POLLS)
			sched_yield();
	}
}

/* Raise preempt count / disable irqs as this kind does; returns the hold. */
static inline void enter_context(struct mmt_cpu *cpu, enum mmt_lock_kind kind,
				 unsigned long *flags, bool *counted)
{
	struct mmt_machine *m = cpu->m;

	if (flags) {
		if (_mmt_lock_disables_irqs(m, kind)) {
			*flags = (unsigned long)cpu->irq_disable_depth;
			cpu->irq_disable_depth = 1;
		} else {
			*flags = 0; /* RT spin_lock_irqsave(): irqs stay on */
		}
	}
	*counted = _mmt_lock_raises_preempt(m, kind);
	if (*counted)
		cpu->preempt_count += MMT_PREEMPT_OFFSET;
}

/*
 * Record a hold of @l.  class_id and irq_context are lockdep's: without
 * lockdep nothing reads them, and they stay 0.
 */
static inline void push_held(struct mmt_cpu *cpu, struct mmt_lock *l,
			     const char *site, bool irqsave, bool counted,
			     bool nested)
{
	struct mmt_task *t = cpu->curr;
	struct mmt_held_lock *h;

	if (MMT_UNLIKELY(t->nr_held >= MMT_MAX_HELD_LOCKS))
		return; /* reported before acquiring; taken untracked */
	h = &t->held[t->nr_held++];
	h->lock = l;
	h->site = site;
	h->class_id = 0;
	h->irqsave = irqsave;
	h->counted_preempt = counted;
	h->irq_context = 0;
	h->nested = nested;
	h->sleepable = l->cls->kind == MMT_LOCK_MUTEX;
	if (MMT_UNLIKELY(cpu->m->cfg.lockdep)) {
		h->class_id = _mmt_lock_class_id(l->cls, cpu->m);
		h->irq_context = _mmt_irq_context(cpu->preempt_count);
	}
}

/* ---- acquire / release ---- */

/*
 * A self-deadlock: @l is held by this task already.  Report it, then model
 * it as a nested hold of the same word (the context is entered already).
 */
static MMT_COLD void acquire_recursive(struct mmt_cpu *cpu, struct mmt_lock *l,
				       enum mmt_lock_kind kind, bool irqsave,
				       bool counted, const char *site)
{
	struct mmt_task *t = cpu->curr;
	const struct mmt_held_lock *h = &t->held[find_held(t, l)];

	_mmt_violation(
		cpu->m, "lock-recursion", site,
		"self-deadlock: task %s takes %s %s at %s which it already holds "
		"(taken at %s)",
		t->name, kind_word(kind), l->cls->name ? l->cls->name : "?",
		_mmt_short_site(site), _mmt_short_site(h->site));
	push_held(cpu, l, site, irqsave, counted, true);
}

/*
 * Everything but the fast path: lockdep, a mutex, a sleeping (RT) spinlock,
 * a full held-lock stack.  The order of checks, scheduling point, context
 * and word is the fast path's, with lockdep's checks around the word.
 */
MMT_NOINLINE bool _mmt_lock_acquire_slow(struct mmt_cpu *cpu,
					 struct mmt_lock *l,
					 enum mmt_lock_kind kind,
					 unsigned long *flags, bool trylock,
					 const char *site)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_task *t = cpu->curr;
	bool counted;

	if (MMT_UNLIKELY(t->nr_held >= MMT_MAX_HELD_LOCKS))
		_mmt_violation(
			m, "held-lock-overflow", site,
			"task %s takes %s at %s while holding %d locks (the model tracks "
			"%d); this lock is not tracked",
			t->name, l->cls->name ? l->cls->name : "?",
			_mmt_short_site(site), t->nr_held, MMT_MAX_HELD_LOCKS);

	if (!trylock && MMT_UNLIKELY(find_held(t, l) >= 0)) {
		mmt_sched_point(cpu, MMT_SP_LOCK_ACQUIRE, l);
		enter_context(cpu, kind, flags, &counted);
		acquire_recursive(cpu, l, kind, flags != NULL, counted, site);
		return true;
	}

	_mmt_lockdep_before_acquire(cpu, l, kind, trylock, site);
	mmt_sched_point(cpu, MMT_SP_LOCK_ACQUIRE, l);
	enter_context(cpu, kind, flags, &counted);
	if (trylock) {
		if (!_mmt_lock_try_word(l)) {
			_mmt_lock_leave_context(cpu, kind, counted, flags,
						site);
			return false;
		}
	} else {
		spin_word(cpu, l);
	}
	/* Relaxed: diagnostics only. */
	atomic_store_explicit(&l->owner_cpu, cpu->id, memory_order_relaxed);
	push_held(cpu, l, site, flags != NULL, counted, false);
	_mmt_lockdep_after_acquire(cpu, l, kind, trylock, site);
	return true;
}

/*
 * The fast path's word was taken: a self-deadlock (this task holds it),
 * or wait for it.  The scheduling point and the context are done.
 */
MMT_NOINLINE bool _mmt_lock_acquire_contended(struct mmt_cpu *cpu,
					      struct mmt_lock *l,
					      enum mmt_lock_kind kind,
					      unsigned long *flags,
					      bool counted, const char *site)
{
	if (MMT_UNLIKELY(find_held(cpu->curr, l) >= 0)) {
		acquire_recursive(cpu, l, kind, flags != NULL, counted, site);
		return true;
	}
	spin_word(cpu, l);
	/* Relaxed: diagnostics only. */
	atomic_store_explicit(&l->owner_cpu, cpu->id, memory_order_relaxed);
	push_held(cpu, l, site, flags != NULL, counted, false);
	return true;
}

/* Any release but of the innermost hold, which is not nested. */
MMT_NOINLINE void _mmt_lock_release_slow(struct mmt_cpu *cpu,
					 struct mmt_lock *l,
					 enum mmt_lock_kind kind,
					 const unsigned long *flags,
					 const char *site)
{
	struct mmt_task *t = cpu->curr;
	bool counted, nested;
	int i;

	i = find_held(t, l);
	if (MMT_UNLIKELY(i < 0)) {
		int owner = atomic_load_explicit(&l->owner_cpu,
						 memory_order_relaxed);

		if (t->nr_held >= MMT_MAX_HELD_LOCKS && owner == cpu->id &&
		    atomic_load_explicit(&l->locked, memory_order_relaxed)) {
			/* An untracked hold (held-lock-overflow, reported). */
			_mmt_lock_release_word(l);
			_mmt_lock_leave_context(cpu, kind,
						_mmt_lock_raises_preempt(cpu->m,
									 kind),
						flags, site);
			mmt_sched_point(cpu, MMT_SP_LOCK_RELEASE, l);
			return;
		}
		_mmt_violation(
			cpu->m, "unlock-not-held", site,
			"task %s unlocks %s %s at %s which it does not hold (%s)",
			t->name, kind_word(kind),
			l->cls->name ? l->cls->name : "?",
			_mmt_short_site(site),
			!atomic_load_explicit(&l->locked,
					      memory_order_relaxed) ?
				"the lock is free" :
			owner == cpu->id ? "held by another task of this cpu" :
					   "held by another cpu");
		return;
	}
	counted = t->held[i].counted_preempt;
	nested = t->held[i].nested; /* a self-deadlock's inner hold */
	memmove(&t->held[i], &t->held[i + 1],
		(size_t)(t->nr_held - i - 1) * sizeof(t->held[0]));
	t->nr_held--;
	if (!nested)
		_mmt_lock_release_word(l);
	_mmt_lock_leave_context(cpu, kind, counted, flags, site);
	mmt_sched_point(cpu, MMT_SP_LOCK_RELEASE, l);
}

/* ---- lockdep maps ---- */

/*
 * A map is recorded as a nested hold: no word is taken on acquire and
 * none is released on release, and the held-lock stack, lockdep's order
 * graph and the reports see it like a lock.  Its kind for the checks is
 * a raw spinlock's: a map imposes no wait-context rule of its own (the
 * caller's might_sleep() does that).
 */
void _mmt_lock_map_acquire(struct mmt_cpu *cpu, struct mmt_lock *map,
			   const char *site)
{
	if (!cpu->m->cfg.lockdep)
		return;
	_mmt_lockdep_before_acquire(cpu, map, MMT_LOCK_RAW_SPIN, false, site);
	if (MMT_UNLIKELY(cpu->curr->nr_held >= MMT_MAX_HELD_LOCKS))
		return; /* untracked, as an overflowing lock is */
	push_held(cpu, map, site, false, false, true);
}

void _mmt_lock_map_release(struct mmt_cpu *cpu, struct mmt_lock *map,
			   const char *site)
{
	struct mmt_task *t = cpu->curr;
	int i;

	(void)site;
	if (!cpu->m->cfg.lockdep)
		return;
	i = find_held(t, map);
	if (i < 0)
		return; /* untracked (overflow) */
	memmove(&t->held[i], &t->held[i + 1],
		(size_t)(t->nr_held - i - 1) * sizeof(t->held[0]));
	t->nr_held--;
}

/* ---- the API ---- */

void _mmt_raw_spin_lock(mmt_raw_spinlock_t *lock, const char *site)
{
	_mmt_lock_acquire(&lock->l, MMT_LOCK_RAW_SPIN, NULL, false, site);
}

bool _mmt_raw_spin_trylock(mmt_raw_spinlock_t *lock, const char *site)
{
	return _mmt_lock_acquire(&lock->l, MMT_LOCK_RAW_SPIN, NULL, true, site);
}

void _mmt_raw_spin_unlock(mmt_raw_spinlock_t *lock, const char *site)
{
	_mmt_lock_release(&lock->l, MMT_LOCK_RAW_SPIN, NULL, site);
}

void _mmt_raw_spin_lock_irqsave(mmt_raw_spinlock_t *lock, unsigned long *flags,
				const char *site)
{
	_mmt_lock_acquire(&lock->l, MMT_LOCK_RAW_SPIN, flags, false, site);
}

void _mmt_raw_spin_unlock_irqrestore(mmt_raw_spinlock_t *lock,
				     unsigned long flags, const char *site)
{
	_mmt_lock_release(&lock->l, MMT_LOCK_RAW_SPIN, &flags, site);
}

void _mmt_spin_lock(mmt_spinlock_t *lock, const char *site)
{
	_mmt_lock_acquire(&lock->l, MMT_LOCK_SPIN, NULL, false, site);
}

bool _mmt_spin_trylock(mmt_spinlock_t *lock, const char *site)
{
	return _mmt_lock_acquire(&lock->l, MMT_LOCK_SPIN, NULL, true, site);
}

void _mmt_spin_unlock(mmt_spinlock_t *lock, const char *site)
{
	_mmt_lock_release(&lock->l, MMT_LOCK_SPIN, NULL, site);
}

void _mmt_spin_lock_irqsave(mmt_spinlock_t *lock, unsigned long *flags,
			    const char *site)
{
	_mmt_lock_acquire(&lock->l, MMT_LOCK_SPIN, flags, false, site);
}

bool _mmt_spin_trylock_irqsave(mmt_spinlock_t *lock, unsigned long *flags,
			       const char *site)
{
	return _mmt_lock_acquire(&lock->l, MMT_LOCK_SPIN, flags, true, site);
}

void _mmt_spin_unlock_irqrestore(mmt_spinlock_t *lock, unsigned long flags,
				 const char *site)
{
	_mmt_lock_release(&lock->l, MMT_LOCK_SPIN, &flags, site);
}

void _mmt_mutex_lock(mmt_mutex_t *lock, const char *site)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;

	/* mutex_lock() may sleep: a sleep point of the task, taken or not. */
	if (cpu && cpu->curr)
		cpu->curr->sleep_points++;
	_mmt_lock_acquire(&lock->l, MMT_LOCK_MUTEX, NULL, false, site);
}

bool _mmt_mutex_trylock(mmt_mutex_t *lock, const char *site)
{
	return _mmt_lock_acquire(&lock->l, MMT_LOCK_MUTEX, NULL, true, site);
}

void _mmt_mutex_unlock(mmt_mutex_t *lock, const char *site)
{
	_mmt_lock_release(&lock->l, MMT_LOCK_MUTEX, NULL, site);
}

/* ---- queries ---- */

bool mmt_lock_is_held(const struct mmt_lock *lock)
{
	/* Relaxed: a snapshot for assertions, not a synchronization. */
	return atomic_load_explicit(&lock->locked, memory_order_relaxed) != 0;
}

bool mmt_lock_held_by_current(const struct mmt_lock *lock)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;

	return cpu && cpu->curr && find_held(cpu->curr, lock) >= 0;
}

bool mmt_lock_class_held(const struct mmt_lock_class *cls)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	int i;

	if (!cpu || !cpu->curr)
		return false;
	for (i = 0; i < cpu->curr->nr_held; i++)
		if (cpu->curr->held[i].lock->cls == cls)
			return true;
	return false;
}
