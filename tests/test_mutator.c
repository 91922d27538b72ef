/* SPDX-License-Identifier: MIT */
/*
 * tests/test_mutator.c - the structure-aware mutator (targets/mutator.c):
 * deterministic per seed, never larger than the engine allows, always a
 * program the strict text parser accepts back, and operation-level: its
 * mutations insert, delete and reorder operations, change GFP masks and
 * reorder frees, which a byte mutator would rarely do intact.
 */
#include "mmt_test.h"
#include "mmt/exec.h"
#include "mutator.h"

#define MAX_IN 4096

/* Random bytes that decode to a program of a few dozen operations. */
static size_t random_input(mmt_opset_t set, uint8_t *buf, size_t cap)
{
	size_t len = 4 + t_rand_below(200), i;

	if (len > cap)
		len = cap;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)t_rand();
	(void)set;
	return len;
}

static void decode(mmt_opset_t set, const uint8_t *buf, size_t len,
		   struct mmt_program *p)
{
	mmt_program_init(p);
	mmt_trace_decode_set(buf, len, set, p);
}

/* print(decode(bytes)) parses back to the same operations. */
/* One mutation of a copy of @in (@len0 bytes) into @buf (MAX_IN bytes). */
static size_t mutate_copy(mmt_opset_t set, const uint8_t *in, size_t len0,
			  uint8_t *buf)
{
	memcpy(buf, in, len0);
	return mmt_mutate(set, buf, len0, MAX_IN, (unsigned int)t_rand());
}

static void check_canonical(mmt_opset_t set, const uint8_t *buf, size_t len)
{
	struct mmt_program p, q;
	char *text = NULL, err[256];
	size_t tlen = 0, i;
	FILE *f;

	decode(set, buf, len, &p);
	f = open_memstream(&text, &tlen);
	mmt_trace_print(&p, f);
	fclose(f);
	mmt_program_init(&q);
	MMT_CHECK_MSG(mmt_trace_parse(text, tlen, "mutated", &q, err,
				      sizeof(err)),
		      "%s\n%s", err, text);
	MMT_CHECK_EQ(q.nr_ops, p.nr_ops);
	for (i = 0; i < p.nr_ops && i < q.nr_ops; i++)
		MMT_CHECK(p.ops[i].code == q.ops[i].code &&
			  !memcmp(p.ops[i].arg, q.ops[i].arg,
				  sizeof(p.ops[i].arg)));
	free(text);
	mmt_program_free(&p);
	mmt_program_free(&q);
}

MMT_TEST(mutator_is_deterministic_for_a_seed)
{
	mmt_opset_t set = 0;
	uint8_t in[MAX_IN], a[MAX_IN], b[MAX_IN];
	int i;

	for (i = 0; i < 200; i++) {
		size_t len = random_input(set, in, sizeof(in)), la, lb;
		unsigned int seed = (unsigned int)t_rand();

		memcpy(a, in, len);
		memcpy(b, in, len);
		la = mmt_mutate(set, a, len, sizeof(a), seed);
		lb = mmt_mutate(set, b, len, sizeof(b), seed);
		MMT_CHECK_EQ(la, lb);
		MMT_CHECK(!memcmp(a, b, la));
	}
}

MMT_TEST(mutator_output_fits_and_always_parses_back)
{
	mmt_opset_t set;
	uint8_t buf[MAX_IN];
	const char *name;
	size_t t, i;

	for (t = 0; (name = mmt_trace_target_name(t, NULL)); t++) {
		MMT_CHECK(mmt_trace_target_ops(name, &set));
		for (i = 0; i < 300; i++) {
			size_t len = random_input(set, buf, sizeof(buf));
			size_t max = 8 + t_rand_below(sizeof(buf) - 8);
			int k;

			if (len > max)
				len = max;
			/* a chain of mutations, as the engine applies them */
			for (k = 0; k < 8; k++) {
				len = mmt_mutate(set, buf, len, max,
						 (unsigned int)t_rand());
				MMT_CHECK(len >= 1 && len <= max);
			}
			check_canonical(set, buf, len);
		}
	}
}

