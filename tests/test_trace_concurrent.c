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
	static const char *const kinds[] = { "kswapd",	  "disk",    "dmcrypt",
					     "loop",	  "netswap", "gp",
					     "kvfree_rcu" };
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
				 "o0 = kmalloc size=64 GFP_KERNEL\n"
				 "o1 = kmalloc size=128 GFP_KERNEL\n"
				 "cpu 1\n"
				 "p1 = alloc_pages GFP_KERNEL order=1\n"
				 "kvfree_rcu o0\n"
				 "free_pages p1\n"
				 "synchronize_rcu\n"
				 "cpu 0\n"
				 "kvfree_rcu_head o1\n"
				 "gp_step\n"
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

/*
 * The seed-003 setting as a slab-mt program: CPU 0 fills slabs of a
 * cgroup's cache (co0 first, on a slab that ends up full); CPU 1, once the
 * last bulk exists, frees it and then co0 (a full slab: frozen onto its cpu
 * partial list) while CPU 0 takes the cgroup offline.
 */
static void s003_text(char *buf, size_t len, unsigned int seed, bool bug)
{
	size_t n;
	int b;

	n = (size_t)snprintf(buf, len,
			     "mmtorture-trace 1\n"
			     "machine cpus=2 slab=slub oracles=1 sched=pct "
			     "sched_seed=%u pct_depth=3\n%s"
			     "c0 = kmem_cache_create size=256 ACCOUNT\n"
			     "g0 = cgroup_create\n"
			     "cgroup_enter g0\n"
			     "co0 = kmem_cache_alloc c0 GFP_KERNEL\n",
			     seed, bug ? "bugs slub-frozen-dead-cache\n" : "");
	for (b = 0; b < 8; b++)
		n += (size_t)snprintf(
			buf + n, len - n,
			"cb%d = kmem_cache_alloc_bulk c0 GFP_KERNEL count=64\n",
			b);
	snprintf(buf + n, len - n,
		 "cpu 1\n"
		 "kmem_cache_free_bulk cb7\n"
		 "kmem_cache_free co0\n"
		 "cpu 0\n"
		 "cgroup_offline g0\n");
}

#define S003_SEEDS 200

MMT_TEST(
	pct_finds_slub_frozen_dead_cache_in_a_slab_mt_program_and_nothing_without)
{
	unsigned int seed, found = 0;
	struct mmt_finding f;
	char text[4096];

	for (seed = 1; seed <= S003_SEEDS && !found; seed++) {
		s003_text(text, sizeof(text), seed, true);
		if (run_text(text, &f) == MMT_EXEC_FINDING) {
			MMT_CHECK_STR(f.oracle, "dead-cache-leak");
			found = seed;
		}
		mmt_finding_free(&f);
	}
	MMT_CHECK_MSG(found, "PCT did not find it in %d seeds", S003_SEEDS);
	fprintf(stderr, "slub-frozen-dead-cache: found by PCT seed %u\n",
		found);
	/* The finding's reproducer replays it: same op, same schedule. */
	{
		struct mmt_program p;

		s003_text(text, sizeof(text), found, true);
		parse(text, &p);
		round_trip(&p, NULL);
		mmt_program_free(&p);
	}
	/* The same seeds without the bug: nothing. */
	for (seed = 1; seed <= found; seed++) {
		s003_text(text, sizeof(text), seed, false);
		MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
			      "seed %u without the bug: %s: %s", seed, f.oracle,
			      f.message);
		mmt_finding_free(&f);
	}
}

/*
 * Two CPUs each take one pool's only element and then wait for the other
 * pool's (memory used up, so the allocator cannot help): the model's
 * detector ends it with both waits and who holds what, under every
 * schedule that gets there; nothing hangs.  As for a sequential program,
 * a program waiting for its own elements is blocked, not a finding.
 */
MMT_TEST(
	threads_deadlocked_on_each_others_mempool_elements_are_reported_with_the_chain)
{
	static const char *const scheds[] = { "sched=rr",
					      "sched=random sched_seed=1",
					      "sched=random sched_seed=2",
					      "sched=pct sched_seed=5" };
	unsigned int i, cycles = 0;

	for (i = 0; i < MMT_ARRAY_SIZE(scheds); i++) {
		static char text[16384];
		struct mmt_finding f;
		enum mmt_exec_result r;
		size_t n;
		int k;

		n = (size_t)snprintf(
			text, sizeof(text),
			"mmtorture-trace 1\n"
			"machine cpus=2 normal=256 dma32=64 "
			"mempool=no-reclaim %s\n"
			"m0 = mempool_create page min=1 size=4096\n"
			"m1 = mempool_create page min=1 size=4096\n",
			scheds[i]);
		for (k = 0; k < 60; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "p%d = alloc_pages GFP_NOWAIT "
					      "order=3\n",
					      k);
		for (; k < 200; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "p%d = alloc_pages GFP_ATOMIC "
					      "order=0\n",
					      k);
		snprintf(text + n, sizeof(text) - n,
			 "cpu 1\n"
			 "free_pages p199\n"
			 "e0 = mempool_alloc m1 GFP_NOIO\n"
			 "e1 = mempool_alloc m0 GFP_NOIO\n"
			 "cpu 0\n"
			 "e2 = mempool_alloc m0 GFP_NOIO\n"
			 "e3 = mempool_alloc m1 GFP_NOIO\n");
		r = run_text(text, &f);
		if (r == MMT_EXEC_OK) { /* one thread got both first */
			mmt_finding_free(&f);
			continue;
		}
		MMT_CHECK_MSG(r == MMT_EXEC_BLOCKED, "%s: %s: %s", scheds[i],
			      f.oracle, f.message);
		MMT_CHECK(strstr(f.op_text, "mempool_alloc") != NULL);
		MMT_CHECK(f.nr_decisions > 0);
		if (!strstr(f.message, "task cpu0 waits") ||
		    !strstr(f.message, "task cpu1 waits")) {
			/* One thread took both and ended: the other waits
			 * for what it holds. */
			MMT_CHECK(strstr(f.message, "held by cpu") != NULL);
			mmt_finding_free(&f);
			continue;
		}
		cycles++; /* the cycle, both ways */
		MMT_CHECK(strstr(f.message,
				 "task cpu1 waits on pool->wait (mempool m0: "
				 "0/1 elements in the pool, 1 out: held by "
				 "cpu0") != NULL);
		MMT_CHECK(strstr(f.message,
				 "task cpu0 waits on pool->wait (mempool m1: "
				 "0/1 elements in the pool, 1 out: held by "
				 "cpu1") != NULL);
		mmt_finding_free(&f);
	}
	MMT_CHECK(cycles >= 2);
}

