/* SPDX-License-Identifier: MIT */
/*
 * tests/test_page_alloc.c - the buddy allocator, per-cpu lists, zonelists,
 * migratetypes, API misuse and the injectable bugs of the page layer.
 * White-box where a test must see a lock or a list (internal.h).
 */
#define _GNU_SOURCE
#include <jansson.h>

#include "internal.h"
#include "mmt_test.h"

/*
 * A tight machine of @pages with the watermarks the zone size gives; tests
 * about watermarks use t_tight_machine() with its fixed ones instead.
 */
static struct mmt_machine *small_machine(unsigned long pages, uint64_t bugs)
{
	return t_tight_machine(&(struct t_tight){
		.pages = pages, .bugs = bugs, .computed_watermarks = true });
}

/* Take pages with no watermarks until the zone has exactly @target free. */
static unsigned int fill_to(struct mmt_machine *m, long target,
			    struct mmt_page **held, unsigned int max)
{
	unsigned int n = t_take_pages_until(m, 0, target, held, max);

	MMT_CHECK_EQ(t_zone_free(m, 0), target);
	return n;
}

/* ---- buddy ---- */

MMT_TEST(buddy_split_puts_upper_halves_on_each_lower_order)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_zone_info before, after;
	struct mmt_page *p;
	unsigned int o;

	mmt_zone_info(m, 0, &before);
	MMT_CHECK_EQ(before.nr_free[10], 1);
	p = mmt_alloc_pages(GFP_KERNEL, 4);
	MMT_CHECK(p != NULL);
	mmt_zone_info(m, 0, &after);
	MMT_CHECK_EQ(after.nr_free[10], 0);
	for (o = 4; o < 10; o++)
		MMT_CHECK_EQ(after.nr_free[o], 1);
	MMT_CHECK_EQ(after.free, 1024 - 16);
	MMT_CHECK_EQ(mmt_page_to_pfn(p) % 16, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_free_pages(p, 4);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(buddy_free_merges_back_to_the_initial_blocks)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_zone_info before, after;
	struct mmt_page *pages[200];
	unsigned int orders[200], i, o;
	int z;

	mmt_config_default(&cfg);
	m = t_machine(&cfg);
	mmt_zone_info(m, 1, &before);
	for (i = 0; i < 200; i++) {
		orders[i] = (unsigned int)t_rand_below(6);
		pages[i] = mmt_alloc_pages(GFP_KERNEL, orders[i]);
		MMT_CHECK(pages[i] != NULL);
	}
	MMT_CHECK(mmt_machine_is_valid(m));
	/* Free in a random order: merging must not depend on it. */
	for (i = 200; i > 1; i--) {
		unsigned int j = (unsigned int)t_rand_below(i);
		struct mmt_page *tp = pages[i - 1];
		unsigned int to = orders[i - 1];

		pages[i - 1] = pages[j], orders[i - 1] = orders[j];
		pages[j] = tp, orders[j] = to;
	}
	for (i = 0; i < 200; i++)
		mmt_free_pages(pages[i], orders[i]);
	mmt_drain_all_pages(m);
	mmt_zone_info(m, 1, &after);
	for (o = 0; o < MMT_MAX_ORDER; o++)
		MMT_CHECK_EQ(after.nr_free[o], before.nr_free[o]);
	for (z = 0; z < mmt_nr_zones(m); z++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		MMT_CHECK_EQ(zi.allocated, 0);
		MMT_CHECK_EQ(zi.free, zi.managed);
	}
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/*
 * The per-operation validator looks at a zone only if it was written since
 * the last validation, and then at all of it (a page from a per-cpu list
 * too: a defect there can break the buddy lists); the full one always
 * looks.  The corruptions here are the test's, behind the allocator's
 * back: a free block count the lists do not hold (buddy-consistency), an
 * allocation count the pages do not add up to (zone-conservation).
 */
MMT_TEST(validate_touched_checks_a_zone_written_since_and_only_such)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	_Atomic unsigned long *nr_free;
	_Atomic long *allocated;
	struct mmt_page *p;
	int z;

	mmt_config_default(&cfg); /* per-cpu lists on */
	m = t_machine(&cfg);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p != NULL);
	/* Zone 1, Normal (zone 0 is DMA32), as the zone walk orders them. */
	MMT_CHECK_EQ(mmt_page_zone_type(p), MMT_ZONE_NORMAL);
	z = 1;
	mmt_free_pages(p, 0);
	nr_free = &m->zones[z].free_area[MMT_MAX_ORDER - 1].nr_free;
	allocated = &m->cpus[0].pcp[z].allocated;

	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK(mmt_machine_validate_touched(m));
	(*nr_free)++;
	MMT_CHECK(mmt_machine_validate_touched(m));
	MMT_CHECK_EQ(mmt_violation_count(m), 0);
	MMT_CHECK(!mmt_machine_is_valid(m));
	MMT_CHECK_VIOLATED(m, "buddy-consistency");
	(*nr_free)--;
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_is_valid(m));

	/* A page from the warm per-cpu list (no zone lock): all is looked at. */
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p != NULL);
	(*nr_free)++;
	MMT_CHECK(!mmt_machine_validate_touched(m));
	MMT_CHECK_VIOLATED(m, "buddy-consistency");
	(*nr_free)--;
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_validate_touched(m));
	mmt_free_pages(p, 0);
	(*allocated)++;
	MMT_CHECK(!mmt_machine_validate_touched(m));
	MMT_CHECK_VIOLATED(m, "zone-conservation");
	(*allocated)--;
	mmt_violations_clear(m);
	mmt_drain_all_pages(m);
	MMT_CHECK(mmt_machine_validate_touched(m));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(buddy_validator_catches_a_corrupted_free_list)
{
	struct mmt_machine *m = small_machine(1024, 0);

	MMT_CHECK(mmt_machine_is_valid(m));
	/* Corrupt: a free block claims the wrong order. */
	m->pages[m->zones[0].start_pfn].order = 3;
	MMT_CHECK(!mmt_machine_is_valid(m));
	MMT_CHECK_VIOLATED(m, "buddy-consistency");
	m->pages[m->zones[0].start_pfn].order = 10;
	mmt_violations_clear(m);
}

/* ---- per-cpu lists ---- */

struct lock_log {
	const void *zone_lock, *pcp_lock;
	int zone_acquires, pcp_acquires;
};

static void log_locks(struct mmt_machine *m, int cpu, enum mmt_sched_kind kind,
		      const void *obj, void *arg)
{
	struct lock_log *log = arg;

	(void)m, (void)cpu;
	if (kind != MMT_SP_LOCK_ACQUIRE)
		return;
	if (obj == log->zone_lock)
		log->zone_acquires++;
	if (obj == log->pcp_lock)
		log->pcp_acquires++;
}

