/*
 * A user-space IOAPIC (82093AA register model, 24 pins) for KVM's split irqchip: the
 * LAPICs stay in the kernel, this file turns pin levels into MSIs. The kernel's own
 * IOAPIC+PIC costs ~15 ms of VM lifetime; this one costs nothing until a pin fires.
 *
 * Each redirection entry is also handed to KVM as an MSI route (GSI = pin), so that
 * irqfds bypass this file entirely and KVM knows which vectors need an EOI exit
 * (KVM_EXIT_IOAPIC_EOI) for level-triggered pins.
 */
#ifndef EMBER_IOAPIC_H
#define EMBER_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../arch/layout.h"

#define IOAPIC_BASE LAYOUT_IOAPIC
#define IOAPIC_SIZE 0x1000ULL
#define IOAPIC_NUM_PINS LAYOUT_IOAPIC_PINS

struct ioapic_route {
	uint64_t addr;
	uint32_t data;
	bool masked;
};

struct ioapic_ops {
	void (*send_msi)(void *ctx, uint64_t addr, uint32_t data);
	void (*routes_changed)(void *ctx, const struct ioapic_route routes[IOAPIC_NUM_PINS]);
};

struct ioapic {
	pthread_mutex_t lock;
	uint8_t id;
	uint32_t ioregsel;
	uint64_t redir[IOAPIC_NUM_PINS];
	uint32_t line; /* bit per pin: the level the device drives now */
	const struct ioapic_ops *ops;
	void *ctx;
};

void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops, void *ctx);
/* Bus handler for [IOAPIC_BASE, +IOAPIC_SIZE). */
void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);
/* A device drives pin to level; edge pins fire on a rising edge, level pins while high. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* The guest's LAPIC took an EOI for vector: end remote IRR, re-fire if still high. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* The MSI a redirection entry describes. */
struct ioapic_route ioapic_route_of(uint64_t redir);

/* Redirection entry fields. */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DESTMODE (1ULL << 11)
#define IOAPIC_RTE_DELIVS (1ULL << 12)
#define IOAPIC_RTE_POLARITY (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define IOAPIC_RTE_LEVEL (1ULL << 15)
#define IOAPIC_RTE_MASKED (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* For snapshots: everything the guest programmed and the pin levels. */
struct ioapic_state {
	uint32_t id, ioregsel, line, pad;
	uint64_t redir[IOAPIC_NUM_PINS];
};
void ioapic_save(struct ioapic *io, struct ioapic_state *s);
/* Takes s and hands KVM the routes it implies. */
void ioapic_restore(struct ioapic *io, const struct ioapic_state *s);

#endif
