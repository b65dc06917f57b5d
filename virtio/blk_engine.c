/*
 * What both block engines share: opening by name, the bound on requests not yet reaped,
 * and the done list where a finished request waits for its owner (see blk_engine.h).
 */
#include "blk_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"

int blk_engine_init(struct blk_engine *eng, const struct blk_engine_ops *ops, int fd,
		    unsigned depth)
{
	*eng = (struct blk_engine){ .ops = ops, .fd = fd, .event_fd = -1, .depth = depth };
	eng->done = calloc(depth, sizeof(*eng->done));
	return eng->done ? 0 : -1;
}

void blk_engine_fini(struct blk_engine *eng)
{
	free(eng->done);
	eng->done = NULL;
}

void blk_engine_finish(struct blk_engine *eng, void *cookie, int64_t result)
{
	/* ndone <= inflight <= depth, and this request is counted in inflight: there is room. */
	eng->done[(eng->done_head + eng->ndone) % eng->depth] = (struct blk_done){ cookie, result };
	eng->ndone++;
}

int blk_engine_open(struct blk_engine **out, const char *kind, int fd, unsigned depth,
		    struct errbuf *e)
{
	const struct blk_engine_ops *ops = strcmp(kind, "sync") == 0  ? &blk_engine_sync_ops :
					   strcmp(kind, "async") == 0 ? &blk_engine_uring_ops :
									NULL;
	if (!ops)
		return errf(e, "block engine '%s': must be sync or async", kind);
	if (depth == 0)
		return errf(e, "block engine %s: queue depth must be >= 1", kind);
	return ops->open(out, fd, depth, e);
}

int blk_engine_submit(struct blk_engine *eng, const struct blk_req *r)
{
	if (eng->inflight == eng->depth)
		return -EAGAIN;
	eng->inflight++; /* before submit: sync finishes the request inside it */
	int err = eng->ops->submit(eng, r);
	if (err < 0)
		eng->inflight--;
	return err;
}

void blk_engine_kick(struct blk_engine *eng)
{
	eng->ops->kick(eng);
}

bool blk_engine_has_done(struct blk_engine *eng)
{
	if (eng->ndone == 0)
		eng->ops->collect(eng);
	return eng->ndone > 0;
}

bool blk_engine_reap(struct blk_engine *eng, struct blk_done *d)
{
	if (!blk_engine_has_done(eng))
		return false;
	*d = eng->done[eng->done_head];
	eng->done_head = (eng->done_head + 1) % eng->depth;
	eng->ndone--;
	eng->inflight--;
	return true;
}

void blk_engine_clear_event(struct blk_engine *eng)
{
	uint64_t count;
	if (eng->event_fd >= 0 && read(eng->event_fd, &count, sizeof(count)) < 0 &&
	    errno != EAGAIN)
		log_once(LOG_ERROR, "block engine %s: read eventfd: %s", eng->ops->name,
			 strerror(errno));
}

void blk_engine_settle(struct blk_engine *eng)
{
	eng->ops->settle(eng);
}

void blk_engine_close(struct blk_engine *eng)
{
	if (eng)
		eng->ops->close(eng);
}
