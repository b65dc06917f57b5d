#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../jail/flags.h"
#include "config_json.h"
#include "../lib/util.h"
#include "../lib/version.h"

struct flag {
	const char *name;
	const char *arg; /* NULL: takes no value (value is then NULL) */
	const char *help;
	int (*set)(struct vm_config *cfg, const char *value, struct errbuf *e);
	int (*set_opt)(struct launch_options *opts, const char *value, struct errbuf *e);
	bool vm;   /* describes the VM: not with --config-file */
};

static int set_vcpus(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	long long n;
	return parse_flag_number("vcpus", v, &n, e) < 0 ? -1 : config_set_vcpus(cfg, n, e);
}

static int set_mem(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	long long n;
	return parse_flag_number("mem", v, &n, e) < 0 ? -1 : config_set_mem_mib(cfg, n, e);
}

#define OPTIONS_MAX 4096

/*
 * Options of --drive and --net: comma-separated key=value words, or bare keys for
 * booleans. Splits buf (a copy of the value the caller keeps) in place and calls fn for
 * each word; values point into buf.
 */
static int parse_options(const char *flag, char *buf,
			 int (*fn)(void *obj, const char *key, char *val, struct errbuf *e),
			 void *obj, struct errbuf *e)
{
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(w, '=');
		if (eq)
			*eq = '\0';
		if (fn(obj, w, eq ? eq + 1 : NULL, e) < 0) {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			return errf(e, "--%s: %s", flag, why);
		}
	}
	return 0;
}

static int need_value(const char *key, const char *val, struct errbuf *e)
{
	return val && *val ? 0 : errf(e, "'%s' needs a value (%s=...)", key, key);
}

static int no_value(const char *key, const char *val, struct errbuf *e)
{
	return val ? errf(e, "'%s' takes no value", key) : 0;
}

static int copy_id(char *dst, const char *what, const char *val, struct errbuf *e)
{
	if (config_check_id(what, val, e) < 0)
		return -1;
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int drive_option(void *obj, const char *key, char *val, struct errbuf *e)
{
	struct drive_config *d = obj;
	if (strcmp(key, "path") == 0)
		return need_value(key, val, e) < 0 ? -1 : (d->path = val, 0);
	if (strcmp(key, "ro") == 0)
		return no_value(key, val, e) < 0 ? -1 : (d->read_only = true, 0);
	if (strcmp(key, "root") == 0)
		return no_value(key, val, e) < 0 ? -1 : (d->is_root = true, 0);
	if (strcmp(key, "id") == 0)
		return need_value(key, val, e) < 0 ? -1 : copy_id(d->id, "drive id", val, e);
	if (strcmp(key, "engine") == 0) {
		if (val && strcmp(val, "sync") == 0)
			d->engine = DRIVE_ENGINE_SYNC;
		else if (val && strcmp(val, "async") == 0)
			d->engine = DRIVE_ENGINE_ASYNC;
		else
			return errf(e, "engine must be sync or async");
		return 0;
	}
	if (strcmp(key, "bw") == 0)
		return rate_limiter_parse(val ? val : "", &d->rate_limiter.bandwidth, e);
	if (strcmp(key, "iops") == 0)
		return rate_limiter_parse(val ? val : "", &d->rate_limiter.ops, e);
	return errf(e, "unknown option '%s' (path, ro, root, id, engine, bw, iops)", key);
}

static int copy_options(const char *flag, const char *value, char buf[OPTIONS_MAX],
			struct errbuf *e)
{
	if (strlen(value) >= OPTIONS_MAX)
		return errf(e, "--%s: value is longer than %d bytes", flag, OPTIONS_MAX - 1);
	strcpy(buf, value);
	return 0;
}

/* The default id: the lowest PREFIXn no device has, so it never replaces one. */
static void default_id(char *id, size_t cap, const char *prefix, bool (*taken)(const struct vm_config *, const char *),
		       const struct vm_config *cfg)
{
	for (unsigned n = 0;; n++) {
		snprintf(id, cap, "%s%u", prefix, n);
		if (!taken(cfg, id))
			return;
	}
}

static bool drive_id_taken(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (strcmp(cfg->drives[i].id, id) == 0)
			return true;
	return false;
}

static bool net_id_taken(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].id, id) == 0)
			return true;
	return false;
}

