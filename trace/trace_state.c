/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_state.c - the static state of a program prefix and the rules
 * of the operation language (what may come next, what it changes), and the
 * canonicalisation of arguments that makes binary decoding total.
 *
 * See trace/trace_internal.h for the state and the two rule sets.  The
 * rules are those of the model's API, stated on the program text:
 *
 *  - handles: an argument is a live handle of its kind; an operation that
 *    ends a handle kills it; kmem_cache_destroy, mempool_destroy and
 *    reserve_destroy need no live dependant (objects, elements, charges),
 *    reserve_group_destroy no live reserve made in the group;
 *    cgroup_offline moves tasks of the group back to the root.
 *  - CPUs: `cpu N` to an online CPU with the current CPU's stack empty (a
 *    task cannot leave a CPU inside an irq or holding a lock); cpu_offline
 *    of another online CPU, never the last; cpu_online of an offline one.
 *  - contexts (the model's machine.c and lockdep.c): a hard irq cannot
 *    arrive with interrupts off (in irq or irqs_off); a softirq is served
 *    neither inside irq, softirq, bh_off nor with interrupts off;
 *    local_bh_disable neither in hard irq nor with interrupts off (its
 *    enable would warn); noio, nofs and memalloc scopes are task context
 *    only; a spin_lock never inside a raw_lock (lockdep's wait types) and,
 *    on PREEMPT_RT rules, not where preemption or interrupts are off; the
 *    program's raw_lock and spin_lock are one per CPU and level (task,
 *    hard irq), so neither is entered twice at one level, and the
 *    program's own locks always nest spin -> raw, task -> irq: lockdep
 *    can see no cycle among them; stack depth <= MMT_TRACE_MAX_DEPTH;
 *    net_rx serves its packet in a softirq it enters itself, so it needs
 *    a context where one may be entered.  mutex_a and mutex_b are task
 *    context only and never entered twice on one CPU.
 *  - the program's mutexes (binary only): none in a concurrent target's
 *    program, mutex_a before mutex_b, and a mutex either the callers' or
 *    the shrinkers' (check_mutex_enter): no lock cycle of the program's.
 *  - atomic context (binary only): nothing that may sleep; no
 *    drain_local_pages in hard irq (pcp->lock is not irq-safe); no
 *    synchronize_rcu, rcu_barrier or one-argument kvfree_rcu while a CPU
 *    reads (they would wait for it).
 *  - kernel threads: one kswapd a node, one of each other kind a machine;
 *    `kswapd node=N` (a pass run here) not while node N's kswapd thread
 *    runs; kthread_start and kthread_stop may sleep.
 *  - PREEMPT_RT (binary only): where a spinlock_t may not be taken
 *    (_MMT_CTX_RT_ATOMIC), only operations that take none: enter/exit,
 *    kvfree_rcu_head (the seed-002 case), reserve charges, and page
 *    allocations made with __GFP_FAST_TRY (trylock) outside hard irq.
 *
 * Cost: check and apply are O(1) but for ending a handle (a memmove in the
 * sorted live array) and cgroup_offline (a pass over the CPUs); the binary
 * decoder runs them for every operation of every fuzz input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

/* ---- set-up ---- */

bool _mmt_trace_state_init(struct _mmt_trace_state *st,
			   const struct mmt_trace_header *hdr, bool lax)
{
	int c;

	memset(st, 0, sizeof(*st));
	st->hdr = *hdr;
	st->lax = lax;
	if (st->hdr.nr_cpus < 1)
		st->hdr.nr_cpus = 1;
	if (st->hdr.nr_nodes < 1)
		st->hdr.nr_nodes = 1;
	st->cpus = calloc((size_t)st->hdr.nr_cpus, sizeof(*st->cpus));
	if (!st->cpus)
		return false;
	for (c = 0; c < st->hdr.nr_cpus; c++)
		st->cpus[c].online = true;
	st->nr_online = st->hdr.nr_cpus;
	return true;
}

void _mmt_trace_state_free(struct _mmt_trace_state *st)
{
	unsigned int k;

	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++) {
		free(st->h[k].alive);
		free(st->h[k].fact);
		free(st->h[k].live);
	}
	free(st->cpus);
	free(st->reserve_group);
	free(st->group_parent);
	memset(st, 0, sizeof(*st));
}

/* ---- handles ---- */

static bool handles_grow(struct _mmt_trace_handles *h)
{
	uint32_t cap = h->cap ? 2 * h->cap : 16;

	if (!_mmt_trace_grow(&h->alive, cap, sizeof(*h->alive)) ||
	    !_mmt_trace_grow(&h->fact, cap, sizeof(*h->fact)) ||
	    !_mmt_trace_grow(&h->live, cap, sizeof(*h->live)))
		return false;
	h->cap = cap;
	return true;
}

