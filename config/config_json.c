#include "config_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/cpuid.h"
#include "../lib/util.h"

/*
 * Each JSON object is described by a table of its fields; one checker refuses unknown
 * fields, wrong types and missing required ones before anything reads a value, so the
 * readers below can assume the shape. JSON null counts as absent (Firecracker's
 * optional fields accept it).
 */
enum jtype { J_STRING, J_BOOL, J_INT, J_OBJECT, J_ARRAY, J_NUMBER /* integer or string */ };
struct jfield {
	const char *name;
	enum jtype type;
	bool required;
};

static const char *const jtype_names[] = { "a string", "a boolean", "an integer",
					   "an object", "an array", "a number or a string" };

static bool jtype_is(const json_t *v, enum jtype t)
{
	switch (t) {
	case J_STRING: return json_is_string(v);
	case J_BOOL: return json_is_boolean(v);
	case J_INT: return json_is_integer(v);
	case J_OBJECT: return json_is_object(v);
	case J_ARRAY: return json_is_array(v);
	case J_NUMBER: return json_is_integer(v) || json_is_string(v);
	}
	return false;
}

static const struct jfield *jfield_find(const struct jfield *f, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, key) == 0)
			return &f[i];
	return NULL;
}

static int jcheck(const json_t *obj, const char *where, const struct jfield *f, size_t n,
		  struct errbuf *e)
{
	/* where "" is the top of the config file: its fields are named bare. */
	const char *dot = where[0] ? "." : "", *colon = where[0] ? ": " : "";
	if (!json_is_object(obj))
		return errf(e, "%s%sexpected a JSON object", where, colon);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
		const struct jfield *fd = jfield_find(f, n, key);
		if (!fd)
			return errf(e, "%s%sunknown field '%.64s'", where, colon, key);
		if (!json_is_null(v) && !jtype_is(v, fd->type))
			return errf(e, "%s%s%s: expected %s", where, dot, key,
				    jtype_names[fd->type]);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v2 = json_object_get(obj, f[i].name);
		if (f[i].required && (!v2 || json_is_null(v2)))
			return errf(e, "%s%s%s: missing (required)", where, dot, f[i].name);
	}
	return 0;
}

#define JCHECK(obj, where, fields, e) jcheck(obj, where, fields, ARRAY_SIZE(fields), e)

/* A present, non-null member, or NULL. */
static const json_t *jget(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return v && !json_is_null(v) ? v : NULL;
}

static const char *jstr(const json_t *obj, const char *key)
{
	const json_t *v = jget(obj, key);
	return v ? json_string_value(v) : NULL;
}

