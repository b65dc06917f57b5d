/*
 * api/server.c over a real Unix socket: a test thread plays the VMM thread (poll on
 * api_server_fd, api_server_serve) and clients are plain sockets, so this is the
 * transport exactly as ember runs it, minus the router. Every test ends by proving the
 * server still answers a fresh client.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../api/server.h"
#include "../../lib/log.h"
#include "helpers.h"

/* ---- the VMM thread ---- */

struct vmm {
	struct api_server *srv;
	pthread_t thread;
	int stop;
	int served;
};

static char dir[64];
static char sock_path[96];
static struct vmm vmm;

/* Echoes what it got; "/slow..." takes 300 ms, "/big..." answers 1000 more bytes,
 * "/nobody" answers 204. */
static void handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct vmm *v = ctx;
	int n = __atomic_add_fetch(&v->served, 1, __ATOMIC_SEQ_CST);
	if (strncmp(req->path, "/slow", 5) == 0)
		usleep(300 * 1000);
	if (strcmp(req->path, "/nobody") == 0) {
		resp->status = 204;
		return;
	}
	int pad = strncmp(req->path, "/big", 4) == 0 ? 1000 : 0;
	int r = asprintf(&resp->body,
			 "{\"n\":%d,\"method\":\"%s\",\"kind\":%d,\"path\":\"%s\",\"len\":%zu,"
			 "\"pad\":\"%*s\"}",
			 n, req->method_name, (int)req->method, req->path, req->body_len, pad, "");
	resp->status = r < 0 ? 500 : 200;
}

static void *vmm_thread(void *arg)
{
	struct vmm *v = arg;
	struct pollfd p = { .fd = api_server_fd(v->srv), .events = POLLIN };
	while (!__atomic_load_n(&v->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&p, 1, 20) > 0)
			api_server_serve(v->srv, handler, v);
	}
	return NULL;
}

static void start_server(const struct api_server_limits *l)
{
	struct errbuf e = { "" };
	if (getenv("API_DEBUG"))
		log_init(2, LOG_DEBUG, "t");
	cr_assert_eq(api_server_start(&vmm.srv, sock_path, l, &e), 0, "api_server_start: %s", e.msg);
	cr_assert_eq(pthread_create(&vmm.thread, NULL, vmm_thread, &vmm), 0);
}

static void start_default(void)
{
	start_server(NULL);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-api-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", dir);
	memset(&vmm, 0, sizeof(vmm));
}

