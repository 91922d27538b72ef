/* SPDX-License-Identifier: MIT */
/*
 * tools/minimize.c - structural minimization of a finding's trace
 * (tools/minimize.h says what each pass does and why).
 *
 * Invariant: m->cur always holds a program that parsed from its own
 * canonical text and reported the wanted signature in every required run;
 * every pass builds candidates from it and replaces it only through
 * try_cand(), which checks both.  Passes therefore compose in any order
 * and the budget can stop them anywhere: what is returned is the last
 * accepted program.
 *
 * Handle renumbering (build_subset()): operations are walked in order
 * with each kind's original serial counter; a kept creator gets the next
 * new serial, a dropped one maps to "gone", and an operation with a gone
 * handle argument is dropped too, transitively by construction since the
 * walk is in creation order.
 */
#define _GNU_SOURCE
#include "minimize.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mmt/check.h"
#include "mmt/gfp.h"

#define GONE UINT32_MAX

struct mctx {
	const struct mmt_minimize_opts *o;
	struct mmt_minimize_stats *st;
	struct mmt_program cur;
	bool concurrent;
	unsigned int repeats;
	double t0;
	bool stop;
	/* the executed schedule of the last accepted run (concurrent) */
	uint16_t *exec_dec;
	size_t nr_exec_dec;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mmt_minimize_opts_default(struct mmt_minimize_opts *o)
{
	memset(o, 0, sizeof(*o));
	mmt_exec_opts_default(&o->exec);
	o->repeats = 3;
	o->max_seconds = 300;
}

static bool is_concurrent(const struct mmt_program *p)
{
	size_t i;

	if (p->sched.source != MMT_SCHED_SEQ || p->sched.nr_decisions)
		return true;
	for (i = 0; i < p->nr_ops; i++)
		if (p->ops[i].code == MMT_OP_KTHREAD_START ||
		    p->ops[i].code == MMT_OP_INTERRUPT)
			return true;
	return false;
}

/* A copy of @src's header and schedule, no operations. */
static bool prog_shell(struct mmt_program *dst, const struct mmt_program *src)
{
	mmt_program_init(dst);
	dst->hdr = src->hdr;
	dst->sched = src->sched;
	dst->sched.decisions = NULL;
	dst->sched.nr_decisions = 0;
	return mmt_program_set_decisions(dst, src->sched.decisions,
					 src->sched.nr_decisions);
}

static bool prog_copy(struct mmt_program *dst, const struct mmt_program *src)
{
	size_t i;

	if (!prog_shell(dst, src))
		return false;
	for (i = 0; i < src->nr_ops; i++)
		if (!mmt_program_append(dst, &src->ops[i])) {
			mmt_program_free(dst);
			return false;
		}
	return true;
}

/*
 * The operations of @p with keep[i] set, handles renumbered; an operation
 * whose handle's creator is dropped is dropped with it.
 */
static bool build_subset(struct mmt_program *dst, const struct mmt_program *p,
			 const bool *keep)
{
	uint32_t old_ctr[MMT_NR_HANDLE_KINDS] = { 0 };
	uint32_t new_ctr[MMT_NR_HANDLE_KINDS] = { 0 };
	uint32_t *map[MMT_NR_HANDLE_KINDS] = { NULL };
	bool ok = prog_shell(dst, p);
	size_t i, k;

	for (k = 0; ok && k < MMT_NR_HANDLE_KINDS; k++) {
		map[k] = malloc((p->nr_handles[k] + 1) * sizeof(uint32_t));
		ok = map[k] != NULL;
	}
	for (i = 0; ok && i < p->nr_ops; i++) {
		const struct mmt_op_info *info = mmt_op_info(p->ops[i].code);
		struct mmt_op op = p->ops[i];
		bool k_op = keep[i];
		unsigned int a;

		for (a = 0; k_op && info && a < info->nargs; a++) {
			const struct mmt_arg_info *ai = &info->args[a];

			if (ai->type != MMT_ARG_HANDLE)
				continue;
			if (op.arg[a] >= p->nr_handles[ai->kind] ||
			    map[ai->kind][op.arg[a]] == GONE)
				k_op = false;
			else
				op.arg[a] = map[ai->kind][op.arg[a]];
		}
		if (info && info->result) {
			map[info->result][old_ctr[info->result]++] =
				k_op ? new_ctr[info->result]++ : GONE;
		}
		if (k_op)
			ok = mmt_program_append(dst, &op);
	}
	for (k = 0; k < MMT_NR_HANDLE_KINDS; k++)
		free(map[k]);
	if (!ok)
		mmt_program_free(dst);
	return ok;
}

static char *print_mem(const struct mmt_program *p, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	mmt_trace_print(p, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

static bool same_dec(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
	return na == nb && (!na || !memcmp(a, b, na * sizeof(*a)));
}

/*
 * One run of @p: mmt_trace_execute(), or with o->slab_all a differential
 * run over every slab implementation (mmt_exec_slab_diff()), whose
 * finding is the first implementation's own, else a divergence:
 * slab-divergence|slab|null-with-room as `replay --slab all` names it.
 */
static enum mmt_exec_result run_once(const struct mmt_minimize_opts *o,
				     const struct mmt_program *p,
				     struct mmt_finding *f)
{
	struct mmt_exec_opts eo = o->exec;
	struct mmt_slab_diff d;
	enum mmt_exec_result res;
	int s;

	eo.override_bugs = false;
	eo.log = NULL;
	if (!o->slab_all)
		return mmt_trace_execute(p, &eo, f);
	mmt_exec_slab_diff(p, &eo, NULL, &d);
	res = d.result;
	memset(f, 0, sizeof(*f));
	if (res == MMT_EXEC_FINDING) {
		for (s = 0; s < MMT_NR_SLAB_IMPLS; s++)
			if (d.res[s] == MMT_EXEC_FINDING)
				break;
		if (s < MMT_NR_SLAB_IMPLS) {
			*f = d.f[s];
			f->dump = NULL;
			f->decisions = NULL;
			f->nr_decisions = 0;
		} else {
			snprintf(f->oracle, sizeof(f->oracle),
				 "slab-divergence");
			snprintf(f->layer, sizeof(f->layer), "slab");
			snprintf(f->signature, sizeof(f->signature),
				 "slab-divergence|slab|null-with-room");
			snprintf(f->message, sizeof(f->message), "%s",
				 d.report ? d.report : "");
		}
	}
	mmt_slab_diff_free(&d);
	return res;
}

/*
 * Run @p @n times: true if every run reports @sig (when @sig is NULL:
 * the first run's signature, copied into @sig_out).  @f_out (may be NULL)
 * gets the first run's finding.
 */
static bool runs_reproduce(struct mctx *m, const struct mmt_program *p,
			   const char *sig, struct mmt_finding *f_out,
			   unsigned int *nr_ok)
{
	unsigned int n = is_concurrent(p) ? m->repeats : 1, i, ok = 0;
	bool all = true;

	for (i = 0; i < n; i++) {
		struct mmt_finding f;
		enum mmt_exec_result res;

		memset(&f, 0, sizeof(f));
		res = run_once(m->o, p, &f);
		m->st->runs++;
		if (res == MMT_EXEC_FINDING && !strcmp(f.signature, sig))
			ok++;
		else
			all = false;
		if (i == 0 && f_out)
			*f_out = f;
		else
			mmt_finding_free(&f);
		/* A failed first run decides: no need for the others. */
		if (!all && !nr_ok)
			break;
	}
	if (nr_ok)
		*nr_ok = ok;
	return all;
}

static bool over_budget(struct mctx *m)
{
	if (m->stop)
		return true;
	if ((m->o->max_seconds > 0 && now() - m->t0 > m->o->max_seconds) ||
	    (m->o->max_runs && m->st->runs >= m->o->max_runs)) {
		m->stop = true;
		m->st->budget_hit = true;
	}
	return m->stop;
}

/*
 * Try @cand (consumed): valid text that reproduces?  Then it becomes
 * m->cur (as parsed back from its text) and true.
 */
static bool try_cand(struct mctx *m, struct mmt_program *cand)
{
	struct mmt_program parsed;
	struct mmt_finding f;
	char err[256], *text;
	size_t len;
	bool ok;

	m->st->candidates++;
	if (over_budget(m)) {
		mmt_program_free(cand);
		return false;
	}
	text = print_mem(cand, &len);
	mmt_program_free(cand);
	if (!text)
		return false;
	mmt_program_init(&parsed);
	ok = mmt_trace_parse(text, len, "candidate", &parsed, err, sizeof(err));
	if (!ok && getenv("MMT_MINIMIZE_DEBUG"))
		fprintf(stderr, "minimize: candidate refused: %s\n%s", err,
			text);
	free(text);
	if (!ok) {
		mmt_program_free(&parsed);
		return false;
	}
	/*
	 * No change, by the text (mmt_program_equal() compares neither the
	 * throttle nor misuse marks).
	 */
	{
		char *a = print_mem(&parsed, NULL),
		     *b = print_mem(&m->cur, NULL);
		bool same = !a || !b || !strcmp(a, b);

		free(a);
		free(b);
		if (same) {
			mmt_program_free(&parsed);
			return false;
		}
	}
	memset(&f, 0, sizeof(f));
	if (!runs_reproduce(m, &parsed, m->st->signature, &f, NULL)) {
		if (getenv("MMT_MINIMIZE_DEBUG")) {
			fprintf(stderr, "minimize: candidate reports %s:\n",
				f.signature[0] ? f.signature : "no finding");
			mmt_trace_print(&parsed, stderr);
		}
		mmt_finding_free(&f);
		mmt_program_free(&parsed);
		return false;
	}
	mmt_program_free(&m->cur);
	m->cur = parsed;
	free(m->exec_dec);
	m->exec_dec = f.decisions;
	m->nr_exec_dec = f.nr_decisions;
	f.decisions = NULL;
	mmt_finding_free(&f);
	m->st->accepted++;
	return true;
}

/* ---- pass 1: operations ---- */

/*
 * ddmin over the operations whose indices are @idx[0..n) in m->cur (the
 * others always kept).  Candidates are complements of chunks; after a
 * success the index list is rebuilt from the surviving operations (handle
 * cascades may have dropped more than the chunk).
 */
static bool ddmin_ops(struct mctx *m, int cpu)
{
	bool progress = false;
	size_t gran = 2;

	for (;;) {
		size_t n = 0, i, c, nr = m->cur.nr_ops;
		size_t *idx = malloc((nr + 1) * sizeof(*idx));
		bool *keep = malloc(nr + 1), reduced = false;
		int cur_cpu = 0;

		if (!idx || !keep) {
			free(idx);
			free(keep);
			return progress;
		}
		for (i = 0; i < nr; i++) {
			const struct mmt_op *op = &m->cur.ops[i];

			if (op->code == MMT_OP_CPU)
				cur_cpu = (int)op->arg[0];
			if (cpu < 0 || cur_cpu == cpu)
				idx[n++] = i;
		}
		if (n < 1 || over_budget(m)) {
			free(idx);
			free(keep);
			return progress;
		}
		if (gran > n)
			gran = n;
		for (c = 0; c < gran && !reduced; c++) {
			size_t lo = c * n / gran, hi = (c + 1) * n / gran;
			struct mmt_program cand;

			if (lo == hi)
				continue;
			for (i = 0; i < nr; i++)
				keep[i] = true;
			for (i = lo; i < hi; i++)
				keep[idx[i]] = false;
			if (!build_subset(&cand, &m->cur, keep))
				break;
			if (try_cand(m, &cand)) {
				reduced = true;
				progress = true;
			}
		}
		free(idx);
		free(keep);
		if (reduced) {
			if (gran > 2)
				gran--;
			continue;
		}
		if (gran >= n || m->stop)
			return progress;
		gran = gran * 2 < n ? gran * 2 : n;
	}
}

/* The index of the `exit` that closes the block @i opens, or SIZE_MAX. */
static size_t matching_exit(const struct mmt_program *p, size_t i)
{
	int depth = 0;
	size_t j;

	for (j = i; j < p->nr_ops; j++) {
		uint16_t c = p->ops[j].code;

		if (c == MMT_OP_ENTER || c == MMT_OP_INTERRUPT)
			depth++;
		else if (c == MMT_OP_EXIT && --depth == 0)
			return j;
		else if (c == MMT_OP_CPU && j > i)
			return SIZE_MAX;
	}
	return SIZE_MAX;
}

/* enter/interrupt ... exit: drop the pair, keep the body. */
static bool unwrap_blocks(struct mctx *m)
{
	bool progress = false;
	size_t i;

	for (i = 0; i < m->cur.nr_ops && !over_budget(m); i++) {
		uint16_t c = m->cur.ops[i].code;
		struct mmt_program cand;
		size_t j, nr = m->cur.nr_ops;
		bool *keep;

		if (c != MMT_OP_ENTER && c != MMT_OP_INTERRUPT)
			continue;
		j = matching_exit(&m->cur, i);
		if (j == SIZE_MAX)
			continue;
		keep = malloc(nr);
		if (!keep)
			return progress;
		memset(keep, 1, nr);
		keep[i] = keep[j] = false;
		if (build_subset(&cand, &m->cur, keep) && try_cand(m, &cand)) {
			progress = true;
			i--; /* the body's first operation is at i now */
		}
		free(keep);
	}
	return progress;
}

/* `cpu N` where the program is already on N (or a `cpu` right before
 * another): changes nothing a reader needs. */
static bool drop_idle_cpu_lines(struct mctx *m)
{
	bool progress = false;
	size_t i;

	for (i = 0; i < m->cur.nr_ops && !over_budget(m); i++) {
		struct mmt_program cand;
		size_t nr = m->cur.nr_ops;
		bool *keep;

		if (m->cur.ops[i].code != MMT_OP_CPU)
			continue;
		keep = malloc(nr);
		if (!keep)
			return progress;
		memset(keep, 1, nr);
		keep[i] = false;
		if (build_subset(&cand, &m->cur, keep) && try_cand(m, &cand)) {
			progress = true;
			i--;
		}
		free(keep);
	}
	return progress;
}

static bool pass_ops(struct mctx *m)
{
	bool progress = false;
	int cpu;

	if (m->concurrent)
		for (cpu = 0; cpu < m->cur.hdr.nr_cpus && !m->stop; cpu++)
			progress |= ddmin_ops(m, cpu);
	progress |= ddmin_ops(m, -1);
	progress |= unwrap_blocks(m);
	progress |= drop_idle_cpu_lines(m);
	return progress;
}

/* ---- pass 2: each operation ---- */

/* m->cur with operation @i's argument @a set to @v, tried. */
static bool try_arg(struct mctx *m, size_t i, unsigned int a, uint32_t v)
{
	struct mmt_program cand;

	if (m->cur.ops[i].arg[a] == v || !prog_copy(&cand, &m->cur))
		return false;
	cand.ops[i].arg[a] = v;
	return try_cand(m, &cand);
}

/* The first of @tab's values below @v (ascending) that still reproduces. */
static bool try_smaller(struct mctx *m, size_t i, unsigned int a, uint32_t v,
			const uint32_t *tab, size_t n)
{
	size_t k;

	for (k = 0; k < n && tab[k] < v && !m->stop; k++)
		if (try_arg(m, i, a, tab[k]))
			return true;
	return false;
}

static size_t mask_tokens(uint32_t gfp)
{
	char buf[512];
	size_t n = 1, i;

	mmt_gfp_format(gfp, buf, sizeof(buf));
	for (i = 0; buf[i]; i++)
		n += buf[i] == '|';
	return n;
}

static bool simplify_op(struct mctx *m, size_t i)
{
	static const uint32_t sizes[] = { 1,   8,    16,   32,	 64,   128, 256,
					  512, 1024, 2048, 4096, 8192, 9000 };
	static const uint32_t counts[] = { 1, 2, 4, 8, 16, 32 };
	const struct mmt_op_info *info = mmt_op_info(m->cur.ops[i].code);
	bool progress = false;
	unsigned int a;

	for (a = 0; info && a < info->nargs && !m->stop; a++) {
		uint32_t v = m->cur.ops[i].arg[a], b;

		switch (info->args[a].type) {
		case MMT_ARG_GFP:
			for (b = 0; b < 32 && !m->stop; b++) {
				uint32_t nv;

				v = m->cur.ops[i].arg[a];
				nv = v & ~(1u << b);
				if (!(v & (1u << b)) ||
				    mask_tokens(nv) > mask_tokens(v))
					continue;
				progress |= try_arg(m, i, a, nv);
			}
			break;
		case MMT_ARG_SLAB_FLAGS:
			for (b = 0; b < 8 && !m->stop; b++) {
				v = m->cur.ops[i].arg[a];
				if (v & (1u << b))
					progress |= try_arg(m, i, a,
							    v & ~(1u << b));
			}
			break;
		case MMT_ARG_ORDER:
			for (b = 0; b < v && !m->stop; b++)
				if (try_arg(m, i, a, b)) {
					progress = true;
					break;
				}
			break;
		case MMT_ARG_SIZE:
			progress |= try_smaller(m, i, a, v, sizes,
						MMT_ARRAY_SIZE(sizes));
			break;
		case MMT_ARG_COUNT:
			progress |= try_smaller(m, i, a, v, counts,
						MMT_ARRAY_SIZE(counts));
			break;
		case MMT_ARG_NODE:
			if (v)
				progress |= try_arg(m, i, a, 0);
			break;
		case MMT_ARG_CPU:
			/* `cpu N` lines are folded as a whole (fold_cpus) */
			if (v && m->cur.ops[i].code != MMT_OP_CPU)
				progress |= try_arg(m, i, a, 0);
			break;
		default:
			break;
		}
	}
	return progress;
}

/* Every CPU @k becomes @k - 1: two threads become one. */
static bool fold_cpus(struct mctx *m)
{
	bool progress = false;
	int k;

	for (k = m->cur.hdr.nr_cpus - 1; k >= 1 && !over_budget(m); k--) {
		struct mmt_program cand;
		size_t i;

		if (!prog_copy(&cand, &m->cur))
			return progress;
		for (i = 0; i < cand.nr_ops; i++) {
			const struct mmt_op_info *info =
				mmt_op_info(cand.ops[i].code);
			unsigned int a;

			for (a = 0; info && a < info->nargs; a++)
				if (info->args[a].type == MMT_ARG_CPU &&
				    cand.ops[i].arg[a] == (uint32_t)k)
					cand.ops[i].arg[a] = (uint32_t)k - 1;
		}
		progress |= try_cand(m, &cand);
	}
	return progress;
}

static bool pass_simplify(struct mctx *m)
{
	bool progress = false;
	size_t i;

	for (i = 0; i < m->cur.nr_ops && !over_budget(m); i++)
		progress |= simplify_op(m, i);
	progress |= fold_cpus(m);
	if (progress)
		drop_idle_cpu_lines(m);
	return progress;
}

/* ---- pass 3: the schedule ---- */

static bool try_sched(struct mctx *m, uint8_t source, const uint16_t *d,
		      size_t n)
{
	struct mmt_program cand;

	if (!prog_copy(&cand, &m->cur))
		return false;
	if (source != cand.sched.source) {
		cand.sched.source = source;
		cand.sched.seed = 0;
		cand.sched.pct_depth = source == MMT_SCHED_PCT ?
					       MMT_TRACE_PCT_DEFAULT_DEPTH :
					       0;
		cand.sched.pct_steps = 0;
	}
	if (!mmt_program_set_decisions(&cand, d, n)) {
		mmt_program_free(&cand);
		return false;
	}
	return try_cand(m, &cand);
}

static bool ddmin_decisions(struct mctx *m)
{
	bool progress = false;
	size_t gran = 2;

	for (;;) {
		size_t n = m->cur.sched.nr_decisions, c;
		bool reduced = false;

		if (n < 1 || over_budget(m))
			return progress;
		if (gran > n)
			gran = n;
		for (c = 0; c < gran && !reduced; c++) {
			size_t lo = c * n / gran, hi = (c + 1) * n / gran;
			uint16_t *d;

			if (lo == hi)
				continue;
			d = malloc(n * sizeof(*d) + 1);
			if (!d)
				return progress;
			memcpy(d, m->cur.sched.decisions, lo * sizeof(*d));
			memcpy(d + lo, m->cur.sched.decisions + hi,
			       (n - hi) * sizeof(*d));
			reduced = try_sched(m, m->cur.sched.source, d,
					    n - (hi - lo));
			free(d);
		}
		if (reduced) {
			progress = true;
			if (gran > 2)
				gran--;
			continue;
		}
		if (gran >= n || m->stop)
			return progress;
		gran = gran * 2 < n ? gran * 2 : n;
	}
}

static bool pass_schedule(struct mctx *m)
{
	bool progress = false;
	size_t i;

	if (!m->concurrent)
		return false;
	/* No schedule at all, or a plain one: no decisions to read ... */
	if (m->cur.sched.source != MMT_SCHED_SEQ)
		progress |= try_sched(m, MMT_SCHED_SEQ, NULL, 0);
	if (m->cur.sched.source != MMT_SCHED_SEQ &&
	    m->cur.sched.source != MMT_SCHED_RR)
		progress |= try_sched(m, MMT_SCHED_RR, NULL, 0);
	/*
	 * ... else the schedule that ran, up to the finding, replaces what
	 * was recorded (a fuzzer's input carries decisions past the finding),
	 * and the decisions alone decide (source input).
	 */
	/*
	 * A seeded source with no decisions is short already: spelling its
	 * run out as decisions would only lengthen the text.
	 */
	if (!m->cur.sched.nr_decisions)
		return progress | ddmin_decisions(m);
	if (m->nr_exec_dec &&
	    !same_dec(m->exec_dec, m->nr_exec_dec, m->cur.sched.decisions,
		      m->cur.sched.nr_decisions)) {
		uint16_t *d = malloc(m->nr_exec_dec * sizeof(*d));

		if (d) {
			memcpy(d, m->exec_dec, m->nr_exec_dec * sizeof(*d));
			progress |= try_sched(m, m->cur.sched.source, d,
					      m->nr_exec_dec);
			free(d);
		}
	}
	if (m->cur.sched.source != MMT_SCHED_SEQ &&
	    m->cur.sched.source != MMT_SCHED_INPUT &&
	    m->cur.sched.source != MMT_SCHED_RR && m->nr_exec_dec) {
		uint16_t *d = malloc(m->nr_exec_dec * sizeof(*d));

		if (d) {
			memcpy(d, m->exec_dec, m->nr_exec_dec * sizeof(*d));
			progress |= try_sched(m, MMT_SCHED_INPUT, d,
					      m->nr_exec_dec);
			free(d);
		}
	}
	progress |= ddmin_decisions(m);
	/* Fewer switches: each decision the first runnable fiber. */
	for (i = m->cur.sched.nr_decisions; i-- > 0 && !over_budget(m);) {
		uint16_t *d;
		size_t n = m->cur.sched.nr_decisions;

		if (i >= n || !m->cur.sched.decisions[i])
			continue;
		d = malloc(n * sizeof(*d));
		if (!d)
			break;
		memcpy(d, m->cur.sched.decisions, n * sizeof(*d));
		d[i] = 0;
		progress |= try_sched(m, m->cur.sched.source, d, n);
		free(d);
	}
	return progress;
}

/* ---- pass 4: the machine ---- */

static bool try_hdr(struct mctx *m, const struct mmt_trace_header *h)
{
	struct mmt_program cand;

	if (!memcmp(h, &m->cur.hdr, sizeof(*h)) || !prog_copy(&cand, &m->cur))
		return false;
	cand.hdr = *h;
	return try_cand(m, &cand);
}

static bool pass_machine(struct mctx *m)
{
	static const unsigned long pages[] = { 64, 128, 256, 512 };
	struct mmt_trace_header def, h;
	bool progress = false;
	int max_cpu = 0, b;
	size_t i;

	mmt_trace_header_default(&def);
	/* Fewer CPUs: the highest one the operations name. */
	for (i = 0; i < m->cur.nr_ops; i++) {
		const struct mmt_op_info *info =
			mmt_op_info(m->cur.ops[i].code);
		unsigned int a;

		for (a = 0; info && a < info->nargs; a++)
			if (info->args[a].type == MMT_ARG_CPU &&
			    (int)m->cur.ops[i].arg[a] > max_cpu)
				max_cpu = (int)m->cur.ops[i].arg[a];
	}
	if (m->cur.hdr.nr_cpus > max_cpu + 1) {
		h = m->cur.hdr;
		h.nr_cpus = max_cpu + 1;
		progress |= try_hdr(m, &h);
	}
#define TRY_FIELD(field)                    \
	do {                                \
		h = m->cur.hdr;             \
		h.field = def.field;        \
		progress |= try_hdr(m, &h); \
	} while (0)
	TRY_FIELD(nr_nodes);
	TRY_FIELD(slab);
	TRY_FIELD(mempool);
	TRY_FIELD(throttle);
	TRY_FIELD(rt_rules);
	TRY_FIELD(kvfree_rcu_fast_try);
	TRY_FIELD(oracle_level);
	TRY_FIELD(dma32_pages);
	TRY_FIELD(normal_pages);
#undef TRY_FIELD
	/* Fewer pages than the default, when a small machine is the point. */
	if (m->cur.hdr.normal_pages != def.normal_pages)
		for (i = 0; i < sizeof(pages) / sizeof(pages[0]) &&
			    pages[i] < m->cur.hdr.normal_pages && !m->stop;
		     i++) {
			h = m->cur.hdr;
			h.normal_pages = pages[i];
			if (try_hdr(m, &h)) {
				progress = true;
				break;
			}
		}
	/* Each injected bug off in turn: only the bugs it needs stay. */
	for (b = 0; b < 64 && !over_budget(m); b++) {
		if (!(m->cur.hdr.bugs & (1ull << b)))
			continue;
		h = m->cur.hdr;
		h.bugs &= ~(1ull << b);
		progress |= try_hdr(m, &h);
	}
	return progress;
}

/* ---- the driver ---- */

static void logf_(struct mctx *m, const char *pass)
{
	if (m->o->log)
		fprintf(m->o->log,
			"minimize: %-9s %zu operations, %u decisions, %lu runs, %.2f s\n",
			pass, m->cur.nr_ops, m->cur.sched.nr_decisions,
			m->st->runs, now() - m->t0);
}

bool mmt_minimize_trace(const struct mmt_program *in,
			const struct mmt_minimize_opts *o,
			struct mmt_program *out, struct mmt_minimize_stats *st,
			char *err, size_t errlen)
{
	struct mmt_minimize_opts def;
	struct mmt_finding f;
	struct mctx m;
	unsigned int ok = 0;
	char *text;
	bool progress;

	if (!o) {
		mmt_minimize_opts_default(&def);
		o = &def;
	}
	memset(st, 0, sizeof(*st));
	memset(&m, 0, sizeof(m));
	mmt_program_init(out);
	m.o = o;
	m.st = st;
	m.t0 = now();
	m.repeats = o->repeats ? o->repeats : 3;
	m.concurrent = is_concurrent(in);
	st->concurrent = m.concurrent;
	st->ops_before = in->nr_ops;
	st->decisions_before = in->sched.nr_decisions;
	if (!prog_copy(&m.cur, in)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	text = mmt_minimize_format(&m.cur, NULL, NULL, NULL);
	st->bytes_before = text ? strlen(text) : 0;
	free(text);

	/* The input itself: its finding, in every run. */
	memset(&f, 0, sizeof(f));
	if (o->signature && *o->signature) {
		snprintf(st->signature, sizeof(st->signature), "%s",
			 o->signature);
	} else {
		enum mmt_exec_result res;

		res = run_once(o, &m.cur, &f);
		st->runs++;
		if (res != MMT_EXEC_FINDING) {
			snprintf(
				err, errlen,
				"the input reports no finding (it %s): nothing to minimize",
				res == MMT_EXEC_OK ?
					"runs clean" :
				res == MMT_EXEC_BLOCKED ?
					"ends blocked, waiting for itself" :
					"cannot set up its machine");
			mmt_finding_free(&f);
			mmt_program_free(&m.cur);
			return false;
		}
		snprintf(st->signature, sizeof(st->signature), "%s",
			 f.signature);
		mmt_finding_free(&f);
	}
	memset(&f, 0, sizeof(f));
	if (!runs_reproduce(&m, &m.cur, st->signature, &f, &ok)) {
		unsigned int n = m.concurrent ? m.repeats : 1;

		if (ok)
			snprintf(
				err, errlen,
				"the input reports %s in %u of %u runs only: a concurrent finding must reproduce every time",
				st->signature, ok, n);
		else
			snprintf(err, errlen,
				 "the input does not report %s (it reports %s)",
				 st->signature,
				 f.signature[0] ? f.signature : "no finding");
		mmt_finding_free(&f);
		mmt_program_free(&m.cur);
		return false;
	}
	m.exec_dec = f.decisions;
	m.nr_exec_dec = f.nr_decisions;
	f.decisions = NULL;
	mmt_finding_free(&f);

	/* A plain schedule first: the op passes then run without decisions. */
	if (m.concurrent && !(o->skip & MMT_MINIMIZE_NO_SCHEDULE) &&
	    m.cur.sched.source != MMT_SCHED_SEQ &&
	    !try_sched(&m, MMT_SCHED_SEQ, NULL, 0) &&
	    m.cur.sched.source != MMT_SCHED_RR)
		try_sched(&m, MMT_SCHED_RR, NULL, 0);
	do {
		progress = false;
		st->rounds++;
		if (!(o->skip & MMT_MINIMIZE_NO_OPS)) {
			progress |= pass_ops(&m);
			logf_(&m, "ops");
		}
		if (!(o->skip & MMT_MINIMIZE_NO_SIMPLIFY)) {
			progress |= pass_simplify(&m);
			logf_(&m, "simplify");
		}
		if (!(o->skip & MMT_MINIMIZE_NO_SCHEDULE)) {
			progress |= pass_schedule(&m);
			logf_(&m, "schedule");
		}
		if (!(o->skip & MMT_MINIMIZE_NO_MACHINE)) {
			progress |= pass_machine(&m);
			logf_(&m, "machine");
		}
	} while (progress && !m.stop && st->rounds < 8);

	/* The result's own finding, for the caller's report. */
	run_once(o, &m.cur, &st->finding);
	st->runs++;
	st->slab_all = o->slab_all;
	*out = m.cur;
	st->ops_after = out->nr_ops;
	st->decisions_after = out->sched.nr_decisions;
	text = mmt_minimize_format(out, NULL, NULL, NULL);
	st->bytes_after = text ? strlen(text) : 0;
	free(text);
	free(m.exec_dec);
	st->seconds = now() - m.t0;
	return true;
}

/* ---- output for people ---- */

void mmt_minimize_scrub(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '0' && (r[1] == 'x' || r[1] == 'X')) {
			size_t n = 0;

			while (strchr("0123456789abcdefABCDEF", r[2 + n]) &&
			       r[2 + n])
				n++;
			if (n >= 5) {
				memcpy(w, "<addr>", 6 <= n + 2 ? 6 : n + 2);
				w += 6 <= n + 2 ? 6 : n + 2;
				r += 2 + n;
				continue;
			}
		}
		if (r[0] == '/' &&
		    (r == s || r[-1] == ' ' || r[-1] == '(' || r[-1] == '\'')) {
			/* an absolute path: keep its last component */
			const char *e = r, *last = r + 1;

			while (*e && *e != ' ' && *e != ')' && *e != '\'' &&
			       *e != ':' && *e != ',') {
				if (*e == '/')
					last = e + 1;
				e++;
			}
			if (last > r + 1) {
				r = (char *)last;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* The machine line with only the fields that differ from the defaults. */
static void sparse_machine(const char *line, const char *def, FILE *out)
{
	char *mine = strdup(line), *save = NULL, *tok;
	bool any = false;

	if (!mine)
		return;
	for (tok = strtok_r(mine, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *d = def;
		size_t n = strlen(tok);
		bool same = false;

		if (!strcmp(tok, "machine"))
			continue;
		while ((d = strstr(d, tok))) {
			if ((d[n] == ' ' || d[n] == '\0') && d > def &&
			    d[-1] == ' ') {
				same = true;
				break;
			}
			d += n;
		}
		if (same)
			continue;
		fprintf(out, "%s%s", any ? " " : "machine ", tok);
		any = true;
	}
	if (any)
		fputc('\n', out);
	free(mine);
}

char *mmt_minimize_format(const struct mmt_program *p,
			  const struct mmt_minimize_stats *st,
			  const char *source, const char *note)
{
	struct mmt_program dp;
	char *canon, *dcanon, *buf = NULL, *line, *save = NULL;
	size_t n = 0;
	FILE *f;
	const char *dmach = "";

	canon = print_mem(p, NULL);
	mmt_program_init(&dp);
	mmt_trace_header_default(&dp.hdr);
	dcanon = print_mem(&dp, NULL);
	f = open_memstream(&buf, &n);
	if (!canon || !dcanon || !f) {
		free(canon);
		free(dcanon);
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	{
		char *m = strstr(dcanon, "\nmachine ");

		if (m) {
			char *e = strchr(m + 1, '\n');

			if (e)
				*e = '\0';
			dmach = m + 1;
		}
	}
	for (line = strtok_r(canon, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, MMT_TRACE_TEXT_MAGIC " ",
			     strlen(MMT_TRACE_TEXT_MAGIC) + 1)) {
			fprintf(f, "%s\n", line);
			if (st && st->signature[0]) {
				char msg[sizeof(st->finding.message)];
				char *nl;

				fprintf(f, "# finding: %s\n", st->signature);
				snprintf(msg, sizeof(msg), "%s",
					 st->finding.message);
				nl = strchr(msg, '\n');
				if (nl)
					*nl = '\0';
				mmt_minimize_scrub(msg);
				if (msg[0])
					fprintf(f, "#   %s\n", msg);
			}
			if (p->hdr.bugs) {
				size_t nb, b;
				const struct mmt_bug_info *bugs = mmt_bugs(&nb);

				for (b = 0; b < nb; b++)
					if (p->hdr.bugs & (1ull << bugs[b].bug))
						fprintf(f, "# bug %s: %s\n",
							bugs[b].id,
							bugs[b].desc);
			}
			if (st && st->slab_all)
				fprintf(f,
					"# a differential run: `mmtorture replay --slab all FILE` shows it\n");
			if (note && *note)
				fprintf(f, "# %s\n", note);
			if (st && st->ops_before) {
				const char *b = source ? strrchr(source, '/') :
							 NULL;

				fprintf(f,
					"# minimized by `mmtorture minimize`%s%s%s: %zu operations to %zu\n",
					source ? " (" : "",
					source ? (b ? b + 1 : source) : "",
					source ? ")" : "", st->ops_before,
					st->ops_after);
			}
		} else if (!strncmp(line, "machine ", 8)) {
			sparse_machine(line, dmach, f);
		} else if (!strcmp(line, "bugs none")) {
			continue;
		} else {
			fprintf(f, "%s\n", line);
		}
	}
	fclose(f);
	free(canon);
	free(dcanon);
	return buf;
}

static void c_string(FILE *out, const char *s)
{
	fputs("\t\"", out);
	for (; *s; s++) {
		if (*s == '\n') {
			fputs(s[1] ? "\\n\"\n\t\"" : "\\n", out);
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputs("\"", out);
}

bool mmt_minimize_write_c(FILE *out, const char *name, const char *text,
			  const char *signature, unsigned int repeats)
{
	fprintf(out,
		"/* SPDX-License-Identifier: MIT */\n"
		"/*\n"
		" * %s - a regression test written by `mmtorture minimize --c`.\n"
		" *\n"
		" * It replays the minimized trace below on a fresh model machine\n"
		" * (mmt/exec.h: the interpreter) %u time(s) and exits 0 only if every\n"
		" * run reports the finding's signature:\n"
		" *   %s\n"
		" * Build it against the model: cc -std=c11 -I alloc/include %s\n"
		" *   build/default/libmmt_alloc.a -ljansson -lxxhash -lpthread -lm\n"
		" * (or add_executable + target_link_libraries(... mmt_alloc) in CMake).\n"
		" */\n"
		"#include <stdio.h>\n"
		"#include <string.h>\n\n"
		"#include \"mmt/exec.h\"\n"
		"#include \"mmt/trace.h\"\n\n"
		"static const char trace[] =\n",
		name, repeats ? repeats : 1, signature, name);
	c_string(out, text);
	fprintf(out,
		";\n\n"
		"static const char signature[] = \"%s\";\n\n"
		"int main(void)\n"
		"{\n"
		"\tstruct mmt_program p;\n"
		"\tchar err[512];\n"
		"\tint i, ok = 0;\n\n"
		"\tmmt_program_init(&p);\n"
		"\tif (!mmt_trace_parse(trace, sizeof(trace) - 1, \"%s\", &p, err,\n"
		"\t\t\t     sizeof(err))) {\n"
		"\t\tfprintf(stderr, \"%%s\\n\", err);\n"
		"\t\treturn 1;\n"
		"\t}\n"
		"\tfor (i = 0; i < %u; i++) {\n"
		"\t\tstruct mmt_exec_opts o;\n"
		"\t\tstruct mmt_finding f;\n"
		"\t\tenum mmt_exec_result res;\n\n"
		"\t\tmemset(&f, 0, sizeof(f));\n"
		"\t\tmmt_exec_opts_default(&o);\n"
		"\t\tres = mmt_trace_execute(&p, &o, &f);\n"
		"\t\tif (res == MMT_EXEC_FINDING && !strcmp(f.signature, signature))\n"
		"\t\t\tok++;\n"
		"\t\telse\n"
		"\t\t\tprintf(\"run %%d: %%s\\n\", i + 1,\n"
		"\t\t\t       res == MMT_EXEC_FINDING ? f.signature : \"no finding\");\n"
		"\t\tmmt_finding_free(&f);\n"
		"\t}\n"
		"\tmmt_program_free(&p);\n"
		"\tprintf(\"%%s: %%d of %u run(s) report %%s\\n\", \"%s\", ok, signature);\n"
		"\treturn ok == %u ? 0 : 1;\n"
		"}\n",
		signature, name, repeats ? repeats : 1, repeats ? repeats : 1,
		name, repeats ? repeats : 1);
	return !ferror(out);
}

bool mmt_write_file_atomic(const char *path, const void *data, size_t len,
			   char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *p = data;
	size_t done = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return false;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s",
			 path, strerror(errno));
		return false;
	}
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "%s: cannot write: %s", tmp,
				 strerror(errno));
			close(fd);
			unlink(tmp);
			return false;
		}
		done += (size_t)w;
	}
	if (fchmod(fd, 0644) || fsync(fd) || close(fd)) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp,
			 strerror(errno));
		unlink(tmp);
		return false;
	}
	if (rename(tmp, path)) {
		snprintf(err, errlen, "%s: cannot rename into place: %s", path,
			 strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}