/* "RESULT ORACLE op N: TEXT", "points P" and "decisions ..." of a run. */
static char *golden_run(const char *name)
{
	char path[512], *buf = NULL, *text;
	struct mmt_finding f;
	struct mmt_program p;
	enum mmt_exec_result r;
	static const char *const res[] = { "ok", "finding", "blocked",
					   "setup-failed" };
	size_t len = 0, i;
	FILE *in, *out;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/%s", MMT_SOURCE_DIR, name);
	in = fopen(path, "r");
	MMT_CHECK_MSG(in != NULL, "%s", path);
	fseek(in, 0, SEEK_END);
	n = ftell(in);
	rewind(in);
	text = calloc(1, (size_t)n + 1);
	MMT_CHECK(fread(text, 1, (size_t)n, in) == (size_t)n);
	fclose(in);
	parse(text, &p);
	free(text);
	r = mmt_trace_execute(&p, NULL, &f);
	out = open_memstream(&buf, &len);
	fprintf(out, "%s\n%s %s op %zu: %s\npoints %llu\ndecisions", name,
		res[r], r == MMT_EXEC_FINDING ? f.oracle : "-", f.op_index,
		r == MMT_EXEC_OK ? "-" : f.op_text,
		(unsigned long long)f.sched_points);
	for (i = 0; i < f.nr_decisions; i++)
		fprintf(out, " %u", f.decisions[i]);
	fprintf(out, "\n");
	fclose(out);
	mmt_finding_free(&f);
	mmt_program_free(&p);
	return buf;
}

/*
 * Determinism across builds: the unit suite runs in the default, release,
 * asan, tsan and fuzz builds alike, and each must give the recorded
 * schedule and result of these concurrent traces
 * (tests/data/concurrent-golden.expected).
 */
MMT_TEST(concurrent_traces_replay_the_golden_schedule_and_result_in_every_build)
{
	static const char *const names[] = {
		"concurrent-golden-s003.trace",
		"concurrent-golden-random.trace",
	};
	char path[512], *expect, *got = NULL;
	size_t glen = 0, i;
	FILE *in, *out;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/concurrent-golden.expected",
		 MMT_SOURCE_DIR);
	in = fopen(path, "r");
	MMT_CHECK_MSG(in != NULL, "%s", path);
	fseek(in, 0, SEEK_END);
	n = ftell(in);
	rewind(in);
	expect = calloc(1, (size_t)n + 1);
	MMT_CHECK(fread(expect, 1, (size_t)n, in) == (size_t)n);
	fclose(in);
	out = open_memstream(&got, &glen);
	for (i = 0; i < MMT_ARRAY_SIZE(names); i++) {
		char *one = golden_run(names[i]);

		fputs(one, out);
		free(one);
	}
	fclose(out);
	MMT_CHECK_MSG(!strcmp(got, expect), "expected:\n%s\ngot:\n%s", expect,
		      got);
	free(got);
	free(expect);
}

/*
 * A finding in the middle of a concurrent run with kernel threads of every
 * kind running: the run stops there (the other fibers abandoned), the
 * finding names the operation, carries the schedule, and everything is
 * released (the sanitizer builds check for leaks).  The finding's thread
 * starts once the kernel threads exist: a fiber abandoned inside a device's
 * creation would leave the half-made device unreleased.
 */
MMT_TEST(a_finding_stops_a_concurrent_run_with_kernel_threads_cleanly)
{
	static const char *const scheds[] = { "sched=rr",
					      "sched=random sched_seed=4",
					      "sched=seq" };
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(scheds); i++) {
		struct mmt_finding f;
		char text[1024];

		snprintf(text, sizeof(text),
			 "mmtorture-trace 1\n"
			 "machine cpus=2 normal=1024 %s\n"
			 "bugs pcp-zero-skipped\n"
			 "k0 = kthread_start kswapd node=0\n"
			 "k1 = kthread_start dmcrypt node=0\n"
			 "k2 = kthread_start gp node=0\n"
			 "k3 = kthread_start kvfree_rcu node=0\n"
			 "lru_add anon count=64\n"
			 "o1 = kmalloc size=64 GFP_KERNEL\n"
			 "cpu 1\n"
			 "kvfree_rcu o1\n"
			 "p0 = alloc_pages GFP_KERNEL order=0\n"
			 "free_pages p0\n"
			 "p1 = alloc_pages GFP_KERNEL|__GFP_ZERO order=0\n"
			 "cpu 0\n"
			 "synchronize_rcu\n"
			 "o2 = kmalloc size=64 GFP_KERNEL\n",
			 scheds[i]);
		MMT_CHECK_EQ(run_text(text, &f), MMT_EXEC_FINDING);
		MMT_CHECK_STR(f.oracle, "gfp-zero");
		MMT_CHECK_EQ(f.op_index, 10);
		MMT_CHECK(strstr(f.op_text, "p1 = alloc_pages") != NULL);
		if (strcmp(scheds[i], "sched=seq"))
			MMT_CHECK(f.sched_points > 0);
		mmt_finding_free(&f);
	}
}

