#ifndef EMBER_ACPI_PM_H
#define EMBER_ACPI_PM_H

#include "../lib/error.h"

struct vm_host;

/* acpi_pm.c: the FADT's sleep control, sleep status and reset registers (ports 0x600-0x602):
   an S5 sleep or the reset value ends the VM with status 0. */
int acpi_pm_create(struct vm_host *h, struct errbuf *e);

#endif
