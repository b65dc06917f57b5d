/*
 * Firecracker's static CPU templates (machine-config "cpu_template"), each a fixed
 * custom template: the CPU of an EC2 instance family, so that a guest (and its
 * snapshot) sees the same CPU on any host of the template's vendor. The bits are
 * Firecracker's (src/vmm/src/cpu_config/x86_64/static_cpu_templates/, the commit named
 * in the README); a template is only ever applied through cpu_template_apply_*, which
 * refuses a feature this host's KVM lacks, so a template never promises more than the
 * host has.
 *
 * What they do, in short: family/model/stepping become those of a Haswell (T2*: 6/0x3f/2)
 * or an Ivy Bridge (C3: 6/0x3e/4); features the EC2 family lacks are cleared (AVX-512,
 * MPX, SGX, PKU, TSX, LA57, the XSAVE state of those); MCE and MTRR are shown; T2, T2S,
 * T2CL, T2A also show ERMS. T2S and T2CL fix IA32_ARCH_CAPABILITIES.
 */
#include "cpu_template.h"

#include <string.h>

#include "cpuid.h"

#define INDEXED KVM_CPUID_FLAG_SIGNIFCANT_INDEX
#define ROW(leaf, sub, flags, reg, mask, value) { leaf, sub, flags, CPUID_##reg, mask, value }

/* Rows every T2 flavour shares: leaf 1, 7.0 and XSAVE. */
#define T2_COMMON                                                                   \
	ROW(0x1, 0, 0, EAX, 0x0fff3fff, 0x000306f2),                                \
	ROW(0x1, 0, 0, ECX, 0x0004cdfc, 0),                                         \
	ROW(0x1, 0, 0, EDX, 0xe8641080, 0x00001080),                                \
	ROW(0x7, 0, INDEXED, EBX, 0xffefda14, 0x00000200),                          \
	ROW(0x7, 0, INDEXED, ECX, 0x40415f5e, 0),                                   \
	ROW(0x7, 0, INDEXED, EDX, 0x0000011c, 0),                                   \
	ROW(0xd, 0, INDEXED, EAX, 0x000002f8, 0),                                   \
	ROW(0xd, 1, INDEXED, EAX, 0x0000000e, 0)

static const struct cpuid_modifier c3_cpuid[] = {
	ROW(0x1, 0, 0, EAX, 0x0fff3fff, 0x000306e4),
	ROW(0x1, 0, 0, ECX, 0x0040dd3c, 0),
	ROW(0x1, 0, 0, EDX, 0xa8641080, 0x00001080),
	ROW(0x7, 0, INDEXED, EBX, 0xffafdd3c, 0),
	ROW(0x7, 0, INDEXED, ECX, 0x4041481e, 0),
	ROW(0x7, 0, INDEXED, EDX, 0x0000000c, 0),
	ROW(0xd, 0, INDEXED, EAX, 0x000002f8, 0),
	ROW(0xd, 1, INDEXED, EAX, 0x0000000e, 0),
	ROW(0x80000001, 0, 0, ECX, 0x00000120, 0),
	ROW(0x80000001, 0, 0, EDX, 0x04000000, 0),
};

/* T2 and T2S: the same CPUID; T2S also fixes ARCH_CAPABILITIES. */
static const struct cpuid_modifier t2_cpuid[] = {
	T2_COMMON,
	ROW(0x80000001, 0, 0, ECX, 0x20000100, 0),
	ROW(0x80000001, 0, 0, EDX, 0x04000000, 0),
	ROW(0x80000008, 0, 0, EBX, 0x00000200, 0),
};

static const struct cpuid_modifier t2cl_cpuid[] = {
	T2_COMMON,
	ROW(0x80000001, 0, 0, ECX, 0x200001c0, 0),
	ROW(0x80000001, 0, 0, EDX, 0x07c00000, 0),
	ROW(0x80000008, 0, 0, EBX, 0x00000200, 0),
};

/* AMD Milan with T2CL's instruction set. 0x80000008 ebx: CLZERO and WBNOINVD hidden;
   RstrFpErrPtrs, IbrsPreferred, IbrsSameMode and EferLmsleUnsupported shown, as Milan
   has them. */
static const struct cpuid_modifier t2a_cpuid[] = {
	T2_COMMON,
	ROW(0x80000001, 0, 0, ECX, 0x200001c4, 0),
	ROW(0x80000001, 0, 0, EDX, 0x06400000, 0),
	ROW(0x80000008, 0, 0, EBX, 0x001c0205, 0x001c0004),
};

#define MSR_IA32_ARCH_CAPABILITIES 0x10a
static const struct msr_modifier t2s_msrs[] = {
	{ MSR_IA32_ARCH_CAPABILITIES, ~0ULL, 0x0c0a0c4c },
};
static const struct msr_modifier t2cl_msrs[] = {
	{ MSR_IA32_ARCH_CAPABILITIES, 0xffffffffe2f51e00ULL, 0 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define VENDOR_INTEL "GenuineIntel"
#define VENDOR_AMD "AuthenticAMD"

static const struct {
	const char *vendor;
	const struct cpuid_modifier *cpuid;
	unsigned ncpuid;
	const struct msr_modifier *msrs;
	unsigned nmsrs;
} templates[] = {
	[CPU_TEMPLATE_C3] = { VENDOR_INTEL, c3_cpuid, N(c3_cpuid), NULL, 0 },
	[CPU_TEMPLATE_T2] = { VENDOR_INTEL, t2_cpuid, N(t2_cpuid), NULL, 0 },
	[CPU_TEMPLATE_T2S] = { VENDOR_INTEL, t2_cpuid, N(t2_cpuid), t2s_msrs, N(t2s_msrs) },
	[CPU_TEMPLATE_T2CL] = { VENDOR_INTEL, t2cl_cpuid, N(t2cl_cpuid), t2cl_msrs, N(t2cl_msrs) },
	[CPU_TEMPLATE_T2A] = { VENDOR_AMD, t2a_cpuid, N(t2a_cpuid), NULL, 0 },
};

const char *const cpu_template_static_names[] = {
	[CPU_TEMPLATE_NONE] = "None", [CPU_TEMPLATE_C3] = "C3",	    [CPU_TEMPLATE_T2] = "T2",
	[CPU_TEMPLATE_T2S] = "T2S",   [CPU_TEMPLATE_T2CL] = "T2CL", [CPU_TEMPLATE_T2A] = "T2A",
	NULL,
};

int cpu_template_static_usable(enum cpu_template_static which, const char *host_vendor,
				struct errbuf *e)
{
	if (which <= CPU_TEMPLATE_NONE || which >= N(templates))
		return errf(e, "CPU template %d is not a static template", (int)which);
	const char *vendor = templates[which].vendor;
	if (strcmp(host_vendor, vendor) != 0)
		return errf(e, "cpu_template %s is for %s hosts; this host's CPU is %s",
			    cpu_template_static_names[which],
			    strcmp(vendor, VENDOR_AMD) == 0 ? "AMD" : "Intel", host_vendor);
	return 0;
}

int cpu_template_static(enum cpu_template_static which, const char *host_vendor,
			struct cpu_template *out, struct errbuf *e)
{
	if (cpu_template_static_usable(which, host_vendor, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->ncpuid = templates[which].ncpuid;
	out->nmsrs = templates[which].nmsrs;
	memcpy(out->cpuid, templates[which].cpuid, out->ncpuid * sizeof(out->cpuid[0]));
	if (out->nmsrs)
		memcpy(out->msrs, templates[which].msrs, out->nmsrs * sizeof(out->msrs[0]));
	return 0;
}
