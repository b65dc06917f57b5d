/*
 * Setup errors travel up to main as one line of text in an errbuf; main prints it
 * once and picks the exit status. Nothing below main exits the process.
 */
#ifndef EMBER_ERROR_H
#define EMBER_ERROR_H

#include <stdarg.h>
#include <stdio.h>

struct errbuf {
	char msg[512];
};

/* Fills e and returns -1, so callers can write `return errf(e, ...)`. */
__attribute__((format(printf, 2, 3)))
static inline int errf(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

#endif
