// SPDX-License-Identifier: MIT
/*
 * tests/test_trace_lang.c - the operation language's codec (trace/): the
 * opcode table, the strict text parser with located errors, the canonical
 * printer, total binary decoding and the encoder, and the round trips that
 * tie them together:
 *   canonical text -> parse -> print            identical
 *   text -> parse -> encode -> decode -> print  identical (binary-valid text)
 *   bytes -> decode -> encode -> decode         the same program
 *   bytes -> decode -> print -> parse           the same program, and every
 *                                               operation passes the binary
 *                                               (strict) rules
 * Random inputs come from t_rand() (splitmix64); a failure prints the seed.
 * No machine is needed: the interpreter is tested elsewhere.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <unistd.h>

#include "mmt_test.h"
#include "mmt/trace.h"
#include "trace_internal.h"

/* ---- helpers ---- */

/* Canonical text of @p, malloc'd. */
static char *print_str(const struct mmt_program *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	MMT_CHECK(f != NULL);
	mmt_trace_print(p, f);
	MMT_CHECK(fclose(f) == 0);
	return buf;
}

static void parse_ok(const char *text, struct mmt_program *p)
{
	char err[512] = "";

	MMT_CHECK_MSG(mmt_trace_parse(text, strlen(text), "t.trace", p, err,
				      sizeof(err)),
		      "does not parse: %s\n--- text ---\n%s", err, text);
}

/* Parsing @text fails with exactly @want. */
static void parse_err(const char *text, const char *want)
{
	struct mmt_program p;
	char err[512] = "";

	MMT_CHECK_MSG(!mmt_trace_parse(text, strlen(text), "t.trace", &p, err,
				       sizeof(err)),
		      "parsed, expected the error \"%s\"", want);
	MMT_CHECK_STR(err, want);
	MMT_CHECK_EQ(p.nr_ops, 0);
	mmt_program_free(&p);
}

/* Encode @p into an exact-size buffer and decode it back into @back. */
static void encode_decode(const struct mmt_program *p, struct mmt_program *back)
{
	size_t n = mmt_trace_encode(p, NULL, 0), m;
	uint8_t *b = malloc(n);

	MMT_CHECK(b != NULL);
	m = mmt_trace_encode(p, b, n);
	MMT_CHECK_EQ(m, n);
	mmt_trace_decode(b, n, back);
	free(b);
}

/* Every operation of @p passes the binary rules at its place. */
static void check_binary_valid(const struct mmt_program *p)
{
	struct _mmt_trace_state st;
	size_t i;

	MMT_CHECK(_mmt_trace_state_init(&st, &p->hdr, false));
	for (i = 0; i < p->nr_ops; i++) {
		struct _mmt_trace_why why = { -1, "" };
		char text[256];

		mmt_trace_format_op(p, &p->ops[i], text, sizeof(text));
		MMT_CHECK_MSG(_mmt_trace_state_check(&st, &p->ops[i], &why),
			      "operation %zu '%s' breaks the binary rules: %s",
			      i, text, why.msg);
		MMT_CHECK(_mmt_trace_state_apply(&st, &p->ops[i]));
	}
	_mmt_trace_state_free(&st);
}

#define HDR_BIN                                                                                                         \
	"mmtorture-trace 1\n"                                                                                           \
	"machine nodes=2 cpus=4 normal=1024 dma32=64 slab=slub mempool=no-reclaim rt=off kvfree_rcu=nowait oracles=1\n" \
	"bugs none\n"

/*
 * Canonical text that uses every operation (and every context), valid
 * under the binary rules too, with a header the binary form can say.
 */
static const char every_op[] = HDR_BIN
	"p0 = alloc_pages GFP_KERNEL order=0\n"
	"p1 = alloc_pages_node node=1 GFP_KERNEL|__GFP_RETRY_MAYFAIL order=3\n"
	"pb0 = alloc_pages_bulk GFP_KERNEL count=16\n"
	"o0 = kmalloc size=64 GFP_KERNEL\n"
	"o1 = kmalloc_node size=9000 GFP_KERNEL|__GFP_ZERO node=1\n"
	"krealloc o0 size=128 GFP_KERNEL\n"
	"c0 = kmem_cache_create size=96 HWCACHE_ALIGN|POISON\n"
	"co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
	"co1 = kmem_cache_alloc_node c0 GFP_NOWAIT node=1\n"
	"cb0 = kmem_cache_alloc_bulk c0 GFP_KERNEL count=8\n"
	"cb1 = kmem_cache_alloc_bulk c0 GFP_KERNEL count=3\n"
	"enter irq\n"
	"  p2 = alloc_pages GFP_ATOMIC|__GFP_ZERO order=2\n"
	"  o2 = kmalloc size=32 GFP_ATOMIC\n"
	"  kvfree_rcu_head o2\n"
	"  free_pages p2\n"
	"exit\n"
	"enter softirq\n"
	"  drain_local_pages\n"
	"exit\n"
	"enter bh_off\n"
	"  enter preempt\n"
	"    enter irqs_off\n"
	"      enter spin_lock\n"
	"        enter raw_lock\n"
	"          enter rcu_read\n"
	"            gp_step\n"
	"          exit\n"
	"        exit\n"
	"      exit\n"
	"    exit\n"
	"  exit\n"
	"exit\n"
	"enter noio\n"
	"  enter nofs\n"
	"    enter memalloc\n"
	"      p3 = alloc_pages GFP_KERNEL order=0\n"
	"    exit\n"
	"  exit\n"
	"exit\n"
	"schedule\n"
	"kmem_cache_free co0\n"
	"kmem_cache_free_bulk cb0\n"
	"kfree_bulk cb1\n"
	"kmem_cache_free co1\n"
	"kmem_cache_shrink c0\n"
	"sh0 = kmem_cache_prefill_sheaf c0 GFP_KERNEL count=3\n"
	"co2 = kmem_cache_alloc_from_sheaf sh0 GFP_ATOMIC|__GFP_ZERO\n"
	"kmem_cache_return_sheaf sh0 GFP_NOWAIT\n"
	"kmem_cache_free co2\n"
	"kmem_cache_destroy c0\n"
	"kvfree_rcu o0\n"
	"synchronize_rcu\n"
	"kfree o1\n"
	"free_pages p0\n"
	"free_pages p1\n"
	"free_pages p3\n"
	"free_pages_bulk pb0\n"
	"cpu 2\n"
	"drain_all_pages\n"
	"cpu_offline 3\n"
	"cpu_online 3\n"
	"g0 = cgroup_create\n"
	"cgroup_enter g0\n"
	"c1 = kmem_cache_create size=200 ACCOUNT\n"
	"co3 = kmem_cache_alloc c1 GFP_KERNEL\n"
	"cgroup_offline g0\n"
	"kmem_cache_free co3\n"
	"kmem_cache_destroy c1\n"
	"m0 = mempool_create kmalloc min=4 size=256\n"
	"m1 = mempool_create slab min=2 size=512\n"
	"m2 = mempool_create page min=1 size=4096\n"
	"e0 = mempool_alloc m0 GFP_NOIO\n"
	"e1 = mempool_alloc m1 GFP_NOWAIT\n"
	"mempool_resize m0 min=8\n"
	"mempool_free e0\n"
	"mempool_free e1\n"
	"mempool_destroy m0\n"
	"mempool_destroy m1\n"
	"mempool_destroy m2\n"
	"r0 = reserve_create pages=32\n"
	"reserve_kmalloc r0 size=256 count=16\n"
	"reserve_disconnect r0\n"
	"reserve_connect r0\n"
	"ch0 = reserve_charge r0 pages=4\n"
	"reserve_uncharge ch0\n"
	"reserve_destroy r0\n"
	"rg0 = reserve_group\n"
	"r1 = reserve_create_in rg0 pages=8\n"
	"reserve_group_connect rg0\n"
	"reserve_group_disconnect rg0\n"
	"reserve_destroy r1\n"
	"rg1 = reserve_group_in rg0\n"
	"reserve_group_destroy rg1\n"
	"reserve_group_destroy rg0\n"
	"sk0 = sock_memalloc\n"
	"s0 = swapon\n"
	"s1 = swapon\n"
	"net_rx sk0 size=1500\n"
	"sk1 = sock_create\n"
	"net_rx sk1 size=64\n"
	"sock_close sk1\n"
	"swapoff s1\n"
	"swapoff s0\n"
	"sock_close sk0\n"
	"lru_add anon count=64\n"
	"lru_add file count=32\n"
	"lru_add dirty count=8\n"
	"lru_unmap file count=16\n"
	"kswapd node=1\n"
	"shrink_all\n"
	"sr0 = shrinker_register mutex_b\n"
	"enter mutex_a\n"
	"  o3 = kmalloc size=64 GFP_KERNEL\n"
	"  kfree o3\n"
	"exit\n"
	"shrinker_unregister sr0\n"
	"rcu_barrier\n"
	"enter irq\n"
	"  p4 = alloc_pages_nolock order=1 node=1\n"
	"  o4 = kmalloc_nolock size=48 node=0\n"
	"  kfree_nolock o4\n"
	"  free_pages_nolock p4\n"
	"exit\n"
	"cpu 0\n";

/*
 * Canonical text the binary rules would repair or refuse but the text
 * rules allow on purpose: misuse that a hand-written trace demonstrates.
 */
static const char lax_misuse[] =
	"mmtorture-trace 1\n"
	"machine nodes=1 cpus=8 normal=4096 dma32=0 slab=slab mempool=kernel-2016 rt=on kvfree_rcu=fast-try oracles=2\n"
	"bugs fast-try-bulk-refill,pfmemalloc-unmarked\n"
	"enter irq\n"
	"  p0 = alloc_pages GFP_KERNEL|__GFP_NOFAIL order=5\n"
	"  synchronize_rcu\n"
	"exit\n"
	"enter rcu_read\n"
	"  synchronize_rcu\n"
	"  o0 = kmalloc size=16 GFP_KERNEL|__GFP_DMA32\n"
	"  kvfree_rcu o0\n"
	"exit\n"
	"enter raw_lock\n"
	"  g0 = cgroup_create\n"
	"  m0 = mempool_create page min=3 size=1\n"
	"  e0 = mempool_alloc m0 GFP_KERNEL|__GFP_ZERO\n"
	"exit\n"
	"cpu 7\n"
	"free_pages p0\n";

/*
 * Canonical text of every operation of the misuse group (each written
 * `misuse OP`), and the misuse forms of cpu and enter.
 */
static const char every_misuse[] =
	"mmtorture-trace 1\n"
	"machine nodes=1 cpus=2 normal=1024 dma32=64 slab=slub mempool=pool-first rt=off kvfree_rcu=nowait oracles=1\n"
	"bugs none\n"
	"p0 = alloc_pages GFP_KERNEL order=1\n"
	"misuse free_pages_tail p0 pages=1\n"
	"misuse write_pages p0 off=4095 count=2\n"
	"misuse free_pages_order p0 order=0\n"
	"misuse alloc_free_pages node=4 GFP_KERNEL|0x80000000 order=11\n"
	"misuse kmem_cache_create_destroy size=0 POISON\n"
	"c0 = kmem_cache_create size=64 RED_ZONE\n"
	"c1 = kmem_cache_create size=64 0\n"
	"co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
	"misuse kmem_cache_free_to c1 co0\n"
	"misuse write_cache_object co0 off=64 count=1\n"
	"o0 = kmalloc size=64 GFP_KERNEL\n"
	"misuse kfree_at o0 off=8\n"
	"misuse kvfree_rcu_at o0 off=63\n"
	"m0 = mempool_create kmalloc min=2 size=64\n"
	"e0 = mempool_alloc m0 GFP_KERNEL\n"
	"mempool_free e0\n"
	"misuse write_element e0 off=0 count=64\n"
	"enter mutex_a\n"
	"  misuse exit_context rcu_read\n"
	"  misuse enter mutex_a\n"
	"  exit\n"
	"  misuse cpu 1\n"
	"misuse cpu_offline_any cpu=2\n"
	"misuse lock_uninitialized\n"
	"misuse kswapd_any node=1\n";

/*
 * Canonical text of a concurrent program (binary-valid, a header the
 * binary form can say): every kernel thread, a PCT schedule and its
 * recorded decisions over two lines.
 */
#define HDR_MT                                                                                                                                                            \
	"mmtorture-trace 1\n"                                                                                                                                             \
	"machine nodes=2 cpus=4 normal=1024 dma32=64 slab=slub mempool=kernel-2016 rt=off kvfree_rcu=nowait oracles=1 sched=pct sched_seed=7 pct_depth=3 pct_steps=500\n" \
	"bugs none\n"

