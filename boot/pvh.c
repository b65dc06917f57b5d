/* hvm_start_info: what a kernel entered through its PVH note reads (EBX points at it). */
#include <string.h>

#include "../arch/layout.h"
#include "params.h"

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define PVH_MODLIST (LAYOUT_PVH_START_INFO + 0x40)
#define PVH_MEMMAP (LAYOUT_PVH_START_INFO + 0x80)

int pvh_start_info_write(struct guest_mem *gm, const struct boot_image *bi, const char *cmdline,
			 struct errbuf *e)
{
	struct e820_entry map[E820_MAX];
	unsigned n = e820_build(gm, map);
	struct hvm_start_info *si = guest_mem_at(gm, LAYOUT_PVH_START_INFO, sizeof(*si));
	struct hvm_modlist_entry *mod = guest_mem_at(gm, PVH_MODLIST, sizeof(*mod));
	struct hvm_memmap_entry *mm = guest_mem_at(gm, PVH_MEMMAP, n * sizeof(*mm));
	if (!si || !mod || !mm)
		return errf(e, "no guest RAM for the PVH start info");
	if (cmdline_write(gm, cmdline, e) < 0)
		return -1;

	memset(si, 0, sizeof(*si));
	si->magic = PVH_START_MAGIC;
	si->version = 1; /* has the memory map */
	si->cmdline_paddr = LAYOUT_CMDLINE;
	si->memmap_paddr = PVH_MEMMAP;
	si->memmap_entries = n;
	si->rsdp_paddr = LAYOUT_ACPI;
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ map[i].addr, map[i].size, map[i].type, 0 };
	if (bi->initrd_size) {
		*mod = (struct hvm_modlist_entry){ bi->initrd_addr, bi->initrd_size, 0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = PVH_MODLIST;
	}
	return 0;
}
