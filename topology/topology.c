/* SPDX-License-Identifier: MIT */
/*
 * topology/topology.c - hwloc topologies and the mapping of the model's
 * simulated nodes and CPUs onto them (mmt/topology.h).
 *
 * Loading: the host's topology (hwloc's discovery), a synthetic one
 * (hwloc_topology_set_synthetic) or an XML file (hwloc_topology_set_xml).
 * hwloc says only -1/EINVAL when it refuses a description or a file; its
 * reason goes to stderr, and only when HWLOC_SYNTHETIC_VERBOSE or
 * HWLOC_XML_VERBOSE is set.  So the load turns the variable on, catches
 * stderr in a temporary file around the call (loading happens before any
 * thread runs), and turns hwloc's reason into ours: the token and column
 * of a description, with what was expected.  An XML file is first checked
 * for well-formedness here (hwloc's minimalistic parser says only "failed
 * to parse"), so a broken file is named by FILE:LINE:COL.
 *
 * Domains: a simulated node is a NUMA node; where the topology has one
 * NUMA node but several packages (hwloc inserts a single machine-wide NUMA
 * node into a synthetic topology without a numa level), a package.  A PU belongs to the smallest domain whose cpuset holds it (a
 * machine-wide memory node behind package-local ones gets no PU: memory
 * only).
 *
 * CPUs: the simulated CPUs are shared among the nodes in proportion to
 * their PUs (largest remainder, ties to the lower node) and numbered node
 * by node, as a BIOS enumerates sockets; within a node the k-th CPU runs
 * on PU k mod (its PUs), with the node's PUs ordered one per core first
 * (a core's first PU, for every core, then the second ...), so that fewer
 * CPUs than PUs spread over cores before they share one.  More CPUs than
 * PUs wrap round robin: deterministic, and reported (max_cpus_per_pu).
 *
 * Distances: hwloc's NUMA latency matrix when the topology has one
 * (normalized to the SLIT's 10 for local, remote clamped to 11..254), else
 * from the tree: 10 local, 20 for two nodes in one package, 30 otherwise.
 *
 * Pinning: through the host topology always (binding through a synthetic
 * or XML topology is a silent no-op in hwloc).  A real topology's PU is a
 * host PU; a synthetic or XML topology's PUs in use are folded onto the
 * host's round robin, in the order the simulated CPUs first use them (the
 * k-th such PU on the host's PU k mod (host PUs), hwloc's logical order),
 * so that as many distinct PUs as the host has land on distinct host PUs
 * whichever nodes they are in.
 *
 * Thread safety: create/destroy/export from one thread; info, bind, print
 * and JSON read an immutable object and may run on any thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hwloc.h>
#include <jansson.h>

#include "mmt/topology.h"

#define TOPO_XML_MAX (64u << 20) /* bytes of an XML file we read */
#define TOPO_XML_DEPTH 256 /* element nesting we check */
#define TOPO_MAX_DOMAINS 1024 /* NUMA nodes or packages looked at */

struct mmt_topo {
	struct mmt_topo_info info;
	char *desc;
	hwloc_topology_t topo; /* the chosen topology */
	hwloc_topology_t host; /* this machine's (== topo for a real one) */
	hwloc_obj_t domain[MMT_MAX_NODES]; /* simulated node -> its object */
	int nr_pus; /* of the topology */
	int *pu_node; /* logical PU -> simulated node, -1: unused */
	int *pu_cpus; /* logical PU -> simulated CPUs on it */
};

const char *mmt_topo_source_name(enum mmt_topo_source s)
{
	switch (s) {
	case MMT_TOPO_REAL:
		return "real";
	case MMT_TOPO_SYNTHETIC:
		return "synthetic";
	case MMT_TOPO_XML:
		return "xml";
	}
	return "?";
}

const char *mmt_topo_domain_name(enum mmt_topo_domain d)
{
	switch (d) {
	case MMT_TOPO_DOMAIN_NUMA:
		return "numa";
	case MMT_TOPO_DOMAIN_PACKAGE:
		return "package";
	}
	return "?";
}

static bool fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- hwloc's reasons: its verbose stderr, caught ---- */

struct capture {
	const char *var;
	char *old_value; /* the variable's value before, or NULL */
	int saved_fd;
	FILE *tmp;
};

static void capture_begin(struct capture *c, const char *var)
{
	const char *v = getenv(var);

	c->var = var;
	c->old_value = v ? strdup(v) : NULL;
	setenv(var, "1", 1);
	fflush(stderr);
	c->saved_fd = -1;
	c->tmp = tmpfile();
	if (!c->tmp)
		return; /* hwloc's reason then goes to stderr as it is */
	c->saved_fd = dup(STDERR_FILENO);
	if (c->saved_fd < 0 || dup2(fileno(c->tmp), STDERR_FILENO) < 0) {
		if (c->saved_fd >= 0)
			close(c->saved_fd);
		c->saved_fd = -1;
		fclose(c->tmp);
		c->tmp = NULL;
	}
}

/* Restore stderr and the variable; @buf gets what hwloc printed. */
static void capture_end(struct capture *c, char *buf, size_t len)
{
	size_t n = 0;

	fflush(stderr);
	if (c->tmp) {
		dup2(c->saved_fd, STDERR_FILENO);
		close(c->saved_fd);
		rewind(c->tmp);
		n = fread(buf, 1, len - 1, c->tmp);
		fclose(c->tmp);
	}
	buf[n] = '\0';
	if (c->old_value) {
		setenv(c->var, c->old_value, 1);
		free(c->old_value);
	} else {
		unsetenv(c->var);
	}
}

/* The first line of @msg that is not in @skip (substrings), trimmed. */
static const char *reason_line(char *msg, const char *const *skip,
			       size_t nr_skip)
{
	char *line, *save = NULL;
	size_t i;

	for (line = strtok_r(msg, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < nr_skip; i++)
			if (strstr(line, skip[i]))
				break;
		if (i == nr_skip && line[strspn(line, " \t")])
			return line;
	}
	return NULL;
}

