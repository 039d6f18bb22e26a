/* monitor.c: the sampler and event threads, and the snapshot they publish. */
#include "monitor/monitor.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/health.h"
#include "monitor/minutes.h"
#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/str.h"

#define EVENT_WAIT_MS  200
#define PRUNE_EVERY_MS (3600 * 1000)

struct monitor {
    const struct config *cfg;
    struct gpuctl *g;
    struct store *store;
    struct monitor_listener listener;
    struct health *health;
    struct history *history;
    size_t n; /* devices, the CPU included */
    int64_t interval_ms;

    /* The sampler thread's own (no lock): */
    struct minute_acc *minutes;
    struct hsample *announced; /* the last sample announced per device */
    bool *announced_valid;
    bool *health_changed;
    char (*keys)[96]; /* each device's name in the store */
    int64_t minute;   /* the minute m->minutes sums */
    int64_t next_prune_ms;

    pthread_t sampler, events;
    bool sampler_started, events_started;

    /* Serializes publishing with telling the listener, so that listeners hear changes in the
     * order the snapshots were published. Taken before lock. */
    pthread_mutex_t announce_lock;
    pthread_mutex_t lock; /* guards what follows; taken before health's lock */
    pthread_cond_t wake;  /* signalled on stop */
    bool stopping;
    struct snapshot *current;
    uint64_t seq;
    struct monitor_counters counters;
};

/* Waits up to ms or until stopped; the caller holds m->lock. Returns whether to stop. */
static bool wait_locked(struct monitor *m, int64_t ms)
{
    struct timespec until = clock_mono_after(ms > 0 ? ms : 0);

    while (!m->stopping)
        if (pthread_cond_timedwait(&m->wake, &m->lock, &until) == ETIMEDOUT)
            break;
    return m->stopping;
}

static bool wait_or_stop(struct monitor *m, int64_t ms)
{
    bool stop;

    pthread_mutex_lock(&m->lock);
    stop = wait_locked(m, ms);
    pthread_mutex_unlock(&m->lock);
    return stop;
}

/* Whether a sample moved far enough from the last announced one to be an event. */
static bool moved(const struct monitor *m, size_t i, const struct hsample *s,
                  const struct gpuctl_device *d)
{
    const struct hsample *a = &m->announced[i];
    double threshold = m->cfg->resource_change_threshold;

    if (!m->announced_valid[i] || a->flags != s->flags)
        return true;
    if ((s->flags & HS_UTIL) && fabs((double)s->util - a->util) / 100.0 >= threshold)
        return true;
    if ((s->flags & HS_MEMORY) && d->memory_total_bytes &&
        fabs((double)s->mem_used_mib - a->mem_used_mib) * 1048576.0 /
                (double)d->memory_total_bytes >=
            threshold)
        return true;
    return false;
}

/* Writes the minute that just ended to the store, and prunes the store once an hour. */
static void flush_minutes(struct monitor *m, int64_t now_ms)
{
    struct minute_row *rows = calloc(m->n + 1, sizeof(*rows));
    size_t k = 0;

    if (!rows)
        return;
    for (size_t i = 0; i < m->n; i++)
        if (minute_acc_take(&m->minutes[i], m->keys[i], &rows[k]))
            k++;
    if (m->store && k && store_put_minutes(m->store, rows, k) != 0) {
        pthread_mutex_lock(&m->lock);
        m->counters.store_errors += k;
        pthread_mutex_unlock(&m->lock);
    }
    free(rows);
    if (m->store && now_ms >= m->next_prune_ms) {
        store_prune(m->store, now_ms / 1000 - MONITOR_RETENTION_S);
        m->next_prune_ms = now_ms + PRUNE_EVERY_MS;
    }
}

/* Records each device's sample in its history and its minute. */
static void record(struct monitor *m, const struct snapshot *s)
{
    int64_t minute = minute_of(s->taken_ms);

    if (minute != m->minute) {
        flush_minutes(m, s->taken_ms);
        m->minute = minute;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct hsample hs = hsample_of(&s->devs[i], s->taken_ms);
        history_add(m->history, i, &hs);
        minute_acc_add(&m->minutes[i], &hs);
    }
}

