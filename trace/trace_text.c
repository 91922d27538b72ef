/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_text.c - the text form of the operation language, for
 * people: a strict parser with located errors, the canonical printer, and
 * loading a file in either spelling.
 *
 * The format (docs/trace-language.md is the reference):
 *
 *   mmtorture-trace 1                        the first line, always
 *   machine nodes=1 cpus=2 normal=1024 ...   optional, fields optional
 *   bugs none                                optional ("id,id" or none)
 *   # a comment: from '#' to the end of the line, anywhere
 *   cpu 1
 *   enter irq
 *     p0 = alloc_pages GFP_ATOMIC|__GFP_ZERO order=2
 *   exit
 *   free_pages p0
 *   decisions 0 1 1 0                        the schedule's, last (optional)
 *
 * The machine line's sched= sched_seed= pct_depth= pct_steps= fields give a
 * concurrent program's schedule (only the fields its source uses, and
 * printed only when it is not seq, so a sequential program's text is what
 * it always was); the `decisions` lines after every operation are the
 * schedule's decisions (the record of a run), 32 a line when printed.
 *
 * One operation a line: `[NAME =] KEYWORD ARG...`, the arguments in the
 * table's order (trace_ops.c): handles, GFP masks, slab flags, enumeration
 * values and a CPU number positional; every other number `key=value` with
 * the argument's name.  A new handle's NAME is any prefix+number of the
 * right kind that is not live; names map to serials (creation order per
 * kind), and printing names every handle canonically, prefix + serial.
 *
 * Parsing is strict: the structural rules of trace_state.c apply (a dead
 * or unknown handle, a handle of the wrong kind, `exit` with nothing
 * entered, `cpu N` inside a context, destroying a cache with live objects
 * ... are errors), the atomic rules and GFP canonicalisation do not: a
 * trace may say GFP_KERNEL inside an irq to show the sleep-in-atomic check
 * fire.  Every error is "FILE:LINE:COL: message" naming the token.
 *
 * Printing is canonical: the full header, then one operation a line,
 * indented two spaces per context entered, so print(parse(print(P))) ==
 * print(P) byte for byte.
 *
 * Text or binary (mmt_trace_classify(), mmt_trace_read()): one rule for
 * every reader.  Bytes a fuzzer wrote are decoded totally: text only if
 * the magic line comes first (after a byte order mark, blank lines and
 * comments) and the rest parses, else binary, so every byte string is a
 * program.  A file a person keeps (a .trace name, or bytes that look like
 * text: a byte order mark, a near miss of the magic word, printable UTF-8
 * with a line break in the first MMT_TRACE_SNIFF bytes) must parse: it is
 * never silently run as the random program its bytes would decode to.
 * File names tell the two apart in a directory (mmt_trace_name_kind()).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mmt/check.h"
#include "mmt/mempool.h"
#include "trace_internal.h"

/* ---- a tiny string builder: snprintf semantics, total length kept ---- */

struct sbuf {
	char *buf;
	size_t len, n; /* room, bytes the full text needs */
};

static MMT_PRINTF(2, 3) void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(sb->n < sb->len ? sb->buf + sb->n : NULL,
		      sb->n < sb->len ? sb->len - sb->n : 0, fmt, ap);
	va_end(ap);
	if (w > 0)
		sb->n += (size_t)w;
}

/* ---- printing ---- */

static void format_arg(struct sbuf *sb, const struct mmt_arg_info *a,
		       uint32_t v)
{
	char tmp[512];
	const char *name;

	switch (a->type) {
	case MMT_ARG_HANDLE:
		sb_printf(sb, "%s%u", mmt_handle_prefix(a->kind), v);
		break;
	case MMT_ARG_CPU:
		sb_printf(sb, "%u", v);
		break;
	case MMT_ARG_GFP:
		mmt_gfp_format(v, tmp, sizeof(tmp));
		sb_printf(sb, "%s", tmp);
		break;
	case MMT_ARG_SLAB_FLAGS:
		_mmt_trace_slab_flags_format(v, tmp, sizeof(tmp));
		sb_printf(sb, "%s", tmp);
		break;
	case MMT_ARG_ENUM:
		name = mmt_trace_enum_name(a->kind, v);
		if (name)
			sb_printf(sb, "%s", name);
		else
			sb_printf(sb, "%u",
				  v); /* out of range: parse says so */
		break;
	default:
		sb_printf(sb, "%s=%u", a->name, v);
		break;
	}
}

/* @op as text, its result (if any) named with serial @serial. */
static size_t format_op(const struct mmt_op *op, uint32_t serial, char *buf,
			size_t len)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	struct sbuf sb = { buf, len, 0 };
	int i;

	if (len)
		buf[0] = '\0';
	if (!info) {
		sb_printf(&sb, "# opcode %u: not an operation", op->code);
		return sb.n;
	}
	if (info->result)
		sb_printf(&sb, "%s%u = ", mmt_handle_prefix(info->result),
			  serial);
	if (op->misuse)
		sb_printf(&sb, "misuse ");
	sb_printf(&sb, "%s", info->name);
	for (i = 0; i < info->nargs; i++) {
		sb_printf(&sb, " ");
		format_arg(&sb, &info->args[i], op->arg[i]);
	}
	return sb.n;
}

size_t mmt_trace_format_op(const struct mmt_program *p, const struct mmt_op *op,
			   char *buf, size_t len)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	uint32_t serial = 0;
	size_t i;

	if (info && info->result) {
		/*
		 * The serial is the number of earlier creators of its kind:
		 * counted if @op is in @p, else @op is taken as the next one.
		 */
		if (p->nr_ops && op >= p->ops && op < p->ops + p->nr_ops) {
			for (i = 0; &p->ops[i] != op; i++) {
				const struct mmt_op_info *o =
					mmt_op_info(p->ops[i].code);

				serial += o && o->result == info->result;
			}
		} else {
			serial = p->nr_handles[info->result];
		}
	}
	return format_op(op, serial, buf, len);
}

static void print_sched(const struct mmt_trace_schedule *s, FILE *out);

