/* SPDX-License-Identifier: MIT */
/*
 * tools/layers.c - the table of layer implementations this build knows.
 *
 * One row per implementation of a layer of the model.  A new layer (slab,
 * mempool, reserves, ...) or an alternative implementation of one (e.g. a
 * pool-first mempool) adds a row here; `mmtorture list layers` prints the
 * table and later subcommands select implementations by these names
 * (--<layer>=<impl>).
 */
#include "cli.h"

static const struct cli_layer layers[] = {
	{ "page", "buddy-pcp", true,
	  "buddy allocator with per-cpu page lists, watermarks, pfmemalloc reserves, __GFP_FAST_TRY and alloc_pages_nolock/free_pages_nolock with the zones' deferred lists (mm/page_alloc.c v6.x, nolock 6.15-6.16)" },
	{ "slab", "slub", true,
	  "SLUB: per-cpu freelist + tid compare-exchange, cpu partial slabs, node partial lists with min_partial, frozen slabs, pfmemalloc slabs, kmalloc_nolock/kfree_nolock (mm/slub.c; nolock 6.18)" },
	{ "slab", "slab", false,
	  "SLAB: per-cpu array caches, shared arrays, full/partial/free node lists with free_limit, pfmemalloc re-implementation of seed 000, kmalloc_nolock/kfree_nolock over the array caches only (mm/slab.c)" },
	{ "slab", "sheaves", false,
	  "SLUB with sheaves (7.0): per-cpu main/spare sheaves, per-node barns of full and empty sheaves, node partial lists, prefilled sheaves (mm/slub.c v6.18-7.0)" },
};

const struct cli_layer *cli_layers(size_t *nr)
{
	*nr = MMT_ARRAY_SIZE(layers);
	return layers;
}
