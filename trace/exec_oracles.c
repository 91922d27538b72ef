/* SPDX-License-Identifier: MIT */
/*
 * trace/exec_oracles.c - the interpreter's caller-side oracles: what a
 * program holds (double-alloc), what __GFP_ZERO promised (gfp-zero), what
 * a mask without __GFP_DIRECT_RECLAIM promised (gfp-nowait-slept), the
 * watermark a caller without reserve rights may not go below (watermark),
 * and nothing left at the end (teardown-leak).  See exec_internal.h for
 * the structures and their invariants.
 *
 * Why caller-side: the model's inline checks compare the allocator's state
 * with itself (page flags, allocation bitmaps, counts); a defect that keeps
 * that state consistent while breaking a promise to the caller - a block
 * handed out that overlaps another, a cleared page that is not clear - is
 * invisible from inside.  These oracles know only what the API promised
 * and what the program holds, so they are independent of the code they
 * watch.
 *
 * The watermark oracle is stated where it can be stated exactly: a block
 * of order > PAGE_ALLOC_COSTLY_ORDER comes from the buddy lists right after
 * one watermark check that passed, and nothing frees into the zone between
 * that check and the return (direct reclaim and drains come before it), so
 * the zone's free count after the call is the count at the check minus
 * 2^order.  For smaller orders the per-cpu lists break that: a pcp hit
 * takes no page from the zone and a refill (rmqueue_bulk) takes a whole
 * batch after one check of one block, and several allocations happen in
 * one operation (slab refills, bulk, krealloc), so no exact bound exists
 * from outside; those are left to the allocator's own checks.
 *
 * Locks: none of the model's; everything here runs on the interpreter's
 * thread between (or right after) model calls.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "exec_internal.h"

/*
 * TSan.  This file is not instrumented, but the C library's allocator
 * interceptors are: the oracles' tables, grown and freed by one CPU's
 * fiber and then another's (a concurrent run: no switch comes inside
 * them), would be a data race between the interpreter's fibers, which
 * is no race of the model.  Their host memory is ignored, as
 * trace_exec.c's HOST_MEM_BEGIN does for the scheduler's.
 */
#if MMT_SANITIZE_TSAN
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define TABLE_MEM_BEGIN()                              \
	(AnnotateIgnoreReadsBegin(__FILE__, __LINE__), \
	 AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define TABLE_MEM_END()                               \
	(AnnotateIgnoreWritesEnd(__FILE__, __LINE__), \
	 AnnotateIgnoreReadsEnd(__FILE__, __LINE__))
#else
#define TABLE_MEM_BEGIN() ((void)0)
#define TABLE_MEM_END() ((void)0)
#endif

#define CHUNK_SHIFT 10 /* a chunk covers a largest buddy block */
#define CHUNK_FRAMES (1ul << CHUNK_SHIFT)
#define HELD 0x8000u /* frame held as pages */
#define COUNT_MASK 0x7fffu

/* ---- frames ---- */

bool _mmt_xmem_init(struct _mmt_xmem *x, struct mmt_machine *m)
{
	int z, nr = mmt_nr_zones(m);

	memset(x, 0, sizeof(*x));
	x->m = m;
	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;

		if (mmt_zone_info(m, z, &zi) &&
		    zi.start_pfn + zi.managed > x->nr_pfns)
			x->nr_pfns = zi.start_pfn + zi.managed;
	}
	x->nr_chunks = (x->nr_pfns + CHUNK_FRAMES - 1) >> CHUNK_SHIFT;
	/* One pointer per 4 MiB of simulated memory: not worth being lazy. */
	x->chunk = calloc(x->nr_chunks ? x->nr_chunks : 1, sizeof(*x->chunk));
	return x->chunk != NULL;
}

void _mmt_xmem_free(struct _mmt_xmem *x)
{
	size_t i;

	for (i = 0; x->chunk && i < x->nr_chunks; i++)
		free(x->chunk[i]);
	free(x->chunk);
	free(x->addr);
	memset(x, 0, sizeof(*x));
}