static void teardown(void)
{
	if (vmm.srv) {
		__atomic_store_n(&vmm.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(vmm.thread, NULL);
		api_server_stop(vmm.srv);
		struct stat st;
		cr_assert_neq(stat(sock_path, &st), 0, "api_server_stop unlinks the socket");
	}
	rmdir(dir);
}

/* ---- clients ---- */

struct client {
	int fd;
	size_t len;
	char buf[256 * 1024];
};

struct resp {
	int status;
	bool close;
	size_t body_len;
	char body[4096];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_fd(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
	/* A test that waits for an answer that never comes fails instead of hanging. */
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static struct client *client_new(void)
{
	struct client *cl = calloc(1, sizeof(*cl));
	cr_assert_not_null(cl);
	cl->fd = connect_fd();
	return cl;
}

static void client_free(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl);
}

static bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static void client_send(struct client *cl, const char *s)
{
	cr_assert(send_all(cl->fd, s, strlen(s)), "send: %s", strerror(errno));
}

/* Reads one response (skipping "100 Continue" unless keep_1xx); false on EOF/timeout. */
static bool client_read(struct client *cl, struct resp *r, bool keep_1xx)
{
	for (;;) {
		char *end = memmem(cl->buf, cl->len, "\r\n\r\n", 4);
		if (end) {
			size_t head = (size_t)(end + 4 - cl->buf);
			*end = '\0';
			r->status = 0;
			sscanf(cl->buf, "HTTP/1.1 %d", &r->status);
			const char *cl_hdr = strstr(cl->buf, "Content-Length: ");
			size_t blen = cl_hdr ? strtoul(cl_hdr + 16, NULL, 10) : 0;
			r->close = strstr(cl->buf, "Connection: close") != NULL;
			*end = '\r';
			if (cl->len >= head + blen) {
				cr_assert_lt(blen, sizeof(r->body));
				memcpy(r->body, cl->buf + head, blen);
				r->body[blen] = '\0';
				r->body_len = blen;
				cl->len -= head + blen;
				memmove(cl->buf, cl->buf + head + blen, cl->len);
				if (r->status / 100 == 1 && !keep_1xx)
					continue;
				return true;
			}
		}
		cr_assert_lt(cl->len, sizeof(cl->buf));
		ssize_t n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
		if (n <= 0)
			return false;
		cl->len += (size_t)n;
	}
}

static void client_expect(struct client *cl, int status, const char *needle)
{
	struct resp r;
	cr_assert(client_read(cl, &r, false), "no answer (want %d %s)", status, needle);
	cr_assert_eq(r.status, status, "status %d, want %d: %s", r.status, status, r.body);
	cr_assert(strstr(r.body, needle), "body [%s] lacks [%s]", r.body, needle);
}

/* The server closed this connection: EOF, with nothing more sent. */
static void client_expect_eof(struct client *cl)
{
	char c;
	cr_assert_eq(cl->len, 0, "unread bytes before EOF");
	ssize_t n = recv(cl->fd, &c, 1, 0);
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "want EOF, got %zd (%s)", n,
		  n < 0 ? strerror(errno) : "data");
}

/* A fresh client is answered: the ending of every test. */
static void assert_server_alive(void)
{
	struct client *cl = client_new();
	client_send(cl, "GET /alive HTTP/1.1\r\nHost: localhost\r\n\r\n");
	client_expect(cl, 200, "\"path\":\"/alive\"");
	client_free(cl);
}

TestSuite(api_server, .init = setup, .fini = teardown, .timeout = 60);

/* ---- tests ---- */

Test(api_server, one_request_and_keep_alive)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "PUT /machine-config?q=1 HTTP/1.1\r\nContent-Length: 4\r\n\r\n{\"\"}");
	client_expect(cl, 200, "\"method\":\"PUT\",\"kind\":1,\"path\":\"/machine-config\",\"len\":4");
	client_send(cl, "DELETE /x HTTP/1.1\r\n\r\n");
	client_expect(cl, 200, "\"method\":\"DELETE\",\"kind\":3");
	client_send(cl, "GET /nobody HTTP/1.1\r\n\r\n");
	struct resp r;
	cr_assert(client_read(cl, &r, false));
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.body_len, 0);
	client_free(cl);
	assert_server_alive();
}

Test(api_server, request_split_across_many_writes)
{
	start_default();
	static const char req[] = "PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\n"
				  "Content-Length: 30\r\n\r\n{\"drive_id\":\"rootfs\",\"x\":\"12\"}";
	struct client *cl = client_new();
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		cr_assert(send_all(cl->fd, req + i, 1));
		usleep(500);
	}
	client_expect(cl, 200, "\"path\":\"/drives/rootfs\",\"len\":30");
	client_free(cl);
	assert_server_alive();
}

struct writer {
	int fd;
	const char *data;
	size_t len;
	bool ok;
	int err;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	w->ok = send_all(w->fd, w->data, w->len);
	w->err = errno;
	return NULL;
}

/* n pipelined GET /<prefix>/<i> requests in one buffer. */
static char *pipeline(const char *prefix, int n, size_t *len)
{
	size_t cap = (size_t)n * 64 + 1, off = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "GET /%s/%d HTTP/1.1\r\n\r\n", prefix, i);
	*len = off;
	return buf;
}

static void read_pipelined(struct client *cl, const char *prefix, int n)
{
	for (int i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"path\":\"/%s/%d\"", prefix, i);
		client_expect(cl, 200, want);
	}
}

Test(api_server, thousand_pipelined_requests_answered_in_order)
{
	start_default();
	size_t len;
	char *buf = pipeline("p", 1000, &len);
	struct client *cl = client_new();
	struct writer w = { .fd = cl->fd, .data = buf, .len = len };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
	read_pipelined(cl, "p", 1000);
	pthread_join(t, NULL);
	cr_assert(w.ok);
	cr_assert_eq(__atomic_load_n(&vmm.served, __ATOMIC_SEQ_CST), 1000);
	free(buf);
	client_free(cl);
	assert_server_alive();
}

/* A client that pipelines but does not read: the server stops parsing once its answers
 * back up, instead of buffering every answer. */
