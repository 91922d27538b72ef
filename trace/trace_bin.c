/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_bin.c - the binary form of the operation language, for
 * fuzzers: total decoding (every byte string is a valid program) and the
 * encoding that decodes back to the same program.
 *
 * Layout: a 4-byte machine header, then operations back to back, each an
 * opcode byte (taken modulo MMT_NR_OPCODES) followed by its arguments in
 * the table's order, sized by type (mmt/trace.h, enum mmt_arg_type):
 *
 * Over a target's operation set (mmt_trace_decode_set()), the opcode byte
 * indexes the set's operations in opcode order instead.
 *
 *   header b0: nr_cpus = 1 + b0 % 4; with one cpu, bit 2 a uniprocessor
 *              build (smp=off)
 *          b1: bit 0 two nodes, bit 1 SLAB, else bit 6 sheaves, else
 *              SLUB, bit 2 rt_rules, bit 3 kvfree_rcu_fast_try (always on
 *              with rt_rules), bits 4-5 mempool policy % 3, if allowed
 *              (mmt_trace_bin_set_mempool_policies), else no-reclaim,
 *              bit 7 the 2016 throttle (vm-writeout) if kernel-2016 is
 *              allowed or a bug of seed 001 is on
 *              (mmt_trace_bin_set_bugs), else the v5.16+ one (reclaim)
 *          b2: normal_pages = 256 << (b2 % 4) per node (dma32 is 64)
 *          b3: oracle_level = b3 % 3          (no bugs: targets take MMT_BUGS)
 *   handle 1 byte, an index into the live handles of its kind in serial
 *          order, modulo their number;  cpu, node, order, flags, enum 1 byte,
 *          modulo their range;  count 1 byte, 1 + b % 64;  size 2 bytes LE,
 *          1 + v % MMT_TRACE_MAX_SIZE;  gfp 4 bytes LE, canonicalised.
 *
 * Decoding (the algorithm): bytes past the end read as zero, so a cut
 * operation still decodes; an operation's size depends on its opcode alone,
 * so whatever is decided about it, its bytes are consumed and the next
 * operation starts at the same place.  An operation that needs a handle of
 * a kind with none live, or that the static state forbids at this point
 * (trace_state.c, binary rules), is skipped.  At most MMT_TRACE_MAX_OPS
 * operations are kept.  Decoding is therefore a canonicaliser: the
 * program it yields is one the strict rules accept, and decode(encode(P))
 * == P for every decoded P.
 *
 * Encoding keeps the decoder's state as it goes and runs the decoder's own
 * step on every operation it writes, so both see the same live handles: a
 * handle is written as its index among the live ones (0 if it is not
 * live; indices above 255 cannot be written, which no decoded program
 * needs), numbers as the bytes that decode to them.  A program the binary
 * rules refuse (text may be laxer) encodes to its canonical neighbour.
 *
 * Concurrent layout (MMT_TRACE_SET_MT in the set: the -mt targets).  After
 * the machine header, 8 schedule bytes: b4 source % 5, b5 PCT depth
 * 1 + b5 % 8, b6..b9 seed, b10..b11 PCT steps (LE).  The operations follow;
 * the input's end holds the decisions backwards (decision 0 nearest the
 * end) and, last, their count: one byte c < 255, or 255 after a 16-bit
 * little-endian count.  The count and the decisions are
 * clamped to what follows the headers (tail_split()), so every byte string
 * still decodes, and edits of the operations never shift a decision.
 * Without the flag the layout is the one above, over MMT_TRACE_OPS_SEQ: the
 * single-CPU targets decode their corpora as they always did
 * (tests/data/trace-decode-golden.txt).
 *
 * Cost: O(1) per operation but for ending a handle (trace_state.c); memory
 * grows by doubling (the program's operations, each kind's handles).
 */
#include <string.h>

#include "mmt/check.h"
#include "mmt/mempool.h"
#include "trace_internal.h"

static inline uint8_t byte_at(const uint8_t *d, size_t len, size_t pos)
{
	return pos < len ? d[pos] : 0;
}

