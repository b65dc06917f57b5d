/* Command-line flags, parsed into the one vm_config through its setters. */
#ifndef EMBER_FLAGS_H
#define EMBER_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "../jail/jail.h" /* struct jail_config */

enum flags_result {
	FLAGS_RUN = 0,   /* configuration complete: boot it */
	FLAGS_DONE = 1,  /* --help or --version printed: exit 0 */
	FLAGS_ERROR = -1 /* e holds one line saying what was wrong */
};

/* How this process runs, as opposed to what VM it runs (which is vm_config). */
struct launch_options {
	const char *api_sock;    /* --api-sock: serve the API there */
	const char *config_file; /* --config-file: boot from this JSON file */
	bool no_api;             /* --no-api: with --config-file, no socket */
	size_t max_payload;      /* --http-api-max-payload-size, bytes (default 51200) */
	struct jail_config jail; /* --jail and the jail's flags (jail/jail.h) */
	bool no_seccomp;         /* --no-seccomp: no syscall filters (debugging) */
	/* Firecracker's jailer passes when its process started (CLOCK_MONOTONIC µs), its CPU
	   time then and its parent's CPU time (µs): the startup metrics count from there.
	   -1: not given (ember counts from its own main()). */
	long long start_time_us, start_time_cpu_us, parent_cpu_time_us;
	/* --snapshot-version: print the snapshot format version; --describe-snapshot PATH:
	   print that snapshot file's. Either ends ember before anything else. */
	bool snapshot_version;
	const char *describe_snapshot;
};

#define FLAGS_DEFAULT_MAX_PAYLOAD 51200

/*
 * Fills cfg (through its setters) and opts from argv. Flags that describe the VM
 * itself (--kernel, --drive, ...) cannot be mixed with --config-file, which holds them.
 * The jail's flags need --jail, and --jail needs --id, --uid and --gid.
 */
enum flags_result flags_parse(int argc, char **argv, struct vm_config *cfg,
			      struct launch_options *opts, FILE *out, struct errbuf *e);

#endif
