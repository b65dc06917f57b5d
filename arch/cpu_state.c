/*
 * A vCPU's KVM state out and back in, for snapshots. The order follows KVM's rules
 * (Documentation/virt/kvm/api.rst) as Firecracker applies them: MP state first on
 * save (it flushes pending LAPIC events into the state read after it), events last
 * (MSRs and the LAPIC can raise them); on restore CPUID before anything that depends
 * on it, the TSC's MSR before its deadline.
 */
#include "cpu_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../lib/util.h"
#include "cpuid.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* Where an MSR goes in the saved list: TSC first, deadline last, the rest between. */
static int msr_rank(uint32_t index)
{
	return index == MSR_IA32_TSC ? 0 : index == MSR_IA32_TSC_DEADLINE ? 2 : 1;
}

static int msr_order(const void *a, const void *b)
{
	return msr_rank(*(const uint32_t *)a) - msr_rank(*(const uint32_t *)b);
}

/* KVM_GET_MSRS reads until the first MSR it cannot read: that one is left out. */
static uint32_t msr_keep_readable(int vcpu_fd, uint32_t *list, uint32_t n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[CPU_STATE_MAX_MSRS];
	} m;
	uint32_t done = 0;
	while (done < n) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = n - done;
		for (uint32_t i = 0; i < m.hdr.nmsrs; i++)
			m.entries[i].index = list[done + i];
		int got = ioctl(vcpu_fd, KVM_GET_MSRS, &m);
		if (got < 0)
			got = 0;
		done += (uint32_t)got;
		if (done < n) { /* list[done] is unreadable: drop it */
			memmove(&list[done], &list[done + 1], (n - done - 1) * sizeof(*list));
			n--;
		}
	}
	return n;
}

int cpu_state_msr_list(int kvm_fd, int vcpu_fd, uint32_t *out, uint32_t *n, struct errbuf *e)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t indices[1024];
	} l;
	l.hdr.nmsrs = ARRAY_SIZE(l.indices);
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &l) < 0)
		return errf(e, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	uint32_t count = l.hdr.nmsrs < CPU_STATE_MAX_MSRS ? l.hdr.nmsrs : CPU_STATE_MAX_MSRS;
	memcpy(out, l.indices, count * sizeof(*out));
	qsort(out, count, sizeof(*out), msr_order);
	*n = msr_keep_readable(vcpu_fd, out, count);
	return 0;
}

static int cpu_ioctl(int fd, unsigned long req, void *arg, const char *name, unsigned index,
		     struct errbuf *e)
{
	if (ioctl(fd, req, arg) < 0)
		return errf(e, "%s on vCPU %u: %s", name, index, strerror(errno));
	return 0;
}
#define CPU_IOCTL(fd, req, arg, index, e) cpu_ioctl(fd, req, arg, #req, index, e)

static int cpu_save_msrs(int fd, unsigned index, const uint32_t *list, uint32_t n,
			 struct cpu_state *s, struct errbuf *e)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[CPU_STATE_MAX_MSRS];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = n;
	for (uint32_t i = 0; i < n; i++)
		m.entries[i].index = list[i];
	int got = ioctl(fd, KVM_GET_MSRS, &m);
	if (got < 0 || (uint32_t)got != n)
		return errf(e, "KVM_GET_MSRS on vCPU %u: read %d of %u MSRs", index, got, n);
	memcpy(s->msrs, m.entries, n * sizeof(m.entries[0]));
	s->nmsrs = n;
	return 0;
}

static int cpu_save_cpuid(int fd, unsigned index, struct cpu_state *s, struct errbuf *e)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 entries[CPU_STATE_MAX_CPUID];
	} c;
	memset(&c, 0, sizeof(c));
	c.hdr.nent = CPU_STATE_MAX_CPUID;
	if (CPU_IOCTL(fd, KVM_GET_CPUID2, &c, index, e) < 0)
		return -1;
	memcpy(s->cpuid, c.entries, c.hdr.nent * sizeof(c.entries[0]));
	s->ncpuid = c.hdr.nent;
	return 0;
}

