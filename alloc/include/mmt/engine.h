/* SPDX-License-Identifier: MIT */
/*
 * mmt/engine.h - the hooks through which a thread engine (a deterministic
 * scheduler running every simulated CPU's task and every kernel thread as
 * a fiber on one host thread: trace/dsched.h) reaches the model.
 *
 * The model knows no engine.  With none attached a kernel thread is a real
 * pthread and a wait blocks on a pthread condition variable, exactly as
 * before.  With one attached (mmt_machine_set_engine()) the model calls
 * the engine's table instead:
 *   - mmt_kthread_run() spawns a thread of execution (the engine makes it a
 *     fiber), mmt_kthread_stop() joins it;
 *   - a wait that would block on its condition variable parks the current
 *     thread, and the wake that would signal it unparks it; a task waiting
 *     for a free CPU parks likewise and is unparked when a CPU is released.
 * The model always releases its host mutexes before it parks: no thread of
 * execution switches while it holds one (sched->mu, viol_mu, tasks_mu, a
 * mempool's track_mu ... are all taken and released between two
 * scheduling points).  unpark() never switches: the model calls it under
 * sched->mu.
 *
 * The model's per-thread state (the current CPU, the current kthread, the
 * mempool's no-reclaim depth) lives in host thread-locals; an engine that
 * runs several threads of execution on one host thread saves it when it
 * switches away from one and restores it when it switches back, with
 * mmt_thread_state_save() / mmt_thread_state_restore() on a buffer of
 * mmt_thread_state_size() bytes (all zero: the state of a new thread).
 *
 * The engine must be attached before any kernel thread of the machine is
 * started and detached after the last one is stopped: a machine never
 * mixes pthreads and engine threads.
 */
#ifndef MMT_ENGINE_H
#define MMT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "mmt/machine.h"

/* An engine's thread of execution (opaque to the model). */
struct mmt_thread;

struct mmt_engine_ops {
	/*
	 * Start a thread of execution running @fn(@arg) (a kernel thread's
	 * body, which takes a CPU itself).  NULL if it cannot.
	 */
	struct mmt_thread *(*spawn)(void *eng, const char *name,
				    void (*fn)(void *arg), void *arg);
	/*
	 * Wait until @t has returned from its function, then release it.  The
	 * caller is on no CPU.  Returns false if @t can never end (nothing
	 * that could run it is runnable): @t is then abandoned.
	 */
	bool (*join)(void *eng, struct mmt_thread *t);
	/* The calling thread of execution. */
	struct mmt_thread *(*self)(void *eng);
	/*
	 * Block the calling thread until unpark() (returns at once if an
	 * unpark came since the last park: a permit, so a wake between the
	 * model's check and its park is never lost; a return may also be
	 * spurious: the model re-checks).  @why says what it waits for, for a
	 * deadlock report.  Returns false only when the caller is not one of
	 * the engine's fibers (the host context) and nothing runnable is left
	 * that could ever unpark it.
	 */
	bool (*park)(void *eng, const char *why);
	/* Make @t runnable again.  Never switches. */
	void (*unpark)(void *eng, struct mmt_thread *t);
};

/* Attach (@ops non-NULL) or detach (NULL) a thread engine. */
void mmt_machine_set_engine(struct mmt_machine *m,
			    const struct mmt_engine_ops *ops, void *eng);

/*
 * Thread-engine bookkeeping for the deadlock detector: a thread the engine
 * will start that will take a CPU of @m counts as "away, coming back"
 * until it holds one (delta +1 when it is created, -1 once it is on its
 * CPU), so the detector does not see "every task blocked" before it runs.
 * The engine's host context counts likewise while it waits for the
 * threads to finish.
 */
void mmt_engine_thread_pending(struct mmt_machine *m, int delta);

/*
 * No thread the engine could run can go on - each is parked, or only spins
 * (busy-waits with no release point) - while others sleep with timeouts:
 * idle CPUs wait for the timer and a spinning CPU burns time, so the clock
 * moves to the earliest deadline and those waits time out, as when the
 * detector sees nothing run (with the same stall check).  The engine
 * knows this moment exactly; the detector's counts may miss it (a thread
 * that stops being "away" without taking a CPU).  False if no blocked
 * thread has a deadline (or the machine has failed): nothing can change.
 */
bool mmt_engine_spin_time(struct mmt_machine *m);

/*
 * What holds @obj, a lock a thread spins on (MMT_SP_LOCK_CONTENDED):
 * "task T on cpu C (taken at SITE)" in @buf, or "" if no task holds it as
 * a lock.  For deadlock reports.
 */
void mmt_describe_lock_holder(struct mmt_machine *m, const void *obj, char *buf,
			      size_t len);

/* ---- per-thread model state ---- */

size_t mmt_thread_state_size(void);
void mmt_thread_state_save(void *buf);
void mmt_thread_state_restore(const void *buf);

#endif /* MMT_ENGINE_H */
