/* SPDX-License-Identifier: MIT */
/*
 * tools/nightly_report.c - the report of a nightly run (tools/nightly.h):
 *
 *   summary.json  small, for machines: docs/nightly-summary.schema.json
 *                 (version, commit, machine, options, bugs, per target and
 *                 engine: executions, exec/s, coverage, findings; the
 *                 regressions; each finding with its folder; what is
 *                 damaged).  The per-finding files stay in their folders.
 *   junit.xml     a test case per (target, engine) and per regression, and
 *                 one for the work directory's readability, for CI
 *                 dashboards.
 *   index.html    self-contained (no script, no network): inline SVG plots
 *                 of coverage and exec/s over time per target and engine
 *                 and of findings over time, and the findings table with
 *                 each trace and its trend against earlier nights.
 *
 * Order: junit.xml and index.html, then summary.json with "complete":
 * true, each written atomically.  summary.json is the run's completion
 * mark: a killed run never has one, and a rerun removes the other two
 * before it goes on (tools/cmd_nightly.c).
 *
 * Trend.  The earlier nights are the other work directories of the same
 * reports directory with a complete summary.json of this schema: a finding
 * none of them had is "new", one any of them had is "still-there", and a
 * finding of the newest earlier night that this one lacks is "fixed".
 *
 * Every text that comes from a finding (signature, trace, paths) is
 * escaped: a trace may hold anything, "<script>" included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nightly.h"
#include "replay.h"

/* ---- helpers ---- */

void nightly_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
}

