/* SPDX-License-Identifier: MIT */
/*
 * targets/rcu.c - fuzz target "rcu": kvfree_rcu (both forms) and the grace-period machine: read-side sections, gp steps, synchronize_rcu, rcu_barrier, with raw locks and RT rules.
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(rcu)
