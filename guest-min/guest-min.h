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

/*
 * Every entry path identity-maps at least this much, so pointers the loader
 * hands us (command line, memory map) and all RAM guest-min uses lie below it.
 */
#define GM_IDENTITY_LIMIT (1ULL << 30)

/*
 * virtio-mmio registers may only lie in the 32-bit MMIO gap.  The PVH entry
 * maps [0, 4 GiB); on the 64-bit entry gm_range_mapped() walks the monitor's
 * page tables before anything above GM_IDENTITY_LIMIT is touched.
 */
#define GM_MMIO_BASE (3ULL << 30)
#define GM_MMIO_END  (4ULL << 30)

/* RAM assumed when the loader gave no memory map: ember's minimum. */
#define GM_RAM_FALLBACK_TOP (16ULL << 20)

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
	bool boot_timer;                  /* the bare word gm.boot_timer was given */
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

/*
 * boot.c: end of the RAM region that holds the image, from the e820 table or
 * the PVH memory map, capped at GM_IDENTITY_LIMIT and at an initrd; 0 when
 * the loader gave no map.
 */
extern uint64_t gm_ram_top;

/* prog_idle.c */
int prog_idle(const struct gm_ctx *ctx);

/* main.c */
void gm_main(const char *cmdline, enum gm_boot how) __attribute__((noreturn));
void gm_exit(uint8_t status) __attribute__((noreturn));
const char *gm_param(const struct gm_ctx *ctx, const char *key);
/*
 * Every value of a repeated parameter, in command-line order: start with
 * *pos = 0, NULL when there are no more.
 */
const char *gm_param_next(const struct gm_ctx *ctx, const char *key, int *pos);
/* A boolean parameter: "1", "y", "yes", "on", "true" (or a bare key=) are true. */
bool gm_param_bool(const struct gm_ctx *ctx, const char *key);
/* A decimal parameter; def when absent; false (and a message) when malformed. */
bool gm_param_u64(const struct gm_ctx *ctx, const char *key, uint64_t max,
		  uint64_t def, uint64_t *out);

/*
 * clock.c: TSC frequency in kHz from, in order, ember.tsc_khz, gm.tsc_khz,
 * the hypervisor timing leaf CPUID 0x40000010, CPUID 0x15, KVM's pvclock;
 * 0 when none says.  *source (may be NULL) names where it came from.
 */
uint64_t gm_tsc_khz(const struct gm_ctx *ctx, const char **source);
uint64_t gm_tsc_to_us(uint64_t tsc, uint64_t khz); /* khz != 0 */
/* TSC ticks for ms milliseconds; an assumed 3 GHz when the frequency is unknown. */
uint64_t gm_ms_to_tsc(const struct gm_ctx *ctx, uint64_t ms);

/*
 * lib.c: RAM past the image (never cleared, never freed), aligned to align (a
 * power of two); NULL when less than size is left below gm_ram_top.
 */
void *gm_alloc(uint64_t size, uint64_t align);
/* gm_alloc, 64-byte aligned, cleared. */
void *gm_zalloc(uint64_t size);
/* How many bytes gm_alloc could still hand out at this alignment. */
uint64_t gm_alloc_left(uint64_t align);
/* True when [addr, addr+len) is identity-mapped, present and writable. */
bool gm_range_mapped(uint64_t addr, uint64_t len);

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
/* Like gm_parse_u64 but also "0x..." hex and a K/M/G suffix (virtio_mmio.device=). */
bool gm_parse_size(const char *s, size_t n, uint64_t *out);
size_t gm_fmt_u64(char *buf, uint64_t v, unsigned base); /* buf >= 21 bytes */
/* Bulk memory with one string instruction (cheap where every instruction exits). */
void gm_fill64(void *dst, uint64_t v, size_t qwords);
void gm_copy64(void *dst, const void *src, size_t qwords);
/* Index of the first qword that differs, or qwords when all are equal. */
size_t gm_cmp64(const void *a, const void *b, size_t qwords);
/* Sum of qwords modulo 2^64. */
uint64_t gm_sum64(const void *p, size_t qwords);

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

/* Compiler barrier; x86 is TSO so ordinary stores/loads need no CPU fence. */
static inline void gm_barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

/* Full fence: a store (avail->idx) must be visible before a later load. */
static inline void gm_mfence(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

/* lfence keeps rdtsc from being hoisted above the work being timed. */
static inline uint64_t gm_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

#endif
