/* SPDX-License-Identifier: MIT */
/*
 * alloc/machine.c - the simulated machine: memory layout, CPUs, tasks and
 * the execution context of each CPU.
 *
 * What it models: a NUMA machine of 1..8 nodes, each with a small DMA32-like
 * zone and a NORMAL zone, 1..256 CPUs spread in blocks over the nodes (or
 * placed by the config's cpu_node map, from a topology), page
 * frames of 4 KiB backed by one mmap()ed arena, and a descriptor per frame.
 *
 * Layout: zones are laid out node by node, each starting at a pfn aligned to
 * the largest buddy block (2^(MMT_MAX_ORDER-1) pages) so that buddy
 * arithmetic (pfn ^ (1 << order)) never crosses into another zone; the gap
 * up to the next aligned start is a hole of reserved frames that belong to
 * no zone.  The arena is MAP_NORESERVE: frames never touched cost nothing.
 * The arena is not written at creation and of the descriptors only a few
 * block heads per zone are (an all-zero descriptor is a free frame of its
 * zone: internal.h; page_alloc.c links the other blocks lazily), and a
 * machine torn down clean zeroes what it touched and leaves both mappings
 * to the next machine (map_get/map_put): creating and destroying a
 * machine costs what it touched, never its size.
 *
 * Context: the thread on a CPU is recorded in cpu->owner (an atomic token,
 * acquired with compare-exchange so two threads can never be on one CPU);
 * the per-thread pointer _mmt_this_cpu is the model's smp_processor_id().
 * preempt_count follows the kernel's layout (preempt, softirq, hardirq
 * fields).  Only the thread on a CPU touches its context, so context fields
 * are plain; the owner token's acquire/release orders them across a
 * migration or a detach/attach pair.
 *
 * Invariants: a CPU has at most one thread; a task is on at most one CPU; a
 * thread leaves a CPU only in preemptible process context with no lock held.
 *
 * Locks: none of the model's; tasks_mu (pthread) guards the task list.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

_Thread_local struct mmt_cpu *_mmt_this_cpu;

/* A token per thread: the address of a thread-local. */
static _Thread_local char thread_token;

void _mmt_assert_fail(const char *expr, const char *site)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;

	fprintf(stderr, "mmtorture: internal assertion failed: %s at %s\n",
		expr, site);
	if (cpu)
		_mmt_machine_dump_to(cpu->m, stderr);
	abort();
}

void mmt_config_default(struct mmt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_nodes = 1;
	cfg->nr_cpus = 2;
	cfg->dma32_pages = 1024;
	cfg->normal_pages = 65536;
	cfg->min_free_kbytes = 0;
	cfg->watermark_scale_factor = 10;
	cfg->lowmem_reserve_ratio = 256;
	cfg->rt_rules = false;
	cfg->prove_raw_lock_nesting = false;
	cfg->page_poison = MMT_DEBUG >= 2;
	cfg->lockdep = true;
	cfg->bugs = 0;
	cfg->max_violations = 64;
	cfg->slab = MMT_SLAB_SLUB;
	cfg->slab_debug = false;
	cfg->kvfree_rcu_fast_try = false;
	cfg->mempool_policy = MMT_MEMPOOL_NO_RECLAIM;
	cfg->throttle = MMT_THROTTLE_VM_WRITEOUT;
	cfg->stall_jiffies = 60 * 100; /* a minute of model time */
	cfg->wait_real_ms = 20000;
}

static bool distances_given(const struct mmt_config *cfg)
{
	/* Every machine creation validates: a word-wide scan. */
	return _mmt_mem_first_not(cfg->node_distance, 0,
				  sizeof(cfg->node_distance)) !=
	       sizeof(cfg->node_distance);
}

/* The CPU-to-node map and the distance matrix (struct mmt_config). */
static bool validate_numa(const struct mmt_config *cfg, char *err,
			  size_t errlen)
{
	int a, b;

	if (cfg->cpu_node_map) {
		for (a = 0; a < cfg->nr_cpus; a++) {
			if (cfg->cpu_node[a] < cfg->nr_nodes)
				continue;
			snprintf(err, errlen,
				 "cpu_node[%d]: node %u is out of range 0..%d",
				 a, cfg->cpu_node[a], cfg->nr_nodes - 1);
			return false;
		}
	}
	if (!distances_given(cfg))
		return true;
	for (a = 0; a < MMT_MAX_NODES; a++) {
		for (b = 0; b < MMT_MAX_NODES; b++) {
			unsigned int d = cfg->node_distance[a][b];

			if (a >= cfg->nr_nodes || b >= cfg->nr_nodes) {
				if (!d)
					continue;
				snprintf(
					err, errlen,
					"node_distance[%d][%d]: %u set beyond the %d node(s)",
					a, b, d, cfg->nr_nodes);
				return false;
			}
			if (a == b && d != MMT_LOCAL_DISTANCE) {
				snprintf(
					err, errlen,
					"node_distance[%d][%d]: %u, the local distance must be %d",
					a, b, d, MMT_LOCAL_DISTANCE);
				return false;
			}
			if (a != b &&
			    (d <= MMT_LOCAL_DISTANCE || d > MMT_MAX_DISTANCE)) {
				snprintf(
					err, errlen,
					"node_distance[%d][%d]: %u is out of range %d..%d for a remote node",
					a, b, d, MMT_LOCAL_DISTANCE + 1,
					MMT_MAX_DISTANCE);
				return false;
			}
		}
	}
	return true;
}

#define MMT_MAX_TOTAL_PAGES (4ul << 20) /* 16 GiB simulated */
#define MMT_MIN_ZONE_PAGES 16ul

