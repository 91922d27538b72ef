/* SPDX-License-Identifier: MIT */
/*
 * targets/stack.c - fuzz target "stack": the whole stack: every operation of the language.
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(stack)
