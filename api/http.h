/*
 * HTTP/1.1 for the control API, without sockets: a per-connection request parser on
 * http-parser, and response formatting. The API thread (server.c) moves bytes between
 * sockets and these functions, so everything here is testable on plain buffers.
 *
 * A connection's parser stops after each complete request (http-parser paused), so the
 * caller answers it before any pipelined request behind it is looked at; limits on the
 * request head and body are checked as bytes arrive, never after buffering them.
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* A growable output buffer; bytes [sent, len) are still to be written. */
struct http_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t sent;
};

int http_buf_append(struct http_buf *b, const void *p, size_t n);
size_t http_buf_pending(const struct http_buf *b);
/* The first n pending bytes were written. */
void http_buf_consume(struct http_buf *b, size_t n);
void http_buf_free(struct http_buf *b);

/* What http_conn_feed() found. */
enum http_event {
	HTTP_EV_NEED_MORE, /* every byte given was consumed; the request is not complete */
	HTTP_EV_REQUEST,   /* a complete request: http_conn_request(), answer, http_conn_next() */
	HTTP_EV_REJECT,    /* answer 400 with http_conn_fault(); then see http_conn_draining() */
	HTTP_EV_CLOSE,     /* nothing more will be parsed on this connection: close it */
};

enum http_conn_state {
	HTTP_CONN_READING,  /* parsing a request (or waiting for the first byte of one) */
	HTTP_CONN_READY,    /* a complete request waits for its answer */
	HTTP_CONN_DRAINING, /* a rejected body is being read and discarded */
	HTTP_CONN_DONE,     /* no further request on this connection */
};

struct http_conn {
	http_parser parser;
	size_t max_body;
	size_t max_header;
	enum http_conn_state state;
	bool in_message;    /* on_message_begin seen, on_message_complete not yet */
	bool keep_alive;    /* of the request that completed */
	bool want_continue; /* the client sent "Expect: 100-continue" */
	bool new_field;     /* the next header-field callback starts a new header */
	bool field_is_expect;
	size_t head_bytes;  /* request line and headers so far, for max_header */
	uint64_t drained;   /* body bytes discarded after a rejection */
	char *url;
	size_t url_len;
	char *body;
	size_t body_len;
	size_t body_cap;
	char field[16];     /* the current header's name, enough to recognise "Expect" */
	size_t field_len;
	char expect[16];
	size_t expect_len;
	char fault[200];    /* why the request was rejected */
};

/* Discarding a rejected body stops here: past this the connection is just closed. */
#define HTTP_DRAIN_MAX (64ULL << 20)

void http_conn_init(struct http_conn *c, size_t max_body, size_t max_header);
void http_conn_destroy(struct http_conn *c);
/* Parses up to len bytes; *used says how many were consumed (the rest must be given
 * again, after the answer, for HTTP_EV_REQUEST). */
enum http_event http_conn_feed(struct http_conn *c, const char *data, size_t len, size_t *used);
/* The complete request (HTTP_CONN_READY); its strings live until http_conn_next(). */
void http_conn_request(const struct http_conn *c, struct api_request *req);
/* Whether the connection stays open after the answer to the current request. */
bool http_conn_keep_alive(const struct http_conn *c);
/* The request was answered: forget it and resume parsing. False when the connection must
 * close instead (Connection: close, HTTP/1.0). */
bool http_conn_next(struct http_conn *c);
/* One line saying why the request was rejected (after HTTP_EV_REJECT). */
const char *http_conn_fault(const struct http_conn *c);
/* After HTTP_EV_REJECT: true while the rest of a refused body is being discarded (keep
 * feeding; HTTP_EV_CLOSE ends it), false when the connection must close after the 400. */
bool http_conn_draining(const struct http_conn *c);
/* Some but not all of a request has arrived: what a stall timeout applies to. */
bool http_conn_partial(const struct http_conn *c);
/* True once per request whose client waits for "100 Continue" before sending its body. */
bool http_conn_take_continue(struct http_conn *c);

/* Responses. */
const char *http_reason(int status);
/* Appends status line, headers and body (NULL: none). 204 never carries a body;
 * close adds "Connection: close". */
int http_format_response(struct http_buf *out, int status, const char *body, bool close,
			 bool deprecated);
/* {"fault_message":"<msg>"} with msg escaped into one line of valid JSON; malloc'd. */
char *http_fault_json(const char *msg);
/* A 400 with a fault_message body. */
int http_format_fault(struct http_buf *out, const char *msg, bool close);
int http_format_continue(struct http_buf *out);

#endif
