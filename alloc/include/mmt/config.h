/* SPDX-License-Identifier: MIT */
/*
 * mmt/config.h - build-time configuration shared by every layer.
 *
 * Every CMake option MMT_X maps one-to-one to a define MMT_X here; this
 * header only supplies defaults for builds that do not go through CMake.
 *
 * Debug tiers (MMT_DEBUG):
 *   0  no internal asserts (release/benchmarks); API misuse is still
 *      reported as a violation because the kernel checks it too
 *      (bad_page(), free_pages_check()).
 *   1  cheap asserts (MMT_ASSERT): O(1) checks on the paths they guard.
 *   2  internal asserts (MMT_IASSERT) and page poisoning by default.
 *   3  expensive validators (bool x_is_valid(...)) run inside MMT_VALIDATE
 *      after every state-changing operation.
 */
#ifndef MMT_CONFIG_H
#define MMT_CONFIG_H

#ifndef MMT_DEBUG
#define MMT_DEBUG 1
#endif
#ifndef MMT_STATS
#define MMT_STATS 1
#endif
/* Set by the build flavour (MMT_SANITIZE / MMT_FUZZ options). */
#ifndef MMT_SANITIZE_ASAN
#define MMT_SANITIZE_ASAN 0
#endif
#ifndef MMT_SANITIZE_TSAN
#define MMT_SANITIZE_TSAN 0
#endif
#ifndef MMT_FUZZ_LIBFUZZER
#define MMT_FUZZ_LIBFUZZER 0
#endif
#ifndef MMT_FUZZ_AFL
#define MMT_FUZZ_AFL 0
#endif

#define MMT_LIKELY(x) __builtin_expect(!!(x), 1)
#define MMT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MMT_NOINLINE __attribute__((noinline))
#define MMT_COLD __attribute__((cold, noinline))
/* A fast path inlined into each caller, whatever the heuristics say. */
#define MMT_ALWAYS_INLINE inline __attribute__((always_inline))
#define MMT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MMT_UNUSED __attribute__((unused))

#define MMT_STR_(x) #x
#define MMT_STR(x) MMT_STR_(x)
/* A call site as a static string: lockdep chains and reports name it. */
#define MMT_SITE (__FILE__ ":" MMT_STR(__LINE__))

#define MMT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* MMT_CONFIG_H */
