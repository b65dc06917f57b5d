/*
 * The i8042 controller: Linux's probe, reboot=k, and Ctrl+Alt+Del through the output
 * FIFO with IRQ 1. Expected bytes: scan code set 2 make codes (Ctrl 0x14, Alt 0x11,
 * Del 0xe0 0x71), the keyboard ACK 0xfa, self-test 0x55 (IBM PC/AT technical reference).
 */
#include "../../lib/metrics.h"
#include "../../legacy/i8042.h"
#include "helpers.h"

static struct i8042 k;
static unsigned resets;
static void *reset_ctx_seen;
static bool irq_level;
static unsigned irq_edges; /* rising edges: what an edge-triggered IOAPIC pin delivers */

static void on_reset(void *ctx)
{
	resets++;
	reset_ctx_seen = ctx;
}

static void on_irq(void *ctx, bool level)
{
	cr_assert_eq(ctx, &k);
	cr_assert_neq(level, irq_level, "set_irq called without a change of level");
	if (level)
		irq_edges++;
	irq_level = level;
}

static void setup(void)
{
	resets = 0;
	reset_ctx_seen = NULL;
	irq_level = false;
	irq_edges = 0;
	memset(&metrics, 0, sizeof(metrics));
	i8042_init(&k, on_reset, on_irq, &k);
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
	i8042_init(&k, NULL, NULL, NULL);
	outb(0x64, 0xfe);
	cr_assert_eq(resets, 0);
}

static void ctrl_alt_del_ok(void)
{
	struct errbuf e = { "" };
	cr_assert_eq(i8042_ctrl_alt_del(&k, &e), 0, "%s", e.msg);
}

static const uint8_t cad[] = { 0x14, 0x11, 0xe0, 0x71 };

Test(i8042, ctrl_alt_del_bytes_in_order_with_obf_until_the_last)
{
	ctrl_alt_del_ok();
	for (size_t i = 0; i < ARRAY_SIZE(cad); i++) {
		cr_assert(inb(0x64) & I8042_STATUS_OBF, "OBF clear with %zu bytes left",
			  ARRAY_SIZE(cad) - i);
		cr_assert_eq(inb(0x60), cad[i], "byte %zu", i);
	}
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0, "OBF still set after the last byte");
	cr_assert_eq(inb(0x60), 0, "an empty buffer reads 0");
}

Test(i8042, ctrl_alt_del_raises_irq1_and_a_new_edge_per_byte_left)
{
	ctrl_alt_del_ok();
	cr_assert(irq_level);
	cr_assert_eq(irq_edges, 1);
	/* Linux reads one byte per interrupt: each read that leaves bytes is a new edge. */
	for (unsigned i = 1; i < ARRAY_SIZE(cad); i++) {
		inb(0x60);
		cr_assert(irq_level, "line low with bytes left after read %u", i);
		cr_assert_eq(irq_edges, 1 + i, "after read %u", i);
	}
	inb(0x60);
	cr_assert_not(irq_level, "line still high with the buffer empty");
	cr_assert_eq(irq_edges, ARRAY_SIZE(cad));
}

Test(i8042, status_reads_do_not_pop_or_pulse)
{
	ctrl_alt_del_ok();
	for (int i = 0; i < 5; i++)
		cr_assert(inb(0x64) & I8042_STATUS_OBF);
	cr_assert_eq(irq_edges, 1);
	cr_assert_eq(inb(0x60), cad[0]);
}

Test(i8042, two_sequences_queue_back_to_back)
{
	ctrl_alt_del_ok();
	ctrl_alt_del_ok();
	cr_assert_eq(irq_edges, 1, "the line was already high for the second");
	for (size_t i = 0; i < 2 * ARRAY_SIZE(cad); i++)
		cr_assert_eq(inb(0x60), cad[i % ARRAY_SIZE(cad)], "byte %zu", i);
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0);
}

