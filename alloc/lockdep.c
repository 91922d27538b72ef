/* SPDX-License-Identifier: MIT */
/*
 * alloc/lockdep.c - a small lockdep: lock classes, the per-machine order
 * graph, and the context checks of lock acquisition.
 *
 * What it models (the kernel's lockdep, reduced to what the allocator needs):
 *  - lock-inversion: acquiring class C while holding class H adds the edge
 *    H->C (first sites kept); if the graph already has a path C->...->H the
 *    acquisition closes a cycle and is reported with the new dependency and
 *    the existing chain, each edge with its sites.  The offending edge is not
 *    added, so the graph stays acyclic and each later finding is new.
 *    Trylocks add no edge into themselves (they cannot block) but later
 *    acquisitions order after them, as in the kernel.
 *  - lock-recursion: a second lock of a class the task already holds
 *    (trylock excluded).  Re-acquiring the very same lock is a self-deadlock
 *    and is reported even without lockdep (lock.c), since it would hang.
 *  - invalid-wait-context: a spinlock_t taken where it may not sleep.  Under
 *    PREEMPT_RT rules (cfg.rt_rules) a spinlock_t sleeps, so holding a raw
 *    spinlock, hard irq context, preemption disabled by something else than
 *    the held locks, or interrupts disabled all forbid it.  With only
 *    cfg.prove_raw_lock_nesting (CONFIG_PROVE_RAW_LOCK_NESTING on a non-RT
 *    kernel) the check is lockdep's wait-type rule: no spinlock_t inside a
 *    raw_spinlock_t or in hard irq context.  preempt_disable()/irqs-off
 *    followed by spin_lock() is legal there (the kernel's pcp_spin_lock does
 *    exactly that on !RT), so it is not reported.  A mutex taken under a
 *    (sleeping, RT) spinlock_t is reported too.  A trylock never waits, so
 *    it is only forbidden in hard irq context (on RT the lock's owner would
 *    be the interrupted task): FAST_TRY's pcp trylock under krcp->lock, the
 *    seed's case, is valid.
 *  - sleep-in-atomic: _mmt_lockdep_can_sleep() is the might_sleep() test
 *    (preempt count != 0 or irqs disabled); lock.c uses it for mutexes and,
 *    without lockdep, for RT spinlocks; machine.c may use it.
 *  - irq-inversion: a class taken in hard irq context and also taken with
 *    interrupts enabled (lockdep's "inconsistent {IN-HARDIRQ-W} ->
 *    {HARDIRQ-ON-W} usage"), reported once per class with both sites.
 *    A trylock in hard irq does not count as irq usage (it cannot deadlock
 *    on the interrupted holder; the kernel's pcp_spin_trylock relies on it).
 *    Tracked for raw spinlocks and non-RT spinlocks (a sleeping lock in hard
 *    irq is an invalid wait context already; a mutex there sleeps in atomic).
 *
 * Class ids are process-wide: a class is registered on first use by a
 * compare-exchange of its id from 0 to CLASS_CLAIMED, then given the next
 * number; the registry keeps class pointers (for names), so classes must have
 * static storage duration.  The graph and the irq-usage state belong to the
 * machine (struct mmt_lockdep), so a finding reproduces from one execution.
 *
 * Locks: ld->mu (a pthread mutex, outside the model's lock model) guards
 * writes to the graph and the usage state.  Readers on the fast path check
 * "edge already known" / "usage already recorded" with acquire loads of the
 * same words (written with release under ld->mu), so a steady-state
 * acquisition takes no mutex.  Violations are reported after ld->mu is
 * released, since a violation handler may do anything.
 *
 * Invariants: the graph is acyclic; adj[a] has bit b iff an edge a->b was
 * recorded; every edge in edges[] is in adj (not conversely once edges[] is
 * full: such edges are kept without sites).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <string.h>

#include "internal.h"

/* ---- sites ---- */

const char *_mmt_short_site(const char *site)
{
	const char *last, *p;

	if (!site)
		return "?";
	last = strrchr(site, '/');
	if (!last)
		return site;
	for (p = last; p > site && p[-1] != '/'; p--)
		;
	return p;
}

/* Append to a fixed buffer, truncating silently. */
static void bufcat(char *buf, size_t len, const char *fmt, ...)
	MMT_PRINTF(3, 4);
