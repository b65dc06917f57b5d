/* guest_mem: the one bounds check between guest-physical addresses and host memory. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

#define MEM (128 * MIB)
#define BIG (4 * GIB + 64 * MIB) /* MAP_NORESERVE: costs nothing until touched */

static struct guest_mem gm;

static void teardown(void)
{
	guest_mem_destroy(&gm);
}

TestSuite(guest_mem_init, .fini = teardown);

Test(guest_mem_init, rejects_zero_size)
{
	struct errbuf e = { "" };
	cr_assert_eq(guest_mem_init(&gm, 0, &e), -1);
	assert_msg_has(e, "4 KiB");
}

Test(guest_mem_init, rejects_sizes_not_a_multiple_of_4k)
{
	uint64_t bad[] = { 1, 4095, 4097, MEM + 512 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct errbuf e = { "" };
		cr_assert_eq(guest_mem_init(&gm, bad[i], &e), -1, "size %llu accepted",
			     (unsigned long long)bad[i]);
		assert_msg_has(e, "4 KiB");
		cr_assert_null(gm.host);
	}
}

Test(guest_mem_init, small_guest_is_one_region)
{
	gm_setup(&gm, MEM);
	cr_assert_eq(gm.size, MEM);
	cr_assert_eq(gm.nregions, 1);
	cr_assert_eq(guest_mem_low_end(&gm), MEM);
}

Test(guest_mem_init, big_guest_splits_at_the_gap)
{
	gm_setup(&gm, BIG);
	cr_assert_eq(gm.nregions, 2);
	cr_assert_eq(guest_mem_low_end(&gm), 3 * GIB);
	cr_assert_eq(gm.regions[1].gpa, 4 * GIB);
	cr_assert_eq(gm.regions[1].size, BIG - 3 * GIB, "no RAM lost to the gap");
}

Test(guest_mem_init, memory_starts_zeroed)
{
	gm_setup(&gm, MEM);
	cr_assert(gm_all(&gm, 0, 64 * 1024, 0));
	cr_assert(gm_all(&gm, MEM - 64 * 1024, 64 * 1024, 0));
}

/* Whether /proc/self/maps has a mapping with PERMS ending at END or starting at START:
 * what would be left of guest_mem's 2 MiB reservation next to the RAM. */
static bool maps_has_neighbour(uintptr_t end, uintptr_t start, const char *perms)
{
	FILE *f = fopen("/proc/self/maps", "re");
	cr_assert_not_null(f);
	char line[512], p[8];
	unsigned long lo, hi;
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && !strcmp(p, perms) &&
		    (hi == end || lo == start))
			found = true;
	fclose(f);
	return found;
}

static void assert_aligned_ram(const struct guest_mem *m)
{
	uintptr_t host = (uintptr_t)m->host;
	cr_assert_eq(host % (2 * MIB), 0, "guest RAM at %#lx, not 2 MiB aligned", (unsigned long)host);
	cr_assert_not(maps_has_neighbour(host, host + m->size, "---p"),
		      "a piece of the alignment reservation is still mapped beside the RAM");
}

/* KVM gives a guest huge EPT/NPT pages only where the host address is aligned like the
 * guest's: every guest RAM mapping starts at a 2 MiB boundary, whatever its size, and
 * leaves nothing else mapped. */
Test(guest_mem_init, ram_is_2mib_aligned)
{
	uint64_t sizes[] = { 4 * KIB, MIB + 4 * KIB, MEM, BIG };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		gm_setup(&gm, sizes[i]);
		assert_aligned_ram(&gm);
		guest_mem_destroy(&gm);
	}
	struct errbuf e = { "" };
	cr_assert_eq(guest_mem_init_flags(&gm, MEM, GUEST_MEM_HUGE_THP, &e), 0, "%s", e.msg);
	assert_aligned_ram(&gm);
}

Test(guest_mem_init, snapshot_file_ram_is_2mib_aligned)
{
	char path[] = "/tmp/ember-test-memfile.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)(MIB + 4 * KIB)), 0);
	cr_assert_eq(pwrite(fd, "ember", 5, MIB), 5);
	struct errbuf e = { "" };
	cr_assert_eq(guest_mem_init_file(&gm, MIB + 4 * KIB, fd, &e), 0, "%s", e.msg);
	close(fd);
	assert_aligned_ram(&gm);
	cr_assert_eq(memcmp(gm.host + MIB, "ember", 5), 0, "the file's bytes at their offset");
}

TestSuite(guest_mem_at, .fini = teardown);