static int set_drive(struct vm_config *cfg, const char *value, struct errbuf *e)
{
	char buf[OPTIONS_MAX];
	struct drive_config d = { .engine = DRIVE_ENGINE_SYNC };
	default_id(d.id, sizeof(d.id), "drive", drive_id_taken, cfg);
	if (copy_options("drive", value, buf, e) < 0 ||
	    parse_options("drive", buf, drive_option, &d, e) < 0)
		return -1;
	if (!d.path)
		return errf(e, "--drive: path=FILE is required");
	return config_put_drive(cfg, &d, e);
}

static int net_option(void *obj, const char *key, char *val, struct errbuf *e)
{
	struct net_config *n = obj;
	if (strcmp(key, "tap") == 0) {
		if (need_value(key, val, e) < 0)
			return -1;
		if (strlen(val) >= sizeof(n->tap))
			return errf(e, "TAP name '%s' is longer than %zu characters", val,
				    sizeof(n->tap) - 1);
		strcpy(n->tap, val);
		return 0;
	}
	if (strcmp(key, "mac") == 0)
		return need_value(key, val, e) < 0 || config_parse_mac(val, n->mac, e) < 0 ?
			       -1 :
			       (n->has_mac = true, 0);
	if (strcmp(key, "id") == 0)
		return need_value(key, val, e) < 0 ? -1 :
						    copy_id(n->id, "network interface id", val, e);
	if (strcmp(key, "mtu") == 0) {
		long long v;
		if (need_value(key, val, e) < 0 || parse_flag_number("net mtu", val, &v, e) < 0)
			return -1;
		if (v < CONFIG_MTU_MIN || v > 65535)
			return errf(e, "mtu %lld is out of range %d-65535", v, CONFIG_MTU_MIN);
		n->mtu = (uint16_t)v;
		return 0;
	}
	struct token_bucket_config *b = strcmp(key, "rx_bw") == 0   ? &n->rx.bandwidth :
					strcmp(key, "rx_ops") == 0  ? &n->rx.ops :
					strcmp(key, "tx_bw") == 0   ? &n->tx.bandwidth :
					strcmp(key, "tx_ops") == 0  ? &n->tx.ops :
								      NULL;
	if (b)
		return rate_limiter_parse(val ? val : "", b, e);
	return errf(e, "unknown option '%s' (tap, mac, id, rx_bw, rx_ops, tx_bw, tx_ops)",
		    key);
}

static int set_net(struct vm_config *cfg, const char *value, struct errbuf *e)
{
	char buf[OPTIONS_MAX];
	struct net_config n = { .id = "" };
	default_id(n.id, sizeof(n.id), "net", net_id_taken, cfg);
	if (copy_options("net", value, buf, e) < 0 ||
	    parse_options("net", buf, net_option, &n, e) < 0)
		return -1;
	if (!n.tap[0])
		return errf(e, "--net: tap=NAME is required");
	return config_put_net(cfg, &n, e);
}

static int set_boot_timer(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	cfg->boot_timer = true;
	return 0;
}

static int set_show_level(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	cfg->logger.show_level = true;
	return 0;
}

static int set_show_origin(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	cfg->logger.show_origin = true;
	return 0;
}

static int set_api_sock(struct launch_options *o, const char *v, struct errbuf *e)
{
	if (!*v)
		return errf(e, "--api-sock: the path is empty");
	o->api_sock = v;
	return 0;
}

static int set_config_file(struct launch_options *o, const char *v, struct errbuf *e)
{
	if (!*v)
		return errf(e, "--config-file: the path is empty");
	o->config_file = v;
	return 0;
}

static int set_no_api(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->no_api = true;
	return 0;
}

static int set_no_seccomp(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->no_seccomp = true;
	return 0;
}

