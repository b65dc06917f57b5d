/*
 * The synchronous engine: each request is done with plain system calls on the calling
 * thread and filed in the done list before blk_engine_submit returns. Nothing is ever
 * in the kernel between calls, so there is nothing to collect or wait for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "blk_engine.h"

/*
 * One system call from (idx, skip) on: the vector call while at a segment boundary,
 * else the rest of the current segment alone (only after a short transfer).
 */
static ssize_t rw_once(int fd, bool write, const struct iovec *iov, unsigned cnt,
		       unsigned idx, size_t skip, off_t at)
{
	if (skip == 0)
		return write ? pwritev(fd, iov + idx, (int)(cnt - idx), at) :
			       preadv(fd, iov + idx, (int)(cnt - idx), at);
	char *base = (char *)iov[idx].iov_base + skip;
	size_t len = iov[idx].iov_len - skip;
	return write ? pwrite(fd, base, len, at) : pread(fd, base, len, at);
}

/* Bytes transferred, a short count only for a read that reached the end of file. */
static int64_t sync_rw(int fd, bool write, const struct blk_req *r)
{
	if (r->iovcnt > IOV_MAX)
		return -EINVAL;
	uint64_t total = 0;
	for (unsigned i = 0; i < r->iovcnt; i++)
		if (__builtin_add_overflow(total, r->iov[i].iov_len, &total))
			return -EINVAL;
	uint64_t end;
	if (__builtin_add_overflow(r->offset, total, &end) || end > INT64_MAX)
		return -EINVAL;

	uint64_t done = 0;
	unsigned idx = 0;
	size_t skip = 0;
	while (done < total) {
		ssize_t n = rw_once(fd, write, r->iov, r->iovcnt, idx, skip,
				    (off_t)(r->offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return write ? -EIO : (int64_t)done; /* a write of 0 would loop forever */
		done += (uint64_t)n;
		blk_iov_advance(r->iov, r->iovcnt, &idx, &skip, (size_t)n);
	}
	return (int64_t)done;
}

static int64_t sync_fallocate(int fd, const struct blk_req *r)
{
	if (r->offset > INT64_MAX || r->len > INT64_MAX)
		return -EINVAL;
	if (fallocate(fd, blk_engine_falloc_mode(r), (off_t)r->offset, (off_t)r->len) < 0)
		return -errno;
	return 0;
}

static int64_t sync_do(int fd, const struct blk_req *r)
{
	switch (r->op) {
	case BLK_OP_READ:
		return sync_rw(fd, false, r);
	case BLK_OP_WRITE:
		return sync_rw(fd, true, r);
	case BLK_OP_FLUSH:
		return fdatasync(fd) < 0 ? -errno : 0;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		return sync_fallocate(fd, r);
	}
	return -EINVAL;
}

static int sync_submit(struct blk_engine *eng, const struct blk_req *r)
{
	blk_engine_finish(eng, r->cookie, sync_do(eng->fd, r));
	return 0;
}

static void sync_nothing(struct blk_engine *eng)
{
	(void)eng;
}

static void sync_close(struct blk_engine *eng)
{
	blk_engine_fini(eng);
	free(eng);
}

static int sync_open(struct blk_engine **out, int fd, unsigned depth, struct errbuf *e)
{
	/* No state beyond the common part. */
	struct blk_engine *eng = malloc(sizeof(*eng));
	if (!eng || blk_engine_init(eng, &blk_engine_sync_ops, fd, depth) < 0) {
		free(eng);
		return errf(e, "block engine sync: out of memory");
	}
	*out = eng;
	return 0;
}

const struct blk_engine_ops blk_engine_sync_ops = {
	.name = "sync",
	.open = sync_open,
	.submit = sync_submit,
	.kick = sync_nothing,
	.collect = sync_nothing,
	.settle = sync_nothing,
	.close = sync_close,
};
