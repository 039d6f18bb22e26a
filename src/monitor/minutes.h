/* minutes.h: one device's samples summed over the current minute, becoming a store row when the
 * minute ends; and store rows folded into window statistics. */
#ifndef GPUCTL_MONITOR_MINUTES_H
#define GPUCTL_MONITOR_MINUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/history.h"
#include "store/store.h"

struct minute_acc {
    int64_t minute; /* unix seconds at the minute's start; 0 before the first sample */
    unsigned samples;
    size_t n_util, n_memory, n_temperature, n_power;
    double util_sum, memory_sum, temperature_sum, power_sum_w;
    unsigned util_max;
    uint64_t memory_max;
    int temperature_max;
    double power_max_w;
};

/* Adds a sample to acc, which must be for the sample's minute (see minute_of()). */
void minute_acc_add(struct minute_acc *acc, const struct hsample *s);

/* The minute (unix seconds at its start) of a time in unix milliseconds. */
int64_t minute_of(int64_t t_ms);

/* The store row of acc for device key; returns false when acc holds no samples. Empties acc. */
bool minute_acc_take(struct minute_acc *acc, const char *key, struct minute_row *row);

/* Folds a minute row into statistics being gathered as running sums: st's averages hold sums
 * until hstats_finish() divides them. */
void hstats_add_minute(struct hstats *st, const struct minute_row *r);

/* Folds the finished statistics `part` into running sums st. */
void hstats_add_stats(struct hstats *st, const struct hstats *part);

/* Turns st's sums into averages. */
void hstats_finish(struct hstats *st);

#endif
