/* SPDX-License-Identifier: MIT */
/*
 * tests/mmt_test.h - the project's small test harness.
 *
 * A test is `MMT_TEST(what_it_proves) { ... }` in any .c file of tests/.  CMake
 * finds every MMT_TEST( at configure time and registers it with ctest as
 * test-what-it-proves (underscores become dashes), in one loop; the binary
 * runs one test per process: `mmt-tests NAME`, `mmt-tests --list`.
 *
 * Randomness is deterministic: t_rand() is splitmix64 seeded from MMT_SEED
 * (or a hash of the test name); the seed is printed on every failure so a
 * run reproduces with MMT_SEED=<seed>.
 *
 * A failed check prints file:line, the expression, the values, the seed and
 * every violation the current test machine recorded, then exits 1.
 */
#ifndef MMT_TEST_H
#define MMT_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/mmt.h"

struct mmt_test {
	const char *name;
	void (*fn)(void);
	const char *file;
};

#define MMT_TEST(tname)                                                    \
	static void tname(void);                                           \
	static const struct mmt_test tname##_desc = { #tname, tname,       \
						      __FILE__ };          \
	__attribute__((used,                                               \
		       section("mmt_tests"))) static const struct mmt_test \
		*const tname##_ptr = &tname##_desc;                        \
	static void tname(void)

/*
 * A test of the slab API that must hold for every implementation: CMake
 * registers it three times, as test-NAME-on-slub, test-NAME-on-slab and
 * test-NAME-on-sheaves, running `mmt-tests NAME --slab=slub|slab|sheaves`;
 * t_machine() then builds machines with that implementation whatever
 * config the test passes.
 */
#define MMT_SLAB_TEST(tname) MMT_TEST(tname)
/*
 * A test of kvfree_rcu's krcp blocks with slab objects: registered on SLUB
 * and SLAB only (test-NAME-on-slub, test-NAME-on-slab).  With sheaves
 * (kernel 6.18+) such objects go to the rcu_free sheaf instead, batched
 * until it fills or a barrier: tests/test_sheaves.c proves that path.
 */
#define MMT_KRCP_TEST(tname) MMT_TEST(tname)
/*
 * A test of an implementation's own kmalloc_nolock path (its per-cpu lock
 * taken by trylock, names of its locks): registered on SLUB, SLAB and
 * sheaves (test-NAME-on-slub, -on-slab, -on-sheaves) like an
 * MMT_SLAB_TEST; kept apart so that a slab implementation without the
 * nolock operations could be left out.
 */
#define MMT_NOLOCK_TEST(tname) MMT_TEST(tname)
/* The implementation given with --slab=, or -1 when none was. */
int t_slab_impl(void);

/* ---- failure reporting ---- */
void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define MMT_CHECK(e)                                                        \
	do {                                                                \
		if (!(e))                                                   \
			t_fail(__FILE__, __LINE__, "check failed: %s", #e); \
	} while (0)
#define MMT_CHECK_MSG(e, ...)                                    \
	do {                                                     \
		if (!(e))                                        \
			t_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)
#define MMT_CHECK_EQ(a, b)                                                   \
	do {                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);          \
		if (_a != _b)                                                \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
			       #a, #b, _a, _b);                              \
	} while (0)
