/*
 * The debug-exit port: how guest-min (or any test guest) ends the VM with a status of its
 * choosing. The same port as QEMU's isa-debug-exit, so one guest binary serves both.
 */
#include "debug_exit.h"

#include "../arch/layout.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"

static void debug_exit_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			   bool is_write)
{
	(void)offset;
	(void)size;
	struct vm_host *h = opaque;
	if (is_write)
		h->request_stop(h->stop_ctx, data[0]);
	else
		data[0] = 0;
}

int debug_exit_create(struct vm_host *h, struct errbuf *e)
{
	return bus_register(h->pio, LAYOUT_DEBUG_EXIT_PORT, 1, debug_exit_pio, h, "debug-exit",
			    e);
}