static const char every_op_mt[] = HDR_MT
	"k0 = kthread_start kswapd node=0\n"
	"k1 = kthread_start kswapd node=1\n"
	"k2 = kthread_start disk node=0\n"
	"k3 = kthread_start dmcrypt node=1\n"
	"k4 = kthread_start loop node=0\n"
	"k5 = kthread_start netswap node=0\n"
	"k6 = kthread_start gp node=0\n"
	"k7 = kthread_start kvfree_rcu node=1\n"
	"c0 = kmem_cache_create size=96 0\n"
	"co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
	"cpu 1\n"
	"co1 = kmem_cache_alloc c0 GFP_KERNEL\n"
	"kmem_cache_free co0\n"
	"kthread_stop k0\n"
	"kswapd node=0\n"
	"cpu 2\n"
	"enter rcu_read\n"
	"  gp_step\n"
	"exit\n"
	"kmem_cache_free co1\n"
	"kmem_cache_destroy c0\n"
	"kthread_stop k6\n"
	"k8 = kthread_start gp node=1\n"
	"interrupt irq\n"
	"  o0 = kmalloc size=64 GFP_ATOMIC\n"
	"  kfree o0\n"
	"exit\n"
	"interrupt softirq\n"
	"  enter irq\n"
	"    o1 = kmalloc size=32 GFP_ATOMIC\n"
	"  exit\n"
	"  kvfree_rcu_head o1\n"
	"exit\n"
	"decisions 0 1 1 0 2 3 0 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1 0\n"
	"decisions 2 1 0\n";

/* ---- the table ---- */

MMT_TEST(trace_table_has_a_sane_row_for_every_opcode)
{
	unsigned int op, k, e;
	int i, j;

	for (op = 0; op < MMT_NR_OPCODES; op++) {
		const struct mmt_op_info *info = mmt_op_info(op);

		MMT_CHECK_MSG(info && info->name && *info->name,
			      "opcode %u has no row", op);
		MMT_CHECK_MSG(info->help && *info->help, "%s: no help",
			      info->name);
		MMT_CHECK_EQ(_mmt_trace_op_lookup(info->name,
						  strlen(info->name)),
			     op);
		MMT_CHECK(info->nargs <= MMT_TRACE_MAX_ARGS);
		MMT_CHECK(info->result < MMT_NR_HANDLE_KINDS);
		MMT_CHECK(info->ends <= info->nargs);
		MMT_CHECK_MSG(!info->ends || info->args[info->ends - 1].type ==
						     MMT_ARG_HANDLE,
			      "%s ends an argument that is no handle",
			      info->name);
		MMT_CHECK_MSG(!(info->result && info->ends),
			      "%s both creates and ends", info->name);
		for (i = 0; i < info->nargs; i++) {
			const struct mmt_arg_info *a = &info->args[i];

			MMT_CHECK(a->type < MMT_NR_ARG_TYPES);
			MMT_CHECK_MSG(a->name && *a->name, "%s arg %d: no name",
				      info->name, i);
			if (a->type == MMT_ARG_HANDLE)
				MMT_CHECK(a->kind > MMT_H_NONE &&
					  a->kind < MMT_NR_HANDLE_KINDS);
			else if (a->type == MMT_ARG_ENUM)
				MMT_CHECK(a->kind < MMT_NR_TRACE_ENUMS);
			else
				MMT_CHECK_EQ(a->kind, 0);
			/* keys are unique within a row */
			for (j = 0; j < i; j++)
				MMT_CHECK_MSG(strcmp(a->name,
						     info->args[j].name),
					      "%s: two arguments named %s",
					      info->name, a->name);
		}
		for (j = 0; j < (int)op; j++)
			MMT_CHECK(strcmp(info->name, mmt_op_info(j)->name));
	}
	MMT_CHECK(mmt_op_info(MMT_NR_OPCODES) == NULL);
	/* the documented argument orders the interpreter relies on */
	MMT_CHECK_EQ(mmt_op_info(MMT_OP_ALLOC_PAGES)->args[0].type,
		     MMT_ARG_GFP);
	MMT_CHECK_EQ(mmt_op_info(MMT_OP_ALLOC_PAGES)->args[1].type,
		     MMT_ARG_ORDER);
	MMT_CHECK_EQ(mmt_op_info(MMT_OP_KMALLOC_NODE)->args[2].type,
		     MMT_ARG_NODE);
	MMT_CHECK_STR(mmt_op_info(MMT_OP_MEMPOOL_CREATE)->args[1].name, "min");
	MMT_CHECK_EQ(mmt_op_info(MMT_OP_RESERVE_KMALLOC)->args[2].type,
		     MMT_ARG_COUNT);
	/* prefixes are distinct and map back to their kind */
	for (k = 1; k < MMT_NR_HANDLE_KINDS; k++) {
		const char *pre = mmt_handle_prefix(k);

		MMT_CHECK_EQ(_mmt_handle_kind_lookup(pre, strlen(pre)), k);
	}
	for (e = 0; e < MMT_NR_TRACE_ENUMS; e++) {
		MMT_CHECK(mmt_trace_enum_size(e) > 0);
		for (k = 0; k < mmt_trace_enum_size(e); k++)
			MMT_CHECK_EQ(_mmt_trace_enum_lookup(
					     e, mmt_trace_enum_name(e, k),
					     strlen(mmt_trace_enum_name(e, k))),
				     k);
	}
	MMT_CHECK_EQ(mmt_trace_enum_size(MMT_ENUM_CONTEXT),
		     MMT_NR_TRACE_CONTEXTS);
}

/* ---- text ---- */

MMT_TEST(trace_canonical_text_parses_and_prints_identically)
{
	const char *texts[] = { every_op, lax_misuse, every_op_mt,
				every_misuse };
	bool used[MMT_NR_OPCODES] = { false };
	struct mmt_program p;
	size_t t, i;

	for (t = 0; t < MMT_ARRAY_SIZE(texts); t++) {
		char *out;

		parse_ok(texts[t], &p);
		out = print_str(&p);
		MMT_CHECK_STR(out, texts[t]);
		free(out);
		if (t != 1)
			for (i = 0; i < p.nr_ops; i++)
				used[p.ops[i].code] = true;
		mmt_program_free(&p);
	}
	for (i = 0; i < MMT_NR_OPCODES; i++)
		MMT_CHECK_MSG(used[i], "the canonical trace misses %s",
			      mmt_op_info(i)->name);
}

MMT_TEST(trace_text_encode_decode_print_is_identical)
{
	struct mmt_program p, back;
	char *out;

	parse_ok(every_op, &p);
	check_binary_valid(&p);
	encode_decode(&p, &back);
	MMT_CHECK(mmt_program_equal(&p, &back));
	out = print_str(&back);
	MMT_CHECK_STR(out, every_op);
	free(out);
	mmt_program_free(&back);
	mmt_program_free(&p);
}

MMT_TEST(trace_parser_renames_handles_canonically_and_reuses_dead_names)
{
	struct mmt_program p;
	char *out;

	parse_ok("mmtorture-trace 1   # any comment\n"
		 "\n"
		 "  # header fields are optional\n"
		 "machine cpus=3\n"
		 "p7 = alloc_pages GFP_KERNEL order=1  # trailing comment\n"
		 "p3 = alloc_pages GFP_KERNEL order=0\n"
		 "free_pages p7\n"
		 "p7 = alloc_pages 0 order=2\n"
		 "free_pages p3\n"
		 "free_pages p7\n"
		 "c9 = kmem_cache_create size=24 SLAB_POISON|0\n",
		 &p);
	out = print_str(&p);
	MMT_CHECK_STR(
		out,
		"mmtorture-trace 1\n"
		"machine nodes=1 cpus=3 normal=1024 dma32=64 slab=slub mempool=no-reclaim rt=off kvfree_rcu=nowait oracles=1\n"
		"bugs none\n"
		"p0 = alloc_pages GFP_KERNEL order=1\n"
		"p1 = alloc_pages GFP_KERNEL order=0\n"
		"free_pages p0\n"
		"p2 = alloc_pages 0 order=2\n"
		"free_pages p1\n"
		"free_pages p2\n"
		"c0 = kmem_cache_create size=24 POISON\n");
	free(out);
	MMT_CHECK_EQ(p.nr_handles[MMT_H_PAGE], 3);
	MMT_CHECK_EQ(p.nr_handles[MMT_H_CACHE], 1);
	MMT_CHECK_EQ(p.ops[2].line, 7);
	mmt_program_free(&p);
}

#define HDR "mmtorture-trace 1\n"

MMT_TEST(trace_parse_errors_name_file_line_column_and_token)
{
	/* unknown operation */
	parse_err(
		HDR "schedule\n  alloc_page GFP_KERNEL order=0\n",
		"t.trace:3:3: unknown operation 'alloc_page' (see 'mmtorture trace ops')");
	/* unknown GFP token: the column of the flag itself */
	parse_err(
		HDR "p0 = alloc_pages GFP_KERNEL|__GFP_BOGUS order=0\n",
		"t.trace:2:29: unknown GFP flag '__GFP_BOGUS' (see 'mmtorture list' and mmt/gfp.h)");
	/* dead handle */
	parse_err(
		HDR "p0 = alloc_pages GFP_KERNEL order=0\n"
		    "free_pages p0\n"
		    "free_pages p0\n",
		"t.trace:4:12: handle 'p0' is dead (created at line 2, ended at line 3; write 'misuse ...' for a deliberate misuse)");
	/* unknown handle */
	parse_err(HDR "kfree o4\n",
		  "t.trace:2:7: unknown handle 'o4' (never created)");
	/* handle of the wrong kind */
	parse_err(
		HDR "o0 = kmalloc size=8 GFP_KERNEL\n"
		    "free_pages o0\n",
		"t.trace:3:12: handle 'o0' is a kmalloc object, expected a page (p...)");
	/* a new handle named with another kind's prefix */
	parse_err(
		HDR "o0 = alloc_pages GFP_KERNEL order=0\n",
		"t.trace:2:1: 'o0' cannot name a page: its name starts with 'p'");
	/* a live name given again */
	parse_err(
		HDR "p1 = alloc_pages GFP_KERNEL order=0\n"
		    "p1 = alloc_pages GFP_KERNEL order=0\n",
		"t.trace:3:1: handle 'p1' is already live (created at line 2)");
	/* exit with nothing entered */
	parse_err(HDR "enter irq\nexit\nexit\n",
		  "t.trace:4:1: exit with no context entered on cpu 0");
	/* cpu switch inside irq */
	parse_err(
		HDR "enter irq\ncpu 1\n",
		"t.trace:3:1: cpu 1: cpu 0 is inside irq; exit its contexts before leaving it");
	/* unknown header field */
	parse_err(
		HDR "machine cpus=2 flux=9\n",
		"t.trace:2:16: unknown machine field 'flux' (fields: nodes cpus normal dma32 slab mempool rt kvfree_rcu oracles sched sched_seed pct_depth pct_steps smp throttle)");
	/* bad numbers */
	parse_err(HDR "p0 = alloc_pages GFP_KERNEL order=11\n",
		  "t.trace:2:35: bad number '11' for order= (expected 0..10)");
	parse_err(
		HDR "o0 = kmalloc size=0x10 GFP_KERNEL\n",
		"t.trace:2:19: bad number '0x10' for size= (expected 1..16384)");
	parse_err(HDR "cpu 2\n",
		  "t.trace:2:5: bad number '2' for cpu (expected 0..1)");
	parse_err(HDR "machine cpus=0\n",
		  "t.trace:2:14: bad number '0' for cpus= (expected 1..256)");
	/* key=value of the wrong key */
	parse_err(HDR "p0 = alloc_pages GFP_KERNEL size=2\n",
		  "t.trace:2:29: alloc_pages: expected order=N, got 'size=2'");
	/* missing and extra arguments */
	parse_err(HDR "p0 = alloc_pages GFP_KERNEL\n",
		  "t.trace:2:28: alloc_pages: missing argument 2, order=N");
	parse_err(
		HDR "schedule now\n",
		"t.trace:2:10: unexpected 'now' after schedule's keyword (it takes none)");
	/* a result name where none is made, none where one is */
	parse_err(HDR "x0 = schedule\n",
		  "t.trace:2:1: schedule creates no handle: drop 'x0 ='");
	parse_err(
		HDR "kmalloc size=8 GFP_KERNEL\n",
		"t.trace:2:1: kmalloc creates a kmalloc object: write 'o<N> = kmalloc ...'");
	/* the structural rules */
	parse_err(
		HDR "c0 = kmem_cache_create size=64 0\n"
		    "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
		    "kmem_cache_destroy c0\n",
		"t.trace:4:20: kmem_cache_destroy c0: 1 live object handle(s) of the cache");
	parse_err(
		HDR "enter irqs_off\nenter irq\n",
		"t.trace:3:7: enter irq inside irqs_off on cpu 0: a hard irq cannot arrive while interrupts are off");
	parse_err(
		HDR "enter softirq\nenter noio\n",
		"t.trace:3:7: enter noio inside softirq on cpu 0: memalloc scopes are task context only");
	parse_err(
		HDR "machine rt=on\nenter raw_lock\nenter spin_lock\n",
		"t.trace:4:7: enter spin_lock inside raw_lock on cpu 0: under rt rules a spin_lock sleeps: not where preemption or interrupts are off");
	parse_err(
		HDR "enter raw_lock\nenter spin_lock\n",
		"t.trace:3:7: enter spin_lock inside raw_lock on cpu 0: a spinlock_t nests outside a raw_spinlock_t, never inside (lockdep's wait types)");
	parse_err(
		HDR "enter raw_lock\nenter preempt\nenter raw_lock\n",
		"t.trace:4:7: enter raw_lock on cpu 0: its raw_lock of task context is held already (one a level: a second would deadlock on itself)");
	parse_err(
		HDR
		"enter raw_lock\nenter irq\nenter raw_lock\nexit\nexit\nenter spin_lock\n",
		"t.trace:7:7: enter spin_lock inside raw_lock on cpu 0: a spinlock_t nests outside a raw_spinlock_t, never inside (lockdep's wait types)");
	parse_err(
		HDR "o0 = kmalloc size=16 GFP_KERNEL\nkvfree_rcu_head o0\n",
		"t.trace:3:17: kvfree_rcu_head o0: a 16-byte object cannot hold the 24-byte rcu_head");
	parse_err(
		HDR "cpu_offline 0\n",
		"t.trace:2:13: cpu_offline 0: the operations run there; switch cpu first");
	parse_err(
		HDR "enter bogus\n",
		"t.trace:2:7: unknown context 'bogus' (expected irq softirq bh_off preempt irqs_off raw_lock spin_lock rcu_read noio nofs memalloc mutex_a mutex_b)");
	/* the header */
	parse_err(
		"mmtorture-trace 2\n",
		"t.trace:1:17: unsupported trace version '2' (this build reads 1)");
	parse_err(
		"# comment first\n",
		"t.trace:1:1: no 'mmtorture-trace 1' line: the file holds only blank lines and comments");
	parse_err(
		"\n# notes\nkmalloc size=8 GFP_KERNEL\n",
		"t.trace:3:1: expected 'mmtorture-trace 1' as the first line, found 'kmalloc': a text trace starts with it (after blank lines and comments)");
	parse_err(
		"# notes\n  mmtorture-trcae 1\n",
		"t.trace:2:3: 'mmtorture-trcae' is not the magic word 'mmtorture-trace': a text trace starts with 'mmtorture-trace 1' (after blank lines and comments)");
	parse_err(
		"",
		"t.trace:1:1: empty file: a text trace starts with 'mmtorture-trace 1'");
	parse_err(
		HDR "schedule\nmachine cpus=2\n",
		"t.trace:3:1: 'machine' belongs to the header, before the first operation");
	parse_err(
		HDR "bugs no-such-bug\n",
		"t.trace:2:6: bugs: unknown bug 'no-such-bug' (see 'mmtorture list bugs')");
	parse_err(
		HDR "machine normal=8\n",
		"t.trace:2:1: machine: normal_pages: 8 is below the minimum 16");
	parse_err(
		HDR "enter irq\n  o0 = kmalloc size=8 GFP_KERNEL|\x01\n",
		"t.trace:3:34: unknown GFP flag '\\x01' (see 'mmtorture list' and mmt/gfp.h)");
}

