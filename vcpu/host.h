/*
 * What a device may use of the machine it is plugged into, and nothing else: guest
 * memory, the event loop, the two buses, the IOAPIC (its interrupts when there is no
 * irqfd), the VM fd (ioeventfds, irqfds; -1 without KVM, as in the unit tests), and
 * a way to end the VM with a status (a reset through the i8042, the debug-exit port).
 * vm_create fills vm->host; devices keep a pointer to it, never to struct vm.
 */
#ifndef EMBER_HOST_H
#define EMBER_HOST_H

struct guest_mem;
struct event_loop;
struct bus;
struct ioapic;

struct vm_host {
	struct guest_mem *mem;
	struct event_loop *loop;
	struct bus *pio, *mmio;
	struct ioapic *ioapic;
	int vm_fd;
	void (*request_stop)(void *ctx, int status); /* any thread; the first status wins */
	void *stop_ctx;
};

#endif