bool _mmt_trace_live_index(const struct _mmt_trace_state *st, unsigned int kind,
			   uint32_t serial, uint32_t *index)
{
	const struct _mmt_trace_handles *h = &st->h[kind];
	uint32_t lo = 0, hi = h->nr_live;

	if (!_mmt_trace_live(st, kind, serial))
		return false;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (h->live[mid] < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	*index = lo;
	return true;
}

static void live_remove(struct _mmt_trace_state *st, unsigned int kind,
			uint32_t serial)
{
	struct _mmt_trace_handles *h = &st->h[kind];
	uint32_t i;

	if (!_mmt_trace_live_index(st, kind, serial, &i))
		return;
	memmove(&h->live[i], &h->live[i + 1],
		(h->nr_live - i - 1) * sizeof(h->live[0]));
	h->nr_live--;
	h->alive[serial] = 0;
}

/* The kind whose live-dependant count a handle of @kind keeps up. */
unsigned int _mmt_trace_parent_kind(unsigned int kind)
{
	switch (kind) {
	case MMT_H_CACHE_OBJ:
	case MMT_H_CACHE_BULK:
	case MMT_H_SHEAF:
		return MMT_H_CACHE;
	case MMT_H_ELEMENT:
		return MMT_H_MEMPOOL;
	case MMT_H_CHARGE:
		return MMT_H_RESERVE;
	}
	return MMT_H_NONE;
}

/* ---- the rules ---- */

static MMT_PRINTF(3, 4) bool refuse(struct _mmt_trace_why *why, int arg,
				    const char *fmt, ...)
{
	va_list ap;

	if (why) {
		why->arg = arg;
		va_start(ap, fmt);
		vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
		va_end(ap);
	}
	return false;
}

static const char *ctx_name(unsigned int c)
{
	const char *n = mmt_trace_enum_name(MMT_ENUM_CONTEXT, c);

	return n ? n : "?";
}

/* The innermost context of @cpu among @mask, for messages. */
static const char *innermost(const struct _mmt_trace_cpu *cpu,
			     unsigned int mask)
{
	int i;

	for (i = cpu->depth - 1; i >= 0; i--)
		if (mask & _MMT_CTX(cpu->stack[i]))
			return ctx_name(cpu->stack[i]);
	return "?";
}

/*
 * Is @ctx on @cpu's stack at the current level: above the hard irq entry
 * when in one, anywhere otherwise (an irq does not nest in an irq)?
 */
static bool held_at_level(const struct _mmt_trace_cpu *cpu, unsigned int ctx)
{
	int i;

	for (i = cpu->depth - 1; i >= 0 && cpu->stack[i] != MMT_CTX_IRQ; i--)
		if (cpu->stack[i] == ctx)
			return true;
	return false;
}

/*
 * Directly in a softirq handler: its context the only interrupt-like or
 * atomic one on the stack, where net_rx receives its packet.
 */
static bool in_softirq_handler(const struct _mmt_trace_cpu *cpu)
{
	return cpu->handler && cpu->stack[0] == MMT_CTX_SOFTIRQ &&
	       (cpu->mask & (_MMT_CTX_ATOMIC | _MMT_CTX_INTERRUPT)) ==
		       _MMT_CTX(MMT_CTX_SOFTIRQ);
}

/*
 * The binary rules of the program's mutexes, so that a decoded program can
 * close no lock cycle of its own (a finding is the model's):
 *  - none in a concurrent target's program: a CPU holding one while it
 *    waits (a mempool element, a kernel thread, reclaim) for a CPU that
 *    waits for the mutex is the program's deadlock;
 *  - taken in one order, mutex_a before mutex_b;
 *  - a mutex is the callers' or the shrinkers', never both in one
 *    program: a caller holding a shrinker's mutex across an allocation
 *    that may enter fs reclaim is the fs_reclaim inversion lockdep
 *    reports (it stays writable in text).
 */
static bool check_mutex_enter(const struct _mmt_trace_state *st,
			      unsigned int ctx, unsigned int bit,
			      struct _mmt_trace_why *why)
{
	if (st->mt)
		return refuse(
			why, 0,
			"enter %s: a concurrent target's program takes no shared mutex",
			ctx_name(ctx));
	if (ctx == MMT_CTX_MUTEX_A &&
	    (_mmt_trace_cur(st)->mask & _MMT_CTX(MMT_CTX_MUTEX_B)))
		return refuse(
			why, 0,
			"enter mutex_a inside mutex_b: the program's mutexes are taken a before b");
	if (st->mutex_shrunk & bit)
		return refuse(
			why, 0,
			"enter %s: a shrinker of this program takes it (held across an allocation it is the fs_reclaim inversion)",
			ctx_name(ctx));
	return true;
}

static bool check_enter(const struct _mmt_trace_state *st, unsigned int ctx,
			struct _mmt_trace_why *why)
{
	const struct _mmt_trace_cpu *cpu = _mmt_trace_cur(st);
	unsigned int forbid = 0;
	const char *rule = "";

	if (ctx >= MMT_NR_TRACE_CONTEXTS)
		return refuse(why, 0, "no such context %u", ctx);
	if (cpu->depth >= MMT_TRACE_MAX_DEPTH)
		return refuse(
			why, 0,
			"cpu %d has %d contexts entered, the most a trace may nest",
			st->cpu, MMT_TRACE_MAX_DEPTH);
	switch (ctx) {
	case MMT_CTX_IRQ:
		forbid = _MMT_CTX(MMT_CTX_IRQ) | _MMT_CTX(MMT_CTX_IRQS_OFF);
		rule = "a hard irq cannot arrive while interrupts are off";
		break;
	case MMT_CTX_SOFTIRQ:
		forbid = _MMT_CTX_INTERRUPT | _MMT_CTX(MMT_CTX_IRQS_OFF);
		rule = "softirqs are served in task context with interrupts and bottom halves on";
		break;
	case MMT_CTX_BH_OFF:
		forbid = _MMT_CTX(MMT_CTX_IRQ) | _MMT_CTX(MMT_CTX_IRQS_OFF);
		rule = "local_bh_disable/enable need interrupts on and no hard irq";
		break;
	case MMT_CTX_NOIO:
	case MMT_CTX_NOFS:
	case MMT_CTX_MEMALLOC:
		forbid = _MMT_CTX_INTERRUPT;
		rule = "memalloc scopes are task context only";
		break;
	case MMT_CTX_MUTEX_A:
	case MMT_CTX_MUTEX_B:
		/* Text may take one in atomic context: sleep-in-atomic. */
		forbid = _MMT_CTX_INTERRUPT | (st->lax ? 0 : _MMT_CTX_ATOMIC);
		rule = "a mutex is taken in task context where it may sleep";
		break;
	case MMT_CTX_SPIN_LOCK:
		if (st->hdr.rt_rules) {
			forbid = _MMT_CTX_RT_ATOMIC;
			rule = "under rt rules a spin_lock sleeps: not where preemption or interrupts are off";
		} else {
			forbid = _MMT_CTX(MMT_CTX_RAW_LOCK);
			rule = "a spinlock_t nests outside a raw_spinlock_t, never inside (lockdep's wait types)";
		}
		break;
	}
	if (cpu->mask & forbid)
		return refuse(why, 0, "enter %s inside %s on cpu %d: %s",
			      ctx_name(ctx), innermost(cpu, forbid), st->cpu,
			      rule);
	/*
	 * The program has one lock of each type per CPU for task context
	 * and one for hard irq (the interpreter's, so that lockdep sees the
	 * same classes every run): taking it again at the same level would
	 * be the program's own self-deadlock.
	 */
	/*
	 * A softirq handler runs on whatever the interrupted task holds:
	 * its task-level lock may be held under it (a hard irq nested in
	 * the handler has locks of its own).
	 */
	if ((ctx == MMT_CTX_RAW_LOCK || ctx == MMT_CTX_SPIN_LOCK) &&
	    cpu->handler && cpu->stack[0] == MMT_CTX_SOFTIRQ &&
	    !(cpu->mask & _MMT_CTX(MMT_CTX_IRQ)))
		return refuse(
			why, 0,
			"enter %s in a softirq handler on cpu %d: the interrupted task may hold it (the handler's locks are the hard irq's, inside enter irq)",
			ctx_name(ctx), st->cpu);
	if (ctx == MMT_CTX_MUTEX_A || ctx == MMT_CTX_MUTEX_B) {
		unsigned int bit = 1u << (ctx - MMT_CTX_MUTEX_A);

		if ((cpu->mask & _MMT_CTX(ctx)) && !st->misuse)
			return refuse(
				why, 0,
				"enter %s on cpu %d: it holds the mutex already (a second would deadlock on itself)",
				ctx_name(ctx), st->cpu);
		if (!st->lax && !check_mutex_enter(st, ctx, bit, why))
			return false;
	}
	/* "misuse enter": the self-deadlock on purpose (lock-recursion). */
	if ((ctx == MMT_CTX_RAW_LOCK || ctx == MMT_CTX_SPIN_LOCK) &&
	    held_at_level(cpu, ctx) && !st->misuse)
		return refuse(
			why, 0,
			"enter %s on cpu %d: its %s of %s context is held already (one a level: a second would deadlock on itself)",
			ctx_name(ctx), st->cpu, ctx_name(ctx),
			(cpu->mask & _MMT_CTX(MMT_CTX_IRQ)) ? "hard irq" :
							      "task");
	return true;
}

/* Operations that may sleep: not in atomic context (binary rules). */
static bool may_sleep(unsigned int code)
{
	switch (code) {
	case MMT_OP_SCHEDULE:
	case MMT_OP_CPU_OFFLINE:
	case MMT_OP_CPU_ONLINE:
	case MMT_OP_DRAIN_ALL:
	case MMT_OP_CACHE_CREATE:
	case MMT_OP_CACHE_DESTROY:
	case MMT_OP_CACHE_SHRINK:
	case MMT_OP_KVFREE_RCU:
	case MMT_OP_SYNCHRONIZE_RCU:
	case MMT_OP_RCU_BARRIER:
	case MMT_OP_CGROUP_CREATE:
	case MMT_OP_CGROUP_ENTER:
	case MMT_OP_CGROUP_OFFLINE:
	case MMT_OP_MEMPOOL_CREATE:
	case MMT_OP_MEMPOOL_RESIZE:
	case MMT_OP_MEMPOOL_DESTROY:
	case MMT_OP_SWAPON:
	case MMT_OP_SWAPOFF:
	case MMT_OP_SOCK_MEMALLOC:
	case MMT_OP_SOCK_CLOSE:
	case MMT_OP_SOCK_CREATE:
	case MMT_OP_RESERVE_GROUP:
	case MMT_OP_RESERVE_CREATE_IN:
	case MMT_OP_RESERVE_GROUP_CONNECT:
	case MMT_OP_RESERVE_GROUP_DISCONNECT:
	case MMT_OP_RESERVE_GROUP_DESTROY:
	case MMT_OP_RESERVE_GROUP_IN:
	case MMT_OP_NET_RX:
	case MMT_OP_RESERVE_CREATE:
	case MMT_OP_RESERVE_KMALLOC:
	case MMT_OP_RESERVE_CONNECT:
	case MMT_OP_RESERVE_DISCONNECT:
	case MMT_OP_RESERVE_DESTROY:
	case MMT_OP_LRU_ADD:
	case MMT_OP_LRU_UNMAP:
	case MMT_OP_KSWAPD:
	case MMT_OP_SHRINK_ALL:
	case MMT_OP_SHRINKER_REGISTER:
	case MMT_OP_SHRINKER_UNREGISTER:
	case MMT_OP_KTHREAD_START:
	case MMT_OP_KTHREAD_STOP:
		return true;
	}
	return false;
}

/* A kernel thread handle's fact: its kind and its node. */
#define KT_FACT(kind, node) ((uint32_t)(kind) | (uint32_t)(node) << 8)
#define KT_KIND(fact) ((fact)&0xff)
#define KT_NODE(fact) ((fact) >> 8)

/*
 * The live kernel thread that a new one of @kind on @node would double
 * (kswapd: one per node, as the kernel has; the others: one per machine,
 * whichever node they run on), or -1.
 */
static int64_t kthread_twin(const struct _mmt_trace_state *st,
			    unsigned int kind, unsigned int node)
{
	const struct _mmt_trace_handles *h = &st->h[MMT_H_KTHREAD];
	uint32_t i;

	for (i = 0; i < h->nr_live; i++) {
		uint32_t f = h->fact[h->live[i]];

		if (KT_KIND(f) == kind &&
		    (kind != MMT_KT_KSWAPD || KT_NODE(f) == node))
			return h->live[i];
	}
	return -1;
}

/* Where a spinlock_t may not be taken under RT: what may still run. */
static bool rt_atomic_ok(const struct _mmt_trace_state *st,
			 const struct mmt_op *op)
{
	switch (op->code) {
	case MMT_OP_ENTER:
	case MMT_OP_EXIT:
	case MMT_OP_KVFREE_RCU_HEAD:
	case MMT_OP_RESERVE_CHARGE:
	case MMT_OP_RESERVE_UNCHARGE:
	/* trylock only; in hard irq they fail (alloc) or defer (free) */
	case MMT_OP_ALLOC_PAGES_NOLOCK:
	case MMT_OP_FREE_PAGES_NOLOCK:
	case MMT_OP_KMALLOC_NOLOCK:
	case MMT_OP_KFREE_NOLOCK:
		return true;
	case MMT_OP_ALLOC_PAGES:
		return (op->arg[0] & __GFP_FAST_TRY) &&
		       !(_mmt_trace_cur(st)->mask & _MMT_CTX(MMT_CTX_IRQ));
	case MMT_OP_ALLOC_PAGES_NODE:
		return (op->arg[1] & __GFP_FAST_TRY) &&
		       !(_mmt_trace_cur(st)->mask & _MMT_CTX(MMT_CTX_IRQ));
	}
	return false;
}

/* The range check of one number argument; the handle check of a handle. */
static bool check_arg(const struct _mmt_trace_state *st,
		      const struct mmt_op_info *info, int i, uint32_t v,
		      struct _mmt_trace_why *why)
{
	const struct mmt_arg_info *a = &info->args[i];

	switch (a->type) {
	case MMT_ARG_HANDLE:
		/* A misuse may name a dead handle, never an unmade one. */
		if (st->misuse && v < st->h[a->kind].nr)
			return true;
		if (!_mmt_trace_live(st, a->kind, v))
			return refuse(why, i, "%s%u is not a live %s",
				      mmt_handle_prefix(a->kind), v,
				      _mmt_handle_kind_desc(a->kind));
		return true;
	case MMT_ARG_CPU:
		if (v >= (uint32_t)st->hdr.nr_cpus)
			return refuse(why, i,
				      "cpu %u: the machine has %d cpu(s)", v,
				      st->hdr.nr_cpus);
		return true;
	case MMT_ARG_NODE:
		if (v >= (uint32_t)st->hdr.nr_nodes)
			return refuse(why, i,
				      "node %u: the machine has %d node(s)", v,
				      st->hdr.nr_nodes);
		return true;
	case MMT_ARG_ORDER:
		if (v >= MMT_MAX_ORDER)
			return refuse(why, i, "order %u: must be below %d", v,
				      MMT_MAX_ORDER);
		return true;
	case MMT_ARG_GFP:
		/* A misuse may pass bits the model does not know. */
		if ((v & ~MMT_GFP_VALID_MASK) && !st->misuse)
			return refuse(why, i, "GFP mask 0x%x has unknown bits",
				      v);
		return true;
	case MMT_ARG_SIZE:
		if (v < 1 || v > MMT_TRACE_MAX_SIZE)
			return refuse(why, i, "size %u: out of range 1..%d", v,
				      MMT_TRACE_MAX_SIZE);
		return true;
	case MMT_ARG_COUNT:
		if (v < 1 || v > 64)
			return refuse(why, i, "%s %u: out of range 1..64",
				      a->name, v);
		return true;
	case MMT_ARG_SLAB_FLAGS:
		if (v & ~_MMT_TRACE_SLAB_FLAGS_MASK)
			return refuse(why, i, "unknown slab flags 0x%x", v);
		return true;
	case MMT_ARG_ENUM:
		if (v >= mmt_trace_enum_size(a->kind))
			return refuse(why, i, "%s %u: out of range", a->name,
				      v);
		return true;
	case MMT_ARG_NUM:
		/* As written: the misuse passes it to the API unchecked. */
		if (!st->misuse)
			return refuse(why, i, "%s: a misuse's argument",
				      a->name);
		return true;
	}
	return refuse(why, i, "argument %d has no type", i);
}

/* The binary rules: atomic context, RCU readers, PREEMPT_RT, GFP. */
static bool check_atomic(const struct _mmt_trace_state *st,
			 const struct mmt_op *op, struct _mmt_trace_why *why)
{
	const struct _mmt_trace_cpu *cpu = _mmt_trace_cur(st);
	const struct mmt_op_info *info = mmt_op_info(op->code);
	struct mmt_op canon;

	if ((cpu->mask & _MMT_CTX_ATOMIC) && may_sleep(op->code) &&
	    !(op->code == MMT_OP_NET_RX && in_softirq_handler(cpu)))
		return refuse(why, -1, "%s may sleep: not inside %s",
			      info->name, innermost(cpu, _MMT_CTX_ATOMIC));
	/*
	 * drain_local_pages takes pcp->lock outright, which the owner takes
	 * with interrupts on: from a hard irq that is an irq inversion (the
	 * kernel drains from a work item, since v5.x not from an IPI).
	 */
	if (op->code == MMT_OP_DRAIN_LOCAL &&
	    (cpu->mask & _MMT_CTX(MMT_CTX_IRQ)))
		return refuse(
			why, -1,
			"drain_local_pages runs in a work item, not inside irq");
	if (st->rcu_readers &&
	    (op->code == MMT_OP_SYNCHRONIZE_RCU ||
	     op->code == MMT_OP_RCU_BARRIER || op->code == MMT_OP_KVFREE_RCU))
		return refuse(why, -1,
			      "%s would wait for a reader inside rcu_read",
			      info->name);
	if (st->hdr.rt_rules && (cpu->mask & _MMT_CTX_RT_ATOMIC) &&
	    !rt_atomic_ok(st, op))
		return refuse(
			why, -1,
			"%s takes a sleeping spinlock under rt rules: not inside %s",
			info->name, innermost(cpu, _MMT_CTX_RT_ATOMIC));
	if (op->code == MMT_OP_SHRINKER_REGISTER &&
	    op->arg[0] < mmt_trace_enum_size(MMT_ENUM_MUTEX) &&
	    (st->mutex_entered & (1u << op->arg[0])))
		return refuse(
			why, 0,
			"shrinker_register %s: a CPU of this program has held it (a caller's mutex a shrinker takes is the fs_reclaim inversion)",
			mmt_trace_enum_name(MMT_ENUM_MUTEX, op->arg[0]));
	/* Arguments as the decoder would make them, or refused. */
	canon = *op;
	_mmt_trace_canon_op(st, &canon);
	if (memcmp(canon.arg, op->arg, sizeof(op->arg)))
		return refuse(why, -1, "%s: arguments not canonical here",
			      info->name);
	return true;
}

bool _mmt_trace_state_check(const struct _mmt_trace_state *st,
			    const struct mmt_op *op, struct _mmt_trace_why *why)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	const struct _mmt_trace_cpu *cpu = _mmt_trace_cur(st);
	uint32_t n;
	int i;

	if (!info)
		return refuse(why, -1, "no such operation %u", op->code);
	if (MMT_OP_IS_MISUSE(op->code) && !st->misuse)
		return refuse(why, -1, "%s: a misuse, text only", info->name);
	for (i = 0; i < info->nargs; i++)
		if (!check_arg(st, info, i, op->arg[i], why))
			return false;

	switch (op->code) {
	case MMT_OP_CPU:
		n = op->arg[0];
		/*
		 * "misuse cpu N": the task goes to an offline CPU
		 * (cpu-offline) or leaves its CPU inside a context
		 * (leave-cpu-in-atomic); the contexts stay on the CPU left.
		 */
		if (st->misuse)
			break;
		if (!st->cpus[n].online)
			return refuse(why, 0, "cpu %u is offline", n);
		if (cpu->depth)
			return refuse(
				why, -1,
				"cpu %u: cpu %d is inside %s; exit its contexts before leaving it",
				n, st->cpu,
				ctx_name(cpu->stack[cpu->depth - 1]));
		break;
	case MMT_OP_CPU_OFFLINE:
		n = op->arg[0];
		if ((int)n == st->cpu)
			return refuse(
				why, 0,
				"cpu_offline %u: the operations run there; switch cpu first",
				n);
		if (!st->cpus[n].online)
			return refuse(why, 0, "cpu_offline %u: already offline",
				      n);
		if (st->nr_online <= 1)
			return refuse(why, 0,
				      "cpu_offline %u: the last online cpu", n);
		if (st->cpus[n].depth)
			return refuse(why, 0,
				      "cpu_offline %u: it has contexts entered",
				      n);
		break;
	case MMT_OP_CPU_ONLINE:
		n = op->arg[0];
		if (st->cpus[n].online)
			return refuse(why, 0, "cpu_online %u: already online",
				      n);
		break;
	case MMT_OP_ENTER:
		if (!check_enter(st, op->arg[0], why))
			return false;
		break;
	case MMT_OP_EXIT:
		if (!cpu->depth)
			return refuse(why, -1,
				      "exit with no context entered on cpu %d",
				      st->cpu);
		break;
	case MMT_OP_INTERRUPT:
		/*
		 * The handler runs where it is delivered, not here: at this
		 * point of the thread it only becomes pending, so the
		 * thread's own contexts have nothing to do with it.
		 */
		if (cpu->depth)
			return refuse(
				why, -1,
				"interrupt %s: cpu %d is inside %s; a handler is pending on the thread between its blocks, not inside one (exit first)",
				mmt_trace_enum_name(MMT_ENUM_INTERRUPT,
						    op->arg[0]),
				st->cpu, ctx_name(cpu->stack[cpu->depth - 1]));
		break;
	case MMT_OP_NET_RX:
		/*
		 * The interpreter serves the packet in a softirq, or in the
		 * softirq handler it is received in.
		 */
		if (in_softirq_handler(cpu))
			break;
		if (cpu->mask &
		    (_MMT_CTX_INTERRUPT | _MMT_CTX(MMT_CTX_IRQS_OFF)))
			return refuse(
				why, -1,
				"net_rx serves a softirq: not inside %s",
				innermost(cpu,
					  _MMT_CTX_INTERRUPT |
						  _MMT_CTX(MMT_CTX_IRQS_OFF)));
		break;
	case MMT_OP_CACHE_DESTROY:
		n = st->h[MMT_H_CACHE].fact[op->arg[0]];
		if (n)
			return refuse(
				why, 0,
				"kmem_cache_destroy c%u: %u live object handle(s) of the cache",
				op->arg[0], n);
		break;
	case MMT_OP_MEMPOOL_DESTROY:
		n = st->h[MMT_H_MEMPOOL].fact[op->arg[0]];
		if (n)
			return refuse(
				why, 0,
				"mempool_destroy m%u: %u element(s) still out",
				op->arg[0], n);
		break;
	case MMT_OP_RESERVE_DESTROY:
		n = st->h[MMT_H_RESERVE].fact[op->arg[0]];
		if (n)
			return refuse(why, 0,
				      "reserve_destroy r%u: %u live charge(s)",
				      op->arg[0], n);
		break;
	case MMT_OP_RESERVE_GROUP_DESTROY:
		n = st->h[MMT_H_RESERVE_GROUP].fact[op->arg[0]];
		if (n)
			return refuse(
				why, 0,
				"reserve_group_destroy rg%u: %u live reserve(s) or group(s) in it (destroy them first)",
				op->arg[0], n);
		break;
	case MMT_OP_KTHREAD_START: {
		int64_t twin = kthread_twin(st, op->arg[0], op->arg[1]);

		if (twin >= 0)
			return op->arg[0] == MMT_KT_KSWAPD ?
				       refuse(why, 0,
					      "kthread_start kswapd node=%u: k%lld is the node's kswapd already",
					      op->arg[1], (long long)twin) :
				       refuse(why, 0,
					      "kthread_start %s: k%lld is one already (one a machine)",
					      mmt_trace_enum_name(
						      MMT_ENUM_KTHREAD,
						      op->arg[0]),
					      (long long)twin);
		break;
	}
	case MMT_OP_KSWAPD: {
		/* One balancer a node: the thread, or a pass run here. */
		int64_t twin = kthread_twin(st, MMT_KT_KSWAPD, op->arg[0]);

		if (twin >= 0)
			return refuse(
				why, 0,
				"kswapd node=%u: the node's kswapd runs as k%lld (stop it first)",
				op->arg[0], (long long)twin);
		break;
	}
	/* The misuse group: the misuse it names, and no other. */
	case MMT_OP_FREE_PAGES_TAIL:
		n = st->h[MMT_H_PAGE].fact[op->arg[0]];
		if (op->arg[1] >= (1u << n))
			return refuse(
				why, 1,
				"free_pages_tail p%u pages=%u: the block has %u page(s) (the misuse frees a page inside it)",
				op->arg[0], op->arg[1], 1u << n);
		break;
	case MMT_OP_CACHE_FREE_TO:
		if (st->h[MMT_H_CACHE_OBJ].fact[op->arg[1]] == op->arg[0])
			return refuse(
				why, 1,
				"kmem_cache_free_to c%u co%u: the object is of c%u (the misuse frees it to another cache)",
				op->arg[0], op->arg[1], op->arg[0]);
		break;
	case MMT_OP_KFREE_AT:
	case MMT_OP_KVFREE_RCU_AT:
		n = st->h[MMT_H_KMALLOC].fact[op->arg[0]];
		if (op->arg[1] < 1 || op->arg[1] >= n)
			return refuse(
				why, 1,
				"%s o%u off=%u: a pointer inside the %u-byte object, off=1..%u",
				info->name, op->arg[0], op->arg[1], n,
				n ? n - 1 : 0);
		break;
	case MMT_OP_WRITE_PAGES:
		n = st->h[MMT_H_PAGE].fact[op->arg[0]];
		if ((uint64_t)op->arg[1] + op->arg[2] > (uint64_t)MMT_PAGE_SIZE
								<< n)
			return refuse(
				why, 1,
				"write_pages p%u off=%u count=%u: past the block's %lu bytes",
				op->arg[0], op->arg[1], op->arg[2],
				(unsigned long)MMT_PAGE_SIZE << n);
		break;
	case MMT_OP_EXIT_CONTEXT:
		if (op->arg[0] == MMT_CTX_NOIO || op->arg[0] == MMT_CTX_NOFS ||
		    op->arg[0] == MMT_CTX_MEMALLOC)
			return refuse(
				why, 0,
				"exit_context %s: a scope's restore takes what its save returned; nothing to restore without one",
				ctx_name(op->arg[0]));
		break;
	case MMT_OP_CPU_OFFLINE_ANY:
		if (op->arg[0] < (uint32_t)st->hdr.nr_cpus)
			return refuse(
				why, 0,
				"cpu_offline_any cpu=%u: a cpu of the machine (write cpu_offline %u; the misuse is a number past its %d cpu(s))",
				op->arg[0], op->arg[0], st->hdr.nr_cpus);
		break;
	case MMT_OP_KSWAPD_ANY:
		if (op->arg[0] < (uint32_t)st->hdr.nr_nodes)
			return refuse(
				why, 0,
				"kswapd_any node=%u: a node of the machine (write kswapd node=%u; the misuse is a number past its %d node(s))",
				op->arg[0], op->arg[0], st->hdr.nr_nodes);
		break;
	case MMT_OP_KVFREE_RCU_HEAD:
		n = st->h[MMT_H_KMALLOC].fact[op->arg[0]];
		if (n < _MMT_TRACE_RCU_HEAD_SIZE)
			return refuse(
				why, 0,
				"kvfree_rcu_head o%u: a %u-byte object cannot hold the %u-byte rcu_head",
				op->arg[0], n, _MMT_TRACE_RCU_HEAD_SIZE);
		break;
	}
	/*
	 * A handler cannot sleep, in text as in binary: the interrupted
	 * task is under it.  (A synchronous `enter irq` block may, in text,
	 * to show sleep-in-atomic fire.)
	 */
	/*
	 * Nor does it drain from a handler: the interrupted task may hold
	 * this CPU's pcp->lock (taken with interrupts on), and the drain
	 * takes it outright.
	 */
	if (cpu->handler && op->code == MMT_OP_DRAIN_LOCAL)
		return refuse(
			why, -1,
			"drain_local_pages runs in a work item, not in an "
			"interrupt handler (the interrupted task may hold "
			"pcp->lock)");
	if (cpu->handler && may_sleep(op->code) &&
	    !(op->code == MMT_OP_NET_RX && in_softirq_handler(cpu)))
		return refuse(why, -1,
			      "%s may sleep: not in an interrupt handler "
			      "(interrupt %s on cpu %d)",
			      info->name, ctx_name(cpu->stack[0]), st->cpu);
	if (!st->lax && !check_atomic(st, op, why))
		return false;
	return true;
}