/* The word of frame @pfn, allocating its chunk; NULL out of range or memory. */
static uint16_t *frame(struct _mmt_xmem *x, unsigned long pfn, bool create)
{
	size_t c = pfn >> CHUNK_SHIFT;

	if (pfn >= x->nr_pfns)
		return NULL;
	if (!x->chunk[c]) {
		if (!create)
			return NULL;
		TABLE_MEM_BEGIN();
		x->chunk[c] = calloc(CHUNK_FRAMES, sizeof(uint16_t));
		TABLE_MEM_END();
		if (!x->chunk[c])
			return NULL;
	}
	return &x->chunk[c][pfn & (CHUNK_FRAMES - 1)];
}

static unsigned long obj_pfn(struct mmt_machine *m, const void *obj)
{
	struct mmt_page *page = mmt_virt_to_page(m, obj);

	return page ? mmt_page_to_pfn(page) : ~0ul;
}

bool _mmt_xmem_page_add(struct _mmt_xmem *x, struct mmt_page *page,
			unsigned int order, const struct _mmt_what *what)
{
	unsigned long pfn = mmt_page_to_pfn(page), n = 1ul << order, i;
	bool ok = true;

	for (i = 0; i < n && ok; i++) {
		uint16_t *w = frame(x, pfn + i, false);

		if (w && *w)
			ok = mmt_violation(
				x->m, "double-alloc",
				"%s: pfn %lu order %u handed out, but pfn %lu is %s",
				MMT_WHAT(what), pfn, order, pfn + i,
				(*w & HELD) ?
					"held by another page handle of the program" :
					"under a live object of the program");
	}
	for (i = 0; i < n; i++) {
		uint16_t *w = frame(x, pfn + i, true);

		if (w)
			*w |= HELD;
	}
	return ok;
}

void _mmt_xmem_page_del(struct _mmt_xmem *x, struct mmt_page *page,
			unsigned int order)
{
	unsigned long pfn = mmt_page_to_pfn(page), n = 1ul << order, i;

	for (i = 0; i < n; i++) {
		uint16_t *w = frame(x, pfn + i, false);

		if (w)
			*w &= (uint16_t)~HELD;
	}
}

/* ---- the set of live object addresses ---- */

static size_t addr_slot(const struct _mmt_xmem *x, uintptr_t a)
{
	/* Fibonacci hashing of the address without its alignment bits. */
	return (size_t)(((uint64_t)(a >> 3) * 0x9e3779b97f4a7c15ull) >> 20) &
	       (x->cap - 1);
}

static bool addr_find(const struct _mmt_xmem *x, uintptr_t a, size_t *at)
{
	size_t i;

	*at = 0;
	if (!x->cap)
		return false;
	for (i = addr_slot(x, a); x->addr[i]; i = (i + 1) & (x->cap - 1))
		if (x->addr[i] == a) {
			*at = i;
			return true;
		}
	*at = i;
	return false;
}

static bool addr_grow(struct _mmt_xmem *x)
{
	size_t ncap = x->cap ? 2 * x->cap : 64, i, old = x->cap;
	uintptr_t *oa = x->addr;

	TABLE_MEM_BEGIN();
	x->addr = calloc(ncap, sizeof(*x->addr));
	TABLE_MEM_END();
	if (!x->addr) {
		x->addr = oa;
		return false;
	}
	x->cap = ncap;
	for (i = 0; i < old; i++)
		if (oa[i]) {
			size_t at;

			addr_find(x, oa[i], &at);
			x->addr[at] = oa[i];
		}
	TABLE_MEM_BEGIN();
	free(oa);
	TABLE_MEM_END();
	return true;
}

static void addr_insert(struct _mmt_xmem *x, uintptr_t a)
{
	size_t at;

	if ((x->used + 1) * 4 > x->cap * 3 && !addr_grow(x))
		return; /* no host memory: the oracle loses sight of it */
	if (!addr_find(x, a, &at)) {
		x->addr[at] = a;
		x->used++;
	}
}