/* The operations of a decoded input, as opcodes. */
static size_t opcodes(mmt_opset_t set, const uint8_t *buf, size_t len,
		      uint16_t *out, size_t cap)
{
	struct mmt_program p;
	size_t i, n;

	decode(set, buf, len, &p);
	n = p.nr_ops < cap ? p.nr_ops : cap;
	for (i = 0; i < n; i++)
		out[i] = p.ops[i].code;
	mmt_program_free(&p);
	return n;
}

MMT_TEST(
	mutations_are_operation_level_inserts_deletes_gfp_changes_and_free_reorders)
{
	mmt_opset_t set = 0;
	int grew = 0, shrank = 0, gfp_changed = 0, frees_reordered = 0, i;

	for (i = 0; i < 2000; i++) {
		uint8_t buf[MAX_IN];
		uint16_t before[512], after[512];
		struct mmt_program p, q;
		size_t len = random_input(set, buf, sizeof(buf)), nb, na, k;

		/* start from the canonical encoding, so only the mutation differs */
		decode(set, buf, len, &p);
		len = mmt_trace_encode_set(&p, set, buf, sizeof(buf));
		nb = opcodes(set, buf, len, before, 512);
		len = mmt_mutate(set, buf, len, sizeof(buf),
				 (unsigned int)t_rand());
		na = opcodes(set, buf, len, after, 512);
		grew += na > nb;
		shrank += na < nb;
		decode(set, buf, len, &q);
		if (na == nb &&
		    !memcmp(before, after, nb * sizeof(before[0]))) {
			for (k = 0; k < p.nr_ops; k++) {
				const struct mmt_op_info *info =
					mmt_op_info(p.ops[k].code);
				int a;

				for (a = 0; a < info->nargs; a++)
					if (info->args[a].type == MMT_ARG_GFP &&
					    p.ops[k].arg[a] != q.ops[k].arg[a])
						gfp_changed++;
			}
		} else if (na == nb) {
			/* same multiset of opcodes, another order: ends reordered? */
			for (k = 0; k < nb; k++)
				if (before[k] != after[k] &&
				    mmt_op_info(before[k])->ends &&
				    mmt_op_info(after[k])->ends)
					frees_reordered++;
		}
		mmt_program_free(&p);
		mmt_program_free(&q);
	}
	MMT_CHECK_MSG(grew > 100 && shrank > 100, "grew %d shrank %d", grew,
		      shrank);
	MMT_CHECK_MSG(gfp_changed > 20, "gfp changed %d", gfp_changed);
	MMT_CHECK_MSG(frees_reordered > 5, "frees reordered %d",
		      frees_reordered);
}

MMT_TEST(crossover_takes_operations_from_both_parents)
{
	mmt_opset_t set = 0;
	int both = 0, i;

	for (i = 0; i < 300; i++) {
		uint8_t a[MAX_IN], b[MAX_IN], out[MAX_IN];
		uint16_t oa[512], ob[512], oo[512];
		size_t la = random_input(set, a, sizeof(a));
		size_t lb = random_input(set, b, sizeof(b)), lo, na, nb, no, k;
		bool from_a = false, from_b = false;

		lo = mmt_crossover(set, a, la, b, lb, out, sizeof(out),
				   (unsigned int)t_rand());
		MMT_CHECK(lo >= 1 && lo <= sizeof(out));
		check_canonical(set, out, lo);
		na = opcodes(set, a, la, oa, 512);
		nb = opcodes(set, b, lb, ob, 512);
		no = opcodes(set, out, lo, oo, 512);
		/* a's first operation leads, or b's run does */
		for (k = 0; k < no; k++) {
			from_a |= na && oo[k] == oa[0];
			from_b |= nb && oo[k] == ob[nb > 1 ? 1 : 0];
		}
		both += from_a && from_b;
	}
	MMT_CHECK_MSG(both > 30, "%d of 300 crossovers mixed both parents",
		      both);
}

