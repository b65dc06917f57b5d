/*
 * What each interrupt-controller choice costs over a VM's whole life: create the VM,
 * register 128 MiB, set up the irqchip, create one vCPU, run two instructions
 * (out to 0xf4, hlt), tear it all down. Modes are alternated within one run and
 * reported as medians, because these machines are noisy.
 *
 *   none        no irqchip at all (floor)
 *   split       KVM_CAP_SPLIT_IRQCHIP (ember's choice)
 *   full        KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2, memory registered first
 *   full-late   KVM_CREATE_IRQCHIP + PIT, memory registered after the irqchip
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_NONE, MODE_SPLIT, MODE_FULL, MODE_FULL_LATE, MODE_COUNT };
static const char *const mode_names[] = { "none", "split", "full", "full-late" };

#define MEM_SIZE (128u << 20)
#define ROUNDS 40

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int check(int r, const char *what)
{
	if (r < 0) {
		perror(what);
		exit(1);
	}
	return r;
}

static void add_memory(int vm, void *mem)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem,
	};
	check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), "KVM_SET_USER_MEMORY_REGION");
}

static void add_irqchip(int vm, enum mode m)
{
	if (m == MODE_SPLIT) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24 };
		check(ioctl(vm, KVM_ENABLE_CAP, &cap), "KVM_ENABLE_CAP split");
	} else if (m == MODE_FULL || m == MODE_FULL_LATE) {
		struct kvm_pit_config pit = { 0 };
		check(ioctl(vm, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
		check(ioctl(vm, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");
	}
}

/* One VM life; returns its duration in ns. */
static uint64_t vm_life(int kvm, enum mode m, int run_size)
{
	uint64_t t0 = now_ns();
	int vm = check(ioctl(kvm, KVM_CREATE_VM, 0), "KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		exit(1);
	static const uint8_t code[] = { 0xe6, 0xf4, 0xf4 }; /* out 0xf4, al; hlt */
	memcpy(mem + 0x1000, code, sizeof(code));
	if (m == MODE_FULL_LATE) {
		add_irqchip(vm, m);
		add_memory(vm, mem);
	} else {
		add_memory(vm, mem);
		add_irqchip(vm, m);
	}
	int cpu = check(ioctl(vm, KVM_CREATE_VCPU, 0), "KVM_CREATE_VCPU");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   cpu, 0);
	struct kvm_sregs sr;
	check(ioctl(cpu, KVM_GET_SREGS, &sr), "KVM_GET_SREGS");
	sr.cs.base = 0;
	sr.cs.selector = 0;
	check(ioctl(cpu, KVM_SET_SREGS, &sr), "KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	check(ioctl(cpu, KVM_SET_REGS, &regs), "KVM_SET_REGS");
	check(ioctl(cpu, KVM_RUN, 0), "KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0xf4) {
		fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
		exit(1);
	}
	munmap(run, (size_t)run_size);
	close(cpu);
	close(vm);
	munmap(mem, MEM_SIZE);
	return now_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	int kvm = check(open("/dev/kvm", O_RDWR | O_CLOEXEC), "/dev/kvm");
	int run_size = check(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
	static uint64_t t[MODE_COUNT][ROUNDS];

	for (int m = 0; m < MODE_COUNT; m++) /* warm-up */
		vm_life(kvm, (enum mode)m, run_size);
	for (int i = 0; i < ROUNDS; i++)
		for (int m = 0; m < MODE_COUNT; m++)
			t[m][i] = vm_life(kvm, (enum mode)m, run_size);

	printf("| mode | median us | min us | max us | vs split |\n|---|---|---|---|---|\n");
	qsort(t[MODE_SPLIT], ROUNDS, sizeof(uint64_t), cmp_u64);
	double split = (double)t[MODE_SPLIT][ROUNDS / 2];
	for (int m = 0; m < MODE_COUNT; m++) {
		qsort(t[m], ROUNDS, sizeof(uint64_t), cmp_u64);
		printf("| %s | %.0f | %.0f | %.0f | %.2fx |\n", mode_names[m],
		       t[m][ROUNDS / 2] / 1e3, t[m][0] / 1e3, t[m][ROUNDS - 1] / 1e3,
		       (double)t[m][ROUNDS / 2] / split);
	}
	return 0;
}
