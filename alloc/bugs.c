/* SPDX-License-Identifier: MIT */
/*
 * alloc/bugs.c - the registry of injectable bugs.
 *
 * Each bug is a defect drawn from a seed thread (or a plausible model
 * defect), compiled in and off by default.  A machine turns bugs on with
 * its config mask; the code under test asks mmt_bug_on(m, MMT_BUG_X), one
 * predictable branch.  The registry says which check is expected to catch
 * each bug: tests assert it is caught when on and silent when off, and the
 * bug benchmark measures how long an engine takes to expose it.
 */
#include <ctype.h>
#include <string.h>

#include "internal.h"

static const struct mmt_bug_info bugs[] = {
	{ MMT_BUG_FAST_TRY_BULK_REFILL, "fast-try-bulk-refill", "002", "page",
	  "__GFP_FAST_TRY falls through to rmqueue_bulk() and takes the zone lock when its per-cpu list is empty",
	  "fast-try-zone-lock" },
	{ MMT_BUG_PFMEMALLOC_UNMARKED, "pfmemalloc-unmarked", "004", "page",
	  "a page served from the reserves (no watermarks) below the min watermark is not marked pfmemalloc",
	  "pfmemalloc-marking" },
	{ MMT_BUG_PCP_COUNT_DRIFT, "pcp-count-drift", "-", "page",
	  "free_pcppages_bulk() subtracts one page per block from pcp->count, so the count drifts for order > 0",
	  "pcp-count" },
	{ MMT_BUG_SLAB_PFMEMALLOC_FREE_LEAK, "slab-pfmemalloc-free-leak", "000",
	  "slab",
	  "SLAB: while memalloc sockets are on, the free path hands every object to the pfmemalloc handler, which drops those on non-pfmemalloc slabs",
	  "slab-leak" },
	{ MMT_BUG_SLAB_RACY_FREE_OBJECTS, "slab-racy-free-objects", "000",
	  "slab",
	  "SLAB: the pfmemalloc slow path checks n->free_objects without n->list_lock and gives up on a stale zero",
	  "pfmemalloc-forward-progress" },
	{ MMT_BUG_SLAB_PFMEMALLOC_ACTIVE_CLEARED,
	  "slab-pfmemalloc-active-cleared", "000", "slab",
	  "SLAB: the global pfmemalloc_active is cleared when one cache has no pfmemalloc slab, while other caches still hold some",
	  "pfmemalloc-isolation" },
	{ MMT_BUG_SLAB_PFMEMALLOC_LINGERS, "slab-pfmemalloc-lingers", "000",
	  "slab",
	  "SLAB: when the last memalloc socket goes away, pfmemalloc objects stay in per-cpu array caches where ordinary callers get them",
	  "pfmemalloc-lingering" },
	{ MMT_BUG_SLUB_FROZEN_DEAD_CACHE, "slub-frozen-dead-cache", "003",
	  "slab",
	  "SLUB: a free that saw the cache alive freezes an empty slab onto a per-cpu partial list after the cache was marked dead; the dead cache never goes away",
	  "dead-cache-leak" },
	{ MMT_BUG_KVFREE_RCU_NOWAIT_UNDER_RAW, "kvfree-rcu-nowait-under-raw",
	  "002", "rcu",
	  "kvfree_rcu allocates its pointer block with GFP_NOWAIT (zone lock) while holding the raw krcp lock, even when the machine asks for __GFP_FAST_TRY",
	  "invalid-wait-context" },
	{ MMT_BUG_KVFREE_RCU_EARLY_FREE, "kvfree-rcu-early-free", "002", "rcu",
	  "kvfree_rcu frees a block of pointers at the first grace-period step, before the grace period that began after the kvfree_rcu ended",
	  "rcu-early-free" },
	{ MMT_BUG_MEMPOOL_RETRY_RECLAIM, "mempool-retry-reclaim", "001",
	  "mempool",
	  "mempool_alloc's retry after an empty pool keeps the caller's __GFP_DIRECT_RECLAIM whatever the policy: the writeback worker enters direct reclaim and is throttled behind its own writeback",
	  "mempool-no-reclaim" },
	{ MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES,
	  "less-throttle-never-throttles", "001", "reclaim",
	  "throttle_vm_writeout() never throttles PF_LESS_THROTTLE tasks (\"LESS\" read as \"NO\"): they push pages under writeback past every limit",
	  "writeback-limit" },
	{ MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC, "swap-single-bit-memalloc", "004",
	  "reserve",
	  "a single SOCK_MEMALLOC bit per mount socket: the first swapoff of two swap files on one mount clears it for both",
	  "swap-memalloc" },
	{ MMT_BUG_RESERVE_CHARGE_LEAK, "reserve-charge-leak", "004", "reserve",
	  "a reserve charge is not returned on the error path of a failed emergency allocation",
	  "reserve-accounting" },
	{ MMT_BUG_EMERGENCY_WMARK_NOT_LOWERED, "emergency-wmark-not-lowered",
	  "004", "reserve",
	  "disconnecting a reserve subtree does not lower the min watermarks it raised",
	  "reserve-watermark" },
	/*
	 * Defects the model's inline checks cannot see by construction; the
	 * interpreter's caller-side oracles (trace/exec_oracles.c) catch them.
	 */
	{ MMT_BUG_PCP_ORDER_INDEX, "pcp-order-index", "-", "page",
	  "the per-cpu lists are indexed by migratetype only: a request of order 1..3 is served from the order-0 list, a block that overlaps pages handed out to others",
	  "double-alloc" },
	{ MMT_BUG_PCP_ZERO_SKIPPED, "pcp-zero-skipped", "-", "page",
	  "__GFP_ZERO is not honoured for a block served from a per-cpu list (only the buddy path clears)",
	  "gfp-zero" },
	{ MMT_BUG_NOWAIT_DIRECT_RECLAIM, "nowait-direct-reclaim", "-", "page",
	  "the slow path enters direct reclaim for either __GFP_RECLAIM bit (kswapd's too), so GFP_NOWAIT and GFP_ATOMIC callers reclaim, which may sleep",
	  "gfp-nowait-slept" },
	{ MMT_BUG_WMARK_ORDER_IGNORED, "wmark-order-ignored", "-", "page",
	  "the watermark check ignores the order: a high-order request passes when one page would, and takes the zone below its min watermark, into the reserves",
	  "watermark" },
	{ MMT_BUG_KVFREE_RCU_BLOCK_LEAK, "kvfree-rcu-block-leak", "-", "rcu",
	  "after a grace period kvfree_rcu frees the pointers of a block but keeps the block's page",
	  "teardown-leak" },
	{ MMT_BUG_NORECLAIM_RESTORE_CLEARS, "noreclaim-restore-clears", "-",
	  "machine",
	  "memalloc_noreclaim_restore() clears PF_MEMALLOC instead of restoring the saved state (the pre-4.11 direct reclaim's current->flags &= ~PF_MEMALLOC): a nested scope ends the outer one",
	  "context-restore" },
	{ MMT_BUG_THISNODE_FALLBACK, "thisnode-fallback", "-", "page",
	  "alloc_pages_node() with __GFP_THISNODE builds the zonelist of every node: a full node falls back to another",
	  "gfp-thisnode" },
	{ MMT_BUG_SHEAF_RETURN_PFMEMALLOC, "sheaf-return-pfmemalloc", "-",
	  "slab",
	  "sheaves: kmem_cache_return_sheaf refills the sheaf for the barn with the caller's gfp, without __GFP_NOMEMALLOC: an entitled caller's return puts pfmemalloc objects where ordinary callers take them (upstream fix, 2025)",
	  "pfmemalloc-sheaf" },
	{ MMT_BUG_SHEAF_REFILL_FAIL_LEAK, "sheaf-refill-fail-leak", "-", "slab",
	  "sheaves: a sheaf whose refill fails partway is freed as if empty, leaking the objects already in it (upstream fix, 2025)",
	  "slab-sheaf" },
	/*
	 * Upstream fixes merged in 2025-2026, modelled from the behaviour
	 * each fix describes (issue 11).
	 */
	{ MMT_BUG_NOLOCK_ZONE_DOUBLE_TRYLOCK, "nolock-zone-double-trylock",
	  "2025", "page",
	  "the zone-lock path of the buddy allocator tries the lock and, when the trylock fails, spins on it whoever the caller is: alloc_pages_nolock/free_pages_nolock spin on a held zone->lock (fixed by \"avoid second trylock of zone->lock\")",
	  "nolock-spin" },
	{ MMT_BUG_PCP_UP_TRYLOCK_REENTRY, "pcp-up-trylock-reentry", "2025",
	  "page",
	  "on a uniprocessor build (smp=off) the pcp spin_trylock never fails and leaves interrupts on: an interrupt inside a per-cpu list operation reenters the same list (fixed by disabling interrupts for the pcp lock on UP)",
	  "pcp-reentry" },
	/* Behaviours the language can write since issue 11. */
	{ MMT_BUG_SK_FILTER_PFMEMALLOC_KEPT, "sk-filter-pfmemalloc-kept", "004",
	  "reserve",
	  "the receive path keeps a packet allocated from the reserves (pfmemalloc) for a socket without SOCK_MEMALLOC instead of dropping it (sk_filter's skb_pfmemalloc check skipped): reserve memory queued on an ordinary socket",
	  "emergency-memory" },
	{ MMT_BUG_SHEAF_BARN_EXCHANGE_UNCOUNTED,
	  "sheaf-barn-exchange-uncounted", "-", "slab",
	  "sheaves: exchanging an empty main sheaf for a full one of the barn (barn_replace_empty_sheaf) links the empty sheaf on the barn's empty list without counting it: nr_empty falls behind the list, which the limit no longer bounds",
	  "slab-barn" },
	{ MMT_BUG_SLUB_NO_MIN_ORDER_FALLBACK, "slub-no-min-order-fallback", "-",
	  "slab",
	  "SLUB: allocate_slab() gives up when the slab of its preferred order cannot be had (fragmentation) instead of retrying at the cache's smallest order: NULL where SLAB and sheaves grow a smaller slab (found by differential runs only)",
	  "slab-divergence" },
	{ MMT_BUG_SHEAF_REFILL_MAY_BLOCK, "sheaf-refill-may-block", "2026",
	  "slab",
	  "sheaves: with main, spare and barn empty the sheaf refill tests gfpflags_allow_blocking() where gfpflags_allow_spinning() was meant: a caller that may spin but not block (GFP_NOWAIT, GFP_ATOMIC, mempool_alloc's first attempt) gets no refill and fails while the slabs and the page allocator have memory, so mempools drain their reserved elements",
	  "slab-gave-up" },
	{ MMT_BUG_SHEAF_FLUSH_RT_TRYLOCK, "sheaf-flush-rt-trylock", "2026",
	  "slab",
	  "sheaves: under PREEMPT_RT (rt=on) the flush of a CPU's sheaves takes the per-cpu sheaves lock with local_trylock and returns silently when a task preempted inside its sheaf section holds it: the objects stay behind (a dead cache's never go back)",
	  "dead-cache-leak" },
	/*
	 * Defects of the model's own bookkeeping, each breaking one invariant
	 * that only its validator states (the oracle pairs of those
	 * validators turn them on).
	 */
	{ MMT_BUG_ZONE_ALLOCATED_PER_BLOCK, "zone-allocated-per-block", "-",
	  "page",
	  "freeing a block above the costly order (straight to the buddy lists) takes one page, not 2^order, off the zone's allocated count (the per-cpu vmstat the conservation sum reads)",
	  "zone-conservation" },
	{ MMT_BUG_DEFERRED_COUNT_PER_BLOCK, "deferred-count-per-block", "-",
	  "page",
	  "free_pages_nolock's deferral adds one page per block to the zone's nr_deferred, while the drain takes 2^order off: the count drifts for order > 0",
	  "deferred-list" },
	{ MMT_BUG_DEFERRED_DRAIN_DROPS_LAST, "deferred-drain-drops-last", "-",
	  "page",
	  "the drain of a zone's deferred list frees blocks while another follows: the last one is taken off the list and never freed (an llist walk off by one)",
	  "deferred-free-lost" },
	{ MMT_BUG_PCP_REFILL_KEEPS_BUDDY_FLAG, "pcp-refill-keeps-buddy-flag",
	  "-", "page",
	  "rmqueue_bulk() moves blocks from the buddy lists to a per-cpu list without clearing their buddy mark: the page is handed out still marked free (the kernel's \"bad page state\" of check_new_pages)",
	  "page-state" },
	{ MMT_BUG_BUDDY_MERGE_BELOW_MAX_ORDER, "buddy-merge-below-max-order",
	  "-", "page",
	  "the buddy merge loop stops one order early (MAX_ORDER read as exclusive where it is inclusive, the off-by-one of the 2023 redefinition): two free buddies of order MAX_ORDER-2 stay unmerged",
	  "buddy-consistency" },
	{ MMT_BUG_SLUB_CPU_PARTIAL_UNCOUNTED, "slub-cpu-partial-uncounted", "-",
	  "slab",
	  "SLUB: put_cpu_partial() links a slab on the CPU's partial list without counting it: the count falls behind the list, which the limit no longer bounds",
	  "slab-cpu-partial" },
	{ MMT_BUG_SLUB_NODE_PARTIAL_UNCOUNTED, "slub-node-partial-uncounted",
	  "-", "slab",
	  "SLUB: add_partial() links a slab on the node's partial list without counting it in nr_partial (min_partial and the shrinker read a short count)",
	  "slab-node-partial" },
	{ MMT_BUG_MEMCG_SLAB_UNCHARGE_SKIPPED, "memcg-slab-uncharge-skipped",
	  "-", "memcg",
	  "freeing a slab of a cgroup's cache gives its pages back without uncharging them from the cgroup",
	  "memcg-charge" },
	{ MMT_BUG_SLUB_DEACTIVATE_INUSE_OFF_BY_ONE,
	  "slub-deactivate-inuse-off-by-one", "-", "slab",
	  "SLUB: deactivate_slab() gives the cpu freelist's objects back to the slab but takes one fewer off its inuse count (the count of the walk starts at the second object)",
	  "slab-inuse" },
	{ MMT_BUG_SLUB_ACQUIRE_KEEPS_FREELIST, "slub-acquire-keeps-freelist",
	  "-", "slab",
	  "SLUB: acquire_slab() freezes a node partial slab for the CPU and takes its freelist, but leaves the freelist in the slab's state: once the CPU's copy runs out, get_freelist() hands the same objects out again",
	  "slab-double-alloc" },
	{ MMT_BUG_NOFAIL_NO_MIN_RESERVE, "nofail-no-min-reserve", "-", "page",
	  "the __GFP_NOFAIL retries ask for the min watermark without ALLOC_MIN_RESERVE (the pre-6.4 harder access, dropped): a NOFAIL request fails while the reserve the kernel grants it has pages",
	  "nofail-failed" },
	/*
	 * A missed wake-up: the waker's half of the prepare_to_wait pairing
	 * broken (mempool-forward-progress's pair, issue 11).
	 */
	{ MMT_BUG_MEMPOOL_FREE_LOST_WAKEUP, "mempool-free-lost-wakeup", "-",
	  "mempool",
	  "mempool_free() skips wake_up() when waitqueue_active() shows no waiter, but reads the queue in its lockless look at curr_nr, before the element is back in the pool (no smp_mb() orders that load after the refill, the pairing include/linux/wait.h asks of such a waker): a waiter that queues itself in between sees the pool empty, sleeps, and is never woken for the element: it waits out the whole io_schedule_timeout(5 * HZ)",
	  "mempool-forward-progress" },
};

