/* SPDX-License-Identifier: MIT */
/*
 * alloc/scenario.c - the encrypted-swap and network-swap worlds (mmt/scenario.h).
 *
 * What it models: the situations of seeds 001 and 004, where freeing memory
 * means writing pages out and writing needs memory.
 *
 *  encrypted-swap (seed 001): anonymous memory swaps to a dm-crypt device
 *    over a disk.  The crypt worker (kcryptd) takes a bio and a ciphertext
 *    page from mempools for every page it writes.  Under the machine's
 *    mempool policy "no-reclaim" it never enters reclaim and makes progress
 *    from its pools; under "kernel-2016" its retry enters direct reclaim and
 *    is throttled behind the writeback that only it can finish: the
 *    detector reports the stall (or the deadlock), with who waits on what.
 *  network-swap (seed 004): anonymous memory swaps to a swap file on a
 *    network mount that holds two swap files; the traffic's socket buffers
 *    come from the emergency reserve because the mount's socket is
 *    SOCK_MEMALLOC while a swap file is on.  Halfway through the swapping
 *    the second swap file is turned off: the socket must stay memalloc for
 *    the first.
 *
 * Algorithm.  A machine of memory_pages, kswapd, the devices, and writer
 * kthreads that each map their share of a working set larger than memory
 * (so reclaim must swap), then unmap it.  The scenario's own task waits in
 * model time for the writers (and, for network-swap, for half of the work
 * to turn the second swap file off).  Then everything is stopped, written
 * back, unmapped and freed, and the machine is validated: pages, slabs,
 * reserves.  The verdict is the violation log.
 *
 * Engines.  By default the caller's thread is the scenario's task and the
 * kthreads are host threads, free-running.  With opts->engine (the CLI's
 * `--sched`: trace/dsched) the task and every kthread are threads of that
 * engine, so a schedule source decides every interleaving and the same
 * seed gives the same run; a deadlock abandons the run where it stands and
 * the machine's teardown frees what the task would have.
 *
 * Locks: none of its own; writers count progress in atomics and wake the
 * scenario's queue.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const char *const names[MMT_NR_SCENARIOS] = {
	[MMT_SCENARIO_ENCRYPTED_SWAP] = "encrypted-swap",
	[MMT_SCENARIO_NETWORK_SWAP] = "network-swap",
};

struct world {
	struct mmt_machine *m;
	const struct mmt_scenario_opts *o;
	struct mmt_waitqueue wq; /* the scenario task waits here */
	_Atomic unsigned long mapped, failures;
	_Atomic int writers_done;
	_Atomic int writers_complete; /* mapped their whole share */
	unsigned long per_writer;
	/* devices and the network mount */
	struct mmt_wb_device *disk, *crypt, *netswap;
	struct mmt_swap_mount *mnt;
	struct mmt_swapfile *sf[2];
};

void mmt_scenario_defaults(struct mmt_scenario_opts *o,
			   enum mmt_scenario_kind kind)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->mempool_policy = MMT_MEMPOOL_NO_RECLAIM;
	o->slab = MMT_SLAB_SLUB;
	o->writers = 2;
	o->memory_pages = 2048;
	o->working_set = 3072;
}

const char *mmt_scenario_name(enum mmt_scenario_kind kind)
{
	return (unsigned int)kind < MMT_NR_SCENARIOS ? names[kind] : "?";
}

