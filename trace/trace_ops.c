/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_ops.c - the opcode table of the operation language and the
 * small tables around it: handle prefixes, enumeration names, slab flag
 * names, the machine header's defaults and its mmt_config, and programs as
 * growable arrays of operations.
 *
 * The table is the single source of truth (mmt/trace.h): one row per enum
 * mmt_opcode in the enum's order, each with the text keyword, the handle
 * kind it creates, which argument it ends, its arguments in the order the
 * header documents, and one line of help.  The binary decoder reads the
 * arguments in this order, the printer writes them in this order, and the
 * interpreter and the mutator index op->arg[] by it.
 *
 * Invariants (tests/test_trace_lang.c checks them): every opcode has a row
 * whose name is unique; a handle argument names a real kind; `ends` points
 * at a handle argument; numbers have a key name, unique within the row.
 *
 * Keywords are the kernel's function names where the kernel has one
 * (alloc_pages, kmem_cache_alloc, mempool_alloc, drain_all_pages, ...), the
 * model's otherwise (gp_step, net_rx, lru_add).
 */
#include <stdlib.h>
#include <string.h>

#include "mmt/mempool.h"
#include "trace_internal.h"

/* ---- handle kinds ---- */

static const struct {
	const char *prefix;
	const char *desc;
} kinds[MMT_NR_HANDLE_KINDS] = {
	[MMT_H_NONE] = { "", "nothing" },
	[MMT_H_PAGE] = { "p", "page" },
	[MMT_H_PAGE_BULK] = { "pb", "page bulk" },
	[MMT_H_KMALLOC] = { "o", "kmalloc object" },
	[MMT_H_CACHE] = { "c", "kmem_cache" },
	[MMT_H_CACHE_OBJ] = { "co", "cache object" },
	[MMT_H_CACHE_BULK] = { "cb", "cache object bulk" },
	[MMT_H_MEMPOOL] = { "m", "mempool" },
	[MMT_H_ELEMENT] = { "e", "mempool element" },
	[MMT_H_CGROUP] = { "g", "cgroup" },
	[MMT_H_SWAPFILE] = { "s", "swap file" },
	[MMT_H_SOCKET] = { "sk", "socket" },
	[MMT_H_RESERVE] = { "r", "reserve" },
	[MMT_H_CHARGE] = { "ch", "reserve charge" },
	[MMT_H_KTHREAD] = { "k", "kernel thread" },
	[MMT_H_SHEAF] = { "sh", "prefilled sheaf" },
	[MMT_H_SHRINKER] = { "sr", "shrinker" },
	[MMT_H_RESERVE_GROUP] = { "rg", "reserve group" },
};

const char *mmt_handle_prefix(enum mmt_handle_kind kind)
{
	return (unsigned int)kind < MMT_NR_HANDLE_KINDS ? kinds[kind].prefix :
							  "?";
}

const char *_mmt_handle_kind_desc(enum mmt_handle_kind kind)
{
	return (unsigned int)kind < MMT_NR_HANDLE_KINDS ? kinds[kind].desc :
							  "?";
}

enum mmt_handle_kind _mmt_handle_kind_lookup(const char *name, size_t len)
{
	unsigned int k;

	for (k = 1; k < MMT_NR_HANDLE_KINDS; k++)
		if (strlen(kinds[k].prefix) == len &&
		    !memcmp(kinds[k].prefix, name, len))
			return (enum mmt_handle_kind)k;
	return MMT_H_NONE;
}

/* ---- enumerations ---- */

static const char *const context_names[MMT_NR_TRACE_CONTEXTS] = {
	[MMT_CTX_IRQ] = "irq",
	[MMT_CTX_SOFTIRQ] = "softirq",
	[MMT_CTX_BH_OFF] = "bh_off",
	[MMT_CTX_PREEMPT] = "preempt",
	[MMT_CTX_IRQS_OFF] = "irqs_off",
	[MMT_CTX_RAW_LOCK] = "raw_lock",
	[MMT_CTX_SPIN_LOCK] = "spin_lock",
	[MMT_CTX_RCU_READ] = "rcu_read",
	[MMT_CTX_NOIO] = "noio",
	[MMT_CTX_NOFS] = "nofs",
	[MMT_CTX_MEMALLOC] = "memalloc",
	[MMT_CTX_MUTEX_A] = "mutex_a",
	[MMT_CTX_MUTEX_B] = "mutex_b",
};
/* The program's mutexes: the same names as their contexts. */
static const char *const mutex_names[] = { "mutex_a", "mutex_b" };
_Static_assert(MMT_CTX_MUTEX_B == MMT_CTX_MUTEX_A + 1,
	       "a mutex's value is its context's minus MMT_CTX_MUTEX_A");
