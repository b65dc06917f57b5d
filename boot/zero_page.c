/* boot_params, e820 and the command line: what a Linux kernel reads at its 64-bit entry. */
#include <string.h>

#include "../lib/util.h"
#include "../arch/layout.h"
#include "params.h"

#define BOOT_FLAG_MAGIC 0xaa55
#define SETUP_MAGIC 0x53726448
#define LOADER_TYPE_UNDEFINED 0xff
#define BOOT_PROTOCOL_VERSION 0x020c
/* For a vmlinux, which brings no header of its own: Linux's default alignment. */
#define DEFAULT_KERNEL_ALIGNMENT 0x1000000

unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out)
{
	unsigned n = 0;
	uint64_t low_end = guest_mem_low_end(gm);
	/* Base memory up to the MP table, which the kernel must not reuse. */
	out[n++] = (struct e820_entry){ 0, LAYOUT_MPTABLE, E820_RAM };
	out[n++] = (struct e820_entry){ LAYOUT_MPTABLE, LAYOUT_EBDA_END - LAYOUT_MPTABLE,
				       E820_RESERVED };
	out[n++] = (struct e820_entry){ LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI, E820_ACPI };
	if (low_end > LAYOUT_HIMEM)
		out[n++] = (struct e820_entry){ LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, E820_RAM };
	for (unsigned i = 1; i < gm->nregions; i++)
		out[n++] = (struct e820_entry){ gm->regions[i].gpa, gm->regions[i].size, E820_RAM };
	return n;
}

int cmdline_write(struct guest_mem *gm, const char *cmdline, struct errbuf *e)
{
	size_t len = strlen(cmdline);
	if (len + 1 > LAYOUT_CMDLINE_MAX)
		return errf(e, "kernel command line is %zu bytes, the limit is %llu", len,
			    LAYOUT_CMDLINE_MAX - 1);
	char *dst = guest_mem_at(gm, LAYOUT_CMDLINE, len + 1);
	if (!dst)
		return errf(e, "no guest RAM for the command line");
	memcpy(dst, cmdline, len + 1);
	return 0;
}

static void zero_page_setup_header(struct boot_params *bp, const struct boot_image *bi,
				   size_t cmdline_len)
{
	struct setup_header *h = &bp->hdr;
	if (bi->has_setup_header) {
		*h = bi->setup;
	} else {
		h->boot_flag = BOOT_FLAG_MAGIC;
		h->header = SETUP_MAGIC;
		h->version = BOOT_PROTOCOL_VERSION;
		h->kernel_alignment = DEFAULT_KERNEL_ALIGNMENT;
	}
	h->type_of_loader = LOADER_TYPE_UNDEFINED;
	h->cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	h->cmdline_size = (uint32_t)cmdline_len;
	if (bi->initrd_size) {
		h->ramdisk_image = (uint32_t)bi->initrd_addr;
		h->ramdisk_size = (uint32_t)bi->initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(bi->initrd_addr >> 32);
		bp->ext_ramdisk_size = (uint32_t)(bi->initrd_size >> 32);
	}
}

int zero_page_write(struct guest_mem *gm, const struct boot_image *bi, const char *cmdline,
		    struct errbuf *e)
{
	struct boot_params *bp = guest_mem_at(gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	if (!bp)
		return errf(e, "no guest RAM for boot_params");
	if (cmdline_write(gm, cmdline, e) < 0)
		return -1;
	memset(bp, 0, sizeof(*bp));
	zero_page_setup_header(bp, bi, strlen(cmdline));

	struct e820_entry map[E820_MAX];
	unsigned n = e820_build(gm, map);
	for (unsigned i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	bp->acpi_rsdp_addr = LAYOUT_ACPI; /* a kernel also finds it by scanning 0xe0000 */
	return 0;
}
