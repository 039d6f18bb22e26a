/* cache.c: per-route replies reused until the snapshot changes. */
#include "api/cache.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/banned.h"

struct slot {
    pthread_mutex_t lock; /* a leaf lock: held only to queue or swap resp */
    uint64_t seq;
    unsigned status;
    struct MHD_Response *resp;
};

struct reply_cache {
    size_t n;
    struct slot *slots;
};

struct reply_cache *reply_cache_new(size_t n)
{
    struct reply_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->slots = calloc(n ? n : 1, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->n = n;
    for (size_t i = 0; i < n; i++)
        pthread_mutex_init(&c->slots[i].lock, NULL);
    return c;
}

void reply_cache_free(struct reply_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (c->slots[i].resp)
            MHD_destroy_response(c->slots[i].resp);
        pthread_mutex_destroy(&c->slots[i].lock);
    }
    free(c->slots);
    free(c);
}

bool reply_cache_queue(struct reply_cache *c, size_t r, uint64_t seq, struct MHD_Connection *conn,
                       unsigned *status)
{
    struct slot *s = &c->slots[r];
    bool hit = false;

    pthread_mutex_lock(&s->lock);
    if (s->resp && s->seq == seq) {
        hit = MHD_queue_response(conn, s->status, s->resp) == MHD_YES;
        *status = s->status;
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

void reply_cache_store(struct reply_cache *c, size_t r, uint64_t seq, unsigned status,
                       struct MHD_Response *resp)
{
    struct slot *s = &c->slots[r];
    struct MHD_Response *old = NULL;

    pthread_mutex_lock(&s->lock);
    if (s->seq <= seq) {
        old = s->resp;
        s->resp = resp;
        s->seq = seq;
        s->status = status;
        resp = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (old)
        MHD_destroy_response(old);
    if (resp) /* a newer one is there already */
        MHD_destroy_response(resp);
}
