/* SPDX-License-Identifier: MIT */
/*
 * stress/runner.c - the free-running engine: real threads hammer one
 * model machine (or a user's allocator) for a time, with quiesced
 * validations on the way and a full one at the end (stress/stress.h has
 * the life of a run).
 *
 * Threads and CPUs.  Each worker creates a task, claims a simulated CPU in
 * a table of the runner (an atomic flag per CPU) before attaching, so two
 * threads never attach to one CPU (that would be a cpu-busy violation of
 * the runner, not a finding), and under --topology is pinned to the PU
 * hwloc maps that CPU to, again after each migration.
 *
 * Randomness.  Thread i's splitmix64 stream starts at a mix of --seed and
 * i: the seed reproduces each thread's choices; the interleaving is the
 * OS scheduler's.
 *
 * Quiesce.  Every --quiesce seconds the main thread sets ctl = PAUSE; each
 * worker, between two ops, parks at a barrier (mutex + condvar, which also
 * orders everything the workers wrote before the validators read it).  The
 * last to park - attached to its CPU, as the slab validators want - runs
 * mmt_machine_is_valid() while everyone else waits, then the main thread
 * lets them all go on.  The final validation runs on the main thread on
 * CPU 0 once every worker has freed what it holds, detached and ended:
 * kvfree_rcu barrier, deferred frees, the slab validators and teardown
 * check, shrink, drain, mmt_machine_is_valid(), and no page left allocated.
 *
 * KCSAN-like delays (--kcsan=US).  The model's scheduling-point hook
 * (mmt_machine_set_sched_hook()) runs at every lock acquire and release,
 * cmpxchg and preemption point; one in eight waits a random 0..US
 * microseconds there (spinning below 4 us, nanosleep above), which widens
 * the window between the two halves of a racy sequence.
 *
 * Latency.  Each worker keeps its own log2-linear histogram per layer (8
 * sub-buckets per power of two: at most 12.5% error; no atomics, no
 * sharing); the main thread merges them after the join and reads p50, p99
 * and p99.9 off the merged counts.
 *
 * Users' allocators (--allocator).  The heap is loaded in the parent (a
 * library that is not there is a usage error there and then); the run -
 * threads, workload, checks - happens in a forked child, on a state block
 * mapped MAP_SHARED before the fork, which the parent reads for the
 * progress line while the child runs and for the result after it ends.  A
 * child killed by a signal is "crash|stress|ALLOCATOR", one that outlives
 * --time by the margin is killed and is "hang|stress|ALLOCATOR": findings
 * of the plug-in with their rerun line, never the end of the command.
 *
 * Findings are tallied by signature in one table under a mutex: the
 * model's violations ("check|layer|site"), the workloads' own
 * (mmt_stress_finding(): "check|stress|workload"), TSan's data races and
 * the plug-in's crash or hang.  The first message of each is kept.
 *
 * Bug canaries (MMT_CANARY_FILE=PATH, set by `bench bugs`' tsan-stress
 * engine; the fuzz targets' format, targets/target_common.c): the first
 * time this process sees a bug that is on reached or triggered - read off
 * the machine at each quiesce and at the end - it appends "reached|
 * triggered BUG-ID UNIX-MS" to PATH, and each new finding signature
 * appends "found CHECK UNIX-MS" as it is added (one write() to a file
 * opened O_APPEND: whole lines).  So the canaries' resolution is the
 * --quiesce interval; a finding's time is exact.
 *
 * Lock order: run->mu (quiesce barrier) and run->fmu (findings) are never
 * held together; fmu may be taken inside the model's locks (violation
 * handler), so nothing holding fmu calls the model.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mmt/mmt.h"
#include "mmt/topology.h"
#include "plugins/heap.h"
#include "stress.h"

#define STRESS_PROG "mmtorture"
#define STRESS_MAX_FINDINGS 64
#define STRESS_MAX_COUNTERS 16
#define STRESS_MAX_WATCHED 16
#define STRESS_LAT_SUB_BITS 3
#define STRESS_LAT_SUB (1u << STRESS_LAT_SUB_BITS)
/* Values below LAT_SUB are exact; then LAT_SUB buckets per power of two. */
#define STRESS_LAT_BUCKETS \
	(STRESS_LAT_SUB + (64 - STRESS_LAT_SUB_BITS) * STRESS_LAT_SUB)
#define STRESS_HANG_MARGIN_S 10.0
#define STRESS_DEFAULT_THREADS 4
#define STRESS_DEFAULT_QUIESCE_S 1.0

enum {
	CTL_RUN,
	CTL_PAUSE,
	CTL_STOP
};

struct stress_finding {
	char signature[224];
	char check[48];
	char message[512];
	unsigned long count;
};

struct stress_counter {
	const char *name; /* a static string of the workload */
	uint64_t n;
};

struct mmt_stress_thread {
	struct mmt_stress_run *run;
	pthread_t thread;
	int id, cpu, node;
	int pinned_pu; /* host PU the thread is bound to, -1: none yet */
	uint64_t rng;
	struct mmt_task *task;
	void *priv;
	_Atomic uint64_t ops; /* written by the thread only (progress reads) */
	uint64_t node_ops[MMT_MAX_NODES];
	uint64_t migrations;
	struct stress_counter counters[STRESS_MAX_COUNTERS];
	unsigned int nr_counters;
	uint64_t lat[MMT_STRESS_NR_LAYERS][STRESS_LAT_BUCKETS];
};

struct mmt_stress_run {
	const struct mmt_stress_workload *w;
	struct mmt_stress_params p;
	const struct mmt_stress_env *env;
	struct mmt_machine *m; /* NULL under --allocator */
	struct mmt_topo *topo;
	struct mmt_heap heap; /* the model's kmalloc, or the plug-in */
	bool plugin;
	void *shared;
	int nr_cpus;
	_Atomic int *claimed; /* per simulated CPU: a thread is on it */
	struct mmt_stress_thread *threads;
	unsigned int nr_threads;
	struct mmt_task *main_task;
	int main_attached; /* nesting of mmt_stress_main_attach() */
	uint64_t salt; /* cookies: mixed from the seed */

	/* The quiesce barrier. */
	_Atomic int ctl;
	pthread_mutex_t mu;
	pthread_cond_t park_cv, main_cv;
	unsigned int parked;
	uint64_t gen;
	bool validated;
	unsigned long quiesces, quiesce_failures;

	_Atomic bool pin_failed;
	_Atomic unsigned long pins;
	_Atomic unsigned long kcsan_delays;

