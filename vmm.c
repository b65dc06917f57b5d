/*
 * ember's main: flags -> config -> machine -> devices -> kernel -> vCPUs -> run.
 * Wiring only: every step lives in its subsystem and reports failure as one line here.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/config.h"
#include "api/flags.h"
#include "boot/kernel.h"
#include "boot/layout.h"
#include "boot/params.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vcpu/vm.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"

/* Exit statuses, Firecracker's where it defines one. */
enum { EXIT_OK = 0, EXIT_FAILURE_GENERIC = 1, EXIT_BAD_ARGS = 153 };

static struct vm the_vm; /* large (vCPU table); lives for the whole process */

static int vmm_load_kernel(struct vm *vm, const struct vm_config *cfg, struct boot_image *bi,
			   struct errbuf *e)
{
	if (kernel_load_file(&vm->mem, cfg->kernel_path, bi, e) < 0)
		return -1;
	if (cfg->initrd_path && initrd_load_file(&vm->mem, cfg->initrd_path, bi, e) < 0)
		return -1;
	return mptable_write(&vm->mem, cfg->vcpus, e);
}

/* Drives first, in order (so the root letter is known), then network interfaces. */
static int vmm_create_virtio(struct vm *vm, const struct vm_config *cfg, struct errbuf *e)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (virtio_blk_create(vm, &cfg->drives[i], e) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (virtio_net_create(vm, &cfg->nets[i], e) < 0)
			return -1;
	return 0;
}

/* What Linux needs to find the devices: one virtio_mmio.device= each, and root=. */
static void vmm_device_words(const struct vm *vm, const struct vm_config *cfg, char *out,
			     size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < vm->nvirtio && n < cap; i++) {
		n += (size_t)virtio_mmio_cmdline(vm->virtio[i], out + n, cap - n);
		if (n < cap)
			out[n++] = ' ', out[n] = '\0';
	}
	if (n < cap)
		virtio_blk_root_args(cfg, out + n, cap - n);
	n = strlen(out);
	if (n && out[n - 1] == ' ')
		out[n - 1] = '\0';
}

/* Last step before the first instruction: the boot structures and vCPU 0's entry state. */
static int vmm_prepare_entry(struct vm *vm, const struct vm_config *cfg,
			     const struct boot_image *bi, struct errbuf *e)
{
	char cmdline[LAYOUT_CMDLINE_MAX], devices[LAYOUT_CMDLINE_MAX];
	vmm_device_words(vm, cfg, devices, sizeof(devices));
	struct boot_timing timing = {
		.tsc_khz = vm->tsc_khz,
		.start_tsc = vm->t_start_tsc,
		.setup_us = (vm->t_tsc_zero_ns - vm->t_start_ns) / 1000,
	};
	if (cmdline_compose(cmdline, sizeof(cmdline), devices, cfg->cmdline, &timing, e) < 0)
		return -1;
	cpu_tables_write(&vm->mem, bi->protocol);
	if (bi->protocol == BOOT_PVH)
		return pvh_start_info_write(&vm->mem, bi, cmdline, e) < 0 ? -1 :
		       vcpu_enter_pvh(&vm->vcpus[0], bi->entry, LAYOUT_PVH_START_INFO, e);
	return zero_page_write(&vm->mem, bi, cmdline, e) < 0 ? -1 :
	       vcpu_enter_long_mode(&vm->vcpus[0], bi->entry, LAYOUT_ZERO_PAGE, e);
}

static int vmm_build(struct vm *vm, const struct vm_config *cfg, struct errbuf *e)
{
	struct boot_image bi;
	if (vm_create(vm, cfg->mem_mib * MIB, cfg->vcpus, e) < 0 ||
	    serial_create(vm, STDIN_FILENO, STDOUT_FILENO, e) < 0 || i8042_create(vm, e) < 0 ||
	    debug_exit_create(vm, e) < 0 || vmm_create_virtio(vm, cfg, e) < 0 ||
	    vmm_load_kernel(vm, cfg, &bi, e) < 0 || vm_create_vcpus(vm, e) < 0 ||
	    vmm_prepare_entry(vm, cfg, &bi, e) < 0)
		return -1;
	log_info("VM built in %llu us: %u vCPU, %llu MiB, entry 0x%llx (%s)",
		 (unsigned long long)((monotonic_ns() - vm->t_start_ns) / 1000), cfg->vcpus,
		 (unsigned long long)cfg->mem_mib, (unsigned long long)bi.entry,
		 bi.protocol == BOOT_PVH ? "PVH" : "64-bit");
	return 0;
}

int main(int argc, char **argv)
{
	struct vm *vm = &the_vm;
	struct vm_config cfg;
	struct errbuf e = { "" };
	vm->t_start_ns = monotonic_ns();
	vm->t_start_tsc = __builtin_ia32_rdtsc();
	config_init(&cfg);

	enum flags_result fr = flags_parse(argc, argv, &cfg, stdout, &e);
	if (fr != FLAGS_RUN) {
		if (fr == FLAGS_ERROR)
			fprintf(stderr, "ember: %s\n", e.msg);
		config_free(&cfg);
		return fr == FLAGS_DONE ? EXIT_OK : EXIT_BAD_ARGS;
	}
	log_init(STDERR_FILENO, cfg.log_level, cfg.id);

	int status = EXIT_FAILURE_GENERIC;
	if (vmm_build(vm, &cfg, &e) == 0)
		status = vm_run(vm, &e);
	if (status < 0 || (status == EXIT_FAILURE_GENERIC && e.msg[0])) {
		fprintf(stderr, "ember: %s\n", e.msg);
		status = EXIT_FAILURE_GENERIC;
	}
	vm_destroy(vm);
	config_free(&cfg);
	return status;
}
