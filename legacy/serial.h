/*
 * 8250/16550A UART at COM1 (0x3f8, IRQ 4). Transmit is instant (bytes go straight to
 * the output fd), so THR is always empty and the THR-empty interrupt fires as soon as
 * the guest enables it or writes a byte. Receive has a 64-byte FIFO fed from stdin by
 * the event thread.
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "../lib/event_loop.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_FIFO_SIZE 64

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm, fcr;
	bool overrun;
	bool thre_pending; /* THR-empty interrupt waiting to be seen in IIR */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool irq_high;
	int out_fd;
	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;

	/* stdin plumbing, used by the event thread only (and rx_wake_fd by the vCPU). */
	int in_fd;         /* -1: no input */
	int rx_wake_fd;    /* eventfd: the guest drained the FIFO, read stdin again */
	bool in_paused;    /* stdin is out of the epoll set while the FIFO is full */
	struct event_loop *loop;
	struct event_handler in_handler, wake_handler;
	bool tty_raw;            /* stdin is a terminal we switched to raw mode */
	struct termios tty_saved;
};

void serial_init(struct serial *s, int out_fd, void (*set_irq)(void *ctx, bool level),
		 void *irq_ctx);
/* PIO bus handler for the 8 registers. */
void serial_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);
/* Queues received bytes; returns how many fitted. */
size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n);

struct vm_host;
/* COM1 on vm's PIO bus and IOAPIC; input from in_fd if it is a terminal or pipe. */
int serial_create(struct serial *s, const struct vm_host *h, int in_fd, int out_fd,
		  struct errbuf *e);
/* Gives the terminal back as it was. */
void serial_destroy(struct serial *s);

/* Register offsets and bits. */
#define UART_RBR 0
#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO_ENABLED 0xc0
#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DSR 0x20
#define UART_MSR_CTS 0x10

/* For snapshots: the registers and the receive FIFO (bytes the guest has not read). */
struct serial_state {
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm, fcr;
	uint8_t overrun, thre_pending, irq_high, pad;
	uint32_t rx_head, rx_count;
	uint8_t rx[SERIAL_FIFO_SIZE];
};
void serial_save(struct serial *s, struct serial_state *st);
/* The line is taken as saved: the IOAPIC's state holds its level. */
int serial_restore(struct serial *s, const struct serial_state *st, struct errbuf *e);

#endif
