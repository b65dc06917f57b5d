/*
 * The event thread's loop: epoll over file descriptors, each with a handler. Devices
 * add their fds here (stdin for the serial port now; ioeventfds and TAPs later) so
 * their work runs on this thread and not on vCPU threads.
 */
#ifndef EMBER_EVENT_LOOP_H
#define EMBER_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "error.h"

struct event_handler {
	void (*fn)(void *opaque, uint32_t events);
	void *opaque;
};

struct event_loop {
	int epfd;
	bool stop;
};

int event_loop_init(struct event_loop *loop, struct errbuf *e);
void event_loop_destroy(struct event_loop *loop);
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h);
int event_loop_del(struct event_loop *loop, int fd);
/* Runs handlers until one of them sets loop->stop. */
void event_loop_run(struct event_loop *loop);

#endif
