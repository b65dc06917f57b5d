/*
 * A vCPU's register state at entry (regs.c): each function takes the vCPU's fd, and its
 * index for the error message.
 */
#ifndef EMBER_ARCH_REGS_H
#define EMBER_ARCH_REGS_H

#include <stdint.h>

#include "../lib/error.h"

/* The MSRs Linux expects set, the TSC at 0 (a guest's TSC counts from this call). */
int regs_set_boot_msrs(int fd, unsigned index, struct errbuf *e);
/* LAPIC LINT0 external interrupts, LINT1 NMI: virtual wire, as a BIOS leaves it. */
int regs_wire_lapic(int fd, unsigned index, struct errbuf *e);
/* The x87 and SSE control words after FNINIT. */
int regs_init_fpu(int fd, unsigned index, struct errbuf *e);
/* 64-bit long mode on the identity map, RSI = boot_params (Linux 64-bit protocol). */
int regs_enter_long_mode(int fd, unsigned index, uint64_t entry, uint64_t boot_params,
			 struct errbuf *e);
/* 32-bit flat protected mode, paging off, EBX = hvm_start_info (PVH). */
int regs_enter_pvh(int fd, unsigned index, uint64_t entry, uint64_t start_info,
		   struct errbuf *e);

#endif
