/* SPDX-License-Identifier: MIT */
/*
 * trace/canary_file.c - the bug canaries' file (MMT_CANARY_FILE, format in
 * mmt/check.h), written alike by the fuzz targets, `mmtorture pct` and the
 * stressors, and read by `bench bugs` to time when each bug was reached,
 * triggered and found.
 *
 * What a process has said is kept as two bit sets, seeded from the file
 * at open: libFuzzer's -fork jobs and a stress run's rounds each start a
 * process on the same file, and a bug reached is worth one line, not one
 * per process.  A write that fails is reported on stderr and the run goes
 * on: the canaries time a benchmark, they never decide a finding.  No
 * coverage here (targets/coverage-ignorelist.txt): the file is off in
 * fuzzing proper, and its branches say nothing about the model.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmt/check.h"

void mmt_canary_file_line(struct mmt_canary_file *cf, const char *what,
			  const char *name)
{
	struct timespec ts;
	char line[160];
	int n;

	if (cf->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%s %s %lld\n", what, name,
		     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if (n > 0 && n < (int)sizeof(line) &&
	    write(cf->fd, line, (size_t)n) != n)
		fprintf(stderr, "%s: cannot write the bug canaries: %s\n",
			MMT_CANARY_FILE_ENV, strerror(errno));
}

/* What the file says already: earlier processes' lines. */
static void read_said(struct mmt_canary_file *cf, const char *path)
{
	char line[160], what[16], id[96];
	const struct mmt_bug_info *b;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %95s", what, id) != 2 ||
		    !(b = mmt_bug_find(id)))
			continue;
		if (!strcmp(what, "reached"))
			cf->said_reached |= 1ull << b->bug;
		else if (!strcmp(what, "triggered"))
			cf->said_triggered |= 1ull << b->bug;
	}
	fclose(f);
}

int mmt_canary_file_open(struct mmt_canary_file *cf)
{
	const char *path = getenv(MMT_CANARY_FILE_ENV);

	cf->fd = -1;
	cf->said_reached = cf->said_triggered = 0;
	if (!path || !*path)
		return 0;
	cf->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (cf->fd < 0)
		return -1;
	read_said(cf, path);
	return 1;
}

void mmt_canary_file_close(struct mmt_canary_file *cf)
{
	if (cf->fd >= 0)
		close(cf->fd);
	cf->fd = -1;
}

void mmt_canary_file_report(struct mmt_canary_file *cf, uint64_t bugs,
			    const struct mmt_bug_canary_counts *c)
{
	const struct mmt_bug_info *info;
	size_t nr, i;

	if (cf->fd < 0)
		return;
	info = mmt_bugs(&nr);
	for (i = 0; i < nr; i++) {
		uint64_t bit = 1ull << info[i].bug;

		if (!(bugs & bit))
			continue;
		if (c->reached[info[i].bug] && !(cf->said_reached & bit)) {
			cf->said_reached |= bit;
			mmt_canary_file_line(cf, "reached", info[i].id);
		}
		if (c->triggered[info[i].bug] && !(cf->said_triggered & bit)) {
			cf->said_triggered |= bit;
			mmt_canary_file_line(cf, "triggered", info[i].id);
		}
	}
}
