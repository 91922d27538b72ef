/* SPDX-License-Identifier: MIT */
/*
 * alloc/check.c - the catalogue of checks and the violation log.
 *
 * What it models: the kernel's ways of complaining (BUG/WARN, bad_page(),
 * lockdep splats, might_sleep()) turned into data.  A violation names a
 * check from the catalogue, the site that detected it, the operation being
 * executed (mmt_machine_set_op) and carries a readable state dump.  The
 * signature used to deduplicate findings is check + layer + the reporting
 * function (__func__, captured by the reporting macros): the site's line
 * number is for people only, since it moves whenever code does.
 *
 * Invariants: every reported check name is in the catalogue (an unknown name
 * is itself reported, as "unknown-check", so nothing is lost); the first
 * cfg.max_violations are kept, later ones are only counted.
 *
 * Locks: viol_mu, a pthread mutex outside the model's lock model, so a
 * violation can be reported from any state (zone lock held, irqs off).  The
 * dump reads model state without taking model locks: it is a best-effort
 * snapshot, made only for the first kept violation.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "slab.h"

static const struct mmt_check_info checks[] = {
	/* machine */
	{ "bad-cpu", "machine", MMT_TIER_API, "-",
	  "a CPU number outside the machine" },
	{ "bad-task", "machine", MMT_TIER_API, "-",
	  "a task of another machine, or none" },
	{ "cpu-busy", "machine", MMT_TIER_API, "-",
	  "a thread attaches to a CPU that has one, or a CPU with a thread goes offline" },
	{ "cpu-offline", "machine", MMT_TIER_API, "-",
	  "a thread attaches to an offline CPU" },
	{ "leave-cpu-in-atomic", "machine", MMT_TIER_CHEAP, "003",
	  "a task migrates or leaves its CPU with preemption/irqs disabled or locks held" },
	{ "context-imbalance", "machine", MMT_TIER_API, "-",
	  "preempt/irq/softirq exit without the matching enter" },
	{ "context-restore", "machine", MMT_TIER_CHEAP, "-",
	  "a restore (local_irq_restore, memalloc_noio/nofs/noreclaim_restore) leaves another state than its save found: scopes closed out of order, or a primitive that restores something else" },
	{ "bad-task-flags", "machine", MMT_TIER_API, "-",
	  "unknown PF_* task flags" },
	{ "task-on-cpu", "machine", MMT_TIER_API, "-",
	  "a task destroyed while on a CPU" },
	{ "sleep-in-atomic", "machine", MMT_TIER_CHEAP, "002",
	  "something that may sleep (mutex, direct reclaim, blocking GFP) in atomic context" },
	/* page allocator */
	{ "gfp-unknown-bit", "page", MMT_TIER_API, "-",
	  "a GFP mask with bits the model does not know" },
	{ "gfp-misuse", "page", MMT_TIER_API, "-",
	  "a GFP combination the kernel warns about (NOFAIL without reclaim, NOFAIL with a costly order, ...)" },
	{ "bad-order", "page", MMT_TIER_API, "-",
	  "an order outside 0..MAX_ORDER-1" },
	{ "bad-node", "page", MMT_TIER_API, "-",
	  "alloc_pages_node with a node the machine lacks" },
	{ "bad-argument", "reclaim", MMT_TIER_API, "-",
	  "a reclaim, device or swap call with a missing or invalid argument (no mount, no device, a bad count)" },
	{ "bad-page", "page", MMT_TIER_API, "-",
	  "a pointer that is no page frame of the machine, or a tail page freed" },
	{ "double-free", "page", MMT_TIER_API, "-",
	  "freeing pages that are already free" },
	{ "free-wrong-order", "page", MMT_TIER_API, "-",
	  "freeing pages with another order than they were allocated with" },
	{ "page-state", "page", MMT_TIER_CHEAP, "-",
	  "a page taken from a free list is not in the free state it should be" },
	{ "page-poison", "page", MMT_TIER_CHEAP, "-",
	  "a free page was written to (its poison changed): use after free" },
	{ "zone-conservation", "page", MMT_TIER_EXPENSIVE, "-",
	  "per zone: free (buddy) + per-cpu + deferred + allocated = managed pages" },
	{ "deferred-list", "page", MMT_TIER_EXPENSIVE, "-",
	  "a zone's deferred list (free_pages_nolock) holds blocks of the zone flagged deferred, as many pages as nr_deferred says" },
	{ "buddy-consistency", "page", MMT_TIER_EXPENSIVE, "-",
	  "free blocks are aligned, in their zone, flagged, on the right list, counted per order, and unmerged buddies are not both free" },
	{ "pcp-count", "page", MMT_TIER_EXPENSIVE, "-",
	  "a per-cpu list count equals the pages on its lists, each flagged as on that CPU" },
	{ "fast-try-zone-lock", "page", MMT_TIER_CHEAP, "002",
	  "a __GFP_FAST_TRY allocation took the zone lock (rmqueue_bulk)" },
	{ "nolock-spin", "lock", MMT_TIER_CHEAP, "-",
	  "alloc_pages_nolock, free_pages_nolock, kmalloc_nolock or kfree_nolock took a lock other than by trylock (one that may spin, or sleep) or reached a function that may sleep" },
	{ "pcp-reentry", "page", MMT_TIER_CHEAP, "-",
	  "on a uniprocessor, an interrupt entered the per-cpu page lists while the operation it interrupted was inside them" },
	{ "deferred-free-lost", "caller", MMT_TIER_CHEAP, "-",
	  "at teardown, after the deferred lists were drained, a block freed by free_pages_nolock or kfree_nolock is still waiting on one" },
	{ "nofail-failed", "page", MMT_TIER_CHEAP, "-",
	  "a __GFP_NOFAIL allocation returned NULL" },
	{ "oom-no-victim", "page", MMT_TIER_CHEAP, "-",
	  "out of memory and no task maps user pages to kill: the kernel panics (\"System is deadlocked on memory\")" },
	{ "unknown-check", "machine", MMT_TIER_API, "-",
	  "the model reported a check missing from this catalogue" },
	/*
	 * The interpreter (trace/): a program it cannot run, and the oracles
	 * only a caller can state (trace/exec_oracles.c), reported under these
	 * names like any check.
	 */
	{ "bad-trace", "trace", MMT_TIER_API, "-",
	  "a program the interpreter cannot run as written: a handle that was never created, is ended or of another kind; an exit with nothing entered; a CPU, enumeration value or opcode out of range" },
	{ "gfp-zero", "caller", MMT_TIER_CHEAP, "-",
	  "memory handed out for __GFP_ZERO is not all zero (pages, kmalloc and kmem_cache objects, the grown part of a krealloc)" },
	{ "double-alloc", "caller", MMT_TIER_CHEAP, "-",
	  "a block of pages overlaps memory the program holds, or an object starts where a live object does or lies in pages the program holds" },
	{ "gfp-nowait-slept", "caller", MMT_TIER_CHEAP, "-",
	  "an allocation without __GFP_DIRECT_RECLAIM reached a point that may sleep (might_sleep, a mutex, a wait)" },
	{ "watermark", "caller", MMT_TIER_CHEAP, "004",
	  "pages left a zone for a caller without the right to no watermarks at a free count the kernel's rules (trace/ref_rules.h) do not allow it: below min, or below the __GFP_HIGH, atomic or OOM reserve it has" },
	{ "pfmemalloc-marking", "caller", MMT_TIER_CHEAP, "004",
	  "a page served below every watermark its entitled caller's ordinary attempts may use is not marked pfmemalloc, or a pfmemalloc page reaches a caller the kernel's rules do not entitle" },
	{ "gfp-thisnode", "caller", MMT_TIER_CHEAP, "-",
	  "a __GFP_THISNODE allocation returned a page of another node than the one asked" },
	{ "slab-gave-up", "caller", MMT_TIER_CHEAP, "-",
	  "a slab allocation (or a mempool's inner attempt before it took a reserved element) by a caller that may spin (gfpflags_allow_spinning) returned NULL although the page allocator refused it nothing: the slab allocator fails such a caller only when it cannot get a slab" },
	{ "teardown-leak", "caller", MMT_TIER_CHEAP, "-",
	  "after every handle was released, grace periods run out, caches shrunk and per-cpu lists drained, a zone still has allocated pages" },
