/* SPDX-License-Identifier: MIT */
/*
 * tests/test_topology.c - topologies (topology/, mmt/topology.h) and the
 * model's NUMA layout fields they fill (mmt_config's cpu_node map and
 * node_distance matrix).
 *
 * Synthetic descriptions map as the mapping rules say (nodes, PUs per
 * node, CPUs spread over cores first, oversubscription round robin), an
 * exported XML file loads back to the same mapping, bad descriptions and
 * files are refused with the token or FILE:LINE:COL and what was expected,
 * pinning puts the thread on its CPU's PU and degrades with a message
 * where the system forbids it (a seccomp filter in a child process), and
 * the model places CPUs and orders zonelist fallback by the fields.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mmt/topology.h"
#include "mmt_test.h"

static struct mmt_topo *topo(const char *spec, int nodes, int cpus)
{
	struct mmt_topo_opts o = { spec, nodes, cpus };
	char err[512];
	struct mmt_topo *t = mmt_topo_create(&o, err, sizeof(err));

	MMT_CHECK_MSG(t, "topology '%s' nodes %d cpus %d: %s", spec, nodes,
		      cpus, err);
	return t;
}

/* The error of a topology that must be refused. */
static void topo_error(const char *spec, int nodes, int cpus, char *err,
		       size_t len)
{
	struct mmt_topo_opts o = { spec, nodes, cpus };
	struct mmt_topo *t = mmt_topo_create(&o, err, len);

	MMT_CHECK_MSG(!t, "topology '%s' was accepted", spec);
}

#define CHECK_CONTAINS(s, sub)                                              \
	MMT_CHECK_MSG(strstr((s), (sub)), "\"%s\" does not contain \"%s\"", \
		      (s), (sub))

MMT_TEST(synthetic_spec_maps_one_node_per_numa_node_and_one_cpu_per_pu)
{
	struct mmt_topo *t = topo("package:2 numa:2 core:4 pu:2", 0, 0);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	int n, c;

	MMT_CHECK_EQ(in->source, MMT_TOPO_SYNTHETIC);
	MMT_CHECK_EQ(in->domain, MMT_TOPO_DOMAIN_NUMA);
	MMT_CHECK_EQ(in->nr_packages, 2);
	MMT_CHECK_EQ(in->nr_numa, 4);
	MMT_CHECK_EQ(in->nr_cores, 16);
	MMT_CHECK_EQ(in->nr_pus, 32);
	MMT_CHECK_EQ(in->nr_nodes, 4);
	MMT_CHECK_EQ(in->nr_cpus, 32);
	MMT_CHECK_EQ(in->nr_pus_used, 32);
	MMT_CHECK_EQ(in->max_cpus_per_pu, 1);
	for (n = 0; n < 4; n++) {
		MMT_CHECK_EQ(in->node[n].nr_pus, 8);
		MMT_CHECK_EQ(in->node[n].nr_cpus, 8);
		MMT_CHECK_EQ(in->node[n].logical, n);
	}
	/*
	 * Node by node; in a node one PU per core first: cpu 0..3 on the
	 * cores' first PUs (L#0, 2, 4, 6), cpu 4..7 on their second ones.
	 */
	for (c = 0; c < 32; c++) {
		int n = c / 8, k = c % 8;
		int pu = n * 8 + (k < 4 ? 2 * k : 2 * (k - 4) + 1);

		MMT_CHECK_EQ(in->cpu[c].node, n);
		MMT_CHECK_EQ(in->cpu[c].pu, pu);
		MMT_CHECK_EQ(in->cpu[c].core, pu / 2);
		MMT_CHECK_EQ(in->cpu[c].package, n / 2);
	}
	/* No distance matrix in a synthetic topology: from the tree. */
	MMT_CHECK(!in->distances_from_hwloc);
	MMT_CHECK_EQ(in->distance[0][0], 10);
	MMT_CHECK_EQ(in->distance[0][1], 20);
	MMT_CHECK_EQ(in->distance[1][2], 30);
	MMT_CHECK_EQ(in->distance[3][2], 20);
	mmt_topo_destroy(t);
}

