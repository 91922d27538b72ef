/* SPDX-License-Identifier: MIT */
/*
 * alloc/writeback.c - the devices that write pages out (mmt/reclaim.h):
 * a disk, an encrypting device (dm-crypt, seed 001), a loop device over a
 * file, and network swap (swap over NFS, seed 004).
 *
 * What it models.  A block device's request queue and the kernel thread
 * that serves it.  _mmt_wb_submit() (submit_bio) appends a request and
 * wakes the worker; the worker completes requests by calling their end
 * function (bio_endio), which for a reclaimed page frees it, wakes the
 * congestion queue and reports forward progress (reclaim.c).
 *
 *   disk     a request is due latency jiffies after its submission; the
 *            worker sleeps until the oldest is due (model time) and ends
 *            every due request.  Requests are FIFO, so the head is the
 *            oldest.
 *   crypt    kcryptd: for each request, a bio from the bio mempool (a slab
 *            cache "bio"), a ciphertext page from the page mempool, both
 *            GFP_NOIO; the page is encrypted (xor copy) and written to the
 *            lower device; the lower completion returns both to their
 *            pools and ends the upper request.  Seed 001: when the pools
 *            are empty, mempool_alloc's retry under the kernel-2016 policy
 *            enters direct reclaim, which throttles kcryptd behind the
 *            writeback only kcryptd can finish.
 *   loop     the worker writes each page into a new dirty page-cache page
 *            of its backing file (on the lower device; the allocation may
 *            reclaim and be throttled, with PF_LESS_THROTTLE's extra room)
 *            and ends the request at once.
 *   netswap  each request is sent as ceil(4096 / packet_size) packets:
 *            socket buffers allocated with mmt_sk_alloc_emergency() on the
 *            TX reserve, GFP_NOWAIT (the kernel's swap socket allocates with
 *            __GFP_MEMALLOC, which never reaches direct reclaim), and kept
 *            until the reply acknowledges them (TCP's retransmit queue), so
 *            a deep writeback queue holds socket memory the way the real
 *            one does; the reply is due latency jiffies later and is
 *            received in softirq context: a GFP_ATOMIC buffer on the RX
 *            reserve, with the reserve rights the driver has while any
 *            memalloc socket exists (PF_MEMALLOC in the softirq, as
 *            __netif_receive_skb gives an emergency skb).  A buffer that
 *            came from the reserves for a socket that is no longer
 *            SOCK_MEMALLOC is dropped by mmt_sk_alloc_emergency() (the
 *            kernel's sk_filter); so is a reply for which there is no
 *            memory.  A dropped reply is retransmitted after HZ/5: the
 *            write does not complete meanwhile.
 *
 * Failures.  A worker allocation that fails (NULL from the allocator or a
 * mempool) puts the request back and retries after HZ/10.  A worker that
 * finds the machine failed (deadlock or stall reported) stops working: the
 * report stands and nothing spins.  Destroying a device ends everything
 * queued as failed (pages freed); an upper device's requests still in its
 * lower device are taken out of the lower queue and ended too, so the
 * mempool elements they hold go back before the pools are destroyed.  A
 * destroyed device's structure stays until the machine goes (ws->dead):
 * a reclaimer that loaded it before the destroy, or a page-cache page
 * that names it as its backing device, may still submit to it, and that
 * write ends at once as failed, as I/O to a removed device does.
 *
 * Locks: queue_lock (per device, model spinlock) is a leaf; end functions,
 * allocations and wake-ups run without it.  The registry of devices has a
 * host mutex (leaf).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define RETRY_WAIT (MMT_HZ / 10)
#define RETRANSMIT_WAIT (MMT_HZ / 5)
#define NET_HEADER 128 /* bytes of protocol header per packet */
#define NET_MIN_PACKET 256
#define NET_MAX_PACKETS (MMT_PAGE_SIZE / NET_MIN_PACKET)

static MMT_LOCK_CLASS(queue_lock_class, "wbdev->queue_lock", MMT_LOCK_SPIN);

struct wb_req {
	struct wb_req *next;
	struct mmt_page *page;
	mmt_wb_end_fn end;
	void *ctx;
	struct mmt_wb_device *owner; /* the upper device that sent it, or NULL */
	uint64_t due; /* disk: completion; netswap: reply or retransmit */
	bool sent; /* netswap: waiting for the reply */
	int nr_skb; /* netswap: sent buffers kept until the reply */
	void *skb[NET_MAX_PACKETS];
};

/* A crypt write in flight at the lower device. */
struct crypt_io {
	struct mmt_wb_device *dev;
	struct mmt_page *page; /* the upper page */
	mmt_wb_end_fn end;
	void *ctx;
	void *bio;
	struct mmt_page *cpage; /* ciphertext */
};

