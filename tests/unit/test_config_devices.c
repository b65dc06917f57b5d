/*
 * Drives and network interfaces in the configuration: config_put_drive, config_put_net,
 * config_parse_mac, and the --drive / --net flags that call them. A refused setter or
 * flag leaves the configuration exactly as it was, and says in one line what was wrong.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../config/config.h"
#include "../../config/flags.h"
#include "flags_harness.h"


static struct drive_config drive(const char *id, const char *path)
{
	struct drive_config d = { .path = (char *)(uintptr_t)path };
	snprintf(d.id, sizeof(d.id), "%s", id);
	return d;
}

static struct net_config net(const char *id, const char *tap)
{
	struct net_config n = { .has_mac = false };
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.tap, sizeof(n.tap), "%s", tap);
	return n;
}

/* A deep snapshot of what a refused call must leave alone. */
struct snap {
	struct vm_config cfg;
	char paths[CONFIG_MAX_DEVICES][64];
};

static void snap_take(struct snap *s)
{
	memcpy(&s->cfg, &cfg, sizeof(cfg));
	for (unsigned i = 0; i < cfg.ndrives; i++)
		snprintf(s->paths[i], sizeof(s->paths[i]), "%s", cfg.drives[i].path);
}

static void snap_same(const struct snap *s, const char *what)
{
	cr_assert_eq(memcmp(&s->cfg, &cfg, sizeof(cfg)), 0, "%s changed the configuration", what);
	for (unsigned i = 0; i < cfg.ndrives; i++)
		cr_assert_str_eq(cfg.drives[i].path, s->paths[i], "%s changed drive %u's path", what,
				 i);
}

#define assert_msg_is(want) cr_assert_str_eq(e.msg, (want))

/* ------------------------------------------------------------------ config_put_drive */

TestSuite(config_drive, .init = setup, .fini = teardown);

Test(config_drive, add_copies_everything)
{
	char path[] = "/var/lib/img/rootfs.ext4";
	struct drive_config d = drive("rootfs", path);
	d.read_only = true;
	d.is_root = true;
	d.engine = DRIVE_ENGINE_ASYNC;
	d.rate_limiter.bandwidth = (struct token_bucket_config){ 1000, 50, 100 };
	d.rate_limiter.ops = (struct token_bucket_config){ 10, 0, 1000 };
	cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 1);
	const struct drive_config *got = &cfg.drives[0];
	cr_assert_str_eq(got->id, "rootfs");
	cr_assert_str_eq(got->path, "/var/lib/img/rootfs.ext4");
	cr_assert_neq(got->path, path, "the path was not copied");
	cr_assert(got->read_only);
	cr_assert(got->is_root);
	cr_assert_eq(got->engine, DRIVE_ENGINE_ASYNC);
	cr_assert_eq(got->rate_limiter.bandwidth.size, 1000);
	cr_assert_eq(got->rate_limiter.bandwidth.one_time_burst, 50);
	cr_assert_eq(got->rate_limiter.bandwidth.refill_time_ms, 100);
	cr_assert_eq(got->rate_limiter.ops.size, 10);
	cr_assert_eq(got->rate_limiter.ops.refill_time_ms, 1000);
	/* The caller's buffer is its own again. */
	memset(path, 'x', sizeof(path) - 1);
	cr_assert_str_eq(cfg.drives[0].path, "/var/lib/img/rootfs.ext4");
}

Test(config_drive, drives_keep_their_order)
{
	const char *ids[] = { "a", "b", "c" };
	const char *paths[] = { "/a", "/b", "/c" };
	for (unsigned i = 0; i < 3; i++) {
		struct drive_config d = drive(ids[i], paths[i]);
		cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	}
	cr_assert_eq(cfg.ndrives, 3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_str_eq(cfg.drives[i].id, ids[i]);
		cr_assert_str_eq(cfg.drives[i].path, paths[i]);
	}
}

