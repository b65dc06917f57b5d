/*
 * The structures a kernel finds in guest memory at entry: the memory map, boot_params
 * (Linux 64-bit protocol) or hvm_start_info (PVH) and the command line. (The MP table
 * and the CPU tables are arch/'s: they describe the machine, not the kernel.)
 */
#ifndef EMBER_PARAMS_H
#define EMBER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/error.h"
#include "../lib/guest_mem.h"
#include "kernel.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_MAX 8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* The guest's memory map; returns the number of entries written (at most E820_MAX). */
unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out);

/* boot_params at LAYOUT_ZERO_PAGE and the command line, for BOOT_LINUX64. */
int zero_page_write(struct guest_mem *gm, const struct boot_image *bi, const char *cmdline,
		    struct errbuf *e);
/* hvm_start_info at LAYOUT_PVH_START_INFO and the command line, for BOOT_PVH. */
int pvh_start_info_write(struct guest_mem *gm, const struct boot_image *bi, const char *cmdline,
			 struct errbuf *e);
int cmdline_write(struct guest_mem *gm, const char *cmdline, struct errbuf *e);
/* What guest-min needs to print its boot timeline on ember's clock. */
struct boot_timing {
	uint32_t tsc_khz;   /* guest TSC frequency */
	uint64_t start_tsc; /* host TSC when ember started */
	uint64_t setup_us;  /* ember start to the guest TSC reset */
};

/* ember's defaults + device words + user's words + boot timing (when tsc_khz is known). */
int cmdline_compose(char *out, size_t cap, const char *devices, const char *user,
		    const struct boot_timing *t, struct errbuf *e);

#define PVH_START_MAGIC 0x336ec578

#endif
