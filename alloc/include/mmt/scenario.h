/* SPDX-License-Identifier: MIT */
/*
 * mmt/scenario.h - the two worlds of seeds 001 and 004, run to completion
 * under memory pressure: swap on an encrypting block device, and swap over
 * a network mount.  Each builds its own machine, starts kswapd, the
 * devices and writer tasks whose working set is larger than memory, waits
 * for them in model time, tears down and validates everything.  A
 * deadlock or a stall is reported by the scheduler's detector, with the
 * wait-for chain; a run never hangs.
 */
#ifndef MMT_SCENARIO_H
#define MMT_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/machine.h"

enum mmt_scenario_kind {
	MMT_SCENARIO_ENCRYPTED_SWAP, /* seed 001: swap on dm-crypt */
	MMT_SCENARIO_NETWORK_SWAP, /* seed 004: swap over NFS */
	MMT_NR_SCENARIOS
};

struct mmt_scenario_opts {
	enum mmt_scenario_kind kind;
	uint64_t bugs;
	enum mmt_mempool_policy mempool_policy;
	enum mmt_slab_impl slab;
	int writers; /* writer tasks (2) */
	unsigned long memory_pages; /* Normal-zone pages of the machine (2048) */
	unsigned long
		working_set; /* pages the writers map in all (memory * 3/2) */
	unsigned int worker_flags; /* PF_* of the device worker (0) */
	unsigned long stall_jiffies; /* 0: 30 s of model time */
	/*
	 * An engine that runs the scenario's task: @fn(@fn_arg) as @task on
	 * CPU 0 of @m, every kthread the task starts a thread of the engine
	 * (mmt/engine.h); returns when all have ended, false if it could not
	 * run.  NULL: the calling thread runs the task and kthreads are host
	 * threads (free-running).  The model knows no engine: the CLI plugs
	 * the deterministic scheduler in here (`scenario --sched`).
	 */
	bool (*engine)(struct mmt_machine *m, struct mmt_task *task,
		       void (*fn)(void *), void *fn_arg, void *engine_arg);
	void *engine_arg;
};

struct mmt_scenario_result {
	bool completed; /* the writers finished */
	unsigned long violations; /* every violation reported */
	char first_check[48]; /* the first violation's check, "" if none */
	uint64_t jiffies; /* model time at the end */
	double real_seconds;
	unsigned long mapped, map_failures; /* pages the writers mapped */
	unsigned long written, writeback_max, throttled, direct_reclaims;
	unsigned long kswapd_wakeups, packets_dropped;
	unsigned long mempool_waits, mempool_from_pool;
	long reserve_pages, reserve_peak_use; /* network swap */
	long emergency_allocs; /* network swap: buffers charged to the reserve */
};

void mmt_scenario_defaults(struct mmt_scenario_opts *o,
			   enum mmt_scenario_kind kind);
const char *mmt_scenario_name(enum mmt_scenario_kind kind);
bool mmt_scenario_parse(const char *name, enum mmt_scenario_kind *out);
/*
 * Run @o; @report (may be NULL) gets a readable account: set-up, what
 * happened (pages written, reserve use, waits), every violation, and the
 * state at the end.  Returns true when nothing was reported.
 */
bool mmt_scenario_run(const struct mmt_scenario_opts *o,
		      struct mmt_scenario_result *res, FILE *report);

#endif /* MMT_SCENARIO_H */
