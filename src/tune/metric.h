/* metric.h: a trial's throughput as the program prints it: samples/s, img/s, it/s (times the
 * batch size), s/it, Hugging Face's train_samples_per_second, or what --metric-regex says. */
#ifndef GPUCTL_TUNE_METRIC_H
#define GPUCTL_TUNE_METRIC_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define METRIC_BUILTINS 4

/* The patterns to look for: the built-in ones, or one of the user's. */
struct metric {
    bool custom;
    regex_t re;                       /* with custom */
    regex_t builtin[METRIC_BUILTINS]; /* without */
};

/* The last throughput seen in a trial's output. Zero it before the first line. */
struct metric_value {
    bool found;
    double per_second; /* samples/s (or the custom metric as printed) */
    int rank;          /* which pattern gave it: lower wins over higher for the rest of a trial */
    const char *unit;  /* "samples/s", "it/s", ... as printed (static) */
};

/* Compiles the user's POSIX extended regex re, or the built-in patterns when re is NULL.
 * Returns 0, or GPUCTL_EINVAL with msg saying what is wrong with re. */
int metric_init(struct metric *m, const char *re, char *msg, size_t len);

/* Frees what metric_init() compiled. */
void metric_release(struct metric *m);

/* Reads one line of output of a trial at batch size batch into *v: the last number on it that a
 * pattern matches (the regex's first group, else its whole match; it/s times batch, s/it as
 * batch / value). A line matching no pattern, or only a pattern ranked below the one that gave
 * *v, changes nothing. */
void metric_scan_line(const struct metric *m, const char *line, unsigned batch,
                      struct metric_value *v);

#endif
