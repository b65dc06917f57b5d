/*
 * The metrics sink (see metrics.h). Every group, fixed or per device, is a run of
 * metric_t; tables made from the X-macro lists give each slot its JSON name and say
 * whether it is a delta, so one writer serves them all.
 *
 * A flush snapshots every counter, formats the line into memory, writes it with one
 * write(2), and only then makes the snapshot the base of the next deltas: counts of a
 * line that could not be written are not lost, they show in the next one.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct metrics metrics;

enum field_kind {
	FIELD_DELTA, /* F(): the change since the last line */
	FIELD_VALUE, /* S(): the value as it is */
	FIELD_AGG,   /* A(): a latency aggregate ember does not measure; no slot */
	FIELD_EXTRA, /* E(): ember's own value, only with boot timing on */
};

struct field {
	const char *name;
	enum field_kind kind;
};

struct group {
	const char *name;
	const struct field *fields; /* F/S/E ones each have a metric_t slot, in struct order */
	unsigned n;
	enum metrics_dev_kind devices_after; /* their groups follow this one in the line */
};

#define FIELD_F_(name) { #name, FIELD_DELTA },
#define FIELD_S_(name) { #name, FIELD_VALUE },
#define FIELD_A_(name) { #name, FIELD_AGG },
#define FIELD_E_(name) { #name, FIELD_EXTRA },
#define FIELDS_(list) list(FIELD_F_, FIELD_S_, FIELD_A_, FIELD_E_)
#define SLOT_(name) +1
#define SLOTS_(list) list(SLOT_, SLOT_, METRICS_NO_SLOT_, SLOT_)

#define FIXED_FIELDS_(json, member, list, devs)                                           \
	static const struct field fields_##member[] = { FIELDS_(list) };
METRICS_GROUPS(FIXED_FIELDS_)
#define FIXED_GROUP_(json, member, list, devs)                                            \
	{ json, fields_##member, ARRAY_SIZE(fields_##member), devs },
static const struct group fixed_groups[] = { METRICS_GROUPS(FIXED_GROUP_) };
#define FIXED_SLOTS_(json, member, list, devs) SLOTS_(list)
_Static_assert(sizeof(struct metrics) == (0 METRICS_GROUPS(FIXED_SLOTS_)) * sizeof(metric_t),
	       "struct metrics must be a plain run of metric_t");

static const struct field block_fields[] = { FIELDS_(METRICS_BLOCK) };
static const struct field net_fields[] = { FIELDS_(METRICS_NET) };
_Static_assert(sizeof(struct metrics_block) == (0 SLOTS_(METRICS_BLOCK)) * sizeof(metric_t),
	       "struct metrics_block must be a plain run of metric_t");
_Static_assert(sizeof(struct metrics_net) == (0 SLOTS_(METRICS_NET)) * sizeof(metric_t),
	       "struct metrics_net must be a plain run of metric_t");

static const struct group dev_groups[METRICS_DEV_KINDS] = {
	[METRICS_DEV_BLOCK] = { "block", block_fields, ARRAY_SIZE(block_fields), METRICS_DEV_NONE },
	[METRICS_DEV_NET] = { "net", net_fields, ARRAY_SIZE(net_fields), METRICS_DEV_NONE },
};
/* The metric_t slots of a device kind's counters. */
static const unsigned dev_slots[METRICS_DEV_KINDS] = {
	[METRICS_DEV_BLOCK] = sizeof(struct metrics_block) / sizeof(metric_t),
	[METRICS_DEV_NET] = sizeof(struct metrics_net) / sizeof(metric_t),
};

union dev_counters {
	struct metrics_block block;
	struct metrics_net net;
};

struct dev_group {
	struct dev_group *next;
	enum metrics_dev_kind kind;
	unsigned refs;
	union dev_counters live; /* what the device bumps */
	union dev_counters snap; /* taken by the flush in progress */
	union dev_counters last; /* what the last line written counted up to */
	char id[];
};

/* Everything below, and the file, belong to the lock; `metrics` itself is atomics. */
static struct {
	pthread_mutex_t lock;
	int fd; /* -1: not configured */
	char *path;
	struct dev_group *devs; /* in registration order */
	struct metrics snap, last;
	char *id, *properties;  /* metrics_options, copied */
	bool boot_timing;       /* E() fields written */
} sink = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

/* Where counts go when a group could not be allocated. */
static union dev_counters discard;

static metric_t *slots(void *counters)
{
	return counters;
}

/* ---------------------------------------------------------------- the file */

static int open_locked(const char *path, struct errbuf *e)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return errf(e, "metrics file %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		return errf(e, "metrics file %s: not a regular file or FIFO", path);
	}
	char *copy = strdup(path);
	if (!copy) {
		close(fd);
		return errf(e, "metrics file %s: out of memory", path);
	}
	sink.fd = fd;
	sink.path = copy;
	return 0;
}