static void bufcat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* ---- the class registry (process-wide) ---- */

#define CLASS_CLAIMED (-1) /* being registered by another thread */
#define CLASS_FULL (-2) /* the registry was full: untracked */

static struct mmt_lock_class *_Atomic registry[MMT_MAX_LOCK_CLASSES + 1];
static _Atomic int nr_classes;

static MMT_COLD int register_class(struct mmt_lock_class *cls,
				   struct mmt_machine *m)
{
	int expected = 0, id;

	/* Acquire on success pairs with nothing (we write next); on failure it
	 * is re-read below with acquire. */
	if (atomic_compare_exchange_strong_explicit(
		    &cls->id, &expected, CLASS_CLAIMED, memory_order_acquire,
		    memory_order_acquire)) {
		id = atomic_fetch_add_explicit(&nr_classes, 1,
					       memory_order_relaxed) +
		     1;
		if (id > MMT_MAX_LOCK_CLASSES) {
			atomic_store_explicit(&cls->id, CLASS_FULL,
					      memory_order_release);
			mmt_violation(
				m, "lock-class-overflow",
				"lock class %s: more than %d lock classes in the process; "
				"it is not tracked by lockdep",
				cls->name ? cls->name : "?",
				MMT_MAX_LOCK_CLASSES);
			return 0;
		}
		/* Release pairs with the acquire in _mmt_lock_class_name(). */
		atomic_store_explicit(&registry[id], cls, memory_order_release);
		/* Release pairs with the acquire loads of cls->id (fast path and
		 * the wait loop below): the registry slot is visible first. */
		atomic_store_explicit(&cls->id, id, memory_order_release);
		return id;
	}
	/* Another thread is registering it: wait (a few instructions). */
	while ((id = atomic_load_explicit(&cls->id, memory_order_acquire)) ==
	       CLASS_CLAIMED)
		sched_yield();
	return id > 0 ? id : 0;
}

int _mmt_lock_class_id(struct mmt_lock_class *cls, struct mmt_machine *m)
{
	/* Acquire pairs with the release store in register_class(). */
	int id = atomic_load_explicit(&cls->id, memory_order_acquire);

	if (MMT_LIKELY(id > 0))
		return id;
	if (id == CLASS_FULL)
		return 0;
	return register_class(cls, m);
}

const char *_mmt_lock_class_name(int id)
{
	struct mmt_lock_class *cls;

	if (id <= 0 || id > MMT_MAX_LOCK_CLASSES)
		return "?";
	/* Acquire pairs with the release store in register_class(). */
	cls = atomic_load_explicit(&registry[id], memory_order_acquire);
	return cls && cls->name ? cls->name : "?";
}

static const char *kind_name(enum mmt_lock_kind kind)
{
	switch (kind) {
	case MMT_LOCK_RAW_SPIN:
		return "raw_spinlock";
	case MMT_LOCK_SPIN:
		return "spinlock";
	case MMT_LOCK_MUTEX:
		return "mutex";
	}
	return "?";
}

static const char *lock_name(const struct mmt_lock *lock)
{
	return lock->cls && lock->cls->name ? lock->cls->name : "?";
}

/* ---- per-machine state ---- */

void _mmt_lockdep_init(struct mmt_lockdep *ld)
{
	memset(ld, 0, sizeof(*ld));
	pthread_mutex_init(&ld->mu, NULL);
}

void _mmt_lockdep_destroy(struct mmt_lockdep *ld)
{
	pthread_mutex_destroy(&ld->mu);
}

/* used_in_hardirq[] / used_irqs_on[] values */
#define USAGE_SEEN 1u
#define USAGE_REPORTED 2u /* in used_in_hardirq[]: irq-inversion reported */

static bool adj_test(struct mmt_lockdep *ld, int from, int to)
{
	/* Acquire pairs with the release fetch-or in add_edge(). */
	return (__atomic_load_n(&ld->adj[from][to / 64], __ATOMIC_ACQUIRE) >>
		(to % 64)) &
	       1;
}

