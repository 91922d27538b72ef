/* SPDX-License-Identifier: MIT */
/*
 * tests/test_ref_rules.c - the reference of the kernel's allocation rules
 * (trace/ref_rules.h), each test named after the rule it states, and the
 * context-restore oracle of the save/restore primitives (alloc/machine.c).
 */
#include <string.h>

#include "mmt_test.h"
#include "ref_rules.h"

static struct _mmt_ref_rules rules(mmt_gfp_t gfp, unsigned int ctx,
				   unsigned int pflags, bool oom)
{
	struct _mmt_ref_caller c = {
		.gfp = gfp,
		.ctx = ctx,
		.pflags = pflags,
		.oom_victim = oom,
		.tolerate_pending = false,
	};
	struct _mmt_ref_rules r;

	_mmt_ref_rules(&c, &r);
	return r;
}

/* A zone with min 64, nothing else in the way. */
static const struct mmt_zone_info zone64 = { .wmark_min = 64,
					     .wmark_low = 80,
					     .wmark_high = 96 };

static long floor_of(mmt_gfp_t gfp, unsigned int ctx, unsigned int pflags,
		     bool oom)
{
	struct _mmt_ref_rules r = rules(gfp, ctx, pflags, oom);

	return _mmt_ref_floor(&r, &zone64, MMT_ZONE_NORMAL);
}

MMT_TEST(gfp_nowait_gets_no_access_below_min)
{
	struct _mmt_ref_rules r = rules(GFP_NOWAIT, MMT_REF_TASK, 0, false);

	MMT_CHECK(r.non_block);
	MMT_CHECK_EQ(r.reserve, MMT_REF_RESERVE_NONE);
	MMT_CHECK_EQ(floor_of(GFP_NOWAIT, MMT_REF_TASK, 0, false), 64);
	/* ... and may use the highatomic reserve (ALLOC_NON_BLOCK). */
	MMT_CHECK(r.highatomic);
}

MMT_TEST(gfp_atomic_digs_to_three_eighths_of_min)
{
	MMT_CHECK_EQ(floor_of(GFP_ATOMIC, MMT_REF_TASK, 0, false), 24);
	MMT_CHECK_EQ(floor_of(GFP_ATOMIC, MMT_REF_HARDIRQ, 0, false), 24);
}

MMT_TEST(gfp_high_with_direct_reclaim_gets_half_of_min)
{
	MMT_CHECK_EQ(floor_of(GFP_KERNEL | __GFP_HIGH, MMT_REF_TASK, 0, false),
		     32);
}

MMT_TEST(nomemalloc_takes_the_non_blocking_cut_away)
{
	struct _mmt_ref_rules r = rules(GFP_ATOMIC | __GFP_NOMEMALLOC,
					MMT_REF_TASK, MMT_PF_MEMALLOC, false);

	MMT_CHECK(!r.non_block);
	MMT_CHECK(!r.no_watermarks);
	MMT_CHECK_EQ(r.reserve, MMT_REF_RESERVE_MIN);
}

MMT_TEST(memalloc_flag_counts_in_task_and_serving_softirq_only)
{
	MMT_CHECK(rules(GFP_KERNEL, MMT_REF_TASK, MMT_PF_MEMALLOC, false)
			  .no_watermarks);
	MMT_CHECK(rules(GFP_ATOMIC, MMT_REF_SOFTIRQ, MMT_PF_MEMALLOC, false)
			  .no_watermarks);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_BH_OFF, MMT_PF_MEMALLOC, false)
			   .no_watermarks);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_HARDIRQ, MMT_PF_MEMALLOC, false)
			   .no_watermarks);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_NMI, MMT_PF_MEMALLOC, false)
			   .no_watermarks);
}

MMT_TEST(gfp_memalloc_gives_no_watermarks_in_any_context_unless_nomemalloc)
{
	MMT_CHECK(rules(GFP_ATOMIC | __GFP_MEMALLOC, MMT_REF_HARDIRQ, 0, false)
			  .no_watermarks);
	MMT_CHECK(!rules(GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOMEMALLOC,
			 MMT_REF_TASK, MMT_PF_MEMALLOC, false)
			   .no_watermarks);
}

