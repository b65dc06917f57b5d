#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "version.h"

struct flag {
	const char *name;
	const char *arg; /* NULL: takes no value */
	const char *help;
	int (*set)(struct vm_config *cfg, const char *value, struct errbuf *e);
};

static int parse_number(const char *flag, const char *s, long long *out, struct errbuf *e)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return errf(e, "--%s: '%s' is not a number", flag, s);
	*out = v;
	return 0;
}

static int set_vcpus(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	long long n;
	return parse_number("vcpus", v, &n, e) < 0 ? -1 : config_set_vcpus(cfg, n, e);
}

static int set_mem(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	long long n;
	return parse_number("mem", v, &n, e) < 0 ? -1 : config_set_mem_mib(cfg, n, e);
}

static const struct flag flags[] = {
	{ "kernel", "PATH", "guest kernel: ELF (vmlinux, guest-min, PVH) or bzImage",
	  config_set_kernel },
	{ "initrd", "PATH", "initial ramdisk, placed at the top of low guest RAM",
	  config_set_initrd },
	{ "cmdline", "STR", "kernel command line, appended to ember's defaults",
	  config_set_cmdline },
	{ "vcpus", "N", "number of vCPUs, 1-32 (default 1)", set_vcpus },
	{ "mem", "MIB", "guest RAM in MiB, 16-1048576 (default 128)", set_mem },
	{ "id", "ID", "instance id used in log lines (default anonymous-instance)",
	  config_set_id },
	{ "level", "LEVEL", "log level: Error, Warning, Info, Debug or Off (default Warning)",
	  config_set_log_level },
	{ "help", NULL, "print this help and exit", NULL },
	{ "version", NULL, "print the version and exit", NULL },
};

static void flags_usage(FILE *out)
{
	fprintf(out, "usage: ember --kernel PATH [--initrd PATH] [--cmdline STR] [--vcpus N] "
		     "[--mem MIB]\n\nflags:\n");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		char left[32];
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		fprintf(out, "  %-18s %s\n", left, flags[i].help);
	}
	fprintf(out, "\nexit status: the guest's own (guest-min), 0 on reset or a clean stop, "
		     "1 on failure, 153 on bad arguments\n");
}

static const struct flag *flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

enum flags_result flags_parse(int argc, char **argv, struct vm_config *cfg, FILE *out,
			      struct errbuf *e)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2])
			return errf(e, "unexpected argument '%s' (flags start with --; see --help)",
				    a);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct flag *f = flag_find(name, len);
		if (!f)
			return errf(e, "unknown flag '--%.*s' (see --help)", (int)len, name);

		if (!f->arg) {
			if (eq)
				return errf(e, "--%s takes no value", f->name);
			if (strcmp(f->name, "help") == 0)
				flags_usage(out);
			else
				fprintf(out, "ember %s\n", EMBER_VERSION);
			return FLAGS_DONE;
		}
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!value)
			return errf(e, "--%s needs a value (%s)", f->name, f->arg);
		if (f->set(cfg, value, e) < 0)
			return FLAGS_ERROR;
	}
	return config_check_bootable(cfg, e) < 0 ? FLAGS_ERROR : FLAGS_RUN;
}
