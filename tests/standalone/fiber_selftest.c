/* SPDX-License-Identifier: MIT */
/*
 * tests/standalone/fiber_selftest.c - the fiber switch on its own (trace/fiber.c and
 * nothing else of the project), so that it builds for another architecture
 * with a cross compiler and runs under qemu-user: the AArch64 switch is
 * tested on an x86-64 machine this way (CMakeLists.txt, when
 * aarch64-linux-gnu-gcc and qemu-aarch64 are there; scripts/install-deps
 * installs both).
 *
 * What it proves, for the backend the build picked: values the compiler
 * keeps in callee-saved integer and floating-point registers across a
 * switch come back intact; a fiber's stack is 16-byte aligned where the
 * ABI says so (an aligned local, and the stack pointer at a call);
 * several fibers interleave in the order they are switched to; a fiber
 * that ends with mmt_fiber_exit_to() never runs again; stacks are reused.
 * Exit 0 and "N passed, 0 failed" when all hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/fiber.h"

#define NR_FIBERS 3
#define ROUNDS 20000

static struct mmt_fiber host, fib[NR_FIBERS];
static int passed, failed;
static unsigned long order_log[NR_FIBERS * 4];
static int nr_log;
static int ended;

#define CHECK(c, ...)                                                        \
	do {                                                                 \
		if (c) {                                                     \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

/* Not inlined: a real call, so the caller's live values sit in
 * callee-saved registers or its frame across it. */
__attribute__((noinline)) static void yield_to_host(int i)
{
	mmt_fiber_switch(&fib[i], &host);
}

__attribute__((noinline)) static int aligned_here(void)
{
	_Alignas(16) volatile unsigned char probe[16];
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	probe[0] = 1;
	return ((uintptr_t)probe & 15) == 0 && (sp & 15) == 0;
}

/* One round of arithmetic over ten integers and eight doubles. */
#define STEP(a, b, c, d, e, f, g, h, k, l, x, y, z, w, u, v, s, t) \
	do {                                                       \
		a += b;                                            \
		b ^= c;                                            \
		c += d * 3;                                        \
		d += e;                                            \
		e ^= f;                                            \
		f += g;                                            \
		g += h;                                            \
		h ^= k;                                            \
		k += l;                                            \
		l += a;                                            \
		x = x * 1.000001 + y;                              \
		y = y * 0.999999 + z;                              \
		z = z + w * 0.5;                                   \
		w = w * 0.75 + u;                                  \
		u = u + v * 0.125;                                 \
		v = v * 0.5 + s;                                   \
		s = s + t * 0.25;                                  \
		t = t * 0.5 + 1.0;                                 \
	} while (0)

static void worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	/* Many live values: more than the caller-saved registers hold. */
	unsigned long a = 1 + i, b = 2 + i, c = 3 + i, d = 5 + i, e = 7 + i,
		      f = 11 + i, g = 13 + i, h = 17 + i, k = 19 + i,
		      l = 23 + i;
	double x = 0.5 + i, y = 1.25 + i, z = 2.125 + i, w = 3.0625 + i;
	double u = 4.5 + i, v = 5.75 + i, s = 6.875 + i, t = 7.9375 + i;
	unsigned long r;

	CHECK(aligned_here(), "fiber %d: stack not 16-byte aligned", i);
	order_log[nr_log++] = (unsigned long)i;
	for (r = 0; r < ROUNDS; r++) {
		STEP(a, b, c, d, e, f, g, h, k, l, x, y, z, w, u, v, s, t);
		yield_to_host(i);
	}
	/* The same arithmetic in the host, without switches, must agree. */
	{
		unsigned long A = 1 + i, B = 2 + i, C = 3 + i, D = 5 + i,
			      E = 7 + i, F = 11 + i, G = 13 + i, H = 17 + i,
			      K = 19 + i, L = 23 + i;
		volatile double X = 0.5 + i, Y = 1.25 + i, Z = 2.125 + i,
				W = 3.0625 + i, U = 4.5 + i, V = 5.75 + i,
				S = 6.875 + i, T = 7.9375 + i;

		for (r = 0; r < ROUNDS; r++) {
			STEP(A, B, C, D, E, F, G, H, K, L, X, Y, Z, W, U, V, S,
			     T);
		}
		CHECK(a == A && b == B && c == C && d == D && e == E &&
			      f == F && g == G && h == H && k == K && l == L,
		      "fiber %d: an integer register changed across a switch",
		      i);
		CHECK(x == X && y == Y && z == Z && w == W && u == U &&
			      v == V && s == S && t == T,
		      "fiber %d: a floating-point register changed across a switch",
		      i);
	}
	ended++;
	mmt_fiber_exit_to(&fib[i], &host);
}

int main(void)
{
	unsigned long r;
	int i, round;

	printf("fiber backend: %s\n", mmt_fiber_backend());
	mmt_fiber_init_host(&host);
	for (round = 0; round < 2; round++) { /* the second reuses stacks */
		nr_log = 0;
		ended = 0;
		for (i = 0; i < NR_FIBERS; i++)
			CHECK(!mmt_fiber_create(&fib[i], worker,
						(void *)(intptr_t)i),
			      "fiber %d: no stack", i);
		/* Start them in reverse order, then round robin. */
		for (i = NR_FIBERS - 1; i >= 0; i--)
			mmt_fiber_switch(&host, &fib[i]);
		for (i = 0; i < NR_FIBERS; i++)
			CHECK(order_log[i] ==
				      (unsigned long)(NR_FIBERS - 1 - i),
			      "start order: slot %d ran fiber %lu", i,
			      order_log[i]);
		for (r = 1; r <= ROUNDS; r++)
			for (i = 0; i < NR_FIBERS; i++)
				mmt_fiber_switch(&host, &fib[i]);
		CHECK(ended == NR_FIBERS, "%d of %d fibers ended", ended,
		      NR_FIBERS);
		for (i = 0; i < NR_FIBERS; i++)
			mmt_fiber_destroy(&fib[i]);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
