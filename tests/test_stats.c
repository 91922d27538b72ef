/* SPDX-License-Identifier: MIT */
/*
 * tests/test_stats.c - the statistics of `bench bugs` (tools/stats.c)
 * against values computed by hand and by R's wilcox.test().
 */
#include <math.h>

#include "../tools/stats.h"
#include "mmt_test.h"

#define NEAR(a, b, eps) (fabs((a) - (b)) <= (eps))

MMT_TEST(median_of_odd_and_even_samples_is_the_middle_or_the_mean_of_two)
{
	const double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };

	MMT_CHECK(mmt_stats_median(odd, 3) == 3);
	MMT_CHECK(mmt_stats_median(even, 4) == 2.5);
	MMT_CHECK(mmt_stats_median(odd, 0) == 0);
}

MMT_TEST(
	mann_whitney_exact_p_of_fully_separated_samples_is_two_over_the_binomial)
{
	const double x[] = { 1, 2, 3 }, y[] = { 4, 5, 6 };
	double a[10], b[10];
	struct mmt_mwu r;
	int i;

	MMT_CHECK(mmt_stats_mwu(x, 3, y, 3, &r));
	MMT_CHECK(r.exact);
	MMT_CHECK(r.u1 == 0 && r.a12 == 0);
	/* 2 / C(6, 3) */
	MMT_CHECK_MSG(NEAR(r.p, 0.1, 1e-12), "p %g", r.p);
	/* R: wilcox.test(1:10, 11:20)$p.value = 1.082509e-05 = 2/C(20,10) */
	for (i = 0; i < 10; i++) {
		a[i] = i + 1;
		b[i] = i + 11;
	}
	MMT_CHECK(mmt_stats_mwu(b, 10, a, 10, &r));
	MMT_CHECK(r.exact && r.a12 == 1);
	MMT_CHECK_MSG(NEAR(r.p, 2.0 / 184756, 1e-15), "p %g", r.p);
}

MMT_TEST(mann_whitney_exact_p_of_interleaved_samples_matches_r)
{
	/* R: wilcox.test(c(1,3,5,7), c(2,4,6,8))$p.value = 0.6857143 */
	const double x[] = { 1, 3, 5, 7 }, y[] = { 2, 4, 6, 8 };
	struct mmt_mwu r;

	MMT_CHECK(mmt_stats_mwu(x, 4, y, 4, &r));
	MMT_CHECK(r.exact && r.u1 == 6);
	MMT_CHECK_MSG(NEAR(r.p, 0.6857143, 1e-6), "p %g", r.p);
	MMT_CHECK(NEAR(r.a12, 6.0 / 16, 1e-12));
}

MMT_TEST(
	mann_whitney_with_censored_ties_uses_the_tie_corrected_normal_approximation)
{
	/*
	 * Engine A finds in 10..50 s, engine B misses 4 of 5 (censored at
	 * 300 s).  As R's wilcox.test(c(10,20,30,40,50),
	 * c(60,300,300,300,300), exact=FALSE, correct=TRUE) computes it:
	 * W = 0, sigma^2 = 25/12 * (11 - (4^3 - 4) / (10 * 9)),
	 * z = (12.5 - 0.5) / sigma = 2.58632, p = 2 * pnorm(-z) = 0.0097008.
	 */
	const double a[] = { 10, 20, 30, 40, 50 },
		     b[] = { 60, 300, 300, 300, 300 };
	struct mmt_mwu r;

	MMT_CHECK(mmt_stats_mwu(a, 5, b, 5, &r));
	MMT_CHECK(!r.exact);
	MMT_CHECK(r.u1 == 0 && r.a12 == 0);
	MMT_CHECK_MSG(NEAR(r.p, 0.0097008, 1e-6), "p %g", r.p);
}

MMT_TEST(mann_whitney_of_two_all_miss_samples_finds_no_difference)
{
	const double a[] = { 300, 300, 300 }, b[] = { 300, 300 };
	struct mmt_mwu r;

	MMT_CHECK(mmt_stats_mwu(a, 3, b, 2, &r));
	MMT_CHECK(r.a12 == 0.5 && r.p == 1);
	MMT_CHECK(!mmt_stats_mwu(a, 0, b, 2, &r));
}
