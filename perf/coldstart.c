/*
 * coldstart: a VM monitor's start seen from outside, for perf/startup_bench.sh. The
 * same harness runs every contender (the floor, ember, QEMU), so whatever it costs
 * itself, it costs them all alike.
 *
 *   coldstart once [-t SEC] [-o FILE] -- CMD [ARG...]
 *     One run. stdin is /dev/null, stdout a pipe read here (and copied to FILE), stderr
 *     inherited. The clock starts just before posix_spawn (a vfork: the child execs at
 *     once). Prints one line:
 *       first_byte_us exit_us maxrss_kib status
 *     the time to the first byte read from the pipe (-1: none), the time to the exit
 *     (reaped by wait4), the child's peak resident memory (rusage), and its exit status
 *     (128+N after signal N; 124 when it was killed after SEC seconds, default 60).
 *
 *   coldstart rate -j N -s SEC [-e STATUS] [-t SEC] -- CMD [ARG...]
 *     Keeps N runs of CMD going back to back (stdin and stdout /dev/null, stderr
 *     inherited), starting new ones for SEC seconds, then waits for the last ones.
 *     A run counts as ok when it exits with STATUS (default 0). Prints:
 *       ok failed elapsed_us
 *     elapsed from the first start to the last exit, so every run counted lies within.
 *
 *   coldstart mem -w TEXT -g GUEST_MIB [-t SEC] [-o FILE] -- CMD [ARG...]
 *     Starts CMD, waits until TEXT appears on its stdout (the guest is up), sums
 *     /proc/PID/smaps over every mapping but the guest's RAM (the mapping of exactly
 *     GUEST_MIB MiB; failing that, the largest one at least that big), sends SIGTERM and
 *     reaps it. Prints:
 *       rss_kib pss_kib guest_rss_kib guest_map_kib maxrss_kib status
 *     (Rss and Pss without the guest RAM, the guest RAM's own Rss and size, the peak
 *     resident memory of the whole process from rusage, the exit status).
 *
 *   coldstart up -n N -w TEXT [-w TEXT2...] [-t SEC] [-o PREFIX] -- CMD [ARG...]
 *     Starts N copies of CMD at once (N = 1: one run), each with stdin /dev/null and
 *     its own stdout pipe, the clock started just before the first spawn. Waits until
 *     every copy has printed, for each TEXT in order, a whole line holding it (or
 *     exited, or SEC seconds passed since the clock started), then reads each copy's
 *     /proc/PID/smaps_rollup, sends them all SIGTERM and reaps them. Prints one line
 *     per copy, in spawn order:
 *       status rss pss private_clean private_dirty anon_huge spawn_us t1_us [t2_us...]
 *     the exit status after the SIGTERM (or whatever it died of before), the whole
 *     process's memory at the sample in KiB, guest RAM included (smaps_rollup's Rss,
 *     Pss, Private_Clean, Private_Dirty, AnonHugePages; -1 each when it could not be
 *     read), when its spawn began, and for each TEXT the end of its line, all from the
 *     clock's start (-1: never). Each copy's output is copied to PREFIX.I (I from 0)
 *     when -o is given. Lines are read once every copy has been spawned, so a line a
 *     copy printed while later ones were still being spawned is timed when the last
 *     spawn returned: use the latest line's time (launch -> all up), not each one's.
 *
 * Exit status 0 when it measured something (whatever the child did), 2 for bad usage,
 * 1 when the child could not be started or the measurement failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
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

extern char **environ;

#define KIB 1024ULL
#define MIB (1024ULL * 1024ULL)

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: coldstart once [-t SEC] [-o FILE] -- CMD [ARG...]\n"
		"       coldstart rate -j N -s SEC [-e STATUS] [-t SEC] -- CMD [ARG...]\n"
		"       coldstart mem -w TEXT -g GUEST_MIB [-t SEC] [-o FILE] -- CMD [ARG...]\n"
		"       coldstart up -n N -w TEXT [-w TEXT...] [-t SEC] [-o PREFIX] -- CMD [ARG...]\n");
	exit(2);
}

static long parse_num(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "coldstart: '%s' is not a number in [%ld, %ld]\n", s, min, max);
		exit(2);
	}
	return v;
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Spawns argv with stdin from /dev/null and stdout to out_fd (-1: /dev/null). */
static pid_t spawn(char *const argv[], int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "coldstart: cannot start %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	return pid;
}

struct child {
	pid_t pid;
	int fd;           /* read end of its stdout */
	FILE *copy;       /* where its output is copied, or NULL */
	int64_t start_us; /* just before the spawn */
	int64_t first_us; /* first byte seen, -1 before */
	char tail[4096];  /* the latest output, for mem's TEXT */
	size_t tail_len;
	bool eof;
};

