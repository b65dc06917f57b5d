/*
 * The API thread: a listening Unix socket, its connections and one epoll over them.
 *
 * Requests reach the VMM thread through a single slot (mutex) and an eventfd, one at a
 * time: a connection with a complete request joins a FIFO queue, the head of the queue
 * goes into the slot, and the next one waits for that answer. A connection is not parsed
 * further while its request is queued or in the slot, which is what keeps pipelined
 * requests in order and lets the parser's buffers hold the request the VMM thread reads.
 *
 * Everything is non-blocking and level-triggered; each connection's epoll interest is
 * recomputed after every change (api_conn_sync), so a connection that may not read (its
 * input buffer is full, it waits for the VMM thread) is simply not woken for input.
 */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../jail/seccomp.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "http.h"

/* A connection's next pipelined request is not parsed while more than this of its
 * output is unsent: a client that pipelines requests but reads slowly holds at most
 * this much (plus one answer and the input buffer) instead of growing memory. */
#define API_OUT_HIGH (64 * 1024)
/* Bytes read ahead of the parser per connection. */
#define API_IN_SIZE (16 * 1024)
/* After accept() fails for lack of descriptors or memory, it is retried this much later. */
#define API_ACCEPT_RETRY_NS (100 * 1000000ULL)
#define API_MS_NS 1000000ULL

enum api_src { API_SRC_LISTEN, API_SRC_ANSWER, API_SRC_STOP, API_SRC_CONN };

struct api_conn {
	enum api_src src; /* first member: epoll's data.ptr points here */
	struct api_server *srv;
	int fd;           /* -1 once closed */
	uint32_t events;  /* the epoll interest set now */
	struct http_conn http;
	struct http_buf out;
	size_t in_off, in_len; /* in[in_off, in_len) was read and is not parsed yet */
	uint64_t active_ns;    /* last byte received or answer queued: stall timer, idleness */
	uint64_t out_ns;       /* last progress writing out (or when it became non-empty) */
	bool rd_eof;           /* the client shut its writing side */
	bool closing;          /* close once out is written */
	bool queued;           /* its request waits in the queue for the VMM thread */
	bool in_flight;        /* the VMM thread has its request now */
	bool logged;           /* at most one log line per bad connection */
	struct api_conn *prev, *next; /* open connections; next also links the graveyard */
	struct api_conn *qnext;
	char in[API_IN_SIZE];
};

enum api_slot { API_SLOT_EMPTY, API_SLOT_WAITING, API_SLOT_SERVING, API_SLOT_ANSWERED };

struct api_server {
	struct api_server_limits lim;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;   /* path is ours to unlink */
	int listen_fd;
	int epfd;
	int req_fd;   /* eventfd: a request waits for the VMM thread (api_server_fd) */
	int resp_fd;  /* eventfd: the VMM thread answered */
	int stop_fd;  /* eventfd: api_server_stop() */
	enum api_src src_listen, src_answer, src_stop;
	pthread_t thread;
	bool thread_started;
	sem_t locked;            /* the API thread has installed its seccomp filter (or not) */
	struct errbuf lock_error; /* why not */

	/* The API thread's own. */
	bool stopping;
	bool accepting;           /* the listening socket is in the epoll interest */
	uint64_t accept_retry_ns; /* nonzero: accept() failed, try again at this time */
	unsigned nconns;
	struct api_conn *conns;
	struct api_conn *q_head, *q_tail;
	struct api_conn *in_flight; /* whose request the VMM thread has; kept until answered */
	struct api_conn *graveyard; /* closed during this epoll batch, freed after it */

	/* Shared with the VMM thread. */
	pthread_mutex_t lock;
	enum api_slot slot;
	struct api_request req;
	struct api_response resp;
};

void api_server_default_limits(struct api_server_limits *l)
{
	*l = (struct api_server_limits){
		.max_body = 51200, .max_header = 8192, .max_conns = 128, .stall_ms = 5000,
	};
}

/* ---- connections ---- */