/* Linear probing without tombstones: shift the cluster back over the hole. */
static void addr_remove(struct _mmt_xmem *x, uintptr_t a)
{
	size_t hole, i;

	if (!addr_find(x, a, &hole))
		return;
	x->addr[hole] = 0;
	x->used--;
	for (i = (hole + 1) & (x->cap - 1); x->addr[i];
	     i = (i + 1) & (x->cap - 1)) {
		size_t home = addr_slot(x, x->addr[i]);

		/* Move it if its home is not cyclically in (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) ||
		    (i < hole && home <= hole && home > i)) {
			x->addr[hole] = x->addr[i];
			x->addr[i] = 0;
			hole = i;
		}
	}
}

bool _mmt_xmem_obj_add(struct _mmt_xmem *x, const void *obj, size_t len,
		       const struct _mmt_what *what, bool insert)
{
	unsigned long pfn = obj_pfn(x->m, obj), last, i;
	size_t at;
	bool ok = true;

	if (!len)
		len = 1;
	if (addr_find(x, (uintptr_t)obj, &at))
		ok = mmt_violation(
			x->m, "double-alloc",
			"%s: object %p (%zu bytes) handed out, but a live object of the program starts there",
			MMT_WHAT(what), obj, len);
	if (pfn == ~0ul)
		return ok; /* not machine memory: slab-bad-pointer's business */
	last = pfn + (((uintptr_t)obj & (MMT_PAGE_SIZE - 1)) + len - 1) /
			     MMT_PAGE_SIZE;
	for (i = pfn; i <= last && ok; i++) {
		uint16_t *w = frame(x, i, false);

		if (w && (*w & HELD))
			ok = mmt_violation(
				x->m, "double-alloc",
				"%s: object %p (%zu bytes) handed out in pfn %lu, which a page handle of the program holds",
				MMT_WHAT(what), obj, len, i);
	}
	if (!insert)
		return ok;
	addr_insert(x, (uintptr_t)obj);
	for (i = pfn; i <= last; i++) {
		uint16_t *w = frame(x, i, true);

		if (w && (*w & COUNT_MASK) != COUNT_MASK)
			(*w)++;
	}
	return ok;
}

void _mmt_xmem_obj_del(struct _mmt_xmem *x, const void *obj, size_t len)
{
	unsigned long pfn = obj_pfn(x->m, obj), last, i;

	if (!len)
		len = 1;
	addr_remove(x, (uintptr_t)obj);
	if (pfn == ~0ul)
		return;
	last = pfn + (((uintptr_t)obj & (MMT_PAGE_SIZE - 1)) + len - 1) /
			     MMT_PAGE_SIZE;
	for (i = pfn; i <= last; i++) {
		uint16_t *w = frame(x, i, false);

		if (w && (*w & COUNT_MASK))
			(*w)--;
	}
}

/* ---- reports ---- */

const char *_mmt_what_text(const struct _mmt_what *w, char *buf, size_t len)
{
	if (w->index == MMT_WHAT_TEXT)
		return w->name;
	snprintf(buf, len, "operation %zu (%s)", w->index, w->name);
	return buf;
}

/* ---- __GFP_ZERO ---- */

bool _mmt_exec_check_zero(struct mmt_machine *m, const void *p, size_t len,
			  const struct _mmt_what *what)
{
	const unsigned char *b = p;
	uint64_t w[4];
	size_t i = 0;

	/*
	 * 32 bytes a step, then words, then bytes (a page of __GFP_ZERO is
	 * read whole after every such allocation): only the byte loop reports.
	 */
	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(w, b + i, sizeof(w));
		if (w[0] | w[1] | w[2] | w[3])
			break;
	}
	for (; i + sizeof(w[0]) <= len; i += sizeof(w[0])) {
		memcpy(w, b + i, sizeof(w[0]));
		if (w[0])
			break;
	}
	for (; i < len; i++)
		if (b[i])
			return mmt_violation(
				m, "gfp-zero",
				"%s with __GFP_ZERO: byte %zu of %zu at %p is 0x%02x, not zero",
				MMT_WHAT(what), i, len, p, b[i]);
	return true;
}