/* ---- interrupt handlers delivered by the schedule ---- */

/*
 * Run @p with @o (may be NULL) and its -v log into a string to free().
 * Not inlined: gcc 12 at -O2 then takes the string for the address of
 * this frame's buffer pointer (a false -Wdangling-pointer).
 */
static __attribute__((noinline)) char *run_logged(const struct mmt_program *p,
						  struct mmt_exec_opts *o,
						  struct mmt_finding *f,
						  enum mmt_exec_result *r)
{
	struct mmt_exec_opts d;
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);

	/* A copy: the log stream points into this frame's buffer. */
	if (o)
		d = *o;
	else
		mmt_exec_opts_default(&d);
	d.log = log;
	*r = mmt_trace_execute(p, &d, f);
	fclose(log);
	return buf;
}

/* Where @what first appears in @log, -1 nowhere. */
static long log_offset(const char *log, const char *what)
{
	const char *at = strstr(log, what);

	return at ? (long)(at - log) : -1;
}

/*
 * Where the log says handler @open was delivered: the operation it
 * interrupted, -1 where its thread waited or ended, -2 never.
 */
static long delivered_inside(const char *log, unsigned int open)
{
	char key[64];
	const char *at;

	snprintf(key, sizeof(key), "%5u  cpu", open);
	for (at = strstr(log, key); at; at = strstr(at + 1, key)) {
		const char *eol = strchr(at, '\n');
		const char *d = strstr(at, "delivered ");

		if (!d || (eol && d > eol))
			continue;
		d += strlen("delivered ");
		if (!strncmp(d, "inside operation ", 17))
			return strtol(d + 17, NULL, 10);
		return -1;
	}
	return -2;
}

/*
 * One CPU, one hard irq handler pending from operation 1, a section with
 * interrupts off (operations 6 and 7), a softirq handler pending from
 * operation 11 and a bottom-half-off section (operations 15, 16).
 */
static const char irq_prog[] =
	"c0 = kmem_cache_create size=64 0\n" /* 0 */
	"interrupt irq\n" /* 1 */
	"  co0 = kmem_cache_alloc c0 GFP_ATOMIC\n" /* 2 */
	"  kmem_cache_free co0\n" /* 3 */
	"exit\n" /* 4 */
	"enter irqs_off\n" /* 5 */
	"  co1 = kmem_cache_alloc c0 GFP_ATOMIC\n" /* 6 */
	"  kmem_cache_free co1\n" /* 7 */
	"exit\n" /* 8 */
	"co2 = kmem_cache_alloc c0 GFP_KERNEL\n" /* 9 */
	"kmem_cache_free co2\n" /* 10 */
	"interrupt softirq\n" /* 11 */
	"  o0 = kmalloc size=100 GFP_ATOMIC\n" /* 12 */
	"  kfree o0\n" /* 13 */
	"exit\n" /* 14 */
	"enter bh_off\n" /* 15 */
	"  co3 = kmem_cache_alloc c0 GFP_ATOMIC\n" /* 16 */
	"exit\n" /* 17 */
	"kmem_cache_free co3\n" /* 18 */
	"co4 = kmem_cache_alloc c0 GFP_KERNEL\n" /* 19 */
	"kmem_cache_free co4\n"; /* 20 */

static void irq_text(char *buf, size_t len, const char *sched)
{
	snprintf(buf, len,
		 "mmtorture-trace 1\n"
		 "machine cpus=1 slab=slub oracles=2 %s\n%s",
		 sched, irq_prog);
}

MMT_TEST(an_interrupt_is_delivered_only_where_its_cpu_takes_it)
{
	bool seen_irq[32] = { false }, seen_soft[32] = { false };
	int places_irq = 0, places_soft = 0;
	unsigned int seed, k;

	for (seed = 1; seed <= 60; seed++) {
		struct mmt_finding f;
		struct mmt_program p;
		enum mmt_exec_result r;
		char s[64], text[2048], *log;
		long a, b;

		snprintf(s, sizeof(s), "sched=random sched_seed=%u", seed);
		irq_text(text, sizeof(text), s);
		parse(text, &p);
		log = run_logged(&p, NULL, &f, &r);
		MMT_CHECK_MSG(r == MMT_EXEC_OK, "seed %u: %s %s", seed,
			      f.oracle, f.message);
		a = delivered_inside(log, 1);
		b = delivered_inside(log, 11);
		/* Each exactly once, never where interrupts are off. */
		MMT_CHECK_MSG(a != -2 && b != -2, "seed %u:\n%s", seed, log);
		MMT_CHECK_MSG(a == -1 ||
				      (a >= 5 && a != 6 && a != 7 && a <= 20),
			      "seed %u: irq inside %ld", seed, a);
		MMT_CHECK_MSG(b == -1 || (b >= 15 && b != 16 && b <= 20),
			      "seed %u: softirq inside %ld", seed, b);
		seen_irq[a + 1] = true;
		seen_soft[b + 1] = true;
		mmt_finding_free(&f);
		mmt_program_free(&p);
		free(log);
	}
	for (k = 0; k < 32; k++) {
		places_irq += seen_irq[k];
		places_soft += seen_soft[k];
	}
	/* The schedule, not the program, chooses the point. */
	MMT_CHECK(places_irq >= 3);
	MMT_CHECK(places_soft >= 2);
}

