/* SPDX-License-Identifier: MIT */
/*
 * mmt/trace.h - the operation language: one program, two spellings.
 *
 * A program is a machine header (nodes, CPUs, memory, layer implementations
 * and policies, RT rules, injected bugs, oracle level) and a sequence of
 * operations.  Operations that create something (pages, objects, caches,
 * pools, cgroups, swap files, sockets, reserves, charges) produce a named
 * handle; later operations refer to it, so free orderings are first class.
 *
 * Handles are numbered per kind in creation order: the third page handle of
 * a program is p2 whatever the text called it.  In memory an operation's
 * handle argument holds that serial number.  A handle is live from the
 * operation that creates it to the one that ends it (free, destroy,
 * offline, swapoff, ...); liveness is static, a property of the text: an
 * allocation that fails at run time leaves a NULL handle, and ending a NULL
 * handle does nothing (kfree(NULL)).
 *
 * Binary form (fuzzers): total.  Every byte string decodes to a valid
 * program: a short header is padded with zero bytes, an opcode is taken
 * modulo the number of opcodes, a handle byte modulo the live handles of
 * the kind wanted (an operation that needs a handle when none is live is
 * skipped), a number modulo its range, a GFP mask canonicalised (unknown
 * bits dropped, combinations the kernel warns about repaired, no blocking
 * mask in atomic context), and an operation that the state at that point
 * forbids (leaving a CPU inside an irq, synchronize_rcu in a read-side
 * section, ...) is skipped.  Decoding is therefore also a canonicaliser:
 * the decoded program uses the model's API correctly, so what it finds is
 * the model's fault, not the program's.
 *
 * Text form (people): strict.  One operation a line, `#` comments; an
 * error names file:line:column, the token and what was expected.  Text
 * may express misuse on purpose (GFP_KERNEL in an irq; a double free only
 * when written `misuse free_pages p0`, a dead handle being otherwise a
 * parse error; the misuse group of operations below) so that hand-written
 * traces can show each API check firing.  The binary form has no misuse.
 *
 * Round trips: text -> binary -> text is identical for canonical text (as
 * mmt_trace_print() writes it); binary -> text -> binary executes
 * identically.  docs/trace-language.md is the reference.
 *
 * Concurrency: a program is also one thread per CPU (the operations after
 * each `cpu N` line), plus kernel threads started and stopped by
 * operations, interleaved by a schedule (struct mmt_trace_schedule: a
 * source, its parameters and the recorded decisions).  The default
 * schedule, SEQ, is textual order: what every program meant before.  What
 * the threads must not reorder is mmt_trace_deps_build()'s; the binary
 * form of a concurrent program belongs to the concurrent targets
 * (MMT_TRACE_SET_MT), whose inputs carry the schedule after the header and
 * its decisions at the end.
 */
#ifndef MMT_TRACE_H
#define MMT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/machine.h"

#define MMT_TRACE_VERSION 1
#define MMT_TRACE_MAX_ARGS 4
#define MMT_TRACE_MAX_OPS \
	4096 /* longer programs are cut (binary) or refused (text) */
/*
 * Contexts one CPU may have entered at once (enter ... exit); a deeper
 * `enter` is skipped (binary) or refused (text).  It keeps the interpreter
 * within the model's held-lock and preempt-count room.
 */
#define MMT_TRACE_MAX_DEPTH 16

/* ---- handle kinds ---- */

enum mmt_handle_kind {
	MMT_H_NONE,
	MMT_H_PAGE, /* p: alloc_pages; remembers its order */
	MMT_H_PAGE_BULK, /* pb: alloc_pages_bulk, a set of order-0 pages */
	MMT_H_KMALLOC, /* o: kmalloc/krealloc object */
	MMT_H_CACHE, /* c: kmem_cache */
	MMT_H_CACHE_OBJ, /* co: kmem_cache_alloc object; remembers its cache */
	MMT_H_CACHE_BULK, /* cb: kmem_cache_alloc_bulk objects */
	MMT_H_MEMPOOL, /* m */
	MMT_H_ELEMENT, /* e: mempool element; remembers its pool */
	MMT_H_CGROUP, /* g */
	MMT_H_SWAPFILE, /* s: a swap file on the machine's network mount */
	MMT_H_SOCKET, /* sk: a socket (sock_memalloc: with SOCK_MEMALLOC; sock_create: without) */
	MMT_H_RESERVE, /* r: a mem_reserve leaf under the root or in a group */
	MMT_H_CHARGE, /* ch: pages charged to a reserve */
	MMT_H_KTHREAD, /* k: a kernel thread started by kthread_start */
	MMT_H_SHEAF, /* sh: a prefilled sheaf; remembers its cache */
	MMT_H_SHRINKER, /* sr: a shrinker whose scan takes a program mutex */
	MMT_H_RESERVE_GROUP, /* rg: an aggregate mem_reserve node; counts its live reserves */
	MMT_NR_HANDLE_KINDS
};