/* ---- applying ---- */

static bool handle_create(struct _mmt_trace_state *st, const struct mmt_op *op,
			  unsigned int kind)
{
	struct _mmt_trace_handles *h = &st->h[kind];
	unsigned int pk = _mmt_trace_parent_kind(kind);
	uint32_t serial = h->nr, fact = 0;

	if (h->nr == h->cap && !handles_grow(h))
		return false;
	switch (op->code) {
	case MMT_OP_ALLOC_PAGES:
		fact = op->arg[1]; /* order */
		break;
	case MMT_OP_ALLOC_PAGES_NODE:
		fact = op->arg[2];
		break;
	case MMT_OP_ALLOC_PAGES_NOLOCK:
		fact = op->arg[0]; /* order */
		break;
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
	case MMT_OP_KMALLOC_NOLOCK:
		fact = op->arg[0]; /* size */
		break;
	case MMT_OP_CACHE_ALLOC:
	case MMT_OP_CACHE_ALLOC_NODE:
	case MMT_OP_CACHE_ALLOC_BULK:
	case MMT_OP_CACHE_PREFILL_SHEAF:
	case MMT_OP_MEMPOOL_ALLOC:
	case MMT_OP_RESERVE_CHARGE:
		fact = op->arg[0]; /* the parent's serial */
		break;
	case MMT_OP_CACHE_ALLOC_FROM_SHEAF:
		/* The sheaf's cache. */
		fact = st->h[MMT_H_SHEAF].fact[op->arg[0]];
		break;
	case MMT_OP_KTHREAD_START:
		fact = KT_FACT(op->arg[0], op->arg[1]);
		break;
	}
	if (pk)
		st->h[pk].fact[fact]++;
	if (kind == MMT_H_RESERVE) {
		/* Its group (serial + 1, 0: none), whose live count it is in. */
		uint32_t *g = realloc(st->reserve_group, h->cap * sizeof(*g));

		if (!g)
			return false;
		st->reserve_group = g;
		g[serial] = 0;
		if (op->code == MMT_OP_RESERVE_CREATE_IN) {
			g[serial] = op->arg[0] + 1;
			st->h[MMT_H_RESERVE_GROUP].fact[op->arg[0]]++;
		}
	}
	if (kind == MMT_H_RESERVE_GROUP) {
		/* Its parent group (serial + 1, 0: the root's), as above. */
		uint32_t *g = realloc(st->group_parent, h->cap * sizeof(*g));

		if (!g)
			return false;
		st->group_parent = g;
		g[serial] = 0;
		if (op->code == MMT_OP_RESERVE_GROUP_IN) {
			g[serial] = op->arg[0] + 1;
			h->fact[op->arg[0]]++;
		}
	}
	h->alive[serial] = 1;
	h->fact[serial] = fact;
	h->live[h->nr_live++] = serial; /* the largest serial yet */
	h->nr++;
	return true;
}

