/* Small helpers shared by every subsystem: sizes, overflow-safe arithmetic, time. */
#ifndef EMBER_UTIL_H
#define EMBER_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB (1024ULL)
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

/* Guest-supplied numbers are added with these so that a wrap is an error, not an address. */
static inline bool add_overflows_u64(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

static inline uint64_t align_up_u64(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline uint64_t align_down_u64(uint64_t v, uint64_t align)
{
	return v & ~(align - 1);
}

/* The value of command-line flag --flag as a whole decimal number; one line in e if not. */
static inline int parse_flag_number(const char *flag, const char *s, long long *out,
				    struct errbuf *e)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return errf(e, "--%s: '%s' is not a number", flag, s);
	return 0;
}

static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* now + ms on clock clk, normalised: a deadline for the *timedwait/timedjoin calls. */
static inline struct timespec timespec_after_ms(clockid_t clk, unsigned ms)
{
	struct timespec t;
	clock_gettime(clk, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