static int child_start(struct child *c, char *const argv[], const char *copy_path)
{
	int p[2];
	memset(c, 0, sizeof(*c));
	c->first_us = -1;
	if (copy_path && !(c->copy = fopen(copy_path, "w"))) {
		fprintf(stderr, "coldstart: %s: %s\n", copy_path, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("coldstart: pipe");
		return -1;
	}
	c->fd = p[0];
	c->start_us = now_us();
	c->pid = spawn(argv, p[1]);
	close(p[1]);
	return c->pid < 0 ? -1 : 0;
}

/* Reads what is there, waiting up to timeout_ms; false on EOF or error. */
static bool child_read(struct child *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms);
	if (r < 0 && errno == EINTR)
		return true;
	if (r <= 0)
		return r == 0;
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0) {
		c->eof = true;
		return false;
	}
	if (c->first_us < 0)
		c->first_us = now_us();
	if (c->copy)
		fwrite(buf, 1, (size_t)n, c->copy);
	size_t keep = sizeof(c->tail) - 1;
	if ((size_t)n >= keep) {
		memcpy(c->tail, buf + (size_t)n - keep, keep);
		c->tail_len = keep;
	} else {
		if (c->tail_len + (size_t)n > keep) {
			size_t drop = c->tail_len + (size_t)n - keep;
			memmove(c->tail, c->tail + drop, c->tail_len - drop);
			c->tail_len -= drop;
		}
		memcpy(c->tail + c->tail_len, buf, (size_t)n);
		c->tail_len += (size_t)n;
	}
	c->tail[c->tail_len] = '\0';
	return true;
}

/* Drains stdout to EOF (killing the child at deadline_us), reaps it. */
static int child_finish(struct child *c, int64_t deadline_us, int64_t *exit_us,
			struct rusage *ru)
{
	bool timed_out = false;
	while (!c->eof) {
		int64_t left = deadline_us - now_us();
		if (left <= 0) {
			kill(c->pid, SIGKILL);
			timed_out = true;
			break;
		}
		if (!child_read(c, (int)(left / 1000 + 1)) && !c->eof)
			break;
	}
	int st = 0;
	while (wait4(c->pid, &st, 0, ru) < 0)
		if (errno != EINTR) {
			perror("coldstart: wait4");
			return -1;
		}
	*exit_us = now_us();
	close(c->fd);
	if (c->copy)
		fclose(c->copy);
	return timed_out ? 124 : decode_status(st);
}

static int cmd_once(int timeout_s, const char *copy, char *const argv[])
{
	struct child c;
	struct rusage ru;
	int64_t exit_us;
	if (child_start(&c, argv, copy) < 0)
		return 1;
	int status = child_finish(&c, c.start_us + (int64_t)timeout_s * 1000000, &exit_us, &ru);
	if (status < 0)
		return 1;
	printf("%lld %lld %ld %d\n", c.first_us < 0 ? -1LL : (long long)(c.first_us - c.start_us),
	       (long long)(exit_us - c.start_us), ru.ru_maxrss, status);
	return 0;
}

static int cmd_rate(int jobs, int seconds, int want, int timeout_s, char *const argv[])
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL); /* waited for with sigtimedwait */

	pid_t pids[64];
	long ok = 0, failed = 0;
	int running = 0;
	int64_t t0 = now_us(), last = t0;
	int64_t stop_starting = t0 + (int64_t)seconds * 1000000;
	int64_t give_up = stop_starting + (int64_t)timeout_s * 1000000;
	for (;;) {
		while (running < jobs && now_us() < stop_starting) {
			if ((pids[running] = spawn(argv, -1)) < 0)
				break;
			running++;
		}
		if (running == 0)
			break;
		if (now_us() >= give_up) {
			fprintf(stderr, "coldstart: %d runs still going after %d s: killed\n",
				running, timeout_s);
			for (int i = 0; i < running; i++)
				kill(pids[i], SIGKILL);
			while (running > 0 && wait(NULL) > 0)
				running--;
			return 1;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 };
		sigtimedwait(&chld, NULL, &ts);
		int st;
		pid_t pid;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (int i = 0; i < running; i++)
				if (pids[i] == pid) {
					pids[i] = pids[--running];
					break;
				}
			last = now_us();
			if (decode_status(st) == want)
				ok++;
			else
				failed++;
		}
	}
	printf("%ld %ld %lld\n", ok, failed, (long long)(last - t0));
	return ok + failed > 0 ? 0 : 1;
}

