#ifndef EMBER_ARCH_CPU_TABLES_H
#define EMBER_ARCH_CPU_TABLES_H

#include <stdbool.h>

#include "../lib/error.h"
#include "../lib/guest_mem.h"

/*
 * GDT (64-bit code for long mode, 32-bit for PVH's flat protected mode), empty IDT,
 * identity map of the first 4 GiB. Fails, with guest memory untouched and e naming
 * the table, when RAM does not reach a table.
 */
int cpu_tables_write(struct guest_mem *gm, bool long_mode, struct errbuf *e);

#endif
