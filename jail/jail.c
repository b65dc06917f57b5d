/*
 * The jail ladder (jail/README.md says why in this order): one function per step,
 * called in the order of jail_ladder[] at the bottom. A step returns -1 with the reason
 * (naming the path) in e; jail_enter prefixes "jail: <step>: ".
 */
#include "jail.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "cgroup.h"
#include "files.h"
#include "rlimit.h"

/* What the steps share. */
struct jail_run {
	const struct jail_config *jc;
	const struct jail_vm *vm;
	char root[PATH_MAX]; /* <base>/ember/<id>/root, as the host sees it */
	int ready_fd;        /* --daemonize: the waiting parent's pipe, -1 otherwise */
	int null_fd;         /* --daemonize: /dev/null, opened while the host's is reachable */
	struct jail_files files;
};

/* ---- 1. inherited descriptors: nothing of the caller's reaches the guest's process ---- */

static int jail_close_fds_slowly(struct errbuf *e)
{
	int fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return errf(e, "/proc/self/fd: %s", strerror(errno));
	for (struct dirent *de; (de = readdir(d)) && n < (int)ARRAY_SIZE(fds);) {
		int fd = atoi(de->d_name);
		if (fd > 2 && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static int jail_close_fds(struct jail_run *r, struct errbuf *e)
{
	(void)r;
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return 0;
	if (errno != ENOSYS)
		return errf(e, "close_range: %s", strerror(errno));
	return jail_close_fds_slowly(e); /* before Linux 5.9 */
}

/* ---- 2. the environment: nothing after this may read one ---- */

extern char **environ;

static int jail_clear_env(struct jail_run *r, struct errbuf *e)
{
	(void)r;
	/* clearenv drops the pointers only: the strings (secrets, maybe) would stay in
	 * memory and in /proc/PID/environ. */
	for (char **v = environ; v && *v; v++)
		memset(*v, 0, strlen(*v));
	if (clearenv() != 0)
		return errf(e, "clearenv failed");
	return 0;
}

/* ---- 3. --daemonize: the caller gets its status once the jail is complete ---- */

/* The first parent: 0 when the daemon says it is jailed, 1 when it died first. */
static _Noreturn void jail_wait_ready(int fd)
{
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	_exit(n == 1 ? 0 : 1);
}

static int jail_daemonize(struct jail_run *r, struct errbuf *e)
{
	int p[2];
	if (!r->jc->daemonize)
		return 0;
	r->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r->null_fd < 0)
		return errf(e, "/dev/null: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0)
		return errf(e, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return errf(e, "fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		jail_wait_ready(p[0]);
	}
	close(p[0]);
	r->ready_fd = p[1];
	if (setsid() < 0)
		return errf(e, "setsid: %s", strerror(errno));
	return 0;
}

/* ---- 4. <base>/ember/<id>/root ---- */

static int jail_mkdirs(char *path, struct errbuf *e)
{
	for (char *s = strchr(path + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		int r = mkdir(path, 0755);
		int err = errno;
		if (s)
			*s = '/';
		if (r < 0 && err != EEXIST)
			return errf(e, "%.*s: %s", s ? (int)(s - path) : (int)strlen(path), path,
				    strerror(err));
		if (!s)
			return 0;
	}
}

static int jail_make_root(struct jail_run *r, struct errbuf *e)
{
	struct stat st;
	if (snprintf(r->root, sizeof(r->root), "%s/ember/%s/root", r->jc->chroot_base,
		     r->vm->id) >= (int)sizeof(r->root))
		return errf(e, "%s/ember/%s/root: path too long", r->jc->chroot_base, r->vm->id);
	if (jail_mkdirs(r->root, e) < 0)
		return -1;
	if (lstat(r->root, &st) < 0 || !S_ISDIR(st.st_mode))
		return errf(e, "%s: not a directory", r->root);
	/* The jailed process creates its socket, log and metrics files there. */
	if (chown(r->root, r->jc->uid, r->jc->gid) < 0 || chmod(r->root, 0700) < 0)
		return errf(e, "%s: chown %u:%u: %s", r->root, (unsigned)r->jc->uid,
			    (unsigned)r->jc->gid, strerror(errno));
	return 0;
}

/* ---- 5. --netns: where the TAPs are ---- */

static int jail_join_netns(struct jail_run *r, struct errbuf *e)
{
	const char *path = r->jc->netns;
	if (!path)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "%s: %s", path, strerror(errno));
	int rc = setns(fd, CLONE_NEWNET);
	int err = errno;
	close(fd);
	if (rc < 0)
		return errf(e, "%s: setns: %s", path, strerror(err));
	return 0;
}

/* ---- 6. the cgroup, limits first ---- */

static int jail_enter_cgroup(struct jail_run *r, struct errbuf *e)
{
	return cgroup_enter(r->vm->id, r->jc->cgroups, r->jc->ncgroups, e);
}

/* ---- 7. namespaces; --new-pid-ns: a parent outside that relays signals ---- */

/* The parent outside the PID namespace: passes stop signals on, exits as the child. */
static _Noreturn void jail_reap(pid_t child, const sigset_t *wait_for)
{
	for (;;) {
		siginfo_t si;
		int status, sig = sigwaitinfo(wait_for, &si);
		if (sig == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) == child)
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		} else if (sig > 0) {
			kill(child, sig);
		}
	}
}

static int jail_fork_pid_ns(struct jail_run *r, struct errbuf *e)
{
	sigset_t relay, old;
	sigemptyset(&relay);
	sigaddset(&relay, SIGINT);
	sigaddset(&relay, SIGTERM);
	sigaddset(&relay, SIGHUP);
	sigaddset(&relay, SIGCHLD); /* blocked before the fork: the child's end is never missed */
	sigprocmask(SIG_BLOCK, &relay, &old);
	pid_t pid = fork();
	if (pid < 0)
		return errf(e, "fork into the new PID namespace: %s", strerror(errno));
	if (pid > 0) {
		/* Only the jailed child may tell a --daemonize parent it is ready. */
		if (r->ready_fd >= 0)
			close(r->ready_fd);
		if (r->null_fd >= 0)
			close(r->null_fd);
		jail_reap(pid, &relay);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

static int jail_unshare(struct jail_run *r, struct errbuf *e)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		    (r->jc->new_pid_ns ? CLONE_NEWPID : 0);
	if (unshare(flags) < 0)
		return errf(e, "unshare(mount, IPC, UTS%s): %s", r->jc->new_pid_ns ? ", PID" : "",
			    strerror(errno));
	return r->jc->new_pid_ns ? jail_fork_pid_ns(r, e) : 0;
}

/* ---- 8. the configuration's files, cloned while the host's paths still resolve ---- */

static int jail_clone_files(struct jail_run *r, struct errbuf *e)
{
	return jail_files_clone(r->vm, &r->files, e);
}

/* ---- 9. the jail's root becomes "/", the host's is detached ---- */

static int jail_pivot_root(struct jail_run *r, struct errbuf *e)
{
	/* Nothing mounted from here on propagates back to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errf(e, "making / private: %s", strerror(errno));
	/* pivot_root needs a mount point; non-recursive: nothing under it comes along. */
	if (mount(r->root, r->root, NULL, MS_BIND, NULL) < 0)
		return errf(e, "bind %s onto itself: %s", r->root, strerror(errno));
	if (mount(NULL, r->root, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return errf(e, "%s: remount nosuid,nodev,noexec: %s", r->root, strerror(errno));
	if (chdir(r->root) < 0)
		return errf(e, "%s: %s", r->root, strerror(errno));
	/* The old root lands on top of the new one, then goes: no directory for it needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return errf(e, "pivot_root(%s): %s%s", r->root, strerror(errno),
			    errno == EINVAL ? " (is / the initramfs? pivot_root cannot leave it: "
					      "run ember after switch_root)" : "");
	if (umount2(".", MNT_DETACH) < 0)
		return errf(e, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		return errf(e, "chdir /: %s", strerror(errno));
	return 0;
}

/* ---- 10. /dev: a fresh tmpfs with only what ember opens ---- */

static int jail_mknod(const char *path, unsigned major, unsigned minor, uid_t uid, gid_t gid,
		      struct errbuf *e)
{
	if (mknod(path, S_IFCHR | 0600, makedev(major, minor)) < 0)
		return errf(e, "mknod %s: %s", path, strerror(errno));
	if (chown(path, uid, gid) < 0)
		return errf(e, "chown %s: %s", path, strerror(errno));
	return 0;
}

static int jail_make_devices(struct jail_run *r, struct errbuf *e)
{
	uid_t uid = r->jc->uid;
	gid_t gid = r->jc->gid;
	struct stat st;
	bool tun = r->vm->tun;
	if (mkdir("/dev", 0755) < 0 && errno != EEXIST)
		return errf(e, "mkdir /dev: %s", strerror(errno));
	if (lstat("/dev", &st) < 0 || !S_ISDIR(st.st_mode))
		return errf(e, "/dev in the jail is not a directory");
	/* tmpfs: the jail's root is nodev, and leftovers of an earlier run do not count. */
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return errf(e, "mount tmpfs on /dev: %s", strerror(errno));
	if (jail_mknod("/dev/kvm", 10, 232, uid, gid, e) < 0 ||
	    jail_mknod("/dev/urandom", 1, 9, uid, gid, e) < 0)
		return -1;
	if (!tun)
		return 0;
	if (mkdir("/dev/net", 0755) < 0)
		return errf(e, "mkdir /dev/net: %s", strerror(errno));
	return jail_mknod("/dev/net/tun", 10, 200, uid, gid, e);
}

/* ---- 11. the files of step 8 at their paths ---- */

static int jail_attach_files(struct jail_run *r, struct errbuf *e)
{
	return jail_files_attach(&r->files, e);
}

/* ---- 12. resource limits, while raising a hard limit is still allowed ---- */

static int jail_set_rlimits(struct jail_run *r, struct errbuf *e)
{
	return jail_rlimits_apply(r->jc->rlimits, r->jc->nrlimits, e);
}

/* ---- 13. the bounding set: needs CAP_SETPCAP, so before the ids change ---- */

static int jail_drop_bounding_set(struct jail_run *r, struct errbuf *e)
{
	(void)r;
	capng_get_caps_process();
	capng_clear(CAPNG_SELECT_BOUNDS);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return errf(e, "capng_apply(bounding set) failed");
	/* capng_apply does not report a failed drop: ask the kernel. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return errf(e, "capability %d is still in the bounding set", cap);
	return 0;
}

/* ---- 14. uid and gid, no supplementary groups ---- */

static int jail_set_ids(struct jail_run *r, struct errbuf *e)
{
	uid_t uid = r->jc->uid;
	gid_t gid = r->jc->gid;
	if (setgroups(0, NULL) < 0)
		return errf(e, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return errf(e, "setresgid %u: %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return errf(e, "setresuid %u: %s", (unsigned)uid, strerror(errno));
	return 0;
}

/* ---- 15. every capability (a non-zero uid lost them already; uid 0 would not) ---- */

static int jail_drop_capabilities(struct jail_run *r, struct errbuf *e)
{
	(void)r;
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT) < 0)
		return errf(e, "capng_apply(capabilities) failed: %s", strerror(errno));
	if (capng_get_caps_process() < 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return errf(e, "capabilities remain after dropping them all");
	return 0;
}

/* ---- 16. no_new_privs: nothing ember could exec gains privileges ---- */

static int jail_set_no_new_privs(struct jail_run *r, struct errbuf *e)
{
	(void)r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return errf(e, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	return 0;
}

/* ---- 17. --daemonize: stdio to /dev/null, the first parent told it may exit 0 ---- */

static int jail_detach_stdio(struct jail_run *r, struct errbuf *e)
{
	if (r->ready_fd < 0)
		return 0;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(r->null_fd, fd) < 0)
			return errf(e, "dup2 /dev/null: %s", strerror(errno));
	close(r->null_fd);
	if (write(r->ready_fd, "R", 1) != 1)
		return errf(e, "telling the parent: %s", strerror(errno));
	close(r->ready_fd);
	return 0;
}

static const struct jail_step {
	const char *name;
	int (*run)(struct jail_run *r, struct errbuf *e);
} jail_ladder[] = {
	{ "close-fds", jail_close_fds },
	{ "clear-env", jail_clear_env },
	{ "daemonize", jail_daemonize },
	{ "root", jail_make_root },
	{ "netns", jail_join_netns },
	{ "cgroup", jail_enter_cgroup },
	{ "unshare", jail_unshare },
	{ "files", jail_clone_files },
	{ "pivot_root", jail_pivot_root },
	{ "devices", jail_make_devices },
	{ "files", jail_attach_files },
	{ "rlimits", jail_set_rlimits },
	{ "bounding-set", jail_drop_bounding_set },
	{ "ids", jail_set_ids },
	{ "capabilities", jail_drop_capabilities },
	{ "no_new_privs", jail_set_no_new_privs },
	{ "stdio", jail_detach_stdio },
};

int jail_enter(const struct jail_config *jc, const struct jail_vm *vm, struct errbuf *e)
{
	static struct jail_run run; /* the files table is large */
	run = (struct jail_run){ .jc = jc, .vm = vm, .ready_fd = -1, .null_fd = -1 };
	for (size_t i = 0; i < ARRAY_SIZE(jail_ladder); i++) {
		uint64_t t0 = monotonic_ns();
		if (jail_ladder[i].run(&run, e) < 0) {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			return errf(e, "jail: %s: %s", jail_ladder[i].name, why);
		}
		log_debug("jail: %s: %llu us", jail_ladder[i].name,
			  (unsigned long long)(monotonic_ns() - t0) / 1000);
	}
	log_info("jailed in %s as %u:%u", run.root, (unsigned)jc->uid, (unsigned)jc->gid);
	return 0;
}
