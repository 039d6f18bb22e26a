/* json_device.c: devices and the machine as JSON. */
#include "api/json_device.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

static const char *const throttle_names[] = {
    "gpu_idle",   "applications_clocks", "sw_power_cap",   "hw_slowdown",    "sync_boost",
    "sw_thermal", "hw_thermal",          "hw_power_brake", "display_clocks",
};

void json_device_cuda_version(int version, char *buf, size_t len)
{
    if (version <= 0)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%d.%d", version / 1000, version % 1000 / 10);
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

enum field_kind { FIELD_UINT, FIELD_U64, FIELD_INT, FIELD_WATTS };

#define FIELD(key, metric, kind, member)                                                           \
    {                                                                                              \
        key, metric, kind, offsetof(struct gpuctl_device, member)                                  \
    }

/* The numeric metrics of a device, in the order JSON shows them. */
static const struct metric_field {
    const char *key;
    enum gpuctl_metric metric;
    enum field_kind kind;
    size_t offset;
} metric_fields[] = {
    FIELD("memory_total_bytes", GPUCTL_M_MEMORY_TOTAL, FIELD_U64, memory_total_bytes),
    FIELD("memory_used_bytes", GPUCTL_M_MEMORY_USED, FIELD_U64, memory_used_bytes),
    FIELD("memory_free_bytes", GPUCTL_M_MEMORY_FREE, FIELD_U64, memory_free_bytes),
    FIELD("memory_reserved_bytes", GPUCTL_M_MEMORY_RESERVED, FIELD_U64, memory_reserved_bytes),
    FIELD("utilization_gpu_percent", GPUCTL_M_UTIL_GPU, FIELD_UINT, utilization_gpu_percent),
    FIELD("utilization_memory_percent", GPUCTL_M_UTIL_MEMORY, FIELD_UINT,
          utilization_memory_percent),
    FIELD("temperature_c", GPUCTL_M_TEMPERATURE, FIELD_INT, temperature_c),
    FIELD("temperature_junction_c", GPUCTL_M_TEMPERATURE_JUNCTION, FIELD_INT,
          temperature_junction_c),
    FIELD("power_draw_w", GPUCTL_M_POWER_DRAW, FIELD_WATTS, power_draw_mw),
    FIELD("power_limit_w", GPUCTL_M_POWER_LIMIT, FIELD_WATTS, power_limit_mw),
    FIELD("clock_sm_mhz", GPUCTL_M_CLOCK_SM, FIELD_UINT, clock_sm_mhz),
    FIELD("clock_memory_mhz", GPUCTL_M_CLOCK_MEM, FIELD_UINT, clock_mem_mhz),
    FIELD("clock_sm_max_mhz", GPUCTL_M_CLOCK_SM_MAX, FIELD_UINT, clock_sm_max_mhz),
    FIELD("clock_memory_max_mhz", GPUCTL_M_CLOCK_MEM_MAX, FIELD_UINT, clock_mem_max_mhz),
    FIELD("fan_speed_percent", GPUCTL_M_FAN, FIELD_UINT, fan_percent),
    FIELD("fan_speed_rpm", GPUCTL_M_FAN_RPM, FIELD_UINT, fan_rpm),
    FIELD("ecc_errors_corrected", GPUCTL_M_ECC, FIELD_U64, ecc_corrected),
    FIELD("ecc_errors_uncorrected", GPUCTL_M_ECC, FIELD_U64, ecc_uncorrected),
};

/* A metric's JSON value: null when the device cannot report it. */
static json_t *metric_value(const struct gpuctl_device *d, const struct metric_field *f)
{
    const char *p = (const char *)d + f->offset;
    unsigned u;
    uint64_t u64;
    int i;

    if (!gpuctl_device_has(d, f->metric))
        return json_null();
    switch (f->kind) {
    case FIELD_U64:
        memcpy(&u64, p, sizeof(u64));
        return json_integer((json_int_t)u64);
    case FIELD_INT:
        memcpy(&i, p, sizeof(i));
        return json_integer(i);
    case FIELD_WATTS:
        memcpy(&u, p, sizeof(u));
        return json_real(u / 1000.0);
    default:
        memcpy(&u, p, sizeof(u));
        return json_integer(u);
    }
}

static json_t *uint_if(const struct gpuctl_device *d, enum gpuctl_metric m, unsigned v)
{
    return gpuctl_device_has(d, m) ? json_integer(v) : json_null();
}

static json_t *throttle_list(const struct gpuctl_device *d)
{
    json_t *list;

    if (!gpuctl_device_has(d, GPUCTL_M_THROTTLE))
        return json_null();
    list = json_array();
    for (size_t i = 0; i < sizeof(throttle_names) / sizeof(throttle_names[0]); i++)
        if (d->throttle_reasons & (1ull << i))
            json_array_append_new(list, json_string(throttle_names[i]));
    return list;
}

const char *json_device_process_type(unsigned type)
{
    static const char *const names[] = {NULL, "compute", "graphics", "compute+graphics"};

    return names[type & (GPUCTL_PROC_COMPUTE | GPUCTL_PROC_GRAPHICS)];
}

static json_t *process_list(const struct gpuctl_device *d)
{
    json_t *list;

    if (!gpuctl_device_has(d, GPUCTL_M_PROCESSES))
        return json_null();
    list = json_array();
    for (size_t i = 0; i < d->process_count; i++) {
        const struct gpuctl_process *p = &d->processes[i];
        json_array_append_new(
            list,
            json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "pid", p->pid, "type",
                      str_or_null(json_device_process_type(p->type)), "used_memory_bytes",
                      p->used_memory_valid ? json_integer((json_int_t)p->used_memory_bytes)
                                           : json_null(),
                      "utilization_percent",
                      p->utilization_valid ? json_integer(p->utilization_percent) : json_null(),
                      "user", str_or_null(p->user), "command", str_or_null(p->command)));
    }
    return list;
}

