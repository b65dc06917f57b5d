/* The jail's resource limits (see rlimit.h). */
#include "rlimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"

static const struct {
	const char *key;
	int resource;
} jail_rlimit_names[] = {
	{ "no-file", RLIMIT_NOFILE }, { "fsize", RLIMIT_FSIZE }, { "core", RLIMIT_CORE },
	{ "nproc", RLIMIT_NPROC },    { "memlock", RLIMIT_MEMLOCK },
};

int jail_rlimit_parse(const char *key, const char *value, int *resource, rlim_t *limit,
		      struct errbuf *e)
{
	size_t i = 0;
	while (i < ARRAY_SIZE(jail_rlimit_names) && strcmp(jail_rlimit_names[i].key, key) != 0)
		i++;
	if (i == ARRAY_SIZE(jail_rlimit_names))
		return errf(e, "unknown resource limit '%s' (no-file, fsize, core, nproc, memlock)",
			    key);
	*resource = jail_rlimit_names[i].resource;
	if (strcmp(value, "unlimited") == 0) {
		*limit = RLIM_INFINITY;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || v >= (unsigned long long)RLIM_INFINITY)
		return errf(e, "resource limit %s: '%s' is not a number or 'unlimited'", key, value);
	*limit = (rlim_t)v;
	return 0;
}

static int jail_rlimit_set(const char *key, int resource, rlim_t limit, struct errbuf *e)
{
	struct rlimit rl = { limit, limit };
	if (setrlimit(resource, &rl) < 0)
		return errf(e, "%s: %s", key, strerror(errno));
	return 0;
}

int jail_rlimits_apply(const struct jail_setting *s, unsigned n, struct errbuf *e)
{
	int resource;
	rlim_t limit;
	if (jail_rlimit_set("no-file", RLIMIT_NOFILE, JAIL_DEFAULT_NOFILE, e) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (jail_rlimit_parse(s[i].key, s[i].value, &resource, &limit, e) < 0 ||
		    jail_rlimit_set(s[i].key, resource, limit, e) < 0)
			return -1;
	return 0;
}