/* A string member with no NUL inside (a path or id must not be cut short silently). */
static int jstr_clean(const json_t *obj, const char *where, const char *key, const char **out,
		      struct errbuf *e)
{
	const json_t *v = jget(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return errf(e, "%s.%s: contains a NUL character", where, key);
	*out = json_string_value(v);
	return 0;
}

static bool jbool(const json_t *obj, const char *key, bool dflt)
{
	const json_t *v = jget(obj, key);
	return v ? json_is_true(v) : dflt;
}

static int jint_range(const json_t *obj, const char *where, const char *key, long long lo,
		      long long hi, long long *out, struct errbuf *e)
{
	long long v = json_integer_value(jget(obj, key));
	if (v < lo || v > hi)
		return errf(e, "%s.%s: %lld is out of range %lld-%lld", where, key, v, lo, hi);
	*out = v;
	return 0;
}

/* A string member that must be one of names[]; its index in *out. */
static int jenum(const json_t *obj, const char *where, const char *key,
		 const char *const *names, int *out, struct errbuf *e)
{
	const char *s = jstr(obj, key);
	for (int i = 0; names[i]; i++)
		if (s && strcmp(s, names[i]) == 0)
			return *out = i, 0;
	char list[160] = "";
	for (int i = 0; names[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	return errf(e, "%s.%s: '%.64s' is not one of %s", where, key, s ? s : "", list);
}

json_t *config_json_parse(const char *text, size_t len, struct errbuf *e)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		errf(e, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		errf(e, "expected a JSON object");
		return NULL;
	}
	return root;
}

/* ---- rate limiters: {"bandwidth": TokenBucket, "ops": TokenBucket} ---- */

static const struct jfield bucket_fields[] = {
	{ "size", J_INT, true }, { "refill_time", J_INT, true }, { "one_time_burst", J_INT, false },
};
static const struct jfield limiter_fields[] = {
	{ "bandwidth", J_OBJECT, false }, { "ops", J_OBJECT, false },
};

static int json_bucket(const json_t *obj, const char *where, struct token_bucket_config *b,
		       struct errbuf *e)
{
	long long size = 0, refill = 0, burst = 0;
	if (JCHECK(obj, where, bucket_fields, e) < 0 ||
	    jint_range(obj, where, "size", 0, INT64_MAX, &size, e) < 0 ||
	    jint_range(obj, where, "refill_time", 0, INT64_MAX / 1000000, &refill, e) < 0 ||
	    (jget(obj, "one_time_burst") &&
	     jint_range(obj, where, "one_time_burst", 0, INT64_MAX, &burst, e) < 0))
		return -1;
	*b = (struct token_bucket_config){ .size = (uint64_t)size,
					   .refill_time_ms = (uint64_t)refill,
					   .one_time_burst = (uint64_t)burst };
	return 0;
}

static int json_limiter(const json_t *obj, const char *where, struct rate_limiter_config *rl,
			struct errbuf *e)
{
	char sub[128];
	*rl = (struct rate_limiter_config){ 0 };
	if (JCHECK(obj, where, limiter_fields, e) < 0)
		return -1;
	const json_t *bw = jget(obj, "bandwidth"), *ops = jget(obj, "ops");
	snprintf(sub, sizeof(sub), "%.80s.bandwidth", where);
	if (bw && json_bucket(bw, sub, &rl->bandwidth, e) < 0)
		return -1;
	snprintf(sub, sizeof(sub), "%.80s.ops", where);
	return ops ? json_bucket(ops, sub, &rl->ops, e) : 0;
}

/* An optional rate-limiter member: *has says whether it was there. */
static int json_opt_limiter(const json_t *obj, const char *where, const char *key, bool *has,
			    struct rate_limiter_config *rl, struct errbuf *e)
{
	char sub[96];
	const json_t *v = jget(obj, key);
	*has = v != NULL;
	*rl = (struct rate_limiter_config){ 0 };
	snprintf(sub, sizeof(sub), "%.40s.%.40s", where, key);
	return v ? json_limiter(v, sub, rl, e) : 0;
}

/* The same in a PATCH, where a bucket left out is kept: ch points at the ones given. */
static int json_limiter_change(const json_t *obj, const char *where, const char *key,
			       bool *has, struct rate_limiter_config *rl,
			       struct rate_limiter_change *ch, struct errbuf *e)
{
	if (json_opt_limiter(obj, where, key, has, rl, e) < 0)
		return -1;
	const json_t *v = jget(obj, key);
	*ch = (struct rate_limiter_change){
		.bandwidth = v && jget(v, "bandwidth") ? &rl->bandwidth : NULL,
		.ops = v && jget(v, "ops") ? &rl->ops : NULL,
	};
	return 0;
}

static json_t *json_dump_bucket(const struct token_bucket_config *b)
{
	return json_pack("{s:I,s:I,s:I}", "size", (json_int_t)b->size, "refill_time",
			 (json_int_t)b->refill_time_ms, "one_time_burst",
			 (json_int_t)b->one_time_burst);
}

static bool bucket_set(const struct token_bucket_config *b)
{
	return b->size || b->refill_time_ms || b->one_time_burst;
}

/* NULL when unlimited: the member is then left out, as a user would have. */
static json_t *json_dump_limiter(const struct rate_limiter_config *rl)
{
	if (!bucket_set(&rl->bandwidth) && !bucket_set(&rl->ops))
		return NULL;
	json_t *o = json_object();
	if (bucket_set(&rl->bandwidth))
		json_object_set_new(o, "bandwidth", json_dump_bucket(&rl->bandwidth));
	if (bucket_set(&rl->ops))
		json_object_set_new(o, "ops", json_dump_bucket(&rl->ops));
	return o;
}

/* ---- boot-source ---- */

static const struct jfield boot_fields[] = {
	{ "kernel_image_path", J_STRING, true },
	{ "boot_args", J_STRING, false },
	{ "initrd_path", J_STRING, false },
};

int config_json_boot_source(struct vm_config *cfg, const json_t *body, struct errbuf *e)
{
	const char *kernel, *initrd, *args;
	if (JCHECK(body, "boot-source", boot_fields, e) < 0 ||
	    jstr_clean(body, "boot-source", "kernel_image_path", &kernel, e) < 0 ||
	    jstr_clean(body, "boot-source", "initrd_path", &initrd, e) < 0 ||
	    jstr_clean(body, "boot-source", "boot_args", &args, e) < 0)
		return -1;
	return config_set_boot_source(cfg, kernel, initrd, args, e);
}

/* ---- machine-config ---- */

static const struct jfield machine_put_fields[] = {
	{ "vcpu_count", J_INT, true },	      { "mem_size_mib", J_INT, true },
	{ "smt", J_BOOL, false },	      { "track_dirty_pages", J_BOOL, false },
	{ "huge_pages", J_STRING, false },     { "cpu_template", J_STRING, false },
};
static const struct jfield machine_patch_fields[] = {
	{ "vcpu_count", J_INT, false },	      { "mem_size_mib", J_INT, false },
	{ "smt", J_BOOL, false },	      { "track_dirty_pages", J_BOOL, false },
	{ "huge_pages", J_STRING, false },     { "cpu_template", J_STRING, false },
};

/* Firecracker's static CPU templates (deprecated there, for PUT /cpu-config): -1 when
   the body has none (or null), which keeps the template there is. */
static int json_cpu_template(const json_t *body, int *which, struct errbuf *e)
{
	*which = -1;
	if (!jstr(body, "cpu_template"))
		return 0;
	return jenum(body, "machine-config", "cpu_template", cpu_template_static_names, which, e);
}

int config_json_machine(struct vm_config *cfg, const json_t *body, bool patch,
			struct errbuf *e)
{
	const char *w = "machine-config";
	/* PUT starts from the defaults (Firecracker replaces the whole object), PATCH from now. */
	struct machine_config m = patch ? cfg->machine :
					  (struct machine_config){ .vcpus = CONFIG_DEFAULT_VCPUS,
								   .mem_mib = CONFIG_DEFAULT_MEM_MIB };
	long long v;
	if (patch ? JCHECK(body, w, machine_patch_fields, e) < 0 :
		    JCHECK(body, w, machine_put_fields, e) < 0)
		return -1;
	if (patch && json_object_size(body) == 0)
		return errf(e, "%s: nothing to change (empty object)", w);
	int tmpl;
	if (json_cpu_template(body, &tmpl, e) < 0)
		return -1;
	if (jget(body, "vcpu_count")) {
		if (jint_range(body, w, "vcpu_count", 1, CONFIG_MAX_VCPUS, &v, e) < 0)
			return -1;
		m.vcpus = (unsigned)v;
	}
	if (jget(body, "mem_size_mib")) {
		if (jint_range(body, w, "mem_size_mib", CONFIG_MIN_MEM_MIB, CONFIG_MAX_MEM_MIB, &v,
			       e) < 0)
			return -1;
		m.mem_mib = (uint64_t)v;
	}
	m.smt = jbool(body, "smt", m.smt);
	m.track_dirty_pages = jbool(body, "track_dirty_pages", m.track_dirty_pages);
	int hp;
	if (jget(body, "huge_pages")) {
		if (jenum(body, w, "huge_pages", config_huge_pages_names, &hp, e) < 0)
			return -1;
		m.huge_pages = (enum huge_pages)hp;
	}
	/* The template first: its refusal (the host's vendor) must leave the machine as
	   it was. */
	char vendor[13];
	cpuid_host_vendor(vendor);
	if (tmpl > CPU_TEMPLATE_NONE &&
	    cpu_template_static_usable((enum cpu_template_static)tmpl, vendor, e) < 0)
		return -1;
	if (config_set_machine(cfg, &m, e) < 0)
		return -1;
	return tmpl < 0 ? 0 : config_set_static_cpu_template(cfg, (enum cpu_template_static)tmpl, e);
}

json_t *config_json_dump_machine(const struct vm_config *cfg)
{
	const struct machine_config *m = &cfg->machine;
	json_t *o = json_pack("{s:i,s:I,s:b,s:b,s:s}", "vcpu_count", (int)m->vcpus,
			      "mem_size_mib", (json_int_t)m->mem_mib, "smt", m->smt,
			      "track_dirty_pages", m->track_dirty_pages, "huge_pages",
			      config_huge_pages_names[m->huge_pages]);
	/* As Firecracker: the field is there only for a static template. */
	if (o && cfg->cpu_template_static != CPU_TEMPLATE_NONE)
		json_object_set_new(o, "cpu_template",
				    json_string(cpu_template_static_names[cfg->cpu_template_static]));
	return o;
}

/* ---- drives ---- */

static const char *const cache_names[] = { "Writeback", "Unsafe", NULL };
static const char *const engine_names[] = { "Sync", "Async", NULL };

static const struct jfield drive_fields[] = {
	{ "drive_id", J_STRING, true },	     { "is_root_device", J_BOOL, true },
	{ "path_on_host", J_STRING, true },  { "is_read_only", J_BOOL, false },
	{ "partuuid", J_STRING, false },     { "cache_type", J_STRING, false },
	{ "io_engine", J_STRING, false },    { "rate_limiter", J_OBJECT, false },
};

/* The body's id must be the path's (Firecracker refuses a mismatch too). */
static int json_check_id(const json_t *body, const char *where, const char *field,
			 const char *path_id, struct errbuf *e)
{
	const char *id = jstr(body, field);
	if (path_id && strcmp(id, path_id) != 0)
		return errf(e, "%s.%s: '%.64s' differs from the id in the path ('%s')", where,
			    field, id, path_id);
	return config_check_id(field, id, e);
}

static int json_partuuid(const json_t *body, struct drive_config *d, struct errbuf *e)
{
	const char *p = jstr(body, "partuuid");
	if (!p)
		return 0;
	size_t n = strlen(p);
	if (n == 0 || n > CONFIG_MAX_PARTUUID || strspn(p, "0123456789abcdefABCDEF-") != n)
		return errf(e, "drive.partuuid: '%.64s' is not a partition UUID", p);
	memcpy(d->partuuid, p, n + 1);
	return 0;
}

int config_json_drive(struct vm_config *cfg, const json_t *body, const char *id,
		      struct errbuf *e)
{
	struct drive_config d = { .engine = DRIVE_ENGINE_SYNC, .cache = DRIVE_CACHE_WRITEBACK };
	const char *path;
	int v;
	bool has_rl;
	if (JCHECK(body, "drive", drive_fields, e) < 0 ||
	    json_check_id(body, "drive", "drive_id", id, e) < 0 ||
	    jstr_clean(body, "drive", "path_on_host", &path, e) < 0 || json_partuuid(body, &d, e) < 0 ||
	    json_opt_limiter(body, "drive", "rate_limiter", &has_rl, &d.rate_limiter, e) < 0)
		return -1;
	snprintf(d.id, sizeof(d.id), "%s", jstr(body, "drive_id"));
	d.path = (char *)(uintptr_t)path; /* config_put_drive copies it */
	d.is_root = jbool(body, "is_root_device", false);
	d.read_only = jbool(body, "is_read_only", false);
	if (jget(body, "cache_type")) {
		if (jenum(body, "drive", "cache_type", cache_names, &v, e) < 0)
			return -1;
		d.cache = (enum drive_cache)v;
	}
	if (jget(body, "io_engine")) {
		if (jenum(body, "drive", "io_engine", engine_names, &v, e) < 0)
			return -1;
		d.engine = (enum drive_engine)v;
	}
	return config_put_drive(cfg, &d, e);
}

static const struct jfield drive_patch_fields[] = {
	{ "drive_id", J_STRING, true },
	{ "path_on_host", J_STRING, false },
	{ "rate_limiter", J_OBJECT, false },
};

int config_json_drive_update(const json_t *body, const char *id, struct drive_update *u,
			     struct errbuf *e)
{
	*u = (struct drive_update){ 0 };
	if (JCHECK(body, "drive", drive_patch_fields, e) < 0 ||
	    json_check_id(body, "drive", "drive_id", id, e) < 0 ||
	    jstr_clean(body, "drive", "path_on_host", &u->path, e) < 0 ||
	    json_limiter_change(body, "drive", "rate_limiter", &u->has_rate_limiter,
				&u->rate_limiter, &u->rate_limiter_change, e) < 0)
		return -1;
	if (u->path && !*u->path)
		return errf(e, "drive.path_on_host: empty");
	if (!u->path && !u->has_rate_limiter)
		return errf(e, "drive: nothing to change (give path_on_host or rate_limiter)");
	return 0;
}

static json_t *json_dump_drive(const struct drive_config *d)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:s,s:s}", "drive_id", d->id, "path_on_host",
			      d->path, "is_root_device", d->is_root, "is_read_only",
			      d->read_only, "cache_type", cache_names[d->cache], "io_engine",
			      engine_names[d->engine]);
	if (o && d->partuuid[0])
		json_object_set_new(o, "partuuid", json_string(d->partuuid));
	json_t *rl = json_dump_limiter(&d->rate_limiter);
	if (o && rl)
		json_object_set_new(o, "rate_limiter", rl);
	return o;
}

