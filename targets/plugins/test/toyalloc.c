/* SPDX-License-Identifier: MIT */
/*
 * targets/plugins/test/toyalloc.c - a small allocator to test the plug-in
 * loader and the shadow oracles: correct as built plainly (the clean
 * twin), broken on purpose with one of
 *
 *   TOY_BUG_OVERLAP      every 4th fresh chunk starts halfway into the
 *                        previous one: live blocks overlap
 *   TOY_BUG_DOUBLE_FREE  a second free of a block is accepted and the
 *                        block goes on the free list twice (the clean
 *                        twin aborts on it)
 *   TOY_BUG_USABLE       usable size over-reported by 64 bytes
 *   TOY_BUG_USABLE_SHORT usable size under-reported: 8 bytes, whatever
 *                        was asked
 *   TOY_BUG_MISALIGN     every block 8 bytes off the alignment it owes
 *   TOY_BUG_CRASH        the 5th fresh chunk is a write through NULL
 *   TOY_BUG_HANG         the 5th fresh chunk never comes
 *
 * and exported either as the mmt/plugin.h operations table (default) or
 * as the malloc API (TOY_MALLOC_API); TOY_NO_USABLE leaves the usable
 * size out (the loader must refuse it, naming it).  CMakeLists.txt builds
 * the variants the tests load (libmmt-toy-*.so).
 *
 * Algorithm: power-of-two size classes carved from one 1 GiB
 * reserved-on-demand mapping by a bump pointer, a LIFO free list per
 * class linked through each free chunk's last word; a 16-byte header
 * right below each block holds its chunk, class and state (live or
 * free).  One mutex around everything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mmt/plugin.h"

#define ARENA_SIZE (1ul << 30)
#define NR_CLASSES 40
#define LIVE 0x4c495645u
#ifndef TOY_NAME
#define TOY_NAME "toyalloc"
#endif
#define FREED 0x46524545u

#ifdef TOY_BUG_MISALIGN
#define SKEW 8
#else
#define SKEW 0
#endif

struct hdr {
	uintptr_t chunk;
	uint32_t cls;
	uint32_t state;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t arena, bump;
static uintptr_t heads[NR_CLASSES];
static unsigned long carved;

/* A free chunk's link: its last word, clear of the header below the block. */
static uintptr_t *link_of(uintptr_t chunk, unsigned int cls)
{
	return (uintptr_t *)(chunk + ((size_t)1 << cls) - sizeof(uintptr_t));
}

static void die(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));

	(void)r;
	abort();
}

static void *toy_alloc_aligned(size_t align, size_t size)
{
	size_t need, extra = align > 16 ? align : 0;
	uintptr_t chunk, user;
	struct hdr *h;
	unsigned int cls = 5;

	if (size > ARENA_SIZE / 4)
		return NULL;
	need = size + sizeof(struct hdr) + extra + SKEW;
	while (((size_t)1 << cls) < need)
		cls++;
	pthread_mutex_lock(&lock);
	if (!arena) {
		void *m = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			       0);

		if (m == MAP_FAILED) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		arena = bump = (uintptr_t)m;
	}
	if (heads[cls]) {
		chunk = heads[cls];
		heads[cls] = *link_of(chunk, cls);
	} else {
		size_t step = (size_t)1 << cls;

		/* Chunks are 16-aligned; the block inside is aligned as asked. */
		bump = (bump + 15) & ~(uintptr_t)15;
		if (bump + step > arena + ARENA_SIZE) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		chunk = bump;
#if defined(TOY_BUG_CRASH) || defined(TOY_BUG_HANG)
		if (carved == 4) {
#ifdef TOY_BUG_CRASH
			*(volatile uintptr_t *)(uintptr_t)(carved - 4) = chunk;
#else
			for (;;)
				__atomic_add_fetch(&carved, 0,
						   __ATOMIC_SEQ_CST);
#endif
		}
#endif
#ifdef TOY_BUG_OVERLAP
		bump += ++carved % 4 ? step : step / 2;
#else
		bump += step;
		carved++;
#endif
	}
	pthread_mutex_unlock(&lock);
	if (align < 16)
		align = 16;
	user = ((chunk + sizeof(struct hdr) + align - 1) &
		~(uintptr_t)(align - 1)) +
	       SKEW;
	h = (struct hdr *)(user - sizeof(struct hdr));
	h->chunk = chunk;
	h->cls = cls;
	h->state = LIVE;
	return (void *)user;
}

static void *toy_alloc(size_t size)
{
	return toy_alloc_aligned(16, size);
}

static void toy_free(void *p)
{
	struct hdr *h;

	if (!p)
		return;
	h = (struct hdr *)((uintptr_t)p - sizeof(struct hdr));
	pthread_mutex_lock(&lock);
	if (h->state != LIVE) {
#ifndef TOY_BUG_DOUBLE_FREE
		pthread_mutex_unlock(&lock);
		die("toyalloc: free of a block that is not live (double free?)\n");
#endif
	}
	h->state = FREED;
	*link_of(h->chunk, h->cls) = heads[h->cls];
	heads[h->cls] = h->chunk;
	pthread_mutex_unlock(&lock);
}

/* What the block really has (realloc's guide, whatever is reported). */
static size_t true_usable(void *p)
{
	struct hdr *h = (struct hdr *)((uintptr_t)p - sizeof(struct hdr));

	return h->chunk + ((size_t)1 << h->cls) - (uintptr_t)p;
}

static __attribute__((unused)) size_t toy_usable_size(void *p)
{
	size_t us = true_usable(p);

#ifdef TOY_BUG_USABLE
	us += 64;
#endif
#ifdef TOY_BUG_USABLE_SHORT
	us = 8;
#endif
	return us;
}

static void *toy_realloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (!p)
		return toy_alloc(size);
	old = true_usable(p);
	if (size <= old)
		return p;
	n = toy_alloc(size);
	if (!n)
		return NULL;
	memcpy(n, p, old < size ? old : size);
	toy_free(p);
	return n;
}

#ifdef TOY_MALLOC_API
void *malloc(size_t size)
{
	return toy_alloc(size);
}

void free(void *p)
{
	toy_free(p);
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = toy_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void *realloc(void *p, size_t size)
{
	return toy_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	return toy_alloc_aligned(align, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
	*p = toy_alloc_aligned(align, size);
	return *p ? 0 : ENOMEM;
}

#ifndef TOY_NO_USABLE
size_t malloc_usable_size(void *p)
{
	return toy_usable_size(p);
}
#endif
#else
static unsigned long threads_in;

static void toy_thread_init(void)
{
	__atomic_add_fetch(&threads_in, 1, __ATOMIC_RELAXED);
}

static void toy_thread_exit(void)
{
	if (!__atomic_load_n(&threads_in, __ATOMIC_RELAXED))
		die("toyalloc: thread_exit without thread_init\n");
	__atomic_sub_fetch(&threads_in, 1, __ATOMIC_RELAXED);
}

const struct mmt_plugin_ops mmt_plugin_ops = {
	.abi_version = MMT_PLUGIN_ABI_VERSION,
	.size = sizeof(struct mmt_plugin_ops),
	.name = TOY_NAME,
	.alloc = toy_alloc,
	.free = toy_free,
	.realloc = toy_realloc,
#ifndef TOY_NO_USABLE
	.usable_size = toy_usable_size,
#endif
	.aligned_alloc = toy_alloc_aligned,
	.thread_init = toy_thread_init,
	.thread_exit = toy_thread_exit,
};
#endif