static const char *const pool_kind_names[] = { "kmalloc", "slab", "page" };
static const char *const lru_names[] = { "anon", "file", "dirty" };
static const char *const onoff_names[] = { "off", "on" };
static const char *const kthread_names[MMT_NR_TRACE_KTHREADS] = {
	[MMT_KT_KSWAPD] = "kswapd",	    [MMT_KT_DISK] = "disk",
	[MMT_KT_DMCRYPT] = "dmcrypt",	    [MMT_KT_LOOP] = "loop",
	[MMT_KT_NETSWAP] = "netswap",	    [MMT_KT_GP] = "gp",
	[MMT_KT_KVFREE_RCU] = "kvfree_rcu",
};

/* The handler contexts: the same values as MMT_CTX_IRQ, MMT_CTX_SOFTIRQ. */
static const char *const interrupt_names[] = { "irq", "softirq" };
_Static_assert(MMT_CTX_IRQ == 0 && MMT_CTX_SOFTIRQ == 1,
	       "interrupt's values are contexts");

static const struct {
	const char *const *names;
	unsigned int nr;
} enums[MMT_NR_TRACE_ENUMS] = {
	[MMT_ENUM_CONTEXT] = { context_names, MMT_NR_TRACE_CONTEXTS },
	[MMT_ENUM_POOL_KIND] = { pool_kind_names,
				 MMT_ARRAY_SIZE(pool_kind_names) },
	[MMT_ENUM_LRU] = { lru_names, MMT_ARRAY_SIZE(lru_names) },
	[MMT_ENUM_ONOFF] = { onoff_names, MMT_ARRAY_SIZE(onoff_names) },
	[MMT_ENUM_KTHREAD] = { kthread_names, MMT_NR_TRACE_KTHREADS },
	[MMT_ENUM_INTERRUPT] = { interrupt_names,
				 MMT_ARRAY_SIZE(interrupt_names) },
	[MMT_ENUM_MUTEX] = { mutex_names, MMT_ARRAY_SIZE(mutex_names) },
};

const char *mmt_trace_enum_name(enum mmt_trace_enum e, unsigned int value)
{
	if ((unsigned int)e >= MMT_NR_TRACE_ENUMS || value >= enums[e].nr)
		return NULL;
	return enums[e].names[value];
}

unsigned int mmt_trace_enum_size(enum mmt_trace_enum e)
{
	return (unsigned int)e < MMT_NR_TRACE_ENUMS ? enums[e].nr : 0;
}

int _mmt_trace_enum_lookup(enum mmt_trace_enum e, const char *name, size_t len)
{
	unsigned int v;

	if ((unsigned int)e >= MMT_NR_TRACE_ENUMS)
		return -1;
	for (v = 0; v < enums[e].nr; v++)
		if (strlen(enums[e].names[v]) == len &&
		    !memcmp(enums[e].names[v], name, len))
			return (int)v;
	return -1;
}

/* ---- slab flags ---- */

static const struct {
	const char *name;
	uint32_t flag;
} slab_flags[] = {
	{ "HWCACHE_ALIGN", MMT_SLAB_HWCACHE_ALIGN },
	{ "POISON", MMT_SLAB_POISON },
	{ "RED_ZONE", MMT_SLAB_RED_ZONE },
	{ "STORE_USER", MMT_SLAB_STORE_USER },
	{ "TYPESAFE_BY_RCU", MMT_SLAB_TYPESAFE_BY_RCU },
	{ "ACCOUNT", MMT_SLAB_ACCOUNT },
};

size_t _mmt_trace_slab_flags_format(uint32_t flags, char *buf, size_t len)
{
	size_t i, n = 0;
	int w;

	if (len)
		buf[0] = '\0';
	flags &= _MMT_TRACE_SLAB_FLAGS_MASK;
	if (!flags)
		return (size_t)snprintf(buf, len, "0");
	for (i = 0; i < MMT_ARRAY_SIZE(slab_flags); i++) {
		if (!(flags & slab_flags[i].flag))
			continue;
		w = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0,
			     "%s%s", n ? "|" : "", slab_flags[i].name);
		n += (size_t)w;
	}
	return n;
}

uint32_t _mmt_trace_slab_flag_lookup(const char *name, size_t len)
{
	size_t i;

	/* The kernel's spelling (SLAB_POISON) is accepted too. */
	if (len > 5 && !memcmp(name, "SLAB_", 5)) {
		name += 5;
		len -= 5;
	}
	for (i = 0; i < MMT_ARRAY_SIZE(slab_flags); i++)
		if (strlen(slab_flags[i].name) == len &&
		    !memcmp(slab_flags[i].name, name, len))
			return slab_flags[i].flag;
	return 0;
}

