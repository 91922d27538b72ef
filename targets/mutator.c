/* SPDX-License-Identifier: MIT */
/*
 * targets/mutator.c - structure-aware mutation of operation-language
 * programs (see mutator.h).
 *
 * Algorithm.  The input is decoded (decoding is total, so every input has
 * a program) into a list of nodes.  A node is an operation plus, for each
 * handle argument, the id of the node that created that handle (its
 * definition) instead of the handle's serial number: serials are positional
 * (the k-th page created is p<k>), so any insertion, deletion or move would
 * silently retarget every later reference.  Mutations edit the node list;
 * then serials are recomputed from the new order and the program is
 * encoded.  A reference whose definition was deleted or now comes after the
 * use encodes as "not live" and the decoder picks a live handle of the
 * kind (or skips the operation): the result always decodes, and decoding
 * repairs whatever the mutation broke (a free moved before its allocation,
 * a cpu switch moved into an irq, ...).
 *
 * Concurrent inputs (a set with MMT_TRACE_SET_MT): the schedule travels
 * with the nodes (source, seed, PCT parameters and the decisions) and is
 * encoded back with them.  Schedule mutations change one decision, insert
 * one (a new preemption: every later decision moves one point on), remove
 * one, move one, or change the source and its parameters; crossover may
 * take one CPU's whole thread from the other input (a per-CPU crossover:
 * the thread's operations leave, the other input's thread for that CPU
 * comes in as one segment at a boundary between segments).  Every result
 * is re-encoded through the codec, so it decodes to a valid program with
 * a canonical schedule whatever the mutation did.  Over a target with
 * interrupt handlers a mutation adds one, removes, unwraps or moves one,
 * or wraps operations into one (mutate_handler).
 *
 * Deterministic: every random choice comes from splitmix64 seeded with the
 * engine's seed.  Nothing here allocates per operation beyond the node
 * arrays, which are sized by the input.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/mmt.h"
#include "mutator.h"

#define NO_DEF UINT32_MAX
#define MAX_NODES MMT_TRACE_MAX_OPS

/* ---- randomness ---- */

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(next(s) % n) : 0;
}

/* ---- the node list ---- */

struct node {
	struct mmt_op op;
	uint32_t id; /* stable across edits */
	uint32_t def[MMT_TRACE_MAX_ARGS]; /* creator's id per handle arg */
};

struct nodes {
	struct mmt_trace_header hdr;
	struct mmt_trace_schedule sched; /* decisions: ours (malloc'd) */
	uint32_t dec_cap;
	bool mt; /* a concurrent input: the schedule is mutated too */
	struct node *v;
	size_t n, cap;
	uint32_t next_id;
};

static bool nodes_reserve(struct nodes *ns, size_t n)
{
	struct node *v;

	if (n <= ns->cap)
		return true;
	if (n > MAX_NODES)
		return false;
	v = realloc(ns->v, n * sizeof(*v));
	if (!v)
		return false;
	ns->v = v;
	ns->cap = n;
	return true;
}

static void nodes_free(struct nodes *ns)
{
	free(ns->v);
	free(ns->sched.decisions);
	memset(ns, 0, sizeof(*ns));
}

static bool is_handle(const struct mmt_op_info *info, int a)
{
	return info->args[a].type == MMT_ARG_HANDLE;
}

/* Decode @data and turn handle serials into creator ids. */
static bool nodes_from_bytes(struct nodes *ns, mmt_opset_t set,
			     const uint8_t *data, size_t size)
{
	struct mmt_program p;
	uint32_t *creator[MMT_NR_HANDLE_KINDS] = { 0 };
	uint32_t nr[MMT_NR_HANDLE_KINDS] = { 0 };
	bool ok = false;
	size_t i;
	int k, a;

	memset(ns, 0, sizeof(*ns));
	mmt_program_init(&p);
	mmt_trace_decode_set(data, size, set, &p);
	ns->hdr = p.hdr;
	ns->mt = set & MMT_TRACE_SET_MT;
	/* The schedule's decisions move over to the nodes. */
	ns->sched = p.sched;
	ns->dec_cap = p.sched.nr_decisions;
	p.sched.decisions = NULL;
	p.sched.nr_decisions = 0;
	/* One extra slot: most mutations grow the program by one node. */
	if (!nodes_reserve(ns,
			   p.nr_ops + 8 < MAX_NODES ? p.nr_ops + 8 : MAX_NODES))
		goto out;
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++) {
		creator[k] = calloc(p.nr_handles[k] + 1, sizeof(uint32_t));
		if (!creator[k])
			goto out;
	}
	for (i = 0; i < p.nr_ops; i++) {
		const struct mmt_op_info *info = mmt_op_info(p.ops[i].code);
		struct node *nd = &ns->v[i];

		nd->op = p.ops[i];
		nd->id = ns->next_id++;
		for (a = 0; a < MMT_TRACE_MAX_ARGS; a++) {
			nd->def[a] = NO_DEF;
			if (a < info->nargs && is_handle(info, a)) {
				k = info->args[a].kind;
				if (nd->op.arg[a] < nr[k])
					nd->def[a] = creator[k][nd->op.arg[a]];
			}
		}
		if (info->result != MMT_H_NONE &&
		    nr[info->result] < p.nr_handles[info->result])
			creator[info->result][nr[info->result]++] = nd->id;
	}
	ns->n = p.nr_ops;
	ok = true;
