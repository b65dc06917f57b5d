/* Pause and resume of the vCPU threads (pause.c). */
#ifndef EMBER_PAUSE_H
#define EMBER_PAUSE_H

#include <pthread.h>
#include <stdbool.h>

#include "../lib/error.h"
#include "vcpu.h"

struct vm;

/*
 * Pause: the event thread sets paused and kicks every vCPU out of KVM_RUN; each thread
 * parks on wake before entering KVM_RUN again. changed tells the pauser (and resumer)
 * that a thread parked, left the park or exited.
 */
struct vm_pause {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t changed;
	bool paused; /* written under lock, also read without it (atomic) */
};

/*
 * pause.c. vm_pause returns once every started vCPU thread is parked (out of KVM_RUN,
 * waiting) or has exited; vm_resume once every parked one runs again. Both are for the
 * event thread (the one in vm_run), are idempotent, and fail only when a vCPU does not
 * answer within VM_PAUSE_TIMEOUT_MS (stuck in a device handler): the VM then runs.
 * A stop request ends a paused VM as promptly as a running one.
 */
#define VM_PAUSE_TIMEOUT_MS 5000
int vm_pause(struct vm *vm, struct errbuf *e);
int vm_resume(struct vm *vm, struct errbuf *e);
bool vm_is_paused(const struct vm *vm);
void vm_pause_init(struct vm *vm);
/* Wakes parked vCPUs so they see the stop; called once stopping is set. */
void vm_pause_wake_for_stop(struct vm *vm);
/* vm_run's start gate (see pause.c): true when it closed the gate, false when the VM
   was paused already. */
bool vm_hold_vcpus(struct vm *vm);
void vm_release_vcpus(struct vm *vm);
/* vCPU thread: parks while the VM is paused; returns when it may run (or must stop). */
void vcpu_park_while_paused(struct vcpu *vcpu);
void vcpu_set_state(struct vcpu *vcpu, enum vcpu_state state);

#endif
