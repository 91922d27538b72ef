/* SPDX-License-Identifier: MIT */
/*
 * targets/mempool.c - fuzz target "mempool": mempool: create/alloc/free/resize/destroy of kmalloc, slab and page pools under each policy, with memory pressure.
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(mempool)
