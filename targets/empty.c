/* SPDX-License-Identifier: MIT */
/*
 * targets/empty.c - a fuzz target that does nothing: the engines' own cost
 * per execution, measured beside the real targets (`mmtorture bench fuzz`).
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