out:
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++)
		free(creator[k]);
	mmt_program_free(&p);
	return ok;
}

/* Recompute serials from the order and encode; drop ops from the end to fit. */
static size_t nodes_to_bytes(struct nodes *ns, mmt_opset_t set, uint8_t *out,
			     size_t max_size)
{
	struct mmt_program p;
	uint32_t *serial = NULL; /* by id */
	uint32_t nr[MMT_NR_HANDLE_KINDS] = { 0 };
	size_t i, need = 0;
	int a;

	mmt_program_init(&p);
	p.hdr = ns->hdr;
	/* Borrowed: detached again before mmt_program_free(). */
	p.sched = ns->sched;
	serial = malloc((ns->next_id + 1) * sizeof(*serial));
	if (!serial)
		goto fallback;
	for (i = 0; i < ns->next_id; i++)
		serial[i] = NO_DEF;
	for (i = 0; i < ns->n; i++) {
		struct node *nd = &ns->v[i];
		const struct mmt_op_info *info = mmt_op_info(nd->op.code);
		struct mmt_op op = nd->op;

		for (a = 0; a < info->nargs; a++)
			if (is_handle(info, a))
				op.arg[a] = nd->def[a] != NO_DEF ?
						    serial[nd->def[a]] :
						    NO_DEF;
		if (info->result != MMT_H_NONE)
			serial[nd->id] = nr[info->result]++;
		if (!mmt_program_append(&p, &op))
			break;
	}
	for (;;) {
		need = mmt_trace_encode_set(&p, set, NULL, 0);
		if (need <= max_size ||
		    (p.nr_ops == 0 && p.sched.nr_decisions == 0))
			break;
		/* Too long for the engine: cut the tail, decisions first. */
		if (p.sched.nr_decisions > p.nr_ops)
			p.sched.nr_decisions--;
		else
			p.nr_ops--;
	}
	if (need > max_size)
		goto fallback;
	mmt_trace_encode_set(&p, set, out, max_size);
	free(serial);
	p.sched.decisions = NULL;
	mmt_program_free(&p);
	return need ? need : 1;
fallback:
	free(serial);
	p.sched.decisions = NULL;
	mmt_program_free(&p);
	if (max_size)
		out[0] = 0;
	return 1;
}

/* ---- choosing things ---- */

static bool allowed(mmt_opset_t set, unsigned int code)
{
	return code < MMT_NR_OPCODES && (set >> code) & 1;
}

/* A random creator of @kind among v[0..before), or NO_DEF. */
static uint32_t pick_def(struct nodes *ns, uint64_t *rng, int kind,
			 size_t before)
{
	size_t i, count = 0, want;

	for (i = 0; i < before; i++)
		if (mmt_op_info(ns->v[i].op.code)->result == kind)
			count++;
	if (!count)
		return NO_DEF;
	want = below(rng, (uint32_t)count);
	for (i = 0; i < before; i++)
		if (mmt_op_info(ns->v[i].op.code)->result == kind &&
		    want-- == 0)
			return ns->v[i].id;
	return NO_DEF;
}

static mmt_gfp_t random_gfp(uint64_t *rng)
{
	size_t nr, nr_comp = 0, i;
	const struct mmt_gfp_name *names = mmt_gfp_names(&nr);
	mmt_gfp_t gfp = 0;

	for (i = 0; i < nr; i++)
		nr_comp += names[i].composite;
	if (nr_comp)
		gfp = names[below(rng, (uint32_t)nr_comp)].mask;
	/* a modifier or two, most of the time */
	while (below(rng, 3) == 0)
		gfp |= 1u << below(rng, MMT_GFP_NR_BITS);
	return gfp;
}

/* A fresh value for non-handle argument @a of @op. */
static uint32_t random_arg(const struct mmt_arg_info *ai,
			   const struct nodes *ns, uint64_t *rng)
{
	switch (ai->type) {
	case MMT_ARG_CPU:
		return below(rng,
			     (uint32_t)(ns->hdr.nr_cpus > 0 ? ns->hdr.nr_cpus :
							      1));
	case MMT_ARG_NODE:
		return below(rng, (uint32_t)(ns->hdr.nr_nodes > 0 ?
						     ns->hdr.nr_nodes :
						     1));
	case MMT_ARG_ORDER:
		/* small orders are where the pcp lists are */
		return below(rng, 4) ?
			       below(rng, MMT_PAGE_ALLOC_COSTLY_ORDER + 1) :
			       below(rng, MMT_MAX_ORDER);
	case MMT_ARG_GFP:
		return random_gfp(rng);
	case MMT_ARG_SIZE: {
		static const uint32_t sizes[] = { 8,	16,   32,   64,	  96,
						  128,	192,  256,  512,  1024,
						  2048, 4096, 8192, 12288 };

		return below(rng, 2) ?
			       sizes[below(rng,
					   sizeof(sizes) / sizeof(sizes[0]))] :
			       1 + below(rng, MMT_TRACE_MAX_SIZE);
	}
	case MMT_ARG_COUNT:
		return below(rng, 2) ? 1 + below(rng, 8) : 1 + below(rng, 64);
	case MMT_ARG_SLAB_FLAGS:
		return below(rng, 256);
	case MMT_ARG_ENUM:
		return below(rng, mmt_trace_enum_size(ai->kind));
	default:
		return 0;
	}
}

