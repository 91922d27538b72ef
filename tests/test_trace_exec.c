/* SPDX-License-Identifier: MIT */
/*
 * tests/test_trace_exec.c - the interpreter (mmt/exec.h): programs run on a
 * fresh machine each, findings name their check and operation, the same
 * program always gives the same outcome, hand-made programs that cannot
 * run are reported instead of crashing, a program that waits for itself
 * ends blocked at no real-time cost, the caller-side oracles fire on the
 * bugs made for them and stay silent without, and every injectable bug a
 * single CPU can reach has a program that finds it (the fuzzers' seeds,
 * also kept as text in corpora/bug-programs/).
 *
 * Programs are built operation by operation (mmt_program_append), so these
 * tests do not depend on the text parser; the bug-program files are parsed
 * and compared with the built programs by one test.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <time.h>

#include "mmt/exec.h"
#include "mmt_test.h"

/* ---- building programs ---- */

/* A program with the default header, changed as a test needs. */
static void prog(struct mmt_program *p, int cpus, unsigned long normal,
		 unsigned long dma32)
{
	mmt_program_init(p);
	p->hdr.nr_cpus = cpus;
	p->hdr.normal_pages = normal;
	p->hdr.dma32_pages = dma32;
}

/* Append @code with its arguments in the table's order. */
static void op(struct mmt_program *p, enum mmt_opcode code, ...)
{
	const struct mmt_op_info *info = mmt_op_info(code);
	struct mmt_op o;
	va_list ap;
	int i;

	MMT_CHECK(info != NULL);
	memset(&o, 0, sizeof(o));
	o.code = (uint16_t)code;
	va_start(ap, code);
	for (i = 0; i < info->nargs; i++)
		o.arg[i] = va_arg(ap, unsigned int);
	va_end(ap);
	MMT_CHECK(mmt_program_append(p, &o));
}

/* An operation exactly as given, whatever the table says (bad traces). */
static void raw_op(struct mmt_program *p, unsigned int code, uint32_t a0,
		   uint32_t a1)
{
	struct mmt_op o;

	memset(&o, 0, sizeof(o));
	o.code = (uint16_t)code;
	o.arg[0] = a0;
	o.arg[1] = a1;
	MMT_CHECK(mmt_program_append(p, &o));
}

/* Run @p with @bugs (replacing the header's); the finding in @f. */
static enum mmt_exec_result run(const struct mmt_program *p, uint64_t bugs,
				struct mmt_finding *f)
{
	struct mmt_exec_opts o;

	mmt_exec_opts_default(&o);
	o.override_bugs = true;
	o.bugs = bugs;
	return mmt_trace_execute(p, &o, f);
}

static uint64_t bug_mask(const char *id)
{
	const struct mmt_bug_info *b = mmt_bug_find(id);

	MMT_CHECK_MSG(b != NULL, "no bug %s", id);
	return 1ull << b->bug;
}

/* ---- the programs of the bugs (kept in sync with the .trace files) ---- */

#define ZERO_GFP (GFP_KERNEL | __GFP_ZERO)
#define RESERVE_GFP (GFP_KERNEL | __GFP_MEMALLOC)

static void bp_fast_try_bulk_refill(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_ALLOC_PAGES, __GFP_FAST_TRY, 0);
}

static void bp_pfmemalloc_unmarked(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 0);
}

static void bp_pcp_count_drift(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 1);
	op(p, MMT_OP_FREE_PAGES, 0);
	op(p, MMT_OP_DRAIN_LOCAL);
}

static void bp_slab_pfmemalloc_free_leak(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.slab = MMT_SLAB_SLAB;
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_SOCK_MEMALLOC);
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(p, MMT_OP_KFREE, 0);
}

static void bp_slab_pfmemalloc_active_cleared(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	p->hdr.slab = MMT_SLAB_SLAB;
	op(p, MMT_OP_SOCK_MEMALLOC);
	op(p, MMT_OP_CACHE_CREATE, 256, 0);
	op(p, MMT_OP_CACHE_CREATE, 512, 0);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 5);
	op(p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_ALLOC, 1, GFP_KERNEL);
	op(p, MMT_OP_EXIT);
	op(p, MMT_OP_CACHE_FREE, 0);
	op(p, MMT_OP_CACHE_FREE, 1);
	op(p, MMT_OP_FREE_PAGES, 0);
	op(p, MMT_OP_CACHE_SHRINK, 1);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
}

static void bp_slab_pfmemalloc_lingers(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	/* SLUB flushes nothing when the last socket goes: nothing to skip */
	p->hdr.slab = MMT_SLAB_SLAB;
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_SOCK_MEMALLOC);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(p, MMT_OP_EXIT);
	op(p, MMT_OP_KFREE, 0);
	op(p, MMT_OP_SOCK_CLOSE, 0);
	/* an ordinary caller; NORETRY: a failure, not the OOM killer */
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL | __GFP_NORETRY);
}

/*
 * Sheaves, 2048-byte objects (capacity 4): a prefilled sheaf emptied by
 * four allocations, memory taken below min, and the sheaf returned from a
 * PF_MEMALLOC task: the refill for the barn must not use the reserves.
 */
static void bp_sheaf_return_pfmemalloc(struct mmt_program *p)
{
	int i;

	prog(p, 1, 64, 0);
	p->hdr.slab = MMT_SLAB_SHEAVES;
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 2048, 0);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_PREFILL_SHEAF, 0, GFP_KERNEL, 4);
	for (i = 0; i < 4; i++)
		op(p, MMT_OP_CACHE_ALLOC_FROM_SHEAF, 0, GFP_KERNEL);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 5);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 3);
	op(p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(p, MMT_OP_CACHE_RETURN_SHEAF, 0, GFP_KERNEL);
	op(p, MMT_OP_EXIT);
}

/*
 * Sheaves: a partial slab with four free objects and no page left above
 * min; an oversize prefill (6 > capacity 4) gets the four, then no slab.
 */
static void bp_sheaf_refill_fail_leak(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	p->hdr.slab = MMT_SLAB_SHEAVES;
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 2048, 0);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 5);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_CACHE_PREFILL_SHEAF, 0, GFP_NOWAIT, 6);
}

/*
 * Sheaves, 2048-byte objects (capacity 4): nine frees fill main, make it
 * the spare, fill main again and trade it to the barn for an empty one;
 * nine allocations empty main, swap in the spare, empty it, and exchange
 * the empty main for the barn's full sheaf: the empty one joins the barn.
 */
static void bp_sheaf_barn_exchange_uncounted(struct mmt_program *p)
{
	unsigned int i;

	prog(p, 1, 64, 0);
	p->hdr.slab = MMT_SLAB_SHEAVES;
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 2048, 0);
	for (i = 0; i < 9; i++)
		op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	for (i = 0; i < 9; i++)
		op(p, MMT_OP_CACHE_FREE, i);
	for (i = 0; i < 9; i++)
		op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
}

/*
 * The pool's fill takes a refilled sheaf of 4 (2048-byte objects): two in
 * the pool, two left in main.  Two mempool_allocs empty main; the third's
 * first attempt (GFP_NOIO without __GFP_DIRECT_RECLAIM: it may spin, not
 * block) finds main, the spare and the barn empty.
 */
static void bp_sheaf_refill_may_block(struct mmt_program *p)
{
	prog(p, 1, 256, 0);
	p->hdr.slab = MMT_SLAB_SHEAVES;
	p->hdr.mempool = MMT_MEMPOOL_NO_RECLAIM;
	op(p, MMT_OP_MEMPOOL_CREATE, 1, 2, 2048); /* slab */
	op(p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_NOIO);
	op(p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_NOIO);
	op(p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_NOIO);
}

static void bp_kvfree_rcu_nowait_under_raw(struct mmt_program *p)
{
	prog(p, 2, 1024, 64);
	p->hdr.rt_rules = true;
	p->hdr.kvfree_rcu_fast_try = true;
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(p, MMT_OP_CPU, 1);
	op(p, MMT_OP_KVFREE_RCU_HEAD, 0);
}

static void bp_kvfree_rcu_early_free(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(p, MMT_OP_KVFREE_RCU, 0);
	op(p, MMT_OP_GP_STEP);
}

/* Every page of a 64-page zone taken, reserves included. */
static void take_all_64(struct mmt_program *p)
{
	unsigned int o;

	for (o = 6; o-- > 0;)
		op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, o);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 0);
}

