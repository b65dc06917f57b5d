/*
 * The jail's cgroup: <hierarchy>/ember/<id>, limits written, ember moved in. cgroup v2
 * when its hierarchy has controllers to give, v1 otherwise (hybrid hosts mount an empty
 * v2 next to the v1 controllers). Keys are the cgroup files' own names
 * (memory.max, memory.limit_in_bytes, cpu.max, cpu.cfs_quota_us, pids.max, ...): the
 * controller is the key's prefix.
 */
#ifndef EMBER_JAIL_CGROUP_H
#define EMBER_JAIL_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../lib/error.h"
#include "jail.h"

#define CGROUP_MAX_HIERARCHIES 32
#define CGROUP_PARENT "ember" /* <hierarchy>/ember/<id> */

struct cgroup_hierarchy {
	char path[PATH_MAX];   /* where it is mounted */
	char controllers[256]; /* v1: the super options ("rw,cpu,cpuacct"); v2: "" */
	int version;           /* 1 or 2 */
};

struct cgroup_layout {
	struct cgroup_hierarchy h[CGROUP_MAX_HIERARCHIES];
	unsigned n;
};

/* A key is "<controller>.<file>" of [a-z0-9_.], not a cgroup core file (cgroup.*). */
int cgroup_check_key(const char *key, struct errbuf *e);

/* "cpu.cfs_quota_us" -> "cpu"; -1 when the key has no controller prefix. */
int cgroup_controller_of(const char *key, char *out, size_t cap);

/* The cgroup and cgroup2 mounts listed in a /proc/self/mountinfo. */
int cgroup_parse_mountinfo(FILE *mountinfo, struct cgroup_layout *l, struct errbuf *e);

/* The v1 hierarchy that carries controller, or NULL. */
const struct cgroup_hierarchy *cgroup_v1_find(const struct cgroup_layout *l,
					      const char *controller);

/* The v2 hierarchy, or NULL. */
const struct cgroup_hierarchy *cgroup_v2_find(const struct cgroup_layout *l);

/*
 * Creates <hierarchy>/ember/<id> (v2) or one per needed v1 controller (cpu, memory,
 * pids and every key's own), writes the settings, moves the calling process in. A
 * leftover cgroup of the same id is removed and made anew when empty, refused when a
 * process is in it (another ember with that id).
 */
int cgroup_enter(const char *id, const struct jail_setting *s, unsigned n, struct errbuf *e);

#endif
