/*
 * virtio-blk (virtio 1.2, 5.2). A request is a chain: a 16-byte header the device
 * reads, data, and one status byte the device writes. The transport hands us validated
 * chains; this file checks what they mean (type, sector range, sizes) and passes the
 * data iovecs, which point straight into guest RAM, to an I/O engine (sync or io_uring).
 * Bad requests get VIRTIO_BLK_S_IOERR / S_UNSUPP; only a chain without room for the
 * status byte breaks the queue, since then there is no way to answer it.
 *
 * The engine never calls back: what it finished waits in it until blk_process reaps it,
 * so one function, on one thread at a time, moves every request ("the request path").
 */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/rate_limiter.h"
#include "../lib/util.h"
#include "../vcpu/host.h"
#include "blk_engine.h"
#include "iov.h"
#include "mmio.h"

#define BLK_SECTOR 512ULL
#define BLK_QUEUE_MAX 256
#define BLK_ID_BYTES 20

/* 5.2.3 Feature bits. */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* 5.2.6 Request types and status values. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_WZ_F_UNMAP 1u

/* 5.2.4 Device configuration layout, as far as the features we offer reach. */
struct virtio_blk_config_space {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct virtio_blk_req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk_discard_segment {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_request {
	struct virtq_chain chain;
	enum blk_op op;   /* what went to the engine, for the counters */
	uint8_t *status;  /* the last writable byte of the chain */
	uint32_t expect;  /* bytes the engine must move for success */
	uint32_t written; /* bytes put in the guest's buffers, status byte excluded */
	unsigned ndata;
	struct iovec data[VIRTQ_MAX_CHAIN];
	struct blk_request *next_free;
};

struct virtio_blk {
	struct virtio_device_ops ops;
	struct virtio_mmio *t;
	char id[CONFIG_MAX_ID + 1];
	char *path;
	bool read_only;
	bool flush; /* VIRTIO_BLK_F_FLUSH offered (cache=Writeback); else FLUSH is UNSUPP */
	int fd;
	uint64_t sectors;
	struct virtio_blk_config_space config;
	struct metrics_block *m;

	struct blk_engine *engine;
	struct event_handler engine_handler; /* its event_fd, when it has one (async) */
	struct event_loop *loop;             /* where engine_handler is watched */
	bool engine_watched;
	struct rate_limiter rl;
	struct event_handler rl_handler;

