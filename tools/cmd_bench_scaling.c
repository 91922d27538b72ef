/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_bench_scaling.c - `mmtorture bench scaling`: the object
 * workloads (stress/workloads_object.c) side by side on the model's three
 * object allocators (kmalloc on SLUB, SLAB, sheaves) and on glibc,
 * jemalloc and mimalloc, at 1, 2, 4 and 8 threads (--threads), in one
 * run.  On a host with fewer cores the larger counts are oversubscribed:
 * the table then shows how each allocator bears preemption inside it.
 *
 * Each cell is one stress run (stress/runner.c) of --time seconds, with
 * no quiesced validation in between (the final one still runs and must
 * find nothing: a cell with a finding is marked, and the command exits
 * 1).  Reported per cell: ops/s (an op is one workload op: a swap of one
 * larson slot, one produce or consume, one sizes alloc or free, one batch
 * of --batch blocks), p99 of the object allocation and free latency (ns,
 * from the runner's log2-linear histograms: within 12.5%), and for the
 * model's cells the ops/s as a ratio to glibc's of the same workload and
 * thread count.  The allocators run in a child process each (the runner's
 * --allocator path), the model in this one.
 *
 * Wall-clock figures on a shared host swing: the table says what was
 * measured, on what, and --json keeps every cell for comparison.  Build
 * with the release preset (MMT_DEBUG=0) for figures worth comparing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "mmt/mmt.h"
#include "plugins/heap.h"
#include "stress.h"

#define SCALING_MAX_THREADS 64
#define SCALING_MAX_COUNTS 8

struct heap_col {
	const char *name; /* column: "slub", ..., "glibc" */
	bool model;
	enum mmt_slab_impl slab;
	const char *allocator;
};

static const struct heap_col cols[] = {
	{ "slub", true, MMT_SLAB_SLUB, NULL },
	{ "slab", true, MMT_SLAB_SLAB, NULL },
	{ "sheaves", true, MMT_SLAB_SHEAVES, NULL },
	{ "glibc", false, MMT_SLAB_SLUB, "glibc" },
	{ "jemalloc", false, MMT_SLAB_SLUB, "jemalloc" },
	{ "mimalloc", false, MMT_SLAB_SLUB, "mimalloc" },
};
#define NR_COLS (sizeof(cols) / sizeof(cols[0]))
#define GLIBC_COL 3

struct cell {
	bool ran;
	double ops_per_s;
	uint64_t p99_alloc, p99_free;
	unsigned long findings;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s bench scaling [options]\n"
		"\n"
		"ops/s of each object workload (larson, prodcons, sizes, batch) at 1, 2,\n"
		"4 and 8 threads on the model's SLUB, SLAB and sheaves and on glibc,\n"
		"jemalloc and mimalloc, with p99 allocation and free latency, and the\n"
		"model's ops/s as a ratio to glibc's; one stress run per cell.\n"
		"\n"
		"Options:\n"
		"  --time D     seconds per cell (default 2; --quick: 0.5)\n"
		"  --quick      0.5 s per cell\n"
		"  --seed S     the runs' seed (default 1)\n"
		"  --workloads W,W  only these object workloads (default: all)\n"
		"  --threads N,N  these thread counts, 1..64 (default 1,2,4,8)\n"
		"  --json FILE  every cell as JSON (written whole: tmp + rename)\n"
		"  --help       this text\n"
		"\n"
		"Exit status: 0, 1 if a cell could not run or found something, 2 wrong\n"
		"usage.  Use the release build (build/release/mmtorture).\n",
		CLI_PROG);
}

static uint64_t p99_of(json_t *run, const char *layer)
{
	json_t *l = json_object_get(json_object_get(run, "latency"), layer);

	return (uint64_t)json_integer_value(json_object_get(l, "p99_ns"));
}

