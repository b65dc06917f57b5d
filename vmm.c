/*
 * ember's main: flags or a config file -> config -> [the API, until InstanceStart] ->
 * machine -> devices -> kernel -> vCPUs -> run. Wiring only: every step lives in its
 * subsystem and reports failure as one line here; the API's actions arrive through
 * vmm_api_ops and are passed on to the subsystem that does them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_json.h"
#include "config/flags.h"
#include "api/router.h"
#include "api/server.h"
#include "arch/acpi.h"
#include "arch/cpu_tables.h"
#include "arch/layout.h"
#include "arch/mptable.h"
#include "arch/regs.h"
#include "boot/kernel.h"
#include "boot/params.h"
#include "jail/jail.h"
#include "jail/seccomp.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/util.h"
#include "snapshot/snapshot.h"
#include "legacy/acpi_pm.h"
#include "legacy/boot_timer.h"
#include "legacy/debug_exit.h"
#include "legacy/i8042.h"
#include "legacy/serial.h"
#include "vcpu/vm.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"

/* Exit statuses, Firecracker's where it defines one. */
enum { EXIT_OK = 0, EXIT_FAILURE_GENERIC = 1, EXIT_BAD_CONFIG = 152, EXIT_BAD_ARGS = 153 };

#define VMM_METRICS_PERIOD_S 60

struct vmm {
	struct vm vm; /* large (vCPU table) */
	/* The legacy devices (legacy/): COM1, the i8042's reset line, the boot timer. */
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	struct vm_config cfg;
	struct launch_options opts;
	struct api_server *api;
	struct api_router router;
	bool built;             /* vm holds a machine (InstanceStart succeeded) */
	uint64_t start_ns, start_tsc; /* main() began: monotonic clock, host TSC */
	uint64_t start_cpu_ns;  /* process CPU time at main() */
	uint64_t boot_from_ns, boot_from_cpu_ns; /* the boot timer's zero: main(), or an API
						     InstanceStart */
	int metrics_timer_fd;
	struct event_loop loop; /* the one loop: the API before boot, everything after */
	int signal_fd;          /* SIGINT/SIGTERM/SIGHUP, blocked in every thread */
	bool running;           /* vm_run started: a signal stops the VM */
	bool signalled;         /* a signal ended ember before InstanceStart */
	struct event_handler api_handler, metrics_handler, signal_handler;
	struct virtio_registry virtio; /* every virtio device, in slot order */
	/* The same devices by kind, in creation order, for the API's PATCH by id. */
	struct virtio_blk *drives[CONFIG_MAX_DEVICES];
	struct virtio_net *nets[CONFIG_MAX_DEVICES];
	unsigned ndrives, nnets;
};

static struct vmm the_vmm; /* lives for the whole process */

static int vmm_load_kernel(struct vm *vm, const struct vm_config *cfg, struct boot_image *bi,
			   struct errbuf *e)
{
	if (kernel_load_file(&vm->mem, cfg->kernel_path, bi, e) < 0)
		return -1;
	if (cfg->initrd_path && initrd_load_file(&vm->mem, cfg->initrd_path, bi, e) < 0)
		return -1;
	return mptable_write(&vm->mem, cfg->machine.vcpus, e);
}

/* Drives first, in order (so the root letter is known), then network interfaces. */
static int vmm_create_virtio(struct vmm *v, struct errbuf *e)
{
	const struct vm_config *cfg = &v->cfg;
	for (unsigned i = 0; i < cfg->ndrives; i++, v->ndrives++)
		if (virtio_blk_create(&v->vm.host, &v->virtio, &cfg->drives[i], &v->drives[i], e) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->nnets; i++, v->nnets++)
		if (virtio_net_create(&v->vm.host, &v->virtio, &cfg->nets[i], &v->nets[i], e) < 0)
			return -1;
	return 0;
}

