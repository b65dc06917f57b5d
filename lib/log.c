#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

static struct {
	int fd;
	enum log_level level;
	bool show_level, show_origin;
	char module[65]; /* Firecracker's module filter: a source path prefix, "" for all */
	char id[65];
} logger = { .fd = 2, .level = LOG_WARN, .id = "anonymous-instance" };

static __thread char thread_name[16] = "main";

void log_init(int fd, enum log_level level, const char *instance_id)
{
	logger.fd = fd;
	logger.level = level;
	if (instance_id)
		snprintf(logger.id, sizeof(logger.id), "%s", instance_id);
}

void log_configure(int fd, enum log_level level, bool show_level, bool show_origin)
{
	int old = logger.fd;
	logger.fd = fd;
	logger.level = level;
	logger.show_level = show_level;
	logger.show_origin = show_origin;
	if (old > 2 && old != fd)
		close(old);
}

void log_set_module(const char *prefix)
{
	snprintf(logger.module, sizeof(logger.module), "%s", prefix ? prefix : "");
}

bool log_writes_to_stderr(void)
{
	return logger.fd == STDERR_FILENO;
}

void log_set_thread(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

bool log_enabled(enum log_level level)
{
	return logger.level != LOG_OFF && level <= logger.level;
}

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

int log_level_parse(const char *s, enum log_level *out)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "Off", LOG_OFF }, { "Error", LOG_ERROR }, { "Warning", LOG_WARN },
		{ "Warn", LOG_WARN }, { "Info", LOG_INFO }, { "Debug", LOG_DEBUG },
		{ "Trace", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

/* "[id:thread[:LEVEL][:file:line]] " */
static int log_tag(char *out, size_t cap, enum log_level level, const char *file, int line)
{
	const char *base = strrchr(file, '/');
	int n = snprintf(out, cap, "[%s:%s", logger.id, thread_name);
	if (logger.show_level && n >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ":%s", level_names[level]);
	if (logger.show_origin && n >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ":%s:%d", base ? base + 1 : file, line);
	if (n >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, "] ");
	return n;
}

struct utc_time {
	long long year;
	unsigned month, day, hour, min, sec;
};

/*
 * Seconds since the epoch as a UTC date (Howard Hinnant's days_from_civil, inverted).
 * Not gmtime_r: glibc's reads /etc/localtime on first use, which is absent in the jail
 * and forbidden under seccomp, and the SIGSYS handler logs through here.
 */
static void log_utc(long long secs, struct utc_time *t)
{
	long long days = secs / 86400, rem = secs % 86400;
	if (rem < 0)
		rem += 86400, days--;
	t->hour = (unsigned)(rem / 3600), t->min = (unsigned)(rem / 60 % 60);
	t->sec = (unsigned)(rem % 60);
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	long long doe = z - era * 146097;                                  /* [0, 146096] */
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
	long long mp = (5 * doy + 2) / 153;                                 /* [0, 11] */
	t->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	t->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	t->year = yoe + era * 400 + (t->month <= 2);
}

void log_msg_at(enum log_level level, const char *file, int line_no, const char *fmt, ...)
{
	if (!log_enabled(level) ||
	    (logger.module[0] && strncmp(file, logger.module, strlen(logger.module)) != 0))
		return;

	char line[1024], tag[160];
	struct timespec ts;
	struct utc_time t;
	clock_gettime(CLOCK_REALTIME, &ts);
	log_utc(ts.tv_sec, &t);
	if (log_tag(tag, sizeof(tag), level, file, line_no) < 0)
		return;
	int n = snprintf(line, sizeof(line), "%04lld-%02u-%02uT%02u:%02u:%02u.%09ldZ %s", t.year,
			 t.month, t.day, t.hour, t.min, t.sec, ts.tv_nsec, tag);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(logger.fd, line, len) != (ssize_t)len)
		METRIC_INC(metrics.logger.missed_log_count); /* nowhere else to report it */
}