Test(api_server, slow_reader_gets_backpressure)
{
	start_default();
	size_t len;
	char *buf = pipeline("big", 1000, &len);
	struct client *cl = client_new();
	struct writer w = { .fd = cl->fd, .data = buf, .len = len };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
	usleep(500 * 1000);
	int served = __atomic_load_n(&vmm.served, __ATOMIC_SEQ_CST);
	/* ~1.1 KB answers: socket buffers plus 64 KiB hold a few hundred of them. */
	cr_assert_lt(served, 700, "%d requests served while the client read nothing", served);
	cr_assert_gt(served, 10);
	if (getenv("API_DEBUG"))
		fprintf(stderr, "served %d before the client read\n", served);
	for (int i = 0; i < 1000; i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"path\":\"/big/%d\"", i);
		client_expect(cl, 200, want);
		if (i % 100 == 0)
			usleep(20 * 1000); /* and then reads slowly */
	}
	pthread_join(t, NULL);
	cr_assert(w.ok);
	free(buf);
	client_free(cl);
	assert_server_alive();
}

struct conc {
	int id;
	int answered;
	char fail[200];
};

static void *concurrent_client(void *arg)
{
	struct conc *cc = arg;
	struct client *cl = calloc(1, sizeof(*cl));
	cl->fd = connect_fd();
	for (int i = 0; i < 5; i++) {
		char req[128], want[64];
		snprintf(req, sizeof(req), "GET /c/%d/%d HTTP/1.1\r\n\r\n", cc->id, i);
		snprintf(want, sizeof(want), "\"path\":\"/c/%d/%d\"", cc->id, i);
		struct resp r;
		if (!send_all(cl->fd, req, strlen(req)) || !client_read(cl, &r, false)) {
			snprintf(cc->fail, sizeof(cc->fail), "client %d request %d: no answer", cc->id, i);
			break;
		}
		if (r.status != 200 || !strstr(r.body, want)) {
			snprintf(cc->fail, sizeof(cc->fail), "client %d: %d %.150s", cc->id, r.status,
				 r.body);
			break;
		}
		cc->answered++;
	}
	client_free(cl);
	return NULL;
}

Test(api_server, sixty_four_concurrent_clients)
{
	start_default();
	enum { N = 64 };
	static struct conc cc[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		cc[i] = (struct conc){ .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, concurrent_client, &cc[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++)
		cr_assert_eq(cc[i].answered, 5, "%s", cc[i].fail);
	cr_assert_eq(__atomic_load_n(&vmm.served, __ATOMIC_SEQ_CST), N * 5);
	assert_server_alive();
}

Test(api_server, silent_clients_do_not_block_others)
{
	start_default();
	struct client *silent = client_new();
	struct client *partial = client_new();
	client_send(partial, "GET /never-finished HTTP/1.1\r\nHo");
	uint64_t t0 = now_ms();
	assert_server_alive();
	cr_assert_lt(now_ms() - t0, 1000);
	client_free(silent);
	client_free(partial);
	assert_server_alive();
}

/* Firecracker's limit and message: the answer is readable although the client is still
 * sending, and only that connection ends. */
Test(api_server, ten_megabyte_body_is_refused)
{
	start_default();
	size_t blen = 10 << 20;
	char head[128];
	int hl = snprintf(head, sizeof(head), "PUT /machine-config HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", blen);
	char *buf = malloc((size_t)hl + blen);
	memcpy(buf, head, (size_t)hl);
	memset(buf + hl, 'x', blen);
	struct client *cl = client_new();
	struct writer w = { .fd = cl->fd, .data = buf, .len = (size_t)hl + blen };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
	struct resp r;
	cr_assert(client_read(cl, &r, false));
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(r.body, "{\"fault_message\":\"Request payload with size 10485760 is larger "
				 "than the limit of 51200 allowed by server.\"}");
	cr_assert(r.close, "the answer says Connection: close");
	pthread_join(t, NULL);
	cr_assert(w.ok, "the server drained the body: the client could send it all (%s)",
		  strerror(w.err));
	client_expect_eof(cl);
	cr_assert_eq(__atomic_load_n(&vmm.served, __ATOMIC_SEQ_CST), 0, "never reached the VMM");
	free(buf);
	client_free(cl);
	assert_server_alive();
}

Test(api_server, chunked_body_over_the_limit_is_refused)
{
	struct api_server_limits l = { .max_body = 1000 };
	start_server(&l);
	struct client *cl = client_new();
	client_send(cl, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n");
	client_expect(cl, 400, "size 1024 is larger than the limit of 1000");
	client_free(cl);
	assert_server_alive();
}

Test(api_server, headers_over_the_limit_are_refused)
{
	start_default();
	struct client *cl = client_new();
	char *big = malloc(20000);
	memset(big, 'h', 19999);
	big[19999] = '\0';
	client_send(cl, "GET / HTTP/1.1\r\nX-Big: ");
	client_send(cl, big);
	client_expect(cl, 400, "Request headers are larger than the limit of 8192 bytes");
	free(big);
	client_free(cl);
	assert_server_alive();
}

Test(api_server, garbage_gets_400_and_close)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "\x16\x03\x01 hello\r\n\r\n");
	struct resp r;
	cr_assert(client_read(cl, &r, false));
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "{\"fault_message\":\"Invalid HTTP request: "), "%s", r.body);
	cr_assert(r.close);
	client_expect_eof(cl);
	client_free(cl);
	assert_server_alive();
}

