/*
 * Block I/O engines: how virtio-blk turns a request into I/O on the backing fd (a
 * regular file or a block device), chosen per drive with engine=sync|async.
 *
 *   sync   (blk_engine_sync.c)  preadv/pwritev/fdatasync/fallocate on the calling
 *          thread: blk_engine_submit does the I/O and files the result before it returns.
 *   async  (blk_engine_uring.c) io_uring: submit prepares an SQE, blk_engine_kick
 *          submits the batch with one io_uring_submit, and the kernel signals finished
 *          requests on the engine's eventfd (event_fd), which the owner watches.
 *
 * An engine never calls its owner. A finished request waits in the engine's done list
 * until the owner takes it with blk_engine_reap, from whatever thread and under whatever
 * lock it makes its other calls; so submitting, reaping and waiting never nest.
 *
 * Results: READ and WRITE give the bytes transferred, the others 0, or -errno. A read
 * that meets the end of the file returns what it read (possibly 0): the caller decides
 * what a short read means. A short transfer before that point is continued until the
 * request is whole (sync: at once; async: the remainder is resubmitted), so a short WRITE
 * only ever ends in an error. -EOPNOTSUPP from a file system or device that cannot
 * discard or zero a range is passed up as it is. Ranges beyond INT64_MAX, more than
 * IOV_MAX iovecs or iovec lengths that overflow end in -EINVAL without reaching the
 * kernel (io_uring would take offset -1 as "the file position"); a DISCARD or
 * WRITE_ZEROES of length 0 gets the kernel's -EINVAL.
 *
 * Operations:
 *   READ, WRITE       iov/iovcnt at offset; iovcnt at most IOV_MAX
 *   FLUSH             fdatasync (IORING_FSYNC_DATASYNC)
 *   DISCARD           fallocate(PUNCH_HOLE | KEEP_SIZE) of [offset, offset + len)
 *   WRITE_ZEROES      fallocate(ZERO_RANGE | KEEP_SIZE), or (PUNCH_HOLE | KEEP_SIZE) when
 *                     `unmap`; KEEP_SIZE always, as block devices require it
 *
 * Rules for the caller:
 *   - Calls for one engine are serialised by the caller.
 *   - The iovecs and the memory they point to stay valid until the request is reaped.
 *   - At most `depth` requests are submitted and not yet reaped; blk_engine_submit
 *     returns -EAGAIN beyond that (sync too: its done list holds depth). Submitted
 *     requests go to the kernel on the next blk_engine_kick.
 *   - blk_engine_settle waits until every submitted request has finished; their
 *     results stay in the done list. blk_engine_close settles and drops what is there.
 */
#ifndef EMBER_BLK_ENGINE_H
#define EMBER_BLK_ENGINE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../lib/error.h"

enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_DISCARD, BLK_OP_WRITE_ZEROES };

struct blk_req {
	enum blk_op op;
	uint64_t offset;          /* bytes; READ, WRITE, DISCARD, WRITE_ZEROES */
	const struct iovec *iov;  /* READ, WRITE */
	unsigned iovcnt;
	uint64_t len;             /* bytes; DISCARD, WRITE_ZEROES */
	bool unmap;               /* WRITE_ZEROES may deallocate */
	void *cookie;             /* handed back with the result */
};

/* A finished request, as blk_engine_reap hands it back. */
struct blk_done {
	void *cookie;
	int64_t result; /* bytes transferred (READ, WRITE), 0 (others), or -errno */
};

struct blk_engine;

/* What each engine file fills in; blk_engine.c keeps the common part. */
struct blk_engine_ops {
	const char *name; /* the engine= value */
	int (*open)(struct blk_engine **out, int fd, unsigned depth, struct errbuf *e);
	/* Takes r (there is room); a result goes to the done list now or later. */
	int (*submit)(struct blk_engine *eng, const struct blk_req *r);
	void (*kick)(struct blk_engine *eng);
	/* Moves what the kernel finished to the done list; never blocks. */
	void (*collect)(struct blk_engine *eng);
	/* Blocks until everything submitted is in the done list. */
	void (*settle)(struct blk_engine *eng);
	void (*close)(struct blk_engine *eng);
};

/* The part every engine starts with. */
struct blk_engine {
	const struct blk_engine_ops *ops;
	int fd;
	int event_fd;      /* readable when requests finished (async); -1: they finish in submit */
	unsigned depth;
	unsigned inflight; /* submitted and not yet reaped, finished or not */
	/* Finished, not yet reaped, oldest first: a ring of depth entries (inflight <= depth). */
	struct blk_done *done;
	unsigned done_head, ndone;
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

/* For the engines: sets up the common part (done list included); -1 when out of memory. */
int blk_engine_init(struct blk_engine *eng, const struct blk_engine_ops *ops, int fd,
		    unsigned depth);
/* For the engines: frees what blk_engine_init allocated. */
void blk_engine_fini(struct blk_engine *eng);
/* For the engines: the request of cookie finished with result; the owner reaps it. */
void blk_engine_finish(struct blk_engine *eng, void *cookie, int64_t result);

/*
 * kind: "sync" or "async". fd stays the caller's (not closed by the engine); depth must
 * be >= 1. Async fails with one line naming io_uring and the errno when the kernel
 * refuses a ring.
 */
int blk_engine_open(struct blk_engine **out, const char *kind, int fd, unsigned depth,
		    struct errbuf *e);
/* 0: taken; -EAGAIN: depth requests are not reaped yet, reap first. */
int blk_engine_submit(struct blk_engine *eng, const struct blk_req *r);
/* Hands what was submitted to the kernel, one system call per batch. */
void blk_engine_kick(struct blk_engine *eng);
/* Takes the oldest finished request into *d; false when none has finished. Never blocks. */
bool blk_engine_reap(struct blk_engine *eng, struct blk_done *d);
/* A finished request waits to be reaped (reaping would make room). */
bool blk_engine_has_done(struct blk_engine *eng);
/* After event_fd was readable: empties it, so that it wakes the owner again next time. */
void blk_engine_clear_event(struct blk_engine *eng);
/* Waits until everything submitted has finished (a reset, a drive swap); reap after. */
void blk_engine_settle(struct blk_engine *eng);
/* Settles, drops what was not reaped, frees the engine; NULL is fine. */
void blk_engine_close(struct blk_engine *eng);

static inline unsigned blk_engine_inflight(const struct blk_engine *eng)
{
	return eng->inflight;
}

#endif
