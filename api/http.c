#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- output buffer ---- */

int http_buf_append(struct http_buf *b, const void *p, size_t n)
{
	if (b->sent == b->len)
		b->sent = b->len = 0;
	if (n > b->cap - b->len && b->sent > 0) {
		/* Reuse the written prefix before growing. */
		memmove(b->data, b->data + b->sent, b->len - b->sent);
		b->len -= b->sent;
		b->sent = 0;
	}
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap - b->len < n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

size_t http_buf_pending(const struct http_buf *b)
{
	return b->len - b->sent;
}

void http_buf_consume(struct http_buf *b, size_t n)
{
	b->sent += n;
	if (b->sent >= b->len)
		b->sent = b->len = 0;
}

void http_buf_free(struct http_buf *b)
{
	free(b->data);
	*b = (struct http_buf){ 0 };
}

/* ---- request parser ---- */

static void http_conn_forget_request(struct http_conn *c)
{
	free(c->url);
	free(c->body);
	c->url = c->body = NULL;
	c->url_len = c->body_len = c->body_cap = 0;
	c->head_bytes = 0;
	c->want_continue = false;
	c->new_field = true;
	c->field_is_expect = false;
	c->field_len = c->expect_len = 0;
	c->field[0] = c->expect[0] = '\0';
}

/* Refuses the request; the parser stops here (paused, or failed when the callback
 * returns -1). A refused body is drained unless it is absurdly large. */
static int http_conn_reject(struct http_conn *c, bool drain, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int http_conn_reject(struct http_conn *c, bool drain, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->fault, sizeof(c->fault), fmt, ap);
	va_end(ap);
	if (!drain) {
		c->state = HTTP_CONN_DONE;
		return -1;
	}
	c->state = HTTP_CONN_DRAINING;
	http_parser_pause(&c->parser, 1);
	return 0;
}

/* Bytes of the request line and headers, checked as they arrive so a huge header is
 * refused without being buffered. */
static int http_conn_count_head(struct http_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->max_header)
		return http_conn_reject(c, false, "Request headers are larger than the limit of %zu bytes",
					c->max_header);
	return 0;
}

static int http_on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;
	http_conn_forget_request(c);
	c->in_message = true;
	/* Method (up to 11 letters), spaces, "HTTP/1.1" and CRLF around the URL. */
	return http_conn_count_head(c, 24);
}

static int http_on_url(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (http_conn_count_head(c, n) < 0)
		return -1;
	char *u = realloc(c->url, c->url_len + n + 1);
	if (!u)
		return http_conn_reject(c, false, "Out of memory for the request URL");
	memcpy(u + c->url_len, at, n);
	c->url = u;
	c->url_len += n;
	u[c->url_len] = '\0';
	return 0;
}

static int http_on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (c->new_field) {
		c->new_field = false;
		c->field_len = 0;
		if (http_conn_count_head(c, 4) < 0) /* ": " and CRLF */
			return -1;
	}
	if (http_conn_count_head(c, n) < 0)
		return -1;
	size_t room = sizeof(c->field) - 1 - c->field_len;
	size_t k = n < room ? n : room;
	memcpy(c->field + c->field_len, at, k);
	c->field_len += k;
	c->field[c->field_len] = '\0';
	/* A name cut at the buffer's size is longer than "expect", so never matches. */
	c->field_is_expect = strcasecmp(c->field, "expect") == 0;
	return 0;
}

static int http_on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	c->new_field = true;
	if (http_conn_count_head(c, n) < 0)
		return -1;
	if (c->field_is_expect) {
		size_t room = sizeof(c->expect) - 1 - c->expect_len;
		size_t k = n < room ? n : room;
		memcpy(c->expect + c->expect_len, at, k);
		c->expect_len += k;
		c->expect[c->expect_len] = '\0';
	}
	return 0;
}

static int http_conn_reject_body(struct http_conn *c, uint64_t size)
{
	return http_conn_reject(c, size <= HTTP_DRAIN_MAX,
				"Request payload with size %llu is larger than the limit of %zu "
				"allowed by server.",
				(unsigned long long)size, c->max_body);
}

/* Reserves room for want body bytes plus the NUL, growing geometrically for chunks. */
static int http_conn_body_room(struct http_conn *c, size_t want)
{
	if (want + 1 <= c->body_cap)
		return 0;
	size_t cap = c->body_cap ? c->body_cap * 2 : 1024;
	if (cap < want + 1)
		cap = want + 1;
	if (cap > c->max_body + 1)
		cap = c->max_body + 1;
	char *b = realloc(c->body, cap);
	if (!b)
		return http_conn_reject(c, false, "Out of memory for the request body");
	c->body = b;
	c->body_cap = cap;
	return 0;
}