#define MMT_CHECK_STR(a, b)                                                   \
	do {                                                                  \
		const char *_a = (a), *_b = (b);                              \
		if (strcmp(_a, _b) != 0)                                      \
			t_fail(__FILE__, __LINE__,                            \
			       "%s == %s: \"%s\" != \"%s\"", #a, #b, _a, _b); \
	} while (0)
/* The machine reported @check at least once. */
#define MMT_CHECK_VIOLATED(m, check)              \
	MMT_CHECK_MSG(mmt_violated((m), (check)), \
		      "expected a violation of '%s', none reported", (check))
/* The machine reported nothing. */
#define MMT_CHECK_CLEAN(m)                                   \
	MMT_CHECK_MSG(mmt_violation_count(m) == 0,           \
		      "expected no violation, %lu reported", \
		      mmt_violation_count(m))

/* ---- deterministic randomness ---- */
uint64_t t_seed(void);
uint64_t t_rand(void); /* splitmix64 */
uint64_t t_rand_below(uint64_t n); /* uniform in [0, n) */

/* ---- machines ---- */
/*
 * Create a machine from @cfg (NULL: mmt_config_default()) and put the
 * calling thread on CPU 0 with a task named "test".  The harness prints the
 * machine's violations on failure and destroys it at exit.
 */
struct mmt_machine *t_machine(const struct mmt_config *cfg);
/* Detach and destroy the machine made by t_machine() (idempotent). */
void t_machine_done(void);

/*
 * A "tight" machine: one zone (Normal, no DMA32) on two CPUs whose per-cpu
 * lists hold at most one page, so the zone's free count moves by exactly
 * one page per order-0 allocation or free and a test can put it where it
 * wants, e.g. just above or below a watermark.  Unless told otherwise the
 * watermarks are set to min/low/high = T_TIGHT_MIN/LOW/HIGH, fixed numbers
 * the tests reason about instead of what the zone size would give.
 */
#define T_TIGHT_PAGES 1024
#define T_TIGHT_MIN 64
#define T_TIGHT_LOW 80
#define T_TIGHT_HIGH 96

struct t_tight {
	unsigned long pages; /* size of the zone; 0: T_TIGHT_PAGES */
	uint64_t bugs; /* mmt_config.bugs */
	enum mmt_slab_impl slab; /* default SLUB; --slab= overrides it */
	bool computed_watermarks; /* keep the ones derived from the size */
};

/* t_machine() of a tight machine; @opts NULL: all defaults. */
struct mmt_machine *t_tight_machine(const struct t_tight *opts);

/* ---- pages ---- */

/* Free pages of zone @zone now (buddy lists only, not per-cpu lists). */
long t_zone_free(struct mmt_machine *m, int zone);
/*
 * Allocate order-0 pages with __GFP_MEMALLOC|__GFP_NOWARN (no watermark
 * applies) until zone @zone has @free_target free pages or fewer, storing
 * them in @held (room for @max).  Returns how many were taken.  Every
 * allocation must succeed and fit: the test fails otherwise, since the
 * zone's state would not be the one the test sets up.  Allocations go to
 * whichever zone the allocator picks, so this is for one-zone machines.
 */
unsigned int t_take_pages_until(struct mmt_machine *m, int zone,
				long free_target, struct mmt_page **held,
				unsigned int max);
/* Free the order-0 pages held[0..n), last taken first. */
void t_give_pages_back(struct mmt_page **held, unsigned int n);

/* ---- real threads ---- */

/*
 * Threads running @body(cpu, arg) at once, one per simulated CPU
 * first_cpu .. first_cpu + nthreads - 1.  Each thread creates its own task
 * ("worker"), attaches it to its CPU (the test fails if it cannot: a body
 * must find itself on its CPU), runs the body, detaches and destroys the
 * task.  A body may use MMT_CHECK: t_fail() exits the whole process.
 * Seeds for t_rand()-driven bodies must be drawn before the start (t_rand
 * is not thread-safe and the order of draws keeps a run reproducible).
 */
struct t_threads {
	void (*body)(int cpu, void *arg);
	void *arg;
	int n;
	struct t_thread {
		struct t_threads *ts;
		struct mmt_machine *m;
		int cpu;
		pthread_t th;
	} t[MMT_MAX_CPUS];
};

/* Start the threads; the calling thread may stay on a CPU of its own. */
void t_threads_start(struct t_threads *ts, int nthreads, int first_cpu,
		     void (*body)(int cpu, void *arg), void *arg);
/* Wait for every thread of @ts to finish. */
void t_threads_join(struct t_threads *ts);
/*
 * The common case: the test thread leaves its CPU so the bodies get CPUs
 * 0 .. nthreads - 1 all to themselves, runs them to completion and goes
 * back to the CPU it had, with its own task.
 */
void t_run_on_cpus(int nthreads, void (*body)(int cpu, void *arg), void *arg);

/*
 * A table of object slots that threads swap through under a mutex: what
 * one thread allocated, another frees, which makes remote frees.  What is
 * left in the slots after the threads is the test's to free.
 */
#define T_EXCHANGE_MAX 256

struct t_exchange {
	pthread_mutex_t mu;
	unsigned int nslots;
	void *slot[T_EXCHANGE_MAX];
};

/* An empty table of @nslots (at most T_EXCHANGE_MAX) slots. */
void t_exchange_init(struct t_exchange *x, unsigned int nslots);
/* Put @obj (may be NULL) in slot @k % nslots; return what was there. */
void *t_exchange_swap(struct t_exchange *x, unsigned int k, void *obj);

#endif /* MMT_TEST_H */
