/* SPDX-License-Identifier: MIT */
/*
 * tests/test_sched.c - waits, model time, kernel threads, and the deadlock
 * and stall detector.
 */
#define _GNU_SOURCE
#include <time.h>

#include "internal.h"
#include "mmt_test.h"

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool always(void *arg)
{
	(void)arg;
	return true;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static bool flag_set(void *arg)
{
	return atomic_load_explicit((_Atomic bool *)arg, memory_order_acquire);
}

MMT_TEST(wait_returns_at_once_when_the_condition_holds)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_waitqueue wq;

	mmt_waitqueue_init(&wq, "test-wq");
	MMT_CHECK_EQ(mmt_wait_event_timeout(&wq, always, NULL, MMT_WAIT_FOREVER,
					    NULL),
		     MMT_WAIT_DONE);
	MMT_CHECK_EQ(mmt_jiffies(m), 0);
	mmt_waitqueue_destroy(&wq);
	MMT_CHECK_CLEAN(m);
}

struct sleeper {
	long ticks;
	_Atomic uint64_t woke_at;
	_Atomic int result;
};

static void sleeper_fn(void *arg)
{
	struct sleeper *sl = arg;

	atomic_store(&sl->result, (int)mmt_io_schedule_timeout(sl->ticks));
	atomic_store(&sl->woke_at, mmt_jiffies(mmt_current_machine()));
}

MMT_TEST(timed_waits_jump_model_time_instead_of_sleeping)
{
	struct mmt_machine *m = t_machine(NULL);
	struct sleeper sl = { .ticks = 5 * MMT_HZ };
	struct mmt_kthread *k =
		mmt_kthread_run(m, "sleeper", 0, sleeper_fn, &sl);
	double t0 = real_s();

	MMT_CHECK(k != NULL);
	/* Both tasks asleep: the clock jumps to 5 s, then to 10 s. */
	MMT_CHECK_EQ(mmt_schedule_timeout(10 * MMT_HZ), MMT_WAIT_TIMEOUT);
	MMT_CHECK_EQ(mmt_jiffies(m), 10 * MMT_HZ);
	mmt_kthread_stop(k);
	MMT_CHECK_EQ(atomic_load(&sl.result), MMT_WAIT_TIMEOUT);
	MMT_CHECK_EQ(atomic_load(&sl.woke_at), 5 * MMT_HZ);
	MMT_CHECK_MSG(real_s() - t0 < 5.0,
		      "15 s of model time took %.1f s of real time",
		      real_s() - t0);
	MMT_CHECK_CLEAN(m);
}

struct waker_ctx {
	struct mmt_waitqueue wq;
	_Atomic bool flag;
	_Atomic int result;
};

static void waiter_fn(void *arg)
{
	struct waker_ctx *w = arg;

	atomic_store(&w->result,
		     (int)mmt_wait_event_timeout(&w->wq, flag_set, &w->flag,
						 MMT_WAIT_FOREVER, NULL));
}

MMT_TEST(wake_up_after_the_condition_changes_ends_the_wait)
{
	struct mmt_machine *m = t_machine(NULL);
	struct waker_ctx w = { .result = -1 };
	struct mmt_kthread *k;
	int i;

	mmt_waitqueue_init(&w.wq, "test-event");
	k = mmt_kthread_run(m, "waiter", 0, waiter_fn, &w);
	/* Let it block (real time passes, model time does not). */
	for (i = 0; i < 20; i++)
		mmt_schedule_timeout(1);
	atomic_store(&w.flag, true);
	mmt_wake_up(&w.wq);
	mmt_kthread_stop(k);
	MMT_CHECK_EQ(atomic_load(&w.result), MMT_WAIT_DONE);
	mmt_waitqueue_destroy(&w.wq);
	MMT_CHECK_CLEAN(m);
}

/*
 * waitqueue_active(): true while a task is queued that no wake-up has
 * reached (what a waker that skips the wake-up on false relies on), false
 * once the wake-up has.
 */
