/*
 * The virtio-mmio transport (version 2): one 4 KiB register window and one IOAPIC pin
 * per device. It owns what the spec gives the transport: device status, feature
 * negotiation, queue setup, interrupt status and reset. A device (blk.c, net.c) fills
 * a struct virtio_device_ops and calls virtio_mmio_create(); it never sees registers.
 *
 * Threads: register accesses arrive on vCPU threads; queue notifications arrive through
 * ioeventfds on the event thread, and interrupts leave through irqfds, so the data path
 * never exits to user space on a vCPU.
 *
 * The contract with a device: every call into it runs with the transport's lock held,
 * a plain mutex that nothing under it takes again. The transport calls the ops; the
 * device's own event handlers (rate-limiter timers, a TAP, an engine's completions) and
 * its run-time updates get the lock through virtio_mmio_run. A queue reaches the device
 * only as the argument of such a call: a device never indexes the transport's queues,
 * never touches its lock, and has no lock of its own.
 */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/error.h"
#include "../arch/layout.h"
#include "../lib/event_loop.h"
#include "virtq.h"

#define VIRTIO_MMIO_SLOT_SIZE 0x1000
#define VIRTIO_MAX_QUEUES 2
/* Devices take IOAPIC pins from 5 up (0-4: timer, keyboard, cascade, COMs). */
#define VIRTIO_MMIO_FIRST_PIN 5
#define VIRTIO_MMIO_MAX_DEVICES (LAYOUT_IOAPIC_PINS - VIRTIO_MMIO_FIRST_PIN)

struct vm_host;
struct virtio_mmio;

/*
 * The VMM's devices, in slot order: slot i is the window at LAYOUT_VIRTIO_MMIO_BASE +
 * i * 4 KiB and IOAPIC pin 5 + i. virtio_mmio_create takes the next slot;
 * virtio_registry_destroy frees every transport and its device.
 */
struct virtio_registry {
	unsigned n;
	struct virtio_mmio *t[VIRTIO_MMIO_MAX_DEVICES];
};
void virtio_registry_destroy(struct virtio_registry *reg);

struct virtio_device_ops {
	uint32_t device_id;             /* VIRTIO_ID_* */
	unsigned num_queues;            /* at most VIRTIO_MAX_QUEUES */
	uint16_t queue_max;             /* at most VIRTQ_MAX_SIZE */
	uint64_t features;              /* device-specific bits; the transport adds its own */
	/* Config space: a little-endian image the transport reads from; never written. */
	const void *(*config)(void *dev, size_t *len);
	/* The driver set DRIVER_OK: start the backend. Returns false to fail the device. */
	bool (*activate)(void *dev, struct virtio_mmio *t);
	/* The driver kicked queue number index, which is q (event thread). */
	void (*queue_notify)(void *dev, struct virtio_mmio *t, unsigned index, struct virtq *q);
	/* Device reset: finish or cancel in-flight work; the queues are reset after. */
	void (*reset)(void *dev, struct virtio_mmio *t);
	/* The VM is going away: free dev (the transport is already stopped). */
	void (*destroy)(void *dev);
	/* Optional, for snapshots: finish in-flight work on queue index, which is q, so
	   that guest RAM and the used ring hold its results (the VM is paused). */
	void (*quiesce)(void *dev, struct virtio_mmio *t, unsigned index, struct virtq *q);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct vm_host *host;
	char name[32];    /* "virtio-blk vda", used in log lines */
	uint64_t base;
	unsigned pin;
	const struct virtio_device_ops *ops;
	void *dev;

	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t status;
	uint32_t interrupt_status; /* atomic: set by the event thread, acked by vCPUs */
	uint32_t config_generation;
	struct virtq queues[VIRTIO_MAX_QUEUES];

	struct virtio_mmio_notify {
		struct virtio_mmio *t;
		unsigned q;
		int fd; /* eventfd: KVM_IOEVENTFD signals it on a QueueNotify write of q */
		struct event_handler handler;
	} notify[VIRTIO_MAX_QUEUES];
	int irq_fd;            /* KVM_IRQFD on the pin's GSI, or -1: go through the IOAPIC */
	unsigned ring_errors_logged;
};

/*
 * Takes the next free slot of reg and its pin, registers the window on the MMIO bus,
 * the notify eventfds with KVM and the event loop, and the irqfd. name is for log lines.
 * From this call on dev belongs to the transport: ops->destroy frees it, on failure too.
 * A host without KVM (vm_fd < 0, unit tests) gets neither ioeventfds nor an irqfd.
 */
int virtio_mmio_create(const struct vm_host *h, struct virtio_registry *reg,
		       const struct virtio_device_ops *ops, void *dev, const char *name,
		       struct virtio_mmio **out, struct errbuf *e);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Bus handler for the register window; public for the unit tests. */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			bool is_write);

/* No queue: virtio_mmio_run hands fn NULL. */
#define VIRTIO_MMIO_NO_QUEUE (~0u)
typedef void virtio_mmio_fn(void *ctx, struct virtq *q);
/*
 * For a device's own event handlers and run-time updates (any thread but one already in
 * a call from the transport): runs fn(ctx, queue number index) under the transport's
 * lock, as the transport runs queue_notify.
 */
void virtio_mmio_run(struct virtio_mmio *t, unsigned index, virtio_mmio_fn *fn, void *ctx);

/* The calls below are for devices, lock held. */
/* The driver negotiated feature bit. */
bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit);
/* Used buffers were added to q; interrupts if the driver wants. */
void virtio_mmio_notify_used(struct virtio_mmio *t, struct virtq *q);
/* q met a malformed ring (q->error says how); needs a reset. */
void virtio_mmio_ring_error(struct virtio_mmio *t, const struct virtq *q);
/* The config space changed (e.g. new capacity): bump generation, config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/* q is running: enabled, not broken, and the driver finished setup. */
bool virtio_mmio_queue_live(const struct virtio_mmio *t, const struct virtq *q);

/* Kernel command-line words that announce the device to Linux. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *out, size_t cap);

/*
 * For snapshots: the transport's registers and its queues. virtio_mmio_save quiesces
 * the device first. virtio_mmio_restore checks that the saved device is this one (type,
 * queues, features offered), restarts the backend of a driven device and looks at
 * each live queue once, as after DRIVER_OK; an interrupt the driver had not acked is
 * raised again (a spurious one costs a driver nothing, a lost one hangs it).
 */
struct virtio_mmio_state {
	uint32_t device_id, num_queues;
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel, status;
	uint32_t interrupt_status, config_generation;
	struct virtq_state queues[VIRTIO_MAX_QUEUES];
};
void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *s);
int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *s,
			struct errbuf *e);

#endif
