/* SPDX-License-Identifier: MIT */
/*
 * targets/slab.c - fuzz target "slab": the slab layer: kmalloc/krealloc/kfree, caches with their flags, bulk alloc/free, shrink, per-cgroup caches with offline, memalloc sockets (pfmemalloc slabs).
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(slab)