/* A random operation of @set valid as a node at @pos; false if none fits. */
static bool random_node(struct nodes *ns, mmt_opset_t set, uint64_t *rng,
			size_t pos, struct node *out)
{
	int tries, a;

	for (tries = 0; tries < 16; tries++) {
		unsigned int code = below(rng, MMT_NR_OPCODES);
		const struct mmt_op_info *info;
		bool ok = true;

		if (!allowed(set, code))
			continue;
		info = mmt_op_info(code);
		memset(out, 0, sizeof(*out));
		out->op.code = (uint16_t)code;
		for (a = 0; a < MMT_TRACE_MAX_ARGS; a++)
			out->def[a] = NO_DEF;
		for (a = 0; a < info->nargs && ok; a++) {
			if (is_handle(info, a)) {
				out->def[a] = pick_def(ns, rng,
						       info->args[a].kind, pos);
				ok = out->def[a] != NO_DEF;
			} else {
				out->op.arg[a] =
					random_arg(&info->args[a], ns, rng);
			}
		}
		if (ok) {
			out->id = ns->next_id++;
			return true;
		}
	}
	return false;
}

static void insert_at(struct nodes *ns, size_t pos, const struct node *nd)
{
	memmove(&ns->v[pos + 1], &ns->v[pos], (ns->n - pos) * sizeof(*nd));
	ns->v[pos] = *nd;
	ns->n++;
}

static void remove_at(struct nodes *ns, size_t pos)
{
	memmove(&ns->v[pos], &ns->v[pos + 1],
		(ns->n - pos - 1) * sizeof(ns->v[0]));
	ns->n--;
}

static void move_node(struct nodes *ns, size_t from, size_t to)
{
	struct node tmp = ns->v[from];

	remove_at(ns, from);
	if (to > ns->n)
		to = ns->n;
	insert_at(ns, to, &tmp);
}

/* Index of a random node satisfying @pred, or SIZE_MAX. */
static size_t pick_node(struct nodes *ns, uint64_t *rng,
			bool (*pred)(const struct node *, const void *),
			const void *arg)
{
	size_t i, count = 0, want;

	for (i = 0; i < ns->n; i++)
		count += pred(&ns->v[i], arg);
	if (!count)
		return SIZE_MAX;
	want = below(rng, (uint32_t)count);
	for (i = 0; i < ns->n; i++)
		if (pred(&ns->v[i], arg) && want-- == 0)
			return i;
	return SIZE_MAX;
}

static bool has_arg_type(const struct node *nd, const void *arg)
{
	const struct mmt_op_info *info = mmt_op_info(nd->op.code);
	int type = *(const int *)arg, a;

	for (a = 0; a < info->nargs; a++)
		if (info->args[a].type == type)
			return true;
	return false;
}

static bool is_end(const struct node *nd, const void *arg)
{
	(void)arg;
	return mmt_op_info(nd->op.code)->ends != 0;
}

static bool uses_def(const struct node *nd, const void *arg)
{
	uint32_t id = *(const uint32_t *)arg;
	int a;

	for (a = 0; a < MMT_TRACE_MAX_ARGS; a++)
		if (nd->def[a] == id)
			return true;
	return false;
}

static int arg_of_type(const struct node *nd, int type, uint64_t *rng)
{
	const struct mmt_op_info *info = mmt_op_info(nd->op.code);
	int a, count = 0, want;

	for (a = 0; a < info->nargs; a++)
		count += info->args[a].type == type;
	if (!count)
		return -1;
	want = (int)below(rng, (uint32_t)count);
	for (a = 0; a < info->nargs; a++)
		if (info->args[a].type == type && want-- == 0)
			return a;
	return -1;
}

/* ---- the mutations ---- */

enum mutation {
	M_INSERT,
	M_DELETE,
	M_DUPLICATE,
	M_MOVE,
	M_GFP,
	M_NUMBER,
	M_RETARGET,
	M_FREE_SWAP,
	M_FREE_REVERSE,
	M_FREE_AROUND_USE,
	M_HEADER,
	M_SCHEDULE, /* concurrent inputs only */
	M_HANDLER, /* targets with interrupt handlers only */
	NR_MUTATIONS
};

