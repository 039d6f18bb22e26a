/*
 * sse.h: Server-Sent Events over libmicrohttpd without a thread per client. Each stream's
 * connection is suspended while it has nothing to send; one pump thread resumes it when the feed
 * has news for it, when a heartbeat is due (every 15 s, so proxies and dead peers are noticed),
 * and at shutdown.
 */
#ifndef GPUCTL_API_SSE_H
#define GPUCTL_API_SSE_H

#include <stddef.h>

#include "monitor/feed.h"
#include "util/buf.h"

struct MHD_Connection;
struct MHD_Response;
struct sse_hub;

/* A hub over feed (which must outlive it); NULL when out of memory or no thread. */
struct sse_hub *sse_hub_new(struct feed *feed);

/* A response that sends what first() writes, then every message of the feed, to conn; NULL
 * when out of memory. first() is called after the stream has subscribed, so nothing published
 * meanwhile is missed (it may come twice). Queue the response, then destroy it as any other. */
struct MHD_Response *sse_hub_response(struct sse_hub *h, struct MHD_Connection *conn,
                                      void (*first)(void *ctx, struct buf *out), void *ctx);

/* Streams open now. */
size_t sse_hub_clients(struct sse_hub *h);

/* Stops the pump, ends every stream (each sends what it has, then ends) and lets none park
 * again: call before MHD_stop_daemon(), which must not meet a suspended connection. */
void sse_hub_close(struct sse_hub *h);

/* Stops the pump and frees the hub and what is left of its streams: call after every daemon
 * that used it has stopped. NULL does nothing. */
void sse_hub_free(struct sse_hub *h);

#endif
