/* SPDX-License-Identifier: MIT */
/*
 * mmt/reserve.h - the emergency reserve (seed 004: swap over NFS).
 *
 * A tree of mem_reserve nodes (name, pages, limit, usage, parent,
 * children).  A node's pages are its own reservation plus its connected
 * children's; the machine's root is the total, and the emergency reserve
 * raises every zone's min watermark by the connected total (spread over the
 * zones by size) and lowers it again on disconnect.  A disconnected subtree
 * keeps tracking its need but reserves nothing (the tree of seed 004 is
 * detached while no SOCK_MEMALLOC socket exists).  Aggregate nodes may be
 * charged on behalf of their subtree: usage is not propagated up, so charge
 * one consistent node.  Charges stop at the limit (the node's pages).
 *
 * Reserving for objects: kmalloc(size) x N and a cache's objects x N are
 * turned into pages by an estimate that errs generous (documented in
 * reserve.c): objects per slab from the slab's real geometry, rounded up to
 * whole slabs, plus one slab per CPU for per-cpu caches (reserve.c: a slab,
 * not a page, so that an order-3 kmalloc-8192 slab is covered).
 *
 * Memalloc sockets (SOCK_MEMALLOC) count here; the count going 0 -> 1 and
 * back is what the slab layer's pfmemalloc behaviour hangs on.  Network
 * swap files mark their socket memalloc on swapon and clear it on swapoff;
 * two swap files on one mount share the mount's socket, so the flag must
 * nest (a count, not a bit: seed 004's bug).
 */
#ifndef MMT_RESERVE_H
#define MMT_RESERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mmt/gfp.h" /* reserve.c addition: mmt_sk_alloc_emergency() */
#include "mmt/machine.h"

struct mmt_kmem_cache;
struct mmt_mem_reserve;

struct mmt_mem_reserve *mmt_mem_reserve_root(struct mmt_machine *m);
/* A new node under @parent (connected) or detached if @parent is NULL. */
struct mmt_mem_reserve *mmt_mem_reserve_create(struct mmt_machine *m,
					       const char *name,
					       struct mmt_mem_reserve *parent);
void mmt_mem_reserve_destroy(
	struct mmt_mem_reserve *res); /* disconnected, unused */
int mmt_mem_reserve_connect(struct mmt_mem_reserve *res,
			    struct mmt_mem_reserve *parent);
void mmt_mem_reserve_disconnect(struct mmt_mem_reserve *res);
/* Set the node's own reservation; 0, or -1 if the memory is not there. */
int mmt_mem_reserve_pages_set(struct mmt_mem_reserve *res, long pages);
int mmt_mem_reserve_kmalloc_set(struct mmt_mem_reserve *res, size_t bytes,
				int nr);
int mmt_mem_reserve_kmem_cache_set(struct mmt_mem_reserve *res,
				   struct mmt_kmem_cache *s, int nr);
/* Pages an estimate gives for @nr objects of @size (kmalloc) or of @s. */
long mmt_kmalloc_estimate_pages(size_t size, int nr);
long mmt_kmem_cache_estimate_pages(struct mmt_kmem_cache *s, int nr);
/* Charge/uncharge @pages against @res (false: over the limit). */
bool mmt_mem_reserve_charge(struct mmt_mem_reserve *res, long pages);
void mmt_mem_reserve_uncharge(struct mmt_mem_reserve *res, long pages);
long mmt_mem_reserve_pages(const struct mmt_mem_reserve *res);
long mmt_mem_reserve_usage(const struct mmt_mem_reserve *res);
/* The highest usage since the reserve was made. */
long mmt_mem_reserve_usage_peak(const struct mmt_mem_reserve *res);
/* The tree as JSON (machine-readable reserve_info) and as text. */
void mmt_mem_reserve_dump_json(struct mmt_machine *m, FILE *out);
void mmt_mem_reserve_dump(struct mmt_machine *m, FILE *out);

/* ---- memalloc sockets and network swap files ---- */

struct mmt_sock;
struct mmt_sock *mmt_sock_create(struct mmt_machine *m, const char *name);
void mmt_sock_destroy(struct mmt_sock *sk);
void mmt_sk_set_memalloc(struct mmt_sock *sk);
void mmt_sk_clear_memalloc(struct mmt_sock *sk);
bool mmt_sk_memalloc(const struct mmt_sock *sk);
int mmt_sk_memalloc_socks(const struct mmt_machine *m);

