/*
 * The VM's part of a snapshot: kvmclock, the IOAPIC, each vCPU's KVM state (through
 * arch/cpu_state.c) and guest RAM. Called on the event thread with every vCPU parked,
 * so the vCPU fds are quiet; a parked vCPU has finished its last exit's instruction
 * (vcpu_park_while_paused), so no half-done MMIO or port access is left out.
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"

#define PAGE 4096ULL

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vm_save_state(struct vm *vm, struct vm_state *s, struct errbuf *e)
{
	memset(s, 0, sizeof(*s));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
		return errf(e, "KVM_GET_CLOCK: %s", strerror(errno));
	s->realtime_ns = realtime_ns();
	ioapic_save(&vm->ioapic, &s->ioapic);
	return 0;
}

int vm_restore_state(struct vm *vm, const struct vm_state *s, bool clock_realtime,
		     struct errbuf *e)
{
	/* Only the clock's value: the flags describe the host it was read on. */
	struct kvm_clock_data clock = { .clock = s->clock.clock };
	uint64_t now = realtime_ns();
	if (clock_realtime && now > s->realtime_ns)
		clock.clock += now - s->realtime_ns;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return errf(e, "KVM_SET_CLOCK: %s", strerror(errno));
	ioapic_restore(&vm->ioapic, &s->ioapic);
	return 0;
}

int vm_save_vcpu(struct vm *vm, unsigned index, struct cpu_state *s, struct errbuf *e)
{
	if (!vm->snapshot_msrs) {
		vm->snapshot_msrs = calloc(CPU_STATE_MAX_MSRS, sizeof(*vm->snapshot_msrs));
		if (!vm->snapshot_msrs)
			return errf(e, "out of memory");
		if (cpu_state_msr_list(vm->kvm_fd, vm->vcpus[0].fd, vm->snapshot_msrs,
				       &vm->snapshot_nmsrs, e) < 0) {
			free(vm->snapshot_msrs);
			vm->snapshot_msrs = NULL;
			return -1;
		}
	}
	return cpu_state_save(vm->vcpus[index].fd, index, vm->snapshot_msrs, vm->snapshot_nmsrs,
			      s, e);
}

int vm_restore_vcpu(struct vm *vm, unsigned index, const struct cpu_state *s,
		    struct errbuf *e)
{
	if (cpu_state_check_cpuid(s, vm->cpuid, e) < 0)
		return -1;
	return cpu_state_restore(vm->vcpus[index].fd, index, s, e);
}

