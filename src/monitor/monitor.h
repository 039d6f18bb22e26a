/*
 * monitor.h: the daemon's eyes. A sampler thread reads every device each interval and publishes
 * an immutable snapshot, keeps each device's history and per-minute aggregates, and evaluates
 * health; an event thread waits for the hardware's XID and ECC events. Requests only ever read
 * what was published, so a hung GPU cannot hang them.
 *
 * Locks, in the order they may be taken: the announce lock (publishing a snapshot and telling
 * the listener, so listeners hear changes in publishing order), monitor.lock (the published
 * snapshot, the counters), then health's, history's and the store's own locks, each held only
 * inside its module. The listener is called with the announce lock held and must not call back
 * into the monitor.
 */
#ifndef GPUCTL_MONITOR_MONITOR_H
#define GPUCTL_MONITOR_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

#include "config/config.h"
#include "monitor/history.h"
#include "monitor/snapshot.h"
#include "store/store.h"

struct monitor;

/* What changed in a published snapshot, for a listener that forwards it (to SSE clients). */
enum monitor_change {
    MONITOR_SAMPLE, /* device dev's figures moved by resource_change_threshold or more */
    MONITOR_HEALTH, /* device dev's health state changed */
};

struct monitor_listener {
    void (*changed)(void *ctx, const struct snapshot *s, size_t dev, enum monitor_change what);
    void *ctx;
};

/* The sampler's own figures, for /metrics. */
struct monitor_counters {
    uint64_t runs;         /* samples taken */
    uint64_t failures;     /* samples whose refresh failed */
    double last_seconds;   /* how long the last one took */
    double total_seconds;  /* all of them */
    uint64_t events;       /* hardware events received */
    bool events_available; /* whether the hardware delivers events at all */
    uint64_t store_errors; /* minute rows that could not be written */
};

/*
 * Takes the first sample (so the first request already has one), then starts the threads.
 * cfg, g, store (may be NULL: no minute aggregates) and listener (may be NULL) must outlive the
 * monitor; from now on only the monitor calls gpuctl_refresh() on g. Returns 0 and sets *out, or
 * GPUCTL_ENOMEM / GPUCTL_EIO (a thread could not start).
 */
int monitor_start(const struct config *cfg, struct gpuctl *g, struct store *store,
                  const struct monitor_listener *listener, struct monitor **out);

/* Stops the threads and frees m. Returns true, or false when a thread is still inside a driver
 * call after timeout_ms: m is then left to it (not freed), and the caller, about to exit, must
 * not free the gpuctl handle either. NULL does nothing. */
bool monitor_stop(struct monitor *m, unsigned timeout_ms);

/* The latest snapshot, with a reference the caller drops with snapshot_unref(). */
struct snapshot *monitor_snapshot(struct monitor *m);

/*
 * Statistics of device dev over the last seconds: from the in-memory history where it reaches
 * back that far, and from the per-minute aggregates in the store before that. Returns 0, or
 * GPUCTL_ERANGE for a device that does not exist.
 */
int monitor_window(struct monitor *m, size_t dev, double seconds, struct hstats *out);

/* The longest window monitor_window() can answer: the store's retention, or the history's span
 * without a store. */
double monitor_max_window(const struct monitor *m);

/* An admin's reset of device dev's health; the published snapshot shows it at once. Returns 0 or
 * GPUCTL_ERANGE. */
int monitor_reset_health(struct monitor *m, size_t dev);

void monitor_counters(struct monitor *m, struct monitor_counters *out);

/* Seconds between samples. */
double monitor_interval(const struct monitor *m);

/* How long the store keeps per-minute aggregates. */
#define MONITOR_RETENTION_S (7 * 24 * 3600)

#endif
