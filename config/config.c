#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../arch/cpuid.h"
#include "../arch/layout.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->machine.mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->logger.level = LOG_WARN;
	strcpy(cfg->id, "anonymous-instance");
}

void config_free(struct vm_config *cfg)
{
	bool check_files = cfg->check_files;
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	for (unsigned i = 0; i < cfg->ndrives; i++)
		free(cfg->drives[i].path);
	free(cfg->logger.path);
	free(cfg->metrics_path);
	free(cfg->metrics_properties);
	free(cfg->snapshot_load);
	config_init(cfg);
	cfg->check_files = check_files;
}

void config_set_cpu_template(struct vm_config *cfg, const struct cpu_template *t)
{
	cfg->cpu_template = *t;
	cfg->has_cpu_template = true;
	cfg->cpu_template_static = CPU_TEMPLATE_NONE;
}

int config_set_static_cpu_template(struct vm_config *cfg, enum cpu_template_static which,
				   struct errbuf *e)
{
	static struct cpu_template t; /* large; the event thread's alone */
	char vendor[13];
	if (which == CPU_TEMPLATE_NONE) {
		cfg->has_cpu_template = false;
		cfg->cpu_template_static = CPU_TEMPLATE_NONE;
		return 0;
	}
	cpuid_host_vendor(vendor);
	if (cpu_template_static(which, vendor, &t, e) < 0)
		return -1;
	config_set_cpu_template(cfg, &t);
	cfg->cpu_template_static = which;
	return 0;
}

int config_set_snapshot_load(struct vm_config *cfg, const char *json, struct errbuf *e)
{
	char *copy = strdup(json);
	if (!copy)
		return errf(e, "out of memory");
	free(cfg->snapshot_load);
	cfg->snapshot_load = copy;
	return 0;
}

void config_take_vm(struct vm_config *dst, struct vm_config *src)
{
	free(dst->kernel_path);
	free(dst->initrd_path);
	free(dst->cmdline);
	for (unsigned i = 0; i < dst->ndrives; i++)
		free(dst->drives[i].path);
	dst->kernel_path = src->kernel_path;
	dst->initrd_path = src->initrd_path;
	dst->cmdline = src->cmdline;
	dst->machine = src->machine;
	dst->has_cpu_template = src->has_cpu_template;
	dst->cpu_template = src->cpu_template;
	dst->cpu_template_static = src->cpu_template_static;
	dst->ndrives = src->ndrives;
	dst->nnets = src->nnets;
	memcpy(dst->drives, src->drives, sizeof(dst->drives));
	memcpy(dst->nets, src->nets, sizeof(dst->nets));
	src->kernel_path = src->initrd_path = src->cmdline = NULL;
	src->ndrives = src->nnets = 0;
}

/*
 * A kernel, initrd or drive file as ember will open it: there, a regular file or a block
 * device, readable, and writable unless read-only. Non-blocking, so a FIFO cannot hang
 * the check; InstanceStart opens it again (the file may have gone since).
 */
static int config_check_file(const struct vm_config *cfg, const char *what, const char *path,
			     bool writable, struct errbuf *e)
{
	if (!cfg->check_files)
		return 0;
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errf(e, "%s %s: %s", what, path, strerror(errno));
	struct stat st;
	int r = fstat(fd, &st);
	int err = errno;
	close(fd);
	if (r < 0)
		return errf(e, "%s %s: %s", what, path, strerror(err));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errf(e, "%s %s: not a regular file or block device", what, path);
	return 0;
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
	if (config_check_file(cfg, "kernel", path, false, e) < 0)
		return -1;
	return set_string(&cfg->kernel_path, path, "kernel", e);
}