static void handle_end(struct _mmt_trace_state *st, unsigned int kind,
		       uint32_t serial)
{
	unsigned int pk = _mmt_trace_parent_kind(kind);
	int c;

	if (!_mmt_trace_live(st, kind, serial))
		return;
	if (pk)
		st->h[pk].fact[st->h[kind].fact[serial]]--;
	if (kind == MMT_H_RESERVE && st->reserve_group[serial])
		st->h[MMT_H_RESERVE_GROUP].fact[st->reserve_group[serial] - 1]--;
	if (kind == MMT_H_RESERVE_GROUP && st->group_parent[serial])
		st->h[MMT_H_RESERVE_GROUP].fact[st->group_parent[serial] - 1]--;
	if (kind == MMT_H_CGROUP)
		for (c = 0; c < st->hdr.nr_cpus; c++)
			if (st->cpus[c].cgroup == serial + 1)
				st->cpus[c].cgroup = 0;
	live_remove(st, kind, serial);
}

bool _mmt_trace_state_apply(struct _mmt_trace_state *st,
			    const struct mmt_op *op)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	struct _mmt_trace_cpu *cpu = &st->cpus[st->cpu];
	uint32_t *size;
	unsigned int ctx;

	if (!info)
		return true;
	/* The one step that can fail goes first: nothing half done. */
	if (info->result && !handle_create(st, op, info->result))
		return false;
	if (info->ends)
		handle_end(st, info->args[info->ends - 1].kind,
			   op->arg[info->ends - 1]);

	switch (op->code) {
	case MMT_OP_CPU:
		st->cpu = (int)op->arg[0];
		break;
	case MMT_OP_CPU_OFFLINE:
		st->cpus[op->arg[0]].online = false;
		st->nr_online--;
		break;
	case MMT_OP_CPU_ONLINE:
		st->cpus[op->arg[0]].online = true;
		st->nr_online++;
		break;
	case MMT_OP_ENTER:
		ctx = op->arg[0];
		cpu->stack[cpu->depth++] = (uint8_t)ctx;
		cpu->count[ctx]++;
		cpu->mask |= (uint16_t)_MMT_CTX(ctx);
		if (ctx == MMT_CTX_RCU_READ)
			st->rcu_readers++;
		if (ctx == MMT_CTX_MUTEX_A || ctx == MMT_CTX_MUTEX_B)
			st->mutex_entered |=
				(uint8_t)(1u << (ctx - MMT_CTX_MUTEX_A));
		break;
	case MMT_OP_EXIT:
		ctx = cpu->stack[--cpu->depth];
		if (!--cpu->count[ctx])
			cpu->mask &= (uint16_t)~_MMT_CTX(ctx);
		if (ctx == MMT_CTX_RCU_READ)
			st->rcu_readers--;
		if (!cpu->depth)
			cpu->handler = false;
		break;
	case MMT_OP_INTERRUPT:
		ctx = op->arg[0]; /* MMT_CTX_IRQ or MMT_CTX_SOFTIRQ */
		cpu->stack[cpu->depth++] = (uint8_t)ctx;
		cpu->count[ctx]++;
		cpu->mask |= (uint16_t)_MMT_CTX(ctx);
		cpu->handler = true;
		break;
	case MMT_OP_KREALLOC:
		/*
		 * A failed krealloc keeps the old object, a successful one
		 * has the new size: what is known for sure is the smaller.
		 */
		size = &st->h[MMT_H_KMALLOC].fact[op->arg[0]];
		if (op->arg[1] < *size)
			*size = op->arg[1];
		break;
	case MMT_OP_CGROUP_ENTER:
		cpu->cgroup = op->arg[0] + 1;
		break;
	case MMT_OP_SHRINKER_REGISTER:
		st->mutex_shrunk |= (uint8_t)(1u << op->arg[0]);
		break;
	}
	return true;
}