/*
 * A target's operations: the opcode byte indexes them in opcode order, so
 * a layer's target spends no byte value on operations it cannot use.
 */
struct opset {
	uint8_t code[MMT_NR_OPCODES]; /* index -> opcode */
	int8_t index[MMT_NR_OPCODES]; /* opcode -> index, -1 outside */
	unsigned int nr;
};

static void opset_init(struct opset *s, mmt_opset_t bits)
{
	/* Kernel threads exist in concurrent programs only. */
	mmt_opset_t all = (bits & MMT_TRACE_SET_MT) ? MMT_TRACE_OPS_ALL :
						   MMT_TRACE_OPS_SEQ;
	unsigned int c;

	bits &= all;
	if (!bits)
		bits = all; /* 0 (or no known opcode): all */
	s->nr = 0;
	for (c = 0; c < MMT_NR_OPCODES; c++) {
		s->index[c] = -1;
		if ((bits >> c) & 1) {
			s->index[c] = (int8_t)s->nr;
			s->code[s->nr++] = (uint8_t)c;
		}
	}
}

/* ---- header ---- */

#define POLICY_BIT(p) (1u << (p))
#define POLICIES_DEFAULT                      \
	(POLICY_BIT(MMT_MEMPOOL_NO_RECLAIM) | \
	 POLICY_BIT(MMT_MEMPOOL_POOL_FIRST))
#define POLICIES_ALL (POLICY_BIT(MMT_NR_MEMPOOL_POLICIES) - 1)

/* Set once at start-up, before any decoding thread: plain int. */
static unsigned int policies_allowed = POLICIES_DEFAULT;

bool mmt_trace_bin_set_mempool_policies(const char *list, char *err,
					size_t errlen)
{
	unsigned int mask = 0;
	char buf[128], *tok, *save = NULL;

	if (!list || !*list) {
		policies_allowed = POLICIES_DEFAULT;
		return true;
	}
	if (strlen(list) >= sizeof(buf)) {
		snprintf(err, errlen, "'%.40s...': too long", list);
		return false;
	}
	memcpy(buf, list, strlen(list) + 1);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		enum mmt_mempool_policy p;

		if (!strcmp(tok, "all")) {
			mask |= POLICIES_ALL;
		} else if (mmt_mempool_policy_parse(tok, &p)) {
			mask |= POLICY_BIT(p);
		} else {
			snprintf(
				err, errlen,
				"'%s' is no mempool policy (kernel-2016, no-reclaim, pool-first or all)",
				tok);
			return false;
		}
	}
	if (!mask) {
		snprintf(err, errlen, "'%s' names no mempool policy", list);
		return false;
	}
	policies_allowed = mask;
	return true;
}

unsigned int mmt_trace_bin_mempool_policies(void)
{
	return policies_allowed;
}

/* Set with the policies, before any decoding thread: plain bool. */
static bool throttle_2016_for_bugs;

void mmt_trace_bin_set_bugs(uint64_t bugs)
{
	const struct mmt_bug_info *b;
	size_t nr, i;

	/*
	 * The bugs of seed 001 (the bug table's seed field): their harm is a
	 * wait of the 2016 throttle.
	 */
	throttle_2016_for_bugs = false;
	for (b = mmt_bugs(&nr), i = 0; i < nr; i++)
		if ((bugs & (1ull << b[i].bug)) && !strcmp(b[i].seed, "001"))
			throttle_2016_for_bugs = true;
}

static bool throttle_2016_allowed(void)
{
	return (policies_allowed & POLICY_BIT(MMT_MEMPOOL_KERNEL_2016)) ||
	       throttle_2016_for_bugs;
}

void _mmt_trace_header_decode(const uint8_t *data, size_t len,
			      struct mmt_trace_header *h)
{
	uint8_t b0 = byte_at(data, len, 0), b1 = byte_at(data, len, 1);
	uint8_t b2 = byte_at(data, len, 2), b3 = byte_at(data, len, 3);

