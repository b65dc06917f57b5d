/*
 * The user-space IOAPIC (82093AA register model) driven through its MMIO window, with
 * fake ops that record the MSIs it sends and the routes it publishes.
 */
#include "../../vcpu/ioapic.h"
#include "helpers.h"

#define REG_ID 0x00
#define REG_VER 0x01
#define REG_REDIR_LO(pin) (0x10 + 2 * (pin))
#define REG_REDIR_HI(pin) (0x10 + 2 * (pin) + 1)

/* Redirection entry low dword (82093AA datasheet, 3.2.4). */
#define LO_DELMODE(m) ((uint32_t)(m) << 8)
#define LO_LOGICAL (1u << 11)
#define LO_DELIVS (1u << 12)
#define LO_REMOTE_IRR (1u << 14)
#define LO_LEVEL (1u << 15)
#define LO_MASKED (1u << 16)
#define HI_DEST(d) ((uint32_t)(d) << 24)

struct msi {
	uint64_t addr;
	uint32_t data;
};

static struct {
	unsigned nmsi;
	struct msi msi[32];
	unsigned nroutes_changed;
	struct ioapic_route routes[IOAPIC_NUM_PINS];
} rec;

static void fake_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	cr_assert_eq(ctx, &rec);
	if (rec.nmsi < ARRAY_SIZE(rec.msi))
		rec.msi[rec.nmsi] = (struct msi){ addr, data };
	rec.nmsi++;
}

static void fake_routes_changed(void *ctx, const struct ioapic_route routes[IOAPIC_NUM_PINS])
{
	cr_assert_eq(ctx, &rec);
	rec.nroutes_changed++;
	memcpy(rec.routes, routes, sizeof(rec.routes));
}

static const struct ioapic_ops ops = { fake_send_msi, fake_routes_changed };
static struct ioapic io;

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	ioapic_init(&io, 3, &ops, &rec);
}

static void mmio_write32(uint64_t off, uint32_t v)
{
	uint8_t d[4];
	memcpy(d, &v, 4);
	ioapic_mmio(&io, off, d, 4, true);
}

static uint32_t mmio_read32(uint64_t off)
{
	uint8_t d[4] = { 0xde, 0xad, 0xbe, 0xef };
	ioapic_mmio(&io, off, d, 4, false);
	uint32_t v;
	memcpy(&v, d, 4);
	return v;
}

static void reg_write(uint32_t reg, uint32_t v)
{
	mmio_write32(0x00, reg);
	mmio_write32(0x10, v);
}

static uint32_t reg_read(uint32_t reg)
{
	mmio_write32(0x00, reg);
	return mmio_read32(0x10);
}

/* Programs pin the way Linux does: high dword (destination) first, then the low. */
static void program(unsigned pin, uint32_t lo, uint8_t dest)
{
	reg_write(REG_REDIR_HI(pin), HI_DEST(dest));
	reg_write(REG_REDIR_LO(pin), lo);
}

TestSuite(ioapic, .init = setup);

Test(ioapic, version_register)
{
	uint32_t v = reg_read(REG_VER);
	cr_assert_eq(v & 0xff, 0x11, "82093AA version");
	cr_assert_eq((v >> 16) & 0xff, 23, "24 pins: maximum redirection entry 23");
}

Test(ioapic, id_register_holds_the_id)
{
	cr_assert_eq((reg_read(REG_ID) >> 24) & 0xf, 3);
	reg_write(REG_ID, 0x0a000000);
	cr_assert_eq((reg_read(REG_ID) >> 24) & 0xf, 0x0a);
}

Test(ioapic, ioregsel_reads_back)
{
	mmio_write32(0x00, 0x13);
	cr_assert_eq(mmio_read32(0x00), 0x13);
}

Test(ioapic, pins_start_masked)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		cr_assert(reg_read(REG_REDIR_LO(pin)) & LO_MASKED, "pin %u not masked at reset", pin);
}

Test(ioapic, redirection_entry_reads_back)
{
	program(7, 0x41 | LO_LEVEL, 0x12);
	cr_assert_eq(reg_read(REG_REDIR_LO(7)), 0x41 | LO_LEVEL);
	cr_assert_eq(reg_read(REG_REDIR_HI(7)), HI_DEST(0x12));
	cr_assert(reg_read(REG_REDIR_LO(6)) & LO_MASKED, "neighbouring pin changed");
}

