/* render_health.c: health, monitoring windows and the SSE events as JSON. */
#include "api/render.h"

#include <math.h>
#include <stdio.h>

#include "util/banned.h"

/* Who a GPU is, in every answer about one GPU. */
static void add_who(json_t *o, const struct snapshot *s, size_t i)
{
    const struct gpuctl_device *d = &s->devs[i];

    json_object_set_new(o, "index", json_integer((json_int_t)i));
    json_object_set_new(o, "device", json_string(d->device));
    json_object_set_new(o, "uuid", d->uuid[0] ? json_string(d->uuid) : json_null());
    json_object_set_new(o, "name", json_string(d->name));
}

static json_t *conditions(const struct device_health *h, double hold_s)
{
    json_t *list = json_array();

    for (size_t k = 0; k < h->nconditions; k++) {
        const struct health_condition *c = &h->conditions[k];
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "severity", health_state_name(c->severity),
                      "condition", c->key, "message", c->what, "first_seen",
                      render_time(c->first_ms), "last_seen", render_time(c->last_ms), "clears_at",
                      render_time(c->last_ms + (int64_t)llround(hold_s * 1000.0))));
    }
    return list;
}

json_t *render_gpu_health(const struct snapshot *s, const struct config *cfg, size_t i)
{
    const struct device_health *h = &s->health[i];
    json_t *o = json_object();

    add_who(o, s, i);
    json_object_set_new(o, "state", json_string(health_state_name(h->state)));
    json_object_set_new(o, "since", render_time(h->since_ms));
    json_object_set_new(o, "device_state", json_string(gpuctl_state_name(s->devs[i].state)));
    json_object_set_new(o, "last_xid", h->has_xid ? json_integer(h->last_xid) : json_null());
    json_object_set_new(o, "last_xid_at", h->has_xid ? render_time(h->last_xid_ms) : json_null());
    json_object_set_new(o, "xid_events", json_integer((json_int_t)h->xid_events));
    json_object_set_new(o, "conditions", conditions(h, cfg->health.recovery_hold));
    return o;
}

json_t *render_health_list(const struct snapshot *s, const struct config *cfg)
{
    size_t counts[3] = {0};
    json_t *list = json_array();

    for (size_t i = 0; i < render_gpu_count(s); i++) {
        counts[s->health[i].state]++;
        json_array_append_new(list, render_gpu_health(s, cfg, i));
    }
    return json_pack("{s:i, s:i, s:i, s:f, s:o, s:o}", "healthy", (int)counts[HEALTH_HEALTHY],
                     "degraded", (int)counts[HEALTH_DEGRADED], "unhealthy",
                     (int)counts[HEALTH_UNHEALTHY], "recovery_hold_seconds",
                     cfg->health.recovery_hold, "devices", list, "timestamp",
                     render_time(s->taken_ms));
}

/* The figures of one sample of a GPU, null where it cannot report them. */
static void add_sample(json_t *o, const struct gpuctl_device *d)
{
    bool used = gpuctl_device_has(d, GPUCTL_M_MEMORY_USED);
    bool total = gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL) && d->memory_total_bytes > 0;

    json_object_set_new(o, "utilization_gpu_percent",
                        gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)
                            ? json_integer(d->utilization_gpu_percent)
                            : json_null());
    json_object_set_new(o, "memory_used_bytes",
                        used ? json_integer((json_int_t)d->memory_used_bytes) : json_null());
    json_object_set_new(o, "memory_total_bytes",
                        total ? json_integer((json_int_t)d->memory_total_bytes) : json_null());
    json_object_set_new(
        o, "memory_usage",
        render_ratio(used && total, (double)d->memory_used_bytes / (double)d->memory_total_bytes));
    json_object_set_new(o, "temperature_c",
                        gpuctl_device_has(d, GPUCTL_M_TEMPERATURE) ? json_integer(d->temperature_c)
                                                                   : json_null());
    json_object_set_new(
        o, "power_draw_w",
        render_real_or_null(gpuctl_device_has(d, GPUCTL_M_POWER_DRAW), d->power_draw_mw / 1000.0));
}

/* Statistics over a window as JSON; averages round to 2 decimals. */
static json_t *window_stats(const struct hstats *st)
{
#define R2(x) (round((x)*100.0) / 100.0)
    const double mib = 1024.0 * 1024.0;

    return json_pack(
        "{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples", (int)st->samples,
        "from", st->samples ? render_time(st->first_ms) : json_null(), "to",
        st->samples ? render_time(st->last_ms) : json_null(), "utilization_avg",
        render_real_or_null(st->n_util > 0, R2(st->util_avg)), "utilization_peak",
        st->n_util ? json_integer(st->util_peak) : json_null(), "memory_used_avg_bytes",
        st->n_memory ? json_integer((json_int_t)llround(st->memory_avg_mib * mib)) : json_null(),
        "memory_used_peak_bytes",
        st->n_memory ? json_integer((json_int_t)st->memory_peak_mib << 20) : json_null(),
        "temperature_avg", render_real_or_null(st->n_temperature > 0, R2(st->temperature_avg)),
        "temperature_peak", st->n_temperature ? json_integer(st->temperature_peak) : json_null(),
        "power_avg_w", render_real_or_null(st->n_power > 0, R2(st->power_avg_mw / 1000.0)),
        "power_peak_w", render_real_or_null(st->n_power > 0, st->power_peak_mw / 1000.0));
#undef R2
}

json_t *render_monitoring(const struct snapshot *s, struct monitor *m, double window_s)
{
    json_t *list = json_array();
    double util = 0, mem_used = 0, mem_total = 0;
    size_t n_util = 0;

    for (size_t i = 0; i < render_gpu_count(s); i++) {
        const struct gpuctl_device *d = &s->devs[i];
        struct hstats st;
        json_t *o = json_object(), *latest = json_object();
        monitor_window(m, i, window_s, &st);
        add_who(o, s, i);
        add_sample(latest, d);
        json_object_set_new(o, "latest", latest);
        json_object_set_new(o, "window", window_stats(&st));
        json_array_append_new(list, o);
        if (st.n_util) {
            util += st.util_avg / 100.0;
            n_util++;
        }
        if (st.n_memory && gpuctl_device_has(d, GPUCTL_M_MEMORY_TOTAL)) {
            mem_used += st.memory_avg_mib * 1024.0 * 1024.0;
            mem_total += (double)d->memory_total_bytes;
        }
    }
    return json_pack(
        "{s:f, s:f, s:o, s:{s:o, s:o}, s:o}", "window_seconds", window_s, "interval_seconds",
        monitor_interval(m), "timestamp", render_time(s->taken_ms), "utilization",
        "gpu_utilization", render_ratio(n_util > 0, util / (double)(n_util ? n_util : 1)),
        "gpu_memory_usage", render_ratio(mem_total > 0, mem_used / (mem_total ? mem_total : 1)),
        "devices", list);
}

json_t *render_sample_event(const struct snapshot *s, size_t i)
{
    json_t *o = json_object();

    add_who(o, s, i);
    add_sample(o, &s->devs[i]);
    json_object_set_new(o, "timestamp", render_time(s->taken_ms));
    return o;
}

json_t *render_health_event(const struct snapshot *s, const struct config *cfg, size_t i)
{
    json_t *o = render_gpu_health(s, cfg, i);

    json_object_set_new(o, "timestamp", render_time(s->taken_ms));
    return o;
}
