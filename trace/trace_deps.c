/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_deps.c - the concurrent structure of a program
 * (mmt_trace_deps_build()): which CPU's thread runs each operation, and
 * which textually earlier operations of other threads it waits for.
 *
 * What it models.  A concurrent program is its sequential text split into
 * one thread per CPU by the `cpu N` lines (docs/trace-language.md,
 * "Concurrent programs").  Threads interleave freely but for the order the
 * text gives to what two operations share, stated as readers and writers
 * of resources:
 *   - a handle is a resource.  The operation that creates it, the one that
 *     ends it and every use of an object handle (krealloc o) write it; the
 *     use of a shared handle (a cache, pool, cgroup, swap file, socket,
 *     reserve or kernel thread that others allocate from, charge to,
 *     enter, receive on, ...) reads it.  Creating or ending a dependant
 *     (a cache object or bulk, a pool element, a reserve charge) also
 *     reads its parent, so destroying the parent waits for every one.
 *     mempool_resize writes its pool: the kernel's callers serialize
 *     resizes of a pool (a shrink and a grow of one pool side by side
 *     trade elements forever: the shrink lowers min_nr only at its end).
 *   - each CPU is a resource: every operation of its thread (its `cpu N`
 *     marker included) reads it,
 *     cpu_offline and cpu_online write it, so hotplug waits for what the
 *     CPU was doing and the CPU's next operation waits for hotplug.
 *   - each kind of kernel thread (kswapd: of each node) is a resource:
 *     kthread_start and kthread_stop write it, `kswapd node=N` reads node
 *     N's kswapd, so one of a kind never starts before the one the text
 *     stopped has stopped, and a kswapd pass run on a CPU never overlaps
 *     the node's kswapd thread (the rules' "one a kind").
 * A read waits for the last earlier write; a write for the last earlier
 * write and every read since.  So allocations from one cache on two CPUs,
 * or a remote free beside a local allocation, race as in the kernel, while
 * a free never overtakes its allocation and a destroy never overtakes a
 * free: the static rules, which hold on the text, hold in every
 * interleaving.
 *
 * Context blocks.  A thread never waits for another while inside a
 * context (a task in an irq, holding a lock or reading under RCU cannot
 * wait for another task's progress, and a reader waiting for a writer
 * that waits in synchronize_rcu() for the reader would be a deadlock of
 * the program's own making): the outermost `enter` of a block takes on
 * the dependencies of every operation up to its `exit`.  A block is
 * contiguous in the text (`cpu N` needs an empty stack), so those
 * dependencies are on operations before the `enter`: every dependency
 * still points backwards and no schedule can deadlock on them.
 *
 * Interrupt handlers.  An `interrupt irq|softirq` block runs when the
 * schedule delivers it on its CPU, not at its place in the thread: for
 * the ordering it is a thread of its own (one per handler), whose
 * `interrupt` operation carries the block's dependencies as an outermost
 * `enter` does.  So what the handler shares with its CPU's thread is
 * ordered like what two CPUs share (the thread's later free of an object
 * the handler allocated waits for the handler), and nothing else is.
 * The interpreter arms a handler when its thread reaches it: the
 * thread's earlier operations are done by then.
 *
 * Algorithm: one pass over the operations keeping per resource its last
 * writer and the reads since (a list threaded through one array), pairs
 * (operation, dependency) collected, then sorted, deduplicated and packed.
 * O(n log n) for n operations.  Left out as implied by program order:
 * dependencies on the operation's own thread, and one on an operation of
 * thread u when an earlier operation of the same thread already waited for
 * it or a later one of u (a per thread pair high-water mark).
 */
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

#define NONE UINT32_MAX

struct read {
	uint32_t op, next;
	uint16_t cpu;
};

struct pair {
	uint32_t op, on;
};

struct builder {
	const struct mmt_program *p;
	uint16_t *cpu; /* by operation */
	uint32_t *handler; /* by operation: 0, or 1 + its handler's opening */
	/* by operation: its thread for the ordering, a CPU's (< ncpu) or a
	 * handler's (ncpu + the handler's ordinal) */
	uint32_t *thr;
	uint32_t base[MMT_NR_HANDLE_KINDS], cpu_base, kt_base, nr_keys;
	uint32_t *kt_key; /* kernel thread serial -> its kind's resource */
	/* [thread][thread]: 1 + the latest operation waited for, 0 none */
	uint32_t *seen, ncpu;
	uint32_t *last_write, *reads; /* by resource; reads: list head */
	struct read *rd;
	size_t nr_rd, cap_rd;
	struct pair *pairs;
	size_t nr_pairs, cap_pairs;
	uint32_t *parent[MMT_NR_HANDLE_KINDS]; /* dependant serial -> parent */
	bool oom;
};

static bool shared_kind(unsigned int kind)
{
	switch (kind) {
	case MMT_H_CACHE:
	case MMT_H_MEMPOOL:
	case MMT_H_CGROUP:
	case MMT_H_SWAPFILE:
	case MMT_H_SOCKET:
	case MMT_H_RESERVE:
	case MMT_H_KTHREAD:
		return true;
	}
	return false;
}

static void add_pair(struct builder *b, uint32_t op, uint32_t on)
{
	uint32_t *seen = NULL;

	if (on == NONE || b->thr[on] == b->thr[op])
		return;
	/*
	 * Already implied: an earlier operation of this thread waited for
	 * @on or a later operation of @on's thread (program order; a
	 * handler's operations imply nothing for its CPU's thread).
	 */
	if (b->seen && b->thr[op] < b->ncpu && b->thr[on] < b->ncpu) {
		seen = &b->seen[b->thr[op] * b->ncpu + b->thr[on]];
		if (on < *seen)
			return;
		*seen = on + 1;
	}
	if (b->nr_pairs == b->cap_pairs) {
		size_t cap = b->cap_pairs ? 2 * b->cap_pairs : 64;

		if (!_mmt_trace_grow(&b->pairs, cap, sizeof(*b->pairs))) {
			b->oom = true;
			return;
		}
		b->cap_pairs = cap;
	}
	b->pairs[b->nr_pairs++] = (struct pair){ op, on };
}

/* Operation @i (its dependencies go to @to) reads resource @key. */
static void do_read(struct builder *b, uint32_t key, uint32_t i, uint32_t to)
{
	add_pair(b, to, b->last_write[key]);
	if (b->nr_rd == b->cap_rd) {
		size_t cap = b->cap_rd ? 2 * b->cap_rd : 64;

		if (!_mmt_trace_grow(&b->rd, cap, sizeof(*b->rd))) {
			b->oom = true;
			return;
		}
		b->cap_rd = cap;
	}
	b->rd[b->nr_rd] = (struct read){ i, b->reads[key], b->cpu[i] };
	b->reads[key] = (uint32_t)b->nr_rd++;
}

static void do_write(struct builder *b, uint32_t key, uint32_t i, uint32_t to)
{
	uint32_t r;

	add_pair(b, to, b->last_write[key]);
	for (r = b->reads[key]; r != NONE; r = b->rd[r].next)
		add_pair(b, to, b->rd[r].op);
	b->reads[key] = NONE;
	b->last_write[key] = i;
}

static uint32_t hkey(const struct builder *b, unsigned int kind, uint32_t s)
{
	return s < b->p->nr_handles[kind] ? b->base[kind] + s : NONE;
}

static void access_handle(struct builder *b, unsigned int kind, uint32_t s,
			  bool write, uint32_t i, uint32_t to)
{
	uint32_t key = hkey(b, kind, s);
	unsigned int pk = _mmt_trace_parent_kind(kind);

	if (key == NONE)
		return; /* not a handle of this program: the rules refuse it */
	if (write || !shared_kind(kind))
		do_write(b, key, i, to);
	else
		do_read(b, key, i, to);
	/* Creating or ending a dependant reads its parent. */
	if (pk && write && b->parent[kind] && b->parent[kind][s] != NONE) {
		key = hkey(b, pk, b->parent[kind][s]);
		if (key != NONE)
			do_read(b, key, i, to);
	}
}

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *c = y;

	if (a->op != c->op)
		return a->op < c->op ? -1 : 1;
	return a->on < c->on ? -1 : a->on > c->on;
}