Test(ioapic, programming_publishes_routes)
{
	program(4, 0x31, 2);
	cr_assert_geq(rec.nroutes_changed, 1, "routes_changed was not called");
	const struct ioapic_route *r = &rec.routes[4];
	cr_assert_eq(r->addr, 0xFEE00000ULL | (2 << 12), "MSI address 0x%llx",
		     (unsigned long long)r->addr);
	cr_assert_eq(r->data, 0x31, "MSI data 0x%x", r->data);
	cr_assert_not(r->masked);
	cr_assert(rec.routes[5].masked, "untouched pins are published masked");
}

Test(ioapic, route_carries_delivery_mode_and_trigger)
{
	program(9, 0x52 | LO_DELMODE(1) | LO_LEVEL, 0x0f);
	const struct ioapic_route *r = &rec.routes[9];
	cr_assert_eq(r->addr, 0xFEE00000ULL | (0x0f << 12));
	cr_assert_eq(r->data, 0x52 | (1 << 8) | (1 << 15), "MSI data 0x%x", r->data);
}

Test(ioapic, route_of_logical_destination_sets_dm)
{
	program(1, 0x60 | LO_LOGICAL, 0x01);
	/* MSI address bit 2: destination mode (SDM vol. 3, 11.11.1). */
	cr_assert_eq(rec.routes[1].addr, 0xFEE00000ULL | (1 << 12) | (1 << 2));
}

Test(ioapic, masking_is_published)
{
	program(4, 0x31, 0);
	reg_write(REG_REDIR_LO(4), 0x31 | LO_MASKED);
	cr_assert(rec.routes[4].masked);
}

Test(ioapic, masked_pin_does_not_fire)
{
	ioapic_set_irq(&io, 4, true);
	cr_assert_eq(rec.nmsi, 0);
	program(5, 0x35 | LO_MASKED, 0);
	ioapic_set_irq(&io, 5, true);
	cr_assert_eq(rec.nmsi, 0);
}

Test(ioapic, edge_pin_fires_once_per_rising_edge)
{
	program(4, 0x30, 1);
	ioapic_set_irq(&io, 4, true);
	cr_assert_eq(rec.nmsi, 1);
	cr_assert_eq(rec.msi[0].addr, 0xFEE00000ULL | (1 << 12));
	cr_assert_eq(rec.msi[0].data, 0x30);
	ioapic_set_irq(&io, 4, true);
	cr_assert_eq(rec.nmsi, 1, "still high is not a new edge");
	ioapic_set_irq(&io, 4, false);
	cr_assert_eq(rec.nmsi, 1, "a falling edge does not fire");
	ioapic_set_irq(&io, 4, true);
	cr_assert_eq(rec.nmsi, 2);
	cr_assert_eq(rec.msi[1].data, 0x30);
}

Test(ioapic, edge_pin_has_no_remote_irr)
{
	program(4, 0x30, 0);
	ioapic_set_irq(&io, 4, true);
	cr_assert_eq(reg_read(REG_REDIR_LO(4)) & LO_REMOTE_IRR, 0);
}

Test(ioapic, level_pin_sets_remote_irr_and_waits_for_eoi)
{
	program(10, 0x40 | LO_LEVEL, 0);
	ioapic_set_irq(&io, 10, true);
	cr_assert_eq(rec.nmsi, 1);
	cr_assert_eq(rec.msi[0].data, 0x40 | (1 << 15));
	cr_assert(reg_read(REG_REDIR_LO(10)) & LO_REMOTE_IRR, "remote IRR not set on delivery");
	ioapic_set_irq(&io, 10, true);
	cr_assert_eq(rec.nmsi, 1, "must not re-fire while remote IRR is set");
}

Test(ioapic, eoi_with_line_still_high_refires)
{
	program(10, 0x40 | LO_LEVEL, 0);
	ioapic_set_irq(&io, 10, true);
	ioapic_eoi(&io, 0x40);
	cr_assert_eq(rec.nmsi, 2, "line still high after EOI: deliver again");
	cr_assert(reg_read(REG_REDIR_LO(10)) & LO_REMOTE_IRR, "and remote IRR is set again");
}

