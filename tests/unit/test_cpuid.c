/*
 * cpuid_normalise on a synthetic KVM_GET_SUPPORTED_CPUID result: per-vCPU APIC ids and a
 * topology of one socket, ncpus cores, one thread each (Intel SDM vol. 2A CPUID; AMD APM
 * vol. 3 appendix E for the 0x8000xxxx leaves).
 */
#include <stdlib.h>

#include "../../arch/cpuid.h"
#include "helpers.h"

enum {
	L1, L4_0, L4_1, L4_2, L4_3, LB_0, LB_1, LB_2, L7, LE1, LE8, LE1E, NENT
};

/* Untouched-by-ember bits: family/model, CLFLUSH size, feature bits. */
#define L1_EAX 0x000906ea
#define L1_EBX_LOW 0x0800 /* CLFLUSH line size 8 * 8 */
#define L1_ECX 0x7efafbff /* without bit 31 (hypervisor) and bit 24 (TSC deadline) */
#define L1_EDX 0xbfebfbff /* with HTT */

static struct kvm_cpuid2 *c;

static struct kvm_cpuid_entry2 leaf(uint32_t fn, uint32_t idx, uint32_t eax, uint32_t ebx,
				    uint32_t ecx, uint32_t edx)
{
	return (struct kvm_cpuid_entry2){ .function = fn, .index = idx, .eax = eax, .ebx = ebx,
					  .ecx = ecx, .edx = edx };
}

/* Leaf 4 EAX: cache type in 4:0, level in 7:5, self-initialising (bit 8). */
static uint32_t l4_eax(unsigned type, unsigned level)
{
	return type | level << 5 | 1u << 8 | 0xfc000000u | 0x03ffc000u; /* host junk above */
}

static void setup(void)
{
	c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));
	cr_assert_not_null(c);
	c->nent = NENT;
	c->entries[L1] = leaf(1, 0, L1_EAX, 0xff3f0000 | L1_EBX_LOW, L1_ECX, L1_EDX);
	c->entries[L4_0] = leaf(4, 0, l4_eax(1, 1), 0x01c0003f, 0x3f, 0);
	c->entries[L4_1] = leaf(4, 1, l4_eax(2, 1), 0x01c0003f, 0x3f, 0);
	c->entries[L4_2] = leaf(4, 2, l4_eax(3, 2), 0x01c0003f, 0x3ff, 0);
	c->entries[L4_3] = leaf(4, 3, l4_eax(3, 3), 0x03c0003f, 0x3fff, 6);
	c->entries[LB_0] = leaf(0xb, 0, 1, 2, 0x100, 0x77);
	c->entries[LB_1] = leaf(0xb, 1, 4, 16, 0x201, 0x77);
	c->entries[LB_2] = leaf(0xb, 2, 0, 0, 2, 0x77);
	c->entries[L7] = leaf(7, 0, 0, 0x029c6fbf, 0x40000000, 0xbc000400);
	c->entries[LE1] = leaf(0x80000001, 0, 0, 0, 0x121, 0x2c100800);
	c->entries[LE8] = leaf(0x80000008, 0, 0x3027, 0, 0x0003f00f, 0);
	c->entries[LE1E] = leaf(0x8000001e, 0, 0x55, 0x0101ff03, 0x0307, 0);
}

static void teardown(void)
{
	free(c);
}

static const struct kvm_cpuid_entry2 *E(unsigned i)
{
	return &c->entries[i];
}

TestSuite(cpuid, .init = setup, .fini = teardown);

Test(cpuid, leaf1_apic_id_and_logical_count)
{
	cpuid_normalise(c, 2, 4, false);
	cr_assert_eq(E(L1)->ebx >> 24, 2, "initial APIC id is the vCPU index");
	cr_assert_eq((E(L1)->ebx >> 16) & 0xff, 4, "logical processors per package");
	cr_assert_eq(E(L1)->ebx & 0xffff, L1_EBX_LOW, "brand index and CLFLUSH size kept");
	cr_assert_eq(E(L1)->eax, L1_EAX);
}

Test(cpuid, leaf1_apic_id_for_every_vcpu)
{
	for (unsigned i = 0; i < 32; i++) {
		teardown();
		setup();
		cpuid_normalise(c, i, 32, false);
		cr_assert_eq(E(L1)->ebx >> 24, i);
		cr_assert_eq((E(L1)->ebx >> 16) & 0xff, 32);
	}
}

Test(cpuid, hypervisor_bit_is_set)
{
	cpuid_normalise(c, 0, 1, false);
	cr_assert(E(L1)->ecx & (1u << 31));
	cr_assert_eq(E(L1)->ecx & ~(1u << 31), L1_ECX, "other feature bits kept");
}

Test(cpuid, tsc_deadline_only_when_asked)
{
	cpuid_normalise(c, 0, 1, false);
	cr_assert_eq(E(L1)->ecx & (1u << 24), 0);
	teardown();
	setup();
	cpuid_normalise(c, 0, 1, true);
	cr_assert(E(L1)->ecx & (1u << 24));
}

Test(cpuid, htt_set_only_for_more_than_one_cpu)
{
	cpuid_normalise(c, 0, 1, false);
	cr_assert_eq(E(L1)->edx & (1u << 28), 0, "one CPU: no HTT");
	cr_assert_eq(E(L1)->edx | (1u << 28), L1_EDX, "other EDX bits kept");
	cpuid_normalise(c, 0, 2, false);
	cr_assert(E(L1)->edx & (1u << 28));
}