static void fmt_rate(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

static bool write_json(json_t *root, const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (json_dump_file(root, tmp, CLI_JSON_FLAGS) || rename(tmp, path)) {
		fprintf(stderr, "%s bench scaling: cannot write %s: %s\n",
			CLI_PROG, path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

enum {
	OPT_TIME = 256,
	OPT_QUICK,
	OPT_SEED,
	OPT_JSON,
	OPT_WORKLOADS,
	OPT_THREADS,
	OPT_HELP
};

#define SCALING_MAX_WORKLOADS 64

/* --workloads a,b: mark each; false (usage error printed) on a bad name. */
static bool parse_workloads(const char *arg, bool *wanted)
{
	char buf[512], *tok, *save = NULL;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", arg);
	memset(wanted, 0, SCALING_MAX_WORKLOADS * sizeof(*wanted));
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < mmt_stress_nr_object_workloads; i++)
			if (!strcmp(mmt_stress_object_workloads[i].name, tok))
				break;
		if (i == mmt_stress_nr_object_workloads ||
		    i >= SCALING_MAX_WORKLOADS) {
			cli_usage_error(
				"bench scaling",
				"--workloads: '%s' is no object workload ('%s stress --list')",
				tok, CLI_PROG);
			return false;
		}
		wanted[i] = true;
	}
	return true;
}

/* --threads 1,2,4: the counts in @counts; false (usage error printed). */
static bool parse_threads(const char *arg, unsigned int *counts, size_t *n)
{
	const char *p = arg;
	char *end;

	*n = 0;
	do {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || (*end && *end != ',') || v < 1 ||
		    v > SCALING_MAX_THREADS) {
			cli_usage_error(
				"bench scaling",
				"--threads: '%s' is not a list of thread counts in 1..%d",
				arg, SCALING_MAX_THREADS);
			return false;
		}
		if (*n == SCALING_MAX_COUNTS) {
			cli_usage_error(
				"bench scaling",
				"--threads: more than %d counts in '%s'",
				SCALING_MAX_COUNTS, arg);
			return false;
		}
		counts[(*n)++] = (unsigned int)v;
		p = end + (*end == ',');
	} while (*end);
	return true;
}

int cmd_bench_scaling(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, OPT_TIME },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "workloads", required_argument, NULL, OPT_WORKLOADS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int thread_counts[SCALING_MAX_COUNTS] = { 1, 2, 4, 8 };
	size_t nt = 4;
	const size_t nw = mmt_stress_nr_object_workloads;
	struct cell *cells;
	double time_s = 2.0;
	uint64_t seed = 1;
	char *end;
	const char *json_out = NULL;
	json_t *jcells = json_array(), *root;
	unsigned long bad = 0;
	bool wanted[SCALING_MAX_WORKLOADS];
	size_t w, t, c, nr_wanted = 0;
	int opt;

	for (w = 0; w < SCALING_MAX_WORKLOADS; w++)
		wanted[w] = true;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TIME:
			time_s = strtod(optarg, &end);
			if (end == optarg || *end || !(time_s >= 0.1) ||
			    time_s > 600) {
				json_decref(jcells);
				return cli_usage_error(
					"bench scaling",
					"--time: '%s' is not seconds in 0.1..600",
					optarg);
			}
			break;
		case OPT_QUICK:
			time_s = 0.5;
			break;
		case OPT_SEED:
			if (!cli_parse_u64("bench scaling", "--seed", optarg, 0,
					   UINT64_MAX, &seed)) {
				json_decref(jcells);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			json_out = optarg;
			break;
		case OPT_WORKLOADS:
			if (!parse_workloads(optarg, wanted)) {
				json_decref(jcells);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_THREADS:
			if (!parse_threads(optarg, thread_counts, &nt)) {
				json_decref(jcells);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			json_decref(jcells);
			return CLI_EXIT_OK;
		default:
			json_decref(jcells);
			return cli_getopt_error("bench scaling", opt, argv);
		}
	}
	if (optind < argc) {
		json_decref(jcells);
		return cli_usage_error("bench scaling",
				       "unexpected argument '%s'",
				       argv[optind]);
	}

	/*
	 * Load the allocators once before measuring: jemalloc may need the
	 * loader to re-execute this process (its static TLS), which must
	 * happen before any figure is printed, not halfway.
	 */
	for (c = 0; c < NR_COLS; c++) {
		struct mmt_heap h;
		bool unknown;
		char err[512];

		if (cols[c].model)
			continue;
		if (!mmt_heap_open(cols[c].allocator, &h, &unknown, err,
				   sizeof(err))) {
			fprintf(stderr, "%s bench scaling: %s\n", CLI_PROG,
				err);
			json_decref(jcells);
			return CLI_EXIT_FAIL;
		}
	}
	cells = calloc(nw * nt * NR_COLS, sizeof(*cells));
	if (!cells) {
		json_decref(jcells);
		return CLI_EXIT_FAIL;
	}
	for (w = 0; w < nw; w++)
		nr_wanted += wanted[w];
	printf("bench scaling: %zu workload(s) x %zu thread count(s) x %zu heap(s), %g s per cell, seed %" PRIu64
	       ", %s build\n",
	       nr_wanted, nt, NR_COLS, time_s, seed,
	       MMT_DEBUG ? "DEBUG (not for figures)" : "release");
	fflush(stdout);
	for (w = 0; w < nw; w++) {
		if (!wanted[w])
			continue;
		for (t = 0; t < nt; t++) {
			for (c = 0; c < NR_COLS; c++) {
				struct cell *ce =
					&cells[(w * nt + t) * NR_COLS + c];
				struct mmt_stress_params p = {
					.threads = thread_counts[t],
					.time_s = time_s,
					.seed = seed,
					.slab = cols[c].slab,
					.allocator = cols[c].allocator,
				};
				struct mmt_stress_env env = { .quiet = true };
				struct mmt_stress_outcome out;
				char err[512];

				if (mmt_stress_execute(
					    &mmt_stress_object_workloads[w], &p,
					    &env, &out, err, sizeof(err))) {
					fprintf(stderr,
						"%s bench scaling: %s on %s: %s\n",
						CLI_PROG,
						mmt_stress_object_workloads[w]
							.name,
						cols[c].name, err);
					bad++;
					continue;
				}
				ce->ran = true;
				ce->ops_per_s = out.ops_per_s;
				ce->p99_alloc = p99_of(out.json, "obj_alloc");
				ce->p99_free = p99_of(out.json, "obj_free");
				ce->findings = out.findings;
				if (out.findings)
					bad++;
				json_array_append_new(
					jcells,
					json_pack(
						"{s:s, s:s, s:i, s:f, s:I, s:I, s:I}",
						"workload",
						mmt_stress_object_workloads[w]
							.name,
						"heap", cols[c].name, "threads",
						(int)thread_counts[t],
						"ops_per_s", out.ops_per_s,
						"p99_alloc_ns",
						(json_int_t)ce->p99_alloc,
						"p99_free_ns",
						(json_int_t)ce->p99_free,
						"findings",
						(json_int_t)out.findings));
				json_decref(out.json);
			}
		}
	}

	/* The table: ops/s (ratio to glibc), then p99 alloc/free in ns. */
	printf("\nops/s (model: x glibc's)\n%-9s %3s", "workload", "thr");
	for (c = 0; c < NR_COLS; c++)
		printf(" %15s", cols[c].name);
	putchar('\n');
	for (w = 0; w < nw; w++) {
		if (!wanted[w])
			continue;
		for (t = 0; t < nt; t++) {
			const struct cell *row = &cells[(w * nt + t) * NR_COLS];

			printf("%-9s %3u", mmt_stress_object_workloads[w].name,
			       thread_counts[t]);
			for (c = 0; c < NR_COLS; c++) {
				char rate[32], buf[48];

				if (!row[c].ran) {
					printf(" %15s", "-");
					continue;
				}
				fmt_rate(rate, sizeof(rate), row[c].ops_per_s);
				if (cols[c].model && row[GLIBC_COL].ran &&
				    row[GLIBC_COL].ops_per_s > 0)
					snprintf(
						buf, sizeof(buf), "%s x%.2f%s",
						rate,
						row[c].ops_per_s /
							row[GLIBC_COL].ops_per_s,
						row[c].findings ? "!" : "");
				else
					snprintf(buf, sizeof(buf), "%s%s", rate,
						 row[c].findings ? "!" : "");
				printf(" %15s", buf);
			}
			putchar('\n');
		}
	}
	printf("\np99 latency, ns (alloc/free)\n%-9s %3s", "workload", "thr");
	for (c = 0; c < NR_COLS; c++)
		printf(" %15s", cols[c].name);
	putchar('\n');
	for (w = 0; w < nw; w++) {
		if (!wanted[w])
			continue;
		for (t = 0; t < nt; t++) {
			const struct cell *row = &cells[(w * nt + t) * NR_COLS];

			printf("%-9s %3u", mmt_stress_object_workloads[w].name,
			       thread_counts[t]);
			for (c = 0; c < NR_COLS; c++) {
				char buf[48];

				if (!row[c].ran)
					snprintf(buf, sizeof(buf), "-");
				else
					snprintf(buf, sizeof(buf),
						 "%" PRIu64 "/%" PRIu64,
						 row[c].p99_alloc,
						 row[c].p99_free);
				printf(" %15s", buf);
			}
			putchar('\n');
		}
	}
	if (bad)
		printf("\n%lu cell(s) did not run or found something ('!')\n",
		       bad);
	if (json_out) {
		root = json_pack("{s:s, s:s, s:f, s:I, s:o}", "bench",
				 "scaling", "build",
				 MMT_DEBUG ? "debug" : "release", "time_s",
				 time_s, "seed", (json_int_t)seed, "cells",
				 jcells);
		if (!root || !write_json(root, json_out))
			bad++;
		json_decref(root);
	} else {
		json_decref(jcells);
	}
	free(cells);
	return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
