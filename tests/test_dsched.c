/* SPDX-License-Identifier: MIT */
/*
 * tests/test_dsched.c - fibers (trace/fiber.h) and the deterministic
 * scheduler (trace/dsched.h): switching, determinism, record and replay,
 * exact blocking and deadlocks, kernel threads as fibers, and the seed-003
 * window found by the schedule sources without being told where it is.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsched.h"
#include "fiber.h"
#include "internal.h"
#include "mmt_test.h"

/* ---- fibers ---- */

/*
 * Raw fibers share these with no synchronization but the switch, which
 * under TSan is none (no_sync: that is the point); relaxed atomics say the
 * sharing is meant.
 */
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct ping {
	struct mmt_fiber host, f[2];
	int rounds, seen[2];
	long long fp[2]; /* floating point survives switches (x 2) */
};

static struct ping ping_x;

static void ping_fn(void *arg)
{
	int me = (int)(intptr_t)arg, i;
	volatile double acc = me + 0.5;

	for (i = 0; i < ping_x.rounds; i++) {
		ST(ping_x.seen[me], LD(ping_x.seen[me]) + 1);
		acc = acc * 1.0 + 1.0;
		/* 0 -> 1 -> host -> 0 ... */
		mmt_fiber_switch(&ping_x.f[me],
				 me == 0 ? &ping_x.f[1] : &ping_x.host);
	}
	ST(ping_x.fp[me], (long long)(acc * 2));
	mmt_fiber_exit_to(&ping_x.f[me], me == 0 ? &ping_x.f[1] : &ping_x.host);
}

MMT_TEST(fibers_switch_round_trips_and_keep_their_own_stacks)
{
	int i;

	memset(&ping_x, 0, sizeof(ping_x));
	ping_x.rounds = 1000;
	mmt_fiber_init_host(&ping_x.host);
	for (i = 0; i < 2; i++)
		MMT_CHECK(mmt_fiber_create(&ping_x.f[i], ping_fn,
					   (void *)(intptr_t)i) == 0);
	for (i = 0; i <= ping_x.rounds; i++)
		mmt_fiber_switch(&ping_x.host, &ping_x.f[0]);
	MMT_CHECK_EQ(LD(ping_x.seen[0]), 1000);
	MMT_CHECK_EQ(LD(ping_x.seen[1]), 1000);
	/* acc_0 = 0.5 + 1000, acc_1 = 1.5 + 1000 */
	MMT_CHECK_EQ(LD(ping_x.fp[0]), 2001);
	MMT_CHECK_EQ(LD(ping_x.fp[1]), 2003);
	for (i = 0; i < 2; i++)
		mmt_fiber_destroy(&ping_x.f[i]);
}

#define MANY 200

static struct mmt_fiber many_host, many_f[MANY];
static int many_sum;

static void many_fn(void *arg)
{
	int me = (int)(intptr_t)arg;
	char big[16384]; /* touches several pages of its stack */

	memset(big, me & 0xff, sizeof(big));
	mmt_fiber_switch(&many_f[me], &many_host);
	ST(many_sum, LD(many_sum) + big[me] + 1);
	mmt_fiber_exit_to(&many_f[me], &many_host);
}

static int nr_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	MMT_CHECK(f != NULL);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

MMT_TEST(many_fibers_run_interleaved_and_their_stacks_are_reclaimed)
{
	int round, i, maps_before;

	mmt_fiber_init_host(&many_host);
	maps_before = nr_mappings();
	for (round = 0; round < 5; round++) {
		ST(many_sum, 0);
		for (i = 0; i < MANY; i++)
			MMT_CHECK(mmt_fiber_create(&many_f[i], many_fn,
						   (void *)(intptr_t)i) == 0);
		/* Every fiber starts and stops halfway, then all finish. */
		for (i = 0; i < MANY; i++)
			mmt_fiber_switch(&many_host, &many_f[i]);
		for (i = MANY - 1; i >= 0; i--)
			mmt_fiber_switch(&many_host, &many_f[i]);
		for (i = 0; i < MANY; i++)
			mmt_fiber_destroy(&many_f[i]);
		/* sum of ((i & 0xff) as signed char) + 1 */
		{
			int want = 0;

			for (i = 0; i < MANY; i++)
				want += (signed char)(i & 0xff) + 1;
			MMT_CHECK_EQ(LD(many_sum), want);
		}
	}
	/* 1000 stacks made: what is left is at most the cache (16 stacks of
	 * two mappings each, the guard page splits one) and some slack.  TSan
	 * maps bookkeeping of its own per fiber it has seen. */
	MMT_CHECK_MSG(MMT_SANITIZE_TSAN || nr_mappings() <= maps_before + 40,
		      "%d mappings before, %d after 1000 fibers", maps_before,
		      nr_mappings());
}

/* ---- the scheduler: helpers ---- */

/*
 * A machine from t_machine() whose host thread then leaves CPU 0 (the
 * fibers need every CPU, and the detector must see them alone), and a
 * scheduler on it drawing from @src.
 */
static struct mmt_task *host_task;

static struct mmt_dsched *t_dsched(struct mmt_machine *m,
				   struct mmt_sched_source *src)
{
	char err[160];
	struct mmt_dsched *ds;

	host_task = mmt_current_task();
	mmt_cpu_detach();
	ds = mmt_dsched_create(m, src, err, sizeof(err));
	MMT_CHECK_MSG(ds != NULL, "mmt_dsched_create: %s", err);
	return ds;
}

/* The host thread back on CPU 0, the scheduler gone. */
static void t_dsched_done(struct mmt_machine *m, struct mmt_dsched *ds)
{
	mmt_dsched_destroy(ds);
	if (mmt_smp_processor_id() < 0)
		MMT_CHECK(mmt_cpu_attach(m, 0, host_task));
}

/* The message of the first violation of @check, or NULL. */
static const char *violation_msg(struct mmt_machine *m, const char *check)
{
	unsigned long i;

	for (i = 0; i < mmt_violation_count(m); i++) {
		const struct mmt_violation *v = mmt_violation_get(m, i);

		if (v && !strcmp(v->check, check))
			return v->msg;
	}
	return NULL;
}

/*
 * The workload of the determinism tests: two CPUs allocate objects and
 * swap them through shared slots, so each frees what the other allocated
 * (remote frees: SLUB's compare-exchanges, list locks, page allocator
 * locks).  The outcome is the order in which the steps completed and what
 * each swap found in its slot.  Fibers share the slots: one host thread,
 * and the scheduler switches only inside model calls, so the host mutex
 * around a swap is never held across a switch.
 */
#define XROUNDS 60
#define XSLOTS 8

struct xwork {
	struct mmt_kmem_cache *s;
	pthread_mutex_t mu;
	void *slot[XSLOTS];
	int nlog;
	int log[2 * XROUNDS * 2];
};

static struct xwork xw;

static void xlog(int v)
{
	pthread_mutex_lock(&xw.mu);
	if (xw.nlog < (int)(sizeof(xw.log) / sizeof(xw.log[0])))
		xw.log[xw.nlog++] = v;
	pthread_mutex_unlock(&xw.mu);
}