/* Under ld->mu. */
static void add_edge(struct mmt_lockdep *ld, int from, int to,
		     const char *from_site, const char *to_site)
{
	if (ld->nr_edges < MMT_MAX_LOCK_EDGES) {
		struct mmt_lock_edge *e = &ld->edges[ld->nr_edges++];

		e->from = from;
		e->to = to;
		e->from_site = from_site;
		e->to_site = to_site;
	}
	/* Release: the edge's sites are written before a lock-free reader can
	 * see the bit (pairs with the acquire in adj_test()). */
	__atomic_fetch_or(&ld->adj[from][to / 64], 1ull << (to % 64),
			  __ATOMIC_RELEASE);
}

/* Under ld->mu. */
static const struct mmt_lock_edge *find_edge(struct mmt_lockdep *ld, int from,
					     int to)
{
	int i;

	for (i = 0; i < ld->nr_edges; i++)
		if (ld->edges[i].from == from && ld->edges[i].to == to)
			return &ld->edges[i];
	return NULL;
}

/*
 * Under ld->mu.  Breadth-first search from @from to @to; on success fills
 * @path with the class ids from..to and returns its length, else 0.
 */
static int find_path(struct mmt_lockdep *ld, int from, int to, int *path)
{
	int parent[MMT_MAX_LOCK_CLASSES + 1];
	int queue[MMT_MAX_LOCK_CLASSES + 1];
	int head = 0, tail = 0, n, v, i;

	for (i = 0; i <= MMT_MAX_LOCK_CLASSES; i++)
		parent[i] = -1;
	parent[from] = from;
	queue[tail++] = from;
	while (head < tail) {
		int a = queue[head++];

		for (i = 0; i < (int)MMT_ARRAY_SIZE(ld->adj[a]); i++) {
			uint64_t w = ld->adj[a][i];

			while (w) {
				int b = i * 64 + __builtin_ctzll(w);

				w &= w - 1;
				if (b > MMT_MAX_LOCK_CLASSES || parent[b] >= 0)
					continue;
				parent[b] = a;
				if (b == to)
					goto found;
				queue[tail++] = b;
			}
		}
	}
	return 0;
found:
	/* Walk back to count, then fill forwards. */
	n = 1;
	for (v = to; v != from; v = parent[v])
		n++;
	for (v = to, i = n - 1; i >= 0; v = parent[v], i--)
		path[i] = v;
	return n;
}

/* ---- context ---- */

static int held_preempt_count(const struct mmt_task *t)
{
	int i, n = 0;

	for (i = 0; i < t->nr_held; i++)
		if (t->held[i].counted_preempt)
			n += MMT_PREEMPT_OFFSET;
	return n;
}

/* Innermost held lock of @kind, or NULL. */
static const struct mmt_held_lock *held_of_kind(const struct mmt_task *t,
						enum mmt_lock_kind kind)
{
	int i;

	for (i = t->nr_held - 1; i >= 0; i--)
		if (t->held[i].lock->cls && t->held[i].lock->cls->kind == kind)
			return &t->held[i];
	return NULL;
}

static void append_held(char *buf, size_t len, const struct mmt_task *t)
{
	int i;

	if (!t->nr_held) {
		bufcat(buf, len, "; no locks held");
		return;
	}
	bufcat(buf, len, "; held:");
	for (i = 0; i < t->nr_held; i++)
		bufcat(buf, len, "%s %s (%s)", i ? "," : "",
		       lock_name(t->held[i].lock),
		       _mmt_short_site(t->held[i].site));
}

static _Thread_local char why_buf[192];

bool _mmt_lockdep_can_sleep(struct mmt_cpu *cpu, const char **why)
{
	int pc = cpu->preempt_count;
	const struct mmt_task *t = cpu->curr;
	const struct mmt_held_lock *h;
	const char *w;

	if (MMT_LIKELY(!pc && !cpu->irq_disable_depth))
		return true;
	if (pc & MMT_HARDIRQ_MASK) {
		w = "in hard irq context";
	} else if (pc & MMT_SOFTIRQ_OFFSET) {
		w = "in softirq context";
	} else if (t && (h = held_of_kind(t, MMT_LOCK_RAW_SPIN)) &&
		   h->counted_preempt) {
		snprintf(why_buf, sizeof(why_buf),
			 "raw spinlock %s held (taken at %s)",
			 lock_name(h->lock), _mmt_short_site(h->site));
		w = why_buf;
	} else if (t && (h = held_of_kind(t, MMT_LOCK_SPIN)) &&
		   h->counted_preempt) {
		snprintf(why_buf, sizeof(why_buf),
			 "spinlock %s held (taken at %s)", lock_name(h->lock),
			 _mmt_short_site(h->site));
		w = why_buf;
	} else if (pc & MMT_PREEMPT_MASK) {
		snprintf(why_buf, sizeof(why_buf),
			 "preemption disabled (preempt_count 0x%x)", pc);
		w = why_buf;
	} else if (pc & MMT_SOFTIRQ_MASK) {
		w = "bottom halves disabled";
	} else {
		w = "interrupts disabled";
	}
	if (why)
		*why = w;
	return false;
}

