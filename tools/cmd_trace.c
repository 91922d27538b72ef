/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_trace.c - `mmtorture trace print|compile|ops`: the operation
 * language (mmt/trace.h) from the command line.
 *
 *   print FILE...            either spelling -> canonical text on stdout
 *   compile FILE -o OUT      text (or binary) -> the binary form
 *   check FILE|DIR...        files people keep parse (corpora/T/seeds, regress)
 *   ops [--json]             the operation table: keyword, arguments, help
 *
 * A file that does not parse prints "FILE:LINE:COL: message" on stderr and
 * makes the command exit 1; wrong usage exits 2 naming the option.
 * compile warns when the binary form cannot say the program exactly (a
 * header outside the binary's choices, bugs, or operations that the binary
 * rules canonicalise), since the fuzzers will run the canonical neighbour.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "replay.h"
#include "mmt/mmt.h"
#include "mmt/trace.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace print FILE...\n"
		"       %s trace compile FILE -o OUT\n"
		"       %s trace check FILE|DIR...\n"
		"       %s trace ops [--json]\n"
		"       %s trace dict [--target T]\n"
		"\n"
		"The operation language: one program, a text spelling for people and a\n"
		"binary spelling for fuzzers (docs/trace-language.md).\n"
		"\n"
		"  print    load each FILE (text if it is meant as text: '%s' first\n"
		"           or anything that looks like text; binary otherwise) and\n"
		"           print it as canonical text\n"
		"  compile  load FILE and write its binary form to OUT\n"
		"  check    check files and corpus directories people keep: they parse\n"
		"  ops      list the operations: keyword, arguments and what each does\n"
		"  dict     print a fuzzing dictionary for a target's binary inputs\n"
		"\n"
		"'%s trace SUBCOMMAND --help' describes a subcommand.\n"
		"Exit status: 0 ok, 1 a file failed to load or write, 2 wrong usage.\n",
		CLI_PROG, CLI_PROG, CLI_PROG, CLI_PROG, CLI_PROG,
		MMT_TRACE_TEXT_MAGIC, CLI_PROG);
}

/* ---- print ---- */

static void print_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace print [--target T] FILE...\n"
		"\n"
		"Print each program as canonical text (a binary file is decoded first,\n"
		"over the operations of target T: --target, else a path component naming\n"
		"a target, else all).\n"
		"With several files each is preceded by a '# ==> FILE <==' comment line.\n"
		"A file decoded as binary is named on stderr (any bytes decode to some\n"
		"program); a file meant as text (NAME.trace, or text-looking bytes) must\n"
		"parse, else FILE:LINE:COL says why.\n"
		"\n"
		"Options:\n"
		"  --target T   decode binary files over target T's operations\n"
		"  --help       this text\n",
		CLI_PROG);
}

static int cmd_print(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mmt_program p;
	struct cli_replay r;
	enum mmt_trace_form form;
	mmt_opset_t set;
	char err[512];
	size_t len;
	int c, i, rc = CLI_EXIT_OK;

	cli_replay_init(&r);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!mmt_trace_target_ops(optarg, &set))
				return cli_usage_error(
					"trace print",
					"--target: '%s' is no target", optarg);
			r.target = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("trace print", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("trace print", "no FILE given");
	for (i = optind; i < argc; i++) {
		mmt_program_init(&p);
		if (!cli_replay_load(&r, argv[i], &p, &form, &len, err,
				     sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			mmt_program_free(&p);
			rc = CLI_EXIT_FAIL;
			continue;
		}
		/* Say so: binary decoding makes a program of any bytes. */
		if (form != MMT_TRACE_FORM_TEXT)
			fprintf(stderr,
				"%s trace print: %s: decoded as binary (%zu bytes, over %s's operations): not a text trace\n",
				CLI_PROG, argv[i], len,
				cli_replay_target(&r, argv[i]));
		if (argc - optind > 1)
			printf("# ==> %s <==\n", argv[i]);
		mmt_trace_print(&p, stdout);
		mmt_program_free(&p);
	}
	return rc;
}

/* ---- compile ---- */

static void compile_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace compile [--target T] FILE -o OUT\n"
		"\n"
		"Write the binary form of the program in FILE (either spelling) to OUT.\n"
		"With --target, over that fuzz target's operations (`mmtorture list\n"
		"targets`): the input for fuzz-T, afl-T and T-replay; an operation\n"
		"outside the target's set is an error.  A concurrent program (a sched=\n"
		"other than seq, kernel threads) needs a concurrent target (T-mt).\n"
		"A note on stderr says when the binary form canonicalises the program:\n"
		"its header has no binary equivalent (more than 4 cpus or 2 nodes, other\n"
		"memory sizes, bugs), or operations break the binary rules (e.g. a\n"
		"blocking GFP mask in atomic context), which decoding repairs or skips.\n"
		"\n"
		"Options:\n"
		"  -o, --output OUT   the file to write (required)\n"
		"  --target T         encode over target T's operations\n"
		"  --help             this text\n",
		CLI_PROG);
}