struct mmt_wb_device {
	struct mmt_machine *m;
	char name[32];
	enum mmt_wb_kind kind;
	mmt_spinlock_t lock; /* queue_lock: the queue */
	struct wb_req *head, *tail;
	struct mmt_waitqueue wq; /* the worker waits for work */
	struct mmt_waitqueue idle_wq; /* mmt_wb_device_wait_idle() */
	struct mmt_kthread *worker;
	long latency;
	struct mmt_wb_device *lower;
	_Atomic unsigned long submitted, completed, failed, inflight;
	_Atomic unsigned long sent, received, dropped, alloc_failures;
	_Atomic int active; /* end_req() calls running: destroy waits for them */
	/*
	 * The worker's last allocation failed and it naps until it can
	 * retry; cleared when a write of its ends (mmt_writeback_starved_pages).
	 */
	_Atomic bool starved;
	bool dead; /* destroyed: submissions end failed at once (queue_lock) */
	/* crypt */
	struct mmt_kmem_cache *bio_cache;
	struct mmt_mempool *bio_pool, *page_pool;
	/* loop */
	mmt_gfp_t gfp;
	unsigned int worker_flags; /* PF_* of the worker */
	/* netswap */
	struct mmt_swap_mount *mnt;
	struct mmt_swapfile *sf;
	struct mmt_sock *sk;
	size_t packet_size;
	struct mmt_wb_device *next; /* registry */
};

struct mmt_writeback_state {
	pthread_mutex_t mu; /* the registry (host, leaf) */
	struct mmt_wb_device *devices;
	/*
	 * Destroyed devices, kept until the machine goes: a reclaimer may
	 * still hold a pointer to one (it loaded the swap or file device, or
	 * a page-cache page names its backing device) and submit to it after
	 * the destroy; such a write ends at once as failed (an I/O error).
	 */
	struct mmt_wb_device *dead;
};

static inline struct mmt_writeback_state *WB(struct mmt_machine *m)
{
	return *_mmt_writeback_slot(m);
}

static inline void cnt(_Atomic unsigned long *c, long n)
{
	atomic_fetch_add_explicit(c, (unsigned long)n, memory_order_relaxed);
}