Test(config_drive, same_id_replaces_in_place)
{
	struct drive_config a = drive("a", "/a"), b = drive("b", "/b");
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0);
	cr_assert_eq(config_put_drive(&cfg, &b, &e), 0);
	struct drive_config a2 = drive("a", "/a2");
	a2.read_only = true;
	cr_assert_eq(config_put_drive(&cfg, &a2, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 2, "a replacement added a drive");
	cr_assert_str_eq(cfg.drives[0].id, "a");
	cr_assert_str_eq(cfg.drives[0].path, "/a2");
	cr_assert(cfg.drives[0].read_only);
	cr_assert_str_eq(cfg.drives[1].path, "/b");
}

Test(config_drive, second_root_refused)
{
	struct drive_config a = drive("a", "/a"), b = drive("b", "/b");
	a.is_root = b.is_root = true;
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0, "%s", e.msg);
	struct snap s;
	snap_take(&s);
	cr_assert_eq(config_put_drive(&cfg, &b, &e), -1);
	assert_msg_is("drive 'b': drive 'a' is already the root device");
	snap_same(&s, "a refused second root");
	/* Not a root: fine. */
	b.is_root = false;
	cr_assert_eq(config_put_drive(&cfg, &b, &e), 0, "%s", e.msg);
}

Test(config_drive, root_drive_may_replace_itself)
{
	struct drive_config a = drive("a", "/a");
	a.is_root = true;
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0);
	a.path = "/a-new";
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 1);
	cr_assert_str_eq(cfg.drives[0].path, "/a-new");
	/* And the root can move to another drive once the old one stops being it. */
	a.is_root = false;
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0, "%s", e.msg);
	struct drive_config b = drive("b", "/b");
	b.is_root = true;
	cr_assert_eq(config_put_drive(&cfg, &b, &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.drives[0].id, "b", "the root drive is the first disk");
	cr_assert_str_eq(cfg.drives[1].id, "a");
}

Test(config_drive, empty_or_missing_path)
{
	struct drive_config d = drive("d0", "");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'd0': path is empty");
	d.path = NULL;
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'd0': path is empty");
	cr_assert_eq(cfg.ndrives, 0);
}

Test(config_drive, empty_path_does_not_replace)
{
	struct drive_config d = drive("d0", "/good");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), 0);
	struct snap s;
	snap_take(&s);
	d.path = "";
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	snap_same(&s, "a refused replacement");
}

Test(config_drive, bad_ids)
{
	const char *bad[] = { "a b", "a/b", "../x", "a.b", "a,b", "x=y" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct drive_config d = drive(bad[i], "/p");
		cr_assert_eq(config_put_drive(&cfg, &d, &e), -1, "id '%s' accepted", bad[i]);
		char want[128];
		snprintf(want, sizeof(want),
			 "drive id '%s' may hold only letters, digits, '-' and '_'", bad[i]);
		assert_msg_is(want);
	}
	struct drive_config d = drive("", "/p");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive id must be 1-64 characters");
	cr_assert_eq(cfg.ndrives, 0);
}

Test(config_drive, id_of_64_characters)
{
	struct drive_config d = drive("", "/p");
	memset(d.id, 'z', CONFIG_MAX_ID);
	d.id[CONFIG_MAX_ID] = 0;
	cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	cr_assert_eq(strlen(cfg.drives[0].id), CONFIG_MAX_ID);
}

Test(config_drive, twentieth_device_refused)
{
	char id[16];
	for (unsigned i = 0; i < CONFIG_MAX_DEVICES; i++) {
		snprintf(id, sizeof(id), "x%u", i);
		struct drive_config d = drive(id, "/p");
		cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "drive %u: %s", i, e.msg);
	}
	cr_assert_eq(cfg.ndrives, 19);
	struct snap s;
	snap_take(&s);
	struct drive_config d = drive("x19", "/p");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'x19': at most 19 drives and network interfaces");
	snap_same(&s, "the 20th drive");
	/* Replacing one of the 19 is still fine. */
	d = drive("x7", "/new");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.drives[7].path, "/new");
}