static void xbody(void *arg)
{
	int me = (int)(intptr_t)arg, i;

	for (i = 0; i < XROUNDS; i++) {
		void *p = mmt_kmem_cache_alloc(xw.s, GFP_KERNEL), *old;
		int k = (i * 3 + me) % XSLOTS;

		MMT_CHECK(p != NULL);
		memset(p, me + 1, 64);
		pthread_mutex_lock(&xw.mu);
		old = xw.slot[k];
		xw.slot[k] = p;
		pthread_mutex_unlock(&xw.mu);
		/* who ran, and whose object it found (0 none) */
		xlog(me * 1000 + i * 4 + (old ? *(unsigned char *)old : 0));
		if (old)
			mmt_kmem_cache_free(xw.s, old);
	}
}

struct xresult {
	struct mmt_schedule sched;
	int nlog, log[2 * XROUNDS * 2];
	uint64_t points, ihash;
	unsigned int cov_hits; /* interleaving counters that were hit */
	uint64_t divergences; /* replay decisions not followed */
	unsigned long violations;
	enum mmt_dsched_result res;
};

/* Interleaving coverage, as a fuzz target's extra counters would be. */
static uint8_t xcov[4096];

static void xrun(struct mmt_sched_source *src, struct xresult *r)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;
	int i;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	m = t_machine(&cfg);
	memset(&xw, 0, sizeof(xw));
	pthread_mutex_init(&xw.mu, NULL);
	xw.s = mmt_kmem_cache_create("xwork", 192, 0, 0, NULL);
	MMT_CHECK(xw.s != NULL);
	ds = t_dsched(m, src);
	memset(xcov, 0, sizeof(xcov));
	mmt_dsched_set_coverage(ds, xcov, sizeof(xcov));
	for (i = 0; i < 2; i++)
		MMT_CHECK(mmt_dsched_add_task(ds, i, mmt_task_create(m, "x", 0),
					      xbody, (void *)(intptr_t)i) == i);
	r->res = mmt_dsched_run(ds);
	mmt_schedule_init(&r->sched);
	for (i = 0; i < (int)mmt_dsched_schedule(ds)->n; i++)
		MMT_CHECK(mmt_schedule_push(&r->sched,
					    mmt_dsched_schedule(ds)->ids[i]));
	r->points = mmt_dsched_points(ds);
	r->divergences = mmt_dsched_divergences(ds);
	for (r->cov_hits = 0, i = 0; i < (int)sizeof(xcov); i++)
		r->cov_hits += xcov[i] != 0;
	r->ihash = mmt_dsched_interleaving_hash(ds);
	t_dsched_done(m, ds);
	for (i = 0; i < XSLOTS; i++)
		if (xw.slot[i])
			mmt_kmem_cache_free(xw.s, xw.slot[i]);
	mmt_kmem_cache_destroy(xw.s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	r->nlog = xw.nlog;
	memcpy(r->log, xw.log, sizeof(r->log));
	r->violations = mmt_violation_count(m);
	pthread_mutex_destroy(&xw.mu);
	t_machine_done();
}

static void check_same(const struct xresult *a, const struct xresult *b)
{
	MMT_CHECK_EQ(a->res, MMT_DSCHED_DONE);
	MMT_CHECK_EQ(b->res, MMT_DSCHED_DONE);
	MMT_CHECK_EQ(a->violations, 0);
	MMT_CHECK_EQ(b->violations, 0);
	MMT_CHECK(mmt_schedule_equal(&a->sched, &b->sched));
	MMT_CHECK_EQ(a->points, b->points);
	MMT_CHECK_EQ(a->ihash, b->ihash);
	MMT_CHECK_EQ(a->cov_hits, b->cov_hits);
	MMT_CHECK_EQ(a->nlog, 2 * XROUNDS);
	MMT_CHECK_EQ(a->nlog, b->nlog);
	MMT_CHECK(!memcmp(a->log, b->log, sizeof(a->log)));
}

/* Did the fibers really interleave (both ran before either ended)? */
static bool interleaved(const struct xresult *r)
{
	int i, first1 = -1, last0 = -1;

	for (i = 0; i < r->nlog; i++) {
		if (r->log[i] < 1000)
			last0 = i;
		else if (first1 < 0)
			first1 = i;
	}
	return first1 >= 0 && first1 < last0;
}

/* ---- the scheduler: determinism, record and replay ---- */

MMT_TEST(dsched_same_source_and_seed_give_the_same_schedule_and_outcome)
{
	struct xresult a, b, c;
	int kind;

	for (kind = 0; kind < 4; kind++) {
		uint8_t bytes[64];
		int i;

		for (i = 0; i < 64; i++)
			bytes[i] = (uint8_t)(i * 7 + 3);
		for (i = 0; i < 2; i++) {
			struct mmt_sched_source *src =
				kind == 0 ? mmt_sched_source_random(42) :
				kind == 1 ? mmt_sched_source_pct(42, 3, 500) :
				kind == 2 ? mmt_sched_source_round_robin() :
					    mmt_sched_source_bytes(bytes, 64);

			xrun(src, i ? &b : &a);
		}
		check_same(&a, &b);
		MMT_CHECK_MSG(a.sched.n > 20, "source %d: only %zu decisions",
			      kind, a.sched.n);
		MMT_CHECK_MSG(interleaved(&a),
			      "source %d: the two CPUs never interleaved",
			      kind);
		/* Interleaved: pairs of sites on different CPUs were seen
		 * (PCT of depth 3 switches CPUs only a few times). */
		MMT_CHECK_MSG(a.cov_hits >= (kind == 1 ? 1u : 3u),
			      "source %d: %u interleaving counters hit", kind,
			      a.cov_hits);
		mmt_schedule_free(&a.sched);
		mmt_schedule_free(&b.sched);
	}
	/* Another seed gives another schedule (the seed matters). */
	xrun(mmt_sched_source_random(42), &a);
	xrun(mmt_sched_source_random(43), &c);
	MMT_CHECK(!mmt_schedule_equal(&a.sched, &c.sched));
	MMT_CHECK(a.ihash != c.ihash);
	mmt_schedule_free(&a.sched);
	mmt_schedule_free(&c.sched);
}

MMT_TEST(dsched_a_recorded_schedule_replays_exactly_and_its_text_round_trips)
{
	struct xresult a, b;
	struct mmt_schedule parsed;
	char err[200], *text;
	int kind;

	for (kind = 0; kind < 2; kind++) {
		xrun(kind ? mmt_sched_source_random(7) :
			    mmt_sched_source_pct(7, 4, 400),
		     &a);
		text = mmt_schedule_format(&a.sched);
		MMT_CHECK(text != NULL);
		mmt_schedule_init(&parsed);
		MMT_CHECK_MSG(mmt_schedule_parse(text, &parsed, err,
						 sizeof(err)),
			      "%s", err);
		MMT_CHECK(mmt_schedule_equal(&parsed, &a.sched));
		/* Run-length: shorter than one token per decision. */
		MMT_CHECK(strchr(text, '*') != NULL);
		free(text);
		xrun(mmt_sched_source_replay(&parsed), &b);
		check_same(&a, &b);
		MMT_CHECK_EQ(b.divergences, 0);
		mmt_schedule_free(&parsed);
		mmt_schedule_free(&a.sched);
		mmt_schedule_free(&b.sched);
	}
}

