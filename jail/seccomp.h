/*
 * Per-thread seccomp filters. Each kind of thread (the event/VMM thread, the API
 * thread, the vCPU threads) gets its own allow-list, in jail/seccomp_rules.c, compiled
 * into BPF at build time (seccomp_gen.c) and installed by each thread on itself with
 * seccomp_lock_thread(): after that thread's setup and before it reads its first
 * request or runs the first guest instruction.
 *
 * The VMM thread parses API requests before the VM exists, so it cannot wait for its
 * own list: it installs the build filter (every row of the table, plus what creating
 * a VM needs) before its loop serves the first request, and stacks the VMM filter on
 * it once the VM is built. Filters stack and the kernel obeys the strictest, so the
 * second one narrows; the vCPU threads, created in between, inherit the build filter
 * and stack theirs. Because the build filter holds every row, each later filter is a
 * subset of it and means what it says.
 *
 * A forbidden syscall raises SIGSYS; the handler logs the syscall, counts it in the
 * `seccomp` metric, writes a last metrics line and ends the process with status 148.
 */
#ifndef EMBER_JAIL_SECCOMP_H
#define EMBER_JAIL_SECCOMP_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include "../lib/error.h"

#define SECCOMP_EXIT_STATUS 148 /* Firecracker's */

enum seccomp_thread {
	SECCOMP_VMM,
	SECCOMP_API,
	SECCOMP_VCPU,
	SECCOMP_BUILD, /* the VMM thread until the VM is built: every row, and its rows */
	SECCOMP_THREAD_KINDS
};

/* Thread kinds as bits, for the `threads` column of the rules. */
#define SECCOMP_T_VMM  (1u << SECCOMP_VMM)
#define SECCOMP_T_API  (1u << SECCOMP_API)
#define SECCOMP_T_VCPU (1u << SECCOMP_VCPU)
#define SECCOMP_T_BUILD (1u << SECCOMP_BUILD)
/* The threads that run the VM; the build filter takes every row whatever its column. */
#define SECCOMP_T_ALL  (SECCOMP_T_VMM | SECCOMP_T_API | SECCOMP_T_VCPU)

#define SECCOMP_MAX_ARGS 2

/* One allowed (syscall, argument condition) pair; rows of one syscall are ORed. */
struct seccomp_rule {
	unsigned threads; /* SECCOMP_T_* */
	int nr;           /* SCMP_SYS(name) */
	const char *name;
	unsigned nargs;   /* conditions that must all hold */
	struct scmp_arg_cmp args[SECCOMP_MAX_ARGS];
	const char *why;
};

extern const struct seccomp_rule seccomp_rules[];
extern const size_t seccomp_nrules;

/* The rows compiled to BPF at build time (seccomp_gen.c), one program per kind. */
extern const struct sock_fprog seccomp_programs[SECCOMP_THREAD_KINDS];

const char *seccomp_thread_name(enum seccomp_thread kind);

/* Whether a row is part of a kind's filter (every row is part of the build filter). */
bool seccomp_rule_applies(const struct seccomp_rule *r, enum seccomp_thread kind);

/*
 * Installs the SIGSYS handler and arms seccomp_lock_thread; with enabled false, it only
 * says on stderr that filters are off. Once, before any filtered thread starts.
 */
int seccomp_prepare(bool enabled, struct errbuf *e);

/* Installs the calling thread's filter (no-op when not prepared or disabled). */
int seccomp_lock_thread(enum seccomp_thread kind, struct errbuf *e);

/* How many rows of the table apply to a kind, and how many distinct syscalls. */
size_t seccomp_count_syscalls(enum seccomp_thread kind);

#endif