const char *_mmt_trace_slab_impl_name(enum mmt_slab_impl impl)
{
	return impl == MMT_SLAB_SLAB	? "slab" :
	       impl == MMT_SLAB_SHEAVES ? "sheaves" :
					  "slub";
}

const char *mmt_trace_slab_impl_name(enum mmt_slab_impl impl)
{
	return _mmt_trace_slab_impl_name(impl);
}

/* ---- the opcode table ---- */

#define H(k, n)                              \
	{                                    \
		MMT_ARG_HANDLE, MMT_H_##k, n \
	}
#define CPU                           \
	{                             \
		MMT_ARG_CPU, 0, "cpu" \
	}
#define NODE                            \
	{                               \
		MMT_ARG_NODE, 0, "node" \
	}
#define ORDER                             \
	{                                 \
		MMT_ARG_ORDER, 0, "order" \
	}
#define GFP                           \
	{                             \
		MMT_ARG_GFP, 0, "gfp" \
	}
#define SIZE                            \
	{                               \
		MMT_ARG_SIZE, 0, "size" \
	}
#define COUNT(n)                    \
	{                           \
		MMT_ARG_COUNT, 0, n \
	}
#define FLAGS                                  \
	{                                      \
		MMT_ARG_SLAB_FLAGS, 0, "flags" \
	}
#define ENUM(e, n)                            \
	{                                     \
		MMT_ARG_ENUM, MMT_ENUM_##e, n \
	}
#define NUM(n)                    \
	{                         \
		MMT_ARG_NUM, 0, n \
	}

#define OP(code, kw, res, end, n, hlp, ...)          \
	[MMT_OP_##code] = { .name = kw,              \
			    .result = MMT_H_##res,   \
			    .ends = end,             \
			    .nargs = n,              \
			    .args = { __VA_ARGS__ }, \
			    .help = hlp }