/* ---- network interfaces ---- */

static const struct jfield net_fields[] = {
	{ "iface_id", J_STRING, true },		{ "host_dev_name", J_STRING, true },
	{ "guest_mac", J_STRING, false },	{ "rx_rate_limiter", J_OBJECT, false },
	{ "tx_rate_limiter", J_OBJECT, false }, { "mtu", J_INT, false },
};

int config_json_net(struct vm_config *cfg, const json_t *body, const char *id,
		    struct errbuf *e)
{
	struct net_config n = { .id = "" };
	const char *tap, *mac;
	bool has;
	if (JCHECK(body, "network-interface", net_fields, e) < 0 ||
	    json_check_id(body, "network-interface", "iface_id", id, e) < 0 ||
	    jstr_clean(body, "network-interface", "host_dev_name", &tap, e) < 0 ||
	    jstr_clean(body, "network-interface", "guest_mac", &mac, e) < 0 ||
	    json_opt_limiter(body, "network-interface", "rx_rate_limiter", &has, &n.rx, e) < 0 ||
	    json_opt_limiter(body, "network-interface", "tx_rate_limiter", &has, &n.tx, e) < 0)
		return -1;
	snprintf(n.id, sizeof(n.id), "%s", jstr(body, "iface_id"));
	long long mtu = 0;
	if (jget(body, "mtu") &&
	    jint_range(body, "network-interface", "mtu", CONFIG_MTU_MIN, 65535, &mtu, e) < 0)
		return -1;
	n.mtu = (uint16_t)mtu;
	if (strlen(tap) >= sizeof(n.tap) || !*tap)
		return errf(e, "network-interface.host_dev_name: '%.64s' is not 1-%zu characters",
			    tap, sizeof(n.tap) - 1);
	memcpy(n.tap, tap, strlen(tap) + 1);
	if (mac) {
		if (config_parse_mac(mac, n.mac, e) < 0) {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			return errf(e, "network-interface.guest_mac: %s", why);
		}
		n.has_mac = true;
	}
	return config_put_net(cfg, &n, e);
}

