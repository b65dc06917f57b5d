/*
 * JSON bodies and the config file into the one configuration model: every refusal names
 * the field and leaves the configuration as it was; GET /vm/config's output loads back
 * into the same configuration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../config/config_json.h"
#include "../../virtio/blk.h"
#include "helpers.h"

static struct vm_config cfg;
static struct errbuf e;

static void setup(void)
{
	config_init(&cfg);
	memset(&e, 0, sizeof(e));
}

static void teardown(void)
{
	config_free(&cfg);
}

TestSuite(config_json, .init = setup, .fini = teardown);

static json_t *J(const char *text)
{
	struct errbuf pe = { "" };
	json_t *j = config_json_parse(text, strlen(text), &pe);
	cr_assert_not_null(j, "test JSON does not parse: %s: %s", text, pe.msg);
	return j;
}

/* The configuration as GET /vm/config would print it. */
static char *dump(const struct vm_config *c)
{
	json_t *j = config_json_dump(c);
	cr_assert_not_null(j);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

typedef int (*apply_fn)(struct vm_config *, const json_t *, const char *, struct errbuf *);

/* body must be refused with a message holding needle, and change nothing. */
static void refused(apply_fn fn, const char *id, const char *body, const char *needle)
{
	char *before = dump(&cfg);
	json_t *j = J(body);
	memset(&e, 0, sizeof(e));
	cr_assert_eq(fn(&cfg, j, id, &e), -1, "accepted: %s", body);
	assert_msg_has(e, needle);
	json_decref(j);
	char *after = dump(&cfg);
	cr_assert_str_eq(before, after, "refused %s but changed the config", body);
	free(before);
	free(after);
}

static void accepted(apply_fn fn, const char *id, const char *body)
{
	json_t *j = J(body);
	memset(&e, 0, sizeof(e));
	cr_assert_eq(fn(&cfg, j, id, &e), 0, "refused %s: %s", body, e.msg);
	json_decref(j);
}

static int boot_source(struct vm_config *c, const json_t *j, const char *id, struct errbuf *er)
{
	(void)id;
	return config_json_boot_source(c, j, er);
}

static int machine_put(struct vm_config *c, const json_t *j, const char *id, struct errbuf *er)
{
	(void)id;
	return config_json_machine(c, j, false, er);
}

static int machine_patch(struct vm_config *c, const json_t *j, const char *id,
			 struct errbuf *er)
{
	(void)id;
	return config_json_machine(c, j, true, er);
}

Test(config_json, parse_refuses_what_is_not_one_object)
{
	const char *bad[] = { "",	  "[1]", "\"x\"", "{", "{\"a\":1} x", "{\"a\":1,\"a\":2}",
			      "nul", "{\"k\":\"/a\\u0000b\"}" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0, sizeof(e));
		cr_assert_null(config_json_parse(bad[i], strlen(bad[i]), &e), "parsed '%s'", bad[i]);
		cr_assert(e.msg[0], "no message for '%s'", bad[i]);
	}
}

Test(config_json, boot_source)
{
	accepted(boot_source, NULL,
		 "{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\",\"initrd_path\":\"/i\"}");
	cr_assert_str_eq(cfg.kernel_path, "/k");
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0");
	cr_assert_str_eq(cfg.initrd_path, "/i");
	/* A new boot source replaces the whole object: no initrd now. */
	accepted(boot_source, NULL, "{\"kernel_image_path\":\"/k2\"}");
	cr_assert_str_eq(cfg.kernel_path, "/k2");
	cr_assert_null(cfg.initrd_path);
	cr_assert_null(cfg.cmdline);
	refused(boot_source, NULL, "{\"boot_args\":\"x\"}", "kernel_image_path: missing");
	refused(boot_source, NULL, "{\"kernel_image_path\":null}", "kernel_image_path: missing");
	refused(boot_source, NULL, "{\"kernel_image_path\":3}", "kernel_image_path: expected a string");
	refused(boot_source, NULL, "{\"kernel_image_path\":\"/k\",\"kernel\":\"/x\"}",
		"unknown field 'kernel'");
	refused(boot_source, NULL, "{\"kernel_image_path\":\"\"}", "kernel path is empty");
	/* A null optional field counts as absent. */
	accepted(boot_source, NULL, "{\"kernel_image_path\":\"/k3\",\"initrd_path\":null}");
	cr_assert_null(cfg.initrd_path);
}

