/* log.c: leveled log lines on stderr. */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* -1 until the level is known; then an enum log_level. */
static atomic_int current_level = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

static int level_now(void)
{
    int level = atomic_load(&current_level);
    enum log_level parsed = LOG_WARN;
    const char *env;

    if (level >= 0)
        return level;
    env = getenv("GPUCTL_LOG_LEVEL");
    if (env && log_level_parse(env, &parsed) != 0)
        parsed = LOG_WARN;
    atomic_store(&current_level, (int)parsed);
    return (int)parsed;
}

enum log_level log_get_level(void)
{
    return (enum log_level)level_now();
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "warn";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if ((int)level > level_now())
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "gpuctl: %s: %s\n", level_names[level], line);
}