MMT_TEST(dsched_schedule_text_is_parsed_strictly_with_the_column)
{
	struct mmt_schedule s;
	char err[200];

	mmt_schedule_init(&s);
	MMT_CHECK(mmt_schedule_parse(" 0*3 1  2*2\n", &s, err, sizeof(err)));
	MMT_CHECK_EQ(s.n, 6);
	MMT_CHECK(s.ids[0] == 0 && s.ids[2] == 0 && s.ids[3] == 1 &&
		  s.ids[5] == 2);
	mmt_schedule_free(&s);
	MMT_CHECK(mmt_schedule_parse("", &s, err, sizeof(err)) && !s.n);
	MMT_CHECK(!mmt_schedule_parse("0 1*x", &s, err, sizeof(err)));
	MMT_CHECK_MSG(strstr(err, "col 3: '1*x'"), "%s", err);
	MMT_CHECK(!mmt_schedule_parse("0*0", &s, err, sizeof(err)));
	MMT_CHECK_MSG(strstr(err, "col 1: '0*0'"), "%s", err);
	MMT_CHECK(!mmt_schedule_parse("65536", &s, err, sizeof(err)));
	MMT_CHECK(!mmt_schedule_parse("1 -2", &s, err, sizeof(err)));
	MMT_CHECK_MSG(strstr(err, "col 3"), "%s", err);
	MMT_CHECK(!mmt_schedule_parse("1\n2", &s, err, sizeof(err)));
	mmt_schedule_free(&s);
}

/* ---- the scheduler: exact blocking, deadlocks, kernel threads ---- */

struct waits {
	struct mmt_waitqueue wq[2];
	bool flag[2];
	enum mmt_wait_result res[2];
	uint64_t woke_at[2];
	long sleep[2];
};

static struct waits wt;

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

/* Each waits for the other's flag, which nobody sets. */
static void wait_other(void *arg)
{
	int me = (int)(intptr_t)arg;

	wt.res[me] = mmt_wait_event_timeout(&wt.wq[me], flag_set, &wt.flag[me],
					    MMT_WAIT_FOREVER, NULL);
}

MMT_TEST(dsched_two_tasks_waiting_on_each_other_are_a_deadlock_with_their_chain)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_dsched *ds;
	const char *msg;
	int i;

	memset(&wt, 0, sizeof(wt));
	mmt_waitqueue_init(&wt.wq[0], "wq-of-a");
	mmt_waitqueue_init(&wt.wq[1], "wq-of-b");
	ds = t_dsched(m, mmt_sched_source_random(1));
	MMT_CHECK(mmt_dsched_add_task(ds, 0, mmt_task_create(m, "a", 0),
				      wait_other, (void *)0) == 0);
	MMT_CHECK(mmt_dsched_add_task(ds, 1, mmt_task_create(m, "b", 0),
				      wait_other, (void *)1) == 1);
	/* The model's detector finds it; the waits unwind; the run ends. */
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	for (i = 0; i < 2; i++)
		MMT_CHECK_EQ(wt.res[i], MMT_WAIT_DEADLOCK);
	msg = violation_msg(m, "deadlock");
	MMT_CHECK_MSG(msg, "no deadlock reported");
	MMT_CHECK_MSG(strstr(msg, "task a waits on wq-of-a") &&
			      strstr(msg, "task b waits on wq-of-b") &&
			      strstr(msg, "no timeout"),
		      "chain: %s", msg);
	t_dsched_done(m, ds);
	mmt_waitqueue_destroy(&wt.wq[0]);
	mmt_waitqueue_destroy(&wt.wq[1]);
}

static void sleeper(void *arg)
{
	int me = (int)(intptr_t)arg;

	wt.res[me] = mmt_schedule_timeout(wt.sleep[me]);
	wt.woke_at[me] = mmt_jiffies(mmt_current_machine());
}

MMT_TEST(dsched_sleeping_tasks_wake_at_their_model_time_deadlines)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_dsched *ds;
	uint64_t t0 = mmt_jiffies(m);

	memset(&wt, 0, sizeof(wt));
	wt.sleep[0] = 500;
	wt.sleep[1] = 120;
	ds = t_dsched(m, mmt_sched_source_round_robin());
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "long", 0), sleeper,
			    (void *)0);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "short", 0), sleeper,
			    (void *)1);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	/* Nothing could run: the clock jumped to each deadline in turn. */
	MMT_CHECK_EQ(wt.res[0], MMT_WAIT_TIMEOUT);
	MMT_CHECK_EQ(wt.res[1], MMT_WAIT_TIMEOUT);
	MMT_CHECK_EQ(wt.woke_at[1] - t0, 120);
	MMT_CHECK_EQ(wt.woke_at[0] - t0, 500);
	t_dsched_done(m, ds);
	MMT_CHECK_CLEAN(m);
}

/*
 * The pattern of the interpreter's wait for another CPU's operation
 * (wait_deps in trace/trace_exec.c): the waiter leaves its CPU and parks
 * in the scheduler; woken, it counts as "away" for the model's detector
 * until it parks again.  Here the first wake finds its condition still
 * false (the step it waits for is 2) and the waker then sleeps with a
 * timeout: at the moment the waiter stops being away, nothing runs, yet
 * no CPU is released, so the model's detector never looks.
 */
static struct {
	struct mmt_dsched *ds;
	int waiter_id;
	/*
	 * Shared by the two fibers with no model lock between them: atomics,
	 * as the interpreter's own dependency counters are (under TSan a
	 * switch is no happens-before edge).
	 */
	_Atomic int step;
	_Atomic bool waiter_away;
	uint64_t waiter_done_at;
	enum mmt_wait_result sleep_res;
} pw;

static void parked_waiter(void *arg)
{
	struct mmt_machine *m = mmt_current_machine();

	(void)arg;
	mmt_cpu_detach();
	while (atomic_load(&pw.step) < 2) {
		if (atomic_exchange(&pw.waiter_away, false))
			mmt_engine_thread_pending(m, -1);
		mmt_dsched_wait(pw.ds, "step 2 of the sleeper");
	}
	pw.waiter_done_at = mmt_jiffies(m);
}

static void step_then_sleep(void *arg)
{
	struct mmt_machine *m = mmt_current_machine();

	(void)arg;
	atomic_store(&pw.step, 1);
	atomic_store(&pw.waiter_away, true);
	mmt_engine_thread_pending(m, 1);
	mmt_dsched_wake(pw.ds, pw.waiter_id);
	pw.sleep_res = mmt_schedule_timeout(40);
	atomic_store(&pw.step, 2);
	mmt_dsched_wake(pw.ds, pw.waiter_id);
}