/* Sums smaps of pid; the guest mapping is the one of exactly guest bytes, else the
 * largest at least that big. */
static int smaps_sum(pid_t pid, uint64_t guest, uint64_t out[4])
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "coldstart: %s: %s\n", path, strerror(errno));
		return -1;
	}
	enum { MAXMAP = 4096 };
	static struct { uint64_t size, rss, pss; } maps[MAXMAP];
	int n = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, v;
		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && strchr(line, '-') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			if (n + 1 >= MAXMAP)
				break;
			n++;
			maps[n].size = b - a;
			maps[n].rss = maps[n].pss = 0;
		} else if (n >= 0 && sscanf(line, "Rss: %llu kB", &v) == 1) {
			maps[n].rss = v;
		} else if (n >= 0 && sscanf(line, "Pss: %llu kB", &v) == 1) {
			maps[n].pss = v;
		}
	}
	fclose(f);
	int g = -1;
	for (int i = 0; i <= n; i++)
		if (maps[i].size == guest) {
			g = i;
			break;
		}
	for (int i = 0; g < 0 && i <= n; i++)
		if (maps[i].size >= guest && (g < 0 || maps[i].size > maps[g].size))
			g = i;
	if (g < 0) {
		fprintf(stderr, "coldstart: no mapping of %llu MiB in %s\n",
			(unsigned long long)(guest / MIB), path);
		return -1;
	}
	memset(out, 0, 4 * sizeof(out[0]));
	for (int i = 0; i <= n; i++)
		if (i != g) {
			out[0] += maps[i].rss;
			out[1] += maps[i].pss;
		}
	out[2] = maps[g].rss;
	out[3] = maps[g].size / KIB;
	return 0;
}

static int cmd_mem(const char *text, long guest_mib, int timeout_s, const char *copy,
		   char *const argv[])
{
	struct child c;
	struct rusage ru;
	int64_t exit_us;
	uint64_t sums[4];
	if (child_start(&c, argv, copy) < 0)
		return 1;
	int64_t deadline = c.start_us + (int64_t)timeout_s * 1000000;
	while (!strstr(c.tail, text)) {
		int64_t left = deadline - now_us();
		if (left <= 0 || !child_read(&c, (int)(left / 1000 + 1)))
			break;
	}
	bool up = strstr(c.tail, text) != NULL;
	int measured = up ? smaps_sum(c.pid, (uint64_t)guest_mib * MIB, sums) : -1;
	if (!up)
		fprintf(stderr, "coldstart: '%s' never appeared on %s's output\n", text, argv[0]);
	kill(c.pid, SIGTERM);
	int status = child_finish(&c, now_us() + (int64_t)timeout_s * 1000000, &exit_us, &ru);
	if (measured < 0 || status < 0)
		return 1;
	printf("%llu %llu %llu %llu %ld %d\n", (unsigned long long)sums[0],
	       (unsigned long long)sums[1], (unsigned long long)sums[2],
	       (unsigned long long)sums[3], ru.ru_maxrss, status);
	return 0;
}

/* Rss, Pss, Private_Clean, Private_Dirty, AnonHugePages of /proc/pid/smaps_rollup, KiB;
 * -1 when unreadable. */
enum { ROLLUP_KEYS = 5 };
static void rollup(pid_t pid, long long out[ROLLUP_KEYS])
{
	static const char *const keys[ROLLUP_KEYS] = { "Rss:", "Pss:", "Private_Clean:",
						       "Private_Dirty:", "AnonHugePages:" };
	char path[64], line[256];
	for (int i = 0; i < ROLLUP_KEYS; i++)
		out[i] = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "coldstart: %s: %s\n", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		for (int i = 0; i < ROLLUP_KEYS; i++) {
			size_t k = strlen(keys[i]);
			long long v;
			if (!strncmp(line, keys[i], k) && sscanf(line + k, "%lld", &v) == 1)
				out[i] = v;
		}
	fclose(f);
}

enum { MAX_TEXTS = 4, MAX_COPIES = 500 };

struct up_copy {
	struct child c;
	int64_t spawn_us;
	int64_t at_us[MAX_TEXTS]; /* end of the line holding text i, -1 before */
	int next;                 /* the text looked for now */
	char line[1024];          /* the line being read (its first 1023 bytes) */
	size_t len;
};

/* Reads what u's pipe has (poll said so); each finished line is checked against the
 * text looked for. false on EOF or error. */
