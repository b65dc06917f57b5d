/*
 * bzImage loading (Linux boot protocol 2.12+, 64-bit entry) from synthetic images built
 * with <asm/bootparam.h>'s struct setup_header: setup code, then the protected-mode payload.
 */
#include <asm/bootparam.h>
#include <stddef.h>

#include "../../boot/kernel.h"
#include "helpers.h"

#define NAME "bzImage-under-test"
#define HDR_OFF 0x1f1
#define SETUP_SECTS 4
#define SETUP_BYTES ((SETUP_SECTS + 1) * 512)
#define PAYLOAD 0x3000
#define IMG_LEN (SETUP_BYTES + PAYLOAD)
#define PREF 0x1000000ULL  /* 16 MiB, Linux's default CONFIG_PHYSICAL_START */
#define INIT_SIZE 0x400000 /* 4 MiB: the decompressor's working span */
#define MEM (128 * MIB)

struct bz {
	uint8_t b[IMG_LEN];
};

static struct setup_header *hdr(struct bz *z)
{
	return (struct setup_header *)(void *)(z->b + HDR_OFF);
}

static void bz_build(struct bz *z)
{
	memset(z, 0, sizeof(*z));
	struct setup_header *h = hdr(z);
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	/* Short jump at 0x200 over the header: its target is where the header ends. */
	h->jump = (uint16_t)(0xeb | ((HDR_OFF + sizeof(*h) - 0x202) << 8));
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020c;
	h->loadflags = LOADED_HIGH;
	h->syssize = PAYLOAD / 16;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->pref_address = PREF;
	h->init_size = INIT_SIZE;
	for (size_t i = SETUP_BYTES; i < IMG_LEN; i++)
		z->b[i] = (uint8_t)(i % 251 + 1);
}

static struct guest_mem gm;

static void setup(void)
{
	gm_setup(&gm, MEM);
	gm_fill(&gm, PREF - MIB, INIT_SIZE + 2 * MIB, FILL_BYTE);
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

static void expect_reject(const struct bz *z, size_t len, const char *problem)
{
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z->b, len, NAME, &bi, &e), -1,
		     "loaded although it should fail with \"%s\"", problem);
	assert_msg_has(e, NAME);
	assert_msg_has(e, problem);
	cr_assert(gm_all(&gm, PREF - MIB, INIT_SIZE + 2 * MIB, FILL_BYTE),
		  "a rejected bzImage wrote guest RAM");
}

TestSuite(bzimage, .init = setup, .fini = teardown);

Test(bzimage, payload_loads_at_pref_address)
{
	struct bz z;
	bz_build(&z);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_arr_eq(gm_ptr(&gm, PREF, PAYLOAD), z.b + SETUP_BYTES, PAYLOAD,
			 "guest RAM at pref_address is not the protected-mode payload");
	cr_assert(gm_all(&gm, PREF - MIB, MIB, FILL_BYTE), "setup code was loaded below the kernel");
}

Test(bzimage, entry_is_64bit_entry_and_span_covers_init_size)
{
	struct bz z;
	bz_build(&z);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.protocol, BOOT_LINUX64);
	cr_assert_eq(bi.entry, PREF + 0x200, "64-bit entry is startup_64, 0x200 in");
	cr_assert_eq(bi.kernel_start, PREF);
	cr_assert_eq(bi.kernel_end, PREF + INIT_SIZE, "the kernel needs init_size bytes");
	cr_assert_eq(bi.pvh_entry, 0);
}

Test(bzimage, setup_header_is_kept_for_boot_params)
{
	struct bz z;
	bz_build(&z);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert(bi.has_setup_header);
	cr_assert_eq(memcmp(&bi.setup, hdr(&z), sizeof(bi.setup)), 0,
		     "the setup header differs from the image's");
}

Test(bzimage, initrd_limit_is_lower_of_initrd_addr_max_and_ram)
{
	struct bz z;
	bz_build(&z);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.initrd_max, MEM, "128 MiB guest, initrd_addr_max 2 GiB");

	hdr(&z)->initrd_addr_max = 0x5ffffff;                /* 96 MiB - 1 */
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.initrd_max, 0x6000000ULL, "initrd must end at or below initrd_addr_max");
}

Test(bzimage, zero_setup_sects_means_four)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->setup_sects = 0;
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_arr_eq(gm_ptr(&gm, PREF, PAYLOAD), z.b + SETUP_BYTES, PAYLOAD);
}

Test(bzimage, non_relocatable_kernel_loads_at_pref_address)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->relocatable_kernel = 0;
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.kernel_start, PREF);
}

Test(bzimage, rejects_protocol_older_than_2_12)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->version = 0x020b;
	expect_reject(&z, IMG_LEN, "2.11");
	expect_reject(&z, IMG_LEN, "64-bit entry");
}

Test(bzimage, rejects_image_without_xlf_kernel_64)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	expect_reject(&z, IMG_LEN, "64-bit entry");
}

Test(bzimage, rejects_syssize_larger_than_payload)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->syssize = PAYLOAD / 16 + 1;
	expect_reject(&z, IMG_LEN, "truncated");
}

Test(bzimage, rejects_huge_syssize_without_overflow)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->syssize = 0x10000001; /* * 16 in 32 bits would wrap to 0x10 */
	expect_reject(&z, IMG_LEN, "truncated");
}

Test(bzimage, rejects_file_ending_within_setup)
{
	struct bz z;
	bz_build(&z);
	expect_reject(&z, SETUP_BYTES, "truncated");
	expect_reject(&z, SETUP_BYTES - 100, "truncated");
}

Test(bzimage, rejects_file_ending_within_setup_header)
{
	struct bz z;
	bz_build(&z);
	expect_reject(&z, 0x210, "truncated");
}

Test(bzimage, rejects_init_size_beyond_ram)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->init_size = (uint32_t)(MEM - PREF + 1);
	expect_reject(&z, IMG_LEN, "too large");
}

Test(bzimage, accepts_init_size_ending_at_top_of_ram)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->init_size = (uint32_t)(MEM - PREF);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, z.b, IMG_LEN, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.kernel_end, MEM);
}

Test(bzimage, rejects_pref_address_in_mmio_gap)
{
	struct bz z;
	bz_build(&z);
	struct guest_mem big;
	gm_setup(&big, 4 * GIB + 64 * MIB);
	hdr(&z)->pref_address = GUEST_MEM_GAP_START - 0x200000;
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&big, z.b, IMG_LEN, NAME, &bi, &e), -1,
		     "a kernel reaching into the MMIO gap was accepted");
	assert_msg_has(e, NAME);
	assert_msg_has(e, "too large");
	guest_mem_destroy(&big);
}

Test(bzimage, rejects_non_power_of_two_alignment)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->kernel_alignment = 0x300000;
	expect_reject(&z, IMG_LEN, "power of two");
	hdr(&z)->kernel_alignment = 0;
	expect_reject(&z, IMG_LEN, "power of two");
}

Test(bzimage, rejects_pref_address_below_1mib)
{
	struct bz z;
	bz_build(&z);
	hdr(&z)->pref_address = 0x90000;
	expect_reject(&z, IMG_LEN, "below 1 MiB");
}
