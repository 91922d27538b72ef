/* SPDX-License-Identifier: MIT */
/*
 * trace/dsched.c - the deterministic scheduler (trace/dsched.h).
 *
 * What it does.  Every CPU task and kernel thread of a machine is a fiber
 * (trace/fiber.h) on the host thread that calls mmt_dsched_run().  Exactly
 * one runs at a time.  A fiber gives way only at the model's scheduling
 * points (the machine's sched hook: lock acquire/release, contended locks,
 * compare-exchanges, preemption windows, explicit cond_resched points) and
 * when it blocks (the model's thread engine hooks, mmt/engine.h: park,
 * join, waiting for a CPU).  At each point the runnable fibers are
 * collected; with two or more, the schedule source picks one and the
 * choice is recorded.  The model's thread-locals are saved and restored at
 * every switch (mmt_thread_state_save/restore).
 *
 * Exact blocking.  A parked fiber is not runnable until unparked: the
 * model's wait code says when (a wake, a timeout it resolves by jumping
 * model time when nothing can run, or a reported deadlock), so the
 * scheduler neither polls nor duplicates that logic.  A fiber that reports
 * MMT_SP_LOCK_CONTENDED on an object is not runnable until some fiber
 * reports MMT_SP_LOCK_RELEASE on the same object.  A spin on something that
 * has no release point (SLUB's wait for a cpu slab's owner to leave its
 * fast path) is retried when nothing else can run: all spinners become
 * runnable once; if they only spin again (no other point passed since the
 * last retry) nothing can ever free them.  At an MMT_SP_EXPLICIT point
 * (cond_resched, the spin-wait of memcg offline) the running fiber yields:
 * another runnable fiber is chosen if there is one - no fairness: a source
 * may keep choosing another spinner, so waits on other fibers sleep.
 *
 * The host context.  run() dispatches from the host context; a fiber that
 * finds nothing runnable switches back to it, and the host decides: every
 * CPU task ended (idle kthreads may stay parked) - done; spinners to retry
 * - retry; a sleeper with a deadline - model time jumps to it
 * (mmt_engine_spin_time), as the model's detector would have done had its
 * counts seen the moment; else a deadlock among the fibers that the
 * model's detector did not see (spins on locks, threads waiting for a CPU
 * nobody frees, a task waiting for another's operation): a "deadlock"
 * violation naming every blocked fiber and what it waits for, and the run
 * is abandoned - its fibers are never resumed, their stacks are freed by
 * mmt_dsched_destroy().  So a run never hangs.
 *
 * Counting for the model's detector: a CPU task added is "pending" (away,
 * coming back) until it holds its CPU; the last CPU task to end marks the
 * host context as away until run() returns, so idle kthreads left blocked
 * with no timeout are not "every task blocked" when the work is over.
 *
 * Interrupts.  With an irq hook set (mmt_dsched_set_irq_hook), a
 * scheduling point of a CPU task that may go on, on whose CPU the hook
 * says an interrupt handler can be delivered now, offers one more choice
 * than the runnable fibers: MMT_DSCHED_IRQ_ID, the last id of the set.
 * Chosen, the handler runs right there on the task's fiber (the hook's
 * deliver), nested in whatever the task was doing; its own scheduling
 * points are points like any other.  Where no handler is deliverable the
 * choice set is what it always was, so schedules recorded before
 * interrupts existed replay unchanged.
 *
 * Invariants: ds->cur is the running context (a fiber or the host); a
 * fiber is in exactly one state; only the host context frees fibers it is
 * not running on (and a joiner frees the kthread it joined).
 *
 * Locks: none.  The scheduler is single-threaded by construction; no host
 * mutex is ever held across a switch (the model releases its own before
 * parking, and the sched hook is never called under one).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsched.h"
#include "fiber.h"

/*
 * Under TSan the switch is no happens-before edge (trace/fiber.c); the
 * start and the end of a fiber are, as pthread_create and pthread_join
 * are: what the creator did before is visible to the fiber, what the fiber
 * did is visible to whoever saw it end.
 */
#if MMT_SANITIZE_TSAN
#include <sanitizer/tsan_interface.h>
#define HB_RELEASE(p) __tsan_release(p)
#define HB_ACQUIRE(p) __tsan_acquire(p)
/*
 * This file is not instrumented, but the C library's interceptors are
 * (realloc, free, snprintf) and so is the model's lock holder report: the
 * scheduler's memory handled by them in one fiber and then another would
 * be a race.  They run with the current fiber's accesses ignored.
 */
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define IGNORE_BEGIN() AnnotateIgnoreWritesBegin(__FILE__, __LINE__)
#define IGNORE_END() AnnotateIgnoreWritesEnd(__FILE__, __LINE__)
#else
#define HB_RELEASE(p) ((void)(p))
#define HB_ACQUIRE(p) ((void)(p))
#define IGNORE_BEGIN() ((void)0)
#define IGNORE_END() ((void)0)
#endif

enum fstate {
	F_RUNNABLE,
	F_PARKED, /* until unpark */
	F_SPINNING, /* until a release of spin_obj (or a retry) */
	F_DONE, /* its function returned */
};

