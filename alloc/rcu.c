/* SPDX-License-Identifier: MIT */
/*
 * alloc/rcu.c - grace periods: read-side critical sections, call_rcu(),
 * synchronize_rcu(), rcu_barrier() (mmt/rcu.h).
 *
 * What it models: the guarantee of the kernel's RCU, not Tree RCU's
 * machinery.  A grace period that starts at time T ends only after every
 * CPU that was inside a read-side critical section at T has left it; memory
 * handed to call_rcu()/kvfree_rcu() at time Q waits for a grace period that
 * starts after Q.  Written from the documented semantics, not from the
 * kernel source.
 *
 * Flavour: non-preemptible RCU (CONFIG_PREEMPT_RCU=n).  rcu_read_lock()
 * raises the preempt count, as the kernel's non-preemptible rcu_read_lock()
 * does, so the existing machinery reports what is illegal in a reader:
 * sleeping (might_sleep: "sleep-in-atomic"), leaving or migrating the CPU
 * ("leave-cpu-in-atomic"), and, under rt_rules, a spinlock_t in a reader
 * ("invalid-wait-context").  The last one is stricter than a real
 * PREEMPT_RT kernel, whose RCU is preemptible; documented, not modelled.
 * Only explicit rcu_read_lock() sections are readers: the consolidated
 * flavours' preempt/irq-disabled regions do not hold grace periods back.
 *
 * Algorithm.  Grace periods advance only in mmt_rcu_gp_step(), so a test
 * or a fuzzer decides when one may end.  A step
 *  - with no grace period in progress and something waiting (callbacks,
 *    kvfree_rcu pointers, a synchronize_rcu()), starts one: gp_started++,
 *    then records every CPU inside a read-side section with its quiescent
 *    count (the number of read_unlock()s that reached nesting 0);
 *  - with one in progress, ends it once each recorded CPU's quiescent count
 *    has moved (it left the section it was in) or no thread is on it any
 *    more (an idle CPU is quiescent): gp_completed = gp_started, then the
 *    callbacks whose grace period is complete are detached under the mutex
 *    and invoked on the stepping CPU after it is dropped, in the caller's
 *    context (the kernel uses softirq or rcuc kthreads; the model keeps
 *    the caller's);
 *  - then lets kvfree_rcu.c free the blocks that became ready.
 * synchronize_rcu() requests the grace period after the current one and
 * steps until it completes.  rcu_barrier() steps until every callback
 * queued before it has run, kvfree_rcu_barrier() until also every
 * kvfree_rcu pointer queued before it is freed; neither waits for what is
 * queued after it (other CPUs may keep queuing).  While a step cannot
 * move the machine (readers hold the grace period back, or the kvfree_rcu
 * worker or another CPU still runs what is ready), a waiter
 *  - under a thread engine (the deterministic scheduler) sleeps on
 *    wait_wq, as the kernel's waiter sleeps on a completion, until a
 *    reader leaves its section, a grace period starts or ends, a batch of
 *    callbacks has run or a kvfree_rcu free step is done: exact, no timer
 *    and no polling, so a spinning waiter never starves the reader it
 *    waits for and a wait that nothing can end is the machine's or the
 *    engine's deadlock report, deterministic and replayable;
 *  - with free-running threads yields and polls; a grace period stalled
 *    for stall_ms of real time is reported as "rcu-deadlock" naming the
 *    CPUs still reading, and the wait is abandoned (never a hang).
 * A grace period is wanted for queued callbacks, a synchronize_rcu()
 * request, and kvfree_rcu blocks waiting for one that has not started
 * (kv_gp_wanted); blocks whose grace period is over wait for a free step,
 * not for another grace period.
 *
 * Invariants: gp_completed <= gp_started <= gp_completed + 1; a callback
 * queued for grace period N runs only once gp_completed >= N; a CPU's
 * nesting never exceeds the preempt bits of its preempt count (each level
 * raised it by one): more means the thread left the CPU inside a section
 * and mmt_cpu_attach() reset the count ("rcu-imbalance", repaired).
 *
 * Memory ordering (the classic store-buffer pattern of RCU): a reader
 * stores its nesting and then loads protected pointers; an updater removes
 * a pointer and then (gp start) loads the nesting.  A seq_cst fence on each
 * side - in rcu_read_lock() after the store and in gp start after
 * gp_started++ - pairs the two, so either the reader is seen reading or it
 * cannot see the removed pointer.  The read_unlock() that reaches nesting 0
 * stores with release; gp end loads with acquire: the reader's accesses
 * happen before the callbacks that free what it read.
 *
 * Locks: rcu->mu, a pthread mutex outside the model's lock model (RCU is
 * infrastructure here, like the violation log); it guards gp state and the
 * callback list and is never held across a callback, a violation report
 * that could re-enter, or kvfree_rcu's freeing.  The per-cpu state words
 * are single-writer atomics.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcu_internal.h"

#define RCU_STALL_MS_DEFAULT 5000

enum gp_progress {
	GP_IDLE, /* nothing waits, no grace period */
	GP_WAITING, /* a grace period is held back by readers */
	GP_STARTED,
	GP_ENDED,
};