Test(config_json, machine_config_put_and_patch)
{
	accepted(machine_put, NULL,
		 "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":true,"
		 "\"huge_pages\":\"2M\"}");
	cr_assert_eq(cfg.machine.vcpus, 2);
	cr_assert_eq(cfg.machine.mem_mib, 256);
	cr_assert(cfg.machine.track_dirty_pages);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_2M);
	accepted(machine_patch, NULL, "{\"vcpu_count\":4}");
	cr_assert_eq(cfg.machine.vcpus, 4);
	cr_assert_eq(cfg.machine.mem_mib, 256, "PATCH changed a field it did not name");
	/* PUT replaces: what it leaves out goes back to the default. */
	accepted(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":128}");
	cr_assert(!cfg.machine.track_dirty_pages);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_NONE);

	refused(machine_put, NULL, "{\"vcpu_count\":2}", "mem_size_mib: missing");
	refused(machine_put, NULL, "{\"vcpu_count\":0,\"mem_size_mib\":128}", "vcpu_count: 0 is out of range");
	refused(machine_put, NULL, "{\"vcpu_count\":33,\"mem_size_mib\":128}", "vcpu_count");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":15}", "mem_size_mib: 15");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":-1}", "mem_size_mib");
	refused(machine_put, NULL, "{\"vcpu_count\":1.5,\"mem_size_mib\":128}", "vcpu_count: expected an integer");
	refused(machine_put, NULL, "{\"vcpu_count\":\"2\",\"mem_size_mib\":128}", "expected an integer");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":true}", "smt");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"huge_pages\":\"1G\"}",
		"huge_pages: '1G' is not one of None, 2M, Transparent");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"cpu_template\":\"T3\"}",
		"cpu_template: 'T3' is not one of None, C3, T2, T2S, T2CL, T2A");
	refused(machine_patch, NULL, "{}", "nothing to change");
	refused(machine_put, NULL, "{\"vcpu_count\":1,\"mem_size_mib\":65,\"huge_pages\":\"2M\"}",
		"mem_size_mib: 65 is not a multiple of 2");
	refused(machine_put, NULL,
		"{\"vcpu_count\":1,\"mem_size_mib\":65,\"huge_pages\":\"Transparent\"}",
		"mem_size_mib: 65 is not a multiple of 2");
	refused(machine_patch, NULL, "{\"track_dirty_pages\":1}", "expected a boolean");
}

Test(config_json, huge_numbers_are_refused_by_the_parser)
{
	const char *t = "{\"vcpu_count\":1,\"mem_size_mib\":99999999999999999999999}";
	cr_assert_null(config_json_parse(t, strlen(t), &e));
	assert_msg_has(e, "too big");
}

