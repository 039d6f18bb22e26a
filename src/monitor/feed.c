/* feed.c: bounded per-subscriber queues of SSE messages. */
#include "monitor/feed.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"
#include "util/clock.h"

#include "util/str.h"

#define QUEUE 64

struct feed_sub {
    struct feed *feed;
    struct feed_sub *next;
    char *msg[QUEUE];
    size_t head, count;
    unsigned long lost;
};

struct feed {
    pthread_mutex_t lock; /* guards everything here; a leaf: taken last (sse.c holds its hub
                           * lock around it), and nothing is called with it held */
    pthread_cond_t wake;
    struct feed_sub *subs;
    size_t nsubs;
    uint64_t published; /* how many publishes there have been */
    bool closed;
};

struct feed *feed_new(void)
{
    struct feed *f = calloc(1, sizeof(*f));
    pthread_condattr_t attr;

    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->wake, &attr);
    pthread_condattr_destroy(&attr);
    return f;
}

static void destroy(struct feed *f)
{
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    free(f);
}

void feed_close(struct feed *f)
{
    bool last;

    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->closed = true;
    last = f->nsubs == 0;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
    if (last)
        destroy(f);
}

void feed_publish(struct feed *f, const char *event, const char *data)
{
    size_t len = strlen(event) + strlen(data) + 20;

    pthread_mutex_lock(&f->lock);
    for (struct feed_sub *s = f->subs; s; s = s->next) {
        char *m = malloc(len);
        if (!m) {
            s->lost++;
            continue;
        }
        snprintf(m, len, "event: %s\ndata: %s\n\n", event, data);
        if (s->count == QUEUE) { /* full: drop the oldest */
            free(s->msg[s->head]);
            s->head = (s->head + 1) % QUEUE;
            s->count--;
            s->lost++;
        }
        s->msg[(s->head + s->count++) % QUEUE] = m;
    }
    f->published++;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

void feed_poke(struct feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->published++;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

bool feed_pending(struct feed_sub *sub)
{
    bool pending;

    pthread_mutex_lock(&sub->feed->lock);
    pending = sub->count > 0 || sub->lost > 0;
    pthread_mutex_unlock(&sub->feed->lock);
    return pending;
}

bool feed_wait(struct feed *f, uint64_t *seen, unsigned timeout_ms)
{
    struct timespec until = clock_mono_after(timeout_ms);
    bool open;

    pthread_mutex_lock(&f->lock);
    while (!f->closed && f->published == *seen)
        if (pthread_cond_timedwait(&f->wake, &f->lock, &until) == ETIMEDOUT)
            break;
    *seen = f->published;
    open = !f->closed;
    pthread_mutex_unlock(&f->lock);
    return open;
}

struct feed_sub *feed_subscribe(struct feed *f)
{
    struct feed_sub *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    pthread_mutex_lock(&f->lock);
    if (f->closed) {
        pthread_mutex_unlock(&f->lock);
        free(s);
        return NULL;
    }
    s->feed = f;
    s->next = f->subs;
    f->subs = s;
    f->nsubs++;
    pthread_mutex_unlock(&f->lock);
    return s;
}

void feed_unsubscribe(struct feed_sub *sub)
{
    struct feed *f;
    bool last;

    if (!sub)
        return;
    f = sub->feed;
    pthread_mutex_lock(&f->lock);
    for (struct feed_sub **p = &f->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    f->nsubs--;
    last = f->closed && f->nsubs == 0;
    pthread_mutex_unlock(&f->lock);
    for (size_t i = 0; i < sub->count; i++)
        free(sub->msg[(sub->head + i) % QUEUE]);
    free(sub);
    if (last)
        destroy(f);
}

int feed_next(struct feed_sub *sub, unsigned timeout_ms, char *buf, size_t len)
{
    struct feed *f = sub->feed;
    struct timespec until = clock_mono_after(timeout_ms);
    int n = 0;

    pthread_mutex_lock(&f->lock);
    while (!f->closed && sub->count == 0 && !sub->lost)
        if (pthread_cond_timedwait(&f->wake, &f->lock, &until) == ETIMEDOUT)
            break;
    if (sub->lost) {
        n = snprintf(buf, len, ": %lu events were dropped for this slow client\n\n", sub->lost);
        sub->lost = 0;
    } else if (sub->count) {
        char *m = sub->msg[sub->head];
        n = (int)str_copy(buf, m, len);
        free(m);
        sub->head = (sub->head + 1) % QUEUE;
        sub->count--;
    } else if (f->closed) {
        n = -1;
    }
    pthread_mutex_unlock(&f->lock);
    return n < 0 || (size_t)n < len ? n : (int)len - 1;
}

size_t feed_subscribers(struct feed *f)
{
    size_t n;

    pthread_mutex_lock(&f->lock);
    n = f->nsubs;
    pthread_mutex_unlock(&f->lock);
    return n;
}
