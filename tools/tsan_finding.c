/* SPDX-License-Identifier: MIT */
/*
 * tools/tsan_finding.c - ThreadSanitizer's data race reports as findings.
 *
 * In the tsan build the deterministic scheduler gives every simulated CPU
 * and kernel thread a TSan fiber and switches with no synchronisation
 * (docs/ARCHITECTURE.md, The deterministic scheduler), so an access to
 * shared state without the model's locks, atomics or waits between two
 * fibers is a data race report - in a deterministic run that replays.
 * This file turns such a report into a finding that the fuzz targets, the
 * `replay` and `pct` commands treat like an oracle's:
 *
 *   oracle    "data-race"
 *   layer     from the file of the first model frame (alloc/slab_array.c:
 *             "slab", ...)
 *   func      that frame's function (of the two racing accesses' model
 *             frames, the smaller name, so that both orders of one race
 *             are one signature): "data-race|slab|cache_alloc_refill"
 *             names the racing code, not a line, so it stays stable as
 *             code moves
 *   site      file:line of that frame
 *   message   both accesses (read or write, size, frame) as TSan saw them
 *
 * How: clang's and gcc's TSan runtimes call a weak __tsan_on_report(report)
 * after printing each report (compiler-rt tsan_rtl_report.cpp); defined
 * here, it copies the racing accesses' program counters out of the report
 * (__tsan_get_report_data / __tsan_get_report_mop, tsan_interface.h).
 * Nothing is symbolized inside the hook: the runtime holds its report
 * lock there.  mmt_race_take(), after the execution, symbolizes with
 * __sanitizer_symbolize_pc (the runtime's own symbolizer, the one that
 * printed the report).  Only the first race of an execution is kept: the
 * others are usually its consequences.
 *
 * TSan reports a pair of stacks or an address once per process by
 * default; replay --repeat and pct execute the same program many times in
 * one process, so __tsan_default_options turns that deduplication off
 * (TSAN_OPTIONS still overrides it).
 *
 * Not thread-safe across executions: one execution at a time per process
 * (the fuzz targets, replay and pct run so).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsan_finding.h"

#if MMT_SANITIZE_TSAN

enum {
	RACE_FRAMES = 32
};

int __tsan_get_report_data(void *report, const char **description, int *count,
			   int *stack_count, int *mop_count, int *loc_count,
			   int *mutex_count, int *thread_count,
			   int *unique_tid_count, void **sleep_trace,
			   unsigned long trace_size);
int __tsan_get_report_mop(void *report, unsigned long idx, int *tid,
			  void **addr, int *size, int *write, int *atomic,
			  void **trace, unsigned long trace_size);
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out_buf,
			      size_t out_buf_size);
void __tsan_on_report(void *report);
const char *__tsan_default_options(void);

/*
 * Nothing here may be instrumented: the hook runs inside the runtime's
 * report (on whichever fiber raced), and an instrumented access to the
 * record below - written there, read by the host after the run - would
 * itself race, report, and wait for the report lock it holds.  So the
 * functions that touch it are not instrumented, and copy by hand (libc's
 * memset and snprintf are intercepted: they check their ranges).
 */
#define MMT_NO_TSAN __attribute__((no_sanitize("thread"), noinline))

/* What the hook copied out of the first report of an execution. */
static struct {
	bool seen;
	char description[32];
	int nr_mops;
	struct {
		int tid, size, write, atomic;
		void *addr;
		void *trace[RACE_FRAMES];
	} mop[2];
} race;

const char *__tsan_default_options(void)
{
	return "suppress_equal_stacks=0:suppress_equal_addresses=0";
}