Test(config_json, drives)
{
	accepted(config_json_drive, "rootfs",
		 "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/img\",\"is_root_device\":true,"
		 "\"is_read_only\":true,\"partuuid\":\"0eaa91a0-01\",\"cache_type\":\"Unsafe\","
		 "\"io_engine\":\"Async\",\"rate_limiter\":{\"bandwidth\":{\"size\":1000,"
		 "\"refill_time\":100,\"one_time_burst\":5},\"ops\":{\"size\":10,\"refill_time\":1000}}}");
	cr_assert_eq(cfg.ndrives, 1);
	const struct drive_config *d = &cfg.drives[0];
	cr_assert_str_eq(d->id, "rootfs");
	cr_assert_str_eq(d->path, "/img");
	cr_assert(d->is_root && d->read_only);
	cr_assert_str_eq(d->partuuid, "0eaa91a0-01");
	cr_assert_eq(d->cache, DRIVE_CACHE_UNSAFE);
	cr_assert_eq(d->engine, DRIVE_ENGINE_ASYNC);
	cr_assert_eq(d->rate_limiter.bandwidth.size, 1000);
	cr_assert_eq(d->rate_limiter.bandwidth.refill_time_ms, 100);
	cr_assert_eq(d->rate_limiter.bandwidth.one_time_burst, 5);
	cr_assert_eq(d->rate_limiter.ops.size, 10);

	const char *ok2 = "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false}";
	accepted(config_json_drive, "data", ok2);
	cr_assert_eq(cfg.drives[1].cache, DRIVE_CACHE_WRITEBACK);
	cr_assert_eq(cfg.drives[1].engine, DRIVE_ENGINE_SYNC);

	refused(config_json_drive, "other", ok2, "drive_id: 'data' differs from the id in the path ('other')");
	refused(config_json_drive, "x", "{\"drive_id\":\"x\",\"path_on_host\":\"/d\"}",
		"is_root_device: missing");
	refused(config_json_drive, "x", "{\"drive_id\":\"x\",\"is_root_device\":false}",
		"path_on_host: missing");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":true}",
		"already the root device");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,\"io_engine\":\"Fast\"}",
		"io_engine: 'Fast' is not one of Sync, Async");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,\"cache_type\":1}",
		"cache_type: expected a string");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
		"\"rate_limiter\":{\"bandwidth\":{\"size\":1}}}",
		"rate_limiter.bandwidth.refill_time: missing");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
		"\"rate_limiter\":{\"ops\":{\"size\":-5,\"refill_time\":1}}}",
		"rate_limiter.ops.size: -5 is out of range");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
		"\"rate_limiter\":{\"iops\":{}}}",
		"unknown field 'iops'");
	refused(config_json_drive, "x",
		"{\"drive_id\":\"x\",\"path_on_host\":\"/d\",\"is_root_device\":false,\"partuuid\":\"zz\"}",
		"partuuid");
	refused(config_json_drive, "a b", "{\"drive_id\":\"a b\",\"path_on_host\":\"/d\",\"is_root_device\":false}",
		"drive_id");
	/* Same id replaces the drive. */
	accepted(config_json_drive, "data",
		 "{\"drive_id\":\"data\",\"path_on_host\":\"/d2\",\"is_root_device\":false}");
	cr_assert_eq(cfg.ndrives, 2);
	cr_assert_str_eq(cfg.drives[1].path, "/d2");
}

Test(config_json, network_interfaces)
{
	accepted(config_json_net, "eth0",
		 "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"06:00:AC:10:00:02\","
		 "\"rx_rate_limiter\":{\"bandwidth\":{\"size\":100,\"refill_time\":10}},"
		 "\"tx_rate_limiter\":{\"ops\":{\"size\":1,\"refill_time\":1}}}");
	cr_assert_eq(cfg.nnets, 1);
	cr_assert_str_eq(cfg.nets[0].tap, "tap0");
	cr_assert(cfg.nets[0].has_mac);
	cr_assert_eq(cfg.nets[0].mac[5], 2);
	cr_assert_eq(cfg.nets[0].rx.bandwidth.size, 100);
	cr_assert_eq(cfg.nets[0].tx.ops.size, 1);
	refused(config_json_net, "eth1", "{\"iface_id\":\"eth1\"}", "host_dev_name: missing");
	refused(config_json_net, "eth1", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap0\"}",
		"already used");
	refused(config_json_net, "eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"guest_mac\":\"06:00\"}",
		"guest_mac: MAC '06:00'");
	refused(config_json_net, "eth1",
		"{\"iface_id\":\"eth1\",\"host_dev_name\":\"a-name-longer-than-15\"}", "host_dev_name");
	refused(config_json_net, "eth1", "{\"iface_id\":\"eth2\",\"host_dev_name\":\"tap1\"}",
		"differs from the id in the path");
	/* mtu: Firecracker's 68-65535, shown by GET /vm/config. */
	refused(config_json_net, "eth1", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"mtu\":67}",
		"network-interface.mtu: 67 is out of range 68-65535");
	refused(config_json_net, "eth1", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"mtu\":65536}",
		"out of range");
	accepted(config_json_net, "eth1", "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"mtu\":9000}");
	cr_assert_eq(cfg.nets[1].mtu, 9000);
	json_t *dump = config_json_dump(&cfg);
	json_t *n1 = json_array_get(json_object_get(dump, "network-interfaces"), 1);
	cr_assert_eq(json_integer_value(json_object_get(n1, "mtu")), 9000);
	cr_assert_null(json_object_get(json_array_get(json_object_get(dump, "network-interfaces"), 0), "mtu"));
	json_decref(dump);
}

