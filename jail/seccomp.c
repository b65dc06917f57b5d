/*
 * Installs the per-thread filters that seccomp-gen compiled from seccomp_rules.c at
 * build time (a thread locks itself down with one syscall and no allocation), and turns
 * a forbidden syscall into a log line, a metric and status 148.
 */
#include "seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/metrics.h"

static bool enabled;

/* Async-signal-safe decimal, for the handler. */
static size_t seccomp_put_u64(char *p, unsigned long long v)
{
	char tmp[24];
	size_t n = 0, i = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(tmp));
	while (n)
		p[i++] = tmp[--n];
	return i;
}

static void seccomp_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	METRIC_INC(metrics.seccomp.num_faults);
	/* The thread that trapped is stuck in this handler: nothing else can run its
	   code, so the logger's plain write() path is safe to use. */
	log_error("seccomp: forbidden syscall %d (arch 0x%x): ember stops with status %d",
		  si->si_syscall, si->si_arch, SECCOMP_EXIT_STATUS);
	metrics_flush_fault();
	char msg[96] = "ember: seccomp: forbidden syscall ";
	size_t n = strlen(msg);
	n += seccomp_put_u64(msg + n, (unsigned long long)si->si_syscall);
	msg[n++] = '\n';
	if (!log_writes_to_stderr())
		(void)!write(STDERR_FILENO, msg, n);
	_exit(SECCOMP_EXIT_STATUS);
}

static int seccomp_install_handler(struct errbuf *e)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask); /* nothing interrupts the way out */
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return errf(e, "seccomp: sigaction(SIGSYS): %s", strerror(errno));
	return 0;
}

int seccomp_prepare(bool on, struct errbuf *e)
{
	enabled = on;
	if (!on) {
		fputs("ember: seccomp filters are off (--no-seccomp): for debugging only\n", stderr);
		return 0;
	}
	log_debug("seccomp: BPF of %u (vmm), %u (api), %u (vcpu), %u (build) instructions",
		  seccomp_programs[SECCOMP_VMM].len, seccomp_programs[SECCOMP_API].len,
		  seccomp_programs[SECCOMP_VCPU].len, seccomp_programs[SECCOMP_BUILD].len);
	return seccomp_install_handler(e);
}

int seccomp_lock_thread(enum seccomp_thread kind, struct errbuf *e)
{
	if (!enabled || kind >= SECCOMP_THREAD_KINDS)
		return 0;
	/* no_new_privs is what lets an unprivileged process install a filter; the jail sets
	   it too, for the whole process. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errf(e, "seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	/* Without SECCOMP_FILTER_FLAG_TSYNC: this thread only (and threads it creates). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &seccomp_programs[kind]) < 0)
		return errf(e, "seccomp: %s filter: %s", seccomp_thread_name(kind), strerror(errno));
	return 0;
}