/* ---- helpers ---- */

static inline struct mmt_cpu *cur_cpu(void)
{
	return _mmt_cpu_or_report(MMT_SITE);
}

static inline struct mmt_rcu_cpu *rcu_cpu(struct mmt_cpu *cpu)
{
	return &cpu->m->rcu->cpus[cpu->id];
}

static inline unsigned int state_nesting(uint64_t s)
{
	return (unsigned int)(s & RCU_NEST_MASK);
}

static inline uint64_t state_qs(uint64_t s)
{
	return s >> RCU_NEST_BITS;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The thread that was on this CPU left it inside a read-side section
 * (mmt_cpu_detach() reported leave-cpu-in-atomic and reset the preempt
 * count).  Close the abandoned section so grace periods can end.
 */
static MMT_COLD uint64_t repair_stale_reader(struct mmt_cpu *cpu,
					     struct mmt_rcu_cpu *rc, uint64_t s)
{
	uint64_t fixed = (state_qs(s) + 1) << RCU_NEST_BITS;

	mmt_violation(
		cpu->m, "rcu-imbalance",
		"cpu %d was left inside an RCU read-side critical section (nesting %u); "
		"task %s now runs there with preempt_count 0x%x",
		cpu->id, state_nesting(s), cpu->curr->name, cpu->preempt_count);
	/* Release: as a read_unlock() to zero (pairs with gp end's acquire). */
	atomic_store_explicit(&rc->state, fixed, memory_order_release);
	_mmt_rcu_progress(cpu->m->rcu);
	return fixed;
}

static inline uint64_t own_state(struct mmt_cpu *cpu, struct mmt_rcu_cpu *rc)
{
	/* Only this thread writes it: relaxed is exact. */
	uint64_t s = atomic_load_explicit(&rc->state, memory_order_relaxed);

	if (MMT_UNLIKELY(state_nesting(s) >
			 (unsigned int)(cpu->preempt_count & MMT_PREEMPT_MASK)))
		s = repair_stale_reader(cpu, rc, s);
	return s;
}

/* ---- read side ---- */

void mmt_rcu_read_lock(void)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_rcu_cpu *rc = rcu_cpu(cpu);
	uint64_t s = own_state(cpu, rc);

	mmt_preempt_disable(); /* non-preemptible RCU */
	atomic_store_explicit(&rc->state, s + 1, memory_order_relaxed);
	/*
	 * Order the nesting store before the section's loads: pairs with the
	 * fence in start_gp_locked() after gp_started++.
	 */
	atomic_thread_fence(memory_order_seq_cst);
}

