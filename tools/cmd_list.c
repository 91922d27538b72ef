/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_list.c - `mmtorture list [layers|oracles|bugs|targets|all] [--json]`:
 * what this build knows: the layer implementations (tools/layers.c), the
 * catalogue of oracles (mmt_checks(): every check the model and the
 * interpreter report, with its layer, tier, seed and what it checks) and
 * the injectable bugs (mmt_bugs()), as aligned tables or as one JSON
 * object.  `checks` is the older name of `oracles` and lists the same
 * catalogue (its JSON key follows the name asked for).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mmt/mmt.h"
#include "plugins/heap.h"

enum {
	LIST_LAYERS = 1u << 0,
	LIST_CHECKS = 1u << 1, /* the catalogue, asked for as "checks" */
	LIST_BUGS = 1u << 2,
	LIST_ORACLES = 1u << 3, /* the same catalogue, as "oracles" */
	LIST_TARGETS = 1u << 4, /* the fuzz targets */
	LIST_ALL = LIST_LAYERS | LIST_ORACLES | LIST_BUGS | LIST_TARGETS,
};

static const char *tier_name(enum mmt_check_tier tier)
{
	switch (tier) {
	case MMT_TIER_API:
		return "api";
	case MMT_TIER_CHEAP:
		return "cheap";
	case MMT_TIER_EXPENSIVE:
		return "expensive";
	}
	return "?";
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s list [layers|oracles|bugs|targets|all] [--json]\n"
		"\n"
		"List what this build knows (default: all):\n"
		"  layers   layer implementations, selectable by name in later commands\n"
		"  oracles  the catalogue of oracles: every check the model and the\n"
		"           interpreter report, with its name, layer, tier (api, cheap,\n"
		"           expensive), the seed it protects and what it checks\n"
		"  checks   the same catalogue (its older name)\n"
		"  bugs     injectable bugs (run --bug ID, or MMT_BUGS=ID,ID) and the check\n"
		"           expected to catch each\n"
		"  targets  the fuzz targets (mmtorture fuzz --target T) and what each covers\n"
		"\n"
		"Options:\n"
		"  --json   one JSON object {\"layers\": [...], \"oracles\": [...], \"bugs\": [...],\n"
		"           \"targets\": [...]}"
		"           with the requested keys (\"checks\" when asked by that name)\n"
		"  --help   this text\n",
		CLI_PROG);
}

static int width(int cur, const char *s)
{
	int n = (int)strlen(s);

	return n > cur ? n : cur;
}

/* ---- tables ---- */

static void print_layers(void)
{
	const struct cli_layer *l = NULL;
	size_t nr, i;
	int wl = 5, wi = 4;

	l = cli_layers(&nr);
	for (i = 0; i < nr; i++) {
		wl = width(wl, l[i].layer);
		wi = width(wi, l[i].impl);
	}
	printf("%-*s  %-*s  %-7s  %s\n", wl, "LAYER", wi, "IMPL", "DEFAULT",
	       "DESCRIPTION");
	for (i = 0; i < nr; i++)
		printf("%-*s  %-*s  %-7s  %s\n", wl, l[i].layer, wi, l[i].impl,
		       l[i].is_default ? "yes" : "no", l[i].desc);
}

/* The catalogue: its name in the header says which word was asked for. */
static void print_checks(const char *title)
{
	const struct mmt_check_info *c;
	size_t nr, i;
	int wn = 5, wl = 5, wt = 4, ws = 4;

	c = mmt_checks(&nr);
	for (i = 0; i < nr; i++) {
		wn = width(wn, c[i].name);
		wl = width(wl, c[i].layer);
		wt = width(wt, tier_name(c[i].tier));
		ws = width(ws, c[i].seed);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, title, wl, "LAYER", wt,
	       "TIER", ws, "SEED", "WHAT");
	for (i = 0; i < nr; i++)
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, c[i].name, wl,
		       c[i].layer, wt, tier_name(c[i].tier), ws, c[i].seed,
		       c[i].what);
}

static void print_bugs(void)
{
	const struct mmt_bug_info *b;
	size_t nr, i;
	int wi = 2, ws = 4, wl = 5, wc = 9;

	b = mmt_bugs(&nr);
	for (i = 0; i < nr; i++) {
		wi = width(wi, b[i].id);
		ws = width(ws, b[i].seed);
		wl = width(wl, b[i].layer);
		wc = width(wc, b[i].caught_by);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", wi, "ID", ws, "SEED", wl,
	       "LAYER", wc, "CAUGHT_BY", "DESCRIPTION");
	for (i = 0; i < nr; i++)
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", wi, b[i].id, ws,
		       b[i].seed, wl, b[i].layer, wc, b[i].caught_by,
		       b[i].desc);
}

/* ---- JSON ---- */

static json_t *json_layers(void)
{
	const struct cli_layer *l;
	json_t *a = json_array();
	size_t nr, i;

	l = cli_layers(&nr);
	for (i = 0; i < nr; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:b, s:s}", "layer",
				     l[i].layer, "impl", l[i].impl, "default",
				     (int)l[i].is_default, "desc", l[i].desc));
	return a;
}

static json_t *json_checks(void)
{
	const struct mmt_check_info *c;
	json_t *a = json_array();
	size_t nr, i;

	c = mmt_checks(&nr);
	for (i = 0; i < nr; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name",
				     c[i].name, "layer", c[i].layer, "tier",
				     tier_name(c[i].tier), "seed", c[i].seed,
				     "what", c[i].what));
	return a;
}

