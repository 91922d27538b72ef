/* SPDX-License-Identifier: MIT */
/*
 * trace/exec_internal.h - what the interpreter's two files share: the
 * caller-side oracles (exec_oracles.c) that trace_exec.c calls around the
 * operations it runs.
 *
 * The oracles state what only a caller can see: the memory a program holds
 * (so a block or an object handed out twice is noticed whatever the
 * allocator's own bookkeeping says), what __GFP_ZERO promised, whether a
 * call that promised not to sleep reached a sleep point, whether a
 * high-order block took its zone below the watermark its caller may use,
 * and whether pages are left once everything went.  Each reports through
 * mmt_violation() under a catalogue name (alloc/check.c), so a finding
 * from here looks like any other: check, site, operation, dump.
 *
 * Memory the program holds (struct _mmt_xmem).  Per page frame one 16-bit
 * word: bit 15 set while a page handle (or a bulk set, or a page pool
 * element) holds the frame, the low 15 bits count live objects that lie
 * (partly) in it.  Words live in chunks of 1024 frames allocated on first
 * use, so the cost follows what the program touched, never the machine's
 * size.  Beside it an open-addressing set of the live objects' addresses.
 * Invariants: a frame's bit is set exactly while one live handle's pages
 * cover it; its count is the number of live objects overlapping it; an
 * address is in the set exactly while one live object starts there.
 *
 * Not thread-safe: one interpreter thread owns it.
 */
#ifndef MMT_EXEC_INTERNAL_H
#define MMT_EXEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "ref_rules.h"

/* ---- memory the program holds ---- */

/*
 * What an oracle's report names: "operation N (name)", or @name alone
 * when @index is MMT_WHAT_TEXT ("teardown").  Formatted only for a report
 * (MMT_WHAT): the interpreter runs many operations per finding.
 */
#define MMT_WHAT_TEXT ((size_t)-1)
struct _mmt_what {
	size_t index;
	const char *name;
};
const char *_mmt_what_text(const struct _mmt_what *w, char *buf, size_t len);
#define MMT_WHAT(w) _mmt_what_text((w), (char[96]){ 0 }, 96)

struct _mmt_xmem {
	struct mmt_machine *m;
	unsigned long nr_pfns; /* frames below the last zone's end */
	uint16_t **chunk; /* [nr_chunks], each NULL or 1024 words */
	size_t nr_chunks;
	uintptr_t *addr; /* live object addresses; 0 = empty slot */
	size_t cap, used; /* cap is a power of two (or 0) */
};

/* Set up for machine @m; false on no host memory. */
bool _mmt_xmem_init(struct _mmt_xmem *x, struct mmt_machine *m);
void _mmt_xmem_free(struct _mmt_xmem *x);

/*
 * The program now holds @page (2^@order frames).  Reports "double-alloc"
 * (false) if a frame of it is held by a page handle or lies under a live
 * object.  @what names the operation's handle for the message.
 */
bool _mmt_xmem_page_add(struct _mmt_xmem *x, struct mmt_page *page,
			unsigned int order, const struct _mmt_what *what);
void _mmt_xmem_page_del(struct _mmt_xmem *x, struct mmt_page *page,
			unsigned int order);
/*
 * The program now holds the object at @obj of @len bytes.  Reports
 * "double-alloc" (false) if a live object starts at @obj or a frame it
 * lies in is held as pages.  @insert false: only check (an object that
 * is gone again by the end of the operation, a received packet).
 */
bool _mmt_xmem_obj_add(struct _mmt_xmem *x, const void *obj, size_t len,
		       const struct _mmt_what *what, bool insert);
void _mmt_xmem_obj_del(struct _mmt_xmem *x, const void *obj, size_t len);

/* ---- per-operation oracles ---- */

/* "gfp-zero": @len bytes at @p are all zero, else report (false). */
bool _mmt_exec_check_zero(struct mmt_machine *m, const void *p, size_t len,
			  const struct _mmt_what *what);
/*
 * What the caller-side allocation oracles know of a caller: the kernel's
 * rules for it (ref_rules.h), captured before the call from its mask,
 * context and task state.
 */
struct _mmt_wmark_caller {
	struct _mmt_ref_caller c;
	struct _mmt_ref_rules r;
};
void _mmt_exec_wmark_caller(struct _mmt_wmark_caller *c, mmt_gfp_t gfp,
			    bool tolerate_pending);
/*
 * "watermark" after the call, where no observer watched it (a concurrent
 * run): @page of @order (> PAGE_ALLOC_COSTLY_ORDER: served by the buddy
 * lists right after one watermark check) was handed to caller @c; its
 * zone's free count plus the block must be above the reference's floor.
 */