MMT_TEST(waitqueue_active_sees_a_queued_waiter_until_a_wake_up_reaches_it)
{
	struct mmt_machine *m = t_machine(NULL);
	struct waker_ctx w = { .result = -1 };
	struct mmt_kthread *k;
	int i;

	mmt_waitqueue_init(&w.wq, "test-event");
	MMT_CHECK(!mmt_waitqueue_active(&w.wq));
	k = mmt_kthread_run(m, "waiter", 0, waiter_fn, &w);
	MMT_CHECK(k != NULL);
	for (i = 0; i < 1000 && !mmt_waitqueue_active(&w.wq); i++)
		mmt_schedule_timeout(1);
	MMT_CHECK(mmt_waitqueue_active(&w.wq));
	atomic_store(&w.flag, true);
	mmt_wake_up(&w.wq);
	MMT_CHECK(!mmt_waitqueue_active(&w.wq));
	mmt_kthread_stop(k);
	MMT_CHECK_EQ(atomic_load(&w.result), MMT_WAIT_DONE);
	MMT_CHECK(!mmt_waitqueue_active(&w.wq));
	mmt_waitqueue_destroy(&w.wq);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(kthread_stop_wakes_a_thread_blocked_forever)
{
	struct mmt_machine *m = t_machine(NULL);
	struct waker_ctx w = { .result = -1 };
	struct mmt_kthread *k;

	mmt_waitqueue_init(&w.wq, "test-forever");
	k = mmt_kthread_run(m, "waiter", 0, waiter_fn, &w);
	mmt_kthread_stop(k);
	MMT_CHECK(atomic_load(&w.result) == MMT_WAIT_STOPPED ||
		  atomic_load(&w.result) == MMT_WAIT_DONE);
	MMT_CHECK(!mmt_sched_failed(m));
	mmt_waitqueue_destroy(&w.wq);
	MMT_CHECK_CLEAN(m);
}

static void describe_test_queue(const struct mmt_waitqueue *wq, char *buf,
				size_t len)
{
	(void)wq;
	snprintf(buf, len, "the element held by test");
}

MMT_TEST(everyone_blocked_without_a_timer_is_reported_as_deadlock_with_the_chain)
{
	struct mmt_machine *m = t_machine(NULL);
	struct waker_ctx w = { .result = -1 };
	struct mmt_waitqueue mine;
	struct mmt_kthread *k;
	const struct mmt_violation *v;
	double t0 = real_s();

	mmt_waitqueue_init(&w.wq, "pool-wait");
	w.wq.describe = describe_test_queue;
	mmt_waitqueue_init(&mine, "test-own-wait");
	k = mmt_kthread_run(m, "worker", 0, waiter_fn, &w);
	/* The test task blocks too: nobody can wake anybody. */
	MMT_CHECK_EQ(mmt_wait_event_timeout(&mine, never, NULL,
					    MMT_WAIT_FOREVER, NULL),
		     MMT_WAIT_DEADLOCK);
	mmt_kthread_stop(k);
	MMT_CHECK_EQ(atomic_load(&w.result), MMT_WAIT_DEADLOCK);
	MMT_CHECK_VIOLATED(m, "deadlock");
	v = mmt_violation_get(m, 0);
	MMT_CHECK(strstr(v->msg, "worker waits on pool-wait") != NULL);
	MMT_CHECK(strstr(v->msg, "the element held by test") != NULL);
	MMT_CHECK(strstr(v->msg, "test waits on test-own-wait") != NULL);
	MMT_CHECK(real_s() - t0 < 10.0);
	/* Afterwards nothing sleeps: the code unwinds. */
	MMT_CHECK_EQ(mmt_schedule_timeout(MMT_HZ), MMT_WAIT_DEADLOCK);
	mmt_violations_clear(m);
	mmt_waitqueue_destroy(&w.wq);
	mmt_waitqueue_destroy(&mine);
}

struct spinner {
	int progress_every; /* 0: never */
	_Atomic int loops;
	struct mmt_waitqueue done_wq;
	_Atomic bool done;
};

/* A throttled loop of timed waits, like throttle_vm_writeout(). */
static void spinner_fn(void *arg)
{
	struct spinner *sp = arg;
	struct mmt_machine *m = mmt_current_machine();

	while (mmt_schedule_timeout(MMT_HZ / 10) == MMT_WAIT_TIMEOUT) {
		int n = atomic_fetch_add(&sp->loops, 1) + 1;

		if (sp->progress_every && n % sp->progress_every == 0)
			mmt_sched_progress(m);
		if (n >= 200)
			break;
	}
	atomic_store(&sp->done, true);
	mmt_wake_up(&sp->done_wq);
}

static bool run_spinner(int progress_every, bool pressure)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct spinner sp = { .progress_every = progress_every };
	struct mmt_page *held[1100];
	struct mmt_zone_info zi;
	struct mmt_kthread *k;
	unsigned int n = 0;
	bool stalled;

	mmt_config_default(&cfg);
	cfg.stall_jiffies = 5 * MMT_HZ;
	m = t_machine(&cfg);
	/* Pressure: take DMA32 (zone 0) below its low watermark. */
	for (mmt_zone_info(m, 0, &zi); pressure && zi.free >= zi.wmark_low;
	     mmt_zone_info(m, 0, &zi)) {
		MMT_CHECK(n < 1100);
		held[n] = mmt_alloc_pages(
			__GFP_DMA32 | __GFP_MEMALLOC | __GFP_NOWARN, 0);
		MMT_CHECK(held[n] != NULL);
		n++;
	}
	mmt_waitqueue_init(&sp.done_wq, "test-main");
	k = mmt_kthread_run(m, "throttled", 0, spinner_fn, &sp);
	/* Wait for the spinner to finish or the machine to fail. */
	mmt_wait_event_timeout(&sp.done_wq, flag_set, &sp.done,
			       MMT_WAIT_FOREVER, NULL);
	mmt_kthread_stop(k);
	stalled = mmt_violated(m, "stall");
	/* Without a stall the loop ran to its end: 20 s of model time. */
	MMT_CHECK(stalled || atomic_load(&sp.loops) == 200);
	while (n)
		mmt_free_pages(held[--n], 0);
	mmt_waitqueue_destroy(&sp.done_wq);
	t_machine_done();
	return stalled;
}