static const struct mmt_op_info ops[MMT_NR_OPCODES] = {
	/* where and in what context */
	OP(CPU, "cpu", NONE, 0, 1,
	   "the next operations run on this CPU (online; the current CPU's context stack empty)",
	   CPU),
	OP(ENTER, "enter", NONE, 0, 1,
	   "push a context on this CPU: irq softirq bh_off preempt irqs_off raw_lock spin_lock rcu_read noio nofs memalloc mutex_a mutex_b",
	   ENUM(CONTEXT, "context")),
	OP(EXIT, "exit", NONE, 0, 0, "pop the innermost context of this CPU"),
	OP(SCHEDULE, "schedule", NONE, 0, 0,
	   "an explicit preemption point (cond_resched)"),
	OP(CPU_OFFLINE, "cpu_offline", NONE, 0, 1,
	   "take another CPU offline; its per-cpu lists are drained", CPU),
	OP(CPU_ONLINE, "cpu_online", NONE, 0, 1, "bring an offline CPU back",
	   CPU),
	/* page allocator */
	OP(ALLOC_PAGES, "alloc_pages", PAGE, 0, 2,
	   "2^order pages from this CPU's node", GFP, ORDER),
	OP(ALLOC_PAGES_NODE, "alloc_pages_node", PAGE, 0, 3,
	   "2^order pages, preferring a node", NODE, GFP, ORDER),
	OP(FREE_PAGES, "free_pages", NONE, 1, 1,
	   "free the pages with the order they were allocated with",
	   H(PAGE, "p")),
	OP(ALLOC_PAGES_BULK, "alloc_pages_bulk", PAGE_BULK, 0, 2,
	   "up to count order-0 pages at once", GFP, COUNT("count")),
	OP(FREE_PAGES_BULK, "free_pages_bulk", NONE, 1, 1,
	   "free every page of a bulk allocation", H(PAGE_BULK, "pb")),
	OP(DRAIN_LOCAL, "drain_local_pages", NONE, 0, 0,
	   "return this CPU's per-cpu pages to the buddy lists"),
	OP(DRAIN_ALL, "drain_all_pages", NONE, 0, 0,
	   "drain every CPU's per-cpu pages (may sleep)"),
	OP(ALLOC_PAGES_NOLOCK, "alloc_pages_nolock", PAGE, 0, 2,
	   "2^order zeroed pages by trylock only, in any context (NULL when a lock is busy)",
	   ORDER, NODE),
	OP(FREE_PAGES_NOLOCK, "free_pages_nolock", NONE, 1, 1,
	   "free the pages by trylock only, in any context (deferred when the locks are busy)",
	   H(PAGE, "p")),
	/* slab */
	OP(KMALLOC, "kmalloc", KMALLOC, 0, 2,
	   "an object of size bytes (above 8192: pages)", SIZE, GFP),
	OP(KMALLOC_NODE, "kmalloc_node", KMALLOC, 0, 3,
	   "kmalloc preferring a node", SIZE, GFP, NODE),
	OP(KFREE, "kfree", NONE, 1, 1, "free a kmalloc object",
	   H(KMALLOC, "o")),
	OP(KREALLOC, "krealloc", NONE, 0, 3,
	   "resize a kmalloc object; the handle follows the object",
	   H(KMALLOC, "o"), SIZE, GFP),
	OP(CACHE_CREATE, "kmem_cache_create", CACHE, 0, 2,
	   "a cache of size-byte objects (may sleep)", SIZE, FLAGS),
	OP(CACHE_DESTROY, "kmem_cache_destroy", NONE, 1, 1,
	   "destroy a cache with no live objects (may sleep)", H(CACHE, "c")),
	OP(CACHE_ALLOC, "kmem_cache_alloc", CACHE_OBJ, 0, 2,
	   "an object of the cache", H(CACHE, "c"), GFP),
	OP(CACHE_ALLOC_NODE, "kmem_cache_alloc_node", CACHE_OBJ, 0, 3,
	   "an object of the cache, preferring a node", H(CACHE, "c"), GFP,
	   NODE),
	OP(CACHE_FREE, "kmem_cache_free", NONE, 1, 1,
	   "free an object to its cache", H(CACHE_OBJ, "co")),
	OP(CACHE_ALLOC_BULK, "kmem_cache_alloc_bulk", CACHE_BULK, 0, 3,
	   "count objects of the cache, all or nothing", H(CACHE, "c"), GFP,
	   COUNT("count")),
	OP(CACHE_FREE_BULK, "kmem_cache_free_bulk", NONE, 1, 1,
	   "free a bulk allocation to its cache", H(CACHE_BULK, "cb")),
	OP(KFREE_BULK, "kfree_bulk", NONE, 1, 1,
	   "free a bulk allocation with kfree_bulk", H(CACHE_BULK, "cb")),
	OP(CACHE_SHRINK, "kmem_cache_shrink", NONE, 0, 1,
	   "give the cache's empty slabs back (may sleep)", H(CACHE, "c")),
	OP(CACHE_PREFILL_SHEAF, "kmem_cache_prefill_sheaf", SHEAF, 0, 3,
	   "a sheaf holding at least count objects of the cache (oversize above its capacity)",
	   H(CACHE, "c"), GFP, COUNT("count")),
	OP(CACHE_ALLOC_FROM_SHEAF, "kmem_cache_alloc_from_sheaf", CACHE_OBJ, 0,
	   2,
	   "an object of the sheaf's cache, from the sheaf (never fails while it holds one)",
	   H(SHEAF, "sh"), GFP),
	OP(CACHE_RETURN_SHEAF, "kmem_cache_return_sheaf", NONE, 1, 2,
	   "give the sheaf back: refilled into the barn, or flushed and freed",
	   H(SHEAF, "sh"), GFP),
	OP(KMALLOC_NOLOCK, "kmalloc_nolock", KMALLOC, 0, 2,
	   "an object of size bytes by trylock only, in any context (NULL above 8192 or when busy)",
	   SIZE, NODE),
	OP(KFREE_NOLOCK, "kfree_nolock", NONE, 1, 1,
	   "free a kmalloc object by trylock only, in any context (deferred when the cache is busy)",
	   H(KMALLOC, "o")),
	/* RCU */
	OP(KVFREE_RCU, "kvfree_rcu", NONE, 1, 1,
	   "free after a grace period, one-argument form (may sleep: synchronize_rcu fallback)",
	   H(KMALLOC, "o")),
	OP(KVFREE_RCU_HEAD, "kvfree_rcu_head", NONE, 1, 1,
	   "free after a grace period, rcu_head at the object's start (any context)",
	   H(KMALLOC, "o")),
	OP(GP_STEP, "gp_step", NONE, 0, 0,
	   "advance the grace-period machine one step from this CPU"),
	OP(SYNCHRONIZE_RCU, "synchronize_rcu", NONE, 0, 0,
	   "wait for a full grace period (may sleep)"),
	OP(RCU_BARRIER, "rcu_barrier", NONE, 0, 0,
	   "rcu_barrier + kvfree_rcu_barrier: wait for all queued before it (may sleep)"),
	/* cgroups */
	OP(CGROUP_CREATE, "cgroup_create", CGROUP, 0, 0,
	   "a memory cgroup (may sleep)"),
	OP(CGROUP_ENTER, "cgroup_enter", NONE, 0, 1,
	   "this CPU's task moves into the cgroup (may sleep)", H(CGROUP, "g")),
	OP(CGROUP_OFFLINE, "cgroup_offline", NONE, 1, 1,
	   "offline the cgroup; its tasks go back to the root (may sleep)",
	   H(CGROUP, "g")),
	/* mempool */
	OP(MEMPOOL_CREATE, "mempool_create", MEMPOOL, 0, 3,
	   "a pool of min elements: kmalloc(size), a size-byte slab cache, or pages of the order that holds size (may sleep)",
	   ENUM(POOL_KIND, "kind"), COUNT("min"), SIZE),
	OP(MEMPOOL_ALLOC, "mempool_alloc", ELEMENT, 0, 2,
	   "an element: allocator and pool in the machine's policy order",
	   H(MEMPOOL, "m"), GFP),
	OP(MEMPOOL_FREE, "mempool_free", NONE, 1, 1,
	   "free an element (refills the pool below min)", H(ELEMENT, "e")),
	OP(MEMPOOL_RESIZE, "mempool_resize", NONE, 0, 2,
	   "change the pool's min (may sleep)", H(MEMPOOL, "m"), COUNT("min")),
	OP(MEMPOOL_DESTROY, "mempool_destroy", NONE, 1, 1,
	   "destroy a pool with no element out (may sleep)", H(MEMPOOL, "m")),
	/* reserves, sockets, swap */
	OP(SWAPON, "swapon", SWAPFILE, 0, 0,
	   "a swap file on the machine's network mount; its socket becomes SOCK_MEMALLOC (may sleep)"),
	OP(SWAPOFF, "swapoff", NONE, 1, 1, "turn the swap file off (may sleep)",
	   H(SWAPFILE, "s")),
	OP(SOCK_MEMALLOC, "sock_memalloc", SOCKET, 0, 0,
	   "a socket with SOCK_MEMALLOC (may sleep)"),
	OP(SOCK_CLOSE, "sock_close", NONE, 1, 1,
	   "clear SOCK_MEMALLOC (if set) and close (may sleep)",
	   H(SOCKET, "sk")),
	OP(NET_RX, "net_rx", NONE, 0, 2,
	   "a packet of size bytes arrives for the socket (in a softirq, from the RX reserve); a pfmemalloc packet at a socket without SOCK_MEMALLOC is dropped",
	   H(SOCKET, "sk"), SIZE),
	OP(RESERVE_CREATE, "reserve_create", RESERVE, 0, 1,
	   "a reserve node of its own pages, detached until reserve_connect (may sleep)",
	   COUNT("pages")),
	OP(RESERVE_KMALLOC, "reserve_kmalloc", NONE, 0, 3,
	   "set the reserve to count kmalloc(size) objects (may sleep)",
	   H(RESERVE, "r"), SIZE, COUNT("count")),
	OP(RESERVE_CONNECT, "reserve_connect", NONE, 0, 1,
	   "connect the reserve under the root (may sleep)", H(RESERVE, "r")),
	OP(RESERVE_DISCONNECT, "reserve_disconnect", NONE, 0, 1,
	   "disconnect the reserve (may sleep)", H(RESERVE, "r")),
	OP(RESERVE_DESTROY, "reserve_destroy", NONE, 1, 1,
	   "destroy a reserve with no live charge (may sleep)",
	   H(RESERVE, "r")),
	OP(RESERVE_CHARGE, "reserve_charge", CHARGE, 0, 2,
	   "charge pages to the reserve (fails over its limit; any context)",
	   H(RESERVE, "r"), COUNT("pages")),
	OP(RESERVE_UNCHARGE, "reserve_uncharge", NONE, 1, 1,
	   "return a charge (any context)", H(CHARGE, "ch")),
	OP(SOCK_CREATE, "sock_create", SOCKET, 0, 0,
	   "an ordinary socket, without SOCK_MEMALLOC: no reserve rights (may sleep)"),
	OP(RESERVE_GROUP, "reserve_group", RESERVE_GROUP, 0, 0,
	   "an aggregate reserve node (pages: the sum of its connected reserves), detached until reserve_group_connect (may sleep)"),
	OP(RESERVE_CREATE_IN, "reserve_create_in", RESERVE, 0, 2,
	   "a reserve of its own pages in the group, connected in it; reserve_connect puts it back there (may sleep)",
	   H(RESERVE_GROUP, "rg"), COUNT("pages")),
	OP(RESERVE_GROUP_CONNECT, "reserve_group_connect", NONE, 0, 1,
	   "connect the group, and so its subtree, under its parent: the root, or the group it was made in (may sleep)",
	   H(RESERVE_GROUP, "rg")),
	OP(RESERVE_GROUP_DISCONNECT, "reserve_group_disconnect", NONE, 0, 1,
	   "disconnect the group's subtree from its parent (may sleep)",
	   H(RESERVE_GROUP, "rg")),
	OP(RESERVE_GROUP_DESTROY, "reserve_group_destroy", NONE, 1, 1,
	   "destroy a group with no live reserve or group in it (may sleep)",
	   H(RESERVE_GROUP, "rg")),
	OP(RESERVE_GROUP_IN, "reserve_group_in", RESERVE_GROUP, 0, 1,
	   "a reserve group nested in a group (an inner node of its subtree), connected in it; reserve_group_connect puts it back there (may sleep)",
	   H(RESERVE_GROUP, "rg")),
	/* memory pressure and reclaim */
	OP(LRU_ADD, "lru_add", NONE, 0, 2,
	   "map count user pages of a type: anon, clean file or dirty file (may sleep); the CPU's task maps them: the OOM killer's badness",
	   ENUM(LRU, "lru"), COUNT("count")),
	OP(LRU_UNMAP, "lru_unmap", NONE, 0, 2,
	   "unmap up to count user pages of a type (may sleep)",
	   ENUM(LRU, "lru"), COUNT("count")),
	OP(KSWAPD, "kswapd", NONE, 0, 1,
	   "one kswapd balancing pass over the node, run here (may sleep)",
	   NODE),
	OP(SHRINK_ALL, "shrink_all", NONE, 0, 0,
	   "kmem_cache_shrink every cache (may sleep)"),
	OP(SHRINKER_REGISTER, "shrinker_register", SHRINKER, 0, 1,
	   "a filesystem-like shrinker: reclaim with __GFP_FS calls its scan, which takes the program mutex (may sleep)",
	   ENUM(MUTEX, "mutex")),
	OP(SHRINKER_UNREGISTER, "shrinker_unregister", NONE, 1, 1,
	   "unregister the shrinker (may sleep)", H(SHRINKER, "sr")),
	/* kernel threads */
	OP(KTHREAD_START, "kthread_start", KTHREAD, 0, 2,
	   "start a kernel thread on the node: kswapd disk dmcrypt loop netswap gp kvfree_rcu (concurrent programs; may sleep)",
	   ENUM(KTHREAD, "kthread"), NODE),
	OP(KTHREAD_STOP, "kthread_stop", NONE, 1, 1,
	   "stop the kernel thread and wait for it to exit (may sleep)",
	   H(KTHREAD, "k")),
	/* asynchronous interrupts */
	OP(INTERRUPT, "interrupt", NONE, 0, 1,
	   "an interrupt handler up to its exit: irq softirq; pending on this CPU from here, run when the schedule delivers it where interrupts are on (concurrent programs; nothing in it may sleep)",
	   ENUM(INTERRUPT, "context")),
	/*
	 * deliberate misuse: text only, written `misuse OP ...` (mmt/trace.h);
	 * each makes the API call a correct program never makes
	 */
	OP(FREE_PAGES_ORDER, "free_pages_order", NONE, 1, 2,
	   "free the pages with the order as written, not the one they were allocated with (free-wrong-order; at 11 or above bad-order)",
	   H(PAGE, "p"), NUM("order")),
	OP(FREE_PAGES_TAIL, "free_pages_tail", NONE, 0, 2,
	   "free_pages(page + pages, 0): a page inside the block, not its first (bad-page)",
	   H(PAGE, "p"), COUNT("pages")),
	OP(ALLOC_FREE_PAGES, "alloc_free_pages", NONE, 0, 3,
	   "alloc_pages_node with the node and order as written and a GFP mask that may carry unknown bits (bad-node, bad-order, gfp-unknown-bit); what it returns is freed",
	   NUM("node"), GFP, NUM("order")),
	OP(CACHE_CREATE_DESTROY, "kmem_cache_create_destroy", NONE, 0, 2,
	   "kmem_cache_create with the size as written, 0 or above 16384 too (slab-bad-argument); a cache it returns is destroyed",
	   NUM("size"), FLAGS),
	OP(CACHE_FREE_TO, "kmem_cache_free_to", NONE, 0, 2,
	   "kmem_cache_free(c, object of another cache) (slab-wrong-cache; the object stays allocated)",
	   H(CACHE, "c"), H(CACHE_OBJ, "co")),
	OP(KFREE_AT, "kfree_at", NONE, 0, 2,
	   "kfree(object + off), a pointer inside the object (slab-bad-pointer; the object stays allocated)",
	   H(KMALLOC, "o"), NUM("off")),
	OP(KVFREE_RCU_AT, "kvfree_rcu_at", NONE, 0, 2,
	   "kvfree_rcu(object + off), a pointer inside the object (kvfree-rcu-bad-pointer; the object stays allocated)",
	   H(KMALLOC, "o"), NUM("off")),
	OP(WRITE_PAGES, "write_pages", NONE, 0, 3,
	   "write count bytes at offset off of the block, allocated or freed (a write after free: page-poison)",
	   H(PAGE, "p"), NUM("off"), COUNT("count")),
	OP(WRITE_CACHE_OBJ, "write_cache_object", NONE, 0, 3,
	   "write count bytes at offset off of the object, allocated or freed, past its end too (slab-poison, slab-redzone, slab-freeptr)",
	   H(CACHE_OBJ, "co"), NUM("off"), COUNT("count")),
	OP(WRITE_ELEMENT, "write_element", NONE, 0, 3,
	   "write count bytes at offset off of a mempool element, given back to its pool too (mempool-poison)",
	   H(ELEMENT, "e"), NUM("off"), COUNT("count")),
	OP(EXIT_CONTEXT, "exit_context", NONE, 0, 1,
	   "the exit primitive of a context this CPU did not enter: preempt_enable, rcu_read_unlock, spin_unlock, mutex_unlock, ... (context-imbalance, rcu-imbalance, unlock-not-held)",
	   ENUM(CONTEXT, "context")),
	OP(CPU_OFFLINE_ANY, "cpu_offline_any", NONE, 0, 1,
	   "cpu_offline with the CPU number as written (bad-cpu)", NUM("cpu")),
	OP(LOCK_UNINITIALIZED, "lock_uninitialized", NONE, 0, 0,
	   "spin_lock and spin_unlock of a spinlock never initialized (lock-misuse)"),
	OP(KSWAPD_ANY, "kswapd_any", NONE, 0, 1,
	   "kswapd's balancing pass with the node number as written (bad-argument)",
	   NUM("node")),
};

