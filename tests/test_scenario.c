/* SPDX-License-Identifier: MIT */
/*
 * tests/test_scenario.c - the encrypted-swap and network-swap worlds run to
 * completion with the correct configuration, and each bug of theirs is
 * found by its check (the detector explains a stall; nothing times out).
 */
#include "mmt_test.h"

static void opts_for(struct mmt_scenario_opts *o, enum mmt_scenario_kind kind)
{
	mmt_scenario_defaults(o, kind);
	if (t_slab_impl() >= 0)
		o->slab = (enum mmt_slab_impl)t_slab_impl();
}

static void check_completed(const struct mmt_scenario_result *r)
{
	MMT_CHECK_MSG(r->completed && r->violations == 0,
		      "completed %d, %lu violation(s), first %s", r->completed,
		      r->violations, r->first_check);
	MMT_CHECK(r->mapped > 0 && r->written > 0); /* it really swapped */
}

MMT_SLAB_TEST(encrypted_swap_runs_to_completion_without_reclaim_in_the_mempool)
{
	struct mmt_scenario_opts o;
	struct mmt_scenario_result r;

	opts_for(&o, MMT_SCENARIO_ENCRYPTED_SWAP);
	o.mempool_policy = MMT_MEMPOOL_NO_RECLAIM;
	MMT_CHECK(mmt_scenario_run(&o, &r, NULL));
	check_completed(&r);
	MMT_CHECK(r.mempool_from_pool > 0); /* the pools carried the writeout */
	o.mempool_policy = MMT_MEMPOOL_POOL_FIRST;
	MMT_CHECK(mmt_scenario_run(&o, &r, NULL));
	check_completed(&r);
}

MMT_TEST(encrypted_swap_with_the_2016_mempool_is_reported_as_a_stall_not_a_hang)
{
	struct mmt_scenario_opts o;
	struct mmt_scenario_result r;

	opts_for(&o, MMT_SCENARIO_ENCRYPTED_SWAP);
	o.mempool_policy = MMT_MEMPOOL_KERNEL_2016;
	MMT_CHECK(!mmt_scenario_run(&o, &r, NULL));
	MMT_CHECK(!r.completed);
	MMT_CHECK_MSG(!strcmp(r.first_check, "stall") ||
			      !strcmp(r.first_check, "deadlock"),
		      "first finding %s", r.first_check);
	MMT_CHECK(r.real_seconds < 60);
}

MMT_TEST(bug_mempool_retry_reclaim_is_caught_in_the_encrypted_swap_world)
{
	struct mmt_scenario_opts o;
	struct mmt_scenario_result r;

	opts_for(&o, MMT_SCENARIO_ENCRYPTED_SWAP);
	o.bugs = 1ull << MMT_BUG_MEMPOOL_RETRY_RECLAIM;
	MMT_CHECK(!mmt_scenario_run(&o, &r, NULL));
	MMT_CHECK_MSG(!strcmp(r.first_check, "mempool-no-reclaim") ||
			      !strcmp(r.first_check, "stall") ||
			      !strcmp(r.first_check, "deadlock"),
		      "first finding %s", r.first_check);
}

MMT_SLAB_TEST(network_swap_runs_to_completion_with_two_swap_files_on_one_mount)
{
	struct mmt_scenario_opts o;
	struct mmt_scenario_result r;

	opts_for(&o, MMT_SCENARIO_NETWORK_SWAP);
	MMT_CHECK(mmt_scenario_run(&o, &r, NULL));
	check_completed(&r);
	MMT_CHECK(r.reserve_pages > 0);
	/* The send queue held socket memory: the reserve carried some of it. */
	MMT_CHECK_MSG(r.reserve_peak_use > 0 && r.emergency_allocs > 0,
		      "reserve peak %ld, emergency buffers %ld",
		      r.reserve_peak_use, r.emergency_allocs);
}

MMT_TEST(bug_swap_single_bit_memalloc_is_caught_in_the_network_swap_world)
{
	struct mmt_scenario_opts o;
	struct mmt_scenario_result r;

	opts_for(&o, MMT_SCENARIO_NETWORK_SWAP);
	o.bugs = 1ull << MMT_BUG_SWAP_SINGLE_BIT_MEMALLOC;
	MMT_CHECK(!mmt_scenario_run(&o, &r, NULL));
	MMT_CHECK_STR(r.first_check, "swap-memalloc");
}