__attribute__((format(printf, 2, 3)))
static void api_conn_log(struct api_conn *c, const char *fmt, ...)
{
	if (c->logged || !log_enabled(LOG_DEBUG))
		return;
	c->logged = true;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("api connection %d: %s", c->fd, msg);
}

static void api_conn_free(struct api_conn *c)
{
	http_conn_destroy(&c->http);
	http_buf_free(&c->out);
	free(c);
}

static void api_server_listen(struct api_server *s, bool on)
{
	if (s->accepting == on)
		return;
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &s->src_listen };
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
		s->accepting = on;
}

static void api_server_unqueue(struct api_server *s, struct api_conn *c)
{
	struct api_conn **pp = &s->q_head, *prev = NULL;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = c->qnext;
	if (s->q_tail == c)
		s->q_tail = prev;
	c->qnext = NULL;
	c->queued = false;
}

/* Closes the socket now; the memory goes when nothing can refer to it any more: after
 * this epoll batch, or after the VMM thread's answer if it holds the request. */
static void api_conn_close(struct api_conn *c)
{
	struct api_server *s = c->srv;
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (c->queued)
		api_server_unqueue(s, c);
	if (!c->in_flight) {
		c->next = s->graveyard;
		s->graveyard = c;
	}
	if (!s->accepting && !s->accept_retry_ns)
		api_server_listen(s, true);
}

static void api_server_bury(struct api_server *s)
{
	while (s->graveyard) {
		struct api_conn *c = s->graveyard;
		s->graveyard = c->next;
		api_conn_free(c);
	}
}

static void api_conn_open(struct api_server *s, int fd)
{
	struct api_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		log_once(LOG_WARN, "api: out of memory for a connection");
		close(fd);
		return;
	}
	c->src = API_SRC_CONN;
	c->srv = s;
	c->fd = fd;
	c->events = EPOLLIN;
	http_conn_init(&c->http, s->lim.max_body, s->lim.max_header);
	c->active_ns = monotonic_ns();
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_once(LOG_WARN, "api: epoll_ctl: %s", strerror(errno));
		close(fd);
		api_conn_free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
}

/* Writes what it can of out; false when the connection closed. */
static bool api_conn_flush(struct api_conn *c)
{
	while (http_buf_pending(&c->out)) {
		ssize_t n = send(c->fd, c->out.data + c->out.sent, http_buf_pending(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			http_buf_consume(&c->out, (size_t)n);
			c->out_ns = monotonic_ns();
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			api_conn_log(c, "send: %s", n < 0 ? strerror(errno) : "no progress");
			api_conn_close(c);
			return false;
		}
	}
	return true;
}

/* Reads once into the free part of in[]; level-triggered epoll calls again. */
static void api_conn_read(struct api_conn *c)
{
	if (c->rd_eof || c->closing)
		return;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == sizeof(c->in))
		return;
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n > 0) {
		c->in_len += (size_t)n;
		c->active_ns = monotonic_ns();
	} else if (n == 0) {
		c->rd_eof = true;
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		api_conn_log(c, "recv: %s", strerror(errno));
		api_conn_close(c);
	}
}

/* Output is about to be added: the write-stall timer counts from now if it was empty. */
static void api_conn_out_begin(struct api_conn *c)
{
	if (!http_buf_pending(&c->out))
		c->out_ns = monotonic_ns();
}

/* Answers 400 without asking the VMM thread; the connection closes after it (after the
 * rest of a refused body when draining). */
static void api_conn_reject(struct api_conn *c, const char *why)
{
	api_conn_log(c, "400: %s", why);
	api_conn_out_begin(c);
	if (!http_conn_draining(&c->http))
		c->closing = true;
	if (http_format_fault(&c->out, why, true) < 0)
		api_conn_close(c);
}

static void api_server_enqueue(struct api_server *s, struct api_conn *c)
{
	c->queued = true;
	c->qnext = NULL;
	if (s->q_tail)
		s->q_tail->qnext = c;
	else
		s->q_head = c;
	s->q_tail = c;
}

