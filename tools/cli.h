/* SPDX-License-Identifier: MIT */
/*
 * tools/cli.h - what the subcommands of the mmtorture command share: the
 * command table, usage-error reporting (exit 2, naming the bad option and
 * value), number parsing with ranges, the layer table and a seeded PRNG.
 */
#ifndef MMT_TOOLS_CLI_H
#define MMT_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mmt/config.h"

#ifndef MMT_VERSION
#define MMT_VERSION "0.1.0"
#endif

#define CLI_PROG "mmtorture"

/* Exit codes of every subcommand. */
enum {
	CLI_EXIT_OK = 0, /* ran, nothing found */
	CLI_EXIT_FAIL = 1, /* ran, found violations (or the run failed) */
	CLI_EXIT_USAGE = 2, /* wrong usage: bad option, value or argument */
};

/*
 * A subcommand: @fn gets argc/argv with argv[0] the subcommand name, and
 * returns the exit code.  @fn NULL: listed in the help as coming later.
 */
struct cli_cmd {
	const char *name;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

int cmd_list(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_scenario(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_fuzz(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_pct(int argc, char **argv);
int cmd_topo(int argc, char **argv);
int cmd_stress(int argc, char **argv);
int cmd_bench_bugs(int argc, char **argv); /* bench bugs */
int cmd_bench_fuzz(int argc, char **argv); /* bench fuzz */
int cmd_bench_scaling(int argc, char **argv); /* bench scaling */
int cmd_version(int argc, char **argv);
int cmd_nightly(int argc, char **argv); /* tools/cmd_nightly.c */
int cmd_minimize(int argc, char **argv); /* tools/cmd_minimize.c */
int cmd_corpus(int argc, char **argv); /* tools/cmd_corpus.c */

/*
 * "mmtorture CMD: <message>" and a hint to --help, on stderr; returns
 * CLI_EXIT_USAGE so that callers can `return cli_usage_error(...)`.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) MMT_PRINTF(2, 3);

/*
 * Report what getopt_long() returned for a bad option: @c is '?' (unknown
 * option) or ':' (missing value).  The optstring must start with ':'.
 */
int cli_getopt_error(const char *cmd, int c, char **argv);

/* Reset getopt for a new parse of @argv (glibc: optind = 0 reinitialises). */
void cli_getopt_reset(void);
/* mkdir -p @path (0777, umask applies); -1 with errno on failure. */
int cli_mkdirs(const char *path);

/*
 * Parse @arg, the value of option @opt, as an unsigned integer in
 * [@lo, @hi] (decimal, or hex with 0x); on error print a usage error naming
 * @opt and the value, and return false.
 */
bool cli_parse_u64(const char *cmd, const char *opt, const char *arg,
		   uint64_t lo, uint64_t hi, uint64_t *out);

/* ---- layer implementations known to this build ---- */

struct cli_layer {
	const char *layer; /* "page", later "slab", "mempool", ... */
	const char *impl; /* implementation name, as --<layer>=<impl> */
	bool is_default;
	const char *desc; /* one line */
};

const struct cli_layer *cli_layers(size_t *nr);

/* ---- build description ---- */

const char *cli_compiler(void); /* "gcc 12.2.0", "clang 14.0.6 ..." */
const char *cli_compiler_id(void); /* "gcc", "clang" */
const char *cli_sanitizer(void); /* "none", "asan", "tsan" */
const char *cli_fuzz_engine(void); /* "none", "libfuzzer", "afl" */

/* Flags for every JSON dump: reals with 6 significant digits. */
#define CLI_JSON_FLAGS \
	(JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

/* @name is one of the comma-separated @list ("a,b,c"). */
static inline bool cli_in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	while (*list) {
		size_t n = strcspn(list, ",");

		if (n == len && !strncmp(list, name, n))
			return true;
		list += n + (list[n] == ',');
	}
	return false;
}

/* ---- seeded randomness ---- */

/* splitmix64: a full-period 64-bit generator, good enough for workloads. */
static inline uint64_t cli_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, @n), @n > 0 (the modulo bias is irrelevant here). */
static inline uint64_t cli_rand_below(uint64_t *state, uint64_t n)
{
	return cli_splitmix64(state) % n;
}

#endif /* MMT_TOOLS_CLI_H */
