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
	  "buddy allocator with per-cpu page lists, watermarks, pfmemalloc reserves and __GFP_FAST_TRY (mm/page_alloc.c v6.x)" },
	{ "slab", "slub", true,
	  "SLUB: per-cpu freelist + tid compare-exchange, cpu partial slabs, node partial lists with min_partial, frozen slabs, pfmemalloc slabs (mm/slub.c)" },
	{ "slab", "slab", false,
	  "SLAB: per-cpu array caches, shared arrays, full/partial/free node lists with free_limit, pfmemalloc re-implementation of seed 000 (mm/slab.c)" },
	{ "slab", "sheaves", false,
	  "SLUB with sheaves (7.0): per-cpu main/spare sheaves, per-node barns of full and empty sheaves, node partial lists, prefilled sheaves (mm/slub.c v6.18-7.0)" },
};

const struct cli_layer *cli_layers(size_t *nr)
{
	*nr = MMT_ARRAY_SIZE(layers);
	return layers;
}
