/*
 * ACPI tables for kernels that find their machine through ACPI instead of an MP table
 * and command-line devices (distribution kernels: Debian's cloud kernel has no
 * MPPARSE and no virtio_mmio.device=): RSDP, XSDT, a hardware-reduced FADT, MADT and a
 * DSDT declaring COM1 and each virtio-mmio device. Written beside the MP table; a kernel
 * without ACPI never looks at them.
 */
#ifndef EMBER_ARCH_ACPI_H
#define EMBER_ARCH_ACPI_H

#include <stdint.h>

#include "../lib/error.h"
#include "../lib/guest_mem.h"

#define ACPI_MAX_DEVICES 32

/* FADT's registers, I/O ports ember's legacy/acpi_pm.c answers. */
#define ACPI_SLEEP_CONTROL_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT 0x601
#define ACPI_RESET_PORT 0x602
#define ACPI_PM_PORTS 3
#define ACPI_RESET_VALUE 0x0e
#define ACPI_SLP_EN (1u << 5)
#define ACPI_SLP_TYP(v) (((v) >> 2) & 7)
#define ACPI_S5_TYPE 5

/* One virtio-mmio device: its register window and its IOAPIC pin (= GSI). */
struct acpi_device {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_machine {
	unsigned ncpus; /* APIC ids 0..ncpus-1; the IOAPIC's id is ncpus, as in the MP table */
	unsigned ndevices;
	struct acpi_device devices[ACPI_MAX_DEVICES];
};

/* The tables at LAYOUT_ACPI (RSDP first), checksummed; one line in e when they do not fit. */
int acpi_write(struct guest_mem *gm, const struct acpi_machine *m, struct errbuf *e);

#endif
