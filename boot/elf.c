/* ELF kernels: Linux vmlinux and guest-min (64-bit entry), or 32-bit PVH images. */
#include <elf.h>
#include <string.h>

#include "../lib/util.h"
#include "kernel.h"
#include "../arch/layout.h"

#define ELF_MAX_PHDRS 64
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* The program-header fields the loader needs, the same for ELF32 and ELF64. */
struct elf_seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_info {
	bool is64;
	uint64_t entry;
	unsigned nsegs;
	struct elf_seg segs[ELF_MAX_PHDRS];
};

static int elf_read_headers(const uint8_t *img, size_t len, const char *name,
			    struct elf_info *info, struct errbuf *e)
{
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return errf(e, "%s: not an ELF file", name);
	info->is64 = img[EI_CLASS] == ELFCLASS64;
	if (img[EI_DATA] != ELFDATA2LSB || (!info->is64 && img[EI_CLASS] != ELFCLASS32))
		return errf(e, "%s: not a little-endian ELF32/ELF64 file", name);

	uint64_t phoff, phnum, phentsize, want_entsize;
	uint16_t machine, type;
	if (info->is64) {
		Elf64_Ehdr h;
		if (len < sizeof(h))
			return errf(e, "%s: truncated ELF header", name);
		memcpy(&h, img, sizeof(h));
		machine = h.e_machine, type = h.e_type, info->entry = h.e_entry;
		phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
		want_entsize = sizeof(Elf64_Phdr);
		if (machine != EM_X86_64)
			return errf(e, "%s: wrong architecture (ELF machine %u, want x86-64)", name,
				    machine);
	} else {
		Elf32_Ehdr h;
		if (len < sizeof(h))
			return errf(e, "%s: truncated ELF header", name);
		memcpy(&h, img, sizeof(h));
		machine = h.e_machine, type = h.e_type, info->entry = h.e_entry;
		phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
		want_entsize = sizeof(Elf32_Phdr);
		if (machine != EM_386)
			return errf(e, "%s: wrong architecture (ELF32 machine %u, want i386)", name,
				    machine);
	}
	if (type != ET_EXEC)
		return errf(e, "%s: not an executable ELF (type %u)", name, type);
	if (phnum == 0 || phnum > ELF_MAX_PHDRS || phentsize != want_entsize)
		return errf(e, "%s: bad program header table (%llu entries of %llu bytes)", name,
			    (unsigned long long)phnum, (unsigned long long)phentsize);
	uint64_t end;
	if (add_overflows_u64(phoff, phnum * phentsize, &end) || end > len)
		return errf(e, "%s: truncated: program headers end past the file", name);

	info->nsegs = (unsigned)phnum;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *p = img + phoff + i * phentsize;
		struct elf_seg *s = &info->segs[i];
		if (info->is64) {
			Elf64_Phdr ph;
			memcpy(&ph, p, sizeof(ph));
			*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
					       ph.p_memsz };
		} else {
			Elf32_Phdr ph;
			memcpy(&ph, p, sizeof(ph));
			*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
					       ph.p_memsz };
		}
	}
	return 0;
}

/* Looks for the Xen PVH entry note in the PT_NOTE segments; 0 when there is none. */
static uint64_t elf_find_pvh_entry(const uint8_t *img, size_t len, const struct elf_info *info)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];
		uint64_t end;
		if (s->type != PT_NOTE || add_overflows_u64(s->offset, s->filesz, &end) || end > len)
			continue;
		uint64_t off = s->offset;
		while (end - off >= 12) {
			uint32_t namesz, descsz, type;
			memcpy(&namesz, img + off, 4);
			memcpy(&descsz, img + off + 4, 4);
			memcpy(&type, img + off + 8, 4);
			uint64_t name_off = off + 12;
			uint64_t desc_off = name_off + align_up_u64(namesz, 4);
			uint64_t next = desc_off + align_up_u64(descsz, 4);
			if (namesz > end || descsz > end || next > end)
				break;
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
			    memcmp(img + name_off, "Xen", 4) == 0 && descsz >= 4) {
				uint64_t entry = 0;
				memcpy(&entry, img + desc_off, descsz >= 8 ? 8 : 4);
				return entry;
			}
			off = next;
		}
	}
	return 0;
}

