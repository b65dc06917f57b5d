#ifndef EMBER_ARCH_CPUID_H
#define EMBER_ARCH_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "../lib/error.h"

/* The CPUID that KVM supports, and what each vCPU is told of it (cpuid.c). */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct errbuf *e);
/* Rewrites the entries in c for vCPU index of ncpus: APIC id, topology, hypervisor bit. */
void cpuid_normalise(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus, bool tsc_deadline);

#endif
