// SPDX-License-Identifier: MIT
/*
 * tests/test_gfp.c - the GFP text form (alloc/gfp.c): names table, greedy
 * printing, strict parsing with located errors, and the round-trip property
 * parse(format(x)) == x.  No machine is needed.
 */
#include "mmt_test.h"

static const char *fmt(mmt_gfp_t gfp)
{
	static char buf[512];
	size_t n = mmt_gfp_format(gfp, buf, sizeof(buf));

	MMT_CHECK(n < sizeof(buf));
	MMT_CHECK_EQ(n, strlen(buf));
	return buf;
}

static void check_round_trip(mmt_gfp_t gfp)
{
	const char *text = fmt(gfp);
	mmt_gfp_t back = ~0u;
	char err[256] = "";

	MMT_CHECK_MSG(mmt_gfp_parse(text, &back, err, sizeof(err)),
		      "format(0x%x) = \"%s\" does not parse: %s", gfp, text,
		      err);
	MMT_CHECK_MSG(back == gfp, "format(0x%x) = \"%s\" parses as 0x%x", gfp,
		      text, back);
}

/* Parse must fail with exactly @want and leave *out alone. */
static void check_parse_error(const char *text, const char *want)
{
	mmt_gfp_t out = 0x12345u;
	char err[256] = "";

	MMT_CHECK_MSG(!mmt_gfp_parse(text, &out, err, sizeof(err)),
		      "\"%s\" parsed as 0x%x, expected error \"%s\"", text, out,
		      want);
	MMT_CHECK_STR(err, want);
	MMT_CHECK_EQ(out, 0x12345u);
}

static mmt_gfp_t parse_ok(const char *text)
{
	mmt_gfp_t out = ~0u;
	char err[256] = "";

	MMT_CHECK_MSG(mmt_gfp_parse(text, &out, err, sizeof(err)),
		      "\"%s\" does not parse: %s", text, err);
	return out;
}

MMT_TEST(gfp_format_parse_round_trips_every_mask)
{
	const struct mmt_gfp_name *names;
	size_t nr, i, j;
	int k;

	names = mmt_gfp_names(&nr);
	check_round_trip(0);
	check_round_trip(MMT_GFP_VALID_MASK);
	/* every name alone and every pair of names */
	for (i = 0; i < nr; i++)
		for (j = i; j < nr; j++)
			check_round_trip(names[i].mask | names[j].mask);
	/* random masks, dense and sparse */
	for (k = 0; k < 20000; k++) {
		mmt_gfp_t gfp = (mmt_gfp_t)t_rand() & MMT_GFP_VALID_MASK;

		if (k & 1)
			gfp &= (mmt_gfp_t)t_rand();
		check_round_trip(gfp);
	}
}

MMT_TEST(gfp_parse_error_names_token_and_column)
{
	check_parse_error("GFP_KERNEL|__GFP_BOGUS",
			  "unknown GFP flag '__GFP_BOGUS' at column 12");
	check_parse_error("  GFP_KERNEL | __GFP_BOGUS ",
			  "unknown GFP flag '__GFP_BOGUS' at column 16");
	check_parse_error("gfp_kernel",
			  "unknown GFP flag 'gfp_kernel' at column 1");
	check_parse_error("GFP_KERNEL||__GFP_ZERO",
			  "empty GFP flag token at column 12");
	check_parse_error("GFP_KERNEL|", "empty GFP flag token at column 12");
	check_parse_error("|GFP_KERNEL", "empty GFP flag token at column 1");
	check_parse_error("GFP_KERNEL | | __GFP_ZERO",
			  "empty GFP flag token at column 14");
	check_parse_error("",
			  "empty GFP mask at column 1 (write 0 for no flags)");
	check_parse_error("   ",
			  "empty GFP mask at column 4 (write 0 for no flags)");
	check_parse_error("GFP_KERNEL __GFP_ZERO",
			  "expected '|' before '__GFP_ZERO' at column 12");
	check_parse_error(
		"GFP_KERNEL|0x80000000",
		"GFP mask literal '0x80000000' at column 12 has unknown bits 0x80000000");
	check_parse_error(
		"0x100000000",
		"GFP mask literal '0x100000000' at column 1 does not fit 32 bits");
	check_parse_error(
		"0x",
		"bad GFP mask literal '0x' at column 1 (want 0 or 0x<hex>)");
	check_parse_error(
		"0x4g",
		"bad GFP mask literal '0x4g' at column 1 (want 0 or 0x<hex>)");
	check_parse_error(
		"12",
		"bad GFP mask literal '12' at column 1 (want 0 or 0x<hex>)");
	/* bytes that are not printable are escaped in the message */
	check_parse_error("__GFP_ZERO|\x01'",
			  "unknown GFP flag '\\x01\\x27' at column 12");
}

