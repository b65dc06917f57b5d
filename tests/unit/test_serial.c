/*
 * The 16550A register model: what the guest reads and writes at COM1's eight ports,
 * what comes out of the output fd (a pipe here) and how the IRQ line moves.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../legacy/serial.h"
#include "helpers.h"

struct irq_rec {
	unsigned changes;
	bool level;
};

static struct serial s;
static struct irq_rec irq;
static int pipefd[2];

static void record_irq(void *ctx, bool level)
{
	struct irq_rec *r = ctx;
	r->changes++;
	r->level = level;
}

static void setup(void)
{
	memset(&irq, 0, sizeof(irq));
	cr_assert_eq(pipe2(pipefd, O_NONBLOCK), 0);
	serial_init(&s, pipefd[1], record_irq, &irq);
}

static void teardown(void)
{
	close(pipefd[0]);
	close(pipefd[1]);
}

static void out8(unsigned reg, uint8_t v)
{
	serial_pio(&s, reg, &v, 1, true);
}

static uint8_t in8(unsigned reg)
{
	uint8_t v = 0x5c;
	serial_pio(&s, reg, &v, 1, false);
	return v;
}

/* What the UART has transmitted so far (NUL-terminated, at most cap - 1 bytes). */
static size_t drain(char *buf, size_t cap)
{
	ssize_t n = read(pipefd[0], buf, cap - 1);
	if (n < 0) {
		cr_assert_eq(errno, EAGAIN);
		n = 0;
	}
	buf[n] = 0;
	return (size_t)n;
}

static void push(const char *str)
{
	size_t n = strlen(str);
	cr_assert_eq(serial_rx_push(&s, (const uint8_t *)str, n), n);
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, thr_write_is_transmitted)
{
	out8(UART_THR, 'h');
	out8(UART_THR, 'i');
	out8(UART_THR, '\n');
	char buf[16];
	cr_assert_eq(drain(buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "hi\n");
}

Test(serial, lsr_says_transmitter_empty_and_no_data)
{
	uint8_t lsr = in8(UART_LSR);
	cr_assert_eq(lsr & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(lsr & UART_LSR_DR, 0);
	out8(UART_THR, 'x');
	lsr = in8(UART_LSR);
	cr_assert_eq(lsr & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT,
		     "transmission is instant: THR is empty again");
}

Test(serial, no_interrupt_while_ier_is_zero)
{
	out8(UART_THR, 'x');
	push("abc");
	cr_assert_eq(irq.changes, 0);
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_NO_INT);
}

Test(serial, enabling_thri_raises_irq_and_iir_read_clears_it)
{
	out8(UART_IER, UART_IER_THRI);
	cr_assert(irq.level, "THR is empty: enabling its interrupt must raise the line");
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_THRI);
	cr_assert_not(irq.level, "reading IIR acknowledges THR-empty");
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_NO_INT);
	cr_assert_eq(irq.changes, 2);
}

Test(serial, thr_write_raises_thri_again)
{
	out8(UART_IER, UART_IER_THRI);
	in8(UART_IIR);
	cr_assert_not(irq.level);
	out8(UART_THR, 'x');
	cr_assert(irq.level);
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_THRI);
	cr_assert_not(irq.level);
}

Test(serial, disabling_ier_drops_the_line)
{
	out8(UART_IER, UART_IER_THRI);
	cr_assert(irq.level);
	out8(UART_IER, 0);
	cr_assert_not(irq.level);
}

Test(serial, ier_upper_bits_read_as_zero)
{
	out8(UART_IER, 0xf0);
	cr_assert_eq(in8(UART_IER), 0);
}

Test(serial, received_bytes_set_data_ready)
{
	push("ok");
	cr_assert(in8(UART_LSR) & UART_LSR_DR);
	cr_assert_eq(in8(UART_RBR), 'o');
	cr_assert(in8(UART_LSR) & UART_LSR_DR);
	cr_assert_eq(in8(UART_RBR), 'k');
	cr_assert_eq(in8(UART_LSR) & UART_LSR_DR, 0);
}

Test(serial, rdi_raises_irq_until_fifo_is_drained)
{
	out8(UART_IER, UART_IER_RDI);
	cr_assert_not(irq.level);
	push("xyz");
	cr_assert(irq.level);
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_RDI);
	cr_assert(irq.level, "reading IIR does not acknowledge received data");
	cr_assert_eq(in8(UART_RBR), 'x');
	cr_assert_eq(in8(UART_RBR), 'y');
	cr_assert(irq.level);
	cr_assert_eq(in8(UART_RBR), 'z');
	cr_assert_not(irq.level);
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_NO_INT);
}

Test(serial, rdi_takes_priority_over_thri)
{
	out8(UART_IER, UART_IER_RDI | UART_IER_THRI);
	push("a");
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_RDI);
	cr_assert_eq(in8(UART_RBR), 'a');
	/* THR-empty was not acknowledged by the IIR read that showed RDI. */
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_THRI);
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_NO_INT);
	cr_assert_not(irq.level);
}

