/*
 * The ACPI tables (ACPI 6.5, chapter 5), built in one buffer and copied into guest RAM at
 * LAYOUT_ACPI, which e820 marks as ACPI data:
 *
 *   RSDP ── XSDT ──┬── FADT (hardware-reduced) ── DSDT (COM1, virtio-mmio devices, \_S5)
 *                  └── MADT (a local APIC per vCPU, the IOAPIC)
 *
 * Hardware-reduced: no PIC, PIT, PM timer or fixed event registers, which ember does not
 * have. Reset and power-off go through the FADT's reset and sleep registers, I/O ports
 * that legacy/acpi_pm.c answers by ending the VM.
 */
#include "acpi.h"

#include <string.h>

#include "aml.h"
#include "layout.h"

#define ACPI_OEM_ID "EMBER "
#define ACPI_CREATOR "EMBR"

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum; /* over all 36 */
	uint8_t reserved[3];
};

/* Generic Address Structure: here always one byte in I/O space. */
struct __attribute__((packed)) acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
};

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len,
		gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr,
		x_gpe0, x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_id;
};

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT, ACPI 6.5 (revision 6)");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP, revision 2");

#define FADT_F_PWR_BUTTON (1u << 4)  /* no fixed power button */
#define FADT_F_SLP_BUTTON (1u << 5)  /* no fixed sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
#define FADT_IAPC_VGA_NOT_PRESENT (1u << 2)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

struct __attribute__((packed)) acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address, flags; /* flags 0: no 8259 PICs */
};

struct __attribute__((packed)) madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags; /* 1: enabled */
};

struct __attribute__((packed)) madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
};

#define MADT_LAPIC 0
#define MADT_IOAPIC 1

/* The tables as they will lie in guest RAM from LAYOUT_ACPI (RSDP at 0), 16-byte aligned. */
struct acpi_buf {
	uint8_t b[16384];
	size_t len;
};

static uint8_t acpi_checksum(const void *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + ((const uint8_t *)p)[i]);
	return (uint8_t)-sum;
}

/* Room for n bytes at a 16-byte boundary; its guest address in *gpa. NULL when full. */
static void *acpi_alloc(struct acpi_buf *buf, size_t n, uint64_t *gpa)
{
	size_t at = (buf->len + 15) & ~(size_t)15;
	if (at > sizeof(buf->b) || n > sizeof(buf->b) - at)
		return NULL;
	buf->len = at + n;
	*gpa = LAYOUT_ACPI + at;
	return buf->b + at;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint32_t len,
			     uint8_t revision, const char *table_id)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR, 4);
	h->creator_revision = 1;
}

static void acpi_seal(void *table)
{
	struct acpi_header *h = table;
	h->checksum = 0;
	h->checksum = acpi_checksum(table, h->length);
}

