/* SPDX-License-Identifier: MIT */
/*
 * targets/plugins/harness.c - the object-level harness: a program of
 * malloc, calloc, free, realloc and aligned allocations over a few
 * threads, run on a loaded allocator (loader.c) under shadow oracles in
 * the spirit of ArcHeap (Yun et al., USENIX Security 2020).
 *
 * Input (every byte string is a program; nothing is rejected):
 *   byte 0           threads: 1 + (b & 3); b & 4: they end (thread_exit)
 *                    before the final frees
 *   then 4 bytes an operation [k, s0, s1, x], a short tail ignored:
 *     kind   k % 8: 0,1 malloc  2 calloc  3,4 free  5 realloc
 *                   6 aligned alloc  7 free (a double free in misuse mode)
 *     thread (k >> 3) % threads         the thread that makes the call
 *     align  8 << {0,1,2,3,4,5,7,9}[(k >> 5) & 7]   (aligned alloc)
 *     size   v = (s0 & 63) << 8 | s1, by class s0 >> 6:
 *            v % 17, v % 257, v % 4097, v % 65537   (realloc: at least 1)
 *     slot   x % 64: the block the operation names
 *   An allocation into a used slot frees the slot's block first; a free of
 *   an empty slot is free(NULL); realloc of an empty one is realloc(NULL).
 *
 * Threads.  The operations run in input order, each on its thread: the
 * main thread hands a call to a worker (a semaphore each way) and waits,
 * so every interleaving is the input's and replays exactly, while blocks
 * still move between threads (allocated on one, freed or reallocated on
 * another, freed after their thread has exited).  Workers persist from
 * input to input (thread_init first, thread_exit when they end): creating
 * and joining three threads cost 2.4 ms an input under ASan, more than
 * the rest of a 256-operation input; an input with bit 2 of byte 0 ends
 * them before its final frees (blocks outliving their thread), the next
 * input starts new ones.
 *
 * Shadow.  The live blocks, sorted by address, in the framework's own
 * memory (the process's malloc, never the plug-in's).  Live blocks never
 * overlap (the first overlap is a finding), so checking a new block
 * against its two neighbours in address order checks it against all.
 * Each block is stamped at allocation: a cookie in its first 8 bytes, a
 * fill byte in the rest, both from the block's serial number; verified
 * whole at free and realloc, its edges whenever a neighbour is allocated.
 *
 * Oracles (each a finding "ORACLE|heap|ALLOCATOR", the first ends the
 * input): see oracles[] below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap.h"

#define NR_SLOTS 64
#define MAX_THREADS 4
#define MAX_OPS 2048
#define COOKIE 0x6d6d74636f6f6b69ull /* "mmtcooki" */
/* A usable size this far past the request is reported without a look. */
#define USABLE_SLACK_MAX (16ul << 20)
#define DOUBLE_FREE_ACCEPTED 42

static const struct mmt_heap_oracle oracles[] = {
	{ "overlap", "a new block overlaps a live one" },
	{ "outside-mapped",
	  "a block (its requested bytes) is not all mapped memory" },
	{ "misaligned",
	  "a block is not aligned to min(16, size) or the requested alignment" },
	{ "usable-size-short", "usable size smaller than the size asked" },
	{ "usable-size-spill",
	  "usable size reaches into a live neighbour or unmapped memory" },
	{ "cookie-corrupted", "a live block's cookie (first 8 bytes) changed" },
	{ "content-corrupted", "a live block's contents changed" },
	{ "calloc-not-zeroed", "calloc returned memory that is not zero" },
	{ "realloc-lost-content", "realloc did not keep the common prefix" },
	{ "realloc-overrun", "realloc wrote into a live neighbour" },
	{ "double-free-accepted",
	  "(misuse mode) after a double free the block is handed out twice, or over a live block" },
};

const struct mmt_heap_oracle *mmt_heap_oracles(size_t *nr)
{
	*nr = sizeof(oracles) / sizeof(oracles[0]);
	return oracles;
}

enum kind {
	K_MALLOC,
	K_CALLOC,
	K_FREE,
	K_REALLOC,
	K_ALIGNED,
	K_FREE7, /* free; a double free in misuse mode */
};

static const char *const kind_names[] = { "malloc",  "calloc",	      "free",
					  "realloc", "aligned_alloc", "free" };

struct op {
	enum kind kind;
	unsigned int thread, slot;
	size_t size, align;
};