	mmt_trace_header_default(h);
	h->nr_cpus = 1 + b0 % 4;
	h->up = h->nr_cpus == 1 && (b0 & 4);
	h->nr_nodes = (b1 & 1) ? 2 : 1;
	h->slab = (b1 & 2)  ? MMT_SLAB_SLAB :
		  (b1 & 64) ? MMT_SLAB_SHEAVES :
			      MMT_SLAB_SLUB;
	h->rt_rules = b1 & 4;
	/*
	 * Under RT rules kvfree_rcu's blocks come with __GFP_FAST_TRY: a
	 * GFP_NOWAIT block under the raw krcp lock is seed 002's problem
	 * itself (an invalid wait context by configuration, not a model
	 * bug), so only text traces can ask for it.
	 */
	h->kvfree_rcu_fast_try = (b1 & 8) || (b1 & 4);
	h->mempool = (enum mmt_mempool_policy)(((b1 >> 4) & 3) % 3);
	/*
	 * Not allowed: the default policy, so the input still runs (the
	 * encoder writes what the program names; see the header comment).
	 */
	if (!(policies_allowed & POLICY_BIT(h->mempool)))
		h->mempool = MMT_MEMPOOL_NO_RECLAIM;
	/*
	 * The 2016 throttle (throttle_vm_writeout) is the other half of the
	 * 2016 world and comes with its mempool policy: without it the
	 * reclaimers of today's kernel run, whose waits are bounded.
	 */
	h->throttle = (b1 & 128) && throttle_2016_allowed() ?
			      MMT_THROTTLE_VM_WRITEOUT :
			      MMT_THROTTLE_RECLAIM;
	h->normal_pages = 256ul << (b2 % 4);
	h->dma32_pages = 64;
	h->oracle_level = b3 % 3;
	h->bugs = 0;
}

void _mmt_trace_header_encode(const struct mmt_trace_header *h,
			      uint8_t out[_MMT_TRACE_BIN_HEADER])
{
	int cpus = h->nr_cpus < 1 ? 1 : h->nr_cpus > 4 ? 4 : h->nr_cpus;
	unsigned int k = 0;

	/* The largest size the binary form has that is not above normal. */
	while (k < 3 && (256ul << (k + 1)) <= h->normal_pages)
		k++;
	out[0] = (uint8_t)((cpus - 1) | (h->up && cpus == 1 ? 4 : 0));
	out[1] = (uint8_t)((h->nr_nodes >= 2 ? 1 : 0) |
			   (h->slab == MMT_SLAB_SLAB ? 2 : 0) |
			   (h->slab == MMT_SLAB_SHEAVES ? 64 : 0) |
			   (h->throttle == MMT_THROTTLE_VM_WRITEOUT ? 128 : 0) |
			   (h->rt_rules ? 4 : 0) |
			   (h->kvfree_rcu_fast_try ? 8 : 0) |
			   (((unsigned int)h->mempool % 3) << 4));
	out[2] = (uint8_t)k;
	out[3] = (uint8_t)(h->oracle_level < 0 ? 0 :
			   h->oracle_level > 2 ? 2 :
						 h->oracle_level);
}

/* ---- one operation ---- */

/*
 * Read the operation at *pos (moving *pos past all of its bytes) into @op:
 * handles resolved to serials, arguments canonicalised.  True if it is to
 * be kept; false if it is skipped.
 */
static bool read_op(const struct _mmt_trace_state *st, const struct opset *set,
		    const uint8_t *d, size_t len, size_t *pos,
		    struct mmt_op *op)
{
	const struct mmt_op_info *info;
	bool keep = true;
	size_t p = *pos;
	int i;