/* ---- synthetic descriptions ---- */

/* What hwloc's reason means, as what was expected. */
static const struct {
	const char *hwloc;
	const char *expected;
} synthetic_reasons[] = {
	{ "doesn't have a number of objects",
	  "expected a count after the type, as in 'core:8'" },
	{ "unknown object type",
	  "expected an hwloc object type (package, numa, group, die, l3, l2, l1, core, pu, ...)" },
	{ "non-PU type for last level",
	  "expected pu as the last level, as in 'core:8 pu:2'" },
	{ "disallow 0 number of objects", "expected a count of at least 1" },
	{ "missing ending ')'", "expected ')' to close the attributes" },
	{ "missing ending ']'", "expected ']' to close the memory level" },
};

static bool synthetic_error(const char *spec, char *msg, char *err,
			    size_t errlen)
{
	const char *line = reason_line(msg, NULL, 0), *at, *expected = NULL;
	size_t i, speclen = strlen(spec);

	if (!line)
		return fail(
			err, errlen,
			"synthetic topology '%s': hwloc refused it (no reason given)",
			spec);
	for (i = 0; i < MMT_ARRAY_SIZE(synthetic_reasons); i++)
		if (strstr(line, synthetic_reasons[i].hwloc))
			expected = synthetic_reasons[i].expected;
	/* "... at 'REST'": REST is the tail of the description. */
	at = strstr(line, " at '");
	if (at) {
		char rest[256];
		size_t rlen, start, end, tok = 1, k;

		at += 5;
		rlen = strcspn(at, "'");
		if (rlen >= sizeof(rest))
			rlen = sizeof(rest) - 1;
		memcpy(rest, at, rlen);
		rest[rlen] = '\0';
		if (rlen <= speclen && !strcmp(spec + speclen - rlen, rest)) {
			size_t col = speclen - rlen; /* 0-based */

			start = col;
			while (start > 0 && spec[start - 1] != ' ' &&
			       spec[start - 1] != '\t')
				start--;
			end = col + strcspn(spec + col, " \t");
			/* Tokens that begin before this one. */
			for (k = 0; k < start; k++)
				if (spec[k] != ' ' && spec[k] != '\t' &&
				    (!k || spec[k - 1] == ' ' ||
				     spec[k - 1] == '\t'))
					tok++;
			return fail(
				err, errlen,
				"synthetic topology '%s': token %zu '%.*s' (column %zu): %s",
				spec, tok, (int)(end - start), spec + start,
				col + 1, expected ? expected : line);
		}
	}
	return fail(err, errlen, "synthetic topology '%s': %s", spec,
		    expected ? expected : line);
}

static bool load_synthetic(hwloc_topology_t topo, const char *spec, char *err,
			   size_t errlen)
{
	struct capture c;
	char msg[2048];
	int r;

	if (!spec[strspn(spec, " \t")])
		return fail(
			err, errlen,
			"synthetic topology '': empty (expected levels as in 'package:2 core:8 pu:2')");
	capture_begin(&c, "HWLOC_SYNTHETIC_VERBOSE");
	r = hwloc_topology_set_synthetic(topo, spec);
	if (!r)
		r = hwloc_topology_load(topo);
	capture_end(&c, msg, sizeof(msg));
	if (r)
		return synthetic_error(spec, msg, err, errlen);
	return true;
}

/* ---- XML files: well-formedness first, by FILE:LINE:COL ---- */

struct xml_pos {
	const char *path, *buf;
	char *err;
	size_t errlen;
};

