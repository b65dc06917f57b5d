/*
 * Applying a custom CPU template to one vCPU: CPUID before KVM_SET_CPUID2, MSRs after
 * the boot MSRs, capabilities once per VM. The template was checked for shape when it
 * was configured (config/config_json.c); here it meets this host.
 */
#include "cpu_template.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"

static const char *const reg_names[] = { "eax", "ebx", "ecx", "edx" };

int cpu_template_check_caps(const struct cpu_template *t, int vm_fd, struct errbuf *e)
{
	for (unsigned i = 0; i < t->ncaps; i++)
		if (t->caps[i] >= 0 && ioctl(vm_fd, KVM_CHECK_EXTENSION, (unsigned long)t->caps[i]) <= 0)
			return errf(e, "cpu-config: KVM lacks capability %d, which kvm_capabilities "
				    "asks for", t->caps[i]);
	return 0;
}

static struct kvm_cpuid_entry2 *cpuid_entry(struct kvm_cpuid2 *c, const struct cpuid_modifier *m)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *l = &c->entries[i];
		bool indexed = (l->flags | m->flags) & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (l->function == m->leaf && (!indexed || l->index == m->subleaf))
			return l;
	}
	return NULL;
}

int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid2 *c,
			     const struct kvm_cpuid2 *supported, struct errbuf *e)
{
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpuid_modifier *m = &t->cpuid[i];
		struct kvm_cpuid_entry2 *l = cpuid_entry(c, m);
		if (!l)
			return errf(e, "cpu-config: CPUID leaf 0x%x subleaf 0x%x is not one KVM offers",
				    m->leaf, m->subleaf);
		uint32_t *r = cpuid_reg(l, m->reg);
		uint32_t set = m->value & m->mask & ~*r;
		const struct kvm_cpuid_entry2 *h =
			cpuid_find(supported->entries, supported->nent, l->function, l->index);
		struct kvm_cpuid_entry2 have = h ? *h : (struct kvm_cpuid_entry2){ 0 };
		uint32_t lack = cpuid_feature_bits(l->function, l->index, m->reg, set) &
				~*cpuid_reg(&have, m->reg);
		if (lack)
			return errf(e, "cpu-config: CPUID 0x%x.%u %s bits 0x%08x: this host's KVM "
				    "cannot provide them", m->leaf, m->subleaf, reg_names[m->reg], lack);
		*r = (*r & ~m->mask) | (m->value & m->mask);
	}
	return 0;
}

int cpu_template_apply_msrs(const struct cpu_template *t, int fd, unsigned index,
			    struct errbuf *e)
{
	for (unsigned i = 0; i < t->nmsrs; i++) {
		const struct msr_modifier *m = &t->msrs[i];
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry entry;
		} msr = { .hdr.nmsrs = 1, .entry.index = m->addr };
		if (ioctl(fd, KVM_GET_MSRS, &msr) != 1)
			return errf(e, "cpu-config: MSR 0x%x is not one KVM has (vCPU %u)", m->addr,
				    index);
		msr.entry.data = (msr.entry.data & ~m->mask) | (m->value & m->mask);
		if (ioctl(fd, KVM_SET_MSRS, &msr) != 1)
			return errf(e, "cpu-config: KVM refused MSR 0x%x = 0x%llx on vCPU %u", m->addr,
				    (unsigned long long)msr.entry.data, index);
	}
	return 0;
}