#include "lock_checks.inc"
#include "slab_checks.inc"
};

const struct mmt_check_info *mmt_checks(size_t *nr)
{
	*nr = MMT_ARRAY_SIZE(checks);
	return checks;
}

/*
 * The causes (mmt/check.h).  A list here rather than a field of every
 * catalogue entry: few checks are causes, and the catalogue's entries stay
 * what they were.
 */
static const char *const cause_checks[] = {
	/* the dm-crypt worker throttled behind its own writeback: seed 001 */
	"mempool-no-reclaim",
	/*
	 * lockdep's possible circular dependency: concurrent threads may go
	 * on into the deadlock it foretells (the fs_reclaim inversion of a
	 * shrinker's lock, docs/trace-language.md "Locks and reclaim"), the
	 * finding then; else the inversion itself is.
	 */
	"lock-inversion",
};

bool mmt_check_is_cause(const struct mmt_check_info *check)
{
	size_t i;

	if (!check)
		return false;
	for (i = 0; i < sizeof(cause_checks) / sizeof(cause_checks[0]); i++)
		if (!strcmp(check->name, cause_checks[i]))
			return true;
	return false;
}

const struct mmt_check_info *mmt_check_find(const char *name)
{
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(checks); i++)
		if (!strcmp(checks[i].name, name))
			return &checks[i];
	return NULL;
}

