/*
 * The router against a fake monitor: status codes, fault messages that name the
 * problem, the pre-/post-boot rules, and that a refused call changes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/router.h"
#include "../../lib/metrics.h"
#include "helpers.h"

static struct {
	enum vmm_state state;
	int starts, pauses, resumes, cads, flushes, drive_updates, net_updates;
	int loggers, metrics_opened;
	bool fail_start, fail_update;
	char last_update_path[64];
} fake;

static enum vmm_state fake_state(void *v)
{
	(void)v;
	return fake.state;
}

static int fake_start(void *v, struct errbuf *e)
{
	(void)v;
	if (fake.fail_start)
		return errf(e, "kernel /k: No such file or directory");
	fake.starts++;
	fake.state = VMM_RUNNING;
	return 0;
}

static int fake_pause(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fake.pauses++;
	fake.state = VMM_PAUSED;
	return 0;
}

static int fake_resume(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fake.resumes++;
	fake.state = VMM_RUNNING;
	return 0;
}

static int fake_cad(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fake.cads++;
	return 0;
}

static int fake_flush(void *v, struct errbuf *e)
{
	(void)v, (void)e;
	fake.flushes++;
	return 0;
}

static int fake_update_drive(void *v, const char *id, const struct drive_update *u,
			     struct errbuf *e)
{
	(void)v;
	if (fake.fail_update)
		return errf(e, "drive %s: /gone: No such file or directory", id);
	fake.drive_updates++;
	snprintf(fake.last_update_path, sizeof(fake.last_update_path), "%s",
		 u->path ? u->path : "");
	return 0;
}

static int fake_update_net(void *v, const char *id, const struct net_update *u,
			   struct errbuf *e)
{
	(void)v, (void)id, (void)u, (void)e;
	fake.net_updates++;
	return 0;
}

static int fake_logger(void *v, const struct logger_config *l, struct errbuf *e)
{
	(void)v, (void)l, (void)e;
	fake.loggers++;
	return 0;
}

static int fake_metrics(void *v, const char *path, bool emit_id, const char *properties,
			struct errbuf *e)
{
	(void)v, (void)path, (void)emit_id, (void)properties, (void)e;
	fake.metrics_opened++;
	return 0;
}

static const struct api_vmm_ops fake_ops = {
	.state = fake_state,
	.instance_start = fake_start,
	.pause = fake_pause,
	.resume = fake_resume,
	.ctrl_alt_del = fake_cad,
	.flush_metrics = fake_flush,
	.update_drive = fake_update_drive,
	.update_net = fake_update_net,
	.start_logger = fake_logger,
	.start_metrics = fake_metrics,
};

static struct vm_config cfg;
static struct api_router router;
static struct api_response resp;

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	config_init(&cfg);
	router = (struct api_router){ .cfg = &cfg, .ops = &fake_ops, .vmm = NULL };
}

static void teardown(void)
{
	free(resp.body);
	resp.body = NULL;
	config_free(&cfg);
}

TestSuite(router, .init = setup, .fini = teardown);

static const char *const method_names[] = { "GET", "PUT", "PATCH", "DELETE" };

static int call(enum api_method m, const char *path, const char *body)
{
	struct api_request req = { .method = m, .method_name = method_names[m], .path = path,
				   .body = body ? body : "", .body_len = body ? strlen(body) : 0 };
	free(resp.body);
	resp = (struct api_response){ 0 };
	api_route(&router, &req, &resp);
	return resp.status;
}

/* A 400 whose fault_message holds needle (and is the only member). */
static void assert_fault(const char *needle)
{
	cr_assert_eq(resp.status, 400);
	cr_assert_not_null(resp.body);
	json_error_t je;
	json_t *j = json_loads(resp.body, 0, &je);
	cr_assert_not_null(j, "fault body is not JSON: %s", resp.body);
	cr_assert_eq(json_object_size(j), 1, "%s", resp.body);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	cr_assert_not_null(msg, "%s", resp.body);
	cr_assert(strstr(msg, needle), "fault \"%s\" lacks \"%s\"", msg, needle);
	json_decref(j);
}

static const char *answer_field(const char *field)
{
	static char out[128];
	json_t *j = json_loads(resp.body, 0, NULL);
	cr_assert_not_null(j, "%s", resp.body);
	const char *v = json_string_value(json_object_get(j, field));
	snprintf(out, sizeof(out), "%s", v ? v : "(none)");
	json_decref(j);
	return out;
}

static char *config_now(void)
{
	cr_assert_eq(call(API_GET, "/vm/config", NULL), 200);
	char *s = resp.body;
	resp.body = NULL;
	return s;
}

#define DRIVE(id) "{\"drive_id\":\"" id "\",\"path_on_host\":\"/img\",\"is_root_device\":false}"