MMT_TEST(pcp_refill_takes_zone_lock_once_per_batch)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct lock_log log = { 0 };
	struct mmt_page *p[8];
	int i;

	mmt_config_default(&cfg);
	cfg.dma32_pages = 0;
	cfg.pcp_batch = 4;
	cfg.pcp_high = 64;
	m = t_machine(&cfg);
	log.zone_lock = &m->zones[0].lock;
	log.pcp_lock = &m->cpus[0].pcp[0].lock;
	mmt_machine_set_sched_hook(m, log_locks, &log);
	p[0] = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p[0] != NULL);
	MMT_CHECK_EQ(log.zone_acquires, 1);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_PCP_REFILL), 1);
	MMT_CHECK_EQ(mmt_pcp_count(m, 0, 0), 3);
	/* The next three come from the list without the zone lock. */
	for (i = 1; i < 4; i++)
		p[i] = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK_EQ(log.zone_acquires, 1);
	MMT_CHECK(log.pcp_acquires >= 4);
	p[4] = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK_EQ(log.zone_acquires, 2);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	for (i = 0; i < 5; i++)
		mmt_free_pages(p[i], 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(pcp_free_above_high_drains_a_batch_to_buddy)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *p[40];
	int i;

	mmt_config_default(&cfg);
	cfg.dma32_pages = 0;
	cfg.pcp_batch = 8;
	cfg.pcp_high = 16;
	m = t_machine(&cfg);
	for (i = 0; i < 40; i++)
		p[i] = mmt_alloc_pages(GFP_KERNEL, 0);
	for (i = 0; i < 40; i++) {
		mmt_free_pages(p[i], 0);
		MMT_CHECK(mmt_pcp_count(m, 0, 0) < 16);
	}
	MMT_CHECK(mmt_vm_event(m, MMT_VM_PCP_DRAIN) >= 3);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(fast_try_never_takes_zone_lock_and_fails_fast_on_empty_list)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct lock_log log = { 0 };
	struct mmt_page *p, *q;

	mmt_config_default(&cfg);
	cfg.dma32_pages = 0;
	m = t_machine(&cfg);
	log.zone_lock = &m->zones[0].lock;
	mmt_machine_set_sched_hook(m, log_locks, &log);
	/* Empty per-cpu list: FAST_TRY fails instead of refilling. */
	MMT_CHECK(mmt_alloc_pages(__GFP_FAST_TRY, 0) == NULL);
	MMT_CHECK_EQ(log.zone_acquires, 0);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_FAST_TRY_FAIL), 1);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_SLOWPATH), 0);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_KSWAPD_WAKE), 0);
	/* Fill the list the ordinary way, then FAST_TRY is served from it. */
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(log.zone_acquires == 1);
	q = mmt_alloc_pages(__GFP_FAST_TRY, 0);
	MMT_CHECK(q != NULL);
	MMT_CHECK_EQ(log.zone_acquires, 1);
	mmt_machine_set_sched_hook(m, NULL, NULL);
	mmt_free_pages(p, 0);
	mmt_free_pages(q, 0);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(fast_try_under_raw_spinlock_is_valid_with_rt_rules_while_nowait_is_not)
{
	static MMT_LOCK_CLASS(krcp_class, "krcp->lock", MMT_LOCK_RAW_SPIN);
	struct mmt_config cfg;
	struct mmt_machine *m;
	mmt_raw_spinlock_t krcp;
	struct mmt_page *p, *q, *r;

	mmt_config_default(&cfg);
	cfg.rt_rules = true;
	m = t_machine(&cfg);
	mmt_raw_spin_lock_init(&krcp, &krcp_class);
	/* Seed 002: kvfree_rcu() needs a page while holding krcp->lock. */
	p = mmt_alloc_pages(GFP_KERNEL, 0); /* leaves pages on the pcp list */
	mmt_raw_spin_lock(&krcp);
	q = mmt_alloc_pages(__GFP_FAST_TRY | __GFP_NOWARN, 0);
	mmt_raw_spin_unlock(&krcp);
	MMT_CHECK(q != NULL);
	MMT_CHECK_CLEAN(m);
	/* Empty the list, then GFP_NOWAIT must refill under zone->lock. */
	mmt_drain_local_pages();
	mmt_raw_spin_lock(&krcp);
	r = mmt_alloc_pages(GFP_NOWAIT | __GFP_NOWARN, 0);
	mmt_raw_spin_unlock(&krcp);
	MMT_CHECK_VIOLATED(m, "invalid-wait-context");
	mmt_free_pages(p, 0);
	mmt_free_pages(q, 0);
	mmt_free_pages(r, 0);
}

MMT_TEST(drain_all_pages_empties_every_cpus_lists)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *a, *b;

	mmt_config_default(&cfg);
	cfg.pcp_batch = 8;
	m = t_machine(&cfg);
	int z;

	a = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(mmt_migrate(1));
	b = mmt_alloc_pages(GFP_KERNEL, 0);
	mmt_free_pages(a, 0); /* a remote free lands on cpu 1's list */
	MMT_CHECK(mmt_pcp_count(m, 0, 1) > 0);
	MMT_CHECK(mmt_pcp_count(m, 1, 1) > 0);
	mmt_drain_all_pages(m);
	for (z = 0; z < mmt_nr_zones(m); z++) {
		MMT_CHECK_EQ(mmt_pcp_count(m, 0, z), 0);
		MMT_CHECK_EQ(mmt_pcp_count(m, 1, z), 0);
	}
	mmt_free_pages(b, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(cpu_offline_drains_its_lists_and_refuses_threads)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_task *t = mmt_task_create(m, "other", 0);
	struct mmt_page *p;

	MMT_CHECK(mmt_migrate(1));
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	mmt_free_pages(p, 0);
	MMT_CHECK(mmt_pcp_count(m, 1, 1) > 0);
	MMT_CHECK(mmt_migrate(0));
	MMT_CHECK(mmt_cpu_offline(m, 1));
	MMT_CHECK_EQ(mmt_pcp_count(m, 1, 1), 0);
	MMT_CHECK(!mmt_cpu_is_online(m, 1));
	MMT_CHECK(!mmt_migrate(1));
	MMT_CHECK_VIOLATED(m, "cpu-offline");
	MMT_CHECK_EQ(mmt_smp_processor_id(), 0);
	MMT_CHECK(mmt_cpu_online(m, 1));
	MMT_CHECK(mmt_machine_is_valid(m));
	mmt_task_destroy(t);
}

