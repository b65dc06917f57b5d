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

#include "../lib/util.h"

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

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < 4096 / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Runs of non-zero pages of [p, p + len) written at off; zero pages stay holes. */
static int vm_write_region(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	uint64_t i = 0;
	while (i < len) {
		while (i < len && page_is_zero(p + i))
			i += 4096;
		uint64_t start = i;
		while (i < len && !page_is_zero(p + i) && i - start < 64 * MIB)
			i += 4096;
		for (uint64_t done = start; done < i;) {
			ssize_t n = pwrite(fd, p + done, i - done, (off_t)(off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			done += (uint64_t)n;
		}
	}
	return 0;
}

int vm_save_memory(struct vm *vm, const char *path, struct errbuf *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errf(e, "memory file %s: %s", path, strerror(errno));
	int r = fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)vm->mem.size) < 0 ? -1 : 0;
	uint64_t off = 0;
	for (unsigned i = 0; r == 0 && i < vm->mem.nregions; i++) {
		const struct guest_mem_region *g = &vm->mem.regions[i];
		r = vm_write_region(fd, g->host, g->size, off);
		off += g->size;
	}
	int err = errno;
	close(fd);
	if (r < 0)
		return errf(e, "memory file %s: write: %s", path, strerror(err));
	return 0;
}