bool mmt_config_validate(const struct mmt_config *cfg, char *err, size_t errlen)
{
	unsigned long total;

	if (cfg->nr_nodes < 1 || cfg->nr_nodes > MMT_MAX_NODES) {
		snprintf(err, errlen, "nr_nodes: %d is out of range 1..%d",
			 cfg->nr_nodes, MMT_MAX_NODES);
		return false;
	}
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > MMT_MAX_CPUS) {
		snprintf(err, errlen, "nr_cpus: %d is out of range 1..%d",
			 cfg->nr_cpus, MMT_MAX_CPUS);
		return false;
	}
	if (cfg->up && cfg->nr_cpus != 1) {
		snprintf(err, errlen,
			 "up: a uniprocessor build (SMP=n) has one cpu, not %d",
			 cfg->nr_cpus);
		return false;
	}
	if (cfg->normal_pages < MMT_MIN_ZONE_PAGES) {
		snprintf(err, errlen,
			 "normal_pages: %lu is below the minimum %lu",
			 cfg->normal_pages, MMT_MIN_ZONE_PAGES);
		return false;
	}
	if (cfg->dma32_pages && cfg->dma32_pages < MMT_MIN_ZONE_PAGES) {
		snprintf(
			err, errlen,
			"dma32_pages: %lu is below the minimum %lu (or 0 for no DMA32 zone)",
			cfg->dma32_pages, MMT_MIN_ZONE_PAGES);
		return false;
	}
	total = (cfg->normal_pages + cfg->dma32_pages) *
		(unsigned long)cfg->nr_nodes;
	if (cfg->normal_pages > MMT_MAX_TOTAL_PAGES ||
	    cfg->dma32_pages > MMT_MAX_TOTAL_PAGES ||
	    total > MMT_MAX_TOTAL_PAGES) {
		snprintf(err, errlen,
			 "memory: %lu pages in all exceeds the maximum %lu",
			 total, MMT_MAX_TOTAL_PAGES);
		return false;
	}
	if (cfg->watermark_scale_factor < 1 ||
	    cfg->watermark_scale_factor > 3000) {
		snprintf(err, errlen,
			 "watermark_scale_factor: %u is out of range 1..3000",
			 cfg->watermark_scale_factor);
		return false;
	}
	if (cfg->lowmem_reserve_ratio < 1) {
		snprintf(err, errlen, "lowmem_reserve_ratio: must be >= 1");
		return false;
	}
	if (cfg->pcp_batch < 0 || cfg->pcp_batch > 4096 || cfg->pcp_high < 0 ||
	    cfg->pcp_high > 65536) {
		snprintf(
			err, errlen,
			"pcp_batch/pcp_high: %d/%d out of range 0..4096/0..65536",
			cfg->pcp_batch, cfg->pcp_high);
		return false;
	}
	if (cfg->pcp_high && cfg->pcp_batch && cfg->pcp_high < cfg->pcp_batch) {
		snprintf(err, errlen, "pcp_high: %d is below pcp_batch %d",
			 cfg->pcp_high, cfg->pcp_batch);
		return false;
	}
	if (cfg->bugs >> MMT_NR_BUGS) {
		snprintf(
			err, errlen,
			"bugs: mask 0x%llx names bugs this build does not know",
			(unsigned long long)cfg->bugs);
		return false;
	}
	if ((unsigned int)cfg->slab >= MMT_NR_SLAB_IMPLS) {
		snprintf(err, errlen,
			 "slab: %d is not an implementation (0 slub, 1 slab)",
			 (int)cfg->slab);
		return false;
	}
	if ((unsigned int)cfg->throttle >= MMT_NR_THROTTLE_POLICIES) {
		snprintf(err, errlen, "throttle: %d is not a throttle policy",
			 (int)cfg->throttle);
		return false;
	}
	if ((unsigned int)cfg->mempool_policy >= MMT_NR_MEMPOOL_POLICIES) {
		snprintf(err, errlen, "mempool_policy: %d is not a policy",
			 (int)cfg->mempool_policy);
		return false;
	}
	if (cfg->stall_jiffies < 1 || cfg->wait_real_ms < 1) {
		snprintf(err, errlen,
			 "stall_jiffies/wait_real_ms: must be >= 1");
		return false;
	}
	if (cfg->max_violations < 1 || cfg->max_violations > 100000) {
		snprintf(err, errlen,
			 "max_violations: %u out of range 1..100000",
			 cfg->max_violations);
		return false;
	}
	return validate_numa(cfg, err, errlen);
}

/*
 * Mappings kept for the next machine: the descriptor array and the arena.
 * A new machine needs both all zero; a fresh anonymous mapping gives that,
 * but every page of it a machine writes then costs a fault to map and a
 * zap to unmap, which dominates creating and destroying a machine (tens of
 * microseconds a page under some hypervisors).  A machine torn down
 * without a violation (nothing wrote where its allocations did not reach)
 * zeroes instead what it touched - the descriptors of the frames its
 * allocations reached (_mmt_pfn_used_range) and the memory of the frames
 * it handed out (struct mmt_page.touched) - and leaves both mappings here;
 * the next machine that fits takes them.  So the cost of a machine follows
 * what it touched, never its size.  A few of each, under a host mutex:
 * machines come and go on any thread.
 */
#define MAP_CACHE 8

struct map_cache {
	void *p[MAP_CACHE];
	size_t size[MAP_CACHE];
};

static pthread_mutex_t maps_mu = PTHREAD_MUTEX_INITIALIZER;
static struct map_cache descs_cache, arena_cache;