MMT_TEST(alloc_pages_bulk_fills_the_empty_slots)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_page *arr[32] = { 0 };
	struct mmt_page *keep;
	unsigned int n, i;

	keep = mmt_alloc_pages(GFP_KERNEL, 0);
	arr[5] = keep;
	n = mmt_alloc_pages_bulk(GFP_KERNEL, 32, arr);
	MMT_CHECK_EQ(n, 32);
	MMT_CHECK(arr[5] == keep);
	for (i = 0; i < 32; i++) {
		unsigned int j;

		MMT_CHECK(arr[i] != NULL);
		MMT_CHECK(mmt_page_alloc_order(arr[i]) == 0);
		for (j = 0; j < i; j++)
			MMT_CHECK(arr[i] != arr[j]);
	}
	for (i = 0; i < 32; i++)
		mmt_free_pages(arr[i], 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- GFP semantics ---- */

enum ctx {
	PROC,
	PROC_MEMALLOC,
	SOFTIRQ_MEMALLOC,
	HARDIRQ_MEMALLOC,
	HARDIRQ,
	PROC_OOM_VICTIM
};
static const char *const ctx_names[] = { "process",
					 "process+PF_MEMALLOC",
					 "softirq+PF_MEMALLOC",
					 "hardirq+PF_MEMALLOC",
					 "hardirq",
					 "process+oom-victim" };

struct gfp_case {
	enum ctx ctx;
	const char *gfp;
	long free; /* free pages before the allocation */
	bool ok; /* expected to succeed */
	bool pfmemalloc; /* expected mark */
	const char *violation; /* the one check expected to fire, or none */
};

/* Watermarks of the table: min 64, low 80, high 96 (1024-page zone). */
static const struct gfp_case gfp_cases[] = {
	/* above low: the fast path serves everyone, no mark */
	{ PROC, "GFP_KERNEL", 100, true, false, NULL },
	{ HARDIRQ, "GFP_ATOMIC", 100, true, false, NULL },
	{ PROC, "GFP_NOWAIT", 100, true, false, NULL },
	{ PROC, "__GFP_FAST_TRY", 100, true, false, NULL },
	/* between min and low: the slow path at min */
	{ PROC, "GFP_KERNEL", 70, true, false, NULL },
	{ PROC, "GFP_NOWAIT", 70, true, false, NULL },
	/* below min: ordinary sleepers end in the OOM killer, which finds no
	 * task mapping user pages (the kernel panics); only __GFP_HIGH digs
	 * below min (32), and a non-blocking caller with it another quarter
	 * (24); GFP_NOWAIT gets no margin (v6.4+) */
	{ PROC, "GFP_KERNEL", 60, false, false, "oom-no-victim" },
	{ PROC, "GFP_KERNEL", 30, false, false, "oom-no-victim" },
	{ PROC, "GFP_KERNEL|__GFP_NORETRY", 60, false, false, NULL },
	{ PROC, "GFP_NOFS", 60, false, false, NULL },
	{ PROC, "GFP_NOWAIT", 60, false, false, NULL }, /* no __GFP_HIGH: min */
	{ PROC, "GFP_NOWAIT", 45, false, false, NULL },
	{ PROC, "GFP_ATOMIC", 30, true, false, NULL }, /* high + harder: 24 */
	{ HARDIRQ, "GFP_ATOMIC", 30, true, false, NULL },
	{ HARDIRQ, "GFP_ATOMIC", 20, false, false, NULL },
	{ PROC, "GFP_ATOMIC|__GFP_NOMEMALLOC", 34, true, false,
	  NULL }, /* high only: 32 */
	{ PROC, "GFP_ATOMIC|__GFP_NOMEMALLOC", 28, false, false, NULL },
	{ PROC, "GFP_KERNEL|__GFP_HIGH|__GFP_NORETRY", 40, true, false,
	  NULL }, /* high: 32 */
	{ PROC, "GFP_KERNEL|__GFP_HIGH|__GFP_NORETRY", 30, false, false, NULL },
	/* reserves: PF_MEMALLOC outside interrupts, __GFP_MEMALLOC anywhere */
	{ PROC_MEMALLOC, "GFP_KERNEL", 70, true, false, NULL },
	{ PROC_MEMALLOC, "GFP_KERNEL", 10, true, true, NULL },
	{ PROC_MEMALLOC, "GFP_NOWAIT", 1, true, true, NULL },
	{ PROC_MEMALLOC, "GFP_KERNEL|__GFP_NOMEMALLOC", 10, false, false,
	  NULL },
	{ SOFTIRQ_MEMALLOC, "GFP_ATOMIC", 10, true, true, NULL },
	{ HARDIRQ_MEMALLOC, "GFP_ATOMIC", 10, false, false, NULL },
	{ HARDIRQ, "GFP_ATOMIC|__GFP_MEMALLOC", 10, true, true, NULL },
	{ PROC, "GFP_NOWAIT|__GFP_MEMALLOC", 5, true, true, NULL },
	{ PROC, "GFP_NOWAIT|__GFP_MEMALLOC|__GFP_NOMEMALLOC", 5, false, false,
	  NULL },
	{ PROC, "GFP_KERNEL|__GFP_MEMALLOC", 0, false, false,
	  "oom-no-victim" }, /* nothing left, nobody to kill */
	/* OOM victims: ALLOC_OOM halves min (32) but no pfmemalloc mark */
	{ PROC_OOM_VICTIM, "GFP_KERNEL", 40, true, false, NULL },
	{ PROC_OOM_VICTIM, "GFP_KERNEL", 20, false, false, NULL },
	/* FAST_TRY: min watermark, no reserves */
	{ PROC, "__GFP_FAST_TRY", 70, true, false, NULL },
	{ PROC_MEMALLOC, "__GFP_FAST_TRY", 30, false, false, NULL },
};

static void enter_ctx(enum ctx c)
{
	switch (c) {
	case PROC_MEMALLOC:
		mmt_current_set_flags(MMT_PF_MEMALLOC);
		break;
	case SOFTIRQ_MEMALLOC:
		mmt_current_set_flags(MMT_PF_MEMALLOC);
		mmt_softirq_enter();
		break;
	case HARDIRQ_MEMALLOC:
		mmt_current_set_flags(MMT_PF_MEMALLOC);
		mmt_irq_enter();
		break;
	case HARDIRQ:
		mmt_irq_enter();
		break;
	case PROC_OOM_VICTIM:
		mmt_current_set_oom_victim(true);
		break;
	case PROC:
		break;
	}
}

static void exit_ctx(enum ctx c)
{
	if (c == SOFTIRQ_MEMALLOC)
		mmt_softirq_exit();
	if (c == HARDIRQ || c == HARDIRQ_MEMALLOC)
		mmt_irq_exit();
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	mmt_current_set_oom_victim(false);
}

MMT_TEST(
	gfp_semantics_table_context_mask_and_watermark_decide_outcome_and_pfmemalloc)
{
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(gfp_cases); i++) {
		const struct gfp_case *c = &gfp_cases[i];
		struct mmt_page *held[1024], *fast = NULL, *p;
		struct mmt_machine *m;
		mmt_gfp_t gfp;
		char err[128];
		unsigned int n;

		MMT_CHECK_MSG(mmt_gfp_parse(c->gfp, &gfp, err, sizeof(err)),
			      "%s", err);
		m = t_tight_machine(NULL);
		if (gfp & __GFP_FAST_TRY) {
			/* FAST_TRY needs a page on the per-cpu list to succeed. */
			fast = mmt_alloc_pages(GFP_KERNEL, 0);
			m->cpus[0].pcp[0].high = 4;
		}
		n = fill_to(m, c->free, held, 1024);
		if (fast) {
			mmt_free_pages(fast, 0); /* onto the pcp list */
			MMT_CHECK_EQ(t_zone_free(m, 0), c->free);
		}
		enter_ctx(c->ctx);
		p = mmt_alloc_pages(gfp | __GFP_NOWARN, 0);
		exit_ctx(c->ctx);
		MMT_CHECK_MSG(
			(p != NULL) == c->ok,
			"case %zu: %s in %s with %ld free: expected %s, got %s",
			i, c->gfp, ctx_names[c->ctx], c->free,
			c->ok ? "a page" : "NULL", p ? "a page" : "NULL");
		if (p) {
			MMT_CHECK_MSG(
				mmt_page_is_pfmemalloc(p) == c->pfmemalloc,
				"case %zu: %s in %s with %ld free: pfmemalloc %d, expected %d",
				i, c->gfp, ctx_names[c->ctx], c->free,
				mmt_page_is_pfmemalloc(p), c->pfmemalloc);
			mmt_free_pages(p, 0);
		}
		t_give_pages_back(held, n);
		MMT_CHECK_MSG(mmt_machine_is_valid(m), "case %zu", i);
		if (c->violation) {
			MMT_CHECK_VIOLATED(m, c->violation);
			mmt_violations_clear(m);
		}
		MMT_CHECK_MSG(mmt_violation_count(m) == 0,
			      "case %zu: %s: unexpected violation", i, c->gfp);
		t_machine_done();
	}
}

