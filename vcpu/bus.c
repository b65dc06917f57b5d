#include "bus.h"

#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus_init(bus, bus->name);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler_fn fn, void *opaque,
		 const char *name, struct errbuf *e)
{
	if (len == 0 || base + len < base)
		return errf(e, "%s bus: bad range for %s", bus->name, name);

	size_t at = 0;
	while (at < bus->n && bus->ranges[at].base < base)
		at++;
	const struct bus_range *clash = NULL;
	if (at > 0 && bus->ranges[at - 1].base + bus->ranges[at - 1].len > base)
		clash = &bus->ranges[at - 1];
	else if (at < bus->n && base + len > bus->ranges[at].base)
		clash = &bus->ranges[at];
	if (clash)
		return errf(e, "%s bus: %s at 0x%llx overlaps %s", bus->name, name,
			    (unsigned long long)base, clash->name);

	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r)
			return errf(e, "%s bus: out of memory", bus->name);
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[at + 1], &bus->ranges[at], (bus->n - at) * sizeof(*bus->ranges));
	bus->ranges[at] = (struct bus_range){ base, len, fn, opaque, name };
	bus->n++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* A guest can poke unclaimed ports in a loop (Linux does, at 0x80): log a few, then stop. */
static void log_unclaimed(struct bus *bus, uint64_t addr, uint32_t size, bool is_write)
{
	enum { MAX_LOGGED = 16 };
	unsigned n = __atomic_fetch_add(&bus->unclaimed_logged, 1, __ATOMIC_RELAXED);
	if (n < MAX_LOGGED)
		log_debug("%s bus: unclaimed %s of %u bytes at 0x%llx%s", bus->name,
			  is_write ? "write" : "read", size, (unsigned long long)addr,
			  n == MAX_LOGGED - 1 ? " (further ones not logged)" : "");
	else
		__atomic_store_n(&bus->unclaimed_logged, MAX_LOGGED, __ATOMIC_RELAXED);
}

bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size,
		  bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);
	if (!r || addr - r->base + size > r->len) {
		if (!is_write)
			memset(data, 0xff, size);
		log_unclaimed(bus, addr, size, is_write);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, size, is_write);
	return true;
}