	memset(op, 0, sizeof(*op));
	op->code = set->code[byte_at(d, len, p++) % set->nr];
	info = mmt_op_info(op->code);
	for (i = 0; i < info->nargs; i++) {
		const struct mmt_arg_info *a = &info->args[i];
		const struct _mmt_trace_handles *h;
		uint32_t v;

		switch (a->type) {
		case MMT_ARG_HANDLE:
			h = &st->h[a->kind];
			v = byte_at(d, len, p++);
			if (h->nr_live)
				op->arg[i] = h->live[v % h->nr_live];
			else
				keep = false; /* still consume the rest */
			break;
		case MMT_ARG_GFP:
			v = (uint32_t)byte_at(d, len, p) |
			    (uint32_t)byte_at(d, len, p + 1) << 8 |
			    (uint32_t)byte_at(d, len, p + 2) << 16 |
			    (uint32_t)byte_at(d, len, p + 3) << 24;
			p += 4;
			op->arg[i] = v;
			break;
		case MMT_ARG_SIZE:
			v = (uint32_t)byte_at(d, len, p) |
			    (uint32_t)byte_at(d, len, p + 1) << 8;
			p += 2;
			op->arg[i] = 1 + v % MMT_TRACE_MAX_SIZE;
			break;
		case MMT_ARG_COUNT:
			op->arg[i] = 1 + byte_at(d, len, p++) % 64u;
			break;
		default:
			/* cpu, node, order, flags, enum: canon takes modulo */
			op->arg[i] = byte_at(d, len, p++);
			break;
		}
	}
	*pos = p;
	if (!keep)
		return false;
	_mmt_trace_canon_op(st, op);
	return _mmt_trace_state_check(st, op, NULL);
}

/* ---- decoding ---- */

void mmt_trace_decode(const uint8_t *data, size_t len, struct mmt_program *out)
{
	mmt_trace_decode_set(data, len, 0, out);
}

/* ---- the concurrent layout: schedule header and decision tail ---- */

static void sched_decode(const uint8_t *data, size_t len,
			 struct mmt_trace_schedule *s)
{
	size_t o = _MMT_TRACE_BIN_HEADER;

	memset(s, 0, sizeof(*s));
	s->source = byte_at(data, len, o) % MMT_NR_SCHED_SOURCES;
	s->pct_depth = (uint8_t)(1 + byte_at(data, len, o + 1) %
					     MMT_TRACE_PCT_MAX_DEPTH);
	s->seed = (uint32_t)byte_at(data, len, o + 2) |
		  (uint32_t)byte_at(data, len, o + 3) << 8 |
		  (uint32_t)byte_at(data, len, o + 4) << 16 |
		  (uint32_t)byte_at(data, len, o + 5) << 24;
	s->pct_steps = (uint16_t)(byte_at(data, len, o + 6) |
				  byte_at(data, len, o + 7) << 8);
	_mmt_trace_sched_canon(s);
}

static void sched_encode(const struct mmt_trace_schedule *s,
			 uint8_t out[_MMT_TRACE_BIN_SCHED])
{
	struct mmt_trace_schedule c = *s;

	c.decisions = NULL; /* canon would free them: not ours */
	c.nr_decisions = 0;
	_mmt_trace_sched_canon(&c);
	out[0] = c.source;
	out[1] = (uint8_t)(c.pct_depth ? c.pct_depth - 1 : 0);
	out[2] = (uint8_t)c.seed;
	out[3] = (uint8_t)(c.seed >> 8);
	out[4] = (uint8_t)(c.seed >> 16);
	out[5] = (uint8_t)(c.seed >> 24);
	out[6] = (uint8_t)c.pct_steps;
	out[7] = (uint8_t)(c.pct_steps >> 8);
}

/*
 * Where the operations end in a concurrent input of @len bytes, and where
 * its decisions are: the count is the last byte c (c < 255: c decisions)
 * or, when c is 255, the 16-bit little-endian number in the two bytes
 * before it; the decisions are the bytes before the count, the first one
 * nearest to it.  The long form is one byte value in 256, so a random or
 * mutated last byte rarely turns a whole input into decisions.  Nothing
 * ever reaches into the headers: the count's bytes and the decisions are
 * clamped to what follows them (a 255 with fewer than two bytes before it
 * counts none).  Total: any @len has one answer.
 */