static inline unsigned long rd(const _Atomic unsigned long *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- queue ---- */

static void queue_tail(struct mmt_wb_device *dev, struct wb_req *r)
{
	r->next = NULL;
	if (dev->tail)
		dev->tail->next = r;
	else
		dev->head = r;
	dev->tail = r;
}

static void queue_head(struct mmt_wb_device *dev, struct wb_req *r)
{
	r->next = dev->head;
	dev->head = r;
	if (!dev->tail)
		dev->tail = r;
}

static struct wb_req *queue_pop(struct mmt_wb_device *dev)
{
	struct wb_req *r = dev->head;

	if (r) {
		dev->head = r->next;
		if (!dev->head)
			dev->tail = NULL;
		r->next = NULL;
	}
	return r;
}

static void end_req(struct mmt_wb_device *dev, struct wb_req *r, bool ok);

static void submit_owner(struct mmt_wb_device *dev, struct mmt_page *page,
			 mmt_wb_end_fn end, void *ctx,
			 struct mmt_wb_device *owner)
{
	struct wb_req *r = calloc(1, sizeof(*r));

	MMT_ASSERT(r != NULL);
	r->page = page;
	r->end = end;
	r->ctx = ctx;
	r->owner = owner;
	/* disk: when it completes; netswap: when to send (now) */
	r->due = mmt_jiffies(dev->m) +
		 (uint64_t)(dev->kind != MMT_WB_NETSWAP && dev->latency > 0 ?
				    dev->latency :
				    0);
	cnt(&dev->submitted, 1);
	cnt(&dev->inflight, 1);
	mmt_spin_lock(&dev->lock);
	if (MMT_UNLIKELY(dev->dead)) {
		mmt_spin_unlock(&dev->lock);
		end_req(dev, r, false);
		return;
	}
	queue_tail(dev, r);
	mmt_spin_unlock(&dev->lock);
	mmt_wake_up(&dev->wq);
}

void _mmt_wb_submit(struct mmt_wb_device *dev, struct mmt_page *page,
		    mmt_wb_end_fn end, void *ctx)
{
	submit_owner(dev, page, end, ctx, NULL);
}

/* bio_endio(): run the end function without any lock of ours. */
static void net_release(struct mmt_wb_device *dev, struct wb_req *r);

static void end_req(struct mmt_wb_device *dev, struct wb_req *r, bool ok)
{
	mmt_wb_end_fn end = r->end;
	struct mmt_page *page = r->page;
	void *ctx = r->ctx;

	/*
	 * Seq-cst: a destroyer that sees inflight reach 0 then sees active
	 * raised until this call no longer touches @dev (dev_quiesce()).
	 */
	atomic_fetch_add(&dev->active, 1);
	atomic_store_explicit(&dev->starved, false, memory_order_relaxed);
	if (r->nr_skb)
		net_release(dev, r);
	free(r);
	cnt(ok ? &dev->completed : &dev->failed, 1);
	end(page, ctx, ok);
	if (atomic_fetch_sub(&dev->inflight, 1) == 1)
		mmt_wake_up(&dev->idle_wq);
	if (ok)
		mmt_sched_progress(dev->m);
	atomic_fetch_sub(&dev->active, 1);
}

static bool has_work(void *arg)
{
	struct mmt_wb_device *dev = arg;
	bool any;

	mmt_spin_lock(&dev->lock);
	any = dev->head != NULL;
	mmt_spin_unlock(&dev->lock);
	return any;
}

/* Wait for a request; false when the worker must end. */
static bool wait_for_work(struct mmt_wb_device *dev)
{
	enum mmt_wait_result r;

	if (mmt_sched_failed(dev->m) || mmt_kthread_should_stop())
		return false;
	r = mmt_wait_event_timeout(&dev->wq, has_work, dev, MMT_WAIT_FOREVER,
				   NULL);
	return r == MMT_WAIT_DONE;
}

/* Sleep @ticks of model time (or until stopped); false: end the worker. */
static bool nap(struct mmt_wb_device *dev, long ticks)
{
	(void)dev;
	enum mmt_wait_result r = mmt_io_schedule_timeout(ticks > 0 ? ticks : 1);

	return r == MMT_WAIT_TIMEOUT && !mmt_kthread_should_stop();
}

/*
 * A worker allocation failed: put @r back at the head of the queue and
 * retry after RETRY_WAIT; false when the worker must end instead.
 */
static bool requeue_and_nap(struct mmt_wb_device *dev, struct wb_req *r)
{
	cnt(&dev->alloc_failures, 1);
	atomic_store_explicit(&dev->starved, true, memory_order_relaxed);
	mmt_spin_lock(&dev->lock);
	queue_head(dev, r);
	mmt_spin_unlock(&dev->lock);
	return !mmt_sched_failed(dev->m) && nap(dev, RETRY_WAIT);
}

/* ---- disk ---- */

static void disk_worker(void *arg)
{
	struct mmt_wb_device *dev = arg;
	struct mmt_machine *m = dev->m;

	while (wait_for_work(dev)) {
		uint64_t now = mmt_jiffies(m), due;
		struct wb_req *done = NULL, *r;

		mmt_spin_lock(&dev->lock);
		due = dev->head ? dev->head->due : now;
		while (dev->head && dev->head->due <= now) {
			r = queue_pop(dev);
			r->next = done;
			done = r;
		}
		mmt_spin_unlock(&dev->lock);
		if (!done) {
			if (!nap(dev, (long)(due - now)))
				return;
			continue;
		}
		/* The list is newest first: end in submission order. */
		{
			struct wb_req *rev = NULL;

			while (done) {
				r = done;
				done = r->next;
				r->next = rev;
				rev = r;
			}
			while (rev) {
				r = rev;
				rev = r->next;
				end_req(dev, r, true);
			}
		}
	}
}

/* ---- crypt ---- */

static void crypt_endio(struct mmt_page *cpage, void *ctx, bool ok)
{
	struct crypt_io *io = ctx;
	struct mmt_wb_device *dev = io->dev;
	struct wb_req r = { .page = io->page, .end = io->end, .ctx = io->ctx };
	struct wb_req *rp = malloc(sizeof(*rp));

	(void)cpage;
	MMT_IASSERT(cpage == io->cpage);
	/* Back to the pools first: that is what wakes a waiting kcryptd. */
	mmt_mempool_free(io->cpage, dev->page_pool);
	mmt_mempool_free(io->bio, dev->bio_pool);
	free(io);
	MMT_ASSERT(rp != NULL);
	*rp = r;
	end_req(dev, rp, ok);
}

static void crypt_worker(void *arg)
{
	struct mmt_wb_device *dev = arg;

	while (wait_for_work(dev)) {
		struct wb_req *r;
		struct crypt_io *io;
		const unsigned char *src;
		unsigned char *dst;
		size_t i;

		mmt_spin_lock(&dev->lock);
		r = queue_pop(dev);
		mmt_spin_unlock(&dev->lock);
		if (!r)
			continue;
		io = calloc(1, sizeof(*io));
		MMT_ASSERT(io != NULL);
		io->dev = dev;
		io->page = r->page;
		io->end = r->end;
		io->ctx = r->ctx;
		/* bio_alloc_bioset(GFP_NOIO): the allocation of seed 001's trace. */
		io->bio = mmt_mempool_alloc(dev->bio_pool, GFP_NOIO);
		if (io->bio)
			io->cpage = mmt_mempool_alloc(dev->page_pool, GFP_NOIO);
		if (!io->bio || !io->cpage) {
			if (io->bio)
				mmt_mempool_free(io->bio, dev->bio_pool);
			free(io);
			if (!requeue_and_nap(dev, r))
				return;
			continue;
		}
		free(r);
		/* "Encrypt": the ciphertext is the page xor a key byte. */
		src = mmt_page_address(io->page);
		dst = mmt_page_address(io->cpage);
		for (i = 0; i < MMT_PAGE_SIZE; i++)
			dst[i] = src[i] ^ 0x5c;
		submit_owner(dev->lower, io->cpage, crypt_endio, io, dev);
	}
}

/* ---- loop ---- */

static void loop_worker(void *arg)
{
	struct mmt_wb_device *dev = arg;

	while (wait_for_work(dev)) {
		struct wb_req *r;
		struct mmt_page *pc;

		mmt_spin_lock(&dev->lock);
		r = queue_pop(dev);
		mmt_spin_unlock(&dev->lock);
		if (!r)
			continue;
		/* Write into the backing file's page cache: a new dirty page. */
		pc = _mmt_lru_add_page(dev->m, MMT_LRU_FILE_DIRTY, dev->lower,
				       dev->gfp, -1, mmt_page_address(r->page),
				       NULL);
		if (!pc) {
			if (!requeue_and_nap(dev, r))
				return;
			continue;
		}
		end_req(dev, r, true);
	}
}

/* ---- netswap ---- */

static int packets_per_page(const struct mmt_wb_device *dev)
{
	return (int)((MMT_PAGE_SIZE + dev->packet_size - 1) / dev->packet_size);
}

static size_t skb_size(const struct mmt_wb_device *dev)
{
	return NET_HEADER + dev->packet_size;
}

/* The reply acknowledged @r's packets (or they are given up): free them. */
static void net_release(struct mmt_wb_device *dev, struct wb_req *r)
{
	struct mmt_mem_reserve *tx = mmt_net_reserve(dev->m, false);

	while (r->nr_skb > 0)
		mmt_sk_free_emergency(dev->sk, tx, r->skb[--r->nr_skb],
				      skb_size(dev));
}

/*
 * Send @r: false if a socket buffer could not be had (what was had is
 * freed; retry later).  The buffers stay with @r until the reply.
 */
static bool net_send(struct mmt_wb_device *dev, struct wb_req *r)
{
	struct mmt_mem_reserve *tx = mmt_net_reserve(dev->m, false);
	int i, n = packets_per_page(dev);

	for (i = 0; i < n; i++) {
		void *skb = mmt_sk_alloc_emergency(dev->sk, tx, skb_size(dev),
						   GFP_NOWAIT | __GFP_NOWARN);

		if (!skb) {
			net_release(dev, r);
			return false;
		}
		memcpy((char *)skb + NET_HEADER,
		       (const char *)mmt_page_address(r->page) +
			       (size_t)i * dev->packet_size,
		       (size_t)i == (size_t)n - 1 ?
			       MMT_PAGE_SIZE - (size_t)i * dev->packet_size :
			       dev->packet_size);
		r->skb[r->nr_skb++] = skb;
		cnt(&dev->sent, 1);
	}
	r->sent = true;
	r->due = mmt_jiffies(dev->m) +
		 (uint64_t)(dev->latency > 0 ? dev->latency : 0);
	return true;
}

/*
 * The reply arrives: a packet allocated in softirq context.  The driver
 * has reserve rights while any memalloc socket exists; a reserve buffer
 * for a socket that is not memalloc is dropped (NULL, counted by the
 * socket).  True if the reply was taken.
 */
static bool net_receive(struct mmt_wb_device *dev, bool *dropped)
{
	struct mmt_mem_reserve *rx = mmt_net_reserve(dev->m, true);
	long drops_before = mmt_sk_drops(dev->sk);
	bool emergency = mmt_sk_memalloc_socks(dev->m) > 0;
	unsigned int saved = 0;
	void *skb;

	mmt_softirq_enter();
	if (emergency)
		saved = _mmt_memalloc_noreclaim_save_at(MMT_SITE);
	skb = mmt_sk_alloc_emergency(dev->sk, rx, NET_HEADER,
				     GFP_ATOMIC | __GFP_NOWARN);
	if (emergency)
		_mmt_memalloc_noreclaim_restore_at(saved, MMT_SITE);
	if (skb)
		mmt_sk_free_emergency(dev->sk, rx, skb, NET_HEADER);
	mmt_softirq_exit();
	*dropped = !skb && mmt_sk_drops(dev->sk) != drops_before;
	return skb != NULL;
}

static void netswap_worker(void *arg)
{
	struct mmt_wb_device *dev = arg;
	struct mmt_machine *m = dev->m;

	while (wait_for_work(dev)) {
		uint64_t now = mmt_jiffies(m), next_due = UINT64_MAX;
		struct wb_req *r, *todo = NULL, **tp = &todo;

		/* Take what is due now: new requests, replies, retransmits. */
		mmt_spin_lock(&dev->lock);
		{
			struct wb_req **pp = &dev->head, *prev = NULL;

			while ((r = *pp)) {
				if (r->due <= now) {
					*pp = r->next;
					if (dev->tail == r)
						dev->tail = prev;
					r->next = NULL;
					*tp = r;
					tp = &r->next;
					continue;
				}
				if (r->due < next_due)
					next_due = r->due;
				prev = r;
				pp = &r->next;
			}
		}
		mmt_spin_unlock(&dev->lock);
		if (!todo) {
			if (!nap(dev, next_due == UINT64_MAX ?
					      RETRY_WAIT :
					      (long)(next_due - now)))
				return;
			continue;
		}
		while ((r = todo)) {
			bool dropped = false;

			todo = r->next;
			r->next = NULL;
			if (!r->sent) {
				if (!net_send(dev, r)) {
					cnt(&dev->alloc_failures, 1);
					r->due =
						now +
						RETRY_WAIT; /* try the send again then */
				}
				mmt_spin_lock(&dev->lock);
				queue_tail(dev, r);
				mmt_spin_unlock(&dev->lock);
				continue;
			}
			if (net_receive(dev, &dropped)) {
				cnt(&dev->received, 1);
				end_req(dev, r, true);
				continue;
			}
			/* No reply buffer, or dropped at the socket: retransmit. */
			if (dropped)
				cnt(&dev->dropped, 1);
			else
				cnt(&dev->alloc_failures, 1);
			net_release(dev, r); /* sent again, with new buffers */
			r->sent = false;
			r->due = now + RETRANSMIT_WAIT;
			mmt_spin_lock(&dev->lock);
			queue_tail(dev, r);
			mmt_spin_unlock(&dev->lock);
		}
		if (mmt_sched_failed(m))
			return;
	}
}

/* ---- creation and destruction ---- */

static struct mmt_wb_device *dev_new(struct mmt_machine *m, const char *name,
				     enum mmt_wb_kind kind, long latency)
{
	struct mmt_wb_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->m = m;
	snprintf(dev->name, sizeof(dev->name), "%s", name ? name : "wbdev");
	dev->kind = kind;
	dev->latency = latency;
	mmt_spin_lock_init(&dev->lock, &queue_lock_class);
	mmt_waitqueue_init(&dev->wq, "wbdev->queue");
	mmt_waitqueue_init(&dev->idle_wq, "wbdev->idle");
	return dev;
}

static void dev_register(struct mmt_wb_device *dev)
{
	struct mmt_writeback_state *ws = WB(dev->m);

	pthread_mutex_lock(&ws->mu);
	dev->next = ws->devices;
	ws->devices = dev;
	pthread_mutex_unlock(&ws->mu);
}

static void dev_unregister(struct mmt_wb_device *dev)
{
	struct mmt_writeback_state *ws = WB(dev->m);
	struct mmt_wb_device **pp;

	pthread_mutex_lock(&ws->mu);
	for (pp = &ws->devices; *pp; pp = &(*pp)->next)
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	pthread_mutex_unlock(&ws->mu);
}

static bool dev_start(struct mmt_wb_device *dev, const char *task,
		      unsigned int flags, void (*fn)(void *))
{
	dev->worker_flags = flags;
	dev->worker = mmt_kthread_run(dev->m, task, flags, fn, dev);
	if (!dev->worker)
		return false;
	dev_register(dev);
	return true;
}

bool _mmt_wb_less_flushed(const struct mmt_wb_device *dev)
{
	return dev->worker_flags & MMT_PF_LESS_THROTTLE;
}

/* A crypt device's mempools and bio cache (those it has), newest first. */
static void crypt_pools_destroy(struct mmt_wb_device *dev)
{
	if (dev->page_pool)
		mmt_mempool_destroy(dev->page_pool);
	if (dev->bio_pool)
		mmt_mempool_destroy(dev->bio_pool);
	if (dev->bio_cache)
		mmt_kmem_cache_destroy(dev->bio_cache);
}

static void dev_free(struct mmt_wb_device *dev)
{
	mmt_waitqueue_destroy(&dev->wq);
	mmt_waitqueue_destroy(&dev->idle_wq);
	free(dev);
}

struct mmt_wb_device *mmt_disk_create(struct mmt_machine *m, const char *name,
				      long latency)
{
	struct mmt_wb_device *dev = dev_new(m, name, MMT_WB_DISK, latency);
	char task[48];

	if (!dev)
		return NULL;
	snprintf(task, sizeof(task), "%s-io", dev->name);
	if (!dev_start(dev, task, 0, disk_worker)) {
		dev_free(dev);
		return NULL;
	}
	return dev;
}

struct mmt_wb_device *mmt_crypt_create(struct mmt_machine *m, const char *name,
				       struct mmt_wb_device *lower,
				       const struct mmt_crypt_config *cfg)
{
	struct mmt_crypt_config c = { .worker_flags = 0,
				      .bio_pool_min = 2,
				      .page_pool_min = 4 };
	struct mmt_wb_device *dev;

	if (!lower) {
		mmt_violation(m, "bad-argument",
			      "crypt_create(%s): no lower device",
			      name ? name : "?");
		return NULL;
	}
	if (cfg) {
		c.worker_flags = cfg->worker_flags;
		if (cfg->bio_pool_min > 0)
			c.bio_pool_min = cfg->bio_pool_min;
		if (cfg->page_pool_min > 0)
			c.page_pool_min = cfg->page_pool_min;
	}
	dev = dev_new(m, name, MMT_WB_CRYPT, 0);
	if (!dev)
		return NULL;
	dev->lower = lower;
	dev->bio_cache = mmt_kmem_cache_create("bio", 192, 0, 0, NULL);
	if (dev->bio_cache)
		dev->bio_pool = mmt_mempool_create_slab_pool(
			"bio_pool", c.bio_pool_min, dev->bio_cache);
	if (dev->bio_pool)
		dev->page_pool = mmt_mempool_create_page_pool(
			"crypt_page_pool", c.page_pool_min, 0);
	if (!dev->page_pool ||
	    !dev_start(dev, "kcryptd", c.worker_flags, crypt_worker)) {
		crypt_pools_destroy(dev);
		dev_free(dev);
		return NULL;
	}
	return dev;
}

struct mmt_wb_device *mmt_loop_create(struct mmt_machine *m, const char *name,
				      struct mmt_wb_device *lower,
				      unsigned int worker_flags, mmt_gfp_t gfp)
{
	struct mmt_wb_device *dev;

	if (!lower) {
		mmt_violation(m, "bad-argument",
			      "loop_create(%s): no lower device",
			      name ? name : "?");
		return NULL;
	}
	dev = dev_new(m, name, MMT_WB_LOOP, 0);
	if (!dev)
		return NULL;
	dev->lower = lower;
	/* Never swap out through itself: no __GFP_IO (see mmt_loop_create()). */
	dev->gfp = gfp ? gfp : (GFP_HIGHUSER_MOVABLE & ~__GFP_IO);
	if (!dev_start(dev, dev->name, worker_flags, loop_worker)) {
		dev_free(dev);
		return NULL;
	}
	return dev;
}

struct mmt_wb_device *mmt_netswap_create(struct mmt_machine *m,
					 const char *name,
					 struct mmt_swap_mount *mnt,
					 struct mmt_swapfile *sf, long latency,
					 size_t packet_size)
{
	struct mmt_wb_device *dev;

	if (!mnt || !mmt_swap_mount_sock(mnt)) {
		mmt_violation(m, "bad-argument",
			      "netswap_create(%s): no mount or socket",
			      name ? name : "?");
		return NULL;
	}
	dev = dev_new(m, name, MMT_WB_NETSWAP, latency);
	if (!dev)
		return NULL;
	dev->mnt = mnt;
	dev->sf = sf;
	dev->sk = mmt_swap_mount_sock(mnt);
	dev->packet_size = packet_size ? packet_size : 1500;
	if (dev->packet_size > MMT_PAGE_SIZE)
		dev->packet_size = MMT_PAGE_SIZE;
	if (dev->packet_size < NET_MIN_PACKET)
		dev->packet_size = NET_MIN_PACKET;
	if (!dev_start(dev, "rpciod", 0, netswap_worker)) {
		dev_free(dev);
		return NULL;
	}
	return dev;
}

/* Take @owner's requests out of @dev's queue and end them as failed. */
static void cancel_owned(struct mmt_wb_device *dev, struct mmt_wb_device *owner)
{
	struct wb_req *r, **pp, *prev = NULL, *out = NULL;

	mmt_spin_lock(&dev->lock);
	pp = &dev->head;
	while ((r = *pp)) {
		if (r->owner == owner) {
			*pp = r->next;
			if (dev->tail == r)
				dev->tail = prev;
			r->next = out;
			out = r;
			continue;
		}
		prev = r;
		pp = &r->next;
	}
	mmt_spin_unlock(&dev->lock);
	while ((r = out)) {
		out = r->next;
		end_req(dev, r, false);
	}
}

/*
 * Wait for the ends of @dev's writes that another worker is running now
 * (a lower device ending a crypt write calls into the crypt device).
 * Those never sleep, so this wait is short; bounded all the same.
 */
static bool dev_quiesce(struct mmt_wb_device *dev)
{
	long spins;

	for (spins = 0; spins < 20000000l; spins++) {
		if (atomic_load(&dev->inflight) == 0 &&
		    atomic_load(&dev->active) == 0)
			return true;
		/*
		 * Under a thread engine the other workers are fibers of this
		 * host thread.  Abandoned after a finding or a blocked run they
		 * never run again: give up at once.  Otherwise only a
		 * scheduling point lets the worker ending our writes run
		 * (sched_yield() alone would spin here and free the pools
		 * under it).
		 */
		if (_mmt_sched_has_engine(dev->m)) {
			if (mmt_sched_failed(dev->m) || spins > 100000)
				return false;
			_mmt_sched_point(MMT_SP_LOCK_CONTENDED, dev);
			continue;
		}
		sched_yield();
	}
	mmt_violation(
		dev->m, "stall",
		"device %s: %lu writes still held by another device at destroy",
		dev->name, rd(&dev->inflight));
	return false;
}

/* Full destroy, on a CPU. */
static void dev_destroy(struct mmt_wb_device *dev)
{
	struct wb_req *r;

	if (dev->worker) {
		mmt_kthread_stop(dev->worker);
		dev->worker = NULL;
	}
	mmt_spin_lock(&dev->lock);
	dev->dead = true;
	mmt_spin_unlock(&dev->lock);
	/* Ours still in the lower queue hold pool elements: end them first. */
	if (dev->lower)
		cancel_owned(dev->lower, dev);
	for (;;) {
		mmt_spin_lock(&dev->lock);
		r = queue_pop(dev);
		mmt_spin_unlock(&dev->lock);
		if (!r)
			break;
		end_req(dev, r, false);
	}
	/* Still in use by another worker (the stall is reported): leak the
	 * pools rather than free them under that worker. */
	if (dev_quiesce(dev))
		crypt_pools_destroy(dev);
	dev->page_pool = dev->bio_pool = NULL;
	dev->bio_cache = NULL;
	pthread_mutex_lock(&WB(dev->m)->mu);
	dev->next = WB(dev->m)->dead;
	WB(dev->m)->dead = dev;
	pthread_mutex_unlock(&WB(dev->m)->mu);
}

void mmt_wb_device_destroy(struct mmt_wb_device *dev)
{
	if (!dev)
		return;
	dev_unregister(dev);
	dev_destroy(dev);
}

const char *mmt_wb_device_name(const struct mmt_wb_device *dev)
{
	return dev->name;
}

enum mmt_wb_kind mmt_wb_device_kind(const struct mmt_wb_device *dev)
{
	return dev->kind;
}

struct mmt_task *mmt_wb_device_task(const struct mmt_wb_device *dev)
{
	return dev->worker ? mmt_kthread_task(dev->worker) : NULL;
}

void mmt_wb_device_stats(const struct mmt_wb_device *dev,
			 struct mmt_wb_device_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->submitted = rd(&dev->submitted);
	out->completed = rd(&dev->completed);
	out->failed = rd(&dev->failed);
	out->inflight = rd(&dev->inflight);
	out->packets_sent = rd(&dev->sent);
	out->packets_received = rd(&dev->received);
	out->packets_dropped = rd(&dev->dropped);
	out->alloc_failures = rd(&dev->alloc_failures);
}

unsigned long mmt_writeback_starved_pages(struct mmt_machine *m)
{
	struct mmt_writeback_state *ws = WB(m);
	struct mmt_wb_device *dev;
	unsigned long n = 0;

	if (!ws)
		return 0;
	pthread_mutex_lock(&ws->mu);
	for (dev = ws->devices; dev; dev = dev->next)
		if (atomic_load_explicit(&dev->starved, memory_order_relaxed))
			n += rd(&dev->inflight);
	pthread_mutex_unlock(&ws->mu);
	return n;
}

static bool dev_idle(void *arg)
{
	struct mmt_wb_device *dev = arg;

	return rd(&dev->inflight) == 0;
}

bool mmt_wb_device_wait_idle(struct mmt_wb_device *dev, long timeout)
{
	return mmt_wait_event_timeout(&dev->idle_wq, dev_idle, dev, timeout,
				      NULL) == MMT_WAIT_DONE;
}

/* ---- registry ---- */

int _mmt_writeback_init(struct mmt_machine *m, char *err, size_t errlen)
{
	struct mmt_writeback_state *ws = calloc(1, sizeof(*ws));

	if (!ws) {
		snprintf(err, errlen,
			 "out of host memory for writeback devices");
		return -1;
	}
	pthread_mutex_init(&ws->mu, NULL);
	*_mmt_writeback_slot(m) = ws;
	return 0;
}

bool _mmt_writeback_has_devices(struct mmt_machine *m)
{
	return WB(m) && WB(m)->devices;
}

/*
 * Teardown: on a CPU, devices left over are destroyed properly, uppers
 * before lowers (newest first: an upper is created after its lower).
 * Without a CPU only the host side goes (workers stopped, structures freed).
 */
void _mmt_writeback_destroy(struct mmt_machine *m)
{
	struct mmt_writeback_state *ws = WB(m);
	struct mmt_wb_device *dev;

	if (!ws)
		return;
	while ((dev = ws->devices)) {
		ws->devices = dev->next;
		if (mmt_smp_processor_id() >= 0) {
			dev_destroy(dev);
		} else {
			struct wb_req *r;

			if (dev->worker)
				mmt_kthread_stop(dev->worker);
			while ((r = dev->head)) {
				dev->head = r->next;
				free(r);
			}
			dev_free(dev);
		}
	}
	while ((dev = ws->dead)) {
		ws->dead = dev->next;
		dev_free(dev);
	}
	pthread_mutex_destroy(&ws->mu);
	free(ws);
	*_mmt_writeback_slot(m) = NULL;
}

unsigned long _mmt_writeback_dropped(const struct mmt_machine *m)
{
	struct mmt_writeback_state *ws = WB((struct mmt_machine *)m);
	struct mmt_wb_device *dev;
	unsigned long n = 0;

	if (!ws)
		return 0;
	pthread_mutex_lock(&ws->mu);
	for (dev = ws->devices; dev; dev = dev->next)
		n += rd(&dev->dropped);
	pthread_mutex_unlock(&ws->mu);
	return n;
}

static const char *kind_name(enum mmt_wb_kind k)
{
	switch (k) {
	case MMT_WB_DISK:
		return "disk";
	case MMT_WB_CRYPT:
		return "crypt";
	case MMT_WB_LOOP:
		return "loop";
	case MMT_WB_NETSWAP:
		return "netswap";
	}
	return "?";
}

void *_mmt_writeback_json(struct mmt_machine *m)
{
	struct mmt_writeback_state *ws = WB(m);
	json_t *a = json_array();
	struct mmt_wb_device *dev;

	if (!ws)
		return a;
	pthread_mutex_lock(&ws->mu);
	for (dev = ws->devices; dev; dev = dev->next) {
		struct mmt_wb_device_stats st;

		mmt_wb_device_stats(dev, &st);
		json_array_append_new(
			a,
			json_pack(
				"{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
				"name", dev->name, "kind", kind_name(dev->kind),
				"submitted", (json_int_t)st.submitted,
				"completed", (json_int_t)st.completed, "failed",
				(json_int_t)st.failed, "inflight",
				(json_int_t)st.inflight, "packets_sent",
				(json_int_t)st.packets_sent, "packets_received",
				(json_int_t)st.packets_received,
				"packets_dropped",
				(json_int_t)st.packets_dropped,
				"alloc_failures",
				(json_int_t)st.alloc_failures));
	}
	pthread_mutex_unlock(&ws->mu);
	return a;
}

void _mmt_writeback_print(struct mmt_machine *m, FILE *out)
{
	struct mmt_writeback_state *ws = WB(m);
	struct mmt_wb_device *dev;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->mu);
	for (dev = ws->devices; dev; dev = dev->next) {
		struct mmt_wb_device_stats st;

		mmt_wb_device_stats(dev, &st);
		fprintf(out,
			"  device %-10s %-7s submitted %lu completed %lu failed %lu inflight %lu",
			dev->name, kind_name(dev->kind), st.submitted,
			st.completed, st.failed, st.inflight);
		if (dev->kind == MMT_WB_NETSWAP)
			fprintf(out,
				" packets sent %lu received %lu dropped %lu",
				st.packets_sent, st.packets_received,
				st.packets_dropped);
		if (st.alloc_failures)
			fprintf(out, " alloc failures %lu", st.alloc_failures);
		fputc('\n', out);
	}
	pthread_mutex_unlock(&ws->mu);
}
