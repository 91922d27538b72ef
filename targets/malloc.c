// SPDX-License-Identifier: MIT
/*
 * targets/malloc.c - fuzz target "malloc": a user's allocator (or glibc,
 * jemalloc, mimalloc) under the object-level harness and its shadow
 * oracles (targets/plugins/: heap.h, harness.c for the input format and
 * the oracles, README.md for writing a plug-in).  No model is involved.
 *
 * Environment: MMT_ALLOCATOR=NAME|PATH.so (default glibc; `mmtorture fuzz
 * --target malloc --allocator X` sets it), MMT_MALLOC_MISUSE=double-free
 * (kind 7 frees twice: the double-free oracle), MMT_MALLOC_NO_ALIGNED=1
 * (aligned allocations run as malloc).  A bad allocator exits 2
 * with the reason before any input runs.
 *
 * A finding prints "==== mmtorture finding in target malloc ====", the
 * oracle with its signature (ORACLE|heap|ALLOCATOR), the decoded program,
 * and abort()s, which every engine records as a crash; a plug-in that
 * crashes or hangs is a crash or timeout of the engine's, replayed in a
 * child by `mmtorture fuzz` (tools/isolate.c) into a finding of its own.
 *
 * Built as fuzz-malloc (libFuzzer), afl-malloc (AFL++), malloc-replay.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/heap.h"

static struct mmt_heap heap;
static struct mmt_harness_opts opts;
static int ready;

static void setup(void)
{
	const char *spec = getenv(MMT_ALLOCATOR_ENV);
	const char *misuse = getenv(MMT_MALLOC_MISUSE_ENV);
	bool unknown;
	char err[1024];

	if (ready)
		return;
	if (!mmt_heap_open(spec, &heap, &unknown, err, sizeof(err))) {
		fprintf(stderr, "malloc: %s=%s: %s\n", MMT_ALLOCATOR_ENV,
			spec ? spec : "", err);
		exit(2);
	}
	if (misuse && *misuse) {
		if (strcmp(misuse, "double-free")) {
			fprintf(stderr,
				"malloc: %s='%s': expected double-free\n",
				MMT_MALLOC_MISUSE_ENV, misuse);
			exit(2);
		}
		opts.misuse_double_free = true;
	}
	opts.no_aligned = getenv(MMT_MALLOC_NO_ALIGNED_ENV) &&
			  !strcmp(getenv(MMT_MALLOC_NO_ALIGNED_ENV), "1");
	ready = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmt_heap_finding f;

	setup();
	if (!mmt_harness_run(&heap, &opts, data, size, &f))
		return 0;
	fprintf(stderr, "\n==== mmtorture finding in target malloc ====\n");
	fprintf(stderr, "%s [heap] at %s (allocator %s), %s\n  %s\n", f.oracle,
		heap.name, heap.path, f.op_text, f.message);
	fprintf(stderr, "signature: %s\n", f.signature);
	fprintf(stderr, "---- reproducer: the input (%s=%s%s%s) ----\n",
		MMT_ALLOCATOR_ENV,
		getenv(MMT_ALLOCATOR_ENV) ? getenv(MMT_ALLOCATOR_ENV) : "glibc",
		opts.misuse_double_free ? " " MMT_MALLOC_MISUSE_ENV
					  "=double-free" :
					  "",
		opts.no_aligned ? " " MMT_MALLOC_NO_ALIGNED_ENV "=1" : "");
	mmt_harness_print(data, size, stderr);
	fprintf(stderr, "---- end ----\n");
	fflush(stderr);
	abort();
}
