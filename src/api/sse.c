/* sse.c: event streams that park their connection between messages. */
#include "api/sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/clock.h"
#include "util/log.h"

#define HEARTBEAT_MS 15000
#define PUMP_TICK_MS 1000
#define MESSAGE_MAX  16384

struct stream {
    struct sse_hub *hub;
    struct MHD_Connection *conn;
    struct feed_sub *sub;
    /* The reader's own (MHD calls it for one connection at a time): */
    struct buf out; /* bytes taken from the feed but not yet handed to MHD */
    size_t out_off;
    int64_t last_write_ms;
    char msg[MESSAGE_MAX];
    /* Under hub->lock: */
    bool suspended; /* parked by the reader; only the pump resumes it */
    bool poke;      /* the pump found it running: look again before parking */
    struct stream *next;
    /* Set once by MHD's free callback; the pump then unlinks and frees the stream. */
    atomic_bool done;
};

struct sse_hub {
    pthread_mutex_t lock; /* guards the list and each stream's suspended and poke; held while
                             calling MHD_suspend_connection / MHD_resume_connection, never while
                             MHD calls us back */
    struct feed *feed;
    struct stream *streams;
    size_t n;
    bool closing;
    bool stop_pump;
    pthread_t pump;
};

/* Takes the next bytes to send into out: what is left over, else a feed message, else a
 * heartbeat when due. Returns whether there is something; sets *end when the stream is over. */
static bool refill(struct stream *st, bool closing, bool *end)
{
    int n;

    *end = false;
    if (st->out_off < st->out.len)
        return true;
    buf_release(&st->out);
    st->out_off = 0;
    n = feed_next(st->sub, 0, st->msg, sizeof(st->msg));
    if (n > 0) {
        buf_add(&st->out, st->msg, (size_t)n);
        return true;
    }
    if (n < 0 || closing) {
        *end = true;
        return false;
    }
    if (clock_mono_ms() - st->last_write_ms >= HEARTBEAT_MS) {
        buf_add(&st->out, ": heartbeat\n\n", 13);
        return true;
    }
    return false;
}

static ssize_t copy_out(struct stream *st, char *buf, size_t max)
{
    size_t n = st->out.len - st->out_off;

    if (n > max)
        n = max;
    memcpy(buf, st->out.data + st->out_off, n);
    st->out_off += n;
    st->last_write_ms = clock_mono_ms();
    return (ssize_t)n;
}

/* MHD's content reader: hands over what there is, or parks the connection. */
static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    struct sse_hub *h = st->hub;
    bool end;

    (void)pos;
    for (;;) {
        bool closing, poked;
        pthread_mutex_lock(&h->lock);
        closing = h->closing;
        pthread_mutex_unlock(&h->lock);
        if (refill(st, closing, &end))
            return copy_out(st, buf, max);
        if (end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&h->lock);
        poked = st->poke || h->closing;
        st->poke = false;
        if (!poked) {
            st->suspended = true;
            MHD_suspend_connection(st->conn);
        }
        pthread_mutex_unlock(&h->lock);
        if (!poked)
            return 0; /* resumed by the pump; MHD calls again */
    }
}

/* MHD's free callback; MHD may hold its own locks here, so take none. */
static void free_stream(void *cls)
{
    struct stream *st = cls;

    atomic_store(&st->done, true);
}

/* Resumes the parked streams that have something to say, or all when closing; unlinks and frees
 * the finished ones. */
static void pump_once(struct sse_hub *h)
{
    int64_t now = clock_mono_ms();

    pthread_mutex_lock(&h->lock);
    for (struct stream **p = &h->streams; *p;) {
        struct stream *st = *p;
        if (atomic_load(&st->done)) {
            *p = st->next;
            h->n--;
            feed_unsubscribe(st->sub);
            buf_release(&st->out);
            free(st);
            continue;
        }
        if (!st->suspended)
            st->poke = true;
        else if (h->closing || feed_pending(st->sub) || now - st->last_write_ms >= HEARTBEAT_MS) {
            st->suspended = false;
            MHD_resume_connection(st->conn);
        }
        p = &st->next;
    }
    pthread_mutex_unlock(&h->lock);
}

static void *pump_main(void *arg)
{
    struct sse_hub *h = arg;
    uint64_t seen = 0;

    pthread_setname_np(pthread_self(), "gpuctl-sse");

    for (;;) {
        bool stop;
        feed_wait(h->feed, &seen, PUMP_TICK_MS);
        pthread_mutex_lock(&h->lock);
        stop = h->stop_pump;
        pthread_mutex_unlock(&h->lock);
        if (stop)
            break;
        pump_once(h);
    }
    return NULL;
}

struct sse_hub *sse_hub_new(struct feed *feed)
{
    struct sse_hub *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->feed = feed;
    if (pthread_create(&h->pump, NULL, pump_main, h) != 0) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

struct MHD_Response *sse_hub_response(struct sse_hub *h, struct MHD_Connection *conn,
                                      void (*first)(void *ctx, struct buf *out), void *ctx)
{
    struct stream *st = calloc(1, sizeof(*st));
    struct MHD_Response *resp = NULL;

    if (!st)
        return NULL;
    st->hub = h;
    st->conn = conn;
    st->sub = feed_subscribe(h->feed);
    st->last_write_ms = clock_mono_ms();
    if (st->sub)
        first(ctx, &st->out);
    if (st->sub && !st->out.oom)
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, MESSAGE_MAX, read_stream, st,
                                                 free_stream);
    if (!resp) {
        feed_unsubscribe(st->sub);
        buf_release(&st->out);
        free(st);
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    st->next = h->streams;
    h->streams = st;
    h->n++;
    pthread_mutex_unlock(&h->lock);
    return resp;
}

size_t sse_hub_clients(struct sse_hub *h)
{
    size_t n;

    pthread_mutex_lock(&h->lock);
    n = h->n;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void sse_hub_close(struct sse_hub *h)
{
    bool joined;

    pthread_mutex_lock(&h->lock);
    h->closing = true;
    joined = h->stop_pump;
    h->stop_pump = true;
    pthread_mutex_unlock(&h->lock);
    if (!joined) {
        feed_poke(h->feed);
        pthread_join(h->pump, NULL);
    }
    pump_once(h); /* resumes every parked stream, which then ends */
}

void sse_hub_free(struct sse_hub *h)
{
    if (!h)
        return;
    sse_hub_close(h);
    while (h->streams) {
        struct stream *st = h->streams;
        h->streams = st->next;
        if (!atomic_load(&st->done))
            log_warn("an event stream outlived its server");
        feed_unsubscribe(st->sub);
        buf_release(&st->out);
        free(st);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}
