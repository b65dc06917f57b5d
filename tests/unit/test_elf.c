/*
 * ELF kernels through kernel_load_image: ELF64 x86-64 (64-bit Linux protocol), ELF32 i386
 * with a Xen PVH note, and every rejection. Images are built here from <elf.h> structs.
 */
#include <elf.h>

#include "../../boot/kernel.h"
#include "helpers.h"

#define NAME "vmlinux-under-test"
#define IMG_CAP 0x8000
#define XEN_PHYS32_ENTRY 18
#define MEM_128M (128 * MIB)

struct seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

/* An ELF image under construction: header and program headers at the front. */
struct img {
	uint8_t b[IMG_CAP];
	size_t len;
};

static void elf64_build(struct img *im, uint16_t machine, uint16_t type, uint64_t entry,
			const struct seg *segs, unsigned n)
{
	memset(im, 0, sizeof(*im));
	Elf64_Ehdr h = { 0 };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = type;
	h.e_machine = machine;
	h.e_version = EV_CURRENT;
	h.e_entry = entry;
	h.e_phoff = sizeof(h);
	h.e_ehsize = sizeof(h);
	h.e_phentsize = sizeof(Elf64_Phdr);
	h.e_phnum = (uint16_t)n;
	memcpy(im->b, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = segs[i].type, .p_flags = PF_R | PF_X, .p_offset = segs[i].offset,
			.p_vaddr = segs[i].paddr, .p_paddr = segs[i].paddr,
			.p_filesz = segs[i].filesz, .p_memsz = segs[i].memsz, .p_align = 0x1000,
		};
		memcpy(im->b + sizeof(h) + i * sizeof(ph), &ph, sizeof(ph));
	}
	im->len = IMG_CAP;
}

static void elf32_build(struct img *im, uint16_t machine, uint32_t entry, const struct seg *segs,
			unsigned n)
{
	memset(im, 0, sizeof(*im));
	Elf32_Ehdr h = { 0 };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS32;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = ET_EXEC;
	h.e_machine = machine;
	h.e_version = EV_CURRENT;
	h.e_entry = entry;
	h.e_phoff = sizeof(h);
	h.e_ehsize = sizeof(h);
	h.e_phentsize = sizeof(Elf32_Phdr);
	h.e_phnum = (uint16_t)n;
	memcpy(im->b, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		Elf32_Phdr ph = {
			.p_type = segs[i].type, .p_offset = (uint32_t)segs[i].offset,
			.p_vaddr = (uint32_t)segs[i].paddr, .p_paddr = (uint32_t)segs[i].paddr,
			.p_filesz = (uint32_t)segs[i].filesz, .p_memsz = (uint32_t)segs[i].memsz,
			.p_flags = PF_R | PF_X, .p_align = 0x1000,
		};
		memcpy(im->b + sizeof(h) + i * sizeof(ph), &ph, sizeof(ph));
	}
	im->len = IMG_CAP;
}

/* Writes one ELF note at off; returns its size in the file. */
static size_t put_note(struct img *im, size_t off, uint32_t namesz, uint32_t descsz,
		       uint32_t type, const char *name, const void *desc, size_t desc_bytes)
{
	memcpy(im->b + off, &namesz, 4);
	memcpy(im->b + off + 4, &descsz, 4);
	memcpy(im->b + off + 8, &type, 4);
	size_t name_len = strlen(name) + 1;
	memcpy(im->b + off + 12, name, name_len);
	size_t desc_off = off + 12 + align_up_u64(name_len, 4);
	memcpy(im->b + desc_off, desc, desc_bytes);
	return desc_off + align_up_u64(desc_bytes, 4) - off;
}

/* Recognisable file bytes: never 0 and never FILL_BYTE. */
static uint8_t file_byte(size_t off)
{
	uint8_t v = (uint8_t)(off * 7 + 1);
	return v == 0 || v == FILL_BYTE ? 0x11 : v;
}

static void fill_file_bytes(struct img *im, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		im->b[i] = file_byte(i);
}

