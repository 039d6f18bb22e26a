/* feed.h: events for Server-Sent Events subscribers: the sampler publishes, each subscriber has
 * a bounded queue and waits on it. A slow subscriber loses its oldest events, never blocks the
 * sampler. Thread-safe. */
#ifndef GPUCTL_MONITOR_FEED_H
#define GPUCTL_MONITOR_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct feed;
struct feed_sub;

/* NULL when out of memory. */
struct feed *feed_new(void);

/* Closes every subscription (their waits return at once) and frees the feed once the last
 * subscriber has gone: call feed_close, then let subscribers leave. */
void feed_close(struct feed *f);

/* Sends an SSE message (event name and one-line JSON data) to every subscriber. */
void feed_publish(struct feed *f, const char *event, const char *data);

/* A new subscriber, or NULL (out of memory, or the feed is closed). */
struct feed_sub *feed_subscribe(struct feed *f);

/* Leaves; sub is freed. */
void feed_unsubscribe(struct feed_sub *sub);

/*
 * Waits up to timeout_ms for the next message and copies it, SSE-framed ("event: ...\ndata:
 * ...\n\n"), into buf (size len). Returns its length; 0 on timeout; -1 when the feed closed.
 * Messages lost to a full queue are announced as an SSE comment.
 */
int feed_next(struct feed_sub *sub, unsigned timeout_ms, char *buf, size_t len);

/* Whether a message (or news of lost ones) waits for sub. */
bool feed_pending(struct feed_sub *sub);

/* Waits up to timeout_ms for a publish after the one *seen counts, or for the feed to close;
 * updates *seen. Returns false when the feed is closed. */
bool feed_wait(struct feed *f, uint64_t *seen, unsigned timeout_ms);

/* Wakes every feed_wait() at once, as a publish would, without a message. */
void feed_poke(struct feed *f);

/* How many subscribers there are now. */

size_t feed_subscribers(struct feed *f);

#endif
