/*
 * The register state a vCPU starts in: MSRs Linux expects to find set, the LAPIC's
 * local interrupt pins, the FPU, and the entry state of each boot protocol (64-bit
 * long mode with the identity map of cpu_tables.c, or PVH's 32-bit flat protected
 * mode). Each function acts on one vCPU's fd; index only names it in errors.
 */
#include "regs.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../lib/util.h"
#include "layout.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WRBACK 6ULL

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

int regs_set_boot_msrs(int fd, unsigned index, struct errbuf *e)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		/* TSC 0 at setup: a guest's TSC then counts from this moment (boot timing). */
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[ARRAY_SIZE(boot_msrs)];
	} msrs;
	memset(&msrs, 0, sizeof(msrs));
	for (size_t i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		msrs.entries[i].index = boot_msrs[i].index;
		msrs.entries[i].data = boot_msrs[i].value;
	}
	msrs.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	int n = ioctl(fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return errf(e, "KVM_SET_MSRS on vCPU %u: %s", index, strerror(errno));
	if ((size_t)n != ARRAY_SIZE(boot_msrs))
		return errf(e, "KVM refused MSR 0x%x on vCPU %u", boot_msrs[n].index, index);
	return 0;
}

static uint32_t apic_lvt_mode(uint32_t lvt, uint32_t mode)
{
	return (lvt & ~0x700u) | (mode << 8);
}

int regs_wire_lapic(int fd, unsigned index, struct errbuf *e)
{
	struct kvm_lapic_state lapic;
	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return errf(e, "KVM_GET_LAPIC on vCPU %u: %s", index, strerror(errno));
	/* Virtual-wire wiring, as a BIOS leaves it: LINT0 external interrupts, LINT1 NMI. */
	uint32_t *lint0 = (uint32_t *)(void *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)(void *)&lapic.regs[APIC_LVT_LINT1];
	*lint0 = apic_lvt_mode(*lint0, APIC_MODE_EXTINT);
	*lint1 = apic_lvt_mode(*lint1, APIC_MODE_NMI);
	if (ioctl(fd, KVM_SET_LAPIC, &lapic) < 0)
		return errf(e, "KVM_SET_LAPIC on vCPU %u: %s", index, strerror(errno));
	return 0;
}

int regs_init_fpu(int fd, unsigned index, struct errbuf *e)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 state after FNINIT */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return errf(e, "KVM_SET_FPU on vCPU %u: %s", index, strerror(errno));
	return 0;
}

/* A GDT descriptor, decoded into the form KVM takes for the hidden segment state. */
static struct kvm_segment segment_of(uint64_t desc, uint16_t selector)
{
	struct kvm_segment s = {
		.base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000)),
		.limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000)),
		.selector = selector,
		.type = (uint8_t)((desc >> 40) & 0xf),
		.s = (uint8_t)((desc >> 44) & 1),
		.dpl = (uint8_t)((desc >> 45) & 3),
		.present = (uint8_t)((desc >> 47) & 1),
		.avl = (uint8_t)((desc >> 52) & 1),
		.l = (uint8_t)((desc >> 53) & 1),
		.db = (uint8_t)((desc >> 54) & 1),
		.g = (uint8_t)((desc >> 55) & 1),
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static void sregs_flat(struct kvm_sregs *sr, uint64_t code_desc)
{
	struct kvm_segment data = segment_of(GDT_ENTRY_DATA, GDT_SEL_DATA);
	sr->cs = segment_of(code_desc, GDT_SEL_CODE);
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->tr = segment_of(GDT_ENTRY_TSS, GDT_SEL_TSS);
	sr->gdt.base = LAYOUT_GDT;
	sr->gdt.limit = GDT_ENTRIES * 8 - 1;
	sr->idt.base = LAYOUT_IDT;
	sr->idt.limit = 0;
}

static int regs_set_entry(int fd, unsigned index, struct kvm_sregs *sr, struct kvm_regs *regs,
			  struct errbuf *e)
{
	if (ioctl(fd, KVM_SET_SREGS, sr) < 0)
		return errf(e, "KVM_SET_SREGS on vCPU %u: %s", index, strerror(errno));
	if (ioctl(fd, KVM_SET_REGS, regs) < 0)
		return errf(e, "KVM_SET_REGS on vCPU %u: %s", index, strerror(errno));
	return 0;
}

int regs_enter_long_mode(int fd, unsigned index, uint64_t entry, uint64_t boot_params,
			 struct errbuf *e)
{
	struct kvm_sregs sr;
	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return errf(e, "KVM_GET_SREGS on vCPU %u: %s", index, strerror(errno));
	sregs_flat(&sr, GDT_ENTRY_CODE64);
	sr.cr3 = LAYOUT_PML4;
	sr.cr4 |= X86_CR4_PAE;
	sr.cr0 = (sr.cr0 & ~(X86_CR0_CD | X86_CR0_NW)) | X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
	sr.efer |= EFER_LME | EFER_LMA;

	struct kvm_regs regs = {
		.rflags = 2, /* bit 1 is reserved and reads as one; interrupts off */
		.rip = entry,
		.rsp = LAYOUT_BOOT_STACK,
		.rbp = LAYOUT_BOOT_STACK,
		.rsi = boot_params, /* Linux 64-bit boot protocol: RSI = boot_params */
	};
	return regs_set_entry(fd, index, &sr, &regs, e);
}

int regs_enter_pvh(int fd, unsigned index, uint64_t entry, uint64_t start_info, struct errbuf *e)
{
	struct kvm_sregs sr;
	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return errf(e, "KVM_GET_SREGS on vCPU %u: %s", index, strerror(errno));
	sregs_flat(&sr, GDT_ENTRY_CODE32);
	sr.cr0 = (sr.cr0 & ~(X86_CR0_CD | X86_CR0_NW | X86_CR0_PG)) | X86_CR0_PE | X86_CR0_ET;
	sr.cr4 = 0;
	sr.efer = 0;

	struct kvm_regs regs = {
		.rflags = 2,
		.rip = entry,
		.rbx = start_info, /* PVH: EBX = hvm_start_info */
	};
	return regs_set_entry(fd, index, &sr, &regs, e);
}