struct mmt_thread {
	struct mmt_fiber f;
	struct mmt_dsched *ds;
	unsigned int id;
	enum fstate state;
	bool permit; /* an unpark came while it was not parked */
	bool is_task; /* a CPU task (else a kthread) */
	bool joined; /* a kthread whose joiner took it */
	const void *spin_obj;
	const char *why; /* what a parked fiber waits for */
	char start_sync, end_sync; /* TSan: creation and end edges */
	struct mmt_thread *joiner;
	char name[32];
	int cpu;
	struct mmt_task *task;
	void (*fn)(void *arg);
	void *arg;
	_Alignas(16) unsigned char tls[]; /* mmt_thread_state_save() */
};

struct mmt_dsched {
	struct mmt_machine *m;
	struct mmt_sched_source *src;
	struct mmt_thread *host;
	struct mmt_thread **fib; /* by id; NULL once freed */
	unsigned int nr, cap;
	uint16_t *ids; /* scratch: runnable ids */
	struct mmt_thread *cur;
	unsigned int live_tasks;
	bool ran, aborted, host_away;
	enum mmt_dsched_result result;
	uint64_t points, switches, progress, retry_progress, max_points;
	uint64_t op_points; /* points at the last completed operation */
	bool over_budget; /* the step limit met operations still completing */
	struct mmt_schedule rec;
	/* interleaving coverage */
	uint8_t *cov;
	size_t cov_n;
	int last_cpu;
	uint64_t last_site, ihash;
	char chain[2048];
	/* interrupts (mmt_dsched_set_irq_hook) */
	bool (*irq_pending)(void *arg, void *task_arg);
	void (*irq_deliver)(void *arg, void *task_arg);
	void *irq_arg;
	uint64_t irqs; /* delivered at decision points */
	/* the user's per-task state (mmt_dsched_set_switch_hook) */
	void (*swhook)(void *arg, void *task_arg, bool in);
	void *swarg;
	/* TSan: a fiber that hands over to the host (nothing else can run,
	 * or it ended) orders what it did before the host's next steps; the
	 * host hands over to a fiber with no edge at all. */
	char to_host;
};

static const struct mmt_engine_ops engine_ops;

/* ---- recorded schedules ---- */

void mmt_schedule_init(struct mmt_schedule *s)
{
	memset(s, 0, sizeof(*s));
}

void mmt_schedule_free(struct mmt_schedule *s)
{
	free(s->ids);
	mmt_schedule_init(s);
}

bool mmt_schedule_push(struct mmt_schedule *s, uint16_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint16_t *p = realloc(s->ids, cap * sizeof(*p));

		if (!p)
			return false;
		s->ids = p;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
	return true;
}

bool mmt_schedule_equal(const struct mmt_schedule *a,
			const struct mmt_schedule *b)
{
	return a->n == b->n &&
	       (!a->n || !memcmp(a->ids, b->ids, a->n * sizeof(a->ids[0])));
}

char *mmt_schedule_format(const struct mmt_schedule *s)
{
	size_t cap = 64, len = 0, i = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	buf[0] = '\0';
	while (i < s->n) {
		size_t j = i;
		char tok[40];
		int k;

		while (j < s->n && s->ids[j] == s->ids[i])
			j++;
		if (j - i == 1)
			k = snprintf(tok, sizeof(tok), "%s%u", len ? " " : "",
				     s->ids[i]);
		else
			k = snprintf(tok, sizeof(tok), "%s%u*%zu",
				     len ? " " : "", s->ids[i], j - i);
		if (len + (size_t)k + 1 > cap) {
			char *p;

			cap = 2 * (len + (size_t)k + 1);
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		memcpy(buf + len, tok, (size_t)k + 1);
		len += (size_t)k;
		i = j;
	}
	return buf;
}

/* Digits at *p as a number no more than @max; false if none or too big. */
static bool parse_num(const char **p, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *q = *p;

	if (*q < '0' || *q > '9')
		return false;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > max)
			return false;
	}
	*p = q;
	*out = v;
	return true;
}

bool mmt_schedule_parse(const char *text, struct mmt_schedule *out, char *err,
			size_t errlen)
{
	const char *p = text;

	for (;;) {
		const char *tok, *end;
		uint64_t id, count = 1;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		tok = p;
		for (end = p;
		     *end && *end != ' ' && *end != '\t' && *end != '\n'; end++)
			;
		if (!parse_num(&p, UINT16_MAX, &id) ||
		    (*p == '*' &&
		     (p++, !parse_num(&p, 100000000, &count) || !count)) ||
		    p != end) {
			snprintf(err, errlen,
				 "col %d: '%.*s': expected a fiber id (0..%u) "
				 "or ID*COUNT (count 1..100000000)",
				 (int)(tok - text) + 1,
				 (int)(end - tok > 40 ? 40 : end - tok), tok,
				 UINT16_MAX);
			return false;
		}
		while (count--)
			if (!mmt_schedule_push(out, (uint16_t)id)) {
				snprintf(err, errlen, "col %d: out of memory",
					 (int)(tok - text) + 1);
				return false;
			}
	}
	if (*p == '\n' && p[1]) {
		snprintf(err, errlen, "col %d: a schedule is one line",
			 (int)(p - text) + 1);
		return false;
	}
	return true;
}

/* ---- schedule sources ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Index of @cur among @ids, or 0 (the lowest runnable id). */
static unsigned int keep_current(const uint16_t *ids, unsigned int n, int cur)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ids[i] == cur)
			return i;
	return 0;
}

struct src_bytes {
	struct mmt_sched_source base;
	size_t len, pos;
	uint8_t bytes[];
};