Test(config_drive, drives_and_nets_share_the_limit)
{
	char id[16], tap[16];
	for (unsigned i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "d%u", i);
		struct drive_config d = drive(id, "/p");
		cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	}
	for (unsigned i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "n%u", i);
		snprintf(tap, sizeof(tap), "tap%u", i);
		struct net_config n = net(id, tap);
		cr_assert_eq(config_put_net(&cfg, &n, &e), 0, "%s", e.msg);
	}
	struct drive_config d = drive("d10", "/p");
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'd10': at most 19 drives and network interfaces");
	struct net_config n = net("n9", "tap9");
	cr_assert_eq(config_put_net(&cfg, &n, &e), -1);
	assert_msg_is("network interface 'n9': at most 19 drives and network interfaces");
	cr_assert_eq(cfg.ndrives, 10);
	cr_assert_eq(cfg.nnets, 9);
}

Test(config_drive, rate_limiter_out_of_range)
{
	struct drive_config d = drive("d", "/p");
	d.rate_limiter.bandwidth.size = (uint64_t)INT64_MAX + 1;
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'd': rate limiter value out of range");
	d = drive("d", "/p");
	d.rate_limiter.ops.refill_time_ms = UINT64_MAX / 1000000 + 1;
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	assert_msg_is("drive 'd': rate limiter value out of range");
	cr_assert_eq(cfg.ndrives, 0);
}

Test(config_drive, free_releases_paths)
{
	/* Under ASan a leaked or double-freed path fails this test. */
	struct drive_config a = drive("a", "/a"), b = drive("b", "/b");
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0);
	cr_assert_eq(config_put_drive(&cfg, &b, &e), 0);
	a.path = "/a2";
	cr_assert_eq(config_put_drive(&cfg, &a, &e), 0);
	config_free(&cfg);
	cr_assert_eq(cfg.ndrives, 0);
}

/* ------------------------------------------------------------------ config_put_net */

TestSuite(config_net, .init = setup, .fini = teardown);

Test(config_net, add_copies_everything)
{
	struct net_config n = net("eth0", "tap0");
	n.has_mac = true;
	memcpy(n.mac, (uint8_t[]){ 6, 0, 0xac, 0x10, 0, 2 }, 6);
	n.rx.bandwidth = (struct token_bucket_config){ 100, 0, 10 };
	n.tx.ops = (struct token_bucket_config){ 5, 1, 20 };
	cr_assert_eq(config_put_net(&cfg, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.nnets, 1);
	cr_assert_str_eq(cfg.nets[0].id, "eth0");
	cr_assert_str_eq(cfg.nets[0].tap, "tap0");
	cr_assert(cfg.nets[0].has_mac);
	cr_assert_arr_eq(cfg.nets[0].mac, ((uint8_t[]){ 6, 0, 0xac, 0x10, 0, 2 }), 6);
	cr_assert_eq(cfg.nets[0].rx.bandwidth.size, 100);
	cr_assert_eq(cfg.nets[0].tx.ops.one_time_burst, 1);
}

Test(config_net, same_id_replaces)
{
	struct net_config a = net("a", "tap0"), b = net("b", "tap1");
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0);
	cr_assert_eq(config_put_net(&cfg, &b, &e), 0);
	/* Replacing keeps its own TAP: not a duplicate of itself. */
	a.has_mac = true;
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0, "%s", e.msg);
	a = net("a", "tap2");
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg.nnets, 2);
	cr_assert_str_eq(cfg.nets[0].tap, "tap2");
	/* Now tap0 is free again. */
	struct net_config c = net("c", "tap0");
	cr_assert_eq(config_put_net(&cfg, &c, &e), 0, "%s", e.msg);
}

