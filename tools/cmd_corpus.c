/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_corpus.c - `mmtorture corpus merge|minimize|promote`.
 *
 * merge and minimize hand the work to the engines' own tools with the
 * flags that fit: libFuzzer's `-merge=1 OUT IN...` on the target's fuzz
 * binary (the fuzz preset), or afl-cmin on its afl binary (the afl
 * preset).  minimize writes the minimized corpus beside the directory and
 * swaps it in with renames only when the engine succeeded, so a failed or
 * killed run leaves the corpus as it was.
 *
 * promote turns a finding into a regression of corpora/T/regress/, which
 * ctest replays with T-replay (test-T-regress-replay) in every build
 * flavour with no bug on (MMT_BUGS unset: the trace's header bugs are
 * overridden).  So a promoted trace must (1) report its finding with its
 * bugs on - it is minimized first, which checks that - and (2) run clean
 * with every bug off, else the regression suite would fail: a finding
 * that needs no injected bug is a model bug still there, and is refused
 * until it is fixed.  The header keeps the bugs, so `mmtorture replay
 * FILE` shows the finding again; the comment says so.  The file is
 * created with link(2) from a complete temporary file: an existing name
 * is never overwritten, and nothing partial is ever visible.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "minimize.h"
#include "mmt/check.h"
#include "replay.h"

#ifndef MMT_SOURCE_DIR
#define MMT_SOURCE_DIR "."
#endif

enum {
	OPT_TARGET = 256,
	OPT_NAME,
	OPT_DESC,
	OPT_BUG,
	OPT_CORPORA,
	OPT_TIME,
	OPT_ENGINE,
	OPT_BUILD,
	OPT_HELP
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s corpus merge [--engine E] [--build DIR] TARGET OUT IN...\n"
		"       %s corpus minimize [--engine E] [--build DIR] TARGET DIR\n"
		"       %s corpus promote FILE --target T --name NAME --desc \"one line\"\n"
		"\n"
		"merge     add to OUT the inputs of IN... that add coverage (libFuzzer\n"
		"          -merge=1 on fuzz-TARGET; afl-cmin on afl-TARGET)\n"
		"minimize  keep the inputs of DIR that cover what all of DIR covers;\n"
		"          the directory is swapped in only when the engine succeeded\n"
		"promote   minimize a finding (`mmtorture minimize`), check that it\n"
		"          reports its signature with its bugs and runs clean without\n"
		"          them (as ctest replays corpora/T/regress/), and write\n"
		"          corpora/T/regress/NAME.trace with the description in its\n"
		"          header comment; an existing NAME is refused\n"
		"\n"
		"Options:\n"
		"  --engine E     libfuzzer (default when the fuzz preset is built) or afl\n"
		"  --build DIR    where fuzz-T / afl-T are (default: found)\n"
		"  --target T     promote: the target whose regress/ gets the trace\n"
		"  --name NAME    promote: the file's name (a-z, 0-9, '-')\n"
		"  --desc TEXT    promote: one line saying what the regression shows\n"
		"  --bug ID       promote: the bugs the finding needs (else the trace's)\n"
		"  --corpora DIR  promote: the corpora directory (default: the source's)\n"
		"  --time S       promote: the minimizer's budget (default 300 s)\n"
		"  --help         this text\n"
		"\n"
		"Exit status: 0 done, 1 refused or the engine failed, 2 wrong usage.\n",
		CLI_PROG, CLI_PROG, CLI_PROG);
}

/* ---- running the engines' tools ---- */

static bool is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/* The engine binary of @target: @build, beside this tool, or build/P. */
static bool find_engine(const char *engine, const char *build,
			const char *target, char *bin, size_t len)
{
	const char *prefix = !strcmp(engine, "afl") ? "afl" : "fuzz";
	char self[PATH_MAX];
	ssize_t n;

	if (build) {
		snprintf(bin, len, "%s/%s-%s", build, prefix, target);
		return is_exec(bin);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if (snprintf(bin, len, "%s/%s-%s", self, prefix, target) <
			    (int)len &&
		    is_exec(bin))
			return true;
	}
	snprintf(bin, len, "%s/build/%s/%s-%s", MMT_SOURCE_DIR, prefix, prefix,
		 target);
	return is_exec(bin);
}

