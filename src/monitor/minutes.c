/* minutes.c: per-minute aggregates of samples, and windows that span them. */
#include "monitor/minutes.h"

#include <string.h>

#include "util/banned.h"
#include "util/str.h"

#define MIB (1024.0 * 1024.0)

int64_t minute_of(int64_t t_ms)
{
    return t_ms / 60000 * 60;
}

void minute_acc_add(struct minute_acc *acc, const struct hsample *s)
{
    if (acc->samples++ == 0)
        acc->minute = minute_of(s->t_ms);
    if (s->flags & HS_UTIL) {
        acc->n_util++;
        acc->util_sum += s->util;
        acc->util_max = s->util > acc->util_max ? s->util : acc->util_max;
    }
    if (s->flags & HS_MEMORY) {
        uint64_t bytes = (uint64_t)s->mem_used_mib << 20;
        acc->n_memory++;
        acc->memory_sum += (double)bytes;
        acc->memory_max = bytes > acc->memory_max ? bytes : acc->memory_max;
    }
    if (s->flags & HS_TEMPERATURE) {
        if (acc->n_temperature++ == 0 || s->temperature_c > acc->temperature_max)
            acc->temperature_max = s->temperature_c;
        acc->temperature_sum += s->temperature_c;
    }
    if (s->flags & HS_POWER) {
        double w = s->power_mw / 1000.0;
        acc->n_power++;
        acc->power_sum_w += w;
        acc->power_max_w = w > acc->power_max_w ? w : acc->power_max_w;
    }
}

bool minute_acc_take(struct minute_acc *acc, const char *key, struct minute_row *row)
{
    bool any = acc->samples > 0;

    memset(row, 0, sizeof(*row));
    if (any) {
        str_copy(row->uuid, key, sizeof(row->uuid));
        row->minute = acc->minute;
        row->samples = acc->samples;
        row->has_util = acc->n_util > 0;
        row->util_avg = acc->n_util ? acc->util_sum / (double)acc->n_util : 0;
        row->util_max = acc->util_max;
        row->has_memory = acc->n_memory > 0;
        row->memory_used_avg = acc->n_memory ? acc->memory_sum / (double)acc->n_memory : 0;
        row->memory_used_max = acc->memory_max;
        row->has_temperature = acc->n_temperature > 0;
        row->temperature_avg =
            acc->n_temperature ? acc->temperature_sum / (double)acc->n_temperature : 0;
        row->temperature_max = acc->temperature_max;
        row->has_power = acc->n_power > 0;
        row->power_avg_w = acc->n_power ? acc->power_sum_w / (double)acc->n_power : 0;
        row->power_max_w = acc->power_max_w;
    }
    memset(acc, 0, sizeof(*acc));
    return any;
}

/* Widens st's time span to [first_ms, last_ms]. */
static void span(struct hstats *st, int64_t first_ms, int64_t last_ms)
{
    if (st->samples == 0 || first_ms < st->first_ms)
        st->first_ms = first_ms;
    if (st->samples == 0 || last_ms > st->last_ms)
        st->last_ms = last_ms;
}

void hstats_add_minute(struct hstats *st, const struct minute_row *r)
{
    size_t n = r->samples;

    span(st, r->minute * 1000, r->minute * 1000 + 59999);
    st->samples += n;
    if (r->has_util) {
        st->n_util += n;
        st->util_avg += r->util_avg * (double)n;
        st->util_peak = r->util_max > st->util_peak ? r->util_max : st->util_peak;
    }
    if (r->has_memory) {
        uint32_t peak = (uint32_t)(r->memory_used_max >> 20);
        st->n_memory += n;
        st->memory_avg_mib += r->memory_used_avg / MIB * (double)n;
        st->memory_peak_mib = peak > st->memory_peak_mib ? peak : st->memory_peak_mib;
    }
    if (r->has_temperature) {
        if (st->n_temperature == 0 || r->temperature_max > st->temperature_peak)
            st->temperature_peak = r->temperature_max;
        st->n_temperature += n;
        st->temperature_avg += r->temperature_avg * (double)n;
    }
    if (r->has_power) {
        uint32_t peak = (uint32_t)(r->power_max_w * 1000.0);
        st->n_power += n;
        st->power_avg_mw += r->power_avg_w * 1000.0 * (double)n;
        st->power_peak_mw = peak > st->power_peak_mw ? peak : st->power_peak_mw;
    }
}

void hstats_add_stats(struct hstats *st, const struct hstats *p)
{
    if (p->samples == 0)
        return;
    span(st, p->first_ms, p->last_ms);
    st->samples += p->samples;
    st->util_avg += p->util_avg * (double)p->n_util;
    st->n_util += p->n_util;
    if (p->util_peak > st->util_peak)
        st->util_peak = p->util_peak;
    st->memory_avg_mib += p->memory_avg_mib * (double)p->n_memory;
    st->n_memory += p->n_memory;
    if (p->memory_peak_mib > st->memory_peak_mib)
        st->memory_peak_mib = p->memory_peak_mib;
    if (p->n_temperature && (st->n_temperature == 0 || p->temperature_peak > st->temperature_peak))
        st->temperature_peak = p->temperature_peak;
    st->temperature_avg += p->temperature_avg * (double)p->n_temperature;
    st->n_temperature += p->n_temperature;
    st->power_avg_mw += p->power_avg_mw * (double)p->n_power;
    st->n_power += p->n_power;
    if (p->power_peak_mw > st->power_peak_mw)
        st->power_peak_mw = p->power_peak_mw;
}

void hstats_finish(struct hstats *st)
{
    st->util_avg = st->n_util ? st->util_avg / (double)st->n_util : 0;
    st->memory_avg_mib = st->n_memory ? st->memory_avg_mib / (double)st->n_memory : 0;
    st->temperature_avg = st->n_temperature ? st->temperature_avg / (double)st->n_temperature : 0;
    st->power_avg_mw = st->n_power ? st->power_avg_mw / (double)st->n_power : 0;
}
