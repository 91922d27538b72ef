/* SPDX-License-Identifier: MIT */
/*
 * tests/main.c - runner of the tests declared with MMT_TEST (mmt_test.h).
 * Usage: mmt-tests NAME | mmt-tests --list | mmt-tests --all
 * The test table is the "mmt_tests" linker section (GNU ld/lld provide the
 * __start_/__stop_ symbols for it).
 */
#include <stdarg.h>

#include "mmt_test.h"

extern const struct mmt_test *const __start_mmt_tests[];
extern const struct mmt_test *const __stop_mmt_tests[];

static uint64_t seed, rng_state;
static int slab_impl = -1;

int t_slab_impl(void)
{
	return slab_impl;
}
static const char *current_test = "?";
static struct mmt_machine *test_machine;
static struct mmt_task *test_task;

uint64_t t_seed(void)
{
	return seed;
}

uint64_t t_rand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t t_rand_below(uint64_t n)
{
	return n ? t_rand() % n : 0;
}

static void print_violations(void)
{
	unsigned long i, n;

	if (!test_machine)
		return;
	n = mmt_violation_count(test_machine);
	if (!n)
		return;
	fprintf(stderr, "%lu violation(s) reported by the test machine:\n", n);
	for (i = 0; i < n; i++) {
		const struct mmt_violation *v =
			mmt_violation_get(test_machine, i);

		if (!v)
			break;
		mmt_violation_print(v, stderr);
	}
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s\n%s:%d: ", current_test, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
		"\nreproduce with: MMT_SEED=%" PRIu64 " mmt-tests %s%s\n", seed,
		current_test,
		slab_impl < 0		   ? "" :
		slab_impl == MMT_SLAB_SLUB ? " --slab=slub" :
		slab_impl == MMT_SLAB_SLAB ? " --slab=slab" :
					     " --slab=sheaves");
	print_violations();
	exit(1);
}

struct mmt_machine *t_machine(const struct mmt_config *cfg)
{
	struct mmt_config def;
	char err[256];

	if (!cfg)
		mmt_config_default(&def);
	else
		def = *cfg;
	if (slab_impl >= 0)
		def.slab = (enum mmt_slab_impl)slab_impl;
	cfg = &def;
	t_machine_done();
	test_machine = mmt_machine_create(cfg, err, sizeof(err));
	if (!test_machine)
		t_fail(__FILE__, __LINE__, "mmt_machine_create: %s", err);
	test_task = mmt_task_create(test_machine, "test", 0);
	if (!test_task || !mmt_cpu_attach(test_machine, 0, test_task))
		t_fail(__FILE__, __LINE__,
		       "cannot put the test thread on cpu 0");
	return test_machine;
}

void t_machine_done(void)
{
	if (!test_machine)
		return;
	if (mmt_smp_processor_id() >= 0)
		mmt_cpu_detach();
	mmt_task_destroy(test_task);
	mmt_machine_destroy(test_machine);
	test_machine = NULL;
	test_task = NULL;
}

struct mmt_machine *t_tight_machine(const struct t_tight *opts)
{
	static const struct t_tight defaults;
	struct mmt_config cfg;
	struct mmt_machine *m;

	if (!opts)
		opts = &defaults;
	mmt_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.dma32_pages = 0;
	cfg.normal_pages = opts->pages ? opts->pages : T_TIGHT_PAGES;
	cfg.pcp_batch = 1; /* per-cpu lists hold at most one page */
	cfg.pcp_high = 1;
	cfg.bugs = opts->bugs;
	cfg.slab = opts->slab;
	m = t_machine(&cfg);
	if (!opts->computed_watermarks)
		mmt_zone_set_watermarks(m, 0, T_TIGHT_MIN, T_TIGHT_LOW,
					T_TIGHT_HIGH);
	return m;
}

long t_zone_free(struct mmt_machine *m, int zone)
{
	struct mmt_zone_info zi;

	mmt_zone_info(m, zone, &zi);
	return (long)zi.free;
}

unsigned int t_take_pages_until(struct mmt_machine *m, int zone,
				long free_target, struct mmt_page **held,
				unsigned int max)
{
	unsigned int n = 0;

	while (t_zone_free(m, zone) > free_target) {
		MMT_CHECK(n < max);
		held[n] = mmt_alloc_pages(__GFP_MEMALLOC | __GFP_NOWARN, 0);
		MMT_CHECK(held[n] != NULL);
		n++;
	}
	return n;
}