MMT_TEST(dsched_when_no_fiber_can_run_model_time_jumps_to_the_earliest_deadline)
{
	struct mmt_machine *m = t_machine(NULL);
	uint64_t t0 = mmt_jiffies(m);

	memset(&pw, 0, sizeof(pw));
	/* Round robin: the sleeper runs first and goes to sleep. */
	pw.ds = t_dsched(m, mmt_sched_source_round_robin());
	pw.waiter_id = mmt_dsched_add_task(
		pw.ds, 0, mmt_task_create(m, "waiter", 0), parked_waiter, NULL);
	MMT_CHECK(pw.waiter_id >= 0);
	MMT_CHECK(mmt_dsched_add_task(pw.ds, 1,
				      mmt_task_create(m, "sleeper", 0),
				      step_then_sleep, NULL) >= 0);
	/* Before the fix: "deadlock", the waiter waiting for step 2 and the
	 * sleeper for its 40-jiffy timeout. */
	MMT_CHECK_EQ(mmt_dsched_run(pw.ds), MMT_DSCHED_DONE);
	MMT_CHECK_MSG(!violation_msg(m, "deadlock"), "%s",
		      violation_msg(m, "deadlock"));
	MMT_CHECK_EQ(pw.sleep_res, MMT_WAIT_TIMEOUT);
	MMT_CHECK_EQ(atomic_load(&pw.step), 2);
	MMT_CHECK_EQ(pw.waiter_done_at - t0, 40);
	t_dsched_done(m, pw.ds);
	MMT_CHECK_CLEAN(m);
}

static MMT_LOCK_CLASS(abba_a_class, "abba-A", MMT_LOCK_MUTEX);
static MMT_LOCK_CLASS(abba_b_class, "abba-B", MMT_LOCK_MUTEX);
static mmt_mutex_t abba[2];
static int abba_done[2];

/* Task 0 takes A then B, task 1 B then A. */
static void abba_body(void *arg)
{
	int me = (int)(intptr_t)arg;

	mmt_mutex_lock(&abba[me]);
	mmt_mutex_lock(&abba[!me]);
	abba_done[me] = 1;
	mmt_mutex_unlock(&abba[!me]);
	mmt_mutex_unlock(&abba[me]);
}

MMT_TEST(
	dsched_an_abba_pair_of_mutexes_is_a_deadlock_with_its_chain_and_the_run_ends)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;
	const char *chain;

	mmt_config_default(&cfg);
	cfg.lockdep = false; /* the scheduler's report, not lockdep's */
	m = t_machine(&cfg);
	mmt_mutex_init(&abba[0], &abba_a_class);
	mmt_mutex_init(&abba[1], &abba_b_class);
	abba_done[0] = abba_done[1] = 0;
	/* Round robin switches at every acquire: both take their first. */
	ds = t_dsched(m, mmt_sched_source_round_robin());
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "t0", 0), abba_body,
			    (void *)0);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "t1", 0), abba_body,
			    (void *)1);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DEADLOCK);
	MMT_CHECK(!abba_done[0] && !abba_done[1]);
	chain = mmt_dsched_deadlock_chain(ds);
	MMT_CHECK_MSG(strstr(chain, "fiber 0 (task t0) spins on abba-B held "
				    "by task t1 on cpu 1") &&
			      strstr(chain, "fiber 1 (task t1) spins on abba-A "
					    "held by task t0 on cpu 0"),
		      "chain: %s", chain);
	MMT_CHECK_VIOLATED(m, "deadlock");
	/* The abandoned tasks keep their CPUs: the host stays off them. */
	mmt_dsched_destroy(ds);
}

struct kt {
	struct mmt_waitqueue work_wq, done_wq;
	int work, done, loops;
	pthread_t host;
	bool on_host_thread;
	struct mmt_kthread *k[2];
};

static struct kt kt;

static bool kt_has_work(void *arg)
{
	(void)arg;
	return kt.work > kt.done;
}

static bool kt_caught_up(void *arg)
{
	return kt.done >= *(int *)arg;
}

/* A worker: wait for work (no timeout), do it, report; until stopped. */
static void kt_worker(void *arg)
{
	(void)arg;
	kt.on_host_thread = pthread_equal(pthread_self(), kt.host);
	while (!mmt_kthread_should_stop()) {
		enum mmt_wait_result r = mmt_wait_event_timeout(
			&kt.work_wq, kt_has_work, NULL, MMT_WAIT_FOREVER, NULL);

		kt.loops++;
		if (r != MMT_WAIT_DONE)
			continue;
		kt.done++;
		mmt_wake_up(&kt.done_wq);
	}
}

static void kt_idle(void *arg)
{
	(void)arg;
	while (mmt_wait_event_timeout(&kt.work_wq, flag_set, &wt.flag[0],
				      MMT_WAIT_FOREVER,
				      NULL) != MMT_WAIT_STOPPED)
		;
}

static void kt_client(void *arg)
{
	int i;

	(void)arg;
	kt.k[0] = mmt_kthread_run(mmt_current_machine(), "worker", 0, kt_worker,
				  NULL);
	MMT_CHECK(kt.k[0] != NULL);
	for (i = 1; i <= 5; i++) {
		kt.work++;
		mmt_wake_up(&kt.work_wq);
		MMT_CHECK_EQ(mmt_wait_event_timeout(&kt.done_wq, kt_caught_up,
						    &i, MMT_WAIT_FOREVER, NULL),
			     MMT_WAIT_DONE);
	}
	mmt_kthread_stop(kt.k[0]); /* joined from a fiber */
}

MMT_TEST(dsched_kthreads_run_as_fibers_are_woken_and_stopped)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_dsched *ds;

	memset(&kt, 0, sizeof(kt));
	memset(&wt, 0, sizeof(wt));
	kt.host = pthread_self();
	mmt_waitqueue_init(&kt.work_wq, "work");
	mmt_waitqueue_init(&kt.done_wq, "done");
	ds = t_dsched(m, mmt_sched_source_random(5));
	/* An idle kthread, started before the run, stopped after it. */
	kt.k[1] = mmt_kthread_run(m, "idle", 0, kt_idle, NULL);
	MMT_CHECK(kt.k[1] != NULL);
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "client", 0), kt_client,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	MMT_CHECK_EQ(kt.done, 5);
	MMT_CHECK(kt.on_host_thread);
	/* The idle kthread left blocked with no timeout is no deadlock. */
	MMT_CHECK_CLEAN(m);
	mmt_kthread_stop(kt.k[1]); /* joined from the host context */
	MMT_CHECK_CLEAN(m);
	t_dsched_done(m, ds);
	mmt_waitqueue_destroy(&kt.work_wq);
	mmt_waitqueue_destroy(&kt.done_wq);
}

/* ---- cpu hotplug under the scheduler ---- */

/*
 * A task sits on CPU 1 through a few scheduling points while CPU 0's task
 * takes CPU 1 offline (round robin: the offline starts while the sitter
 * is there).  The kernel's hotplug waits for the CPU's tasks to migrate:
 * the offline waits for the sitter to leave (at its end), takes the CPU
 * down, and a third task started on CPU 1 meanwhile waits, off every CPU,
 * for the cpu_online.  No "cpu-busy", no "cpu-offline".
 */
static struct {
	struct mmt_machine *m;
	struct mmt_dsched *ds;
	bool sitter_done, offline_ok, offline_saw_sitter_done, late_ran;
	bool late_started_off_cpu;
	int late_cpu;
} hp;

static void hp_sitter(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 8; i++)
		mmt_cond_resched();
	hp.sitter_done = true;
}

static void hp_offliner(void *arg)
{
	(void)arg;
	mmt_cond_resched(); /* the sitter and the late task start */
	hp.offline_ok = mmt_cpu_offline(hp.m, 1);
	hp.offline_saw_sitter_done = hp.sitter_done;
	mmt_cond_resched();
	MMT_CHECK(mmt_cpu_online(hp.m, 1));
}

