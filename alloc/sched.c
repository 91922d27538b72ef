/* SPDX-License-Identifier: MIT */
/*
 * alloc/sched.c - sleeping, waking and time (mmt/sched.h): wait queues on a
 * model clock, kernel threads, and the detector that reports a deadlock or
 * a stall instead of letting the process hang.
 *
 * What it models.  Tasks that sleep leave their CPU: a task is a real
 * thread, and a CPU is a resource it holds while it runs.  A waiting task
 * registers on a wait queue, checks its condition on its CPU, gives the CPU
 * up and blocks; woken, it takes whichever CPU is free and checks again
 * (the kernel's prepare_to_wait / schedule / finish_wait loop).
 *
 * Time.  jiffies is model time.  It moves when asked (mmt_advance_time) or
 * when nothing can run: the moment no thread holds a CPU and none waits for
 * one while tasks are blocked, the clock jumps to the earliest deadline and
 * those waits time out - a discrete-event simulation, so a 5 s
 * io_schedule_timeout() costs no real time.
 *
 * Detection.  At that same moment, if no blocked task has a deadline,
 * nothing can ever wake anyone: "deadlock", reported with every blocked
 * task, the queue it waits on and what the queue says it waits for (its
 * describe() callback: a mempool names who holds its elements).  If the
 * clock jumps past cfg.stall_jiffies since the last forward progress
 * (mmt_sched_progress) while memory is under pressure (a zone below its
 * low watermark, or always with cfg.stall_without_pressure: a machine
 * without kthreads, whose one thread can only time out), it is a livelock
 * of timed waits: "stall".  Either
 * way the machine is marked failed and every wait, now or later, returns
 * MMT_WAIT_DEADLOCK so the code unwinds.  A thread blocked longer than
 * cfg.wait_real_ms of real time (something outside the model holds it) is
 * reported as a stall too: never a hang.
 *
 * Accounting (all under sched->mu): nr_running threads hold a CPU (the
 * machine's attach/detach call _mmt_sched_cpu_attached/_released, so every
 * thread counts, kthread or not); nr_cpu_waiters are runnable but waiting
 * for a CPU (woken waiters, starting kthreads); nr_away are threads that
 * left their CPU to wait for another model thread outside the wait API
 * (mmt_kthread_stop joining) and will come back; nr_blocked wait on a
 * queue.  "Nothing can run" is nr_running + nr_cpu_waiters + nr_away == 0
 * with nr_blocked > 0.  A waker moves a blocked waiter to the CPU waiters
 * in the same critical section, so the count never shows a woken task as
 * blocked.
 *
 * Invariants: a waiter is on at most one queue; blocked implies on the
 * blocked list; woken waiters are counted in nr_cpu_waiters until they hold
 * a CPU again; once failed, no wait sleeps.
 *
 * Locks: sched->mu is a host mutex outside the model's lock model (waits
 * require that the caller holds no model lock); wait queue lists are
 * protected by it too.  Under it only host leaves are taken: the violation
 * log's mutex and, through a queue's describe(), a mempool's track_mu.
 * Condition callbacks run on a CPU without it.
 *
 * Thread engine (mmt/engine.h).  With an engine attached, kthreads are the
 * engine's threads (spawn/join instead of pthread_create/join), a blocked
 * waiter parks instead of waiting on its condition variable (the waker
 * unparks it where it would signal), and a thread waiting for a CPU parks
 * on the cpu_waiters list, unparked when a CPU is released.  sched->mu is
 * always released before a park; unpark never switches, so it is called
 * under it.  Everything else - the counts, the deadlines, resolve_locked()
 * jumping the clock or reporting the deadlock - is the same code for both:
 * the engine's blocking is exact because the model says who is blocked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define NO_DEADLINE UINT64_MAX

struct mmt_waiter {
	struct mmt_waiter *next, *prev; /* on wq->waiters */
	struct mmt_waiter *bnext, *bprev; /* on sched->blocked */
	struct mmt_task *task;
	struct mmt_waitqueue *wq;
	pthread_cond_t cv;
	struct mmt_thread *thr; /* with an engine: who to unpark */
	uint64_t deadline; /* jiffies or NO_DEADLINE */
	uint64_t since; /* jiffies when it blocked */
	bool woken, blocked, queued;
	bool io; /* io_schedule: waiting for I/O */
};

