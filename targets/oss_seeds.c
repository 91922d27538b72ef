/* SPDX-License-Identifier: MIT */
/*
 * targets/oss_seeds.c - build.sh's seed compiler: the text seeds of an
 * operation-language target in the binary form its fuzzer mutates, and
 * the target's dictionary, without the mmtorture tool (an OSS-Fuzz or
 * ClusterFuzzLite image builds the fuzz targets from build.sh alone,
 * with neither CMake's build of the tool nor hwloc).
 *
 *   oss-seeds TARGET OUTDIR DICT [FILE.trace...]
 *
 * Each FILE is loaded as `mmtorture trace compile --target TARGET` loads
 * it and written to OUTDIR/<name>.bin, <name> being the file's name
 * without .trace, prefixed "LAYER-" for the whole-stack targets (whose
 * seeds come from every layer's corpora/LAYER/seeds/, as in CMake's
 * build); DICT gets mmt_trace_write_dict()'s dictionary.  The target
 * binaries accept a text trace too, but their structure-aware mutator
 * decodes what it mutates as the binary form, so a text seed would be
 * mutated as bytes that mean another program.
 *
 * Built by build.sh with the host's plain compiler against a plain copy
 * of the model (no sanitizer, no coverage: it runs at build time, where a
 * fuzzing engine's runtime is not linked).  A seed that does not load, or
 * uses an operation outside the target's set, is an error naming the
 * file and line: the build fails rather than ship a seed that is another
 * program.  Exit status 0, 1 on any error, 2 on usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/mmt.h"
#include "mmt/trace.h"

/* corpora/LAYER/seeds/NAME.trace -> "LAYER-NAME" for the stack targets. */
static void seed_name(const char *target, const char *path, char *out,
		      size_t len)
{
	const char *base = strrchr(path, '/'), *dot;
	char layer[64] = "";

	base = base ? base + 1 : path;
	if (!strcmp(target, "stack") || !strcmp(target, "stack-mt")) {
		/* the directory above "seeds/" */
		const char *seeds = base - 1, *p;

		if (seeds > path && seeds - path >= 6 &&
		    !strncmp(seeds - 6, "/seeds", 6)) {
			for (p = seeds - 7; p > path && *p != '/'; p--)
				;
			if (*p == '/')
				p++;
			snprintf(layer, sizeof(layer), "%.*s-",
				 (int)(seeds - 6 - p), p);
		}
	}
	dot = strrchr(base, '.');
	if (!dot || strcmp(dot, ".trace"))
		dot = base + strlen(base);
	snprintf(out, len, "%s%.*s", layer, (int)(dot - base), base);
}

static int compile_one(const char *target, mmt_opset_t set, const char *path,
		       const char *outdir)
{
	struct mmt_program p;
	char err[512], name[256], outpath[4096];
	uint8_t *bytes;
	size_t n, i;
	FILE *f;
	int rc = 0;

	if (!mmt_trace_load(path, &p, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (i = 0; i < p.nr_ops; i++)
		if (!((set >> p.ops[i].code) & 1)) {
			fprintf(stderr,
				"%s:%u: %s is not an operation of target %s\n",
				path, p.ops[i].line,
				mmt_op_info(p.ops[i].code)->name, target);
			mmt_program_free(&p);
			return 1;
		}
	n = mmt_trace_encode_set(&p, set, NULL, 0);
	bytes = malloc(n ? n : 1);
	if (!bytes) {
		fprintf(stderr, "oss-seeds: out of memory\n");
		mmt_program_free(&p);
		return 1;
	}
	mmt_trace_encode_set(&p, set, bytes, n);
	seed_name(target, path, name, sizeof(name));
	snprintf(outpath, sizeof(outpath), "%s/%s.bin", outdir, name);
	f = fopen(outpath, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n) {
		fprintf(stderr, "oss-seeds: %s: %s\n", outpath,
			strerror(errno));
		rc = 1;
	}
	if (f && fclose(f) && !rc) {
		fprintf(stderr, "oss-seeds: %s: %s\n", outpath,
			strerror(errno));
		rc = 1;
	}
	free(bytes);
	mmt_program_free(&p);
	return rc;
}

int main(int argc, char **argv)
{
	mmt_opset_t set = 0;
	FILE *dict;
	int i, rc = 0;

	if (argc < 4) {
		fprintf(stderr,
			"usage: %s TARGET OUTDIR DICT [FILE.trace...]\n",
			argv[0]);
		return 2;
	}
	if (!mmt_trace_target_ops(argv[1], &set)) {
		fprintf(stderr,
			"oss-seeds: '%s' is no operation-language target\n",
			argv[1]);
		return 2;
	}
	dict = fopen(argv[3], "w");
	if (!dict) {
		fprintf(stderr, "oss-seeds: %s: %s\n", argv[3],
			strerror(errno));
		return 1;
	}
	mmt_trace_write_dict(dict, argv[1], set);
	if (fclose(dict)) {
		fprintf(stderr, "oss-seeds: %s: %s\n", argv[3],
			strerror(errno));
		rc = 1;
	}
	for (i = 4; i < argc; i++)
		rc |= compile_one(argv[1], set, argv[i], argv[2]);
	return rc;
}