/*
 * Started on CPU 1 while it is going offline: runs on no CPU, and takes
 * CPU 1 once it is back (the interpreter's thread waits for the
 * cpu_online operation; here, yielding until it came).
 */
static void hp_late(void *arg)
{
	if (mmt_smp_processor_id() < 0) {
		hp.late_started_off_cpu = true;
		while (!mmt_cpu_is_online(hp.m, 1))
			mmt_dsched_yield(hp.ds);
		MMT_CHECK(mmt_cpu_attach_wait(hp.m, 1, arg));
	}
	hp.late_cpu = mmt_smp_processor_id();
	hp.late_ran = true;
}

MMT_TEST(
	dsched_cpu_offline_waits_for_the_task_on_that_cpu_and_a_task_started_there_waits_for_the_online)
{
	struct mmt_config cfg;
	struct mmt_dsched *ds;
	struct mmt_task *late;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	memset(&hp, 0, sizeof(hp));
	hp.m = t_machine(&cfg);
	hp.late_cpu = -1;
	ds = hp.ds = t_dsched(hp.m, mmt_sched_source_round_robin());
	late = mmt_task_create(hp.m, "late", 0);
	mmt_dsched_add_task(ds, 0, mmt_task_create(hp.m, "offliner", 0),
			    hp_offliner, NULL);
	mmt_dsched_add_task(ds, 1, mmt_task_create(hp.m, "sitter", 0),
			    hp_sitter, NULL);
	mmt_dsched_add_task(ds, 1, late, hp_late, late);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	MMT_CHECK(hp.offline_ok);
	MMT_CHECK(hp.offline_saw_sitter_done);
	MMT_CHECK(hp.late_ran);
	MMT_CHECK(hp.late_started_off_cpu);
	MMT_CHECK_EQ(hp.late_cpu, 1);
	MMT_CHECK(mmt_cpu_is_online(hp.m, 1));
	MMT_CHECK_CLEAN(hp.m);
	t_dsched_done(hp.m, ds);
}

/* ---- the seed-003 window, found by the schedule sources ---- */

/*
 * CPU 1 frees an object of a full slab of a memcg's child cache (SLUB
 * freezes the slab onto its cpu partial list: a preemption window between
 * the decision and the compare-exchange), CPU 0 takes the group offline
 * (its caches are marked dead and shrunk).  The test does not say where to
 * switch: the source does.  With slub-frozen-dead-cache a dead cache can
 * keep a frozen empty slab: the teardown check reports dead-cache-leak.
 */
struct s003 {
	struct mmt_kmem_cache *s;
	struct mmt_memcg *cg;
	void *victim;
};

static struct s003 s3;

static void s003_free(void *arg)
{
	(void)arg;
	mmt_kmem_cache_free(s3.s, s3.victim);
}

static void s003_offline(void *arg)
{
	(void)arg;
	mmt_memcg_offline(s3.cg);
}

/* One run; true if the machine reported dead-cache-leak.  *decisions: how
 * many the run took. */
static bool s003_run(bool bug, struct mmt_sched_source *src, size_t *decisions)
{
	enum {
		N = 512
	};
	static void *objs[N];
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;
	bool leak;
	int i;

	mmt_config_default(&cfg);
	cfg.slab = MMT_SLAB_SLUB;
	cfg.nr_cpus = 2;
	cfg.bugs = bug ? 1ull << MMT_BUG_SLUB_FROZEN_DEAD_CACHE : 0;
	m = t_machine(&cfg);
	memset(&s3, 0, sizeof(s3));
	s3.s = mmt_kmem_cache_create("seed003", 256, 0, MMT_SLAB_ACCOUNT, NULL);
	s3.cg = mmt_memcg_create(m, "victim");
	mmt_task_set_memcg(mmt_current_task(), s3.cg);
	/* Three slabs' worth on cpu 0: the first slab ends up full. */
	for (i = 0; i < N; i++)
		objs[i] = mmt_kmem_cache_alloc(s3.s, GFP_KERNEL);
	s3.victim = objs[0];
	mmt_task_set_memcg(mmt_current_task(), NULL);

	ds = t_dsched(m, src);
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "offliner", 0),
			    s003_offline, NULL);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "freer", 0), s003_free,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	*decisions = mmt_dsched_schedule(ds)->n;
	t_dsched_done(m, ds);
	for (i = 1; i < N; i++)
		mmt_kmem_cache_free(s3.s, objs[i]);
	mmt_slab_teardown_check(m);
	leak = mmt_violated(m, "dead-cache-leak");
	if (!bug)
		MMT_CHECK_CLEAN(m);
	t_machine_done();
	return leak;
}

#define S003_RUNS 300

/* Runs of PCT (depth 2, seeds 1..) until the leak; 0 if none. */
static int s003_pct_search(bool bug, uint64_t k)
{
	int run;

	for (run = 1; run <= S003_RUNS; run++) {
		size_t d;

		if (s003_run(bug, mmt_sched_source_pct((uint64_t)run, 2, k),
			     &d))
			return run;
	}
	return 0;
}

MMT_TEST(dsched_pct_finds_the_seed003_window_with_the_bug_and_nothing_without)
{
	size_t k;
	int found;

	/* PCT needs the run's length: one round-robin run measures it. */
	s003_run(false, mmt_sched_source_round_robin(), &k);
	MMT_CHECK(k > 2);
	found = s003_pct_search(true, k);
	MMT_CHECK_MSG(found, "PCT did not find the window in %d runs",
		      S003_RUNS);
	fprintf(stderr, "seed003: %zu decisions a run; found by PCT run %d\n",
		k, found);
	/* The same runs (and more) without the bug: nothing. */
	MMT_CHECK_EQ(s003_pct_search(false, k), 0);
}

MMT_TEST(dsched_random_finds_the_seed003_window_with_the_bug_and_nothing_without)
{
	int run, found = 0, clean_found = 0;
	size_t d;

	for (run = 1; run <= S003_RUNS && !found; run++)
		if (s003_run(true, mmt_sched_source_random((uint64_t)run), &d))
			found = run;
	MMT_CHECK_MSG(found, "random did not find the window in %d runs",
		      S003_RUNS);
	fprintf(stderr, "seed003: found by random run %d\n", found);
	for (run = 1; run <= found; run++)
		clean_found += s003_run(
			false, mmt_sched_source_random((uint64_t)run), &d);
	MMT_CHECK_EQ(clean_found, 0);
}

/* ---- races between simulated CPUs ---- */

/*
 * Two CPUs increment a plain variable with a preemption point between the
 * read and the write: the scheduler makes the lost update happen (both read
 * 0), in every build.  Under TSan the same run is a data race report, with
 * no happens-before between the fibers but what the model provides: it
 * runs in a child process whose report the test reads.
 */
static int racy_x;

static void racy_body(void *arg)
{
	int v = racy_x;

	(void)arg;
	mmt_cond_resched(); /* the other CPU runs here */
	racy_x = v + 1;
}

