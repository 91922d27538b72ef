/* SPDX-License-Identifier: MIT */
/*
 * trace/fiber.c - fibers (trace/fiber.h): stacks, the context switch and
 * its sanitizer annotations.
 *
 * The switch.  glibc's swapcontext saves and restores the signal mask, one
 * rt_sigprocmask system call per switch (about 200 ns here); the scheduler
 * switches at locks and compare-exchanges, millions of times a second, and
 * fibers of one host thread share its signal mask anyway.  So on x86-64 the
 * switch is _mmt_fiber_swap below: push the six callee-saved registers and
 * the x87/SSE control words on the running stack, store the stack pointer,
 * load the other one, pop the same, return - a function call, no system
 * call.  Caller-saved registers need no saving: the switch is a call.  A new
 * fiber's stack is laid out as if it had called _mmt_fiber_swap from
 * _mmt_fiber_start, which calls fiber_entry(f) with the stack 16-byte
 * aligned as the ABI requires.  AArch64 has the same switch in its own
 * registers (x19-x30, d8-d15), tested under qemu-aarch64 by
 * tests/standalone/fiber_selftest.c.  Other architectures use ucontext (correct,
 * slower).
 *
 * Stacks: MMT_FIBER_STACK_SIZE bytes of MAP_NORESERVE memory above a
 * PROT_NONE guard page (an overflow faults instead of corrupting a
 * neighbour).  Released stacks are kept in a small cache (mapping and
 * unmapping is most of a fiber's cost), except under TSan, which resets its
 * shadow memory only when memory is unmapped.
 *
 * Sanitizers.  TSan: a TSan fiber per fiber; the switch calls
 * __tsan_switch_to_fiber(to, no_sync) immediately before the register
 * switch, with no instrumented call between (TSan's shadow call stack
 * follows the fiber from that call on), and no_sync so the switch itself is
 * not a happens-before edge: accesses of two fibers that the model does not
 * order are reported as races.  ASan: __sanitizer_start_switch_fiber names
 * the stack about to run (NULL fake-stack slot when the old fiber has
 * ended, which frees its fake stack), and the resumed side calls
 * __sanitizer_finish_switch_fiber; a stack is unpoisoned before it is
 * reused or unmapped (a fiber abandoned mid-call leaves redzones).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FIBER_ASAN)
#define FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(FIBER_TSAN)
#define FIBER_TSAN 1
#endif
/* The build compiles this file without TSan instrumentation (fibers'
 * records are shared by every fiber): the build flag says TSan is on. */
#if MMT_SANITIZE_TSAN && !defined(FIBER_TSAN)
#define FIBER_TSAN 1
#endif

#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef FIBER_ASAN
/*
 * LeakSanitizer: a finding or a blocked run abandons the fibers where they
 * stand (their stacks are freed, never unwound), so host memory a fiber
 * held only in its locals (a reclaimer's isolated batch of LRU entries) is
 * unreachable by design.  Suppress the leaks whose allocation stack passes
 * through a fiber's entry, and only those: the sequential interpreter and
 * the threaded engine run no fiber.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:fiber_entry\n";
}
#endif

#if (defined(__x86_64__) || defined(__aarch64__)) && \
	!defined(MMT_FIBER_UCONTEXT)
#define FIBER_ASM 1
#else
#include <ucontext.h>
#endif

/* ---- stacks ---- */

#define STACK_CACHE 16

#ifndef FIBER_TSAN
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static void *stack_cache[STACK_CACHE];
static int nr_cached;
#endif

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static void *stack_get(size_t *map_size)
{
	size_t guard = page_size();
	void *p = NULL;

	*map_size = MMT_FIBER_STACK_SIZE + guard;
#ifndef FIBER_TSAN
	pthread_mutex_lock(&cache_mu);
	if (nr_cached)
		p = stack_cache[--nr_cached];
	pthread_mutex_unlock(&cache_mu);
	if (p)
		return p;
#endif
	p = mmap(NULL, *map_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p, guard, PROT_NONE)) {
		munmap(p, *map_size);
		return NULL;
	}
	return p;
}