MMT_TEST(more_simulated_cpus_than_pus_oversubscribe_round_robin)
{
	/* 4 PUs (2 cores x 2); 10 CPUs: 3, 3, 2, 2 per PU. */
	struct mmt_topo *t = topo("core:2 pu:2", 0, 10);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	static const int order[4] = { 0, 2, 1, 3 };
	int c, per_pu[4] = { 0 };

	MMT_CHECK_EQ(in->nr_nodes, 1);
	MMT_CHECK_EQ(in->nr_cpus, 10);
	MMT_CHECK_EQ(in->nr_pus_used, 4);
	MMT_CHECK_EQ(in->max_cpus_per_pu, 3);
	for (c = 0; c < 10; c++) {
		MMT_CHECK_EQ(in->cpu[c].pu, order[c % 4]);
		per_pu[in->cpu[c].pu]++;
	}
	MMT_CHECK_EQ(per_pu[0], 3);
	MMT_CHECK_EQ(per_pu[2], 3);
	MMT_CHECK_EQ(per_pu[1], 2);
	MMT_CHECK_EQ(per_pu[3], 2);
	mmt_topo_destroy(t);

	/* The same request maps the same way every time. */
	t = topo("core:2 pu:2", 0, 10);
	for (c = 0; c < 10; c++)
		MMT_CHECK_EQ(mmt_topo_info(t)->cpu[c].pu, order[c % 4]);
	mmt_topo_destroy(t);
}

MMT_TEST(fewer_cpus_than_pus_spread_over_nodes_by_their_pus_and_over_cores)
{
	/* 2 nodes of 8 PUs, 3 CPUs: 2 on node 0 (tie to the lower), 1. */
	struct mmt_topo *t = topo("numa:2 core:4 pu:2", 0, 3);
	const struct mmt_topo_info *in = mmt_topo_info(t);

	MMT_CHECK_EQ(in->nr_nodes, 2);
	MMT_CHECK_EQ(in->node[0].nr_cpus, 2);
	MMT_CHECK_EQ(in->node[1].nr_cpus, 1);
	MMT_CHECK_EQ(in->cpu[0].pu, 0);
	MMT_CHECK_EQ(in->cpu[1].pu, 2); /* the next core, not PU L#1 */
	MMT_CHECK_EQ(in->cpu[2].node, 1);
	MMT_CHECK_EQ(in->cpu[2].pu, 8);
	MMT_CHECK_EQ(in->max_cpus_per_pu, 1);
	mmt_topo_destroy(t);

	/* --nodes 1 of 2: the CPUs default to that node's PUs. */
	t = topo("numa:2 core:6 pu:1", 1, 0);
	in = mmt_topo_info(t);
	MMT_CHECK_EQ(in->nr_nodes, 1);
	MMT_CHECK_EQ(in->nr_cpus, 6); /* the first node's PUs only */
	MMT_CHECK_EQ(in->node[0].nr_pus, 6);
	mmt_topo_destroy(t);
}

MMT_TEST(packages_are_the_nodes_where_the_topology_has_one_numa_node)
{
	struct mmt_topo *t = topo("package:2 core:2 pu:1", 0, 0);
	const struct mmt_topo_info *in = mmt_topo_info(t);

	MMT_CHECK_EQ(in->nr_numa, 1);
	MMT_CHECK_EQ(in->domain, MMT_TOPO_DOMAIN_PACKAGE);
	MMT_CHECK_EQ(in->nr_nodes, 2);
	MMT_CHECK_EQ(in->node[0].nr_pus, 2);
	MMT_CHECK_EQ(in->node[1].nr_pus, 2);
	MMT_CHECK_EQ(in->cpu[2].node, 1);
	MMT_CHECK_EQ(in->cpu[2].package, 1);
	MMT_CHECK_EQ(in->distance[0][1], 30);
	mmt_topo_destroy(t);
}