MMT_TEST(trimming_drops_exactly_one_operation_at_a_time)
{
	mmt_opset_t set = 0;
	int i;

	for (i = 0; i < 300; i++) {
		uint8_t in[MAX_IN], out[MAX_IN];
		struct mmt_program p;
		size_t len = random_input(set, in, sizeof(in)), nr, olen, idx;

		decode(set, in, len, &p);
		len = mmt_trace_encode_set(&p, set, in, sizeof(in));
		mmt_program_free(&p);
		nr = mmt_mutator_nr_ops(set, in, len);
		if (!nr)
			continue;
		idx = t_rand_below(nr);
		olen = mmt_mutator_drop_op(set, in, len, idx, out, sizeof(out),
					   &nr);
		MMT_CHECK(olen >= 1);
		/* one fewer, or more when the repair skips a now-dangling use */
		MMT_CHECK(mmt_mutator_nr_ops(set, out, olen) <= nr - 1);
		MMT_CHECK_EQ(mmt_mutator_drop_op(set, in, len, nr, out,
						 sizeof(out), &nr),
			     0);
	}
}

/* ---- concurrent inputs ---- */

static mmt_opset_t target_set(const char *name)
{
	mmt_opset_t set = 0;

	MMT_CHECK(mmt_trace_target_ops(name, &set));
	return set;
}

/* A concurrent input: ops on three CPUs, a schedule with decisions. */
static size_t mt_input(mmt_opset_t set, const char *text, uint8_t *buf,
		       size_t cap)
{
	struct mmt_program p;
	char err[256];
	size_t n;

	MMT_CHECK_MSG(mmt_trace_parse(text, strlen(text), "mt", &p, err,
				      sizeof(err)),
		      "%s", err);
	n = mmt_trace_encode_set(&p, set, buf, cap);
	MMT_CHECK(n <= cap);
	mmt_program_free(&p);
	return n;
}

static const char mt_text[] = "mmtorture-trace 1\n"
			      "machine cpus=3 sched=input\n"
			      "c0 = kmem_cache_create size=64 0\n"
			      "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "o0 = kmalloc size=100 GFP_KERNEL\n"
			      "cpu 1\n"
			      "co1 = kmem_cache_alloc c0 GFP_KERNEL\n"
			      "kmem_cache_free co0\n"
			      "o1 = kmalloc size=101 GFP_KERNEL\n"
			      "cpu 2\n"
			      "o2 = kmalloc size=102 GFP_KERNEL\n"
			      "kmem_cache_free co1\n"
			      "decisions 0 1 2 1 0 2 2 1\n";

/*
 * The schedule is mutated too: decisions change, come and go, and the
 * source and PCT parameters change; every result decodes to a canonical
 * schedule (what the parser and the codec accept).
 */
MMT_TEST(mutator_mutates_the_schedule_of_concurrent_inputs_and_keeps_it_valid)
{
	mmt_opset_t set = target_set("slab-mt");
	int more = 0, fewer = 0, changed = 0, source = 0, i;
	struct mmt_program p0;
	uint8_t in[MAX_IN];
	size_t len0 = mt_input(set, mt_text, in, sizeof(in));

	decode(set, in, len0, &p0);
	MMT_CHECK_EQ(p0.sched.nr_decisions, 8);
	for (i = 0; i < 2000; i++) {
		uint8_t buf[MAX_IN];
		struct mmt_program q;
		size_t len;

		len = mutate_copy(set, in, len0, buf);
		check_canonical(set, buf, len);
		decode(set, buf, len, &q);
		MMT_CHECK(q.sched.source < MMT_NR_SCHED_SOURCES);
		MMT_CHECK(q.sched.source != MMT_SCHED_SEQ ||
			  !q.sched.nr_decisions);
		more += q.sched.nr_decisions > p0.sched.nr_decisions;
		fewer += q.sched.nr_decisions < p0.sched.nr_decisions;
		changed += q.sched.nr_decisions == p0.sched.nr_decisions &&
			   memcmp(q.sched.decisions, p0.sched.decisions,
				  8 * sizeof(uint16_t));
		source += q.sched.source != p0.sched.source;
		mmt_program_free(&q);
	}
	MMT_CHECK_MSG(more > 20 && fewer > 20 && changed > 20 && source > 5,
		      "more %d fewer %d changed %d source %d", more, fewer,
		      changed, source);
	mmt_program_free(&p0);
}

