/* history.h: the last hour (by default) of every device's samples, compact, in one ring per
 * device, and statistics over a window of it. Thread-safe: the sampler adds, requests read. */
#ifndef GPUCTL_MONITOR_HISTORY_H
#define GPUCTL_MONITOR_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

/* One sample of one device: 24 bytes, so an hour of 8 GPUs at 1 s is 675 KiB. */
struct hsample {
    int64_t t_ms;          /* unix milliseconds */
    uint32_t mem_used_mib; /* HS_MEMORY */
    uint32_t power_mw;     /* HS_POWER */
    int16_t temperature_c; /* HS_TEMPERATURE */
    uint8_t util;          /* HS_UTIL, percent */
    uint8_t flags;         /* HS_* */
};

#define HS_UTIL        0x1u
#define HS_MEMORY      0x2u
#define HS_TEMPERATURE 0x4u
#define HS_POWER       0x8u

/* Averages and peaks over a window; n_* counts the samples that had that value, and an average
 * or peak means nothing when its count is 0. */
struct hstats {
    size_t samples;
    int64_t first_ms, last_ms;
    size_t n_util, n_memory, n_temperature, n_power;
    double util_avg, memory_avg_mib, temperature_avg, power_avg_mw;

    unsigned util_peak;
    uint32_t memory_peak_mib, power_peak_mw;
    int temperature_peak;
};

struct history;

/* Rings for ndev devices of capacity samples each; NULL when out of memory. */
struct history *history_new(size_t ndev, size_t capacity);

/* history_free(NULL) does nothing. */
void history_free(struct history *h);

/* The compact sample of a device at t_ms. */
struct hsample hsample_of(const struct gpuctl_device *d, int64_t t_ms);

/* Adds a sample to device dev's ring, dropping its oldest when full. */
void history_add(struct history *h, size_t dev, const struct hsample *s);

/* Fills *out with the statistics of device dev's samples taken at since_ms or later. */
void history_stats(struct history *h, size_t dev, int64_t since_ms, struct hstats *out);

/* When device dev's oldest sample was taken (unix ms); 0 when it has none. */
int64_t history_oldest_ms(struct history *h, size_t dev);

/* How many seconds of samples the rings hold at most, at interval_s between samples. */

double history_span(const struct history *h, double interval_s);

#endif
