#include "i8042.h"

#include <string.h>

#include "../lib/log.h"
#include "vm.h"

void i8042_init(struct i8042 *k, void (*reset)(void *ctx), void *ctx)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = 0x45; /* keyboard interrupt on, translation on, as after a BIOS */
	k->reset = reset;
	k->reset_ctx = ctx;
}

static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_reply(k, k->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
		k->want_ctr = true;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_reply(k, 0x55);
		break;
	case I8042_CMD_RESET_CPU:
		log_info("i8042: guest pulsed the reset line");
		if (k->reset)
			k->reset(k->reset_ctx);
		break;
	default:
		break; /* ports, LEDs, A20: nothing to do in a VM */
	}
}

void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *k = opaque;
	(void)size;
	pthread_mutex_lock(&k->lock);
	uint64_t port = I8042_DATA_PORT + offset;
	if (port == I8042_CMD_PORT && is_write) {
		i8042_command(k, data[0]);
	} else if (port == I8042_CMD_PORT) {
		data[0] = k->out_full ? I8042_STATUS_OBF : 0;
	} else if (port == I8042_DATA_PORT && is_write) {
		if (k->want_ctr)
			k->ctr = data[0];
		k->want_ctr = false;
	} else if (port == I8042_DATA_PORT) {
		data[0] = k->out;
		k->out_full = false;
	} else if (!is_write) {
		data[0] = 0xff;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_reset_vm(void *ctx)
{
	vm_request_stop(ctx, 0);
}

int i8042_create(struct vm *vm, struct errbuf *e)
{
	i8042_init(&vm->i8042, i8042_reset_vm, vm);
	/* One range 0x60-0x64 keeps the table small; 0x61-0x63 read as all-ones. */
	return bus_register(&vm->pio, I8042_DATA_PORT, 5, i8042_pio, &vm->i8042, "i8042", e);
}
