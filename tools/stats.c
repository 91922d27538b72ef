/* SPDX-License-Identifier: MIT */
/*
 * tools/stats.c - medians, the Mann-Whitney U test and Vargha-Delaney
 * A12 for `bench bugs` (see stats.h for the conventions).
 *
 * U and A12 are counted pairwise (nx * ny comparisons: trials are tens,
 * not thousands), which gives ties their half exactly.  The exact null
 * distribution of U without ties is a dynamic programme over the sample
 * sizes (exact_cdf_count()), in doubles, fine up to the size we allow
 * (nx * ny <= 400).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double mmt_stats_median(const double *v, size_t n)
{
	double *s, m;

	if (!n)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

/*
 * The exact null distribution of U without ties: N(m, n, u), the number
 * of orderings of m x's and n y's with u pairs x > y, follows
 * N(m, n, u) = N(m - 1, n, u - n) + N(m, n - 1, u) (the largest value is
 * an x, above all n y's, or a y).  Returns the count with U <= @u and in
 * *@total all orderings, C(nx + ny, nx).
 */
static double exact_cdf_count(size_t nx, size_t ny, size_t u, double *total)
{
	size_t max = nx * ny, m, n, k, w = max + 1;
	double *f = calloc((nx + 1) * (ny + 1) * w, sizeof(double));
	double below = 0;

#define N(m, n, k) f[((m) * (ny + 1) + (n)) * w + (k)]
	if (!f)
		return NAN;
	for (m = 0; m <= nx; m++)
		for (n = 0; n <= ny; n++) {
			if (!m || !n) {
				N(m, n, 0) = 1;
				continue;
			}
			for (k = 0; k <= m * n; k++)
				N(m, n, k) = (k >= n ? N(m - 1, n, k - n) : 0) +
					     N(m, n - 1, k);
		}
	*total = 0;
	for (k = 0; k <= max; k++) {
		*total += N(nx, ny, k);
		if (k <= u)
			below += N(nx, ny, k);
	}
#undef N
	free(f);
	return below;
}

bool mmt_stats_mwu(const double *x, size_t nx, const double *y, size_t ny,
		   struct mmt_mwu *out)
{
	double u1 = 0, n = (double)(nx + ny), ties = 0, mu, sigma, z;
	bool any_tie = false;
	double *all;
	size_t i, j;

	memset(out, 0, sizeof(*out));
	if (!nx || !ny)
		return false;
	for (i = 0; i < nx; i++)
		for (j = 0; j < ny; j++) {
			if (x[i] > y[j])
				u1 += 1;
			else if (x[i] == y[j]) {
				u1 += 0.5;
				any_tie = true;
			}
		}
	out->u1 = u1;
	out->a12 = u1 / ((double)nx * (double)ny);
	/* Ties within a sample matter for the variance too. */
	all = malloc((nx + ny) * sizeof(*all));
	if (!all)
		return false;
	memcpy(all, x, nx * sizeof(*all));
	memcpy(all + nx, y, ny * sizeof(*all));
	qsort(all, nx + ny, sizeof(*all), cmp_double);
	for (i = 0; i < nx + ny;) {
		for (j = i + 1; j < nx + ny && all[j] == all[i]; j++)
			;
		if (j - i > 1) {
			double t = (double)(j - i);

			ties += t * t * t - t;
			any_tie = true;
		}
		i = j;
	}
	free(all);
	if (!any_tie && nx * ny <= 400) {
		/*
		 * Two-sided: twice the smaller tail.  U here counts x > y
		 * pairs; the distribution is symmetric about nx*ny/2.
		 */
		double total = 0, lo, hi_u = (double)(nx * ny) - u1, p;
		size_t small = (size_t)(u1 < hi_u ? u1 : hi_u);

		lo = exact_cdf_count(nx, ny, small, &total);
		/* Out of memory for the table: the approximation below. */
		if (!isnan(lo) && total > 0) {
			p = 2 * lo / total;
			out->p = p > 1 ? 1 : p;
			out->exact = true;
			return true;
		}
	}
	mu = (double)nx * (double)ny / 2;
	sigma = sqrt((double)nx * (double)ny / 12 *
		     ((n + 1) - ties / (n * (n - 1))));
	if (sigma == 0) {
		out->p = 1; /* every value equal: no evidence either way */
		return true;
	}
	z = (fabs(u1 - mu) - 0.5) / sigma;
	if (z < 0)
		z = 0;
	out->p = erfc(z / sqrt(2));
	if (out->p > 1)
		out->p = 1;
	return true;
}