MMT_TEST(trace_text_refuses_more_than_max_ops)
{
	size_t hdr = strlen(HDR), line = strlen("schedule\n");
	size_t len = hdr + (MMT_TRACE_MAX_OPS + 1) * line;
	char *text = malloc(len + 1), err[256];
	struct mmt_program p;
	char want[128];
	size_t i;

	MMT_CHECK(text != NULL);
	memcpy(text, HDR, hdr);
	for (i = 0; i <= MMT_TRACE_MAX_OPS; i++)
		memcpy(text + hdr + i * line, "schedule\n", line);
	text[len] = '\0';
	/* exactly the maximum parses */
	MMT_CHECK(mmt_trace_parse(text, len - line, "t.trace", &p, err,
				  sizeof(err)));
	MMT_CHECK_EQ(p.nr_ops, MMT_TRACE_MAX_OPS);
	mmt_program_free(&p);
	/* one more is refused, naming its line */
	MMT_CHECK(!mmt_trace_parse(text, len, "t.trace", &p, err, sizeof(err)));
	snprintf(
		want, sizeof(want),
		"t.trace:%d:1: more than %d operations (the most a program may have)",
		MMT_TRACE_MAX_OPS + 2, MMT_TRACE_MAX_OPS);
	MMT_CHECK_STR(err, want);
	free(text);
}

/* ---- binary ---- */

/* Random bytes of length 0..600 in an exact-size buffer (ASan sees overruns). */
static uint8_t *random_input(size_t *len)
{
	size_t n = t_rand_below(601), i;
	uint8_t *b = malloc(n ? n : 1);
	/* Some inputs favour few opcodes, so handles live long enough to matter. */
	unsigned int span = (t_rand() & 1) ? 256 : 1 + t_rand_below(12);

	MMT_CHECK(b != NULL);
	for (i = 0; i < n; i++) {
		b[i] = (uint8_t)t_rand();
		if (i >= 4 && span < 256 && !t_rand_below(4))
			b[i] = (uint8_t)(MMT_OP_ALLOC_PAGES +
					 t_rand_below(span) * 3);
	}
	*len = n;
	return b;
}

MMT_TEST(trace_binary_decode_encode_decode_is_the_same_program)
{
	int k;

	for (k = 0; k < 2500; k++) {
		struct mmt_program p, back;
		size_t len;
		uint8_t *in = random_input(&len);

		mmt_trace_decode(in, len, &p);
		encode_decode(&p, &back);
		MMT_CHECK_MSG(
			mmt_program_equal(&p, &back),
			"input %d (%zu bytes): %zu ops decode, %zu after the round trip",
			k, len, p.nr_ops, back.nr_ops);
		mmt_program_free(&back);
		mmt_program_free(&p);
		free(in);
	}
}

MMT_TEST(trace_decoding_is_total_and_its_text_parses_back)
{
	size_t total_ops = 0;
	int k;

	for (k = 0; k < 2500; k++) {
		struct mmt_program p, back;
		char err[512] = "", *text;
		size_t len;
		uint8_t *in = random_input(&len);

		mmt_trace_decode(in, len, &p);
		MMT_CHECK(p.nr_ops <= MMT_TRACE_MAX_OPS);
		check_binary_valid(&p);
		text = print_str(&p);
		MMT_CHECK_MSG(
			mmt_trace_parse(text, strlen(text), "decoded", &back,
					err, sizeof(err)),
			"input %d: the decoded program's text does not parse: %s\n%s",
			k, err, text);
		MMT_CHECK_MSG(mmt_program_equal(&p, &back),
			      "input %d: print -> parse changes the program",
			      k);
		total_ops += p.nr_ops;
		free(text);
		mmt_program_free(&back);
		mmt_program_free(&p);
		free(in);
	}
	/* The property means little if decoding kept nothing. */
	MMT_CHECK_MSG(total_ops > 20000, "only %zu operations decoded",
		      total_ops);
}

MMT_TEST(trace_decoding_cut_input_reads_missing_bytes_as_zero)
{
	/* header, then alloc_pages whose GFP and order are cut off */
	const uint8_t in[] = { 1, 0x05, 2, 1, MMT_OP_ALLOC_PAGES, 0xd0 };
	uint8_t *b = malloc(sizeof(in));
	struct mmt_program p;

	memcpy(b, in, sizeof(in));
	mmt_trace_decode(b, sizeof(in), &p);
	MMT_CHECK_EQ(p.hdr.nr_cpus, 2);
	MMT_CHECK_EQ(p.hdr.nr_nodes, 2);
	MMT_CHECK(p.hdr.rt_rules);
	MMT_CHECK_EQ(p.hdr.slab, MMT_SLAB_SLUB);
	MMT_CHECK_EQ(p.hdr.normal_pages, 1024);
	MMT_CHECK_EQ(p.hdr.dma32_pages, 64);
	MMT_CHECK_EQ(p.hdr.oracle_level, 1);
	MMT_CHECK_EQ(p.hdr.bugs, 0);
	MMT_CHECK_EQ(p.nr_ops, 1);
	MMT_CHECK_EQ(p.ops[0].code, MMT_OP_ALLOC_PAGES);
	MMT_CHECK_EQ(p.ops[0].arg[0], 0xd0 & MMT_GFP_VALID_MASK);
	MMT_CHECK_EQ(p.ops[0].arg[1], 0);
	mmt_program_free(&p);
	/* an empty input is the empty program on the smallest machine */
	mmt_trace_decode(b, 0, &p);
	MMT_CHECK_EQ(p.nr_ops, 0);
	MMT_CHECK_EQ(p.hdr.nr_cpus, 1);
	mmt_program_free(&p);
	free(b);
}

MMT_TEST(trace_decoding_skips_what_the_state_forbids)
{
	/* free_pages with no page; exit with nothing entered; enter irq,
	 * then cpu 1 (forbidden in irq), GFP_KERNEL|NOFAIL in irq */
	const uint8_t in[] = {
		0,
		0,
		0,
		0,
		MMT_OP_FREE_PAGES,
		7,
		MMT_OP_EXIT,
		MMT_OP_ENTER,
		MMT_CTX_IRQ,
		MMT_OP_CPU,
		1,
		MMT_OP_ALLOC_PAGES,
		(uint8_t)(GFP_KERNEL | __GFP_NOFAIL),
		(uint8_t)((GFP_KERNEL | __GFP_NOFAIL) >> 8),
		(uint8_t)((GFP_KERNEL | __GFP_NOFAIL) >> 16),
		0xff,
		13,
		MMT_OP_SYNCHRONIZE_RCU,
		MMT_OP_EXIT,
		MMT_OP_FREE_PAGES,
		200,
	};
	struct mmt_program p;
	char *text;

	mmt_trace_decode(in, sizeof(in), &p);
	text = print_str(&p);
	MMT_CHECK_STR(
		text,
		"mmtorture-trace 1\n"
		"machine nodes=1 cpus=1 normal=256 dma32=64 slab=slub mempool=kernel-2016 rt=off kvfree_rcu=nowait oracles=0 throttle=reclaim\n"
		"bugs none\n"
		"enter irq\n"
		"  p0 = alloc_pages GFP_NOWAIT|__GFP_IO|__GFP_FS order=2\n"
		"exit\n"
		"free_pages p0\n");
	free(text);
	mmt_program_free(&p);
}

MMT_TEST(trace_encoding_is_total_and_never_overruns)
{
	struct mmt_program p, back;
	struct mmt_op op = { .code = MMT_OP_FREE_PAGES, .arg = { 99 } };
	uint8_t *b;
	size_t n, cap;

	/* A hand-built program with a dead reference and a bad opcode. */
	mmt_program_init(&p);
	MMT_CHECK(mmt_program_append(&p, &op));
	op = (struct mmt_op){ .code = 9999 };
	MMT_CHECK(mmt_program_append(&p, &op));
	op = (struct mmt_op){ .code = MMT_OP_KMALLOC,
			      .arg = { 64, GFP_KERNEL } };
	MMT_CHECK(mmt_program_append(&p, &op));
	n = mmt_trace_encode(&p, NULL, 0);
	MMT_CHECK(n > 4);
	/* every short buffer is filled exactly, never past its end */
	for (cap = 0; cap <= n; cap++) {
		b = malloc(cap ? cap : 1);
		MMT_CHECK_EQ(mmt_trace_encode(&p, cap ? b : NULL, cap), n);
		free(b);
	}
	b = malloc(n);
	mmt_trace_encode(&p, b, n);
	mmt_trace_decode(b, n, &back);
	/* the kmalloc survives; what no state allows is gone */
	MMT_CHECK_EQ(back.nr_ops, 1);
	MMT_CHECK_EQ(back.ops[0].code, MMT_OP_KMALLOC);
	free(b);
	mmt_program_free(&back);
	mmt_program_free(&p);
}

