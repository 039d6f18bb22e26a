/* health.c: GPU health from conditions with a recovery hold. */
#include "monitor/health.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/log.h"
#include "util/str.h"

/* What the common XIDs mean (NVIDIA's XID catalog), for messages. */
static const struct {
    int xid;
    const char *meaning;
} xid_meanings[] = {
    {13, "graphics engine exception"},
    {31, "GPU memory page fault"},
    {43, "GPU stopped processing"},
    {45, "preemptive cleanup"},
    {48, "double-bit ECC error"},
    {68, "video processor exception"},
    {74, "NVLink error"},
    {79, "the GPU has fallen off the bus"},
    {94, "contained ECC error"},
    {95, "uncontained ECC error"},
    {109, "context switch timeout"},
    {119, "GSP RPC timeout"},
    {120, "GSP error"},
    {140, "unrecovered ECC error"},
};

#define SLOWDOWN_BITS                                                                              \
    (GPUCTL_THROTTLE_HW_SLOWDOWN | GPUCTL_THROTTLE_HW_THERMAL | GPUCTL_THROTTLE_HW_POWER_BRAKE)
#define SLOWDOWN_RING CONFIG_MAX_SLOWDOWN_EVENTS

/* What health keeps per device beyond what it shows. */
struct tracked {
    struct device_health shown;
    uint64_t ecc_uncorrected;        /* the last count observed */
    uint64_t ecc_acknowledged;       /* the count an admin reset accepted */
    int64_t slowdown[SLOWDOWN_RING]; /* when samples showed a hardware slowdown */
    size_t nslow, head;
};

struct health {
    pthread_mutex_t lock; /* guards devs; taken by the event thread, the sampler and requests */
    const struct health_config *cfg;
    size_t n;
    struct tracked *devs;
};

const char *health_state_name(enum health_state s)
{
    static const char *const names[] = {"healthy", "degraded", "unhealthy"};

    return (unsigned)s < 3 ? names[s] : "unknown";
}

struct health *health_new(const struct health_config *cfg, size_t ndev, int64_t now_ms)
{
    struct health *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->devs = calloc(ndev + 1, sizeof(*h->devs));
    if (!h->devs) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    h->cfg = cfg;
    h->n = ndev;
    for (size_t i = 0; i < ndev; i++)
        h->devs[i].shown.since_ms = now_ms;
    return h;
}

void health_free(struct health *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h->devs);
    free(h);
}

/* Raises (or refreshes) the condition `key` of a device; the caller holds the lock. */
static void raise_condition(struct device_health *d, enum health_state severity, const char *key,
                            const char *what, int64_t now_ms)
{
    struct health_condition *c = NULL;

    for (size_t i = 0; i < d->nconditions && !c; i++)
        if (strcmp(d->conditions[i].key, key) == 0)
            c = &d->conditions[i];
    if (!c && d->nconditions == HEALTH_MAX_CONDITIONS) /* full: replace the oldest */
        c = &d->conditions[0];
    if (!c) {
        c = &d->conditions[d->nconditions++];
        memset(c, 0, sizeof(*c));
    }
    if (strcmp(c->key, key) != 0) {
        str_copy(c->key, key, sizeof(c->key));
        c->first_ms = now_ms;
    }
    c->severity = severity;
    str_copy(c->what, what, sizeof(c->what));
    c->last_ms = now_ms;
}

static const char *xid_meaning(int xid)
{
    for (size_t i = 0; i < sizeof(xid_meanings) / sizeof(xid_meanings[0]); i++)
        if (xid_meanings[i].xid == xid)
            return xid_meanings[i].meaning;
    return "see NVIDIA's XID catalog";
}

void health_xid(struct health *h, size_t dev, int xid, int64_t now_ms)
{
    char key[16], what[128];
    struct device_health *d;

    if (dev >= h->n)
        return;
    if (xid_listed(&h->cfg->ignored, xid)) {
        log_info("GPU %zu: XID %d (%s), an application error: not counted", dev, xid,
                 xid_meaning(xid));
        return;
    }
    pthread_mutex_lock(&h->lock);
    d = &h->devs[dev].shown;
    d->has_xid = true;
    d->last_xid = xid;
    d->last_xid_ms = now_ms;
    d->xid_events++;
    snprintf(key, sizeof(key), "xid:%d", xid);
    snprintf(what, sizeof(what), "XID %d: %s", xid, xid_meaning(xid));
    if (xid_listed(&h->cfg->unhealthy, xid))
        raise_condition(d, HEALTH_UNHEALTHY, key, what, now_ms);
    else if (xid_listed(&h->cfg->degraded, xid))
        raise_condition(d, HEALTH_DEGRADED, key, what, now_ms);
    pthread_mutex_unlock(&h->lock);
    log_warn("GPU %zu: XID %d (%s)", dev, xid, xid_meaning(xid));
}

void health_ecc_event(struct health *h, size_t dev, int64_t now_ms)
{
    if (dev >= h->n)
        return;
    pthread_mutex_lock(&h->lock);
    raise_condition(&h->devs[dev].shown, HEALTH_UNHEALTHY, "ecc",
                    "double-bit (uncorrectable) ECC error", now_ms);
    pthread_mutex_unlock(&h->lock);
    log_warn("GPU %zu: double-bit ECC error", dev);
}

/* Counts a sample that showed a hardware slowdown; true when the last slowdown_events of them
 * fall within slowdown_window. */