static int set_max_payload(struct launch_options *o, const char *v, struct errbuf *e)
{
	long long n;
	if (parse_flag_number("http-api-max-payload-size", v, &n, e) < 0)
		return -1;
	/* Any positive size, as Firecracker takes: clients set small limits on purpose. */
	if (n < 1 || n > 64LL << 20)
		return errf(e, "--http-api-max-payload-size: %lld is out of range 1-%lld", n,
			    64LL << 20);
	o->max_payload = (size_t)n;
	return 0;
}

/* A time in µs, as Firecracker's jailer writes it: a non-negative integer. */
static int set_time_us(const char *flag, long long *to, const char *v, struct errbuf *e)
{
	long long n;
	if (parse_flag_number(flag, v, &n, e) < 0)
		return -1;
	if (n < 0)
		return errf(e, "--%s: %lld is negative", flag, n);
	*to = n;
	return 0;
}

static int set_start_time(struct launch_options *o, const char *v, struct errbuf *e)
{
	return set_time_us("start-time-us", &o->start_time_us, v, e);
}

static int set_start_time_cpu(struct launch_options *o, const char *v, struct errbuf *e)
{
	return set_time_us("start-time-cpu-us", &o->start_time_cpu_us, v, e);
}

static int set_parent_cpu_time(struct launch_options *o, const char *v, struct errbuf *e)
{
	return set_time_us("parent-cpu-time-us", &o->parent_cpu_time_us, v, e);
}

static int set_snapshot_version(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->snapshot_version = true;
	return 0;
}

static int set_describe_snapshot(struct launch_options *o, const char *v, struct errbuf *e)
{
	if (!*v)
		return errf(e, "--describe-snapshot: the path is empty");
	o->describe_snapshot = v;
	return 0;
}

static int set_snapshot_load(struct vm_config *cfg, const char *v, struct errbuf *e)
{
	json_t *body = config_json_parse(v, strlen(v), e);
	int r = body ? config_json_restore(cfg, body, e) : -1;
	json_decref(body);
	if (r < 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--snapshot-load: %s", why);
	}
	return 0;
}

static const struct flag flags[] = {
	{ "kernel", "PATH", "guest kernel: ELF (vmlinux, guest-min, PVH) or bzImage",
	  .set = config_set_kernel, .vm = true },
	{ "initrd", "PATH", "initial ramdisk, placed at the top of low guest RAM",
	  .set = config_set_initrd, .vm = true },
	{ "cmdline", "STR", "kernel command line, appended to ember's defaults",
	  .set = config_set_cmdline, .vm = true },
	{ "vcpus", "N", "number of vCPUs, 1-32 (default 1)", .set = set_vcpus, .vm = true },
	{ "mem", "MIB", "guest RAM in MiB, 16-1048576 (default 128)", .set = set_mem, .vm = true },
	{ "huge-pages", "KIND", "guest RAM backing: None (4 KiB pages, default), 2M (hugetlbfs "
	  "pool) or Transparent (THP); 2M and Transparent need an even --mem",
	  .set = config_set_huge_pages, .vm = true },
	{ "drive", "OPTS",
	  "virtio-blk drive, repeatable: path=FILE[,ro][,root][,id=NAME][,engine=sync|async]"
	  "[,bw=SIZE/MS[+BURST]][,iops=N/MS[+BURST]]",
	  .set = set_drive, .vm = true },
	{ "net", "OPTS",
	  "virtio-net on a TAP, repeatable: tap=NAME[,mac=MAC][,id=NAME][,mtu=N]"
	  "[,rx_bw=..][,rx_ops=..][,tx_bw=..][,tx_ops=..]",
	  .set = set_net, .vm = true },
	{ "snapshot-load", "JSON",
	  "restore at once: PUT /snapshot/load's body (snapshot_path, mem_backend, ...)",
	  .set = set_snapshot_load, .vm = true },
	{ "config-file", "PATH", "boot at once from a JSON file in GET /vm/config's layout",
	  .set_opt = set_config_file },
	{ "api-sock", "PATH", "serve the Firecracker-compatible API on this Unix socket",
	  .set_opt = set_api_sock },
	{ "no-api", NULL, "with --config-file: serve no API", .set_opt = set_no_api },
	{ "http-api-max-payload-size", "BYTES", "largest API request body (default 51200)",
	  .set_opt = set_max_payload },
	{ "id", "ID", "instance id used in log lines (default anonymous-instance)",
	  .set = config_set_id },
	{ "level", "LEVEL", "log level: Error, Warning, Info, Debug, Trace or Off (default Warning)",
	  .set = config_set_log_level },
	{ "log-path", "PATH", "write log lines to this file or FIFO (default: standard error)",
	  .set = config_set_log_path },
	{ "show-level", NULL, "put the level in each log line", .set = set_show_level },
	{ "show-log-origin", NULL, "put the source file and line in each log line",
	  .set = set_show_origin },
	{ "module", "MODULE", "log only lines from source files whose path starts with MODULE "
	  "(e.g. virtio, api/router.c)", .set = config_set_log_module },
	{ "metrics-path", "PATH", "write metrics, one JSON object a line, to this file or FIFO",
	  .set = config_set_metrics_path },
	{ "boot-timer", NULL, "log the guest's boot time when it writes 123 to 0xc0000000",
	  .set = set_boot_timer },
	{ "no-seccomp", NULL, "install no syscall filters (debugging only; says so on stderr)",
	  .set_opt = set_no_seccomp },
	{ "start-time-us", "US", "when the launching process started (CLOCK_MONOTONIC, µs; "
	  "Firecracker's jailer passes it): process_startup_time_us counts from there",
	  .set_opt = set_start_time },
	{ "start-time-cpu-us", "US", "the launching process's CPU time then (µs): "
	  "process_startup_time_cpu_us counts from there", .set_opt = set_start_time_cpu },
	{ "parent-cpu-time-us", "US", "CPU time of the launcher's parent (µs), added to "
	  "process_startup_time_cpu_us", .set_opt = set_parent_cpu_time },
	{ "snapshot-version", NULL, "print the snapshot format version this ember writes and exit",
	  .set_opt = set_snapshot_version },
	{ "describe-snapshot", "PATH", "print the format version of a snapshot file and exit",
	  .set_opt = set_describe_snapshot },
	{ "help", NULL, "print this help and exit", NULL, NULL, false },
	{ "version", NULL, "print the version and exit", NULL, NULL, false },
};

