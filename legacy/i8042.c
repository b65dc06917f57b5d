#include "i8042.h"

#include <string.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"
#include "../vcpu/ioapic.h"

void i8042_init(struct i8042 *k, void (*reset)(void *ctx),
		void (*set_irq)(void *ctx, bool level), void *ctx)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	/*
	 * Keyboard interrupt on, no translation, as Firecracker's: Linux then reads scan
	 * code set 2 straight from the keyboard (it sets i8042_direct), which is the set
	 * i8042_ctrl_alt_del sends.
	 */
	k->ctr = I8042_CTR_KBD_INT | I8042_CTR_POST_OK;
	k->reset = reset;
	k->set_irq = set_irq;
	k->ctx = ctx;
}

/* Called with the lock held after every change: the IRQ line follows OBF. */
static void i8042_update_irq(struct i8042 *k)
{
	bool high = k->count && (k->ctr & I8042_CTR_KBD_INT);
	if (high == k->irq_high)
		return;
	k->irq_high = high;
	if (k->set_irq)
		k->set_irq(k->ctx, high);
}

static unsigned i8042_room(const struct i8042 *k)
{
	return I8042_BUF_SIZE - k->count;
}

/* Callers check the room first. */
static void i8042_push(struct i8042 *k, uint8_t v)
{
	k->buf[(k->head + k->count) % I8042_BUF_SIZE] = v;
	k->count++;
}

static uint8_t i8042_pop(struct i8042 *k)
{
	if (!k->count)
		return 0; /* an empty buffer reads 0, as Firecracker's */
	uint8_t v = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF_SIZE;
	k->count--;
	return v;
}

/*
 * A reply replaces what was queued: the guest asked the controller or the keyboard
 * something and reads the answer next (Firecracker flushes the same way).
 */
static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->head = k->count = 0;
	i8042_push(k, v);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_reply(k, k->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTP:
	case I8042_CMD_WRITE_KBD_OUT:
	case I8042_CMD_WRITE_AUX_OUT:
	case I8042_CMD_WRITE_AUX:
		k->param_cmd = cmd; /* the data byte that follows is not for the keyboard */
		break;
	case I8042_CMD_SELF_TEST:
		i8042_reply(k, 0x55);
		break;
	case I8042_CMD_RESET_CPU:
		METRIC_INC(metrics.i8042.reset_count);
		log_info("i8042: guest pulsed the reset line");
		if (k->reset)
			k->reset(k->ctx);
		break;
	default:
		break; /* port enables, LEDs, A20: nothing to do in a VM */
	}
}

static void i8042_write_data(struct i8042 *k, uint8_t v)
{
	if (k->param_cmd == I8042_CMD_WRITE_CTR)
		k->ctr = v;
	if (k->param_cmd) {
		k->param_cmd = 0; /* the A20 gate, an aux device we lack: nothing to do */
		return;
	}
	/* A keyboard command (LEDs, scan set, enable): acknowledge it, as atkbd expects. */
	i8042_reply(k, I8042_KBD_ACK);
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	uint8_t v = i8042_pop(k);
	/* Linux reads one byte per interrupt: a byte left behind needs a new edge. */
	if (k->irq_high && k->count) {
		k->irq_high = false;
		if (k->set_irq)
			k->set_irq(k->ctx, false);
	}
	return v;
}

static uint8_t i8042_status(const struct i8042 *k)
{
	return (uint8_t)(I8042_STATUS_KBD_ENABLED | (k->count ? I8042_STATUS_OBF : 0) |
			 (k->param_cmd ? I8042_STATUS_CMD_DATA : 0));
}

static void i8042_access(struct i8042 *k, uint64_t offset, uint8_t *data, bool is_write)
{
	if (offset == I8042_CMD_PORT - I8042_DATA_PORT && is_write)
		i8042_command(k, data[0]);
	else if (offset == I8042_CMD_PORT - I8042_DATA_PORT)
		data[0] = i8042_status(k);
	else if (is_write)
		i8042_write_data(k, data[0]);
	else
		data[0] = i8042_read_data(k);
}

void i8042_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct i8042 *k = opaque;
	/* Byte-wide registers at 0x60 and 0x64 only; 0x61-0x63 read as all-ones. */
	bool ours = size == 1 && (offset == 0 || offset == I8042_CMD_PORT - I8042_DATA_PORT);
	if (!ours && is_write) {
		METRIC_INC(metrics.i8042.missed_write_count);
		return;
	}
	if (!ours) {
		memset(data, 0xff, size);
		METRIC_INC(metrics.i8042.missed_read_count);
		return;
	}
	if (is_write)
		METRIC_INC(metrics.i8042.write_count);
	else
		METRIC_INC(metrics.i8042.read_count);
	pthread_mutex_lock(&k->lock);
	i8042_access(k, offset, data, is_write);
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

int i8042_ctrl_alt_del(struct i8042 *k, struct errbuf *e)
{
	static const uint8_t codes[] = { 0x14, 0x11, 0xe0, 0x71 }; /* Ctrl, Alt, E0 Del */
	pthread_mutex_lock(&k->lock);
	bool fits = i8042_room(k) >= sizeof(codes);
	if (fits) {
		for (size_t i = 0; i < sizeof(codes); i++)
			i8042_push(k, codes[i]);
		i8042_update_irq(k);
	}
	pthread_mutex_unlock(&k->lock);
	if (fits)
		return 0;
	METRIC_INC(metrics.i8042.error_count);
	return errf(e, "i8042: keyboard buffer full, the guest is not reading its keyboard");
}

static void i8042_reset_vm(void *ctx)
{
	struct vm_host *h = ctx;
	h->request_stop(h->stop_ctx, 0);
}

static void i8042_irq_to_ioapic(void *ctx, bool level)
{
	struct vm_host *h = ctx;
	ioapic_set_irq(h->ioapic, I8042_KBD_IRQ, level);
}

int i8042_create(struct i8042 *k, struct vm_host *h, struct errbuf *e)
{
	i8042_init(k, i8042_reset_vm, i8042_irq_to_ioapic, h);
	/* One range 0x60-0x64 keeps the table small; 0x61-0x63 read as all-ones. */
	return bus_register(h->pio, I8042_DATA_PORT, 5, i8042_pio, k, "i8042", e);
}

void i8042_save(struct i8042 *k, struct i8042_state *s)
{
	pthread_mutex_lock(&k->lock);
	*s = (struct i8042_state){ .ctr = k->ctr, .param_cmd = k->param_cmd,
				   .irq_high = k->irq_high, .head = k->head, .count = k->count };
	memcpy(s->buf, k->buf, sizeof(s->buf));
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, const struct i8042_state *s, struct errbuf *e)
{
	if (s->head >= I8042_BUF_SIZE || s->count > I8042_BUF_SIZE)
		return errf(e, "snapshot: i8042 buffer at %u with %u bytes (at most %u)", s->head,
			    s->count, I8042_BUF_SIZE);
	pthread_mutex_lock(&k->lock);
	k->ctr = s->ctr, k->param_cmd = s->param_cmd, k->irq_high = s->irq_high;
	k->head = s->head, k->count = s->count;
	memcpy(k->buf, s->buf, sizeof(k->buf));
	pthread_mutex_unlock(&k->lock);
	return 0;
}
