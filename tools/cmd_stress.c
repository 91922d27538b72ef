/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_stress.c - `mmtorture stress WORKLOAD|all`: the free-running
 * stressors (stress/): real threads over one model machine, or an object
 * workload over a user's allocator, for a time; a live progress line,
 * the findings with the command that reruns each, a summary, and the JSON
 * metrics.
 *
 * `all` runs every workload (the model's, then the object ones) in turn,
 * --time each; object workloads only under --allocator.  Exit 1 when any
 * run found anything, 2 on wrong usage (before anything runs), else 0.
 *
 * Progress: on a terminal (stderr), one line rewritten ~4 times a second
 * (elapsed, ops/s over the last interval, findings); otherwise a log line
 * at most every 5 s, so that a CI log stays readable.
 *
 * The JSON file is written to FILE.tmp.PID and renamed over FILE once
 * whole: a failed or interrupted run never leaves half a file.
 *
 * Under TSan (the tsan preset) each report TSan prints during a run is
 * taken by tools/tsan_finding.c's report hook and becomes a finding of
 * the run, "data-race|LAYER|FUNCTION", like the other commands'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "mmt/mmt.h"
#include "stress.h"
#include "tsan_finding.h"

#define STRESS_DEFAULT_TIME 10.0
#define STRESS_MAX_TIME (7.0 * 86400)
#define STRESS_DEFAULT_KCSAN_US 50
#define STRESS_LOG_EVERY_S 5.0

struct stress_opts {
	struct mmt_stress_params p;
	const char *workload;
	const char *json;
	bool list, seeded;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s stress WORKLOAD|all [options]\n"
		"       %s stress --list\n"
		"\n"
		"Run a stressor: real threads, each attached to a simulated CPU (pinned to\n"
		"its PU under --topology), hammer one model machine - or, for an object\n"
		"workload, a user's allocator - for a time.  Every --quiesce seconds the\n"
		"threads stop between two operations and the validators run; at the end\n"
		"every thread frees what it holds, the machine is drained and validated\n"
		"and no page may be left.  Object workloads stamp every block with a\n"
		"cookie and verify it before the free.  Each finding is printed with its\n"
		"workload, seed and the command that reruns it.\n"
		"\n"
		"Options:\n"
		"  --list          the workloads, one a line\n"
		"  --threads N     worker threads, 1..%d (default: the topology's CPUs, else 4)\n"
		"  --time D        run time of each workload: 10, 10s, 2m, 1h (default 10 s)\n"
		"  --seed S        seed of the threads' streams (default: random, printed)\n"
		"  --topology T    'real', an hwloc synthetic spec ('package:2 numa:2 core:8\n"
		"                  pu:2') or an hwloc XML file: nodes, CPUs and pinning\n"
		"  --bug ID        turn on an injectable bug; repeatable, or ID,ID\n"
		"                  ('%s list bugs'; MMT_BUGS=ID,ID in the environment adds more)\n"
		"  --slab IMPL     the model's object allocator: slub (default), slab, sheaves\n"
		"  --allocator X   object workloads on an allocator instead of the model:\n"
		"                  glibc, jemalloc, mimalloc or PATH.so, in a child process\n"
		"                  (a crash or hang is a finding of the allocator)\n"
		"  --kcsan[=US]    random delays of up to US microseconds (default %d) at\n"
		"                  the model's scheduling points, to widen race windows\n"
		"  --quiesce D     interval of the quiesced validations (default 1 s; 0: only\n"
		"                  at the end)\n"
		"  --size-min N, --size-max N, --batch N\n"
		"                  object sizes and batch size (default: the workload's)\n"
		"  --json FILE     the metrics and findings of every run, as JSON\n"
		"  --help          this text\n"
		"\n"
		"Exit status: 0 nothing found, 1 finding(s), 2 wrong usage.\n",
		CLI_PROG, CLI_PROG, MMT_MAX_CPUS, CLI_PROG,
		STRESS_DEFAULT_KCSAN_US);
}

