/* SPDX-License-Identifier: MIT */
/*
 * targets/plugins/heap.h - users' allocators: the loader (loader.c) and
 * the object-level harness with its shadow oracles (harness.c), shared by
 * the fuzz target `malloc` (targets/malloc.c) and the CLI (fuzz --allocator,
 * list).  Private to targets/ and tools/: the model (alloc/) knows nothing
 * of plug-ins; the ABI an author sees is mmt/plugin.h.
 */
#ifndef MMT_TARGETS_PLUGINS_HEAP_H
#define MMT_TARGETS_PLUGINS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The environment variable that names the allocator (as MMT_BUGS the bugs). */
#define MMT_ALLOCATOR_ENV "MMT_ALLOCATOR"
/* MMT_MALLOC_MISUSE=double-free: the harness frees blocks twice on purpose. */
#define MMT_MALLOC_MISUSE_ENV "MMT_MALLOC_MISUSE"
/*
 * MMT_MALLOC_NO_ALIGNED=1: aligned allocations run as malloc (an allocator
 * whose aligned path has a known bug can still be fuzzed for the rest).
 */
#define MMT_MALLOC_NO_ALIGNED_ENV "MMT_MALLOC_NO_ALIGNED"

enum mmt_heap_kind {
	MMT_HEAP_TABLE, /* struct mmt_plugin_ops */
	MMT_HEAP_MALLOC_API, /* malloc, free, ... */
};

/* A loaded allocator, as the harness calls it. */
struct mmt_heap {
	char name[64]; /* "glibc", "jemalloc", or the table's / file's name */
	char path[512]; /* what was loaded ("libjemalloc.so.2", a path) */
	enum mmt_heap_kind kind;
	void *handle; /* dlopen()'s */
	void *(*alloc)(size_t size);
	void (*free)(void *p);
	void *(*realloc)(void *p, size_t size);
	size_t (*usable_size)(void *p);
	void *(*calloc)(size_t n, size_t size); /* NULL: not offered */
	void *(*aligned_alloc)(size_t align,
			       size_t size); /* NULL: not offered */
	int (*posix_memalign)(void **p, size_t align, size_t size); /* ditto */
	void (*thread_init)(void); /* NULL: none */
	void (*thread_exit)(void);
};

/* A built-in allocator: its name, its library (by soname) and a line. */
struct mmt_heap_builtin {
	const char *name;
	const char *soname;
	const char *what;
};

const struct mmt_heap_builtin *mmt_heap_builtins(size_t *nr);

/*
 * Load @spec: a built-in name (mmt_heap_builtins()) or the path of a
 * shared library (it contains a '/' or ends in ".so"/".so.N").  False with
 * @err naming the library and the reason (not there, does not load, lacks
 * SYMBOL, table version); *@unknown set when @spec is neither a built-in
 * name nor looks like a library (a usage error: exit 2).
 */
bool mmt_heap_open(const char *spec, struct mmt_heap *h, bool *unknown,
		   char *err, size_t errlen);

/* ---- the harness (harness.c) ---- */

/* One oracle's finding: signature "ORACLE|heap|ALLOCATOR". */
struct mmt_heap_finding {
	char oracle[40];
	char signature[224];
	size_t op_index; /* the operation of the input that showed it */
	char op_text[160]; /* "op 12: realloc slot 3 to 4096 on thread 1" */
	char message[512];
};

struct mmt_harness_opts {
	bool misuse_double_free; /* MMT_MALLOC_MISUSE=double-free */
	bool no_aligned; /* MMT_MALLOC_NO_ALIGNED=1 */
};

/* The oracles, for `list` and the docs: name and what each checks. */
struct mmt_heap_oracle {
	const char *name;
	const char *what;
};

const struct mmt_heap_oracle *mmt_heap_oracles(size_t *nr);

/*
 * Decode @data (any bytes are a valid program: harness.c) and run it on
 * @h with the shadow oracles: true and @f filled at the first finding
 * (the input then stops; its live blocks are left to the allocator),
 * false when it ran clean (every block freed).  Not reentrant: one input
 * at a time per process (its worker threads persist between inputs).
 */
bool mmt_harness_run(const struct mmt_heap *h, const struct mmt_harness_opts *o,
		     const uint8_t *data, size_t size,
		     struct mmt_heap_finding *f);
/* The decoded program as text, one operation a line (reports). */
void mmt_harness_print(const uint8_t *data, size_t size, void *file);

#endif /* MMT_TARGETS_PLUGINS_HEAP_H */
