/*
 * A bus maps address ranges to device register handlers. There are two, PIO and MMIO.
 * Ranges are registered while the VM is built and never change after vCPUs start, so
 * lookups from vCPU threads take no lock; each handler locks its own device.
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/error.h"

/* offset is relative to the range's base; data holds size bytes, little-endian. */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			       bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_handler_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	struct bus_range *ranges; /* sorted by base, never overlapping */
	size_t n, cap;
	unsigned unclaimed_logged; /* atomic: stops logging after a few */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler_fn fn, void *opaque,
		 const char *name, struct errbuf *e);
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/* Returns false when nobody claims addr; a read then returns all-ones. */
bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size,
		  bool is_write);

#endif
