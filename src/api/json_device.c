/* json_device.c: devices and the machine as JSON. */
#include "api/json_device.h"

#include <stdio.h>

#include "util/banned.h"

static const char *const throttle_names[] = {
    "gpu_idle",   "applications_clocks", "sw_power_cap",   "hw_slowdown",    "sync_boost",
    "sw_thermal", "hw_thermal",          "hw_power_brake", "display_clocks",
};

void cuda_version_format(int version, char *buf, size_t len)
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

static json_t *uint_if(const struct gpuctl_device *d, enum gpuctl_metric m, uint64_t v)
{
    return gpuctl_device_has(d, m) ? json_integer((json_int_t)v) : json_null();
}

static json_t *watts_if(const struct gpuctl_device *d, enum gpuctl_metric m, unsigned mw)
{
    return gpuctl_device_has(d, m) ? json_real(mw / 1000.0) : json_null();
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

static json_t *process_list(const struct gpuctl_device *d)
{
    json_t *list;

    if (!gpuctl_device_has(d, GPUCTL_M_PROCESSES))
        return json_null();
    list = json_array();
    for (size_t i = 0; i < d->process_count; i++) {
        const struct gpuctl_process *p = &d->processes[i];
        const char *type = p->type == (GPUCTL_PROC_COMPUTE | GPUCTL_PROC_GRAPHICS)
                               ? "compute+graphics"
                           : p->type == GPUCTL_PROC_GRAPHICS ? "graphics"
                                                             : "compute";
        json_array_append_new(
            list,
            json_pack("{s:i, s:s, s:o, s:o, s:o}", "pid", p->pid, "type", type, "used_memory_bytes",
                      p->used_memory_valid ? json_integer((json_int_t)p->used_memory_bytes)
                                           : json_null(),
                      "user", str_or_null(p->user), "command", str_or_null(p->command)));
    }
    return list;
}

json_t *json_device(const struct gpuctl_device *d)
{
    struct gpuctl_precision_advice adv;
    char cc[16];
    json_t *o = json_object();

    if (!o)
        return NULL;
    gpuctl_precision_advise(d, &adv);
    snprintf(cc, sizeof(cc), "%d.%d", d->cc_major, d->cc_minor);
    json_object_set_new(o, "index", d->index >= 0 ? json_integer(d->index) : json_null());
    json_object_set_new(o, "device", json_string(d->device));
    json_object_set_new(o, "vendor", json_string(gpuctl_vendor_name(d->vendor)));
    json_object_set_new(o, "name", str_or_null(d->name));
    json_object_set_new(o, "uuid", str_or_null(d->uuid));
    json_object_set_new(o, "pci_bus_id", str_or_null(d->pci_bus_id));
    json_object_set_new(o, "physical_index",
                        d->physical_index >= 0 ? json_integer(d->physical_index) : json_null());
    json_object_set_new(o, "state", json_string(gpuctl_state_name(d->state)));
    json_object_set_new(o, "state_message", str_or_null(d->state_message));
    json_object_set_new(o, "compute_capability",
                        gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY) ? json_string(cc)
                                                                          : json_null());
    json_object_set_new(o, "memory_total_bytes",
                        uint_if(d, GPUCTL_M_MEMORY_TOTAL, d->memory_total_bytes));
    json_object_set_new(o, "memory_used_bytes",
                        uint_if(d, GPUCTL_M_MEMORY_USED, d->memory_used_bytes));
    json_object_set_new(o, "memory_free_bytes",
                        uint_if(d, GPUCTL_M_MEMORY_FREE, d->memory_free_bytes));
    json_object_set_new(o, "memory_reserved_bytes",
                        uint_if(d, GPUCTL_M_MEMORY_RESERVED, d->memory_reserved_bytes));
    json_object_set_new(o, "utilization_gpu_percent",
                        uint_if(d, GPUCTL_M_UTIL_GPU, d->utilization_gpu_percent));
    json_object_set_new(o, "utilization_memory_percent",
                        uint_if(d, GPUCTL_M_UTIL_MEMORY, d->utilization_memory_percent));
    json_object_set_new(o, "temperature_c",
                        gpuctl_device_has(d, GPUCTL_M_TEMPERATURE) ? json_integer(d->temperature_c)
                                                                   : json_null());
    json_object_set_new(o, "power_draw_w", watts_if(d, GPUCTL_M_POWER_DRAW, d->power_draw_mw));
    json_object_set_new(o, "power_limit_w", watts_if(d, GPUCTL_M_POWER_LIMIT, d->power_limit_mw));
    json_object_set_new(o, "clock_sm_mhz", uint_if(d, GPUCTL_M_CLOCK_SM, d->clock_sm_mhz));
    json_object_set_new(o, "clock_memory_mhz", uint_if(d, GPUCTL_M_CLOCK_MEM, d->clock_mem_mhz));
    json_object_set_new(o, "clock_sm_max_mhz",
                        uint_if(d, GPUCTL_M_CLOCK_SM_MAX, d->clock_sm_max_mhz));
    json_object_set_new(o, "clock_memory_max_mhz",
                        uint_if(d, GPUCTL_M_CLOCK_MEM_MAX, d->clock_mem_max_mhz));
    json_object_set_new(o, "fan_speed_percent", uint_if(d, GPUCTL_M_FAN, d->fan_percent));
    json_object_set_new(o, "throttle_reasons", throttle_list(d));
    json_object_set_new(o, "mig_enabled",
                        gpuctl_device_has(d, GPUCTL_M_MIG) ? json_boolean(d->mig_enabled)
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
                              json_pack("{s:s, s:b, s:i, s:i, s:o}", "name", b->name, "available",
                                        b->available, "found", (int)b->found, "visible",
                                        (int)b->visible, "message", str_or_null(b->message)));
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
    cuda_version_format(sys->cuda_driver_version, cuda, sizeof(cuda));
    return json_pack(
        "{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:o, s:o, s:b, s:s}}", "hostname",
        str_or_null(sys->hostname), "gpuctl_version", gpuctl_version(), "driver_version",
        str_or_null(sys->driver_version), "nvml_version", str_or_null(sys->nvml_version),
        "cuda_driver_version", str_or_null(cuda), "backends", backend_list(sys), "devices", devices,
        "recommended", "device", best->device, "name", str_or_null(best->name), "precision",
        str_or_null(gpuctl_precision_name(adv.precision)), "tf32", adv.tf32, "reason", adv.reason);
}
