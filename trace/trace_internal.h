/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_internal.h - what the codecs of the operation language share
 * privately: the static state of a program prefix and the rules that decide
 * which operation may come next, the canonicalisation of arguments, and
 * small tables (slab flag names, handle kind names, keyword lookup).
 *
 * The static state is what a program has done so far as far as the text of
 * the program tells, never what the model did at run time: which CPU the
 * operations run on, which CPUs are online, each CPU's stack of entered
 * contexts, which handles are live, and per handle the one fact a later rule
 * needs.  The binary decoder (trace_bin.c), the text parser (trace_text.c)
 * and the mutator run every operation through the same two functions:
 * _mmt_trace_state_check() (may it come here?) and _mmt_trace_state_apply()
 * (what it changes).  That is what makes all three agree on what a valid
 * program is, and what makes a decoded program use the model's API
 * correctly, so that whatever an execution finds is the model's fault.
 *
 * Two rule sets:
 *   structural (always; the text parser reports them as errors): handles
 *     are live and of the right kind; an operation that ends a handle kills
 *     it; a cache, pool or reserve is destroyed only without live
 *     dependants; `cpu N` only to an online CPU and only with the current
 *     CPU's stack empty; hotplug keeps a CPU online; contexts nest as the
 *     kernel allows (trace_state.c); `interrupt` only with an empty
 *     stack, and nothing in its handler may sleep, drain or (softirq)
 *     take a task-level lock; `exit` needs an entered context; a
 *     kmalloc object given to kvfree_rcu_head can hold the rcu_head;
 *     numbers in range.
 *   atomic (binary decoding and the mutator; the text parser leaves them
 *     out so that a hand-written trace may show a sleep-in-atomic or
 *     rcu-deadlock check firing): nothing that may sleep in atomic context;
 *     synchronize_rcu and its kin not while a CPU reads; on PREEMPT_RT rules
 *     nothing that takes a spinlock_t where it may not sleep; GFP masks
 *     canonical (_mmt_trace_canon_op()).
 *
 * The state is the linear text's: a concurrent program (one thread per
 * CPU) is checked on its text too, and mmt_trace_deps_build() orders its
 * threads so that what the text's state allowed holds in every
 * interleaving.
 *
 * Invariants of a state: live[] of a kind holds exactly the serials whose
 * alive[] is set, in ascending order; a dependant's parent is live while
 * the dependant is (so ending a co, e, ch or cb never meets a dead parent);
 * only the current CPU's stack may be non-empty (leaving a CPU needs an
 * empty stack), so rcu_readers counts readers of that CPU.
 */
#ifndef MMT_TRACE_INTERNAL_H
#define MMT_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mmt/gfp.h"
#include "mmt/page_alloc.h"
#include "mmt/rcu.h"
#include "mmt/slab.h"
#include "mmt/trace.h"

/* kvfree_rcu_head puts a struct mmt_rcu_head at the start of the object. */
#define _MMT_TRACE_RCU_HEAD_SIZE ((uint32_t)sizeof(struct mmt_rcu_head))

/* Context bits: 1 << enum mmt_trace_context. */
#define _MMT_CTX(c) (1u << (c))
/* Anything in here makes the CPU atomic: no sleeping, no blocking GFP. */
#define _MMT_CTX_ATOMIC                                            \
	(_MMT_CTX(MMT_CTX_IRQ) | _MMT_CTX(MMT_CTX_SOFTIRQ) |       \
	 _MMT_CTX(MMT_CTX_BH_OFF) | _MMT_CTX(MMT_CTX_PREEMPT) |    \
	 _MMT_CTX(MMT_CTX_IRQS_OFF) | _MMT_CTX(MMT_CTX_RAW_LOCK) | \
	 _MMT_CTX(MMT_CTX_SPIN_LOCK) | _MMT_CTX(MMT_CTX_RCU_READ))
/* Not task context: no memalloc_*_save scopes, no softirq entry. */
#define _MMT_CTX_INTERRUPT                                   \
	(_MMT_CTX(MMT_CTX_IRQ) | _MMT_CTX(MMT_CTX_SOFTIRQ) | \
	 _MMT_CTX(MMT_CTX_BH_OFF))
/*
 * Under PREEMPT_RT rules a spinlock_t sleeps: it is invalid inside these
 * (the model's lockdep says "invalid wait context"; its RCU readers are
 * non-preemptible, so rcu_read counts as preemption disabled).
 */
