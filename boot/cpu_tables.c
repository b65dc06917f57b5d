/* GDT, IDT and page tables in guest memory; vcpu/regs.c loads the matching registers. */
#include <string.h>

#include "layout.h"
#include "params.h"

#define PTE_PRESENT 1ULL
#define PTE_WRITE 2ULL
#define PTE_LARGE 0x80ULL

void cpu_tables_write(struct guest_mem *gm, enum boot_protocol protocol)
{
	uint64_t gdt[GDT_ENTRIES] = {
		0,
		protocol == BOOT_PVH ? GDT_ENTRY_CODE32 : GDT_ENTRY_CODE64,
		GDT_ENTRY_DATA,
		GDT_ENTRY_TSS,
	};
	memcpy(guest_mem_at(gm, LAYOUT_GDT, sizeof(gdt)), gdt, sizeof(gdt));
	memset(guest_mem_at(gm, LAYOUT_IDT, 8), 0, 8);

	/*
	 * Identity map of [0, 4 GiB) in 2 MiB pages: wherever a loader may put the kernel
	 * (it refuses anything above), the entry, zero page and command line are mapped.
	 */
	enum { NPD = LAYOUT_IDENTITY_MAP_END >> 30 };
	uint64_t *pml4 = guest_mem_at(gm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = guest_mem_at(gm, LAYOUT_PDPT, 4096);
	uint64_t *pd = guest_mem_at(gm, LAYOUT_PD, NPD * 4096);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NPD; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < NPD * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
}