_Static_assert(MMT_ARRAY_SIZE(bugs) == MMT_NR_BUGS,
	       "every enum mmt_bug has a registry row");
_Static_assert(MMT_NR_BUGS <= 64, "bug masks are 64 bits");

const struct mmt_bug_info *mmt_bugs(size_t *nr)
{
	*nr = MMT_ARRAY_SIZE(bugs);
	return bugs;
}

const struct mmt_bug_info *mmt_bug_find(const char *id)
{
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(bugs); i++)
		if (!strcmp(bugs[i].id, id))
			return &bugs[i];
	return NULL;
}

bool mmt_bugs_parse(const char *list, uint64_t *mask, char *err, size_t errlen)
{
	const char *p = list;
	uint64_t out = 0;

	while (*p) {
		char id[64];
		size_t n = 0;
		const struct mmt_bug_info *b;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && *p != ',' && !isspace((unsigned char)*p)) {
			if (n + 1 < sizeof(id))
				id[n] = *p;
			n++;
			p++;
		}
		if (n >= sizeof(id)) {
			snprintf(err, errlen, "bug id too long at offset %zu",
				 (size_t)(p - list) - n);
			return false;
		}
		id[n] = '\0';
		if (!strcmp(id, "all")) {
			out |= (MMT_NR_BUGS == 64) ?
				       ~0ull :
				       ((1ull << MMT_NR_BUGS) - 1);
			continue;
		}
		if (!strcmp(id, "none"))
			continue;
		b = mmt_bug_find(id);
		if (!b) {
			snprintf(err, errlen,
				 "unknown bug '%s' (see 'mmtorture list bugs')",
				 id);
			return false;
		}
		out |= 1ull << b->bug;
	}
	*mask = out;
	return true;
}

