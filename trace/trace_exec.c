/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_exec.c - the interpreter (mmt/exec.h): run a program of the
 * operation language against a fresh model instance and say whether an
 * oracle fired.
 *
 * The machine.  Built from the program's header (mmt_trace_header_config),
 * with the caller's bugs if it overrides them.  One task per CPU, "cpu0"
 * ... made on first use; the calling thread starts on CPU 0 with task 0
 * and `cpu N` moves it to CPU N with task N.  Reclaim hooks are installed
 * (direct reclaim works on the LRU).  In a sequential program no kernel
 * thread runs: no kswapd (`kswapd N` runs one balancing pass here,
 * mmt_kswapd_balance), no writeback device, so nothing is ever under
 * writeback and an execution is one thread doing one thing at a time:
 * deterministic.
 *
 * Concurrent programs (a schedule other than seq, kernel threads, or a
 * caller's schedule override) run under the deterministic scheduler
 * (trace/dsched.h; "the concurrent run" below): a fiber per CPU thread
 * running its operations through the same exec_op() once their
 * dependencies (mmt_trace_deps_build) completed, the model's kernel
 * threads as fibers, the program's decisions then its source choosing at
 * every decision point, the chosen indices recorded into the finding.
 * What exec_op() keeps in struct exec for the running operation follows
 * the running fiber (exec_switch); handle serials are textual.  A finding
 * stops the run (the other fibers are abandoned); a clean run stops its
 * kernel threads, detaches the scheduler and tears down as a sequential
 * one.  The scheduler is single-threaded: no lock is added.  Interrupt
 * handlers (`interrupt irq|softirq ... exit`) are no part of their CPU's
 * operation list: armed when the thread reaches them, ready when what
 * they wait for is done, run on the interrupted fiber where the schedule
 * delivers them (the scheduler's irq hook), and served where their thread
 * waits or ends ("interrupt handlers" below).
 *
 * Contexts.  Each CPU has a stack of entered contexts; `enter` pushes
 * (irq, softirq, bh_off, preempt, irqs_off, a lock, rcu_read, a memalloc
 * scope with its saved state) and `exit` pops with the matching call.
 * irqs_off is local_irq_save()/restore() so that it nests.  The locks are
 * the program's own: per CPU one raw_spinlock_t and one spinlock_t for
 * task and softirq context, and another pair taken in hard irq, each pair
 * with its own lock class.  Two classes rather than one, because lockdep
 * reports a class taken in hard irq and elsewhere with interrupts on
 * (irq-inversion): with one class every program that takes "a raw lock"
 * in an irq and "a raw lock" in a task would be reported, although a
 * kernel would use two different locks for the two.  mutex_a and mutex_b
 * are the program's two mutexes, one each per machine, shared by every
 * CPU; shrinker_register's shrinker takes one in reclaim (with __GFP_FS),
 * so an order through reclaim (fs_reclaim) can be written and deadlock.
 *
 * Handles.  Operations refer to handles by serial (creation index per
 * kind).  A handle is a slot holding what the operation made (NULL if the
 * allocation failed) and the facts later operations need (a page's order,
 * an object's size, an object's cache, an element's pool, a charge's
 * reserve and pages).  Ending a NULL handle does nothing.  A serial that
 * was never created, is already ended or is out of range, a CPU or an
 * enumeration value out of range, an exit with nothing entered: the
 * program cannot be run as written, and the interpreter reports
 * "bad-trace" instead of guessing (a decoded program never does this; a
 * hand-made one may).
 *
 * Oracles.  The model's inline checks report violations while an
 * operation runs; the interpreter adds the caller-side ones
 * (exec_oracles.c) right after each allocation: double-alloc, gfp-zero,
 * watermark, gfp-nowait-slept.  Then it writes a pattern into the first
 * bytes of what it got, as a user of the memory would: memory that comes
 * back must be dirty, or a skipped __GFP_ZERO would go unseen on a
 * machine without page poisoning.  Oracle level 1 runs the expensive
 * validators (mmt_machine_is_valid) at teardown, level 2 also after every
 * operation that leaves its CPU without an atomic context (the validators
 * take the model's mutexes; with a lock of the program held they would be
 * the ones misbehaving), there over the zones and caches written since
 * they last ran (mmt_machine_validate_touched: the rest is as valid as it
 * was, so a finding still names the operation that broke the invariant).  The first violation of an execution is the
 * finding, and the execution stops there.
 *
 * Blocking.  With one thread, a wait can only end by its timeout or by the
 * detector (alloc/sched.c).  The machine is configured so that the first
 * time nothing can run is reported at once (stall_without_pressure,
 * stall_jiffies 1): the clock jumps once and every wait returns.  Two
 * waits are legitimate for a program, and both wait for what only the
 * program itself could give back:
 *  - mempool_alloc() with __GFP_DIRECT_RECLAIM on an empty pool whose
 *    allocator fails waits for an element to come back: a "stall" or
 *    "deadlock" first reported during it (the blocked task is necessarily
 *    the interpreter's own: there is no other);
 *  - a __GFP_NOFAIL allocation loops in the kernel until memory comes
 *    back; the model reports "nofail-failed" instead, and when at that
 *    moment every zone the request may use is down to the level NOFAIL may
 *    dig to (on_violation()), nothing but the program could free memory.
 * A third: a "stall" while every zone is at its min watermark and at
 * least half of memory is allocated outside the LRU - the program's own
 * pages, objects and pool reserves hold the machine, and a kernel would be
 * out of memory with nothing to kill (_mmt_exec_program_holds_memory()).
 * An "oom-no-victim" (the OOM killer found no task mapping user pages: the
 * kernel would panic) is always the program's own doing and is let pass in
 * a sequential run: the allocation fails and the program goes on (a
 * fuzzer's program that used memory up still reaches what follows); in a
 * concurrent run, or with another report beside it, it ends the execution
 * blocked.
 * Each ends the execution as MMT_EXEC_BLOCKED, not a finding; any other
 * stall, deadlock or NOFAIL failure is a finding like any violation.  It
 * costs one clock jump, no real time.
 *
 * Teardown.  Every CPU's stack is unwound, every live handle released in
 * an order the API allows (charges, elements, objects, bulk sets, pages,
 * pools, caches, swap files, sockets, the mount, reserves, cgroups), the
 * LRU unmapped, then grace periods, cache shrinking, cgroup work and
 * per-cpu drains are repeated until no page comes back; then the teardown
 * oracles: objects and dead caches left (mmt_slab_teardown_check), at
 * level >= 1 the validators, and pages left (teardown-leak).
 *
 * Invariants: the thread is on CPU `cpu` between operations (a wait may
 * leave it elsewhere: it is moved back); a handle is live exactly from the
 * operation that made it to the one that ends it; every live handle's
 * memory is recorded in the caller-side memory map.
 *
 * Lock order: the program's locks are taken only by `enter`; whatever the
 * program calls under them takes the model's locks inside, which is the
 * point.  The interpreter itself holds no lock.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dsched.h"
#include "exec_internal.h"
#include "mmt/engine.h"
#include "mmt/exec.h"
#include "mmt/mmt.h"
#include "mmt/trace.h"

/* A pattern the program writes into what it gets: memory in use is dirty. */
#define USED_BYTE 0x3c
#define USED_LEN 16
/* The network mount SWAPON puts files on, made on first use. */
#define MOUNT_NAME "nfs-server:/swap"
#define SWAPFILE_PAGES 1024

static MMT_LOCK_CLASS(prog_raw_class, "trace raw_lock", MMT_LOCK_RAW_SPIN);
static MMT_LOCK_CLASS(prog_spin_class, "trace spin_lock", MMT_LOCK_SPIN);
static MMT_LOCK_CLASS(prog_irq_raw_class, "trace raw_lock (hardirq)",
		      MMT_LOCK_RAW_SPIN);
static MMT_LOCK_CLASS(prog_irq_spin_class, "trace spin_lock (hardirq)",
		      MMT_LOCK_SPIN);
/* The program's mutexes, shared by every CPU (enter mutex_a|mutex_b). */
static MMT_LOCK_CLASS(prog_mutex_a_class, "trace mutex_a", MMT_LOCK_MUTEX);
static MMT_LOCK_CLASS(prog_mutex_b_class, "trace mutex_b", MMT_LOCK_MUTEX);
#define NR_PROG_MUTEXES (MMT_CTX_MUTEX_B - MMT_CTX_MUTEX_A + 1)

enum {
	HS_NONE,
	HS_LIVE,
	HS_ENDED
};

/*
 * One handle.  What a and b hold by kind: p: a the order; pb: a the count;
 * o: a the size (krealloc's new one); c: a the object size; co: a the
 * cache's serial; cb: a the cache's serial, b the count; m: a the kind
 * (0 kmalloc, 1 slab, 2 page), b the element size; e: a the pool's
 * serial; ch: a the reserve's serial, b the pages.
 */
struct xhandle {
	void *ptr; /* the thing; pb, cb: the array; NULL: failed */
	void *aux; /* m of kind slab: its cache */
	uint32_t a, b;
	uint8_t state;
};

struct xctx {
	uint8_t ctx; /* enum mmt_trace_context */
	bool irq_lock; /* a lock: the hard-irq instance */
	unsigned long saved; /* irq flags or a scope's saved state */
};

struct xcpu {
	struct mmt_task *task;
	uint8_t depth;
	uint8_t in_handler; /* interrupt handlers of a concurrent run running */
	struct xctx stack[MMT_TRACE_MAX_DEPTH];
	bool locks_ready;
	mmt_raw_spinlock_t raw[2]; /* [0] task/softirq, [1] hard irq */
	mmt_spinlock_t spin[2];
};

/*
 * An interrupt handler of a concurrent run (`interrupt irq|softirq` up to
 * its `exit`): armed when its CPU's thread reaches it, deliverable once
 * the operations its opening waits for (mmt_trace_deps_build) are done,
 * then run once, on its CPU's fiber, where it is delivered.
 */
struct xirq {
	uint32_t open; /* the `interrupt` operation */
	uint32_t end; /* one past its last operation */
	uint8_t ctx; /* MMT_CTX_IRQ or MMT_CTX_SOFTIRQ */
	uint8_t depth; /* contexts it nests at most, its own included */
	bool delivered;
};

/*
 * A concurrent run's thread (one per CPU with operations, or the single
 * runner of a seq program with kernel threads): what exec_op() keeps in
 * struct exec for the running thread, saved here while it is switched out
 * (exec_switch), and its share of the program.
 */
struct xthr {
	struct exec *x;
	int id; /* fiber id */
	int cpu;
	size_t op_index;
	mmt_gfp_t op_gfp;
	int op_node;
	uint32_t last_serial;
	uint32_t *ops; /* its operations, in order */
	size_t nr;
	size_t waiting_for; /* an operation of another thread, or SIZE_MAX */
	/*
	 * Off its CPU in wait_deps() and woken: runnable, so counted by the
	 * model as away and coming back (mmt_engine_thread_pending) until it
	 * holds its CPU or parks again - while it sleeps it is not counted,
	 * so that the clock may jump for the timed sleepers it waits for.
	 */
	bool woken_away;
	bool off_cpu; /* left its CPU to wait in wait_deps() */
	/*
	 * Its CPU's interrupt handlers, in textual order: irq[0..nr_armed)
	 * are those the thread has reached, irq_left of them not delivered.
	 * in_wait: in wait_deps() (where only the thread's own forced
	 * deliveries run, attached).
	 */
	struct xirq *irq;
	size_t nr_irq, nr_armed, irq_left;
	bool in_wait;
	size_t wait_op; /* in_wait: the operation it waits to start */
	char why[200];
};

/* A kernel thread a program started (the handle's ptr). */
struct xkthread {
	uint32_t kind; /* enum mmt_trace_kthread */
	int node;
	struct mmt_wb_device *dev, *lower;
	struct mmt_swapfile *sf; /* netswap: its swap file, off at the stop */
	bool running;
};

#define MAX_DEV_STACK 64

struct exec {
	const struct mmt_program *p;
	const struct mmt_exec_opts *o;
	struct mmt_finding *f;
	struct mmt_machine *m;
	int level;
	int cpu; /* where the program runs */
	struct xcpu *cpus;
	struct xhandle *h[MMT_NR_HANDLE_KINDS];
	uint32_t nr_h[MMT_NR_HANDLE_KINDS]; /* room: results in the program */
	uint32_t made[MMT_NR_HANDLE_KINDS]; /* created so far (max serial+1) */
	uint32_t last_serial; /* the serial new_handle() gave last */
	uint32_t *serial; /* concurrent: by operation, its result's serial */
	struct mmt_swap_mount *mnt;
	struct _mmt_xmem mem;
	/* the page allocator observed (sequential runs): ref_rules.h */
	struct _mmt_ref_obs obs;
	bool observed;
	size_t op_index; /* the operation running, nr_ops in teardown */
	mmt_gfp_t op_gfp; /* its GFP argument, if it has one */
	int op_node; /* its node argument, or -1 */
	/* net_rx: what became of the packet, for the log (NULL: nothing) */
	const char *rx_note;
	/* at the first violation, if it was nofail-failed: memory used up */
	bool nofail_exhausted;
	bool oom_held; /* at the first violation: the program holds memory */
	unsigned long oom_pages, oom_managed;
	enum mmt_exec_result result;
	bool stop; /* a finding, or blocked */
	/* ---- a concurrent run (mt): NULL/false for a sequential one ---- */
	bool mt; /* threads under the deterministic scheduler */
	bool was_mt; /* ran concurrently (teardown after the scheduler) */
	bool threads; /* one thread per CPU (else a seq runner) */
	struct mmt_dsched *ds;
	struct mmt_trace_deps deps;
	bool *done; /* by operation: completed */
	struct xthr *thr;
	int nr_thr;
	size_t nr_irq; /* interrupt handlers of the program (threads only) */
	/*
	 * Handlers run so far: one delivered inside an allocation may take
	 * pages after the allocation's watermark check passed, so that
	 * caller's zone count says nothing about it (op_alloc_pages).
	 */
	uint64_t irq_runs;
	/* the program's mutexes (contexts mutex_a, mutex_b; shrinkers) */
	mmt_mutex_t mutex[NR_PROG_MUTEXES];
	/* reclaim's swap and file devices, most recent last */
	struct xkthread *swap_dev[MAX_DEV_STACK], *file_dev[MAX_DEV_STACK];
	int nr_swap_dev, nr_file_dev;
};

/* ---- small helpers ---- */

static const char *base_name(const char *site)
{
	const char *s = strrchr(site, '/');

	return s ? s + 1 : site;
}

/* "p3" for kind @k serial @s, for messages. */
static const char *hname(enum mmt_handle_kind k, uint32_t s, char *buf,
			 size_t len)
{
	snprintf(buf, len, "%s%u", mmt_handle_prefix(k), s);
	return buf;
}

static bool bad_trace(struct exec *x, const char *fmt, ...) MMT_PRINTF(2, 3);

/* The program cannot be run as written: report it (the finding). */
static bool bad_trace(struct exec *x, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mmt_violation(x->m, "bad-trace", "operation %zu: %s",
			     x->op_index, msg);
}

static unsigned int size_order(size_t size)
{
	unsigned int order = 0;

	while ((MMT_PAGE_SIZE << order) < size)
		order++;
	return order;
}

/* Write the "in use" pattern into what the program got. */
static void use(void *p, size_t len)
{
	if (p)
		memset(p, USED_BYTE, len < USED_LEN ? len : USED_LEN);
}

/* ---- the finding ---- */

static void fill_finding(struct exec *x, const struct mmt_violation *v)
{
	struct mmt_finding *f = x->f;
	const struct mmt_check_info *ci = mmt_check_find(v->check);
	size_t idx = (size_t)v->op_index;

	snprintf(f->oracle, sizeof(f->oracle), "%s", v->check);
	snprintf(f->layer, sizeof(f->layer), "%s",
		 ci ? ci->layer : (v->layer ? v->layer : "?"));
	snprintf(f->site, sizeof(f->site), "%s", base_name(v->site));
	snprintf(f->func, sizeof(f->func), "%s", v->func ? v->func : "?");
	/* No line number: the signature outlives moving code. */
	snprintf(f->signature, sizeof(f->signature), "%s|%s|%s", f->oracle,
		 f->layer, f->func);
	f->op_index = idx;
	if (idx < x->p->nr_ops)
		mmt_trace_format_op(x->p, &x->p->ops[idx], f->op_text,
				    sizeof(f->op_text));
	else
		snprintf(f->op_text, sizeof(f->op_text), "teardown");
	snprintf(f->message, sizeof(f->message), "%s", v->msg);
	free(f->dump);
	f->dump = NULL;
	if (v->dump) {
		f->dump = strdup(v->dump);
	} else {
		size_t len = 0;
		FILE *out = open_memstream(&f->dump, &len);

		if (out) {
			mmt_machine_dump(x->m, out);
			fclose(out);
		}
	}
}

/* Name in the finding the misuse that caused it (mmt/exec.h). */
static MMT_COLD void fill_cause(struct exec *x, const struct mmt_violation *c)
{
	struct mmt_finding *f = x->f;
	size_t idx = (size_t)c->op_index;
	char op[160];
	unsigned long nr = 0;

	mmt_violation_cause(x->m, &nr);
	if (idx < x->p->nr_ops)
		mmt_trace_format_op(x->p, &x->p->ops[idx], op, sizeof(op));
	else
		snprintf(op, sizeof(op), "teardown");
	snprintf(f->cause, sizeof(f->cause),
		 "%s [%s] at %s (%s), op %zu: %s (%lu report%s): %.400s",
		 c->check, c->layer ? c->layer : "?", base_name(c->site),
		 c->func ? c->func : "?", idx, op, nr, nr == 1 ? "" : "s",
		 c->msg);
}

/* How an operation may legitimately wait for the program itself. */
enum may_block {
	BLOCK_NEVER,
	BLOCK_MEMPOOL, /* mempool_alloc with __GFP_DIRECT_RECLAIM */
	BLOCK_NOFAIL, /* an allocation with __GFP_NOFAIL */
};

/*
 * Is violation @v the operation waiting for the program itself (see the
 * file comment)?  A blocking mempool_alloc on a pool the program emptied
 * waits until the detector ends it ("stall", "deadlock").  A __GFP_NOFAIL
 * allocation loops in the kernel until memory comes back; the model
 * reports "nofail-failed" instead, and when every zone is used up, only
 * the program could give memory back.
 */
static bool blocked_by(struct exec *x, const struct mmt_violation *v,
		       enum may_block how, mmt_gfp_t gfp)
{
	switch (how) {
	case BLOCK_MEMPOOL:
		return !strcmp(v->check, "stall") ||
		       !strcmp(v->check, "deadlock");
	case BLOCK_NOFAIL:
		(void)gfp;
		return !strcmp(v->check, "nofail-failed") &&
		       x->nofail_exhausted;
	case BLOCK_NEVER:
		break;
	}
	return false;
}

/*
 * The machine's violation handler: runs inside the model when a check
 * fires.  Only the state at that moment tells whether a failed
 * __GFP_NOFAIL allocation found memory used up (a failed bulk allocation
 * gives back what it took before the operation returns).
 */
static void on_violation(struct mmt_machine *m, const struct mmt_violation *v,
			 void *arg)
{
	struct exec *x = arg;

	if (mmt_violation_count(m) == 1 && !strcmp(v->check, "nofail-failed"))
		x->nofail_exhausted =
			_mmt_exec_nofail_exhausted(m, x->op_gfp, x->op_node);
	/*
	 * The OOM killer runs only once the allocator found every zone the
	 * request may use below its mark for that order, and a program maps
	 * no user pages but those of lru_add: nothing to kill is always the
	 * program's own doing (memory the model itself leaked is still
	 * teardown-leak's).  The counts are for the message.
	 */
	if (mmt_violation_count(m) == 1 && !strcmp(v->check, "oom-no-victim")) {
		_mmt_exec_program_holds_memory(m, &x->oom_pages,
					       &x->oom_managed, true);
		x->oom_held = true;
	}
	if (mmt_violation_count(m) == 1 && !strcmp(v->check, "stall")) {
		x->oom_held = _mmt_exec_program_holds_memory(
			m, &x->oom_pages, &x->oom_managed, false);
	}
}

/*
 * After an operation (or a teardown step): did something fire?  The first
 * violation is the finding, unless it is the operation's legitimate wait
 * for the program itself, which makes the execution blocked.
 */
static enum may_block op_may_block(const struct mmt_op *op, mmt_gfp_t *gfp);

/*
 * A concurrent run: whichever thread looks first, judge the operation that
 * was running when @v fired (a wait of another thread), or none.
 */
static MMT_COLD enum may_block mt_may_block(struct exec *x,
					    const struct mmt_violation *v,
					    size_t *at, mmt_gfp_t *gfp)
{
	*at = (size_t)v->op_index;
	if (*at >= x->p->nr_ops) {
		*at = x->op_index;
		return BLOCK_NEVER;
	}
	return op_may_block(&x->p->ops[*at], gfp);
}

static bool check_blocked(struct exec *x, enum may_block how, mmt_gfp_t gfp)
{
	const struct mmt_violation *v, *cause;
	size_t at;
	bool waits;

	if (x->stop)
		return true;
	if (!mmt_violation_count(x->m))
		return false;
	v = mmt_violation_get(x->m, 0);
	if (!v)
		return false;
	/*
	 * The OOM killer found nobody to kill while the program itself holds
	 * the memory: the kernel would panic, but it is the program's own
	 * doing.  A sequential run lets that allocation fail and goes on (as
	 * before the model had an OOM killer), so that a fuzzer's program
	 * that used memory up still reaches what follows; with anything else
	 * reported beside it (a NOFAIL failure), it ends blocked below.
	 */
	if (!x->mt && x->oom_held && mmt_violation_count(x->m) == 1 &&
	    !strcmp(v->check, "oom-no-victim")) {
		x->oom_held = false;
		mmt_violations_clear(x->m);
		return false;
	}
	x->stop = true;
	at = x->op_index;
	if (MMT_UNLIKELY(x->mt))
		how = mt_may_block(x, v, &at, &gfp);
	waits = blocked_by(x, v, how, gfp);
	cause = mmt_violation_cause(x->m, NULL);
	if (MMT_UNLIKELY(cause)) {
		/*
		 * A misuse came first: the finding is the stall or deadlock
		 * it caused, naming it; or, when the program only waits for
		 * itself or something else fired, the misuse itself.
		 */
		bool caused = !waits && !x->oom_held &&
			      (!strcmp(v->check, "stall") ||
			       !strcmp(v->check, "deadlock"));

		x->result = MMT_EXEC_FINDING;
		fill_finding(x, caused ? v : cause);
		if (caused)
			fill_cause(x, cause);
		return true;
	}
	/* Over the run's budget, still working: too long, not a livelock. */
	if (MMT_UNLIKELY(x->ds && mmt_dsched_over_budget(x->ds) &&
			 !strcmp(v->check, "stall"))) {
		x->result = MMT_EXEC_BLOCKED;
		x->f->op_index = at;
		mmt_trace_format_op(x->p, &x->p->ops[at], x->f->op_text,
				    sizeof(x->f->op_text));
		snprintf(x->f->message, sizeof(x->f->message), "%.500s",
			 v->msg);
		return true;
	}
	if (waits || x->oom_held) {
		x->result = MMT_EXEC_BLOCKED;
		x->f->op_index = at;
		mmt_trace_format_op(x->p, &x->p->ops[at], x->f->op_text,
				    sizeof(x->f->op_text));
		if (!waits)
			snprintf(
				x->f->message, sizeof(x->f->message),
				"out of memory held by the program (%lu of %lu pages unreclaimable: outside the LRU, anonymous with no swap, or queued on a writeback worker that cannot allocate; every zone at its min watermark): %.300s",
				x->oom_pages, x->oom_managed, v->msg);
		else
			snprintf(x->f->message, sizeof(x->f->message),
				 "the program waits for itself: %.470s",
				 v->msg);
		return true;
	}
	x->result = MMT_EXEC_FINDING;
	fill_finding(x, v);
	return true;
}

static bool check_findings(struct exec *x)
{
	return check_blocked(x, BLOCK_NEVER, 0);
}

/* ---- CPUs and tasks ---- */

static struct mmt_task *cpu_task(struct exec *x, int cpu)
{
	struct xcpu *c = &x->cpus[cpu];

	if (!c->task) {
		char name[16];

		snprintf(name, sizeof(name), "cpu%d", cpu);
		c->task = mmt_task_create(x->m, name, 0);
	}
	return c->task;
}

/* Put the thread on @cpu with its task (from any CPU or none). */
static bool go_to(struct exec *x, int cpu)
{
	struct mmt_task *t = cpu_task(x, cpu);

	if (!t)
		return false;
	if (mmt_smp_processor_id() == cpu && mmt_current_task() == t)
		return true;
	if (MMT_UNLIKELY(x->mt)) {
		/*
		 * A kernel thread may be on it: wait for it to give way,
		 * meanwhile away and coming back (mmt/engine.h), not idle.
		 */
		bool on = mmt_smp_processor_id() >= 0, ok;

		if (on) {
			mmt_engine_thread_pending(x->m, 1);
			mmt_cpu_detach();
		}
		ok = mmt_cpu_attach_wait(x->m, cpu, t);
		if (on)
			mmt_engine_thread_pending(x->m, -1);
		return ok;
	}
	if (mmt_smp_processor_id() >= 0)
		mmt_cpu_detach();
	return mmt_cpu_attach(x->m, cpu, t);
}

/*
 * A wait leaves its CPU and comes back on whichever is free: after an
 * operation, the program's thread goes back where the program runs.
 */
static void rehome(struct exec *x)
{
	if (mmt_smp_processor_id() != x->cpu ||
	    mmt_current_task() != x->cpus[x->cpu].task)
		go_to(x, x->cpu);
}

/* ---- contexts ---- */

static void locks_ready(struct xcpu *c)
{
	if (c->locks_ready)
		return;
	mmt_raw_spin_lock_init(&c->raw[0], &prog_raw_class);
	mmt_raw_spin_lock_init(&c->raw[1], &prog_irq_raw_class);
	mmt_spin_lock_init(&c->spin[0], &prog_spin_class);
	mmt_spin_lock_init(&c->spin[1], &prog_irq_spin_class);
	c->locks_ready = true;
}

static bool enter(struct exec *x, uint32_t ctx)
{
	struct xcpu *c = &x->cpus[x->cpu];
	struct xctx *e;

	if (ctx >= MMT_NR_TRACE_CONTEXTS)
		return bad_trace(x, "enter: no context %u", ctx);
	if (c->depth >= MMT_TRACE_MAX_DEPTH)
		return bad_trace(x, "enter: cpu %d already has %d contexts",
				 x->cpu, c->depth);
	e = &c->stack[c->depth++];
	e->ctx = (uint8_t)ctx;
	e->saved = 0;
	e->irq_lock = false;
	switch (ctx) {
	case MMT_CTX_IRQ:
		mmt_irq_enter();
		break;
	case MMT_CTX_SOFTIRQ:
		mmt_softirq_enter();
		break;
	case MMT_CTX_BH_OFF:
		mmt_local_bh_disable();
		break;
	case MMT_CTX_PREEMPT:
		mmt_preempt_disable();
		break;
	case MMT_CTX_IRQS_OFF:
		e->saved = mmt_local_irq_save();
		break;
	case MMT_CTX_RAW_LOCK:
		locks_ready(c);
		e->irq_lock = mmt_in_hardirq();
		_mmt_raw_spin_lock(&c->raw[e->irq_lock], MMT_SITE);
		break;
	case MMT_CTX_SPIN_LOCK:
		locks_ready(c);
		e->irq_lock = mmt_in_hardirq();
		_mmt_spin_lock(&c->spin[e->irq_lock], MMT_SITE);
		break;
	case MMT_CTX_RCU_READ:
		mmt_rcu_read_lock();
		break;
	case MMT_CTX_NOIO:
		e->saved = mmt_memalloc_noio_save();
		break;
	case MMT_CTX_NOFS:
		e->saved = mmt_memalloc_nofs_save();
		break;
	case MMT_CTX_MEMALLOC:
		e->saved = mmt_memalloc_noreclaim_save();
		break;
	case MMT_CTX_MUTEX_A:
	case MMT_CTX_MUTEX_B:
		_mmt_mutex_lock(&x->mutex[ctx - MMT_CTX_MUTEX_A], MMT_SITE);
		break;
	}
	return true;
}

/* Pop the innermost context of @cpu (the thread is on it). */
static bool leave(struct exec *x, struct xcpu *c)
{
	struct xctx *e;

	if (!c->depth)
		return bad_trace(x, "exit with no context entered on cpu %d",
				 mmt_smp_processor_id());
	e = &c->stack[--c->depth];
	switch (e->ctx) {
	case MMT_CTX_IRQ:
		mmt_irq_exit();
		break;
	case MMT_CTX_SOFTIRQ:
		mmt_softirq_exit();
		break;
	case MMT_CTX_BH_OFF:
		mmt_local_bh_enable();
		break;
	case MMT_CTX_PREEMPT:
		mmt_preempt_enable();
		break;
	case MMT_CTX_IRQS_OFF:
		mmt_local_irq_restore(e->saved);
		break;
	case MMT_CTX_RAW_LOCK:
		_mmt_raw_spin_unlock(&c->raw[e->irq_lock], MMT_SITE);
		break;
	case MMT_CTX_SPIN_LOCK:
		_mmt_spin_unlock(&c->spin[e->irq_lock], MMT_SITE);
		break;
	case MMT_CTX_RCU_READ:
		mmt_rcu_read_unlock();
		break;
	case MMT_CTX_NOIO:
		mmt_memalloc_noio_restore((unsigned int)e->saved);
		break;
	case MMT_CTX_NOFS:
		mmt_memalloc_nofs_restore((unsigned int)e->saved);
		break;
	case MMT_CTX_MEMALLOC:
		mmt_memalloc_noreclaim_restore((unsigned int)e->saved);
		break;
	case MMT_CTX_MUTEX_A:
	case MMT_CTX_MUTEX_B:
		_mmt_mutex_unlock(&x->mutex[e->ctx - MMT_CTX_MUTEX_A],
				  MMT_SITE);
		break;
	}
	return true;
}

/* Does the current CPU's stack hold a context that cannot sleep? */
static bool cpu_atomic(struct exec *x)
{
	const struct xcpu *c = &x->cpus[x->cpu];
	int i;

	for (i = 0; i < c->depth; i++)
		if (c->stack[i].ctx < MMT_CTX_NOIO)
			return true;
	return false;
}

/* ---- handles ---- */

static struct xhandle *arg_handle(struct exec *x, const struct mmt_op *op,
				  int i)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	unsigned int kind = info->args[i].kind;
	uint32_t s = op->arg[i];
	struct xhandle *hd;
	char n[24];

	if (s >= x->made[kind] || x->h[kind][s].state == HS_NONE) {
		bad_trace(x, "%s: %s was never created", info->name,
			  hname(kind, s, n, sizeof(n)));
		return NULL;
	}
	hd = &x->h[kind][s];
	/* "misuse": the author meant the dead handle (a double free). */
	if (hd->state != HS_LIVE && !(op->misuse && hd->state == HS_ENDED)) {
		bad_trace(x, "%s: %s was ended before", info->name,
			  hname(kind, s, n, sizeof(n)));
		return NULL;
	}
	return hd;
}

/* The handle an operation makes (the next serial of its kind). */
static struct xhandle *new_handle(struct exec *x, unsigned int kind)
{
	struct xhandle *hd;

	uint32_t serial = x->made[kind];

	/* Concurrent: serials are textual, whatever order things run in. */
	if (MMT_UNLIKELY(x->serial))
		serial = x->serial[x->op_index];
	if (serial >= x->nr_h[kind])
		return NULL; /* counted at the start: cannot happen */
	if (serial >= x->made[kind])
		x->made[kind] = serial + 1;
	x->last_serial = serial;
	hd = &x->h[kind][serial];
	memset(hd, 0, sizeof(*hd));
	hd->state = HS_LIVE;
	return hd;
}

/* A handle of @kind by serial, live, for a dependant's parent. */
static struct xhandle *parent(struct exec *x, unsigned int kind, uint32_t s)
{
	if (s >= x->made[kind] || x->h[kind][s].state != HS_LIVE)
		return NULL;
	return &x->h[kind][s];
}

/* ---- allocations and their oracles ---- */

/* The allocation oracles of pages the program got. */
static void got_pages(struct exec *x, struct mmt_page *page, unsigned int order,
		      mmt_gfp_t gfp, const struct _mmt_wmark_caller *wc,
		      const struct _mmt_what *what)
{
	void *addr;

	if (!page)
		return;
	addr = mmt_page_address(page);
	if (!_mmt_xmem_page_add(&x->mem, page, order, what))
		return;
	if ((gfp & __GFP_ZERO) &&
	    !_mmt_exec_check_zero(x->m, addr, MMT_PAGE_SIZE << order, what))
		return;
	if (wc && !_mmt_exec_check_watermark(x->m, wc, page, order))
		return;
	use(addr, MMT_PAGE_SIZE << order);
}

/* ... and of an object of @len bytes. */
static void got_object(struct exec *x, void *obj, size_t len, mmt_gfp_t gfp,
		       bool zero_check, bool reserves_check,
		       const struct _mmt_what *what)
{
	if (!obj)
		return;
	if (!_mmt_xmem_obj_add(&x->mem, obj, len, what, true))
		return;
	if (zero_check && (gfp & __GFP_ZERO) &&
	    !_mmt_exec_check_zero(x->m, obj, len, what))
		return;
	if (reserves_check &&
	    !_mmt_exec_check_obj_reserves(x->m, obj, gfp, what))
		return;
	use(obj, len);
}

static void drop_pages(struct exec *x, struct mmt_page *page,
		       unsigned int order)
{
	if (page)
		_mmt_xmem_page_del(&x->mem, page, order);
}

static void drop_object(struct exec *x, void *obj, size_t len)
{
	if (obj)
		_mmt_xmem_obj_del(&x->mem, obj, len);
}

/* The memory of mempool element @e of pool handle @m. */
static void element_track(struct exec *x, const struct xhandle *mh, void *e,
			  bool add, const struct _mmt_what *what)
{
	if (!e)
		return;
	if (mh->a == 2) { /* page pool: struct mmt_page * of the order */
		if (add)
			_mmt_xmem_page_add(&x->mem, e, size_order(mh->b), what);
		else
			_mmt_xmem_page_del(&x->mem, e, size_order(mh->b));
		return;
	}
	if (add)
		_mmt_xmem_obj_add(&x->mem, e, mh->b, what, true);
	else
		_mmt_xmem_obj_del(&x->mem, e, mh->b);
}

/* ---- the operations ---- */

static void op_alloc_pages(struct exec *x, int node, mmt_gfp_t gfp,
			   unsigned int order, struct xhandle *hd,
			   const struct _mmt_what *what)
{
	struct _mmt_wmark_caller wc, *wcp = &wc;
	struct mmt_page *page;
	uint64_t switches = x->ds ? mmt_dsched_switches(x->ds) : 0;
	uint64_t irq_runs = x->irq_runs;

	_mmt_exec_wmark_caller(&wc, gfp, !x->o->strict_reference);
	page = node < 0 ? mmt_alloc_pages(gfp, order) :
			  mmt_alloc_pages_node(node, gfp, order);
	hd->ptr = page;
	hd->a = order;
	/*
	 * Another thread that ran meanwhile may have taken pages after this
	 * allocation's watermark check passed (a race the kernel allows):
	 * the zone's count then says nothing about this caller.  A
	 * sequential run's observer saw the count at the very check.
	 */
	if (x->observed || (x->ds && mmt_dsched_switches(x->ds) != switches) ||
	    x->irq_runs != irq_runs)
		wcp = NULL;
	if (page && order < MMT_MAX_ORDER)
		got_pages(x, page, order, gfp, wcp, what);
}

static void op_alloc_bulk(struct exec *x, mmt_gfp_t gfp, uint32_t count,
			  struct xhandle *hd, const struct _mmt_what *what)
{
	struct mmt_page **arr = calloc(count ? count : 1, sizeof(*arr));
	uint32_t i;

	hd->a = count;
	hd->ptr = arr;
	if (!arr)
		return;
	mmt_alloc_pages_bulk(gfp, count, arr);
	for (i = 0; i < count && !mmt_violation_count(x->m); i++)
		got_pages(x, arr[i], 0, gfp, NULL, what);
}

static void free_bulk_pages(struct exec *x, struct xhandle *hd)
{
	struct mmt_page **arr = hd->ptr;
	uint32_t i;

	for (i = 0; arr && i < hd->a; i++)
		if (arr[i]) {
			drop_pages(x, arr[i], 0);
			mmt_free_pages(arr[i], 0);
		}
	free(arr);
	hd->ptr = NULL;
}

static void op_kmalloc(struct exec *x, size_t size, mmt_gfp_t gfp, int node,
		       struct xhandle *hd, const struct _mmt_what *what)
{
	void *obj = node < 0 ? mmt_kmalloc(size, gfp) :
			       mmt_kmalloc_node(size, gfp, node);

	hd->ptr = obj;
	hd->a = (uint32_t)size;
	got_object(x, obj, size, gfp, true, true, what);
}

static void op_krealloc(struct exec *x, struct xhandle *hd, size_t size,
			mmt_gfp_t gfp, const struct _mmt_what *what)
{
	void *old = hd->ptr, *n;
	size_t old_usable = old ? mmt_ksize(old) : 0;

	/*
	 * The old object is freed inside krealloc (after the copy), where an
	 * interrupt handler may already get its memory back: it stops being
	 * the program's before the call, and is the program's again if the
	 * call fails (the kernel keeps it then).
	 */
	drop_object(x, old, hd->a);
	n = mmt_krealloc(old, size, gfp);
	if (!n) {
		if (old)
			_mmt_xmem_obj_add(&x->mem, old, hd->a, what, true);
		return;
	}
	if (n == old) {
		/* Same object, new size: nothing new was handed out. */
		_mmt_xmem_obj_add(&x->mem, n, size, what, true);
		hd->a = (uint32_t)size;
		return;
	}
	/* A new object must not overlap the old one it was copied from. */
	if (old && (char *)n < (char *)old + old_usable &&
	    (char *)old < (char *)n + size)
		mmt_violation(
			x->m, "double-alloc",
			"%s: krealloc's new object %p (%zu bytes) overlaps the old one %p (%zu bytes)",
			MMT_WHAT(what), n, size, old, old_usable);
	if (_mmt_xmem_obj_add(&x->mem, n, size, what, true) &&
	    (gfp & __GFP_ZERO) && size > old_usable)
		/* Only the grown part: the rest is the old contents. */
		_mmt_exec_check_zero(x->m, (char *)n + old_usable,
				     size - old_usable, what);
	hd->ptr = n;
	hd->a = (uint32_t)size;
}

static void op_cache_create(struct exec *x, uint32_t size, uint32_t flags,
			    struct xhandle *hd)
{
	char name[32];

	snprintf(name, sizeof(name), "c%u", x->last_serial);
	hd->ptr = mmt_kmem_cache_create(name, size, 0, flags, NULL);
	hd->a = size;
}

static void op_cache_alloc(struct exec *x, const struct mmt_op *op,
			   struct xhandle *ch, mmt_gfp_t gfp, int node,
			   struct xhandle *hd, const struct _mmt_what *what)
{
	void *obj = NULL;

	hd->a = op->arg[0];
	if (ch->ptr)
		obj = node < 0 ? mmt_kmem_cache_alloc(ch->ptr, gfp) :
				 mmt_kmem_cache_alloc_node(ch->ptr, gfp, node);
	hd->ptr = obj;
	got_object(x, obj, ch->a, gfp, true, true, what);
}

static void op_cache_alloc_bulk(struct exec *x, const struct mmt_op *op,
				struct xhandle *ch, struct xhandle *hd,
				const struct _mmt_what *what)
{
	mmt_gfp_t gfp = op->arg[1];
	uint32_t count = op->arg[2], i;
	void **arr;

	hd->a = op->arg[0];
	hd->b = count;
	if (!ch->ptr || !count)
		return;
	arr = calloc(count, sizeof(*arr));
	if (!arr)
		return;
	if (!mmt_kmem_cache_alloc_bulk(ch->ptr, gfp, count, arr)) {
		free(arr);
		return;
	}
	hd->ptr = arr;
	for (i = 0; i < count && !mmt_violation_count(x->m); i++)
		got_object(x, arr[i], ch->a, gfp, true, true, what);
}

/* sh = kmem_cache_prefill_sheaf c gfp count: a = the cache's serial. */
static void op_prefill_sheaf(struct exec *x, const struct mmt_op *op,
			     struct xhandle *ch, struct xhandle *hd)
{
	struct _mmt_wmark_caller c;

	(void)x;
	hd->a = op->arg[0];
	/*
	 * The sheaf's objects are allocated now, with this caller's rights
	 * (an entitled prefill may take pfmemalloc objects, as the kernel's
	 * oversize and emulated prefills do); kmem_cache_alloc_from_sheaf
	 * hands them out later whatever its own mask.  b: the right.
	 */
	_mmt_exec_wmark_caller(&c, op->arg[1], true);
	hd->b = c.r.pfmemalloc_allowed;
	if (ch->ptr)
		hd->ptr = mmt_kmem_cache_prefill_sheaf(ch->ptr, op->arg[1],
						       op->arg[2]);
}

/* co = kmem_cache_alloc_from_sheaf sh gfp: the object of the sheaf's cache. */
static void op_alloc_from_sheaf(struct exec *x, const struct mmt_op *op,
				struct xhandle *sh, struct xhandle *hd,
				const struct _mmt_what *what)
{
	struct xhandle *ch = parent(x, MMT_H_CACHE, sh->a);
	mmt_gfp_t gfp = op->arg[1];
	void *obj = NULL;

	hd->a = sh->a;
	if (sh->ptr && ch && ch->ptr)
		obj = mmt_kmem_cache_alloc_from_sheaf(ch->ptr, gfp, sh->ptr);
	hd->ptr = obj;
	/* Judged by the rights of the prefill that allocated it. */
	got_object(x, obj, ch ? ch->a : 1, gfp, true, !sh->b, what);
}

static void return_sheaf(struct exec *x, struct xhandle *sh, mmt_gfp_t gfp)
{
	struct xhandle *ch = parent(x, MMT_H_CACHE, sh->a);

	if (sh->ptr && ch && ch->ptr)
		mmt_kmem_cache_return_sheaf(ch->ptr, gfp, sh->ptr);
	sh->ptr = NULL;
}

/* Free a cache bulk set, to its cache or with kfree_bulk(). */
static void free_cache_bulk(struct exec *x, struct xhandle *hd, bool kfree)
{
	struct xhandle *ch = parent(x, MMT_H_CACHE, hd->a);
	void **arr = hd->ptr;
	uint32_t i;

	if (!arr)
		return;
	for (i = 0; i < hd->b; i++)
		drop_object(x, arr[i], ch ? ch->a : 1);
	if (kfree)
		mmt_kfree_bulk(hd->b, arr);
	else if (ch && ch->ptr)
		mmt_kmem_cache_free_bulk(ch->ptr, hd->b, arr);
	free(arr);
	hd->ptr = NULL;
}

static void op_mempool_create(struct exec *x, uint32_t kind, uint32_t min,
			      uint32_t size, struct xhandle *hd)
{
	char name[32], cname[48];

	snprintf(name, sizeof(name), "m%u", x->last_serial);
	hd->a = kind;
	hd->b = size;
	switch (kind) {
	case 0:
		hd->ptr = mmt_mempool_create_kmalloc_pool(name, (int)min, size);
		break;
	case 1:
		snprintf(cname, sizeof(cname), "%s-elements", name);
		hd->aux = mmt_kmem_cache_create(cname, size, 0, 0, NULL);
		if (hd->aux)
			hd->ptr = mmt_mempool_create_slab_pool(name, (int)min,
							       hd->aux);
		if (!hd->ptr && hd->aux) {
			mmt_kmem_cache_destroy(hd->aux);
			hd->aux = NULL;
		}
		break;
	default:
		hd->ptr = mmt_mempool_create_page_pool(name, (int)min,
						       size_order(size));
		break;
	}
}

static void mempool_release(struct exec *x, struct xhandle *hd)
{
	(void)x;
	mmt_mempool_destroy(hd->ptr);
	if (hd->aux)
		mmt_kmem_cache_destroy(hd->aux);
	hd->ptr = hd->aux = NULL;
}

static void op_cgroup_offline(struct exec *x, struct xhandle *hd)
{
	struct mmt_memcg *cg = hd->ptr;
	int c;

	if (!cg)
		return;
	/* cgroup_rmdir needs it empty: its tasks go back to the root. */
	for (c = 0; c < mmt_nr_cpus(x->m); c++)
		if (x->cpus[c].task && mmt_task_memcg(x->cpus[c].task) == cg)
			mmt_task_set_memcg(x->cpus[c].task, NULL);
	mmt_memcg_offline(cg);
	/* Gone at once if nothing holds it; else at teardown (reap). */
	if (!mmt_memcg_nr_caches(cg) && !mmt_memcg_charged_pages(cg) &&
	    mmt_memcg_destroy(cg))
		hd->ptr = NULL;
}

/*
 * net_rx: a packet arrives for @sk, as the network swap device's receive
 * path does it (alloc/writeback.c net_receive()): in a softirq, from the
 * RX reserve, with PF_MEMALLOC while any memalloc socket exists; checked
 * against what the program holds, then freed.
 */
static void op_net_rx(struct exec *x, struct mmt_sock *sk, size_t size)
{
	struct mmt_mem_reserve *rx = mmt_net_reserve(x->m, true);
	bool emergency = mmt_sk_memalloc_socks(x->m) > 0;
	struct mmt_task *t = mmt_current_task();
	const mmt_gfp_t gfp = GFP_ATOMIC | __GFP_NOWARN;
	unsigned long sp = mmt_task_sleep_points(t);
	unsigned int saved = 0;
	bool in_softirq;
	long drops;
	void *skb;

	if (!sk)
		return;
	/* Received in a softirq handler: served there, not in another. */
	in_softirq = mmt_in_serving_softirq();
	if (!in_softirq)
		mmt_softirq_enter();
	if (emergency)
		saved = mmt_memalloc_noreclaim_save();
	drops = mmt_sk_drops(sk);
	skb = mmt_sk_alloc_emergency(sk, rx, size, gfp);
	if (emergency)
		mmt_memalloc_noreclaim_restore(saved);
	x->rx_note = !skb ? (mmt_sk_drops(sk) != drops ? "dropped" : "NULL") :
		     mmt_obj_is_pfmemalloc(x->m, skb) ?
			    "delivered from the reserves" :
			    "delivered";
	if (skb)
		_mmt_xmem_obj_add(&x->mem, skb, size,
				  &(const struct _mmt_what){ MMT_WHAT_TEXT,
							     "net_rx" },
				  false);
	/* sk_filter(): reserve memory reaches only a SOCK_MEMALLOC socket. */
	if (skb && !mmt_sk_memalloc(sk) && mmt_obj_is_pfmemalloc(x->m, skb))
		mmt_violation(
			x->m, "emergency-memory",
			"net_rx: socket without SOCK_MEMALLOC was handed a %zu-byte packet from the reserves (%p)",
			size, skb);
	_mmt_exec_check_nowait(x->m, gfp, sp, mmt_task_sleep_points(t),
			       "net_rx");
	if (skb)
		mmt_sk_free_emergency(sk, rx, skb, size);
	if (!in_softirq)
		mmt_softirq_exit();
}

/*
 * shrinker_register MUTEX: a shrinker as a filesystem registers one (a
 * superblock's): reclaim calls it on every pass; without __GFP_FS it stops
 * at once (super_cache_scan()'s rule, which is why GFP_NOFS is the fix for
 * a lock a shrinker takes), with it its scan takes the program's mutex, as
 * a shrinker takes a lock of its filesystem, and frees nothing.  Reclaim
 * holds fs_reclaim meanwhile, so lockdep orders fs_reclaim before the
 * mutex; a caller that holds the mutex across an allocation that may
 * enter fs reclaim orders it the other way (docs/trace-language.md,
 * "Locks and reclaim").
 */
struct xshrinker {
	mmt_mutex_t *mutex;
	struct mmt_shrinker *s;
};

static unsigned long xshrinker_count(struct mmt_machine *m, int nid,
				     mmt_gfp_t gfp, void *arg)
{
	(void)m, (void)nid, (void)gfp, (void)arg;
	return 1; /* always something cached: every pass scans */
}

static unsigned long xshrinker_scan(struct mmt_machine *m, int nid,
				    mmt_gfp_t gfp, unsigned long nr, void *arg)
{
	struct xshrinker *xs = arg;

	(void)m, (void)nid, (void)nr;
	if (!(gfp & __GFP_FS))
		return 0; /* SHRINK_STOP: no filesystem recursion */
	_mmt_mutex_lock(xs->mutex, MMT_SITE);
	_mmt_mutex_unlock(xs->mutex, MMT_SITE);
	return 0;
}

static void op_shrinker_register(struct exec *x, uint32_t mutex,
				 struct xhandle *res)
{
	struct xshrinker *xs = calloc(1, sizeof(*xs));
	char name[32];

	if (!xs)
		return;
	snprintf(name, sizeof(name), "shrinker-sr%u (%s)", x->last_serial,
		 mmt_trace_enum_name(MMT_ENUM_MUTEX, mutex));
	xs->mutex = &x->mutex[mutex];
	xs->s = mmt_register_shrinker(x->m, name, xshrinker_count,
				      xshrinker_scan, xs);
	if (!xs->s) {
		free(xs);
		return;
	}
	res->ptr = xs;
}

static void shrinker_release(struct xhandle *hd)
{
	struct xshrinker *xs = hd->ptr;

	if (!xs)
		return;
	mmt_unregister_shrinker(xs->s);
	free(xs);
	hd->ptr = NULL;
}

/*
 * reserve_group_destroy: the rules leave no live reserve in the group; a
 * concurrent program's other CPU may still destroy one later, and the
 * model then has it detached: no reserve handle keeps the group as the
 * parent it reconnects to.
 */
static void reserve_group_release(struct exec *x, struct xhandle *hd)
{
	uint32_t s;

	if (!hd->ptr)
		return;
	for (s = 0; s < x->made[MMT_H_RESERVE]; s++)
		if (x->h[MMT_H_RESERVE][s].aux == hd->ptr)
			x->h[MMT_H_RESERVE][s].aux = NULL;
	/* Its groups (teardown only: a program destroys them first) go detached. */
	for (s = 0; s < x->made[MMT_H_RESERVE_GROUP]; s++)
		if (x->h[MMT_H_RESERVE_GROUP][s].aux == hd->ptr)
			x->h[MMT_H_RESERVE_GROUP][s].aux = NULL;
	mmt_mem_reserve_disconnect(hd->ptr);
	mmt_mem_reserve_destroy(hd->ptr);
	hd->ptr = NULL;
}

static void op_lru_add(struct exec *x, uint32_t lru, uint32_t count)
{
	uint32_t i;
	bool ok = true;

	for (i = 0; i < count && ok && !mmt_violation_count(x->m); i++) {
		switch (lru) {
		case 0: /* no swap device: unreclaimable, like mlocked */
			ok = mmt_lru_add_anon(x->m);
			break;
		case 1: /* clean page cache: reclaim drops it */
			ok = mmt_lru_add_file(x->m, false, NULL);
			break;
		default: /* dirty, no device to write it: unreclaimable */
			ok = mmt_lru_add_file(x->m, true, NULL);
			/* write(2) dirtying page cache: held to the dirty limit */
			if (ok)
				mmt_balance_dirty_pages_ratelimited(x->m);
			break;
		}
	}
}

static enum mmt_lru_type lru_type(uint32_t lru)
{
	return lru == 0 ? MMT_LRU_ANON :
	       lru == 1 ? MMT_LRU_FILE_CLEAN :
			  MMT_LRU_FILE_DIRTY;
}

/* The GFP argument of @op, if it has one, and its node (or -1). */
static bool op_gfp(const struct mmt_op_info *info, const struct mmt_op *op,
		   mmt_gfp_t *gfp, int *node)
{
	bool has = false;
	int i;

	*node = -1;
	for (i = 0; i < info->nargs; i++) {
		if (info->args[i].type == MMT_ARG_GFP) {
			*gfp = op->arg[i];
			has = true;
		}
		if (info->args[i].type == MMT_ARG_NODE)
			*node = (int)op->arg[i];
	}
	return has;
}

/* ---- kernel threads (concurrent runs) ---- */

static void dev_push(struct xkthread **stack, int *n, struct xkthread *k)
{
	if (*n < MAX_DEV_STACK)
		stack[(*n)++] = k;
}

/* Take @k off @stack; the top is reclaim's device again. */
static struct mmt_wb_device *dev_pop(struct xkthread **stack, int *n,
				     struct xkthread *k)
{
	int i, j;

	for (i = j = 0; i < *n; i++)
		if (stack[i] != k)
			stack[j++] = stack[i];
	*n = j;
	return j ? stack[j - 1]->dev : NULL;
}

/*
 * `k = kthread_start KIND node=N`: the model's kernel thread of that kind,
 * a fiber of the scheduler from now on (the engine makes every
 * mmt_kthread_run() one).  Devices become reclaim's swap or file device.
 */
static MMT_COLD bool kthread_start(struct exec *x, uint32_t kind, int node,
				   struct xhandle *res)
{
	struct mmt_machine *m = x->m;
	struct xkthread *k;
	char name[32];
	unsigned int serial = x->last_serial;

	if (kind >= MMT_NR_TRACE_KTHREADS)
		return bad_trace(x, "kthread_start: no kind %u", kind);
	if (node < 0 || node >= mmt_nr_nodes(m))
		return bad_trace(x, "kthread_start: no node %d", node);
	k = calloc(1, sizeof(*k));
	if (!k)
		return bad_trace(x, "kthread_start: out of host memory");
	k->kind = kind;
	k->node = node;
	res->ptr = k; /* freed with the handles, even after an abandoned run */
	switch ((enum mmt_trace_kthread)kind) {
	case MMT_KT_KSWAPD:
		k->running = mmt_kswapd_start_node(m, node);
		break;
	case MMT_KT_DISK:
		snprintf(name, sizeof(name), "disk-k%u", serial);
		k->dev = mmt_disk_create(m, name, 2);
		break;
	case MMT_KT_DMCRYPT:
		snprintf(name, sizeof(name), "crypt-disk-k%u", serial);
		k->lower = mmt_disk_create(m, name, 2);
		snprintf(name, sizeof(name), "dm-crypt-k%u", serial);
		if (k->lower)
			k->dev = mmt_crypt_create(m, name, k->lower, NULL);
		break;
	case MMT_KT_LOOP:
		snprintf(name, sizeof(name), "loop-disk-k%u", serial);
		k->lower = mmt_disk_create(m, name, 2);
		snprintf(name, sizeof(name), "loop-k%u", serial);
		if (k->lower)
			k->dev = mmt_loop_create(m, name, k->lower,
						 MMT_PF_LESS_THROTTLE, 0);
		break;
	case MMT_KT_NETSWAP: {
		struct mmt_swapfile *sf;

		if (!x->mnt)
			x->mnt = mmt_swap_mount_create(m, MOUNT_NAME);
		snprintf(name, sizeof(name), "netswap-k%u", serial);
		sf = x->mnt ? mmt_swapon(x->mnt, name, SWAPFILE_PAGES) : NULL;
		if (sf)
			k->dev = mmt_netswap_create(m, name, x->mnt, sf, 2, 0);
		k->sf = k->dev ? sf : NULL;
		if (sf && !k->dev)
			mmt_swapoff(sf);
		break;
	}
	case MMT_KT_GP:
		k->running = mmt_rcu_gp_kthread_start(m);
		break;
	case MMT_KT_KVFREE_RCU:
		k->running = mmt_kvfree_rcu_worker_start(m);
		break;
	case MMT_NR_TRACE_KTHREADS:
		break;
	}
	if (k->dev) {
		k->running = true;
		if (kind != MMT_KT_LOOP) {
			dev_push(x->swap_dev, &x->nr_swap_dev, k);
			mmt_reclaim_set_swap_device(m, k->dev);
		}
		if (kind == MMT_KT_DISK || kind == MMT_KT_LOOP) {
			dev_push(x->file_dev, &x->nr_file_dev, k);
			mmt_reclaim_set_file_device(m, k->dev);
		}
	} else if (k->lower) {
		mmt_wb_device_destroy(k->lower);
		k->lower = NULL;
	}
	if (!k->running) {
		res->ptr = NULL; /* could not start: a NULL handle */
		free(k);
	}
	return true;
}

/* `kthread_stop k` (and teardown): stop it and wait until it has ended. */
static MMT_COLD void kthread_stop(struct exec *x, struct xkthread *k)
{
	if (!k->running)
		return;
	k->running = false;
	switch (k->kind) {
	case MMT_KT_KSWAPD:
		mmt_kswapd_stop_node(x->m, k->node);
		return;
	case MMT_KT_GP:
		mmt_rcu_gp_kthread_stop(x->m);
		return;
	case MMT_KT_KVFREE_RCU:
		mmt_kvfree_rcu_worker_stop(x->m);
		return;
	}
	mmt_reclaim_set_swap_device(x->m,
				    dev_pop(x->swap_dev, &x->nr_swap_dev, k));
	mmt_reclaim_set_file_device(x->m,
				    dev_pop(x->file_dev, &x->nr_file_dev, k));
	/* Upper before lower: the loop and dm-crypt queue on their disk. */
	mmt_wb_device_destroy(k->dev);
	if (k->lower)
		mmt_wb_device_destroy(k->lower);
	/*
	 * The sender's swap file goes with it, as it came: left on, its
	 * mount's socket would keep SOCK_MEMALLOC and the watermarks stay
	 * raised for a reserve nothing uses.
	 */
	if (k->sf)
		mmt_swapoff(k->sf);
	k->dev = k->lower = NULL;
	k->sf = NULL;
}

/* How operation @op may legitimately wait for the program (its GFP in @gfp). */
static enum may_block op_may_block(const struct mmt_op *op, mmt_gfp_t *gfp)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	int node;

	*gfp = 0;
	if (!info || !op_gfp(info, op, gfp, &node))
		return BLOCK_NEVER;
	if (op->code == MMT_OP_MEMPOOL_ALLOC && (*gfp & __GFP_DIRECT_RECLAIM))
		return BLOCK_MEMPOOL;
	if (*gfp & __GFP_NOFAIL)
		return BLOCK_NOFAIL;
	return BLOCK_NEVER;
}

/* ---- deliberate misuse (the misuse group of mmt/trace.h) ---- */

/* The byte a misuse writes: no poison or red-zone pattern of the model. */
#define MISUSE_BYTE 0xa5

/*
 * Write @count misuse bytes at @off of the memory at @base, if every byte
 * is the machine's memory (a misuse corrupts the model, never the host).
 */
static bool misuse_write(struct exec *x, const struct mmt_op_info *info,
			 char *base, uint32_t off, uint32_t count)
{
	char *at = base + off;

	if (!mmt_virt_to_page(x->m, at) ||
	    !mmt_virt_to_page(x->m, at + count - 1))
		return bad_trace(
			x, "%s: off=%u count=%u leaves the machine's memory",
			info->name, off, count);
	memset(at, MISUSE_BYTE, count);
	return true;
}

/* The exit primitive of context @ctx, which this CPU did not enter. */
static bool exit_unentered(struct exec *x, uint32_t ctx)
{
	struct xcpu *c = &x->cpus[x->cpu];

	switch (ctx) {
	case MMT_CTX_IRQ:
		mmt_irq_exit();
		break;
	case MMT_CTX_SOFTIRQ:
		mmt_softirq_exit();
		break;
	case MMT_CTX_BH_OFF:
		mmt_local_bh_enable();
		break;
	case MMT_CTX_PREEMPT:
		mmt_preempt_enable();
		break;
	case MMT_CTX_IRQS_OFF:
		mmt_local_irq_enable();
		break;
	case MMT_CTX_RAW_LOCK:
		locks_ready(c);
		_mmt_raw_spin_unlock(&c->raw[mmt_in_hardirq()], MMT_SITE);
		break;
	case MMT_CTX_SPIN_LOCK:
		locks_ready(c);
		_mmt_spin_unlock(&c->spin[mmt_in_hardirq()], MMT_SITE);
		break;
	case MMT_CTX_RCU_READ:
		mmt_rcu_read_unlock();
		break;
	case MMT_CTX_MUTEX_A:
	case MMT_CTX_MUTEX_B:
		_mmt_mutex_unlock(&x->mutex[ctx - MMT_CTX_MUTEX_A], MMT_SITE);
		break;
	default: /* the scopes: a restore needs its save (the text refuses) */
		return bad_trace(x, "exit_context: no exit primitive for %u",
				 ctx);
	}
	return true;
}

/*
 * A misuse operation: the API call a correct program never makes, so that
 * the model's own check reports it.  Handles may be dead (a freed block's
 * stale pointer); the interpreter's shadow of the program's memory is
 * updated only where memory really changes hands.
 */
static MMT_COLD bool run_misuse(struct exec *x, const struct mmt_op *op,
				const struct mmt_op_info *info,
				struct xhandle **ah)
{
	struct mmt_machine *m = x->m;
	const uint32_t *a = op->arg;
	struct xhandle *hd = ah[0], *ch;
	struct mmt_page *page;
	char name[32];
	void *p;

	switch ((enum mmt_opcode)op->code) {
	case MMT_OP_FREE_PAGES_ORDER:
		if (!hd->ptr)
			break;
		/* The model frees the block with its own order after the
		 * report (bad-order: not at all). */
		if (hd->state == HS_LIVE && a[1] < MMT_MAX_ORDER)
			drop_pages(x, hd->ptr, hd->a);
		mmt_free_pages(hd->ptr, a[1]);
		break;
	case MMT_OP_FREE_PAGES_TAIL:
		if (!hd->ptr)
			break;
		page = mmt_pfn_to_page(m, mmt_page_to_pfn(hd->ptr) + a[1]);
		if (!page)
			return bad_trace(
				x, "%s: no page %u after the block's first",
				info->name, a[1]);
		mmt_free_pages(page, 0);
		break;
	case MMT_OP_ALLOC_FREE_PAGES:
		page = mmt_alloc_pages_node((int)a[0], a[1], a[2]);
		if (page)
			mmt_free_pages(page, a[2]);
		break;
	case MMT_OP_CACHE_CREATE_DESTROY:
		snprintf(name, sizeof(name), "misuse%zu", x->op_index);
		p = mmt_kmem_cache_create(name, a[0], 0, a[1], NULL);
		if (p)
			mmt_kmem_cache_destroy(p);
		break;
	case MMT_OP_CACHE_FREE_TO:
		/* Refused by the model: the object stays allocated. */
		if (hd->ptr && ah[1]->ptr)
			mmt_kmem_cache_free(hd->ptr, ah[1]->ptr);
		break;
	case MMT_OP_KFREE_AT:
		if (hd->ptr)
			mmt_kfree((char *)hd->ptr + a[1]);
		break;
	case MMT_OP_KVFREE_RCU_AT:
		if (hd->ptr)
			mmt_kvfree_rcu((char *)hd->ptr + a[1]);
		break;
	case MMT_OP_WRITE_PAGES:
		if (hd->ptr)
			return misuse_write(x, info, mmt_page_address(hd->ptr),
					    a[1], a[2]);
		break;
	case MMT_OP_WRITE_CACHE_OBJ:
		if (hd->ptr)
			return misuse_write(x, info, hd->ptr, a[1], a[2]);
		break;
	case MMT_OP_WRITE_ELEMENT:
		ch = &x->h[MMT_H_MEMPOOL][hd->a];
		if (!hd->ptr)
			break;
		p = ch->a == 2 ? mmt_page_address(hd->ptr) : hd->ptr;
		return misuse_write(x, info, p, a[1], a[2]);
	case MMT_OP_EXIT_CONTEXT:
		return exit_unentered(x, a[0]);
	case MMT_OP_CPU_OFFLINE_ANY:
		mmt_cpu_offline(m, (int)a[0]);
		break;
	case MMT_OP_LOCK_UNINITIALIZED: {
		mmt_spinlock_t l;

		memset(&l, 0, sizeof(l));
		_mmt_spin_lock(&l, MMT_SITE);
		_mmt_spin_unlock(&l, MMT_SITE);
		break;
	}
	case MMT_OP_KSWAPD_ANY:
		mmt_kswapd_balance(m, (int)a[0]);
		break;
	default:
		return bad_trace(x, "%s: not a misuse operation", info->name);
	}
	return true;
}

/*
 * Run one operation.  Handle arguments were checked live; the result
 * handle (if any) is @res.  Returns false only for bad-trace (reported).
 */
static bool run_op(struct exec *x, const struct mmt_op *op,
		   const struct mmt_op_info *info, struct xhandle **ah,
		   struct xhandle *res)
{
	struct mmt_machine *m = x->m;
	const uint32_t *a = op->arg;
	/* Formatted only if an oracle reports (MMT_WHAT). */
	const struct _mmt_what what_op = { x->op_index, info->name },
			       *what = &what_op;
	struct xhandle *hd = ah[0];
	switch ((enum mmt_opcode)op->code) {
	case MMT_OP_CPU:
		if (a[0] >= (uint32_t)mmt_nr_cpus(m))
			return bad_trace(x, "cpu %u: the machine has %d cpu(s)",
					 a[0], mmt_nr_cpus(m));
		if (x->threads)
			break; /* a thread marker: every thread has its CPU */
		if ((int)a[0] != x->cpu) {
			int from = x->cpu;

			if (!go_to(x, (int)a[0])) {
				go_to(x, from); /* reported; stay usable */
				break;
			}
			x->cpu = (int)a[0];
		}
		break;
	case MMT_OP_ENTER:
		return enter(x, a[0]);
	case MMT_OP_INTERRUPT:
		/*
		 * Its handler's entry (delivered, or in textual order when
		 * the run is sequential): irq_enter / softirq_enter.
		 */
		if (a[0] != MMT_CTX_IRQ && a[0] != MMT_CTX_SOFTIRQ)
			return bad_trace(x, "interrupt: no handler context %u",
					 a[0]);
		return enter(x, a[0]);
	case MMT_OP_EXIT:
		return leave(x, &x->cpus[x->cpu]);
	case MMT_OP_SCHEDULE:
		/* cond_resched(): a preemption point that may sleep. */
		mmt_might_sleep();
		mmt_cond_resched();
		break;
	case MMT_OP_CPU_OFFLINE:
		mmt_cpu_offline(m, (int)a[0]);
		break;
	case MMT_OP_CPU_ONLINE:
		mmt_cpu_online(m, (int)a[0]);
		break;
	case MMT_OP_ALLOC_PAGES:
		op_alloc_pages(x, -1, a[0], a[1], res, what);
		break;
	case MMT_OP_ALLOC_PAGES_NODE:
		op_alloc_pages(x, (int)a[0], a[1], a[2], res, what);
		break;
	case MMT_OP_FREE_PAGES:
		if (hd->ptr) {
			if (!op->misuse)
				drop_pages(x, hd->ptr, hd->a);
			mmt_free_pages(hd->ptr, hd->a);
		}
		break;
	case MMT_OP_ALLOC_PAGES_BULK:
		op_alloc_bulk(x, a[0], a[1], res, what);
		break;
	case MMT_OP_FREE_PAGES_BULK:
		free_bulk_pages(x, hd);
		break;
	case MMT_OP_DRAIN_LOCAL:
		mmt_drain_local_pages();
		break;
	case MMT_OP_DRAIN_ALL:
		mmt_drain_all_pages(m);
		break;
	case MMT_OP_ALLOC_PAGES_NOLOCK: {
		/* What the call adds to the caller's (no) flags. */
		const mmt_gfp_t gfp = __GFP_NOWARN | __GFP_ZERO |
				      __GFP_NOMEMALLOC | __GFP_COMP;
		struct _mmt_wmark_caller wc;
		struct mmt_page *page;

		uint64_t irq_runs = x->irq_runs;

		_mmt_exec_wmark_caller(&wc, gfp, !x->o->strict_reference);
		page = mmt_alloc_pages_nolock(0, (int)a[1], a[0]);
		res->ptr = page;
		res->a = a[0];
		if (page)
			got_pages(x, page, a[0], gfp,
				  x->ds || x->irq_runs != irq_runs ? NULL : &wc,
				  what);
		break;
	}
	case MMT_OP_FREE_PAGES_NOLOCK:
		if (hd->ptr) {
			drop_pages(x, hd->ptr, hd->a);
			mmt_free_pages_nolock(hd->ptr, hd->a);
		}
		break;
	case MMT_OP_KMALLOC:
		op_kmalloc(x, a[0], a[1], -1, res, what);
		break;
	case MMT_OP_KMALLOC_NODE:
		op_kmalloc(x, a[0], a[1], (int)a[2], res, what);
		break;
	case MMT_OP_KFREE:
		if (!op->misuse)
			drop_object(x, hd->ptr, hd->a);
		mmt_kfree(hd->ptr);
		break;
	case MMT_OP_KREALLOC:
		op_krealloc(x, hd, a[1], a[2], what);
		break;
	case MMT_OP_KMALLOC_NOLOCK:
		res->ptr = mmt_kmalloc_nolock(a[0], 0, (int)a[1]);
		res->a = a[0];
		/* kmalloc_nolock zeroes nothing unless asked (__GFP_ZERO). */
		got_object(x, res->ptr, a[0], 0, false, true, what);
		break;
	case MMT_OP_KFREE_NOLOCK:
		drop_object(x, hd->ptr, hd->a);
		mmt_kfree_nolock(hd->ptr);
		break;
	case MMT_OP_CACHE_CREATE:
		op_cache_create(x, a[0], a[1], res);
		break;
	case MMT_OP_CACHE_DESTROY:
		mmt_kmem_cache_destroy(hd->ptr);
		break;
	case MMT_OP_CACHE_ALLOC:
		op_cache_alloc(x, op, hd, a[1], -1, res, what);
		break;
	case MMT_OP_CACHE_ALLOC_NODE:
		op_cache_alloc(x, op, hd, a[1], (int)a[2], res, what);
		break;
	case MMT_OP_CACHE_FREE: {
		struct xhandle *ch = parent(x, MMT_H_CACHE, hd->a);

		if (!hd->ptr)
			break;
		if (!ch)
			return bad_trace(x, "%s: its cache c%u is gone",
					 info->name, hd->a);
		if (!op->misuse)
			drop_object(x, hd->ptr, ch->a);
		mmt_kmem_cache_free(ch->ptr, hd->ptr);
		break;
	}
	case MMT_OP_CACHE_ALLOC_BULK:
		op_cache_alloc_bulk(x, op, hd, res, what);
		break;
	case MMT_OP_CACHE_FREE_BULK:
		if (hd->ptr && !parent(x, MMT_H_CACHE, hd->a))
			return bad_trace(x, "%s: its cache c%u is gone",
					 info->name, hd->a);
		free_cache_bulk(x, hd, false);
		break;
	case MMT_OP_KFREE_BULK:
		free_cache_bulk(x, hd, true);
		break;
	case MMT_OP_CACHE_SHRINK:
		mmt_kmem_cache_shrink(hd->ptr);
		break;
	case MMT_OP_CACHE_PREFILL_SHEAF:
		op_prefill_sheaf(x, op, hd, res);
		break;
	case MMT_OP_CACHE_ALLOC_FROM_SHEAF:
		if (hd->ptr && !parent(x, MMT_H_CACHE, hd->a))
			return bad_trace(x, "%s: its cache c%u is gone",
					 info->name, hd->a);
		op_alloc_from_sheaf(x, op, hd, res, what);
		break;
	case MMT_OP_CACHE_RETURN_SHEAF:
		if (hd->ptr && !parent(x, MMT_H_CACHE, hd->a))
			return bad_trace(x, "%s: its cache c%u is gone",
					 info->name, hd->a);
		return_sheaf(x, hd, a[1]);
		break;
	case MMT_OP_KVFREE_RCU:
		drop_object(x, hd->ptr, hd->a);
		if (hd->ptr)
			mmt_kvfree_rcu(hd->ptr);
		break;
	case MMT_OP_KVFREE_RCU_HEAD:
		if (!hd->ptr)
			break;
		/* The rcu_head is the object's first member. */
		if (hd->a < sizeof(struct mmt_rcu_head))
			return bad_trace(
				x,
				"%s: a %u-byte object cannot hold the %zu-byte rcu_head",
				info->name, hd->a, sizeof(struct mmt_rcu_head));
		drop_object(x, hd->ptr, hd->a);
		mmt_kvfree_rcu_head(hd->ptr, hd->ptr);
		break;
	case MMT_OP_GP_STEP:
		mmt_rcu_gp_step(m);
		break;
	case MMT_OP_SYNCHRONIZE_RCU:
		mmt_synchronize_rcu();
		break;
	case MMT_OP_RCU_BARRIER:
		/* rcu_barrier() then kvfree_rcu_barrier(): all queued goes. */
		mmt_rcu_barrier(m);
		mmt_kvfree_rcu_barrier(m);
		break;
	case MMT_OP_CGROUP_CREATE: {
		char name[32];

		snprintf(name, sizeof(name), "g%u", x->last_serial);
		res->ptr = mmt_memcg_create(m, name);
		break;
	}
	case MMT_OP_CGROUP_ENTER:
		if (hd->ptr)
			mmt_task_set_memcg(mmt_current_task(), hd->ptr);
		break;
	case MMT_OP_CGROUP_OFFLINE:
		op_cgroup_offline(x, hd);
		break;
	case MMT_OP_MEMPOOL_CREATE:
		if (a[0] > 2)
			return bad_trace(x, "%s: no pool kind %u", info->name,
					 a[0]);
		op_mempool_create(x, a[0], a[1], a[2], res);
		break;
	case MMT_OP_MEMPOOL_ALLOC:
		res->a = a[0];
		if (hd->ptr) {
			res->ptr = mmt_mempool_alloc(hd->ptr, a[1]);
			element_track(x, hd, res->ptr, true, what);
			if (res->ptr && !mmt_violation_count(m))
				use(hd->a == 2 ? mmt_page_address(res->ptr) :
						 res->ptr,
				    hd->b);
		}
		break;
	case MMT_OP_MEMPOOL_FREE: {
		struct xhandle *mh = parent(x, MMT_H_MEMPOOL, hd->a);

		if (!hd->ptr)
			break;
		if (!mh || !mh->ptr)
			return bad_trace(x, "%s: its pool m%u is gone",
					 info->name, hd->a);
		if (!op->misuse)
			element_track(x, mh, hd->ptr, false, what);
		mmt_mempool_free(hd->ptr, mh->ptr);
		break;
	}
	case MMT_OP_MEMPOOL_RESIZE:
		if (hd->ptr)
			mmt_mempool_resize(hd->ptr, (int)a[1]);
		break;
	case MMT_OP_MEMPOOL_DESTROY:
		mempool_release(x, hd);
		break;
	case MMT_OP_SWAPON: {
		char name[32];

		if (!x->mnt)
			x->mnt = mmt_swap_mount_create(m, MOUNT_NAME);
		snprintf(name, sizeof(name), "swapfile-s%u", x->last_serial);
		if (x->mnt)
			res->ptr = mmt_swapon(x->mnt, name, SWAPFILE_PAGES);
		break;
	}
	case MMT_OP_SWAPOFF:
		if (hd->ptr)
			mmt_swapoff(hd->ptr);
		break;
	case MMT_OP_SOCK_MEMALLOC: {
		char name[32];

		snprintf(name, sizeof(name), "sk%u", x->last_serial);
		res->ptr = mmt_sock_create(m, name);
		if (res->ptr)
			mmt_sk_set_memalloc(res->ptr);
		break;
	}
	case MMT_OP_SOCK_CREATE: {
		char name[32];

		/* sock_create(): no SOCK_MEMALLOC, no rights to the reserves. */
		snprintf(name, sizeof(name), "sk%u", x->last_serial);
		res->ptr = mmt_sock_create(m, name);
		break;
	}
	case MMT_OP_SOCK_CLOSE:
		if (hd->ptr) {
			mmt_sk_clear_memalloc(hd->ptr);
			mmt_sock_destroy(hd->ptr);
		}
		break;
	case MMT_OP_NET_RX:
		op_net_rx(x, hd->ptr, a[1]);
		break;
	case MMT_OP_RESERVE_CREATE: {
		char name[32];

		/* A node under the root, reserving nothing until connected. */
		snprintf(name, sizeof(name), "r%u", x->last_serial);
		res->ptr = mmt_mem_reserve_create(m, name, NULL);
		if (res->ptr)
			mmt_mem_reserve_pages_set(res->ptr, a[0]);
		break;
	}
	case MMT_OP_RESERVE_KMALLOC:
		if (hd->ptr)
			mmt_mem_reserve_kmalloc_set(hd->ptr, a[1], (int)a[2]);
		break;
	case MMT_OP_RESERVE_CONNECT:
		/* Back under its parent: its group, or the root. */
		if (hd->ptr)
			mmt_mem_reserve_connect(
				hd->ptr,
				hd->aux ? hd->aux : mmt_mem_reserve_root(m));
		break;
	case MMT_OP_RESERVE_GROUP: {
		char name[32];

		/* An aggregate: no pages of its own, detached until connected. */
		snprintf(name, sizeof(name), "rg%u", x->last_serial);
		res->ptr = mmt_mem_reserve_create(m, name, NULL);
		break;
	}
	case MMT_OP_RESERVE_CREATE_IN: {
		char name[32];

		if (!hd->ptr)
			break; /* no group, no reserve in it */
		snprintf(name, sizeof(name), "r%u", x->last_serial);
		res->ptr = mmt_mem_reserve_create(m, name, hd->ptr);
		res->aux = hd->ptr;
		if (res->ptr)
			mmt_mem_reserve_pages_set(res->ptr, a[1]);
		break;
	}
	case MMT_OP_RESERVE_GROUP_CONNECT:
		/* Back under its parent: its group (reserve_group_in), or the root. */
		if (hd->ptr)
			mmt_mem_reserve_connect(
				hd->ptr,
				hd->aux ? hd->aux : mmt_mem_reserve_root(m));
		break;
	case MMT_OP_RESERVE_GROUP_IN: {
		char name[32];

		if (!hd->ptr)
			break; /* no group, no group in it */
		snprintf(name, sizeof(name), "rg%u", x->last_serial);
		res->ptr = mmt_mem_reserve_create(m, name, hd->ptr);
		res->aux = hd->ptr;
		break;
	}
	case MMT_OP_RESERVE_GROUP_DISCONNECT:
		if (hd->ptr)
			mmt_mem_reserve_disconnect(hd->ptr);
		break;
	case MMT_OP_RESERVE_GROUP_DESTROY:
		reserve_group_release(x, hd);
		break;
	case MMT_OP_RESERVE_DISCONNECT:
		if (hd->ptr)
			mmt_mem_reserve_disconnect(hd->ptr);
		break;
	case MMT_OP_RESERVE_DESTROY:
		if (hd->ptr)
			mmt_mem_reserve_destroy(hd->ptr);
		break;
	case MMT_OP_RESERVE_CHARGE:
		res->a = a[0];
		res->b = a[1];
		if (hd->ptr && mmt_mem_reserve_charge(hd->ptr, a[1]))
			res->ptr = hd->ptr;
		break;
	case MMT_OP_RESERVE_UNCHARGE:
		if (hd->ptr)
			mmt_mem_reserve_uncharge(hd->ptr, hd->b);
		break;
	case MMT_OP_LRU_ADD:
		if (a[0] >= mmt_trace_enum_size(MMT_ENUM_LRU))
			return bad_trace(x, "%s: no lru %u", info->name, a[0]);
		op_lru_add(x, a[0], a[1]);
		break;
	case MMT_OP_LRU_UNMAP:
		if (a[0] >= mmt_trace_enum_size(MMT_ENUM_LRU))
			return bad_trace(x, "%s: no lru %u", info->name, a[0]);
		mmt_lru_unmap(m, lru_type(a[0]), a[1]);
		break;
	case MMT_OP_KSWAPD:
		mmt_kswapd_balance(m, (int)a[0]);
		break;
	case MMT_OP_SHRINK_ALL:
		mmt_kmem_cache_shrink_all(m);
		break;
	case MMT_OP_SHRINKER_REGISTER:
		if (a[0] >= NR_PROG_MUTEXES)
			return bad_trace(x, "%s: no mutex %u", info->name,
					 a[0]);
		op_shrinker_register(x, a[0], res);
		break;
	case MMT_OP_SHRINKER_UNREGISTER:
		shrinker_release(hd);
		break;
	case MMT_OP_KTHREAD_START:
		if (!x->mt)
			return bad_trace(x,
					 "%s: kernel threads need a concurrent "
					 "run",
					 info->name);
		return kthread_start(x, a[0], (int)a[1], res);
	case MMT_OP_KTHREAD_STOP:
		if (hd->ptr)
			kthread_stop(x, hd->ptr);
		break;
	case MMT_OP_FREE_PAGES_ORDER:
	case MMT_OP_FREE_PAGES_TAIL:
	case MMT_OP_ALLOC_FREE_PAGES:
	case MMT_OP_CACHE_CREATE_DESTROY:
	case MMT_OP_CACHE_FREE_TO:
	case MMT_OP_KFREE_AT:
	case MMT_OP_KVFREE_RCU_AT:
	case MMT_OP_WRITE_PAGES:
	case MMT_OP_WRITE_CACHE_OBJ:
	case MMT_OP_WRITE_ELEMENT:
	case MMT_OP_EXIT_CONTEXT:
	case MMT_OP_CPU_OFFLINE_ANY:
	case MMT_OP_LOCK_UNINITIALIZED:
	case MMT_OP_KSWAPD_ANY:
		return run_misuse(x, op, info, ah);
	case MMT_NR_OPCODES:
		break;
	}
	return true;
}

/* ---- one step of the program ---- */

/* ---- differential runs (mmt_exec_opts.op_outcome) ---- */

static bool slab_alloc_op(unsigned int code)
{
	switch (code) {
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
	case MMT_OP_CACHE_ALLOC:
	case MMT_OP_CACHE_ALLOC_NODE:
	case MMT_OP_CACHE_ALLOC_BULK:
		return true;
	default:
		return false;
	}
}

/* The bytes a slab allocation operation asks for (all objects of a bulk). */
static unsigned long op_bytes(const struct mmt_op *op, struct xhandle *ah[])
{
	switch (op->code) {
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
		return op->arg[0];
	case MMT_OP_CACHE_ALLOC_BULK:
		return ah[0] ? (unsigned long)ah[0]->a * op->arg[2] : ~0ul;
	default:
		return ah[0] ? ah[0]->a : ~0ul;
	}
}

/* The bytes of one object (a slab of the smallest order holds one). */
static unsigned long op_object_bytes(const struct mmt_op *op,
				     struct xhandle *ah[])
{
	switch (op->code) {
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
		return op->arg[0];
	default:
		return ah[0] ? ah[0]->a : ~0ul;
	}
}

/*
 * Room for any implementation (trace/exec_diff.c, the table of
 * differences): in every zone, the free pages the request may use - the
 * free pages of the highatomic reserve left out, which a GFP_KERNEL or
 * PF_MEMALLOC request never takes (rmqueue takes them for high-order
 * atomic requests, or for ALLOC_OOM/ALLOC_NON_BLOCK ones once all else
 * failed) - above the high watermark, the most any higher zone keeps there,
 * twice the pages of what is asked (a slab's slack) and 8 pages; and free
 * blocks outside that reserve of at least the order of a slab that holds
 * one object (@obj bytes), the smallest slab any implementation grows.
 * Below that the implementations' different caches (per-cpu arrays,
 * partial slabs, sheaves) may legitimately make one need a new slab where
 * another has objects at hand, and the new slab may not be had, so a NULL
 * there is no divergence.
 */
static bool memory_roomy(struct mmt_machine *m, unsigned long bytes,
			 unsigned long obj)
{
	int z, t, nr = mmt_nr_zones(m);
	unsigned int k = 0, o;

	if (bytes >= (1ul << 40) || obj >= (1ul << 40))
		return false;
	while (k + 1 < MMT_MAX_ORDER && (MMT_PAGE_SIZE << k) < obj)
		k++;
	for (z = 0; z < nr; z++) {
		struct mmt_zone_info zi;
		unsigned long keep, big = 0;

		if (!mmt_zone_info(m, z, &zi) || !zi.managed)
			continue;
		keep = 0;
		for (t = 0; t < MMT_NR_ZONE_TYPES; t++)
			if (zi.lowmem_reserve[t] > keep)
				keep = zi.lowmem_reserve[t];
		for (o = k; o < MMT_MAX_ORDER; o++)
			big += zi.nr_free[o] << o;
		if (zi.free <= zi.nr_free_highatomic + zi.wmark_high + keep +
				       8 +
				       2 * ((bytes + MMT_PAGE_SIZE - 1) /
					    MMT_PAGE_SIZE) ||
		    big < zi.nr_free_highatomic + (1ul << k))
			return false;
	}
	return true;
}

/*
 * slab-gave-up (exec_oracles.c): the single-object slab allocations and
 * mempool_alloc, whose inner attempt is one, judged in sequential runs
 * (the observer counts the page allocator's refusals).
 */
struct gave_up_probe {
	bool on;
	unsigned long refused;
	struct mmt_mempool_stats pool;
};

static void gave_up_begin(struct exec *x, const struct mmt_op *op,
			  struct xhandle *ah[], struct gave_up_probe *gp)
{
	gp->on = false;
	if (!x->observed)
		return;
	switch (op->code) {
	case MMT_OP_KMALLOC:
	case MMT_OP_KMALLOC_NODE:
	case MMT_OP_CACHE_ALLOC:
	case MMT_OP_CACHE_ALLOC_NODE:
		break;
	case MMT_OP_MEMPOOL_ALLOC:
		/* pool-first takes elements before it asks the allocator */
		if (!ah[0] || !ah[0]->ptr ||
		    mmt_machine_config(x->m)->mempool_policy ==
			    MMT_MEMPOOL_POOL_FIRST)
			return;
		mmt_mempool_stats(ah[0]->ptr, &gp->pool);
		break;
	default:
		return;
	}
	gp->on = true;
	gp->refused = x->obs.refused;
}

static void gave_up_end(struct exec *x, const struct mmt_op *op,
			const struct mmt_op_info *info, struct xhandle *ah[],
			struct xhandle *res, mmt_gfp_t gfp,
			const struct gave_up_probe *gp)
{
	const struct _mmt_what what = { x->op_index, info->name };
	struct mmt_mempool_stats st;

	if (!gp->on || mmt_violation_count(x->m))
		return;
	if (op->code != MMT_OP_MEMPOOL_ALLOC) {
		if (res && !res->ptr)
			_mmt_exec_check_gave_up(&x->obs, gfp, gp->refused,
						&what, "the allocation");
		return;
	}
	/*
	 * A reserved element handed out after an inner attempt failed: that
	 * attempt ran without __GFP_DIRECT_RECLAIM and __GFP_IO.
	 */
	mmt_mempool_stats(ah[0]->ptr, &st);
	if (st.from_pool > gp->pool.from_pool &&
	    st.alloc_fn_calls - st.alloc_fn_ok >
		    gp->pool.alloc_fn_calls - gp->pool.alloc_fn_ok)
		_mmt_exec_check_gave_up(
			&x->obs,
			(gfp | __GFP_NOMEMALLOC | __GFP_NORETRY |
			 __GFP_NOWARN) &
				~(__GFP_DIRECT_RECLAIM | __GFP_IO),
			gp->refused, &what,
			"the pool's allocator (the attempt before a reserved element was taken)");
}

static void exec_op(struct exec *x, size_t i)
{
	struct gave_up_probe gp;
	const struct mmt_op *op = &x->p->ops[i];
	const struct mmt_op_info *info = mmt_op_info(op->code);
	struct xhandle *ah[MMT_TRACE_MAX_ARGS] = { NULL };
	struct xhandle *res = NULL;
	struct mmt_task *t;
	unsigned long sp = 0;
	mmt_gfp_t gfp = 0;
	enum may_block how;
	bool has_gfp;
	int k;

	x->op_index = i;
	if (!info) {
		mmt_machine_set_op(x->m, i, "opcode %u", op->code);
		bad_trace(x, "no operation %u", op->code);
		check_findings(x);
		return;
	}
	/* The name is static: nothing is formatted unless it is reported. */
	mmt_machine_set_op_text(x->m, i, info->name);
	for (k = 0; k < info->nargs; k++)
		if (info->args[k].type == MMT_ARG_HANDLE &&
		    !(ah[k] = arg_handle(x, op, k))) {
			check_findings(x);
			return;
		}
	if (info->result && !(res = new_handle(x, info->result))) {
		bad_trace(x, "%s: more handles than the program counts",
			  info->name);
		check_findings(x);
		return;
	}
	has_gfp = op_gfp(info, op, &gfp, &x->op_node);
	x->op_gfp = gfp;
	t = mmt_current_task();
	if (has_gfp)
		sp = mmt_task_sleep_points(t);

	x->rx_note = NULL;
	gave_up_begin(x, op, ah, &gp);
	if (MMT_UNLIKELY(x->o->op_outcome) && slab_alloc_op(op->code)) {
		/*
		 * A nolock (__GFP_FAST_TRY) allocation may fail with any
		 * amount free: it takes per-cpu pages only, and what sits
		 * there depends on each implementation's frees.
		 */
		bool roomy = !(gfp & __GFP_FAST_TRY) &&
			     memory_roomy(x->m, op_bytes(op, ah),
					  op_object_bytes(op, ah));

		run_op(x, op, info, ah, res);
		x->o->op_outcome[i] =
			(uint8_t)((res && res->ptr ? MMT_OUTCOME_MEMORY :
						     MMT_OUTCOME_NULL) |
				  (roomy ? MMT_OUTCOME_ROOMY : 0));
	} else {
		run_op(x, op, info, ah, res);
	}

	if (info->ends && ah[info->ends - 1])
		ah[info->ends - 1]->state = HS_ENDED;
	gave_up_end(x, op, info, ah, res, gfp, &gp);
	/* What promised not to sleep must not have come near it. */
	if (has_gfp && !mmt_violation_count(x->m))
		_mmt_exec_check_nowait(x->m, gfp, sp, mmt_task_sleep_points(t),
				       info->name);
	rehome(x);
	/*
	 * With nothing entered, the operation returns to user space: a task
	 * the OOM killer chose exits there (its reserve access ends).  Not
	 * from an interrupt handler: it returns to what it interrupted (maybe
	 * a nolock call, which must not meet the reaper's lru_lock).
	 */
	if (!x->cpus[x->cpu].depth && !x->cpus[x->cpu].in_handler)
		mmt_oom_exit_current();
	if (x->o->log) {
		char text[160];

		mmt_trace_format_op(x->p, op, text, sizeof(text));
		fprintf(x->o->log, "%5zu  cpu%d  %s%s%s%s\n", i, x->cpu, text,
			res ? (res->ptr ? "  -> ok" : "  -> NULL") : "",
			op->code == MMT_OP_NET_RX && x->rx_note ? "  -> " : "",
			op->code == MMT_OP_NET_RX && x->rx_note ? x->rx_note :
								  "");
	}
	if (x->ds)
		mmt_dsched_op_done(x->ds);
	how = BLOCK_NEVER;
	if (op->code == MMT_OP_MEMPOOL_ALLOC && (gfp & __GFP_DIRECT_RECLAIM))
		how = BLOCK_MEMPOOL;
	else if (has_gfp && (gfp & __GFP_NOFAIL))
		how = BLOCK_NOFAIL;
	if (check_blocked(x, how, gfp))
		return;
	/*
	 * Level 2: the validators, where they may take the model's locks, over
	 * what changed since they last ran (what did not change was valid
	 * then): a broken invariant is still reported at this operation.
	 */
	if (x->level >= 2 && !x->mt && !cpu_atomic(x)) {
		mmt_machine_validate_touched(x->m);
		check_findings(x);
	}
}

/* ---- teardown ---- */

/* Allocated pages over every zone (managed - free - per-cpu). */
static long allocated_pages(struct mmt_machine *m)
{
	long n = 0;
	int z;

	for (z = 0; z < mmt_nr_zones(m); z++) {
		struct mmt_zone_info zi;

		if (mmt_zone_info(m, z, &zi))
			n += (long)zi.managed - (long)(zi.free + zi.pcp);
	}
	return n;
}

static const struct _mmt_what teardown_what = { MMT_WHAT_TEXT, "teardown" };

static void release_kind(struct exec *x, unsigned int kind)
{
	uint32_t s;

	for (s = 0; s < x->made[kind] && !x->stop; s++) {
		struct xhandle *hd = &x->h[kind][s], *ph;

		if (hd->state != HS_LIVE)
			continue;
		hd->state = HS_ENDED;
		if (!hd->ptr)
			continue;
		switch (kind) {
		case MMT_H_PAGE:
			drop_pages(x, hd->ptr, hd->a);
			mmt_free_pages(hd->ptr, hd->a);
			break;
		case MMT_H_PAGE_BULK:
			free_bulk_pages(x, hd);
			break;
		case MMT_H_KMALLOC:
			drop_object(x, hd->ptr, hd->a);
			mmt_kfree(hd->ptr);
			break;
		case MMT_H_CACHE:
			mmt_kmem_cache_destroy(hd->ptr);
			break;
		case MMT_H_CACHE_OBJ:
			ph = parent(x, MMT_H_CACHE, hd->a);
			if (ph && ph->ptr) {
				drop_object(x, hd->ptr, ph->a);
				mmt_kmem_cache_free(ph->ptr, hd->ptr);
			}
			break;
		case MMT_H_CACHE_BULK:
			free_cache_bulk(x, hd, false);
			break;
		case MMT_H_SHEAF:
			return_sheaf(x, hd, GFP_KERNEL);
			break;
		case MMT_H_MEMPOOL:
			mempool_release(x, hd);
			break;
		case MMT_H_ELEMENT:
			ph = parent(x, MMT_H_MEMPOOL, hd->a);
			if (ph && ph->ptr) {
				element_track(x, ph, hd->ptr, false,
					      &teardown_what);
				mmt_mempool_free(hd->ptr, ph->ptr);
			}
			break;
		case MMT_H_CGROUP:
			op_cgroup_offline(x, hd);
			break;
		case MMT_H_SWAPFILE:
			mmt_swapoff(hd->ptr);
			break;
		case MMT_H_SOCKET:
			mmt_sk_clear_memalloc(hd->ptr);
			mmt_sock_destroy(hd->ptr);
			break;
		case MMT_H_RESERVE:
			mmt_mem_reserve_disconnect(hd->ptr);
			mmt_mem_reserve_destroy(hd->ptr);
			break;
		case MMT_H_RESERVE_GROUP:
			reserve_group_release(x, hd);
			break;
		case MMT_H_CHARGE:
			mmt_mem_reserve_uncharge(hd->ptr, hd->b);
			break;
		case MMT_H_SHRINKER:
			shrinker_release(hd);
			break;
		}
		check_findings(x);
	}
}

static void teardown(struct exec *x)
{
	/* Dependants before what they depend on. */
	static const unsigned int order[] = {
		MMT_H_SHRINKER, /* first: reclaim in teardown takes no mutex */
		MMT_H_CHARGE,	  MMT_H_ELEMENT,       MMT_H_CACHE_OBJ,
		MMT_H_CACHE_BULK, MMT_H_SHEAF,	       MMT_H_KMALLOC,
		MMT_H_PAGE,	  MMT_H_PAGE_BULK,     MMT_H_MEMPOOL,
		MMT_H_CACHE,	  MMT_H_SWAPFILE,      MMT_H_SOCKET,
		MMT_H_RESERVE,	  MMT_H_RESERVE_GROUP, /* after the reserves in it */
		MMT_H_CGROUP,
	};
	struct mmt_machine *m = x->m;
	long before, now;
	size_t i;
	int c, round;

	x->op_index = x->p->nr_ops;
	mmt_machine_set_op_text(m, x->op_index, "teardown");
	/*
	 * Unwind this CPU's stack, then any other CPU's (only memalloc
	 * scopes can be left open where the program is not: leaving a CPU
	 * in atomic context was reported when it happened).
	 */
	for (c = 0; c <= mmt_nr_cpus(m); c++) {
		int cpu = c == 0 ? x->cpu : c - 1;

		if (c && cpu == x->cpu)
			continue;
		if (!x->cpus[cpu].depth)
			continue;
		if (!go_to(x, cpu))
			break;
		while (x->cpus[cpu].depth)
			if (!leave(x, &x->cpus[cpu]) || check_findings(x))
				return;
	}
	if (check_findings(x) || !go_to(x, x->cpu))
		return;
	for (i = 0; i < MMT_ARRAY_SIZE(order) && !x->stop; i++) {
		/*
		 * A concurrent run validates at no operation (another CPU
		 * may be in the middle of one): once the memory is released,
		 * before destroying caches and shrinking tidy up what a race
		 * left (an empty slab frozen on a dead cache's cpu partial
		 * list: seed 003), the validators run.
		 */
		if (order[i] == MMT_H_MEMPOOL && x->was_mt && x->level >= 1) {
			mmt_machine_is_valid(m);
			if (check_findings(x))
				return;
		}
		release_kind(x, order[i]);
	}
	if (x->stop)
		return;

	if (x->mnt) {
		mmt_swap_mount_destroy(x->mnt);
		x->mnt = NULL;
	}
	for (i = 0; i < MMT_NR_LRU_TYPES; i++)
		mmt_lru_unmap(m, (enum mmt_lru_type)i, ~0ul);
	if (check_findings(x))
		return;
	/*
	 * Freeing begets freeing: kvfree_rcu blocks empty slabs, shrinking a
	 * TYPESAFE_BY_RCU cache queues its slabs for a grace period, a dead
	 * memcg cache goes when its last slab does.  Repeat until stable.
	 */
	now = allocated_pages(m);
	for (round = 0; round < 4; round++) {
		before = now;
		mmt_kvfree_rcu_barrier(m);
		mmt_kmem_cache_shrink_all(m);
		mmt_kvfree_rcu_barrier(m);
		mmt_memcg_reap(m);
		mmt_drain_all_pages(m);
		mmt_drain_deferred_pages(m);
		now = allocated_pages(m);
		if (check_findings(x))
			return;
		if (now == before)
			break;
	}
	mmt_slab_teardown_check(m);
	if (check_findings(x))
		return;
	if (x->level >= 1) {
		mmt_machine_is_valid(m);
		if (check_findings(x))
			return;
	}
	_mmt_exec_check_teardown(m);
	check_findings(x);
}

/* ---- the concurrent run (fibers under the deterministic scheduler) ---- */

/*
 * TSan.  This file is not instrumented (the interpreter's state follows the
 * running fiber), but the C library's interceptors are: the host memory
 * they handle for the scheduler's source from one fiber and then another
 * (or the host context) is ignored, as trace/dsched.c does.  And the
 * switch is no happens-before edge (trace/fiber.c): the program's own
 * order is.  An operation that completed happens before every operation
 * that waited for it, as the kernel code a program stands for would have
 * passed the object through some synchronization.
 */
#if MMT_SANITIZE_TSAN
#include <sanitizer/tsan_interface.h>
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define HOST_MEM_BEGIN()                               \
	(AnnotateIgnoreReadsBegin(__FILE__, __LINE__), \
	 AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define HOST_MEM_END()                                \
	(AnnotateIgnoreWritesEnd(__FILE__, __LINE__), \
	 AnnotateIgnoreReadsEnd(__FILE__, __LINE__))
#define DEP_RELEASE(p) __tsan_release(p)
#define DEP_ACQUIRE(p) __tsan_acquire(p)
#else
#define HOST_MEM_BEGIN() ((void)0)
#define HOST_MEM_END() ((void)0)
#define DEP_RELEASE(p) ((void)(p))
#define DEP_ACQUIRE(p) ((void)(p))
#endif

/*
 * The language's schedule over the scheduler's source: the program's
 * decisions first (indices among the runnable fibers, modulo their
 * number), then the source; every index chosen is recorded (the
 * reproducer's decisions).  SEQ: the running fiber goes on while it can,
 * else the lowest id (the program's runner), nothing recorded.  INPUT once
 * the decisions are out: the running fiber goes on, else the next runnable
 * after it.  Past MMT_TRACE_MAX_DECISIONS decisions every source takes
 * that same fallback: the record holds no more, and a replay of it must
 * continue exactly as the run did (a livelock passes millions of points).
 */
struct src_lang {
	struct mmt_sched_source base;
	struct mmt_sched_source *inner; /* PCT, random, rr; else NULL */
	uint8_t source; /* enum mmt_trace_sched_source */
	const uint16_t *dec;
	size_t nd, pos;
	uint16_t *rec;
	size_t nrec, cap;
	size_t made; /* decisions taken (recorded or not) */
};

static void lang_added(struct mmt_sched_source *src, unsigned int id)
{
	struct src_lang *l = (struct src_lang *)src;

	if (l->inner && l->inner->ops->fiber_added)
		l->inner->ops->fiber_added(l->inner, id);
}

static unsigned int lang_pick(struct mmt_sched_source *src, uint64_t step,
			      const uint16_t *ids, unsigned int n, int cur)
{
	struct src_lang *l = (struct src_lang *)src;
	unsigned int i, idx = 0;
	bool found = false;

	if (l->source == MMT_SCHED_SEQ) {
		for (i = 0; i < n; i++)
			if (ids[i] == cur)
				return i;
		return 0;
	}
	if (l->pos < l->nd) {
		idx = l->dec[l->pos++] % n;
	} else if (l->inner && l->made < MMT_TRACE_MAX_DECISIONS) {
		idx = l->inner->ops->pick(l->inner, step, ids, n, cur) % n;
	} else {
		for (i = 0; i < n && !found; i++)
			if (ids[i] == cur)
				idx = i, found = true;
		for (i = 0; i < n && !found; i++)
			if ((int)ids[i] > cur)
				idx = i, found = true;
	}
	l->made++;
	if (l->nrec < MMT_TRACE_MAX_DECISIONS) {
		if (l->nrec == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 256;
			uint16_t *r;

			HOST_MEM_BEGIN();
			r = realloc(l->rec, cap * sizeof(*r));
			HOST_MEM_END();
			if (!r)
				return idx; /* loses the record, not the run */
			l->rec = r;
			l->cap = cap;
		}
		l->rec[l->nrec++] = (uint16_t)idx;
	}
	return idx;
}

static void lang_destroy(struct mmt_sched_source *src)
{
	struct src_lang *l = (struct src_lang *)src;

	mmt_sched_source_destroy(l->inner);
	free(l->rec);
	free(l);
}

static const struct mmt_sched_source_ops lang_ops = {
	.name = "trace",
	.fiber_added = lang_added,
	.pick = lang_pick,
	.destroy = lang_destroy,
};

/* The per-thread part of struct exec follows the running CPU thread. */
static void exec_switch(void *arg, void *task_arg, bool in)
{
	struct exec *x = arg;
	struct xthr *t = task_arg;

	if (!in) {
		t->cpu = x->cpu;
		t->op_index = x->op_index;
		t->op_gfp = x->op_gfp;
		t->op_node = x->op_node;
		t->last_serial = x->last_serial;
		return;
	}
	x->cpu = t->cpu;
	x->op_index = t->op_index;
	x->op_gfp = t->op_gfp;
	x->op_node = t->op_node;
	x->last_serial = t->last_serial;
	if (t->op_index < x->p->nr_ops) {
		const struct mmt_op_info *info =
			mmt_op_info(x->p->ops[t->op_index].code);

		mmt_machine_set_op_text(x->m, t->op_index,
					info ? info->name : "?");
	}
}

/* Pop the running CPU's contexts (the end of its thread). */
static void unwind_cpu(struct exec *x)
{
	struct xcpu *c = &x->cpus[x->cpu];

	while (c->depth && !x->stop)
		if (!leave(x, c) || check_findings(x))
			break;
}

/*
 * Under TSan the switch is no happens-before edge (trace/fiber.c): the
 * program's own order is.  An operation that completed happens before
 * every operation that waited for it, as the kernel code a program stands
 * for would have passed the object through some synchronization.
 */

static void thr_ended_op(struct exec *x, size_t i)
{
	int k;

	DEP_RELEASE(&x->done[i]);
	x->done[i] = true;
	for (k = 0; k < x->nr_thr; k++)
		if (x->thr[k].waiting_for == i) {
			if (x->thr[k].off_cpu && !x->thr[k].woken_away) {
				x->thr[k].woken_away = true;
				mmt_engine_thread_pending(x->m, 1);
			}
			mmt_dsched_wake(x->ds, x->thr[k].id);
		}
	if (x->stop)
		mmt_dsched_stop(x->ds);
}

/* ---- interrupt handlers ---- */

/* Has everything handler @h's opening waits for completed? */
static bool irq_deps_done(const struct exec *x, const struct xirq *h)
{
	const struct mmt_trace_deps *d = &x->deps;
	uint32_t k;

	for (k = d->first[h->open]; k < d->first[h->open + 1]; k++)
		if (!x->done[d->on[k]])
			return false;
	return true;
}

/*
 * May @h be delivered on the running CPU now, by the kernel's nesting?  A
 * hard irq wherever interrupts are on (so never inside one); a softirq
 * also not inside a hard irq, a softirq or a bottom-half-disabled
 * section.  Under PREEMPT_RT rules a softirq is served in task context
 * (local_bh_enable, ksoftirqd), not on top of whatever the task holds:
 * only where the thread waits or ends (@forced), never at a scheduling
 * point inside an operation.
 */
static bool irq_context_ok(const struct exec *x, const struct xirq *h,
			   bool forced)
{
	if (mmt_irqs_disabled())
		return false;
	if (h->ctx == MMT_CTX_IRQ)
		return true;
	return !mmt_in_interrupt() && (forced || !x->p->hdr.rt_rules);
}

/* The oldest handler of @t that may be delivered now, or NULL. */
static struct xirq *irq_next(struct exec *x, struct xthr *t, bool forced)
{
	size_t k;

	if (!t->irq_left || x->stop || mmt_smp_processor_id() != t->cpu ||
	    mmt_current_task() != x->cpus[t->cpu].task)
		return NULL;
	for (k = 0; k < t->nr_armed; k++) {
		struct xirq *h = &t->irq[k];

		/* Its contexts must fit on the interrupted CPU's stack. */
		if (!h->delivered && irq_deps_done(x, h) &&
		    irq_context_ok(x, h, forced) &&
		    x->cpus[t->cpu].depth + h->depth <= MMT_TRACE_MAX_DEPTH)
			return h;
	}
	return NULL;
}

/*
 * Run handler @h on the running CPU's fiber, nested in whatever its
 * thread is doing: its operations as the thread's would run (their
 * scheduling points are points like any other: a hard irq may be
 * delivered inside a softirq handler), then back to the interrupted
 * operation with its state as it was.
 */
static void irq_run(struct exec *x, struct xthr *t, struct xirq *h)
{
	struct xcpu *c = &x->cpus[x->cpu];
	size_t op_index = x->op_index;
	mmt_gfp_t op_gfp = x->op_gfp;
	int op_node = x->op_node;
	uint32_t last_serial = x->last_serial;
	uint8_t depth = c->depth;
	bool in_wait = t->in_wait;
	uint32_t i;

	h->delivered = true;
	x->irq_runs++;
	t->irq_left--;
	t->in_wait = false;
	if (x->o->log) {
		fprintf(x->o->log, "%5u  cpu%d  <- interrupt %s delivered ",
			h->open, x->cpu,
			h->ctx == MMT_CTX_IRQ ? "irq" : "softirq");
		if (!in_wait)
			fprintf(x->o->log, "inside operation %zu\n", op_index);
		else if (t->wait_op < x->p->nr_ops)
			fprintf(x->o->log,
				"before operation %zu (its thread waits)\n",
				t->wait_op);
		else
			fprintf(x->o->log, "at the end of its thread\n");
	}
	/* What the handler waited for happens before it (as in wait_deps). */
	for (i = x->deps.first[h->open]; i < x->deps.first[h->open + 1]; i++)
		DEP_ACQUIRE(&x->done[x->deps.on[i]]);
	c->in_handler++;
	for (i = h->open; i < h->end && !x->stop; i++) {
		exec_op(x, i);
		thr_ended_op(x, i);
	}
	/* A handler the program left open ends with the program's text. */
	while (c->depth > depth && !x->stop)
		if (!leave(x, c) || check_findings(x))
			break;
	c->in_handler--;
	t->in_wait = in_wait;
	x->op_index = op_index;
	x->op_gfp = op_gfp;
	x->op_node = op_node;
	x->last_serial = last_serial;
	if (op_index < x->p->nr_ops) {
		const struct mmt_op_info *info =
			mmt_op_info(x->p->ops[op_index].code);

		mmt_machine_set_op_text(x->m, op_index,
					info ? info->name : "?");
	}
	if (x->stop)
		mmt_dsched_stop(x->ds);
}

/* The scheduler's question at a scheduling point of @task_arg's fiber. */
static bool irq_pending(void *arg, void *task_arg)
{
	struct xthr *t = task_arg;

	return !t->in_wait && irq_next(arg, t, false);
}

/* The schedule chose to deliver: the oldest handler that may run. */
static void irq_deliver(void *arg, void *task_arg)
{
	struct exec *x = arg;
	struct xthr *t = task_arg;
	struct xirq *h = irq_next(x, t, false);

	if (h)
		irq_run(x, t, h);
}

/*
 * Where the thread would wait (or has ended), its CPU takes every handler
 * that may run, oldest first, with no decision: an idle CPU serves its
 * interrupts at once.  True if one ran.
 */
static bool irq_serve(struct exec *x, struct xthr *t)
{
	struct xirq *h;
	bool ran = false;

	while (!x->stop && (h = irq_next(x, t, true))) {
		irq_run(x, t, h);
		ran = true;
	}
	return ran;
}

/*
 * The earliest operation an armed, undelivered handler of @t waits for
 * that has not completed, or SIZE_MAX (none: every such handler is ready).
 */
static size_t irq_blocker(const struct exec *x, const struct xthr *t)
{
	const struct mmt_trace_deps *d = &x->deps;
	size_t best = SIZE_MAX, k;
	uint32_t j;

	for (k = 0; k < t->nr_armed; k++) {
		const struct xirq *h = &t->irq[k];

		if (h->delivered)
			continue;
		for (j = d->first[h->open]; j < d->first[h->open + 1]; j++)
			if (!x->done[d->on[j]] && d->on[j] < best)
				best = d->on[j];
	}
	return best;
}

/* Is an armed handler of @t not delivered yet, with nothing to wait for? */
static bool irq_ready(const struct exec *x, const struct xthr *t)
{
	size_t k;

	for (k = 0; k < t->nr_armed; k++)
		if (!t->irq[k].delivered && irq_deps_done(x, &t->irq[k]))
			return true;
	return false;
}

/* Handlers textually before operation @i are pending from now on. */
static void irq_arm(struct xthr *t, size_t i)
{
	while (t->nr_armed < t->nr_irq && t->irq[t->nr_armed].open < i)
		t->nr_armed++;
}

/* ---- the threads ---- */

/* Back on its CPU after waiting off it in wait_deps(). */
static void thr_reattach(struct exec *x, struct xthr *t)
{
	/* Runnable: away and coming back until it has its CPU. */
	if (!t->woken_away)
		mmt_engine_thread_pending(x->m, 1);
	t->woken_away = false;
	t->off_cpu = false;
	mmt_cpu_attach_wait(x->m, t->cpu, x->cpus[t->cpu].task);
	mmt_engine_thread_pending(x->m, -1);
}

/*
 * Operation @i may start once every operation it waits for completed
 * (mmt_trace_deps_build()).  Blocked exactly: the fiber is parked, off
 * its CPU (a kernel thread may use it meanwhile), until the operation it
 * waits for completes and wakes it.  @i == nr_ops: the thread has ended
 * and waits only for its handlers.  While it waits, its CPU serves the
 * handlers that may run (irq_serve); it waits for the earliest operation
 * that either @i or one of its armed handlers waits for, so a handler
 * that becomes ready while the thread waits is served (an operation of
 * another thread waiting for that handler would otherwise wait forever).
 */
static void wait_deps(struct exec *x, struct xthr *t, size_t i)
{
	const struct mmt_trace_deps *d = &x->deps;
	uint32_t k;

	t->in_wait = true;
	t->wait_op = i;
	while (!x->stop) {
		size_t on = SIZE_MAX, hon;

		if (i < x->p->nr_ops)
			for (k = d->first[i]; k < d->first[i + 1]; k++)
				if (!x->done[d->on[k]]) {
					on = d->on[k];
					break;
				}
		if (on == SIZE_MAX && (i < x->p->nr_ops || !t->irq_left))
			break;
		if (t->irq_left) {
			if (t->off_cpu && irq_ready(x, t))
				thr_reattach(x, t);
			if (!t->off_cpu && irq_serve(x, t))
				continue;
			hon = irq_blocker(x, t);
			if (hon < on)
				on = hon;
			if (on == SIZE_MAX) {
				/* Ready, yet interrupts are off here. */
				bad_trace(x,
					  "cpu %d: an interrupt handler is "
					  "pending where its thread waits or "
					  "ends with interrupts off",
					  t->cpu);
				check_findings(x);
				break;
			}
		}
		if (t->waiting_for != on) {
			char text[120];

			t->waiting_for = on;
			mmt_trace_format_op(x->p, &x->p->ops[on], text,
					    sizeof(text));
			snprintf(t->why, sizeof(t->why),
				 "operation %zu (%s) of cpu %u, before "
				 "its operation %zu",
				 on, text, d->cpu[on], i);
		}
		if (!t->off_cpu && mmt_smp_processor_id() >= 0) {
			/*
			 * Off its CPU and counted by the model as
			 * neither running nor blocked: only another
			 * thread's progress ends this wait, so while
			 * every other thread sleeps with a timeout
			 * the model's clock must be free to jump to
			 * the earliest deadline (counted "away", the
			 * waiter held the clock and the run ended as
			 * a false deadlock of timed waits).
			 */
			mmt_cpu_detach();
			t->off_cpu = true;
		}
		if (t->woken_away) { /* woken, but must wait on */
			t->woken_away = false;
			mmt_engine_thread_pending(x->m, -1);
		}
		mmt_dsched_wait(x->ds, t->why);
	}
	if (i < x->p->nr_ops)
		for (k = d->first[i]; k < d->first[i + 1] && !x->stop; k++)
			DEP_ACQUIRE(&x->done[d->on[k]]);
	t->waiting_for = SIZE_MAX;
	if (t->off_cpu)
		thr_reattach(x, t);
	t->in_wait = false;
}

/* A CPU's thread: its operations in order, each when it may start. */
static void thr_main(void *arg)
{
	struct xthr *t = arg;
	struct exec *x = t->x;
	size_t j;

	/* Started while its CPU was offline: off it until its first
	 * operation, which waits for the cpu_online (mmt_dsched_add_task). */
	t->off_cpu = mmt_smp_processor_id() < 0;
	for (j = 0; j < t->nr && !x->stop; j++) {
		size_t i = t->ops[j];

		irq_arm(t, i);
		wait_deps(x, t, i);
		if (x->stop)
			break;
		exec_op(x, i);
		thr_ended_op(x, i);
	}
	unwind_cpu(x);
	/*
	 * Handlers still pending when the thread ends are delivered now, in
	 * order, each once what it waits for is done: none is dropped.
	 */
	irq_arm(t, SIZE_MAX);
	if (t->irq_left && !x->stop)
		wait_deps(x, t, x->p->nr_ops);
	if (x->stop)
		mmt_dsched_stop(x->ds);
}

/*
 * `sched=seq` with kernel threads: the operations in textual order on one
 * fiber that moves between CPUs as the sequential interpreter does; the
 * kernel threads run while an operation waits and between two
 * operations, every runnable one until it waits (the source keeps the
 * running fiber, else the lowest id: the runner).
 */
static void seq_main(void *arg)
{
	struct xthr *t = arg;
	struct exec *x = t->x;
	size_t i;
	int n;

	for (i = 0; i < x->p->nr_ops && !x->stop; i++) {
		exec_op(x, i);
		if (x->stop)
			break;
		if (cpu_atomic(x) || !mmt_dsched_others_runnable(x->ds))
			continue;
		/* The kernel threads may want this CPU; away, coming back. */
		mmt_engine_thread_pending(x->m, 1);
		mmt_cpu_detach();
		for (n = 0; n < 256 && mmt_dsched_others_runnable(x->ds); n++)
			mmt_dsched_yield(x->ds);
		go_to(x, x->cpu);
		mmt_engine_thread_pending(x->m, -1);
	}
	unwind_cpu(x);
	if (x->stop)
		mmt_dsched_stop(x->ds);
}

/* PCT's k (decision points) when the program leaves it to the engine. */
#define PCT_POINTS_PER_OP 2

static struct mmt_sched_source *make_source(struct exec *x, uint8_t source)
{
	const struct mmt_program *p = x->p;
	const struct mmt_exec_opts *o = x->o;
	struct src_lang *l = calloc(1, sizeof(*l));
	bool override = o->sched_source >= 0;
	uint64_t seed = override ? o->sched_seed : p->sched.seed;
	unsigned int depth = o->pct_depth ? o->pct_depth : p->sched.pct_depth;
	uint64_t steps = p->sched.pct_steps;

	if (!l)
		return NULL;
	l->base.ops = &lang_ops;
	l->source = source;
	if (!override) {
		l->dec = p->sched.decisions;
		l->nd = p->sched.nr_decisions;
	}
	if (!depth)
		depth = MMT_TRACE_PCT_DEFAULT_DEPTH;
	if (!steps)
		steps = PCT_POINTS_PER_OP * (uint64_t)(p->nr_ops + 4);
	switch (source) {
	case MMT_SCHED_PCT:
		l->inner = mmt_sched_source_pct(seed, depth, steps);
		break;
	case MMT_SCHED_RANDOM:
		l->inner = mmt_sched_source_random(seed);
		break;
	case MMT_SCHED_RR:
		l->inner = mmt_sched_source_round_robin();
		break;
	default:
		return &l->base;
	}
	if (!l->inner) {
		free(l);
		return NULL;
	}
	return &l->base;
}

/* Scheduling points before a run is reported as a livelock. */
#define MT_STEP_LIMIT (1u << 22)

/*
 * Set up the threads and the scheduler, run.  On return x->stop says a
 * finding (or blocked) ended it; x->ds is left for the caller (the record,
 * then the order of destruction).  False when out of host memory.
 */
static bool run_mt(struct exec *x, uint8_t source)
{
	const struct mmt_program *p = x->p;
	struct mmt_sched_source *src;
	enum mmt_dsched_result r;
	char err[200];
	size_t i;
	int c, ncpu = mmt_nr_cpus(x->m);
	size_t *count;

	x->mt = x->was_mt = true;
	x->threads = source != MMT_SCHED_SEQ;
	x->done = calloc(p->nr_ops + 1, sizeof(*x->done));
	x->thr = calloc((size_t)ncpu, sizeof(*x->thr));
	count = calloc((size_t)ncpu, sizeof(*count));
	if (!x->done || !x->thr || !count ||
	    (x->threads && !mmt_trace_deps_build(p, &x->deps))) {
		free(count);
		return false;
	}
	x->serial = calloc(p->nr_ops + 1, sizeof(*x->serial));
	if (!x->serial) {
		free(count);
		return false;
	}
	{
		uint32_t next[MMT_NR_HANDLE_KINDS] = { 0 };

		for (i = 0; i < p->nr_ops; i++) {
			const struct mmt_op_info *info =
				mmt_op_info(p->ops[i].code);

			if (info && info->result)
				x->serial[i] = next[info->result]++;
		}
	}
	src = make_source(x, source);
	x->ds = mmt_dsched_create(x->m, src, err, sizeof(err));
	if (!x->ds) {
		free(count);
		return false;
	}
	mmt_dsched_set_switch_hook(x->ds, exec_switch, x);
	/* No handler, no hook: every point offers what it always did. */
	mmt_dsched_set_step_limit(x->ds, MT_STEP_LIMIT);
	if (x->o->interleave_counters)
		mmt_dsched_set_coverage(x->ds, x->o->interleave_counters,
					x->o->nr_interleave_counters);
	if (x->threads) {
		for (i = 0; i < p->nr_ops; i++) {
			if (x->deps.cpu[i] >= ncpu)
				x->deps.cpu[i] =
					0; /* bad-trace at its cpu op */
			/* A handler's opening: its CPU has a thread. */
			if (!x->deps.handler[i] || x->deps.handler[i] == i + 1)
				count[x->deps.cpu[i]]++;
			x->nr_irq += x->deps.handler[i] == i + 1;
		}
	} else {
		count[0] = p->nr_ops ? p->nr_ops : 1;
	}
	for (c = 0; c < ncpu; c++) {
		struct xthr *t = &x->thr[c];

		t->x = x;
		t->cpu = c;
		t->op_node = -1;
		t->waiting_for = SIZE_MAX;
		if (!count[c])
			continue;
		t->ops = calloc(count[c], sizeof(*t->ops));
		if (!t->ops || !cpu_task(x, c)) {
			free(count);
			return false;
		}
	}
	x->nr_thr = ncpu;
	if (x->threads)
		for (i = 0; i < p->nr_ops; i++) {
			struct xthr *t = &x->thr[x->deps.cpu[i]];
			struct xirq *h;

			if (!x->deps.handler[i]) {
				t->ops[t->nr++] = (uint32_t)i;
				continue;
			}
			if (x->deps.handler[i] != i + 1)
				continue; /* inside the handler opened before */
			h = realloc(t->irq, (t->nr_irq + 1) * sizeof(*h));
			if (!h) {
				free(count);
				return false;
			}
			t->irq = h;
			h += t->nr_irq++;
			t->irq_left++;
			h->open = (uint32_t)i;
			for (h->end = (uint32_t)i + 1;
			     h->end < p->nr_ops &&
			     x->deps.handler[h->end] == i + 1;
			     h->end++)
				;
			h->ctx = (uint8_t)p->ops[i].arg[0];
			h->delivered = false;
			{
				int d = 0, most = 0;
				uint32_t j;

				for (j = h->open; j < h->end; j++) {
					uint16_t code = p->ops[j].code;

					if (code == MMT_OP_INTERRUPT ||
					    code == MMT_OP_ENTER)
						most = ++d > most ? d : most;
					else if (code == MMT_OP_EXIT && d > 0)
						d--;
				}
				h->depth = (uint8_t)most;
			}
		}
	free(count);
	/*
	 * The host is on no CPU during the run; it leaves before the fibers
	 * exist, so that what leaving wrote is ordered before they start.
	 */
	mmt_cpu_detach();
	for (c = 0; c < ncpu; c++) {
		struct xthr *t = &x->thr[c];

		if (!t->ops)
			continue;
		t->id = mmt_dsched_add_task(x->ds, c, x->cpus[c].task,
					    x->threads ? thr_main : seq_main,
					    t);
		if (t->id < 0)
			return false;
	}
	if (x->nr_irq)
		mmt_dsched_set_irq_hook(x->ds, irq_pending, irq_deliver, x);
	r = mmt_dsched_run(x->ds);
	if (r != MMT_DSCHED_DONE || x->stop) {
		check_findings(x);
		return true;
	}
	/* Kernel threads still running stop first, newest first, from the
	 * first CPU the program left online. */
	if (x->threads)
		for (x->cpu = 0;
		     x->cpu + 1 < ncpu && !mmt_cpu_is_online(x->m, x->cpu);
		     x->cpu++)
			;
	if (!go_to(x, x->cpu))
		return true;
	for (i = x->made[MMT_H_KTHREAD]; i-- > 0 && !x->stop;) {
		struct xhandle *hd = &x->h[MMT_H_KTHREAD][i];

		if (hd->state == HS_LIVE && hd->ptr)
			kthread_stop(x, hd->ptr);
		hd->state = HS_ENDED;
		check_findings(x);
	}
	return true;
}

/* The executed schedule into the finding (every concurrent result). */
static void record_schedule(struct exec *x)
{
	struct src_lang *l;

	if (!x->ds)
		return;
	x->f->sched_points = mmt_dsched_points(x->ds);
	x->f->interleaving_hash = mmt_dsched_interleaving_hash(x->ds);
	l = (struct src_lang *)mmt_dsched_source(x->ds);
	free(x->f->decisions);
	x->f->decisions = NULL;
	x->f->nr_decisions = 0;
	if (l->nrec) {
		x->f->decisions = malloc(l->nrec * sizeof(uint16_t));
		if (x->f->decisions) {
			memcpy(x->f->decisions, l->rec,
			       l->nrec * sizeof(uint16_t));
			x->f->nr_decisions = l->nrec;
		}
	}
}

/* ---- set-up and the entry point ---- */

void mmt_exec_opts_default(struct mmt_exec_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->oracle_level = -1;
	o->sched_source = -1;
	o->slab_impl = -1;
}

/* Room for every handle the program can make, counted from its text. */
static bool alloc_handles(struct exec *x)
{
	size_t i;
	unsigned int k;

	for (i = 0; i < x->p->nr_ops; i++) {
		const struct mmt_op_info *info = mmt_op_info(x->p->ops[i].code);

		if (info && info->result)
			x->nr_h[info->result]++;
	}
	for (k = 1; k < MMT_NR_HANDLE_KINDS; k++) {
		if (!x->nr_h[k])
			continue;
		x->h[k] = calloc(x->nr_h[k], sizeof(struct xhandle));
		if (!x->h[k])
			return false;
	}
	return true;
}

static void free_exec(struct exec *x)
{
	unsigned int k;
	uint32_t s;

	/* Host arrays of bulk handles: the machine's memory went with it. */
	for (s = 0; s < x->made[MMT_H_PAGE_BULK]; s++)
		free(x->h[MMT_H_PAGE_BULK][s].ptr);
	for (s = 0; s < x->made[MMT_H_CACHE_BULK]; s++)
		free(x->h[MMT_H_CACHE_BULK][s].ptr);
	for (s = 0; s < x->made[MMT_H_KTHREAD]; s++)
		free(x->h[MMT_H_KTHREAD][s].ptr);
	/* Shrinkers of a run that stopped: the machine freed their entries. */
	for (s = 0; s < x->made[MMT_H_SHRINKER]; s++)
		free(x->h[MMT_H_SHRINKER][s].ptr);
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++)
		free(x->h[k]);
	if (x->thr)
		for (k = 0; k < (unsigned int)x->nr_thr; k++) {
			free(x->thr[k].ops);
			free(x->thr[k].irq);
		}
	free(x->thr);
	free(x->done);
	free(x->serial);
	mmt_trace_deps_free(&x->deps);
	_mmt_xmem_free(&x->mem);
	free(x->cpus);
}

enum mmt_exec_result mmt_trace_execute(const struct mmt_program *p,
				       const struct mmt_exec_opts *o,
				       struct mmt_finding *f)
{
	struct mmt_exec_opts defaults;
	struct mmt_finding scratch;
	struct mmt_machine *caller_m = mmt_current_machine();
	struct mmt_task *caller_task = mmt_current_task();
	int caller_cpu = mmt_smp_processor_id();
	struct mmt_config cfg;
	struct exec x;
	char err[256];
	size_t i;
	uint8_t source;
	bool kthreads, concurrent;

	if (!o) {
		mmt_exec_opts_default(&defaults);
		o = &defaults;
	}
	if (!f)
		f = &scratch;
	memset(f, 0, sizeof(*f));
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.o = o;
	x.f = f;
	x.result = MMT_EXEC_OK;
	x.level = o->oracle_level >= 0 ? o->oracle_level : p->hdr.oracle_level;
	if (x.level < 0)
		x.level = 0;
	if (x.level > 2)
		x.level = 2;

	mmt_trace_header_config(&p->hdr, &cfg);
	if (o->override_bugs)
		cfg.bugs = o->bugs;
	if (o->slab_impl >= 0 && o->slab_impl < MMT_NR_SLAB_IMPLS)
		cfg.slab = (enum mmt_slab_impl)o->slab_impl;
	source = o->sched_source >= 0 ? (uint8_t)o->sched_source :
					p->sched.source;
	kthreads = p->nr_handles[MMT_H_KTHREAD] != 0;
	concurrent = source != MMT_SCHED_SEQ || kthreads;
	/*
	 * Threads that can only wait for each other: the first time nothing
	 * runs is final.  Kernel threads make time pass (a disk's latency):
	 * a stall is then a longer quiet spell.
	 */
	cfg.stall_jiffies = kthreads ? 1000 : 1;
	cfg.stall_without_pressure = true;
	x.m = mmt_machine_create(&cfg, err, sizeof(err));
	if (!x.m) {
		snprintf(f->message, sizeof(f->message), "%s", err);
		return MMT_EXEC_SETUP_FAILED;
	}
	/* A caller on a CPU of a machine of its own gets it back at the end. */
	if (caller_m)
		mmt_cpu_detach();
	mmt_mutex_init(&x.mutex[0], &prog_mutex_a_class);
	mmt_mutex_init(&x.mutex[1], &prog_mutex_b_class);
	x.cpus = calloc((size_t)mmt_nr_cpus(x.m), sizeof(*x.cpus));
	if (!x.cpus || !alloc_handles(&x) || !_mmt_xmem_init(&x.mem, x.m) ||
	    !go_to(&x, 0)) {
		snprintf(f->message, sizeof(f->message),
			 "out of host memory for the interpreter");
		mmt_machine_destroy(x.m);
		free_exec(&x);
		if (caller_m)
			mmt_cpu_attach(caller_m, caller_cpu, caller_task);
		return MMT_EXEC_SETUP_FAILED;
	}
	mmt_reclaim_install_hooks(x.m);
	mmt_machine_set_violation_handler(x.m, on_violation, &x);
	mmt_machine_defer_causes(x.m, true);
	/*
	 * The observer's nesting is one thread's: a concurrent run keeps the
	 * after-the-call checks (op_alloc_pages) instead.
	 */
	if (!concurrent) {
		_mmt_ref_obs_install(&x.obs, x.m, !o->strict_reference);
		x.observed = true;
	}

	if (!concurrent) {
		for (i = 0; i < p->nr_ops && !x.stop; i++)
			exec_op(&x, i);
	} else if (!run_mt(&x, source)) {
		mmt_machine_set_op(x.m, 0, "schedule");
		mmt_violation(x.m, "bad-trace",
			      "out of host memory for the concurrent run");
		check_findings(&x);
	}
	record_schedule(&x);
	if (x.ds && !x.stop) {
		/* Every fiber ended: tear down as a sequential run does. */
		mmt_dsched_destroy(x.ds);
		x.ds = NULL;
		x.mt = x.threads = false;
	}
	if (!x.stop)
		teardown(&x);

	f->nr_violations = mmt_violation_count(x.m);
	if (x.result == MMT_EXEC_OK && mmt_violation_cause(x.m, NULL)) {
		/* A misuse that caused nothing worse is the finding. */
		fill_finding(&x, mmt_violation_cause(x.m, NULL));
		x.result = MMT_EXEC_FINDING;
	} else if (x.result == MMT_EXEC_OK && f->nr_violations) {
		/* Reported where no check looked (cannot happen): say so. */
		const struct mmt_violation *v = mmt_violation_get(x.m, 0);

		if (v) {
			fill_finding(&x, v);
			x.result = MMT_EXEC_FINDING;
		}
	}
	/*
	 * Sheaves the program still held (a finding or a blocked end skipped
	 * the teardown that returns them): their host memory.
	 */
	if (x.stop)
		for (i = 0; i < x.made[MMT_H_SHEAF]; i++)
			if (x.h[MMT_H_SHEAF][i].state == HS_LIVE &&
			    x.h[MMT_H_SHEAF][i].ptr) {
				mmt_slab_sheaf_abandon(x.h[MMT_H_SHEAF][i].ptr);
				x.h[MMT_H_SHEAF][i].ptr = NULL;
			}
	/*
	 * No detach: after a finding the CPU may be in any state, and leaving
	 * it would only add reports; destroying the machine takes the thread
	 * off it.  An abandoned concurrent run keeps the scheduler attached
	 * while the machine goes: its kernel threads' joins fail through it.
	 */
	/* Fibers stopped where they stood: their locks are dead. */
	if (x.ds)
		mmt_machine_abandoned(x.m);
	if (o->canaries)
		mmt_bug_canaries_add(x.m, o->canaries);
	mmt_machine_destroy(x.m);
	if (x.ds) {
		mmt_dsched_machine_gone(x.ds);
		mmt_dsched_destroy(x.ds);
	}
	free_exec(&x);
	if (caller_m)
		mmt_cpu_attach(caller_m, caller_cpu, caller_task);
	return x.result;
}

void mmt_finding_free(struct mmt_finding *f)
{
	if (!f)
		return;
	free(f->dump);
	f->dump = NULL;
	free(f->decisions);
	f->decisions = NULL;
	f->nr_decisions = 0;
}

bool mmt_exec_reproducer(struct mmt_program *p, const struct mmt_exec_opts *o,
			 const struct mmt_finding *f)
{
	if (o && o->sched_source >= 0 &&
	    o->sched_source < MMT_NR_SCHED_SOURCES) {
		p->sched.source = (uint8_t)o->sched_source;
		p->sched.seed = 0;
		p->sched.pct_depth = 0;
		p->sched.pct_steps = 0;
		if (o->sched_source == MMT_SCHED_PCT ||
		    o->sched_source == MMT_SCHED_RANDOM)
			p->sched.seed = (uint32_t)o->sched_seed;
		if (o->sched_source == MMT_SCHED_PCT) {
			unsigned int d = o->pct_depth ?
						 o->pct_depth :
						 MMT_TRACE_PCT_DEFAULT_DEPTH;

			p->sched.pct_depth =
				(uint8_t)(d > MMT_TRACE_PCT_MAX_DEPTH ?
						  MMT_TRACE_PCT_MAX_DEPTH :
						  d);
		}
	}
	if (p->sched.source == MMT_SCHED_SEQ)
		return mmt_program_set_decisions(p, NULL, 0);
	return mmt_program_set_decisions(p, f->decisions, f->nr_decisions);
}

void mmt_finding_print(const struct mmt_finding *f, FILE *out)
{
	fprintf(out, "%s [%s] at %s (reported by %s()), op %zu: %s\n",
		f->oracle, f->layer, f->site, f->func, f->op_index, f->op_text);
	fprintf(out, "  %s\n", f->message);
	if (f->cause[0])
		fprintf(out, "  caused by: %s\n", f->cause);
	if (f->nr_violations > 1)
		fprintf(out, "  (%lu violations in all; the first is shown)\n",
			f->nr_violations);
	if (f->dump)
		fprintf(out, "  state:\n%s", f->dump);
}