static bool builder_init(struct builder *b, const struct mmt_program *p)
{
	unsigned int k;
	uint32_t n = 0;

	memset(b, 0, sizeof(*b));
	b->p = p;
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++) {
		b->base[k] = n;
		n += p->nr_handles[k];
		if (_mmt_trace_parent_kind(k)) {
			b->parent[k] = malloc((p->nr_handles[k] + 1) *
					      sizeof(uint32_t));
			if (!b->parent[k])
				return false;
			memset(b->parent[k], 0xff,
			       (p->nr_handles[k] + 1) * sizeof(uint32_t));
		}
	}
	b->cpu_base = n;
	b->kt_base = n + (uint32_t)(p->hdr.nr_cpus > 0 ? p->hdr.nr_cpus : 1);
	b->nr_keys =
		b->kt_base +
		MMT_NR_TRACE_KTHREADS *
			(uint32_t)(p->hdr.nr_nodes > 0 ? p->hdr.nr_nodes : 1);
	b->kt_key =
		malloc((p->nr_handles[MMT_H_KTHREAD] + 1) * sizeof(uint32_t));
	b->cpu = calloc(p->nr_ops + 1, sizeof(*b->cpu));
	b->handler = calloc(p->nr_ops + 1, sizeof(*b->handler));
	b->thr = calloc(p->nr_ops + 1, sizeof(*b->thr));
	b->ncpu = (uint32_t)(p->hdr.nr_cpus > 0 ? p->hdr.nr_cpus : 1);
	b->seen = calloc((size_t)b->ncpu * b->ncpu, sizeof(*b->seen));
	b->last_write = malloc(b->nr_keys * sizeof(uint32_t));
	b->reads = malloc(b->nr_keys * sizeof(uint32_t));
	if (!b->cpu || !b->handler || !b->thr || !b->last_write || !b->reads ||
	    !b->kt_key || !b->seen)
		return false;
	memset(b->last_write, 0xff, b->nr_keys * sizeof(uint32_t));
	memset(b->reads, 0xff, b->nr_keys * sizeof(uint32_t));
	return true;
}

