#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"

struct vm_host;

/* Firecracker's boot timer: the guest writes 123 at offset 0 when it has booted. */
struct boot_timer {
	uint64_t start_ns;     /* CLOCK_MONOTONIC */
	uint64_t start_cpu_ns; /* CLOCK_PROCESS_CPUTIME_ID */
};

/*
 * boot_timer.c: the boot-timer MMIO page at LAYOUT_BOOT_TIMER. A guest write of 123 at
 * offset 0 logs the time since start_ns (CLOCK_MONOTONIC) and the process CPU time
 * since start_cpu_ns (boot_timer_cpu_ns()) in Firecracker's format, and stores them in
 * metrics.latencies_us.boot_us / boot_cpu_us.
 */
int boot_timer_create(struct boot_timer *bt, const struct vm_host *h, uint64_t start_ns,
		      uint64_t start_cpu_ns, struct errbuf *e);
/* CLOCK_PROCESS_CPUTIME_ID in ns: what start_cpu_ns is measured on. */
uint64_t boot_timer_cpu_ns(void);
void boot_timer_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
		     bool is_write);

#endif