char *_mmt_dump_string(struct mmt_machine *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	_mmt_machine_dump_to(m, f);
	fclose(f);
	return buf;
}

bool _mmt_violation_at(struct mmt_machine *m, const char *check,
		       const char *site, const char *func, const char *fmt, ...)
{
	const struct mmt_check_info *info = mmt_check_find(check);
	struct mmt_violation v;
	va_list ap;

	memset(&v, 0, sizeof(v));
	v.check = info ? info->name : "unknown-check";
	v.layer = info ? info->layer : "machine";
	v.site = site;
	v.func = func ? func : "?";
	v.cpu = _mmt_this_cpu ? _mmt_this_cpu->id : -1;
	va_start(ap, fmt);
	if (info) {
		vsnprintf(v.msg, sizeof(v.msg), fmt, ap);
	} else {
		int n = snprintf(v.msg, sizeof(v.msg), "[reported as '%s'] ",
				 check);

		vsnprintf(v.msg + n, sizeof(v.msg) - (size_t)n, fmt, ap);
	}
	va_end(ap);

	if (!m) {
		fprintf(stderr, "mmtorture: violation %s at %s: %s\n", v.check,
			site, v.msg);
		return false;
	}
	pthread_mutex_lock(&m->viol_mu);
	v.op_index = m->op_index;
	if (m->op_text)
		snprintf(v.op, sizeof(v.op), "%s", m->op_text);
	else
		memcpy(v.op, m->op, sizeof(v.op));
	if (MMT_UNLIKELY(m->defer_causes && mmt_check_is_cause(info))) {
		/* Kept aside: the run goes on to show what it causes. */
		if (m->nr_causes++ == 0) {
			v.dump = _mmt_dump_string(m);
			m->cause = v;
		}
		pthread_mutex_unlock(&m->viol_mu);
		return false;
	}
	atomic_fetch_add_explicit(&m->nr_violations, 1, memory_order_relaxed);
	if (m->nr_kept < m->cfg.max_violations) {
		if (m->nr_kept == 0)
			v.dump = _mmt_dump_string(m);
		m->viol[m->nr_kept++] = v;
	}
	pthread_mutex_unlock(&m->viol_mu);
	if (m->viol_fn)
		m->viol_fn(m, &v, m->viol_arg);
	return false;
}

unsigned long mmt_violation_count(const struct mmt_machine *m)
{
	return atomic_load_explicit(&m->nr_violations, memory_order_relaxed);
}

const struct mmt_violation *mmt_violation_get(const struct mmt_machine *m,
					      unsigned long i)
{
	/* Entries are written once under viol_mu and never moved. */
	struct mmt_machine *mm = (struct mmt_machine *)m;
	const struct mmt_violation *v = NULL;

	pthread_mutex_lock(&mm->viol_mu);
	if (i < m->nr_kept)
		v = &m->viol[i];
	pthread_mutex_unlock(&mm->viol_mu);
	return v;
}

bool mmt_violated(const struct mmt_machine *m, const char *check)
{
	struct mmt_machine *mm = (struct mmt_machine *)m;
	unsigned long i;
	bool found = false;

	pthread_mutex_lock(&mm->viol_mu);
	for (i = 0; i < m->nr_kept && !found; i++)
		found = !strcmp(m->viol[i].check, check);
	pthread_mutex_unlock(&mm->viol_mu);
	return found;
}

void mmt_violations_clear(struct mmt_machine *m)
{
	unsigned long i;

	pthread_mutex_lock(&m->viol_mu);
	for (i = 0; i < m->nr_kept; i++)
		free(m->viol[i].dump);
	m->nr_kept = 0;
	atomic_store_explicit(&m->nr_violations, 0, memory_order_relaxed);
	if (m->nr_causes)
		free(m->cause.dump);
	m->nr_causes = 0;
	pthread_mutex_unlock(&m->viol_mu);
}

void mmt_machine_defer_causes(struct mmt_machine *m, bool on)
{
	pthread_mutex_lock(&m->viol_mu);
	m->defer_causes = on;
	pthread_mutex_unlock(&m->viol_mu);
}

const struct mmt_violation *mmt_violation_cause(const struct mmt_machine *m,
						unsigned long *nr)
{
	/* Read after the run, or by the reporting thread: no lock needed. */
	if (nr)
		*nr = m->nr_causes;
	return m->nr_causes ? &m->cause : NULL;
}

