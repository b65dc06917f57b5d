/*
 * Turns what each boot protocol hands us into a command line for gm_main.
 *
 * Every pointer comes from the loader and is checked against the identity-
 * mapped range before use: touching an unmapped address would page-fault,
 * and under PVM a fault cannot be delivered, so the guest would just die
 * without saying why.
 */
#include "guest-min.h"

/* Linux boot_params ("zero page") offsets. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21c
#define BP_CMD_LINE_PTR     0x228
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128
#define BP_E820_ENTRY_SIZE  20
#define BP_SIZE             0x1000

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC     0x336ec578u
#define HVM_OFF_MAGIC       0
#define HVM_OFF_VERSION     4
#define HVM_OFF_NR_MODULES  12
#define HVM_OFF_MODLIST     16
#define HVM_OFF_CMDLINE     24
#define HVM_OFF_MEMMAP      40
#define HVM_OFF_MEMMAP_N    48
#define HVM_SIZE            56
#define HVM_MEMMAP_ENTRY    24
#define HVM_MODLIST_ENTRY   32
#define HVM_MAX_ENTRIES     128

#define E820_RAM            1

extern char __image_end[]; /* guest-min.ld */

uint64_t gm_ram_top;

static char cmdline_buf[GM_CMDLINE_MAX] GM_NOINIT;

static bool range_mapped(uint64_t paddr, uint64_t len)
{
	return paddr != 0 && paddr < GM_IDENTITY_LIMIT &&
	       len <= GM_IDENTITY_LIMIT - paddr;
}

/* Byte loads: loader structures need not be aligned for their fields. */
static uint32_t load32(uint64_t paddr)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)paddr;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load64(uint64_t paddr)
{
	return (uint64_t)load32(paddr) | (uint64_t)load32(paddr + 4) << 32;
}

/* A RAM range from the loader's map: keep the one that holds the whole image. */
static void note_ram(uint64_t addr, uint64_t size, uint32_t type)
{
	uint64_t end = (uint64_t)(uintptr_t)__image_end;

	/* addr <= 1 MiB < end, so end - addr and GM_IDENTITY_LIMIT - addr cannot wrap. */
	if (type != E820_RAM || addr > 0x100000 || size < end - addr)
		return;
	gm_ram_top = size < GM_IDENTITY_LIMIT - addr ? addr + size : GM_IDENTITY_LIMIT;
}

/* Whatever the loader placed above the image (an initrd) is not ours to use. */
static void note_module(uint64_t addr, uint64_t size)
{
	if (size && addr >= (uint64_t)(uintptr_t)__image_end && addr < gm_ram_top)
		gm_ram_top = addr & ~0xfffULL;
}

/*
 * Copy so the loader's memory is read exactly once and the rest of the guest
 * works on a bounded, NUL-terminated string it owns.
 */
static const char *copy_cmdline(uint64_t paddr)
{
	size_t n = 0;

	if (range_mapped(paddr, 1)) {
		const volatile char *src = (const volatile char *)(uintptr_t)paddr;

		while (n < sizeof(cmdline_buf) - 1 &&
		       paddr + n < GM_IDENTITY_LIMIT && src[n] != '\0') {
			cmdline_buf[n] = src[n];
			n++;
		}
	}
	cmdline_buf[n] = '\0';
	return cmdline_buf;
}

void gm_boot64(uint64_t bp)
{
	uint64_t cmd = 0;

	if (range_mapped(bp, BP_SIZE)) {
		const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)bp;
		unsigned n = p[BP_E820_ENTRIES];

		cmd = (uint64_t)load32(bp + BP_EXT_CMD_LINE_PTR) << 32 |
		      load32(bp + BP_CMD_LINE_PTR);
		for (unsigned i = 0; i < n && i < BP_E820_MAX; i++) {
			uint64_t e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

			note_ram(load64(e), load64(e + 8), load32(e + 16));
		}
		note_module((uint64_t)load32(bp + BP_EXT_RAMDISK_IMAGE) << 32 |
			    load32(bp + BP_RAMDISK_IMAGE),
			    (uint64_t)load32(bp + BP_EXT_RAMDISK_SIZE) << 32 |
			    load32(bp + BP_RAMDISK_SIZE));
	}
	gm_main(copy_cmdline(cmd), GM_BOOT_LINUX64);
}

/* Version 1 of hvm_start_info adds the memory map; modules are initrds. */
static void pvh_memory(uint64_t si)
{
	uint64_t map = load64(si + HVM_OFF_MEMMAP), mods = load64(si + HVM_OFF_MODLIST);
	uint32_t n = load32(si + HVM_OFF_MEMMAP_N), nmods = load32(si + HVM_OFF_NR_MODULES);

	if (load32(si + HVM_OFF_VERSION) >= 1 && n <= HVM_MAX_ENTRIES &&
	    range_mapped(map, (uint64_t)n * HVM_MEMMAP_ENTRY))
		for (uint32_t i = 0; i < n; i++) {
			uint64_t e = map + (uint64_t)i * HVM_MEMMAP_ENTRY;

			note_ram(load64(e), load64(e + 8), load32(e + 16));
		}
	if (nmods <= HVM_MAX_ENTRIES &&
	    range_mapped(mods, (uint64_t)nmods * HVM_MODLIST_ENTRY))
		for (uint32_t i = 0; i < nmods; i++) {
			uint64_t e = mods + (uint64_t)i * HVM_MODLIST_ENTRY;

			note_module(load64(e), load64(e + 8));
		}
}

void gm_boot_pvh(uint32_t si)
{
	uint64_t cmd = 0;

	if (range_mapped(si, HVM_SIZE)) {
		uint32_t magic = load32((uint64_t)si + HVM_OFF_MAGIC);

		if (magic == HVM_START_MAGIC) {
			cmd = load64((uint64_t)si + HVM_OFF_CMDLINE);
			pvh_memory((uint64_t)si);
		} else
			gm_printf("guest-min: bad hvm_start_info magic 0x%x, "
				  "ignoring command line\n", magic);
	}
	gm_main(copy_cmdline(cmd), GM_BOOT_PVH);
}