/* The DSDT's AML: COM1, then each virtio-mmio device, then \_S5 for power-off. */
static void acpi_dsdt_aml(struct aml *a, const struct acpi_machine *m)
{
	static const uint64_t s5[] = { ACPI_S5_TYPE, ACPI_S5_TYPE };
	aml_scope(a, "\\_SB_");
	aml_device(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_int(a, "_UID", 0);
	aml_crs_begin(a, "_CRS");
	aml_crs_io(a, 0x3f8, 8);
	aml_crs_irq(a, 4);
	aml_crs_end(a);
	aml_close(a);
	for (unsigned i = 0; i < m->ndevices; i++) {
		char name[5] = { 'V', (char)('0' + i / 100 % 10), (char)('0' + i / 10 % 10),
				 (char)('0' + i % 10), '\0' };
		aml_device(a, name);
		aml_name_string(a, "_HID", "LNRO0005"); /* virtio-mmio, as Linux matches it */
		aml_name_int(a, "_UID", i);
		aml_name_int(a, "_CCA", 1); /* DMA is cache-coherent */
		aml_crs_begin(a, "_CRS");
		aml_crs_memory32(a, (uint32_t)m->devices[i].base, m->devices[i].size);
		aml_crs_interrupt(a, m->devices[i].gsi);
		aml_crs_end(a);
		aml_close(a);
	}
	aml_close(a);
	aml_name_package(a, "\\_S5_", s5, 2);
}

static int acpi_build_dsdt(struct acpi_buf *buf, const struct acpi_machine *m, uint64_t *gpa,
			   struct errbuf *e)
{
	static struct aml a; /* 8 KiB: not on the stack */
	memset(&a, 0, sizeof(a));
	acpi_dsdt_aml(&a, m);
	if (a.overflow || a.depth)
		return errf(e, "ACPI: the DSDT does not fit in %d bytes", AML_MAX);
	struct acpi_header *h = acpi_alloc(buf, sizeof(*h) + a.len, gpa);
	if (!h)
		return errf(e, "ACPI: the tables do not fit in %zu bytes", sizeof(buf->b));
	acpi_header_init(h, "DSDT", (uint32_t)(sizeof(*h) + a.len), 2, "EMBRDSDT");
	memcpy(h + 1, a.b, a.len);
	acpi_seal(h);
	return 0;
}

static struct acpi_gas io_byte(uint16_t port)
{
	return (struct acpi_gas){ GAS_SYSTEM_IO, 8, 0, GAS_ACCESS_BYTE, port };
}

static struct acpi_fadt *acpi_build_fadt(struct acpi_buf *buf, uint64_t dsdt, uint64_t *gpa)
{
	struct acpi_fadt *f = acpi_alloc(buf, sizeof(*f), gpa);
	if (!f)
		return NULL;
	acpi_header_init(&f->h, "FACP", sizeof(*f), 6, "EMBRFACP");
	f->minor_version = 5;
	f->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON |
		   FADT_F_SLP_BUTTON;
	f->iapc_boot_arch = FADT_IAPC_VGA_NOT_PRESENT;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->reset_reg = io_byte(ACPI_RESET_PORT);
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control = io_byte(ACPI_SLEEP_CONTROL_PORT);
	f->sleep_status = io_byte(ACPI_SLEEP_STATUS_PORT);
	memcpy(&f->hypervisor_id, "EMBERKVM", 8);
	acpi_seal(f);
	return f;
}

static struct acpi_madt *acpi_build_madt(struct acpi_buf *buf, unsigned ncpus, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_madt) + ncpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic);
	struct acpi_madt *t = acpi_alloc(buf, len, gpa);
	if (!t)
		return NULL;
	acpi_header_init(&t->h, "APIC", (uint32_t)len, 6, "EMBRAPIC");
	t->lapic_address = (uint32_t)LAYOUT_LAPIC;
	struct madt_lapic *l = (struct madt_lapic *)(t + 1);
	for (unsigned i = 0; i < ncpus; i++)
		l[i] = (struct madt_lapic){ MADT_LAPIC, sizeof(*l), (uint8_t)i, (uint8_t)i, 1 };
	struct madt_ioapic *io = (struct madt_ioapic *)(l + ncpus);
	*io = (struct madt_ioapic){ MADT_IOAPIC, sizeof(*io), (uint8_t)ncpus, 0,
				    (uint32_t)LAYOUT_IOAPIC, 0 };
	acpi_seal(t);
	return t;
}

int acpi_write(struct guest_mem *gm, const struct acpi_machine *m, struct errbuf *e)
{
	static struct acpi_buf buf; /* 16 KiB: not on the stack */
	uint64_t rsdp_gpa, xsdt_gpa, dsdt_gpa = 0, fadt_gpa, madt_gpa;
	memset(&buf, 0, sizeof(buf));
	if (m->ncpus == 0 || m->ncpus > 255 || m->ndevices > ACPI_MAX_DEVICES)
		return errf(e, "ACPI: %u vCPUs and %u devices are more than the tables hold",
			    m->ncpus, m->ndevices);
	struct acpi_rsdp *rsdp = acpi_alloc(&buf, sizeof(*rsdp), &rsdp_gpa);
	struct acpi_header *xsdt = acpi_alloc(&buf, sizeof(*xsdt) + 2 * sizeof(uint64_t), &xsdt_gpa);
	if (!rsdp || !xsdt)
		return errf(e, "ACPI: the tables do not fit in %zu bytes", sizeof(buf.b));
	if (acpi_build_dsdt(&buf, m, &dsdt_gpa, e) < 0)
		return -1;
	if (!acpi_build_fadt(&buf, dsdt_gpa, &fadt_gpa) ||
	    !acpi_build_madt(&buf, m->ncpus, &madt_gpa))
		return errf(e, "ACPI: the tables do not fit in %zu bytes", sizeof(buf.b));
	acpi_header_init(xsdt, "XSDT", sizeof(*xsdt) + 2 * sizeof(uint64_t), 1, "EMBRXSDT");
	uint64_t entries[2] = { fadt_gpa, madt_gpa };
	memcpy(xsdt + 1, entries, sizeof(entries));
	acpi_seal(xsdt);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = xsdt_gpa;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->ext_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
	/* The one look-up of guest RAM: the whole region, checked before anything is copied. */
	void *dst = buf.len <= LAYOUT_ACPI_END - LAYOUT_ACPI ? guest_mem_at(gm, LAYOUT_ACPI, buf.len) :
							     NULL;
	if (!dst)
		return errf(e, "ACPI: no guest RAM at 0x%llx for %zu bytes of tables",
			    (unsigned long long)LAYOUT_ACPI, buf.len);
	memcpy(dst, buf.b, buf.len);
	return 0;
}
