/*
 * TSC frequency, for turning cycle counts into microseconds.
 *
 * ember passes ember.tsc_khz on the command line.  Elsewhere (QEMU microvm)
 * the frequency comes from the user (gm.tsc_khz=), the hypervisor's timing
 * leaf, the CPU's own TSC leaf, or KVM's paravirtual clock, in that order.
 * None of these can fault: CPUID never does, and the pvclock MSR is written
 * only when CPUID says KVM offers it.  guest-min has no timer to calibrate
 * against (QEMU microvm runs here with pit=off rtc=off acpi=off), so when all
 * of them are silent the programs print cycles.
 */
#include "guest-min.h"

#define KVM_SIGNATURE_EBX     0x4b4d564bu /* "KVMKVMKVM\0\0\0" */
#define KVM_SIGNATURE_ECX     0x564b4d56u
#define KVM_SIGNATURE_EDX     0x0000004du
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01u

struct pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((aligned(64)));

static struct pvclock pvclock;
static uint64_t cached_khz;
static const char *cached_source;
static bool cached;

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* Linux's pvclock_tsc_khz: 10^6 << 32 / mul, then undo the shift. */
static uint64_t pvclock_khz(void)
{
	uint32_t r[4], mul = 0;
	int shift = 0;
	uint64_t khz;

	cpuid(0x40000000, 0, r);
	if (r[1] != KVM_SIGNATURE_EBX || r[2] != KVM_SIGNATURE_ECX ||
	    r[3] != KVM_SIGNATURE_EDX || r[0] < 0x40000001)
		return 0;
	cpuid(0x40000001, 0, r);
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
		return 0;

	pvclock.version = 0;
	pvclock.tsc_to_system_mul = 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pvclock | 1);
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t v = *(volatile uint32_t *)&pvclock.version;

		gm_barrier();
		mul = *(volatile uint32_t *)&pvclock.tsc_to_system_mul;
		shift = *(volatile int8_t *)&pvclock.tsc_shift;
		gm_barrier();
		if (!(v & 1) && v == *(volatile uint32_t *)&pvclock.version && mul)
			break;
		mul = 0;
	}
	/* Stop the hypervisor from writing into our memory again. */
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!mul)
		return 0;
	khz = (1000000ULL << 32) / mul;
	if (shift < 0)
		khz <<= -shift;
	else
		khz >>= shift;
	return khz;
}

static uint64_t cpuid_khz(const char **source)
{
	uint32_t r[4], max;

	cpuid(1, 0, r);
	if (r[2] & (1u << 31)) { /* running on a hypervisor */
		cpuid(0x40000000, 0, r);
		if (r[0] >= 0x40000010 && r[0] < 0x40010000) {
			cpuid(0x40000010, 0, r);
			if (r[0]) {
				*source = "cpuid 0x40000010";
				return r[0];
			}
		}
	}
	cpuid(0, 0, r);
	max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, 0, r); /* TSC = crystal (ECX Hz) * EBX / EAX */
		if (r[0] && r[1] && r[2]) {
			*source = "cpuid 0x15";
			return (uint64_t)r[2] * r[1] / r[0] / 1000;
		}
	}
	return 0;
}

uint64_t gm_tsc_khz(const struct gm_ctx *c, const char **source)
{
	if (!cached) {
		uint64_t khz = 0;
		const char *src = "unknown";

		if (gm_parse_u64(gm_param(c, "ember.tsc_khz"), UINT32_MAX, &khz) && khz)
			src = "ember.tsc_khz";
		else if (gm_parse_u64(gm_param(c, "gm.tsc_khz"), UINT32_MAX, &khz) && khz)
			src = "gm.tsc_khz";
		else if (!(khz = cpuid_khz(&src)) && (khz = pvclock_khz()))
			src = "kvm pvclock";
		cached_khz = khz;
		cached_source = src;
		cached = true;
	}
	if (source)
		*source = cached_source;
	return cached_khz;
}

/* Microseconds without overflowing the multiply; khz must be non-zero. */
uint64_t gm_tsc_to_us(uint64_t tsc, uint64_t khz)
{
	uint64_t q = tsc / khz, r = tsc % khz;

	if (q > (UINT64_MAX - 1000) / 1000)
		return UINT64_MAX;
	/* r < khz <= UINT32_MAX, so r * 1000 cannot overflow. */
	return q * 1000 + r * 1000 / khz;
}

uint64_t gm_ms_to_tsc(const struct gm_ctx *c, uint64_t ms)
{
	uint64_t khz = gm_tsc_khz(c, NULL);

	if (!khz)
		khz = 3000000;
	if (ms > UINT64_MAX / khz)
		return UINT64_MAX;
	return ms * khz;
}