/* "p", "pb", "o", ... */
const char *mmt_handle_prefix(enum mmt_handle_kind kind);

/* ---- argument types ---- */

enum mmt_arg_type {
	MMT_ARG_HANDLE, /* 1 byte: index into the live handles of .kind */
	MMT_ARG_CPU, /* 1 byte: modulo nr_cpus */
	MMT_ARG_NODE, /* 1 byte: modulo nr_nodes */
	MMT_ARG_ORDER, /* 1 byte: modulo MMT_MAX_ORDER */
	MMT_ARG_GFP, /* 4 bytes LE: canonicalised; text: GFP_KERNEL|__GFP_ZERO */
	MMT_ARG_SIZE, /* 2 bytes LE: 1 + v % MMT_TRACE_MAX_SIZE */
	MMT_ARG_COUNT, /* 1 byte: 1 + v % 64 */
	MMT_ARG_SLAB_FLAGS, /* 1 byte: subset of the cache flags; text: HWCACHE_ALIGN|POISON */
	MMT_ARG_ENUM, /* 1 byte: modulo the enum's size; text: its name */
	/*
	 * Any number 0..2^32-1, as written, unchecked: the argument a
	 * misuse operation passes to an API that must refuse it (an order,
	 * node or CPU out of range, an offset into an object).  Misuse
	 * operations only: no binary form (they are in no target's set).
	 */
	MMT_ARG_NUM,
	MMT_NR_ARG_TYPES
};

#define MMT_TRACE_MAX_SIZE 16384 /* kmalloc sizes: classes to 8192 and beyond */

/* Enumerations that MMT_ARG_ENUM arguments name. */
enum mmt_trace_enum {
	MMT_ENUM_CONTEXT, /* irq softirq bh_off preempt irqs_off raw_lock spin_lock rcu_read noio nofs memalloc mutex_a mutex_b */
	MMT_ENUM_POOL_KIND, /* kmalloc slab page */
	MMT_ENUM_LRU, /* anon file dirty */
	MMT_ENUM_ONOFF, /* off on */
	MMT_ENUM_KTHREAD, /* kswapd disk dmcrypt loop netswap gp kvfree_rcu */
	/*
	 * irq softirq: an interrupt handler's context; the values are
	 * MMT_CTX_IRQ and MMT_CTX_SOFTIRQ.
	 */
	MMT_ENUM_INTERRUPT,
	/* mutex_a mutex_b: the values are MMT_CTX_MUTEX_A - MMT_CTX_MUTEX_A.. */
	MMT_ENUM_MUTEX,
	MMT_NR_TRACE_ENUMS
};

/*
 * The kernel threads a program may start (MMT_ENUM_KTHREAD's values);
 * docs/trace-language.md says what each runs.  At most one of each kind is
 * live at a time, but kswapd, of which there is one per node.
 */
enum mmt_trace_kthread {
	MMT_KT_KSWAPD, /* the node's kswapd (alloc/reclaim.c) */
	MMT_KT_DISK, /* a disk and its worker: reclaim's writeback target */
	MMT_KT_DMCRYPT, /* dm-crypt over a disk: kcryptd with its bio and page mempools */
	MMT_KT_LOOP, /* a loop device over a disk: its PF_LESS_THROTTLE worker */
	MMT_KT_NETSWAP, /* network swap on the mount's socket: the sender (rpciod) */
	MMT_KT_GP, /* the grace-period thread: steps grace periods while one is wanted */
	MMT_KT_KVFREE_RCU, /* kvfree_rcu's worker: frees the blocks whose grace period ended */
	MMT_NR_TRACE_KTHREADS
};

