/*
 * guest-min: ember's own freestanding test unikernel.
 *
 * Everything here polls: the hypervisor ember runs on in CI (PVM) cannot
 * deliver interrupts or exceptions to a guest that is not PVM-aware, so the
 * guest has no IDT, keeps interrupts off, and must never execute anything
 * that can fault.
 */
#ifndef GUEST_MIN_H
#define GUEST_MIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * For big buffers that are always written before being read: entry.S does
 * not spend time clearing them (see guest-min.ld).
 */
#define GM_NOINIT __attribute__((noinit))

/* Both entry paths identity-map exactly this much; nothing above is touched. */
#define GM_IDENTITY_LIMIT (1ULL << 30)

#define GM_CMDLINE_MAX 4096
#define GM_MAX_ARGS    32
#define GM_MAX_PARAMS  32

enum gm_boot {
	GM_BOOT_LINUX64, /* 64-bit entry, Linux boot_params (ember) */
	GM_BOOT_PVH,     /* 32-bit PVH entry, hvm_start_info (QEMU microvm) */
};

/* Parsed command line, handed to every program. */
struct gm_ctx {
	enum gm_boot boot;
	const char *cmdline;              /* raw, unmodified */
	int argc;                         /* argv[0] is the program name */
	const char *argv[GM_MAX_ARGS];
	int nparams;
	const char *param_key[GM_MAX_PARAMS];
	const char *param_val[GM_MAX_PARAMS];
};

struct gm_program {
	const char *name;
	int (*run)(const struct gm_ctx *ctx); /* returns the exit status */
};

/* entry.S: TSC read by the first instructions of whichever entry ran. */
extern uint64_t gm_entry_tsc;

/* boot.c: called from entry.S with interrupts off, on our own stack. */
void gm_boot64(uint64_t boot_params_paddr) __attribute__((noreturn));
void gm_boot_pvh(uint32_t start_info_paddr) __attribute__((noreturn));

/* main.c */
void gm_main(const char *cmdline, enum gm_boot how) __attribute__((noreturn));
void gm_exit(uint8_t status) __attribute__((noreturn));
const char *gm_param(const struct gm_ctx *ctx, const char *key);

/* serial.c */
void gm_putc(char c);
/* Next received byte, or -1 once the TSC passes deadline_tsc. */
int gm_getc_until(uint64_t deadline_tsc);
void gm_puts(const char *s);
void gm_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* lib.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t gm_strlen(const char *s);
bool gm_streq(const char *a, const char *b);
bool gm_parse_u64(const char *s, uint64_t max, uint64_t *out);
size_t gm_fmt_u64(char *buf, uint64_t v, unsigned base); /* buf >= 21 bytes */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* lfence keeps rdtsc from being hoisted above the work being timed. */
static inline uint64_t gm_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

#endif