static void tail_split(const uint8_t *data, size_t len, size_t *ops_end,
		       size_t *nr_decisions)
{
	size_t body = _MMT_TRACE_BIN_HEADER + _MMT_TRACE_BIN_SCHED, room, n;
	size_t count_at;

	*ops_end = body;
	*nr_decisions = 0;
	if (len <= body)
		return;
	count_at = len - 1;
	n = data[count_at];
	if (n == 0xff) {
		if (count_at >= body + 2) {
			count_at -= 2;
			n = (size_t)data[count_at] | (size_t)data[count_at + 1]
							     << 8;
		} else {
			count_at = body;
			n = 0;
		}
	}
	room = count_at - body;
	if (n > room)
		n = room;
	*nr_decisions = n;
	*ops_end = count_at - n;
}

static void decisions_decode(const uint8_t *data, size_t ops_end, size_t n,
			     struct mmt_program *out)
{
	size_t i;

	if (!n || out->sched.source == MMT_SCHED_SEQ)
		return; /* SEQ has no decision points: the bytes mean nothing */
	out->sched.decisions = malloc(n * sizeof(out->sched.decisions[0]));
	if (!out->sched.decisions)
		return; /* no memory: no decisions, still valid */
	for (i = 0; i < n; i++)
		out->sched.decisions[i] = data[ops_end + n - 1 - i];
	out->sched.nr_decisions = (uint32_t)n;
}

void mmt_trace_decode_set(const uint8_t *data, size_t len, mmt_opset_t opset,
			  struct mmt_program *out)
{
	struct _mmt_trace_state st;
	struct opset set;
	struct mmt_op op;
	size_t pos = _MMT_TRACE_BIN_HEADER, end = len, nr_dec = 0;

	opset_init(&set, opset);
	mmt_program_init(out);
	_mmt_trace_header_decode(data, len, &out->hdr);
	if (opset & MMT_TRACE_SET_MT) {
		sched_decode(data, len, &out->sched);
		pos += _MMT_TRACE_BIN_SCHED;
		tail_split(data, len, &end, &nr_dec);
		decisions_decode(data, end, nr_dec, out);
	}
	if (!_mmt_trace_state_init(&st, &out->hdr, false))
		return; /* no memory: the empty program, still valid */
	st.mt = (opset & MMT_TRACE_SET_MT) != 0;
	while (pos < end && out->nr_ops < MMT_TRACE_MAX_OPS) {
		if (!read_op(&st, &set, data, end, &pos, &op))
			continue;
		/* No memory: cut here, what is kept is a valid prefix. */
		if (!_mmt_trace_state_apply(&st, &op))
			break;
		if (!mmt_program_append(out, &op))
			break;
	}
	_mmt_trace_state_free(&st);
}

/* ---- encoding ---- */

/* The bytes of @op in state @st (before it); returns their number. */
static size_t write_op(const struct _mmt_trace_state *st,
		       const struct opset *set, const struct mmt_op *op,
		       uint8_t *b)
{
	const struct mmt_op_info *info = mmt_op_info(op->code);
	uint32_t idx;
	size_t n = 0;
	int i;

	if (!info || set->index[op->code] < 0)
		return 0; /* nothing the decoder could read back: dropped */
	b[n++] = (uint8_t)set->index[op->code];
	for (i = 0; i < info->nargs; i++) {
		const struct mmt_arg_info *a = &info->args[i];
		uint32_t v = op->arg[i];

		switch (a->type) {
		case MMT_ARG_HANDLE:
			if (!_mmt_trace_live_index(st, a->kind, v, &idx))
				idx = 0;
			b[n++] = (uint8_t)idx;
			break;
		case MMT_ARG_GFP:
			b[n++] = (uint8_t)v;
			b[n++] = (uint8_t)(v >> 8);
			b[n++] = (uint8_t)(v >> 16);
			b[n++] = (uint8_t)(v >> 24);
			break;
		case MMT_ARG_SIZE:
			v = v - 1; /* 0 wraps to 0xffff: decodes in range */
			b[n++] = (uint8_t)v;
			b[n++] = (uint8_t)(v >> 8);
			break;
		case MMT_ARG_COUNT:
			b[n++] = (uint8_t)(v - 1);
			break;
		default:
			b[n++] = (uint8_t)v;
			break;
		}
	}
	return n;
}