	/* Findings (shared with the parent under --allocator). */
	pthread_mutex_t fmu;
	struct stress_finding findings[STRESS_MAX_FINDINGS];
	unsigned int nr_findings;
	_Atomic unsigned long nr_findings_seen; /* progress line */
	unsigned long findings_dropped;

	/* The end. */
	double elapsed_s, active_s;
	bool valid;
	unsigned long leftover_pages;
	char vmstat[8192]; /* the model's vmstat JSON text */
	bool child_done; /* the child reached its end normally */
	bool race_probe; /* MMT_TEST_STRESS_RACE=1 */

	/* mmt_stress_watch_cache(): the caches, then their end snapshot. */
	struct mmt_kmem_cache *watched[STRESS_MAX_WATCHED];
	unsigned int nr_watched;
	struct {
		char name[48];
		struct mmt_slab_info info;
	} slab_end[STRESS_MAX_WATCHED];
};

/* ---- small helpers ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

const char *mmt_stress_slab_name(enum mmt_slab_impl s)
{
	return s == MMT_SLAB_SLAB    ? "slab" :
	       s == MMT_SLAB_SHEAVES ? "sheaves" :
				       "slub";
}

const char *mmt_stress_layer_name(enum mmt_stress_layer l)
{
	static const char *const names[MMT_STRESS_NR_LAYERS] = {
		[MMT_STRESS_LAT_PAGE_ALLOC] = "page_alloc",
		[MMT_STRESS_LAT_PAGE_FREE] = "page_free",
		[MMT_STRESS_LAT_SLAB_ALLOC] = "slab_alloc",
		[MMT_STRESS_LAT_SLAB_FREE] = "slab_free",
		[MMT_STRESS_LAT_MEMPOOL_ALLOC] = "mempool_alloc",
		[MMT_STRESS_LAT_MEMPOOL_FREE] = "mempool_free",
		[MMT_STRESS_LAT_OBJ_ALLOC] = "obj_alloc",
		[MMT_STRESS_LAT_OBJ_FREE] = "obj_free",
	};

	return (unsigned int)l < MMT_STRESS_NR_LAYERS ? names[l] : "?";
}

const struct mmt_stress_workload *mmt_stress_find(const char *name)
{
	size_t i;

	for (i = 0; i < mmt_stress_nr_model_workloads; i++)
		if (!strcmp(mmt_stress_model_workloads[i].name, name))
			return &mmt_stress_model_workloads[i];
	for (i = 0; i < mmt_stress_nr_object_workloads; i++)
		if (!strcmp(mmt_stress_object_workloads[i].name, name))
			return &mmt_stress_object_workloads[i];
	return NULL;
}

/* ---- latency histograms ---- */

unsigned int mmt_stress_lat_bucket(uint64_t ns)
{
	unsigned int e;

	if (ns < STRESS_LAT_SUB)
		return (unsigned int)ns;
	e = 63u - (unsigned int)__builtin_clzll(ns); /* >= SUB_BITS */
	return STRESS_LAT_SUB + (e - STRESS_LAT_SUB_BITS) * STRESS_LAT_SUB +
	       (unsigned int)((ns >> (e - STRESS_LAT_SUB_BITS)) &
			      (STRESS_LAT_SUB - 1));
}

uint64_t mmt_stress_lat_bucket_low(unsigned int b)
{
	unsigned int e, sub;

	if (b < STRESS_LAT_SUB)
		return b;
	e = (b - STRESS_LAT_SUB) / STRESS_LAT_SUB + STRESS_LAT_SUB_BITS;
	sub = (b - STRESS_LAT_SUB) % STRESS_LAT_SUB;
	return (uint64_t)(STRESS_LAT_SUB + sub) << (e - STRESS_LAT_SUB_BITS);
}

uint64_t mmt_stress_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mmt_stress_lat(struct mmt_stress_thread *t, enum mmt_stress_layer l,
		    uint64_t t0)
{
	uint64_t now = mmt_stress_clock();

	if ((unsigned int)l >= MMT_STRESS_NR_LAYERS)
		return;
	t->lat[l][mmt_stress_lat_bucket(now > t0 ? now - t0 : 0)]++;
}

/* The value at quantile @q of @h (the middle of its bucket), 0 if empty. */
static uint64_t lat_quantile(const uint64_t *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), seen = 0, lo, hi;
	unsigned int b;

	if (!total)
		return 0;
	if (want >= total)
		want = total - 1;
	for (b = 0; b < STRESS_LAT_BUCKETS; b++) {
		seen += h[b];
		if (seen > want)
			break;
	}
	if (b == STRESS_LAT_BUCKETS)
		b--;
	lo = mmt_stress_lat_bucket_low(b);
	hi = b + 1 < STRESS_LAT_BUCKETS ? mmt_stress_lat_bucket_low(b + 1) : lo;
	return lo + (hi - lo) / 2;
}

/* ---- bug canaries (MMT_CANARY_FILE) ---- */

static struct mmt_canary_file canary = { .fd = -1 };

/* The bugs that are on and newly reached or triggered on the machine. */
static void canary_report(struct mmt_stress_run *run)
{
	struct mmt_bug_canary_counts c;

	if (canary.fd < 0 || !run->m)
		return;
	memset(&c, 0, sizeof(c));
	mmt_bug_canaries_add(run->m, &c);
	mmt_canary_file_report(&canary, run->p.bugs, &c);
}

/* ---- findings ---- */

static void add_finding(struct mmt_stress_run *run, const char *check,
			const char *signature, const char *message)
{
	unsigned int i;

	/*
	 * Robust: under --allocator the parent adds the crash or hang of a
	 * child that may have died holding it.
	 */
	if (pthread_mutex_lock(&run->fmu) == EOWNERDEAD)
		pthread_mutex_consistent(&run->fmu);
	for (i = 0; i < run->nr_findings; i++)
		if (!strcmp(run->findings[i].signature, signature))
			break;
	if (i < run->nr_findings) {
		run->findings[i].count++;
	} else if (i < STRESS_MAX_FINDINGS) {
		struct stress_finding *f = &run->findings[i];

		snprintf(f->signature, sizeof(f->signature), "%s", signature);
		snprintf(f->check, sizeof(f->check), "%s", check);
		snprintf(f->message, sizeof(f->message), "%s", message);
		f->count = 1;
		run->nr_findings++;
		atomic_fetch_add(&run->nr_findings_seen, 1);
		mmt_canary_file_line(&canary, "found", check);
	} else {
		run->findings_dropped++;
	}
	pthread_mutex_unlock(&run->fmu);
}

