/* metrics.c: Prometheus text for the GPUs and the daemon, one table of families. */
#include "api/metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/render.h"
#include "util/banned.h"

const char metrics_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* A GPU series' value; returns false when the GPU cannot report it. */
typedef bool (*gpu_value_fn)(const struct gpuctl_device *d, const struct device_health *h,
                             double *v);

#define HAS(m) gpuctl_device_has(d, GPUCTL_M_##m)
#define VALUE(fn, cond, expr)                                                                      \
    static bool fn(const struct gpuctl_device *d, const struct device_health *h, double *v)        \
    {                                                                                              \
        (void)d;                                                                                   \
        (void)h;                                                                                   \
        *v = (double)(expr);                                                                       \
        return (cond);                                                                             \
    }

VALUE(v_up, true, d->state == GPUCTL_STATE_OK)
VALUE(v_util, HAS(UTIL_GPU), d->utilization_gpu_percent / 100.0)
VALUE(v_mem_util, HAS(UTIL_MEMORY), d->utilization_memory_percent / 100.0)
VALUE(v_mem_used, HAS(MEMORY_USED), d->memory_used_bytes)
VALUE(v_mem_free, HAS(MEMORY_FREE), d->memory_free_bytes)
VALUE(v_mem_total, HAS(MEMORY_TOTAL), d->memory_total_bytes)
VALUE(v_mem_reserved, HAS(MEMORY_RESERVED), d->memory_reserved_bytes)
VALUE(v_temp, HAS(TEMPERATURE), d->temperature_c)
VALUE(v_temp_junction, HAS(TEMPERATURE_JUNCTION), d->temperature_junction_c)
VALUE(v_power, HAS(POWER_DRAW), d->power_draw_mw / 1000.0)
VALUE(v_power_limit, HAS(POWER_LIMIT), d->power_limit_mw / 1000.0)
VALUE(v_clock_sm, HAS(CLOCK_SM), d->clock_sm_mhz * 1e6)
VALUE(v_clock_mem, HAS(CLOCK_MEM), d->clock_mem_mhz * 1e6)
VALUE(v_clock_sm_max, HAS(CLOCK_SM_MAX), d->clock_sm_max_mhz * 1e6)
VALUE(v_clock_mem_max, HAS(CLOCK_MEM_MAX), d->clock_mem_max_mhz * 1e6)
VALUE(v_fan, HAS(FAN), d->fan_percent / 100.0)
VALUE(v_processes, HAS(PROCESSES), d->process_count)
VALUE(v_ecc_corrected, HAS(ECC), d->ecc_corrected)
VALUE(v_ecc_uncorrected, HAS(ECC), d->ecc_uncorrected)
VALUE(v_remap_pending, HAS(REMAP), d->remap_pending)
VALUE(v_remap_failed, HAS(REMAP), d->remap_failed)
VALUE(v_hw_slowdown, HAS(THROTTLE),
      (d->throttle_reasons & (GPUCTL_THROTTLE_HW_SLOWDOWN | GPUCTL_THROTTLE_HW_THERMAL |
                              GPUCTL_THROTTLE_HW_POWER_BRAKE)) != 0)
VALUE(v_healthy, true, h->state == HEALTH_HEALTHY)
VALUE(v_degraded, true, h->state == HEALTH_DEGRADED)
VALUE(v_unhealthy, true, h->state == HEALTH_UNHEALTHY)
VALUE(v_last_xid, h->has_xid, h->last_xid)
VALUE(v_xids, true, h->xid_events)

