/*
 * What a kernel finds in guest memory at entry: the e820 map, boot_params (zero page),
 * the PVH hvm_start_info, the composed command line, and the GDT and page tables.
 */
#include <asm/bootparam.h>
#include <stddef.h>
#include <stdio.h>

#include "../../boot/kernel.h"
#include "../../arch/cpu_tables.h"
#include "../../boot/params.h"
#include "helpers.h"

#define MEM (128 * MIB)
#define ZERO_PAGE 0x7000
#define CMDLINE_GPA 0x20000
#define START_INFO 0x6000

static struct guest_mem gm;

static void setup(void)
{
	gm_setup(&gm, MEM);
	gm_fill(&gm, 0, MIB, FILL_BYTE); /* stale bytes where the boot structures go */
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

static void assert_e820(const struct e820_entry *got, uint64_t addr, uint64_t size,
			uint32_t type)
{
	cr_assert(got->addr == addr && got->size == size && got->type == type,
		  "e820 entry [0x%llx, +0x%llx) type %u, want [0x%llx, +0x%llx) type %u",
		  (unsigned long long)got->addr, (unsigned long long)got->size, got->type,
		  (unsigned long long)addr, (unsigned long long)size, type);
}

/* ---------------- e820 ---------------- */

TestSuite(e820);

Test(e820, small_guest_has_base_memory_mptable_hole_and_high_ram)
{
	struct guest_mem g;
	gm_setup(&g, MEM);
	struct e820_entry map[E820_MAX];
	cr_assert_eq(e820_build(&g, map), 4);
	assert_e820(&map[0], 0, 0x9fc00, E820_RAM);
	assert_e820(&map[1], 0x9fc00, 0x400, E820_RESERVED);
	assert_e820(&map[2], 0xe0000, 0x20000, E820_ACPI); /* the ACPI tables */
	assert_e820(&map[3], MIB, MEM - MIB, E820_RAM);
	guest_mem_destroy(&g);
}

Test(e820, guest_over_3g_has_ram_below_gap_and_above_4g)
{
	struct guest_mem g;
	gm_setup(&g, 4 * GIB + 64 * MIB);
	struct e820_entry map[E820_MAX];
	cr_assert_eq(e820_build(&g, map), 5);
	assert_e820(&map[0], 0, 0x9fc00, E820_RAM);
	assert_e820(&map[1], 0x9fc00, 0x400, E820_RESERVED);
	assert_e820(&map[3], MIB, 3 * GIB - MIB, E820_RAM);
	/* 4 GiB + 64 MiB of RAM, 3 GiB of it below the gap: the rest starts at 4 GiB. */
	assert_e820(&map[4], 4 * GIB, GIB + 64 * MIB, E820_RAM);
	guest_mem_destroy(&g);
}

Test(e820, guest_of_exactly_3g_has_no_high_region)
{
	struct guest_mem g;
	gm_setup(&g, 3 * GIB);
	struct e820_entry map[E820_MAX];
	cr_assert_eq(e820_build(&g, map), 4);
	assert_e820(&map[3], MIB, 3 * GIB - MIB, E820_RAM);
	guest_mem_destroy(&g);
}

/* ---------------- zero page ---------------- */

TestSuite(zero_page, .init = setup, .fini = teardown);

static struct boot_params *bp_at(void)
{
	return gm_ptr(&gm, ZERO_PAGE, sizeof(struct boot_params));
}

Test(zero_page, vmlinux_gets_a_valid_synthetic_header)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64, .entry = MIB };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "console=ttyS0 quiet", &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(memcmp(&bp->hdr.header, "HdrS", 4), 0);
	cr_assert_geq(bp->hdr.version, 0x020c, "protocol 2.12+ for a 64-bit entry");
	cr_assert_eq(bp->hdr.type_of_loader, 0xff, "undefined loader id");
}

Test(zero_page, command_line_is_written_and_pointed_to)
{
	const char *cl = "console=ttyS0 root=/dev/vda rw";
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, cl, &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->hdr.cmd_line_ptr, CMDLINE_GPA);
	cr_assert_str_eq((const char *)gm_ptr(&gm, CMDLINE_GPA, strlen(cl) + 1), cl);
	cr_assert_geq(bp->hdr.cmdline_size, strlen(cl), "the kernel may not read all of it");
}

