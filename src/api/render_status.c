/* render_status.c: /health, the guides' status and node answers, and guide 003's resources. */
#include "api/render.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/json_device.h"
#include "device/select.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/str.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

json_t *render_time(int64_t t_ms)
{
    char iso[40];

    clock_iso8601(t_ms, iso, sizeof(iso));
    return json_string(iso);
}

double render_gib(uint64_t bytes)
{
    return round((double)bytes / GIB * 100.0) / 100.0;
}

json_t *render_real_or_null(bool has, double v)
{
    return has ? json_real(v) : json_null();
}

json_t *render_ratio(bool has, double v)
{
    return has ? json_real(round(v * 10000.0) / 10000.0) : json_null();
}

size_t render_gpu_count(const struct snapshot *s)
{
    size_t n = 0;

    while (n < s->n && s->devs[n].vendor != GPUCTL_VENDOR_CPU)
        n++;
    return n;
}

bool render_gpu_usable(const struct snapshot *s, size_t i)
{
    return s->devs[i].state == GPUCTL_STATE_OK && s->health[i].state != HEALTH_UNHEALTHY;
}

void render_gpu_type(const struct config *cfg, const struct gpuctl_device *d, char *out, size_t len)
{
    static const char *const vendor_words[] = {"NVIDIA ", "AMD ",   "Intel(R) ",
                                               "Intel ",  "Tesla ", "GeForce "};
    const char *best = NULL;
    const char *name = d->name;

    for (size_t i = 0; i < cfg->n_specs; i++) {
        const char *model = cfg->gpu_memory_specs[i].model;
        if (str_model_in(model, d->name) && (!best || strlen(model) > strlen(best)))
            best = model;
    }
    if (best) {
        str_copy(out, best, len);
        return;
    }
    for (size_t i = 0; i < sizeof(vendor_words) / sizeof(vendor_words[0]); i++)
        if (strncasecmp(name, vendor_words[i], strlen(vendor_words[i])) == 0)
            name += strlen(vendor_words[i]);
    str_copy(out, *name ? name : d->device, len);
}

/* The configured memory of a model, or 0. */
static double spec_memory(const struct config *cfg, const char *type)
{
    for (size_t i = 0; i < cfg->n_specs; i++)
        if (strcmp(cfg->gpu_memory_specs[i].model, type) == 0)
            return cfg->gpu_memory_specs[i].memory_gb;
    return 0;
}

/* The Kubernetes resource name of a vendor (guide 001's gpu_resource), else the default. */
static const char *resource_name(const struct config *cfg, enum gpuctl_vendor v)
{
    for (size_t i = 0; i < cfg->n_resources; i++)
        if (strcmp(cfg->gpu_resource[i].vendor, gpuctl_vendor_name(v)) == 0)
            return cfg->gpu_resource[i].resource;
    return cfg->default_gpu_resource_name;
}

/* The device a program should use: the best usable GPU as `gpuctl select` ranks them, else the
 * CPU (always last). */
static const struct gpuctl_device *best_device(const struct snapshot *s)
{
    const struct gpuctl_select_request any = {.count = 1};
    const struct gpuctl_device *best = NULL;
    char why[256];

    for (size_t i = 0; i < render_gpu_count(s); i++) {
        const struct gpuctl_device *d = &s->devs[i];
        if (!render_gpu_usable(s, i) || !select_fits(d, &any, why, sizeof(why)))
            continue;
        if (!best || select_compare(d, best) < 0)
            best = d;
    }
    return best ? best : &s->devs[s->n - 1];
}

static bool vendor_usable(const struct snapshot *s, enum gpuctl_vendor v)
{
    for (size_t i = 0; i < render_gpu_count(s); i++)
        if (s->devs[i].vendor == v && render_gpu_usable(s, i))
            return true;
    return false;
}