Test(router, instance_info_version_and_machine_config)
{
	cr_assert_eq(call(API_GET, "/", NULL), 200);
	cr_assert_str_eq(answer_field("state"), "Not started");
	cr_assert_str_eq(answer_field("id"), "anonymous-instance");
	cr_assert_str_eq(answer_field("app_name"), "ember");
	cr_assert_eq(call(API_GET, "/version", NULL), 200);
	cr_assert_neq(strcmp(answer_field("firecracker_version"), "(none)"), 0);
	cr_assert_eq(call(API_PUT, "/machine-config", "{\"vcpu_count\":3,\"mem_size_mib\":300}"), 204);
	cr_assert_null(resp.body);
	cr_assert_eq(call(API_GET, "/machine-config", NULL), 200);
	cr_assert(strstr(resp.body, "\"vcpu_count\":3") && strstr(resp.body, "\"mem_size_mib\":300"),
		  "%s", resp.body);
}

Test(router, bad_paths_methods_and_bodies)
{
	cr_assert_eq(call(API_PUT, "/foo", "{}"), 400);
	assert_fault("Invalid request method and/or path: PUT /foo.");
	cr_assert_eq(call(API_OTHER, "/", NULL), 400);
	assert_fault("Invalid request method and/or path: DELETE /.");
	cr_assert_eq(call(API_GET, "/boot-source", NULL), 400);
	assert_fault("Invalid request method and/or path");
	cr_assert_eq(call(API_PUT, "/drives/", DRIVE("x")), 400);
	cr_assert_eq(call(API_GET, "/", "{}"), 400);
	assert_fault("carries no body");
	cr_assert_eq(call(API_PUT, "/boot-source", NULL), 400);
	assert_fault("needs a JSON body");
	cr_assert_eq(call(API_PUT, "/boot-source", "{\"kernel_image_path\":"), 400);
	assert_fault("invalid JSON");
	cr_assert_eq(call(API_PUT, "/vsock", "{}"), 400);
	assert_fault("ember has no vsock device");
	cr_assert_eq(call(API_PUT, "/mmds/config", "{}"), 400);
	assert_fault("MMDS");
	cr_assert_eq(call(API_PUT, "/drives/a%20b", DRIVE("a%20b")), 400);
	assert_fault("id in the path");
}