/* A zero-filled mapping of at least @need bytes; its size in @size. */
static void *map_get(struct map_cache *c, size_t need, size_t *size)
{
	void *p = NULL;
	int i, best = -1;

	pthread_mutex_lock(&maps_mu);
	for (i = 0; i < MAP_CACHE; i++)
		if (c->p[i] && c->size[i] >= need &&
		    (best < 0 || c->size[i] < c->size[best]))
			best = i;
	if (best >= 0) {
		p = c->p[best];
		*size = c->size[best];
		c->p[best] = NULL;
	}
	pthread_mutex_unlock(&maps_mu);
	if (p)
		return p;
	*size = need;
	p = mmap(NULL, need, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Keep the all-zero mapping @p for a later machine, or unmap it. */
static void map_put(struct map_cache *c, void *p, size_t size, bool keep)
{
	int i;

	if (!p)
		return;
	if (keep) {
		pthread_mutex_lock(&maps_mu);
		for (i = 0; i < MAP_CACHE && p; i++)
			if (!c->p[i]) {
				c->p[i] = p;
				c->size[i] = size;
				p = NULL;
			}
		pthread_mutex_unlock(&maps_mu);
	}
	if (p)
		munmap(p, size);
}

/* Zero what the machine touched and give its mappings back. */
static void maps_put(struct mmt_machine *m)
{
	unsigned long pfn, start, end;
	bool keep = m->zones && m->pages && m->arena && !mmt_violation_count(m);

	for (pfn = 0; keep && _mmt_pfn_used_range(m, pfn, &start, &end);
	     pfn = end) {
		for (pfn = start; pfn < end; pfn++)
			if (m->pages[pfn].touched)
				memset((char *)m->arena +
					       (pfn << MMT_PAGE_SHIFT),
				       0, MMT_PAGE_SIZE);
		memset(&m->pages[start], 0,
		       (end - start) * sizeof(struct mmt_page));
	}
	map_put(&descs_cache, m->pages, m->pages_size, keep);
	map_put(&arena_cache, m->arena, m->arena_map_size, keep);
	m->pages = NULL;
	m->arena = NULL;
}

static unsigned long align_up(unsigned long x, unsigned long a)
{
	return (x + a - 1) & ~(a - 1);
}

static bool layout(struct mmt_machine *m)
{
	const unsigned long block = 1ul << (MMT_MAX_ORDER - 1);
	unsigned long pfn = 0;
	int nid, t, z = 0;

	m->nr_zones = 0;
	for (nid = 0; nid < m->nr_nodes; nid++)
		m->nr_zones += (m->cfg.dma32_pages ? 1 : 0) + 1;
	m->zones = calloc((size_t)m->nr_zones, sizeof(*m->zones));
	if (!m->zones)
		return false;
	for (nid = 0; nid < m->nr_nodes; nid++) {
		m->nodes[nid].nid = nid;
		for (t = 0; t < MMT_NR_ZONE_TYPES; t++) {
			unsigned long n = t == MMT_ZONE_DMA32 ?
						  m->cfg.dma32_pages :
						  m->cfg.normal_pages;
			struct mmt_zone *zone;

			m->nodes[nid].zone_ids[t] = -1;
			if (!n)
				continue;
			zone = &m->zones[z];
			zone->m = m;
			zone->id = z;
			zone->nid = nid;
			zone->type = (enum mmt_zone_type)t;
			zone->name = t == MMT_ZONE_DMA32 ? "DMA32" : "Normal";
			zone->start_pfn = pfn;
			zone->spanned = n;
			zone->managed = n;
			m->nodes[nid].zone_ids[t] = z;
			pfn = align_up(pfn + n, block);
			z++;
		}
	}
	m->nr_pages = pfn;
	return true;
}

struct mmt_machine *mmt_machine_create(const struct mmt_config *cfg, char *err,
				       size_t errlen)
{
	struct mmt_machine *m;
	int i;

	if (!mmt_config_validate(cfg, err, errlen))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->cfg = *cfg;
	m->bugs = cfg->bugs;
	m->nr_nodes = cfg->nr_nodes;
	m->nr_cpus = cfg->nr_cpus;
	pthread_mutex_init(&m->tasks_mu, NULL);
	pthread_mutex_init(&m->viol_mu, NULL);
	_mmt_lockdep_init(&m->lockdep);
	_mmt_fs_reclaim_init(m);
	m->viol = calloc(cfg->max_violations, sizeof(*m->viol));
	if (!m->viol || !layout(m))
		goto nomem;

	/* Both start all zero: descriptors mean "free" that way. */
	m->arena_size = m->nr_pages << MMT_PAGE_SHIFT;
	m->arena = map_get(&arena_cache, m->arena_size, &m->arena_map_size);
	m->pages = map_get(&descs_cache, m->nr_pages * sizeof(struct mmt_page),
			   &m->pages_size);
	if (!m->arena || !m->pages)
		goto nomem;

	m->cpus = calloc((size_t)m->nr_cpus, sizeof(*m->cpus));
	if (!m->cpus)
		goto nomem;
	for (i = 0; i < m->nr_cpus; i++) {
		struct mmt_cpu *cpu = &m->cpus[i];

		cpu->m = m;
		cpu->id = i;
		/*
		 * The topology's map, or blocks of CPUs per node, like a
		 * BIOS enumerating sockets.
		 */
		if (cfg->cpu_node_map)
			cpu->nid = cfg->cpu_node[i];
		else
			cpu->nid = (int)((long)i * m->nr_nodes / m->nr_cpus);
		atomic_init(&cpu->online, true);
		atomic_init(&cpu->owner, NULL);
	}
	if (_mmt_page_alloc_init(m, err, errlen) ||
	    _mmt_sched_init(m, err, errlen) || _mmt_rcu_init(m, err, errlen) ||
	    _mmt_slab_init(m, err, errlen) || _mmt_memcg_init(m, err, errlen) ||
	    _mmt_mempool_init(m, err, errlen) ||
	    _mmt_reserve_init(m, err, errlen) ||
	    _mmt_reclaim_init(m, err, errlen)) {
		mmt_machine_destroy(m);
		return NULL;
	}
	return m;
nomem:
	snprintf(err, errlen, "out of host memory creating the machine");
	mmt_machine_destroy(m);
	return NULL;
}

void mmt_machine_abandoned(struct mmt_machine *m)
{
	if (m)
		m->abandoned = true;
}

/*
 * Locks held by the tasks of an abandoned run are dead: release their
 * words (a nested hold has none) and empty the held stacks.  Release pairs
 * with the acquire of the next taker's compare-exchange, as an unlock.
 */
static void release_dead_locks(struct mmt_machine *m)
{
	struct mmt_task *t;
	int i;

	for (t = m->tasks; t; t = t->next_all) {
		for (i = 0; i < t->nr_held && i < MMT_MAX_HELD_LOCKS; i++)
			if (!t->held[i].nested && t->held[i].lock) {
				atomic_store_explicit(&t->held[i].lock->owner_cpu,
						      -1, memory_order_relaxed);
				atomic_store_explicit(&t->held[i].lock->locked,
						      0, memory_order_release);
			}
		t->nr_held = 0;
	}
}

void mmt_machine_destroy(struct mmt_machine *m)
{
	struct mmt_task *t, *next;
	unsigned long i;

	if (!m)
		return;
	if (m->abandoned)
		release_dead_locks(m);
	if (_mmt_this_cpu && _mmt_this_cpu->m == m)
		MMT_TLS_SET(_mmt_this_cpu, NULL);
	/* Kernel threads first, as _mmt_reclaim_destroy() stops kswapd. */
	if (m->rcu) {
		mmt_rcu_gp_kthread_stop(m);
		mmt_kvfree_rcu_worker_stop(m);
	}
	_mmt_reclaim_destroy(m);
	_mmt_reserve_destroy(m);
	_mmt_mempool_destroy(m);
	_mmt_memcg_destroy(m);
	_mmt_slab_destroy(m);
	_mmt_rcu_destroy(m);
	_mmt_sched_destroy(m);
	_mmt_page_alloc_destroy(m);
	for (t = m->tasks; t; t = next) {
		next = t->next_all;
		_mmt_mm_put(t->mm);
		free(t);
	}
	maps_put(m);
	for (i = 0; m->viol && i < m->nr_kept; i++)
		free(m->viol[i].dump);
	if (m->nr_causes)
		free(m->cause.dump);
	free(m->viol);
	free(m->cpus);
	free(m->zones);
	_mmt_lockdep_destroy(&m->lockdep);
	pthread_mutex_destroy(&m->tasks_mu);
	pthread_mutex_destroy(&m->viol_mu);
	free(m);
}

const struct mmt_config *mmt_machine_config(const struct mmt_machine *m)
{
	return &m->cfg;
}

void mmt_machine_set_hooks(struct mmt_machine *m,
			   const struct mmt_page_hooks *h)
{
	if (h)
		m->hooks = *h;
	else
		memset(&m->hooks, 0, sizeof(m->hooks));
}

void mmt_machine_set_page_observer(struct mmt_machine *m,
				   const struct mmt_page_observer *o)
{
	if (o && o->enter && o->take && o->exit)
		m->pobs = *o;
	else
		memset(&m->pobs, 0, sizeof(m->pobs));
}

void mmt_machine_set_sched_hook(struct mmt_machine *m, mmt_sched_hook_fn fn,
				void *arg)
{
	m->sched_arg = arg;
	m->sched_hook = fn;
}

int mmt_nr_cpus(const struct mmt_machine *m)
{
	return m->nr_cpus;
}

int mmt_nr_nodes(const struct mmt_machine *m)
{
	return m->nr_nodes;
}

int mmt_node_distance(const struct mmt_machine *m, int a, int b)
{
	if (a < 0 || b < 0 || a >= m->nr_nodes || b >= m->nr_nodes)
		return -1;
	return _mmt_node_distance(m, a, b);
}

int mmt_cpu_to_node(const struct mmt_machine *m, int cpu)
{
	if (cpu < 0 || cpu >= m->nr_cpus)
		return -1;
	return m->cpus[cpu].nid;
}

/* ---- tasks ---- */

struct mmt_task *mmt_task_create(struct mmt_machine *m, const char *name,
				 unsigned int flags)
{
	struct mmt_task *t;

	if (flags & ~(unsigned int)MMT_PF_VALID_MASK) {
		mmt_violation(m, "bad-task-flags",
			      "task_create(%s): unknown flags 0x%x", name,
			      flags & ~(unsigned int)MMT_PF_VALID_MASK);
		flags &= MMT_PF_VALID_MASK;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->m = m;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "task");
	t->flags = flags;
	t->cpu = -1;
	pthread_mutex_lock(&m->tasks_mu);
	t->next_all = m->tasks;
	m->tasks = t;
	pthread_mutex_unlock(&m->tasks_mu);
	return t;
}

void mmt_task_destroy(struct mmt_task *t)
{
	struct mmt_machine *m;
	struct mmt_task **pp;

	if (!t)
		return;
	m = t->m;
	if (t->cpu >= 0) {
		mmt_violation(m, "task-on-cpu",
			      "task_destroy(%s): the task is still on cpu %d",
			      t->name, t->cpu);
		return;
	}
	pthread_mutex_lock(&m->tasks_mu);
	for (pp = &m->tasks; *pp; pp = &(*pp)->next_all) {
		if (*pp == t) {
			*pp = t->next_all;
			break;
		}
	}
	pthread_mutex_unlock(&m->tasks_mu);
	/* Its pages still on the LRU stay there, nobody's to kill. */
	_mmt_mm_put(t->mm);
	free(t);
}

const char *mmt_task_name(const struct mmt_task *t)
{
	return t->name;
}

/* ---- CPUs ---- */

void _mmt_no_cpu(const char *site)
{
	/*
	 * There is no machine to record this in: the caller (a harness,
	 * never a fuzzed program) forgot mmt_cpu_attach().
	 */
	fprintf(stderr,
		"mmtorture: model API called at %s by a thread that is on no "
		"simulated CPU (call mmt_cpu_attach() first)\n",
		site);
	abort();
}

bool mmt_cpu_attach(struct mmt_machine *m, int cpuid, struct mmt_task *task)
{
	struct mmt_cpu *cpu;

	if (cpuid < 0 || cpuid >= m->nr_cpus)
		return mmt_violation(m, "bad-cpu",
				     "cpu_attach(%d): no such cpu (0..%d)",
				     cpuid, m->nr_cpus - 1);
	if (!task || task->m != m)
		return mmt_violation(m, "bad-task",
				     "cpu_attach(%d): task of another machine",
				     cpuid);
	if (_mmt_this_cpu)
		return mmt_violation(
			m, "cpu-busy",
			"cpu_attach(%d): this thread is already on cpu %d",
			cpuid, _mmt_this_cpu->id);
	if (task->cpu >= 0)
		return mmt_violation(
			m, "cpu-busy",
			"cpu_attach(%d): task %s is already on cpu %d", cpuid,
			task->name, task->cpu);
	cpu = &m->cpus[cpuid];
	if (!atomic_load_explicit(&cpu->online, memory_order_acquire))
		return mmt_violation(m, "cpu-offline",
				     "cpu_attach(%d): the cpu is offline",
				     cpuid);
	if (!_mmt_cpu_try_attach(m, cpuid, task))
		return mmt_violation(
			m, "cpu-busy",
			"cpu_attach(%d): another thread is on this cpu", cpuid);
	return true;
}

bool _mmt_cpu_try_attach(struct mmt_machine *m, int cpuid,
			 struct mmt_task *task)
{
	struct mmt_cpu *cpu = &m->cpus[cpuid];
	void *expected = NULL;

	if (!atomic_load_explicit(&cpu->online, memory_order_acquire))
		return false;
	/*
	 * Acquire pairs with the release in mmt_cpu_detach(): the previous
	 * thread's writes to this CPU's context and per-cpu data are visible.
	 */
	if (!atomic_compare_exchange_strong_explicit(
		    &cpu->owner, &expected, &thread_token, memory_order_acquire,
		    memory_order_relaxed))
		return false;
	cpu->curr = task;
	cpu->preempt_count = 0;
	cpu->irq_disable_depth = 0;
	task->cpu = cpuid;
	MMT_TLS_SET(_mmt_this_cpu, cpu);
	_mmt_sched_cpu_attached(m);
	return true;
}

static bool can_leave_cpu(struct mmt_cpu *cpu, const char *what)
{
	if (cpu->preempt_count || cpu->irq_disable_depth ||
	    _mmt_task_pinned_by_locks(cpu->curr))
		return mmt_violation(
			cpu->m, "leave-cpu-in-atomic",
			"%s on cpu %d with preempt_count 0x%x, irqs disabled %d, %d lock(s) held",
			what, cpu->id, cpu->preempt_count,
			cpu->irq_disable_depth, cpu->curr->nr_held);
	return true;
}

void mmt_cpu_detach(void)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);

	can_leave_cpu(cpu, "cpu_detach");
	cpu->curr->cpu = -1;
	cpu->curr = NULL;
	cpu->preempt_count = 0;
	cpu->irq_disable_depth = 0;
	MMT_TLS_SET(_mmt_this_cpu, NULL);
	/* Release pairs with the acquire in mmt_cpu_attach(). */
	atomic_store_explicit(&cpu->owner, NULL, memory_order_release);
	_mmt_sched_cpu_released(cpu->m);
}