static bool up_read(struct up_copy *u, const char *const texts[], int ntexts)
{
	char buf[4096];
	ssize_t n = read(u->c.fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0) {
		u->c.eof = true;
		return false;
	}
	int64_t now = now_us();
	if (u->c.copy)
		fwrite(buf, 1, (size_t)n, u->c.copy);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (u->len < sizeof(u->line) - 1)
				u->line[u->len++] = buf[i];
			continue;
		}
		u->line[u->len] = '\0';
		u->len = 0;
		if (u->next < ntexts && strstr(u->line, texts[u->next]))
			u->at_us[u->next++] = now;
	}
	return true;
}

static int cmd_up(long n, const char *const texts[], int ntexts, int timeout_s,
		  const char *prefix, char *const argv[])
{
	static struct up_copy u[MAX_COPIES];
	char path[4096];
	/* Two descriptors a copy with -o (its pipe, its copy file): the hard limit. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	int64_t t0 = now_us(), deadline = t0 + (int64_t)timeout_s * 1000000;
	long started = 0;
	for (long i = 0; i < n; i++) {
		if (prefix)
			snprintf(path, sizeof(path), "%s.%ld", prefix, i);
		int64_t s = now_us();
		if (child_start(&u[i].c, argv, prefix ? path : NULL) < 0)
			break;
		u[i].spawn_us = s - t0;
		for (int k = 0; k < MAX_TEXTS; k++)
			u[i].at_us[k] = -1;
		u[i].next = 0;
		u[i].len = 0;
		started++;
	}
	if (started == 0)
		return 1;
	static struct pollfd pfd[MAX_COPIES];
	static long idx[MAX_COPIES];
	for (;;) {
		int np = 0;
		for (long i = 0; i < started; i++)
			if (u[i].next < ntexts && !u[i].c.eof) {
				pfd[np] = (struct pollfd){ .fd = u[i].c.fd, .events = POLLIN };
				idx[np++] = i;
			}
		int64_t left = deadline - now_us();
		if (np == 0 || left <= 0)
			break;
		int r = poll(pfd, (nfds_t)np, (int)(left / 1000 + 1));
		if (r < 0 && errno != EINTR) {
			perror("coldstart: poll");
			break;
		}
		for (int k = 0; k < np && r > 0; k++) {
			if (!pfd[k].revents)
				continue;
			up_read(&u[idx[k]], texts, ntexts);
		}
	}
	static long long mem[MAX_COPIES][ROLLUP_KEYS];
	for (long i = 0; i < started; i++)
		rollup(u[i].c.pid, mem[i]);
	for (long i = 0; i < started; i++)
		kill(u[i].c.pid, SIGTERM);
	for (long i = 0; i < started; i++) {
		struct rusage ru;
		int64_t exit_us;
		int st = child_finish(&u[i].c, now_us() + (int64_t)timeout_s * 1000000, &exit_us, &ru);
		printf("%d %lld %lld %lld %lld %lld %lld", st, mem[i][0], mem[i][1], mem[i][2],
		       mem[i][3], mem[i][4], (long long)u[i].spawn_us);
		for (int k = 0; k < ntexts; k++)
			printf(" %lld", u[i].at_us[k] < 0 ? -1LL : (long long)(u[i].at_us[k] - t0));
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1], *copy = NULL, *text = NULL, *texts[MAX_TEXTS];
	long jobs = 1, seconds = 10, want = 0, timeout_s = 60, guest_mib = 0, copies = 1;
	int ntexts = 0;
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "+t:o:j:s:e:w:g:n:")) != -1) {
		switch (opt) {
		case 't': timeout_s = parse_num(optarg, 1, 3600); break;
		case 'o': copy = optarg; break;
		case 'j': jobs = parse_num(optarg, 1, 64); break;
		case 's': seconds = parse_num(optarg, 1, 3600); break;
		case 'e': want = parse_num(optarg, 0, 255); break;
		case 'w':
			if (ntexts == MAX_TEXTS || !*optarg)
				usage();
			text = texts[ntexts++] = optarg;
			break;
		case 'n': copies = parse_num(optarg, 1, MAX_COPIES); break;
		case 'g': guest_mib = parse_num(optarg, 1, 1 << 20); break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	char *const *cmd = argv + optind;
	if (!strcmp(mode, "once"))
		return cmd_once((int)timeout_s, copy, cmd);
	if (!strcmp(mode, "rate"))
		return cmd_rate((int)jobs, (int)seconds, (int)want, (int)timeout_s, cmd);
	if (!strcmp(mode, "mem")) {
		if (!text || !*text || !guest_mib)
			usage();
		return cmd_mem(text, guest_mib, (int)timeout_s, copy, cmd);
	}
	if (!strcmp(mode, "up")) {
		if (!ntexts)
			usage();
		return cmd_up(copies, texts, ntexts, (int)timeout_s, copy, cmd);
	}
	usage();
}
