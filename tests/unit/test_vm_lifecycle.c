/*
 * Pause, resume, stop and Ctrl+Alt+Del on real KVM VMs, driven the way the API's
 * PATCH /vm and PUT /actions will drive them (here from the test thread while vm_run
 * runs the event loop on another).
 *
 * vm_pause: a guest that only increments counters in memory (one per vCPU, no exits, so
 * only the kick gets a vCPU out of KVM_RUN); the counters must freeze while paused.
 * vm_idle: guest-min's idle program (GUEST_MIN, default build/guest-min), with the
 * serial port, i8042, debug-exit port and boot timer wired as vmm.c wires them.
 *
 * Every test needs a usable /dev/kvm and is skipped with the reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../boot/kernel.h"
#include "../../arch/cpu_tables.h"
#include "../../arch/layout.h"
#include "../../arch/mptable.h"
#include "../../boot/params.h"
#include "../../lib/log.h"
#include "../../lib/metrics.h"
#include "../../legacy/boot_timer.h"
#include "../../legacy/debug_exit.h"
#include "../../legacy/i8042.h"
#include "../../legacy/serial.h"
#include "../../arch/regs.h"
#include "../../vcpu/vm.h"
#include "helpers.h"

static struct vm vm; /* large: static, and fresh in each test's process */
static struct event_loop loop; /* the VMM's, which the VM uses */
static struct serial serial;    /* the VMM's legacy devices */
static struct i8042 i8042;
static struct boot_timer the_boot_timer;
static bool created;  /* vm_create ran: vm_destroy is safe even if it failed */
static pthread_t runner;
static bool running;
static int run_status = -1;

static void require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("/dev/kvm: %s", strerror(errno));
	close(fd);
}

static void *run_vm(void *arg)
{
	struct errbuf e = { "" };
	(void)arg;
	run_status = vm_run(&vm, &e);
	return NULL;
}

static void start_vm(void)
{
	cr_assert_eq(pthread_create(&runner, NULL, run_vm, NULL), 0);
	running = true;
}

/* Joins vm_run within ms; false when it is still running. */
static bool join_within(unsigned ms)
{
	struct timespec t = timespec_after_ms(CLOCK_REALTIME, ms);
	if (pthread_timedjoin_np(runner, NULL, &t) != 0)
		return false;
	running = false;
	return true;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static void teardown(void)
{
	if (running) {
		vm_request_stop(&vm, 0);
		join_within(5000);
	}
	if (created && !running) {
		vm_destroy(&vm);
		event_loop_destroy(&loop);
	}
}

static void assert_all_parked(void)
{
	pthread_mutex_lock(&vm.pause.lock);
	for (unsigned i = 0; i < vm.nvcpus; i++)
		cr_assert_eq(vm.vcpus[i].state, VCPU_PARKED, "vCPU %u in state %d", i,
			     vm.vcpus[i].state);
	pthread_mutex_unlock(&vm.pause.lock);
}

/* --- the counting guest --- */

#define SPIN_ENTRY 0x100000ULL
#define COUNTERS 0x200000ULL /* vCPU i counts at COUNTERS + 64 * i (RSI) */

/* 1: incq (%rsi); jmp 1b */
static const uint8_t spin_code[] = { 0x48, 0xff, 0x06, 0xeb, 0xfb };

static struct vm_mem_options spin_mem; /* how the next spin_vm_create backs RAM */

static void spin_vm_create(unsigned nvcpus)
{
	struct errbuf e = { "" };
	require_kvm();
	memset(&metrics, 0, sizeof(metrics));
	created = true;
	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_create(&vm, &loop, 16 * MIB, nvcpus, &spin_mem, &e), 0, "%s", e.msg);
	memcpy(gm_ptr(&vm.mem, SPIN_ENTRY, sizeof(spin_code)), spin_code, sizeof(spin_code));
	memset(gm_ptr(&vm.mem, COUNTERS, 64 * nvcpus), 0, 64 * nvcpus);
	cr_assert_eq(cpu_tables_write(&vm.mem, true, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_create_vcpus(&vm, &e), 0, "%s", e.msg);
	for (unsigned i = 0; i < nvcpus; i++) {
		cr_assert_eq(regs_enter_long_mode(vm.vcpus[i].fd, i, SPIN_ENTRY, COUNTERS + 64 * i, &e),
			     0, "%s", e.msg);
		/* Application processors wait for INIT/SIPI; these start at once. */
		struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };
		if (i)
			cr_assert_eq(ioctl(vm.vcpus[i].fd, KVM_SET_MP_STATE, &mp), 0,
				     "KVM_SET_MP_STATE: %s", strerror(errno));
	}
}

