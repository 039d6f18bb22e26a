/* duration.h: lengths of time as people write them: "300", "1.5s", "500ms", "5m", "1h". */
#ifndef GPUCTL_UTIL_DURATION_H
#define GPUCTL_UTIL_DURATION_H

/* What duration_parse() accepts, as a phrase for error messages. */
extern const char duration_syntax[];

/* Parses a non-negative number of seconds with an optional unit ms, s, m, h or d. Returns 0 and
 * sets *seconds, or GPUCTL_EINVAL. */
int duration_parse(const char *s, double *seconds);

#endif
