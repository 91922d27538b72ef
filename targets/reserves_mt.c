/* SPDX-License-Identifier: MIT */
/*
 * targets/reserves_mt.c - fuzz target "reserves-mt": the concurrent twin of "reserves"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(reserves_mt) is the target
 * "reserves-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-reserves-mt, afl-reserves-mt and reserves-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(reserves_mt)
