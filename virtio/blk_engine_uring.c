/*
 * The asynchronous engine: io_uring through liburing. A request takes one of `depth`
 * slots and an SQE; blk_engine_kick submits what was prepared with one io_uring_submit.
 * The kernel signals CQEs on an eventfd registered with the ring (base.event_fd, which
 * the owner watches); uring_collect turns each CQE into a finished request on the done
 * list, or into the continuation of a short transfer.
 *
 * A short read or write is continued: the rest of the iovec array goes into a copy
 * made for that slot (only then) and is resubmitted at the advanced offset. A read
 * that then returns 0 met the end of the file and completes with what it read.
 */
#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "blk_engine.h"

#define NO_SLOT UINT_MAX

struct uring_slot {
	enum blk_op op;
	uint64_t offset;
	const struct iovec *iov;
	unsigned iovcnt;
	uint64_t total;       /* READ, WRITE: bytes asked for */
	uint64_t done;        /* READ, WRITE: bytes transferred so far */
	struct iovec *rest;   /* what is left after a short transfer; NULL until one */
	int early_error;      /* refused before the kernel saw it: completes through a NOP */
	void *cookie;
	unsigned next_free;
};

struct uring_engine {
	struct blk_engine base;
	struct io_uring ring;
	bool ring_up;
	int efd;
	struct uring_slot *slots;
	unsigned free_head;
};

static struct uring_engine *to_uring(struct blk_engine *eng)
{
	return (struct uring_engine *)eng;
}

/* ---------------------------------------------------------------- slots */

static struct uring_slot *slot_get(struct uring_engine *u)
{
	if (u->free_head == NO_SLOT)
		return NULL;
	struct uring_slot *s = &u->slots[u->free_head];
	u->free_head = s->next_free;
	return s;
}

static void slot_put(struct uring_engine *u, struct uring_slot *s)
{
	free(s->rest);
	s->rest = NULL;
	s->next_free = u->free_head;
	u->free_head = (unsigned)(s - u->slots);
}

static void slot_finish(struct uring_engine *u, struct uring_slot *s, int64_t result)
{
	void *cookie = s->cookie;
	slot_put(u, s);
	blk_engine_finish(&u->base, cookie, result);
}

/* ---------------------------------------------------------------- submission */

/* Prepares the (rest of the) read or write of s at offset + done. */
static int prep_rw(struct uring_engine *u, struct uring_slot *s, struct io_uring_sqe *sqe)
{
	const struct iovec *iov = s->iov;
	unsigned cnt = s->iovcnt;
	if (s->done > 0) {
		if (!s->rest && !(s->rest = malloc(sizeof(*s->rest) * s->iovcnt)))
			return -ENOMEM;
		unsigned idx = 0;
		size_t skip = 0;
		blk_iov_advance(s->iov, s->iovcnt, &idx, &skip, (size_t)s->done);
		cnt = s->iovcnt - idx;
		memcpy(s->rest, s->iov + idx, sizeof(*s->rest) * cnt);
		s->rest[0].iov_base = (char *)s->rest[0].iov_base + skip;
		s->rest[0].iov_len -= skip;
		iov = s->rest;
	}
	if (s->op == BLK_OP_READ)
		io_uring_prep_readv(sqe, u->base.fd, iov, cnt, s->offset + s->done);
	else
		io_uring_prep_writev(sqe, u->base.fd, iov, cnt, s->offset + s->done);
	return 0;
}

/*
 * io_uring takes offset -1 as "the file position", so offsets beyond INT64_MAX must
 * never reach it; they, like sizes that overflow, fail with -EINVAL as sync does.
 */
static int check_rw(const struct blk_req *r, uint64_t *total)
{
	if (r->iovcnt > IOV_MAX)
		return -EINVAL;
	*total = 0;
	for (unsigned i = 0; i < r->iovcnt; i++)
		if (__builtin_add_overflow(*total, r->iov[i].iov_len, total))
			return -EINVAL;
	uint64_t end;
	if (__builtin_add_overflow(r->offset, *total, &end) || end > INT64_MAX)
		return -EINVAL;
	return 0;
}

