/* SPDX-License-Identifier: MIT */
/*
 * targets/pages.c - fuzz target "pages": the page allocator: alloc_pages (any GFP, order, node), bulk, frees in any order, pcp drains, cpu hotplug, memory pressure and kswapd.
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(pages)