/* Identity and state: who the device is, and whether it can be used. */
static void add_identity(json_t *o, const struct gpuctl_device *d)
{
    char cc[16];

    snprintf(cc, sizeof(cc), "%d.%d", d->cc_major, d->cc_minor);
    json_object_set_new(o, "index", d->index >= 0 ? json_integer(d->index) : json_null());
    json_object_set_new(o, "device", json_string(d->device));
    json_object_set_new(o, "vendor", json_string(gpuctl_vendor_name(d->vendor)));
    json_object_set_new(o, "name", str_or_null(d->name));
    json_object_set_new(o, "architecture", str_or_null(d->arch));
    json_object_set_new(o, "uuid", str_or_null(d->uuid));
    json_object_set_new(o, "pci_bus_id", str_or_null(d->pci_bus_id));
    json_object_set_new(o, "physical_index",
                        d->physical_index >= 0 ? json_integer(d->physical_index) : json_null());
    json_object_set_new(o, "state", json_string(gpuctl_state_name(d->state)));
    json_object_set_new(o, "state_message", str_or_null(d->state_message));
    json_object_set_new(o, "compute_capability",
                        gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) ? json_string(cc)
                                                                          : json_null());
}

json_t *json_device(const struct gpuctl_device *d)
{
    struct gpuctl_precision_advice adv;
    json_t *o = json_object();

    if (!o)
        return NULL;
    gpuctl_precision_advise(d, &adv);
    add_identity(o, d);
    for (size_t i = 0; i < sizeof(metric_fields) / sizeof(metric_fields[0]); i++)
        json_object_set_new(o, metric_fields[i].key, metric_value(d, &metric_fields[i]));
    json_object_set_new(o, "throttle_reasons", throttle_list(d));
    json_object_set_new(o, "mig_enabled",
                        gpuctl_device_has(d, GPUCTL_M_MIG) ? json_boolean(d->mig_enabled)
                                                           : json_null());
    json_object_set_new(o, "integrated",
                        gpuctl_device_has(d, GPUCTL_M_INTEGRATED) ? json_boolean(d->integrated)
                                                                  : json_null());
    json_object_set_new(o, "row_remap_pending",
                        gpuctl_device_has(d, GPUCTL_M_REMAP) ? json_boolean(d->remap_pending)
                                                             : json_null());
    json_object_set_new(o, "row_remap_failed",
                        gpuctl_device_has(d, GPUCTL_M_REMAP) ? json_boolean(d->remap_failed)
                                                             : json_null());
    if (d->vendor == GPUCTL_VENDOR_CPU) {
        json_object_set_new(o, "cpu_cores", uint_if(d, GPUCTL_M_CPU_CORES, d->cpu_cores));
        json_object_set_new(o, "cpu_threads", uint_if(d, GPUCTL_M_CPU_THREADS, d->cpu_threads));
    }
    json_object_set_new(o, "precision", str_or_null(gpuctl_precision_name(adv.precision)));
    json_object_set_new(o, "tf32", json_boolean(adv.tf32));
    json_object_set_new(o, "processes", process_list(d));
    return o;
}

static json_t *backend_list(const struct gpuctl_system *sys)
{
    json_t *list = json_array();

    for (size_t i = 0; i < sys->backend_count; i++) {
        const struct gpuctl_backend_status *b = &sys->backends[i];
        json_array_append_new(list,
                              json_pack("{s:s, s:b, s:i, s:i, s:b, s:o}", "name", b->name,
                                        "available", b->available, "found", (int)b->found,
                                        "visible", (int)b->visible, "processes_hidden",
                                        b->processes_hidden, "message", str_or_null(b->message)));
    }
    return list;
}

json_t *json_info(const struct gpuctl *g)
{
    const struct gpuctl_system *sys = gpuctl_system(g);
    const struct gpuctl_device *best;
    struct gpuctl_precision_advice adv;
    char cuda[16];
    json_t *devices = json_array();

    for (size_t i = 0; i < gpuctl_device_count(g); i++)
        json_array_append_new(devices, json_device(gpuctl_device_at(g, i)));
    gpuctl_recommend(g, &best, &adv);
    json_device_cuda_version(sys->cuda_driver_version, cuda, sizeof(cuda));
    return json_pack(
        "{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:o, s:o, s:b, s:s}}", "hostname",
        str_or_null(sys->hostname), "gpuctl_version", gpuctl_version(), "driver_version",
        str_or_null(sys->driver_version), "nvml_version", str_or_null(sys->nvml_version),
        "cuda_driver_version", str_or_null(cuda), "backends", backend_list(sys), "devices", devices,
        "recommended", "device", best->device, "name", str_or_null(best->name), "precision",
        str_or_null(gpuctl_precision_name(adv.precision)), "tf32", adv.tf32, "reason", adv.reason);
}