/* XML escapes the same five, and drops control characters XML 1.0 forbids. */
static void xml_escape(FILE *out, const char *s)
{
	char one[2] = { 0 };

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
			continue;
		one[0] = (char)c;
		nightly_html_escape(out, one);
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* The output of @cmd's first line, or "" (git, not there: "unknown"). */
static void first_line(const char *cmd, char *buf, size_t len)
{
	FILE *p = popen(cmd, "r");

	buf[0] = '\0';
	if (p) {
		if (!fgets(buf, (int)len, p))
			buf[0] = '\0';
		pclose(p);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/* Read a text file whole (at most @max bytes, "..." marks a cut); NULL. */
static char *slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 32);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	if (n == max && fgetc(f) != EOF)
		n += (size_t)snprintf(buf + n, 32, "\n[... cut at %zu bytes]\n",
				      max);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Write @text to @path atomically through a memory stream. */
static bool write_text(const char *path, char *text, size_t len)
{
	bool ok = store_write_atomic(path, text, len);

	if (!ok)
		fprintf(stderr, "%s nightly: cannot write %s: %s\n", CLI_PROG,
			path, strerror(errno));
	return ok;
}

/* ---- earlier nights ---- */

struct earlier {
	json_t *all; /* signature -> true: any earlier night's */
	json_t *newest; /* the newest earlier night's summary, or NULL */
	char newest_dir[PATH_MAX];
	/* findings per earlier night, oldest first (the last 64) */
	double night_findings[64];
	size_t nights;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_earlier(const struct nightly_report *r, struct earlier *e)
{
	char self[PATH_MAX], other[PATH_MAX];
	size_t nr = 0, i;
	char **paths = cli_dir_entries(r->reports, &nr);

	e->all = json_object();
	e->newest = NULL;
	e->newest_dir[0] = '\0';
	e->nights = 0;
	if (!realpath(r->workdir, self))
		snprintf(self, sizeof(self), "%s", r->workdir);
	if (paths)
		qsort(paths, nr, sizeof(*paths), cmp_str);
	for (i = 0; paths && i < nr; i++) {
		char state[PATH_MAX + 32], sum[PATH_MAX + 32];
		json_error_t err;
		json_t *j, *f;
		size_t k;

		snprintf(state, sizeof(state), "%s/nightly.json", paths[i]);
		snprintf(sum, sizeof(sum), "%s/summary.json", paths[i]);
		if (access(state, F_OK) || access(sum, F_OK) ||
		    (realpath(paths[i], other) && !strcmp(other, self)))
			goto next;
		j = json_load_file(sum, 0, &err);
		if (!j ||
		    strcmp(str(j, "schema"), "mmtorture-nightly-summary")) {
			store_damaged(r->store, sum,
				      j ? "not a nightly summary (foreign)" :
					  "not JSON (truncated or foreign): %s",
				      err.text);
			json_decref(j);
			goto next;
		}
		if (!json_is_true(json_object_get(j, "complete"))) {
			json_decref(j);
			goto next;
		}
		json_array_foreach(json_object_get(j, "findings"), k, f)
			json_object_set_new(e->all, str(f, "signature"),
					    json_true());
		json_decref(e->newest);
		e->newest = j;
		if (e->nights == 64) {
			memmove(e->night_findings, e->night_findings + 1,
				63 * sizeof(double));
			e->nights--;
		}
		e->night_findings[e->nights++] =
			(double)json_array_size(json_object_get(j, "findings"));
		snprintf(e->newest_dir, sizeof(e->newest_dir), "%s", paths[i]);
next:
		free(paths[i]);
	}
	free(paths);
}

/* ---- summary.json ---- */

static json_t *machine(void)
{
	struct utsname u;
	char host[256] = "";
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "hostname", host,
			 "system", u.sysname, "release", u.release, "arch",
			 u.machine, "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "memory_mb",
			 (json_int_t)(pages > 0 && psz > 0 ?
					      (long long)pages * psz >> 20 :
					      0));
}

static json_t *build_summary(const struct nightly_report *r,
			     const struct earlier *e, int *status,
			     size_t *nr_new)
{
	json_t *st = r->state, *targets = json_array(),
	       *findings = json_array(), *fixed = json_array(),
	       *damaged = json_array(), *slot, *root, *cur = json_object(),
	       *regs = json_object_get(st, "regressions");
	char commit[128], dirty[8], cmd[PATH_MAX + 128], finished[32];
	const char *k;
	size_t i;
	double fuzz_seconds = 0;

	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD 2>/dev/null",
		 r->source_dir);
	first_line(cmd, commit, sizeof(commit));
	snprintf(
		cmd, sizeof(cmd),
		"git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -c 1",
		r->source_dir);
	first_line(cmd, dirty, sizeof(dirty));
	json_object_foreach(json_object_get(st, "slots"), k, slot)
	{
		/* the engines' seconds; the slot's wall time pays the budget */
		double secs = num(slot, "engine_seconds") > 0 ?
				      num(slot, "engine_seconds") :
				      num(slot, "spent_seconds");

		fuzz_seconds += num(slot, "spent_seconds");
		json_array_append_new(
			targets,
			json_pack(
				"{s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:f, s:I, s:I, s:O}",
				"target", str(slot, "target"), "engine",
				str(slot, "engine"), "status",
				str(slot, "status"), "error",
				str(slot, "error"), "budget_seconds",
				num(slot, "budget_seconds"), "seconds", secs,
				"execs", (json_int_t)num(slot, "execs"),
				"execs_per_sec",
				secs > 0 ? num(slot, "execs") / secs : 0.0,
				"coverage", (json_int_t)num(slot, "coverage"),
				"crashes", (json_int_t)num(slot, "crashes"),
				"findings", json_object_get(slot, "findings")));
	}
	*nr_new = 0;
	for (i = 0; i < r->store->nr; i++) {
		struct store_finding *f = &r->store->f[i];
		json_t *m = f->meta;
		const char *sig = str(m, "signature");
		bool seen = json_object_get(e->all, sig) != NULL;
		char folder[PATH_MAX + 16];

		*nr_new += !seen;
		json_object_set_new(cur, sig, json_true());
		snprintf(folder, sizeof(folder), "findings/%s", f->key);
		json_array_append_new(
			findings,
			json_pack(
				"{s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:O, s:O, s:s, s:s, s:O, s:O, s:O, s:s}",
				"key", f->key, "signature", sig, "oracle",
				str(m, "oracle"), "layer", str(m, "layer"),
				"count", json_object_get(m, "count"),
				"first_seen", str(m, "first_seen"), "last_seen",
				str(m, "last_seen"), "engines",
				json_object_get(m, "engines"), "targets",
				json_object_get(m, "targets"), "folder", folder,
				"input", str(m, "input"), "trace",
				json_object_get(m, "trace"), "report",
				json_object_get(m, "report"), "minimized",
				json_object_get(m, "minimized"), "trend",
				seen ? "still-there" : "new"));
	}
	if (e->newest) {
		json_t *f;

		json_array_foreach(json_object_get(e->newest, "findings"), i,
				   f) if (!json_object_get(cur,
							   str(f, "signature")))
			json_array_append_new(
				fixed, json_pack("{s:s, s:s, s:s}", "signature",
						 str(f, "signature"), "key",
						 str(f, "key"), "last_night",
						 e->newest_dir));
	}
	for (i = 0; i < r->store->nr_damage; i++)
		json_array_append_new(
			damaged, json_pack("{s:s, s:s}", "path",
					   r->store->damage[i].path, "reason",
					   r->store->damage[i].reason));
	/* a damaged finding folder may be a finding: it needs a look */
	*status = r->failed						   ? 2 :
		  r->store->nr || r->regress_failed || r->store->nr_damage ? 1 :
									     0;
	{
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(finished, sizeof(finished), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	root = json_pack(
		"{s:s, s:i, s:b, s:s, s:s, s:b, s:o, s:{s:I, s:I, s:O, s:O, s:I, s:s, s:s}, s:O,"
		" s:s, s:s, s:O, s:f, s:o, s:{s:I, s:I, s:O}, s:o, s:o, s:o, s:i}",
		"schema", "mmtorture-nightly-summary", "schema_version",
		NIGHTLY_SUMMARY_SCHEMA_VERSION, "complete", 1, "version",
		r->version, "commit", commit[0] ? commit : "unknown",
		"commit_dirty", dirty[0] != '\0', "machine", machine(),
		"options", "budget_seconds",
		(json_int_t)num(st, "budget_seconds"), "jobs",
		(json_int_t)num(st, "jobs"), "targets",
		json_object_get(st, "targets"), "engines",
		json_object_get(st, "engines"), "replay_timeout_seconds",
		(json_int_t)num(st, "replay_timeout"), "workdir", r->workdir,
		"build", r->build ? r->build : "", "bugs", r->bugs, "started",
		str(st, "started"), "finished", finished, "invocations",
		json_object_get(st, "invocations"), "fuzz_seconds",
		fuzz_seconds, "targets", targets, "regressions", "total",
		(json_int_t)json_array_size(regs), "failing",
		(json_int_t)r->regress_failed, "cases", regs, "findings",
		findings, "fixed", fixed, "damaged", damaged, "exit_status",
		*status);
	json_decref(cur);
	return root;
}

/* ---- junit.xml ---- */

static void junit(FILE *out, const struct nightly_report *r, json_t *sum)
{
	json_t *t, *c, *f;
	size_t i, k,
		nr_reg = json_array_size(json_object_get(
			json_object_get(sum, "regressions"), "cases"));
	unsigned long fuzz_fail = 0;

	json_array_foreach(json_object_get(sum, "targets"), i, t)
		fuzz_fail += json_array_size(json_object_get(t, "findings")) ||
			     !strcmp(str(t, "status"), "failed");
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<testsuites name=\"mmtorture nightly\">\n");
	fprintf(out,
		"  <testsuite name=\"fuzz\" tests=\"%zu\" failures=\"%lu\">\n",
		json_array_size(json_object_get(sum, "targets")), fuzz_fail);
	json_array_foreach(json_object_get(sum, "targets"), i, t)
	{
		fprintf(out, "    <testcase classname=\"fuzz.");
		xml_escape(out, str(t, "engine"));
		fprintf(out, "\" name=\"");
		xml_escape(out, str(t, "target"));
		fprintf(out, "\" time=\"%.1f\">\n", num(t, "seconds"));
		if (!strcmp(str(t, "status"), "skipped")) {
			fprintf(out, "      <skipped message=\"");
			xml_escape(out, str(t, "error"));
			fprintf(out, "\"/>\n");
		} else if (!strcmp(str(t, "status"), "failed")) {
			fprintf(out,
				"      <error message=\"the engine could not run\">");
			xml_escape(out, str(t, "error"));
			fprintf(out, "</error>\n");
		} else if (json_array_size(json_object_get(t, "findings"))) {
			fprintf(out,
				"      <failure type=\"finding\" message=\"%zu finding(s)\">",
				json_array_size(
					json_object_get(t, "findings")));
			json_array_foreach(json_object_get(t, "findings"), k, f)
			{
				xml_escape(out, json_string_value(f));
				fputc('\n', out);
			}
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n");
	fprintf(out,
		"  <testsuite name=\"regressions\" tests=\"%zu\" failures=\"%lu\">\n",
		nr_reg, r->regress_failed);
	json_array_foreach(json_object_get(json_object_get(sum, "regressions"),
					   "cases"),
			   i, c)
	{
		const char *res = str(c, "result");

		fprintf(out, "    <testcase classname=\"regress.");
		xml_escape(out, str(c, "target"));
		fprintf(out, "\" name=\"");
		xml_escape(out, str(c, "file"));
		fprintf(out, "\" time=\"%.2f\">", num(c, "seconds"));
		if (strcmp(res, "ok") && strcmp(res, "blocked")) {
			fprintf(out, "<failure type=\"%s\" message=\"", res);
			xml_escape(out, res);
			fputc(' ', out);
			xml_escape(out, str(c, "signature"));
			fprintf(out, "\"/>");
		}
		fprintf(out, "</testcase>\n");
	}
	fprintf(out, "  </testsuite>\n");
	fprintf(out,
		"  <testsuite name=\"workdir\" tests=\"1\" failures=\"%d\">\n"
		"    <testcase classname=\"workdir\" name=\"every file readable\">",
		r->store->nr_damage ? 1 : 0);
	if (r->store->nr_damage) {
		fprintf(out,
			"<failure type=\"damaged\" message=\"%zu damaged path(s), skipped\">",
			r->store->nr_damage);
		for (i = 0; i < r->store->nr_damage; i++) {
			xml_escape(out, r->store->damage[i].path);
			fputs(": ", out);
			xml_escape(out, r->store->damage[i].reason);
			fputc('\n', out);
		}
		fprintf(out, "</failure>");
	}
	fprintf(out, "</testcase>\n  </testsuite>\n</testsuites>\n");
}

/* ---- index.html ---- */

#define PLOT_W 360
#define PLOT_H 150
#define PAD 38

/*
 * A line plot of @n points (@x, @y) as inline SVG, with its axes' ranges
 * written at the ends; class "plot" and data-plot=@id for tests.
 */
static void svg_plot(FILE *out, const char *id, const char *title,
		     const double *x, const double *y, size_t n,
		     const char *xunit, const char *yunit)
{
	double xmax = 0, ymax = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		xmax = x[i] > xmax ? x[i] : xmax;
		ymax = y[i] > ymax ? y[i] : ymax;
	}
	if (xmax <= 0)
		xmax = 1;
	if (ymax <= 0)
		ymax = 1;
	fprintf(out, "<svg class=\"plot\" data-plot=\"");
	nightly_html_escape(out, id);
	fprintf(out,
		"\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">"
		"<title>",
		PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	nightly_html_escape(out, title);
	fprintf(out,
		"</title><rect x=\"%d\" y=\"8\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#999\"/>",
		PAD, PLOT_W - PAD - 8, PLOT_H - 8 - 24);
	fprintf(out,
		"<text x=\"%d\" y=\"18\" font-size=\"10\" text-anchor=\"end\">%.0f</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">0</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">%.0f %s</text>"
		"<text x=\"%d\" y=\"%d\" font-size=\"10\">",
		PAD - 3, ymax, PAD - 3, PLOT_H - 16, PLOT_W - 8, PLOT_H - 4,
		xmax, xunit, PAD, PLOT_H - 4);
	nightly_html_escape(out, title);
	fprintf(out, " (%s)</text>", yunit);
	if (n) {
		fprintf(out,
			"<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"");
		for (i = 0; i < n; i++)
			fprintf(out, "%.1f,%.1f ",
				PAD + (x[i] / xmax) * (PLOT_W - PAD - 8),
				(PLOT_H - 16) -
					(y[i] / ymax) * (PLOT_H - 8 - 24));
		fprintf(out, "\"/>");
	} else {
		fprintf(out,
			"<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#777\">no samples</text>",
			PAD + 10, PLOT_H / 2);
	}
	fprintf(out, "</svg>\n");
}

static void html(FILE *out, const struct nightly_report *r, json_t *sum,
		 const struct earlier *e)
{
	json_t *st = r->state, *slot, *t, *f, *c;
	const char *k;
	size_t i, j;
	double offset = 0;
	double *fx = NULL, *fy = NULL;
	size_t fn = 0, skipped = 0;
	const char *skip_why = "";

	fprintf(out,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
		"<title>mmtorture nightly ");
	nightly_html_escape(out, str(sum, "started"));
	fprintf(out,
		"</title>\n<style>body{font-family:sans-serif;margin:1.5em;}"
		"table{border-collapse:collapse;margin:.5em 0;}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;font-size:13px;}"
		"pre{max-height:24em;max-width:70em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:4px;font-size:12px;margin:0;}"
		".new{color:#b71c1c;font-weight:bold;}.still-there{color:#e65100;}.fixed{color:#2e7d32;}"
		".plots{display:flex;flex-wrap:wrap;gap:8px;}</style></head><body>\n");
	fprintf(out, "<h1>mmtorture nightly</h1>\n<p>");
	fprintf(out, "version ");
	nightly_html_escape(out, str(sum, "version"));
	fprintf(out, ", commit <code>");
	nightly_html_escape(out, str(sum, "commit"));
	fprintf(out, "</code>%s, started ",
		json_is_true(json_object_get(sum, "commit_dirty")) ?
			" (with local changes)" :
			"");
	nightly_html_escape(out, str(sum, "started"));
	fprintf(out, ", finished ");
	nightly_html_escape(out, str(sum, "finished"));
	fprintf(out, ", %.0f s of fuzzing in %lld invocation(s); machine ",
		num(sum, "fuzz_seconds"), (long long)num(sum, "invocations"));
	nightly_html_escape(out,
			    str(json_object_get(sum, "machine"), "hostname"));
	fprintf(out, " (%lld CPUs); bugs injected: ",
		(long long)num(json_object_get(sum, "machine"), "cpus"));
	if (!json_array_size(r->bugs))
		fprintf(out, "none");
	json_array_foreach(r->bugs, i, t)
	{
		if (i)
			fputs(", ", out);
		nightly_html_escape(out, json_string_value(t));
	}
	fprintf(out, ". Exit status <b>%lld</b>.</p>\n",
		(long long)num(sum, "exit_status"));

	/* findings */
	fprintf(out, "<h2 id=\"findings\">Findings (%zu)</h2>\n",
		json_array_size(json_object_get(sum, "findings")));
	if (json_array_size(json_object_get(sum, "findings"))) {
		fprintf(out,
			"<table id=\"findings-table\"><tr><th>trend</th><th>signature</th><th>count</th><th>first seen</th><th>last seen</th><th>found by</th><th>trace</th></tr>\n");
		json_array_foreach(json_object_get(sum, "findings"), i, f)
		{
			char path[PATH_MAX * 2];
			json_t *v;
			char *text = NULL;

			fprintf(out, "<tr><td class=\"");
			nightly_html_escape(out, str(f, "trend"));
			fprintf(out, "\">");
			nightly_html_escape(out, str(f, "trend"));
			fprintf(out, "</td><td><code>");
			nightly_html_escape(out, str(f, "signature"));
			fprintf(out, "</code><br><a href=\"");
			nightly_html_escape(out, str(f, "folder"));
			fprintf(out, "/\">");
			nightly_html_escape(out, str(f, "folder"));
			fprintf(out, "</a></td><td>%lld</td><td>",
				(long long)num(f, "count"));
			nightly_html_escape(out, str(f, "first_seen"));
			fprintf(out, "</td><td>");
			nightly_html_escape(out, str(f, "last_seen"));
			fprintf(out, "</td><td>");
			json_array_foreach(json_object_get(f, "targets"), j, v)
			{
				nightly_html_escape(out, json_string_value(v));
				fputc(' ', out);
			}
			fputs("/ ", out);
			json_array_foreach(json_object_get(f, "engines"), j, v)
			{
				nightly_html_escape(out, json_string_value(v));
				fputc(' ', out);
			}
			fprintf(out, "</td><td>");
			if (json_is_string(json_object_get(f, "trace"))) {
				snprintf(path, sizeof(path), "%s/%s/%s",
					 r->workdir, str(f, "folder"),
					 str(f, "trace"));
				text = slurp(path, 16384);
			}
			if (text) {
				fprintf(out, "<pre>");
				nightly_html_escape(out, text);
				fprintf(out, "</pre>%s",
					json_is_true(json_object_get(
						f, "minimized")) ?
						"" :
						"<small>(the first input, not minimized)</small>");
				free(text);
			} else {
				fprintf(out,
					"<small>no text trace: the input is <a href=\"");
				nightly_html_escape(out, str(f, "folder"));
				fputc('/', out);
				nightly_html_escape(out, str(f, "input"));
				fprintf(out, "\">");
				nightly_html_escape(out, str(f, "input"));
				fprintf(out, "</a></small>");
			}
			fprintf(out, "</td></tr>\n");
		}
		fprintf(out, "</table>\n");
	}
	if (json_array_size(json_object_get(sum, "fixed"))) {
		fprintf(out, "<h3>Fixed since the last night</h3><ul>\n");
		json_array_foreach(json_object_get(sum, "fixed"), i, f)
		{
			fprintf(out, "<li class=\"fixed\"><code>");
			nightly_html_escape(out, str(f, "signature"));
			fprintf(out, "</code></li>\n");
		}
		fprintf(out, "</ul>\n");
	}
	if (json_array_size(json_object_get(sum, "damaged"))) {
		fprintf(out,
			"<h3 id=\"damaged\">Damaged in the work directory (skipped)</h3><ul>\n");
		json_array_foreach(json_object_get(sum, "damaged"), i, f)
		{
			fprintf(out, "<li><code>");
			nightly_html_escape(out, str(f, "path"));
			fprintf(out, "</code>: ");
			nightly_html_escape(out, str(f, "reason"));
			fprintf(out, "</li>\n");
		}
		fprintf(out, "</ul>\n");
	}

	/* targets: table and plots */
	fprintf(out,
		"<h2>Targets</h2>\n<table><tr><th>target</th><th>engine</th><th>status</th><th>seconds</th><th>execs</th><th>exec/s (average)</th><th>coverage</th><th>findings</th></tr>\n");
	json_array_foreach(json_object_get(sum, "targets"), i, t)
	{
		if (!strcmp(str(t, "status"), "skipped")) {
			skipped++;
			skip_why = str(t, "error");
			continue;
		}
		fprintf(out, "<tr><td>");
		nightly_html_escape(out, str(t, "target"));
		fprintf(out, "</td><td>");
		nightly_html_escape(out, str(t, "engine"));
		fprintf(out, "</td><td>");
		nightly_html_escape(out, str(t, "status"));
		if (*str(t, "error")) {
			fprintf(out, ": ");
			nightly_html_escape(out, str(t, "error"));
		}
		fprintf(out,
			"</td><td>%.0f</td><td>%lld</td><td>%.0f</td><td>%lld</td><td>%zu</td></tr>\n",
			num(t, "seconds"), (long long)num(t, "execs"),
			num(t, "execs_per_sec"), (long long)num(t, "coverage"),
			json_array_size(json_object_get(t, "findings")));
	}
	fprintf(out, "</table>\n");
	if (skipped) {
		fprintf(out, "<p>%zu slot(s) skipped: ", skipped);
		nightly_html_escape(out, skip_why);
		fprintf(out, "</p>\n");
	}
	fprintf(out, "<h2>Over time</h2>\n<div class=\"plots\">\n");
	json_object_foreach(json_object_get(st, "slots"), k, slot)
	{
		json_t *samples = json_object_get(slot, "samples"), *s;
		size_t n = json_array_size(samples);
		double *x = calloc(n + 1, sizeof(double)),
		       *cov = calloc(n + 1, sizeof(double)),
		       *rate = calloc(n + 1, sizeof(double));
		char id[160], title[200];

		if (!x || !cov || !rate) {
			free(x);
			free(cov);
			free(rate);
			continue;
		}
		if (!strcmp(str(slot, "status"), "skipped")) {
			free(x);
			free(cov);
			free(rate);
			continue;
		}
		json_array_foreach(samples, j, s)
		{
			double sx = json_number_value(json_array_get(s, 0)),
			       se = json_number_value(json_array_get(s, 1));
			double *nfx, *nfy;

			x[j] = sx;
			cov[j] = json_number_value(json_array_get(s, 2));
			/*
			 * exec/s over the last few samples (a tenth of the
			 * slot): libFuzzer's -fork counts a job's executions
			 * when the job ends, so a rate between two samples is
			 * a comb of spikes.
			 */
			{
				size_t w = j >= 6 ? j - 6 : 0;
				json_t *o = json_array_get(samples, w);
				double ox = json_number_value(
					       json_array_get(o, 0)),
				       oe = json_number_value(
					       json_array_get(o, 1));

				rate[j] = sx - ox >= 1 ? (se - oe) / (sx - ox) :
					  j	       ? rate[j - 1] :
							 0;
			}
			nfx = realloc(fx, (fn + 1) * sizeof(double));
			nfy = nfx ? realloc(fy, (fn + 1) * sizeof(double)) :
				    NULL;
			if (nfx)
				fx = nfx;
			if (nfy) {
				fy = nfy;
				fx[fn] = offset + sx;
				fy[fn++] =
					json_number_value(json_array_get(s, 3));
			}
		}
		offset += num(slot, "spent_seconds");
		fprintf(out, "<div>");
		snprintf(id, sizeof(id), "coverage-%s", k);
		snprintf(title, sizeof(title), "%s coverage", k);
		svg_plot(out, id, title, x, cov, n, "s", "edges");
		snprintf(id, sizeof(id), "execs-%s", k);
		snprintf(title, sizeof(title), "%s exec/s", k);
		svg_plot(out, id, title, x, rate, n, "s", "exec/s");
		fprintf(out, "</div>\n");
		free(x);
		free(cov);
		free(rate);
	}
	fprintf(out, "<div>");
	svg_plot(out, "findings", "findings over the run", fx, fy, fn,
		 "s of fuzzing", "stored");
	{
		/* findings per night: the earlier nights, then this one */
		double nx[65], ny[65];
		size_t i2;

		for (i2 = 0; i2 < e->nights; i2++) {
			nx[i2] = (double)i2;
			ny[i2] = e->night_findings[i2];
		}
		nx[i2] = (double)i2;
		ny[i2] = (double)json_array_size(
			json_object_get(sum, "findings"));
		svg_plot(out, "findings-per-night",
			 "findings per night (this one last)", nx, ny, i2 + 1,
			 "nights", "findings");
	}
	fprintf(out, "</div>\n</div>\n");
	free(fx);
	free(fy);

	/* regressions */
	c = json_object_get(sum, "regressions");
	fprintf(out,
		"<h2>Regressions</h2>\n<p>%lld replayed, %lld failing.</p>\n",
		(long long)num(c, "total"), (long long)num(c, "failing"));
	if (num(c, "failing") > 0) {
		fprintf(out,
			"<table><tr><th>target</th><th>file</th><th>result</th></tr>\n");
		json_array_foreach(json_object_get(c, "cases"), i, t)
		{
			if (!strcmp(str(t, "result"), "ok") ||
			    !strcmp(str(t, "result"), "blocked"))
				continue;
			fprintf(out, "<tr><td>");
			nightly_html_escape(out, str(t, "target"));
			fprintf(out, "</td><td>");
			nightly_html_escape(out, str(t, "file"));
			fprintf(out, "</td><td>");
			nightly_html_escape(out, str(t, "result"));
			fputc(' ', out);
			nightly_html_escape(out, str(t, "signature"));
			fprintf(out, "</td></tr>\n");
		}
		fprintf(out, "</table>\n");
	}
	fprintf(out,
		"<p><small>summary.json, junit.xml and findings/ are beside this page.</small></p>\n</body></html>\n");
}

int nightly_report(const struct nightly_report *r)
{
	struct earlier e;
	json_t *sum;
	char path[PATH_MAX + 32], *buf = NULL;
	size_t len = 0, nr_new = 0;
	int status;
	FILE *mem;

	load_earlier(r, &e);
	sum = build_summary(r, &e, &status, &nr_new);
	if (!sum) {
		fprintf(stderr, "%s nightly: cannot build the summary\n",
			CLI_PROG);
		json_decref(r->bugs);
		return 2;
	}
	mem = open_memstream(&buf, &len);
	if (mem) {
		junit(mem, r, sum);
		fclose(mem);
		snprintf(path, sizeof(path), "%s/junit.xml", r->workdir);
		write_text(path, buf, len);
		free(buf);
	}
	buf = NULL;
	len = 0;
	mem = open_memstream(&buf, &len);
	if (mem) {
		html(mem, r, sum, &e);
		fclose(mem);
		snprintf(path, sizeof(path), "%s/index.html", r->workdir);
		write_text(path, buf, len);
		free(buf);
	}
	/* last: the mark of a complete run */
	snprintf(path, sizeof(path), "%s/summary.json", r->workdir);
	if (!store_write_json(path, sum)) {
		fprintf(stderr, "%s nightly: cannot write %s: %s\n", CLI_PROG,
			path, strerror(errno));
		status = 2;
	}
	printf("nightly: %zu finding(s) (%zu new), %zu fixed since the last night, "
	       "%lld regression(s) failing, %zu damaged path(s)\n",
	       r->store->nr, nr_new,
	       json_array_size(json_object_get(sum, "fixed")),
	       (long long)r->regress_failed, r->store->nr_damage);
	json_decref(sum);
	json_decref(e.all);
	json_decref(e.newest);
	json_decref(r->bugs);
	return status;
}