static void racy_run(void)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_dsched *ds;

	racy_x = 0;
	ds = t_dsched(m, mmt_sched_source_random(3));
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "inc0", 0), racy_body,
			    NULL);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "inc1", 0), racy_body,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	t_dsched_done(m, ds);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	dsched_two_cpus_racing_on_a_plain_variable_lose_an_update_and_tsan_reports_it)
{
#if !MMT_SANITIZE_TSAN
	racy_run();
	MMT_CHECK_EQ(racy_x, 1); /* the lost update */
#else
	/* The race is only run in the child: this process's output must stay
	 * free of reports (and TSan reports a race once per process). */
	char path[] = "/tmp/mmt-dsched-race-XXXXXX", buf[16384];
	int fd = mkstemp(path), status;
	pid_t pid;
	ssize_t n;

	MMT_CHECK(fd >= 0);
	fflush(NULL);
	pid = fork();
	MMT_CHECK(pid >= 0);
	if (!pid) {
		dup2(fd, 2);
		t_machine_done();
		racy_run();
		t_machine_done();
		/* exit(), not _exit(): TSan turns 0 into 66 after a report. */
		exit(racy_x == 1 ? 0 : 3);
	}
	MMT_CHECK(waitpid(pid, &status, 0) == pid);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	MMT_CHECK(n > 0);
	buf[n] = '\0';
	MMT_CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 3,
		      "no lost update in the child");
	/* Not printed: the report text would fail this test under ctest. */
	MMT_CHECK_MSG(strstr(buf, "ThreadSanitizer: data race") &&
			      strstr(buf, "racy_body") &&
			      WEXITSTATUS(status) == 66,
		      "the child's TSan output did not name the race in "
		      "racy_body (%zd bytes, exit %d)",
		      n, WEXITSTATUS(status));
#endif
}

/* Each waits, spinning through cond_resched, for a flag nobody sets. */
static bool spin_flag;

static void spin_forever(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&spin_flag, __ATOMIC_RELAXED))
		mmt_cond_resched();
}

MMT_TEST(dsched_a_livelock_is_ended_by_the_step_limit_and_reported)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_dsched *ds;

	spin_flag = false;
	ds = t_dsched(m, mmt_sched_source_random(9));
	mmt_dsched_set_step_limit(ds, 5000);
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "spin0", 0), spin_forever,
			    NULL);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "spin1", 0), spin_forever,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_STEP_LIMIT);
	MMT_CHECK_EQ(mmt_dsched_points(ds), 5001);
	MMT_CHECK(!mmt_dsched_over_budget(ds));
	MMT_CHECK_VIOLATED(m, "stall");
	/* The abandoned tasks keep their CPUs: the host stays off them. */
	mmt_dsched_destroy(ds);
}

/* Spins as spin_forever does, but completes an "operation" every 100. */
static struct mmt_dsched *working_ds;

static void spin_working(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!__atomic_load_n(&spin_flag, __ATOMIC_RELAXED)) {
		mmt_cond_resched();
		if (++n % 100 == 0)
			mmt_dsched_op_done(
				__atomic_load_n(&working_ds, __ATOMIC_RELAXED));
	}
}

/*
 * The same limit met by threads that still complete operations: the run
 * was long, not stuck - over budget, which the interpreter ends blocked
 * (not a finding); the livelock above is not.
 */
MMT_TEST(
	dsched_step_limit_with_operations_completing_is_over_budget_not_a_livelock)
{
	struct mmt_machine *m = t_machine(NULL);

	spin_flag = false;
	__atomic_store_n(&working_ds, t_dsched(m, mmt_sched_source_random(9)),
			 __ATOMIC_RELAXED);
	mmt_dsched_set_step_limit(working_ds, 5000);
	mmt_dsched_add_task(working_ds, 0, mmt_task_create(m, "work0", 0),
			    spin_working, NULL);
	mmt_dsched_add_task(working_ds, 1, mmt_task_create(m, "work1", 0),
			    spin_working, NULL);
	MMT_CHECK_EQ(mmt_dsched_run(working_ds), MMT_DSCHED_STEP_LIMIT);
	MMT_CHECK(mmt_dsched_over_budget(working_ds));
	MMT_CHECK_VIOLATED(m, "stall");
	mmt_dsched_destroy(working_ds);
}

/* ---- the model's own kthreads under the scheduler ---- */

static struct {
	long free_after;
	enum mmt_wait_result slept;
} ksw;

static long zone0_free(struct mmt_machine *m)
{
	struct mmt_zone_info zi;

	mmt_zone_info(m, 0, &zi);
	return (long)zi.free;
}

/* Map clean page cache below the low mark, then sleep: kswapd's turn. */
static void ksw_client(void *arg)
{
	struct mmt_machine *m = mmt_current_machine();

	(void)arg;
	while (zone0_free(m) >= 80)
		MMT_CHECK(mmt_lru_add_file(m, false, NULL));
	MMT_CHECK(mmt_lru_add_file(m, false, NULL)); /* wakes kswapd */
	ksw.slept = mmt_schedule_timeout(MMT_HZ);
	ksw.free_after = zone0_free(m);
}

MMT_TEST(dsched_kswapd_is_a_fiber_that_reclaims_to_high_and_stops)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_reclaim_stats st;
	struct mmt_dsched *ds;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.dma32_pages = 0;
	cfg.normal_pages = 1024;
	cfg.pcp_batch = 1;
	cfg.pcp_high = 1;
	m = t_machine(&cfg);
	mmt_zone_set_watermarks(m, 0, 64, 80, 96);
	memset(&ksw, 0, sizeof(ksw));
	ds = t_dsched(m, mmt_sched_source_random(11));
	MMT_CHECK(mmt_kswapd_start(m)); /* a fiber: the engine is attached */
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "client", 0), ksw_client,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	MMT_CHECK_EQ(ksw.slept, MMT_WAIT_TIMEOUT);
	MMT_CHECK_MSG(ksw.free_after >= 96, "free %ld after kswapd, high 96",
		      ksw.free_after);
	mmt_reclaim_stats(m, &st);
	MMT_CHECK(st.kswapd_wakeups > 0 && st.kswapd_passes > 0);
	MMT_CHECK(st.reclaimed > 0);
	MMT_CHECK_EQ(st.direct_reclaims, 0);
	MMT_CHECK(mmt_cpu_attach(m, 0, host_task));
	mmt_kswapd_stop(m); /* from the host: runs the fiber to its end */
	MMT_CHECK_CLEAN(m);
	t_dsched_done(m, ds);
}

MMT_TEST(dsched_a_replay_that_cannot_be_followed_counts_its_divergences)
{
	struct xresult a, b;
	struct mmt_schedule bad;
	size_t i;

	xrun(mmt_sched_source_random(21), &a);
	/* Fiber 7 never exists: every decision diverges and falls back. */
	mmt_schedule_init(&bad);
	for (i = 0; i < a.sched.n; i++)
		MMT_CHECK(mmt_schedule_push(&bad, 7));
	xrun(mmt_sched_source_replay(&bad), &b);
	MMT_CHECK_EQ(b.res, MMT_DSCHED_DONE);
	MMT_CHECK(b.divergences > 0);
	MMT_CHECK_EQ(b.divergences, b.sched.n);
	MMT_CHECK_EQ(b.violations, 0);
	mmt_schedule_free(&bad);
	mmt_schedule_free(&a.sched);
	mmt_schedule_free(&b.sched);
}

