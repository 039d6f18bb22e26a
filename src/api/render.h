/* render.h: the daemon's JSON answers, built from a snapshot (never from the hardware). GPUs are
 * numbered by their position in the snapshot (the order of `gpuctl info`), which is also the
 * {index} of the health routes and the `gpu` label of the metrics. */
#ifndef GPUCTL_API_RENDER_H
#define GPUCTL_API_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "monitor/monitor.h"
#include "monitor/snapshot.h"

/* What /health says besides the snapshot. */
struct render_daemon {
    const char *version;
    int64_t started_ms; /* unix ms */
};

/* How many GPUs the snapshot holds (every device but the CPU; they come first). */
size_t render_gpu_count(const struct snapshot *s);

/* Whether GPU i may take work: the driver can use it and its health is not unhealthy. */
bool render_gpu_usable(const struct snapshot *s, size_t i);

/* The model name of a GPU as guide 001's gpu_memory_specs spell it ("V100", "RTX3090"): the
 * longest configured model its name contains, else its name without the vendor's word. */
void render_gpu_type(const struct config *cfg, const struct gpuctl_device *d, char *out,
                     size_t len);

/* GET /health. */
json_t *render_daemon_health(const struct snapshot *s, const struct render_daemon *daemon);

/* GET /api/v1/gpu/status: guide 001's shape. */
json_t *render_status(const struct snapshot *s, const struct config *cfg);

/* The filter of GET /api/v1/gpu/nodes; an empty gpu_type and min_memory_gb 0 keep all. */
struct node_filter {
    const char *gpu_type;
    double min_memory_gb;
};

/* GET /api/v1/gpu/nodes. */
json_t *render_nodes(const struct snapshot *s, const struct config *cfg,
                     const struct node_filter *f);

/* GET /api/v2/resources/gpu: guide 003's shape. */
json_t *render_resources(const struct snapshot *s);

/* GET /api/v1/gpu/monitoring: the latest sample of each GPU and its statistics over the last
 * window_s seconds. */
json_t *render_monitoring(const struct snapshot *s, struct monitor *m, double window_s);

/* One GPU's health, as GET /api/v1/gpu/health lists it. */
json_t *render_gpu_health(const struct snapshot *s, const struct config *cfg, size_t i);

/* GET /api/v1/gpu/health. */
json_t *render_health_list(const struct snapshot *s, const struct config *cfg);

/* The data of an SSE "sample" event for GPU i. */
json_t *render_sample_event(const struct snapshot *s, size_t i);

/* The data of an SSE "health" event for GPU i. */
json_t *render_health_event(const struct snapshot *s, const struct config *cfg, size_t i);

/* An ISO 8601 UTC time ("2026-11-21T09:30:00.125Z") as a JSON string. */
json_t *render_time(int64_t t_ms);

/* Bytes as GiB, rounded to 2 decimals: the "GB" of nvidia-smi, PyTorch and the guides. */
double render_gib(uint64_t bytes);

/* A JSON real when has, else null. */
json_t *render_real_or_null(bool has, double v);

/* A fraction (0..1) rounded to 4 decimals when has, else null. */
json_t *render_ratio(bool has, double v);

#endif