static unsigned int bytes_pick(struct mmt_sched_source *src, uint64_t step,
			       const uint16_t *ids, unsigned int n, int cur)
{
	struct src_bytes *b = (struct src_bytes *)src;

	(void)step;
	if (b->pos < b->len)
		return b->bytes[b->pos++] % n;
	return keep_current(ids, n, cur);
}

static void free_source(struct mmt_sched_source *src)
{
	free(src);
}

static const struct mmt_sched_source_ops bytes_ops = {
	.name = "bytes",
	.pick = bytes_pick,
	.destroy = free_source,
};

struct mmt_sched_source *mmt_sched_source_bytes(const uint8_t *bytes,
						size_t len)
{
	struct src_bytes *b = malloc(sizeof(*b) + len);

	if (!b)
		return NULL;
	b->base.ops = &bytes_ops;
	b->len = len;
	b->pos = 0;
	if (len)
		memcpy(b->bytes, bytes, len);
	return &b->base;
}

struct src_pct {
	struct mmt_sched_source base;
	uint64_t rng;
	unsigned int depth, nr_change, next_change;
	uint64_t *change; /* sorted decision indices */
	uint64_t *prio; /* by fiber id */
	unsigned int nr_prio;
	/*
	 * MMT_DSCHED_IRQ_ID's: an interrupt is one more thread to PCT, of a
	 * priority of its own, drawn from the seed without touching the
	 * stream the fibers' priorities and change points come from (runs
	 * with no interrupt are what they were).
	 */
	uint64_t irq_prio;
};

static void pct_added(struct mmt_sched_source *src, unsigned int id)
{
	struct src_pct *p = (struct src_pct *)src;

	if (id >= p->nr_prio) {
		unsigned int n = id + 16;
		uint64_t *q = realloc(p->prio, n * sizeof(*q));

		if (!q)
			return; /* pick() treats unknown ids as priority 0 */
		memset(q + p->nr_prio, 0, (n - p->nr_prio) * sizeof(*q));
		p->prio = q;
		p->nr_prio = n;
	}
	/* Above every change-point priority (1 .. depth - 1); 2^40 values
	 * make ties (broken by the lower id) vanishingly rare. */
	p->prio[id] = p->depth + 1 + (splitmix64(&p->rng) >> 24);
}

static unsigned int pct_pick(struct mmt_sched_source *src, uint64_t step,
			     const uint16_t *ids, unsigned int n, int cur)
{
	struct src_pct *p = (struct src_pct *)src;
	unsigned int i, best = 0;
	uint64_t bp = 0;

	while (p->next_change < p->nr_change &&
	       p->change[p->next_change] <= step) {
		p->next_change++;
		if (cur >= 0 && (unsigned int)cur < p->nr_prio)
			p->prio[cur] = p->next_change; /* the i-th: i */
	}
	for (i = 0; i < n; i++) {
		uint64_t pr = ids[i] == MMT_DSCHED_IRQ_ID ? p->irq_prio :
			      ids[i] < p->nr_prio	  ? p->prio[ids[i]] :
							    0;

		if (i == 0 || pr > bp) {
			best = i;
			bp = pr;
		}
	}
	return best;
}

static void pct_destroy(struct mmt_sched_source *src)
{
	struct src_pct *p = (struct src_pct *)src;

	free(p->change);
	free(p->prio);
	free(p);
}

