/* SPDX-License-Identifier: MIT */
/*
 * targets/pages_mt.c - fuzz target "pages-mt": the concurrent twin of "pages"
 * (every CPU's operations a thread of its own under the deterministic
 * scheduler, kernel threads, the schedule in the input; see "The
 * concurrent targets" in docs/trace-language.md).
 *
 * The file name is C-safe; MMT_FUZZ_TARGET(pages_mt) is the target
 * "pages-mt" (target_common.c reads '_' as '-'), and the build names its
 * binaries fuzz-pages-mt, afl-pages-mt and pages-mt-replay.  See
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(pages_mt)