/* More idle connections than max_conns: the oldest idle ones make room. */
Test(api_server, idle_connections_beyond_max_conns_are_evicted)
{
	struct api_server_limits l = { .max_conns = 8 };
	start_server(&l);
	struct client *idle[20];
	for (int i = 0; i < 20; i++) {
		idle[i] = client_new();
		usleep(2000); /* accepted one by one, so "oldest" is well defined */
	}
	assert_server_alive();
	client_expect_eof(idle[0]);
	/* The newest idle one survived and still works. */
	client_send(idle[19], "GET /still-here HTTP/1.1\r\n\r\n");
	client_expect(idle[19], 200, "/still-here");
	for (int i = 0; i < 20; i++)
		client_free(idle[i]);
	assert_server_alive();
}

/* Every slot holds a partial request: none may be dropped, so the new client waits for
 * the stall timeout to free one. */
Test(api_server, full_of_partial_requests_waits_for_a_slot)
{
	struct api_server_limits l = { .max_conns = 4, .stall_ms = 300 };
	start_server(&l);
	struct client *busy[4];
	for (int i = 0; i < 4; i++) {
		busy[i] = client_new();
		client_send(busy[i], "GET /partial HTTP/1.1\r\n");
	}
	usleep(50 * 1000);
	uint64_t t0 = now_ms();
	assert_server_alive();
	uint64_t waited = now_ms() - t0;
	cr_assert_geq(waited, 200, "answered after %llu ms: a partial request was dropped early",
		      (unsigned long long)waited);
	for (int i = 0; i < 4; i++) {
		client_expect(busy[i], 400, "Request timed out");
		client_free(busy[i]);
	}
	assert_server_alive();
}

Test(api_server, stalled_partial_request_times_out)
{
	struct api_server_limits l = { .stall_ms = 200 };
	start_server(&l);
	struct client *cl = client_new();
	uint64_t t0 = now_ms();
	client_send(cl, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
	struct resp r;
	cr_assert(client_read(cl, &r, false));
	uint64_t took = now_ms() - t0;
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(r.body, "{\"fault_message\":\"Request timed out\"}");
	cr_assert(took >= 190 && took < 3000, "timed out after %llu ms", (unsigned long long)took);
	client_expect_eof(cl);
	client_free(cl);
	assert_server_alive();
}

/* A keep-alive connection between requests is never timed out. */
Test(api_server, idle_keep_alive_connection_is_not_timed_out)
{
	struct api_server_limits l = { .stall_ms = 100 };
	start_server(&l);
	struct client *cl = client_new();
	client_send(cl, "GET /one HTTP/1.1\r\n\r\n");
	client_expect(cl, 200, "/one");
	usleep(500 * 1000);
	client_send(cl, "GET /two HTTP/1.1\r\n\r\n");
	client_expect(cl, 200, "/two");
	client_free(cl);
	assert_server_alive();
}

/* The stall timer of a request queued behind a slow one starts when it can be parsed. */
Test(api_server, slow_vmm_does_not_time_out_waiting_requests)
{
	struct api_server_limits l = { .stall_ms = 200 };
	start_server(&l);
	struct client *cl = client_new();
	client_send(cl, "GET /slow HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
	client_expect(cl, 200, "/slow");
	client_expect(cl, 200, "/after");
	client_free(cl);
	assert_server_alive();
}

Test(api_server, existing_path_is_refused)
{
	int fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	struct api_server *s = NULL;
	struct errbuf e = { "" };
	cr_assert_eq(api_server_start(&s, sock_path, NULL, &e), -1);
	cr_assert_null(s);
	char want[200];
	snprintf(want, sizeof(want), "api socket %s: Address in use", sock_path);
	cr_assert_str_eq(e.msg, want);
	struct stat st;
	cr_assert_eq(stat(sock_path, &st), 0, "the existing file is left alone");
	unlink(sock_path);

	/* And a running server's own path. */
	start_default();
	cr_assert_eq(api_server_start(&s, sock_path, NULL, &e), -1);
	cr_assert_str_eq(e.msg, want);
	assert_server_alive();
}

Test(api_server, path_too_long_is_refused)
{
	char longp[300];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	struct api_server *s = NULL;
	struct errbuf e = { "" };
	cr_assert_eq(api_server_start(&s, longp, NULL, &e), -1);
	assert_msg_has(e, "path longer than 107 bytes");
}

Test(api_server, connection_close_and_http10_close_after_the_answer)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	struct resp r;
	cr_assert(client_read(cl, &r, false));
	cr_assert(strstr(r.body, "/a") && r.close);
	client_expect_eof(cl);
	client_free(cl);

	cl = client_new();
	client_send(cl, "GET /old HTTP/1.0\r\n\r\n");
	cr_assert(client_read(cl, &r, false));
	cr_assert(strstr(r.body, "/old") && r.close);
	client_expect_eof(cl);
	client_free(cl);
	assert_server_alive();
}

Test(api_server, half_closed_client_still_gets_its_answers)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "GET /h1 HTTP/1.1\r\n\r\nGET /h2 HTTP/1.1\r\n\r\n");
	shutdown(cl->fd, SHUT_WR);
	client_expect(cl, 200, "/h1");
	client_expect(cl, 200, "/h2");
	client_expect_eof(cl);
	client_free(cl);
	assert_server_alive();
}