Test(config_json, patch_bodies)
{
	struct drive_update du;
	struct net_update nu;
	json_t *j = J("{\"drive_id\":\"d\",\"path_on_host\":\"/new\"}");
	cr_assert_eq(config_json_drive_update(j, "d", &du, &e), 0, "%s", e.msg);
	cr_assert_str_eq(du.path, "/new");
	cr_assert(!du.has_rate_limiter);
	json_decref(j);
	j = J("{\"drive_id\":\"d\"}");
	cr_assert_eq(config_json_drive_update(j, "d", &du, &e), -1);
	assert_msg_has(e, "nothing to change");
	json_decref(j);
	j = J("{\"drive_id\":\"d\",\"is_read_only\":true}");
	cr_assert_eq(config_json_drive_update(j, "d", &du, &e), -1);
	assert_msg_has(e, "unknown field 'is_read_only'");
	json_decref(j);
	j = J("{\"iface_id\":\"n\",\"tx_rate_limiter\":{\"bandwidth\":{\"size\":5,\"refill_time\":6}}}");
	cr_assert_eq(config_json_net_update(j, "n", &nu, &e), 0, "%s", e.msg);
	cr_assert(nu.has_tx && !nu.has_rx);
	cr_assert_eq(nu.tx.bandwidth.refill_time_ms, 6);
	/* Only the bucket given changes; the other is kept. */
	cr_assert(nu.tx_change.bandwidth == &nu.tx.bandwidth && !nu.tx_change.ops);
	json_decref(j);
	j = J("{\"iface_id\":\"n\"}"); /* nothing to change: Firecracker answers 204 */
	cr_assert_eq(config_json_net_update(j, "n", &nu, &e), 0, "%s", e.msg);
	cr_assert(!nu.has_rx && !nu.has_tx);
	json_decref(j);
}

Test(config_json, logger_metrics_and_enums)
{
	struct logger_update lu;
	json_t *j = J("{\"log_path\":\"/l\",\"level\":\"Debug\",\"show_level\":true}");
	cr_assert_eq(config_json_logger(j, &lu, &e), 0, "%s", e.msg);
	cr_assert_str_eq(lu.path, "/l");
	cr_assert(lu.has_level && lu.level == LOG_DEBUG && lu.show_level && !lu.has_show_origin);
	json_decref(j);
	j = J("{\"level\":\"Loud\"}");
	cr_assert_eq(config_json_logger(j, &lu, &e), -1);
	assert_msg_has(e, "logger.level: 'Loud'");
	json_decref(j);
	struct metrics_update mu;
	j = J("{}");
	cr_assert_eq(config_json_metrics(j, &mu, &e), -1);
	assert_msg_has(e, "metrics_path: missing");
	json_decref(j);
	/* Firecracker's emit_id and properties: a map of strings, printed sorted, compact. */
	j = J("{\"metrics_path\":\"/m\",\"emit_id\":true,\"properties\":{\"b\":\"2\",\"a\":\"1\"}}");
	cr_assert_eq(config_json_metrics(j, &mu, &e), 0, "%s", e.msg);
	cr_assert(mu.emit_id);
	cr_assert_str_eq(mu.properties, "{\"a\":\"1\",\"b\":\"2\"}");
	free(mu.properties);
	json_decref(j);
	j = J("{\"metrics_path\":\"/m\",\"properties\":{\"a\":1}}");
	cr_assert_eq(config_json_metrics(j, &mu, &e), -1);
	assert_msg_has(e, "metrics.properties.a: expected a string");
	json_decref(j);
	static const char *const names[] = { "A", "B", NULL };
	int v = -1;
	j = J("{\"kind\":\"B\"}");
	cr_assert_eq(config_json_enum(j, "x", "kind", names, &v, &e), 0);
	cr_assert_eq(v, 1);
	json_decref(j);
	j = J("{\"kind\":\"B\",\"more\":1}");
	cr_assert_eq(config_json_enum(j, "x", "kind", names, &v, &e), -1);
	assert_msg_has(e, "unknown field 'more'");
	json_decref(j);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/ember-config-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char *full_file =
	"{\"boot-source\":{\"kernel_image_path\":\"/vmlinux\",\"boot_args\":\"console=ttyS0\"},"
	"\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":512},"
	"\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.ext4\",\"is_root_device\":true,"
	"\"is_read_only\":false,\"rate_limiter\":{\"bandwidth\":{\"size\":1,\"refill_time\":2}}},"
	"{\"drive_id\":\"scratch\",\"path_on_host\":\"/s\",\"is_root_device\":false,\"io_engine\":\"Async\"}],"
	"\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap7\",\"guest_mac\":"
	"\"06:00:00:00:00:01\"}],"
	"\"logger\":{\"level\":\"Info\",\"show_level\":true},"
	"\"metrics\":{\"metrics_path\":\"/m\"}}";