bool _mmt_exec_check_watermark(struct mmt_machine *m,
			       const struct _mmt_wmark_caller *c,
			       struct mmt_page *page, unsigned int order);
/*
 * "pfmemalloc-isolation" from the caller's side: an object at @obj handed
 * to a caller whose mask @gfp gives it no right to the reserves (by the
 * reference, not the model's helper) must not be reserve memory.
 */
bool _mmt_exec_check_obj_reserves(struct mmt_machine *m, const void *obj,
				  mmt_gfp_t gfp, const struct _mmt_what *what);

/*
 * The page allocator observed (struct mmt_page_observer) in a sequential
 * run: a stack of the allocations in progress (nested: direct reclaim, a
 * slab refill), each with the reference's rules for its caller.  At the
 * first pages a call takes from a zone (the block, or the per-cpu batch
 * right after the watermark check) the zone's free count must pass the
 * reference's floor ("watermark"), or the caller has the right to no
 * watermarks and the page it gets must be marked ("pfmemalloc-marking");
 * at the return, a pfmemalloc page only to an entitled caller
 * ("pfmemalloc-marking") and a __GFP_THISNODE page from its node
 * ("gfp-thisnode").  Frames deeper than MMT_REF_MAX_FRAMES are counted,
 * not checked.
 */
#define MMT_REF_MAX_FRAMES 16
struct _mmt_ref_frame {
	struct _mmt_ref_caller c;
	struct _mmt_ref_rules r;
	int nid;
	unsigned int order;
	bool bulk;
	bool took; /* pages left a zone for it already */
	bool below; /* ... below every floor of its ordinary attempts */
	int zone;
	long free_before;
};
struct _mmt_ref_obs {
	struct mmt_machine *m;
	bool tolerate_pending; /* !mmt_exec_opts.strict_reference */
	int depth; /* may exceed MMT_REF_MAX_FRAMES */
	/* calls (not bulk) that returned no page, at any depth: ever more */
	unsigned long refused;
	struct _mmt_ref_frame f[MMT_REF_MAX_FRAMES];
};
void _mmt_ref_obs_install(struct _mmt_ref_obs *o, struct mmt_machine *m,
			  bool tolerate_pending);

/*
 * "slab-gave-up": the slab allocator fails a caller that may spin
 * (gfpflags_allow_spinning(), by the reference) only when it cannot get a
 * slab, that is when the page allocator refused it pages.  Judged after
 * an allocation the observer watched (a sequential run): @failed - the
 * allocator returned NULL to a caller with @gfp - while the observer's
 * refusal count stayed at @refused_before.  @what names the operation;
 * @how says which call failed (a mempool's inner attempt, ...).
 */
bool _mmt_exec_check_gave_up(struct _mmt_ref_obs *o, mmt_gfp_t gfp,
			     unsigned long refused_before,
			     const struct _mmt_what *what, const char *how);

/*
 * "gfp-nowait-slept": an allocation with @gfp (no __GFP_DIRECT_RECLAIM)
 * moved the task's sleep points from @before to @after.
 */
bool _mmt_exec_check_nowait(struct mmt_machine *m, mmt_gfp_t gfp,
			    unsigned long before, unsigned long after,
			    const char *what);
/*
 * Is memory used up for a __GFP_NOFAIL request with @gfp: every zone such a
 * request may use at or below the level the NOFAIL retry may dig to
 * (min with __GFP_HIGH and the non-blocking reserve) plus the largest block
 * NOFAIL may ask (2^PAGE_ALLOC_COSTLY_ORDER)?  Then the kernel would loop
 * for memory only the program could free: the program waits for itself.
 */
bool _mmt_exec_nofail_exhausted(struct mmt_machine *m, mmt_gfp_t gfp, int nid);
/*
 * Out of memory because of the program: every zone is at or below its min
 * watermark (plus the lowmem reserve it keeps from higher zones) and at
 * least half of the managed pages are unreclaimable: allocated outside the
 * LRU (what the program holds - pages, objects, pool reserves - and the
 * model's own structures), or anonymous with no swap device to write them
 * to (the kernel's OOM killer would end their owner).
 * A stall then is the kernel's "out of memory and nothing to kill", not a
 * defect.  @held and @managed (may be NULL) receive the counts.  With
 * @known_exhausted (the allocator's OOM path found no zone above its mark
 * for the request) the zones are not checked again.
 */
bool _mmt_exec_program_holds_memory(struct mmt_machine *m, unsigned long *held,
				    unsigned long *managed,
				    bool known_exhausted);
/*
 * "teardown-leak": after everything was released, per zone, free pages
 * plus per-cpu pages must be all the managed pages.
 */
bool _mmt_exec_check_teardown(struct mmt_machine *m);

#endif /* MMT_EXEC_INTERNAL_H */
