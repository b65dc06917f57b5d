/*
 * Pause and resume (Firecracker's PATCH /vm). The event thread sets paused and kicks
 * every vCPU; a vCPU thread checks paused before each KVM_RUN and parks on a condvar.
 *
 * The kick race: a thread that read paused == false just before vm_pause set it is
 * about to enter KVM_RUN. vcpu_kick sets immediate_exit after paused is set, so that
 * KVM_RUN returns at once; the thread clears immediate_exit and then reads paused
 * again (both sequentially consistent), so it either sees paused or its clear came
 * before the kick's set and the next KVM_RUN returns at once too.
 */
#include "pause.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "../lib/metrics.h"
#include "../lib/util.h"
#include "vm.h"

void vm_pause_init(struct vm *vm)
{
	struct vm_pause *p = &vm->pause;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	/* Timeouts on CLOCK_MONOTONIC: a wall-clock step must not cut a pause short. */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, &attr);
	pthread_cond_init(&p->changed, &attr);
	pthread_condattr_destroy(&attr);
	p->paused = false;
}

bool vm_is_paused(const struct vm *vm)
{
	return __atomic_load_n(&vm->pause.paused, __ATOMIC_SEQ_CST);
}

static bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST);
}

void vcpu_set_state(struct vcpu *vcpu, enum vcpu_state state)
{
	struct vm_pause *p = &vcpu->vm->pause;
	pthread_mutex_lock(&p->lock);
	vcpu->state = state;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

void vcpu_park_while_paused(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_pause *p = &vm->pause;
	if (!vm_is_paused(vm))
		return;
	vcpu_complete_exit(vcpu);
	pthread_mutex_lock(&p->lock);
	if (p->paused && !vm_stopping(vm)) {
		vcpu->state = VCPU_PARKED;
		pthread_cond_broadcast(&p->changed);
		/* stopping is set before vm_pause_wake_for_stop takes the lock: no lost wake-up. */
		while (p->paused && !vm_stopping(vm))
			pthread_cond_wait(&p->wake, &p->lock);
		vcpu->state = VCPU_RUNNING;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
}

/*
 * The start gate: vm_run holds the vCPUs before their threads exist, so that each one
 * parks after locking itself down (seccomp) and none runs guest code before the event
 * thread has its own filter too; then it lets them go.
 */
bool vm_hold_vcpus(struct vm *vm)
{
	bool was = false;
	/* A VM paused before it ran (tests do that) stays paused: the gate is not ours. */
	return __atomic_compare_exchange_n(&vm->pause.paused, &was, true, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void vm_release_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	__atomic_store_n(&vm->pause.paused, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause.wake);
	pthread_mutex_unlock(&vm->pause.lock);
}

void vm_pause_wake_for_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause.lock);
	pthread_cond_broadcast(&vm->pause.wake);
	pthread_mutex_unlock(&vm->pause.lock);
}

/* The first vCPU in state, or -1. Called with the lock held. */
static int vm_find_vcpu_in(const struct vm *vm, enum vcpu_state state)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].state == state)
			return (int)i;
	return -1;
}

static struct timespec deadline_after_ms(unsigned ms)
{
	return timespec_after_ms(CLOCK_MONOTONIC, ms);
}

/* Waits, lock held, until no vCPU is in state; returns the index of one still there. */
static int vm_wait_none_in(struct vm *vm, enum vcpu_state state)
{
	struct timespec deadline = deadline_after_ms(VM_PAUSE_TIMEOUT_MS);
	int i;
	while ((i = vm_find_vcpu_in(vm, state)) >= 0)
		if (pthread_cond_timedwait(&vm->pause.changed, &vm->pause.lock, &deadline) ==
		    ETIMEDOUT)
			return vm_find_vcpu_in(vm, state);
	return -1;
}

static void vm_kick_running(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].state == VCPU_RUNNING)
			vcpu_kick(&vm->vcpus[i]);
}

int vm_pause(struct vm *vm, struct errbuf *e)
{
	struct vm_pause *p = &vm->pause;
	uint64_t t0 = monotonic_ns();
	pthread_mutex_lock(&p->lock);
	if (p->paused) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	__atomic_store_n(&p->paused, true, __ATOMIC_SEQ_CST);
	vm_kick_running(vm);
	int stuck = vm_wait_none_in(vm, VCPU_RUNNING);
	if (stuck >= 0) {
		/* Half paused helps nobody: let the others run again and say who hung. */
		__atomic_store_n(&p->paused, false, __ATOMIC_SEQ_CST);
		pthread_cond_broadcast(&p->wake);
	}
	pthread_mutex_unlock(&p->lock);
	if (stuck >= 0)
		return errf(e, "vCPU %d did not pause within %u ms", stuck, VM_PAUSE_TIMEOUT_MS);
	METRIC_STORE(metrics.latencies_us.vmm_pause_vm, (monotonic_ns() - t0) / 1000);
	return 0;
}

int vm_resume(struct vm *vm, struct errbuf *e)
{
	struct vm_pause *p = &vm->pause;
	uint64_t t0 = monotonic_ns();
	pthread_mutex_lock(&p->lock);
	if (!p->paused) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	__atomic_store_n(&p->paused, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&p->wake);
	int stuck = vm_wait_none_in(vm, VCPU_PARKED);
	pthread_mutex_unlock(&p->lock);
	if (stuck >= 0)
		return errf(e, "vCPU %d did not resume within %u ms", stuck, VM_PAUSE_TIMEOUT_MS);
	METRIC_STORE(metrics.latencies_us.vmm_resume_vm, (monotonic_ns() - t0) / 1000);
	return 0;
}