static void close_locked(void);

static int keep_options(const struct metrics_options *o, struct errbuf *e)
{
	sink.id = o && o->id ? strdup(o->id) : NULL;
	sink.properties = o && o->properties ? strdup(o->properties) : NULL;
	if ((o && o->id && !sink.id) || (o && o->properties && !sink.properties))
		return errf(e, "metrics: out of memory");
	return 0;
}

int metrics_open(const char *path, const struct metrics_options *o, struct errbuf *e)
{
	pthread_mutex_lock(&sink.lock);
	int ret = sink.fd >= 0 ? errf(e, "metrics are already configured") : open_locked(path, e);
	if (ret == 0 && keep_options(o, e) < 0) {
		close_locked();
		ret = -1;
	}
	pthread_mutex_unlock(&sink.lock);
	return ret;
}

void metrics_write_boot_timing(bool on)
{
	pthread_mutex_lock(&sink.lock);
	sink.boot_timing = on;
	pthread_mutex_unlock(&sink.lock);
}

bool metrics_configured(void)
{
	pthread_mutex_lock(&sink.lock);
	bool yes = sink.fd >= 0;
	pthread_mutex_unlock(&sink.lock);
	return yes;
}

static void close_locked(void)
{
	if (sink.fd >= 0)
		close(sink.fd);
	sink.fd = -1;
	free(sink.path);
	free(sink.id);
	free(sink.properties);
	sink.path = sink.id = sink.properties = NULL;
}

void metrics_close(void)
{
	pthread_mutex_lock(&sink.lock);
	close_locked();
	pthread_mutex_unlock(&sink.lock);
}

/* ---------------------------------------------------------------- the line */

