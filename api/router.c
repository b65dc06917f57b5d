#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/util.h"
#include "../lib/version.h"

/* When a call is allowed: before InstanceStart, after it, or at any time. */
enum when { ANY, PRE, POST };

struct route_call {
	struct api_router *r;
	const char *id;      /* the {id} of the path, or NULL */
	const json_t *body;  /* NULL for GET */
	json_t *answer;      /* set by GETs: the 200 body */
	struct errbuf *e;
	const char *deprecated; /* what the request used that Firecracker deprecates */
};

typedef int (*route_fn)(struct route_call *c);

struct route {
	enum api_method method;
	const char *path;  /* exact, or a prefix ending in '/' followed by an id */
	bool has_id;
	enum when when;
	route_fn fn;
	metric_t *count, *fails;
};

static const char *const state_names[] = { "Not started", "Running", "Paused" };

static enum vmm_state route_state(const struct route_call *c)
{
	return c->r->ops->state(c->r->vmm);
}

/* ---- GET ---- */

static int get_instance_info(struct route_call *c)
{
	c->answer = json_pack("{s:s,s:s,s:s,s:s}", "app_name", "ember", "id", c->r->cfg->id,
			      "state", state_names[route_state(c)], "vmm_version", EMBER_VERSION);
	return 0;
}

static int get_version(struct route_call *c)
{
	c->answer = json_pack("{s:s}", "firecracker_version", EMBER_VERSION);
	return 0;
}

static int get_vm_config(struct route_call *c)
{
	c->answer = config_json_dump(c->r->cfg);
	return 0;
}

static int get_machine(struct route_call *c)
{
	c->answer = config_json_dump_machine(c->r->cfg);
	return 0;
}

/* ---- pre-boot configuration ---- */

static int put_boot_source(struct route_call *c)
{
	return config_json_boot_source(c->r->cfg, c->body, c->e);
}

/* Firecracker deprecates machine-config's cpu_template (for PUT /cpu-config). */
static void note_cpu_template(struct route_call *c, const char *msg)
{
	const json_t *t = json_object_get(c->body, "cpu_template");
	if (t && !json_is_null(t))
		c->deprecated = msg;
}

static int put_machine(struct route_call *c)
{
	note_cpu_template(c, "PUT /machine-config: cpu_template field is deprecated.");
	return config_json_machine(c->r->cfg, c->body, false, c->e);
}

static int patch_machine(struct route_call *c)
{
	note_cpu_template(c, "PATCH /machine-config: cpu_template field is deprecated.");
	return config_json_machine(c->r->cfg, c->body, true, c->e);
}

static int put_drive(struct route_call *c)
{
	return config_json_drive(c->r->cfg, c->body, c->id, c->e);
}

static int put_cpu_config(struct route_call *c)
{
	return config_json_cpu_config(c->r->cfg, c->body, c->e);
}

static int put_net(struct route_call *c)
{
	return config_json_net(c->r->cfg, c->body, c->id, c->e);
}

/* ---- post-boot updates: the device first, then the configuration it now matches ---- */

static struct drive_config *find_drive(struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (strcmp(cfg->drives[i].id, id) == 0)
			return &cfg->drives[i];
	return NULL;
}

static struct net_config *find_net(struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].id, id) == 0)
			return &cfg->nets[i];
	return NULL;
}

/* What GET /vm/config shows after a PATCH: the buckets it gave, the others as they were. */
static void config_limiter_apply(struct rate_limiter_config *c, const struct rate_limiter_change *ch)
{
	if (ch->bandwidth)
		c->bandwidth = *ch->bandwidth;
	if (ch->ops)
		c->ops = *ch->ops;
}

static int patch_drive(struct route_call *c)
{
	struct drive_update u;
	if (config_json_drive_update(c->body, c->id, &u, c->e) < 0)
		return -1;
	struct drive_config *d = find_drive(c->r->cfg, c->id);
	if (!d)
		return errf(c->e, "drive '%s' does not exist", c->id);
	char *path = u.path ? strdup(u.path) : NULL;
	if (u.path && !path)
		return errf(c->e, "out of memory");
	if (c->r->ops->update_drive(c->r->vmm, c->id, &u, c->e) < 0) {
		free(path);
		return -1;
	}
	if (path) {
		free(d->path);
		d->path = path;
	}
	config_limiter_apply(&d->rate_limiter, &u.rate_limiter_change);
	return 0;
}