size_t _mmt_trace_state_replay(struct _mmt_trace_state *st,
			       const struct mmt_program *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < p->nr_ops; i++)
		if (!_mmt_trace_state_check(st, &p->ops[i], NULL) ||
		    !_mmt_trace_state_apply(st, &p->ops[i]))
			break;
	return i;
}

/* ---- canonicalisation (binary form) ---- */

mmt_gfp_t _mmt_trace_gfp_canon(mmt_gfp_t gfp, unsigned int order, bool atomic)
{
	/*
	 * __GFP_NOFAIL is for text traces only: a decoded program can hold
	 * every page, and then any NOFAIL allocation fails - the kernel
	 * would answer with the OOM killer, which the model has no victims
	 * for.  Fuzzing it only floods the findings with the program's own
	 * doing; tests/test_page_alloc.c states NOFAIL's promise instead.
	 */
	gfp &= MMT_GFP_VALID_MASK & ~__GFP_NOFAIL;
	/* might_alloc(): a blocking mask in atomic context sleeps there. */
	if (atomic)
		gfp &= ~(__GFP_DIRECT_RECLAIM | __GFP_NOFAIL);
	/* page_alloc.c report_gfp(): the combinations it calls gfp-misuse. */
	if ((gfp & __GFP_NOFAIL) &&
	    (!(gfp & __GFP_DIRECT_RECLAIM) ||
	     order > MMT_PAGE_ALLOC_COSTLY_ORDER || (gfp & __GFP_FAST_TRY)))
		gfp &= ~__GFP_NOFAIL;
	return gfp;
}

