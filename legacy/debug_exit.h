#ifndef EMBER_DEBUG_EXIT_H
#define EMBER_DEBUG_EXIT_H

#include "../lib/error.h"

struct vm_host;

/* debug_exit.c: one byte out to port 0xf4 ends the VM with that byte as exit status. */
int debug_exit_create(struct vm_host *h, struct errbuf *e);

#endif