/* Acts on what the parser found; true to keep parsing. */
static bool api_conn_on_http(struct api_conn *c, enum http_event ev)
{
	switch (ev) {
	case HTTP_EV_NEED_MORE:
		/* Headers are in and the client waits before sending its body. */
		if (http_conn_take_continue(&c->http)) {
			api_conn_out_begin(c);
			if (http_format_continue(&c->out) < 0)
				api_conn_close(c);
		}
		return false;
	case HTTP_EV_REQUEST:
		api_server_enqueue(c->srv, c);
		return false;
	case HTTP_EV_REJECT:
		api_conn_reject(c, http_conn_fault(&c->http));
		return c->fd >= 0;
	case HTTP_EV_CLOSE:
		c->closing = true;
		return false;
	}
	return false;
}

static bool api_conn_may_parse(const struct api_conn *c)
{
	return c->fd >= 0 && !c->queued && !c->in_flight && !c->closing &&
	       c->in_off < c->in_len && http_buf_pending(&c->out) <= API_OUT_HIGH;
}

/* The client sent its last byte: finish what was complete, give up what was not. */
static void api_conn_check_eof(struct api_conn *c)
{
	if (!c->rd_eof || c->queued || c->in_flight || c->closing || c->in_off < c->in_len)
		return;
	if (http_conn_partial(&c->http)) {
		api_conn_log(c, "client closed mid-request");
		api_conn_close(c);
		return;
	}
	c->closing = true;
}

/* Writes pending output, closes a finished connection, or sets its epoll interest. */
static void api_conn_sync(struct api_conn *c)
{
	if (!api_conn_flush(c))
		return;
	bool pending = http_buf_pending(&c->out) > 0;
	if (c->closing && !pending && !c->in_flight && !c->queued) {
		api_conn_close(c);
		return;
	}
	uint32_t want = 0;
	bool in_full = c->in_off == 0 && c->in_len == sizeof(c->in);
	if (!c->closing && !c->rd_eof && !in_full)
		want |= EPOLLIN;
	if (pending)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Parses as far as allowed, then syncs the socket with the new state. */
static void api_conn_advance(struct api_conn *c)
{
	while (api_conn_may_parse(c)) {
		size_t used;
		enum http_event ev = http_conn_feed(&c->http, c->in + c->in_off,
						    c->in_len - c->in_off, &used);
		c->in_off += used;
		if (!api_conn_on_http(c, ev))
			break;
	}
	if (c->fd >= 0)
		api_conn_check_eof(c);
	if (c->fd >= 0)
		api_conn_sync(c);
}

/* Nothing in progress: no request bytes, none waiting, no answer unsent. */
static bool api_conn_idle(const struct api_conn *c)
{
	return !http_conn_partial(&c->http) && c->in_off == c->in_len && !c->queued &&
	       !c->in_flight && !c->closing && !http_buf_pending(&c->out);
}

static void api_conn_on_event(struct api_conn *c, uint32_t events)
{
	if (c->fd < 0)
		return; /* closed earlier in this batch */
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Both directions are gone: nobody is left to read an answer. Only worth a
		 * line when it cut something short. */
		if (!api_conn_idle(c))
			api_conn_log(c, "client hung up mid-request");
		api_conn_close(c);
		return;
	}
	if ((events & EPOLLOUT) && !api_conn_flush(c))
		return;
	if (events & EPOLLIN)
		api_conn_read(c);
	if (c->fd >= 0)
		api_conn_advance(c);
}

static void api_conn_answer(struct api_conn *c, struct api_response *resp)
{
	bool keep = http_conn_keep_alive(&c->http);
	api_conn_out_begin(c);
	int r = http_format_response(&c->out, resp->status, resp->body, !keep, resp->deprecated);
	free(resp->body);
	resp->body = NULL;
	http_conn_next(&c->http);
	c->closing |= !keep;
	/* The stall timer of a request that arrived behind this one starts now, not while
	 * the VMM thread was busy. */
	c->active_ns = monotonic_ns();
	if (r < 0) {
		api_conn_log(c, "out of memory for an answer");
		api_conn_close(c);
		return;
	}
	api_conn_advance(c);
}