/* One series per GPU; rows of one family follow each other, the first carries HELP and TYPE. */
static const struct gpu_series {
    const char *family, *type, *help;
    const char *label; /* an extra label="value" pair, or NULL */
    gpu_value_fn value;
} gpu_series[] = {
    {"gpuctl_gpu_up", "gauge", "Whether the driver can use the GPU (1) or not (0).", NULL, v_up},
    {"gpuctl_gpu_utilization_ratio", "gauge",
     "Fraction of the last sample period the GPU was busy.", NULL, v_util},
    {"gpuctl_gpu_memory_utilization_ratio", "gauge",
     "Fraction of the last sample period GPU memory was being read or written.", NULL, v_mem_util},
    {"gpuctl_gpu_memory_used_bytes", "gauge", "GPU memory in use.", NULL, v_mem_used},
    {"gpuctl_gpu_memory_free_bytes", "gauge", "GPU memory free.", NULL, v_mem_free},
    {"gpuctl_gpu_memory_total_bytes", "gauge", "GPU memory in all.", NULL, v_mem_total},
    {"gpuctl_gpu_memory_reserved_bytes", "gauge", "GPU memory the driver and firmware keep.", NULL,
     v_mem_reserved},
    {"gpuctl_gpu_temperature_celsius", "gauge", "GPU temperature.", NULL, v_temp},
    {"gpuctl_gpu_junction_temperature_celsius", "gauge", "Hottest spot of the GPU die.", NULL,
     v_temp_junction},
    {"gpuctl_gpu_power_draw_watts", "gauge", "Power the GPU draws.", NULL, v_power},
    {"gpuctl_gpu_power_limit_watts", "gauge", "Power limit the GPU is held to.", NULL,
     v_power_limit},
    {"gpuctl_gpu_clock_hertz", "gauge", "Current clock of the GPU's engines.", "clock=\"graphics\"",
     v_clock_sm},
    {"gpuctl_gpu_clock_hertz", NULL, NULL, "clock=\"memory\"", v_clock_mem},
    {"gpuctl_gpu_max_clock_hertz", "gauge", "Highest clock of the GPU's engines.",
     "clock=\"graphics\"", v_clock_sm_max},
    {"gpuctl_gpu_max_clock_hertz", NULL, NULL, "clock=\"memory\"", v_clock_mem_max},
    {"gpuctl_gpu_fan_speed_ratio", "gauge", "Fan speed as a fraction of its maximum.", NULL, v_fan},
    {"gpuctl_gpu_processes", "gauge", "Processes using the GPU.", NULL, v_processes},
    {"gpuctl_gpu_hardware_slowdown", "gauge",
     "Whether the hardware slows the GPU down now (thermal, power brake, slowdown).", NULL,
     v_hw_slowdown},
    {"gpuctl_gpu_ecc_errors_total", "counter", "Memory errors since the driver loaded.",
     "type=\"corrected\"", v_ecc_corrected},
    {"gpuctl_gpu_ecc_errors_total", NULL, NULL, "type=\"uncorrected\"", v_ecc_uncorrected},
    {"gpuctl_gpu_row_remap_pending", "gauge", "Whether a memory row remapping waits for a reset.",
     NULL, v_remap_pending},
    {"gpuctl_gpu_row_remap_failed", "gauge", "Whether a memory row could not be remapped.", NULL,
     v_remap_failed},
    {"gpuctl_gpu_health", "gauge", "The GPU's health: 1 for its state, 0 for the others.",
     "state=\"healthy\"", v_healthy},
    {"gpuctl_gpu_health", NULL, NULL, "state=\"degraded\"", v_degraded},
    {"gpuctl_gpu_health", NULL, NULL, "state=\"unhealthy\"", v_unhealthy},
    {"gpuctl_gpu_last_xid", "gauge", "The last Xid error the GPU reported.", NULL, v_last_xid},
    {"gpuctl_gpu_xid_errors_total", "counter",
     "Xid errors since the daemon started (application Xids are not counted).", NULL, v_xids},
};

/* Appends s as a label value: backslash, double quote and newline escaped. */
static void add_label_value(struct buf *out, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        buf_add(out, run, (size_t)(s - run));
        buf_add(out, esc, 2);
        run = s + 1;
    }
    buf_add(out, run, (size_t)(s - run));
}

/* The labels every series of GPU i carries, without braces. */
static void gpu_labels(struct buf *out, const struct snapshot *s, size_t i)
{
    const struct gpuctl_device *d = &s->devs[i];

    buf_printf(out, "gpu=\"%zu\",device=\"", i);
    add_label_value(out, d->device);
    buf_add(out, "\",uuid=\"", 8);
    add_label_value(out, d->uuid);
    buf_add(out, "\",model=\"", 9);
    add_label_value(out, d->name);
    buf_add(out, "\"", 1);
}

static void add_value(struct buf *out, double v)
{
    if (v == (double)(long long)v && v < 9e15 && v > -9e15)
        buf_printf(out, " %lld\n", (long long)v);
    else
        buf_printf(out, " %.10g\n", v);
}

static void header(struct buf *out, const char *family, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", family, help, family, type);
}

