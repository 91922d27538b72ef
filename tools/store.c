/* SPDX-License-Identifier: MIT */
/*
 * tools/store.c - the findings store of a nightly work directory: one
 * folder per distinct finding, keyed by its signature (layout in
 * tools/store.h).
 *
 * Crash safety.  The store is written so that kill -9 (or a power cut) at
 * any instant loses nothing already stored and never leaves a file that
 * reads as something it is not:
 *  - a file is written under PATH.tmp-PID, fsync'd, renamed over PATH,
 *    and the directory fsync'd: PATH is the old content or the new;
 *  - a new finding's folder is filled under findings/.staging-KEY-PID and
 *    renamed to findings/KEY whole (input first, meta.json last): a
 *    folder named KEY always holds its input and its meta.json;
 *  - store_open() removes staging folders and .tmp- files (a killed
 *    writer's), and reports every other thing it cannot read - a foreign
 *    file, a truncated or foreign meta.json, a folder without its input -
 *    by path in s->damage, which the report lists.  Nothing damaged is
 *    fatal and nothing is dropped silently.
 *
 * One process writes a work directory at a time (the nightly holds a lock,
 * tools/cmd_nightly.c): no locking here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "minimize.h"
#include "replay.h"
#include "store.h"

#define STORE_FORMAT 1

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

bool store_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX + 32];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return false;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path)) {
		fd = -1;
		goto fail;
	}
	fsync_dir_of(path);
	return true;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return false;
}

bool store_write_json(const char *path, json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	bool ok;

	if (!text) {
		errno = ENOMEM;
		return false;
	}
	ok = store_write_atomic(path, text, strlen(text)) &&
	     true; /* the trailing newline is cosmetic: left out */
	free(text);
	return ok;
}

bool store_copy_atomic(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0, n;
	bool ok;

	if (!in)
		return false;
	do {
		if (len == cap) {
			char *d = realloc(data, cap = cap ? cap * 2 : 65536);

			if (!d) {
				free(data);
				fclose(in);
				errno = ENOMEM;
				return false;
			}
			data = d;
		}
		n = fread(data + len, 1, cap - len, in);
		len += n;
	} while (n);
	ok = !ferror(in);
	fclose(in);
	ok = ok && store_write_atomic(to, data, len);
	free(data);
	return ok;
}