/*
 * The reference vmlinux: text at 1 MiB (0x100 file bytes, rest bss up to 4 KiB) and data
 * at 2 MiB, entered 0x10 into the text.
 */
#define TEXT_OFF 0x1000
#define TEXT_PADDR 0x100000
#define TEXT_FILESZ 0x100
#define TEXT_MEMSZ 0x1000
#define DATA_OFF 0x2000
#define DATA_PADDR 0x200000
#define DATA_SZ 0x200
#define ENTRY (TEXT_PADDR + 0x10)
#define NOTE_OFF 0x3000

static const struct seg ref_segs[] = {
	{ PT_LOAD, TEXT_OFF, TEXT_PADDR, TEXT_FILESZ, TEXT_MEMSZ },
	{ PT_LOAD, DATA_OFF, DATA_PADDR, DATA_SZ, DATA_SZ },
};

static void ref_vmlinux(struct img *im)
{
	elf64_build(im, EM_X86_64, ET_EXEC, ENTRY, ref_segs, 2);
	fill_file_bytes(im, TEXT_OFF, TEXT_OFF + TEXT_MEMSZ); /* past filesz too: must not load */
	fill_file_bytes(im, DATA_OFF, DATA_OFF + DATA_SZ);
}

/* Program header i of a 64-bit image, to tamper with after building. */
static Elf64_Phdr *phdr64(struct img *im, unsigned i)
{
	return (Elf64_Phdr *)(void *)(im->b + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static Elf64_Ehdr *ehdr64(struct img *im)
{
	return (Elf64_Ehdr *)(void *)im->b;
}

static struct guest_mem gm;

static void setup_128m(void)
{
	gm_setup(&gm, MEM_128M);
	/* Where the reference image and its variants load, and a margin around it. */
	gm_fill(&gm, 0x80000, 4 * MIB, FILL_BYTE);
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

/* Loading len bytes of im fails, names the file and problem, and leaves RAM untouched. */
static void expect_reject(const struct img *im, size_t len, const char *problem)
{
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im->b, len, NAME, &bi, &e), -1,
		     "loaded although it should fail with \"%s\"", problem);
	assert_msg_has(e, NAME);
	assert_msg_has(e, problem);
	cr_assert(gm_all(&gm, 0x80000, 4 * MIB, FILL_BYTE), "a rejected image wrote guest RAM");
}

TestSuite(elf, .init = setup_128m, .fini = teardown);

Test(elf, elf64_segments_are_copied_to_their_paddr)
{
	struct img im;
	ref_vmlinux(&im);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);

	const uint8_t *text = gm_ptr(&gm, TEXT_PADDR, TEXT_FILESZ);
	cr_assert_arr_eq(text, im.b + TEXT_OFF, TEXT_FILESZ);
	const uint8_t *data = gm_ptr(&gm, DATA_PADDR, DATA_SZ);
	cr_assert_arr_eq(data, im.b + DATA_OFF, DATA_SZ);
}

Test(elf, elf64_bss_is_zeroed_and_nothing_written_past_memsz)
{
	struct img im;
	ref_vmlinux(&im);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);

	cr_assert(gm_all(&gm, TEXT_PADDR + TEXT_FILESZ, TEXT_MEMSZ - TEXT_FILESZ, 0),
		  "bss (memsz beyond filesz) is not zero");
	cr_assert(gm_all(&gm, TEXT_PADDR + TEXT_MEMSZ, DATA_PADDR - TEXT_PADDR - TEXT_MEMSZ,
			 FILL_BYTE), "bytes between the segments changed");
	cr_assert(gm_all(&gm, DATA_PADDR + DATA_SZ, 0x1000, FILL_BYTE),
		  "bytes after the last segment changed");
	cr_assert(gm_all(&gm, 0x80000, TEXT_PADDR - 0x80000, FILL_BYTE),
		  "bytes below the first segment changed");
}