static void print_header(const struct mmt_trace_header *h,
			 const struct mmt_trace_schedule *s, FILE *out)
{
	char bugs[1024];

	mmt_bugs_format(h->bugs, bugs, sizeof(bugs));
	fprintf(out, "%s %d\n", MMT_TRACE_TEXT_MAGIC, MMT_TRACE_VERSION);
	fprintf(out,
		"machine nodes=%d cpus=%d normal=%lu dma32=%lu slab=%s mempool=%s rt=%s kvfree_rcu=%s oracles=%d",
		h->nr_nodes, h->nr_cpus, h->normal_pages, h->dma32_pages,
		_mmt_trace_slab_impl_name(h->slab),
		mmt_mempool_policy_name(h->mempool), h->rt_rules ? "on" : "off",
		h->kvfree_rcu_fast_try ? "fast-try" : "nowait",
		h->oracle_level);
	/* Only a uniprocessor says so: every other header reads as before. */
	if (h->up)
		fprintf(out, " smp=off");
	/* Likewise the v5.16+ throttle: the 2016 one is the default. */
	if (h->throttle != MMT_THROTTLE_VM_WRITEOUT)
		fprintf(out, " throttle=%s",
			mmt_throttle_policy_name(h->throttle));
	print_sched(s, out);
	fprintf(out, "\nbugs %s\n", bugs);
}

/* The machine line's schedule fields: none for SEQ, the default. */
static void print_sched(const struct mmt_trace_schedule *s, FILE *out)
{
	if (s->source == MMT_SCHED_SEQ)
		return;
	fprintf(out, " sched=%s", mmt_sched_source_name(s->source));
	if (s->source == MMT_SCHED_PCT || s->source == MMT_SCHED_RANDOM)
		fprintf(out, " sched_seed=%u", s->seed);
	if (s->source == MMT_SCHED_PCT)
		fprintf(out, " pct_depth=%u pct_steps=%u", s->pct_depth,
			s->pct_steps);
}

/* The schedule section: the decisions, 32 a line, after the operations. */
static void print_decisions(const struct mmt_trace_schedule *s, FILE *out)
{
	uint32_t i;

	for (i = 0; i < s->nr_decisions; i++)
		fprintf(out, "%s%u%s", i % 32 ? " " : "decisions ",
			s->decisions[i],
			i % 32 == 31 || i + 1 == s->nr_decisions ? "\n" : "");
}

void mmt_trace_print(const struct mmt_program *p, FILE *out)
{
	uint32_t serial[MMT_NR_HANDLE_KINDS] = { 0 };
	uint8_t depths[MMT_MAX_CPUS] = { 0 }, *depth = &depths[0];
	char line[1024];
	size_t i;

	print_header(&p->hdr, &p->sched, out);
	for (i = 0; i < p->nr_ops; i++) {
		const struct mmt_op *op = &p->ops[i];
		const struct mmt_op_info *info = mmt_op_info(op->code);
		uint32_t s = 0;

		/*
		 * Indentation shows the current CPU's context stack.  Only
		 * the current CPU has one, since leaving a CPU needs it empty
		 * - except after a `misuse cpu N`, which leaves it inside.
		 */
		if (op->code == MMT_OP_EXIT && *depth > 0)
			(*depth)--;
		if (info && info->result)
			s = serial[info->result]++;
		format_op(op, s, line, sizeof(line));
		fprintf(out, "%*s%s\n", 2 * *depth, "", line);
		if ((op->code == MMT_OP_ENTER ||
		     op->code == MMT_OP_INTERRUPT) &&
		    *depth < MMT_TRACE_MAX_DEPTH)
			(*depth)++;
		if (op->code == MMT_OP_CPU && op->arg[0] < MMT_MAX_CPUS)
			depth = &depths[op->arg[0]];
	}
	print_decisions(&p->sched, out);
}

/* ---- parsing ---- */

struct tok {
	const char *s;
	size_t n;
	unsigned int col; /* 1-based */
};

/* Per kind, by serial: the name the text gave, where it began and ended. */
struct names {
	uint32_t *num;
	uint32_t *def_line, *end_line;
	uint32_t cap;
};

