/* SPDX-License-Identifier: MIT */
/*
 * tools/mmtorture.c - the mmtorture command: dispatch to the subcommands
 * (list, run, bench, topo, version; tools/cmd_*.c), the top-level help, and the
 * helpers every subcommand shares (usage errors, number parsing, the build
 * description).
 *
 * Conventions of every subcommand: options by getopt_long, `--help` prints
 * the usage on stdout and exits 0; wrong usage prints one line naming the bad
 * option or value on stderr and exits 2; a run that found violations exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mmt/mmt.h"

static const struct cli_cmd cmds[] = {
	{ "list", "list the layers, checks and injectable bugs of this build",
	  cmd_list },
	{ "run",
	  "run a short multi-threaded workload over the model and check it",
	  cmd_run },
	{ "bench",
	  "benchmarks: pages, slab, trace (ns per operation), bugs, fuzz (fuzzers)",
	  cmd_bench },
	{ "scenario",
	  "run the encrypted-swap or network-swap world to completion",
	  cmd_scenario },
	{ "trace", "print, compile and list the operation language",
	  cmd_trace },
	{ "replay", "run saved inputs or traces once and print each finding",
	  cmd_replay },
	{ "fuzz",
	  "fuzz a target with libFuzzer or AFL++; keep one reproducer per finding",
	  cmd_fuzz },
	{ "campaign",
	  "fuzz every target for a fixed time each, then write a summary",
	  cmd_campaign },
	{ "pct",
	  "run programs under PCT schedules, seed after seed, without a fuzzer",
	  cmd_pct },
	{ "topo",
	  "show how simulated nodes and CPUs map onto a real, synthetic or XML topology",
	  cmd_topo },
	{ "stress",
	  "topology-aware multi-threaded stressors over the model or an allocator",
	  cmd_stress },
	{ "minimize", "minimize a finding's trace over its structure",
	  cmd_minimize },
	{ "corpus", "merge, minimize and grow the corpora (promote a finding)",
	  cmd_corpus },
	{ "version", "print the version and build configuration", cmd_version },
	{ "nightly",
	  "the budgeted nightly run: fuzz, store findings, write the report",
	  cmd_nightly },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: %s <command> [options]\n"
		"       %s --help | --version\n"
		"\n"
		"A userspace model of the Linux kernel allocator stack and a torture\n"
		"framework for it.\n"
		"\n"
		"Commands:\n",
		CLI_PROG, CLI_PROG);
	for (i = 0; i < MMT_ARRAY_SIZE(cmds); i++)
		if (cmds[i].fn)
			fprintf(out, "  %-10s %s\n", cmds[i].name,
				cmds[i].summary);
	fprintf(out, "\nComing (not in this build yet):\n");
	for (i = 0; i < MMT_ARRAY_SIZE(cmds); i++)
		if (!cmds[i].fn)
			fprintf(out, "  %-10s %s\n", cmds[i].name,
				cmds[i].summary);
	fprintf(out,
		"\n"
		"'%s <command> --help' describes a command.\n"
		"Exit status: 0 ok, 1 violations found (or the run failed), 2 wrong usage.\n",
		CLI_PROG);
}

/* ---- shared helpers (cli.h) ---- */

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (cmd)
		fprintf(stderr, "%s %s: ", CLI_PROG, cmd);
	else
		fprintf(stderr, "%s: ", CLI_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "Try '%s %s --help'.\n", CLI_PROG, cmd);
	else
		fprintf(stderr, "Try '%s --help'.\n", CLI_PROG);
	return CLI_EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, int c, char **argv)
{
	/* getopt_long() has moved optind past the offending word. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";
	bool is_long = !strncmp(word, "--", 2);
	int len = (int)strcspn(word, "=");

	if (c == ':') {
		if (is_long)
			return cli_usage_error(cmd, "%.*s needs a value", len,
					       word);
		return cli_usage_error(cmd, "-%c needs a value", optopt);
	}
	if (is_long) {
		/* A known long option given "=value" sets optopt to its val. */
		if (optopt && word[len] == '=')
			return cli_usage_error(cmd, "%.*s takes no value", len,
					       word);
		return cli_usage_error(cmd, "unknown option '%.*s'", len, word);
	}
	if (optopt > 0 && optopt < 128)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	return cli_usage_error(cmd, "unknown option '%s'", word);
}

void cli_getopt_reset(void)
{
	optind = 0;
	opterr = 0;
	optopt = 0;
}

