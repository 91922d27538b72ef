/* SPDX-License-Identifier: MIT */
/*
 * stress/workloads_object.c - the object workloads: allocation patterns
 * that go only through the object heap (mmt_stress_heap()), so that they
 * run alike on the model's kmalloc (slub, slab, sheaves: the thread is on
 * a simulated CPU) and on a user's allocator under --allocator.
 *
 *   larson     cross-thread frees after Larson & Krishnan: a shared array
 *              of slots; a thread puts a new block into a random slot and
 *              frees the block it took out, most often another thread's
 *   prodcons   producer/consumer: even threads allocate into a ring, odd
 *              ones take from it and free (remote frees all the way); a
 *              producer that finds the ring full consumes, a consumer
 *              that finds it empty produces, so no op waits
 *   sizes      size-class churn: each thread holds up to 256 blocks of
 *              sizes spread log-uniformly over 8 bytes .. 32 KiB (every
 *              kmalloc class, and the large kmallocs from the page
 *              allocator above 8 KiB), freeing a random one half the time
 *   batch      batch alloc/free: N blocks (--batch, default 32), then N
 *              frees in one of four orders: as allocated, reversed,
 *              shuffled, odd ones first
 *
 * Shadow checks on every block (the ArcHeap-like ones a stressor can make
 * without a shadow heap): the usable size is at least what was asked
 * ("usable-size-short"); the block is aligned to min(A, the largest power
 * of two <= its size), A = 16 for a malloc-API or plug-in heap (what
 * malloc promises on x86-64 and mmt/plugin.h asks) and 8 for kmalloc
 * (ARCH_KMALLOC_MINALIGN) ("misaligned"); every byte of the usable size is
 * stamped with the block's cookie at allocation and verified before the
 * free ("cookie-corrupt": overlapping blocks, a usable size that reaches
 * into a neighbour, a block handed out twice).  A NULL from the heap is
 * counted ("alloc_null"), not a finding: the model may fail GFP_KERNEL
 * under pressure, and a plug-in's NULL for a small size shows as a
 * counter in the JSON.
 *
 * Blocks cross threads only through mutex-protected handoffs,
 * so that the cookie a thread wrote is visible to the one that verifies it
 * (and ThreadSanitizer sees the same happens-before).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/heap.h"
#include "stress.h"

struct blk {
	void *p;
	size_t n; /* stamped length: the usable size */
};

/* ---- the checked heap calls ---- */

static size_t align_owed(const struct mmt_heap *h, size_t n)
{
	size_t a = strcmp(h->path, "kmalloc") ? 16 : 8;

	while (a > 1 && a > n)
		a >>= 1;
	return a;
}

/* Allocate @n bytes, check and stamp; false (and counted) on NULL. */
static bool obj_alloc(struct mmt_stress_thread *t, size_t n, struct blk *b)
{
	const struct mmt_heap *h = mmt_stress_heap(t);
	struct mmt_stress_run *run = mmt_stress_run_of(t);
	uint64_t t0 = mmt_stress_clock();
	size_t usable, a;
	void *p;

	p = h->alloc(n);
	mmt_stress_lat(t, MMT_STRESS_LAT_OBJ_ALLOC, t0);
	if (!p) {
		mmt_stress_count(t, "alloc_null", 1);
		return false;
	}
	usable = h->usable_size ? h->usable_size(p) : n;
	if (usable < n) {
		mmt_stress_finding(
			run, "usable-size-short",
			"%s: a block of %zu bytes at %p reports a usable size of %zu",
			h->name, n, p, usable);
		usable = n;
	}
	a = align_owed(h, n);
	if ((uintptr_t)p & (a - 1))
		mmt_stress_finding(
			run, "misaligned",
			"%s: a block of %zu bytes at %p is not aligned to %zu",
			h->name, n, p, a);
	mmt_stress_stamp(t, p, usable);
	b->p = p;
	b->n = usable;
	mmt_stress_count(t, "allocs", 1);
	return true;
}

static void obj_free(struct mmt_stress_thread *t, const struct blk *b)
{
	const struct mmt_heap *h = mmt_stress_heap(t);
	uint64_t t0;

	/* A corrupt block is not freed: the heap's state is suspect. */
	if (!mmt_stress_verify(t, b->p, b->n))
		return;
	t0 = mmt_stress_clock();
	h->free(b->p);
	mmt_stress_lat(t, MMT_STRESS_LAT_OBJ_FREE, t0);
	mmt_stress_count(t, "frees", 1);
}

static size_t size_between(struct mmt_stress_thread *t, size_t lo, size_t hi)
{
	return lo + (size_t)mmt_stress_rand(t, (uint64_t)(hi - lo) + 1);
}