#define _MMT_CTX_RT_ATOMIC                                         \
	(_MMT_CTX(MMT_CTX_IRQ) | _MMT_CTX(MMT_CTX_PREEMPT) |       \
	 _MMT_CTX(MMT_CTX_IRQS_OFF) | _MMT_CTX(MMT_CTX_RAW_LOCK) | \
	 _MMT_CTX(MMT_CTX_RCU_READ))

/* The handles of one kind. */
struct _mmt_trace_handles {
	uint32_t nr; /* created: serials 0..nr-1 */
	uint32_t nr_live;
	uint32_t cap; /* room in alive[], fact[] and live[] */
	uint8_t *alive; /* by serial */
	/*
	 * By serial, the one fact a rule needs: a page's order, a kmalloc
	 * object's size, a cache object's (or bulk's) cache, an element's
	 * pool, a charge's reserve; for a cache, pool or reserve the number
	 * of live dependants.
	 */
	uint32_t *fact;
	uint32_t *live; /* live serials, ascending */
};

/* One simulated CPU. */
struct _mmt_trace_cpu {
	bool online;
	uint8_t depth;
	uint16_t mask; /* _MMT_CTX() bits of the contexts on the stack */
	uint8_t count[MMT_NR_TRACE_CONTEXTS]; /* of each on the stack */
	uint8_t stack[MMT_TRACE_MAX_DEPTH]; /* enum mmt_trace_context */
	uint32_t cgroup; /* its task's cgroup: serial + 1, 0 = the root */
	/*
	 * stack[0] is an interrupt handler's context (`interrupt irq` or
	 * `interrupt softirq`, up to its `exit`), not a synchronous `enter`.
	 */
	bool handler;
};

struct _mmt_trace_state {
	struct mmt_trace_header hdr;
	bool lax; /* text: the atomic rule set is off */
	bool misuse; /* text: checking a "misuse" op (dead handles allowed) */
	/*
	 * Binary: decoding for a concurrent target (MMT_TRACE_SET_MT), whose
	 * programs take no shared mutex (the binary rules, trace_state.c).
	 */
	bool mt;
	/*
	 * The program's mutexes (bit: the mutex's value) entered by a CPU
	 * so far, and taken by a shrinker registered so far: the binary
	 * rules keep the two sets apart (trace_state.c).
	 */
	uint8_t mutex_entered, mutex_shrunk;
	/*
	 * By reserve serial: its group's serial + 1 (reserve_create_in), 0
	 * for none; a group's fact counts its live reserves.
	 */
	uint32_t *reserve_group;
	/*
	 * By group serial: its parent group's serial + 1 (reserve_group_in),
	 * 0 under the root; a group's fact counts its live groups too.
	 */
	uint32_t *group_parent;
	int cpu; /* where the next operation runs */
	int nr_online;
	unsigned int rcu_readers; /* rcu_read entries on every stack */
	struct _mmt_trace_cpu *cpus; /* hdr.nr_cpus of them */
	struct _mmt_trace_handles h[MMT_NR_HANDLE_KINDS];
};

/* Why an operation is refused, for the text parser's message. */
struct _mmt_trace_why {
	int arg; /* the argument at fault, or -1: the operation itself */
	char msg[200];
};

/*
 * A state at the start of a program with header @hdr (CPU 0 current, every
 * CPU online with an empty stack, in the root cgroup, no handle).  @lax:
 * the text parser's rules.  False on no memory.
 */
bool _mmt_trace_state_init(struct _mmt_trace_state *st,
			   const struct mmt_trace_header *hdr, bool lax);
void _mmt_trace_state_free(struct _mmt_trace_state *st);

/*
 * May @op come next?  @why (may be NULL: the decoder's fast path) says why
 * not.  Handle arguments are serials.
 */
bool _mmt_trace_state_check(const struct _mmt_trace_state *st,
			    const struct mmt_op *op,
			    struct _mmt_trace_why *why);
/*
 * Account for @op, which _mmt_trace_state_check() allowed: the handle it
 * creates (the next serial of its kind), the one it ends, contexts, CPUs,
 * cgroup membership.  False on no memory (nothing changed then).
 */
bool _mmt_trace_state_apply(struct _mmt_trace_state *st,
			    const struct mmt_op *op);
/*
 * Check and apply p->ops[0..n) in order; the index of the first operation
 * that is refused (or n).  For the mutator and the tests.
 */
size_t _mmt_trace_state_replay(struct _mmt_trace_state *st,
			       const struct mmt_program *p, size_t n);

/*
 * The binary form's canonicalisation of @op at this point: every number
 * brought into its range, every GFP mask made valid for the operation and
 * the context (_mmt_trace_gfp_canon() plus the per-operation repairs).
 * Handle arguments are left alone.  Idempotent.
 */