/* The gpuctl_gpu_info family: 1 per GPU, with what identifies it. */
static void gpu_info(struct buf *out, const struct snapshot *s, size_t ngpus)
{
    header(out, "gpuctl_gpu_info", "gauge",
           "Identity of each GPU; the value is always 1, the labels carry the facts.");
    for (size_t i = 0; i < ngpus; i++) {
        const struct gpuctl_device *d = &s->devs[i];
        buf_add(out, "gpuctl_gpu_info{", 16);
        gpu_labels(out, s, i);
        buf_printf(out, ",vendor=\"%s\",pci_bus_id=\"", gpuctl_vendor_name(d->vendor));
        add_label_value(out, d->pci_bus_id);
        buf_add(out, "\",driver_version=\"", 18);
        add_label_value(out, d->vendor == GPUCTL_VENDOR_NVIDIA ? s->sys.driver_version : "");
        buf_add(out, "\"} 1\n", 5);
    }
}

void metrics_gpus(struct buf *out, const struct snapshot *s)
{
    size_t ngpus = render_gpu_count(s);

    gpu_info(out, s, ngpus);
    for (size_t r = 0; r < sizeof(gpu_series) / sizeof(gpu_series[0]); r++) {
        const struct gpu_series *m = &gpu_series[r];
        if (m->type)
            header(out, m->family, m->type, m->help);
        for (size_t i = 0; i < ngpus; i++) {
            double v;
            if (!m->value(&s->devs[i], &s->health[i], &v))
                continue;
            buf_printf(out, "%s{", m->family);
            gpu_labels(out, s, i);
            if (m->label)
                buf_printf(out, ",%s", m->label);
            buf_add(out, "}", 1);
            add_value(out, v);
        }
    }
}

static void requests(struct buf *out, const struct metrics_daemon *d)
{
    header(out, "gpuctl_http_requests_total", "counter",
           "HTTP requests answered, by route and status code.");
    for (size_t i = 0; i < d->n_requests; i++) {
        buf_add(out, "gpuctl_http_requests_total{route=\"", 34);
        add_label_value(out, d->requests[i].route);
        buf_printf(out, "\",code=\"%u\"} %llu\n", d->requests[i].code,
                   (unsigned long long)d->requests[i].count);
    }
}

void metrics_daemon(struct buf *out, const struct metrics_daemon *d, const struct snapshot *s)
{
    const struct monitor_counters *c = &d->sampler;

    header(out, "gpuctl_build_info", "gauge", "The gpuctl version serving; always 1.");
    buf_add(out, "gpuctl_build_info{version=\"", 27);
    add_label_value(out, d->version);
    buf_add(out, "\"} 1\n", 5);
    header(out, "gpuctl_uptime_seconds", "gauge", "Seconds since the daemon started.");
    buf_printf(out, "gpuctl_uptime_seconds %.3f\n", (double)(d->now_ms - d->started_ms) / 1000.0);
    header(out, "gpuctl_last_sample_timestamp_seconds", "gauge",
           "When the sampler last read the devices (unix time).");
    buf_printf(out, "gpuctl_last_sample_timestamp_seconds %.3f\n", (double)s->taken_ms / 1000.0);
    header(out, "gpuctl_sampler_duration_seconds", "summary",
           "Time the sampler spends reading every device once.");
    buf_printf(out, "gpuctl_sampler_duration_seconds_sum %.9f\n", c->total_seconds);
    buf_printf(out, "gpuctl_sampler_duration_seconds_count %llu\n", (unsigned long long)c->runs);
    header(out, "gpuctl_sampler_failures_total", "counter", "Samples whose reading failed.");
    buf_printf(out, "gpuctl_sampler_failures_total %llu\n", (unsigned long long)c->failures);
    header(out, "gpuctl_hardware_events_total", "counter",
           "XID and ECC events the hardware delivered.");
    buf_printf(out, "gpuctl_hardware_events_total %llu\n", (unsigned long long)c->events);
    header(out, "gpuctl_store_write_errors_total", "counter",
           "Per-minute rows that could not be written to the state database.");
    buf_printf(out, "gpuctl_store_write_errors_total %llu\n", (unsigned long long)c->store_errors);
    header(out, "gpuctl_event_stream_clients", "gauge", "Clients following /api/v1/gpu/events.");
    buf_printf(out, "gpuctl_event_stream_clients %zu\n", d->sse_clients);
    requests(out, d);
}