static void list_workloads(void)
{
	size_t i;

	for (i = 0; i < mmt_stress_nr_model_workloads; i++)
		printf("%-28s model   %s\n", mmt_stress_model_workloads[i].name,
		       mmt_stress_model_workloads[i].summary);
	for (i = 0; i < mmt_stress_nr_object_workloads; i++)
		printf("%-28s object  %s\n",
		       mmt_stress_object_workloads[i].name,
		       mmt_stress_object_workloads[i].summary);
}

/* 90, 90s, 1.5m, 2h: seconds, in (0, 7 days]. */
static bool parse_duration(const char *opt, const char *s, double lo,
			   double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		goto bad;
	if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (*end && strcmp(end, "s"))
		goto bad;
	if (!(v >= lo && v <= STRESS_MAX_TIME))
		goto bad;
	*out = v;
	return true;
bad:
	cli_usage_error(
		"stress",
		"%s: '%s' is not a duration (10, 10s, 2m, 1h; %g s to 7 days)",
		opt, s, lo);
	return false;
}

/* ---- progress ---- */

struct progress {
	const char *name;
	bool tty;
	double last_t, last_log;
	uint64_t last_ops;
	bool drew;
};

static void on_progress(void *arg, double elapsed, uint64_t ops,
			unsigned long findings)
{
	struct progress *pr = arg;
	double dt = elapsed - pr->last_t;
	double rate = dt > 0 ? (double)(ops - pr->last_ops) / dt : 0;

	if (ops < pr->last_ops)
		rate = 0;
	if (pr->tty) {
		fprintf(stderr,
			"\r\033[K%s: %6.1f s, %10.0f ops/s, %lu finding(s)",
			pr->name, elapsed, rate, findings);
		pr->drew = true;
	} else if (elapsed - pr->last_log >= STRESS_LOG_EVERY_S) {
		fprintf(stderr, "%s: %.1f s, %.0f ops/s, %lu finding(s)\n",
			pr->name, elapsed, rate, findings);
		pr->last_log = elapsed;
	}
	pr->last_t = elapsed;
	pr->last_ops = ops;
}

/* ---- TSan's reports (tools/tsan_finding.c) ---- */

static void race_begin(void)
{
	mmt_race_begin();
}

static bool race_take(char *sig, size_t siglen, char *msg, size_t msglen)
{
	struct mmt_finding f;

	memset(&f, 0, sizeof(f));
	if (!mmt_race_take(&f, 0))
		return false;
	snprintf(sig, siglen, "%s", f.signature);
	snprintf(msg, msglen, "%s at %s: %s", f.signature, f.site, f.message);
	mmt_finding_free(&f);
	return true;
}

/* ---- options ---- */

enum {
	OPT_THREADS = 256,
	OPT_TIME,
	OPT_SEED,
	OPT_TOPOLOGY,
	OPT_BUG,
	OPT_SLAB,
	OPT_ALLOCATOR,
	OPT_KCSAN,
	OPT_QUIESCE,
	OPT_JSON,
	OPT_LIST,
	OPT_SIZE_MIN,
	OPT_SIZE_MAX,
	OPT_BATCH,
	OPT_HELP,
};

