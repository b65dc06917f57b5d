/*
 * The one configuration model. Command-line flags (and, later, the JSON config file and
 * the API) all go through these setters, which validate; a failed setter leaves the
 * configuration as it was.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdint.h>

#include "../lib/error.h"
#include "../lib/log.h"

#define CONFIG_MAX_VCPUS 32
#define CONFIG_MIN_MEM_MIB 16
#define CONFIG_MAX_MEM_MIB (1024 * 1024)
#define CONFIG_DEFAULT_VCPUS 1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MAX_ID 64

struct vm_config {
	char *kernel_path;
	char *initrd_path;
	char *cmdline; /* appended to ember's defaults */
	unsigned vcpus;
	uint64_t mem_mib;
	enum log_level log_level;
	char id[CONFIG_MAX_ID + 1];
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

int config_set_kernel(struct vm_config *cfg, const char *path, struct errbuf *e);
int config_set_initrd(struct vm_config *cfg, const char *path, struct errbuf *e);
int config_set_cmdline(struct vm_config *cfg, const char *cmdline, struct errbuf *e);
int config_set_vcpus(struct vm_config *cfg, long long n, struct errbuf *e);
int config_set_mem_mib(struct vm_config *cfg, long long mib, struct errbuf *e);
int config_set_log_level(struct vm_config *cfg, const char *level, struct errbuf *e);
int config_set_id(struct vm_config *cfg, const char *id, struct errbuf *e);
/* Whole-config checks, once everything is set: what a boot needs. */
int config_check_bootable(const struct vm_config *cfg, struct errbuf *e);

#endif