static int http_on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	bool chunked = p->flags & F_CHUNKED;
	bool has_length = !chunked && (p->flags & F_CONTENTLENGTH);
	if (has_length && p->content_length > c->max_body)
		return http_conn_reject_body(c, p->content_length);
	if (has_length && p->content_length > 0 &&
	    http_conn_body_room(c, (size_t)p->content_length) < 0)
		return -1;
	c->want_continue = strcasecmp(c->expect, "100-continue") == 0 && p->http_minor >= 1 &&
			   (chunked || (has_length && p->content_length > 0));
	return 0;
}

/* http-parser gives each chunk's size before its data: refuse before reading it. */
static int http_on_chunk_header(http_parser *p)
{
	struct http_conn *c = p->data;
	if (c->state == HTTP_CONN_READING && p->content_length > c->max_body - c->body_len)
		return http_conn_reject_body(c, c->body_len + p->content_length);
	return 0;
}

static int http_on_body(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	if (c->state == HTTP_CONN_DRAINING) {
		c->drained += n;
		if (c->drained > HTTP_DRAIN_MAX) {
			c->state = HTTP_CONN_DONE;
			return -1;
		}
		return 0;
	}
	if (n > c->max_body - c->body_len)
		return http_conn_reject_body(c, c->body_len + n);
	if (http_conn_body_room(c, c->body_len + n) < 0)
		return -1;
	memcpy(c->body + c->body_len, at, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return 0;
}

static int http_on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	c->in_message = false;
	if (c->state == HTTP_CONN_DRAINING) {
		c->state = HTTP_CONN_DONE;
	} else {
		c->state = HTTP_CONN_READY;
		/* An upgrade's later bytes are another protocol: answer, then close. */
		c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	}
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_message_begin,
	.on_url = http_on_url,
	.on_header_field = http_on_header_field,
	.on_header_value = http_on_header_value,
	.on_headers_complete = http_on_headers_complete,
	.on_body = http_on_body,
	.on_message_complete = http_on_message_complete,
	.on_chunk_header = http_on_chunk_header,
};

void http_conn_init(struct http_conn *c, size_t max_body, size_t max_header)
{
	*c = (struct http_conn){ .max_body = max_body, .max_header = max_header };
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->state = HTTP_CONN_READING;
	c->new_field = true;
}

void http_conn_destroy(struct http_conn *c)
{
	http_conn_forget_request(c);
}

/* Turns the parser's stopping point into an event; a callback set c->state. */
static enum http_event http_conn_after_execute(struct http_conn *c, enum http_conn_state before)
{
	enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
	if (err == HPE_OK)
		return HTTP_EV_NEED_MORE;
	if (err == HPE_PAUSED) {
		/* A callback paused: a complete request, a refusal whose body is to be
		 * drained (unpaused here so the next feed drains), or the drain's end. */
		if (c->state == HTTP_CONN_READY)
			return HTTP_EV_REQUEST;
		if (c->state == HTTP_CONN_DRAINING) {
			http_parser_pause(&c->parser, 0);
			return HTTP_EV_REJECT;
		}
		return HTTP_EV_CLOSE;
	}
	/* Failed for good (http_parser_pause() must not be called from here on). A
	 * connection that was draining had its 400 when the drain began. */
	bool answered = before == HTTP_CONN_DRAINING;
	bool ours = c->state == HTTP_CONN_DONE; /* a callback refused and set c->fault */
	c->state = HTTP_CONN_DONE;
	if (answered)
		return HTTP_EV_CLOSE;
	if (!ours)
		snprintf(c->fault, sizeof(c->fault), "Invalid HTTP request: %s",
			 http_errno_description(err));
	return HTTP_EV_REJECT;
}

enum http_event http_conn_feed(struct http_conn *c, const char *data, size_t len, size_t *used)
{
	*used = 0;
	switch (c->state) {
	case HTTP_CONN_READY:
		return HTTP_EV_REQUEST;
	case HTTP_CONN_DONE:
		return HTTP_EV_CLOSE;
	case HTTP_CONN_READING:
	case HTTP_CONN_DRAINING:
		break;
	}
	if (len == 0)
		return HTTP_EV_NEED_MORE;
	enum http_conn_state before = c->state;
	*used = http_parser_execute(&c->parser, &http_settings, data, len);
	return http_conn_after_execute(c, before);
}

static enum api_method http_api_method(unsigned m)
{
	switch (m) {
	case HTTP_GET:
		return API_GET;
	case HTTP_PUT:
		return API_PUT;
	case HTTP_PATCH:
		return API_PATCH;
	default:
		return API_OTHER;
	}
}