/* Tells the listener what changed. */
static void announce(struct monitor *m, const struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct hsample hs = hsample_of(&s->devs[i], s->taken_ms);
        if (m->health_changed[i] && m->listener.changed)
            m->listener.changed(m->listener.ctx, s, i, MONITOR_HEALTH);
        if (!moved(m, i, &hs, &s->devs[i]))
            continue;
        m->announced[i] = hs;
        m->announced_valid[i] = true;
        if (m->listener.changed)
            m->listener.changed(m->listener.ctx, s, i, MONITOR_SAMPLE);
    }
}

/* Makes s the published snapshot, with the health as it stands now. */
static void publish(struct monitor *m, struct snapshot *s, bool refreshed)
{
    struct snapshot *old;

    pthread_mutex_lock(&m->lock);
    health_evaluate(m->health, s->taken_ms, s->health, s->n, m->health_changed);
    s->seq = ++m->seq;
    old = m->current;
    m->current = s;
    m->counters.runs++;
    m->counters.failures += !refreshed;
    m->counters.last_seconds = s->sample_seconds;
    m->counters.total_seconds += s->sample_seconds;
    pthread_mutex_unlock(&m->lock);
    snapshot_unref(old);
}

/* One pass: read the hardware, judge health, publish, record, announce. */
static void sample(struct monitor *m)
{
    double t0 = clock_mono_s();
    int rc = gpuctl_refresh(m->g);
    int64_t now_ms = clock_wall_ms();
    struct snapshot *s;

    if (rc != 0)
        log_warn("reading the devices failed: %s", gpuctl_strerror(rc));
    for (size_t i = 0; i < m->n; i++)
        health_observe(m->health, i, gpuctl_device_at(m->g, i), now_ms);
    s = snapshot_new(m->g, NULL, 0, now_ms);
    if (!s) {
        log_error("out of memory copying a sample");
        return;
    }
    s->sample_seconds = clock_mono_s() - t0;
    pthread_mutex_lock(&m->announce_lock);
    publish(m, s, rc == 0);
    announce(m, s);
    pthread_mutex_unlock(&m->announce_lock);
    record(m, s);
}

static void *sampler_main(void *arg)
{
    struct monitor *m = arg;
    int64_t next = clock_mono_ms();

    pthread_setname_np(pthread_self(), "gpuctl-sampler"); /* for top -H and the benchmark */

    for (;;) {
        int64_t now = clock_mono_ms();
        next += m->interval_ms;
        if (next < now) /* fell behind (a slow driver): skip, do not catch up in a burst */
            next = now;
        if (wait_or_stop(m, next - now))
            break;
        sample(m);
    }
    return NULL;
}

static void handle_event(struct monitor *m, const struct gpuctl_event *ev)
{
    int64_t now_ms = clock_wall_ms();

    pthread_mutex_lock(&m->lock);
    m->counters.events++;
    pthread_mutex_unlock(&m->lock);
    switch (ev->type) {
    case GPUCTL_EVENT_XID:
        health_xid(m->health, ev->device, (int)ev->data, now_ms);
        break;
    case GPUCTL_EVENT_ECC_DBE:
        health_ecc_event(m->health, ev->device, now_ms);
        break;
    case GPUCTL_EVENT_ECC_SBE:
        log_debug("GPU %zu: single-bit ECC error (corrected)", ev->device);
        break;
    case GPUCTL_EVENT_GPUS_LOST:
        break;
    }
}

/* Registers for hardware events before the daemon says it is ready, so that none raised from
 * then on is missed. Returns whether the hardware delivers any. */
static bool prime_events(struct monitor *m)
{
    struct gpuctl_event ev;
    int rc = gpuctl_wait_event(m->g, 0, &ev);

    if (rc == GPUCTL_ENOLIB) {
        log_info("no device delivers hardware events: health comes from samples alone");
        return false;
    }
    if (rc == 0 && ev.type != GPUCTL_EVENT_GPUS_LOST)
        handle_event(m, &ev);
    return true;
}