static size_t decode(const uint8_t *d, size_t n, struct op *ops,
		     unsigned int *nthreads, bool *end_threads)
{
	static const enum kind kinds[8] = { K_MALLOC,  K_MALLOC, K_CALLOC,
					    K_FREE,    K_FREE,	 K_REALLOC,
					    K_ALIGNED, K_FREE7 };
	static const unsigned int shifts[8] = { 0, 1, 2, 3, 4, 5, 7, 9 };
	static const size_t mods[4] = { 17, 257, 4097, 65537 };
	size_t nr = 0, i;

	*nthreads = n ? 1 + (d[0] & 3) : 1;
	*end_threads = n && (d[0] & 4);
	for (i = 1; i + 4 <= n && nr < MAX_OPS; i += 4) {
		struct op *o = &ops[nr++];
		size_t v = ((size_t)(d[i + 1] & 63) << 8) | d[i + 2];

		o->kind = kinds[d[i] % 8];
		o->thread = (d[i] >> 3) % *nthreads;
		o->align = (size_t)8 << shifts[(d[i] >> 5) & 7];
		o->size = v % mods[d[i + 1] >> 6];
		if (o->kind == K_REALLOC && !o->size)
			o->size = 1;
		o->slot = d[i + 3] % NR_SLOTS;
	}
	return nr;
}

static void op_text(const struct op *o, size_t idx, char *buf, size_t len)
{
	switch (o->kind) {
	case K_FREE:
	case K_FREE7:
		snprintf(buf, len, "op %zu: free slot %u on thread %u%s", idx,
			 o->slot, o->thread,
			 o->kind == K_FREE7 ? " (twice in misuse mode)" : "");
		break;
	case K_ALIGNED:
		snprintf(
			buf, len,
			"op %zu: aligned_alloc slot %u size %zu align %zu on thread %u",
			idx, o->slot, o->size, o->align, o->thread);
		break;
	default:
		snprintf(buf, len, "op %zu: %s slot %u size %zu on thread %u",
			 idx, kind_names[o->kind], o->slot, o->size, o->thread);
	}
}

void mmt_harness_print(const uint8_t *data, size_t size, void *file)
{
	static struct op ops[MAX_OPS];
	unsigned int nthreads;
	bool end;
	size_t nr = decode(data, size, ops, &nthreads, &end), i;
	char line[160];

	fprintf(file, "threads %u%s, %zu operation(s)\n", nthreads,
		end ? " (ending before the final frees)" : "", nr);
	for (i = 0; i < nr; i++) {
		op_text(&ops[i], i, line, sizeof(line));
		fprintf(file, "  %s\n", line);
	}
}

/* ---- the calls, on their threads ---- */

struct call {
	enum kind kind;
	void *p, *ret;
	size_t size, align;
};

struct worker {
	pthread_t tid;
	sem_t go, done;
	struct call *c;
	bool quit;
};

static const struct mmt_heap *heap;

/* A handoff (a semaphore each way): sleeping, not spinning - on a busy
 * machine a spinning side takes the core the other side needs. */
static void wait_for(sem_t *s)
{
	while (sem_wait(s) && errno == EINTR)
		;
}

static bool heap_misuse_double_free, heap_no_aligned;