/* Sizes of the kmalloc objects CPU @cpu's thread allocates, as a bitmask of size - 100. */
static unsigned int cpu_kmallocs(const struct mmt_program *p, unsigned int cpu)
{
	unsigned int cur = 0, mask = 0;
	size_t i;

	for (i = 0; i < p->nr_ops; i++) {
		if (p->ops[i].code == MMT_OP_CPU)
			cur = p->ops[i].arg[0];
		if (p->ops[i].code == MMT_OP_KMALLOC && cur == cpu &&
		    p->ops[i].arg[0] >= 100 && p->ops[i].arg[0] < 132)
			mask |= 1u << (p->ops[i].arg[0] - 100);
	}
	return mask;
}

/*
 * Per-CPU crossover: the child has one CPU's thread from the other parent
 * (its kmalloc sizes, 110..112 here) and none of its own for that CPU,
 * while its other threads and its schedule stay.
 */
MMT_TEST(crossover_takes_a_whole_cpu_thread_from_the_other_parent)
{
	static const char b_text[] = "mmtorture-trace 1\n"
				     "machine cpus=3 sched=rr\n"
				     "cpu 2\n"
				     "o0 = kmalloc size=112 GFP_KERNEL\n"
				     "cpu 1\n"
				     "o1 = kmalloc size=111 GFP_KERNEL\n"
				     "kfree o1\n"
				     "cpu 0\n"
				     "o2 = kmalloc size=110 GFP_KERNEL\n";
	mmt_opset_t set = target_set("stack-mt");
	uint8_t a[MAX_IN], b[MAX_IN];
	size_t la = mt_input(set, mt_text, a, sizeof(a));
	size_t lb = mt_input(set, b_text, b, sizeof(b));
	int swapped[3] = { 0 }, i;

	for (i = 0; i < 600; i++) {
		uint8_t out[MAX_IN];
		struct mmt_program q;
		size_t lo;
		unsigned int c;

		lo = mmt_crossover(set, a, la, b, lb, out, sizeof(out),
				   (unsigned int)t_rand());
		check_canonical(set, out, lo);
		decode(set, out, lo, &q);
		for (c = 0; c < 3; c++) {
			unsigned int o, whole = 1;

			/* CPU c's thread is b's, the others a's as they were */
			for (o = 0; o < 3; o++)
				whole &= cpu_kmallocs(&q, o) ==
					 (o == c ? 1u << (10 + c) : 1u << o);
			if (!whole)
				continue;
			MMT_CHECK_EQ(q.sched.source, MMT_SCHED_INPUT);
			MMT_CHECK_EQ(q.sched.nr_decisions, 8);
			swapped[c]++;
		}
		mmt_program_free(&q);
	}
	MMT_CHECK_MSG(swapped[0] > 10 && swapped[1] > 10 && swapped[2] > 10,
		      "threads taken whole: cpu0 %d cpu1 %d cpu2 %d",
		      swapped[0], swapped[1], swapped[2]);
}

MMT_TEST(mutator_and_crossover_are_deterministic_on_concurrent_inputs)
{
	mmt_opset_t set = target_set("stack-mt");
	uint8_t in[MAX_IN], other[MAX_IN], a[MAX_IN], b[MAX_IN];
	size_t len = mt_input(set, mt_text, in, sizeof(in));
	int i;

	for (i = 0; i < 300; i++) {
		size_t lo = random_input(set, other, sizeof(other)), la, lb;
		unsigned int seed = (unsigned int)t_rand();

		memcpy(a, in, len);
		memcpy(b, in, len);
		la = mmt_mutate(set, a, len, sizeof(a), seed);
		lb = mmt_mutate(set, b, len, sizeof(b), seed);
		MMT_CHECK_EQ(la, lb);
		MMT_CHECK(!memcmp(a, b, la));
		la = mmt_crossover(set, in, len, other, lo, a, sizeof(a), seed);
		lb = mmt_crossover(set, in, len, other, lo, b, sizeof(b), seed);
		MMT_CHECK_EQ(la, lb);
		MMT_CHECK(!memcmp(a, b, la));
	}
}