static const struct jfield net_patch_fields[] = {
	{ "iface_id", J_STRING, true },
	{ "rx_rate_limiter", J_OBJECT, false },
	{ "tx_rate_limiter", J_OBJECT, false },
};

int config_json_net_update(const json_t *body, const char *id, struct net_update *u,
			   struct errbuf *e)
{
	const char *w = "network-interface";
	*u = (struct net_update){ 0 };
	if (JCHECK(body, w, net_patch_fields, e) < 0 ||
	    json_check_id(body, w, "iface_id", id, e) < 0 ||
	    json_limiter_change(body, w, "rx_rate_limiter", &u->has_rx, &u->rx, &u->rx_change,
				e) < 0 ||
	    json_limiter_change(body, w, "tx_rate_limiter", &u->has_tx, &u->tx, &u->tx_change,
				e) < 0)
		return -1;
	return 0; /* neither limiter: nothing changes, as Firecracker answers 204 */
}

static json_t *json_dump_net(const struct net_config *n)
{
	json_t *o = json_pack("{s:s,s:s}", "iface_id", n->id, "host_dev_name", n->tap);
	if (!o)
		return NULL;
	if (n->has_mac) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		json_object_set_new(o, "guest_mac", json_string(mac));
	}
	if (n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	json_t *rx = json_dump_limiter(&n->rx), *tx = json_dump_limiter(&n->tx);
	if (rx)
		json_object_set_new(o, "rx_rate_limiter", rx);
	if (tx)
		json_object_set_new(o, "tx_rate_limiter", tx);
	return o;
}

/* ---- logger, metrics, actions, vm state ---- */

static const struct jfield logger_fields[] = {
	{ "log_path", J_STRING, false },
	{ "level", J_STRING, false },
	{ "module", J_STRING, false },
	{ "show_level", J_BOOL, false },
	{ "show_log_origin", J_BOOL, false },
};

int config_json_logger(const json_t *body, struct logger_update *u, struct errbuf *e)
{
	const char *level;
	*u = (struct logger_update){ 0 };
	if (JCHECK(body, "logger", logger_fields, e) < 0 ||
	    jstr_clean(body, "logger", "log_path", &u->path, e) < 0 ||
	    jstr_clean(body, "logger", "level", &level, e) < 0 ||
	    jstr_clean(body, "logger", "module", &u->module, e) < 0)
		return -1;
	if (u->path && !*u->path)
		return errf(e, "logger.log_path: empty");
	/* Any case, as Firecracker takes it. */
	if (level && log_level_parse(level, &u->level) < 0)
		return errf(e, "logger.level: '%.32s' is not one of Error, Warning, Info, Debug, "
			    "Trace, Off", level);
	u->has_level = level != NULL;
	if (u->module && config_check_log_module(u->module, e) < 0)
		return -1;
	u->has_show_level = jget(body, "show_level") != NULL;
	u->show_level = jbool(body, "show_level", false);
	u->has_show_origin = jget(body, "show_log_origin") != NULL;
	u->show_origin = jbool(body, "show_log_origin", false);
	return 0;
}

static const struct jfield metrics_fields[] = {
	{ "metrics_path", J_STRING, true },
	{ "emit_id", J_BOOL, false },
	{ "properties", J_OBJECT, false },
};

/* Firecracker's properties: a map of strings, written into every line as it is. */
static int json_metrics_properties(const json_t *props, char **out, struct errbuf *e)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)(uintptr_t)props, key, v)
		if (!json_is_string(v))
			return errf(e, "metrics.properties.%s: expected a string", key);
	*out = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	return *out ? 0 : errf(e, "metrics.properties: out of memory");
}

int config_json_metrics(const json_t *body, struct metrics_update *u, struct errbuf *e)
{
	*u = (struct metrics_update){ 0 };
	if (JCHECK(body, "metrics", metrics_fields, e) < 0 ||
	    jstr_clean(body, "metrics", "metrics_path", &u->path, e) < 0)
		return -1;
	if (!*u->path)
		return errf(e, "metrics.metrics_path: empty");
	u->emit_id = jbool(body, "emit_id", false);
	const json_t *props = jget(body, "properties");
	return props ? json_metrics_properties(props, &u->properties, e) : 0;
}

int config_json_enum(const json_t *body, const char *where, const char *field,
		     const char *const *allowed, int *out, struct errbuf *e)
{
	const struct jfield f[] = { { field, J_STRING, true } };
	return JCHECK(body, where, f, e) < 0 ? -1 : jenum(body, where, field, allowed, out, e);
}

void config_json_logger_apply(struct logger_config *l, const struct logger_update *u)
{
	if (u->path)
		l->path = (char *)(uintptr_t)u->path;
	if (u->has_level)
		l->level = u->level;
	if (u->module)
		snprintf(l->module, sizeof(l->module), "%s", u->module);
	if (u->has_show_level)
		l->show_level = u->show_level;
	if (u->has_show_origin)
		l->show_origin = u->show_origin;
}

static json_t *json_dump_logger(const struct logger_config *l)
{
	static const char *const names[] = { "Error", "Warning", "Info", "Debug" };
	json_t *o = json_pack("{s:s,s:b,s:b}", "level",
			      l->level == LOG_OFF ? "Off" : names[l->level], "show_level",
			      l->show_level, "show_log_origin", l->show_origin);
	if (o && l->path)
		json_object_set_new(o, "log_path", json_string(l->path));
	if (o && l->module[0])
		json_object_set_new(o, "module", json_string(l->module));
	return o;
}

/* ---- the config file: GET /vm/config's layout ---- */

static const struct jfield file_fields[] = {
	{ "boot-source", J_OBJECT, true },     { "drives", J_ARRAY, false },
	{ "snapshot-load", J_OBJECT, false },  { "cpu-config", J_OBJECT, false },
	{ "machine-config", J_OBJECT, false }, { "network-interfaces", J_ARRAY, false },
	{ "logger", J_OBJECT, false },	       { "metrics", J_OBJECT, false },
	/* Firecracker's devices ember leaves out: taken when null (or [] for pmem), as a
	   file written for Firecracker has them (file_absent_devices). */
	{ "balloon", J_OBJECT, false },	       { "vsock", J_OBJECT, false },
	{ "entropy", J_OBJECT, false },	       { "mmds-config", J_OBJECT, false },
	{ "memory-hotplug", J_OBJECT, false }, { "pmem", J_ARRAY, false },
};

