/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_minimize.c - `mmtorture minimize FILE`: a finding's input
 * (text trace, a fuzzer's binary input with --target, or a reproducer a
 * fuzz run kept) minimized over its structure (tools/minimize.h), printed
 * for people, optionally with a standalone C regression test.
 *
 * Bad input (a trace that does not parse, an unknown target or bug, a
 * file that cannot be read) names the place or the option and exits 2;
 * an input that reports no finding exits 1.  Output files are written
 * whole or not at all (mmt_write_file_atomic()).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "minimize.h"
#include "mmt/check.h"
#include "replay.h"

enum {
	OPT_TARGET = 256,
	OPT_BUG,
	OPT_SIGNATURE,
	OPT_C,
	OPT_TIME,
	OPT_RUNS,
	OPT_REPEATS,
	OPT_SLAB,
	OPT_HELP
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s minimize [options] FILE\n"
		"\n"
		"Minimize a finding's input over the structure of its trace: fewer\n"
		"operations (handles kept consistent), simpler operations (GFP bits,\n"
		"orders, sizes, counts, CPUs), a shorter schedule, a smaller machine.\n"
		"A reduction is kept only if the program still reports the same\n"
		"signature (every one of 3 runs for a concurrent program).  FILE is a\n"
		"text trace, a reproducer kept by `fuzz`, or a fuzzer's binary input\n"
		"(give --target).  The result is a text trace with names for bugs,\n"
		"GFP masks and flags, on stdout or in -o FILE.\n"
		"\n"
		"Options:\n"
		"  --target T     decode a binary input over target T's operations\n"
		"  --bug ID       turn on an injectable bug (repeatable, or ID,ID);\n"
		"                 replaces a text header's bugs (MMT_BUGS likewise)\n"
		"  --signature S  keep this signature (default: the input's own finding)\n"
		"  -o FILE        write the minimized trace to FILE\n"
		"  --c FILE       also write a standalone C regression test that replays\n"
		"                 it and asserts the signature\n"
		"  --time S       budget in seconds (default 300; 0: none)\n"
		"  --runs N       budget in executions (default: none)\n"
		"  --repeats N    runs a concurrent candidate must pass (default 3)\n"
		"  --slab all     a differential finding (`replay --slab all`): each run\n"
		"                 compares every slab implementation\n"
		"  -v             print the progress of each pass on stderr\n"
		"  -q             print no statistics\n"
		"  --help         this text\n"
		"\n"
		"Exit status: 0 minimized, 1 the input reports no finding (or not\n"
		"reliably), 2 wrong usage or an input that cannot be read or parsed.\n",
		CLI_PROG);
}

