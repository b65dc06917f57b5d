/*
 * CPUID as the guest sees it: what KVM supports, with the facts that differ per vCPU
 * (APIC id, topology) written in, and the hypervisor bit set so Linux looks for the
 * KVM paravirt leaves (kvm-clock). Topology: one socket, ncpus cores, one thread each.
 */
#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_EXT1_ECX_CMP_LEGACY (1u << 1)
#define CPUID_TOPO_LEVEL_SMT 1
#define CPUID_TOPO_LEVEL_CORE 2

int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct errbuf *e)
{
	for (unsigned nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return errf(e, "out of memory");
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int err = errno;
		free(c);
		if (err != E2BIG)
			return errf(e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
	}
	return errf(e, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

/* Bits needed to number n things: the width of a topology id field. */
static unsigned id_width(unsigned n)
{
	unsigned w = 0;
	while ((1u << w) < n)
		w++;
	return w;
}

static void cpuid_set_leaf1(struct kvm_cpuid_entry2 *l, unsigned apic_id, unsigned ncpus,
			    bool tsc_deadline)
{
	l->ebx = (l->ebx & 0x0000ffffu) | (apic_id << 24) | ((ncpus & 0xff) << 16);
	l->ecx |= CPUID_1_ECX_HYPERVISOR;
	if (tsc_deadline)
		l->ecx |= CPUID_1_ECX_TSC_DEADLINE;
	if (ncpus > 1)
		l->edx |= CPUID_1_EDX_HTT;
	else
		l->edx &= ~CPUID_1_EDX_HTT;
}

/* Intel deterministic cache leaf: every cache is per core except the last level. */
static void cpuid_set_leaf4(struct kvm_cpuid_entry2 *l, unsigned ncpus)
{
	unsigned level = (l->eax >> 5) & 7;
	unsigned sharing = level >= 3 ? ncpus - 1 : 0;
	l->eax = (l->eax & 0x3fffu) | ((ncpus - 1) << 26) | (sharing << 14);
}

/* x2APIC topology (leaf 0xb and 0x1f): an SMT level of one thread, a core level of n. */
static void cpuid_set_topology(struct kvm_cpuid_entry2 *l, unsigned apic_id, unsigned ncpus)
{
	switch (l->index) {
	case 0:
		l->eax = 0;
		l->ebx = 1;
		l->ecx = (CPUID_TOPO_LEVEL_SMT << 8) | l->index;
		break;
	case 1:
		l->eax = id_width(ncpus);
		l->ebx = ncpus;
		l->ecx = (CPUID_TOPO_LEVEL_CORE << 8) | l->index;
		break;
	default:
		l->eax = l->ebx = 0;
		l->ecx = l->index;
	}
	l->edx = apic_id;
}

void cpuid_normalise(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus, bool tsc_deadline)
{
	unsigned apic_id = index;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *l = &c->entries[i];
		switch (l->function) {
		case 0x1:
			cpuid_set_leaf1(l, apic_id, ncpus, tsc_deadline);
			break;
		case 0x4:
			cpuid_set_leaf4(l, ncpus);
			break;
		case 0xb:
		case 0x1f:
			cpuid_set_topology(l, apic_id, ncpus);
			break;
		case 0x80000001:
			if (ncpus > 1)
				l->ecx |= CPUID_EXT1_ECX_CMP_LEGACY;
			else
				l->ecx &= ~CPUID_EXT1_ECX_CMP_LEGACY;
			break;
		case 0x80000008: /* AMD: core count and APIC id width of the package */
			l->ecx = (l->ecx & ~0xf0ffu) | (id_width(ncpus) << 12) | (ncpus - 1);
			break;
		case 0x8000001e: /* AMD: extended APIC id, core id, one thread per core */
			l->eax = apic_id;
			l->ebx = (l->ebx & ~0xffffu) | (index & 0xff);
			l->ecx &= ~0x7ffu;
			break;
		}
	}
}

/* The feature registers: (leaf, subleaf, register, bits ember sets itself). */
static const struct {
	uint32_t function, index;
	unsigned reg;
	uint32_t ours;
} feature_regs[] = {
	{ 0x1, 0, 2, CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE },
	{ 0x1, 0, 3, CPUID_1_EDX_HTT },
	{ 0x7, 0, 1, 0 },
	{ 0x7, 0, 2, 0 },
	{ 0x7, 0, 3, 0 },
	{ 0xd, 1, 0, 0 },
	{ 0x80000001, 0, 2, CPUID_EXT1_ECX_CMP_LEGACY },
	{ 0x80000001, 0, 3, 0 },
};

uint32_t cpuid_feature_bits(uint32_t function, uint32_t index, unsigned reg, uint32_t bits)
{
	for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++)
		if (feature_regs[i].function == function && feature_regs[i].index == index &&
		    feature_regs[i].reg == reg)
			return bits & ~feature_regs[i].ours;
	return 0;
}

const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid_entry2 *ent, uint32_t n,
					  uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (ent[i].function == function &&
		    (!(ent[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || ent[i].index == index))
			return &ent[i];
	return NULL;
}

uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *l, unsigned reg)
{
	return reg == 0 ? &l->eax : reg == 1 ? &l->ebx : reg == 2 ? &l->ecx : &l->edx;
}

void cpuid_host_vendor(char out[13])
{
	uint32_t a = 0, b, c, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	memcpy(out, &b, 4);
	memcpy(out + 4, &d, 4);
	memcpy(out + 8, &c, 4);
	out[12] = '\0';
}
