/* SPDX-License-Identifier: MIT */
/*
 * tests/test_stress.c - the stressors' runner (stress/runner.c): latency
 * buckets, cookies, quiesced validations, violations and the final
 * checks, through small workloads defined here and run for a fraction of
 * a second.
 */
#include <jansson.h>

#include "mmt_test.h"
#include "stress.h"

MMT_TEST(stress_latency_buckets_are_log2_linear_and_cover_every_value)
{
	uint64_t v;
	unsigned int prev = 0;

	for (v = 0; v < 1000000; v += 1 + v / 64) {
		unsigned int b = mmt_stress_lat_bucket(v);
		uint64_t lo = mmt_stress_lat_bucket_low(b),
			 hi = mmt_stress_lat_bucket_low(b + 1);

		MMT_CHECK_MSG(lo <= v && v < hi,
			      "%" PRIu64 " in [%" PRIu64 ", %" PRIu64 ")", v,
			      lo, hi);
		/* 8 buckets per power of two: a bucket spans <= 1/8 of lo */
		MMT_CHECK_MSG(v < 8 || (hi - lo) * 8 <= lo,
			      "bucket %u [%" PRIu64 ", %" PRIu64 ") too wide",
			      b, lo, hi);
		MMT_CHECK(b >= prev);
		prev = b;
	}
	MMT_CHECK(mmt_stress_lat_bucket(UINT64_MAX) >
		  mmt_stress_lat_bucket(UINT64_MAX >> 1));
}

/* ---- a run of a test workload, its JSON looked at ---- */

static json_t *run_workload(const struct mmt_stress_workload *w, double time_s,
			    double quiesce_s, unsigned int threads,
			    unsigned long *findings)
{
	struct mmt_stress_params p = {
		.threads = threads,
		.time_s = time_s,
		.seed = 42,
		.slab = t_slab_impl() < 0 ? MMT_SLAB_SLUB :
					    (enum mmt_slab_impl)t_slab_impl(),
		.quiesce_s = quiesce_s,
	};
	struct mmt_stress_env env = { .quiet = true };
	struct mmt_stress_outcome out;
	char err[256];

	MMT_CHECK_MSG(!mmt_stress_execute(w, &p, &env, &out, err, sizeof(err)),
		      "the run did not start: %s", err);
	*findings = out.findings;
	return out.json;
}

static bool has_signature(json_t *run, const char *sig)
{
	json_t *f;
	size_t i;

	json_array_foreach(
		json_object_get(run, "findings"), i,
		f) if (!strcmp(json_string_value(json_object_get(f,
								 "signature")),
			       sig)) return true;
	return false;
}

/* kmalloc, stamp, byte 57 changed (thread 1's 5th op on), verify, kfree. */
static void corrupt_op(struct mmt_stress_thread *t)
{
	unsigned char *p = mmt_kmalloc(100, GFP_KERNEL);
	uintptr_t n = (uintptr_t)mmt_stress_priv(t) + 1;

	mmt_stress_set_priv(t, (void *)n);
	if (!p)
		return;
	mmt_stress_stamp(t, p, 100);
	if (mmt_stress_thread_id(t) == 1 && n >= 5)
		p[57] ^= 1;
	mmt_stress_verify(t, p, 100);
	mmt_kfree(p);
}

static const struct mmt_stress_workload corrupt_workload = {
	.name = "test-corrupt",
	.kind = MMT_STRESS_OBJECT,
	.op = corrupt_op,
};

MMT_SLAB_TEST(stress_a_changed_byte_of_a_stamped_block_is_one_cookie_finding)
{
	unsigned long findings;
	json_t *run = run_workload(&corrupt_workload, 0.3, 0, 2, &findings);
	json_t *f = json_array_get(json_object_get(run, "findings"), 0);

	MMT_CHECK_EQ(findings, 1);
	MMT_CHECK(has_signature(run, "cookie-corrupt|stress|test-corrupt"));
	MMT_CHECK_MSG(strstr(json_string_value(json_object_get(f, "message")),
			     "stamped by thread 1, freed by thread 1: byte 57"),
		      "message: %s",
		      json_string_value(json_object_get(f, "message")));
	MMT_CHECK(
		strstr(json_string_value(json_object_get(f, "rerun")),
		       "stress test-corrupt --threads 2 --time 0.3 --seed 42"));
	json_decref(run);
}

/* Clean kmalloc/kfree churn: quiesced validations, nothing found. */
static void churn_op(struct mmt_stress_thread *t)
{
	void *p = mmt_kmalloc(8 + mmt_stress_rand(t, 4000), GFP_KERNEL);

	mmt_stress_count(t, "churn", 1);
	mmt_kfree(p);
}

static const struct mmt_stress_workload churn_workload = {
	.name = "test-churn",
	.kind = MMT_STRESS_OBJECT,
	.op = churn_op,
};