MMT_TEST(fewer_nodes_than_the_topology_has_take_the_first_ones)
{
	struct mmt_topo *t = topo("package:2 numa:2 core:4 pu:2", 2, 0);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	int c;

	MMT_CHECK_EQ(in->nr_domains, 4);
	MMT_CHECK_EQ(in->nr_nodes, 2);
	MMT_CHECK_EQ(in->nr_cpus, 16);
	for (c = 0; c < 16; c++)
		MMT_CHECK(in->cpu[c].pu < 16);
	mmt_topo_destroy(t);
}

MMT_TEST(more_nodes_than_the_topology_has_is_refused_naming_the_count)
{
	char err[512];

	topo_error("package:2 numa:2 core:4 pu:2", 5, 0, err, sizeof(err));
	CHECK_CONTAINS(err, "--nodes 5: the topology has 4 NUMA node(s)");
	topo_error("package:2 core:4 pu:2", 3, 0, err, sizeof(err));
	CHECK_CONTAINS(err, "--nodes 3: the topology has 2 package(s)");
}

MMT_TEST(bad_synthetic_specs_name_the_token_column_and_what_was_expected)
{
	static const struct {
		const char *spec, *expect;
	} cases[] = {
		{ "package:2 numa:x pu:2",
		  "token 2 'numa:x' (column 16): expected a count after the type" },
		{ "package:2 foo:3 pu:2",
		  "token 2 'foo:3' (column 11): expected an hwloc object type" },
		{ "numa:0 pu:2",
		  "token 1 'numa:0' (column 6): expected a count of at least 1" },
		{ "package:2 core:4",
		  "'package:2 core:4': expected pu as the last level" },
		{ "  ", "empty (expected levels" },
	};
	char err[512];
	size_t i;

	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++) {
		topo_error(cases[i].spec, 0, 0, err, sizeof(err));
		CHECK_CONTAINS(err, cases[i].expect);
		CHECK_CONTAINS(err, "synthetic topology '");
	}
}