/* What Linux needs to find the devices: one virtio_mmio.device= each, and root=. */
static void vmm_device_words(const struct virtio_registry *reg, const struct vm_config *cfg,
			     char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < reg->n && n < cap; i++) {
		n += (size_t)virtio_mmio_cmdline(reg->t[i], out + n, cap - n);
		if (n < cap)
			out[n++] = ' ', out[n] = '\0';
	}
	if (n < cap)
		virtio_blk_root_args(cfg, out + n, cap - n);
	n = strlen(out);
	if (n && out[n - 1] == ' ')
		out[n - 1] = '\0';
}

/* The ACPI tables: the vCPUs and every virtio-mmio device, as the MP table and the
   command line tell a kernel without ACPI. */
static int vmm_write_acpi(struct vmm *v, struct errbuf *e)
{
	static struct acpi_machine m; /* the event thread's alone */
	m = (struct acpi_machine){ .ncpus = v->cfg.machine.vcpus, .ndevices = v->virtio.n };
	for (unsigned i = 0; i < v->virtio.n && i < ACPI_MAX_DEVICES; i++)
		m.devices[i] = (struct acpi_device){ v->virtio.t[i]->base, VIRTIO_MMIO_SLOT_SIZE,
						     v->virtio.t[i]->pin };
	return acpi_write(&v->vm.mem, &m, e);
}

/* Last step before the first instruction: the boot structures and vCPU 0's entry state. */
static int vmm_prepare_entry(struct vmm *v, const struct boot_image *bi, struct errbuf *e)
{
	struct vm *vm = &v->vm;
	const struct vm_config *cfg = &v->cfg;
	char cmdline[LAYOUT_CMDLINE_MAX], devices[LAYOUT_CMDLINE_MAX];
	vmm_device_words(&v->virtio, cfg, devices, sizeof(devices));
	struct boot_timing timing = {
		.tsc_khz = vm->tsc_khz,
		.start_tsc = v->start_tsc,
		.setup_us = (vm->t_tsc_zero_ns - v->start_ns) / 1000,
	};
	if (cmdline_compose(cmdline, sizeof(cmdline), devices, cfg->cmdline, &timing, e) < 0)
		return -1;
	if (cpu_tables_write(&vm->mem, bi->protocol != BOOT_PVH, e) < 0 || vmm_write_acpi(v, e) < 0)
		return -1;
	if (bi->protocol == BOOT_PVH)
		return pvh_start_info_write(&vm->mem, bi, cmdline, e) < 0 ? -1 :
		       regs_enter_pvh(vm->vcpus[0].fd, 0, bi->entry, LAYOUT_PVH_START_INFO, e);
	return zero_page_write(&vm->mem, bi, cmdline, e) < 0 ? -1 :
	       regs_enter_long_mode(vm->vcpus[0].fd, 0, bi->entry, LAYOUT_ZERO_PAGE, e);
}

/* Defined only in build/ember-test (tests/hooks/): production binaries have no such hook. */
int test_hooks_create(struct vm *vm, struct errbuf *e) __attribute__((weak));

static int vmm_create_test_hooks(struct vm *vm, struct errbuf *e)
{
	return test_hooks_create ? test_hooks_create(vm, e) : 0;
}

/* The boot-timer page, when asked for, counting from boot_from (see struct vmm). */
static int vmm_create_boot_timer(struct vmm *v, struct errbuf *e)
{
	if (!v->cfg.boot_timer)
		return 0;
	metrics_write_boot_timing(true); /* ember's own latencies join the metrics lines */
	return boot_timer_create(&v->boot_timer, &v->vm.host, v->boot_from_ns,
				 v->boot_from_cpu_ns, e);
}

/* COM1 on stdin/stdout, the i8042 (reset, Ctrl+Alt+Del), the debug-exit port. */
static int vmm_create_legacy(struct vmm *v, struct errbuf *e)
{
	struct vm_host *h = &v->vm.host;
	if (serial_create(&v->serial, h, STDIN_FILENO, STDOUT_FILENO, e) < 0 ||
	    i8042_create(&v->i8042, h, e) < 0 || debug_exit_create(h, e) < 0 ||
	    acpi_pm_create(h, e) < 0)
		return -1;
	return vmm_create_boot_timer(v, e);
}

