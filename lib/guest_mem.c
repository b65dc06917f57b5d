#include "guest_mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "util.h"

static void guest_mem_set_regions(struct guest_mem *gm, uint8_t *p, uint64_t size)
{
	gm->host = p;
	gm->size = size;
	uint64_t low = size < GUEST_MEM_GAP_START ? size : GUEST_MEM_GAP_START;
	gm->regions[0] = (struct guest_mem_region){ .gpa = 0, .size = low, .host = gm->host };
	gm->nregions = 1;
	if (size > low) {
		gm->regions[1] = (struct guest_mem_region){
			.gpa = GUEST_MEM_HIGH_START, .size = size - low, .host = gm->host + low,
		};
		gm->nregions = 2;
	}
}

/*
 * Maps guest RAM at a 2 MiB-aligned host address. KVM maps a guest's 2 MiB frame with
 * one huge EPT/NPT entry only when the host memory behind it is one huge page, which
 * needs the host address aligned like the guest's; kernels before 6.7 place anonymous
 * and file mappings at any 4 KiB page, so without this a transparent huge page backs
 * the RAM in the host but the guest still faults it in 4 KiB at a time. So: reserve
 * 2 MiB more than needed (no access, no memory), map over the aligned part of it with
 * MAP_FIXED, give back the rest.
 */
static void *map_aligned(uint64_t size, int prot, int flags, int fd)
{
	const uint64_t align = 2 * MIB;
	uint8_t *res = mmap(NULL, size + align, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	uint64_t head = (align - (uintptr_t)res % align) % align;
	void *p = mmap(res + head, size, prot, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		munmap(res, size + align);
		errno = err;
		return MAP_FAILED;
	}
	if (head)
		munmap(res, head);
	munmap(res + head + size, align - head);
	return p;
}

int guest_mem_init(struct guest_mem *gm, uint64_t size, struct errbuf *e)
{
	return guest_mem_init_flags(gm, size, 0, e);
}

int guest_mem_init_flags(struct guest_mem *gm, uint64_t size, unsigned flags, struct errbuf *e)
{
	bool huge = flags & GUEST_MEM_HUGE_2M;
	memset(gm, 0, sizeof(*gm));
	if (size == 0 || size % (huge ? 2 * MIB : 4 * KIB))
		return errf(e, "guest memory size %llu is not a positive multiple of %s",
			    (unsigned long long)size, huge ? "2 MiB (huge pages)" : "4 KiB");

	/* NORESERVE: untouched guest pages cost the host nothing, so large guests start fast. */
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS |
		     (huge ? MAP_HUGETLB | MAP_HUGE_2MB : MAP_NORESERVE);
	void *p = map_aligned(size, PROT_READ | PROT_WRITE, mflags, -1);
	if (p == MAP_FAILED)
		return errf(e, "cannot map %llu MiB of guest memory%s: %s",
			    (unsigned long long)(size / MIB),
			    huge ? " with 2 MiB huge pages (see /proc/sys/vm/nr_hugepages)" : "",
			    strerror(errno));

	if ((flags & GUEST_MEM_HUGE_THP) && madvise(p, size, MADV_HUGEPAGE) < 0) {
		int err = errno;
		munmap(p, size);
		return errf(e, "guest memory: transparent huge pages (MADV_HUGEPAGE): %s%s",
			    strerror(err), err == EINVAL ? " (a kernel without THP?)" : "");
	}
	guest_mem_set_regions(gm, p, size);
	return 0;
}

int guest_mem_init_file(struct guest_mem *gm, uint64_t size, int fd, struct errbuf *e)
{
	struct stat st;
	memset(gm, 0, sizeof(*gm));
	if (size == 0 || size % (4 * KIB))
		return errf(e, "guest memory size %llu is not a positive multiple of 4 KiB",
			    (unsigned long long)size);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return errf(e, "memory file: not a regular file");
	if ((uint64_t)st.st_size < size)
		return errf(e, "memory file: %llu bytes, the snapshot's guest has %llu",
			    (unsigned long long)st.st_size, (unsigned long long)size);
	void *p = map_aligned(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd);
	if (p == MAP_FAILED)
		return errf(e, "memory file: mmap of %llu MiB: %s",
			    (unsigned long long)(size / MIB), strerror(errno));
	guest_mem_set_regions(gm, p, size);
	return 0;
}

int guest_mem_track_writes(struct guest_mem *gm, struct errbuf *e)
{
	if (!gm->written)
		gm->written = calloc((gm->size / (4 * KIB) + 63) / 64, sizeof(uint64_t));
	return gm->written ? 0 : errf(e, "out of memory (guest RAM write bitmap)");
}

void guest_mem_destroy(struct guest_mem *gm)
{
	free(gm->written);
	if (gm->host)
		munmap(gm->host, gm->size);
	memset(gm, 0, sizeof(*gm));
}

void *guest_mem_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;
	if (len == 0 || add_overflows_u64(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t guest_mem_low_end(const struct guest_mem *gm)
{
	return gm->regions[0].size;
}
