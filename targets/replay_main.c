// SPDX-License-Identifier: MIT
/*
 * targets/replay_main.c - plain main for any fuzz target: runs every input
 * named on the command line (files, or directories walked recursively in
 * name order; "-" is stdin) through LLVMFuzzerTestOneInput once, the way a
 * libFuzzer binary does when given files.  No fuzzing engine, no coverage
 * instrumentation needed: this is what a regression corpus replays with in
 * every build flavour, and what a debugger or valgrind runs.
 *
 * Arguments starting with '-' (other than "-") are libFuzzer flags and are
 * ignored, so a command line written for a libFuzzer binary still works.
 *
 * Files a person keeps are held to the rule of mmt/trace.h (an
 * operation-language target provides mmt_target_check_file()): a
 * NAME.trace file, or a file that looks like text, must parse - so a
 * regression corpus with a typo fails its ctest replay; in a directory
 * only inputs by name run (README.md is skipped).  Links to directories
 * met in a walk are not followed (a loop would run forever); an empty
 * file is run, with a warning.
 *
 * Exit status: 0 if every input ran, 1 if one could not be read or is
 * meant as text and does not parse, 2 on usage error; a finding aborts
 * (the target's abort() or a sanitizer report).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int mmt_target_check_file(const char *path, const uint8_t *data, size_t size,
			  bool in_dir) __attribute__((weak));

static unsigned long nr_run, nr_skipped;
static int verbose;

static int run_stream(FILE *f, const char *name, bool in_dir)
{
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);

	if (!buf) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nbuf = realloc(buf, cap * 2);

			if (!nbuf) {
				free(buf);
				fprintf(stderr, "replay: out of memory\n");
				return 1;
			}
			buf = nbuf;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", name);
		free(buf);
		return 1;
	}
	if (mmt_target_check_file) {
		int check = mmt_target_check_file(name, buf, len, in_dir);

		if (check) {
			free(buf);
			if (check < 0)
				return 1;
			nr_skipped++;
			if (verbose)
				fprintf(stderr,
					"replay: %s: skipped (no input by its name)\n",
					name);
			return 0;
		}
	}
	if (!len)
		fprintf(stderr,
			"replay: %s: warning: empty file (0 bytes): it runs as the empty input\n",
			name);
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", name, len);
	/* An exact-size copy so ASan catches reads past the input's end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(buf);
			return 1;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	nr_run++;
	return 0;
}

static int run_path(const char *path, bool in_dir);

static int run_dir(const char *path)
{
	struct dirent **ents;
	int i, n, rc = 0;

	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *d = ents[i]->d_name;

		if (d[0] != '.') {
			char *sub;

			if (asprintf(&sub, "%s/%s", path, d) < 0) {
				rc = 1;
			} else {
				rc |= run_path(sub, true);
				free(sub);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int run_path(const char *path, bool in_dir)
{
	struct stat st;
	FILE *f;
	int rc;

	if (!strcmp(path, "-"))
		return run_stream(stdin, "<stdin>", false);
	/* In a walk, a link to a directory is not followed (loops). */
	if (in_dir && !lstat(path, &st) && S_ISLNK(st.st_mode) &&
	    !stat(path, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"replay: %s: skipped: a link to a directory (not followed)\n",
			path);
		nr_skipped++;
		return 0;
	}
	if (stat(path, &st)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = run_stream(f, path, in_dir);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	int i, rc = 0, nr_paths = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	verbose = getenv("MMT_REPLAY_VERBOSE") != NULL;
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			continue; /* a libFuzzer flag */
		nr_paths++;
		rc |= run_path(argv[i], false);
	}
	if (!nr_paths) {
		fprintf(stderr, "usage: %s FILE|DIR|- ...\n", argv[0]);
		return 2;
	}
	printf("replayed %lu input(s)", nr_run);
	if (nr_skipped)
		printf(", skipped %lu file(s)", nr_skipped);
	printf("%s\n", rc ? ", some unreadable or not parsing" : "");
	return rc ? 1 : 0;
}