static const struct mmt_sched_source_ops pct_ops = {
	.name = "pct",
	.fiber_added = pct_added,
	.pick = pct_pick,
	.destroy = pct_destroy,
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct mmt_sched_source *mmt_sched_source_pct(uint64_t seed, unsigned int depth,
					      uint64_t steps)
{
	struct src_pct *p = calloc(1, sizeof(*p));
	unsigned int i;

	if (!p)
		return NULL;
	p->base.ops = &pct_ops;
	p->rng = seed;
	p->depth = depth ? depth : 1;
	p->nr_change = p->depth - 1;
	p->change = calloc(p->nr_change + 1, sizeof(*p->change));
	if (!p->change) {
		free(p);
		return NULL;
	}
	for (i = 0; i < p->nr_change; i++)
		p->change[i] = steps ? splitmix64(&p->rng) % steps : 0;
	{
		uint64_t irq_rng = seed ^ 0x6972717072696f00ull; /* "irqprio" */

		p->irq_prio = p->depth + 1 + (splitmix64(&irq_rng) >> 24);
	}
	qsort(p->change, p->nr_change, sizeof(*p->change), cmp_u64);
	return &p->base;
}

struct src_random {
	struct mmt_sched_source base;
	uint64_t rng;
};

static unsigned int random_pick(struct mmt_sched_source *src, uint64_t step,
				const uint16_t *ids, unsigned int n, int cur)
{
	(void)step, (void)ids, (void)cur;
	return (unsigned int)(splitmix64(&((struct src_random *)src)->rng) % n);
}

static const struct mmt_sched_source_ops random_ops = {
	.name = "random",
	.pick = random_pick,
	.destroy = free_source,
};

struct mmt_sched_source *mmt_sched_source_random(uint64_t seed)
{
	struct src_random *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	r->base.ops = &random_ops;
	r->rng = seed;
	return &r->base;
}

static unsigned int rr_pick(struct mmt_sched_source *src, uint64_t step,
			    const uint16_t *ids, unsigned int n, int cur)
{
	unsigned int i;

	(void)src, (void)step;
	/* The running CPU's interrupt comes right after it in the cycle. */
	if (ids[n - 1] == MMT_DSCHED_IRQ_ID)
		return n - 1;
	for (i = 0; i < n; i++)
		if ((int)ids[i] > cur)
			return i;
	return 0;
}

static const struct mmt_sched_source_ops rr_ops = {
	.name = "round-robin",
	.pick = rr_pick,
	.destroy = free_source,
};

struct mmt_sched_source *mmt_sched_source_round_robin(void)
{
	struct mmt_sched_source *s = malloc(sizeof(*s));

	if (s)
		s->ops = &rr_ops;
	return s;
}

struct src_replay {
	struct mmt_sched_source base;
	struct mmt_schedule s;
	uint64_t divergences;
};

static unsigned int replay_pick(struct mmt_sched_source *src, uint64_t step,
				const uint16_t *ids, unsigned int n, int cur)
{
	struct src_replay *r = (struct src_replay *)src;
	unsigned int i;

	if (step < r->s.n) {
		for (i = 0; i < n; i++)
			if (ids[i] == r->s.ids[step])
				return i;
	}
	r->divergences++;
	return keep_current(ids, n, cur);
}

static void replay_destroy(struct mmt_sched_source *src)
{
	mmt_schedule_free(&((struct src_replay *)src)->s);
	free(src);
}

static const struct mmt_sched_source_ops replay_ops = {
	.name = "replay",
	.pick = replay_pick,
	.destroy = replay_destroy,
};

struct mmt_sched_source *mmt_sched_source_replay(const struct mmt_schedule *s)
{
	struct src_replay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base.ops = &replay_ops;
	if (s->n) {
		r->s.ids = malloc(s->n * sizeof(*s->ids));
		if (!r->s.ids) {
			free(r);
			return NULL;
		}
		memcpy(r->s.ids, s->ids, s->n * sizeof(*s->ids));
		r->s.n = r->s.cap = s->n;
	}
	return &r->base;
}

void mmt_sched_source_destroy(struct mmt_sched_source *src)
{
	if (src)
		src->ops->destroy(src);
}

/* ---- fibers of the scheduler ---- */

static struct mmt_thread *thread_alloc(void)
{
	return calloc(1, sizeof(struct mmt_thread) + mmt_thread_state_size());
}

static bool add_fiber(struct mmt_dsched *ds, struct mmt_thread *t)
{
	if (ds->nr == ds->cap) {
		unsigned int cap = ds->cap ? 2 * ds->cap : 8;
		struct mmt_thread **f = realloc(ds->fib, cap * sizeof(*f));
		uint16_t *ids;

		if (!f)
			return false;
		ds->fib = f;
		/* One more: the interrupt choice (MMT_DSCHED_IRQ_ID). */
		ids = realloc(ds->ids, (cap + 1) * sizeof(*ids));
		if (!ids)
			return false;
		ds->ids = ids;
		ds->cap = cap;
	}
	if (ds->nr >= MMT_DSCHED_IRQ_ID) /* that id is the interrupt's */
		return false;
	t->ds = ds;
	t->id = ds->nr;
	ds->fib[ds->nr++] = t;
	if (ds->src->ops->fiber_added)
		ds->src->ops->fiber_added(ds->src, t->id);
	return true;
}

/* Runnable fiber ids into ds->ids, ascending, leaving out @skip. */
static unsigned int collect_runnable(struct mmt_dsched *ds,
				     const struct mmt_thread *skip)
{
	unsigned int i, n = 0;

	for (i = 0; i < ds->nr; i++) {
		struct mmt_thread *t = ds->fib[i];

		if (t && t->state == F_RUNNABLE && t != skip)
			ds->ids[n++] = (uint16_t)i;
	}
	return n;
}

/*
 * TSan: the host after a run (or an abandoned run) comes after everything
 * every fiber did up to its last switch - the fibers that will never run
 * again included, as a joined thread's work comes before its joiner.
 */
static void host_sync(struct mmt_dsched *ds)
{
	unsigned int i;

	for (i = 0; i < ds->nr; i++)
		if (ds->fib[i])
			HB_ACQUIRE(&ds->fib[i]->end_sync);
}

/*
 * One of the @n choices in ds->ids (runnable fibers, perhaps the interrupt
 * last), by the source when there is a choice: its id.
 */
static uint16_t choose_id(struct mmt_dsched *ds, unsigned int n)
{
	unsigned int idx = 0;

	if (n > 1) {
		int cur = ds->cur == ds->host ? -1 : (int)ds->cur->id;

		idx = ds->src->ops->pick(ds->src, ds->rec.n, ds->ids, n, cur) %
		      n;
		/* Out of memory only loses the record, not the run. */
		IGNORE_BEGIN();
		(void)mmt_schedule_push(&ds->rec, ds->ids[idx]);
		IGNORE_END();
	}
	return ds->ids[idx];
}

/* One of the @n runnable fibers (no interrupt among them). */
static struct mmt_thread *choose(struct mmt_dsched *ds, unsigned int n)
{
	return ds->fib[choose_id(ds, n)];
}

static void switch_to(struct mmt_dsched *ds, struct mmt_thread *next)
{
	struct mmt_thread *prev = ds->cur;

	mmt_thread_state_save(prev->tls);
	if (ds->swhook && prev->is_task)
		ds->swhook(ds->swarg, prev->arg, false);
	ds->cur = next;
	ds->switches++;
	if (next == ds->host)
		HB_RELEASE(&ds->to_host);
	if (prev != ds->host)
		HB_RELEASE(&prev->end_sync); /* for the host: see host_sync() */
	mmt_fiber_switch(&prev->f, &next->f);
	/* Resumed: whoever switched here set ds->cur = prev. */
	if (prev == ds->host)
		HB_ACQUIRE(&ds->to_host);
	mmt_thread_state_restore(prev->tls);
	if (ds->swhook && prev->is_task)
		ds->swhook(ds->swarg, prev->arg, true);
}

/*
 * The running fiber gives way: to a runnable fiber the source picks (itself
 * included when it is runnable, unless @yield), or to the host context
 * when none is.
 */
static void schedule(struct mmt_dsched *ds, bool yield)
{
	struct mmt_thread *cur = ds->cur, *next;
	unsigned int n;

	if (MMT_UNLIKELY(ds->aborted)) {
		switch_to(ds, ds->host); /* never comes back */
		return;
	}
	n = collect_runnable(ds, yield ? cur : NULL);
	if (!n && yield && cur->state == F_RUNNABLE)
		return; /* nobody else can run */
	/*
	 * An interrupt pending on the running task's CPU is one more
	 * choice, last (ids ascending: MMT_DSCHED_IRQ_ID is the largest).
	 */
	if (MMT_UNLIKELY(ds->irq_pending) && n && cur->is_task &&
	    cur->state == F_RUNNABLE &&
	    ds->irq_pending(ds->irq_arg, cur->arg)) {
		uint16_t id;

		ds->ids[n++] = MMT_DSCHED_IRQ_ID;
		id = choose_id(ds, n);
		if (id == MMT_DSCHED_IRQ_ID) {
			/* On this fiber, nested in what it was doing. */
			ds->irqs++;
			ds->irq_deliver(ds->irq_arg, cur->arg);
			return;
		}
		next = ds->fib[id];
	} else {
		next = n ? choose(ds, n) : ds->host;
	}
	if (next != cur)
		switch_to(ds, next);
}

/* A fiber's function returned: wake its joiner, go elsewhere for good. */
static __attribute__((noreturn)) void fiber_end(struct mmt_thread *t)
{
	struct mmt_dsched *ds = t->ds;
	struct mmt_thread *next;
	unsigned int n;

	t->state = F_DONE;
	HB_RELEASE(&t->end_sync);
	HB_RELEASE(&ds->to_host);
	ds->progress++;
	if (t->is_task)
		ds->live_tasks--;
	if (t->joiner && t->joiner->state == F_PARKED)
		t->joiner->state = F_RUNNABLE;
	n = ds->aborted ? 0 : collect_runnable(ds, NULL);
	next = n ? choose(ds, n) : ds->host;
	ds->cur = next;
	ds->switches++;
	mmt_fiber_exit_to(&t->f, &next->f);
}

static void task_main(void *arg)
{
	struct mmt_thread *t = arg;
	struct mmt_dsched *ds = t->ds;
	struct mmt_machine *m = ds->m;
	bool on;

	HB_ACQUIRE(&t->start_sync);
	mmt_thread_state_restore(t->tls);
	if (ds->swhook)
		ds->swhook(ds->swarg, t->arg, true);
	/*
	 * A kthread may hold the CPU: wait for it rather than fail.  A CPU
	 * that is offline (a program took it down before this thread first
	 * ran, or while it waited) is no failure either: the task starts off
	 * every CPU and its function takes the CPU when it needs it, once a
	 * cpu_online brought it back (mmt_dsched_add_task()).
	 */
	on = !mmt_cpu_is_online(m, t->cpu) ||
	     mmt_cpu_attach_wait(m, t->cpu, t->task) ||
	     !mmt_cpu_is_online(m, t->cpu);
	mmt_engine_thread_pending(m, -1);
	if (on) {
		t->fn(t->arg);
		if (mmt_smp_processor_id() >= 0) {
			if (ds->live_tasks == 1 && !ds->host_away) {
				/* The work is over: idle kthreads left
				 * blocked are not a deadlock. */
				ds->host_away = true;
				mmt_engine_thread_pending(m, 1);
			}
			mmt_cpu_detach();
		}
	}
	fiber_end(t);
}

static void kthread_main(void *arg)
{
	struct mmt_thread *t = arg;

	HB_ACQUIRE(&t->start_sync);
	mmt_thread_state_restore(t->tls);
	t->fn(t->arg);
	fiber_end(t);
}

/* ---- the sched hook ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void cover(struct mmt_dsched *ds, int cpu, enum mmt_sched_kind kind,
		  const void *ra)
{
	/* Relative to the library: the same in every process. */
	uint64_t site = mix64(
		((uint64_t)((uintptr_t)ra - (uintptr_t)&mmt_machine_create)
		 << 3) |
		(uint64_t)kind);

	if (cpu != ds->last_cpu && ds->last_cpu >= 0) {
		uint64_t h = mix64(ds->last_site * 31 + site);

		ds->ihash = mix64(ds->ihash ^ h);
		if (ds->cov)
			ds->cov[h % ds->cov_n]++;
	}
	ds->last_cpu = cpu;
	ds->last_site = site;
}