static void flag_usage(FILE *out, const char *name, const char *arg, const char *help)
{
	char left[32];
	snprintf(left, sizeof(left), "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
	fprintf(out, "  %-33s %s\n", left, help);
}

static void flags_usage(FILE *out)
{
	fprintf(out, "usage: ember --kernel PATH [--initrd PATH] [--cmdline STR] [--vcpus N] "
		     "[--mem MIB]\n"
		     "             [--drive OPTS]... [--net OPTS]... [--api-sock PATH]\n"
		     "       ember --config-file PATH [--api-sock PATH | --no-api]\n"
		     "       ember --snapshot-load JSON [--api-sock PATH]   (restore at once)\n"
		     "       ember --api-sock PATH     (configure and start through the API)\n"
		     "       any of these with --jail --id ID --uid UID --gid GID [jail flags]\n"
		     "\nflags:\n");
	/* The VM's and ember's flags, the jail's, then --help and --version. */
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (flags[i].set || flags[i].set_opt)
			flag_usage(out, flags[i].name, flags[i].arg, flags[i].help);
	for (size_t i = 0; i < jail_nflags; i++)
		flag_usage(out, jail_flags[i].name, jail_flags[i].arg, jail_flags[i].help);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!flags[i].set && !flags[i].set_opt)
			flag_usage(out, flags[i].name, flags[i].arg, flags[i].help);
	fprintf(out, "\nexit status: the guest's own (guest-min), 0 on reset or a clean stop, "
		     "1 on failure, 152 on a bad config file, 153 on bad arguments\n");
}

static bool name_is(const char *flag, const char *name, size_t len)
{
	return strlen(flag) == len && strncmp(flag, name, len) == 0;
}

static const struct flag *flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (name_is(flags[i].name, name, len))
			return &flags[i];
	return NULL;
}

static const struct jail_flag *jail_flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < jail_nflags; i++)
		if (name_is(jail_flags[i].name, name, len))
			return &jail_flags[i];
	return NULL;
}

