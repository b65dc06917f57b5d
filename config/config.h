/*
 * The one configuration model. Command-line flags (and, later, the JSON config file and
 * the API) all go through these setters, which validate; a failed setter leaves the
 * configuration as it was.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdint.h>

#include <net/if.h>
#include <stdbool.h>

#include "../arch/cpu_template.h"
#include "../lib/error.h"
#include "../lib/log.h"
#include "../lib/rate_limiter.h"

#define CONFIG_MAX_VCPUS 32
#define CONFIG_MIN_MEM_MIB 16
#define CONFIG_MAX_MEM_MIB (1024 * 1024)
#define CONFIG_DEFAULT_VCPUS 1
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MAX_ID 64
/* Every drive and network interface takes one virtio-mmio slot and IOAPIC pin (5-23). */
#define CONFIG_MAX_DEVICES 19

enum drive_engine { DRIVE_ENGINE_SYNC, DRIVE_ENGINE_ASYNC };
/* Writeback offers VIRTIO_BLK_F_FLUSH and makes FLUSH an fdatasync; Unsafe offers no
 * FLUSH (Firecracker's meaning). ember's default is Writeback (Firecracker's: Unsafe). */
enum drive_cache { DRIVE_CACHE_WRITEBACK, DRIVE_CACHE_UNSAFE };
#define CONFIG_MAX_PARTUUID 36

/* A virtio-blk drive (Firecracker's PUT /drives/{id}). */
struct drive_config {
	char id[CONFIG_MAX_ID + 1];
	char *path; /* host file or block device */
	bool read_only;
	bool is_root; /* ember adds root=/dev/vdX (or PARTUUID=) and ro/rw to the command line */
	char partuuid[CONFIG_MAX_PARTUUID + 1]; /* "" when none */
	enum drive_engine engine;
	enum drive_cache cache;
	struct rate_limiter_config rate_limiter;
};

/* A virtio-net interface on a TAP (Firecracker's PUT /network-interfaces/{id}). */
struct net_config {
	char id[CONFIG_MAX_ID + 1];
	char tap[IFNAMSIZ];
	bool has_mac; /* without one the guest picks its own */
	uint8_t mac[6];
	uint16_t mtu; /* 0: none; else 68-65535, offered as VIRTIO_NET_F_MTU */
	struct rate_limiter_config rx, tx;
};
#define CONFIG_MTU_MIN 68

/* None: 4 KiB pages; 2M: the hugetlbfs pool; Transparent: 4 KiB pages the kernel may
   merge into 2 MiB ones (MADV_HUGEPAGE). */
enum huge_pages { HUGE_PAGES_NONE, HUGE_PAGES_2M, HUGE_PAGES_TRANSPARENT };
/* "None", "2M", "Transparent" (Firecracker's names), by enum huge_pages; NULL-terminated. */
extern const char *const config_huge_pages_names[];

/* Firecracker's machine-config. */
struct machine_config {
	unsigned vcpus;
	uint64_t mem_mib;
	bool smt;               /* always false: ember exposes one thread per core */
	bool track_dirty_pages; /* KVM_MEM_LOG_DIRTY_PAGES on guest RAM */
	enum huge_pages huge_pages;
};

/* Firecracker's logger: where lines go and what each line shows. */
#define CONFIG_MAX_LOG_MODULE 64
struct logger_config {
	char *path; /* NULL: standard error */
	enum log_level level;
	bool show_level;
	bool show_origin;
	/* Firecracker's module filter: only lines from source files whose path (as
	   "virtio/blk.c") starts with it; "" logs every line */
	char module[CONFIG_MAX_LOG_MODULE + 1];
};