Test(zero_page, e820_table_matches_e820_build)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	struct e820_entry map[E820_MAX];
	unsigned n = e820_build(&gm, map);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->e820_entries, n);
	for (unsigned i = 0; i < n; i++)
		cr_assert(bp->e820_table[i].addr == map[i].addr &&
			  bp->e820_table[i].size == map[i].size &&
			  bp->e820_table[i].type == map[i].type, "e820_table[%u] differs", i);
}

Test(zero_page, no_initrd_means_no_ramdisk)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->hdr.ramdisk_image, 0);
	cr_assert_eq(bp->hdr.ramdisk_size, 0);
}

Test(zero_page, initrd_is_announced)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64, .initrd_addr = 0x7ffd000,
				 .initrd_size = 10000 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->hdr.ramdisk_image, 0x7ffd000);
	cr_assert_eq(bp->hdr.ramdisk_size, 10000);
	cr_assert_eq(bp->ext_ramdisk_image, 0);
	cr_assert_eq(bp->ext_ramdisk_size, 0);
}

Test(zero_page, bzimage_setup_header_is_copied)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64, .has_setup_header = true };
	struct setup_header *h = &bi.setup;
	h->setup_sects = 27;
	h->boot_flag = 0xaa55;
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->init_size = 0x2a00000;
	h->pref_address = 0x1000000;
	h->type_of_loader = 0x42; /* the loader's to set */
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "quiet", &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	cr_assert_eq(bp->hdr.setup_sects, 27);
	cr_assert_eq(bp->hdr.version, 0x020f);
	cr_assert_eq(bp->hdr.kernel_alignment, 0x200000);
	cr_assert_eq(bp->hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	cr_assert_eq(bp->hdr.init_size, 0x2a00000);
	cr_assert_eq(bp->hdr.pref_address, 0x1000000);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.cmd_line_ptr, CMDLINE_GPA);
}

Test(zero_page, stale_memory_is_cleared)
{
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	const struct boot_params *bp = bp_at();
	/* Fields ember never sets must read as zero, not as what was there before. */
	cr_assert_eq(bp->acpi_rsdp_addr, 0xe0000, "the RSDP (arch/acpi.c), set, not stale");
	cr_assert_eq(bp->hdr.setup_data, 0, "a stale setup_data pointer would be followed");
	cr_assert_eq(bp->ext_cmd_line_ptr, 0);
	const uint8_t *si = (const uint8_t *)&bp->screen_info;
	for (size_t i = 0; i < sizeof(bp->screen_info); i++)
		cr_assert_eq(si[i], 0, "screen_info byte %zu is stale", i);
}

Test(zero_page, command_line_of_2047_bytes_fits)
{
	static char cl[2048];
	memset(cl, 'a', 2047);
	cl[2047] = 0;
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, cl, &e), 0, "%s", e.msg);
	cr_assert_str_eq((const char *)gm_ptr(&gm, CMDLINE_GPA, 2048), cl);
}

Test(zero_page, command_line_of_2048_bytes_is_rejected)
{
	static char cl[2049];
	memset(cl, 'a', 2048);
	cl[2048] = 0;
	struct boot_image bi = { .protocol = BOOT_LINUX64 };
	struct errbuf e = { "" };
	cr_assert_eq(zero_page_write(&gm, &bi, cl, &e), -1);
	assert_msg_has(e, "command line");
	assert_msg_has(e, "2047");
	cr_assert(gm_all(&gm, CMDLINE_GPA, 4096, FILL_BYTE), "rejected command line was written");
}

/* ---------------- PVH start info ---------------- */

/*
 * Xen's public arch-x86/hvm/start_info.h, version 1, as the guest reads it: offsets
 * from that header, not from ember's private structs.
 */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_NR_MODULES 12
#define SI_MODLIST_PADDR 16
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR 32
#define SI_MEMMAP_PADDR 40
#define SI_MEMMAP_ENTRIES 48
#define MOD_PADDR 0
#define MOD_SIZE 8
#define MOD_CMDLINE 16
#define MOD_ENTRY_SIZE 32
#define MM_ADDR 0
#define MM_SIZE 8
#define MM_TYPE 16
#define MM_ENTRY_SIZE 24

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, gm_ptr(&gm, gpa, 4), 4);
	return v;
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, gm_ptr(&gm, gpa, 8), 8);
	return v;
}