#undef H
#undef CPU
#undef NODE
#undef ORDER
#undef GFP
#undef SIZE
#undef COUNT
#undef FLAGS
#undef ENUM
#undef NUM
#undef OP

const struct mmt_op_info *mmt_op_info(enum mmt_opcode op)
{
	return (unsigned int)op < MMT_NR_OPCODES ? &ops[op] : NULL;
}

int _mmt_trace_op_lookup(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < MMT_NR_OPCODES; i++)
		if (strlen(ops[i].name) == len &&
		    !memcmp(ops[i].name, name, len))
			return (int)i;
	return -1;
}

/* ---- the machine header ---- */

void mmt_trace_header_default(struct mmt_trace_header *h)
{
	/*
	 * Small enough that pressure is a few hundred operations away, and
	 * exactly what the binary header's defaults can say (normal 1024 is
	 * 256 << 2; dma32 is always 64 there), so that a default text
	 * header survives the trip through the binary form.
	 */
	memset(h, 0, sizeof(*h));
	h->nr_nodes = 1;
	h->nr_cpus = 2;
	h->normal_pages = 1024;
	h->dma32_pages = 64;
	h->slab = MMT_SLAB_SLUB;
	h->mempool = MMT_MEMPOOL_NO_RECLAIM;
	h->throttle = MMT_THROTTLE_VM_WRITEOUT;
	h->rt_rules = false;
	h->up = false;
	h->kvfree_rcu_fast_try = false;
	h->oracle_level = 1;
	h->bugs = 0;
}

