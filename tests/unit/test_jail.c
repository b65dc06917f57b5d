/* The jail's pure pieces: paths inside, settings, cgroup keys and mounts, rlimits. */
#include <stdio.h>
#include <string.h>

#include "../../jail/cgroup.h"
#include "../../jail/jail.h"
#include "../../jail/rlimit.h"
#include "helpers.h"

static void inside_is(const char *path, const char *want)
{
	char out[256];
	struct errbuf e = { "" };
	cr_assert_eq(jail_inside_path(path, out, sizeof(out), &e), 0, "%s: %s", path, e.msg);
	cr_assert_str_eq(out, want, "%s", path);
}

Test(jail_paths, same_absolute_path_inside)
{
	inside_is("/srv/vm/vmlinux", "/srv/vm/vmlinux");
	inside_is("build/guest-min", "/build/guest-min"); /* relative: against the jail's / */
	inside_is("./build//guest-min", "/build/guest-min");
	inside_is("/a/./b/../c", "/a/c");
	inside_is("../../x", "/x"); /* nothing above the jail's root */
	inside_is("/a/b/", "/a/b");
}

Test(jail_paths, root_and_empty_refused)
{
	char out[64];
	struct errbuf e = { "" };
	cr_assert_eq(jail_inside_path("", out, sizeof(out), &e), -1);
	cr_assert_eq(jail_inside_path("/", out, sizeof(out), &e), -1);
	assert_msg_has(e, "the root itself");
	cr_assert_eq(jail_inside_path("/a/..", out, sizeof(out), &e), -1);
	cr_assert_eq(jail_inside_path("/0123456789/0123456789", out, 12, &e), -1);
	assert_msg_has(e, "too long");
}

Test(jail_settings, key_value_split)
{
	struct jail_setting s;
	struct errbuf e = { "" };
	cr_assert_eq(jail_setting_parse("cpu.max=50000 100000", &s, &e), 0, "%s", e.msg);
	cr_assert_str_eq(s.key, "cpu.max");
	cr_assert_str_eq(s.value, "50000 100000");
	cr_assert_eq(jail_setting_parse("a=b=c", &s, &e), 0);
	cr_assert_str_eq(s.value, "b=c");
	cr_assert_eq(jail_setting_parse("a=1\n", &s, &e), -1);
	assert_msg_has(e, "newline");
	char big[JAIL_VALUE_MAX + 8] = "k=";
	memset(big + 2, 'v', JAIL_VALUE_MAX);
	big[JAIL_VALUE_MAX + 2] = '\0';
	cr_assert_eq(jail_setting_parse(big, &s, &e), -1);
	assert_msg_has(e, "longer than");
}

Test(jail_settings, id_rule)
{
	struct errbuf e = { "" };
	cr_assert_eq(jail_check_id("vm-1", &e), 0);
	cr_assert_eq(jail_check_id("", &e), -1);
	cr_assert_eq(jail_check_id("a/b", &e), -1);
	cr_assert_eq(jail_check_id("..", &e), -1);
	cr_assert_eq(jail_check_id("a_b", &e), -1);
}

Test(jail_cgroup, key_to_controller)
{
	char c[32];
	const char *cases[][2] = { { "cpu.cfs_quota_us", "cpu" }, { "cpu.max", "cpu" },
				   { "memory.limit_in_bytes", "memory" }, { "memory.max", "memory" },
				   { "pids.max", "pids" }, { "cpuset.cpus", "cpuset" },
				   { "cpuacct.usage", "cpuacct" } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cr_assert_eq(cgroup_controller_of(cases[i][0], c, sizeof(c)), 0);
		cr_assert_str_eq(c, cases[i][1], "%s", cases[i][0]);
	}
	cr_assert_eq(cgroup_controller_of("tasks", c, sizeof(c)), -1);
	cr_assert_eq(cgroup_controller_of(".max", c, sizeof(c)), -1);
	cr_assert_eq(cgroup_controller_of("averyveryverylongcontrollername.max", c, 8), -1);
}