/*
 * The 63 pages a one-page pool's element leaves of 64 (asking for a 64th
 * would end in the OOM killer with no task to kill: "oom-no-victim").
 */
static void take_all_beside_a_page_pool(struct mmt_program *p)
{
	unsigned int o;

	for (o = 6; o-- > 0;)
		op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, o);
}

static void bp_mempool_retry_reclaim(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	p->hdr.mempool = MMT_MEMPOOL_NO_RECLAIM;
	op(p, MMT_OP_MEMPOOL_CREATE, 2, 1, 4096);
	take_all_beside_a_page_pool(p);
	op(p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_NOIO);
	op(p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_NOIO);
}

static void bp_swap_single_bit_memalloc(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_SWAPON);
	op(p, MMT_OP_SWAPON);
	op(p, MMT_OP_SWAPOFF, 0);
}

static void bp_reserve_charge_leak(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_SOCK_MEMALLOC);
	take_all_64(p);
	op(p, MMT_OP_NET_RX, 0, 64);
}

/*
 * A reserve-backed packet for an ordinary socket: a memalloc socket exists
 * (the receive softirq runs with PF_MEMALLOC), the zone is below its min
 * watermark, and the packet is for a socket without SOCK_MEMALLOC.
 */
static void bp_sk_filter_pfmemalloc_kept(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_SOCK_MEMALLOC);
	op(p, MMT_OP_SOCK_CREATE);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 5);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 3);
	op(p, MMT_OP_NET_RX, 1, 64);
}

static void bp_emergency_wmark_not_lowered(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_RESERVE_CREATE, 16);
	op(p, MMT_OP_RESERVE_CONNECT, 0);
	op(p, MMT_OP_RESERVE_DISCONNECT, 0);
}

static void bp_pcp_order_index(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 0);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 0);
	op(p, MMT_OP_FREE_PAGES, 0);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 1);
}

static void bp_pcp_zero_skipped(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 0);
	op(p, MMT_OP_FREE_PAGES, 0);
	op(p, MMT_OP_ALLOC_PAGES, ZERO_GFP, 0);
}

static void bp_nowait_direct_reclaim(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4);
	op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 3);
	op(p, MMT_OP_ALLOC_PAGES, GFP_NOWAIT, 0);
}

static void bp_wmark_order_ignored(struct mmt_program *p)
{
	static const unsigned int orders[] = { 9, 8, 7, 5, 4, 3, 1 };
	size_t i;

	prog(p, 1, 1024, 0);
	for (i = 0; i < MMT_ARRAY_SIZE(orders); i++)
		op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, orders[i]);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 4);
}

static void bp_kvfree_rcu_block_leak(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	op(p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(p, MMT_OP_KVFREE_RCU, 0);
	op(p, MMT_OP_RCU_BARRIER);
}

static void bp_noreclaim_restore_clears(struct mmt_program *p)
{
	prog(p, 1, 64, 0);
	op(p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(p, MMT_OP_EXIT);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 0);
	op(p, MMT_OP_EXIT);
	op(p, MMT_OP_FREE_PAGES, 0);
}

static void bp_thisnode_fallback(struct mmt_program *p)
{
	prog(p, 1, 256, 0);
	p->hdr.nr_nodes = 2;
	/* node 0's zone down to its min: only node 1 has pages */
	op(p, MMT_OP_ALLOC_PAGES_NODE, 0, GFP_KERNEL | __GFP_MEMALLOC, 7);
	op(p, MMT_OP_ALLOC_PAGES_NODE, 0, GFP_KERNEL | __GFP_MEMALLOC, 6);
	op(p, MMT_OP_ALLOC_PAGES_NODE, 0, GFP_KERNEL | __GFP_MEMALLOC, 5);
	op(p, MMT_OP_ALLOC_PAGES_NODE, 0,
	   GFP_KERNEL | __GFP_THISNODE | __GFP_NORETRY, 4);
}

/*
 * The bookkeeping validators' bugs: an order-4 block freed, above the
 * costly order (the zone's allocated count), a block freed by free_pages_nolock in a hard irq under
 * RT rules, where it defers (the deferred list and its drain), and the
 * first allocation from the per-cpu lists (the state it hands out).
 */
static void bp_zone_allocated_per_block(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 4);
	op(p, MMT_OP_FREE_PAGES, 0);
}

static void bp_deferred_nolock_free(struct mmt_program *p, int oracles,
				    unsigned int order)
{
	prog(p, 1, 1024, 64);
	p->hdr.rt_rules = true;
	p->hdr.oracle_level = oracles;
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, order);
	op(p, MMT_OP_ENTER, MMT_CTX_IRQ);
	op(p, MMT_OP_FREE_PAGES_NOLOCK, 0);
	op(p, MMT_OP_EXIT);
}

static void bp_deferred_count_per_block(struct mmt_program *p)
{
	bp_deferred_nolock_free(p, 2, 1);
}

static void bp_deferred_drain_drops_last(struct mmt_program *p)
{
	bp_deferred_nolock_free(p, 0, 0);
}

static void bp_pcp_refill_keeps_buddy_flag(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 0;
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 0);
	op(p, MMT_OP_FREE_PAGES, 0);
}

/* An order-9 block out and back: its buddy is free, they must merge. */
static void bp_buddy_merge_below_max_order(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 9);
	op(p, MMT_OP_FREE_PAGES, 0);
}

/*
 * Three slabs' worth of 512-byte objects, then a free into a full slab
 * that is not the CPU's (put_cpu_partial), and for the node's list a
 * shrink (the CPU's partial slabs go to the node).
 */
static void bp_slub_partial(struct mmt_program *p, bool shrink)
{
	int i;

	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 512, 0);
	for (i = 0; i < 40; i++)
		op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_FREE, 0);
	if (shrink)
		op(p, MMT_OP_CACHE_SHRINK, 0);
}

static void bp_slub_cpu_partial_uncounted(struct mmt_program *p)
{
	bp_slub_partial(p, false);
}

static void bp_slub_node_partial_uncounted(struct mmt_program *p)
{
	bp_slub_partial(p, true);
}

/* A cgroup's task allocates from an accounted cache; the slab goes. */
static void bp_memcg_slab_uncharge_skipped(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CGROUP_CREATE);
	op(p, MMT_OP_CGROUP_ENTER, 0);
	op(p, MMT_OP_CACHE_CREATE, 512, MMT_SLAB_ACCOUNT);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_FREE, 0);
	op(p, MMT_OP_CACHE_SHRINK, 0);
}

/* One object out: the shrink deactivates the cpu slab with its freelist. */
static void bp_slub_deactivate_inuse_off_by_one(struct mmt_program *p)
{
	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 512, 0);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_SHRINK, 0);
	op(p, MMT_OP_CACHE_FREE, 0);
}

/*
 * Five slabs' worth of objects, two freed from the first slab, the shrink
 * moves it to the node's partial list; the allocations after it acquire
 * that slab and then run through the CPU's copy of its freelist.
 */
static void bp_slub_acquire_keeps_freelist(struct mmt_program *p)
{
	int i;

	prog(p, 1, 1024, 64);
	p->hdr.oracle_level = 0;
	op(p, MMT_OP_CACHE_CREATE, 512, 0);
	for (i = 0; i < 40; i++)
		op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	op(p, MMT_OP_CACHE_FREE, 0);
	op(p, MMT_OP_CACHE_FREE, 1);
	op(p, MMT_OP_CACHE_SHRINK, 0);
	for (i = 0; i < 8; i++)
		op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
}

/*
 * Memory taken down to the min watermark by requests that give up
 * (__GFP_NORETRY: no OOM), then a GFP_NOFS __GFP_NOFAIL page (no OOM
 * killer without __GFP_FS): only the min reserve the kernel grants NOFAIL
 * (ALLOC_MIN_RESERVE) has it.
 */
static void bp_nofail_no_min_reserve(struct mmt_program *p)
{
	int i;

	prog(p, 1, 4096, 0);
	p->hdr.oracle_level = 0;
	for (i = 0; i < 7; i++)
		op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 9);
	for (i = 0; i < 64; i++)
		op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 3);
	for (i = 0; i < 64; i++)
		op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 0);
	op(p, MMT_OP_ALLOC_PAGES, GFP_NOFS | __GFP_NOFAIL, 0);
}

