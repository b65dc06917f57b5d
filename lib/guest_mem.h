/*
 * Guest RAM: one anonymous mapping, seen by the guest as up to two regions, below the
 * 32-bit MMIO gap and from 4 GiB upward. guest_mem_at() is the one way to turn a guest
 * physical address into a host pointer: every access made on the guest's behalf goes
 * through it, so the bounds check lives in one place.
 */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdint.h>

#include "error.h"

#define GUEST_MEM_GAP_START 0xC0000000ULL /* 3 GiB: MMIO gap starts here */
#define GUEST_MEM_HIGH_START 0x100000000ULL /* RAM resumes at 4 GiB */
#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	uint8_t *host;   /* the whole mapping */
	uint64_t size;   /* bytes of RAM */
	unsigned nregions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	/* NULL, or one bit per 4 KiB page of the mapping that ember itself wrote (what a
	   device put in guest buffers and rings): KVM's dirty log sees only the guest's. */
	uint64_t *written;
};

int guest_mem_init(struct guest_mem *gm, uint64_t size, struct errbuf *e);
/* guest_mem_init_flags: GUEST_MEM_HUGE_2M backs RAM with 2 MiB huge pages, reserved up
 * front (hugetlbfs pool), so a short pool is an error at start, not a SIGBUS later. */
#define GUEST_MEM_HUGE_2M 1u
/* GUEST_MEM_HUGE_THP: ordinary pages, marked MADV_HUGEPAGE so the kernel backs them with
 * transparent huge pages where it can (Firecracker's huge_pages "Transparent"). */
#define GUEST_MEM_HUGE_THP 2u
int guest_mem_init_flags(struct guest_mem *gm, uint64_t size, unsigned flags, struct errbuf *e);
/*
 * RAM that is a snapshot's memory file: fd mapped MAP_PRIVATE, so pages load when the
 * guest first touches them, are shared with every VM mapped from the same file until
 * written, and a write never reaches the file. The file must hold size bytes.
 */
int guest_mem_init_file(struct guest_mem *gm, uint64_t size, int fd, struct errbuf *e);
void guest_mem_destroy(struct guest_mem *gm);

/* From now on guest_mem_mark_written records pages (Diff snapshots). */
int guest_mem_track_writes(struct guest_mem *gm, struct errbuf *e);
/* The host wrote [p, p + len), a range guest_mem_at returned: its pages are dirty. */
static inline void guest_mem_mark_written(const struct guest_mem *gm, const void *p,
					  uint64_t len)
{
	if (!gm->written || !len)
		return;
	uint64_t first = (uint64_t)((const uint8_t *)p - gm->host) >> 12;
	uint64_t last = ((uint64_t)((const uint8_t *)p - gm->host) + len - 1) >> 12;
	for (uint64_t pg = first; pg <= last; pg++)
		__atomic_fetch_or(&gm->written[pg / 64], 1ULL << (pg % 64), __ATOMIC_RELAXED);
}

/*
 * Host pointer for [gpa, gpa + len), or NULL when any byte of it is not RAM or lies in
 * another region than the first (a range never straddles the gap). len 0 is refused.
 */
void *guest_mem_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* End (exclusive) of RAM below the gap: where the top of low memory is. */
uint64_t guest_mem_low_end(const struct guest_mem *gm);

#endif
