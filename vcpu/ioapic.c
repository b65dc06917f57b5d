#include "ioapic.h"

#include <string.h>

#include "../lib/log.h"

#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDIR 0x10
#define IOAPIC_VERSION 0x11 /* 82093AA: no EOI register, EOIs come from KVM */

#define IOAPIC_OFF_IOREGSEL 0x00
#define IOAPIC_OFF_IOWIN 0x10

/* Bits the guest may not write: they report state. */
#define IOAPIC_RTE_RO (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

void ioapic_init(struct ioapic *io, uint8_t id, const struct ioapic_ops *ops, void *ctx)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->id = id;
	io->ops = ops;
	io->ctx = ctx;
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		io->redir[i] = IOAPIC_RTE_MASKED;
}

struct ioapic_route ioapic_route_of(uint64_t redir)
{
	uint64_t dest = (redir >> IOAPIC_RTE_DEST_SHIFT) & 0xff;
	uint64_t delmode = (redir >> IOAPIC_RTE_DELMODE_SHIFT) & 7;
	struct ioapic_route r = {
		.addr = 0xFEE00000ULL | (dest << 12) | ((redir & IOAPIC_RTE_DESTMODE) ? 1u << 2 : 0),
		.data = (uint32_t)((redir & IOAPIC_RTE_VECTOR) | (delmode << 8) |
				   ((redir & IOAPIC_RTE_LEVEL) ? 1u << 15 : 0)),
		.masked = (redir & IOAPIC_RTE_MASKED) != 0,
	};
	return r;
}

static void ioapic_publish_routes(struct ioapic *io)
{
	struct ioapic_route routes[IOAPIC_NUM_PINS];
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		routes[i] = ioapic_route_of(io->redir[i]);
	if (io->ops->routes_changed)
		io->ops->routes_changed(io->ctx, routes);
}

static void ioapic_deliver(struct ioapic *io, unsigned pin)
{
	uint64_t *rte = &io->redir[pin];
	if (*rte & IOAPIC_RTE_LEVEL)
		*rte |= IOAPIC_RTE_REMOTE_IRR;
	struct ioapic_route r = ioapic_route_of(*rte);
	io->ops->send_msi(io->ctx, r.addr, r.data);
}

/* Fires pin if its state says it should: used after a level change, unmask or EOI. */
static void ioapic_service(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->redir[pin];
	bool high = io->line & (1u << pin);
	if (!high || (rte & IOAPIC_RTE_MASKED))
		return;
	if ((rte & IOAPIC_RTE_LEVEL) && (rte & IOAPIC_RTE_REMOTE_IRR))
		return;
	ioapic_deliver(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_NUM_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	uint32_t bit = 1u << pin;
	bool was_high = io->line & bit;
	io->line = level ? io->line | bit : io->line & ~bit;
	bool edge = !(io->redir[pin] & IOAPIC_RTE_LEVEL);
	if (level && (!edge || !was_high))
		ioapic_service(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t *rte = &io->redir[pin];
		if ((*rte & IOAPIC_RTE_VECTOR) != vector || !(*rte & IOAPIC_RTE_LEVEL))
			continue;
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
		ioapic_service(io, pin);
	}
	pthread_mutex_unlock(&io->lock);
}

static uint32_t ioapic_read_reg(struct ioapic *io, uint32_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)io->id << 24;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION | ((IOAPIC_NUM_PINS - 1) << 16);
	}
	if (reg >= IOAPIC_REG_REDIR && reg < IOAPIC_REG_REDIR + 2 * IOAPIC_NUM_PINS) {
		unsigned pin = (reg - IOAPIC_REG_REDIR) / 2;
		uint64_t rte = io->redir[pin];
		return (reg & 1) ? (uint32_t)(rte >> 32) : (uint32_t)rte;
	}
	return 0;
}

static void ioapic_write_reg(struct ioapic *io, uint32_t reg, uint32_t val)
{
	if (reg == IOAPIC_REG_ID) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (reg < IOAPIC_REG_REDIR || reg >= IOAPIC_REG_REDIR + 2 * IOAPIC_NUM_PINS)
		return;

	unsigned pin = (reg - IOAPIC_REG_REDIR) / 2;
	uint64_t *rte = &io->redir[pin];
	uint64_t old = *rte;
	uint64_t v = (reg & 1) ? ((uint64_t)val << 32) | (old & 0xffffffffULL)
			       : (old & 0xffffffff00000000ULL) | val;
	*rte = (v & ~IOAPIC_RTE_RO) | (old & IOAPIC_RTE_RO);
	/* An edge pin has no remote IRR; a switch to edge must not leave one stuck. */
	if (!(*rte & IOAPIC_RTE_LEVEL))
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
	if (*rte != old)
		ioapic_publish_routes(io);
	if ((old & IOAPIC_RTE_MASKED) && !(*rte & IOAPIC_RTE_MASKED) && (*rte & IOAPIC_RTE_LEVEL))
		ioapic_service(io, pin);
}

void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
	struct ioapic *io = opaque;
	uint32_t val = 0;
	if (size > 4)
		size = 4;
	if (is_write)
		memcpy(&val, data, size);

	pthread_mutex_lock(&io->lock);
	switch (offset) {
	case IOAPIC_OFF_IOREGSEL:
		if (is_write)
			io->ioregsel = val & 0xff;
		else
			val = io->ioregsel;
		break;
	case IOAPIC_OFF_IOWIN:
		if (is_write)
			ioapic_write_reg(io, io->ioregsel, val);
		else
			val = ioapic_read_reg(io, io->ioregsel);
		break;
	default:
		val = 0;
		if (is_write)
			log_once(LOG_DEBUG, "ioapic: write to unknown offset 0x%llx",
				 (unsigned long long)offset);
	}
	pthread_mutex_unlock(&io->lock);
	if (!is_write)
		memcpy(data, &val, size);
}

void ioapic_save(struct ioapic *io, struct ioapic_state *s)
{
	pthread_mutex_lock(&io->lock);
	*s = (struct ioapic_state){ .id = io->id, .ioregsel = io->ioregsel, .line = io->line };
	memcpy(s->redir, io->redir, sizeof(s->redir));
	pthread_mutex_unlock(&io->lock);
}

void ioapic_restore(struct ioapic *io, const struct ioapic_state *s)
{
	pthread_mutex_lock(&io->lock);
	io->id = (uint8_t)s->id;
	io->ioregsel = s->ioregsel;
	io->line = s->line;
	memcpy(io->redir, s->redir, sizeof(io->redir));
	ioapic_publish_routes(io);
	pthread_mutex_unlock(&io->lock);
}
