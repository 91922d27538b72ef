/* SPDX-License-Identifier: MIT */
/*
 * targets/plugins/loader.c - load a user's allocator (mmt/plugin.h) or a
 * built-in one (glibc, jemalloc, mimalloc) into a struct mmt_heap.
 *
 * Isolation.  A library is opened RTLD_NOW | RTLD_LOCAL: its symbols never
 * join the global scope, so nothing the framework calls (malloc for its
 * shadow, the sanitizers' interceptors) binds to them.  RTLD_DEEPBIND
 * also makes the library's own references resolve inside it first (an
 * allocator calling its own malloc gets its own, not the process's); the
 * sanitizer runtimes refuse it (google/sanitizers#611), so sanitizer
 * builds go without it - an allocator's internal calls go to its hidden
 * symbols in practice (jemalloc, mimalloc), and the oracles would see the
 * mix-up as a block outside its heap if not.
 *
 * Symbols.  dlsym() on a handle searches the library's dependencies too:
 * a library without malloc would hand back libc's.  Every symbol is
 * checked with dladdr() to be defined by the library itself, so a missing
 * one is refused by name instead of silently testing glibc.
 *
 * Built-ins.  glibc is the process's own C library, its functions taken
 * from libc.so.6 itself (under ASan, the real glibc allocator, not the
 * sanitizer's interceptors).  jemalloc and mimalloc are Debian's
 * libjemalloc.so.2 and libmimalloc.so.2, loaded by soname through the
 * malloc API they export unprefixed.  libjemalloc.so.2 uses initial-exec
 * TLS, which a dlopen() fits into only with glibc's optional static TLS
 * surplus raised: on "cannot allocate memory in static TLS block" the
 * process re-executes itself once with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536 (a tunable is read at
 * start only), its command line from /proc/self/cmdline.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "mmt/plugin.h"

#define TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

static const struct mmt_heap_builtin builtins[] = {
	{ "glibc", "libc.so.6",
	  "the C library's malloc (ptmalloc2), the process's own" },
	{ "jemalloc", "libjemalloc.so.2",
	  "jemalloc (Debian libjemalloc2), malloc API" },
	{ "mimalloc", "libmimalloc.so.2",
	  "mimalloc (Debian libmimalloc2.0), malloc API" },
};

const struct mmt_heap_builtin *mmt_heap_builtins(size_t *nr)
{
	*nr = sizeof(builtins) / sizeof(builtins[0]);
	return builtins;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Re-run this process with the static TLS surplus raised (see above). */
