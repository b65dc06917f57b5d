/*
 * Intel MultiProcessor Specification 1.4 table: tells Linux (without ACPI) how many
 * CPUs there are, where the IOAPIC is, and that ISA IRQ n arrives on IOAPIC pin n.
 * It sits in the last KiB of base memory, one of the places Linux scans.
 */
#include "mptable.h"

#include <string.h>

#include "layout.h"

#define MP_SPEC_REV 4
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_ENABLED 1
#define MP_CPU_BSP 2
#define MP_CPU_SIGNATURE 0x600 /* family 6: a value, not a claim Linux checks */
#define MP_CPU_FEATURES 0x201  /* FPU and APIC present */

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length, specification, checksum, feature1, feature2, feature3[3];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], productid[12];
	uint32_t oemptr;
	uint16_t oemsize, oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0 - sum);
}

/* Appends one entry at *cursor. */
static void mp_put(uint8_t **cursor, const void *entry, size_t len, uint16_t *count)
{
	memcpy(*cursor, entry, len);
	*cursor += len;
	(*count)++;
}

static size_t mptable_size(unsigned ncpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (LAYOUT_IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
}

int mptable_write(struct guest_mem *gm, unsigned ncpus, struct errbuf *e)
{
	size_t size = mptable_size(ncpus);
	if (ncpus == 0 || ncpus > 254 || size > LAYOUT_EBDA_END - LAYOUT_MPTABLE)
		return errf(e, "MP table: %u CPUs do not fit", ncpus);
	uint8_t *base = guest_mem_at(gm, LAYOUT_MPTABLE, size);
	if (!base)
		return errf(e, "MP table: no guest RAM at 0x%llx", LAYOUT_MPTABLE);
	memset(base, 0, size);

	struct mpf_intel *mpf = (struct mpf_intel *)(void *)base;
	struct mpc_table *mpc = (struct mpc_table *)(void *)(base + sizeof(*mpf));
	uint8_t *cur = (uint8_t *)(mpc + 1);
	uint16_t count = 0;
	uint8_t ioapic_id = (uint8_t)ncpus;

	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpufeature = MP_CPU_SIGNATURE, .featureflag = MP_CPU_FEATURES,
		};
		mp_put(&cur, &cpu, sizeof(cpu), &count);
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	mp_put(&cur, &bus, sizeof(bus), &count);
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = MP_IOAPIC_VERSION,
		.flags = 1, .apicaddr = (uint32_t)LAYOUT_IOAPIC,
	};
	mp_put(&cur, &ioapic, sizeof(ioapic), &count);
	/* ISA IRQ n on pin n, conforming polarity and trigger (ISA: active high, edge). */
	for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS; pin++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
			.srcbusirq = (uint8_t)pin, .dstapic = ioapic_id, .dstirq = (uint8_t)pin,
		};
		mp_put(&cur, &src, sizeof(src), &count);
	}
	/* Local interrupts as a PC wires them: ExtINT to LINT0, NMI to LINT1 of every CPU. */
	struct mpc_intsrc extint = { .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0xff,
				     .dstirq = 0 };
	struct mpc_intsrc nmi = { .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff,
				  .dstirq = 1 };
	mp_put(&cur, &extint, sizeof(extint), &count);
	mp_put(&cur, &nmi, sizeof(nmi), &count);

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(cur - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "EMBER   ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	mpc->checksum = mp_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(LAYOUT_MPTABLE + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