static int patch_net(struct route_call *c)
{
	struct net_update u;
	if (config_json_net_update(c->body, c->id, &u, c->e) < 0)
		return -1;
	struct net_config *n = find_net(c->r->cfg, c->id);
	if (!n)
		return errf(c->e, "network interface '%s' does not exist", c->id);
	if (c->r->ops->update_net(c->r->vmm, c->id, &u, c->e) < 0)
		return -1;
	config_limiter_apply(&n->rx, &u.rx_change);
	config_limiter_apply(&n->tx, &u.tx_change);
	return 0;
}

/* ---- actions and VM state ---- */

enum action { ACTION_START, ACTION_CAD, ACTION_FLUSH };
static const char *const action_names[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					    NULL };

static int route_need_state(struct route_call *c, bool booted, const char *what)
{
	bool is_booted = route_state(c) != VMM_NOT_STARTED;
	if (is_booted == booted)
		return 0;
	return errf(c->e, "%s is not supported %s starting the microVM", what,
		    booted ? "before" : "after");
}

static int put_action(struct route_call *c)
{
	int a;
	if (config_json_enum(c->body, "actions", "action_type", action_names, &a, c->e) < 0)
		return -1;
	switch ((enum action)a) {
	case ACTION_START:
		return route_need_state(c, false, "InstanceStart") < 0 ?
			       -1 :
			       c->r->ops->instance_start(c->r->vmm, c->e);
	case ACTION_CAD:
		return route_need_state(c, true, "SendCtrlAltDel") < 0 ?
			       -1 :
			       c->r->ops->ctrl_alt_del(c->r->vmm, c->e);
	case ACTION_FLUSH:
		return route_need_state(c, true, "FlushMetrics") < 0 ?
			       -1 :
			       c->r->ops->flush_metrics(c->r->vmm, c->e);
	}
	return errf(c->e, "actions: unknown action");
}

static const char *const vm_state_names[] = { "Paused", "Resumed", NULL };

static int patch_vm(struct route_call *c)
{
	int s;
	if (config_json_enum(c->body, "vm", "state", vm_state_names, &s, c->e) < 0)
		return -1;
	return s == 0 ? c->r->ops->pause(c->r->vmm, c->e) : c->r->ops->resume(c->r->vmm, c->e);
}

/* ---- logger and metrics: once each, at any time ---- */

static int put_logger(struct route_call *c)
{
	struct logger_update u;
	if (config_json_logger(c->body, &u, c->e) < 0)
		return -1;
	if (c->r->logger_set)
		return errf(c->e, "the logger is already configured (it can be set once)");
	struct logger_config l = c->r->cfg->logger;
	config_json_logger_apply(&l, &u);
	if (c->r->ops->start_logger(c->r->vmm, &l, c->e) < 0 ||
	    config_set_logger(c->r->cfg, &l, c->e) < 0)
		return -1;
	c->r->logger_set = true;
	return 0;
}

static int put_metrics(struct route_call *c)
{
	struct metrics_update u;
	if (config_json_metrics(c->body, &u, c->e) < 0)
		return -1;
	int r = -1;
	if (c->r->metrics_set)
		errf(c->e, "metrics are already configured (they can be set once)");
	else if (c->r->ops->start_metrics(c->r->vmm, u.path, u.emit_id, u.properties, c->e) == 0 &&
		 config_set_metrics(c->r->cfg, u.path, u.emit_id, u.properties, c->e) == 0)
		r = 0;
	free(u.properties);
	c->r->metrics_set |= r == 0;
	return r;
}

/* ---- snapshots ---- */

