/* SPDX-License-Identifier: MIT */
/*
 * mmt/gfp.h - GFP ("get free pages") flags of the model.
 *
 * The bit set follows include/linux/gfp_types.h by meaning; the bit values
 * are the model's own (they are not ABI).  __GFP_FAST_TRY is the flag of
 * seed 002 (later shipped in spirit as alloc_pages_nolock()): take pages from
 * the per-cpu lists only, with trylock only, never the zone lock, never sleep,
 * fail fast.
 *
 * The composites are the modern kernel's: GFP_ATOMIC is __GFP_HIGH plus
 * kswapd wakeup, and "atomic" (the non-blocking reserve) is derived from the
 * absence of __GFP_DIRECT_RECLAIM, as in v6.3+ where __GFP_ATOMIC was removed.
 *
 * Text form: names joined by '|', e.g. "GFP_KERNEL|__GFP_ZERO".  Printing
 * picks composites greedily (largest first, like show_gfp_flags()) so that
 * mmt_gfp_parse(mmt_gfp_format(x)) == x for every valid mask.
 */
#ifndef MMT_GFP_H
#define MMT_GFP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef uint32_t mmt_gfp_t;

enum {
	__GFP_DMA32_BIT,
	__GFP_MOVABLE_BIT,
	__GFP_RECLAIMABLE_BIT,
	__GFP_HIGH_BIT,
	__GFP_IO_BIT,
	__GFP_FS_BIT,
	__GFP_ZERO_BIT,
	__GFP_DIRECT_RECLAIM_BIT,
	__GFP_KSWAPD_RECLAIM_BIT,
	__GFP_WRITE_BIT,
	__GFP_NOWARN_BIT,
	__GFP_RETRY_MAYFAIL_BIT,
	__GFP_NOFAIL_BIT,
	__GFP_NORETRY_BIT,
	__GFP_MEMALLOC_BIT,
	__GFP_COMP_BIT,
	__GFP_NOMEMALLOC_BIT,
	__GFP_HARDWALL_BIT,
	__GFP_THISNODE_BIT,
	__GFP_ACCOUNT_BIT,
	__GFP_FAST_TRY_BIT,
	MMT_GFP_NR_BITS
};

#define __GFP_DMA32 (1u << __GFP_DMA32_BIT)
#define __GFP_MOVABLE (1u << __GFP_MOVABLE_BIT)
#define __GFP_RECLAIMABLE (1u << __GFP_RECLAIMABLE_BIT)
#define __GFP_HIGH (1u << __GFP_HIGH_BIT)
#define __GFP_IO (1u << __GFP_IO_BIT)
#define __GFP_FS (1u << __GFP_FS_BIT)
#define __GFP_ZERO (1u << __GFP_ZERO_BIT)
#define __GFP_DIRECT_RECLAIM (1u << __GFP_DIRECT_RECLAIM_BIT)
#define __GFP_KSWAPD_RECLAIM (1u << __GFP_KSWAPD_RECLAIM_BIT)
#define __GFP_WRITE (1u << __GFP_WRITE_BIT)
#define __GFP_NOWARN (1u << __GFP_NOWARN_BIT)
#define __GFP_RETRY_MAYFAIL (1u << __GFP_RETRY_MAYFAIL_BIT)
#define __GFP_NOFAIL (1u << __GFP_NOFAIL_BIT)
#define __GFP_NORETRY (1u << __GFP_NORETRY_BIT)
#define __GFP_MEMALLOC (1u << __GFP_MEMALLOC_BIT)
#define __GFP_COMP (1u << __GFP_COMP_BIT)
#define __GFP_NOMEMALLOC (1u << __GFP_NOMEMALLOC_BIT)
#define __GFP_HARDWALL (1u << __GFP_HARDWALL_BIT)
#define __GFP_THISNODE (1u << __GFP_THISNODE_BIT)
#define __GFP_ACCOUNT (1u << __GFP_ACCOUNT_BIT)
#define __GFP_FAST_TRY (1u << __GFP_FAST_TRY_BIT)

#define MMT_GFP_VALID_MASK ((1u << MMT_GFP_NR_BITS) - 1)

#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define MMT_GFP_MOVABLE_MASK (__GFP_RECLAIMABLE | __GFP_MOVABLE)

#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM)
#define GFP_NOIO (__GFP_RECLAIM)
#define GFP_NOFS (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_HIGHUSER_MOVABLE (GFP_USER | __GFP_MOVABLE)

/* A named flag or composite, for printing, parsing, dictionaries, mutators. */
struct mmt_gfp_name {
	const char *name;
	mmt_gfp_t mask;
	bool composite;
};

/* All names: composites first (largest first), then the single bits. */
const struct mmt_gfp_name *mmt_gfp_names(size_t *nr);

/*
 * Format @gfp into @buf (NUL-terminated, truncated with "..." if @len is too
 * small).  Returns the length the full text needs, like snprintf.  Bits
 * outside MMT_GFP_VALID_MASK are printed as a trailing hex literal so that a
 * bad mask is still visible in a report.
 */
size_t mmt_gfp_format(mmt_gfp_t gfp, char *buf, size_t len);

/*
 * Parse "GFP_KERNEL|__GFP_ZERO" (whitespace around '|' allowed, "0" is the
 * empty mask, a hex literal such as 0x40 is accepted if it has only known
 * bits).  On error returns false and writes to @err a message that names the
 * offending token and its column (1-based) in @text.
 */
bool mmt_gfp_parse(const char *text, mmt_gfp_t *out, char *err, size_t errlen);

static inline bool mmt_gfpflags_allow_blocking(mmt_gfp_t gfp)
{
	return gfp & __GFP_DIRECT_RECLAIM;
}

#endif /* MMT_GFP_H */