void _mmt_trace_canon_op(const struct _mmt_trace_state *st, struct mmt_op *op);
/*
 * A GFP mask the model accepts without an API complaint: unknown bits
 * dropped; in atomic context no __GFP_DIRECT_RECLAIM (and so no
 * __GFP_NOFAIL); __GFP_NOFAIL only with __GFP_DIRECT_RECLAIM, without
 * __GFP_FAST_TRY and for @order <= MMT_PAGE_ALLOC_COSTLY_ORDER.
 * Idempotent.
 */
mmt_gfp_t _mmt_trace_gfp_canon(mmt_gfp_t gfp, unsigned int order, bool atomic);

static inline const struct _mmt_trace_cpu *
_mmt_trace_cur(const struct _mmt_trace_state *st)
{
	return &st->cpus[st->cpu];
}

static inline bool _mmt_trace_state_atomic(const struct _mmt_trace_state *st)
{
	return _mmt_trace_cur(st)->mask & _MMT_CTX_ATOMIC;
}

static inline bool _mmt_trace_live(const struct _mmt_trace_state *st,
				   unsigned int kind, uint32_t serial)
{
	const struct _mmt_trace_handles *h = &st->h[kind];

	return serial < h->nr && h->alive[serial];
}

/* Position of live @serial among the live handles of @kind; false if dead. */
bool _mmt_trace_live_index(const struct _mmt_trace_state *st, unsigned int kind,
			   uint32_t serial, uint32_t *index);

/* ---- tables (trace_ops.c) ---- */

/* "page", "kmalloc object", ...: for messages. */
const char *_mmt_handle_kind_desc(enum mmt_handle_kind kind);
/* The opcode with keyword @name (@len bytes), or -1. */
int _mmt_trace_op_lookup(const char *name, size_t len);
/* The value of enum @e named @name (@len bytes), or -1. */
int _mmt_trace_enum_lookup(enum mmt_trace_enum e, const char *name, size_t len);
/* The handle kind whose prefix is @name (@len bytes), or MMT_H_NONE. */
enum mmt_handle_kind _mmt_handle_kind_lookup(const char *name, size_t len);

/*
 * MMT_ARG_SLAB_FLAGS: the byte is a set of the model's kmem_cache_create()
 * flags (mmt/slab.h); its text is their names joined by '|', "0" when empty.
 */
#define _MMT_TRACE_SLAB_FLAGS_MASK ((uint32_t)MMT_SLAB_VALID_FLAGS)
size_t _mmt_trace_slab_flags_format(uint32_t flags, char *buf, size_t len);
/* One flag name ("POISON" or "SLAB_POISON"): its bit, or 0. */
uint32_t _mmt_trace_slab_flag_lookup(const char *name, size_t len);

/* The schedule source named @name (@len bytes), or -1. */
int _mmt_sched_source_lookup(const char *name, size_t len);
/*
 * Bring a schedule into its canonical form: fields its source does not use
 * zeroed (decisions dropped under SEQ), a PCT depth out of range made the
 * default.  The binary decoder and the text parser leave every schedule so.
 */
void _mmt_trace_sched_canon(struct mmt_trace_schedule *s);

/* Text of the header fields that take names. */
const char *_mmt_trace_slab_impl_name(enum mmt_slab_impl impl);

/* ---- the binary header (trace_bin.c) ---- */

#define _MMT_TRACE_BIN_HEADER 4
/* Concurrent inputs: the schedule's bytes after the machine header. */
#define _MMT_TRACE_BIN_SCHED 8
void _mmt_trace_header_decode(const uint8_t *data, size_t len,
			      struct mmt_trace_header *h);
/* Bytes that decode to @h, or to the closest header the binary form has. */
void _mmt_trace_header_encode(const struct mmt_trace_header *h,
			      uint8_t out[_MMT_TRACE_BIN_HEADER]);

/*
 * Grow one of several parallel arrays to @cap elements of @size bytes; the
 * new block is kept as soon as realloc succeeds, so a later failure loses
 * nothing (the arrays stay valid at their old capacity).
 */
static inline bool _mmt_trace_grow(void *arrayp, size_t cap, size_t size)
{
	void **array = arrayp;
	void *p = realloc(*array, cap * size);

	if (!p)
		return false;
	*array = p;
	return true;
}

/*
 * The kind a dependant handle of @kind hangs from (a cache object's cache,
 * an element's pool, a charge's reserve), MMT_H_NONE for the others: the
 * rules count live dependants by it, the dependency builder orders by it.
 */
unsigned int _mmt_trace_parent_kind(unsigned int kind);

#endif /* MMT_TRACE_INTERNAL_H */
