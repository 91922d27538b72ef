/* SPDX-License-Identifier: MIT */
/*
 * trace/exec_diff.c - differential runs: one program on every slab
 * implementation, compared on what every implementation must share
 * (mmt/exec.h, mmt_exec_slab_diff(); docs/ARCHITECTURE.md, "Differential
 * runs").  `mmtorture replay --slab all` and the fuzz targets under
 * MMT_SLAB_DIFF=1 (`mmtorture fuzz --slab all`) use it.
 *
 * Algorithm: each run records per operation whether a slab allocation
 * returned NULL or memory and whether every zone had room when it began
 * (mmt_exec_opts.op_outcome, trace_exec.c); then a finding on some runs
 * only, or a NULL with room where another run got memory, is a
 * divergence (reported as "slab-divergence").
 *
 * The table of differences: what the implementations legitimately do
 * differently, tolerated.
 *  1. Their per-cpu and per-node caches (SLUB's cpu slab and partial
 *     lists, SLAB's array caches and free slabs up to free_limit, sheaves'
 *     main, spare and barn) hold different numbers of objects, so one may
 *     need a new slab where another has an object at hand.  A NULL (or a
 *     blocked end) is a divergence only when every zone had room for that
 *     new slab (trace_exec.c, memory_roomy()): free pages the request may
 *     use above the high watermark, the largest lowmem reserve, twice
 *     what is asked and 8 pages, and a free block of at least the order
 *     of a slab of one object (the smallest any implementation grows).
 *  2. Free pages of the highatomic reserve are no room: a GFP_KERNEL or
 *     PF_MEMALLOC request never takes them (the kernel's rmqueue takes
 *     them for high-order atomic requests, and for ALLOC_OOM or
 *     ALLOC_NON_BLOCK ones once all else failed), so an implementation
 *     that must grow fails there - SLAB of v6.7 as the kernel's
 *     (tests/data/slab-diff/slab-entitled-null-with-free-pages-in-
 *     highatomic-blocks.trace, once an open finding).
 *  3. Fragmentation: many free pages but no block of the order a new slab
 *     needs is no room either (tests/data/slab-diff/fragmented-memory-
 *     needs-a-new-slab.trace).
 *  4. A nolock (__GFP_FAST_TRY) allocation takes per-cpu pages only, so
 *     it may fail with any amount free: never judged.
 *  5. A defect every implementation reports may be noticed by different
 *     checks: agreement on a finding is no divergence.
 * What stays a divergence: a finding on some implementations only, and a
 * NULL where another implementation returned memory and every zone had
 * room for the smallest slab (the injected bug slub-no-min-order-fallback
 * makes one: tests/data/slab-diff/slub-no-min-order-fallback.trace).
 *
 * Locks: none; each run has its machine.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/exec.h"
#include "mmt/trace.h"

static const char *result_name(enum mmt_exec_result res)
{
	switch (res) {
	case MMT_EXEC_OK:
		return "ok";
	case MMT_EXEC_BLOCKED:
		return "blocked";
	case MMT_EXEC_FINDING:
		return "FINDING";
	default:
		return "not run";
	}
}

static const char *impl(int s)
{
	return mmt_trace_slab_impl_name((enum mmt_slab_impl)s);
}

/* Operation @i returned NULL on @s with room, memory on another: which. */
static int null_with_room(uint8_t *const out[], size_t i, int s)
{
	int t;

	if (!out[s] || (out[s][i] & (MMT_OUTCOME_NULL | MMT_OUTCOME_ROOMY)) !=
			       (MMT_OUTCOME_NULL | MMT_OUTCOME_ROOMY))
		return -1;
	for (t = 0; t < MMT_NR_SLAB_IMPLS; t++)
		if (out[t] && (out[t][i] & MMT_OUTCOME_MEMORY))
			return t;
	return -1;
}

void mmt_exec_slab_diff(const struct mmt_program *p,
			const struct mmt_exec_opts *o, mmt_exec_fn run,
			struct mmt_slab_diff *d)
{
	uint8_t *out[MMT_NR_SLAB_IMPLS];
	size_t n = p->nr_ops ? p->nr_ops : 1, i, len = 0;
	FILE *rep;
	int s, t;

	memset(d, 0, sizeof(*d));
	if (!run)
		run = mmt_trace_execute;
	for (s = 0; s < MMT_NR_SLAB_IMPLS; s++) {
		struct mmt_exec_opts so;

		if (o)
			so = *o;
		else
			mmt_exec_opts_default(&so);
		out[s] = calloc(n, 1);
		so.slab_impl = s;
		so.op_outcome = out[s];
		d->res[s] = out[s] ? run(p, &so, &d->f[s]) :
				     MMT_EXEC_SETUP_FAILED;
		d->nr_run += d->res[s] != MMT_EXEC_SETUP_FAILED;
		d->nr_findings += d->res[s] == MMT_EXEC_FINDING;
		d->nr_blocked += d->res[s] == MMT_EXEC_BLOCKED;
	}
	rep = open_memstream(&d->report, &len);
	if (d->nr_findings && d->nr_findings < d->nr_run) {
		d->divergences++;
		if (rep) {
			fprintf(rep,
				"  a finding on some implementations only:");
			for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
				fprintf(rep, "%s slab=%s %s%s%s", s ? ";" : "",
					impl(s), result_name(d->res[s]),
					d->res[s] == MMT_EXEC_FINDING ? " " :
									"",
					d->res[s] == MMT_EXEC_FINDING ?
						d->f[s].oracle :
						"");
			fputc('\n', rep);
		}
	}
	for (i = 0; i < p->nr_ops; i++)
		for (s = 0; s < MMT_NR_SLAB_IMPLS; s++) {
			char text[160];

			t = null_with_room(out, i, s);
			if (t < 0)
				continue;
			d->divergences++;
			if (rep) {
				mmt_trace_format_op(p, &p->ops[i], text,
						    sizeof(text));
				fprintf(rep,
					"  operation %zu (%s): NULL on slab=%s while every zone had room; memory on slab=%s\n",
					i, text, impl(s), impl(t));
			}
			break; /* one line an operation */
		}
	if (rep)
		fclose(rep);
	for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
		free(out[s]);
	if (!d->nr_run)
		d->result = MMT_EXEC_SETUP_FAILED;
	else if (d->divergences || d->nr_findings)
		d->result = MMT_EXEC_FINDING;
	else if (d->nr_blocked)
		d->result = MMT_EXEC_BLOCKED;
	else
		d->result = MMT_EXEC_OK;
}

void mmt_slab_diff_free(struct mmt_slab_diff *d)
{
	int s;

	for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
		mmt_finding_free(&d->f[s]);
	free(d->report);
	d->report = NULL;
}
