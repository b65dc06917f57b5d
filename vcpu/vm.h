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
#include <sys/types.h>

#include "../arch/cpu_state.h"
#include "../arch/cpu_template.h"
#include "../lib/error.h"
#include "../lib/event_loop.h"
#include "../lib/guest_mem.h"
#include "bus.h"
#include "host.h"
#include "ioapic.h"
#include "pause.h"
#include "vcpu.h"

#define VM_MAX_VCPUS 32

struct vm;

struct vm {
	int kvm_fd, vm_fd;
	int run_mmap_size;
	uint32_t tsc_khz;
	struct kvm_cpuid2 *cpuid; /* what KVM supports; normalised per vCPU */
	bool tsc_deadline;

	struct guest_mem mem;
	struct bus pio, mmio;
	struct ioapic ioapic;

	unsigned nvcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];

	struct vm_host host; /* what devices may use of all this (host.h) */
	struct vm_mem_file { /* the memory file RAM is mapped from, if any */
		bool mapped;
		dev_t dev;
		ino_t ino;
	} mem_file;
	const struct cpu_template *cpu_template; /* NULL, or applied to each vCPU at creation */
	uint32_t *snapshot_msrs; /* the MSRs a snapshot saves: found at the first one */
	uint32_t snapshot_nmsrs;

	uint64_t t_tsc_zero_ns; /* guest TSCs were set to 0 */

	int stop_fd;          /* eventfd: somebody asked the VM to stop */
	int exit_status;      /* first stop request wins */
	bool stopping;        /* atomic */
	struct event_handler stop_handler;
	struct vm_pause pause;
};

/* How guest RAM is backed and tracked (Firecracker's huge_pages, track_dirty_pages). */
struct vm_mem_options {
	bool huge_2m;   /* 2 MiB huge pages */
	bool huge_thp;  /* transparent huge pages (MADV_HUGEPAGE) */
	bool dirty_log; /* KVM_MEM_LOG_DIRTY_PAGES on every RAM slot */
	bool from_file; /* RAM is a snapshot's memory file, file_fd, mapped MAP_PRIVATE */
	int file_fd;
};
/*
 * loop is the VMM's event loop (it outlives the VM): the VM's stop eventfd and its
 * devices watch their fds there. mo NULL: 4 KiB pages, no dirty log.
 */
int vm_create(struct vm *vm, struct event_loop *loop, uint64_t mem_bytes, unsigned nvcpus,
	      const struct vm_mem_options *mo, struct errbuf *e);
void vm_destroy(struct vm *vm);
/* Creates the vCPUs; regs are set for a start at entry (see vcpu_setup_*). */
int vm_create_vcpus(struct vm *vm, struct errbuf *e);
/*
 * Starts the vCPU threads, runs the event loop until the VM stops; returns exit status.
 * The VMM's signal handler turns SIGINT/SIGTERM/SIGHUP into vm_request_stop.
 */
int vm_run(struct vm *vm, struct errbuf *e);
/* Any thread: end the VM with status (the first request wins). */
void vm_request_stop(struct vm *vm, int status);
/* The signals that end a VM cleanly (SIGINT, SIGTERM, SIGHUP), read through a signalfd. */
void vm_stop_signals(sigset_t *set);

/* ---- snapshots (vm_snapshot.c); the VM is paused (every vCPU parked) ---- */

/* What the VM itself holds besides its vCPUs and devices. */
struct vm_state {
	struct kvm_clock_data clock; /* kvmclock */
	uint64_t realtime_ns;        /* the host's wall clock when clock was read */
	struct ioapic_state ioapic;
};
int vm_save_state(struct vm *vm, struct vm_state *s, struct errbuf *e);
/* kvmclock goes on where it stopped (Firecracker's default), or with clock_realtime
   advanced by the wall-clock time since the snapshot. */
int vm_restore_state(struct vm *vm, const struct vm_state *s, bool clock_realtime,
		     struct errbuf *e);
int vm_save_vcpu(struct vm *vm, unsigned index, struct cpu_state *s, struct errbuf *e);
/* Onto a vCPU of vm_create_vcpus, replacing its boot state; checks the CPU features. */
int vm_restore_vcpu(struct vm *vm, unsigned index, const struct cpu_state *s,
		    struct errbuf *e);
/*
 * Guest RAM to path: the regions back to back, as a restore maps them.
 *   full  all of it, into path created 0600; pages of zeros are holes (the file is
 *         sparse), so an idle guest's file costs little disk and little time
 *   diff  only the pages written since the last snapshot (or boot, or restore): KVM's
 *         dirty log for the guest's writes, guest_mem's bitmap for ember's own; path
 *         must be a memory file of this VM's size (the full snapshot it updates)
 * Both start the next interval of the dirty log. Never the file RAM is mapped from:
 * writing it would change the running guest's memory under it.
 */
int vm_save_memory(struct vm *vm, const char *path, bool diff, uint64_t token,
		   struct errbuf *e);
/*
 * token ties a memory file to the state file written with it: a trailer page after
 * guest RAM holds VM_MEM_TRAILER_MAGIC and the token (a restore maps only the RAM before
 * it), and vm_check_memory_token refuses a memory file whose token is another's: a
 * later Diff updated it. A file without the trailer (plain RAM) is taken on trust.
 */
#define VM_MEM_TRAILER_MAGIC "EMBERMEM"
#define VM_MEM_TRAILER_SIZE 4096ULL
int vm_check_memory_token(int fd, uint64_t mem_size, uint64_t token, const char *path,
			  struct errbuf *e);
/* path (if it exists) is not the file RAM is mapped from: one line in e if it is. */
int vm_check_not_ram(const struct vm *vm, const char *path, struct errbuf *e);

#endif