MMT_TEST(trace_binary_header_round_trips_every_value)
{
	unsigned int b0, b1, b2, b3;

	for (b0 = 0; b0 < 4; b0++)
		for (b1 = 0; b1 < 48; b1++)
			for (b2 = 0; b2 < 4; b2++)
				for (b3 = 0; b3 < 3; b3++) {
					uint8_t in[4] = { (uint8_t)b0,
							  (uint8_t)b1,
							  (uint8_t)b2,
							  (uint8_t)b3 };
					uint8_t out[4];
					struct mmt_trace_header h, h2;
					struct mmt_config cfg;
					char why[256];

					_mmt_trace_header_decode(in, 4, &h);
					_mmt_trace_header_encode(&h, out);
					_mmt_trace_header_decode(out, 4, &h2);
					MMT_CHECK(!memcmp(&h, &h2, sizeof(h)));
					mmt_trace_header_config(&h, &cfg);
					MMT_CHECK_MSG(mmt_config_validate(
							      &cfg, why,
							      sizeof(why)),
						      "header %u/%u/%u/%u: %s",
						      b0, b1, b2, b3, why);
				}
}

/* ---- canonicalisation ---- */

MMT_TEST(trace_gfp_canon_leaves_no_combination_the_model_calls_misuse)
{
	int k;

	for (k = 0; k < 100000; k++) {
		mmt_gfp_t g = (mmt_gfp_t)t_rand(), c, c2;
		unsigned int order = (unsigned int)t_rand_below(MMT_MAX_ORDER);
		bool atomic = t_rand() & 1;

		if (k & 1)
			g |= __GFP_NOFAIL;
		c = _mmt_trace_gfp_canon(g, order, atomic);
		MMT_CHECK(!(c & ~MMT_GFP_VALID_MASK));
		if (atomic)
			MMT_CHECK(!(c & __GFP_DIRECT_RECLAIM));
		/* NOFAIL never survives decoding (see _mmt_trace_gfp_canon) */
		MMT_CHECK(!(c & __GFP_NOFAIL));
		/* only NOFAIL and (in atomic context) DIRECT_RECLAIM go */
		MMT_CHECK(!((g & MMT_GFP_VALID_MASK & ~c) &
			    ~(__GFP_NOFAIL | __GFP_DIRECT_RECLAIM)));
		c2 = _mmt_trace_gfp_canon(c, order, atomic);
		MMT_CHECK_EQ(c2, c);
	}
}

MMT_TEST(trace_decoding_under_rt_rules_keeps_raw_lock_sections_lock_free)
{
	/* rt_rules on; raw_lock; alloc_pages GFP_ATOMIC; kmalloc; kvfree_rcu_head */
	const uint8_t in[] = {
		0,
		0x04,
		0,
		0,
		MMT_OP_KMALLOC,
		63,
		0,
		(uint8_t)GFP_KERNEL,
		(uint8_t)(GFP_KERNEL >> 8),
		0,
		0,
		MMT_OP_ENTER,
		MMT_CTX_RAW_LOCK,
		MMT_OP_ALLOC_PAGES,
		(uint8_t)GFP_ATOMIC,
		(uint8_t)(GFP_ATOMIC >> 8),
		0,
		0,
		0,
		MMT_OP_KMALLOC,
		7,
		0,
		(uint8_t)GFP_ATOMIC,
		0,
		0,
		0,
		MMT_OP_ENTER,
		MMT_CTX_SPIN_LOCK,
		MMT_OP_KVFREE_RCU_HEAD,
		0,
		MMT_OP_EXIT,
	};
	struct mmt_program p;
	char *text;

	mmt_trace_decode(in, sizeof(in), &p);
	text = print_str(&p);
	MMT_CHECK_STR(
		text,
		"mmtorture-trace 1\n"
		"machine nodes=1 cpus=1 normal=256 dma32=64 slab=slub mempool=kernel-2016 rt=on kvfree_rcu=fast-try oracles=0 throttle=reclaim\n"
		"bugs none\n"
		"o0 = kmalloc size=64 GFP_KERNEL\n"
		"enter raw_lock\n"
		"  p0 = alloc_pages GFP_ATOMIC|__GFP_FAST_TRY order=0\n"
		"  kvfree_rcu_head o0\n"
		"exit\n");
	free(text);
	mmt_program_free(&p);
}

/* ---- files ---- */

MMT_TEST(trace_load_reads_both_spellings)
{
	char path[] = "/tmp/mmt-trace-XXXXXX";
	struct mmt_program p, q;
	char err[512];
	uint8_t *b;
	size_t n;
	FILE *f;
	int fd;

	parse_ok(every_op, &p);
	fd = mkstemp(path);
	MMT_CHECK(fd >= 0);
	f = fdopen(fd, "w");
	MMT_CHECK(f != NULL);
	fputs(every_op, f);
	MMT_CHECK(fclose(f) == 0);
	MMT_CHECK_MSG(mmt_trace_load(path, &q, err, sizeof(err)), "%s", err);
	MMT_CHECK(mmt_program_equal(&p, &q));
	mmt_program_free(&q);

	n = mmt_trace_encode(&p, NULL, 0);
	b = malloc(n);
	mmt_trace_encode(&p, b, n);
	f = fopen(path, "wb");
	MMT_CHECK(f != NULL && fwrite(b, 1, n, f) == n);
	MMT_CHECK(fclose(f) == 0);
	MMT_CHECK_MSG(mmt_trace_load(path, &q, err, sizeof(err)), "%s", err);
	MMT_CHECK(mmt_program_equal(&p, &q));
	mmt_program_free(&q);

	/* a text file with an error names the path */
	f = fopen(path, "w");
	fputs("mmtorture-trace 1\nexit\n", f);
	MMT_CHECK(fclose(f) == 0);
	MMT_CHECK(!mmt_trace_load(path, &q, err, sizeof(err)));
	MMT_CHECK(!strncmp(err, path, strlen(path)));
	MMT_CHECK(strstr(err, ":2:1: exit with no context entered") != NULL);
	unlink(path);
	MMT_CHECK(!mmt_trace_load(path, &q, err, sizeof(err)));
	free(b);
	mmt_program_free(&p);
}

/* ---- text or binary ---- */

MMT_TEST(trace_parse_takes_a_bom_blank_lines_and_comments_before_the_magic_line)
{
	static const char body[] =
		"mmtorture-trace 1\no0 = kmalloc size=64 GFP_KERNEL\nkfree o0\n";
	static const char *const preambles[] = {
		"\xef\xbb\xbf",
		"\n\n",
		"# kept by hand\n\n",
		"\xef\xbb\xbf# notes\r\n  \r\n",
	};
	struct mmt_program want, got;
	char text[256], err[512];
	size_t i;

	parse_ok(body, &want);
	for (i = 0; i < MMT_ARRAY_SIZE(preambles); i++) {
		snprintf(text, sizeof(text), "%s%s", preambles[i], body);
		MMT_CHECK_EQ(mmt_trace_classify(text, strlen(text)),
			     MMT_TRACE_FORM_TEXT);
		MMT_CHECK_MSG(mmt_trace_read("x.trace", text, strlen(text), 0,
					     &got, NULL, err, sizeof(err)),
			      "preamble %zu: %s", i, err);
		MMT_CHECK(mmt_program_equal(&want, &got));
		mmt_program_free(&got);
	}
	/* the columns of line 1 start after the byte order mark */
	snprintf(text, sizeof(text), "\xef\xbb\xbfmmtorture-trace 9\n");
	MMT_CHECK(!mmt_trace_read("x.trace", text, strlen(text), 0, &got, NULL,
				  err, sizeof(err)));
	MMT_CHECK_STR(
		err,
		"x.trace:1:17: unsupported trace version '9' (this build reads 1)");
	mmt_program_free(&want);
}

MMT_TEST(
	trace_classify_takes_text_looking_bytes_for_text_and_a_compiled_program_for_binary)
{
	static const struct {
		const char *bytes;
		enum mmt_trace_form form;
	} cases[] = {
		{ "mmtorture-trace 1\n", MMT_TRACE_FORM_TEXT },
		{ "\n# c\nmmtorture-trace 1", MMT_TRACE_FORM_TEXT },
		{ "mmtorture-trcae 1", MMT_TRACE_FORM_TEXTLIKE },
		{ "MMTORTURE-TRACE 1", MMT_TRACE_FORM_TEXTLIKE },
		{ "mmtorture-trace-v1", MMT_TRACE_FORM_TEXTLIKE },
		{ "\xef\xbb\xbf", MMT_TRACE_FORM_TEXTLIKE },
		{ "# Corpora\n\nOne directory per target, caf\xc3\xa9.\n",
		  MMT_TRACE_FORM_TEXTLIKE },
		{ "no line break", MMT_TRACE_FORM_BINARY },
		{ "bad utf-8 \xc3\x28\n", MMT_TRACE_FORM_BINARY },
		{ "ctrl \x01\n", MMT_TRACE_FORM_BINARY },
		{ "", MMT_TRACE_FORM_BINARY },
	};
	struct mmt_program p;
	uint8_t *b;
	size_t i, n;

	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++)
		MMT_CHECK_MSG(mmt_trace_classify(cases[i].bytes,
						 strlen(cases[i].bytes)) ==
				      cases[i].form,
			      "case %zu: '%s'", i, cases[i].bytes);
	parse_ok(every_op, &p);
	n = mmt_trace_encode(&p, NULL, 0);
	b = malloc(n);
	mmt_trace_encode(&p, b, n);
	MMT_CHECK_EQ(mmt_trace_classify(b, n), MMT_TRACE_FORM_BINARY);
	free(b);
	mmt_program_free(&p);
}

MMT_TEST(
	trace_read_never_fails_on_a_fuzzers_bytes_and_fails_on_a_persons_bad_text)
{
	static const char bad[] = "mmtorture-trace 1\nfrobnicate p0\n";
	struct mmt_program p;
	char err[512];
	uint8_t buf[300];
	enum mmt_trace_form form;
	int round;
	size_t i;

	/* A fuzzer's input: every byte string, text-looking or not. */
	for (round = 0; round < 2000; round++) {
		size_t n = (size_t)t_rand_below(sizeof(buf));

		for (i = 0; i < n; i++)
			buf[i] = round & 1 ? (uint8_t)(' ' + t_rand_below(95)) :
					     (uint8_t)t_rand();
		if (n && round % 3 == 0)
			buf[t_rand_below(n)] = '\n';
		MMT_CHECK(mmt_trace_read(NULL, buf, n, 0, &p, &form, err,
					 sizeof(err)));
		mmt_program_free(&p);
		MMT_CHECK(mmt_trace_read("crash-0123abc", buf, n, 0, &p, &form,
					 err, sizeof(err)));
		mmt_program_free(&p);
	}
	/* text that does not parse is binary to a fuzzer ... */
	MMT_CHECK(mmt_trace_read("id:000001,src:000000", bad, strlen(bad), 0,
				 &p, &form, err, sizeof(err)));
	MMT_CHECK_EQ(form, MMT_TRACE_FORM_BINARY);
	mmt_program_free(&p);
	/* ... and an error to a person, by name or by looks */
	MMT_CHECK(!mmt_trace_read("kept.trace", bad, strlen(bad), 0, &p, &form,
				  err, sizeof(err)));
	MMT_CHECK_STR(
		err,
		"kept.trace:2:1: unknown operation 'frobnicate' (see 'mmtorture trace ops')");
	MMT_CHECK(!mmt_trace_read("notes", bad, strlen(bad), 0, &p, &form, err,
				  sizeof(err)));
	MMT_CHECK(!strncmp(err, "notes:2:1: ", 11));
	/* a .trace file of binary bytes says so */
	buf[0] = 0x01;
	buf[1] = 0xff;
	MMT_CHECK(!mmt_trace_read("kept.trace", buf, 2, 0, &p, &form, err,
				  sizeof(err)));
	MMT_CHECK(strstr(err, "kept.trace:1:1: not text") == err);
	/* binary bytes under another name decode */
	MMT_CHECK(mmt_trace_read("notes", buf, 2, 0, &p, &form, err,
				 sizeof(err)));
	MMT_CHECK_EQ(form, MMT_TRACE_FORM_BINARY);
	mmt_program_free(&p);
}

MMT_TEST(trace_name_kind_tells_a_persons_files_from_the_fuzzers)
{
	static const struct {
		const char *name;
		enum mmt_trace_name kind;
	} cases[] = {
		{ "corpora/slab/regress/x.trace", MMT_TRACE_NAME_TEXT },
		{ "build/default/corpora/slab/seeds/kmalloc-churn.bin",
		  MMT_TRACE_NAME_FUZZ },
		{ "out/crashes/crash-da39a3ee5e6b4b0d3255bfef95601890afd80709",
		  MMT_TRACE_NAME_FUZZ },
		{ "corpus/da39a3ee5e6b4b0d3255bfef95601890afd80709",
		  MMT_TRACE_NAME_FUZZ },
		{ "default/crashes/id:000000,sig:06,src:000003,time:12",
		  MMT_TRACE_NAME_FUZZ },
		{ "leak-1234", MMT_TRACE_NAME_FUZZ },
		{ "timeout-1234", MMT_TRACE_NAME_FUZZ },
		{ "corpora/bug-programs/README.md", MMT_TRACE_NAME_OTHER },
		{ "README.txt", MMT_TRACE_NAME_OTHER },
		{ ".trace", MMT_TRACE_NAME_OTHER },
		{ "da39a3ee5e6b4b0d3255bfef95601890afd8070",
		  MMT_TRACE_NAME_OTHER },
	};
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++)
		MMT_CHECK_MSG(mmt_trace_name_kind(cases[i].name) ==
				      cases[i].kind,
			      "%s", cases[i].name);
}