static int elf_check_segment(struct guest_mem *gm, size_t len, const char *name, unsigned i,
			     const struct elf_seg *s, struct errbuf *e)
{
	uint64_t file_end, mem_end;
	if (add_overflows_u64(s->offset, s->filesz, &file_end) || file_end > len)
		return errf(e, "%s: truncated: segment %u ends past the end of the file", name, i);
	if (s->filesz > s->memsz)
		return errf(e, "%s: segment %u has more file bytes than memory bytes", name, i);
	if (add_overflows_u64(s->paddr, s->memsz, &mem_end))
		return errf(e, "%s: segment %u wraps the address space", name, i);
	if (s->paddr < LAYOUT_HIMEM)
		return errf(e, "%s: segment %u at 0x%llx lies below 1 MiB, over the boot structures",
			    name, i, (unsigned long long)s->paddr);
	if (s->memsz && s->paddr < GUEST_MEM_HIGH_START && mem_end > GUEST_MEM_GAP_START)
		return errf(e, "%s: segment %u [0x%llx, 0x%llx) lies in the 32-bit MMIO gap", name, i,
			    (unsigned long long)s->paddr, (unsigned long long)mem_end);
	if (s->memsz && !guest_mem_at(gm, s->paddr, s->memsz))
		return errf(e, "%s: too large: segment %u [0x%llx, 0x%llx) does not fit in %llu MiB "
			    "of guest RAM", name, i, (unsigned long long)s->paddr,
			    (unsigned long long)mem_end, (unsigned long long)(gm->size >> 20));
	return 0;
}

static int elf_check_overlaps(const struct elf_info *info, const char *name, struct errbuf *e)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_seg *a = &info->segs[i];
		if (a->type != PT_LOAD || !a->memsz)
			continue;
		for (unsigned j = i + 1; j < info->nsegs; j++) {
			const struct elf_seg *b = &info->segs[j];
			if (b->type != PT_LOAD || !b->memsz)
				continue;
			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				return errf(e, "%s: segments %u and %u overlap", name, i, j);
		}
	}
	return 0;
}

static bool elf_entry_is_loaded(const struct elf_info *info, uint64_t entry)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];
		if (s->type == PT_LOAD && entry >= s->paddr && entry - s->paddr < s->memsz)
			return true;
	}
	return false;
}

int elf_load(struct guest_mem *gm, const uint8_t *img, size_t len, const char *name,
	     struct boot_image *bi, struct errbuf *e)
{
	struct elf_info info = { 0 };
	if (elf_read_headers(img, len, name, &info, e) < 0)
		return -1;

	bi->kernel_start = UINT64_MAX;
	bi->kernel_end = 0;
	unsigned nload = 0;
	for (unsigned i = 0; i < info.nsegs; i++) {
		const struct elf_seg *s = &info.segs[i];
		if (s->type != PT_LOAD)
			continue;
		if (elf_check_segment(gm, len, name, i, s, e) < 0)
			return -1;
		nload++;
		if (!s->memsz)
			continue;
		if (s->paddr < bi->kernel_start)
			bi->kernel_start = s->paddr;
		if (s->paddr + s->memsz > bi->kernel_end)
			bi->kernel_end = s->paddr + s->memsz;
	}
	if (nload == 0 || bi->kernel_end == 0)
		return errf(e, "%s: no loadable segments", name);
	if (elf_check_overlaps(&info, name, e) < 0)
		return -1;

	bi->pvh_entry = elf_find_pvh_entry(img, len, &info);
	if (info.is64) {
		bi->protocol = BOOT_LINUX64;
		bi->entry = info.entry;
	} else {
		if (!bi->pvh_entry)
			return errf(e, "%s: 32-bit ELF without a PVH entry note", name);
		bi->protocol = BOOT_PVH;
		bi->entry = bi->pvh_entry;
	}
	if (!elf_entry_is_loaded(&info, bi->entry))
		return errf(e, "%s: entry point 0x%llx lies outside the loaded segments", name,
			    (unsigned long long)bi->entry);
	if (bi->kernel_end > LAYOUT_IDENTITY_MAP_END)
		return errf(e, "%s: segments end at 0x%llx, above the 4 GiB the boot page tables map",
			    name, (unsigned long long)bi->kernel_end);

	/* Checks passed for every segment: only now does guest memory change. */
	for (unsigned i = 0; i < info.nsegs; i++) {
		const struct elf_seg *s = &info.segs[i];
		if (s->type != PT_LOAD || !s->memsz)
			continue;
		uint8_t *dst = guest_mem_at(gm, s->paddr, s->memsz);
		memcpy(dst, img + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	bi->has_setup_header = false;
	bi->initrd_max = guest_mem_low_end(gm);
	return 0;
}