int cmd_minimize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "signature", required_argument, NULL, OPT_SIGNATURE },
		{ "c", required_argument, NULL, OPT_C },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "repeats", required_argument, NULL, OPT_REPEATS },
		{ "slab", required_argument, NULL, OPT_SLAB },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct mmt_minimize_opts mo;
	struct mmt_minimize_stats st;
	struct mmt_program in, out;
	struct cli_replay r;
	enum mmt_trace_form form;
	const char *out_path = NULL, *c_path = NULL, *env, *file;
	char err[768], *text = NULL;
	uint64_t v, mask;
	mmt_opset_t ops;
	size_t size;
	bool quiet = false;
	int c;

	mmt_minimize_opts_default(&mo);
	cli_replay_init(&r);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":o:vqh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET:
			if (!mmt_trace_target_ops(optarg, &ops))
				return cli_usage_error(
					"minimize",
					"--target: '%s' is no target (see `mmtorture list targets`)",
					optarg);
			r.target = optarg;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("minimize", "--bug: %s",
						       err);
			r.opts.bugs |= mask;
			r.bugs_given = true;
			break;
		case OPT_SIGNATURE:
			mo.signature = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case OPT_C:
			c_path = optarg;
			break;
		case OPT_TIME:
			if (!cli_parse_u64("minimize", "--time", optarg, 0,
					   7 * 24 * 3600, &v))
				return CLI_EXIT_USAGE;
			mo.max_seconds = (double)v;
			break;
		case OPT_RUNS:
			if (!cli_parse_u64("minimize", "--runs", optarg, 1,
					   UINT32_MAX, &v))
				return CLI_EXIT_USAGE;
			mo.max_runs = (unsigned long)v;
			break;
		case OPT_REPEATS:
			if (!cli_parse_u64("minimize", "--repeats", optarg, 1,
					   100, &v))
				return CLI_EXIT_USAGE;
			mo.repeats = (unsigned int)v;
			break;
		case OPT_SLAB:
			if (strcmp(optarg, "all"))
				return cli_usage_error(
					"minimize",
					"--slab: only 'all' (a differential finding), not '%s'",
					optarg);
			mo.slab_all = true;
			break;
		case 'v':
			mo.log = stderr;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("minimize", c, argv);
		}
	}
	env = getenv("MMT_BUGS");
	if (env && *env && !r.bugs_given) {
		if (!mmt_bugs_parse(env, &mask, err, sizeof(err)))
			return cli_usage_error("minimize", "MMT_BUGS=%s: %s",
					       env, err);
		r.opts.bugs = mask;
		r.bugs_given = true;
	}
	if (optind >= argc)
		return cli_usage_error("minimize", "which input? (one FILE)");
	if (argc - optind > 1)
		return cli_usage_error("minimize",
				       "one input at a time ('%s' is a second)",
				       argv[optind + 1]);
	file = argv[optind];
	env = getenv(MMT_MEMPOOL_POLICIES_ENV);
	if (env && *env &&
	    !mmt_trace_bin_set_mempool_policies(env, err, sizeof(err)))
		return cli_usage_error("minimize", "%s=%s: %s",
				       MMT_MEMPOOL_POLICIES_ENV, env, err);

	mmt_program_init(&in);
	if (!cli_replay_load(&r, file, &in, &form, &size, err, sizeof(err))) {
		fprintf(stderr, "%s minimize: %s\n", CLI_PROG, err);
		mmt_program_free(&in);
		return CLI_EXIT_USAGE;
	}
	/* The run's bugs belong to the reproducer: they go in its header. */
	if (r.bugs_given || form != MMT_TRACE_FORM_TEXT)
		in.hdr.bugs = r.opts.bugs;

	if (!mmt_minimize_trace(&in, &mo, &out, &st, err, sizeof(err))) {
		fprintf(stderr, "%s minimize: %s: %s\n", CLI_PROG, file, err);
		mmt_finding_free(&st.finding);
		mmt_program_free(&in);
		return CLI_EXIT_FAIL;
	}
	text = mmt_minimize_format(&out, &st, file, NULL);
	if (!text) {
		fprintf(stderr, "%s minimize: out of memory\n", CLI_PROG);
		goto fail;
	}
	if (c_path) {
		char *cbuf = NULL;
		size_t clen = 0;
		FILE *f = open_memstream(&cbuf, &clen);
		const char *base = strrchr(c_path, '/');

		if (!f ||
		    !mmt_minimize_write_c(f, base ? base + 1 : c_path, text,
					  st.signature,
					  st.concurrent ? mo.repeats : 1)) {
			if (f)
				fclose(f);
			free(cbuf);
			fprintf(stderr, "%s minimize: out of memory\n",
				CLI_PROG);
			goto fail;
		}
		fclose(f);
		if (!mmt_write_file_atomic(c_path, cbuf, clen, err,
					   sizeof(err))) {
			free(cbuf);
			fprintf(stderr, "%s minimize: %s\n", CLI_PROG, err);
			goto fail;
		}
		free(cbuf);
	}
	if (out_path) {
		if (!mmt_write_file_atomic(out_path, text, strlen(text), err,
					   sizeof(err))) {
			fprintf(stderr, "%s minimize: %s\n", CLI_PROG, err);
			goto fail;
		}
	} else {
		fputs(text, stdout);
	}
	if (!quiet) {
		fprintf(stderr,
			"minimize: %s: %s\n"
			"minimize: operations %zu -> %zu, bytes %zu -> %zu (input file %zu)",
			file, st.signature, st.ops_before, st.ops_after,
			st.bytes_before, st.bytes_after, size);
		if (st.concurrent)
			fprintf(stderr, ", decisions %zu -> %zu",
				st.decisions_before, st.decisions_after);
		fprintf(stderr, "; %lu runs, %lu reductions, %.2f s%s\n",
			st.runs, st.accepted, st.seconds,
			st.budget_hit ? " (budget reached)" : "");
	}
	free(text);
	mmt_finding_free(&st.finding);
	mmt_program_free(&out);
	mmt_program_free(&in);
	return CLI_EXIT_OK;
fail:
	free(text);
	mmt_finding_free(&st.finding);
	mmt_program_free(&out);
	mmt_program_free(&in);
	return CLI_EXIT_FAIL;
}
