/*
 * libFuzzer target over the API's request path: raw bytes as they would arrive on the
 * socket -> the HTTP parser (api/http.c) -> the router and JSON layer (api/router.c,
 * config/config_json.c) -> the configuration, against a fake monitor that can be started,
 * paused and updated. Checked besides the sanitizers: every answer is 200, 204 or 400;
 * a 400 body is one JSON object with a fault_message; a 200 body is JSON.
 */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/http.h"
#include "../../api/router.h"

static enum vmm_state fuzz_vm_state;

static enum vmm_state fz_state(void *v)
{
	(void)v;
	return fuzz_vm_state;
}

static int fz_start(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fuzz_vm_state = VMM_RUNNING;
	return 0;
}

static int fz_pause(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fuzz_vm_state = VMM_PAUSED;
	return 0;
}

static int fz_resume(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fuzz_vm_state = VMM_RUNNING;
	return 0;
}

static int fz_ok(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	return 0;
}

static int fz_drive(void *v, const char *id, const struct drive_update *u, struct errbuf *e)
{
	(void)v, (void)id;
	return u->path && strchr(u->path, '!') ? errf(e, "refused by the fake drive") : 0;
}

static int fz_net(void *v, const char *id, const struct net_update *u, struct errbuf *e)
{
	(void)v, (void)id, (void)u, (void)e;
	return 0;
}

static int fz_logger(void *v, const struct logger_config *l, struct errbuf *e)
{
	(void)v, (void)l, (void)e;
	return 0; /* the real one opens a file: not in a fuzzer */
}

static int fz_metrics(void *v, const char *path, bool emit_id, const char *properties,
			struct errbuf *e)
{
	(void)v, (void)path, (void)emit_id, (void)properties, (void)e;
	return 0;
}

static const struct api_vmm_ops fuzz_ops = {
	.state = fz_state, .instance_start = fz_start, .pause = fz_pause,
	.resume = fz_resume, .ctrl_alt_del = fz_ok, .flush_metrics = fz_ok,
	.update_drive = fz_drive, .update_net = fz_net, .start_logger = fz_logger,
	.start_metrics = fz_metrics,
};

static void fuzz_check_answer(const struct api_response *resp)
{
	assert(resp->status == 200 || resp->status == 204 || resp->status == 400);
	assert((resp->status == 204) == (resp->body == NULL));
	if (!resp->body)
		return;
	json_t *j = json_loads(resp->body, 0, NULL);
	assert(j && json_is_object(j));
	if (resp->status == 400)
		assert(json_object_size(j) == 1 &&
		       json_is_string(json_object_get(j, "fault_message")));
	json_decref(j);
}

/* Answers one parsed request; false when the connection would close. */
static bool fuzz_answer(struct http_conn *c, struct api_router *r, struct http_buf *out)
{
	struct api_request req;
	struct api_response resp = { 0 };
	http_conn_request(c, &req);
	api_route(r, &req, &resp);
	fuzz_check_answer(&resp);
	http_format_response(out, resp.status, resp.body, !http_conn_keep_alive(c), resp.deprecated);
	free(resp.body);
	return http_conn_next(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	struct api_router r = { .cfg = &cfg, .ops = &fuzz_ops };
	struct http_conn c;
	struct http_buf out = { 0 };
	config_init(&cfg);
	fuzz_vm_state = VMM_NOT_STARTED;
	http_conn_init(&c, 51200, 8192);
	size_t off = 0;
	for (bool open = true; open;) {
		size_t used = 0;
		enum http_event ev = http_conn_feed(&c, (const char *)data + off, size - off, &used);
		assert(used <= size - off);
		off += used;
		if (ev == HTTP_EV_REQUEST)
			open = fuzz_answer(&c, &r, &out);
		else if (ev == HTTP_EV_REJECT)
			open = http_format_fault(&out, http_conn_fault(&c), true) == 0 &&
			       http_conn_draining(&c);
		else
			open = false; /* NEED_MORE with everything consumed, or CLOSE */
		out.len = out.sent = 0;
	}
	http_buf_free(&out);
	http_conn_destroy(&c);
	config_free(&cfg);
	return 0;
}