static bool xml_fail(const struct xml_pos *x, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool xml_fail(const struct xml_pos *x, size_t off, const char *fmt, ...)
{
	size_t line = 1, col = 1, i;
	int n;
	va_list ap;

	for (i = 0; i < off; i++) {
		if (x->buf[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	n = snprintf(x->err, x->errlen, "%s:%zu:%zu: ", x->path, line, col);
	if (n < 0 || (size_t)n >= x->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static size_t xml_line_of(const char *buf, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static bool xml_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
	       c == '.';
}

/* A printable description of the byte at @p for "found ..." */
static const char *xml_found(const char *p, const char *end, char *buf,
			     size_t len)
{
	if (p >= end)
		return "the end of the file";
	if ((unsigned char)*p < 0x20)
		snprintf(buf, len, "byte 0x%02x", (unsigned char)*p);
	else
		snprintf(buf, len, "'%c'", *p);
	return buf;
}

/*
 * Check that @buf is one well-formed element tree whose root is
 * <topology>: prolog (<?xml?>, comments, <!DOCTYPE>), elements with
 * quoted attributes, matching end tags, nothing after the root but
 * comments.  hwloc checks what the elements mean.
 */
static bool xml_check(const struct xml_pos *x, size_t len)
{
	const char *buf = x->buf, *end = buf + len, *p = buf;
	struct {
		const char *name;
		size_t len, off;
	} stack[TOPO_XML_DEPTH];
	int depth = 0;
	bool root_seen = false;
	char fb[16];

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	if (p == end)
		return xml_fail(x, 0,
				"empty file (expected an hwloc XML topology)");
	while (p < end) {
		const char *q;

		if (*p != '<') {
			q = p;
			while (p < end && *p != '<')
				p++;
			if (depth)
				continue; /* text of an element */
			while (q < p && strchr(" \t\r\n", *q))
				q++;
			if (q < p)
				return xml_fail(
					x, (size_t)(q - buf),
					"text outside the root element (expected '<')");
			continue;
		}
		if (end - p >= 4 && !memcmp(p, "<!--", 4)) {
			q = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
			if (!q)
				return xml_fail(
					x, (size_t)(p - buf),
					"comment never closed (expected '-->')");
			p = q + 3;
			continue;
		}
		if (end - p >= 2 && (p[1] == '?' || p[1] == '!')) {
			const char *close = p[1] == '?' ? "?>" : ">";

			q = memmem(p + 2, (size_t)(end - p - 2), close,
				   strlen(close));
			if (!q)
				return xml_fail(
					x, (size_t)(p - buf),
					"'<%c' never closed (expected '%s')",
					p[1], close);
			p = q + strlen(close);
			continue;
		}
		if (end - p >= 2 && p[1] == '/') {
			const char *name = p + 2;

			q = name;
			while (q < end && xml_name_char(*q))
				q++;
			if (!depth)
				return xml_fail(
					x, (size_t)(p - buf),
					"end tag '</%.*s>' with no element open",
					(int)(q - name), name);
			depth--;
			if ((size_t)(q - name) != stack[depth].len ||
			    memcmp(name, stack[depth].name, stack[depth].len))
				return xml_fail(
					x, (size_t)(p - buf),
					"end tag '</%.*s>' does not close <%.*s> of line %zu (expected '</%.*s>')",
					(int)(q - name), name,
					(int)stack[depth].len,
					stack[depth].name,
					xml_line_of(buf, stack[depth].off),
					(int)stack[depth].len,
					stack[depth].name);
			while (q < end && strchr(" \t\r\n", *q))
				q++;
			if (q >= end || *q != '>')
				return xml_fail(
					x, (size_t)(q - buf),
					"expected '>' to end '</%.*s', found %s",
					(int)stack[depth].len,
					stack[depth].name,
					xml_found(q, end, fb, sizeof(fb)));
			p = q + 1;
			continue;
		}
		/* A start tag. */
		{
			const char *name = p + 1, *tag = p;

			q = name;
			while (q < end && xml_name_char(*q))
				q++;
			if (q == name)
				return xml_fail(
					x, (size_t)(q - buf),
					"expected an element name after '<', found %s",
					xml_found(q, end, fb, sizeof(fb)));
			if (!depth && root_seen)
				return xml_fail(
					x, (size_t)(tag - buf),
					"a second root element <%.*s> (the file must hold one <topology>)",
					(int)(q - name), name);
			if (!depth && ((size_t)(q - name) != 8 ||
				       memcmp(name, "topology", 8)))
				return xml_fail(
					x, (size_t)(tag - buf),
					"root element <%.*s> (expected <topology>: not an hwloc XML topology)",
					(int)(q - name), name);
			if (depth == TOPO_XML_DEPTH)
				return xml_fail(
					x, (size_t)(tag - buf),
					"elements nested deeper than %d",
					TOPO_XML_DEPTH);
			stack[depth].name = name;
			stack[depth].len = (size_t)(q - name);
			stack[depth].off = (size_t)(tag - buf);
			p = q;
			for (;;) {
				const char *an;
				char quote;

				while (p < end && strchr(" \t\r\n", *p))
					p++;
				if (p < end && *p == '>') {
					depth++;
					root_seen = true;
					p++;
					break;
				}
				if (end - p >= 2 && p[0] == '/' &&
				    p[1] == '>') {
					root_seen = true;
					p += 2;
					break;
				}
				if (p >= end)
					break;
				an = p;
				while (p < end && xml_name_char(*p))
					p++;
				if (p >= end)
					break;
				if (p == an)
					return xml_fail(
						x, (size_t)(p - buf),
						"expected an attribute, '>' or '/>' in <%.*s>, found %s",
						(int)stack[depth].len,
						stack[depth].name,
						xml_found(p, end, fb,
							  sizeof(fb)));
				while (p < end && strchr(" \t\r\n", *p))
					p++;
				if (p >= end || *p != '=')
					return xml_fail(
						x, (size_t)(p - buf),
						"expected '=' after attribute '%.*s', found %s",
						(int)(p - an), an,
						xml_found(p, end, fb,
							  sizeof(fb)));
				p++;
				while (p < end && strchr(" \t\r\n", *p))
					p++;
				if (p >= end || (*p != '"' && *p != '\''))
					return xml_fail(
						x, (size_t)(p - buf),
						"expected a quoted value for attribute '%.*s', found %s",
						(int)strcspn(an, "= \t\r\n"),
						an,
						xml_found(p, end, fb,
							  sizeof(fb)));
				quote = *p++;
				while (p < end && *p != quote && *p != '<')
					p++;
				if (p >= end || *p != quote)
					return xml_fail(
						x, (size_t)(p - buf),
						"value of attribute '%.*s' never closed (expected %c), found %s",
						(int)strcspn(an, "= \t\r\n"),
						an, quote,
						xml_found(p, end, fb,
							  sizeof(fb)));
				p++;
			}
			if (p >= end)
				return xml_fail(
					x, len,
					"the file ends inside the tag <%.*s> of line %zu (expected '>' or '/>')",
					(int)stack[depth].len,
					stack[depth].name,
					xml_line_of(buf, stack[depth].off));
		}
	}
	if (depth)
		return xml_fail(
			x, len,
			"the file ends inside <%.*s> of line %zu (expected '</%.*s>')",
			(int)stack[depth - 1].len, stack[depth - 1].name,
			xml_line_of(buf, stack[depth - 1].off),
			(int)stack[depth - 1].len, stack[depth - 1].name);
	if (!root_seen)
		return xml_fail(
			x, len,
			"no element (expected an hwloc XML topology, <topology>)");
	return true;
}

/*
 * hwloc's reason for a well-formed file it refused ("PATH: unrecognized
 * object type string PUX"): the line of the file holding its last word.
 */
static bool xml_hwloc_error(const char *path, const char *buf, char *msg,
			    char *err, size_t errlen)
{
	static const char *const skip[] = {
		"minimalistic parser",
		"generated by hwloc, try enabling",
		"XML component discovery failed",
	};
	const char *line = reason_line(msg, skip, MMT_ARRAY_SIZE(skip));
	size_t plen = strlen(path), wlen;
	const char *word, *hit;
	char w[128];

	if (!line)
		return fail(
			err, errlen,
			"%s: hwloc could not load it as a topology (an XML file, but not one hwloc wrote?)",
			path);
	/* hwloc names the file by its base name: "NAME: reason". */
	{
		const char *colon = strstr(line, ": ");

		if (colon && (size_t)(colon - line) <= plen &&
		    !memchr(line, ' ', (size_t)(colon - line)) &&
		    !strncmp(path + plen - (size_t)(colon - line), line,
			     (size_t)(colon - line)))
			line = colon + 2;
	}
	word = line + strlen(line);
	while (word > line && word[-1] == ' ')
		word--;
	wlen = 0;
	while (word > line && word[-1] != ' ' && word[-1] != '\'' &&
	       word[-1] != '"') {
		word--;
		wlen++;
	}
	if (wlen && wlen < sizeof(w)) {
		memcpy(w, word, wlen);
		w[wlen] = '\0';
		while (wlen && strchr(".,:'\"", w[wlen - 1]))
			w[--wlen] = '\0';
		hit = wlen ? strstr(buf, w) : NULL;
		if (hit) {
			const char *bol = hit;

			while (bol > buf && bol[-1] != '\n')
				bol--;
			return fail(err, errlen, "%s:%zu:%zu: %s", path,
				    xml_line_of(buf, (size_t)(hit - buf)),
				    (size_t)(hit - bol) + 1, line);
		}
	}
	return fail(err, errlen, "%s: %s", path, line);
}

static bool load_xml(hwloc_topology_t topo, const char *path, char *err,
		     size_t errlen)
{
	struct xml_pos x = { path, NULL, err, errlen };
	struct capture c;
	struct stat st;
	char msg[2048], *buf;
	size_t len;
	FILE *f;
	int r;

	f = fopen(path, "rb");
	if (!f)
		return fail(err, errlen, "%s: cannot open it: %s", path,
			    strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		return fail(
			err, errlen,
			"%s: not a regular file (expected an hwloc XML topology)",
			path);
	}
	if ((uint64_t)st.st_size > TOPO_XML_MAX) {
		fclose(f);
		return fail(
			err, errlen,
			"%s: %lld bytes, larger than the %u MiB an XML topology may have",
			path, (long long)st.st_size, TOPO_XML_MAX >> 20);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return fail(err, errlen, "%s: out of memory reading it", path);
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return fail(err, errlen, "%s: cannot read it: %s", path,
			    strerror(errno));
	}
	fclose(f);
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		x.buf = buf;
		xml_fail(&x, (size_t)((char *)memchr(buf, '\0', len) - buf),
			 "a NUL byte (expected XML text)");
		free(buf);
		return false;
	}
	x.buf = buf;
	if (!xml_check(&x, len)) {
		free(buf);
		return false;
	}
	capture_begin(&c, "HWLOC_XML_VERBOSE");
	r = hwloc_topology_set_xml(topo, path);
	if (!r)
		r = hwloc_topology_load(topo);
	capture_end(&c, msg, sizeof(msg));
	if (r) {
		xml_hwloc_error(path, buf, msg, err, errlen);
		free(buf);
		return false;
	}
	free(buf);
	return true;
}

/* ---- the mapping ---- */

static bool is_xml_spec(const char *spec)
{
	size_t n = strlen(spec);

	return strchr(spec, '/') || (n > 4 && !strcmp(spec + n - 4, ".xml")) ||
	       !access(spec, F_OK);
}

static int obj_logical(hwloc_topology_t topo, hwloc_obj_t o,
		       hwloc_obj_type_t type)
{
	hwloc_obj_t a = o->type == type ?
				o :
				hwloc_get_ancestor_obj_by_type(topo, type, o);

	return a ? (int)a->logical_index : -1;
}

/* The PU's rank among its core's PUs (0 without a core). */
static unsigned int pu_rank(hwloc_obj_t pu)
{
	return pu->parent && pu->parent->type == HWLOC_OBJ_CORE ?
		       pu->sibling_rank :
		       0;
}

static const char *domain_noun(enum mmt_topo_domain d)
{
	return d == MMT_TOPO_DOMAIN_NUMA ? "NUMA node(s)" :
					   "package(s) (one NUMA node for all)";
}

static void pick_domains(struct mmt_topo *t, hwloc_obj_t *all, int *nr)
{
	struct mmt_topo_info *in = &t->info;
	hwloc_obj_type_t type;
	int i;

	/* hwloc 2 always has a NUMA node (one machine-wide, at least). */
	if (in->nr_numa == 1 && in->nr_packages > 1) {
		in->domain = MMT_TOPO_DOMAIN_PACKAGE;
		type = HWLOC_OBJ_PACKAGE;
	} else {
		in->domain = MMT_TOPO_DOMAIN_NUMA;
		type = HWLOC_OBJ_NUMANODE;
	}
	*nr = hwloc_get_nbobjs_by_type(t->topo, type);
	if (*nr > TOPO_MAX_DOMAINS)
		*nr = TOPO_MAX_DOMAINS; /* far beyond what nodes may map */
	for (i = 0; i < *nr; i++)
		all[i] = hwloc_get_obj_by_type(t->topo, type, (unsigned)i);
}

static void derive_distances(struct mmt_topo *t)
{
	struct mmt_topo_info *in = &t->info;
	struct hwloc_distances_s *dist = NULL;
	unsigned int nr = 1;
	int a, b, idx[MMT_MAX_NODES];

	in->distances_from_hwloc = false;
	if (in->domain == MMT_TOPO_DOMAIN_NUMA &&
	    !hwloc_distances_get_by_type(
		    t->topo, HWLOC_OBJ_NUMANODE, &nr, &dist,
		    HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) &&
	    nr >= 1 && dist) {
		bool all = true;

		for (a = 0; a < in->nr_nodes; a++) {
			idx[a] = -1;
			for (b = 0; b < (int)dist->nbobjs; b++)
				if (dist->objs[b] == t->domain[a])
					idx[a] = b;
			all &= idx[a] >= 0;
		}
		if (all) {
			for (a = 0; a < in->nr_nodes; a++) {
				hwloc_uint64_t local =
					dist->values[idx[a] * dist->nbobjs +
						     idx[a]];

				for (b = 0; b < in->nr_nodes; b++) {
					hwloc_uint64_t v =
						dist->values
							[idx[a] * dist->nbobjs +
							 idx[b]];
					uint64_t d;

					if (a == b) {
						in->distance[a][b] =
							MMT_LOCAL_DISTANCE;
						continue;
					}
					d = local ? (v * MMT_LOCAL_DISTANCE +
						     local / 2) /
							    local :
						    2 * MMT_LOCAL_DISTANCE;
					if (d <= MMT_LOCAL_DISTANCE)
						d = MMT_LOCAL_DISTANCE + 1;
					if (d > MMT_MAX_DISTANCE)
						d = MMT_MAX_DISTANCE;
					in->distance[a][b] = (uint8_t)d;
				}
			}
			in->distances_from_hwloc = true;
		}
	}
	if (dist)
		hwloc_distances_release(t->topo, dist);
	if (in->distances_from_hwloc)
		return;
	for (a = 0; a < in->nr_nodes; a++) {
		int pa = obj_logical(t->topo, t->domain[a], HWLOC_OBJ_PACKAGE);

		for (b = 0; b < in->nr_nodes; b++) {
			int pb = obj_logical(t->topo, t->domain[b],
					     HWLOC_OBJ_PACKAGE);

			in->distance[a][b] = a == b ? MMT_LOCAL_DISTANCE :
					     pa >= 0 && pa == pb ?
						      2 * MMT_LOCAL_DISTANCE :
						      3 * MMT_LOCAL_DISTANCE;
		}
	}
}

static int cmp_pu_order(const void *pa, const void *pb)
{
	hwloc_obj_t a = *(const hwloc_obj_t *)pa, b = *(const hwloc_obj_t *)pb;

	if (pu_rank(a) != pu_rank(b))
		return pu_rank(a) < pu_rank(b) ? -1 : 1;
	return a->logical_index < b->logical_index ?
		       -1 :
		       a->logical_index > b->logical_index;
}

static bool map_cpus(struct mmt_topo *t, const struct mmt_topo_opts *o,
		     char *err, size_t errlen)
{
	struct mmt_topo_info *in = &t->info;
	hwloc_obj_t all[TOPO_MAX_DOMAINS], *list = NULL;
	int nr_dom = 0, n, i, c, total = 0, share[MMT_MAX_NODES];
	int64_t rem[MMT_MAX_NODES];

	pick_domains(t, all, &nr_dom);
	in->nr_domains = nr_dom;
	if (o->nodes < 0 || o->nodes > MMT_MAX_NODES)
		return fail(err, errlen, "--nodes %d: out of range 1..%d",
			    o->nodes, MMT_MAX_NODES);
	if (o->nodes > nr_dom)
		return fail(err, errlen, "--nodes %d: the topology has %d %s",
			    o->nodes, nr_dom, domain_noun(in->domain));
	in->nr_nodes =
		o->nodes ? o->nodes :
			   (nr_dom < MMT_MAX_NODES ? nr_dom : MMT_MAX_NODES);
	for (n = 0; n < in->nr_nodes; n++) {
		t->domain[n] = all[n];
		in->node[n].logical = (int)all[n]->logical_index;
		in->node[n].os_index = all[n]->os_index == HWLOC_UNKNOWN_INDEX ?
					       -1 :
					       (int)all[n]->os_index;
		in->node[n].memory = all[n]->total_memory;
	}

	/* Each PU to the smallest domain holding it, among all domains. */
	for (i = 0; i < t->nr_pus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PU,
						       (unsigned)i);
		int best = -1, d;

		for (d = 0; d < nr_dom; d++) {
			if (!all[d]->cpuset ||
			    !hwloc_bitmap_isincluded(pu->cpuset,
						     all[d]->cpuset))
				continue;
			if (best < 0 ||
			    hwloc_bitmap_weight(all[d]->cpuset) <
				    hwloc_bitmap_weight(all[best]->cpuset))
				best = d;
		}
		t->pu_node[i] = best < in->nr_nodes ? best : -1;
		if (t->pu_node[i] >= 0) {
			in->node[best].nr_pus++;
			total++;
		}
	}
	if (!total)
		return fail(
			err, errlen,
			"--nodes %d: the first %d %s of the topology have no PU",
			in->nr_nodes, in->nr_nodes, domain_noun(in->domain));
	if (o->cpus < 0 || o->cpus > MMT_MAX_CPUS)
		return fail(err, errlen, "--cpus %d: out of range 1..%d",
			    o->cpus, MMT_MAX_CPUS);
	in->nr_cpus = o->cpus ? o->cpus :
				(total < MMT_MAX_CPUS ? total : MMT_MAX_CPUS);

	/* Shares in proportion to PUs: largest remainder, ties low. */
	c = 0;
	for (n = 0; n < in->nr_nodes; n++) {
		share[n] = (int)((int64_t)in->nr_cpus * in->node[n].nr_pus /
				 total);
		rem[n] = (int64_t)in->nr_cpus * in->node[n].nr_pus % total;
		c += share[n];
	}
	while (c < in->nr_cpus) {
		int best = 0;

		for (n = 1; n < in->nr_nodes; n++)
			if (rem[n] > rem[best])
				best = n;
		share[best]++;
		rem[best] = -1;
		c++;
	}

	list = calloc((size_t)t->nr_pus, sizeof(*list));
	if (!list)
		return fail(err, errlen, "out of memory mapping the topology");
	c = 0;
	in->max_cpus_per_pu = 0;
	for (n = 0; n < in->nr_nodes; n++) {
		int np = 0, k;

		for (i = 0; i < t->nr_pus; i++)
			if (t->pu_node[i] == n)
				list[np++] = hwloc_get_obj_by_type(
					t->topo, HWLOC_OBJ_PU, (unsigned)i);
		qsort(list, (size_t)np, sizeof(*list), cmp_pu_order);
		in->node[n].nr_cpus = share[n];
		for (k = 0; k < share[n]; k++, c++) {
			hwloc_obj_t pu = list[k % np];
			struct mmt_topo_cpu *cpu = &in->cpu[c];

			cpu->node = n;
			cpu->pu = (int)pu->logical_index;
			cpu->pu_os = (int)pu->os_index;
			cpu->core = obj_logical(t->topo, pu, HWLOC_OBJ_CORE);
			cpu->package =
				obj_logical(t->topo, pu, HWLOC_OBJ_PACKAGE);
			if (!t->pu_cpus[cpu->pu]++)
				in->nr_pus_used++;
			if (t->pu_cpus[cpu->pu] > in->max_cpus_per_pu)
				in->max_cpus_per_pu = t->pu_cpus[cpu->pu];
		}
	}
	free(list);
	derive_distances(t);
	return true;
}

/* Host PUs for pinning: this process's allowed PUs, in logical order. */
static bool map_host(struct mmt_topo *t, char *err, size_t errlen)
{
	struct mmt_topo_info *in = &t->info;
	const struct hwloc_topology_support *sup;
	hwloc_obj_t h;
	int c, used = 0;

	in->host_pus = hwloc_get_nbobjs_by_type(t->host, HWLOC_OBJ_PU);
	if (in->host_pus <= 0)
		return fail(err, errlen, "this machine's topology has no PU");
	sup = hwloc_topology_get_support(t->host);
	in->bind_supported = sup && sup->cpubind &&
			     sup->cpubind->set_thisthread_cpubind;
	for (c = 0; c < in->nr_cpus; c++) {
		struct mmt_topo_cpu *cpu = &in->cpu[c];

		if (in->source == MMT_TOPO_REAL) {
			cpu->host_pu = cpu->pu_os;
		} else {
			int k, first = c;

			/* The first CPU on this PU; else its rank. */
			for (k = 0; k < c; k++) {
				if (in->cpu[k].pu == cpu->pu) {
					first = k;
					break;
				}
			}
			if (first < c) {
				cpu->host_pu = in->cpu[first].host_pu;
				continue;
			}
			h = hwloc_get_obj_by_type(
				t->host, HWLOC_OBJ_PU,
				(unsigned)(used++ % in->host_pus));
			cpu->host_pu = (int)h->os_index;
		}
	}
	return true;
}

struct mmt_topo *mmt_topo_create(const struct mmt_topo_opts *o, char *err,
				 size_t errlen)
{
	const char *spec = o->spec && *o->spec ? o->spec : "real";
	struct mmt_topo *t = calloc(1, sizeof(*t));
	struct mmt_topo_info *in;
	bool ok;

	if (!t || !(t->desc = strdup(spec))) {
		free(t);
		fail(err, errlen, "out of memory loading a topology");
		return NULL;
	}
	in = &t->info;
	in->desc = t->desc;
	if (hwloc_topology_init(&t->topo)) {
		fail(err, errlen, "hwloc_topology_init: %s", strerror(errno));
		goto bad;
	}
	if (!strcmp(spec, "real")) {
		in->source = MMT_TOPO_REAL;
		ok = !hwloc_topology_load(t->topo) ||
		     fail(err, errlen,
			  "cannot discover this machine's topology (hwloc): %s",
			  strerror(errno));
	} else if (is_xml_spec(spec)) {
		in->source = MMT_TOPO_XML;
		ok = load_xml(t->topo, spec, err, errlen);
	} else {
		in->source = MMT_TOPO_SYNTHETIC;
		ok = load_synthetic(t->topo, spec, err, errlen);
	}
	if (!ok)
		goto bad;
	in->nr_packages = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
	in->nr_numa = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	in->nr_cores = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
	in->nr_pus = t->nr_pus =
		hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
	if (t->nr_pus <= 0) {
		fail(err, errlen, "%s topology '%s': no PU in it",
		     mmt_topo_source_name(in->source), spec);
		goto bad;
	}
	t->pu_node = calloc((size_t)t->nr_pus, sizeof(*t->pu_node));
	t->pu_cpus = calloc((size_t)t->nr_pus, sizeof(*t->pu_cpus));
	if (!t->pu_node || !t->pu_cpus) {
		fail(err, errlen, "out of memory mapping the topology");
		goto bad;
	}
	if (!map_cpus(t, o, err, errlen))
		goto bad;
	if (in->source == MMT_TOPO_REAL) {
		t->host = t->topo;
	} else if (hwloc_topology_init(&t->host) ||
		   hwloc_topology_load(t->host)) {
		fail(err, errlen,
		     "cannot discover this machine's topology (hwloc) for pinning: %s",
		     strerror(errno));
		goto bad;
	}
	if (!map_host(t, err, errlen))
		goto bad;
	return t;
bad:
	mmt_topo_destroy(t);
	return NULL;
}

void mmt_topo_destroy(struct mmt_topo *t)
{
	if (!t)
		return;
	if (t->host && t->host != t->topo)
		hwloc_topology_destroy(t->host);
	if (t->topo)
		hwloc_topology_destroy(t->topo);
	free(t->pu_node);
	free(t->pu_cpus);
	free(t->desc);
	free(t);
}

const struct mmt_topo_info *mmt_topo_info(const struct mmt_topo *t)
{
	return &t->info;
}

void mmt_topo_apply(const struct mmt_topo *t, struct mmt_config *cfg)
{
	const struct mmt_topo_info *in = &t->info;
	int a, b;

	cfg->nr_nodes = in->nr_nodes;
	cfg->nr_cpus = in->nr_cpus;
	cfg->cpu_node_map = true;
	memset(cfg->cpu_node, 0, sizeof(cfg->cpu_node));
	for (a = 0; a < in->nr_cpus; a++)
		cfg->cpu_node[a] = (uint8_t)in->cpu[a].node;
	memset(cfg->node_distance, 0, sizeof(cfg->node_distance));
	for (a = 0; a < in->nr_nodes; a++)
		for (b = 0; b < in->nr_nodes; b++)
			cfg->node_distance[a][b] = in->distance[a][b];
}

bool mmt_topo_bind_cpu(const struct mmt_topo *t, int cpu, char *err,
		       size_t errlen)
{
	const struct mmt_topo_info *in = &t->info;
	hwloc_obj_t pu;
	int e;

	if (cpu < 0 || cpu >= in->nr_cpus)
		return fail(
			err, errlen,
			"cannot pin to simulated cpu %d: the mapping has cpus 0..%d",
			cpu, in->nr_cpus - 1);
	if (!in->bind_supported)
		return fail(
			err, errlen,
			"cannot pin simulated cpu %d: hwloc cannot bind a thread on this system",
			cpu);
	pu = hwloc_get_pu_obj_by_os_index(t->host,
					  (unsigned)in->cpu[cpu].host_pu);
	if (!pu)
		return fail(err, errlen,
			    "cannot pin simulated cpu %d: host PU P#%d is gone",
			    cpu, in->cpu[cpu].host_pu);
	if (!hwloc_set_cpubind(t->host, pu->cpuset, HWLOC_CPUBIND_THREAD))
		return true;
	e = errno;
	return fail(err, errlen,
		    "cannot pin simulated cpu %d to host PU P#%d: %s%s", cpu,
		    in->cpu[cpu].host_pu, strerror(e),
		    e == EPERM ?
			    " (binding is not permitted here)" :
		    e == ENOSYS ?
			    " (binding is not supported here)" :
		    e == EXDEV || e == EINVAL ?
			    " (the PU is outside this process's allowed cpus)" :
			    "");
}

bool mmt_topo_export_xml(const struct mmt_topo *t, const char *path, char *err,
			 size_t errlen)
{
	if (!hwloc_topology_export_xml(t->topo, path, 0))
		return true;
	return fail(err, errlen, "%s: cannot write the topology: %s", path,
		    strerror(errno));
}

/* ---- output ---- */

static void obj_name(hwloc_obj_t o, char *buf, size_t len)
{
	char type[64];

	hwloc_obj_type_snprintf(type, sizeof(type), o, 0);
	if (o->type == HWLOC_OBJ_MACHINE)
		snprintf(buf, len, "%s", type);
	else if (o->os_index != HWLOC_UNKNOWN_INDEX &&
		 (o->type == HWLOC_OBJ_PU || o->type == HWLOC_OBJ_NUMANODE))
		snprintf(buf, len, "%s L#%u (P#%u)", type, o->logical_index,
			 o->os_index);
	else
		snprintf(buf, len, "%s L#%u", type, o->logical_index);
}

/* The simulated node of a domain object, -1 if none. */
static int obj_sim_node(const struct mmt_topo *t, hwloc_obj_t o)
{
	int n;

	for (n = 0; n < t->info.nr_nodes; n++)
		if (t->domain[n] == o)
			return n;
	return -1;
}

static void print_pu_cpus(const struct mmt_topo *t, hwloc_obj_t pu, FILE *out)
{
	const struct mmt_topo_info *in = &t->info;
	bool first = true;
	int c;

	for (c = 0; c < in->nr_cpus; c++) {
		if (in->cpu[c].pu != (int)pu->logical_index)
			continue;
		fprintf(out, "%s%d", first ? ": cpu " : ",", c);
		first = false;
	}
}

static void print_tree(const struct mmt_topo *t, hwloc_obj_t o, int depth,
		       FILE *out)
{
	hwloc_obj_t c;
	char name[96];
	int n;

	fprintf(out, "%*s", 2 * depth, "");
	for (;;) {
		obj_name(o, name, sizeof(name));
		fputs(name, out);
		n = obj_sim_node(t, o);
		if (n >= 0 && o->type != HWLOC_OBJ_MACHINE)
			fprintf(out, " = node %d", n);
		/* lstopo merges a chain of single children onto one line. */
		if (o->arity != 1 || o->memory_arity ||
		    o->type == HWLOC_OBJ_MACHINE)
			break;
		fputs(" + ", out);
		o = o->children[0];
	}
	if (o->type == HWLOC_OBJ_MACHINE && obj_sim_node(t, o) >= 0)
		fprintf(out, " = node 0");
	if (o->type == HWLOC_OBJ_PU)
		print_pu_cpus(t, o, out);
	fputc('\n', out);
	for (c = o->memory_first_child; c; c = c->next_sibling) {
		obj_name(c, name, sizeof(name));
		n = obj_sim_node(t, c);
		fprintf(out, "%*s%s", 2 * (depth + 1), "", name);
		if (n >= 0)
			fprintf(out, " = node %d", n);
		fputc('\n', out);
	}
	for (c = o->first_child; c; c = c->next_sibling)
		print_tree(t, c, depth + 1, out);
}

static void print_memory(uint64_t bytes, char *buf, size_t len)
{
	if (!bytes)
		snprintf(buf, len, "-");
	else if (bytes >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", (double)bytes / (1ull << 30));
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1ull << 20));
}

void mmt_topo_print(const struct mmt_topo *t, FILE *out)
{
	const struct mmt_topo_info *in = &t->info;
	char mem[32], name[96];
	int n, c, b;

	fprintf(out, "topology: %s", mmt_topo_source_name(in->source));
	if (in->source != MMT_TOPO_REAL)
		fprintf(out, " '%s'", in->desc);
	fprintf(out, ": %d package(s), %d NUMA node(s), %d core(s), %d PU(s)\n",
		in->nr_packages, in->nr_numa, in->nr_cores, in->nr_pus);
	fprintf(out, "nodes: %d simulated node(s) on the first %d of %d %s\n",
		in->nr_nodes, in->nr_nodes, in->nr_domains,
		domain_noun(in->domain));
	if (in->max_cpus_per_pu > 1)
		fprintf(out,
			"cpus: %d simulated CPU(s) on %d PU(s): OVERSUBSCRIBED, up to %d per PU (round robin)\n",
			in->nr_cpus, in->nr_pus_used, in->max_cpus_per_pu);
	else
		fprintf(out,
			"cpus: %d simulated CPU(s) on %d PU(s), one per PU\n",
			in->nr_cpus, in->nr_pus_used);
	if (!in->bind_supported)
		fprintf(out,
			"pinning: not supported on this system (threads run unpinned)\n");
	else if (in->source == MMT_TOPO_REAL)
		fprintf(out,
			"pinning: each simulated CPU's thread to its PU\n");
	else
		fprintf(out,
			"pinning: the %s topology's PUs in use, round robin onto this machine's %d PU(s)\n",
			mmt_topo_source_name(in->source), in->host_pus);
	fprintf(out, "distances: %s\n",
		in->distances_from_hwloc ?
			"hwloc's NUMA latency matrix (10 = local)" :
			"from the tree (10 local, 20 same package, 30 other)");

	fprintf(out, "\nnode  %-24s %5s %5s %10s  distances\n", "topology",
		"PUs", "CPUs", "memory");
	for (n = 0; n < in->nr_nodes; n++) {
		obj_name(t->domain[n], name, sizeof(name));
		print_memory(in->node[n].memory, mem, sizeof(mem));
		fprintf(out, "%4d  %-24s %5d %5d %10s ", n, name,
			in->node[n].nr_pus, in->node[n].nr_cpus, mem);
		for (b = 0; b < in->nr_nodes; b++)
			fprintf(out, " %3u", in->distance[n][b]);
		fputc('\n', out);
	}
	fprintf(out, "\n cpu  node  %-16s %5s %8s  host PU\n", "PU", "core",
		"package");
	for (c = 0; c < in->nr_cpus; c++) {
		const struct mmt_topo_cpu *cpu = &in->cpu[c];

		snprintf(name, sizeof(name), "L#%d (P#%d)", cpu->pu,
			 cpu->pu_os);
		fprintf(out, "%4d  %4d  %-16s %5d %8d  P#%d\n", c, cpu->node,
			name, cpu->core, cpu->package, cpu->host_pu);
	}
	fprintf(out, "\n");
	print_tree(t, hwloc_get_root_obj(t->topo), 0, out);
}

static json_t *tree_json(const struct mmt_topo *t, hwloc_obj_t o)
{
	json_t *j = json_object(), *kids;
	char type[64];
	hwloc_obj_t c;
	int n;

	hwloc_obj_type_snprintf(type, sizeof(type), o, 0);
	json_object_set_new(j, "type", json_string(type));
	json_object_set_new(j, "logical", json_integer(o->logical_index));
	if (o->os_index != HWLOC_UNKNOWN_INDEX)
		json_object_set_new(j, "os_index", json_integer(o->os_index));
	n = obj_sim_node(t, o);
	if (n >= 0)
		json_object_set_new(j, "node", json_integer(n));
	if (o->type == HWLOC_OBJ_PU) {
		json_t *cpus = json_array();
		int k;

		for (k = 0; k < t->info.nr_cpus; k++)
			if (t->info.cpu[k].pu == (int)o->logical_index)
				json_array_append_new(cpus, json_integer(k));
		json_object_set_new(j, "cpus", cpus);
	}
	if (o->memory_arity) {
		kids = json_array();
		for (c = o->memory_first_child; c; c = c->next_sibling)
			json_array_append_new(kids, tree_json(t, c));
		json_object_set_new(j, "memory", kids);
	}
	if (o->arity) {
		kids = json_array();
		for (c = o->first_child; c; c = c->next_sibling)
			json_array_append_new(kids, tree_json(t, c));
		json_object_set_new(j, "children", kids);
	}
	return j;
}

json_t *mmt_topo_to_json(const struct mmt_topo *t)
{
	const struct mmt_topo_info *in = &t->info;
	json_t *root = json_object(), *nodes = json_array(),
	       *cpus = json_array(), *dist = json_array();
	int n, c, b;

	json_object_set_new(
		root, "topology",
		json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:i}", "source",
			  mmt_topo_source_name(in->source), "description",
			  in->desc, "packages", in->nr_packages, "numa_nodes",
			  in->nr_numa, "cores", in->nr_cores, "pus", in->nr_pus,
			  "node_domain", mmt_topo_domain_name(in->domain),
			  "domains", in->nr_domains));
	json_object_set_new(
		root, "mapping",
		json_pack("{s:i, s:i, s:i, s:i, s:b}", "nodes", in->nr_nodes,
			  "cpus", in->nr_cpus, "pus_used", in->nr_pus_used,
			  "max_cpus_per_pu", in->max_cpus_per_pu,
			  "oversubscribed", in->max_cpus_per_pu > 1));
	json_object_set_new(
		root, "pinning",
		json_pack("{s:b, s:i, s:s}", "supported", in->bind_supported,
			  "host_pus", in->host_pus, "mode",
			  in->source == MMT_TOPO_REAL ? "direct" :
							"round-robin"));
	for (n = 0; n < in->nr_nodes; n++) {
		json_t *row = json_array();

		json_array_append_new(
			nodes,
			json_pack("{s:i, s:i, s:i, s:i, s:i, s:I}", "node", n,
				  "logical", in->node[n].logical, "os_index",
				  in->node[n].os_index, "pus",
				  in->node[n].nr_pus, "cpus",
				  in->node[n].nr_cpus, "memory_bytes",
				  (json_int_t)in->node[n].memory));
		for (b = 0; b < in->nr_nodes; b++)
			json_array_append_new(row,
					      json_integer(in->distance[n][b]));
		json_array_append_new(dist, row);
	}
	json_object_set_new(root, "nodes", nodes);
	json_object_set_new(root, "distances", dist);
	json_object_set_new(root, "distances_from",
			    json_string(in->distances_from_hwloc ? "hwloc" :
								   "tree"));
	for (c = 0; c < in->nr_cpus; c++) {
		const struct mmt_topo_cpu *cpu = &in->cpu[c];

		json_array_append_new(
			cpus,
			json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "cpu",
				  c, "node", cpu->node, "pu", cpu->pu, "pu_os",
				  cpu->pu_os, "core", cpu->core, "package",
				  cpu->package, "host_pu", cpu->host_pu));
	}
	json_object_set_new(root, "cpus", cpus);
	json_object_set_new(root, "tree",
			    tree_json(t, hwloc_get_root_obj(t->topo)));
	return root;
}
