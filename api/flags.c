#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../jail/cgroup.h"
#include "../jail/rlimit.h"
#include "../lib/util.h"
#include "version.h"

struct flag {
	const char *name;
	const char *arg; /* NULL: takes no value (value is then NULL) */
	const char *help;
	int (*set)(struct vm_config *cfg, const char *value, struct errbuf *e);
	int (*set_opt)(struct launch_options *opts, const char *value, struct errbuf *e);
	bool vm;   /* describes the VM: not with --config-file */
	bool jail; /* one of the jail's: only with --jail */
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
	if (parse_number("http-api-max-payload-size", v, &n, e) < 0)
		return -1;
	if (n < 1024 || n > 64LL << 20)
		return errf(e, "--http-api-max-payload-size: %lld is out of range 1024-%lld", n,
			    64LL << 20);
	o->max_payload = (size_t)n;
	return 0;
}

/* ---- the jail's flags (jail/jail.h) ---- */

static int set_jail(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->jail.enabled = true;
	return 0;
}

/* A uid or gid: 0 to 2^32-2 (-1 means "unchanged" to the kernel). */
static int parse_id_number(const char *flag, const char *v, unsigned *out, struct errbuf *e)
{
	long long n;
	if (parse_number(flag, v, &n, e) < 0)
		return -1;
	if (n < 0 || n >= 0xffffffffLL)
		return errf(e, "--%s: %lld is out of range 0-%lld", flag, n, 0xffffffffLL - 1);
	*out = (unsigned)n;
	return 0;
}

static int set_jail_uid(struct launch_options *o, const char *v, struct errbuf *e)
{
	unsigned n = 0;
	if (parse_id_number("uid", v, &n, e) < 0)
		return -1;
	o->jail.uid = n, o->jail.has_uid = true;
	return 0;
}

static int set_jail_gid(struct launch_options *o, const char *v, struct errbuf *e)
{
	unsigned n = 0;
	if (parse_id_number("gid", v, &n, e) < 0)
		return -1;
	o->jail.gid = n, o->jail.has_gid = true;
	return 0;
}

static int set_jail_chroot_base(struct launch_options *o, const char *v, struct errbuf *e)
{
	if (v[0] != '/' || strcmp(v, "/") == 0)
		return errf(e, "--chroot-base: '%s' is not an absolute directory other than /", v);
	o->jail.chroot_base = v;
	return 0;
}

static int set_jail_netns(struct launch_options *o, const char *v, struct errbuf *e)
{
	if (!*v)
		return errf(e, "--netns: the path is empty");
	o->jail.netns = v;
	return 0;
}

