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
 * The right to the reserves (ALLOC_NO_WATERMARKS) a caller on the current
 * CPU has for @gfp, as the page allocator decides it
 * (__gfp_pfmemalloc_flags()): stated from the context and task flags.
 */
bool _mmt_exec_reserve_rights(mmt_gfp_t gfp);
/* What the watermark oracle needs to know of the caller before the call. */
struct _mmt_wmark_caller {
	mmt_gfp_t gfp;
	bool rights; /* _mmt_exec_reserve_rights() */
	bool oom; /* may use ALLOC_OOM: an OOM victim in task context */
};
void _mmt_exec_wmark_caller(struct _mmt_wmark_caller *c, mmt_gfp_t gfp);
/*
 * "watermark": @page of @order (> PAGE_ALLOC_COSTLY_ORDER: served by the
 * buddy lists right after one watermark check) was handed to caller @c;
 * its zone must not be below the lowest min watermark @c may use.
 */
bool _mmt_exec_check_watermark(struct mmt_machine *m,
			       const struct _mmt_wmark_caller *c,
			       struct mmt_page *page, unsigned int order);
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
