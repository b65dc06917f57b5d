/*
 * Shared by the unit tests: guest memory set-up, pattern fills to prove that a rejected
 * operation left guest memory alone, and an assertion on errbuf messages.
 */
#ifndef EMBER_TEST_HELPERS_H
#define EMBER_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../lib/error.h"
#include "../../lib/guest_mem.h"
#include "../../lib/util.h"

/* What guest memory holds before an operation that must not touch it. */
#define FILL_BYTE 0xa5

static inline void gm_setup(struct guest_mem *gm, uint64_t size)
{
	struct errbuf e = { "" };
	cr_assert_eq(guest_mem_init(gm, size, &e), 0, "guest_mem_init(%llu): %s",
		     (unsigned long long)size, e.msg);
}

static inline void gm_fill(const struct guest_mem *gm, uint64_t gpa, uint64_t len, uint8_t v)
{
	uint8_t *p = guest_mem_at(gm, gpa, len);
	cr_assert_not_null(p, "no guest RAM at [0x%llx, +0x%llx)", (unsigned long long)gpa,
			   (unsigned long long)len);
	memset(p, v, len);
}

/* True when every byte of [gpa, gpa + len) is v. */
static inline bool gm_all(const struct guest_mem *gm, uint64_t gpa, uint64_t len, uint8_t v)
{
	const uint8_t *p = guest_mem_at(gm, gpa, len);
	cr_assert_not_null(p);
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static inline void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_at(gm, gpa, len);
	cr_assert_not_null(p, "no guest RAM at [0x%llx, +0x%llx)", (unsigned long long)gpa,
			   (unsigned long long)len);
	return p;
}

/* The error message holds needle. */
#define assert_msg_has(e, needle)                                                      \
	cr_assert(strstr((e).msg, (needle)) != NULL, "error message \"%s\" lacks \"%s\"",  \
		  (e).msg, (needle))

#endif