static bool mutate_gfp(struct nodes *ns, uint64_t *rng)
{
	int type = MMT_ARG_GFP, a;
	size_t i = pick_node(ns, rng, has_arg_type, &type);
	uint32_t *g;

	if (i == SIZE_MAX)
		return false;
	a = arg_of_type(&ns->v[i], MMT_ARG_GFP, rng);
	g = &ns->v[i].op.arg[a];
	switch (below(rng, 4)) {
	case 0: /* flip one bit */
		*g ^= 1u << below(rng, MMT_GFP_NR_BITS);
		break;
	case 1: /* set one */
		*g |= 1u << below(rng, MMT_GFP_NR_BITS);
		break;
	case 2: /* clear one */
		*g &= ~(1u << below(rng, MMT_GFP_NR_BITS));
		break;
	default: /* another named composite, keeping the modifiers */
		*g = random_gfp(rng);
		break;
	}
	return true;
}

static bool mutate_number(struct nodes *ns, uint64_t *rng)
{
	static const int types[] = { MMT_ARG_ORDER,	MMT_ARG_SIZE,
				     MMT_ARG_COUNT,	MMT_ARG_CPU,
				     MMT_ARG_NODE,	MMT_ARG_ENUM,
				     MMT_ARG_SLAB_FLAGS };
	int type = types[below(rng, sizeof(types) / sizeof(types[0]))], a;
	size_t i = pick_node(ns, rng, has_arg_type, &type);
	const struct mmt_op_info *info;
	uint32_t *v;

	if (i == SIZE_MAX)
		return false;
	info = mmt_op_info(ns->v[i].op.code);
	a = arg_of_type(&ns->v[i], type, rng);
	v = &ns->v[i].op.arg[a];
	if (type == MMT_ARG_SIZE && below(rng, 2)) {
		/* near the old size: size-class edges are where bugs are */
		int32_t d = (int32_t)below(rng, 17) - 8;

		*v = (uint32_t)((int32_t)*v + d > 0 ? (int32_t)*v + d : 1);
	} else {
		*v = random_arg(&info->args[a], ns, rng);
	}
	return true;
}

/* Another handle of the same kind (another cache, another pool, ...). */
static bool mutate_retarget(struct nodes *ns, uint64_t *rng)
{
	int type = MMT_ARG_HANDLE, a;
	size_t i = pick_node(ns, rng, has_arg_type, &type);
	uint32_t def;

	if (i == SIZE_MAX)
		return false;
	a = arg_of_type(&ns->v[i], MMT_ARG_HANDLE, rng);
	def = pick_def(ns, rng, mmt_op_info(ns->v[i].op.code)->args[a].kind, i);
	if (def == NO_DEF)
		return false;
	ns->v[i].def[a] = def;
	return true;
}

static bool mutate_free_order(struct nodes *ns, uint64_t *rng, enum mutation m)
{
	size_t i = pick_node(ns, rng, is_end, NULL), j, lo, hi;

	if (i == SIZE_MAX)
		return false;
	switch (m) {
	case M_FREE_SWAP: {
		struct node tmp;

		j = pick_node(ns, rng, is_end, NULL);
		if (j == i)
			return false;
		tmp = ns->v[i];
		ns->v[i] = ns->v[j];
		ns->v[j] = tmp;
		return true;
	}
	case M_FREE_REVERSE:
		/* the run of consecutive ends around i */
		for (lo = i; lo > 0 && is_end(&ns->v[lo - 1], NULL); lo--)
			;
		for (hi = i; hi + 1 < ns->n && is_end(&ns->v[hi + 1], NULL);
		     hi++)
			;
		if (lo == hi)
			return false;
		while (lo < hi) {
			struct node tmp = ns->v[lo];

			ns->v[lo++] = ns->v[hi];
			ns->v[hi--] = tmp;
		}
		return true;
	default: {
		/* before or after another use of the handle it ends */
		const struct mmt_op_info *info = mmt_op_info(ns->v[i].op.code);
		uint32_t def = ns->v[i].def[info->ends - 1];

		if (def == NO_DEF)
			return false;
		j = pick_node(ns, rng, uses_def, &def);
		if (j == SIZE_MAX || j == i)
			return false;
		move_node(ns, i, below(rng, 2) ? j : j + 1);
		return true;
	}
	}
}

static bool mutate_header(struct nodes *ns, uint64_t *rng)
{
	switch (below(rng, 4)) {
	case 0:
		ns->hdr.nr_cpus = 1 + (int)below(rng, 4);
		/* One CPU: a uniprocessor build (smp=off) half the time. */
		ns->hdr.up = ns->hdr.nr_cpus == 1 && below(rng, 2);
		break;
	case 1:
		ns->hdr.slab = (enum mmt_slab_impl)(
			(ns->hdr.slab + 1 + below(rng, 2)) % MMT_NR_SLAB_IMPLS);
		break;
	case 2:
		ns->hdr.mempool = (enum mmt_mempool_policy)below(
			rng, MMT_NR_MEMPOOL_POLICIES);
		/* The 2016 world's two halves, apart or together. */
		if (below(rng, 2))
			ns->hdr.throttle = (enum mmt_throttle_policy)below(
				rng, MMT_NR_THROTTLE_POLICIES);
		break;
	default:
		ns->hdr.rt_rules = !ns->hdr.rt_rules;
		break;
	}
	return true;
}

