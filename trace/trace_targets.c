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
 *
 * The concurrent targets ("slab-mt", ...) decode their inputs as
 * concurrent programs (MMT_TRACE_SET_MT: a schedule in the header, the
 * schedule's decisions at the end of the input, kernel threads): each
 * CPU's operations run as a thread of its own under the schedule
 * (docs/trace-language.md, "Concurrent programs").  They come after the
 * single-CPU targets, so that a path naming "slab-mt" is not taken for
 * "slab" (a later match wins in the CLI's guess from a path).  The
 * single-CPU sets never hold the kernel-thread operations (they stop at
 * MMT_TRACE_OPS_SEQ), so their binary inputs decode as they always did.
 */
#include <stdio.h>
#include <string.h>

#include "mmt/gfp.h"
#include "mmt/trace.h"

/* The structural operations every target keeps. */
#define STRUCTURAL                                       \
	(MMT_OP_BIT(MMT_OP_CPU) | MMT_OP_BIT(MMT_OP_ENTER) | \
	 MMT_OP_BIT(MMT_OP_EXIT) | MMT_OP_BIT(MMT_OP_SCHEDULE))
#define B(op) MMT_OP_BIT(op)
#define KTHREADS (B(MMT_OP_KTHREAD_START) | B(MMT_OP_KTHREAD_STOP))
#define MT (MMT_TRACE_SET_MT | KTHREADS)
/* Interrupt handlers delivered by the schedule (where the issue names them). */
#define IRQS B(MMT_OP_INTERRUPT)

#define PAGES_OPS                                                        \
	(STRUCTURAL | B(MMT_OP_CPU_OFFLINE) | B(MMT_OP_CPU_ONLINE) |     \
	 B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_ALLOC_PAGES_NODE) |            \
	 B(MMT_OP_FREE_PAGES) | B(MMT_OP_ALLOC_PAGES_BULK) |             \
	 B(MMT_OP_FREE_PAGES_BULK) | B(MMT_OP_DRAIN_LOCAL) |             \
	 B(MMT_OP_DRAIN_ALL) | B(MMT_OP_LRU_ADD) | B(MMT_OP_LRU_UNMAP) | \
	 B(MMT_OP_KSWAPD) | B(MMT_OP_ALLOC_PAGES_NOLOCK) |               \
	 B(MMT_OP_FREE_PAGES_NOLOCK) | B(MMT_OP_SHRINKER_REGISTER) |     \
	 B(MMT_OP_SHRINKER_UNREGISTER))
#define SLAB_OPS                                                            \
	(STRUCTURAL | B(MMT_OP_CPU_OFFLINE) | B(MMT_OP_CPU_ONLINE) |        \
	 B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) | B(MMT_OP_KMALLOC) | \
	 B(MMT_OP_KMALLOC_NODE) | B(MMT_OP_KFREE) | B(MMT_OP_KREALLOC) |    \
	 B(MMT_OP_CACHE_CREATE) | B(MMT_OP_CACHE_DESTROY) |                 \
	 B(MMT_OP_CACHE_ALLOC) | B(MMT_OP_CACHE_ALLOC_NODE) |               \
	 B(MMT_OP_CACHE_FREE) | B(MMT_OP_CACHE_ALLOC_BULK) |                \
	 B(MMT_OP_CACHE_FREE_BULK) | B(MMT_OP_KFREE_BULK) |                 \
	 B(MMT_OP_CACHE_SHRINK) | B(MMT_OP_SHRINK_ALL) |                    \
	 B(MMT_OP_CACHE_PREFILL_SHEAF) | B(MMT_OP_CACHE_ALLOC_FROM_SHEAF) | \
	 B(MMT_OP_CACHE_RETURN_SHEAF) |                                     \
	 B(MMT_OP_CGROUP_CREATE) | B(MMT_OP_CGROUP_ENTER) |                 \
	 B(MMT_OP_CGROUP_OFFLINE) | B(MMT_OP_SOCK_MEMALLOC) |               \
	 B(MMT_OP_SOCK_CLOSE) | B(MMT_OP_LRU_ADD) | B(MMT_OP_LRU_UNMAP) |   \
	 B(MMT_OP_KMALLOC_NOLOCK) | B(MMT_OP_KFREE_NOLOCK))