void mmt_stress_finding(struct mmt_stress_run *run, const char *check,
			const char *fmt, ...)
{
	char sig[224], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(sig, sizeof(sig), "%s|stress|%s", check, run->w->name);
	add_finding(run, check, sig, msg);
}

static void on_violation(struct mmt_machine *m, const struct mmt_violation *v,
			 void *arg)
{
	char sig[224], msg[512];

	/* The function, not file:line: a signature survives code moving. */
	(void)m;
	snprintf(sig, sizeof(sig), "%s|%s|%s", v->check, v->layer,
		 v->func ? v->func : v->site);
	snprintf(msg, sizeof(msg), "%s [%s] at %s (cpu %d): %.400s", v->check,
		 v->layer, v->site, v->cpu, v->msg);
	add_finding(arg, v->check, sig, msg);
}

/* TSan's first report since the last look, if the command lent a hook. */
static void take_races(struct mmt_stress_run *run)
{
	char sig[224], msg[512];

	if (!run->env->race_take)
		return;
	if (run->env->race_take(sig, sizeof(sig), msg, sizeof(msg)))
		add_finding(run, "data-race", sig, msg);
	if (run->env->race_begin)
		run->env->race_begin();
}

/* ---- CPUs: claimed before attaching; pinning ---- */

static bool claim_cpu(struct mmt_stress_run *run, int cpu)
{
	int free = 0;

	return atomic_compare_exchange_strong(&run->claimed[cpu], &free, 1);
}

static void unclaim_cpu(struct mmt_stress_run *run, int cpu)
{
	atomic_store(&run->claimed[cpu], 0);
}

/* Some free CPU, @first first; waits while every CPU is taken. */
static int claim_any_cpu(struct mmt_stress_run *run, int first)
{
	int n = run->nr_cpus, i;

	for (;;) {
		for (i = 0; i < n; i++) {
			int cpu = (first + i) % n;

			if (claim_cpu(run, cpu))
				return cpu;
		}
		sched_yield();
	}
}

static void pin(struct mmt_stress_thread *t)
{
	struct mmt_stress_run *run = t->run;
	char err[256];
	int pu;

	if (!run->topo || atomic_load(&run->pin_failed))
		return;
	pu = mmt_topo_info(run->topo)->cpu[t->cpu].host_pu;
	if (pu == t->pinned_pu)
		return;
	if (mmt_topo_bind_cpu(run->topo, t->cpu, err, sizeof(err))) {
		t->pinned_pu = pu;
		atomic_fetch_add(&run->pins, 1);
		return;
	}
	if (!atomic_exchange(&run->pin_failed, true))
		fprintf(stderr, "%s stress: %s; threads run unpinned\n",
			STRESS_PROG, err);
}

static int node_of(struct mmt_stress_run *run, int cpu)
{
	if (run->m)
		return mmt_cpu_to_node(run->m, cpu);
	if (run->topo)
		return mmt_topo_info(run->topo)->cpu[cpu].node;
	return 0;
}

/* ---- the thread API ---- */

struct mmt_machine *mmt_stress_machine(struct mmt_stress_run *run)
{
	return run->m;
}

const struct mmt_stress_params *mmt_stress_params(struct mmt_stress_run *run)
{
	return &run->p;
}

void *mmt_stress_shared(struct mmt_stress_run *run)
{
	return run->shared;
}

void mmt_stress_set_shared(struct mmt_stress_run *run, void *shared)
{
	run->shared = shared;
}

/* Nests: teardown already runs attached; a workload may attach again. */
void mmt_stress_main_attach(struct mmt_stress_run *run)
{
	if (!run->m || run->main_attached++)
		return;
	if (!mmt_cpu_attach(run->m, 0, run->main_task)) {
		fprintf(stderr,
			"%s stress: cannot attach the main thread to cpu 0\n",
			STRESS_PROG);
		abort();
	}
}

void mmt_stress_main_detach(struct mmt_stress_run *run)
{
	if (!run->m || !run->main_attached || --run->main_attached)
		return;
	mmt_cpu_detach();
}

struct mmt_stress_run *mmt_stress_run_of(struct mmt_stress_thread *t)
{
	return t->run;
}

int mmt_stress_thread_id(const struct mmt_stress_thread *t)
{
	return t->id;
}

int mmt_stress_cpu(const struct mmt_stress_thread *t)
{
	return t->cpu;
}

struct mmt_task *mmt_stress_task(struct mmt_stress_thread *t)
{
	return t->task;
}

void *mmt_stress_priv(struct mmt_stress_thread *t)
{
	return t->priv;
}

void mmt_stress_set_priv(struct mmt_stress_thread *t, void *priv)
{
	t->priv = priv;
}

uint64_t mmt_stress_rand(struct mmt_stress_thread *t, uint64_t below)
{
	return below ? splitmix64(&t->rng) % below : 0;
}

/* Only to a CPU no thread is on; stays put when there is none. */
void mmt_stress_migrate(struct mmt_stress_thread *t)
{
	struct mmt_stress_run *run = t->run;
	int n = run->nr_cpus, old = t->cpu, target;

	if (!run->m || n < 2)
		return;
	target = (old + 1 + (int)mmt_stress_rand(t, (uint64_t)n - 1)) % n;
	if (!claim_cpu(run, target))
		return;
	if (!mmt_migrate(target)) {
		unclaim_cpu(run, target); /* the model said why */
		return;
	}
	t->cpu = target;
	t->node = node_of(run, target);
	unclaim_cpu(run, old);
	pin(t);
	t->migrations++;
}

bool mmt_stress_claim_cpu(struct mmt_stress_run *run, int cpu)
{
	return cpu >= 0 && cpu < run->nr_cpus && claim_cpu(run, cpu);
}

void mmt_stress_release_cpu(struct mmt_stress_run *run, int cpu)
{
	if (cpu >= 0 && cpu < run->nr_cpus)
		unclaim_cpu(run, cpu);
}

void mmt_stress_watch_cache(struct mmt_stress_run *run,
			    struct mmt_kmem_cache *s)
{
	if (s && run->nr_watched < STRESS_MAX_WATCHED)
		run->watched[run->nr_watched++] = s;
}

/* The watched caches as the workers left them (before teardown). */
static void snapshot_caches(struct mmt_stress_run *run)
{
	unsigned int i;

	for (i = 0; i < run->nr_watched; i++) {
		struct mmt_slab_info *si = &run->slab_end[i].info;

		if (!mmt_slab_info(run->watched[i], si))
			memset(si, 0, sizeof(*si));
		snprintf(run->slab_end[i].name, sizeof(run->slab_end[i].name),
			 "%s", si->name ? si->name : "?");
		si->name = NULL; /* the cache's string dies with it */
	}
}