static int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mmt_program p, back;
	const char *outpath = NULL, *target = NULL;
	mmt_opset_t set = 0;
	uint8_t *bytes;
	char err[512];
	size_t n;
	FILE *f;
	int c, rc = CLI_EXIT_OK;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case 't':
			if (!mmt_trace_target_ops(optarg, &set))
				return cli_usage_error(
					"trace compile",
					"--target: '%s' is no target (see `%s list "
					"targets`)",
					optarg, CLI_PROG);
			target = optarg;
			break;
		case 'h':
			compile_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("trace compile", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("trace compile", "no FILE given");
	if (argc - optind > 1)
		return cli_usage_error("trace compile",
				       "unexpected argument '%s' (one FILE)",
				       argv[optind + 1]);
	if (!outpath)
		return cli_usage_error("trace compile", "-o OUT is required");
	if (!mmt_trace_load(argv[optind], &p, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CLI_EXIT_FAIL;
	}
	if (!(set & MMT_TRACE_SET_MT)) {
		/* Only a concurrent target's binary form has these. */
		size_t i;

		for (i = 0;
		     i < p.nr_ops && p.ops[i].code < MMT_OP_KTHREAD_START; i++)
			;
		if (i < p.nr_ops || p.sched.source != MMT_SCHED_SEQ) {
			if (i < p.nr_ops)
				fprintf(stderr,
					"%s:%u: %s: %s run in concurrent programs only: compile with --target T-mt (see `%s list targets`)\n",
					argv[optind], p.ops[i].line,
					mmt_op_info(p.ops[i].code)->name,
					p.ops[i].code == MMT_OP_INTERRUPT ?
						"interrupt handlers" :
						"kernel threads",
					CLI_PROG);
			else
				fprintf(stderr,
					"%s: sched=%s: a concurrent program: compile with --target T-mt (see `%s list targets`)\n",
					argv[optind],
					mmt_sched_source_name(p.sched.source),
					CLI_PROG);
			mmt_program_free(&p);
			return CLI_EXIT_FAIL;
		}
	}
	if (target) {
		size_t i;

		for (i = 0; i < p.nr_ops; i++)
			if (!((set >> p.ops[i].code) & 1)) {
				fprintf(stderr,
					"%s:%u: %s is not an operation of target %s (see `%s list "
					"targets`)\n",
					argv[optind], p.ops[i].line,
					mmt_op_info(p.ops[i].code)->name,
					target, CLI_PROG);
				mmt_program_free(&p);
				return CLI_EXIT_FAIL;
			}
	}
	n = mmt_trace_encode_set(&p, set, NULL, 0);
	bytes = malloc(n ? n : 1);
	if (!bytes) {
		fprintf(stderr, "%s trace compile: out of memory\n", CLI_PROG);
		mmt_program_free(&p);
		return CLI_EXIT_FAIL;
	}
	mmt_trace_encode_set(&p, set, bytes, n);
	mmt_trace_decode_set(bytes, n, set, &back);
	if (!mmt_program_equal(&p, &back))
		fprintf(stderr,
			"%s trace compile: note: the binary form canonicalises %s "
			"(%zu operation(s) in, %zu out); '%s trace print %s' shows "
			"what the fuzzers will run\n",
			CLI_PROG, argv[optind], p.nr_ops, back.nr_ops, CLI_PROG,
			outpath);
	f = fopen(outpath, "wb");
	if (!f || fwrite(bytes, 1, n, f) != n) {
		fprintf(stderr, "%s trace compile: %s: %s\n", CLI_PROG, outpath,
			strerror(errno));
		rc = CLI_EXIT_FAIL;
	}
	if (f && fclose(f) && rc == CLI_EXIT_OK) {
		fprintf(stderr, "%s trace compile: %s: %s\n", CLI_PROG, outpath,
			strerror(errno));
		rc = CLI_EXIT_FAIL;
	}
	free(bytes);
	mmt_program_free(&back);
	mmt_program_free(&p);
	return rc;
}

/* ---- ops ---- */

static void ops_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace ops [--json]\n"
		"\n"
		"The operation table: each operation's text form and what it does.  Handles\n"
		"are written prefix+number (p0, co3); GFP masks as names joined by '|';\n"
		"other numbers key=value.\n"
		"\n"
		"Options:\n"
		"  --json   a JSON array: opcode, name, result, ends, args, help\n"
		"  --help   this text\n",
		CLI_PROG);
}

