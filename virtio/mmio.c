#include "mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../arch/layout.h"
#include "../lib/log.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"
#include "../vcpu/ioapic.h"

/* A hostile guest can break its rings in a loop; the log says so a few times, no more. */
#define RING_ERRORS_LOGGED_MAX 8

static uint64_t virtio_mmio_offered(const struct virtio_mmio *t)
{
	return t->ops->features | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return bit < 64 && (t->driver_features >> bit) & 1;
}

bool virtio_mmio_queue_live(const struct virtio_mmio *t, const struct virtq *q)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       q->enabled && !q->broken;
}

static void virtio_mmio_raise(struct virtio_mmio *t, uint32_t why)
{
	__atomic_fetch_or(&t->interrupt_status, why, __ATOMIC_SEQ_CST);
	if (t->irq_fd >= 0) {
		uint64_t one = 1;
		if (write(t->irq_fd, &one, sizeof(one)) < 0)
			log_once(LOG_WARN, "%s: irqfd write: %s", t->name, strerror(errno));
		return;
	}
	/* No irqfd (unit tests, old kernels): an edge through the user-space IOAPIC. */
	ioapic_set_irq(t->host->ioapic, t->pin, true);
	ioapic_set_irq(t->host->ioapic, t->pin, false);
}

void virtio_mmio_notify_used(struct virtio_mmio *t, struct virtq *q)
{
	if (virtq_needs_interrupt(q))
		virtio_mmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_ring_error(struct virtio_mmio *t, const struct virtq *q)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->ring_errors_logged < RING_ERRORS_LOGGED_MAX) {
		t->ring_errors_logged++;
		log_warn("%s: queue %u: %s; device needs reset%s", t->name,
			 (unsigned)(q - t->queues), q->error ? q->error : "bad queue setup",
			 t->ring_errors_logged == RING_ERRORS_LOGGED_MAX ?
				 " (further ring errors of this device are not logged)" :
				 "");
	}
	virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

static void virtio_mmio_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev, t);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		virtq_reset(&t->queues[q]);
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->status = 0;
	__atomic_store_n(&t->interrupt_status, 0, __ATOMIC_SEQ_CST);
}

/* 2.2.2: the driver may only accept what was offered, and must accept VERSION_1. */
static bool virtio_mmio_features_ok(const struct virtio_mmio *t)
{
	return !(t->driver_features & ~virtio_mmio_offered(t)) &&
	       virtio_mmio_has_feature(t, VIRTIO_F_VERSION_1);
}

static void virtio_mmio_write_notify(struct virtio_mmio *t, uint32_t value);

static void virtio_mmio_driver_ok(struct virtio_mmio *t)
{
	if (!t->ops->activate(t->dev, t)) {
		t->status |= VIRTIO_STATUS_NEEDS_RESET;
		log_warn("%s: backend could not start; device needs reset", t->name);
		virtio_mmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
		return;
	}
	/* Chains queued before DRIVER_OK (Linux fills its RX ring first) were never notified:
	   the event thread looks once, as for a notify; I/O stays off the vCPU threads. */
	for (unsigned q = 0; q < t->ops->num_queues; q++)
		if (virtio_mmio_queue_live(t, &t->queues[q]))
			virtio_mmio_write_notify(t, q);
}

static void virtio_mmio_write_status(struct virtio_mmio *t, uint32_t value)
{
	if (value == 0) {
		virtio_mmio_reset(t);
		return;
	}
	/* 2.1.1: the driver never clears a bit; only a reset starts negotiation over. */
	value |= t->status;
	uint32_t added = value & ~t->status;
	uint32_t sticky = t->status & VIRTIO_STATUS_NEEDS_RESET;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !virtio_mmio_features_ok(t))
		value &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver re-reads it and gives up */
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(value & VIRTIO_STATUS_FEATURES_OK))
		value &= ~VIRTIO_STATUS_DRIVER_OK;
	t->status = (value & ~VIRTIO_STATUS_NEEDS_RESET) | sticky;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && (t->status & VIRTIO_STATUS_DRIVER_OK) && !sticky)
		virtio_mmio_driver_ok(t);
}