/* Writes [p, p + len) at off, whole. */
static int write_at(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, p + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (uint64_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < 4096 / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* /proc/self/pagemap: a page present or swapped out has been touched (bits 63, 62). */
#define PAGEMAP_TOUCHED (3ULL << 62)
#define PAGEMAP_CHUNK 512 /* pages looked up with one pread: 2 MiB of RAM */

/* A page worth writing: touched (when pagemap can tell) and not all zeros. */
static bool page_has_data(const uint8_t *p, bool known, uint64_t pagemap_entry)
{
	return (!known || (pagemap_entry & PAGEMAP_TOUCHED)) && !page_is_zero(p);
}

/*
 * Runs of pages with data of [p, p + len) written at off; the others stay holes. pm is
 * /proc/self/pagemap, or -1 (no /proc, as in a jail, or RAM that is a file's: there a
 * page not present still holds the file's data): then every page is read. With it, a
 * page never touched is skipped unread, so a large idle guest costs neither the time
 * to read its untouched RAM nor the page tables that reading would build.
 */
static int vm_write_region(int fd, const uint8_t *p, uint64_t len, uint64_t off, int pm)
{
	uint64_t ent[PAGEMAP_CHUNK];
	for (uint64_t base = 0; base < len; base += PAGEMAP_CHUNK * PAGE) {
		uint64_t n = (len - base) / PAGE < PAGEMAP_CHUNK ? (len - base) / PAGE : PAGEMAP_CHUNK;
		off_t at = (off_t)((uintptr_t)(p + base) / PAGE * sizeof(uint64_t));
		bool known = pm >= 0 && pread(pm, ent, n * sizeof(uint64_t), at) ==
						(ssize_t)(n * sizeof(uint64_t));
		for (uint64_t i = 0; i < n;) {
			while (i < n && !page_has_data(p + base + i * PAGE, known, ent[i]))
				i++;
			uint64_t start = i;
			while (i < n && page_has_data(p + base + i * PAGE, known, ent[i]))
				i++;
			if (i > start && write_at(fd, p + base + start * PAGE, (i - start) * PAGE,
						  off + base + start * PAGE) < 0)
				return -1;
		}
	}
	return 0;
}

/* Region i's dirty pages since the last call: KVM's log (the guest) | ember's writes. */
static int vm_dirty_pages(struct vm *vm, unsigned i, uint64_t *bitmap, struct errbuf *e)
{
	const struct guest_mem_region *g = &vm->mem.regions[i];
	uint64_t pages = g->size / PAGE, first = (uint64_t)(g->host - vm->mem.host) / PAGE;
	struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = bitmap };
	memset(bitmap, 0, (pages + 63) / 64 * 8);
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return errf(e, "KVM_GET_DIRTY_LOG (slot %u): %s", i, strerror(errno));
	const uint64_t *written = vm->mem.written; /* quiet: the VM is paused */
	for (uint64_t pg = 0; pg < pages; pg++) {
		uint64_t w = first + pg;
		if (written[w / 64] & (1ULL << (w % 64)))
			bitmap[pg / 64] |= 1ULL << (pg % 64);
	}
	return 0;
}

/* Runs of pages set in bitmap, from region i of RAM to fd at off. */
static int vm_write_dirty(struct vm *vm, unsigned i, const uint64_t *bitmap, int fd,
			  uint64_t off, uint64_t *pages_out)
{
	const struct guest_mem_region *g = &vm->mem.regions[i];
	uint64_t pages = g->size / PAGE;
	for (uint64_t pg = 0; pg < pages;) {
		if (!(bitmap[pg / 64] & (1ULL << (pg % 64)))) {
			pg++;
			continue;
		}
		uint64_t run = pg;
		while (run < pages && (bitmap[run / 64] & (1ULL << (run % 64))))
			run++;
		if (write_at(fd, g->host + pg * PAGE, (run - pg) * PAGE, off + pg * PAGE) < 0)
			return -1;
		*pages_out += run - pg;
		pg = run;
	}
	return 0;
}

/* Diff: every region's dirty pages; or, after a full write, only the logs emptied. */
static int vm_save_dirty(struct vm *vm, int fd, bool write, struct errbuf *e)
{
	uint64_t off = 0, pages = 0;
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		uint64_t n = vm->mem.regions[i].size / PAGE;
		uint64_t *bitmap = malloc((n + 63) / 64 * 8);
		if (!bitmap)
			return errf(e, "out of memory");
		int r = vm_dirty_pages(vm, i, bitmap, e) < 0 ? -1 :
			write && vm_write_dirty(vm, i, bitmap, fd, off, &pages) < 0 ?
			errf(e, "memory file: write: %s", strerror(errno)) : 0;
		free(bitmap);
		if (r < 0)
			return -1;
		off += vm->mem.regions[i].size;
	}
	memset(vm->mem.written, 0, (vm->mem.size / PAGE + 63) / 64 * 8);
	if (write)
		log_info("diff snapshot: %llu dirty pages written", (unsigned long long)pages);
	return 0;
}

/* Full: all RAM, zero and untouched pages as holes. */
static int vm_save_all(struct vm *vm, int fd)
{
	uint64_t off = 0;
	int r = 0;
	if (ftruncate(fd, (off_t)vm->mem.size) < 0)
		return -1;
	int pm = vm->mem_file.mapped ? -1 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (unsigned i = 0; r == 0 && i < vm->mem.nregions; i++) {
		const struct guest_mem_region *g = &vm->mem.regions[i];
		r = vm_write_region(fd, g->host, g->size, off, pm);
		off += g->size;
	}
	if (pm >= 0)
		close(pm);
	return r;
}

