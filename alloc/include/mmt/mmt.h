/* SPDX-License-Identifier: MIT */
/* mmt/mmt.h - the whole public API of the allocator model. */
#ifndef MMT_MMT_H
#define MMT_MMT_H

#include "mmt/config.h"
#include "mmt/gfp.h"
#include "mmt/lock.h"
#include "mmt/machine.h"
#include "mmt/check.h"
#include "mmt/page_alloc.h"
#include "mmt/slab.h"
#include "mmt/rcu.h"
#include "mmt/memcg.h"
#include "mmt/sched.h"
#include "mmt/engine.h"
#include "mmt/mempool.h"
#include "mmt/reserve.h"
#include "mmt/reclaim.h"
#include "mmt/scenario.h"
#include "mmt/trace.h"
#include "mmt/exec.h"

#endif /* MMT_MMT_H */
