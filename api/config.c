#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../boot/layout.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->log_level = LOG_WARN;
	strcpy(cfg->id, "anonymous-instance");
}

void config_free(struct vm_config *cfg)
{
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	config_init(cfg);
}

static int set_string(char **field, const char *value, const char *what, struct errbuf *e)
{
	char *copy = strdup(value);
	if (!copy)
		return errf(e, "%s: out of memory", what);
	free(*field);
	*field = copy;
	return 0;
}

int config_set_kernel(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	if (!*path)
		return errf(e, "kernel path is empty");
	return set_string(&cfg->kernel_path, path, "kernel", e);
}

int config_set_initrd(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	if (!*path)
		return errf(e, "initrd path is empty");
	return set_string(&cfg->initrd_path, path, "initrd", e);
}

int config_set_cmdline(struct vm_config *cfg, const char *cmdline, struct errbuf *e)
{
	/* The final line adds ember's defaults; this bound keeps the user's part sane. */
	if (strlen(cmdline) >= LAYOUT_CMDLINE_MAX)
		return errf(e, "kernel command line is longer than %llu bytes",
			    LAYOUT_CMDLINE_MAX - 1);
	return set_string(&cfg->cmdline, cmdline, "cmdline", e);
}

int config_set_vcpus(struct vm_config *cfg, long long n, struct errbuf *e)
{
	if (n < 1 || n > CONFIG_MAX_VCPUS)
		return errf(e, "vcpu count %lld is out of range 1-%d", n, CONFIG_MAX_VCPUS);
	cfg->vcpus = (unsigned)n;
	return 0;
}

int config_set_mem_mib(struct vm_config *cfg, long long mib, struct errbuf *e)
{
	if (mib < CONFIG_MIN_MEM_MIB || mib > CONFIG_MAX_MEM_MIB)
		return errf(e, "memory size %lld MiB is out of range %d-%d", mib,
			    CONFIG_MIN_MEM_MIB, CONFIG_MAX_MEM_MIB);
	cfg->mem_mib = (uint64_t)mib;
	return 0;
}

int config_set_log_level(struct vm_config *cfg, const char *level, struct errbuf *e)
{
	enum log_level l;
	if (log_level_parse(level, &l) < 0)
		return errf(e, "log level '%s' is not one of Error, Warning, Info, Debug, Off",
			    level);
	cfg->log_level = l;
	return 0;
}

int config_set_id(struct vm_config *cfg, const char *id, struct errbuf *e)
{
	size_t n = strlen(id);
	if (n == 0 || n > CONFIG_MAX_ID)
		return errf(e, "id must be 1-%d characters", CONFIG_MAX_ID);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return errf(e, "id '%s' may hold only letters, digits, '-' and '_'", id);
	}
	memcpy(cfg->id, id, n + 1);
	return 0;
}

int config_check_bootable(const struct vm_config *cfg, struct errbuf *e)
{
	if (!cfg->kernel_path)
		return errf(e, "no kernel: --kernel PATH is required");
	return 0;
}