Test(router, refused_calls_change_nothing)
{
	cr_assert_eq(call(API_PUT, "/boot-source", "{\"kernel_image_path\":\"/k\"}"), 204);
	cr_assert_eq(call(API_PUT, "/drives/a", DRIVE("a")), 204);
	char *before = config_now();
	const char *bad[][2] = {
		{ "/drives/b", DRIVE("c") },
		{ "/drives/b", "{\"drive_id\":\"b\",\"path_on_host\":\"/x\",\"is_root_device\":1}" },
		{ "/machine-config", "{\"vcpu_count\":64,\"mem_size_mib\":128}" },
		{ "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":128,\"extra\":0}" },
		{ "/boot-source", "{\"kernel_image_path\":\"/k2\",\"initrd_path\":7}" },
		{ "/network-interfaces/n", "{\"iface_id\":\"n\",\"host_dev_name\":\"t\",\"guest_mac\":\"zz\"}" },
		{ "/actions", "{\"action_type\":\"Reboot\"}" },
		{ "/actions", "{\"action_type\":\"SendCtrlAltDel\"}" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(call(API_PUT, bad[i][0], bad[i][1]), 400, "%s %s", bad[i][0], bad[i][1]);
		char *after = config_now();
		cr_assert_str_eq(before, after, "PUT %s %s changed the config", bad[i][0], bad[i][1]);
		free(after);
	}
	free(before);
	cr_assert_eq(fake.cads, 0);
}

Test(router, pre_and_post_boot_rules)
{
	cr_assert_eq(call(API_PATCH, "/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/n\"}"), 400);
	assert_fault("not supported before starting");
	cr_assert_eq(call(API_PATCH, "/vm", "{\"state\":\"Paused\"}"), 400);
	assert_fault("before starting");
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"FlushMetrics\"}"), 400);
	cr_assert_eq(call(API_PUT, "/drives/a", DRIVE("a")), 204);
	cr_assert_eq(call(API_PUT, "/boot-source", "{\"kernel_image_path\":\"/k\"}"), 204);

	fake.fail_start = true;
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	assert_fault("No such file");
	cr_assert_eq(call(API_GET, "/", NULL), 200);
	cr_assert_str_eq(answer_field("state"), "Not started");
	fake.fail_start = false;
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	cr_assert_eq(fake.starts, 1);
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	assert_fault("not supported after starting");
	cr_assert_eq(fake.starts, 1);

	cr_assert_eq(call(API_PUT, "/drives/b", DRIVE("b")), 400);
	assert_fault("not supported after starting");
	cr_assert_eq(call(API_PUT, "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":128}"), 400);
	cr_assert_eq(call(API_PATCH, "/machine-config", "{\"vcpu_count\":2}"), 400);
	cr_assert_eq(call(API_PUT, "/boot-source", "{\"kernel_image_path\":\"/k\"}"), 400);

	cr_assert_eq(call(API_PATCH, "/vm", "{\"state\":\"Paused\"}"), 204);
	cr_assert_eq(call(API_GET, "/", NULL), 200);
	cr_assert_str_eq(answer_field("state"), "Paused");
	cr_assert_eq(call(API_PATCH, "/vm", "{\"state\":\"Resumed\"}"), 204);
	cr_assert_eq(call(API_PATCH, "/vm", "{\"state\":\"Stopped\"}"), 400);
	assert_fault("state: 'Stopped' is not one of Paused, Resumed");
	cr_assert_eq(fake.pauses, 1);
	cr_assert_eq(fake.resumes, 1);
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 204);
	cr_assert_eq(fake.cads, 1);
	cr_assert_eq(call(API_PUT, "/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);
	cr_assert_eq(fake.flushes, 1);
}

Test(router, post_boot_drive_update_changes_config_only_on_success)
{
	cr_assert_eq(call(API_PUT, "/drives/a", DRIVE("a")), 204);
	fake.state = VMM_RUNNING;
	cr_assert_eq(call(API_PATCH, "/drives/zz", "{\"drive_id\":\"zz\",\"path_on_host\":\"/n\"}"), 400);
	assert_fault("drive 'zz' does not exist");
	fake.fail_update = true;
	cr_assert_eq(call(API_PATCH, "/drives/a", "{\"drive_id\":\"a\",\"path_on_host\":\"/gone\"}"), 400);
	assert_fault("/gone: No such file");
	cr_assert_str_eq(cfg.drives[0].path, "/img");
	fake.fail_update = false;
	cr_assert_eq(call(API_PATCH, "/drives/a",
			  "{\"drive_id\":\"a\",\"path_on_host\":\"/new\",\"rate_limiter\":"
			  "{\"ops\":{\"size\":7,\"refill_time\":100}}}"), 204);
	cr_assert_str_eq(fake.last_update_path, "/new");
	cr_assert_str_eq(cfg.drives[0].path, "/new");
	cr_assert_eq(cfg.drives[0].rate_limiter.ops.size, 7);
	cr_assert_eq(call(API_PATCH, "/network-interfaces/n", "{\"iface_id\":\"n\",\"rx_rate_limiter\":{}}"), 400);
	assert_fault("network interface 'n' does not exist");
}

Test(router, logger_and_metrics_once)
{
	cr_assert_eq(call(API_PUT, "/logger", "{\"level\":\"Info\",\"show_level\":true}"), 204);
	cr_assert_eq(cfg.logger.level, LOG_INFO);
	cr_assert_eq(call(API_PUT, "/logger", "{\"level\":\"Debug\"}"), 400);
	assert_fault("already configured");
	cr_assert_eq(cfg.logger.level, LOG_INFO);
	cr_assert_eq(call(API_PUT, "/metrics", "{\"metrics_path\":\"/tmp/m\"}"), 204);
	cr_assert_str_eq(cfg.metrics_path, "/tmp/m");
	cr_assert_eq(call(API_PUT, "/metrics", "{\"metrics_path\":\"/tmp/m2\"}"), 400);
	cr_assert_str_eq(cfg.metrics_path, "/tmp/m");
	cr_assert_eq(fake.loggers, 1);
	cr_assert_eq(fake.metrics_opened, 1);
}

Test(router, api_counters_count_calls_and_failures)
{
	uint64_t count = metrics.put_api.drive_count, fails = metrics.put_api.drive_fails;
	call(API_PUT, "/drives/a", DRIVE("a"));
	call(API_PUT, "/drives/a", DRIVE("b"));
	cr_assert_eq(metrics.put_api.drive_count - count, 2);
	cr_assert_eq(metrics.put_api.drive_fails - fails, 1);
}

Test(router, vm_config_reflects_the_calls)
{
	call(API_PUT, "/boot-source", "{\"kernel_image_path\":\"/k\",\"boot_args\":\"quiet\"}");
	call(API_PUT, "/drives/root", "{\"drive_id\":\"root\",\"path_on_host\":\"/r\",\"is_root_device\":true}");
	call(API_PUT, "/network-interfaces/eth0", "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap3\"}");
	char *c = config_now();
	json_t *j = json_loads(c, 0, NULL);
	cr_assert_not_null(j);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "boot-source"), "boot_args")), "quiet");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "drives"), 0), "drive_id")), "root");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "network-interfaces"), 0), "host_dev_name")), "tap3");
	json_decref(j);
	free(c);
}