/* What MMT_ENUM_CONTEXT's values are (the per-CPU context stack). */
enum mmt_trace_context {
	MMT_CTX_IRQ, /* mmt_irq_enter: hard irq */
	MMT_CTX_SOFTIRQ, /* serving a softirq */
	MMT_CTX_BH_OFF, /* local_bh_disable */
	MMT_CTX_PREEMPT, /* preempt_disable */
	MMT_CTX_IRQS_OFF, /* local_irq_disable */
	MMT_CTX_RAW_LOCK, /* a raw_spinlock_t of the program's, held */
	MMT_CTX_SPIN_LOCK, /* a spinlock_t of the program's, held */
	MMT_CTX_RCU_READ, /* rcu_read_lock */
	MMT_CTX_NOIO, /* memalloc_noio_save scope (task context only) */
	MMT_CTX_NOFS, /* memalloc_nofs_save scope (task context only) */
	MMT_CTX_MEMALLOC, /* memalloc_noreclaim_save: PF_MEMALLOC (task context only) */
	/*
	 * mutex_lock of one of the program's two mutexes, shared by every
	 * CPU (task context only; it may sleep): a caller-owned lock that a
	 * shrinker (shrinker_register) may take too
	 */
	MMT_CTX_MUTEX_A,
	MMT_CTX_MUTEX_B,
	MMT_NR_TRACE_CONTEXTS
};

const char *mmt_trace_enum_name(enum mmt_trace_enum e, unsigned int value);
unsigned int mmt_trace_enum_size(enum mmt_trace_enum e);

struct mmt_arg_info {
	uint8_t type; /* enum mmt_arg_type */
	uint8_t kind; /* MMT_ARG_HANDLE: enum mmt_handle_kind; MMT_ARG_ENUM: enum mmt_trace_enum */
	const char *name; /* "gfp", "order", "size", ...: the text's key= */
};

/* ---- operations ---- */

/*
 * The opcode table (trace_ops.c) is the single source of truth: the
 * decoders, encoders, printers, parser, interpreter and mutator are all
 * driven by it.  New operations go at the end (opcodes are stable: corpora
 * depend on them).
 */