struct mmt_kthread {
	struct mmt_machine *m;
	struct mmt_task *task;
	pthread_t thread;
	struct mmt_thread *ethr; /* with an engine: its thread */
	void (*fn)(void *arg);
	void *arg;
	_Atomic bool stop;
	struct mmt_waiter *waiter; /* current wait, under sched->mu */
};

struct mmt_sched_state {
	pthread_mutex_t mu;
	pthread_cond_t cpu_cv; /* a CPU was released */
	uint64_t cpu_gen; /* releases so far (lost-wakeup guard) */
	_Atomic uint64_t jiffies;
	int nr_running, nr_cpu_waiters, nr_away, nr_blocked;
	struct mmt_waiter *blocked;
	_Atomic bool failed;
	_Atomic uint64_t last_progress; /* jiffies of the last progress */
	_Atomic unsigned long progress;
	/* thread engine, NULL: real threads */
	const struct mmt_engine_ops *eops;
	void *eng;
	struct cpu_waiter *cpu_waiters; /* parked for a CPU (engine) */
};

/* A thread parked for a free CPU (engine only), on its own stack. */
struct cpu_waiter {
	struct mmt_thread *thr;
	struct cpu_waiter *next, **pprev;
};

_Thread_local struct mmt_kthread *_mmt_this_kthread;

static inline struct mmt_sched_state *S(const struct mmt_machine *m)
{
	return m->sched;
}

/* ---- queues ---- */

void mmt_waitqueue_init(struct mmt_waitqueue *wq, const char *name)
{
	memset(wq, 0, sizeof(*wq));
	wq->name = name;
	pthread_mutex_init(&wq->mu, NULL);
}

void mmt_waitqueue_destroy(struct mmt_waitqueue *wq)
{
	pthread_mutex_destroy(&wq->mu);
}

static void wq_add(struct mmt_waitqueue *wq, struct mmt_waiter *w)
{
	w->wq = wq;
	w->prev = NULL;
	w->next = wq->waiters;
	if (w->next)
		w->next->prev = w;
	wq->waiters = w;
	w->queued = true;
}

static void wq_del(struct mmt_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		w->wq->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->queued = false;
}

static void blocked_add(struct mmt_sched_state *s, struct mmt_waiter *w)
{
	w->bprev = NULL;
	w->bnext = s->blocked;
	if (w->bnext)
		w->bnext->bprev = w;
	s->blocked = w;
	w->blocked = true;
	s->nr_blocked++;
}

static void blocked_del(struct mmt_sched_state *s, struct mmt_waiter *w)
{
	if (w->bprev)
		w->bprev->bnext = w->bnext;
	else
		s->blocked = w->bnext;
	if (w->bnext)
		w->bnext->bprev = w->bprev;
	w->blocked = false;
	s->nr_blocked--;
}

/* Wake @w (sched->mu held): from blocked to waiting for a CPU. */
static void wake_locked(struct mmt_sched_state *s, struct mmt_waiter *w)
{
	if (w->woken)
		return;
	w->woken = true;
	if (w->blocked) {
		blocked_del(s, w);
		s->nr_cpu_waiters++;
	}
	if (s->eops)
		s->eops->unpark(s->eng, w->thr);
	else
		pthread_cond_signal(&w->cv);
}

/* ---- the detector ---- */

static void describe_blocked(struct mmt_sched_state *s, char *buf, size_t len)
{
	struct mmt_waiter *w;
	size_t used = 0;

	buf[0] = '\0';
	for (w = s->blocked; w && used + 1 < len; w = w->bnext) {
		char what[300] = "", paren[310] = "";

		if (w->wq && w->wq->describe)
			w->wq->describe(w->wq, what, sizeof(what));
		if (what[0])
			snprintf(paren, sizeof(paren), " (%s)", what);
		used += (size_t)snprintf(
			buf + used, len - used,
			"%stask %s waits on %s%s since jiffy %llu%s",
			used ? "; " : "", w->task->name,
			w->wq ? w->wq->name : "?", paren,
			(unsigned long long)w->since,
			w->deadline == NO_DEADLINE ? ", no timeout" : "");
	}
}