/* Room for one more decision. */
static bool decisions_reserve(struct nodes *ns)
{
	uint32_t cap;
	uint16_t *v;

	if (ns->sched.nr_decisions < ns->dec_cap)
		return true;
	if (ns->dec_cap >= MMT_TRACE_MAX_DECISIONS)
		return false;
	cap = ns->dec_cap ? 2 * ns->dec_cap : 16;
	if (cap > MMT_TRACE_MAX_DECISIONS)
		cap = MMT_TRACE_MAX_DECISIONS;
	v = realloc(ns->sched.decisions, cap * sizeof(*v));
	if (!v)
		return false;
	ns->sched.decisions = v;
	ns->dec_cap = cap;
	return true;
}

/*
 * A decision: an index among the runnable fibers (taken modulo their
 * number), so small values are the ones that mean something different
 * from each other: the CPU threads and a few kernel threads.
 */
static uint16_t random_decision(const struct nodes *ns, uint64_t *rng)
{
	uint32_t fibers =
		(uint32_t)(ns->hdr.nr_cpus > 0 ? ns->hdr.nr_cpus : 1) + 2;

	return (uint16_t)(below(rng, 8) ? below(rng, fibers) : below(rng, 256));
}

/*
 * PCT's k (pct_steps): the decision points its depth - 1 change points
 * are spread over.  0 leaves it to the interpreter's estimate, two points
 * per operation, which a bulk allocation, a flush of every CPU or a
 * cgroup offline exceeds tenfold (corpora/slab-mt's seeds: 1 to 40
 * decision points per operation; a 9-operation cgroup-offline race has
 * 30 to 150): change points then all fall before the late operations and
 * PCT never preempts one of them.  So 0 a quarter of the time, else k
 * from 2 to 512 points per operation, log-uniform (the right scale
 * matters, not the exact value; PCT's odds fall only linearly with an
 * overestimate).
 */
static uint16_t random_pct_steps(const struct nodes *ns, uint64_t *rng)
{
	uint64_t per_op, k;

	if (below(rng, 4) == 0)
		return 0;
	per_op = 2ull << below(rng, 8);
	per_op += below(rng, (uint32_t)per_op);
	k = per_op * (ns->n + 4);
	return (uint16_t)(k > UINT16_MAX ? UINT16_MAX : k);
}

/* PCT and random: a seeded source, where a new seed is a new schedule. */
static bool seeded_source(const struct mmt_trace_schedule *s)
{
	return s->source == MMT_SCHED_PCT || s->source == MMT_SCHED_RANDOM;
}

/*
 * The schedule: one decision changed, inserted (a preemption added: the
 * later decisions each move one point on), removed or moved; or the
 * source and its parameters.  A schedule without decisions gets one, and
 * one whose source is seq (which takes none) a concurrent source.
 *
 * A seeded source (PCT, random) decides every point past the decisions:
 * its seed is where most of the schedule's variety lives, so it gets the
 * parameter branch every other time (else one time in eight), and there a
 * new seed five times in eight.  A late preemption - a task stopped inside its
 * per-cpu section while another CPU's flush runs - is out of reach of an
 * edit of the first decisions (each decision before it would have to keep
 * the running task) and within reach of a new PCT seed whose k covers the
 * run (random_pct_steps()).
 */
static bool mutate_schedule(struct nodes *ns, uint64_t *rng)
{
	struct mmt_trace_schedule *s = &ns->sched;
	uint32_t i, j, n = s->nr_decisions;
	uint16_t d;

	if (s->source == MMT_SCHED_SEQ ||
	    below(rng, seeded_source(s) ? 2 : 8) == 0) {
		unsigned int c = below(rng, seeded_source(s) ? 8 : 4);

		/* Random has no PCT parameters: a new seed instead. */
		if (s->source == MMT_SCHED_RANDOM && (c == 2 || c == 3))
			c = 1;
		switch (c) {
		case 0:
			s->source =
				(uint8_t)(1 +
					  below(rng, MMT_NR_SCHED_SOURCES - 1));
			break;
		case 2:
			s->pct_depth =
				(uint8_t)(1 +
					  below(rng, MMT_TRACE_PCT_MAX_DEPTH));
			break;
		case 3:
			s->pct_steps = random_pct_steps(ns, rng);
			break;
		default: /* 1, and 4 to 7 for a seeded source */
			s->seed = (uint32_t)next(rng);
			break;
		}
		if (s->source == MMT_SCHED_SEQ)
			s->source = MMT_SCHED_INPUT;
		if (s->source == MMT_SCHED_PCT && !s->pct_depth)
			s->pct_depth = MMT_TRACE_PCT_DEFAULT_DEPTH;
		return true;
	}
	switch (n ? below(rng, 4) : 1) {
	case 0: /* change one */
		s->decisions[below(rng, n)] = random_decision(ns, rng);
		return true;
	case 1: /* insert one: a preemption added */
		if (!decisions_reserve(ns))
			return false;
		i = below(rng, n + 1);
		memmove(&s->decisions[i + 1], &s->decisions[i],
			(n - i) * sizeof(s->decisions[0]));
		s->decisions[i] = random_decision(ns, rng);
		s->nr_decisions++;
		return true;
	case 2: /* remove one */
		i = below(rng, n);
		memmove(&s->decisions[i], &s->decisions[i + 1],
			(n - i - 1) * sizeof(s->decisions[0]));
		s->nr_decisions--;
		return true;
	default: /* move one: a preemption taken elsewhere */
		i = below(rng, n);
		j = below(rng, n);
		d = s->decisions[i];
		if (i < j)
			memmove(&s->decisions[i], &s->decisions[i + 1],
				(j - i) * sizeof(d));
		else
			memmove(&s->decisions[j + 1], &s->decisions[j],
				(i - j) * sizeof(d));
		s->decisions[j] = d;
		return i != j;
	}
}