bool mmt_migrate(int cpuid)
{
	struct mmt_cpu *cpu = _mmt_cpu_or_report(MMT_SITE);
	struct mmt_machine *m = cpu->m;
	struct mmt_task *task = cpu->curr;

	if (cpuid == cpu->id)
		return true;
	if (cpuid < 0 || cpuid >= m->nr_cpus)
		return mmt_violation(m, "bad-cpu",
				     "migrate(%d): no such cpu (0..%d)", cpuid,
				     m->nr_cpus - 1);
	if (!can_leave_cpu(cpu, "migrate"))
		return false;
	/* In transit the thread is not idle: no deadlock is declared. */
	_mmt_sched_away(m, 1);
	mmt_cpu_detach();
	if (mmt_cpu_attach(m, cpuid, task)) {
		_mmt_sched_away(m, -1);
		return true;
	}
	/* Could not move: go back where we were (it is free: we just left). */
	mmt_cpu_attach(m, cpu->id, task);
	_mmt_sched_away(m, -1);
	return false;
}

int mmt_smp_processor_id(void)
{
	return _mmt_this_cpu ? _mmt_this_cpu->id : -1;
}

struct mmt_machine *mmt_current_machine(void)
{
	return _mmt_this_cpu ? _mmt_this_cpu->m : NULL;
}

