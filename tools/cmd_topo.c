/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_topo.c - `mmtorture topo`: load a topology (this machine's, a
 * synthetic description, an hwloc XML file), map the simulated nodes and
 * CPUs onto it (topology/, mmt/topology.h) and print the mapping with an
 * lstopo-like tree, or the same as JSON; `--export FILE.xml` writes the
 * loaded topology as hwloc XML (to keep a machine's topology, or to turn a
 * synthetic description into a file `--topology FILE.xml` loads).
 *
 * Bad input (a description hwloc refuses, a missing or broken XML file,
 * more nodes than the topology has) exits 2 with the place and the reason.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mmt/topology.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s topo [--topology SPEC|FILE.xml] [--nodes N] [--cpus N]\n"
		"                     [--json] [--export FILE.xml]\n"
		"\n"
		"Show how the model's simulated nodes and CPUs map onto a machine\n"
		"topology (hwloc): which NUMA node (or package) each simulated node is,\n"
		"which PU each simulated CPU runs on, the node distances the model uses,\n"
		"and an lstopo-like tree of the topology.\n"
		"\n"
		"Options:\n"
		"  --topology T  'real' (default: this machine), an hwloc synthetic\n"
		"                description ('package:2 numa:2 core:8 pu:2'), or an hwloc\n"
		"                XML file (a path with '/', a name ending in .xml, or an\n"
		"                existing file; 'lstopo FILE.xml' writes one)\n"
		"  --nodes N     simulated nodes, 1..%d (default: every NUMA node, at most %d)\n"
		"  --cpus N      simulated CPUs, 1..%d (default: one per PU of those nodes);\n"
		"                more than PUs oversubscribes them round robin\n"
		"  --json        the mapping and the tree as one JSON object\n"
		"  --export F    also write the loaded topology to F as hwloc XML\n"
		"  --help        this text\n"
		"\n"
		"Exit status: 0 ok, 1 the export failed, 2 wrong usage or a bad topology.\n",
		CLI_PROG, MMT_MAX_NODES, MMT_MAX_NODES, MMT_MAX_CPUS);
}

enum {
	OPT_TOPOLOGY = 256,
	OPT_NODES,
	OPT_CPUS,
	OPT_JSON,
	OPT_EXPORT,
	OPT_HELP,
};

int cmd_topo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "topology", required_argument, NULL, OPT_TOPOLOGY },
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct mmt_topo_opts o = { 0 };
	const char *export = NULL;
	struct mmt_topo *t;
	bool json = false;
	char err[512];
	uint64_t v;
	int c, ret = CLI_EXIT_OK;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TOPOLOGY:
			o.spec = optarg;
			break;
		case OPT_NODES:
			if (!cli_parse_u64("topo", "--nodes", optarg, 1,
					   MMT_MAX_NODES, &v))
				return CLI_EXIT_USAGE;
			o.nodes = (int)v;
			break;
		case OPT_CPUS:
			if (!cli_parse_u64("topo", "--cpus", optarg, 1,
					   MMT_MAX_CPUS, &v))
				return CLI_EXIT_USAGE;
			o.cpus = (int)v;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_EXPORT:
			export = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("topo", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("topo", "unexpected argument '%s'",
				       argv[optind]);

	t = mmt_topo_create(&o, err, sizeof(err));
	if (!t)
		return cli_usage_error("topo", "%s", err);
	if (json) {
		json_t *root = mmt_topo_to_json(t);

		json_dumpf(root, stdout, CLI_JSON_FLAGS);
		fputc('\n', stdout);
		json_decref(root);
	} else {
		mmt_topo_print(t, stdout);
	}
	if (export) {
		if (mmt_topo_export_xml(t, export, err, sizeof(err))) {
			fprintf(json ? stderr : stdout,
				"topo: topology written to %s\n", export);
		} else {
			fprintf(stderr, "%s topo: --export: %s\n", CLI_PROG,
				err);
			ret = CLI_EXIT_FAIL;
		}
	}
	mmt_topo_destroy(t);
	return ret;
}