void mmt_machine_set_violation_handler(struct mmt_machine *m,
				       mmt_violation_fn fn, void *arg)
{
	m->viol_arg = arg;
	m->viol_fn = fn;
}

void mmt_violation_print(const struct mmt_violation *v, FILE *out)
{
	fprintf(out, "violation: %s [layer %s] at %s (reported by %s())\n",
		v->check, v->layer, v->site, v->func ? v->func : "?");
	if (v->op[0])
		fprintf(out, "  operation #%llu: %s\n",
			(unsigned long long)v->op_index, v->op);
	if (v->cpu >= 0)
		fprintf(out, "  cpu: %d\n", v->cpu);
	fprintf(out, "  %s\n", v->msg);
	if (v->dump)
		fprintf(out, "  state:\n%s", v->dump);
}

void mmt_machine_set_op(struct mmt_machine *m, uint64_t index, const char *fmt,
			...)
{
	va_list ap;

	pthread_mutex_lock(&m->viol_mu);
	/* Relaxed: slab debug tracking reads it without viol_mu. */
	__atomic_store_n(&m->op_index, index, __ATOMIC_RELAXED);
	__atomic_store_n(&m->op_text, NULL, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	vsnprintf(m->op, sizeof(m->op), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&m->viol_mu);
}

void mmt_machine_set_op_text(struct mmt_machine *m, uint64_t index,
			     const char *text)
{
	pthread_mutex_lock(&m->viol_mu);
	/* Relaxed: slab debug tracking reads it without viol_mu. */
	__atomic_store_n(&m->op_index, index, __ATOMIC_RELAXED);
	/* Relaxed: mmt_machine_op_now() reads it without viol_mu. */
	__atomic_store_n(&m->op_text, text, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&m->viol_mu);
}

uint64_t mmt_machine_op_now(const struct mmt_machine *m, const char **name)
{
	*name = __atomic_load_n(&m->op_text, __ATOMIC_RELAXED);
	return __atomic_load_n(&m->op_index, __ATOMIC_RELAXED);
}

bool mmt_machine_is_valid(struct mmt_machine *m)
{
	bool ok = true;
	int z;

	for (z = 0; z < m->nr_zones; z++)
		ok &= _mmt_zone_is_valid(&m->zones[z]);
	/* The upper layers' validators need a CPU (they take model locks). */
	if (_mmt_this_cpu && _mmt_this_cpu->m == m) {
		atomic_store_explicit(&m->frames_reused, false,
				      memory_order_relaxed);
		ok &= mmt_slab_is_valid(m);
		ok &= mmt_reserve_is_valid(m);
	}
	return ok;
}

/*
 * A zone or cache is marked where its state is written (page_alloc.c:
 * zone lock, block allocated or freed; slab_common.c and memcg.c: every
 * call into the slab implementation for a cache) and the mark is cleared
 * here before its validator runs: an unmarked one was valid when last
 * checked and nothing wrote it since.
 */
bool mmt_machine_validate_touched(struct mmt_machine *m)
{
	bool ok = true;
	int z;

	for (z = 0; z < m->nr_zones; z++)
		ok &= _mmt_zone_validate_touched(&m->zones[z]);
	if (_mmt_this_cpu && _mmt_this_cpu->m == m) {
		ok &= _mmt_slab_validate_touched(m);
		ok &= mmt_reserve_is_valid(m);
	}
	return ok;
}

void _mmt_machine_dump_to(struct mmt_machine *m, FILE *out)
{
	struct mmt_cpu *cpu = _mmt_this_cpu;
	int z;

	fprintf(out,
		"    machine: %d node(s), %d cpu(s), %d zone(s), rt_rules %d, bugs 0x%llx\n",
		m->nr_nodes, m->nr_cpus, m->nr_zones, m->cfg.rt_rules,
		(unsigned long long)m->bugs);
	if (cpu && cpu->m == m) {
		fprintf(out,
			"    cpu %d: task %s flags 0x%x preempt_count 0x%x irqs_disabled %d\n",
			cpu->id, cpu->curr ? cpu->curr->name : "-",
			cpu->curr ? cpu->curr->flags : 0, cpu->preempt_count,
			cpu->irq_disable_depth);
		if (cpu->curr)
			_mmt_task_report_held_locks(cpu->curr, out);
	}
	for (z = 0; z < m->nr_zones; z++)
		_mmt_zone_dump(&m->zones[z], out);
}

void mmt_machine_dump(struct mmt_machine *m, FILE *out)
{
	_mmt_machine_dump_to(m, out);
}