TestSuite(pvh, .init = setup, .fini = teardown);

Test(pvh, start_info_header)
{
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, "console=ttyS0", &e), 0, "%s", e.msg);
	cr_assert_eq(rd32(START_INFO + SI_MAGIC), 0x336ec578);
	cr_assert_eq(rd32(START_INFO + SI_VERSION), 1, "version 1 carries the memory map");
	cr_assert_eq(rd64(START_INFO + SI_RSDP_PADDR), 0xe0000, "the RSDP (arch/acpi.c)");
}

Test(pvh, command_line_is_written_and_pointed_to)
{
	const char *cl = "console=ttyS0 pvh";
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, cl, &e), 0, "%s", e.msg);
	uint64_t p = rd64(START_INFO + SI_CMDLINE_PADDR);
	cr_assert_eq(p, CMDLINE_GPA);
	cr_assert_str_eq((const char *)gm_ptr(&gm, p, strlen(cl) + 1), cl);
}

Test(pvh, memory_map_matches_e820_build)
{
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	struct e820_entry map[E820_MAX];
	unsigned n = e820_build(&gm, map);
	cr_assert_eq(rd32(START_INFO + SI_MEMMAP_ENTRIES), n);
	uint64_t mm = rd64(START_INFO + SI_MEMMAP_PADDR);
	cr_assert_neq(mm, 0);
	for (unsigned i = 0; i < n; i++) {
		uint64_t ent = mm + i * MM_ENTRY_SIZE;
		cr_assert_eq(rd64(ent + MM_ADDR), map[i].addr, "memmap[%u].addr", i);
		cr_assert_eq(rd64(ent + MM_SIZE), map[i].size, "memmap[%u].size", i);
		cr_assert_eq(rd32(ent + MM_TYPE), map[i].type, "memmap[%u].type", i);
	}
}

Test(pvh, memory_map_of_big_guest_has_ram_above_4g)
{
	guest_mem_destroy(&gm);
	gm_setup(&gm, 4 * GIB + 64 * MIB);
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	uint32_t n = rd32(START_INFO + SI_MEMMAP_ENTRIES);
	cr_assert_eq(n, 5);
	uint64_t last = rd64(START_INFO + SI_MEMMAP_PADDR) + (n - 1) * MM_ENTRY_SIZE;
	cr_assert_eq(rd64(last + MM_ADDR), 4 * GIB);
	cr_assert_eq(rd64(last + MM_SIZE), GIB + 64 * MIB);
	cr_assert_eq(rd32(last + MM_TYPE), E820_RAM);
}

Test(pvh, no_initrd_means_no_modules)
{
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	cr_assert_eq(rd32(START_INFO + SI_NR_MODULES), 0);
}

Test(pvh, initrd_is_the_one_module)
{
	struct boot_image bi = { .protocol = BOOT_PVH, .initrd_addr = 0x7f00000,
				 .initrd_size = 0x12345 };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, "", &e), 0, "%s", e.msg);
	cr_assert_eq(rd32(START_INFO + SI_NR_MODULES), 1);
	uint64_t mod = rd64(START_INFO + SI_MODLIST_PADDR);
	cr_assert_neq(mod, 0);
	cr_assert_eq(rd64(mod + MOD_PADDR), 0x7f00000);
	cr_assert_eq(rd64(mod + MOD_SIZE), 0x12345);
	cr_assert_eq(rd64(mod + MOD_CMDLINE), 0);
	/* The module list and memory map must not overlap the start info or each other. */
	uint64_t mm = rd64(START_INFO + SI_MEMMAP_PADDR);
	cr_assert(mod >= START_INFO + 56 && (mod + MOD_ENTRY_SIZE <= mm || mod >= mm + 8 * 24));
}

Test(pvh, over_long_command_line_is_rejected)
{
	static char cl[4000];
	memset(cl, 'b', sizeof(cl) - 1);
	cl[sizeof(cl) - 1] = 0;
	struct boot_image bi = { .protocol = BOOT_PVH };
	struct errbuf e = { "" };
	cr_assert_eq(pvh_start_info_write(&gm, &bi, cl, &e), -1);
	assert_msg_has(e, "command line");
}

/* ---------------- command line composition ---------------- */

TestSuite(cmdline);