size_t mmt_bugs_format(uint64_t mask, char *buf, size_t len)
{
	size_t i, used = 0;

	if (len)
		buf[0] = '\0';
	if (!mask)
		return (size_t)snprintf(buf, len, "none");
	for (i = 0; i < MMT_ARRAY_SIZE(bugs); i++) {
		if (!(mask & (1ull << bugs[i].bug)))
			continue;
		used += (size_t)snprintf(used < len ? buf + used : NULL,
					 used < len ? len - used : 0, "%s%s",
					 used ? "," : "", bugs[i].id);
	}
	return used;
}

bool mmt_bug_enabled(const struct mmt_machine *m, enum mmt_bug bug)
{
	return MMT_UNLIKELY(m->bugs & (1ull << bug));
}

/*
 * The canaries.  The machine is never const where it lives (the
 * constness is the bug sites' read-only view of it), and the counters are
 * relaxed atomics because the free-running engines call from real threads.
 */
void _mmt_bug_reached(const struct mmt_machine *m, enum mmt_bug bug)
{
	struct mmt_machine *w = (struct mmt_machine *)m;

	atomic_fetch_add_explicit(&w->bug_reached[bug], 1,
				  memory_order_relaxed);
}

void _mmt_bug_triggered(const struct mmt_machine *m, enum mmt_bug bug)
{
	struct mmt_machine *w = (struct mmt_machine *)m;

	atomic_fetch_add_explicit(&w->bug_triggered[bug], 1,
				  memory_order_relaxed);
}

void mmt_bug_canaries_add(const struct mmt_machine *m,
			  struct mmt_bug_canary_counts *sum)
{
	uint64_t r, t;
	int b;

	for (b = 0; b < MMT_NR_BUGS; b++) {
		mmt_bug_canaries(m, (enum mmt_bug)b, &r, &t);
		sum->reached[b] += r;
		sum->triggered[b] += t;
	}
}

void mmt_bug_canaries(const struct mmt_machine *m, enum mmt_bug bug,
		      uint64_t *reached, uint64_t *triggered)
{
	*reached = atomic_load_explicit(&m->bug_reached[bug],
					memory_order_relaxed);
	*triggered = atomic_load_explicit(&m->bug_triggered[bug],
					  memory_order_relaxed);
}
