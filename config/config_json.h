/*
 * JSON in and out of the one configuration model, in Firecracker's field names. The
 * API's request bodies and the config file are read here, strictly (unknown fields,
 * wrong types, missing required fields and out-of-range numbers are refused with a
 * message naming the field), and turned into calls of config.h's setters; GET
 * /vm/config is written here from the same struct, in the config file's layout, so
 * that its output boots the same VM.
 */
#ifndef EMBER_CONFIG_JSON_H
#define EMBER_CONFIG_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"

/* Parses text as one JSON object (duplicate keys refused); NULL with e set otherwise. */
json_t *config_json_parse(const char *text, size_t len, struct errbuf *e);

/* Request bodies that change the configuration: applied whole or not at all. */
int config_json_boot_source(struct vm_config *cfg, const json_t *body, struct errbuf *e);
/* PUT (patch false: vcpu_count and mem_size_mib required) or PATCH /machine-config. */
int config_json_machine(struct vm_config *cfg, const json_t *body, bool patch,
			struct errbuf *e);
/* PUT /drives/{id}; id is the path's, which the body's drive_id must equal. */
int config_json_drive(struct vm_config *cfg, const json_t *body, const char *id,
		      struct errbuf *e);
int config_json_net(struct vm_config *cfg, const json_t *body, const char *id,
		    struct errbuf *e);

/*
 * PATCH bodies: what changes after boot. NULL members mean "keep", and so does a bucket
 * a rate limiter leaves out (Firecracker's BucketUpdate::None): its *_change points at
 * the buckets given.
 */
struct drive_update {
	const char *path; /* points into the body */
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
	struct rate_limiter_change rate_limiter_change;
};
struct net_update {
	bool has_rx, has_tx;
	struct rate_limiter_config rx, tx;
	struct rate_limiter_change rx_change, tx_change;
};
int config_json_drive_update(const json_t *body, const char *id, struct drive_update *u,
			     struct errbuf *e);
int config_json_net_update(const json_t *body, const char *id, struct net_update *u,
			   struct errbuf *e);

/* PUT /logger and PUT /metrics: parsed into out (strings point into the body). */
struct logger_update {
	const char *path;
	const char *module; /* NULL: unchanged */
	bool has_level, has_show_level, has_show_origin;
	enum log_level level;
	bool show_level, show_origin;
};
int config_json_logger(const json_t *body, struct logger_update *u, struct errbuf *e);
/* What u changes, applied to l (l->path may then point into the body). */
void config_json_logger_apply(struct logger_config *l, const struct logger_update *u);
struct metrics_update {
	const char *path;
	bool emit_id;
	char *properties; /* malloc'd compact JSON, keys sorted, or NULL: free it */
};
int config_json_metrics(const json_t *body, struct metrics_update *u, struct errbuf *e);

/* One string field, the only one in body: PUT /actions' action_type, PATCH /vm's state. */
int config_json_enum(const json_t *body, const char *where, const char *field,
		     const char *const *allowed, int *out, struct errbuf *e);

/*
 * PUT /cpu-config (and the config file's "cpu-config"), Firecracker's custom template for
 * x86: kvm_capabilities ["N" | "!N"], cpuid_modifiers [{leaf, subleaf, flags,
 * modifiers: [{register, bitmap}]}], msr_modifiers [{addr, bitmap}]. Numbers are JSON
 * integers or strings in hex (0x), binary (0b) or decimal; a bitmap is "0b" and 32
 * (CPUID) or 64 (MSR) of 0, 1 and x (leave), most significant first, '_' ignored.
 */
int config_json_cpu_config(struct vm_config *cfg, const json_t *body, struct errbuf *e);

/* A snapshot-load body (--snapshot-load, the config file's key), checked, kept as text. */
int config_json_restore(struct vm_config *cfg, const json_t *body, struct errbuf *e);

/* The config file: every section applied through the same setters, in order; or, with
   "snapshot-load", a restore (with at most logger and metrics beside it). */
int config_json_load(struct vm_config *cfg, const json_t *root, struct errbuf *e);
int config_json_load_file(struct vm_config *cfg, const char *path, struct errbuf *e);

/* GET /machine-config and GET /vm/config: new references, never NULL but on OOM. */
json_t *config_json_dump_machine(const struct vm_config *cfg);
json_t *config_json_dump(const struct vm_config *cfg);

/* ---- snapshots: the requests, and the configuration a snapshot carries ---- */

struct snapshot_create_request {
	const char *snapshot_path, *mem_path; /* point into the body */
	bool diff;                            /* snapshot_type Diff */
};
int config_json_snapshot_create(const json_t *body, struct snapshot_create_request *r,
				struct errbuf *e);

/*
 * A restored copy's own devices: network_overrides' {iface_id, host_dev_name} (a TAP),
 * and, beyond Firecracker, drive_overrides' {drive_id, path_on_host} (a copy of the
 * drive: two VMs never write one image).
 */
struct device_override {
	const char *id, *host; /* the device's id; its TAP name or file path */
};
struct snapshot_load_request {
	const char *snapshot_path, *mem_path; /* mem_backend.backend_path or mem_file_path */
	bool track_dirty_pages, resume_vm, clock_realtime;
	unsigned nnet_overrides, ndrive_overrides;
	struct device_override net_overrides[CONFIG_MAX_DEVICES];
	struct device_override drive_overrides[CONFIG_MAX_DEVICES];
};
int config_json_snapshot_load(const json_t *body, struct snapshot_load_request *r,
			      struct errbuf *e);

/*
 * What a snapshot keeps of the configuration: boot source, machine, drives and network
 * interfaces, as GET /vm/config shows them (logger, metrics and the id belong to the
 * process that restores). Returns malloc'd compact JSON, or NULL when out of memory.
 */
char *config_json_snapshot_text(const struct vm_config *cfg);
/*
 * The other way, onto a configuration nothing was set in yet, with r's overrides;
 * files are not opened here (the kernel need not exist where a snapshot is restored).
 * One line in e when the text or an override is bad; cfg changes only on success.
 */
int config_json_snapshot_apply(struct vm_config *cfg, const char *text, size_t len,
			       const struct snapshot_load_request *r, struct errbuf *e);

#endif