enum mmt_opcode {
	/* where and in what context the next operations run */
	MMT_OP_CPU, /* cpu N: the next operations run on CPU N */
	MMT_OP_ENTER, /* enter CONTEXT: push irq/softirq/.../noio/nofs/memalloc */
	MMT_OP_EXIT, /* exit: pop the innermost context of this CPU */
	MMT_OP_SCHEDULE, /* schedule: an explicit preemption point */
	MMT_OP_CPU_OFFLINE, /* cpu_offline N */
	MMT_OP_CPU_ONLINE, /* cpu_online N */
	/* page allocator */
	MMT_OP_ALLOC_PAGES, /* p = alloc_pages gfp order */
	MMT_OP_ALLOC_PAGES_NODE, /* p = alloc_pages_node node gfp order */
	MMT_OP_FREE_PAGES, /* free_pages p */
	MMT_OP_ALLOC_PAGES_BULK, /* pb = alloc_pages_bulk gfp count */
	MMT_OP_FREE_PAGES_BULK, /* free_pages_bulk pb */
	MMT_OP_DRAIN_LOCAL, /* drain_local_pages */
	MMT_OP_DRAIN_ALL, /* drain_all_pages */
	MMT_OP_ALLOC_PAGES_NOLOCK, /* p = alloc_pages_nolock order node */
	MMT_OP_FREE_PAGES_NOLOCK, /* free_pages_nolock p */
	/* slab */
	MMT_OP_KMALLOC, /* o = kmalloc size gfp */
	MMT_OP_KMALLOC_NODE, /* o = kmalloc_node size gfp node */
	MMT_OP_KFREE, /* kfree o */
	MMT_OP_KREALLOC, /* krealloc o size gfp (the handle follows the object) */
	MMT_OP_CACHE_CREATE, /* c = kmem_cache_create size flags */
	MMT_OP_CACHE_DESTROY, /* kmem_cache_destroy c (no live objects of c) */
	MMT_OP_CACHE_ALLOC, /* co = kmem_cache_alloc c gfp */
	MMT_OP_CACHE_ALLOC_NODE, /* co = kmem_cache_alloc_node c gfp node */
	MMT_OP_CACHE_FREE, /* kmem_cache_free co */
	MMT_OP_CACHE_ALLOC_BULK, /* cb = kmem_cache_alloc_bulk c gfp count */
	MMT_OP_CACHE_FREE_BULK, /* kmem_cache_free_bulk cb */
	MMT_OP_KFREE_BULK, /* kfree_bulk cb */
	MMT_OP_CACHE_SHRINK, /* kmem_cache_shrink c */
	MMT_OP_CACHE_PREFILL_SHEAF, /* sh = kmem_cache_prefill_sheaf c gfp count */
	MMT_OP_CACHE_ALLOC_FROM_SHEAF, /* co = kmem_cache_alloc_from_sheaf sh gfp */
	MMT_OP_CACHE_RETURN_SHEAF, /* kmem_cache_return_sheaf sh gfp */
	MMT_OP_KMALLOC_NOLOCK, /* o = kmalloc_nolock size node */
	MMT_OP_KFREE_NOLOCK, /* kfree_nolock o */
	/* RCU */
	MMT_OP_KVFREE_RCU, /* kvfree_rcu o (single argument) */
	MMT_OP_KVFREE_RCU_HEAD, /* kvfree_rcu_head o (two arguments, head inside) */
	MMT_OP_GP_STEP, /* gp_step: advance the grace-period machine one step */
	MMT_OP_SYNCHRONIZE_RCU, /* synchronize_rcu */
	MMT_OP_RCU_BARRIER, /* rcu_barrier */
	/* cgroups */
	MMT_OP_CGROUP_CREATE, /* g = cgroup_create */
	MMT_OP_CGROUP_ENTER, /* cgroup_enter g: this CPU's task moves into g */
	MMT_OP_CGROUP_OFFLINE, /* cgroup_offline g (its tasks go back to the root) */
	/* mempool */
	MMT_OP_MEMPOOL_CREATE, /* m = mempool_create kind count size */
	MMT_OP_MEMPOOL_ALLOC, /* e = mempool_alloc m gfp */
	MMT_OP_MEMPOOL_FREE, /* mempool_free e */
	MMT_OP_MEMPOOL_RESIZE, /* mempool_resize m count */
	MMT_OP_MEMPOOL_DESTROY, /* mempool_destroy m (no live elements of m) */
	/* reserves, sockets, swap */
	MMT_OP_SWAPON, /* s = swapon (a swap file on the network mount) */
	MMT_OP_SWAPOFF, /* swapoff s */
	MMT_OP_SOCK_MEMALLOC, /* sk = sock_memalloc (a socket with SOCK_MEMALLOC) */
	MMT_OP_SOCK_CLOSE, /* sock_close sk (either kind) */
	MMT_OP_NET_RX, /* net_rx sk size: a packet arrives (softirq, emergency; dropped at an ordinary socket if pfmemalloc) */
	MMT_OP_RESERVE_CREATE, /* r = reserve_create count (pages) */
	MMT_OP_RESERVE_KMALLOC, /* reserve_kmalloc r size count */
	MMT_OP_RESERVE_CONNECT, /* reserve_connect r */
	MMT_OP_RESERVE_DISCONNECT, /* reserve_disconnect r */
	MMT_OP_RESERVE_DESTROY, /* reserve_destroy r (no live charges of r) */
	MMT_OP_RESERVE_CHARGE, /* ch = reserve_charge r count */
	MMT_OP_RESERVE_UNCHARGE, /* reserve_uncharge ch */
	MMT_OP_SOCK_CREATE, /* sk = sock_create (an ordinary socket: no SOCK_MEMALLOC) */
	MMT_OP_RESERVE_GROUP, /* rg = reserve_group (an aggregate node under the root) */
	MMT_OP_RESERVE_CREATE_IN, /* r = reserve_create_in rg count (a leaf in the group) */
	MMT_OP_RESERVE_GROUP_CONNECT, /* reserve_group_connect rg (the whole subtree) */
	MMT_OP_RESERVE_GROUP_DISCONNECT, /* reserve_group_disconnect rg */
	MMT_OP_RESERVE_GROUP_DESTROY, /* reserve_group_destroy rg (no live reserve in it) */
	MMT_OP_RESERVE_GROUP_IN, /* rg = reserve_group_in rg (a group nested in a group) */
	/* memory pressure and reclaim */
	MMT_OP_LRU_ADD, /* lru_add lru count: map reclaimable pages */
	MMT_OP_LRU_UNMAP, /* lru_unmap lru count */
	MMT_OP_KSWAPD, /* kswapd node: one balancing pass, run here */
	MMT_OP_SHRINK_ALL, /* shrink_all: every cache's kmem_cache_shrink */
	MMT_OP_SHRINKER_REGISTER, /* sr = shrinker_register mutex: its scan takes the mutex */
	MMT_OP_SHRINKER_UNREGISTER, /* shrinker_unregister sr */
	/* kernel threads (concurrent programs only: the -mt targets) */
	MMT_OP_KTHREAD_START, /* k = kthread_start kind node */
	MMT_OP_KTHREAD_STOP, /* kthread_stop k */
	/*
	 * interrupt irq|softirq ... exit: an interrupt handler, pending on
	 * this CPU from here, delivered when the schedule says (concurrent
	 * programs only: the -mt targets that name it)
	 */
	MMT_OP_INTERRUPT,
	/*
	 * Deliberate misuse (text only, each written `misuse OP ...`): API
	 * calls a correct program never makes, so that every API check can
	 * be shown to fire (corpora/oracle-pairs/).  They are in no target's
	 * operation set, so no decoder or mutator ever produces one and a
	 * fuzz finding is always the model's fault; adding them renumbered
	 * no binary opcode.  New ordinary operations go before this group
	 * (and renumber it: it has no binary form to keep stable).
	 */
	MMT_OP_FREE_PAGES_ORDER, /* free_pages_order p order: the order as written */
	MMT_OP_FREE_PAGES_TAIL, /* free_pages_tail p pages: a page inside the block */
	MMT_OP_ALLOC_FREE_PAGES, /* alloc_free_pages node gfp order: unchecked, result freed */
	MMT_OP_CACHE_CREATE_DESTROY, /* kmem_cache_create_destroy size flags: unchecked */
	MMT_OP_CACHE_FREE_TO, /* kmem_cache_free_to c co: to another cache */
	MMT_OP_KFREE_AT, /* kfree_at o off: a pointer inside the object */
	MMT_OP_KVFREE_RCU_AT, /* kvfree_rcu_at o off: a pointer inside the object */
	MMT_OP_WRITE_PAGES, /* write_pages p off count: bytes of the block, live or freed */
	MMT_OP_WRITE_CACHE_OBJ, /* write_cache_object co off count: past its end too */
	MMT_OP_WRITE_ELEMENT, /* write_element e off count: a freed element in its pool */
	MMT_OP_EXIT_CONTEXT, /* exit_context CONTEXT: the exit primitive, nothing entered */
	MMT_OP_CPU_OFFLINE_ANY, /* cpu_offline_any cpu: any CPU number */
	MMT_OP_LOCK_UNINITIALIZED, /* lock_uninitialized: spin_lock of a lock never initialized */
	MMT_OP_KSWAPD_ANY, /* kswapd_any node: a balancing pass of any node number */
	MMT_NR_OPCODES
};
#define MMT_OP_FIRST_MISUSE MMT_OP_FREE_PAGES_ORDER
/* Is @code a misuse-only operation (written `misuse OP`, text only)? */
#define MMT_OP_IS_MISUSE(code)                          \
	((unsigned int)(code) >= MMT_OP_FIRST_MISUSE && \
	 (unsigned int)(code) < MMT_NR_OPCODES)

