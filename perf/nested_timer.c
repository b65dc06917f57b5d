/*
 * nested_timer: times one VM monitor run for perf/nested_bench.sh (copied into the
 * nested harness's L1 and run there, so it is static musl, no dependencies).
 *
 *   nested_timer [-m MARKER] [-i INTERIM_MARKER] [-s SAMPLE_MARKER] [-g GUEST_MIB]
 *                [-d DELAY_MS] [-t TIMEOUT_S] [-k] [-o LOG] -- CMD [ARG...]
 *
 * Starts CMD (stdin /dev/null, stdout and stderr into a pipe read here; every byte
 * is copied to LOG when given) and reports, on stdout, one line of key=value words:
 *   marker_ns  CLOCK_MONOTONIC ns from just before fork() to the end of the first
 *              output line containing MARKER (-1: never seen)
 *   interim_ns with -i, the same for the first line containing INTERIM_MARKER (a
 *              milestone on the way to MARKER, like a root file system's mount)
 *   exit_ns    ns from the same start to the child's exit (wait4)
 *   status     exit status, "sig<N>" when killed by a signal, or "timeout"
 *   maxrss_kib the child's peak resident set (wait4's ru_maxrss)
 *   user_ms, sys_ms  the child's CPU time in user and kernel mode (wait4's rusage;
 *              a KVM guest's time counts as its vCPU threads' user time)
 * With -s, when the first line containing SAMPLE_MARKER arrives, waits DELAY_MS
 * (default 200) and reads /proc/PID/smaps and /proc/PID/status once:
 *   rss_kib       Rss summed over every mapping
 *   guest_rss_kib Rss of the guest RAM: the anonymous mapping(s) exactly GUEST_MIB
 *                 MiB long (-g); guest_maps says how many there were (1 expected)
 *   other_rss_kib rss_kib - guest_rss_kib: the monitor's own memory
 *   pss_kib, other_pss_kib  the same with Pss (shared pages divided among the
 *                 processes that map them)
 *   hwm_kib       VmHWM (peak RSS so far)
 * -k: SIGKILL the child once MARKER (and the sample, with -s) has been seen
 * instead of waiting for it to exit on its own (exit_ns then times the kill).
 * -t: SIGKILL after TIMEOUT_S seconds (default 120); status=timeout.
 * Exit status: 0 when the child ran (whatever it returned), 2 for bad arguments or
 * a failed fork/exec setup.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sample {
	bool done;
	long long rss_kib, guest_rss_kib, pss_kib, guest_pss_kib, hwm_kib;
	int guest_maps;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: nested_timer [-m MARKER] [-i INTERIM_MARKER] [-s SAMPLE_MARKER] "
			"[-g GUEST_MIB] [-d DELAY_MS] [-t TIMEOUT_S] [-k] [-o LOG] -- CMD [ARG...]\n");
	exit(2);
}

static long long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "nested_timer: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* Reads /proc/PID/smaps: Rss and Pss sums, and the Rss of anonymous mappings
 * exactly guest_bytes long (the guest RAM). */
static void take_sample(pid_t pid, unsigned long long guest_bytes, struct sample *s)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	bool in_guest = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, inode;
		char perms[8], dev[16];
		long long kib;
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &start, &end, perms, &off,
			   dev, &inode, &n) == 6 && n > 0) {
			/* A mapping header: anonymous means inode 0 and no path (or one in
			 * brackets, like [heap]; guest RAM has none). */
			const char *name = line + n;
			in_guest = guest_bytes && end - start == guest_bytes && inode == 0 &&
				   (*name == '\n' || *name == '\0');
			if (in_guest)
				s->guest_maps++;
		} else if (sscanf(line, "Rss: %lld kB", &kib) == 1) {
			s->rss_kib += kib;
			if (in_guest)
				s->guest_rss_kib += kib;
		} else if (sscanf(line, "Pss: %lld kB", &kib) == 1) {
			s->pss_kib += kib;
			if (in_guest)
				s->guest_pss_kib += kib;
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "VmHWM: %lld kB", &s->hwm_kib) == 1)
				break;
		fclose(f);
	}
	s->done = true;
}

