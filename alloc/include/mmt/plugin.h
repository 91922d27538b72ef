/* SPDX-License-Identifier: MIT */
/*
 * mmt/plugin.h - the plug-in ABI for users' allocators (targets/plugins/).
 *
 * An allocator author brings a shared library and mmtorture drives it
 * with the object-level fuzz target `malloc` under shadow oracles
 * (targets/plugins/README.md).  The library comes in one of two ways:
 *
 *  1. It exports the operations table below as a data symbol named
 *     MMT_PLUGIN_SYMBOL ("mmt_plugin_ops"):
 *
 *	#include <mmt/plugin.h>
 *	const struct mmt_plugin_ops mmt_plugin_ops = {
 *		.abi_version = MMT_PLUGIN_ABI_VERSION,
 *		.size = sizeof(struct mmt_plugin_ops),
 *		.name = "myalloc",
 *		.alloc = my_alloc, .free = my_free, .realloc = my_realloc,
 *		.usable_size = my_usable_size,
 *		.aligned_alloc = my_aligned_alloc,	(optional)
 *		.thread_init = my_thread_init,		(optional)
 *		.thread_exit = my_thread_exit,		(optional)
 *	};
 *
 *  2. It exports the standard malloc API as it is (malloc, free, realloc
 *     and malloc_usable_size; calloc, aligned_alloc and posix_memalign
 *     are used when present), like libjemalloc.so.2.
 *
 * A library exporting the table is driven through the table, whatever
 * else it exports.  Either way it is loaded apart (RTLD_LOCAL, and
 * RTLD_DEEPBIND where no sanitizer forbids it): its symbols never
 * interpose the framework's, so the framework's own allocations (the
 * shadow the oracles keep) never go through it.
 *
 * The contract the oracles hold a plug-in to (the C library's for the
 * malloc API): a block of n bytes is mapped memory, overlaps no other live
 * block, is aligned to min(16, the largest power of two <= n) (the
 * requested alignment for aligned_alloc), keeps its contents until freed
 * (realloc keeps the common prefix), and usable_size(p) >= n without
 * reaching into another block.  alloc(0) may return NULL or a unique
 * pointer; NULL for any other size is taken as out of memory.  free(NULL)
 * and realloc(NULL, n) behave as in C.  Any thread may free or realloc a
 * block another thread allocated.  thread_init runs on each thread of the
 * harness before its first call, thread_exit on its way out.
 *
 * ABI: a new field goes at the end and raises MMT_PLUGIN_ABI_VERSION;
 * @size lets an older table be read by a newer loader.  A table whose
 * version is newer than the loader's is refused, naming both.
 */
#ifndef MMT_PLUGIN_H
#define MMT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MMT_PLUGIN_ABI_VERSION 1u
#define MMT_PLUGIN_SYMBOL "mmt_plugin_ops"

struct mmt_plugin_ops {
	uint32_t abi_version; /* MMT_PLUGIN_ABI_VERSION the library was built with */
	uint32_t size; /* sizeof(struct mmt_plugin_ops) there */
	const char *name; /* for reports; NULL: the library's file name */
	/* required */
	void *(*alloc)(size_t size);
	void (*free)(void *p);
	void *(*realloc)(void *p, size_t size);
	size_t (*usable_size)(void *p);
	/* optional (NULL: not offered) */
	void *(*aligned_alloc)(size_t align,
			       size_t size); /* align: power of 2 */
	void (*thread_init)(void);
	void (*thread_exit)(void);
};

#endif /* MMT_PLUGIN_H */
