/*
 * The ACPI tables as a kernel finds them in guest RAM: the RSDP at 0xe0000 and the chain
 * to every table, each checksum, what the FADT, MADT and DSDT say; then ACPICA's own
 * disassembler (iasl -d, Debian's acpica-tools) reads each table ember wrote and must
 * find no error and the configured devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../arch/acpi.h"
#include "../../arch/layout.h"
#include "../../legacy/acpi_pm.h"
#include "../../vcpu/bus.h"
#include "../../vcpu/host.h"
#include "helpers.h"

#define MEM (128 * MIB)

static struct guest_mem gm;
static struct errbuf e;

static void setup(void)
{
	gm_setup(&gm, MEM);
	memset(&e, 0, sizeof(e));
}

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

TestSuite(acpi, .init = setup, .fini = teardown);

static uint8_t sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + ((const uint8_t *)p)[i]);
	return s;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* The table at gpa, with its signature and checksum checked; its length in *len. */
static const uint8_t *table(uint64_t gpa, const char *sig, uint32_t *len)
{
	const uint8_t *h = gm_ptr(&gm, gpa, 36);
	cr_assert_not_null(h, "%s at 0x%llx is outside guest RAM", sig, (unsigned long long)gpa);
	cr_assert_eq(memcmp(h, sig, 4), 0, "want %s at 0x%llx, found %.4s", sig,
		     (unsigned long long)gpa, (const char *)h);
	*len = u32_at(h + 4);
	cr_assert(gpa >= LAYOUT_ACPI && gpa + *len <= LAYOUT_ACPI_END, "%s outside the region",
		  sig);
	cr_assert_eq(sum(h, *len), 0, "%s checksum", sig);
	return h;
}

static struct acpi_machine machine(unsigned ncpus, unsigned ndev)
{
	struct acpi_machine m = { .ncpus = ncpus, .ndevices = ndev };
	for (unsigned i = 0; i < ndev; i++)
		m.devices[i] = (struct acpi_device){ LAYOUT_VIRTIO_MMIO_BASE + i * 0x1000ULL, 0x1000,
						     5 + i };
	return m;
}

/* XSDT's entries: FADT then MADT. */
static void walk(uint64_t *fadt, uint64_t *madt, uint64_t *dsdt)
{
	const uint8_t *rsdp = gm_ptr(&gm, LAYOUT_ACPI, 36);
	cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
	cr_assert_eq(sum(rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
	cr_assert_eq(sum(rsdp, 36), 0, "RSDP extended checksum");
	cr_assert_eq(rsdp[15], 2, "RSDP revision 2 (has the XSDT)");
	uint32_t len;
	const uint8_t *xsdt = table(u64_at(rsdp + 24), "XSDT", &len);
	cr_assert_eq(len, 36 + 16, "two entries");
	*fadt = u64_at(xsdt + 36);
	*madt = u64_at(xsdt + 44);
	const uint8_t *f = table(*fadt, "FACP", &len);
	cr_assert_eq(len, 276);
	*dsdt = u64_at(f + 140);
	cr_assert_eq(u32_at(f + 40), *dsdt, "DSDT and X_DSDT agree");
}

Test(acpi, tables_chain_from_the_rsdp_with_checksums)
{
	struct acpi_machine m = machine(4, 3);
	cr_assert_eq(acpi_write(&gm, &m, &e), 0, "%s", e.msg);
	uint64_t fadt, madt, dsdt;
	uint32_t len;
	walk(&fadt, &madt, &dsdt);
	const uint8_t *f = table(fadt, "FACP", &len);
	uint32_t flags = u32_at(f + 112);
	cr_assert(flags & (1u << 20), "hardware-reduced");
	cr_assert(flags & (1u << 10), "reset register supported");
	cr_assert_eq(f[116], 1, "reset register in I/O space");
	cr_assert_eq(u64_at(f + 120), ACPI_RESET_PORT);
	cr_assert_eq(f[128], ACPI_RESET_VALUE);
	cr_assert_eq(u64_at(f + 244 + 4), ACPI_SLEEP_CONTROL_PORT);
	cr_assert_eq(u64_at(f + 256 + 4), ACPI_SLEEP_STATUS_PORT);

	const uint8_t *t = table(madt, "APIC", &len);
	cr_assert_eq(u32_at(t + 36), LAYOUT_LAPIC);
	cr_assert_eq(len, 44 + 4 * 8 + 12, "4 local APICs and the IOAPIC");
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *l = t + 44 + i * 8;
		cr_assert(l[0] == 0 && l[1] == 8 && l[3] == i && u32_at(l + 4) == 1,
			  "local APIC %u", i);
	}
	const uint8_t *io = t + 44 + 32;
	cr_assert(io[0] == 1 && io[1] == 12 && io[2] == 4, "the IOAPIC, id 4 as in the MP table");
	cr_assert_eq(u32_at(io + 4), LAYOUT_IOAPIC);
	cr_assert_eq(u32_at(io + 8), 0, "GSI base 0");

	const uint8_t *d = table(dsdt, "DSDT", &len);
	unsigned found = 0;
	for (uint32_t i = 36; i + 8 <= len; i++)
		found += memcmp(d + i, "LNRO0005", 8) == 0;
	cr_assert_eq(found, 3, "one LNRO0005 device per virtio-mmio slot");
}

Test(acpi, too_many_devices_or_cpus_are_refused)
{
	struct acpi_machine m = machine(1, 0);
	m.ndevices = ACPI_MAX_DEVICES + 1;
	cr_assert_eq(acpi_write(&gm, &m, &e), -1);
	assert_msg_has(e, "ACPI:");
	m = machine(256, 0);
	cr_assert_eq(acpi_write(&gm, &m, &e), -1);
}

/* Runs "iasl -d FILE" in dir; its status (-1: not run). */
static int iasl_d(const char *dir, const char *file)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s >%s.out 2>&1", dir, file, file);
	int st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void dump_table(const char *dir, const char *name, uint64_t gpa)
{
	char path[64];
	uint32_t len;
	const uint8_t *t = table(gpa, name, &len);
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(t, 1, len, f), len);
	fclose(f);
}

