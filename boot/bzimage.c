/* bzImage: the compressed kernel entered at its 64-bit entry (boot protocol >= 2.12). */
#include <string.h>

#include "../lib/util.h"
#include "kernel.h"
#include "../arch/layout.h"

#define SETUP_HDR_OFFSET 0x1f1
#define SETUP_MAGIC_OFFSET 0x202
#define SETUP_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_PROTOCOL_64BIT_ENTRY 0x020c
#define BZ_ENTRY64_OFFSET 0x200
#define SECTOR 512

static bool is_power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Copies the setup header as the image has it; its length is encoded in the jump at 0x200. */
static int bzimage_read_header(const uint8_t *img, size_t len, const char *name,
			       struct setup_header *hdr, struct errbuf *e)
{
	if (len < SETUP_HDR_OFFSET + sizeof(*hdr))
		return errf(e, "%s: truncated: too short for a bzImage setup header", name);
	size_t hdr_end = SETUP_MAGIC_OFFSET + img[0x201];
	size_t n = hdr_end - SETUP_HDR_OFFSET;
	if (n > sizeof(*hdr))
		n = sizeof(*hdr);
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, img + SETUP_HDR_OFFSET, n);
	return 0;
}

int bzimage_load(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
		 struct boot_image *bi, struct errbuf *e)
{
	struct setup_header hdr;
	if (bzimage_read_header(img, len, name, &hdr, e) < 0)
		return -1;
	if (hdr.header != SETUP_MAGIC)
		return errf(e, "%s: not a bzImage (no HdrS signature)", name);
	if (hdr.version < BOOT_PROTOCOL_64BIT_ENTRY)
		return errf(e, "%s: boot protocol %u.%02u is too old for a 64-bit entry (need 2.12)",
			    name, hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return errf(e, "%s: kernel has no 64-bit entry point (XLF_KERNEL_64 not set)", name);

	uint64_t setup_size = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * SECTOR;
	if (setup_size >= len)
		return errf(e, "%s: truncated: no kernel after the %llu-byte setup code", name,
			    (unsigned long long)setup_size);
	uint64_t payload = len - setup_size;
	if ((uint64_t)hdr.syssize * 16 > payload)
		return errf(e, "%s: truncated: kernel is %llu bytes, header says %llu", name,
			    (unsigned long long)payload, (unsigned long long)hdr.syssize * 16);
	if (hdr.relocatable_kernel && !is_power_of_two(hdr.kernel_alignment))
		return errf(e, "%s: kernel_alignment 0x%x is not a power of two", name,
			    hdr.kernel_alignment);

	/* pref_address is aligned for a relocatable kernel and mandatory for the rest. */
	uint64_t load = hdr.pref_address ? hdr.pref_address : LAYOUT_HIMEM;
	uint64_t span = hdr.init_size > payload ? hdr.init_size : payload;
	if (load < LAYOUT_HIMEM)
		return errf(e, "%s: load address 0x%llx lies below 1 MiB", name,
			    (unsigned long long)load);
	uint8_t *dst = guest_mem_at(gm, load, span);
	if (!dst)
		return errf(e, "%s: too large: needs [0x%llx, +%llu MiB) of RAM, the guest has "
			    "%llu MiB", name, (unsigned long long)load,
			    (unsigned long long)(span >> 20), (unsigned long long)(gm->size >> 20));

	if (load + span > LAYOUT_IDENTITY_MAP_END)
		return errf(e, "%s: kernel would end at 0x%llx, above the 4 GiB the boot page tables "
			    "map", name, (unsigned long long)(load + span));

	memcpy(dst, img + setup_size, payload);
	bi->protocol = BOOT_LINUX64;
	bi->entry = load + BZ_ENTRY64_OFFSET;
	bi->kernel_start = load;
	bi->kernel_end = load + span;
	bi->pvh_entry = 0;
	bi->has_setup_header = true;
	bi->setup = hdr;
	bi->initrd_max = (uint64_t)hdr.initrd_addr_max + 1;
	if (bi->initrd_max > guest_mem_low_end(gm))
		bi->initrd_max = guest_mem_low_end(gm);
	return 0;
}