struct bug_program {
	const char *id;
	void (*build)(struct mmt_program *p);
	/* without the bug: MMT_EXEC_OK, or BLOCKED where it must wait */
	enum mmt_exec_result fixed;
};

static const struct bug_program bug_programs[] = {
	{ "fast-try-bulk-refill", bp_fast_try_bulk_refill, MMT_EXEC_OK },
	{ "pfmemalloc-unmarked", bp_pfmemalloc_unmarked, MMT_EXEC_OK },
	{ "pcp-count-drift", bp_pcp_count_drift, MMT_EXEC_OK },
	{ "slab-pfmemalloc-free-leak", bp_slab_pfmemalloc_free_leak,
	  MMT_EXEC_OK },
	{ "slab-pfmemalloc-active-cleared", bp_slab_pfmemalloc_active_cleared,
	  MMT_EXEC_OK },
	{ "slab-pfmemalloc-lingers", bp_slab_pfmemalloc_lingers, MMT_EXEC_OK },
	{ "kvfree-rcu-nowait-under-raw", bp_kvfree_rcu_nowait_under_raw,
	  MMT_EXEC_OK },
	{ "kvfree-rcu-early-free", bp_kvfree_rcu_early_free, MMT_EXEC_OK },
	/* Without the bug the second mempool_alloc waits for the first. */
	{ "mempool-retry-reclaim", bp_mempool_retry_reclaim, MMT_EXEC_BLOCKED },
	{ "swap-single-bit-memalloc", bp_swap_single_bit_memalloc,
	  MMT_EXEC_OK },
	{ "reserve-charge-leak", bp_reserve_charge_leak, MMT_EXEC_OK },
	{ "emergency-wmark-not-lowered", bp_emergency_wmark_not_lowered,
	  MMT_EXEC_OK },
	{ "pcp-order-index", bp_pcp_order_index, MMT_EXEC_OK },
	{ "pcp-zero-skipped", bp_pcp_zero_skipped, MMT_EXEC_OK },
	{ "nowait-direct-reclaim", bp_nowait_direct_reclaim, MMT_EXEC_OK },
	{ "wmark-order-ignored", bp_wmark_order_ignored, MMT_EXEC_OK },
	{ "kvfree-rcu-block-leak", bp_kvfree_rcu_block_leak, MMT_EXEC_OK },
	{ "noreclaim-restore-clears", bp_noreclaim_restore_clears,
	  MMT_EXEC_OK },
	{ "thisnode-fallback", bp_thisnode_fallback, MMT_EXEC_OK },
	{ "sheaf-return-pfmemalloc", bp_sheaf_return_pfmemalloc, MMT_EXEC_OK },
	{ "sheaf-refill-fail-leak", bp_sheaf_refill_fail_leak, MMT_EXEC_OK },
	{ "sk-filter-pfmemalloc-kept", bp_sk_filter_pfmemalloc_kept,
	  MMT_EXEC_OK },
	{ "sheaf-barn-exchange-uncounted", bp_sheaf_barn_exchange_uncounted,
	  MMT_EXEC_OK },
	{ "sheaf-refill-may-block", bp_sheaf_refill_may_block, MMT_EXEC_OK },
	{ "zone-allocated-per-block", bp_zone_allocated_per_block,
	  MMT_EXEC_OK },
	{ "deferred-count-per-block", bp_deferred_count_per_block,
	  MMT_EXEC_OK },
	{ "deferred-drain-drops-last", bp_deferred_drain_drops_last,
	  MMT_EXEC_OK },
	{ "pcp-refill-keeps-buddy-flag", bp_pcp_refill_keeps_buddy_flag,
	  MMT_EXEC_OK },
	{ "buddy-merge-below-max-order", bp_buddy_merge_below_max_order,
	  MMT_EXEC_OK },
	{ "slub-cpu-partial-uncounted", bp_slub_cpu_partial_uncounted,
	  MMT_EXEC_OK },
	{ "slub-node-partial-uncounted", bp_slub_node_partial_uncounted,
	  MMT_EXEC_OK },
	{ "memcg-slab-uncharge-skipped", bp_memcg_slab_uncharge_skipped,
	  MMT_EXEC_OK },
	{ "slub-deactivate-inuse-off-by-one",
	  bp_slub_deactivate_inuse_off_by_one, MMT_EXEC_OK },
	{ "slub-acquire-keeps-freelist", bp_slub_acquire_keeps_freelist,
	  MMT_EXEC_OK },
	{ "nofail-no-min-reserve", bp_nofail_no_min_reserve, MMT_EXEC_OK },
};

/*
 * The MMT_DEBUG tier from which the check catching bug @id exists (0:
 * always); CMakeLists.txt's MMT_NEEDS_DEBUG_* say the same for the CLI.
 */
static int bug_program_min_debug(const char *id)
{
	/* slab-double-alloc: the allocation map */
	return !strcmp(id, "slub-acquire-keeps-freelist") ? 1 : 0;
}

static const struct bug_program *bug_program(const char *id)
{
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(bug_programs); i++)
		if (!strcmp(bug_programs[i].id, id))
			return &bug_programs[i];
	t_fail(__FILE__, __LINE__, "no program for bug %s", id);
}

/*
 * The bug's program finds the bug with the check the registry names, and
 * its fixed twin (the same program, no bug) does not: the per-bug evidence.
 */
static void expect_bug_program(const char *id)
{
	const struct bug_program *bp = bug_program(id);
	const struct mmt_bug_info *b = mmt_bug_find(id);
	struct mmt_program p;
	struct mmt_finding f;
	enum mmt_exec_result r;

	bp->build(&p);
	r = run(&p, bug_mask(id), &f);
	MMT_CHECK_MSG(r == MMT_EXEC_FINDING,
		      "bug %s on: result %d, expected a finding", id, r);
	MMT_CHECK_STR(f.oracle, b->caught_by);
	mmt_finding_free(&f);
	r = run(&p, 0, &f);
	MMT_CHECK_MSG(r == bp->fixed,
		      "bug %s off: result %d (%s: %s), expected %d", id, r,
		      f.oracle, f.message, bp->fixed);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

/* ---- the interpreter ---- */

MMT_TEST(empty_program_runs_clean_through_teardown)
{
	struct mmt_program p;
	struct mmt_finding f;

	mmt_program_init(&p);
	p.hdr.oracle_level = 2;
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	MMT_CHECK_EQ(f.nr_violations, 0);
	MMT_CHECK(f.dump == NULL);
	mmt_program_free(&p);
}

MMT_TEST(a_caller_on_a_cpu_of_its_own_machine_is_put_back_there)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_task *t = mmt_current_task();
	struct mmt_program p;
	struct mmt_finding f;

	bp_pcp_zero_skipped(&p);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	MMT_CHECK(mmt_current_machine() == m);
	MMT_CHECK_EQ(mmt_smp_processor_id(), 0);
	MMT_CHECK(mmt_current_task() == t);
	mmt_free_pages(mmt_alloc_pages(GFP_KERNEL, 0), 0);
	MMT_CHECK_CLEAN(m);
	mmt_program_free(&p);
}

MMT_TEST(a_machine_that_cannot_be_built_is_a_setup_failure)
{
	struct mmt_program p;
	struct mmt_finding f;

	mmt_program_init(&p);
	p.hdr.normal_pages = 1; /* below the model's smallest zone */
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_SETUP_FAILED);
	MMT_CHECK(strstr(f.message, "normal_pages") != NULL);
	mmt_program_free(&p);
}

MMT_TEST(the_same_program_gives_the_same_result_operation_and_signature)
{
	struct mmt_program p;
	struct mmt_finding a, b;
	int i;

	for (i = 0; i < 2; i++) {
		/* One program that finds something, one that runs clean. */
		bp_pcp_order_index(&p);
		MMT_CHECK_EQ(run(&p, i ? 0 : bug_mask("pcp-order-index"), &a),
			     run(&p, i ? 0 : bug_mask("pcp-order-index"), &b));
		MMT_CHECK_EQ(a.op_index, b.op_index);
		MMT_CHECK_STR(a.signature, b.signature);
		MMT_CHECK_STR(a.op_text, b.op_text);
		MMT_CHECK_EQ(a.nr_violations, b.nr_violations);
		mmt_finding_free(&a);
		mmt_finding_free(&b);
		mmt_program_free(&p);
	}
}