/* What a run needs besides valid flags: something to boot, and no contradictions. */
static int flags_check_launch(const struct vm_config *cfg, const struct launch_options *o,
			      const char *vm_flag, const char *boot_flag, struct errbuf *e)
{
	if (o->snapshot_version || o->describe_snapshot)
		return 0; /* they print and end ember: nothing is launched */
	if (cfg->snapshot_load && boot_flag)
		return errf(e, "--%s cannot be combined with --snapshot-load, which restores the "
			       "VM its snapshot holds", boot_flag);
	if (o->config_file && vm_flag)
		return errf(e, "--%s cannot be combined with --config-file, which holds the VM's "
			       "configuration", vm_flag);
	if (o->no_api && !o->config_file)
		return errf(e, "--no-api needs --config-file (without a socket nothing could start "
			       "the VM)");
	if (o->no_api && o->api_sock)
		return errf(e, "--no-api and --api-sock contradict each other");
	if (!o->config_file && !o->api_sock && !cfg->kernel_path && !cfg->snapshot_load)
		return errf(e, "nothing to boot: give --kernel PATH, --snapshot-load JSON, "
			       "--config-file PATH or --api-sock PATH");
	return 0;
}

static int flags_apply(const struct flag *f, const char *value, struct vm_config *cfg,
		       struct launch_options *opts, struct errbuf *e)
{
	return f->set ? f->set(cfg, value, e) : f->set_opt(opts, value, e);
}

/*
 * The value of flag NAME (taking ARG, or none when arg is NULL): after '=' in the same
 * word (eq), else the next word, which *i then skips.
 */
static int flag_value(int argc, char **argv, int *i, const char *name, const char *arg,
		      const char *eq, const char **value, struct errbuf *e)
{
	*value = NULL;
	if (!arg)
		return eq ? errf(e, "--%s takes no value", name) : 0;
	*value = eq ? eq + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
	return *value ? 0 : errf(e, "--%s needs a value (%s)", name, arg);
}

enum flags_result flags_parse(int argc, char **argv, struct vm_config *cfg,
			      struct launch_options *opts, FILE *out, struct errbuf *e)
{
	const char *vm_flag = NULL, *boot_flag = NULL, *jail_flag = NULL, *value;
	bool id_given = false;
	*opts = (struct launch_options){ .max_payload = FLAGS_DEFAULT_MAX_PAYLOAD,
					  .start_time_us = -1,
					  .start_time_cpu_us = -1,
					  .parent_cpu_time_us = -1 };
	jail_config_init(&opts->jail);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2])
			return errf(e, "unexpected argument '%s' (flags start with --; see --help)",
				    a);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct flag *f = flag_find(name, len);
		const struct jail_flag *jf = f ? NULL : jail_flag_find(name, len);
		if (!f && !jf)
			return errf(e, "unknown flag '--%.*s' (see --help)", (int)len, name);
		if (jf) {
			if (flag_value(argc, argv, &i, jf->name, jf->arg, eq, &value, e) < 0 ||
			    jf->set(&opts->jail, value, e) < 0)
				return FLAGS_ERROR;
			if (!jail_flag && strcmp(jf->name, "jail") != 0)
				jail_flag = jf->name;
			continue;
		}
		if (flag_value(argc, argv, &i, f->name, f->arg, eq, &value, e) < 0)
			return FLAGS_ERROR;
		if (!f->set && !f->set_opt) {
			if (strcmp(f->name, "help") == 0)
				flags_usage(out);
			else
				fprintf(out, "ember %s\n", EMBER_VERSION);
			return FLAGS_DONE;
		}
		if (flags_apply(f, value, cfg, opts, e) < 0)
			return FLAGS_ERROR;
		if (f->vm && !vm_flag)
			vm_flag = f->name;
		if (f->vm && f->set != set_snapshot_load && !boot_flag)
			boot_flag = f->name;
		id_given |= f->set == config_set_id;
	}
	return flags_check_launch(cfg, opts, vm_flag, boot_flag, e) < 0 ||
			       jail_flags_check(&opts->jail, jail_flag, cfg->id, id_given, e) < 0 ?
		       FLAGS_ERROR :
		       FLAGS_RUN;
}
