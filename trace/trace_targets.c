/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_targets.c - the fuzz targets' operation sets.
 *
 * A layer's target decodes its inputs over its own operations only (plus
 * the structural ones: cpu, enter, exit, schedule), so the fuzzer spends
 * no executions on operations that cannot reach the layer; the operations
 * a layer needs to be reached in interesting states come along (pages for
 * memory pressure under the slab layer, kmalloc under mempool and the
 * reserves).  The table lives beside the codec because the CLI (trace
 * compile --target, replay, fuzz), the targets and the mutator must agree
 * on it: an input is only meaningful together with its target's set.
 */
#include <string.h>

#include "mmt/trace.h"

/* The structural operations every target keeps. */
#define STRUCTURAL                                       \
	((1ull << MMT_OP_CPU) | (1ull << MMT_OP_ENTER) | \
	 (1ull << MMT_OP_EXIT) | (1ull << MMT_OP_SCHEDULE))
#define B(op) (1ull << (op))

static const struct {
	const char *name;
	uint64_t ops;
	const char *what;
} targets[] = {
	{ "pages",
	  STRUCTURAL | B(MMT_OP_CPU_OFFLINE) | B(MMT_OP_CPU_ONLINE) |
		  B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_ALLOC_PAGES_NODE) |
		  B(MMT_OP_FREE_PAGES) | B(MMT_OP_ALLOC_PAGES_BULK) |
		  B(MMT_OP_FREE_PAGES_BULK) | B(MMT_OP_DRAIN_LOCAL) |
		  B(MMT_OP_DRAIN_ALL) | B(MMT_OP_LRU_ADD) |
		  B(MMT_OP_LRU_UNMAP) | B(MMT_OP_KSWAPD),
	  "the page allocator: alloc_pages with any GFP mask, order and node, bulk, frees in any order, pcp drains, cpu hotplug, memory pressure and kswapd" },
	{ "slab",
	  STRUCTURAL | B(MMT_OP_CPU_OFFLINE) | B(MMT_OP_CPU_ONLINE) |
		  B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |
		  B(MMT_OP_KMALLOC) | B(MMT_OP_KMALLOC_NODE) | B(MMT_OP_KFREE) |
		  B(MMT_OP_KREALLOC) | B(MMT_OP_CACHE_CREATE) |
		  B(MMT_OP_CACHE_DESTROY) | B(MMT_OP_CACHE_ALLOC) |
		  B(MMT_OP_CACHE_ALLOC_NODE) | B(MMT_OP_CACHE_FREE) |
		  B(MMT_OP_CACHE_ALLOC_BULK) | B(MMT_OP_CACHE_FREE_BULK) |
		  B(MMT_OP_KFREE_BULK) | B(MMT_OP_CACHE_SHRINK) |
		  B(MMT_OP_SHRINK_ALL) | B(MMT_OP_CGROUP_CREATE) |
		  B(MMT_OP_CGROUP_ENTER) | B(MMT_OP_CGROUP_OFFLINE) |
		  B(MMT_OP_SOCK_MEMALLOC) | B(MMT_OP_SOCK_CLOSE) |
		  B(MMT_OP_LRU_ADD) | B(MMT_OP_LRU_UNMAP),
	  "the slab layer: kmalloc, krealloc, kfree, caches and their flags, bulk, shrink, per-cgroup caches and offline, memalloc sockets (pfmemalloc slabs)" },
	{ "rcu",
	  STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |
		  B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) | B(MMT_OP_KVFREE_RCU) |
		  B(MMT_OP_KVFREE_RCU_HEAD) | B(MMT_OP_GP_STEP) |
		  B(MMT_OP_SYNCHRONIZE_RCU) | B(MMT_OP_RCU_BARRIER) |
		  B(MMT_OP_DRAIN_LOCAL),
	  "kvfree_rcu (both forms) and grace periods: read-side sections, gp steps, synchronize_rcu, rcu_barrier, raw locks and RT rules" },
	{ "mempool",
	  STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |
		  B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) |
		  B(MMT_OP_MEMPOOL_CREATE) | B(MMT_OP_MEMPOOL_ALLOC) |
		  B(MMT_OP_MEMPOOL_FREE) | B(MMT_OP_MEMPOOL_RESIZE) |
		  B(MMT_OP_MEMPOOL_DESTROY) | B(MMT_OP_LRU_ADD) |
		  B(MMT_OP_LRU_UNMAP) | B(MMT_OP_KSWAPD),
	  "mempool: kmalloc, slab and page pools created, used, resized and destroyed under each policy, with memory pressure" },
	{ "reserves",
	  STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |
		  B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) | B(MMT_OP_SWAPON) |
		  B(MMT_OP_SWAPOFF) | B(MMT_OP_SOCK_MEMALLOC) |
		  B(MMT_OP_SOCK_CLOSE) | B(MMT_OP_NET_RX) |
		  B(MMT_OP_RESERVE_CREATE) | B(MMT_OP_RESERVE_KMALLOC) |
		  B(MMT_OP_RESERVE_CONNECT) | B(MMT_OP_RESERVE_DISCONNECT) |
		  B(MMT_OP_RESERVE_DESTROY) | B(MMT_OP_RESERVE_CHARGE) |
		  B(MMT_OP_RESERVE_UNCHARGE),
	  "the emergency reserve tree: reserves, charges, connect and disconnect, memalloc sockets, received packets, swap files on a network mount" },
	{ "stack", (1ull << MMT_NR_OPCODES) - 1,
	  "the whole stack: every operation of the language" },
};

_Static_assert(MMT_NR_OPCODES <= 64, "an operation set is a 64-bit bitmap");

bool mmt_trace_target_ops(const char *name, uint64_t *ops)
{
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strcmp(targets[i].name, name)) {
			*ops = targets[i].ops;
			return true;
		}
	return false;
}

const char *mmt_trace_target_name(size_t i, const char **what)
{
	if (i >= sizeof(targets) / sizeof(targets[0]))
		return NULL;
	if (what)
		*what = targets[i].what;
	return targets[i].name;
}
