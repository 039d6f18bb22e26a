/* log.h: leveled log lines on stderr ("gpuctl: debug: ..."). */
#ifndef GPUCTL_UTIL_LOG_H
#define GPUCTL_UTIL_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the level; until called, the level comes from $GPUCTL_LOG_LEVEL (error, warn, info,
 * debug), default warn. */
void log_set_level(enum log_level level);

/* Parses "error", "warn", "info", "debug". Returns 0 or -1 for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

/* The level in force, and its name as log_level_parse() reads it. */
enum log_level log_get_level(void);
const char *log_level_name(enum log_level level);

/* Writes "gpuctl: <level>: <message>" to stderr when level is at or above the current level;
 * a message longer than 1 KiB is cut. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