/*
 * v6.4+ gfp_to_alloc_flags()/__zone_watermark_ok(): a caller that cannot
 * reclaim (ALLOC_NON_BLOCK) goes below min only with __GFP_HIGH
 * (ALLOC_MIN_RESERVE).  GFP_NOWAIT, one page below min + 1, must fail;
 * GFP_ATOMIC (__GFP_HIGH) on the same zone succeeds.
 */
MMT_TEST(gfp_nowait_stops_at_the_min_watermark)
{
	static const char *const masks[] = { "GFP_NOWAIT",
					     "GFP_NOWAIT|__GFP_NOWARN",
					     "__GFP_KSWAPD_RECLAIM",
					     "GFP_NOWAIT|__GFP_NOMEMALLOC" };
	long min = T_TIGHT_MIN;
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(masks); i++) {
		struct mmt_page *held[1024], *p;
		struct mmt_machine *m = t_tight_machine(NULL);
		unsigned int n = fill_to(m, min, held, 1024);
		mmt_gfp_t gfp;
		char err[128];

		MMT_CHECK_MSG(mmt_gfp_parse(masks[i], &gfp, err, sizeof(err)),
			      "%s", err);
		/* free == min: the check wants free > min (+ order - 1). */
		p = mmt_alloc_pages(gfp | __GFP_NOWARN, 0);
		MMT_CHECK_MSG(p == NULL, "%s took a page at the min mark",
			      masks[i]);
		MMT_CHECK_EQ(t_zone_free(m, 0), min);
		/* __GFP_HIGH is what grants the margin. */
		p = mmt_alloc_pages(gfp | __GFP_HIGH | __GFP_NOWARN, 0);
		MMT_CHECK_MSG(p != NULL, "%s|__GFP_HIGH found no page",
			      masks[i]);
		MMT_CHECK(!mmt_page_is_pfmemalloc(p));
		mmt_free_pages(p, 0);
		t_give_pages_back(held, n);
		MMT_CHECK(mmt_machine_is_valid(m));
		MMT_CHECK_CLEAN(m);
		t_machine_done();
	}
}

/* ---- the OOM killer ---- */

/* A task that maps @nr anonymous pages (added while it ran on this CPU). */
static struct mmt_task *task_with_user_pages(struct mmt_machine *m,
					     const char *name, unsigned int nr)
{
	struct mmt_task *self = mmt_current_task(), *t;
	int cpu = mmt_smp_processor_id();
	unsigned int i;

	t = mmt_task_create(m, name, 0);
	MMT_CHECK(t != NULL);
	mmt_cpu_detach();
	MMT_CHECK(mmt_cpu_attach(m, cpu, t));
	for (i = 0; i < nr; i++)
		MMT_CHECK(mmt_lru_add_anon(m));
	mmt_cpu_detach();
	MMT_CHECK(mmt_cpu_attach(m, cpu, self));
	MMT_CHECK_EQ(mmt_task_user_pages(t), nr);
	return t;
}

/* Run @t on this CPU until switch_back(). */
static struct mmt_task *switch_to(struct mmt_machine *m, struct mmt_task *t)
{
	struct mmt_task *self = mmt_current_task();
	int cpu = mmt_smp_processor_id();

	mmt_cpu_detach();
	MMT_CHECK(mmt_cpu_attach(m, cpu, t));
	return self;
}

static void oom_cleanup(struct mmt_machine *m, struct mmt_task **tasks,
			unsigned int nr)
{
	unsigned int i;

	mmt_lru_unmap(m, MMT_LRU_ANON, ~0ul);
	for (i = 0; i < nr; i++)
		mmt_task_destroy(tasks[i]);
	MMT_CHECK(mmt_machine_is_valid(m));
}

/*
 * out_of_memory(): the badness is what a task maps (its rss); the largest
 * task is killed and its memory freed (the OOM reaper), the others keep
 * theirs, and the allocation that ran out is served on its retry.
 */
MMT_TEST(oom_kill_frees_the_largest_task)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page *held[1024], *p;
	struct mmt_task *t[3];
	unsigned int n;

	t[0] = task_with_user_pages(m, "small", 5);
	t[1] = task_with_user_pages(m, "large", 20);
	t[2] = task_with_user_pages(m, "middle", 10);
	n = fill_to(m, T_TIGHT_MIN - 4, held, 1024);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p != NULL);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_OOM_KILL), 1);
	MMT_CHECK(mmt_task_is_oom_victim(t[1]));
	MMT_CHECK_EQ(mmt_task_user_pages(t[1]), 0);
	MMT_CHECK(!mmt_task_is_oom_victim(t[0]) &&
		  !mmt_task_is_oom_victim(t[2]));
	MMT_CHECK_EQ(mmt_task_user_pages(t[0]), 5);
	MMT_CHECK_EQ(mmt_task_user_pages(t[2]), 10);
	MMT_CHECK_EQ(mmt_lru_pages(m, -1, MMT_LRU_ANON), 15);
	/* The allocating task was not the victim: no reserve access. */
	MMT_CHECK(!mmt_current_is_oom_victim());
	/* 20 pages came back, one went to the caller. */
	MMT_CHECK_EQ(t_zone_free(m, 0), T_TIGHT_MIN - 4 + 20 - 1);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, n);
	oom_cleanup(m, t, 3);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
}

/*
 * mark_oom_victim() grants ALLOC_OOM (half the min watermark) to the
 * victim until exit_oom_victim(): once the killed task exits (returns to
 * user space) it has no reserve access left, and what it mapped since the
 * kill is freed with its mm.
 */
MMT_TEST(oom_victim_loses_reserve_access_at_exit)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page *held[1024], *p, *q;
	struct mmt_task *v = task_with_user_pages(m, "victim", 20), *self;
	unsigned int n;

	n = fill_to(m, T_TIGHT_MIN - 4, held, 1024);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p != NULL && mmt_task_is_oom_victim(v));
	t_give_pages_back(held, n);
	self = switch_to(m, v);
	/* The dying task maps a page before it gets to exit. */
	MMT_CHECK(mmt_lru_add_anon(m));
	MMT_CHECK_EQ(mmt_task_user_pages(v), 1);
	/* Between min/2 and min: only ALLOC_OOM gets a page (NORETRY: the
	 * reserve step, never the OOM killer again). */
	n = fill_to(m, T_TIGHT_MIN / 2 + 8, held, 1024);
	q = mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0);
	MMT_CHECK(q != NULL);
	MMT_CHECK(!mmt_page_is_pfmemalloc(q));
	mmt_free_pages(q, 0);
	/* exit: the access and the pages go */
	MMT_CHECK(mmt_oom_exit_current());
	MMT_CHECK(!mmt_task_is_oom_victim(v));
	MMT_CHECK_EQ(mmt_task_user_pages(v), 0);
	MMT_CHECK(!mmt_oom_exit_current());
	t_give_pages_back(held, n);
	n = fill_to(m, T_TIGHT_MIN / 2 + 8, held, 1024);
	q = mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0);
	MMT_CHECK_MSG(q == NULL, "an exited victim still dug below min");
	switch_to(m, self);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, n);
	oom_cleanup(m, &v, 1);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
}