/*
 * The run's budget of scheduling points is spent.  With an operation
 * completed in the last quarter of it the run was working, only long (a
 * program that thrashes memory on four CPUs): over budget, which the
 * interpreter ends blocked; with none, the threads went round without
 * finishing anything: a livelock, a finding.
 */
static void step_limit(struct mmt_dsched *ds)
{
	uint64_t since = ds->points - ds->op_points;

	ds->over_budget = since < ds->max_points / 4;
	if (ds->over_budget)
		mmt_violation(ds->m, "stall",
			      "the deterministic scheduler passed %llu scheduling "
			      "points (limit %llu) with operations still "
			      "completing (the last %llu points ago): over the "
			      "run's budget",
			      (unsigned long long)ds->points,
			      (unsigned long long)ds->max_points,
			      (unsigned long long)since);
	else
		mmt_violation(ds->m, "stall",
			      "the deterministic scheduler passed %llu scheduling "
			      "points (limit %llu), the last %llu without an "
			      "operation completing: a livelock",
			      (unsigned long long)ds->points,
			      (unsigned long long)ds->max_points,
			      (unsigned long long)since);
	ds->aborted = true;
	ds->result = MMT_DSCHED_STEP_LIMIT;
}

void mmt_dsched_op_done(struct mmt_dsched *ds)
{
	ds->op_points = ds->points;
}