void mmt_trace_header_config(const struct mmt_trace_header *h,
			     struct mmt_config *cfg)
{
	mmt_config_default(cfg);
	cfg->nr_nodes = h->nr_nodes;
	cfg->nr_cpus = h->nr_cpus;
	cfg->normal_pages = h->normal_pages;
	cfg->dma32_pages = h->dma32_pages;
	cfg->slab = h->slab;
	cfg->mempool_policy = h->mempool;
	cfg->throttle = h->throttle;
	cfg->rt_rules = h->rt_rules;
	cfg->up = h->up;
	cfg->kvfree_rcu_fast_try = h->kvfree_rcu_fast_try;
	cfg->bugs = h->bugs;
}

/* ---- programs ---- */

void mmt_program_init(struct mmt_program *p)
{
	memset(p, 0, sizeof(*p));
	mmt_trace_header_default(&p->hdr);
}

void mmt_program_free(struct mmt_program *p)
{
	free(p->ops);
	free(p->sched.decisions);
	mmt_program_init(p);
}

bool mmt_program_set_decisions(struct mmt_program *p, const uint16_t *d,
			       size_t n)
{
	uint16_t *v = NULL;

	if (n > MMT_TRACE_MAX_DECISIONS)
		return false;
	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return false;
		memcpy(v, d, n * sizeof(*v));
	}
	free(p->sched.decisions);
	p->sched.decisions = v;
	p->sched.nr_decisions = (uint32_t)n;
	return true;
}