json_t *render_daemon_health(const struct snapshot *s, const struct render_daemon *daemon)
{
    const struct gpuctl_device *best = best_device(s);
    struct gpuctl_precision_advice adv;
    char type[16];
    size_t usable = 0;

    for (size_t i = 0; i < render_gpu_count(s); i++)
        usable += render_gpu_usable(s, i);
    gpuctl_precision_advise(best, &adv);
    snprintf(type, sizeof(type), "%.*s", (int)strcspn(best->device, ":"), best->device);
    return json_pack("{s:s, s:s, s:f, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:s?, s:i, s:i, s:o}",
                     "status", "ok", "version", daemon->version, "uptime_seconds",
                     (double)(clock_wall_ms() - daemon->started_ms) / 1000.0, "device_type", type,
                     "device", best->device, "device_name", best->name, "gpu_available", usable > 0,
                     "cuda_available", vendor_usable(s, GPUCTL_VENDOR_NVIDIA), "rocm_available",
                     vendor_usable(s, GPUCTL_VENDOR_AMD), "xpu_available",
                     vendor_usable(s, GPUCTL_VENDOR_INTEL), "mps_available", false, "precision",
                     gpuctl_precision_name(adv.precision), "device_count", (int)render_gpu_count(s),
                     "usable_gpus", (int)usable, "sampled_at", render_time(s->taken_ms));
}

/* One node entry per GPU model: guide 001's node_name, gpu_type, available_gpus,
 * memory_per_gpu, utilization, plus total_gpus and resource_name. */
struct node_acc {
    char type[96];
    enum gpuctl_vendor vendor;
    unsigned total, available, n_util;
    double util_sum, min_memory_gb;
};

/* Groups the GPUs by model into acc (room for n); returns how many models. */
static size_t group_by_model(const struct snapshot *s, const struct config *cfg,
                             struct node_acc *acc, size_t n)
{
    size_t models = 0;

    for (size_t i = 0; i < render_gpu_count(s); i++) {
        const struct gpuctl_device *d = &s->devs[i];
        char type[96];
        size_t k;
        render_gpu_type(cfg, d, type, sizeof(type));
        for (k = 0; k < models && strcmp(acc[k].type, type) != 0; k++)
            ;
        if (k == models) {
            if (models == n)
                continue;
            memset(&acc[k], 0, sizeof(acc[k]));
            str_copy(acc[k].type, type, sizeof(acc[k].type));
            acc[k].vendor = d->vendor;
            acc[k].min_memory_gb = INFINITY;
            models++;
        }
        acc[k].total++;
        acc[k].available += render_gpu_usable(s, i);
        if (gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)) {
            acc[k].util_sum += d->utilization_gpu_percent / 100.0;
            acc[k].n_util++;
        }
        if (gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) &&
            render_gib(d->memory_total_bytes) < acc[k].min_memory_gb)
            acc[k].min_memory_gb = render_gib(d->memory_total_bytes);
    }
    for (size_t k = 0; k < models; k++)
        if (isinf(acc[k].min_memory_gb))
            acc[k].min_memory_gb = spec_memory(cfg, acc[k].type);
    return models;
}

static json_t *node_entry(const struct snapshot *s, const struct config *cfg,
                          const struct node_acc *a)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:s}", "node_name", s->sys.hostname,
                     "gpu_type", a->type, "available_gpus", (int)a->available, "total_gpus",
                     (int)a->total, "memory_per_gpu",
                     render_real_or_null(a->min_memory_gb > 0, a->min_memory_gb), "utilization",
                     render_ratio(a->n_util > 0, a->util_sum / (a->n_util ? a->n_util : 1)),
                     "resource_name", resource_name(cfg, a->vendor));
}

/* The nodes with a GPU free to take work, filtered (f may be NULL). */
static json_t *node_list(const struct snapshot *s, const struct config *cfg,
                         const struct node_filter *f)
{
    struct node_acc acc[16];
    size_t models = group_by_model(s, cfg, acc, sizeof(acc) / sizeof(acc[0]));
    json_t *list = json_array();

    for (size_t k = 0; k < models; k++) {
        if (acc[k].available == 0)
            continue;
        if (f && f->gpu_type && *f->gpu_type && !str_model_in(f->gpu_type, acc[k].type))
            continue;
        if (f && acc[k].min_memory_gb < f->min_memory_gb)
            continue;
        json_array_append_new(list, node_entry(s, cfg, &acc[k]));
    }
    return list;
}