static const char *type_name(unsigned int type)
{
	static const char *const names[MMT_NR_ARG_TYPES] = {
		[MMT_ARG_HANDLE] = "handle",
		[MMT_ARG_CPU] = "cpu",
		[MMT_ARG_NODE] = "node",
		[MMT_ARG_ORDER] = "order",
		[MMT_ARG_GFP] = "gfp",
		[MMT_ARG_SIZE] = "size",
		[MMT_ARG_COUNT] = "count",
		[MMT_ARG_SLAB_FLAGS] = "slab_flags",
		[MMT_ARG_ENUM] = "enum",
		[MMT_ARG_NUM] = "number",
	};

	return type < MMT_NR_ARG_TYPES ? names[type] : "?";
}

/* "p = alloc_pages GFP order=N"; "misuse kfree_at o off=N" */
static void synopsis(unsigned int code, char *buf, size_t len)
{
	const struct mmt_op_info *info = mmt_op_info(code);
	size_t n = 0;
	int i;

#define PUT(...)                                                               \
	do {                                                                   \
		int w_ =                                                       \
			snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (w_ > 0 && n + (size_t)w_ < len)                            \
			n += (size_t)w_;                                       \
	} while (0)
	if (info->result)
		PUT("%s = ", mmt_handle_prefix(info->result));
	if (MMT_OP_IS_MISUSE(code))
		PUT("misuse ");
	PUT("%s", info->name);
	for (i = 0; i < info->nargs; i++) {
		const struct mmt_arg_info *a = &info->args[i];

		switch (a->type) {
		case MMT_ARG_HANDLE:
			PUT(" %s", mmt_handle_prefix(a->kind));
			break;
		case MMT_ARG_CPU:
			PUT(" N");
			break;
		case MMT_ARG_GFP:
			PUT(" GFP");
			break;
		case MMT_ARG_SLAB_FLAGS:
			PUT(" FLAGS");
			break;
		case MMT_ARG_ENUM:
			PUT(" %s", a->name);
			break;
		default:
			PUT(" %s=N", a->name);
			break;
		}
	}
#undef PUT
}

static json_t *ops_json(void)
{
	json_t *arr = json_array();
	unsigned int c;
	int i;

	for (c = 0; c < MMT_NR_OPCODES; c++) {
		const struct mmt_op_info *info = mmt_op_info(c);
		json_t *args = json_array();

		for (i = 0; i < info->nargs; i++) {
			const struct mmt_arg_info *a = &info->args[i];
			json_t *o = json_pack("{s:s, s:s}", "name", a->name,
					      "type", type_name(a->type));

			if (a->type == MMT_ARG_HANDLE)
				json_object_set_new(
					o, "kind",
					json_string(
						mmt_handle_prefix(a->kind)));
			if (a->type == MMT_ARG_ENUM) {
				json_t *vals = json_array();
				unsigned int v;

				for (v = 0; v < mmt_trace_enum_size(a->kind);
				     v++)
					json_array_append_new(
						vals,
						json_string(mmt_trace_enum_name(
							a->kind, v)));
				json_object_set_new(o, "values", vals);
			}
			json_array_append_new(args, o);
		}
		json_array_append_new(
			arr,
			json_pack("{s:i, s:s, s:o, s:o, s:o, s:s}", "opcode",
				  (int)c, "name", info->name, "result",
				  info->result ? json_string(mmt_handle_prefix(
							 info->result)) :
						 json_null(),
				  "ends",
				  info->ends ?
					  json_string(info->args[info->ends - 1]
							      .name) :
					  json_null(),
				  "args", args, "help", info->help));
		/* Text only, written `misuse OP`: in no target's set. */
		if (MMT_OP_IS_MISUSE(c))
			json_object_set_new(json_array_get(arr, c), "misuse",
					    json_true());
	}
	return arr;
}