MMT_TEST(trace_example_corpus_parses_prints_and_compiles_losslessly)
{
#ifdef MMT_SOURCE_DIR
	const char *dir = MMT_SOURCE_DIR "/corpora/trace-examples";
	DIR *d = opendir(dir);
	struct dirent *de;
	int nr = 0;

	MMT_CHECK_MSG(d != NULL, "no directory %s", dir);
	while ((de = readdir(d))) {
		struct mmt_program p, back;
		char path[1024], err[512];
		size_t len = strlen(de->d_name);
		char *text;

		if (len < 7 || strcmp(de->d_name + len - 6, ".trace"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		MMT_CHECK_MSG(mmt_trace_load(path, &p, err, sizeof(err)), "%s",
			      err);
		MMT_CHECK(p.nr_ops > 0);
		text = print_str(&p);
		parse_ok(text, &back);
		MMT_CHECK(mmt_program_equal(&p, &back));
		free(text);
		mmt_program_free(&back);
		/*
		 * The examples are binary-valid: compiling them loses nothing,
		 * but for the header of seed 002's (rt=on with nowait blocks,
		 * which the binary form turns into fast-try on purpose).
		 */
		check_binary_valid(&p);
		encode_decode(&p, &back);
		if (p.hdr.rt_rules && !p.hdr.kvfree_rcu_fast_try) {
			MMT_CHECK(back.hdr.kvfree_rcu_fast_try);
			back.hdr.kvfree_rcu_fast_try = false;
		}
		MMT_CHECK_MSG(mmt_program_equal(&p, &back),
			      "%s changes through the binary form", path);
		mmt_program_free(&back);
		mmt_program_free(&p);
		nr++;
	}
	closedir(d);
	MMT_CHECK_MSG(nr >= 5, "only %d example traces in %s", nr, dir);
#endif
}

/*
 * tests/data/trace-decode-golden.txt holds byte strings and the canonical
 * text each decoded to over each single-CPU target's operations, written
 * by the codec before the concurrent language existed: every binary corpus
 * of those targets must keep its meaning as operations are added.
 */
static void default_mempool_policies(void)
{
	char err[160];

	MMT_CHECK(mmt_trace_bin_set_mempool_policies(NULL, err, sizeof(err)));
}

MMT_TEST(trace_single_cpu_binary_decoding_is_unchanged_from_the_golden_file)
{
#ifdef MMT_SOURCE_DIR
	const char *path = MMT_SOURCE_DIR "/tests/data/trace-decode-golden.txt";
	FILE *f = fopen(path, "r");
	char *line = NULL, *want = NULL, *target = NULL;
	size_t cap = 0, want_len = 0, want_cap = 0;
	uint8_t *in = NULL;
	size_t in_len = 0;
	int nr = 0;
	ssize_t n;
	bool have = false;

	/*
	 * MMT_GOLDEN_WRITE=FILE: write the file again from the decoder as it
	 * is (same byte strings, the text each decodes to now) instead of
	 * checking; for a deliberate change of the binary form, said in the
	 * file's header and in docs/trace-language.md.
	 */
	const char *regen = getenv("MMT_GOLDEN_WRITE");
	FILE *w = regen ? fopen(regen, "w") : NULL;

	MMT_CHECK_MSG(f != NULL, "no file %s", path);
	MMT_CHECK_MSG(!regen || w, "cannot write %s", regen);
	for (;;) {
		n = getline(&line, &cap, f);
		if (n >= 0 && line[0] == '#') {
			if (w)
				fputs(line, w);
			continue;
		}
		if (have && (n < 0 || line[0] == '@')) {
			struct mmt_program p;
			mmt_opset_t set = 0;
			char *got;

			if (strcmp(target, "all"))
				MMT_CHECK_MSG(mmt_trace_target_ops(target,
								   &set),
					      "no target %s", target);
			mmt_trace_decode_set(in, in_len, set, &p);
			got = print_str(&p);
			want[want_len] = '\0';
			if (w)
				fputs(got, w);
			MMT_CHECK_MSG(
				w || !strcmp(got, want),
				"case %d (%s, %zu bytes) decodes differently:\n--- got ---\n%s--- want ---\n%s",
				nr, target, in_len, got, want);
			free(got);
			mmt_program_free(&p);
			nr++;
			have = false;
		}
		if (n < 0)
			break;
		if (line[0] == '@') {
			char *sp = strchr(line + 2, ' ');
			size_t k, hex;

			MMT_CHECK(sp != NULL);
			if (w)
				fputs(line, w);
			*sp = '\0';
			free(target);
			target = strdup(line + 2);
			hex = strcspn(sp + 1, "\n");
			free(in);
			in_len = hex / 2;
			in = malloc(in_len + 1);
			for (k = 0; k < in_len; k++) {
				unsigned int v;

				MMT_CHECK(sscanf(sp + 1 + 2 * k, "%2x", &v) ==
					  1);
				in[k] = (uint8_t)v;
			}
			want_len = 0;
			have = true;
			continue;
		}
		if (want_len + (size_t)n + 1 > want_cap) {
			want_cap = 2 * (want_len + (size_t)n + 1);
			want = realloc(want, want_cap);
			MMT_CHECK(want != NULL);
		}
		memcpy(want + want_len, line, (size_t)n);
		want_len += (size_t)n;
	}
	fclose(f);
	if (w)
		fclose(w);
	free(line);
	free(want);
	free(target);
	free(in);
	MMT_CHECK_MSG(nr >= 40, "only %d cases in %s", nr, path);
#endif
}

/* ---- concurrent programs ---- */

static mmt_opset_t mt_set(const char *target)
{
	mmt_opset_t set = 0;

	MMT_CHECK_MSG(mmt_trace_target_ops(target, &set), "no target %s",
		      target);
	MMT_CHECK(set & MMT_TRACE_SET_MT);
	return set;
}

/* Encode @p over @set into an exact-size buffer (malloc'd). */
static uint8_t *encode_set(const struct mmt_program *p, mmt_opset_t set,
			   size_t *len)
{
	size_t n = mmt_trace_encode_set(p, set, NULL, 0);
	uint8_t *b = malloc(n ? n : 1);

	MMT_CHECK(b != NULL);
	MMT_CHECK_EQ(mmt_trace_encode_set(p, set, b, n), n);
	*len = n;
	return b;
}

MMT_TEST(trace_concurrent_text_compiles_to_binary_and_prints_back_identically)
{
	struct mmt_program p, back;
	uint8_t *b;
	size_t n;
	char *out;

	parse_ok(every_op_mt, &p);
	MMT_CHECK_EQ(p.sched.source, MMT_SCHED_PCT);
	MMT_CHECK_EQ(p.sched.nr_decisions, 35);
	check_binary_valid(&p);
	b = encode_set(&p, mt_set("stack-mt"), &n);
	mmt_trace_decode_set(b, n, mt_set("stack-mt"), &back);
	out = print_str(&back);
	MMT_CHECK_STR(out, every_op_mt);
	MMT_CHECK(mmt_program_equal(&p, &back));
	free(out);
	free(b);
	mmt_program_free(&back);

	/* The single-CPU form has neither kernel threads nor a schedule. */
	encode_decode(&p, &back);
	MMT_CHECK_EQ(back.sched.source, MMT_SCHED_SEQ);
	MMT_CHECK_EQ(back.sched.nr_decisions, 0);
	MMT_CHECK_EQ(back.nr_handles[MMT_H_KTHREAD], 0);
	mmt_program_free(&back);
	mmt_program_free(&p);
}

MMT_TEST(trace_single_cpu_sets_never_hold_kernel_thread_operations)
{
	static const mmt_opset_t sets[] = {
		0, MMT_TRACE_OPS_ALL,
		MMT_OP_BIT(MMT_OP_KTHREAD_START) | MMT_OP_BIT(MMT_OP_KTHREAD_STOP)
	};
	size_t s;
	int k;

	for (s = 0; s < MMT_ARRAY_SIZE(sets); s++)
		for (k = 0; k < 300; k++) {
			struct mmt_program p;
			size_t len, i;
			uint8_t *in = random_input(&len);

			mmt_trace_decode_set(in, len, sets[s], &p);
			for (i = 0; i < p.nr_ops; i++)
				MMT_CHECK(p.ops[i].code < MMT_OP_KTHREAD_START);
			MMT_CHECK_EQ(p.sched.source, MMT_SCHED_SEQ);
			MMT_CHECK_EQ(p.sched.nr_decisions, 0);
			mmt_program_free(&p);
			free(in);
		}
	/* Every single-CPU target stops where the kernel threads start. */
	for (s = 0; mmt_trace_target_name(s, NULL); s++) {
		mmt_opset_t set = 0;

		mmt_trace_target_ops(mmt_trace_target_name(s, NULL), &set);
		if (!(set & MMT_TRACE_SET_MT))
			MMT_CHECK_EQ(set & ~MMT_TRACE_OPS_SEQ, 0);
	}
}

/*
 * 100000 random byte strings over the concurrent targets: each decodes
 * (no crash, nothing read past the end under ASan) to a program the
 * binary rules accept, with a canonical schedule, that encodes and
 * decodes back to itself; every tenth also prints and parses back.
 */
MMT_TEST(trace_concurrent_decoding_is_total_over_random_inputs)
{
	static const char *const targets[] = { "pages-mt",    "slab-mt",
					       "rcu-mt",      "mempool-mt",
					       "reserves-mt", "stack-mt" };
	size_t total_ops = 0, total_dec = 0, kthreads = 0;
	int k;

	for (k = 0; k < 100000; k++) {
		mmt_opset_t set = mt_set(targets[k % MMT_ARRAY_SIZE(targets)]);
		struct mmt_program p, back;
		uint8_t *in, *b;
		size_t len, n, i;

		in = random_input(&len);
		mmt_trace_decode_set(in, len, set, &p);
		MMT_CHECK(p.nr_ops <= MMT_TRACE_MAX_OPS);
		MMT_CHECK(p.sched.source < MMT_NR_SCHED_SOURCES);
		MMT_CHECK(p.sched.nr_decisions <= len);
		if (p.sched.source == MMT_SCHED_SEQ)
			MMT_CHECK_EQ(p.sched.nr_decisions, 0);
		if (p.sched.source == MMT_SCHED_PCT)
			MMT_CHECK(p.sched.pct_depth >= 1 &&
				  p.sched.pct_depth <= MMT_TRACE_PCT_MAX_DEPTH);
		for (i = 0; i < p.nr_ops; i++) {
			MMT_CHECK((set >> p.ops[i].code) & 1);
			kthreads += p.ops[i].code == MMT_OP_KTHREAD_START;
		}
		if (k % 4 == 0)
			check_binary_valid(&p);
		b = encode_set(&p, set, &n);
		mmt_trace_decode_set(b, n, set, &back);
		if (!mmt_program_equal(&p, &back))
			MMT_CHECK_MSG(
				false,
				"input %d: decode -> encode -> decode changes the program\n--- decoded ---\n%s--- again ---\n%s",
				k, print_str(&p), print_str(&back));
		mmt_program_free(&back);
		if (k % 10 == 0) {
			char err[512] = "", *text = print_str(&p);

			MMT_CHECK_MSG(mmt_trace_parse(text, strlen(text),
						      "decoded", &back, err,
						      sizeof(err)),
				      "input %d: %s\n%s", k, err, text);
			MMT_CHECK(mmt_program_equal(&p, &back));
			mmt_program_free(&back);
			free(text);
		}
		total_ops += p.nr_ops;
		total_dec += p.sched.nr_decisions;
		mmt_program_free(&p);
		free(b);
		free(in);
	}
	MMT_CHECK_MSG(
		total_ops > 300000 && total_dec > 100000 && kthreads > 1000,
		"little decoded: %zu operations, %zu decisions, %zu kernel threads",
		total_ops, total_dec, kthreads);
}

MMT_TEST(trace_concurrent_tail_gives_the_decisions_backwards_and_is_clamped)
{
	mmt_opset_t set = mt_set("stack-mt");
	struct mmt_program p;
	/* header, schedule (input), no operation, decisions 5 6 7, count 3 */
	uint8_t in[] = { 1, 0, 0, 0, MMT_SCHED_INPUT, 0, 0, 0, 0, 0, 0, 0,
			 7, 6, 5, 3 };
	uint8_t big[12 + 300];
	size_t i;

	mmt_trace_decode_set(in, sizeof(in), set, &p);
	MMT_CHECK_EQ(p.nr_ops, 0);
	MMT_CHECK_EQ(p.sched.source, MMT_SCHED_INPUT);
	MMT_CHECK_EQ(p.sched.nr_decisions, 3);
	MMT_CHECK_EQ(p.sched.decisions[0], 5);
	MMT_CHECK_EQ(p.sched.decisions[2], 7);
	mmt_program_free(&p);

	/* A count larger than what precedes it takes what there is. */
	in[sizeof(in) - 1] = 100;
	mmt_trace_decode_set(in, sizeof(in), set, &p);
	MMT_CHECK_EQ(p.sched.nr_decisions, 3);
	mmt_program_free(&p);

	/* The only byte after the headers is the count: nothing before it. */
	mmt_trace_decode_set(in, 13, set, &p);
	MMT_CHECK_EQ(p.sched.nr_decisions, 0);
	MMT_CHECK_EQ(p.nr_ops, 0);
	mmt_program_free(&p);

	/* A long-form 255 without its two count bytes counts none. */
	in[13] = 0xff;
	mmt_trace_decode_set(in, 14, set, &p);
	MMT_CHECK_EQ(p.sched.nr_decisions, 0);
	MMT_CHECK_EQ(p.nr_ops, 0);
	mmt_program_free(&p);

	/* Long form: 16-bit count, then 255; 297 decisions. */
	memset(big, 0, sizeof(big));
	big[4] = MMT_SCHED_RR;
	for (i = 12; i < sizeof(big) - 3; i++)
		big[i] = (uint8_t)i;
	big[sizeof(big) - 3] = 297 & 0xff;
	big[sizeof(big) - 2] = 297 >> 8;
	big[sizeof(big) - 1] = 0xff;
	mmt_trace_decode_set(big, sizeof(big), set, &p);
	MMT_CHECK_EQ(p.nr_ops, 0);
	MMT_CHECK_EQ(p.sched.nr_decisions, 297);
	MMT_CHECK_EQ(p.sched.decisions[0], (uint8_t)(sizeof(big) - 4));
	MMT_CHECK_EQ(p.sched.decisions[296], 12);
	mmt_program_free(&p);
	/* ... which the encoder writes back byte for byte */
	mmt_trace_decode_set(big, sizeof(big), set, &p);
	{
		size_t n;
		uint8_t *b = encode_set(&p, set, &n);

		MMT_CHECK_EQ(n, sizeof(big));
		MMT_CHECK(!memcmp(b, big, n));
		free(b);
	}
	mmt_program_free(&p);

	/* Under seq the decision bytes are consumed but mean nothing. */
	big[4] = MMT_SCHED_SEQ;
	mmt_trace_decode_set(big, sizeof(big), set, &p);
	MMT_CHECK_EQ(p.nr_ops, 0);
	MMT_CHECK_EQ(p.sched.nr_decisions, 0);
	mmt_program_free(&p);

	/* Nothing past the headers: no count at all. */
	mmt_trace_decode_set(in, 12, set, &p);
	MMT_CHECK_EQ(p.sched.nr_decisions, 0);
	MMT_CHECK_EQ(p.nr_ops, 0);
	mmt_program_free(&p);
}

/*
 * Operations decode from the front and decisions from the back: inserting
 * or deleting operation bytes leaves the decisions alone, so a mutator's
 * edit of the operations never reshuffles the schedule.
 */
MMT_TEST(trace_concurrent_operation_edits_do_not_shift_the_decisions)
{
	mmt_opset_t set = mt_set("slab-mt");
	struct mmt_program p, q;
	uint8_t *b, *c;
	size_t n, i, at;

	parse_ok(HDR_MT "c0 = kmem_cache_create size=96 0\n"
			"co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
			"cpu 1\n"
			"kmem_cache_free co0\n"
			"decisions 4 0 2 1 3\n",
		 &p);
	b = encode_set(&p, set, &n);
	for (at = 12; at < n - 6; at++) {
		c = malloc(n + 5);
		memcpy(c, b, at);
		for (i = 0; i < 5; i++)
			c[at + i] = (uint8_t)(0x40 + i * 7); /* new op bytes */
		memcpy(c + at + 5, b + at, n - at);
		mmt_trace_decode_set(c, n + 5, set, &q);
		MMT_CHECK_EQ(q.sched.nr_decisions, 5);
		MMT_CHECK(!memcmp(q.sched.decisions, p.sched.decisions,
				  5 * sizeof(uint16_t)));
		mmt_program_free(&q);
		free(c);
	}
	free(b);
	mmt_program_free(&p);
}

MMT_TEST(trace_schedule_errors_name_file_line_column_and_token)
{
#define M "mmtorture-trace 1\n"
	parse_err(
		M "machine sched=fifo\n",
		"t.trace:2:15: sched='fifo': expected seq, input, pct, random or rr");
	parse_err(
		M "machine sched=rr sched_seed=3\n",
		"t.trace:2:18: sched_seed= is for sched=pct or random, not sched=rr");
	parse_err(
		M "machine sched_seed=3 sched=random pct_depth=2\n",
		"t.trace:2:35: pct_depth= is for sched=pct, not sched=random");
	parse_err(
		M "machine sched=pct pct_depth=9\n",
		"t.trace:2:29: bad number '9' for pct_depth= (expected 1..8)");
	parse_err(
		M "machine sched=pct pct_steps=70000\n",
		"t.trace:2:29: bad number '70000' for pct_steps= (expected 0..65535, 0: estimated)");
	parse_err(M "machine sched=pct sched=rr\n",
		  "t.trace:2:19: machine field 'sched' given twice");
	parse_err(
		M "machine sched=input\n"
		  "p0 = alloc_pages GFP_KERNEL order=0\n"
		  "decisions 0 1 x2\n",
		"t.trace:4:15: bad decision 'x2' (expected a number 0..65535: an index among the runnable fibers)");
	parse_err(
		M "p0 = alloc_pages GFP_KERNEL order=0\ndecisions 0 1\n",
		"t.trace:3:1: decisions need a concurrent schedule: give the machine line sched=input, pct, random or rr (sched=seq runs the operations in textual order)");
	parse_err(
		M "machine sched=rr\ndecisions 0 1\ncpu 0\n",
		"t.trace:4:1: an operation after the schedule's decisions (line 3): the decisions come after every operation");
	parse_err(
		M "machine sched=rr\ndecisions\n",
		"t.trace:3:10: decisions: expected at least one decision (a number 0..65535)");
	parse_err(
		M "machine sched=rr\ndecisions 1\nmachine cpus=2\n",
		"t.trace:4:1: 'machine' belongs to the header, before the first operation");
	parse_err(
		M "machine sched=rr\ndecisions 65536\n",
		"t.trace:3:11: bad decision '65536' (expected a number 0..65535: an index among the runnable fibers)");
	parse_err(
		M "k0 = kthread_start ksoftirqd node=0\n",
		"t.trace:2:20: unknown kthread 'ksoftirqd' (expected kswapd disk dmcrypt loop netswap gp kvfree_rcu)");
	parse_err(M "k0 = kthread_start gp node=3\n",
		  "t.trace:2:28: bad number '3' for node= (expected 0..0)");
	parse_err(
		M "machine sched=rr\nk0 = kthread_start gp node=0\n"
		  "k1 = kthread_start gp node=0\n",
		"t.trace:4:20: kthread_start gp: k0 is one already (one a machine)");
	parse_err(
		M
		"machine nodes=2\nk0 = kthread_start kswapd node=1\n"
		"k1 = kthread_start kswapd node=0\nk2 = kthread_start kswapd node=1\n",
		"t.trace:5:20: kthread_start kswapd node=1: k0 is the node's kswapd already");
	parse_err(
		M
		"machine nodes=2\nk0 = kthread_start kswapd node=1\nkswapd node=1\n",
		"t.trace:4:8: kswapd node=1: the node's kswapd runs as k0 (stop it first)");
	parse_err(
		M
		"k0 = kthread_start disk node=0\nkthread_stop k0\nkthread_stop k0\n",
		"t.trace:4:14: handle 'k0' is dead (created at line 2, ended at line 3; write 'misuse ...' for a deliberate misuse)");
#undef M
}

MMT_TEST(trace_kernel_threads_may_sleep_so_binary_rules_keep_them_out_of_atomic)
{
	struct _mmt_trace_state st;
	struct mmt_trace_header h;
	struct mmt_op enter = { .code = MMT_OP_ENTER,
				.arg = { MMT_CTX_RCU_READ } };
	struct mmt_op start = { .code = MMT_OP_KTHREAD_START,
				.arg = { MMT_KT_GP, 0 } };
	struct mmt_op stop = { .code = MMT_OP_KTHREAD_STOP, .arg = { 0 } };

	mmt_trace_header_default(&h);
	MMT_CHECK(_mmt_trace_state_init(&st, &h, false));
	MMT_CHECK(_mmt_trace_state_check(&st, &start, NULL));
	MMT_CHECK(_mmt_trace_state_apply(&st, &start));
	MMT_CHECK(_mmt_trace_state_check(&st, &enter, NULL));
	MMT_CHECK(_mmt_trace_state_apply(&st, &enter));
	MMT_CHECK(!_mmt_trace_state_check(&st, &stop, NULL));
	start.arg[0] = MMT_KT_DISK;
	MMT_CHECK(!_mmt_trace_state_check(&st, &start, NULL));
	_mmt_trace_state_free(&st);
}

/* ---- the concurrent structure ---- */

/* "3 4 10" of operation @i's dependencies. */
static void deps_str(const struct mmt_trace_deps *d, size_t i, char *buf,
		     size_t len)
{
	size_t n = 0, k;

	buf[0] = '\0';
	for (k = d->first[i]; k < d->first[i + 1] && n + 12 < len; k++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", n ? " " : "",
				      d->on[k]);
}

MMT_TEST(trace_deps_order_what_threads_share_and_nothing_else)
{
	static const struct {
		unsigned int cpu;
		const char *deps;
	} want[] = {
		/* 0  c0 = kmem_cache_create      */ { 0, "" },
		/* 1  co0 = kmem_cache_alloc c0   */ { 0, "" },
		/* 2  cpu 1                       */ { 1, "" },
		/* 3  co1 = kmem_cache_alloc c0   */ { 1, "0" },
		/* 4  kmem_cache_free co0 (3: c0) */ { 1, "1" },
		/* 5  enter irq (block: 6's)      */ { 1, "" },
		/* 6    o0 = kmalloc              */ { 1, "" },
		/* 7  exit                        */ { 1, "" },
		/* 8  cpu 2                       */ { 2, "" },
		/* 9  co2 = kmem_cache_alloc c0   */ { 2, "0" },
		/* 10 enter preempt (11's, 12's)  */ { 2, "3 6" },
		/* 11   kmem_cache_free co1       */ { 2, "" },
		/* 12   kfree o0                  */ { 2, "" },
		/* 13 exit                        */ { 2, "" },
		/* 14 cpu 0                       */ { 0, "" },
		/* 15 kmem_cache_free co2         */ { 0, "9" },
		/* 16 kmem_cache_destroy c0 (3 < 4, 9 < 11) */ { 0, "4 11" },
		/* 17 cpu_offline 1 (its last)     */ { 0, "7" },
		/* 18 cpu_online 1                */ { 0, "" },
		/* 19 cpu 1 (takes CPU 1: online) */ { 1, "18" },
		/* 20 p0 = alloc_pages (19 < 20)  */ { 1, "" },
	};
	struct mmt_program p;
	struct mmt_trace_deps d;
	char got[128];
	size_t i;

	parse_ok("mmtorture-trace 1\n"
		 "machine cpus=3 sched=rr\n"
		 "c0 = kmem_cache_create size=64 0\n"
		 "co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
		 "cpu 1\n"
		 "co1 = kmem_cache_alloc c0 GFP_KERNEL\n"
		 "kmem_cache_free co0\n"
		 "enter irq\n"
		 "o0 = kmalloc size=32 GFP_ATOMIC\n"
		 "exit\n"
		 "cpu 2\n"
		 "co2 = kmem_cache_alloc c0 GFP_KERNEL\n"
		 "enter preempt\n"
		 "kmem_cache_free co1\n"
		 "kfree o0\n"
		 "exit\n"
		 "cpu 0\n"
		 "kmem_cache_free co2\n"
		 "kmem_cache_destroy c0\n"
		 "cpu_offline 1\n"
		 "cpu_online 1\n"
		 "cpu 1\n"
		 "p0 = alloc_pages GFP_KERNEL order=0\n",
		 &p);
	MMT_CHECK_EQ(p.nr_ops, MMT_ARRAY_SIZE(want));
	MMT_CHECK(mmt_trace_deps_build(&p, &d));
	MMT_CHECK_EQ(d.nr_ops, p.nr_ops);
	for (i = 0; i < p.nr_ops; i++) {
		deps_str(&d, i, got, sizeof(got));
		MMT_CHECK_MSG(
			d.cpu[i] == want[i].cpu && !strcmp(got, want[i].deps),
			"operation %zu: cpu %u deps \"%s\", expected cpu %u deps \"%s\"",
			i, d.cpu[i], got, want[i].cpu, want[i].deps);
	}
	mmt_trace_deps_free(&d);
	mmt_program_free(&p);
}

/*
 * Kernel threads of a kind are ordered by the text: a stop before the
 * next start of the kind, and a kswapd pass run on a CPU never beside
 * the node's kswapd thread.
 */
MMT_TEST(trace_deps_order_kernel_threads_of_a_kind)
{
	static const char *const want[] = {
		/* 0 k0 = kthread_start kswapd node=0 */ "",
		/* 1 cpu 1                           */ "",
		/* 2 kthread_stop k0                 */ "0",
		/* 3 cpu 0                           */ "",
		/* 4 kswapd node=0                   */ "2",
		/* 5 k1 = kthread_start gp node=0    */ "",
		/* 6 cpu 1                           */ "",
		/* 7 kthread_stop k1                 */ "5",
		/* 8 k2 = kthread_start gp node=1    */ "",
		/* 9 cpu 0                           */ "",
		/* 10 k3 = kthread_start kswapd node=0 (4: 2) */ "",
		/* 11 k4 = kthread_start kswapd node=1 */ "",
		/* 12 k5 = kthread_start disk node=0 */ "",
	};
	struct mmt_program p;
	struct mmt_trace_deps d;
	char got[128];
	size_t i;

	parse_ok("mmtorture-trace 1\n"
		 "machine nodes=2 cpus=2 sched=rr\n"
		 "k0 = kthread_start kswapd node=0\n"
		 "cpu 1\n"
		 "kthread_stop k0\n"
		 "cpu 0\n"
		 "kswapd node=0\n"
		 "k1 = kthread_start gp node=0\n"
		 "cpu 1\n"
		 "kthread_stop k1\n"
		 "k2 = kthread_start gp node=1\n"
		 "cpu 0\n"
		 "k3 = kthread_start kswapd node=0\n"
		 "k4 = kthread_start kswapd node=1\n"
		 "k5 = kthread_start disk node=0\n",
		 &p);
	MMT_CHECK_EQ(p.nr_ops, MMT_ARRAY_SIZE(want));
	MMT_CHECK(mmt_trace_deps_build(&p, &d));
	for (i = 0; i < p.nr_ops; i++) {
		deps_str(&d, i, got, sizeof(got));
		MMT_CHECK_MSG(!strcmp(got, want[i]),
			      "operation %zu: deps \"%s\", expected \"%s\"", i,
			      got, want[i]);
	}
	mmt_trace_deps_free(&d);
	mmt_program_free(&p);
}

/*
 * Over random concurrent programs: every dependency is earlier and on
 * another thread, no operation inside a context waits, and whenever two
 * operations of different threads share a handle and one of them creates,
 * ends or changes it (or uses an object handle), the later one is ordered
 * after the earlier through dependencies and program order.
 */
MMT_TEST(trace_deps_order_every_conflicting_pair_and_point_backwards)
{
	mmt_opset_t set = mt_set("stack-mt");
	int k, checked = 0;

	for (k = 0; k < 3000; k++) {
		struct mmt_program p;
		struct mmt_trace_deps d;
		uint64_t *reach; /* bitset of the operations before each */
		size_t len, i, j, w, words;
		uint32_t *last; /* per thread: its last operation */
		uint32_t *thr; /* by operation: its thread (a handler's own) */
		int depth = 0;
		uint8_t *in = random_input(&len);

		mmt_trace_decode_set(in, len, set, &p);
		free(in);
		MMT_CHECK(mmt_trace_deps_build(&p, &d));
		words = (p.nr_ops + 63) / 64;
		reach = calloc(p.nr_ops * words + 1, sizeof(*reach));
		last = malloc(((size_t)p.hdr.nr_cpus + p.nr_ops + 1) *
			      sizeof(*last));
		thr = malloc((p.nr_ops + 1) * sizeof(*thr));
		MMT_CHECK(reach && last && thr);
		memset(last, 0xff,
		       ((size_t)p.hdr.nr_cpus + p.nr_ops + 1) * sizeof(*last));
		for (i = 0; i < p.nr_ops; i++)
			thr[i] = d.handler[i] ? (uint32_t)p.hdr.nr_cpus +
							d.handler[i] :
						d.cpu[i];
		for (i = 0; i < p.nr_ops; i++) {
			uint64_t *r = reach + i * words;
			uint32_t e;

			bool opens = p.ops[i].code == MMT_OP_ENTER ||
				     p.ops[i].code == MMT_OP_INTERRUPT;

			if (opens)
				depth++;
			if (depth && !opens && d.first[i + 1] != d.first[i])
				MMT_CHECK_MSG(
					false,
					"operation %zu waits inside a context",
					i);
			if (p.ops[i].code == MMT_OP_EXIT && depth)
				depth--;
			for (e = d.first[i]; e < d.first[i + 1]; e++) {
				uint32_t on = d.on[e];

				MMT_CHECK(on < i && thr[on] != thr[i]);
				for (w = 0; w < words; w++)
					r[w] |= reach[on * words + w];
				r[on / 64] |= 1ull << (on % 64);
			}
			if (last[thr[i]] != UINT32_MAX) {
				uint32_t pr = last[thr[i]];

				for (w = 0; w < words; w++)
					r[w] |= reach[pr * words + w];
				r[pr / 64] |= 1ull << (pr % 64);
			}
			last[thr[i]] = (uint32_t)i;
		}
		/* Conflicting pairs: a shared handle, one side a writer. */
		for (i = 0; i < p.nr_ops; i++) {
			const struct mmt_op_info *ii =
				mmt_op_info(p.ops[i].code);

			for (j = 0; j < i; j++) {
				const struct mmt_op_info *ij =
					mmt_op_info(p.ops[j].code);
				int a;
				bool conflict = false;

				if (thr[i] == thr[j] ||
				    p.ops[i].code == MMT_OP_CPU ||
				    p.ops[j].code == MMT_OP_CPU)
					continue;
				/* j created a handle i names */
				for (a = 0; a < ii->nargs; a++)
					if (ii->args[a].type ==
						    MMT_ARG_HANDLE &&
					    ij->result == ii->args[a].kind) {
						uint32_t s = 0;
						size_t x;

						for (x = 0; x < j; x++)
							s += mmt_op_info(
								     p.ops[x].code)
								     ->result ==
							     ij->result;
						conflict |= s ==
							    p.ops[i].arg[a];
					}
				/* i ends a handle j named */
				for (a = 0; ii->ends && a < ij->nargs; a++)
					conflict |=
						ij->args[a].type ==
							MMT_ARG_HANDLE &&
						ij->args[a].kind ==
							ii->args[ii->ends - 1]
								.kind &&
						p.ops[j].arg[a] ==
							p.ops[i].arg[ii->ends -
								     1];
				if (!conflict)
					continue;
				checked++;
				MMT_CHECK_MSG(
					reach[i * words + j / 64] >> (j % 64) &
						1,
					"input %d: operation %zu (%s) is not ordered after %zu (%s)",
					k, i, ii->name, j, ij->name);
			}
		}
		free(reach);
		free(last);
		free(thr);
		mmt_trace_deps_free(&d);
		mmt_program_free(&p);
	}
	MMT_CHECK_MSG(checked > 1000, "only %d conflicting pairs", checked);
}

/*
 * Every test starts with all policies allowed (tests/main.c); the engines'
 * default leaves kernel-2016 out: its stall is seed 001's deadlock, a
 * known finding that would fire every night.
 */
MMT_TEST(binary_header_picks_kernel_2016_only_when_allowed)
{
	/* b1 bits 4-5 = 0: the header names kernel-2016 */
	const uint8_t in[] = { 0, 0x00, 0, 0 }, pool_first[] = { 0, 0x20, 0, 0 };
	struct mmt_program p;
	char err[160];

	mmt_trace_decode(in, sizeof(in), &p);
	MMT_CHECK_EQ((int)p.hdr.mempool, (int)MMT_MEMPOOL_KERNEL_2016);
	mmt_program_free(&p);

	default_mempool_policies();
	MMT_CHECK_EQ(mmt_trace_bin_mempool_policies(),
		      (1u << MMT_MEMPOOL_NO_RECLAIM) |
			      (1u << MMT_MEMPOOL_POOL_FIRST));
	mmt_trace_decode(in, sizeof(in), &p);
	MMT_CHECK_EQ((int)p.hdr.mempool, (int)MMT_MEMPOOL_NO_RECLAIM);
	mmt_program_free(&p);
	mmt_trace_decode(pool_first, sizeof(pool_first), &p);
	MMT_CHECK_EQ((int)p.hdr.mempool, (int)MMT_MEMPOOL_POOL_FIRST);
	mmt_program_free(&p);

	MMT_CHECK(mmt_trace_bin_set_mempool_policies("kernel-2016", err,
						     sizeof(err)));
	mmt_trace_decode(in, sizeof(in), &p);
	MMT_CHECK_EQ((int)p.hdr.mempool, (int)MMT_MEMPOOL_KERNEL_2016);
	mmt_program_free(&p);
	/* pool-first not allowed now: the default policy instead */
	mmt_trace_decode(pool_first, sizeof(pool_first), &p);
	MMT_CHECK_EQ((int)p.hdr.mempool, (int)MMT_MEMPOOL_NO_RECLAIM);
	mmt_program_free(&p);

	MMT_CHECK(!mmt_trace_bin_set_mempool_policies("no-reclaim,bogus", err,
						      sizeof(err)));
	MMT_CHECK(strstr(err, "'bogus' is no mempool policy") != NULL);
	MMT_CHECK(!mmt_trace_bin_set_mempool_policies(",", err, sizeof(err)));
	MMT_CHECK(strstr(err, "names no mempool policy") != NULL);
	/* a refused list changes nothing */
	MMT_CHECK_EQ(mmt_trace_bin_mempool_policies(),
		      1u << MMT_MEMPOOL_KERNEL_2016);
}

/*
 * b1 bit 7: the 2016 throttle only where the 2016 world is allowed
 * (kernel-2016 among the policies, or a bug of that throttle on); else
 * today's reclaim_throttle, whose waits are bounded.
 */
MMT_TEST(binary_header_picks_the_2016_throttle_only_when_its_world_is_allowed)
{
	static const uint8_t bit7[4] = { 1, 0x80, 0, 0 },
			     plain[4] = { 1, 0, 0, 0 };
	struct mmt_program p;

	MMT_CHECK(mmt_trace_bin_set_mempool_policies("no-reclaim", NULL, 0));
	mmt_trace_bin_set_bugs(0);
	mmt_trace_decode(bit7, sizeof(bit7), &p);
	MMT_CHECK_EQ((int)p.hdr.throttle, (int)MMT_THROTTLE_RECLAIM);
	mmt_program_free(&p);
	/* a bug of the 2016 throttle brings it in reach */
	mmt_trace_bin_set_bugs(1ull << MMT_BUG_LESS_THROTTLE_NEVER_THROTTLES);
	mmt_trace_decode(bit7, sizeof(bit7), &p);
	MMT_CHECK_EQ((int)p.hdr.throttle, (int)MMT_THROTTLE_VM_WRITEOUT);
	mmt_program_free(&p);
	mmt_trace_decode(plain, sizeof(plain), &p);
	MMT_CHECK_EQ((int)p.hdr.throttle, (int)MMT_THROTTLE_RECLAIM);
	mmt_program_free(&p);
	/* so does kernel-2016 among the policies */
	mmt_trace_bin_set_bugs(1ull << MMT_BUG_PCP_COUNT_DRIFT);
	mmt_trace_decode(bit7, sizeof(bit7), &p);
	MMT_CHECK_EQ((int)p.hdr.throttle, (int)MMT_THROTTLE_RECLAIM);
	mmt_program_free(&p);
	MMT_CHECK(mmt_trace_bin_set_mempool_policies("kernel-2016", NULL, 0));
	mmt_trace_decode(bit7, sizeof(bit7), &p);
	MMT_CHECK_EQ((int)p.hdr.throttle, (int)MMT_THROTTLE_VM_WRITEOUT);
	/* and it survives the round trip through text and back */
	{
		char *text = print_str(&p);
		struct mmt_program q;
		uint8_t buf[64];
		size_t n;

		MMT_CHECK(strstr(text, "throttle=") == NULL);
		n = mmt_trace_encode(&p, buf, sizeof(buf));
		MMT_CHECK(n >= 4 && (buf[1] & 0x80));
		mmt_program_free(&p);
		mmt_trace_decode(plain, sizeof(plain), &q);
		free(text);
		text = print_str(&q);
		MMT_CHECK_MSG(strstr(text, " throttle=reclaim") != NULL, "%s",
			      text);
		free(text);
		mmt_program_free(&q);
	}
}

/*
 * "misuse OP": a deliberate API misuse may name a dead handle (a double
 * free), prints back as written, is refused for an operation that creates
 * a handle, and has no binary form (a fuzzer never writes one).
 */
MMT_TEST(misuse_names_a_dead_handle_prints_back_and_has_no_binary_form)
{
	static const char text[] = "mmtorture-trace 1\n"
				   "machine cpus=1 oracles=0\n"
				   "p0 = alloc_pages GFP_KERNEL order=0\n"
				   "free_pages p0\n"
				   "misuse free_pages p0\n";
	struct mmt_program p, back;
	char *out;

	parse_ok(text, &p);
	MMT_CHECK_EQ(p.nr_ops, 3);
	MMT_CHECK(!p.ops[1].misuse && p.ops[2].misuse);
	MMT_CHECK_EQ(p.ops[2].arg[0], p.ops[1].arg[0]);
	out = print_str(&p);
	MMT_CHECK_MSG(strstr(out, "\nmisuse free_pages p0\n") != NULL, "%s",
		      out);
	free(out);
	encode_decode(&p, &back);
	MMT_CHECK_EQ(back.nr_ops, 2);
	mmt_program_free(&back);
	mmt_program_free(&p);
	/* without the word, the dead handle is refused, with a hint */
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"p0 = alloc_pages GFP_KERNEL order=0\nfree_pages p0\n"
		"free_pages p0\n",
		"t.trace:5:12: handle 'p0' is dead (created at line 3, ended at line 4; write 'misuse ...' for a deliberate misuse)");
	/* a handle never made stays an error */
	parse_err("mmtorture-trace 1\nmachine cpus=1\nmisuse free_pages p0\n",
		  "t.trace:3:19: unknown handle 'p0' (never created)");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"misuse p0 = alloc_pages GFP_KERNEL order=0\n",
		"t.trace:3:8: unknown operation 'p0' (see 'mmtorture trace ops')");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"p0 = misuse alloc_pages GFP_KERNEL order=0\n",
		"t.trace:3:1: misuse alloc_pages: an operation that creates a handle cannot be a misuse");
}

