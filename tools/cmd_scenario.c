/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_scenario.c - `mmtorture scenario encrypted-swap|network-swap`:
 * run one of the worlds of seeds 001 and 004 (alloc/scenario.c) to
 * completion under memory pressure, print what happened and every
 * violation, and exit 1 on a finding.
 *
 * --sched SRC runs it under the deterministic scheduler (trace/dsched):
 * the scenario's task and every kthread a fiber, every interleaving the
 * source's decision, so one seed gives one run, again and again.  The
 * model reaches the engine only through mmt_scenario_opts.engine.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dsched.h"
#include "mmt/mmt.h"

enum {
	OPT_BUG = 256,
	OPT_MEMPOOL,
	OPT_SLAB,
	OPT_WRITERS,
	OPT_MEMORY,
	OPT_WORKING_SET,
	OPT_LESS_THROTTLE,
	OPT_STALL,
	OPT_SCHED,
	OPT_SCHED_SEED,
	OPT_PCT_DEPTH,
	OPT_HELP,
};

/* The deterministic engine of --sched. */
struct engine {
	int source; /* MMT_SCHED_PCT, _RANDOM, _RR */
	uint64_t seed;
	unsigned int depth;
	struct mmt_dsched *ds; /* destroyed after the machine */
	enum mmt_dsched_result result;
};

/* Scheduling points a run may pass before it is a livelock. */
#define SCENARIO_STEP_LIMIT (1ull << 26)
/* PCT's estimate of a scenario's decision points (k). */
#define SCENARIO_PCT_STEPS 200000

static bool run_on_dsched(struct mmt_machine *m, struct mmt_task *task,
			  void (*fn)(void *), void *fn_arg, void *arg)
{
	struct engine *e = arg;
	struct mmt_sched_source *src;
	char err[200];

	switch (e->source) {
	case MMT_SCHED_PCT:
		src = mmt_sched_source_pct(e->seed, e->depth,
					   SCENARIO_PCT_STEPS);
		break;
	case MMT_SCHED_RANDOM:
		src = mmt_sched_source_random(e->seed);
		break;
	default:
		src = mmt_sched_source_round_robin();
		break;
	}
	e->ds = mmt_dsched_run_task(m, src, 0, task, fn, fn_arg,
				    SCENARIO_STEP_LIMIT, &e->result, err,
				    sizeof(err));
	if (!e->ds) {
		fprintf(stderr, "%s scenario: %s\n", CLI_PROG, err);
		return false;
	}
	return e->result != MMT_DSCHED_ERROR;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s scenario NAME [options]\n"
		"\n"
		"Scenarios:\n"
		"  encrypted-swap  swap on dm-crypt over a disk; the crypt worker takes bios and\n"
		"                  ciphertext pages from mempools (seed 001)\n"
		"  network-swap    swap over a network mount holding two swap files; socket\n"
		"                  buffers from the emergency reserve; the second swap file is\n"
		"                  turned off halfway (seed 004)\n"
		"\n"
		"Options:\n"
		"  --bug ID          turn on an injectable bug; repeatable, or ID,ID\n"
		"                    (MMT_BUGS=ID,ID in the environment adds more)\n"
		"  --mempool POLICY  kernel-2016, no-reclaim (default) or pool-first\n"
		"  --slab IMPL       slub (default), slab or sheaves\n"
		"  --writers N       writer tasks, 1..16 (default 2)\n"
		"  --memory N        pages of memory, 512..65536 (default 2048)\n"
		"  --working-set N   pages the writers map in all (default 3/2 of memory)\n"
		"  --less-throttle   run the device worker with PF_LESS_THROTTLE (Michal\n"
		"                    Hocko's patch in seed 001)\n"
		"  --stall J         jiffies without progress that make a stall (default 3000)\n"
		"  --sched SRC       run every task and kthread as a fiber of the deterministic\n"
		"                    scheduler, SRC pct, random or rr: one seed, one run\n"
		"                    (default: host threads, free-running)\n"
		"  --sched-seed N    the seed of pct and random (default 1)\n"
		"  --pct-depth D     PCT depth 1..8 (default 3)\n"
		"  --help            this text\n"
		"\n"
		"Exit status: 0 ran to completion with no violation, 1 a finding, 2 wrong usage.\n",
		CLI_PROG);
}