void mmt_rcu_read_unlock(void)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_rcu_cpu *rc = rcu_cpu(cpu);
	uint64_t s = atomic_load_explicit(&rc->state, memory_order_relaxed);

	if (MMT_UNLIKELY(state_nesting(s) > (unsigned int)(cpu->preempt_count &
							   MMT_PREEMPT_MASK))) {
		repair_stale_reader(cpu, rc, s);
		return; /* this thread never took the lock it releases */
	}
	if (MMT_UNLIKELY(!state_nesting(s))) {
		mmt_violation(
			cpu->m, "rcu-imbalance",
			"rcu_read_unlock() on cpu %d (task %s) outside any read-side critical section",
			cpu->id, cpu->curr->name);
		return;
	}
	if (state_nesting(s) == 1) {
		/*
		 * Leaving the outermost section: nesting 0 and one more
		 * quiescent state in one store.  Release: the section's
		 * accesses happen before a grace period's end that sees it
		 * (acquire load in gp_quiescent_locked()).
		 */
		atomic_store_explicit(&rc->state,
				      (state_qs(s) + 1) << RCU_NEST_BITS,
				      memory_order_release);
		/*
		 * A quiescent state may let a grace period end: the kernel
		 * wakes its gp kthread when the last one is reported.  Only
		 * under a thread engine does anyone sleep on it (one thread:
		 * no store-load race with the sleeper's look).
		 */
		_mmt_rcu_progress(cpu->m->rcu);
	} else {
		atomic_store_explicit(&rc->state, s - 1, memory_order_relaxed);
	}
	mmt_preempt_enable();
}

bool mmt_rcu_read_lock_held(void)
{
	struct mmt_cpu *cpu = cur_cpu();

	return state_nesting(own_state(cpu, rcu_cpu(cpu))) != 0;
}

/* ---- grace periods (rcu->mu held) ---- */

static bool need_gp_locked(struct mmt_rcu_state *rs)
{
	uint64_t started =
		atomic_load_explicit(&rs->gp_started, memory_order_relaxed);

	/*
	 * Blocks whose grace period is over only wait for a free step (the
	 * kvfree_rcu worker's, or the next gp end's): no new grace period.
	 */
	return rs->cb_head || rs->gp_requested > started ||
	       atomic_load_explicit(&rs->kv_gp_wanted, memory_order_acquire) >
		       started;
}

static bool cpu_has_thread(struct mmt_machine *m, int c)
{
	return atomic_load_explicit(&m->cpus[c].owner, memory_order_acquire) !=
	       NULL;
}

static void start_gp_locked(struct mmt_rcu_state *rs)
{
	struct mmt_machine *m = rs->m;
	int c;

	atomic_store_explicit(
		&rs->gp_started,
		atomic_load_explicit(&rs->gp_started, memory_order_relaxed) + 1,
		memory_order_seq_cst);
	rs->gp_active = true;
	/*
	 * Pairs with the fence in mmt_rcu_read_lock(): a reader not seen
	 * reading below started after this grace period did, and cannot see
	 * what was removed before it.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	for (c = 0; c < m->nr_cpus; c++) {
		struct mmt_rcu_cpu *rc = &rs->cpus[c];
		/* Acquire: a section that already ended happens before. */
		uint64_t s =
			atomic_load_explicit(&rc->state, memory_order_acquire);

		rc->need_qs = state_nesting(s) && cpu_has_thread(m, c);
		rc->qs_snap = state_qs(s);
	}
}

/* Has recorded CPU @c passed a quiescent state since the gp started? */
static bool cpu_quiescent_locked(struct mmt_rcu_state *rs, int c)
{
	struct mmt_rcu_cpu *rc = &rs->cpus[c];
	uint64_t s;

	if (!rc->need_qs)
		return true;
	/* Acquire: pairs with the release in mmt_rcu_read_unlock(). */
	s = atomic_load_explicit(&rc->state, memory_order_acquire);
	if (state_qs(s) != rc->qs_snap || !cpu_has_thread(rs->m, c)) {
		rc->need_qs = false;
		return true;
	}
	return false;
}

static bool gp_quiescent_locked(struct mmt_rcu_state *rs)
{
	bool all = true;
	int c;

	for (c = 0; c < rs->m->nr_cpus; c++)
		all &= cpu_quiescent_locked(rs, c);
	return all;
}