/*
 * A spinlock_t where it may not sleep (RT) / inside a raw lock or hard irq
 * (PROVE_RAW_LOCK_NESTING).  Returns the reason, or NULL if allowed.
 */
static const char *spin_wait_context(struct mmt_cpu *cpu, bool rt, bool trylock)
{
	const struct mmt_task *t = cpu->curr;
	const struct mmt_held_lock *raw = held_of_kind(t, MMT_LOCK_RAW_SPIN);
	int pc = cpu->preempt_count;
	int explicit_preempt = (pc & MMT_PREEMPT_MASK) - held_preempt_count(t);

	if (trylock) /* never waits; still no spinlock_t in hard irq */
		return (pc & MMT_HARDIRQ_MASK) ? "in hard irq context" : NULL;
	if (raw) {
		snprintf(why_buf, sizeof(why_buf),
			 "raw spinlock %s is held (taken at %s)",
			 lock_name(raw->lock), _mmt_short_site(raw->site));
		return why_buf;
	}
	if (pc & MMT_HARDIRQ_MASK)
		return "in hard irq context";
	if (!rt)
		return NULL;
	if (explicit_preempt > 0) {
		snprintf(why_buf, sizeof(why_buf),
			 "preemption is disabled (preempt_count 0x%x)", pc);
		return why_buf;
	}
	if (cpu->irq_disable_depth)
		return "interrupts are disabled";
	return NULL;
}

/* ---- checks before an acquisition ---- */

static MMT_COLD void report_wait_context(struct mmt_cpu *cpu,
					 struct mmt_lock *lock,
					 enum mmt_lock_kind kind,
					 const char *why, const char *site)
{
	char msg[512];

	snprintf(
		msg, sizeof(msg),
		"BUG: Invalid wait context: task %s takes %s %s at %s (a sleeping lock under %s) "
		"while %s",
		cpu->curr->name, kind_name(kind), lock_name(lock),
		_mmt_short_site(site),
		cpu->m->cfg.rt_rules ? "PREEMPT_RT rules" :
				       "PROVE_RAW_LOCK_NESTING",
		why);
	append_held(msg, sizeof(msg), cpu->curr);
	_mmt_violation(cpu->m, "invalid-wait-context", site, "%s", msg);
}

static MMT_COLD void check_order(struct mmt_cpu *cpu, int id, const char *site)
{
	struct mmt_lockdep *ld = &cpu->m->lockdep;
	const struct mmt_task *t = cpu->curr;
	int path[MMT_MAX_LOCK_CLASSES + 1];
	char msg[512];
	bool found = false;
	int i, j, n;

	pthread_mutex_lock(&ld->mu);
	for (i = 0; i < t->nr_held && !found; i++) {
		const struct mmt_held_lock *h = &t->held[i];
		int hid = h->class_id;

		if (h->irq_context != _mmt_irq_context(cpu->preempt_count))
			continue;
		if (hid <= 0 || hid == id || adj_test(ld, hid, id))
			continue;
		n = find_path(ld, id, hid, path);
		if (!n) {
			add_edge(ld, hid, id, h->site, site);
			continue;
		}
		found = true;
		snprintf(
			msg, sizeof(msg),
			"possible circular locking dependency: task %s takes %s at %s while holding "
			"%s (taken at %s); new dependency %s -> %s; existing chain:",
			t->name, _mmt_lock_class_name(id),
			_mmt_short_site(site), _mmt_lock_class_name(hid),
			_mmt_short_site(h->site), _mmt_lock_class_name(hid),
			_mmt_lock_class_name(id));
		for (j = 0; j + 1 < n; j++) {
			const struct mmt_lock_edge *e =
				find_edge(ld, path[j], path[j + 1]);

			bufcat(msg, sizeof(msg), "%s %s at %s then %s at %s",
			       j ? ";" : "", _mmt_lock_class_name(path[j]),
			       e ? _mmt_short_site(e->from_site) : "?",
			       _mmt_lock_class_name(path[j + 1]),
			       e ? _mmt_short_site(e->to_site) : "?");
		}
	}
	pthread_mutex_unlock(&ld->mu);
	if (found) {
		append_held(msg, sizeof(msg), t);
		_mmt_violation(cpu->m, "lock-inversion", site, "%s", msg);
	}
}