struct mmt_stress_thread *mmt_stress_main_thread(struct mmt_stress_run *run)
{
	return &run->threads[run->nr_threads];
}

const struct mmt_heap *mmt_stress_heap(struct mmt_stress_thread *t)
{
	return &t->run->heap;
}

void mmt_stress_count(struct mmt_stress_thread *t, const char *counter,
		      uint64_t n)
{
	unsigned int i;

	for (i = 0; i < t->nr_counters; i++) {
		if (t->counters[i].name == counter ||
		    !strcmp(t->counters[i].name, counter)) {
			t->counters[i].n += n;
			return;
		}
	}
	if (i == STRESS_MAX_COUNTERS)
		return;
	t->counters[i].name = counter;
	t->counters[i].n = n;
	t->nr_counters++;
}

/* ---- cookies ---- */

/*
 * Every 8-byte word of a block holds one value: a hash of the block's
 * address, its length and the run's salt in the high 48 bits, the
 * stamping thread in the low 16.  A block handed out twice, a neighbour
 * written over, an allocator's metadata inside a live block: some word no
 * longer holds it.  The tail bytes hold the value's low bytes.
 */
static uint64_t cookie_of(const struct mmt_stress_run *run, const void *p,
			  size_t n)
{
	uint64_t s = (uint64_t)(uintptr_t)p ^ ((uint64_t)n << 40) ^ run->salt;

	return splitmix64(&s) & ~0xffffull;
}

void mmt_stress_stamp(struct mmt_stress_thread *t, void *p, size_t n)
{
	uint64_t c = cookie_of(t->run, p, n) | (uint64_t)(t->id & 0xffff);
	unsigned char *b = p;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8)
		memcpy(b + i, &c, 8);
	for (; i < n; i++)
		b[i] = (unsigned char)(c >> (8 * (i & 7)));
}

bool mmt_stress_verify(struct mmt_stress_thread *t, const void *p, size_t n)
{
	uint64_t c = cookie_of(t->run, p, n), first = 0, w = 0;
	const unsigned char *b = p;
	size_t i;
	int owner = -1;

	if (n >= 8) {
		memcpy(&first, b, 8);
		if ((first & ~0xffffull) == c)
			owner = (int)(first & 0xffff);
	}
	if (owner >= 0)
		c |= (uint64_t)owner;
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		if (w == c)
			continue;
		/* The first byte that changed (little-endian, as stamped). */
		while (b[i] == (unsigned char)(c >> (8 * (i & 7))))
			i++;
		goto bad;
	}
	for (; i < n; i++)
		if (b[i] != (unsigned char)(c >> (8 * (i & 7))))
			goto bad;
	return true;
bad:
	if (owner >= 0)
		mmt_stress_finding(
			t->run, "cookie-corrupt",
			"block %p of %zu bytes (%s), stamped by thread %d, freed by thread %d: byte %zu changed while it was live",
			p, n, t->run->heap.name, owner, t->id, i);
	else if (n < 8)
		mmt_stress_finding(
			t->run, "cookie-corrupt",
			"block %p of %zu bytes (%s), freed by thread %d: byte %zu changed while it was live",
			p, n, t->run->heap.name, t->id, i);
	else
		mmt_stress_finding(
			t->run, "cookie-corrupt",
			"block %p of %zu bytes (%s), freed by thread %d: its first word is no cookie of this block (written over while live, or handed out twice)",
			p, n, t->run->heap.name, t->id);
	return false;
}

/* ---- the model's object heap ---- */

static void *model_alloc(size_t size)
{
	return mmt_kmalloc(size, GFP_KERNEL);
}

static void model_free(void *p)
{
	mmt_kfree(p);
}

static void *model_realloc(void *p, size_t size)
{
	return mmt_krealloc(p, size, GFP_KERNEL);
}

static size_t model_usable(void *p)
{
	return mmt_ksize(p);
}

/* ---- KCSAN-like delays ---- */

static _Thread_local uint64_t kcsan_rng;

static void kcsan_hook(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		       const void *obj, void *arg)
{
	struct mmt_stress_run *run = arg;
	uint64_t r = splitmix64(&kcsan_rng), us;

	(void)m;
	(void)cpu;
	(void)kind;
	(void)obj;
	if (r & 7)
		return;
	us = (r >> 8) % ((uint64_t)run->p.kcsan_delay_us + 1);
	atomic_fetch_add_explicit(&run->kcsan_delays, 1, memory_order_relaxed);
	if (us < 4) {
		uint64_t until = mmt_stress_clock() + us * 1000;

		while (mmt_stress_clock() < until)
			;
	} else {
		sleep_s((double)us * 1e-6);
	}
}

/* ---- the workers ---- */

/*
 * The test hook MMT_TEST_STRESS_RACE=1 (stress/README.md; never set by the
 * tool): every worker writes this word once, unsynchronised, so that the
 * tsan build proves a TSan report becomes a finding of the run.
 */
static long race_probe;

static MMT_NOINLINE void race_probe_touch(int id)
{
	race_probe += id + 1;
}

/* The last worker to park, on its CPU, while every other one waits. */
static void quiesce_validate(struct mmt_stress_run *run)
{
	run->quiesces++;
	if (run->m && !mmt_machine_is_valid(run->m))
		run->quiesce_failures++;
	take_races(run);
	canary_report(run);
}

static void park(struct mmt_stress_thread *t)
{
	struct mmt_stress_run *run = t->run;
	uint64_t gen;

	pthread_mutex_lock(&run->mu);
	gen = run->gen;
	if (++run->parked == run->nr_threads) {
		/* Everyone else waits for gen to move: validate unlocked. */
		pthread_mutex_unlock(&run->mu);
		quiesce_validate(run);
		pthread_mutex_lock(&run->mu);
		run->validated = true;
		pthread_cond_signal(&run->main_cv);
	}
	while (run->gen == gen)
		pthread_cond_wait(&run->park_cv, &run->mu);
	pthread_mutex_unlock(&run->mu);
}