/* Cuts the query string and fragment off c->url in place; an absolute-form URL
 * ("http://localhost/x") keeps only its path. */
static const char *http_conn_path(const struct http_conn *c)
{
	char *u = c->url;
	if (!u)
		return "/";
	u[strcspn(u, "?#")] = '\0';
	if (u[0] == '/' || u[0] == '\0' || u[0] == '*')
		return u[0] ? u : "/";
	char *scheme = strstr(u, "://");
	if (!scheme)
		return u;
	char *slash = strchr(scheme + 3, '/');
	return slash ? slash : "/";
}

void http_conn_request(const struct http_conn *c, struct api_request *req)
{
	req->method = http_api_method(c->parser.method);
	req->method_name = http_method_str((enum http_method)c->parser.method);
	req->path = http_conn_path(c);
	req->body = c->body ? c->body : "";
	req->body_len = c->body_len;
}

bool http_conn_keep_alive(const struct http_conn *c)
{
	return c->keep_alive;
}

bool http_conn_next(struct http_conn *c)
{
	http_conn_forget_request(c);
	if (c->state != HTTP_CONN_READY || !c->keep_alive) {
		c->state = HTTP_CONN_DONE;
		return false;
	}
	c->state = HTTP_CONN_READING;
	http_parser_pause(&c->parser, 0);
	return true;
}

const char *http_conn_fault(const struct http_conn *c)
{
	return c->fault;
}

bool http_conn_draining(const struct http_conn *c)
{
	return c->state == HTTP_CONN_DRAINING;
}

bool http_conn_partial(const struct http_conn *c)
{
	return (c->state == HTTP_CONN_READING && c->in_message) ||
	       c->state == HTTP_CONN_DRAINING;
}

bool http_conn_take_continue(struct http_conn *c)
{
	bool w = c->want_continue;
	c->want_continue = false;
	return w;
}

/* ---- responses ---- */

const char *http_reason(int status)
{
	const char *r = http_status_str((enum http_status)status);
	return strcmp(r, "<unknown>") == 0 ? "Unknown" : r;
}

int http_format_response(struct http_buf *out, int status, const char *body, bool close,
			 bool deprecated)
{
	if (status < 100 || status > 599)
		status = 500;
	size_t blen = body && status != 204 ? strlen(body) : 0;
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: ember\r\n", status,
			 http_reason(status));
	/* RFC 9110: a 204 carries neither a body nor a Content-Length. */
	if (status != 204)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", blen);
	if (blen)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: application/json\r\n");
	if (close)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
	/* Firecracker's mark on an answer to a request that used a deprecated field. */
	if (deprecated)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Deprecation: true\r\n");
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (http_buf_append(out, head, (size_t)n) < 0)
		return -1;
	return http_buf_append(out, body, blen);
}

int http_format_continue(struct http_buf *out)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	return http_buf_append(out, line, sizeof(line) - 1);
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (c < 0xc2 || c > 0xf4 || left < n)
		return 0;
	uint32_t cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Appends s as the inside of a JSON string: escapes quotes, backslashes and control
 * characters, and replaces bytes that are not UTF-8 so the result always parses. */
static int json_escape(struct http_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);
	for (size_t i = 0; i < len;) {
		char esc[8];
		unsigned c = s[i];
		size_t n = 1;
		int r;
		if (c == '"' || c == '\\') {
			r = http_buf_append(b, (const char[]){ '\\', (char)c }, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			r = http_buf_append(b, esc, 6);
		} else if (c < 0x80) {
			r = http_buf_append(b, &s[i], 1);
		} else if ((n = utf8_len(s + i, len - i)) > 0) {
			r = http_buf_append(b, &s[i], n);
		} else {
			n = 1;
			r = http_buf_append(b, "\\ufffd", 6);
		}
		if (r < 0)
			return -1;
		i += n;
	}
	return 0;
}

char *http_fault_json(const char *msg)
{
	struct http_buf b = { 0 };
	static const char head[] = "{\"fault_message\":\"", tail[] = "\"}";
	if (http_buf_append(&b, head, sizeof(head) - 1) < 0 || json_escape(&b, msg ? msg : "") < 0 ||
	    http_buf_append(&b, tail, sizeof(tail)) < 0) { /* with the NUL */
		http_buf_free(&b);
		return NULL;
	}
	return b.data;
}

int http_format_fault(struct http_buf *out, const char *msg, bool close)
{
	char *body = http_fault_json(msg);
	if (!body)
		return -1;
	int r = http_format_response(out, 400, body, close, false);
	free(body);
	return r;
}