Test(jail_cgroup, keys_checked)
{
	struct errbuf e = { "" };
	cr_assert_eq(cgroup_check_key("memory.max", &e), 0);
	cr_assert_eq(cgroup_check_key("cpu.cfs_quota_us", &e), 0);
	cr_assert_eq(cgroup_check_key("cgroup.procs", &e), -1);
	cr_assert_eq(cgroup_check_key("cgroup.subtree_control", &e), -1);
	cr_assert_eq(cgroup_check_key("release_agent", &e), -1);
	cr_assert_eq(cgroup_check_key("memory.max/../../x", &e), -1);
	cr_assert_eq(cgroup_check_key("Memory.max", &e), -1);
	cr_assert_eq(cgroup_check_key("memory.", &e), -1);
}

/* This project's machines: v1 controllers, cpu and cpuacct apart, an almost empty v2. */
static const char hybrid[] =
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"42 31 0:39 / /sys/fs/cgroup/cpu\\040set rw - cgroup cgroup rw,cpuset\n";

static void parse(const char *text, struct cgroup_layout *l)
{
	struct errbuf e = { "" };
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	cr_assert_not_null(f);
	cr_assert_eq(cgroup_parse_mountinfo(f, l, &e), 0, "%s", e.msg);
	fclose(f);
}

Test(jail_cgroup, mountinfo_hybrid)
{
	static struct cgroup_layout l;
	parse(hybrid, &l);
	cr_assert_eq(l.n, 7, "six cgroup v1 mounts and one cgroup2; tmpfs and ext4 are not");
	cr_assert_str_eq(cgroup_v1_find(&l, "cpu")->path, "/sys/fs/cgroup/cpu");
	cr_assert_str_eq(cgroup_v1_find(&l, "cpuacct")->path, "/sys/fs/cgroup/cpuacct");
	cr_assert_str_eq(cgroup_v1_find(&l, "memory")->path, "/sys/fs/cgroup/memory",
			 "optional fields before '-' are skipped");
	cr_assert_str_eq(cgroup_v1_find(&l, "pids")->path, "/sys/fs/cgroup/pids");
	cr_assert_str_eq(cgroup_v1_find(&l, "cpuset")->path, "/sys/fs/cgroup/cpu set",
			 "\\040 unescaped");
	cr_assert_null(cgroup_v1_find(&l, "systemd"), "name=systemd is no controller");
	cr_assert_null(cgroup_v1_find(&l, "blkio"));
	cr_assert_str_eq(cgroup_v2_find(&l)->path, "/sys/fs/cgroup/unified");
}

Test(jail_cgroup, mountinfo_combined_and_pure_v2)
{
	static struct cgroup_layout l;
	parse("30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", &l);
	cr_assert_eq(cgroup_v1_find(&l, "cpu"), cgroup_v1_find(&l, "cpuacct"),
		     "one hierarchy for both");
	cr_assert_null(cgroup_v1_find(&l, "cpuac"), "whole words only");
	cr_assert_null(cgroup_v2_find(&l));
	parse("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", &l);
	cr_assert_eq(l.n, 1);
	cr_assert_str_eq(cgroup_v2_find(&l)->path, "/sys/fs/cgroup");
	cr_assert_null(cgroup_v1_find(&l, "cpu"));
}

Test(jail_rlimit, names_and_values)
{
	struct errbuf e = { "" };
	int res;
	rlim_t lim;
	cr_assert_eq(jail_rlimit_parse("no-file", "2048", &res, &lim, &e), 0, "%s", e.msg);
	cr_assert_eq(res, RLIMIT_NOFILE);
	cr_assert_eq(lim, 2048);
	cr_assert_eq(jail_rlimit_parse("fsize", "unlimited", &res, &lim, &e), 0);
	cr_assert_eq(res, RLIMIT_FSIZE);
	cr_assert_eq(lim, RLIM_INFINITY);
	cr_assert_eq(jail_rlimit_parse("core", "0", &res, &lim, &e), 0);
	cr_assert_eq(res, RLIMIT_CORE);
	cr_assert_eq(jail_rlimit_parse("nofile", "1", &res, &lim, &e), -1);
	assert_msg_has(e, "unknown resource limit 'nofile'");
	cr_assert_eq(jail_rlimit_parse("fsize", "", &res, &lim, &e), -1);
	cr_assert_eq(jail_rlimit_parse("fsize", "1x", &res, &lim, &e), -1);
	cr_assert_eq(jail_rlimit_parse("fsize", "-5", &res, &lim, &e), -1);
	cr_assert_eq(jail_rlimit_parse("fsize", "99999999999999999999999", &res, &lim, &e), -1);
}