/* Detach the callbacks whose grace period is complete (a FIFO prefix). */
static struct mmt_rcu_head *ready_cbs_locked(struct mmt_rcu_state *rs,
					     uint64_t completed)
{
	struct mmt_rcu_head *first = rs->cb_head, **pp = &rs->cb_head;
	unsigned long n = 0;

	while (*pp && (*pp)->gp_seq <= completed) {
		pp = &(*pp)->next;
		n++;
	}
	if (!n)
		return NULL;
	rs->cb_head = *pp;
	if (!rs->cb_head)
		rs->cb_tail = &rs->cb_head;
	*pp = NULL;
	atomic_fetch_add_explicit(&rs->cb_running, n, memory_order_relaxed);
	atomic_fetch_sub_explicit(&rs->nr_cbs, n, memory_order_relaxed);
	return first;
}

static enum gp_progress gp_step(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct mmt_rcu_head *cbs = NULL, *next;
	enum gp_progress ret;
	uint64_t completed;

	pthread_mutex_lock(&rs->mu);
	if (!rs->gp_active) {
		if (need_gp_locked(rs)) {
			start_gp_locked(rs);
			ret = GP_STARTED;
		} else {
			ret = GP_IDLE;
		}
	} else if (gp_quiescent_locked(rs)) {
		completed = atomic_load_explicit(&rs->gp_started,
						 memory_order_relaxed);
		/* Release: pairs with _mmt_rcu_completed()'s acquire. */
		atomic_store_explicit(&rs->gp_completed, completed,
				      memory_order_release);
		rs->gp_active = false;
		cbs = ready_cbs_locked(rs, completed);
		ret = GP_ENDED;
	} else {
		ret = GP_WAITING;
	}
	pthread_mutex_unlock(&rs->mu);

	for (; cbs; cbs = next) {
		next = cbs->next; /* the callback may free the head */
		cbs->next = NULL;
		cbs->func(cbs);
		/* Release: rcu_barrier() sees what the callback did. */
		atomic_fetch_sub_explicit(&rs->cb_running, 1,
					  memory_order_release);
	}
	if (ret == GP_STARTED || ret == GP_ENDED)
		_mmt_rcu_progress(rs);
	if (MMT_UNLIKELY(
		    atomic_load_explicit(&rs->kv_on, memory_order_acquire))) {
		/* kvfree_rcu's worker frees, in process context. */
		if (ret == GP_ENDED ||
		    mmt_bug_on(m, MMT_BUG_KVFREE_RCU_EARLY_FREE)) {
			atomic_store_explicit(&rs->kv_work, true,
					      memory_order_release);
			mmt_wake_up(&rs->kv_wq);
		}
		return ret;
	}
	_mmt_kvfree_rcu_step(m, ret == GP_ENDED);
	return ret;
}

bool mmt_rcu_gp_step(struct mmt_machine *m)
{
	MMT_ASSERT(cur_cpu()->m == m); /* callbacks run on this CPU */
	return gp_step(m) == GP_ENDED;
}

uint64_t mmt_rcu_gp_completed(const struct mmt_machine *m)
{
	return _mmt_rcu_completed(m->rcu);
}

/* ---- call_rcu ---- */

void mmt_call_rcu(struct mmt_rcu_head *head,
		  void (*func)(struct mmt_rcu_head *))
{
	struct mmt_rcu_state *rs = cur_cpu()->m->rcu;

	MMT_ASSERT(head && func);
	head->func = func;
	head->next = NULL;
	pthread_mutex_lock(&rs->mu);
	/* Under mu the snapshot cannot race with a gp start. */
	head->gp_seq = _mmt_rcu_snap(rs);
	*rs->cb_tail = head;
	rs->cb_tail = &head->next;
	atomic_fetch_add_explicit(&rs->nr_cbs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&rs->mu);
	_mmt_rcu_kick(rs);
}

/* ---- waiting: synchronize_rcu, rcu_barrier, kvfree_rcu_barrier ---- */

/* What a waiter waits for. */
struct rcu_wait {
	struct mmt_machine *m;
	const char *op;
	uint64_t gp; /* the grace period snapshot it waits for */
	uint64_t kv_gp; /* kvfree_rcu_barrier(): the newest block's */
	bool (*done)(const struct rcu_wait *w);
};

