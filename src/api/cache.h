/* cache.h: replies that depend only on the snapshot, made once per snapshot and queued for
 * every request until the next one. One slot per route; libmicrohttpd reference-counts the
 * responses, so a slot can be replaced while connections still send the old one. */
#ifndef GPUCTL_API_CACHE_H
#define GPUCTL_API_CACHE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reply_cache;

/* Slots for n routes; NULL when out of memory. */
struct reply_cache *reply_cache_new(size_t n);

/* Frees the slots and drops their responses. NULL does nothing. */
void reply_cache_free(struct reply_cache *c);

/* Queues route r's reply on conn when it was made from snapshot seq; returns whether it did,
 * and its status in *status. */
bool reply_cache_queue(struct reply_cache *c, size_t r, uint64_t seq, struct MHD_Connection *conn,
                       unsigned *status);

/* Keeps resp (the caller's reference passes to the cache) as route r's reply for snapshot seq,
 * unless a newer one is there already. */
void reply_cache_store(struct reply_cache *c, size_t r, uint64_t seq, unsigned status,
                       struct MHD_Response *resp);

#endif