	struct blk_request *reqs, *free_reqs; /* one per engine slot: BLK_QUEUE_MAX */
	uint64_t answered; /* requests answered so far: blk_process interrupts when it moved */
};

static struct blk_request *blk_req_alloc(struct virtio_blk *b)
{
	struct blk_request *r = b->free_reqs;
	if (r)
		b->free_reqs = r->next_free;
	return r;
}

static void blk_req_free(struct virtio_blk *b, struct blk_request *r)
{
	r->next_free = b->free_reqs;
	b->free_reqs = r;
}

/* ---------------------------------------------------------------- the request path */

/*
 * Top to bottom, as a request travels: a kick reaches blk_queue_notify; blk_process
 * reaps, takes, kicks the engine and decides once whether to interrupt; blk_take pops
 * chains (virtq_pop_chain checks them); blk_start finds the status byte, has the chain
 * decoded, asks the rate limiter and submits; blk_decode reads the header and answers
 * what needs no I/O; blk_reap takes what the engine finished and blk_finish answers it;
 * blk_answer writes the status byte and pushes the used entry. Everything runs under the
 * transport's lock, called by the transport or through virtio_mmio_run.
 */

/* What one blk_process saw of the ring, over all its rounds. */
struct blk_pass {
	bool took;  /* a chain was taken */
	bool empty; /* the ring was found empty */
};

/* How blk_start left a chain. */
enum blk_started {
	BLK_STARTED, /* submitted or answered: take the next */
	BLK_STOP,    /* given back to the limiter's timer, or the ring broke */
	BLK_FULL,    /* given back: the engine has no room */
};

static bool blk_take(struct virtio_blk *b, struct virtq *q, struct blk_pass *pass);
static enum blk_started blk_start(struct virtio_blk *b, struct virtq *q, struct blk_request *r);
static int blk_decode(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		      struct blk_req *io);
static void blk_reap(struct virtio_blk *b, struct virtq *q);
static void blk_finish(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		       int64_t res);
static void blk_answer(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		       uint8_t status);

/*
 * The one place requests move, for every event: a kick, a completion, the limiter's
 * timer, a drive swap. Rounds of reap-then-take go on while the engine holds finished
 * requests (sync: all it took; async: what the kernel finished meanwhile), each reap
 * making room for the next take. An engine full of requests still in the kernel ends it:
 * its eventfd brings the next call. Returns true when no chain was taken and the ring was
 * found empty.
 */
static bool blk_process(struct virtio_blk *b, struct virtq *q)
{
	uint64_t answered = b->answered;
	struct blk_pass pass = { false, false };
	bool full;
	do {
		blk_reap(b, q);
		full = blk_take(b, q, &pass);
	} while (blk_engine_has_done(b->engine));
	blk_engine_kick(b->engine);
	if (full)
		METRIC_INC(b->m->io_engine_throttled_events);
	if (q->broken)
		virtio_mmio_ring_error(b->t, q);
	if (b->answered != answered)
		virtio_mmio_notify_used(b->t, q);
	return pass.empty && !pass.took;
}

/* A look at the ring (a kick, the limiter's timer, a drive swap), not a completion's. */
static void blk_look(struct virtio_blk *b, struct virtq *q)
{
	if (blk_process(b, q))
		METRIC_INC(b->m->no_avail_buffer);
}

static void blk_queue_notify(void *dev, struct virtio_mmio *t, unsigned index, struct virtq *q)
{
	struct virtio_blk *b = dev;
	(void)t;
	(void)index;
	METRIC_INC(b->m->queue_event_count);
	if (rate_limiter_is_blocked(&b->rl))
		METRIC_INC(b->m->rate_limiter_throttled_events);
	blk_look(b, q);
}

/*
 * Takes chains until the ring is empty, the queue stops, the limiter says wait or there
 * is no room (request pool or engine, both of BLK_QUEUE_MAX). Returns true for no room.
 */
static bool blk_take(struct virtio_blk *b, struct virtq *q, struct blk_pass *pass)
{
	while (virtio_mmio_queue_live(b->t, q) && !rate_limiter_is_blocked(&b->rl)) {
		struct blk_request *r = blk_req_alloc(b);
		if (!r)
			return true; /* every request is in the engine */
		int got = virtq_pop_chain(q, &r->chain);
		if (got <= 0) {
			blk_req_free(b, r);
			pass->empty |= got == 0;
			if (got == 0 && virtq_arm_notify(q))
				continue;
			return false;
		}
		pass->took = true;
		METRIC_ADD(b->m->remaining_reqs_count, virtq_pending(q));
		enum blk_started st = blk_start(b, q, r);
		if (st != BLK_STARTED)
			return st == BLK_FULL;
	}
	return false;
}

/* r, just taken: answered at once, submitted, or given back to wait (limiter, room). */
static enum blk_started blk_start(struct virtio_blk *b, struct virtq *q, struct blk_request *r)
{
	const struct virtq_chain *c = &r->chain;
	if (c->nin == 0) {
		METRIC_INC(b->m->invalid_reqs_count);
		virtq_break(q, "block request without a writable status byte");
		blk_req_free(b, r);
		return BLK_STOP;
	}
	const struct iovec *last = &c->iov[c->nout + c->nin - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;

	struct blk_req io;
	if (blk_decode(b, q, r, &io) < 0)
		return BLK_STARTED;
	r->op = io.op;
	uint64_t bytes = io.op == BLK_OP_READ || io.op == BLK_OP_WRITE ? r->expect : 0;
	if (!rate_limiter_consume(&b->rl, bytes, 1)) {
		METRIC_INC(b->m->rate_limiter_throttled_events);
		virtq_unpop(q);
		blk_req_free(b, r);
		return BLK_STOP;
	}
	int err = blk_engine_submit(b->engine, &io);
	if (err == -EAGAIN) {
		rate_limiter_replenish(&b->rl, bytes, 1);
		virtq_unpop(q);
		blk_req_free(b, r);
		return BLK_FULL;
	}
	if (err < 0)
		blk_finish(b, q, r, err);
	return BLK_STARTED;
}

/* A request ember answers with an error without doing any I/O. */
static void blk_refuse(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		       uint8_t status)
{
	METRIC_INC(b->m->invalid_reqs_count);
	r->written = 0;
	blk_answer(b, q, r, status);
}

/* [sector, sector + bytes) lies inside the disk; bytes is a whole number of sectors. */
static bool blk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % BLK_SECTOR == 0 && sector <= b->sectors &&
	       bytes / BLK_SECTOR <= b->sectors - sector;
}

/* GET_ID: the drive id, NUL-padded to 20 bytes, as much as fits. */
static void blk_get_id(struct virtio_blk *b, struct virtq *q, struct blk_request *r)
{
	char id[BLK_ID_BYTES] = { 0 };
	memcpy(id, b->id, strnlen(b->id, BLK_ID_BYTES));
	r->written = (uint32_t)iov_from_buf(r->chain.iov + r->chain.nout, r->chain.nin, 0, id,
					    r->chain.in_len - 1 < BLK_ID_BYTES ?
						    r->chain.in_len - 1 :
						    BLK_ID_BYTES);
	blk_answer(b, q, r, VIRTIO_BLK_S_OK);
}

/* READ/WRITE: the data iovecs and their byte count, or false for an I/O error. */
static bool blk_prepare_rw(struct virtio_blk *b, struct blk_request *r, bool write,
			   const struct virtio_blk_req_header *h)
{
	const struct virtq_chain *c = &r->chain;
	uint64_t len = write ? c->out_len - sizeof(*h) : c->in_len - 1;
	if (len > UINT32_MAX || !blk_range_ok(b, h->sector, len) || (write && b->read_only))
		return false;
	size_t got;
	r->ndata = write ? iov_slice(c->iov, c->nout, sizeof(*h), len, r->data, VIRTQ_MAX_CHAIN,
				     &got) :
			   iov_slice(c->iov + c->nout, c->nin, 0, len, r->data, VIRTQ_MAX_CHAIN,
				     &got);
	r->expect = (uint32_t)len;
	r->written = write ? 0 : (uint32_t)len;
	return got == len;
}

/* DISCARD/WRITE_ZEROES: one segment (max_*_seg is 1), inside the disk. */
static int blk_prepare_zero(struct virtio_blk *b, struct blk_request *r, uint32_t type,
			    struct blk_req *io)
{
	struct virtio_blk_discard_segment seg;
	const struct virtq_chain *c = &r->chain;
	if (b->read_only || c->out_len != sizeof(struct virtio_blk_req_header) + sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(c->iov, c->nout, sizeof(struct virtio_blk_req_header), &seg, sizeof(seg));
	if ((seg.flags & ~VIRTIO_BLK_WZ_F_UNMAP) ||
	    (type == VIRTIO_BLK_T_DISCARD && seg.flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (!blk_range_ok(b, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	io->op = type == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
	io->offset = seg.sector * BLK_SECTOR;
	io->len = (uint64_t)seg.num_sectors * BLK_SECTOR;
	io->unmap = seg.flags & VIRTIO_BLK_WZ_F_UNMAP;
	return VIRTIO_BLK_S_OK;
}

/*
 * Turns r into an engine request. Returns -1 when r was answered at once, 0 when io
 * is ready to submit.
 */
static int blk_decode(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		      struct blk_req *io)
{
	struct virtio_blk_req_header h;
	const struct virtq_chain *c = &r->chain;
	memset(io, 0, sizeof(*io));
	io->cookie = r;
	r->written = r->expect = 0;
	if (iov_to_buf(c->iov, c->nout, 0, &h, sizeof(h)) != sizeof(h))
		return blk_refuse(b, q, r, VIRTIO_BLK_S_IOERR), -1;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = h.type == VIRTIO_BLK_T_OUT;
		if (!blk_prepare_rw(b, r, write, &h))
			return blk_refuse(b, q, r, VIRTIO_BLK_S_IOERR), -1;
		io->op = write ? BLK_OP_WRITE : BLK_OP_READ;
		io->offset = h.sector * BLK_SECTOR;
		io->iov = r->data;
		io->iovcnt = r->ndata;
		return 0;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!b->flush) /* cache=Unsafe: not offered, so not done */
			return blk_refuse(b, q, r, VIRTIO_BLK_S_UNSUPP), -1;
		io->op = BLK_OP_FLUSH;
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(b, q, r), -1;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		int st = blk_prepare_zero(b, r, h.type, io);
		return st == VIRTIO_BLK_S_OK ? 0 : (blk_refuse(b, q, r, (uint8_t)st), -1);
	}
	default:
		return blk_refuse(b, q, r, VIRTIO_BLK_S_UNSUPP), -1;
	}
}

/* Answers every request the engine finished, oldest first. */
static void blk_reap(struct virtio_blk *b, struct virtq *q)
{
	struct blk_done d;
	while (blk_engine_reap(b->engine, &d))
		blk_finish(b, q, d.cookie, d.result);
}

static uint8_t blk_status_of(const struct blk_request *r, int64_t res)
{
	if (res == -EOPNOTSUPP)
		return VIRTIO_BLK_S_UNSUPP;
	if (res < 0 || (uint64_t)res != r->expect)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* Firecracker's accounting: bytes as moved, operations when they succeeded. */
static void blk_count_done(struct virtio_blk *b, const struct blk_request *r, int64_t res,
			   uint8_t status)
{
	uint64_t moved = res > 0 ? (uint64_t)res : 0;
	if (r->op == BLK_OP_READ)
		METRIC_ADD(b->m->read_bytes, moved);
	else if (r->op == BLK_OP_WRITE)
		METRIC_ADD(b->m->write_bytes, moved);
	if (status != VIRTIO_BLK_S_OK)
		METRIC_INC(b->m->execute_fails); /* the host I/O failed, or the file was short */
	else if (r->op == BLK_OP_READ)
		METRIC_INC(b->m->read_count);
	else if (r->op == BLK_OP_WRITE)
		METRIC_INC(b->m->write_count);
	else if (r->op == BLK_OP_FLUSH)
		METRIC_INC(b->m->flush_count);
}

/* The engine's result for r: a short read reports what it put in the guest's buffers. */
static void blk_finish(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		       int64_t res)
{
	if (res > 0 && r->written)
		r->written = (uint32_t)res;
	uint8_t status = blk_status_of(r, res);
	blk_count_done(b, r, res, status);
	blk_answer(b, q, r, status);
}

/* The end of every request: its status byte, its used entry; r is free again. */
static void blk_answer(struct virtio_blk *b, struct virtq *q, struct blk_request *r,
		       uint8_t status)
{
	__atomic_store_n(r->status, status, __ATOMIC_RELAXED);
	virtq_push_used(q, r->chain.head, r->written + 1);
	blk_req_free(b, r);
	b->answered++;
}

/* ---------------------------------------------------------------- the device */

static bool blk_activate(void *dev, struct virtio_mmio *t)
{
	(void)dev;
	(void)t;
	return true;
}

/*
 * Device reset (a vCPU's status write, or teardown). Requests in flight still write into
 * guest RAM, so they finish first (an async engine waits for the kernel: on a vCPU
 * thread, io_uring_enter); their answers are dropped with the rings they were for.
 */
static void blk_reset(void *dev, struct virtio_mmio *t)
{
	struct virtio_blk *b = dev;
	struct blk_done d;
	(void)t;
	blk_engine_settle(b->engine);
	while (blk_engine_reap(b->engine, &d))
		blk_req_free(b, d.cookie);
}

/* A snapshot: what the engine holds finishes and is answered; nothing new is taken. */
static void blk_quiesce(void *dev, struct virtio_mmio *t, unsigned index, struct virtq *q)
{
	struct virtio_blk *b = dev;
	uint64_t answered = b->answered;
	(void)index;
	blk_engine_settle(b->engine);
	if (!virtio_mmio_queue_live(t, q)) {
		blk_reset(dev, t);
		return;
	}
	blk_reap(b, q);
	if (b->answered != answered)
		virtio_mmio_notify_used(t, q);
}

static void blk_destroy(void *dev)
{
	struct virtio_blk *b = dev;
	if (b->engine_watched)
		event_loop_del(b->loop, b->engine->event_fd);
	blk_engine_close(b->engine);
	rate_limiter_destroy(&b->rl);
	if (b->fd >= 0)
		close(b->fd);
	metrics_block_unregister(b->m);
	free(b->reqs);
	free(b->path);
	free(b);
}

static const void *blk_config(void *dev, size_t *len)
{
	struct virtio_blk *b = dev;
	*len = sizeof(b->config);
	return &b->config;
}

static void blk_rate_timer_fired(void *ctx, struct virtq *q)
{
	struct virtio_blk *b = ctx;
	METRIC_INC(b->m->rate_limiter_event_count);
	rate_limiter_timer_fired(&b->rl);
	blk_look(b, q);
}

static void blk_on_rate_timer(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	(void)events;
	virtio_mmio_run(b->t, 0, blk_rate_timer_fired, b);
}

static void blk_engine_finished(void *ctx, struct virtq *q)
{
	blk_process(ctx, q);
}

/* The async engine's eventfd: requests finished; blk_process reaps them. */
static void blk_on_engine(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	(void)events;
	blk_engine_clear_event(b->engine);
	virtio_mmio_run(b->t, 0, blk_engine_finished, b);
}

static const struct virtio_device_ops blk_ops_template = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = BLK_QUEUE_MAX,
	.features = 1ULL << VIRTIO_BLK_F_SEG_MAX,
	.config = blk_config,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.quiesce = blk_quiesce,
};

static void blk_fill_config(struct virtio_blk *b)
{
	struct virtio_blk_config_space *c = &b->config;
	c->capacity = b->sectors;
	c->seg_max = BLK_QUEUE_MAX - 2; /* room for header and status */
	c->num_queues = 1;
	c->max_discard_sectors = c->max_write_zeroes_sectors = UINT32_MAX;
	c->max_discard_seg = c->max_write_zeroes_seg = 1;
	c->discard_sector_alignment = 1;
	c->write_zeroes_may_unmap = 1;
	b->ops = blk_ops_template;
	if (b->flush)
		b->ops.features |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (b->read_only)
		b->ops.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		b->ops.features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
				   (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

/* The size of the file open on fd, which must be a regular file or a block device. */
static int blk_file_bytes(const struct virtio_blk *b, const char *path, int fd,
			  const struct stat *st, uint64_t *bytes, struct errbuf *e)
{
	if (S_ISREG(st->st_mode)) {
		*bytes = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode) && ioctl(fd, BLKGETSIZE64, bytes) == 0)
		return 0;
	return errf(e, "drive '%s': %s is not a regular file or block device", b->id, path);
}

static bool blk_is_open_file(const struct virtio_blk *b, const struct stat *st)
{
	struct stat cur;
	return b->fd >= 0 && fstat(b->fd, &cur) == 0 && cur.st_dev == st->st_dev &&
	       cur.st_ino == st->st_ino;
}

/*
 * Checks and locks fd, just opened on path: shared for a read-only drive, exclusive
 * otherwise, since a second VM on the same image would corrupt it. *same: path is the
 * file b already has open and locked (a second lock on it would conflict with ours).
 */
static int blk_check_file(const struct virtio_blk *b, const char *path, int fd, uint64_t *bytes,
			  bool *same, struct errbuf *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errf(e, "drive '%s': %s: %s", b->id, path, strerror(errno));
	if (blk_file_bytes(b, path, fd, &st, bytes, e) < 0)
		return -1;
	*same = blk_is_open_file(b, &st);
	if (!*same && flock(fd, (b->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errf(e, "drive '%s': %s is already in use by another drive or process (%s)",
			    b->id, path, strerror(errno));
	return 0;
}

/*
 * Opens path as b's backing file, read-only when the drive is, and locks it. When path
 * is the file b already uses (an update that only picks up a new size), *fd is b->fd.
 */
static int blk_open_file(const struct virtio_blk *b, const char *path, int *fd, uint64_t *bytes,
			 struct errbuf *e)
{
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused just below. */
	int nfd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (nfd < 0)
		return errf(e, "drive '%s': cannot open %s: %s", b->id, path, strerror(errno));
	bool same;
	if (blk_check_file(b, path, nfd, bytes, &same, e) < 0) {
		close(nfd);
		return -1;
	}
	if (same) {
		close(nfd);
		nfd = b->fd;
	}
	*fd = nfd;
	return 0;
}

static uint64_t blk_sectors(const struct virtio_blk *b, const char *path, uint64_t bytes)
{
	if (bytes % BLK_SECTOR)
		log_warn("drive '%s': %s is not a whole number of 512-byte sectors; the last "
			 "%llu bytes are not visible to the guest",
			 b->id, path, (unsigned long long)(bytes % BLK_SECTOR));
	return bytes / BLK_SECTOR;
}

/* The async engine's eventfd wakes the event thread when requests finished. */
static int blk_watch_engine(struct virtio_blk *b, struct event_loop *loop, struct errbuf *e)
{
	if (b->engine->event_fd < 0)
		return 0; /* sync: requests finish inside submit */
	b->loop = loop;
	b->engine_handler = (struct event_handler){ .fn = blk_on_engine, .opaque = b };
	if (event_loop_add(loop, b->engine->event_fd, EPOLLIN, &b->engine_handler) < 0)
		return errf(e, "drive '%s': cannot watch the engine's eventfd: %s", b->id,
			    strerror(errno));
	b->engine_watched = true;
	return 0;
}

static int blk_setup(struct virtio_blk *b, const struct vm_host *h, const struct drive_config *d,
		     struct errbuf *e)
{
	uint64_t bytes;
	if (blk_open_file(b, b->path, &b->fd, &bytes, e) < 0 ||
	    rate_limiter_init(&b->rl, &d->rate_limiter, e) < 0)
		return -1;
	b->sectors = blk_sectors(b, b->path, bytes);
	b->rl_handler = (struct event_handler){ .fn = blk_on_rate_timer, .opaque = b };
	if (event_loop_add(h->loop, b->rl.timer_fd, EPOLLIN, &b->rl_handler) < 0)
		return errf(e, "drive '%s': cannot watch the rate limiter timer", b->id);
	if (blk_engine_open(&b->engine, d->engine == DRIVE_ENGINE_ASYNC ? "async" : "sync", b->fd,
			    BLK_QUEUE_MAX, e) < 0 ||
	    blk_watch_engine(b, h->loop, e) < 0)
		return -1;
	b->reqs = calloc(BLK_QUEUE_MAX, sizeof(*b->reqs));
	if (!b->reqs)
		return errf(e, "drive '%s': out of memory", b->id);
	for (unsigned i = 0; i < BLK_QUEUE_MAX; i++)
		blk_req_free(b, &b->reqs[i]);
	blk_fill_config(b);
	return 0;
}

int virtio_blk_create(const struct vm_host *h, struct virtio_registry *reg,
		      const struct drive_config *d, struct virtio_blk **out, struct errbuf *e)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return errf(e, "drive '%s': out of memory", d->id);
	b->fd = -1;
	b->rl.timer_fd = -1;
	b->read_only = d->read_only;
	b->flush = d->cache == DRIVE_CACHE_WRITEBACK;
	snprintf(b->id, sizeof(b->id), "%s", d->id);
	b->m = metrics_block_register(b->id);
	b->path = strdup(d->path);
	if (!b->path || blk_setup(b, h, d, e) < 0) {
		if (!b->path)
			errf(e, "drive '%s': out of memory", d->id);
		blk_destroy(b);
		return -1;
	}
	char name[32];
	snprintf(name, sizeof(name), "virtio-blk %.20s", d->id);
	if (virtio_mmio_create(h, reg, &b->ops, b, name, &b->t, e) < 0)
		return -1;
	*out = b;
	return 0;
}

const char *virtio_blk_id(const struct virtio_blk *b)
{
	return b->id;
}

/* ---------------------------------------------------------------- run-time update */

/*
 * Moves the drive onto nfd, open and locked. The async engine may have requests in
 * flight on the old fd (a short transfer is even continued on whatever fd the engine
 * has), so they all finish first; their answers wait in the engine for the blk_process
 * after the swap. Both engines read the fd per request, so with nothing in the kernel it
 * can change.
 */
static void blk_switch_fd(struct virtio_blk *b, int nfd)
{
	blk_engine_settle(b->engine);
	close(b->fd); /* drops the old file's lock */
	b->fd = b->engine->fd = nfd;
}

static int blk_update_apply(struct virtio_blk *b, struct virtq *q, const char *path,
			    const struct rate_limiter_change *rl, struct errbuf *e)
{
	/* Everything that can fail comes first, on copies: an error changes nothing. */
	int nfd = b->fd;
	uint64_t bytes = 0;
	char *npath = NULL;
	if (path && blk_open_file(b, path, &nfd, &bytes, e) < 0)
		return -1;
	struct rate_limiter nrl = b->rl; /* plain data and the same timer fd */
	struct errbuf why;
	int ret = 0;
	if (path && !(npath = strdup(path)))
		ret = errf(e, "drive '%s': out of memory", b->id);
	else if (rl && rate_limiter_update(&nrl, rl->bandwidth, rl->ops, &why) < 0)
		ret = errf(e, "drive '%s': %s", b->id, why.msg);
	if (ret < 0) {
		free(npath);
		if (nfd != b->fd)
			close(nfd);
		return -1;
	}

	b->rl = nrl;
	if (!path)
		return 0;
	bool moved = nfd != b->fd;
	if (moved)
		blk_switch_fd(b, nfd);
	free(b->path);
	b->path = npath;
	b->sectors = b->config.capacity = blk_sectors(b, path, bytes);
	virtio_mmio_config_changed(b->t);
	if (moved)
		blk_look(b, q); /* answers what finished on the old file, then goes on */
	return 0;
}

struct blk_update {
	struct virtio_blk *b;
	const char *path;
	const struct rate_limiter_change *rl;
	struct errbuf *e;
	int ret;
};

static void blk_update_locked(void *ctx, struct virtq *q)
{
	struct blk_update *u = ctx;
	u->ret = blk_update_apply(u->b, q, u->path, u->rl, u->e);
	if (u->ret < 0)
		METRIC_INC(u->b->m->update_fails);
	else
		METRIC_INC(u->b->m->update_count);
}

int virtio_blk_update(struct virtio_blk *b, const char *path,
		      const struct rate_limiter_change *rl, struct errbuf *e)
{
	struct blk_update u = { b, path, rl, e, 0 };
	virtio_mmio_run(b->t, 0, blk_update_locked, &u);
	return u.ret;
}

int virtio_blk_root_args(const struct vm_config *cfg, char *out, size_t cap)
{
	out[0] = '\0';
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		if (!d->is_root)
			continue;
		const char *mode = d->read_only ? "ro" : "rw";
		if (d->partuuid[0])
			return snprintf(out, cap, "root=PARTUUID=%s %s", d->partuuid, mode);
		/* Linux names virtio disks vda..vdz, then vdaa.. (at most 19 here). */
		return snprintf(out, cap, "root=/dev/vd%c %s", 'a' + (int)i, mode);
	}
	return 0;
}

/* Snapshots: the limiter is the device's, so it is read and set under the lock. */
struct blk_state_call {
	struct virtio_blk *b;
	struct virtio_blk_state *s;
	bool save;
};

static void blk_state_locked(void *ctx, struct virtq *q)
{
	struct blk_state_call *c = ctx;
	(void)q;
	if (c->save)
		rate_limiter_save(&c->b->rl, &c->s->rl);
	else
		rate_limiter_restore(&c->b->rl, &c->s->rl);
}

void virtio_blk_save(struct virtio_blk *b, struct virtio_blk_state *s)
{
	struct blk_state_call c = { b, s, true };
	memset(s, 0, sizeof(*s));
	virtio_mmio_run(b->t, VIRTIO_MMIO_NO_QUEUE, blk_state_locked, &c);
}

void virtio_blk_restore(struct virtio_blk *b, const struct virtio_blk_state *s)
{
	struct virtio_blk_state copy = *s;
	struct blk_state_call c = { b, &copy, false };
	virtio_mmio_run(b->t, VIRTIO_MMIO_NO_QUEUE, blk_state_locked, &c);
}
