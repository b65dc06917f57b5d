#include "event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"

int event_loop_init(struct event_loop *loop, struct errbuf *e)
{
	loop->stop = false;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return errf(e, "epoll_create1: %s", strerror(errno));
	return 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int event_loop_del(struct event_loop *loop, int fd)
{
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[16];
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct event_handler *h = evs[i].data.ptr;
			h->fn(h->opaque, evs[i].events);
		}
	}
}