static int put_snapshot_create(struct route_call *c)
{
	struct snapshot_create_request r;
	if (config_json_snapshot_create(c->body, &r, c->e) < 0)
		return -1;
	if (route_state(c) != VMM_PAUSED)
		return errf(c->e, "snapshot-create: the microVM must be paused first (PATCH /vm "
			    "{\"state\": \"Paused\"})");
	return c->r->ops->snapshot_create(c->r->vmm, &r, c->e);
}

static int put_snapshot_load(struct route_call *c)
{
	struct snapshot_load_request r;
	if (config_json_snapshot_load(c->body, &r, c->e) < 0)
		return -1;
	if (json_object_get(c->body, "mem_file_path") ||
	    json_is_true(json_object_get(c->body, "enable_diff_snapshots")))
		c->deprecated = "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields "
				"are deprecated.";
	if (c->r->configured)
		return errf(c->e, "snapshot-load: only before anything is configured (a fresh "
			    "ember; /logger and /metrics may come first)");
	return c->r->ops->snapshot_load(c->r->vmm, &r, c->e);
}

#define PUT_M(x) &metrics.put_api.x##_count, &metrics.put_api.x##_fails
#define PATCH_M(x) &metrics.patch_api.x##_count, &metrics.patch_api.x##_fails

static const struct route routes[] = {
	{ API_GET, "/", false, ANY, get_instance_info, &metrics.get_api.instance_info_count, NULL },
	{ API_GET, "/version", false, ANY, get_version, &metrics.get_api.vmm_version_count, NULL },
	{ API_GET, "/vm/config", false, ANY, get_vm_config, NULL, NULL },
	{ API_GET, "/machine-config", false, ANY, get_machine, &metrics.get_api.machine_cfg_count,
	  NULL },
	{ API_PUT, "/machine-config", false, PRE, put_machine, PUT_M(machine_cfg) },
	{ API_PATCH, "/machine-config", false, PRE, patch_machine, PATCH_M(machine_cfg) },
	{ API_PUT, "/boot-source", false, PRE, put_boot_source, PUT_M(boot_source) },
	{ API_PUT, "/cpu-config", false, PRE, put_cpu_config, PUT_M(cpu_cfg) },
	{ API_PUT, "/drives/", true, PRE, put_drive, PUT_M(drive) },
	{ API_PATCH, "/drives/", true, POST, patch_drive, PATCH_M(drive) },
	{ API_PUT, "/network-interfaces/", true, PRE, put_net, PUT_M(network) },
	{ API_PATCH, "/network-interfaces/", true, POST, patch_net, PATCH_M(network) },
	{ API_PUT, "/actions", false, ANY, put_action, PUT_M(actions) },
	{ API_PUT, "/logger", false, ANY, put_logger, PUT_M(logger) },
	{ API_PUT, "/metrics", false, ANY, put_metrics, PUT_M(metrics) },
	{ API_PATCH, "/vm", false, POST, patch_vm, NULL, NULL },
	{ API_PUT, "/snapshot/create", false, POST, put_snapshot_create, NULL, NULL },
	{ API_PUT, "/snapshot/load", false, PRE, put_snapshot_load, NULL, NULL },
};

static const struct {
	const char *prefix;
	const char *what;
} unsupported_paths[] = {
	{ "/mmds", "MMDS (the metadata service)" }, { "/vsock", "vsock device" },
	{ "/balloon", "balloon device" },	    { "/entropy", "entropy device" },

	{ "/hotplug/", "hotplug" },		    { "/serial", "serial configuration" },
	{ "/pmem/", "pmem device" },
};

static bool route_matches(const struct route *rt, const char *path, const char **id)
{
	size_t n = strlen(rt->path);
	*id = NULL;
	if (!rt->has_id)
		return strcmp(path, rt->path) == 0;
	if (strncmp(path, rt->path, n) != 0 || !path[n])
		return false;
	*id = path + n;
	return true;
}

static const struct route *route_find(const struct api_request *req, const char **id,
				      bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!route_matches(&routes[i], req->path, id))
			continue;
		*path_known = true;
		if (routes[i].method == req->method)
			return &routes[i];
	}
	return NULL;
}