MMT_TEST(oom_victim_gets_half_of_min_outside_interrupts_only)
{
	MMT_CHECK(rules(GFP_KERNEL, MMT_REF_TASK, 0, true).oom);
	MMT_CHECK_EQ(floor_of(GFP_KERNEL, MMT_REF_TASK, 0, true), 32);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_SOFTIRQ, 0, true).oom);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_BH_OFF, 0, true).oom);
	MMT_CHECK(!rules(GFP_KERNEL | __GFP_NOMEMALLOC, MMT_REF_TASK, 0, true)
			   .oom);
}

MMT_TEST(nofail_last_resort_is_the_min_reserve_never_no_watermarks)
{
	struct _mmt_ref_rules r =
		rules(GFP_KERNEL | __GFP_NOFAIL, MMT_REF_TASK, 0, false);

	MMT_CHECK(r.nofail_min_reserve);
	MMT_CHECK(!r.no_watermarks);
	MMT_CHECK_EQ(floor_of(GFP_KERNEL | __GFP_NOFAIL, MMT_REF_TASK, 0,
			      false),
		     32);
}

/* v6.12+: the free pages of the highatomic lists, not the reserved blocks. */
MMT_TEST(ordinary_callers_leave_the_highatomic_reserve_alone)
{
	struct mmt_zone_info zi = zone64;
	struct _mmt_ref_rules k = rules(GFP_KERNEL, MMT_REF_TASK, 0, false);
	struct _mmt_ref_rules a = rules(GFP_ATOMIC, MMT_REF_TASK, 0, false);

	zi.nr_reserved_highatomic = 512;
	zi.nr_free_highatomic = 100;
	zi.lowmem_reserve[MMT_ZONE_NORMAL] = 10;
	MMT_CHECK_EQ(_mmt_ref_floor(&k, &zi, MMT_ZONE_NORMAL), 64 + 10 + 100);
	MMT_CHECK_EQ(_mmt_ref_floor(&a, &zi, MMT_ZONE_NORMAL), 24 + 10);
	/* The order counts: F - (2^order - 1) > floor. */
	MMT_CHECK(_mmt_ref_may_take(&a, &zi, MMT_ZONE_NORMAL, 35, 0));
	MMT_CHECK(!_mmt_ref_may_take(&a, &zi, MMT_ZONE_NORMAL, 35, 1));
}

MMT_TEST(nolock_allocation_uses_min_and_no_reserve_and_never_sleeps)
{
	struct _mmt_ref_rules r = rules(__GFP_FAST_TRY | __GFP_HIGH,
					MMT_REF_HARDIRQ, MMT_PF_MEMALLOC,
					false);

	MMT_CHECK(r.nolock && !r.no_watermarks && !r.may_sleep);
	MMT_CHECK_EQ(_mmt_ref_floor(&r, &zone64, MMT_ZONE_NORMAL), 64);
}

MMT_TEST(the_right_to_reserve_objects_is_the_mask_and_task_not_the_nolock_path)
{
	/* pfmemalloc_match() asks gfp_pfmemalloc_allowed(), path aside. */
	struct _mmt_ref_rules r = rules(GFP_NOWAIT | __GFP_FAST_TRY,
					MMT_REF_TASK, MMT_PF_MEMALLOC, false);

	MMT_CHECK(r.pfmemalloc_allowed && !r.no_watermarks);
	r = rules(GFP_NOWAIT | __GFP_FAST_TRY | __GFP_NOMEMALLOC, MMT_REF_TASK,
		  MMT_PF_MEMALLOC, false);
	MMT_CHECK(!r.pfmemalloc_allowed);
}