/*
 * The misuse group (mmt/trace.h): only after the word, text only (no
 * binary form: encoding drops it, and no target's set holds it), each
 * refused where it would be no misuse or another one.
 */
MMT_TEST(misuse_operations_need_the_word_have_no_binary_form_and_name_one_misuse)
{
	struct mmt_program p, back;
	const char *t;
	unsigned int code, i;

	parse_ok(every_misuse, &p);
	encode_decode(&p, &back);
	for (i = 0; i < back.nr_ops; i++)
		MMT_CHECK_MSG(!back.ops[i].misuse &&
				      !MMT_OP_IS_MISUSE(back.ops[i].code),
			      "op %u: %s survived encoding", i,
			      mmt_op_info(back.ops[i].code)->name);
	mmt_program_free(&back);
	mmt_program_free(&p);
	for (code = MMT_OP_FIRST_MISUSE; code < MMT_NR_OPCODES; code++) {
		const char *target;
		mmt_opset_t set;

		for (i = 0; (target = mmt_trace_target_name(i, NULL)); i++) {
			MMT_CHECK(mmt_trace_target_ops(target, &set));
			MMT_CHECK_MSG(!((set >> code) & 1), "%s is in %s",
				      mmt_op_info(code)->name, target);
		}
	}
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\nlock_uninitialized\n",
		"t.trace:3:1: lock_uninitialized is a deliberate misuse of the API: write 'misuse lock_uninitialized ...' (text only, for oracle pairs and tests)");
	/* unknown GFP bits only in a misuse */
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"p0 = alloc_pages GFP_KERNEL|0x80000000 order=0\n",
		"t.trace:3:29: bad GFP mask literal '0x80000000' (expected 0 or 0x<hex> with known bits)");
	t = "mmtorture-trace 1\nmachine cpus=1\n"
	    "p0 = alloc_pages GFP_KERNEL order=1\n"
	    "misuse free_pages_tail p0 pages=2\n";
	parse_err(
		t,
		"t.trace:4:27: free_pages_tail p0 pages=2: the block has 2 page(s) (the misuse frees a page inside it)");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"o0 = kmalloc size=64 GFP_KERNEL\nmisuse kfree_at o0 off=0\n",
		"t.trace:4:20: kfree_at o0 off=0: a pointer inside the 64-byte object, off=1..63");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"c0 = kmem_cache_create size=64 0\n"
		"co0 = kmem_cache_alloc c0 GFP_KERNEL\n"
		"misuse kmem_cache_free_to c0 co0\n",
		"t.trace:5:30: kmem_cache_free_to c0 co0: the object is of c0 (the misuse frees it to another cache)");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=2\nmisuse cpu_offline_any cpu=1\n",
		"t.trace:3:24: cpu_offline_any cpu=1: a cpu of the machine (write cpu_offline 1; the misuse is a number past its 2 cpu(s))");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=2 sched=rr\nmisuse cpu 1\n",
		"t.trace:3:1: misuse cpu: in a concurrent program (sched=rr) 'cpu N' starts CPU N's thread and moves no task; leaving a CPU is a misuse of sequential programs");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\nmisuse exit_context noio\n",
		"t.trace:3:21: exit_context noio: a scope's restore takes what its save returned; nothing to restore without one");
	parse_err(
		"mmtorture-trace 1\nmachine cpus=1\n"
		"p0 = alloc_pages GFP_KERNEL order=0\n"
		"misuse write_pages p0 off=4096 count=1\n",
		"t.trace:4:23: write_pages p0 off=4096 count=1: past the block's 4096 bytes");
}

