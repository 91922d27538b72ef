/* SPDX-License-Identifier: MIT */
/*
 * tools/nightly.h - the nightly's report (tools/nightly_report.c):
 * summary.json (schema: docs/nightly-summary.schema.json), junit.xml and a
 * self-contained index.html, written into the work directory at the end
 * of a run, summary.json last.
 */
#ifndef MMT_TOOLS_NIGHTLY_H
#define MMT_TOOLS_NIGHTLY_H

#include <jansson.h>
#include <stdbool.h>

#include "store.h"

/* The version of summary.json's schema: bumped on an incompatible change. */
#define NIGHTLY_SUMMARY_SCHEMA_VERSION 1

struct nightly_report {
	const char *workdir, *reports;
	json_t *state; /* nightly.json: options, slots, samples, regressions */
	struct store *store;
	json_t *bugs; /* the injected bugs' names (reference stolen) */
	const char *build, *version, *source_dir;
	bool failed; /* an engine could not run */
	unsigned long regress_failed;
	double elapsed; /* this invocation's seconds */
};

/*
 * Write the report of a finished run; returns the run's exit status (0
 * clean, 1 findings or a failing regression, 2 the run failed).
 */
int nightly_report(const struct nightly_report *r);

/*
 * Append @s to @out HTML-escaped (& < > " '): every text of a finding goes
 * through it.
 */
void nightly_html_escape(FILE *out, const char *s);

#endif /* MMT_TOOLS_NIGHTLY_H */
