// SPDX-License-Identifier: MIT
/*
 * tests/test_trace_concurrent.c - the concurrent interpreter: programs
 * with a schedule other than seq, or kernel threads, run as fibers under
 * the deterministic scheduler.  The same program and seed give the same
 * schedule and result; the recorded decisions, printed and parsed back,
 * replay the identical interleaving; kernel threads start and stop
 * cleanly; a sequential program runs as it always did.
 */
#include "mmt_test.h"
#include "mmt/exec.h"
#include "mmt/trace.h"

static void parse(const char *text, struct mmt_program *p)
{
	char err[512];

	MMT_CHECK_MSG(mmt_trace_parse(text, strlen(text), "t.trace", p, err,
				      sizeof(err)),
		      "%s", err);
}

static enum mmt_exec_result run_text(const char *text, struct mmt_finding *f)
{
	struct mmt_program p;
	enum mmt_exec_result r;

	parse(text, &p);
	memset(f, 0, sizeof(*f));
	r = mmt_trace_execute(&p, NULL, f);
	mmt_program_free(&p);
	return r;
}

/* Two CPUs on one cache: allocations, remote frees, cache destroy. */
static const char slab_mt[] = "c0 = kmem_cache_create size=256 ACCOUNT\n"
			      "g0 = cgroup_create\n"
			      "cgroup_enter g0\n"
			      "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "co1 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "co2 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "cpu 1\n"
			      "co3 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "kmem_cache_free co0\n"
			      "kmem_cache_free co1\n"
			      "co4 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "kmem_cache_free co3\n"
			      "cpu 0\n"
			      "cgroup_offline g0\n"
			      "kmem_cache_free co2\n"
			      "co5 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "kmem_cache_free co5\n"
			      "cpu 1\n"
			      "kmem_cache_free co4\n"
			      "kmem_cache_destroy c0\n";

static void slab_mt_text(char *buf, size_t len, const char *sched)
{
	snprintf(buf, len,
		 "mmtorture-trace 1\n"
		 "machine cpus=2 slab=slub oracles=1 %s\n%s",
		 sched, slab_mt);
}

MMT_TEST(concurrent_slab_program_gives_same_decisions_and_result_per_seed)
{
	static const char *const scheds[] = { "sched=pct sched_seed=%u",
					      "sched=random sched_seed=%u",
					      "sched=rr" };
	unsigned int i, seed;

	for (i = 0; i < MMT_ARRAY_SIZE(scheds); i++) {
		for (seed = 1; seed <= 6; seed++) {
			char s[64], text[2048];
			struct mmt_finding a, b;
			enum mmt_exec_result ra, rb;

			snprintf(s, sizeof(s), scheds[i], seed);
			slab_mt_text(text, sizeof(text), s);
			ra = run_text(text, &a);
			rb = run_text(text, &b);
			MMT_CHECK_EQ(ra, MMT_EXEC_OK);
			MMT_CHECK_EQ(ra, rb);
			MMT_CHECK(a.nr_decisions > 0);
			MMT_CHECK_EQ(a.nr_decisions, b.nr_decisions);
			MMT_CHECK(!memcmp(a.decisions, b.decisions,
					  a.nr_decisions * sizeof(uint16_t)));
			MMT_CHECK_EQ(a.sched_points, b.sched_points);
			MMT_CHECK_EQ(a.interleaving_hash, b.interleaving_hash);
			mmt_finding_free(&a);
			mmt_finding_free(&b);
		}
	}
}

/* Execute @p, attach its record, print, parse, execute again. */
static void round_trip(struct mmt_program *p, const struct mmt_exec_opts *o)
{
	struct mmt_finding a, b;
	enum mmt_exec_result ra, rb;
	struct mmt_program q;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	ra = mmt_trace_execute(p, o, &a);
	MMT_CHECK(a.nr_decisions > 0);
	MMT_CHECK(mmt_program_set_decisions(p, a.decisions, a.nr_decisions));
	out = open_memstream(&buf, &len);
	mmt_trace_print(p, out);
	fclose(out);
	MMT_CHECK(strstr(buf, "\ndecisions ") != NULL);
	parse(buf, &q);
	rb = mmt_trace_execute(&q, NULL, &b);
	MMT_CHECK_EQ(ra, rb);
	MMT_CHECK_STR(a.signature, b.signature);
	MMT_CHECK_EQ(a.op_index, b.op_index);
	MMT_CHECK_EQ(a.nr_decisions, b.nr_decisions);
	MMT_CHECK(!memcmp(a.decisions, b.decisions,
			  a.nr_decisions * sizeof(uint16_t)));
	MMT_CHECK_EQ(a.sched_points, b.sched_points);
	MMT_CHECK_EQ(a.interleaving_hash, b.interleaving_hash);
	mmt_program_free(&q);
	free(buf);
	mmt_finding_free(&a);
	mmt_finding_free(&b);
}

