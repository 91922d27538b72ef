/* SPDX-License-Identifier: MIT */
/*
 * trace/ref_rules.h - the kernel's allocation rules, stated on their own
 * (private to the interpreter: trace/ref_rules.c holds the rules,
 * trace/exec_oracles.c checks the model's outcomes against them).
 *
 * Why: an oracle that re-derives its expectation with the model's own
 * helper (page_alloc.c's gfp_to_alloc_flags(), __gfp_pfmemalloc_flags())
 * cannot catch a wrong rule, and one computed on the path that sets what it
 * checks cannot fire.  This is a second, independent statement of what
 * mm/page_alloc.c of v6.4 and later (to 7.0) promises a caller, written
 * from the documented rules, never from the model's code:
 *
 *   input  - the mask as passed, the context (task, bh disabled, serving a
 *            softirq, hard irq, NMI), the task's PF_MEMALLOC,
 *            PF_MEMALLOC_NOIO/NOFS and OOM-victim state, whether a memalloc
 *            socket exists, init_on_alloc, the nolock API;
 *   output - the reserve access of the ordinary attempts (none; the
 *            __GFP_HIGH min reserve; that plus the non-blocking cut; the
 *            OOM victim's), the right to no watermarks at all, the
 *            highatomic reserve, the watermark of the first and of the slow
 *            attempts, node placement, zeroing, may sleep / reclaim /
 *            enter FS / start IO.
 *
 * The kernel's rules, in short (v6.4 "explicitly define how __GFP_HIGH
 * non-blocking allocations access reserves"):
 *  - the first attempt uses the low watermark, the slow path's the min;
 *  - __GFP_HIGH (ALLOC_MIN_RESERVE): min - min/2;
 *  - a caller that cannot block (no __GFP_DIRECT_RECLAIM) and did not say
 *    __GFP_NOMEMALLOC is ALLOC_NON_BLOCK: only together with __GFP_HIGH
 *    (GFP_ATOMIC) does it cut a further quarter; GFP_NOWAIT gets no cut
 *    below min, only the highatomic reserve;
 *  - ALLOC_NO_WATERMARKS (__gfp_pfmemalloc_flags): never with
 *    __GFP_NOMEMALLOC; always with __GFP_MEMALLOC; PF_MEMALLOC while
 *    serving a softirq or outside any interrupt (bh disabled counts as
 *    one); an OOM victim outside interrupts gets ALLOC_OOM (min - min/2)
 *    instead;
 *  - __GFP_NOFAIL's last resort is ALLOC_MIN_RESERVE, never no watermarks;
 *  - any ALLOC_RESERVES flag (non-blocking, min reserve, OOM) may use the
 *    highatomic reserve, other callers must leave it;
 *  - alloc_pages_nolock() (the model's __GFP_FAST_TRY): min watermark, no
 *    reserves, never the slow path.
 * A page handed out under ALLOC_NO_WATERMARKS is marked pfmemalloc, and a
 * slab object of a pfmemalloc slab goes only to a caller with that right
 * (pfmemalloc_match(): gfp_pfmemalloc_allowed()).  A packet allocated from
 * the reserves reaches only a SOCK_MEMALLOC socket (sk_filter()).
 */
#ifndef MMT_REF_RULES_H
#define MMT_REF_RULES_H

#include <stdbool.h>

#include "mmt/mmt.h"

/*
 * A known deviation of the model whose fix is pending (set by CMake,
 * MMT_REF_NOWAIT_FIX_PENDING in CMakeLists.txt, one line): while 1 the
 * model's GFP_NOWAIT still digs min/4 below min, and the reference
 * tolerates that unless the caller asks for the strict rule
 * (tolerate_pending false: `replay --strict-reference`), so the fuzzers
 * and the corpora stay quiet while the oracle pair shows it firing.
 */
#ifndef MMT_REF_NOWAIT_FIX_PENDING
#define MMT_REF_NOWAIT_FIX_PENDING 0
#endif

enum _mmt_ref_ctx {
	MMT_REF_TASK, /* process context, bh enabled */
	MMT_REF_BH_OFF, /* process context with bh disabled: in_interrupt() */
	MMT_REF_SOFTIRQ, /* serving a softirq: in_serving_softirq() */
	MMT_REF_HARDIRQ,
	MMT_REF_NMI, /* the model has no NMI; kept so the table is whole */
	MMT_REF_NR_CTX
};