Test(elf, elf64_reports_entry_range_and_protocol)
{
	struct img im;
	ref_vmlinux(&im);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);

	cr_assert_eq(bi.protocol, BOOT_LINUX64);
	cr_assert_eq(bi.entry, ENTRY);
	cr_assert_eq(bi.kernel_start, TEXT_PADDR);
	cr_assert_eq(bi.kernel_end, DATA_PADDR + DATA_SZ);
	cr_assert_eq(bi.pvh_entry, 0, "no PVH note, yet pvh_entry 0x%llx",
		     (unsigned long long)bi.pvh_entry);
	cr_assert_not(bi.has_setup_header);
	cr_assert_eq(bi.initrd_max, MEM_128M, "an ELF kernel's initrd may go up to the top of RAM");
}

Test(elf, elf64_pvh_note_is_recorded_but_64bit_entry_is_used)
{
	struct seg s[] = { ref_segs[0], ref_segs[1], { PT_NOTE, NOTE_OFF, 0, 0, 0 } };
	struct img im;
	elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, s, 3);
	uint64_t pvh = TEXT_PADDR + 0x80;
	size_t n = put_note(&im, NOTE_OFF, 4, 8, XEN_PHYS32_ENTRY, "Xen", &pvh, 8);
	phdr64(&im, 2)->p_filesz = n;

	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.pvh_entry, pvh);
	cr_assert_eq(bi.protocol, BOOT_LINUX64);
	cr_assert_eq(bi.entry, ENTRY);
}

Test(elf, pvh_note_found_after_other_notes)
{
	struct seg s[] = { ref_segs[0], { PT_NOTE, NOTE_OFF, 0, 0, 0 } };
	struct img im;
	elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, s, 2);
	uint8_t build_id[20] = { 1, 2, 3 };
	uint32_t other = 0x1234;
	uint64_t pvh = TEXT_PADDR + 0x40;
	size_t off = NOTE_OFF;
	off += put_note(&im, off, 4, sizeof(build_id), NT_GNU_BUILD_ID, "GNU", build_id,
			sizeof(build_id));
	/* Right name, wrong type; then right type, wrong name: neither is the entry. */
	off += put_note(&im, off, 4, 4, 17, "Xen", &other, 4);
	off += put_note(&im, off, 6, 4, XEN_PHYS32_ENTRY, "Linux", &other, 4);
	off += put_note(&im, off, 4, 8, XEN_PHYS32_ENTRY, "Xen", &pvh, 8);
	phdr64(&im, 1)->p_filesz = off - NOTE_OFF;

	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.pvh_entry, pvh);
}

Test(elf, pt_note_with_lying_sizes_is_ignored)
{
	struct seg s[] = { ref_segs[0], { PT_NOTE, NOTE_OFF, 0, 0x20, 0 } };
	uint32_t sizes[][2] = { { 0xffffffff, 8 }, { 4, 0xffffffff }, { 0xfffffffd, 0xfffffffd },
				{ 4, 0x7ffffff0 } };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct img im;
		elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, s, 2);
		uint64_t pvh = TEXT_PADDR;
		put_note(&im, NOTE_OFF, sizes[i][0], sizes[i][1], XEN_PHYS32_ENTRY, "Xen", &pvh, 8);
		struct boot_image bi;
		struct errbuf e = { "" };
		cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0,
			     "namesz 0x%x descsz 0x%x: %s", sizes[i][0], sizes[i][1], e.msg);
		cr_assert_eq(bi.pvh_entry, 0, "a note with lying sizes was believed");
	}
}

Test(elf, pt_note_past_end_of_file_is_ignored)
{
	struct seg s[] = { ref_segs[0], { PT_NOTE, IMG_CAP - 8, 0, 0x100, 0 } };
	struct img im;
	elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, s, 2);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.pvh_entry, 0);
}