Test(config_net, duplicate_tap)
{
	struct net_config a = net("a", "tap0"), b = net("b", "tap0");
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0);
	struct snap s;
	snap_take(&s);
	cr_assert_eq(config_put_net(&cfg, &b, &e), -1);
	assert_msg_is("network interface 'b': TAP 'tap0' is already used by 'a'");
	snap_same(&s, "a duplicate TAP");
}

Test(config_net, duplicate_tap_on_replace)
{
	struct net_config a = net("a", "tap0"), b = net("b", "tap1");
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0);
	cr_assert_eq(config_put_net(&cfg, &b, &e), 0);
	struct snap s;
	snap_take(&s);
	b = net("b", "tap0");
	cr_assert_eq(config_put_net(&cfg, &b, &e), -1);
	assert_msg_is("network interface 'b': TAP 'tap0' is already used by 'a'");
	snap_same(&s, "a replacement onto a used TAP");
}

Test(config_net, duplicate_mac)
{
	struct net_config a = net("a", "tap0"), b = net("b", "tap1");
	a.has_mac = b.has_mac = true;
	memcpy(a.mac, (uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6);
	memcpy(b.mac, a.mac, 6);
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0);
	struct snap s;
	snap_take(&s);
	cr_assert_eq(config_put_net(&cfg, &b, &e), -1);
	assert_msg_is("network interface 'b': MAC is already used by 'a'");
	snap_same(&s, "a duplicate MAC");
	/* One byte apart: fine. */
	b.mac[5] = 0x57;
	cr_assert_eq(config_put_net(&cfg, &b, &e), 0, "%s", e.msg);
}

Test(config_net, unset_macs_never_collide)
{
	/* Both "no MAC" (mac bytes all zero): the guests pick their own. */
	struct net_config a = net("a", "tap0"), b = net("b", "tap1");
	cr_assert_eq(config_put_net(&cfg, &a, &e), 0);
	cr_assert_eq(config_put_net(&cfg, &b, &e), 0, "%s", e.msg);
	/* An unset MAC next to a set one that happens to hold the same bytes. */
	struct net_config c = net("c", "tap2");
	c.has_mac = true;
	cr_assert_eq(config_put_net(&cfg, &c, &e), 0, "%s", e.msg);
}

Test(config_net, tap_name_length)
{
	struct net_config n = net("a", "");
	memset(n.tap, 'x', IFNAMSIZ - 1); /* 15 characters and the NUL: fits */
	n.tap[IFNAMSIZ - 1] = 0;
	cr_assert_eq(config_put_net(&cfg, &n, &e), 0, "%s", e.msg);
	struct snap s;
	snap_take(&s);
	/* 16 characters fill the field with no terminator at all. */
	struct net_config b = net("b", "");
	memset(b.tap, 'y', IFNAMSIZ);
	cr_assert_eq(config_put_net(&cfg, &b, &e), -1);
	assert_msg_is("network interface 'b': TAP name must be 1-15 characters");
	b = net("b", "");
	cr_assert_eq(config_put_net(&cfg, &b, &e), -1);
	assert_msg_is("network interface 'b': TAP name must be 1-15 characters");
	snap_same(&s, "a bad TAP name");
}

Test(config_net, bad_id)
{
	struct net_config n = net("a b", "tap0");
	cr_assert_eq(config_put_net(&cfg, &n, &e), -1);
	assert_msg_is("network interface id 'a b' may hold only letters, digits, '-' and '_'");
	n = net("", "tap0");
	cr_assert_eq(config_put_net(&cfg, &n, &e), -1);
	assert_msg_is("network interface id must be 1-64 characters");
	cr_assert_eq(cfg.nnets, 0);
}

Test(config_net, rate_limiter_out_of_range)
{
	struct net_config n = net("a", "tap0");
	n.tx.bandwidth.one_time_burst = UINT64_MAX;
	cr_assert_eq(config_put_net(&cfg, &n, &e), -1);
	assert_msg_is("network interface 'a': rate limiter value out of range");
	n = net("a", "tap0");
	n.rx.ops.size = UINT64_MAX;
	cr_assert_eq(config_put_net(&cfg, &n, &e), -1);
	cr_assert_eq(cfg.nnets, 0);
}