static struct virtq *virtio_mmio_selected(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

static void virtio_mmio_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t value)
{
	if (!value) {
		q->ready = q->enabled = false;
		return;
	}
	if (q->ready)
		return;
	q->ready = true;
	if (!virtq_enable(q, t->host->mem, t->ops->queue_max,
			  virtio_mmio_has_feature(t, VIRTIO_RING_F_EVENT_IDX),
			  virtio_mmio_has_feature(t, VIRTIO_RING_F_INDIRECT_DESC)))
		virtio_mmio_ring_error(t, q);
}

/* Setting a 32-bit half of a 64-bit guest address register. */
static void set_half(uint64_t *reg, uint32_t value, bool high)
{
	*reg = high ? (*reg & 0xffffffffULL) | ((uint64_t)value << 32)
		    : (*reg & ~0xffffffffULL) | value;
}

static void virtio_mmio_write_queue_reg(struct virtio_mmio *t, uint64_t reg, uint32_t value)
{
	struct virtq *q = virtio_mmio_selected(t);
	if (!q || q->ready) {
		log_once(LOG_WARN, "%s: queue register 0x%llx written for a missing or ready queue",
			 t->name, (unsigned long long)reg);
		return;
	}
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM: q->size = value > 0xffff ? 0 : (uint16_t)value; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc_gpa, value, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc_gpa, value, true); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail_gpa, value, false); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail_gpa, value, true); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used_gpa, value, false); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used_gpa, value, true); break;
	default: break;
	}
}

/* Without KVM_IOEVENTFD the write lands here; hand it to the event thread all the same. */
static void virtio_mmio_write_notify(struct virtio_mmio *t, uint32_t value)
{
	if (value >= t->ops->num_queues) {
		log_once(LOG_WARN, "%s: notify for queue %u, which does not exist; ignored",
			 t->name, value);
		return;
	}
	uint64_t one = 1;
	if (write(t->notify[value].fd, &one, sizeof(one)) < 0)
		log_once(LOG_WARN, "%s: notify eventfd: %s", t->name, strerror(errno));
}

static void virtio_mmio_write(struct virtio_mmio *t, uint64_t reg, uint32_t value)
{
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = value; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = value; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&t->driver_features, value, t->driver_features_sel == 1);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = value; break;
	case VIRTIO_MMIO_QUEUE_READY: {
		struct virtq *q = virtio_mmio_selected(t);
		if (q)
			virtio_mmio_queue_ready(t, q, value);
		break;
	}
	case VIRTIO_MMIO_QUEUE_NOTIFY: virtio_mmio_write_notify(t, value); break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&t->interrupt_status, ~value, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS: virtio_mmio_write_status(t, value); break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: virtio_mmio_write_queue_reg(t, reg, value); break;
	default:
		log_once(LOG_WARN, "%s: write to read-only or unknown register 0x%llx ignored",
			 t->name, (unsigned long long)reg);
	}
}

