/* SPDX-License-Identifier: MIT */
/*
 * trace/ref_rules.c - the kernel's allocation rules as a table of their
 * own (ref_rules.h says which rules and why they live apart from the
 * model).  Nothing here calls into the page allocator's decisions: the
 * inputs are the caller's mask and the context and task state the public
 * API reports; the outputs are derived by the rules below alone.
 *
 * Algorithm: the right to the reserves is one table lookup by context
 * (which contexts let PF_MEMALLOC and an OOM victim count), then the mask
 * bits in the kernel's order of precedence (__GFP_NOMEMALLOC over
 * __GFP_MEMALLOC over the task).  The floor of a zone is the lowest of the
 * floors of the attempts the caller can make, each the min watermark cut
 * by its reserve flags plus the lowmem reserve, plus the free pages of
 * the highatomic lists for an attempt without ALLOC_RESERVES (v6.12+).
 *
 * Locks: none; pure functions of their arguments (capture reads the
 * current CPU's state through the public API).
 */
#include "ref_rules.h"

/*
 * Per context: does PF_MEMALLOC give no watermarks, may an OOM victim use
 * its reserve, may the caller sleep at all.  mm/page_alloc.c: PF_MEMALLOC
 * counts in_serving_softirq() or !in_interrupt(); the OOM reserve only
 * !in_interrupt(); a bh-disabled section is in_interrupt() but not
 * serving.
 */
static const struct {
	bool pf_memalloc, oom, may_sleep;
	const char *name;
} ctx_rules[MMT_REF_NR_CTX] = {
	[MMT_REF_TASK] = { true, true, true, "task" },
	[MMT_REF_BH_OFF] = { false, false, false, "task with bh disabled" },
	[MMT_REF_SOFTIRQ] = { true, false, false, "softirq" },
	[MMT_REF_HARDIRQ] = { false, false, false, "hard irq" },
	[MMT_REF_NMI] = { false, false, false, "NMI" },
};

void _mmt_ref_capture(struct _mmt_ref_caller *c, struct mmt_machine *m,
		      mmt_gfp_t gfp, bool tolerate_pending)
{
	c->gfp = gfp;
	c->tolerate_pending = tolerate_pending;
	if (mmt_in_hardirq())
		c->ctx = MMT_REF_HARDIRQ;
	else if (mmt_in_serving_softirq())
		c->ctx = MMT_REF_SOFTIRQ;
	else if (mmt_in_interrupt())
		c->ctx = MMT_REF_BH_OFF;
	else
		c->ctx = MMT_REF_TASK;
	c->atomic = mmt_in_atomic() || mmt_irqs_disabled();
	c->pflags = mmt_current_flags();
	c->oom_victim = mmt_current_is_oom_victim();
	c->memalloc_socks = m && mmt_sk_memalloc_socks(m) > 0;
	c->init_on_alloc = false;
}

