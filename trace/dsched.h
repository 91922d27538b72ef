/* SPDX-License-Identifier: MIT */
/*
 * trace/dsched.h - the deterministic scheduler: every simulated CPU's task
 * and every kernel thread of a machine as a fiber on one host thread,
 * switched only at the model's scheduling points and when one blocks, in
 * an order a schedule source decides and the scheduler records.
 *
 * Use: create it on a machine (it attaches itself as the machine's sched
 * hook and thread engine, mmt/engine.h), add a fiber per CPU task, run,
 * read the recorded schedule, destroy.  The host thread that runs it must
 * be on no CPU of the machine during mmt_dsched_run() (it would hold a CPU
 * the fibers need and hide "every task blocked" from the deadlock
 * detector).  Kernel threads started while it is attached are fibers;
 * mmt_kthread_stop() from the host context runs the fibers until the
 * kthread ends.
 *
 * Schedule sources (struct mmt_sched_source): at every point where more
 * than one fiber is runnable the scheduler asks its source to pick one;
 * the chosen fiber's id is appended to the recorded schedule (struct
 * mmt_schedule).  Fiber ids are 0, 1, 2 ... in creation order: the CPU
 * tasks as added, then kthreads as the model starts them - the same in
 * every run of the same program and schedule, so a recorded schedule
 * replays exactly.
 */
#ifndef MMT_TRACE_DSCHED_H
#define MMT_TRACE_DSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmt/mmt.h"

/* ---- recorded schedules ---- */

/* The fiber chosen at each decision (a point with 2+ runnable fibers). */
struct mmt_schedule {
	uint16_t *ids;
	size_t n, cap;
};

void mmt_schedule_init(struct mmt_schedule *s);
void mmt_schedule_free(struct mmt_schedule *s);
/* Append @id; false when out of memory. */
bool mmt_schedule_push(struct mmt_schedule *s, uint16_t id);
bool mmt_schedule_equal(const struct mmt_schedule *a,
			const struct mmt_schedule *b);
/*
 * Text form, run-length: fiber ids separated by spaces, a run of one id
 * as ID*COUNT: "0*12 1*3 0 2" is twelve decisions for fiber 0, three for
 * fiber 1, then 0, then 2.  "" for an empty schedule.  Returns a string to
 * free(), NULL when out of memory.
 */
char *mmt_schedule_format(const struct mmt_schedule *s);
/*
 * Parse the text form into @out (initialized by the caller; appended to).
 * On error: false and "col N: 'TOKEN': what was expected" in @err.
 */
bool mmt_schedule_parse(const char *text, struct mmt_schedule *out, char *err,
			size_t errlen);

/* ---- schedule sources ---- */

struct mmt_sched_source;

struct mmt_sched_source_ops {
	const char *name;
	/* A fiber got id @id (0, 1, 2 ...).  May be NULL. */
	void (*fiber_added)(struct mmt_sched_source *src, unsigned int id);
	/*
	 * Decision @step (0, 1, 2 ...): choose among the @n >= 2 runnable
	 * fibers @ids (ascending).  @cur is the fiber that ran up to this
	 * point (-1: the host context); it is among @ids when it may go on.
	 * Returns an index into @ids (taken modulo @n).
	 */
	unsigned int (*pick)(struct mmt_sched_source *src, uint64_t step,
			     const uint16_t *ids, unsigned int n, int cur);
	void (*destroy)(struct mmt_sched_source *src);
};

struct mmt_sched_source {
	const struct mmt_sched_source_ops *ops;
};

/*
 * Decisions carried in bytes (the fuzz input): decision k takes byte k
 * modulo the number of runnable fibers.  When the bytes run out, the
 * running fiber goes on while it can (else the lowest runnable id).
 */
struct mmt_sched_source *mmt_sched_source_bytes(const uint8_t *bytes,
						size_t len);
/*
 * PCT (Burckhardt et al., ASPLOS 2010): fibers get random distinct
 * priorities above @depth; @depth - 1 change points are drawn uniformly
 * over @steps decisions (an estimate of the run's length); at the i-th the
 * running fiber's priority drops to i; the highest-priority runnable fiber
 * runs.  A bug of depth d is found with probability >= 1/(n k^(d-1)).
 */