Test(acpi, acpica_disassembles_every_table)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		cr_skip_test("iasl (Debian's acpica-tools) is not installed");
	struct acpi_machine m = machine(2, 2);
	cr_assert_eq(acpi_write(&gm, &m, &e), 0, "%s", e.msg);
	uint64_t fadt, madt, dsdt;
	walk(&fadt, &madt, &dsdt);
	char dir[] = "/tmp/ember-acpi.XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	dump_table(dir, "DSDT", dsdt);
	dump_table(dir, "FACP", fadt);
	dump_table(dir, "APIC", madt);
	char path[64];
	static const char *const names[] = { "DSDT", "FACP", "APIC" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s.dat", names[i]);
		int st = iasl_d(dir, path);
		snprintf(path, sizeof(path), "%s/%s.dat.out", dir, names[i]);
		cr_assert_eq(st, 0, "iasl -d %s: status %d: %s", names[i], st, slurp(path));
		cr_assert_null(strstr(slurp(path), "Error"), "%s: %s", names[i], slurp(path));
	}
	snprintf(path, sizeof(path), "%s/DSDT.dsl", dir);
	const char *dsl = slurp(path);
	cr_assert_not_null(strstr(dsl, "Device (COM1)"), "%s", dsl);
	cr_assert_not_null(strstr(dsl, "EisaId (\"PNP0501\")"), "%s", dsl);
	cr_assert_not_null(strstr(dsl, "Device (V001)"), "%s", dsl);
	cr_assert_not_null(strstr(dsl, "\"LNRO0005\""), "%s", dsl);
	cr_assert_not_null(strstr(dsl, "0xC0002000"), "the second device's window: %s", dsl);
	cr_assert_not_null(strstr(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"),
			   "%s", dsl);
	cr_assert_not_null(strstr(dsl, "0x00000006"), "the second device's GSI: %s", dsl);
	cr_assert_not_null(strstr(dsl, "Name (\\_S5, Package"), "%s", dsl);
	snprintf(path, sizeof(path), "%s/FACP.dsl", dir);
	dsl = slurp(path);
	cr_assert_not_null(strstr(dsl, "Hardware Reduced (V5) : 1"), "%s", dsl);
	snprintf(path, sizeof(path), "%s/APIC.dsl", dir);
	dsl = slurp(path);
	cr_assert_not_null(strstr(dsl, "Subtable Type : 01 [I/O APIC]"), "%s", dsl);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_assert_eq(system(path), 0);
}

/* legacy/acpi_pm.c: what the FADT's registers do when a kernel writes them. */
static int stops, stop_status;

static void on_stop(void *ctx, int status)
{
	(void)ctx;
	stops++;
	stop_status = status;
}

Test(acpi, fadt_registers_end_the_vm_on_s5_and_reset_only)
{
	struct bus pio;
	bus_init(&pio, "pio");
	struct vm_host h = { .pio = &pio, .vm_fd = -1, .request_stop = on_stop };
	stops = 0, stop_status = -1;
	cr_assert_eq(acpi_pm_create(&h, &e), 0, "%s", e.msg);
	uint8_t v = 0xff;
	cr_assert(bus_dispatch(&pio, ACPI_SLEEP_STATUS_PORT, &v, 1, false));
	cr_assert_eq(v, 0, "no wake status");
	v = (uint8_t)(3 << 2 | ACPI_SLP_EN); /* S3: ember does not sleep, nor stop */
	bus_dispatch(&pio, ACPI_SLEEP_CONTROL_PORT, &v, 1, true);
	v = (uint8_t)(ACPI_S5_TYPE << 2); /* S5 type without SLP_EN: not yet */
	bus_dispatch(&pio, ACPI_SLEEP_CONTROL_PORT, &v, 1, true);
	v = 0x01; /* not the reset value */
	bus_dispatch(&pio, ACPI_RESET_PORT, &v, 1, true);
	cr_assert_eq(stops, 0);
	v = (uint8_t)(ACPI_S5_TYPE << 2 | ACPI_SLP_EN);
	bus_dispatch(&pio, ACPI_SLEEP_CONTROL_PORT, &v, 1, true);
	cr_assert(stops == 1 && stop_status == 0, "S5 powers off with status 0");
	v = ACPI_RESET_VALUE;
	bus_dispatch(&pio, ACPI_RESET_PORT, &v, 1, true);
	cr_assert(stops == 2 && stop_status == 0, "the reset value resets with status 0");
	bus_destroy(&pio);
}
