/*
 * What each thread may ask of the kernel, and why. One row per (syscall, argument
 * condition); a syscall with several rows is allowed when any of them matches. Anything
 * else raises SIGSYS and ends ember with status 148 (jail/seccomp.c).
 *
 * Threads (jail/seccomp.h): VMM = the event thread (devices, timers, signals, API
 * replies, exit); API = the HTTP thread; VCPU = each KVM_RUN loop with the exits it
 * handles (port and MMIO devices, IOAPIC writes); BUILD = the event thread from its
 * first API request until the VM is built: every row of the table, and its own.
 *
 * Everything opened or created for the VM (/dev/kvm, guest RAM, TAPs, drives,
 * eventfds, the io_uring, the vCPU threads) is made under the build filter, and the
 * threads that run the VM get theirs after. So they have no socket(), no execve, no
 * clone, no open except where a device must reopen a file (PATCH /drives), and no
 * thread ever has mmap/mprotect with PROT_EXEC.
 *
 * Integer arguments are compared on their low 32 bits (MASKED_EQ with 0xffffffff):
 * musl passes ioctl requests as int, so a request with bit 31 set arrives
 * sign-extended, and glibc's arrives zero-extended.
 */
#include "seccomp.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "../lib/util.h"

#define LOW32 0xffffffffULL

/* Argument conditions. */
#define EQ32(i, v)       { (i), SCMP_CMP_MASKED_EQ, LOW32, (uint32_t)(v) }
#define NONE_OF(i, bits) { (i), SCMP_CMP_MASKED_EQ, (bits), 0 }
/* futex: the operation without the PRIVATE and CLOCK_REALTIME flags. */
#define FUTEX_OP_IS(v)   { 1, SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK & LOW32, (v) }

#define ALLOW(t, sys, reason)                                                             \
	{ .threads = (t), .nr = SCMP_SYS(sys), .name = #sys, .why = reason }
#define ALLOW_IF(t, sys, reason, ...)                                                     \
	{ .threads = (t), .nr = SCMP_SYS(sys), .name = #sys, .why = reason,               \
	  .nargs = sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) / sizeof(struct scmp_arg_cmp), \
	  .args = { __VA_ARGS__ } }
#define IOCTL(t, req, reason) ALLOW_IF(t, ioctl, #req ": " reason, EQ32(1, req))

enum {
	ALL = SECCOMP_T_ALL,
	VMM = SECCOMP_T_VMM,
	API = SECCOMP_T_API,
	VCPU = SECCOMP_T_VCPU,
	BUILD = SECCOMP_T_BUILD,
};