struct mmt_sched_source *mmt_sched_source_pct(uint64_t seed, unsigned int depth,
					      uint64_t steps);
/* Uniformly random among the runnable fibers (splitmix64 from @seed). */
struct mmt_sched_source *mmt_sched_source_random(uint64_t seed);
/* The next runnable id after the running one, cyclically. */
struct mmt_sched_source *mmt_sched_source_round_robin(void);
/*
 * Replay @s (copied).  A decision whose recorded fiber is not runnable is
 * a divergence (counted: mmt_dsched_divergences()); it and any decision
 * past the end fall back to "the running fiber goes on".
 */
struct mmt_sched_source *mmt_sched_source_replay(const struct mmt_schedule *s);
void mmt_sched_source_destroy(struct mmt_sched_source *src);

/* ---- the scheduler ---- */

struct mmt_dsched;

enum mmt_dsched_result {
	MMT_DSCHED_DONE, /* every CPU task ran to its end */
	MMT_DSCHED_DEADLOCK, /* nothing could run: reported, run abandoned */
	MMT_DSCHED_STEP_LIMIT, /* more points than the limit: reported */
	MMT_DSCHED_ERROR, /* misuse (host on a CPU, run twice) */
	MMT_DSCHED_STOPPED, /* mmt_dsched_stop(): run abandoned */
};

/*
 * A scheduler for @m taking decisions from @src (owned from now on, even
 * on failure).  NULL (with a reason in @err) on failure.
 */
struct mmt_dsched *mmt_dsched_create(struct mmt_machine *m,
				     struct mmt_sched_source *src, char *err,
				     size_t errlen);
/*
 * A fiber that attaches @task to CPU @cpu, runs @fn(@arg) there and
 * detaches.  Returns its fiber id, -1 when out of memory.  If CPU @cpu is
 * offline when the fiber starts (or goes offline while it waits for a
 * kthread to leave it), @fn runs on no CPU and takes one itself
 * (mmt_cpu_attach_wait()) once its program brought the CPU back online.
 */
int mmt_dsched_add_task(struct mmt_dsched *ds, int cpu, struct mmt_task *task,
			void (*fn)(void *arg), void *arg);
/* Report and end a run that exceeds @max scheduling points (0: none). */
void mmt_dsched_set_step_limit(struct mmt_dsched *ds, uint64_t max);
/*
 * An operation of the program completed (the interpreter says so).  The
 * step limit then tells a livelock (nothing completed in the last quarter
 * of the budget) from a run that was only long: mmt_dsched_over_budget().
 */
void mmt_dsched_op_done(struct mmt_dsched *ds);
bool mmt_dsched_over_budget(const struct mmt_dsched *ds);
/* Run until every CPU task has ended and no fiber is runnable. */
enum mmt_dsched_result mmt_dsched_run(struct mmt_dsched *ds);

const struct mmt_schedule *mmt_dsched_schedule(const struct mmt_dsched *ds);
/* The source the scheduler was created with. */
struct mmt_sched_source *mmt_dsched_source(const struct mmt_dsched *ds);
/* Scheduling points the fibers passed. */
uint64_t mmt_dsched_points(const struct mmt_dsched *ds);
/* Switches between fibers (and the host context). */
uint64_t mmt_dsched_switches(const struct mmt_dsched *ds);
/* Replay decisions whose recorded fiber was not runnable. */
uint64_t mmt_dsched_divergences(const struct mmt_dsched *ds);
/* The wait-for chain of the last deadlock the scheduler reported, or "". */
const char *mmt_dsched_deadlock_chain(const struct mmt_dsched *ds);

/*
 * Interleaving coverage: each pair of consecutive scheduling points on
 * different CPUs (a site is the point's kind and its call site in the
 * model, relative to the library's load address) is hashed; the hash
 * increments @counters[hash % n] (e.g. libFuzzer's extra counters) and
 * folds into mmt_dsched_interleaving_hash().
 */
void mmt_dsched_set_coverage(struct mmt_dsched *ds, uint8_t *counters,
			     size_t n);
uint64_t mmt_dsched_interleaving_hash(const struct mmt_dsched *ds);