Test(ioapic, eoi_with_line_low_clears_irr_without_firing)
{
	program(10, 0x40 | LO_LEVEL, 0);
	ioapic_set_irq(&io, 10, true);
	ioapic_set_irq(&io, 10, false);
	cr_assert(reg_read(REG_REDIR_LO(10)) & LO_REMOTE_IRR, "the device going low is no EOI");
	ioapic_eoi(&io, 0x40);
	cr_assert_eq(rec.nmsi, 1);
	cr_assert_eq(reg_read(REG_REDIR_LO(10)) & LO_REMOTE_IRR, 0);
	ioapic_set_irq(&io, 10, true);
	cr_assert_eq(rec.nmsi, 2, "fires again on the next assertion");
}

Test(ioapic, eoi_for_another_vector_is_ignored)
{
	program(10, 0x40 | LO_LEVEL, 0);
	ioapic_set_irq(&io, 10, true);
	ioapic_eoi(&io, 0x41);
	cr_assert_eq(rec.nmsi, 1);
	cr_assert(reg_read(REG_REDIR_LO(10)) & LO_REMOTE_IRR);
}

Test(ioapic, unmasking_level_pin_with_line_high_fires)
{
	program(11, 0x44 | LO_LEVEL | LO_MASKED, 0);
	ioapic_set_irq(&io, 11, true);
	cr_assert_eq(rec.nmsi, 0);
	reg_write(REG_REDIR_LO(11), 0x44 | LO_LEVEL);
	cr_assert_eq(rec.nmsi, 1, "a pending level interrupt is delivered on unmask");
	cr_assert_eq(rec.msi[0].data, 0x44 | (1 << 15));
}

Test(ioapic, unmasking_level_pin_with_line_low_does_not_fire)
{
	program(11, 0x44 | LO_LEVEL | LO_MASKED, 0);
	reg_write(REG_REDIR_LO(11), 0x44 | LO_LEVEL);
	cr_assert_eq(rec.nmsi, 0);
}

Test(ioapic, edge_on_masked_pin_is_lost)
{
	/* 82093AA: edges signalled on a masked pin are neither delivered nor held. */
	program(12, 0x48 | LO_MASKED, 0);
	ioapic_set_irq(&io, 12, true);
	reg_write(REG_REDIR_LO(12), 0x48);
	cr_assert_eq(rec.nmsi, 0);
}

Test(ioapic, read_only_bits_cannot_be_set)
{
	program(13, 0x50 | LO_LEVEL | LO_DELIVS | LO_REMOTE_IRR, 0);
	uint32_t lo = reg_read(REG_REDIR_LO(13));
	cr_assert_eq(lo & (LO_DELIVS | LO_REMOTE_IRR), 0, "low dword 0x%x", lo);
	cr_assert_eq(lo & 0xff, 0x50, "the writable bits were still written");
	ioapic_set_irq(&io, 13, true);
	cr_assert_eq(rec.nmsi, 1, "a forged remote IRR would block delivery");
}

Test(ioapic, read_only_bits_cannot_be_cleared)
{
	program(13, 0x50 | LO_LEVEL, 0);
	ioapic_set_irq(&io, 13, true);
	cr_assert(reg_read(REG_REDIR_LO(13)) & LO_REMOTE_IRR);
	reg_write(REG_REDIR_LO(13), 0x50 | LO_LEVEL); /* remote IRR bit written as 0 */
	cr_assert(reg_read(REG_REDIR_LO(13)) & LO_REMOTE_IRR, "guest cleared remote IRR");
	cr_assert_eq(rec.nmsi, 1);
}

Test(ioapic, out_of_range_pin_is_ignored)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		program(pin, 0x30 + pin, 0);
	ioapic_set_irq(&io, IOAPIC_NUM_PINS, true);
	ioapic_set_irq(&io, 31, true);
	ioapic_set_irq(&io, 32, true);
	ioapic_set_irq(&io, 1000, true);
	cr_assert_eq(rec.nmsi, 0);
	/* And no in-range pin was marked high by it: pin 0 still sees a rising edge. */
	ioapic_set_irq(&io, 0, true);
	cr_assert_eq(rec.nmsi, 1);
}

Test(ioapic, unknown_offset_reads_zero)
{
	cr_assert_eq(mmio_read32(0x20), 0);
	cr_assert_eq(mmio_read32(0x40), 0);
}

Test(ioapic, registers_past_the_table_read_zero)
{
	cr_assert_eq(reg_read(0x10 + 2 * IOAPIC_NUM_PINS), 0);
	reg_write(0x10 + 2 * IOAPIC_NUM_PINS, 0x1234);
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		cr_assert(reg_read(REG_REDIR_LO(pin)) & LO_MASKED, "pin %u changed", pin);
}