/* 0 to go on, -1 done (--help), else the exit code. */
static int parse_opts(int argc, char **argv, struct stress_opts *o)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "topology", required_argument, NULL, OPT_TOPOLOGY },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "slab", required_argument, NULL, OPT_SLAB },
		{ "allocator", required_argument, NULL, OPT_ALLOCATOR },
		{ "kcsan", optional_argument, NULL, OPT_KCSAN },
		{ "quiesce", required_argument, NULL, OPT_QUIESCE },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "size-min", required_argument, NULL, OPT_SIZE_MIN },
		{ "size-max", required_argument, NULL, OPT_SIZE_MAX },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *env;
	char err[256];
	uint64_t v, mask;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_THREADS:
			if (!cli_parse_u64("stress", "--threads", optarg, 1,
					   MMT_MAX_CPUS, &v))
				return CLI_EXIT_USAGE;
			o->p.threads = (unsigned int)v;
			break;
		case OPT_TIME:
			if (!parse_duration("--time", optarg, 0.1,
					    &o->p.time_s))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SEED:
			if (!cli_parse_u64("stress", "--seed", optarg, 0,
					   UINT64_MAX, &o->p.seed))
				return CLI_EXIT_USAGE;
			o->seeded = true;
			break;
		case OPT_TOPOLOGY:
			o->p.topology = optarg;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("stress", "--bug: %s",
						       err);
			o->p.bugs |= mask;
			break;
		case OPT_SLAB:
			if (!strcmp(optarg, "slub"))
				o->p.slab = MMT_SLAB_SLUB;
			else if (!strcmp(optarg, "slab"))
				o->p.slab = MMT_SLAB_SLAB;
			else if (!strcmp(optarg, "sheaves"))
				o->p.slab = MMT_SLAB_SHEAVES;
			else
				return cli_usage_error(
					"stress",
					"--slab: '%s' is not slub, slab or sheaves",
					optarg);
			break;
		case OPT_ALLOCATOR:
			o->p.allocator = optarg;
			break;
		case OPT_KCSAN:
			o->p.kcsan_delay_us = STRESS_DEFAULT_KCSAN_US;
			if (optarg) {
				if (!cli_parse_u64("stress", "--kcsan", optarg,
						   1, 1000000, &v))
					return CLI_EXIT_USAGE;
				o->p.kcsan_delay_us = (unsigned int)v;
			}
			break;
		case OPT_QUIESCE:
			if (!strcmp(optarg, "0"))
				o->p.quiesce_s = 0;
			else if (!parse_duration("--quiesce", optarg, 0.01,
						 &o->p.quiesce_s))
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			o->json = optarg;
			break;
		case OPT_LIST:
			o->list = true;
			break;
		case OPT_SIZE_MIN:
		case OPT_SIZE_MAX:
			if (!cli_parse_u64("stress",
					   c == OPT_SIZE_MIN ? "--size-min" :
							       "--size-max",
					   optarg, 1, 1u << 22, &v))
				return CLI_EXIT_USAGE;
			if (c == OPT_SIZE_MIN)
				o->p.size_min = (size_t)v;
			else
				o->p.size_max = (size_t)v;
			break;
		case OPT_BATCH:
			if (!cli_parse_u64("stress", "--batch", optarg, 1, 1024,
					   &v))
				return CLI_EXIT_USAGE;
			o->p.batch = (unsigned int)v;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return -1;
		default:
			return cli_getopt_error("stress", c, argv);
		}
	}
	if (o->list)
		return 0;
	if (optind >= argc)
		return cli_usage_error("stress",
				       "which workload? ('%s stress --list')",
				       CLI_PROG);
	o->workload = argv[optind++];
	if (optind < argc)
		return cli_usage_error("stress", "unexpected argument '%s'",
				       argv[optind]);
	if (strcmp(o->workload, "all") && !mmt_stress_find(o->workload))
		return cli_usage_error(
			"stress", "unknown workload '%s' ('%s stress --list')",
			o->workload, CLI_PROG);
	if (o->p.size_min && o->p.size_max && o->p.size_min > o->p.size_max)
		return cli_usage_error("stress",
				       "--size-min %zu is above --size-max %zu",
				       o->p.size_min, o->p.size_max);
	env = getenv("MMT_BUGS");
	if (env && *env) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("stress", "MMT_BUGS=%s: %s", env,
					       err);
		o->p.bugs |= mask;
	}
	return 0;
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 32);
	return cli_splitmix64(&s);
}

