/* metrics.h: the Prometheus text exposition (version 0.0.4) of every GPU metric and of the
 * daemon's own figures. Names carry the gpuctl_ prefix and base units (bytes, seconds, watts,
 * hertz, ratios 0..1); a metric a GPU cannot report is left out, never written as 0. */
#ifndef GPUCTL_API_METRICS_H
#define GPUCTL_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/monitor.h"
#include "monitor/snapshot.h"
#include "util/buf.h"

/* Requests answered on one route with one status. */
struct metrics_requests {
    const char *route; /* the route's pattern, or "unmatched" */
    unsigned code;
    uint64_t count;
};

/* The daemon's own figures. */
struct metrics_daemon {
    const char *version;
    int64_t started_ms, now_ms; /* unix ms */
    struct monitor_counters sampler;
    size_t sse_clients;
    const struct metrics_requests *requests;
    size_t n_requests;
};

/* The MIME type of the exposition. */
extern const char metrics_content_type[];

/* Appends every GPU family of snapshot s: one series per GPU, labelled gpu (its position), device,
 * uuid and model. */
void metrics_gpus(struct buf *out, const struct snapshot *s);

/* Appends the daemon's families. */
void metrics_daemon(struct buf *out, const struct metrics_daemon *d, const struct snapshot *s);

#endif
