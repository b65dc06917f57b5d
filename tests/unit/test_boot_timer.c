/*
 * The boot-timer device through its bus handler: only the byte 123 at offset 0 counts
 * (Firecracker's MAGIC_VALUE_SIGNAL_GUEST_BOOT_COMPLETE), every time it is written;
 * the line is Firecracker's "Guest-boot-time = ..." and the latencies go to the metrics.
 */
#include <regex.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/log.h"
#include "../../lib/metrics.h"
#include "../../lib/util.h"
#include "../../legacy/boot_timer.h"
#include "helpers.h"

static struct boot_timer bt;
static int log_fd;

static void setup(void)
{
	memset(&metrics, 0, sizeof(metrics));
	log_fd = memfd_create("log", MFD_CLOEXEC);
	cr_assert(log_fd >= 0);
	log_init(log_fd, LOG_INFO, "bt");
	bt.start_ns = monotonic_ns() - 1500 * 1000000ULL; /* booted 1.5 s ago */
	bt.start_cpu_ns = boot_timer_cpu_ns();
}

static void write_at(uint64_t offset, const void *v, uint32_t size)
{
	uint8_t data[8];
	memcpy(data, v, size);
	boot_timer_mmio(&bt, offset, data, size, true);
}

static void write_byte(uint64_t offset, uint8_t v)
{
	write_at(offset, &v, 1);
}

static const char *log_text(void)
{
	static char buf[4096];
	ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TestSuite(boot_timer, .init = setup);

Test(boot_timer, magic_byte_logs_firecrackers_line)
{
	write_byte(0, 123);
	const char *s = log_text();
	regex_t r;
	cr_assert_eq(regcomp(&r, "Guest-boot-time = +(1[5-9][0-9]{5}) us (1[5-9][0-9]{2}) ms, "
				 "+[0-9]+ CPU us [0-9]+ CPU ms$",
			     REG_EXTENDED | REG_NEWLINE), 0);
	regmatch_t m[3];
	cr_assert_eq(regexec(&r, s, 3, m, 0), 0, "log: [%s]", s);
	regfree(&r);
	unsigned long us = strtoul(s + m[1].rm_so, NULL, 10);
	unsigned long ms = strtoul(s + m[2].rm_so, NULL, 10);
	cr_assert_eq(ms, us / 1000);
	cr_assert_geq(metrics.latencies_us.boot_us, 1500000);
	cr_assert_lt(metrics.latencies_us.boot_us, 1600000);
}

Test(boot_timer, pads_to_six_digits)
{
	bt.start_ns = monotonic_ns();
	write_byte(0, 123);
	/* Firecracker's {:>6}: a boot under a second still lines up. */
	cr_assert(strstr(log_text(), "Guest-boot-time =    "), "log: [%s]", log_text());
}

Test(boot_timer, every_write_logs)
{
	write_byte(0, 123);
	write_byte(0, 123);
	cr_assert_eq(count_lines(log_text(), "Guest-boot-time"), 2);
}

Test(boot_timer, other_values_offsets_and_widths_are_ignored)
{
	write_byte(0, 122);
	write_byte(0, 0);
	write_byte(1, 123);
	write_byte(0xfff, 123);
	uint32_t wide = 123;
	write_at(0, &wide, 4);
	cr_assert_eq(count_lines(log_text(), "Guest-boot-time"), 0, "log: [%s]", log_text());
	cr_assert_eq(metrics.latencies_us.boot_us, 0);
}

Test(boot_timer, reads_are_zero)
{
	uint8_t data[8];
	memset(data, 0xa5, sizeof(data));
	boot_timer_mmio(&bt, 0, data, 8, false);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(data[i], 0);
	cr_assert_eq(count_lines(log_text(), "Guest-boot-time"), 0);
}