static bool is_interrupt(const struct node *nd, const void *arg)
{
	(void)arg;
	return nd->op.code == MMT_OP_INTERRUPT;
}

/* One past the `exit` that closes the block opened at @i (or the end). */
static size_t block_end(const struct nodes *ns, size_t i)
{
	int depth = 0;

	for (; i < ns->n; i++) {
		uint16_t c = ns->v[i].op.code;

		if (c == MMT_OP_ENTER || c == MMT_OP_INTERRUPT)
			depth++;
		else if (c == MMT_OP_EXIT && --depth <= 0)
			return i + 1;
	}
	return ns->n;
}

static struct node bare_node(struct nodes *ns, uint16_t code, uint32_t arg0)
{
	struct node nd;
	int a;

	memset(&nd, 0, sizeof(nd));
	nd.op.code = code;
	nd.op.arg[0] = arg0;
	for (a = 0; a < MMT_TRACE_MAX_ARGS; a++)
		nd.def[a] = NO_DEF;
	nd.id = ns->next_id++;
	return nd;
}

/*
 * Interrupt handlers: add one (a hard or soft irq around a random
 * operation), remove one with its body, unwrap one (its body becomes the
 * thread's), move one elsewhere (it becomes pending at another point, or
 * on another CPU), or wrap a run of operations into one.  Decoding keeps
 * only what is legal: a handler opened inside a block is skipped, an
 * operation that may sleep in it is dropped, GFP masks lose what may
 * block.
 */
static bool mutate_handler(struct nodes *ns, mmt_opset_t set, uint64_t *rng)
{
	size_t i = pick_node(ns, rng, is_interrupt, NULL), end, len, to, k;
	struct node nd[3], *blk;

	if (i == SIZE_MAX || below(rng, 3) == 0) {
		size_t pos = below(rng, (uint32_t)ns->n + 1), nr = 0;

		if (!nodes_reserve(ns, ns->n + 3))
			return false;
		nd[nr++] = bare_node(ns, MMT_OP_INTERRUPT, below(rng, 2));
		if (random_node(ns, set, rng, pos, &nd[nr]))
			nr++;
		nd[nr++] = bare_node(ns, MMT_OP_EXIT, 0);
		if (below(rng, 4) == 0 && nr == 3) {
			/* wrap: around the operations already there */
			end = pos + below(rng, 4);
			if (end > ns->n)
				end = ns->n;
			insert_at(ns, end, &nd[2]);
			insert_at(ns, pos, &nd[0]);
			return true;
		}
		for (k = nr; k-- > 0;)
			insert_at(ns, pos, &nd[k]);
		return true;
	}
	end = block_end(ns, i);
	len = end - i;
	switch (below(rng, 3)) {
	case 0: /* remove, body and all */
		memmove(&ns->v[i], &ns->v[end], (ns->n - end) * sizeof(*ns->v));
		ns->n -= len;
		return true;
	case 1: /* unwrap */
		if (end - 1 > i && ns->v[end - 1].op.code == MMT_OP_EXIT)
			remove_at(ns, end - 1);
		remove_at(ns, i);
		return true;
	default: /* move: pending from another point */
		blk = malloc(len * sizeof(*blk));
		if (!blk)
			return false;
		memcpy(blk, &ns->v[i], len * sizeof(*blk));
		memmove(&ns->v[i], &ns->v[end], (ns->n - end) * sizeof(*ns->v));
		ns->n -= len;
		to = below(rng, (uint32_t)ns->n + 1);
		memmove(&ns->v[to + len], &ns->v[to],
			(ns->n - to) * sizeof(*ns->v));
		memcpy(&ns->v[to], blk, len * sizeof(*blk));
		ns->n += len;
		free(blk);
		return to != i;
	}
}