MMT_TEST(noio_and_nofs_scopes_take_io_and_fs_from_the_mask)
{
	struct _mmt_ref_rules r =
		rules(GFP_KERNEL, MMT_REF_TASK, MMT_PF_MEMALLOC_NOIO, false);

	MMT_CHECK(r.may_sleep && !r.may_io && !r.may_fs);
	r = rules(GFP_KERNEL, MMT_REF_TASK, MMT_PF_MEMALLOC_NOFS, false);
	MMT_CHECK(r.may_io && !r.may_fs);
	MMT_CHECK(!rules(GFP_ATOMIC, MMT_REF_TASK, 0, false).may_sleep);
}

MMT_TEST(thisnode_and_zero_are_promises_of_the_mask)
{
	struct _mmt_ref_rules r =
		rules(GFP_KERNEL | __GFP_THISNODE | __GFP_ZERO, MMT_REF_TASK, 0,
		      false);

	MMT_CHECK(r.thisnode && r.zero);
	r = rules(GFP_KERNEL, MMT_REF_TASK, 0, false);
	MMT_CHECK(!r.thisnode && !r.zero);
}

/* ---- context-restore ---- */

MMT_TEST(context_restore_names_the_save_of_scopes_closed_out_of_order)
{
	struct mmt_machine *m = t_machine(NULL);
	unsigned int outer, inner;

	outer = mmt_memalloc_noio_save();
	inner = mmt_memalloc_noio_save();
	mmt_memalloc_noio_restore(outer); /* closes the inner one's */
	MMT_CHECK_VIOLATED(m, "context-restore");
	mmt_violations_clear(m);
	mmt_memalloc_noio_restore(inner); /* leaves NOIO set: also wrong */
	MMT_CHECK_VIOLATED(m, "context-restore");
	mmt_violations_clear(m);
	mmt_current_clear_flags(MMT_PF_MEMALLOC_NOIO);
	t_machine_done();
}

MMT_TEST(context_restore_names_an_irq_restore_with_the_outer_flags)
{
	struct mmt_machine *m = t_machine(NULL);
	unsigned long outer, inner;

	outer = mmt_local_irq_save();
	inner = mmt_local_irq_save();
	mmt_local_irq_restore(outer); /* enables interrupts too early */
	MMT_CHECK_VIOLATED(m, "context-restore");
	mmt_violations_clear(m);
	(void)inner;
	t_machine_done();
}

MMT_TEST(context_restore_is_silent_for_nested_saves_closed_in_order)
{
	struct mmt_machine *m = t_machine(NULL);
	unsigned long f1, f2;
	unsigned int a, b, c, d;

	a = mmt_memalloc_noreclaim_save();
	f1 = mmt_local_irq_save();
	b = mmt_memalloc_nofs_save();
	c = mmt_memalloc_noreclaim_save();
	f2 = mmt_local_irq_save();
	d = mmt_memalloc_noio_save();
	mmt_memalloc_noio_restore(d);
	mmt_local_irq_restore(f2);
	mmt_memalloc_noreclaim_restore(c);
	mmt_memalloc_nofs_restore(b);
	mmt_local_irq_restore(f1);
	mmt_memalloc_noreclaim_restore(a);
	MMT_CHECK_CLEAN(m);
	MMT_CHECK_EQ(mmt_current_flags() & MMT_PF_VALID_MASK, 0u);
	t_machine_done();
}

MMT_TEST(bug_noreclaim_restore_clears_ends_the_outer_scope_and_is_caught)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	unsigned int a, b;

	mmt_config_default(&cfg);
	cfg.bugs = 1ull << MMT_BUG_NORECLAIM_RESTORE_CLEARS;
	m = t_machine(&cfg);
	a = mmt_memalloc_noreclaim_save();
	b = mmt_memalloc_noreclaim_save();
	mmt_memalloc_noreclaim_restore(b);
	MMT_CHECK(!(mmt_current_flags() & MMT_PF_MEMALLOC));
	MMT_CHECK_VIOLATED(m, "context-restore");
	mmt_violations_clear(m);
	mmt_memalloc_noreclaim_restore(a);
	t_machine_done();
}