/* Log-uniform over [lo, hi]: every size class is hit as often. */
static size_t size_log(struct mmt_stress_thread *t, size_t lo, size_t hi)
{
	unsigned int lb = 63u - (unsigned int)__builtin_clzll(lo),
		     hb = 63u - (unsigned int)__builtin_clzll(hi);
	unsigned int e = lb + (unsigned int)mmt_stress_rand(t, hb - lb + 1);
	size_t base = (size_t)1 << e, n;

	/* A third exactly a power of two (the class boundaries). */
	if (!mmt_stress_rand(t, 3))
		n = base;
	else
		n = base + (size_t)mmt_stress_rand(t, base);
	return n < lo ? lo : n > hi ? hi : n;
}

static void sizes_of(struct mmt_stress_thread *t, size_t dlo, size_t dhi,
		     size_t *lo, size_t *hi)
{
	const struct mmt_stress_params *p =
		mmt_stress_params(mmt_stress_run_of(t));

	*lo = p->size_min ? p->size_min : dlo;
	*hi = p->size_max ? p->size_max : dhi;
	if (*hi < *lo)
		*hi = *lo;
}

/* ---- larson: cross-thread frees through shared slots ---- */

#define LARSON_SLOTS 1024

/*
 * A mutex per slot, not a spinlock: with more threads than PUs (a
 * synthetic topology folded onto this machine) a preempted holder would
 * leave the others spinning for whole time slices.
 */
struct larson_slot {
	pthread_mutex_t mu;
	struct blk b;
};

static bool larson_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct larson_slot *slots = calloc(LARSON_SLOTS, sizeof(*slots));
	unsigned int i;

	if (!slots) {
		snprintf(err, errlen, "larson: out of memory");
		return false;
	}
	for (i = 0; i < LARSON_SLOTS; i++)
		pthread_mutex_init(&slots[i].mu, NULL);
	mmt_stress_set_shared(run, slots);
	return true;
}

static void larson_op(struct mmt_stress_thread *t)
{
	struct larson_slot *s = mmt_stress_shared(mmt_stress_run_of(t));
	struct blk nb = { 0 }, old;
	size_t lo, hi;

	sizes_of(t, 8, 512, &lo, &hi);
	if (!obj_alloc(t, size_between(t, lo, hi), &nb))
		return;
	s += mmt_stress_rand(t, LARSON_SLOTS);
	pthread_mutex_lock(&s->mu);
	old = s->b;
	s->b = nb;
	pthread_mutex_unlock(&s->mu);
	if (old.p)
		obj_free(t, &old);
}

/* Empty the slots: on the main thread, every worker gone. */
static void larson_teardown(struct mmt_stress_run *run)
{
	struct larson_slot *slots = mmt_stress_shared(run);
	struct mmt_stress_thread *t = mmt_stress_main_thread(run);
	unsigned int i;

	if (!slots)
		return;
	for (i = 0; i < LARSON_SLOTS; i++) {
		if (slots[i].b.p)
			obj_free(t, &slots[i].b);
		pthread_mutex_destroy(&slots[i].mu);
	}
	free(slots);
}

/* ---- prodcons: a ring from producers to consumers ---- */

#define RING_SIZE 256

struct ring {
	pthread_mutex_t mu;
	unsigned int head, count;
	struct blk b[RING_SIZE];
};

static bool ring_setup(struct mmt_stress_run *run, char *err, size_t errlen)
{
	struct ring *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "prodcons: out of memory");
		return false;
	}
	pthread_mutex_init(&r->mu, NULL);
	mmt_stress_set_shared(run, r);
	return true;
}