bool mmt_dsched_over_budget(const struct mmt_dsched *ds)
{
	return ds->over_budget;
}

static void sched_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		       const void *obj, void *arg)
{
	struct mmt_dsched *ds = arg;
	struct mmt_thread *cur = ds->cur;
	unsigned int i;

	(void)m;
	if (cur == ds->host)
		return; /* set-up code on the host context: not scheduled */
	ds->points++;
	cover(ds, cpu, kind, __builtin_return_address(0));
	if (MMT_UNLIKELY(ds->max_points && ds->points > ds->max_points))
		step_limit(ds);
	switch (kind) {
	case MMT_SP_LOCK_CONTENDED:
		cur->state = F_SPINNING;
		cur->spin_obj = obj;
		schedule(ds, false);
		return;
	case MMT_SP_LOCK_RELEASE:
		for (i = 0; i < ds->nr; i++) {
			struct mmt_thread *t = ds->fib[i];

			if (t && t->state == F_SPINNING && t->spin_obj == obj)
				t->state = F_RUNNABLE;
		}
		break;
	default:
		break;
	}
	ds->progress++;
	schedule(ds, kind == MMT_SP_EXPLICIT);
}

/* ---- the engine hooks ---- */

static struct mmt_thread *do_spawn(struct mmt_dsched *ds, const char *name,
				   void (*fn)(void *arg), void *arg);

static struct mmt_thread *eng_spawn(void *eng, const char *name,
				    void (*fn)(void *arg), void *arg)
{
	struct mmt_thread *t;

	IGNORE_BEGIN();
	t = do_spawn(eng, name, fn, arg);
	IGNORE_END();
	return t;
}

static struct mmt_thread *do_spawn(struct mmt_dsched *ds, const char *name,
				   void (*fn)(void *arg), void *arg)
{
	struct mmt_thread *t = thread_alloc();

	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "kthread");
	t->cpu = -1;
	t->fn = fn;
	t->arg = arg;
	if (mmt_fiber_create(&t->f, kthread_main, t)) {
		free(t);
		return NULL;
	}
	if (!add_fiber(ds, t)) {
		mmt_fiber_destroy(&t->f);
		free(t);
		return NULL;
	}
	t->state = F_RUNNABLE;
	HB_RELEASE(&t->start_sync);
	return t;
}

static struct mmt_thread *eng_self(void *eng)
{
	return ((struct mmt_dsched *)eng)->cur;
}

/* From the host context: run one fiber; false if none can run. */
static bool dispatch_one(struct mmt_dsched *ds)
{
	unsigned int n;

	if (ds->aborted)
		return false;
	n = collect_runnable(ds, NULL);
	if (!n)
		return false;
	switch_to(ds, choose(ds, n));
	return true;
}

static bool eng_park(void *eng, const char *why)
{
	struct mmt_dsched *ds = eng;
	struct mmt_thread *cur = ds->cur;

	if (cur->permit) {
		cur->permit = false;
		return true;
	}
	if (cur == ds->host) {
		while (!cur->permit)
			if (!dispatch_one(ds))
				return false;
		cur->permit = false;
		return true;
	}
	cur->state = F_PARKED;
	cur->why = why;
	ds->progress++;
	schedule(ds, false);
	cur->permit = false;
	return true;
}

static void eng_unpark(void *eng, struct mmt_thread *t)
{
	(void)eng;
	if (t->state == F_PARKED)
		t->state = F_RUNNABLE;
	else
		t->permit = true;
}

static void free_fiber(struct mmt_dsched *ds, struct mmt_thread *t)
{
	IGNORE_BEGIN();
	ds->fib[t->id] = NULL;
	mmt_fiber_destroy(&t->f);
	free(t);
	IGNORE_END();
}

static bool eng_join(void *eng, struct mmt_thread *t)
{
	struct mmt_dsched *ds = eng;
	struct mmt_thread *cur = ds->cur;

	if (cur == ds->host) {
		while (t->state != F_DONE)
			if (!dispatch_one(ds))
				return false;
	} else {
		t->joiner = cur;
		while (t->state != F_DONE) {
			cur->state = F_PARKED;
			cur->why = "a kthread to end (kthread_stop)";
			ds->progress++;
			schedule(ds, false);
		}
		t->joiner = NULL;
	}
	HB_ACQUIRE(&t->end_sync);
	free_fiber(ds, t);
	return true;
}