/*
 * The object-level target malloc (targets/malloc.c): not the operation
 * language, so not in the model's target table; its allocators and its
 * shadow oracles (targets/plugins/).
 */
#define MALLOC_TARGET_WHAT                                                  \
	"a user's allocator (--allocator) under shadow oracles: malloc, calloc, " \
	"free, realloc, aligned alloc across threads"

static void print_allocators(void)
{
	const struct mmt_heap_builtin *b = NULL;
	const struct mmt_heap_oracle *o;
	size_t nr, i;

	printf("%-11s %-4s %s\n", "malloc", "-", MALLOC_TARGET_WHAT);
	b = mmt_heap_builtins(&nr);
	printf("\nallocators: ");
	for (i = 0; i < nr; i++)
		printf("%s%s", i ? ", " : "", b[i].name);
	printf(" or PATH.so (mmt/plugin.h table or the malloc API)\n");
	for (i = 0; i < nr; i++)
		printf("  %-9s %-17s %s\n", b[i].name, b[i].soname, b[i].what);
	o = mmt_heap_oracles(&nr);
	printf("malloc oracles:");
	for (i = 0; i < nr; i++)
		printf("%s%s", i ? ", " : " ", o[i].name);
	printf("\n");
}

static json_t *json_allocators(void)
{
	const struct mmt_heap_builtin *b;
	json_t *a = json_array();
	size_t nr, i;

	b = mmt_heap_builtins(&nr);
	for (i = 0; i < nr; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s}", "name", b[i].name,
				     "library", b[i].soname, "what", b[i].what));
	return a;
}

static void print_targets(void)
{
	const char *name, *what;
	size_t i;

	printf("%-11s %-4s %s\n", "TARGET", "OPS", "WHAT IT FUZZES");
	for (i = 0; (name = mmt_trace_target_name(i, &what)); i++) {
		mmt_opset_t ops = 0, all;

		mmt_trace_target_ops(name, &ops);
		all = ops & MMT_TRACE_OPS_ALL;
		printf("%-11s %-4d %s\n", name,
		       __builtin_popcountll((uint64_t)all) +
			       __builtin_popcountll((uint64_t)(all >> 64)),
		       what);
	}
	print_allocators();
}

static json_t *json_targets(void)
{
	const char *name, *what;
	json_t *a = json_array();
	size_t i;
	int op;

	for (i = 0; (name = mmt_trace_target_name(i, &what)); i++) {
		json_t *ops = json_array();
		mmt_opset_t set = 0;

		mmt_trace_target_ops(name, &set);
		for (op = 0; op < MMT_NR_OPCODES; op++)
			if ((set >> op) & 1)
				json_array_append_new(
					ops,
					json_string(mmt_op_info(op)->name));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:b, s:o}", "name", name,
				     "what", what, "concurrent",
				     (int)!!(set & MMT_TRACE_SET_MT),
				     "operations", ops));
	}
	json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:o}", "name",
					   "malloc", "what", MALLOC_TARGET_WHAT,
					   "concurrent", 1, "allocators",
					   json_allocators()));
	return a;
}

static json_t *json_bugs(void)
{
	const struct mmt_bug_info *b;
	json_t *a = json_array();
	size_t nr, i;

	b = mmt_bugs(&nr);
	for (i = 0; i < nr; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", b[i].id,
				     "seed", b[i].seed, "layer", b[i].layer,
				     "caught_by", b[i].caught_by, "desc",
				     b[i].desc));
	return a;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int what = 0;
	bool json = false;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error("list", c, argv);
		}
	}
	for (; optind < argc; optind++) {
		const char *a = argv[optind];

		if (!strcmp(a, "layers"))
			what |= LIST_LAYERS;
		else if (!strcmp(a, "checks"))
			what |= LIST_CHECKS;
		else if (!strcmp(a, "oracles"))
			what |= LIST_ORACLES;
		else if (!strcmp(a, "bugs"))
			what |= LIST_BUGS;
		else if (!strcmp(a, "targets"))
			what |= LIST_TARGETS;
		else if (!strcmp(a, "all"))
			what |= LIST_ALL;
		else
			return cli_usage_error(
				"list",
				"unknown list '%s' (known: layers, oracles, checks, bugs, targets, all)",
				a);
	}
	if (!what)
		what = LIST_ALL;

	if (json) {
		json_t *root = json_object();
		int ret;

		if (what & LIST_LAYERS)
			json_object_set_new(root, "layers", json_layers());
		if (what & LIST_ORACLES)
			json_object_set_new(root, "oracles", json_checks());
		if (what & LIST_CHECKS)
			json_object_set_new(root, "checks", json_checks());
		if (what & LIST_BUGS)
			json_object_set_new(root, "bugs", json_bugs());
		if (what & LIST_TARGETS)
			json_object_set_new(root, "targets", json_targets());
		ret = json_dumpf(root, stdout, CLI_JSON_FLAGS);
		json_decref(root);
		fputc('\n', stdout);
		return ret ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}

	if (what & LIST_LAYERS) {
		print_layers();
		if (what & (LIST_CHECKS | LIST_ORACLES | LIST_BUGS))
			putchar('\n');
	}
	/* Asked for by both names, the catalogue is printed once. */
	if (what & (LIST_CHECKS | LIST_ORACLES)) {
		print_checks((what & LIST_ORACLES) ? "ORACLE" : "CHECK");
		if (what & LIST_BUGS)
			putchar('\n');
	}
	if (what & LIST_BUGS) {
		print_bugs();
		if (what & LIST_TARGETS)
			putchar('\n');
	}
	if (what & LIST_TARGETS)
		print_targets();
	return CLI_EXIT_OK;
}