struct vm_config {
	/* boot-source */
	char *kernel_path;
	char *initrd_path;
	char *cmdline; /* boot_args: appended to ember's defaults */
	struct machine_config machine;
	unsigned ndrives, nnets;
	struct drive_config drives[CONFIG_MAX_DEVICES];
	struct net_config nets[CONFIG_MAX_DEVICES];
	struct logger_config logger;
	char *metrics_path; /* NULL: no metrics */
	bool metrics_emit_id;     /* each line carries "id" (Firecracker's emit_id) */
	char *metrics_properties; /* NULL, or the JSON text of an object of strings, written
				     as each line's "properties" */
	bool boot_timer;    /* the boot-timer device at LAYOUT_BOOT_TIMER */
	/* PUT /cpu-config or the config file's "cpu-config": applied to every vCPU */
	bool has_cpu_template;
	struct cpu_template cpu_template;
	/* machine-config "cpu_template": the static template cpu_template was filled from;
	   CPU_TEMPLATE_NONE for a custom one (or none) */
	enum cpu_template_static cpu_template_static;
	/* --snapshot-load or the config file's "snapshot-load": the PUT /snapshot/load body
	   (compact JSON) to restore at start instead of a boot; NULL: none */
	char *snapshot_load;
	char id[CONFIG_MAX_ID + 1];
	/* Kernel, initrd and drive paths are opened when set, as Firecracker does, so a bad
	   one is refused then (a 400, a bad flag) rather than at InstanceStart. ember's
	   own configuration sets it; the model's unit tests, on made-up paths, do not. */
	bool check_files;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* Moves src's VM (boot source, machine, drives, interfaces) into dst, replacing dst's;
   src keeps the rest and is left without a VM. */
void config_take_vm(struct vm_config *dst, struct vm_config *src);

int config_set_kernel(struct vm_config *cfg, const char *path, struct errbuf *e);
int config_set_initrd(struct vm_config *cfg, const char *path, struct errbuf *e);
int config_set_cmdline(struct vm_config *cfg, const char *cmdline, struct errbuf *e);
/* PUT /boot-source: all three at once (initrd and cmdline may be NULL: none). */
int config_set_boot_source(struct vm_config *cfg, const char *kernel, const char *initrd,
			   const char *cmdline, struct errbuf *e);
int config_set_vcpus(struct vm_config *cfg, long long n, struct errbuf *e);
/* --huge-pages NAME: one of config_huge_pages_names. */
int config_set_huge_pages(struct vm_config *cfg, const char *name, struct errbuf *e);
int config_set_mem_mib(struct vm_config *cfg, long long mib, struct errbuf *e);
/* The whole machine-config at once: checked first, then applied. */
int config_set_machine(struct vm_config *cfg, const struct machine_config *m, struct errbuf *e);
int config_set_log_level(struct vm_config *cfg, const char *level, struct errbuf *e);
/* --module, logger.module: 1-64 printable characters, no spaces. */
int config_check_log_module(const char *module, struct errbuf *e);
int config_set_log_module(struct vm_config *cfg, const char *module, struct errbuf *e);
int config_set_log_path(struct vm_config *cfg, const char *path, struct errbuf *e);
/* The whole logger section; l->path (may be NULL, or cfg's own) is copied. */
int config_set_logger(struct vm_config *cfg, const struct logger_config *l, struct errbuf *e);
int config_set_metrics_path(struct vm_config *cfg, const char *path, struct errbuf *e);
/* PUT /metrics: the path, emit_id and the properties' JSON text (NULL: none), together. */
int config_set_metrics(struct vm_config *cfg, const char *path, bool emit_id,
		       const char *properties, struct errbuf *e);
int config_set_id(struct vm_config *cfg, const char *id, struct errbuf *e);
/* PUT /cpu-config: replaces the template (Firecracker's: the last PUT wins). */
/* A custom template (PUT /cpu-config): replaces any template, static or custom. */
void config_set_cpu_template(struct vm_config *cfg, const struct cpu_template *t);
/* machine-config "cpu_template": None drops any template (as in Firecracker), another
   name replaces it with that static template; refused on a host of the other vendor. */
int config_set_static_cpu_template(struct vm_config *cfg, enum cpu_template_static which,
				   struct errbuf *e);
/* The snapshot-load body to restore at start (copied; checked by config_json first). */
int config_set_snapshot_load(struct vm_config *cfg, const char *json, struct errbuf *e);
/* Checks an id of a drive, interface or instance: 1-64 of [A-Za-z0-9_-]. */
int config_check_id(const char *what, const char *id, struct errbuf *e);
/*
 * Adds d, or replaces the drive with the same id. d->path is copied. Checks the id, the
 * path, at most one root drive and the device count.
 */
int config_put_drive(struct vm_config *cfg, const struct drive_config *d, struct errbuf *e);
/* Adds n or replaces the interface with the same id; TAP names and MACs are unique. */
int config_put_net(struct vm_config *cfg, const struct net_config *n, struct errbuf *e);
/* "52:54:00:12:34:56" -> mac; -1 with a message naming the string when it is not one. */
int config_parse_mac(const char *s, uint8_t mac[6], struct errbuf *e);

/* Whole-config checks, once everything is set: what a boot needs. */
int config_check_bootable(const struct vm_config *cfg, struct errbuf *e);

#endif
