/* SPDX-License-Identifier: MIT */
/*
 * tools/stats.h - the statistics of `bench bugs`, after Klees et al.,
 * "Evaluating Fuzz Testing" (CCS 2018) and Arcuri & Briand (ICSE 2011):
 * medians of time-to-find over trials where a miss counts as censored at
 * the budget, the Mann-Whitney U test between two engines, and the
 * Vargha-Delaney A12 effect size.
 *
 * A miss is the budget itself (the time is at least the budget): that
 * makes every miss of a pair tie with the other engine's misses, which
 * the rank test handles with mid-ranks and a tie-corrected variance.
 */
#ifndef MMT_TOOLS_STATS_H
#define MMT_TOOLS_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* The median of @n values (sorted copy; 0 for n == 0). */
double mmt_stats_median(const double *v, size_t n);

struct mmt_mwu {
	double u1; /* U of the first sample: pairs where x > y, ties half */
	double a12; /* P(X > Y) + P(X = Y) / 2: 0.5 no effect */
	double p; /* two-sided */
	bool exact; /* p from the exact null distribution (no ties, small) */
};

/*
 * Mann-Whitney U of @x (@nx values) against @y (@ny).  Exact p when there
 * are no ties and nx * ny <= 400; else the normal approximation with tie
 * correction and continuity correction.  False when a sample is empty.
 */
bool mmt_stats_mwu(const double *x, size_t nx, const double *y, size_t ny,
		   struct mmt_mwu *out);

#endif /* MMT_TOOLS_STATS_H */