/*
 * Machines reuse the memory of earlier ones (alloc/machine.c): what ran
 * before must not change an outcome.  Forty decoded programs run in order,
 * then again in reverse order, each gives the same result both times.
 */
MMT_TEST(decoded_programs_give_the_same_outcome_whatever_ran_before)
{
	enum {
		N = 40
	};
	static struct mmt_program p[N];
	static struct mmt_finding first[N];
	static enum mmt_exec_result r[N];
	uint8_t in[256];
	int n, k;

	for (n = 0; n < N; n++) {
		for (k = 0; k < (int)sizeof(in); k++)
			in[k] = (uint8_t)t_rand();
		mmt_program_init(&p[n]);
		mmt_trace_decode(in, sizeof(in), &p[n]);
		r[n] = run(&p[n], 0, &first[n]);
	}
	for (n = N - 1; n >= 0; n--) {
		struct mmt_finding again;

		/* (Messages may name addresses: not compared.) */
		MMT_CHECK_EQ(run(&p[n], 0, &again), r[n]);
		MMT_CHECK_STR(again.signature, first[n].signature);
		MMT_CHECK_EQ(again.op_index, first[n].op_index);
		MMT_CHECK_EQ(again.nr_violations, first[n].nr_violations);
		mmt_finding_free(&again);
		mmt_finding_free(&first[n]);
		mmt_program_free(&p[n]);
	}
}

MMT_TEST(ending_a_null_handle_does_nothing)
{
	struct mmt_program p;
	struct mmt_finding f;

	/* Every allocation fails on a machine of 64 pages held by p0. */
	prog(&p, 1, 64, 0);
	op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 6); /* p0: all of it */
	op(&p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 3); /* p1 */
	op(&p, MMT_OP_KMALLOC, 100, GFP_NOWAIT); /* o0 */
	op(&p, MMT_OP_CACHE_CREATE, 64, 0); /* c0 */
	op(&p, MMT_OP_CACHE_ALLOC, 0, GFP_NOWAIT); /* co0 */
	op(&p, MMT_OP_CACHE_ALLOC_BULK, 0, GFP_NOWAIT, 8); /* cb0 */
	op(&p, MMT_OP_ALLOC_PAGES_BULK, GFP_NOWAIT, 8); /* pb0 */
	op(&p, MMT_OP_KREALLOC, 0, 200, GFP_NOWAIT);
	op(&p, MMT_OP_FREE_PAGES, 1);
	op(&p, MMT_OP_KVFREE_RCU_HEAD, 0);
	op(&p, MMT_OP_CACHE_FREE, 0);
	op(&p, MMT_OP_CACHE_FREE_BULK, 0);
	op(&p, MMT_OP_FREE_PAGES_BULK, 0);
	op(&p, MMT_OP_FREE_PAGES, 0);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_program_free(&p);
}

/* A hand-made program that cannot run: bad-trace at operation @at. */
static void expect_bad_trace(struct mmt_program *p, size_t at)
{
	struct mmt_finding f;

	MMT_CHECK_EQ(run(p, 0, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "bad-trace");
	MMT_CHECK_STR(f.layer, "trace");
	MMT_CHECK_EQ(f.op_index, at);
	mmt_finding_free(&f);
	mmt_program_free(p);
}

MMT_TEST(a_handle_used_after_its_end_is_a_bad_trace_not_a_crash)
{
	struct mmt_program p;

	prog(&p, 1, 1024, 64);
	op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	op(&p, MMT_OP_KFREE, 0);
	op(&p, MMT_OP_KFREE, 0); /* a double free, as a program says it */
	expect_bad_trace(&p, 2);

	prog(&p, 1, 1024, 64);
	op(&p, MMT_OP_FREE_PAGES, 5); /* never created */
	expect_bad_trace(&p, 0);
}

MMT_TEST(structural_nonsense_is_a_bad_trace_not_a_crash)
{
	struct mmt_program p;

	prog(&p, 2, 1024, 64);
	op(&p, MMT_OP_EXIT); /* nothing entered */
	expect_bad_trace(&p, 0);

	prog(&p, 2, 1024, 64);
	op(&p, MMT_OP_CPU, 7); /* a CPU the machine lacks */
	expect_bad_trace(&p, 0);

	prog(&p, 2, 1024, 64);
	raw_op(&p, MMT_OP_ENTER, MMT_NR_TRACE_CONTEXTS, 0);
	expect_bad_trace(&p, 0);

	prog(&p, 2, 1024, 64);
	op(&p, MMT_OP_KMALLOC, 8, GFP_KERNEL);
	op(&p, MMT_OP_KVFREE_RCU_HEAD, 0); /* 8 bytes hold no rcu_head */
	expect_bad_trace(&p, 1);

	prog(&p, 2, 1024, 64);
	raw_op(&p, MMT_NR_OPCODES + 3, 0, 0);
	expect_bad_trace(&p, 0);
}

MMT_TEST(misuse_the_text_can_express_is_the_model_checks_finding)
{
	struct mmt_program p;
	struct mmt_finding f;

	/* GFP_KERNEL in hard irq: the model's might_sleep, not bad-trace. */
	prog(&p, 1, 1024, 64);
	op(&p, MMT_OP_ENTER, MMT_CTX_IRQ);
	op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "sleep-in-atomic");
	MMT_CHECK_EQ(f.op_index, 1);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

/* A C identifier: what __func__ gives. */
static bool is_identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

MMT_TEST(a_findings_signature_is_oracle_layer_and_function_without_a_line_number)
{
	size_t i, found = 0;

	/* Every bug program's finding: check, layer, reporting function. */
	for (i = 0; i < MMT_ARRAY_SIZE(bug_programs); i++) {
		const struct bug_program *bp = &bug_programs[i];
		struct mmt_program p;
		struct mmt_finding f;
		char want[224];

		bp->build(&p);
		MMT_CHECK_EQ(run(&p, bug_mask(bp->id), &f), MMT_EXEC_FINDING);
		found++;
		MMT_CHECK_MSG(is_identifier(f.func), "%s: function '%s'",
			      bp->id, f.func);
		snprintf(want, sizeof(want), "%s|%s|%s", f.oracle, f.layer,
			 f.func);
		MMT_CHECK_STR(f.signature, want);
		/* the line is in the site, for people, never in the signature */
		MMT_CHECK_MSG(strchr(f.site, ':') && !strchr(f.signature, ':'),
			      "%s: site '%s', signature '%s'", bp->id, f.site,
			      f.signature);
		mmt_finding_free(&f);
		mmt_program_free(&p);
	}
	MMT_CHECK(found > 0);
}

MMT_TEST(a_finding_names_check_layer_site_operation_and_state)
{
	struct mmt_program p;
	struct mmt_finding f;
	char sig[224];

	bp_pcp_order_index(&p);
	MMT_CHECK_EQ(run(&p, bug_mask("pcp-order-index"), &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "double-alloc");
	MMT_CHECK_STR(f.layer, mmt_check_find("double-alloc")->layer);
	MMT_CHECK(strchr(f.site, '/') == NULL && strchr(f.site, ':'));
	/* the signature: check, layer and reporting function, no line */
	MMT_CHECK(f.func[0] && strcmp(f.func, "?"));
	snprintf(sig, sizeof(sig), "%s|%s|%s", f.oracle, f.layer, f.func);
	MMT_CHECK_STR(f.signature, sig);

	MMT_CHECK_EQ(f.op_index, 3);
	MMT_CHECK_STR(f.op_text, "p2 = alloc_pages GFP_KERNEL order=1");
	MMT_CHECK(f.dump != NULL && strstr(f.dump, "zone Normal"));
	MMT_CHECK(f.nr_violations >= 1);
	mmt_finding_free(&f);
	MMT_CHECK(f.dump == NULL);
	mmt_program_free(&p);
}

MMT_TEST(a_program_waiting_for_its_own_mempool_ends_blocked_at_once)
{
	struct mmt_program p;
	struct mmt_finding f;
	struct timespec t0, t1;
	double ms;

	prog(&p, 1, 64, 0);
	op(&p, MMT_OP_MEMPOOL_CREATE, 2, 1, 4096);
	take_all_beside_a_page_pool(&p);
	op(&p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_KERNEL); /* the pool's one */
	op(&p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_KERNEL); /* waits for it */
	op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL); /* never runs */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_BLOCKED);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	MMT_CHECK_EQ(f.op_index, 8);
	MMT_CHECK(f.oracle[0] == '\0');
	MMT_CHECK(strstr(f.message, "waits for itself") != NULL);
	/* Model time jumps; a 5 s io_schedule_timeout costs no real time. */
	MMT_CHECK_MSG(ms < 1000.0, "blocked after %.0f ms", ms);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

MMT_TEST(a_nofail_allocation_with_memory_used_up_ends_blocked)
{
	struct mmt_program p;
	struct mmt_finding f;

	prog(&p, 1, 64, 0);
	take_all_64(&p);
	op(&p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NOFAIL, 0);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_BLOCKED);
	MMT_CHECK_EQ(f.op_index, 7);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

MMT_TEST(the_oracle_level_decides_when_the_validators_run)
{
	struct mmt_program p;
	struct mmt_finding f;
	struct mmt_exec_opts o;

	/* Level 2: right after the drain that makes the count drift. */
	bp_pcp_count_drift(&p);
	mmt_exec_opts_default(&o);
	o.override_bugs = true;
	o.bugs = bug_mask("pcp-count-drift");
	o.oracle_level = 2;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "pcp-count");
	MMT_CHECK_EQ(f.op_index, 2);
	mmt_finding_free(&f);
	/* Level 1: the validators at teardown. */
	o.oracle_level = 1;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "pcp-count");
	MMT_CHECK_EQ(f.op_index, p.nr_ops);
	MMT_CHECK_STR(f.op_text, "teardown");
	mmt_finding_free(&f);
	/* Level 0: no validator; the count still shows at teardown. */
	o.oracle_level = 0;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "teardown-leak");
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