Test(elf, elf32_with_pvh_note_boots_pvh_at_note_entry)
{
	struct seg s[] = { { PT_LOAD, TEXT_OFF, TEXT_PADDR, TEXT_FILESZ, TEXT_MEMSZ },
			   { PT_NOTE, NOTE_OFF, 0, 0, 0 } };
	struct img im;
	/* e_entry is somewhere else on purpose: PVH must use the note's. */
	elf32_build(&im, EM_386, TEXT_PADDR + 0x20, s, 2);
	fill_file_bytes(&im, TEXT_OFF, TEXT_OFF + TEXT_FILESZ);
	uint32_t pvh = TEXT_PADDR + 0x100;
	size_t n = put_note(&im, NOTE_OFF, 4, 4, XEN_PHYS32_ENTRY, "Xen", &pvh, 4);
	Elf32_Phdr *note = (Elf32_Phdr *)(void *)(im.b + sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr));
	note->p_filesz = (uint32_t)n;

	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.protocol, BOOT_PVH);
	cr_assert_eq(bi.entry, pvh);
	cr_assert_eq(bi.pvh_entry, pvh);
	cr_assert_eq(bi.kernel_start, TEXT_PADDR);
	cr_assert_eq(bi.kernel_end, TEXT_PADDR + TEXT_MEMSZ);
	cr_assert_arr_eq(gm_ptr(&gm, TEXT_PADDR, TEXT_FILESZ), im.b + TEXT_OFF, TEXT_FILESZ);
	cr_assert(gm_all(&gm, TEXT_PADDR + TEXT_FILESZ, TEXT_MEMSZ - TEXT_FILESZ, 0));
}

/* RAM above 4 GiB exists, but the boot page tables map only [0, 4 GiB): refused. */
Test(elf, rejects_segment_above_identity_map)
{
	struct guest_mem big;
	gm_setup(&big, 4 * GIB + 64 * MIB);
	gm_fill(&big, GUEST_MEM_HIGH_START, MIB, FILL_BYTE);
	struct seg s[] = { { PT_LOAD, TEXT_OFF, GUEST_MEM_HIGH_START, TEXT_FILESZ, TEXT_MEMSZ } };
	struct img im;
	elf64_build(&im, EM_X86_64, ET_EXEC, GUEST_MEM_HIGH_START, s, 1);
	fill_file_bytes(&im, TEXT_OFF, TEXT_OFF + TEXT_FILESZ);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&big, im.b, im.len, NAME, &bi, &e), -1);
	assert_msg_has(e, NAME);
	assert_msg_has(e, "above the 4 GiB");
	cr_assert(gm_all(&big, GUEST_MEM_HIGH_START, MIB, FILL_BYTE));
	guest_mem_destroy(&big);
}

/* --- rejections: -1, a message naming the file and the problem, RAM untouched --- */

Test(elf, rejects_empty_image)
{
	struct img im = { .len = 0 };
	expect_reject(&im, 0, "empty");
}

Test(elf, rejects_neither_elf_nor_bzimage)
{
	struct img im;
	memset(&im, 0, sizeof(im));
	memcpy(im.b, "#!/bin/sh\necho not a kernel\n", 28);
	expect_reject(&im, IMG_CAP, "not a kernel");
}

Test(elf, rejects_truncated_elf64_header)
{
	struct img im;
	ref_vmlinux(&im);
	expect_reject(&im, sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
	expect_reject(&im, EI_NIDENT, "truncated ELF header");
}

Test(elf, rejects_truncated_elf32_header)
{
	struct img im;
	elf32_build(&im, EM_386, TEXT_PADDR, ref_segs, 1);
	expect_reject(&im, sizeof(Elf32_Ehdr) - 1, "truncated ELF header");
}

Test(elf, rejects_truncated_program_headers)
{
	struct img im;
	ref_vmlinux(&im);
	/* Two program headers, but the file ends in the middle of the second. */
	expect_reject(&im, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10, "program headers");
}

Test(elf, rejects_program_header_offset_that_wraps)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_phoff = UINT64_MAX - 8;
	expect_reject(&im, im.len, "program headers");
}

Test(elf, rejects_segment_past_end_of_file)
{
	struct img im;
	ref_vmlinux(&im);
	expect_reject(&im, DATA_OFF + DATA_SZ - 1, "segment 1 ends past the end of the file");
}

Test(elf, rejects_segment_offset_that_wraps)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 0)->p_offset = UINT64_MAX - 0x10;
	expect_reject(&im, im.len, "segment 0 ends past the end of the file");
}

Test(elf, rejects_elf64_for_another_architecture)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_machine = EM_AARCH64;
	expect_reject(&im, im.len, "wrong architecture");
}