static const struct mmt_engine_ops engine_ops = {
	.spawn = eng_spawn,
	.join = eng_join,
	.self = eng_self,
	.park = eng_park,
	.unpark = eng_unpark,
};

/* ---- the scheduler ---- */

struct mmt_dsched *mmt_dsched_create(struct mmt_machine *m,
				     struct mmt_sched_source *src, char *err,
				     size_t errlen)
{
	struct mmt_dsched *ds;

	if (!src) {
		snprintf(err, errlen, "no schedule source (out of memory?)");
		return NULL;
	}
	ds = calloc(1, sizeof(*ds));
	if (ds)
		ds->host = thread_alloc();
	if (!ds || !ds->host) {
		if (ds)
			free(ds);
		mmt_sched_source_destroy(src);
		snprintf(err, errlen, "out of host memory for the scheduler");
		return NULL;
	}
	ds->m = m;
	ds->src = src;
	ds->last_cpu = -1;
	snprintf(ds->host->name, sizeof(ds->host->name), "host");
	ds->host->cpu = -1;
	mmt_fiber_init_host(&ds->host->f);
	ds->cur = ds->host;
	mmt_schedule_init(&ds->rec);
	mmt_machine_set_engine(m, &engine_ops, ds);
	mmt_machine_set_sched_hook(m, sched_hook, ds);
	return ds;
}

int mmt_dsched_add_task(struct mmt_dsched *ds, int cpu, struct mmt_task *task,
			void (*fn)(void *arg), void *arg)
{
	struct mmt_thread *t = thread_alloc();

	if (!t)
		return -1;
	snprintf(t->name, sizeof(t->name), "%s", mmt_task_name(task));
	t->is_task = true;
	t->cpu = cpu;
	t->task = task;
	t->fn = fn;
	t->arg = arg;
	if (mmt_fiber_create(&t->f, task_main, t)) {
		free(t);
		return -1;
	}
	if (!add_fiber(ds, t)) {
		mmt_fiber_destroy(&t->f);
		free(t);
		return -1;
	}
	t->state = F_RUNNABLE;
	HB_RELEASE(&t->start_sync);
	ds->live_tasks++;
	mmt_engine_thread_pending(ds->m, 1);
	return (int)t->id;
}

void mmt_dsched_set_step_limit(struct mmt_dsched *ds, uint64_t max)
{
	ds->max_points = max;
}

/* Nothing can run while CPU tasks are alive: the wait-for chain. */
static void report_deadlock(struct mmt_dsched *ds)
{
	size_t used = 0;
	unsigned int i;

	IGNORE_BEGIN();
	ds->chain[0] = '\0';
	for (i = 0; i < ds->nr && used + 1 < sizeof(ds->chain); i++) {
		struct mmt_thread *t = ds->fib[i];
		char holder[200] = "", what[260];

		if (!t || t->state == F_DONE)
			continue;
		if (t->state == F_SPINNING) {
			mmt_describe_lock_holder(ds->m, t->spin_obj, holder,
						 sizeof(holder));
			if (holder[0])
				snprintf(what, sizeof(what), "spins on %s",
					 holder);
			else
				snprintf(what, sizeof(what),
					 "spins on %p (no task holds it as a "
					 "lock)",
					 t->spin_obj);
		} else {
			snprintf(what, sizeof(what), "waits for %s",
				 t->why ? t->why : "?");
		}
		used += (size_t)snprintf(
			ds->chain + used, sizeof(ds->chain) - used,
			"%sfiber %u (%s %s) %s", used ? "; " : "", t->id,
			t->is_task ? "task" : "kthread", t->name, what);
	}
	/* The report's state dump reads what the abandoned fibers wrote. */
	mmt_violation(ds->m, "deadlock",
		      "no thread of the deterministic scheduler can run: %s",
		      ds->chain);
	IGNORE_END();
	ds->aborted = true;
	ds->result = MMT_DSCHED_DEADLOCK;
}

enum mmt_dsched_result mmt_dsched_run(struct mmt_dsched *ds)
{
	unsigned int i;

	if (ds->ran || ds->cur != ds->host || mmt_smp_processor_id() >= 0) {
		mmt_violation(ds->m, "bad-task",
			      "dsched_run: the host thread must be on no CPU "
			      "and the scheduler run once");
		return MMT_DSCHED_ERROR;
	}
	ds->ran = true;
	ds->result = MMT_DSCHED_DONE;
	while (!ds->aborted) {
		if (dispatch_one(ds))
			continue;
		if (!ds->live_tasks)
			break;
		if (ds->progress != ds->retry_progress) {
			bool any = false;

			for (i = 0; i < ds->nr; i++)
				if (ds->fib[i] &&
				    ds->fib[i]->state == F_SPINNING) {
					ds->fib[i]->state = F_RUNNABLE;
					any = true;
				}
			ds->retry_progress = ds->progress;
			if (any)
				continue;
		}
		/*
		 * No fiber can run, and the spinners (if any) spun again
		 * without progress: if a sleeper has a deadline, model time
		 * passes until it - idle CPUs wait for the timer, spinning
		 * ones burn time until a disk's completion - and whoever
		 * it wakes (and the spinners) try once more.  The model's
		 * detector jumps the clock itself when its counts see
		 * nothing run, but they need not see this moment: a fiber
		 * that stops being "away" without taking a CPU (woken for
		 * one dependency of its operation, it parks for the next)
		 * passes no point where the model looks.  Here, nothing
		 * runnable is exact.
		 */
		if (mmt_engine_spin_time(ds->m)) {
			ds->retry_progress = ds->progress - 1;
			continue;
		}
		report_deadlock(ds);
	}
	host_sync(ds);
	if (ds->host_away) {
		ds->host_away = false;
		mmt_engine_thread_pending(ds->m, -1);
	}
	return ds->result;
}

