/* The i8042 controller: enough of it for Linux's probe and reboot=k. */
#include "../../vcpu/i8042.h"
#include "helpers.h"

static struct i8042 k;
static unsigned resets;
static void *reset_ctx_seen;

static void on_reset(void *ctx)
{
	resets++;
	reset_ctx_seen = ctx;
}

static void setup(void)
{
	resets = 0;
	reset_ctx_seen = NULL;
	i8042_init(&k, on_reset, &k);
}

static void outb(uint16_t port, uint8_t v)
{
	i8042_pio(&k, port - I8042_DATA_PORT, &v, 1, true);
}

static uint8_t inb(uint16_t port)
{
	uint8_t v = 0x5c;
	i8042_pio(&k, port - I8042_DATA_PORT, &v, 1, false);
	return v;
}

TestSuite(i8042, .init = setup);

Test(i8042, output_buffer_empty_at_start)
{
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0);
}

Test(i8042, self_test_answers_0x55)
{
	outb(0x64, 0xaa);
	cr_assert(inb(0x64) & I8042_STATUS_OBF, "self-test result not in the output buffer");
	cr_assert_eq(inb(0x60), 0x55);
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0, "reading the data port empties it");
}

Test(i8042, controller_configuration_round_trip)
{
	outb(0x64, 0x60);
	outb(0x60, 0x47);
	outb(0x64, 0x20);
	cr_assert(inb(0x64) & I8042_STATUS_OBF);
	cr_assert_eq(inb(0x60), 0x47);
}

Test(i8042, data_write_without_command_leaves_ctr)
{
	outb(0x64, 0x20);
	uint8_t before = inb(0x60);
	outb(0x60, (uint8_t)~before);
	outb(0x64, 0x20);
	cr_assert_eq(inb(0x60), before);
}

Test(i8042, only_the_next_data_byte_is_the_ctr)
{
	outb(0x64, 0x60);
	outb(0x60, 0x11);
	outb(0x60, 0x22);
	outb(0x64, 0x20);
	cr_assert_eq(inb(0x60), 0x11);
}

Test(i8042, reset_command_pulses_reset)
{
	outb(0x64, 0xfe);
	cr_assert_eq(resets, 1);
	cr_assert_eq(reset_ctx_seen, &k);
}

Test(i8042, other_commands_do_not_reset)
{
	uint8_t cmds[] = { 0x20, 0xaa, 0xad, 0xae, 0xa7, 0xa8, 0xd1, 0xff, 0xf0 };
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		outb(0x64, cmds[i]);
	cr_assert_eq(resets, 0);
}

Test(i8042, ports_between_data_and_command_read_all_ones)
{
	cr_assert_eq(inb(0x61), 0xff);
	cr_assert_eq(inb(0x62), 0xff);
	cr_assert_eq(inb(0x63), 0xff);
}

Test(i8042, reset_without_callback_is_harmless)
{
	i8042_init(&k, NULL, NULL);
	outb(0x64, 0xfe);
	cr_assert_eq(resets, 0);
}