static void *worker_main(void *arg)
{
	struct mmt_stress_thread *t = arg;
	struct mmt_stress_run *run = t->run;
	const struct mmt_stress_workload *w = run->w;
	char name[32];
	int ctl;

	kcsan_rng = t->rng ^ 0x5bd1e995ull;
	if (run->m) {
		snprintf(name, sizeof(name), "stress/%d", t->id);
		t->task = mmt_task_create(run->m, name, 0);
		if (!t->task) {
			fprintf(stderr,
				"%s stress: out of memory creating task %s\n",
				STRESS_PROG, name);
			abort();
		}
		t->cpu = claim_any_cpu(run, t->id % run->nr_cpus);
		if (!mmt_cpu_attach(run->m, t->cpu, t->task))
			abort(); /* claimed, so free: the violation says more */
	} else {
		t->cpu = t->id % run->nr_cpus;
	}
	t->node = node_of(run, t->cpu);
	pin(t);
	if (MMT_UNLIKELY(run->race_probe))
		race_probe_touch(t->id);
	if (run->heap.thread_init)
		run->heap.thread_init();
	if (w->thread_init)
		w->thread_init(t);
	for (;;) {
		ctl = atomic_load_explicit(&run->ctl, memory_order_acquire);
		if (MMT_UNLIKELY(ctl != CTL_RUN)) {
			if (ctl == CTL_STOP)
				break;
			park(t);
			continue;
		}
		w->op(t);
		t->node_ops[t->node]++;
		atomic_store_explicit(
			&t->ops,
			atomic_load_explicit(&t->ops, memory_order_relaxed) + 1,
			memory_order_relaxed);
	}
	if (w->thread_exit)
		w->thread_exit(t);
	if (run->heap.thread_exit)
		run->heap.thread_exit();
	if (run->m) {
		mmt_cpu_detach();
		unclaim_cpu(run, t->cpu);
		mmt_task_destroy(t->task);
		t->task = NULL;
	}
	return NULL;
}

static uint64_t total_ops(const struct mmt_stress_run *run)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < run->nr_threads; i++)
		n += atomic_load_explicit(&run->threads[i].ops,
					  memory_order_relaxed);
	return n;
}

/* This process is the child of a plug-in run: the parent draws progress. */
static bool in_child;

static void progress(struct mmt_stress_run *run, double t0)
{
	if (run->env->progress && !in_child)
		run->env->progress(run->env->progress_arg, now_s() - t0,
				   total_ops(run),
				   atomic_load(&run->nr_findings_seen));
}

/* Stop every worker between two ops, validate, let them go on. */
static double quiesce(struct mmt_stress_run *run)
{
	double t0 = now_s();

	pthread_mutex_lock(&run->mu);
	atomic_store_explicit(&run->ctl, CTL_PAUSE, memory_order_release);
	while (!run->validated)
		pthread_cond_wait(&run->main_cv, &run->mu);
	run->validated = false;
	run->parked = 0;
	atomic_store_explicit(&run->ctl, CTL_RUN, memory_order_release);
	run->gen++;
	pthread_cond_broadcast(&run->park_cv);
	pthread_mutex_unlock(&run->mu);
	return now_s() - t0;
}

/* Pages still allocated or on per-cpu lists after the final drain. */
static unsigned long leftover_pages(struct mmt_machine *m)
{
	unsigned long left = 0;
	int z;

	for (z = 0; z < mmt_nr_zones(m); z++) {
		struct mmt_zone_info zi;

		if (mmt_zone_info(m, z, &zi))
			left += zi.allocated + zi.pcp;
	}
	return left;
}

static void final_validation(struct mmt_stress_run *run)
{
	struct mmt_machine *m = run->m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!m) {
		if (run->w->teardown)
			run->w->teardown(run);
		return;
	}
	mmt_stress_main_attach(run);
	if (run->w->teardown)
		run->w->teardown(run);
	mmt_kvfree_rcu_barrier(m);
	mmt_slab_drain_deferred(m);
	run->valid = mmt_slab_is_valid(m);
	run->valid &= mmt_slab_teardown_check(m);
	mmt_kmem_cache_shrink_all(m);
	mmt_drain_all_pages(m);
	run->valid &= mmt_machine_is_valid(m);
	mmt_stress_main_detach(run);
	run->leftover_pages = leftover_pages(m);
	if (run->leftover_pages) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "%lu page(s) still allocated after the final drain",
			 run->leftover_pages);
		add_finding(run, "pages-left", "pages-left|stress|teardown",
			    msg);
	}
	if (!run->valid)
		add_finding(
			run, "invalid-state", "invalid-state|stress|teardown",
			"the validators failed at the end (violations above)");
	f = open_memstream(&buf, &len);
	if (f) {
		mmt_vmstat_json(m, f);
		fclose(f);
		snprintf(run->vmstat, sizeof(run->vmstat), "%s",
			 buf ? buf : "");
	}
	free(buf);
}

/*
 * The run itself: threads, the clock, quiesces, the stop, the end.  In
 * this process, or in the child under --allocator.  False if a thread
 * could not be created or setup failed (@err).
 */
static bool run_body(struct mmt_stress_run *run, char *err, size_t errlen)
{
	double t0, next_q, next_p, end, paused = 0;
	unsigned int i;
	int rc;

	if (run->m)
		mmt_machine_set_op(run->m, 0, "stress %s: setup", run->w->name);
	if (run->w->setup && !run->w->setup(run, err, errlen))
		return false;
	if (run->main_attached) {
		/* setup left the main thread on CPU 0: leave it for them */
		run->main_attached = 1;
		mmt_stress_main_detach(run);
	}
	if (run->m)
		mmt_machine_set_op(run->m, 1, "stress %s: seed %" PRIu64,
				   run->w->name, run->p.seed);
	if (run->env->race_begin)
		run->env->race_begin();
	if (run->m && run->p.kcsan_delay_us)
		mmt_machine_set_sched_hook(run->m, kcsan_hook, run);
	t0 = now_s();
	for (i = 0; i < run->nr_threads; i++) {
		struct mmt_stress_thread *t = &run->threads[i];

		rc = pthread_create(&t->thread, NULL, worker_main, t);
		if (rc) {
			fprintf(stderr,
				"%s stress: cannot create thread %u: %s\n",
				STRESS_PROG, i, strerror(rc));
			abort();
		}
	}
	end = t0 + run->p.time_s;
	next_q = t0 + run->p.quiesce_s;
	next_p = t0 + 0.25;
	for (;;) {
		double now = now_s(), wake = end;

		if (now >= end)
			break;
		if (run->p.quiesce_s > 0 && now >= next_q) {
			double d = quiesce(run);

			paused += d;
			end += d; /* --time counts running time */
			next_q = now_s() + run->p.quiesce_s;
			continue;
		}
		if (now >= next_p) {
			progress(run, t0);
			next_p = now + 0.25;
		}
		if (run->p.quiesce_s > 0 && next_q < wake)
			wake = next_q;
		if (next_p < wake)
			wake = next_p;
		sleep_s(wake - now);
	}
	atomic_store_explicit(&run->ctl, CTL_STOP, memory_order_release);
	for (i = 0; i < run->nr_threads; i++)
		pthread_join(run->threads[i].thread, NULL);
	run->elapsed_s = now_s() - t0;
	run->active_s = run->elapsed_s - paused;
	if (run->m)
		mmt_machine_set_sched_hook(run->m, NULL, NULL);
	progress(run, t0);
	if (run->m)
		mmt_machine_set_op(run->m, 2, "stress %s: teardown",
				   run->w->name);
	snapshot_caches(run);
	final_validation(run);
	take_races(run);
	canary_report(run);
	return true;
}