void store_damaged(struct store *s, const char *path, const char *fmt, ...)
{
	struct store_damage *d;
	va_list ap;

	d = realloc(s->damage, (s->nr_damage + 1) * sizeof(*d));
	if (!d)
		return;
	s->damage = d;
	d = &s->damage[s->nr_damage++];
	snprintf(d->path, sizeof(d->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

void store_rmtree(const char *path)
{
	size_t nr = 0, i;
	char **paths = cli_dir_entries(path, &nr);

	for (i = 0; paths && i < nr; i++) {
		struct stat st;

		if (!lstat(paths[i], &st) && S_ISDIR(st.st_mode))
			store_rmtree(paths[i]);
		else
			unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
	rmdir(path);
}

void store_key(const char *oracle, const char *sig, char *key, size_t len)
{
	unsigned long long h = 1469598103934665603ull;
	char name[48];
	size_t i;

	while (*sig)
		h = (h ^ (unsigned char)*sig++) * 1099511628211ull;
	/* the oracle's name as it reads in a path: [a-z0-9-] */
	for (i = 0; oracle[i] && i < sizeof(name) - 1; i++) {
		char c = oracle[i];

		name[i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ?
				  c :
				  '-';
	}
	name[i] = '\0';
	snprintf(key, len, "%s-%016llx", i ? name : "finding", h);
}

static const char *meta_str(json_t *meta, const char *field)
{
	return json_string_value(json_object_get(meta, field));
}

/*
 * Read finding folder @dir (named @name): its meta.json must be this
 * store's, for the signature the name says, and its input must be there.
 */
static void load_finding(struct store *s, const char *dir, const char *name)
{
	char path[PATH_MAX + 32], key[96];
	const char *sig, *oracle, *input;
	struct store_finding *f;
	json_error_t err;
	struct stat st;
	json_t *meta;
	size_t klen;

	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if (stat(path, &st)) {
		store_damaged(s, dir, "finding folder without meta.json");
		return;
	}
	meta = json_load_file(path, 0, &err);
	if (!meta) {
		store_damaged(s, path,
			      "not JSON (truncated or foreign): %s at line %d",
			      err.text, err.line);
		return;
	}
	sig = meta_str(meta, "signature");
	oracle = meta_str(meta, "oracle");
	input = meta_str(meta, "input");
	if (!json_is_object(meta) ||
	    json_integer_value(json_object_get(meta, "format")) !=
		    STORE_FORMAT ||
	    !sig || !oracle || !input || strchr(input, '/') ||
	    !json_is_integer(json_object_get(meta, "count"))) {
		store_damaged(
			s, path,
			"not a finding's meta.json (format %d with signature, oracle, input, count)",
			STORE_FORMAT);
		json_decref(meta);
		return;
	}
	store_key(oracle, sig, key, sizeof(key));
	klen = strlen(key);
	/* KEY, or KEY.N beside a damaged KEY */
	if (strncmp(name, key, klen) || (name[klen] && name[klen] != '.')) {
		store_damaged(
			s, dir,
			"folder name is not the key of its signature '%s' (%s)",
			sig, key);
		json_decref(meta);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, input);
	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		store_damaged(s, dir, "finding folder without its input (%s)",
			      input);
		json_decref(meta);
		return;
	}
	f = realloc(s->f, (s->nr + 1) * sizeof(*f));
	if (!f) {
		json_decref(meta);
		return;
	}
	s->f = f;
	f = &s->f[s->nr++];
	memset(f, 0, sizeof(*f));
	snprintf(f->key, sizeof(f->key), "%s", name);
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	f->meta = meta;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

bool store_open(struct store *s, const char *root)
{
	size_t nr = 0, i;
	char **paths;

	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(s->findings, sizeof(s->findings), "%s/findings", root);
	if (mkdir_p(s->findings))
		return false;
	paths = cli_dir_entries(s->findings, &nr);
	for (i = 0; paths && i < nr; i++) {
		const char *name = strrchr(paths[i], '/') + 1;
		struct stat st;

		if (!strncmp(name, ".staging-", 9) || strstr(name, ".tmp-")) {
			/* a killed writer's: never renamed into place */
			store_rmtree(paths[i]);
		} else if (lstat(paths[i], &st) || !S_ISDIR(st.st_mode)) {
			store_damaged(s, paths[i],
				      "not a finding folder (a foreign file)");
		} else {
			size_t k, n2 = 0;
			char **in = cli_dir_entries(paths[i], &n2);

			/* a killed update of meta.json left its temporary */
			for (k = 0; in && k < n2; k++) {
				if (strstr(strrchr(in[k], '/'), ".tmp-"))
					unlink(in[k]);
				free(in[k]);
			}
			free(in);
			load_finding(s, paths[i], name);
		}
		free(paths[i]);
	}
	free(paths);
	return true;
}

void store_close(struct store *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		json_decref(s->f[i].meta);
	free(s->f);
	free(s->damage);
	memset(s, 0, sizeof(*s));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Seconds a finding's minimization may take (MMT_NIGHTLY_MINIMIZE_SECONDS). */
static double minimize_budget(void)
{
	const char *env = getenv("MMT_NIGHTLY_MINIMIZE_SECONDS");
	double v = env && *env ? strtod(env, NULL) : 0;

	return v > 0 ? v : 60;
}

/*
 * In the child: minimize the reproducer of @sig (tools/minimize.h) into
 * @trace_path, and its standalone C regression test beside it.  Exits 0
 * when both are written.
 */
static void __attribute__((noreturn))
minimize_child(const struct cli_fuzz_sig *sig, const char *target,
	       const char *trace_path, double budget)
{
	struct mmt_minimize_opts mo;
	struct mmt_minimize_stats st;
	struct mmt_program in, out;
	enum mmt_trace_form form;
	struct cli_replay r;
	char err[512], c_path[PATH_MAX + 16], *slash;
	const char *base = strrchr(sig->input, '/');
	char *text, *cbuf = NULL;
	size_t size, clen = 0;
	FILE *f;

	cli_replay_init(&r);
	r.target = target;
	mmt_program_init(&in);
	if (!cli_replay_load(&r, sig->reproducer, &in, &form, &size, err,
			     sizeof(err)))
		_exit(1);
	mmt_minimize_opts_default(&mo);
	mo.signature = sig->signature;
	mo.max_seconds = budget;
	if (!mmt_minimize_trace(&in, &mo, &out, &st, err, sizeof(err)))
		_exit(1);
	text = mmt_minimize_format(&out, &st, base ? base + 1 : sig->input,
				   NULL);
	if (!text || !store_write_atomic(trace_path, text, strlen(text)))
		_exit(1);
	snprintf(c_path, sizeof(c_path), "%s", trace_path);
	slash = strrchr(c_path, '/');
	snprintf(slash ? slash + 1 : c_path,
		 sizeof(c_path) - (size_t)(slash ? slash + 1 - c_path : 0),
		 "regression.c");
	f = open_memstream(&cbuf, &clen);
	if (f && mmt_minimize_write_c(f, "regression.c", text, st.signature,
				      st.concurrent ? mo.repeats : 1)) {
		fclose(f);
		store_write_atomic(c_path, cbuf, clen);
	} else if (f) {
		fclose(f);
	}
	_exit(0);
}

bool minimize_finding(const struct cli_fuzz_sig *sig, const char *target,
		      const char *trace_path, bool *minimized)
{
	double budget = minimize_budget();
	int status = -1;
	pid_t pid;

	*minimized = false;
	/*
	 * A crash, a hang or a sanitizer's report has no text reproducer:
	 * its input is kept, the fuzzers' own minimizers are for it.
	 */
	if (!sig->reproducer[0] || !has_suffix(sig->reproducer, ".trace"))
		return false;
	/*
	 * In a child: a candidate may crash the model or run away, and the
	 * nightly must go on (and a rerun must not meet the same crash).
	 */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm((unsigned int)budget + 30);
		minimize_child(sig, target, trace_path, budget);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		*minimized = true;
		return true;
	}
	/* Not minimized: the replay's reproducer, the first input whole. */
	return store_copy_atomic(sig->reproducer, trace_path);
}

/* Add @name to the JSON array @arr unless it is there. */
static void add_name(json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i,
			   v) if (json_is_string(v) &&
				  !strcmp(json_string_value(v), name)) return;
	json_array_append_new(arr, json_string(name));
}

static struct store_finding *find_sig(struct store *s, const char *sig)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		if (!strcmp(meta_str(s->f[i].meta, "signature"), sig))
			return &s->f[i];
	return NULL;
}

bool store_add(struct store *s, const struct cli_fuzz_sig *sig,
	       const char *target, const char *engine, const char *when,
	       bool *is_new)
{
	char key[96], dir[PATH_MAX + 128], stage[PATH_MAX + 160],
		path[PATH_MAX + 200];
	const char *input = has_suffix(sig->input, ".trace") ? "input.trace" :
							       "input.bin";
	struct store_finding *f = find_sig(s, sig->signature);
	bool minimized = false, have_trace;
	json_t *meta;
	int n;

	if (f) {
		json_t *arr;

		*is_new = false;
		meta = f->meta;
		json_object_set_new(
			meta, "count",
			json_integer(json_integer_value(
					     json_object_get(meta, "count")) +
				     (json_int_t)sig->count));
		json_object_set_new(meta, "last_seen", json_string(when));
		arr = json_object_get(meta, "engines");
		if (json_is_array(arr))
			add_name(arr, engine);
		arr = json_object_get(meta, "targets");
		if (json_is_array(arr))
			add_name(arr, target);
		f->seen_this_run = true;
		snprintf(path, sizeof(path), "%s/meta.json", f->dir);
		if (!store_write_json(path, meta)) {
			fprintf(stderr, "%s nightly: cannot write %s: %s\n",
				CLI_PROG, path, strerror(errno));
			store_damaged(s, path, "could not be updated: %s",
				      strerror(errno));
			return false;
		}
		return true;
	}
	*is_new = true;
	store_key(sig->oracle, sig->signature, key, sizeof(key));
	/* KEY is taken by a damaged folder: KEY.1, KEY.2, ... beside it */
	snprintf(dir, sizeof(dir), "%s/%s", s->findings, key);
	for (n = 1; !access(dir, F_OK) && n < 100; n++)
		snprintf(dir, sizeof(dir), "%s/%s.%d", s->findings, key, n);
	snprintf(stage, sizeof(stage), "%s/.staging-%s-%d", s->findings, key,
		 (int)getpid());
	store_rmtree(stage);
	if (mkdir(stage, 0755))
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", stage, input);
	if (!store_copy_atomic(sig->input, path))
		goto fail;
	snprintf(path, sizeof(path), "%s/trace.trace", stage);
	have_trace = minimize_finding(sig, target, path, &minimized);
	if (sig->report[0]) {
		snprintf(path, sizeof(path), "%s/report.txt", stage);
		if (!store_copy_atomic(sig->report, path))
			goto fail;
	}
	meta = json_pack(
		"{s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:[s], s:[s], s:s, s:o, s:b, s:o, s:s}",
		"format", STORE_FORMAT, "signature", sig->signature, "oracle",
		sig->oracle, "layer", sig->layer, "count",
		(json_int_t)sig->count, "first_seen", when, "last_seen", when,
		"engines", engine, "targets", target, "input", input, "trace",
		have_trace ? json_string("trace.trace") : json_null(),
		"minimized", minimized, "report",
		sig->report[0] ? json_string("report.txt") : json_null(),
		"found_as", sig->input);
	snprintf(path, sizeof(path), "%s/meta.json", stage);
	if (!meta || !store_write_json(path, meta)) {
		json_decref(meta);
		goto fail;
	}
	if (rename(stage, dir)) {
		json_decref(meta);
		goto fail;
	}
	fsync_dir_of(dir);
	f = realloc(s->f, (s->nr + 1) * sizeof(*f));
	if (!f) {
		json_decref(meta);
		return true; /* on disk; the next open reads it */
	}
	s->f = f;
	f = &s->f[s->nr++];
	memset(f, 0, sizeof(*f));
	snprintf(f->key, sizeof(f->key), "%s", strrchr(dir, '/') + 1);
	snprintf(f->dir, sizeof(f->dir), "%.4000s", dir);
	f->meta = meta;
	f->seen_this_run = true;
	return true;
fail:
	fprintf(stderr, "%s nightly: cannot store finding %s in %s: %s\n",
		CLI_PROG, sig->signature, dir, strerror(errno));
	store_damaged(s, dir, "finding %s could not be stored: %s",
		      sig->signature, strerror(errno));
	store_rmtree(stage);
	return false;
}