/*
 * The decisions backwards, then their count (tail_split()), from @need on;
 * returns the new size.  Under SEQ none: a lone zero count.  A decision
 * above 255 keeps its low byte (the binary form's fibers are fewer).
 */
static size_t decisions_encode(const struct mmt_program *p, uint8_t *out,
			       size_t cap, size_t need)
{
	size_t i, n = p->sched.source == MMT_SCHED_SEQ ||
				      p->sched.source >= MMT_NR_SCHED_SOURCES ?
			      0 :
			      p->sched.nr_decisions;
	uint8_t tail[3];
	size_t nt;

	if (n > MMT_TRACE_MAX_DECISIONS)
		n = MMT_TRACE_MAX_DECISIONS;
	for (i = n; i-- > 0; need++)
		if (out && need < cap)
			out[need] = (uint8_t)p->sched.decisions[i];
	if (n < 0xff) {
		tail[0] = (uint8_t)n;
		nt = 1;
	} else {
		tail[0] = (uint8_t)n;
		tail[1] = (uint8_t)(n >> 8);
		tail[2] = 0xff;
		nt = 3;
	}
	for (i = 0; i < nt; i++, need++)
		if (out && need < cap)
			out[need] = tail[i];
	return need;
}

size_t mmt_trace_encode(const struct mmt_program *p, uint8_t *out, size_t cap)
{
	return mmt_trace_encode_set(p, 0, out, cap);
}

size_t mmt_trace_encode_set(const struct mmt_program *p, mmt_opset_t opset,
			    uint8_t *out, size_t cap)
{
	/* The largest operation: opcode + 4 GFP masks. */
	uint8_t b[1 + MMT_TRACE_MAX_ARGS * 4];
	struct mmt_trace_header dh;
	struct _mmt_trace_state st;
	struct opset set;
	bool have_state;
	size_t i, n, k, need = 0;

	opset_init(&set, opset);
	_mmt_trace_header_encode(&p->hdr, b);
	if (out)
		memcpy(out, b,
		       cap < _MMT_TRACE_BIN_HEADER ? cap :
						     _MMT_TRACE_BIN_HEADER);
	need = _MMT_TRACE_BIN_HEADER;
	if (opset & MMT_TRACE_SET_MT) {
		uint8_t sb[_MMT_TRACE_BIN_SCHED];

		sched_encode(&p->sched, sb);
		for (k = 0; k < _MMT_TRACE_BIN_SCHED; k++, need++)
			if (out && need < cap)
				out[need] = sb[k];
	}
	/* The state the decoder will have: from the header it will read. */
	_mmt_trace_header_decode(b, _MMT_TRACE_BIN_HEADER, &dh);
	have_state = _mmt_trace_state_init(&st, &dh, false);
	st.mt = (opset & MMT_TRACE_SET_MT) != 0;

	for (i = 0; i < p->nr_ops; i++) {
		struct mmt_op op;
		size_t pos = 0;

		/* A deliberate misuse is text only: no binary form. */
		if (p->ops[i].misuse)
			continue;
		if (have_state) {
			n = write_op(&st, &set, &p->ops[i], b);
		} else {
			/* No memory for a state: handles as index 0. */
			struct _mmt_trace_state empty;

			memset(&empty, 0, sizeof(empty));
			empty.hdr = dh;
			n = write_op(&empty, &set, &p->ops[i], b);
		}
		for (k = 0; k < n; k++, need++)
			if (out && need < cap)
				out[need] = b[k];
		/* Step the decoder's state over the very same bytes. */
		if (have_state && n && read_op(&st, &set, b, n, &pos, &op) &&
		    !_mmt_trace_state_apply(&st, &op)) {
			_mmt_trace_state_free(&st);
			have_state = false;
		}
	}
	if (have_state)
		_mmt_trace_state_free(&st);
	if (opset & MMT_TRACE_SET_MT)
		need = decisions_encode(p, out, cap, need);
	return need;
}