MMT_TEST(every_context_nests_and_teardown_unwinds_what_is_left)
{
	static const unsigned int ctx[] = {
		MMT_CTX_NOIO,	   MMT_CTX_NOFS,     MMT_CTX_MEMALLOC,
		MMT_CTX_SPIN_LOCK, MMT_CTX_RCU_READ, MMT_CTX_PREEMPT,
		MMT_CTX_BH_OFF,	   MMT_CTX_RAW_LOCK, MMT_CTX_IRQS_OFF,
	};
	struct mmt_program p;
	struct mmt_finding f;
	size_t i;

	prog(&p, 2, 1024, 64);
	p.hdr.oracle_level = 2;
	/* cpu 1 is left with a scope open (a task flag, not atomic). */
	op(&p, MMT_OP_CPU, 1);
	op(&p, MMT_OP_ENTER, MMT_CTX_NOIO);
	op(&p, MMT_OP_CPU, 0);
	for (i = 0; i < MMT_ARRAY_SIZE(ctx); i++) {
		op(&p, MMT_OP_ENTER, ctx[i]);
		op(&p, MMT_OP_KMALLOC, 32, GFP_ATOMIC);
	}
	/* Back to the three scopes: not atomic, so the CPU may be left. */
	for (i = 0; i < MMT_ARRAY_SIZE(ctx) - 3; i++)
		op(&p, MMT_OP_EXIT);
	/* In an irq, then a softirq, from a clean stack. */
	op(&p, MMT_OP_CPU, 1);
	op(&p, MMT_OP_EXIT);
	op(&p, MMT_OP_ENTER, MMT_CTX_IRQ);
	op(&p, MMT_OP_ENTER, MMT_CTX_RAW_LOCK);
	op(&p, MMT_OP_ALLOC_PAGES, GFP_ATOMIC, 0);
	op(&p, MMT_OP_EXIT);
	op(&p, MMT_OP_EXIT);
	op(&p, MMT_OP_ENTER, MMT_CTX_SOFTIRQ);
	op(&p, MMT_OP_KMALLOC, 32, GFP_ATOMIC);
	op(&p, MMT_OP_CPU, 0); /* back to the stack left open there */
	MMT_CHECK_MSG(run(&p, 0, &f) == MMT_EXEC_FINDING &&
			      !strcmp(f.oracle, "leave-cpu-in-atomic"),
		      "leaving cpu 1 inside a softirq: %s", f.oracle);
	mmt_finding_free(&f);
	/* Without the last two: teardown unwinds both CPUs cleanly. */
	p.nr_ops -= 2;
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_program_free(&p);
}

MMT_TEST(teardown_releases_every_kind_of_handle_and_leaks_nothing)
{
	struct mmt_program p;
	struct mmt_finding f;
	int kind;

	for (kind = 0; kind < 2; kind++) {
		prog(&p, 2, 1024, 64);
		p.hdr.slab = kind ? MMT_SLAB_SLAB : MMT_SLAB_SLUB;
		p.hdr.oracle_level = 1;
		op(&p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 2); /* p0 */
		op(&p, MMT_OP_ALLOC_PAGES_BULK, GFP_KERNEL, 5); /* pb0 */
		op(&p, MMT_OP_KMALLOC, 9000, ZERO_GFP); /* o0: pages */
		op(&p, MMT_OP_KMALLOC, 100, ZERO_GFP); /* o1 */
		op(&p, MMT_OP_KREALLOC, 1, 3000, ZERO_GFP);
		op(&p, MMT_OP_CGROUP_CREATE); /* g0 */
		op(&p, MMT_OP_CGROUP_ENTER, 0);
		op(&p, MMT_OP_CACHE_CREATE, 200,
		   MMT_SLAB_ACCOUNT | MMT_SLAB_TYPESAFE_BY_RCU); /* c0 */
		op(&p, MMT_OP_CACHE_ALLOC, 0, ZERO_GFP); /* co0 */
		op(&p, MMT_OP_CACHE_ALLOC_BULK, 0, GFP_KERNEL, 20); /* cb0 */
		op(&p, MMT_OP_MEMPOOL_CREATE, 0, 2, 300); /* m0 */
		op(&p, MMT_OP_MEMPOOL_CREATE, 1, 2, 300); /* m1 */
		op(&p, MMT_OP_MEMPOOL_CREATE, 2, 2, 9000); /* m2 */
		op(&p, MMT_OP_MEMPOOL_ALLOC, 0, GFP_KERNEL); /* e0 */
		op(&p, MMT_OP_MEMPOOL_ALLOC, 1, GFP_KERNEL); /* e1 */
		op(&p, MMT_OP_MEMPOOL_ALLOC, 2, GFP_KERNEL); /* e2 */
		op(&p, MMT_OP_SWAPON); /* s0 */
		op(&p, MMT_OP_SOCK_MEMALLOC); /* sk0 */
		op(&p, MMT_OP_NET_RX, 0, 1500);
		op(&p, MMT_OP_RESERVE_CREATE, 8); /* r0 */
		op(&p, MMT_OP_RESERVE_KMALLOC, 0, 256, 10);
		op(&p, MMT_OP_RESERVE_CONNECT, 0);
		op(&p, MMT_OP_RESERVE_CHARGE, 0, 2); /* ch0 */
		op(&p, MMT_OP_LRU_ADD, 0, 10);
		op(&p, MMT_OP_LRU_ADD, 1, 10);
		op(&p, MMT_OP_LRU_ADD, 2, 10);
		op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL); /* o2 */
		op(&p, MMT_OP_KVFREE_RCU, 2);
		op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL); /* o3 */
		op(&p, MMT_OP_KVFREE_RCU_HEAD, 3);
		op(&p, MMT_OP_CPU, 1);
		op(&p, MMT_OP_KMALLOC, 64, GFP_KERNEL); /* o4 */
		MMT_CHECK_MSG(run(&p, 0, &f) == MMT_EXEC_OK, "%s: %s %s",
			      kind ? "slab" : "slub", f.oracle, f.message);
		mmt_finding_free(&f);
		mmt_program_free(&p);
	}
}

MMT_TEST(krealloc_moves_the_handle_and_a_failure_keeps_the_old_object)
{
	struct mmt_program p;
	struct mmt_finding f;

	prog(&p, 1, 64, 0);
	op(&p, MMT_OP_KMALLOC, 100, GFP_KERNEL); /* o0 */
	op(&p, MMT_OP_KREALLOC, 0, 2000, ZERO_GFP); /* moves */
	op(&p, MMT_OP_KREALLOC, 0, 50, GFP_KERNEL); /* shrinks in place */
	op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 5); /* p0 */
	op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 4); /* p1 */
	op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 3); /* p2 */
	/* what is left, or a failure (NORETRY: never the OOM killer) */
	op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP | __GFP_NORETRY, 2); /* p3 */
	op(&p, MMT_OP_KREALLOC, 0, 16384, GFP_NOWAIT); /* fails: kept */
	op(&p, MMT_OP_KFREE, 0);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_program_free(&p);
}

