/*
 * A vm without KVM for running the real virtio devices in-process: vm_fd -1, so the
 * transport registers no ioeventfd and no irqfd (virtio/README.md), QueueNotify writes
 * reach the notify eventfds through the register window and interrupts go through the
 * user-space IOAPIC. Shared by tests/unit/test_virtio_devices.c and the guest-boundary
 * fuzzer (tests/fuzz/fuzz_virtio.c), so it asserts nothing: calls return what happened.
 *
 * The driver side follows virtio 1.2, 3.1.1 and 4.2.3, one 4-byte register access at a
 * time through virtio_mmio_access, as a guest's MMIO exits would arrive.
 */
#ifndef EMBER_TESTS_FAKE_VM_H
#define EMBER_TESTS_FAKE_VM_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

#include "../lib/error.h"
#include "../vcpu/vm.h"
#include "../virtio/mmio.h"
#include "../virtio/virtio_spec.h"

static inline void fake_vm_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	(void)data;
}

static const struct ioapic_ops fake_vm_ioapic_ops = { .send_msi = fake_vm_send_msi };

/*
 * Everything of a vm the devices use (vm->host) but guest memory, which the caller sets
 * up in vm->mem (before or after; it is kept): the MMIO bus, the event loop, the IOAPIC;
 * no KVM (vm_fd -1).
 */
static struct event_loop fake_vm_loop; /* the VMM's loop, which a VM only points to */

static inline int fake_vm_init(struct vm *vm, struct errbuf *e)
{
	struct guest_mem mem = vm->mem;
	memset(vm, 0, sizeof(*vm));
	vm->mem = mem;
	vm->vm_fd = vm->kvm_fd = -1;
	ioapic_init(&vm->ioapic, 0, &fake_vm_ioapic_ops, NULL);
	bus_init(&vm->mmio, "mmio");
	vm->host = (struct vm_host){ .mem = &vm->mem, .loop = &fake_vm_loop, .pio = &vm->pio,
				     .mmio = &vm->mmio, .ioapic = &vm->ioapic, .vm_fd = -1 };
	return event_loop_init(&fake_vm_loop, e);
}

/* Destroys the devices of reg (a reset ends their in-flight I/O first), the loop and
 * the bus; guest memory stays the caller's. */
static inline void fake_vm_destroy(struct vm *vm, struct virtio_registry *reg)
{
	virtio_registry_destroy(reg);
	event_loop_destroy(&fake_vm_loop);
	bus_destroy(&vm->mmio);
}

/*
 * One pass of the event thread: runs the handler of every fd that is ready within
 * timeout_ms (notify eventfds, a TAP, io_uring completions, rate-limiter timers).
 * Returns how many ran.
 */
static inline int fake_vm_poll(struct vm *vm, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(vm->host.loop->epfd, ev, 8, timeout_ms);
	for (int k = 0; k < n; k++) {
		struct event_handler *h = ev[k].data.ptr;
		h->fn(h->opaque, ev[k].events);
	}
	return n < 0 ? 0 : n;
}

/* ---- the driver */

static inline void fake_virtio_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

static inline uint32_t fake_virtio_rd(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v = 0;
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline uint64_t fake_virtio_device_features(struct virtio_mmio *t)
{
	fake_virtio_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = fake_virtio_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
	fake_virtio_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (uint64_t)fake_virtio_rd(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

#define FAKE_VIRTIO_STATUS_FEATURES_OK \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

/*
 * 3.1.1 steps 1-6: reset, ACKNOWLEDGE and DRIVER, the offered part of `want` plus
 * VERSION_1, FEATURES_OK. Returns true when the device kept FEATURES_OK.
 */
static inline bool fake_virtio_negotiate(struct virtio_mmio *t, uint64_t want)
{
	fake_virtio_wr(t, VIRTIO_MMIO_STATUS, 0);
	fake_virtio_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t f = (fake_virtio_device_features(t) & want) | 1ULL << VIRTIO_F_VERSION_1;
	fake_virtio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fake_virtio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	fake_virtio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fake_virtio_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	fake_virtio_wr(t, VIRTIO_MMIO_STATUS, FAKE_VIRTIO_STATUS_FEATURES_OK);
	return fake_virtio_rd(t, VIRTIO_MMIO_STATUS) == FAKE_VIRTIO_STATUS_FEATURES_OK;
}

/* 3.1.1 step 7 for queue q (4.2.3.2): size, the three ring addresses, QueueReady. */
static inline void fake_virtio_queue(struct virtio_mmio *t, unsigned q, uint32_t size,
				     uint64_t desc, uint64_t avail, uint64_t used)
{
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/*
 * 3.1.1 step 8: DRIVER_OK. The transport leaves its first look at each live queue to
 * the event thread (a notify); this runs it, as the event thread would. Returns how
 * many queues were looked at (the status register says whether DRIVER_OK held).
 */
static inline unsigned fake_virtio_driver_ok(struct virtio_mmio *t)
{
	unsigned looked = 0;
	fake_virtio_wr(t, VIRTIO_MMIO_STATUS,
		       FAKE_VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		struct pollfd p = { t->notify[q].fd, POLLIN, 0 };
		if (poll(&p, 1, 0) == 1) {
			t->notify[q].handler.fn(t->notify[q].handler.opaque, EPOLLIN);
			looked++;
		}
	}
	return looked;
}

/*
 * QueueNotify of q, then its notify handler, as the event thread would run it. Only
 * the transport decides what a notify of a missing queue does (nothing to run).
 */
static inline void fake_virtio_kick(struct virtio_mmio *t, uint32_t q)
{
	fake_virtio_wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	if (q < t->ops->num_queues)
		t->notify[q].handler.fn(t->notify[q].handler.opaque, EPOLLIN);
}

#endif
