/* clock.h: the two clocks the daemon reads: wall time for what it shows, monotonic time for
 * intervals and deadlines. */
#ifndef GPUCTL_UTIL_CLOCK_H
#define GPUCTL_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Unix milliseconds (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t clock_mono_ms(void);

/* Seconds of CLOCK_MONOTONIC, to the nanosecond, for timing short work. */
double clock_mono_s(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now, for pthread_cond_timedwait on a condition
 * variable made with pthread_condattr_setclock(CLOCK_MONOTONIC). */
struct timespec clock_mono_after(int64_t ms);

/* The CLOCK_REALTIME time ms milliseconds from now, for pthread_timedjoin_np and friends. */
struct timespec clock_wall_after(int64_t ms);

/* Writes t_ms (unix milliseconds) as ISO 8601 UTC, "2026-11-21T09:30:00.125Z", into out
 * (size len >= 25). */
void clock_iso8601(int64_t t_ms, char *out, size_t len);

#endif