static uint32_t canon_range(uint32_t v, uint32_t lo, uint32_t n)
{
	return v >= lo && v < lo + n ? v : lo + v % n;
}

/* The repairs one operation's GFP argument needs beyond the generic ones. */
static mmt_gfp_t canon_op_gfp(const struct _mmt_trace_state *st,
			      const struct mmt_op *op, mmt_gfp_t gfp,
			      unsigned int order)
{
	const struct _mmt_trace_cpu *cpu = _mmt_trace_cur(st);

	switch (op->code) {
	case MMT_OP_ALLOC_PAGES:
	case MMT_OP_ALLOC_PAGES_NODE:
		/* Under RT where spinlock_t may not be taken: trylock only. */
		if (st->hdr.rt_rules && (cpu->mask & _MMT_CTX_RT_ATOMIC))
			gfp |= __GFP_FAST_TRY;
		break;
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
	case MMT_OP_KREALLOC:
	case MMT_OP_CACHE_ALLOC:
	case MMT_OP_CACHE_ALLOC_NODE:
	case MMT_OP_CACHE_ALLOC_BULK:
	case MMT_OP_CACHE_PREFILL_SHEAF:
	case MMT_OP_CACHE_RETURN_SHEAF:
		/* The kernel's GFP_SLAB_BUG_MASK: slab objects are not DMA32. */
		gfp &= ~__GFP_DMA32;
		break;
	case MMT_OP_CACHE_ALLOC_FROM_SHEAF:
		/*
		 * From the sheaf only: an empty sheaf fails the allocation
		 * whatever the flags, so __GFP_NOFAIL promises nothing here.
		 */
		gfp &= ~(__GFP_DMA32 | __GFP_NOFAIL);
		break;
	case MMT_OP_MEMPOOL_ALLOC:
		/*
		 * The kernel warns on a zeroing mempool_alloc; and its inner
		 * attempts drop __GFP_DIRECT_RECLAIM, which would leave a
		 * __GFP_NOFAIL that the page allocator calls misuse.
		 */
		gfp &= ~(__GFP_ZERO | __GFP_NOFAIL);
		break;
	}
	return _mmt_trace_gfp_canon(gfp, order, cpu->mask & _MMT_CTX_ATOMIC);
}