static void temp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TMPDIR");

	snprintf(buf, len, "%s/mmt-topo-%d-%s", dir && *dir ? dir : "/tmp",
		 (int)getpid(), name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	MMT_CHECK_MSG(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

MMT_TEST(xml_export_of_a_synthetic_topology_loads_back_to_the_same_mapping)
{
	struct mmt_topo *s = topo("package:2 numa:2 core:4 pu:2", 0, 40);
	const struct mmt_topo_info *a = mmt_topo_info(s), *b;
	struct mmt_topo *x;
	char path[256], err[512];
	int c, n, k;

	temp_path(path, sizeof(path), "roundtrip.xml");
	MMT_CHECK_MSG(mmt_topo_export_xml(s, path, err, sizeof(err)), "%s",
		      err);
	x = topo(path, 0, 40);
	b = mmt_topo_info(x);
	unlink(path);
	MMT_CHECK_EQ(b->source, MMT_TOPO_XML);
	MMT_CHECK_STR(b->desc, path);
	MMT_CHECK_EQ(b->nr_packages, a->nr_packages);
	MMT_CHECK_EQ(b->nr_numa, a->nr_numa);
	MMT_CHECK_EQ(b->nr_cores, a->nr_cores);
	MMT_CHECK_EQ(b->nr_pus, a->nr_pus);
	MMT_CHECK_EQ(b->nr_nodes, a->nr_nodes);
	MMT_CHECK_EQ(b->nr_cpus, 40);
	MMT_CHECK_EQ(b->max_cpus_per_pu, 2);
	for (n = 0; n < a->nr_nodes; n++) {
		MMT_CHECK_EQ(b->node[n].nr_pus, a->node[n].nr_pus);
		MMT_CHECK_EQ(b->node[n].memory, a->node[n].memory);
		for (k = 0; k < a->nr_nodes; k++)
			MMT_CHECK_EQ(b->distance[n][k], a->distance[n][k]);
	}
	for (c = 0; c < 40; c++) {
		MMT_CHECK_EQ(b->cpu[c].node, a->cpu[c].node);
		MMT_CHECK_EQ(b->cpu[c].pu, a->cpu[c].pu);
		MMT_CHECK_EQ(b->cpu[c].pu_os, a->cpu[c].pu_os);
		MMT_CHECK_EQ(b->cpu[c].core, a->cpu[c].core);
		MMT_CHECK_EQ(b->cpu[c].host_pu, a->cpu[c].host_pu);
	}
	mmt_topo_destroy(x);
	mmt_topo_destroy(s);
}

MMT_TEST(missing_or_corrupt_xml_files_are_refused_with_file_line_and_column)
{
	static const struct {
		const char *name, *text, *expect;
	} cases[] = {
		{ "empty.xml", "", ":1:1: empty file" },
		{ "text.xml", "hello\n",
		  ":1:1: text outside the root element" },
		{ "root.xml", "<?xml version=\"1.0\"?>\n<machine/>\n",
		  ":2:1: root element <machine> (expected <topology>" },
		{ "quote.xml",
		  "<topology version=\"2.0\">\n  <object type=PU/>\n</topology>\n",
		  ":2:16: expected a quoted value for attribute 'type'" },
		{ "nesting.xml",
		  "<topology>\n <object type=\"Machine\">\n</topology>\n",
		  ":3:1: end tag '</topology>' does not close <object> of line 2" },
		{ "cut.xml", "<topology>\n <object type=\"Machine\"",
		  "the file ends inside the tag <object> of line 2" },
		{ "open.xml", "<topology>\n <object type=\"Machine\">\n",
		  "the file ends inside <object> of line 2 (expected '</object>')" },
	};
	char path[256], err[512];
	size_t i;

	temp_path(path, sizeof(path), "no-such-file.xml");
	topo_error(path, 0, 0, err, sizeof(err));
	CHECK_CONTAINS(err, "cannot open it: No such file or directory");
	CHECK_CONTAINS(err, path);
	for (i = 0; i < MMT_ARRAY_SIZE(cases); i++) {
		temp_path(path, sizeof(path), cases[i].name);
		write_file(path, cases[i].text);
		topo_error(path, 0, 0, err, sizeof(err));
		unlink(path);
		CHECK_CONTAINS(err, path);
		CHECK_CONTAINS(err, cases[i].expect);
	}
}

MMT_TEST(well_formed_xml_that_hwloc_refuses_is_named_by_the_line_of_its_token)
{
	struct mmt_topo *s = topo("core:2 pu:1", 0, 0);
	char path[256], bad[256], err[512], line[1024];
	FILE *in, *out;
	int nr = 0, hit = 0;

	temp_path(path, sizeof(path), "good.xml");
	temp_path(bad, sizeof(bad), "badtype.xml");
	MMT_CHECK(mmt_topo_export_xml(s, path, err, sizeof(err)));
	mmt_topo_destroy(s);
	in = fopen(path, "r");
	out = fopen(bad, "w");
	MMT_CHECK(in && out);
	/* The first PU becomes a type hwloc does not know. */
	while (fgets(line, sizeof(line), in)) {
		char *p = strstr(line, "type=\"PU\"");

		nr++;
		if (p && !hit) {
			hit = nr;
			memcpy(p, "type=\"PX\"", 9);
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
	MMT_CHECK(hit > 0);
	topo_error(bad, 0, 0, err, sizeof(err));
	unlink(path);
	unlink(bad);
	snprintf(line, sizeof(line), "%s:%d:", bad, hit);
	CHECK_CONTAINS(err, line);
	CHECK_CONTAINS(err, "PX");
}

MMT_TEST(apply_writes_the_mapping_and_the_machine_places_cpus_by_it)
{
	struct mmt_topo *t = topo("package:2 numa:2 core:2 pu:1", 0, 6);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	struct mmt_config cfg;
	struct mmt_machine *m;
	int c, a, b;

	mmt_config_default(&cfg);
	cfg.normal_pages = 1024;
	cfg.dma32_pages = 0;
	mmt_topo_apply(t, &cfg);
	MMT_CHECK_EQ(cfg.nr_nodes, 4);
	MMT_CHECK_EQ(cfg.nr_cpus, 6);
	MMT_CHECK(cfg.cpu_node_map);
	m = t_machine(&cfg);
	for (c = 0; c < 6; c++)
		MMT_CHECK_EQ(mmt_cpu_to_node(m, c), in->cpu[c].node);
	/* 6 CPUs over 4 nodes of 2 PUs: 2, 2, 1, 1. */
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 1), 0);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 3), 1);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 4), 2);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 5), 3);
	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++)
			MMT_CHECK_EQ(mmt_node_distance(m, a, b),
				     in->distance[a][b]);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
	mmt_topo_destroy(t);
}