/* Handlers of @p: how many, and where each opens (a bitmask of indices). */
static unsigned int handlers(const struct mmt_program *p, uint64_t *where)
{
	unsigned int n = 0;
	size_t i;

	*where = 0;
	for (i = 0; i < p->nr_ops; i++)
		if (p->ops[i].code == MMT_OP_INTERRUPT) {
			n++;
			if (i < 64)
				*where |= 1ull << i;
		}
	return n;
}

/*
 * Over slab-mt the mutator adds interrupt handlers, removes them and
 * moves them, and every result is a valid program (it prints and parses
 * back; a handler never holds an operation that may sleep: the decoder's
 * rules, which the text parser applies to handlers too).
 */
MMT_TEST(mutator_adds_moves_and_removes_interrupt_handlers_and_keeps_them_valid)
{
	static const char text[] = "mmtorture-trace 1\n"
				   "machine cpus=2 sched=random sched_seed=1\n"
				   "c0 = kmem_cache_create size=64 0\n"
				   "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
				   "interrupt irq\n"
				   "  co1 = kmem_cache_alloc c0 GFP_ATOMIC\n"
				   "exit\n"
				   "o0 = kmalloc size=100 GFP_KERNEL\n"
				   "cpu 1\n"
				   "kmem_cache_free co0\n"
				   "kmem_cache_free co1\n"
				   "kfree o0\n";
	mmt_opset_t set = target_set("slab-mt");
	uint64_t where0;
	int more = 0, fewer = 0, moved = 0, i;
	struct mmt_program p0;
	uint8_t in[MAX_IN];
	size_t len0 = mt_input(set, text, in, sizeof(in));
	unsigned int n0;

	decode(set, in, len0, &p0);
	n0 = handlers(&p0, &where0);
	MMT_CHECK_EQ(n0, 1);
	for (i = 0; i < 3000; i++) {
		uint8_t buf[MAX_IN];
		struct mmt_program q;
		uint64_t where;
		unsigned int n;
		size_t len;

		len = mutate_copy(set, in, len0, buf);
		check_canonical(set, buf, len);
		decode(set, buf, len, &q);
		n = handlers(&q, &where);
		more += n > n0;
		fewer += n < n0;
		moved += n == n0 && where != where0;
		mmt_program_free(&q);
	}
	MMT_CHECK_MSG(more > 20 && fewer > 20 && moved > 20,
		      "more %d fewer %d moved %d", more, fewer, moved);
	/* Without handlers in the set, none is ever made. */
	for (i = 0; i < 500; i++) {
		mmt_opset_t pset = target_set("mempool-mt");
		uint64_t where;
		uint8_t buf[MAX_IN];
		struct mmt_program q;
		size_t len = random_input(pset, buf, sizeof(buf));

		len = mmt_mutate(pset, buf, len, sizeof(buf),
				 (unsigned int)t_rand());
		decode(pset, buf, len, &q);
		MMT_CHECK_EQ(handlers(&q, &where), 0);
		mmt_program_free(&q);
	}
	mmt_program_free(&p0);
}

/*
 * A cgroup-offline race over slab=sheaves under PREEMPT_RT rules (the
 * shape of corpora/slab-mt/seeds/sheaves-rt-cgroup-offline-racing-frees):
 * CPU 0 frees objects of the cgroup's child cache, CPU 1 takes the cgroup
 * offline.  Its PCT k (pct_steps) is @steps; 0 leaves it to the
 * interpreter's estimate of two decision points per operation.
 */
