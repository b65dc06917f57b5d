/*
 * The i8042 keyboard controller, Firecracker's subset: Linux's reboot=k pulses the CPU
 * reset line (command 0xfe on port 0x64), which ends the VM with status 0; the host can
 * send Ctrl+Alt+Del (i8042_ctrl_alt_del), which Linux's atkbd driver turns into a
 * reboot. Commands Linux sends while probing answer sensibly instead of timing out.
 *
 * Bytes for the guest wait in a 16-byte FIFO; the status port's OBF bit is set while
 * any remain and each data-port read pops one. IRQ 1 follows OBF while the controller
 * configuration enables the keyboard interrupt: Linux reads one byte per interrupt, so
 * a read that leaves bytes behind lowers and raises the line again (a new edge).
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_BUF_SIZE 16

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_WRITE_OUTP 0xd1
#define I8042_CMD_WRITE_KBD_OUT 0xd2
#define I8042_CMD_WRITE_AUX_OUT 0xd3
#define I8042_CMD_WRITE_AUX 0xd4
#define I8042_CMD_RESET_CPU 0xfe

#define I8042_STATUS_OBF 0x01
#define I8042_STATUS_CMD_DATA 0x08 /* the next data byte is a command's parameter */
#define I8042_STATUS_KBD_ENABLED 0x10

#define I8042_CTR_KBD_INT 0x01
#define I8042_CTR_POST_OK 0x04
#define I8042_CTR_XLATE 0x40

#define I8042_KBD_ACK 0xfa

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;        /* controller configuration ("command byte") */
	uint8_t param_cmd;  /* command waiting for its data byte, 0 for none */
	uint8_t buf[I8042_BUF_SIZE];
	unsigned head, count;
	bool irq_high;
	void (*reset)(void *ctx);
	void (*set_irq)(void *ctx, bool level);
	void *ctx;
};

/* reset and set_irq may be NULL. */
void i8042_init(struct i8042 *k, void (*reset)(void *ctx),
		void (*set_irq)(void *ctx, bool level), void *ctx);
void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);
/*
 * Queues the make codes of Ctrl, Alt and Del (scan code set 2: 0x14 0x11 0xe0 0x71, the
 * bytes Firecracker's SendCtrlAltDel sends) and raises IRQ 1. Fails, queueing nothing,
 * when the FIFO lacks room for all four (the guest is not reading its keyboard).
 */
int i8042_ctrl_alt_del(struct i8042 *k, struct errbuf *e);

struct vm_host;
int i8042_create(struct i8042 *k, struct vm_host *h, struct errbuf *e);

/* For snapshots: the controller byte and the bytes waiting for the guest. */
struct i8042_state {
	uint8_t ctr, param_cmd, irq_high, pad;
	uint32_t head, count;
	uint8_t buf[I8042_BUF_SIZE];
};
void i8042_save(struct i8042 *k, struct i8042_state *s);
/* The line is taken as saved: the IOAPIC's state holds its level. */
int i8042_restore(struct i8042 *k, const struct i8042_state *s, struct errbuf *e);

#endif