/* Report and unwind everything (sched->mu held). */
static void fail_locked(struct mmt_machine *m, const char *check,
			const char *fmt_prefix)
{
	struct mmt_sched_state *s = S(m);
	char chain[1400];

	describe_blocked(s, chain, sizeof(chain));
	atomic_store_explicit(&s->failed, true, memory_order_release);
	/*
	 * The report takes the violation log's own mutex, never sched->mu
	 * again; the dump it makes reads no scheduler state.
	 */
	_mmt_violation(m, check, MMT_SITE, "%s: %s", fmt_prefix, chain);
	while (s->blocked)
		wake_locked(s, s->blocked);
	pthread_cond_broadcast(&s->cpu_cv);
}

static void timeouts_locked(struct mmt_sched_state *s)
{
	uint64_t now = atomic_load_explicit(&s->jiffies, memory_order_relaxed);
	struct mmt_waiter *w = s->blocked, *next;

	for (; w; w = next) {
		next = w->bnext;
		if (w->deadline <= now)
			wake_locked(s, w);
	}
}

/*
 * Memory pressure: some zone below its low watermark.  A long quiet spell
 * without pressure is a machine at rest (a long sleep), not a stall.
 */
static bool under_pressure(const struct mmt_machine *m)
{
	int z;

	for (z = 0; z < m->nr_zones; z++) {
		const struct mmt_zone *zone = &m->zones[z];

		if (atomic_load_explicit(&zone->nr_free_pages,
					 memory_order_relaxed) <
		    (long)zone->watermark[MMT_WMARK_LOW])
			return true;
	}
	return false;
}

static uint64_t earliest_deadline_locked(struct mmt_sched_state *s)
{
	uint64_t earliest = NO_DEADLINE;
	struct mmt_waiter *w;

	for (w = s->blocked; w; w = w->bnext)
		if (w->deadline < earliest)
			earliest = w->deadline;
	return earliest;
}

static void jump_locked(struct mmt_machine *m, uint64_t earliest);

/* Nothing can run: jump the clock, or report the deadlock. */
static void resolve_locked(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);
	uint64_t earliest;
	char what[96];

	if (s->nr_running || s->nr_cpu_waiters || s->nr_away ||
	    !s->nr_blocked ||
	    atomic_load_explicit(&s->failed, memory_order_relaxed))
		return;
	earliest = earliest_deadline_locked(s);
	if (earliest == NO_DEADLINE) {
		snprintf(
			what, sizeof(what),
			"every task is blocked and no timer can wake one (%d task(s))",
			s->nr_blocked);
		fail_locked(m, "deadlock", what);
		return;
	}
	jump_locked(m, earliest);
}

bool mmt_engine_spin_time(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);
	uint64_t earliest;
	bool moved = false;

	pthread_mutex_lock(&s->mu);
	if (!atomic_load_explicit(&s->failed, memory_order_relaxed)) {
		earliest = earliest_deadline_locked(s);
		if (earliest != NO_DEADLINE) {
			jump_locked(m, earliest);
			moved = true;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return moved;
}

/* Move the clock to @earliest (a deadline), check for a stall, time out. */
static void jump_locked(struct mmt_machine *m, uint64_t earliest)
{
	struct mmt_sched_state *s = S(m);
	uint64_t now, quiet;
	char what[96];

	now = atomic_load_explicit(&s->jiffies, memory_order_relaxed);
	if (earliest > now) {
		atomic_store_explicit(&s->jiffies, earliest,
				      memory_order_relaxed);
		now = earliest;
	}
	quiet = now -
		atomic_load_explicit(&s->last_progress, memory_order_relaxed);
	if (quiet >= m->cfg.stall_jiffies &&
	    (m->cfg.stall_without_pressure || under_pressure(m))) {
		snprintf(what, sizeof(what),
			 "no forward progress for %llu jiffies (limit %lu)",
			 (unsigned long long)quiet, m->cfg.stall_jiffies);
		fail_locked(m, "stall", what);
		return;
	}
	timeouts_locked(s);
}

void _mmt_sched_cpu_attached(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->nr_running++;
	pthread_mutex_unlock(&s->mu);
}

/* A CPU may be free now: threads waiting for one look again. */
static void cpu_waiters_look_again_locked(struct mmt_sched_state *s)
{
	s->cpu_gen++;
	pthread_cond_broadcast(&s->cpu_cv);
	for (struct cpu_waiter *cw = s->cpu_waiters; cw; cw = cw->next)
		s->eops->unpark(s->eng, cw->thr);
}

void _mmt_sched_cpu_released(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->nr_running--;
	cpu_waiters_look_again_locked(s);
	resolve_locked(m);
	pthread_mutex_unlock(&s->mu);
}

void _mmt_sched_away(struct mmt_machine *m, int delta)
{
	struct mmt_sched_state *s = S(m);

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->nr_away += delta;
	pthread_mutex_unlock(&s->mu);
}

void mmt_sched_progress(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);

	atomic_fetch_add_explicit(&s->progress, 1, memory_order_relaxed);
	atomic_store_explicit(&s->last_progress,
			      atomic_load_explicit(&s->jiffies,
						   memory_order_relaxed),
			      memory_order_relaxed);
}

