/* SPDX-License-Identifier: MIT */
/*
 * targets/reserves.c - fuzz target "reserves": the emergency reserve tree: reserves, charges, connect/disconnect, memalloc sockets, received packets, swap files on a network mount.
 *
 * The input is a binary operation-language program over this target's
 * operations (mmt_trace_target_ops() in trace/trace_targets.c); see
 * targets/target.h for the builds, the environment and what a finding does.
 */
#include "target.h"

MMT_FUZZ_TARGET(reserves)