MMT_TEST(gfp_parse_error_message_is_bounded_and_optional)
{
	char long_token[400], err[16];
	char big[256];
	mmt_gfp_t out = 7;

	memset(long_token, 'A', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	MMT_CHECK(!mmt_gfp_parse(long_token, &out, big, sizeof(big)));
	MMT_CHECK(strlen(big) < sizeof(big));
	MMT_CHECK(strstr(big, "...' at column 1") != NULL);
	/* a short buffer is truncated, not overrun; NULL err is allowed */
	MMT_CHECK(!mmt_gfp_parse("__GFP_BOGUS", &out, err, sizeof(err)));
	MMT_CHECK_EQ(strlen(err), sizeof(err) - 1);
	MMT_CHECK(!mmt_gfp_parse("__GFP_BOGUS", &out, NULL, 0));
	MMT_CHECK(!mmt_gfp_parse(NULL, &out, NULL, 0));
	MMT_CHECK_EQ(out, 7);
}

MMT_TEST(gfp_parse_accepts_whitespace_zero_hex_and_repeats)
{
	MMT_CHECK_EQ(parse_ok("0"), 0);
	MMT_CHECK_EQ(parse_ok(" \t0\n"), 0);
	MMT_CHECK_EQ(parse_ok("GFP_KERNEL"), GFP_KERNEL);
	MMT_CHECK_EQ(parse_ok(" GFP_KERNEL |\t__GFP_ZERO "),
		     GFP_KERNEL | __GFP_ZERO);
	MMT_CHECK_EQ(parse_ok("0x40"), 0x40);
	MMT_CHECK_EQ(parse_ok("0X0000040|0"), 0x40);
	MMT_CHECK_EQ(parse_ok("GFP_KERNEL|__GFP_IO|GFP_KERNEL"), GFP_KERNEL);
	MMT_CHECK_EQ(parse_ok("__GFP_RECLAIM"), __GFP_RECLAIM);
	MMT_CHECK_EQ(parse_ok("GFP_NOWAIT|__GFP_DIRECT_RECLAIM"),
		     __GFP_RECLAIM);
	/* a NULL out is allowed (validation only) */
	MMT_CHECK(mmt_gfp_parse("GFP_ATOMIC", NULL, NULL, 0));
}

MMT_TEST(gfp_composites_match_kernel_meaning)
{
	MMT_CHECK_EQ(__GFP_RECLAIM,
		     __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM);
	MMT_CHECK_EQ(GFP_KERNEL, __GFP_RECLAIM | __GFP_IO | __GFP_FS);
	MMT_CHECK_EQ(GFP_KERNEL_ACCOUNT, GFP_KERNEL | __GFP_ACCOUNT);
	MMT_CHECK_EQ(GFP_NOFS, __GFP_RECLAIM | __GFP_IO);
	MMT_CHECK_EQ(GFP_NOIO, __GFP_RECLAIM);
	MMT_CHECK_EQ(GFP_USER, GFP_KERNEL | __GFP_HARDWALL);
	MMT_CHECK_EQ(GFP_HIGHUSER_MOVABLE, GFP_USER | __GFP_MOVABLE);
	/* atomic: may use the high reserve, wakes kswapd, never blocks */
	MMT_CHECK(GFP_ATOMIC & __GFP_HIGH);
	MMT_CHECK(GFP_ATOMIC & __GFP_KSWAPD_RECLAIM);
	MMT_CHECK(!(GFP_ATOMIC & __GFP_DIRECT_RECLAIM));
	MMT_CHECK(!mmt_gfpflags_allow_blocking(GFP_ATOMIC));
	/* nowait: wakes kswapd, no reserve, never blocks */
	MMT_CHECK_EQ(GFP_NOWAIT, __GFP_KSWAPD_RECLAIM);
	MMT_CHECK(!mmt_gfpflags_allow_blocking(GFP_NOWAIT));
	MMT_CHECK(mmt_gfpflags_allow_blocking(GFP_KERNEL));
	MMT_CHECK(mmt_gfpflags_allow_blocking(GFP_NOIO));
	/* the scoped-down composites drop FS, then IO */
	MMT_CHECK(!(GFP_NOFS & __GFP_FS));
	MMT_CHECK(!(GFP_NOIO & (__GFP_FS | __GFP_IO)));
	/* the seed's fast-try flag is a bit of its own, in no composite */
	MMT_CHECK(!((GFP_HIGHUSER_MOVABLE | GFP_KERNEL_ACCOUNT | GFP_ATOMIC) &
		    __GFP_FAST_TRY));
	MMT_CHECK_EQ(MMT_GFP_VALID_MASK & __GFP_FAST_TRY, __GFP_FAST_TRY);
}

MMT_TEST(gfp_names_table_lists_composites_largest_first_then_every_bit)
{
	const struct mmt_gfp_name *names;
	mmt_gfp_t seen_bits = 0;
	size_t nr, i, j, nr_comp = 0;
	int prev_weight = 64, bit = 0;

	names = mmt_gfp_names(&nr);
	MMT_CHECK(nr > MMT_GFP_NR_BITS);
	MMT_CHECK(mmt_gfp_names(NULL) == names);
	for (i = 0; i < nr; i++) {
		int w = __builtin_popcount(names[i].mask);

		MMT_CHECK_MSG(names[i].mask &&
				      !(names[i].mask & ~MMT_GFP_VALID_MASK),
			      "%s has mask 0x%x", names[i].name, names[i].mask);
		for (j = 0; j < i; j++)
			MMT_CHECK_MSG(strcmp(names[i].name, names[j].name),
				      "%s listed twice", names[i].name);
		if (names[i].composite) {
			MMT_CHECK_MSG(nr_comp == i, "composite %s after a bit",
				      names[i].name);
			MMT_CHECK_MSG(
				w <= prev_weight,
				"composite %s (%d bits) after a smaller one",
				names[i].name, w);
			MMT_CHECK(strncmp(names[i].name, "GFP_", 4) == 0 ||
				  strncmp(names[i].name, "__GFP_", 6) == 0);
			prev_weight = w;
			nr_comp++;
			continue;
		}
		/* single bits: each exactly once, in bit order */
		MMT_CHECK_EQ(names[i].mask, 1u << bit);
		MMT_CHECK(strncmp(names[i].name, "__GFP_", 6) == 0);
		seen_bits |= names[i].mask;
		bit++;
	}
	MMT_CHECK_EQ(bit, MMT_GFP_NR_BITS);
	MMT_CHECK_EQ(seen_bits, MMT_GFP_VALID_MASK);
	MMT_CHECK(nr_comp > 0);
	/* spot-check the spelling against the header's macros */
	MMT_CHECK_EQ(parse_ok("__GFP_FAST_TRY"), __GFP_FAST_TRY);
	MMT_CHECK_EQ(parse_ok("__GFP_NOMEMALLOC"), __GFP_NOMEMALLOC);
	MMT_CHECK_EQ(parse_ok("GFP_HIGHUSER_MOVABLE"), GFP_HIGHUSER_MOVABLE);
}

MMT_TEST(gfp_format_uses_composites_greedily)
{
	MMT_CHECK_STR(fmt(0), "0");
	MMT_CHECK_STR(fmt(GFP_KERNEL), "GFP_KERNEL");
	MMT_CHECK_STR(fmt(GFP_KERNEL | __GFP_ZERO), "GFP_KERNEL|__GFP_ZERO");
	MMT_CHECK_STR(fmt(GFP_KERNEL_ACCOUNT), "GFP_KERNEL_ACCOUNT");
	MMT_CHECK_STR(fmt(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN),
		      "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_NOWARN");
	MMT_CHECK_STR(fmt(GFP_HIGHUSER_MOVABLE | __GFP_ACCOUNT),
		      "GFP_HIGHUSER_MOVABLE|__GFP_ACCOUNT");
	MMT_CHECK_STR(fmt(GFP_ATOMIC | __GFP_NOWARN),
		      "GFP_ATOMIC|__GFP_NOWARN");
	MMT_CHECK_STR(fmt(GFP_NOFS | __GFP_NOFAIL), "GFP_NOFS|__GFP_NOFAIL");
	MMT_CHECK_STR(fmt(__GFP_RECLAIM), "GFP_NOIO");
	MMT_CHECK_STR(fmt(__GFP_KSWAPD_RECLAIM | __GFP_FAST_TRY),
		      "GFP_NOWAIT|__GFP_FAST_TRY");
	MMT_CHECK_STR(fmt(__GFP_DIRECT_RECLAIM | __GFP_IO),
		      "__GFP_IO|__GFP_DIRECT_RECLAIM");
	/* greedy: a composite is taken only if all its bits are left */
	MMT_CHECK_STR(fmt(GFP_KERNEL | __GFP_HIGH), "GFP_KERNEL|__GFP_HIGH");
}

MMT_TEST(gfp_format_shows_unknown_bits_as_trailing_hex)
{
	mmt_gfp_t out;
	char err[256];

	MMT_CHECK_STR(fmt(GFP_KERNEL | 0x80000000u), "GFP_KERNEL|0x80000000");
	MMT_CHECK_STR(fmt(0x80000000u), "0x80000000");
	MMT_CHECK_STR(fmt(0xfff00000u), "__GFP_FAST_TRY|0xffe00000");
	/* such a mask is visible in a report but is not accepted back */
	MMT_CHECK(!mmt_gfp_parse(fmt(GFP_KERNEL | 0x80000000u), &out, err,
				 sizeof(err)));
	MMT_CHECK(strstr(err, "unknown bits 0x80000000") != NULL);
}

MMT_TEST(gfp_format_truncates_like_snprintf)
{
	const char *full = "GFP_KERNEL|__GFP_ZERO";
	char buf[32];
	size_t n;

	n = mmt_gfp_format(GFP_KERNEL | __GFP_ZERO, NULL, 0);
	MMT_CHECK_EQ(n, strlen(full));
	memset(buf, 'X', sizeof(buf));
	n = mmt_gfp_format(GFP_KERNEL | __GFP_ZERO, buf, 12);
	MMT_CHECK_EQ(n, strlen(full));
	MMT_CHECK_STR(buf, "GFP_KERN...");
	MMT_CHECK_EQ(buf[12], 'X');
	n = mmt_gfp_format(GFP_KERNEL | __GFP_ZERO, buf, 3);
	MMT_CHECK_EQ(n, strlen(full));
	MMT_CHECK_STR(buf, "GF");
	/* exactly fitting: no mark */
	n = mmt_gfp_format(GFP_KERNEL | __GFP_ZERO, buf, strlen(full) + 1);
	MMT_CHECK_STR(buf, full);
	n = mmt_gfp_format(GFP_KERNEL | __GFP_ZERO, buf, strlen(full));
	MMT_CHECK_STR(buf, "GFP_KERNEL|__GFP_...");
	buf[0] = 'X';
	n = mmt_gfp_format(GFP_KERNEL, buf, 0);
	MMT_CHECK_EQ(buf[0], 'X');
	MMT_CHECK_EQ(n, strlen("GFP_KERNEL"));
}

#ifdef MMT_SOURCE_DIR
MMT_TEST(gfp_fuzz_dictionary_lists_every_name)
{
	const char *path = MMT_SOURCE_DIR "/targets/gfp_text.dict";
	const struct mmt_gfp_name *names;
	static char dict[16384];
	size_t nr, i, len;
	FILE *f;

	f = fopen(path, "r");
	MMT_CHECK_MSG(f != NULL, "cannot open %s", path);
	len = fread(dict, 1, sizeof(dict) - 1, f);
	fclose(f);
	dict[len] = '\0';
	names = mmt_gfp_names(&nr);
	for (i = 0; i < nr; i++) {
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "\"%s\"\n", names[i].name);
		MMT_CHECK_MSG(strstr(dict, quoted) != NULL, "%s lacks %s", path,
			      names[i].name);
	}
}
#endif