/*
 * A group nested in a group counts in its parent's live members: the
 * parent cannot be destroyed before it, as before its reserves.
 */
MMT_TEST(a_reserve_group_with_a_live_group_in_it_cannot_be_destroyed)
{
	struct mmt_program p;
	static const char head[] = "mmtorture-trace 1\nmachine cpus=1\n"
				   "rg0 = reserve_group\n"
				   "rg1 = reserve_group_in rg0\n";
	char text[256];

	snprintf(text, sizeof(text), "%sreserve_group_destroy rg0\n", head);
	parse_err(
		text,
		"t.trace:5:23: reserve_group_destroy rg0: 1 live reserve(s) or group(s) in it (destroy them first)");
	snprintf(text, sizeof(text),
		 "%sreserve_group_destroy rg1\nreserve_group_destroy rg0\n",
		 head);
	parse_ok(text, &p);
	mmt_program_free(&p);
}

/* @op at the end of @text's program: what the binary rules say of it. */
static bool binary_allows_last(const char *text, bool mt, char *why_msg,
			       size_t len)
{
	struct _mmt_trace_state st;
	struct _mmt_trace_why why = { -1, "" };
	struct mmt_program p;
	size_t i;
	bool ok;

	parse_ok(text, &p);
	MMT_CHECK(p.nr_ops > 0);
	MMT_CHECK(_mmt_trace_state_init(&st, &p.hdr, false));
	st.mt = mt;
	for (i = 0; i + 1 < p.nr_ops; i++) {
		MMT_CHECK(_mmt_trace_state_check(&st, &p.ops[i], NULL));
		MMT_CHECK(_mmt_trace_state_apply(&st, &p.ops[i]));
	}
	ok = _mmt_trace_state_check(&st, &p.ops[p.nr_ops - 1], &why);
	snprintf(why_msg, len, "%s", why.msg);
	_mmt_trace_state_free(&st);
	mmt_program_free(&p);
	return ok;
}