/* A file's section for a device ember lacks, given a value: refused by name. */
static int file_absent_devices(const json_t *root, struct errbuf *e)
{
	static const char *const keys[][2] = {
		{ "balloon", "balloon device" }, { "vsock", "vsock device" },
		{ "entropy", "entropy device" }, { "mmds-config", "MMDS (the metadata service)" },
		{ "memory-hotplug", "memory hot-plug" }, { "pmem", "pmem device" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const json_t *v = jget(root, keys[i][0]);
		if (v && !(json_is_array(v) && json_array_size(v) == 0))
			return errf(e, "%s: ember has no %s (only null%s is taken)", keys[i][0],
				    keys[i][1], json_is_array(v) ? " or []" : "");
	}
	return 0;
}

static int config_json_load_array(struct vm_config *cfg, const json_t *root, const char *key,
				  int (*put)(struct vm_config *, const json_t *, const char *,
					     struct errbuf *),
				  struct errbuf *e)
{
	const json_t *arr = jget(root, key);
	size_t i;
	const json_t *item;
	if (!arr)
		return 0;
	json_array_foreach(arr, i, item) {
		if (put(cfg, item, NULL, e) < 0) {
			char why[sizeof(e->msg)];
			snprintf(why, sizeof(why), "%s", e->msg);
			return errf(e, "%s[%zu]: %s", key, i, why);
		}
	}
	return 0;
}

static const struct jfield restore_file_fields[] = {
	{ "snapshot-load", J_OBJECT, true },
	{ "logger", J_OBJECT, false },
	{ "metrics", J_OBJECT, false },
};

/* A snapshot-load object, checked as the API checks it, kept as text for the start. */
int config_json_restore(struct vm_config *cfg, const json_t *body, struct errbuf *e)
{
	struct snapshot_load_request r;
	if (config_json_snapshot_load(body, &r, e) < 0)
		return -1;
	char *text = json_dumps(body, JSON_COMPACT);
	int rc = text ? config_set_snapshot_load(cfg, text, e) : errf(e, "out of memory");
	free(text);
	return rc;
}

static int config_json_load_outputs(struct vm_config *cfg, const json_t *root,
				    struct errbuf *e);

int config_json_load(struct vm_config *cfg, const json_t *root, struct errbuf *e)
{
	const json_t *restore = jget(root, "snapshot-load");
	if (restore) /* a restore instead of a boot: only the process's own outputs beside */
		return JCHECK(root, "", restore_file_fields, e) < 0 ||
			       config_json_restore(cfg, restore, e) < 0 ?
		       -1 :
		       config_json_load_outputs(cfg, root, e);
	const json_t *mc = jget(root, "machine-config");
	if (JCHECK(root, "", file_fields, e) < 0 || file_absent_devices(root, e) < 0 ||
	    config_json_boot_source(cfg, jget(root, "boot-source"), e) < 0 ||
	    (mc && config_json_machine(cfg, mc, false, e) < 0) ||
	    config_json_load_array(cfg, root, "drives", config_json_drive, e) < 0 ||
	    config_json_load_array(cfg, root, "network-interfaces", config_json_net, e) < 0 ||
	    (jget(root, "cpu-config") && config_json_cpu_config(cfg, jget(root, "cpu-config"), e) < 0))
		return -1;
	return config_json_load_outputs(cfg, root, e);
}

/* The file's logger and metrics sections. */
static int config_json_load_outputs(struct vm_config *cfg, const json_t *root,
				    struct errbuf *e)
{
	const json_t *lg = jget(root, "logger"), *mt = jget(root, "metrics");
	struct logger_update lu;
	struct metrics_update mu = { 0 };
	if (lg) {
		struct logger_config l = cfg->logger;
		if (config_json_logger(lg, &lu, e) < 0)
			return -1;
		config_json_logger_apply(&l, &lu);
		if (config_set_logger(cfg, &l, e) < 0)
			return -1;
	}
	int r = mt && (config_json_metrics(mt, &mu, e) < 0 ||
		       config_set_metrics(cfg, mu.path, mu.emit_id, mu.properties, e) < 0) ? -1 : 0;
	free(mu.properties);
	return r;
}

/* Config files are small; a bound keeps a wrong path (a disk image) from being slurped. */
#define CONFIG_FILE_MAX (1 << 20)

static char *read_small_file(const char *path, size_t *len, struct errbuf *e)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		errf(e, "%s", strerror(errno));
		return NULL;
	}
	char *buf = malloc(CONFIG_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, CONFIG_FILE_MAX + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > CONFIG_FILE_MAX;
	fclose(f);
	if (bad) {
		errf(e, "%s", !buf ? "out of memory" : n > CONFIG_FILE_MAX ? "larger than 1 MiB" :
									 "read error");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int config_json_load_file(struct vm_config *cfg, const char *path, struct errbuf *e)
{
	size_t len;
	char *text = read_small_file(path, &len, e);
	json_t *root = text ? config_json_parse(text, len, e) : NULL;
	free(text);
	/* A bad file ends the process (status 152), so cfg need not survive a refusal. */
	int r = root ? config_json_load(cfg, root, e) : -1;
	json_decref(root);
	if (r < 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		errf(e, "config file %s: %s", path, why);
	}
	return r;
}

/* emit_id and properties only when set, so a plain metrics_path prints as it always did. */
static json_t *json_dump_metrics(const struct vm_config *cfg)
{
	json_t *m = json_pack("{s:s}", "metrics_path", cfg->metrics_path);
	if (m && cfg->metrics_emit_id)
		json_object_set_new(m, "emit_id", json_true());
	if (m && cfg->metrics_properties)
		json_object_set_new(m, "properties",
				    json_loads(cfg->metrics_properties, 0, NULL));
	return m;
}

/* ---- cpu-config ---- */

/* A number: a JSON integer, or a string in hex (0x), binary (0b) or decimal. */
static int json_number_any(const json_t *v, const char *where, uint64_t max, uint64_t *out,
			   struct errbuf *e)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max)
		return *out = (uint64_t)json_integer_value(v), 0;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	int base = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 :
		   s && s[0] == '0' && (s[1] == 'b' || s[1] == 'B') ? 2 : 10;
	char *end;
	errno = 0;
	unsigned long long n = s && *s ? strtoull(s + (base == 10 ? 0 : 2), &end, base) : 0;
	if (!s || !*s || errno || *end || s[0] == '-' || n > max)
		return errf(e, "%s: expected a number up to 0x%llx (integer, or \"0x...\", "
			    "\"0b...\" or decimal text)", where, (unsigned long long)max);
	*out = n;
	return 0;
}