/* The CPUs holding the current grace period back: "1,3" or "none". */
static void holdouts_locked(struct mmt_rcu_state *rs, char *buf, size_t len)
{
	size_t used = 0;
	int c;

	buf[0] = '\0';
	for (c = 0; c < rs->m->nr_cpus && used + 8 < len; c++)
		if (rs->gp_active && !cpu_quiescent_locked(rs, c))
			used += (size_t)snprintf(buf + used, len - used, "%s%d",
						 used ? "," : "", c);
	if (!used)
		snprintf(buf, len, "none");
}

static MMT_COLD void report_stall(struct mmt_cpu *cpu, const char *op,
				  unsigned int ms)
{
	struct mmt_rcu_state *rs = cpu->m->rcu;
	char cpus[256];
	uint64_t gp;

	pthread_mutex_lock(&rs->mu);
	gp = atomic_load_explicit(&rs->gp_started, memory_order_relaxed);
	holdouts_locked(rs, cpus, sizeof(cpus));
	pthread_mutex_unlock(&rs->mu);
	mmt_violation(
		cpu->m, "rcu-deadlock",
		"%s on cpu %d: grace period %llu made no progress for %u ms; "
		"cpu(s) %s still inside read-side critical sections",
		op, cpu->id, (unsigned long long)gp, ms, cpus);
}

/*
 * Free-running threads: step grace periods until @w is done, yielding
 * while readers hold one back.  False (after an "rcu-deadlock" report) if
 * nothing moved for stall_ms of real time: a reader on another thread
 * may be stuck outside the model, and real time is all there is to tell.
 */
static bool wait_polling(struct rcu_wait *w, unsigned int *gps)
{
	struct mmt_machine *m = w->m;
	struct mmt_rcu_state *rs = m->rcu;
	uint64_t last = now_ms();

	while (!w->done(w)) {
		enum gp_progress p = gp_step(m);

		if (p == GP_ENDED && gps)
			(*gps)++;
		if (p == GP_STARTED || p == GP_ENDED) {
			last = now_ms();
			continue;
		}
		if (now_ms() - last > rs->stall_ms) {
			/* A callback may have migrated us: the CPU now. */
			report_stall(_mmt_this_cpu, w->op, rs->stall_ms);
			return false;
		}
		mmt_sched_point(_mmt_this_cpu, MMT_SP_EXPLICIT, rs);
		sched_yield();
	}
	return true;
}

/* Sleeping waiter's condition: done, or a step could move the gp machine. */
static bool wait_cond(void *arg)
{
	const struct rcu_wait *w = arg;
	struct mmt_rcu_state *rs = w->m->rcu;
	bool go;

	if (w->done(w))
		return true;
	pthread_mutex_lock(&rs->mu);
	go = rs->gp_active ? gp_quiescent_locked(rs) : need_gp_locked(rs);
	pthread_mutex_unlock(&rs->mu);
	return go;
}

/* The queue's name says what its sleepers wait for (deadlock reports). */
static void name_the_wait(struct mmt_rcu_state *rs, const struct rcu_wait *w)
{
	char cpus[64];
	uint64_t gp;

	pthread_mutex_lock(&rs->mu);
	gp = atomic_load_explicit(&rs->gp_started, memory_order_relaxed);
	if (rs->gp_active) {
		holdouts_locked(rs, cpus, sizeof(cpus));
		snprintf(rs->wait_name, sizeof(rs->wait_name),
			 "%s: grace period %llu, held back by cpu(s) %s inside "
			 "read-side critical sections",
			 w->op, (unsigned long long)gp, cpus);
	} else {
		snprintf(rs->wait_name, sizeof(rs->wait_name),
			 "%s: grace period %llu over, callbacks or kvfree_rcu "
			 "frees still to run",
			 w->op, (unsigned long long)gp);
	}
	pthread_mutex_unlock(&rs->mu);
}

/* May the current context sleep?  (Never reports: might_sleep did.) */
static bool may_sleep(const struct mmt_cpu *cpu)
{
	return !cpu->preempt_count && !cpu->irq_disable_depth &&
	       !_mmt_task_pinned_by_locks(cpu->curr) &&
	       !mmt_kthread_should_stop();
}

