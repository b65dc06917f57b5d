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
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_CMD_LINE_PTR     0x228
#define BP_SIZE             0x1000

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC     0x336ec578u
#define HVM_OFF_MAGIC       0
#define HVM_OFF_CMDLINE     24
#define HVM_SIZE            56

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

	if (range_mapped(bp, BP_SIZE))
		cmd = (uint64_t)load32(bp + BP_EXT_CMD_LINE_PTR) << 32 |
		      load32(bp + BP_CMD_LINE_PTR);
	gm_main(copy_cmdline(cmd), GM_BOOT_LINUX64);
}

void gm_boot_pvh(uint32_t si)
{
	uint64_t cmd = 0;

	if (range_mapped(si, HVM_SIZE)) {
		uint32_t magic = load32((uint64_t)si + HVM_OFF_MAGIC);

		if (magic == HVM_START_MAGIC)
			cmd = load64((uint64_t)si + HVM_OFF_CMDLINE);
		else
			gm_printf("guest-min: bad hvm_start_info magic 0x%x, "
				  "ignoring command line\n", magic);
	}
	gm_main(copy_cmdline(cmd), GM_BOOT_PVH);
}
