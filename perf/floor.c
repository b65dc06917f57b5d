/*
 * The floor: the least a KVM monitor must do to run a guest that prints one byte and
 * leaves, as one whole process. Its time from exec to exit is the physical limit on a
 * machine, against which perf/startup_bench.sh measures ember (and QEMU).
 *
 *   open /dev/kvm, KVM_CREATE_VM
 *   guest RAM: 128 MiB anonymous, MAP_NORESERVE (ember's default size and flags),
 *     one KVM_SET_USER_MEMORY_REGION
 *   the interrupt controller ember chooses: KVM_CAP_SPLIT_IRQCHIP with 24 IOAPIC pins
 *     (vcpu/vm.c; the LAPIC in the kernel, no PIC, no PIT)
 *   one vCPU: KVM_CREATE_VCPU and its kvm_run mapping; no KVM_SET_CPUID2 (KVM takes
 *     long mode without it; a monitor for real guests needs it, ember does it)
 *   long mode straight away: a GDT, one PML4 -> PDPT -> PD mapping the first 2 MiB with
 *     a large page, CR0.PG|PE, CR4.PAE, EFER.LME|LMA, a 64-bit code segment
 *   guest code: out 0x3f8 <- 'F'; out 0xf4 <- 0; hlt
 *   the serial byte goes to stdout (one write, as ember's UART does), the debug-exit
 *     byte becomes the exit status; the kernel tears the VM down at exit.
 *
 * Nothing else: no threads, no event loop, no UART model, no boot protocol.
 * Static musl, -O2, like ember.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (128ULL << 20)
#define GDT 0x500
#define PML4 0x9000
#define PDPT 0xa000
#define PD 0xb000
#define CODE 0x1000
#define SERIAL_PORT 0x3f8
#define EXIT_PORT 0xf4
#define IOAPIC_PINS 24

#define PTE_P 1ULL
#define PTE_W 2ULL
#define PTE_PS 0x80ULL

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r;
	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die(what);
	return r;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	int vm = xioctl(kvm, KVM_CREATE_VM, NULL, "KVM_CREATE_VM");

	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest RAM");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");

	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = IOAPIC_PINS };
	xioctl(vm, KVM_ENABLE_CAP, &cap, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");

	int cpu = xioctl(vm, KVM_CREATE_VCPU, (void *)0, "KVM_CREATE_VCPU");
	int run_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, NULL, "KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   cpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	/* GDT: null, 64-bit code, data; page tables: the first 2 MiB, one large page. */
	uint64_t *gdt = (uint64_t *)(void *)(mem + GDT);
	gdt[1] = 0x00af9b000000ffffULL;
	gdt[2] = 0x00cf93000000ffffULL;
	*(uint64_t *)(void *)(mem + PML4) = PDPT | PTE_P | PTE_W;
	*(uint64_t *)(void *)(mem + PDPT) = PD | PTE_P | PTE_W;
	*(uint64_t *)(void *)(mem + PD) = 0 | PTE_P | PTE_W | PTE_PS;
	static const uint8_t code[] = {
		0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
		0xb0, 'F',              /* mov al, 'F' */
		0xee,                   /* out dx, al */
		0x31, 0xc0,             /* xor eax, eax */
		0xe6, EXIT_PORT,        /* out 0xf4, al */
		0xf4,                   /* hlt */
	};
	memcpy(mem + CODE, code, sizeof(code));

	struct kvm_sregs sr;
	xioctl(cpu, KVM_GET_SREGS, &sr, "KVM_GET_SREGS");
	struct kvm_segment code64 = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb, .present = 1,
		.dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0x3, .present = 1,
		.dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	sr.cs = code64;
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.gdt.base = GDT;
	sr.gdt.limit = 3 * 8 - 1;
	sr.cr3 = PML4;
	sr.cr4 |= 1ULL << 5;                           /* PAE */
	sr.cr0 = (sr.cr0 & ~(3ULL << 29)) | 1ULL | (1ULL << 4) | (1ULL << 31); /* PE ET PG */
	sr.efer |= (1ULL << 8) | (1ULL << 10);         /* LME LMA */
	xioctl(cpu, KVM_SET_SREGS, &sr, "KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = CODE, .rflags = 2 };
	xioctl(cpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	for (;;) {
		xioctl(cpu, KVM_RUN, NULL, "KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.size != 1) {
			fprintf(stderr, "floor: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
		uint8_t byte = *((uint8_t *)run + run->io.data_offset);
		if (run->io.port == EXIT_PORT)
			return byte;
		if (run->io.port == SERIAL_PORT && write(STDOUT_FILENO, &byte, 1) != 1)
			die("write");
	}
}