void _mmt_lockdep_before_acquire(struct mmt_cpu *cpu, struct mmt_lock *lock,
				 enum mmt_lock_kind kind, bool trylock,
				 const char *site)
{
	struct mmt_machine *m = cpu->m;
	const struct mmt_task *t = cpu->curr;
	const char *why;
	int id, i;
	uint8_t ctx;

	if (kind == MMT_LOCK_MUTEX) {
		/* might_sleep(): a kernel check of its own, lockdep or not. */
		if (!trylock &&
		    MMT_UNLIKELY(!_mmt_lockdep_can_sleep(cpu, &why))) {
			char msg[512];

			snprintf(
				msg, sizeof(msg),
				"sleeping function called from invalid context: task %s takes "
				"mutex %s at %s while %s (preempt_count 0x%x, irqs disabled %d)",
				t->name, lock_name(lock), _mmt_short_site(site),
				why, cpu->preempt_count,
				cpu->irq_disable_depth != 0);
			append_held(msg, sizeof(msg), t);
			_mmt_violation(m, "sleep-in-atomic", site, "%s", msg);
		} else if (!trylock && m->cfg.lockdep && m->cfg.rt_rules) {
			const struct mmt_held_lock *h =
				held_of_kind(t, MMT_LOCK_SPIN);

			if (MMT_UNLIKELY(h != NULL)) {
				snprintf(why_buf, sizeof(why_buf),
					 "spinlock %s is held (taken at %s)",
					 lock_name(h->lock),
					 _mmt_short_site(h->site));
				report_wait_context(cpu, lock, kind, why_buf,
						    site);
			}
		}
	} else if (kind == MMT_LOCK_SPIN && m->cfg.rt_rules &&
		   !m->cfg.lockdep && !trylock) {
		/* An RT spinlock is a sleeping lock: rt_spin_lock() might_sleep()s. */
		int pc = cpu->preempt_count &
			 ~MMT_SOFTIRQ_MASK; /* softirqs are threads on RT */

		if (MMT_UNLIKELY((pc || cpu->irq_disable_depth) &&
				 !_mmt_lockdep_can_sleep(cpu, &why))) {
			char msg[512];

			snprintf(
				msg, sizeof(msg),
				"sleeping function called from invalid context: task %s takes "
				"spinlock %s (sleeping under PREEMPT_RT rules) at %s while %s",
				t->name, lock_name(lock), _mmt_short_site(site),
				why);
			append_held(msg, sizeof(msg), t);
			_mmt_violation(m, "sleep-in-atomic", site, "%s", msg);
		}
	}
	if (!m->cfg.lockdep)
		return;

	if (kind == MMT_LOCK_SPIN &&
	    (m->cfg.rt_rules || m->cfg.prove_raw_lock_nesting)) {
		why = spin_wait_context(cpu, m->cfg.rt_rules, trylock);
		if (MMT_UNLIKELY(why != NULL))
			report_wait_context(cpu, lock, kind, why, site);
	}

	id = _mmt_lock_class_id(lock->cls, m);
	if (!id || trylock || !t->nr_held)
		return;
	ctx = _mmt_irq_context(cpu->preempt_count);
	for (i = 0; i < t->nr_held; i++) {
		const struct mmt_held_lock *h = &t->held[i];

		if (h->irq_context != ctx)
			continue;
		if (h->class_id == id && h->lock != lock) {
			char msg[512];

			snprintf(
				msg, sizeof(msg),
				"possible recursive locking: task %s takes %s at %s while holding "
				"another lock of the same class (taken at %s)",
				t->name, lock_name(lock), _mmt_short_site(site),
				_mmt_short_site(h->site));
			append_held(msg, sizeof(msg), t);
			_mmt_violation(m, "lock-recursion", site, "%s", msg);
			break;
		}
	}
	/* Fast path: every edge from a held class is already known. */
	for (i = 0; i < t->nr_held; i++) {
		int hid = t->held[i].class_id;

		if (t->held[i].irq_context != ctx)
			continue;
		if (hid > 0 && hid != id && !adj_test(&m->lockdep, hid, id)) {
			check_order(cpu, id, site);
			break;
		}
	}
}