Test(serial, fifo_holds_64_bytes_and_refuses_more)
{
	uint8_t in[100];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	cr_assert_eq(serial_rx_push(&s, in, sizeof(in)), 64);
	cr_assert_eq(serial_rx_push(&s, in, 1), 0, "a full FIFO takes nothing");
	for (size_t i = 0; i < 64; i++)
		cr_assert_eq(in8(UART_RBR), in[i], "byte %zu", i);
	cr_assert_eq(in8(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(serial_rx_push(&s, in + 64, 36), 36, "room again once drained");
	cr_assert_eq(in8(UART_RBR), 65);
}

Test(serial, fifo_wraps_around)
{
	uint8_t b[40];
	for (unsigned round = 0; round < 5; round++) {
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(round * 40 + i);
		cr_assert_eq(serial_rx_push(&s, b, sizeof(b)), sizeof(b));
		for (size_t i = 0; i < sizeof(b); i++)
			cr_assert_eq(in8(UART_RBR), b[i], "round %u byte %zu", round, i);
	}
}

Test(serial, dlab_exposes_divisor_latch)
{
	out8(UART_IER, UART_IER_RDI);
	out8(UART_LCR, UART_LCR_DLAB | 0x03);
	out8(UART_DLL, 0x0c);
	out8(UART_DLM, 0x01);
	cr_assert_eq(in8(UART_DLL), 0x0c);
	cr_assert_eq(in8(UART_DLM), 0x01);
	char buf[8];
	cr_assert_eq(drain(buf, sizeof(buf)), 0, "a DLL write is not a transmitted byte");
	out8(UART_LCR, 0x03);
	cr_assert_eq(in8(UART_IER), UART_IER_RDI, "a DLM write must not change IER");
	cr_assert_eq(in8(UART_LCR), 0x03);
	out8(UART_THR, 'q');
	cr_assert_eq(drain(buf, sizeof(buf)), 1);
	cr_assert_eq(buf[0], 'q');
	out8(UART_LCR, UART_LCR_DLAB);
	cr_assert_eq(in8(UART_DLL), 0x0c, "THR write must not change DLL");
}

Test(serial, dlab_read_does_not_consume_rx)
{
	push("r");
	out8(UART_LCR, UART_LCR_DLAB);
	in8(UART_DLL);
	out8(UART_LCR, 0);
	cr_assert_eq(in8(UART_RBR), 'r');
}

Test(serial, loopback_sends_thr_to_rx_not_out_fd)
{
	out8(UART_MCR, UART_MCR_LOOP);
	out8(UART_THR, 'L');
	char buf[8];
	cr_assert_eq(drain(buf, sizeof(buf)), 0, "loopback bytes must not leave the UART");
	cr_assert(in8(UART_LSR) & UART_LSR_DR);
	cr_assert_eq(in8(UART_RBR), 'L');
	out8(UART_MCR, 0);
	out8(UART_THR, 'M');
	cr_assert_eq(drain(buf, sizeof(buf)), 1);
	cr_assert_eq(buf[0], 'M');
}

Test(serial, loopback_msr_reflects_mcr)
{
	/* 16550: DTR->DSR(5), RTS->CTS(4), OUT1->RI(6), OUT2->DCD(7). */
	struct { uint8_t mcr, msr_hi; } cases[] = {
		{ 0x00, 0x00 }, { 0x01, 0x20 }, { 0x02, 0x10 }, { 0x04, 0x40 },
		{ 0x08, 0x80 }, { 0x0f, 0xf0 }, { 0x05, 0x60 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		out8(UART_MCR, UART_MCR_LOOP | cases[i].mcr);
		cr_assert_eq(in8(UART_MSR) & 0xf0, cases[i].msr_hi, "MCR 0x%02x", cases[i].mcr);
	}
}

Test(serial, msr_without_loopback_looks_connected)
{
	uint8_t msr = in8(UART_MSR);
	cr_assert_eq(msr & (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS),
		     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

Test(serial, loopback_overrun_sets_oe_once)
{
	out8(UART_MCR, UART_MCR_LOOP);
	for (int i = 0; i < 64; i++)
		out8(UART_THR, (uint8_t)i);
	cr_assert_eq(in8(UART_LSR) & UART_LSR_OE, 0);
	out8(UART_THR, 0xee);
	cr_assert(in8(UART_LSR) & UART_LSR_OE, "65th byte into a full FIFO is an overrun");
	cr_assert_eq(in8(UART_LSR) & UART_LSR_OE, 0, "reading LSR clears OE");
	for (int i = 0; i < 64; i++)
		cr_assert_eq(in8(UART_RBR), i);
}

Test(serial, scratch_register_holds_a_byte)
{
	out8(UART_SCR, 0x5a);
	cr_assert_eq(in8(UART_SCR), 0x5a);
	out8(UART_SCR, 0xa5);
	cr_assert_eq(in8(UART_SCR), 0xa5);
}

Test(serial, mcr_reads_back)
{
	out8(UART_MCR, 0x0b);
	cr_assert_eq(in8(UART_MCR), 0x0b);
}

Test(serial, fcr_clear_receiver_empties_fifo)
{
	out8(UART_IER, UART_IER_RDI);
	push("junk");
	cr_assert(irq.level);
	out8(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	cr_assert_eq(in8(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_not(irq.level, "nothing left to read: the RX interrupt must drop");
	push("z");
	cr_assert_eq(in8(UART_RBR), 'z', "the FIFO works after a clear");
}

Test(serial, fcr_fifo_enable_shows_in_iir)
{
	cr_assert_eq(in8(UART_IIR) & 0xc0, 0);
	out8(UART_FCR, UART_FCR_ENABLE_FIFO);
	cr_assert_eq(in8(UART_IIR) & 0xc0, 0xc0, "16550A: IIR bits 6-7 set with FIFOs on");
	cr_assert_eq(in8(UART_IIR) & 0x0f, UART_IIR_NO_INT);
}

Test(serial, wide_access_touches_consecutive_registers)
{
	uint8_t w[2] = { 0x03, 0x08 };
	serial_pio(&s, UART_LCR, w, 2, true);
	cr_assert_eq(in8(UART_LCR), 0x03);
	cr_assert_eq(in8(UART_MCR), 0x08);
}
