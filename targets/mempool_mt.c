/* SPDX-License-Identifier: MIT */
/*
 * targets/mempool_mt.c - fuzz target "mempool-mt": the concurrent twin of "mempool"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(mempool_mt) is the target
 * "mempool-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-mempool-mt, afl-mempool-mt and mempool-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(mempool_mt)
