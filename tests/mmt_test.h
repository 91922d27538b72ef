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
 * A test of the slab API that must hold for both implementations: CMake
 * registers it twice, as test-NAME-on-slub and test-NAME-on-slab, running
 * `mmt-tests NAME --slab=slub|slab`; t_machine() then builds machines with
 * that implementation whatever config the test passes.
 */
#define MMT_SLAB_TEST(tname) MMT_TEST(tname)
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

#endif /* MMT_TEST_H */
