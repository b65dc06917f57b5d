#ifndef EMBER_ARCH_CPUID_H
#define EMBER_ARCH_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"

/* The CPUID that KVM supports, and what each vCPU is told of it (cpuid.c). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct errbuf *e);
/* Rewrites the entries in c for vCPU index of ncpus: APIC id, topology, hypervisor bit. */
void cpuid_normalise(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus, bool tsc_deadline);

/*
 * The registers of CPUID that are feature flags (leaves 1, 7.0, 0xd.1, 0x80000001): for a
 * snapshot or template that asks for a feature, the bits it needs from this host (less
 * those ember sets itself: hypervisor, TSC deadline, HTT, CmpLegacy). 0 for any other
 * register, whose bits are values, not features.
 */
uint32_t cpuid_feature_bits(uint32_t function, uint32_t index, unsigned reg, uint32_t bits);
/* The entry of (function, index) in ent, or NULL. */
const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid_entry2 *ent, uint32_t n,
					  uint32_t function, uint32_t index);
/* This CPU's vendor string from CPUID leaf 0 ("GenuineIntel", "AuthenticAMD"). */
void cpuid_host_vendor(char out[13]);
/* Register reg (0 eax, 1 ebx, 2 ecx, 3 edx) of l. */
uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *l, unsigned reg);

#endif