/*
 * out_of_memory() with no task to kill - none maps user pages, or the
 * only one was already killed and reaped (MMF_OOM_SKIP) - prints "Out of
 * memory and no killable processes" and panics: the model reports it and
 * the allocation fails.
 */
MMT_TEST(oom_with_no_victim_is_reported)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page *held[1024], *p;
	struct mmt_task *v;
	unsigned int n;

	/* Nobody maps anything. */
	n = fill_to(m, T_TIGHT_MIN - 4, held, 1024);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p == NULL);
	MMT_CHECK_VIOLATED(m, "oom-no-victim");
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_OOM_KILL), 0);
	mmt_violations_clear(m);
	/* A request that may not OOM (NORETRY) fails quietly. */
	p = mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0);
	MMT_CHECK(p == NULL);
	MMT_CHECK_CLEAN(m);
	t_give_pages_back(held, n);

	/* One victim, killed once; the next OOM has nobody left. */
	v = task_with_user_pages(m, "victim", 8);
	n = fill_to(m, T_TIGHT_MIN - 4, held, 1024);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p != NULL && mmt_task_is_oom_victim(v));
	MMT_CHECK_CLEAN(m);
	t_give_pages_back(held, n);
	n = fill_to(m, T_TIGHT_MIN - 4, held, 1024);
	MMT_CHECK(mmt_alloc_pages(GFP_KERNEL, 0) == NULL);
	MMT_CHECK_VIOLATED(m, "oom-no-victim");
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_OOM_KILL), 1);
	mmt_violations_clear(m);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, n);
	oom_cleanup(m, &v, 1);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
}

MMT_TEST(gfp_zero_returns_zeroed_pages)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 2);
	unsigned char *a;
	size_t i;

	memset(mmt_page_address(p), 0x5c, 4 * MMT_PAGE_SIZE);
	mmt_free_pages(p, 2);
	p = mmt_alloc_pages(GFP_KERNEL | __GFP_ZERO, 2);
	a = mmt_page_address(p);
	for (i = 0; i < 4 * MMT_PAGE_SIZE; i++)
		MMT_CHECK_MSG(a[i] == 0, "byte %zu is 0x%02x", i, a[i]);
	mmt_free_pages(p, 2);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(gfp_comp_marks_head_and_tails_and_a_tail_cannot_be_freed)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL | __GFP_COMP, 3);
	unsigned long pfn = mmt_page_to_pfn(p);
	int i;

	MMT_CHECK(mmt_page_flags(p) & MMT_PG_HEAD);
	for (i = 1; i < 8; i++)
		MMT_CHECK(mmt_page_flags(mmt_pfn_to_page(m, pfn + i)) &
			  MMT_PG_TAIL);
	mmt_free_pages(mmt_pfn_to_page(m, pfn + 3), 0);
	MMT_CHECK_VIOLATED(m, "bad-page");
	mmt_violations_clear(m);
	mmt_free_pages(p, 3);
	MMT_CHECK(!(mmt_page_flags(mmt_pfn_to_page(m, pfn + 1)) & MMT_PG_TAIL));
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(nofail_that_cannot_be_served_is_reported_not_hung)
{
	struct mmt_machine *m = small_machine(64, 0);
	struct mmt_page *held[64], *p;
	unsigned int n = fill_to(m, 0, held, 64);

	p = mmt_alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0);
	MMT_CHECK(p == NULL);
	MMT_CHECK_VIOLATED(m, "nofail-failed");
	MMT_CHECK(mmt_vm_event(m, MMT_VM_NOFAIL_RETRY) > 0);
	t_give_pages_back(held, n);
	mmt_violations_clear(m);
	/* With memory back, NOFAIL succeeds and nothing is reported. */
	p = mmt_alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0);
	MMT_CHECK(p != NULL);
	mmt_free_pages(p, 0);
	MMT_CHECK_CLEAN(m);
}

static unsigned long reclaim_calls;
static mmt_gfp_t reclaim_gfp;
static unsigned int reclaim_pflags;
static struct mmt_page **reclaim_pool;
static unsigned int reclaim_pool_n;

static unsigned long test_reclaim(struct mmt_machine *m, mmt_gfp_t gfp,
				  unsigned int order, void *arg)
{
	unsigned long freed = 0;

	(void)m, (void)order, (void)arg;
	reclaim_calls++;
	reclaim_gfp = gfp;
	reclaim_pflags = mmt_current_flags();
	while (reclaim_pool_n && freed < 32) {
		mmt_free_pages(reclaim_pool[--reclaim_pool_n], 0);
		freed++;
	}
	return freed;
}

MMT_TEST(direct_reclaim_runs_with_pf_memalloc_in_the_callers_scope)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page_hooks hooks = { .direct_reclaim = test_reclaim };
	struct mmt_page *held[1024], *p;
	unsigned int n, saved;

	mmt_machine_set_hooks(m, &hooks);
	n = fill_to(m, 40, held, 1024);
	reclaim_pool = held;
	reclaim_pool_n = n;
	saved = mmt_memalloc_noio_save();
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	mmt_memalloc_noio_restore(saved);
	MMT_CHECK(p != NULL);
	MMT_CHECK(!mmt_page_is_pfmemalloc(p));
	MMT_CHECK(reclaim_calls >= 1);
	MMT_CHECK(reclaim_pflags & MMT_PF_MEMALLOC);
	MMT_CHECK(!(reclaim_gfp & (__GFP_IO | __GFP_FS))); /* NOIO scope */
	MMT_CHECK(!(mmt_current_flags() & MMT_PF_MEMALLOC));
	MMT_CHECK(mmt_vm_event(m, MMT_VM_ALLOCSTALL) >= 1);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, reclaim_pool_n);
	MMT_CHECK_CLEAN(m);
}

static int kswapd_wakes;

static void count_kswapd(struct mmt_machine *m, int nid, mmt_gfp_t gfp,
			 unsigned int order, void *arg)
{
	(void)m, (void)nid, (void)gfp, (void)order, (void)arg;
	kswapd_wakes++;
}

MMT_TEST(kswapd_is_woken_below_low_unless_the_mask_forbids_it)
{
	struct mmt_machine *m = t_tight_machine(NULL);
	struct mmt_page_hooks hooks = { .wake_kswapd = count_kswapd };
	struct mmt_page *held[1024], *p;
	unsigned int n;

	mmt_machine_set_hooks(m, &hooks);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK_EQ(kswapd_wakes, 0);
	mmt_free_pages(p, 0);
	n = fill_to(m, 70, held, 1024);
	p = mmt_alloc_pages(GFP_NOWAIT, 0);
	MMT_CHECK_EQ(kswapd_wakes, 1);
	mmt_free_pages(p, 0);
	p = mmt_alloc_pages(__GFP_DIRECT_RECLAIM | __GFP_IO | __GFP_FS,
			    0); /* no kswapd bit */
	MMT_CHECK_EQ(kswapd_wakes, 1);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, n);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(blocking_allocation_in_atomic_context_is_reported)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page *p;

	mmt_preempt_disable();
	p = mmt_alloc_pages(GFP_ATOMIC, 0);
	MMT_CHECK_CLEAN(m);
	mmt_free_pages(p, 0);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	mmt_preempt_enable();
	MMT_CHECK_VIOLATED(m, "sleep-in-atomic");
	mmt_free_pages(p, 0);
}

/* ---- zonelists ---- */