Test(i8042, overflow_refuses_the_whole_sequence)
{
	/* 16 bytes hold four sequences; the fifth must not queue a partial one. */
	for (int i = 0; i < I8042_BUF_SIZE / 4; i++)
		ctrl_alt_del_ok();
	struct errbuf e = { "" };
	cr_assert_eq(i8042_ctrl_alt_del(&k, &e), -1);
	assert_msg_has(e, "buffer full");
	cr_assert_eq(metrics.i8042.error_count, 1);
	for (int i = 0; i < I8042_BUF_SIZE; i++)
		cr_assert_eq(inb(0x60), cad[i % 4], "byte %d", i);
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0, "more than 16 bytes were queued");
}

Test(i8042, partial_room_refuses_too)
{
	for (int i = 0; i < I8042_BUF_SIZE / 4; i++)
		ctrl_alt_del_ok();
	inb(0x60);
	inb(0x60);
	inb(0x60); /* 3 free: still not enough for 4 */
	struct errbuf e = { "" };
	cr_assert_eq(i8042_ctrl_alt_del(&k, &e), -1);
	inb(0x60); /* 4 free: the FIFO wraps */
	ctrl_alt_del_ok();
	for (int i = 4; i < I8042_BUF_SIZE + 4; i++)
		cr_assert_eq(inb(0x60), cad[i % 4], "byte %d", i);
}

Test(i8042, no_irq_while_the_ctr_disables_it_then_on_enable)
{
	outb(0x64, 0x60);
	outb(0x60, I8042_CTR_POST_OK); /* keyboard interrupt off */
	ctrl_alt_del_ok();
	cr_assert_eq(irq_edges, 0);
	cr_assert(inb(0x64) & I8042_STATUS_OBF, "the bytes still wait, polled");
	outb(0x64, 0x60);
	outb(0x60, I8042_CTR_POST_OK | I8042_CTR_KBD_INT);
	cr_assert_eq(irq_edges, 1, "enabling with bytes pending raises the line");
	cr_assert_eq(inb(0x60), cad[0]);
}

Test(i8042, default_ctr_has_kbd_interrupt_and_no_translation)
{
	outb(0x64, 0x20);
	uint8_t ctr = inb(0x60);
	cr_assert(ctr & I8042_CTR_KBD_INT);
	cr_assert_eq(ctr & I8042_CTR_XLATE, 0, "set-2 codes need translation off");
}

Test(i8042, keyboard_command_is_acknowledged_with_an_interrupt)
{
	outb(0x60, 0xed); /* set LEDs */
	cr_assert_eq(irq_edges, 1);
	cr_assert_eq(inb(0x60), I8042_KBD_ACK);
	outb(0x60, 0x02); /* the LED byte */
	cr_assert_eq(inb(0x60), I8042_KBD_ACK);
	cr_assert_eq(irq_edges, 2);
}

Test(i8042, command_parameters_are_not_keyboard_bytes)
{
	uint8_t cmds[] = { 0xd1, 0xd2, 0xd3, 0xd4 };
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		outb(0x64, cmds[i]);
		cr_assert(inb(0x64) & I8042_STATUS_CMD_DATA, "command 0x%x", cmds[i]);
		outb(0x60, 0xdf);
		cr_assert_eq(inb(0x64) & (I8042_STATUS_OBF | I8042_STATUS_CMD_DATA), 0,
			     "command 0x%x: its parameter was answered", cmds[i]);
	}
}

Test(i8042, controller_reply_replaces_queued_keys)
{
	ctrl_alt_del_ok();
	outb(0x64, 0xaa);
	cr_assert_eq(inb(0x60), 0x55);
	cr_assert_eq(inb(0x64) & I8042_STATUS_OBF, 0);
}

Test(i8042, counters)
{
	outb(0x64, 0xaa);
	inb(0x64);
	inb(0x60);
	outb(0x64, 0xfe);
	inb(0x61);
	outb(0x62, 1);
	uint16_t wide = 0;
	i8042_pio(&k, 0, (uint8_t *)&wide, 2, false);
	cr_assert_eq(wide, 0xffff, "a 2-byte read is not ours");
	cr_assert_eq(metrics.i8042.write_count, 2);
	cr_assert_eq(metrics.i8042.read_count, 2);
	cr_assert_eq(metrics.i8042.reset_count, 1);
	cr_assert_eq(metrics.i8042.missed_read_count, 2);
	cr_assert_eq(metrics.i8042.missed_write_count, 1);
	cr_assert_eq(metrics.i8042.error_count, 0);
}