/*
 * Operation sets (MMT_OP_BIT(opcode)), as the fuzz targets and the binary
 * codec take them: 128 bits, the operations below MMT_TRACE_SET_MT.  MMT_TRACE_SET_MT is not an opcode: it selects the
 * concurrent binary layout (a schedule in the header, decisions at the
 * end).  Without it a set never holds the kernel-thread operations, so the
 * single-CPU binary form decodes exactly as before they existed; 0 means
 * MMT_TRACE_OPS_SEQ (MMT_TRACE_OPS_ALL with the flag).
 */
typedef unsigned __int128 mmt_opset_t;
#define MMT_OP_BIT(op) ((mmt_opset_t)1 << (op))
#define MMT_TRACE_SET_MT MMT_OP_BIT(127)
#define MMT_TRACE_OPS_SEQ (MMT_OP_BIT(MMT_OP_KTHREAD_START) - 1)
/* Every operation a binary input may hold: the misuse group is in none. */
#define MMT_TRACE_OPS_ALL (MMT_OP_BIT(MMT_OP_FIRST_MISUSE) - 1)

struct mmt_op_info {
	const char *name; /* the text's keyword */
	uint8_t result; /* enum mmt_handle_kind it creates, or MMT_H_NONE */
	uint8_t ends; /* index+1 of the handle argument it ends, or 0 */
	uint8_t nargs;
	struct mmt_arg_info args[MMT_TRACE_MAX_ARGS];
	const char *help; /* one line, for docs and `mmtorture trace ops` */
};

const struct mmt_op_info *mmt_op_info(enum mmt_opcode op);

struct mmt_op {
	uint16_t code; /* enum mmt_opcode */
	/*
	 * Text only ("misuse OP ..."): a deliberate API misuse, whose handle
	 * arguments may be dead (ended) - a double free, say - so that an
	 * API check can be shown to fire.  The binary form has none.
	 */
	uint8_t misuse;
	uint32_t arg[MMT_TRACE_MAX_ARGS]; /* handles as serials; GFP as mask */
	uint32_t line; /* text: source line (0 for binary) */
};