MMT_NO_TSAN void __tsan_on_report(void *report)
{
	const char *desc = NULL;
	int count = 0, stacks = 0, mops = 0, locs = 0, mutexes = 0, threads = 0,
	    tids = 0, i;
	void *sleep[1];

	if (race.seen)
		return;
	if (!__tsan_get_report_data(report, &desc, &count, &stacks, &mops,
				    &locs, &mutexes, &threads, &tids, sleep,
				    1) ||
	    !desc || strcmp(desc, "data-race"))
		return; /* thread leaks, signal-unsafe calls: not ours */
	for (i = 0; desc[i] && i < (int)sizeof(race.description) - 1; i++)
		race.description[i] = desc[i];
	race.description[i] = '\0';
	race.nr_mops = mops < 2 ? mops : 2;
	for (i = 0; i < race.nr_mops; i++) {
		int k;

		for (k = 0; k < RACE_FRAMES; k++)
			race.mop[i].trace[k] = NULL;
		__tsan_get_report_mop(report, (unsigned long)i,
				      &race.mop[i].tid, &race.mop[i].addr,
				      &race.mop[i].size, &race.mop[i].write,
				      &race.mop[i].atomic, race.mop[i].trace,
				      RACE_FRAMES);
	}
	race.seen = true;
}

/* The model's layer of a source file (by its name, alloc/NAME.c). */
static const char *file_layer(const char *file)
{
	static const struct {
		const char *file, *layer;
	} map[] = {
		{ "page_alloc.c", "page" }, { "gfp.c", "page" },
		{ "slab_array.c", "slab" }, { "slab_common.c", "slab" },
		{ "slub.c", "slab" },	    { "kvfree_rcu.c", "rcu" },
		{ "rcu.c", "rcu" },	    { "memcg.c", "memcg" },
		{ "mempool.c", "mempool" }, { "reserve.c", "reserve" },
		{ "reclaim.c", "reclaim" }, { "writeback.c", "reclaim" },
	};
	const char *base = strrchr(file, '/');
	size_t i;

	base = base ? base + 1 : file;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(base, map[i].file))
			return map[i].layer;
	return "machine"; /* locks, the scheduler, the machine itself */
}

struct frame {
	char func[64], file[256];
	unsigned long line;
};

static bool symbolize(void *pc, struct frame *fr)
{
	char buf[512], *bar, *bar2;

	memset(fr, 0, sizeof(*fr));
	buf[0] = '\0';
	__sanitizer_symbolize_pc(pc, "%f|%s|%l", buf, sizeof(buf));
	bar = strchr(buf, '|');
	if (!bar)
		return false;
	*bar++ = '\0';
	bar2 = strchr(bar, '|');
	if (bar2) {
		*bar2++ = '\0';
		fr->line = strtoul(bar2, NULL, 10);
	}
	snprintf(fr->func, sizeof(fr->func), "%.63s", buf);
	snprintf(fr->file, sizeof(fr->file), "%.255s", bar);
	return fr->func[0] && strcmp(fr->func, "<null>");
}

/*
 * The first frame of @trace in the model (a file under alloc/), else its
 * first symbolized frame; false if none.
 */
static bool model_frame(void *const *trace, struct frame *out)
{
	struct frame fr;
	bool any = false;
	int k;

	for (k = 0; k < RACE_FRAMES && trace[k]; k++) {
		if (!symbolize(trace[k], &fr))
			continue;
		if (strstr(fr.file, "/alloc/")) {
			*out = fr;
			return true;
		}
		if (!any) {
			*out = fr;
			any = true;
		}
	}
	return any;
}

static const char *base_name(const char *file)
{
	const char *b = strrchr(file, '/');

	return b ? b + 1 : file;
}

MMT_NO_TSAN void mmt_race_begin(void)
{
	race.seen = false;
}

/* A copy of the record, for the instrumented code below. */
MMT_NO_TSAN static bool race_copy(char *desc, size_t len, int *nr_mops,
				  void *trace[2][RACE_FRAMES], int tid[2],
				  int size[2], int write[2], int atomic[2],
				  void *addr[2])
{
	int i, k;

	if (!race.seen)
		return false;
	race.seen = false;
	for (k = 0; race.description[k] && k < (int)len - 1; k++)
		desc[k] = race.description[k];
	desc[k] = '\0';
	*nr_mops = race.nr_mops;
	for (i = 0; i < race.nr_mops; i++) {
		for (k = 0; k < RACE_FRAMES; k++)
			trace[i][k] = race.mop[i].trace[k];
		tid[i] = race.mop[i].tid;
		size[i] = race.mop[i].size;
		write[i] = race.mop[i].write;
		atomic[i] = race.mop[i].atomic;
		addr[i] = race.mop[i].addr;
	}
	return true;
}