bool mmt_sched_failed(const struct mmt_machine *m)
{
	return atomic_load_explicit(&S(m)->failed, memory_order_acquire);
}

uint64_t mmt_jiffies(const struct mmt_machine *m)
{
	return atomic_load_explicit(&S(m)->jiffies, memory_order_relaxed);
}

void mmt_advance_time(struct mmt_machine *m, long ticks)
{
	struct mmt_sched_state *s = S(m);

	if (ticks <= 0)
		return;
	pthread_mutex_lock(&s->mu);
	atomic_fetch_add_explicit(&s->jiffies, (uint64_t)ticks,
				  memory_order_relaxed);
	timeouts_locked(s);
	pthread_mutex_unlock(&s->mu);
}

/* ---- CPUs for sleeping threads ---- */

static struct timespec real_deadline(unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000l;
	if (ts.tv_nsec >= 1000000000l) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000l;
	}
	return ts;
}

/* CPU @want for @t, or any free online CPU when @want < 0. */
static bool try_any_cpu(struct mmt_machine *m, struct mmt_task *t, int want)
{
	int c;

	if (want >= 0)
		return _mmt_cpu_try_attach(m, want, t);
	for (c = 0; c < m->nr_cpus; c++)
		if (_mmt_cpu_try_attach(m, c, t))
			return true;
	return false;
}

/*
 * acquire_cpu() under a thread engine: park on cpu_waiters until a CPU is
 * released or comes online (no switch can come between the failed attempt
 * and the park: every thread of the engine runs on this host thread).
 * False, not attached, when CPU @want goes offline meanwhile (only
 * waiting for its cpu_online could mend that: the caller decides).
 */
static bool engine_acquire_cpu(struct mmt_machine *m, struct mmt_task *t,
			       int want)
{
	struct mmt_sched_state *s = S(m);
	struct cpu_waiter cw = { .thr = s->eops->self(s->eng) };

	while (!try_any_cpu(m, t, want)) {
		bool ok;

		if (want >= 0 && !atomic_load_explicit(&m->cpus[want].online,
						       memory_order_acquire)) {
			pthread_mutex_lock(&s->mu);
			s->nr_cpu_waiters--;
			resolve_locked(m);
			pthread_mutex_unlock(&s->mu);
			return false;
		}

		pthread_mutex_lock(&s->mu);
		cw.next = s->cpu_waiters;
		if (cw.next)
			cw.next->pprev = &cw.next;
		cw.pprev = &s->cpu_waiters;
		s->cpu_waiters = &cw;
		pthread_mutex_unlock(&s->mu);
		ok = s->eops->park(s->eng, "a free CPU");
		pthread_mutex_lock(&s->mu);
		*cw.pprev = cw.next;
		if (cw.next)
			cw.next->pprev = cw.pprev;
		pthread_mutex_unlock(&s->mu);
		if (!ok) {
			/* Only the host context gets here: a harness error. */
			fprintf(stderr,
				"mmtorture: task %s waits for a CPU that no thread "
				"of the engine can ever release\n",
				t->name);
			abort();
		}
	}
	pthread_mutex_lock(&s->mu);
	s->nr_cpu_waiters--;
	pthread_mutex_unlock(&s->mu);
	return true;
}