static int cmd_ops(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	char syn[160];
	unsigned int op;
	int c, w = 0;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			ops_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("trace ops", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("trace ops", "unexpected argument '%s'",
				       argv[optind]);
	if (json) {
		json_t *arr = ops_json();

		json_dumpf(arr, stdout, CLI_JSON_FLAGS);
		fputc('\n', stdout);
		json_decref(arr);
		return CLI_EXIT_OK;
	}
	for (op = 0; op < MMT_NR_OPCODES; op++) {
		synopsis(op, syn, sizeof(syn));
		if ((int)strlen(syn) > w)
			w = (int)strlen(syn);
	}
	printf("%-4s %-*s  %s\n", "CODE", w, "OPERATION", "WHAT");
	for (op = 0; op < MMT_NR_OPCODES; op++) {
		synopsis(op, syn, sizeof(syn));
		printf("%-4u %-*s  %s\n", op, w, syn, mmt_op_info(op)->help);
	}
	return CLI_EXIT_OK;
}

/* ---- dispatch ---- */

/* ---- dict ---- */

static void dict_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace dict [--target T] [-o FILE]\n"
		"\n"
		"Print a fuzzing dictionary (libFuzzer -dict=, AFL++ -x) for the binary\n"
		"form over target T's operations (default: stack): every named GFP mask\n"
		"and bit as the 4 bytes an operation carries, the kmalloc size classes\n"
		"as the 2 bytes a size argument carries, and each operation of the\n"
		"target with a typical first argument.  The build writes one per\n"
		"target (build/PRESET/targets/T.dict); `%s fuzz` passes it on.\n",
		CLI_PROG, CLI_PROG);
}

static int cmd_dict(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *target = "stack", *outpath = NULL;
	FILE *out = stdout;
	mmt_opset_t set = 0;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			dict_usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("trace dict", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("trace dict", "unexpected argument '%s'",
				       argv[optind]);
	if (!mmt_trace_target_ops(target, &set))
		return cli_usage_error("trace dict",
				       "--target: '%s' is no target", target);
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "%s trace dict: %s: %s\n", CLI_PROG, outpath,
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	mmt_trace_write_dict(out, target, set);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "%s trace dict: %s: %s\n", CLI_PROG, outpath,
			strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- check ---- */

static void check_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s trace check FILE|DIR...\n"
		"\n"
		"Check inputs people keep.  A FILE is loaded as replay would: a NAME.trace\n"
		"file, or one that looks like text, must parse as text.  A DIR is a corpus\n"
		"directory (corpora/T/seeds, corpora/T/regress): every file but README*\n"
		"and *.md must be a NAME.trace that parses.  Each problem is printed as\n"
		"FILE:LINE:COL: reason.  The build and ctest run this on every target's\n"
		"seeds/ and regress/.\n"
		"\n"
		"Options:\n"
		"  --help   this text\n"
		"\n"
		"Exit status: 0 all good, 1 a problem, 2 wrong usage.\n",
		CLI_PROG);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long bad = 0, ok = 0;
	int c, i;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_getopt_error("trace check", c, argv);
		check_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (optind >= argc)
		return cli_usage_error("trace check", "no FILE or DIR given");
	for (i = optind; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			bad++;
		} else if (S_ISDIR(st.st_mode)) {
			bad += cli_corpus_check(argv[i], &ok);
		} else {
			struct mmt_program p;
			char err[512];

			if (mmt_trace_load(argv[i], &p, err, sizeof(err))) {
				ok++;
			} else {
				fprintf(stderr, "%s\n", err);
				bad++;
			}
			mmt_program_free(&p);
		}
	}
	printf("trace check: %lu file(s) ok, %lu problem(s)\n", ok, bad);
	return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cmd_trace(int argc, char **argv)
{
	const char *sub;

	if (argc < 2)
		return cli_usage_error(
			"trace",
			"expected a subcommand: print, compile, check, ops or dict");
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(sub, "print"))
		return cmd_print(argc - 1, argv + 1);
	if (!strcmp(sub, "compile"))
		return cmd_compile(argc - 1, argv + 1);
	if (!strcmp(sub, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(sub, "ops"))
		return cmd_ops(argc - 1, argv + 1);
	if (!strcmp(sub, "dict"))
		return cmd_dict(argc - 1, argv + 1);
	if (sub[0] == '-')
		return cli_usage_error(
			"trace",
			"unknown option '%s' (options go after the subcommand)",
			sub);
	return cli_usage_error(
		"trace",
		"unknown subcommand '%s' (print, compile, check, ops or dict)",
		sub);
}