static bool mutate_once(struct nodes *ns, mmt_opset_t set, uint64_t *rng)
{
	enum mutation m = (enum mutation)below(rng, NR_MUTATIONS);
	struct node nd;
	size_t i;

	/* The header changes the whole run: rarely. */
	if (m == M_HEADER && below(rng, 4))
		m = M_INSERT;
	if (m == M_SCHEDULE && !ns->mt)
		m = M_DELETE;
	if (m == M_HANDLER && !allowed(set, MMT_OP_INTERRUPT))
		m = M_INSERT;
	/* Races live in schedules: a concurrent input's is mutated often. */
	if (ns->mt && below(rng, 5) == 0)
		m = M_SCHEDULE;
	switch (m) {
	case M_INSERT:
		if (ns->n >= ns->cap && !nodes_reserve(ns, ns->cap * 2 + 8))
			return false;
		i = below(rng, (uint32_t)ns->n + 1);
		if (!random_node(ns, set, rng, i, &nd))
			return false;
		insert_at(ns, i, &nd);
		return true;
	case M_DELETE:
		if (!ns->n)
			return false;
		remove_at(ns, below(rng, (uint32_t)ns->n));
		return true;
	case M_DUPLICATE:
		if (!ns->n ||
		    (ns->n >= ns->cap && !nodes_reserve(ns, ns->cap * 2 + 8)))
			return false;
		i = below(rng, (uint32_t)ns->n);
		nd = ns->v[i];
		nd.id = ns->next_id++; /* a new creation if it creates */
		insert_at(ns, i + 1 + below(rng, (uint32_t)(ns->n - i)), &nd);
		return true;
	case M_MOVE:
		if (ns->n < 2)
			return false;
		move_node(ns, below(rng, (uint32_t)ns->n),
			  below(rng, (uint32_t)ns->n));
		return true;
	case M_GFP:
		return mutate_gfp(ns, rng);
	case M_NUMBER:
		return mutate_number(ns, rng);
	case M_RETARGET:
		return mutate_retarget(ns, rng);
	case M_FREE_SWAP:
	case M_FREE_REVERSE:
	case M_FREE_AROUND_USE:
		return mutate_free_order(ns, rng, m);
	case M_SCHEDULE:
		return mutate_schedule(ns, rng);
	case M_HANDLER:
		return mutate_handler(ns, set, rng);
	default:
		return mutate_header(ns, rng);
	}
}

size_t mmt_mutate(mmt_opset_t set, uint8_t *data, size_t size, size_t max_size,
		  uint64_t seed)
{
	uint64_t rng = seed;
	struct nodes ns;
	int i, rounds, done = 0;
	size_t out;

	if (!max_size)
		return 0;
	if (!nodes_from_bytes(&ns, set, data, size)) {
		nodes_free(&ns);
		return size ? size : 1;
	}
	/* Stacked mutations, mostly one or two, like libFuzzer's. */
	rounds = 1 + (int)below(&rng, 2) +
		 (below(&rng, 4) == 0 ? (int)below(&rng, 6) : 0);
	for (i = 0; i < rounds * 4 && done < rounds; i++)
		done += mutate_once(&ns, set, &rng);
	if (!done) {
		/* Nothing applied (an empty program): insert something. */
		struct node nd;

		if (nodes_reserve(&ns, ns.n + 1) &&
		    random_node(&ns, set, &rng, ns.n, &nd))
			insert_at(&ns, ns.n, &nd);
	}
	out = nodes_to_bytes(&ns, set, data, max_size);
	nodes_free(&ns);
	return out;
}

/* The CPU each node runs on (the `cpu N` before it; CPU 0 at first). */
static void node_cpus(const struct nodes *ns, uint16_t *cpu)
{
	uint16_t cur = 0;
	size_t i;

	for (i = 0; i < ns->n; i++) {
		if (ns->v[i].op.code == MMT_OP_CPU)
			cur = (uint16_t)ns->v[i].op.arg[0];
		cpu[i] = cur;
	}
}

static struct node cpu_node(struct nodes *ns, unsigned int cpu)
{
	struct node nd;
	int k;

	memset(&nd, 0, sizeof(nd));
	nd.op.code = MMT_OP_CPU;
	nd.op.arg[0] = cpu;
	nd.id = ns->next_id++;
	for (k = 0; k < MMT_TRACE_MAX_ARGS; k++)
		nd.def[k] = NO_DEF;
	return nd;
}

/*
 * @na's thread of one CPU replaced by @nb's: @na's operations on the CPU
 * (and the `cpu` lines that lead to them) leave; @nb's come in as one
 * segment, `cpu K` first, at a boundary between @na's segments, followed
 * by a `cpu` line back to the CPU that was running there.  False if the
 * CPU had nothing to give or no memory.
 */
