/*
 * Kernel and initrd loading. A kernel image is recognised by its contents:
 *   - ELF64 x86-64 (a Linux vmlinux, guest-min): segments at p_paddr, entered at e_entry
 *     in 64-bit mode with boot_params in RSI (Linux 64-bit boot protocol);
 *   - ELF32 i386 carrying a PVH note: entered at the note's 32-bit entry, PVH protocol;
 *   - bzImage: protected-mode part at pref_address, entered at its 64-bit entry (+0x200).
 * Every check that fails names the file and the problem in one line.
 */
#ifndef EMBER_KERNEL_H
#define EMBER_KERNEL_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/error.h"
#include "../lib/guest_mem.h"

enum boot_protocol { BOOT_LINUX64, BOOT_PVH };

struct boot_image {
	enum boot_protocol protocol;
	uint64_t entry;
	uint64_t kernel_start, kernel_end; /* guest-physical range the kernel occupies */
	uint64_t pvh_entry;                /* 0 when the image has no PVH note */
	bool has_setup_header;             /* bzImage: its header goes into boot_params */
	struct setup_header setup;
	uint64_t initrd_max;               /* highest byte the initrd may end at, exclusive */
	uint64_t initrd_addr, initrd_size;
};

/* Loads an image already in memory; name is used in error messages. */
int kernel_load_image(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
		      struct boot_image *bi, struct errbuf *e);
int kernel_load_file(struct guest_mem *gm, const char *path, struct boot_image *bi,
		     struct errbuf *e);

int elf_load(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
	     struct boot_image *bi, struct errbuf *e);
int bzimage_load(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
		 struct boot_image *bi, struct errbuf *e);

/* Places the initrd at the top of low RAM, above the kernel. */
int initrd_load_file(struct guest_mem *gm, const char *path, struct boot_image *bi,
		     struct errbuf *e);

#endif