/*
 * With decisions given, the interrupt runs at the decision point that
 * chooses it: on one CPU the choice set at a point with a handler pending
 * is {the thread, the interrupt}, so decision 1 delivers.  All zeros leave
 * it pending to the end of the thread, where it still runs.
 */
MMT_TEST(an_interrupt_is_delivered_at_the_decision_that_chooses_it)
{
	static const char *const decs[] = { "", "decisions 1\n",
					    "decisions 0 0 1\n" };
	long where[3];
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(decs); i++) {
		struct mmt_finding f;
		struct mmt_program p;
		enum mmt_exec_result r;
		char text[2048], *log;

		irq_text(text, sizeof(text), "sched=input");
		strcat(text, decs[i]);
		parse(text, &p);
		log = run_logged(&p, NULL, &f, &r);
		MMT_CHECK_EQ(r, MMT_EXEC_OK);
		where[i] = delivered_inside(log, 1);
		if (i == 0) {
			/* Input without decisions never preempts. */
			MMT_CHECK_EQ(where[i], -1);
			MMT_CHECK(strstr(log, "at the end of its thread"));
		} else {
			MMT_CHECK_MSG(where[i] >= 9, "%ld\n%s", where[i], log);
			/* The decisions are the record's first ones. */
			MMT_CHECK(f.nr_decisions >= i * 2 - 1);
			MMT_CHECK_EQ(f.decisions[i == 1 ? 0 : 2], 1);
		}
		mmt_finding_free(&f);
		mmt_program_free(&p);
		free(log);
	}
	/* A later decision point is no earlier in the thread. */
	MMT_CHECK(where[2] >= where[1]);
}

/*
 * The recorded decisions, printed with the program and parsed back,
 * deliver every handler inside the same operation: the whole -v log is
 * the same, and so are the decisions.
 */
MMT_TEST(a_recorded_interrupt_delivery_replays_identically_through_text)
{
	unsigned int seed;

	for (seed = 1; seed <= 12; seed++) {
		struct mmt_finding a, b;
		struct mmt_program p, q;
		enum mmt_exec_result ra, rb;
		char s[64], text[2048], *la, *lb, *buf = NULL;
		size_t len = 0;
		FILE *out;

		snprintf(s, sizeof(s), "sched=pct sched_seed=%u", seed);
		irq_text(text, sizeof(text), s);
		parse(text, &p);
		la = run_logged(&p, NULL, &a, &ra);
		MMT_CHECK(a.nr_decisions > 0);
		MMT_CHECK(mmt_program_set_decisions(&p, a.decisions,
						    a.nr_decisions));
		out = open_memstream(&buf, &len);
		mmt_trace_print(&p, out);
		fclose(out);
		parse(buf, &q);
		lb = run_logged(&q, NULL, &b, &rb);
		MMT_CHECK_EQ(ra, rb);
		MMT_CHECK_STR(la, lb);
		MMT_CHECK_EQ(a.nr_decisions, b.nr_decisions);
		MMT_CHECK(!memcmp(a.decisions, b.decisions,
				  a.nr_decisions * sizeof(uint16_t)));
		MMT_CHECK_EQ(a.sched_points, b.sched_points);
		free(la);
		free(lb);
		free(buf);
		mmt_finding_free(&a);
		mmt_finding_free(&b);
		mmt_program_free(&p);
		mmt_program_free(&q);
	}
}

/*
 * Across CPUs: a handler's allocation freed by the other CPU's thread,
 * and an object of the other CPU freed in a softirq handler.  The other
 * thread waits for the handler (it is a thread of its own for the
 * ordering), which its CPU serves where its thread waits or ends at the
 * latest; every schedule runs cleanly.
 */
MMT_TEST(an_interrupt_handler_is_ordered_with_the_threads_it_shares_with)
{
	static const char prog[] = "c0 = kmem_cache_create size=128 0\n"
				   "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
				   "interrupt irq\n"
				   "  co1 = kmem_cache_alloc c0 GFP_ATOMIC\n"
				   "exit\n"
				   "co2 = kmem_cache_alloc c0 GFP_KERNEL\n"
				   "cpu 1\n"
				   "kmem_cache_free co1\n"
				   "interrupt softirq\n"
				   "  kmem_cache_free co0\n"
				   "exit\n"
				   "co3 = kmem_cache_alloc c0 GFP_KERNEL\n"
				   "kmem_cache_free co3\n"
				   "cpu 0\n"
				   "kmem_cache_free co2\n"
				   "kmem_cache_destroy c0\n";
	static const char *const scheds[] = { "sched=pct sched_seed=%u",
					      "sched=random sched_seed=%u",
					      "sched=rr", "sched=input" };
	unsigned int i, seed;

	for (i = 0; i < MMT_ARRAY_SIZE(scheds); i++)
		for (seed = 1; seed <= 10; seed++) {
			char s[64], text[2048];
			struct mmt_finding f;

			snprintf(s, sizeof(s), scheds[i], seed);
			snprintf(text, sizeof(text),
				 "mmtorture-trace 1\n"
				 "machine cpus=2 oracles=2 %s\n%s",
				 s, prog);
			MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
				      "%s: %s %s", s, f.oracle, f.message);
			mmt_finding_free(&f);
		}
}