/* "0b" + bits symbols of 0/1/x, '_' ignored: which bits are set (mask) to what (value). */
static int json_bitmap(const json_t *v, const char *where, unsigned bits, uint64_t *mask,
		       uint64_t *value, struct errbuf *e)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	unsigned n = 0;
	*mask = *value = 0;
	if (strncmp(s, "0b", 2) != 0)
		return errf(e, "%s: a bitmap is \"0b\" followed by %u of 0, 1, x", where, bits);
	for (s += 2; *s; s++) {
		if (*s == '_')
			continue;
		if ((*s != '0' && *s != '1' && *s != 'x') || n == bits)
			return errf(e, "%s: a bitmap is \"0b\" followed by %u of 0, 1, x", where, bits);
		uint64_t bit = 1ULL << (bits - 1 - n++);
		if (*s != 'x')
			*mask |= bit;
		if (*s == '1')
			*value |= bit;
	}
	return n == bits ? 0 : errf(e, "%s: %u bits, a bitmap here has %u", where, n, bits);
}

static const struct jfield cpuid_mod_fields[] = {
	{ "leaf", J_NUMBER, true }, { "subleaf", J_NUMBER, true }, { "flags", J_NUMBER, true },
	{ "modifiers", J_ARRAY, true },
};
static const struct jfield reg_mod_fields[] = {
	{ "register", J_STRING, true }, { "bitmap", J_STRING, true },
};
static const char *const cpuid_regs[] = { "eax", "ebx", "ecx", "edx", NULL };

static int json_cpuid_modifier(struct cpu_template *t, const json_t *o, struct errbuf *e)
{
	const char *w = "cpu-config.cpuid_modifiers";
	uint64_t leaf, sub, flags;
	size_t i;
	const json_t *m;
	if (JCHECK(o, w, cpuid_mod_fields, e) < 0 ||
	    json_number_any(json_object_get(o, "leaf"), "cpu-config.cpuid_modifiers.leaf",
			    UINT32_MAX, &leaf, e) < 0 ||
	    json_number_any(json_object_get(o, "subleaf"), "cpu-config.cpuid_modifiers.subleaf",
			    UINT32_MAX, &sub, e) < 0 ||
	    json_number_any(json_object_get(o, "flags"), "cpu-config.cpuid_modifiers.flags",
			    KVM_CPUID_FLAG_SIGNIFCANT_INDEX, &flags, e) < 0)
		return -1;
	json_array_foreach(json_object_get(o, "modifiers"), i, m) {
		int reg;
		uint64_t mask, value;
		if (t->ncpuid == CPU_TEMPLATE_MAX_CPUID)
			return errf(e, "%s: more than %d register modifiers", w, CPU_TEMPLATE_MAX_CPUID);
		if (JCHECK(m, "cpu-config.cpuid_modifiers.modifiers", reg_mod_fields, e) < 0 ||
		    jenum(m, "cpu-config.cpuid_modifiers.modifiers", "register", cpuid_regs, &reg, e) < 0 ||
		    json_bitmap(json_object_get(m, "bitmap"), "cpu-config.cpuid_modifiers.bitmap", 32,
				&mask, &value, e) < 0)
			return -1;
		t->cpuid[t->ncpuid++] = (struct cpuid_modifier){
			.leaf = (uint32_t)leaf, .subleaf = (uint32_t)sub, .flags = (uint32_t)flags,
			.reg = (enum cpuid_reg)reg, .mask = (uint32_t)mask, .value = (uint32_t)value,
		};
	}
	return 0;
}

static const struct jfield msr_mod_fields[] = {
	{ "addr", J_NUMBER, true }, { "bitmap", J_STRING, true },
};

static int json_msr_modifier(struct cpu_template *t, const json_t *o, struct errbuf *e)
{
	uint64_t addr;
	struct msr_modifier *m = &t->msrs[t->nmsrs];
	if (t->nmsrs == CPU_TEMPLATE_MAX_MSRS)
		return errf(e, "cpu-config.msr_modifiers: more than %d", CPU_TEMPLATE_MAX_MSRS);
	if (JCHECK(o, "cpu-config.msr_modifiers", msr_mod_fields, e) < 0 ||
	    json_number_any(json_object_get(o, "addr"), "cpu-config.msr_modifiers.addr",
			    UINT32_MAX, &addr, e) < 0 ||
	    json_bitmap(json_object_get(o, "bitmap"), "cpu-config.msr_modifiers.bitmap", 64,
			&m->mask, &m->value, e) < 0)
		return -1;
	m->addr = (uint32_t)addr;
	t->nmsrs++;
	return 0;
}

/* "N": KVM must have capability N; "!N": Firecracker's "not needed", ignored here. */
static int json_kvm_cap(struct cpu_template *t, const json_t *v, struct errbuf *e)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	bool neg = s[0] == '!';
	char *end;
	errno = 0;
	long n = strtol(s + neg, &end, 10);
	if (!s[neg] || *end || errno || n < 0 || n > INT32_MAX)
		return errf(e, "cpu-config.kvm_capabilities: '%.32s' is not N or !N", s);
	if (t->ncaps == CPU_TEMPLATE_MAX_CAPS)
		return errf(e, "cpu-config.kvm_capabilities: more than %d", CPU_TEMPLATE_MAX_CAPS);
	t->caps[t->ncaps++] = neg ? ~(int32_t)n : (int32_t)n;
	return 0;
}

static const struct jfield cpu_config_fields[] = {
	{ "kvm_capabilities", J_ARRAY, false }, { "cpuid_modifiers", J_ARRAY, false },
	{ "msr_modifiers", J_ARRAY, false },	 { "reg_modifiers", J_ARRAY, false },
	{ "vcpu_features", J_ARRAY, false },
};