/* Mean utilization (0..1) and memory in use (0..1) over the GPUs that report them. */
static json_t *utilization(const struct snapshot *s)
{
    double util = 0, used = 0, total = 0;
    size_t n_util = 0;

    for (size_t i = 0; i < render_gpu_count(s); i++) {
        const struct gpuctl_device *d = &s->devs[i];
        if (gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)) {
            util += d->utilization_gpu_percent / 100.0;
            n_util++;
        }
        if (gpuctl_device_has(d, GPUCTL_M_MEMORY_USED) &&
            gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL)) {
            used += (double)d->memory_used_bytes;
            total += (double)d->memory_total_bytes;
        }
    }
    return json_pack("{s:o, s:o}", "gpu_utilization",
                     render_ratio(n_util > 0, util / (double)(n_util ? n_util : 1)),
                     "gpu_memory_usage", render_ratio(total > 0, used / (total ? total : 1)));
}

json_t *render_status(const struct snapshot *s, const struct config *cfg)
{
    return json_pack("{s:o, s:o, s:i, s:o}", "utilization", utilization(s), "available_nodes",
                     node_list(s, cfg, NULL), "total_nodes", render_gpu_count(s) > 0 ? 1 : 0,
                     "timestamp", render_time(s->taken_ms));
}

json_t *render_nodes(const struct snapshot *s, const struct config *cfg,
                     const struct node_filter *f)
{
    json_t *nodes = node_list(s, cfg, f);

    return json_pack("{s:o, s:i, s:o}", "nodes", nodes, "count", (int)json_array_size(nodes),
                     "timestamp", render_time(s->taken_ms));
}

/* Memory the GPU's processes hold, where the driver lists them; else all memory in use. */
static uint64_t allocated_bytes(const struct gpuctl_device *d)
{
    uint64_t sum = 0;
    bool known = gpuctl_device_has(d, GPUCTL_M_PROCESSES);

    for (size_t k = 0; known && k < d->process_count; k++) {
        known = d->processes[k].used_memory_valid;
        sum += d->processes[k].used_memory_bytes;
    }
    return known ? sum : d->memory_used_bytes;
}

static json_t *resource_device(const struct gpuctl_device *d, const struct device_health *h)
{
    bool mem = gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL);
    bool used = gpuctl_device_has(d, GPUCTL_M_MEMORY_USED);
    bool free_ = gpuctl_device_has(d, GPUCTL_M_MEMORY_FREE);
    char cc[16];

    snprintf(cc, sizeof(cc), "%d.%d", d->cc_major, d->cc_minor);
    return json_pack(
        "{s:i, s:s, s:s, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:i, s:i}, s:s, s:s}", "id",
        d->index, "device_name", d->device, "name", d->name, "uuid", d->uuid[0] ? d->uuid : NULL,
        "compute_capability",
        gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) ? json_string(cc) : json_null(),
        "total_memory_gb", render_real_or_null(mem, render_gib(d->memory_total_bytes)),
        "allocated_memory_gb", render_real_or_null(used, render_gib(allocated_bytes(d))),
        "cached_memory_gb", render_real_or_null(used, render_gib(d->memory_used_bytes)),
        "free_memory_gb", render_real_or_null(free_, render_gib(d->memory_free_bytes)),
        "utilization",
        render_real_or_null(gpuctl_device_has(d, GPUCTL_M_UTIL_GPU), d->utilization_gpu_percent),
        "current_tasks", "training", 0, "inference", 0, "state", gpuctl_state_name(d->state),
        "health", health_state_name(h->state));
}

json_t *render_resources(const struct snapshot *s)
{
    size_t n = render_gpu_count(s);
    json_t *devices = json_array();
    char cuda[16];
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        json_array_append_new(devices, resource_device(&s->devs[i], &s->health[i]));
        any = any || render_gpu_usable(s, i);
    }
    json_device_cuda_version(s->sys.cuda_driver_version, cuda, sizeof(cuda));
    return json_pack("{s:b, s:i, s:s?, s:s?, s:o, s:o}", "available", any, "count", (int)n,
                     "cuda_version", cuda[0] ? cuda : NULL, "driver_version",
                     s->sys.driver_version[0] ? s->sys.driver_version : NULL, "devices", devices,
                     "timestamp", render_time(s->taken_ms));
}