struct parser {
	const char *name;
	char *err;
	size_t errlen;
	struct mmt_program *out;
	struct _mmt_trace_state st;
	bool have_state;
	struct names names[MMT_NR_HANDLE_KINDS];
	unsigned int line;
	const char *ls, *le; /* the current line, comment cut off */
	const char *cur; /* the tokenizer's position in it */
	bool seen_machine, seen_bugs;
	/* machine fields given, so a repeated one is an error */
	unsigned int fields;
	unsigned int field_col[16]; /* where each given field began */
	/* the schedule section: decisions, after every operation */
	uint16_t *dec;
	uint32_t nr_dec, dec_cap;
	unsigned int dec_line; /* the first decisions line, or 0 */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool next_tok(struct parser *ps, struct tok *t)
{
	const char *p = ps->cur;

	while (p < ps->le && is_space(*p))
		p++;
	if (p == ps->le) {
		ps->cur = p;
		return false;
	}
	t->s = p;
	while (p < ps->le && !is_space(*p))
		p++;
	t->n = (size_t)(p - t->s);
	t->col = (unsigned int)(t->s - ps->ls) + 1;
	ps->cur = p;
	return true;
}

/* @t as a printable quoted word (non-printing bytes escaped, cut long). */
/* @t as a C string in @buf, cut to fit (a name to look up, not to print). */
static const char *tok_cstr(const struct tok *t, char *buf, size_t len)
{
	size_t n = t->n < len ? t->n : len - 1;

	memcpy(buf, t->s, n);
	buf[n] = '\0';
	return buf;
}

static const char *q(const struct tok *t, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < t->n && n + 8 < len; i++) {
		unsigned char c = (unsigned char)t->s[i];

		if (i == 48) {
			n += (size_t)snprintf(buf + n, len - n, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	buf[n] = '\0';
	return buf;
}

static MMT_PRINTF(3, 4) bool perr(struct parser *ps, unsigned int col,
				  const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	int w;

	if (!ps->err || !ps->errlen)
		return false;
	w = snprintf(ps->err, ps->errlen, "%s:%u:%u: ", ps->name, ps->line,
		     col);
	if (w > 0)
		n = (size_t)w;
	if (n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool tok_is(const struct tok *t, const char *s)
{
	return strlen(s) == t->n && !memcmp(t->s, s, t->n);
}

/* A decimal number in [lo, hi]: digits only, no sign, no leading zeros. */
static bool parse_num(const char *s, size_t n, uint64_t lo, uint64_t hi,
		      uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* ---- header ---- */

enum {
	F_NODES,
	F_CPUS,
	F_NORMAL,
	F_DMA32,
	F_SLAB,
	F_MEMPOOL,
	F_RT,
	F_KVFREE_RCU,
	F_ORACLES,
	F_SCHED,
	F_SCHED_SEED,
	F_PCT_DEPTH,
	F_PCT_STEPS,
	F_SMP,
	F_THROTTLE,
	NR_FIELDS
};

static const char *const field_names[NR_FIELDS] = {
	"nodes",      "cpus",	   "normal",	 "dma32",   "slab",
	"mempool",    "rt",	   "kvfree_rcu", "oracles", "sched",
	"sched_seed", "pct_depth", "pct_steps",	 "smp",	    "throttle",
};

static bool parse_field(struct parser *ps, const struct tok *t)
{
	struct mmt_trace_header *h = &ps->out->hdr;
	const char *eq = memchr(t->s, '=', t->n);
	struct tok key, val;
	char b1[160], b2[160];
	uint64_t v;
	int f;

	if (!eq)
		return perr(ps, t->col, "expected FIELD=VALUE, got '%s'",
			    q(t, b1, sizeof(b1)));
	key = (struct tok){ t->s, (size_t)(eq - t->s), t->col };
	val = (struct tok){ eq + 1, t->n - key.n - 1,
			    t->col + (unsigned int)key.n + 1 };
	for (f = 0; f < NR_FIELDS; f++)
		if (tok_is(&key, field_names[f]))
			break;
	if (f == NR_FIELDS)
		return perr(
			ps, t->col,
			"unknown machine field '%s' (fields: nodes cpus normal dma32 slab mempool rt kvfree_rcu oracles sched sched_seed pct_depth pct_steps smp throttle)",
			q(&key, b1, sizeof(b1)));
	if (ps->fields & (1u << f))
		return perr(ps, t->col, "machine field '%s' given twice",
			    field_names[f]);
	ps->fields |= 1u << f;
	ps->field_col[f] = t->col;
	q(&val, b2, sizeof(b2));

	switch (f) {
	case F_NODES:
		if (!parse_num(val.s, val.n, 1, MMT_MAX_NODES, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for nodes= (expected 1..%d)",
				b2, MMT_MAX_NODES);
		h->nr_nodes = (int)v;
		break;
	case F_CPUS:
		if (!parse_num(val.s, val.n, 1, MMT_MAX_CPUS, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for cpus= (expected 1..%d)",
				b2, MMT_MAX_CPUS);
		h->nr_cpus = (int)v;
		break;
	case F_NORMAL:
	case F_DMA32:
		if (!parse_num(val.s, val.n, 0, 1ull << 32, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for %s= (expected pages per node)",
				b2, field_names[f]);
		if (f == F_NORMAL)
			h->normal_pages = (unsigned long)v;
		else
			h->dma32_pages = (unsigned long)v;
		break;
	case F_SLAB:
		if (tok_is(&val, "slub"))
			h->slab = MMT_SLAB_SLUB;
		else if (tok_is(&val, "slab"))
			h->slab = MMT_SLAB_SLAB;
		else if (tok_is(&val, "sheaves"))
			h->slab = MMT_SLAB_SHEAVES;
		else
			return perr(ps, val.col,
				    "slab='%s': expected slub, slab or sheaves",
				    b2);
		break;
	case F_MEMPOOL: {
		char name[32];

		if (!mmt_mempool_policy_parse(
			    tok_cstr(&val, name, sizeof(name)), &h->mempool))
			return perr(
				ps, val.col,
				"mempool='%s': expected kernel-2016, no-reclaim or pool-first",
				b2);
		break;
	}
	case F_THROTTLE: {
		char name[32];

		if (!mmt_throttle_policy_parse(
			    tok_cstr(&val, name, sizeof(name)), &h->throttle))
			return perr(
				ps, val.col,
				"throttle='%s': expected vm-writeout (2016) or reclaim (v5.16+)",
				b2);
		break;
	}
	case F_RT:
		if (tok_is(&val, "on") || tok_is(&val, "off"))
			h->rt_rules = tok_is(&val, "on");
		else
			return perr(ps, val.col, "rt='%s': expected on or off",
				    b2);
		break;
	case F_SMP:
		if (tok_is(&val, "on") || tok_is(&val, "off"))
			h->up = tok_is(&val, "off");
		else
			return perr(
				ps, val.col,
				"smp='%s': expected on or off (off: a uniprocessor build, cpus=1)",
				b2);
		break;
	case F_KVFREE_RCU:
		if (tok_is(&val, "nowait") || tok_is(&val, "fast-try"))
			h->kvfree_rcu_fast_try = tok_is(&val, "fast-try");
		else
			return perr(
				ps, val.col,
				"kvfree_rcu='%s': expected nowait or fast-try",
				b2);
		break;
	case F_ORACLES:
		if (!parse_num(val.s, val.n, 0, 2, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for oracles= (expected 0..2)",
				b2);
		h->oracle_level = (int)v;
		break;
	case F_SCHED: {
		int src = _mmt_sched_source_lookup(val.s, val.n);

		if (src < 0)
			return perr(
				ps, val.col,
				"sched='%s': expected seq, input, pct, random or rr",
				b2);
		ps->out->sched.source = (uint8_t)src;
		break;
	}
	case F_SCHED_SEED:
		if (!parse_num(val.s, val.n, 0, UINT32_MAX, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for sched_seed= (expected 0..%u)",
				b2, UINT32_MAX);
		ps->out->sched.seed = (uint32_t)v;
		break;
	case F_PCT_DEPTH:
		if (!parse_num(val.s, val.n, 1, MMT_TRACE_PCT_MAX_DEPTH, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for pct_depth= (expected 1..%d)",
				b2, MMT_TRACE_PCT_MAX_DEPTH);
		ps->out->sched.pct_depth = (uint8_t)v;
		break;
	case F_PCT_STEPS:
		if (!parse_num(val.s, val.n, 0, UINT16_MAX, &v))
			return perr(
				ps, val.col,
				"bad number '%s' for pct_steps= (expected 0..%u, 0: estimated)",
				b2, UINT16_MAX);
		ps->out->sched.pct_steps = (uint16_t)v;
		break;
	}
	return true;
}

/* Schedule fields only where their source uses them. */
static bool check_sched_fields(struct parser *ps)
{
	unsigned int src = ps->out->sched.source;
	bool seeded = src == MMT_SCHED_PCT || src == MMT_SCHED_RANDOM;
	int f;

	for (f = F_SCHED_SEED; f <= F_PCT_STEPS; f++) {
		if (!(ps->fields & (1u << f)))
			continue;
		if (f == F_SCHED_SEED ? !seeded : src != MMT_SCHED_PCT)
			return perr(ps, ps->field_col[f],
				    "%s= is for sched=%s, not sched=%s",
				    field_names[f],
				    f == F_SCHED_SEED ? "pct or random" : "pct",
				    mmt_sched_source_name(src));
	}
	_mmt_trace_sched_canon(&ps->out->sched);
	return true;
}

static bool parse_machine(struct parser *ps, const struct tok *kw)
{
	struct mmt_config cfg;
	char why[256];
	struct tok t;

	if (ps->seen_machine)
		return perr(ps, kw->col, "a second 'machine' line");
	ps->seen_machine = true;
	while (next_tok(ps, &t))
		if (!parse_field(ps, &t))
			return false;
	if (!check_sched_fields(ps))
		return false;
	/* What the model would refuse (total memory, zone sizes) is an error here. */
	mmt_trace_header_config(&ps->out->hdr, &cfg);
	if (!mmt_config_validate(&cfg, why, sizeof(why)))
		return perr(ps, kw->col, "machine: %s", why);
	return true;
}

static bool parse_bugs(struct parser *ps, const struct tok *kw)
{
	char list[256], why[256], b[160];
	struct tok t, extra;

	if (ps->seen_bugs)
		return perr(ps, kw->col, "a second 'bugs' line");
	ps->seen_bugs = true;
	if (!next_tok(ps, &t))
		return perr(ps, kw->col,
			    "bugs: expected 'none' or bug ids joined by ','");
	if (next_tok(ps, &extra))
		return perr(
			ps, extra.col,
			"unexpected '%s': bug ids are joined by ',' without spaces",
			q(&extra, b, sizeof(b)));
	if (t.n >= sizeof(list))
		return perr(ps, t.col, "bugs: the list is too long");
	memcpy(list, t.s, t.n);
	list[t.n] = '\0';
	if (!mmt_bugs_parse(list, &ps->out->hdr.bugs, why, sizeof(why)))
		return perr(ps, t.col, "bugs: %s", why);
	return true;
}

/* ---- handle names ---- */

static bool names_grow(struct names *nm, uint32_t need)
{
	uint32_t cap = nm->cap ? nm->cap : 16;

	while (cap < need)
		cap *= 2;
	if (!_mmt_trace_grow(&nm->num, cap, sizeof(*nm->num)) ||
	    !_mmt_trace_grow(&nm->def_line, cap, sizeof(*nm->def_line)) ||
	    !_mmt_trace_grow(&nm->end_line, cap, sizeof(*nm->end_line)))
		return false;
	nm->cap = cap;
	return true;
}

/* Split "co12" into kind and number; false (with an error) if malformed. */
static bool parse_name(struct parser *ps, const struct tok *t,
		       enum mmt_handle_kind *kind, uint32_t *num)
{
	char b[160];
	size_t i = 0;
	uint64_t v;

	while (i < t->n && t->s[i] >= 'a' && t->s[i] <= 'z')
		i++;
	if (!i || i == t->n ||
	    !parse_num(t->s + i, t->n - i, 0, UINT32_MAX, &v))
		return perr(
			ps, t->col,
			"bad handle name '%s' (expected a prefix such as p, o or co and a number, e.g. p0)",
			q(t, b, sizeof(b)));
	*kind = _mmt_handle_kind_lookup(t->s, i);
	if (*kind == MMT_H_NONE)
		return perr(ps, t->col, "unknown handle prefix '%.*s' in '%s'",
			    (int)i, t->s, q(t, b, sizeof(b)));
	*num = (uint32_t)v;
	return true;
}

/* The live serial of @kind named @num, or -1 (then *dead: a dead one's). */
static int64_t find_name(const struct parser *ps, enum mmt_handle_kind kind,
			 uint32_t num, int64_t *dead)
{
	const struct _mmt_trace_handles *h = &ps->st.h[kind];
	const struct names *nm = &ps->names[kind];
	uint32_t i;

	*dead = -1;
	for (i = 0; i < h->nr_live; i++)
		if (nm->num[h->live[i]] == num)
			return h->live[i];
	for (i = h->nr; i-- > 0;)
		if (nm->num[i] == num) {
			*dead = i;
			break;
		}
	return -1;
}

static bool parse_handle(struct parser *ps, const struct tok *t,
			 enum mmt_handle_kind want, uint32_t *serial)
{
	enum mmt_handle_kind kind;
	int64_t s, dead;
	uint32_t num;
	char b[160];

	if (!parse_name(ps, t, &kind, &num))
		return false;
	q(t, b, sizeof(b));
	if (kind != want)
		return perr(ps, t->col,
			    "handle '%s' is a %s, expected a %s (%s...)", b,
			    _mmt_handle_kind_desc(kind),
			    _mmt_handle_kind_desc(want),
			    mmt_handle_prefix(want));
	s = find_name(ps, kind, num, &dead);
	if (s >= 0) {
		*serial = (uint32_t)s;
		return true;
	}
	if (dead >= 0 && ps->st.misuse) {
		*serial = (uint32_t)dead; /* the misuse the author meant */
		return true;
	}
	if (dead >= 0)
		return perr(
			ps, t->col,
			"handle '%s' is dead (created at line %u, ended at line %u; write 'misuse ...' for a deliberate misuse)",
			b, ps->names[kind].def_line[dead],
			ps->names[kind].end_line[dead]);
	return perr(ps, t->col, "unknown handle '%s' (never created)", b);
}

/* ---- operations ---- */

static const char *type_hint(const struct mmt_arg_info *a, char *buf,
			     size_t len)
{
	switch (a->type) {
	case MMT_ARG_HANDLE:
		snprintf(buf, len, "a %s handle (%s<N>)",
			 _mmt_handle_kind_desc(a->kind),
			 mmt_handle_prefix(a->kind));
		break;
	case MMT_ARG_CPU:
		snprintf(buf, len, "a cpu number");
		break;
	case MMT_ARG_GFP:
		snprintf(buf, len, "a GFP mask (GFP_KERNEL|__GFP_ZERO, or 0)");
		break;
	case MMT_ARG_SLAB_FLAGS:
		snprintf(buf, len, "slab flags (HWCACHE_ALIGN|POISON, or 0)");
		break;
	case MMT_ARG_ENUM:
		snprintf(buf, len, "a %s", a->name);
		break;
	default:
		snprintf(buf, len, "%s=N", a->name);
		break;
	}
	return buf;
}

/*
 * A misuse operation's GFP mask may carry bits the model does not know
 * (gfp-unknown-bit): a hex literal, as mmt_gfp_format() prints them.
 */
static bool misuse_gfp_bits(const struct parser *ps, const char *piece,
			    mmt_gfp_t *m)
{
	unsigned long long v;
	char *end;

	if (!ps->st.misuse || piece[0] != '0' ||
	    (piece[1] != 'x' && piece[1] != 'X') || !piece[2])
		return false;
	errno = 0;
	v = strtoull(piece + 2, &end, 16);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*m = (mmt_gfp_t)v;
	return true;
}

static bool parse_gfp(struct parser *ps, const struct tok *t, uint32_t *out)
{
	const char *p = t->s, *end = t->s + t->n;
	char piece[80], why[256], b[160];
	mmt_gfp_t gfp = 0, m;

	/* Piece by piece, so that an error points at the very flag. */
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		struct tok pt = { p, (size_t)((bar ? bar : end) - p),
				  t->col + (unsigned int)(p - t->s) };

		if (!pt.n)
			return perr(ps, pt.col, "empty GFP flag in '%s'",
				    q(t, b, sizeof(b)));
		if (pt.n >= sizeof(piece) || memchr(pt.s, '\0', pt.n))
			return perr(ps, pt.col, "unknown GFP flag '%s'",
				    q(&pt, b, sizeof(b)));
		memcpy(piece, pt.s, pt.n);
		piece[pt.n] = '\0';
		if (!mmt_gfp_parse(piece, &m, why, sizeof(why)) &&
		    !misuse_gfp_bits(ps, piece, &m)) {
			if (piece[0] >= '0' && piece[0] <= '9')
				return perr(
					ps, pt.col,
					"bad GFP mask literal '%s' (expected 0 or 0x<hex> with known bits)",
					q(&pt, b, sizeof(b)));
			return perr(
				ps, pt.col,
				"unknown GFP flag '%s' (see 'mmtorture list' and mmt/gfp.h)",
				q(&pt, b, sizeof(b)));
		}
		gfp |= m;
		if (!bar)
			break;
		p = bar + 1;
	}
	*out = gfp;
	return true;
}

static bool parse_slab_flags(struct parser *ps, const struct tok *t,
			     uint32_t *out)
{
	const char *p = t->s, *end = t->s + t->n;
	uint32_t flags = 0, f;
	char b[160];

	if (tok_is(t, "0")) {
		*out = 0;
		return true;
	}
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		struct tok pt = { p, (size_t)((bar ? bar : end) - p),
				  t->col + (unsigned int)(p - t->s) };

		/* "0" is the empty set, alone or in a list, as for GFP masks. */
		f = tok_is(&pt, "0") ? 0 :
				       _mmt_trace_slab_flag_lookup(pt.s, pt.n);
		if (!f && !tok_is(&pt, "0"))
			return perr(
				ps, pt.col,
				"unknown slab flag '%s' (expected HWCACHE_ALIGN POISON RED_ZONE STORE_USER TYPESAFE_BY_RCU ACCOUNT, or 0)",
				q(&pt, b, sizeof(b)));
		flags |= f;
		if (!bar)
			break;
		p = bar + 1;
	}
	*out = flags;
	return true;
}

/* Range of a number argument: [lo, hi]. */
static void num_range(const struct parser *ps, const struct mmt_arg_info *a,
		      uint64_t *lo, uint64_t *hi)
{
	*lo = 0;
	switch (a->type) {
	case MMT_ARG_CPU:
		*hi = (uint64_t)ps->st.hdr.nr_cpus - 1;
		break;
	case MMT_ARG_NODE:
		*hi = (uint64_t)ps->st.hdr.nr_nodes - 1;
		break;
	case MMT_ARG_ORDER:
		*hi = MMT_MAX_ORDER - 1;
		break;
	case MMT_ARG_SIZE:
		*lo = 1;
		*hi = MMT_TRACE_MAX_SIZE;
		break;
	case MMT_ARG_NUM: /* misuse: as written */
		*hi = UINT32_MAX;
		break;
	default: /* MMT_ARG_COUNT */
		*lo = 1;
		*hi = 64;
		break;
	}
}

static bool parse_arg(struct parser *ps, const struct mmt_op_info *info, int i,
		      uint32_t *out)
{
	const struct mmt_arg_info *a = &info->args[i];
	char b[160], hint[160];
	uint64_t lo, hi, v;
	struct tok t, val;
	size_t kn;
	int e;

	if (!next_tok(ps, &t))
		return perr(ps, (unsigned int)(ps->le - ps->ls) + 1,
			    "%s: missing argument %d, %s", info->name, i + 1,
			    type_hint(a, hint, sizeof(hint)));
	switch (a->type) {
	case MMT_ARG_HANDLE:
		return parse_handle(ps, &t, a->kind, out);
	case MMT_ARG_GFP:
		return parse_gfp(ps, &t, out);
	case MMT_ARG_SLAB_FLAGS:
		return parse_slab_flags(ps, &t, out);
	case MMT_ARG_ENUM:
		e = _mmt_trace_enum_lookup(a->kind, t.s, t.n);
		if (e < 0) {
			struct sbuf sb = { hint, sizeof(hint), 0 };
			unsigned int k;

			for (k = 0; k < mmt_trace_enum_size(a->kind); k++)
				sb_printf(&sb, "%s%s", k ? " " : "",
					  mmt_trace_enum_name(a->kind, k));
			return perr(ps, t.col, "unknown %s '%s' (expected %s)",
				    a->name, q(&t, b, sizeof(b)), hint);
		}
		*out = (uint32_t)e;
		return true;
	default:
		break;
	}
	/* Numbers: the CPU of cpu/cpu_offline/cpu_online bare, others key=. */
	num_range(ps, a, &lo, &hi);
	val = t;
	if (a->type != MMT_ARG_CPU) {
		kn = strlen(a->name);
		if (t.n <= kn || memcmp(t.s, a->name, kn) || t.s[kn] != '=')
			return perr(ps, t.col, "%s: expected %s=N, got '%s'",
				    info->name, a->name, q(&t, b, sizeof(b)));
		val.s += kn + 1;
		val.n -= kn + 1;
		val.col += (unsigned int)kn + 1;
	}
	if (!parse_num(val.s, val.n, lo, hi, &v))
		return perr(ps, val.col,
			    "bad number '%s' for %s%s (expected %llu..%llu)",
			    q(&val, b, sizeof(b)), a->name,
			    a->type == MMT_ARG_CPU ? "" : "=",
			    (unsigned long long)lo, (unsigned long long)hi);
	*out = (uint32_t)v;
	return true;
}

static bool state_ready(struct parser *ps)
{
	if (ps->have_state)
		return true;
	if (!_mmt_trace_state_init(&ps->st, &ps->out->hdr, true))
		return false;
	ps->have_state = true;
	return true;
}

static bool parse_op(struct parser *ps, struct tok *first)
{
	const struct mmt_op_info *info;
	struct tok kw = *first, name = { 0 }, eq, extra;
	struct _mmt_trace_why why;
	enum mmt_handle_kind nkind = MMT_H_NONE;
	unsigned int arg_col[MMT_TRACE_MAX_ARGS];
	uint32_t nnum = 0;
	struct mmt_op op;
	char b[160];
	int code, i;

	if (!state_ready(ps))
		return perr(ps, first->col, "out of memory");
	memset(&op, 0, sizeof(op));
	ps->st.misuse = false;
	/* "NAME = keyword ..." */
	{
		const char *save = ps->cur;

		if (next_tok(ps, &eq) && tok_is(&eq, "=")) {
			name = kw;
			if (!next_tok(ps, &kw))
				return perr(ps, eq.col + 1,
					    "expected an operation after '='");
		} else {
			ps->cur = save;
		}
	}
	/* "misuse OP ...": a deliberate misuse, dead handles allowed. */
	if (tok_is(&kw, "misuse")) {
		unsigned int col = kw.col;

		if (!next_tok(ps, &kw))
			return perr(ps, col + 6,
				    "expected an operation after 'misuse'");
		op.misuse = 1;
		ps->st.misuse = true;
	}
	code = _mmt_trace_op_lookup(kw.s, kw.n);
	if (code < 0)
		return perr(
			ps, kw.col,
			"unknown operation '%s' (see 'mmtorture trace ops')",
			q(&kw, b, sizeof(b)));
	info = mmt_op_info((enum mmt_opcode)code);
	op.code = (uint16_t)code;
	op.line = ps->line;

	if (MMT_OP_IS_MISUSE(code) && !op.misuse)
		return perr(
			ps, kw.col,
			"%s is a deliberate misuse of the API: write 'misuse %s ...' (text only, for oracle pairs and tests)",
			info->name, info->name);

	/*
	 * In a concurrent program `cpu N` starts a thread, it moves no task:
	 * the misuse of leaving a CPU exists in sequential programs only.
	 */
	if (op.misuse && code == MMT_OP_CPU &&
	    ps->out->sched.source != MMT_SCHED_SEQ)
		return perr(
			ps, first->col,
			"misuse cpu: in a concurrent program (sched=%s) 'cpu N' starts CPU N's thread and moves no task; leaving a CPU is a misuse of sequential programs",
			mmt_sched_source_name(ps->out->sched.source));
	if (op.misuse && info->result)
		return perr(
			ps, first->col,
			"misuse %s: an operation that creates a handle cannot be a misuse",
			info->name);
	if (name.s && !info->result)
		return perr(ps, name.col, "%s creates no handle: drop '%.*s ='",
			    info->name, (int)(name.n > 40 ? 40 : name.n),
			    name.s);
	if (!name.s && info->result)
		return perr(ps, kw.col,
			    "%s creates a %s: write '%s<N> = %s ...'",
			    info->name, _mmt_handle_kind_desc(info->result),
			    mmt_handle_prefix(info->result), info->name);
	if (name.s) {
		if (!parse_name(ps, &name, &nkind, &nnum))
			return false;
		if (nkind != info->result)
			return perr(
				ps, name.col,
				"'%s' cannot name a %s: its name starts with '%s'",
				q(&name, b, sizeof(b)),
				_mmt_handle_kind_desc(info->result),
				mmt_handle_prefix(info->result));
	}

	for (i = 0; i < info->nargs; i++) {
		const char *save = ps->cur;
		struct tok peek;

		arg_col[i] = next_tok(ps, &peek) ? peek.col : 0;
		ps->cur = save;
		if (!parse_arg(ps, info, i, &op.arg[i]))
			return false;
	}
	if (next_tok(ps, &extra))
		return perr(ps, extra.col, "unexpected '%s' after %s's %s",
			    q(&extra, b, sizeof(b)), info->name,
			    info->nargs ? "arguments" :
					  "keyword (it takes none)");

	if (!_mmt_trace_state_check(&ps->st, &op, &why))
		return perr(ps, why.arg >= 0 ? arg_col[why.arg] : kw.col, "%s",
			    why.msg);
	ps->st.misuse = false;
	if (name.s) {
		int64_t dead, s = find_name(ps, nkind, nnum, &dead);

		if (s >= 0)
			return perr(
				ps, name.col,
				"handle '%s' is already live (created at line %u)",
				q(&name, b, sizeof(b)),
				ps->names[nkind].def_line[s]);
	}
	if (ps->out->nr_ops >= MMT_TRACE_MAX_OPS)
		return perr(
			ps, kw.col,
			"more than %d operations (the most a program may have)",
			MMT_TRACE_MAX_OPS);

	if (info->result) {
		struct names *nm = &ps->names[info->result];
		uint32_t serial = ps->st.h[info->result].nr;

		if (serial >= nm->cap && !names_grow(nm, serial + 1))
			return perr(ps, kw.col, "out of memory");
		nm->num[serial] = nnum;
		nm->def_line[serial] = ps->line;
		nm->end_line[serial] = 0;
	}
	if (info->ends)
		ps->names[info->args[info->ends - 1].kind]
			.end_line[op.arg[info->ends - 1]] = ps->line;
	if (!_mmt_trace_state_apply(&ps->st, &op) ||
	    !mmt_program_append(ps->out, &op))
		return perr(ps, kw.col, "out of memory");
	return true;
}

/* Case-blind edit distance of two short words, capped at @cap + 1. */
static unsigned int edit_distance(const char *a, size_t na, const char *b,
				  size_t nb, unsigned int cap)
{
	unsigned int row[40], i, j;

	if (na >= sizeof(row) / sizeof(row[0]) ||
	    nb >= sizeof(row) / sizeof(row[0]))
		return cap + 1;
	for (j = 0; j <= nb; j++)
		row[j] = j;
	for (i = 1; i <= na; i++) {
		unsigned int diag = row[0], best;

		row[0] = i;
		best = row[0];
		for (j = 1; j <= nb; j++) {
			unsigned int up = row[j];
			unsigned int sub =
				diag + (tolower((unsigned char)a[i - 1]) !=
					tolower((unsigned char)b[j - 1]));
			unsigned int v = sub;

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[nb];
}

/* A word a person meant as the magic: a typo, another case, a suffix. */
static bool near_magic(const char *w, size_t n)
{
	const size_t m = sizeof(MMT_TRACE_TEXT_MAGIC) - 1;

	return (n >= 9 && !strncasecmp(w, "mmtorture", 9)) ||
	       edit_distance(w, n, MMT_TRACE_TEXT_MAGIC, m, 3) <= 3;
}

/* "decisions N N ...": the schedule section, after every operation. */
static bool parse_decisions(struct parser *ps, const struct tok *kw)
{
	struct tok t;
	char b[160];
	uint64_t v;
	bool any = false;

	if (ps->out->sched.source == MMT_SCHED_SEQ)
		return perr(
			ps, kw->col,
			"decisions need a concurrent schedule: give the machine line sched=input, pct, random or rr (sched=seq runs the operations in textual order)");
	if (!ps->dec_line)
		ps->dec_line = ps->line;
	while (next_tok(ps, &t)) {
		any = true;
		if (!parse_num(t.s, t.n, 0, UINT16_MAX, &v))
			return perr(
				ps, t.col,
				"bad decision '%s' (expected a number 0..%u: an index among the runnable fibers)",
				q(&t, b, sizeof(b)), UINT16_MAX);
		if (ps->nr_dec >= MMT_TRACE_MAX_DECISIONS)
			return perr(
				ps, t.col,
				"more than %d decisions (the most a schedule may have)",
				MMT_TRACE_MAX_DECISIONS);
		if (ps->nr_dec == ps->dec_cap) {
			uint32_t cap = ps->dec_cap ? 2 * ps->dec_cap : 64;

			if (!_mmt_trace_grow(&ps->dec, cap, sizeof(*ps->dec)))
				return perr(ps, t.col, "out of memory");
			ps->dec_cap = cap;
		}
		ps->dec[ps->nr_dec++] = (uint16_t)v;
	}
	if (!any)
		return perr(
			ps, kw->col + (unsigned int)kw->n,
			"decisions: expected at least one decision (a number 0..%u)",
			UINT16_MAX);
	return true;
}

static bool parse_magic(struct parser *ps)
{
	struct tok t, v, extra;
	char b[160];

	next_tok(ps, &t); /* the caller saw one */
	if (!tok_is(&t, MMT_TRACE_TEXT_MAGIC)) {
		if (near_magic(t.s, t.n))
			return perr(
				ps, t.col,
				"'%s' is not the magic word '%s': a text trace starts with '%s %d' (after blank lines and comments)",
				q(&t, b, sizeof(b)), MMT_TRACE_TEXT_MAGIC,
				MMT_TRACE_TEXT_MAGIC, MMT_TRACE_VERSION);
		return perr(
			ps, t.col,
			"expected '%s %d' as the first line, found '%s': a text trace starts with it (after blank lines and comments)",
			MMT_TRACE_TEXT_MAGIC, MMT_TRACE_VERSION,
			q(&t, b, sizeof(b)));
	}
	if (!next_tok(ps, &v))
		return perr(ps, t.col + (unsigned int)t.n,
			    "expected the version after '%s'",
			    MMT_TRACE_TEXT_MAGIC);
	if (!tok_is(&v, "1"))
		return perr(
			ps, v.col,
			"unsupported trace version '%s' (this build reads %d)",
			q(&v, b, sizeof(b)), MMT_TRACE_VERSION);
	if (next_tok(ps, &extra))
		return perr(ps, extra.col, "unexpected '%s' after the version",
			    q(&extra, b, sizeof(b)));
	return true;
}

/* The UTF-8 byte order mark some editors put first: not part of line 1. */
static size_t bom_len(const void *data, size_t len)
{
	const uint8_t *d = data;

	return len >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf ? 3 : 0;
}

bool mmt_trace_parse(const char *text, size_t len, const char *name,
		     struct mmt_program *out, char *err, size_t errlen)
{
	struct parser ps;
	const char *p = text + bom_len(text, len), *end = text + len;
	bool ok = true, have_magic = false;
	unsigned int k;

	memset(&ps, 0, sizeof(ps));
	ps.name = name ? name : "<trace>";
	ps.err = err;
	ps.errlen = errlen;
	ps.out = out;
	mmt_program_init(out);
	if (err && errlen)
		err[0] = '\0';

	while (ok && p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash;
		struct tok t;

		ps.line++;
		ps.ls = p;
		hash = memchr(p, '#', (size_t)(le - p));
		ps.le = hash ? hash : le;
		ps.cur = p;
		if (!have_magic) {
			/* Blank lines and comments may come first. */
			if (next_tok(&ps, &t)) {
				ps.cur = p;
				ok = parse_magic(&ps);
				have_magic = true;
			}
		} else if (next_tok(&ps, &t)) {
			bool header = tok_is(&t, "machine") ||
				      tok_is(&t, "bugs");

			if (header &&
			    (ps.have_state || ps.out->nr_ops || ps.dec_line))
				ok = perr(
					&ps, t.col,
					"'%.*s' belongs to the header, before the first operation",
					(int)t.n, t.s);
			else if (tok_is(&t, "machine"))
				ok = parse_machine(&ps, &t);
			else if (tok_is(&t, "bugs"))
				ok = parse_bugs(&ps, &t);
			else if (tok_is(&t, "decisions"))
				ok = parse_decisions(&ps, &t);
			else if (ps.dec_line)
				ok = perr(
					&ps, t.col,
					"an operation after the schedule's decisions (line %u): the decisions come after every operation",
					ps.dec_line);
			else
				ok = parse_op(&ps, &t);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (ok && !have_magic) {
		ps.line = 1;
		ok = perr(
			&ps, 1,
			len ? "no '%s %d' line: the file holds only blank lines and comments" :
			      "empty file: a text trace starts with '%s %d'",
			MMT_TRACE_TEXT_MAGIC, MMT_TRACE_VERSION);
	}

	if (ok && ps.nr_dec) {
		out->sched.decisions = ps.dec;
		out->sched.nr_decisions = ps.nr_dec;
		ps.dec = NULL;
	}
	free(ps.dec);
	if (ps.have_state)
		_mmt_trace_state_free(&ps.st);
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++) {
		free(ps.names[k].num);
		free(ps.names[k].def_line);
		free(ps.names[k].end_line);
	}
	if (!ok)
		mmt_program_free(out);
	return ok;
}

/* ---- text or binary ---- */

static bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/*
 * The first word that is not white space or a comment (after a byte order
 * mark); false if there is none.
 */
static bool first_word(const uint8_t *d, size_t len, const char **w, size_t *n)
{
	size_t i = bom_len(d, len), j;

	for (;;) {
		while (i < len && is_blank(d[i]))
			i++;
		if (i == len)
			return false;
		if (d[i] != '#')
			break;
		while (i < len && d[i] != '\n')
			i++;
	}
	for (j = i; j < len && !is_blank(d[j]) && d[j] != '#'; j++)
		;
	*w = (const char *)d + i;
	*n = j - i;
	return true;
}

/*
 * Printable UTF-8 (white space allowed, other control bytes not) with a
 * line break: what editors write and fuzzers rarely do.  @whole: @d is
 * the whole input (else a sequence cut at the end is fine).
 */
static bool looks_like_text(const uint8_t *d, size_t n, bool whole)
{
	bool nl = false;
	size_t i = 0;

	while (i < n) {
		uint8_t c = d[i];
		size_t more, k;

		if (c < 0x80) {
			if (c == '\n')
				nl = true;
			else if ((c < 0x20 && !is_blank(c)) || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else
			return false;
		for (k = 1; k <= more; k++) {
			if (i + k >= n)
				return !whole && nl;
			if ((d[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += more + 1;
	}
	return nl;
}

static bool has_magic(const void *data, size_t len)
{
	const size_t m = sizeof(MMT_TRACE_TEXT_MAGIC) - 1;
	const char *w;
	size_t n;

	return first_word(data, len, &w, &n) && n == m &&
	       !memcmp(w, MMT_TRACE_TEXT_MAGIC, m);
}

enum mmt_trace_form mmt_trace_classify(const void *data, size_t len)
{
	const char *w;
	size_t n;

	if (has_magic(data, len))
		return MMT_TRACE_FORM_TEXT;
	if (bom_len(data, len))
		return MMT_TRACE_FORM_TEXTLIKE;
	if (first_word(data, len, &w, &n) && near_magic(w, n))
		return MMT_TRACE_FORM_TEXTLIKE;
	if (looks_like_text(data, len < MMT_TRACE_SNIFF ? len : MMT_TRACE_SNIFF,
			    len <= MMT_TRACE_SNIFF))
		return MMT_TRACE_FORM_TEXTLIKE;
	return MMT_TRACE_FORM_BINARY;
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

enum mmt_trace_name mmt_trace_name_kind(const char *path)
{
	static const char *const engine_prefixes[] = {
		"crash-",     "leak-",		 "timeout-", "oom-",
		"slow-unit-", "minimized-from-", "id:",	     "id_",
	};
	const char *base = strrchr(path, '/');
	size_t n, i;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 6 && !strcmp(base + n - 6, ".trace"))
		return MMT_TRACE_NAME_TEXT;
	if (n > 4 && !strcmp(base + n - 4, ".bin"))
		return MMT_TRACE_NAME_FUZZ;
	if (n == 40 && all_hex(base, n))
		return MMT_TRACE_NAME_FUZZ;
	for (i = 0; i < sizeof(engine_prefixes) / sizeof(engine_prefixes[0]);
	     i++)
		if (!strncmp(base, engine_prefixes[i],
			     strlen(engine_prefixes[i])))
			return MMT_TRACE_NAME_FUZZ;
	return MMT_TRACE_NAME_OTHER;
}

bool mmt_trace_read(const char *name, const void *data, size_t len,
		    mmt_opset_t opset, struct mmt_program *out,
		    enum mmt_trace_form *form, char *err, size_t errlen)
{
	enum mmt_trace_name kind = name ? mmt_trace_name_kind(name) :
					  MMT_TRACE_NAME_FUZZ;
	enum mmt_trace_form f = MMT_TRACE_FORM_BINARY;
	bool ok = true;

	if (err && errlen)
		err[0] = '\0';
	if (kind == MMT_TRACE_NAME_FUZZ) {
		/*
		 * Total: text that does not parse - what mutation makes of
		 * most text - is decoded as binary, like any byte string.
		 */
		if (has_magic(data, len) &&
		    mmt_trace_parse(data, len, name, out, NULL, 0))
			f = MMT_TRACE_FORM_TEXT;
		else
			mmt_trace_decode_set(data, len, opset, out);
	} else if (kind == MMT_TRACE_NAME_TEXT ||
		   mmt_trace_classify(data, len) != MMT_TRACE_FORM_BINARY) {
		f = MMT_TRACE_FORM_TEXT;
		if (kind == MMT_TRACE_NAME_TEXT && len &&
		    mmt_trace_classify(data, len) == MMT_TRACE_FORM_BINARY) {
			/* Say why rather than quote binary bytes as a word. */
			mmt_program_init(out);
			snprintf(
				err, errlen,
				"%s:1:1: not text (binary bytes): a .trace file is a text trace starting with '%s %d'",
				name, MMT_TRACE_TEXT_MAGIC, MMT_TRACE_VERSION);
			ok = false;
		} else {
			ok = mmt_trace_parse(data, len, name, out, err, errlen);
		}
	} else {
		mmt_trace_decode_set(data, len, opset, out);
	}
	if (form)
		*form = f;
	return ok;
}

/* ---- files ---- */

bool mmt_trace_load(const char *path, struct mmt_program *out, char *err,
		    size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *n;
	FILE *f = fopen(path, "rb");
	bool ok = true;

	mmt_program_init(out);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	for (;;) {
		size_t r;

		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			n = realloc(buf, cap);
			if (!n) {
				snprintf(err, errlen, "%s: out of memory",
					 path);
				ok = false;
				break;
			}
			buf = n;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: %s", path,
					 strerror(errno));
				ok = false;
			}
			break;
		}
	}
	fclose(f);
	if (ok)
		ok = mmt_trace_read(path, buf, len, 0, out, NULL, err, errlen);
	free(buf);
	return ok;
}