/* Run @argv with its output in @log; the exit status, or -1. */
static int run_tool(char *const argv[], const char *log)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* The corpus is judged with no bug on. */
		unsetenv("MMT_BUGS");
		setenv("AFL_ALLOW_TMP", "1", 0);
		setenv("AFL_SKIP_CPUFREQ", "1", 0);
		setenv("AFL_NO_UI", "1", 0);
		setenv("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1", 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned long count_files(const char *dir)
{
	unsigned long n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void rm_tree(const char *dir)
{
	size_t n, i;
	char **e = cli_dir_entries(dir, &n);

	for (i = 0; e && i < n; i++) {
		struct stat st;

		if (!lstat(e[i], &st) && S_ISDIR(st.st_mode))
			rm_tree(e[i]);
		else
			unlink(e[i]);
		free(e[i]);
	}
	free(e);
	rmdir(dir);
}

/* The engine's log: a temporary file, kept (and shown) only on failure. */
static void tool_log(char *log, size_t len)
{
	const char *t = getenv("TMPDIR");
	int fd;

	snprintf(log, len, "%s/mmtorture-corpus-XXXXXX.log",
		 t && *t ? t : "/tmp");
	fd = mkstemps(log, 4);
	if (fd >= 0)
		close(fd);
}

/* The tail of @log on stderr, after a failed engine run. */
static void show_log(const char *log)
{
	char line[1024];
	FILE *f = fopen(log, "r");
	long size;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > 2048 ? size - 2048 : 0, SEEK_SET);
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

/* afl-cmin reads one directory: the union of @in is copied into @dir. */
static bool union_dir(char *const *in, int n, const char *dir)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t nr, k;
		char **e = cli_dir_entries(in[i], &nr);

		if (!e)
			return false;
		for (k = 0; k < nr; k++) {
			char to[PATH_MAX];
			const char *base = strrchr(e[k], '/') + 1;
			struct stat st;

			if (!stat(e[k], &st) && S_ISREG(st.st_mode)) {
				snprintf(to, sizeof(to), "%s/%d-%s", dir, i,
					 base);
				cli_copy_file(e[k], to);
			}
			free(e[k]);
		}
		free(e);
	}
	return true;
}

/*
 * Merge @in[0..n) into @out with the engine: libFuzzer adds to @out;
 * afl-cmin writes @out (which must not exist yet).
 */
static bool engine_merge(const char *engine, const char *bin, const char *out,
			 char *const *in, int n, const char *log)
{
	char **argv = calloc((size_t)n + 8, sizeof(*argv));
	char tmp[PATH_MAX] = "";
	int a = 0, i, rc;

	if (!argv)
		return false;
	if (!strcmp(engine, "afl")) {
		const char *t = getenv("TMPDIR");

		snprintf(tmp, sizeof(tmp), "%s/mmtorture-cmin-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(tmp) || !union_dir(in, n, tmp)) {
			free(argv);
			return false;
		}
		argv[a++] = "afl-cmin";
		argv[a++] = "-i";
		argv[a++] = tmp;
		argv[a++] = "-o";
		argv[a++] = (char *)out;
		argv[a++] = "--";
		argv[a++] = (char *)bin;
	} else {
		argv[a++] = (char *)bin;
		argv[a++] = "-merge=1";
		argv[a++] = (char *)out;
		for (i = 0; i < n; i++)
			argv[a++] = in[i];
	}
	argv[a] = NULL;
	rc = run_tool(argv, log);
	if (tmp[0])
		rm_tree(tmp);
	free(argv);
	if (rc) {
		fprintf(stderr,
			"%s corpus: %s exited with status %d; its log:\n",
			CLI_PROG, !strcmp(engine, "afl") ? "afl-cmin" : bin,
			rc);
		show_log(log);
		return false;
	}
	return true;
}

