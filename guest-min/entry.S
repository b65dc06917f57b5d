/*
 * guest-min entry points.
 *
 *   gm_entry64  (ELF e_entry)  ember, Linux 64-bit boot protocol style:
 *               long mode, paging with >= 1 GiB identity map, RSI = boot_params
 *               (ember maps 4 GiB; guest-min walks the tables before touching
 *               anything above 1 GiB, see gm_range_mapped).
 *   gm_entry32  (PVH ELF note) QEMU microvm / PVH loaders:
 *               32-bit protected mode, paging off, EBX = hvm_start_info.
 *
 * Neither path installs an IDT: interrupts stay off and nothing may fault,
 * because the PVM hypervisor used in CI cannot deliver either to us.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE    (1 << 0)
#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define MSR_EFER  0xc0000080
#define EFER_LME  (1 << 8)

#define PTE_P     (1 << 0)
#define PTE_W     (1 << 1)
#define PTE_PWT   (1 << 3)
#define PTE_PCD   (1 << 4)
#define PTE_PS    (1 << 7)

/* The PVH path maps [0, 4 GiB): 4 page directories of 2 MiB pages. */
#define PD_COUNT        4
#define MMIO_FIRST_PDE  (3 * 512)	/* 3 GiB / 2 MiB: start of the MMIO gap */
#define CPUID_PDPE1GB   (1 << 26)	/* CPUID 0x80000001 EDX: 1 GiB pages */

#define GDT_CODE64 0x08
#define GDT_DATA   0x10

#define STACK_SIZE (16 * 1024)

/*
 * PVH note, as Linux emits it, but with a 4-byte desc: the entry is a 32-bit
 * physical address by definition (Xen's own notes use .long too).  The linker
 * script gives this section its own PT_NOTE header, which is where QEMU and
 * other PVH loaders look for it.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 2f - 1f			/* namesz */
	.long 4f - 3f			/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long gm_entry32
4:	.balign 4

	.section .text.entry, "ax"

/* ---------------------------------------------------------------- 64-bit */
	.code64
	.globl gm_entry64
	.type gm_entry64, @function
gm_entry64:
	/* Time first: main.c turns this into time since ember started (ember.* params). */
	lfence
	rdtsc
	movl %eax, gm_entry_tsc
	movl %edx, gm_entry_tsc + 4
	cli
	cld

	/*
	 * The loader may not have zeroed .bss; rep stos leaves RSI alone.
	 * Only the small real .bss is cleared (qwords, 16-aligned by the linker
	 * script): where the hypervisor emulates the guest instruction by
	 * instruction, every store costs microseconds.  Stack, page tables and
	 * buffers live in .noinit and are never read before being written.
	 */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $3, %ecx
	xorl %eax, %eax
	rep stosq

	/* Leave the monitor's tiny boot stack at 0x8ff0 immediately. */
	movl $gm_stack_top, %esp

	movq %rsi, %rdi			/* boot_params paddr */
	call gm_boot64
	jmp gm_halt
	.size gm_entry64, . - gm_entry64

/* ---------------------------------------------------------------- 32-bit */
	.code32
	.globl gm_entry32
	.type gm_entry32, @function
gm_entry32:
	lfence
	rdtsc
	movl %eax, gm_entry_tsc
	movl %edx, gm_entry_tsc + 4
	cli
	cld

	movl %ebx, %esi			/* hvm_start_info paddr, kept in ESI */

	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	movl $gm_stack_top, %esp

	/*
	 * Identity map of the first 4 GiB, like ember's own boot tables: RAM in
	 * the first 3 GiB and the 32-bit MMIO gap [3 GiB, 4 GiB) where the
	 * virtio-mmio devices live, the gap uncached (PCD|PWT).  PML4[0] ->
	 * PDPT; with 1 GiB pages (CPUID 0x80000001 EDX bit 26) the PDPT's first
	 * four entries are the whole map, otherwise PDPT[0..3] -> 4 PDs of 512
	 * x 2 MiB.  Under an instruction-by-instruction hypervisor the 2048
	 * PD entries cost milliseconds, hence the 1 GiB path.  Only the two
	 * sparse tables are cleared (they are in .noinit).
	 */
	movl $gm_pml4, %edi
	movl $(2 * 4096 / 4), %ecx
	xorl %eax, %eax
	rep stosl

	movl $gm_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, gm_pml4

	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb 3f
	movl $0x80000001, %eax
	cpuid
	testl $CPUID_PDPE1GB, %edx
	jz 3f

	movl $(PTE_P | PTE_W | PTE_PS), gm_pdpt
	movl $(0x40000000 | PTE_P | PTE_W | PTE_PS), gm_pdpt + 8
	movl $(0x80000000 | PTE_P | PTE_W | PTE_PS), gm_pdpt + 16
	movl $(0xc0000000 | PTE_P | PTE_W | PTE_PS | PTE_PWT | PTE_PCD), gm_pdpt + 24
	jmp 5f

3:	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $gm_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, gm_pdpt(, %ecx, 8)
	incl %ecx
	cmpl $PD_COUNT, %ecx
	jb 1b

	movl $gm_pd, %edi
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	xorl %edx, %edx
1:	movl %eax, (%edi)
	movl %edx, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	cmpl $(gm_pd + MMIO_FIRST_PDE * 8), %edi
	jb 1b
	orl $(PTE_PWT | PTE_PCD), %eax
1:	movl %eax, (%edi)
	movl %edx, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	cmpl $(gm_pd + PD_COUNT * 4096), %edi
	jb 1b
5:
	lgdt gm_gdt_desc

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4

	movl $gm_pml4, %eax
	movl %eax, %cr3

	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr

	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0

	ljmp $GDT_CODE64, $1f

	.code64
1:	movl $GDT_DATA, %eax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	movl $gm_stack_top, %esp

	movl %esi, %edi			/* hvm_start_info paddr, zero-extended */
	call gm_boot_pvh
	jmp gm_halt
	.size gm_entry32, . - gm_entry32

/* C never returns here; if it did, stop without faulting. */
gm_halt:
	cli
	hlt
	jmp gm_halt

/* ---------------------------------------------------------------- data */
	.section .data
	.balign 8
	.globl gm_entry_tsc
gm_entry_tsc:
	.quad 0

	/* Accessed bits preset so loading a selector never writes the GDT. */
	.balign 16
gm_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf93000000ffff	/* 0x10: flat data */
gm_gdt_end:

	.balign 8
gm_gdt_desc:
	.word gm_gdt_end - gm_gdt - 1
	.quad gm_gdt

	/* Not zeroed at entry (see above); the PVH path clears what it needs. */
	.section .noinit, "aw", @nobits
	.balign 4096
gm_pml4:
	.skip 4096
gm_pdpt:
	.skip 4096
gm_pd:
	.skip PD_COUNT * 4096

	.balign 16
gm_stack:
	.skip STACK_SIZE
gm_stack_top:

	.section .note.GNU-stack, "", @progbits
