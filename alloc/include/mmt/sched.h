/* SPDX-License-Identifier: MIT */
/*
 * mmt/sched.h - sleeping, waking and time: wait queues on a model clock,
 * kernel threads, and the detector that turns a deadlock or a stall into a
 * finding instead of a hang.
 *
 * Time is model time (jiffies, MMT_HZ per second).  It advances only when
 * asked (mmt_advance_time) or when every task of the machine is blocked and
 * some wait has a timeout: the clock then jumps to the earliest deadline,
 * as a discrete-event simulator does, so a 5-second io_schedule_timeout()
 * costs no real time.
 *
 * A task waits with mmt_wait_event_timeout(): it registers on the queue,
 * checks its condition on its CPU (so the condition may take model locks),
 * and if it must sleep it leaves its CPU (which another task may take) and
 * blocks; woken, it takes whichever CPU is free and checks again.  Sleeping
 * requires preemptible process context (might_sleep()) and no lock held.
 *
 * Deadlock: the moment the last running task blocks and no blocked task has
 * a deadline, nothing can ever wake anyone: a "deadlock" violation is
 * reported with the wait-for chain (each task, the queue it waits on and
 * what that queue says it waits for), and every wait returns
 * MMT_WAIT_DEADLOCK so the code can unwind.  Stall: when nothing can run
 * and the next timer would take model time past cfg.stall_jiffies since the
 * last forward progress (mmt_sched_progress) while memory is under pressure
 * (a zone below its low watermark; with cfg.stall_without_pressure, whatever
 * the pressure), a "stall" is reported and waits return MMT_WAIT_DEADLOCK
 * likewise.  A wait
 * also gives up after cfg.wait_real_ms of real time (a safety net against
 * a thread outside the model), reported as a stall.
 */
#ifndef MMT_SCHED_H
#define MMT_SCHED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmt/machine.h"

#define MMT_HZ 100
#define MMT_WAIT_FOREVER (-1l)

struct mmt_waiter;

struct mmt_waitqueue {
	const char *name;
	pthread_mutex_t
		mu; /* unused by the waits: the lists are under sched->mu */
	struct mmt_waiter *waiters;
	/* Optional: what the waiters wait for, for the deadlock report. */
	void (*describe)(const struct mmt_waitqueue *wq, char *buf, size_t len);
	void *owner; /* for describe() */
};

void mmt_waitqueue_init(struct mmt_waitqueue *wq, const char *name);
void mmt_waitqueue_destroy(struct mmt_waitqueue *wq);

enum mmt_wait_result {
	MMT_WAIT_DONE, /* the condition holds */
	MMT_WAIT_TIMEOUT, /* the timeout passed first */
	MMT_WAIT_STOPPED, /* mmt_kthread_stop() asked this thread to stop */
	MMT_WAIT_DEADLOCK, /* deadlock or stall reported: unwind */
};

/*
 * Wait on @wq until @cond(@arg) is true (checked on a CPU, after every
 * wake-up), @timeout jiffies pass (MMT_WAIT_FOREVER: never), the thread is
 * asked to stop, or the machine is found deadlocked or stalled.
 * @remaining (may be NULL) receives the jiffies left.
 */
enum mmt_wait_result mmt_wait_event_timeout(struct mmt_waitqueue *wq,
					    bool (*cond)(void *arg), void *arg,
					    long timeout, long *remaining);
/* Wake every waiter of @wq (they re-check their conditions). */
void mmt_wake_up(struct mmt_waitqueue *wq);
/*
 * waitqueue_active(): is a task queued on @wq that no wake-up has reached
 * yet (the kernel's autoremove wake takes a woken waiter off the queue)?
 * A snapshot: a waker that skips mmt_wake_up() on false must have made its
 * condition true before it asked, or it loses the wake-up of a waiter
 * queued in between.
 */
bool mmt_waitqueue_active(struct mmt_waitqueue *wq);
/* Sleep @timeout jiffies (schedule_timeout_uninterruptible). */
enum mmt_wait_result mmt_schedule_timeout(long timeout);
/* io_schedule_timeout(): the same, counted as waiting for I/O. */
enum mmt_wait_result mmt_io_schedule_timeout(long timeout);

uint64_t mmt_jiffies(const struct mmt_machine *m);
/* Move the clock forward, waking the waits whose deadlines pass. */
void mmt_advance_time(struct mmt_machine *m, long ticks);
/* Forward progress happened (pages freed, written, I/O completed ...). */
void mmt_sched_progress(struct mmt_machine *m);
/* A deadlock or stall was reported: waits return MMT_WAIT_DEADLOCK. */
bool mmt_sched_failed(const struct mmt_machine *m);

/* ---- kernel threads ---- */

struct mmt_kthread;
/*
 * Start a real thread running @fn(@arg) as task @name (with PF_* @flags)
 * on whichever CPU is free (it waits for one).  NULL if no thread.
 */
struct mmt_kthread *mmt_kthread_run(struct mmt_machine *m, const char *name,
				    unsigned int flags, void (*fn)(void *arg),
				    void *arg);
/* In a kthread: has mmt_kthread_stop() been called for it? */
bool mmt_kthread_should_stop(void);
/*
 * Ask @k to stop, wake it, and wait for it to end (the caller leaves its
 * CPU while it waits and takes one again after).  Frees @k.
 */
void mmt_kthread_stop(struct mmt_kthread *k);
struct mmt_task *mmt_kthread_task(const struct mmt_kthread *k);

/* Take any free CPU for @t (waiting if none is free); releases with
 * mmt_cpu_detach().  For threads that are not kthreads. */
void mmt_cpu_attach_any(struct mmt_machine *m, struct mmt_task *t);
/*
 * mmt_cpu_attach(), but waiting while another thread holds CPU @cpu
 * instead of reporting "cpu-busy": a CPU task of the deterministic
 * scheduler starting, or an interpreter's CPU thread coming back to its own
 * CPU, while a kernel thread runs there.  What waiting cannot mend (no such
 * CPU, offline, a task already on a CPU) is reported as mmt_cpu_attach()
 * does (false).  Release with mmt_cpu_detach().
 */
bool mmt_cpu_attach_wait(struct mmt_machine *m, int cpu, struct mmt_task *t);

#endif /* MMT_SCHED_H */