/* ---- reserve rights and the watermark ---- */

bool _mmt_exec_reserve_rights(mmt_gfp_t gfp)
{
	unsigned int pflags = mmt_current_flags();

	if (gfp & __GFP_NOMEMALLOC)
		return false;
	if (gfp & __GFP_MEMALLOC)
		return true;
	if (!(pflags & MMT_PF_MEMALLOC))
		return false;
	/* PF_MEMALLOC counts in process context and when serving a softirq. */
	if (mmt_in_hardirq())
		return false;
	return mmt_in_serving_softirq() || !mmt_in_interrupt();
}

void _mmt_exec_wmark_caller(struct _mmt_wmark_caller *c, mmt_gfp_t gfp)
{
	c->gfp = gfp;
	c->rights = _mmt_exec_reserve_rights(gfp);
	c->oom = !(gfp & __GFP_NOMEMALLOC) && !mmt_in_interrupt() &&
		 mmt_current_is_oom_victim();
}

/* Zone index of @page. */
static int page_zone(struct mmt_machine *m, struct mmt_page *page)
{
	int nid = mmt_page_to_nid(page), type = mmt_page_zone_type(page);
	int z, nr = mmt_nr_zones(m);

	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;

		if (mmt_zone_info(m, z, &zi) && zi.nid == nid &&
		    zi.type == type)
			return z;
	}
	return -1;
}

/*
 * The free count a zone must keep after a buddy allocation that passed
 * zone_watermark_ok() with these ALLOC_* effects (mm/page_alloc.c's rules
 * of v6.4+: __GFP_HIGH halves min and a non-blocking caller with it takes a
 * quarter more; a non-blocking caller without __GFP_HIGH gets no cut; OOM
 * victims halve it; only callers with none of these must leave the
 * highatomic reserve alone).
 */
static long keep_after(const struct mmt_zone_info *zi, int highest, bool high,
		       bool harder, bool oom)
{
	long min = (long)zi->wmark_min;
	long ha = 0;

	if (!high && !harder && !oom)
		ha = (long)zi->nr_reserved_highatomic;
	if (high) {
		min -= min / 2;
		if (harder)
			min -= min / 4;
	}
	if (oom)
		min -= min / 2;
	return min + (long)zi->lowmem_reserve[highest] + ha;
}

bool _mmt_exec_check_watermark(struct mmt_machine *m,
			       const struct _mmt_wmark_caller *c,
			       struct mmt_page *page, unsigned int order)
{
	mmt_gfp_t gfp = c->gfp;
	bool can_reclaim = gfp & __GFP_DIRECT_RECLAIM;
	bool harder = !can_reclaim && !(gfp & __GFP_NOMEMALLOC);
	int highest = (gfp & __GFP_DMA32) ? MMT_ZONE_DMA32 : MMT_ZONE_NORMAL;
	struct mmt_zone_info zi;
	long keep, k;
	int z;

	if (c->rights || order <= MMT_PAGE_ALLOC_COSTLY_ORDER)
		return true;
	z = page_zone(m, page);
	if (z < 0 || !mmt_zone_info(m, z, &zi))
		return true;
	/* The slow path's own flags; the fast path's low mark is higher. */
	keep = keep_after(&zi, highest, gfp & __GFP_HIGH, harder, false);
	/* __GFP_NOFAIL's last resort: min with __GFP_HIGH's cut. */
	if ((gfp & __GFP_NOFAIL) && can_reclaim) {
		k = keep_after(&zi, highest, true, false, false);
		keep = k < keep ? k : keep;
	}
	/* An OOM victim's retry uses ALLOC_OOM alone. */
	if (c->oom) {
		k = keep_after(&zi, highest, false, false, true);
		keep = k < keep ? k : keep;
	}
	if ((long)zi.free >= keep)
		return true;
	return mmt_violation(
		m, "watermark",
		"order-%u block at pfn %lu left node %d zone %s with %lu free pages; "
		"a caller without reserve rights (gfp 0x%x) must leave at least %ld "
		"(min %lu, lowmem reserve %lu, highatomic %lu)",
		order, mmt_page_to_pfn(page), zi.nid, zi.name, zi.free,
		(unsigned int)gfp, keep, zi.wmark_min,
		zi.lowmem_reserve[highest], zi.nr_reserved_highatomic);
}

