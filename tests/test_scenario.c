/* SPDX-License-Identifier: MIT */
/*
 * tests/test_scenario.c - the encrypted-swap and network-swap worlds run to
 * completion with the correct configuration, and each bug of theirs is
 * found by its check (the detector explains a stall; nothing times out).
 */
#include "dsched.h"
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

/* ---- under the deterministic scheduler (opts.engine) ---- */

struct det {
	struct mmt_sched_source *src;
	struct mmt_dsched *ds;
	enum mmt_dsched_result res;
	uint64_t points, switches;
};

static bool det_engine(struct mmt_machine *m, struct mmt_task *task,
		       void (*fn)(void *), void *fn_arg, void *arg)
{
	struct det *d = arg;
	char err[200];

	d->ds = mmt_dsched_run_task(m, d->src, 0, task, fn, fn_arg, 1ull << 26,
				    &d->res, err, sizeof(err));
	MMT_CHECK_MSG(d->ds != NULL, "%s", err);
	d->points = mmt_dsched_points(d->ds);
	d->switches = mmt_dsched_switches(d->ds);
	return d->ds != NULL;
}

static void det_run(struct mmt_scenario_opts *o, struct mmt_sched_source *src,
		    struct mmt_scenario_result *r, struct det *d)
{
	memset(d, 0, sizeof(*d));
	d->src = src;
	o->engine = det_engine;
	o->engine_arg = d;
	mmt_scenario_run(o, r, NULL);
	if (d->ds) {
		mmt_dsched_machine_gone(d->ds);
		mmt_dsched_destroy(d->ds);
	}
}

MMT_TEST(scenarios_under_the_deterministic_scheduler_give_one_run_per_seed)
{
	static const struct {
		enum mmt_scenario_kind kind;
		enum mmt_mempool_policy policy;
		bool completes;
	} cases[] = {
		{ MMT_SCENARIO_ENCRYPTED_SWAP, MMT_MEMPOOL_NO_RECLAIM, true },
		{ MMT_SCENARIO_ENCRYPTED_SWAP, MMT_MEMPOOL_KERNEL_2016, false },
		{ MMT_SCENARIO_NETWORK_SWAP, MMT_MEMPOOL_NO_RECLAIM, true },
	};
	size_t i;
	int k;

	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++) {
		for (k = 0; k < 2; k++) {
			struct mmt_scenario_opts o;
			struct mmt_scenario_result a, b;
			struct det da, db;
			uint64_t seed = 3 + t_rand() % 100;

			opts_for(&o, cases[i].kind);
			o.mempool_policy = cases[i].policy;
			det_run(&o,
				k ? mmt_sched_source_random(seed) :
				    mmt_sched_source_pct(seed, 3, 200000),
				&a, &da);
			det_run(&o,
				k ? mmt_sched_source_random(seed) :
				    mmt_sched_source_pct(seed, 3, 200000),
				&b, &db);
			MMT_CHECK(da.points > 1000 && da.switches > 100);
			MMT_CHECK_EQ(da.points, db.points);
			MMT_CHECK_EQ(da.switches, db.switches);
			MMT_CHECK_EQ(a.jiffies, b.jiffies);
			MMT_CHECK_EQ(a.written, b.written);
			MMT_CHECK_EQ(a.direct_reclaims, b.direct_reclaims);
			MMT_CHECK_EQ(a.throttled, b.throttled);
			MMT_CHECK_EQ(a.mempool_waits, b.mempool_waits);
			MMT_CHECK_EQ(a.violations, b.violations);
			MMT_CHECK_STR(a.first_check, b.first_check);
			if (cases[i].completes) {
				check_completed(&a);
			} else {
				/* seed 001's deadlock, as the detector sees it */
				MMT_CHECK(!a.completed);
				MMT_CHECK_MSG(!strcmp(a.first_check, "stall") ||
						      !strcmp(a.first_check,
							      "deadlock"),
					      "first finding %s",
					      a.first_check);
			}
		}
	}
}
