/*
 * A custom CPU template (Firecracker's "cpu-config", x86): bits of CPUID registers and
 * MSRs each vCPU is given set, cleared or left as KVM offers them, applied before the
 * vCPU first runs (cpu_template.c). What makes a guest see the same CPU on hosts that
 * differ, so that a snapshot can move between them.
 */
#ifndef EMBER_ARCH_CPU_TEMPLATE_H
#define EMBER_ARCH_CPU_TEMPLATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"

#define CPU_TEMPLATE_MAX_CPUID 64
#define CPU_TEMPLATE_MAX_MSRS 64
#define CPU_TEMPLATE_MAX_CAPS 32

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* One register of one leaf: the bits in mask become those of value. */
struct cpuid_modifier {
	uint32_t leaf, subleaf, flags; /* flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX or 0 */
	enum cpuid_reg reg;
	uint32_t mask, value;
};

struct msr_modifier {
	uint32_t addr;
	uint64_t mask, value;
};

struct cpu_template {
	unsigned ncpuid, nmsrs, ncaps;
	struct cpuid_modifier cpuid[CPU_TEMPLATE_MAX_CPUID];
	struct msr_modifier msrs[CPU_TEMPLATE_MAX_MSRS];
	/* kvm_capabilities: n (KVM must have it) or ~n ("!n": not needed, ignored) */
	int32_t caps[CPU_TEMPLATE_MAX_CAPS];
};

/* Firecracker's static templates (cpu_template_static.c), by machine-config name. */
enum cpu_template_static {
	CPU_TEMPLATE_NONE,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A,
};
/* "None", "C3", ... indexed by enum cpu_template_static; NULL-terminated. */
extern const char *const cpu_template_static_names[];
/* Refused when host_vendor (CPUID 0's string, cpuid_host_vendor) is not which's vendor:
   an Intel template on AMD, or T2A on Intel. */
int cpu_template_static_usable(enum cpu_template_static which, const char *host_vendor,
				struct errbuf *e);
/*
 * Static template which as a custom one, into out. Refused when host_vendor (CPUID 0's
 * string, cpuid_host_vendor) is not the template's: an Intel template on AMD, or T2A on
 * Intel. Whether the host has each feature it shows is checked when it is applied.
 */
int cpu_template_static(enum cpu_template_static which, const char *host_vendor,
			struct cpu_template *out, struct errbuf *e);

/* Each capability the template asks for, present (KVM_CHECK_EXTENSION on vm_fd). */
int cpu_template_check_caps(const struct cpu_template *t, int vm_fd, struct errbuf *e);
/*
 * The template's CPUID bits onto c (one vCPU's, after cpuid_normalise). Refused, with
 * the leaf, register and bits named: a leaf KVM does not offer, and a feature bit
 * (cpuid_feature_bits) set that this host's KVM (supported) lacks.
 */
int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid2 *c,
			     const struct kvm_cpuid2 *supported, struct errbuf *e);
/* The template's MSR bits on vCPU fd (index names it): read, changed, written back. */
int cpu_template_apply_msrs(const struct cpu_template *t, int fd, unsigned index,
			    struct errbuf *e);

#endif