/*
 * Under a thread engine: step grace periods while a step moves them, and
 * otherwise sleep, as the kernel's waiter sleeps on its completion, until
 * a quiescent state, a grace period's start or end, the last callback of
 * a batch or a kvfree_rcu free step wakes it.  No timer: what ends a wait
 * is model progress, and a wait nothing can end is the machine's
 * deadlock (every task blocked) or the engine's (nothing runnable), both
 * deterministic, naming this wait and the CPUs still reading.  A context
 * that may not sleep (already reported by might_sleep) or a kthread told
 * to stop polls instead, giving way at every turn.  False when the
 * machine failed.
 */
static bool wait_sleeping(struct rcu_wait *w, unsigned int *gps)
{
	struct mmt_machine *m = w->m;
	struct mmt_rcu_state *rs = m->rcu;

	while (!w->done(w)) {
		enum gp_progress p = gp_step(m);
		enum mmt_wait_result r;

		if (p == GP_ENDED && gps)
			(*gps)++;
		if (p == GP_STARTED || p == GP_ENDED)
			continue;
		if (mmt_sched_failed(m))
			return false;
		if (!may_sleep(_mmt_this_cpu)) {
			mmt_sched_point(_mmt_this_cpu, MMT_SP_EXPLICIT, rs);
			continue;
		}
		name_the_wait(rs, w);
		atomic_fetch_add_explicit(&rs->nr_sleepers, 1,
					  memory_order_relaxed);
		r = mmt_wait_event_timeout(&rs->wait_wq, wait_cond, w,
					   MMT_WAIT_FOREVER, NULL);
		atomic_fetch_sub_explicit(&rs->nr_sleepers, 1,
					  memory_order_relaxed);
		if (r == MMT_WAIT_DEADLOCK)
			return false;
	}
	return true;
}

static bool wait_for(struct rcu_wait *w, unsigned int *gps)
{
	if (_mmt_sched_has_engine(w->m))
		return wait_sleeping(w, gps);
	return wait_polling(w, gps);
}

void _mmt_rcu_wake_sleepers(struct mmt_rcu_state *rs)
{
	mmt_wake_up(&rs->wait_wq);
}

static bool gp_reached(const struct rcu_wait *w)
{
	return _mmt_rcu_completed(w->m->rcu) >= w->gp;
}

static bool in_own_reader(struct mmt_cpu *cpu, const char *op)
{
	uint64_t s = own_state(cpu, rcu_cpu(cpu));

	if (MMT_LIKELY(!state_nesting(s)))
		return false;
	mmt_violation(
		cpu->m, "rcu-deadlock",
		"%s on cpu %d (task %s) inside an RCU read-side critical section (nesting %u): "
		"the grace period would wait for this very reader",
		op, cpu->id, cpu->curr->name, state_nesting(s));
	return true;
}

void mmt_synchronize_rcu(void)
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_rcu_state *rs = cpu->m->rcu;
	struct rcu_wait w = { .m = cpu->m,
			      .op = "synchronize_rcu()",
			      .done = gp_reached };

	if (in_own_reader(cpu, w.op))
		return;
	_mmt_might_sleep(MMT_SITE);
	pthread_mutex_lock(&rs->mu);
	/* A grace period that starts after this call: the next to start. */
	w.gp = _mmt_rcu_snap(rs);
	if (rs->gp_requested < w.gp)
		rs->gp_requested = w.gp;
	pthread_mutex_unlock(&rs->mu);
	_mmt_rcu_kick(rs);
	wait_for(&w, NULL);
}

/*
 * rcu_barrier()'s condition: no callback queued before it (grace period
 * w->gp or older: the list is in snapshot order, the oldest first) is
 * still queued or running.  Callbacks queued later are not waited for,
 * as in the kernel: a barrier beside CPUs that keep queuing ends.
 * Running ones are counted all together (a batch runs in a bounded time).
 */
