/*
 * Polled 16550 output on COM1 and a tiny printf on top of it.
 *
 * No interrupts (see guest-min.h), so transmit readiness is polled.  The
 * wait is bounded: a monitor whose UART never reports THR-empty must not hang
 * the guest.  After one timeout we stop polling altogether, otherwise every
 * byte would cost a million port reads (each a VM exit).
 */
#include <stdarg.h>

#include "guest-min.h"

#define COM1          0x3f8
#define UART_LSR      5
#define LSR_DR        0x01
#define LSR_THRE      0x20
#define THRE_POLLS    100000u

static bool uart_unresponsive;

static void uart_tx(uint8_t c)
{
	if (!uart_unresponsive) {
		uint32_t n = 0;

		while (!(inb(COM1 + UART_LSR) & LSR_THRE)) {
			if (++n >= THRE_POLLS) {
				uart_unresponsive = true;
				break;
			}
		}
	}
	outb(COM1, c);
}

int gm_getc_until(uint64_t deadline_tsc)
{
	while (!(inb(COM1 + UART_LSR) & LSR_DR))
		if (gm_rdtsc() > deadline_tsc)
			return -1;
	return inb(COM1);
}

void gm_putc(char c)
{
	if (c == '\n')
		uart_tx('\r');
	uart_tx((uint8_t)c);
}

void gm_puts(const char *s)
{
	while (*s)
		gm_putc(*s++);
}

static void put_num(uint64_t v, unsigned base, bool neg)
{
	char buf[24];

	if (neg)
		gm_putc('-');
	gm_fmt_u64(buf, v, base);
	gm_puts(buf);
}

/*
 * Supports %s %c %d %u %x %% with optional l / ll / z length modifiers;
 * enough for status lines, and gcc's format checking keeps callers honest.
 */
void gm_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int lng = 0;

		if (*fmt != '%') {
			gm_putc(*fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			gm_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			gm_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			/* Negate in unsigned space: -INT64_MIN would overflow. */
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

			put_num(mag, 10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = lng ? va_arg(ap, uint64_t)
					 : va_arg(ap, unsigned int);

			put_num(v, *fmt == 'x' ? 16 : 10, false);
			break;
		}
		case '%':
			gm_putc('%');
			break;
		case '\0':
			fmt--; /* lone '%' at the end: stop at the NUL */
			break;
		default:
			gm_putc('%');
			gm_putc(*fmt);
			break;
		}
	}
	va_end(ap);
}
