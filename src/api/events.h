/* events.h: the monitor's changes as SSE messages on the feed: "sample" when a GPU's figures
 * moved by the change threshold, "health" when its health state changed. */
#ifndef GPUCTL_API_EVENTS_H
#define GPUCTL_API_EVENTS_H

#include "config/config.h"
#include "monitor/feed.h"
#include "monitor/monitor.h"

struct events_ctx {
    struct feed *feed;
    const struct config *cfg;
};

/* A monitor_listener's changed(): ctx is a struct events_ctx. */
void events_changed(void *ctx, const struct snapshot *s, size_t dev, enum monitor_change what);

#endif
