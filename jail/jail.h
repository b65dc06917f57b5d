/*
 * The jail: what ember does to itself, between reading its configuration and opening
 * anything the guest can reach, so that a guest that takes over the process finds
 * itself in an empty root, without privileges, in its own namespaces and cgroup.
 * Seccomp (jail/seccomp.h) comes later, per thread, just before the guest runs.
 * jail/README.md gives the order of the steps and why.
 */
#ifndef EMBER_JAIL_H
#define EMBER_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/error.h"

#define JAIL_MAX_CGROUPS 16
#define JAIL_MAX_RLIMITS 16
#define JAIL_DEFAULT_CHROOT_BASE "/srv/ember"
#define JAIL_KEY_MAX 64
#define JAIL_VALUE_MAX 128
#define JAIL_DEFAULT_NOFILE 2048 /* Firecracker's jailer default for no-file */
#define JAIL_MAX_ID 64
#define JAIL_MAX_FILES 32

/*
 * What the jail must know of the VM it confines, filled by the VMM from its
 * configuration (jail/ knows no config model): the id that names the jail's directory
 * and cgroup, the host files to make reachable inside (kernel, initrd, drives), and
 * whether the VM may open a TAP.
 */
struct jail_vm {
	const char *id;
	struct jail_host_file {
		const char *path;
		bool read_only;
	} files[JAIL_MAX_FILES];
	unsigned nfiles;
	bool tun;
};

struct jail_setting { /* --cgroup / --resource-limit KEY=VALUE */
	char key[JAIL_KEY_MAX];
	char value[JAIL_VALUE_MAX];
};

struct jail_config {
	bool enabled;            /* --jail */
	uid_t uid;               /* --uid */
	gid_t gid;               /* --gid */
	bool has_uid, has_gid;
	const char *chroot_base; /* --chroot-base, default JAIL_DEFAULT_CHROOT_BASE */
	const char *netns;       /* --netns PATH, NULL: stay in the current one */
	unsigned ncgroups, nrlimits;
	struct jail_setting cgroups[JAIL_MAX_CGROUPS];
	struct jail_setting rlimits[JAIL_MAX_RLIMITS];
	bool daemonize;          /* --daemonize */
	bool new_pid_ns;         /* --new-pid-ns */
};

/*
 * Splits "KEY=VALUE" into s, checking only the shape (both non-empty, within the sizes,
 * no newline). What keys mean is for cgroup_check_key and jail_rlimit_check.
 */
int jail_setting_parse(const char *kv, struct jail_setting *s, struct errbuf *e);

/* The instance id under --jail: 1-JAIL_MAX_ID of [A-Za-z0-9-] (a directory and a cgroup). */
int jail_check_id(const char *id, struct errbuf *e);

/*
 * Where a host path given on the command line or in the config file is bound inside
 * the jail: the same path, made absolute against the jail's "/" (ember's working
 * directory there) and normalised ("." and ".." and repeated slashes resolved), so the
 * path in the configuration stays valid. -1 for an empty path or "/".
 */
int jail_inside_path(const char *path, char *out, size_t cap, struct errbuf *e);

/*
 * Runs the whole ladder (jail/README.md) on the calling process, which must still be
 * single-threaded. Returns 0 in the process that goes on to run the VM, jailed; -1 with
 * "jail: <step>: <why>" in e. With --daemonize or --new-pid-ns the processes that stay
 * outside never return: they wait and _exit (see jail.c).
 */
int jail_enter(const struct jail_config *jc, const struct jail_vm *vm, struct errbuf *e);

#endif