MMT_TEST(the_watermark_oracle_spares_callers_with_reserve_rights)
{
	struct mmt_program p;
	struct mmt_finding f;

	/*
	 * The wmark-order-ignored program's last block, taken with rights:
	 * no "watermark" finding.  The defect lets the ordinary attempt
	 * serve it, so the page comes back unmarked, which the reference
	 * (below every ordinary floor: only no-watermarks may serve it)
	 * reports as pfmemalloc-marking.
	 */
	bp_wmark_order_ignored(&p);
	p.ops[p.nr_ops - 1].arg[0] = RESERVE_GFP;
	MMT_CHECK_EQ(run(&p, bug_mask("wmark-order-ignored"), &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK(!strcmp(f.oracle, "pfmemalloc-marking"));
	mmt_finding_free(&f);
	/* ... and in a PF_MEMALLOC scope. */
	p.ops[p.nr_ops - 1].arg[0] = GFP_KERNEL | __GFP_NORETRY;
	p.nr_ops--;
	op(&p, MMT_OP_ENTER, MMT_CTX_MEMALLOC);
	op(&p, MMT_OP_ALLOC_PAGES, GFP_KERNEL | __GFP_NORETRY, 4);
	MMT_CHECK_EQ(run(&p, bug_mask("wmark-order-ignored"), &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK(!strcmp(f.oracle, "pfmemalloc-marking"));
	mmt_finding_free(&f);
	/* Without the defect both are served from the reserves, marked. */
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_program_free(&p);
}

MMT_TEST(decoded_programs_without_bugs_find_nothing)
{
	uint8_t in[192];
	int n, k, blocked = 0;

	for (n = 0; n < 120; n++) {
		struct mmt_program p;
		struct mmt_finding f;
		enum mmt_exec_result r;

		for (k = 0; k < (int)sizeof(in); k++)
			in[k] = (uint8_t)t_rand();
		mmt_program_init(&p);
		mmt_trace_decode(in, sizeof(in), &p);
		/*
		 * Not under RT rules: there the model's kvfree_rcu in its
		 * nowait mode allocates a block in atomic context, which
		 * lockdep reports (a property of that mode, not of the
		 * interpreter).
		 */
		p.hdr.rt_rules = false;
		r = run(&p, 0, &f);
		if (r == MMT_EXEC_FINDING) {
			mmt_trace_print(&p, stderr);
			mmt_finding_print(&f, stderr);
		}
		MMT_CHECK_MSG(r != MMT_EXEC_FINDING,
			      "input %d: %s at op %zu (%s): %s", n, f.oracle,
			      f.op_index, f.op_text, f.message);
		blocked += r == MMT_EXEC_BLOCKED;
		mmt_finding_free(&f);
		mmt_program_free(&p);
	}
	MMT_CHECK(blocked < 120);
}

MMT_TEST(the_caller_side_oracles_are_in_the_catalogue)
{
	static const char *const names[] = {
		"bad-trace",	    "gfp-zero",	 "double-alloc",
		"gfp-nowait-slept", "watermark", "teardown-leak",
		"nofail-failed",
	};
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(names); i++)
		MMT_CHECK_MSG(mmt_check_find(names[i]) != NULL, "%s missing",
			      names[i]);
}

/* ---- the oracles, each on the bug made for it ---- */

MMT_TEST(gfp_zero_catches_an_uncleared_pcp_page_and_is_silent_without)
{
	expect_bug_program("pcp-zero-skipped");
}

MMT_TEST(double_alloc_catches_overlapping_blocks_and_is_silent_without)
{
	expect_bug_program("pcp-order-index");
}

MMT_TEST(gfp_nowait_slept_catches_nowait_reclaim_and_is_silent_without)
{
	expect_bug_program("nowait-direct-reclaim");
}

MMT_TEST(watermark_catches_an_order_blind_check_and_is_silent_without)
{
	expect_bug_program("wmark-order-ignored");
}

MMT_TEST(teardown_leak_catches_a_kept_block_page_and_is_silent_without)
{
	expect_bug_program("kvfree-rcu-block-leak");
}

/* ---- every bug one CPU can reach, found by a program ---- */

MMT_TEST(bug_fast_try_bulk_refill_has_a_program_that_finds_it)
{
	expect_bug_program("fast-try-bulk-refill");
}

MMT_TEST(bug_pfmemalloc_unmarked_has_a_program_that_finds_it)
{
	expect_bug_program("pfmemalloc-unmarked");
}

MMT_TEST(bug_pcp_count_drift_has_a_program_that_finds_it)
{
	expect_bug_program("pcp-count-drift");
}

MMT_TEST(bug_slab_pfmemalloc_free_leak_has_a_program_that_finds_it)
{
	expect_bug_program("slab-pfmemalloc-free-leak");
}

MMT_TEST(bug_slab_pfmemalloc_active_cleared_has_a_program_that_finds_it)
{
	expect_bug_program("slab-pfmemalloc-active-cleared");
}

MMT_TEST(bug_slab_pfmemalloc_lingers_has_a_program_that_finds_it)
{
	expect_bug_program("slab-pfmemalloc-lingers");
}

MMT_TEST(bug_kvfree_rcu_nowait_under_raw_has_a_program_that_finds_it)
{
	expect_bug_program("kvfree-rcu-nowait-under-raw");
}

MMT_TEST(bug_kvfree_rcu_early_free_has_a_program_that_finds_it)
{
	expect_bug_program("kvfree-rcu-early-free");
}

MMT_TEST(bug_mempool_retry_reclaim_has_a_program_that_finds_it)
{
	expect_bug_program("mempool-retry-reclaim");
}

MMT_TEST(bug_swap_single_bit_memalloc_has_a_program_that_finds_it)
{
	expect_bug_program("swap-single-bit-memalloc");
}

MMT_TEST(bug_reserve_charge_leak_has_a_program_that_finds_it)
{
	expect_bug_program("reserve-charge-leak");
}

MMT_TEST(bug_emergency_wmark_not_lowered_has_a_program_that_finds_it)
{
	expect_bug_program("emergency-wmark-not-lowered");
}

MMT_TEST(bug_sheaf_return_pfmemalloc_has_a_program_that_finds_it)
{
	expect_bug_program("sheaf-return-pfmemalloc");
}

MMT_TEST(bug_sheaf_refill_fail_leak_has_a_program_that_finds_it)
{
	expect_bug_program("sheaf-refill-fail-leak");
}

MMT_TEST(bug_sk_filter_pfmemalloc_kept_has_a_program_that_finds_it)
{
	expect_bug_program("sk-filter-pfmemalloc-kept");
}

/*
 * sk_filter_trim_cap(): a packet allocated from the reserves reaches only
 * a SOCK_MEMALLOC socket.  At an ordinary socket it is dropped (counted,
 * its memory freed at once); the same packet at the memalloc socket is
 * delivered and charged to the RX reserve.
 */
MMT_TEST(a_reserve_packet_for_an_ordinary_socket_is_dropped_not_delivered)
{
	struct mmt_exec_opts o;
	struct mmt_program p;
	struct mmt_finding f;
	char *log = NULL;
	size_t len = 0;
	FILE *out;

	bp_sk_filter_pfmemalloc_kept(&p);
	/* The same packet for the memalloc socket sk0. */
	op(&p, MMT_OP_NET_RX, 0, 64);
	mmt_exec_opts_default(&o);
	out = open_memstream(&log, &len);
	MMT_CHECK(out != NULL);
	o.log = out;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_OK);
	fclose(out);
	MMT_CHECK_MSG(strstr(log, "net_rx sk1 size=64  -> dropped\n") != NULL,
		      "log:\n%s", log);
	MMT_CHECK_MSG(
		strstr(log,
		       "net_rx sk0 size=64  -> delivered from the reserves\n") !=
			NULL,
		"log:\n%s", log);
	free(log);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

/*
 * A shrinker that takes mutex_a, and a caller that holds mutex_a across a
 * kmalloc of @gfp (inside a nofs scope if @nofs_scope), then reclaim.
 */
static void fs_reclaim_program(struct mmt_program *p, mmt_gfp_t gfp,
			       bool nofs_scope)
{
	prog(p, 1, 256, 0);
	op(p, MMT_OP_SHRINKER_REGISTER, 0);
	op(p, MMT_OP_ENTER, MMT_CTX_MUTEX_A);
	if (nofs_scope)
		op(p, MMT_OP_ENTER, MMT_CTX_NOFS);
	op(p, MMT_OP_KMALLOC, 64, gfp);
	if (nofs_scope)
		op(p, MMT_OP_EXIT);
	op(p, MMT_OP_EXIT);
	op(p, MMT_OP_LRU_ADD, 1, 64);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 6);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 6);
	op(p, MMT_OP_ALLOC_PAGES, GFP_KERNEL, 6);
}

/*
 * lockdep's fs_reclaim: an allocation that may enter fs reclaim orders
 * the locks held before fs_reclaim even when no reclaim runs, and reclaim
 * orders fs_reclaim before what a shrinker takes.  A mutex a shrinker
 * takes, held across a GFP_KERNEL allocation, is reported; GFP_NOFS or a
 * memalloc_nofs_save() scope is the fix and is silent.
 */
MMT_TEST(
	a_shrinkers_mutex_held_across_a_gfp_kernel_allocation_is_the_fs_reclaim_inversion)
{
	struct mmt_program p;
	struct mmt_finding f;

	fs_reclaim_program(&p, GFP_KERNEL, false);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "lock-inversion");
	MMT_CHECK_MSG(strstr(f.message, "fs_reclaim -> trace mutex_a") &&
			      strstr(f.message, "trace mutex_a at") &&
			      strstr(f.message, "then fs_reclaim at"),
		      "%s", f.message);
	mmt_finding_free(&f);
	mmt_program_free(&p);

	fs_reclaim_program(&p, GFP_NOFS, false);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_finding_free(&f);
	mmt_program_free(&p);

	fs_reclaim_program(&p, GFP_KERNEL, true);
	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

/*
 * The same inversion as a real deadlock: two CPUs under the deterministic
 * scheduler, one holding mutex_b inside reclaim whose shrinker waits for
 * mutex_a, the other holding mutex_a and waiting for mutex_b.  The finding
 * is the deadlock, with lockdep's report as its cause; GFP_NOFS under
 * mutex_b runs clean (corpora/oracle-pairs/deadlock-*-fs-reclaim-abba).
 */
MMT_TEST(two_cpus_deadlock_through_a_shrinkers_mutex_and_lockdep_names_the_cycle)
{
#ifdef MMT_SOURCE_DIR
	static const char *const pair[] = {
		MMT_SOURCE_DIR
		"/corpora/oracle-pairs/deadlock-fires-fs-reclaim-abba.trace",
		MMT_SOURCE_DIR
		"/corpora/oracle-pairs/deadlock-silent-fs-reclaim-abba.trace",
	};
	struct mmt_program p;
	struct mmt_finding f;
	char err[256];

	MMT_CHECK_MSG(mmt_trace_load(pair[0], &p, err, sizeof(err)), "%s", err);
	MMT_CHECK_EQ(mmt_trace_execute(&p, NULL, &f), MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "deadlock");
	MMT_CHECK_MSG(strstr(f.message, "spins on trace mutex_a") &&
			      strstr(f.message, "spins on trace mutex_b"),
		      "%s", f.message);
	MMT_CHECK_MSG(strstr(f.cause, "lock-inversion") &&
			      strstr(f.cause, "fs_reclaim"),
		      "cause: %s", f.cause);
	mmt_finding_free(&f);
	mmt_program_free(&p);

	MMT_CHECK_MSG(mmt_trace_load(pair[1], &p, err, sizeof(err)), "%s", err);
	MMT_CHECK_EQ(mmt_trace_execute(&p, NULL, &f), MMT_EXEC_OK);
	mmt_finding_free(&f);
	mmt_program_free(&p);
#endif
}

/*
 * Reserve subtrees: a group's reserves count in the root only while the
 * group is connected, charges stop at each reserve's own pages, and the
 * validators (oracles=2: after every operation) check the subtree sums;
 * disconnecting the group must lower the watermarks by the whole
 * subtree's pages (emergency-wmark-not-lowered skips that and is caught).
 */
MMT_TEST(a_reserve_group_counts_its_subtree_while_connected_and_only_then)
{
	struct mmt_exec_opts o;
	struct mmt_program p;
	struct mmt_finding f;
	char *log = NULL;
	size_t len = 0;
	FILE *out;

	prog(&p, 1, 1024, 64);
	p.hdr.oracle_level = 2;
	op(&p, MMT_OP_RESERVE_GROUP);
	op(&p, MMT_OP_RESERVE_CREATE_IN, 0, 8);
	op(&p, MMT_OP_RESERVE_CREATE_IN, 0, 16);
	op(&p, MMT_OP_RESERVE_GROUP_CONNECT, 0);
	op(&p, MMT_OP_RESERVE_CHARGE, 0, 8); /* ch0: r0 full */
	op(&p, MMT_OP_RESERVE_CHARGE, 0, 1); /* ch1: past r0's own pages */
	op(&p, MMT_OP_RESERVE_CHARGE, 1, 16); /* ch2: r1 full */
	op(&p, MMT_OP_RESERVE_UNCHARGE, 0);
	op(&p, MMT_OP_RESERVE_UNCHARGE, 2);
	op(&p, MMT_OP_RESERVE_DISCONNECT, 1);
	op(&p, MMT_OP_RESERVE_CONNECT, 1); /* back into rg0, not the root */
	op(&p, MMT_OP_RESERVE_GROUP_DISCONNECT, 0);

	mmt_exec_opts_default(&o);
	out = open_memstream(&log, &len);
	MMT_CHECK(out != NULL);
	o.log = out;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_OK);
	fclose(out);
	MMT_CHECK_MSG(
		strstr(log, "ch0 = reserve_charge r0 pages=8  -> ok\n") &&
			strstr(log,
			       "ch1 = reserve_charge r0 pages=1  -> NULL\n") &&
			strstr(log,
			       "ch2 = reserve_charge r1 pages=16  -> ok\n"),
		"log:\n%s", log);
	free(log);
	mmt_finding_free(&f);

	MMT_CHECK_EQ(run(&p, bug_mask("emergency-wmark-not-lowered"), &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "reserve-watermark");
	MMT_CHECK_EQ(f.op_index, 9); /* r1 leaves rg0: the root loses 16 */
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

/*
 * A group nested in a group (reserve_group_in) is an inner node of its
 * parent's subtree: reconnected, it goes back under its parent group, not
 * the root.  Built detached, the inner group leaves and rejoins rg0, then
 * rg0 joins the root and leaves it: with emergency-wmark-not-lowered the
 * last disconnect is caught only if rg1's 16 pages left with rg0 (under
 * the root, rg1 would have stayed and rg0's disconnect changed nothing).
 * The clean run's validators (oracles=2) check the sums after every step.
 */
MMT_TEST(a_nested_reserve_group_reconnects_under_its_parent_group_not_the_root)
{
	struct mmt_program p;
	struct mmt_finding f;

	prog(&p, 1, 1024, 64);
	p.hdr.oracle_level = 2;
	op(&p, MMT_OP_RESERVE_GROUP); /* rg0 */
	op(&p, MMT_OP_RESERVE_GROUP_IN, 0); /* rg1 in rg0 */
	op(&p, MMT_OP_RESERVE_CREATE_IN, 1, 16); /* r0 in rg1 */
	op(&p, MMT_OP_RESERVE_GROUP_DISCONNECT, 1);
	op(&p, MMT_OP_RESERVE_GROUP_CONNECT, 1); /* back into rg0 */
	op(&p, MMT_OP_RESERVE_GROUP_CONNECT, 0);
	op(&p, MMT_OP_RESERVE_GROUP_DISCONNECT, 0);

	MMT_CHECK_EQ(run(&p, 0, &f), MMT_EXEC_OK);
	mmt_finding_free(&f);
	MMT_CHECK_EQ(run(&p, bug_mask("emergency-wmark-not-lowered"), &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "reserve-watermark");
	MMT_CHECK_EQ(f.op_index, 6);
	mmt_finding_free(&f);
	mmt_program_free(&p);
}

MMT_TEST(bug_sheaf_barn_exchange_uncounted_has_a_program_that_finds_it)
{
	expect_bug_program("sheaf-barn-exchange-uncounted");
}

/*
 * tests/data/slab-diff/slub-no-min-order-fallback.trace: a 10663-byte cache
 * (order 3, smallest order 2) after memory was fragmented - 128 order-2
 * blocks taken, every other one given back: 256 pages free in order-2
 * blocks, none of order 3.
 */
static void bp_slub_no_min_order_fallback(struct mmt_program *p)
{
	unsigned int i;

	prog(p, 1, 512, 0);
	p->hdr.oracle_level = 2;
	op(p, MMT_OP_CACHE_CREATE, 10663, 0);
	for (i = 0; i < 128; i++)
		op(p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 2);
	for (i = 0; i < 128; i += 2)
		op(p, MMT_OP_FREE_PAGES, i);
	op(p, MMT_OP_DRAIN_ALL);
	op(p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
}

/*
 * A bug of one implementation that breaks no invariant: SLUB returns NULL
 * where SLAB and sheaves grow a slab of the smallest order.  A run on one
 * implementation is clean with it on; the differential run reports the
 * NULL with room (slab-divergence) only with it on.
 */
MMT_TEST(bug_slub_no_min_order_fallback_is_found_by_differential_runs_only)
{
	struct mmt_program p;
	struct mmt_exec_opts o;
	struct mmt_slab_diff d;
	struct mmt_finding f;
	int on;

	bp_slub_no_min_order_fallback(&p);
	MMT_CHECK_STR(mmt_bug_find("slub-no-min-order-fallback")->caught_by,
		      "slab-divergence");
	MMT_CHECK_EQ(run(&p, bug_mask("slub-no-min-order-fallback"), &f),
		     MMT_EXEC_OK);
	mmt_finding_free(&f);
	for (on = 0; on < 2; on++) {
		mmt_exec_opts_default(&o);
		o.override_bugs = true;
		o.bugs = on ? bug_mask("slub-no-min-order-fallback") : 0;
		mmt_exec_slab_diff(&p, &o, NULL, &d);
		MMT_CHECK_EQ(d.nr_run, MMT_NR_SLAB_IMPLS);
		MMT_CHECK_EQ(d.nr_findings, 0);
		MMT_CHECK_EQ(d.divergences, on ? 1ul : 0ul);
		MMT_CHECK_EQ(d.result, on ? MMT_EXEC_FINDING : MMT_EXEC_OK);
		if (on)
			MMT_CHECK(
				d.report &&
				strstr(d.report,
				       "NULL on slab=slub while every zone had room"));
		mmt_slab_diff_free(&d);
	}
	mmt_program_free(&p);
}

/*
 * The same rule is silent where the implementations legitimately differ:
 * sheaves keep more objects at hand than SLUB and SLAB, and when memory is
 * so fragmented that no block of the cache's smallest slab order is left
 * (256 order-1 blocks taken, every other one back), SLUB and SLAB return
 * NULL where sheaves hand out objects: no room, no divergence.
 */
MMT_TEST(differential_runs_tolerate_a_null_when_no_block_can_hold_a_new_slab)
{
	struct mmt_program p;
	struct mmt_slab_diff d;
	unsigned int i;

	prog(&p, 1, 512, 0);
	p.hdr.oracle_level = 2;
	op(&p, MMT_OP_CACHE_CREATE, 10663, 0);
	op(&p, MMT_OP_CACHE_ALLOC, 0, GFP_KERNEL);
	for (i = 0; i < 256; i++)
		op(&p, MMT_OP_ALLOC_PAGES, RESERVE_GFP, 1);
	for (i = 0; i < 256; i += 2)
		op(&p, MMT_OP_FREE_PAGES, i);
	op(&p, MMT_OP_DRAIN_ALL);
	for (i = 0; i < 4; i++)
		op(&p, MMT_OP_CACHE_ALLOC, 0, GFP_NOWAIT);
	/* The difference is there: the last allocation, NULL on SLUB and
	 * SLAB, an object on sheaves, judged without room. */
	for (i = 0; i < MMT_NR_SLAB_IMPLS; i++) {
		uint8_t out[600] = { 0 };
		struct mmt_exec_opts o;
		struct mmt_finding f;

		MMT_CHECK(p.nr_ops <= sizeof(out));
		mmt_exec_opts_default(&o);
		o.slab_impl = (int)i;
		o.op_outcome = out;
		MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_OK);
		mmt_finding_free(&f);
		MMT_CHECK_EQ(out[p.nr_ops - 1], i == MMT_SLAB_SHEAVES ?
							MMT_OUTCOME_MEMORY :
							MMT_OUTCOME_NULL);
	}
	mmt_exec_slab_diff(&p, NULL, NULL, &d);
	MMT_CHECK_EQ(d.nr_run, MMT_NR_SLAB_IMPLS);
	MMT_CHECK_EQ(d.divergences, 0ul);
	MMT_CHECK_EQ(d.result, MMT_EXEC_OK);
	mmt_slab_diff_free(&d);
	mmt_program_free(&p);
}

MMT_TEST(bug_sheaf_refill_may_block_has_a_program_that_finds_it)
{
	expect_bug_program("sheaf-refill-may-block");
}

/*
 * Bugs a single CPU cannot reach: each needs another thread inside the
 * operation (a preemption point the interpreter never stops at) or a
 * writeback device the interpreter does not run.
 */
MMT_TEST(every_bug_has_a_program_or_is_known_to_need_more_than_one_cpu)
{
	static const char *const unreachable[] = {
		"slab-racy-free-objects", /* a free racing the pfmemalloc path */
		"slub-frozen-dead-cache", /* a free preempted across offline */
		"less-throttle-never-throttles", /* a loop device's worker */
		/* another CPU inside the zone lock (pages-mt) */
		"nolock-zone-double-trylock",
		/* an interrupt inside a pcp list operation (pages-mt, smp=off) */
		"pcp-up-trylock-reentry",
		/* differential runs only: tested below */
		"slub-no-min-order-fallback",
		/* a task inside its sheaf section during a flush (slab-mt, rt) */
		"sheaf-flush-rt-trylock",
		/* a waiter queued between a free's look and its refill */
		"mempool-free-lost-wakeup",
	};
	const struct mmt_bug_info *b;
	size_t nr, i, j;

	b = mmt_bugs(&nr);
	for (i = 0; i < nr; i++) {
		bool skip = false;

		for (j = 0; j < MMT_ARRAY_SIZE(unreachable); j++)
			skip |= !strcmp(unreachable[j], b[i].id);
		if (!skip)
			bug_program(b[i].id); /* fails the test if missing */
	}
}

/*
 * corpora/bug-programs/<bug-id>.trace: the same programs as text, for the
 * fuzzers' seed corpora and for people.  Each parses to exactly the built
 * program (header and bugs included) and behaves alike.
 */
MMT_TEST(bug_program_files_are_the_built_programs_and_behave_alike)
{
#ifdef MMT_SOURCE_DIR
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(bug_programs); i++) {
		const struct bug_program *bp = &bug_programs[i];
		struct mmt_program built, file;
		struct mmt_finding f;
		char path[512], err[256];

		snprintf(path, sizeof(path), "%s/corpora/bug-programs/%s.trace",
			 MMT_SOURCE_DIR, bp->id);
		mmt_program_init(&file);
		MMT_CHECK_MSG(mmt_trace_load(path, &file, err, sizeof(err)),
			      "%s: %s", path, err);
		bp->build(&built);
		built.hdr.bugs = bug_mask(bp->id);
		MMT_CHECK_MSG(mmt_program_equal(&built, &file),
			      "%s differs from the built program", path);
		if (MMT_DEBUG < bug_program_min_debug(bp->id)) {
			mmt_program_free(&built);
			mmt_program_free(&file);
			continue; /* its check does not exist in this build */
		}
		/* With the header's bug, then without any. */
		MMT_CHECK_EQ(mmt_trace_execute(&file, NULL, &f),
			     MMT_EXEC_FINDING);
		MMT_CHECK_STR(f.oracle, mmt_bug_find(bp->id)->caught_by);
		mmt_finding_free(&f);
		MMT_CHECK_EQ(run(&file, 0, &f), bp->fixed);
		mmt_finding_free(&f);
		mmt_program_free(&built);
		mmt_program_free(&file);
	}
#endif
}