/* What a boot and a restore both build: the VM, its RAM, the devices, the vCPUs. */
static int vmm_build_machine(struct vmm *v, const struct vm_mem_options *mo, struct errbuf *e)
{
	const struct vm_config *cfg = &v->cfg;
	v->serial = (struct serial){ .in_fd = -1, .rx_wake_fd = -1 }; /* destroy before create */
	if (vm_create(&v->vm, &v->loop, cfg->machine.mem_mib * MIB, cfg->machine.vcpus, mo, e) < 0 ||
	    vmm_create_legacy(v, e) < 0 || vmm_create_test_hooks(&v->vm, e) < 0 ||
	    vmm_create_virtio(v, e) < 0)
		return -1;
	v->vm.cpu_template = cfg->has_cpu_template ? &cfg->cpu_template : NULL;
	return 0;
}

static int vmm_build(struct vmm *v, struct errbuf *e)
{
	struct vm *vm = &v->vm;
	const struct vm_config *cfg = &v->cfg;
	struct boot_image bi;
	struct vm_mem_options mo = { .huge_2m = cfg->machine.huge_pages == HUGE_PAGES_2M,
				     .huge_thp = cfg->machine.huge_pages == HUGE_PAGES_TRANSPARENT,
				     .dirty_log = cfg->machine.track_dirty_pages };
	if (vmm_build_machine(v, &mo, e) < 0 || vmm_load_kernel(vm, cfg, &bi, e) < 0 ||
	    vm_create_vcpus(vm, e) < 0 || vmm_prepare_entry(v, &bi, e) < 0)
		return -1;
	log_info("VM built in %llu us: %u vCPU, %llu MiB, entry 0x%llx (%s)",
		 (unsigned long long)((monotonic_ns() - v->start_ns) / 1000), cfg->machine.vcpus,
		 (unsigned long long)cfg->machine.mem_mib, (unsigned long long)bi.entry,
		 bi.protocol == BOOT_PVH ? "PVH" : "64-bit");
	return 0;
}

/*
 * The devices go first, while guest memory and the event loop they use still exist:
 * a reset ends their in-flight I/O. vcpu/ knows nothing of virtio.
 */
static void vmm_destroy_vm(struct vmm *v)
{
	virtio_registry_destroy(&v->virtio);
	v->ndrives = v->nnets = 0;
	serial_destroy(&v->serial); /* the terminal's settings back, stdin out of the loop */
	vm_destroy(&v->vm);
}

static void vmm_unbuild(struct vmm *v)
{
	vmm_destroy_vm(v);
	memset(&v->vm, 0, sizeof(v->vm));
}

/* ---- what InstanceStart does ---- */

static int vmm_instance_start(struct vmm *v, struct errbuf *e)
{
	uint64_t t0 = monotonic_ns();
	if (config_check_bootable(&v->cfg, e) < 0)
		return -1;
	if (vmm_build(v, e) < 0) {
		vmm_unbuild(v); /* a refused start leaves nothing behind: the API may try again */
		return -1;
	}
	v->built = true;
	METRIC_STORE(metrics.latencies_us.vmm_start_us, (monotonic_ns() - t0) / 1000);
	struct errbuf me = { "" };
	if (metrics_flush(&me) < 0)
		log_warn("metrics: %s", me.msg);
	return 0;
}

/* ---- the API's view of the monitor ---- */

static enum vmm_state vmm_state(void *opaque)
{
	struct vmm *v = opaque;
	if (!v->built)
		return VMM_NOT_STARTED;
	return vm_is_paused(&v->vm) ? VMM_PAUSED : VMM_RUNNING;
}

static int vmm_api_start(void *opaque, struct errbuf *e)
{
	struct vmm *v = opaque;
	v->boot_from_ns = monotonic_ns(); /* the boot timer counts from InstanceStart */
	v->boot_from_cpu_ns = boot_timer_cpu_ns();
	return vmm_instance_start(v, e);
}