/*
 * Take any free online CPU for @t; the caller is counted in
 * nr_cpu_waiters and stops being counted once it holds one (or, under an
 * engine, once CPU @want went offline: false).
 */
static bool acquire_cpu_want(struct mmt_machine *m, struct mmt_task *t,
			     int want)
{
	struct mmt_sched_state *s = S(m);

	if (s->eops)
		return engine_acquire_cpu(m, t, want);
	for (;;) {
		uint64_t gen;
		int c;

		pthread_mutex_lock(&s->mu);
		gen = s->cpu_gen;
		pthread_mutex_unlock(&s->mu);
		for (c = 0; c < m->nr_cpus; c++) {
			if (want >= 0 && c != want)
				continue;
			if (_mmt_cpu_try_attach(m, c, t)) {
				pthread_mutex_lock(&s->mu);
				s->nr_cpu_waiters--;
				pthread_mutex_unlock(&s->mu);
				return true;
			}
		}
		pthread_mutex_lock(&s->mu);
		while (gen == s->cpu_gen) {
			struct timespec ts = real_deadline(100);

			/* Bounded: a CPU freed by an offline/online change
			 * does not bump cpu_gen. */
			if (pthread_cond_timedwait(&s->cpu_cv, &s->mu, &ts) ==
			    ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&s->mu);
	}
}

static void acquire_cpu(struct mmt_machine *m, struct mmt_task *t)
{
	acquire_cpu_want(m, t, -1);
}

bool mmt_cpu_attach_wait(struct mmt_machine *m, int cpu, struct mmt_task *t)
{
	/* What waiting cannot mend, mmt_cpu_attach() reports. */
	if (cpu < 0 || cpu >= m->nr_cpus || !t || t->m != m || _mmt_this_cpu ||
	    t->cpu >= 0 ||
	    !atomic_load_explicit(&m->cpus[cpu].online, memory_order_acquire))
		return mmt_cpu_attach(m, cpu, t);
	if (_mmt_cpu_try_attach(m, cpu, t))
		return true;
	pthread_mutex_lock(&S(m)->mu);
	S(m)->nr_cpu_waiters++;
	pthread_mutex_unlock(&S(m)->mu);
	return acquire_cpu_want(m, t, cpu);
}

void _mmt_sched_cpu_onlined(struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	cpu_waiters_look_again_locked(s);
	pthread_mutex_unlock(&s->mu);
}

/*
 * cpu_offline() of a CPU that another thread is on, under a thread engine:
 * the CPU is out of the online mask already (no thread takes it any more:
 * a woken task, a kthread, comes back on another), and the caller waits,
 * parked on its own CPU, until the threads on it leave - at their next
 * wait, or at the end of their operation for a task that came back there
 * from a wait - as the kernel's hotplug waits for the CPU's tasks to be
 * migrated.  The thread there holds nothing the caller could hold (a
 * hotplug operation runs between operations, with no model lock), so it
 * always gets to leave.  False without an engine (the caller checks
 * _mmt_sched_engine() first and reports "cpu-busy"), or when the host
 * context waits and no thread can run.
 */
bool _mmt_sched_engine(const struct mmt_machine *m)
{
	return S(m) && S(m)->eops;
}

bool _mmt_sched_wait_cpu_left(struct mmt_machine *m, int cpu)
{
	struct mmt_sched_state *s = S(m);
	struct cpu_waiter cw;

	if (!s || !s->eops)
		return false;
	cw.thr = s->eops->self(s->eng);
	while (atomic_load_explicit(&m->cpus[cpu].owner,
				    memory_order_acquire)) {
		bool ok;

		pthread_mutex_lock(&s->mu);
		cw.next = s->cpu_waiters;
		if (cw.next)
			cw.next->pprev = &cw.next;
		cw.pprev = &s->cpu_waiters;
		s->cpu_waiters = &cw;
		pthread_mutex_unlock(&s->mu);
		ok = s->eops->park(s->eng,
				   "the CPU it takes offline to be left");
		pthread_mutex_lock(&s->mu);
		*cw.pprev = cw.next;
		if (cw.next)
			cw.next->pprev = cw.pprev;
		pthread_mutex_unlock(&s->mu);
		if (!ok)
			return false; /* the host context: nothing to wait on */
	}
	return true;
}

void mmt_cpu_attach_any(struct mmt_machine *m, struct mmt_task *t)
{
	pthread_mutex_lock(&S(m)->mu);
	S(m)->nr_cpu_waiters++;
	pthread_mutex_unlock(&S(m)->mu);
	acquire_cpu(m, t);
}

/* ---- waiting ---- */

/* Can the current context sleep?  Reports (might_sleep) when it cannot. */
static bool can_sleep(struct mmt_cpu *cpu)
{
	if (MMT_LIKELY(!cpu->preempt_count && !cpu->irq_disable_depth &&
		       !_mmt_task_pinned_by_locks(cpu->curr)))
		return true;
	_mmt_might_sleep(MMT_SITE);
	if (_mmt_task_pinned_by_locks(cpu->curr) && !cpu->preempt_count &&
	    !cpu->irq_disable_depth)
		mmt_violation(
			cpu->m, "sleep-in-atomic",
			"task %s sleeps holding %d lock(s): the model cannot leave the CPU",
			cpu->curr->name, cpu->curr->nr_held);
	return false;
}

static enum mmt_wait_result do_wait(struct mmt_waitqueue *wq,
				    bool (*cond)(void *arg), void *arg,
				    long timeout, long *remaining, bool io)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct mmt_machine *m = cpu->m;
	struct mmt_sched_state *s = S(m);
	struct mmt_task *t = cpu->curr;
	struct mmt_kthread *k = _mmt_this_kthread;
	struct mmt_waiter w;
	enum mmt_wait_result res;
	uint64_t start = mmt_jiffies(m);

	/* Every wait may sleep, whether this one will or not. */
	t->sleep_points++;
	memset(&w, 0, sizeof(w));
	w.task = t;
	w.io = io;
	w.deadline = timeout < 0 ? NO_DEADLINE : start + (uint64_t)timeout;
	if (s->eops)
		w.thr = s->eops->self(s->eng);
	else
		pthread_cond_init(&w.cv, NULL);
	for (;;) {
		bool done;

		/* A condition that holds wins over a stop or a failure. */
		if (cond && cond(arg)) {
			res = MMT_WAIT_DONE;
			break;
		}
		if (mmt_sched_failed(m)) {
			res = MMT_WAIT_DEADLOCK;
			break;
		}
		if (k && atomic_load_explicit(&k->stop, memory_order_acquire)) {
			res = MMT_WAIT_STOPPED;
			break;
		}
		if (!can_sleep(cpu)) {
			res = cond && cond(arg) ? MMT_WAIT_DONE :
						  MMT_WAIT_TIMEOUT;
			break;
		}
		pthread_mutex_lock(&s->mu);
		w.woken = false;
		wq_add(wq, &w);
		if (k)
			k->waiter = &w;
		pthread_mutex_unlock(&s->mu);

		done = cond && cond(arg);

		pthread_mutex_lock(&s->mu);
		if (done || w.woken || mmt_jiffies(m) >= w.deadline ||
		    atomic_load_explicit(&s->failed, memory_order_relaxed) ||
		    (k &&
		     atomic_load_explicit(&k->stop, memory_order_relaxed))) {
			wq_del(&w);
			if (k)
				k->waiter = NULL;
			pthread_mutex_unlock(&s->mu);
			if (done) {
				res = MMT_WAIT_DONE;
				break;
			}
			if (!w.woken && mmt_jiffies(m) >= w.deadline) {
				res = MMT_WAIT_TIMEOUT;
				break;
			}
			continue; /* woken, failed or stopped: look again */
		}
		w.since = mmt_jiffies(m);
		blocked_add(s, &w);
		pthread_mutex_unlock(&s->mu);

		/* Leave the CPU: another task may run (this may resolve). */
		mmt_cpu_detach();

		pthread_mutex_lock(&s->mu);
		while (s->eops && !w.woken) {
			bool ok;

			/* Exact: parked until a wake, a timeout or a failure
			 * (all three unpark through wake_locked()). */
			pthread_mutex_unlock(&s->mu);
			ok = s->eops->park(s->eng, wq->name);
			pthread_mutex_lock(&s->mu);
			if (!ok && !w.woken) {
				char what[160];

				snprintf(
					what, sizeof(what),
					"task %s waits on %s and no thread of the engine "
					"can run to wake it",
					t->name, wq->name);
				fail_locked(m, "deadlock", what);
			}
		}
		while (!w.woken) {
			struct timespec ts = real_deadline(m->cfg.wait_real_ms);

			if (pthread_cond_timedwait(&w.cv, &s->mu, &ts) ==
				    ETIMEDOUT &&
			    !w.woken) {
				char what[160];

				snprintf(
					what, sizeof(what),
					"task %s waited %u ms of real time on %s (a thread outside "
					"the model holds it?)",
					t->name, m->cfg.wait_real_ms, wq->name);
				fail_locked(m, "stall", what);
			}
		}
		wq_del(&w);
		if (k)
			k->waiter = NULL;
		pthread_mutex_unlock(&s->mu);
		acquire_cpu(m, t); /* counted as a CPU waiter by the waker */
		cpu = _mmt_this_cpu;
	}
	if (!s->eops)
		pthread_cond_destroy(&w.cv);
	if (remaining) {
		uint64_t now = mmt_jiffies(m);

		*remaining = w.deadline == NO_DEADLINE ? MMT_WAIT_FOREVER :
			     now >= w.deadline	       ? 0 :
							 (long)(w.deadline - now);
	}
	return res;
}