Test(guest_mem_at, inside_ram)
{
	gm_setup(&gm, MEM);
	uint8_t *p0 = guest_mem_at(&gm, 0, 1);
	uint8_t *p1 = guest_mem_at(&gm, 0x12345, 16);
	cr_assert_not_null(p0);
	cr_assert_eq(p1, p0 + 0x12345, "one linear mapping below the gap");
	p1[0] = 0x77;
	cr_assert_eq(*(uint8_t *)guest_mem_at(&gm, 0x12345, 1), 0x77);
}

Test(guest_mem_at, range_ending_exactly_at_end_of_ram)
{
	gm_setup(&gm, MEM);
	cr_assert_not_null(guest_mem_at(&gm, MEM - 1, 1));
	cr_assert_not_null(guest_mem_at(&gm, MEM - 4096, 4096));
	cr_assert_not_null(guest_mem_at(&gm, 0, MEM), "all of RAM at once");
}

Test(guest_mem_at, one_byte_past_the_end)
{
	gm_setup(&gm, MEM);
	cr_assert_null(guest_mem_at(&gm, MEM, 1));
	cr_assert_null(guest_mem_at(&gm, MEM - 1, 2));
	cr_assert_null(guest_mem_at(&gm, 0, MEM + 1));
}

Test(guest_mem_at, zero_length_is_refused)
{
	gm_setup(&gm, MEM);
	cr_assert_null(guest_mem_at(&gm, 0, 0));
	cr_assert_null(guest_mem_at(&gm, 0x1000, 0));
}

Test(guest_mem_at, wrapping_ranges_are_refused)
{
	gm_setup(&gm, MEM);
	cr_assert_null(guest_mem_at(&gm, UINT64_MAX, 1));
	cr_assert_null(guest_mem_at(&gm, UINT64_MAX - 7, 16));
	cr_assert_null(guest_mem_at(&gm, 1, UINT64_MAX), "gpa + len wraps to 0");
	cr_assert_null(guest_mem_at(&gm, 0x1000, UINT64_MAX - 0xfff), "gpa + len wraps to 0");
	cr_assert_null(guest_mem_at(&gm, 0x1000, UINT64_MAX - 0x1000 + 2), "wraps to 1");
}

Test(guest_mem_at, gap_is_not_ram)
{
	gm_setup(&gm, BIG);
	cr_assert_not_null(guest_mem_at(&gm, 3 * GIB - 1, 1), "last byte below the gap");
	cr_assert_null(guest_mem_at(&gm, 3 * GIB, 1), "first byte of the gap");
	cr_assert_null(guest_mem_at(&gm, 0xFEC00000, 4), "IOAPIC");
	cr_assert_null(guest_mem_at(&gm, 4 * GIB - 1, 1), "last byte of the gap");
}

Test(guest_mem_at, range_straddling_the_gap_is_refused)
{
	gm_setup(&gm, BIG);
	cr_assert_null(guest_mem_at(&gm, 3 * GIB - 8, 16), "runs from low RAM into the gap");
	cr_assert_null(guest_mem_at(&gm, 4 * GIB - 8, 16), "runs from the gap into high RAM");
	cr_assert_null(guest_mem_at(&gm, 3 * GIB - 8, GIB + 16), "spans the whole gap");
}

Test(guest_mem_at, high_region_starts_at_4g)
{
	gm_setup(&gm, BIG);
	uint8_t *hi = guest_mem_at(&gm, 4 * GIB, 1);
	cr_assert_not_null(hi);
	cr_assert_eq(hi, gm.regions[1].host);
	uint64_t hi_end = 4 * GIB + (BIG - 3 * GIB);
	cr_assert_not_null(guest_mem_at(&gm, hi_end - 1, 1));
	cr_assert_null(guest_mem_at(&gm, hi_end, 1));
	cr_assert_null(guest_mem_at(&gm, hi_end - 1, 2));

	/* Low and high RAM are different bytes. */
	uint8_t *lo = guest_mem_at(&gm, 3 * GIB - 1, 1);
	*lo = 0x11;
	*hi = 0x22;
	cr_assert_eq(*lo, 0x11);
	cr_assert_eq(*(uint8_t *)guest_mem_at(&gm, 4 * GIB, 1), 0x22);
}

Test(guest_mem_at, exactly_3g_has_nothing_at_4g)
{
	gm_setup(&gm, 3 * GIB);
	cr_assert_eq(gm.nregions, 1);
	cr_assert_not_null(guest_mem_at(&gm, 3 * GIB - 1, 1));
	cr_assert_null(guest_mem_at(&gm, 4 * GIB, 1));
}

Test(guest_mem_at, destroyed_memory_has_no_ram)
{
	gm_setup(&gm, MEM);
	guest_mem_destroy(&gm);
	cr_assert_null(guest_mem_at(&gm, 0, 1));
}
