/* routes.c: the REST routes, one table, and their handlers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/metrics.h"

#include "api/render.h"
#include "api/routes_sched.h"
#include "api/server.h"
#include "sched/sched.h"
#include "util/banned.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/str.h"

#define DEFAULT_WINDOW_S 300.0

static void get_health(struct request *rq, struct reply *rp)
{
    struct render_daemon daemon = {server_version(rq->srv), server_started_ms(rq->srv)};

    reply_json(rp, 200, render_daemon_health(rq->snap, &daemon));
}

static void get_status(struct request *rq, struct reply *rp)
{
    reply_json(rp, 200, render_status(rq->snap, rq->cfg));
}

/* Parses min_memory_gb: a non-negative decimal number. */
static bool parse_gb(const char *s, double *out)
{
    return str_decimal(s, out) && *out >= 0;
}

static void get_nodes(struct request *rq, struct reply *rp)
{
    struct node_filter f = {request_arg(rq, "gpu_type"), 0};
    const char *gb = request_arg(rq, "min_memory_gb");

    if (f.gpu_type && !*f.gpu_type) {
        reply_error(rp, 400, "gpu_type is empty; give a model such as V100 or H100");
        return;
    }
    if (gb && !parse_gb(gb, &f.min_memory_gb)) {
        reply_error(rp, 400,
                    "min_memory_gb must be a number of GB, 0 or more, such as 16; got '%s'", gb);
        return;
    }
    reply_json(rp, 200, render_nodes(rq->snap, rq->cfg, &f));
}

static void get_monitoring(struct request *rq, struct reply *rp)
{
    const char *w = request_arg(rq, "window");
    double window = DEFAULT_WINDOW_S, max = monitor_max_window(rq->monitor);

    if (w && (duration_parse(w, &window) != 0 || window <= 0 || window > max)) {
        reply_error(rp, 400, "window must be %s, more than 0 and at most %.0fs; got '%s'",
                    duration_syntax, max, w);
        return;
    }
    reply_json(rp, 200, render_monitoring(rq->snap, rq->monitor, window));
}

static void get_gpu_health(struct request *rq, struct reply *rp)
{
    reply_json(rp, 200, render_health_list(rq->snap, rq->cfg));
}

/* The optional body of a reset: {"reason": "..."}. Replies 400 and returns false when it is
 * not that. */
static bool reset_reason(struct request *rq, struct reply *rp, char *reason, size_t len)
{
    json_error_t err;
    json_t *body, *r;
    const char *key;
    json_t *v;

    reason[0] = '\0';
    if (!rq->body || rq->body_len == 0)
        return true;
    body = json_loadb(rq->body, rq->body_len, 0, &err);
    if (!body) {
        reply_error(rp, 400, "the body is not JSON: line %d, column %d: %s", err.line, err.column,
                    err.text);
        return false;
    }
    r = json_object_get(body, "reason");
    if (!json_is_object(body) || (r && !json_is_string(r))) {
        reply_error(rp, 400,
                    "the body must be an object such as {\"reason\": \"replaced the "
                    "riser\"}");
        json_decref(body);
        return false;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "reason") != 0) {
            reply_error(rp, 400, "unknown field '%s'; the body may hold only \"reason\"", key);
            json_decref(body);
            return false;
        }
    }
    snprintf(reason, len, "%s", r ? json_string_value(r) : "");
    json_decref(body);
    return true;
}

static void post_health_reset(struct request *rq, struct reply *rp)
{
    size_t ngpus = render_gpu_count(rq->snap);
    struct snapshot *after;
    char reason[256];
    int rc;

    if (ngpus == 0) {
        reply_error(rp, 404, "this machine has no GPU to reset");
        return;
    }
    if (rq->index < 0 || (size_t)rq->index >= ngpus) {
        reply_error(rp, rq->index < 0 ? 400 : 404,
                    "the GPU index must be a number from 0 to %zu (this machine has %zu GPUs)",
                    ngpus - 1, ngpus);
        return;
    }
    if (!reset_reason(rq, rp, reason, sizeof(reason)))
        return;
    rc = monitor_reset_health(rq->monitor, (size_t)rq->index);
    if (rc != 0) {
        reply_gpuctl_error(rp, rc, "the reset of GPU %ld failed: %s", rq->index,
                           gpuctl_strerror(rc));
        return;
    }
    log_warn("GPU %ld: health reset by %s%s%s", rq->index, rq->user, reason[0] ? ": " : "", reason);
    after = monitor_snapshot(rq->monitor);
    reply_json(rp, 200, render_gpu_health(after, rq->cfg, (size_t)rq->index));
    snapshot_unref(after);
}