static int set_jail_cgroup(struct launch_options *o, const char *v, struct errbuf *e)
{
	struct jail_config *j = &o->jail;
	char why[sizeof(e->msg)];
	if (j->ncgroups == JAIL_MAX_CGROUPS)
		return errf(e, "--cgroup: at most %d", JAIL_MAX_CGROUPS);
	if (jail_setting_parse(v, &j->cgroups[j->ncgroups], e) < 0 ||
	    cgroup_check_key(j->cgroups[j->ncgroups].key, e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--cgroup: %s", why);
	}
	j->ncgroups++;
	return 0;
}

static int set_jail_rlimit(struct launch_options *o, const char *v, struct errbuf *e)
{
	struct jail_config *j = &o->jail;
	struct jail_setting *s = &j->rlimits[j->nrlimits];
	char why[sizeof(e->msg)];
	int resource;
	rlim_t limit;
	if (j->nrlimits == JAIL_MAX_RLIMITS)
		return errf(e, "--resource-limit: at most %d", JAIL_MAX_RLIMITS);
	if (jail_setting_parse(v, s, e) < 0 ||
	    jail_rlimit_parse(s->key, s->value, &resource, &limit, e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "--resource-limit: %s", why);
	}
	j->nrlimits++;
	return 0;
}

static int set_jail_daemonize(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->jail.daemonize = true;
	return 0;
}

static int set_jail_new_pid_ns(struct launch_options *o, const char *v, struct errbuf *e)
{
	(void)v, (void)e;
	o->jail.new_pid_ns = true;
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
	{ "drive", "OPTS",
	  "virtio-blk drive, repeatable: path=FILE[,ro][,root][,id=NAME][,engine=sync|async]"
	  "[,bw=SIZE/MS[+BURST]][,iops=N/MS[+BURST]]",
	  .set = set_drive, .vm = true },
	{ "net", "OPTS",
	  "virtio-net on a TAP, repeatable: tap=NAME[,mac=MAC][,id=NAME]"
	  "[,rx_bw=..][,rx_ops=..][,tx_bw=..][,tx_ops=..]",
	  .set = set_net, .vm = true },
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
	{ "metrics-path", "PATH", "write metrics, one JSON object a line, to this file or FIFO",
	  .set = config_set_metrics_path },
	{ "boot-timer", NULL, "log the guest's boot time when it writes 123 to 0xc0000000",
	  .set = set_boot_timer },
	{ "no-seccomp", NULL, "install no syscall filters (debugging only; says so on stderr)",
	  .set_opt = set_no_seccomp },
	{ "jail", NULL, "confine ember before it boots (needs --id, --uid, --gid; README: Jail)",
	  .set_opt = set_jail },
	{ "uid", "UID", "--jail: run as this user", .set_opt = set_jail_uid, .jail = true },
	{ "gid", "GID", "--jail: run as this group", .set_opt = set_jail_gid, .jail = true },
	{ "chroot-base", "DIR", "--jail: the jail is DIR/ember/ID/root (default /srv/ember)",
	  .set_opt = set_jail_chroot_base, .jail = true },
	{ "netns", "PATH", "--jail: join this network namespace (e.g. /var/run/netns/NAME)",
	  .set_opt = set_jail_netns, .jail = true },
	{ "cgroup", "KEY=VALUE", "--jail: a cgroup file and its value, repeatable (pids.max=64)",
	  .set_opt = set_jail_cgroup, .jail = true },
	{ "resource-limit", "KEY=VALUE",
	  "--jail: no-file (default 2048), fsize, core, nproc or memlock, repeatable",
	  .set_opt = set_jail_rlimit, .jail = true },
	{ "daemonize", NULL, "--jail: detach (setsid, stdio to /dev/null); exit 0 once jailed",
	  .set_opt = set_jail_daemonize, .jail = true },
	{ "new-pid-ns", NULL, "--jail: run in a new PID namespace (a parent relays signals)",
	  .set_opt = set_jail_new_pid_ns, .jail = true },
	{ "help", NULL, "print this help and exit", NULL, NULL, false, false },
	{ "version", NULL, "print the version and exit", NULL, NULL, false, false },
};

static void flags_usage(FILE *out)
{
	fprintf(out, "usage: ember --kernel PATH [--initrd PATH] [--cmdline STR] [--vcpus N] "
		     "[--mem MIB]\n"
		     "             [--drive OPTS]... [--net OPTS]... [--api-sock PATH]\n"
		     "       ember --config-file PATH [--api-sock PATH | --no-api]\n"
		     "       ember --api-sock PATH     (configure and start through the API)\n"
		     "       any of these with --jail --id ID --uid UID --gid GID [jail flags]\n"
		     "\nflags:\n");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		char left[32];
		snprintf(left, sizeof(left), "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		fprintf(out, "  %-33s %s\n", left, flags[i].help);
	}
	fprintf(out, "\nexit status: the guest's own (guest-min), 0 on reset or a clean stop, "
		     "1 on failure, 152 on a bad config file, 153 on bad arguments\n");
}

static const struct flag *flag_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

/* What a run needs besides valid flags: something to boot, and no contradictions. */
static int flags_check_launch(const struct vm_config *cfg, const struct launch_options *o,
			      const char *vm_flag, struct errbuf *e)
{
	if (o->config_file && vm_flag)
		return errf(e, "--%s cannot be combined with --config-file, which holds the VM's "
			       "configuration", vm_flag);
	if (o->no_api && !o->config_file)
		return errf(e, "--no-api needs --config-file (without a socket nothing could start "
			       "the VM)");
	if (o->no_api && o->api_sock)
		return errf(e, "--no-api and --api-sock contradict each other");
	if (!o->config_file && !o->api_sock && !cfg->kernel_path)
		return errf(e, "nothing to boot: give --kernel PATH, --config-file PATH or "
			       "--api-sock PATH");
	return 0;
}

/* --jail needs who to become and a name for its directory; its flags need --jail. */
static int flags_check_jail(const struct vm_config *cfg, const struct launch_options *o,
			    const char *jail_flag, bool id_given, struct errbuf *e)
{
	if (!o->jail.enabled)
		return jail_flag ? errf(e, "--%s needs --jail", jail_flag) : 0;
	if (!id_given)
		return errf(e, "--jail needs --id ID (it names the jail's directory and cgroup)");
	if (!o->jail.has_uid || !o->jail.has_gid)
		return errf(e, "--jail needs --uid and --gid (whom ember becomes)");
	return jail_check_id(cfg->id, e);
}

static int flags_apply(const struct flag *f, const char *value, struct vm_config *cfg,
		       struct launch_options *opts, struct errbuf *e)
{
	return f->set ? f->set(cfg, value, e) : f->set_opt(opts, value, e);
}

enum flags_result flags_parse(int argc, char **argv, struct vm_config *cfg,
			      struct launch_options *opts, FILE *out, struct errbuf *e)
{
	const char *vm_flag = NULL, *jail_flag = NULL;
	bool id_given = false;
	*opts = (struct launch_options){ .max_payload = FLAGS_DEFAULT_MAX_PAYLOAD,
					 .jail.chroot_base = JAIL_DEFAULT_CHROOT_BASE };
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
		if (!f->arg && eq)
			return errf(e, "--%s takes no value", f->name);
		if (!f->set && !f->set_opt) {
			if (strcmp(f->name, "help") == 0)
				flags_usage(out);
			else
				fprintf(out, "ember %s\n", EMBER_VERSION);
			return FLAGS_DONE;
		}
		const char *value = NULL;
		if (f->arg) {
			value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!value)
				return errf(e, "--%s needs a value (%s)", f->name, f->arg);
		}
		if (flags_apply(f, value, cfg, opts, e) < 0)
			return FLAGS_ERROR;
		if (f->vm && !vm_flag)
			vm_flag = f->name;
		if (f->jail && !jail_flag)
			jail_flag = f->name;
		id_given |= f->set == config_set_id;
	}
	return flags_check_launch(cfg, opts, vm_flag, e) < 0 ||
			       flags_check_jail(cfg, opts, jail_flag, id_given, e) < 0 ?
		       FLAGS_ERROR :
		       FLAGS_RUN;
}