/* ------------------------------------------------------------------ config_parse_mac */

TestSuite(config_mac, .init = setup, .fini = teardown);

Test(config_mac, good)
{
	uint8_t mac[6];
	cr_assert_eq(config_parse_mac("52:54:00:12:34:56", mac, &e), 0, "%s", e.msg);
	cr_assert_arr_eq(mac, ((uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }), 6);
	cr_assert_eq(config_parse_mac("06:00:AC:10:fF:02", mac, &e), 0, "%s", e.msg);
	cr_assert_arr_eq(mac, ((uint8_t[]){ 0x06, 0x00, 0xac, 0x10, 0xff, 0x02 }), 6);
	cr_assert_eq(config_parse_mac("00:00:00:00:00:00", mac, &e), 0);
	cr_assert_arr_eq(mac, ((uint8_t[]){ 0, 0, 0, 0, 0, 0 }), 6);
}

Test(config_mac, bad)
{
	const char *bad[] = {
		"52:54:00:12:34",       "52:54:00:12:34:5g",    "52-54-00-12-34-56",
		"52:54:00:12:34:56:",   "52:54:00:12:34:56x",   "52:54:00:12:34:56 ",
		" 52:54:00:12:34:56",   "",                     "5:54:00:12:34:56",
		"525:54:00:12:34:56",   "52:54:00:12:34:5",     "52:54:00:12:34:567",
		"52:54:00:12:34:",      "52::54:00:12:34:56",   "52545400123456",
		"52:54:00:12:34:56:78", "0x:54:00:12:34:56",    "g2:54:00:12:34:56",
		":52:54:00:12:34:56",   "52:54:00:12:34:-6",    "52.54.00.12.34.56",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t mac[6];
		memset(&e, 0, sizeof(e));
		cr_assert_eq(config_parse_mac(bad[i], mac, &e), -1, "MAC '%s' accepted", bad[i]);
		char want[128];
		snprintf(want, sizeof(want), "MAC '%s' is not six hex bytes like 06:00:ac:10:00:02",
			 bad[i]);
		assert_msg_is(want);
	}
}

/* ------------------------------------------------------------------ --drive, --net */

TestSuite(flags_devices, .init = setup, .fini = teardown);

Test(flags_devices, drive_every_option)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive",
			   "path=/img/root.ext4,ro,root,id=rootfs,engine=async,bw=1048576/1000+2048,"
			   "iops=100/500"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 1);
	const struct drive_config *d = &cfg.drives[0];
	cr_assert_str_eq(d->path, "/img/root.ext4");
	cr_assert_str_eq(d->id, "rootfs");
	cr_assert(d->read_only);
	cr_assert(d->is_root);
	cr_assert_eq(d->engine, DRIVE_ENGINE_ASYNC);
	cr_assert_eq(d->rate_limiter.bandwidth.size, 1048576);
	cr_assert_eq(d->rate_limiter.bandwidth.refill_time_ms, 1000);
	cr_assert_eq(d->rate_limiter.bandwidth.one_time_burst, 2048);
	cr_assert_eq(d->rate_limiter.ops.size, 100);
	cr_assert_eq(d->rate_limiter.ops.refill_time_ms, 500);
	cr_assert_eq(d->rate_limiter.ops.one_time_burst, 0);
}

Test(flags_devices, drive_defaults)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=a.img", "--drive=path=b.img"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 2);
	cr_assert_str_eq(cfg.drives[0].id, "drive0");
	cr_assert_str_eq(cfg.drives[0].path, "a.img");
	cr_assert_not(cfg.drives[0].read_only);
	cr_assert_not(cfg.drives[0].is_root);
	cr_assert_eq(cfg.drives[0].engine, DRIVE_ENGINE_SYNC);
	cr_assert_eq(cfg.drives[0].rate_limiter.bandwidth.size, 0, "unlimited by default");
	cr_assert_eq(cfg.drives[0].rate_limiter.ops.size, 0);
	cr_assert_str_eq(cfg.drives[1].id, "drive1");
	cr_assert_str_eq(cfg.drives[1].path, "b.img");
}