/* ---- schedule sources ---- */

static const char *const sched_names[MMT_NR_SCHED_SOURCES] = {
	[MMT_SCHED_SEQ] = "seq", [MMT_SCHED_INPUT] = "input",
	[MMT_SCHED_PCT] = "pct", [MMT_SCHED_RANDOM] = "random",
	[MMT_SCHED_RR] = "rr",
};

const char *mmt_sched_source_name(enum mmt_trace_sched_source s)
{
	return (unsigned int)s < MMT_NR_SCHED_SOURCES ? sched_names[s] : "?";
}

int _mmt_sched_source_lookup(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < MMT_NR_SCHED_SOURCES; i++)
		if (strlen(sched_names[i]) == len &&
		    !memcmp(sched_names[i], name, len))
			return (int)i;
	return -1;
}

void _mmt_trace_sched_canon(struct mmt_trace_schedule *s)
{
	if (s->source >= MMT_NR_SCHED_SOURCES)
		s->source = MMT_SCHED_SEQ;
	if (s->source != MMT_SCHED_PCT) {
		s->pct_depth = 0;
		s->pct_steps = 0;
	} else if (s->pct_depth < 1 || s->pct_depth > MMT_TRACE_PCT_MAX_DEPTH) {
		s->pct_depth = MMT_TRACE_PCT_DEFAULT_DEPTH;
	}
	if (s->source != MMT_SCHED_PCT && s->source != MMT_SCHED_RANDOM)
		s->seed = 0;
	if (s->source == MMT_SCHED_SEQ) {
		free(s->decisions);
		s->decisions = NULL;
		s->nr_decisions = 0;
	}
}