Test(cpuid, leaf4_core_count_and_cache_sharing)
{
	cpuid_normalise(c, 1, 4, false);
	for (unsigned i = L4_0; i <= L4_3; i++) {
		uint32_t eax = E(i)->eax;
		unsigned level = (eax >> 5) & 7;
		cr_assert_eq(eax >> 26, 3, "subleaf %u: cores per package - 1", i - L4_0);
		unsigned sharing = (eax >> 14) & 0xfff;
		/* One thread per core: L1/L2 private, the last level shared by all. */
		cr_assert_eq(sharing, level == 3 ? 3u : 0u, "level %u shared by %u + 1", level,
			     sharing);
		cr_assert_eq(eax & 0x3fff, l4_eax((eax & 0x1f), level) & 0x3fff,
			     "type, level and flags kept");
	}
}

Test(cpuid, leaf_b_topology)
{
	cpuid_normalise(c, 3, 4, false);
	/* Subleaf 0: SMT level, one thread per core. */
	cr_assert_eq(E(LB_0)->ebx & 0xffff, 1);
	cr_assert_eq((E(LB_0)->ecx >> 8) & 0xff, 1, "level type SMT");
	cr_assert_eq(E(LB_0)->ecx & 0xff, 0);
	cr_assert_eq(E(LB_0)->eax & 0x1f, 0, "no bits of the APIC id for threads");
	/* Subleaf 1: core level, ncpus logical processors. */
	cr_assert_eq(E(LB_1)->ebx & 0xffff, 4);
	cr_assert_eq((E(LB_1)->ecx >> 8) & 0xff, 2, "level type core");
	cr_assert_eq(E(LB_1)->ecx & 0xff, 1);
	cr_assert_eq(E(LB_1)->eax & 0x1f, 2, "4 CPUs need 2 bits of APIC id");
	/* Subleaf 2: invalid level ends the enumeration. */
	cr_assert_eq(E(LB_2)->ebx & 0xffff, 0);
	cr_assert_eq((E(LB_2)->ecx >> 8) & 0xff, 0);
	cr_assert_eq(E(LB_2)->ecx & 0xff, 2);
	for (unsigned i = LB_0; i <= LB_2; i++)
		cr_assert_eq(E(i)->edx, 3, "x2APIC id in every subleaf");
}

Test(cpuid, leaf_b_shift_covers_all_apic_ids)
{
	unsigned counts[] = { 1, 2, 3, 5, 8, 9, 16, 17, 32 };
	for (size_t k = 0; k < ARRAY_SIZE(counts); k++) {
		unsigned n = counts[k];
		cpuid_normalise(c, n - 1, n, false);
		unsigned shift = E(LB_1)->eax & 0x1f;
		cr_assert_geq(1u << shift, n, "%u CPUs: shift %u too small", n, shift);
		cr_assert(shift == 0 || (1u << (shift - 1)) < n, "%u CPUs: shift %u too big", n,
			  shift);
		cr_assert_eq(E(LB_1)->ebx & 0xffff, n);
	}
}

Test(cpuid, amd_core_count_leaf)
{
	cpuid_normalise(c, 0, 6, false);
	cr_assert_eq(E(LE8)->ecx & 0xff, 5, "NC = cores - 1");
	cr_assert_eq((E(LE8)->ecx >> 12) & 0xf, 3, "ApicIdSize: 6 cores need 3 bits");
	cr_assert_eq(E(LE8)->ecx & 0xffff0000u, 0x00030000u, "bits above kept");
	cr_assert_eq(E(LE8)->eax, 0x3027, "address sizes kept");
}

Test(cpuid, amd_extended_apic_id_leaf)
{
	cpuid_normalise(c, 5, 8, false);
	cr_assert_eq(E(LE1E)->eax, 5, "extended APIC id");
	cr_assert_eq(E(LE1E)->ebx & 0xff, 5, "core id");
	cr_assert_eq((E(LE1E)->ebx >> 8) & 0xff, 0, "one thread per core");
	cr_assert_eq(E(LE1E)->ecx & 0xff, 0, "node id");
	cr_assert_eq((E(LE1E)->ecx >> 8) & 7, 0, "one node");
}

Test(cpuid, amd_cmp_legacy_follows_cpu_count)
{
	cpuid_normalise(c, 0, 1, false);
	cr_assert_eq(E(LE1)->ecx & 2, 0);
	cpuid_normalise(c, 0, 4, false);
	cr_assert(E(LE1)->ecx & 2);
	cr_assert_eq(E(LE1)->ecx & ~2u, 0x121, "other bits kept");
}

Test(cpuid, unrelated_leaves_untouched)
{
	struct kvm_cpuid_entry2 before = *E(L7);
	cpuid_normalise(c, 7, 8, true);
	cr_assert_eq(memcmp(&before, E(L7), sizeof(before)), 0);
}

Test(cpuid, normalising_twice_gives_the_same_result)
{
	cpuid_normalise(c, 2, 4, true);
	struct kvm_cpuid_entry2 once[NENT];
	memcpy(once, c->entries, sizeof(once));
	cpuid_normalise(c, 2, 4, true);
	cr_assert_eq(memcmp(once, c->entries, sizeof(once)), 0);
}
