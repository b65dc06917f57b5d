/*
 * The seccomp filters of jail/seccomp_rules.c, installed for real in a child process:
 * what each thread kind may do works, what it may not do ends the process with status
 * 148 through the SIGSYS handler, which logs the syscall and writes a last metrics line.
 * And the table itself: every row names a real syscall and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../jail/seccomp.h"
#include "../../lib/log.h"
#include "../../lib/metrics.h"
#include "helpers.h"

/*
 * Runs fn in a child under first's filter and then (unless SECCOMP_THREAD_KINDS) kind's
 * stacked on it, as ember's event and vCPU threads run; returns the child's exit status
 * (or 128+sig).
 */
static int run_stacked(enum seccomp_thread first, enum seccomp_thread kind, int (*fn)(void),
		       int log_fd)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct errbuf e = { "" };
		/* Quiet unless the test reads the log. */
		log_init(log_fd >= 0 ? log_fd : STDERR_FILENO, log_fd >= 0 ? LOG_WARN : LOG_OFF,
			 "unit");
		if (seccomp_prepare(true, &e) < 0 || seccomp_lock_thread(first, &e) < 0 ||
		    seccomp_lock_thread(kind, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			_exit(97);
		}
		_exit(fn());
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs fn in a child under kind's filter alone. */
static int run_filtered(enum seccomp_thread kind, int (*fn)(void), int log_fd)
{
	return run_stacked(kind, SECCOMP_THREAD_KINDS, fn, log_fd);
}

static int do_kvm_run(void)
{
	/* On a bad fd the kernel answers EBADF, if the filter lets the call through. */
	return ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF ? 0 : 1;
}

static int do_kvm_create_vm(void)
{
	return ioctl(-1, KVM_CREATE_VM, 0) < 0 && errno == EBADF ? 0 : 1;
}

static int do_mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p != MAP_FAILED && munmap(p, 4096) == 0 ? 0 : 1;
}

static int do_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int do_socket_unix(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

static int do_open(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? 0 : 1;
}

static int do_futex_wake(void)
{
	int word = 0;
	return syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0 ? 0 : 1;
}

static int do_futex_cmp_requeue(void)
{
	int a = 0, b = 0;
	syscall(SYS_futex, &a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &b, 0);
	return 0;
}

static int do_execve(void)
{
	char *argv[] = { "/bin/true", NULL };
	execve("/bin/true", argv, NULL);
	return 0;
}

Test(seccomp, kvm_run_is_the_vcpus_alone)
{
	cr_assert_eq(run_filtered(SECCOMP_VCPU, do_kvm_run, -1), 0);
	cr_assert_eq(run_filtered(SECCOMP_API, do_kvm_run, -1), SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_filtered(SECCOMP_VMM, do_kvm_run, -1), SECCOMP_EXIT_STATUS);
}

Test(seccomp, memory_is_never_executable)
{
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		cr_assert_eq(run_filtered(k, do_mmap_rw, -1), 0, "%s: mmap RW",
			     seccomp_thread_name(k));
		cr_assert_eq(run_filtered(k, do_mmap_exec, -1), SECCOMP_EXIT_STATUS,
			     "%s: mmap PROT_EXEC", seccomp_thread_name(k));
		cr_assert_eq(run_filtered(k, do_mprotect_exec, -1), SECCOMP_EXIT_STATUS,
			     "%s: mprotect PROT_EXEC", seccomp_thread_name(k));
	}
}

Test(seccomp, no_thread_creates_sockets_or_runs_programs)
{
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		cr_assert_eq(run_filtered(k, do_socket_unix, -1), SECCOMP_EXIT_STATUS, "%s",
			     seccomp_thread_name(k));
		cr_assert_eq(run_filtered(k, do_execve, -1), SECCOMP_EXIT_STATUS, "%s",
			     seccomp_thread_name(k));
	}
}

Test(seccomp, only_the_vmm_thread_opens_files)
{
	cr_assert_eq(run_filtered(SECCOMP_BUILD, do_open, -1), 0);
	cr_assert_eq(run_filtered(SECCOMP_VMM, do_open, -1), 0);
	cr_assert_eq(run_filtered(SECCOMP_API, do_open, -1), SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_filtered(SECCOMP_VCPU, do_open, -1), SECCOMP_EXIT_STATUS);
}

Test(seccomp, only_the_build_filter_creates_vms)
{
	cr_assert_eq(run_filtered(SECCOMP_BUILD, do_kvm_create_vm, -1), 0);
	cr_assert_eq(run_filtered(SECCOMP_VMM, do_kvm_create_vm, -1), SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_filtered(SECCOMP_VCPU, do_kvm_create_vm, -1), SECCOMP_EXIT_STATUS);
}

