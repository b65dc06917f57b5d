/*
 * The machine: one KVM VM with its guest memory, buses, interrupt controller, legacy
 * devices and vCPUs. Built by vm_create() and the *_create() of each device, run by
 * vm_run(), which returns the exit status the guest chose.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/error.h"
#include "../lib/event_loop.h"
#include "../lib/guest_mem.h"
#include "bus.h"
#include "i8042.h"
#include "ioapic.h"
#include "serial.h"

#define VM_MAX_VCPUS 32
/* virtio-mmio devices take IOAPIC pins from 5 up (0-4: timer, keyboard, cascade, COMs). */
#define VM_VIRTIO_FIRST_PIN 5
#define VM_MAX_VIRTIO (IOAPIC_NUM_PINS - VM_VIRTIO_FIRST_PIN)

struct vm;
struct virtio_mmio;

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
	enum vcpu_state state;
};

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

/* Firecracker's boot timer: the guest writes 123 at offset 0 when it has booted. */
struct boot_timer {
	uint64_t start_ns;     /* CLOCK_MONOTONIC */
	uint64_t start_cpu_ns; /* CLOCK_PROCESS_CPUTIME_ID */
};

struct vm {
	int kvm_fd, vm_fd;
	int run_mmap_size;
	uint32_t tsc_khz;
	struct kvm_cpuid2 *cpuid; /* what KVM supports; normalised per vCPU */
	bool tsc_deadline;

	struct guest_mem mem;
	struct bus pio, mmio;
	struct event_loop loop;
	struct ioapic ioapic;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;

	unsigned nvcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];

	unsigned nvirtio; /* slot i: LAYOUT_VIRTIO_MMIO_BASE + i * 4 KiB, pin 5 + i */
	struct virtio_mmio *virtio[VM_MAX_VIRTIO]; /* made by virtio/, freed by the VMM */

	uint64_t t_start_ns;   /* ember's main() began */
	uint64_t t_start_tsc;  /* host TSC at that moment */
	uint64_t t_tsc_zero_ns; /* guest TSCs were set to 0 */

	int stop_fd;          /* eventfd: somebody asked the VM to stop */
	int exit_status;      /* first stop request wins */
	bool stopping;        /* atomic */
	struct event_handler stop_handler;
	int signal_fd;
	struct event_handler signal_handler;
	struct vm_pause pause;
};

/* How guest RAM is backed and tracked (Firecracker's huge_pages, track_dirty_pages). */
struct vm_mem_options {
	bool huge_2m;   /* 2 MiB huge pages */
	bool dirty_log; /* KVM_MEM_LOG_DIRTY_PAGES on every RAM slot */
};
/* mo NULL: 4 KiB pages, no dirty log. */
int vm_create(struct vm *vm, uint64_t mem_bytes, unsigned nvcpus,
	      const struct vm_mem_options *mo, struct errbuf *e);
void vm_destroy(struct vm *vm);
/* Creates the vCPUs; regs are set for a start at entry (see vcpu_setup_*). */
int vm_create_vcpus(struct vm *vm, struct errbuf *e);
/* Starts the vCPU threads, runs the event loop until the VM stops; returns exit status. */
int vm_run(struct vm *vm, struct errbuf *e);
/* Any thread: end the VM with status (the first request wins). */
void vm_request_stop(struct vm *vm, int status);

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
/* The signals that end a VM cleanly (SIGINT, SIGTERM, SIGHUP), read through a signalfd. */
void vm_stop_signals(sigset_t *set);
/* vm_run's start gate (see pause.c): true when it closed the gate, false when the VM
   was paused already. */
bool vm_hold_vcpus(struct vm *vm);
void vm_release_vcpus(struct vm *vm);
/* vCPU thread: parks while the VM is paused; returns when it may run (or must stop). */
void vcpu_park_while_paused(struct vcpu *vcpu);
void vcpu_set_state(struct vcpu *vcpu, enum vcpu_state state);

/*
 * boot_timer.c: the boot-timer MMIO page at LAYOUT_BOOT_TIMER. A guest write of 123 at
 * offset 0 logs the time since start_ns (CLOCK_MONOTONIC) and the process CPU time
 * since start_cpu_ns (boot_timer_cpu_ns()) in Firecracker's format, and stores them in
 * metrics.latencies_us.boot_us / boot_cpu_us.
 */
int boot_timer_create(struct vm *vm, uint64_t start_ns, uint64_t start_cpu_ns,
		      struct errbuf *e);
/* CLOCK_PROCESS_CPUTIME_ID in ns: what start_cpu_ns is measured on. */
uint64_t boot_timer_cpu_ns(void);
void boot_timer_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
		     bool is_write);

/* debug_exit.c: one byte out to port 0xf4 ends the VM with that byte as exit status. */
int debug_exit_create(struct vm *vm, struct errbuf *e);

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *vcpu, unsigned index, struct errbuf *e);
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *vcpu);
int vcpu_kick_signal_install(struct errbuf *e);

/* cpuid.c */
int cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out, struct errbuf *e);
/* Rewrites the entries in c for vCPU index of ncpus: APIC id, topology, hypervisor bit. */
void cpuid_normalise(struct kvm_cpuid2 *c, unsigned index, unsigned ncpus, bool tsc_deadline);

/* regs.c: MSRs, FPU, LAPIC LVTs and the entry state of each boot protocol */
int vcpu_setup_msrs(struct vcpu *vcpu, struct errbuf *e);
int vcpu_setup_lapic(struct vcpu *vcpu, struct errbuf *e);
int vcpu_setup_fpu(struct vcpu *vcpu, struct errbuf *e);
int vcpu_enter_long_mode(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params,
			 struct errbuf *e);
int vcpu_enter_pvh(struct vcpu *vcpu, uint64_t entry, uint64_t start_info, struct errbuf *e);

#endif
