/* SPDX-License-Identifier: MIT */
/*
 * trace/fiber.h - fibers: stackful coroutines switched without a system
 * call, for the deterministic scheduler (trace/dsched.c).
 *
 * A fiber runs fn(arg) on its own mmap()ed stack with a guard page below
 * it.  mmt_fiber_switch() saves the callee-saved registers of the running
 * context and resumes another: on x86-64 a dozen instructions
 * (fiber.c), elsewhere glibc's swapcontext (which makes a sigprocmask
 * system call per switch).  The host context (the thread's own stack) is a
 * fiber made with mmt_fiber_init_host().
 *
 * Sanitizers: under TSan every fiber is a TSan fiber, switched to with
 * __tsan_switch_to_fiber(..., no_sync) right before the switch, so
 * accesses of two fibers without a synchronization of their own are
 * races; under ASan every switch is announced with
 * __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber.
 *
 * A fiber's function must not return: it ends with mmt_fiber_exit_to(),
 * and some other context then calls mmt_fiber_destroy() for it.
 */
#ifndef MMT_TRACE_FIBER_H
#define MMT_TRACE_FIBER_H

#include <stdbool.h>
#include <stddef.h>

struct mmt_fiber {
	void *sp; /* saved stack pointer (the asm switch) */
	void *uctx; /* ucontext_t (the fallback switch) */
	void *map; /* the stack mapping (guard page first), NULL: host */
	size_t map_size;
	void (*fn)(void *arg);
	void *arg;
	void *tsan; /* TSan fiber */
	const void *stack_lo; /* usable stack, for ASan */
	size_t stack_len;
	void *asan_fake; /* ASan fake stack while switched out */
};

/* Bytes of a fiber's stack (not counting the guard page). */
#define MMT_FIBER_STACK_SIZE (512u * 1024u)

/* Make @f the record of the calling host context. */
void mmt_fiber_init_host(struct mmt_fiber *f);
/* A fiber that will run @fn(@arg) when first switched to; -1 if no memory. */
int mmt_fiber_create(struct mmt_fiber *f, void (*fn)(void *arg), void *arg);
/* Save the running context in @from and resume @to. */
void mmt_fiber_switch(struct mmt_fiber *from, struct mmt_fiber *to);
/* The last switch of @from, which has ended: resume @to, never return. */
__attribute__((noreturn)) void mmt_fiber_exit_to(struct mmt_fiber *from,
						 struct mmt_fiber *to);
/* Release an ended or never-resumed fiber (not the running one). */
void mmt_fiber_destroy(struct mmt_fiber *f);
/* Which switch this build uses: "x86-64 asm", "aarch64 asm" or "ucontext". */
const char *mmt_fiber_backend(void);

#endif /* MMT_TRACE_FIBER_H */