/* ember's own defaults: what compose yields without user words or timing. */
static void defaults(char *out, size_t cap)
{
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, cap, NULL, NULL, NULL, &e), 0, "%s", e.msg);
}

Test(cmdline, defaults_name_the_serial_console_and_i8042_reboot)
{
	char d[2048];
	defaults(d, sizeof(d));
	/* The only console is the 16550 at 0x3f8; the guest exits through the i8042 reset. */
	cr_assert_not_null(strstr(d, "console=ttyS0"), "defaults: %s", d);
	cr_assert_not_null(strstr(d, "reboot=k"), "defaults: %s", d);
	cr_assert_null(strstr(d, "ember."), "no timing without a TSC frequency: %s", d);
}

Test(cmdline, user_words_follow_the_defaults)
{
	char d[2048], out[2048];
	defaults(d, sizeof(d));
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, "root=/dev/vda console=hvc0", NULL, &e), 0,
		     "%s", e.msg);
	char want[4096];
	snprintf(want, sizeof(want), "%s root=/dev/vda console=hvc0", d);
	cr_assert_str_eq(out, want, "later words must win: user's go last");
}

Test(cmdline, empty_user_words_add_nothing)
{
	char d[2048], out[2048];
	defaults(d, sizeof(d));
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, "", NULL, &e), 0, "%s", e.msg);
	cr_assert_str_eq(out, d);
}

Test(cmdline, timing_is_appended_when_tsc_khz_is_known)
{
	char d[2048], out[2048];
	defaults(d, sizeof(d));
	struct boot_timing t = { .tsc_khz = 2500000, .start_tsc = 123456789012ULL, .setup_us = 42 };
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, "quiet", &t, &e), 0, "%s", e.msg);
	char want[4096];
	snprintf(want, sizeof(want),
		 "%s quiet ember.tsc_khz=2500000 ember.start_tsc=123456789012 ember.setup_us=42", d);
	cr_assert_str_eq(out, want);
}

Test(cmdline, timing_is_left_out_when_tsc_khz_is_zero)
{
	char out[2048];
	struct boot_timing t = { .tsc_khz = 0, .start_tsc = 5, .setup_us = 6 };
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, "quiet", &t, &e), 0, "%s", e.msg);
	cr_assert_null(strstr(out, "ember."), "%s", out);
}

Test(cmdline, over_long_result_is_rejected)
{
	char d[2048];
	defaults(d, sizeof(d));
	/* Exactly one byte too long for Linux's 2048-byte buffer (2047 + NUL). */
	static char user[4096];
	size_t n = 2047 - strlen(d) - 1 + 1;
	memset(user, 'x', n);
	user[n] = 0;
	static char out[8192];
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, user, NULL, &e), -1);
	assert_msg_has(e, "command line");
	user[n - 1] = 0; /* now exactly 2047 */
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, user, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(strlen(out), 2047);
}

Test(cmdline, timing_that_overflows_is_rejected)
{
	char d[2048];
	defaults(d, sizeof(d));
	static char user[2048];
	size_t n = 2047 - strlen(d) - 1 - 10; /* fits alone, not with the timing words */
	memset(user, 'y', n);
	user[n] = 0;
	struct boot_timing t = { .tsc_khz = 1, .start_tsc = 1, .setup_us = 1 };
	char out[2048];
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, user, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, user, &t, &e), -1);
	assert_msg_has(e, "command line");
}

Test(cmdline, small_output_buffer_is_rejected)
{
	char out[8];
	struct errbuf e = { "" };
	cr_assert_eq(cmdline_compose(out, sizeof(out), NULL, "quiet", NULL, &e), -1);
}

/* ---------------- GDT and page tables ---------------- */

TestSuite(cpu_tables, .init = setup, .fini = teardown);

#define DESC_L (1ULL << 53)
#define DESC_DB (1ULL << 54)
#define DESC_P (1ULL << 47)
#define DESC_S (1ULL << 44)
#define DESC_CODE (1ULL << 43)
#define DESC_TYPE(d) (((d) >> 40) & 0xf)

static uint64_t gdt(unsigned i)
{
	return rd64(0x500 + 8 * i);
}

static void write_tables(enum boot_protocol protocol)
{
	struct errbuf e = { "" };
	cr_assert_eq(cpu_tables_write(&gm, protocol != BOOT_PVH, &e), 0, "%s", e.msg);
}