/* path is not the file this VM's RAM is mapped from (same device and inode). */
static int vm_check_not_backing(const struct vm *vm, int fd, const char *path, struct errbuf *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errf(e, "memory file %s: %s", path, strerror(errno));
	if (vm->mem_file.mapped && st.st_dev == vm->mem_file.dev && st.st_ino == vm->mem_file.ino)
		return errf(e, "memory file %s: this VM's RAM is mapped from it (it was restored "
			    "from it); write the snapshot to another file", path);
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISREG(st.st_mode) && size != vm->mem.size &&
	    size != vm->mem.size + VM_MEM_TRAILER_SIZE && size != 0)
		return 1; /* not ours: only a diff cares */
	return 0;
}

struct vm_mem_trailer {
	char magic[8];
	uint64_t token;
};

static int vm_write_trailer(int fd, uint64_t mem_size, uint64_t token)
{
	struct vm_mem_trailer t = { .token = token };
	memcpy(t.magic, VM_MEM_TRAILER_MAGIC, sizeof(t.magic));
	return ftruncate(fd, (off_t)(mem_size + VM_MEM_TRAILER_SIZE)) < 0 ? -1 :
	       write_at(fd, (const uint8_t *)&t, sizeof(t), mem_size);
}

int vm_check_memory_token(int fd, uint64_t mem_size, uint64_t token, const char *path,
			  struct errbuf *e)
{
	struct vm_mem_trailer t;
	if (pread(fd, &t, sizeof(t), (off_t)mem_size) != (ssize_t)sizeof(t) ||
	    memcmp(t.magic, VM_MEM_TRAILER_MAGIC, sizeof(t.magic)) != 0)
		return 0; /* plain RAM: nothing to check */
	if (t.token != token)
		return errf(e, "memory file %s belongs to another snapshot (a later Diff snapshot "
			    "updated it?)", path);
	return 0;
}

int vm_check_not_ram(const struct vm *vm, const char *path, struct errbuf *e)
{
	struct stat st;
	if (!vm->mem_file.mapped)
		return 0;
	/* open and fstat: the event thread's filter has no stat */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	bool same = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == vm->mem_file.dev &&
		    st.st_ino == vm->mem_file.ino;
	if (fd >= 0)
		close(fd);
	if (same)
		return errf(e, "%s: this VM's RAM is mapped from it (it was restored from it); "
			    "write the snapshot to other files", path);
	return 0;
}

int vm_save_memory(struct vm *vm, const char *path, bool diff, uint64_t token,
		   struct errbuf *e)
{
	if (diff && !vm->mem.written)
		return errf(e, "a Diff snapshot needs track_dirty_pages (machine-config or "
			    "snapshot-load)");
	/* No O_TRUNC before the check: truncating the file RAM is mapped from kills the VM. */
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (diff ? 0 : O_CREAT), 0600);
	if (fd < 0)
		return errf(e, "memory file %s: %s%s", path, strerror(errno),
			    diff && errno == ENOENT ? " (a Diff snapshot updates a Full one's file)" : "");
	int other = vm_check_not_backing(vm, fd, path, e);
	if (other < 0 || (diff && other)) {
		if (other > 0)
			errf(e, "memory file %s: not %llu bytes, so not this VM's full snapshot", path,
			     (unsigned long long)vm->mem.size);
		close(fd);
		return -1;
	}
	int r = diff ? 0 : fchmod(fd, 0600) < 0 || ftruncate(fd, 0) < 0 || vm_save_all(vm, fd) < 0 ?
		errf(e, "memory file %s: write: %s", path, strerror(errno)) : 0;
	/* After a full write the logs only restart; a diff writes what they hold. */
	if (r == 0 && vm->mem.written)
		r = vm_save_dirty(vm, fd, diff, e);
	if (r == 0 && vm_write_trailer(fd, vm->mem.size, token) < 0)
		r = errf(e, "memory file %s: write: %s", path, strerror(errno));
	close(fd);
	return r;
}