/* ---- the hand-off to the VMM thread ---- */

static void api_server_dispatch(struct api_server *s)
{
	if (s->in_flight || !s->q_head)
		return;
	struct api_conn *c = s->q_head;
	s->q_head = c->qnext;
	if (!s->q_head)
		s->q_tail = NULL;
	c->qnext = NULL;
	c->queued = false;
	c->in_flight = true;
	s->in_flight = c;
	struct api_request req;
	http_conn_request(&c->http, &req);
	pthread_mutex_lock(&s->lock);
	s->req = req;
	s->slot = API_SLOT_WAITING;
	pthread_mutex_unlock(&s->lock);
	if (eventfd_write(s->req_fd, 1) < 0)
		log_once(LOG_ERROR, "api: eventfd_write: %s", strerror(errno));
}

static void api_server_take_answer(struct api_server *s)
{
	eventfd_t v;
	(void)eventfd_read(s->resp_fd, &v); /* EAGAIN: nothing to clear */
	pthread_mutex_lock(&s->lock);
	bool answered = s->slot == API_SLOT_ANSWERED;
	struct api_response resp = s->resp;
	if (answered)
		s->slot = API_SLOT_EMPTY;
	pthread_mutex_unlock(&s->lock);
	if (!answered || !s->in_flight)
		return;
	struct api_conn *c = s->in_flight;
	s->in_flight = NULL;
	c->in_flight = false;
	if (c->fd < 0) {
		/* The client left while the VMM thread worked on its request. */
		free(resp.body);
		api_conn_free(c);
		return;
	}
	api_conn_answer(c, &resp);
}

int api_server_fd(const struct api_server *s)
{
	return s->req_fd;
}

void api_server_serve(struct api_server *s, api_handler_fn fn, void *ctx)
{
	eventfd_t v;
	(void)eventfd_read(s->req_fd, &v); /* cleared first: a later request sets it again */
	pthread_mutex_lock(&s->lock);
	bool waiting = s->slot == API_SLOT_WAITING;
	struct api_request req = s->req;
	if (waiting)
		s->slot = API_SLOT_SERVING;
	pthread_mutex_unlock(&s->lock);
	if (!waiting)
		return;
	struct api_response resp = { .status = 500, .body = NULL };
	fn(ctx, &req, &resp);
	pthread_mutex_lock(&s->lock);
	s->resp = resp;
	s->slot = API_SLOT_ANSWERED;
	pthread_mutex_unlock(&s->lock);
	if (eventfd_write(s->resp_fd, 1) < 0)
		log_once(LOG_ERROR, "api: eventfd_write: %s", strerror(errno));
}

/* ---- accepting, limits, timers ---- */

/* At max_conns, the longest-idle connection with nothing in progress, if any. */
static struct api_conn *api_server_evictable(const struct api_server *s)
{
	struct api_conn *old = NULL;
	for (struct api_conn *c = s->conns; c; c = c->next)
		if (api_conn_idle(c) && (!old || c->active_ns < old->active_ns))
			old = c;
	return old;
}