Test(cpu_tables, gdt_for_64bit_entry)
{
	write_tables(BOOT_LINUX64);
	cr_assert_eq(gdt(0), 0, "null descriptor");
	uint64_t code = gdt(1), data = gdt(2), tss = gdt(3);
	cr_assert((code & DESC_P) && (code & DESC_S) && (code & DESC_CODE), "code: 0x%llx",
		  (unsigned long long)code);
	cr_assert((code & DESC_L) && !(code & DESC_DB), "code must be 64-bit (L=1, D=0)");
	cr_assert((data & DESC_P) && (data & DESC_S) && !(data & DESC_CODE), "data: 0x%llx",
		  (unsigned long long)data);
	cr_assert(data & (1ULL << 41), "data must be writable");
	cr_assert((tss & DESC_P) && !(tss & DESC_S) && DESC_TYPE(tss) == 0xb, "tss: 0x%llx",
		  (unsigned long long)tss);
}

Test(cpu_tables, gdt_for_pvh_has_32bit_code)
{
	write_tables(BOOT_PVH);
	uint64_t code = gdt(1);
	cr_assert((code & DESC_P) && (code & DESC_CODE));
	cr_assert(!(code & DESC_L) && (code & DESC_DB), "code must be 32-bit (L=0, D=1)");
	cr_assert_eq((code >> 48) & 0xf, 0xf, "4 GiB limit");
	cr_assert(code & (1ULL << 55), "page granularity");
}

Test(cpu_tables, idt_is_empty)
{
	write_tables(BOOT_LINUX64);
	cr_assert(gm_all(&gm, 0x520, 8, 0));
}

Test(cpu_tables, identity_map_of_first_4gib)
{
	write_tables(BOOT_LINUX64);
	uint64_t pml4 = rd64(0x9000);
	cr_assert_eq(pml4 & ~0xfffULL, 0xa000, "PML4[0] -> 0x%llx", (unsigned long long)pml4);
	cr_assert_eq(pml4 & 3, 3, "PML4[0] present and writable");
	for (uint64_t g = 0; g < 4; g++) {
		uint64_t pdpt = rd64(0xa000 + 8 * g);
		cr_assert_eq(pdpt & ~0xfffULL, 0xb000 + g * 0x1000, "PDPT[%llu] -> 0x%llx",
			     (unsigned long long)g, (unsigned long long)pdpt);
		cr_assert_eq(pdpt & 3, 3, "PDPT[%llu] present and writable", (unsigned long long)g);
		cr_assert_eq(pdpt & 0x80, 0, "PDPT[%llu] points to a PD, not a 1 GiB page",
			     (unsigned long long)g);
	}
	/* Every 2 MiB page of [0, 4 GiB) maps to itself. */
	for (uint64_t i = 0; i < 4 * 512; i++)
		cr_assert_eq(rd64(0xb000 + 8 * i), (i * 2 * MIB) | 0x83, "PD entry %llu",
			     (unsigned long long)i);
}

Test(cpu_tables, other_table_entries_are_not_present)
{
	write_tables(BOOT_LINUX64);
	for (uint64_t i = 1; i < 512; i++)
		cr_assert_eq(rd64(0x9000 + 8 * i) & 1, 0, "stale PML4[%llu]", (unsigned long long)i);
	for (uint64_t i = 4; i < 512; i++)
		cr_assert_eq(rd64(0xa000 + 8 * i) & 1, 0, "stale PDPT[%llu]", (unsigned long long)i);
}

/* RAM that ends before the page directories: refused, naming them, and nothing written
 * (not even the GDT, which would fit). */
Test(cpu_tables, guest_memory_without_room_for_the_tables_is_refused)
{
	struct guest_mem small;
	gm_setup(&small, 48 * KIB); /* up to 0xc000: PML4 and PDPT fit, the 4 PDs do not */
	gm_fill(&small, 0, 48 * KIB, FILL_BYTE);
	struct errbuf e = { "" };
	cr_assert_eq(cpu_tables_write(&small, true, &e), -1);
	cr_assert_str_eq(e.msg, "no guest RAM for the page directories at 0xb000-0xefff (the "
				"guest has 48 KiB)");
	cr_assert(gm_all(&small, 0, 48 * KIB, FILL_BYTE), "guest memory was written");
	guest_mem_destroy(&small);
}
