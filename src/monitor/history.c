/* history.c: rings of compact samples per device. */
#include "monitor/history.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct ring {
    size_t head, count; /* the next slot to write; how many are filled */
};

struct history {
    pthread_mutex_t lock; /* guards every ring; held for one add or one scan */
    size_t ndev, capacity;
    struct ring *rings;
    struct hsample *samples; /* ndev * capacity */
};

struct history *history_new(size_t ndev, size_t capacity)
{
    struct history *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->ndev = ndev;
    h->capacity = capacity ? capacity : 1;
    h->rings = calloc(ndev + 1, sizeof(*h->rings));
    h->samples = calloc((ndev ? ndev : 1) * h->capacity, sizeof(*h->samples));
    if (!h->rings || !h->samples) {
        history_free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    if (h->rings && h->samples)
        pthread_mutex_destroy(&h->lock);
    free(h->rings);
    free(h->samples);
    free(h);
}

struct hsample hsample_of(const struct gpuctl_device *d, int64_t t_ms)
{
    struct hsample s = {.t_ms = t_ms};

    if (gpuctl_device_has(d, GPUCTL_M_UTIL_GPU)) {
        s.util = (uint8_t)d->utilization_gpu_percent;
        s.flags |= HS_UTIL;
    }
    if (gpuctl_device_has(d, GPUCTL_M_MEMORY_USED)) {
        s.mem_used_mib = (uint32_t)(d->memory_used_bytes >> 20);
        s.flags |= HS_MEMORY;
    }
    if (gpuctl_device_has(d, GPUCTL_M_TEMPERATURE)) {
        s.temperature_c = (int16_t)d->temperature_c;
        s.flags |= HS_TEMPERATURE;
    }
    if (gpuctl_device_has(d, GPUCTL_M_POWER_DRAW)) {
        s.power_mw = d->power_draw_mw;
        s.flags |= HS_POWER;
    }
    return s;
}

void history_add(struct history *h, size_t dev, const struct hsample *s)
{
    struct ring *r;

    if (dev >= h->ndev)
        return;
    pthread_mutex_lock(&h->lock);
    r = &h->rings[dev];
    h->samples[dev * h->capacity + r->head] = *s;
    r->head = (r->head + 1) % h->capacity;
    if (r->count < h->capacity)
        r->count++;
    pthread_mutex_unlock(&h->lock);
}

/* Adds one sample to running sums (util, memory, temperature, power) and peaks. */
static void accumulate(struct hstats *st, const struct hsample *s, double sums[4])
{
    if (st->samples++ == 0)
        st->first_ms = s->t_ms;
    st->last_ms = s->t_ms;
    if (s->flags & HS_UTIL) {
        sums[0] += s->util;
        st->n_util++;
        st->util_peak = s->util > st->util_peak ? s->util : st->util_peak;
    }
    if (s->flags & HS_MEMORY) {
        sums[1] += s->mem_used_mib;
        st->n_memory++;
        st->memory_peak_mib =
            s->mem_used_mib > st->memory_peak_mib ? s->mem_used_mib : st->memory_peak_mib;
    }
    if (s->flags & HS_TEMPERATURE) {
        sums[2] += s->temperature_c;
        st->temperature_peak = st->n_temperature++ == 0 || s->temperature_c > st->temperature_peak
                                   ? s->temperature_c
                                   : st->temperature_peak;
    }
    if (s->flags & HS_POWER) {
        sums[3] += s->power_mw;
        st->n_power++;
        st->power_peak_mw = s->power_mw > st->power_peak_mw ? s->power_mw : st->power_peak_mw;
    }
}

void history_stats(struct history *h, size_t dev, int64_t since_ms, struct hstats *out)
{
    double sums[4] = {0};

    memset(out, 0, sizeof(*out));
    if (dev >= h->ndev)
        return;
    pthread_mutex_lock(&h->lock);
    {
        const struct ring *r = &h->rings[dev];
        const struct hsample *base = &h->samples[dev * h->capacity];
        size_t start = (r->head + h->capacity - r->count) % h->capacity;
        for (size_t i = 0; i < r->count; i++) {
            const struct hsample *s = &base[(start + i) % h->capacity];
            if (s->t_ms >= since_ms)
                accumulate(out, s, sums);
        }
    }
    pthread_mutex_unlock(&h->lock);
    out->util_avg = out->n_util ? sums[0] / (double)out->n_util : 0;
    out->memory_avg_mib = out->n_memory ? sums[1] / (double)out->n_memory : 0;
    out->temperature_avg = out->n_temperature ? sums[2] / (double)out->n_temperature : 0;
    out->power_avg_mw = out->n_power ? sums[3] / (double)out->n_power : 0;
}

int64_t history_oldest_ms(struct history *h, size_t dev)
{
    int64_t t = 0;

    if (dev >= h->ndev)
        return 0;
    pthread_mutex_lock(&h->lock);
    {
        const struct ring *r = &h->rings[dev];
        if (r->count)
            t = h->samples[dev * h->capacity + (r->head + h->capacity - r->count) % h->capacity]
                    .t_ms;
    }
    pthread_mutex_unlock(&h->lock);
    return t;
}

double history_span(const struct history *h, double interval_s)
{
    return (double)h->capacity * interval_s;
}
