#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../arch/cpuid.h"
#include "../arch/layout.h"
#include "../jail/seccomp.h"
#include "../lib/log.h"
#include "../lib/util.h"

static int kvm_require_cap(int vm_fd, int cap, const char *name, struct errbuf *e)
{
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, cap) <= 0)
		return errf(e, "KVM lacks %s, which ember needs", name);
	return 0;
}

static int vm_open_kvm(struct vm *vm, struct errbuf *e)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return errf(e, "cannot open /dev/kvm: %s", strerror(errno));
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return errf(e, "/dev/kvm speaks API version %d, ember needs %d", version,
			    KVM_API_VERSION);
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return errf(e, "KVM_CREATE_VM: %s", strerror(errno));

	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP" },
		{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
		{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (kvm_require_cap(vm->vm_fd, caps[i].cap, caps[i].name, e) < 0)
			return -1;
	vm->tsc_deadline = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;

	vm->run_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_mmap_size <= 0)
		return errf(e, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	return 0;
}

static int vm_map_memory(struct vm *vm, uint64_t mem_bytes, const struct vm_mem_options *mo,
			 struct errbuf *e)
{
	unsigned flags = !mo ? 0 : mo->huge_2m ? GUEST_MEM_HUGE_2M :
				   mo->huge_thp ? GUEST_MEM_HUGE_THP : 0;
	if (mo && mo->from_file ? guest_mem_init_file(&vm->mem, mem_bytes, mo->file_fd, e) < 0 :
				  guest_mem_init_flags(&vm->mem, mem_bytes, flags, e) < 0)
		return -1;
	if (mo && mo->dirty_log && guest_mem_track_writes(&vm->mem, e) < 0)
		return -1;
	struct stat st;
	if (mo && mo->from_file && fstat(mo->file_fd, &st) == 0)
		vm->mem_file = (struct vm_mem_file){ true, st.st_dev, st.st_ino };
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->host,
			.flags = mo && mo->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return errf(e, "KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB): %s", i,
				    (unsigned long long)(r->size / MIB), strerror(errno));
	}
	return 0;
}

/*
 * Split irqchip: LAPICs in the kernel, IOAPIC in ember, no PIC, no PIT. The first
 * IOAPIC_NUM_PINS GSIs are reserved for the IOAPIC's routes.
 */
static int vm_enable_split_irqchip(struct vm *vm, struct errbuf *e)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args[0] = IOAPIC_NUM_PINS,
	};
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return errf(e, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR) < 0)
		return errf(e, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	return 0;
}

static void vm_send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		log_once(LOG_WARN, "KVM_SIGNAL_MSI: %s", strerror(errno));
}

static void vm_set_ioapic_routes(void *ctx, const struct ioapic_route routes[IOAPIC_NUM_PINS])
{
	struct vm *vm = ctx;
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry entries[IOAPIC_NUM_PINS];
	} table;
	memset(&table, 0, sizeof(table));
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		/* No route for a masked pin: an irqfd on it then delivers nothing. */
		if (routes[pin].masked)
			continue;
		struct kvm_irq_routing_entry *r = &table.entries[table.hdr.nr++];
		r->gsi = pin;
		r->type = KVM_IRQ_ROUTING_MSI;
		r->u.msi.address_lo = (uint32_t)routes[pin].addr;
		r->u.msi.address_hi = (uint32_t)(routes[pin].addr >> 32);
		r->u.msi.data = routes[pin].data;
	}
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &table) < 0)
		log_once(LOG_WARN, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
}

static const struct ioapic_ops vm_ioapic_ops = {
	.send_msi = vm_send_msi,
	.routes_changed = vm_set_ioapic_routes,
};

static void vm_on_stop(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;
	(void)events;
	if (read(vm->stop_fd, &v, sizeof(v)) == sizeof(v))
		vm->host.loop->stop = true;
}

static void vm_stop_from_device(void *ctx, int status)
{
	vm_request_stop(ctx, status);
}