static uint64_t counter(unsigned i)
{
	return __atomic_load_n((uint64_t *)gm_ptr(&vm.mem, COUNTERS + 64 * i, 8),
			       __ATOMIC_RELAXED);
}

/* Waits up to 5 s until every vCPU's counter passed its value in from[]. */
static void wait_all_counting(const uint64_t *from)
{
	for (int ms = 0; ms < 5000; ms++) {
		unsigned moved = 0;
		for (unsigned i = 0; i < vm.nvcpus; i++)
			moved += counter(i) > (from ? from[i] : 0);
		if (moved == vm.nvcpus)
			return;
		sleep_ms(1);
	}
	cr_assert_fail("not every vCPU counts: vCPU 0 at %llu", (unsigned long long)counter(0));
}

static void snapshot(uint64_t *out)
{
	for (unsigned i = 0; i < vm.nvcpus; i++)
		out[i] = counter(i);
}

static void assert_frozen(const uint64_t *before, unsigned ms)
{
	sleep_ms(ms);
	for (unsigned i = 0; i < vm.nvcpus; i++)
		cr_assert_eq(counter(i), before[i], "vCPU %u ran while paused", i);
}

TestSuite(vm_pause, .fini = teardown);

Test(vm_pause, parks_every_vcpu_and_resume_runs_them)
{
	struct errbuf e = { "" };
	uint64_t snap[2];
	spin_vm_create(2);
	start_vm();
	wait_all_counting(NULL);

	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	cr_assert(vm_is_paused(&vm));
	assert_all_parked();
	snapshot(snap);
	assert_frozen(snap, 200);

	cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
	cr_assert_not(vm_is_paused(&vm));
	wait_all_counting(snap);
}

Test(vm_pause, is_idempotent)
{
	struct errbuf e = { "" };
	uint64_t snap[1];
	spin_vm_create(1);
	start_vm();
	wait_all_counting(NULL);
	cr_assert_eq(vm_resume(&vm, &e), 0, "resume while running: %s", e.msg);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_pause(&vm, &e), 0, "second pause: %s", e.msg);
	assert_all_parked();
	snapshot(snap);
	assert_frozen(snap, 50);
	cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_resume(&vm, &e), 0, "second resume: %s", e.msg);
	wait_all_counting(snap);
}

Test(vm_pause, stop_while_paused_ends_the_vm_promptly)
{
	struct errbuf e = { "" };
	spin_vm_create(2);
	start_vm();
	wait_all_counting(NULL);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	uint64_t t0 = monotonic_ns();
	vm_request_stop(&vm, 7);
	cr_assert(join_within(1000), "vm_run still running 1 s after the stop request");
	cr_assert_eq(run_status, 7);
	cr_assert_lt(monotonic_ns() - t0, 500 * 1000000ULL, "stop took %llu ms",
		     (unsigned long long)((monotonic_ns() - t0) / 1000000));
}

