/* The jail's flags: what needs --jail, what --jail needs, and each value's checks. */
#include <stdio.h>
#include <stdlib.h>

#include "../../config/config.h"
#include "../../config/flags.h"
#include "../../jail/jail.h"
#include "flags_harness.h"

TestSuite(jail_flags, .init = setup, .fini = teardown);

#define JAILED "--kernel", "k", "--jail", "--id", "vm-1", "--uid", "1000", "--gid", "100"

Test(jail_flags, off_by_default)
{
	cr_assert_eq(PARSE("--kernel", "k"), FLAGS_RUN, "%s", e.msg);
	cr_assert(!launch.jail.enabled);
	cr_assert_str_eq(launch.jail.chroot_base, JAIL_DEFAULT_CHROOT_BASE);
}

Test(jail_flags, every_flag_sets_its_field)
{
	cr_assert_eq(PARSE(JAILED, "--chroot-base", "/var/jails", "--netns", "/var/run/netns/a",
			   "--cgroup", "pids.max=64", "--cgroup", "cpu.max=50000 100000",
			   "--resource-limit", "no-file=4096", "--resource-limit", "fsize=unlimited",
			   "--daemonize", "--new-pid-ns"),
		     FLAGS_RUN, "%s", e.msg);
	const struct jail_config *j = &launch.jail;
	cr_assert(j->enabled);
	cr_assert(j->has_uid && j->has_gid);
	cr_assert_eq(j->uid, 1000);
	cr_assert_eq(j->gid, 100);
	cr_assert_str_eq(j->chroot_base, "/var/jails");
	cr_assert_str_eq(j->netns, "/var/run/netns/a");
	cr_assert_eq(j->ncgroups, 2);
	cr_assert_str_eq(j->cgroups[1].key, "cpu.max");
	cr_assert_str_eq(j->cgroups[1].value, "50000 100000", "only the first '=' splits");
	cr_assert_eq(j->nrlimits, 2);
	cr_assert_str_eq(j->rlimits[0].key, "no-file");
	cr_assert_str_eq(j->rlimits[1].value, "unlimited");
	cr_assert(j->daemonize && j->new_pid_ns);
	cr_assert_str_eq(cfg.id, "vm-1");
}

Test(jail_flags, each_jail_flag_needs_jail)
{
	const char *alone[][2] = { { "--uid", "1" },	      { "--gid", "1" },
				   { "--chroot-base", "/x" }, { "--netns", "/n" },
				   { "--cgroup", "pids.max=1" }, { "--resource-limit", "fsize=1" },
				   { "--daemonize", NULL },   { "--new-pid-ns", NULL } };
	for (size_t i = 0; i < ARRAY_SIZE(alone); i++) {
		enum flags_result r = alone[i][1] ? PARSE("--kernel", "k", alone[i][0], alone[i][1]) :
						    PARSE("--kernel", "k", alone[i][0]);
		cr_assert_eq(r, FLAGS_ERROR, "%s accepted without --jail", alone[i][0]);
		char want[64];
		snprintf(want, sizeof(want), "%s needs --jail", alone[i][0]);
		assert_msg_has(e, want);
	}
}

Test(jail_flags, jail_needs_id_uid_gid)
{
	cr_assert_eq(PARSE("--kernel", "k", "--jail", "--uid", "1", "--gid", "1"), FLAGS_ERROR);
	assert_msg_has(e, "--jail needs --id");
	cr_assert_eq(PARSE("--kernel", "k", "--jail", "--id", "a", "--gid", "1"), FLAGS_ERROR);
	assert_msg_has(e, "--uid and --gid");
	cr_assert_eq(PARSE("--kernel", "k", "--jail", "--id", "a", "--uid", "1"), FLAGS_ERROR);
	assert_msg_has(e, "--uid and --gid");
}