/* ---- the machine header ---- */

struct mmt_trace_header {
	int nr_nodes; /* 1..2 in binary; 1..MMT_MAX_NODES in text */
	int nr_cpus; /* 1..4 in binary; 1..MMT_MAX_CPUS in text */
	unsigned long normal_pages; /* per node */
	unsigned long dma32_pages; /* per node, like mmt_config's (0: none) */
	enum mmt_slab_impl slab;
	enum mmt_mempool_policy mempool;
	enum mmt_throttle_policy throttle; /* text throttle=; binary b1 bit 7 */
	bool rt_rules;
	bool up; /* uniprocessor build (SMP=n), nr_cpus 1; text smp=off */
	bool kvfree_rcu_fast_try;
	int oracle_level; /* 0 cheap, 1 + expensive validators at the end, 2 + after every op */
	uint64_t bugs; /* text only; the binary form carries none (targets take MMT_BUGS) */
};

void mmt_trace_header_default(struct mmt_trace_header *h);
/* The header as an mmt_config (a fresh machine's). */
void mmt_trace_header_config(const struct mmt_trace_header *h,
			     struct mmt_config *cfg);

/* ---- the schedule of a concurrent program ---- */

/*
 * Who decides, at each scheduling point where more than one fiber (CPU
 * thread or kernel thread) may run, which one runs (docs/trace-language.md,
 * "Concurrent programs").  SEQ is the sequential interpretation: the
 * operations run one after the other in textual order, as every program
 * ran before concurrency; it is the default, so every existing trace and
 * corpus means what it meant.
 */
enum mmt_trace_sched_source {
	MMT_SCHED_SEQ, /* textual order; kernel threads between operations and in waits */
	MMT_SCHED_INPUT, /* the decisions; then switch only where the runner waits, yields or ends */
	MMT_SCHED_PCT, /* PCT: random priorities, depth-1 change points (seed) */
	MMT_SCHED_RANDOM, /* uniformly random among the runnable (seed) */
	MMT_SCHED_RR, /* round robin over the runnable */
	MMT_NR_SCHED_SOURCES
};

#define MMT_TRACE_PCT_MAX_DEPTH 8
#define MMT_TRACE_PCT_DEFAULT_DEPTH 3
/* Decisions a program may carry (the binary count field's range). */
#define MMT_TRACE_MAX_DECISIONS 65535

struct mmt_trace_schedule {
	uint8_t source; /* enum mmt_trace_sched_source */
	uint8_t pct_depth; /* PCT: 1..MMT_TRACE_PCT_MAX_DEPTH; 0 otherwise */
	uint16_t pct_steps; /* PCT: scheduling points expected (k); 0: the engine estimates */
	uint32_t seed; /* PCT and RANDOM; 0 otherwise */
	/*
	 * The recorded or given schedule: at the i-th decision point (a
	 * scheduling point where n > 1 fibers may run) the fiber at index
	 * decisions[i] % n of the runnable ones runs (CPU threads by CPU
	 * number, then kernel threads in start order).  Consulted before the
	 * source; none with SEQ.  malloc'd; mmt_program_free() frees it.
	 */
	uint32_t nr_decisions;
	uint16_t *decisions;
};

const char *mmt_sched_source_name(enum mmt_trace_sched_source s);

/* ---- programs ---- */

struct mmt_program {
	struct mmt_trace_header hdr;
	size_t nr_ops, cap;
	struct mmt_op *ops;
	uint32_t nr_handles[MMT_NR_HANDLE_KINDS]; /* created, per kind */
	struct mmt_trace_schedule sched;
};

void mmt_program_init(struct mmt_program *p);
/* Frees the operations and leaves @p as mmt_program_init() made it. */
void mmt_program_free(struct mmt_program *p);
/*
 * Append (grows); false on no memory or MMT_TRACE_MAX_OPS.  Counts the
 * handle the operation creates in nr_handles[].
 */
bool mmt_program_append(struct mmt_program *p, const struct mmt_op *op);
/*
 * Same header, schedule and operations (code and arguments; source lines
 * ignored).
 */
bool mmt_program_equal(const struct mmt_program *a,
		       const struct mmt_program *b);
/*
 * Replace @p's decisions by a copy of @d[0..n) (n <= MMT_TRACE_MAX_DECISIONS;
 * the interpreter records an executed schedule this way).  False on no
 * memory or too many; @p is unchanged then.
 */
bool mmt_program_set_decisions(struct mmt_program *p, const uint16_t *d,
			       size_t n);