/* Pause or resume, its API-level latency stored where Firecracker reports it. */
static int vmm_timed_vm_op(struct vmm *v, int (*op)(struct vm *, struct errbuf *),
			   metric_t *latency_us, struct errbuf *e)
{
	uint64_t t0 = monotonic_ns();
	int r = op(&v->vm, e);
	METRIC_STORE(*latency_us, (monotonic_ns() - t0) / 1000);
	return r;
}

static int vmm_api_pause(void *opaque, struct errbuf *e)
{
	return vmm_timed_vm_op(opaque, vm_pause, &metrics.latencies_us.pause_vm, e);
}

static int vmm_api_resume(void *opaque, struct errbuf *e)
{
	return vmm_timed_vm_op(opaque, vm_resume, &metrics.latencies_us.resume_vm, e);
}

static int vmm_api_ctrl_alt_del(void *opaque, struct errbuf *e)
{
	struct vmm *v = opaque;
	return i8042_ctrl_alt_del(&v->i8042, e);
}

static int vmm_api_flush_metrics(void *opaque, struct errbuf *e)
{
	(void)opaque;
	if (!metrics_configured())
		return errf(e, "FlushMetrics: metrics are not configured (PUT /metrics first)");
	return metrics_flush(e);
}

static int vmm_api_update_drive(void *opaque, const char *id, const struct drive_update *u,
				struct errbuf *e)
{
	struct vmm *v = opaque;
	for (unsigned i = 0; i < v->ndrives; i++)
		if (strcmp(virtio_blk_id(v->drives[i]), id) == 0)
			return virtio_blk_update(v->drives[i], u->path,
						 u->has_rate_limiter ? &u->rate_limiter_change : NULL,
						 e);
	return errf(e, "drive '%s': no such drive", id);
}

static int vmm_api_update_net(void *opaque, const char *id, const struct net_update *u,
			      struct errbuf *e)
{
	struct vmm *v = opaque;
	for (unsigned i = 0; i < v->nnets; i++)
		if (strcmp(virtio_net_id(v->nets[i]), id) == 0)
			return virtio_net_update(v->nets[i], u->has_rx ? &u->rx_change : NULL,
						 u->has_tx ? &u->tx_change : NULL, e);
	return errf(e, "net '%s': no such network interface", id);
}

/* A file or a FIFO, appended to; O_RDWR so that a FIFO without a reader does not fail. */
static int vmm_open_output(const char *what, const char *path, struct errbuf *e)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return errf(e, "%s %s: %s", what, path, strerror(errno));
	return fd;
}

static int vmm_start_logger(void *opaque, const struct logger_config *l, struct errbuf *e)
{
	(void)opaque;
	int fd = l->path ? vmm_open_output("log file", l->path, e) : STDERR_FILENO;
	if (fd < 0)
		return -1;
	log_configure(fd, l->level, l->show_level, l->show_origin);
	log_set_module(l->module);
	return 0;
}

static int vmm_start_metrics(void *opaque, const char *path, bool emit_id,
			     const char *properties, struct errbuf *e)
{
	struct vmm *v = opaque;
	struct metrics_options o = { .id = emit_id ? v->cfg.id : NULL, .properties = properties };
	return metrics_open(path, &o, e);
}

/* ---- snapshots ---- */

static struct snapshot_machine vmm_machine(struct vmm *v)
{
	return (struct snapshot_machine){
		.vm = &v->vm, .serial = &v->serial, .i8042 = &v->i8042, .virtio = &v->virtio,
		.drives = v->drives, .ndrives = v->ndrives, .nets = v->nets, .nnets = v->nnets,
		.cfg = &v->cfg,
	};
}

static int vmm_api_snapshot_create(void *opaque, const struct snapshot_create_request *r,
				   struct errbuf *e)
{
	struct vmm *v = opaque;
	uint64_t t0 = monotonic_ns();
	struct snapshot_machine m = vmm_machine(v);
	int rc = snapshot_create(&m, r, e);
	uint64_t us = (monotonic_ns() - t0) / 1000;
	METRIC_STORE(*(r->diff ? &metrics.latencies_us.diff_create_snapshot :
				 &metrics.latencies_us.full_create_snapshot), us);
	METRIC_STORE(*(r->diff ? &metrics.latencies_us.vmm_diff_create_snapshot :
				 &metrics.latencies_us.vmm_full_create_snapshot), us);
	if (rc == 0)
		log_info("%s snapshot %s, memory %s: %llu us", r->diff ? "diff" : "full",
			 r->snapshot_path, r->mem_path, (unsigned long long)us);
	return rc;
}