const struct mmt_schedule *mmt_dsched_schedule(const struct mmt_dsched *ds)
{
	return &ds->rec;
}

struct mmt_sched_source *mmt_dsched_source(const struct mmt_dsched *ds)
{
	return ds->src;
}

uint64_t mmt_dsched_points(const struct mmt_dsched *ds)
{
	return ds->points;
}

uint64_t mmt_dsched_switches(const struct mmt_dsched *ds)
{
	return ds->switches;
}

uint64_t mmt_dsched_divergences(const struct mmt_dsched *ds)
{
	return ds->src->ops == &replay_ops ?
		       ((const struct src_replay *)ds->src)->divergences :
		       0;
}

const char *mmt_dsched_deadlock_chain(const struct mmt_dsched *ds)
{
	return ds->chain;
}

void mmt_dsched_set_coverage(struct mmt_dsched *ds, uint8_t *counters, size_t n)
{
	ds->cov = n ? counters : NULL;
	ds->cov_n = ds->cov ? n : 0;
}

uint64_t mmt_dsched_interleaving_hash(const struct mmt_dsched *ds)
{
	return ds->ihash;
}

void mmt_dsched_set_irq_hook(struct mmt_dsched *ds,
			     bool (*pending)(void *arg, void *task_arg),
			     void (*deliver)(void *arg, void *task_arg),
			     void *arg)
{
	ds->irq_pending = pending;
	ds->irq_deliver = deliver;
	ds->irq_arg = arg;
}

uint64_t mmt_dsched_irqs(const struct mmt_dsched *ds)
{
	return ds->irqs;
}

void mmt_dsched_set_switch_hook(struct mmt_dsched *ds,
				void (*fn)(void *arg, void *task_arg, bool in),
				void *arg)
{
	ds->swhook = fn;
	ds->swarg = arg;
}

bool mmt_dsched_wait(struct mmt_dsched *ds, const char *why)
{
	return eng_park(ds, why);
}

void mmt_dsched_wake(struct mmt_dsched *ds, int id)
{
	if (id >= 0 && (unsigned int)id < ds->nr && ds->fib[id])
		eng_unpark(ds, ds->fib[id]);
}

int mmt_dsched_current(const struct mmt_dsched *ds)
{
	return ds->cur == ds->host ? -1 : (int)ds->cur->id;
}

bool mmt_dsched_others_runnable(struct mmt_dsched *ds)
{
	return collect_runnable(ds, ds->cur) != 0;
}

void mmt_dsched_yield(struct mmt_dsched *ds)
{
	if (ds->cur != ds->host) {
		ds->progress++;
		schedule(ds, true);
	}
}

void mmt_dsched_stop(struct mmt_dsched *ds)
{
	if (!ds->aborted) {
		ds->aborted = true;
		ds->result = MMT_DSCHED_STOPPED;
	}
	if (ds->cur != ds->host)
		switch_to(ds, ds->host); /* never comes back */
}

void mmt_dsched_detach(struct mmt_dsched *ds)
{
	if (!ds->m)
		return;
	host_sync(ds);
	mmt_machine_set_sched_hook(ds->m, NULL, NULL);
	mmt_machine_set_engine(ds->m, NULL, NULL);
	ds->m = NULL;
}

void mmt_dsched_machine_gone(struct mmt_dsched *ds)
{
	host_sync(ds);
	ds->m = NULL;
}

void mmt_dsched_destroy(struct mmt_dsched *ds)
{
	unsigned int i;

	if (!ds)
		return;
	mmt_dsched_detach(ds);
	for (i = 0; i < ds->nr; i++)
		if (ds->fib[i])
			free_fiber(ds, ds->fib[i]);
	mmt_sched_source_destroy(ds->src);
	mmt_schedule_free(&ds->rec);
	free(ds->fib);
	free(ds->ids);
	free(ds->host);
	free(ds);
}

struct mmt_dsched *
mmt_dsched_run_task(struct mmt_machine *m, struct mmt_sched_source *src,
		    int cpu, struct mmt_task *task, void (*fn)(void *arg),
		    void *arg, uint64_t max_points, enum mmt_dsched_result *res,
		    char *err, size_t errlen)
{
	struct mmt_dsched *ds = mmt_dsched_create(m, src, err, errlen);

	if (!ds)
		return NULL;
	mmt_dsched_set_step_limit(ds, max_points);
	if (mmt_dsched_add_task(ds, cpu, task, fn, arg) < 0) {
		snprintf(err, errlen, "out of host memory for a fiber");
		mmt_dsched_destroy(ds);
		return NULL;
	}
	*res = mmt_dsched_run(ds);
	return ds;
}
