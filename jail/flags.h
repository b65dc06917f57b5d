/*
 * The jail's command-line flags, as a table: the flag parser (config/flags.c) looks names
 * up here and hands each value to its setter, so it needs nothing of the jail but this
 * header. Every flag but --jail itself needs --jail.
 */
#ifndef EMBER_JAIL_FLAGS_H
#define EMBER_JAIL_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/error.h"
#include "jail.h"

struct jail_flag {
	const char *name;
	const char *arg; /* NULL: takes no value (value is then NULL) */
	const char *help;
	int (*set)(struct jail_config *j, const char *value, struct errbuf *e);
};

extern const struct jail_flag jail_flags[];
extern const size_t jail_nflags;

/* The defaults before any flag: chroot base. */
void jail_config_init(struct jail_config *j);

/*
 * After the last flag: --jail needs --id, --uid and --gid, and first_flag (the first
 * jail flag given, NULL if none) needs --jail. id is the instance id (id_given: by --id).
 */
int jail_flags_check(const struct jail_config *j, const char *first_flag, const char *id,
		     bool id_given, struct errbuf *e);

#endif
