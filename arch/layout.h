/*
 * The guest-physical memory map ember gives x86 guests. One table, read by the loaders,
 * the boot-structure writers and the vCPU register setup, so they cannot disagree.
 *
 *   0x000500  GDT (4 entries)             0x000520  IDT (empty: limit 0)
 *   0x006000  PVH start_info + memmap     0x007000  boot_params (zero page)
 *   0x008ff0  boot stack top              0x009000  PML4, 0x00a000 PDPT, 0x00b000 4 PDs
 *   0x020000  kernel command line         0x09fc00  MP table, up to 0xa0000
 *   0x0e0000  ACPI tables (RSDP first), up to 1 MiB
 *   0x100000  kernel (ELF p_paddr, or bzImage at its pref_address), initrd at top of low RAM
 *   0xC0000000 - 4 GiB: MMIO gap; RAM beyond 3 GiB continues at 4 GiB
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#include <stdint.h>

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_PVH_START_INFO 0x6000ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 page directories, 0xb000-0xefff */
#define LAYOUT_IDENTITY_MAP_END 0x100000000ULL /* boot page tables map [0, 4 GiB) */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 2048ULL /* Linux's COMMAND_LINE_SIZE on x86, NUL included */
#define LAYOUT_MPTABLE 0x9fc00ULL
#define LAYOUT_EBDA_END 0xa0000ULL
#define LAYOUT_ACPI 0xe0000ULL     /* ACPI tables, RSDP first (arch/acpi.c), up to 1 MiB */
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_HIMEM 0x100000ULL /* 1 MiB: nothing the kernel loads may lie below */

#define LAYOUT_MMIO_GAP 0xC0000000ULL
#define LAYOUT_BOOT_TIMER 0xC0000000ULL
#define LAYOUT_VIRTIO_MMIO_BASE 0xC0001000ULL
#define LAYOUT_IOAPIC 0xFEC00000ULL
#define LAYOUT_IOAPIC_PINS 24 /* the MP table's interrupt sources, one per pin */
#define LAYOUT_LAPIC 0xFEE00000ULL
#define LAYOUT_TSS_ADDR 0xfffbd000ULL /* 3 pages KVM needs on Intel, inside the gap */

#define LAYOUT_DEBUG_EXIT_PORT 0xf4

/* GDT: null, 64-bit code, data, TSS (long mode); PVH uses the 32-bit code entry. */
#define GDT_ENTRY_CODE64 0x00af9b000000ffffULL
#define GDT_ENTRY_CODE32 0x00cf9b000000ffffULL
#define GDT_ENTRY_DATA 0x00cf93000000ffffULL
#define GDT_ENTRY_TSS 0x008f8b000000ffffULL
#define GDT_SEL_CODE 0x08
#define GDT_SEL_DATA 0x10
#define GDT_SEL_TSS 0x18
#define GDT_ENTRIES 4

#endif