int config_json_cpu_config(struct vm_config *cfg, const json_t *body, struct errbuf *e)
{
	static struct cpu_template t; /* large; filled whole, then copied (the event thread) */
	size_t i;
	const json_t *v;
	memset(&t, 0, sizeof(t));
	if (JCHECK(body, "cpu-config", cpu_config_fields, e) < 0)
		return -1;
	if (json_array_size(json_object_get(body, "reg_modifiers")) ||
	    json_array_size(json_object_get(body, "vcpu_features")))
		return errf(e, "cpu-config: reg_modifiers and vcpu_features are for ARM hosts");
	json_array_foreach(json_object_get(body, "kvm_capabilities"), i, v)
		if (json_kvm_cap(&t, v, e) < 0)
			return -1;
	json_array_foreach(json_object_get(body, "cpuid_modifiers"), i, v)
		if (json_cpuid_modifier(&t, v, e) < 0)
			return -1;
	json_array_foreach(json_object_get(body, "msr_modifiers"), i, v)
		if (json_msr_modifier(&t, v, e) < 0)
			return -1;
	config_set_cpu_template(cfg, &t);
	return 0;
}

/* A bitmap back as text: bits symbols, 'x' where the template leaves the bit. */
static json_t *json_dump_bitmap(uint64_t mask, uint64_t value, unsigned bits)
{
	char s[2 + 64 + 1] = "0b";
	for (unsigned i = 0; i < bits; i++) {
		uint64_t bit = 1ULL << (bits - 1 - i);
		s[2 + i] = !(mask & bit) ? 'x' : (value & bit) ? '1' : '0';
	}
	s[2 + bits] = '\0';
	return json_string(s);
}

static json_t *json_dump_cpu_config(const struct cpu_template *t)
{
	json_t *caps = json_array(), *cpuid = json_array(), *msrs = json_array();
	char buf[24];
	for (unsigned i = 0; i < t->ncaps; i++) {
		snprintf(buf, sizeof(buf), t->caps[i] < 0 ? "!%d" : "%d",
			 t->caps[i] < 0 ? ~t->caps[i] : t->caps[i]);
		json_array_append_new(caps, json_string(buf));
	}
	for (unsigned i = 0; i < t->ncpuid; i++) { /* one entry per register modifier */
		const struct cpuid_modifier *m = &t->cpuid[i];
		json_t *mod = json_pack("{s:s,s:o}", "register", cpuid_regs[m->reg], "bitmap",
					json_dump_bitmap(m->mask, m->value, 32));
		json_array_append_new(cpuid, json_pack("{s:I,s:I,s:I,s:[o]}", "leaf",
						       (json_int_t)m->leaf, "subleaf",
						       (json_int_t)m->subleaf, "flags",
						       (json_int_t)m->flags, "modifiers", mod));
	}
	for (unsigned i = 0; i < t->nmsrs; i++)
		json_array_append_new(msrs, json_pack("{s:I,s:o}", "addr", (json_int_t)t->msrs[i].addr,
						      "bitmap", json_dump_bitmap(t->msrs[i].mask,
										 t->msrs[i].value, 64)));
	return json_pack("{s:o,s:o,s:o}", "kvm_capabilities", caps, "cpuid_modifiers", cpuid,
			 "msr_modifiers", msrs);
}

json_t *config_json_dump(const struct vm_config *cfg)
{
	json_t *boot = json_pack("{s:s}", "kernel_image_path",
				 cfg->kernel_path ? cfg->kernel_path : "");
	json_t *drives = json_array(), *nets = json_array();
	if (boot && cfg->initrd_path)
		json_object_set_new(boot, "initrd_path", json_string(cfg->initrd_path));
	if (boot && cfg->cmdline)
		json_object_set_new(boot, "boot_args", json_string(cfg->cmdline));
	for (unsigned i = 0; i < cfg->ndrives; i++)
		json_array_append_new(drives, json_dump_drive(&cfg->drives[i]));
	for (unsigned i = 0; i < cfg->nnets; i++)
		json_array_append_new(nets, json_dump_net(&cfg->nets[i]));
	json_t *root = json_pack("{s:o,s:o,s:o,s:o,s:o}", "boot-source", boot, "drives", drives,
				 "machine-config", config_json_dump_machine(cfg),
				 "network-interfaces", nets, "logger",
				 json_dump_logger(&cfg->logger));
	if (root && cfg->metrics_path)
		json_object_set_new(root, "metrics", json_dump_metrics(cfg));
	if (root && cfg->has_cpu_template && cfg->cpu_template_static == CPU_TEMPLATE_NONE)
		json_object_set_new(root, "cpu-config", json_dump_cpu_config(&cfg->cpu_template));
	/* Every key of Firecracker's layout, as it prints them: what ember lacks is null. */
	static const char *const absent[] = { "balloon", "vsock", "entropy", "mmds-config",
					      "memory-hotplug", "cpu-config" };
	for (size_t i = 0; root && i < ARRAY_SIZE(absent); i++)
		if (!json_object_get(root, absent[i]))
			json_object_set_new(root, absent[i], json_null());
	if (root)
		json_object_set_new(root, "pmem", json_array());
	return root;
}

/* ---- snapshots ---- */

static const char *const snapshot_types[] = { "Full", "Diff", NULL };
static const struct jfield snapshot_create_fields[] = {
	{ "snapshot_path", J_STRING, true }, { "mem_file_path", J_STRING, true },
	{ "snapshot_type", J_STRING, false },
};

int config_json_snapshot_create(const json_t *body, struct snapshot_create_request *r,
				struct errbuf *e)
{
	const char *w = "snapshot-create";
	int type = 0;
	*r = (struct snapshot_create_request){ 0 };
	if (JCHECK(body, w, snapshot_create_fields, e) < 0 ||
	    jstr_clean(body, w, "snapshot_path", &r->snapshot_path, e) < 0 ||
	    jstr_clean(body, w, "mem_file_path", &r->mem_path, e) < 0 ||
	    (jget(body, "snapshot_type") && jenum(body, w, "snapshot_type", snapshot_types, &type, e) < 0))
		return -1;
	if (!*r->snapshot_path || !*r->mem_path)
		return errf(e, "%s: snapshot_path and mem_file_path must not be empty", w);
	r->diff = type == 1;
	return 0;
}

static const struct jfield mem_backend_fields[] = {
	{ "backend_type", J_STRING, true }, { "backend_path", J_STRING, true },
};
static const char *const backend_types[] = { "File", "Uffd", NULL };

static int json_mem_backend(const json_t *mb, struct snapshot_load_request *r, struct errbuf *e)
{
	const char *w = "snapshot-load.mem_backend";
	int type;
	if (JCHECK(mb, w, mem_backend_fields, e) < 0 ||
	    jenum(mb, w, "backend_type", backend_types, &type, e) < 0 ||
	    jstr_clean(mb, w, "backend_path", &r->mem_path, e) < 0)
		return -1;
	if (type == 1)
		return errf(e, "%s.backend_type: ember has no Uffd backend (use File)", w);
	return 0;
}