/*
 * The concurrent structure of a program (docs/trace-language.md,
 * "Concurrent programs"): the CPU whose thread runs each operation, and
 * the textually earlier operations of other threads it must wait for.
 * on[first[i] .. first[i + 1]) are operation i's, ascending, every one
 * below i: a schedule can never deadlock on them.  None is implied by
 * program order (an earlier operation of the thread waiting for it or a
 * later one of its thread).  An operation inside a
 * context block (enter ... exit) has none: the block's outermost `enter`
 * carries them all, so a thread never waits for another inside a context.
 */
struct mmt_trace_deps {
	size_t nr_ops;
	uint16_t *cpu; /* by operation: its thread (for `cpu N`: N) */
	/*
	 * By operation: 0, or 1 + the index of the `interrupt` operation
	 * that opens the handler it belongs to (that operation and its
	 * closing `exit` included).  A handler is a thread of its own for
	 * the ordering: its operations wait for nothing of its CPU's thread
	 * but what they share, and what the thread does after it waits for
	 * it only where they share something.
	 */
	uint32_t *handler;
	uint32_t *first; /* nr_ops + 1 */
	uint32_t *on;
};

/* False on no memory (@d then empty); free with mmt_trace_deps_free(). */
bool mmt_trace_deps_build(const struct mmt_program *p,
			  struct mmt_trace_deps *d);
void mmt_trace_deps_free(struct mmt_trace_deps *d);

/*
 * Binary form.  Decoding is total: it never fails and never reads past
 * @len.  Encoding writes what decodes back to the same program; returns the
 * bytes needed (call with @out NULL to size it).  Decoding and parsing
 * fill @out from scratch (as mmt_program_init() does; free what it held
 * before); release it with mmt_program_free().
 */
void mmt_trace_decode(const uint8_t *data, size_t len, struct mmt_program *out);
size_t mmt_trace_encode(const struct mmt_program *p, uint8_t *out, size_t cap);
/*
 * The same over a subset of the operations (a layer's fuzz target): an
 * opcode byte selects among the operations whose bit is set in @opset
 * (MMT_OP_BIT(opcode); 0 means all of MMT_TRACE_OPS_SEQ), in opcode order.
 * mmt_trace_decode() is mmt_trace_decode_set(.., 0, ..).  Encoding an
 * operation outside @opset drops it.  With MMT_TRACE_SET_MT in @opset the
 * concurrent layout is read and written: the schedule after the machine
 * header, the decisions at the end of the input, backwards (trace_bin.c);
 * without it the schedule is SEQ and no kernel-thread operation exists.
 */
void mmt_trace_decode_set(const uint8_t *data, size_t len, mmt_opset_t opset,
			  struct mmt_program *out);
size_t mmt_trace_encode_set(const struct mmt_program *p, mmt_opset_t opset,
			    uint8_t *out, size_t cap);

/*
 * The mempool policies a binary header may pick (bits 4-5 of b1).  The
 * kernel-2016 policy is the seed-001 deadlock itself, a known finding of
 * every concurrent run that writes back through a crypt device, so it is
 * opt-in: by default a header that names it decodes to no-reclaim.  @list
 * is a comma-separated list of policy names or "all"; NULL or "" restores
 * the default (no-reclaim,pool-first).  false with @err on a bad name.
 * Process-wide: the fuzz targets and the CLI set it from the environment
 * variable MMT_MEMPOOL_POLICIES, `fuzz --mempool-policies` exports it.
 * Text traces always run the policy they name.
 */
#define MMT_MEMPOOL_POLICIES_ENV "MMT_MEMPOOL_POLICIES"
bool mmt_trace_bin_set_mempool_policies(const char *list, char *err,
					size_t errlen);
/* The mask (1u << enum mmt_mempool_policy) of the policies allowed. */
unsigned int mmt_trace_bin_mempool_policies(void);
/*
 * The bugs the run turns on (targets: MMT_BUGS; replay: --bug).  The 2016
 * throttle (header b1 bit 7, throttle=vm-writeout) decodes only where
 * kernel-2016 is allowed or a bug of seed 001 is on
 * (less-throttle-never-throttles, mempool-retry-reclaim: their harm is a
 * wait of that throttle): elsewhere a binary header gets the
 * v5.16+ throttle, whose waits are bounded.
 */
void mmt_trace_bin_set_bugs(uint64_t bugs);

/*
 * Text form.  Parsing is strict: false with @err = "FILE:LINE:COL: message"
 * naming the token and what was expected.  @name is the file name used in
 * messages.  A UTF-8 byte order mark, blank lines and comment lines may
 * come before the magic line.
 */
