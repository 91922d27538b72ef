// SPDX-License-Identifier: MIT
/*
 * alloc/gfp.c - names, printing and parsing of the model's GFP flags.
 *
 * What it models: the kernel's %pGg / show_gfp_flags() text form of a gfp
 * mask ("GFP_KERNEL|__GFP_ZERO"), plus the inverse the kernel never needed:
 * a strict parser, because here the text form is an input language (trace
 * files, --gfp options, fuzz dictionaries, reproducers in reports).
 *
 * Algorithm:
 *  - One static table of names: the composites (GFP_KERNEL, ...) ordered by
 *    number of bits, largest first, then every single __GFP_* bit in bit
 *    order.  Printing walks the table once and takes each entry whose bits
 *    are all still unprinted (the greedy cover of show_gfp_flags()); bits
 *    outside MMT_GFP_VALID_MASK are left over and printed as one trailing
 *    hex literal.  An empty mask prints as "0".
 *  - Parsing is a single left-to-right scan of the grammar
 *        mask  := ws* token ws* ( '|' ws* token ws* )*
 *        token := NAME | "0" | "0x" HEXDIGITS
 *    where a token is a maximal run of bytes that are neither whitespace nor
 *    '|'.  Names are matched exactly (case-sensitive) against the table.
 *
 * Invariants:
 *  - Every bit below MMT_GFP_NR_BITS has exactly one single-bit entry, so
 *    the greedy cover always prints every valid bit (tests/test_gfp.c
 *    checks the table), and for every mask x
 *    with x & ~MMT_GFP_VALID_MASK == 0:  parse(format(x)) == x.
 *  - A successful parse never returns a bit outside MMT_GFP_VALID_MASK (a
 *    hex literal with unknown bits is an error), so a parsed mask always
 *    round-trips through format.
 *  - On error, parse leaves *out untouched and the message names the
 *    offending token (escaped, possibly shortened) and its 1-based column.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mmt/config.h"
#include "mmt/gfp.h"

/* clang-format off */
#define GFP_NAME(flag, is_composite) { #flag, flag, is_composite }

/* Composites by decreasing number of bits; equal masks: preferred first. */
static const struct mmt_gfp_name gfp_names[] = {
	GFP_NAME(GFP_HIGHUSER_MOVABLE, true),	/* 6 bits */
	GFP_NAME(GFP_USER, true),		/* 5 */
	GFP_NAME(GFP_KERNEL_ACCOUNT, true),	/* 5 */
	GFP_NAME(GFP_KERNEL, true),		/* 4 */
	GFP_NAME(GFP_NOFS, true),		/* 3 */
	GFP_NAME(GFP_ATOMIC, true),		/* 2 */
	GFP_NAME(GFP_NOIO, true),		/* 2 */
	GFP_NAME(__GFP_RECLAIM, true),		/* 2, == GFP_NOIO: parse only */
	GFP_NAME(GFP_NOWAIT, true),		/* 1 */

	GFP_NAME(__GFP_DMA32, false),
	GFP_NAME(__GFP_MOVABLE, false),
	GFP_NAME(__GFP_RECLAIMABLE, false),
	GFP_NAME(__GFP_HIGH, false),
	GFP_NAME(__GFP_IO, false),
	GFP_NAME(__GFP_FS, false),
	GFP_NAME(__GFP_ZERO, false),
	GFP_NAME(__GFP_DIRECT_RECLAIM, false),
	GFP_NAME(__GFP_KSWAPD_RECLAIM, false),
	GFP_NAME(__GFP_WRITE, false),
	GFP_NAME(__GFP_NOWARN, false),
	GFP_NAME(__GFP_RETRY_MAYFAIL, false),
	GFP_NAME(__GFP_NOFAIL, false),
	GFP_NAME(__GFP_NORETRY, false),
	GFP_NAME(__GFP_MEMALLOC, false),
	GFP_NAME(__GFP_COMP, false),
	GFP_NAME(__GFP_NOMEMALLOC, false),
	GFP_NAME(__GFP_HARDWALL, false),
	GFP_NAME(__GFP_THISNODE, false),
	GFP_NAME(__GFP_ACCOUNT, false),
	GFP_NAME(__GFP_FAST_TRY, false),
};
/* clang-format on */

const struct mmt_gfp_name *mmt_gfp_names(size_t *nr)
{
	if (nr)
		*nr = MMT_ARRAY_SIZE(gfp_names);
	return gfp_names;
}

/* ---- formatting ---- */

/* snprintf-like appender: counts everything, stores what fits. */
struct outbuf {
	char *buf;
	size_t len;
	size_t pos;
};

static void out_str(struct outbuf *o, const char *s)
{
	for (; *s; s++, o->pos++)
		if (o->pos + 1 < o->len)
			o->buf[o->pos] = *s;
}

static void out_finish(struct outbuf *o)
{
	if (!o->len)
		return;
	if (o->pos < o->len) {
		o->buf[o->pos] = '\0';
		return;
	}
	/* Truncated: mark it, if there is room for the mark. */
	o->buf[o->len - 1] = '\0';
	if (o->len >= 4)
		memcpy(o->buf + o->len - 4, "...", 3);
}