/* What the reference is asked about: facts of the caller, at its call. */
struct _mmt_ref_caller {
	mmt_gfp_t gfp; /* as passed */
	unsigned int ctx; /* enum _mmt_ref_ctx */
	bool atomic; /* preemption or interrupts off: cannot sleep anyway */
	unsigned int pflags; /* MMT_PF_* of the task */
	bool oom_victim;
	bool memalloc_socks; /* a SOCK_MEMALLOC socket exists */
	bool init_on_alloc; /* the boot option (the model has none: false) */
	bool tolerate_pending; /* tolerate the pending model deviations */
};

enum _mmt_ref_wmark {
	MMT_REF_WMARK_MIN,
	MMT_REF_WMARK_LOW,
	MMT_REF_WMARK_HIGH
};

/* How far below the watermark the ordinary attempts may go. */
enum _mmt_ref_reserve {
	MMT_REF_RESERVE_NONE, /* the watermark as it is */
	MMT_REF_RESERVE_MIN, /* __GFP_HIGH: min - min/2 */
	MMT_REF_RESERVE_NON_BLOCK, /* GFP_ATOMIC: then a further min/4 */
	MMT_REF_RESERVE_OOM, /* ALLOC_OOM: min - min/2 */
	MMT_REF_RESERVE_NOWAIT_PENDING, /* tolerated: min - min/4 */
};

struct _mmt_ref_rules {
	mmt_gfp_t gfp; /* effective: memalloc_noio/nofs scopes applied */
	unsigned int reserve; /* enum _mmt_ref_reserve, ordinary attempts */
	bool non_block; /* ALLOC_NON_BLOCK */
	bool highatomic; /* may use the highatomic reserve */
	bool pfmemalloc_allowed; /* gfp_pfmemalloc_allowed(): reserve memory */
	bool no_watermarks; /* ... and an ALLOC_NO_WATERMARKS attempt made */
	bool oom; /* an ALLOC_OOM retry */
	bool nofail_min_reserve; /* __GFP_NOFAIL's ALLOC_MIN_RESERVE resort */
	bool nolock; /* alloc_pages_nolock(): min, no reserves, no slow path */
	unsigned int wmark_first; /* MMT_REF_WMARK_LOW */
	unsigned int wmark_slow; /* MMT_REF_WMARK_MIN */
	bool thisnode; /* the page must come from the requested node */
	bool zero; /* the memory handed out must read as zero */
	bool may_sleep; /* __GFP_DIRECT_RECLAIM */
	bool may_reclaim; /* direct reclaim */
	bool may_fs, may_io; /* reclaim may enter the FS / start IO */
	bool may_wake_kswapd;
	/*
	 * gfpflags_allow_spinning() (6.18+): some __GFP_RECLAIM bit - every
	 * caller but the trylock-only ones (kmalloc_nolock, nolock pages) may
	 * spin on a lock.  The slab allocator then fails it only when it
	 * cannot get a slab: the page allocator refused it pages.
	 */
	bool may_spin;
};

/* The caller on the current CPU, for @gfp. */
void _mmt_ref_capture(struct _mmt_ref_caller *c, struct mmt_machine *m,
		      mmt_gfp_t gfp, bool tolerate_pending);
/* The kernel's rules for caller @c. */
void _mmt_ref_rules(const struct _mmt_ref_caller *c, struct _mmt_ref_rules *r);
/*
 * The floor for zone @zi: the kernel lets pages leave the zone for a
 * request of @order with the zone's free count F before them only if
 * F - (2^order - 1) > floor in at least one attempt the caller may make
 * (no-watermarks aside: it has no floor).  @highest is the request's
 * highest zone type (its lowmem reserve).
 */
long _mmt_ref_floor(const struct _mmt_ref_rules *r,
		    const struct mmt_zone_info *zi, int highest);
/* Would pages leave at free count @free_before for @order? */
static inline bool _mmt_ref_may_take(const struct _mmt_ref_rules *r,
				     const struct mmt_zone_info *zi,
				     int highest, long free_before,
				     unsigned int order)
{
	return free_before - ((1l << order) - 1) >
	       _mmt_ref_floor(r, zi, highest);
}
/* "the __GFP_HIGH min reserve", ... for reports. */
const char *_mmt_ref_reserve_name(unsigned int reserve);
const char *_mmt_ref_ctx_name(unsigned int ctx);

#endif /* MMT_REF_RULES_H */