static void load(metric_t *to, const metric_t *from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

static void add(metric_t *sum, const metric_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum[i] += x[i];
}

static void take_snapshots(void)
{
	load(slots(&sink.snap), slots(&metrics), sizeof(metrics) / sizeof(metric_t));
	for (struct dev_group *g = sink.devs; g; g = g->next)
		load(slots(&g->snap), slots(&g->live), dev_slots[g->kind]);
}

static void commit_snapshots(void)
{
	sink.last = sink.snap;
	for (struct dev_group *g = sink.devs; g; g = g->next)
		g->last = g->snap;
}

/* Ids are [A-Za-z0-9_-]; anything else is written as '_' so the line stays JSON. */
static bool id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* ,"<name>[_<id>]":{"field":N,...}; returns the metric_t slots it read. */
static unsigned put_group(FILE *f, const struct group *gr, const char *id, const metric_t *now,
			  const metric_t *last)
{
	fprintf(f, ",\"%s", gr->name);
	if (id) {
		fputc('_', f);
		for (const char *c = id; *c; c++)
			fputc(id_char_ok(*c) ? *c : '_', f);
	}
	fputs("\":{", f);
	unsigned slot = 0;
	const char *sep = "";
	for (unsigned i = 0; i < gr->n; i++) {
		const struct field *fd = &gr->fields[i];
		if (fd->kind == FIELD_AGG) {
			fprintf(f, "%s\"%s\":{\"min_us\":0,\"max_us\":0,\"sum_us\":0}", sep, fd->name);
		} else {
			uint64_t v = fd->kind == FIELD_DELTA ? now[slot] - last[slot] : now[slot];
			slot++;
			if (fd->kind == FIELD_EXTRA && !sink.boot_timing)
				continue;
			fprintf(f, "%s\"%s\":%" PRIu64, sep, fd->name, v);
		}
		sep = ",";
	}
	fputc('}', f);
	return slot;
}

/* Each device of a kind, then the kind's sum: sums of deltas are deltas of sums. */
static void put_devices(FILE *f, enum metrics_dev_kind kind)
{
	const struct group *gr = &dev_groups[kind];
	union dev_counters sum_now, sum_last;
	memset(&sum_now, 0, sizeof(sum_now));
	memset(&sum_last, 0, sizeof(sum_last));
	for (struct dev_group *g = sink.devs; g; g = g->next) {
		if (g->kind != kind)
			continue;
		put_group(f, gr, g->id, slots(&g->snap), slots(&g->last));
		add(slots(&sum_now), slots(&g->snap), dev_slots[kind]);
		add(slots(&sum_last), slots(&g->last), dev_slots[kind]);
	}
	put_group(f, gr, NULL, slots(&sum_now), slots(&sum_last));
}

static uint64_t utc_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put_line(FILE *f)
{
	fprintf(f, "{\"utc_timestamp_ms\":%" PRIu64, utc_ms());
	if (sink.id) /* [A-Za-z0-9_-] (config_check_id): nothing to escape */
		fprintf(f, ",\"id\":\"%s\"", sink.id);
	if (sink.properties)
		fprintf(f, ",\"properties\":%s", sink.properties);
	const metric_t *now = slots(&sink.snap), *last = slots(&sink.last);
	for (size_t i = 0; i < ARRAY_SIZE(fixed_groups); i++) {
		unsigned n = put_group(f, &fixed_groups[i], NULL, now, last);
		now += n;
		last += n;
		if (fixed_groups[i].devices_after != METRICS_DEV_NONE)
			put_devices(f, fixed_groups[i].devices_after);
	}
	fputs("}\n", f);
}

static int write_line(const char *line, size_t len, struct errbuf *e)
{
	ssize_t n;
	do
		n = write(sink.fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		return errf(e, "metrics file %s: %s", sink.path, strerror(errno));
	return errf(e, "metrics file %s: short write (%zd of %zu bytes)", sink.path, n, len);
}

static int flush_locked(struct errbuf *e)
{
	char *line = NULL;
	size_t len = 0;
	take_snapshots();
	FILE *f = open_memstream(&line, &len);
	int ret;
	if (!f) {
		ret = errf(e, "metrics: out of memory");
	} else {
		put_line(f);
		ret = fclose(f) != 0 ? errf(e, "metrics: out of memory") : write_line(line, len, e);
	}
	free(line);
	if (ret < 0)
		METRIC_INC(metrics.logger.metrics_fails);
	else
		commit_snapshots();
	return ret;
}

int metrics_flush(struct errbuf *e)
{
	pthread_mutex_lock(&sink.lock);
	int ret = sink.fd >= 0 ? flush_locked(e) : 0;
	pthread_mutex_unlock(&sink.lock);
	return ret;
}

/*
 * From the SIGSYS handler, on the way out: the one fact that matters, without the lock
 * (the trapped thread may hold it) or malloc (it may have trapped inside malloc).
 */
void metrics_flush_fault(void)
{
	int fd = sink.fd;
	if (fd < 0)
		return;
	char line[128];
	uint64_t faults = __atomic_load_n(&metrics.seccomp.num_faults, __ATOMIC_RELAXED);
	int n = snprintf(line, sizeof(line),
			 "{\"utc_timestamp_ms\":%" PRIu64 ",\"seccomp\":{\"num_faults\":%" PRIu64 "}}\n",
			 utc_ms(), faults);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(fd, line, (size_t)n);
}

/* ---------------------------------------------------------------- device groups */

static union dev_counters *dev_register(enum metrics_dev_kind kind, const char *id)
{
	pthread_mutex_lock(&sink.lock);
	struct dev_group **link = &sink.devs, *g;
	for (; (g = *link) != NULL; link = &g->next)
		if (g->kind == kind && strcmp(g->id, id) == 0)
			break;
	if (g) {
		g->refs++;
	} else if ((g = calloc(1, sizeof(*g) + strlen(id) + 1)) != NULL) {
		g->kind = kind;
		g->refs = 1;
		strcpy(g->id, id);
		*link = g;
	}
	pthread_mutex_unlock(&sink.lock);
	if (!g) {
		log_warn("metrics: out of memory for %s '%s'; its counters are not written",
			 dev_groups[kind].name, id);
		return &discard;
	}
	return &g->live;
}

static void dev_unregister(const void *live)
{
	pthread_mutex_lock(&sink.lock);
	for (struct dev_group **link = &sink.devs, *g; (g = *link) != NULL; link = &g->next) {
		if (&g->live != live)
			continue;
		if (--g->refs == 0) {
			*link = g->next;
			free(g);
		}
		break;
	}
	pthread_mutex_unlock(&sink.lock);
}

struct metrics_block *metrics_block_register(const char *drive_id)
{
	return &dev_register(METRICS_DEV_BLOCK, drive_id)->block;
}

void metrics_block_unregister(struct metrics_block *m)
{
	if (m)
		dev_unregister(m);
}

struct metrics_net *metrics_net_register(const char *iface_id)
{
	return &dev_register(METRICS_DEV_NET, iface_id)->net;
}

void metrics_net_unregister(struct metrics_net *m)
{
	if (m)
		dev_unregister(m);
}

void metrics_reset_for_test(void)
{
	pthread_mutex_lock(&sink.lock);
	close_locked();
	while (sink.devs) {
		struct dev_group *g = sink.devs;
		sink.devs = g->next;
		free(g);
	}
	memset(&metrics, 0, sizeof(metrics));
	memset(&sink.snap, 0, sizeof(sink.snap));
	memset(&sink.last, 0, sizeof(sink.last));
	memset(&discard, 0, sizeof(discard));
	sink.boot_timing = false;
	pthread_mutex_unlock(&sink.lock);
}