/* @root to @path whole or not at all (tmp + rename). */
static bool write_json_atomically(json_t *root, const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (json_dump_file(root, tmp, CLI_JSON_FLAGS)) {
		fprintf(stderr, "%s stress: cannot write %s: %s\n", CLI_PROG,
			tmp, strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path)) {
		fprintf(stderr, "%s stress: cannot rename %s to %s: %s\n",
			CLI_PROG, tmp, path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

/* ---- the command ---- */

int cmd_stress(int argc, char **argv)
{
	struct stress_opts o = { .p = { .time_s = STRESS_DEFAULT_TIME,
					.quiesce_s = 1.0 } };
	const struct mmt_stress_workload *todo[256];
	size_t nr = 0, i;
	unsigned long findings = 0, failed = 0;
	json_t *runs = json_array(), *root;
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret) {
		json_decref(runs);
		return ret < 0 ? CLI_EXIT_OK : ret;
	}
	if (o.list) {
		list_workloads();
		json_decref(runs);
		return CLI_EXIT_OK;
	}
	if (!o.seeded)
		o.p.seed = random_seed();
	if (!strcmp(o.workload, "all")) {
		for (i = 0; i < mmt_stress_nr_model_workloads && nr < 256; i++)
			if (!o.p.allocator)
				todo[nr++] = &mmt_stress_model_workloads[i];
		for (i = 0; i < mmt_stress_nr_object_workloads && nr < 256; i++)
			todo[nr++] = &mmt_stress_object_workloads[i];
	} else {
		todo[nr++] = mmt_stress_find(o.workload);
		if (o.p.allocator && todo[0]->kind != MMT_STRESS_OBJECT) {
			json_decref(runs);
			return cli_usage_error(
				"stress",
				"--allocator: '%s' is a model workload; only object workloads run on an allocator",
				o.workload);
		}
	}
	for (i = 0; i < nr; i++) {
		struct progress pr = { .name = todo[i]->name,
				       .tty = isatty(2) };
		struct mmt_stress_env env = {
			.progress = on_progress,
			.progress_arg = &pr,
			.race_begin = race_begin,
			.race_take = race_take,
		};
		struct mmt_stress_outcome out;
		char err[512];

		ret = mmt_stress_execute(todo[i], &o.p, &env, &out, err,
					 sizeof(err));
		if (pr.drew)
			fprintf(stderr, "\r\033[K");
		if (ret == CLI_EXIT_USAGE && i == 0) {
			json_decref(runs);
			return cli_usage_error("stress", "%s", err);
		}
		if (ret) {
			fprintf(stderr, "%s stress %s: %s\n", CLI_PROG,
				todo[i]->name, err);
			failed++;
			continue;
		}
		printf("stress %s: %s, %" PRIu64
		       " ops in %.1f s (%.0f ops/s), %" JSON_INTEGER_FORMAT
		       " quiesced validation(s)",
		       todo[i]->name, out.findings ? "FINDINGS" : "ok", out.ops,
		       out.active_s, out.ops_per_s,
		       json_integer_value(
			       json_object_get(out.json, "quiesces")));
		if (o.p.kcsan_delay_us)
			printf(", %" JSON_INTEGER_FORMAT " kcsan delay(s)",
			       json_integer_value(json_object_get(
				       out.json, "kcsan_delays")));
		printf(", %lu finding(s)\n", out.findings);
		fflush(stdout);
		findings += out.findings;
		json_array_append_new(runs, out.json);
	}
	if (nr > 1)
		printf("stress all: %zu workload(s), seed %" PRIu64
		       ", %lu finding(s)%s\n",
		       nr, o.p.seed, findings,
		       failed ? ", some did not run" : "");
	if (o.json) {
		root = json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:s}", "tool",
				 CLI_PROG, "version", MMT_VERSION, "sanitizer",
				 cli_sanitizer(), "seed", (json_int_t)o.p.seed,
				 "runs", runs, "findings", (json_int_t)findings,
				 "result",
				 findings ? "fail" :
				 failed	  ? "error" :
					    "ok");
		if (root && write_json_atomically(root, o.json))
			printf("stress: metrics written to %s\n", o.json);
		else
			failed++;
		json_decref(root);
	} else {
		json_decref(runs);
	}
	return findings || failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