Test(jail_flags, id_is_stricter_under_jail)
{
	cr_assert_eq(PARSE("--kernel", "k", "--id", "a_b"), FLAGS_RUN, "'_' is fine unjailed");
	cr_assert_eq(PARSE(JAILED, "--id", "a_b"), FLAGS_ERROR);
	assert_msg_has(e, "letters, digits and '-'");
	cr_assert_eq(PARSE(JAILED, "--id", "A-1-z"), FLAGS_RUN, "%s", e.msg);
	char longest[CONFIG_MAX_ID + 1];
	memset(longest, 'x', CONFIG_MAX_ID);
	longest[CONFIG_MAX_ID] = '\0';
	cr_assert_eq(PARSE(JAILED, "--id", longest), FLAGS_RUN, "%s", e.msg);
}

Test(jail_flags, uid_gid_range)
{
	cr_assert_eq(PARSE(JAILED, "--uid", "-1"), FLAGS_ERROR);
	assert_msg_has(e, "--uid: -1 is out of range");
	cr_assert_eq(PARSE(JAILED, "--gid", "4294967295"), FLAGS_ERROR);
	assert_msg_has(e, "--gid: 4294967295 is out of range");
	cr_assert_eq(PARSE(JAILED, "--uid", "abc"), FLAGS_ERROR);
	assert_msg_has(e, "not a number");
	cr_assert_eq(PARSE(JAILED, "--uid", "0", "--gid", "4294967294"), FLAGS_RUN, "%s", e.msg);
}

Test(jail_flags, chroot_base_is_absolute)
{
	cr_assert_eq(PARSE(JAILED, "--chroot-base", "srv"), FLAGS_ERROR);
	assert_msg_has(e, "--chroot-base: 'srv'");
	cr_assert_eq(PARSE(JAILED, "--chroot-base", "/"), FLAGS_ERROR);
}

Test(jail_flags, cgroup_values_checked)
{
	cr_assert_eq(PARSE(JAILED, "--cgroup", "pids.max"), FLAGS_ERROR);
	assert_msg_has(e, "--cgroup: 'pids.max' is not KEY=VALUE");
	cr_assert_eq(PARSE(JAILED, "--cgroup", "=1"), FLAGS_ERROR);
	cr_assert_eq(PARSE(JAILED, "--cgroup", "pids.max="), FLAGS_ERROR);
	cr_assert_eq(PARSE(JAILED, "--cgroup", "cgroup.procs=1"), FLAGS_ERROR);
	assert_msg_has(e, "cgroup core file");
	cr_assert_eq(PARSE(JAILED, "--cgroup", "memory.max/../x=1"), FLAGS_ERROR);
	assert_msg_has(e, "outside [a-z0-9_.]");
	cr_assert_eq(PARSE(JAILED, "--cgroup", "tasks=1"), FLAGS_ERROR);
	assert_msg_has(e, "not <controller>.<file>");
}

Test(jail_flags, too_many_cgroups)
{
	char *argv[64] = { "ember", JAILED };
	int argc = 10;
	for (int i = 0; i <= JAIL_MAX_CGROUPS; i++) {
		argv[argc++] = "--cgroup";
		argv[argc++] = "pids.max=1";
	}
	cr_assert_eq(flags_parse(argc, argv, &cfg, &launch, out, &e), FLAGS_ERROR);
	assert_msg_has(e, "at most 16");
}

Test(jail_flags, resource_limits_checked)
{
	cr_assert_eq(PARSE(JAILED, "--resource-limit", "stack=1"), FLAGS_ERROR);
	assert_msg_has(e, "--resource-limit: unknown resource limit 'stack'");
	cr_assert_eq(PARSE(JAILED, "--resource-limit", "no-file=-1"), FLAGS_ERROR);
	assert_msg_has(e, "'-1' is not a number or 'unlimited'");
	cr_assert_eq(PARSE(JAILED, "--resource-limit", "fsize=12k"), FLAGS_ERROR);
}

Test(jail_flags, help_lists_them)
{
	cr_assert_eq(PARSE("--help"), FLAGS_DONE);
	const char *names[] = { "--jail", "--uid UID", "--gid GID", "--chroot-base DIR",
				"--netns PATH", "--cgroup KEY=VALUE", "--resource-limit KEY=VALUE",
				"--daemonize", "--new-pid-ns" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		cr_assert(strstr(out_buf, names[i]), "--help lacks %s", names[i]);
}