static bool cbs_done(const struct rcu_wait *w)
{
	struct mmt_rcu_state *rs = w->m->rcu;
	bool busy;

	pthread_mutex_lock(&rs->mu);
	/* Under mu: a batch is detached and counted running in one go. */
	busy = (rs->cb_head && rs->cb_head->gp_seq <= w->gp) ||
	       atomic_load_explicit(&rs->cb_running, memory_order_acquire);
	pthread_mutex_unlock(&rs->mu);
	return !busy;
}

/* kvfree_rcu_barrier(): and every block pointer queued before it freed. */
static bool kv_done(const struct rcu_wait *w)
{
	return cbs_done(w) && _mmt_kvfree_rcu_flushed(w->m, w->kv_gp);
}

static unsigned int barrier(struct mmt_machine *m, const char *op,
			    bool (*done)(const struct rcu_wait *w))
{
	struct mmt_cpu *cpu = cur_cpu();
	struct mmt_rcu_state *rs = m->rcu;
	struct rcu_wait w = { .m = m, .op = op, .done = done };
	unsigned int gps = 0;

	MMT_ASSERT(cpu->m == m); /* the CPU's machine; m documents which */
	if (in_own_reader(cpu, op))
		return 0;
	_mmt_might_sleep(MMT_SITE);
	pthread_mutex_lock(&rs->mu);
	w.gp = _mmt_rcu_snap(rs);
	pthread_mutex_unlock(&rs->mu);
	/* Every block pointer queued so far waits for this one or older. */
	w.kv_gp = atomic_load_explicit(&rs->kv_gp_wanted, memory_order_acquire);
	wait_for(&w, &gps);
	return gps;
}

unsigned int mmt_rcu_barrier(struct mmt_machine *m)
{
	return barrier(m, "rcu_barrier()", cbs_done);
}

unsigned int mmt_kvfree_rcu_barrier(struct mmt_machine *m)
{
	/* rcu_free sheaves (slab=sheaves) queue their callbacks first. */
	_mmt_kvfree_rcu_flush_sheaves(m);
	return barrier(m, "kvfree_rcu_barrier()", kv_done);
}

/* ---- the grace-period thread and kvfree_rcu's worker ---- */

void _mmt_rcu_gp_wanted(struct mmt_rcu_state *rs)
{
	mmt_wake_up(&rs->gp_wq);
}

static bool gp_wanted(void *arg)
{
	struct mmt_rcu_state *rs = arg;
	bool want;

	pthread_mutex_lock(&rs->mu);
	want = rs->gp_active || need_gp_locked(rs);
	pthread_mutex_unlock(&rs->mu);
	return want;
}

/*
 * The grace-period kthread (rcu_gp_kthread): while a grace period is
 * wanted it steps the machine, sleeping a jiffy whenever readers hold the
 * current one back; otherwise it sleeps until call_rcu, synchronize_rcu
 * or kvfree_rcu wakes it.  A CPU may still step beside it.
 */
static void gp_kthread_fn(void *arg)
{
	struct mmt_machine *m = arg;
	struct mmt_rcu_state *rs = m->rcu;

	while (!mmt_kthread_should_stop() && !mmt_sched_failed(m)) {
		if (!gp_wanted(rs)) {
			enum mmt_wait_result r = mmt_wait_event_timeout(
				&rs->gp_wq, gp_wanted, rs, MMT_WAIT_FOREVER,
				NULL);

			if (r == MMT_WAIT_STOPPED || r == MMT_WAIT_DEADLOCK)
				break;
			continue;
		}
		if (gp_step(m) == GP_WAITING) {
			if (mmt_schedule_timeout(1) != MMT_WAIT_TIMEOUT)
				break;
		} else {
			/* gp_step has no scheduling point of its own. */
			mmt_cond_resched();
		}
	}
}

static bool kv_work(void *arg)
{
	return atomic_load_explicit(&((struct mmt_rcu_state *)arg)->kv_work,
				    memory_order_acquire);
}

/*
 * kvfree_rcu's worker (kfree_rcu_work): woken when a grace period ended,
 * frees every block whose grace period is complete with kfree_bulk(), in
 * process context.
 */