/* The memory file, open, and the one f was written with (as far as it can tell). */
static int vmm_open_memory(const struct snapshot_load_request *r, const struct snap_file *f,
			   struct errbuf *e)
{
	int fd = open(r->mem_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "memory file %s: %s", r->mem_path, strerror(errno));
	if (snapshot_check_memory(f, fd, r->mem_path, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The machine of f's configuration, RAM mapped from mem_fd, then f's state. */
static int vmm_restore(struct vmm *v, const struct snapshot_load_request *r,
		       const struct snap_file *f, int mem_fd, struct errbuf *e)
{
	struct vm_mem_options mo = { .dirty_log = r->track_dirty_pages, .from_file = true,
				     .file_fd = mem_fd };
	if (vmm_build_machine(v, &mo, e) < 0)
		return -1;
	struct snapshot_machine m = vmm_machine(v);
	return vm_create_vcpus(&v->vm, e) < 0 ||
			       snapshot_restore(&m, f, r->clock_realtime, e) < 0 ?
		       -1 :
		       0;
}

static int vmm_api_snapshot_load(void *opaque, const struct snapshot_load_request *r,
				 struct errbuf *e)
{
	struct vmm *v = opaque;
	uint64_t t0 = monotonic_ns();
	struct snap_file f;
	int fd = snapshot_open(&f, r, &v->cfg, e) < 0 ? -1 : vmm_open_memory(r, &f, e);
	if (fd < 0) { /* nothing was built */
		snap_file_free(&f);
		return -1;
	}
	int rc = vmm_restore(v, r, &f, fd, e);
	close(fd); /* the mapping keeps the file */
	snap_file_free(&f);
	if (rc < 0) {
		vmm_unbuild(v); /* the configuration stays the snapshot's: GET /vm/config shows it */
		return -1;
	}
	v->cfg.machine.track_dirty_pages = r->track_dirty_pages;
	if (!r->resume_vm) /* the vCPU threads park at once (vm_run's gate is not taken) */
		__atomic_store_n(&v->vm.pause.paused, true, __ATOMIC_SEQ_CST);
	v->built = true;
	METRIC_STORE(metrics.latencies_us.load_snapshot, (monotonic_ns() - t0) / 1000);
	METRIC_STORE(metrics.latencies_us.vmm_load_snapshot, (monotonic_ns() - t0) / 1000);
	log_info("snapshot %s restored in %llu us (%s)", r->snapshot_path,
		 (unsigned long long)((monotonic_ns() - t0) / 1000),
		 r->resume_vm ? "running" : "paused");
	return 0;
}

/* --snapshot-load or the config file's "snapshot-load": the API's restore, at start. */
static int vmm_restore_at_start(struct vmm *v, struct errbuf *e)
{
	struct snapshot_load_request r;
	json_t *body = config_json_parse(v->cfg.snapshot_load, strlen(v->cfg.snapshot_load), e);
	int rc = !body || config_json_snapshot_load(body, &r, e) < 0 ? -1 :
		 !r.resume_vm && !v->api ?
		 errf(e, "snapshot-load: resume_vm false needs --api-sock (nothing else could "
			 "resume the VM)") :
		 vmm_api_snapshot_load(v, &r, e);
	json_decref(body); /* r's strings pointed into it; the load is done */
	v->router.configured = true;
	return rc;
}

static const struct api_vmm_ops vmm_api_ops = {
	.state = vmm_state,
	.instance_start = vmm_api_start,
	.pause = vmm_api_pause,
	.resume = vmm_api_resume,
	.ctrl_alt_del = vmm_api_ctrl_alt_del,
	.flush_metrics = vmm_api_flush_metrics,
	.update_drive = vmm_api_update_drive,
	.update_net = vmm_api_update_net,
	.start_logger = vmm_start_logger,
	.start_metrics = vmm_start_metrics,
	.snapshot_create = vmm_api_snapshot_create,
	.snapshot_load = vmm_api_snapshot_load,
};

/* ---- before the VM runs ---- */

static void vmm_block_signals(sigset_t *set)
{
	vm_stop_signals(set);
	/* Before any thread exists, so that every thread inherits the mask. */
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Logger and metrics as the flags or the config file set them. */
static int vmm_start_outputs(struct vmm *v, struct errbuf *e)
{
	if (vmm_start_logger(v, &v->cfg.logger, e) < 0 ||
	    (v->cfg.metrics_path && vmm_start_metrics(v, v->cfg.metrics_path, v->cfg.metrics_emit_id,
						      v->cfg.metrics_properties, e) < 0))
		return -1;
	v->router.logger_set = v->cfg.logger.path != NULL;
	v->router.metrics_set = v->cfg.metrics_path != NULL;
	return 0;
}

/*
 * The API serves from now: how long the process took to get here, in wall and CPU time,
 * counted from its main() or, when Firecracker's jailer said so (--start-time-us ...),
 * from the launcher's start, its CPU time plus its parent's, as Firecracker counts.
 */
static void vmm_store_startup_time(const struct vmm *v)
{
	const struct launch_options *o = &v->opts;
	uint64_t now_us = monotonic_ns() / 1000, cpu_us = boot_timer_cpu_ns() / 1000;
	uint64_t from_us = o->start_time_us >= 0 ? (uint64_t)o->start_time_us : v->start_ns / 1000;
	uint64_t from_cpu_us = o->start_time_cpu_us >= 0 ? (uint64_t)o->start_time_cpu_us :
							   v->start_cpu_ns / 1000;
	uint64_t parent_us = o->parent_cpu_time_us >= 0 ? (uint64_t)o->parent_cpu_time_us : 0;
	METRIC_STORE(metrics.api_server.process_startup_time_us,
		     now_us > from_us ? now_us - from_us : 0);
	METRIC_STORE(metrics.api_server.process_startup_time_cpu_us,
		     (cpu_us > from_cpu_us ? cpu_us - from_cpu_us : 0) + parent_us);
}

static int vmm_start_api(struct vmm *v, struct errbuf *e)
{
	struct api_server_limits limits;
	api_server_default_limits(&limits);
	limits.max_body = v->opts.max_payload;
	if (api_server_start(&v->api, v->opts.api_sock, &limits, e) < 0)
		return -1;
	vmm_store_startup_time(v);
	return 0;
}

/*
 * The one event loop and the one signalfd, from before the API serves its first request
 * to the end: before InstanceStart the loop serves the API alone; vm_run runs it on with
 * the devices. SIGINT/SIGTERM/SIGHUP stop the VM, or end ember before it has one.
 */
static void vmm_on_signal(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct signalfd_siginfo si;
	(void)events;
	if (read(v->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (v->running) {
		log_info("signal %u: stopping the VM", si.ssi_signo);
		vm_request_stop(&v->vm, 0);
	} else {
		log_info("signal %u before InstanceStart: stopping", si.ssi_signo);
		v->signalled = v->loop.stop = true;
	}
}

static void vmm_on_api(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	(void)events;
	api_server_serve(v->api, api_route, &v->router);
	if (v->built && !v->running)
		v->loop.stop = true; /* InstanceStart: vmm_main goes on to vm_run */
}

/* Serves the API until InstanceStart succeeds or a signal ends ember first. */
static int vmm_wait_for_start(struct vmm *v, struct errbuf *e)
{
	event_loop_run(&v->loop);
	if (!v->built && !v->signalled)
		return errf(e, "event loop: epoll_wait failed before InstanceStart");
	return 0;
}

static int vmm_start_loop(struct vmm *v, const sigset_t *sigs, struct errbuf *e)
{
	if (event_loop_init(&v->loop, e) < 0)
		return -1;
	v->signal_fd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (v->signal_fd < 0)
		return errf(e, "signalfd: %s", strerror(errno));
	v->signal_handler = (struct event_handler){ vmm_on_signal, v };
	v->api_handler = (struct event_handler){ vmm_on_api, v };
	if (event_loop_add(&v->loop, v->signal_fd, EPOLLIN, &v->signal_handler) < 0 ||
	    (v->api && event_loop_add(&v->loop, api_server_fd(v->api), EPOLLIN, &v->api_handler) < 0))
		return errf(e, "epoll: %s", strerror(errno));
	return 0;
}

/* ---- while the VM runs ---- */

static void vmm_on_metrics_timer(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint64_t n;
	struct errbuf e = { "" };
	(void)events;
	if (read(v->metrics_timer_fd, &n, sizeof(n)) == sizeof(n) && metrics_flush(&e) < 0)
		log_warn("metrics: %s", e.msg);
}

static int vmm_watch_metrics(struct vmm *v, struct errbuf *e)
{
	struct event_loop *loop = &v->loop;
	v->metrics_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->metrics_timer_fd < 0)
		return errf(e, "timerfd: %s", strerror(errno));
	struct itimerspec every = { { VMM_METRICS_PERIOD_S, 0 }, { VMM_METRICS_PERIOD_S, 0 } };
	timerfd_settime(v->metrics_timer_fd, 0, &every, NULL);
	v->metrics_handler = (struct event_handler){ vmm_on_metrics_timer, v };
	if (event_loop_add(loop, v->metrics_timer_fd, EPOLLIN, &v->metrics_handler) < 0)
		return errf(e, "epoll: %s", strerror(errno));
	return 0;
}

/* Flags, then the config file: 0, or the exit status of the refusal (e says why). */
static int vmm_configure(struct vmm *v, int argc, char **argv, struct errbuf *e)
{
	enum flags_result fr = flags_parse(argc, argv, &v->cfg, &v->opts, stdout, e);
	if (fr == FLAGS_DONE)
		return -1;
	if (fr == FLAGS_ERROR)
		return EXIT_BAD_ARGS;
	if (v->opts.snapshot_version || v->opts.describe_snapshot)
		return snapshot_describe(v->opts.describe_snapshot, stdout, e) < 0 ?
			       EXIT_FAILURE_GENERIC : -1;
	if (v->opts.config_file && config_json_load_file(&v->cfg, v->opts.config_file, e) < 0)
		return EXIT_BAD_CONFIG;
	return 0;
}

/* Everything after a good configuration: outputs, API, boot, run. Returns exit status. */
static int vmm_main(struct vmm *v, const sigset_t *sigs, struct errbuf *e)
{
	v->router = (struct api_router){ .cfg = &v->cfg, .ops = &vmm_api_ops, .vmm = v };
	/* Each thread installs its filter when it starts (the API thread's: before it
	   accepts); this one its build filter before it parses a request, narrowed in
	   vm_run once the VM is built. */
	if (seccomp_prepare(!v->opts.no_seccomp, e) < 0)
		return EXIT_FAILURE_GENERIC;
	if (vmm_start_outputs(v, e) < 0)
		return v->opts.config_file ? EXIT_BAD_CONFIG : EXIT_BAD_ARGS;
	if ((v->opts.api_sock && vmm_start_api(v, e) < 0) || vmm_start_loop(v, sigs, e) < 0 ||
	    seccomp_lock_thread(SECCOMP_BUILD, e) < 0)
		return EXIT_FAILURE_GENERIC;
	/* A kernel or snapshot from the flags or the file starts at once; else the API does. */
	int r = v->cfg.snapshot_load ? vmm_restore_at_start(v, e) :
		v->cfg.kernel_path   ? vmm_instance_start(v, e) :
				       vmm_wait_for_start(v, e);
	if (r < 0)
		return EXIT_FAILURE_GENERIC;
	if (!v->built) /* a signal came first */
		return EXIT_OK;
	if (vmm_watch_metrics(v, e) < 0)
		return EXIT_FAILURE_GENERIC;
	v->running = true;
	return vm_run(&v->vm, e);
}

/*
 * The error that ends ember also goes to the log file, when there is one: an
 * orchestrator reads the log, not ember's stderr (Firecracker logs its start-up errors).
 * That is the file in use, or the one the flags named before the refusal, unless a jail
 * was asked for: its paths are inside the jail, which may not exist.
 */
static void vmm_log_error_too(struct vmm *v, const char *msg)
{
	const struct logger_config *l = &v->cfg.logger;
	if (log_writes_to_stderr()) {
		struct errbuf le = { "" };
		int fd = l->path && !v->opts.jail.enabled ? vmm_open_output("log file", l->path, &le)
							  : -1;
		if (fd < 0)
			return;
		log_configure(fd, l->level, l->show_level, l->show_origin);
	}
	log_error("%s", msg);
}

_Static_assert(JAIL_MAX_FILES >= 2 + CONFIG_MAX_DEVICES, "kernel, initrd and every drive");
_Static_assert(JAIL_MAX_ID == CONFIG_MAX_ID, "a jailed id is any id of the right characters");

/* What the jail must know of this VM (jail/jail.h), from the configuration. */
static int vmm_jail(struct vmm *v, struct errbuf *e)
{
	const struct vm_config *c = &v->cfg;
	struct jail_vm jv = {
		.id = c->id,
		/* A TAP named now, or one the API may still add (no kernel yet: API-driven boot). */
		.tun = c->nnets > 0 || !c->kernel_path,
	};
	if (c->kernel_path)
		jv.files[jv.nfiles++] = (struct jail_host_file){ c->kernel_path, true };
	if (c->initrd_path)
		jv.files[jv.nfiles++] = (struct jail_host_file){ c->initrd_path, true };
	for (unsigned i = 0; i < c->ndrives; i++)
		jv.files[jv.nfiles++] = (struct jail_host_file){ c->drives[i].path, c->drives[i].read_only };
	return jail_enter(&v->opts.jail, &jv, e);
}

int main(int argc, char **argv)
{
	struct vmm *v = &the_vmm;
	struct errbuf e = { "" };
	sigset_t sigs;
	v->start_ns = monotonic_ns();
	v->start_tsc = __builtin_ia32_rdtsc();
	v->start_cpu_ns = boot_timer_cpu_ns();
	v->boot_from_ns = v->start_ns;
	v->boot_from_cpu_ns = v->start_cpu_ns;
	v->metrics_timer_fd = v->signal_fd = v->loop.epfd = -1;
	vmm_block_signals(&sigs);
	config_init(&v->cfg);
	v->cfg.check_files = true; /* a bad path is refused when given, not at start */

	int status = vmm_configure(v, argc, argv, &e);
	if (status < 0) {
		config_free(&v->cfg);
		return EXIT_OK; /* --help, --version */
	}
	if (status == 0) {
		log_init(STDERR_FILENO, v->cfg.logger.level, v->cfg.id);
		/* Jailed before anything the guest reaches is opened: vmm_main opens it all. */
		if (v->opts.jail.enabled && vmm_jail(v, &e) < 0)
			status = EXIT_FAILURE_GENERIC;
		else
			status = vmm_main(v, &sigs, &e);
	}
	if (status < 0) /* vm_run could not start the vCPUs */
		status = EXIT_FAILURE_GENERIC;
	if (status != EXIT_OK && e.msg[0]) {
		fprintf(stderr, "ember: %s\n", e.msg);
		vmm_log_error_too(v, e.msg);
	}
	struct errbuf me = { "" };
	if (metrics_flush(&me) < 0)
		log_warn("metrics: %s", me.msg);
	api_server_stop(v->api);
	if (v->built)
		vmm_destroy_vm(v);
	if (v->metrics_timer_fd >= 0)
		close(v->metrics_timer_fd);
	if (v->signal_fd >= 0)
		close(v->signal_fd);
	event_loop_destroy(&v->loop);
	metrics_close();
	config_free(&v->cfg);
	return status;
}
