/* SPDX-License-Identifier: MIT */
/*
 * mmt/topology.h - machine topologies for the free-running engines (the
 * threaded `run` workload, the stressors): an hwloc topology (the host's,
 * a synthetic one from hwloc's synthetic syntax, or an hwloc XML file), the
 * mapping of the model's simulated nodes and CPUs onto it, and pinning of a
 * thread to the processing unit (PU) of its simulated CPU.
 *
 * The model (alloc/) knows nothing of hwloc: mmt_topo_apply() writes the
 * mapping into a struct mmt_config as plain fields (nr_nodes, nr_cpus, the
 * cpu_node map, the node_distance matrix).  Only topology/ includes
 * <hwloc.h>; this header does not.
 *
 * The mapping (topology/topology.c has the why):
 *  - nodes: simulated node i is the i-th "domain" of the topology, a NUMA
 *    node, or a package where the topology has a single NUMA node but
 *    several packages;
 *  - CPUs: each domain gets a share of the simulated CPUs in proportion to
 *    its PUs (largest remainder, ties to the lower node), numbered domain
 *    by domain; within a domain the k-th CPU runs on PU k mod (its PUs),
 *    PUs taken one per core first, then the cores' second threads;
 *    more CPUs than PUs oversubscribes round robin, and says so;
 *  - distances: hwloc's NUMA latency matrix when the topology carries one,
 *    else from the tree: 10 local, 20 within a package, 30 across.
 * Pinning always goes through the host's own topology: on a synthetic or
 * XML topology the PUs in use go round robin onto the host's PUs, in the
 * order the simulated CPUs first use them.
 */
#ifndef MMT_TOPOLOGY_H
#define MMT_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmt/machine.h"

enum mmt_topo_source {
	MMT_TOPO_REAL, /* this machine, as hwloc discovers it */
	MMT_TOPO_SYNTHETIC, /* hwloc's synthetic syntax: "package:2 pu:4" */
	MMT_TOPO_XML, /* an hwloc XML file (lstopo FILE.xml) */
};

/* What a simulated node is in the topology. */
enum mmt_topo_domain {
	MMT_TOPO_DOMAIN_NUMA,
	MMT_TOPO_DOMAIN_PACKAGE, /* one NUMA node for several packages */
};

struct mmt_topo_opts {
	/*
	 * NULL, "" or "real": the host; an existing file, a path with a '/'
	 * or a name ending in ".xml": an XML file; anything else: a
	 * synthetic description.
	 */
	const char *spec;
	int nodes; /* simulated nodes; 0: every domain (at most 8) */
	int cpus; /* simulated CPUs; 0: one per PU of those nodes (<= 256) */
};

/* One simulated node. */
struct mmt_topo_node {
	int logical; /* hwloc logical index of its domain object */
	int os_index; /* hwloc OS index (P#) of it */
	int nr_pus; /* PUs of the topology in it (0: memory only) */
	int nr_cpus; /* simulated CPUs placed on it */
	uint64_t memory; /* bytes hwloc reports for it (0: unknown) */
};

/* One simulated CPU. */
struct mmt_topo_cpu {
	int node; /* simulated node */
	int pu; /* hwloc logical index of its PU in the topology */
	int pu_os; /* the PU's OS index (P#) in the topology */
	int core; /* logical index of the PU's core, -1 if none */
	int package; /* logical index of the PU's package, -1 if none */
	int host_pu; /* OS index of the host PU a thread on it is pinned to */
};

struct mmt_topo_info {
	enum mmt_topo_source source;
	const char *desc; /* "real", the synthetic description, the path */
	enum mmt_topo_domain domain;
	/* The whole topology. */
	int nr_packages, nr_numa, nr_cores, nr_pus, nr_domains;
	/* The mapping. */
	int nr_nodes, nr_cpus;
	int nr_pus_used; /* PUs that carry at least one simulated CPU */
	int max_cpus_per_pu; /* > 1: oversubscribed */
	bool distances_from_hwloc; /* else derived from the tree */
	uint8_t distance[MMT_MAX_NODES][MMT_MAX_NODES];
	struct mmt_topo_node node[MMT_MAX_NODES];
	struct mmt_topo_cpu cpu[MMT_MAX_CPUS];
	/* Pinning. */
	int host_pus; /* PUs this process may run on */
	bool bind_supported; /* hwloc can bind a thread here */
};

struct mmt_topo;

/*
 * Load the topology @o names and map @o->nodes and @o->cpus onto it.
 * NULL on bad input, with @err saying where and why: the token and column
 * of a synthetic description, FILE:LINE:COL of an XML file, or the option
 * (--nodes, --cpus) the topology cannot satisfy.
 */
struct mmt_topo *mmt_topo_create(const struct mmt_topo_opts *o, char *err,
				 size_t errlen);
void mmt_topo_destroy(struct mmt_topo *t);
const struct mmt_topo_info *mmt_topo_info(const struct mmt_topo *t);

/*
 * Set @cfg's nr_nodes, nr_cpus, cpu_node map and node_distance from the
 * mapping; the other fields are left as they are.
 */
void mmt_topo_apply(const struct mmt_topo *t, struct mmt_config *cfg);

/*
 * Pin the calling thread to the host PU of simulated CPU @cpu (hwloc's
 * thread CPU binding).  false with @err saying why where binding is not
 * supported or not permitted (a seccomp filter, a container's cpuset): the
 * caller runs unpinned and says so once.
 */
bool mmt_topo_bind_cpu(const struct mmt_topo *t, int cpu, char *err,
		       size_t errlen);

/*
 * The summary: what the topology is, where each simulated node and CPU
 * sits, oversubscription and pinning, then an lstopo-like tree with each
 * PU's simulated CPUs.
 */
void mmt_topo_print(const struct mmt_topo *t, FILE *out);
/* The same as a new jansson object (json_decref() it). */
struct json_t;
struct json_t *mmt_topo_to_json(const struct mmt_topo *t);

/* Export the loaded topology as hwloc XML to @path. */
bool mmt_topo_export_xml(const struct mmt_topo *t, const char *path, char *err,
			 size_t errlen);

/* Names of the enums, for output. */
const char *mmt_topo_source_name(enum mmt_topo_source s);
const char *mmt_topo_domain_name(enum mmt_topo_domain d);

#endif /* MMT_TOPOLOGY_H */
