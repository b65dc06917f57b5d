/*
 * api/http.c without sockets: requests fed to http_conn_feed() whole, byte by byte and
 * pipelined; the body and header limits; malformed input; keep-alive rules of HTTP/1.0
 * and "Connection: close"; responses and their JSON fault bodies, checked as bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "../../api/http.h"
#include "helpers.h"

#define MAX_BODY 100
#define MAX_HEADER 300

static struct http_conn c;
static struct http_buf out;

static void setup(void)
{
	http_conn_init(&c, MAX_BODY, MAX_HEADER);
	memset(&out, 0, sizeof(out));
}

static void teardown(void)
{
	http_conn_destroy(&c);
	http_buf_free(&out);
}

TestSuite(http, .init = setup, .fini = teardown);

/* Feeds s whole; returns the event and checks how much was consumed. */
static enum http_event feed_all(const char *s, size_t *used)
{
	return http_conn_feed(&c, s, strlen(s), used);
}

/* Feeds s, expecting exactly one complete request that uses all of it. */
static void feed_request(const char *s)
{
	size_t used;
	enum http_event ev = feed_all(s, &used);
	cr_assert_eq(ev, HTTP_EV_REQUEST, "event %d for [%s]", ev, s);
	cr_assert_eq(used, strlen(s), "consumed %zu of %zu", used, strlen(s));
}

static void assert_request(enum api_method m, const char *name, const char *path,
			   const char *body, size_t body_len)
{
	struct api_request r;
	http_conn_request(&c, &r);
	cr_assert_eq(r.method, m);
	cr_assert_str_eq(r.method_name, name);
	cr_assert_str_eq(r.path, path);
	cr_assert_eq(r.body_len, body_len, "body_len %zu, want %zu", r.body_len, body_len);
	cr_assert_eq(memcmp(r.body, body, body_len), 0);
	cr_assert_eq(r.body[body_len], '\0', "the body is NUL-terminated");
}

