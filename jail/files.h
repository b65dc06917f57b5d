/*
 * The host files the configuration names (kernel, initrd, drives), made reachable
 * inside the jail at the same path: cloned as bind mounts (open_tree) while the host's
 * root is still there, attached (move_mount) once the jail's root is "/", so that
 * nothing a previous jailed run left in the jail's root can redirect where they land
 * outside it.
 */
#ifndef EMBER_JAIL_FILES_H
#define EMBER_JAIL_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../lib/error.h"
#include "jail.h"

struct jail_file {
	char inside[PATH_MAX]; /* jail_inside_path of the configured path */
	const char *host;      /* the configured path */
	int tree_fd;           /* the detached bind mount, -1 before jail_files_clone */
	bool read_only;        /* kernel, initrd, ro drives */
	bool is_device;        /* a block device drive: its bind must allow device nodes */
};

struct jail_files {
	struct jail_file f[JAIL_MAX_FILES];
	unsigned n;
};

/* Before the pivot: one detached bind mount per file of vm. */
int jail_files_clone(const struct jail_vm *vm, struct jail_files *fs, struct errbuf *e);

/* After the pivot: each mounted at its inside path (parents and an empty file made). */
int jail_files_attach(struct jail_files *fs, struct errbuf *e);

#endif