static void api_server_accept(struct api_server *s)
{
	for (;;) {
		bool full = s->nconns >= s->lim.max_conns;
		if (full && !api_server_evictable(s)) {
			/* Every connection is busy: the next client waits in the backlog until
			 * one closes (api_conn_close resumes accepting). */
			api_server_listen(s, false);
			return;
		}
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/* Evicted only now that a client is known to wait for the room. */
			struct api_conn *old = full ? api_server_evictable(s) : NULL;
			if (old) {
				api_conn_log(old, "closed: %u connections open, this one idle longest",
					     s->nconns);
				api_conn_close(old);
			}
			api_conn_open(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* EMFILE and friends: level-triggered epoll would spin, so pause. */
		log_once(LOG_WARN, "api: accept: %s", strerror(errno));
		s->accept_retry_ns = monotonic_ns() + API_ACCEPT_RETRY_NS;
		api_server_listen(s, false);
		return;
	}
}

/* Waiting for the client's next byte in the middle of a request. */
static bool api_conn_stalling(const struct api_conn *c)
{
	return http_conn_partial(&c->http) && !c->queued && !c->in_flight && !c->closing;
}

/* When this connection's stall timer fires (UINT64_MAX: never). An idle keep-alive
 * connection has none: clients reuse those and must not race a server-side close. */
static uint64_t api_conn_deadline(const struct api_conn *c)
{
	uint64_t stall = c->srv->lim.stall_ms * API_MS_NS, d = UINT64_MAX;
	if (api_conn_stalling(c))
		d = c->active_ns + stall;
	if (http_buf_pending(&c->out) && c->out_ns + stall < d)
		d = c->out_ns + stall;
	return d;
}

static void api_conn_timeout(struct api_conn *c, uint64_t now)
{
	uint64_t stall = c->srv->lim.stall_ms * API_MS_NS;
	if (http_buf_pending(&c->out) && now >= c->out_ns + stall) {
		api_conn_log(c, "closed: the client reads no answer");
		api_conn_close(c);
	} else if (http_conn_draining(&c->http)) {
		api_conn_log(c, "closed: the refused body stopped arriving");
		api_conn_close(c); /* its 400 went out already */
	} else {
		api_conn_reject(c, "Request timed out");
		if (c->fd >= 0)
			api_conn_sync(c);
	}
}

static void api_server_check_timers(struct api_server *s)
{
	uint64_t now = monotonic_ns();
	for (struct api_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (now >= api_conn_deadline(c))
			api_conn_timeout(c, now);
	}
	if (s->accept_retry_ns && now >= s->accept_retry_ns) {
		s->accept_retry_ns = 0;
		api_server_listen(s, true);
	}
}

/* epoll_wait's timeout: until the nearest timer, -1 for none. */
static int api_server_timeout_ms(const struct api_server *s)
{
	uint64_t d = s->accept_retry_ns ? s->accept_retry_ns : UINT64_MAX;
	for (const struct api_conn *c = s->conns; c; c = c->next) {
		uint64_t cd = api_conn_deadline(c);
		if (cd < d)
			d = cd;
	}
	if (d == UINT64_MAX)
		return -1;
	uint64_t now = monotonic_ns();
	if (d <= now)
		return 0;
	uint64_t ms = (d - now + API_MS_NS - 1) / API_MS_NS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- the thread ---- */

static void api_server_on_event(struct api_server *s, void *ptr, uint32_t events)
{
	enum api_src *src = ptr;
	switch (*src) {
	case API_SRC_LISTEN:
		api_server_accept(s);
		break;
	case API_SRC_ANSWER:
		api_server_take_answer(s);
		break;
	case API_SRC_STOP:
		s->stopping = true;
		break;
	case API_SRC_CONN:
		api_conn_on_event((struct api_conn *)ptr, events);
		break;
	}
}

static void api_server_close_all(struct api_server *s)
{
	while (s->conns)
		api_conn_close(s->conns);
	s->q_head = s->q_tail = NULL;
	api_server_bury(s);
	if (s->in_flight)
		api_conn_free(s->in_flight);
	s->in_flight = NULL;
}

static void *api_server_thread(void *arg)
{
	struct api_server *s = arg;
	log_set_thread("api");
	pthread_setname_np(pthread_self(), "api");
	/* Filtered before the first request, and api_server_start hears whether it worked. */
	int locked = seccomp_lock_thread(SECCOMP_API, &s->lock_error);
	sem_post(&s->locked);
	if (locked < 0)
		return NULL;
	struct epoll_event evs[32];
	while (!s->stopping) {
		int n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), api_server_timeout_ms(s));
		if (n < 0 && errno != EINTR) {
			log_error("api: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			api_server_on_event(s, evs[i].data.ptr, evs[i].events);
		api_server_check_timers(s);
		api_server_dispatch(s);
		api_server_bury(s);
	}
	api_server_close_all(s);
	return NULL;
}

/* ---- start and stop ---- */

static void api_server_free(struct api_server *s)
{
	int fds[] = { s->listen_fd, s->epfd, s->req_fd, s->resp_fd, s->stop_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->bound)
		unlink(s->path);
	if (s->slot == API_SLOT_ANSWERED)
		free(s->resp.body);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int api_server_bind(struct api_server *s, const char *path, struct errbuf *e)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path))
		return errf(e, "api socket %s: path longer than %zu bytes", path,
			    sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return errf(e, "api socket: %s", strerror(errno));
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* An existing path is refused, not replaced: it may be another VM's socket.
		 * (Spelled out: glibc and musl word EADDRINUSE differently.) */
		if (errno == EADDRINUSE)
			return errf(e, "api socket %s: Address in use", path);
		return errf(e, "api socket %s: %s", path, strerror(errno));
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->bound = true;
	if (listen(s->listen_fd, 128) < 0)
		return errf(e, "api socket %s: listen: %s", path, strerror(errno));
	return 0;
}

static int api_server_watch(struct api_server *s, int fd, enum api_src *src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int api_server_setup(struct api_server *s, struct errbuf *e)
{
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->req_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->resp_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->epfd < 0 || s->req_fd < 0 || s->resp_fd < 0 || s->stop_fd < 0)
		return errf(e, "api: %s", strerror(errno));
	if (api_server_watch(s, s->listen_fd, &s->src_listen) < 0 ||
	    api_server_watch(s, s->resp_fd, &s->src_answer) < 0 ||
	    api_server_watch(s, s->stop_fd, &s->src_stop) < 0)
		return errf(e, "api: epoll_ctl: %s", strerror(errno));
	s->accepting = true;
	return 0;
}

/* The API thread takes no signals: SIGINT/SIGTERM are the VMM's (signalfd), and a vCPU
 * kick is aimed at vCPU threads. */
static int api_server_spawn(struct api_server *s, struct errbuf *e)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	sem_init(&s->locked, 0, 0);
	int err = pthread_create(&s->thread, NULL, api_server_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return errf(e, "api: cannot start the API thread: %s", strerror(err));
	s->thread_started = true;
	while (sem_wait(&s->locked) < 0 && errno == EINTR)
		;
	if (s->lock_error.msg[0])
		return errf(e, "api: %s", s->lock_error.msg);
	return 0;
}

/* A zero limit means the default one. */
static void api_server_set_limits(struct api_server *s, const struct api_server_limits *l)
{
	api_server_default_limits(&s->lim);
	if (!l)
		return;
	if (l->max_body)
		s->lim.max_body = l->max_body;
	if (l->max_header)
		s->lim.max_header = l->max_header;
	if (l->max_conns)
		s->lim.max_conns = l->max_conns;
	if (l->stall_ms)
		s->lim.stall_ms = l->stall_ms;
}

int api_server_start(struct api_server **out, const char *path,
		     const struct api_server_limits *l, struct errbuf *e)
{
	*out = NULL;
	struct api_server *s = calloc(1, sizeof(*s));
	if (!s)
		return errf(e, "api: out of memory");
	s->listen_fd = s->epfd = s->req_fd = s->resp_fd = s->stop_fd = -1;
	s->src_listen = API_SRC_LISTEN;
	s->src_answer = API_SRC_ANSWER;
	s->src_stop = API_SRC_STOP;
	pthread_mutex_init(&s->lock, NULL);
	api_server_set_limits(s, l);
	if (api_server_bind(s, path, e) < 0 || api_server_setup(s, e) < 0 ||
	    api_server_spawn(s, e) < 0) {
		api_server_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		if (eventfd_write(s->stop_fd, 1) < 0)
			log_error("api: eventfd_write: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	api_server_free(s);
}