static void prep_request(struct uring_engine *u, struct uring_slot *s, const struct blk_req *r,
			 struct io_uring_sqe *sqe)
{
	int fd = u->base.fd;
	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		s->early_error = check_rw(r, &s->total);
		if (!s->early_error)
			s->early_error = prep_rw(u, s, sqe);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		if (r->offset > INT64_MAX || r->len > INT64_MAX)
			s->early_error = -EINVAL;
		else
			io_uring_prep_fallocate(sqe, fd, blk_engine_falloc_mode(r), (off_t)r->offset,
						(off_t)r->len);
		break;
	default:
		s->early_error = -EINVAL;
		break;
	}
	if (s->early_error)
		io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, s);
}

static int uring_submit(struct blk_engine *eng, const struct blk_req *r)
{
	struct uring_engine *u = to_uring(eng);
	/* Neither can run out below depth requests (the SQ has >= depth entries); cheap to check. */
	struct uring_slot *s = slot_get(u);
	if (!s)
		return -EAGAIN;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		slot_put(u, s);
		return -EAGAIN;
	}
	*s = (struct uring_slot){
		.op = r->op, .offset = r->offset, .iov = r->iov, .iovcnt = r->iovcnt,
		.cookie = r->cookie, .next_free = NO_SLOT,
	};
	prep_request(u, s, r, sqe);
	return 0;
}

/*
 * Submits everything in the SQ. -EAGAIN/-EBUSY (kernel short of memory, CQ overflow)
 * leave the SQEs there for the next kick or reap; anything else is a bug to report.
 */
static void submit_pending(struct uring_engine *u)
{
	while (io_uring_sq_ready(&u->ring) > 0) {
		int ret = io_uring_submit(&u->ring);
		if (ret == -EINTR)
			continue;
		if (ret < 0 && ret != -EAGAIN && ret != -EBUSY)
			log_once(LOG_ERROR, "block engine async: io_uring_submit: %s", strerror(-ret));
		if (ret <= 0)
			return;
	}
}

static void uring_kick(struct blk_engine *eng)
{
	submit_pending(to_uring(eng));
}

/* ---------------------------------------------------------------- completion */

/* Continues a short read or write, or says how it ends. */
static void complete_rw(struct uring_engine *u, struct uring_slot *s, int res)
{
	if (res == 0) {
		/* A read at the end of the file; a write of nothing would repeat forever. */
		slot_finish(u, s, s->op == BLK_OP_READ ? (int64_t)s->done : -EIO);
		return;
	}
	s->done += (uint64_t)res;
	if (s->done >= s->total) {
		slot_finish(u, s, (int64_t)s->done);
		return;
	}
	/* This slot's own SQE was consumed, so the SQ has room (see uring_submit). */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		slot_finish(u, s, -EIO);
		return;
	}
	int err = prep_rw(u, s, sqe);
	if (err) {
		s->early_error = err;
		io_uring_prep_nop(sqe);
	}
	io_uring_sqe_set_data(sqe, s);
}

static void complete_one(struct uring_engine *u, struct uring_slot *s, int res)
{
	if (s->early_error)
		slot_finish(u, s, s->early_error);
	else if (res < 0)
		slot_finish(u, s, res);
	else if (s->op == BLK_OP_READ || s->op == BLK_OP_WRITE)
		complete_rw(u, s, res);
	else
		slot_finish(u, s, 0);
}

/* Every CQE there is, each marked seen before it is looked at. */
static void uring_collect(struct blk_engine *eng)
{
	struct uring_engine *u = to_uring(eng);
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct uring_slot *s = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		complete_one(u, s, res);
	}
	submit_pending(u); /* continuations of short transfers, and any stragglers */
}

static void uring_settle(struct blk_engine *eng)
{
	struct uring_engine *u = to_uring(eng);
	while (eng->inflight > eng->ndone) {
		submit_pending(u);
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe(&u->ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			log_error("block engine async: waiting for %u requests: %s",
				  eng->inflight - eng->ndone, strerror(-ret));
			return;
		}
		uring_collect(eng);
	}
}

