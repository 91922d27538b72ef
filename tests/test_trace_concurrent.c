// SPDX-License-Identifier: MIT
/*
 * tests/test_trace_concurrent.c - what the sequential interpreter does with
 * a concurrent program until the concurrent one runs it: it never
 * pretends.  A kernel-thread operation or a schedule other than seq is a
 * "bad-trace" finding naming the reason, and a sequential program with
 * the same operations (sched=seq) runs as it always did.
 */
#include "mmt_test.h"
#include "mmt/exec.h"
#include "mmt/trace.h"

static enum mmt_exec_result run_text(const char *text, struct mmt_finding *f)
{
	struct mmt_program p;
	enum mmt_exec_result r;
	char err[512];

	MMT_CHECK_MSG(mmt_trace_parse(text, strlen(text), "t.trace", &p, err,
				      sizeof(err)),
		      "%s", err);
	memset(f, 0, sizeof(*f));
	r = mmt_trace_execute(&p, NULL, f);
	mmt_program_free(&p);
	return r;
}

MMT_TEST(sequential_interpreter_refuses_schedules_and_kernel_threads_honestly)
{
	struct mmt_finding f;

	MMT_CHECK_EQ(run_text("mmtorture-trace 1\n"
			      "machine sched=rr\n"
			      "o0 = kmalloc size=64 GFP_KERNEL\n"
			      "kfree o0\n",
			      &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "bad-trace");
	MMT_CHECK(strstr(
		f.message,
		"sched=rr: a concurrent schedule needs a concurrent run"));
	mmt_finding_free(&f);

	MMT_CHECK_EQ(run_text("mmtorture-trace 1\n"
			      "k0 = kthread_start kswapd node=0\n"
			      "kthread_stop k0\n",
			      &f),
		     MMT_EXEC_FINDING);
	MMT_CHECK_STR(f.oracle, "bad-trace");
	MMT_CHECK_EQ(f.op_index, 0);
	MMT_CHECK(
		strstr(f.message,
		       "kthread_start: kernel threads need a concurrent run"));
	mmt_finding_free(&f);

	/* The same operations in textual order are an ordinary program. */
	MMT_CHECK_EQ(run_text("mmtorture-trace 1\n"
			      "machine sched=seq\n"
			      "o0 = kmalloc size=64 GFP_KERNEL\n"
			      "cpu 1\n"
			      "kfree o0\n",
			      &f),
		     MMT_EXEC_OK);
	mmt_finding_free(&f);
}