/* Under sched=seq a handler runs at its place, as an enter block would. */
MMT_TEST(an_interrupt_handler_runs_in_place_in_a_sequential_program)
{
	struct mmt_finding f;
	struct mmt_program p;
	enum mmt_exec_result r;
	char text[2048], *log;

	irq_text(text, sizeof(text), "");
	parse(text, &p);
	log = run_logged(&p, NULL, &f, &r);
	MMT_CHECK_EQ(r, MMT_EXEC_OK);
	MMT_CHECK(!strstr(log, "delivered"));
	MMT_CHECK(strstr(log, "    1  cpu0  interrupt irq\n    2  cpu0  co0"));
	mmt_finding_free(&f);
	mmt_program_free(&p);
	free(log);
}

/*
 * Nothing in a handler may sleep, in text as in binary: the parser names
 * the line and column of the operation; a synchronous enter irq block
 * still may in text (to show sleep-in-atomic fire).  A handler opens
 * only between blocks, and a softirq handler takes no task-level lock.
 */
MMT_TEST(a_sleeping_operation_in_an_interrupt_handler_is_refused_with_its_place)
{
	static const struct {
		const char *body, *err;
	} cases[] = {
		{ "c0 = kmem_cache_create size=64 0\n"
		  "interrupt irq\n"
		  "  kmem_cache_shrink c0\n"
		  "exit\n",
		  "t.trace:5:3: kmem_cache_shrink may sleep: not in an interrupt handler (interrupt irq on cpu 0)" },
		{ "o0 = kmalloc size=64 GFP_KERNEL\n"
		  "interrupt softirq\n"
		  "  kvfree_rcu o0\n"
		  "exit\n",
		  "t.trace:5:3: kvfree_rcu may sleep: not in an interrupt handler (interrupt softirq on cpu 0)" },
		{ "enter preempt\n"
		  "  interrupt irq\n",
		  "t.trace:4:3: interrupt irq: cpu 0 is inside preempt; a handler is pending on the thread between its blocks, not inside one (exit first)" },
		{ "interrupt softirq\n"
		  "  enter spin_lock\n",
		  "t.trace:4:9: enter spin_lock in a softirq handler on cpu 0: the interrupted task may hold it" },
		{ "interrupt irq\n"
		  "  o0 = kmalloc size=64 GFP_ATOMIC\n"
		  "cpu 1\n",
		  "t.trace:5:1: cpu 1: cpu 0 is inside irq; exit its contexts before leaving it" },
		{ "interrupt softirq\n"
		  "  drain_local_pages\n",
		  "t.trace:4:3: drain_local_pages runs in a work item, not in an interrupt handler" },
		{ "interrupt nmi\n", "t.trace:3:11: " },
	};
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++) {
		struct mmt_program p;
		char text[1024], err[512];

		snprintf(text, sizeof(text),
			 "mmtorture-trace 1\nmachine cpus=2 sched=rr\n%s",
			 cases[i].body);
		MMT_CHECK_MSG(!mmt_trace_parse(text, strlen(text), "t.trace",
					       &p, err, sizeof(err)),
			      "case %u parsed", i);
		MMT_CHECK_MSG(!strncmp(err, cases[i].err, strlen(cases[i].err)),
			      "case %u: got '%s'", i, err);
	}
	/* A synchronous block may still show the check firing. */
	{
		struct mmt_program p;
		static const char ok[] = "mmtorture-trace 1\n"
					 "c0 = kmem_cache_create size=64 0\n"
					 "enter irq\n"
					 "  kmem_cache_shrink c0\n"
					 "exit\n";
		char err[512];

		MMT_CHECK_MSG(mmt_trace_parse(ok, strlen(ok), "t.trace", &p,
					      err, sizeof(err)),
			      "%s", err);
		mmt_program_free(&p);
	}
}

/*
 * Text -> binary (over each concurrent target that has handlers) ->
 * text is the identity for a program with handlers of both kinds, a
 * nested hard irq in the softirq, a packet received in a softirq handler
 * and the decisions of a run.
 */