bool mmt_race_take(struct mmt_finding *f, size_t nr_ops)
{
	void *trace[2][RACE_FRAMES], *addr[2];
	int tid[2], size[2], write[2], atomic[2], nr_mops = 0;
	char desc[32];
	struct frame fr[2];
	bool have[2] = { false, false };
	int i, at;
	size_t len;

	if (!race_copy(desc, sizeof(desc), &nr_mops, trace, tid, size, write,
		       atomic, addr))
		return false;
	for (i = 0; i < nr_mops; i++)
		have[i] = model_frame(trace[i], &fr[i]);
	/*
	 * The signature names one of the two racing functions: a model
	 * frame over any other, and of two model frames the smaller name -
	 * so both orders of the same race (which access came second depends
	 * on the schedule) give one signature.
	 */
	{
		bool m0 = have[0] && strstr(fr[0].file, "/alloc/"),
		     m1 = have[1] && strstr(fr[1].file, "/alloc/");

		if (m0 && m1)
			at = strcmp(fr[1].func, fr[0].func) < 0;
		else if (m0 || m1)
			at = m1;
		else
			at = !have[0];
	}
	snprintf(f->oracle, sizeof(f->oracle), "data-race");
	if (have[at]) {
		snprintf(f->layer, sizeof(f->layer), "%s",
			 file_layer(fr[at].file));
		snprintf(f->func, sizeof(f->func), "%s", fr[at].func);
		snprintf(f->site, sizeof(f->site), "%s:%lu",
			 base_name(fr[at].file), fr[at].line);
	} else {
		snprintf(f->layer, sizeof(f->layer), "machine");
		snprintf(f->func, sizeof(f->func), "?");
		snprintf(f->site, sizeof(f->site), "?");
	}
	snprintf(f->signature, sizeof(f->signature), "%s|%s|%s", f->oracle,
		 f->layer, f->func);
	len = (size_t)snprintf(f->message, sizeof(f->message),
			       "ThreadSanitizer: data race between two fibers");
	for (i = 0; i < nr_mops && len < sizeof(f->message); i++)
		len += (size_t)snprintf(
			f->message + len, sizeof(f->message) - len,
			"%s %s%s of %d bytes at %p by T%d in %s (%s:%lu)",
			i ? "; previous" : ":", atomic[i] ? "atomic " : "",
			write[i] ? "write" : "read", size[i], addr[i], tid[i],
			have[i] ? fr[i].func : "?",
			have[i] ? base_name(fr[i].file) : "?",
			have[i] ? fr[i].line : 0ul);
	/* A clean or blocked run has no operation to name: the whole run. */
	if (!f->op_text[0]) {
		f->op_index = nr_ops;
		snprintf(f->op_text, sizeof(f->op_text),
			 "the execution (TSan names no operation)");
	}
	f->nr_violations++;
	return true;
}

#else /* !MMT_SANITIZE_TSAN */

void mmt_race_begin(void)
{
}

bool mmt_race_take(struct mmt_finding *f, size_t nr_ops)
{
	(void)f;
	(void)nr_ops;
	return false;
}

#endif

enum mmt_exec_result mmt_race_execute(const struct mmt_program *p,
				      const struct mmt_exec_opts *o,
				      struct mmt_finding *f)
{
	enum mmt_exec_result r;

	memset(f, 0, sizeof(*f));
	mmt_race_begin();
	r = mmt_trace_execute(p, o, f);
	if (r != MMT_EXEC_FINDING && r != MMT_EXEC_SETUP_FAILED &&
	    mmt_race_take(f, p->nr_ops))
		r = MMT_EXEC_FINDING;
	return r;
}