/* The host CPUs the calling thread may run on, as a count and the first. */
static int affinity(int *first)
{
	cpu_set_t set;
	int i, n = 0;

	CPU_ZERO(&set);
	MMT_CHECK(!sched_getaffinity(0, sizeof(set), &set));
	*first = -1;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (*first < 0)
			*first = i;
		n++;
	}
	return n;
}

MMT_TEST(bind_pins_the_calling_thread_to_the_pu_of_its_simulated_cpu)
{
	static const char *const specs[] = { "real", "numa:2 core:3 pu:2" };
	char err[512];
	size_t s;
	int c, first;

	for (s = 0; s < MMT_ARRAY_SIZE(specs); s++) {
		struct mmt_topo *t = topo(specs[s], 0, 0);
		const struct mmt_topo_info *in = mmt_topo_info(t);

		MMT_CHECK(in->bind_supported);
		for (c = 0; c < in->nr_cpus; c++) {
			MMT_CHECK_MSG(mmt_topo_bind_cpu(t, c, err, sizeof(err)),
				      "%s", err);
			MMT_CHECK_EQ(affinity(&first), 1);
			MMT_CHECK_EQ(first, in->cpu[c].host_pu);
			if (in->source == MMT_TOPO_REAL)
				MMT_CHECK_EQ(in->cpu[c].host_pu,
					     in->cpu[c].pu_os);
		}
		MMT_CHECK(!mmt_topo_bind_cpu(t, in->nr_cpus, err, sizeof(err)));
		CHECK_CONTAINS(err, "the mapping has cpus 0..");
		mmt_topo_destroy(t);
	}
}

MMT_TEST(a_synthetic_topologys_pus_in_use_go_round_robin_onto_the_host_pus)
{
	/* Two CPUs on two nodes: PUs L#0 and L#8 of 32. */
	struct mmt_topo *t = topo("package:2 numa:2 core:4 pu:2", 0, 2);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	int c;

	MMT_CHECK_EQ(in->cpu[0].pu, 0);
	MMT_CHECK_EQ(in->cpu[1].pu, 8);
	if (in->host_pus >= 2)
		MMT_CHECK(in->cpu[0].host_pu != in->cpu[1].host_pu);
	mmt_topo_destroy(t);

	/* Oversubscribed: CPUs on one PU share its host PU. */
	t = topo("core:2 pu:2", 0, 12);
	in = mmt_topo_info(t);
	for (c = 4; c < 12; c++)
		MMT_CHECK_EQ(in->cpu[c].host_pu, in->cpu[c % 4].host_pu);
	for (c = 1; c < 4 && c < in->host_pus; c++)
		MMT_CHECK(in->cpu[c].host_pu != in->cpu[0].host_pu);
	mmt_topo_destroy(t);
}

/* Make sched_setaffinity fail with EPERM in this process from now on. */
static bool forbid_affinity(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_setaffinity, 0,
			 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { MMT_ARRAY_SIZE(filter), filter };

	return !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) &&
	       !prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

