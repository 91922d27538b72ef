// SPDX-License-Identifier: MIT
/*
 * targets/gfp_text.c - fuzz target: the GFP text form round-trips.
 *
 * Input: arbitrary bytes, taken as text (cut at the first NUL).  If
 * mmt_gfp_parse() accepts it, the mask must be valid, format must need no
 * more than the returned length, and parse(format(mask)) must give the same
 * mask; anything else abort()s.  Rejected text must come with a message that
 * names a column inside the text.  No machine is involved.
 *
 * Built as fuzz-gfp_text (libFuzzer), afl-gfp_text (AFL++) and
 * gfp_text-replay (plain); dictionary: targets/gfp_text.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmt/mmt.h"

#define MAX_TEXT 4096

static void die(const char *what, const char *text, mmt_gfp_t a, mmt_gfp_t b)
{
	fprintf(stderr, "gfp_text: %s\n  input: \"%s\"\n  0x%x vs 0x%x\n", what,
		text, a, b);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[MAX_TEXT + 1];
	char out[1024], err[256];
	mmt_gfp_t gfp, back;
	size_t n;

	if (size > MAX_TEXT)
		size = MAX_TEXT;
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	if (!mmt_gfp_parse(text, &gfp, err, sizeof(err))) {
		const char *col = strstr(err, "at column ");
		unsigned long c;

		/* Every message locates the problem inside the text. */
		if (!col || sscanf(col, "at column %lu", &c) != 1 || c < 1 ||
		    c > strlen(text) + 1)
			die(err[0] ? err : "error without a message", text, 0,
			    0);
		return 0;
	}
	if (gfp & ~MMT_GFP_VALID_MASK)
		die("parse accepted unknown bits", text, gfp,
		    MMT_GFP_VALID_MASK);

	n = mmt_gfp_format(gfp, out, sizeof(out));
	if (n >= sizeof(out) || n != strlen(out))
		die("format length is wrong", text, (mmt_gfp_t)n,
		    (mmt_gfp_t)strlen(out));
	if (!mmt_gfp_parse(out, &back, err, sizeof(err)))
		die(err, out, gfp, 0);
	if (back != gfp)
		die("parse(format(x)) != x", out, gfp, back);
	return 0;
}