Test(config_json, file_loads_and_dump_round_trips)
{
	char *path = write_temp(full_file);
	cr_assert_eq(config_json_load_file(&cfg, path, &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, "/vmlinux");
	cr_assert_eq(cfg.machine.vcpus, 2);
	cr_assert_eq(cfg.ndrives, 2);
	cr_assert_eq(cfg.nnets, 1);
	cr_assert_eq(cfg.logger.level, LOG_INFO);
	cr_assert(cfg.logger.show_level);
	cr_assert_str_eq(cfg.metrics_path, "/m");
	char *first = dump(&cfg);

	/* The dump, as a file, gives the same configuration back. */
	char *path2 = write_temp(first);
	struct vm_config again;
	config_init(&again);
	cr_assert_eq(config_json_load_file(&again, path2, &e), 0, "%s", e.msg);
	char *second = dump(&again);
	cr_assert_str_eq(first, second);
	config_free(&again);
	free(first);
	free(second);
	unlink(path);
	unlink(path2);
	free(path);
	free(path2);
}

static void file_refused(const char *text, const char *needle)
{
	char *path = write_temp(text);
	struct vm_config c;
	config_init(&c);
	memset(&e, 0, sizeof(e));
	cr_assert_eq(config_json_load_file(&c, path, &e), -1, "accepted: %s", text);
	assert_msg_has(e, needle);
	assert_msg_has(e, path);
	config_free(&c);
	unlink(path);
	free(path);
}


Test(config_json, bad_files_are_refused_with_the_field)
{
	file_refused("{}", ": boot-source: missing");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"vsock\":{}}",
		     "vsock: ember has no vsock device (only null is taken)");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"pmem\":[{}]}",
		     "pmem: ember has no pmem device (only null or [] is taken)");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"gpu\":null}",
		     "unknown field 'gpu'");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"drives\":{}}",
		     "drives: expected an array");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"drives\":[{\"drive_id\":\"a\","
		     "\"path_on_host\":\"/a\",\"is_root_device\":false},{\"drive_id\":\"b\"}]}",
		     "drives[1]: drive.is_root_device: missing");
	file_refused("{\"boot-source\":{\"kernel_image_path\":\"/k\"}", "invalid JSON");
	memset(&e, 0, sizeof(e));
	cr_assert_eq(config_json_load_file(&cfg, "/nonexistent/ember.json", &e), -1);
	assert_msg_has(e, "config file /nonexistent/ember.json: No such file");
}