int config_set_initrd(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	if (!*path)
		return errf(e, "initrd path is empty");
	if (config_check_file(cfg, "initrd", path, false, e) < 0)
		return -1;
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

int config_set_boot_source(struct vm_config *cfg, const char *kernel, const char *initrd,
			   const char *cmdline, struct errbuf *e)
{
	/* Built on a scratch copy so a refusal of any part leaves all three as they were. */
	struct vm_config t = { .check_files = cfg->check_files };
	if (config_set_kernel(&t, kernel, e) < 0 ||
	    (initrd && config_set_initrd(&t, initrd, e) < 0) ||
	    (cmdline && config_set_cmdline(&t, cmdline, e) < 0)) {
		free(t.kernel_path);
		free(t.initrd_path);
		free(t.cmdline);
		return -1;
	}
	free(cfg->kernel_path);
	free(cfg->initrd_path);
	free(cfg->cmdline);
	cfg->kernel_path = t.kernel_path;
	cfg->initrd_path = t.initrd_path;
	cfg->cmdline = t.cmdline;
	return 0;
}

static int config_check_vcpus(long long n, struct errbuf *e)
{
	if (n < 1 || n > CONFIG_MAX_VCPUS)
		return errf(e, "vcpu count %lld is out of range 1-%d", n, CONFIG_MAX_VCPUS);
	return 0;
}

static int config_check_mem_mib(long long mib, struct errbuf *e)
{
	if (mib < CONFIG_MIN_MEM_MIB || mib > CONFIG_MAX_MEM_MIB)
		return errf(e, "memory size %lld MiB is out of range %d-%d", mib,
			    CONFIG_MIN_MEM_MIB, CONFIG_MAX_MEM_MIB);
	return 0;
}

int config_set_vcpus(struct vm_config *cfg, long long n, struct errbuf *e)
{
	if (config_check_vcpus(n, e) < 0)
		return -1;
	cfg->machine.vcpus = (unsigned)n;
	return 0;
}

const char *const config_huge_pages_names[] = { "None", "2M", "Transparent", NULL };

int config_set_mem_mib(struct vm_config *cfg, long long mib, struct errbuf *e)
{
	struct machine_config m = cfg->machine;
	if (config_check_mem_mib(mib, e) < 0)
		return -1;
	m.mem_mib = (uint64_t)mib;
	return config_set_machine(cfg, &m, e);
}

int config_set_huge_pages(struct vm_config *cfg, const char *name, struct errbuf *e)
{
	struct machine_config m = cfg->machine;
	for (int i = 0; config_huge_pages_names[i]; i++)
		if (strcmp(name, config_huge_pages_names[i]) == 0) {
			m.huge_pages = (enum huge_pages)i;
			return config_set_machine(cfg, &m, e);
		}
	return errf(e, "huge pages '%s' is not one of None, 2M, Transparent", name);
}

int config_set_machine(struct vm_config *cfg, const struct machine_config *m, struct errbuf *e)
{
	if (config_check_vcpus(m->vcpus, e) < 0 ||
	    config_check_mem_mib(m->mem_mib > CONFIG_MAX_MEM_MIB ? CONFIG_MAX_MEM_MIB + 1LL :
								     (long long)m->mem_mib,
				 e) < 0)
		return -1;
	if (m->smt)
		return errf(e, "smt: ember exposes one thread per core; only false is supported");
	/* Firecracker's rule for both: whole 2 MiB pages (HugePageConfig::is_valid_mem_size). */
	if (m->huge_pages != HUGE_PAGES_NONE && m->mem_mib % 2)
		return errf(e, "mem_size_mib: %llu is not a multiple of 2, as huge pages need",
			    (unsigned long long)m->mem_mib);
	cfg->machine = *m;
	return 0;
}

int config_set_log_level(struct vm_config *cfg, const char *level, struct errbuf *e)
{
	enum log_level l;
	if (log_level_parse(level, &l) < 0)
		return errf(e, "log level '%s' is not one of Error, Warning, Info, Debug, Trace, "
			    "Off", level);
	cfg->logger.level = l;
	return 0;
}

int config_check_log_module(const char *module, struct errbuf *e)
{
	size_t n = strlen(module);
	if (n == 0 || n > CONFIG_MAX_LOG_MODULE)
		return errf(e, "log module '%.64s': must be 1-%d characters", module,
			    CONFIG_MAX_LOG_MODULE);
	for (size_t i = 0; i < n; i++)
		if (module[i] <= ' ' || module[i] > '~')
			return errf(e, "log module '%.64s': only printable characters, no spaces",
				    module);
	return 0;
}

int config_set_log_module(struct vm_config *cfg, const char *module, struct errbuf *e)
{
	if (config_check_log_module(module, e) < 0)
		return -1;
	snprintf(cfg->logger.module, sizeof(cfg->logger.module), "%s", module);
	return 0;
}

int config_set_log_path(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	if (!*path)
		return errf(e, "log path is empty");
	return set_string(&cfg->logger.path, path, "log path", e);
}

int config_set_logger(struct vm_config *cfg, const struct logger_config *l, struct errbuf *e)
{
	char *path = NULL; /* copied before the old one is freed: l->path may be it */
	if (l->path && !(path = strdup(l->path)))
		return errf(e, "log path: out of memory");
	free(cfg->logger.path);
	cfg->logger = *l;
	cfg->logger.path = path;
	return 0;
}

int config_set_metrics_path(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	if (!*path)
		return errf(e, "metrics path is empty");
	return set_string(&cfg->metrics_path, path, "metrics path", e);
}

int config_set_metrics(struct vm_config *cfg, const char *path, bool emit_id,
		       const char *properties, struct errbuf *e)
{
	char *props = properties ? strdup(properties) : NULL;
	if (properties && !props)
		return errf(e, "metrics properties: out of memory");
	if (config_set_metrics_path(cfg, path, e) < 0) {
		free(props);
		return -1;
	}
	free(cfg->metrics_properties);
	cfg->metrics_properties = props;
	cfg->metrics_emit_id = emit_id;
	return 0;
}

int config_check_id(const char *what, const char *id, struct errbuf *e)
{
	size_t n = strlen(id);
	if (n == 0 || n > CONFIG_MAX_ID)
		return errf(e, "%s must be 1-%d characters", what, CONFIG_MAX_ID);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return errf(e, "%s '%s' may hold only letters, digits, '-' and '_'", what,
				    id);
	}
	return 0;
}

