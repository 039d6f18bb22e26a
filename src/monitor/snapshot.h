/* snapshot.h: what the sampler saw at one moment: every device and its health, immutable once
 * published, shared by reference count between the sampler and requests. Requests read only
 * snapshots, never the hardware, so a hung GPU cannot hang them. */
#ifndef GPUCTL_MONITOR_SNAPSHOT_H
#define GPUCTL_MONITOR_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuctl/gpuctl.h>

#include "monitor/health.h"

struct snapshot {
    atomic_int refs;
    uint64_t seq;          /* 1 for the first sample, one more for each */
    int64_t taken_ms;      /* unix milliseconds */
    double sample_seconds; /* how long the sampler took to read it */
    struct gpuctl_system sys;
    size_t n;                     /* devices, the CPU included, in gpuctl_device_at() order */
    struct gpuctl_device *devs;   /* deep copies, processes included */
    struct device_health *health; /* one per device (the CPU is always healthy) */
};

/* Copies g's devices and the given health (n entries, one per device) into a new snapshot with
 * one reference. NULL when out of memory. */
struct snapshot *snapshot_new(const struct gpuctl *g, const struct device_health *health,
                              uint64_t seq, int64_t taken_ms);

/* A copy of old with other health (n entries) and sequence number: an admin's reset shows at
 * once, without waiting for the next sample. NULL when out of memory. */
struct snapshot *snapshot_with_health(const struct snapshot *old,
                                      const struct device_health *health, uint64_t seq);

/* Takes a reference; returns s. */

struct snapshot *snapshot_ref(struct snapshot *s);

/* Drops a reference, freeing s with the last. snapshot_unref(NULL) does nothing. */
void snapshot_unref(struct snapshot *s);

#endif