/* ---- reporting ---- */

static void rerun_line(const struct mmt_stress_run *run, char *buf, size_t len)
{
	const struct mmt_stress_params *p = &run->p;
	size_t n;
	char bugs[256];

	n = (size_t)snprintf(
		buf, len, "%s stress %s --threads %u --time %g --seed %" PRIu64,
		STRESS_PROG, run->w->name, run->nr_threads, p->time_s, p->seed);
	if (run->m && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --slab %s",
				      mmt_stress_slab_name(p->slab));
	if (p->bugs && n < len) {
		mmt_bugs_format(p->bugs, bugs, sizeof(bugs));
		n += (size_t)snprintf(buf + n, len - n, " --bug %s", bugs);
	}
	if (p->topology && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --topology '%s'",
				      p->topology);
	if (p->allocator && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --allocator %s",
				      p->allocator);
	if (p->kcsan_delay_us && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --kcsan=%u",
				      p->kcsan_delay_us);
	if (p->quiesce_s != STRESS_DEFAULT_QUIESCE_S && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --quiesce %g",
				      p->quiesce_s);
	if (p->size_min && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --size-min %zu",
				      p->size_min);
	if (p->size_max && n < len)
		n += (size_t)snprintf(buf + n, len - n, " --size-max %zu",
				      p->size_max);
	if (p->batch && n < len)
		snprintf(buf + n, len - n, " --batch %u", p->batch);
}

static json_t *latency_json(const struct mmt_stress_run *run, uint64_t *p99_out)
{
	json_t *o = json_object();
	static uint64_t h[STRESS_LAT_BUCKETS];
	unsigned int l, i, b;

	for (l = 0; l < MMT_STRESS_NR_LAYERS; l++) {
		uint64_t total = 0, max = 0;

		memset(h, 0, sizeof(h));
		for (i = 0; i <= run->nr_threads; i++)
			for (b = 0; b < STRESS_LAT_BUCKETS; b++)
				h[b] += run->threads[i].lat[l][b];
		for (b = 0; b < STRESS_LAT_BUCKETS; b++) {
			total += h[b];
			if (h[b])
				max = mmt_stress_lat_bucket_low(b);
		}
		if (!total)
			continue;
		if (p99_out)
			p99_out[l] = lat_quantile(h, total, 0.99);
		json_object_set_new(
			o, mmt_stress_layer_name(l),
			json_pack("{s:I, s:I, s:I, s:I, s:I}", "count",
				  (json_int_t)total, "p50_ns",
				  (json_int_t)lat_quantile(h, total, 0.50),
				  "p99_ns",
				  (json_int_t)lat_quantile(h, total, 0.99),
				  "p999_ns",
				  (json_int_t)lat_quantile(h, total, 0.999),
				  "max_ns", (json_int_t)max));
	}
	return o;
}

static json_t *result_json(struct mmt_stress_run *run, const char *rerun)
{
	const struct mmt_stress_params *p = &run->p;
	json_t *o = json_object(), *a, *nodes, *c;
	uint64_t node_ops[MMT_MAX_NODES] = { 0 }, ops = 0;
	double act = run->active_s > 0 ? run->active_s : 1e-9;
	char bugs[256];
	unsigned int i, k;
	int nr_nodes = 1;

	mmt_bugs_format(p->bugs, bugs, sizeof(bugs));
	json_object_set_new(o, "workload", json_string(run->w->name));
	json_object_set_new(o, "kind",
			    json_string(run->w->kind == MMT_STRESS_OBJECT ?
						"object" :
						"model"));
	json_object_set_new(o, "heap", json_string(run->heap.name));
	json_object_set_new(
		o, "params",
		json_pack("{s:i, s:f, s:I, s:s, s:s, s:s?, s:s?, s:i, s:f}",
			  "threads", (int)run->nr_threads, "time_s", p->time_s,
			  "seed", (json_int_t)p->seed, "slab",
			  mmt_stress_slab_name(p->slab), "bugs", bugs,
			  "topology", p->topology, "allocator", p->allocator,
			  "kcsan_us", (int)p->kcsan_delay_us, "quiesce_s",
			  p->quiesce_s));
	a = json_array();
	for (i = 0; i < run->nr_threads; i++) {
		const struct mmt_stress_thread *t = &run->threads[i];
		uint64_t n = atomic_load(&t->ops);

		ops += n;
		for (k = 0; k < MMT_MAX_NODES; k++)
			node_ops[k] += t->node_ops[k];
		json_array_append_new(
			a,
			json_pack("{s:i, s:i, s:i, s:I, s:f, s:I}", "id", t->id,
				  "cpu", t->cpu, "node", t->node, "ops",
				  (json_int_t)n, "ops_per_s", (double)n / act,
				  "migrations", (json_int_t)t->migrations));
	}
	if (run->m)
		nr_nodes = mmt_nr_nodes(run->m);
	else if (run->topo)
		nr_nodes = mmt_topo_info(run->topo)->nr_nodes;
	nodes = json_array();
	for (k = 0; k < (unsigned int)nr_nodes && k < MMT_MAX_NODES; k++)
		json_array_append_new(
			nodes,
			json_pack("{s:i, s:I, s:f}", "node", (int)k, "ops",
				  (json_int_t)node_ops[k], "ops_per_s",
				  (double)node_ops[k] / act));
	json_object_set_new(o, "elapsed_s", json_real(run->elapsed_s));
	json_object_set_new(o, "active_s", json_real(run->active_s));
	json_object_set_new(o, "ops", json_integer((json_int_t)ops));
	json_object_set_new(o, "ops_per_s", json_real((double)ops / act));
	json_object_set_new(o, "threads", a);
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "latency", latency_json(run, NULL));
	c = json_object();
	for (i = 0; i <= run->nr_threads; i++) {
		const struct mmt_stress_thread *t = &run->threads[i];

		for (k = 0; k < t->nr_counters; k++) {
			json_t *v = json_object_get(c, t->counters[k].name);
			json_int_t n = (json_int_t)t->counters[k].n;

			if (v)
				n += json_integer_value(v);
			json_object_set_new(c, t->counters[k].name,
					    json_integer(n));
		}
	}
	json_object_set_new(o, "counters", c);
	json_object_set_new(o, "quiesces",
			    json_integer((json_int_t)run->quiesces));
	json_object_set_new(
		o, "kcsan_delays",
		json_integer((json_int_t)atomic_load(&run->kcsan_delays)));
	if (run->topo)
		json_object_set_new(
			o, "pinnings",
			json_integer((json_int_t)atomic_load(&run->pins)));
	if (run->m) {
		json_t *v = json_loads(run->vmstat, 0, NULL);

		json_object_set_new(o, "vmstat", v ? v : json_null());
		json_object_set_new(o, "valid", json_boolean(run->valid));
		json_object_set_new(
			o, "leftover_pages",
			json_integer((json_int_t)run->leftover_pages));
	}
	if (run->nr_watched) {
		a = json_array();
		for (i = 0; i < run->nr_watched; i++) {
			const struct mmt_slab_info *si = &run->slab_end[i].info;

			json_array_append_new(
				a,
				json_pack(
					"{s:s, s:I, s:I, s:i, s:i, s:I, s:I, s:I, s:b}",
					"name", run->slab_end[i].name,
					"object_size",
					(json_int_t)si->object_size, "size",
					(json_int_t)si->size, "order",
					(int)si->order, "objects_per_slab",
					(int)si->objects_per_slab, "live",
					(json_int_t)si->live, "slabs",
					(json_int_t)si->slabs, "free_objects",
					(json_int_t)si->free_objects, "dead",
					si->dead));
		}
		json_object_set_new(o, "slab", a);
	}
	a = json_array();
	for (i = 0; i < run->nr_findings; i++) {
		const struct stress_finding *f = &run->findings[i];

		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:s}",
				  "signature", f->signature, "check", f->check,
				  "count", (json_int_t)f->count, "message",
				  f->message, "workload", run->w->name, "seed",
				  (json_int_t)p->seed, "rerun", rerun));
	}
	json_object_set_new(o, "findings", a);
	json_object_set_new(o, "result",
			    json_string(run->nr_findings ? "fail" : "ok"));
	return o;
}