int config_set_id(struct vm_config *cfg, const char *id, struct errbuf *e)
{
	if (config_check_id("id", id, e) < 0)
		return -1;
	memcpy(cfg->id, id, strlen(id) + 1);
	return 0;
}

static int config_check_bucket(const char *what, const char *id,
			       const struct token_bucket_config *b, struct errbuf *e)
{
	if (b->size > INT64_MAX || b->one_time_burst > INT64_MAX ||
	    b->refill_time_ms > UINT64_MAX / 1000000)
		return errf(e, "%s '%s': rate limiter value out of range", what, id);
	return 0;
}

static int config_check_limiter(const char *what, const char *id,
				const struct rate_limiter_config *rl, struct errbuf *e)
{
	return config_check_bucket(what, id, &rl->bandwidth, e) < 0 ||
			       config_check_bucket(what, id, &rl->ops, e) < 0 ?
		       -1 :
		       0;
}

static unsigned config_devices(const struct vm_config *cfg)
{
	return cfg->ndrives + cfg->nnets;
}

static int config_find_drive(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (strcmp(cfg->drives[i].id, id) == 0)
			return (int)i;
	return -1;
}

/*
 * The root drive is the guest's first disk (/dev/vda), as in Firecracker: a new one goes
 * in front of the others, which keep their order; an existing drive made root swaps
 * places with the first.
 */
static void config_root_drive_first(struct vm_config *cfg, unsigned at, bool is_new)
{
	struct drive_config root = cfg->drives[at];
	if (at == 0)
		return;
	if (is_new) {
		memmove(&cfg->drives[1], &cfg->drives[0], at * sizeof(cfg->drives[0]));
	} else {
		cfg->drives[at] = cfg->drives[0];
	}
	cfg->drives[0] = root;
}

