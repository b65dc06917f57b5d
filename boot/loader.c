/* Reading kernel and initrd files, and telling kernel formats apart. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/util.h"
#include "kernel.h"

int kernel_load_image(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
		      struct boot_image *bi, struct errbuf *e)
{
	memset(bi, 0, sizeof(*bi));
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return elf_load(gm, img, len, name, bi, e);
	if (len >= 0x206 && memcmp(img + 0x202, "HdrS", 4) == 0)
		return bzimage_load(gm, img, len, name, bi, e);
	if (len == 0)
		return errf(e, "%s: empty file", name);
	return errf(e, "%s: not a kernel: neither ELF nor bzImage", name);
}

static int open_regular(const char *path, const char *what, struct stat *st, struct errbuf *e)
{
	/* O_NONBLOCK: a FIFO given as a kernel must fail here, not block the open. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errf(e, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return errf(e, "%s %s: not a regular file", what, path);
	}
	return fd;
}

int kernel_load_file(struct guest_mem *gm, const char *path, struct boot_image *bi,
		     struct errbuf *e)
{
	struct stat st;
	int fd = open_regular(path, "kernel", &st, e);
	if (fd < 0)
		return -1;
	if (st.st_size == 0) {
		close(fd);
		return errf(e, "%s: empty file", path);
	}
	void *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return errf(e, "%s: cannot map: %s", path, strerror(errno));
	int r = kernel_load_image(gm, img, (size_t)st.st_size, path, bi, e);
	munmap(img, (size_t)st.st_size);
	return r;
}

static int read_full(int fd, uint8_t *dst, uint64_t size)
{
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (uint64_t)n;
	}
	return 0;
}

int initrd_load_file(struct guest_mem *gm, const char *path, struct boot_image *bi,
		     struct errbuf *e)
{
	struct stat st;
	int fd = open_regular(path, "initrd", &st, e);
	if (fd < 0)
		return -1;
	uint64_t size = (uint64_t)st.st_size;
	uint64_t top = align_down_u64(bi->initrd_max, 4096);
	uint64_t floor = align_up_u64(bi->kernel_end, 4096);
	if (size == 0 || size > top || top - size < floor) {
		close(fd);
		return errf(e, "initrd %s: %s", path, size == 0 ? "empty file" :
			    "too large: does not fit in guest RAM above the kernel");
	}
	uint64_t addr = align_down_u64(top - size, 4096);
	uint8_t *dst = guest_mem_at(gm, addr, size);
	int r = dst ? read_full(fd, dst, size) : -1;
	close(fd);
	if (r < 0)
		return errf(e, "initrd %s: short read (file changed while loading?)", path);
	bi->initrd_addr = addr;
	bi->initrd_size = size;
	return 0;
}
