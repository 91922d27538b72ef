/* SPDX-License-Identifier: MIT */
/*
 * targets/afl_mutator.c - the structure-aware mutator (targets/mutator.c)
 * as an AFL++ custom mutator library, libmmt-afl-mutator.so.
 *
 * AFL++ ignores libFuzzer's LLVMFuzzerCustomMutator (see
 * ../shared/toolchain-notes.md), so the same operation-level mutations
 * reach it through this library:
 *   AFL_CUSTOM_MUTATOR_LIBRARY=.../libmmt-afl-mutator.so MMT_TARGET=slab afl-fuzz ...
 * (`mmtorture fuzz --engine afl` sets both).  MMT_TARGET names the target
 * whose operation set the inputs are decoded over; it must match the
 * binary being fuzzed.
 *
 * Entry points (AFL++ 4.04c): init, fuzz (with splicing when AFL hands an
 * add_buf), describe, the trim triple (init_trim / trim / post_trim: all
 * three or none) and deinit.  Trimming removes one operation at a time,
 * from the first to the last, keeping each removal that AFL reports kept
 * the path - an operation-level afl-tmin that never produces an input
 * shorter than an operation.
 *
 * Built without AFL++ headers: the library only needs the signatures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/check.h"
#include "mutator.h"

#define MAX_INPUT (1u << 20)

struct afl_mmt {
	mmt_opset_t set; /* the target's operations */
	uint64_t rng;
	uint8_t *out; /* the mutated input handed to AFL */
	size_t out_cap;
	/* trimming */
	uint8_t *cur, *cand;
	size_t cur_len, cand_len, cur_cap, cand_cap;
	size_t index; /* the next operation to try to remove */
	int32_t steps, done;
};

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_buf_size,
		       size_t max_size);
const char *afl_custom_describe(void *data, size_t max_description_len);
int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size);
size_t afl_custom_trim(void *data, uint8_t **out_buf);
int32_t afl_custom_post_trim(void *data, uint8_t success);
void afl_custom_deinit(void *data);

static bool grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *nb;

	if (need <= *cap)
		return true;
	nb = realloc(*buf, need);
	if (!nb)
		return false;
	*buf = nb;
	*cap = need;
	return true;
}

void *afl_custom_init(void *afl, unsigned int seed)
{
	const char *name = getenv("MMT_TARGET");
	struct afl_mmt *st;
	char err[160];

	(void)afl;
	if (!name || !*name)
		name = "stack";
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	if (!mmt_trace_target_ops(name, &st->set)) {
		fprintf(stderr,
			"libmmt-afl-mutator: MMT_TARGET=%s is no target\n",
			name);
		free(st);
		return NULL;
	}
	if (!mmt_trace_bin_set_mempool_policies(
		    getenv(MMT_MEMPOOL_POLICIES_ENV), err, sizeof(err))) {
		fprintf(stderr, "libmmt-afl-mutator: %s: %s\n",
			MMT_MEMPOOL_POLICIES_ENV, err);
		free(st);
		return NULL;
	}
	{
		const char *bugs = getenv("MMT_BUGS");
		uint64_t mask = 0;

		/* As the target decodes (target_common.c): same header. */
		if (bugs && *bugs &&
		    !mmt_bugs_parse(bugs, &mask, err, sizeof(err))) {
			fprintf(stderr, "libmmt-afl-mutator: MMT_BUGS: %s\n",
				err);
			free(st);
			return NULL;
		}
		mmt_trace_bin_set_bugs(mask);
	}
	st->rng = seed;
	return st;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_buf_size,
		       size_t max_size)
{
	struct afl_mmt *st = data;
	uint64_t seed = st->rng += 0x9e3779b97f4a7c15ull;
	size_t n;

	if (max_size > MAX_INPUT)
		max_size = MAX_INPUT;
	if (!max_size || !grow(&st->out, &st->out_cap, max_size)) {
		*out_buf = buf;
		return buf_size;
	}
	if (add_buf && add_buf_size && seed % 4 == 0) {
		n = mmt_crossover(st->set, buf, buf_size, add_buf, add_buf_size,
				  st->out, max_size, seed >> 2);
	} else {
		n = buf_size < max_size ? buf_size : max_size;
		memcpy(st->out, buf, n);
		n = mmt_mutate(st->set, st->out, n, max_size, seed);
	}
	*out_buf = st->out;
	return n;
}

const char *afl_custom_describe(void *data, size_t max_description_len)
{
	(void)data;
	return max_description_len > 8 ? "mmt-ops" : "mmt";
}

int32_t afl_custom_init_trim(void *data, uint8_t *buf, size_t buf_size)
{
	struct afl_mmt *st = data;
	size_t nr;

	if (!grow(&st->cur, &st->cur_cap, buf_size + 1) ||
	    !grow(&st->cand, &st->cand_cap, buf_size + 1))
		return 0;
	memcpy(st->cur, buf, buf_size);
	st->cur_len = buf_size;
	st->index = 0;
	st->done = 0;
	nr = mmt_mutator_nr_ops(st->set, buf, buf_size);
	st->steps = nr > INT32_MAX ? INT32_MAX : (int32_t)nr;
	return st->steps;
}

size_t afl_custom_trim(void *data, uint8_t **out_buf)
{
	struct afl_mmt *st = data;
	size_t nr;

	st->cand_len = mmt_mutator_drop_op(st->set, st->cur, st->cur_len,
					   st->index, st->cand, st->cur_len,
					   &nr);
	if (!st->cand_len) {
		/* Past the end: hand back the current input unchanged. */
		*out_buf = st->cur;
		return st->cur_len;
	}
	*out_buf = st->cand;
	return st->cand_len;
}

int32_t afl_custom_post_trim(void *data, uint8_t success)
{
	struct afl_mmt *st = data;

	if (success && st->cand_len) {
		/* Keep the shorter input; the next operation moved into index. */
		memcpy(st->cur, st->cand, st->cand_len);
		st->cur_len = st->cand_len;
	} else {
		st->index++;
	}
	return ++st->done;
}

void afl_custom_deinit(void *data)
{
	struct afl_mmt *st = data;

	if (!st)
		return;
	free(st->out);
	free(st->cur);
	free(st->cand);
	free(st);
}