static void respond_error(struct api_response *resp, const char *msg)
{
	/* The message may quote the request's bytes: keep it one line of printable ASCII,
	 * which is also always valid UTF-8 for the JSON string. */
	char clean[sizeof(((struct errbuf *)0)->msg)];
	size_t n = 0;
	for (; msg[n] && n < sizeof(clean) - 1; n++)
		clean[n] = msg[n] >= 0x20 && msg[n] < 0x7f ? msg[n] : '?';
	clean[n] = '\0';
	json_t *o = json_pack("{s:s}", "fault_message", clean);
	resp->status = 400;
	resp->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
}

static int route_check_unsupported(const struct api_request *req, struct errbuf *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_paths); i++) {
		const char *p = unsupported_paths[i].prefix;
		if (strncmp(req->path, p, strlen(p)) == 0)
			return errf(e, "%s %s: ember has no %s", req->method_name, req->path,
				    unsupported_paths[i].what);
	}
	return errf(e, "Invalid request method and/or path: %s %.200s.", req->method_name,
		    req->path);
}

/* The shape of the request, before any handler: body presence, path id, boot state. */
static json_t *route_prepare(const struct route *rt, const struct api_request *req,
			     struct route_call *c)
{
	if (rt->method == API_GET) {
		if (req->body_len)
			errf(c->e, "GET %s: a GET request carries no body", req->path);
		return NULL;
	}
	if (!req->body_len) {
		errf(c->e, "%s %s: the request needs a JSON body", req->method_name, req->path);
		return NULL;
	}
	if (c->id && config_check_id("the id in the path", c->id, c->e) < 0)
		return NULL;
	if ((rt->when == PRE && route_need_state(c, false, req->path) < 0) ||
	    (rt->when == POST && route_need_state(c, true, req->path) < 0))
		return NULL;
	return config_json_parse(req->body, req->body_len, c->e);
}

/* What the log shows of a body: one line, at most ROUTE_LOG_BODY bytes, "..." if cut. */
#define ROUTE_LOG_BODY 256
static void route_body_excerpt(const struct api_request *req, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < req->body_len && n + 4 < cap; i++) {
		unsigned char ch = (unsigned char)req->body[i];
		if (ch == '\n' && i + 1 == req->body_len)
			break;
		out[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	if (n + 4 >= cap && n < req->body_len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
}

/* Every request ember acted on, as Firecracker logs them: method, path, body. */
static void route_log_accepted(const struct api_request *req, int status)
{
	char body[ROUTE_LOG_BODY + 4];
	route_body_excerpt(req, body, sizeof(body));
	log_info("API %s %s: %d%s%s", req->method_name, req->path, status, body[0] ? " " : "",
		 body);
}

void api_route(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct errbuf e = { "" };
	bool known;
	struct route_call c = { .r = ctx, .e = &e };
	const struct route *rt = route_find(req, &c.id, &known);
	if (!rt) {
		route_check_unsupported(req, &e);
		respond_error(resp, e.msg);
		return;
	}
	if (rt->count)
		METRIC_INC(*rt->count);
	json_t *body = route_prepare(rt, req, &c);
	int r = -1;
	if (!e.msg[0]) {
		c.body = body;
		r = rt->fn(&c);
	}
	json_decref(body);
	if (c.deprecated) { /* as Firecracker: a warning, a count, and the response header */
		log_warn("%s", c.deprecated);
		METRIC_INC(metrics.deprecated_api.deprecated_http_api_calls);
		resp->deprecated = true;
	}
	if (r < 0) {
		if (rt->fails)
			METRIC_INC(*rt->fails);
		log_info("API %s %s refused: %s", req->method_name, req->path, e.msg);
		respond_error(resp, e.msg[0] ? e.msg : "the request failed");
		json_decref(c.answer);
		return;
	}
	if (rt->when == PRE)
		c.r->configured = true;
	resp->status = c.answer ? 200 : 204;
	route_log_accepted(req, resp->status);
	resp->body = c.answer ? json_dumps(c.answer, JSON_COMPACT) : NULL;
	json_decref(c.answer);
}
