/* SPDX-License-Identifier: MIT */
/*
 * targets/target.h - what every operation-language fuzz target shares.
 *
 * A target is one line, MMT_FUZZ_TARGET(name), in targets/<name>.c.  It
 * defines the libFuzzer entry points (test one input, the structure-aware
 * custom mutator and cross-over) over the target's operation set (see
 * mmt_trace_target_ops() in trace/trace_targets.c).  The same object serves the three builds: the
 * libFuzzer binary fuzz-<name>, the AFL++ binary afl-<name> (libAFLDriver
 * calls LLVMFuzzerTestOneInput; AFL++ ignores the custom-mutator hook and
 * loads targets/afl_mutator.c instead) and the plain <name>-replay.
 *
 * Environment: MMT_BUGS=id,id (bugs to turn on; the binary form carries
 * none), MMT_ORACLES=0|1|2 (override the input's oracle level),
 * MMT_INTERLEAVE=0 (a concurrent target gives the engine no interleaving
 * coverage: to measure what that feedback adds), MMT_CANARY_FILE=PATH
 * (append the first time each bug that is on is reached and triggered:
 * `bench bugs`).
 * A finding prints the finding and the input as a text trace on stderr and
 * abort()s, which every engine records as a crash.
 */
#ifndef MMT_TARGETS_TARGET_H
#define MMT_TARGETS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int mmt_target_init(const char *name);
int mmt_target_one_input(const char *name, const uint8_t *data, size_t size);
size_t mmt_target_mutate(const char *name, uint8_t *data, size_t size,
			 size_t max_size, unsigned int seed);
/*
 * For <name>-replay (replay_main.c), before it runs a file: 0 run it, 1
 * skip it (@in_dir: a file of a directory walk that is no input by its
 * name), -1 it is meant as text and does not parse (FILE:LINE:COL printed).
 */
int mmt_target_check_file(const char *path, const uint8_t *data, size_t size,
			  bool in_dir);
size_t mmt_target_crossover(const char *name, const uint8_t *a, size_t a_size,
			    const uint8_t *b, size_t b_size, uint8_t *out,
			    size_t max_size, unsigned int seed);

#define MMT_FUZZ_TARGET(name)                                                 \
	int LLVMFuzzerInitialize(int *argc, char ***argv);                    \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                     \
	{                                                                     \
		(void)argc;                                                   \
		(void)argv;                                                   \
		return mmt_target_init(#name);                                \
	}                                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
	{                                                                     \
		return mmt_target_one_input(#name, data, size);               \
	}                                                                     \
	size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,            \
				       size_t max_size, unsigned int seed);   \
	size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size,            \
				       size_t max_size, unsigned int seed)    \
	{                                                                     \
		return mmt_target_mutate(#name, data, size, max_size, seed);  \
	}                                                                     \
	size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_size,     \
					 const uint8_t *b, size_t b_size,     \
					 uint8_t *out, size_t max_size,       \
					 unsigned int seed);                  \
	size_t LLVMFuzzerCustomCrossOver(const uint8_t *a, size_t a_size,     \
					 const uint8_t *b, size_t b_size,     \
					 uint8_t *out, size_t max_size,       \
					 unsigned int seed)                   \
	{                                                                     \
		return mmt_target_crossover(#name, a, a_size, b, b_size, out, \
					    max_size, seed);                  \
	}

#endif /* MMT_TARGETS_TARGET_H */