/* Guide 003's GPUs, with the tasks the scheduler runs on each (0 when it schedules nothing). */
static void get_resources(struct request *rq, struct reply *rp)
{
    json_t *body = render_resources(rq->snap), *usage = rq->sched ? sched_usage(rq->sched) : NULL;
    json_t *dev;
    size_t i;

    json_array_foreach(json_object_get(body, "devices"), i, dev)
    {
        const char *name = json_string_value(json_object_get(dev, "device_name"));
        json_t *counts = name && usage ? json_object_get(usage, name) : NULL;
        if (counts)
            json_object_set_new(dev, "current_tasks",
                                json_pack("{s:O, s:O}", "training",
                                          json_object_get(counts, "training"), "inference",
                                          json_object_get(counts, "inference")));
    }
    json_decref(usage);
    reply_json(rp, 200, body);
}

static void get_events(struct request *rq, struct reply *rp)
{
    (void)rq;
    rp->stream = true;
}

static void get_metrics(struct request *rq, struct reply *rp)
{
    server_metrics(rq->srv, rq->snap, &rp->body);
    rp->status = 200;
    rp->content_type = metrics_content_type;
}

static const char *const node_params[] = {"gpu_type", "min_memory_gb", NULL};
static const char *const window_params[] = {"window", NULL};
static const char *const task_params[] = {"all", NULL};
#define BODY ROUTE_BODY

const struct route routes[] = {
    {"GET", "/health", get_health, 0, NULL},
    {"GET", "/api/v1/gpu/status", get_status, ROUTE_CACHE, NULL},
    {"GET", "/api/v1/gpu/nodes", get_nodes, ROUTE_CACHE, node_params},
    {"GET", "/api/v1/gpu/monitoring", get_monitoring, 0, window_params},
    {"GET", "/api/v1/gpu/health", get_gpu_health, ROUTE_CACHE, NULL},
    {"POST", "/api/v1/gpu/health/{index}/reset", post_health_reset, ROUTE_ADMIN | ROUTE_BODY, NULL},
    {"GET", "/api/v2/resources/gpu", get_resources, ROUTE_CACHE, NULL},
    {"GET", "/api/v1/gpu/events", get_events, 0, NULL},
    {"GET", "/metrics", get_metrics, 0, NULL},
    /* scheduling (routes_sched.c) */
    {"POST", "/api/v1/gpu/allocate", post_allocate, BODY, NULL},
    {"POST", "/api/v1/gpu/validate", post_validate, BODY, NULL},
    {"POST", "/api/v1/gpu/release", post_release, BODY, NULL},
    {"POST", "/api/v1/gpu/setup-pytorch", post_setup_pytorch, BODY, NULL},
    {"POST", "/api/v1/gpu/setup-tensorflow", post_setup_tensorflow, BODY, NULL},
    {"GET", "/api/v1/gpu/allocations", get_allocations, 0, NULL},
    {"GET", "/api/v1/gpu/allocations/{id}", get_allocation, 0, NULL},
    {"DELETE", "/api/v1/gpu/allocations/{id}", delete_allocation, 0, NULL},
    {"GET", "/api/v2/resources", get_resources_v2, 0, NULL},
    {"POST", "/api/v2/resources/config", post_resources_config, ROUTE_ADMIN | BODY, NULL},
    {"GET", "/api/v2/tasks", get_tasks, 0, task_params},
    {"POST", "/api/v2/tasks", post_tasks, BODY, NULL},
    {"GET", "/api/v2/tasks/{id}", get_task, 0, NULL},
    {"POST", "/api/v2/tasks/{id}/cancel", post_task_cancel, 0, NULL},
    {"POST", "/api/v2/training/start", post_training_start, BODY, NULL},
    {"POST", "/api/v2/inference/start", post_inference_start, BODY, NULL},
};
const size_t route_count = sizeof(routes) / sizeof(routes[0]);

/* Parses a {index} segment: decimal digits only, no sign, no leading zeros. */
static long segment_index(const char *s, size_t len)
{
    long v = 0;

    if (len == 0 || len > 15 || (len > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool route_match(const char *pattern, const char *path, long *index)
{
    *index = -1;
    while (*pattern && *path) {
        size_t plen = strcspn(pattern, "/"), len = strcspn(path, "/");
        if (plen > 2 && pattern[0] == '{' && pattern[plen - 1] == '}')
            *index = segment_index(path, len);
        else if (plen != len || strncmp(pattern, path, len) != 0)
            return false;
        pattern += plen;
        path += len;
        if (*pattern != *path)
            return false;
        if (*pattern) {
            pattern++;
            path++;
        }
    }
    return !*pattern && !*path;
}
