/*
 * The control API's transport: HTTP/1.1 on a Unix socket, served by its own thread.
 *
 * The API thread accepts connections and parses requests; it never touches VM state.
 * Each complete request is handed to the VMM thread, one at a time and in arrival order
 * across all connections, and the API thread waits for that answer before it parses the
 * next request. The VMM thread learns that a request waits when api_server_fd() is
 * readable and answers it with api_server_serve().
 */
#ifndef EMBER_API_SERVER_H
#define EMBER_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/error.h"

enum api_method { API_GET, API_PUT, API_PATCH, API_OTHER };

struct api_request {
	enum api_method method;
	const char *method_name; /* "GET", "DELETE", ... as sent */
	const char *path;        /* NUL-terminated, the URL path without query string */
	const char *body;        /* NUL-terminated copy; body_len bytes (may contain NUL) */
	size_t body_len;
};

struct api_response {
	int status; /* 200, 204, 400, ... */
	char *body; /* malloc'd JSON or NULL; freed by the server */
	bool deprecated; /* the request used a deprecated field: "Deprecation: true" */
};

/* Runs on the VMM thread for each request, in order; fills resp. */
typedef void (*api_handler_fn)(void *ctx, const struct api_request *req,
			       struct api_response *resp);

struct api_server;

struct api_server_limits {
	size_t max_body;   /* default 51200 */
	size_t max_header; /* 8192 */
	unsigned max_conns; /* 128 */
	unsigned stall_ms; /* 5000 */
};

void api_server_default_limits(struct api_server_limits *l);
/* Binds and listens on path (refuses an existing path: "…: Address in use"), starts the
 * API thread. */
int api_server_start(struct api_server **out, const char *path,
		     const struct api_server_limits *l, struct errbuf *e);
/* Readable (EPOLLIN) when requests wait for the VMM thread; the VMM thread polls it
 * (blocking poll() pre-boot, its event loop after boot). */
int api_server_fd(const struct api_server *s);
/* VMM thread: answers every request waiting now through fn, without blocking. */
void api_server_serve(struct api_server *s, api_handler_fn fn, void *ctx);
/* Stops the thread, closes every connection, unlinks the socket path. Safe with NULL. */
void api_server_stop(struct api_server *s);

#endif