/* ---- RCU's kernel threads as fibers ---- */

static struct {
	struct mmt_machine *m;
	unsigned long pending_after;
	int spins;
} rk;

/* Queue for a grace period and never step one: only the threads can. */
static void rk_client(void *arg)
{
	void *o = mmt_kmalloc(64, GFP_KERNEL);

	(void)arg;
	MMT_CHECK(o != NULL);
	mmt_kvfree_rcu(o);
	for (rk.spins = 0;
	     rk.spins < 10000 && mmt_kvfree_rcu_pending(rk.m) != 0; rk.spins++)
		mmt_cond_resched();
	rk.pending_after = mmt_kvfree_rcu_pending(rk.m);
}

MMT_TEST(rcu_gp_thread_and_kvfree_rcu_worker_free_what_no_cpu_steps)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 3; /* the client's, and one for each thread */
	m = t_machine(&cfg);

	memset(&rk, 0, sizeof(rk));
	rk.m = m;
	ds = t_dsched(m, mmt_sched_source_round_robin());
	MMT_CHECK(mmt_rcu_gp_kthread_start(m));
	MMT_CHECK(mmt_kvfree_rcu_worker_start(m));
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "client", 0), rk_client,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	MMT_CHECK_EQ(rk.pending_after, 0);
	MMT_CHECK(mmt_rcu_gp_completed(m) >= 1);
	MMT_CHECK_CLEAN(m);
	mmt_rcu_gp_kthread_stop(m); /* joined from the host context */
	mmt_kvfree_rcu_worker_stop(m);
	MMT_CHECK_CLEAN(m);
	t_dsched_done(m, ds);
}

/* ---- interrupts offered at scheduling points ---- */

/* Three hard irqs pending on each CPU of the xwork run. */
static int xirq_left[2];
static int xirq_run[2];

static bool xirq_pending(void *arg, void *task_arg)
{
	int cpu = (int)(intptr_t)task_arg;

	(void)arg;
	return xirq_left[cpu] > 0 && !mmt_irqs_disabled();
}

/* On the interrupted task's fiber: a GFP_ATOMIC allocation in hard irq. */
static void xirq_deliver(void *arg, void *task_arg)
{
	int cpu = (int)(intptr_t)task_arg;
	void *p;

	(void)arg;
	MMT_CHECK_EQ(mmt_smp_processor_id(), cpu);
	MMT_CHECK(!mmt_irqs_disabled());
	xirq_left[cpu]--;
	mmt_irq_enter();
	p = mmt_kmem_cache_alloc(xw.s, GFP_ATOMIC);
	if (p)
		mmt_kmem_cache_free(xw.s, p);
	mmt_irq_exit();
	xirq_run[cpu]++;
	xlog(9000 + cpu);
}

static uint64_t xirq_delivered;

/* xrun() with the interrupt hook set. */
static void xrun_irq(struct mmt_sched_source *src, struct xresult *r)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;
	int i;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	m = t_machine(&cfg);
	memset(&xw, 0, sizeof(xw));
	pthread_mutex_init(&xw.mu, NULL);
	xw.s = mmt_kmem_cache_create("xwork", 192, 0, 0, NULL);
	MMT_CHECK(xw.s != NULL);
	xirq_left[0] = xirq_left[1] = 3;
	xirq_run[0] = xirq_run[1] = 0;
	ds = t_dsched(m, src);
	mmt_dsched_set_irq_hook(ds, xirq_pending, xirq_deliver, NULL);
	for (i = 0; i < 2; i++)
		MMT_CHECK(mmt_dsched_add_task(ds, i, mmt_task_create(m, "x", 0),
					      xbody, (void *)(intptr_t)i) == i);
	r->res = mmt_dsched_run(ds);
	mmt_schedule_init(&r->sched);
	for (i = 0; i < (int)mmt_dsched_schedule(ds)->n; i++)
		MMT_CHECK(mmt_schedule_push(&r->sched,
					    mmt_dsched_schedule(ds)->ids[i]));
	r->points = mmt_dsched_points(ds);
	r->divergences = mmt_dsched_divergences(ds);
	r->ihash = mmt_dsched_interleaving_hash(ds);
	r->cov_hits = 0;
	xirq_delivered = mmt_dsched_irqs(ds);
	t_dsched_done(m, ds);
	for (i = 0; i < XSLOTS; i++)
		if (xw.slot[i])
			mmt_kmem_cache_free(xw.s, xw.slot[i]);
	mmt_kmem_cache_destroy(xw.s);
	MMT_CHECK(mmt_slab_teardown_check(m));
	r->nlog = xw.nlog;
	memcpy(r->log, xw.log, sizeof(r->log));
	r->violations = mmt_violation_count(m);
	pthread_mutex_destroy(&xw.mu);
	t_machine_done();
}

/*
 * Every source handles the interrupt choice: the same source and seed
 * deliver at the same points (the logs, with the interrupts in them, are
 * equal), each delivery is recorded as MMT_DSCHED_IRQ_ID, and a replay
 * of the record delivers at the same points with no divergence.  Random,
 * round robin and bytes deliver them all; nothing is delivered twice.
 */
MMT_TEST(dsched_every_source_takes_the_interrupt_choice_and_replays_it)
{
	int kind;

	for (kind = 0; kind < 4; kind++) {
		struct xresult a, b, c;
		uint8_t bytes[256];
		uint64_t got;
		size_t i, ids;
		int j;

		for (j = 0; j < 256; j++)
			bytes[j] = (uint8_t)(j * 7 + 3);
		for (j = 0; j < 2; j++) {
			struct mmt_sched_source *src =
				kind == 0 ? mmt_sched_source_random(42) :
				kind == 1 ? mmt_sched_source_pct(42, 3, 500) :
				kind == 2 ? mmt_sched_source_round_robin() :
					    mmt_sched_source_bytes(bytes, 256);

			xrun_irq(src, j ? &b : &a);
		}
		got = xirq_delivered;
		MMT_CHECK_EQ(a.res, MMT_DSCHED_DONE);
		MMT_CHECK_EQ(a.violations, 0);
		MMT_CHECK(mmt_schedule_equal(&a.sched, &b.sched));
		MMT_CHECK_EQ(a.nlog, b.nlog);
		MMT_CHECK(!memcmp(a.log, b.log, sizeof(a.log)));
		for (ids = 0, i = 0; i < a.sched.n; i++)
			ids += a.sched.ids[i] == MMT_DSCHED_IRQ_ID;
		MMT_CHECK_EQ(ids, got);
		MMT_CHECK(xirq_run[0] <= 3 && xirq_run[1] <= 3);
		if (kind != 1)
			MMT_CHECK_MSG(got == 6, "source %d: %llu delivered",
				      kind, (unsigned long long)got);
		xrun_irq(mmt_sched_source_replay(&a.sched), &c);
		MMT_CHECK_EQ(c.divergences, 0);
		MMT_CHECK(mmt_schedule_equal(&a.sched, &c.sched));
		MMT_CHECK(!memcmp(a.log, c.log, sizeof(a.log)));
		mmt_schedule_free(&a.sched);
		mmt_schedule_free(&b.sched);
		mmt_schedule_free(&c.sched);
	}
}