/*
 * Per-task state of the caller's own (an interpreter's current operation):
 * @fn(@arg, task_arg, false) runs when a CPU task's fiber is switched out,
 * @fn(@arg, task_arg, true) when it is switched in (and when it starts),
 * task_arg being what mmt_dsched_add_task() was given.
 */
void mmt_dsched_set_switch_hook(struct mmt_dsched *ds,
				void (*fn)(void *arg, void *task_arg, bool in),
				void *arg);
/*
 * Interrupts.  At a scheduling point of a CPU task that may go on (not
 * spinning on a lock), with at least one runnable fiber, @pending(@arg,
 * task_arg) says whether an interrupt handler can be delivered on that
 * task's CPU now (the caller's rules: something pending, interrupts on,
 * the kernel's nesting).  If so the choice set gains one more entry after
 * the runnable fibers, MMT_DSCHED_IRQ_ID (recorded as that id); chosen,
 * @deliver(@arg, task_arg) runs the handler on the task's fiber right
 * there, and the task goes on after it.  A point where @pending says no
 * offers exactly the choices it did without the hook.
 */
#define MMT_DSCHED_IRQ_ID 0xffffu
void mmt_dsched_set_irq_hook(struct mmt_dsched *ds,
			     bool (*pending)(void *arg, void *task_arg),
			     void (*deliver)(void *arg, void *task_arg),
			     void *arg);
/* Interrupts delivered at decision points so far. */
uint64_t mmt_dsched_irqs(const struct mmt_dsched *ds);
/*
 * From a fiber: block until mmt_dsched_wake() of it (a permit: a wake
 * that came first makes it return at once; it may also return
 * spuriously, the caller re-checks).  @why names what it waits for in a
 * deadlock chain.  Not runnable meanwhile: the scheduler never picks it.
 */
bool mmt_dsched_wait(struct mmt_dsched *ds, const char *why);
/* Make fiber @id runnable again (never switches). */
void mmt_dsched_wake(struct mmt_dsched *ds, int id);
/* The running fiber's id, -1 for the host context. */
int mmt_dsched_current(const struct mmt_dsched *ds);
/* Is a fiber other than the running one runnable? */
bool mmt_dsched_others_runnable(struct mmt_dsched *ds);
/* From a fiber: give way to another runnable fiber if there is one. */
void mmt_dsched_yield(struct mmt_dsched *ds);
/*
 * End the run now (an interpreter's finding): from a fiber, switch to the
 * host context for good (never returns); mmt_dsched_run() returns
 * MMT_DSCHED_STOPPED and every other fiber is abandoned where it is, as
 * after a deadlock.
 */
void mmt_dsched_stop(struct mmt_dsched *ds);
/*
 * Detach from the machine (sched hook and thread engine) without freeing
 * the fibers: after it the machine may be destroyed, then the scheduler.
 */
void mmt_dsched_detach(struct mmt_dsched *ds);
/*
 * The machine was destroyed while the scheduler was attached (after an
 * abandoned run: its kthreads' joins fail through the engine instead of
 * joining pthreads that do not exist); forget it without touching it.
 */
void mmt_dsched_machine_gone(struct mmt_dsched *ds);

/* Detach from the machine and free every fiber (ended or abandoned). */
void mmt_dsched_destroy(struct mmt_dsched *ds);

/*
 * The whole of a one-task run (a scenario's engine): a scheduler for @m
 * from @src (owned), @fn(@arg) as @task on CPU @cpu, every kthread it
 * starts a fiber, run with a step limit of @max_points (0: none).  Returns
 * the scheduler, to be destroyed after the machine (an abandoned run's
 * kthreads: mmt_dsched_machine_gone(), then mmt_dsched_destroy()), with
 * the result in *@res; NULL with @err when it could not start.
 */
struct mmt_dsched *mmt_dsched_run_task(struct mmt_machine *m,
				       struct mmt_sched_source *src, int cpu,
				       struct mmt_task *task,
				       void (*fn)(void *arg), void *arg,
				       uint64_t max_points,
				       enum mmt_dsched_result *res, char *err,
				       size_t errlen);

#endif /* MMT_TRACE_DSCHED_H */