bool mmt_program_append(struct mmt_program *p, const struct mmt_op *op)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);

	if (p->nr_ops >= MMT_TRACE_MAX_OPS)
		return false;
	if (p->nr_ops == p->cap) {
		/* Doubling: a decode of N operations makes log2(N) calls. */
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct mmt_op *n;

		if (cap > MMT_TRACE_MAX_OPS)
			cap = MMT_TRACE_MAX_OPS;
		n = realloc(p->ops, cap * sizeof(*n));
		if (!n)
			return false;
		p->ops = n;
		p->cap = cap;
	}
	p->ops[p->nr_ops++] = *op;
	if (info && info->result)
		p->nr_handles[info->result]++;
	return true;
}

static bool header_equal(const struct mmt_trace_header *a,
			 const struct mmt_trace_header *b)
{
	return a->nr_nodes == b->nr_nodes && a->nr_cpus == b->nr_cpus &&
	       a->normal_pages == b->normal_pages &&
	       a->dma32_pages == b->dma32_pages && a->slab == b->slab &&
	       a->mempool == b->mempool && a->rt_rules == b->rt_rules &&
	       a->up == b->up &&
	       a->kvfree_rcu_fast_try == b->kvfree_rcu_fast_try &&
	       a->oracle_level == b->oracle_level && a->bugs == b->bugs;
}

static bool sched_equal(const struct mmt_trace_schedule *a,
			const struct mmt_trace_schedule *b)
{
	return a->source == b->source && a->pct_depth == b->pct_depth &&
	       a->pct_steps == b->pct_steps && a->seed == b->seed &&
	       a->nr_decisions == b->nr_decisions &&
	       (!a->nr_decisions ||
		!memcmp(a->decisions, b->decisions,
			a->nr_decisions * sizeof(a->decisions[0])));
}

bool mmt_program_equal(const struct mmt_program *a, const struct mmt_program *b)
{
	size_t i;
	int k;

	if (!header_equal(&a->hdr, &b->hdr) || a->nr_ops != b->nr_ops ||
	    !sched_equal(&a->sched, &b->sched))
		return false;
	for (i = 0; i < a->nr_ops; i++) {
		if (a->ops[i].code != b->ops[i].code)
			return false;
		for (k = 0; k < MMT_TRACE_MAX_ARGS; k++)
			if (a->ops[i].arg[k] != b->ops[i].arg[k])
				return false;
	}
	return true;
}