bool _mmt_exec_nofail_exhausted(struct mmt_machine *m, mmt_gfp_t gfp, int nid)
{
	int highest = (gfp & __GFP_DMA32) ? MMT_ZONE_DMA32 : MMT_ZONE_NORMAL;
	int z, nr = mmt_nr_zones(m);

	if (nid < 0)
		nid = mmt_numa_node_id();
	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;
		long keep;

		if (!mmt_zone_info(m, z, &zi) || zi.type > highest ||
		    ((gfp & __GFP_THISNODE) && zi.nid != nid))
			continue;
		keep = keep_after(&zi, highest, true, false, false);
		if ((long)(zi.free + zi.pcp) >
		    keep + (1l << MMT_PAGE_ALLOC_COSTLY_ORDER))
			return false;
	}
	return true;
}

bool _mmt_exec_program_holds_memory(struct mmt_machine *m, unsigned long *held,
				    unsigned long *managed,
				    bool known_exhausted)
{
	unsigned long alloc = 0, total = 0, lru;
	int z, nr = mmt_nr_zones(m), t;
	bool exhausted = true;

	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;
		unsigned long keep;

		if (!mmt_zone_info(m, z, &zi) || !zi.managed)
			continue;
		total += zi.managed;
		alloc += zi.allocated;
		/* What an allocation for a higher zone must leave here. */
		keep = zi.wmark_min;
		for (t = 0; t < MMT_NR_ZONE_TYPES; t++)
			if (zi.wmark_min + zi.lowmem_reserve[t] > keep)
				keep = zi.wmark_min + zi.lowmem_reserve[t];
		if (!known_exhausted && zi.free + zi.pcp > keep)
			exhausted = false;
	}
	/* Reclaimable: page cache, pages under writeback, and anonymous
	 * pages only if there is a swap device to write them to. */
	lru = mmt_writeback_pages(m, -1);
	for (t = 0; t < MMT_NR_LRU_TYPES; t++)
		if (t != MMT_LRU_ANON || mmt_reclaim_has_swap(m))
			lru += mmt_lru_pages(m, -1, (enum mmt_lru_type)t);
	alloc = alloc > lru ? alloc - lru : 0;
	if (held)
		*held = alloc;
	if (managed)
		*managed = total;
	return exhausted && total && alloc * 2 >= total;
}

/* ---- sleeping ---- */

bool _mmt_exec_check_nowait(struct mmt_machine *m, mmt_gfp_t gfp,
			    unsigned long before, unsigned long after,
			    const char *what)
{
	char g[160];

	if ((gfp & __GFP_DIRECT_RECLAIM) || after == before)
		return true;
	mmt_gfp_format(gfp, g, sizeof(g));
	return mmt_violation(
		m, "gfp-nowait-slept",
		"%s with %s (no __GFP_DIRECT_RECLAIM) reached %lu point(s) that may sleep (might_sleep, a mutex, a wait)",
		what, g, after - before);
}

/* ---- teardown ---- */

bool _mmt_exec_check_teardown(struct mmt_machine *m)
{
	int z, nr = mmt_nr_zones(m);
	bool ok = true;

	for (z = 0; z < nr && ok; z++) {
		struct mmt_zone_info zi;

		if (!mmt_zone_info(m, z, &zi))
			continue;
		if (zi.free + zi.pcp != zi.managed)
			ok = mmt_violation(
				m, "teardown-leak",
				"node %d zone %s: after every handle was released, grace periods run out, caches shrunk and per-cpu lists drained, free %lu + per-cpu %lu != managed %lu (%ld page(s) still allocated)",
				zi.nid, zi.name, zi.free, zi.pcp, zi.managed,
				(long)zi.managed - (long)(zi.free + zi.pcp));
	}
	return ok;
}