struct corpus_args {
	const char *engine, *build, *target, *name, *desc, *corpora;
	bool bugs_given;
	uint64_t bugs;
	double seconds;
};

static int check_dir(const char *dir, bool must_exist)
{
	struct stat st;

	if (stat(dir, &st)) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return cli_usage_error("corpus", "'%s': %s", dir,
				       strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return cli_usage_error("corpus", "'%s' is not a directory",
				       dir);
	return 0;
}

static int engine_bin(struct corpus_args *a, char *bin, size_t len)
{
	mmt_opset_t ops;

	if (!mmt_trace_target_ops(a->target, &ops))
		return cli_usage_error(
			"corpus",
			"'%s' is no target (see `mmtorture list targets`)",
			a->target);
	if (!a->engine) {
		a->engine = "libfuzzer";
		if (!find_engine("libfuzzer", a->build, a->target, bin, len) &&
		    find_engine("afl", a->build, a->target, bin, len))
			a->engine = "afl";
	}
	if (!find_engine(a->engine, a->build, a->target, bin, len)) {
		fprintf(stderr,
			"%s corpus: no %s binary for %s at %s (build the %s preset)\n",
			CLI_PROG, a->engine, a->target, bin,
			!strcmp(a->engine, "afl") ? "afl" : "fuzz");
		return CLI_EXIT_FAIL;
	}
	return 0;
}

static int corpus_merge(struct corpus_args *a, int argc, char **argv)
{
	char bin[PATH_MAX], log[PATH_MAX + 16];
	unsigned long before, after;
	int rc, i;

	if (argc < 3)
		return cli_usage_error("corpus",
				       "merge: TARGET OUT IN... expected");
	a->target = argv[0];
	rc = engine_bin(a, bin, sizeof(bin));
	if (rc)
		return rc;
	for (i = 2; i < argc; i++)
		if ((rc = check_dir(argv[i], true)))
			return rc;
	if ((rc = check_dir(argv[1], false)))
		return rc;
	if (mkdir(argv[1], 0755) && errno != EEXIST) {
		fprintf(stderr, "%s corpus: cannot create %s: %s\n", CLI_PROG,
			argv[1], strerror(errno));
		return CLI_EXIT_FAIL;
	}
	before = count_files(argv[1]);
	tool_log(log, sizeof(log));
	if (!strcmp(a->engine, "afl")) {
		/* afl-cmin writes a fresh directory: merge OUT in as well. */
		char fresh[PATH_MAX + 16];
		char **in = calloc((size_t)argc, sizeof(*in));
		size_t nr, k;
		char **e;

		if (!in)
			return CLI_EXIT_FAIL;
		snprintf(fresh, sizeof(fresh), "%s.cmin", argv[1]);
		rm_tree(fresh);
		in[0] = argv[1];
		for (i = 2; i < argc; i++)
			in[i - 1] = argv[i];
		if (!engine_merge(a->engine, bin, fresh, in, argc - 1, log)) {
			free(in);
			rm_tree(fresh);
			return CLI_EXIT_FAIL;
		}
		free(in);
		e = cli_dir_entries(fresh, &nr);
		for (k = 0; e && k < nr; k++) {
			char to[PATH_MAX + 256];

			snprintf(to, sizeof(to), "%s/%s", argv[1],
				 strrchr(e[k], '/') + 1);
			if (access(to, F_OK))
				rename(e[k], to);
			free(e[k]);
		}
		free(e);
		rm_tree(fresh);
	} else if (!engine_merge(a->engine, bin, argv[1], argv + 2, argc - 2,
				 log)) {
		return CLI_EXIT_FAIL;
	}
	after = count_files(argv[1]);
	unlink(log);
	printf("corpus merge %s (%s): %s: %lu -> %lu inputs (%lu added)\n",
	       a->target, a->engine, argv[1], before, after, after - before);
	return CLI_EXIT_OK;
}

static int corpus_minimize(struct corpus_args *a, int argc, char **argv)
{
	char bin[PATH_MAX], fresh[PATH_MAX + 16], old[PATH_MAX + 16],
		log[PATH_MAX + 16];
	unsigned long before, after;
	char *dir;
	int rc;

	if (argc != 2)
		return cli_usage_error("corpus",
				       "minimize: TARGET DIR expected");
	a->target = argv[0];
	dir = argv[1];
	rc = engine_bin(a, bin, sizeof(bin));
	if (rc)
		return rc;
	if ((rc = check_dir(dir, true)))
		return rc;
	before = count_files(dir);
	snprintf(fresh, sizeof(fresh), "%s.min", dir);
	snprintf(old, sizeof(old), "%s.old", dir);
	tool_log(log, sizeof(log));
	rm_tree(fresh);
	if (strcmp(a->engine, "afl") && mkdir(fresh, 0755)) {
		fprintf(stderr, "%s corpus: cannot create %s: %s\n", CLI_PROG,
			fresh, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	if (!engine_merge(a->engine, bin, fresh, &dir, 1, log)) {
		rm_tree(fresh);
		return CLI_EXIT_FAIL;
	}
	after = count_files(fresh);
	if (!after && before) {
		fprintf(stderr,
			"%s corpus: the engine kept no input of %s: left as it was\n",
			CLI_PROG, dir);
		rm_tree(fresh);
		return CLI_EXIT_FAIL;
	}
	/* Swap: the old corpus goes only once the new one is in place. */
	rm_tree(old);
	if (rename(dir, old) || rename(fresh, dir)) {
		fprintf(stderr, "%s corpus: cannot swap %s in: %s\n", CLI_PROG,
			fresh, strerror(errno));
		if (access(dir, F_OK))
			rename(old, dir);
		return CLI_EXIT_FAIL;
	}
	rm_tree(old);
	unlink(log);
	printf("corpus minimize %s (%s): %s: %lu -> %lu inputs\n", a->target,
	       a->engine, dir, before, after);
	return CLI_EXIT_OK;
}

/* The same canonical text (mmt_program_equal() skips the throttle). */
static bool same_text(const struct mmt_program *a, const struct mmt_program *b)
{
	char *ta = NULL, *tb = NULL;
	size_t na = 0, nb = 0;
	FILE *fa = open_memstream(&ta, &na), *fb = open_memstream(&tb, &nb);
	bool same = false;

	if (fa && fb) {
		mmt_trace_print(a, fa);
		mmt_trace_print(b, fb);
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	same = ta && tb && !strcmp(ta, tb);
	free(ta);
	free(tb);
	return same;
}

/* mkdir -p */
static bool mkdirs(const char *dir)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) && errno != EEXIST)
				return false;
			*p = '/';
		}
	return !mkdir(buf, 0755) || errno == EEXIST;
}