static void print_findings(const struct mmt_stress_run *run, FILE *out,
			   const char *rerun)
{
	unsigned int i;

	for (i = 0; i < run->nr_findings; i++) {
		const struct stress_finding *f = &run->findings[i];

		fprintf(out,
			"FINDING %s (x%lu)\n  %s\n  workload %s, heap %s, seed %" PRIu64
			"\n  rerun: %s\n",
			f->signature, f->count, f->message, run->w->name,
			run->heap.name, run->p.seed, rerun);
	}
	if (run->findings_dropped)
		fprintf(out, "(%lu more finding(s) of other signatures)\n",
			run->findings_dropped);
}

/* ---- the plug-in's child ---- */

/* The child's end: crash or hang findings of the plug-in. */
static void child_end(struct mmt_stress_run *run, int status, bool hung,
		      double limit)
{
	char sig[224], msg[512];

	if (hung) {
		snprintf(sig, sizeof(sig), "hang|stress|%s", run->heap.name);
		snprintf(
			msg, sizeof(msg),
			"the run on %s did not end %.0f s after it started (--time %g): killed",
			run->heap.name, limit, run->p.time_s);
		add_finding(run, "hang", sig, msg);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && run->child_done)
		return;
	snprintf(sig, sizeof(sig), "crash|stress|%s", run->heap.name);
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof(msg),
			 "the run on %s died of signal SIG%s (%s)",
			 run->heap.name,
			 sigabbrev_np(WTERMSIG(status)) ?
				 sigabbrev_np(WTERMSIG(status)) :
				 "?",
			 strsignal(WTERMSIG(status)));
	else
		snprintf(msg, sizeof(msg),
			 "the run on %s exited with status %d before its end",
			 run->heap.name,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	add_finding(run, "crash", sig, msg);
}

static bool run_in_child(struct mmt_stress_run *run, char *err, size_t errlen)
{
	double t0 = now_s(), limit = run->p.time_s * 1.5 + STRESS_HANG_MARGIN_S;
	int status = 0;
	bool hung = false;
	pid_t pid, r;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		char cerr[256] = "";

		/* Process-local: run (and run->env) is shared with the parent. */
		in_child = true;
		if (!run_body(run, cerr, sizeof(cerr))) {
			fprintf(stderr, "%s stress: %s\n", STRESS_PROG, cerr);
			_exit(3);
		}
		run->child_done = true;
		fflush(NULL);
		_exit(0);
	}
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return false;
		}
		if (now_s() - t0 > limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			hung = true;
			break;
		}
		progress(run, t0);
		sleep_s(0.25);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && !run->child_done) {
		snprintf(err, errlen, "the workload's setup failed (above)");
		return false;
	}
	if (!run->elapsed_s) {
		run->elapsed_s = now_s() - t0;
		run->active_s = run->elapsed_s;
	}
	child_end(run, status, hung, limit);
	return true;
}

/* ---- the entry ---- */

