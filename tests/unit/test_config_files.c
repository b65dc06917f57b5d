/*
 * Kernel, initrd and drive files are opened when they are configured (check_files, as
 * ember's own configuration sets it): a path that is not there, not a regular file or
 * block device, or not writable for a writable drive, is refused with its reason and the
 * configuration keeps what it had.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../config/config.h"
#include "helpers.h"

static struct vm_config cfg;
static char dir[] = "/tmp/ember-config-files-XXXXXX";
static char file[64];

static void setup(void)
{
	config_init(&cfg);
	cfg.check_files = true;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/disk.img", dir);
	int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
}

static void teardown(void)
{
	config_free(&cfg);
	unlink(file);
	rmdir(dir);
}

TestSuite(config_files, .init = setup, .fini = teardown);

Test(config_files, a_regular_file_is_taken)
{
	struct errbuf e = { "" };
	cr_assert_eq(config_set_boot_source(&cfg, file, file, "x", &e), 0, "%s", e.msg);
	struct drive_config d = { .id = "d", .path = file };
	cr_assert_eq(config_put_drive(&cfg, &d, &e), 0, "%s", e.msg);
	cr_assert_str_eq(cfg.kernel_path, file);
	cr_assert_eq(cfg.ndrives, 1);
}

Test(config_files, a_missing_kernel_is_refused_and_the_old_one_kept)
{
	struct errbuf e = { "" };
	char want[128];
	cr_assert_eq(config_set_boot_source(&cfg, file, NULL, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(config_set_boot_source(&cfg, "/nonexistent/vmlinux", NULL, NULL, &e), -1);
	cr_assert_str_eq(e.msg, "kernel /nonexistent/vmlinux: No such file or directory");
	cr_assert_str_eq(cfg.kernel_path, file);
	/* The initrd too, all three together: nothing changes. */
	cr_assert_eq(config_set_boot_source(&cfg, file, dir, "new", &e), -1);
	snprintf(want, sizeof(want), "initrd %s: not a regular file or block device", dir);
	cr_assert_str_eq(e.msg, want);
	cr_assert_null(cfg.initrd_path);
	cr_assert_null(cfg.cmdline);
}

Test(config_files, a_character_device_is_no_disk)
{
	struct errbuf e = { "" };
	struct drive_config d = { .id = "d", .path = "/dev/null", .read_only = true };
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	cr_assert_str_eq(e.msg, "drive 'd': /dev/null: not a regular file or block device");
	cr_assert_eq(cfg.ndrives, 0);
}

Test(config_files, a_writable_drive_is_opened_for_writing)
{
	struct errbuf e = { "" };
	/* A directory opens read-only, not for writing: the mode decides. */
	struct drive_config d = { .id = "d", .path = dir, .read_only = false };
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	char want[128];
	snprintf(want, sizeof(want), "drive 'd': %s: Is a directory", dir);
	cr_assert_str_eq(e.msg, want);
	d.read_only = true;
	cr_assert_eq(config_put_drive(&cfg, &d, &e), -1);
	snprintf(want, sizeof(want), "drive 'd': %s: not a regular file or block device", dir);
	cr_assert_str_eq(e.msg, want);
}

Test(config_files, unchecked_without_check_files)
{
	struct errbuf e = { "" };
	cfg.check_files = false;
	cr_assert_eq(config_set_kernel(&cfg, "/nonexistent/vmlinux", &e), 0, "%s", e.msg);
}