MMT_TEST(bind_degrades_with_a_clear_message_where_binding_is_not_permitted)
{
	struct mmt_topo *t = topo("real", 0, 0);
	int status, first, before;
	pid_t pid;

	before = affinity(&first);
	pid = fork();
	MMT_CHECK(pid >= 0);
	if (!pid) {
		char err[512];
		int now;

		if (!forbid_affinity())
			_exit(3);
		if (mmt_topo_bind_cpu(t, 0, err, sizeof(err)))
			_exit(4); /* bound despite the filter */
		if (!strstr(err, "binding is not permitted here") ||
		    !strstr(err, "cannot pin simulated cpu 0")) {
			fprintf(stderr, "message: %s\n", err);
			_exit(5);
		}
		/* Still running where it was: unpinned, not dead. */
		now = affinity(&first);
		_exit(now == before ? 0 : 6);
	}
	MMT_CHECK(waitpid(pid, &status, 0) == pid);
	MMT_CHECK_MSG(
		WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"child status 0x%x (3: no seccomp, 4: bound anyway, 5: message, 6: affinity changed)",
		status);
	mmt_topo_destroy(t);
}

/* ---- the model's NUMA fields without a topology ---- */

/* Take order-0 pages preferring node @nid until one comes from elsewhere. */
static int first_fallback_node(struct mmt_machine *m, int nid)
{
	static struct mmt_page *held[4096];
	unsigned int n = 0, i;
	int other = -1;

	(void)m;
	while (n < MMT_ARRAY_SIZE(held)) {
		struct mmt_page *p =
			mmt_alloc_pages_node(nid, GFP_NOWAIT | __GFP_NOWARN, 0);

		MMT_CHECK(p);
		held[n++] = p;
		if (mmt_page_to_nid(p) != nid) {
			other = mmt_page_to_nid(p);
			break;
		}
	}
	for (i = n; i-- > 0;)
		mmt_free_pages(held[i], 0);
	return other;
}

static void three_node_config(struct mmt_config *cfg)
{
	mmt_config_default(cfg);
	cfg->nr_nodes = 3;
	cfg->nr_cpus = 3;
	cfg->normal_pages = 512;
	cfg->dma32_pages = 0;
}

MMT_TEST(default_numa_layout_is_blocks_of_cpus_and_falls_back_by_node_number)
{
	struct mmt_config cfg;
	struct mmt_machine *m;

	three_node_config(&cfg);
	cfg.nr_cpus = 6;
	m = t_machine(&cfg);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 0), 0);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 2), 1);
	MMT_CHECK_EQ(mmt_cpu_to_node(m, 5), 2);
	MMT_CHECK_EQ(mmt_node_distance(m, 0, 0), 10);
	MMT_CHECK_EQ(mmt_node_distance(m, 0, 1), 20);
	MMT_CHECK_EQ(mmt_node_distance(m, 0, 2), 30);
	MMT_CHECK_EQ(first_fallback_node(m, 0), 1);
	MMT_CHECK_EQ(first_fallback_node(m, 2), 1);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(zonelist_falls_back_to_the_nearest_node_by_the_config_distances)
{
	static const uint8_t d[3][3] = {
		{ 10, 40, 12 },
		{ 40, 10, 21 },
		{ 12, 21, 10 },
	};
	struct mmt_config cfg;
	struct mmt_machine *m;

	three_node_config(&cfg);
	memcpy(cfg.node_distance[0], d[0], 3);
	memcpy(cfg.node_distance[1], d[1], 3);
	memcpy(cfg.node_distance[2], d[2], 3);
	m = t_machine(&cfg);
	MMT_CHECK_EQ(first_fallback_node(m, 0), 2); /* by number: node 1 */
	MMT_CHECK_EQ(first_fallback_node(m, 1), 2);
	MMT_CHECK_EQ(first_fallback_node(m, 2), 0);
	MMT_CHECK_CLEAN(m);
}

MMT_TEST(cpu_node_map_places_each_cpu_and_its_local_allocations)
{
	struct mmt_config cfg;
	struct mmt_machine *m;
	struct mmt_page *p;

	three_node_config(&cfg);
	cfg.cpu_node_map = true;
	cfg.cpu_node[0] = 2;
	cfg.cpu_node[1] = 0;
	cfg.cpu_node[2] = 2; /* node 1: memory only */
	m = t_machine(&cfg);
	MMT_CHECK_EQ(mmt_numa_node_id(), 2);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p && mmt_page_to_nid(p) == 2);
	mmt_free_pages(p, 0);
	MMT_CHECK(mmt_migrate(1));
	MMT_CHECK_EQ(mmt_numa_node_id(), 0);
	p = mmt_alloc_pages(GFP_KERNEL, 0);
	MMT_CHECK(p && mmt_page_to_nid(p) == 0);
	mmt_free_pages(p, 0);
	MMT_CHECK_CLEAN(m);
}