Test(elf, rejects_elf32_for_another_architecture)
{
	struct img im;
	elf32_build(&im, EM_ARM, TEXT_PADDR, ref_segs, 1);
	expect_reject(&im, im.len, "wrong architecture");
}

Test(elf, rejects_big_endian_elf)
{
	struct img im;
	ref_vmlinux(&im);
	im.b[EI_DATA] = ELFDATA2MSB;
	expect_reject(&im, im.len, "little-endian");
}

Test(elf, rejects_elf32_without_pvh_note)
{
	struct img im;
	elf32_build(&im, EM_386, TEXT_PADDR, ref_segs, 1);
	expect_reject(&im, im.len, "PVH");
}

Test(elf, rejects_elf32_whose_only_note_lies)
{
	struct seg s[] = { ref_segs[0], { PT_NOTE, NOTE_OFF, 0, 0x20, 0 } };
	struct img im;
	elf32_build(&im, EM_386, TEXT_PADDR, s, 2);
	uint32_t pvh = TEXT_PADDR;
	put_note(&im, NOTE_OFF, 4, 0xfffffff0, XEN_PHYS32_ENTRY, "Xen", &pvh, 4);
	expect_reject(&im, im.len, "PVH");
}

Test(elf, rejects_non_executable_elf)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_type = ET_DYN;
	expect_reject(&im, im.len, "not an executable");
	ehdr64(&im)->e_type = ET_REL;
	expect_reject(&im, im.len, "not an executable");
}

Test(elf, rejects_zero_program_headers)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_phnum = 0;
	expect_reject(&im, im.len, "program header table");
}

Test(elf, rejects_too_many_program_headers)
{
	struct img im;
	ref_vmlinux(&im);
	/* 65 headers all inside the file: only the count is wrong. */
	ehdr64(&im)->e_phnum = 65;
	expect_reject(&im, im.len, "program header table");
}

Test(elf, rejects_wrong_program_header_size)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_phentsize = sizeof(Elf32_Phdr);
	expect_reject(&im, im.len, "program header table");
}

Test(elf, rejects_filesz_larger_than_memsz)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_memsz = DATA_SZ - 1;
	expect_reject(&im, im.len, "more file bytes than memory bytes");
}

Test(elf, rejects_segment_below_1mib)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 0)->p_paddr = 0x90000;
	ehdr64(&im)->e_entry = 0x90010;
	expect_reject(&im, im.len, "below 1 MiB");
}

Test(elf, rejects_segment_larger_than_guest_ram)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_memsz = MEM_128M;
	expect_reject(&im, im.len, "too large");
}

Test(elf, rejects_segment_ending_one_byte_past_ram)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_paddr = MEM_128M - DATA_SZ + 1;
	expect_reject(&im, im.len, "does not fit");
}

Test(elf, accepts_segment_ending_exactly_at_top_of_ram)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_paddr = MEM_128M - DATA_SZ;
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_arr_eq(gm_ptr(&gm, MEM_128M - DATA_SZ, DATA_SZ), im.b + DATA_OFF, DATA_SZ);
}

Test(elf, rejects_segment_that_wraps_the_address_space)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_paddr = UINT64_MAX - 0x100;
	expect_reject(&im, im.len, "segment 1");
}