static bool cross_thread(struct nodes *na, const struct nodes *nb,
			 uint64_t *rng)
{
	uint16_t *ca = malloc((na->n + 1) * sizeof(*ca));
	uint16_t *cb = malloc((nb->n + 1) * sizeof(*cb));
	size_t i, w, at, nr_bounds = 0, pick, moved = 0;
	int cpus = na->hdr.nr_cpus < nb->hdr.nr_cpus ? na->hdr.nr_cpus :
						       nb->hdr.nr_cpus;
	uint16_t k, back = 0;
	uint32_t shift = na->next_id;
	bool ok = false;

	if (!ca || !cb || cpus < 1)
		goto out;
	k = (uint16_t)below(rng, (uint32_t)cpus);
	node_cpus(na, ca);
	node_cpus(nb, cb);
	for (i = 0; i < nb->n; i++)
		moved += cb[i] == k && nb->v[i].op.code != MMT_OP_CPU;
	if (!moved || !nodes_reserve(na, na->n + moved + 2))
		goto out;
	/* Out go @na's nodes of CPU k. */
	for (i = 0, w = 0; i < na->n; i++)
		if (ca[i] != k) {
			ca[w] = ca[i];
			na->v[w++] = na->v[i];
		}
	na->n = w;
	/* A boundary: the start, the end, or before a `cpu` line. */
	for (i = 0; i <= na->n; i++)
		nr_bounds += i == 0 || i == na->n ||
			     na->v[i].op.code == MMT_OP_CPU;
	pick = below(rng, (uint32_t)nr_bounds);
	for (at = 0; at <= na->n; at++)
		if ((at == 0 || at == na->n ||
		     na->v[at].op.code == MMT_OP_CPU) &&
		    pick-- == 0)
			break;
	if (at < na->n)
		back = at ? ca[at - 1] : 0;
	/* In come @nb's, ids shifted clear of @na's. */
	{
		struct node nd = cpu_node(na, k);

		insert_at(na, at++, &nd);
	}
	for (i = 0; i < nb->n; i++) {
		struct node nd = nb->v[i];
		int d;

		if (cb[i] != k || nd.op.code == MMT_OP_CPU)
			continue;
		nd.id += shift;
		for (d = 0; d < MMT_TRACE_MAX_ARGS; d++)
			if (nd.def[d] != NO_DEF)
				nd.def[d] += shift;
		insert_at(na, at++, &nd);
	}
	na->next_id = shift + nb->next_id;
	if (at < na->n && na->v[at].op.code != MMT_OP_CPU) {
		struct node nd = cpu_node(na, back);

		insert_at(na, at, &nd);
	}
	ok = true;
out:
	free(ca);
	free(cb);
	return ok;
}

size_t mmt_crossover(mmt_opset_t set, const uint8_t *a, size_t a_size,
		     const uint8_t *b, size_t b_size, uint8_t *out,
		     size_t max_size, uint64_t seed)
{
	uint64_t rng = seed;
	struct nodes na, nb;
	size_t at, from, len, i, res = 1;

	memset(&na, 0, sizeof(na));
	memset(&nb, 0, sizeof(nb));
	if (!max_size)
		return 0;
	out[0] = 0; /* a valid program whatever happens below */
	if (!nodes_from_bytes(&na, set, a, a_size) ||
	    !nodes_from_bytes(&nb, set, b, b_size))
		goto out;
	/* Concurrent inputs: half the time, one CPU's thread from b. */
	if (na.mt && below(&rng, 2) && cross_thread(&na, &nb, &rng)) {
		res = nodes_to_bytes(&na, set, out, max_size);
		goto out;
	}
	at = below(&rng, (uint32_t)na.n + 1);
	from = below(&rng, (uint32_t)nb.n + 1);
	len = below(&rng, (uint32_t)(nb.n - from) + 1);
	if (!nodes_reserve(&na, na.n + len + 1))
		goto out;
	/*
	 * b's nodes get fresh ids; their references keep pointing at b's
	 * creators when those come along, and dangle (to be repaired by
	 * decoding) when they don't.
	 */
	for (i = 0; i < len; i++) {
		struct node nd = nb.v[from + i];
		int k;

		nd.id += na.next_id;
		for (k = 0; k < MMT_TRACE_MAX_ARGS; k++)
			if (nd.def[k] != NO_DEF)
				nd.def[k] += na.next_id;
		insert_at(&na, at + i, &nd);
	}
	na.next_id += nb.next_id;
	res = nodes_to_bytes(&na, set, out, max_size);
out:
	nodes_free(&na);
	nodes_free(&nb);
	return res;
}

size_t mmt_mutator_drop_op(mmt_opset_t set, const uint8_t *data, size_t size,
			   size_t index, uint8_t *out, size_t max_size,
			   size_t *nr_ops)
{
	struct nodes ns;
	size_t res = 0;

	*nr_ops = 0;
	if (!nodes_from_bytes(&ns, set, data, size))
		goto out;
	*nr_ops = ns.n;
	if (index >= ns.n)
		goto out;
	remove_at(&ns, index);
	res = nodes_to_bytes(&ns, set, out, max_size);
out:
	nodes_free(&ns);
	return res;
}

size_t mmt_mutator_nr_ops(mmt_opset_t set, const uint8_t *data, size_t size)
{
	struct mmt_program p;
	size_t n;

	mmt_program_init(&p);
	mmt_trace_decode_set(data, size, set, &p);
	n = p.nr_ops;
	mmt_program_free(&p);
	return n;
}