/*
 * tests/data/topology-4numa-latency.xml: "package:2 numa:2 core:2 pu:1"
 * with a NUMA latency matrix added through hwloc_distances_add_*() and
 * exported: 100 local, 120 within a package, 320 across, except nodes 1
 * and 2 (160), as on a machine whose middle nodes share a link.
 */
MMT_TEST(
	an_xml_latency_matrix_gives_the_distances_and_the_model_falls_back_by_it)
{
	struct mmt_topo *t = topo(
		MMT_SOURCE_DIR "/tests/data/topology-4numa-latency.xml", 0, 0);
	const struct mmt_topo_info *in = mmt_topo_info(t);
	struct mmt_config cfg;
	struct mmt_machine *m;

	MMT_CHECK(in->distances_from_hwloc);
	MMT_CHECK_EQ(in->nr_nodes, 4);
	MMT_CHECK_EQ(in->distance[0][0], 10);
	MMT_CHECK_EQ(in->distance[0][1], 12);
	MMT_CHECK_EQ(in->distance[1][2], 16);
	MMT_CHECK_EQ(in->distance[2][3], 12);
	MMT_CHECK_EQ(in->distance[3][0], 32);
	three_node_config(&cfg);
	cfg.normal_pages = 512;
	mmt_topo_apply(t, &cfg);
	m = t_machine(&cfg);
	/* By node number node 2 would fall back to node 1 (a tie with 3). */
	MMT_CHECK_EQ(first_fallback_node(m, 2), 3);
	MMT_CHECK_EQ(first_fallback_node(m, 1), 0);
	MMT_CHECK_EQ(first_fallback_node(m, 0), 1);
	MMT_CHECK_CLEAN(m);
	t_machine_done();
	mmt_topo_destroy(t);
}

MMT_TEST(config_validation_names_a_bad_cpu_node_or_distance)
{
	struct mmt_config cfg;
	char err[256];

	three_node_config(&cfg);
	cfg.cpu_node_map = true;
	cfg.cpu_node[1] = 3;
	MMT_CHECK(!mmt_config_validate(&cfg, err, sizeof(err)));
	CHECK_CONTAINS(err, "cpu_node[1]: node 3 is out of range 0..2");

	three_node_config(&cfg);
	cfg.node_distance[0][0] = 10;
	MMT_CHECK(!mmt_config_validate(&cfg, err, sizeof(err)));
	CHECK_CONTAINS(err, "node_distance[0][1]: 0 is out of range 11..254");

	three_node_config(&cfg);
	memset(cfg.node_distance, 20, sizeof(cfg.node_distance));
	MMT_CHECK(!mmt_config_validate(&cfg, err, sizeof(err)));
	CHECK_CONTAINS(
		err, "node_distance[0][0]: 20, the local distance must be 10");

	three_node_config(&cfg);
	cfg.node_distance[0][0] = cfg.node_distance[1][1] =
		cfg.node_distance[2][2] = 10;
	memset(cfg.node_distance[0] + 1, 20, 2);
	memset(cfg.node_distance[1], 20, 1);
	memset(cfg.node_distance[1] + 2, 20, 1);
	memset(cfg.node_distance[2], 20, 2);
	cfg.node_distance[3][0] = 20;
	MMT_CHECK(!mmt_config_validate(&cfg, err, sizeof(err)));
	CHECK_CONTAINS(err, "node_distance[3][0]: 20 set beyond the 3 node(s)");
	cfg.node_distance[3][0] = 0;
	MMT_CHECK_MSG(mmt_config_validate(&cfg, err, sizeof(err)), "%s", err);
}
