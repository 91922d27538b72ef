/* SPDX-License-Identifier: MIT */
/*
 * targets/stack_mt.c - fuzz target "stack-mt": the concurrent twin of "stack"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(stack_mt) is the target
 * "stack-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-stack-mt, afl-stack-mt and stack-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(stack_mt)