const struct seccomp_rule seccomp_rules[] = {
	/* ---- every thread ---- */
	ALLOW(ALL, exit, "a thread ends (pthread_exit)"),
	ALLOW(ALL, exit_group, "the process ends, also from the SIGSYS handler"),
	ALLOW_IF(ALL, futex, "FUTEX_WAIT: mutexes, condition variables, pthread_join",
		 FUTEX_OP_IS(FUTEX_WAIT)),
	ALLOW_IF(ALL, futex, "FUTEX_WAKE: the other half", FUTEX_OP_IS(FUTEX_WAKE)),
	ALLOW_IF(ALL, futex, "FUTEX_REQUEUE: musl's pthread_cond_broadcast",
		 FUTEX_OP_IS(FUTEX_REQUEUE)),
	ALLOW(ALL, rt_sigprocmask, "musl masks signals around thread exit and pthread_kill"),
	ALLOW(ALL, write, "log lines; eventfd signals; serial output (vCPU)"),
	ALLOW(ALL, clock_gettime, "log and metrics timestamps when the vDSO cannot read the clock"),
	ALLOW_IF(ALL, mmap, "malloc; never executable", NONE_OF(2, PROT_EXEC)),
	ALLOW_IF(ALL, mprotect, "malloc's metadata pages; never executable",
		 NONE_OF(2, PROT_EXEC)),
	ALLOW(ALL, munmap, "free returns a large block"),
	ALLOW(ALL, brk, "malloc's metadata area"),
	ALLOW(ALL, mremap, "realloc of large blocks"),
	ALLOW_IF(ALL, madvise, "free returns pages (MADV_FREE)", EQ32(2, MADV_FREE)),

	/* ---- the event (VMM) thread ---- */
	ALLOW(VMM, epoll_pwait, "the event loop (musl's epoll_wait)"),
	ALLOW(VMM, epoll_ctl, "devices start and stop watching their fds"),
	ALLOW(VMM, read, "eventfds, timerfds, signalfd, TAP frames, serial input"),
	ALLOW(VMM, readv, "TAP frames into guest buffers"),
	ALLOW(VMM, writev, "TAP frames from guest buffers; stdio on the way out"),
	ALLOW(VMM, preadv, "virtio-blk sync engine reads"),
	ALLOW(VMM, pwritev, "virtio-blk sync engine writes"),
	ALLOW(VMM, fdatasync, "virtio-blk FLUSH"),
	ALLOW(VMM, fallocate, "virtio-blk DISCARD and WRITE_ZEROES (sync engine)"),
	ALLOW(VMM, io_uring_enter, "virtio-blk async engine"),
	ALLOW(VMM, timerfd_settime, "rate limiters and the metrics period"),
	ALLOW(VMM, close, "PATCH /drives swaps files; teardown at exit"),
	ALLOW(VMM, open, "PATCH /drives opens the new backing file"),
	ALLOW(VMM, fstat, "PATCH /drives: the new file's kind and size"),
	ALLOW(VMM, flock, "PATCH /drives: one writer per backing file"),
	ALLOW_IF(VMM, fcntl, "F_SETFD: musl's O_CLOEXEC fallback in open", EQ32(1, F_SETFD)),
	ALLOW(VMM, tkill, "pthread_kill: pulls a vCPU out of KVM_RUN (pause, stop)"),
	ALLOW(VMM, unlink, "the API socket is removed at exit"),
	IOCTL(VMM, KVM_SIGNAL_MSI, "an interrupt through the user-space IOAPIC (serial input)"),
	IOCTL(VMM, KVM_IOEVENTFD, "a virtio device goes live or is reset"),
	IOCTL(VMM, KVM_IRQFD, "a virtio device goes live or is reset"),
	IOCTL(VMM, BLKGETSIZE64, "PATCH /drives with a block device"),
	IOCTL(VMM, TCSETS, "the terminal's settings restored at exit"),
	IOCTL(VMM, TIOCGWINSZ, "musl's stdio asks once whether stdout is a terminal"),
	ALLOW(VMM, ftruncate, "snapshot-create: the memory file's size (zero pages stay holes)"),
	ALLOW(VMM, fchmod, "snapshot-create: state and memory files are the owner's only"),
	ALLOW(VMM, pwrite64, "snapshot-create: guest RAM into the memory file"),
	ALLOW(VMM, pread64, "snapshot-create: which guest pages were ever touched (/proc/self/pagemap); before boot: kernel and initrd headers, a memory file's trailer"),
	IOCTL(VMM, KVM_GET_CLOCK, "snapshot-create: kvmclock"),
	IOCTL(VMM, KVM_GET_DIRTY_LOG, "snapshot-create: the pages a Diff snapshot writes"),
	IOCTL(VMM, KVM_GET_MSR_INDEX_LIST, "snapshot-create: which MSRs to save (first time)"),
	IOCTL(VMM, KVM_GET_MSRS, "snapshot-create: a parked vCPU's MSRs"),
	IOCTL(VMM, KVM_GET_TSC_KHZ, "snapshot-create: a parked vCPU's TSC rate"),
	IOCTL(VMM, KVM_GET_MP_STATE, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_REGS, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_SREGS, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_XSAVE, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_XCRS, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_DEBUGREGS, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_LAPIC, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_CPUID2, "snapshot-create: a parked vCPU's state"),
	IOCTL(VMM, KVM_GET_VCPU_EVENTS, "snapshot-create: a parked vCPU's state"),

	/* ---- the API thread ---- */
	ALLOW(API, epoll_pwait, "its event loop"),
	ALLOW(API, epoll_ctl, "connections come and go"),
	ALLOW_IF(API, accept4, "new connections, non-blocking and close-on-exec",
		 EQ32(3, SOCK_NONBLOCK | SOCK_CLOEXEC)),
	ALLOW(API, recvfrom, "requests (recv)"),
	ALLOW(API, sendto, "answers (send)"),
	ALLOW(API, read, "the eventfds from the VMM thread"),
	ALLOW(API, close, "connections end"),

	/* ---- vCPU threads ---- */
	IOCTL(VCPU, KVM_RUN, "the vCPU loop"),
	IOCTL(VCPU, KVM_SIGNAL_MSI, "the IOAPIC delivers an interrupt (EOI, unmask)"),
	IOCTL(VCPU, KVM_SET_GSI_ROUTING, "the guest programs the IOAPIC"),
	ALLOW(VCPU, rt_sigreturn, "the kick signal's handler returns"),
	IOCTL(VCPU, TUNSETOFFLOAD, "virtio-net goes live (DRIVER_OK): the offloads negotiated"),
	ALLOW(VCPU, io_uring_enter, "a virtio-blk reset waits for its in-flight async requests"),
	ALLOW(VCPU, read, "serial input: the FIFO refilled when the guest reads RBR"),

	/* ---- the event thread until the VM is built, besides every row above ----
	 * From before it parses the first API request (PUT /logger and PUT /metrics open
	 * their files with the VMM thread's open) to InstanceStart's last step. */
	IOCTL(BUILD, KVM_GET_API_VERSION, "/dev/kvm is the API ember speaks"),
	IOCTL(BUILD, KVM_CHECK_EXTENSION, "the capabilities ember needs"),
	IOCTL(BUILD, KVM_CREATE_VM, "the VM"),
	IOCTL(BUILD, KVM_GET_VCPU_MMAP_SIZE, "the size of each vCPU's kvm_run page"),
	IOCTL(BUILD, KVM_SET_USER_MEMORY_REGION, "guest RAM"),
	IOCTL(BUILD, KVM_ENABLE_CAP, "the split irqchip"),
	IOCTL(BUILD, KVM_SET_TSS_ADDR, "the TSS pages Intel's VMX needs"),
	IOCTL(BUILD, KVM_GET_SUPPORTED_CPUID, "the host's CPUID, filtered for the guest"),
	IOCTL(BUILD, KVM_CREATE_VCPU, "the vCPUs"),
	IOCTL(BUILD, KVM_GET_TSC_KHZ, "the guest's TSC frequency, for the boot timer"),
	IOCTL(BUILD, KVM_SET_CPUID2, "each vCPU's CPUID"),
	IOCTL(BUILD, KVM_SET_MSRS, "each vCPU's boot MSRs"),
	IOCTL(BUILD, KVM_GET_LAPIC, "each vCPU's LAPIC: LINT0/LINT1 set up"),
	IOCTL(BUILD, KVM_SET_LAPIC, "each vCPU's LAPIC: LINT0/LINT1 set up"),
	IOCTL(BUILD, KVM_SET_FPU, "each vCPU's FPU control words"),
	IOCTL(BUILD, KVM_GET_SREGS, "each vCPU's entry state"),
	IOCTL(BUILD, KVM_SET_SREGS, "each vCPU's entry state"),
	IOCTL(BUILD, KVM_SET_REGS, "each vCPU's entry state"),
	IOCTL(BUILD, KVM_SET_CLOCK, "snapshot-load: kvmclock"),
	IOCTL(BUILD, KVM_SET_TSC_KHZ, "snapshot-load: the guest's TSC rate on another host"),
	IOCTL(BUILD, KVM_SET_MP_STATE, "snapshot-load: each vCPU's state"),
	IOCTL(BUILD, KVM_SET_XSAVE, "snapshot-load: each vCPU's state"),
	IOCTL(BUILD, KVM_SET_XCRS, "snapshot-load: each vCPU's state"),
	IOCTL(BUILD, KVM_SET_DEBUGREGS, "snapshot-load: each vCPU's state"),
	IOCTL(BUILD, KVM_SET_VCPU_EVENTS, "snapshot-load: each vCPU's state"),
	IOCTL(BUILD, TUNSETIFF, "virtio-net attaches its TAP"),
	IOCTL(BUILD, TUNSETVNETHDRSZ, "virtio-net: the TAP's vnet header size"),
	IOCTL(BUILD, TCGETS, "the serial console: the terminal's settings, restored at exit"),
	ALLOW(BUILD, eventfd2, "ioeventfds, irqfds, the VM's stop signal, serial input"),
	ALLOW(BUILD, timerfd_create, "rate limiters and the metrics period"),
	ALLOW(BUILD, io_uring_setup, "virtio-blk async engine"),
	ALLOW(BUILD, io_uring_register, "the async engine's eventfd, restrictions, enable"),
	ALLOW_IF(BUILD, madvise, "huge_pages Transparent: guest RAM marked MADV_HUGEPAGE",
		 EQ32(2, MADV_HUGEPAGE)),
	ALLOW(BUILD, rt_sigaction, "the signal that kicks a vCPU out of KVM_RUN"),
	ALLOW(BUILD, clone, "the vCPU threads (musl's pthread_create)"),
	ALLOW_IF(BUILD, prctl, "PR_SET_NAME: each vCPU thread names itself",
		 EQ32(0, PR_SET_NAME)),
	ALLOW_IF(BUILD, prctl, "PR_SET_NO_NEW_PRIVS: before a thread stacks its own filter",
		 EQ32(0, PR_SET_NO_NEW_PRIVS)),
	ALLOW_IF(BUILD, seccomp, "a thread stacks its own filter, which only narrows",
		 EQ32(0, SECCOMP_SET_MODE_FILTER)),

#ifdef __GLIBC__
	/* ---- the checking build only (glibc, AddressSanitizer/UBSan, unit tests) ----
	 * The product is static musl; these are what glibc and the sanitizer runtime ask
	 * for besides, so that the tests run the same filters against the ASan build. */
	ALLOW(ALL, epoll_wait, "glibc's epoll_wait"),
	ALLOW_IF(ALL, futex, "glibc's timed waits and pthread_join",
		 FUTEX_OP_IS(FUTEX_WAIT_BITSET)),
	ALLOW_IF(ALL, futex, "glibc's condition variables", FUTEX_OP_IS(FUTEX_WAKE_BITSET)),
	ALLOW(ALL, getdents64, "LeakSanitizer lists /proc/self/task"),
	ALLOW(ALL, getdents, "LeakSanitizer lists /proc/self/task"),
	ALLOW(ALL, lseek, "LeakSanitizer reads /proc files"),
	ALLOW(VMM, openat, "glibc's open"),
	ALLOW(ALL, newfstatat, "glibc's fstat"),
	ALLOW(ALL, madvise, "ASan's allocator (MADV_DONTDUMP, NOHUGEPAGE, ...)"),
	ALLOW(ALL, sigaltstack, "ASan's per-thread signal stack"),
	ALLOW(ALL, gettid, "glibc's pthread_kill and ASan's thread registry"),
	ALLOW(ALL, getpid, "glibc's pthread_kill, ASan"),
	ALLOW(ALL, tgkill, "glibc's pthread_kill"),
	ALLOW(ALL, prctl, "ASan and LeakSanitizer (PR_GET_DUMPABLE, PR_SET_PTRACER, ...)"),
	ALLOW(ALL, sched_yield, "the sanitizer runtime's spin locks"),
	ALLOW(ALL, clone, "LeakSanitizer's leak check at exit stops the world from a clone"),
	ALLOW(ALL, ptrace, "LeakSanitizer's tracer attaches to the threads at exit"),
	ALLOW(ALL, wait4, "LeakSanitizer's tracer"),
	ALLOW(ALL, rt_sigaction, "LeakSanitizer's tracer"),
	ALLOW(ALL, rt_sigreturn, "the sanitizer runtime's signal handlers"),
	ALLOW(ALL, getppid, "LeakSanitizer's tracer checks its parent"),
	ALLOW(ALL, readlink, "the sanitizer's symbolizer finds the binary"),
	ALLOW(ALL, read, "LeakSanitizer reads /proc/self/maps"),
	ALLOW(ALL, close, "LeakSanitizer"),
	ALLOW(ALL, exit_group, "LeakSanitizer's status on leaks"),
	ALLOW(BUILD, clone3, "glibc's pthread_create"),
	ALLOW(BUILD, set_robust_list, "a glibc thread's first steps"),
	ALLOW(BUILD, rseq, "a glibc thread's first steps"),
	ALLOW(BUILD, sched_getaffinity, "pthread_getattr_np: ASan's view of a new thread's stack"),
#endif
};

const size_t seccomp_nrules = ARRAY_SIZE(seccomp_rules);

/* ---- the table's kinds ---- */

static const char *const thread_names[SECCOMP_THREAD_KINDS] = {
	[SECCOMP_VMM] = "vmm", [SECCOMP_API] = "api", [SECCOMP_VCPU] = "vcpu",
	[SECCOMP_BUILD] = "build",
};

const char *seccomp_thread_name(enum seccomp_thread kind)
{
	return kind < SECCOMP_THREAD_KINDS ? thread_names[kind] : "?";
}

bool seccomp_rule_applies(const struct seccomp_rule *r, enum seccomp_thread kind)
{
	return kind == SECCOMP_BUILD || (r->threads & (1u << kind));
}

size_t seccomp_count_syscalls(enum seccomp_thread kind)
{
	size_t n = 0;
	for (size_t i = 0; i < seccomp_nrules; i++) {
		if (!seccomp_rule_applies(&seccomp_rules[i], kind))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = seccomp_rule_applies(&seccomp_rules[j], kind) &&
			       seccomp_rules[j].nr == seccomp_rules[i].nr;
		n += !seen;
	}
	return n;
}