MMT_TEST(timed_waits_without_progress_under_pressure_are_a_stall)
{
	MMT_CHECK(run_spinner(0, true)); /* livelock of timed waits */
	MMT_CHECK(!run_spinner(5, true)); /* progress: not a stall */
	MMT_CHECK(!run_spinner(0, false)); /* no pressure: the machine rests */
}

MMT_TEST(sleeping_in_atomic_context_is_reported_not_performed)
{
	struct mmt_machine *m = t_machine(NULL);

	mmt_preempt_disable();
	MMT_CHECK_EQ(mmt_schedule_timeout(MMT_HZ), MMT_WAIT_TIMEOUT);
	mmt_preempt_enable();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	MMT_CHECK_EQ(mmt_jiffies(m), 0);
	mmt_violations_clear(m);
}

struct crowd {
	struct mmt_waitqueue wq;
	_Atomic bool go;
	_Atomic int done;
};

static void crowd_fn(void *arg)
{
	struct crowd *c = arg;

	if (mmt_wait_event_timeout(&c->wq, flag_set, &c->go, MMT_WAIT_FOREVER,
				   NULL) == MMT_WAIT_DONE)
		atomic_fetch_add(&c->done, 1);
}

MMT_TEST(more_threads_than_cpus_share_them_and_all_wake)
{
	struct mmt_machine *m = t_machine(NULL); /* 2 CPUs */
	struct crowd c = { .done = 0 };
	struct mmt_kthread *k[6];
	int i;

	mmt_waitqueue_init(&c.wq, "test-crowd");
	for (i = 0; i < 6; i++)
		k[i] = mmt_kthread_run(m, "crowd", 0, crowd_fn, &c);
	for (i = 0; i < 30; i++)
		mmt_schedule_timeout(1);
	atomic_store(&c.go, true);
	mmt_wake_up(&c.wq);
	for (i = 0; i < 6; i++)
		mmt_kthread_stop(k[i]);
	MMT_CHECK_EQ(atomic_load(&c.done), 6);
	mmt_waitqueue_destroy(&c.wq);
	MMT_CHECK_CLEAN(m);
}
