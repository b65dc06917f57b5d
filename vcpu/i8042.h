/*
 * Just enough of the i8042 keyboard controller for Linux's reboot=k: the guest pulses
 * the CPU reset line (command 0xfe on port 0x64), which ends the VM with status 0.
 * A few commands Linux sends while probing answer sensibly instead of timing out.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_RESET_CPU 0xfe
#define I8042_STATUS_OBF 0x01

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;        /* controller configuration ("command byte") */
	uint8_t out;        /* output buffer */
	bool out_full;
	bool want_ctr;      /* next data byte is a new CTR */
	void (*reset)(void *ctx);
	void *reset_ctx;
};

void i8042_init(struct i8042 *k, void (*reset)(void *ctx), void *ctx);
void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);

struct vm;
int i8042_create(struct vm *vm, struct errbuf *e);

#endif