int main(int argc, char **argv)
{
	const char *marker = NULL, *interim_marker = NULL, *sample_marker = NULL;
	const char *log_path = NULL;
	unsigned long long guest_mib = 0;
	long long delay_ms = 200, timeout_s = 120;
	bool kill_after = false;
	int opt;
	while ((opt = getopt(argc, argv, "+m:i:s:g:d:t:ko:")) != -1) {
		switch (opt) {
		case 'm': marker = optarg; break;
		case 'i': interim_marker = optarg; break;
		case 's': sample_marker = optarg; break;
		case 'g': guest_mib = (unsigned long long)parse_num(optarg, "guest MiB"); break;
		case 'd': delay_ms = parse_num(optarg, "delay"); break;
		case 't': timeout_s = parse_num(optarg, "timeout"); break;
		case 'k': kill_after = true; break;
		case 'o': log_path = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();

	int logfd = -1;
	if (log_path) {
		logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (logfd < 0) {
			fprintf(stderr, "nested_timer: %s: %s\n", log_path, strerror(errno));
			return 2;
		}
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC)) {
		perror("nested_timer: pipe");
		return 2;
	}
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("nested_timer: fork");
		return 2;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(126);
		execvp(argv[optind], argv + optind);
		dprintf(1, "nested_timer: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(p[1]);

	int64_t marker_ns = -1, interim_ns = -1, deadline = t0 + (int64_t)timeout_s * 1000000000;
	struct sample smp = { 0 };
	bool want_sample = sample_marker != NULL, sample_seen = false, timed_out = false;
	bool killed = false, eof = false;
	int64_t sample_at = 0;
	char line[4096];
	size_t len = 0;
	while (!eof) {
		int64_t t = now_ns();
		if (t >= deadline && !killed) {
			kill(pid, SIGKILL);
			killed = timed_out = true;
		}
		if (sample_seen && !smp.done && t >= sample_at)
			take_sample(pid, guest_mib << 20, &smp);
		if (kill_after && !killed && marker_ns >= 0 && (!want_sample || smp.done)) {
			kill(pid, SIGKILL);
			killed = true;
		}
		int64_t wait_to = deadline;
		if (sample_seen && !smp.done && sample_at < wait_to)
			wait_to = sample_at;
		int ms = killed ? 1000 : (int)((wait_to - t + 999999) / 1000000);
		if (ms < 0)
			ms = 0;
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			eof = true;
			break;
		}
		int64_t tr = now_ns();
		if (logfd >= 0 && write(logfd, buf, (size_t)n) < 0) {
			close(logfd);
			logfd = -1;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			bool end = c == '\n' || len == sizeof(line) - 1;
			if (c != '\n' && c != '\r')
				line[len++] = c;
			if (!end)
				continue;
			line[len] = '\0';
			if (marker && marker_ns < 0 && strstr(line, marker))
				marker_ns = tr - t0;
			if (interim_marker && interim_ns < 0 && strstr(line, interim_marker))
				interim_ns = tr - t0;
			if (want_sample && !sample_seen && strstr(line, sample_marker)) {
				sample_seen = true;
				sample_at = tr + delay_ms * 1000000;
			}
			len = 0;
		}
	}
	/* The pipe closed: the child (and whatever inherited its stdout) is gone, or
	 * the read failed. Reap it; a child that closed its output but lives on is
	 * still bound by the deadline. */
	int st = 0;
	struct rusage ru = { 0 };
	for (;;) {
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			st = -1;
			break;
		}
		if (!killed && now_ns() >= deadline) {
			kill(pid, SIGKILL);
			killed = timed_out = true;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	int64_t exit_ns = now_ns() - t0;

	char status[32];
	if (timed_out)
		snprintf(status, sizeof(status), "timeout");
	else if (st == -1)
		snprintf(status, sizeof(status), "unknown");
	else if (WIFSIGNALED(st))
		snprintf(status, sizeof(status), "sig%d", WTERMSIG(st));
	else
		snprintf(status, sizeof(status), "%d", WEXITSTATUS(st));
	printf("marker_ns=%" PRId64 " exit_ns=%" PRId64 " status=%s maxrss_kib=%ld", marker_ns,
	       exit_ns, status, ru.ru_maxrss);
	printf(" user_ms=%lld sys_ms=%lld",
	       (long long)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
	       (long long)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
	if (interim_marker)
		printf(" interim_ns=%" PRId64, interim_ns);
	if (want_sample) {
		if (smp.done)
			printf(" rss_kib=%lld guest_rss_kib=%lld other_rss_kib=%lld pss_kib=%lld "
			       "other_pss_kib=%lld hwm_kib=%lld guest_maps=%d",
			       smp.rss_kib, smp.guest_rss_kib, smp.rss_kib - smp.guest_rss_kib,
			       smp.pss_kib, smp.pss_kib - smp.guest_pss_kib, smp.hwm_kib,
			       smp.guest_maps);
		else
			printf(" sample=none");
	}
	printf("\n");
	if (logfd >= 0)
		close(logfd);
	return 0;
}
