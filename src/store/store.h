/* store.h: the daemon's durable state in SQLite (WAL): per-minute aggregates of the samples,
 * kept 7 days. Safe to use from several threads: the sampler writes, requests read, each on
 * its own connection. */
#ifndef GPUCTL_STORE_STORE_H
#define GPUCTL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* A GPU's samples over one minute. */
struct minute_row {
    char uuid[96];
    int64_t minute; /* unix seconds at the minute's start */
    unsigned samples;
    bool has_util;
    double util_avg; /* percent */
    unsigned util_max;
    bool has_memory;
    double memory_used_avg; /* bytes */
    uint64_t memory_used_max;
    bool has_temperature;
    double temperature_avg;
    int temperature_max;

    bool has_power;
    double power_avg_w;
    double power_max_w;
};

/* Opens (creating it and the directory as needed) <dir>/gpuctl.db and brings its schema up to
 * date. Returns 0 and sets *out, or GPUCTL_EIO with msg saying why. */
int store_open(const char *dir, struct store **out, char *msg, size_t msg_len);

/* store_close(NULL) does nothing. */
void store_close(struct store *s);

/* Writes n rows in one transaction; a row of a GPU and minute already there (a restart within
 * the minute) is merged with it: samples add up, averages weigh by them, peaks take the larger.
 * Returns 0 or GPUCTL_EIO. */
int store_put_minutes(struct store *s, const struct minute_row *rows, size_t n);

/* Deletes rows older than before (unix seconds). Returns 0 or GPUCTL_EIO. */
int store_prune(struct store *s, int64_t before);

/* Calls fn for each row of uuid from since on, oldest first, until fn returns nonzero. Returns 0
 * or GPUCTL_EIO. */
int store_minutes(struct store *s, const char *uuid, int64_t since,
                  int (*fn)(void *ctx, const struct minute_row *row), void *ctx);

#endif