/* A file written for Firecracker names the devices ember lacks as null (pmem as []). */
Test(config_json, firecracker_files_with_absent_devices_load)
{
	char *path = write_temp("{\"boot-source\":{\"kernel_image_path\":\"/k\"},\"drives\":[],"
				"\"balloon\":null,\"vsock\":null,\"entropy\":null,"
				"\"mmds-config\":null,\"memory-hotplug\":null,\"pmem\":[],"
				"\"cpu-config\":null,\"logger\":null,\"metrics\":null,"
				"\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":64}}");
	cr_assert_eq(config_json_load_file(&cfg, path, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.machine.vcpus, 2u);
	cr_assert_str_eq(cfg.kernel_path, "/k");
	unlink(path);
	free(path);
}

/* The root drive is the guest's first disk, as in Firecracker: a new root goes in front,
   an existing drive made root swaps with the first, other updates stay in place. */
static void put_drive(const char *id, bool root)
{
	char body[160];
	snprintf(body, sizeof(body),
		 "{\"drive_id\":\"%s\",\"path_on_host\":\"/%s\",\"is_root_device\":%s}", id, id,
		 root ? "true" : "false");
	accepted(config_json_drive, id, body);
}

static void assert_drive_order(const char *want)
{
	char got[64] = "";
	for (unsigned i = 0; i < cfg.ndrives; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 cfg.drives[i].id);
	cr_assert_str_eq(got, want);
}

Test(config_json, root_drive_comes_first)
{
	put_drive("a", false);
	put_drive("b", false);
	put_drive("r", true);
	assert_drive_order("r a b");
	put_drive("c", false);
	assert_drive_order("r a b c");
	put_drive("r", false); /* no longer root: updated where it is */
	assert_drive_order("r a b c");
	put_drive("c", true); /* an existing drive made root swaps with the first */
	assert_drive_order("c a b r");
	refused(config_json_drive, "a",
		"{\"drive_id\":\"a\",\"path_on_host\":\"/a\",\"is_root_device\":true}",
		"drive 'c' is already the root device");
	char args[64];
	virtio_blk_root_args(&cfg, args, sizeof(args));
	cr_assert_str_eq(args, "root=/dev/vda rw");
}

/* PUT /logger: level in any case, and Firecracker's module filter (a source path prefix). */
Test(config_json, logger_level_any_case_and_module)
{
	struct logger_update u;
	json_t *j = J("{\"level\":\"info\",\"module\":\"virtio/blk\"}");
	cr_assert_eq(config_json_logger(j, &u, &e), 0, "%s", e.msg);
	cr_assert_eq(u.level, LOG_INFO);
	struct logger_config l = { .level = LOG_WARN };
	config_json_logger_apply(&l, &u); /* u points into the body until it is applied */
	json_decref(j);
	cr_assert_str_eq(l.module, "virtio/blk");
	cr_assert_eq(config_set_logger(&cfg, &l, &e), 0);
	json_t *dump = config_json_dump(&cfg);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(dump, "logger"), "module")),
			 "virtio/blk");
	json_decref(dump);
	const char *bad[][2] = { { "{\"level\":\"loud\"}", "logger.level: 'loud' is not one of" },
				 { "{\"module\":\"\"}", "must be 1-64 characters" },
				 { "{\"module\":\"a b\"}", "no spaces" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = J(bad[i][0]);
		cr_assert_eq(config_json_logger(j, &u, &e), -1, "%s", bad[i][0]);
		assert_msg_has(e, bad[i][1]);
		json_decref(j);
	}
}

/* GET /vm/config prints every key of Firecracker's layout; those ember lacks are null (pmem
   []), and the result loads again as a config file. */
Test(config_json, dump_has_firecrackers_keys)
{
	accepted(boot_source, NULL, "{\"kernel_image_path\":\"/k\"}");
	json_t *d = config_json_dump(&cfg);
	const char *nulls[] = { "balloon", "vsock", "entropy", "mmds-config", "memory-hotplug",
				"cpu-config" };
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		cr_assert(json_is_null(json_object_get(d, nulls[i])), "%s", nulls[i]);
	cr_assert_eq(json_array_size(json_object_get(d, "pmem")), 0);
	cr_assert(json_is_array(json_object_get(d, "pmem")));
	struct vm_config again;
	config_init(&again);
	cr_assert_eq(config_json_load(&again, d, &e), 0, "%s", e.msg);
	config_free(&again);
	json_decref(d);
}