struct mmt_task *mmt_current_task(void)
{
	return _mmt_this_cpu ? _mmt_this_cpu->curr : NULL;
}

int mmt_numa_node_id(void)
{
	return _mmt_this_cpu ? _mmt_this_cpu->nid : -1;
}

/* ---- context ---- */

#define CPU() _mmt_cpu_or_report(MMT_SITE)

void mmt_preempt_disable(void)
{
	CPU()->preempt_count += MMT_PREEMPT_OFFSET;
}

void mmt_preempt_enable(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(!(cpu->preempt_count & MMT_PREEMPT_MASK))) {
		mmt_violation(cpu->m, "context-imbalance",
			      "preempt_enable on cpu %d with preempt count 0",
			      cpu->id);
		return;
	}
	cpu->preempt_count -= MMT_PREEMPT_OFFSET;
	if (!cpu->preempt_count)
		mmt_sched_point(cpu, MMT_SP_PREEMPT, NULL);
}

void mmt_local_irq_disable(void)
{
	CPU()->irq_disable_depth = 1;
}

void mmt_local_irq_enable(void)
{
	CPU()->irq_disable_depth = 0;
}

/*
 * The context-restore oracle.  Every save pushes what it found and who
 * saved; the restore of that kind pops the innermost one and, after the
 * primitive did its work, the state must be what that save found: a
 * restore with another save's value (scopes closed out of order), or a
 * primitive that restores something else, leaves it otherwise.  The state
 * is read afresh here, never taken from the restore's argument.
 */