static void builder_free(struct builder *b)
{
	unsigned int k;

	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++)
		free(b->parent[k]);
	free(b->cpu);
	free(b->handler);
	free(b->thr);
	free(b->kt_key);
	free(b->seen);
	free(b->last_write);
	free(b->reads);
	free(b->rd);
	free(b->pairs);
}

/*
 * The resource of kernel threads of @kind on @node (kswapd is one a node,
 * the others one a machine), or NONE out of range.
 */
static uint32_t kt_resource(const struct builder *b, uint32_t kind,
			    uint32_t node)
{
	uint32_t nodes =
		(uint32_t)(b->p->hdr.nr_nodes > 0 ? b->p->hdr.nr_nodes : 1);

	if (kind >= MMT_NR_TRACE_KTHREADS || node >= nodes)
		return NONE;
	return b->kt_base + kind * nodes + (kind == MMT_KT_KSWAPD ? node : 0);
}

/* Every resource operation @i touches; its dependencies go to @to. */
static void op_accesses(struct builder *b, uint32_t i, uint32_t to,
			uint32_t *serial)
{
	const struct mmt_op *op = &b->p->ops[i];
	const struct mmt_op_info *info = mmt_op_info(op->code);
	uint32_t ncpu = b->nr_keys - b->cpu_base;
	int a;

	/*
	 * A thread marker runs nothing, but its thread takes the CPU for it:
	 * after the CPU's last hotplug, like every operation there (else a
	 * `cpu 1` after `cpu_online 1` took CPU 1 while it was offline).
	 */
	do_read(b, b->cpu_base + b->cpu[i], i, to);
	if (op->code == MMT_OP_CPU)
		return;
	if ((op->code == MMT_OP_CPU_OFFLINE || op->code == MMT_OP_CPU_ONLINE) &&
	    op->arg[0] < ncpu)
		do_write(b, b->cpu_base + op->arg[0], i, to);
	for (a = 0; a < info->nargs; a++)
		if (info->args[a].type == MMT_ARG_HANDLE)
			access_handle(
				b, info->args[a].kind, op->arg[a],
				info->ends == a + 1 ||
					!shared_kind(info->args[a].kind) ||
					op->code == MMT_OP_MEMPOOL_RESIZE,
				i, to);
	switch (op->code) {
	case MMT_OP_KTHREAD_START: {
		uint32_t key = kt_resource(b, op->arg[0], op->arg[1]);
		uint32_t s = serial[MMT_H_KTHREAD];

		if (s < b->p->nr_handles[MMT_H_KTHREAD])
			b->kt_key[s] = key;
		if (key != NONE)
			do_write(b, key, i, to);
		break;
	}
	case MMT_OP_KTHREAD_STOP:
		if (op->arg[0] < serial[MMT_H_KTHREAD] &&
		    b->kt_key[op->arg[0]] != NONE)
			do_write(b, b->kt_key[op->arg[0]], i, to);
		break;
	case MMT_OP_KSWAPD: {
		uint32_t key = kt_resource(b, MMT_KT_KSWAPD, op->arg[0]);

		if (key != NONE)
			do_read(b, key, i, to);
		break;
	}
	}
	if (info->result) {
		uint32_t s = serial[info->result]++;
		unsigned int pk = _mmt_trace_parent_kind(info->result);

		/*
		 * The parent is the creator's first (handle) argument, or
		 * that argument's own parent (an object from a sheaf: the
		 * sheaf's cache).
		 */
		if (pk && b->parent[info->result] &&
		    s < b->p->nr_handles[info->result] && info->nargs &&
		    info->args[0].type == MMT_ARG_HANDLE) {
			unsigned int ak = info->args[0].kind;

			if (ak == pk)
				b->parent[info->result][s] = op->arg[0];
			else if (_mmt_trace_parent_kind(ak) == pk &&
				 b->parent[ak] &&
				 op->arg[0] < b->p->nr_handles[ak])
				b->parent[info->result][s] =
					b->parent[ak][op->arg[0]];
		}
		access_handle(b, info->result, s, true, i, to);
	}
}

