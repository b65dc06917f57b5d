#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../arch/cpuid.h"
#include "../arch/regs.h"
#include "../jail/seccomp.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/util.h"
#include "vm.h"

/* Sent to a vCPU thread to pull it out of KVM_RUN; the handler does nothing. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_kick_signal_install(struct errbuf *e)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler; /* no SA_RESTART: KVM_RUN must return EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return errf(e, "sigaction: %s", strerror(errno));
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* immediate_exit covers a thread between its stop/pause checks and KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

int vcpu_init(struct vm *vm, struct vcpu *vcpu, unsigned index, struct errbuf *e)
{
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return errf(e, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
	void *run = mmap(NULL, (size_t)vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (run == MAP_FAILED)
		return errf(e, "mmap of vCPU %u run area: %s", index, strerror(errno));
	vcpu->run = run;

	if (index == 0) {
		int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
		vm->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	}

	size_t sz = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return errf(e, "out of memory");
	memcpy(c, vm->cpuid, sz);
	cpuid_normalise(c, index, vm->nvcpus, vm->tsc_deadline);
	if (vm->cpu_template && cpu_template_apply_cpuid(vm->cpu_template, c, vm->cpuid, e) < 0) {
		free(c);
		return -1;
	}
	int r = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0)
		return errf(e, "KVM_SET_CPUID2 on vCPU %u: %s", index, strerror(errno));

	if (regs_set_boot_msrs(vcpu->fd, index, e) < 0 ||
	    (vm->cpu_template && cpu_template_apply_msrs(vm->cpu_template, vcpu->fd, index, e) < 0))
		return -1;
	if (index == 0)
		vm->t_tsc_zero_ns = monotonic_ns(); /* the guest TSC's zero, for boot timing */
	return regs_wire_lapic(vcpu->fd, index, e) < 0 || regs_init_fpu(vcpu->fd, index, e) < 0 ?
	       -1 : 0;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	if (out)
		METRIC_INC(metrics.vcpu.exit_io_out);
	else
		METRIC_INC(metrics.vcpu.exit_io_in);
	/* String I/O (rep ins/outs) arrives as count items of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		bus_dispatch(&vcpu->vm->pio, run->io.port, data, run->io.size, out);
}

/* Returns false when this vCPU should stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		if (run->mmio.is_write)
			METRIC_INC(metrics.vcpu.exit_mmio_write);
		else
			METRIC_INC(metrics.vcpu.exit_mmio_read);
		bus_dispatch(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			     run->mmio.is_write);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		ioapic_eoi(&vm->ioapic, run->eoi.vector);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault resets a PC; like Firecracker, a reset ends the VM cleanly. */
		log_warn("vcpu%u: guest shut down (triple fault)", vcpu->index);
		vm_request_stop(vm, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		log_info("vcpu%u: guest system event %u", vcpu->index, run->system_event.type);
		vm_request_stop(vm, run->system_event.type == KVM_SYSTEM_EVENT_CRASH ? 1 : 0);
		return false;
	case KVM_EXIT_HLT:
		log_info("vcpu%u: guest halted", vcpu->index);
		vm_request_stop(vm, 0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu%u: KVM could not enter the guest (hardware reason 0x%llx)",
			  vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu%u: KVM internal error, suberror %u", vcpu->index,
			  run->internal.suberror);
		break;
	default:
		log_error("vcpu%u: unexpected exit reason %u", vcpu->index, run->exit_reason);
		break;
	}
	METRIC_INC(metrics.vcpu.failures);
	vm_request_stop(vm, 1);
	return false;
}

/* One KVM_RUN and its exit; returns false when this vCPU should stop running. */
static bool vcpu_run_once(struct vcpu *vcpu)
{
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
		vcpu->exit_pending = true;
		return vcpu_handle_exit(vcpu);
	}
	vcpu->exit_pending = false;
	if (errno == EINTR || errno == EAGAIN) {
		/* A kick: the loop looks at stopping and paused before running again. */
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		return true;
	}
	log_error("vcpu%u: KVM_RUN: %s", vcpu->index, strerror(errno));
	METRIC_INC(metrics.vcpu.failures);
	vm_request_stop(vcpu->vm, 1);
	return false;
}

void vcpu_complete_exit(struct vcpu *vcpu)
{
	if (vcpu->fd < 0 || !vcpu->run || !vcpu->exit_pending)
		return; /* never ran (vm_run's start gate), or a kick ended the last run */
	/* -EINTR once the access is complete; one that needs another access (a string
	   instruction across MMIO) exits for it first, and is served like any exit. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	while (ioctl(vcpu->fd, KVM_RUN, 0) == 0 && vcpu_handle_exit(vcpu))
		;
	vcpu->exit_pending = false;
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	log_set_thread(name);
	pthread_setname_np(pthread_self(), name); /* in ps -T, top -H and audit lines */

	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	/* vm_run holds the vCPUs until the event thread is filtered too (vm_hold_vcpus). */
	struct errbuf e = { "" };
	if (seccomp_lock_thread(SECCOMP_VCPU, &e) < 0) {
		log_error("vCPU %u: %s", vcpu->index, e.msg);
		vm_request_stop(vm, 1);
		vcpu_set_state(vcpu, VCPU_EXITED);
		return NULL;
	}

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST)) {
		vcpu_park_while_paused(vcpu);
		if (__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST) || !vcpu_run_once(vcpu))
			break;
	}
	vcpu_set_state(vcpu, VCPU_EXITED);
	return NULL;
}