static void stack_put(void *p, size_t map_size)
{
#ifdef FIBER_ASAN
	/* Frames of a fiber that never returned leave poisoned redzones. */
	__asan_unpoison_memory_region((char *)p + page_size(),
				      map_size - page_size());
#endif
#ifndef FIBER_TSAN
	pthread_mutex_lock(&cache_mu);
	if (nr_cached < STACK_CACHE) {
		stack_cache[nr_cached++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&cache_mu);
#endif
	if (p)
		munmap(p, map_size);
}

/* ---- the switch ---- */

static void fiber_entry(struct mmt_fiber *f);

#if defined(FIBER_ASM) && defined(__x86_64__)
/*
 * _mmt_fiber_swap(void **save_sp, void *new_sp): callee-saved registers,
 * MXCSR and the x87 control word go on the old stack; the stack pointer
 * moves; the same come off the new one.
 */
__asm__(".text\n"
	".globl _mmt_fiber_swap\n"
	".hidden _mmt_fiber_swap\n"
	".type _mmt_fiber_swap,@function\n"
	"_mmt_fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size _mmt_fiber_swap,.-_mmt_fiber_swap\n"
	/* A new fiber's first return lands here: r12 = fiber, r13 = entry. */
	".globl _mmt_fiber_start\n"
	".hidden _mmt_fiber_start\n"
	".type _mmt_fiber_start,@function\n"
	"_mmt_fiber_start:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	movq %r12, %rdi\n"
	"	callq *%r13\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size _mmt_fiber_start,.-_mmt_fiber_start\n");

void _mmt_fiber_swap(void **save_sp, void *new_sp);
void _mmt_fiber_start(void);

static void arch_init_stack(struct mmt_fiber *f)
{
	uintptr_t top = ((uintptr_t)f->map + f->map_size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 80);

	/* sp[7] is the return address: it sits at 8 mod 16, so after the
	 * ret the stack is 16-aligned for _mmt_fiber_start's call. */
	memset(sp, 0, 80);
	((uint32_t *)sp)[0] = 0x1f80; /* MXCSR: all exceptions masked */
	((uint16_t *)sp)[2] = 0x037f; /* x87 control word: the default */
	sp[1] = 0; /* r15 */
	sp[2] = 0; /* r14 */
	sp[3] = (uint64_t)(uintptr_t)fiber_entry; /* r13 */
	sp[4] = (uint64_t)(uintptr_t)f; /* r12 */
	sp[5] = 0; /* rbx */
	sp[6] = 0; /* rbp */
	sp[7] = (uint64_t)(uintptr_t)_mmt_fiber_start;
	f->sp = sp;
}

static inline void arch_switch(struct mmt_fiber *from, struct mmt_fiber *to)
{
	_mmt_fiber_swap(&from->sp, to->sp);
}

const char *mmt_fiber_backend(void)
{
	return "x86-64 asm";
}
#elif defined(FIBER_ASM) && defined(__aarch64__)
/*
 * _mmt_fiber_swap(void **save_sp, void *new_sp) for AArch64 (AAPCS64): the
 * callee-saved x19-x28, the frame pointer x29, the link register x30 and
 * the low halves of v8-v15 (d8-d15) go in a 160-byte frame on the old
 * stack; the stack pointer moves; the same come off the new one and "ret"
 * returns through x30.  FPCR is left alone, as the ABI lets a callee do
 * when it does not change it.  With branch protection, "ret" is not a BTI
 * target check and fiber_entry is reached by "blr", which its "bti c"
 * landing pad accepts.
 */
__asm__(".text\n"
	".globl _mmt_fiber_swap\n"
	".hidden _mmt_fiber_swap\n"
	".type _mmt_fiber_swap,%function\n"
	".p2align 2\n"
	"_mmt_fiber_swap:\n"
	"	sub sp, sp, #160\n"
	"	stp x19, x20, [sp, #0]\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n"
	"	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	mov x2, sp\n"
	"	str x2, [x0]\n"
	"	mov sp, x1\n"
	"	ldp x19, x20, [sp, #0]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n"
	"	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #160\n"
	"	ret\n"
	".size _mmt_fiber_swap,.-_mmt_fiber_swap\n"
	/* A new fiber's first return lands here: x19 = fiber, x20 = entry. */
	".globl _mmt_fiber_start\n"
	".hidden _mmt_fiber_start\n"
	".type _mmt_fiber_start,%function\n"
	".p2align 2\n"
	"_mmt_fiber_start:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined x30\n"
	"	mov x0, x19\n"
	"	blr x20\n"
	"	brk #0\n"
	"	.cfi_endproc\n"
	".size _mmt_fiber_start,.-_mmt_fiber_start\n");

void _mmt_fiber_swap(void **save_sp, void *new_sp);
void _mmt_fiber_start(void);

static void arch_init_stack(struct mmt_fiber *f)
{
	uintptr_t top = ((uintptr_t)f->map + f->map_size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 160);

	/* After the restore the stack pointer is top: 16-aligned. */
	memset(sp, 0, 160);
	sp[0] = (uint64_t)(uintptr_t)f; /* x19 */
	sp[1] = (uint64_t)(uintptr_t)fiber_entry; /* x20 */
	sp[10] = 0; /* x29: the end of the frame chain */
	sp[11] = (uint64_t)(uintptr_t)_mmt_fiber_start; /* x30 */
	f->sp = sp;
}

static inline void arch_switch(struct mmt_fiber *from, struct mmt_fiber *to)
{
	_mmt_fiber_swap(&from->sp, to->sp);
}

const char *mmt_fiber_backend(void)
{
	return "aarch64 asm";
}
#else
static _Thread_local struct mmt_fiber *starting;

static void uctx_entry(void)
{
	fiber_entry(starting);
}

static int arch_init_uctx(struct mmt_fiber *f)
{
	ucontext_t *uc = calloc(1, sizeof(*uc));

	if (!uc)
		return -1;
	f->uctx = uc;
	if (getcontext(uc))
		return -1;
	uc->uc_stack.ss_sp = (char *)f->map + page_size();
	uc->uc_stack.ss_size = f->map_size - page_size();
	uc->uc_link = NULL;
	makecontext(uc, uctx_entry, 0);
	return 0;
}

static inline void arch_switch(struct mmt_fiber *from, struct mmt_fiber *to)
{
	if (!from->uctx)
		from->uctx = calloc(1, sizeof(ucontext_t));
	if (!from->uctx)
		abort();
	starting = to;
	swapcontext(from->uctx, to->uctx);
}

const char *mmt_fiber_backend(void)
{
	return "ucontext";
}
#endif

void mmt_fiber_init_host(struct mmt_fiber *f)
{
	memset(f, 0, sizeof(*f));
#ifdef FIBER_TSAN
	f->tsan = __tsan_get_current_fiber();
#endif
#ifdef FIBER_ASAN
	{
		pthread_attr_t a;
		void *lo;
		size_t len;

		if (!pthread_getattr_np(pthread_self(), &a)) {
			if (!pthread_attr_getstack(&a, &lo, &len)) {
				f->stack_lo = lo;
				f->stack_len = len;
			}
			pthread_attr_destroy(&a);
		}
	}
#endif
}

int mmt_fiber_create(struct mmt_fiber *f, void (*fn)(void *arg), void *arg)
{
	memset(f, 0, sizeof(*f));
	f->fn = fn;
	f->arg = arg;
	f->map = stack_get(&f->map_size);
	if (!f->map)
		return -1;
	f->stack_lo = (char *)f->map + page_size();
	f->stack_len = f->map_size - page_size();
#ifdef FIBER_ASM
	arch_init_stack(f);
#else
	if (arch_init_uctx(f)) {
		mmt_fiber_destroy(f);
		return -1;
	}
#endif
#ifdef FIBER_TSAN
	f->tsan = __tsan_create_fiber(0);
#endif
	return 0;
}

static inline void after_switch(struct mmt_fiber *self)
{
#ifdef FIBER_ASAN
	__sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
#else
	(void)self;
#endif
}

void mmt_fiber_switch(struct mmt_fiber *from, struct mmt_fiber *to)
{
#ifdef FIBER_ASAN
	__sanitizer_start_switch_fiber(&from->asan_fake, to->stack_lo,
				       to->stack_len);
#endif
#ifdef FIBER_TSAN
	/* Right before the switch: nothing instrumented in between. */
	__tsan_switch_to_fiber(to->tsan, __tsan_switch_to_fiber_no_sync);
#endif
	arch_switch(from, to);
	after_switch(from);
}

void mmt_fiber_exit_to(struct mmt_fiber *from, struct mmt_fiber *to)
{
#ifdef FIBER_ASAN
	/* NULL: this stack is done with, its fake stack can go. */
	__sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_len);
#endif
#ifdef FIBER_TSAN
	__tsan_switch_to_fiber(to->tsan, __tsan_switch_to_fiber_no_sync);
#endif
	arch_switch(from, to);
	abort(); /* an ended fiber is never resumed */
}

static void fiber_entry(struct mmt_fiber *f)
{
	after_switch(f);
	f->fn(f->arg);
	fprintf(stderr, "mmtorture: a fiber's function returned\n");
	abort();
}

void mmt_fiber_destroy(struct mmt_fiber *f)
{
	if (!f->map)
		return;
#ifdef FIBER_TSAN
	if (f->tsan)
		__tsan_destroy_fiber(f->tsan);
#endif
	stack_put(f->map, f->map_size);
	free(f->uctx);
	memset(f, 0, sizeof(*f));
}