#define RCU_OPS                                                       \
	(STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |  \
	 B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) | B(MMT_OP_KVFREE_RCU) | \
	 B(MMT_OP_KVFREE_RCU_HEAD) | B(MMT_OP_GP_STEP) |              \
	 B(MMT_OP_SYNCHRONIZE_RCU) | B(MMT_OP_RCU_BARRIER) |          \
	 B(MMT_OP_DRAIN_LOCAL))
#define MEMPOOL_OPS                                                       \
	(STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |      \
	 B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) | B(MMT_OP_MEMPOOL_CREATE) | \
	 B(MMT_OP_MEMPOOL_ALLOC) | B(MMT_OP_MEMPOOL_FREE) |               \
	 B(MMT_OP_MEMPOOL_RESIZE) | B(MMT_OP_MEMPOOL_DESTROY) |           \
	 B(MMT_OP_LRU_ADD) | B(MMT_OP_LRU_UNMAP) | B(MMT_OP_KSWAPD))
#define RESERVES_OPS                                                          \
	(STRUCTURAL | B(MMT_OP_ALLOC_PAGES) | B(MMT_OP_FREE_PAGES) |          \
	 B(MMT_OP_KMALLOC) | B(MMT_OP_KFREE) | B(MMT_OP_SWAPON) |             \
	 B(MMT_OP_SWAPOFF) | B(MMT_OP_SOCK_MEMALLOC) | B(MMT_OP_SOCK_CLOSE) | \
	 B(MMT_OP_NET_RX) | B(MMT_OP_RESERVE_CREATE) |                        \
	 B(MMT_OP_RESERVE_KMALLOC) | B(MMT_OP_RESERVE_CONNECT) |              \
	 B(MMT_OP_RESERVE_DISCONNECT) | B(MMT_OP_RESERVE_DESTROY) |           \
	 B(MMT_OP_RESERVE_CHARGE) | B(MMT_OP_RESERVE_UNCHARGE) |              \
	 B(MMT_OP_SOCK_CREATE) | B(MMT_OP_RESERVE_GROUP) |                    \
	 B(MMT_OP_RESERVE_CREATE_IN) | B(MMT_OP_RESERVE_GROUP_CONNECT) |      \
	 B(MMT_OP_RESERVE_GROUP_DISCONNECT) |                                 \
	 B(MMT_OP_RESERVE_GROUP_DESTROY) | B(MMT_OP_RESERVE_GROUP_IN))