size_t mmt_gfp_format(mmt_gfp_t gfp, char *buf, size_t len)
{
	struct outbuf o = { .buf = buf, .len = buf ? len : 0 };
	mmt_gfp_t left = gfp;
	size_t i;

	if (!gfp)
		out_str(&o, "0");
	for (i = 0;
	     i < MMT_ARRAY_SIZE(gfp_names) && (left & MMT_GFP_VALID_MASK);
	     i++) {
		mmt_gfp_t mask = gfp_names[i].mask;

		if ((left & mask) != mask)
			continue;
		if (left != gfp)
			out_str(&o, "|");
		out_str(&o, gfp_names[i].name);
		left &= ~mask;
	}
	if (left) {
		char hex[16];

		snprintf(hex, sizeof(hex), "0x%x", (unsigned int)left);
		if (left != gfp)
			out_str(&o, "|");
		out_str(&o, hex);
	}
	out_finish(&o);
	return o.pos;
}

/* ---- parsing ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static bool is_delim(char c)
{
	return c == '\0' || c == '|' || is_space(c);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Copy token [s, s + n) into @dst for a message: non-printable bytes and
 * quotes escaped, long tokens shortened with "...".
 */
static void quote_token(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, pos = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char piece[8];

		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			snprintf(piece, sizeof(piece), "%c", c);
		else
			snprintf(piece, sizeof(piece), "\\x%02x", c);
		if (pos + strlen(piece) + 4 > dstlen) {
			/* dstlen >= 8 (the callers' buffers): room for "..." */
			memcpy(dst + pos, "...", 3);
			pos += 3;
			break;
		}
		memcpy(dst + pos, piece, strlen(piece));
		pos += strlen(piece);
	}
	dst[pos] = '\0';
}

static MMT_PRINTF(3, 4) bool parse_error(char *err, size_t errlen,
					 const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* A numeric token: "0" or a hex literal with only known bits. */
static bool parse_number(const char *tok, size_t n, size_t col, mmt_gfp_t *mask,
			 char *err, size_t errlen)
{
	unsigned long long v = 0;
	char q[80];
	size_t i;

	if (n == 1 && tok[0] == '0') {
		*mask = 0;
		return true;
	}
	quote_token(q, sizeof(q), tok, n);
	if (n < 3 || tok[0] != '0' || (tok[1] != 'x' && tok[1] != 'X'))
		return parse_error(
			err, errlen,
			"bad GFP mask literal '%s' at column %zu (want 0 or 0x<hex>)",
			q, col);
	for (i = 2; i < n; i++) {
		int d = hex_value(tok[i]);

		if (d < 0)
			return parse_error(
				err, errlen,
				"bad GFP mask literal '%s' at column %zu (want 0 or 0x<hex>)",
				q, col);
		v = (v << 4) | (unsigned int)d;
		if (v > UINT32_MAX)
			return parse_error(
				err, errlen,
				"GFP mask literal '%s' at column %zu does not fit 32 bits",
				q, col);
	}
	if (v & ~(unsigned long long)MMT_GFP_VALID_MASK)
		return parse_error(
			err, errlen,
			"GFP mask literal '%s' at column %zu has unknown bits 0x%llx",
			q, col, v & ~(unsigned long long)MMT_GFP_VALID_MASK);
	*mask = (mmt_gfp_t)v;
	return true;
}

static bool parse_token(const char *tok, size_t n, size_t col, mmt_gfp_t *mask,
			char *err, size_t errlen)
{
	char q[80];
	size_t i;

	if (tok[0] >= '0' && tok[0] <= '9')
		return parse_number(tok, n, col, mask, err, errlen);
	for (i = 0; i < MMT_ARRAY_SIZE(gfp_names); i++) {
		const char *name = gfp_names[i].name;

		if (strlen(name) == n && !memcmp(name, tok, n)) {
			*mask = gfp_names[i].mask;
			return true;
		}
	}
	quote_token(q, sizeof(q), tok, n);
	return parse_error(err, errlen, "unknown GFP flag '%s' at column %zu",
			   q, col);
}

bool mmt_gfp_parse(const char *text, mmt_gfp_t *out, char *err, size_t errlen)
{
	const char *p = text;
	mmt_gfp_t gfp = 0;
	bool first = true;

	if (!text)
		return parse_error(err, errlen, "no GFP mask text");
	for (;;) {
		const char *tok;
		mmt_gfp_t mask = 0;
		size_t n;

		while (is_space(*p))
			p++;
		tok = p;
		while (!is_delim(*p))
			p++;
		n = (size_t)(p - tok);
		if (!n) {
			if (*p == '\0' && first)
				return parse_error(
					err, errlen,
					"empty GFP mask at column %zu (write 0 for no flags)",
					(size_t)(tok - text) + 1);
			return parse_error(err, errlen,
					   "empty GFP flag token at column %zu",
					   (size_t)(tok - text) + 1);
		}
		if (!parse_token(tok, n, (size_t)(tok - text) + 1, &mask, err,
				 errlen))
			return false;
		gfp |= mask;
		first = false;

		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != '|') {
			const char *next = p;
			char q[80];

			while (!is_delim(*p))
				p++;
			quote_token(q, sizeof(q), next, (size_t)(p - next));
			return parse_error(
				err, errlen,
				"expected '|' before '%s' at column %zu", q,
				(size_t)(next - text) + 1);
		}
		p++; /* the '|' */
	}
	if (out)
		*out = gfp;
	return true;
}