struct mmt_swap_mount;
struct mmt_swapfile;
/* A network mount whose one socket carries its swap files' traffic. */
struct mmt_swap_mount *mmt_swap_mount_create(struct mmt_machine *m,
					     const char *name);
void mmt_swap_mount_destroy(struct mmt_swap_mount *mnt);
struct mmt_sock *mmt_swap_mount_sock(const struct mmt_swap_mount *mnt);
/* swapon connects the network reserve and marks the socket memalloc. */
struct mmt_swapfile *mmt_swapon(struct mmt_swap_mount *mnt, const char *file,
				long pages);
void mmt_swapoff(struct mmt_swapfile *sf);
bool mmt_swapfile_active(const struct mmt_swapfile *sf);

/* -- begin: reserve.c additions (additive contract change) -- */
/*
 * The machine's network reserve: "total network reserve" under the root,
 * connected while a SOCK_MEMALLOC socket exists, with the children the swap
 * path charges: "network TX reserve" (@rx false) and "network RX reserve"
 * (@rx true).  Size them with mmt_mem_reserve_pages_set().
 */
struct mmt_mem_reserve *mmt_net_reserve(struct mmt_machine *m, bool rx);
struct mmt_mem_reserve *mmt_net_reserve_total(struct mmt_machine *m);
/*
 * A socket buffer of @size for @sk, as the network swap device allocates
 * its packets.  Ordinary memory first (__GFP_NOMEMALLOC); only a memalloc
 * socket then charges @res (the pages the object may take, a page per
 * object up to 4 KiB) and retries with __GFP_MEMALLOC, returning the charge
 * if that fails.  NULL if @res is exhausted or there is no memory.  A
 * non-memalloc socket never adds __GFP_MEMALLOC, and an object that still
 * comes from the reserves (the context was entitled: PF_MEMALLOC, a
 * softirq) is dropped, as the kernel drops an emergency skb at a
 * non-memalloc socket: freed, counted, NULL.  Any context (softirq too).
 */
void *mmt_sk_alloc_emergency(struct mmt_sock *sk, struct mmt_mem_reserve *res,
			     size_t size, mmt_gfp_t gfp);
/* Free what mmt_sk_alloc_emergency() returned; returns its charge, if any. */
void mmt_sk_free_emergency(struct mmt_sock *sk, struct mmt_mem_reserve *res,
			   void *p, size_t size);
/* Pages of emergency objects outstanding against @res (charged, not freed). */
long mmt_mem_reserve_emergency(const struct mmt_mem_reserve *res);
const char *mmt_mem_reserve_name(const struct mmt_mem_reserve *res);
const char *mmt_sock_name(const struct mmt_sock *sk);
/* Packets of @sk dropped because they came from the reserves. */
long mmt_sk_drops(const struct mmt_sock *sk);
struct mmt_swap_mount *mmt_swapfile_mount(const struct mmt_swapfile *sf);
long mmt_swapfile_pages(const struct mmt_swapfile *sf);

/* What the emergency path did, for the scenarios' summaries. */
struct mmt_reserve_stats {
	long emergency_allocs; /* objects allocated against a reserve */
	long emergency_fails; /* charged, but no memory even so */
	long charge_fails; /* the reserve was exhausted */
	long drops; /* reserve objects dropped at non-memalloc sockets */
	long outstanding; /* pages of emergency objects not yet freed */
	long reserved; /* the connected total (pages in the min watermarks) */
};
void mmt_reserve_stats(struct mmt_machine *m, struct mmt_reserve_stats *out);
/*
 * Context: tree changes, sockets' set/clear, swapon/swapoff, the dumps, the
 * stats and the validator take mem_reserve_mutex (process context);
 * charges, uncharges and the emergency allocations never do (any context).
 */
/* -- end: reserve.c additions -- */

/* Validators: usage = live charges, watermarks = base + connected total,
 * active swap files' sockets are memalloc. */
bool mmt_reserve_is_valid(struct mmt_machine *m);

#endif /* MMT_RESERVE_H */
