#ifndef EMBER_ARCH_MPTABLE_H
#define EMBER_ARCH_MPTABLE_H

#include "../lib/error.h"
#include "../lib/guest_mem.h"

/* MP table for ncpus CPUs (APIC ids 0..n-1) and the IOAPIC (id ncpus). */
int mptable_write(struct guest_mem *gm, unsigned ncpus, struct errbuf *e);

#endif