bool mmt_scenario_parse(const char *name, enum mmt_scenario_kind *out)
{
	int k;

	for (k = 0; k < MMT_NR_SCENARIOS; k++)
		if (!strcmp(name, names[k])) {
			*out = (enum mmt_scenario_kind)k;
			return true;
		}
	return false;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- writers ---- */

/* Map a share of the working set (reclaim swaps the old pages out). */
static void writer(void *arg)
{
	struct world *w = arg;
	unsigned long i;

	for (i = 0; i < w->per_writer && !mmt_kthread_should_stop() &&
		    !mmt_sched_failed(w->m);
	     i++) {
		if (mmt_lru_add_anon(w->m))
			atomic_fetch_add_explicit(&w->mapped, 1,
						  memory_order_relaxed);
		else
			atomic_fetch_add_explicit(&w->failures, 1,
						  memory_order_relaxed);
		mmt_wake_up(&w->wq); /* the scenario may wait for half */
	}
	/*
	 * A writer also leaves early when a stall or deadlock was found: it is
	 * "done" (the scenario stops waiting) but did not complete its share.
	 */
	if (i == w->per_writer)
		atomic_fetch_add_explicit(&w->writers_complete, 1,
					  memory_order_relaxed);
	/* Release: publishes writers_complete; pairs with the acquire in all_done(). */
	atomic_fetch_add_explicit(&w->writers_done, 1, memory_order_release);
	mmt_wake_up(&w->wq);
}

static bool all_done(void *arg)
{
	struct world *w = arg;

	return atomic_load_explicit(&w->writers_done, memory_order_acquire) >=
	       w->o->writers;
}

static bool half_done(void *arg)
{
	struct world *w = arg;

	/*
	 * Halfway through the swapping, not the mapping: the first pages fit
	 * in memory, so the middle of the swap traffic is halfway between the
	 * memory size and the working set.
	 */
	return all_done(arg) ||
	       atomic_load_explicit(&w->mapped, memory_order_relaxed) +
			       atomic_load_explicit(&w->failures,
						    memory_order_relaxed) >=
		       (w->o->memory_pages + w->o->working_set) / 2;
}

/* ---- set-up and teardown ---- */

static bool build_devices(struct world *w, FILE *rep)
{
	struct mmt_machine *m = w->m;

	w->disk = mmt_disk_create(m, "sda", 2);
	if (!w->disk)
		return false;
	if (w->o->kind == MMT_SCENARIO_ENCRYPTED_SWAP) {
		struct mmt_crypt_config cc = { .worker_flags =
						       w->o->worker_flags };

		w->crypt = mmt_crypt_create(m, "dm-crypt", w->disk, &cc);
		if (!w->crypt)
			return false;
		mmt_reclaim_set_swap_device(m, w->crypt);
		if (rep)
			fprintf(rep,
				"devices: dm-crypt over sda (disk latency 2 jiffies); swap on dm-crypt\n");
		return true;
	}
	w->mnt = mmt_swap_mount_create(m, "nfs-server:/swap");
	if (!w->mnt)
		return false;
	w->sf[0] = mmt_swapon(w->mnt, "swapfile-a", (long)w->o->working_set);
	w->sf[1] = mmt_swapon(w->mnt, "swapfile-b", (long)w->o->working_set);
	if (!w->sf[0] || !w->sf[1])
		return false;
	w->netswap = mmt_netswap_create(m, "nfs-swap", w->mnt, w->sf[0], 2, 0);
	if (!w->netswap)
		return false;
	mmt_reclaim_set_swap_device(m, w->netswap);
	if (rep)
		fprintf(rep,
			"devices: two swap files on nfs-server:/swap (one socket); swap on swapfile-a\n");
	return true;
}

static void teardown_devices(struct world *w)
{
	struct mmt_machine *m = w->m;

	mmt_reclaim_set_swap_device(m, NULL);
	if (w->crypt)
		mmt_wb_device_destroy(w->crypt);
	if (w->netswap)
		mmt_wb_device_destroy(w->netswap);
	if (w->sf[0] && mmt_swapfile_active(w->sf[0]))
		mmt_swapoff(w->sf[0]);
	if (w->sf[1] && mmt_swapfile_active(w->sf[1]))
		mmt_swapoff(w->sf[1]);
	if (w->mnt)
		mmt_swap_mount_destroy(w->mnt);
	if (w->disk)
		mmt_wb_device_destroy(w->disk);
}

static void count_violation(struct mmt_machine *m,
			    const struct mmt_violation *v, void *arg)
{
	struct mmt_scenario_result *res = arg;

	(void)m;
	if (!res->first_check[0])
		snprintf(res->first_check, sizeof(res->first_check), "%s",
			 v->check);
}

static void fill_result(struct world *w, struct mmt_scenario_result *res)
{
	struct mmt_reclaim_stats rs;
	struct mmt_mempool_stats ms;

	mmt_reclaim_stats(w->m, &rs);
	mmt_mempool_machine_stats(w->m, &ms);
	res->mapped = atomic_load(&w->mapped);
	res->map_failures = atomic_load(&w->failures);
	res->written = rs.written;
	res->writeback_max = rs.writeback_max;
	res->throttled = rs.throttled;
	res->direct_reclaims = rs.direct_reclaims;
	res->kswapd_wakeups = rs.kswapd_wakeups;
	res->packets_dropped = rs.packets_dropped;
	res->mempool_waits = ms.waits;
	res->mempool_from_pool = ms.from_pool;
	res->jiffies = mmt_jiffies(w->m);
	if (w->mnt) {
		res->reserve_pages =
			mmt_mem_reserve_pages(mmt_net_reserve_total(w->m));
		struct mmt_reserve_stats st;

		mmt_reserve_stats(w->m, &st);
		res->reserve_peak_use =
			mmt_mem_reserve_usage_peak(
				mmt_net_reserve(w->m, false)) +
			mmt_mem_reserve_usage_peak(mmt_net_reserve(w->m, true));
		res->emergency_allocs = st.emergency_allocs;
	}
}

static void print_result(const struct mmt_scenario_opts *o,
			 const struct mmt_scenario_result *r, FILE *rep)
{
	fprintf(rep, "\nwhat happened:\n");
	fprintf(rep, "  writers %s: %lu pages mapped, %lu mappings failed\n",
		r->completed ? "finished" : "did NOT finish", r->mapped,
		r->map_failures);
	fprintf(rep,
		"  pages written to swap %lu, most under writeback at once %lu\n",
		r->written, r->writeback_max);
	fprintf(rep,
		"  direct reclaims %lu, throttled waits %lu, kswapd wakeups %lu\n",
		r->direct_reclaims, r->throttled, r->kswapd_wakeups);
	fprintf(rep, "  mempool: %lu element(s) from the pools, %lu wait(s)\n",
		r->mempool_from_pool, r->mempool_waits);
	if (o->kind == MMT_SCENARIO_NETWORK_SWAP)
		fprintf(rep,
			"  network reserve: %ld pages, peak use %ld pages (TX + RX), %ld emergency "
			"buffer(s), %lu packet(s) dropped\n",
			r->reserve_pages, r->reserve_peak_use,
			r->emergency_allocs, r->packets_dropped);
	fprintf(rep,
		"  model time %.2f s (%llu jiffies) in %.2f s of real time\n",
		(double)r->jiffies / MMT_HZ, (unsigned long long)r->jiffies,
		r->real_seconds);
}

/* What the scenario's own task does, on CPU 0 (directly or as a fiber). */
struct run {
	struct world *w;
	struct mmt_scenario_result *res;
	FILE *rep;
	/*
	 * Here, not on the task's stack: an engine may abandon the task
	 * where it is (a deadlock), and these must still go.
	 */
	struct mmt_kthread **writers;
};

static void scenario_task(void *arg)
{
	struct run *r = arg;
	struct world *w = r->w;
	const struct mmt_scenario_opts *o = w->o;
	struct mmt_scenario_result *res = r->res;
	FILE *rep = r->rep;
	struct mmt_kthread **writers = r->writers;
	int i;

	if (writers && build_devices(w, rep) && mmt_kswapd_start(w->m)) {
		w->per_writer = o->working_set / (unsigned long)o->writers;
		for (i = 0; i < o->writers; i++)
			writers[i] =
				mmt_kthread_run(w->m, "writer", 0, writer, w);
		if (w->mnt) {
			/* Halfway, the second swap file of the mount goes. */
			if (mmt_wait_event_timeout(&w->wq, half_done, w,
						   MMT_WAIT_FOREVER,
						   NULL) == MMT_WAIT_DONE) {
				if (rep)
					fprintf(rep,
						"jiffy %llu: swapoff swapfile-b (swapfile-a stays on)\n",
						(unsigned long long)mmt_jiffies(
							w->m));
				mmt_swapoff(w->sf[1]);
			}
		}
		res->completed =
			mmt_wait_event_timeout(&w->wq, all_done, w,
					       MMT_WAIT_FOREVER,
					       NULL) == MMT_WAIT_DONE &&
			atomic_load(&w->writers_complete) == o->writers;
		for (i = 0; i < o->writers; i++)
			if (writers[i])
				mmt_kthread_stop(writers[i]);
		if (!mmt_sched_failed(w->m)) {
			if (w->crypt)
				mmt_wb_device_wait_idle(w->crypt, 600 * MMT_HZ);
			if (w->netswap)
				mmt_wb_device_wait_idle(w->netswap,
							600 * MMT_HZ);
		}
		fill_result(w, res);
		mmt_kswapd_stop(w->m);
	} else if (rep) {
		fprintf(rep,
			"scenario: set-up failed (no memory for the devices?)\n");
	}
	teardown_devices(w);
	/* Give back everything the users still map, then validate it all. */
	mmt_lru_unmap(w->m, MMT_LRU_ANON, ~0ul);
	mmt_lru_unmap(w->m, MMT_LRU_FILE_CLEAN, ~0ul);
	mmt_lru_unmap(w->m, MMT_LRU_FILE_DIRTY, ~0ul);
	if (!mmt_sched_failed(w->m)) {
		mmt_kvfree_rcu_barrier(w->m);
		mmt_kmem_cache_shrink_all(w->m);
		mmt_drain_all_pages(w->m);
		/* On a CPU: pages, slabs, memcg charges and reserves. */
		mmt_machine_is_valid(w->m);
	}
}

bool mmt_scenario_run(const struct mmt_scenario_opts *o,
		      struct mmt_scenario_result *res, FILE *rep)
{
	struct mmt_config cfg;
	struct mmt_task *self;
	struct world w;
	struct run r;
	char err[256], bugs[256];
	double t0 = now_s();
	unsigned long kept;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	w.o = o;
	mmt_config_default(&cfg);
	cfg.nr_nodes = 1;
	cfg.nr_cpus = 2;
	cfg.dma32_pages = 0;
	cfg.normal_pages = o->memory_pages;
	cfg.bugs = o->bugs;
	cfg.slab = o->slab;
	cfg.mempool_policy = o->mempool_policy;
	cfg.stall_jiffies = o->stall_jiffies ? o->stall_jiffies : 30 * MMT_HZ;
	cfg.page_poison = false;
	w.m = mmt_machine_create(&cfg, err, sizeof(err));
	if (!w.m) {
		if (rep)
			fprintf(rep, "scenario: cannot build the machine: %s\n",
				err);
		snprintf(res->first_check, sizeof(res->first_check),
			 "bad-config");
		res->violations = 1;
		return false;
	}
	mmt_machine_set_violation_handler(w.m, count_violation, res);
	self = mmt_task_create(w.m, "scenario", 0);
	mmt_bugs_format(o->bugs, bugs, sizeof(bugs));
	if (rep)
		fprintf(rep,
			"scenario %s: %lu pages of memory, working set %lu pages, %d writer(s), "
			"mempool policy %s, slab %s, bugs %s%s\n",
			names[o->kind], o->memory_pages, o->working_set,
			o->writers, mmt_mempool_policy_name(o->mempool_policy),
			o->slab == MMT_SLAB_SLAB    ? "slab" :
			o->slab == MMT_SLAB_SHEAVES ? "sheaves" :
						      "slub",
			bugs,
			o->engine ? ", under the deterministic scheduler" : "");
	r.w = &w;
	r.res = res;
	r.rep = rep;
	r.writers = calloc((size_t)o->writers, sizeof(*r.writers));
	mmt_waitqueue_init(&w.wq, "scenario");
	if (o->engine) {
		/* Every task and kthread a fiber: the engine's schedule. */
		if (!o->engine(w.m, self, scenario_task, &r, o->engine_arg) &&
		    rep)
			fprintf(rep, "scenario: the engine could not run it\n");
	} else {
		mmt_cpu_attach(w.m, 0, self);
		scenario_task(&r);
		mmt_cpu_detach();
	}
	res->real_seconds = now_s() - t0;
	res->violations = mmt_violation_count(w.m);
	if (rep) {
		print_result(o, res, rep);
		if (w.mnt) {
			fprintf(rep, "\nreserve tree at the end:\n");
			mmt_mem_reserve_dump(w.m, rep);
		}
		for (kept = 0; mmt_violation_get(w.m, kept); kept++) {
			fputc('\n', rep);
			mmt_violation_print(mmt_violation_get(w.m, kept), rep);
		}
		fprintf(rep, "\nscenario %s: %s\n", names[o->kind],
			res->violations ? "FINDING" : "ok, ran to completion");
	}
	mmt_waitqueue_destroy(&w.wq);
	free(r.writers);
	/* Under an engine the task may be abandoned on its CPU: the machine
	 * frees it with the others. */
	if (!o->engine)
		mmt_task_destroy(self);
	mmt_machine_destroy(w.m);
	return res->violations == 0;
}