/* The event thread's and the vCPU threads' filters on top of the build filter: each
 * narrows it to its own list, and what its own list allows still works. */
Test(seccomp, a_stacked_filter_narrows_the_build_filter)
{
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_VMM, do_kvm_create_vm, -1),
		     SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_VMM, do_open, -1), 0);
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_VCPU, do_kvm_create_vm, -1),
		     SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_VCPU, do_open, -1), SECCOMP_EXIT_STATUS);
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_VCPU, do_kvm_run, -1), 0);
	cr_assert_eq(run_stacked(SECCOMP_BUILD, SECCOMP_API, do_kvm_run, -1), SECCOMP_EXIT_STATUS);
}

/* The build filter holds every row: a later filter can only narrow it. */
Test(seccomp, the_build_filter_holds_every_row)
{
	for (size_t i = 0; i < seccomp_nrules; i++)
		cr_assert(seccomp_rule_applies(&seccomp_rules[i], SECCOMP_BUILD), "row %zu (%s)",
			  i, seccomp_rules[i].name);
	for (int k = 0; k < SECCOMP_BUILD; k++)
		cr_assert_gt(seccomp_count_syscalls(SECCOMP_BUILD), seccomp_count_syscalls(k), "%s",
			     seccomp_thread_name(k));
}

Test(seccomp, futex_only_the_operations_used)
{
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		cr_assert_eq(run_filtered(k, do_futex_wake, -1), 0, "%s", seccomp_thread_name(k));
		cr_assert_eq(run_filtered(k, do_futex_cmp_requeue, -1), SECCOMP_EXIT_STATUS, "%s",
			     seccomp_thread_name(k));
	}
}

Test(seccomp, the_handler_logs_the_syscall)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(run_filtered(SECCOMP_API, do_socket_unix, p[1]), SECCOMP_EXIT_STATUS);
	close(p[1]);
	char buf[512] = "";
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	cr_assert_gt(n, 0);
	char want[64];
	snprintf(want, sizeof(want), "seccomp: forbidden syscall %d ", SYS_socket);
	cr_assert_not_null(strstr(buf, want), "log: %s", buf);
	cr_assert_not_null(strstr(buf, "status 148"), "log: %s", buf);
}

static char metrics_path[64];

Test(seccomp, the_handler_writes_a_last_metrics_line)
{
	snprintf(metrics_path, sizeof(metrics_path), "/tmp/ember-seccomp-XXXXXX");
	int fd = mkstemp(metrics_path);
	cr_assert_geq(fd, 0);
	close(fd);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct errbuf e = { "" };
		log_init(STDERR_FILENO, LOG_OFF, "unit");
		if (metrics_open(metrics_path, NULL, &e) < 0 || metrics_flush(&e) < 0 ||
		    seccomp_prepare(true, &e) < 0 || seccomp_lock_thread(SECCOMP_VCPU, &e) < 0)
			_exit(97);
		socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == SECCOMP_EXIT_STATUS);
	char buf[16384] = "";
	FILE *f = fopen(metrics_path, "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(metrics_path);
	buf[n] = '\0';
	char *last = strrchr(buf, '{');
	cr_assert_not_null(strstr(buf, "\"seccomp\":{\"num_faults\":0}"), "first line: %s", buf);
	cr_assert_not_null(strstr(buf, "{\"num_faults\":1}}\n"), "last line: %s", last);
}

Test(seccomp, without_prepare_lock_is_a_no_op)
{
	struct errbuf e = { "" };
	cr_assert_eq(seccomp_lock_thread(SECCOMP_API, &e), 0);
	char buf[4096] = "";
	FILE *f = fopen("/proc/thread-self/status", "r");
	cr_assert_not_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cr_assert_not_null(strstr(buf, "Seccomp:\t0"), "%s", buf);
}

Test(seccomp, every_rule_names_a_syscall_and_a_reason)
{
	for (size_t i = 0; i < seccomp_nrules; i++) {
		const struct seccomp_rule *r = &seccomp_rules[i];
		cr_assert_geq(r->nr, 0, "row %zu (%s): not a syscall on this architecture", i,
			      r->name);
		cr_assert(r->why && strlen(r->why) > 8, "row %zu (%s): no reason", i, r->name);
		cr_assert(r->threads && !(r->threads & ~(SECCOMP_T_ALL | SECCOMP_T_BUILD)),
			  "row %zu (%s)", i, r->name);
		cr_assert_leq(r->nargs, SECCOMP_MAX_ARGS);
	}
	for (int k = 0; k < SECCOMP_THREAD_KINDS; k++) {
		size_t n = seccomp_count_syscalls(k), most = k == SECCOMP_BUILD ? 100 : 60;
		cr_assert(n > 5 && n < most, "%s: %zu syscalls", seccomp_thread_name(k), n);
	}
}