/* ---------------------------------------------------------------- set-up */

static void uring_free(struct uring_engine *u)
{
	if (u->ring_up)
		io_uring_queue_exit(&u->ring);
	if (u->efd >= 0)
		close(u->efd);
	if (u->slots)
		for (unsigned i = 0; i < u->base.depth; i++)
			free(u->slots[i].rest);
	free(u->slots);
	blk_engine_fini(&u->base);
	free(u);
}

static void uring_close(struct blk_engine *eng)
{
	uring_settle(eng); /* the kernel may still write into buffers the owner frees next */
	uring_free(to_uring(eng));
}

/*
 * SUBMIT_ALL (Linux 5.18) keeps one bad SQE from holding back the rest of a batch.
 * R_DISABLED: the ring starts disabled so that ring_restrict can limit it before use.
 */
static int ring_init(struct uring_engine *u, struct errbuf *e)
{
	unsigned depth = u->base.depth;
	int ret = io_uring_queue_init(depth, &u->ring,
				      IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED);
	if (ret == -EINVAL)
		ret = io_uring_queue_init(depth, &u->ring, IORING_SETUP_R_DISABLED);
	if (ret < 0)
		return errf(e, "block engine async: io_uring_queue_init(%u): %s%s", depth,
			    strerror(-ret),
			    ret == -ENOSYS || ret == -EPERM ?
				    " (io_uring disabled or unsupported here; use engine=sync)" :
				    "");
	u->ring_up = true;
	return 0;
}

/*
 * seccomp cannot see what an SQE asks for: an io_uring that took any operation would let
 * a taken-over ember open files or sockets through the ring. So the ring accepts only
 * the operations this engine submits, and no further io_uring_register calls.
 */
static int ring_restrict(struct uring_engine *u, struct errbuf *e)
{
	static const unsigned char ops[] = { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
					     IORING_OP_FALLOCATE, IORING_OP_NOP };
	struct io_uring_restriction res[ARRAY_SIZE(ops)];
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	int ret = io_uring_register_restrictions(&u->ring, res, ARRAY_SIZE(res));
	if (ret == 0)
		ret = io_uring_enable_rings(&u->ring);
	if (ret < 0)
		return errf(e, "block engine async: restricting the ring: %s", strerror(-ret));
	return 0;
}

static int uring_setup(struct uring_engine *u, struct errbuf *e)
{
	unsigned depth = u->base.depth;
	if (ring_init(u, e) < 0)
		return -1;
	u->slots = calloc(depth, sizeof(*u->slots));
	if (!u->slots)
		return errf(e, "block engine async: out of memory for %u requests", depth);
	for (unsigned i = 0; i < depth; i++)
		u->slots[i].next_free = i + 1 < depth ? i + 1 : NO_SLOT;
	u->free_head = 0;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return errf(e, "block engine async: eventfd: %s", strerror(errno));
	int ret = io_uring_register_eventfd(&u->ring, u->efd);
	if (ret < 0)
		return errf(e, "block engine async: io_uring_register_eventfd: %s", strerror(-ret));
	if (ring_restrict(u, e) < 0)
		return -1;
	u->base.event_fd = u->efd;
	return 0;
}

static int uring_open(struct blk_engine **out, int fd, unsigned depth, struct errbuf *e)
{
	struct uring_engine *u = calloc(1, sizeof(*u));
	if (!u || blk_engine_init(&u->base, &blk_engine_uring_ops, fd, depth) < 0) {
		free(u);
		return errf(e, "block engine async: out of memory");
	}
	u->efd = -1;
	if (uring_setup(u, e) < 0) {
		uring_free(u);
		return -1;
	}
	*out = &u->base;
	return 0;
}

const struct blk_engine_ops blk_engine_uring_ops = {
	.name = "async",
	.open = uring_open,
	.submit = uring_submit,
	.kick = uring_kick,
	.collect = uring_collect,
	.settle = uring_settle,
	.close = uring_close,
};