int config_put_drive(struct vm_config *cfg, const struct drive_config *d, struct errbuf *e)
{
	if (config_check_id("drive id", d->id, e) < 0 ||
	    config_check_limiter("drive", d->id, &d->rate_limiter, e) < 0)
		return -1;
	if (!d->path || !*d->path)
		return errf(e, "drive '%s': path is empty", d->id);
	int at = config_find_drive(cfg, d->id);
	for (unsigned i = 0; d->is_root && i < cfg->ndrives; i++)
		if (cfg->drives[i].is_root && (int)i != at)
			return errf(e, "drive '%s': drive '%s' is already the root device", d->id,
				    cfg->drives[i].id);
	if (at < 0 && config_devices(cfg) == CONFIG_MAX_DEVICES)
		return errf(e, "drive '%s': at most %d drives and network interfaces", d->id,
			    CONFIG_MAX_DEVICES);
	char what[CONFIG_MAX_ID + 16];
	snprintf(what, sizeof(what), "drive '%s':", d->id);
	if (config_check_file(cfg, what, d->path, !d->read_only, e) < 0)
		return -1;
	char *path = strdup(d->path);
	if (!path)
		return errf(e, "drive '%s': out of memory", d->id);
	bool is_new = at < 0;
	if (at < 0)
		at = (int)cfg->ndrives++;
	else
		free(cfg->drives[at].path);
	cfg->drives[at] = *d;
	cfg->drives[at].path = path;
	if (d->is_root)
		config_root_drive_first(cfg, (unsigned)at, is_new);
	return 0;
}

static int config_find_net(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int config_check_net_unique(const struct vm_config *cfg, const struct net_config *n,
				   int at, struct errbuf *e)
{
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct net_config *o = &cfg->nets[i];
		if ((int)i == at)
			continue;
		if (strcmp(o->tap, n->tap) == 0)
			return errf(e, "network interface '%s': TAP '%s' is already used by '%s'",
				    n->id, n->tap, o->id);
		if (n->has_mac && o->has_mac && memcmp(o->mac, n->mac, 6) == 0)
			return errf(e, "network interface '%s': MAC is already used by '%s'",
				    n->id, o->id);
	}
	return 0;
}

int config_put_net(struct vm_config *cfg, const struct net_config *n, struct errbuf *e)
{
	if (config_check_id("network interface id", n->id, e) < 0 ||
	    config_check_limiter("network interface", n->id, &n->rx, e) < 0 ||
	    config_check_limiter("network interface", n->id, &n->tx, e) < 0)
		return -1;
	if (n->mtu && n->mtu < CONFIG_MTU_MIN)
		return errf(e, "network interface '%s': mtu %u is out of range %d-65535", n->id,
			    n->mtu, CONFIG_MTU_MIN);
	size_t len = strnlen(n->tap, sizeof(n->tap));
	if (len == 0 || len >= IFNAMSIZ)
		return errf(e, "network interface '%s': TAP name must be 1-%d characters", n->id,
			    IFNAMSIZ - 1);
	int at = config_find_net(cfg, n->id);
	if (config_check_net_unique(cfg, n, at, e) < 0)
		return -1;
	if (at < 0 && config_devices(cfg) == CONFIG_MAX_DEVICES)
		return errf(e, "network interface '%s': at most %d drives and network interfaces",
			    n->id, CONFIG_MAX_DEVICES);
	if (at < 0)
		at = (int)cfg->nnets++;
	cfg->nets[at] = *n;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *str, uint8_t mac[6], struct errbuf *e)
{
	const char *s = str;
	for (int i = 0; i < 6; i++, s += 3) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
		char sep = lo < 0 ? 0 : s[2];
		if (lo < 0 || sep != (i == 5 ? '\0' : ':'))
			return errf(e, "MAC '%s' is not six hex bytes like 06:00:ac:10:00:02", str);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int config_check_bootable(const struct vm_config *cfg, struct errbuf *e)
{
	if (!cfg->kernel_path)
		return errf(e, "no kernel: set the boot source first (--kernel, or PUT /boot-source)");
	return 0;
}