void t_give_pages_back(struct mmt_page **held, unsigned int n)
{
	while (n)
		mmt_free_pages(held[--n], 0);
}

static void *thread_main(void *arg)
{
	struct t_thread *t = arg;
	struct mmt_task *task = mmt_task_create(t->m, "worker", 0);

	MMT_CHECK_MSG(task && mmt_cpu_attach(t->m, t->cpu, task),
		      "a worker thread cannot attach to cpu %d", t->cpu);
	t->ts->body(t->cpu, t->ts->arg);
	mmt_cpu_detach();
	mmt_task_destroy(task);
	return NULL;
}

void t_threads_start(struct t_threads *ts, int nthreads, int first_cpu,
		     void (*body)(int cpu, void *arg), void *arg)
{
	int i;

	MMT_CHECK(test_machine != NULL);
	MMT_CHECK(nthreads >= 1 && nthreads <= MMT_MAX_CPUS);
	ts->body = body;
	ts->arg = arg;
	ts->n = nthreads;
	for (i = 0; i < nthreads; i++) {
		ts->t[i] = (struct t_thread){ .ts = ts,
					      .m = test_machine,
					      .cpu = first_cpu + i };
		MMT_CHECK(pthread_create(&ts->t[i].th, NULL, thread_main,
					 &ts->t[i]) == 0);
	}
}

void t_threads_join(struct t_threads *ts)
{
	int i;

	for (i = 0; i < ts->n; i++)
		MMT_CHECK(pthread_join(ts->t[i].th, NULL) == 0);
	ts->n = 0;
}

void t_run_on_cpus(int nthreads, void (*body)(int cpu, void *arg), void *arg)
{
	struct mmt_task *self = mmt_current_task();
	int cpu = mmt_smp_processor_id();
	struct t_threads ts;

	MMT_CHECK(self != NULL && cpu >= 0);
	mmt_cpu_detach();
	t_threads_start(&ts, nthreads, 0, body, arg);
	t_threads_join(&ts);
	MMT_CHECK(mmt_cpu_attach(test_machine, cpu, self));
}

void t_exchange_init(struct t_exchange *x, unsigned int nslots)
{
	MMT_CHECK(nslots >= 1 && nslots <= T_EXCHANGE_MAX);
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
	x->nslots = nslots;
}

void *t_exchange_swap(struct t_exchange *x, unsigned int k, void *obj)
{
	void *old;

	pthread_mutex_lock(&x->mu);
	old = x->slot[k % x->nslots];
	x->slot[k % x->nslots] = obj;
	pthread_mutex_unlock(&x->mu);
	return old;
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int run(const struct mmt_test *t)
{
	const char *env = getenv("MMT_SEED");

	current_test = t->name;
	seed = env ? strtoull(env, NULL, 0) : name_hash(t->name);
	rng_state = seed;
	/*
	 * The binary form's whole range: a header may name any mempool
	 * policy here (the engines leave kernel-2016 out unless asked).
	 */
	mmt_trace_bin_set_mempool_policies("all", NULL, 0);
	t->fn();
	t_machine_done();
	printf("PASS %s (seed %" PRIu64 ")\n", t->name, seed);
	return 0;
}

int main(int argc, char **argv)
{
	const struct mmt_test *const *it;

	if (argc == 3 && !strcmp(argv[2], "--slab=slub"))
		slab_impl = MMT_SLAB_SLUB;
	else if (argc == 3 && !strcmp(argv[2], "--slab=slab"))
		slab_impl = MMT_SLAB_SLAB;
	else if (argc == 3 && !strcmp(argv[2], "--slab=sheaves"))
		slab_impl = MMT_SLAB_SHEAVES;
	else if (argc != 2) {
		fprintf(stderr,
			"usage: %s NAME [--slab=slub|slab|sheaves] | --list | --all\n",
			argv[0]);
		return 2;
	}
	for (it = __start_mmt_tests; it < __stop_mmt_tests; it++) {
		if (!strcmp(argv[1], "--list"))
			printf("%s\n", (*it)->name);
		else if (!strcmp(argv[1], "--all"))
			run(*it);
		else if (!strcmp(argv[1], (*it)->name))
			return run(*it);
	}
	if (!strcmp(argv[1], "--list") || !strcmp(argv[1], "--all"))
		return 0;
	fprintf(stderr, "%s: no test named '%s' (see --list)\n", argv[0],
		argv[1]);
	return 2;
}