Test(api_server, client_gone_while_vmm_works)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "GET /slow HTTP/1.1\r\n\r\nGET /slow2 HTTP/1.1\r\n\r\n");
	usleep(50 * 1000);
	client_free(cl);
	usleep(400 * 1000);
	assert_server_alive();
}

Test(api_server, expect_100_continue)
{
	start_default();
	struct client *cl = client_new();
	client_send(cl, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
	struct resp r;
	cr_assert(client_read(cl, &r, true));
	cr_assert_eq(r.status, 100);
	client_send(cl, "{}");
	client_expect(cl, 200, "\"len\":2");
	client_free(cl);
	assert_server_alive();
}

/* Requests from many connections reach the VMM thread one at a time. */
static int in_handler, overlapped;

static void exclusive_handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	if (__atomic_add_fetch(&in_handler, 1, __ATOMIC_SEQ_CST) > 1)
		__atomic_store_n(&overlapped, 1, __ATOMIC_SEQ_CST);
	usleep(1000);
	__atomic_sub_fetch(&in_handler, 1, __ATOMIC_SEQ_CST);
	handler(ctx, req, resp);
}

static void *second_vmm_thread(void *arg)
{
	struct vmm *v = arg;
	struct pollfd p = { .fd = api_server_fd(v->srv), .events = POLLIN };
	while (!__atomic_load_n(&v->stop, __ATOMIC_SEQ_CST))
		if (poll(&p, 1, 20) > 0)
			api_server_serve(v->srv, exclusive_handler, v);
	return NULL;
}

Test(api_server, one_request_at_a_time)
{
	start_default();
	/* Two pollers racing for requests must still never see two at once. */
	pthread_t t2;
	cr_assert_eq(pthread_create(&t2, NULL, second_vmm_thread, &vmm), 0);
	enum { N = 8 };
	static struct conc cc[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		cc[i] = (struct conc){ .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, concurrent_client, &cc[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++)
		cr_assert_eq(cc[i].answered, 5, "%s", cc[i].fail);
	cr_assert_eq(overlapped, 0);
	assert_server_alive();
	__atomic_store_n(&vmm.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t2, NULL);
}

Test(api_server, stop_with_open_connections_and_null)
{
	start_default();
	struct client *a = client_new();
	struct client *b = client_new();
	client_send(b, "GET /half");
	assert_server_alive();
	__atomic_store_n(&vmm.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(vmm.thread, NULL);
	api_server_stop(vmm.srv);
	vmm.srv = NULL;
	client_expect_eof(a);
	client_free(a);
	client_free(b);
	api_server_stop(NULL);
	/* The path is free again. */
	memset(&vmm, 0, sizeof(vmm));
	start_default();
	assert_server_alive();
}
