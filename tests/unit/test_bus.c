/* The PIO/MMIO bus: range registration and dispatch to device handlers. */
#include <stdio.h>

#include "../../vcpu/bus.h"
#include "helpers.h"

struct call {
	unsigned n;
	void *opaque;
	uint64_t offset;
	uint32_t size;
	bool is_write;
	uint8_t data[8];
};

static struct call last;

/* Records the access; reads return 0x10 + offset in each byte. */
static void handler(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	last.n++;
	last.opaque = opaque;
	last.offset = offset;
	last.size = size;
	last.is_write = is_write;
	if (is_write) {
		memcpy(last.data, data, size);
	} else {
		for (uint32_t i = 0; i < size; i++)
			data[i] = (uint8_t)(0x10 + offset + i);
	}
}

static struct bus bus;

static void setup(void)
{
	memset(&last, 0, sizeof(last));
	bus_init(&bus, "pio");
}

static void teardown(void)
{
	bus_destroy(&bus);
}

static void reg(uint64_t base, uint64_t len, void *opaque, const char *name)
{
	struct errbuf e = { "" };
	cr_assert_eq(bus_register(&bus, base, len, handler, opaque, name, &e), 0, "%s", e.msg);
}

TestSuite(bus, .init = setup, .fini = teardown);

Test(bus, write_reaches_handler_with_offset)
{
	int dev;
	reg(0x3f8, 8, &dev, "serial");
	uint8_t d[2] = { 0x42, 0x43 };
	cr_assert(bus_dispatch(&bus, 0x3fa, d, 2, true));
	cr_assert_eq(last.n, 1);
	cr_assert_eq(last.opaque, &dev);
	cr_assert_eq(last.offset, 2, "offset is relative to the range base");
	cr_assert_eq(last.size, 2);
	cr_assert(last.is_write);
	cr_assert_arr_eq(last.data, d, 2);
}

Test(bus, read_returns_handler_data)
{
	reg(0x60, 5, NULL, "i8042");
	uint8_t d[1] = { 0 };
	cr_assert(bus_dispatch(&bus, 0x64, d, 1, false));
	cr_assert_not(last.is_write);
	cr_assert_eq(last.offset, 4);
	cr_assert_eq(d[0], 0x14);
}

Test(bus, unclaimed_read_returns_all_ones)
{
	reg(0x60, 5, NULL, "i8042");
	uint8_t d[4] = { 1, 2, 3, 4 };
	cr_assert_not(bus_dispatch(&bus, 0x80, d, 4, false));
	uint8_t ones[4] = { 0xff, 0xff, 0xff, 0xff };
	cr_assert_arr_eq(d, ones, 4);
	cr_assert_eq(last.n, 0);
}

Test(bus, unclaimed_write_calls_nobody)
{
	reg(0x60, 5, NULL, "i8042");
	uint8_t d[1] = { 9 };
	cr_assert_not(bus_dispatch(&bus, 0x5f, d, 1, true));
	cr_assert_not(bus_dispatch(&bus, 0x65, d, 1, true));
	cr_assert_eq(last.n, 0);
	cr_assert_eq(d[0], 9, "a write's data is not changed");
}

Test(bus, empty_bus_claims_nothing)
{
	uint8_t d[2] = { 0, 0 };
	cr_assert_not(bus_dispatch(&bus, 0, d, 2, false));
	cr_assert_eq(d[0], 0xff);
	cr_assert_eq(d[1], 0xff);
	cr_assert_null(bus_find(&bus, 0));
}

Test(bus, access_running_past_end_of_range_is_unclaimed)
{
	reg(0x60, 5, NULL, "i8042");
	reg(0x65, 3, NULL, "next");
	uint8_t d[4] = { 0 };
	cr_assert_not(bus_dispatch(&bus, 0x63, d, 4, false), "0x63-0x66 spans two devices");
	cr_assert_eq(d[0], 0xff);
	cr_assert_eq(d[3], 0xff);
	cr_assert_eq(last.n, 0);
	cr_assert(bus_dispatch(&bus, 0x61, d, 4, false), "0x61-0x64 lies inside");
	cr_assert_eq(last.offset, 1);
}

