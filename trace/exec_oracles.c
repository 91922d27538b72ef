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

/* ---- the kernel's rules (ref_rules.h) against what the caller got ---- */

void _mmt_exec_wmark_caller(struct _mmt_wmark_caller *c, mmt_gfp_t gfp,
			    bool tolerate_pending)
{
	_mmt_ref_capture(&c->c, mmt_current_machine(), gfp, tolerate_pending);
	_mmt_ref_rules(&c->c, &c->r);
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

static int highest_zone(mmt_gfp_t gfp)
{
	return (gfp & __GFP_DMA32) ? MMT_ZONE_DMA32 : MMT_ZONE_NORMAL;
}

static MMT_COLD bool
report_floor(struct mmt_machine *m, const struct _mmt_ref_caller *c,
	     const struct _mmt_ref_rules *r, const struct mmt_zone_info *zi,
	     long free_before, unsigned int order, const char *how)
{
	char g[160];
	int hz = highest_zone(r->gfp);

	mmt_gfp_format(c->gfp, g, sizeof(g));
	return mmt_violation(
		m, "watermark",
		"order-%u request with %s by a caller in %s context (task flags 0x%x%s) %s node %d zone %s at %ld free pages; "
		"the kernel lets it take pages only above %ld (min %lu, lowmem reserve %lu, highatomic %lu%s; %s%s%s)",
		order, g, _mmt_ref_ctx_name(c->ctx), c->pflags,
		c->oom_victim ? ", OOM victim" : "", how, zi->nid, zi->name,
		free_before, _mmt_ref_floor(r, zi, hz), zi->wmark_min,
		zi->lowmem_reserve[hz], zi->nr_free_highatomic,
		r->highatomic ? " usable" : " kept",
		_mmt_ref_reserve_name(r->reserve),
		r->oom ? ", OOM reserve" : "",
		r->nofail_min_reserve ? ", NOFAIL min reserve" : "");
}

bool _mmt_exec_check_watermark(struct mmt_machine *m,
			       const struct _mmt_wmark_caller *c,
			       struct mmt_page *page, unsigned int order)
{
	struct mmt_zone_info zi;
	long before;
	int z;

	if (c->r.no_watermarks || order <= MMT_PAGE_ALLOC_COSTLY_ORDER)
		return true;
	z = page_zone(m, page);
	if (z < 0 || !mmt_zone_info(m, z, &zi))
		return true;
	/* Nothing freed into the zone since the check: it had the block. */
	before = (long)zi.free + (1l << order);
	if (_mmt_ref_may_take(&c->r, &zi, highest_zone(c->r.gfp), before,
			      order))
		return true;
	return report_floor(m, &c->c, &c->r, &zi, before, order,
			    "left with its block");
}

bool _mmt_exec_check_obj_reserves(struct mmt_machine *m, const void *obj,
				  mmt_gfp_t gfp, const struct _mmt_what *what)
{
	struct _mmt_wmark_caller c;
	char g[160];

	if (!obj || !mmt_obj_is_pfmemalloc(m, obj))
		return true;
	_mmt_exec_wmark_caller(&c, gfp, true);
	if (c.r.pfmemalloc_allowed)
		return true;
	mmt_gfp_format(gfp, g, sizeof(g));
	return mmt_violation(
		m, "pfmemalloc-isolation",
		"%s: object %p from the reserves (a pfmemalloc slab or page) handed to a caller in %s context (task flags 0x%x) with %s: the kernel's rules give it no right to them",
		MMT_WHAT(what), obj, _mmt_ref_ctx_name(c.c.ctx), c.c.pflags, g);
}

/* ---- the page allocator observed ---- */

static struct _mmt_ref_frame *top(struct _mmt_ref_obs *o)
{
	if (o->depth <= 0 || o->depth > MMT_REF_MAX_FRAMES)
		return NULL;
	return &o->f[o->depth - 1];
}

static void obs_enter(void *arg, mmt_gfp_t gfp, unsigned int order, int nid,
		      bool bulk)
{
	struct _mmt_ref_obs *o = arg;
	struct _mmt_ref_frame *f;

	if (o->depth++ >= MMT_REF_MAX_FRAMES)
		return;
	f = &o->f[o->depth - 1];
	_mmt_ref_capture(&f->c, o->m, gfp, o->tolerate_pending);
	_mmt_ref_rules(&f->c, &f->r);
	f->nid = nid;
	f->order = order;
	f->bulk = bulk;
	f->took = f->below = false;
	f->zone = -1;
	f->free_before = 0;
}

static void obs_take(void *arg, int zone, long free_before, unsigned int order)
{
	struct _mmt_ref_obs *o = arg;
	struct _mmt_ref_frame *f = top(o);
	struct mmt_zone_info zi;

	/*
	 * Each attempt checks the watermark right before it takes, so the
	 * last take is the one that served the page: a first attempt may
	 * find no block, and the retry after reclaim or an OOM kill take at
	 * another free count.  A bulk call's later refills take without a
	 * new check, as the kernel's do: its first take is the checked one.
	 */
	if (!f || (f->took && f->bulk))
		return;
	f->took = true;
	f->below = false;
	/*
	 * The one input that changes inside a call: the OOM killer of the
	 * model marks the allocating task a victim and retries.
	 */
	if (!f->c.oom_victim && mmt_current_is_oom_victim()) {
		f->c.oom_victim = true;
		_mmt_ref_rules(&f->c, &f->r);
	}
	f->zone = zone;
	f->free_before = free_before;
	if (!mmt_zone_info(o->m, zone, &zi) ||
	    _mmt_ref_may_take(&f->r, &zi, highest_zone(f->r.gfp), free_before,
			      order))
		return;
	if (f->r.no_watermarks)
		f->below = true; /* only the no-watermarks attempt serves */
	else
		report_floor(o->m, &f->c, &f->r, &zi, free_before, order,
			     "took pages from");
}

static MMT_COLD void report_marking(struct _mmt_ref_obs *o,
				    const struct _mmt_ref_frame *f,
				    struct mmt_page *page, bool marked)
{
	char g[160];

	mmt_gfp_format(f->c.gfp, g, sizeof(g));
	if (marked) {
		mmt_violation(
			o->m, "pfmemalloc-marking",
			"pfn %lu order %u handed out marked pfmemalloc (from the reserves) to a caller in %s context (task flags 0x%x) with %s, which the kernel's rules do not entitle to them",
			mmt_page_to_pfn(page), f->order,
			_mmt_ref_ctx_name(f->c.ctx), f->c.pflags, g);
		return;
	}
	mmt_violation(
		o->m, "pfmemalloc-marking",
		"pfn %lu order %u served with %s at %ld free pages in zone %d, below every watermark the caller's ordinary attempts may use (so from the reserves, no watermarks), but not marked pfmemalloc",
		mmt_page_to_pfn(page), f->order, g, f->free_before, f->zone);
}

static void obs_exit(void *arg, struct mmt_page *page)
{
	struct _mmt_ref_obs *o = arg;
	struct _mmt_ref_frame *f = top(o);

	if (o->depth > 0)
		o->depth--;
	if (!page && (!f || !f->bulk))
		o->refused++;
	if (!f || !page || f->bulk)
		return;
	if (mmt_page_is_pfmemalloc(page)) {
		if (!f->r.pfmemalloc_allowed)
			report_marking(o, f, page, true);
	} else if (f->below) {
		report_marking(o, f, page, false);
	}
	if (f->r.thisnode && f->nid >= 0 && mmt_page_to_nid(page) != f->nid) {
		char g[160];

		mmt_gfp_format(f->c.gfp, g, sizeof(g));
		mmt_violation(
			o->m, "gfp-thisnode",
			"pfn %lu order %u of node %d handed out for %s on node %d",
			mmt_page_to_pfn(page), f->order, mmt_page_to_nid(page),
			g, f->nid);
	}
}

void _mmt_ref_obs_install(struct _mmt_ref_obs *o, struct mmt_machine *m,
			  bool tolerate_pending)
{
	const struct mmt_page_observer ops = {
		.enter = obs_enter,
		.take = obs_take,
		.exit = obs_exit,
		.arg = o,
	};

	memset(o, 0, sizeof(*o));
	o->m = m;
	o->tolerate_pending = tolerate_pending;
	mmt_machine_set_page_observer(m, &ops);
}

bool _mmt_exec_check_gave_up(struct _mmt_ref_obs *o, mmt_gfp_t gfp,
			     unsigned long refused_before,
			     const struct _mmt_what *what, const char *how)
{
	struct _mmt_wmark_caller c;
	char g[160];

	if (o->refused != refused_before)
		return true;
	_mmt_exec_wmark_caller(&c, gfp, true);
	/* Under PREEMPT_RT a hard irq takes no spinlock_t at all. */
	if (!c.r.may_spin ||
	    (mmt_machine_config(o->m)->rt_rules && c.c.ctx == MMT_REF_HARDIRQ))
		return true;
	mmt_gfp_format(gfp, g, sizeof(g));
	return mmt_violation(
		o->m, "slab-gave-up",
		"%s: %s with %s (a caller that may spin) returned NULL, but the page allocator refused it nothing: the slab allocator fails such a caller only when it cannot get a slab",
		MMT_WHAT(what), how, g);
}

bool _mmt_exec_nofail_exhausted(struct mmt_machine *m, mmt_gfp_t gfp, int nid)
{
	int highest = highest_zone(gfp);
	int z, nr = mmt_nr_zones(m);
	struct _mmt_wmark_caller c;

	/* The deepest the kernel's rules let this NOFAIL caller go. */
	_mmt_exec_wmark_caller(&c, gfp | __GFP_NOFAIL | __GFP_DIRECT_RECLAIM,
			       true);
	if (nid < 0)
		nid = mmt_numa_node_id();
	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;
		long keep;

		if (!mmt_zone_info(m, z, &zi) || zi.type > highest ||
		    ((gfp & __GFP_THISNODE) && zi.nid != nid))
			continue;
		keep = _mmt_ref_floor(&c.r, &zi, highest);
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
	/*
	 * Reclaimable: page cache, pages under writeback, and anonymous
	 * pages only if there is a swap device to write them to.  Under
	 * today's reclaim, whose every __GFP_FS allocation ends in the OOM
	 * killer rather than a wait, a stall with memory exhausted is the
	 * program's when the writeback left waits for a worker that cannot
	 * allocate (the loop worker below min, only NOIO tasks around): not
	 * reclaimable either.  The 2016 throttle loops its reclaimers instead
	 * of letting them reach the OOM killer: its stalls stay findings.
	 */
	lru = mmt_writeback_pages(m, -1);
	if (!known_exhausted &&
	    mmt_machine_config(m)->throttle == MMT_THROTTLE_RECLAIM) {
		unsigned long starved = mmt_writeback_starved_pages(m);

		lru -= starved < lru ? starved : lru;
	}
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
		if (zi.deferred) {
			ok = mmt_violation(
				m, "deferred-free-lost",
				"node %d zone %s: %lu page(s) freed by free_pages_nolock still wait on the deferred list after teardown drained it",
				zi.nid, zi.name, zi.deferred);
			continue;
		}
		if (zi.free + zi.pcp != zi.managed)
			ok = mmt_violation(
				m, "teardown-leak",
				"node %d zone %s: after every handle was released, grace periods run out, caches shrunk and per-cpu lists drained, free %lu + per-cpu %lu != managed %lu (%ld page(s) still allocated)",
				zi.nid, zi.name, zi.free, zi.pcp, zi.managed,
				(long)zi.managed - (long)(zi.free + zi.pcp));
	}
	return ok;
}