static bool ring_put(struct ring *r, const struct blk *b)
{
	bool ok = false;

	pthread_mutex_lock(&r->mu);
	if (r->count < RING_SIZE) {
		r->b[(r->head + r->count) % RING_SIZE] = *b;
		r->count++;
		ok = true;
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}

static bool ring_get(struct ring *r, struct blk *b)
{
	bool ok = false;

	pthread_mutex_lock(&r->mu);
	if (r->count) {
		*b = r->b[r->head];
		r->head = (r->head + 1) % RING_SIZE;
		r->count--;
		ok = true;
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* What is still in the ring: verified and freed by the main thread. */
static void ring_teardown(struct mmt_stress_run *run)
{
	struct ring *r = mmt_stress_shared(run);
	struct mmt_stress_thread *t = mmt_stress_main_thread(run);
	struct blk b;

	if (!r)
		return;
	while (ring_get(r, &b))
		obj_free(t, &b);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void prodcons_produce(struct mmt_stress_thread *t, struct ring *r)
{
	struct blk b;
	size_t lo, hi;

	sizes_of(t, 16, 2048, &lo, &hi);
	if (!obj_alloc(t, size_log(t, lo, hi), &b))
		return;
	if (ring_put(r, &b)) {
		mmt_stress_count(t, "produced", 1);
		return;
	}
	obj_free(t, &b); /* full: a local free, and consume next */
	if (ring_get(r, &b)) {
		obj_free(t, &b);
		mmt_stress_count(t, "consumed", 1);
	}
}

static void prodcons_consume(struct mmt_stress_thread *t, struct ring *r)
{
	struct blk b;

	if (ring_get(r, &b)) {
		obj_free(t, &b);
		mmt_stress_count(t, "consumed", 1);
		return;
	}
	prodcons_produce(t, r); /* empty: keep the ring fed */
}

static void prodcons_op(struct mmt_stress_thread *t)
{
	struct ring *r = mmt_stress_shared(mmt_stress_run_of(t));
	const struct mmt_stress_params *p =
		mmt_stress_params(mmt_stress_run_of(t));

	/* One thread alone takes both roles in turn. */
	if (p->threads == 1 ? mmt_stress_rand(t, 2) :
			      !(mmt_stress_thread_id(t) & 1))
		prodcons_produce(t, r);
	else
		prodcons_consume(t, r);
}

/* ---- sizes: size-class churn ---- */

#define SIZES_HELD 256

struct held {
	unsigned int n;
	struct blk b[SIZES_HELD];
};

static void held_init(struct mmt_stress_thread *t)
{
	struct held *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	mmt_stress_set_priv(t, h);
}

static void held_exit(struct mmt_stress_thread *t)
{
	struct held *h = mmt_stress_priv(t);

	while (h->n)
		obj_free(t, &h->b[--h->n]);
	free(h);
	mmt_stress_set_priv(t, NULL);
}

static void sizes_op(struct mmt_stress_thread *t)
{
	struct held *h = mmt_stress_priv(t);
	size_t lo, hi;
	unsigned int i;

	sizes_of(t, 8, 32768, &lo, &hi);
	if (h->n == SIZES_HELD || (h->n && mmt_stress_rand(t, 2))) {
		i = (unsigned int)mmt_stress_rand(t, h->n);
		obj_free(t, &h->b[i]);
		h->b[i] = h->b[--h->n];
		return;
	}
	if (obj_alloc(t, size_log(t, lo, hi), &h->b[h->n]))
		h->n++;
}

/* ---- batch: N allocations, then N frees in some order ---- */

#define BATCH_MAX 1024

static void batch_op(struct mmt_stress_thread *t)
{
	const struct mmt_stress_params *p =
		mmt_stress_params(mmt_stress_run_of(t));
	struct blk b[BATCH_MAX];
	unsigned int want = p->batch ? p->batch : 32, n = 0, i, order;
	size_t lo, hi;

	if (want > BATCH_MAX)
		want = BATCH_MAX;
	sizes_of(t, 8, 1024, &lo, &hi);
	for (i = 0; i < want; i++)
		if (obj_alloc(t, size_between(t, lo, hi), &b[n]))
			n++;
	order = (unsigned int)mmt_stress_rand(t, 4);
	switch (order) {
	case 0: /* as allocated */
		for (i = 0; i < n; i++)
			obj_free(t, &b[i]);
		break;
	case 1: /* reversed */
		for (i = n; i-- > 0;)
			obj_free(t, &b[i]);
		break;
	case 2: /* shuffled */
		for (i = n; i > 1; i--) {
			unsigned int j = (unsigned int)mmt_stress_rand(t, i);
			struct blk tmp = b[i - 1];

			b[i - 1] = b[j];
			b[j] = tmp;
		}
		for (i = 0; i < n; i++)
			obj_free(t, &b[i]);
		break;
	default: /* odd ones first, then even */
		for (i = 1; i < n; i += 2)
			obj_free(t, &b[i]);
		for (i = 0; i < n; i += 2)
			obj_free(t, &b[i]);
		break;
	}
	mmt_stress_count(t, "batches", 1);
}

const struct mmt_stress_workload mmt_stress_object_workloads[] = {
	{
		.name = "larson",
		.summary =
			"cross-thread frees: threads swap new blocks into shared slots and free what they took out",
		.kind = MMT_STRESS_OBJECT,
		.setup = larson_setup,
		.op = larson_op,
		.teardown = larson_teardown,
	},
	{
		.name = "prodcons",
		.summary =
			"producer/consumer: even threads allocate into a ring, odd threads take and free (remote frees)",
		.kind = MMT_STRESS_OBJECT,
		.setup = ring_setup,
		.op = prodcons_op,
		.teardown = ring_teardown,
	},
	{
		.name = "sizes",
		.summary =
			"size-class churn: up to 256 held blocks per thread, 8 B..32 KiB log-uniform (large kmallocs too)",
		.kind = MMT_STRESS_OBJECT,
		.thread_init = held_init,
		.op = sizes_op,
		.thread_exit = held_exit,
	},
	{
		.name = "batch",
		.summary =
			"batch alloc/free: N blocks (--batch, 32) then N frees in order, reversed, shuffled or odd-first",
		.kind = MMT_STRESS_OBJECT,
		.op = batch_op,
	},
};
const size_t mmt_stress_nr_object_workloads =
	sizeof(mmt_stress_object_workloads) /
	sizeof(mmt_stress_object_workloads[0]);
