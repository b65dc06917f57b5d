/* Command-line flags into vm_config, and the config setters' own rules. */
#include <stdio.h>
#include <stdlib.h>

#include "../../config/config.h"
#include "../../config/flags.h"
#include "../../lib/version.h"
#include "flags_harness.h"


TestSuite(flags, .init = setup, .fini = teardown);

Test(flags, kernel_alone_boots_with_defaults)
{
	cr_assert_eq(PARSE("--kernel", "vmlinux"), FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, "vmlinux");
	cr_assert_null(cfg.initrd_path);
	cr_assert_null(cfg.cmdline);
	cr_assert_eq(cfg.machine.vcpus, 1);
	cr_assert_eq(cfg.machine.mem_mib, 128);
	cr_assert_eq(out_len, 0, "nothing printed for a normal run");
}

Test(flags, every_flag_sets_its_field)
{
	cr_assert_eq(PARSE("--kernel", "k", "--initrd", "rd.img", "--cmdline", "quiet loglevel=3",
			   "--vcpus", "4", "--mem", "256", "--id", "vm-1_a", "--level", "Debug"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, "k");
	cr_assert_str_eq(cfg.initrd_path, "rd.img");
	cr_assert_str_eq(cfg.cmdline, "quiet loglevel=3");
	cr_assert_eq(cfg.machine.vcpus, 4);
	cr_assert_eq(cfg.machine.mem_mib, 256);
	cr_assert_str_eq(cfg.id, "vm-1_a");
	cr_assert_eq(cfg.logger.level, LOG_DEBUG);
}

Test(flags, equals_form)
{
	cr_assert_eq(PARSE("--kernel=/boot/vmlinux", "--mem=64", "--vcpus=2", "--cmdline=a=b c"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, "/boot/vmlinux");
	cr_assert_eq(cfg.machine.mem_mib, 64);
	cr_assert_eq(cfg.machine.vcpus, 2);
	cr_assert_str_eq(cfg.cmdline, "a=b c", "only the first '=' separates the value");
}

Test(flags, later_flag_wins)
{
	cr_assert_eq(PARSE("--kernel", "a", "--vcpus", "2", "--kernel", "b", "--vcpus", "3"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, "b");
	cr_assert_eq(cfg.machine.vcpus, 3);
}

Test(flags, missing_kernel_is_an_error)
{
	cr_assert_eq(PARSE("--vcpus", "2"), FLAGS_ERROR);
	assert_msg_has(e, "--kernel");
}

Test(flags, no_arguments_is_an_error)
{
	char *argv[] = { "ember", NULL };
	cr_assert_eq(flags_parse(1, argv, &cfg, &launch, out, &e), FLAGS_ERROR);
	assert_msg_has(e, "--kernel");
}

Test(flags, unknown_flag_is_named)
{
	cr_assert_eq(PARSE("--kernel", "k", "--bogus", "1"), FLAGS_ERROR);
	assert_msg_has(e, "--bogus");
}

Test(flags, prefix_of_a_flag_is_unknown)
{
	cr_assert_eq(PARSE("--kern", "k"), FLAGS_ERROR);
	assert_msg_has(e, "--kern");
}

Test(flags, positional_argument_is_an_error)
{
	cr_assert_eq(PARSE("vmlinux"), FLAGS_ERROR);
	assert_msg_has(e, "vmlinux");
	cr_assert_eq(PARSE("-k", "vmlinux"), FLAGS_ERROR);
	cr_assert_eq(PARSE("--"), FLAGS_ERROR);
}

Test(flags, flag_without_value)
{
	cr_assert_eq(PARSE("--kernel", "k", "--vcpus"), FLAGS_ERROR);
	assert_msg_has(e, "--vcpus");
	assert_msg_has(e, "value");
	cr_assert_eq(cfg.machine.vcpus, 1);
}

Test(flags, vcpus_out_of_range_or_not_a_number)
{
	const char *bad[] = { "0", "33", "abc", "-1", "", "4x", "4 ", "0x4", "99999999999999999999" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0, sizeof(e));
		cr_assert_eq(PARSE("--kernel", "k", "--vcpus", bad[i]), FLAGS_ERROR,
			     "--vcpus '%s' accepted", bad[i]);
		assert_msg_has(e, bad[i]);
		cr_assert_eq(cfg.machine.vcpus, 1, "--vcpus '%s' changed the count", bad[i]);
	}
}

Test(flags, vcpus_bounds_are_inclusive)
{
	cr_assert_eq(PARSE("--kernel", "k", "--vcpus", "1"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.machine.vcpus, 1);
	cr_assert_eq(PARSE("--kernel", "k", "--vcpus", "32"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.machine.vcpus, 32);
}

Test(flags, mem_out_of_range)
{
	const char *bad[] = { "15", "0", "-128", "1048577", "8388608", "128M" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0, sizeof(e));
		cr_assert_eq(PARSE("--kernel", "k", "--mem", bad[i]), FLAGS_ERROR,
			     "--mem '%s' accepted", bad[i]);
		assert_msg_has(e, bad[i]);
		cr_assert_eq(cfg.machine.mem_mib, 128);
	}
}

Test(flags, mem_bounds_are_inclusive)
{
	cr_assert_eq(PARSE("--kernel", "k", "--mem", "16"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.machine.mem_mib, 16);
	cr_assert_eq(PARSE("--kernel", "k", "--mem", "1048576"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.machine.mem_mib, 1048576);
}

Test(flags, huge_pages)
{
	cr_assert_eq(PARSE("--kernel", "k", "--mem", "64", "--huge-pages", "Transparent"), FLAGS_RUN,
		     "%s", e.msg);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	cr_assert_eq(PARSE("--kernel", "k", "--huge-pages", "2M"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(cfg.machine.huge_pages, HUGE_PAGES_2M);
	cr_assert_eq(PARSE("--kernel", "k", "--huge-pages", "1G"), FLAGS_ERROR);
	assert_msg_has(e, "huge pages '1G' is not one of None, 2M, Transparent");
	/* Whole 2 MiB pages, whichever flag comes first. */
	cr_assert_eq(PARSE("--kernel", "k", "--mem", "65", "--huge-pages", "2M"), FLAGS_ERROR);
	assert_msg_has(e, "65 is not a multiple of 2");
	cr_assert_eq(PARSE("--kernel", "k", "--huge-pages", "Transparent", "--mem", "65"), FLAGS_ERROR);
	assert_msg_has(e, "65 is not a multiple of 2");
}

Test(flags, failed_setter_keeps_previous_value)
{
	cr_assert_eq(PARSE("--kernel", "k", "--vcpus", "4", "--vcpus", "40"), FLAGS_ERROR);
	cr_assert_eq(cfg.machine.vcpus, 4);
	cr_assert_eq(PARSE("--kernel", "k", "--mem", "256", "--mem", "1"), FLAGS_ERROR);
	cr_assert_eq(cfg.machine.mem_mib, 256);
	cr_assert_eq(PARSE("--kernel", "good", "--kernel", ""), FLAGS_ERROR);
	cr_assert_str_eq(cfg.kernel_path, "good");
	cr_assert_eq(PARSE("--kernel", "k", "--id", "vm1", "--id", "bad id"), FLAGS_ERROR);
	cr_assert_str_eq(cfg.id, "vm1");
	cr_assert_eq(PARSE("--kernel", "k", "--level", "Info", "--level", "loud"), FLAGS_ERROR);
	cr_assert_eq(cfg.logger.level, LOG_INFO);
	assert_msg_has(e, "loud");
}

Test(flags, help_lists_every_flag)
{
	cr_assert_eq(PARSE("--help"), FLAGS_DONE, "--help needs no --kernel");
	const char *names[] = { "--kernel", "--initrd", "--cmdline", "--vcpus", "--mem",
				"--id", "--level", "--help", "--version" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		cr_assert_not_null(strstr(out_buf, names[i]), "usage lacks %s:\n%s", names[i],
				   out_buf);
	cr_assert_not_null(strstr(out_buf, "usage"), "%s", out_buf);
}

Test(flags, help_stops_parsing)
{
	cr_assert_eq(PARSE("--kernel", "k", "--help", "--vcpus", "999"), FLAGS_DONE);
	cr_assert_eq(cfg.machine.vcpus, 1);
}

Test(flags, help_takes_no_value)
{
	cr_assert_eq(PARSE("--help=yes"), FLAGS_ERROR);
	assert_msg_has(e, "--help");
	cr_assert_eq(out_len, 0);
}

Test(flags, version_prints_the_version)
{
	cr_assert_eq(PARSE("--version"), FLAGS_DONE);
	cr_assert_not_null(strstr(out_buf, EMBER_VERSION), "%s", out_buf);
	cr_assert_not_null(strstr(out_buf, "ember"), "%s", out_buf);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults)
{
	cr_assert_eq(cfg.machine.vcpus, CONFIG_DEFAULT_VCPUS);
	cr_assert_eq(cfg.machine.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	cr_assert_str_eq(cfg.id, "anonymous-instance");
	cr_assert_null(cfg.kernel_path);
}

Test(config, id_accepts_letters_digits_dash_underscore)
{
	cr_assert_eq(config_set_id(&cfg, "Vm-01_z", &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.id, "Vm-01_z");
}

Test(config, id_of_64_characters_fits_65_does_not)
{
	char id[66];
	memset(id, 'a', 64);
	id[64] = 0;
	cr_assert_eq(config_set_id(&cfg, id, &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.id, id);
	id[64] = 'b';
	id[65] = 0;
	cr_assert_eq(config_set_id(&cfg, id, &e), -1);
	assert_msg_has(e, "64");
	id[64] = 0;
	cr_assert_str_eq(cfg.id, id, "the failed set changed the id");
}

Test(config, id_rejects_empty_and_other_characters)
{
	const char *bad[] = { "", "a b", "a/b", "a.b", "../x", "vm\n", "caf\xc3\xa9", "a:b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert_eq(config_set_id(&cfg, bad[i], &e), -1, "id '%s' accepted", bad[i]);
		cr_assert_str_eq(cfg.id, "anonymous-instance");
	}
}

Test(config, log_levels)
{
	cr_assert_eq(config_set_log_level(&cfg, "Error", &e), 0);
	cr_assert_eq(cfg.logger.level, LOG_ERROR);
	cr_assert_eq(config_set_log_level(&cfg, "Off", &e), 0);
	cr_assert_eq(cfg.logger.level, LOG_OFF);
	cr_assert_eq(config_set_log_level(&cfg, "Warning", &e), 0);
	cr_assert_eq(cfg.logger.level, LOG_WARN);
	cr_assert_eq(config_set_log_level(&cfg, "verbose", &e), -1);
	cr_assert_eq(cfg.logger.level, LOG_WARN);
}

Test(config, cmdline_limit)
{
	static char cl[2049];
	memset(cl, 'c', 2047);
	cl[2047] = 0;
	cr_assert_eq(config_set_cmdline(&cfg, cl, &e), 0, "%s", e.msg);
	cl[2047] = 'c';
	cl[2048] = 0;
	cr_assert_eq(config_set_cmdline(&cfg, cl, &e), -1);
	assert_msg_has(e, "command line");
	cr_assert_eq(strlen(cfg.cmdline), 2047, "the failed set changed the command line");
}

Test(config, empty_paths_rejected)
{
	cr_assert_eq(config_set_kernel(&cfg, "", &e), -1);
	assert_msg_has(e, "kernel");
	cr_assert_eq(config_set_initrd(&cfg, "", &e), -1);
	assert_msg_has(e, "initrd");
	cr_assert_null(cfg.kernel_path);
	cr_assert_null(cfg.initrd_path);
}

Test(config, bootable_needs_a_kernel)
{
	cr_assert_eq(config_check_bootable(&cfg, &e), -1);
	cr_assert_eq(config_set_kernel(&cfg, "k", &e), 0);
	cr_assert_eq(config_check_bootable(&cfg, &e), 0);
}

Test(config, free_resets_to_defaults)
{
	cr_assert_eq(config_set_kernel(&cfg, "k", &e), 0);
	cr_assert_eq(config_set_vcpus(&cfg, 8, &e), 0);
	config_free(&cfg);
	cr_assert_null(cfg.kernel_path);
	cr_assert_eq(cfg.machine.vcpus, CONFIG_DEFAULT_VCPUS);
}

/* Firecracker's jailer's start-time flags: microseconds, kept for the startup metrics. */
Test(flags, start_time_flags)
{
	cr_assert_eq(PARSE("--kernel", "k"), FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(launch.start_time_us, -1, "not given");
	cr_assert_eq(PARSE("--kernel", "k", "--start-time-us", "123456789", "--start-time-cpu-us",
			   "42", "--parent-cpu-time-us", "7"),
		     FLAGS_RUN, "%s", e.msg);
	cr_assert_eq(launch.start_time_us, 123456789);
	cr_assert_eq(launch.start_time_cpu_us, 42);
	cr_assert_eq(launch.parent_cpu_time_us, 7);
	cr_assert_eq(PARSE("--kernel", "k", "--start-time-cpu-us", "-1"), FLAGS_ERROR);
	assert_msg_has(e, "--start-time-cpu-us: -1 is negative");
	cr_assert_eq(PARSE("--kernel", "k", "--parent-cpu-time-us", "soon"), FLAGS_ERROR);
}

/* --snapshot-version and --describe-snapshot print and end ember: nothing to boot needed. */
Test(flags, snapshot_version_flags_need_nothing_to_boot)
{
	cr_assert_eq(PARSE("--snapshot-version"), FLAGS_RUN, "%s", e.msg);
	cr_assert(launch.snapshot_version);
	cr_assert_eq(PARSE("--describe-snapshot", "/s"), FLAGS_RUN, "%s", e.msg);
	cr_assert_str_eq(launch.describe_snapshot, "/s");
	cr_assert_eq(PARSE("--describe-snapshot", ""), FLAGS_ERROR);
	assert_msg_has(e, "--describe-snapshot: the path is empty");
}
