/* SPDX-License-Identifier: MIT */
/*
 * targets/slab_mt.c - fuzz target "slab-mt": the concurrent twin of "slab"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(slab_mt) is the target
 * "slab-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-slab-mt, afl-slab-mt and slab-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(slab_mt)