Test(http, one_get)
{
	feed_request("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
	assert_request(API_GET, "GET", "/", "", 0);
	cr_assert(http_conn_keep_alive(&c));
	cr_assert_not(http_conn_partial(&c), "a complete request is not partial");
	cr_assert(http_conn_next(&c));
	cr_assert_eq(c.state, HTTP_CONN_READING);
}

Test(http, put_with_body_and_query_string_cut)
{
	feed_request("PUT /machine-config?x=1#f HTTP/1.1\r\nContent-Length: 12\r\n\r\n"
		     "{\"a\": \"b\"}\r\n");
	assert_request(API_PUT, "PUT", "/machine-config", "{\"a\": \"b\"}\r\n", 12);
}

Test(http, methods_other_than_get_put_patch_are_api_other)
{
	feed_request("PATCH /vm HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	assert_request(API_PATCH, "PATCH", "/vm", "{}", 2);
	cr_assert(http_conn_next(&c));
	feed_request("DELETE /drives/x HTTP/1.1\r\n\r\n");
	assert_request(API_OTHER, "DELETE", "/drives/x", "", 0);
	cr_assert(http_conn_next(&c));
	feed_request("POST /actions HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_request(API_OTHER, "POST", "/actions", "", 0);
}

Test(http, absolute_form_url_keeps_the_path)
{
	feed_request("GET http://localhost/machine-config?y HTTP/1.1\r\n\r\n");
	assert_request(API_GET, "GET", "/machine-config", "", 0);
	cr_assert(http_conn_next(&c));
	feed_request("GET http://localhost HTTP/1.1\r\n\r\n");
	assert_request(API_GET, "GET", "/", "", 0);
}

Test(http, body_may_hold_nul_bytes)
{
	static const char req[] = "PUT /x HTTP/1.1\r\nContent-Length: 5\r\n\r\na\0b\0c";
	size_t used;
	cr_assert_eq(http_conn_feed(&c, req, sizeof(req) - 1, &used), HTTP_EV_REQUEST);
	cr_assert_eq(used, sizeof(req) - 1);
	assert_request(API_PUT, "PUT", "/x", "a\0b\0c", 5);
}

Test(http, split_byte_by_byte)
{
	static const char req[] = "PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n"
				  "Accept: */*\r\n\r\n{\"kernel\":\"/a/b/c\"}";
	size_t n = sizeof(req) - 1;
	for (size_t i = 0; i < n; i++) {
		size_t used;
		enum http_event ev = http_conn_feed(&c, req + i, 1, &used);
		cr_assert_eq(used, 1, "byte %zu not consumed", i);
		if (i + 1 < n) {
			cr_assert_eq(ev, HTTP_EV_NEED_MORE, "byte %zu: event %d", i, ev);
			cr_assert(http_conn_partial(&c), "byte %zu: mid-request is partial", i);
		} else {
			cr_assert_eq(ev, HTTP_EV_REQUEST);
		}
	}
	assert_request(API_PUT, "PUT", "/boot-source", "{\"kernel\":\"/a/b/c\"}", 19);
}

/* Three requests in one buffer: each feed stops right after one request. */
Test(http, pipelined_requests_one_at_a_time)
{
	static const char buf[] = "GET /a HTTP/1.1\r\n\r\n"
				  "PUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
				  "GET /c HTTP/1.1\r\n\r\n";
	const char *p = buf;
	size_t left = sizeof(buf) - 1, used;
	const char *paths[] = { "/a", "/b", "/c" };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(http_conn_feed(&c, p, left, &used), HTTP_EV_REQUEST, "request %d", i);
		struct api_request r;
		http_conn_request(&c, &r);
		cr_assert_str_eq(r.path, paths[i]);
		if (i == 1)
			cr_assert_str_eq(r.body, "xyz");
		/* Until answered, the parser takes nothing more. */
		size_t again;
		cr_assert_eq(http_conn_feed(&c, p + used, left - used, &again), HTTP_EV_REQUEST);
		cr_assert_eq(again, 0);
		p += used;
		left -= used;
		cr_assert(http_conn_next(&c));
	}
	cr_assert_eq(left, 0);
}

Test(http, chunked_body)
{
	feed_request("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n");
	assert_request(API_PUT, "PUT", "/x", "hello, world", 12);
}

Test(http, chunked_body_split_byte_by_byte)
{
	static const char req[] = "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	size_t n = sizeof(req) - 1, used;
	for (size_t i = 0; i + 1 < n; i++)
		cr_assert_eq(http_conn_feed(&c, req + i, 1, &used), HTTP_EV_NEED_MORE, "byte %zu", i);
	cr_assert_eq(http_conn_feed(&c, req + n - 1, 1, &used), HTTP_EV_REQUEST);
	assert_request(API_PUT, "PUT", "/x", "abcde", 5);
}

Test(http, body_at_the_limit_is_accepted)
{
	char req[256];
	char body[MAX_BODY + 1];
	memset(body, 'b', MAX_BODY);
	body[MAX_BODY] = '\0';
	snprintf(req, sizeof(req), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", MAX_BODY, body);
	feed_request(req);
	assert_request(API_PUT, "PUT", "/x", body, MAX_BODY);
}

/* Over the limit by Content-Length: refused before any body byte is kept, then the
 * body is read and dropped so the client can read the 400, then the connection ends. */
Test(http, body_over_the_limit_is_refused_then_drained)
{
	static const char head[] = "PUT /x HTTP/1.1\r\nContent-Length: 150\r\n\r\n";
	size_t used;
	cr_assert_eq(feed_all(head, &used), HTTP_EV_REJECT);
	cr_assert_str_eq(http_conn_fault(&c), "Request payload with size 150 is larger than the "
					      "limit of 100 allowed by server.");
	cr_assert(http_conn_draining(&c));
	cr_assert(http_conn_partial(&c), "draining waits for bytes: the stall timer applies");
	/* The parser stopped inside the head; the rest of it and the body are drained. */
	char rest[200];
	size_t rlen = strlen(head) - used;
	memcpy(rest, head + used, rlen);
	memset(rest + rlen, 'z', 150);
	size_t total = rlen + 150, off = 0;
	while (off < total - 1) {
		size_t n = total - 1 - off < 40 ? total - 1 - off : 40;
		cr_assert_eq(http_conn_feed(&c, rest + off, n, &used), HTTP_EV_NEED_MORE);
		cr_assert_eq(used, n);
		off += n;
	}
	cr_assert_eq(http_conn_feed(&c, rest + off, 1, &used), HTTP_EV_CLOSE);
	cr_assert_eq(c.body, NULL, "no body byte was kept");
	cr_assert_not(http_conn_partial(&c));
	cr_assert_eq(http_conn_feed(&c, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTP_EV_CLOSE);
	cr_assert_eq(used, 0);
}

Test(http, absurd_content_length_is_refused_without_draining)
{
	size_t used;
	cr_assert_eq(feed_all("PUT /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", &used),
		     HTTP_EV_REJECT);
	cr_assert(strstr(http_conn_fault(&c), "size 99999999999 is larger than the limit of 100"));
	cr_assert_not(http_conn_draining(&c), "too much to drain: close after the 400");
}

Test(http, chunked_body_over_the_limit_is_refused_at_the_chunk_header)
{
	char req[512];
	char chunk[61];
	memset(chunk, 'c', 60);
	chunk[60] = '\0';
	snprintf(req, sizeof(req),
		 "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n%s\r\n3c\r\n%s\r\n0\r\n\r\n",
		 chunk, chunk);
	size_t used;
	cr_assert_eq(feed_all(req, &used), HTTP_EV_REJECT);
	cr_assert(strstr(http_conn_fault(&c), "size 120 is larger than the limit of 100"), "%s",
		  http_conn_fault(&c));
	cr_assert(http_conn_draining(&c));
	size_t more;
	cr_assert_eq(http_conn_feed(&c, req + used, strlen(req) - used, &more), HTTP_EV_CLOSE);
	cr_assert_eq(used + more, strlen(req), "drained to the end of the chunked body");
}

Test(http, headers_over_the_limit_are_refused)
{
	char req[1024];
	char big[400];
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
	size_t used;
	cr_assert_eq(feed_all(req, &used), HTTP_EV_REJECT);
	/* Stopped at the end of the header that crossed the limit, which is not kept. */
	cr_assert_lt(used, strlen(req), "consumed %zu", used);
	cr_assert_str_eq(http_conn_fault(&c), "Request headers are larger than the limit of 300 bytes");
	cr_assert_not(http_conn_draining(&c));
	cr_assert_eq(http_conn_feed(&c, "x", 1, &used), HTTP_EV_CLOSE);
}

Test(http, many_small_headers_count_toward_the_limit)
{
	struct http_buf req = { 0 };
	http_buf_append(&req, "GET / HTTP/1.1\r\n", 16);
	for (int i = 0; i < 100; i++)
		http_buf_append(&req, "A: b\r\n", 6);
	http_buf_append(&req, "\r\n", 2);
	size_t used;
	cr_assert_eq(http_conn_feed(&c, req.data, req.len, &used), HTTP_EV_REJECT);
	http_buf_free(&req);
}

Test(http, long_url_is_refused_by_the_header_limit)
{
	char req[1024] = "GET /";
	memset(req + 5, 'u', 500);
	strcpy(req + 505, " HTTP/1.1\r\n\r\n");
	size_t used;
	cr_assert_eq(feed_all(req, &used), HTTP_EV_REJECT);
	cr_assert(strstr(http_conn_fault(&c), "headers are larger"));
}

Test(http, garbage_is_refused)
{
	static const char *const bad[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
		"HELLO\r\n\r\n",
		"GET / HTTP/1.x\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		http_conn_destroy(&c);
		http_conn_init(&c, MAX_BODY, MAX_HEADER);
		size_t used;
		enum http_event ev = feed_all(bad[i], &used);
		cr_assert_eq(ev, HTTP_EV_REJECT, "case %zu: event %d", i, ev);
		cr_assert(strncmp(http_conn_fault(&c), "Invalid HTTP request: ", 22) == 0,
			  "case %zu: %s", i, http_conn_fault(&c));
		cr_assert_not(http_conn_draining(&c));
		cr_assert_eq(http_conn_feed(&c, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTP_EV_CLOSE);
	}
}

Test(http, http10_closes_unless_keep_alive)
{
	feed_request("GET / HTTP/1.0\r\n\r\n");
	cr_assert_not(http_conn_keep_alive(&c));
	cr_assert_not(http_conn_next(&c));
	size_t used;
	cr_assert_eq(http_conn_feed(&c, "GET / HTTP/1.0\r\n\r\n", 18, &used), HTTP_EV_CLOSE);

	http_conn_destroy(&c);
	http_conn_init(&c, MAX_BODY, MAX_HEADER);
	feed_request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cr_assert(http_conn_keep_alive(&c));
	cr_assert(http_conn_next(&c));
}

Test(http, connection_close_ends_after_the_answer)
{
	size_t used;
	static const char two[] = "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	cr_assert_eq(feed_all(two, &used), HTTP_EV_REQUEST);
	cr_assert_not(http_conn_keep_alive(&c));
	cr_assert_not(http_conn_next(&c));
	cr_assert_eq(http_conn_feed(&c, two + used, strlen(two) - used, &used), HTTP_EV_CLOSE,
		     "nothing after Connection: close is parsed");
}

Test(http, expect_100_continue_is_reported_once)
{
	size_t used;
	cr_assert_eq(feed_all("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
			      &used), HTTP_EV_NEED_MORE);
	cr_assert(http_conn_take_continue(&c));
	cr_assert_not(http_conn_take_continue(&c));
	cr_assert_eq(feed_all("abc", &used), HTTP_EV_REQUEST);
	assert_request(API_PUT, "PUT", "/x", "abc", 3);
	cr_assert(http_conn_next(&c));
	feed_request("PUT /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	cr_assert_not(http_conn_take_continue(&c), "no Expect header, no 100");
}

Test(http, leading_blank_lines_are_not_a_partial_request)
{
	size_t used;
	cr_assert_eq(feed_all("\r\n", &used), HTTP_EV_NEED_MORE);
	cr_assert_not(http_conn_partial(&c));
	cr_assert_eq(feed_all("G", &used), HTTP_EV_NEED_MORE);
	cr_assert(http_conn_partial(&c));
}

/* ---- responses ---- */

static char *out_str(void)
{
	http_buf_append(&out, "", 1);
	return out.data;
}

Test(http, response_200_with_json)
{
	cr_assert_eq(http_format_response(&out, 200, "{\"a\":1}", false, false), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 200 OK\r\nServer: ember\r\nContent-Length: 7\r\n"
				    "Content-Type: application/json\r\n\r\n{\"a\":1}");
}

Test(http, response_204_has_no_body)
{
	cr_assert_eq(http_format_response(&out, 204, "ignored", false, false), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 204 No Content\r\nServer: ember\r\n\r\n");
}

Test(http, response_without_body_and_closing)
{
	cr_assert_eq(http_format_response(&out, 404, NULL, true, false), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 404 Not Found\r\nServer: ember\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n");
}

Test(http, response_to_a_deprecated_field_says_so)
{
	cr_assert_eq(http_format_response(&out, 204, NULL, false, true), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 204 No Content\r\nServer: ember\r\n"
				    "Deprecation: true\r\n\r\n");
}

Test(http, response_bad_status_becomes_500)
{
	cr_assert_eq(http_format_response(&out, 7, NULL, false, false), 0);
	cr_assert(strncmp(out_str(), "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
}

Test(http, fault_response)
{
	cr_assert_eq(http_format_fault(&out, "Request timed out", true), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 400 Bad Request\r\nServer: ember\r\n"
				    "Content-Length: 37\r\nContent-Type: application/json\r\n"
				    "Connection: close\r\n\r\n{\"fault_message\":\"Request timed out\"}");
}

Test(http, continue_line)
{
	cr_assert_eq(http_format_continue(&out), 0);
	cr_assert_str_eq(out_str(), "HTTP/1.1 100 Continue\r\n\r\n");
}

Test(http, fault_json_escapes)
{
	char *j = http_fault_json("a \"quoted\" \\ back\nnew\tline\x01 \x7f");
	cr_assert_str_eq(j, "{\"fault_message\":\"a \\\"quoted\\\" \\\\ back\\u000anew\\u0009line"
			    "\\u0001 \x7f\"}");
	free(j);
}

Test(http, fault_json_keeps_utf8_and_replaces_invalid_bytes)
{
	char *j = http_fault_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 bad:\xff\xc0\xaf\xed\xa0\x80 cut:\xe2\x82");
	cr_assert_str_eq(j, "{\"fault_message\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82 bad:"
			    "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd cut:\\ufffd\\ufffd\"}");
	free(j);
}

Test(http, fault_json_of_empty_and_null)
{
	char *j = http_fault_json("");
	cr_assert_str_eq(j, "{\"fault_message\":\"\"}");
	free(j);
	j = http_fault_json(NULL);
	cr_assert_str_eq(j, "{\"fault_message\":\"\"}");
	free(j);
}

Test(http, buf_reuses_written_space)
{
	char chunk[300];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(http_buf_append(&out, chunk, sizeof(chunk)), 0);
		cr_assert_eq(http_buf_pending(&out), sizeof(chunk));
		http_buf_consume(&out, sizeof(chunk));
	}
	cr_assert_leq(out.cap, 1024, "a drained buffer does not grow: cap %zu", out.cap);
	http_buf_append(&out, "abcdef", 6);
	http_buf_consume(&out, 2);
	http_buf_append(&out, "gh", 2);
	cr_assert_eq(http_buf_pending(&out), 6);
	cr_assert_eq(memcmp(out.data + out.sent, "cdefgh", 6), 0);
}

/* Mutated pipelines fed in random slices: whatever the bytes, the parser stays inside
 * its buffers and limits (ASan/UBSan watch), consumes only what it was given and ends
 * every connection with a request, a rejection or a close. Fixed seed: reproducible. */
Test(http, mutated_input_in_random_slices)
{
	static const char tmpl[] = "PUT /a?b HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
				   "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
				   "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	unsigned seed = 12345;
	for (int iter = 0; iter < 3000; iter++) {
		char buf[sizeof(tmpl)];
		memcpy(buf, tmpl, sizeof(tmpl));
		int flips = rand_r(&seed) % 4;
		for (int f = 0; f < flips; f++)
			buf[rand_r(&seed) % (sizeof(tmpl) - 1)] = (char)(rand_r(&seed) % 256);
		http_conn_destroy(&c);
		http_conn_init(&c, 4 + (size_t)(rand_r(&seed) % 8), 40 + (size_t)(rand_r(&seed) % 100));
		size_t off = 0, len = sizeof(tmpl) - 1;
		bool closed = false;
		for (int steps = 0; off < len && !closed && steps < 1000; steps++) {
			size_t n = 1 + (size_t)(rand_r(&seed) % 16);
			if (n > len - off)
				n = len - off;
			size_t used;
			enum http_event ev = http_conn_feed(&c, buf + off, n, &used);
			cr_assert_leq(used, n);
			off += used;
			struct api_request r;
			switch (ev) {
			case HTTP_EV_REQUEST:
				http_conn_request(&c, &r);
				cr_assert_leq(r.body_len, c.max_body);
				cr_assert_eq(r.body[r.body_len], '\0');
				cr_assert_not_null(r.path);
				cr_assert_lt(strlen(r.path), c.max_header);
				closed = !http_conn_next(&c);
				break;
			case HTTP_EV_REJECT:
				cr_assert_neq(http_conn_fault(&c)[0], '\0');
				closed = !http_conn_draining(&c);
				break;
			case HTTP_EV_CLOSE:
				closed = true;
				break;
			case HTTP_EV_NEED_MORE:
				cr_assert_eq(used, n, "need more, yet %zu of %zu bytes left", n - used, n);
				break;
			}
		}
	}
}