void _mmt_trace_canon_op(const struct _mmt_trace_state *st, struct mmt_op *op)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	unsigned int order = 0;
	int i;

	if (!info)
		return;
	/* Numbers first: the GFP repair of alloc_pages needs the order. */
	for (i = 0; i < info->nargs; i++) {
		const struct mmt_arg_info *a = &info->args[i];
		uint32_t *v = &op->arg[i];

		switch (a->type) {
		case MMT_ARG_CPU:
			*v %= (uint32_t)st->hdr.nr_cpus;
			break;
		case MMT_ARG_NODE:
			*v %= (uint32_t)st->hdr.nr_nodes;
			break;
		case MMT_ARG_ORDER:
			*v %= MMT_MAX_ORDER;
			order = *v;
			break;
		case MMT_ARG_SIZE:
			*v = canon_range(*v, 1, MMT_TRACE_MAX_SIZE);
			break;
		case MMT_ARG_COUNT:
			*v = canon_range(*v, 1, 64);
			break;
		case MMT_ARG_SLAB_FLAGS:
			*v &= _MMT_TRACE_SLAB_FLAGS_MASK;
			break;
		case MMT_ARG_ENUM:
			*v %= mmt_trace_enum_size(a->kind);
			break;
		}
	}
	for (i = 0; i < info->nargs; i++)
		if (info->args[i].type == MMT_ARG_GFP)
			op->arg[i] = canon_op_gfp(st, op, op->arg[i], order);
	/* Unused slots are zero, so that programs compare by memcmp. */
	for (i = info->nargs; i < MMT_TRACE_MAX_ARGS; i++)
		op->arg[i] = 0;
}
