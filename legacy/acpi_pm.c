/*
 * The registers a hardware-reduced FADT names (arch/acpi.c): a kernel that powers off
 * through ACPI writes SLP_TYP 5 with SLP_EN to the sleep control register, and one that
 * reboots through ACPI writes the reset value to the reset register. Either ends the
 * VM with status 0, as a reset through the i8042 does. Stateless: nothing to snapshot.
 */
#include "acpi_pm.h"

#include "../arch/acpi.h"
#include "../lib/log.h"
#include "../vcpu/bus.h"
#include "../vcpu/host.h"

static void acpi_pm_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			bool is_write)
{
	(void)size;
	struct vm_host *h = opaque;
	uint64_t port = ACPI_SLEEP_CONTROL_PORT + offset;
	if (!is_write) {
		data[0] = 0; /* sleep status: no wake event pending */
		return;
	}
	if (port == ACPI_SLEEP_CONTROL_PORT && (data[0] & ACPI_SLP_EN) &&
	    ACPI_SLP_TYP(data[0]) == ACPI_S5_TYPE) {
		log_info("guest powered off through ACPI (S5)");
		h->request_stop(h->stop_ctx, 0);
	} else if (port == ACPI_RESET_PORT && data[0] == ACPI_RESET_VALUE) {
		log_info("guest reset through the ACPI reset register");
		h->request_stop(h->stop_ctx, 0);
	}
}

int acpi_pm_create(struct vm_host *h, struct errbuf *e)
{
	return bus_register(h->pio, ACPI_SLEEP_CONTROL_PORT, ACPI_PM_PORTS, acpi_pm_pio, h,
			    "acpi-pm", e);
}