static void rt_offline_text(char *buf, size_t len, unsigned int steps)
{
	snprintf(buf, len,
		 "mmtorture-trace 1\n"
		 "machine cpus=2 dma32=64 slab=sheaves rt=on oracles=2 "
		 "sched=pct sched_seed=1 pct_depth=2 pct_steps=%u\n"
		 "c0 = kmem_cache_create size=2048 ACCOUNT\n"
		 "g0 = cgroup_create\n"
		 "cgroup_enter g0\n"
		 "cb0 = kmem_cache_alloc_bulk c0 GFP_KERNEL count=16\n"
		 "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
		 "kmem_cache_free_bulk cb0\n"
		 "cpu 1\n"
		 "kmem_cache_free co0\n"
		 "cgroup_offline g0\n",
		 steps);
}

/*
 * The PCT k the mutator gives a concurrent input is on the scale of the
 * program, log-uniform from 2 to 512 decision points per operation: the
 * interpreter's estimate (two per operation) is ten times too small for a
 * bulk allocation or a cgroup offline, and a k uniform up to 4096 almost
 * never fell below 8 per operation.  Every scale gets its share; a
 * quarter of the changes go back to the estimate (0).
 */
MMT_TEST(mutator_gives_pct_a_k_log_uniform_on_the_scale_of_the_program)
{
	mmt_opset_t set = target_set("slab-mt");
	unsigned int band[3] = { 0 }, zero = 0, set_k = 0, i;
	uint8_t in[MAX_IN];
	char text[1024];
	size_t len0;

	rt_offline_text(text, sizeof(text), 100);
	len0 = mt_input(set, text, in, sizeof(in));
	for (i = 0; i < 20000; i++) {
		uint8_t buf[MAX_IN];
		struct mmt_program q;
		size_t len;
		double per_op;

		len = mutate_copy(set, in, len0, buf);
		decode(set, buf, len, &q);
		if (q.sched.source == MMT_SCHED_PCT &&
		    q.sched.pct_steps != 100) {
			set_k++;
			/* stacked mutations may have added or removed a few */
			per_op = q.sched.pct_steps / (double)(q.nr_ops + 4);
			if (!q.sched.pct_steps)
				zero++;
			else if (per_op < 8)
				band[0]++;
			else if (per_op < 64)
				band[1]++;
			else
				band[2]++;
			MMT_CHECK_MSG(!q.sched.pct_steps ||
					      (per_op >= 1 && per_op <= 1024),
				      "k %u for %zu operations",
				      q.sched.pct_steps, q.nr_ops);
		}
		mmt_program_free(&q);
	}
	MMT_CHECK_MSG(set_k > 100, "k changed %u times", set_k);
	MMT_CHECK_MSG(zero > set_k / 8 && zero < set_k / 2 &&
			      band[0] > set_k / 8 && band[1] > set_k / 5 &&
			      band[2] > set_k / 5,
		      "k: estimate %u, <8/op %u, 8-64/op %u, >=64/op %u of %u",
		      zero, band[0], band[1], band[2], set_k);
}

/*
 * A seeded schedule (PCT, random) decides every point past its decisions:
 * a new seed is a new schedule, and the mutator draws one for at least
 * one mutant in twelve (one in forty-five before: the parameter branch one
 * schedule mutation in eight, the seed a quarter of that).
 */
MMT_TEST(mutator_reseeds_pct_and_random_schedules_often)
{
	static const char *const srcs[] = { "pct sched_seed=1 pct_depth=2",
					    "random sched_seed=1" };
	mmt_opset_t set = target_set("slab-mt");
	unsigned int s, i;

	for (s = 0; s < 2; s++) {
		unsigned int reseeded = 0, same_source = 0;
		uint8_t in[MAX_IN];
		char text[1024];
		size_t len0;

		snprintf(text, sizeof(text),
			 "mmtorture-trace 1\n"
			 "machine cpus=2 slab=sheaves rt=on sched=%s\n"
			 "c0 = kmem_cache_create size=2048 ACCOUNT\n"
			 "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
			 "cpu 1\n"
			 "kmem_cache_free co0\n",
			 srcs[s]);
		len0 = mt_input(set, text, in, sizeof(in));
		for (i = 0; i < 4000; i++) {
			uint8_t buf[MAX_IN];
			struct mmt_program p0, q;
			size_t len;

			len = mutate_copy(set, in, len0, buf);
			check_canonical(set, buf, len);
			decode(set, in, len0, &p0);
			decode(set, buf, len, &q);
			if (q.sched.source == p0.sched.source) {
				same_source++;
				reseeded += q.sched.seed != p0.sched.seed;
			}
			mmt_program_free(&p0);
			mmt_program_free(&q);
		}
		MMT_CHECK_MSG(reseeded > same_source / 12,
			      "%s: reseeded %u of %u", srcs[s], reseeded,
			      same_source);
	}
}