static uint32_t virtio_mmio_read(struct virtio_mmio *t, uint64_t reg)
{
	struct virtq *q = virtio_mmio_selected(t);
	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2 ?
			       (uint32_t)(virtio_mmio_offered(t) >> (32 * t->device_features_sel)) :
			       0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&t->interrupt_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void virtio_mmio_config_access(struct virtio_mmio *t, uint64_t off, uint8_t *data,
				      uint32_t size, bool is_write)
{
	if (is_write) {
		log_once(LOG_WARN, "%s: write to read-only config space at 0x%llx ignored",
			 t->name, (unsigned long long)off);
		return;
	}
	size_t len = 0;
	const uint8_t *cfg = t->ops->config ? t->ops->config(t->dev, &len) : NULL;
	memset(data, 0, size);
	if (cfg && off < len)
		memcpy(data, cfg + off, len - off < size ? len - off : size);
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			bool is_write)
{
	struct virtio_mmio *t = opaque;
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		virtio_mmio_config_access(t, offset - VIRTIO_MMIO_CONFIG, data, size, is_write);
	} else if (size != 4 || (offset & 3)) {
		log_once(LOG_WARN, "%s: %u-byte access to register 0x%llx ignored", t->name, size,
			 (unsigned long long)offset);
		if (!is_write)
			memset(data, 0xff, size);
	} else if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4);
		virtio_mmio_write(t, offset, v);
	} else {
		uint32_t v = virtio_mmio_read(t, offset);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void virtio_mmio_on_notify(void *opaque, uint32_t events)
{
	struct virtio_mmio_notify *nt = opaque;
	struct virtio_mmio *t = nt->t;
	unsigned q = nt->q;
	uint64_t n;
	(void)events;
	if (read(nt->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&t->lock);
	if (virtio_mmio_queue_live(t, &t->queues[q]))
		t->ops->queue_notify(t->dev, t, q, &t->queues[q]);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_run(struct virtio_mmio *t, unsigned index, virtio_mmio_fn *fn, void *ctx)
{
	pthread_mutex_lock(&t->lock);
	fn(ctx, index < t->ops->num_queues ? &t->queues[index] : NULL);
	pthread_mutex_unlock(&t->lock);
}

/* KVM signals queue q's eventfd on a 4-byte write of q to QueueNotify, without an exit. */
static int virtio_mmio_setup_ioeventfd(struct virtio_mmio *t, unsigned q, struct errbuf *e)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = t->notify[q].fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(t->host->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return errf(e, "%s: KVM_IOEVENTFD: %s", t->name, strerror(errno));
	return 0;
}

/* Queue q's notify: an eventfd, watched by the event loop. */
static int virtio_mmio_setup_notify(struct virtio_mmio *t, unsigned q, struct errbuf *e)
{
	struct virtio_mmio_notify *nt = &t->notify[q];
	nt->t = t;
	nt->q = q;
	nt->handler = (struct event_handler){ .fn = virtio_mmio_on_notify, .opaque = nt };
	nt->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (nt->fd < 0)
		return errf(e, "%s: eventfd: %s", t->name, strerror(errno));
	/* No KVM (unit tests): QueueNotify writes reach the same eventfd through the bus. */
	if (t->host->vm_fd >= 0 && virtio_mmio_setup_ioeventfd(t, q, e) < 0)
		return -1;
	if (event_loop_add(t->host->loop, nt->fd, EPOLLIN, &nt->handler) < 0)
		return errf(e, "%s: cannot watch the notify eventfd: %s", t->name,
			    strerror(errno));
	return 0;
}

static int virtio_mmio_setup_irq(struct virtio_mmio *t, struct errbuf *e)
{
	if (t->host->vm_fd < 0)
		return 0; /* no KVM (unit tests): interrupts go through the user-space IOAPIC */
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return errf(e, "%s: eventfd: %s", t->name, strerror(errno));
	struct kvm_irqfd irqfd = { .fd = (uint32_t)t->irq_fd, .gsi = t->pin };
	if (ioctl(t->host->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return errf(e, "%s: KVM_IRQFD (pin %u): %s", t->name, t->pin, strerror(errno));
	return 0;
}

int virtio_mmio_create(const struct vm_host *h, struct virtio_registry *reg,
		       const struct virtio_device_ops *ops, void *dev, const char *name,
		       struct virtio_mmio **out, struct errbuf *e)
{
	bool room = reg->n < VIRTIO_MMIO_MAX_DEVICES;
	struct virtio_mmio *t = room ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		if (ops->destroy)
			ops->destroy(dev);
		return room ? errf(e, "%s: out of memory", name) :
			      errf(e, "%s: no free virtio slot (at most %d devices)", name,
				   VIRTIO_MMIO_MAX_DEVICES);
	}
	pthread_mutex_init(&t->lock, NULL);
	t->host = h;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)reg->n * VIRTIO_MMIO_SLOT_SIZE;
	t->pin = VIRTIO_MMIO_FIRST_PIN + reg->n;
	t->ops = ops;
	t->dev = dev;
	t->irq_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->notify[q].fd = -1;
	reg->t[reg->n++] = t; /* from here on virtio_registry_destroy frees it */

	if (bus_register(h->mmio, t->base, VIRTIO_MMIO_SLOT_SIZE, virtio_mmio_access, t,
			 t->name, e) < 0 ||
	    virtio_mmio_setup_irq(t, e) < 0)
		return -1;
	for (unsigned q = 0; q < ops->num_queues; q++)
		if (virtio_mmio_setup_notify(t, q, e) < 0)
			return -1;
	*out = t;
	return 0;
}

void virtio_registry_destroy(struct virtio_registry *reg)
{
	for (unsigned i = 0; i < reg->n; i++)
		virtio_mmio_destroy(reg->t[i]);
	reg->n = 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->status)
		virtio_mmio_reset(t); /* in-flight I/O ends before its buffers go away */
	pthread_mutex_unlock(&t->lock);
	if (t->ops->destroy)
		t->ops->destroy(t->dev);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->notify[q].fd >= 0)
			close(t->notify[q].fd);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *out, size_t cap)
{
	return snprintf(out, cap, "virtio_mmio.device=4K@0x%llx:%u",
			(unsigned long long)t->base, t->pin);
}

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *s)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned q = 0; t->ops->quiesce && q < t->ops->num_queues; q++)
		t->ops->quiesce(t->dev, t, q, &t->queues[q]);
	*s = (struct virtio_mmio_state){
		.device_id = t->ops->device_id, .num_queues = t->ops->num_queues,
		.driver_features = t->driver_features,
		.device_features_sel = t->device_features_sel,
		.driver_features_sel = t->driver_features_sel, .queue_sel = t->queue_sel,
		.status = t->status,
		.interrupt_status = __atomic_load_n(&t->interrupt_status, __ATOMIC_SEQ_CST),
		.config_generation = t->config_generation,
	};
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		virtq_save(&t->queues[q], &s->queues[q]);
	pthread_mutex_unlock(&t->lock);
}

