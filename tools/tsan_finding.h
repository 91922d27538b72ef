/* SPDX-License-Identifier: MIT */
/*
 * tools/tsan_finding.h - a data race that ThreadSanitizer reports during an
 * execution becomes a finding (tools/tsan_finding.c).  Shared by the CLI
 * (replay, pct) and the fuzz targets (target_common.c).  Outside the tsan
 * build both calls do nothing.
 */
#ifndef MMT_TOOLS_TSAN_FINDING_H
#define MMT_TOOLS_TSAN_FINDING_H

#include <stdbool.h>
#include <stddef.h>

#include "mmt/exec.h"

/* Forget any race reported so far: call right before an execution. */
void mmt_race_begin(void);
/*
 * If TSan reported a data race since mmt_race_begin(): fill @f's oracle
 * ("data-race"), layer, site, func, signature and message from the first
 * report (the first frame in the model, alloc/, of the racing accesses)
 * and return true.  @f's other fields (the executed schedule, the
 * operation of an oracle's finding) are left as the execution set them; a
 * run with no finding gets op_index @nr_ops (the whole execution).
 */
bool mmt_race_take(struct mmt_finding *f, size_t nr_ops);
/*
 * mmt_trace_execute() of @p into @f (cleared first) between the two calls
 * above: a data race TSan reported during a run that found nothing else
 * is the run's finding.  What every caller of the tools and targets runs.
 */
enum mmt_exec_result mmt_race_execute(const struct mmt_program *p,
				      const struct mmt_exec_opts *o,
				      struct mmt_finding *f);

#endif /* MMT_TOOLS_TSAN_FINDING_H */