enum mmt_wait_result mmt_wait_event_timeout(struct mmt_waitqueue *wq,
					    bool (*cond)(void *arg), void *arg,
					    long timeout, long *remaining)
{
	return do_wait(wq, cond, arg, timeout, remaining, false);
}

void mmt_wake_up(struct mmt_waitqueue *wq)
{
	struct mmt_sched_state *s = S(_mmt_cpu_or_report(MMT_SITE)->m);
	struct mmt_waiter *w;

	pthread_mutex_lock(&s->mu);
	for (w = wq->waiters; w; w = w->next)
		wake_locked(s, w);
	pthread_mutex_unlock(&s->mu);
}

bool mmt_waitqueue_active(struct mmt_waitqueue *wq)
{
	struct mmt_sched_state *s = S(_mmt_cpu_or_report(MMT_SITE)->m);
	struct mmt_waiter *w;
	bool active = false;

	pthread_mutex_lock(&s->mu);
	for (w = wq->waiters; w && !active; w = w->next)
		active = !w->woken;
	pthread_mutex_unlock(&s->mu);
	return active;
}

static enum mmt_wait_result sleep_for(long timeout, bool io)
{
	struct mmt_waitqueue q;
	enum mmt_wait_result r;

	mmt_waitqueue_init(&q, io ? "io_schedule_timeout" : "schedule_timeout");
	r = do_wait(&q, NULL, NULL, timeout, NULL, io);
	mmt_waitqueue_destroy(&q);
	return r;
}