Test(bus, rejects_overlap_with_lower_neighbour)
{
	reg(0x100, 0x10, NULL, "low");
	reg(0x200, 0x10, NULL, "high");
	struct errbuf e = { "" };
	cr_assert_eq(bus_register(&bus, 0x10f, 2, handler, NULL, "new", &e), -1);
	assert_msg_has(e, "new");
	assert_msg_has(e, "low");
}

Test(bus, rejects_overlap_with_upper_neighbour)
{
	reg(0x100, 0x10, NULL, "low");
	reg(0x200, 0x10, NULL, "high");
	struct errbuf e = { "" };
	cr_assert_eq(bus_register(&bus, 0x1ff, 2, handler, NULL, "new", &e), -1);
	assert_msg_has(e, "new");
	assert_msg_has(e, "high");
}

Test(bus, rejects_same_base_and_enclosing_ranges)
{
	reg(0x100, 0x10, NULL, "low");
	struct errbuf e = { "" };
	cr_assert_eq(bus_register(&bus, 0x100, 1, handler, NULL, "same", &e), -1);
	cr_assert_eq(bus_register(&bus, 0x104, 2, handler, NULL, "inside", &e), -1);
	cr_assert_eq(bus_register(&bus, 0x0, 0x1000, handler, NULL, "around", &e), -1);
	cr_assert_eq(bus.n, 1, "a rejected range was added");
}

Test(bus, accepts_adjacent_ranges)
{
	reg(0x100, 0x10, NULL, "low");
	reg(0x200, 0x10, NULL, "high");
	reg(0x110, 0xf0, NULL, "between"); /* fills the gap exactly */
	cr_assert_eq(bus.n, 3);
	cr_assert_str_eq(bus_find(&bus, 0x10f)->name, "low");
	cr_assert_str_eq(bus_find(&bus, 0x110)->name, "between");
	cr_assert_str_eq(bus_find(&bus, 0x1ff)->name, "between");
	cr_assert_str_eq(bus_find(&bus, 0x200)->name, "high");
}

Test(bus, rejects_empty_and_wrapping_ranges)
{
	struct errbuf e = { "" };
	cr_assert_eq(bus_register(&bus, 0x100, 0, handler, NULL, "empty", &e), -1);
	assert_msg_has(e, "empty");
	cr_assert_eq(bus_register(&bus, UINT64_MAX - 1, 4, handler, NULL, "wraps", &e), -1);
	assert_msg_has(e, "wraps");
	cr_assert_eq(bus.n, 0);
}

Test(bus, many_ranges_registered_out_of_order_are_all_found)
{
	enum { N = 1000 };
	static int devs[N];
	static char names[N][8];
	/* 7919 is prime and coprime with N: a permutation of 0..N-1. */
	for (unsigned k = 0; k < N; k++) {
		unsigned i = (k * 7919) % N;
		snprintf(names[i], sizeof(names[i]), "d%u", i);
		reg(0x10000 + i * 16, 8, &devs[i], names[i]);
	}
	cr_assert_eq(bus.n, N);
	for (unsigned i = 0; i < N; i++) {
		uint64_t base = 0x10000 + i * 16;
		const struct bus_range *r = bus_find(&bus, base + 3);
		cr_assert_not_null(r, "range %u not found", i);
		cr_assert_eq(r->opaque, &devs[i], "address in range %u found range %s", i, r->name);
		cr_assert_eq(bus_find(&bus, base)->opaque, &devs[i]);
		cr_assert_eq(bus_find(&bus, base + 7)->opaque, &devs[i]);
		cr_assert_null(bus_find(&bus, base + 8), "gap after range %u claimed", i);
		cr_assert_null(bus_find(&bus, base + 15));
	}
	cr_assert_null(bus_find(&bus, 0xffff));
	cr_assert_null(bus_find(&bus, UINT64_MAX));

	uint8_t d[1] = { 0x5a };
	cr_assert(bus_dispatch(&bus, 0x10000 + 777 * 16 + 5, d, 1, true));
	cr_assert_eq(last.opaque, &devs[777]);
	cr_assert_eq(last.offset, 5);
}