int cmd_scenario(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "mempool", required_argument, NULL, OPT_MEMPOOL },
		{ "slab", required_argument, NULL, OPT_SLAB },
		{ "writers", required_argument, NULL, OPT_WRITERS },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "working-set", required_argument, NULL, OPT_WORKING_SET },
		{ "less-throttle", no_argument, NULL, OPT_LESS_THROTTLE },
		{ "stall", required_argument, NULL, OPT_STALL },
		{ "sched", required_argument, NULL, OPT_SCHED },
		{ "sched-seed", required_argument, NULL, OPT_SCHED_SEED },
		{ "pct-depth", required_argument, NULL, OPT_PCT_DEPTH },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct mmt_scenario_opts o;
	struct mmt_scenario_result res;
	enum mmt_scenario_kind kind;
	uint64_t mask, bugs = 0, writers = 2, memory = 2048, working = 0,
		       stall = 0;
	enum mmt_mempool_policy policy = MMT_MEMPOOL_NO_RECLAIM;
	enum mmt_slab_impl slab = MMT_SLAB_SLUB;
	bool less = false;
	const char *env;
	char err[256];
	struct engine eng = { .source = -1, .seed = 1, .depth = 3 };
	uint64_t v;
	bool ok;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("scenario", "--bug: %s",
						       err);
			bugs |= mask;
			break;
		case OPT_MEMPOOL:
			if (!mmt_mempool_policy_parse(optarg, &policy))
				return cli_usage_error(
					"scenario",
					"--mempool: '%s' is not kernel-2016, no-reclaim or pool-first",
					optarg);
			break;
		case OPT_SLAB:
			if (!strcmp(optarg, "slub"))
				slab = MMT_SLAB_SLUB;
			else if (!strcmp(optarg, "slab"))
				slab = MMT_SLAB_SLAB;
			else if (!strcmp(optarg, "sheaves"))
				slab = MMT_SLAB_SHEAVES;
			else
				return cli_usage_error(
					"scenario",
					"--slab: '%s' is not slub, slab or sheaves",
					optarg);
			break;
		case OPT_WRITERS:
			if (!cli_parse_u64("scenario", "--writers", optarg, 1,
					   16, &writers))
				return CLI_EXIT_USAGE;
			break;
		case OPT_MEMORY:
			if (!cli_parse_u64("scenario", "--memory", optarg, 512,
					   65536, &memory))
				return CLI_EXIT_USAGE;
			break;
		case OPT_WORKING_SET:
			if (!cli_parse_u64("scenario", "--working-set", optarg,
					   1, 1u << 20, &working))
				return CLI_EXIT_USAGE;
			break;
		case OPT_LESS_THROTTLE:
			less = true;
			break;
		case OPT_STALL:
			if (!cli_parse_u64("scenario", "--stall", optarg, 1,
					   1u << 30, &stall))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SCHED:
			if (!strcmp(optarg, "pct"))
				eng.source = MMT_SCHED_PCT;
			else if (!strcmp(optarg, "random"))
				eng.source = MMT_SCHED_RANDOM;
			else if (!strcmp(optarg, "rr"))
				eng.source = MMT_SCHED_RR;
			else
				return cli_usage_error(
					"scenario",
					"--sched: '%s' is not pct, random or rr",
					optarg);
			break;
		case OPT_SCHED_SEED:
			if (!cli_parse_u64("scenario", "--sched-seed", optarg,
					   0, UINT32_MAX, &eng.seed))
				return CLI_EXIT_USAGE;
			break;
		case OPT_PCT_DEPTH:
			if (!cli_parse_u64("scenario", "--pct-depth", optarg, 1,
					   8, &v))
				return CLI_EXIT_USAGE;
			eng.depth = (unsigned int)v;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("scenario", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(
			"scenario",
			"which scenario? (encrypted-swap, network-swap)");
	if (!mmt_scenario_parse(argv[optind], &kind))
		return cli_usage_error(
			"scenario",
			"unknown scenario '%s' (encrypted-swap, network-swap)",
			argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error("scenario", "unexpected argument '%s'",
				       argv[optind + 1]);
	env = getenv("MMT_BUGS");
	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("scenario", "MMT_BUGS=%s: %s",
					       env, err);
		bugs |= mask;
	}

	mmt_scenario_defaults(&o, kind);
	o.bugs = bugs;
	o.mempool_policy = policy;
	o.slab = slab;
	o.writers = (int)writers;
	o.memory_pages = memory;
	o.working_set = working ? working : memory * 3 / 2;
	o.worker_flags = less ? MMT_PF_LESS_THROTTLE : 0;
	o.stall_jiffies = stall;
	if (eng.source >= 0) {
		o.engine = run_on_dsched;
		o.engine_arg = &eng;
	}
	ok = mmt_scenario_run(&o, &res, stdout);
	if (eng.ds) {
		printf("schedule: %s seed %llu: %llu scheduling points, %llu switches%s\n",
		       eng.source == MMT_SCHED_PCT    ? "pct" :
		       eng.source == MMT_SCHED_RANDOM ? "random" :
							"rr",
		       (unsigned long long)eng.seed,
		       (unsigned long long)mmt_dsched_points(eng.ds),
		       (unsigned long long)mmt_dsched_switches(eng.ds),
		       eng.result == MMT_DSCHED_DONE ?
			       "" :
		       eng.result == MMT_DSCHED_DEADLOCK ?
			       " (abandoned at the deadlock)" :
			       " (abandoned)");
		/* After the machine: its abandoned kthreads' joins. */
		mmt_dsched_machine_gone(eng.ds);
		mmt_dsched_destroy(eng.ds);
	}
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
