/*
 * The jail's resource limits (--resource-limit KEY=VALUE), with Firecracker's jailer
 * names: no-file (RLIMIT_NOFILE, default 2048), fsize (RLIMIT_FSIZE), and core, nproc,
 * memlock. VALUE is a number or "unlimited"; soft and hard limits are both set.
 */
#ifndef EMBER_JAIL_RLIMIT_H
#define EMBER_JAIL_RLIMIT_H

#include <sys/resource.h>

#include "../lib/error.h"
#include "jail.h"

/* The limit's value, or -1 naming the key or value that is wrong. */
int jail_rlimit_parse(const char *key, const char *value, int *resource, rlim_t *limit,
		      struct errbuf *e);

/* The defaults, then s[0..n) in order (a later key wins). */
int jail_rlimits_apply(const struct jail_setting *s, unsigned n, struct errbuf *e);

#endif