static void *events_main(void *arg)
{
    struct monitor *m = arg;
    bool lost_logged = false;

    pthread_setname_np(pthread_self(), "gpuctl-events");

    for (;;) {
        struct gpuctl_event ev;
        int rc;

        pthread_mutex_lock(&m->lock);
        if (m->stopping) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        pthread_mutex_unlock(&m->lock);
        rc = gpuctl_wait_event(m->g, EVENT_WAIT_MS, &ev);
        if (rc == GPUCTL_ENOLIB) {
            log_info("no device delivers hardware events: health comes from samples alone");
            pthread_mutex_lock(&m->lock);
            m->counters.events_available = false;
            pthread_mutex_unlock(&m->lock);
            break;
        }
        if (rc == GPUCTL_ENOENT)
            continue;
        if (rc == 0 && ev.type != GPUCTL_EVENT_GPUS_LOST) {
            handle_event(m, &ev);
            continue;
        }
        /* A lost GPU makes every wait fail at once: pause, and let the sampler name it. */
        if (rc == 0 && !lost_logged)
            log_warn("the driver reports a lost GPU; event waits pause for an interval");
        lost_logged = lost_logged || rc == 0;
        if (wait_or_stop(m, m->interval_ms))
            break;
    }
    return NULL;
}

/* The store's name for a device: its UUID, else its PCI address, else its device name. */
static void device_key(const struct gpuctl_device *d, char *out, size_t len)
{
    str_copy(out, d->uuid[0] ? d->uuid : d->pci_bus_id[0] ? d->pci_bus_id : d->device, len);
}

static void init_sync(struct monitor *m)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->announce_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &attr);
    pthread_condattr_destroy(&attr);
}

static struct monitor *monitor_alloc(const struct config *cfg, struct gpuctl *g)
{
    struct monitor *m = calloc(1, sizeof(*m));
    size_t n = gpuctl_device_count(g);
    double interval = cfg->monitor_update_interval;
    size_t capacity = (size_t)ceil(cfg->history / interval);

    if (!m)
        return NULL;
    init_sync(m);
    m->cfg = cfg;
    m->g = g;
    m->n = n;
    m->interval_ms = (int64_t)llround(interval * 1000.0);
    m->health = health_new(&cfg->health, n, clock_wall_ms());
    m->history = history_new(n, capacity);
    m->minutes = calloc(n + 1, sizeof(*m->minutes));
    m->announced = calloc(n + 1, sizeof(*m->announced));
    m->announced_valid = calloc(n + 1, sizeof(*m->announced_valid));
    m->health_changed = calloc(n + 1, sizeof(*m->health_changed));
    m->keys = calloc(n + 1, sizeof(*m->keys));
    if (!m->health || !m->history || !m->minutes || !m->announced || !m->announced_valid ||
        !m->health_changed || !m->keys) {
        monitor_stop(m, 0);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        device_key(gpuctl_device_at(g, i), m->keys[i], sizeof(m->keys[i]));
    return m;
}

int monitor_start(const struct config *cfg, struct gpuctl *g, struct store *store,
                  const struct monitor_listener *listener, struct monitor **out)
{
    struct monitor *m = monitor_alloc(cfg, g);

    if (!m)
        return GPUCTL_ENOMEM;
    m->store = store;
    if (listener)
        m->listener = *listener;
    sample(m);
    if (!m->current) {
        monitor_stop(m, 0);
        return GPUCTL_ENOMEM;
    }
    m->counters.events_available = prime_events(m);
    m->sampler_started = pthread_create(&m->sampler, NULL, sampler_main, m) == 0;
    m->events_started =
        m->counters.events_available && pthread_create(&m->events, NULL, events_main, m) == 0;
    if (!m->sampler_started || (m->counters.events_available && !m->events_started)) {
        monitor_stop(m, 1000);
        return GPUCTL_EIO;
    }
    *out = m;
    return 0;
}

/* Joins a thread by the deadline (CLOCK_REALTIME); returns whether it ended. */
static bool join_by(pthread_t t, const struct timespec *deadline)
{
    return pthread_timedjoin_np(t, NULL, deadline) == 0;
}

bool monitor_stop(struct monitor *m, unsigned timeout_ms)
{
    struct timespec deadline;
    bool sampler_ok, events_ok;

    if (!m)
        return true;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    deadline = clock_wall_after(timeout_ms);
    /* Both joins are tried: a thread that ended must be joined even when the other hangs. */
    sampler_ok = !m->sampler_started || join_by(m->sampler, &deadline);
    events_ok = !m->events_started || join_by(m->events, &deadline);
    if (!sampler_ok || !events_ok) {
        log_warn("a device read still hangs after %u ms: stopping without it", timeout_ms);
        return false; /* the threads still use m: leave it */
    }
    if (m->minutes && m->keys)
        flush_minutes(m, clock_wall_ms()); /* the minute under way, so a restart keeps it */
    pthread_mutex_destroy(&m->announce_lock);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    snapshot_unref(m->current);
    health_free(m->health);
    history_free(m->history);
    free(m->minutes);
    free(m->announced);
    free(m->announced_valid);
    free(m->health_changed);
    free(m->keys);
    free(m);
    return true;
}

struct snapshot *monitor_snapshot(struct monitor *m)
{
    struct snapshot *s;

