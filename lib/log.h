/*
 * The one logger. Line format follows Firecracker's so existing log tooling reads it:
 *   <ISO-8601 time with ns> [<id>:<thread>[:<LEVEL>][:<file>:<line>]] message
 * (level and origin shown on request, as Firecracker's show_level/show_log_origin).
 * Each line is a single write(2) to the log fd, so threads never interleave mid-line.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>

enum log_level { LOG_OFF = -1, LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(int fd, enum log_level level, const char *instance_id);
/* Switches to fd (closing the previous one unless it is 0-2) and sets the line format. */
void log_configure(int fd, enum log_level level, bool show_level, bool show_origin);
/* Only lines from source files whose path starts with prefix ("" or NULL: all). */
void log_set_module(const char *prefix);
/* Names the calling thread in its log lines ("main", "vcpu0", ...). */
void log_set_thread(const char *name);
bool log_writes_to_stderr(void);
bool log_enabled(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);

__attribute__((format(printf, 4, 5)))
void log_msg_at(enum log_level level, const char *file, int line, const char *fmt, ...);

#define log_msg(level, ...) log_msg_at(level, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Guest errors are reported once per site: a hostile guest must not flood the log. */
#define log_once(level, ...)                                                   \
	do {                                                                   \
		static int once_;                                              \
		if (!__atomic_exchange_n(&once_, 1, __ATOMIC_RELAXED))         \
			log_msg(level, __VA_ARGS__);                           \
	} while (0)

#endif