MMT_TEST(interrupt_handlers_round_trip_through_the_binary_form)
{
	static const char *const targets[] = { "slab-mt", "rcu-mt",
					       "reserves-mt", "stack-mt" };
	static const char *const bodies[] = {
		/* slab-mt */
		"c0 = kmem_cache_create size=64 0\n"
		"interrupt irq\n"
		"  co0 = kmem_cache_alloc c0 GFP_ATOMIC\n"
		"  o0 = kmalloc size=200 GFP_ATOMIC|__GFP_NOWARN\n"
		"exit\n"
		"cpu 1\n"
		"interrupt softirq\n"
		"  enter irq\n"
		"    kmem_cache_free co0\n"
		"  exit\n"
		"  kfree o0\n"
		"exit\n"
		"decisions 0 2 1 1 0\n",
		/* rcu-mt */
		"o0 = kmalloc size=64 GFP_KERNEL\n"
		"cpu 1\n"
		"interrupt softirq\n"
		"  kvfree_rcu_head o0\n"
		"exit\n"
		"gp_step\n",
		/* reserves-mt */
		"sk0 = sock_memalloc\n"
		"interrupt softirq\n"
		"  net_rx sk0 size=1500\n"
		"exit\n"
		"cpu 1\n"
		"sock_close sk0\n",
		/* stack-mt */
		"m0 = mempool_create kmalloc min=2 size=64\n"
		"interrupt irq\n"
		"  e0 = mempool_alloc m0 GFP_ATOMIC\n"
		"  mempool_free e0\n"
		"exit\n"
		"mempool_destroy m0\n",
	};
	unsigned int i;

	for (i = 0; i < MMT_ARRAY_SIZE(targets); i++) {
		struct mmt_program p, q;
		mmt_opset_t set;
		char text[2048], *buf = NULL;
		size_t len = 0, n;
		uint8_t bin[4096];
		FILE *out;

		snprintf(
			text, sizeof(text),
			"mmtorture-trace 1\n"
			"machine nodes=1 cpus=2 normal=1024 dma32=64 slab=slub mempool=no-reclaim rt=off kvfree_rcu=nowait oracles=1 sched=random sched_seed=3\n"
			"bugs none\n%s",
			bodies[i]);
		MMT_CHECK(mmt_trace_target_ops(targets[i], &set));
		MMT_CHECK((set >> MMT_OP_INTERRUPT) & 1);
		parse(text, &p);
		out = open_memstream(&buf, &len);
		mmt_trace_print(&p, out);
		fclose(out);
		MMT_CHECK_STR(buf, text);
		free(buf);
		n = mmt_trace_encode_set(&p, set, bin, sizeof(bin));
		MMT_CHECK(n <= sizeof(bin));
		mmt_trace_decode_set(bin, n, set, &q);
		MMT_CHECK_MSG(mmt_program_equal(&p, &q), "%s", targets[i]);
		mmt_program_free(&p);
		mmt_program_free(&q);
	}
	/* The single-CPU form has no handler: its opcode is not in the set. */
	MMT_CHECK(!((MMT_TRACE_OPS_SEQ >> MMT_OP_INTERRUPT) & 1));
}

/*
 * A hard irq delivered inside a __GFP_FAST_TRY allocation (at its pcp
 * trylock): the handler's own GFP_ATOMIC allocation refills the empty
 * per-cpu list from the zone under the zone lock, which it may - FAST_TRY
 * belongs to the interrupted call, not to the CPU (no fast-try-zone-lock;
 * random concurrent inputs found it with the pcp lock held by the
 * interrupted call).
 */
MMT_TEST(an_interrupt_inside_a_fast_try_allocation_is_not_fast_try)
{
	static const char text[] =
		"mmtorture-trace 1\n"
		"machine cpus=1 oracles=2 sched=input\n"
		"interrupt irq\n"
		"  p1 = alloc_pages GFP_ATOMIC order=0\n"
		"  free_pages p1\n"
		"exit\n"
		"p2 = alloc_pages GFP_NOWAIT|__GFP_FAST_TRY order=0\n"
		"free_pages p2\n"
		"decisions 1\n";
	struct mmt_finding f;
	struct mmt_program p;
	enum mmt_exec_result r;
	char *log;

	parse(text, &p);
	log = run_logged(&p, NULL, &f, &r);
	MMT_CHECK_MSG(r == MMT_EXEC_OK, "%s: %s\n%s", f.oracle, f.message, log);
	MMT_CHECK_MSG(delivered_inside(log, 0) == 4, "%s", log);
	mmt_finding_free(&f);
	mmt_program_free(&p);
	free(log);
}

/*
 * Nesting: a hard irq is delivered inside a softirq handler's operation
 * (decisions "1 1": the softirq at the thread's first point, the irq at
 * the handler's first), and the handler's operation completes after it.
 */
MMT_TEST(a_hard_irq_is_delivered_inside_a_softirq_handler)
{
	static const char text[] =
		"mmtorture-trace 1\n"
		"machine cpus=1 oracles=2 sched=input\n"
		"c0 = kmem_cache_create size=64 0\n" /* 0 */
		"interrupt softirq\n" /* 1 */
		"  co0 = kmem_cache_alloc c0 GFP_ATOMIC\n" /* 2 */
		"  kmem_cache_free co0\n" /* 3 */
		"exit\n" /* 4 */
		"interrupt irq\n" /* 5 */
		"  o0 = kmalloc size=64 GFP_ATOMIC\n" /* 6 */
		"  kfree o0\n" /* 7 */
		"exit\n" /* 8 */
		"co1 = kmem_cache_alloc c0 GFP_KERNEL\n" /* 9 */
		"kmem_cache_free co1\n" /* 10 */
		"decisions 1 1\n";
	struct mmt_finding f;
	struct mmt_program p;
	enum mmt_exec_result r;
	long irq_done, softirq_op;
	char *log;

	parse(text, &p);
	log = run_logged(&p, NULL, &f, &r);
	MMT_CHECK_MSG(r == MMT_EXEC_OK, "%s: %s", f.oracle, f.message);
	MMT_CHECK_MSG(delivered_inside(log, 1) == 9, "%s", log);
	MMT_CHECK_MSG(delivered_inside(log, 5) == 2, "%s", log);
	/* The irq handler's operations complete before the softirq's. */
	irq_done = log_offset(log, "    7  cpu0  kfree o0");
	softirq_op = log_offset(log, "    2  cpu0  co0 = kmem_cache_alloc");
	MMT_CHECK_MSG(irq_done >= 0 && softirq_op >= 0 && irq_done < softirq_op,
		      "%s", log);
	mmt_finding_free(&f);
	mmt_program_free(&p);
	free(log);
}