static void save_push(struct mmt_saves *sv, struct mmt_machine *m,
		      unsigned int kind, unsigned int before,
		      const char *site)
{
	if (sv->nr < MMT_MAX_SAVES) {
		struct mmt_save *e = &sv->s[sv->nr];

		e->kind = (uint8_t)kind;
		e->before = before;
		e->site = site;
		e->op_index = __atomic_load_n(&m->op_index, __ATOMIC_RELAXED);
	}
	sv->nr++;
}

static const char *const save_names[] = {
	[MMT_SAVE_NOIO] = "memalloc_noio_save",
	[MMT_SAVE_NOFS] = "memalloc_nofs_save",
	[MMT_SAVE_MEMALLOC] = "memalloc_noreclaim_save",
	[MMT_SAVE_IRQ] = "local_irq_save",
};

static MMT_COLD void report_restore(struct mmt_machine *m,
				    const struct mmt_save *e,
				    unsigned int now, const char *site)
{
	const char *name = save_names[e->kind];

	mmt_violation(
		m, "context-restore",
		"the restore closing %s()%s%s left the state 0x%x, but the save it closes (at %s, operation #%llu) found 0x%x: %s",
		name, site ? " at " : "", site ? site : "", now,
		e->site ? e->site : "a caller of the API",
		(unsigned long long)e->op_index, e->before,
		"restored with another save's value (scopes closed out of order), or not restored to what was saved");
}

static void save_pop(struct mmt_saves *sv, struct mmt_machine *m,
		     unsigned int kind, unsigned int now, const char *site)
{
	int i, top = sv->nr < MMT_MAX_SAVES ? sv->nr : MMT_MAX_SAVES;

	if (sv->nr > MMT_MAX_SAVES) {
		sv->nr--; /* an untracked one: nothing to check */
		return;
	}
	for (i = top - 1; i >= 0; i--)
		if (sv->s[i].kind == kind)
			break;
	if (i < 0) {
		mmt_violation(m, "context-restore",
			      "a restore of %s()%s%s with no save of it open",
			      save_names[kind], site ? " at " : "",
			      site ? site : "");
		return;
	}
	if (MMT_UNLIKELY(sv->s[i].before != now))
		report_restore(m, &sv->s[i], now, site);
	for (; i + 1 < top; i++)
		sv->s[i] = sv->s[i + 1];
	sv->nr--;
}

unsigned long mmt_local_irq_save(void)
{
	struct mmt_cpu *cpu = CPU();
	unsigned long flags = (unsigned long)cpu->irq_disable_depth;

	save_push(&cpu->irq_saves, cpu->m, MMT_SAVE_IRQ,
		  (unsigned int)cpu->irq_disable_depth, NULL);
	cpu->irq_disable_depth = 1;
	return flags;
}

void mmt_local_irq_restore(unsigned long flags)
{
	struct mmt_cpu *cpu = CPU();

	cpu->irq_disable_depth = (int)flags;
	save_pop(&cpu->irq_saves, cpu->m, MMT_SAVE_IRQ,
		 (unsigned int)cpu->irq_disable_depth, NULL);
}

void mmt_irq_enter(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(cpu->irq_disable_depth)) {
		/* An interrupt cannot arrive while they are disabled. */
		mmt_violation(cpu->m, "context-imbalance",
			      "irq_enter on cpu %d with interrupts disabled",
			      cpu->id);
		return;
	}
	cpu->preempt_count += MMT_HARDIRQ_OFFSET;
	cpu->irq_disable_depth = 1; /* handlers run with irqs off */
	cpu->nolock_saved[0] = cpu->nolock_depth;
	cpu->nolock_depth = 0;
	cpu->nospin_saved[0] = cpu->nospin_depth;
	cpu->nospin_depth = 0;
}

void mmt_irq_exit(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(!(cpu->preempt_count & MMT_HARDIRQ_MASK))) {
		mmt_violation(cpu->m, "context-imbalance",
			      "irq_exit on cpu %d outside hard irq", cpu->id);
		return;
	}
	cpu->preempt_count -= MMT_HARDIRQ_OFFSET;
	cpu->irq_disable_depth = 0;
	cpu->nolock_depth = cpu->nolock_saved[0];
	cpu->nospin_depth = cpu->nospin_saved[0];
}

void mmt_local_bh_disable(void)
{
	CPU()->preempt_count += MMT_SOFTIRQ_DISABLE_OFFSET;
}