static bool good_name(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 100 || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Write @text at @path only if nothing is there: tmp, fsync, link. */
static bool create_new(const char *path, const char *text, char *err,
		       size_t errlen)
{
	char tmp[PATH_MAX + 32];

	if (snprintf(tmp, sizeof(tmp), "%s.promote-tmp", path) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "%.600s...: the path is too long", path);
		return false;
	}
	if (!mmt_write_file_atomic(tmp, text, strlen(text), err, errlen))
		return false;
	if (link(tmp, path)) {
		snprintf(err, errlen, "%.600s: %s", path,
			 errno == EEXIST ? "exists: choose another --name" :
					   strerror(errno));
		unlink(tmp);
		return false;
	}
	unlink(tmp);
	return true;
}

static int corpus_promote(struct corpus_args *a, int argc, char **argv)
{
	struct mmt_minimize_opts mo;
	struct mmt_minimize_stats st;
	struct mmt_program in, out, back;
	struct cli_replay r;
	enum mmt_trace_form form;
	char dir[PATH_MAX], path[PATH_MAX + 128], err[768], *text = NULL;
	mmt_opset_t ops;
	unsigned int i, n;
	int rc = CLI_EXIT_FAIL;

	if (argc != 1)
		return cli_usage_error("corpus",
				       "promote: one FILE expected (%d given)",
				       argc);
	if (!a->target)
		return cli_usage_error("corpus", "promote: --target T needed");
	if (!mmt_trace_target_ops(a->target, &ops))
		return cli_usage_error(
			"corpus",
			"--target: '%s' is no target (see `mmtorture list targets`)",
			a->target);
	if (!a->name || !good_name(a->name))
		return cli_usage_error(
			"corpus",
			"--name: '%s' is not a name (a-z, 0-9 and '-', not first)",
			a->name ? a->name : "");
	if (!a->desc || !*a->desc || strchr(a->desc, '\n'))
		return cli_usage_error("corpus",
				       "--desc: one line saying what it shows");
	snprintf(dir, sizeof(dir), "%s/%s/regress",
		 a->corpora ? a->corpora : MMT_SOURCE_DIR "/corpora",
		 a->target);
	snprintf(path, sizeof(path), "%s/%s.trace", dir, a->name);
	if (!access(path, F_OK)) {
		fprintf(stderr,
			"%s corpus promote: %s exists: choose another --name\n",
			CLI_PROG, path);
		return CLI_EXIT_FAIL;
	}

	cli_replay_init(&r);
	r.target = a->target;
	r.bugs_given = a->bugs_given;
	r.opts.bugs = a->bugs;
	mmt_program_init(&in);
	mmt_program_init(&out);
	if (!cli_replay_load(&r, argv[0], &in, &form, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s corpus promote: %s\n", CLI_PROG, err);
		mmt_program_free(&in);
		return CLI_EXIT_USAGE;
	}
	if (a->bugs_given || form != MMT_TRACE_FORM_TEXT)
		in.hdr.bugs = a->bugs;

	mmt_minimize_opts_default(&mo);
	mo.max_seconds = a->seconds;
	if (!mmt_minimize_trace(&in, &mo, &out, &st, err, sizeof(err))) {
		fprintf(stderr, "%s corpus promote: %s: refused: %s\n",
			CLI_PROG, argv[0], err);
		goto out;
	}
	if (st.concurrent && !(ops & MMT_TRACE_SET_MT)) {
		fprintf(stderr,
			"%s corpus promote: %s: refused: a concurrent program (a schedule, kernel threads or interrupts) belongs in a concurrent target's regress/ (%s-mt?)\n",
			CLI_PROG, argv[0], a->target);
		goto out;
	}
	/* As ctest replays it: every bug off. */
	n = st.concurrent ? mo.repeats : 1;
	for (i = 0; i < n; i++) {
		struct mmt_exec_opts eo;
		struct mmt_finding f;
		enum mmt_exec_result res;

		mmt_exec_opts_default(&eo);
		eo.override_bugs = true;
		eo.bugs = 0;
		memset(&f, 0, sizeof(f));
		res = mmt_trace_execute(&out, &eo, &f);
		if (res == MMT_EXEC_FINDING || res == MMT_EXEC_SETUP_FAILED) {
			fprintf(stderr,
				"%s corpus promote: %s: refused: with every bug off it still reports %s: "
				"ctest replays corpora/%s/regress/ with no bug on (test-%s-regress-replay) and would fail; "
				"%s\n",
				CLI_PROG, argv[0],
				res == MMT_EXEC_FINDING ?
					f.signature :
					"a machine that cannot be set up",
				a->target, a->target,
				out.hdr.bugs ?
					"the finding is not the injected bug's alone" :
					"it needs no injected bug (a bug of the model, or the trace's own misuse): promote it once it runs clean");
			mmt_finding_free(&f);
			goto out;
		}
		mmt_finding_free(&f);
	}
	{
		char note[1024], bugs[512];

		mmt_bugs_format(out.hdr.bugs, bugs, sizeof(bugs));
		snprintf(
			note, sizeof(note),
			"%s\n# Regression (corpus promote): clean with every bug off, as ctest's\n"
			"# test-%s-regress-replay runs it; `mmtorture replay FILE` (bugs %s)\n"
			"# shows the finding again.",
			a->desc, a->target, bugs);
		text = mmt_minimize_format(&out, &st, NULL, note);
	}
	if (!text) {
		fprintf(stderr, "%s corpus promote: out of memory\n", CLI_PROG);
		goto out;
	}
	/* What is written must parse back to what was validated. */
	mmt_program_init(&back);
	if (!mmt_trace_parse(text, strlen(text), path, &back, err,
			     sizeof(err)) ||
	    !same_text(&back, &out)) {
		fprintf(stderr,
			"%s corpus promote: internal error: the text does not parse back (%s)\n",
			CLI_PROG, err);
		mmt_program_free(&back);
		goto out;
	}
	mmt_program_free(&back);
	if (!mkdirs(dir)) {
		fprintf(stderr, "%s corpus promote: cannot create %s: %s\n",
			CLI_PROG, dir, strerror(errno));
		goto out;
	}
	if (!create_new(path, text, err, sizeof(err))) {
		fprintf(stderr, "%s corpus promote: %s\n", CLI_PROG, err);
		goto out;
	}
	printf("promoted %s: %s (%zu -> %zu operations, %.2f s); ctest replays it as test-%s-regress-replay\n",
	       st.signature, path, st.ops_before, st.ops_after, st.seconds,
	       a->target);
	rc = CLI_EXIT_OK;
out:
	free(text);
	mmt_finding_free(&st.finding);
	mmt_program_free(&out);
	mmt_program_free(&in);
	return rc;
}

int cmd_corpus(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "desc", required_argument, NULL, OPT_DESC },
		{ "bug", required_argument, NULL, OPT_BUG },
		{ "corpora", required_argument, NULL, OPT_CORPORA },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "build", required_argument, NULL, OPT_BUILD },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct corpus_args a = { .seconds = 300 };
	const char *sub;
	char err[256];
	uint64_t v, mask;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "merge") && strcmp(sub, "minimize") &&
	    strcmp(sub, "promote"))
		return cli_usage_error(
			"corpus",
			"'%s' is no subcommand (merge, minimize, promote)",
			sub);
	argc--;
	argv++;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TARGET:
			a.target = optarg;
			break;
		case OPT_NAME:
			a.name = optarg;
			break;
		case OPT_DESC:
			a.desc = optarg;
			break;
		case OPT_BUG:
			if (!mmt_bugs_parse(optarg, &mask, err, sizeof(err)))
				return cli_usage_error("corpus", "--bug: %s",
						       err);
			a.bugs |= mask;
			a.bugs_given = true;
			break;
		case OPT_CORPORA:
			a.corpora = optarg;
			break;
		case OPT_TIME:
			if (!cli_parse_u64("corpus", "--time", optarg, 0,
					   7 * 24 * 3600, &v))
				return CLI_EXIT_USAGE;
			a.seconds = (double)v;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "libfuzzer") &&
			    strcmp(optarg, "afl"))
				return cli_usage_error(
					"corpus",
					"--engine: '%s' is not libfuzzer or afl",
					optarg);
			a.engine = optarg;
			break;
		case OPT_BUILD:
			a.build = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("corpus", c, argv);
		}
	}
	if (!strcmp(sub, "promote"))
		return corpus_promote(&a, argc - optind, argv + optind);
	if (a.target || a.name || a.desc || a.bugs_given || a.corpora)
		return cli_usage_error(
			"corpus",
			"%s: --target, --name, --desc, --bug and --corpora are promote's",
			sub);
	if (!strcmp(sub, "merge"))
		return corpus_merge(&a, argc - optind, argv + optind);
	return corpus_minimize(&a, argc - optind, argv + optind);
}
