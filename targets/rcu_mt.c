/* SPDX-License-Identifier: MIT */
/*
 * targets/rcu_mt.c - fuzz target "rcu-mt": the concurrent twin of "rcu"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(rcu_mt) is the target
 * "rcu-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-rcu-mt, afl-rcu-mt and rcu-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(rcu_mt)
