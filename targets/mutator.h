/* SPDX-License-Identifier: MIT */
/*
 * targets/mutator.h - the structure-aware mutator over the binary trace
 * form (mmt/trace.h), shared by the libFuzzer hooks (targets/target_common.c)
 * and the AFL++ custom mutator library (targets/afl_mutator.c).
 */
#ifndef MMT_TARGETS_MUTATOR_H
#define MMT_TARGETS_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

#include "mmt/trace.h"

/* @set: the target's operations, MMT_OP_BIT(opcode) (mmt_trace_target_ops()). */

/*
 * Mutate @data (@size bytes, room for @max_size) in place; returns the new
 * size (<= @max_size, >= 1).  Deterministic for a given @seed.  The result
 * always decodes (decoding is total); mutations are made on the decoded
 * program so that they are operation-level: insert, delete, duplicate and
 * move operations; GFP bit flips and named composites; order, size, count,
 * cache, CPU and node changes; free reordering (swap two frees, reverse a
 * run, move a free before or after another use of its handle).  For a
 * concurrent target (MMT_TRACE_SET_MT in @set) also the schedule: one
 * decision changed, inserted, removed or moved, the source or its PCT
 * parameters changed.
 */
size_t mmt_mutate(mmt_opset_t set, uint8_t *data, size_t size, size_t max_size,
		  uint64_t seed);

/*
 * Splice: a prefix of @a's operations, a run of @b's, and @a's rest; for a
 * concurrent target half the time instead @a with one CPU's thread taken
 * from @b (@a's schedule kept).
 */
size_t mmt_crossover(mmt_opset_t set, const uint8_t *a, size_t a_size,
		     const uint8_t *b, size_t b_size, uint8_t *out,
		     size_t max_size, uint64_t seed);

/* Remove operation @index (for trimming); returns the new size, or 0 if
 * @index is past the end.  *nr_ops receives the operation count. */
size_t mmt_mutator_drop_op(mmt_opset_t set, const uint8_t *data, size_t size,
			   size_t index, uint8_t *out, size_t max_size,
			   size_t *nr_ops);

/* Number of operations @data decodes to under @set. */
size_t mmt_mutator_nr_ops(mmt_opset_t set, const uint8_t *data, size_t size);

#endif /* MMT_TARGETS_MUTATOR_H */