static void kv_worker_fn(void *arg)
{
	struct mmt_machine *m = arg;
	struct mmt_rcu_state *rs = m->rcu;

	while (!mmt_kthread_should_stop() && !mmt_sched_failed(m)) {
		enum mmt_wait_result r = mmt_wait_event_timeout(
			&rs->kv_wq, kv_work, rs, MMT_WAIT_FOREVER, NULL);

		if (r == MMT_WAIT_STOPPED || r == MMT_WAIT_DEADLOCK)
			break;
		atomic_store_explicit(&rs->kv_work, false,
				      memory_order_relaxed);
		_mmt_kvfree_rcu_step(m, true);
	}
}

bool mmt_rcu_gp_kthread_start(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct mmt_kthread *k;

	if (rs->gp_thread)
		return true;
	atomic_store_explicit(&rs->gp_kick, true, memory_order_relaxed);
	k = mmt_kthread_run(m, "rcu_gp", 0, gp_kthread_fn, m);
	if (!k) {
		atomic_store_explicit(&rs->gp_kick, false,
				      memory_order_relaxed);
		return false;
	}
	rs->gp_thread = k;
	return true;
}

void mmt_rcu_gp_kthread_stop(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct mmt_kthread *k = rs->gp_thread;

	if (!k)
		return;
	rs->gp_thread = NULL;
	atomic_store_explicit(&rs->gp_kick, false, memory_order_relaxed);
	mmt_kthread_stop(k);
}

bool mmt_kvfree_rcu_worker_start(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct mmt_kthread *k;

	if (rs->kv_worker)
		return true;
	k = mmt_kthread_run(m, "kfree_rcu_work", 0, kv_worker_fn, m);
	if (!k)
		return false;
	rs->kv_worker = k;
	/* Release: the worker exists before a gp step hands it work. */
	atomic_store_explicit(&rs->kv_on, true, memory_order_release);
	return true;
}

void mmt_kvfree_rcu_worker_stop(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;
	struct mmt_kthread *k = rs->kv_worker;

	if (!k)
		return;
	/* From now on the stepper frees again; what is ready goes now. */
	atomic_store_explicit(&rs->kv_on, false, memory_order_release);
	rs->kv_worker = NULL;
	mmt_kthread_stop(k);
	if (atomic_exchange_explicit(&rs->kv_work, false,
				     memory_order_acq_rel) &&
	    mmt_smp_processor_id() >= 0)
		_mmt_kvfree_rcu_step(m, true);
}

/* ---- set-up and teardown ---- */

int _mmt_rcu_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_rcu_state *rs = calloc(1, sizeof(*rs));

	if (rs)
		rs->cpus = calloc((size_t)m->nr_cpus, sizeof(*rs->cpus));
	if (!rs || !rs->cpus) {
		free(rs);
		snprintf(err, errlen, "out of host memory for the RCU layer");
		return -1;
	}
	rs->m = m;
	pthread_mutex_init(&rs->mu, NULL);
	rs->cb_tail = &rs->cb_head;
	rs->stall_ms = RCU_STALL_MS_DEFAULT;
	snprintf(rs->wait_name, sizeof(rs->wait_name), "rcu grace period");
	mmt_waitqueue_init(&rs->wait_wq, rs->wait_name);
	mmt_waitqueue_init(&rs->gp_wq, "rcu_gp_wq");
	mmt_waitqueue_init(&rs->kv_wq, "kfree_rcu_wq");
	m->rcu = rs;
	return _mmt_kvfree_rcu_init(m, err, errlen);
}

void _mmt_rcu_destroy(struct mmt_machine *m)
{
	struct mmt_rcu_state *rs = m->rcu;

	if (!rs)
		return;
	/*
	 * Host memory only.  Queued rcu_heads belong to their owners (who
	 * free them, e.g. slab_common.c's pending list) and block pages to
	 * the arena, which goes away with the machine: touch neither.
	 */
	_mmt_kvfree_rcu_destroy(m);
	mmt_waitqueue_destroy(&rs->wait_wq);
	mmt_waitqueue_destroy(&rs->gp_wq);
	mmt_waitqueue_destroy(&rs->kv_wq);
	pthread_mutex_destroy(&rs->mu);
	free(rs->cpus);
	free(rs);
	m->rcu = NULL;
}
