/*
 * The MP table (Intel MultiProcessor Specification 1.4), read back the way Linux's
 * mpparse does: floating pointer, checksums, then the entries walked by type.
 */
#include "../../arch/mptable.h"
#include "helpers.h"

#define MEM (128 * MIB)
#define MPF_GPA 0x9fc00ULL
#define BASE_MEM_END 0xa0000ULL

/* Entry lengths from the specification (table 4-3). */
#define ENT_PROCESSOR 0
#define ENT_BUS 1
#define ENT_IOAPIC 2
#define ENT_INTSRC 3
#define ENT_LINTSRC 4

static struct guest_mem gm;

static void setup(void)
{
	gm_setup(&gm, MEM);
	gm_fill(&gm, 0x90000, 0x70000, FILL_BYTE);
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

static const uint8_t *at(uint64_t gpa, uint64_t len)
{
	return gm_ptr(&gm, gpa, len);
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct parsed {
	unsigned ncpu, nbus, nioapic, nintsrc, nlintsrc;
	uint8_t cpu_apicid[256], cpu_flags[256];
	uint8_t isa_bus_id;
	uint8_t ioapic_id, ioapic_flags;
	uint32_t ioapic_addr;
	uint8_t intsrc_bus[64], intsrc_irq[64], intsrc_apic[64], intsrc_pin[64], intsrc_type[64];
	uint64_t table_end;
};

/* Validates the structure as Linux would and collects its entries. */
static void parse(struct parsed *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *mpf = at(MPF_GPA, 16);
	cr_assert_eq(memcmp(mpf, "_MP_", 4), 0, "no _MP_ signature at 0x9fc00");
	cr_assert_eq(mpf[8], 1, "floating pointer length is in 16-byte units: 1");
	cr_assert_eq(mpf[9], 4, "specification revision 1.4");
	cr_assert_eq(sum8(mpf, 16), 0, "floating pointer checksum");
	cr_assert_eq(mpf[11], 0, "feature byte 1 nonzero means a default configuration");
	uint32_t physptr = le32(mpf + 4);
	cr_assert_neq(physptr, 0, "no configuration table");

	const uint8_t *mpc = at(physptr, 44);
	cr_assert_eq(memcmp(mpc, "PCMP", 4), 0, "no PCMP signature at 0x%x", physptr);
	uint16_t length = le16(mpc + 4);
	uint16_t count = le16(mpc + 34);
	cr_assert_eq(mpc[6], 4, "table spec revision 1.4");
	cr_assert_eq(le32(mpc + 36), 0xFEE00000u, "local APIC address");
	mpc = at(physptr, length);
	cr_assert_eq(sum8(mpc, length), 0, "configuration table checksum");
	out->table_end = (uint64_t)physptr + length;

	const uint8_t *p = mpc + 44, *end = mpc + length;
	for (unsigned i = 0; i < count; i++) {
		cr_assert_lt(p, end, "entry %u lies past the table length", i);
		switch (p[0]) {
		case ENT_PROCESSOR:
			out->cpu_apicid[out->ncpu] = p[1];
			out->cpu_flags[out->ncpu] = p[3];
			out->ncpu++;
			p += 20;
			break;
		case ENT_BUS:
			cr_assert_eq(memcmp(p + 2, "ISA   ", 6), 0, "bus type '%.6s'", p + 2);
			out->isa_bus_id = p[1];
			out->nbus++;
			p += 8;
			break;
		case ENT_IOAPIC:
			out->ioapic_id = p[1];
			out->ioapic_flags = p[3];
			out->ioapic_addr = le32(p + 4);
			out->nioapic++;
			p += 8;
			break;
		case ENT_INTSRC:
			cr_assert_lt(out->nintsrc, 64);
			out->intsrc_type[out->nintsrc] = p[1];
			out->intsrc_bus[out->nintsrc] = p[4];
			out->intsrc_irq[out->nintsrc] = p[5];
			out->intsrc_apic[out->nintsrc] = p[6];
			out->intsrc_pin[out->nintsrc] = p[7];
			out->nintsrc++;
			p += 8;
			break;
		case ENT_LINTSRC:
			out->nlintsrc++;
			p += 8;
			break;
		default:
			cr_assert_fail("unknown entry type %u", p[0]);
		}
	}
	cr_assert_eq(p, end, "entry count and table length disagree");
}

static void check_for(unsigned n)
{
	struct errbuf e = { "" };
	cr_assert_eq(mptable_write(&gm, n, &e), 0, "%u CPUs: %s", n, e.msg);
	struct parsed t;
	parse(&t);

	cr_assert_eq(t.ncpu, n, "processor entries");
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(t.cpu_apicid[i], i, "CPU %u APIC id", i);
		cr_assert(t.cpu_flags[i] & 1, "CPU %u not enabled", i);
		cr_assert_eq(!!(t.cpu_flags[i] & 2), i == 0, "CPU %u BSP flag", i);
	}
	cr_assert_eq(t.nbus, 1);
	cr_assert_eq(t.nioapic, 1);
	cr_assert_eq(t.ioapic_id, n, "IOAPIC id follows the CPUs' ids");
	cr_assert(t.ioapic_flags & 1, "IOAPIC not enabled");
	cr_assert_eq(t.ioapic_addr, 0xFEC00000u);

	/* 24 ISA IRQs, IRQ i on IOAPIC pin i. */
	unsigned isa = 0;
	for (unsigned i = 0; i < t.nintsrc; i++) {
		if (t.intsrc_type[i] != 0)
			continue;
		cr_assert_eq(t.intsrc_bus[i], t.isa_bus_id);
		cr_assert_eq(t.intsrc_apic[i], n, "interrupt %u goes to another IOAPIC", i);
		cr_assert_eq(t.intsrc_pin[i], t.intsrc_irq[i], "ISA IRQ %u on pin %u",
			     t.intsrc_irq[i], t.intsrc_pin[i]);
		cr_assert_eq(t.intsrc_irq[i], isa, "IRQs in order");
		isa++;
	}
	cr_assert_eq(isa, 24);
	cr_assert_leq(t.table_end, BASE_MEM_END, "table runs past 640 KiB into the VGA hole");
}

TestSuite(mptable, .init = setup, .fini = teardown);

Test(mptable, one_cpu)
{
	check_for(1);
}

Test(mptable, two_cpus)
{
	check_for(2);
}

Test(mptable, thirty_two_cpus)
{
	check_for(32);
}

Test(mptable, nothing_written_past_640k)
{
	struct errbuf e = { "" };
	cr_assert_eq(mptable_write(&gm, 32, &e), 0, "%s", e.msg);
	cr_assert(gm_all(&gm, BASE_MEM_END, 0x10000, FILL_BYTE));
	cr_assert(gm_all(&gm, 0x90000, MPF_GPA - 0x90000, FILL_BYTE));
}

Test(mptable, every_accepted_count_fits_below_640k)
{
	for (unsigned n = 1; n <= 254; n++) {
		struct errbuf e = { "" };
		if (mptable_write(&gm, n, &e) < 0) {
			assert_msg_has(e, "MP table");
			continue;
		}
		struct parsed t;
		parse(&t);
		cr_assert_eq(t.ncpu, n);
		cr_assert_leq(t.table_end, BASE_MEM_END, "%u CPUs: table ends at 0x%llx", n,
			      (unsigned long long)t.table_end);
		cr_assert(gm_all(&gm, BASE_MEM_END, 0x1000, FILL_BYTE), "%u CPUs: wrote past 640K",
			  n);
	}
}

Test(mptable, zero_cpus_rejected)
{
	struct errbuf e = { "" };
	cr_assert_eq(mptable_write(&gm, 0, &e), -1);
	assert_msg_has(e, "MP table");
	cr_assert(gm_all(&gm, MPF_GPA, 0x400, FILL_BYTE));
}

Test(mptable, too_many_cpus_rejected)
{
	struct errbuf e = { "" };
	cr_assert_eq(mptable_write(&gm, 255, &e), -1);
	assert_msg_has(e, "255");
	cr_assert(gm_all(&gm, MPF_GPA, 0x400, FILL_BYTE));
}