int cli_mkdirs(const char *path)
{
	char tmp[PATH_MAX], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0777) && errno != EEXIST ? -1 : 0;
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *arg,
		   uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	const char *p = arg;
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-') {
		/* strtoull would wrap "-1" around to a huge value. */
		cli_usage_error(cmd,
				"%s: %s is out of range %" PRIu64 "..%" PRIu64,
				opt, arg, lo, hi);
		return false;
	}
	errno = 0;
	v = strtoull(p, &end, 0);
	if (end == p || *end) {
		cli_usage_error(cmd, "%s: '%s' is not a number", opt, arg);
		return false;
	}
	if (errno == ERANGE || v < lo || v > hi) {
		cli_usage_error(cmd,
				"%s: %s is out of range %" PRIu64 "..%" PRIu64,
				opt, arg, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

const char *cli_compiler(void)
{
#if defined(__clang__)
	return "clang " __VERSION__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return __VERSION__;
#endif
}

const char *cli_compiler_id(void)
{
#if defined(__clang__)
	return "clang";
#elif defined(__GNUC__)
	return "gcc";
#else
	return "unknown";
#endif
}

const char *cli_sanitizer(void)
{
#if MMT_SANITIZE_ASAN
	return "asan";
#elif MMT_SANITIZE_TSAN
	return "tsan";
#else
	return "none";
#endif
}

const char *cli_fuzz_engine(void)
{
#if MMT_FUZZ_LIBFUZZER
	return "libfuzzer";
#elif MMT_FUZZ_AFL
	return "afl";
#else
	return "none";
#endif
}

/* ---- version ---- */

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_layer *layers;
	size_t nr_layers, nr_checks, nr_bugs, i;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("Usage: %s version\n\nPrint the version and the build configuration.\n",
			       CLI_PROG);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("version", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("version", "unexpected argument '%s'",
				       argv[optind]);

	layers = cli_layers(&nr_layers);
	mmt_checks(&nr_checks);
	mmt_bugs(&nr_bugs);
	printf("%s %s\n", CLI_PROG, MMT_VERSION);
	printf("build: MMT_DEBUG=%d MMT_STATS=%d sanitizer=%s fuzz=%s%s\n",
	       MMT_DEBUG, MMT_STATS, cli_sanitizer(), cli_fuzz_engine(),
#ifdef NDEBUG
	       " NDEBUG"
#else
	       ""
#endif
	);
	printf("compiler: %s\n", cli_compiler());
	printf("layers:");
	for (i = 0; i < nr_layers; i++)
		printf(" %s=%s%s", layers[i].layer, layers[i].impl,
		       layers[i].is_default ? "" : "(alt)");
	printf("\nchecks: %zu, injectable bugs: %zu\n", nr_checks, nr_bugs);
	return CLI_EXIT_OK;
}

/* ---- dispatch ---- */

int main(int argc, char **argv)
{
	char *hargv[] = { NULL, "--help", NULL };
	const char *name;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	{
		/* Binary inputs decode alike here and in the engines. */
		char err[160];

		if (!mmt_trace_bin_set_mempool_policies(
			    getenv(MMT_MEMPOOL_POLICIES_ENV), err, sizeof(err)))
			return cli_usage_error(NULL, "%s: %s",
					       MMT_MEMPOOL_POLICIES_ENV, err);
	}
	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version"))
		return cmd_version(1, argv + 1);
	if (!strcmp(name, "help")) {
		/* "mmtorture help CMD" is "mmtorture CMD --help". */
		if (argc == 2) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		for (i = 0; i < MMT_ARRAY_SIZE(cmds); i++) {
			if (strcmp(argv[2], cmds[i].name) || !cmds[i].fn)
				continue;
			hargv[0] = argv[2];
			return cmds[i].fn(2, hargv);
		}
		return cli_usage_error(
			NULL, "no help for '%s': not a command of this build",
			argv[2]);
	}
	if (name[0] == '-')
		return cli_usage_error(
			NULL,
			"unknown option '%s' (options go after the command)",
			name);

	for (i = 0; i < MMT_ARRAY_SIZE(cmds); i++) {
		if (strcmp(name, cmds[i].name))
			continue;
		if (!cmds[i].fn)
			return cli_usage_error(
				NULL,
				"'%s' is not implemented in this build yet",
				name);
		return cmds[i].fn(argc - 1, argv + 1);
	}
	return cli_usage_error(NULL, "unknown command '%s'", name);
}
