/* SPDX-License-Identifier: MIT */
/*
 * tests/test_dsched.c - fibers (trace/fiber.h) and the deterministic
 * scheduler (trace/dsched.h): switching, determinism, record and replay,
 * exact blocking and deadlocks, kernel threads as fibers, and the seed-003
 * window found by the schedule sources without being told where it is.
 */
#include <errno.h>
#include <math.h>

#include "fiber.h"
#include "internal.h"
#include "mmt_test.h"

/* ---- fibers ---- */

struct ping {
	struct mmt_fiber host, f[2];
	int rounds, seen[2];
	double fp; /* floating point survives switches */
};

static struct ping ping_x;

static void ping_fn(void *arg)
{
	int me = (int)(intptr_t)arg, i;
	volatile double acc = me + 0.5;

	for (i = 0; i < ping_x.rounds; i++) {
		ping_x.seen[me]++;
		acc = acc * 1.0 + 1.0;
		/* 0 -> 1 -> host -> 0 ... */
		mmt_fiber_switch(&ping_x.f[me],
				 me == 0 ? &ping_x.f[1] : &ping_x.host);
	}
	ping_x.fp += acc;
	mmt_fiber_exit_to(&ping_x.f[me],
			  me == 0 ? &ping_x.f[1] : &ping_x.host);
}

MMT_TEST(fibers_switch_round_trips_and_keep_their_own_stacks)
{
	int i;

	memset(&ping_x, 0, sizeof(ping_x));
	ping_x.rounds = 1000;
	mmt_fiber_init_host(&ping_x.host);
	for (i = 0; i < 2; i++)
		MMT_CHECK(mmt_fiber_create(&ping_x.f[i], ping_fn,
					   (void *)(intptr_t)i) == 0);
	for (i = 0; i <= ping_x.rounds; i++)
		mmt_fiber_switch(&ping_x.host, &ping_x.f[0]);
	MMT_CHECK_EQ(ping_x.seen[0], 1000);
	MMT_CHECK_EQ(ping_x.seen[1], 1000);
	/* acc_0 = 0.5 + 1000, acc_1 = 1.5 + 1000 */
	MMT_CHECK(fabs(ping_x.fp - 2002.0) < 1e-9);
	for (i = 0; i < 2; i++)
		mmt_fiber_destroy(&ping_x.f[i]);
}

#define MANY 200

static struct mmt_fiber many_host, many_f[MANY];
static int many_sum;

static void many_fn(void *arg)
{
	int me = (int)(intptr_t)arg;
	char big[16384]; /* touches several pages of its stack */

	memset(big, me & 0xff, sizeof(big));
	mmt_fiber_switch(&many_f[me], &many_host);
	many_sum += big[me] + 1;
	mmt_fiber_exit_to(&many_f[me], &many_host);
}

static int nr_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	MMT_CHECK(f != NULL);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

MMT_TEST(many_fibers_run_interleaved_and_their_stacks_are_reclaimed)
{
	int round, i, maps_before;

	mmt_fiber_init_host(&many_host);
	maps_before = nr_mappings();
	for (round = 0; round < 5; round++) {
		many_sum = 0;
		for (i = 0; i < MANY; i++)
			MMT_CHECK(mmt_fiber_create(&many_f[i], many_fn,
						   (void *)(intptr_t)i) == 0);
		/* Every fiber starts and stops halfway, then all finish. */
		for (i = 0; i < MANY; i++)
			mmt_fiber_switch(&many_host, &many_f[i]);
		for (i = MANY - 1; i >= 0; i--)
			mmt_fiber_switch(&many_host, &many_f[i]);
		for (i = 0; i < MANY; i++)
			mmt_fiber_destroy(&many_f[i]);
		/* sum of ((i & 0xff) as signed char) + 1 */
		{
			int want = 0;

			for (i = 0; i < MANY; i++)
				want += (signed char)(i & 0xff) + 1;
			MMT_CHECK_EQ(many_sum, want);
		}
	}
	/* 1000 stacks made: what is left is at most the cache (16 stacks of
	 * two mappings each, the guard page splits one) and some slack. */
	MMT_CHECK_MSG(nr_mappings() <= maps_before + 40,
		      "%d mappings before, %d after 1000 fibers", maps_before,
		      nr_mappings());
}