MMT_TEST(zonelist_falls_back_to_dma32_then_other_nodes_and_thisnode_does_not)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *held[64], *p;
	unsigned int n = 0;

	mmt_config_default(&cfg);
	cfg.nr_nodes = 2;
	cfg.nr_cpus = 2;
	cfg.dma32_pages = 256;
	cfg.normal_pages = 256;
	m = t_machine(&cfg);
	MMT_CHECK_EQ(mmt_numa_node_id(), 0);
	/* Exhaust node 0 Normal with big blocks. */
	while ((p = mmt_alloc_pages(GFP_KERNEL | __GFP_THISNODE | __GFP_NORETRY,
				    4)) &&
	       mmt_page_zone_type(p) == MMT_ZONE_NORMAL &&
	       mmt_page_to_nid(p) == 0)
		held[n++] = p;
	MMT_CHECK(p == NULL || mmt_page_to_nid(p) == 0);
	if (p)
		held[n++] = p;
	/* Now an ordinary allocation comes from DMA32 of node 0 or node 1. */
	while ((p = mmt_alloc_pages(GFP_KERNEL | __GFP_THISNODE | __GFP_NORETRY,
				    4)))
		held[n++] = p;
	MMT_CHECK(n >= 16);
	p = mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 4);
	MMT_CHECK(p != NULL);
	MMT_CHECK_EQ(mmt_page_to_nid(p), 1);
	held[n++] = p;
	/* __GFP_DMA32 only ever gets DMA32. */
	p = mmt_alloc_pages(GFP_KERNEL | __GFP_DMA32, 0);
	MMT_CHECK(p != NULL);
	MMT_CHECK_EQ(mmt_page_zone_type(p), MMT_ZONE_DMA32);
	mmt_free_pages(p, 0);
	while (n)
		mmt_free_pages(held[--n], 4);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(lowmem_reserve_keeps_normal_requests_out_of_dma32)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_zone_info dma;
	struct mmt_page **held;
	unsigned int n = 0, from_dma = 0;

	mmt_config_default(&cfg);
	cfg.dma32_pages = 512;
	cfg.normal_pages = 2048;
	cfg.lowmem_reserve_ratio = 8; /* 2048 / 8 = 256 pages protected */
	m = t_machine(&cfg);
	mmt_zone_info(m, 0, &dma);
	MMT_CHECK_EQ(dma.lowmem_reserve[MMT_ZONE_NORMAL], 256);
	held = calloc(4096, sizeof(*held));
	/* Ordinary requests until nothing is left for them. */
	for (;;) {
		struct mmt_page *p =
			mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0);

		if (!p)
			break;
		MMT_CHECK(n < 4096);
		from_dma += mmt_page_zone_type(p) == MMT_ZONE_DMA32;
		held[n++] = p;
	}
	MMT_CHECK(from_dma > 0); /* they did fall back to DMA32 ... */
	mmt_zone_info(m, 0, &dma);
	MMT_CHECK_MSG(dma.free > dma.wmark_min + 256 -
					 8, /* ... but not into its reserve */
		      "DMA32 free %lu should stay above min %lu + reserve 256",
		      dma.free, dma.wmark_min);
	/* A DMA32 request may still use it. */
	held[n] = mmt_alloc_pages(GFP_KERNEL | __GFP_DMA32, 0);
	MMT_CHECK(held[n] != NULL);
	n++;
	while (n)
		mmt_free_pages(held[--n], 0);
	free(held);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- migratetypes ---- */

MMT_TEST(unmovable_request_steals_a_movable_pageblock)
{
	struct mmt_machine *m = small_machine(2048, 0);
	struct mmt_zone *z = &m->zones[0];
	struct mmt_page *p;
	unsigned long pfn;

	p = mmt_alloc_pages(GFP_KERNEL,
			    0); /* unmovable; zone starts all movable */
	pfn = mmt_page_to_pfn(p);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_STEAL), 1);
	MMT_CHECK_EQ(
		z->pageblock_mt[(pfn - z->start_pfn) >> MMT_PAGEBLOCK_ORDER],
		MMT_MIGRATE_UNMOVABLE);
	mmt_free_pages(p, 0);
	p = mmt_alloc_pages(GFP_KERNEL, 0); /* served from the claimed block */
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_STEAL), 1);
	mmt_free_pages(p, 0);
	p = mmt_alloc_pages(GFP_HIGHUSER_MOVABLE, 0);
	MMT_CHECK_EQ(mmt_vm_event(m, MMT_VM_STEAL), 1);
	mmt_free_pages(p, 0);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/*
 * Highatomic reserves (v6.8 sizes, v6.12 watermark).  Every allocation of
 * these tests goes to the slow path, where a non-blocking high-order
 * request may reserve its pageblock: the low mark is above the whole zone,
 * and min is @min.
 */
static void slow_path_only(struct mmt_machine *m, unsigned long min)
{
	struct mmt_zone_info zi;

	mmt_zone_info(m, 0, &zi);
	mmt_zone_set_watermarks(m, 0, min, zi.managed + 1, zi.managed + 1);
}

static int pageblock_type(struct mmt_machine *m, struct mmt_page *p)
{
	struct mmt_zone *z = &m->zones[0];

	return z->pageblock_mt[(mmt_page_to_pfn(p) - z->start_pfn) >>
			       MMT_PAGEBLOCK_ORDER];
}