/*
 * Why the fuzzers found sheaf-flush-rt-trylock so rarely, and that the
 * mutator now reaches it.  The bug needs CPU 0 stopped inside its sheaf
 * section (at the barn's lock, in the ninth free or later) while CPU 1's
 * offline flushes its sheaves: a preemption about a hundred decision
 * points in.  PCT with the interpreter's estimate (k = 2 per operation:
 * 26) puts its change point in the first 26 points and never gets there,
 * whatever its seed; with k on the run's scale (147, what `mmtorture pct`
 * measures) some seeds do.  Mutants of the program with that k - most
 * mutations keep the program and change its PCT seed or other details -
 * find it by dead-cache-leak; the program's own schedule does not.
 */
MMT_TEST(pct_mutants_of_a_cgroup_offline_race_find_sheaf_flush_rt_trylock)
{
	mmt_opset_t set = target_set("slab-mt");
	const struct mmt_bug_info *bug = mmt_bug_find("sheaf-flush-rt-trylock");
	struct mmt_exec_opts o;
	struct mmt_finding f;
	struct mmt_program p;
	unsigned int seed, i, estimate = 0, scaled = 0, mutants = 0;
	uint8_t in[MAX_IN];
	char text[1024];
	size_t len0;

	MMT_CHECK(bug != NULL);
	mmt_exec_opts_default(&o);
	o.override_bugs = true;
	o.bugs = 1ull << bug->bug;
	for (seed = 1; seed <= 200; seed++) {
		rt_offline_text(text, sizeof(text), 0);
		mmt_program_init(&p);
		MMT_CHECK(
			mmt_trace_parse(text, strlen(text), "t", &p, NULL, 0));
		p.sched.seed = seed;
		estimate += mmt_trace_execute(&p, &o, &f) == MMT_EXEC_FINDING;
		mmt_finding_free(&f);
		p.sched.pct_steps = 147;
		scaled += mmt_trace_execute(&p, &o, &f) == MMT_EXEC_FINDING;
		mmt_finding_free(&f);
		mmt_program_free(&p);
	}
	MMT_CHECK_MSG(estimate == 0 && scaled >= 2,
		      "PCT seeds 1..200 finding it: k estimated %u, k 147 %u",
		      estimate, scaled);
	rt_offline_text(text, sizeof(text), 147);
	len0 = mt_input(set, text, in, sizeof(in));
	decode(set, in, len0, &p);
	MMT_CHECK_EQ(mmt_trace_execute(&p, &o, &f), MMT_EXEC_OK);
	mmt_finding_free(&f);
	mmt_program_free(&p);
	for (i = 0; i < 3000; i++) {
		uint8_t buf[MAX_IN];
		size_t len;

		len = mutate_copy(set, in, len0, buf);
		decode(set, buf, len, &p);
		if (mmt_trace_execute(&p, &o, &f) == MMT_EXEC_FINDING) {
			MMT_CHECK_STR(f.oracle, "dead-cache-leak");
			mutants++;
		}
		mmt_finding_free(&f);
		mmt_program_free(&p);
	}
	MMT_CHECK_MSG(mutants >= 5, "%u of 3000 mutants found it", mutants);
	fprintf(stderr, "sheaf-flush-rt-trylock: %u of 3000 mutants\n",
		mutants);
}