MMT_TEST(recorded_decisions_replay_the_identical_schedule_through_text)
{
	unsigned int seed;

	for (seed = 1; seed <= 5; seed++) {
		struct mmt_program p;
		char s[64], text[2048];

		snprintf(s, sizeof(s), "sched=random sched_seed=%u", seed);
		slab_mt_text(text, sizeof(text), s);
		parse(text, &p);
		round_trip(&p, NULL);
		mmt_program_free(&p);
	}
}

MMT_TEST(schedule_override_runs_a_program_under_pct_and_ignores_its_decisions)
{
	struct mmt_exec_opts o;
	struct mmt_finding a, b;
	struct mmt_program p;
	char text[2048];
	uint16_t d[4] = { 1, 1, 1, 1 };

	slab_mt_text(text, sizeof(text), "sched=input");
	parse(text, &p);
	MMT_CHECK(mmt_program_set_decisions(&p, d, 4));
	mmt_exec_opts_default(&o);
	o.sched_source = MMT_SCHED_PCT;
	o.sched_seed = 11;
	o.pct_depth = 2;
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &a), MMT_EXEC_OK);
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &b), MMT_EXEC_OK);
	MMT_CHECK_EQ(a.nr_decisions, b.nr_decisions);
	MMT_CHECK(!memcmp(a.decisions, b.decisions,
			  a.nr_decisions * sizeof(uint16_t)));
	mmt_finding_free(&a);
	mmt_finding_free(&b);
	mmt_program_free(&p);
}

MMT_TEST(kernel_threads_of_each_kind_start_and_stop_cleanly)
{
	static const char *const kinds[] = { "kswapd", "disk", "dmcrypt",
					     "loop", "netswap" };
	static const char *const scheds[] = { "sched=seq", "sched=rr",
					      "sched=random sched_seed=3" };
	unsigned int i, j;

	for (i = 0; i < MMT_ARRAY_SIZE(kinds); i++)
		for (j = 0; j < MMT_ARRAY_SIZE(scheds); j++) {
			struct mmt_finding f;
			char text[1024];

			/* Stopped by the program, then left to teardown. */
			snprintf(text, sizeof(text),
				 "mmtorture-trace 1\n"
				 "machine cpus=2 normal=1024 %s\n"
				 "k0 = kthread_start %s node=0\n"
				 "p0 = alloc_pages GFP_KERNEL order=0\n"
				 "lru_add anon count=64\n"
				 "cpu 1\n"
				 "p1 = alloc_pages GFP_KERNEL order=1\n"
				 "free_pages p1\n"
				 "cpu 0\n"
				 "kthread_stop k0\n"
				 "k1 = kthread_start %s node=0\n"
				 "free_pages p0\n",
				 scheds[j], kinds[i], kinds[i]);
			MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
				      "%s %s: %s: %s", kinds[i], scheds[j],
				      f.oracle, f.message);
			mmt_finding_free(&f);
		}
}

MMT_TEST(sequential_program_stays_sequential_with_no_schedule)
{
	struct mmt_finding f;

	MMT_CHECK_EQ(run_text("mmtorture-trace 1\n"
			      "machine sched=seq\n"
			      "o0 = kmalloc size=64 GFP_KERNEL\n"
			      "cpu 1\n"
			      "kfree o0\n",
			      &f),
		     MMT_EXEC_OK);
	MMT_CHECK_EQ(f.nr_decisions, 0);
	MMT_CHECK(f.decisions == NULL);
	mmt_finding_free(&f);
}
