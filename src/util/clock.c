/* clock.c: wall and monotonic milliseconds. */
#include "util/clock.h"

#include <stdio.h>

#include "util/banned.h"

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

int64_t clock_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

double clock_mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The time on clock id ms milliseconds from now. */
static struct timespec after(clockid_t id, int64_t ms)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

struct timespec clock_mono_after(int64_t ms)
{
    return after(CLOCK_MONOTONIC, ms);
}

struct timespec clock_wall_after(int64_t ms)
{
    return after(CLOCK_REALTIME, ms);
}

void clock_iso8601(int64_t t_ms, char *out, size_t len)
{
    time_t secs = (time_t)(t_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t_ms % 1000));
}