Test(flags_devices, drive_engine_sync_and_empty_words)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "engine=async,,path=x,engine=sync,"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.drives[0].engine, DRIVE_ENGINE_SYNC, "the later engine= wins");
	cr_assert_str_eq(cfg.drives[0].path, "x");
}

Test(flags_devices, drive_same_id_replaces)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=a,id=d", "--drive", "path=b,id=d,ro"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 1);
	cr_assert_str_eq(cfg.drives[0].path, "b");
	cr_assert(cfg.drives[0].read_only);
}

static void drive_refused(const char *opts, const char *want)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=/keep,id=keep"), FLAGS_RUN, "%s",
		     e.msg);
	struct snap s;
	snap_take(&s);
	cr_assert_eq(PARSE("--drive", opts), FLAGS_ERROR, "--drive '%s' accepted", opts);
	cr_assert_str_eq(e.msg, want, "--drive '%s'", opts);
	cr_assert_null(strchr(e.msg, '\n'), "more than one line");
	snap_same(&s, opts);
}

Test(flags_devices, drive_unknown_option)
{
	drive_refused("path=a,bogus", "--drive: unknown option 'bogus' (path, ro, root, id, engine, "
				      "bw, iops)");
	drive_refused("path=a,size=10",
		      "--drive: unknown option 'size' (path, ro, root, id, engine, bw, iops)");
}

Test(flags_devices, drive_boolean_with_a_value)
{
	drive_refused("path=a,ro=1", "--drive: 'ro' takes no value");
	drive_refused("path=a,root=yes", "--drive: 'root' takes no value");
	drive_refused("path=a,ro=", "--drive: 'ro' takes no value");
}

Test(flags_devices, drive_missing_path)
{
	drive_refused("ro", "--drive: path=FILE is required");
	drive_refused("id=x,engine=sync", "--drive: path=FILE is required");
	drive_refused("", "--drive: path=FILE is required");
	drive_refused(",,,", "--drive: path=FILE is required");
	drive_refused("path=", "--drive: 'path' needs a value (path=...)");
	drive_refused("path", "--drive: 'path' needs a value (path=...)");
}

Test(flags_devices, drive_bad_id)
{
	drive_refused("path=a,id=", "--drive: 'id' needs a value (id=...)");
	drive_refused("path=a,id=a.b",
		      "--drive: drive id 'a.b' may hold only letters, digits, '-' and '_'");
}

Test(flags_devices, drive_bad_engine)
{
	drive_refused("path=a,engine=bogus", "--drive: engine must be sync or async");
	drive_refused("path=a,engine", "--drive: engine must be sync or async");
	drive_refused("path=a,engine=", "--drive: engine must be sync or async");
	drive_refused("path=a,engine=SYNC", "--drive: engine must be sync or async");
}

Test(flags_devices, drive_bad_rate_limits)
{
	drive_refused("path=a,bw=100",
		      "--drive: rate limit '100': expected SIZE/REFILL_MS[+BURST]");
	drive_refused("path=a,bw", "--drive: rate limit '': expected SIZE/REFILL_MS[+BURST]");
	drive_refused("path=a,bw=0/1000", "--drive: rate limit '0/1000': size must be > 0");
	drive_refused("path=a,iops=10/0", "--drive: rate limit '10/0': refill time must be > 0");
	drive_refused("path=a,bw=10M/1000",
		      "--drive: rate limit '10M/1000': size '10M' is not a number");
	drive_refused("path=a,iops=10/1s",
		      "--drive: rate limit '10/1s': refill time '1s' is not a number");
	drive_refused("path=a,bw=10/100+",
		      "--drive: rate limit '10/100+': burst '' is not a number");
	drive_refused("path=a,bw=99999999999999999999/1",
		      "--drive: rate limit '99999999999999999999/1': size '99999999999999999999' "
		      "is too large");
}