MMT_SLAB_TEST(stress_runner_quiesces_validates_and_counts_every_op)
{
	unsigned long findings;
	json_t *run = run_workload(&churn_workload, 0.5, 0.05, 3, &findings);
	json_int_t ops = json_integer_value(json_object_get(run, "ops"));
	json_int_t churn = json_integer_value(
		json_object_get(json_object_get(run, "counters"), "churn"));
	json_t *th;
	json_int_t sum = 0;
	size_t i;

	MMT_CHECK_EQ(findings, 0);
	MMT_CHECK(json_integer_value(json_object_get(run, "quiesces")) >= 2);
	MMT_CHECK(json_is_true(json_object_get(run, "valid")));
	MMT_CHECK_EQ(json_integer_value(json_object_get(run, "leftover_pages")),
		     0);
	MMT_CHECK(ops > 0);
	MMT_CHECK_EQ(churn, ops);
	json_array_foreach(json_object_get(run, "threads"), i, th)
		sum += json_integer_value(json_object_get(th, "ops"));
	MMT_CHECK_EQ(sum, ops);
	MMT_CHECK_EQ(json_array_size(json_object_get(run, "threads")), 3);
	json_decref(run);
}

/* A block kept by thread 0 and never freed: the final checks see it. */
static void leak_op(struct mmt_stress_thread *t)
{
	if (mmt_stress_thread_id(t) == 0 && !mmt_stress_priv(t))
		mmt_stress_set_priv(t, mmt_kmalloc(64, GFP_KERNEL));
}

static const struct mmt_stress_workload leak_workload = {
	.name = "test-leak",
	.kind = MMT_STRESS_OBJECT,
	.op = leak_op,
};

MMT_TEST(stress_an_object_left_allocated_fails_the_final_validation)
{
	unsigned long findings;
	json_t *run = run_workload(&leak_workload, 0.1, 0, 2, &findings);

	MMT_CHECK(findings >= 1);
	MMT_CHECK(json_is_false(json_object_get(run, "valid")));
	MMT_CHECK(has_signature(run, "invalid-state|stress|teardown"));
	json_decref(run);
}

/* kfree of a pointer inside an object: the model's violation, tallied. */
static void bad_free_op(struct mmt_stress_thread *t)
{
	char *p = mmt_kmalloc(256, GFP_KERNEL);

	if (p && mmt_stress_thread_id(t) == 0 && !mmt_stress_priv(t)) {
		mmt_stress_set_priv(t, p);
		mmt_kfree(p + 8);
	}
	mmt_kfree(p);
}

static const struct mmt_stress_workload bad_free_workload = {
	.name = "test-bad-free",
	.kind = MMT_STRESS_OBJECT,
	.op = bad_free_op,
};

MMT_TEST(stress_a_model_violation_is_a_finding_by_check_layer_and_function)
{
	unsigned long findings;
	json_t *run = run_workload(&bad_free_workload, 0.1, 0, 2, &findings);
	json_t *f = json_array_get(json_object_get(run, "findings"), 0);
	const char *sig = json_string_value(json_object_get(f, "signature"));

	MMT_CHECK(findings >= 1);
	MMT_CHECK_MSG(sig && strchr(sig, '|') && strstr(sig, "|slab|"),
		      "signature %s", sig ? sig : "(none)");
	json_decref(run);
}

/* A cache of the workload's own, watched: its statistics in the JSON. */
static struct mmt_kmem_cache *watched_cache;

static bool watch_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	mmt_stress_main_attach(run);
	watched_cache = mmt_kmem_cache_create("stress-test-72", 72, 0, 0, NULL);
	mmt_stress_main_detach(run);
	if (!watched_cache) {
		snprintf(err, errlen, "no cache");
		return false;
	}
	mmt_stress_watch_cache(run, watched_cache);
	return true;
}

static void watch_op(struct mmt_stress_thread *t)
{
	void *p = mmt_kmem_cache_alloc(watched_cache, GFP_KERNEL);

	(void)t;
	if (p)
		mmt_kmem_cache_free(watched_cache, p);
}

static void watch_teardown(struct mmt_stress_run *run)
{
	(void)run;
	mmt_kmem_cache_destroy(watched_cache);
	watched_cache = NULL;
}

static const struct mmt_stress_workload watch_workload = {
	.name = "test-watch",
	.kind = MMT_STRESS_MODEL,
	.setup = watch_setup,
	.op = watch_op,
	.teardown = watch_teardown,
};

MMT_SLAB_TEST(stress_a_watched_cache_reports_its_slab_statistics_at_the_end)
{
	unsigned long findings;
	json_t *run = run_workload(&watch_workload, 0.2, 0, 2, &findings);
	json_t *c = json_array_get(json_object_get(run, "slab"), 0);

	MMT_CHECK_EQ(findings, 0);
	MMT_CHECK(c);
	MMT_CHECK(!strcmp(json_string_value(json_object_get(c, "name")),
			  "stress-test-72"));
	MMT_CHECK_EQ(json_integer_value(json_object_get(c, "object_size")), 72);
	MMT_CHECK_EQ(json_integer_value(json_object_get(c, "live")), 0);
	MMT_CHECK(json_integer_value(json_object_get(c, "slabs")) >= 1);
	json_decref(run);
}