static void do_call(struct call *c)
{
	const struct mmt_heap *h = heap;

	c->ret = NULL;
	switch (c->kind) {
	case K_MALLOC:
		c->ret = h->alloc(c->size);
		break;
	case K_CALLOC:
		c->ret = h->calloc ? h->calloc(1, c->size) : h->alloc(c->size);
		break;
	case K_FREE:
	case K_FREE7:
		h->free(c->p);
		break;
	case K_REALLOC:
		c->ret = h->realloc(c->p, c->size);
		break;
	case K_ALIGNED:
		if (h->kind == MMT_HEAP_TABLE && h->aligned_alloc) {
			c->ret = h->aligned_alloc(c->align, c->size);
		} else if (h->aligned_alloc) {
			/* C11: the size a multiple of the alignment. */
			c->ret = h->aligned_alloc(c->align,
						  (c->size + c->align - 1) &
							  ~(c->align - 1));
		} else if (h->posix_memalign) {
			if (h->posix_memalign(&c->ret, c->align, c->size))
				c->ret = NULL;
		} else {
			c->ret = h->alloc(c->size);
		}
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (heap->thread_init)
		heap->thread_init();
	for (;;) {
		wait_for(&w->go);
		if (w->quit)
			break;
		do_call(w->c);
		sem_post(&w->done);
	}
	if (heap->thread_exit)
		heap->thread_exit();
	return NULL;
}

static struct worker workers[MAX_THREADS];
static unsigned int nr_workers = 1; /* running, thread 0 included */

static void call_on(unsigned int thread, struct call *c)
{
	struct worker *w;

	if (thread == 0 || thread >= nr_workers) {
		do_call(c);
		return;
	}
	w = &workers[thread];
	w->c = c;
	sem_post(&w->go);
	wait_for(&w->done);
}

static void workers_start(unsigned int n)
{
	unsigned int i;

	for (i = nr_workers; i < n; i++) {
		struct worker *w = &workers[i];

		w->quit = false;
		sem_init(&w->go, 0, 0);
		sem_init(&w->done, 0, 0);
		if (pthread_create(&w->tid, NULL, worker_main, w)) {
			sem_destroy(&w->go);
			sem_destroy(&w->done);
			break; /* fewer threads: their calls run on thread 0 */
		}
		nr_workers++;
	}
}

static void workers_stop(void)
{
	unsigned int i;

	for (i = 1; i < nr_workers; i++) {
		struct worker *w = &workers[i];

		w->quit = true;
		sem_post(&w->go);
		pthread_join(w->tid, NULL);
		sem_destroy(&w->go);
		sem_destroy(&w->done);
	}
	nr_workers = 1;
}

/* ---- the shadow ---- */

struct blk {
	uintptr_t p;
	size_t size, usable;
	uint64_t id;
};

static struct blk *live;
static size_t nr_live, cap_live;
static uintptr_t slots[NR_SLOTS];
static uint64_t serial;

static struct {
	struct mmt_heap_finding *f;
	const char *op;
	size_t idx;
	bool found;
} run;

static bool finding(const char *oracle, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool finding(const char *oracle, const char *fmt, ...)
{
	struct mmt_heap_finding *f = run.f;
	va_list ap;

	if (run.found)
		return true;
	run.found = true;
	snprintf(f->oracle, sizeof(f->oracle), "%s", oracle);
	snprintf(f->signature, sizeof(f->signature), "%s|heap|%s", oracle,
		 heap->name);
	f->op_index = run.idx;
	snprintf(f->op_text, sizeof(f->op_text), "%s", run.op);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return true;
}

static size_t extent(size_t size)
{
	return size ? size : 1;
}

/* First index with live[i].p >= p. */
static size_t lower_bound(uintptr_t p)
{
	size_t lo = 0, hi = nr_live;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (live[mid].p < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct blk *find(uintptr_t p)
{
	size_t i = lower_bound(p);

	return i < nr_live && live[i].p == p ? &live[i] : NULL;
}

static bool insert(const struct blk *b)
{
	size_t i = lower_bound(b->p);

	if (nr_live == cap_live) {
		size_t cap = cap_live ? cap_live * 2 : 128;
		struct blk *n = realloc(live, cap * sizeof(*n));

		if (!n)
			return false;
		live = n;
		cap_live = cap;
	}
	memmove(&live[i + 1], &live[i], (nr_live - i) * sizeof(*live));
	live[i] = *b;
	nr_live++;
	return true;
}

static void erase(struct blk *b)
{
	size_t i = (size_t)(b - live);

	memmove(&live[i], &live[i + 1], (nr_live - i - 1) * sizeof(*live));
	nr_live--;
}

/* Is [p, p + len) all mapped?  mincore() fails with ENOMEM where not. */
static bool mapped(uintptr_t p, size_t len)
{
	static unsigned char vec[8192];
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t start = p & ~((uintptr_t)page - 1);
	uintptr_t end = p + extent(len);

	if (end < p)
		return false;
	while (start < end) {
		size_t chunk = end - start;

		if (chunk > sizeof(vec) * (size_t)page)
			chunk = sizeof(vec) * (size_t)page;
		if (mincore((void *)start, chunk, vec) && errno == ENOMEM)
			return false;
		start += chunk;
	}
	return true;
}

static uint8_t fill_of(uint64_t id)
{
	return (uint8_t)((id * 0x9e3779b97f4a7c15ull) >> 56) | 1;
}

static uint64_t cookie_of(uint64_t id)
{
	return COOKIE ^ (id * 0x9e3779b97f4a7c15ull);
}

static void stamp(const struct blk *b, size_t from)
{
	uint8_t *m = (uint8_t *)b->p;
	uint64_t c = cookie_of(b->id);

	if (b->size >= 8 && from < 8) {
		memcpy(m, &c, 8);
		from = 8;
	}
	if (b->size > from)
		memset(m + from, fill_of(b->id), b->size - from);
}

/*
 * Where [from, to) of @b differs from its stamp: -1 if nowhere, else the
 * offset (a cookie difference at 0..7).
 */
static long diff(const struct blk *b, size_t from, size_t to)
{
	const uint8_t *m = (const uint8_t *)b->p;
	uint64_t c = cookie_of(b->id);
	uint8_t fill = fill_of(b->id);
	size_t i;

	if (to > b->size)
		to = b->size;
	if (b->size >= 8)
		for (; from < to && from < 8; from++)
			if (m[from] != ((const uint8_t *)&c)[from])
				return (long)from;
	/* memcmp against a run of the fill byte, a page at a time. */
	for (i = from; i < to;) {
		static uint8_t run[4096];
		static int run_fill = -1;
		size_t n = to - i < sizeof(run) ? to - i : sizeof(run), k;

		if (run_fill != fill) {
			memset(run, fill, sizeof(run));
			run_fill = fill;
		}
		if (memcmp(m + i, run, n)) {
			for (k = 0; k < n; k++)
				if (m[i + k] != fill)
					return (long)(i + k);
		}
		i += n;
	}
	return -1;
}

/* Verify @b from @from to @to: a finding named @oracle if changed. */
static bool verify(const struct blk *b, size_t from, size_t to,
		   const char *oracle, const char *why)
{
	long off = diff(b, from, to);

	if (off < 0)
		return false;
	if (!oracle)
		oracle = b->size >= 8 && off < 8 ? "cookie-corrupted" :
						   "content-corrupted";
	return finding(
		oracle,
		"the block of %zu bytes at %#lx (block #%llu) changed at offset %ld %s",
		b->size, (unsigned long)b->p, (unsigned long long)b->id, off,
		why);
}

/* Both ends of a live neighbour (its full check waits for its free). */
static bool verify_edges(const struct blk *b, const char *oracle,
			 const char *why)
{
	return verify(b, 0, 16, oracle, why) ||
	       (b->size > 16 && verify(b, b->size - 8, b->size, oracle, why));
}

/*
 * A block the allocator just returned for @size bytes (@align: the
 * alignment it owes): every oracle of a new block, then its neighbours'
 * edges.  @b filled (not stamped, not inserted).
 */
static bool check_new(void *ptr, size_t size, size_t align, struct blk *b)
{
	uintptr_t p = (uintptr_t)ptr;
	size_t i, us;

	b->p = p;
	b->size = size;
	b->id = ++serial;
	if (!mapped(p, size))
		return finding("outside-mapped",
			       "%zu bytes at %#lx are not all mapped memory",
			       size, (unsigned long)p);
	if (p & (align - 1))
		return finding("misaligned",
			       "%#lx for %zu bytes is not aligned to %zu",
			       (unsigned long)p, size, align);
	us = heap->usable_size(ptr);
	b->usable = us;
	if (us < size)
		return finding(
			"usable-size-short",
			"usable size %zu of the block at %#lx is smaller than the %zu bytes asked",
			us, (unsigned long)p, size);
	if (us - size > USABLE_SLACK_MAX || !mapped(p, us))
		return finding(
			"usable-size-spill",
			"usable size %zu of the block of %zu bytes at %#lx reaches unmapped memory",
			us, size, (unsigned long)p);
	i = lower_bound(p);
	if (i > 0 && live[i - 1].p + extent(live[i - 1].size) > p)
		return finding(
			"overlap",
			"the new block [%#lx, +%zu) overlaps the live block [%#lx, +%zu) (block #%llu)",
			(unsigned long)p, size, (unsigned long)live[i - 1].p,
			live[i - 1].size, (unsigned long long)live[i - 1].id);
	if (i < nr_live && p + extent(size) > live[i].p)
		return finding(
			"overlap",
			"the new block [%#lx, +%zu) overlaps the live block [%#lx, +%zu) (block #%llu)",
			(unsigned long)p, size, (unsigned long)live[i].p,
			live[i].size, (unsigned long long)live[i].id);
	if (i < nr_live && p + us > live[i].p)
		return finding(
			"usable-size-spill",
			"usable size %zu of the new block at %#lx reaches into the live block at %#lx",
			us, (unsigned long)p, (unsigned long)live[i].p);
	if (i > 0 && live[i - 1].p + live[i - 1].usable > p)
		return finding(
			"usable-size-spill",
			"usable size %zu of the live block at %#lx reaches into the new block at %#lx",
			live[i - 1].usable, (unsigned long)live[i - 1].p,
			(unsigned long)p);
	if (i > 0 && verify_edges(&live[i - 1], NULL,
				  "when its neighbour was allocated"))
		return true;
	if (i < nr_live &&
	    verify_edges(&live[i], NULL, "when its neighbour was allocated"))
		return true;
	return false;
}

/* The alignment malloc owes @size bytes: min(16, largest 2^k <= size). */
static size_t malloc_align(size_t size)
{
	size_t a = 1;

	while (a < 16 && a * 2 <= size)
		a *= 2;
	return a;
}

static bool add_new(unsigned int slot, void *ptr, size_t size, size_t align,
		    bool zeroed)
{
	struct blk b;
	size_t i;

	if (!ptr)
		return false; /* out of memory (or size 0): allowed */
	if (check_new(ptr, size, align, &b))
		return true;
	if (zeroed) {
		static const uint8_t zero[4096];
		const uint8_t *m = ptr;

		for (i = 0; i < size; i += sizeof(zero)) {
			size_t n = size - i < sizeof(zero) ? size - i :
							     sizeof(zero),
			       k;

			if (!memcmp(m + i, zero, n))
				continue;
			for (k = 0; m[i + k] == 0; k++)
				;
			return finding(
				"calloc-not-zeroed",
				"calloc(1, %zu) at %#lx: byte %zu is %#x", size,
				(unsigned long)ptr, i + k, m[i + k]);
		}
	}
	stamp(&b, 0);
	if (!insert(&b)) {
		fprintf(stderr, "malloc harness: out of memory\n");
		abort();
	}
	slots[slot] = b.p;
	return false;
}

/* Free slot @slot's block on @thread (verified first); false if clean. */
static bool free_slot(unsigned int slot, unsigned int thread)
{
	struct call c = { .kind = K_FREE };
	struct blk *b;

	if (slots[slot]) {
		b = find(slots[slot]);
		if (verify(b, 0, b->size, NULL, "before its free"))
			return true;
		c.p = (void *)b->p;
		erase(b);
		slots[slot] = 0;
	}
	call_on(thread, &c);
	return false;
}

/*
 * Misuse mode: free the block, then in a child process free it again and
 * allocate twice its size: the same block twice, or one over a live
 * block, is the allocator accepting the double free.  A child that dies
 * (the allocator detected it) is what should happen.
 */
static bool double_free(const struct op *o)
{
	struct blk *b = find(slots[o->slot]);
	uintptr_t p = b->p;
	size_t size = b->size;
	int status;
	pid_t pid;

	if (free_slot(o->slot, o->thread))
		return true;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		void *a, *c;
		size_t i;

		/* stderr stays: a detecting allocator says why it dies. */
		heap->free((void *)p);
		a = heap->alloc(size);
		c = heap->alloc(size);
		if (a && a == c)
			_exit(DOUBLE_FREE_ACCEPTED);
		for (i = 0; i < nr_live; i++)
			if ((a &&
			     (uintptr_t)a < live[i].p + extent(live[i].size) &&
			     (uintptr_t)a + extent(size) > live[i].p) ||
			    (c &&
			     (uintptr_t)c < live[i].p + extent(live[i].size) &&
			     (uintptr_t)c + extent(size) > live[i].p))
				_exit(DOUBLE_FREE_ACCEPTED);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == DOUBLE_FREE_ACCEPTED)
		return finding(
			"double-free-accepted",
			"after the block of %zu bytes at %#lx was freed twice, it was handed out twice (or over a live block)",
			size, (unsigned long)p);
	return false;
}

static bool do_realloc(const struct op *o)
{
	struct call c = { .kind = K_REALLOC, .size = o->size };
	struct blk old, nb;
	size_t keep, i;

	if (!slots[o->slot]) {
		call_on(o->thread, &c);
		return add_new(o->slot, c.ret, o->size, malloc_align(o->size),
			       false);
	}
	old = *find(slots[o->slot]);
	if (verify(&old, 0, old.size, NULL, "before its realloc"))
		return true;
	erase(find(old.p));
	slots[o->slot] = 0;
	c.p = (void *)old.p;
	call_on(o->thread, &c);
	if (!c.ret) {
		/* Failed: the old block stands, unchanged. */
		insert(&old);
		slots[o->slot] = old.p;
		return verify(&old, 0, old.size, "realloc-lost-content",
			      "when its realloc failed");
	}
	if (check_new(c.ret, o->size, malloc_align(o->size), &nb))
		return true;
	/* The common prefix, as the old block's stamp (at the new place). */
	keep = old.size < o->size ? old.size : o->size;
	old.p = nb.p;
	{
		long off = diff(&old, 0, keep);

		if (off >= 0)
			return finding(
				"realloc-lost-content",
				"realloc from %zu to %zu bytes (%#lx -> %#lx) lost the contents at offset %ld",
				old.size, o->size, (unsigned long)c.p,
				(unsigned long)nb.p, off);
	}
	i = lower_bound(nb.p);
	if ((i > 0 &&
	     verify(&live[i - 1], 0, live[i - 1].size, "realloc-overrun",
		    "after its neighbour's realloc")) ||
	    (i < nr_live && verify(&live[i], 0, live[i].size, "realloc-overrun",
				   "after its neighbour's realloc")))
		return true;
	stamp(&nb, 0);
	insert(&nb);
	slots[o->slot] = nb.p;
	return false;
}

static bool run_op(const struct op *op)
{
	struct op as_malloc = *op;
	const struct op *o = op;
	struct call c;
	size_t align;

	if (op->kind == K_ALIGNED && heap_no_aligned) {
		as_malloc.kind = K_MALLOC;
		o = &as_malloc;
	}
	c = (struct call){ .kind = o->kind,
			   .size = o->size,
			   .align = o->align };

	switch (o->kind) {
	case K_FREE:
		return free_slot(o->slot, o->thread);
	case K_FREE7:
		if (slots[o->slot] && heap_misuse_double_free)
			return double_free(o);
		return free_slot(o->slot, o->thread);
	case K_REALLOC:
		return do_realloc(o);
	default:
		break;
	}
	if (slots[o->slot] && free_slot(o->slot, o->thread))
		return true;
	call_on(o->thread, &c);
	align = o->kind == K_ALIGNED &&
				(heap->aligned_alloc || heap->posix_memalign) ?
			o->align :
			malloc_align(o->size);
	if (o->kind == K_ALIGNED && heap->kind == MMT_HEAP_MALLOC_API &&
	    heap->aligned_alloc)
		/* It was asked for the size rounded up (C11). */
		return add_new(o->slot, c.ret,
			       (o->size + o->align - 1) & ~(o->align - 1),
			       align, false);
	return add_new(o->slot, c.ret, o->size, align,
		       o->kind == K_CALLOC && heap->calloc);
}

bool mmt_harness_run(const struct mmt_heap *h, const struct mmt_harness_opts *o,
		     const uint8_t *data, size_t size,
		     struct mmt_heap_finding *f)
{
	static struct op ops[MAX_OPS];
	static const struct mmt_heap *inited;
	unsigned int nthreads, s;
	bool end_threads;
	size_t nr = decode(data, size, ops, &nthreads, &end_threads), i;
	char text[160];

	if (inited != h) {
		/* The main thread is thread 0 for the whole process. */
		workers_stop();
		heap = h;
		if (h->thread_init)
			h->thread_init();
		if (!inited)
			atexit(workers_stop);
		inited = h;
	}
	heap_misuse_double_free = o->misuse_double_free;
	heap_no_aligned = o->no_aligned;
	memset(f, 0, sizeof(*f));
	memset(&run, 0, sizeof(run));
	run.f = f;
	run.op = text;
	nr_live = 0;
	memset(slots, 0, sizeof(slots));
	workers_start(nthreads);
	for (i = 0; i < nr && !run.found; i++) {
		run.idx = i;
		op_text(&ops[i], i, text, sizeof(text));
		run_op(&ops[i]);
	}
	/*
	 * The end: every block verified and freed on thread 0, after the
	 * workers have ended if the input says so (their blocks then outlive
	 * them).
	 */
	if (end_threads && !run.found)
		workers_stop();
	snprintf(text, sizeof(text),
		 "the end of the input (freeing what is live)");
	run.idx = nr;
	for (s = 0; s < NR_SLOTS && !run.found; s++)
		if (slots[s])
			free_slot(s, 0);
	return run.found;
}