bool mmt_trace_deps_build(const struct mmt_program *p, struct mmt_trace_deps *d)
{
	uint32_t serial[MMT_NR_HANDLE_KINDS] = { 0 };
	struct builder b;
	uint32_t i, block = NONE, handler = 0, nr_handlers = 0;
	int depth = 0;
	uint16_t cur = 0;
	size_t k, n;

	memset(d, 0, sizeof(*d));
	if (!builder_init(&b, p))
		goto oom;
	for (i = 0; i < p->nr_ops; i++) {
		const struct mmt_op *op = &p->ops[i];

		if (op->code == MMT_OP_CPU)
			cur = (uint16_t)op->arg[0];
		b.cpu[i] = cur;
		if (op->code == MMT_OP_INTERRUPT && depth == 0) {
			handler = i + 1;
			nr_handlers++;
		}
		if ((op->code == MMT_OP_ENTER ||
		     op->code == MMT_OP_INTERRUPT) &&
		    depth++ == 0)
			block = i;
		b.handler[i] = handler;
		b.thr[i] = handler ? b.ncpu + nr_handlers - 1 : cur;
		op_accesses(&b, i, depth ? block : i, serial);
		if (op->code == MMT_OP_EXIT && depth > 0 && --depth == 0)
			handler = 0;
		if (b.oom)
			goto oom;
	}

	if (b.nr_pairs)
		qsort(b.pairs, b.nr_pairs, sizeof(*b.pairs), pair_cmp);
	d->nr_ops = p->nr_ops;
	d->cpu = b.cpu;
	b.cpu = NULL;
	d->handler = b.handler;
	b.handler = NULL;
	d->first = malloc((p->nr_ops + 1) * sizeof(*d->first));
	d->on = malloc((b.nr_pairs + 1) * sizeof(*d->on));
	if (!d->first || !d->on)
		goto oom;
	for (i = 0, k = 0, n = 0; i < p->nr_ops; i++) {
		d->first[i] = (uint32_t)n;
		for (; k < b.nr_pairs && b.pairs[k].op == i; k++)
			if (!n || d->first[i] == n ||
			    d->on[n - 1] != b.pairs[k].on)
				d->on[n++] = b.pairs[k].on;
	}
	d->first[p->nr_ops] = (uint32_t)n;
	builder_free(&b);
	return true;
oom:
	builder_free(&b);
	mmt_trace_deps_free(d);
	return false;
}

void mmt_trace_deps_free(struct mmt_trace_deps *d)
{
	free(d->cpu);
	free(d->handler);
	free(d->first);
	free(d->on);
	memset(d, 0, sizeof(*d));
}