/* ---- irq usage after an acquisition ---- */

void _mmt_lockdep_after_acquire(struct mmt_cpu *cpu, struct mmt_lock *lock,
				enum mmt_lock_kind kind, bool trylock,
				const char *site)
{
	struct mmt_machine *m = cpu->m;
	struct mmt_lockdep *ld = &m->lockdep;
	bool hardirq = (cpu->preempt_count & MMT_HARDIRQ_MASK) != 0;
	bool irqs_on = !hardirq && !cpu->irq_disable_depth;
	uint8_t *mine;
	const char **mine_site;
	char msg[512];
	bool report = false;
	int id;

	if (!m->cfg.lockdep || kind == MMT_LOCK_MUTEX ||
	    (kind == MMT_LOCK_SPIN && m->cfg.rt_rules))
		return;
	if (!hardirq && !irqs_on)
		return; /* irqs disabled in process context: always safe */
	if (hardirq && trylock)
		return; /* a trylock in an interrupt cannot deadlock on its holder */
	id = _mmt_lock_class_id(lock->cls, m);
	if (!id)
		return;
	mine = hardirq ? &ld->used_in_hardirq[id] : &ld->used_irqs_on[id];
	mine_site = hardirq ? &ld->hardirq_site[id] : &ld->irqs_on_site[id];
	/* Acquire pairs with the release store below: usage already recorded. */
	if (MMT_LIKELY(__atomic_load_n(mine, __ATOMIC_ACQUIRE) & USAGE_SEEN))
		return;

	pthread_mutex_lock(&ld->mu);
	if (!(*mine & USAGE_SEEN)) {
		*mine_site = site;
		/* Release: the site is written before the flag (see above). */
		__atomic_store_n(mine, (uint8_t)(*mine | USAGE_SEEN),
				 __ATOMIC_RELEASE);
	}
	if ((ld->used_in_hardirq[id] & USAGE_SEEN) &&
	    (ld->used_irqs_on[id] & USAGE_SEEN) &&
	    !(ld->used_in_hardirq[id] & USAGE_REPORTED)) {
		__atomic_store_n(&ld->used_in_hardirq[id],
				 (uint8_t)(ld->used_in_hardirq[id] |
					   USAGE_REPORTED),
				 __ATOMIC_RELEASE);
		report = true;
		snprintf(
			msg, sizeof(msg),
			"inconsistent lock state {IN-HARDIRQ} -> {HARDIRQ-ON}: %s %s is taken in "
			"hard irq context at %s and with interrupts enabled at %s (task %s), so an "
			"interrupt can deadlock on it",
			kind_name(kind), _mmt_lock_class_name(id),
			_mmt_short_site(ld->hardirq_site[id]),
			_mmt_short_site(ld->irqs_on_site[id]), cpu->curr->name);
	}
	pthread_mutex_unlock(&ld->mu);
	if (report) {
		append_held(msg, sizeof(msg), cpu->curr);
		_mmt_violation(m, "irq-inversion", site, "%s", msg);
	}
}

/* ---- reports ---- */

void _mmt_task_report_held_locks(const struct mmt_task *t, FILE *out)
{
	int i;

	if (!t->nr_held) {
		fprintf(out, "    task %s holds no locks\n", t->name);
		return;
	}
	fprintf(out, "    task %s holds %d lock(s):\n", t->name, t->nr_held);
	for (i = 0; i < t->nr_held; i++) {
		const struct mmt_held_lock *h = &t->held[i];

		fprintf(out, "      #%d: %s %s (%p) taken at %s%s\n", i,
			h->lock->cls ? kind_name(h->lock->cls->kind) : "lock",
			lock_name(h->lock), (void *)h->lock,
			h->site ? h->site : "?",
			h->irqsave ? " with irqsave" : "");
	}
}