/* ---- RCU waiters under the scheduler ---- */

/*
 * An adversarial but legal schedule, as PCT's with the reader at the
 * lowest priority: the runnable fiber with the highest id always runs.
 */
static unsigned int highest_pick(struct mmt_sched_source *src, uint64_t step,
				 const uint16_t *ids, unsigned int n, int cur)
{
	(void)src;
	(void)step;
	(void)ids;
	(void)cur;
	return n - 1;
}

static void highest_destroy(struct mmt_sched_source *src)
{
	(void)src;
}

static const struct mmt_sched_source_ops highest_ops = {
	.name = "highest-id",
	.pick = highest_pick,
	.destroy = highest_destroy,
};

static struct mmt_sched_source highest_src = { .ops = &highest_ops };

static struct {
	struct mmt_waitqueue wq;
	bool inside, left, caller_done;
	struct mmt_dsched *ds;
	int reader_id;
	int order[4], nr; /* 0: the reader left; 1, 2: a waiter returned */
} rw;

/* Fiber 0, cpu 1: a read-side section over many scheduling points. */
static void rw_reader(void *arg)
{
	int i;

	(void)arg;
	mmt_rcu_read_lock();
	rw.inside = true;
	mmt_wake_up(&rw.wq);
	for (i = 0; i < 50; i++)
		mmt_cond_resched();
	rw.left = true;
	rw.order[rw.nr++] = 0;
	mmt_rcu_read_unlock();
}

/* Fibers 1 and 2: once the reader is inside, wait for a grace period. */
static void rw_waiter(void *arg)
{
	MMT_CHECK_EQ(mmt_wait_event_timeout(&rw.wq, flag_set, &rw.inside,
					    MMT_WAIT_FOREVER, NULL),
		     MMT_WAIT_DONE);
	mmt_synchronize_rcu();
	rw.order[rw.nr++] = (int)(intptr_t)arg;
}

MMT_TEST(
	dsched_synchronize_rcu_sleeps_until_a_reader_the_schedule_starves_leaves)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 3;
	m = t_machine(&cfg);
	memset(&rw, 0, sizeof(rw));
	mmt_waitqueue_init(&rw.wq, "reader-inside");
	ds = t_dsched(m, &highest_src);
	/* A polling waiter would yield to the other forever: a livelock. */
	mmt_dsched_set_step_limit(ds, 100000);
	mmt_dsched_add_task(ds, 1, mmt_task_create(m, "reader", 0), rw_reader,
			    NULL);
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "waiter1", 0), rw_waiter,
			    (void *)1);
	mmt_dsched_add_task(ds, 2, mmt_task_create(m, "waiter2", 0), rw_waiter,
			    (void *)2);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	/* Both slept (never ran again) until the reader had left. */
	MMT_CHECK_EQ(rw.nr, 3);
	MMT_CHECK_EQ(rw.order[0], 0);
	MMT_CHECK(mmt_rcu_gp_completed(m) >= 1);
	MMT_CHECK_CLEAN(m);
	t_dsched_done(m, ds);
	mmt_waitqueue_destroy(&rw.wq);
}

/* The reader waits for the synchronize_rcu() caller to be done. */
static void rw_stuck_reader(void *arg)
{
	(void)arg;
	mmt_rcu_read_lock();
	rw.inside = true;
	mmt_wake_up(&rw.wq);
	while (!rw.caller_done)
		mmt_dsched_wait(rw.ds, "the synchronize_rcu() caller");
	mmt_rcu_read_unlock();
}

static void rw_caller(void *arg)
{
	(void)arg;
	mmt_wait_event_timeout(&rw.wq, flag_set, &rw.inside, MMT_WAIT_FOREVER,
			       NULL);
	mmt_synchronize_rcu();
	rw.caller_done = true;
	mmt_dsched_wake(rw.ds, rw.reader_id);
}

static char *rcu_deadlock_run(unsigned long *points)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	const char *msg;
	char *copy;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	m = t_machine(&cfg);
	memset(&rw, 0, sizeof(rw));
	mmt_waitqueue_init(&rw.wq, "reader-inside");
	rw.ds = t_dsched(m, mmt_sched_source_random(5));
	rw.reader_id = mmt_dsched_add_task(rw.ds, 1,
					   mmt_task_create(m, "reader", 0),
					   rw_stuck_reader, NULL);
	mmt_dsched_add_task(rw.ds, 0, mmt_task_create(m, "caller", 0),
			    rw_caller, NULL);
	MMT_CHECK_EQ(mmt_dsched_run(rw.ds), MMT_DSCHED_DEADLOCK);
	*points = mmt_dsched_points(rw.ds);
	msg = violation_msg(m, "deadlock");
	MMT_CHECK_MSG(msg, "no deadlock reported");
	copy = strdup(msg ? msg : "");
	/* The abandoned tasks keep their CPUs: the host stays off them. */
	mmt_dsched_destroy(rw.ds);
	t_machine_done();
	mmt_waitqueue_destroy(&rw.wq);
	return copy;
}

MMT_TEST(
	dsched_a_reader_waiting_for_the_synchronize_rcu_caller_is_a_deadlock_naming_its_cpu)
{
	unsigned long p1, p2;
	char *a = rcu_deadlock_run(&p1), *b = rcu_deadlock_run(&p2);

	MMT_CHECK_MSG(strstr(a, "synchronize_rcu(): grace period 1, held "
				"back by cpu(s) 1 inside read-side") &&
			      strstr(a, "the synchronize_rcu() caller"),
		      "chain: %s", a);
	/* No timer, no wall clock: the same report at the same point. */
	MMT_CHECK_STR(a, b);
	MMT_CHECK_EQ(p1, p2);
	free(a);
	free(b);
}

static struct {
	struct mmt_machine *m;
	unsigned long pending_after;
	unsigned int gps;
} kb;

/* kvfree_rcu, then its barrier: only the worker frees, never this CPU. */
static void kb_client(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		void *o = mmt_kmalloc(64, GFP_KERNEL);

		MMT_CHECK(o != NULL);
		mmt_kvfree_rcu(o);
	}
	kb.gps = mmt_kvfree_rcu_barrier(kb.m);
	kb.pending_after = mmt_kvfree_rcu_pending(kb.m);
}

MMT_TEST(dsched_kvfree_rcu_barrier_sleeps_until_the_worker_has_freed)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_dsched *ds;

	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	m = t_machine(&cfg);
	memset(&kb, 0, sizeof(kb));
	kb.m = m;
	ds = t_dsched(m, mmt_sched_source_round_robin());
	mmt_dsched_set_step_limit(ds, 100000);
	MMT_CHECK(mmt_kvfree_rcu_worker_start(m));
	mmt_dsched_add_task(ds, 0, mmt_task_create(m, "client", 0), kb_client,
			    NULL);
	MMT_CHECK_EQ(mmt_dsched_run(ds), MMT_DSCHED_DONE);
	MMT_CHECK_EQ(kb.pending_after, 0);
	MMT_CHECK_EQ(kb.gps, 1); /* one grace period, no more */
	MMT_CHECK_CLEAN(m);
	mmt_kvfree_rcu_worker_stop(m);
	MMT_CHECK_CLEAN(m);
	t_dsched_done(m, ds);
}