int vm_create(struct vm *vm, struct event_loop *loop, uint64_t mem_bytes, unsigned nvcpus,
	      const struct vm_mem_options *mo, struct errbuf *e)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	vm->nvcpus = nvcpus;
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm_pause_init(vm);
	vm->host = (struct vm_host){ .mem = &vm->mem, .loop = loop, .pio = &vm->pio,
				     .mmio = &vm->mmio, .ioapic = &vm->ioapic, .vm_fd = -1,
				     .request_stop = vm_stop_from_device, .stop_ctx = vm };

	if (vm_open_kvm(vm, e) < 0 || vm_map_memory(vm, mem_bytes, mo, e) < 0 ||
	    vm_enable_split_irqchip(vm, e) < 0 || cpuid_get_supported(vm->kvm_fd, &vm->cpuid, e) < 0)
		return -1;
	vm->host.vm_fd = vm->vm_fd;

	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		return errf(e, "eventfd: %s", strerror(errno));
	vm->stop_handler = (struct event_handler){ vm_on_stop, vm };
	if (event_loop_add(loop, vm->stop_fd, EPOLLIN, &vm->stop_handler) < 0)
		return errf(e, "epoll: %s", strerror(errno));

	/* The IOAPIC's id follows the CPUs' APIC ids, as the MP table says. */
	ioapic_init(&vm->ioapic, (uint8_t)nvcpus, &vm_ioapic_ops, vm);
	if (bus_register(&vm->mmio, IOAPIC_BASE, IOAPIC_SIZE, ioapic_mmio, &vm->ioapic, "ioapic",
			 e) < 0)
		return -1;
	return 0;
}

int vm_create_vcpus(struct vm *vm, struct errbuf *e)
{
	if (vm->cpu_template && cpu_template_check_caps(vm->cpu_template, vm->vm_fd, e) < 0)
		return -1;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vcpu_init(vm, &vm->vcpus[i], i, e) < 0)
			return -1;
	return 0;
}

void vm_request_stop(struct vm *vm, int status)
{
	if (__atomic_exchange_n(&vm->stopping, true, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&vm->exit_status, status, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_error("cannot signal VM stop: %s", strerror(errno));
}

void vm_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

static void vm_stop_vcpus(struct vm *vm)
{
	vm_pause_wake_for_stop(vm); /* parked threads are not in KVM_RUN: a kick misses them */
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started)
			vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
}

int vm_run(struct vm *vm, struct errbuf *e)
{
	sigset_t set;
	vm_stop_signals(&set);
	/* Blocked before any vCPU thread exists, so they inherit the mask (the VMM's
	 * signalfd reads them). */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (vcpu_kick_signal_install(e) < 0)
		return -1;
	bool gate = vm_hold_vcpus(vm);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		/* Running before the thread exists, so a pause right after vm_run waits for it. */
		vcpu_set_state(&vm->vcpus[i], VCPU_RUNNING);
		int err = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (err) {
			vcpu_set_state(&vm->vcpus[i], VCPU_NO_THREAD);
			vm_request_stop(vm, 1);
			vm_stop_vcpus(vm);
			return errf(e, "cannot start vCPU thread %u: %s", i, strerror(err));
		}
		vm->vcpus[i].started = true;
	}
	log_set_thread("event");
	/* Its own filter, stacked on the build filter, before any vCPU runs: from here on
	   nothing creates, so the guest never meets a thread that could. */
	if (seccomp_lock_thread(SECCOMP_VMM, e) < 0) {
		vm_request_stop(vm, 1);
		vm_stop_vcpus(vm);
		return -1;
	}
	if (gate)
		vm_release_vcpus(vm);
	vm->host.loop->stop = false; /* the VMM ran it before boot, until InstanceStart */
	event_loop_run(vm->host.loop);
	vm_stop_vcpus(vm);
	return __atomic_load_n(&vm->exit_status, __ATOMIC_SEQ_CST);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, (size_t)vm->run_mmap_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->cpuid);
	free(vm->snapshot_msrs);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd); /* which also takes it out of the loop */
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