static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int mmt_stress_execute(const struct mmt_stress_workload *w,
		       const struct mmt_stress_params *p,
		       const struct mmt_stress_env *env,
		       struct mmt_stress_outcome *out, char *err, size_t errlen)
{
	static const struct mmt_stress_env no_env;
	struct mmt_stress_run *run;
	struct mmt_config cfg;
	char rerun[1024], bugs[256];
	size_t tsize = 0;
	FILE *o = env && env->out ? env->out : stdout;
	unsigned int i, nthreads = p->threads;
	int ret = 1;
	uint64_t s;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!env)
		env = &no_env;
	if (canary.fd < 0 && mmt_canary_file_open(&canary) < 0) {
		snprintf(err, errlen, "%s=%s: %s", MMT_CANARY_FILE_ENV,
			 getenv(MMT_CANARY_FILE_ENV), strerror(errno));
		return 1;
	}
	run = shared_alloc(sizeof(*run));
	if (!run) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	run->w = w;
	run->p = *p;
	if (run->p.quiesce_s < 0)
		run->p.quiesce_s = 0;
	run->env = env;
	run->plugin = p->allocator != NULL;
	run->race_probe = getenv("MMT_TEST_STRESS_RACE") &&
			  !strcmp(getenv("MMT_TEST_STRESS_RACE"), "1");
	if (run->plugin && w->kind != MMT_STRESS_OBJECT) {
		snprintf(
			err, errlen,
			"--allocator: %s is a model workload; only object workloads run on an allocator",
			w->name);
		ret = 2;
		goto out_unmap;
	}
	if (p->topology) {
		struct mmt_topo_opts to = {
			.spec = p->topology,
			.cpus = nthreads ? (int)(nthreads + w->spare_cpus) : 0
		};

		run->topo = mmt_topo_create(&to, err, errlen);
		if (run->topo && !nthreads) {
			int n = mmt_topo_info(run->topo)->nr_cpus;

			/* The workload's spare CPUs come out of the PUs'. */
			nthreads = n > (int)w->spare_cpus + 1 ?
					   (unsigned int)n - w->spare_cpus :
					   1;
			if (n < (int)(nthreads + w->spare_cpus)) {
				mmt_topo_destroy(run->topo);
				to.cpus = (int)(nthreads + w->spare_cpus);
				run->topo = mmt_topo_create(&to, err, errlen);
			}
		}
		if (!run->topo) {
			ret = 2;
			goto out_unmap;
		}
	}
	if (!nthreads)
		nthreads = STRESS_DEFAULT_THREADS;
	if (nthreads > MMT_MAX_CPUS) {
		snprintf(err, errlen,
			 "--threads: %u is more than the model's %d CPUs",
			 nthreads, MMT_MAX_CPUS);
		ret = 2;
		goto out_topo;
	}
	run->nr_threads = nthreads;
	run->p.threads = nthreads;
	run->nr_cpus = run->topo ? mmt_topo_info(run->topo)->nr_cpus :
				   (int)(nthreads + w->spare_cpus);
	if (run->nr_cpus < (int)nthreads)
		run->nr_cpus = (int)nthreads;
	s = p->seed ^ 0xc2b2ae3d27d4eb4full;
	run->salt = splitmix64(&s);

	if (run->plugin) {
		bool unknown = false;

		if (!mmt_heap_open(p->allocator, &run->heap, &unknown, err,
				   errlen)) {
			ret = 2;
			goto out_topo;
		}
	} else {
		mmt_config_default(&cfg);
		cfg.nr_cpus = run->nr_cpus;
		cfg.bugs = p->bugs;
		cfg.slab = p->slab;
		cfg.max_violations = 64;
		if (run->topo)
			mmt_topo_apply(run->topo, &cfg);
		if (w->configure)
			w->configure(&run->p, &cfg);
		run->m = mmt_machine_create(&cfg, err, errlen);
		if (!run->m) {
			ret = 2;
			goto out_topo;
		}
		run->nr_cpus = mmt_nr_cpus(run->m);
		/* Every worker must find a CPU of its own, or it would wait. */
		if (run->nr_cpus < (int)nthreads) {
			snprintf(
				err, errlen,
				"--threads: %u is more than the %d CPU(s) of %s's machine",
				nthreads, run->nr_cpus, w->name);
			ret = 2;
			goto out_machine;
		}
		mmt_machine_set_violation_handler(run->m, on_violation, run);
		run->main_task = mmt_task_create(run->m, "stress/main", 0);
		snprintf(run->heap.name, sizeof(run->heap.name), "model-%s",
			 mmt_stress_slab_name(p->slab));
		snprintf(run->heap.path, sizeof(run->heap.path), "kmalloc");
		run->heap.alloc = model_alloc;
		run->heap.free = model_free;
		run->heap.realloc = model_realloc;
		run->heap.usable_size = model_usable;
	}
	run->claimed =
		shared_alloc((size_t)run->nr_cpus * sizeof(*run->claimed));
	/* One more record: the main thread's (mmt_stress_main_thread()). */
	tsize = (size_t)(nthreads + 1) * sizeof(*run->threads);
	run->threads = shared_alloc(tsize);
	if (!run->claimed || !run->threads) {
		snprintf(err, errlen, "out of memory");
		goto out_machine;
	}
	for (i = 0; i <= nthreads; i++) {
		struct mmt_stress_thread *t = &run->threads[i];

		s = p->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
		t->run = run;
		t->id = (int)i;
		t->pinned_pu = -1;
		t->rng = splitmix64(&s);
	}
	{
		pthread_mutexattr_t ma;
		pthread_condattr_t ca;

		pthread_mutexattr_init(&ma);
		pthread_condattr_init(&ca);
		pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
		pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
		pthread_mutex_init(&run->mu, &ma);
		pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
		pthread_mutex_init(&run->fmu, &ma);
		pthread_cond_init(&run->park_cv, &ca);
		pthread_cond_init(&run->main_cv, &ca);
		pthread_mutexattr_destroy(&ma);
		pthread_condattr_destroy(&ca);
	}

	mmt_bugs_format(p->bugs, bugs, sizeof(bugs));
	rerun_line(run, rerun, sizeof(rerun));
	if (!env->quiet) {
		fprintf(o,
			"stress %s: %u thread(s) on %d cpu(s) in %d node(s), %g s, seed %" PRIu64
			", heap %s, bugs %s%s%s%s\n",
			w->name, nthreads, run->nr_cpus,
			run->m	  ? mmt_nr_nodes(run->m) :
			run->topo ? mmt_topo_info(run->topo)->nr_nodes :
				    1,
			p->time_s, p->seed, run->heap.name, bugs,
			p->kcsan_delay_us ? ", kcsan" : "",
			p->topology ? ", topology " : "",
			p->topology ? p->topology : "");
		fflush(o);
	}
	ok = run->plugin ? run_in_child(run, err, errlen) :
			   run_body(run, err, errlen);
	if (!ok)
		goto out_sync;
	if (!env->quiet)
		print_findings(run, o, rerun);
	out->findings = run->nr_findings;
	out->ops = total_ops(run);
	out->active_s = run->active_s;
	out->ops_per_s = run->active_s > 0 ? (double)out->ops / run->active_s :
					     0;
	out->json = result_json(run, rerun);
	ret = 0;
out_sync:
	pthread_mutex_destroy(&run->mu);
	pthread_mutex_destroy(&run->fmu);
	pthread_cond_destroy(&run->park_cv);
	pthread_cond_destroy(&run->main_cv);
out_machine:
	if (run->threads)
		munmap(run->threads, tsize);
	if (run->claimed)
		munmap((void *)run->claimed,
		       (size_t)run->nr_cpus * sizeof(*run->claimed));
	if (run->m) {
		if (run->main_task)
			mmt_task_destroy(run->main_task);
		mmt_machine_destroy(run->m);
	}
out_topo:
	mmt_topo_destroy(run->topo);
out_unmap:
	munmap(run, sizeof(*run));
	return ret;
}