static const struct {
	const char *name;
	mmt_opset_t ops;
	const char *what;
} targets[] = {
	{ "pages", PAGES_OPS,
	  "the page allocator: alloc_pages with any GFP mask, order and node, bulk, alloc_pages_nolock and free_pages_nolock, frees in any order, pcp drains, cpu hotplug, memory pressure, kswapd, shrinkers that take a mutex in reclaim (fs_reclaim)" },
	{ "slab", SLAB_OPS,
	  "the slab layer: kmalloc, krealloc, kfree, kmalloc_nolock and kfree_nolock, caches and their flags, bulk, shrink, per-cgroup caches and offline, memalloc sockets (pfmemalloc slabs)" },
	{ "rcu", RCU_OPS,
	  "kvfree_rcu (both forms) and grace periods: read-side sections, gp steps, synchronize_rcu, rcu_barrier, raw locks and RT rules" },
	{ "mempool", MEMPOOL_OPS,
	  "mempool: kmalloc, slab and page pools created, used, resized and destroyed under each policy, with memory pressure" },
	{ "reserves", RESERVES_OPS,
	  "the emergency reserve tree: reserves and groups of them (subtrees), charges, connect and disconnect, memalloc and ordinary sockets, received packets, swap files on a network mount" },
	{ "stack", MMT_TRACE_OPS_SEQ,
	  "the whole stack: every operation of the single-CPU language" },
	/* concurrent: every CPU a thread, kernel threads, a schedule */
	{ "pages-mt", MT | IRQS | PAGES_OPS,
	  "the page allocator across CPUs: allocations and frees racing pcp drains from other CPUs, cpu offline, FAST_TRY against refilling CPUs, the nolock APIs from interrupt handlers, kswapd" },
	{ "slab-mt", MT | IRQS | SLAB_OPS,
	  "the slab layer across CPUs: allocations, local and remote frees (across cpu offline), shrink and cgroup offline racing each other (the seed-003 window)" },
	{ "rcu-mt", MT | IRQS | RCU_OPS,
	  "RCU across CPUs: readers on some CPUs while others free with kvfree_rcu and grace periods advance, the gp and kvfree_rcu threads" },
	{ "mempool-mt", MT | MEMPOOL_OPS,
	  "the encrypted-swap world: writers, reclaim, kswapd and the dm-crypt worker with its mempools under each policy (the seed-001 deadlock)" },
	{ "reserves-mt",
	  MT | IRQS | RESERVES_OPS | B(MMT_OP_LRU_ADD) | B(MMT_OP_LRU_UNMAP) |
		  B(MMT_OP_KSWAPD),
	  "the network swap world: reserves, memalloc sockets and received packets beside the netswap sender thread under memory pressure" },
	{ "stack-mt", MT | MMT_TRACE_OPS_ALL,
	  "the whole stack, concurrent: every operation, kernel threads and a schedule" },
};

_Static_assert(
	MMT_NR_OPCODES <= 127,
	"an operation set is a 128-bit bitmap with MMT_TRACE_SET_MT on top");

bool mmt_trace_target_ops(const char *name, mmt_opset_t *ops)
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

static void dict_bytes(FILE *out, const char *name, const uint8_t *b, size_t n)
{
	size_t i;

	fprintf(out, "%s=\"", name);
	for (i = 0; i < n; i++)
		fprintf(out, "\\x%02x", b[i]);
	fprintf(out, "\"\n");
}

void mmt_trace_write_dict(FILE *out, const char *target, mmt_opset_t set)
{
	static const unsigned int sizes[] = { 8,    16,	  32,  64,  96,
					      128,  192,  256, 512, 1024,
					      2048, 4096, 8192 };
	const struct mmt_gfp_name *g;
	unsigned int idx;
	size_t nr, i;
	int op;

	fprintf(out,
		"# mmtorture fuzzing dictionary for target %s (mmtorture trace dict)\n",
		target);
	g = mmt_gfp_names(&nr);
	for (i = 0; i < nr; i++) {
		uint8_t b[4] = { (uint8_t)g[i].mask, (uint8_t)(g[i].mask >> 8),
				 (uint8_t)(g[i].mask >> 16),
				 (uint8_t)(g[i].mask >> 24) };

		dict_bytes(out, g[i].name, b, 4);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		/* a size argument holds size - 1 (trace_bin.c) */
		uint8_t b[2] = { (uint8_t)(sizes[i] - 1),
				 (uint8_t)((sizes[i] - 1) >> 8) };

		snprintf(name, sizeof(name), "size_%u", sizes[i]);
		dict_bytes(out, name, b, 2);
	}
	/* Each operation's opcode byte (its index in the set) and a zero. */
	for (op = 0, idx = 0; op < MMT_NR_OPCODES; op++) {
		char name[64];
		uint8_t b[2];

		if (!((set >> op) & 1))
			continue;
		b[0] = (uint8_t)idx++;
		b[1] = 0;
		snprintf(name, sizeof(name), "op_%s", mmt_op_info(op)->name);
		dict_bytes(out, name, b, 2);
	}
}
