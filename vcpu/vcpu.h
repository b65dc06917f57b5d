/* One vCPU: its KVM fd and kvm_run, the thread that runs it (vcpu.c). */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "../lib/error.h"

struct vm;

/* Where a vCPU thread is, as vm_pause sees it; guarded by vm->pause.lock. */
enum vcpu_state {
	VCPU_NO_THREAD = 0,
	VCPU_RUNNING, /* may be in KVM_RUN or handling an exit */
	VCPU_PARKED,  /* waiting for vm_resume or the stop */
	VCPU_EXITED,  /* the thread ended (the VM stops) */
};

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool exit_pending; /* the last KVM_RUN exited to ember: its access completes on entry */
	enum vcpu_state state;
};

int vcpu_init(struct vm *vm, struct vcpu *vcpu, unsigned index, struct errbuf *e);
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *vcpu);
/*
 * Finishes the instruction of the last MMIO or port exit without running another (KVM
 * completes it in the next KVM_RUN, which immediate_exit ends at once), so that the
 * registers a snapshot reads hold its result. The vCPU's own thread, before it parks.
 */
void vcpu_complete_exit(struct vcpu *vcpu);
int vcpu_kick_signal_install(struct errbuf *e);

#endif