/*
 * The program's mutexes: text may write every order (the fs_reclaim
 * inversion, an ABBA), so that lockdep and the deadlock can be shown; a
 * decoded program closes no cycle of its own: mutex_a before mutex_b, a
 * mutex is the callers' or the shrinkers', none in a concurrent target's
 * program, never twice on one CPU (text neither).
 */
MMT_TEST(trace_binary_rules_keep_the_programs_mutexes_acyclic_and_text_may_write_any_order)
{
	char why[200];

	/* Text: the ABBA and the shrinker's mutex held by a caller parse. */
	MMT_CHECK(!binary_allows_last(HDR_BIN "enter mutex_b\n"
					      "enter mutex_a\n",
				      false, why, sizeof(why)));
	MMT_CHECK_MSG(strstr(why, "a before b") != NULL, "%s", why);
	MMT_CHECK(binary_allows_last(HDR_BIN "enter mutex_a\n"
					     "enter mutex_b\n",
				     false, why, sizeof(why)));
	MMT_CHECK(!binary_allows_last(HDR_BIN
				      "sr0 = shrinker_register mutex_a\n"
				      "enter mutex_a\n",
				      false, why, sizeof(why)));
	MMT_CHECK_MSG(strstr(why, "shrinker") != NULL, "%s", why);
	MMT_CHECK(!binary_allows_last(HDR_BIN "enter mutex_a\n"
					      "exit\n"
					      "sr0 = shrinker_register mutex_a\n",
				      false, why, sizeof(why)));
	MMT_CHECK_MSG(strstr(why, "fs_reclaim") != NULL, "%s", why);
	/* The other mutex stays the callers'. */
	MMT_CHECK(binary_allows_last(HDR_BIN
				     "sr0 = shrinker_register mutex_a\n"
				     "enter mutex_b\n",
				     false, why, sizeof(why)));
	/* Concurrent targets: no shared mutex, shrinkers yes. */
	MMT_CHECK(!binary_allows_last(HDR_BIN "enter mutex_a\n", true, why,
				      sizeof(why)));
	MMT_CHECK(binary_allows_last(HDR_BIN
				     "sr0 = shrinker_register mutex_b\n",
				     true, why, sizeof(why)));
	/* A mutex sleeps: not in atomic context (binary), never in irq. */
	MMT_CHECK(!binary_allows_last(HDR_BIN "enter preempt\n"
					      "enter mutex_a\n",
				      false, why, sizeof(why)));
	parse_err(HDR_BIN "enter irq\nenter mutex_a\n",
		  "t.trace:5:7: enter mutex_a inside irq on cpu 0: a mutex is taken in task context where it may sleep");
	parse_err(HDR_BIN "enter mutex_a\nenter mutex_a\n",
		  "t.trace:5:7: enter mutex_a on cpu 0: it holds the mutex already (a second would deadlock on itself)");
}

/*
 * Reserve groups: a reserve goes in a group (a reserve where a group is
 * wanted is a parse error: no reserve under a leaf), and a group with a
 * live reserve in it cannot be destroyed, in text as in binary.
 */
MMT_TEST(trace_reserve_groups_take_reserves_only_and_are_destroyed_empty)
{
	struct mmt_program p;
	char why[200];

	parse_err(HDR_BIN "r0 = reserve_create pages=4\n"
			  "r1 = reserve_create_in r0 pages=4\n",
		  "t.trace:5:24: handle 'r0' is a reserve, expected a reserve group (rg...)");
	parse_err(
		HDR_BIN "rg0 = reserve_group\n"
			"r0 = reserve_create_in rg0 pages=4\n"
			"reserve_group_destroy rg0\n",
		"t.trace:6:23: reserve_group_destroy rg0: 1 live reserve(s) or group(s) in it (destroy them first)");
	/* Emptied, it may go; a reserve of another group does not count. */
	MMT_CHECK(binary_allows_last(HDR_BIN "rg0 = reserve_group\n"
					     "rg1 = reserve_group\n"
					     "r0 = reserve_create_in rg0 pages=4\n"
					     "r1 = reserve_create_in rg1 pages=4\n"
					     "reserve_destroy r0\n"
					     "reserve_group_destroy rg0\n",
				     false, why, sizeof(why)));
	parse_ok(HDR_BIN "rg0 = reserve_group\n"
			 "r0 = reserve_create_in rg0 pages=4\n"
			 "reserve_group_connect rg0\n"
			 "reserve_group_disconnect rg0\n"
			 "reserve_destroy r0\n"
			 "reserve_group_destroy rg0\n",
		 &p);
	check_binary_valid(&p);
	mmt_program_free(&p);
}