MMT_TEST(high_order_atomic_allocation_reserves_a_highatomic_pageblock)
{
	/* 100 pageblocks: the smallest zone whose 1% is a pageblock. */
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .pages = 51200 });
	struct mmt_zone_info zi;
	struct mmt_page *p, *q;

	slow_path_only(m, 1000);
	p = mmt_alloc_pages(GFP_ATOMIC, 2);
	MMT_CHECK(p != NULL);
	mmt_zone_info(m, 0, &zi);
	MMT_CHECK_EQ(zi.nr_reserved_highatomic, 1ul << MMT_PAGEBLOCK_ORDER);
	MMT_CHECK_EQ(pageblock_type(m, p), MMT_MIGRATE_HIGHATOMIC);
	/* The block's other pages went to the highatomic lists. */
	MMT_CHECK(zi.nr_free_highatomic > 0 &&
		  zi.nr_free_highatomic < 1ul << MMT_PAGEBLOCK_ORDER);
	/* Ordinary callers do not count them as free ... */
	slow_path_only(m, zi.free - zi.nr_free_highatomic);
	MMT_CHECK(mmt_alloc_pages(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN,
				  0) == NULL);
	/* ... until reclaim fails and the reserve is given back. */
	q = mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY, 0);
	MMT_CHECK(q != NULL);
	mmt_zone_info(m, 0, &zi);
	MMT_CHECK_EQ(zi.nr_reserved_highatomic, 0);
	MMT_CHECK_EQ(zi.nr_free_highatomic, 0);
	MMT_CHECK(pageblock_type(m, p) != MMT_MIGRATE_HIGHATOMIC);
	mmt_free_pages(q, 0);
	mmt_free_pages(p, 2);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(ordinary_callers_lose_only_the_free_highatomic_pages)
{
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .pages = 51200 });
	struct mmt_page *held[200];
	struct mmt_zone_info zi;
	unsigned int n = 0;
	struct mmt_page *p;

	slow_path_only(m, 1000);
	/*
	 * Reserve a pageblock, then hand most of it out to more atomic
	 * high-order requests (above the per-cpu orders they take the
	 * highatomic lists first): the reservation stays 512 pages, the free
	 * part shrinks.
	 */
	held[n++] = mmt_alloc_pages(GFP_ATOMIC, 4);
	MMT_CHECK(held[0] != NULL);
	for (;;) {
		mmt_zone_info(m, 0, &zi);
		if (zi.nr_free_highatomic <= 64)
			break;
		MMT_CHECK(n < 200);
		held[n] = mmt_alloc_pages(GFP_ATOMIC, 4);
		MMT_CHECK(held[n] != NULL);
		MMT_CHECK_EQ(pageblock_type(m, held[n]),
			     MMT_MIGRATE_HIGHATOMIC);
		n++;
	}
	MMT_CHECK_EQ(zi.nr_reserved_highatomic, 1ul << MMT_PAGEBLOCK_ORDER);
	MMT_CHECK(zi.nr_free_highatomic > 0);
	/*
	 * An ordinary caller needs free - nr_free_highatomic above min: with
	 * min one below that it succeeds (before v6.12 the whole 512-page
	 * reservation was withheld and it failed) ...
	 */
	slow_path_only(m, zi.free - zi.nr_free_highatomic - 1);
	p = mmt_alloc_pages(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN, 0);
	MMT_CHECK_MSG(p != NULL,
		      "free %lu, free highatomic %lu, reserved %lu: refused",
		      zi.free, zi.nr_free_highatomic,
		      zi.nr_reserved_highatomic);
	mmt_free_pages(p, 0);
	/* ... and the free highatomic pages are still not its own. */
	mmt_zone_info(m, 0, &zi);
	slow_path_only(m, zi.free - zi.nr_free_highatomic);
	MMT_CHECK(mmt_alloc_pages(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN,
				  0) == NULL);
	/* An atomic caller (ALLOC_HARDER) counts them. */
	p = mmt_alloc_pages(GFP_ATOMIC | __GFP_NOWARN, 0);
	MMT_CHECK(p != NULL);
	mmt_free_pages(p, 0);
	while (n)
		mmt_free_pages(held[--n], 4);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(
	a_zone_whose_one_percent_is_less_than_a_pageblock_reserves_no_highatomic_block)
{
	/* 51199 pages: 1% is 511; 256 pages: a fuzzed machine's Normal. */
	static const unsigned long sizes[] = { 51199, 2048, 256 };
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mmt_machine *m =
			t_tight_machine(&(struct t_tight){ .pages = sizes[i] });
		struct mmt_zone_info zi;
		struct mmt_page *p;

		slow_path_only(m, 64);
		p = mmt_alloc_pages(GFP_ATOMIC, 2);
		MMT_CHECK(p != NULL);
		mmt_zone_info(m, 0, &zi);
		MMT_CHECK_MSG(zi.nr_reserved_highatomic == 0 &&
				      zi.nr_free_highatomic == 0,
			      "zone of %lu pages: %lu reserved, %lu free",
			      sizes[i], zi.nr_reserved_highatomic,
			      zi.nr_free_highatomic);
		MMT_CHECK(pageblock_type(m, p) != MMT_MIGRATE_HIGHATOMIC);
		mmt_free_pages(p, 2);
		MMT_CHECK(mmt_machine_is_valid(m));
		MMT_CHECK_CLEAN(m);
	}
}

MMT_TEST(
	highatomic_reserve_is_at_most_one_percent_of_the_zone_in_whole_pageblocks)
{
	/* 1% of 65536 is 655 pages: two pageblocks at most. */
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .pages = 65536 });
	struct mmt_zone *z = &m->zones[0];
	static struct mmt_page *held[600];
	struct mmt_zone_info zi;
	unsigned long b, blocks = 0;
	unsigned int n;

	slow_path_only(m, 1000);
	/* 2400 pages of atomic order-2 requests: more than two blocks. */
	for (n = 0; n < 600; n++) {
		held[n] = mmt_alloc_pages(GFP_ATOMIC, 2);
		MMT_CHECK(held[n] != NULL);
		mmt_zone_info(m, 0, &zi);
		MMT_CHECK(zi.nr_reserved_highatomic <=
			  2ul << MMT_PAGEBLOCK_ORDER);
	}
	MMT_CHECK_EQ(zi.nr_reserved_highatomic, 2ul << MMT_PAGEBLOCK_ORDER);
	for (b = 0; b < z->managed >> MMT_PAGEBLOCK_ORDER; b++)
		blocks += z->pageblock_mt[b] == MMT_MIGRATE_HIGHATOMIC;
	MMT_CHECK_EQ(blocks, 2);
	while (n)
		mmt_free_pages(held[--n], 2);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

/* ---- API misuse ---- */

MMT_TEST(freeing_a_free_page_is_reported_as_double_free_and_changes_nothing)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0), *q;

	mmt_free_pages(p, 0);
	mmt_free_pages(p, 0); /* on the pcp list */
	MMT_CHECK_VIOLATED(m, "double-free");
	mmt_violations_clear(m);
	q = mmt_alloc_pages(GFP_KERNEL, 5);
	mmt_free_pages(q, 5);
	mmt_free_pages(q, 5); /* in the buddy lists */
	MMT_CHECK_VIOLATED(m, "double-free");
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_is_valid(m));
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(freeing_with_the_wrong_order_is_reported_and_frees_the_real_block)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 2);

	mmt_free_pages(p, 0);
	MMT_CHECK_VIOLATED(m, "free-wrong-order");
	MMT_CHECK_EQ(mmt_violation_count(m), 1);
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_is_valid(m)); /* conservation still holds */
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(bad_order_unknown_gfp_bits_and_foreign_pointers_are_reported)
{
	struct mmt_machine *m = small_machine(1024, 0);
	struct mmt_page fake;
	struct mmt_page *p;
	char buf[16];

	MMT_CHECK(mmt_alloc_pages(GFP_KERNEL, 11) == NULL);
	MMT_CHECK_VIOLATED(m, "bad-order");
	p = mmt_alloc_pages(GFP_KERNEL | (1u << 30), 0);
	MMT_CHECK(p != NULL); /* the known bits are honoured */
	MMT_CHECK_VIOLATED(m, "gfp-unknown-bit");
	mmt_free_pages(p, 0);
	memset(&fake, 0, sizeof(fake));
	mmt_free_pages(&fake, 0);
	MMT_CHECK_VIOLATED(m, "bad-page");
	mmt_free_pages_addr(buf, 0);
	MMT_CHECK(mmt_alloc_pages_node(7, GFP_KERNEL, 0) == NULL);
	MMT_CHECK_VIOLATED(m, "bad-node");
	mmt_violations_clear(m);
	MMT_CHECK(mmt_machine_is_valid(m));
}

MMT_TEST(page_poison_catches_a_write_to_a_free_page)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *p;
	unsigned char *a;

	mmt_config_default(&cfg);
	cfg.page_poison = true;
	cfg.dma32_pages = 0;
	cfg.normal_pages = 128;
	m = t_machine(&cfg);
	p = mmt_alloc_pages(GFP_KERNEL, 5);
	MMT_CHECK(p != NULL);
	a = mmt_page_address(p);
	mmt_free_pages(p, 5);
	p = mmt_alloc_pages(GFP_KERNEL, 5); /* same block, poison intact */
	MMT_CHECK(mmt_page_address(p) == a);
	MMT_CHECK_CLEAN(m);
	mmt_free_pages(p, 5);
	a[3 * MMT_PAGE_SIZE + 100] = 1; /* use after free */
	p = mmt_alloc_pages(GFP_KERNEL, 5);
	MMT_CHECK_VIOLATED(m, "page-poison");
	mmt_violations_clear(m);
	mmt_free_pages(p, 5);
}