enum mmt_wait_result mmt_schedule_timeout(long timeout)
{
	return sleep_for(timeout, false);
}

enum mmt_wait_result mmt_io_schedule_timeout(long timeout)
{
	return sleep_for(timeout, true);
}

/* ---- kernel threads ---- */

static void *kthread_main(void *arg)
{
	struct mmt_kthread *k = arg;

	MMT_TLS_SET(_mmt_this_kthread, k);
	acquire_cpu(k->m, k->task); /* counted as a CPU waiter at creation */
	k->fn(k->arg);
	if (_mmt_this_cpu)
		mmt_cpu_detach();
	return NULL;
}

static void kthread_engine_main(void *arg)
{
	kthread_main(arg);
}

static bool kthread_start(struct mmt_kthread *k)
{
	struct mmt_sched_state *s = S(k->m);

	if (s->eops) {
		k->ethr = s->eops->spawn(s->eng, k->task->name,
					 kthread_engine_main, k);
		return k->ethr != NULL;
	}
	return pthread_create(&k->thread, NULL, kthread_main, k) == 0;
}

struct mmt_kthread *mmt_kthread_run(struct mmt_machine *m, const char *name,
				    unsigned int flags, void (*fn)(void *arg),
				    void *arg)
{
	struct mmt_kthread *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->m = m;
	k->fn = fn;
	k->arg = arg;
	k->task = mmt_task_create(m, name, flags);
	if (!k->task) {
		free(k);
		return NULL;
	}
	k->task->kthread = true; /* oom_unkillable_task(): PF_KTHREAD */
	pthread_mutex_lock(&S(m)->mu);
	S(m)->nr_cpu_waiters++;
	pthread_mutex_unlock(&S(m)->mu);
	if (!kthread_start(k)) {
		pthread_mutex_lock(&S(m)->mu);
		S(m)->nr_cpu_waiters--;
		pthread_mutex_unlock(&S(m)->mu);
		mmt_task_destroy(k->task);
		free(k);
		return NULL;
	}
	return k;
}