int cpu_state_save(int fd, unsigned index, const uint32_t *msrs, uint32_t nmsrs,
		   struct cpu_state *s, struct errbuf *e)
{
	memset(s, 0, sizeof(*s));
	if (nmsrs > CPU_STATE_MAX_MSRS)
		return errf(e, "vCPU %u: %u MSRs to save, at most %u", index, nmsrs,
			    CPU_STATE_MAX_MSRS);
	int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	s->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	if (CPU_IOCTL(fd, KVM_GET_MP_STATE, &s->mp_state, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_REGS, &s->regs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_SREGS, &s->sregs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_XSAVE, s->xsave, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_XCRS, &s->xcrs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_DEBUGREGS, &s->debugregs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_GET_LAPIC, &s->lapic, index, e) < 0 ||
	    cpu_save_cpuid(fd, index, s, e) < 0 || cpu_save_msrs(fd, index, msrs, nmsrs, s, e) < 0)
		return -1;
	return CPU_IOCTL(fd, KVM_GET_VCPU_EVENTS, &s->events, index, e);
}

static int cpu_restore_cpuid(int fd, unsigned index, const struct cpu_state *s,
			     struct errbuf *e)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 entries[CPU_STATE_MAX_CPUID];
	} c;
	memset(&c, 0, sizeof(c));
	c.hdr.nent = s->ncpuid;
	memcpy(c.entries, s->cpuid, s->ncpuid * sizeof(c.entries[0]));
	return CPU_IOCTL(fd, KVM_SET_CPUID2, &c, index, e);
}

static int cpu_restore_msrs(int fd, unsigned index, const struct cpu_state *s,
			    struct errbuf *e)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[CPU_STATE_MAX_MSRS];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = s->nmsrs;
	memcpy(m.entries, s->msrs, s->nmsrs * sizeof(m.entries[0]));
	int n = ioctl(fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return errf(e, "KVM_SET_MSRS on vCPU %u: %s", index, strerror(errno));
	if ((uint32_t)n != s->nmsrs)
		return errf(e, "vCPU %u: KVM refused MSR 0x%x of the snapshot", index,
			    s->msrs[n].index);
	return 0;
}

int cpu_state_restore(int fd, unsigned index, const struct cpu_state *s, struct errbuf *e)
{
	if (s->nmsrs > CPU_STATE_MAX_MSRS || s->ncpuid == 0 || s->ncpuid > CPU_STATE_MAX_CPUID)
		return errf(e, "vCPU %u: snapshot holds %u MSRs and %u CPUID leaves (bad counts)",
			    index, s->nmsrs, s->ncpuid);
	/* A host of another TSC rate: the guest keeps the rate it was booted with. */
	int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (s->tsc_khz && khz > 0 && (uint32_t)khz != s->tsc_khz &&
	    ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)s->tsc_khz) < 0)
		return errf(e, "vCPU %u: the snapshot's TSC runs at %u kHz, this host's at %d kHz, "
			    "and KVM cannot scale it: %s", index, s->tsc_khz, khz, strerror(errno));
	struct cpu_state *w = (struct cpu_state *)(uintptr_t)s; /* KVM's setters take non-const */
	if (cpu_restore_cpuid(fd, index, s, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_MP_STATE, &w->mp_state, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_REGS, &w->regs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_SREGS, &w->sregs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_XSAVE, w->xsave, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_XCRS, &w->xcrs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_DEBUGREGS, &w->debugregs, index, e) < 0 ||
	    CPU_IOCTL(fd, KVM_SET_LAPIC, &w->lapic, index, e) < 0 ||
	    cpu_restore_msrs(fd, index, s, e) < 0)
		return -1;
	return CPU_IOCTL(fd, KVM_SET_VCPU_EVENTS, &w->events, index, e);
}

int cpu_state_check_cpuid(const struct cpu_state *s, const struct kvm_cpuid2 *supported,
			  struct errbuf *e)
{
	uint32_t n = s->ncpuid > CPU_STATE_MAX_CPUID ? CPU_STATE_MAX_CPUID : s->ncpuid;
	static const char *const regs[] = { "eax", "ebx", "ecx", "edx" };
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 want = s->cpuid[i];
		const struct kvm_cpuid_entry2 *have =
			cpuid_find(supported->entries, supported->nent, want.function, want.index);
		for (unsigned r = 0; r < 4; r++) {
			uint32_t need = cpuid_feature_bits(want.function, want.index, r,
							   *cpuid_reg(&want, r));
			struct kvm_cpuid_entry2 h = have ? *have : (struct kvm_cpuid_entry2){ 0 };
			uint32_t lack = need & ~*cpuid_reg(&h, r);
			if (lack)
				return errf(e, "snapshot: taken on a CPU with features this host lacks "
					    "(CPUID 0x%x.%u %s bits 0x%08x)", want.function, want.index,
					    regs[r], lack);
		}
	}
	return 0;
}

_Static_assert(sizeof(((struct cpu_state *)0)->xsave) == sizeof(((struct kvm_xsave *)0)->region),
	       "cpu_state.xsave holds KVM_GET_XSAVE's region");