/* ---- injectable bugs: caught when on, silent when off ---- */

static bool run_fast_try_scenario(uint64_t bugs)
{
	struct mmt_machine *m = small_machine(1024, bugs);
	struct mmt_page *p = mmt_alloc_pages(__GFP_FAST_TRY | __GFP_NOWARN, 0);
	bool v = mmt_violated(m, "fast-try-zone-lock");

	mmt_free_pages(p, 0);
	t_machine_done();
	return v;
}

MMT_TEST(bug_fast_try_bulk_refill_is_caught_when_on_and_silent_when_off)
{
	MMT_CHECK(!run_fast_try_scenario(0));
	MMT_CHECK(run_fast_try_scenario(1ull << MMT_BUG_FAST_TRY_BULK_REFILL));
}

static bool run_pfmemalloc_scenario(uint64_t bugs)
{
	struct mmt_machine *m =
		t_tight_machine(&(struct t_tight){ .bugs = bugs });
	struct mmt_page *held[1024], *p;
	unsigned int n;
	bool v;

	n = fill_to(m, 10, held, 1024);
	mmt_current_set_flags(MMT_PF_MEMALLOC);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	mmt_current_clear_flags(MMT_PF_MEMALLOC);
	MMT_CHECK(p != NULL);
	/*
	 * The fact only: the interpreter's caller-side oracle reports it
	 * (trace/ref_rules.h; test_trace_exec.c runs the bug program).
	 */
	v = p && !mmt_page_is_pfmemalloc(p);
	mmt_free_pages(p, 0);
	t_give_pages_back(held, n);
	t_machine_done();
	return v;
}

MMT_TEST(bug_pfmemalloc_unmarked_leaves_a_reserve_page_unmarked_only_when_on)
{
	MMT_CHECK(!run_pfmemalloc_scenario(0));
	MMT_CHECK(run_pfmemalloc_scenario(1ull << MMT_BUG_PFMEMALLOC_UNMARKED));
}

static bool run_pcp_drift_scenario(uint64_t bugs)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *p[32];
	bool valid;
	int i;

	mmt_config_default(&cfg);
	cfg.pcp_batch = 4;
	cfg.pcp_high = 8;
	cfg.bugs = bugs;
	m = t_machine(&cfg);
	for (i = 0; i < 32; i++)
		p[i] = mmt_alloc_pages(GFP_KERNEL, 1);
	for (i = 0; i < 32; i++)
		mmt_free_pages(p[i], 1);
	valid = mmt_machine_is_valid(m);
	MMT_CHECK(valid == !mmt_violated(m, "pcp-count"));
	t_machine_done();
	return !valid;
}

MMT_TEST(bug_pcp_count_drift_is_caught_when_on_and_silent_when_off)
{
	MMT_CHECK(!run_pcp_drift_scenario(0));
	MMT_CHECK(run_pcp_drift_scenario(1ull << MMT_BUG_PCP_COUNT_DRIFT));
}

MMT_TEST(bug_registry_parses_ids_and_names_unknown_ones)
{
	uint64_t mask;
	char err[128], buf[256];
	size_t n, i;
	const struct mmt_bug_info *b = mmt_bugs(&n);

	MMT_CHECK(mmt_bugs_parse("fast-try-bulk-refill, pcp-count-drift", &mask,
				 err, sizeof(err)));
	MMT_CHECK_EQ(mask, (1ull << MMT_BUG_FAST_TRY_BULK_REFILL) |
				   (1ull << MMT_BUG_PCP_COUNT_DRIFT));
	mmt_bugs_format(mask, buf, sizeof(buf));
	MMT_CHECK_STR(buf, "fast-try-bulk-refill,pcp-count-drift");
	MMT_CHECK(!mmt_bugs_parse("pcp-count-drift,no-such-bug", &mask, err,
				  sizeof(err)));
	MMT_CHECK(strstr(err, "no-such-bug") != NULL);
	for (i = 0; i < n; i++) {
		MMT_CHECK(mmt_check_find(b[i].caught_by) != NULL);
		MMT_CHECK(b[i].seed && b[i].desc && b[i].layer);
	}
}

/* ---- threads ---- */

/* One seed per cpu, drawn by the test thread: a run stays reproducible. */
static void churn(int cpu, void *arg)
{
	const uint64_t *seed = arg;
	struct mmt_page *held[64] = { 0 };
	uint64_t s = seed[cpu];
	int i;

	for (i = 0; i < 20000; i++) {
		unsigned int slot;

		s += 0x9e3779b97f4a7c15ull;
		slot = (unsigned int)((s >> 20) % 64);
		if (held[slot]) {
			mmt_free_pages(held[slot],
				       mmt_page_alloc_order(held[slot]));
			held[slot] = NULL;
		} else {
			held[slot] =
				mmt_alloc_pages(GFP_KERNEL | __GFP_NORETRY,
						(unsigned int)((s >> 40) % 4));
		}
	}
	for (i = 0; i < 64; i++)
		if (held[i])
			mmt_free_pages(held[i], mmt_page_alloc_order(held[i]));
}

MMT_TEST(threads_on_two_cpus_allocate_and_free_concurrently_and_conserve_pages)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	uint64_t seed[2];
	int i;

	mmt_config_default(&cfg);
	cfg.page_poison = false;
	m = t_machine(&cfg);
	for (i = 0; i < 2; i++)
		seed[i] = t_rand();
	t_run_on_cpus(2, churn, seed);
	mmt_drain_all_pages(m);
	MMT_CHECK(mmt_machine_is_valid(m));
	for (i = 0; i < mmt_nr_zones(m); i++) {
		struct mmt_zone_info zi;

		mmt_zone_info(m, i, &zi);
		MMT_CHECK_EQ(zi.free, zi.managed);
	}
	MMT_CHECK_CLEAN(m);
}

/* ---- counters ---- */

MMT_TEST(vmstat_json_is_valid_json_with_events_and_zones)
{
	struct mmt_machine *m = t_machine(NULL);
	struct mmt_page *p = mmt_alloc_pages(GFP_KERNEL, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_error_t jerr;
	json_t *root;
	int z;

	mmt_vmstat_json(m, f);
	fclose(f);
	root = json_loads(buf, 0, &jerr);
	MMT_CHECK_MSG(root != NULL, "%s at line %d", jerr.text, jerr.line);
	MMT_CHECK_EQ(json_integer_value(json_object_get(
			     json_object_get(root, "events"), "pgalloc")),
		     1);
	MMT_CHECK_EQ(json_array_size(json_object_get(root, "zones")),
		     mmt_nr_zones(m));
	for (z = 0; z < mmt_nr_zones(m); z++) {
		json_t *jz = json_array_get(json_object_get(root, "zones"),
					    (size_t)z);
		struct mmt_zone_info zi;

		mmt_zone_info(m, z, &zi);
		MMT_CHECK_EQ(json_integer_value(json_object_get(jz, "managed")),
			     zi.managed);
		MMT_CHECK_EQ(json_array_size(json_object_get(jz, "nr_free")),
			     MMT_MAX_ORDER);
	}
	json_decref(root);
	free(buf);
	mmt_free_pages(p, 0);
}