void _mmt_ref_rules(const struct _mmt_ref_caller *c, struct _mmt_ref_rules *r)
{
	unsigned int ctx = c->ctx < MMT_REF_NR_CTX ? c->ctx : MMT_REF_HARDIRQ;
	mmt_gfp_t gfp = c->gfp;
	bool blocking, high;

	/* current_gfp_context(): the scopes take FS and IO away. */
	if (c->pflags & MMT_PF_MEMALLOC_NOIO)
		gfp &= ~(__GFP_IO | __GFP_FS);
	else if (c->pflags & MMT_PF_MEMALLOC_NOFS)
		gfp &= ~__GFP_FS;
	r->gfp = gfp;
	blocking = gfp & __GFP_DIRECT_RECLAIM;
	high = gfp & __GFP_HIGH;

	r->wmark_first = MMT_REF_WMARK_LOW;
	r->wmark_slow = MMT_REF_WMARK_MIN;
	r->thisnode = gfp & __GFP_THISNODE;
	r->zero = (gfp & __GFP_ZERO) || c->init_on_alloc;
	r->may_sleep = blocking;
	r->may_reclaim = blocking;
	r->may_fs = blocking && (gfp & __GFP_FS);
	r->may_io = blocking && (gfp & __GFP_IO);
	r->may_wake_kswapd = gfp & __GFP_KSWAPD_RECLAIM;
	r->may_spin = gfp & __GFP_RECLAIM;

	/*
	 * gfp_pfmemalloc_allowed(): the mask's and the task's right, which
	 * pfmemalloc_match() asks of a slab object's caller whatever path
	 * served it (__GFP_FAST_TRY is the model's flag, no kernel bit: the
	 * kernel's nolock APIs say __GFP_NOMEMALLOC themselves).
	 */
	r->pfmemalloc_allowed = false;
	if (gfp & __GFP_NOMEMALLOC) {
		/* nothing */
	} else if (gfp & __GFP_MEMALLOC) {
		r->pfmemalloc_allowed = true;
	} else if (c->pflags & MMT_PF_MEMALLOC) {
		r->pfmemalloc_allowed = ctx_rules[ctx].pf_memalloc;
	}

	r->nolock = gfp & __GFP_FAST_TRY;
	if (r->nolock) {
		/*
		 * alloc_pages_nolock(): ALLOC_TRYLOCK at min, never the slow
		 * path, so never a no-watermarks attempt.
		 */
		r->reserve = MMT_REF_RESERVE_NONE;
		r->non_block = r->highatomic = r->no_watermarks = r->oom =
			r->nofail_min_reserve = false;
		r->may_sleep = r->may_reclaim = r->may_fs = r->may_io = false;
		r->may_spin = false;
		return;
	}

	/* gfp_to_alloc_flags() */
	r->non_block = !blocking && !(gfp & __GFP_NOMEMALLOC);
	if (high && r->non_block)
		r->reserve = MMT_REF_RESERVE_NON_BLOCK;
	else if (high)
		r->reserve = MMT_REF_RESERVE_MIN;
	else
		r->reserve = MMT_REF_RESERVE_NONE;
#if MMT_REF_NOWAIT_FIX_PENDING
	if (c->tolerate_pending && r->non_block && !high)
		r->reserve = MMT_REF_RESERVE_NOWAIT_PENDING;
#endif

	/* __gfp_pfmemalloc_flags() */
	r->no_watermarks = r->pfmemalloc_allowed;
	r->oom = false;
	if (!r->no_watermarks && !(gfp & __GFP_NOMEMALLOC) && c->oom_victim &&
	    ctx_rules[ctx].oom)
		r->oom = true;

	/* The NOFAIL resort: ALLOC_MIN_RESERVE, only for one that reclaims. */
	r->nofail_min_reserve = (gfp & __GFP_NOFAIL) && blocking;
	r->highatomic = r->non_block || high || r->oom || r->nofail_min_reserve;
	/*
	 * may_sleep is the mask's promise; a blocking mask in a context that
	 * cannot sleep (c->atomic, an interrupt) is the caller's bug, which
	 * the model reports as sleep-in-atomic.
	 */
}

/* min cut as one attempt's reserve flags cut it (__zone_watermark_ok). */
static long cut(long min, unsigned int reserve)
{
	switch (reserve) {
	case MMT_REF_RESERVE_MIN:
		return min - min / 2;
	case MMT_REF_RESERVE_NON_BLOCK:
		min -= min / 2;
		return min - min / 4;
	case MMT_REF_RESERVE_OOM:
		return min - min / 2;
	case MMT_REF_RESERVE_NOWAIT_PENDING:
		return min - min / 4;
	default:
		return min;
	}
}

long _mmt_ref_floor(const struct _mmt_ref_rules *r,
		    const struct mmt_zone_info *zi, int highest)
{
	long min = (long)zi->wmark_min, lowmem = 0, ha, floor, f;

	if (highest >= 0 && highest < MMT_NR_ZONE_TYPES)
		lowmem = (long)zi->lowmem_reserve[highest];
	/* v6.12+: the free pages of the highatomic lists, not the blocks. */
	ha = (long)zi->nr_free_highatomic;
	/* The ordinary slow attempt (the first one's low mark is higher). */
	floor = cut(min, r->reserve) + lowmem + (r->highatomic ? 0 : ha);
	if (r->nolock)
		return min + lowmem + ha;
	if (r->oom) {
		f = cut(min, MMT_REF_RESERVE_OOM) + lowmem;
		floor = f < floor ? f : floor;
	}
	if (r->nofail_min_reserve) {
		f = cut(min, MMT_REF_RESERVE_MIN) + lowmem;
		floor = f < floor ? f : floor;
	}
	return floor;
}

const char *_mmt_ref_reserve_name(unsigned int reserve)
{
	switch (reserve) {
	case MMT_REF_RESERVE_MIN:
		return "the __GFP_HIGH min reserve (min - min/2)";
	case MMT_REF_RESERVE_NON_BLOCK:
		return "the atomic reserve (__GFP_HIGH, non-blocking: min*3/8)";
	case MMT_REF_RESERVE_OOM:
		return "the OOM victim's reserve (min - min/2)";
	case MMT_REF_RESERVE_NOWAIT_PENDING:
		return "min/4 below min for a non-blocking caller (the model's GFP_NOWAIT deviation, tolerated until its fix)";
	default:
		return "no reserve below min";
	}
}

const char *_mmt_ref_ctx_name(unsigned int ctx)
{
	return ctx < MMT_REF_NR_CTX ? ctx_rules[ctx].name : "?";
}
