/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_scenario.c - `mmtorture scenario encrypted-swap|network-swap`:
 * run one of the worlds of seeds 001 and 004 (alloc/scenario.c) to
 * completion under memory pressure, print what happened and every
 * violation, and exit 1 on a finding.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
	OPT_HELP,
};

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
	return mmt_scenario_run(&o, &res, stdout) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