void mmt_local_bh_enable(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY((cpu->preempt_count & MMT_SOFTIRQ_MASK) <
			 MMT_SOFTIRQ_DISABLE_OFFSET)) {
		mmt_violation(
			cpu->m, "context-imbalance",
			"local_bh_enable on cpu %d without local_bh_disable",
			cpu->id);
		return;
	}
	cpu->preempt_count -= MMT_SOFTIRQ_DISABLE_OFFSET;
}

void mmt_softirq_enter(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(cpu->preempt_count &
			 (MMT_HARDIRQ_MASK | MMT_SOFTIRQ_OFFSET))) {
		mmt_violation(
			cpu->m, "context-imbalance",
			"softirq_enter on cpu %d inside hard irq or softirq",
			cpu->id);
		return;
	}
	cpu->preempt_count += MMT_SOFTIRQ_OFFSET;
	cpu->nolock_saved[1] = cpu->nolock_depth;
	cpu->nolock_depth = 0;
	cpu->nospin_saved[1] = cpu->nospin_depth;
	cpu->nospin_depth = 0;
}

void mmt_softirq_exit(void)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(!(cpu->preempt_count & MMT_SOFTIRQ_OFFSET))) {
		mmt_violation(cpu->m, "context-imbalance",
			      "softirq_exit on cpu %d outside a softirq",
			      cpu->id);
		return;
	}
	cpu->preempt_count -= MMT_SOFTIRQ_OFFSET;
	cpu->nolock_depth = cpu->nolock_saved[1];
	cpu->nospin_depth = cpu->nospin_saved[1];
}

bool mmt_in_hardirq(void)
{
	return CPU()->preempt_count & MMT_HARDIRQ_MASK;
}

bool mmt_in_serving_softirq(void)
{
	return CPU()->preempt_count & MMT_SOFTIRQ_OFFSET;
}

bool mmt_in_interrupt(void)
{
	return CPU()->preempt_count & (MMT_HARDIRQ_MASK | MMT_SOFTIRQ_MASK);
}

bool mmt_in_task(void)
{
	return !(CPU()->preempt_count &
		 (MMT_HARDIRQ_MASK | MMT_SOFTIRQ_OFFSET));
}

bool mmt_in_atomic(void)
{
	return CPU()->preempt_count != 0;
}

bool mmt_irqs_disabled(void)
{
	return CPU()->irq_disable_depth != 0;
}

bool mmt_preemptible(void)
{
	struct mmt_cpu *cpu = CPU();

	return !cpu->preempt_count && !cpu->irq_disable_depth;
}

void _mmt_might_sleep(const char *site)
{
	_mmt_might_sleep_on(CPU(), site);
}

void _mmt_might_sleep_atomic(struct mmt_cpu *cpu, const char *site)
{
	const char *why;

	if (cpu->nospin_depth)
		_mmt_violation(
			cpu->m, "nolock-spin", site,
			"a nolock call on cpu %d reaches a function that may sleep at %s (the nolock APIs never sleep nor spin)",
			cpu->id, _mmt_short_site(site));
	if (!cpu->preempt_count && !cpu->irq_disable_depth)
		return;

	if (!_mmt_lockdep_can_sleep(cpu, &why))
		_mmt_violation(
			cpu->m, "sleep-in-atomic", site,
			"sleeping function called from invalid context on cpu %d: "
			"in_atomic() %d, irqs_disabled() %d, task %s: %s",
			cpu->id, cpu->preempt_count != 0,
			cpu->irq_disable_depth != 0, cpu->curr->name, why);
}

/* ---- task flags and scopes ---- */

unsigned int mmt_current_flags(void)
{
	return CPU()->curr->flags;
}

void mmt_current_set_flags(unsigned int flags)
{
	struct mmt_cpu *cpu = CPU();

	if (MMT_UNLIKELY(flags & ~(unsigned int)MMT_PF_VALID_MASK))
		mmt_violation(cpu->m, "bad-task-flags",
			      "set_flags: unknown flags 0x%x",
			      flags & ~(unsigned int)MMT_PF_VALID_MASK);
	cpu->curr->flags |= flags & MMT_PF_VALID_MASK;
}

void mmt_current_clear_flags(unsigned int flags)
{
	CPU()->curr->flags &= ~flags;
}

/* The scope API returns the old state of its one flag, like the kernel's. */
static unsigned int scope_save(unsigned int kind, unsigned int flag,
			       const char *site)
{
	struct mmt_cpu *cpu = CPU();
	struct mmt_task *t = cpu->curr;
	unsigned int old = t->flags & flag;

	save_push(&t->saves, cpu->m, kind, old, site);
	t->flags |= flag;
	return old;
}

static void scope_restore(unsigned int kind, unsigned int flag,
			  unsigned int saved, const char *site)
{
	struct mmt_cpu *cpu = CPU();
	struct mmt_task *t = cpu->curr;

	/*
	 * The injected defect: the pre-4.11 direct reclaim pattern,
	 * "current->flags &= ~PF_MEMALLOC", which ends an outer scope too.
	 */
	if (MMT_UNLIKELY(
		    flag == MMT_PF_MEMALLOC &&
		    mmt_bug_on(cpu->m, MMT_BUG_NORECLAIM_RESTORE_CLEARS))) {
		mmt_bug_hit(cpu->m, MMT_BUG_NORECLAIM_RESTORE_CLEARS,
			    saved & flag);
		saved = 0;
	}
	t->flags = (t->flags & ~flag) | (saved & flag);
	save_pop(&t->saves, cpu->m, kind, t->flags & flag, site);
}

unsigned int mmt_memalloc_noio_save(void)
{
	return scope_save(MMT_SAVE_NOIO, MMT_PF_MEMALLOC_NOIO, NULL);
}