/* One kind of override: an array of {ID_FIELD, HOST_FIELD} objects. */
struct override_kind {
	const char *where, *id_field, *host_field;
};
static const struct override_kind net_override_kind = {
	"snapshot-load.network_overrides", "iface_id", "host_dev_name"
};
static const struct override_kind drive_override_kind = {
	"snapshot-load.drive_overrides", "drive_id", "path_on_host"
};

static int json_overrides(const json_t *arr, const struct override_kind *k,
			  struct device_override *out, unsigned *n, struct errbuf *e)
{
	const struct jfield fields[] = { { k->id_field, J_STRING, true },
					 { k->host_field, J_STRING, true } };
	size_t i;
	const json_t *o;
	if (json_array_size(arr) > CONFIG_MAX_DEVICES)
		return errf(e, "%s: more than %d entries", k->where, CONFIG_MAX_DEVICES);
	json_array_foreach(arr, i, o) {
		struct device_override *ov = &out[(*n)++];
		if (jcheck(o, k->where, fields, ARRAY_SIZE(fields), e) < 0 ||
		    jstr_clean(o, k->where, k->id_field, &ov->id, e) < 0 ||
		    jstr_clean(o, k->where, k->host_field, &ov->host, e) < 0)
			return -1;
	}
	return 0;
}

static const char *const snapshot_huge_pages[] = { "Snapshot", "None", "Transparent", "2M",
						   NULL };
static const struct jfield snapshot_load_fields[] = {
	{ "snapshot_path", J_STRING, true },	  { "mem_backend", J_OBJECT, false },
	{ "mem_file_path", J_STRING, false },	  { "track_dirty_pages", J_BOOL, false },
	{ "enable_diff_snapshots", J_BOOL, false }, { "resume_vm", J_BOOL, false },
	{ "network_overrides", J_ARRAY, false },   { "clock_realtime", J_BOOL, false },
	{ "huge_pages", J_STRING, false },	   { "drive_overrides", J_ARRAY, false },
};

int config_json_snapshot_load(const json_t *body, struct snapshot_load_request *r,
			      struct errbuf *e)
{
	const char *w = "snapshot-load";
	const json_t *mb = jget(body, "mem_backend"), *ov = jget(body, "network_overrides"),
		     *dov = jget(body, "drive_overrides");
	int huge = 0;
	memset(r, 0, sizeof(*r));
	if (JCHECK(body, w, snapshot_load_fields, e) < 0 ||
	    jstr_clean(body, w, "snapshot_path", &r->snapshot_path, e) < 0)
		return -1;
	if (!mb == !jget(body, "mem_file_path"))
		return errf(e, "%s: exactly one of mem_backend and mem_file_path is needed", w);
	if ((mb ? json_mem_backend(mb, r, e) : jstr_clean(body, w, "mem_file_path", &r->mem_path, e)) < 0 ||
	    (ov && json_overrides(ov, &net_override_kind, r->net_overrides, &r->nnet_overrides,
				  e) < 0) ||
	    (dov && json_overrides(dov, &drive_override_kind, r->drive_overrides,
				   &r->ndrive_overrides, e) < 0) ||
	    (jget(body, "huge_pages") && jenum(body, w, "huge_pages", snapshot_huge_pages, &huge, e) < 0))
		return -1;
	if (huge > 1) /* the memory file is mapped as it is: ordinary pages */
		return errf(e, "%s.huge_pages: %s needs a Uffd backend; a File backend is mapped "
			    "with ordinary pages (Snapshot or None)", w, snapshot_huge_pages[huge]);
	if (!*r->snapshot_path || !*r->mem_path)
		return errf(e, "%s: snapshot_path and the memory file path must not be empty", w);
	r->track_dirty_pages = jbool(body, "track_dirty_pages", false) ||
			       jbool(body, "enable_diff_snapshots", false);
	r->resume_vm = jbool(body, "resume_vm", false);
	r->clock_realtime = jbool(body, "clock_realtime", false);
	return 0;
}

char *config_json_snapshot_text(const struct vm_config *cfg)
{
	json_t *all = config_json_dump(cfg);
	json_t *keep = json_object();
	static const char *const keys[] = { "boot-source", "machine-config", "drives",
					    "network-interfaces" };
	for (size_t i = 0; all && keep && i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(all, keys[i]);
		if (v)
			json_object_set(keep, keys[i], v);
	}
	char *text = all && keep ? json_dumps(keep, JSON_COMPACT) : NULL;
	json_decref(all);
	json_decref(keep);
	return text;
}

/* Each override names a device of the snapshot (in section key), which then gets its
   own host side. */
static int json_apply_overrides(json_t *root, const char *key, const struct override_kind *k,
				const struct device_override *ov, unsigned n, struct errbuf *e)
{
	json_t *devices = json_object_get(root, key);
	for (unsigned i = 0; i < n; i++) {
		size_t j;
		json_t *d;
		bool found = false;
		json_array_foreach(devices, j, d) {
			const char *id = jstr(d, k->id_field);
			if (id && strcmp(id, ov[i].id) == 0) {
				json_object_set_new(d, k->host_field, json_string(ov[i].host));
				found = true;
			}
		}
		if (!found)
			return errf(e, "%s: the snapshot has no %s '%.64s'", k->where,
				    k == &net_override_kind ? "network interface" : "drive", ov[i].id);
	}
	return 0;
}

int config_json_snapshot_apply(struct vm_config *cfg, const char *text, size_t len,
			       const struct snapshot_load_request *r, struct errbuf *e)
{
	json_t *root = config_json_parse(text, len, e);
	if (!root)
		return -1;
	struct vm_config tmp; /* cfg changes only when all of it was taken */
	config_init(&tmp);
	int rc = json_apply_overrides(root, "network-interfaces", &net_override_kind,
				      r->net_overrides, r->nnet_overrides, e) < 0 ||
		 json_apply_overrides(root, "drives", &drive_override_kind, r->drive_overrides,
				      r->ndrive_overrides, e) < 0 ?
		 -1 : config_json_load(&tmp, root, e);
	if (rc == 0)
		config_take_vm(cfg, &tmp);
	config_free(&tmp);
	json_decref(root);
	if (rc < 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		return errf(e, "snapshot: its configuration: %s", why);
	}
	return 0;
}
