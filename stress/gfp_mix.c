/* SPDX-License-Identifier: MIT */
/*
 * stress/gfp_mix.c - the GFP masks the free-running workloads draw from:
 * the model workloads (workloads_model.c) and `mmtorture run`
 * (tools/cmd_run.c) share one mix, so what a stress run exercises and
 * what the smoke run exercises cannot drift apart.
 *
 * Process context may sleep: the common kernel masks, zeroing, compound
 * pages, the no-retry and no-warn modifiers, the FS/IO scopes, movable
 * user pages, reclaimable ones, and the non-sleeping masks a process may
 * use too.  Atomic context (interrupts, preempt- or irq-disabled
 * sections) only what never sleeps.  Masks that need a DMA32 zone are
 * left out on machines without one.
 */
#include "stress.h"

struct gfp_choice {
	mmt_gfp_t gfp;
	bool dma32; /* needs a DMA32 zone */
};

static const struct gfp_choice process_gfps[] = {
	{ GFP_KERNEL, false },
	{ GFP_KERNEL, false },
	{ GFP_KERNEL | __GFP_ZERO, false },
	{ GFP_KERNEL | __GFP_COMP, false },
	{ GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY, false },
	{ GFP_NOFS, false },
	{ GFP_NOIO, false },
	{ GFP_HIGHUSER_MOVABLE, false },
	{ GFP_HIGHUSER_MOVABLE | __GFP_ZERO, false },
	{ GFP_KERNEL | __GFP_RECLAIMABLE, false },
	{ GFP_ATOMIC, false },
	{ GFP_NOWAIT | __GFP_NOWARN, false },
	{ __GFP_FAST_TRY | __GFP_NOWARN, false },
	{ __GFP_FAST_TRY | __GFP_ZERO, false },
	{ GFP_KERNEL | __GFP_DMA32, true },
};

static const struct gfp_choice atomic_gfps[] = {
	{ GFP_ATOMIC, false },
	{ GFP_ATOMIC | __GFP_ZERO, false },
	{ GFP_ATOMIC | __GFP_COMP, false },
	{ GFP_NOWAIT | __GFP_NOWARN, false },
	{ __GFP_FAST_TRY | __GFP_NOWARN, false },
	{ __GFP_FAST_TRY | __GFP_ZERO, false },
	{ GFP_ATOMIC | __GFP_DMA32, true },
};

static const struct gfp_choice bulk_gfps[] = {
	{ GFP_KERNEL, false },
	{ GFP_KERNEL, false },
	{ GFP_HIGHUSER_MOVABLE, false },
	{ GFP_ATOMIC, false },
	{ GFP_NOWAIT | __GFP_NOWARN, false },
	{ __GFP_FAST_TRY | __GFP_NOWARN, false },
};

static mmt_gfp_t pick(const struct gfp_choice *tab, size_t n, uint64_t r,
		      bool dma32)
{
	size_t usable = 0, i;

	for (i = 0; i < n; i++)
		usable += dma32 || !tab[i].dma32;
	r %= usable;
	for (i = 0; i < n; i++) {
		if (!dma32 && tab[i].dma32)
			continue;
		if (!r--)
			return tab[i].gfp;
	}
	return GFP_KERNEL; /* not reached: usable counts the entries */
}

mmt_gfp_t mmt_stress_pick_gfp(enum mmt_stress_gfp_mix mix, uint64_t r,
			      bool dma32)
{
	switch (mix) {
	case MMT_STRESS_GFP_ATOMIC:
		return pick(atomic_gfps, MMT_ARRAY_SIZE(atomic_gfps), r, dma32);
	case MMT_STRESS_GFP_BULK:
		return pick(bulk_gfps, MMT_ARRAY_SIZE(bulk_gfps), r, dma32);
	case MMT_STRESS_GFP_PROCESS:
	default:
		return pick(process_gfps, MMT_ARRAY_SIZE(process_gfps), r,
			    dma32);
	}
}