/*
 * A run longer than the record (MMT_TRACE_MAX_DECISIONS decisions) under a
 * source with state of its own (random): past the record's end both the
 * run and its replay take the fallback, so the replay of the recorded
 * decisions passes the same points in the same interleaving to the end.
 */
MMT_TEST(a_schedule_longer_than_its_record_replays_to_its_end)
{
	static const char *const scheds[] = {
		"sched=random sched_seed=3",
		"sched=pct sched_seed=3 pct_depth=3"
	};
	size_t cap = 1 << 20, n, i, k;
	char *text = malloc(cap);
	unsigned int s;

	MMT_CHECK(text != NULL);
	for (s = 0; s < MMT_ARRAY_SIZE(scheds); s++) {
		struct mmt_program p;

		n = (size_t)snprintf(
			text, cap,
			"mmtorture-trace 1\n"
			"machine cpus=4 normal=1024 slab=slub oracles=0 %s\n",
			scheds[s]);
		for (k = 0; k < 4; k++) {
			n += (size_t)snprintf(text + n, cap - n, "cpu %zu\n",
					      k);
			for (i = 0; i < 500; i++)
				n += (size_t)snprintf(
					text + n, cap - n,
					"pb%zu = alloc_pages_bulk GFP_KERNEL count=%zu\nfree_pages_bulk pb%zu\n",
					k * 1000 + i, 1 + i % 64, k * 1000 + i);
		}
		parse(text, &p);
		{
			struct mmt_finding a;

			mmt_trace_execute(&p, NULL, &a);
			MMT_CHECK_EQ(a.nr_decisions, MMT_TRACE_MAX_DECISIONS);
			mmt_finding_free(&a);
		}
		round_trip(&p, NULL);
		mmt_program_free(&p);
	}
	free(text);
}

/*
 * The two page-allocator bugs of 2025 behind the nolock APIs, as pages-mt
 * programs (corpora/bug-programs/ holds one schedule of each): another
 * CPU inside the zone lock when free_pages_nolock/alloc_pages_nolock try
 * it; an interrupt inside a uniprocessor's per-cpu list operation.
 */
static void nolock_text(char *buf, size_t len, bool up, unsigned int seed,
			const char *bug)
{
	if (!up)
		snprintf(buf, len,
			 "mmtorture-trace 1\n"
			 "machine cpus=2 dma32=0 oracles=1 sched=random "
			 "sched_seed=%u\n"
			 "bugs %s\n"
			 "cpu 0\n"
			 "p0 = alloc_pages_nolock order=4 node=0\n"
			 "p1 = alloc_pages_nolock order=4 node=0\n"
			 "free_pages_nolock p0\n"
			 "free_pages_nolock p1\n"
			 "cpu 1\n"
			 "p2 = alloc_pages GFP_KERNEL order=0\n"
			 "p3 = alloc_pages GFP_KERNEL order=4\n"
			 "free_pages p3\n"
			 "free_pages p2\n",
			 seed, bug);
	else
		snprintf(
			buf, len,
			"mmtorture-trace 1\n"
			"machine cpus=1 dma32=0 oracles=1 smp=off sched=random "
			"sched_seed=%u\n"
			"bugs %s\n"
			"cpu 0\n"
			"interrupt irq\n"
			"  p0 = alloc_pages_nolock order=0 node=0\n"
			"  free_pages_nolock p0\n"
			"exit\n"
			"p1 = alloc_pages GFP_KERNEL order=0\n"
			"p2 = alloc_pages GFP_KERNEL order=0\n"
			"free_pages p1\n"
			"free_pages p2\n",
			seed, bug);
}

static void nolock_bug_search(bool up, const char *bug, const char *check)
{
	unsigned int seed, found = 0;
	struct mmt_finding f;
	char text[2048];

	for (seed = 1; seed <= 100 && !found; seed++) {
		nolock_text(text, sizeof(text), up, seed, bug);
		if (run_text(text, &f) == MMT_EXEC_FINDING) {
			MMT_CHECK_STR(f.oracle, check);
			found = seed;
		}
		mmt_finding_free(&f);
	}
	MMT_CHECK_MSG(found, "%s: no schedule of 100 seeds found it", bug);
	fprintf(stderr, "%s: found by seed %u\n", bug, found);
	for (seed = 1; seed <= found + 20; seed++) {
		nolock_text(text, sizeof(text), up, seed, "none");
		MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
			      "seed %u without the bug: %s: %s", seed, f.oracle,
			      f.message);
		mmt_finding_free(&f);
	}
}

MMT_TEST(
	random_schedules_find_nolock_zone_double_trylock_when_another_cpu_holds_the_zone_lock)
{
	nolock_bug_search(false, "nolock-zone-double-trylock", "nolock-spin");
}

MMT_TEST(random_schedules_find_pcp_up_trylock_reentry_on_a_uniprocessor)
{
	nolock_bug_search(true, "pcp-up-trylock-reentry", "pcp-reentry");
}

