/*
 * One vCPU's whole KVM state, for snapshots (cpu_state.c): everything KVM holds for it
 * that the guest can observe. A plain struct of fixed size, so the snapshot file stores
 * it as it is and a reader checks one size; counts inside are checked on restore.
 */
#ifndef EMBER_ARCH_CPU_STATE_H
#define EMBER_ARCH_CPU_STATE_H

#include <linux/kvm.h>
#include <stdint.h>

#include "../lib/error.h"

#define CPU_STATE_MAX_MSRS 256
#define CPU_STATE_MAX_CPUID 256

struct cpu_state {
	uint32_t tsc_khz; /* 0: unknown */
	uint32_t nmsrs, ncpuid, pad;
	struct kvm_mp_state mp_state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave[1024]; /* struct kvm_xsave's region (its flexible tail stays empty) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_msr_entry msrs[CPU_STATE_MAX_MSRS];
	struct kvm_cpuid_entry2 cpuid[CPU_STATE_MAX_CPUID];
};

/*
 * The MSRs worth saving: KVM's list (KVM_GET_MSR_INDEX_LIST on kvm_fd), less those
 * this vCPU cannot read back, in an order that restores cleanly (the TSC first, its
 * deadline last). Filled once per VM; out holds CPU_STATE_MAX_MSRS.
 */
int cpu_state_msr_list(int kvm_fd, int vcpu_fd, uint32_t *out, uint32_t *n, struct errbuf *e);

/* vCPU index's state (fd: its KVM fd); the vCPU must be out of KVM_RUN. */
int cpu_state_save(int fd, unsigned index, const uint32_t *msrs, uint32_t nmsrs,
		   struct cpu_state *s, struct errbuf *e);
/* The other way, onto a new vCPU; a state KVM refuses is one line in e. */
int cpu_state_restore(int fd, unsigned index, const struct cpu_state *s, struct errbuf *e);
/*
 * The CPU features s was taken on, against what this host's KVM supports (from
 * KVM_GET_SUPPORTED_CPUID): one line naming the first leaf and register where the
 * snapshot needs a feature this host lacks.
 */
int cpu_state_check_cpuid(const struct cpu_state *s, const struct kvm_cpuid2 *supported,
			  struct errbuf *e);

#endif