Test(flags_devices, drive_second_root)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=a,root", "--drive", "path=b,root"),
		     FLAGS_ERROR);
	assert_msg_is("drive 'drive1': drive 'drive0' is already the root device");
	cr_assert_eq(cfg.ndrives, 1);
}

Test(flags_devices, drive_value_too_long)
{
	static char opts[5000];
	memcpy(opts, "path=", 5);
	memset(opts + 5, 'p', sizeof(opts) - 6);
	drive_refused(opts, "--drive: value is longer than 4095 bytes");
}

Test(flags_devices, net_every_option)
{
	cr_assert_eq(PARSE("--kernel", "k", "--net",
			   "tap=tap-vm1,mac=06:00:AC:10:00:02,id=eth0,rx_bw=1000/10,rx_ops=10/20+5,"
			   "tx_bw=2000/30,tx_ops=40/50"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.nnets, 1);
	const struct net_config *n = &cfg.nets[0];
	cr_assert_str_eq(n->tap, "tap-vm1");
	cr_assert_str_eq(n->id, "eth0");
	cr_assert(n->has_mac);
	cr_assert_arr_eq(n->mac, ((uint8_t[]){ 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 }), 6);
	cr_assert_eq(n->rx.bandwidth.size, 1000);
	cr_assert_eq(n->rx.bandwidth.refill_time_ms, 10);
	cr_assert_eq(n->rx.ops.size, 10);
	cr_assert_eq(n->rx.ops.refill_time_ms, 20);
	cr_assert_eq(n->rx.ops.one_time_burst, 5);
	cr_assert_eq(n->tx.bandwidth.size, 2000);
	cr_assert_eq(n->tx.bandwidth.refill_time_ms, 30);
	cr_assert_eq(n->tx.ops.size, 40);
	cr_assert_eq(n->tx.ops.refill_time_ms, 50);
}

Test(flags_devices, net_defaults)
{
	cr_assert_eq(PARSE("--kernel", "k", "--net", "tap=t0", "--net", "tap=t1"), FLAGS_RUN, "%s",
		     e.msg);
	cr_assert_eq(cfg.nnets, 2);
	cr_assert_str_eq(cfg.nets[0].id, "net0");
	cr_assert_str_eq(cfg.nets[1].id, "net1");
	cr_assert_not(cfg.nets[0].has_mac);
	cr_assert_eq(cfg.nets[0].rx.bandwidth.size, 0);
	cr_assert_eq(cfg.nets[0].tx.ops.size, 0);
}

static void net_refused(const char *opts, const char *want)
{
	cr_assert_eq(PARSE("--kernel", "k", "--net", "tap=keep0,mac=52:54:00:00:00:01,id=keep"),
		     FLAGS_RUN, "%s", e.msg);
	struct snap s;
	snap_take(&s);
	cr_assert_eq(PARSE("--net", opts), FLAGS_ERROR, "--net '%s' accepted", opts);
	cr_assert_str_eq(e.msg, want, "--net '%s'", opts);
	cr_assert_null(strchr(e.msg, '\n'), "more than one line");
	snap_same(&s, opts);
}

Test(flags_devices, net_bad_mac)
{
	net_refused("tap=t,mac=52:54:00:12:34",
		    "--net: MAC '52:54:00:12:34' is not six hex bytes like 06:00:ac:10:00:02");
	net_refused("tap=t,mac=52:54:00:12:34:5g",
		    "--net: MAC '52:54:00:12:34:5g' is not six hex bytes like 06:00:ac:10:00:02");
	net_refused("tap=t,mac=52-54-00-12-34-56",
		    "--net: MAC '52-54-00-12-34-56' is not six hex bytes like 06:00:ac:10:00:02");
	net_refused("tap=t,mac=52:54:00:12:34:56:",
		    "--net: MAC '52:54:00:12:34:56:' is not six hex bytes like 06:00:ac:10:00:02");
	net_refused("tap=t,mac=52:54:00:12:34:567",
		    "--net: MAC '52:54:00:12:34:567' is not six hex bytes like 06:00:ac:10:00:02");
	net_refused("tap=t,mac=", "--net: 'mac' needs a value (mac=...)");
	net_refused("tap=t,mac", "--net: 'mac' needs a value (mac=...)");
}

Test(flags_devices, net_long_tap_name)
{
	net_refused("tap=0123456789abcdef",
		    "--net: TAP name '0123456789abcdef' is longer than 15 characters");
	net_refused("tap=", "--net: 'tap' needs a value (tap=...)");
}

Test(flags_devices, net_tap_of_15_characters)
{
	cr_assert_eq(PARSE("--kernel", "k", "--net", "tap=0123456789abcde"), FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.nets[0].tap, "0123456789abcde");
}

Test(flags_devices, net_missing_tap)
{
	net_refused("mac=52:54:00:12:34:56", "--net: tap=NAME is required");
	net_refused("id=x", "--net: tap=NAME is required");
}

Test(flags_devices, net_unknown_option)
{
	net_refused("tap=t,foo=1",
		    "--net: unknown option 'foo' (tap, mac, id, rx_bw, rx_ops, tx_bw, tx_ops)");
	net_refused("tap=t,bw=1/1",
		    "--net: unknown option 'bw' (tap, mac, id, rx_bw, rx_ops, tx_bw, tx_ops)");
}

Test(flags_devices, net_bad_rate_limit)
{
	net_refused("tap=t,rx_bw=1/0", "--net: rate limit '1/0': refill time must be > 0");
	net_refused("tap=t,tx_ops=x", "--net: rate limit 'x': expected SIZE/REFILL_MS[+BURST]");
}

Test(flags_devices, net_duplicates)
{
	net_refused("tap=keep0", "network interface 'net0': TAP 'keep0' is already used by 'keep'");
	net_refused("tap=other,mac=52:54:00:00:00:01",
		    "network interface 'net0': MAC is already used by 'keep'");
}

Test(flags_devices, net_bad_id)
{
	net_refused("tap=t,id=a:b",
		    "--net: network interface id 'a:b' may hold only letters, digits, '-' and '_'");
}

Test(flags_devices, failure_in_a_later_flag_leaves_earlier_devices)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=a", "--net", "tap=t0", "--drive",
			   "path=b,engine=fast"),
		     FLAGS_ERROR);
	assert_msg_is("--drive: engine must be sync or async");
	cr_assert_eq(cfg.ndrives, 1);
	cr_assert_str_eq(cfg.drives[0].path, "a");
	cr_assert_eq(cfg.nnets, 1);
}

Test(flags_devices, help_lists_drive_and_net)
{
	cr_assert_eq(PARSE("--help"), FLAGS_DONE);
	cr_assert_not_null(strstr(out_buf, "--drive"), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "--net"), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "engine=sync|async"), "%s", out_buf);
}

/* A default id is one no device has yet: it never replaces a drive named by the user. */
Test(flags_devices, drive_without_id_does_not_replace_an_explicit_one)
{
	cr_assert_eq(PARSE("--kernel", "k", "--drive", "path=root.img,root,id=drive1", "--drive",
			   "path=data.img"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.ndrives, 2, "the second --drive replaced the first (%s, root=%d)",
		     cfg.drives[0].path, cfg.drives[0].is_root);
	cr_assert_str_eq(cfg.drives[1].id, "drive0");
}

Test(flags_devices, net_without_id_does_not_replace_an_explicit_one)
{
	cr_assert_eq(PARSE("--kernel", "k", "--net", "tap=tap0,id=net1", "--net", "tap=tap1"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.nnets, 2, "the second --net replaced the first (tap %s)", cfg.nets[0].tap);
	cr_assert_str_eq(cfg.nets[1].id, "net0");
}