static int virtio_mmio_check_state(const struct virtio_mmio *t, const struct virtio_mmio_state *s,
				   struct errbuf *e)
{
	if (s->device_id != t->ops->device_id || s->num_queues != t->ops->num_queues)
		return errf(e, "snapshot: %s was device type %u with %u queues, not %u with %u",
			    t->name, s->device_id, s->num_queues, t->ops->device_id,
			    t->ops->num_queues);
	if (s->driver_features & ~virtio_mmio_offered(t))
		return errf(e, "snapshot: %s: features 0x%llx were never offered", t->name,
			    (unsigned long long)(s->driver_features & ~virtio_mmio_offered(t)));
	return 0;
}

int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s,
			struct errbuf *e)
{
	if (virtio_mmio_check_state(t, s, e) < 0)
		return -1;
	pthread_mutex_lock(&t->lock);
	t->driver_features = s->driver_features;
	t->device_features_sel = s->device_features_sel;
	t->driver_features_sel = s->driver_features_sel;
	t->queue_sel = s->queue_sel;
	t->status = s->status;
	t->config_generation = s->config_generation;
	__atomic_store_n(&t->interrupt_status, s->interrupt_status, __ATOMIC_SEQ_CST);
	for (unsigned q = 0; q < t->ops->num_queues; q++)
		if (!virtq_restore(&t->queues[q], &s->queues[q], t->host->mem, t->ops->queue_max))
			virtio_mmio_ring_error(t, &t->queues[q]);
	bool driven = (t->status & VIRTIO_STATUS_DRIVER_OK) &&
		      !(t->status & VIRTIO_STATUS_NEEDS_RESET);
	if (driven)
		virtio_mmio_driver_ok(t);
	if (driven && s->interrupt_status)
		virtio_mmio_raise(t, 0);
	pthread_mutex_unlock(&t->lock);
	return 0;
}