    pthread_mutex_lock(&m->lock);
    s = snapshot_ref(m->current);
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* store_minutes()'s callback: folds rows that end before the history begins. */
struct fold {
    struct hstats *st;
    int64_t before_s;
};

static int fold_minute(void *ctx, const struct minute_row *r)
{
    struct fold *f = ctx;

    if (r->minute + 60 > f->before_s)
        return 1;
    hstats_add_minute(f->st, r);
    return 0;
}

int monitor_window(struct monitor *m, size_t dev, double seconds, struct hstats *out)
{
    int64_t now_ms = clock_wall_ms();
    int64_t since_ms = now_ms - (int64_t)(seconds * 1000.0);
    int64_t oldest_ms;
    struct hstats recent;

    if (dev >= m->n)
        return GPUCTL_ERANGE;
    memset(out, 0, sizeof(*out));
    oldest_ms = history_oldest_ms(m->history, dev);
    if (m->store && oldest_ms && since_ms < oldest_ms) {
        struct fold f = {out, oldest_ms / 1000};
        store_minutes(m->store, m->keys[dev], minute_of(since_ms), fold_minute, &f);
    }
    history_stats(m->history, dev, since_ms, &recent);
    hstats_add_stats(out, &recent);
    hstats_finish(out);
    return 0;
}

double monitor_max_window(const struct monitor *m)
{
    return m->store ? MONITOR_RETENTION_S
                    : history_span(m->history, m->cfg->monitor_update_interval);
}

int monitor_reset_health(struct monitor *m, size_t dev)
{
    struct device_health *health = calloc(m->n + 1, sizeof(*health));
    bool *changed = calloc(m->n + 1, sizeof(*changed));
    struct snapshot *s = NULL;
    bool was_healthy;
    int rc = GPUCTL_ENOMEM;

    if (dev >= m->n)
        rc = GPUCTL_ERANGE;
    if (dev >= m->n || !health || !changed)
        goto out;
    pthread_mutex_lock(&m->announce_lock);
    pthread_mutex_lock(&m->lock);
    was_healthy = m->current->health[dev].state == HEALTH_HEALTHY;
    rc = health_reset(m->health, dev, clock_wall_ms());
    health_evaluate(m->health, clock_wall_ms(), health, m->n, changed);
    s = snapshot_with_health(m->current, health, m->seq + 1);
    if (s) {
        m->seq++;
        snapshot_unref(m->current);
        m->current = snapshot_ref(s);
    }
    pthread_mutex_unlock(&m->lock);
    changed[dev] = changed[dev] || !was_healthy;
    for (size_t i = 0; s && i < m->n && m->listener.changed; i++)
        if (changed[i])
            m->listener.changed(m->listener.ctx, s, i, MONITOR_HEALTH);
    pthread_mutex_unlock(&m->announce_lock);
    rc = s ? rc : GPUCTL_ENOMEM;
    snapshot_unref(s);
out:
    free(health);
    free(changed);
    return rc;
}

double monitor_interval(const struct monitor *m)
{
    return m->cfg->monitor_update_interval;
}

void monitor_counters(struct monitor *m, struct monitor_counters *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->counters;
    pthread_mutex_unlock(&m->lock);
}
