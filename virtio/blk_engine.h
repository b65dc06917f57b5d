/*
 * Block I/O engines: how virtio-blk turns a request into I/O on the backing fd (a
 * regular file or a block device), chosen per drive with engine=sync|async.
 *
 *   sync   (blk_engine_sync.c)  preadv/pwritev/fdatasync/fallocate on the calling
 *          thread. blk_engine_submit does the I/O and calls `done` before it returns.
 *   async  (blk_engine_uring.c) io_uring: submit prepares an SQE, blk_engine_kick
 *          submits the batch with one io_uring_submit, and completions arrive on the
 *          event thread through an eventfd registered with the ring and added to the
 *          event loop; its handler reaps the CQEs and calls `done` for each.
 *
 * Results passed to `done`: READ and WRITE give the bytes transferred, the others 0, or
 * -errno. A read that meets the end of the file returns what it read (possibly 0): the
 * caller decides what a short read means. A short transfer before that point is
 * continued until the request is whole (sync: at once; async: the remainder is
 * resubmitted), so a short WRITE only ever ends in an error. -EOPNOTSUPP from a file
 * system or device that cannot discard or zero a range is passed up as it is.
 * Ranges beyond INT64_MAX, more than IOV_MAX iovecs or iovec lengths that overflow
 * complete with -EINVAL without reaching the kernel (io_uring would take offset -1 as
 * "the file position"); a DISCARD or WRITE_ZEROES of length 0 gets the kernel's -EINVAL.
 *
 * Operations:
 *   READ, WRITE       iov/iovcnt at offset; iovcnt at most IOV_MAX
 *   FLUSH             fdatasync (IORING_FSYNC_DATASYNC)
 *   DISCARD           fallocate(PUNCH_HOLE | KEEP_SIZE) of [offset, offset + len)
 *   WRITE_ZEROES      fallocate(ZERO_RANGE | KEEP_SIZE), or (PUNCH_HOLE | KEEP_SIZE) when
 *                     `unmap`; KEEP_SIZE always, as block devices require it
 *
 * Rules for the caller:
 *   - Calls for one engine are serialised by the caller; the async completions run
 *     on the event thread, under `lock` when the caller set one.
 *   - The iovecs and the memory they point to stay valid until `done` is called for
 *     the request; `done` may submit new requests and kick, but not drain or close.
 *   - At most `depth` requests are queued or in flight; blk_engine_submit returns
 *     -EAGAIN beyond that (sync never does). Queued requests go to the kernel on the
 *     next blk_engine_kick, or earlier when the engine reaps completions.
 *   - blk_engine_drain and blk_engine_close wait for everything in flight and call
 *     `done` for each before they return.
 */
#ifndef EMBER_BLK_ENGINE_H
#define EMBER_BLK_ENGINE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "../lib/error.h"
#include "../lib/event_loop.h"

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD, BLK_OP_WRITE_ZEROES };

struct blk_req {
	enum blk_op op;
	uint64_t offset;          /* bytes; READ, WRITE, DISCARD, WRITE_ZEROES */
	const struct iovec *iov;  /* READ, WRITE */
	unsigned iovcnt;
	uint64_t len;             /* bytes; DISCARD, WRITE_ZEROES */
	bool unmap;               /* WRITE_ZEROES may deallocate */
	void *cookie;             /* handed back to done */
};

/* result: bytes transferred (READ, WRITE), 0 (others), or -errno. */
typedef void (*blk_complete_fn)(void *ctx, void *cookie, int64_t result);

struct blk_engine;

/* What each engine file fills in; blk_engine_* below only dispatch. */
struct blk_engine_ops {
	const char *name; /* the engine= value */
	int (*open)(struct blk_engine **out, int fd, struct event_loop *loop, unsigned depth,
		    blk_complete_fn done, void *ctx, struct errbuf *e);
	int (*submit)(struct blk_engine *eng, const struct blk_req *r);
	void (*kick)(struct blk_engine *eng);
	void (*drain)(struct blk_engine *eng);
	void (*close)(struct blk_engine *eng);
};

/* The part every engine starts with. */
struct blk_engine {
	const struct blk_engine_ops *ops;
	int fd;
	blk_complete_fn done;
	void *ctx;
	unsigned inflight; /* submitted (queued or in the kernel), `done` not yet called */
	/*
	 * Set by the owner when it also calls in from another thread under this lock
	 * (virtio-blk: a vCPU's reset drains): the event-thread handler takes it around
	 * reaping, so two threads never reap the same completion.
	 */
	pthread_mutex_t *lock;
};

extern const struct blk_engine_ops blk_engine_sync_ops;
extern const struct blk_engine_ops blk_engine_uring_ops;

/* musl's fcntl.h has only KEEP_SIZE and PUNCH_HOLE; the value is the kernel's ABI. */
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

/* For the engines: the fallocate mode of a DISCARD or WRITE_ZEROES. */
static inline int blk_engine_falloc_mode(const struct blk_req *r)
{
	if (r->op == BLK_OP_DISCARD || r->unmap)
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

/* For the engines: moves (*idx, *skip) n bytes further through iov, past empty segments. */
static inline void blk_iov_advance(const struct iovec *iov, unsigned cnt, unsigned *idx,
				   size_t *skip, size_t n)
{
	while (*idx < cnt && n >= iov[*idx].iov_len - *skip) {
		n -= iov[*idx].iov_len - *skip;
		(*idx)++;
		*skip = 0;
	}
	*skip += n;
}

/*
 * kind: "sync" or "async". fd stays the caller's (not closed by the engine). loop is
 * needed by async only; depth must be >= 1. Async fails with one line naming io_uring
 * and the errno when the kernel refuses a ring.
 */
static inline int blk_engine_open(struct blk_engine **out, const char *kind, int fd,
				  struct event_loop *loop, unsigned depth, blk_complete_fn done,
				  void *ctx, struct errbuf *e)
{
	const struct blk_engine_ops *ops = strcmp(kind, "sync") == 0  ? &blk_engine_sync_ops :
					   strcmp(kind, "async") == 0 ? &blk_engine_uring_ops :
									NULL;
	if (!ops)
		return errf(e, "block engine '%s': must be sync or async", kind);
	if (depth == 0)
		return errf(e, "block engine %s: queue depth must be >= 1", kind);
	return ops->open(out, fd, loop, depth, done, ctx, e);
}

/* 0: taken (sync: already completed through done); -EAGAIN: full, retry after a completion. */
static inline int blk_engine_submit(struct blk_engine *eng, const struct blk_req *r)
{
	return eng->ops->submit(eng, r);
}

/* Hands what was queued to the kernel, one system call per batch. */
static inline void blk_engine_kick(struct blk_engine *eng)
{
	eng->ops->kick(eng);
}

static inline unsigned blk_engine_inflight(const struct blk_engine *eng)
{
	return eng->inflight;
}

/* Waits until nothing is in flight (device reset), calling done for each request. */
static inline void blk_engine_drain(struct blk_engine *eng)
{
	eng->ops->drain(eng);
}

/* Drains, then frees the engine; NULL is fine. */
static inline void blk_engine_close(struct blk_engine *eng)
{
	if (eng)
		eng->ops->close(eng);
}

#endif