/*
 * sheaf-flush-rt-trylock (slab=sheaves, rt=on): CPU 0 frees objects of a
 * cgroup's child cache while CPU 1 takes the cgroup offline, whose
 * flushes of CPU 0's sheaves (mark_dead, then the shrink) may find CPU 0's
 * task inside its sheaf section (corpora/bug-programs/ holds one such
 * schedule).  Random schedules find the bug by dead-cache-leak; without
 * it, and with it but without PREEMPT_RT rules (where the kernel's flush
 * cannot run inside the owner's section and the model's waits), the
 * same schedules run clean.
 */
static void flush_text(char *buf, size_t len, unsigned int seed,
		       const char *bug, bool rt)
{
	snprintf(buf, len,
		 "mmtorture-trace 1\n"
		 "machine cpus=2 dma32=64 slab=sheaves rt=%s oracles=2 "
		 "sched=random sched_seed=%u\n"
		 "bugs %s\n"
		 "c0 = kmem_cache_create size=2048 ACCOUNT\n"
		 "g0 = cgroup_create\n"
		 "cgroup_enter g0\n"
		 "cb0 = kmem_cache_alloc_bulk c0 GFP_KERNEL count=16\n"
		 "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
		 "kmem_cache_free_bulk cb0\n"
		 "cpu 1\n"
		 "kmem_cache_free co0\n"
		 "cgroup_offline g0\n",
		 rt ? "on" : "off", seed, bug);
}

MMT_TEST(
	random_schedules_find_sheaf_flush_rt_trylock_when_a_task_is_inside_its_sheaf_section)
{
	unsigned int seed, found = 0;
	struct mmt_finding f;
	char text[2048];

	for (seed = 1; seed <= 400 && !found; seed++) {
		flush_text(text, sizeof(text), seed, "sheaf-flush-rt-trylock",
			   true);
		if (run_text(text, &f) == MMT_EXEC_FINDING) {
			MMT_CHECK_STR(f.oracle, "dead-cache-leak");
			found = seed;
		}
		mmt_finding_free(&f);
	}
	MMT_CHECK_MSG(found, "no schedule of 400 seeds found it");
	fprintf(stderr, "sheaf-flush-rt-trylock: found by seed %u\n", found);
	for (seed = found > 20 ? found - 20 : 1; seed <= found + 20; seed++) {
		flush_text(text, sizeof(text), seed, "none", true);
		MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
			      "seed %u without the bug: %s: %s", seed, f.oracle,
			      f.message);
		mmt_finding_free(&f);
		flush_text(text, sizeof(text), seed, "sheaf-flush-rt-trylock",
			   false);
		MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
			      "seed %u with the bug, rt=off: %s: %s", seed,
			      f.oracle, f.message);
		mmt_finding_free(&f);
	}
}

/*
 * mempool-free-lost-wakeup: CPU 0 asks an empty pool for an element with
 * memory used up while CPU 1 frees the pool's one element
 * (corpora/bug-programs/ holds one schedule of it).  A schedule that
 * stops CPU 1's free between its look at the wait queue and its refill,
 * and lets CPU 0 queue itself there, leaves CPU 0 asleep with the element
 * in the pool: mempool-forward-progress.  Every other schedule of the bug,
 * and every schedule without it, runs clean.  The idle gp kernel thread
 * lets the clock run the 5 s wait out.
 */
static void wakeup_text(char *buf, size_t len, unsigned int seed,
			const char *bug)
{
	snprintf(buf, len,
		 "mmtorture-trace 1\n"
		 "machine cpus=2 normal=64 dma32=0 mempool=no-reclaim "
		 "oracles=1 sched=random sched_seed=%u\n"
		 "bugs %s\n"
		 "k0 = kthread_start gp node=0\n"
		 "m0 = mempool_create page min=1 size=4096\n"
		 "p0 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=5\n"
		 "p1 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=4\n"
		 "p2 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=3\n"
		 "p3 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=2\n"
		 "p4 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=1\n"
		 "p5 = alloc_pages GFP_KERNEL|__GFP_MEMALLOC order=0\n"
		 "e0 = mempool_alloc m0 GFP_NOIO\n"
		 "cpu 1\n"
		 "mempool_free e0\n"
		 "cpu 0\n"
		 "e1 = mempool_alloc m0 GFP_NOIO\n"
		 "mempool_free e1\n"
		 "mempool_destroy m0\n",
		 seed, bug);
}

MMT_TEST(
	random_schedules_find_mempool_free_lost_wakeup_when_a_waiter_queues_before_the_refill)
{
	unsigned int seed, found = 0;
	struct mmt_finding f;
	char text[2048];

	for (seed = 1; seed <= 100; seed++) {
		wakeup_text(text, sizeof(text), seed,
			    "mempool-free-lost-wakeup");
		if (run_text(text, &f) == MMT_EXEC_FINDING) {
			MMT_CHECK_STR(f.oracle, "mempool-forward-progress");
			found++;
		}
		mmt_finding_free(&f);
		wakeup_text(text, sizeof(text), seed, "none");
		MMT_CHECK_MSG(run_text(text, &f) == MMT_EXEC_OK,
			      "seed %u without the bug: %s: %s", seed, f.oracle,
			      f.message);
		mmt_finding_free(&f);
	}
	MMT_CHECK_MSG(found, "no schedule of 100 seeds found it");
	/* Not every schedule: the free must be stopped inside its window. */
	MMT_CHECK(found < 100);
	fprintf(stderr, "mempool-free-lost-wakeup: found by %u of 100 seeds\n",
		found);
}