static void reexec_with_tls_surplus(void)
{
	static char buf[65536];
	char *argv[256], tun[1024];
	const char *old = getenv("GLIBC_TUNABLES");
	size_t len = 0, i;
	int argc = 0;
	FILE *f;

	if (old && strstr(old, "optional_static_tls"))
		return; /* already tried: report the error */
	f = fopen("/proc/self/cmdline", "r");
	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (!len || len >= sizeof(buf) - 1)
		return;
	buf[len] = '\0';
	for (i = 0; i < len && argc < 255; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	snprintf(tun, sizeof(tun), "%s%s%s", old ? old : "", old ? ":" : "",
		 TLS_TUNABLE);
	setenv("GLIBC_TUNABLES", tun, 1);
	fflush(NULL);
	execv("/proc/self/exe", argv);
}

static bool looks_like_library(const char *s)
{
	const char *so = strstr(s, ".so");

	return strchr(s, '/') || (so && (so[3] == '\0' || so[3] == '.'));
}

/* @sym from @handle, defined by the library at @lib_base itself, or NULL. */
static void *own_symbol(void *handle, const void *lib_base, const char *sym)
{
	void *p = dlsym(handle, sym);
	Dl_info info;

	if (!p || !dladdr(p, &info) || info.dli_fbase != lib_base)
		return NULL;
	return p;
}

static bool fail(char *err, size_t len, const char *fmt, const char *a,
		 const char *b)
{
	snprintf(err, len, fmt, a, b);
	return false;
}

static bool open_table(struct mmt_heap *h, const struct mmt_plugin_ops *t,
		       const char *path, char *err, size_t len)
{
	char v[64];

	if (t->abi_version == 0 || t->abi_version > MMT_PLUGIN_ABI_VERSION) {
		snprintf(v, sizeof(v), "%u, this mmtorture reads 1..%u",
			 t->abi_version, MMT_PLUGIN_ABI_VERSION);
		return fail(err, len,
			    "%s: " MMT_PLUGIN_SYMBOL " has ABI version %s",
			    path, v);
	}
	if (t->size < offsetof(struct mmt_plugin_ops, thread_exit) +
			      sizeof(t->thread_exit))
		return fail(err, len,
			    "%s: " MMT_PLUGIN_SYMBOL
			    ".size is %s than version 1's table",
			    path, "smaller");
#define REQUIRE(field)                                                    \
	do {                                                              \
		if (!t->field)                                            \
			return fail(err, len,                             \
				    "%s: " MMT_PLUGIN_SYMBOL " lacks %s", \
				    path, #field);                        \
	} while (0)
	REQUIRE(alloc);
	REQUIRE(free);
	REQUIRE(realloc);
	REQUIRE(usable_size);
#undef REQUIRE
	h->kind = MMT_HEAP_TABLE;
	h->alloc = t->alloc;
	h->free = t->free;
	h->realloc = t->realloc;
	h->usable_size = t->usable_size;
	h->aligned_alloc = t->aligned_alloc;
	h->thread_init = t->thread_init;
	h->thread_exit = t->thread_exit;
	if (t->name && *t->name)
		snprintf(h->name, sizeof(h->name), "%s", t->name);
	return true;
}

static bool open_malloc_api(struct mmt_heap *h, void *handle, const void *base,
			    const char *path, char *err, size_t len)
{
	static const char *const required[] = { "malloc", "free", "realloc",
						"malloc_usable_size" };
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!own_symbol(handle, base, required[i]))
			return fail(
				err, len,
				"%s: lacks %s (the malloc API needs malloc, free, realloc "
				"and malloc_usable_size; or export " MMT_PLUGIN_SYMBOL
				", mmt/plugin.h)",
				path, required[i]);
	h->kind = MMT_HEAP_MALLOC_API;
	*(void **)&h->alloc = own_symbol(handle, base, "malloc");
	*(void **)&h->free = own_symbol(handle, base, "free");
	*(void **)&h->realloc = own_symbol(handle, base, "realloc");
	*(void **)&h->usable_size =
		own_symbol(handle, base, "malloc_usable_size");
	*(void **)&h->calloc = own_symbol(handle, base, "calloc");
	*(void **)&h->aligned_alloc = own_symbol(handle, base, "aligned_alloc");
	*(void **)&h->posix_memalign =
		own_symbol(handle, base, "posix_memalign");
	return true;
}

bool mmt_heap_open(const char *spec, struct mmt_heap *h, bool *unknown,
		   char *err, size_t len)
{
	const struct mmt_heap_builtin *b = NULL;
	const struct mmt_plugin_ops *table;
	int flags = RTLD_NOW | RTLD_LOCAL;
	struct link_map *lm = NULL;
	const char *path = spec;
	void *handle;
	Dl_info info;
	size_t i;

	memset(h, 0, sizeof(*h));
	*unknown = false;
	if (!spec || !*spec)
		spec = path = "glibc";
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(spec, builtins[i].name))
			b = &builtins[i];
	if (b) {
		path = b->soname;
	} else if (!looks_like_library(spec)) {
		*unknown = true;
		snprintf(
			err, len,
			"unknown allocator '%s' (built-in: glibc, jemalloc, mimalloc; "
			"or the path of a shared library)",
			spec);
		return false;
	} else if (access(spec, F_OK)) {
		return fail(err, len, "%s: %s", spec, strerror(errno));
	}
	if (b && !strcmp(b->name, "glibc"))
		flags |= RTLD_NOLOAD; /* the process's own */
	else if (!SANITIZED)
		flags |= RTLD_DEEPBIND;
	handle = dlopen(path, flags);
	if (!handle) {
		const char *e = dlerror();

		if (e && strstr(e, "static TLS")) {
			reexec_with_tls_surplus();
			return fail(err, len, "%s does not load: %s", path, e);
		}
		return fail(err, len, "%s does not load: %s", path,
			    e ? e : "?");
	}
	snprintf(h->path, sizeof(h->path), "%s", path);
	snprintf(h->name, sizeof(h->name), "%s", b ? b->name : spec);
	if (!b) {
		const char *slash = strrchr(spec, '/');

		snprintf(h->name, sizeof(h->name), "%s",
			 slash ? slash + 1 : spec);
	}
	h->handle = handle;
	/* The library's own base, to tell its symbols from its deps'. */
	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) || !lm) {
		dlclose(handle);
		return fail(err, len, "%s: dlinfo: %s", path, dlerror());
	}
	/* The library's own base (where its dynamic section is mapped). */
	if (!dladdr(lm->l_ld, &info) || !info.dli_fbase) {
		dlclose(handle);
		return fail(err, len, "%s: %s", path,
			    "cannot find where it is mapped");
	}
	table = own_symbol(handle, info.dli_fbase, MMT_PLUGIN_SYMBOL);
	if (table ? !open_table(h, table, path, err, len) :
		    !open_malloc_api(h, handle, info.dli_fbase, path, err,
				     len)) {
		dlclose(handle);
		return false;
	}
	return true;
}
