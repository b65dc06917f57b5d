/*
 * kernel_load_file and initrd_load_file: files written to a private temporary directory,
 * removed again after each test.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../boot/kernel.h"
#include "helpers.h"

#define MEM (128 * MIB)
#define KERNEL_PADDR 0x100000
#define KERNEL_MEMSZ 0x3000

static struct guest_mem gm;
#define DIR_TEMPLATE "/tmp/ember-unit-XXXXXX"
static char dir[sizeof(DIR_TEMPLATE)];
static char paths[8][256];
static unsigned npaths;

static void setup(void)
{
	memcpy(dir, DIR_TEMPLATE, sizeof(DIR_TEMPLATE));
	npaths = 0;
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	gm_setup(&gm, MEM);
}

static void teardown(void)
{
	for (unsigned i = 0; i < npaths; i++)
		unlink(paths[i]);
	rmdir(dir);
	guest_mem_destroy(&gm);
}

/* A file in the test directory holding len bytes of data (NULL: a sparse file of len). */
static const char *write_file(const char *name, const void *data, size_t len)
{
	cr_assert_lt(npaths, ARRAY_SIZE(paths));
	char *p = paths[npaths++];
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
	if (data)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
	else
		cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
	return p;
}

/* A minimal ELF64 vmlinux: one segment of KERNEL_MEMSZ at 1 MiB. */
static size_t tiny_vmlinux(uint8_t *b, size_t cap)
{
	memset(b, 0, cap);
	Elf64_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_entry = KERNEL_PADDR, .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 1 };
	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = KERNEL_PADDR,
			  .p_filesz = 0x1000, .p_memsz = KERNEL_MEMSZ };
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &ph, sizeof(ph));
	for (size_t i = 0x1000; i < 0x2000; i++)
		b[i] = (uint8_t)(i ^ 0x5a);
	return 0x2000;
}

TestSuite(loader, .init = setup, .fini = teardown);

Test(loader, kernel_file_loads)
{
	uint8_t img[0x2000];
	size_t len = tiny_vmlinux(img, sizeof(img));
	const char *path = write_file("vmlinux", img, len);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, path, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.entry, KERNEL_PADDR);
	cr_assert_eq(bi.kernel_end, KERNEL_PADDR + KERNEL_MEMSZ);
	cr_assert_arr_eq(gm_ptr(&gm, KERNEL_PADDR, 0x1000), img + 0x1000, 0x1000);
}

Test(loader, missing_kernel_names_path_and_errno)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/no-such-kernel", dir);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, strerror(ENOENT));
}

Test(loader, kernel_that_is_a_directory_is_rejected)
{
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, dir, &bi, &e), -1);
	assert_msg_has(e, dir);
	assert_msg_has(e, "not a regular file");
}

Test(loader, empty_kernel_file_is_rejected)
{
	const char *path = write_file("empty", "", 0);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, "empty");
}

Test(loader, bad_kernel_file_error_names_the_path)
{
	const char *path = write_file("notes.txt", "just some text, no kernel here\n", 31);
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, "not a kernel");
}

Test(loader, initrd_goes_page_aligned_to_top_of_low_ram)
{
	uint8_t img[0x2000];
	size_t len = tiny_vmlinux(img, sizeof(img));
	struct boot_image bi;
	struct errbuf e = { "" };
	cr_assert_eq(kernel_load_file(&gm, write_file("vmlinux", img, len), &bi, &e), 0, "%s",
		     e.msg);

	enum { N = 10000 }; /* not a multiple of the page size */
	static uint8_t rd[N];
	for (size_t i = 0; i < N; i++)
		rd[i] = (uint8_t)(i * 13 + 7);
	const char *path = write_file("initrd", rd, N);
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), 0, "%s", e.msg);

	cr_assert_eq(bi.initrd_size, N);
	cr_assert_eq(bi.initrd_addr % 4096, 0, "initrd at 0x%llx is not page-aligned",
		     (unsigned long long)bi.initrd_addr);
	cr_assert_geq(bi.initrd_addr, bi.kernel_end, "initrd overlaps the kernel");
	cr_assert_leq(bi.initrd_addr + N, MEM, "initrd runs past the end of RAM");
	cr_assert_lt(MEM - (bi.initrd_addr + N), 4096, "initrd is not at the top of RAM");
	cr_assert_arr_eq(gm_ptr(&gm, bi.initrd_addr, N), rd, N, "initrd bytes did not arrive");
}

Test(loader, initrd_stays_below_the_mmio_gap)
{
	struct guest_mem big;
	gm_setup(&big, 4 * GIB + 64 * MIB);
	struct boot_image bi = { .kernel_end = 2 * MIB, .initrd_max = guest_mem_low_end(&big) };
	const char *path = write_file("initrd", "0123456789", 10);
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&big, path, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.initrd_addr, GUEST_MEM_GAP_START - 4096);
	cr_assert_arr_eq(gm_ptr(&big, bi.initrd_addr, 10), "0123456789", 10);
	guest_mem_destroy(&big);
}

Test(loader, initrd_that_exactly_fits_above_kernel_is_accepted)
{
	struct boot_image bi = { .kernel_end = 120 * MIB - 100, .initrd_max = MEM };
	/* Sparse: costs no disk; the space above the (page-rounded) kernel is 8 MiB. */
	const char *path = write_file("initrd", NULL, 8 * MIB);
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.initrd_addr, 120 * MIB);
	cr_assert(gm_all(&gm, 120 * MIB, 8 * MIB, 0), "sparse file reads as zeroes");
}

Test(loader, initrd_too_large_to_fit_above_kernel_is_rejected)
{
	struct boot_image bi = { .kernel_end = 120 * MIB - 100, .initrd_max = MEM };
	gm_fill(&gm, 120 * MIB - 4096, 8 * MIB + 4096, FILL_BYTE);
	const char *path = write_file("initrd", NULL, 8 * MIB + 1);
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, "too large");
	cr_assert_eq(bi.initrd_size, 0);
	cr_assert(gm_all(&gm, 120 * MIB - 4096, 8 * MIB + 4096, FILL_BYTE),
		  "a rejected initrd wrote guest RAM");
}

Test(loader, initrd_larger_than_ram_is_rejected)
{
	struct boot_image bi = { .kernel_end = 2 * MIB, .initrd_max = MEM };
	const char *path = write_file("initrd", NULL, MEM + 4096);
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, "too large");
}

Test(loader, missing_initrd_names_path_and_errno)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/no-such-initrd", dir);
	struct boot_image bi = { .kernel_end = 2 * MIB, .initrd_max = MEM };
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, strerror(ENOENT));
}

Test(loader, initrd_that_is_a_directory_is_rejected)
{
	struct boot_image bi = { .kernel_end = 2 * MIB, .initrd_max = MEM };
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, dir, &bi, &e), -1);
	assert_msg_has(e, dir);
	assert_msg_has(e, "not a regular file");
}

Test(loader, empty_initrd_is_rejected)
{
	struct boot_image bi = { .kernel_end = 2 * MIB, .initrd_max = MEM };
	const char *path = write_file("initrd", "", 0);
	struct errbuf e = { "" };
	cr_assert_eq(initrd_load_file(&gm, path, &bi, &e), -1);
	assert_msg_has(e, path);
	assert_msg_has(e, "empty");
}
