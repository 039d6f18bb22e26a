/* snapshot.c: immutable, reference-counted copies of what the sampler saw. */
#include "monitor/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void free_devices(struct gpuctl_device *devs, size_t n)
{
    for (size_t i = 0; devs && i < n; i++)
        free(devs[i].processes);
    free(devs);
}

/* A snapshot for n devices with nothing copied yet; NULL when out of memory. */
static struct snapshot *alloc_snapshot(size_t n, uint64_t seq, int64_t taken_ms)
{
    struct snapshot *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->seq = seq;
    s->taken_ms = taken_ms;
    s->n = n;
    s->devs = calloc(n + 1, sizeof(*s->devs));
    s->health = calloc(n + 1, sizeof(*s->health));
    if (!s->devs || !s->health) {
        free(s->devs);
        free(s->health);
        free(s);
        return NULL;
    }
    return s;
}

/* Deep-copies src into dst, its process list included. Returns false when out of memory. */
static bool copy_device(struct gpuctl_device *dst, const struct gpuctl_device *src)
{
    *dst = *src;
    dst->processes = NULL;
    if (!src->process_count)
        return true;
    dst->processes = malloc(src->process_count * sizeof(*src->processes));
    if (!dst->processes)
        return false;
    memcpy(dst->processes, src->processes, src->process_count * sizeof(*src->processes));
    return true;
}

struct snapshot *snapshot_new(const struct gpuctl *g, const struct device_health *health,
                              uint64_t seq, int64_t taken_ms)
{
    struct snapshot *s = alloc_snapshot(gpuctl_device_count(g), seq, taken_ms);

    if (!s)
        return NULL;
    s->sys = *gpuctl_system(g);
    for (size_t i = 0; i < s->n; i++) {
        if (!copy_device(&s->devs[i], gpuctl_device_at(g, i))) {
            snapshot_unref(s);
            return NULL;
        }
        if (health)
            s->health[i] = health[i];
    }
    return s;
}

struct snapshot *snapshot_with_health(const struct snapshot *old,
                                      const struct device_health *health, uint64_t seq)
{
    struct snapshot *s = alloc_snapshot(old->n, seq, old->taken_ms);

    if (!s)
        return NULL;
    s->sys = old->sys;
    s->sample_seconds = old->sample_seconds;
    for (size_t i = 0; i < s->n; i++) {
        if (!copy_device(&s->devs[i], &old->devs[i])) {
            snapshot_unref(s);
            return NULL;
        }
        s->health[i] = health[i];
    }
    return s;
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void snapshot_unref(struct snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    free_devices(s->devs, s->n);
    free(s->health);
    free(s);
}
