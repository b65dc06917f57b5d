/* GDT, IDT and page tables in guest memory; regs.c loads the matching registers. */
#include "cpu_tables.h"

#include <string.h>

#include "layout.h"

#define PTE_PRESENT 1ULL
#define PTE_WRITE 2ULL
#define PTE_LARGE 0x80ULL

/* Identity map of [0, 4 GiB) in 2 MiB pages: one page directory per GiB. */
enum { NPD = LAYOUT_IDENTITY_MAP_END >> 30 };

/* Host pointer for one of the tables, or NULL with e filled when its RAM is missing. */
static void *cpu_tables_at(struct guest_mem *gm, uint64_t gpa, uint64_t len, const char *what,
			   struct errbuf *e)
{
	void *p = guest_mem_at(gm, gpa, len);
	if (!p)
		errf(e, "no guest RAM for the %s at 0x%llx-0x%llx (the guest has %llu KiB)", what,
		     (unsigned long long)gpa, (unsigned long long)(gpa + len - 1),
		     (unsigned long long)(gm->size / 1024));
	return p;
}

int cpu_tables_write(struct guest_mem *gm, bool long_mode, struct errbuf *e)
{
	uint64_t gdt[GDT_ENTRIES] = {
		0,
		long_mode ? GDT_ENTRY_CODE64 : GDT_ENTRY_CODE32,
		GDT_ENTRY_DATA,
		GDT_ENTRY_TSS,
	};
	/* Every table is looked up before any is written: a refusal leaves RAM untouched. */
	void *gdt_at = cpu_tables_at(gm, LAYOUT_GDT, sizeof(gdt), "GDT", e);
	void *idt_at = gdt_at ? cpu_tables_at(gm, LAYOUT_IDT, 8, "IDT", e) : NULL;
	uint64_t *pml4 = idt_at ? cpu_tables_at(gm, LAYOUT_PML4, 4096, "PML4", e) : NULL;
	uint64_t *pdpt = pml4 ? cpu_tables_at(gm, LAYOUT_PDPT, 4096, "PDPT", e) : NULL;
	uint64_t *pd = pdpt ? cpu_tables_at(gm, LAYOUT_PD, NPD * 4096, "page directories", e) :
			      NULL;
	if (!pd)
		return -1;

	memcpy(gdt_at, gdt, sizeof(gdt));
	memset(idt_at, 0, 8);
	/*
	 * Wherever a loader may put the kernel (it refuses anything above 4 GiB), the entry,
	 * zero page and command line are mapped.
	 */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NPD; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NPD * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	return 0;
}
