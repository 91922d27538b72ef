/* SPDX-License-Identifier: MIT */
/*
 * mmt/memcg.h - memory cgroups as the slab layer sees them (seed 003).
 *
 * Tasks belong to a cgroup (none by default).  An accounted allocation
 * (__GFP_ACCOUNT, or a cache created with MMT_SLAB_ACCOUNT) by a task in a
 * cgroup goes to that cgroup's child of the cache, created on first use,
 * whose slab pages are charged to the cgroup.  Offline marks the cgroup's
 * child caches dead (min_partial 0, no cpu partial), shrinks them, and
 * destroys each (its slabs reparented, charges returned) when its last
 * slab goes.  Charges must balance: a cgroup's charge equals the pages of
 * the slabs its caches hold.
 */
#ifndef MMT_MEMCG_H
#define MMT_MEMCG_H

#include <stdbool.h>
#include <stddef.h>

#include "mmt/machine.h"

struct mmt_memcg;

struct mmt_memcg *mmt_memcg_create(struct mmt_machine *m, const char *name);
/* Offline: mark child caches dead, shrink them; the cgroup stays until
 * its last charge is gone (then mmt_memcg_destroy may free it). */
void mmt_memcg_offline(struct mmt_memcg *cg);
/* Free an offline cgroup with no charge left; false (violation) otherwise. */
bool mmt_memcg_destroy(struct mmt_memcg *cg);
const char *mmt_memcg_name(const struct mmt_memcg *cg);
bool mmt_memcg_is_online(const struct mmt_memcg *cg);
long mmt_memcg_charged_pages(const struct mmt_memcg *cg);
/* Number of child caches of @cg still existing (dead ones included). */
int mmt_memcg_nr_caches(const struct mmt_memcg *cg);

/*
 * -- memcg.c addition (additive) --
 * Run the group work that the kernel defers to a workqueue: create the
 * child caches that allocations from atomic context asked for, and destroy
 * the dead caches that lost their last slab.  May sleep.  Every memcg call
 * above and the slab teardown check run it too.
 */
void mmt_memcg_reap(struct mmt_machine *m);

/* Move @t into @cg (NULL: the root, no accounting). */
void mmt_task_set_memcg(struct mmt_task *t, struct mmt_memcg *cg);
struct mmt_memcg *mmt_task_memcg(const struct mmt_task *t);

#endif /* MMT_MEMCG_H */