Test(elf, rejects_segment_in_mmio_gap)
{
	struct guest_mem big;
	gm_setup(&big, 4 * GIB + 64 * MIB);
	gm_fill(&big, GUEST_MEM_GAP_START - MIB, MIB, FILL_BYTE);
	gm_fill(&big, GUEST_MEM_HIGH_START, MIB, FILL_BYTE);
	gm_fill(&big, TEXT_PADDR, MIB, FILL_BYTE);
	struct seg cases[][2] = {
		/* wholly in the gap */
		{ ref_segs[0], { PT_LOAD, DATA_OFF, GUEST_MEM_GAP_START + 16 * MIB, DATA_SZ, DATA_SZ } },
		/* straddling its start */
		{ ref_segs[0], { PT_LOAD, DATA_OFF, GUEST_MEM_GAP_START - 0x100, DATA_SZ, DATA_SZ } },
		/* straddling its end */
		{ ref_segs[0], { PT_LOAD, DATA_OFF, GUEST_MEM_HIGH_START - 0x100, DATA_SZ, DATA_SZ } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct img im;
		elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, cases[i], 2);
		fill_file_bytes(&im, TEXT_OFF, DATA_OFF + DATA_SZ);
		struct boot_image bi;
		struct errbuf e = { "" };
		cr_assert_eq(kernel_load_image(&big, im.b, im.len, NAME, &bi, &e), -1,
			     "case %zu: a segment in the MMIO gap was accepted", i);
		assert_msg_has(e, NAME);
		assert_msg_has(e, "segment 1");
		assert_msg_has(e, "MMIO gap");
	}
	cr_assert(gm_all(&big, GUEST_MEM_GAP_START - MIB, MIB, FILL_BYTE));
	cr_assert(gm_all(&big, GUEST_MEM_HIGH_START, MIB, FILL_BYTE));
	cr_assert(gm_all(&big, TEXT_PADDR, MIB, FILL_BYTE));
	guest_mem_destroy(&big);
}

Test(elf, rejects_overlapping_segments)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_paddr = TEXT_PADDR + TEXT_MEMSZ - 1; /* one byte into the text's bss */
	expect_reject(&im, im.len, "overlap");
}

Test(elf, accepts_adjacent_segments)
{
	struct img im;
	ref_vmlinux(&im);
	phdr64(&im, 1)->p_paddr = TEXT_PADDR + TEXT_MEMSZ;
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_image(&gm, im.b, im.len, NAME, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.kernel_end, TEXT_PADDR + TEXT_MEMSZ + DATA_SZ);
}

Test(elf, rejects_overlap_found_in_reverse_order)
{
	struct img im;
	ref_vmlinux(&im);
	/* Second segment lies below the first and reaches one byte into it. */
	phdr64(&im, 0)->p_paddr = 0x180000;
	ehdr64(&im)->e_entry = 0x180010;
	phdr64(&im, 1)->p_paddr = 0x180000 - DATA_SZ + 1;
	expect_reject(&im, im.len, "overlap");
}

Test(elf, rejects_entry_below_the_segments)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_entry = TEXT_PADDR - 1;
	expect_reject(&im, im.len, "entry point");
}

Test(elf, rejects_entry_at_end_of_the_segments)
{
	struct img im;
	ref_vmlinux(&im);
	ehdr64(&im)->e_entry = DATA_PADDR + DATA_SZ;
	expect_reject(&im, im.len, "entry point");
}

Test(elf, rejects_entry_in_hole_between_segments)
{
	struct img im;
	ref_vmlinux(&im);
	/* Neither segment covers 1.5 MiB: the vCPU would start in never-loaded memory. */
	ehdr64(&im)->e_entry = TEXT_PADDR + 0x80000;
	expect_reject(&im, im.len, "entry point");
}

Test(elf, rejects_pvh_entry_outside_segments)
{
	struct seg s[] = { ref_segs[0], { PT_NOTE, NOTE_OFF, 0, 0, 0 } };
	struct img im;
	elf32_build(&im, EM_386, TEXT_PADDR, s, 2);
	uint32_t pvh = 0x300000;
	size_t n = put_note(&im, NOTE_OFF, 4, 4, XEN_PHYS32_ENTRY, "Xen", &pvh, 4);
	Elf32_Phdr *note = (Elf32_Phdr *)(void *)(im.b + sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr));
	note->p_filesz = (uint32_t)n;
	expect_reject(&im, im.len, "entry point");
}

Test(elf, rejects_image_without_loadable_segments)
{
	struct seg s[] = { { PT_NOTE, NOTE_OFF, 0, 0, 0 }, { PT_LOAD, TEXT_OFF, TEXT_PADDR, 0, 0 } };
	struct img im;
	elf64_build(&im, EM_X86_64, ET_EXEC, ENTRY, s, 2);
	expect_reject(&im, im.len, "no loadable segments");
}
