/*
 * Firecracker's boot timer: a guest's init writes the byte 123 to the first byte of
 * this MMIO page when it has booted, and the monitor logs how long that took, in wall
 * time and in its own CPU time. Firecracker logs every such write; so does ember.
 * Other values, offsets and widths are ignored, reads return 0.
 */
#include "boot_timer.h"

#include <string.h>
#include <time.h>

#include "../arch/layout.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/util.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"

#define BOOT_TIMER_SIZE 0x1000ULL
#define BOOT_TIMER_MAGIC 123

uint64_t boot_timer_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void boot_timer_fire(const struct boot_timer *t)
{
	uint64_t wall_us = (monotonic_ns() - t->start_ns) / 1000;
	uint64_t cpu_us = (boot_timer_cpu_ns() - t->start_cpu_ns) / 1000;
	METRIC_STORE(metrics.latencies_us.boot_us, wall_us);
	METRIC_STORE(metrics.latencies_us.boot_cpu_us, cpu_us);
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)wall_us, (unsigned long long)(wall_us / 1000),
		 (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
}

void boot_timer_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
		     bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
	else if (offset == 0 && size == 1 && data[0] == BOOT_TIMER_MAGIC)
		boot_timer_fire(opaque);
}

int boot_timer_create(struct boot_timer *bt, const struct vm_host *h, uint64_t start_ns,
		      uint64_t start_cpu_ns,
		      struct errbuf *e)
{
	*bt = (struct boot_timer){ .start_ns = start_ns, .start_cpu_ns = start_cpu_ns };
	return bus_register(h->mmio, LAYOUT_BOOT_TIMER, BOOT_TIMER_SIZE, boot_timer_mmio, bt,
			    "boot-timer", e);
}