bool mmt_trace_parse(const char *text, size_t len, const char *name,
		     struct mmt_program *out, char *err, size_t errlen);
/* Canonical text of @p (header, then one operation a line). */
void mmt_trace_print(const struct mmt_program *p, FILE *out);
/* One operation as text ("p3 = alloc_pages GFP_KERNEL order=2"). */
size_t mmt_trace_format_op(const struct mmt_program *p, const struct mmt_op *op,
			   char *buf, size_t len);

/*
 * The fuzz targets ("pages", "slab", "rcu", "mempool", "reserves",
 * "stack", and their concurrent forms "slab-mt", ...) and the operations
 * each decodes over (MMT_OP_BIT(opcode), with MMT_TRACE_SET_MT for a
 * concurrent target).
 */
bool mmt_trace_target_ops(const char *name, mmt_opset_t *ops);
/* The i-th target's name (and what it covers), NULL past the last. */
const char *mmt_trace_target_name(size_t i, const char **what);
/*
 * A fuzzing dictionary (libFuzzer -dict=, AFL++ -x) for the binary form
 * over @set, the operations of target @target (named in its first line):
 * every named GFP mask and bit as the 4 bytes an operation carries, the
 * kmalloc size classes as the 2 bytes a size argument carries, and each
 * operation's opcode byte with a zero first argument.  One writer for
 * `mmtorture trace dict` and build.sh's seed compiler (targets/oss_seeds.c).
 */
void mmt_trace_write_dict(FILE *out, const char *target, mmt_opset_t set);

/*
 * Which spelling a byte string is meant in.  Fuzzers write binary inputs
 * (in their corpus and crash directories); a person keeps text.  Nothing
 * that looks like text is ever taken for a binary program by a tool that
 * reads a person's file: such a file parses as text or fails with
 * FILE:LINE:COL and the reason (docs/trace-language.md, "Text or binary").
 */
enum mmt_trace_form {
	MMT_TRACE_FORM_BINARY, /* the binary form (a fuzzer's bytes) */
	/*
	 * The magic line first: after an optional UTF-8 byte order mark,
	 * white space, blank lines and '#' comment lines.
	 */
	MMT_TRACE_FORM_TEXT,
	/*
	 * Text without the magic line: a byte order mark, a near miss of
	 * the magic word ("mmtorture-trcae", "MMTORTURE-TRACE"), or printable
	 * UTF-8 with a line break in its first MMT_TRACE_SNIFF bytes.
	 */
	MMT_TRACE_FORM_TEXTLIKE,
};
#define MMT_TRACE_SNIFF 1024
enum mmt_trace_form mmt_trace_classify(const void *data, size_t len);

/* What a file's name says it is: the rule of a directory walk. */
enum mmt_trace_name {
	MMT_TRACE_NAME_TEXT, /* NAME.trace: text a person keeps */
	/*
	 * Written by a tool: NAME.bin (trace compile), libFuzzer's crash-*,
	 * leak-*, timeout-*, oom-*, slow-unit-*, minimized-from-* and
	 * 40-hex-digit corpus names, AFL++'s id:* (id_* on filesystems
	 * without ':').
	 */
	MMT_TRACE_NAME_FUZZ,
	MMT_TRACE_NAME_OTHER, /* anything else: README.md, notes, ... */
};
enum mmt_trace_name mmt_trace_name_kind(const char *path);

/*
 * Bytes to a program, by the one rule for inputs:
 *   a fuzzer's input (@name NULL, or a MMT_TRACE_NAME_FUZZ name): text if
 *     mmt_trace_classify() says MMT_TRACE_FORM_TEXT and it parses, else
 *     the binary form over @opset - never fails (every byte string is a
 *     program, which is what the fuzz targets need);
 *   a file a person keeps (a .trace name, or any other name whose bytes
 *     are not MMT_TRACE_FORM_BINARY): must parse as text; false with
 *     @err = "NAME:LINE:COL: reason";
 *   anything else: the binary form over @opset.
 * @form (may be NULL) receives the spelling used.
 */
bool mmt_trace_read(const char *name, const void *data, size_t len,
		    mmt_opset_t opset, struct mmt_program *out,
		    enum mmt_trace_form *form, char *err, size_t errlen);

/* A file by mmt_trace_read()'s rule over every operation. */
bool mmt_trace_load(const char *path, struct mmt_program *out, char *err,
		    size_t errlen);
#define MMT_TRACE_TEXT_MAGIC "mmtorture-trace"

#endif /* MMT_TRACE_H */