Test(vm_pause, paused_before_run_starts_parked)
{
	struct errbuf e = { "" };
	uint64_t zero[2] = { 0, 0 };
	spin_vm_create(2);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	start_vm();
	assert_frozen(zero, 100);
	cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
	wait_all_counting(zero);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Not a benchmark: a bound, and the numbers for the record (criterion --verbose). One
 * vCPU: on a 2-core host two spinning vCPUs leave the resumer no core, and resume then
 * measures the scheduler's time slice (about 8 ms here) instead of the wake-up.
 */
Test(vm_pause, latency_is_bounded)
{
	enum { ROUNDS = 30 };
	struct errbuf e = { "" };
	uint64_t p[ROUNDS], r[ROUNDS];
	spin_vm_create(1);
	start_vm();
	wait_all_counting(NULL);
	for (int i = 0; i < ROUNDS; i++) {
		cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
		p[i] = metrics.latencies_us.vmm_pause_vm;
		cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
		r[i] = metrics.latencies_us.vmm_resume_vm;
	}
	qsort(p, ROUNDS, sizeof(p[0]), cmp_u64);
	qsort(r, ROUNDS, sizeof(r[0]), cmp_u64);
	cr_log_info("1 vCPU, %d rounds: pause median %llu us (max %llu), resume median %llu us "
		    "(max %llu)", ROUNDS, (unsigned long long)p[ROUNDS / 2],
		    (unsigned long long)p[ROUNDS - 1], (unsigned long long)r[ROUNDS / 2],
		    (unsigned long long)r[ROUNDS - 1]);
	cr_assert_lt(p[ROUNDS / 2], 100000, "pause median %llu us", (unsigned long long)p[ROUNDS / 2]);
	cr_assert_lt(r[ROUNDS / 2], 100000, "resume median %llu us",
		     (unsigned long long)r[ROUNDS / 2]);
}

/* --- guest-min --- */

static int serial_out = -1, log_out = -1;

static void idle_vm_create(const char *words, bool boot_timer)
{
	struct errbuf e = { "" };
	struct boot_image bi;
	char cmdline[LAYOUT_CMDLINE_MAX];
	const char *path = getenv("GUEST_MIN") ? getenv("GUEST_MIN") : "build/guest-min";
	require_kvm();
	if (access(path, R_OK) < 0)
		cr_skip_test("no guest-min at %s (set GUEST_MIN): %s", path, strerror(errno));
	memset(&metrics, 0, sizeof(metrics));
	serial_out = memfd_create("serial", MFD_CLOEXEC);
	log_out = memfd_create("log", MFD_CLOEXEC);
	cr_assert(serial_out >= 0 && log_out >= 0);
	log_init(log_out, LOG_INFO, "lifecycle");

	uint64_t start_ns = monotonic_ns(), start_tsc = __builtin_ia32_rdtsc();
	created = true;
	cr_assert_eq(event_loop_init(&loop, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_create(&vm, &loop, 64 * MIB, 1, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(serial_create(&serial, &vm.host, -1, serial_out, &e), 0, "%s", e.msg);
	cr_assert_eq(i8042_create(&i8042, &vm.host, &e), 0, "%s", e.msg);
	cr_assert_eq(debug_exit_create(&vm.host, &e), 0, "%s", e.msg);
	if (boot_timer)
		cr_assert_eq(boot_timer_create(&the_boot_timer, &vm.host, start_ns,
					       boot_timer_cpu_ns(), &e),
			     0, "%s", e.msg);
	cr_assert_eq(kernel_load_file(&vm.mem, path, &bi, &e), 0, "%s", e.msg);
	cr_assert_eq(mptable_write(&vm.mem, 1, &e), 0, "%s", e.msg);
	cr_assert_eq(vm_create_vcpus(&vm, &e), 0, "%s", e.msg);
	struct boot_timing t = { .tsc_khz = vm.tsc_khz, .start_tsc = start_tsc };
	cr_assert_eq(cmdline_compose(cmdline, sizeof(cmdline), "", words, &t, &e), 0, "%s", e.msg);
	cr_assert_eq(cpu_tables_write(&vm.mem, bi.protocol != BOOT_PVH, &e), 0, "%s", e.msg);
	cr_assert_eq(bi.protocol, BOOT_LINUX64);
	cr_assert_eq(zero_page_write(&vm.mem, &bi, cmdline, &e), 0, "%s", e.msg);
	cr_assert_eq(regs_enter_long_mode(vm.vcpus[0].fd, 0, bi.entry, LAYOUT_ZERO_PAGE, &e), 0, "%s",
		     e.msg);
}

/* What fd holds so far, NUL-terminated, '\r' removed. */
static const char *contents(int fd)
{
	static char buf[1 << 16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t j = 0;
	for (ssize_t i = 0; i < (n > 0 ? n : 0); i++)
		if (buf[i] != '\r')
			buf[j++] = buf[i];
	buf[j] = '\0';
	return buf;
}

/* The number of the last "idle: tick N" line, 0 before the first. */
static unsigned long last_tick(void)
{
	const char *s = contents(serial_out), *p, *last = NULL;
	for (p = s; (p = strstr(p, "idle: tick ")); p++)
		last = p;
	return last ? strtoul(last + strlen("idle: tick "), NULL, 10) : 0;
}

static void wait_tick_beyond(unsigned long n)
{
	for (int ms = 0; ms < 5000 && last_tick() <= n; ms++)
		sleep_ms(1);
	cr_assert_gt(last_tick(), n, "no tick after %lu; serial: [%s]", n, contents(serial_out));
}

TestSuite(vm_idle, .fini = teardown);

Test(vm_idle, ticks_stop_while_paused_and_skip_after_resume)
{
	struct errbuf e = { "" };
	idle_vm_create("idle idle.tick_ms=20 idle.max_ms=30000", false);
	start_vm();
	wait_tick_beyond(2);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	size_t len = strlen(contents(serial_out));
	unsigned long paused_at = last_tick();
	sleep_ms(300);
	cr_assert_eq(strlen(contents(serial_out)), len, "output while paused: [%s]",
		     contents(serial_out) + len);
	cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
	wait_tick_beyond(paused_at);
	/* 300 ms are 15 windows of 20 ms: the count skips them (guest-min/prog_idle.c). */
	cr_assert_geq(last_tick(), paused_at + 10, "ticks went from %lu to %lu across 300 ms",
		      paused_at, last_tick());
}

Test(vm_idle, ctrl_alt_del_ends_the_guest_with_status_0)
{
	struct errbuf e = { "" };
	idle_vm_create("idle idle.max_ms=30000", false);
	start_vm();
	for (int ms = 0; ms < 5000 && !strstr(contents(serial_out), "idle: polling"); ms++)
		sleep_ms(1);
	cr_assert_eq(i8042_ctrl_alt_del(&i8042, &e), 0, "%s", e.msg);
	cr_assert(join_within(5000), "the guest did not end after Ctrl+Alt+Del");
	cr_assert_eq(run_status, 0);
	const char *out = contents(serial_out);
	cr_assert(strstr(out, "idle: ctrl-alt-del\n"), "serial: [%s]", out);
	cr_assert_null(strstr(out, "keyboard byte"), "stray keyboard bytes: [%s]", out);
	cr_assert_geq(metrics.i8042.read_count, 4);
}

Test(vm_idle, ctrl_alt_del_while_paused_is_read_after_resume)
{
	struct errbuf e = { "" };
	idle_vm_create("idle idle.max_ms=30000", false);
	start_vm();
	for (int ms = 0; ms < 5000 && !strstr(contents(serial_out), "idle: polling"); ms++)
		sleep_ms(1);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	cr_assert_eq(i8042_ctrl_alt_del(&i8042, &e), 0, "%s", e.msg);
	cr_assert_not(join_within(200), "a paused guest read its keyboard");
	cr_assert_eq(vm_resume(&vm, &e), 0, "%s", e.msg);
	cr_assert(join_within(5000), "the guest did not end after Ctrl+Alt+Del");
	cr_assert_eq(run_status, 0);
}

Test(vm_idle, stop_while_paused_ends_the_vm_promptly)
{
	struct errbuf e = { "" };
	idle_vm_create("idle idle.tick_ms=20 idle.max_ms=30000", false);
	start_vm();
	wait_tick_beyond(0);
	cr_assert_eq(vm_pause(&vm, &e), 0, "%s", e.msg);
	vm_request_stop(&vm, 0);
	cr_assert(join_within(1000), "vm_run still running 1 s after the stop request");
	cr_assert_eq(run_status, 0);
}

static void assert_matches(const char *s, const char *re)
{
	regex_t r;
	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	cr_assert(ok, "no line matching /%s/ in [%s]", re, s);
}

Test(vm_idle, boot_timer_logs_guest_boot_time)
{
	idle_vm_create("gm.boot_timer exit 5", true);
	start_vm();
	cr_assert(join_within(5000));
	cr_assert_eq(run_status, 5, "the boot-timer write must not disturb the guest");
	assert_matches(contents(log_out),
		       "Guest-boot-time = +[0-9]+ us [0-9]+ ms, +[0-9]+ CPU us [0-9]+ CPU ms$");
	cr_assert_gt(metrics.latencies_us.boot_us, 0);
	cr_assert_lt(metrics.latencies_us.boot_us, 5000000);
	cr_assert_gt(metrics.latencies_us.boot_cpu_us, 0);
}

Test(vm_idle, no_boot_timer_no_line_and_the_guest_runs_on)
{
	idle_vm_create("gm.boot_timer exit 5", false);
	start_vm();
	cr_assert(join_within(5000));
	cr_assert_eq(run_status, 5);
	cr_assert_null(strstr(contents(log_out), "Guest-boot-time"), "log: [%s]",
		       contents(log_out));
	cr_assert_eq(metrics.latencies_us.boot_us, 0);
}

/* --- machine-config track_dirty_pages: KVM logs the pages the guest writes --- */

TestSuite(vm_memory, .fini = teardown);

static int get_dirty_log(uint8_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = 0 };
	log.dirty_bitmap = bitmap;
	return ioctl(vm.vm_fd, KVM_GET_DIRTY_LOG, &log);
}

/* A page the spin guest touches: its page tables (the walker sets their accessed and
 * dirty bits), its code, its counters. */
static bool spin_touches(uint64_t page)
{
	uint64_t gpa = page * 4096;
	return (gpa >= LAYOUT_PML4 && gpa < LAYOUT_PD + 4 * 4096) || gpa == SPIN_ENTRY ||
	       gpa == COUNTERS;
}

Test(vm_memory, dirty_log_holds_the_page_the_guest_writes)
{
	static uint8_t bitmap[16 * MIB / 4096 / 8];
	spin_mem = (struct vm_mem_options){ .dirty_log = true };
	spin_vm_create(1);
	start_vm();
	wait_all_counting(NULL);
	cr_assert_eq(get_dirty_log(bitmap), 0, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
	uint64_t page = COUNTERS / 4096;
	cr_assert(bitmap[page / 8] & (1u << (page % 8)), "the counter page is not marked dirty");
	/* Nothing the guest never touched. (Whether its code page, only fetched, is clean
	 * is the CPU's business: hardware leaves it clean, QEMU TCG's emulated nested
	 * paging in the KVM box marks it dirty.) */
	for (uint64_t p = 0; p < sizeof(bitmap) * 8; p++)
		cr_assert(!(bitmap[p / 8] & (1u << (p % 8))) || spin_touches(p),
			  "page %#llx is marked dirty, the guest never touched it",
			  (unsigned long long)(p * 4096));
}

Test(vm_memory, no_dirty_log_unless_asked)
{
	static uint8_t bitmap[16 * MIB / 4096 / 8];
	spin_mem = (struct vm_mem_options){ 0 };
	spin_vm_create(1);
	cr_assert_eq(get_dirty_log(bitmap), -1);
	cr_assert_eq(errno, ENOENT, "KVM_GET_DIRTY_LOG without the flag: %s", strerror(errno));
}