bool mmt_kthread_should_stop(void)
{
	return _mmt_this_kthread &&
	       atomic_load_explicit(&_mmt_this_kthread->stop,
				    memory_order_acquire);
}

struct mmt_task *mmt_kthread_task(const struct mmt_kthread *k)
{
	return k->task;
}

void mmt_kthread_stop(struct mmt_kthread *k)
{
	struct mmt_machine *m = k->m;
	struct mmt_sched_state *s = S(m);
	struct mmt_task *self = mmt_current_task();
	bool joined;

	/* Release pairs with the acquire loads of mmt_kthread_should_stop(). */
	atomic_store_explicit(&k->stop, true, memory_order_release);
	pthread_mutex_lock(&s->mu);
	if (k->waiter)
		wake_locked(s, k->waiter);
	/* Joining: away, not blocked - this thread will come back. */
	s->nr_away++;
	pthread_mutex_unlock(&s->mu);
	if (self)
		mmt_cpu_detach();
	if (!s->eops) {
		pthread_join(k->thread, NULL);
		joined = true;
	} else {
		joined = s->eops->join(s->eng, k->ethr);
	}
	if (!joined)
		mmt_violation(m, "stall",
			      "kthread_stop(%s): the kthread can never run to "
			      "its end",
			      k->task->name);
	pthread_mutex_lock(&s->mu);
	s->nr_away--;
	if (self)
		s->nr_cpu_waiters++;
	pthread_mutex_unlock(&s->mu);
	if (self)
		acquire_cpu(m, self);
	/* Never joined: its task stays the engine's (it is never resumed). */
	if (joined)
		mmt_task_destroy(k->task);
	free(k);
}

/* ---- thread engine (mmt/engine.h) ---- */

void mmt_machine_set_engine(struct mmt_machine *m,
			    const struct mmt_engine_ops *ops, void *eng)
{
	struct mmt_sched_state *s = S(m);

	pthread_mutex_lock(&s->mu);
	s->eops = ops;
	s->eng = ops ? eng : NULL;
	pthread_mutex_unlock(&s->mu);
}

bool _mmt_sched_has_engine(const struct mmt_machine *m)
{
	struct mmt_sched_state *s = S(m);
	bool on;

	pthread_mutex_lock(&s->mu);
	on = s->eops != NULL;
	pthread_mutex_unlock(&s->mu);
	return on;
}

void mmt_engine_thread_pending(struct mmt_machine *m, int delta)
{
	_mmt_sched_away(m, delta);
}

void mmt_describe_lock_holder(struct mmt_machine *m, const void *obj, char *buf,
			      size_t len)
{
	struct mmt_task *t;
	int i;

	buf[0] = '\0';
	pthread_mutex_lock(&m->tasks_mu);
	for (t = m->tasks; t && !buf[0]; t = t->next_all)
		for (i = 0; i < t->nr_held; i++)
			if ((const void *)t->held[i].lock == obj) {
				snprintf(
					buf, len,
					"%s held by task %s on cpu %d (taken at %s)",
					t->held[i].lock->cls &&
							t->held[i]
								.lock->cls
								->name ?
						t->held[i].lock->cls->name :
						"lock",
					t->name, t->cpu,
					_mmt_short_site(t->held[i].site));
				break;
			}
	pthread_mutex_unlock(&m->tasks_mu);
}

/* ---- set-up ---- */

int _mmt_sched_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_sched_state *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of host memory for the scheduler");
		return -1;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cpu_cv, NULL);
	m->sched = s;
	return 0;
}

void _mmt_sched_destroy(struct mmt_machine *m)
{
	struct mmt_sched_state *s = m->sched;

	if (!s)
		return;
	pthread_cond_destroy(&s->cpu_cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	m->sched = NULL;
}