void mmt_memalloc_noio_restore(unsigned int saved)
{
	scope_restore(MMT_SAVE_NOIO, MMT_PF_MEMALLOC_NOIO, saved, NULL);
}

unsigned int mmt_memalloc_nofs_save(void)
{
	return scope_save(MMT_SAVE_NOFS, MMT_PF_MEMALLOC_NOFS, NULL);
}

void mmt_memalloc_nofs_restore(unsigned int saved)
{
	scope_restore(MMT_SAVE_NOFS, MMT_PF_MEMALLOC_NOFS, saved, NULL);
}

unsigned int _mmt_memalloc_noreclaim_save_at(const char *site)
{
	return scope_save(MMT_SAVE_MEMALLOC, MMT_PF_MEMALLOC, site);
}

void _mmt_memalloc_noreclaim_restore_at(unsigned int saved, const char *site)
{
	scope_restore(MMT_SAVE_MEMALLOC, MMT_PF_MEMALLOC, saved, site);
}

unsigned int mmt_memalloc_noreclaim_save(void)
{
	return _mmt_memalloc_noreclaim_save_at(NULL);
}

void mmt_memalloc_noreclaim_restore(unsigned int saved)
{
	_mmt_memalloc_noreclaim_restore_at(saved, NULL);
}

mmt_gfp_t mmt_current_gfp_context(mmt_gfp_t gfp)
{
	return _mmt_gfp_context(CPU(), gfp);
}

void mmt_current_set_oom_victim(bool victim)
{
	CPU()->curr->oom_victim = victim;
}

bool mmt_current_is_oom_victim(void)
{
	return CPU()->curr->oom_victim;
}

unsigned long mmt_task_sleep_points(const struct mmt_task *t)
{
	return t->sleep_points;
}

void _mmt_sched_point(enum mmt_sched_kind kind, const void *obj)
{
	mmt_sched_point(CPU(), kind, obj);
}

/* ---- hotplug ---- */

bool mmt_cpu_offline(struct mmt_machine *m, int cpuid)
{
	struct mmt_cpu *self = CPU();
	struct mmt_cpu *cpu;

	if (cpuid < 0 || cpuid >= m->nr_cpus)
		return mmt_violation(m, "bad-cpu",
				     "cpu_offline(%d): no such cpu", cpuid);
	cpu = &m->cpus[cpuid];
	if (cpu == self)
		return mmt_violation(
			m, "cpu-busy",
			"cpu_offline(%d): the caller runs on that cpu (migrate first)",
			cpuid);
	if (!atomic_load_explicit(&cpu->online, memory_order_relaxed))
		return true;
	/*
	 * Out of the online mask first: from now on no thread takes the CPU
	 * (a woken task or a kthread comes back on another one).  A thread
	 * still on it - a task that came back there from a wait, a kthread -
	 * is waited for under a thread engine, as the kernel's hotplug waits
	 * for the CPU's tasks to migrate away; real threads cannot be, and
	 * the offline is refused.
	 */
	if (atomic_load_explicit(&cpu->owner, memory_order_acquire) &&
	    !_mmt_sched_engine(m))
		return mmt_violation(
			m, "cpu-busy",
			"cpu_offline(%d): a thread is on that cpu and only the "
			"deterministic scheduler can wait for it to leave "
			"(migrate it first)",
			cpuid);
	atomic_store_explicit(&cpu->online, false, memory_order_release);
	if (atomic_load_explicit(&cpu->owner, memory_order_acquire) &&
	    !_mmt_sched_wait_cpu_left(m, cpuid))
		return mmt_violation(
			m, "cpu-busy",
			"cpu_offline(%d): a thread stays on that cpu and no "
			"thread can run to make it leave",
			cpuid);
	/* slub_cpu_dead(): the dead CPU's slabs and objects go back first. */
	mmt_slab_flush_cpu(m, cpuid);
	/*
	 * page_alloc_cpu_dead(): a surviving CPU drains the dead CPU's lists
	 * under that CPU's pcp->lock.
	 */
	_mmt_drain_cpu_pages(m, cpuid);
	return true;
}

bool mmt_cpu_online(struct mmt_machine *m, int cpuid)
{
	if (cpuid < 0 || cpuid >= m->nr_cpus)
		return mmt_violation(m, "bad-cpu",
				     "cpu_online(%d): no such cpu", cpuid);
	atomic_store_explicit(&m->cpus[cpuid].online, true,
			      memory_order_release);
	_mmt_sched_cpu_onlined(m); /* threads waiting for a CPU may take it */
	return true;
}

bool mmt_cpu_is_online(const struct mmt_machine *m, int cpuid)
{
	if (cpuid < 0 || cpuid >= m->nr_cpus)
		return false;
	return atomic_load_explicit(&m->cpus[cpuid].online,
				    memory_order_acquire);
}

/* ---- per-thread state for a thread engine (mmt/engine.h) ---- */

size_t mmt_thread_state_size(void)
{
	return sizeof(struct _mmt_thread_state);
}

void mmt_thread_state_save(void *buf)
{
	struct _mmt_thread_state *st = buf;

	st->cpu = _mmt_this_cpu;
	st->kthread = _mmt_this_kthread;
	st->noreclaim_depth = _mmt_noreclaim_depth;
}

void mmt_thread_state_restore(const void *buf)
{
	const struct _mmt_thread_state *st = buf;

	MMT_TLS_SET(_mmt_this_cpu, st->cpu);
	MMT_TLS_SET(_mmt_this_kthread, st->kthread);
	MMT_TLS_SET(_mmt_noreclaim_depth, st->noreclaim_depth);
}