static bool slowdown_burst(const struct health_config *cfg, struct tracked *t, int64_t now_ms)
{
    size_t need = cfg->slowdown_events < SLOWDOWN_RING ? cfg->slowdown_events : SLOWDOWN_RING;
    int64_t oldest;

    t->slowdown[t->head] = now_ms;
    t->head = (t->head + 1) % SLOWDOWN_RING;
    if (t->nslow < SLOWDOWN_RING)
        t->nslow++;
    if (t->nslow < need)
        return false;
    oldest = t->slowdown[(t->head + SLOWDOWN_RING - need) % SLOWDOWN_RING];
    return (double)(now_ms - oldest) <= cfg->slowdown_window * 1000.0;
}

static void observe_locked(struct health *h, struct tracked *t, const struct gpuctl_device *d,
                           int64_t now_ms)
{
    char what[192];

    if (d->state == GPUCTL_STATE_LOST)
        raise_condition(&t->shown, HEALTH_UNHEALTHY, "lost", "the GPU is lost", now_ms);
    if (d->state == GPUCTL_STATE_ERROR) {
        snprintf(what, sizeof(what), "the driver cannot use the GPU: %s", d->state_message);
        raise_condition(&t->shown, HEALTH_UNHEALTHY, "error", what, now_ms);
    }
    if (gpuctl_device_has(d, GPUCTL_M_ECC)) {
        /* Volatile double-bit errors stay until the GPU is reset: the condition holds while the
         * count is above what an admin reset accepted (a driver reload clears the count). */
        t->ecc_uncorrected = d->ecc_uncorrected;
        if (t->ecc_acknowledged > d->ecc_uncorrected)
            t->ecc_acknowledged = d->ecc_uncorrected;
        if (d->ecc_uncorrected > t->ecc_acknowledged) {
            snprintf(what, sizeof(what),
                     "%llu double-bit ECC errors since the driver loaded: reset the GPU",
                     (unsigned long long)d->ecc_uncorrected);
            raise_condition(&t->shown, HEALTH_UNHEALTHY, "ecc", what, now_ms);
        }
    }
    if (gpuctl_device_has(d, GPUCTL_M_REMAP) && d->remap_failed)
        raise_condition(&t->shown, HEALTH_UNHEALTHY, "remap",
                        "row remapping failed: the memory is failing", now_ms);
    else if (gpuctl_device_has(d, GPUCTL_M_REMAP) && d->remap_pending)
        raise_condition(&t->shown, HEALTH_DEGRADED, "remap", "row remapping pending: reset the GPU",
                        now_ms);
    if (gpuctl_device_has(d, GPUCTL_M_THROTTLE) && (d->throttle_reasons & SLOWDOWN_BITS) &&
        slowdown_burst(h->cfg, t, now_ms)) {
        snprintf(what, sizeof(what), "hardware slowdown in %u samples within %.0f s",
                 h->cfg->slowdown_events, h->cfg->slowdown_window);
        raise_condition(&t->shown, HEALTH_DEGRADED, "slowdown", what, now_ms);
    }
}

void health_observe(struct health *h, size_t dev, const struct gpuctl_device *d, int64_t now_ms)
{
    if (dev >= h->n)
        return;
    pthread_mutex_lock(&h->lock);
    observe_locked(h, &h->devs[dev], d, now_ms);
    pthread_mutex_unlock(&h->lock);
}

/* Drops a device's conditions clear for the hold; returns its state from those left. */
static enum health_state settle(struct device_health *d, int64_t now_ms, double hold_s)
{
    enum health_state worst = HEALTH_HEALTHY;
    size_t kept = 0;

    for (size_t i = 0; i < d->nconditions; i++) {
        if ((double)(now_ms - d->conditions[i].last_ms) > hold_s * 1000.0)
            continue;
        d->conditions[kept++] = d->conditions[i];
        if (d->conditions[i].severity > worst)
            worst = d->conditions[i].severity;
    }
    d->nconditions = kept;
    return worst;
}

size_t health_evaluate(struct health *h, int64_t now_ms, struct device_health *out, size_t n,
                       bool *changed)
{
    size_t count = 0;

    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n; i++) {
        struct device_health *d = &h->devs[i].shown;
        enum health_state now = settle(d, now_ms, h->cfg->recovery_hold);
        bool moved = now != d->state;
        if (moved) {
            log_warn("GPU %zu: %s -> %s", i, health_state_name(d->state), health_state_name(now));
            d->state = now;
            d->since_ms = now_ms;
            count++;
        }
        if (changed && i < n)
            changed[i] = moved;
        if (out && i < n)
            out[i] = *d;
    }
    pthread_mutex_unlock(&h->lock);
    return count;
}

int health_reset(struct health *h, size_t dev, int64_t now_ms)
{
    struct tracked *t;

    if (dev >= h->n)
        return GPUCTL_ERANGE;
    pthread_mutex_lock(&h->lock);
    t = &h->devs[dev];
    t->shown.nconditions = 0;
    t->nslow = t->head = 0;
    t->ecc_acknowledged = t->ecc_uncorrected;
    if (t->shown.state != HEALTH_HEALTHY) {
        t->shown.state = HEALTH_HEALTHY;
        t->shown.since_ms = now_ms;
    }
    pthread_mutex_unlock(&h->lock);
    log_warn("GPU %zu: health reset by an admin", dev);
    return 0;
}
